# cython: language_level=3
"""Elman RNN forward and backward through time, one layer and one direction (see the engine contract
in ``lstm_energy.kernels``)::

    h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)        act = tanh, or relu when ``relu``

Forward: the input GEMM over all T·B rows writes straight into ``y`` (honouring its row stride; one
GEMM when the rows are evenly spaced, one per step otherwise); per step the recurrent GEMM
accumulates into y[t] (beta = 1) and one elementwise pass adds ``ws["bias"] = b_ih + b_hh`` and
applies the activation in place. Nothing is saved: the backward needs only h = y.

Backward: per step one elementwise pass da = (dy + dh) ⊙ act'(h) into ``bws["dgates"]`` and the one
GEMM dh_prev = da @ W_hh; after the loop dX, dW_ih and dW_hh are single GEMMs over all T·B rows and
db_ih = db_hh = column sums of da.
"""
from cython cimport floating

# relu as relu_: the kernels' ``relu`` flag argument would shadow the function's name
from lstm_energy.kernels._activations cimport (relu as relu_, relu_grad_from_output, tanh_,
                                               tanh_grad_from_output)
from lstm_energy.kernels._vector_math cimport tanh_bias_f32
from lstm_energy.kernels._cell_rows cimport rnn_tanh_grad_f32
from lstm_energy.kernels._recurrent cimport (expect_panels, pack_weight, project_ahead,
                                             project_before_loop, recurrent_gemm_ab,
                                             recurrent_gemm_abt, step_projecting_ahead)
from lstm_energy.kernels._gemm cimport GEMM_K_CHUNK, matmul_ab, matmul_abt, matmul_atb
from cython.parallel cimport prange

from lstm_energy.kernels._cell_threads cimport cell_threads, part_start
from lstm_energy.kernels._checks cimport element_row_stride, expect_positive, expect_shape
from lstm_energy.kernels._over_time cimport (batch_ld, column_sums, copy_rows, flat_ld,
                                             previous_step, recurrent_weight_grad)
from lstm_energy.kernels._isa cimport bind_isa, lstm_energy_isa_for_call

from lstm_energy.errors import ConfigError

bind_isa()   # the C headers follow the _isa module's path choice (LSTM_ENERGY_ISA, set_isa)


cdef inline void rnn_cell_forward(Py_ssize_t b0, Py_ssize_t b1, Py_ssize_t H, floating* h,
                                  Py_ssize_t h_ld, const floating* bias, bint use_relu) noexcept nogil:
    """One step's activation on batch rows [b0, b1) (a part of the step, see _cell_threads).

    h: (B, H) the whole step, IN pre-activation without bias, OUT act(h + bias), row stride h_ld;
    bias: (H,)."""
    cdef Py_ssize_t b, j
    cdef floating* row
    for b in range(b0, b1):
        row = h + b * h_ld
        if use_relu:
            for j in range(H):
                row[j] = relu_(row[j] + bias[j])
        elif floating is float:
            tanh_bias_f32(row, bias, H)      # vectorised float32 tanh (_vector_math.h)
        else:
            for j in range(H):
                row[j] = tanh_(row[j] + bias[j])


cdef inline void rnn_cell_backward(Py_ssize_t b0, Py_ssize_t b1, Py_ssize_t H, const floating* h,
                                   Py_ssize_t h_ld, const floating* dy, Py_ssize_t dy_ld,
                                   const floating* dh, floating* dgates, bint use_relu) noexcept nogil:
    """One step's gradient on batch rows [b0, b1) (a part of the step, see _cell_threads).

    Every pointer is the whole step's. h: (B, H) IN this step's output, row stride h_ld; dy: (B, H)
    IN, row stride dy_ld; dh: (B, H) IN recurrent gradient w.r.t. h; dgates: (B, H) OUT
    pre-activation gradient."""
    cdef Py_ssize_t b, j
    cdef const floating* h_row
    cdef const floating* dy_row
    cdef floating* da
    for b in range(b0, b1):
        h_row = h + b * h_ld
        dy_row = dy + b * dy_ld
        da = dgates + b * H
        if use_relu:
            for j in range(H):
                da[j] = relu_grad_from_output(h_row[j], dy_row[j] + dh[b * H + j])
        elif floating is float:
            rnn_tanh_grad_f32(h_row, dy_row, dh + b * H, da, H)     # vectorised (_cell_rows.h)
        else:
            for j in range(H):
                da[j] = (dy_row[j] + dh[b * H + j]) * tanh_grad_from_output(h_row[j])


def rnn_forward(const floating[:, :, ::1] x,    # IN  (T, B, D)
                const floating[:, ::1] w_ih,    # IN  (H, D)
                const floating[:, ::1] w_hh,    # IN  (H, H)
                const floating[::1] b_ih,       # IN  (H,)
                const floating[::1] b_hh,       # IN  (H,)
                const floating[:, ::1] h0,      # IN  (B, H)
                floating[:, :, :] y,            # OUT (T, B, H), rows may be strided
                floating[:, ::1] h_n,           # OUT (B, H)
                dict ws,                        # IN/OUT workspace_shapes("rnn", "forward", ...)
                bint training,                  # IN  (nothing extra to keep: backward reads y)
                bint reverse,                   # IN  run t = T-1 .. 0
                bint relu,                      # IN  relu instead of tanh
                bint weights_packed=False,      # IN  ws's panels hold W_ih.T, W_hh.T already
                int isa=-1):                    # IN  path (LE_ISA_*) sampled by the caller; -1: now
    """Elman RNN forward for one layer and direction; see the module and package docstrings."""
    cdef Py_ssize_t T = x.shape[0], B = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef str fn = "rnn_forward"
    expect_positive(fn, T, B, D, H, 1)
    expect_shape(fn, "w_ih", w_ih.shape, 2, H, D, 0)
    expect_shape(fn, "w_hh", w_hh.shape, 2, H, H, 0)
    expect_shape(fn, "b_ih", b_ih.shape, 1, H, 0, 0)
    expect_shape(fn, "b_hh", b_hh.shape, 1, H, 0, 0)
    expect_shape(fn, "h0", h0.shape, 2, B, H, 0)
    expect_shape(fn, "y", y.shape, 3, T, B, H)
    expect_shape(fn, "h_n", h_n.shape, 2, B, H, 0)
    cdef floating[::1] bias = ws["bias"]
    expect_shape(fn, "ws['bias']", bias.shape, 1, H, 0, 0)
    cdef floating[:, :, ::1] w_panels = ws["w_hh_panels"]
    expect_panels(fn, "ws['w_hh_panels']", w_panels.shape, H, H)
    cdef floating[:, :, ::1] ih_store = ws["w_ih_panels"]
    expect_panels(fn, "ws['w_ih_panels']", ih_store.shape, D, H)
    cdef floating* ih_panels = NULL      # W_ih.T packed for the input projection, or NULL: BLAS
    cdef floating* panels = NULL         # W_hh.T packed once for every step, or NULL: BLAS
    cdef Py_ssize_t y_step = 0
    cdef Py_ssize_t y_row = element_row_stride(fn, "y", y.strides, sizeof(floating), &y_step)
    cdef Py_ssize_t y_ld = batch_ld(B, H, y_row)
    cdef Py_ssize_t y_flat_ld = flat_ld(T, B, H, y_step, y_row)
    cdef floating* y_base = &y[0, 0, 0]
    cdef const floating* x_base = &x[0, 0, 0]
    cdef const floating* h_prev
    cdef const floating* bias_base = &bias[0]
    cdef floating* y_t                 # (B, H) this step's output, row stride y_ld
    cdef Py_ssize_t h_prev_ld, s, t, j, part
    cdef int nt
    cdef bint ahead                    # B = 1: the steps project the input ahead (_recurrent.pxd)

    if not -1 <= isa <= 2:
        raise ConfigError(f"{fn}: isa={isa} is not a kernel path level: pass -1 (the current path) or "
                          "lstm_energy.kernels.isa.current_level() (0 baseline, 1 avx2, 2 avx512)")
    cdef int level = lstm_energy_isa_for_call(isa)   # the one read of the path this call decides by

    with nogil:
        for j in range(H):
            bias[j] = b_ih[j] + b_hh[j]
        panels = pack_weight(&w_hh[0, 0], H, H, True, &w_panels[0, 0, 0], level, weights_packed)
        ih_panels = pack_weight(&w_ih[0, 0], H, D, True, &ih_store[0, 0, 0], level, weights_packed)
        ahead = y_flat_ld >= 0 and project_ahead(B, panels, ih_panels, level)   # B = 1: project ahead
        if y_flat_ld >= 0:
            # y = x @ w_ih.T   (T*B, H): the input projection of every step (or the first ones), into y
            project_before_loop(ahead, T, B, H, D, reverse, x_base, &w_ih[0, 0], ih_panels, y_base,
                                y_flat_ld)
        else:
            for t in range(T):
                # y[t] = x[t] @ w_ih.T   (B, H): y's steps are not evenly spaced
                matmul_abt(<int>B, <int>H, <int>D, x_base + t * B * D, <int>D, &w_ih[0, 0], <int>D,
                           ih_panels, False, y_base + t * y_step, <int>y_ld)
        for s in range(T):
            t = T - 1 - s if reverse else s
            if s == 0:
                h_prev = &h0[0, 0]
                h_prev_ld = H
            else:
                h_prev = y_base + previous_step(t, reverse) * y_step
                h_prev_ld = y_ld
            if ahead:
                # y[t] += h_prev @ w_hh.T   (1, H), and a share of the next block's x @ w_ih.T
                step_projecting_ahead(s, T, reverse, H, H, h_prev, panels, D, x_base, ih_panels, y_base,
                                      y_flat_ld, y_base + t * y_step, True)
            else:
                # y[t] += h_prev @ w_hh.T   (B, H)
                recurrent_gemm_abt(<int>B, <int>H, <int>H, h_prev, <int>h_prev_ld, &w_hh[0, 0], <int>H,
                                   panels, True, y_base + t * y_step, <int>y_ld)
            y_t = y_base + t * y_step
            nt = cell_threads(B, B * H)
            if nt > 1:   # rows split over the pool, as the step's product was
                for part in prange(nt, num_threads=nt, schedule="static"):
                    rnn_cell_forward(part_start(B, part, nt), part_start(B, part + 1, nt), H, y_t, y_ld,
                                     bias_base, relu)
            else:
                rnn_cell_forward(0, B, H, y_t, y_ld, bias_base, relu)
        t = 0 if reverse else T - 1
        copy_rows(y_base + t * y_step, y_ld, &h_n[0, 0], H, B, H)
    return panels != NULL and ih_panels != NULL   # the panels hold W_hh.T and W_ih.T now


def rnn_backward(const floating[:, :, ::1] x,     # IN  (T, B, D)
                 const floating[:, ::1] w_ih,     # IN  (H, D)
                 const floating[:, ::1] w_hh,     # IN  (H, H)
                 const floating[::1] b_ih,        # IN  (H,) (unused)
                 const floating[::1] b_hh,        # IN  (H,) (unused)
                 const floating[:, ::1] h0,       # IN  (B, H)
                 const floating[:, :, :] y,       # IN  (T, B, H) forward output, rows may be strided
                 dict ws,                         # IN  forward workspace (nothing in it is read)
                 const floating[:, :, :] dy,      # IN  (T, B, H), rows may be strided
                 const floating[:, ::1] dh_n,     # IN  (B, H)
                 floating[:, :, ::1] dx,          # OUT (T, B, D), += when accumulate_dx
                 floating[:, ::1] dw_ih,          # OUT (H, D)
                 floating[:, ::1] dw_hh,          # OUT (H, H)
                 floating[::1] db_ih,             # OUT (H,)
                 floating[::1] db_hh,             # OUT (H,)
                 floating[:, ::1] dh0,            # OUT (B, H)
                 dict bws,                        # scratch: workspace_shapes("rnn", "backward", ...)
                 bint accumulate_dx,              # IN  dx += ... instead of dx = ...
                 bint reverse,                    # IN  the forward ran t = T-1 .. 0
                 bint relu):                      # IN  relu instead of tanh
    """Elman RNN backward through time for one layer and direction; see the module docstring."""
    cdef Py_ssize_t T = x.shape[0], B = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef str fn = "rnn_backward"
    expect_positive(fn, T, B, D, H, 1)
    expect_shape(fn, "w_ih", w_ih.shape, 2, H, D, 0)
    expect_shape(fn, "w_hh", w_hh.shape, 2, H, H, 0)
    expect_shape(fn, "h0", h0.shape, 2, B, H, 0)
    expect_shape(fn, "y", y.shape, 3, T, B, H)
    expect_shape(fn, "dy", dy.shape, 3, T, B, H)
    expect_shape(fn, "dh_n", dh_n.shape, 2, B, H, 0)
    expect_shape(fn, "dx", dx.shape, 3, T, B, D)
    expect_shape(fn, "dw_ih", dw_ih.shape, 2, H, D, 0)
    expect_shape(fn, "dw_hh", dw_hh.shape, 2, H, H, 0)
    expect_shape(fn, "db_ih", db_ih.shape, 1, H, 0, 0)
    expect_shape(fn, "db_hh", db_hh.shape, 1, H, 0, 0)
    expect_shape(fn, "dh0", dh0.shape, 2, B, H, 0)
    cdef floating[:, :, ::1] dgates = bws["dgates"]
    expect_shape(fn, "bws['dgates']", dgates.shape, 3, T, B, H)
    cdef floating[:, :, ::1] w_panels = bws["w_hh_panels"]
    expect_panels(fn, "bws['w_hh_panels']", w_panels.shape, H, H)
    cdef floating[:, :, ::1] gemm_store = bws["gemm_panels"]
    expect_panels(fn, "bws['gemm_panels']", gemm_store.shape, GEMM_K_CHUNK, max(D, H))
    cdef floating* scratch = &gemm_store[0, 0, 0]   # one packed k chunk of the large GEMMs' B
    cdef floating* panels = NULL         # W_hh packed once for every step, or NULL: BLAS
    cdef Py_ssize_t y_step = 0, dy_step = 0
    cdef Py_ssize_t y_row = element_row_stride(fn, "y", y.strides, sizeof(floating), &y_step)
    cdef Py_ssize_t dy_row = element_row_stride(fn, "dy", dy.strides, sizeof(floating), &dy_step)
    cdef const floating* y_base = &y[0, 0, 0]
    cdef floating* dgates_base = &dgates[0, 0, 0]
    cdef Py_ssize_t y_ld = batch_ld(B, H, y_row), dy_ld = batch_ld(B, H, dy_row)
    cdef const floating* h_t
    cdef const floating* dy_t
    cdef floating* dh_base = &dh0[0, 0]
    cdef floating* dgates_t            # (B, H) this step's pre-activation gradients
    cdef Py_ssize_t s, t, j, part
    cdef int nt

    cdef int level = lstm_energy_isa_for_call(-1)   # read once: whether W_hh is packed

    with nogil:
        copy_rows(&dh_n[0, 0], H, &dh0[0, 0], H, B, H)
        panels = pack_weight(&w_hh[0, 0], H, H, False, &w_panels[0, 0, 0], level)
        for s in range(T):
            t = s if reverse else T - 1 - s      # the forward's steps, last first
            h_t = y_base + t * y_step
            dy_t = &dy[t, 0, 0]
            dgates_t = dgates_base + t * B * H
            nt = cell_threads(B, B * H)
            if nt > 1:   # rows split over the pool, as the step's product is
                for part in prange(nt, num_threads=nt, schedule="static"):
                    rnn_cell_backward(part_start(B, part, nt), part_start(B, part + 1, nt), H, h_t, y_ld,
                                      dy_t, dy_ld, dh_base, dgates_t, relu)
            else:
                rnn_cell_backward(0, B, H, h_t, y_ld, dy_t, dy_ld, dh_base, dgates_t, relu)
            # dh0 = dgates[t] @ w_hh   (B, H): gradient w.r.t. the previous step's h
            recurrent_gemm_ab(<int>B, <int>H, <int>H, dgates_base + t * B * H, <int>H,
                              &w_hh[0, 0], <int>H, panels, False, &dh0[0, 0], <int>H)
        # dx (+)= dgates @ w_ih   (T*B, D)
        matmul_ab(<int>(T * B), <int>D, <int>H, dgates_base, <int>H, &w_ih[0, 0], <int>D, scratch,
                  accumulate_dx, &dx[0, 0, 0], <int>D)
        # dw_ih = dgates.T @ x   (H, D)
        matmul_atb(<int>H, <int>D, <int>(T * B), dgates_base, <int>H, &x[0, 0, 0], <int>D, scratch,
                   False,
                   &dw_ih[0, 0], <int>D)
        # dw_hh = Σ_t dgates[t].T @ h_prev(t)   (H, H)
        recurrent_weight_grad(T, B, H, H, dgates_base, &h0[0, 0], y_base, y_step, y_row, reverse,
                              scratch, &dw_hh[0, 0])
        # db_ih = db_hh = dgates.sum(axis=(0, 1))   (H,)
        column_sums(dgates_base, T * B, H, H, &db_ih[0])
        for j in range(H):
            db_hh[j] = db_ih[j]
