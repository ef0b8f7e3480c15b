"""The packed per-step product of _packed_gemm.h (c (+)= a @ b with b packed into 16-column panels)
against float64 NumPy on every path that has it (avx2, avx512), over shapes that hit every remainder
path: M % 6 and M % 16 (the short blocks of either path and the one-row kernel), N % 16 (the
zero-padded last panel), K beyond the 256-wide k chunks, and both OpenMP paths (below and above the
size that forks threads)."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from lstm_energy.kernels import _vector_math_probe as probe


@pytest.fixture(autouse=True, params=["avx2", "avx512"])
def packed_path(request):
    """Every kernel path that has the packed GEMM (the baseline path uses BLAS instead); a path the
    CPU lacks is skipped with the missing flag as the reason."""
    from lstm_energy.kernels import isa

    missing = isa.missing_flag(request.param)
    if missing is not None:
        pytest.skip(f"kernel path {request.param}: this CPU lacks the {missing!r} flag")
    with isa.use_isa(request.param):
        assert probe.packed_gemm_available()
        yield request.param


SHAPES = [
    (1, 1, 1),
    (1, 512, 128),
    (1, 128, 512),
    (2, 4, 8),
    (3, 7, 13),
    (5, 6, 9),
    (6, 16, 256),
    (7, 17, 257),
    (16, 1024, 256),
    (32, 1024, 256),
    (32, 768, 300),
    (31, 33, 257),
    (7, 4, 1000),
    (64, 2048, 512),
    (13, 40, 600),
    # the AVX-512 path's 8-row blocks: 9..11 rows as two near-equal blocks, 8 + 4, 12 x 8 + 4
    (9, 48, 70),
    (11, 33, 300),
    (12, 16, 9),
    (17, 64, 257),
    (100, 20, 33),
]


def _product(M, N, K, accumulate, transposed_source):
    rng = np.random.default_rng(M * 1000 + N * 7 + K)
    a = rng.standard_normal((M, K)).astype(np.float32)
    w = rng.standard_normal((N, K)).astype(np.float32)  # the forward's W_hh: b = w.T
    b = w.T if transposed_source else np.ascontiguousarray(w.T)
    c0 = rng.standard_normal((M, N)).astype(np.float32)
    c = c0.copy()
    probe.gemm_packed(a, probe.pack_panels(b), N, c, accumulate)
    expected = a.astype(np.float64) @ w.astype(np.float64).T + (c0 if accumulate else 0)
    scale = np.abs(a).astype(np.float64) @ np.abs(w).astype(np.float64).T + np.abs(c0)
    return c, expected, scale


@pytest.mark.parametrize("M, N, K", SHAPES)
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("transposed_source", [False, True], ids=["backward-layout", "forward-layout"])
def test_matches_numpy(M, N, K, accumulate, transposed_source):
    c, expected, scale = _product(M, N, K, accumulate, transposed_source)
    assert np.all(np.abs(c - expected) <= 4 * K * np.finfo(np.float32).eps * scale)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("M, N, K", [(64, 1000, 512), (32, 200, 300)], ids=["panels-stream-from-L3", "panels-fit-L2"])
def test_threads_split_panels_without_changing_the_result(threads, M, N, K):
    """The OpenMP split gives every panel to exactly one thread: bit-identical to one thread. Panels
    beyond 1 MiB are handed out in groups on demand (63 panels, the last one partial), smaller ones
    as one contiguous range per thread."""
    import lstm_energy.kernels  # noqa: F401 - load the kernels' OpenMP runtime before limiting it

    with threadpool_limits(1):
        one, _, _ = _product(M, N, K, True, False)
    with threadpool_limits(threads):
        many, expected, scale = _product(M, N, K, True, False)
    assert np.array_equal(one, many)
    assert np.all(np.abs(many - expected) <= 4 * K * np.finfo(np.float32).eps * scale)


def test_panels_layout_is_zero_padded_columns():
    b = np.arange(3 * 20, dtype=np.float32).reshape(3, 20)
    panels = probe.pack_panels(b)
    assert panels.shape == (2, 3, probe.PANEL_WIDTH)
    assert np.array_equal(panels[0], b[:, :16])
    assert np.array_equal(panels[1, :, :4], b[:, 16:]) and np.all(panels[1, :, 4:] == 0)


def test_row_strided_output_and_nan():
    a = np.ones((3, 9), np.float32)
    a[1, 4] = np.nan
    b = np.ones((9, 5), np.float32)
    big = np.full((3, 8), -7.0, np.float32)
    probe.gemm_packed(a, probe.pack_panels(b), 5, big[:, :5], False)
    assert np.all(big[[0, 2], :5] == 9) and np.all(np.isnan(big[1, :5]))
    assert np.all(big[:, 5:] == -7)  # columns past N untouched by the padded panel


def test_shape_mismatch_is_rejected():
    panels = probe.pack_panels(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match="do not fit"):
        probe.gemm_packed(np.ones((2, 5), np.float32), panels, 4, np.ones((2, 4), np.float32), False)


LARGE_SHAPES = [
    (1, 1, 1),
    (7, 17, 300),
    (100, 80, 257),
    (200, 33, 600),
    (97, 512, 256),
    (3, 1024, 40),
    (50, 20, 700),
    (100, 1100, 300),
]


@pytest.mark.parametrize("M, N, K", LARGE_SHAPES)
@pytest.mark.parametrize("transpose_a", [False, True], ids=["a", "a.T"])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("b_packed", [False, True], ids=["b", "b-packed"])
def test_large_gemm_matches_numpy(M, N, K, transpose_a, threads, b_packed):
    """The own GEMM the kernels use for the T*B-row products on several threads: row chunks of 96
    (M > 96), k chunks of 256 (K > 256), a partial last panel (N % 16), transposed A (dW), and a
    row-major A with rows too long to read in place (K > 640: packed like the transposed one), and
    panels of a k chunk beyond 1 MiB (N = 1100: the path that prefetches the next panel). With b
    packed for all of K and A read in place (the input projection), row chunk by row chunk."""
    import lstm_energy.kernels  # noqa: F401 - load the kernels' OpenMP runtime before limiting it

    rng = np.random.default_rng(M * 31 + N * 7 + K)
    a = rng.standard_normal((K, M) if transpose_a else (M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    c0 = rng.standard_normal((M, N)).astype(np.float32)
    op_a = a.T.astype(np.float64) if transpose_a else a.astype(np.float64)
    scale = np.abs(op_a) @ np.abs(b.astype(np.float64)) + np.abs(c0)
    for accumulate in (False, True):
        c = c0.copy()
        with threadpool_limits(threads):
            probe.gemm_large(a, b, c, accumulate, transpose_a, b_packed)
        expected = op_a @ b.astype(np.float64) + (c0 if accumulate else 0)
        assert np.all(np.abs(c - expected) <= 4 * K * np.finfo(np.float32).eps * scale)


@pytest.fixture
def pairs_forced_on():
    """Run the probe's packed products with panel pairs on the AVX-512 path whatever the CPU (Zen 4 keeps
    single panels), then follow the CPU again."""
    probe.set_panel_pairs(True)
    yield
    probe.set_panel_pairs(None)


@pytest.mark.parametrize("M, K", [(1, 40), (5, 300), (8, 256), (13, 513), (64, 600)])
@pytest.mark.parametrize("b_packed", [False, True], ids=["b", "b-packed"])
def test_a_pair_of_panels_sums_each_column_as_a_panel_alone(M, K, b_packed, pairs_forced_on):
    """The AVX-512 path runs adjacent panels in pairs (the 8 x 32 block; forced on here, as on Intel):
    each output must be summed as the single-panel block sums it, so the columns of a 3-panel product (a
    pair, then one panel; the last one partial) are bit for bit those of products of one panel each, on
    the per-step product and on the large GEMM (A read in place, and A packed for K > 640)."""
    rng = np.random.default_rng(M * 7 + K)
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, 40)).astype(np.float32)
    whole = np.empty((M, 40), np.float32)
    probe.gemm_packed(a, probe.pack_panels(b), 40, whole, False)
    large = np.empty((M, 40), np.float32)
    with threadpool_limits(1):
        probe.gemm_large(a, b, large, False, False, b_packed)
    for lo, hi in ((0, 16), (16, 32), (32, 40)):
        part = np.ascontiguousarray(b[:, lo:hi])
        alone = np.empty((M, hi - lo), np.float32)
        probe.gemm_packed(a, probe.pack_panels(part), hi - lo, alone, False)
        np.testing.assert_array_equal(whole[:, lo:hi], alone, err_msg=f"columns {lo}:{hi}")
        alone_large = np.empty((M, hi - lo), np.float32)
        with threadpool_limits(1):
            probe.gemm_large(a, part, alone_large, False, False, b_packed)
        np.testing.assert_array_equal(large[:, lo:hi], alone_large, err_msg=f"large, columns {lo}:{hi}")


#: (B, H) per cell: small (the cell rows on one thread) and large enough that a step's cell work is
#: split over the pool (B * gates * H >= CELL_PARALLEL_MIN = 16384, an odd B so the split is uneven)
AGREEMENT_SIZES = {"lstm": [(7, 48), (33, 128)], "gru": [(7, 48), (33, 192)], "rnn": [(7, 48), (33, 512)]}


@pytest.mark.parametrize("cell, batch, hidden", [(c, b, h) for c, sizes in AGREEMENT_SIZES.items() for b, h in sizes])
def test_layers_agree_on_one_and_two_threads(cell, batch, hidden):
    """One thread sends dA @ W to BLAS and runs each step's cell rows on one thread; two threads run
    every product on the own GEMM and split large steps' cell rows over the pool: same answers."""
    from lstm_energy.layers import GRU, LSTM, RNN

    cls = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[cell]
    small = batch < 10
    layer = cls(80, hidden, num_layers=2 if small else 1, bidirectional=small, dtype="float32", seed=3)
    x = np.random.default_rng(4).standard_normal((30 if small else 6, batch, 80)).astype(np.float32)
    layer.train()
    results = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            y, _ = layer.forward(x)
            dx, _ = layer.backward(np.ones_like(y))
        results.append((y.copy(), dx.copy(), {k: g.copy() for k, g in layer.grads.items()}))
    (y1, dx1, g1), (y2, dx2, g2) = results
    np.testing.assert_allclose(y1, y2, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(dx1, dx2, rtol=1e-4, atol=1e-5)
    assert g1.keys() == g2.keys() and g1
    for name in g1:
        np.testing.assert_allclose(g1[name], g2[name], rtol=1e-4, atol=1e-4, err_msg=name)
