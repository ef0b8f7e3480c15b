"""GRU, one layer and one direction, in plain NumPy (PyTorch's "linear before reset" form, gates r|z|n).

    r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr)      z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
    n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))
    h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

Shapes: x (T, B, D); w_ih (3H, D); w_hh (3H, H); b_ih, b_hh (3H,); h0 (B, H); y (T, B, H).
"""
import numpy as np
from scipy.special import expit as sigmoid

from lstm_energy.reference.steps import time_steps


def gru_forward(x, w_ih, w_hh, b_ih, b_hh, h0, y, h_n, ws, training, reverse):
    """Run the GRU over ``x``; write ``y`` (T, B, H) and ``h_n`` (B, H).

    Training mode keeps r|z|n in ``ws["gates"]`` and W_hn·h_{t-1} + b_hn in ``ws["gh_n"]``.
    """
    T, B, D = x.shape
    H = h0.shape[1]
    gates, gh = ws["gates"], ws["gh"]                     # (T, B, 3H); (B, 3H)

    # Input projection of every step at once: one GEMM with T·B rows.
    np.matmul(x.reshape(T * B, D), w_ih.T, out=gates.reshape(T * B, 3 * H))   # gates = x W_ihᵀ
    gates += b_ih

    h_prev = h0
    for t in time_steps(T, reverse):
        np.matmul(h_prev, w_hh.T, out=gh)                 # recurrent GEMM: gh = h_{t-1} W_hhᵀ
        gh += b_hh
        a = gates[t]                                      # (B, 3H)
        a[:, : 2 * H] += gh[:, : 2 * H]
        sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])         # r, z
        r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
        gh_n = gh[:, 2 * H :]                             # W_hn h_{t-1} + b_hn
        if training:
            ws["gh_n"][t] = gh_n
        n += r * gh_n
        np.tanh(n, out=n)
        y[t] = n + z * (h_prev - n)                       # h_t = (1 − z) n + z h_{t-1}
        h_prev = y[t]

    h_n[...] = h_prev


def gru_backward(x, w_ih, w_hh, b_ih, b_hh, h0, y, ws, dy, dh_n,
                 dx, dw_ih, dw_hh, db_ih, db_hh, dh0, bws, accumulate_dx, reverse):
    """Backpropagate through time; write dx (T, B, D) (``+=`` if ``accumulate_dx``), the parameter
    gradients and ``dh0`` (B, H). ``ws`` is the workspace of a training-mode forward."""
    T, B, D = x.shape
    H = h0.shape[1]
    gates, gh_n_all = ws["gates"], ws["gh_n"]             # (T, B, 3H) r|z|n; (T, B, H)
    dgi, dgh = bws["dgates"], bws["dgates_h"]             # (T, B, 3H) input side, recurrent side
    h_prev_all, dh = bws["h_prev"], bws["dh"]             # (T, B, H); (B, H)
    dh[...] = dh_n

    order = time_steps(T, reverse)
    for k in reversed(range(T)):
        t = order[k]
        h_prev = h0 if k == 0 else y[order[k - 1]]
        h_prev_all[t] = h_prev

        dh += dy[t]
        a = gates[t]
        r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
        gh_n = gh_n_all[t]

        da_z = dh * (h_prev - n) * z * (1 - z)
        da_n = dh * (1 - z) * (1 - n * n)                 # input-side n pre-activation
        da_r = da_n * gh_n * r * (1 - r)
        dgi[t, :, :H], dgi[t, :, H : 2 * H], dgi[t, :, 2 * H :] = da_r, da_z, da_n
        dgh[t, :, :H], dgh[t, :, H : 2 * H], dgh[t, :, 2 * H :] = da_r, da_z, da_n * r
        dh *= z
        dh += dgh[t] @ w_hh                               # GEMM: dh_{t-1} = dh z + dGh_t W_hh

    dh0[...] = dh

    # Batched gradient GEMMs over all T·B rows.
    dGi, dGh = dgi.reshape(T * B, 3 * H), dgh.reshape(T * B, 3 * H)
    dx_rows = dx.reshape(T * B, D)
    if accumulate_dx:
        dx_rows += dGi @ w_ih                             # GEMM: dx += dGi W_ih
    else:
        np.matmul(dGi, w_ih, out=dx_rows)                 # GEMM: dx = dGi W_ih
    np.matmul(dGi.T, x.reshape(T * B, D), out=dw_ih)      # GEMM: dW_ih = dGiᵀ X
    np.matmul(dGh.T, h_prev_all.reshape(T * B, H), out=dw_hh)  # GEMM: dW_hh = dGhᵀ H_prev
    np.sum(dGi, axis=0, out=db_ih)
    np.sum(dGh, axis=0, out=db_hh)
