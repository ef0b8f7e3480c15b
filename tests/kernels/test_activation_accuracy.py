"""Accuracy of the kernels' scalar activations, probed through rnn_forward with D = H = 1,
w_ih = 1, w_hh = 0 and zero biases, so y = act(x) exactly for each of the B batch rows."""

import numpy as np
import pytest

import lstm_energy.kernels as kernels

pytestmark = pytest.mark.usefixtures("every_isa")  # every kernel path (LSTM_ENERGY_ISA)


def _activate(values, dtype, relu=False):
    values = np.asarray(values, dtype=dtype)
    B = values.size
    x = values.reshape(1, B, 1)
    one, zero = np.ones((1, 1), dtype), np.zeros((1, 1), dtype)
    bias = np.zeros(1, dtype)
    y, h_n = np.full((1, B, 1), np.nan, dtype), np.empty((B, 1), dtype)
    kernels.rnn_forward(
        x,
        one,
        zero,
        bias,
        bias,
        np.zeros((B, 1), dtype),
        y,
        h_n,
        {
            name: np.empty(shape, dtype)
            for name, shape in kernels.workspace_shapes("rnn", "forward", 1, B, 1, 1, False).items()
        },
        False,
        False,
        relu,
    )
    return y.reshape(-1)


def _probe_values(dtype):
    rng = np.random.default_rng(61)
    magnitudes = np.concatenate(
        [
            10.0 ** rng.uniform(-12, 1.5, 20000),  # tiny to saturated, log-spaced
            rng.uniform(0, 10, 20000),
            [0.0, 1e-4, 1e-4 * (1 + 1e-6), 0.5, 1.0, 9.0, 10.0, 20.0, 100.0, 1e30],
        ]
    )
    return np.concatenate([magnitudes, -magnitudes]).astype(dtype)


# float32 bound 2 ulp: the kernels' float32 tanh is the vectorised polynomial/exp form of
# _vector_math.h, whose worst case over every float32 with 1e-30 <= |x| <= 100 lies under 2 ulp with a
# margin (the exhaustive search: docs/kernels-performance.md, "3. What changed", item 1); the sample
# below comes close to that worst case. float64 stays on libm tanh.
@pytest.mark.parametrize("dtype, max_ulps", [(np.float32, 2.0), (np.float64, 2.0)])
def test_tanh_is_within_an_ulp_of_float64_tanh(dtype, max_ulps):
    values = _probe_values(dtype)
    got = _activate(values, dtype)
    exact = np.tanh(values.astype(np.longdouble))
    ulp = np.spacing(np.abs(exact).astype(dtype)).astype(np.longdouble)
    ulp = np.where(exact == 0, np.finfo(dtype).smallest_subnormal, ulp)
    errors = np.abs(got.astype(np.longdouble) - exact) / ulp
    worst = int(np.argmax(errors))
    assert errors[worst] <= max_ulps, f"tanh({values[worst]!r}) = {got[worst]!r}, {errors[worst]:.2f} ulp off"
    assert np.all(np.abs(got) <= 1)
    np.testing.assert_array_equal(np.sign(got), np.sign(values))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_special_values(dtype):
    got = _activate([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype)
    assert np.isnan(got[0])
    assert got[1] == 1 and got[2] == -1
    assert got[3] == 0 and got[4] == 0
