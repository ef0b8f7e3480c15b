"""The B = 1 step that projects a later block's input ahead (``_step_ahead.h``): its two products
against the unfused kernels (the same bits) and float64 NumPy, and the layers' B = 1 forwards on one
thread (the steps project ahead) against two threads (the whole projection before the loop): the
same bits, over sequence lengths that hit every block split."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from lstm_energy.kernels import _vector_math_probe as probe
from lstm_energy.kernels import isa

ROWS = 8  # LE_AHEAD_ROWS: rows of a projected block


@pytest.fixture(autouse=True)
def avx512_path():
    """The steps project ahead on the AVX-512 path only; a CPU without it skips, naming the flag."""
    missing = isa.missing_flag("avx512")
    if missing is not None:
        pytest.skip(f"kernel path avx512: this CPU lacks the {missing!r} flag")
    with isa.use_isa("avx512"):
        yield


#: (K, n, Kx, nx, q0, q1): the GEMV h (K,) @ b (K, n) and the block x (8, Kx) @ bx (Kx, nx) on
#: bx's panels [q0, q1)
SHAPES = [
    (128, 512, 128, 512, 0, 4),  # the edge LSTM: one step's share of 32 panels over 8 steps
    (128, 512, 128, 512, 28, 32),
    (5, 40, 3, 40, 0, 3),  # K < 8: no 8-k group, the whole share runs after the GEMV
    (70, 280, 33, 280, 10, 18),  # K % 8 != 0, a partial last panel (280 = 17.5 x 16) in both
    (300, 80, 300, 80, 0, 5),  # both K beyond the 256-wide k chunks
    (20, 80, 600, 80, 1, 5),  # more k-rows of projection than 8-k groups of GEMV
    (64, 48, 16, 48, 2, 2),  # an empty share
]


@pytest.mark.parametrize("K, n, Kx, nx, q0, q1", SHAPES)
@pytest.mark.parametrize("accumulate", [False, True])
def test_step_with_block_is_the_unfused_products(K, n, Kx, nx, q0, q1, accumulate):
    rng = np.random.default_rng(K * 7 + Kx)
    h = rng.standard_normal(K).astype(np.float32)
    b = rng.standard_normal((K, n)).astype(np.float32)
    x = rng.standard_normal((ROWS, Kx)).astype(np.float32)
    bx = rng.standard_normal((Kx, nx)).astype(np.float32)
    c0 = rng.standard_normal(n).astype(np.float32)
    sentinel = np.float32(12345.0)
    c, p = c0.copy(), np.full((ROWS, nx), sentinel, np.float32)
    with threadpool_limits(1, user_api="openmp"):
        assert probe.steps_project_ahead(1)
        probe.step_with_block(h, probe.pack_panels(b), n, c, accumulate, x, probe.pack_panels(bx), nx, q0, q1, p)

        c_unfused = c0.copy().reshape(1, n)
        probe.gemm_packed(h.reshape(1, K), probe.pack_panels(b), n, c_unfused, accumulate)
        p_unfused = np.zeros((ROWS, nx), np.float32)
        probe.gemm_large(x, bx, p_unfused, False, False, b_packed=True)
    cols = slice(16 * q0, min(16 * q1, nx))
    np.testing.assert_array_equal(c, c_unfused[0])
    np.testing.assert_array_equal(p[:, cols], p_unfused[:, cols])
    outside = np.ones(nx, bool)
    outside[cols] = False
    assert (p[:, outside] == sentinel).all(), "columns outside the share were written"

    expected_c = h.astype(np.float64) @ b + (c0 if accumulate else 0)
    np.testing.assert_allclose(c, expected_c, rtol=1e-4, atol=1e-4 * np.sqrt(K))
    expected_p = x.astype(np.float64) @ bx
    np.testing.assert_allclose(p[:, cols], expected_p[:, cols], rtol=1e-4, atol=1e-4 * np.sqrt(Kx))


def test_steps_project_ahead_only_for_one_row_on_one_thread():
    with threadpool_limits(1, user_api="openmp"):
        assert probe.steps_project_ahead(1)
        assert not probe.steps_project_ahead(2)
    with threadpool_limits(2, user_api="openmp"):
        assert not probe.steps_project_ahead(1)
    with isa.use_isa("avx2"), threadpool_limits(1, user_api="openmp"):
        assert not probe.steps_project_ahead(1)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("seq_len", [1, 2, 8, 9, 10, 13, 16, 17, 23, 25, 100])
@pytest.mark.parametrize("input_size, hidden_size", [(128, 128), (33, 70), (300, 20)])
@pytest.mark.parametrize("training", [False, True])
def test_b1_forward_projecting_ahead_is_the_same_bits(cell, seq_len, input_size, hidden_size, training):
    """One thread: the steps project ahead (the first 2..9 steps before the loop, the next block of 8
    during them, later blocks of 8 during the block before); two threads: the whole projection
    before the loop."""
    from lstm_energy.layers import GRU, LSTM, RNN

    cls = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[cell]
    layer = cls(input_size, hidden_size, bidirectional=True, dtype="float32", seed=5)
    layer.train() if training else layer.eval()
    x = np.random.default_rng(seq_len).standard_normal((seq_len, 1, input_size)).astype(np.float32)
    outputs = []
    for threads, ahead in ((1, True), (2, False)):
        with threadpool_limits(threads, user_api="openmp"):
            assert probe.steps_project_ahead(1) == ahead
            y, states = layer.forward(x)
        outputs.append((y.copy(), [s.copy() for s in (states if isinstance(states, tuple) else (states,))]))
    (y1, s1), (y2, s2) = outputs
    np.testing.assert_array_equal(y1, y2)
    for a, b in zip(s1, s2, strict=True):
        np.testing.assert_array_equal(a, b)
