"""Elman RNN, one layer and one direction, in plain NumPy.

    h_t = tanh(x W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)     (relu instead of tanh when ``relu``)

Shapes: x (T, B, D); w_ih (H, D); w_hh (H, H); b_ih, b_hh (H,); h0 (B, H); y (T, B, H).
"""

import numpy as np

from lstm_energy.reference.views import rows, shared_gate_parameter_grads, time_steps


def rnn_forward(x, w_ih, w_hh, b_ih, b_hh, h0, y, h_n, ws, training, reverse, relu, weights_packed=False):
    """Run the RNN over ``x``; write ``y`` (T, B, H) and ``h_n`` (B, H). The pre-activations are
    built in ``y`` itself; backward needs nothing beyond ``y``.
    ``weights_packed`` is the Cython engine's (packed panels kept by the layer) and is ignored here.
    """
    bias = ws["bias"]  # (H,)
    bias[...] = b_ih + b_hh

    np.matmul(rows(x), w_ih.T, out=rows(y))  # GEMM: Y = X W_ihᵀ (all steps)
    h_prev = h0
    for t in time_steps(x.shape[0], reverse):
        a = y[t]  # (B, H) pre-activation of step t
        a += bias
        a += h_prev @ w_hh.T  # GEMM: a += h_{t-1} W_hhᵀ
        if relu:
            np.maximum(a, 0, out=a)  # h_t (np.maximum propagates NaN)
        else:
            np.tanh(a, out=a)  # h_t
        h_prev = a

    h_n[...] = h_prev


def rnn_backward(
    x,
    w_ih,
    w_hh,
    b_ih,
    b_hh,
    h0,
    y,
    ws,
    dy,
    dh_n,
    dx,
    dw_ih,
    dw_hh,
    db_ih,
    db_hh,
    dh0,
    bws,
    accumulate_dx,
    reverse,
    relu,
):
    """Backpropagate through time; write dx (T, B, D) (``+=`` if ``accumulate_dx``), the parameter
    gradients and ``dh0`` (B, H)."""
    T = x.shape[0]
    dgates = bws["dgates"]  # (T, B, H)
    dh = dh0  # (B, H) running gradient w.r.t. h_t
    dh[...] = dh_n

    for t in reversed(time_steps(T, reverse)):
        dh += dy[t]
        h_t = y[t]
        da = dgates[t]  # (B, H)
        if relu:
            np.multiply(dh, h_t > 0, out=da)  # relu'(a) = [h_t > 0]
        else:
            np.multiply(dh, 1 - h_t * h_t, out=da)  # tanh'(a) = 1 − h_t²
        np.matmul(da, w_hh, out=dh)  # GEMM: dh_{t-1} = dA_t W_hh

    # Batched gradient GEMMs over all T·B rows.
    shared_gate_parameter_grads(dgates, x, w_ih, y, h0, reverse, dx, dw_ih, dw_hh, db_ih, db_hh, accumulate_dx)
