"""Engine contract semantics beyond gradients: outputs, reverse, modes, strided y, buffer ownership."""

import numpy as np
import pytest

CASES = [("lstm", False), ("gru", False), ("rnn", False), ("rnn", True)]  # (cell, relu)


def manual_step(cell, relu, x_t, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step written from the PyTorch equations, gate by gate (independent of the engines' layout tricks)."""

    def sig(v):
        return 1 / (1 + np.exp(-v))

    H = h.shape[1]
    gi = x_t @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    if cell == "rnn":
        a = gi + gh
        return (np.maximum(a, 0) if relu else np.tanh(a)), None
    if cell == "gru":
        r = sig(gi[:, :H] + gh[:, :H])
        z = sig(gi[:, H : 2 * H] + gh[:, H : 2 * H])
        n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
        return (1 - z) * n + z * h, None
    a = gi + gh
    i, f, g, o = sig(a[:, :H]), sig(a[:, H : 2 * H]), np.tanh(a[:, 2 * H : 3 * H]), sig(a[:, 3 * H :])
    c_new = f * c + i * g
    return o * np.tanh(c_new), c_new


@pytest.mark.parametrize("cell,relu", CASES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("training", [False, True])
def test_forward_matches_the_cell_equations(engine, rng, kit, cell, relu, reverse, training):
    p = kit.make_problem(rng, cell, 5, 3, 4, 3)
    y, h_n, c_n, _ = kit.forward(engine, p, relu, reverse, training)
    h, c = p.h0, p.c0
    steps = range(p.T - 1, -1, -1) if reverse else range(p.T)
    for t in steps:
        h, c = manual_step(cell, relu, p.x[t], h, c, p.w_ih, p.w_hh, p.b_ih, p.b_hh)
        np.testing.assert_allclose(y[t], h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n, h, rtol=1e-12, atol=1e-12)
    if cell == "lstm":
        np.testing.assert_allclose(c_n, c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell,relu", CASES)
def test_strided_output_leaves_the_other_columns_alone(engine, rng, kit, cell, relu):
    p = kit.make_problem(rng, cell, 4, 2, 3, 3)
    y, *_ = kit.forward(engine, p, relu, reverse=False, column=0)
    wide = y.base if y.base is not None else y
    assert np.isnan(wide[:, :, p.H :]).all()  # the other direction's columns untouched
    assert np.isfinite(y).all()


@pytest.mark.parametrize("cell,relu", CASES)
def test_float32_matches_float64(engine, rng, kit, cell, relu):
    p = kit.make_problem(rng, cell, 6, 3, 4, 5)
    y64, h64, c64, _ = kit.forward(engine, p, relu, reverse=False)
    for name in ("x", "w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0"):
        setattr(p, name, getattr(p, name).astype(np.float32))
    T, B, D, H = p.T, p.B, p.D, p.H
    ws = {k: np.empty(s, np.float32) for k, s in engine.workspace_shapes(cell, "forward", T, B, D, H, False).items()}
    y = np.empty((T, B, H), np.float32)
    h_n, c_n = np.empty((B, H), np.float32), np.empty((B, H), np.float32)
    if cell == "lstm":
        engine.lstm_forward(p.x, p.w_ih, p.w_hh, p.b_ih, p.b_hh, p.h0, p.c0, y, h_n, c_n, ws, False, False)
    elif cell == "gru":
        engine.gru_forward(p.x, p.w_ih, p.w_hh, p.b_ih, p.b_hh, p.h0, y, h_n, ws, False, False)
    else:
        engine.rnn_forward(p.x, p.w_ih, p.w_hh, p.b_ih, p.b_hh, p.h0, y, h_n, ws, False, False, relu)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, y64, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(h_n, h64, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("cell,relu", CASES)
@pytest.mark.parametrize("reverse", [False, True])
def test_engines_are_interchangeable_mid_pass(rng, kit, cell, relu, reverse):
    """Forward on one engine and backward on the other, through the same workspace, gives the same
    gradients as either engine alone: the two agree on what the workspace holds."""
    from lstm_energy._layers.engines import engine_available, load_engine

    ok, reason = engine_available("cython")
    if not ok:
        pytest.skip(reason)
    numpy_engine, cython_engine = load_engine("numpy"), load_engine("cython")
    p = kit.make_problem(rng, cell, 5, 3, 4, 3)
    expected = kit.backward(numpy_engine, p, relu, reverse)
    for forward_engine, backward_engine in ((numpy_engine, cython_engine), (cython_engine, numpy_engine)):
        mixed = kit.backward(backward_engine, p, relu, reverse, forward_engine=forward_engine)
        for name, grad in expected.items():
            np.testing.assert_allclose(mixed[name], grad, rtol=1e-10, atol=1e-12, err_msg=f"{cell} d{name}")
