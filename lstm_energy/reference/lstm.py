"""LSTM, one layer and one direction, in plain NumPy (PyTorch gate order i|f|g|o).

    i = σ(x W_iiᵀ + b_ii + h W_hiᵀ + b_hi)      f = σ(x W_ifᵀ + b_if + h W_hfᵀ + b_hf)
    g = tanh(x W_igᵀ + b_ig + h W_hgᵀ + b_hg)   o = σ(x W_ioᵀ + b_io + h W_hoᵀ + b_ho)
    c_t = f ⊙ c_{t-1} + i ⊙ g                   h_t = o ⊙ tanh(c_t)

Shapes: x (T, B, D); w_ih (4H, D); w_hh (4H, H); b_ih, b_hh (4H,); h0, c0 (B, H); y (T, B, H).
"""

import numpy as np
from scipy.special import expit as sigmoid

from lstm_energy.reference.views import rows, shared_gate_parameter_grads, time_steps


def lstm_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, y, h_n, c_n, ws, training, reverse, weights_packed=False):
    """Run the LSTM over ``x``; write ``y`` (T, B, H), ``h_n`` and ``c_n`` (B, H).

    Training mode keeps the activated gates in ``ws["gates"]`` and the cell states in ``ws["c"]``
    for ``lstm_backward``; inference keeps only the running cell state, in ``c_n``.

    ``weights_packed`` is the Cython engine's (packed panels kept by the layer) and is ignored here.
    """
    H = h0.shape[1]
    gates, bias = ws["gates"], ws["bias"]  # (T, B, 4H); (4H,)
    bias[...] = b_ih + b_hh

    # Input projection of every step at once: one GEMM with T·B rows.
    np.matmul(rows(x), w_ih.T, out=rows(gates))  # GEMM: gates = X W_ihᵀ
    gates += bias

    h_prev, c_prev = h0, c0
    for t in time_steps(x.shape[0], reverse):
        a = gates[t]  # (B, 4H) pre-activations of step t
        a += h_prev @ w_hh.T  # GEMM: a += h_{t-1} W_hhᵀ
        sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])  # i, f
        np.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])  # g
        sigmoid(a[:, 3 * H :], out=a[:, 3 * H :])  # o
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]

        c_t = ws["c"][t] if training else c_n  # (B, H)
        c_t[...] = f * c_prev + i * g
        y[t] = o * np.tanh(c_t)  # h_t
        h_prev, c_prev = y[t], c_t

    h_n[...] = h_prev
    c_n[...] = c_prev


def lstm_backward(
    x,
    w_ih,
    w_hh,
    b_ih,
    b_hh,
    h0,
    c0,
    y,
    ws,
    dy,
    dh_n,
    dc_n,
    dx,
    dw_ih,
    dw_hh,
    db_ih,
    db_hh,
    dh0,
    dc0,
    bws,
    accumulate_dx,
    reverse,
):
    """Backpropagate through time; write dx (T, B, D) (``+=`` if ``accumulate_dx``), the parameter
    gradients and ``dh0``, ``dc0`` (B, H). ``ws`` is the workspace of a training-mode forward."""
    T = x.shape[0]
    H = h0.shape[1]
    gates, cells = ws["gates"], ws["c"]  # (T, B, 4H) activated i|f|g|o; (T, B, H)
    dgates = bws["dgates"]  # (T, B, 4H)
    dh, dc = dh0, dc0  # (B, H) running gradients w.r.t. h_t, c_t
    dh[...] = dh_n
    dc[...] = dc_n

    order = time_steps(T, reverse)
    for k in reversed(range(T)):
        t = order[k]
        c_prev = c0 if k == 0 else cells[order[k - 1]]

        dh += dy[t]
        a = gates[t]
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        tc = np.tanh(cells[t])  # recomputed, not saved

        da = dgates[t]  # (B, 4H)
        da[:, 3 * H :] = dh * tc * o * (1 - o)  # d o
        dc += dh * o * (1 - tc * tc)
        da[:, :H] = dc * g * i * (1 - i)  # d i
        da[:, H : 2 * H] = dc * c_prev * f * (1 - f)  # d f
        da[:, 2 * H : 3 * H] = dc * i * (1 - g * g)  # d g
        dc *= f  # dc_{t-1}
        np.matmul(da, w_hh, out=dh)  # GEMM: dh_{t-1} = dA_t W_hh

    # Batched gradient GEMMs over all T·B rows.
    shared_gate_parameter_grads(dgates, x, w_ih, y, h0, reverse, dx, dw_ih, dw_hh, db_ih, db_hh, accumulate_dx)
