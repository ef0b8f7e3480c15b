"""Energy counters that advance at a known power, or never (dead), for the perf and MSR backends (tests only).

* :class:`FakePerfEvents` stands in for :class:`lstm_energy.meters.perf.KernelPerfEvents` (inject it
  as ``PerfMeter(..., event_source=...)``): each opened event counts ``watts[config]`` joules per
  second of wall time, in units of the kernel's scale (2**-32 J), so a config absent from ``watts``
  is a counter that opens and stays where it started, like a virtual machine's ``energy-psys``.
* :class:`PoweredMsrDevice` stands in for ``/dev/cpu/N/msr`` (inject it as ``MsrMeter(device=...)``):
  fixed registers from a mapping, plus energy-status registers that advance at ``watts`` (32-bit
  counts of ``joules_per_count``, wrapping like the hardware).

For powercap trees use :mod:`lstm_energy.testing.fake_powercap` and
:mod:`lstm_energy.testing.power_driver`.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Mapping

from lstm_energy.meters.msr_device import MappingMsrDevice
from lstm_energy.perf.syscall import PerfOpenError

#: the kernel's scale of every RAPL perf event (sysfs ``events/energy-*.scale``): 2**-32 J per count
PERF_RAPL_SCALE = 2.0**-32


class FakePerfEvents:
    """Perf events counting at ``watts[config]`` W (0 W, a dead counter, for configs not listed).

    start_count: where every counter starts; clock: wall clock in seconds (injectable);
    refuse_with: an errno every ``open`` fails with (e.g. errno.EACCES), to fake a refused syscall.
    """

    def __init__(
        self,
        watts: Mapping[int, float],
        *,
        start_count: int = 123_456_789,
        clock: Callable[[], float] = time.monotonic,
        refuse_with: int | None = None,
    ):
        self.watts = dict(watts)
        self.start_count = start_count
        self.clock = clock
        self.refuse_with = refuse_with
        self._opened: dict[int, tuple[int, float]] = {}  # handle -> (config, time opened)
        self.closed: list[int] = []

    def open(self, pmu_type: int, config: int, cpu: int) -> int:
        if self.refuse_with is not None:
            raise PerfOpenError(self.refuse_with, errno.errorcode.get(self.refuse_with, "refused"))
        handle = 1000 + len(self._opened)
        self._opened[handle] = (config, self.clock())
        return handle

    def read(self, handle: int) -> int:
        config, opened = self._opened[handle]
        joules = self.watts.get(config, 0.0) * (self.clock() - opened)
        return self.start_count + int(joules / PERF_RAPL_SCALE)

    def close(self, handle: int) -> None:
        self.closed.append(handle)


class PoweredMsrDevice(MappingMsrDevice):
    """:class:`MappingMsrDevice` whose energy-status registers advance at a known power.

    registers: ``{cpu: {address: value}}`` (the unit register, and each energy register's start
    count; a register not listed raises EIO as the driver does); watts: ``{address: W}`` for the
    energy registers that count (on every CPU); joules_per_count: the energy unit the unit register
    declares; clock: wall clock in seconds (injectable).
    """

    def __init__(
        self,
        registers: Mapping[int, Mapping[int, int]],
        watts: Mapping[int, float],
        joules_per_count: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(registers)
        self.watts = dict(watts)
        self.joules_per_count = joules_per_count
        self.clock = clock
        self.start = clock()

    def read(self, cpu: int, address: int) -> int:
        value = super().read(cpu, address)
        if address not in self.watts:
            return value
        counts = int(self.watts[address] * (self.clock() - self.start) / self.joules_per_count)
        return (value + counts) % 2**32  # the 32-bit energy-status count wraps like the hardware

    def describe(self) -> str:
        return "registers advancing at a known power (test double)"
