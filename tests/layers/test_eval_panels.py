"""Eval-mode forwards keep each layer's packed float32 weights between calls (the Cython engine packs
W_ih and W_hh once, then reuses them until load_state_dict): same results as packing every call."""

import numpy as np
import pytest

from lstm_energy.layers import GRU, LSTM, RNN

pytest.importorskip("lstm_energy.kernels.lstm", reason="Cython kernels not built")
from lstm_energy.kernels.isa import missing_flag, use_isa  # noqa: E402

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}
KW = dict(num_layers=2, bidirectional=True)


def _x(T=6, B=3, D=20, seed=0):
    return np.random.default_rng(seed).standard_normal((T, B, D)).astype(np.float32)


@pytest.mark.parametrize("cell", CELLS)
def test_repeated_eval_forwards_equal_a_forward_that_packs(cell):
    """The training-mode forward packs on every call: eval calls on kept panels give the same y, bit for bit."""
    m = CELLS[cell](20, 24, seed=1, **KW)
    x = _x()
    y_train = m.train()(x)[0]
    m.eval()
    first, second = m(x)[0], m(x)[0]
    np.testing.assert_array_equal(first, y_train)
    np.testing.assert_array_equal(second, y_train)
    assert len(m._eval_panels) == 4  # 2 layers x 2 directions
    # the eval workspaces hold no second copy of the packed weights
    eval_workspaces = [ws for entry in m._buffers.entries() for key, ws in entry._workspaces.items() if len(key) == 2]
    assert eval_workspaces and not any("w_hh_panels" in ws for ws in eval_workspaces)


@pytest.mark.parametrize("cell", CELLS)
def test_later_eval_forwards_read_the_kept_panels_instead_of_packing(cell):
    """White box: spoiling the kept panels changes the next eval output, so it was not packed again;
    load_state_dict drops them and the output is right again."""
    _skip_without_packed_gemm()
    m = CELLS[cell](20, 24, seed=2).eval()
    x = _x(seed=1)
    y = m(x)[0]
    for entry in m._eval_panels.values():
        entry.panels["w_hh_panels"][...] = 0
    assert not np.allclose(m(x)[0], y)
    m.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(m(x)[0], y)


@pytest.mark.parametrize("cell", CELLS)
def test_new_weights_are_packed_again(cell):
    m = CELLS[cell](20, 24, seed=3, **KW).eval()
    x = _x(seed=2)
    m(x)
    new = {k: v * np.float32(0.5) for k, v in m.state_dict().items()}
    m.load_state_dict(new)
    fresh = CELLS[cell](20, 24, seed=99, **KW)
    fresh.load_state_dict(new)
    np.testing.assert_array_equal(m(x)[0], fresh.train()(x)[0])


def test_panels_are_kept_per_instruction_set_path():
    """On the baseline path the forward packs nothing (BLAS products): panels kept there would hold no
    weights, so switching paths back and forth must not reuse them."""
    _skip_without_packed_gemm()
    m = LSTM(20, 24, seed=4).eval()
    x = _x(seed=3)
    with use_isa("avx2"):
        y = m(x)[0]
    with use_isa("baseline"):
        y_base = m(x)[0]
    with use_isa("avx2"):
        np.testing.assert_array_equal(m(x)[0], y)
    assert np.abs(y_base - y).max() < 1e-5
    assert {key[2] for key in m._eval_panels} == {"avx2", "baseline"}


def _skip_without_packed_gemm():
    missing = missing_flag("avx2")
    if missing is not None:
        pytest.skip(f"the packed float32 kernels need CPU flag {missing!r}")
