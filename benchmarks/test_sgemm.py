"""The BLAS ceiling: a square sgemm through scipy.linalg.blas, at every thread count of the grid.

Measured twice, before the peers ("-first", moved there by conftest.py) and after them ("-last");
ratios.py keeps the faster. scipy's OpenBLAS is the library the Cython kernels call (scipy.linalg.cython_blas), so
achieved GFLOP/s of a layer ÷ these GFLOP/s is the GEMM efficiency ratios.py reports.
"""

import numpy as np
import pytest
from scipy.linalg import blas


@pytest.fixture
def sgemm_operands(sgemm_size):
    """a, b, c: (n, n) float32, Fortran order, so the f2py wrapper passes them to BLAS without copies."""
    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.standard_normal((sgemm_size, sgemm_size), dtype=np.float32))
    b = np.asfortranarray(rng.standard_normal((sgemm_size, sgemm_size), dtype=np.float32))
    c = np.zeros((sgemm_size, sgemm_size), dtype=np.float32, order="F")
    return a, b, c


def test_sgemm(sgemm_threads, sgemm_size, sgemm_operands, pinned_threads, timer):
    """Time c = a·b (n³ multiply-adds = 2n³ FLOPs) with the threads pinned."""
    a, b, c = sgemm_operands

    def run():
        # NumPy equivalent: c[...] = a @ b  (in place: overwrite_c with a Fortran-order c, no copy)
        return blas.sgemm(1.0, a, b, beta=0.0, c=c, overwrite_c=True)

    out = run()
    assert out is c or np.shares_memory(out, c), "sgemm copied c: the timing would include a copy"
    np.testing.assert_allclose(c[:4, :4], a[:4] @ b[:, :4], rtol=1e-3, atol=1e-2)

    flops = 2 * sgemm_size**3
    timer.describe(
        group=f"sgemm-{sgemm_threads}t", batch=1, flops=flops, bytes=3 * 4 * sgemm_size**2, threads=sgemm_threads
    )
    timer.extra_info.update(
        kind="sgemm",
        n=sgemm_size,
        threads=sgemm_threads,
        gemm_flops=flops,
        gemm_flops_source="formula 2*n^3",
        blas="scipy.linalg.blas.sgemm",
        blas_threads=list(pinned_threads.blas),
    )
    timer(run)
