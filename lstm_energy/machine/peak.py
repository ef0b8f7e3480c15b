"""Measured single-precision GEMM throughput per thread count, through the kernels' own BLAS.

The kernels call ``scipy.linalg.cython_blas.sgemm``; this calls the same library through
``scipy.linalg.blas.sgemm`` on Fortran-ordered float32 n×n operands (no copies, C overwritten in
place), with the BLAS thread pool pinned by threadpoolctl. FLOPs per call = 2·n³ (a multiply-add
counts 2, the project convention). Figure reported: the best of ``repeats`` timed calls after one
warm-up (the least-disturbed run on a shared machine), with the median next to it.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from lstm_energy.machine.info import BlasInfo, scipy_blas, usable_cores

DEFAULT_N = 1536
DEFAULT_REPEATS = 5


@dataclass(frozen=True)
class GemmPeak:
    """sgemm throughput at one pinned thread count."""

    threads: int
    threads_pinned: int  # what the BLAS reported inside the limit (must equal threads)
    n: int
    repeats: int
    best_gflops: float
    median_gflops: float
    blas: BlasInfo

    @property
    def source(self) -> str:
        return (
            f"measured: sgemm {self.n}x{self.n}x{self.n} float32 via scipy.linalg.blas ({self.blas.label}),"
            f" {self.threads_pinned} thread(s) pinned with threadpoolctl, best of {self.repeats}; 2*n^3 FLOPs per call"
        )

    def as_dict(self) -> dict:
        return {
            "threads": self.threads,
            "threads_pinned": self.threads_pinned,
            "n": self.n,
            "repeats": self.repeats,
            "best_gflops": self.best_gflops,
            "median_gflops": self.median_gflops,
            "source": self.source,
        }


def measure_sgemm(threads: int, n: int = DEFAULT_N, repeats: int = DEFAULT_REPEATS, seed: int = 0) -> GemmPeak:
    """Time ``repeats`` calls of C = A·B (n×n float32) with the BLAS pinned to ``threads`` threads."""
    import numpy as np
    from scipy.linalg.blas import sgemm
    from threadpoolctl import threadpool_limits

    if threads < 1 or n < 1 or repeats < 1:
        raise ValueError(f"threads, n and repeats must be >= 1, got threads={threads}, n={n}, repeats={repeats}")
    rng = np.random.default_rng(seed)
    a = np.asfortranarray(rng.standard_normal((n, n), dtype=np.float32))
    b = np.asfortranarray(rng.standard_normal((n, n), dtype=np.float32))
    c = np.zeros((n, n), dtype=np.float32, order="F")
    seconds = []
    with threadpool_limits(limits=threads, user_api="blas"):
        pinned = scipy_blas()
        sgemm(1.0, a, b, beta=0.0, c=c, overwrite_c=1)  # warm-up: C = A·B   (c[:] = a @ b)
        for _ in range(repeats):
            start = time.perf_counter()
            sgemm(1.0, a, b, beta=0.0, c=c, overwrite_c=1)  # C = A·B   (c[:] = a @ b)
            seconds.append(time.perf_counter() - start)
    flop = 2.0 * n**3
    return GemmPeak(
        threads=threads,
        threads_pinned=pinned.num_threads,
        n=n,
        repeats=repeats,
        best_gflops=flop / min(seconds) / 1e9,
        median_gflops=flop / statistics.median(seconds) / 1e9,
        blas=pinned,
    )


def measure_peaks(
    thread_counts: list[int] | None = None, n: int = DEFAULT_N, repeats: int = DEFAULT_REPEATS
) -> list[GemmPeak]:
    """sgemm GFLOP/s for each thread count (default 1..usable cores)."""
    counts = thread_counts or list(range(1, usable_cores() + 1))
    return [measure_sgemm(t, n=n, repeats=repeats) for t in counts]
