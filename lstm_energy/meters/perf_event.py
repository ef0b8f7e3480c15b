"""Compatibility name: the perf_event_open(2) wrapper lives in :mod:`lstm_energy.perf_event`
(shared by the perf energy meter and the hardware counters)."""
from lstm_energy.perf_event import (
    PERF_FLAG_FD_CLOEXEC,
    SYSCALL_NUMBERS,
    PerfEventAttr,
    PerfOpenError,
    perf_event_open,
    read_count,
)

__all__ = ["PERF_FLAG_FD_CLOEXEC", "SYSCALL_NUMBERS", "PerfEventAttr", "PerfOpenError", "perf_event_open", "read_count"]
