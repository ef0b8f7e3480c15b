"""A deliberately naive float64 NumPy oracle for one recurrent layer and direction.

Written independently of both engines: the bias is added as two separate vectors, every step is a
plain `x @ W.T` on its own, and the backward accumulates every weight gradient step by step (the
min-char-rnn way) instead of batching GEMMs over time. Gate order: LSTM i|f|g|o, GRU r|z|n
(PyTorch's linear-before-reset GRU).

params: dict with w_ih (G*H, D), w_hh (G*H, H), b_ih, b_hh (G*H,).
"""

import numpy as np


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _order(T, reverse):
    return list(range(T - 1, -1, -1)) if reverse else list(range(T))


def _as64(*arrays):
    return [None if a is None else np.asarray(a, dtype=np.float64) for a in arrays]


def forward(cell, x, params, h0, c0=None, reverse=False, relu=False):
    """Return (y (T, B, H), h_n (B, H), c_n (B, H) or None, per-step cache for `backward`)."""
    x, h0, c0 = _as64(x, h0, c0)
    w_ih, w_hh, b_ih, b_hh = _as64(params["w_ih"], params["w_hh"], params["b_ih"], params["b_hh"])
    T, B, _ = x.shape
    H = h0.shape[1]
    y = np.zeros((T, B, H))
    h, c = h0, c0
    cache = {}
    for t in _order(T, reverse):
        gi = x[t] @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        if cell == "lstm":
            a = gi + gh
            i, f = _sigmoid(a[:, :H]), _sigmoid(a[:, H : 2 * H])
            g, o = np.tanh(a[:, 2 * H : 3 * H]), _sigmoid(a[:, 3 * H :])
            c_new = f * c + i * g
            h_new = o * np.tanh(c_new)
            cache[t] = dict(h_prev=h, c_prev=c, i=i, f=f, g=g, o=o, c=c_new)
            c = c_new
        elif cell == "gru":
            r = _sigmoid(gi[:, :H] + gh[:, :H])
            z = _sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
            n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
            h_new = (1.0 - z) * n + z * h
            cache[t] = dict(h_prev=h, r=r, z=z, n=n, ghn=gh[:, 2 * H :])
        elif cell == "rnn":
            a = gi + gh
            h_new = np.maximum(a, 0.0) if relu else np.tanh(a)
            cache[t] = dict(h_prev=h, a=a)
        else:
            raise ValueError(f"unknown cell {cell!r}")
        y[t] = h_new
        h = h_new
    return y, h, c, cache


def backward(cell, x, params, h0, c0, dy, dh_n, dc_n=None, reverse=False, relu=False):
    """Gradients of sum(y*dy) + sum(h_n*dh_n) (+ sum(c_n*dc_n)) w.r.t. everything.

    Returns a dict: dx, dw_ih, dw_hh, db_ih, db_hh, dh0 (and dc0 for the LSTM), all float64.
    """
    x, dy, dh_n, dc_n = _as64(x, dy, dh_n, dc_n)
    w_ih, w_hh = _as64(params["w_ih"], params["w_hh"])
    _, _, _, cache = forward(cell, x, params, h0, c0, reverse, relu)
    T, B, D = x.shape
    GH = w_ih.shape[0]
    grads = dict(
        dx=np.zeros_like(x),
        dw_ih=np.zeros_like(w_ih),
        dw_hh=np.zeros_like(w_hh),
        db_ih=np.zeros(GH),
        db_hh=np.zeros(GH),
    )
    dh = dh_n.copy()
    dc = None if dc_n is None else dc_n.copy()
    for t in reversed(_order(T, reverse)):
        k = cache[t]
        dh = dh + dy[t]
        if cell == "lstm":
            tc = np.tanh(k["c"])
            do = dh * tc
            dc = dc + dh * k["o"] * (1.0 - tc**2)
            di, df, dg = dc * k["g"], dc * k["c_prev"], dc * k["i"]
            da = np.concatenate(
                [
                    di * k["i"] * (1 - k["i"]),
                    df * k["f"] * (1 - k["f"]),
                    dg * (1 - k["g"] ** 2),
                    do * k["o"] * (1 - k["o"]),
                ],
                axis=1,
            )
            dc = dc * k["f"]
            da_in = da_hid = da
            dh_direct = 0.0
        elif cell == "gru":
            r, z, n = k["r"], k["z"], k["n"]
            dn = dh * (1.0 - z)
            dz = dh * (k["h_prev"] - n)
            dh_direct = dh * z
            dan = dn * (1.0 - n**2)
            dr = dan * k["ghn"]
            dghn = dan * r
            dar, daz = dr * r * (1 - r), dz * z * (1 - z)
            da_in = np.concatenate([dar, daz, dan], axis=1)
            da_hid = np.concatenate([dar, daz, dghn], axis=1)
        else:
            a = k["a"]
            da = dh * ((a > 0).astype(float) if relu else (1.0 - np.tanh(a) ** 2))
            da_in = da_hid = da
            dh_direct = 0.0
        grads["dx"][t] = da_in @ w_ih
        grads["dw_ih"] += da_in.T @ x[t]
        grads["dw_hh"] += da_hid.T @ k["h_prev"]
        grads["db_ih"] += da_in.sum(axis=0)
        grads["db_hh"] += da_hid.sum(axis=0)
        dh = dh_direct + da_hid @ w_hh
    grads["dh0"] = dh
    if cell == "lstm":
        grads["dc0"] = dc
    return grads
