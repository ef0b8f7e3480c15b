"""Hardware performance counters through perf_event_open(2): instructions, cycles, LLC misses of the
calling thread around a callable, and DRAM bytes from Intel uncore IMC CAS counts.

Sources: perf_event_open(2) man page and include/uapi/linux/perf_event.h (PERF_TYPE_HARDWARE = 0,
PERF_COUNT_HW_CPU_CYCLES = 0, _INSTRUCTIONS = 1, _CACHE_MISSES = 3 — "usually last level cache
misses"). Intel server uncore memory controllers appear in sysfs as PMUs ``uncore_imc_N`` with
``cas_count_read``/``cas_count_write`` (scale 6.103515625e-5 MiB = 64 bytes per CAS).

Counting scope: the core events count the calling thread (pid=0, cpu=-1, user space only:
``exclude_kernel``, ``exclude_hv``, so ``perf_event_paranoid`` 2 allows them) and threads it creates
while counting (``inherit``); BLAS worker threads that already exist are NOT counted — pin BLAS to
one thread (threadpoolctl) when attributing counts to a kernel. The IMC events are system-wide
(pid=-1, one CPU of the PMU's cpumask) and need perf_event_paranoid <= 0 or CAP_PERFMON.

The syscall, the attr struct and the reads are :mod:`lstm_energy.perf.syscall`; the sysfs PMU files
(type, format, events with scale and unit) are read by :mod:`lstm_energy.perf.sysfs`.

Hardware is behind ``PerfEventBackend``: ``LinuxPerfEvents`` calls the kernel; tests inject a
backend that replays recorded readings (provenance "simulated"). Nothing here raises because a
counter is missing: every event that cannot be opened is reported with the errno and what to do.
"""

from __future__ import annotations

import errno as errno_module
import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lstm_energy.errors import ConfigError
from lstm_energy.meters.base import Availability
from lstm_energy.meters.remedies import read_perf_event_paranoid
from lstm_energy.meters.topology import parse_cpu_list
from lstm_energy.perf.syscall import (
    FLAG_DISABLED,
    FLAG_EXCLUDE_HV,
    FLAG_EXCLUDE_KERNEL,
    FLAG_INHERIT,
    PERF_FORMAT_TOTAL_TIME_ENABLED,
    PERF_FORMAT_TOTAL_TIME_RUNNING,
    disable,
    perf_event_open,
    read_count_and_times,
    reset_and_enable,
)
from lstm_energy.perf.sysfs import (
    EVENT_SOURCE_ROOT,
    encode_event,
    list_pmus,
    read_event,
    read_pmu_formats,
    read_pmu_type,
    read_sysfs_text,
)

PERF_TYPE_HARDWARE = 0
# generic hardware events (include/uapi/linux/perf_event.h, enum perf_hw_id)
CORE_EVENTS = {"cycles": 0, "instructions": 1, "llc_misses": 3}
IMC_PMU_PREFIX = "uncore_imc"
IMC_EVENTS = ("cas_count_read", "cas_count_write")
UNIT_BYTES = {"bytes": 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "KB": 1e3, "MB": 1e6, "GB": 1e9}


@dataclass(frozen=True)
class EventSpec:
    """One counter to open: a name, the attr type/config, and pid/cpu scope."""

    name: str
    type: int
    config: int
    pid: int = 0  # 0: the calling thread; -1: every process (system-wide, needs cpu >= 0)
    cpu: int = -1
    scale: float = 1.0  # multiply the count by this ...
    unit: str = "count"  # ... to get this unit (from sysfs <event>.scale / .unit)


@dataclass(frozen=True)
class RawReading:
    """What read(2) returns with TOTAL_TIME_ENABLED|RUNNING: the count and the two times in ns."""

    value: int
    time_enabled_ns: int
    time_running_ns: int

    @property
    def scaled(self) -> float:
        """The count extrapolated over multiplexing: value × enabled / running (perf's convention)."""
        if self.time_running_ns <= 0:
            return 0.0
        return self.value * self.time_enabled_ns / self.time_running_ns


class PerfEventBackend(Protocol):
    """The hardware interface: open raises OSError (with errno) when an event is unavailable."""

    provenance: str
    description: str

    def open(self, spec: EventSpec) -> int: ...

    def enable(self, handle: int) -> None: ...

    def disable(self, handle: int) -> None: ...

    def read(self, handle: int) -> RawReading: ...

    def close(self, handle: int) -> None: ...


class LinuxPerfEvents:
    """The real backend (:mod:`lstm_energy.perf.syscall`): perf_event_open opened disabled with the
    enabled/running times in read_format, ioctl to start/stop, read(2) to read."""

    provenance = "measured"
    description = "perf_event_open(2)"

    def __init__(self, machine: str | None = None):
        self.machine = machine or platform.machine()

    def open(self, spec: EventSpec) -> int:
        thread_scope = FLAG_INHERIT | FLAG_EXCLUDE_KERNEL | FLAG_EXCLUDE_HV if spec.pid == 0 else 0
        return perf_event_open(
            spec.type,
            spec.config,
            spec.cpu,
            pid=spec.pid,
            read_format=PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING,
            flags=FLAG_DISABLED | thread_scope,
            machine=self.machine,
        )

    def enable(self, handle: int) -> None:
        reset_and_enable(handle)

    def disable(self, handle: int) -> None:
        disable(handle)

    def read(self, handle: int) -> RawReading:
        return RawReading(*read_count_and_times(handle))

    def close(self, handle: int) -> None:
        os.close(handle)


# ---------------------------------------------------------------------------------------- sysfs PMUs
def counts_to_bytes(count: float, scale: float, unit: str) -> float:
    """A scaled PMU count in bytes: count × scale × bytes-per-unit (IMC: 1 CAS × 6.1035e-5 MiB = 64 B)."""
    try:
        return count * scale * UNIT_BYTES[unit]
    except KeyError:
        raise ConfigError(f"unknown event unit {unit!r}; known: {sorted(UNIT_BYTES)}") from None


def _first_cpu(pmu_dir: Path) -> int:
    """The first CPU of the PMU's cpumask ('0', '0-3', '0,28' -> 0): the CPU an uncore event counts on; 0 if unreadable."""
    try:
        cpus = parse_cpu_list(read_sysfs_text(pmu_dir / "cpumask"))
    except (OSError, ValueError):
        cpus = []
    return cpus[0] if cpus else 0


def imc_cas_events(root: str | os.PathLike = EVENT_SOURCE_ROOT) -> tuple[list[EventSpec], str]:
    """Every uncore_imc_* cas_count_read/write event under ``root``, and a reason when there are none."""
    root = Path(root)
    pmus = sorted(p for p in root.glob(f"{IMC_PMU_PREFIX}*") if p.is_dir())
    if not pmus:
        present = list_pmus(root)
        return [], (
            f"no {IMC_PMU_PREFIX}_* PMU under {root} (present: {', '.join(present) or 'nothing'}); the Intel"
            " uncore memory-controller PMU exists only on Intel server CPUs with the uncore driver loaded,"
            " on bare metal"
        )
    specs, problems = [], []
    for pmu in pmus:
        try:
            pmu_type = read_pmu_type(pmu)
        except OSError:
            pmu_type = None
        formats = read_pmu_formats(pmu)
        for name in IMC_EVENTS:
            try:
                event = read_event(pmu, name)
            except OSError:
                event = None
            if pmu_type is None or event is None:
                problems.append(f"{pmu.name}/events/{name} missing")
                continue
            specs.append(
                EventSpec(
                    name=f"{pmu.name}/{name}",
                    type=pmu_type,
                    config=encode_event(event.description, formats),
                    pid=-1,
                    cpu=_first_cpu(pmu),
                    scale=1.0 if event.scale is None else event.scale,
                    unit=event.unit or "count",
                )
            )
    return specs, "; ".join(problems) if not specs else f"{len(specs)} CAS events in {len(pmus)} IMC PMUs"


def core_events() -> list[EventSpec]:
    """instructions, cycles and LLC misses of the calling thread (PERF_TYPE_HARDWARE)."""
    return [EventSpec(name, PERF_TYPE_HARDWARE, config) for name, config in CORE_EVENTS.items()]


# ---------------------------------------------------------------------------------------- reasons
def explain_errno(code: int, spec: EventSpec, root: str | os.PathLike = EVENT_SOURCE_ROOT) -> tuple[str, str]:
    """(reason, fix) for a failed perf_event_open of ``spec``."""
    name = errno_module.errorcode.get(code, str(code))
    head = f"perf_event_open({spec.name}: type={spec.type}, config={spec.config:#x}) failed with {name} ({os.strerror(code)})"
    if code == errno_module.ENOENT and spec.type == PERF_TYPE_HARDWARE:
        present = list_pmus(root)
        has_cpu_pmu = "cpu" in present or any(p.startswith("cpu_") for p in present)
        detail = (
            ""
            if has_cpu_pmu
            else (
                f": no hardware PMU is registered (no 'cpu' under {root}; present: {', '.join(present) or 'nothing'}),"
                " as in virtual machines without a virtual PMU"
            )
        )
        return head + detail, "run on bare metal, or give the VM a virtual PMU (e.g. QEMU/KVM '-cpu host,pmu=on')"
    if code in (errno_module.EACCES, errno_module.EPERM):
        return (
            head + f": kernel.perf_event_paranoid={read_perf_event_paranoid()} forbids this scope",
            "run as root, grant CAP_PERFMON, or lower kernel.perf_event_paranoid (system-wide uncore events need <= 0)",
        )
    if code in (errno_module.EOPNOTSUPP, errno_module.ENODEV, errno_module.EINVAL):
        return (
            head + ": this PMU does not support the event or scope",
            "check the event with 'perf list' on this machine",
        )
    if code == errno_module.ENOSYS:
        return head, "perf_event_open is not available on this kernel or architecture"
    return head, "see perf_event_open(2) for this errno"


# ---------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class CounterResult:
    """Counts around one call. ``counts`` holds scaled counts of the events that opened; every event
    that did not open is in ``unavailable`` with the reason. ``available`` is true when at least one
    event counted."""

    available: bool
    reason: str
    counts: Mapping[str, float]
    unavailable: Mapping[str, str]
    fixes: Mapping[str, str]
    seconds: float
    provenance: str
    source: str
    scales: Mapping[str, tuple[float, str]] = field(default_factory=dict)

    @property
    def instructions_per_cycle(self) -> float | None:
        c = self.counts
        return c["instructions"] / c["cycles"] if c.get("cycles") and "instructions" in c else None

    @property
    def llc_misses_per_kilo_instruction(self) -> float | None:
        c = self.counts
        return 1000 * c["llc_misses"] / c["instructions"] if c.get("instructions") and "llc_misses" in c else None

    @property
    def dram_bytes(self) -> float | None:
        """Sum of the IMC CAS events in bytes (read + write over every IMC), or None when none counted."""
        cas = [name for name in self.counts if name.rsplit("/", 1)[-1] in IMC_EVENTS]
        if not cas:
            return None
        return sum(counts_to_bytes(self.counts[n], *self.scales[n]) for n in cas)

    @property
    def dram_bytes_per_second(self) -> float | None:
        total = self.dram_bytes
        return total / self.seconds if total is not None and self.seconds > 0 else None

    def as_dict(self) -> dict:
        return {
            "available": self.available,
            "reason": self.reason,
            "provenance": self.provenance,
            "source": self.source,
            "seconds": self.seconds,
            "counts": dict(self.counts),
            "unavailable": dict(self.unavailable),
            "fixes": dict(self.fixes),
            "derived": {
                "instructions_per_cycle": self.instructions_per_cycle,
                "llc_misses_per_kilo_instruction": self.llc_misses_per_kilo_instruction,
                "dram_bytes": self.dram_bytes,
                "dram_bytes_per_second": self.dram_bytes_per_second,
            },
        }


def count(
    fn: Callable,
    *args,
    include_dram: bool = True,
    backend: PerfEventBackend | None = None,
    root: str | os.PathLike = EVENT_SOURCE_ROOT,
    **kwargs,
) -> CounterResult:
    """Call ``fn(*args, **kwargs)`` once with instructions, cycles, LLC misses (and IMC CAS counts)
    counting. Never raises for a missing counter: the call still runs and the result says why."""
    backend = backend or LinuxPerfEvents()
    specs = core_events()
    unavailable, fixes = {}, {}
    if include_dram:
        imc, imc_reason = imc_cas_events(root)
        if imc:
            specs += imc
        else:
            unavailable["dram_bytes"] = imc_reason
            fixes["dram_bytes"] = "DRAM bytes need an Intel server CPU's uncore IMC PMU on bare metal"
    opened = {}
    try:
        for spec in specs:
            try:
                opened[spec.name] = (spec, backend.open(spec))
            except OSError as err:
                unavailable[spec.name], fixes[spec.name] = explain_errno(err.errno or 0, spec, root)
        for _, handle in opened.values():
            backend.enable(handle)
        start = time.perf_counter()
        fn(*args, **kwargs)
        seconds = time.perf_counter() - start
        for _, handle in opened.values():
            backend.disable(handle)
        readings = {name: backend.read(handle) for name, (_, handle) in opened.items()}
    finally:
        for _, handle in opened.values():
            backend.close(handle)
    counts = {name: reading.scaled for name, reading in readings.items()}
    scales = {name: (spec.scale, spec.unit) for name, (spec, _) in opened.items()}
    if counts:
        reason = f"counted {', '.join(counts)} via {backend.description}"
        if unavailable:
            reason += f"; unavailable: {', '.join(unavailable)}"
    else:
        reason = "no hardware counter could be opened: " + "; ".join(f"{k}: {v}" for k, v in unavailable.items())
    return CounterResult(
        available=bool(counts),
        reason=reason,
        counts=counts,
        unavailable=unavailable,
        fixes=fixes,
        seconds=seconds,
        provenance=backend.provenance,
        source=f"{backend.provenance}: {backend.description}, PERF_TYPE_HARDWARE generic events"
        + (" + uncore_imc CAS counts" if any(n.startswith(IMC_PMU_PREFIX) for n in counts) else ""),
        scales=scales,
    )


def _merge_reasons(reasons: Mapping[str, str]) -> str:
    """One sentence when every event failed the same way, else each reason in turn."""
    tails = {reason.split(") failed", 1)[-1] for reason in reasons.values()}
    if len(tails) == 1 and all(") failed" in r for r in reasons.values()):
        return f"perf_event_open({', '.join(reasons)}: PERF_TYPE_HARDWARE) failed" + tails.pop()
    return "; ".join(reasons.values())


def probe(backend: PerfEventBackend | None = None, root: str | os.PathLike = EVENT_SOURCE_ROOT) -> list[Availability]:
    """Availability of the core counters and of IMC DRAM bytes here, each with its exact reason."""
    result = count(lambda: None, backend=backend, root=root)
    core = [n for n in CORE_EVENTS if n in result.counts]
    answers = [
        Availability(
            name="hwcounters.core",
            available=bool(core),
            provenance="measured",
            reason=f"counting {', '.join(core)}"
            if core
            else _merge_reasons({n: result.unavailable[n] for n in CORE_EVENTS}),
            fix="" if core else result.fixes.get("instructions", ""),
        )
    ]
    dram = result.dram_bytes is not None
    imc_problems = {k: v for k, v in result.unavailable.items() if k == "dram_bytes" or k.startswith(IMC_PMU_PREFIX)}
    answers.append(
        Availability(
            name="hwcounters.dram",
            available=dram,
            provenance="measured",
            reason="uncore_imc CAS counts open" if dram else "; ".join(imc_problems.values()),
            fix="" if dram else next(iter(result.fixes[k] for k in imc_problems if k in result.fixes), ""),
        )
    )
    return answers
