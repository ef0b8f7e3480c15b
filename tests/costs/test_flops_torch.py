"""GEMM FLOPs equal torch.utils.flop_counter.FlopCounterMode, forward and backward.

Like with like: our kernels always compute dX (also for layer 0) and dh0 (and dc0). Torch skips dX
of layer 0 when x has no grad and the t=0 dh GEMM when h0 has no grad, so the main test gives x and
h0 (and c0) requires_grad; the second test leaves them without grad and subtracts exactly the
documented terms ``backward.dx_gemm_layer0`` and ``backward.dh0_gemm``.
LSTM runs with oneDNN disabled: on CPU torch sends fp32 LSTM to ``mkldnn_rnn_layer``, which
FlopCounterMode does not count (kernel-anchors §5.1); the native path issues plain mm/addmm.
"""

import pytest

from lstm_energy.costs import flops

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore:TF32 acceleration:UserWarning")]

SHAPES = [
    # (T, B, D, H, num_layers, bidirectional)
    (5, 4, 8, 16, 1, False),
    (3, 2, 5, 7, 2, True),
    (4, 3, 6, 5, 3, False),
    (2, 1, 3, 4, 1, True),
    (1, 1, 3, 2, 1, False),
]
MODULES = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def _torch_flops(cell, T, B, D, H, L, bi, grad_inputs, nonlinearity="tanh"):
    torch.manual_seed(0)
    kwargs = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    module = getattr(torch.nn, MODULES[cell])(D, H, num_layers=L, bidirectional=bi, **kwargs)
    dirs = 2 if bi else 1
    x = torch.randn(T, B, D, requires_grad=grad_inputs)
    h0 = torch.randn(L * dirs, B, H, requires_grad=grad_inputs)
    hx = (h0, torch.randn(L * dirs, B, H, requires_grad=grad_inputs)) if cell == "lstm" else h0
    with torch.backends.mkldnn.flags(enabled=False):
        with FlopCounterMode(display=False) as forward_counter:
            y, h_n = module(x, hx)
        last = h_n[0] if cell == "lstm" else h_n
        loss = y.square().sum() + last.sum()
        with FlopCounterMode(display=False) as backward_counter:
            loss.backward()
    return forward_counter.get_total_flops(), backward_counter.get_total_flops()


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "T{}B{}D{}H{}L{}{}".format(*s[:5], "bi" if s[5] else ""))
def test_gemm_flops_equal_torch_flop_counter(cell, shape):
    T, B, D, H, L, bi = shape
    torch_forward, torch_backward = _torch_flops(cell, T, B, D, H, L, bi, grad_inputs=True)
    ours = dict(batch=B, seq_len=T, input_size=D, hidden_size=H, num_layers=L, bidirectional=bi)
    assert flops(cell, phase="forward", **ours).gemm == torch_forward
    assert flops(cell, phase="backward", **ours).gemm == torch_backward
    assert flops(cell, phase="train", **ours).gemm == torch_forward + torch_backward


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_torch_without_input_grads_skips_exactly_the_documented_terms(cell):
    T, B, D, H, L, bi = 3, 2, 5, 7, 2, True
    torch_forward, torch_backward = _torch_flops(cell, T, B, D, H, L, bi, grad_inputs=False)
    ours = flops(cell, B, T, D, H, num_layers=L, bidirectional=bi, phase="backward")
    skipped = ours.terms["backward.dx_gemm_layer0"] + ours.terms["backward.dh0_gemm"]
    assert skipped > 0
    assert ours.gemm - skipped == torch_backward


def test_rnn_relu_gemm_matches_torch():
    T, B, D, H = 4, 3, 6, 5
    torch_forward, torch_backward = _torch_flops("rnn", T, B, D, H, 1, False, True, nonlinearity="relu")
    assert flops("rnn", B, T, D, H, nonlinearity="relu").gemm == torch_forward
    assert flops("rnn", B, T, D, H, nonlinearity="relu", phase="backward").gemm == torch_backward
