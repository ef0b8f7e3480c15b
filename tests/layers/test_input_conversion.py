"""What the layers take from other libraries: a bfloat16 torch state dict loads (widened exactly to
float32), a bfloat16 tensor input is refused with the fix, and a dtype error's advice fits what was given."""

import numpy as np
import pytest

from lstm_energy.errors import ArgumentTypeError
from lstm_energy.layers import GRU, LSTM

T, B, D, H = 3, 2, 4, 5


def test_a_list_of_the_wrong_dtype_gets_advice_a_list_can_follow():
    x = np.ones((T, B, D)).tolist()  # Python floats: NumPy makes float64 of them
    with pytest.raises(ArgumentTypeError, match=r"x \(a list\) has dtype float64") as info:
        LSTM(D, H, impl="numpy").forward(x)
    assert r"np.asarray(x, np.float32)" in str(info.value) and ".astype" not in str(info.value)
    # and the advice works
    y, _ = LSTM(D, H, impl="numpy").forward(np.asarray(x, np.float32))
    assert y.shape == (T, B, H)


def test_an_ndarray_of_the_wrong_dtype_still_gets_astype_advice():
    with pytest.raises(ArgumentTypeError, match=r"x has dtype float64.*x\.astype\(np\.float32\)"):
        LSTM(D, H, impl="numpy").forward(np.ones((T, B, D)))


def test_a_state_given_as_a_list_gets_list_advice():
    h0, c0 = np.zeros((1, B, H)).tolist(), np.zeros((1, B, H), np.float32)
    with pytest.raises(ArgumentTypeError, match=r"hx\[0\] \(a list\).*np\.asarray\(hx\[0\], np\.float32\)"):
        LSTM(D, H, impl="numpy").forward(np.ones((T, B, D), np.float32), (h0, c0))


@pytest.mark.parametrize("cls, torch_name", [(LSTM, "LSTM"), (GRU, "GRU")])
def test_a_bfloat16_torch_state_dict_loads_exactly_as_float32(cls, torch_name):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    reference = getattr(torch.nn, torch_name)(D, H, num_layers=2, bidirectional=True)
    low = reference.to(torch.bfloat16)
    ours = cls(D, H, num_layers=2, bidirectional=True, impl="numpy")
    ours.load_state_dict(low.state_dict())
    for name, tensor in low.state_dict().items():
        expected = tensor.float().numpy()  # bfloat16 -> float32 is exact
        assert ours.state_dict()[name].dtype == np.float32
        np.testing.assert_array_equal(ours.state_dict()[name], expected)


def test_a_bfloat16_state_dict_loads_into_a_float64_layer():
    torch = pytest.importorskip("torch")
    low = torch.nn.GRU(D, H).to(torch.bfloat16)
    ours = GRU(D, H, dtype=np.float64, impl="numpy")
    ours.load_state_dict(low.state_dict())
    np.testing.assert_array_equal(ours.state_dict()["weight_hh_l0"], low.weight_hh_l0.double().detach().numpy())


def test_a_bfloat16_tensor_input_is_refused_with_the_fix():
    torch = pytest.importorskip("torch")
    x = torch.ones(T, B, D, dtype=torch.bfloat16)
    with pytest.raises(ArgumentTypeError, match=r"x is a torch\.bfloat16 tensor.*x\.float\(\)"):
        LSTM(D, H, impl="numpy").forward(x)


def test_a_float64_tensor_gets_torch_advice():
    torch = pytest.importorskip("torch")
    with pytest.raises(ArgumentTypeError, match=r"x \(a Tensor\).*x\.to\(torch\.float32\)"):
        LSTM(D, H, impl="numpy").forward(torch.ones(T, B, D, dtype=torch.float64))
