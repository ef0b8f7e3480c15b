"""The final linear layer + MSE: analytic gradient against central finite differences (float64)."""

import numpy as np
import pytest

from lstm_energy.forecast.model import LinearHead, mse_loss


def loss_of(head, h, targets):
    return mse_loss(head.forward(h), targets)[0]


def test_head_and_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    head = LinearHead(5, rng=rng, dtype=np.float64)
    h = rng.standard_normal((7, 5))
    targets = rng.standard_normal(7)
    _, d_pred = mse_loss(head.forward(h), targets)
    dh, grads = head.backward(h, d_pred)
    eps = 1e-6
    for array, analytic in [(head.weight, grads["weight"]), (head.bias, grads["bias"]), (h, dh)]:
        numeric = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            saved = array[i]
            array[i] = saved + eps
            up = loss_of(head, h, targets)
            array[i] = saved - eps
            down = loss_of(head, h, targets)
            array[i] = saved
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_mse_loss_value_and_shape_check():
    loss, d = mse_loss(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    assert loss == 5.0
    np.testing.assert_array_equal(d, [1.0, 3.0])
    with pytest.raises(ValueError, match=r"must both be \(B,\)"):
        mse_loss(np.zeros((2, 1)), np.zeros(2))
