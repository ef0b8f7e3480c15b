"""Reduced-precision inference (issue 18): the NumPy specification of the int8 and bf16 schemes.

int8 (dynamic quantization, like ``torch.ao.quantization.quantize_dynamic``'s LSTM/GRU, with symmetric
scales on both sides):

* weights, once: per output row n, ``ws[n] = max|W[n]| / 127``, ``Wq = rint(W * (127 / max|W[n]|))``
  in [-127, 127] (int8);
* activations (x for the input projection, h at every step): per row m, ``s[m] = max|A[m]| / 127``,
  ``q = rint(A * (127 / max|A[m]|))`` in [-127, 127] (a zero row: q = 0, s = 0);
* ``out = float32(acc) * (s[m] * ws[n])`` with ``acc = q @ Wq.T`` summed exactly in integers;
* gate math, biases and states in float32, as in the fp32 layers.

bf16: weights and activations rounded to bfloat16 (round to nearest even), products summed in float32.

``forward(cell, precision, ...)`` runs one layer and direction; the Cython engine
(``lstm_energy.kernels.lowp``) computes the same products (the int8 ones bit for bit, on every path).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit as sigmoid

from lstm_energy.errors import ConfigError
from lstm_energy.reference.views import time_steps

F32 = np.float32


def quantize_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per row of a 2-D float32 array: (q int8 (M, K), scale float32 (M,))."""
    a = np.asarray(a, F32)
    amax = np.abs(a).max(axis=1)
    positive = amax > 0
    inv = np.zeros_like(amax)
    inv[positive] = F32(127) / amax[positive]
    q = np.rint(np.clip(a * inv[:, None], F32(-127), F32(127))).astype(np.int8)
    return q, (amax / F32(127)).astype(F32)


def int8_linear(a: np.ndarray, wq: np.ndarray, wscale: np.ndarray) -> np.ndarray:
    """a (M, K) float32 @ dequant(Wq (N, K), wscale (N,)).T with a quantized per row: (M, N) float32."""
    q, s = quantize_rows(a)
    acc = q.astype(np.int64) @ wq.astype(np.int64).T  # exact integer accumulation
    return acc.astype(F32) * (s[:, None] * wscale[None, :])


def to_bf16(a: np.ndarray) -> np.ndarray:
    """a rounded to bfloat16 (nearest even), returned as float32 values."""
    u = np.ascontiguousarray(a, F32).view(np.uint32)
    r = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)) << np.uint32(16)
    return r.astype(np.uint32).view(F32)


def bf16_linear(a: np.ndarray, w_bf16: np.ndarray) -> np.ndarray:
    """bf16(a) (M, K) @ w_bf16 (N, K, already rounded).T, float32 sums."""
    return (to_bf16(a) @ w_bf16.T).astype(F32)


def prepare_weight(w: np.ndarray, precision: str):
    """The weight as the precision's product uses it: int8 (Wq, wscale), bf16 rounded floats."""
    w = np.asarray(w, F32)
    if precision == "int8":
        return quantize_rows(w)
    if precision == "bf16":
        return to_bf16(w)
    raise ConfigError(
        f"unknown reduced precision {precision!r}: expected 'int8' or 'bf16' (fp32 runs the layers' own kernels)"
    )


def linear(a: np.ndarray, prepared, precision: str) -> np.ndarray:
    return int8_linear(a, *prepared) if precision == "int8" else bf16_linear(a, prepared)


def forward(cell, precision, x, w_ih, w_hh, b_ih, b_hh, h0, c0, y, h_n, c_n, reverse=False, relu=False):
    """One layer and direction, eval mode. x (T, B, D); y (T, B, H) OUT; h_n, c_n (B, H) OUT (c0, c_n
    None except for the LSTM). Same gate math as lstm_energy.reference.lstm/gru/rnn."""
    T, B, D = x.shape
    H = h0.shape[1]
    pih, phh = prepare_weight(w_ih, precision), prepare_weight(w_hh, precision)
    gx = linear(x.reshape(T * B, D), pih, precision).reshape(T, B, -1)
    h = np.asarray(h0, F32).copy()
    c = None if c0 is None else np.asarray(c0, F32).copy()
    for t in time_steps(T, reverse):
        gh = linear(h, phh, precision)
        if cell == "lstm":
            a = gx[t] + gh + (b_ih + b_hh)
            i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), sigmoid(a[:, 3 * H :])
            g = np.tanh(a[:, 2 * H : 3 * H])
            c = f * c + i * g
            h = (o * np.tanh(c)).astype(F32)
        elif cell == "gru":
            rz = sigmoid(gx[t, :, : 2 * H] + gh[:, : 2 * H] + b_ih[: 2 * H] + b_hh[: 2 * H])
            r, z = rz[:, :H], rz[:, H:]
            n = np.tanh(gx[t, :, 2 * H :] + b_ih[2 * H :] + r * (gh[:, 2 * H :] + b_hh[2 * H :]))
            h = ((1 - z) * n + z * h).astype(F32)
        else:
            a = gx[t] + gh + (b_ih + b_hh)
            h = (np.maximum(a, 0) if relu else np.tanh(a)).astype(F32)
        y[t] = h
    h_n[...] = h
    if c_n is not None:
        c_n[...] = c
