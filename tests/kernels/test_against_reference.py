"""The Cython kernels against lstm_energy.reference, the plain-NumPy engine of the same contract
(skipped while that package does not import). Same arguments, each engine allocating its own
workspaces from its own workspace_shapes."""

import numpy as np
import pytest
from kernel_harness import VARIANTS, assert_close, make_problem, run_backward, run_forward

import lstm_energy.kernels as kernels

pytestmark = pytest.mark.usefixtures("every_isa")  # every kernel path (LSTM_ENERGY_ISA)

reference = pytest.importorskip("lstm_energy.reference")


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reverse", [False, True])
def test_kernels_agree_with_reference_engine(variant, dtype, reverse):
    p = make_problem(variant, 6, 3, 5, 4, dtype, seed=21)
    ours = run_forward(kernels, p, training=True, reverse=reverse, layout="column_slice")
    theirs = run_forward(reference, p, training=True, reverse=reverse, layout="column_slice")
    for name, a, b in zip(("y", "h_n", "c_n"), ours[:3], theirs[:3]):
        if b is not None:
            assert_close(a, b, dtype, name)
    dx0 = np.ones(p.x.shape, dtype)
    our_grads = run_backward(kernels, p, ours[0], ours[3], reverse=reverse, layout="column_slice", dx_init=dx0)
    their_grads = run_backward(reference, p, theirs[0], theirs[3], reverse=reverse, layout="column_slice", dx_init=dx0)
    assert set(our_grads) == set(their_grads)
    for name in their_grads:
        assert_close(our_grads[name], their_grads[name], dtype, name)
