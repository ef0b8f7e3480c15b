"""Adam and gradient clipping on problems with known answers."""

import math

import numpy as np
import pytest

from lstm_energy.forecast.optim import Adam, clip_grad_norm


def test_first_adam_step_moves_each_coordinate_by_lr_against_the_gradient_sign():
    # after bias correction m/sqrt(v) = g/|g| on step 1, so each coordinate moves by exactly lr
    p = {"w": np.array([1.0, -2.0, 3.0])}
    Adam(lr=0.1).step(p, {"w": np.array([4.0, -0.5, 1e-3])})
    np.testing.assert_allclose(p["w"], [0.9, -1.9, 2.9], atol=1e-6)


def test_adam_minimises_a_known_quadratic():
    # f(w) = 0.5 (w - c)^T A (w - c), minimum at c
    A = np.diag([1.0, 10.0, 100.0])
    c = np.array([3.0, -1.0, 0.5])
    p = {"w": np.zeros(3)}
    opt = Adam(lr=0.05)
    for _ in range(2000):
        opt.step(p, {"w": A @ (p["w"] - c)})
    np.testing.assert_allclose(p["w"], c, atol=1e-3)


def test_adam_matches_the_algorithm_over_two_steps():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    g1, g2 = np.array([0.3, -0.2]), np.array([0.1, 0.4])
    p = {"w": np.array([1.0, 1.0])}
    opt = Adam(lr=lr, betas=(b1, b2), eps=eps)
    opt.step(p, {"w": g1.copy()})
    opt.step(p, {"w": g2.copy()})
    w = np.array([1.0, 1.0])
    m = v = np.zeros(2)
    for t, g in enumerate([g1, g2], start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    np.testing.assert_allclose(p["w"], w, rtol=1e-12)


def test_clip_grad_norm_scales_to_the_limit_and_leaves_small_gradients_alone():
    grads = {"a": np.array([3.0]), "b": np.array([[4.0]])}
    assert clip_grad_norm(grads, 1.0) == pytest.approx(5.0)
    total = math.sqrt(grads["a"][0] ** 2 + grads["b"][0, 0] ** 2)
    assert total == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(grads["a"] / grads["b"][0], 0.75)
    small = {"a": np.array([0.3])}
    clip_grad_norm(small, 1.0)
    assert small["a"][0] == 0.3


def test_bad_arguments_say_what_was_wrong():
    with pytest.raises(ValueError, match="learning rate"):
        Adam(lr=0)
    with pytest.raises(ValueError, match="only in grads"):
        Adam().step({"w": np.zeros(1)}, {"w": np.zeros(1), "x": np.zeros(1)})
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm({"a": np.ones(1)}, 0)
