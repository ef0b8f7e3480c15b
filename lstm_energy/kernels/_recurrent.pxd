# cython: language_level=3
"""The per-step recurrent products, one source for float32 and float64: h_prev @ W_hh.T (forward)
and dgates @ W_hh (backward).

float32 with at most ``SMALL_BATCH`` rows on a CPU with AVX2+FMA goes to the unpacked dot-product
kernel of ``_recurrent_gemm.h`` (no per-step repacking of W_hh); everything else goes to BLAS.
The AVX2 kernel is single-threaded, so with several BLAS threads those small per-step products
stay on one core (the input projection and the backward GEMMs still use every BLAS thread). It is
faster than OpenBLAS's sgemm for B <= 32 at H = 128..256 (1 thread); at B = 64, H = 512 (W_hh 4 MiB,
beyond L2) OpenBLAS is faster, so larger batches keep BLAS.
"""
from cython cimport floating

from lstm_energy.kernels._blas cimport gemm_ab, gemm_abt

cdef extern from "_recurrent_gemm.h" nogil:
    void gemm_abt_rows_avx2 "lstm_energy_gemm_abt_rows_avx2" (
        Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float* A, Py_ssize_t lda,
        const float* W, Py_ssize_t ldw, int accumulate, float* C, Py_ssize_t ldc)
    void gemm_ab_rows_avx2 "lstm_energy_gemm_ab_rows_avx2" (
        Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float* A, Py_ssize_t lda,
        const float* Bm, Py_ssize_t ldb, int accumulate, float* C, Py_ssize_t ldc)
    int recurrent_gemm_available "lstm_energy_recurrent_gemm_available" ()

cdef enum:
    SMALL_BATCH = 32    # largest B for which float32 uses the AVX2 kernel


cdef inline void recurrent_gemm_abt(int M, int N, int K, const floating* A, int lda,
                                    const floating* W, int ldw, bint accumulate,
                                    floating* C, int ldc) noexcept nogil:
    """Row-major C (M, N) = A (M, K) @ W (N, K).T (+ C when ``accumulate``)."""
    cdef floating one = 1, zero = 0
    if floating is float:
        if M <= SMALL_BATCH and recurrent_gemm_available():
            # NumPy: C[:] = A @ W.T (+ C)
            gemm_abt_rows_avx2(M, N, K, A, lda, W, ldw, accumulate, C, ldc)
            return
    # NumPy: C[:] = A @ W.T (+ C)
    gemm_abt(M, N, K, one, A, lda, W, ldw, one if accumulate else zero, C, ldc)


cdef inline void recurrent_gemm_ab(int M, int N, int K, const floating* A, int lda,
                                   const floating* Bm, int ldb, bint accumulate,
                                   floating* C, int ldc) noexcept nogil:
    """Row-major C (M, N) = A (M, K) @ Bm (K, N) (+ C when ``accumulate``)."""
    cdef floating one = 1, zero = 0
    if floating is float:
        if M <= SMALL_BATCH and recurrent_gemm_available():
            # NumPy: C[:] = A @ Bm (+ C)
            gemm_ab_rows_avx2(M, N, K, A, lda, Bm, ldb, accumulate, C, ldc)
            return
    # NumPy: C[:] = A @ Bm (+ C)
    gemm_ab(M, N, K, one, A, lda, Bm, ldb, one if accumulate else zero, C, ldc)
