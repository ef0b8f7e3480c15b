"""Packing of the forward's W (rows of W contiguous, panels = W.T in 16-column slices) on every kernel
path: the scalar loop (baseline), the AVX2 8 x 8 transposes and the AVX-512 16 x 16 ones (then one
8-k AVX2 block and scalar k for the remainder). Packing only moves floats, so every path must give
exactly the NumPy layout, for K with every remainder modulo 16 and 8 and N with a partial last panel."""

import numpy as np
import pytest

from lstm_energy.kernels import _vector_math_probe as probe
from lstm_energy.kernels import isa


@pytest.fixture(params=list(isa.ISAS))
def kernel_path(request):
    """Every kernel path; one the CPU lacks is skipped with the missing flag as the reason."""
    missing = isa.missing_flag(request.param)
    if missing is not None:
        pytest.skip(f"kernel path {request.param}: this CPU lacks the {missing!r} flag")
    with isa.use_isa(request.param):
        yield request.param


def _expected_panels(b):
    K, N = b.shape
    P = -(-N // probe.PANEL_WIDTH)
    padded = np.zeros((K, P * probe.PANEL_WIDTH), np.float32)
    padded[:, :N] = b
    return padded.reshape(K, P, probe.PANEL_WIDTH).transpose(1, 0, 2)


# K: below 8, 8..15 (one AVX2 block), multiples of 16, 16 + 8 + a few (both vector widths and scalar)
@pytest.mark.parametrize("K", [1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 40, 47, 128, 131, 256, 520])
@pytest.mark.parametrize("N", [16, 33, 64])
def test_transposed_source_packs_exactly(kernel_path, K, N):
    rng = np.random.default_rng(K * 100 + N)
    w = rng.standard_normal((N, K)).astype(np.float32)  # the forward's W_hh / W_ih: b = w.T, sk = 1
    panels = probe.pack_panels(w.T)
    assert np.array_equal(panels, _expected_panels(w.T))


def test_transposed_source_with_a_row_stride(kernel_path):
    """W a column slice of a wider array: the source row stride is not K."""
    rng = np.random.default_rng(1)
    wide = rng.standard_normal((48, 300)).astype(np.float32)
    w = wide[:, 10:210]  # (N, K) = (48, 200), row stride 300
    assert np.array_equal(probe.pack_panels(w.T), _expected_panels(w.T))
