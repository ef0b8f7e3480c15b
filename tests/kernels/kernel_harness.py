"""Call any engine that implements the ENGINE CONTRACT (lstm_energy.kernels or lstm_energy.reference)
with freshly allocated buffers, and make the random problems the tests share.

Every output and workspace buffer starts filled with NaN, so a kernel that reads a buffer before
writing it, or forgets to write part of an output, shows up as NaN in the result.
"""

from dataclasses import dataclass

import numpy as np

GATES = {"lstm": 4, "gru": 3, "rnn": 1}
# The cell variants tests run over: (contract cell name, relu flag).
VARIANTS = {"lstm": ("lstm", False), "gru": ("gru", False), "rnn_tanh": ("rnn", False), "rnn_relu": ("rnn", True)}
# Relative tolerances against the float64 oracle: float64 kernels to ~1e-10, float32 to ~1e-4.
RTOL = {np.float64: 1e-10, np.float32: 1e-4}


@dataclass
class Problem:
    cell: str
    relu: bool
    x: np.ndarray
    params: dict
    h0: np.ndarray
    c0: np.ndarray
    dy: np.ndarray
    dh_n: np.ndarray
    dc_n: np.ndarray


def make_problem(variant, T, B, D, H, dtype, seed=0):
    """Random inputs, parameters (PyTorch's U(-1/sqrt(H), 1/sqrt(H)) scaled up a little so the
    nonlinearities are exercised) and output gradients, in ``dtype``."""
    cell, relu = VARIANTS[variant]
    rng = np.random.default_rng(seed)
    G = GATES[cell]
    scale = 1.5 / np.sqrt(H)

    def uniform(*shape):
        return rng.uniform(-scale, scale, size=shape).astype(dtype)

    params = dict(w_ih=uniform(G * H, D), w_hh=uniform(G * H, H), b_ih=uniform(G * H), b_hh=uniform(G * H))
    return Problem(
        cell=cell,
        relu=relu,
        x=rng.standard_normal((T, B, D)).astype(dtype),
        params=params,
        h0=(0.5 * rng.standard_normal((B, H))).astype(dtype),
        c0=(0.5 * rng.standard_normal((B, H))).astype(dtype) if cell == "lstm" else None,
        dy=rng.standard_normal((T, B, H)).astype(dtype),
        dh_n=rng.standard_normal((B, H)).astype(dtype),
        dc_n=rng.standard_normal((B, H)).astype(dtype) if cell == "lstm" else None,
    )


def sequence_buffer(T, B, H, dtype, layout, fill=np.nan):
    """A (T, B, H) array laid out as the layers may pass it.

    layout: "contiguous"; "column_slice" (the second direction's columns of a (T, B, 2H) array, as a
    bidirectional layer passes y and dy); "uneven" (a (T, B+1, H) array minus its first batch row, so
    time steps are NOT B rows apart and the kernels must fall back to one GEMM per step).
    """
    if layout == "contiguous":
        return np.full((T, B, H), fill, dtype)
    if layout == "column_slice":
        return np.full((T, B, 2 * H), fill, dtype)[:, :, H:]
    if layout == "uneven":
        return np.full((T, B + 1, H), fill, dtype)[:, 1:, :]
    raise ValueError(f"unknown layout {layout!r}")


def nan_buffers(shapes, dtype):
    return {name: np.full(shape, np.nan, dtype) for name, shape in shapes.items()}


def run_forward(engine, p, *, training, reverse, layout="contiguous"):
    """Returns (y, h_n, c_n or None, ws)."""
    T, B, D = p.x.shape
    H = p.h0.shape[1]
    dt = p.x.dtype
    w = p.params
    y = sequence_buffer(T, B, H, dt, layout)
    h_n = np.full((B, H), np.nan, dt)
    ws = nan_buffers(engine.workspace_shapes(p.cell, "forward", T, B, D, H, training), dt)
    c_n = None
    if p.cell == "lstm":
        c_n = np.full((B, H), np.nan, dt)
        engine.lstm_forward(
            p.x, w["w_ih"], w["w_hh"], w["b_ih"], w["b_hh"], p.h0, p.c0, y, h_n, c_n, ws, training, reverse
        )
    elif p.cell == "gru":
        engine.gru_forward(p.x, w["w_ih"], w["w_hh"], w["b_ih"], w["b_hh"], p.h0, y, h_n, ws, training, reverse)
    else:
        engine.rnn_forward(p.x, w["w_ih"], w["w_hh"], w["b_ih"], w["b_hh"], p.h0, y, h_n, ws, training, reverse, p.relu)
    return y, h_n, c_n, ws


def run_backward(engine, p, y, ws, *, reverse, layout="contiguous", dx_init=None):
    """Returns the gradient dict (dx, dw_ih, dw_hh, db_ih, db_hh, dh0[, dc0]).

    dx_init: None to overwrite dx (accumulate_dx=False), or an array dx starts from with
    accumulate_dx=True."""
    T, B, D = p.x.shape
    H = p.h0.shape[1]
    dt = p.x.dtype
    w = p.params
    dy = sequence_buffer(T, B, H, dt, layout)
    dy[...] = p.dy
    g = dict(
        dw_ih=np.full_like(w["w_ih"], np.nan),
        dw_hh=np.full_like(w["w_hh"], np.nan),
        db_ih=np.full_like(w["b_ih"], np.nan),
        db_hh=np.full_like(w["b_hh"], np.nan),
        dh0=np.full((B, H), np.nan, dt),
    )
    accumulate = dx_init is not None
    g["dx"] = dx_init.copy() if accumulate else np.full((T, B, D), np.nan, dt)
    bws = nan_buffers(engine.workspace_shapes(p.cell, "backward", T, B, D, H, True), dt)
    common = (g["dx"], g["dw_ih"], g["dw_hh"], g["db_ih"], g["db_hh"], g["dh0"])
    if p.cell == "lstm":
        g["dc0"] = np.full((B, H), np.nan, dt)
        engine.lstm_backward(
            p.x,
            w["w_ih"],
            w["w_hh"],
            w["b_ih"],
            w["b_hh"],
            p.h0,
            p.c0,
            y,
            ws,
            dy,
            p.dh_n,
            p.dc_n,
            *common,
            g["dc0"],
            bws,
            accumulate,
            reverse,
        )
    elif p.cell == "gru":
        engine.gru_backward(
            p.x, w["w_ih"], w["w_hh"], w["b_ih"], w["b_hh"], p.h0, y, ws, dy, p.dh_n, *common, bws, accumulate, reverse
        )
    else:
        engine.rnn_backward(
            p.x,
            w["w_ih"],
            w["w_hh"],
            w["b_ih"],
            w["b_hh"],
            p.h0,
            y,
            ws,
            dy,
            p.dh_n,
            *common,
            bws,
            accumulate,
            reverse,
            p.relu,
        )
    return g


def assert_close(actual, expected, dtype, what):
    """|actual - expected| <= rtol · (|expected| + 0.1·max|expected|) elementwise, rtol by dtype.

    The absolute floor (a tenth of the array's scale) keeps near-zero entries of an otherwise O(1)
    array from demanding impossible relative accuracy in float32; it never hides a NaN."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert np.all(np.isfinite(actual)), f"{what}: non-finite entries {actual[~np.isfinite(actual)][:5]}"
    rtol = RTOL[np.dtype(dtype).type]
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0.1 * rtol * scale, err_msg=what)
