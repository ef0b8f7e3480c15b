# cython: language_level=3
"""Row-major GEMM over ``scipy.linalg.cython_blas`` (sgemm/dgemm), one source for float32 and float64.

BLAS is column-major. A row-major (R, C) matrix with leading dimension ``ld`` is, to BLAS, the
column-major (C, R) transpose with the same ``ld``. So the row-major product C = op(A)·op(B) is the
column-major product Cᵀ = op(B)ᵀ·op(A)ᵀ: every helper below swaps the operands and m ↔ n
(the pattern of scikit-learn's ``_cython_blas._gemm`` for RowMajor).

Leading dimensions are in elements, not bytes, and are honoured, so a row-strided view (for example
``y[t]`` of a column slice ``a[:, :, d*H:(d+1)*H]``) can be an operand or the output without a copy.
``beta == 0`` overwrites C without reading it (BLAS semantics), so C may start uninitialised.
"""
from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm


cdef inline void _gemm_colmajor(char* trans_a, char* trans_b, int m, int n, int k, floating alpha,
                                const floating* a, int lda, const floating* b, int ldb,
                                floating beta, floating* c, int ldc) noexcept nogil:
    # Column-major C (m, n) = alpha · op(a) (m, k) · op(b) (k, n) + beta · C, as BLAS defines it.
    # Row-major, with a, b, C the NumPy views of the same memory (a column-major (r, c) matrix is the
    # row-major (c, r) one) and op(x) = x if trans_x == b'N' else x.T:
    if m <= 0 or n <= 0:
        return
    if floating is float:
        # NumPy: C[:] = alpha * op(b) @ op(a) + beta * C   (n, m)
        sgemm(trans_a, trans_b, &m, &n, &k, &alpha, <float*>a, &lda, <float*>b, &ldb,
              &beta, c, &ldc)
    else:
        # NumPy: C[:] = alpha * op(b) @ op(a) + beta * C   (n, m)
        dgemm(trans_a, trans_b, &m, &n, &k, &alpha, <double*>a, &lda, <double*>b, &ldb,
              &beta, c, &ldc)


cdef inline void gemm_abt(int M, int N, int K, floating alpha, const floating* A, int lda,
                          const floating* B, int ldb, floating beta, floating* C, int ldc) noexcept nogil:
    """Row-major C (M, N) = alpha · A (M, K) @ B (N, K).T + beta · C   (x @ W.T with a PyTorch weight)."""
    # NumPy: C[:] = alpha * A @ B.T + beta * C
    _gemm_colmajor(b'T', b'N', N, M, K, alpha, B, ldb, A, lda, beta, C, ldc)


cdef inline void gemm_ab(int M, int N, int K, floating alpha, const floating* A, int lda,
                         const floating* B, int ldb, floating beta, floating* C, int ldc) noexcept nogil:
    """Row-major C (M, N) = alpha · A (M, K) @ B (K, N) + beta · C   (dA @ W: gradient to the input)."""
    # NumPy: C[:] = alpha * A @ B + beta * C
    _gemm_colmajor(b'N', b'N', N, M, K, alpha, B, ldb, A, lda, beta, C, ldc)


cdef inline void gemm_atb(int M, int N, int K, floating alpha, const floating* A, int lda,
                          const floating* B, int ldb, floating beta, floating* C, int ldc) noexcept nogil:
    """Row-major C (M, N) = alpha · A (K, M).T @ B (K, N) + beta · C   (dA.T @ X: weight gradient)."""
    # NumPy: C[:] = alpha * A.T @ B + beta * C
    _gemm_colmajor(b'N', b'T', N, M, K, alpha, B, ldb, A, lda, beta, C, ldc)
