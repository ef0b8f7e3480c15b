"""GRU, one layer and one direction, in plain NumPy (PyTorch's "linear before reset" form, gates r|z|n).

    r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr)      z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
    n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))
    h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

Shapes: x (T, B, D); w_ih (3H, D); w_hh (3H, H); b_ih, b_hh (3H,); h0 (B, H); y (T, B, H).
"""

import numpy as np
from scipy.special import expit as sigmoid

from lstm_energy.reference.views import recurrent_weight_grad, rows, time_steps


def gru_forward(x, w_ih, w_hh, b_ih, b_hh, h0, y, h_n, ws, training, reverse, weights_packed=False):
    """Run the GRU over ``x``; write ``y`` (T, B, H) and ``h_n`` (B, H).

    Training mode keeps r|z|n in ``ws["gates"]`` and W_hn h_{t-1} + b_hn in ``ws["ghn"]``.

    ``weights_packed`` is the Cython engine's (packed panels kept by the layer) and is ignored here.
    """
    H = h0.shape[1]
    gates, gh, bias = ws["gates"], ws["gh"], ws["bias"]  # (T, B, 3H); (B, 3H); (4H,)
    bias[: 2 * H] = b_ih[: 2 * H] + b_hh[: 2 * H]  # r, z: both biases add
    bias[2 * H : 3 * H] = b_ih[2 * H :]  # b_in: outside r ⊙ (...)
    bias[3 * H :] = b_hh[2 * H :]  # b_hn: inside r ⊙ (W_hn h + b_hn)
    b_hn = bias[3 * H :]

    # Input projection of every step at once: one GEMM with T·B rows.
    np.matmul(rows(x), w_ih.T, out=rows(gates))  # GEMM: gates = X W_ihᵀ
    gates += bias[: 3 * H]

    h_prev = h0
    for t in time_steps(x.shape[0], reverse):
        np.matmul(h_prev, w_hh.T, out=gh)  # GEMM: gh = h_{t-1} W_hhᵀ
        a = gates[t]  # (B, 3H)
        a[:, : 2 * H] += gh[:, : 2 * H]
        sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])  # r, z
        r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
        gh_n = gh[:, 2 * H :]
        gh_n += b_hn  # W_hn h_{t-1} + b_hn
        if training:
            ws["ghn"][t] = gh_n
        n += r * gh_n
        np.tanh(n, out=n)
        y[t] = n + z * (h_prev - n)  # h_t = (1 − z) n + z h_{t-1}
        h_prev = y[t]

    h_n[...] = h_prev


def gru_backward(
    x, w_ih, w_hh, b_ih, b_hh, h0, y, ws, dy, dh_n, dx, dw_ih, dw_hh, db_ih, db_hh, dh0, bws, accumulate_dx, reverse
):
    """Backpropagate through time; write dx (T, B, D) (``+=`` if ``accumulate_dx``), the parameter
    gradients and ``dh0`` (B, H). ``ws`` is the workspace of a training-mode forward.

    The input side's gate gradients are [da_r | da_z | da_n], the recurrent side's
    [da_r | da_z | da_n ⊙ r]; ``bws["dgh"]`` holds the latter and ``bws["dgin"]`` the input-side da_n.
    """
    T = x.shape[0]
    H = h0.shape[1]
    gates, ghn = ws["gates"], ws["ghn"]  # (T, B, 3H) r|z|n; (T, B, H)
    dgh, dgin = bws["dgh"], bws["dgin"]  # (T, B, 3H); (T, B, H)
    dh = dh0  # (B, H) running gradient w.r.t. h_t
    dh[...] = dh_n

    order = time_steps(T, reverse)
    for k in reversed(range(T)):
        t = order[k]
        h_prev = h0 if k == 0 else y[order[k - 1]]

        dh += dy[t]
        a = gates[t]
        r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]

        da_z = dh * (h_prev - n) * z * (1 - z)
        da_n = dh * (1 - z) * (1 - n * n)  # input-side n pre-activation
        da_r = da_n * ghn[t] * r * (1 - r)
        dgh[t, :, :H], dgh[t, :, H : 2 * H], dgh[t, :, 2 * H :] = da_r, da_z, da_n * r
        dgin[t] = da_n
        dh *= z
        dh += dgh[t] @ w_hh  # GEMM: dh_{t-1} = dh ⊙ z + dGh_t W_hh

    # Batched gradient GEMMs over all T·B rows; the input side is [dGh[:, :2H] | dN].
    dGh, dN, X = rows(dgh), rows(dgin), rows(x)  # (T·B, 3H); (T·B, H); (T·B, D)
    dx_rows = rows(dx)
    if not accumulate_dx:
        dx_rows[...] = 0
    dx_rows += dGh[:, : 2 * H] @ w_ih[: 2 * H]  # GEMM: dX += dA_rz W_ih[r,z]
    dx_rows += dN @ w_ih[2 * H :]  # GEMM: dX += dN W_ih[n]
    np.matmul(dGh[:, : 2 * H].T, X, out=dw_ih[: 2 * H])  # GEMM: dW_ih[r,z] = dA_rzᵀ X
    np.matmul(dN.T, X, out=dw_ih[2 * H :])  # GEMM: dW_ih[n] = dNᵀ X
    recurrent_weight_grad(dgh, y, h0, reverse, out=dw_hh)  # dW_hh = dGhᵀ H_prev
    np.sum(dGh[:, : 2 * H], axis=0, out=db_ih[: 2 * H])
    np.sum(dN, axis=0, out=db_ih[2 * H :])
    np.sum(dGh, axis=0, out=db_hh)
