"""The whole forecaster's gradient (our layer's backward + the head's analytic gradient) against
central finite differences, in float64, for every family; and the model's bookkeeping."""

import numpy as np
import pytest

from lstm_energy.forecast.model import Forecaster, ModelConfig, mse_loss

FAMILIES = [("lstm", False, 1), ("gru", False, 1), ("rnn", False, 2), ("lstm", True, 2)]


def loss_of(model, windows, targets):
    return mse_loss(model.predict(windows), targets)[0]


@pytest.mark.parametrize("cell,bidirectional,layers", FAMILIES)
def test_forecaster_gradient_matches_finite_differences(cell, bidirectional, layers, impl):
    rng = np.random.default_rng(1)
    model = Forecaster(
        ModelConfig(cell, 3, num_layers=layers, bidirectional=bidirectional), seed=2, dtype=np.float64, impl=impl
    )
    windows = rng.standard_normal((4, 5))
    targets = rng.standard_normal(4)
    _, d_pred = mse_loss(model.forward(windows), targets)
    grads = model.backward(d_pred)
    params = model.parameters()
    assert set(grads) == set(params)
    eps = 1e-6
    for name, p in params.items():
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            saved = p[i]
            p[i] = saved + eps
            model.parameters_changed()
            up = loss_of(model, windows, targets)
            p[i] = saved - eps
            model.parameters_changed()
            down = loss_of(model, windows, targets)
            p[i] = saved
            model.parameters_changed()
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def test_bidirectional_features_are_the_final_state_of_each_direction(impl):
    model = Forecaster(ModelConfig("gru", 4, bidirectional=True), seed=0, dtype=np.float64, impl=impl)
    windows = np.random.default_rng(0).standard_normal((3, 6))
    y, h_n = model.recurrent.forward(model.sequence_first(windows))
    features = model._final_hidden(y)
    np.testing.assert_allclose(features[:, :4], h_n[-2])
    np.testing.assert_allclose(features[:, 4:], h_n[-1])


def test_backward_before_forward_is_a_state_error():
    from lstm_energy.errors import StateError

    model = Forecaster(ModelConfig("rnn", 2), impl="numpy")
    with pytest.raises(StateError, match="call forward"):
        model.backward(np.zeros(3))


def test_model_config_rejects_unknown_cells():
    with pytest.raises(ValueError, match="cell must be one of"):
        ModelConfig("transformer", 8)
