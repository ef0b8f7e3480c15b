"""Fixtures for the engine-level tests: every test runs on the NumPy reference and on the Cython
kernels (skipped, with the reason, while the kernels are not built)."""

from types import SimpleNamespace

import numpy as np
import pytest

from lstm_energy._layers.engines import load_engine
from lstm_energy.config import GATES


@pytest.fixture
def engine(impl):
    """The engine module of ``impl`` (tests/conftest.py: numpy, and cython when built); ``rng`` is there too."""
    return load_engine(impl)


# ---------------------------------------------------------------- one-direction problems
def make_problem(rng, cell, T, B, D, H):
    G = GATES[cell]
    p = SimpleNamespace(cell=cell, T=T, B=B, D=D, H=H)
    p.x = rng.standard_normal((T, B, D))
    p.w_ih = 0.6 * rng.standard_normal((G * H, D))
    p.w_hh = 0.6 * rng.standard_normal((G * H, H))
    p.b_ih = 0.3 * rng.standard_normal(G * H)
    p.b_hh = 0.3 * rng.standard_normal(G * H)
    p.h0 = rng.standard_normal((B, H))
    p.c0 = rng.standard_normal((B, H))
    p.gy = rng.standard_normal((T, B, H))
    p.gh = rng.standard_normal((B, H))
    p.gc = rng.standard_normal((B, H))
    return p


def column_slice(values, column):
    """values (T, B, H) placed as column block ``column`` of a NaN-filled (T, B, 2H) array; returns the view."""
    T, B, H = values.shape
    wide = np.full((T, B, 2 * H), np.nan)
    view = wide[:, :, column * H : (column + 1) * H]
    view[...] = values
    return view


def forward(engine, p, relu, reverse, training=True, column=1):
    """Run the engine's forward; returns (y view, h_n, c_n, ws)."""
    T, B, D, H = p.T, p.B, p.D, p.H
    ws = {k: np.full(s, np.nan) for k, s in engine.workspace_shapes(p.cell, "forward", T, B, D, H, training).items()}
    y = column_slice(np.full((T, B, H), np.nan), column)
    h_n, c_n = np.full((B, H), np.nan), np.full((B, H), np.nan)
    if p.cell == "lstm":
        engine.lstm_forward(p.x, p.w_ih, p.w_hh, p.b_ih, p.b_hh, p.h0, p.c0, y, h_n, c_n, ws, training, reverse)
    elif p.cell == "gru":
        engine.gru_forward(p.x, p.w_ih, p.w_hh, p.b_ih, p.b_hh, p.h0, y, h_n, ws, training, reverse)
    else:
        engine.rnn_forward(p.x, p.w_ih, p.w_hh, p.b_ih, p.b_hh, p.h0, y, h_n, ws, training, reverse, relu)
    return y, h_n, c_n, ws


def backward(engine, p, relu, reverse, dx_initial=None, forward_engine=None):
    """Forward (training; on ``forward_engine`` if given) then backward; returns {name: gradient}."""
    T, B, D, H = p.T, p.B, p.D, p.H
    y, _, _, ws = forward(forward_engine or engine, p, relu, reverse)
    bws = {k: np.full(s, np.nan) for k, s in engine.workspace_shapes(p.cell, "backward", T, B, D, H, True).items()}
    g = {name: np.full(getattr(p, name).shape, np.nan) for name in ("w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0")}
    accumulate = dx_initial is not None
    g["x"] = dx_initial.copy() if accumulate else np.full((T, B, D), np.nan)
    dy = column_slice(p.gy, 0)
    common = (p.x, p.w_ih, p.w_hh, p.b_ih, p.b_hh, p.h0)
    outs = (g["x"], g["w_ih"], g["w_hh"], g["b_ih"], g["b_hh"], g["h0"])
    if p.cell == "lstm":
        engine.lstm_backward(*common, p.c0, y, ws, dy, p.gh, p.gc, *outs, g["c0"], bws, accumulate, reverse)
    elif p.cell == "gru":
        engine.gru_backward(*common, y, ws, dy, p.gh, *outs, bws, accumulate, reverse)
    else:
        engine.rnn_backward(*common, y, ws, dy, p.gh, *outs, bws, accumulate, reverse, relu)
    if p.cell != "lstm":
        del g["c0"]
    return g


def loss(engine, p, relu, reverse):
    y, h_n, c_n, _ = forward(engine, p, relu, reverse, training=False)
    total = np.sum(y * p.gy) + np.sum(h_n * p.gh)
    return total + (np.sum(c_n * p.gc) if p.cell == "lstm" else 0.0)


def numerical_gradient(engine, p, name, relu, reverse, eps=1e-6):
    array = getattr(p, name)
    grad = np.empty_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        plus = loss(engine, p, relu, reverse)
        array[index] = saved - eps
        minus = loss(engine, p, relu, reverse)
        array[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


@pytest.fixture
def kit():
    """The helpers above, for test modules (which cannot import this conftest in importlib mode)."""
    return SimpleNamespace(
        make_problem=make_problem,
        forward=forward,
        backward=backward,
        numerical_gradient=numerical_gradient,
        column_slice=column_slice,
    )
