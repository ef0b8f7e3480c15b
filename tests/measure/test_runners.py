"""Prepared runners: validation, the three phases, same weights across implementations."""

import sys

import numpy as np
import pytest

from lstm_energy._layers.engines import engine_available
from lstm_energy.errors import ConfigError
from lstm_energy.measure.runners import prepare

SHAPE = dict(batch=3, seq_len=5, input_size=4, hidden_size=6)
NUMPY_IMPLS = [
    "numpy",
    pytest.param(
        "cython",
        marks=pytest.mark.skipif(
            not engine_available("cython")[0], reason=f"Cython kernels not built: {engine_available('cython')[1]}"
        ),
    ),
]


@pytest.mark.parametrize(
    "override, message",
    [
        (dict(cell="lstn"), "unknown cell 'lstn'"),
        (dict(impl="jax"), "unknown impl 'jax'"),
        (dict(phase="infer"), "unknown phase 'infer'"),
        (dict(dtype="float16"), "unknown dtype 'float16'"),
        (dict(nonlinearity="sigmoid", cell="rnn"), "unknown nonlinearity"),
        (dict(nonlinearity="relu", cell="gru"), "only applies to cell='rnn'"),
        (dict(batch=0), "batch must be a positive int"),
    ],
)
def test_bad_configurations_raise_config_error(override, message):
    args = dict(cell="lstm", impl="numpy", phase="forward", **SHAPE)
    args.update(override)
    with pytest.raises(ConfigError, match=message):
        prepare(**args)


def test_torch_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(ConfigError, match=r'pip install -e "\.\[torch\]"'):
        prepare("gru", "torch", "forward", **SHAPE)


@pytest.mark.parametrize("impl", NUMPY_IMPLS)
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_backward_can_repeat_over_the_same_saved_state(impl, cell):
    runner = prepare(cell, impl, "backward", bidirectional=True, num_layers=2, **SHAPE)
    dx1, _ = runner.run()
    grads1 = {k: v.copy() for k, v in runner.layer.grads.items()}
    dx2, _ = runner.run()
    np.testing.assert_array_equal(dx1, dx2)
    for name, value in runner.layer.grads.items():
        np.testing.assert_array_equal(value, grads1[name])


@pytest.mark.parametrize("impl", NUMPY_IMPLS)
def test_phases_do_what_they_say(impl):
    forward = prepare("lstm", impl, "forward", **SHAPE)
    y, (h_n, c_n) = forward.run()
    assert y.shape == (5, 3, 6) and not forward.layer.training
    train = prepare("lstm", impl, "train", **SHAPE)
    dx, _ = train.run()
    assert dx.shape == (5, 3, 4) and train.layer.training
    # train = forward + backward over the same data: same gradients as the backward-only runner
    backward = prepare("lstm", impl, "backward", **SHAPE)
    np.testing.assert_allclose(backward.run()[0], dx, rtol=1e-5, atol=1e-6)


def test_config_and_batch():
    runner = prepare("rnn", "numpy", "forward", nonlinearity="relu", dtype="float64", **SHAPE)
    assert runner.batch == 3
    assert runner.config == {
        "cell": "rnn",
        "nonlinearity": "relu",
        "impl": "numpy",
        "phase": "forward",
        "batch": 3,
        "seq_len": 5,
        "input_size": 4,
        "hidden_size": 6,
        "num_layers": 1,
        "bidirectional": False,
        "dtype": "float64",
        "precision": "fp32",
    }
    assert prepare("gru", "numpy", "forward", **SHAPE).config["nonlinearity"] is None


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_torch_gets_the_same_weights_and_numbers(cell):
    pytest.importorskip("torch")
    shape = dict(SHAPE, bidirectional=True, dtype="float64")
    ours = prepare(cell, "numpy", "forward", **shape).run()
    theirs = prepare(cell, "torch", "forward", **shape).run()
    np.testing.assert_allclose(theirs[0].numpy(), ours[0], rtol=1e-10, atol=1e-12)

    ours_dx, _ = prepare(cell, "numpy", "backward", **shape).run()
    torch_backward = prepare(cell, "torch", "backward", **shape)
    first = torch_backward.run()
    second = torch_backward.run()  # retain_graph: the saved graph serves every call
    np.testing.assert_allclose(first[0].numpy(), ours_dx, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(first[0].numpy(), second[0].numpy())
    train = prepare(cell, "torch", "train", **shape).run()
    np.testing.assert_allclose(train[0].numpy(), ours_dx, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("impl", NUMPY_IMPLS)
def test_a_reduced_precision_forward_is_prepared_in_that_precision(impl):
    fp32 = prepare("gru", impl, "forward", **SHAPE)
    int8 = prepare("gru", impl, "forward", precision="int8", **SHAPE)
    assert int8.settings.precision == "int8" and fp32.settings.precision == "fp32"
    (y8, _), (y32, _) = int8.run(), fp32.run()
    assert not np.array_equal(y8, y32)  # quantized: close to fp32, not its bits
    np.testing.assert_allclose(y8, y32, atol=0.05)
    with pytest.raises(ConfigError, match="train"):  # training runs in fp32 only
        prepare("gru", impl, "train", precision="int8", **SHAPE)
