"""Layer-level float64 central differences: every parameter, the input and the initial states,
through stacked and bidirectional layers (no torch needed)."""

import numpy as np
import pytest

from lstm_energy.layers import GRU, LSTM, RNN

pytestmark = pytest.mark.usefixtures("every_isa")  # every kernel path (LSTM_ENERGY_ISA)

CELLS = {"lstm": (LSTM, {}), "gru": (GRU, {}), "rnn_tanh": (RNN, {}), "rnn_relu": (RNN, {"nonlinearity": "relu"})}
# T, B, D, H, num_layers, bidirectional, batch_first
SHAPES = [(3, 2, 3, 2, 2, True, False), (2, 1, 2, 3, 1, False, True)]


class Problem:
    """A layer, an input, initial states and a fixed linear loss of y and the final states."""

    def __init__(self, impl, cell, shape):
        cls, extra = CELLS[cell]
        T, B, D, H, L, bidirectional, batch_first = shape
        self.layer = cls(
            D,
            H,
            num_layers=L,
            bidirectional=bidirectional,
            batch_first=batch_first,
            dtype=np.float64,
            seed=3,
            impl=impl,
            **extra,
        )
        rng = np.random.default_rng(11)
        self.params = {k: v * 1.5 for k, v in self.layer.state_dict().items()}  # larger weights, livelier gradients
        self.layer.load_state_dict(self.params)
        self.is_lstm = cell == "lstm"
        dirs = 2 if bidirectional else 1
        self.x = rng.standard_normal((B, T, D) if batch_first else (T, B, D))
        self.states = [rng.standard_normal((L * dirs, B, H)) for _ in range(2 if self.is_lstm else 1)]
        self.gy = rng.standard_normal((B, T, dirs * H) if batch_first else (T, B, dirs * H))
        self.g_states = [rng.standard_normal(s.shape) for s in self.states]

    def hx(self, states):
        return tuple(states) if self.is_lstm else states[0]

    def loss(self):
        self.layer.load_state_dict(self.params)
        y, finals = self.layer.forward(self.x, self.hx(self.states))
        finals = finals if self.is_lstm else (finals,)
        return np.sum(y * self.gy) + sum(np.sum(f * g) for f, g in zip(finals, self.g_states))

    def analytic(self):
        self.loss()
        dx, d_states = self.layer.backward(self.gy, self.hx(self.g_states))
        d_states = d_states if self.is_lstm else (d_states,)
        grads = {name: g.copy() for name, g in self.layer.grads.items()}
        grads["x"] = dx
        for k, d in enumerate(d_states):
            grads[f"state{k}"] = d
        return grads

    def array(self, name):
        if name == "x":
            return self.x
        if name.startswith("state"):
            return self.states[int(name[5:])]
        return self.params[name]


def central_difference(problem, name, eps=1e-6):
    array = problem.array(name)
    grad = np.empty_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        plus = problem.loss()
        array[index] = saved - eps
        minus = problem.loss()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("shape", SHAPES, ids=["2layers-bidir", "batch_first-B1"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_every_gradient_matches_central_differences(impl, cell, shape):
    problem = Problem(impl, cell, shape)
    analytic = problem.analytic()
    assert set(analytic) >= set(problem.params) | {"x", "state0"}
    for name, grad in analytic.items():
        numeric = central_difference(problem, name)
        assert grad.shape == numeric.shape, name
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7, err_msg=f"{cell}: d{name}")
