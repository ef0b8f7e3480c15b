"""Deterministic test doubles for the protocol: a fake clock and a meter driven by it.

``FakeTime`` stands in for the wall clock and ``time.sleep`` (both injectable in ``measure``), so a
"call" that advances the fake clock by ``dt`` lasts exactly ``dt`` and the protocol's arithmetic can
be checked exactly. ``ClockPowerMeter`` integrates power over that fake time: ``idle_watts`` always,
plus ``dynamic_watts`` while a call runs; ``read_noise_joules`` adds a Gaussian error to every read
(a noisy counter); ``reads`` counts the reads (the protocol reads only in its windows).
"""

from __future__ import annotations

import numpy as np
import pytest

from lstm_energy.meters.base import Availability, EnergyMeter, EnergySample


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class ClockPowerMeter(EnergyMeter):
    name = "clock-power"
    provenance = "measured"  # overridden per instance in tests of the provenance warnings

    def __init__(
        self,
        fake_time,
        *,
        idle_watts,
        dynamic_watts=0.0,
        read_noise_joules=0.0,
        seed=0,
        provenance="measured",
        update_interval_seconds=1e-3,
        domains=("package-0",),
    ):
        self.fake_time = fake_time
        self.idle_watts = idle_watts
        self.dynamic_watts = dynamic_watts
        self.read_noise_joules = read_noise_joules
        self.busy_seconds = 0.0
        self.rng = np.random.default_rng(seed)
        self.provenance = provenance
        self.update_interval_seconds = update_interval_seconds
        self._domains = tuple(domains)
        self.noted = {"flops": 0.0, "bytes": 0.0}
        self.reads = 0

    @classmethod
    def probe(cls, **kwargs):
        return Availability(cls.name, True, cls.provenance, "test double")

    @property
    def domains(self):
        return self._domains

    def work(self, seconds: float) -> None:
        """One call: busy for ``seconds`` of fake time."""
        self.fake_time.now += seconds
        self.busy_seconds += seconds

    def note_work(self, *, flops=0.0, bytes=0.0):  # noqa: A002
        self.noted["flops"] += flops
        self.noted["bytes"] += bytes

    def read(self) -> EnergySample:
        self.reads += 1
        joules = self.idle_watts * self.fake_time.now + self.dynamic_watts * self.busy_seconds
        if self.read_noise_joules:
            joules += float(self.rng.normal(0.0, self.read_noise_joules))
        # every domain gets the same share: package-0 all of it, a sub-domain (if any) a tenth
        return EnergySample(self.fake_time.now, {d: (joules if "/" not in d else joules / 10) for d in self._domains})

    def describe(self):
        return {
            "name": self.name,
            "provenance": self.provenance,
            "counter": "fake clock x power",
            "units": "J",
            "domains": list(self._domains),
        }


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def clock_power_meter():
    return ClockPowerMeter
