"""NaN propagation (no -ffast-math), eval-mode workspaces, workspace_shapes, and the errors the
kernels raise instead of touching memory they were not given."""

import numpy as np
import pytest
from kernel_harness import VARIANTS, make_problem, nan_buffers, run_backward, run_forward

import lstm_energy.kernels as kernels
from lstm_energy.errors import ArgumentTypeError, ConfigError, ShapeError, StateError


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nan_input_propagates_to_outputs(variant, dtype):
    p = make_problem(variant, 4, 3, 5, 6, dtype, seed=31)
    p.x[1, 2, 0] = np.nan  # forward order: step 1, batch row 2
    y, h_n, c_n, ws = run_forward(kernels, p, training=True, reverse=False)
    assert np.all(np.isfinite(y[0])), "steps before the NaN are unaffected"
    assert np.all(np.isfinite(y[1:, :2])), "other batch rows are unaffected"
    assert np.all(np.isnan(y[1:, 2])), "the NaN reaches every later output of its row"
    assert np.all(np.isnan(h_n[2]))
    grads = run_backward(kernels, p, y, ws, reverse=False)  # must not crash
    assert np.isnan(grads["dw_ih"]).any()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_keeps_nan_and_infinities(dtype):
    p = make_problem("rnn_relu", 1, 1, 3, 3, dtype, seed=32)
    # Pre-activations [NaN, -inf, +inf] through the bias alone (a GEMM would turn inf·0 into NaN).
    for name in ("w_ih", "w_hh", "b_hh"):
        p.params[name][...] = 0
    p.params["b_ih"][...] = [np.nan, -np.inf, np.inf]
    y, _, _, _ = run_forward(kernels, p, training=False, reverse=False)
    assert np.isnan(y[0, 0, 0])
    assert y[0, 0, 1] == 0 and y[0, 0, 2] == np.inf


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_eval_workspace_saves_nothing_extra(variant):
    cell, _ = VARIANTS[variant]
    T, B, D, H = 7, 3, 5, 4
    train = kernels.workspace_shapes(cell, "forward", T, B, D, H, True)
    infer = kernels.workspace_shapes(cell, "forward", T, B, D, H, False)
    assert set(infer) <= set(train)
    saved = {name: shape for name, shape in train.items() if name not in infer}
    expected = {"lstm": {"c": (T, B, H)}, "gru": {"ghn": (T, B, H)}, "rnn": {}}[cell]
    assert saved == expected


def test_workspace_shapes_values():
    ws = kernels.workspace_shapes
    # w_ih/w_hh_panels: weights packed in 16-column panels, (ceil(N / 16), K, 16) for the (K, N) operand
    assert ws("lstm", "forward", 2, 3, 4, 5, True) == {
        "gates": (2, 3, 20),
        "bias": (20,),
        "c": (2, 3, 5),
        "w_ih_panels": (2, 4, 16),
        "w_hh_panels": (2, 5, 16),
    }
    assert ws("gru", "forward", 2, 3, 4, 5, False) == {
        "gates": (2, 3, 15),
        "gh": (3, 15),
        "bias": (20,),
        "w_ih_panels": (1, 4, 16),
        "w_hh_panels": (1, 5, 16),
    }
    assert ws("rnn", "forward", 2, 3, 4, 5, True) == {
        "bias": (5,),
        "w_ih_panels": (1, 4, 16),
        "w_hh_panels": (1, 5, 16),
    }
    # gemm_panels: one packed 256-row chunk of the large GEMMs' B operand, max(D, H) columns
    assert ws("lstm", "backward", 2, 3, 4, 5, True) == {
        "dgates": (2, 3, 20),
        "w_hh_panels": (1, 20, 16),
        "gemm_panels": (1, 256, 16),
    }
    assert ws("gru", "backward", 2, 3, 4, 5, True) == {
        "dgh": (2, 3, 15),
        "dgin": (2, 3, 5),
        "w_hh_panels": (1, 15, 16),
        "gemm_panels": (1, 256, 16),
    }
    assert ws("rnn", "backward", 2, 3, 4, 5, True) == {
        "dgates": (2, 3, 5),
        "w_hh_panels": (1, 5, 16),
        "gemm_panels": (1, 256, 16),
    }
    assert ws("gru", "backward", 2, 3, 80, 256, True)["gemm_panels"] == (16, 256, 16)
    assert ws("lstm", "forward", 2, 3, 4, 512, False)["w_hh_panels"] == (128, 512, 16)
    assert ws("lstm", "backward", 2, 3, 4, 512, True)["w_hh_panels"] == (32, 2048, 16)


@pytest.mark.parametrize(
    "args, error, match",
    [
        (("lstmx", "forward", 1, 1, 1, 1, True), ConfigError, "cell must be one of"),
        (("lstm", "sideways", 1, 1, 1, 1, True), ConfigError, "pass_ must be one of"),
        (("gru", "forward", 0, 1, 1, 1, True), ConfigError, "T must be a positive int"),
        (("rnn", "forward", 1, 1, 2.0, 1, True), ArgumentTypeError, "D must be a positive int"),
    ],
)
def test_workspace_shapes_rejects_bad_arguments(args, error, match):
    """A value out of range is a ConfigError (a ValueError), one of the wrong type an ArgumentTypeError (a
    TypeError)."""
    with pytest.raises(error, match=match):
        kernels.workspace_shapes(*args)


@pytest.mark.parametrize("variant", ["lstm", "gru"])
def test_backward_after_eval_forward_raises_state_error(variant):
    p = make_problem(variant, 3, 2, 4, 3, np.float64, seed=33)
    y, _, _, ws = run_forward(kernels, p, training=False, reverse=False)
    with pytest.raises(StateError, match="training-mode forward"):
        run_backward(kernels, p, y, ws, reverse=False)


def test_wrong_workspace_shape_raises_shape_error():
    p = make_problem("lstm", 3, 2, 4, 3, np.float64, seed=34)
    T, B, D, H = 3, 2, 4, 3
    ws = nan_buffers(kernels.workspace_shapes("lstm", "forward", T, B, D, H, True), np.float64)
    ws["gates"] = np.empty((T, B, 3 * H))
    w = p.params
    with pytest.raises(ShapeError, match=r"ws\['gates'\] has shape \(3, 2, 9\), expected \(3, 2, 12\)"):
        kernels.lstm_forward(
            p.x,
            w["w_ih"],
            w["w_hh"],
            w["b_ih"],
            w["b_hh"],
            p.h0,
            p.c0,
            np.empty((T, B, H)),
            np.empty((B, H)),
            np.empty((B, H)),
            ws,
            True,
            False,
        )


def test_mismatched_weight_shape_raises_shape_error():
    p = make_problem("gru", 3, 2, 4, 3, np.float64, seed=35)
    ws = nan_buffers(kernels.workspace_shapes("gru", "forward", 3, 2, 4, 3, False), np.float64)
    w = p.params
    with pytest.raises(ShapeError, match="w_hh has shape"):
        kernels.gru_forward(
            p.x,
            w["w_ih"],
            w["w_hh"][:, :2].copy(),
            w["b_ih"],
            w["b_hh"],
            p.h0,
            np.empty((3, 2, 3)),
            np.empty((2, 3)),
            ws,
            False,
            False,
        )


def _rnn_workspace(T, B, D, H, dtype=np.float64):
    return {
        name: np.empty(shape, dtype)
        for name, shape in kernels.workspace_shapes("rnn", "forward", T, B, D, H, False).items()
    }


def test_non_contiguous_last_axis_raises_shape_error():
    p = make_problem("rnn_tanh", 3, 2, 4, 3, np.float64, seed=36)
    w = p.params
    y = np.empty((3, 2, 6))[:, :, ::2]
    with pytest.raises(ShapeError, match="last dimension must be contiguous"):
        kernels.rnn_forward(
            p.x,
            w["w_ih"],
            w["w_hh"],
            w["b_ih"],
            w["b_hh"],
            p.h0,
            y,
            np.empty((2, 3)),
            _rnn_workspace(2, 3, 4, 3),
            False,
            False,
            False,
        )


def test_mixed_dtypes_are_rejected():
    p = make_problem("rnn_tanh", 3, 2, 4, 3, np.float64, seed=37)
    w = p.params
    with pytest.raises((TypeError, ValueError)):
        kernels.rnn_forward(
            p.x.astype(np.float32),
            w["w_ih"],
            w["w_hh"],
            w["b_ih"],
            w["b_hh"],
            p.h0,
            np.empty((3, 2, 3)),
            np.empty((2, 3)),
            _rnn_workspace(3, 2, 4, 3),
            False,
            False,
            False,
        )


def test_kernels_release_the_gil_and_run_concurrently():
    # Two threads on independent problems must both produce the single-thread answer.
    import threading

    problems = [make_problem("gru", 20, 4, 16, 16, np.float64, seed=s) for s in (40, 41)]
    expected = [run_forward(kernels, p, training=False, reverse=False)[0] for p in problems]
    results = [None, None]

    def work(k):
        for _ in range(5):
            results[k] = run_forward(kernels, problems[k], training=False, reverse=False)[0]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)
