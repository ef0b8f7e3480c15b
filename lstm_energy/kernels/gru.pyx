# cython: language_level=3
"""GRU forward and backward through time, one layer and one direction (see the engine contract in
``lstm_energy.kernels``). Gate order r|z|n, the PyTorch / cuDNN / oneDNN "linear-before-reset"
form::

    r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    h' = (1 − z) ⊙ n + z ⊙ h

Forward: one input GEMM over all T·B rows into ``ws["gates"]``. Per step, ONE recurrent GEMM
gh = h @ W_hh^T (B, 3H) with beta = 0 into the scratch ``ws["gh"]`` (the n block must stay apart
from W_in x because r multiplies it, so accumulating into the gates is not possible for that third;
one K=H GEMM with N=3H beats two smaller ones), then one fused elementwise pass. Biases are folded
in from ``ws["bias"] = [b_ir+b_hr | b_iz+b_hz | b_in | b_hn]`` (4H). The activated r|z|n overwrite
the gate buffer; a training forward also keeps gh_n = W_hn h + b_hn in ``ws["ghn"]``.

Backward: gate gradients for the hidden side dGh = [da_r | da_z | da_n ⊙ r] go to
``bws["dgh"]`` (T, B, 3H); the input side differs only in its n block, da_n, kept in
``bws["dgin"]`` (T, B, H). Per step the only GEMM is dh_prev += dGh_t @ W_hh (beta = 1 onto
dh ⊙ z). After the loop: dX and dW_ih are two GEMMs each (r|z block from dgh, n block from dgin),
dW_hh one GEMM over all rows (plus the h0 rows), db_hh = Σ dGh, db_ih = [Σ dGh[:2H] | Σ da_n].
"""
from cython cimport floating

from lstm_energy.kernels._activations cimport (sigmoid, sigmoid_grad_from_output, tanh_,
                                               tanh_grad_from_output)
from lstm_energy.kernels._cell_rows cimport gru_forward_f32, gru_grad_f32
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


cdef inline void gru_cell_forward(Py_ssize_t b0, Py_ssize_t b1, Py_ssize_t H, floating* gates,
                                  floating* gh, const floating* bias, const floating* h_prev,
                                  Py_ssize_t h_prev_ld, floating* ghn_out, Py_ssize_t ghn_ld,
                                  floating* h_out, Py_ssize_t h_ld) noexcept nogil:
    """One step's elementwise work on batch rows [b0, b1) (a part of the step, see _cell_threads).

    Every pointer is the whole step's. gates: (B, 3H) IN x W_ih^T (no bias), OUT activated r|z|n;
    gh: (B, 3H) IN h W_hh^T (no bias); bias: (4H,) [b_ir+b_hr | b_iz+b_hz | b_in | b_hn]; h_prev:
    (B, H) IN, row stride h_prev_ld; ghn_out: (B, H) OUT W_hn h + b_hn, row stride ghn_ld (may point
    into gh's n block); h_out: (B, H) OUT, row stride h_ld.
    """
    cdef Py_ssize_t b, j
    cdef floating* a
    cdef const floating* hh
    cdef floating r, z, n, ghn, hp
    cdef floating one = 1
    if floating is float:
        # float32: one vectorised loop per row (_cell_rows.h)
        for b in range(b0, b1):
            gru_forward_f32(gates + b * 3 * H, gh + b * 3 * H, bias, ghn_out + b * ghn_ld,
                            h_prev + b * h_prev_ld, h_out + b * h_ld, H)
    else:
        for b in range(b0, b1):
            a = gates + b * 3 * H
            hh = gh + b * 3 * H
            for j in range(H):
                r = sigmoid(a[j] + hh[j] + bias[j])
                z = sigmoid(a[H + j] + hh[H + j] + bias[H + j])
                ghn = hh[2 * H + j] + bias[3 * H + j]
                n = tanh_(a[2 * H + j] + bias[2 * H + j] + r * ghn)
                hp = h_prev[b * h_prev_ld + j]
                a[j] = r
                a[H + j] = z
                a[2 * H + j] = n
                ghn_out[b * ghn_ld + j] = ghn
                h_out[b * h_ld + j] = (one - z) * n + z * hp


cdef inline void gru_cell_backward(Py_ssize_t b0, Py_ssize_t b1, Py_ssize_t H,
                                   const floating* gates, const floating* ghn, const floating* h_prev,
                                   Py_ssize_t h_prev_ld, const floating* dy, Py_ssize_t dy_ld,
                                   floating* dh, floating* dgh, floating* dgin) noexcept nogil:
    """One step's elementwise gradient on batch rows [b0, b1) (a part of the step, see _cell_threads).

    Every pointer is the whole step's. gates: (B, 3H) IN activated r|z|n; ghn: (B, H) IN
    W_hn h + b_hn; h_prev: (B, H) IN, row stride h_prev_ld; dy: (B, H) IN, row stride dy_ld;
    dh: (B, H) IN recurrent gradient w.r.t. h_t, OUT dh_t ⊙ z (the direct part of the gradient
    w.r.t. h_{t-1}; the GEMM adds the rest); dgh: (B, 3H) OUT [da_r | da_z | da_n ⊙ r];
    dgin: (B, H) OUT da_n.
    """
    cdef Py_ssize_t b, j
    cdef const floating* a
    cdef floating* dg
    cdef floating r, z, n, dh_t, da_n, da_r, da_z
    cdef floating one = 1
    for b in range(b0, b1):
        a = gates + b * 3 * H
        dg = dgh + b * 3 * H
        if floating is float:
            gru_grad_f32(a, ghn + b * H, h_prev + b * h_prev_ld, dy + b * dy_ld, dh + b * H, dg,
                         dgin + b * H, H)
        else:
            for j in range(H):
                r = a[j]
                z = a[H + j]
                n = a[2 * H + j]
                dh_t = dy[b * dy_ld + j] + dh[b * H + j]
                da_z = dh_t * (h_prev[b * h_prev_ld + j] - n) * sigmoid_grad_from_output(z)
                da_n = dh_t * (one - z) * tanh_grad_from_output(n)
                da_r = da_n * ghn[b * H + j] * sigmoid_grad_from_output(r)
                dg[j] = da_r
                dg[H + j] = da_z
                dg[2 * H + j] = da_n * r
                dgin[b * H + j] = da_n
                dh[b * H + j] = dh_t * z


def gru_forward(const floating[:, :, ::1] x,    # IN  (T, B, D)
                const floating[:, ::1] w_ih,    # IN  (3H, D)
                const floating[:, ::1] w_hh,    # IN  (3H, H)
                const floating[::1] b_ih,       # IN  (3H,)
                const floating[::1] b_hh,       # IN  (3H,)
                const floating[:, ::1] h0,      # IN  (B, H)
                floating[:, :, :] y,            # OUT (T, B, H), rows may be strided
                floating[:, ::1] h_n,           # OUT (B, H)
                dict ws,                        # IN/OUT workspace_shapes("gru", "forward", ...)
                bint training,                  # IN  keep W_hn h + b_hn in ws["ghn"] for the backward
                bint reverse,                   # IN  run t = T-1 .. 0
                bint weights_packed=False,      # IN  ws's panels hold W_ih.T, W_hh.T already
                int isa=-1):                    # IN  path (LE_ISA_*) sampled by the caller; -1: now
    """GRU forward for one layer and direction; see the module and package docstrings."""
    cdef Py_ssize_t T = x.shape[0], B = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef Py_ssize_t G3 = 3 * H
    cdef str fn = "gru_forward"
    expect_positive(fn, T, B, D, H, 3)
    expect_shape(fn, "w_ih", w_ih.shape, 2, G3, D, 0)
    expect_shape(fn, "w_hh", w_hh.shape, 2, G3, H, 0)
    expect_shape(fn, "b_ih", b_ih.shape, 1, G3, 0, 0)
    expect_shape(fn, "b_hh", b_hh.shape, 1, G3, 0, 0)
    expect_shape(fn, "h0", h0.shape, 2, B, H, 0)
    expect_shape(fn, "y", y.shape, 3, T, B, H)
    expect_shape(fn, "h_n", h_n.shape, 2, B, H, 0)
    cdef floating[:, :, ::1] gates = ws["gates"]
    cdef floating[:, ::1] gh = ws["gh"]
    cdef floating[::1] bias = ws["bias"]
    expect_shape(fn, "ws['gates']", gates.shape, 3, T, B, G3)
    expect_shape(fn, "ws['gh']", gh.shape, 2, B, G3, 0)
    expect_shape(fn, "ws['bias']", bias.shape, 1, 4 * H, 0, 0)
    cdef floating[:, :, ::1] w_panels = ws["w_hh_panels"]
    expect_panels(fn, "ws['w_hh_panels']", w_panels.shape, H, G3)
    cdef floating[:, :, ::1] ih_store = ws["w_ih_panels"]
    expect_panels(fn, "ws['w_ih_panels']", ih_store.shape, D, G3)
    cdef floating* ih_panels = NULL      # W_ih.T packed for the input projection, or NULL: BLAS
    cdef floating* panels = NULL         # W_hh.T packed once for every step, or NULL: BLAS
    cdef floating[:, :, ::1] ghn_seq
    cdef floating* ghn_saved = NULL      # (T, B, H) W_hn h + b_hn per step when training
    if training:
        ghn_seq = ws["ghn"]
        expect_shape(fn, "ws['ghn']", ghn_seq.shape, 3, T, B, H)
        ghn_saved = &ghn_seq[0, 0, 0]
    cdef Py_ssize_t y_step = 0
    cdef Py_ssize_t y_row = element_row_stride(fn, "y", y.strides, sizeof(floating), &y_step)
    cdef Py_ssize_t y_ld = batch_ld(B, H, y_row)
    cdef floating* y_base = &y[0, 0, 0]
    cdef floating* gates_base = &gates[0, 0, 0]
    cdef floating* gh_base = &gh[0, 0]
    cdef const floating* h_prev
    cdef floating* ghn_out
    cdef const floating* bias_base = &bias[0]
    cdef floating* gates_t             # (B, 3H) this step's gates
    cdef floating* y_t                 # (B, H) this step's output, row stride y_ld
    cdef Py_ssize_t h_prev_ld, ghn_ld, s, t, j, part
    cdef int nt
    cdef bint ahead                    # B = 1: the steps project the input ahead (_recurrent.pxd)

    if not -1 <= isa <= 2:
        raise ConfigError(f"{fn}: isa={isa} is not a kernel path level: pass -1 (the current path) or "
                          "lstm_energy.kernels.isa.current_level() (0 baseline, 1 avx2, 2 avx512)")
    cdef int level = lstm_energy_isa_for_call(isa)   # the one read of the path this call decides by

    with nogil:
        for j in range(2 * H):
            bias[j] = b_ih[j] + b_hh[j]
        for j in range(H):
            bias[2 * H + j] = b_ih[2 * H + j]
            bias[3 * H + j] = b_hh[2 * H + j]
        panels = pack_weight(&w_hh[0, 0], G3, H, True, &w_panels[0, 0, 0], level, weights_packed)
        ih_panels = pack_weight(&w_ih[0, 0], G3, D, True, &ih_store[0, 0, 0], level, weights_packed)
        ahead = project_ahead(B, panels, ih_panels, level)   # B = 1: the steps project the input ahead
        # gates = x @ w_ih.T   (T*B, 3H): the input projection of every step, or of the first ones
        project_before_loop(ahead, T, B, G3, D, reverse, &x[0, 0, 0], &w_ih[0, 0], ih_panels, gates_base,
                            G3)
        for s in range(T):
            t = T - 1 - s if reverse else s
            if s == 0:
                h_prev = &h0[0, 0]
                h_prev_ld = H
            else:
                h_prev = y_base + previous_step(t, reverse) * y_step
                h_prev_ld = y_ld
            if training:
                ghn_out = ghn_saved + t * B * H
                ghn_ld = H
            else:
                ghn_out = gh_base + 2 * H      # overwrite gh's n block in place
                ghn_ld = G3
            if ahead:
                # gh = h_prev @ w_hh.T   (1, 3H), and a share of the next block's x @ w_ih.T
                step_projecting_ahead(s, T, reverse, G3, H, h_prev, panels, D, &x[0, 0, 0], ih_panels,
                                      gates_base, G3, gh_base, False)
            else:
                # gh = h_prev @ w_hh.T   (B, 3H)
                recurrent_gemm_abt(<int>B, <int>G3, <int>H, h_prev, <int>h_prev_ld, &w_hh[0, 0], <int>H,
                                   panels, False, gh_base, <int>G3)
            gates_t = gates_base + t * B * G3
            y_t = y_base + t * y_step
            nt = cell_threads(B, B * G3)
            if nt > 1:   # rows split over the pool, as the step's product is
                for part in prange(nt, num_threads=nt, schedule="static"):
                    gru_cell_forward(part_start(B, part, nt), part_start(B, part + 1, nt), H, gates_t,
                                     gh_base, bias_base, h_prev, h_prev_ld, ghn_out, ghn_ld, y_t, y_ld)
            else:
                gru_cell_forward(0, B, H, gates_t, gh_base, bias_base, h_prev, h_prev_ld, ghn_out, ghn_ld,
                                 y_t, y_ld)
        t = 0 if reverse else T - 1
        copy_rows(y_base + t * y_step, y_ld, &h_n[0, 0], H, B, H)
    return panels != NULL and ih_panels != NULL   # the panels hold W_hh.T and W_ih.T now


def gru_backward(const floating[:, :, ::1] x,     # IN  (T, B, D)
                 const floating[:, ::1] w_ih,     # IN  (3H, D)
                 const floating[:, ::1] w_hh,     # IN  (3H, H)
                 const floating[::1] b_ih,        # IN  (3H,) (unused: the saved gates include it)
                 const floating[::1] b_hh,        # IN  (3H,) (unused: ws["ghn"] includes b_hn)
                 const floating[:, ::1] h0,       # IN  (B, H)
                 const floating[:, :, :] y,       # IN  (T, B, H) forward output, rows may be strided
                 dict ws,                         # IN  training-mode forward workspace
                 const floating[:, :, :] dy,      # IN  (T, B, H), rows may be strided
                 const floating[:, ::1] dh_n,     # IN  (B, H)
                 floating[:, :, ::1] dx,          # OUT (T, B, D), += when accumulate_dx
                 floating[:, ::1] dw_ih,          # OUT (3H, D)
                 floating[:, ::1] dw_hh,          # OUT (3H, H)
                 floating[::1] db_ih,             # OUT (3H,)
                 floating[::1] db_hh,             # OUT (3H,)
                 floating[:, ::1] dh0,            # OUT (B, H)
                 dict bws,                        # scratch: workspace_shapes("gru", "backward", ...)
                 bint accumulate_dx,              # IN  dx += ... instead of dx = ...
                 bint reverse):                   # IN  the forward ran t = T-1 .. 0
    """GRU backward through time for one layer and direction; see the module docstring."""
    cdef Py_ssize_t T = x.shape[0], B = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef Py_ssize_t G3 = 3 * H
    cdef str fn = "gru_backward"
    expect_positive(fn, T, B, D, H, 3)
    expect_shape(fn, "w_ih", w_ih.shape, 2, G3, D, 0)
    expect_shape(fn, "w_hh", w_hh.shape, 2, G3, H, 0)
    expect_shape(fn, "h0", h0.shape, 2, B, H, 0)
    expect_shape(fn, "y", y.shape, 3, T, B, H)
    expect_shape(fn, "dy", dy.shape, 3, T, B, H)
    expect_shape(fn, "dh_n", dh_n.shape, 2, B, H, 0)
    expect_shape(fn, "dx", dx.shape, 3, T, B, D)
    expect_shape(fn, "dw_ih", dw_ih.shape, 2, G3, D, 0)
    expect_shape(fn, "dw_hh", dw_hh.shape, 2, G3, H, 0)
    expect_shape(fn, "db_ih", db_ih.shape, 1, G3, 0, 0)
    expect_shape(fn, "db_hh", db_hh.shape, 1, G3, 0, 0)
    expect_shape(fn, "dh0", dh0.shape, 2, B, H, 0)
    if "ghn" not in ws:
        from lstm_energy.errors import StateError
        raise StateError(f"{fn}: ws has no saved 'ghn' (keys {sorted(ws)}); backward needs the "
                         f"workspace of a training-mode forward: call gru_forward(..., training=True)")
    cdef const floating[:, :, ::1] gates = ws["gates"]
    cdef const floating[:, :, ::1] ghn_seq = ws["ghn"]
    cdef floating[:, :, ::1] dgh = bws["dgh"]
    cdef floating[:, :, ::1] dgin = bws["dgin"]
    expect_shape(fn, "ws['gates']", gates.shape, 3, T, B, G3)
    expect_shape(fn, "ws['ghn']", ghn_seq.shape, 3, T, B, H)
    expect_shape(fn, "bws['dgh']", dgh.shape, 3, T, B, G3)
    expect_shape(fn, "bws['dgin']", dgin.shape, 3, T, B, H)
    cdef floating[:, :, ::1] w_panels = bws["w_hh_panels"]
    expect_panels(fn, "bws['w_hh_panels']", w_panels.shape, G3, H)
    cdef floating[:, :, ::1] gemm_store = bws["gemm_panels"]
    expect_panels(fn, "bws['gemm_panels']", gemm_store.shape, GEMM_K_CHUNK, max(D, H))
    cdef floating* scratch = &gemm_store[0, 0, 0]   # one packed k chunk of the large GEMMs' B
    cdef floating* panels = NULL         # W_hh packed once for every step, or NULL: BLAS
    cdef Py_ssize_t y_step = 0, dy_step = 0
    cdef Py_ssize_t y_row = element_row_stride(fn, "y", y.strides, sizeof(floating), &y_step)
    cdef Py_ssize_t dy_row = element_row_stride(fn, "dy", dy.strides, sizeof(floating), &dy_step)
    cdef Py_ssize_t y_ld = batch_ld(B, H, y_row)
    cdef const floating* y_base = &y[0, 0, 0]
    cdef const floating* gates_base = &gates[0, 0, 0]
    cdef const floating* ghn_base = &ghn_seq[0, 0, 0]
    cdef floating* dgh_base = &dgh[0, 0, 0]
    cdef floating* dgin_base = &dgin[0, 0, 0]
    cdef const floating* h_prev
    cdef const floating* dy_t
    cdef Py_ssize_t dy_ld = batch_ld(B, H, dy_row)
    cdef floating* dh_base = &dh0[0, 0]
    cdef const floating* gates_t       # (B, 3H) this step's saved gates
    cdef const floating* ghn_t         # (B, H) this step's saved W_hn h + b_hn
    cdef floating* dgh_t               # (B, 3H) this step's gradients w.r.t. h W_hh^T
    cdef floating* dgin_t              # (B, H) this step's da_n
    cdef Py_ssize_t h_prev_ld, s, t, j, part
    cdef int nt

    cdef int level = lstm_energy_isa_for_call(-1)   # read once: whether W_hh is packed

    with nogil:
        copy_rows(&dh_n[0, 0], H, &dh0[0, 0], H, B, H)
        panels = pack_weight(&w_hh[0, 0], G3, H, False, &w_panels[0, 0, 0], level)
        for s in range(T):
            t = s if reverse else T - 1 - s      # the forward's steps, last first
            if s == T - 1:
                h_prev = &h0[0, 0]
                h_prev_ld = H
            else:
                h_prev = y_base + previous_step(t, reverse) * y_step
                h_prev_ld = y_ld
            dy_t = &dy[t, 0, 0]
            gates_t = gates_base + t * B * G3
            ghn_t = ghn_base + t * B * H
            dgh_t = dgh_base + t * B * G3
            dgin_t = dgin_base + t * B * H
            nt = cell_threads(B, B * G3)
            if nt > 1:   # rows split over the pool, as the step's product is
                for part in prange(nt, num_threads=nt, schedule="static"):
                    gru_cell_backward(part_start(B, part, nt), part_start(B, part + 1, nt), H, gates_t,
                                      ghn_t, h_prev, h_prev_ld, dy_t, dy_ld, dh_base, dgh_t, dgin_t)
            else:
                gru_cell_backward(0, B, H, gates_t, ghn_t, h_prev, h_prev_ld, dy_t, dy_ld, dh_base, dgh_t,
                                  dgin_t)
            # dh0 += dgh[t] @ w_hh   (B, H): dh0 held dh ⊙ z, now the full gradient w.r.t. h_prev
            recurrent_gemm_ab(<int>B, <int>H, <int>G3, dgh_base + t * B * G3, <int>G3,
                              &w_hh[0, 0], <int>H, panels, True, &dh0[0, 0], <int>H)
        # dx (+)= dgh[..., :2H] @ w_ih[:2H]   (T*B, D): the r|z blocks
        matmul_ab(<int>(T * B), <int>D, <int>(2 * H), dgh_base, <int>G3, &w_ih[0, 0], <int>D, scratch,
                  accumulate_dx, &dx[0, 0, 0], <int>D)
        # dx += dgin @ w_ih[2H:]   (T*B, D): the n block
        matmul_ab(<int>(T * B), <int>D, <int>H, dgin_base, <int>H, &w_ih[2 * H, 0], <int>D, scratch,
                  True,
                  &dx[0, 0, 0], <int>D)
        # dw_ih[:2H] = dgh[..., :2H].T @ x   (2H, D)
        matmul_atb(<int>(2 * H), <int>D, <int>(T * B), dgh_base, <int>G3, &x[0, 0, 0], <int>D, scratch,
                   False, &dw_ih[0, 0], <int>D)
        # dw_ih[2H:] = dgin.T @ x   (H, D)
        matmul_atb(<int>H, <int>D, <int>(T * B), dgin_base, <int>H, &x[0, 0, 0], <int>D, scratch,
                   False,
                   &dw_ih[2 * H, 0], <int>D)
        # dw_hh = Σ_t dgh[t].T @ h_prev(t)   (3H, H)
        recurrent_weight_grad(T, B, G3, H, dgh_base, &h0[0, 0], y_base, y_step, y_row, reverse,
                              scratch, &dw_hh[0, 0])
        # db_hh = dgh.sum(axis=(0, 1));  db_ih = [db_hh[:2H] | dgin.sum(axis=(0, 1))]
        column_sums(dgh_base, T * B, G3, G3, &db_hh[0])
        for j in range(2 * H):
            db_ih[j] = db_hh[j]
        column_sums(dgin_base, T * B, H, H, &db_ih[2 * H])
