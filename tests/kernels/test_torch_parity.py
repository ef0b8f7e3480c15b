"""Parity with PyTorch's nn.LSTM / nn.GRU / nn.RNN (float64, CPU): the equations the product
promises are PyTorch's, so the kernels must reproduce torch's outputs and autograd gradients."""

import numpy as np
import pytest
from kernel_harness import VARIANTS, assert_close, make_problem, run_backward, run_forward

import lstm_energy.kernels as kernels

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("every_isa")]  # every kernel path


def _torch_module(p, D, H):
    if p.cell == "lstm":
        m = torch.nn.LSTM(D, H)
    elif p.cell == "gru":
        m = torch.nn.GRU(D, H)
    else:
        m = torch.nn.RNN(D, H, nonlinearity="relu" if p.relu else "tanh")
    m = m.double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(p.params["w_ih"]))
        m.weight_hh_l0.copy_(torch.from_numpy(p.params["w_hh"]))
        m.bias_ih_l0.copy_(torch.from_numpy(p.params["b_ih"]))
        m.bias_hh_l0.copy_(torch.from_numpy(p.params["b_hh"]))
    return m


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("reverse", [False, True])
def test_matches_torch_forward_and_autograd(variant, reverse):
    T, B, D, H = 5, 3, 4, 6
    p = make_problem(variant, T, B, D, H, np.float64, seed=51)
    m = _torch_module(p, D, H)
    flip = (lambda a: a[::-1].copy()) if reverse else (lambda a: a)  # torch runs forward in time
    x = torch.tensor(flip(p.x), requires_grad=True)
    h0 = torch.tensor(p.h0[None], requires_grad=True)
    if p.cell == "lstm":
        c0 = torch.tensor(p.c0[None], requires_grad=True)
        y_t, (h_n_t, c_n_t) = m(x, (h0, c0))
    else:
        y_t, h_n_t = m(x, h0)
    loss = (y_t * torch.from_numpy(flip(p.dy))).sum() + (h_n_t[0] * torch.from_numpy(p.dh_n)).sum()
    if p.cell == "lstm":
        loss = loss + (c_n_t[0] * torch.from_numpy(p.dc_n)).sum()
    loss.backward()

    y, h_n, c_n, ws = run_forward(kernels, p, training=True, reverse=reverse, layout="column_slice")
    assert_close(y, flip(y_t.detach().numpy()), np.float64, "y")
    assert_close(h_n, h_n_t.detach().numpy()[0], np.float64, "h_n")
    if p.cell == "lstm":
        assert_close(c_n, c_n_t.detach().numpy()[0], np.float64, "c_n")

    grads = run_backward(kernels, p, y, ws, reverse=reverse, layout="column_slice")
    expected = {
        "dx": flip(x.grad.numpy()),
        "dh0": h0.grad.numpy()[0],
        "dw_ih": m.weight_ih_l0.grad.numpy(),
        "dw_hh": m.weight_hh_l0.grad.numpy(),
        "db_ih": m.bias_ih_l0.grad.numpy(),
        "db_hh": m.bias_hh_l0.grad.numpy(),
    }
    if p.cell == "lstm":
        expected["dc0"] = c0.grad.numpy()[0]
    for name, want in expected.items():
        assert_close(grads[name], want, np.float64, name)
