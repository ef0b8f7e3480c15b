"""Float64 central-difference check of every backward kernel on a tiny problem.

The loss is L = Σ y·dy + Σ h_n·dh_n (+ Σ c_n·dc_n for the LSTM), so its exact gradient is what the
backward kernels return for (dy, dh_n, dc_n). Each input and parameter entry is perturbed by ±ε and
the forward kernel alone evaluates L: this checks the backward against the forward it belongs to,
with no oracle in between.
"""

import numpy as np
import pytest
from kernel_harness import VARIANTS, make_problem, run_backward, run_forward

import lstm_energy.kernels as kernels

pytestmark = pytest.mark.usefixtures("every_isa")  # every kernel path (LSTM_ENERGY_ISA)

EPS = 1e-6


def _loss(p, reverse):
    y, h_n, c_n, _ = run_forward(kernels, p, training=False, reverse=reverse)
    total = np.sum(y * p.dy) + np.sum(h_n * p.dh_n)
    if p.cell == "lstm":
        total += np.sum(c_n * p.dc_n)
    return total


def _numeric_grad(p, array, reverse):
    grad = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        keep = array[idx]
        array[idx] = keep + EPS
        up = _loss(p, reverse)
        array[idx] = keep - EPS
        down = _loss(p, reverse)
        array[idx] = keep
        grad[idx] = (up - down) / (2 * EPS)
    return grad


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("reverse", [False, True])
def test_backward_matches_central_differences(variant, reverse):
    p = make_problem(variant, 3, 2, 3, 2, np.float64, seed=11)
    y, _, _, ws = run_forward(kernels, p, training=True, reverse=reverse)
    grads = run_backward(kernels, p, y, ws, reverse=reverse)
    targets = {
        "dx": p.x,
        "dw_ih": p.params["w_ih"],
        "dw_hh": p.params["w_hh"],
        "db_ih": p.params["b_ih"],
        "db_hh": p.params["b_hh"],
        "dh0": p.h0,
    }
    if p.cell == "lstm":
        targets["dc0"] = p.c0
    for name, array in targets.items():
        numeric = _numeric_grad(p, array, reverse)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)
