"""Property-based tests over shapes and options (hypothesis; few examples so the folder stays fast)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_energy.layers import GRU, LSTM, RNN

CELLS = {"lstm": (LSTM, {}), "gru": (GRU, {}), "rnn_tanh": (RNN, {}), "rnn_relu": (RNN, {"nonlinearity": "relu"})}
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

configs = st.fixed_dictionaries(
    {
        "cell": st.sampled_from(sorted(CELLS)),
        "T": st.integers(1, 6),
        "B": st.integers(1, 4),
        "D": st.integers(1, 6),
        "H": st.integers(1, 5),
        "num_layers": st.integers(1, 3),
        "bidirectional": st.booleans(),
        "bias": st.booleans(),
        "seed": st.integers(0, 2**16),
    }
)


def build(impl, c, batch_first=False):
    cls, extra = CELLS[c["cell"]]
    return cls(
        c["D"],
        c["H"],
        num_layers=c["num_layers"],
        bidirectional=c["bidirectional"],
        bias=c["bias"],
        batch_first=batch_first,
        dtype=np.float64,
        seed=c["seed"],
        impl=impl,
        **extra,
    )


def data(c, *shape):
    return np.random.default_rng(c["seed"] + 1).standard_normal(shape)


@SETTINGS
@given(c=configs)
def test_shapes_and_batch_first_is_only_a_transpose(impl, c):
    T, B, D, H = c["T"], c["B"], c["D"], c["H"]
    dirs = 2 if c["bidirectional"] else 1
    seq, bat = build(impl, c), build(impl, c, batch_first=True)
    x = data(c, T, B, D)
    y, state = seq.forward(x)
    y_bf, state_bf = bat.forward(x.transpose(1, 0, 2).copy())
    assert y.shape == (T, B, dirs * H) and y_bf.shape == (B, T, dirs * H)
    for s in state if c["cell"] == "lstm" else (state,):
        assert s.shape == (c["num_layers"] * dirs, B, H)
    np.testing.assert_allclose(y_bf.transpose(1, 0, 2), y, rtol=1e-13, atol=1e-13)
    dy = data(c, T, B, dirs * H)
    dx, _ = seq.backward(dy)
    dx_bf, _ = bat.backward(dy.transpose(1, 0, 2))
    assert dx.shape == (T, B, D) and dx_bf.shape == (B, T, D)
    np.testing.assert_allclose(dx_bf.transpose(1, 0, 2), dx, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(c=configs)
def test_sequences_in_a_batch_do_not_interact(impl, c):
    m = build(impl, c)
    x = data(c, c["T"], c["B"], c["D"])
    y, _ = m.forward(x)
    b = c["B"] - 1
    y_alone, _ = m.forward(x[:, b : b + 1])
    np.testing.assert_allclose(y_alone[:, 0], y[:, b], rtol=1e-12, atol=1e-12)


@SETTINGS
@given(c=configs)
def test_input_gradient_is_the_directional_derivative(impl, c):
    """<dx, v> equals d/dε L(x + εv) for the linear loss L = Σ y ⊙ dy (central difference)."""
    m = build(impl, c)
    dirs = 2 if c["bidirectional"] else 1
    x = data(c, c["T"], c["B"], c["D"])
    v = np.random.default_rng(c["seed"] + 2).standard_normal(x.shape)
    dy = data(c, c["T"], c["B"], dirs * c["H"])
    m.forward(x)
    dx, _ = m.backward(dy)
    eps = 1e-6
    plus = np.sum(m.forward(x + eps * v)[0] * dy)
    minus = np.sum(m.forward(x - eps * v)[0] * dy)
    numeric = (plus - minus) / (2 * eps)
    assert np.isclose(np.sum(dx * v), numeric, rtol=1e-5, atol=1e-7)


@SETTINGS
@given(c=configs, scale=st.floats(-3, 3))
def test_backward_is_linear_in_dy(impl, c, scale):
    m = build(impl, c)
    dirs = 2 if c["bidirectional"] else 1
    T, B, H = c["T"], c["B"], c["H"]
    m.forward(data(c, T, B, c["D"]))
    rng = np.random.default_rng(c["seed"] + 3)
    dy1, dy2 = rng.standard_normal((T, B, dirs * H)), rng.standard_normal((T, B, dirs * H))
    dx1, _ = m.backward(dy1)
    g1 = {k: v.copy() for k, v in m.grads.items()}
    dx2, _ = m.backward(dy2)
    g2 = {k: v.copy() for k, v in m.grads.items()}
    dx12, _ = m.backward(scale * dy1 + dy2)
    np.testing.assert_allclose(dx12, scale * dx1 + dx2, rtol=1e-9, atol=1e-11)
    for k, g in m.grads.items():
        np.testing.assert_allclose(g, scale * g1[k] + g2[k], rtol=1e-9, atol=1e-11, err_msg=k)


@SETTINGS
@given(c=configs)
def test_reverse_direction_is_the_forward_direction_on_reversed_time(impl, c):
    """One bidirectional layer with its two directions' weights swapped, run on x reversed in time,
    gives y reversed in time with its two halves swapped."""
    c = {**c, "bidirectional": True, "num_layers": 1}
    m, swapped = build(impl, c), build(impl, c)
    state = m.state_dict()
    swap = {k: state[k[: -len("_reverse")] if k.endswith("_reverse") else k + "_reverse"] for k in state}
    swapped.load_state_dict(swap)
    x = data(c, c["T"], c["B"], c["D"])
    y, _ = m.forward(x)
    y_swapped, _ = swapped.forward(x[::-1])
    H = c["H"]
    np.testing.assert_allclose(y_swapped[::-1, :, :H], y[:, :, H:], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y_swapped[::-1, :, H:], y[:, :, :H], rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(c=configs, batch_first=st.booleans())
def test_random_configurations_match_torch(impl, c, batch_first):
    torch = pytest.importorskip("torch")
    m = build(impl, c, batch_first)
    cls, extra = CELLS[c["cell"]]
    t = getattr(torch.nn, cls.__name__)(
        c["D"],
        c["H"],
        num_layers=c["num_layers"],
        bias=c["bias"],
        batch_first=batch_first,
        bidirectional=c["bidirectional"],
        **extra,
    ).double()
    t.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
    shape = (c["B"], c["T"], c["D"]) if batch_first else (c["T"], c["B"], c["D"])
    x = data(c, *shape)
    x_t = torch.tensor(x, requires_grad=True)
    y, _ = m.forward(x)
    y_t, _ = t(x_t)
    np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-9, atol=1e-12)
    dy = np.random.default_rng(c["seed"] + 4).standard_normal(y.shape)
    (y_t * torch.from_numpy(dy)).sum().backward()
    dx, _ = m.backward(dy)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-9, atol=1e-12)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(m.grads[name], p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
