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
from lstm_energy.kernels._gemm cimport matmul_abt
from lstm_energy.kernels._checks cimport expect_shape
from lstm_energy.kernels._isa cimport LE_ISA_AVX2, LE_ISA_AVX512

cdef extern from "_packed_gemm.h" nogil:
    void pack_panels "lstm_energy_pack_panels" (
        Py_ssize_t K, Py_ssize_t N, const float* src, Py_ssize_t sk, Py_ssize_t sn, float* panels)
    void gemm_packed "lstm_energy_gemm_packed" (
        Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float* A, Py_ssize_t lda,
        const float* panels, int accumulate, float* C, Py_ssize_t ldc)
    int packed_gemm_available "lstm_energy_packed_gemm_available" ()
    enum: PANEL_WIDTH "LE_NR"

cdef extern from "_step_ahead.h" nogil:
    int steps_project_ahead "lstm_energy_steps_project_ahead" (Py_ssize_t B)
    void row_step_with_block "lstm_energy_row_step_with_block" (
        Py_ssize_t N, Py_ssize_t K, const float* h, const float* panels, int accumulate, float* c,
        Py_ssize_t Nx, Py_ssize_t Kx, const float* X, Py_ssize_t ldx, const float* x_panels,
        Py_ssize_t q0, Py_ssize_t q1, float* P, Py_ssize_t ldp)
    enum: AHEAD_ROWS "LE_AHEAD_ROWS"


cdef inline int expect_panels(str function, str name, Py_ssize_t* shape, Py_ssize_t K,
                              Py_ssize_t N) except -1:
    """Raise ShapeError unless the packed-weight buffer has shape (ceil(N / 16), K, 16)."""
    return expect_shape(function, name, shape, 3, (N + PANEL_WIDTH - 1) // PANEL_WIDTH, K,
                        PANEL_WIDTH)


cdef inline floating* pack_weight(const floating* w, Py_ssize_t rows, Py_ssize_t cols,
                                  bint transpose, floating* panels, int level,
                                  bint packed_already=False) noexcept nogil:
    """Pack a weight W (rows, cols), C-contiguous, into 16-column panels and return ``panels``, or
    return NULL when the packed kernels do not apply (float64, or the call's path ``level`` is the
    baseline): then the products use BLAS.

    transpose: True packs Bmat = W.T (K = cols: the forward's W_hh and W_ih), False Bmat = W
    (K = rows: the backward's W_hh). panels: the workspace's ``w_hh_panels`` / ``w_ih_panels``
    (``workspaces.packed_weight_shape(K, N)``, checked by ``expect_panels``). level: the
    instruction-set path the call decided on once, at its start (``lstm_energy_isa_for_call``), never
    re-read here: a set_isa from another thread cannot make a call skip packing that its caller
    counts on. packed_already: the caller vouches that ``panels`` holds W packed this way (an earlier
    call with the same weights that returned non-NULL; the layout is the same on every packed path):
    return it without packing again.
    """
    if floating is float:
        if level >= LE_ISA_AVX2:
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


cdef inline Py_ssize_t ahead_first_steps(Py_ssize_t T) noexcept nogil:
    """Steps whose input projection runs before the loop when the steps project ahead: the first
    block, 2..AHEAD_ROWS steps (what T leaves over after whole blocks), or AHEAD_ROWS + 1 where
    that would be a single row (T = 9, 17, ...: the one-row kernel sums in another order than the
    block kernel, and the results would not be the same bits as the unfused projection's); T = 1
    is the one step. Every later block of AHEAD_ROWS steps is projected by the block before it, an
    equal share per step."""
    cdef Py_ssize_t left = T - (T - 1) // AHEAD_ROWS * AHEAD_ROWS
    return left + AHEAD_ROWS if left == 1 and T > 1 else left


cdef inline bint project_ahead(Py_ssize_t B, const floating* panels,
                               const floating* ih_panels, int level) noexcept nogil:
    """True when a forward of batch B runs its steps with the input projection folded in
    (``step_projecting_ahead``): float32 with both weights packed, B = 1, the AVX-512 path (the call's
    ``level`` and the current choice) and one OpenMP thread (``_step_ahead.h`` says why)."""
    cdef bint ahead = False
    if floating is float:
        ahead = (panels != NULL and ih_panels != NULL and level == LE_ISA_AVX512
                 and steps_project_ahead(B) != 0)
    return ahead


cdef inline void project_before_loop(bint ahead, Py_ssize_t T, Py_ssize_t B, Py_ssize_t N,
                                     Py_ssize_t D, bint reverse, const floating* x,
                                     const floating* w_ih, const floating* ih_panels,
                                     floating* gates, Py_ssize_t gates_ld) noexcept nogil:
    """gates[t] = x[t] @ W_ih.T for every step, or, when the steps project ahead (``ahead``, B = 1),
    for the first ``ahead_first_steps(T)`` steps in the loop's order (t = 0.. forward, T-1..
    reverse). x: (T, B, D); W_ih: (N, D), packed in ``ih_panels`` (or NULL: BLAS); gates: (T*B, N),
    row stride gates_ld."""
    cdef Py_ssize_t rows = ahead_first_steps(T) if ahead else T * B
    cdef Py_ssize_t row0 = T - rows if ahead and reverse else 0
    # NumPy: gates[row0:row0+rows] = x[row0:row0+rows] @ w_ih.T
    matmul_abt(<int>rows, <int>N, <int>D, x + row0 * D, <int>D, w_ih, <int>D, ih_panels, False,
               gates + row0 * gates_ld, <int>gates_ld)


cdef inline void step_projecting_ahead(Py_ssize_t s, Py_ssize_t T, bint reverse, Py_ssize_t N,
                                       Py_ssize_t K, const floating* h_prev,
                                       const floating* panels, Py_ssize_t D, const floating* x,
                                       const floating* ih_panels, floating* gates,
                                       Py_ssize_t gates_ld, floating* step_out,
                                       bint accumulate) noexcept nogil:
    """Step s of a B = 1 forward: step_out (N,) (+)= h_prev (K,) @ W_hh.T, with this step's share of
    the next block's input projection, gates[t] = x[t] @ W_ih.T for the AHEAD_ROWS steps t of the
    block after s's (none after the last block). x: (T, D); gates: (T, N), row stride gates_ld;
    ``panels`` and ``ih_panels``: W_hh.T and W_ih.T packed (float32 only: ``project_ahead``);
    step_out must not lie in the next block's rows."""
    # before the loop: the first block, its `first` steps (ahead_first_steps); step s = i of it projects
    # the i-th of `first` shares of the panels of the block [first, first + 8); from then on step
    # s = b + i of the block [b, b + 8) projects the i-th eighth of the panels of [b + 8, b + 16)
    cdef Py_ssize_t first = ahead_first_steps(T)
    cdef Py_ssize_t i = s if s < first else (s - first) % AHEAD_ROWS
    cdef Py_ssize_t shares = first if s < first else AHEAD_ROWS
    cdef Py_ssize_t block_start = s - i + shares, row0, n_panels
    if floating is float:
        if block_start >= T:   # the last block: nothing to project
            # NumPy: step_out[:] (+)= h_prev @ w_hh.T
            gemm_packed(1, N, K, h_prev, K, panels, accumulate, step_out, N)
        else:
            row0 = T - block_start - AHEAD_ROWS if reverse else block_start
            n_panels = (N + PANEL_WIDTH - 1) // PANEL_WIDTH
            # NumPy: step_out[:] (+)= h_prev @ w_hh.T;
            #        gates[row0:row0+8, 16q0:16q1] = x[row0:row0+8] @ w_ih.T[:, 16q0:16q1]
            row_step_with_block(N, K, h_prev, panels, accumulate, step_out, N, D, x + row0 * D, D,
                                ih_panels, i * n_panels // shares, (i + 1) * n_panels // shares,
                                gates + row0 * gates_ld, gates_ld)
