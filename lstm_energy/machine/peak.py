"""Measured single-precision GEMM throughput per thread count, through both libraries the kernels use.

sgemm: the kernels call ``scipy.linalg.cython_blas.sgemm`` for some products (one thread's dA @ W);
this calls the same library through ``scipy.linalg.blas.sgemm`` on Fortran-ordered float32 n×n
operands (no copies, C overwritten in place), with the BLAS thread pool pinned by threadpoolctl. Its
speed depends on the core type OpenBLAS runs (``OPENBLAS_CORETYPE`` can force an older one).

Kernel GEMM: the kernels' own packed float32 GEMM (``_packed_gemm.h``, AVX2 or AVX-512), which runs
most of their products, timed through ``_vector_math_probe.gemm_large`` on C-ordered n×n operands
with its OpenMP pool pinned by threadpoolctl. The faster of the two is the compute roof of a roofline.

FLOPs per call = 2·n³ (a multiply-add counts 2, the project convention). Figure reported: the best of
``repeats`` timed calls after one warm-up (the least-disturbed run on a shared machine), with the
median next to it.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from lstm_energy.errors import ConfigError, MachineInfoError
from lstm_energy.machine.info import BlasInfo, scipy_blas, usable_cores

DEFAULT_N = 1536
DEFAULT_REPEATS = 5


@dataclass(frozen=True)
class _GemmThroughput:
    """A square float32 GEMM's throughput at one pinned thread count (the fields both peaks share)."""

    threads: int
    threads_pinned: int  # what the pool reported inside the limit (must equal threads)
    n: int
    repeats: int
    best_gflops: float
    median_gflops: float

    def _common_dict(self) -> dict:
        return {
            "threads": self.threads,
            "threads_pinned": self.threads_pinned,
            "n": self.n,
            "repeats": self.repeats,
            "best_gflops": self.best_gflops,
            "median_gflops": self.median_gflops,
        }


@dataclass(frozen=True)
class GemmPeak(_GemmThroughput):
    """sgemm throughput at one pinned thread count (threads_pinned: what the BLAS reported)."""

    blas: BlasInfo

    @property
    def source(self) -> str:
        return (
            f"measured: sgemm {self.n}x{self.n}x{self.n} float32 via scipy.linalg.blas ({self.blas.label}),"
            f" {self.threads_pinned} thread(s) pinned with threadpoolctl, best of {self.repeats}; 2*n^3 FLOPs per call"
        )

    def as_dict(self) -> dict:
        return {
            **self._common_dict(),
            "blas": self.blas.label,
            "blas_library": self.blas.name,
            "blas_core_type": self.blas.architecture,
            "source": self.source,
        }


def measure_sgemm(threads: int, n: int = DEFAULT_N, repeats: int = DEFAULT_REPEATS, seed: int = 0) -> GemmPeak:
    """Time ``repeats`` calls of C = A·B (n×n float32) with the BLAS pinned to ``threads`` threads."""
    import numpy as np
    from scipy.linalg.blas import sgemm
    from threadpoolctl import threadpool_limits

    if threads < 1 or n < 1 or repeats < 1:
        raise ConfigError(f"threads, n and repeats must be >= 1, got threads={threads}, n={n}, repeats={repeats}")
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


@dataclass(frozen=True)
class KernelGemmPeak(_GemmThroughput):
    """The kernels' own float32 packed GEMM throughput at one OpenMP thread count (threads_pinned: the
    OpenMP pool size inside the limit)."""

    isa: str  # the kernels' instruction-set path the product ran on: "avx2" or "avx512"

    @property
    def source(self) -> str:
        return (
            f"measured: the kernels' packed GEMM {self.n}x{self.n}x{self.n} float32 ({self.isa} path,"
            " lstm_energy.kernels._vector_math_probe.gemm_large), "
            f"{self.threads_pinned} OpenMP thread(s) pinned with threadpoolctl, best of {self.repeats};"
            " 2*n^3 FLOPs per call"
        )

    def as_dict(self) -> dict:
        return {
            **self._common_dict(),
            "isa": self.isa,
            "source": self.source,
        }


def kernel_gemm_unavailable_reason() -> str | None:
    """Why the kernels' packed GEMM cannot be measured here (not built, or the baseline path); None when it can."""
    try:
        # the compiled module, imported by its full name: mypy reads it as an untyped (stub-less) module
        import lstm_energy.kernels._vector_math_probe as probe
        from lstm_energy.kernels import isa
    except ImportError as err:
        return f"the Cython kernels are not built ({err}); build them with `pip install -e .`"
    if not probe.packed_gemm_available():
        return (
            f"the kernels run their {isa.current()} path, which has no packed GEMM (their float32 products go to"
            " the BLAS there)"
        )
    return None


def kernel_gemm_isa() -> str | None:
    """The kernels' path whose packed GEMM a measurement here would time ("avx2", "avx512"); None when none runs."""
    if kernel_gemm_unavailable_reason():
        return None
    from lstm_energy.kernels import isa

    return isa.current()


def kernel_build() -> str | None:
    """16 hex digits of SHA-256 over the compiled module whose packed GEMM ``measure_kernel_gemm`` times
    (``_vector_math_probe``, built from ``_packed_gemm.h``): a rebuilt kernel (new code, other compiler
    flags) gets another value, so figures cached for the old build are not taken for the new one. None when
    the kernels are not built."""
    import hashlib

    try:
        import lstm_energy.kernels._vector_math_probe as probe
    except ImportError:
        return None
    try:
        with open(probe.__file__, "rb") as compiled:
            return hashlib.sha256(compiled.read()).hexdigest()[:16]
    except (OSError, TypeError):
        return None


def _openmp_threads() -> int:
    """The OpenMP pool size threadpoolctl reports (the kernels' pool), else 1 when it sees no OpenMP runtime."""
    from threadpoolctl import threadpool_info

    pools = [e for e in threadpool_info() if e.get("user_api") == "openmp"]
    return int(pools[0].get("num_threads", 1)) if pools else 1


def measure_kernel_gemm(
    threads: int, n: int = DEFAULT_N, repeats: int = DEFAULT_REPEATS, seed: int = 0
) -> KernelGemmPeak:
    """Time ``repeats`` calls of C = A·B (n×n float32) on the kernels' packed GEMM with ``threads`` OpenMP threads.

    Raises MachineInfoError when that GEMM does not run here (see kernel_gemm_unavailable_reason).
    """
    import numpy as np
    from threadpoolctl import threadpool_limits

    if threads < 1 or n < 1 or repeats < 1:
        raise ConfigError(f"threads, n and repeats must be >= 1, got threads={threads}, n={n}, repeats={repeats}")
    reason = kernel_gemm_unavailable_reason()
    if reason:
        raise MachineInfoError(f"cannot measure the kernels' packed GEMM: {reason}")
    import lstm_energy.kernels._vector_math_probe as probe  # loaded first, so the limit reaches its OpenMP
    from lstm_energy.kernels import isa

    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.zeros((n, n), dtype=np.float32)
    seconds = []
    with threadpool_limits(limits=threads, user_api="openmp"):
        pinned = _openmp_threads()
        probe.gemm_large(a, b, c, False, False)  # warm-up: c[:] = a @ b
        for _ in range(repeats):
            start = time.perf_counter()
            probe.gemm_large(a, b, c, False, False)  # c[:] = a @ b
            seconds.append(time.perf_counter() - start)
    flop = 2.0 * n**3
    return KernelGemmPeak(
        threads=threads,
        threads_pinned=pinned,
        n=n,
        repeats=repeats,
        best_gflops=flop / min(seconds) / 1e9,
        median_gflops=flop / statistics.median(seconds) / 1e9,
        isa=isa.current(),
    )


def measure_kernel_peaks(
    thread_counts: list[int] | None = None, n: int = DEFAULT_N, repeats: int = DEFAULT_REPEATS
) -> list[KernelGemmPeak]:
    """The kernels' packed-GEMM GFLOP/s for each thread count (default 1..usable cores); [] when it does
    not run here (kernel_gemm_unavailable_reason says why)."""
    if kernel_gemm_unavailable_reason():
        return []
    counts = thread_counts or list(range(1, usable_cores() + 1))
    return [measure_kernel_gemm(t, n=n, repeats=repeats) for t in counts]
