"""The AVX2 per-step product c (+)= a @ w.T of _recurrent_gemm.h against float64 NumPy, over shapes
that hit every remainder path (odd M, N % 4, K % 8) and the K chunking (K > 4096 / M)."""
import numpy as np
import pytest

from lstm_energy.kernels import _vector_math_probe as probe

pytestmark = pytest.mark.skipif(not probe.recurrent_gemm_available(),
                                reason="the AVX2 recurrent kernel needs a CPU with AVX2 and FMA")

SHAPES = [(1, 1, 1), (1, 512, 128), (2, 4, 8), (3, 7, 13), (5, 6, 9), (16, 1024, 256),
          (32, 1024, 256), (32, 768, 300), (31, 33, 257), (7, 4, 1000)]


@pytest.mark.parametrize("M, N, K", SHAPES)
@pytest.mark.parametrize("accumulate", [False, True])
def test_matches_numpy(M, N, K, accumulate):
    rng = np.random.default_rng(M * 1000 + N + K)
    a = rng.standard_normal((M, K)).astype(np.float32)
    w = rng.standard_normal((N, K)).astype(np.float32)
    c0 = rng.standard_normal((M, N)).astype(np.float32)
    c = c0.copy()
    probe.gemm_abt_avx2(a, w, c, accumulate)
    expected = a.astype(np.float64) @ w.astype(np.float64).T + (c0 if accumulate else 0)
    scale = np.abs(a).astype(np.float64) @ np.abs(w).astype(np.float64).T + np.abs(c0)
    assert np.all(np.abs(c - expected) <= 4 * K * np.finfo(np.float32).eps * scale)


def test_row_strided_output_and_nan():
    a = np.ones((3, 9), np.float32)
    a[1, 4] = np.nan
    w = np.ones((5, 9), np.float32)
    big = np.full((3, 8), -7.0, np.float32)
    probe.gemm_abt_avx2(a, w, big[:, :5], False)
    assert np.all(big[[0, 2], :5] == 9) and np.all(np.isnan(big[1, :5]))
    assert np.all(big[:, 5:] == -7)          # columns past N untouched


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match="do not fit"):
        probe.gemm_abt_avx2(np.ones((2, 3), np.float32), np.ones((4, 5), np.float32),
                            np.ones((2, 4), np.float32), False)


AB_SHAPES = [(1, 1, 1), (1, 128, 512), (3, 37, 148), (4, 24, 5), (5, 13, 13), (16, 256, 1024),
             (32, 256, 768), (7, 47, 9), (33, 17, 3)]


@pytest.mark.parametrize("M, N, K", AB_SHAPES)
@pytest.mark.parametrize("accumulate", [False, True])
def test_backward_form_matches_numpy(M, N, K, accumulate):
    rng = np.random.default_rng(M * 7919 + N * 31 + K)
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    c0 = rng.standard_normal((M, N)).astype(np.float32)
    c = c0.copy()
    probe.gemm_ab_avx2(a, b, c, accumulate)
    expected = a.astype(np.float64) @ b.astype(np.float64) + (c0 if accumulate else 0)
    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64) + np.abs(c0)
    assert np.all(np.abs(c - expected) <= 4 * K * np.finfo(np.float32).eps * scale)


def test_backward_form_propagates_nan_and_checks_shapes():
    a = np.ones((2, 3), np.float32)
    a[0, 1] = np.nan
    c = np.zeros((2, 9), np.float32)
    probe.gemm_ab_avx2(a, np.ones((3, 9), np.float32), c, False)
    assert np.all(np.isnan(c[0])) and np.all(c[1] == 3)
    with pytest.raises(ValueError, match="do not fit"):
        probe.gemm_ab_avx2(a, np.ones((4, 9), np.float32), c, False)
