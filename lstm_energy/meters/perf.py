"""RAPL energy through the perf_event ``power`` PMU (``perf stat -a -e power/energy-pkg/``), via ctypes.

Counter: the kernel's 64-bit event counts (``arch/x86/events/rapl.c``). The kernel folds the 32-bit
RAPL register into 64 bits with an hrtimer, so these counts do not wrap: no sampler thread is needed.
Each count is converted with the scale and unit the kernel publishes in sysfs
(``events/energy-pkg.scale`` = 2.3283064365386962890625e-10 = 2**-32, ``.unit`` = ``Joules``).

Events -> domain keys (the same keys as the powercap meter): ``energy-pkg`` -> ``package-N``,
``energy-cores`` -> ``package-N/core``, ``energy-ram`` -> ``package-N/dram``, ``energy-gpu`` (PP1) ->
``package-N/uncore``, ``energy-psys`` -> ``psys`` (``psys-N`` for package N > 0). Events are
system-wide: opened with ``pid=-1`` on the CPUs of the PMU's ``cpumask`` (one per package, or per die
on multi-die Intel, then keyed ``package-N-die-D``). Headline: the packages, or psys if no package.

Permission: system-wide events need ``kernel.perf_event_paranoid <= 0`` or CAP_PERFMON (or root).
"""

from __future__ import annotations

import errno
import os
import time
import weakref
from dataclasses import dataclass

from lstm_energy.errors import ConfigError, MeterError
from lstm_energy.meters.base import Availability, EnergyMeter, EnergySample
from lstm_energy.meters.liveness import probe_measured
from lstm_energy.meters.remedies import (
    PERF_PARANOID_FIX,
    meter_error,
    permission_error,
    read_perf_event_paranoid,
)
from lstm_energy.meters.topology import first_cpu_of_each_package, parse_cpu_list
from lstm_energy.perf.syscall import PerfOpenError, perf_event_open, read_count
from lstm_energy.perf.sysfs import (
    event_source_root,
    list_event_names,
    list_pmus,
    parse_event_config,
    read_event,
    read_pmu_type,
    read_sysfs_text,
)

#: event name -> sub-domain under the package ("" = the package itself); psys is handled apart
EVENT_SUBDOMAINS = {"energy-pkg": "", "energy-cores": "core", "energy-ram": "dram", "energy-gpu": "uncore"}
PSYS_EVENT = "energy-psys"


class KernelPerfEvents:
    """The real perf_event_open(2) calls behind :class:`PerfMeter` (injectable: tests pass a fake).

    ``open`` returns a handle (a file descriptor) or raises PerfOpenError with the kernel's errno;
    ``read`` returns the event's 64-bit count; ``close`` releases the handle.
    """

    def open(self, pmu_type: int, config: int, cpu: int) -> int:
        return perf_event_open(pmu_type, config, cpu)

    def read(self, handle: int) -> int:
        return read_count(handle)

    def close(self, handle: int) -> None:
        try:
            os.close(handle)
        except OSError:
            pass


@dataclass(frozen=True)
class PowerEvent:
    """One energy event of the power PMU: name, ``attr.config``, and the kernel's scale and unit."""

    name: str
    config: int
    scale: float
    unit: str


@dataclass(frozen=True)
class PowerPmu:
    """The ``power`` PMU as sysfs describes it: ``attr.type``, the CPUs to open on, the energy events."""

    directory: str
    type: int
    cpus: tuple[int, ...]
    events: dict[str, PowerEvent]


def read_power_pmu(sysfs_root: str = "/sys") -> PowerPmu:
    """Parse ``<sysfs_root>/bus/event_source/devices/power``; raise a meter error saying what is missing."""
    directory = os.path.join(event_source_root(sysfs_root), "power")
    if not os.path.isdir(directory):
        pmus = list_pmus(event_source_root(sysfs_root))
        raise meter_error(
            f"no perf 'power' PMU: {directory} does not exist (PMUs here: {', '.join(pmus) or 'none'}). "
            "The kernel offers RAPL through perf only on bare-metal Intel (Sandy Bridge+) and AMD Zen "
            "(Linux >= 5.8); virtual machines usually do not pass RAPL through.",
            "run on bare metal with a kernel built with CONFIG_PERF_EVENTS_INTEL_RAPL (module `rapl`: "
            "`sudo modprobe rapl`), or use another backend (see `lstm-energy meters`)",
        )
    try:
        pmu_type = read_pmu_type(directory)
    except (OSError, ValueError) as err:
        raise meter_error(f"cannot read the PMU type {directory}/type ({err}).", "check sysfs") from err
    try:  # the kernel lists one CPU per package (or die) to open the events on
        cpus = tuple(parse_cpu_list(read_sysfs_text(os.path.join(directory, "cpumask"))))
    except (OSError, ValueError):
        cpus = ()
    if not cpus:  # older kernels: the first CPU of each package, from the topology
        cpus = tuple(first_cpu_of_each_package(sysfs_root).values())
    events: dict[str, PowerEvent] = {}
    for name in list_event_names(directory):
        if not name.startswith("energy-"):
            continue
        path = os.path.join(directory, "events", name)
        try:
            event = read_event(directory, name)
            config = parse_event_config(event.description)
            if event.scale is None or event.unit is None:
                missing = ".scale" if event.scale is None else ".unit"
                raise FileNotFoundError(errno.ENOENT, f"{path}{missing} is missing or empty")
            scale, unit = event.scale, event.unit
        except (OSError, ValueError) as err:
            raise meter_error(
                f"cannot parse the perf event {path} or its .scale/.unit ({err}).",
                "check the kernel's power PMU in sysfs; report the files' contents",
            ) from err
        if unit != "Joules":
            raise meter_error(
                f"perf event {name} has unit {unit!r} ({path}.unit); only 'Joules' is understood.",
                "report this kernel version and the event files",
            )
        events[name] = PowerEvent(name, config, scale, unit)
    if not events:
        raise meter_error(
            f"the perf power PMU at {directory} lists no energy-* events.",
            "this CPU model has no RAPL events in this kernel; use another backend",
        )
    return PowerPmu(directory, pmu_type, cpus, events)


def _cpu_topology(sysfs_root: str, cpu: int) -> tuple[int, int | None]:
    """(package id, die id or None) of one CPU; (cpu order is used when topology is missing)."""
    base = os.path.join(sysfs_root, "devices", "system", "cpu", f"cpu{cpu}", "topology")
    try:
        package = int(read_sysfs_text(os.path.join(base, "physical_package_id")))
    except (OSError, ValueError):
        package = -1
    try:
        die = int(read_sysfs_text(os.path.join(base, "die_id")))
    except (OSError, ValueError):
        die = None
    return package, die


def domain_names(sysfs_root: str, cpus: tuple[int, ...]) -> dict[int, str]:
    """``{cpu: package key}``: ``package-N``, or ``package-N-die-D`` when a package has several PMU CPUs."""
    topo = {cpu: _cpu_topology(sysfs_root, cpu) for cpu in cpus}
    for index, cpu in enumerate(cpus):  # missing topology: number packages by cpumask order
        if topo[cpu][0] < 0:
            topo[cpu] = (index, None)
    per_package: dict[int, int] = {}
    for package, _ in topo.values():
        per_package[package] = per_package.get(package, 0) + 1
    names = {}
    for cpu, (package, die) in topo.items():
        if per_package[package] > 1:
            names[cpu] = f"package-{package}-die-{die if die is not None else cpus.index(cpu)}"
        else:
            names[cpu] = f"package-{package}"
    return names


#: events whose domains can be a headline figure (a package, or the platform when there is no package)
HEADLINE_EVENTS = ("energy-pkg", PSYS_EVENT)


def _require_headline_event(wanted: tuple[str, ...], pmu: PowerPmu) -> None:
    """A meter error unless ``wanted`` includes energy-pkg or energy-psys: without one there is no figure to report."""
    if any(name in HEADLINE_EVENTS for name in wanted):
        return
    offered = [name for name in HEADLINE_EVENTS if name in pmu.events]
    raise meter_error(
        f"the perf events chosen, {list(wanted)}, include no package or platform event ({' or '.join(HEADLINE_EVENTS)}): "
        "sub-domains such as energy-ram or energy-cores are never summed into the headline figure, so this meter "
        "would report 0 J for any work.",
        f"add {' or '.join(offered)} to events, or pass events=None to open every event the PMU lists"
        if offered
        else f"this PMU lists no package or platform event ({sorted(pmu.events)}); use another backend "
        "(see `lstm-energy meters`)",
    )


class PerfMeter(EnergyMeter):
    """RAPL energy from the perf ``power`` PMU: 64-bit, kernel-folded (no wraps), scale from sysfs.

    sysfs_root: where ``bus/event_source/devices/power`` and ``devices/system/cpu`` are read (injectable).
    events: energy event names to open (default: every ``energy-*`` event the PMU lists).
    event_source: opens and reads the events (default :class:`KernelPerfEvents`, the real syscalls;
    tests inject a fake with the same three methods).
    """

    name = "perf"
    provenance = "measured"
    update_interval_seconds = 1e-3
    dead_counter_cause = (
        "Virtual machines often expose the perf power PMU without RAPL behind it "
        "(check with `perf stat -a -e power/energy-pkg/ sleep 1`, or energy-psys: 0.00 Joules means dead)."
    )

    def __init__(
        self,
        sysfs_root: str = "/sys",
        *,
        events: tuple[str, ...] | None = None,
        proc_root: str = "/proc",
        event_source: KernelPerfEvents | None = None,
    ):
        self.sysfs_root = str(sysfs_root)
        self._proc_root = proc_root
        self._events = event_source if event_source is not None else KernelPerfEvents()
        self.pmu = read_power_pmu(self.sysfs_root)
        wanted = events or tuple(self.pmu.events)
        unknown = [e for e in wanted if e not in self.pmu.events]
        if unknown:
            raise ConfigError(
                f"unknown perf energy events {unknown}; this PMU has {sorted(self.pmu.events)}: pass some of "
                "those, or events=None for all"
            )
        _require_headline_event(wanted, self.pmu)
        packages = domain_names(self.sysfs_root, self.pmu.cpus)
        self._fds: dict[str, tuple[int, PowerEvent, int]] = {}  # key -> (fd, event, cpu)
        # dropped without close(): collecting the meter closes its events (the finalizer holds only the dict)
        self._release = weakref.finalize(self, _close_events, self._events, self._fds)
        try:
            for cpu in self.pmu.cpus:
                for event_name in wanted:
                    event = self.pmu.events[event_name]
                    key = self._key(event_name, packages[cpu], cpu)
                    self._fds[key] = (self._open(event, cpu), event, cpu)
            self._start = {key: self._events.read(fd) for key, (fd, _, _) in self._fds.items()}
        except BaseException:
            self.close()
            raise
        self._headline = tuple(k for k in self._fds if "/" not in k and k.startswith("package")) or tuple(
            k for k in self._fds if k.startswith("psys")
        )

    def _key(self, event_name: str, package_key: str, cpu: int) -> str:
        if event_name == PSYS_EVENT:
            return "psys" if cpu == self.pmu.cpus[0] else f"psys-{package_key.split('-')[1]}"
        sub = EVENT_SUBDOMAINS.get(event_name, event_name.removeprefix("energy-"))
        return package_key if not sub else f"{package_key}/{sub}"

    def _open(self, event: PowerEvent, cpu: int) -> int:
        try:
            return self._events.open(self.pmu.type, event.config, cpu)
        except PerfOpenError as err:
            call = f"perf_event_open(type={self.pmu.type}, config={event.config:#x} [{event.name}], pid=-1, cpu={cpu})"
            number = err.errno or 0
            code = errno.errorcode.get(number, str(err.errno))
            if err.errno in (errno.EACCES, errno.EPERM):
                paranoid = read_perf_event_paranoid(self._proc_root)
                raise permission_error(
                    f"{call} was refused with {code} ({err.strerror}): kernel.perf_event_paranoid is {paranoid} "
                    f"and this process (uid {os.geteuid()}) lacks CAP_PERFMON.",
                    PERF_PARANOID_FIX,
                ) from err
            hints = {
                errno.ENOENT: "the running kernel has no PMU of this type: the sysfs description does not "
                "match this kernel (wrong sysfs_root?) or the power PMU is absent",
                errno.ENODEV: "the event is not supported on this CPU",
                errno.EINVAL: "the kernel rejected the event (not in the PMU's cpumask, or unsupported config)",
                errno.ENOSYS: "this kernel has no perf_event_open (CONFIG_PERF_EVENTS=n) or seccomp blocks it",
            }
            raise meter_error(
                f"{call} failed with {code} ({err.strerror}): {hints.get(number, 'unexpected error')}.",
                "use the powercap meter or check `perf stat -a -e power/energy-pkg/ sleep 1`",
            ) from err

    @classmethod
    def probe(cls, sysfs_root: str = "/sys", **kwargs) -> Availability:
        def found(meter):
            return (
                f"perf power PMU (type {meter.pmu.type}) events open on CPUs {list(meter.pmu.cpus)}: "
                f"{', '.join(meter.domains)}",
                {"domains": list(meter.domains)},
            )

        return probe_measured(cls, lambda: cls(sysfs_root, **kwargs), found)

    def counter_of(self, domain: str) -> str:
        _, event, cpu = self._fds[domain]
        return f"perf event {self.pmu.directory.rsplit('/', 1)[-1]}/{event.name}/ on CPU {cpu}"

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(self._fds)

    @property
    def headline_domains(self) -> tuple[str, ...]:
        return self._headline

    def read(self) -> EnergySample:
        if not self._fds:
            raise MeterError("this PerfMeter is closed; open a new one to read again")
        joules = {}
        for key, (fd, event, _) in self._fds.items():
            joules[key] = (self._events.read(fd) - self._start[key]) * event.scale
        return EnergySample(time.monotonic(), joules)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "provenance": self.provenance,
            "counter": "perf_event power PMU (RAPL), 64-bit kernel-folded counts x sysfs scale",
            "pmu": self.pmu.directory,
            "pmu_type": self.pmu.type,
            "units": "J",
            "domains": {
                key: {"event": event.name, "config": event.config, "cpu": cpu, "scale": event.scale, "unit": event.unit}
                for key, (_, event, cpu) in self._fds.items()
            },
            "headline_domains": list(self._headline),
            "wraparound": "none needed: the kernel folds the 32-bit register into a 64-bit count",
            "scope": "whole system (system-wide events), per package",
        }

    def close(self) -> None:
        release = getattr(self, "_release", None)
        if release is not None:
            release()  # closes every open event once; later calls do nothing
        self._fds = {}


def _close_events(events: KernelPerfEvents, fds: dict[str, tuple[int, PowerEvent, int]]) -> None:
    """Close every event in ``{key: (fd, event, cpu)}`` through ``events`` and empty it."""
    for fd, _, _ in fds.values():
        events.close(fd)
    fds.clear()
