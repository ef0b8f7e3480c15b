"""The ``perf_event_open(2)`` system call through ctypes: open one counting event, read its 64-bit count.

Only what the RAPL ``power`` PMU needs: a system-wide counting event (``pid=-1``, one CPU), no
sampling, no groups, ``read_format = 0`` so ``read(fd, 8)`` returns the u64 count.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

#: syscall numbers of perf_event_open (arch/*/entry/syscalls tables)
SYSCALL_NUMBERS = {"x86_64": 298, "amd64": 298, "i386": 336, "i686": 336, "aarch64": 241}
PERF_FLAG_FD_CLOEXEC = 1 << 3


class PerfEventAttr(ctypes.Structure):
    """``struct perf_event_attr`` up to ``config2`` (PERF_ATTR_SIZE_VER1, 72 bytes; the kernel zero-fills the rest)."""

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
    ]


class PerfOpenError(OSError):
    """perf_event_open failed; ``errno`` is the kernel's answer."""


def perf_event_open(pmu_type: int, config: int, cpu: int) -> int:
    """Open a system-wide counting event on ``cpu``; return its file descriptor or raise PerfOpenError."""
    machine = platform.machine().lower()
    number = SYSCALL_NUMBERS.get(machine)
    if number is None:
        raise PerfOpenError(errno.ENOSYS, f"perf_event_open syscall number unknown for machine {machine!r}")
    attr = PerfEventAttr(type=pmu_type, size=ctypes.sizeof(PerfEventAttr), config=config)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    fd = libc.syscall(
        ctypes.c_long(number), ctypes.byref(attr), ctypes.c_int(-1), ctypes.c_int(cpu), ctypes.c_int(-1),
        ctypes.c_ulong(PERF_FLAG_FD_CLOEXEC),
    )
    if fd < 0:
        code = ctypes.get_errno()
        raise PerfOpenError(code, os.strerror(code))
    return int(fd)


def read_count(fd: int) -> int:
    """The event's current 64-bit count (``read_format = 0``)."""
    data = os.read(fd, 8)
    if len(data) != 8:
        raise OSError(errno.EIO, f"short read of a perf event: {len(data)} bytes instead of 8")
    return struct.unpack("=Q", data)[0]
