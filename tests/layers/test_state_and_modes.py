"""Parameters (names, shapes, init, loading) and train/eval modes."""

import numpy as np
import pytest

from lstm_energy.config import GATES
from lstm_energy.layers import GRU, LSTM, RNN


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_names_and_shapes_follow_pytorch(cls):
    G, D, H = GATES[cls.cell], 5, 3
    m = cls(D, H, num_layers=2, bidirectional=True, impl="numpy")
    shapes = {k: v.shape for k, v in m.state_dict().items()}
    expected = {}
    for layer in range(2):
        for suffix in ("", "_reverse"):
            d = D if layer == 0 else 2 * H
            expected.update(
                {
                    f"weight_ih_l{layer}{suffix}": (G * H, d),
                    f"weight_hh_l{layer}{suffix}": (G * H, H),
                    f"bias_ih_l{layer}{suffix}": (G * H,),
                    f"bias_hh_l{layer}{suffix}": (G * H,),
                }
            )
    assert shapes == expected
    assert list(shapes) == list(expected)  # PyTorch's order, too


def test_bias_false_has_no_bias_parameters_or_gradients():
    m = GRU(4, 3, bias=False, impl="numpy", dtype=np.float64)
    assert sorted(m.state_dict()) == ["weight_hh_l0", "weight_ih_l0"]
    m.forward(np.ones((2, 1, 4)))
    m.backward(np.ones((2, 1, 3)))
    assert sorted(m.grads) == ["weight_hh_l0", "weight_ih_l0"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_default_init_is_uniform_within_one_over_sqrt_h_and_seeded(dtype):
    H = 16
    a = LSTM(8, H, num_layers=2, seed=42, impl="numpy", dtype=dtype).state_dict()
    b = LSTM(8, H, num_layers=2, seed=42, impl="numpy", dtype=dtype).state_dict()
    c = LSTM(8, H, num_layers=2, seed=43, impl="numpy", dtype=dtype).state_dict()
    values = np.concatenate([v.ravel() for v in a.values()])
    bound = 1 / np.sqrt(H)
    assert values.dtype == dtype
    assert np.all(np.abs(values) <= bound)
    assert values.min() < -0.9 * bound and values.max() > 0.9 * bound  # spans the interval
    assert abs(values.mean()) < 0.05 * bound
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not any(np.array_equal(a[k], c[k]) for k in a)


def test_state_dict_returns_copies_and_load_copies_and_casts():
    m = RNN(3, 2, impl="numpy", dtype=np.float32)
    state = m.state_dict()
    state["weight_ih_l0"][...] = 0
    assert np.any(m.state_dict()["weight_ih_l0"] != 0)
    source = {k: np.full(v.shape, 0.5, dtype=np.float64) for k, v in state.items()}
    m.load_state_dict(source)
    source["weight_ih_l0"][...] = 9
    loaded = m.state_dict()
    assert loaded["weight_ih_l0"].dtype == np.float32
    assert np.all(loaded["weight_ih_l0"] == 0.5)


@pytest.mark.torch
def test_load_state_dict_accepts_torch_tensors_and_lists():
    torch = pytest.importorskip("torch")
    m = GRU(3, 2, impl="numpy", dtype=np.float64)
    t = torch.nn.GRU(3, 2).double()
    m.load_state_dict({k: v for k, v in t.state_dict().items()})  # tensors, no .numpy()
    m.load_state_dict({k: v.tolist() for k, v in m.state_dict().items()})  # nested lists
    for k, v in t.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[k], v.numpy())


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_modes_default_to_training_and_eval_gives_the_same_numbers(impl, cls):
    m = cls(4, 3, num_layers=2, bidirectional=True, seed=9, impl=impl, dtype=np.float64)
    assert m.training is True
    x = np.random.default_rng(3).standard_normal((5, 2, 4))
    y_train, s_train = m.forward(x)
    assert m.eval() is m and m.training is False
    y_eval, s_eval = m.forward(x)
    np.testing.assert_array_equal(y_eval, y_train)
    np.testing.assert_array_equal(np.asarray(s_eval), np.asarray(s_train))
    assert m.train() is m and m.training is True


def test_backward_can_repeat_and_uses_the_latest_forward():
    m = LSTM(3, 2, seed=1, impl="numpy", dtype=np.float64)
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2, 3))
    dy = rng.standard_normal((4, 2, 2))
    m.forward(x1)
    dx_a, _ = m.backward(dy)
    dx_b, _ = m.backward(dy)
    np.testing.assert_array_equal(dx_a, dx_b)
    m.forward(x2)
    dx_c, _ = m.backward(dy)
    assert not np.allclose(dx_c, dx_a)


def test_none_gradients_mean_zero():
    m = GRU(3, 2, seed=1, impl="numpy", dtype=np.float64)
    x = np.ones((4, 2, 3))
    m.forward(x)
    dx_none, dh_none = m.backward(None, None)
    assert np.all(dx_none == 0) and np.all(dh_none == 0)
    dh_n = np.ones((1, 2, 2))
    dx_a, _ = m.backward(None, dh_n)
    dx_b, _ = m.backward(np.zeros((4, 2, 2)), dh_n)
    np.testing.assert_array_equal(dx_a, dx_b)
    assert np.any(dx_a != 0)


def test_callable_like_a_torch_module():
    m = RNN(3, 2, impl="numpy", dtype=np.float64, seed=0)
    x = np.ones((2, 1, 3))
    np.testing.assert_array_equal(m(x)[0], m.forward(x)[0])


def test_top_level_import():
    import lstm_energy

    assert lstm_energy.LSTM is LSTM and lstm_energy.GRU is GRU and lstm_energy.RNN is RNN
