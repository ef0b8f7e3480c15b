# cython: language_level=3
"""The kernels' GEMMs over all T·B rows (input projection, dX, dW_ih, dW_hh), one source for float32
and float64, row-major like ``_blas.pxd``.

float32 on a CPU with AVX2+FMA runs the input projection (x @ W_ih.T, against W_ih.T packed once
per call) and the weight gradients (dA.T @ X) on the kernels' own packed GEMM (``_packed_gemm.h``)
whatever the thread count: for these it is at least as fast as OpenBLAS even on one thread (it
packs the long transposed dA reading each source line once, ``lstm_energy_pack_a``). dA @ W runs
on it with more than one OpenMP thread, so that a call uses one thread pool (the kernels' OpenMP
pool) for every product, per-step ones included, instead of two pools competing for the cores;
and on one thread when dA's rows are short enough to be read in place (at most
``LE_INPLACE_MAX_LDA`` floats: an RNN's H columns, a GRU's candidate part), where it beats
OpenBLAS. A wide dA (an LSTM's 4H columns, a GRU's 2H of 3H) stays on OpenBLAS on one thread:
the own GEMM has to repack it first, and is then level with OpenBLAS at best. float64 and other
CPUs use BLAS (``_blas.pxd``). The A/B timings behind these choices are in
``docs/kernels-performance.md`` ("Measurement notes moved from the kernel sources" and "Taken: dX on
the own GEMM on one thread when dA is read in place").
"""
from cython cimport floating

from lstm_energy.kernels._blas cimport gemm_ab, gemm_abt, gemm_atb

cdef extern from "_packed_gemm.h" nogil:
    void own_gemm "lstm_energy_gemm" (
        Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float* A, Py_ssize_t a_rs, Py_ssize_t a_ks,
        const float* B, Py_ssize_t ldb, float* b_scratch, int accumulate, float* C, Py_ssize_t ldc)
    bint own_gemm_available "lstm_energy_packed_gemm_available" ()
    int gemm_threads "lstm_energy_gemm_threads" ()
    enum: GEMM_K_CHUNK "LE_KC"
    enum: INPLACE_MAX_LDA "LE_INPLACE_MAX_LDA"


cdef inline bint own_large_gemm(int lda) noexcept nogil:
    """True when dA @ W (float32, dA's row stride lda) runs on the kernels' own GEMM (see the
    module docstring)."""
    return own_gemm_available() and (gemm_threads() > 1 or lda <= INPLACE_MAX_LDA)


cdef inline void matmul_abt(int M, int N, int K, const floating* A, int lda, const floating* W,
                            int ldw, const floating* w_panels, bint accumulate, floating* C,
                            int ldc) noexcept nogil:
    """Row-major C (M, N) = A (M, K) @ W (N, K).T (+ C when ``accumulate``): x @ W_ih.T.
    w_panels: W.T packed by _recurrent.pack_weight(W, N, K, True, ...), or NULL (BLAS: float64 or
    no AVX2+FMA, where pack_weight returns NULL)."""
    cdef floating one = 1, zero = 0
    if floating is float:
        if w_panels != NULL:
            # NumPy: C[:] = A @ W.T (+ C)
            own_gemm(M, N, K, A, lda, 1, w_panels, 0, NULL, accumulate, C, ldc)
            return
    # NumPy: C[:] = A @ W.T (+ C)
    gemm_abt(M, N, K, one, A, lda, W, ldw, one if accumulate else zero, C, ldc)


cdef inline void matmul_ab(int M, int N, int K, const floating* A, int lda, const floating* Bm,
                           int ldb, floating* scratch, bint accumulate, floating* C,
                           int ldc) noexcept nogil:
    """Row-major C (M, N) = A (M, K) @ Bm (K, N) (+ C when ``accumulate``): dA @ W.
    scratch: the backward workspace's ``gemm_panels`` (one k chunk of Bm, packed)."""
    cdef floating one = 1, zero = 0
    if floating is float:
        if own_large_gemm(lda):
            # NumPy: C[:] = A @ Bm (+ C)
            own_gemm(M, N, K, A, lda, 1, Bm, ldb, scratch, accumulate, C, ldc)
            return
    # NumPy: C[:] = A @ Bm (+ C)
    gemm_ab(M, N, K, one, A, lda, Bm, ldb, one if accumulate else zero, C, ldc)


cdef inline void matmul_atb(int M, int N, int K, const floating* A, int lda, const floating* Bm,
                            int ldb, floating* scratch, bint accumulate, floating* C,
                            int ldc) noexcept nogil:
    """Row-major C (M, N) = A (K, M).T @ Bm (K, N) (+ C when ``accumulate``): dA.T @ X, on the own
    GEMM whatever the thread count (see the module docstring). scratch: the backward workspace's
    ``gemm_panels`` (one k chunk of Bm, packed)."""
    cdef floating one = 1, zero = 0
    if floating is float:
        if own_gemm_available():
            # NumPy: C[:] = A.T @ Bm (+ C)
            own_gemm(M, N, K, A, 1, lda, Bm, ldb, scratch, accumulate, C, ldc)
            return
    # NumPy: C[:] = A.T @ Bm (+ C)
    gemm_atb(M, N, K, one, A, lda, Bm, ldb, one if accumulate else zero, C, ldc)
