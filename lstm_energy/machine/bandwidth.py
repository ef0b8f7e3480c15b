"""Measured memory bandwidth: the STREAM triad a[i] = b[i] + s·c[i] (Cython, no GIL) on arrays far
larger than the last-level cache, split across 1..nproc Python threads.

Bytes per triad follow the STREAM convention: 3 arrays × 8 bytes × N (read b and c, write a); the
write-allocate read of ``a`` that a cache without streaming stores also performs is NOT counted, so
the DRAM traffic is up to 4/3 of the figure (McCalpin, STREAM FAQ). Best of ``repeats`` after one
warm-up, median next to it.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lstm_energy.errors import ConfigError, MachineInfoError
from lstm_energy.machine.info import usable_cores

MIB = 1024 * 1024
MIN_ARRAY_BYTES = 64 * MIB
MAX_ARRAY_BYTES = 512 * MIB
DEFAULT_REPEATS = 10


def default_array_bytes(llc_bytes: int | None) -> int:
    """Bytes per array: at least 64 MiB and at least twice the LLC (so 3 arrays are >= 6× the LLC)."""
    return int(min(MAX_ARRAY_BYTES, max(MIN_ARRAY_BYTES, 2 * (llc_bytes or 0))))


@dataclass(frozen=True)
class TriadBandwidth:
    threads: int
    array_bytes: int  # per array; three arrays
    repeats: int
    best_bytes_per_second: float
    median_bytes_per_second: float

    @property
    def source(self) -> str:
        return (
            f"measured: STREAM-like triad (Cython, nogil) on 3 float64 arrays of {self.array_bytes // MIB} MiB,"
            f" {self.threads} thread(s), best of {self.repeats}; bytes = 24 per element (STREAM convention,"
            " write-allocate not counted)"
        )

    def as_dict(self) -> dict:
        return {
            "threads": self.threads,
            "array_bytes": self.array_bytes,
            "repeats": self.repeats,
            "best_bytes_per_second": self.best_bytes_per_second,
            "median_bytes_per_second": self.median_bytes_per_second,
            "source": self.source,
        }


TRIAD_MODULE = "lstm_energy.machine._triad"


def triad_kernel(module: str = TRIAD_MODULE):
    """The compiled ``triad`` function; MachineInfoError saying how to build it when it is missing."""
    from importlib import import_module

    try:
        triad = import_module(module).triad
    except ImportError as err:
        raise MachineInfoError(
            f"the Cython triad extension lstm_energy.machine._triad is not built ({err});"
            " build it with `python setup.py build_ext --inplace` (or `pip install -e .`)"
        ) from err
    return triad


def measure_triad(threads: int, array_bytes: int = MIN_ARRAY_BYTES, repeats: int = DEFAULT_REPEATS) -> TriadBandwidth:
    """Best and median bytes/s of the triad with ``threads`` threads each streaming one slice."""
    import numpy as np

    if threads < 1 or repeats < 1 or array_bytes < 8 * threads:
        raise ConfigError(
            f"need threads >= 1, repeats >= 1 and array_bytes >= 8*threads; got threads={threads},"
            f" repeats={repeats}, array_bytes={array_bytes}"
        )
    triad = triad_kernel()
    n = array_bytes // 8
    a = np.zeros(n)
    b = np.full(n, 1.0)
    c = np.full(n, 2.0)
    bounds = [(i * n // threads, (i + 1) * n // threads) for i in range(threads)]
    seconds = []
    with ThreadPoolExecutor(max_workers=threads) as pool:

        def run_once() -> float:
            start = time.perf_counter()
            for future in [pool.submit(triad, a, b, c, 3.0, lo, hi) for lo, hi in bounds]:
                future.result()
            return time.perf_counter() - start

        run_once()  # warm-up: page faults, thread start
        for _ in range(repeats):
            seconds.append(run_once())
    if a[0] != 7.0 or a[-1] != 7.0:
        raise MachineInfoError(
            f"triad produced a[0]={a[0]}, a[-1]={a[-1]} instead of 1 + 3·2 = 7; the kernel is broken"
        )
    moved = 3 * 8 * n
    return TriadBandwidth(
        threads=threads,
        array_bytes=n * 8,
        repeats=repeats,
        best_bytes_per_second=moved / min(seconds),
        median_bytes_per_second=moved / statistics.median(seconds),
    )


def measure_bandwidths(
    thread_counts: list[int] | None = None, array_bytes: int = MIN_ARRAY_BYTES, repeats: int = DEFAULT_REPEATS
) -> list[TriadBandwidth]:
    counts = thread_counts or list(range(1, usable_cores() + 1))
    return [measure_triad(t, array_bytes=array_bytes, repeats=repeats) for t in counts]
