# cython: language_level=3
"""Work over a whole (T, B, ·) sequence that every cell shares: the batched weight-gradient GEMM over
all time steps, bias-gradient column sums, and the bookkeeping for row-strided (T, B, H) views.

A "sequence view" is a base pointer plus two element strides: ``step`` between time steps and
``row`` between batch rows (unit stride inside a row). ``y``/``dy`` column slices of a
(T, B, dirs*H) array have step == B*row, so all T·B rows are evenly spaced and one GEMM can take
them as a (T*B, H) matrix with leading dimension ``row``.
"""
from cython cimport floating

from lstm_energy.kernels._gemm cimport matmul_atb


cdef inline Py_ssize_t batch_ld(Py_ssize_t B, Py_ssize_t H, Py_ssize_t row) noexcept nogil:
    """Leading dimension of one step's (B, H) block: ``row``, or H when B == 1 (any ld >= H works
    for a single row, and a size-1 axis may carry an arbitrary stride)."""
    return row if B > 1 else H


cdef inline Py_ssize_t flat_ld(Py_ssize_t T, Py_ssize_t B, Py_ssize_t H,
                               Py_ssize_t step, Py_ssize_t row) noexcept nogil:
    """Leading dimension that lets T consecutive steps of a sequence view be one (T*B, H) matrix,
    or -1 when the rows are not evenly spaced (then the caller loops over steps)."""
    cdef Py_ssize_t ld
    if T == 1:
        ld = batch_ld(B, H, row)
    elif B == 1:
        ld = step
    elif step == B * row:
        ld = row
    else:
        return -1
    return ld if ld >= H else -1


cdef inline Py_ssize_t previous_step(Py_ssize_t t, bint reverse) noexcept nogil:
    """The step whose state feeds step t (forward order t-1, reverse order t+1)."""
    return t + 1 if reverse else t - 1


cdef inline void recurrent_weight_grad(Py_ssize_t T, Py_ssize_t B, Py_ssize_t GH, Py_ssize_t H,
                                       const floating* dgates, const floating* h0,
                                       const floating* y, Py_ssize_t y_step, Py_ssize_t y_row,
                                       bint reverse, floating* scratch,
                                       floating* dw_hh) noexcept nogil:
    """dw_hh (GH, H) = Σ_t dgates[t].T @ h_prev(t), overwritten.

    dgates: (T, B, GH) C-contiguous; h0: (B, H) C-contiguous; y: the (T, B, H) outputs as a sequence
    view; scratch: the backward workspace's ``gemm_panels``. h_prev(t) is h0 for the first step of
    the recurrence and y[previous_step(t)] otherwise, so the T-1 pairs (dgates[t], y[t∓1]) form
    two evenly offset row blocks: one GEMM over (T-1)·B rows plus one over the B rows of h0.
    """
    cdef Py_ssize_t first = T - 1 if reverse else 0
    cdef Py_ssize_t k, ld
    cdef const floating* d_rest
    cdef const floating* h_rest
    # dw_hh = dgates[first].T @ h0   (GH, H)
    matmul_atb(<int>GH, <int>H, <int>B, dgates + first * B * GH, <int>GH, h0, <int>H, scratch,
               False, dw_hh, <int>H)
    if T == 1:
        return
    if reverse:
        d_rest = dgates                 # steps 0 .. T-2 ...
        h_rest = y + y_step             # ... are fed by y[1 .. T-1]
    else:
        d_rest = dgates + B * GH        # steps 1 .. T-1 ...
        h_rest = y                      # ... are fed by y[0 .. T-2]
    ld = flat_ld(T - 1, B, H, y_step, y_row)
    if ld >= 0:
        # dw_hh += d_rest.T @ h_rest   (GH, H), K = (T-1)·B rows
        matmul_atb(<int>GH, <int>H, <int>((T - 1) * B), d_rest, <int>GH, h_rest, <int>ld, scratch,
                   True, dw_hh, <int>H)
    else:
        for k in range(T - 1):
            # dw_hh += d_rest[k].T @ h_rest[k]   (GH, H), rows not evenly spaced: one step at a time
            matmul_atb(<int>GH, <int>H, <int>B, d_rest + k * B * GH, <int>GH, h_rest + k * y_step,
                       <int>batch_ld(B, H, y_row), scratch, True, dw_hh, <int>H)


cdef inline void column_sums(const floating* a, Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t lda,
                             floating* out) noexcept nogil:
    """out (cols,) = a.sum(axis=0) for a (rows, cols) with leading dimension lda (bias gradients)."""
    cdef Py_ssize_t r, j
    cdef const floating* a_row
    for j in range(cols):
        out[j] = 0
    for r in range(rows):
        a_row = a + r * lda
        for j in range(cols):
            out[j] += a_row[j]


cdef inline void copy_rows(const floating* src, Py_ssize_t src_ld, floating* dst, Py_ssize_t dst_ld,
                           Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """dst[:rows, :cols] = src[:rows, :cols] for row-major blocks with the given leading dimensions."""
    cdef Py_ssize_t r, j
    for r in range(rows):
        for j in range(cols):
            dst[r * dst_ld + j] = src[r * src_ld + j]
