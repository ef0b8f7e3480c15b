"""The ``perf_event_open(2)`` system call through ctypes: open one counting event, start/stop it, read it.

The one place in the library that talks to the perf_event kernel interface; its users are the RAPL
``power`` PMU meter (:mod:`lstm_energy.meters.perf`: system-wide, always counting, ``read_format = 0``)
and the hardware counters (:mod:`lstm_energy.perf.hardware_counters`: per-thread or uncore, opened disabled,
ioctl enable/disable, ``read_format`` with the enabled/running times).

Sources: perf_event_open(2) man page and include/uapi/linux/perf_event.h (struct perf_event_attr,
PERF_FORMAT_TOTAL_TIME_ENABLED/RUNNING, PERF_EVENT_IOC_ENABLE/DISABLE/RESET = _IO('$', 0/1/3),
PERF_FLAG_FD_CLOEXEC); syscall numbers from arch/x86/entry/syscalls/syscall_{64,32}.tbl and the
generic (arm64) table.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import platform
import struct

#: syscall numbers of perf_event_open (arch/*/entry/syscalls tables), keyed by lower-case machine name
SYSCALL_NUMBERS = {"x86_64": 298, "amd64": 298, "i386": 336, "i686": 336, "aarch64": 241, "arm64": 241}
PERF_FLAG_FD_CLOEXEC = 1 << 3
PERF_FORMAT_TOTAL_TIME_ENABLED = 1 << 0
PERF_FORMAT_TOTAL_TIME_RUNNING = 1 << 1
# attr.flags bit positions: disabled 0, inherit 1, exclude_kernel 5, exclude_hv 6
FLAG_DISABLED, FLAG_INHERIT, FLAG_EXCLUDE_KERNEL, FLAG_EXCLUDE_HV = 1 << 0, 1 << 1, 1 << 5, 1 << 6
PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_RESET = 0x2400, 0x2401, 0x2403


class PerfEventAttr(ctypes.Structure):
    """``struct perf_event_attr`` up to ``config3`` (PERF_ATTR_SIZE_VER8, 136 bytes).

    Older kernels accept the larger size because every field they do not know is zero.
    """

    _fields_ = [
        ("type", ctypes.c_uint32),
        ("size", ctypes.c_uint32),
        ("config", ctypes.c_uint64),
        ("sample_period", ctypes.c_uint64),
        ("sample_type", ctypes.c_uint64),
        ("read_format", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),  # disabled, inherit, ... bit-field: all 0 = enabled, counting
        ("wakeup_events", ctypes.c_uint32),
        ("bp_type", ctypes.c_uint32),
        ("config1", ctypes.c_uint64),
        ("config2", ctypes.c_uint64),
        ("branch_sample_type", ctypes.c_uint64),
        ("sample_regs_user", ctypes.c_uint64),
        ("sample_stack_user", ctypes.c_uint32),
        ("clockid", ctypes.c_int32),
        ("sample_regs_intr", ctypes.c_uint64),
        ("aux_watermark", ctypes.c_uint32),
        ("sample_max_stack", ctypes.c_uint16),
        ("reserved_2", ctypes.c_uint16),
        ("aux_sample_size", ctypes.c_uint32),
        ("reserved_3", ctypes.c_uint32),
        ("sig_data", ctypes.c_uint64),
        ("config3", ctypes.c_uint64),
    ]


class PerfOpenError(OSError):
    """perf_event_open failed; ``errno`` is the kernel's answer."""


def syscall_number(machine: str | None = None) -> int:
    """The perf_event_open syscall number on ``machine`` (default: this one); PerfOpenError(ENOSYS) if unknown."""
    machine = (machine or platform.machine()).lower()
    number = SYSCALL_NUMBERS.get(machine)
    if number is None:
        raise PerfOpenError(
            errno.ENOSYS,
            f"perf_event_open syscall number unknown for machine {machine!r} (known: {sorted(SYSCALL_NUMBERS)})",
        )
    return number


def perf_event_open(
    pmu_type: int,
    config: int,
    cpu: int,
    *,
    pid: int = -1,
    read_format: int = 0,
    flags: int = 0,
    machine: str | None = None,
) -> int:
    """Open one counting event; return its file descriptor or raise PerfOpenError with the kernel's errno.

    Defaults: system-wide on ``cpu`` (``pid=-1``), counting from now (``flags=0``), ``read_format=0``
    (``read_count`` reads it). ``pid=0, cpu=-1`` counts the calling thread on any CPU. No group, close-on-exec.
    """
    number = syscall_number(machine)
    attr = PerfEventAttr(
        type=pmu_type, size=ctypes.sizeof(PerfEventAttr), config=config, read_format=read_format, flags=flags
    )
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    fd = libc.syscall(
        ctypes.c_long(number),
        ctypes.byref(attr),
        ctypes.c_int(pid),
        ctypes.c_int(cpu),
        ctypes.c_int(-1),  # group_fd: no group
        ctypes.c_ulong(PERF_FLAG_FD_CLOEXEC),
    )
    if fd < 0:
        code = ctypes.get_errno()
        raise PerfOpenError(code, os.strerror(code))
    return int(fd)


def _read_exactly(fd: int, size: int) -> bytes:
    data = os.read(fd, size)
    if len(data) != size:
        raise OSError(errno.EIO, f"short read of a perf event: {len(data)} bytes instead of {size}")
    return data


def read_count(fd: int) -> int:
    """The event's current 64-bit count (``read_format = 0``)."""
    return struct.unpack("=Q", _read_exactly(fd, 8))[0]


def read_count_and_times(fd: int) -> tuple[int, int, int]:
    """(count, time_enabled_ns, time_running_ns) of an event opened with
    ``read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING``."""
    return struct.unpack("=QQQ", _read_exactly(fd, 24))


def reset_and_enable(fd: int) -> None:
    """Zero the event's count and start counting (ioctl PERF_EVENT_IOC_RESET, then _ENABLE)."""
    fcntl.ioctl(fd, PERF_EVENT_IOC_RESET, 0)
    fcntl.ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)


def disable(fd: int) -> None:
    """Stop counting; the count stays readable (ioctl PERF_EVENT_IOC_DISABLE)."""
    fcntl.ioctl(fd, PERF_EVENT_IOC_DISABLE, 0)
