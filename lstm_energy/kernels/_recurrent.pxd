# cython: language_level=3
"""The per-step recurrent products, one source for float32 and float64: h_prev @ W_hh.T (forward)
and dgates @ W_hh (backward).

float32 on a CPU with AVX2+FMA packs W_hh once per call into the workspace's ``w_hh_panels``
(``pack_weight``) and runs every step on that packed copy (``_packed_gemm.h``): no
per-step repacking, and OpenMP threads over the panels when the product is large enough.
Everything else (float64, other CPUs) goes to BLAS, which repacks W_hh on every step.
"""
from cython cimport floating

from lstm_energy.kernels._blas cimport gemm_ab, gemm_abt
from lstm_energy.kernels._checks cimport expect_shape

cdef extern from "_packed_gemm.h" nogil:
    void pack_panels "lstm_energy_pack_panels" (
        Py_ssize_t K, Py_ssize_t N, const float* src, Py_ssize_t sk, Py_ssize_t sn, float* panels)
    void gemm_packed "lstm_energy_gemm_packed" (
        Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float* A, Py_ssize_t lda,
        const float* panels, int accumulate, float* C, Py_ssize_t ldc)
    int packed_gemm_available "lstm_energy_packed_gemm_available" ()
    enum: PANEL_WIDTH "LE_NR"


cdef inline int expect_panels(str function, str name, Py_ssize_t* shape, Py_ssize_t K,
                              Py_ssize_t N) except -1:
    """Raise ShapeError unless the packed-weight buffer has shape (ceil(N / 16), K, 16)."""
    return expect_shape(function, name, shape, 3, (N + PANEL_WIDTH - 1) // PANEL_WIDTH, K,
                        PANEL_WIDTH)


cdef inline floating* pack_weight(const floating* w, Py_ssize_t rows, Py_ssize_t cols,
                                  bint transpose, floating* panels, bint packed_already=False) noexcept nogil:
    """Pack a weight W (rows, cols), C-contiguous, into 16-column panels and return ``panels``, or
    return NULL when the packed kernels do not apply (float64, or no AVX2+FMA): then the products
    use BLAS.

    transpose: True packs Bmat = W.T (K = cols: the forward's W_hh and W_ih), False Bmat = W
    (K = rows: the backward's W_hh). panels: the workspace's ``w_hh_panels`` / ``w_ih_panels``
    (``workspaces.packed_weight_shape(K, N)``, checked by ``expect_panels``). packed_already: the
    caller vouches that ``panels`` holds W packed this way (an earlier call with the same weights;
    the layout is the same on every instruction-set path): return it without packing again.
    """
    if floating is float:
        if packed_gemm_available():
            if packed_already:
                return panels
            if transpose:
                # NumPy: panels[p] = W.T[:, 16p:16p+16]   (zero-padded past the last row of W)
                pack_panels(cols, rows, w, 1, cols, panels)
            else:
                # NumPy: panels[p] = W[:, 16p:16p+16]   (zero-padded past the last column)
                pack_panels(rows, cols, w, cols, 1, panels)
            return panels
    return NULL


cdef inline void recurrent_gemm_abt(int M, int N, int K, const floating* A, int lda,
                                    const floating* W, int ldw, const floating* panels,
                                    bint accumulate, floating* C, int ldc) noexcept nogil:
    """Row-major C (M, N) = A (M, K) @ W (N, K).T (+ C when ``accumulate``); ``panels`` is W packed
    by pack_weight(..., transpose=True), or NULL for BLAS."""
    cdef floating one = 1, zero = 0
    if floating is float:
        if panels != NULL:
            # NumPy: C[:] = A @ W.T (+ C)
            gemm_packed(M, N, K, A, lda, panels, accumulate, C, ldc)
            return
    # NumPy: C[:] = A @ W.T (+ C)
    gemm_abt(M, N, K, one, A, lda, W, ldw, one if accumulate else zero, C, ldc)


cdef inline void recurrent_gemm_ab(int M, int N, int K, const floating* A, int lda,
                                   const floating* Bm, int ldb, const floating* panels,
                                   bint accumulate, floating* C, int ldc) noexcept nogil:
    """Row-major C (M, N) = A (M, K) @ Bm (K, N) (+ C when ``accumulate``); ``panels`` is Bm packed
    by pack_weight(..., transpose=False), or NULL for BLAS."""
    cdef floating one = 1, zero = 0
    if floating is float:
        if panels != NULL:
            # NumPy: C[:] = A @ Bm (+ C)
            gemm_packed(M, N, K, A, lda, panels, accumulate, C, ldc)
            return
    # NumPy: C[:] = A @ Bm (+ C)
    gemm_ab(M, N, K, one, A, lda, Bm, ldb, one if accumulate else zero, C, ldc)
