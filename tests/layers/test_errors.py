"""Bad input never crashes the process: each case raises a typed error that names the bad value."""

import re

import numpy as np
import pytest

from lstm_energy.errors import (
    ArgumentTypeError,
    ConfigError,
    EngineUnavailableError,
    LstmEnergyError,
    ShapeError,
    StateError,
)
from lstm_energy.layers import GRU, LSTM, RNN

T, B, D, H = 4, 3, 5, 2


def layer(cls=LSTM, impl="numpy", **kw):
    return cls(D, H, dtype=np.float32, seed=0, impl=impl, **kw)


def x_of(shape=(T, B, D), dtype=np.float32):
    return np.ones(shape, dtype)


def shown(shape):
    """The regex matching ``shape`` as the error messages print it."""
    return re.escape(repr(tuple(shape)))


# ---------------------------------------------------------------- construction
@pytest.mark.parametrize(
    "name,value,error",
    [
        ("input_size", 0, ValueError),
        ("hidden_size", -3, ValueError),
        ("num_layers", 0, ValueError),
        ("input_size", 2.5, TypeError),
        ("hidden_size", "8", TypeError),
        ("num_layers", True, TypeError),
    ],
)
def test_sizes_must_be_positive_integers(name, value, error):
    args = {"input_size": D, "hidden_size": H, "num_layers": 1, name: value}
    with pytest.raises(error, match=name) as info:
        LSTM(**args, impl="numpy")
    assert repr(value) in str(info.value) or str(value) in str(info.value)


@pytest.mark.parametrize("dtype", [np.float16, np.int32, "complex64", "nonsense"])
def test_unsupported_dtype_is_a_config_error_naming_the_kernels_dtypes(dtype):
    with pytest.raises(ConfigError, match=r"unknown dtype .*float32 or float64.*np\.float32"):
        GRU(D, H, dtype=dtype, impl="numpy")


@pytest.mark.parametrize("dtype", [None, 3])
def test_a_dtype_that_is_no_dtype_is_a_type_error(dtype):
    with pytest.raises(ArgumentTypeError, match=f"got {dtype!r} of type"):
        GRU(D, H, dtype=dtype, impl="numpy")


def test_unknown_nonlinearity_names_the_value():
    with pytest.raises(ValueError, match="'sigmoid'.*'tanh' or 'relu'"):
        RNN(D, H, nonlinearity="sigmoid", impl="numpy")


def test_unknown_impl_names_the_value():
    with pytest.raises(ValueError, match="'fortran'"):
        LSTM(D, H, impl="fortran")


def test_unavailable_engine_is_an_error_never_a_silent_fallback():
    from lstm_energy._layers.engines import engine_available

    ok, _ = engine_available("cython")
    if ok:
        assert LSTM(D, H, impl="cython").impl == "cython"
    else:
        with pytest.raises(EngineUnavailableError, match="impl='numpy'"):
            LSTM(D, H, impl="cython")


# ---------------------------------------------------------------- forward input
@pytest.mark.parametrize("shape", [(T, D), (T, B, D, 1), ()])
def test_wrong_rank_names_the_shape(shape):
    with pytest.raises(ShapeError, match=r"3-D.*got shape " + shown(shape)):
        layer().forward(np.ones(shape, np.float32))


def test_wrong_input_size_names_both_sizes():
    with pytest.raises(ShapeError, match="input size 6.*input_size=5"):
        layer().forward(x_of((T, B, 6)))


@pytest.mark.parametrize("dtype", [np.int64, np.float16, np.float64, np.bool_])
def test_wrong_dtype_is_a_type_error_naming_the_dtype_and_the_fix(dtype):
    with pytest.raises(TypeError, match=f"dtype {np.dtype(dtype).name}.*astype\\(np.float32\\)"):
        layer().forward(x_of(dtype=dtype))


@pytest.mark.parametrize("shape", [(0, B, D), (T, 0, D)])
def test_empty_sequences_are_rejected(shape):
    with pytest.raises(ShapeError, match="empty"):
        layer().forward(x_of(shape))


def test_batch_first_message_names_the_batch_first_layout():
    with pytest.raises(ShapeError, match=r"\(B, T, D\)"):
        layer(batch_first=True).forward(np.ones((T, D), np.float32))


# ---------------------------------------------------------------- states
def test_lstm_state_must_be_a_pair():
    h0 = np.zeros((1, B, H), np.float32)
    with pytest.raises(TypeError, match=r"tuple \(h0, c0\).*ndarray"):
        layer(LSTM).forward(x_of(), h0)
    with pytest.raises(TypeError, match="tuple of 3"):
        layer(LSTM).forward(x_of(), (h0, h0, h0))


@pytest.mark.parametrize("cls", [GRU, RNN])
def test_single_state_cells_reject_a_tuple(cls):
    h0 = np.zeros((1, B, H), np.float32)
    with pytest.raises(TypeError, match=f"{cls.__name__} expects hx as one array.*tuple of 2"):
        layer(cls).forward(x_of(), (h0, h0))


@pytest.mark.parametrize("shape", [(2, B, H), (1, B + 1, H), (1, B, H + 1), (B, H)])
def test_state_of_the_wrong_shape_names_expected_and_given(shape):
    with pytest.raises(ShapeError, match=r"\(1, 3, 2\).*got " + shown(shape)):
        layer(GRU).forward(x_of(), np.zeros(shape, np.float32))


def test_bidirectional_multilayer_state_shape_is_layers_times_directions():
    m = layer(LSTM, num_layers=2, bidirectional=True)
    good = np.zeros((4, B, H), np.float32)
    m.forward(x_of(), (good, good))
    with pytest.raises(ShapeError, match=r"hx\[1\].*\(4, 3, 2\)"):
        m.forward(x_of(), (good, np.zeros((2, B, H), np.float32)))


def test_state_dtype_must_match():
    with pytest.raises(TypeError, match="hx has dtype float64"):
        layer(RNN).forward(x_of(), np.zeros((1, B, H)))


# ---------------------------------------------------------------- backward
@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_backward_before_forward_is_a_state_error(cls):
    with pytest.raises(StateError, match="training-mode forward"):
        layer(cls).backward(np.ones((T, B, H), np.float32))


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_backward_after_an_eval_forward_is_a_state_error(cls):
    m = layer(cls)
    m.forward(x_of())
    m.eval().forward(x_of())
    with pytest.raises(StateError, match=r"m.train\(\)"):
        m.backward(np.ones((T, B, H), np.float32))


def test_backward_after_load_state_dict_is_a_state_error():
    m = layer(GRU)
    m.forward(x_of())
    m.load_state_dict(m.state_dict())
    with pytest.raises(StateError):
        m.backward(np.ones((T, B, H), np.float32))


@pytest.mark.parametrize("shape", [(T, B, H + 1), (T + 1, B, H), (B, T, H), (T, B)])
def test_dy_of_the_wrong_shape_names_expected_and_given(shape):
    m = layer(GRU)
    m.forward(x_of())
    with pytest.raises(ShapeError, match=r"dy.*\(4, 3, 2\).*got " + shown(shape)):
        m.backward(np.ones(shape, np.float32))


def test_dy_dtype_and_dhx_structure_are_checked():
    m = layer(LSTM)
    m.forward(x_of())
    with pytest.raises(TypeError, match="dy has dtype float64"):
        m.backward(np.ones((T, B, H)))
    with pytest.raises(TypeError, match=r"\(dh_n, dc_n\)"):
        m.backward(np.ones((T, B, H), np.float32), np.zeros((1, B, H), np.float32))


# ---------------------------------------------------------------- state_dict
def test_state_dict_with_a_missing_key_names_it():
    m = layer(LSTM)
    state = m.state_dict()
    del state["bias_hh_l0"]
    with pytest.raises(ShapeError, match=r"missing \['bias_hh_l0'\]"):
        m.load_state_dict(state)


def test_state_dict_with_an_unexpected_key_names_it():
    m = layer(LSTM)
    state = m.state_dict()
    state["weight_ih_l1"] = state["weight_ih_l0"]
    with pytest.raises(ShapeError, match=r"unexpected \['weight_ih_l1'\]"):
        m.load_state_dict(state)


def test_state_dict_with_a_wrong_shape_names_key_and_shapes():
    m = layer(GRU)
    state = m.state_dict()
    state["weight_hh_l0"] = np.zeros((6, 3))
    with pytest.raises(ShapeError, match=r"'weight_hh_l0'.*\(6, 2\).*\(6, 3\)"):
        m.load_state_dict(state)


def test_failed_load_leaves_the_parameters_unchanged():
    m = layer(GRU)
    before = m.state_dict()
    state = {k: np.zeros_like(v) for k, v in before.items()}
    state["bias_ih_l0"] = np.zeros(5)
    with pytest.raises(ShapeError):
        m.load_state_dict(state)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_state_dict_values_must_be_real_numbers():
    m = layer(RNN)
    state = m.state_dict()
    state["bias_ih_l0"] = np.array(["a", "b"])
    with pytest.raises(TypeError, match="bias_ih_l0.*real numbers"):
        m.load_state_dict(state)


def test_every_error_is_catchable_through_the_package_root_or_builtins():
    assert issubclass(ShapeError, (LstmEnergyError, ValueError))
    assert issubclass(StateError, (LstmEnergyError, RuntimeError))


# ---------------------------------------------------------------- NaN
@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_nan_in_the_input_propagates_to_later_steps(cls):
    x = x_of()
    x[1, 0, 2] = np.nan
    y, _ = layer(cls).forward(x)
    assert np.isfinite(y[0]).all()
    assert np.isnan(y[1:, 0]).all()  # the poisoned sequence stays NaN after the bad step
    assert np.isfinite(y[:, 1:]).all()  # other sequences in the batch are untouched


@pytest.mark.parametrize("name", ["bias", "batch_first", "bidirectional"])
@pytest.mark.parametrize("value", [0.2, "yes", 2, None])
def test_a_flag_takes_only_a_bool(name, value):
    """A float here is usually torch's dropout one place off: refused, not read as True."""
    with pytest.raises(ArgumentTypeError, match=f"{name} must be True or False, got {re.escape(repr(value))}"):
        layer(**{name: value})


@pytest.mark.parametrize("value", [True, False, 1, 0, np.True_, np.bool_(False)])
def test_a_flag_takes_python_and_numpy_bools_and_0_or_1(value):
    assert layer(bidirectional=value).bidirectional is bool(value)


def test_seed_and_impl_are_keywords_only():
    with pytest.raises(TypeError):
        LSTM(D, H, 1, True, False, 0.0, False, 0, None, np.float32, 0)
