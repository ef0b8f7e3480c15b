"""The one interface every energy backend implements.

A meter hides its hardware (sysfs files, perf events, MSRs, a model) behind ``read()``, which returns
*cumulative* joules per domain since the meter was opened, already corrected for counter wraparound.
Energy over a window is the difference of two reads. Meters are injected (``profile(meter=...)``,
``PowercapMeter(root=...)``), never monkeypatched.

Provenance is part of the type, not an afterthought: every meter says whether its joules are
``measured`` (a hardware counter; ``describe()`` names it and its domains), ``estimated`` (a model;
``describe()`` states its parameters) or ``simulated`` (tests only).

Domain keys: top-level zones by their ``name`` (``package-0``, ``psys``); sub-zones as
``parent/name`` (``package-0/dram``, ``package-0/core``). ``headline_domains`` are the domains whose
sum is the figure to report: they never overlap (packages, or psys alone; never package + core).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from lstm_energy.errors import ConfigError

PROVENANCES = ("measured", "estimated", "simulated")


@dataclass(frozen=True)
class EnergySample:
    """One reading of a meter.

    timestamp: ``time.monotonic()`` seconds when the counters were read.
    joules: cumulative, wraparound-corrected joules per domain since the meter was opened.
    """

    timestamp: float
    joules: Mapping[str, float]

    def __sub__(self, earlier: EnergySample) -> EnergyDelta:
        missing = set(self.joules) ^ set(earlier.joules)
        if missing:
            raise ConfigError(
                f"samples have different domains; not in both: {sorted(missing)}; subtract two reads of the same meter"
            )
        return EnergyDelta(
            seconds=self.timestamp - earlier.timestamp,
            joules={k: self.joules[k] - earlier.joules[k] for k in self.joules},
        )


@dataclass(frozen=True)
class EnergyDelta:
    """Energy over a window: ``seconds`` of wall time and joules per domain."""

    seconds: float
    joules: Mapping[str, float]


@dataclass(frozen=True)
class Availability:
    """Whether a backend works on this machine, and if not, exactly why and how to fix it.

    ``reason`` is always filled: what was found when it works, what failed when it does not.
    ``fix`` is empty when ``available`` is true.
    """

    name: str
    available: bool
    provenance: str
    reason: str
    fix: str = ""
    details: Mapping[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "available": self.available,
            "provenance": self.provenance,
            "reason": self.reason,
            "fix": self.fix,
            "details": dict(self.details),
        }


class EnergyMeter(abc.ABC):
    """Cumulative energy counters per domain, behind one interface."""

    #: registry name, e.g. "powercap"
    name: ClassVar[str]
    #: "measured" | "estimated" | "simulated"
    provenance: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def probe(cls, **kwargs) -> Availability:
        """Check whether this backend works here. Never raises; the answer says why not and how to fix it."""

    @property
    @abc.abstractmethod
    def domains(self) -> tuple[str, ...]:
        """Every domain key ``read()`` returns."""

    @property
    def headline_domains(self) -> tuple[str, ...]:
        """Non-overlapping domains whose sum is the energy to report (default: every top-level domain)."""
        return tuple(d for d in self.domains if "/" not in d)

    #: how often the underlying counter updates, in seconds (RAPL: about 1 ms)
    update_interval_seconds: float = 1e-3
    #: the likely cause, said when this backend's counter opens but does not count (see meters.liveness)
    dead_counter_cause: ClassVar[str] = (
        "Virtual machines and containers often expose energy counters with no RAPL behind them."
    )

    @abc.abstractmethod
    def read(self) -> EnergySample:
        """Cumulative, wraparound-corrected joules per domain since the meter was opened."""

    @abc.abstractmethod
    def describe(self) -> dict:
        """Provenance record: name, provenance, counter/source, domains, units, and model parameters if any."""

    def counter_of(self, domain: str) -> str:
        """The hardware counter behind ``domain``, as a person would look it up (a file, an event, an MSR)."""
        return domain

    def note_work(self, *, flops: float = 0.0, bytes: float = 0.0) -> None:  # noqa: A002, B027 - unit name; a default
        """Tell the meter how much work the measured code did. Measured meters ignore it; the estimator uses it."""

    def headline_joules(self, delta: EnergyDelta) -> float:
        """Sum of the headline domains of a window."""
        return float(sum(delta.joules[d] for d in self.headline_domains))

    def close(self) -> None:  # noqa: B027 - a default: meters without resources need nothing here
        """Stop background samplers and release files. Safe to call twice."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
