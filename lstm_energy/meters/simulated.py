"""A synthetic energy counter with a KNOWN power, for tests of code that uses meters (provenance "simulated").

Never a measurement and never chosen by ``get_meter("auto")``. The counter is a function of time::

    package-0       = idle_watts * wall_seconds + cpu_watts * cpu_seconds
    package-0/dram  = dram_watts * wall_seconds                      (only when dram_watts > 0)

``wall_seconds`` and ``cpu_seconds`` come from injectable clocks (default ``time.monotonic`` and
``time.process_time``, the CPU time of every thread of this process), so an idle window costs
``idle_watts`` and busy work costs more: a protocol test can check idle subtraction and scaling
with known answers. Inject fake clocks for exact, instant tests.

With ``wrap_joules`` the raw counter wraps like hardware (``true mod wrap_joules``) and is read back
through the same wraparound correction and background sampler thread as the RAPL meters.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from lstm_energy.errors import ConfigError, MeterError
from lstm_energy.meters.base import Availability, EnergyMeter, EnergySample
from lstm_energy.meters.wraparound import UnwrappedCounters

PACKAGE = "package-0"
DRAM = "package-0/dram"


class SimulatedMeter(EnergyMeter):
    """Known-power synthetic counter; see the module docstring for the formula."""

    name = "simulated"
    provenance = "simulated"

    def __init__(
        self,
        idle_watts: float = 10.0,
        cpu_watts: float = 20.0,
        dram_watts: float = 2.0,
        *,
        wall_clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.process_time,
        wrap_joules: float | None = None,
        sampler_period_seconds: float | None = None,
        update_interval_seconds: float = 1e-3,
    ):
        for label, value in (("idle_watts", idle_watts), ("cpu_watts", cpu_watts), ("dram_watts", dram_watts)):
            if not value >= 0:
                raise ConfigError(f"{label} must be >= 0 W, got {value!r}")
        if wrap_joules is not None and not wrap_joules > 0:
            raise ConfigError(f"wrap_joules must be > 0 J or None (no wrapping), got {wrap_joules!r}")
        self.idle_watts, self.cpu_watts, self.dram_watts = float(idle_watts), float(cpu_watts), float(dram_watts)
        self.update_interval_seconds = update_interval_seconds
        self._wall_clock, self._cpu_clock = wall_clock, cpu_clock
        self._wall0, self._cpu0 = wall_clock(), cpu_clock()
        self.wrap_joules = wrap_joules
        self._domains = (PACKAGE, DRAM) if self.dram_watts > 0 else (PACKAGE,)
        self._counters = None
        if wrap_joules is not None:
            max_watts = self.idle_watts + self.cpu_watts * (os.cpu_count() or 1) + self.dram_watts
            self._counters = UnwrappedCounters(
                self._read_wrapped,
                {d: float(wrap_joules) for d in self._domains},
                range_joules=float(wrap_joules),
                max_power_watts=max(max_watts, 1e-9),
                sampler_period_seconds=sampler_period_seconds,
                name="lstm-energy-simulated-sampler",
                clock=wall_clock,
            )
        self._closed = False

    def true_joules(self) -> dict[str, float]:
        """The exact (unwrapped) energy per domain since the meter was opened, from the formula."""
        wall = self._wall_clock() - self._wall0
        cpu = self._cpu_clock() - self._cpu0
        joules = {PACKAGE: self.idle_watts * wall + self.cpu_watts * cpu}
        if DRAM in self._domains:
            joules[DRAM] = self.dram_watts * wall
        return joules

    def _read_wrapped(self) -> dict[str, float]:
        """The raw counters (true mod wrap_joules); read only when wrapping is on."""
        assert self.wrap_joules is not None
        return {key: value % self.wrap_joules for key, value in self.true_joules().items()}

    @classmethod
    def probe(cls, **kwargs) -> Availability:
        return Availability(
            cls.name,
            True,
            cls.provenance,
            "synthetic counter with a known power, for tests only; never chosen by 'auto' and never a measurement",
        )

    @property
    def domains(self) -> tuple[str, ...]:
        return self._domains

    @property
    def headline_domains(self) -> tuple[str, ...]:
        return (PACKAGE,)

    @property
    def sampler(self):
        return self._counters.sampler if self._counters is not None else None

    def read(self) -> EnergySample:
        if self._closed:
            raise MeterError("this SimulatedMeter is closed; open a new one to read again")
        joules = self._counters.poll() if self._counters is not None else self.true_joules()
        return EnergySample(self._wall_clock(), dict(joules))

    def describe(self) -> dict:
        return {
            "name": self.name,
            "provenance": self.provenance,
            "counter": "synthetic: idle_watts*wall + cpu_watts*cpu_seconds (package-0), dram_watts*wall (dram)",
            "parameters": {
                "idle_watts": self.idle_watts,
                "cpu_watts": self.cpu_watts,
                "dram_watts": self.dram_watts,
                "wrap_joules": self.wrap_joules,
            },
            "units": "J",
            "domains": list(self._domains),
            "headline_domains": [PACKAGE],
            "warning": "SIMULATED energy for tests: not a measurement and not an estimate of any real machine",
        }

    def close(self) -> None:
        self._closed = True
        if self._counters is not None:
            self._counters.close()
