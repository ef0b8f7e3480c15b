"""Fixtures shared by the layer and engine-level tests (tests/layers, tests/reference)."""
import numpy as np
import pytest

from lstm_energy._layers.engines import engine_available


@pytest.fixture(params=["numpy", "cython"])
def impl(request):
    """The engine name: every test using it runs on the NumPy reference and on the Cython kernels
    (skipped, with the reason, while the kernels are not built)."""
    ok, reason = engine_available(request.param)
    if not ok:
        pytest.skip(f"impl={request.param!r} unavailable: {reason}")
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
