"""The Cython kernels against the naive float64 oracle: every function, both dtypes, both
directions, contiguous / column-slice / unevenly strided y and dy, and awkward sizes."""

import kernel_oracle as oracle
import numpy as np
import pytest
from kernel_harness import VARIANTS, assert_close, make_problem, run_backward, run_forward

import lstm_energy.kernels as kernels

pytestmark = pytest.mark.usefixtures("every_isa")  # every kernel path (LSTM_ENERGY_ISA)

DTYPES = [np.float64, np.float32]
LAYOUTS = ["contiguous", "column_slice", "uneven"]
# (T, B, D, H): a typical small case, then T=1, B=1, D != H, odd and prime sizes.
SHAPES = [(5, 3, 4, 6), (1, 1, 3, 2), (1, 4, 5, 7), (6, 1, 9, 5), (7, 5, 1, 3), (3, 2, 13, 11)]


def _oracle_forward(p, reverse):
    return oracle.forward(p.cell, p.x, p.params, p.h0, p.c0, reverse, p.relu)


def _oracle_backward(p, reverse):
    return oracle.backward(p.cell, p.x, p.params, p.h0, p.c0, p.dy, p.dh_n, p.dc_n, reverse, p.relu)


def _check_forward(p, y, h_n, c_n, reverse, dtype):
    y_ref, h_ref, c_ref, _ = _oracle_forward(p, reverse)
    assert_close(y, y_ref, dtype, "y")
    assert_close(h_n, h_ref, dtype, "h_n")
    if p.cell == "lstm":
        assert_close(c_n, c_ref, dtype, "c_n")


def _check_backward(p, grads, reverse, dtype, dx_offset=0.0):
    expected = _oracle_backward(p, reverse)
    expected["dx"] = expected["dx"] + dx_offset
    assert set(grads) == set(expected)
    for name in expected:
        assert_close(grads[name], expected[name], dtype, name)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_forward_and_backward_match_oracle(variant, dtype, reverse, layout):
    p = make_problem(variant, 5, 3, 4, 6, dtype, seed=1)
    y, h_n, c_n, ws = run_forward(kernels, p, training=True, reverse=reverse, layout=layout)
    _check_forward(p, y, h_n, c_n, reverse, dtype)
    grads = run_backward(kernels, p, y, ws, reverse=reverse, layout=layout)
    _check_backward(p, grads, reverse, dtype)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "T{}B{}D{}H{}".format(*s))
def test_awkward_sizes(variant, dtype, shape):
    for reverse in (False, True):
        p = make_problem(variant, *shape, dtype, seed=2)
        y, h_n, c_n, ws = run_forward(kernels, p, training=True, reverse=reverse, layout="column_slice")
        _check_forward(p, y, h_n, c_n, reverse, dtype)
        grads = run_backward(kernels, p, y, ws, reverse=reverse, layout="column_slice")
        _check_backward(p, grads, reverse, dtype)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_accumulate_dx_adds_to_existing_values(variant, dtype):
    # The second direction of a bidirectional layer adds its dx onto the first direction's.
    p = make_problem(variant, 4, 3, 5, 4, dtype, seed=3)
    y, _, _, ws = run_forward(kernels, p, training=True, reverse=True)
    dx_before = np.random.default_rng(9).standard_normal(p.x.shape).astype(dtype)
    grads = run_backward(kernels, p, y, ws, reverse=True, dx_init=dx_before)
    _check_backward(p, grads, reverse=True, dtype=dtype, dx_offset=dx_before.astype(np.float64))


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_eval_forward_equals_training_forward(variant, dtype):
    p = make_problem(variant, 6, 2, 3, 5, dtype, seed=4)
    for reverse in (False, True):
        train = run_forward(kernels, p, training=True, reverse=reverse)
        infer = run_forward(kernels, p, training=False, reverse=reverse)
        for a, b in zip(train[:3], infer[:3]):
            if a is not None:
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_read_only_inputs_are_accepted(variant):
    # Inputs are const memoryviews: frozen arrays (e.g. from np.broadcast_to or a torch export)
    # must work without copies.
    p = make_problem(variant, 3, 2, 4, 3, np.float64, seed=5)
    frozen = [p.x, p.h0, p.dy, p.dh_n, *p.params.values()]
    if p.cell == "lstm":
        frozen += [p.c0, p.dc_n]
    for a in frozen:
        a.setflags(write=False)
    y, h_n, c_n, ws = run_forward(kernels, p, training=True, reverse=False)
    _check_forward(p, y, h_n, c_n, False, np.float64)
    y.setflags(write=False)
    grads = run_backward(kernels, p, y, ws, reverse=False)
    _check_backward(p, grads, False, np.float64)


def test_wider_problem_float32():
    # Sizes where OpenBLAS takes its blocked paths (and sums run over many rows).
    p = make_problem("lstm", 12, 17, 40, 33, np.float32, seed=6)
    y, h_n, c_n, ws = run_forward(kernels, p, training=True, reverse=False, layout="column_slice")
    _check_forward(p, y, h_n, c_n, False, np.float32)
    grads = run_backward(kernels, p, y, ws, reverse=False, layout="column_slice")
    _check_backward(p, grads, False, np.float32)
