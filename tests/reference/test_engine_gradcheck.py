"""Engine contract, one layer and one direction: float64 central differences for every argument.

Loss L = Σ y⊙gy + Σ h_n⊙gh + Σ c_n⊙gc with fixed random weights gy, gh, gc, so the backward's
inputs are dy = gy, dh_n = gh, dc_n = gc. y and dy are column slices of wider arrays, as the
bidirectional layers pass them.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("every_isa")  # every kernel path (LSTM_ENERGY_ISA)

CASES = [("lstm", False), ("gru", False), ("rnn", False), ("rnn", True)]  # (cell, relu)


@pytest.mark.parametrize("cell,relu", CASES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("T,B,D,H", [(3, 2, 3, 2), (1, 1, 2, 3)])
def test_backward_matches_central_differences(engine, rng, kit, cell, relu, reverse, T, B, D, H):
    p = kit.make_problem(rng, cell, T, B, D, H)
    analytic = kit.backward(engine, p, relu, reverse)
    for name, grad in analytic.items():
        expected = kit.numerical_gradient(engine, p, name, relu, reverse)
        np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-8, err_msg=f"{cell} d{name}")


@pytest.mark.parametrize("cell,relu", CASES)
def test_accumulate_dx_adds_to_the_existing_values(engine, rng, kit, cell, relu):
    p = kit.make_problem(rng, cell, 4, 3, 5, 2)
    fresh = kit.backward(engine, p, relu, reverse=True)["x"]
    initial = rng.standard_normal((4, 3, 5))
    accumulated = kit.backward(engine, p, relu, reverse=True, dx_initial=initial)["x"]
    np.testing.assert_allclose(accumulated, initial + fresh, rtol=1e-12, atol=1e-12)
