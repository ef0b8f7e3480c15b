"""Deterministic test doubles for the protocol: a fake clock and a meter driven by it.

``FakeTime`` stands in for the wall clock and ``time.sleep`` (both injectable in ``measure``), so a
"call" that advances the fake clock by ``dt`` lasts exactly ``dt`` and the protocol's arithmetic can
be checked exactly. ``ClockPowerMeter`` integrates power over that fake time: ``idle_watts`` always,
plus ``dynamic_watts`` while a call runs; ``read_noise_joules`` adds a Gaussian error to every read
(a noisy counter); ``reads`` counts the reads (the protocol reads only in its windows).

``VirtualTime`` (fixture ``virtual_time``) does the same for ``profile``/``calibrate`` end to end, whose
APIs take no clock: real calls, one virtual wall and CPU clock shared by the protocol and a SimulatedMeter.
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


class VirtualTime:
    """One fake clock for a SimulatedMeter AND the protocol inside ``profile``/``calibrate``, whose
    public APIs take no clock: every read of wall or CPU time, by the meter or by the protocol, sees
    the same virtual instant, so the joules a window counts and the seconds it reports agree exactly
    however long the real process is descheduled. Virtual time moves only when a measured call ends
    (``call_seconds`` wall, ``cpu_fraction`` x that of CPU) and in the protocol's idle sleep (wall
    only; no real sleep). The real call still runs: only the clocks are virtual.
    """

    def __init__(self, call_seconds: float, cpu_fraction: float):
        self.call_seconds, self.cpu_fraction = call_seconds, cpu_fraction
        self.wall_now = 0.0
        self.cpu_now = 0.0
        self.calls = 0

    def wall(self) -> float:
        return self.wall_now

    def cpu(self) -> float:
        return self.cpu_now

    def sleep(self, seconds: float) -> None:
        self.wall_now += seconds

    def timed(self, fn):
        """``fn`` that advances virtual time by one call when it returns."""

        def call():
            result = fn()
            self.calls += 1
            self.wall_now += self.call_seconds
            self.cpu_now += self.cpu_fraction * self.call_seconds
            return result

        return call


class _ProtocolTime:
    """The ``time`` module as lstm_energy.measure.protocol sees it, with process_time virtual."""

    def __init__(self, virtual: VirtualTime):
        self.process_time = virtual.cpu

    def __getattr__(self, name):
        import time

        return getattr(time, name)


@pytest.fixture
def virtual_time(monkeypatch):
    """Install a VirtualTime (2 ms calls at 75 % CPU) under ``profile`` and ``calibrate``.

    ``profile_config`` calls ``lstm_energy.measure.protocol.measure`` through the name it imported; it is
    replaced by the same function with the virtual clock and sleep injected (measure's own ``clock`` and
    ``sleep`` parameters) and the measured call wrapped to advance virtual time. The protocol reads
    process time from ``time.process_time`` (no parameter), so that one attribute is virtual too. Give
    the meter ``wall_clock=virtual.wall, cpu_clock=virtual.cpu``."""
    import importlib

    # the module, not the function lstm_energy.measure re-exports under the same name
    profile_module = importlib.import_module("lstm_energy.measure.profile")
    protocol = importlib.import_module("lstm_energy.measure.protocol")

    virtual = VirtualTime(call_seconds=2e-3, cpu_fraction=0.75)
    real_measure = protocol.measure

    def measure(fn, meter, **kwargs):
        return real_measure(virtual.timed(fn), meter, clock=virtual.wall, sleep=virtual.sleep, **kwargs)

    monkeypatch.setattr(profile_module, "measure", measure)
    monkeypatch.setattr(protocol, "time", _ProtocolTime(virtual))
    return virtual
