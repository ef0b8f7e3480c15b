"""ProfileResult: one measured configuration, and its results record (built by lstm_energy.records)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lstm_energy.errors import ArgumentTypeError
from lstm_energy.measure.protocol import Measurement
from lstm_energy.measure.work import WorkCosts
from lstm_energy.records import derived_figures, profile_record


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
        return derived_figures(m.seconds_per_call.median, m.joules_per_call.median, self.flops, self.bytes)

    def __str__(self) -> str:
        """The short summary ``lstm-energy profile`` prints (the same rendering): headline with provenance first."""
        from lstm_energy.measure.summary import render

        return render(self.to_record())

    def _repr_html_(self) -> str:
        """A notebook's view: the headline (measured or estimated, said first) and the summary as a table."""
        from lstm_energy.measure.summary import render_html

        return render_html(self.to_record())

    def to_dataframe(self):
        """This result as a one-row pandas DataFrame, with load_dataframe's dotted column names."""
        return to_dataframe([self])

    def to_record(self) -> dict:
        """The results record of kind "profile" (docs/results-record.md; built by lstm_energy.records)."""
        return profile_record(
            config=self.config,
            measurement=self.measurement,
            costs=self.costs.as_record(),
            environment=self.environment,
            created=self.created,
            warnings=self.warnings,
        )


def to_dataframe(results) -> object:
    """One or several ProfileResults as a pandas DataFrame, one row each, columns named like
    ``lstm_energy.load_dataframe``'s (``config.cell``, ``energy.joules_per_sequence.median``, ...)."""
    import pandas as pd

    from lstm_energy.results import iter_flat

    if isinstance(results, ProfileResult):
        results = [results]
    results = list(results)
    wrong = [type(r).__name__ for r in results if not isinstance(r, ProfileResult)]
    if wrong:
        raise ArgumentTypeError(
            f"to_dataframe takes ProfileResults (from lstm_energy.profile), got {', '.join(sorted(set(wrong)))}; "
            "for results files use lstm_energy.load_dataframe(paths)"
        )
    return pd.DataFrame([dict(iter_flat(r.to_record())) for r in results])
