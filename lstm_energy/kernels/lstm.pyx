# cython: language_level=3
"""LSTM forward and backward through time, one layer and one direction (see the engine contract in
``lstm_energy.kernels``). Gate order i|f|g|o, PyTorch equations::

    i, f, o = σ(·), g = tanh(·)    of  x W_ih^T + b_ih + h W_hh^T + b_hh   (one 4H block each)
    c' = f ⊙ c + i ⊙ g             h' = o ⊙ tanh(c')

Forward: one input GEMM over all T·B rows into ``ws["gates"]``; per step one recurrent GEMM
accumulating into that step's gates (beta = 1), then one fused elementwise pass that adds the
pre-summed bias ``ws["bias"] = b_ih + b_hh``, applies the activations and updates c and h. The
activated gates overwrite the pre-activations in place; a training forward also keeps c_t in
``ws["c"]`` (tanh(c_t) is recomputed in the backward).

Backward: per step one fused elementwise pass (gate gradients into ``bws["dgates"]``) and the one
GEMM that stays in the loop, dh_prev = dA_t @ W_hh; after the loop dX, dW_ih and dW_hh are single
GEMMs over all T·B rows and db_ih = db_hh = column sums of dA. The running dh and dc live in the
``dh0``/``dc0`` outputs, which end up holding the gradients w.r.t. h0 and c0.
"""
from cython cimport floating

from lstm_energy.kernels._activations cimport (sigmoid, sigmoid_grad_from_output, tanh_,
                                               tanh_grad_from_output)
from lstm_energy.kernels._vector_math cimport sigmoid_bias_f32, tanh_bias_f32
from lstm_energy.kernels._cell_rows cimport lstm_grad_f32, lstm_state_f32
from lstm_energy.kernels._recurrent cimport (expect_panels, pack_weight, project_ahead,
                                             project_before_loop, recurrent_gemm_ab,
                                             recurrent_gemm_abt, step_projecting_ahead)
from lstm_energy.kernels._gemm cimport GEMM_K_CHUNK, matmul_ab, matmul_atb
from cython.parallel cimport prange

from lstm_energy.kernels._cell_threads cimport cell_threads, part_start
from lstm_energy.kernels._checks cimport element_row_stride, expect_positive, expect_shape
from lstm_energy.kernels._over_time cimport (batch_ld, column_sums, copy_rows, previous_step,
                                             recurrent_weight_grad)
from lstm_energy.kernels._isa cimport bind_isa, lstm_energy_isa_for_call

from lstm_energy.errors import ConfigError

bind_isa()   # the C headers follow the _isa module's path choice (LSTM_ENERGY_ISA, set_isa)


cdef inline void lstm_cell_forward(Py_ssize_t b0, Py_ssize_t b1, Py_ssize_t H, floating* gates,
                                   const floating* bias, const floating* c_prev, floating* c_out,
                                   floating* h_out, Py_ssize_t h_ld) noexcept nogil:
    """One step's elementwise work on batch rows [b0, b1) (a part of the step, see _cell_threads).

    Every pointer is the whole step's. gates: (B, 4H) IN pre-activations without bias, OUT
    activated i|f|g|o; bias: (4H,) b_ih + b_hh; c_prev: (B, H) IN; c_out: (B, H) OUT (may be c_prev
    itself); h_out: (B, H) OUT, row stride h_ld.
    """
    cdef Py_ssize_t b, j
    cdef floating* a
    cdef const floating* cp
    cdef floating* co
    cdef floating* h
    cdef floating gi, gf, gg, go, c
    if floating is float:
        # float32: vectorised activations over contiguous row blocks, then the state update
        for b in range(b0, b1):
            a = gates + b * 4 * H
            sigmoid_bias_f32(a, bias, 2 * H)                  # i|f
            tanh_bias_f32(a + 2 * H, bias + 2 * H, H)          # g
            sigmoid_bias_f32(a + 3 * H, bias + 3 * H, H)       # o
            lstm_state_f32(a, c_prev + b * H, c_out + b * H, h_out + b * h_ld, H)
    else:
        for b in range(b0, b1):
            a = gates + b * 4 * H
            cp = c_prev + b * H
            co = c_out + b * H
            h = h_out + b * h_ld
            for j in range(H):
                gi = sigmoid(a[j] + bias[j])
                gf = sigmoid(a[H + j] + bias[H + j])
                gg = tanh_(a[2 * H + j] + bias[2 * H + j])
                go = sigmoid(a[3 * H + j] + bias[3 * H + j])
                c = gf * cp[j] + gi * gg
                a[j] = gi
                a[H + j] = gf
                a[2 * H + j] = gg
                a[3 * H + j] = go
                co[j] = c
                h[j] = go * tanh_(c)


cdef inline void lstm_cell_backward(Py_ssize_t b0, Py_ssize_t b1, Py_ssize_t H, const floating* gates,
                                    const floating* c, const floating* c_prev,
                                    const floating* dy, Py_ssize_t dy_ld,
                                    floating* dh, floating* dc, floating* dgates) noexcept nogil:
    """One step's elementwise gradient on batch rows [b0, b1) (a part of the step, see _cell_threads).

    Every pointer is the whole step's. gates: (B, 4H) IN activated i|f|g|o; c, c_prev: (B, H) IN
    c_t and c_{t-1}; dy: (B, H) IN, row stride dy_ld; dh: (B, H) IN recurrent gradient w.r.t. h_t
    (the dy part is added here); dc: (B, H) IN w.r.t. c_t, OUT w.r.t. c_{t-1}; dgates: (B, 4H) OUT
    pre-activation gradients.
    """
    cdef Py_ssize_t b, j
    cdef const floating* a
    cdef floating* da
    cdef floating gi, gf, gg, go, tc, dh_t, dc_t
    for b in range(b0, b1):
        a = gates + b * 4 * H
        da = dgates + b * 4 * H
        if floating is float:
            lstm_grad_f32(a, c + b * H, c_prev + b * H, dy + b * dy_ld, dh + b * H, dc + b * H, da, H)
        else:
            for j in range(H):
                gi = a[j]
                gf = a[H + j]
                gg = a[2 * H + j]
                go = a[3 * H + j]
                tc = tanh_(c[b * H + j])
                dh_t = dy[b * dy_ld + j] + dh[b * H + j]
                dc_t = dc[b * H + j] + dh_t * go * tanh_grad_from_output(tc)
                da[j] = dc_t * gg * sigmoid_grad_from_output(gi)
                da[H + j] = dc_t * c_prev[b * H + j] * sigmoid_grad_from_output(gf)
                da[2 * H + j] = dc_t * gi * tanh_grad_from_output(gg)
                da[3 * H + j] = dh_t * tc * sigmoid_grad_from_output(go)
                dc[b * H + j] = dc_t * gf


def lstm_forward(const floating[:, :, ::1] x,    # IN  (T, B, D)
                 const floating[:, ::1] w_ih,    # IN  (4H, D)
                 const floating[:, ::1] w_hh,    # IN  (4H, H)
                 const floating[::1] b_ih,       # IN  (4H,)
                 const floating[::1] b_hh,       # IN  (4H,)
                 const floating[:, ::1] h0,      # IN  (B, H)
                 const floating[:, ::1] c0,      # IN  (B, H)
                 floating[:, :, :] y,            # OUT (T, B, H), rows may be strided
                 floating[:, ::1] h_n,           # OUT (B, H)
                 floating[:, ::1] c_n,           # OUT (B, H)
                 dict ws,                        # IN/OUT workspace_shapes("lstm", "forward", ...)
                 bint training,                  # IN  keep c_t in ws["c"] for the backward
                 bint reverse,                   # IN  run t = T-1 .. 0
                 bint weights_packed=False,      # IN  ws's panels hold W_ih.T, W_hh.T already
                 int isa=-1):                    # IN  path (LE_ISA_*) sampled by the caller; -1: now
    """LSTM forward for one layer and direction; see the module and package docstrings."""
    cdef Py_ssize_t T = x.shape[0], B = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef Py_ssize_t G4 = 4 * H
    cdef str fn = "lstm_forward"
    expect_positive(fn, T, B, D, H, 4)
    expect_shape(fn, "w_ih", w_ih.shape, 2, G4, D, 0)
    expect_shape(fn, "w_hh", w_hh.shape, 2, G4, H, 0)
    expect_shape(fn, "b_ih", b_ih.shape, 1, G4, 0, 0)
    expect_shape(fn, "b_hh", b_hh.shape, 1, G4, 0, 0)
    expect_shape(fn, "h0", h0.shape, 2, B, H, 0)
    expect_shape(fn, "c0", c0.shape, 2, B, H, 0)
    expect_shape(fn, "y", y.shape, 3, T, B, H)
    expect_shape(fn, "h_n", h_n.shape, 2, B, H, 0)
    expect_shape(fn, "c_n", c_n.shape, 2, B, H, 0)
    cdef floating[:, :, ::1] gates = ws["gates"]
    cdef floating[::1] bias = ws["bias"]
    expect_shape(fn, "ws['gates']", gates.shape, 3, T, B, G4)
    expect_shape(fn, "ws['bias']", bias.shape, 1, G4, 0, 0)
    cdef floating[:, :, ::1] w_panels = ws["w_hh_panels"]
    expect_panels(fn, "ws['w_hh_panels']", w_panels.shape, H, G4)
    cdef floating[:, :, ::1] ih_store = ws["w_ih_panels"]
    expect_panels(fn, "ws['w_ih_panels']", ih_store.shape, D, G4)
    cdef floating* ih_panels = NULL      # W_ih.T packed for the input projection, or NULL: BLAS
    cdef floating* panels = NULL       # W_hh.T packed once for every step, or NULL: BLAS
    cdef floating[:, :, ::1] c_seq
    cdef floating* c_saved = NULL      # (T, B, H) c_t per step when training
    if training:
        c_seq = ws["c"]
        expect_shape(fn, "ws['c']", c_seq.shape, 3, T, B, H)
        c_saved = &c_seq[0, 0, 0]
    cdef Py_ssize_t y_step = 0
    cdef Py_ssize_t y_row = element_row_stride(fn, "y", y.strides, sizeof(floating), &y_step)
    cdef Py_ssize_t y_ld = batch_ld(B, H, y_row)
    cdef floating* y_base = &y[0, 0, 0]
    cdef floating* gates_base = &gates[0, 0, 0]
    cdef const floating* h_prev
    cdef const floating* c_prev
    cdef floating* c_out
    cdef const floating* bias_base = &bias[0]
    cdef floating* gates_t             # (B, 4H) this step's gates
    cdef floating* y_t                 # (B, H) this step's output, row stride y_ld
    cdef Py_ssize_t h_prev_ld, s, t, j, part
    cdef int nt
    cdef bint ahead                    # B = 1: the steps project the input ahead (_recurrent.pxd)

    if not -1 <= isa <= 2:
        raise ConfigError(f"{fn}: isa={isa} is not a kernel path level: pass -1 (the current path) or "
                          "lstm_energy.kernels.isa.current_level() (0 baseline, 1 avx2, 2 avx512)")
    cdef int level = lstm_energy_isa_for_call(isa)   # the one read of the path this call decides by

    with nogil:
        for j in range(G4):
            bias[j] = b_ih[j] + b_hh[j]
        panels = pack_weight(&w_hh[0, 0], G4, H, True, &w_panels[0, 0, 0], level, weights_packed)
        ih_panels = pack_weight(&w_ih[0, 0], G4, D, True, &ih_store[0, 0, 0], level, weights_packed)
        ahead = project_ahead(B, panels, ih_panels, level)   # B = 1: the steps project the input ahead
        # gates = x @ w_ih.T   (T*B, 4H): the input projection of every step, or of the first ones
        project_before_loop(ahead, T, B, G4, D, reverse, &x[0, 0, 0], &w_ih[0, 0], ih_panels, gates_base,
                            G4)
        for s in range(T):
            t = T - 1 - s if reverse else s
            if s == 0:
                h_prev = &h0[0, 0]
                h_prev_ld = H
                c_prev = &c0[0, 0]
            else:
                h_prev = y_base + previous_step(t, reverse) * y_step
                h_prev_ld = y_ld
                c_prev = (c_saved + previous_step(t, reverse) * B * H) if training else &c_n[0, 0]
            c_out = (c_saved + t * B * H) if training else &c_n[0, 0]
            if ahead:
                # gates[t] += h_prev @ w_hh.T   (1, 4H), and a share of the next block's x @ w_ih.T
                step_projecting_ahead(s, T, reverse, G4, H, h_prev, panels, D, &x[0, 0, 0], ih_panels,
                                      gates_base, G4, gates_base + t * G4, True)
            else:
                # gates[t] += h_prev @ w_hh.T   (B, 4H)
                recurrent_gemm_abt(<int>B, <int>G4, <int>H, h_prev, <int>h_prev_ld, &w_hh[0, 0], <int>H,
                                   panels, True, gates_base + t * B * G4, <int>G4)
            gates_t = gates_base + t * B * G4
            y_t = y_base + t * y_step
            nt = cell_threads(B, B * G4)
            if nt > 1:   # rows split over the pool, as the step's product is
                for part in prange(nt, num_threads=nt, schedule="static"):
                    lstm_cell_forward(part_start(B, part, nt), part_start(B, part + 1, nt), H, gates_t,
                                      bias_base, c_prev, c_out, y_t, y_ld)
            else:
                lstm_cell_forward(0, B, H, gates_t, bias_base, c_prev, c_out, y_t, y_ld)
        t = 0 if reverse else T - 1
        copy_rows(y_base + t * y_step, y_ld, &h_n[0, 0], H, B, H)
        if training:
            copy_rows(c_saved + t * B * H, H, &c_n[0, 0], H, B, H)
    return panels != NULL and ih_panels != NULL   # the panels hold W_hh.T and W_ih.T now


def lstm_backward(const floating[:, :, ::1] x,     # IN  (T, B, D)
                  const floating[:, ::1] w_ih,     # IN  (4H, D)
                  const floating[:, ::1] w_hh,     # IN  (4H, H)
                  const floating[::1] b_ih,        # IN  (4H,) (unused: the saved gates include it)
                  const floating[::1] b_hh,        # IN  (4H,) (unused)
                  const floating[:, ::1] h0,       # IN  (B, H)
                  const floating[:, ::1] c0,       # IN  (B, H)
                  const floating[:, :, :] y,       # IN  (T, B, H) forward output, rows may be strided
                  dict ws,                         # IN  training-mode forward workspace
                  const floating[:, :, :] dy,      # IN  (T, B, H), rows may be strided
                  const floating[:, ::1] dh_n,     # IN  (B, H)
                  const floating[:, ::1] dc_n,     # IN  (B, H)
                  floating[:, :, ::1] dx,          # OUT (T, B, D), += when accumulate_dx
                  floating[:, ::1] dw_ih,          # OUT (4H, D)
                  floating[:, ::1] dw_hh,          # OUT (4H, H)
                  floating[::1] db_ih,             # OUT (4H,)
                  floating[::1] db_hh,             # OUT (4H,)
                  floating[:, ::1] dh0,            # OUT (B, H)
                  floating[:, ::1] dc0,            # OUT (B, H)
                  dict bws,                        # scratch: workspace_shapes("lstm", "backward", ...)
                  bint accumulate_dx,              # IN  dx += ... instead of dx = ...
                  bint reverse):                   # IN  the forward ran t = T-1 .. 0
    """LSTM backward through time for one layer and direction; see the module docstring."""
    cdef Py_ssize_t T = x.shape[0], B = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef Py_ssize_t G4 = 4 * H
    cdef str fn = "lstm_backward"
    expect_positive(fn, T, B, D, H, 4)
    expect_shape(fn, "w_ih", w_ih.shape, 2, G4, D, 0)
    expect_shape(fn, "w_hh", w_hh.shape, 2, G4, H, 0)
    expect_shape(fn, "h0", h0.shape, 2, B, H, 0)
    expect_shape(fn, "c0", c0.shape, 2, B, H, 0)
    expect_shape(fn, "y", y.shape, 3, T, B, H)
    expect_shape(fn, "dy", dy.shape, 3, T, B, H)
    expect_shape(fn, "dh_n", dh_n.shape, 2, B, H, 0)
    expect_shape(fn, "dc_n", dc_n.shape, 2, B, H, 0)
    expect_shape(fn, "dx", dx.shape, 3, T, B, D)
    expect_shape(fn, "dw_ih", dw_ih.shape, 2, G4, D, 0)
    expect_shape(fn, "dw_hh", dw_hh.shape, 2, G4, H, 0)
    expect_shape(fn, "db_ih", db_ih.shape, 1, G4, 0, 0)
    expect_shape(fn, "db_hh", db_hh.shape, 1, G4, 0, 0)
    expect_shape(fn, "dh0", dh0.shape, 2, B, H, 0)
    expect_shape(fn, "dc0", dc0.shape, 2, B, H, 0)
    if "c" not in ws:
        from lstm_energy.errors import StateError
        raise StateError(f"{fn}: ws has no saved 'c' (keys {sorted(ws)}); backward needs the "
                         f"workspace of a training-mode forward: call lstm_forward(..., training=True)")
    cdef const floating[:, :, ::1] gates = ws["gates"]
    cdef const floating[:, :, ::1] c_seq = ws["c"]
    cdef floating[:, :, ::1] dgates = bws["dgates"]
    expect_shape(fn, "ws['gates']", gates.shape, 3, T, B, G4)
    expect_shape(fn, "ws['c']", c_seq.shape, 3, T, B, H)
    expect_shape(fn, "bws['dgates']", dgates.shape, 3, T, B, G4)
    cdef floating[:, :, ::1] w_panels = bws["w_hh_panels"]
    expect_panels(fn, "bws['w_hh_panels']", w_panels.shape, G4, H)
    cdef floating[:, :, ::1] gemm_store = bws["gemm_panels"]
    expect_panels(fn, "bws['gemm_panels']", gemm_store.shape, GEMM_K_CHUNK, max(D, H))
    cdef floating* scratch = &gemm_store[0, 0, 0]   # one packed k chunk of the large GEMMs' B
    cdef floating* panels = NULL       # W_hh packed once for every step, or NULL: BLAS
    cdef Py_ssize_t y_step = 0, dy_step = 0
    cdef Py_ssize_t y_row = element_row_stride(fn, "y", y.strides, sizeof(floating), &y_step)
    cdef Py_ssize_t dy_row = element_row_stride(fn, "dy", dy.strides, sizeof(floating), &dy_step)
    cdef const floating* c_base = &c_seq[0, 0, 0]
    cdef const floating* gates_base = &gates[0, 0, 0]
    cdef floating* dgates_base = &dgates[0, 0, 0]
    cdef const floating* c_prev
    cdef const floating* dy_t
    cdef Py_ssize_t dy_ld = batch_ld(B, H, dy_row)
    cdef floating* dh_base = &dh0[0, 0]
    cdef floating* dc_base = &dc0[0, 0]
    cdef const floating* gates_t       # (B, 4H) this step's saved gates
    cdef const floating* c_t           # (B, H) this step's saved c
    cdef floating* dgates_t            # (B, 4H) this step's gate gradients
    cdef Py_ssize_t s, t, j, part
    cdef int nt

    cdef int level = lstm_energy_isa_for_call(-1)   # read once: whether W_hh is packed

    with nogil:
        copy_rows(&dh_n[0, 0], H, &dh0[0, 0], H, B, H)
        copy_rows(&dc_n[0, 0], H, &dc0[0, 0], H, B, H)
        panels = pack_weight(&w_hh[0, 0], G4, H, False, &w_panels[0, 0, 0], level)
        for s in range(T):
            t = s if reverse else T - 1 - s      # the forward's steps, last first
            if s == T - 1:
                c_prev = &c0[0, 0]
            else:
                c_prev = c_base + previous_step(t, reverse) * B * H
            dy_t = &dy[t, 0, 0]
            gates_t = gates_base + t * B * G4
            c_t = c_base + t * B * H
            dgates_t = dgates_base + t * B * G4
            nt = cell_threads(B, B * G4)
            if nt > 1:   # rows split over the pool, as the step's product is
                for part in prange(nt, num_threads=nt, schedule="static"):
                    lstm_cell_backward(part_start(B, part, nt), part_start(B, part + 1, nt), H, gates_t,
                                       c_t, c_prev, dy_t, dy_ld, dh_base, dc_base, dgates_t)
            else:
                lstm_cell_backward(0, B, H, gates_t, c_t, c_prev, dy_t, dy_ld, dh_base, dc_base, dgates_t)
            # dh0 = dgates[t] @ w_hh   (B, H): gradient w.r.t. the previous step's h
            recurrent_gemm_ab(<int>B, <int>H, <int>G4, dgates_base + t * B * G4, <int>G4,
                              &w_hh[0, 0], <int>H, panels, False, &dh0[0, 0], <int>H)
        # dx (+)= dgates @ w_ih   (T*B, D)
        matmul_ab(<int>(T * B), <int>D, <int>G4, dgates_base, <int>G4, &w_ih[0, 0], <int>D,
                  scratch, accumulate_dx, &dx[0, 0, 0], <int>D)
        # dw_ih = dgates.T @ x   (4H, D)
        matmul_atb(<int>G4, <int>D, <int>(T * B), dgates_base, <int>G4, &x[0, 0, 0], <int>D,
                   scratch, False, &dw_ih[0, 0], <int>D)
        # dw_hh = Σ_t dgates[t].T @ h_prev(t)   (4H, H)
        recurrent_weight_grad(T, B, G4, H, dgates_base, &h0[0, 0], &y[0, 0, 0], y_step, y_row,
                              reverse, scratch, &dw_hh[0, 0])
        # db_ih = db_hh = dgates.sum(axis=(0, 1))   (4H,)
        column_sums(dgates_base, T * B, G4, G4, &db_ih[0])
        for j in range(G4):
            db_hh[j] = db_ih[j]
