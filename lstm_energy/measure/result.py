"""ProfileResult: one measured configuration, and its results record (docs/results-record.md, v1)."""
from __future__ import annotations

from dataclasses import dataclass, field

from lstm_energy.measure.protocol import Measurement
from lstm_energy.measure.work import WorkCosts

#: results-record schema this module writes (docs/results-record.md); lstm_energy.results validates it
RECORD_SCHEMA_VERSION = 1


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    """numerator / denominator * scale, None when the denominator is zero."""
    return float(numerator) / float(denominator) * scale if denominator else None


@dataclass(frozen=True)
class ProfileResult:
    """Energy and time of one configuration (per call = one batch; per sequence = per call / batch).

    joules_per_sequence: dynamic (idle subtracted) median; total_joules_per_sequence: before the
    subtraction; seconds_per_sequence: median; flops: total FLOPs per call; bytes: expected bytes
    moved per call; provenance: "measured" | "estimated" | "simulated"; meter: the meter's describe().
    """

    config: dict
    measurement: Measurement
    costs: WorkCosts
    environment: dict
    created: str
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def joules_per_sequence(self) -> float:
        return self.measurement.joules_per_sequence.median

    @property
    def total_joules_per_sequence(self) -> float:
        return self.measurement.total_joules_per_sequence.median

    @property
    def seconds_per_sequence(self) -> float:
        return self.measurement.seconds_per_call.median / self.measurement.batch

    @property
    def flops(self) -> int:
        return self.costs.total_flops

    @property
    def bytes(self) -> int:
        return self.costs.expected_bytes

    @property
    def provenance(self) -> str:
        return self.measurement.provenance

    @property
    def meter(self) -> dict:
        return self.measurement.meter_description

    def derived(self) -> dict:
        """GFLOP/s, dynamic watts, pJ per FLOP and nJ per expected byte (all from medians)."""
        m = self.measurement
        seconds = m.seconds_per_call.median
        joules = m.joules_per_call.median
        return {
            "gflops_per_second": _ratio(self.flops, seconds, 1e-9),
            "watts": _ratio(joules, seconds),
            "pj_per_flop": _ratio(joules, self.flops, 1e12),
            "nj_per_byte": _ratio(joules, self.bytes, 1e9),
        }

    def to_record(self) -> dict:
        """The results record, exactly the keys of docs/results-record.md (schema version 1)."""
        m = self.measurement
        return {
            "schema_version": RECORD_SCHEMA_VERSION,
            "kind": "profile",
            "created": self.created,
            "config": dict(self.config),
            "energy": {
                "provenance": m.provenance,
                "meter": dict(m.meter_description),
                "headline_domains": list(m.headline_domains),
                "joules_per_call": m.joules_per_call.as_dict(),
                "joules_per_sequence": m.joules_per_sequence.as_dict(),
                "total_joules_per_sequence": m.total_joules_per_sequence.as_dict(),
                "idle_watts": m.idle_watts,
                "domains_joules_per_call": dict(m.domains_joules_per_call),
            },
            "time": {
                "seconds_per_call": m.seconds_per_call.as_dict(),
                "seconds_per_sequence": self.seconds_per_sequence,
                "calls_per_window": m.calls_per_window,
                "windows": len(m.windows),
                "window_seconds": m.window_seconds,
                "warmup_calls": m.warmup_calls,
                "cv": m.cv_seconds,
            },
            "costs": self.costs.as_record(),
            "derived": self.derived(),
            "environment": dict(self.environment),
            "warnings": list(self.warnings),
        }
