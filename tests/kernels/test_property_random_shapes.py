"""Property: for any small shape, cell, dtype, direction and y/dy layout, forward and backward match
the naive oracle (Hypothesis explores sizes the hand-picked cases miss)."""

import kernel_oracle as oracle
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_harness import VARIANTS, assert_close, make_problem, run_backward, run_forward

import lstm_energy.kernels as kernels

# every kernel path: the path is set once per test (not per example), which is what the examples need
pytestmark = pytest.mark.usefixtures("every_isa")


# derandomize: the same 40 examples every run, so CI cannot flake on a rare relu kink at 0.
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    variant=st.sampled_from(sorted(VARIANTS)),
    dtype=st.sampled_from([np.float64, np.float32]),
    T=st.integers(1, 6),
    B=st.integers(1, 5),
    D=st.integers(1, 9),
    H=st.integers(1, 9),
    reverse=st.booleans(),
    layout=st.sampled_from(["contiguous", "column_slice", "uneven"]),
    accumulate=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_random_problem_matches_oracle(variant, dtype, T, B, D, H, reverse, layout, accumulate, seed):
    p = make_problem(variant, T, B, D, H, dtype, seed=seed)
    y, h_n, c_n, ws = run_forward(kernels, p, training=True, reverse=reverse, layout=layout)
    y_ref, h_ref, c_ref, _ = oracle.forward(p.cell, p.x, p.params, p.h0, p.c0, reverse, p.relu)
    assert_close(y, y_ref, dtype, "y")
    assert_close(h_n, h_ref, dtype, "h_n")
    if c_n is not None:
        assert_close(c_n, c_ref, dtype, "c_n")
    dx0 = np.full(p.x.shape, 0.25, dtype) if accumulate else None
    grads = run_backward(kernels, p, y, ws, reverse=reverse, layout=layout, dx_init=dx0)
    expected = oracle.backward(p.cell, p.x, p.params, p.h0, p.c0, p.dy, p.dh_n, p.dc_n, reverse, p.relu)
    if accumulate:
        expected["dx"] = expected["dx"] + 0.25
    for name, want in expected.items():
        assert_close(grads[name], want, dtype, name)
