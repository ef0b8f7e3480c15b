"""Work per call from the cost models: FLOPs and bytes of one configuration (``lstm_energy.costs``).

Counted per call of the prepared runner, i.e. for the whole batch. These are analytic models, never
measurements; their ``source`` and ``convention`` travel with them into the record.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkCosts:
    """FLOPs and memory traffic of one call (one batch).

    flops: {"gemm", "elementwise", "transcendental", "total"}; bytes: {"compulsory", "expected"}.
    """

    flops: dict
    bytes: dict
    w_hh_residency: str | None
    convention: str
    source: str

    @property
    def total_flops(self) -> int:
        return int(self.flops["total"])

    @property
    def expected_bytes(self) -> int:
        return int(self.bytes["expected"])

    @property
    def arithmetic_intensity(self) -> float | None:
        """FLOP per expected byte (None when no bytes move)."""
        return self.total_flops / self.expected_bytes if self.expected_bytes else None

    def as_record(self) -> dict:
        """The results-record ``costs`` block."""
        return {
            "convention": self.convention,
            "source": self.source,
            "flops": dict(self.flops),
            "bytes": dict(self.bytes),
            "arithmetic_intensity_flop_per_byte": self.arithmetic_intensity,
            "w_hh_residency": self.w_hh_residency,
        }


def work_per_call(
    cell,
    batch,
    seq_len,
    input_size,
    hidden_size,
    num_layers=1,
    bidirectional=False,
    phase="forward",
    dtype="float32",
    nonlinearity="tanh",
    precision="fp32",
) -> WorkCosts:
    """FLOPs (``costs.flops``) and bytes (``costs.traffic``, this machine's caches) of one call.

    precision: "fp32", or "bf16" / "int8" for an eval forward in that precision (issue 18)."""
    from lstm_energy.config import Config

    return work_of(
        Config(
            cell=cell,
            batch=batch,
            seq_len=seq_len,
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            phase=phase,
            dtype=dtype,
            nonlinearity=nonlinearity,
            precision=precision,
        )
    )


def work_of(config) -> WorkCosts:
    """``work_per_call`` for a ``lstm_energy.config.Config``: FLOPs and bytes of one call (one batch)."""
    from lstm_energy.costs import count_flops, count_traffic

    counted = count_flops(config)
    moved = count_traffic(config)
    return WorkCosts(
        flops={
            "gemm": int(counted.gemm),
            "elementwise": int(counted.elementwise),
            "transcendental": int(counted.transcendental),
            "total": int(counted.total),
        },
        bytes={"compulsory": int(moved.compulsory), "expected": int(moved.expected)},
        w_hh_residency=moved.w_hh_residency,
        convention=counted.convention,
        source=f"{counted.source}; {moved.source}",
    )
