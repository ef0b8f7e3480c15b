"""Elman RNN, one layer and one direction, in plain NumPy.

    h_t = tanh(x W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)     (relu instead of tanh when ``relu``)

Shapes: x (T, B, D); w_ih (H, D); w_hh (H, H); b_ih, b_hh (H,); h0 (B, H); y (T, B, H).
"""
import numpy as np

from lstm_energy.reference.steps import time_steps


def rnn_forward(x, w_ih, w_hh, b_ih, b_hh, h0, y, h_n, ws, training, reverse, relu):
    """Run the RNN over ``x``; write ``y`` (T, B, H) and ``h_n`` (B, H). Backward needs only ``y``."""
    T, B, D = x.shape
    H = h0.shape[1]
    gates = ws["gates"]                                   # (T, B, H) pre-activations

    np.matmul(x.reshape(T * B, D), w_ih.T, out=gates.reshape(T * B, H))   # GEMM: gates = x W_ihᵀ
    gates += b_ih + b_hh

    h_prev = h0
    for t in time_steps(T, reverse):
        a = gates[t]                                      # (B, H)
        a += h_prev @ w_hh.T                              # recurrent GEMM: a += h_{t-1} W_hhᵀ
        y[t] = np.maximum(a, 0) if relu else np.tanh(a)   # h_t (np.maximum propagates NaN)
        h_prev = y[t]

    h_n[...] = h_prev


def rnn_backward(x, w_ih, w_hh, b_ih, b_hh, h0, y, ws, dy, dh_n,
                 dx, dw_ih, dw_hh, db_ih, db_hh, dh0, bws, accumulate_dx, reverse, relu):
    """Backpropagate through time; write dx (T, B, D) (``+=`` if ``accumulate_dx``), the parameter
    gradients and ``dh0`` (B, H)."""
    T, B, D = x.shape
    H = h0.shape[1]
    dgates, h_prev_all, dh = bws["dgates"], bws["h_prev"], bws["dh"]   # (T, B, H); (T, B, H); (B, H)
    dh[...] = dh_n

    order = time_steps(T, reverse)
    for k in reversed(range(T)):
        t = order[k]
        h_prev_all[t] = h0 if k == 0 else y[order[k - 1]]
        dh += dy[t]
        h_t = y[t]
        da = dgates[t]                                    # (B, H)
        if relu:
            np.multiply(dh, h_t > 0, out=da)              # relu'(a) = [h_t > 0]
        else:
            np.multiply(dh, 1 - h_t * h_t, out=da)        # tanh'(a) = 1 − h_t²
        np.matmul(da, w_hh, out=dh)                       # GEMM: dh_{t-1} = dA_t W_hh

    dh0[...] = dh

    dA = dgates.reshape(T * B, H)
    dx_rows = dx.reshape(T * B, D)
    if accumulate_dx:
        dx_rows += dA @ w_ih                              # GEMM: dx += dA W_ih
    else:
        np.matmul(dA, w_ih, out=dx_rows)                  # GEMM: dx = dA W_ih
    np.matmul(dA.T, x.reshape(T * B, D), out=dw_ih)       # GEMM: dW_ih = dAᵀ X
    np.matmul(dA.T, h_prev_all.reshape(T * B, H), out=dw_hh)  # GEMM: dW_hh = dAᵀ H_prev
    np.sum(dA, axis=0, out=db_ih)
    db_hh[...] = db_ih
