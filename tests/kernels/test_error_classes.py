"""Errors the kernel modules raise on purpose belong to lstm_energy's hierarchy (LstmEnergyError): ConfigError
for a bad option value, ShapeError for an array of the wrong shape, size or layout (both still ValueErrors),
IsaUnsupportedError where the current kernel path lacks the function, StateError where the thread count rules
it out."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from lstm_energy.errors import ConfigError, IsaUnsupportedError, LstmEnergyError, ShapeError, StateError
from lstm_energy.kernels import _vector_math_probe as probe
from lstm_energy.kernels import isa, lowp
from lstm_energy.kernels._isa import _pretend_missing

W = np.ones((20, 12), np.float32)


def _other_layout():
    return "k4" if lowp.int8_layout() == "k2" else "k2"


def _lowp_args(T=4, B=2, D=6, H=8, **change):
    """lowp_forward's arguments for an LSTM that runs, with the named ones replaced."""
    args = {
        "cell": "lstm",
        "x": np.zeros((T, B, D), np.float32),
        "w_ih": lowp.pack_weight(np.ones((4 * H, D), np.float32), "int8"),
        "w_hh": lowp.pack_weight(np.ones((4 * H, H), np.float32), "int8"),
        "bias": np.zeros(4 * H, np.float32),
        "h0": np.zeros((B, H), np.float32),
        "c0": np.zeros((B, H), np.float32),
        "y": np.empty((T, B, H), np.float32),
        "h_n": np.empty((B, H), np.float32),
        "c_n": np.empty((B, H), np.float32),
        "reverse": False,
        "relu": False,
        "ws": {name: np.empty(shape, np.float32) for name, shape in lowp.workspace_shapes("lstm", T, B, D, H).items()},
    }
    args.update(change)
    return list(args.values())


VALUE_ERRORS = {
    "lowp.product_path": (lambda: lowp.product_path("int4"), ConfigError, "unknown reduced precision 'int4'"),
    "lowp.int8_layout": (lambda: lowp.int8_layout("sse"), ConfigError, "unknown int8 path 'sse'"),
    "lowp.pack_weight precision": (lambda: lowp.pack_weight(W, "int4"), ConfigError, "unknown reduced precision"),
    "lowp.pack_weight layout": (lambda: lowp.pack_weight(W, "int8", "k8"), ConfigError, "unknown int8 layout 'k8'"),
    "lowp.workspace_shapes": (
        lambda: lowp.workspace_shapes("lstm", 4, 2, 6, 8, steps_per_chunk=0),
        ConfigError,
        "steps_per_chunk=0 must be between 1 and T=4",
    ),
    "lowp.linear layout": (
        lambda: lowp.linear(np.ones((3, 12), np.float32), lowp.pack_weight(W, "int8", _other_layout()), np.empty((3, 20), np.float32)),
        ShapeError,
        "pack it again",
    ),
    "lowp.linear shapes": (
        lambda: lowp.linear(np.ones((3, 11), np.float32), lowp.pack_weight(W, "bf16"), np.empty((3, 20), np.float32)),
        ShapeError,
        "do not fit a packed weight of N=20, K=12",
    ),
    "lowp.linear scratch": (
        lambda: lowp.linear(
            np.ones((3, 12), np.float32), lowp.pack_weight(W, "bf16"), np.empty((3, 20), np.float32), scratch=np.empty(1, np.float32)
        ),
        ShapeError,
        "scratch has 1 float32 elements",
    ),
    "lowp.lowp_forward weights": (
        lambda: lowp.lowp_forward(*_lowp_args(w_hh=lowp.pack_weight(np.ones((32, 7), np.float32), "int8"))),
        ShapeError,
        "do not fit D=6, H=8",
    ),
    "lowp.lowp_forward bias": (lambda: lowp.lowp_forward(*_lowp_args(bias=np.zeros(3, np.float32))), ShapeError, "bias has 3 elements"),
    "lowp.lowp_forward y": (lambda: lowp.lowp_forward(*_lowp_args(y=np.empty((4, 2, 9), np.float32))), ShapeError, "y must be"),
    "lowp.lowp_forward ws": (lambda: lowp.lowp_forward(*_lowp_args(ws={})), ShapeError, "workspace 'gates'"),
    "isa.set_isa": (lambda: isa.set_isa("sse9"), ConfigError, "unknown kernel path 'sse9'"),
    "isa._pretend_missing": (lambda: _pretend_missing("baseline", "sse2").__enter__(), ConfigError, "runs on every x86-64 CPU"),
    "probe.tanh_f32": (lambda: probe.tanh_f32([1.0], "avx512"), ConfigError, "build must be one of"),
}  # fmt: skip


@pytest.mark.parametrize("call, error, match", VALUE_ERRORS.values(), ids=VALUE_ERRORS.keys())
def test_bad_values_and_shapes_raise_lstm_energy_errors_that_are_value_errors(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert isinstance(info.value, LstmEnergyError) and isinstance(info.value, ValueError)


def _require(path):
    missing = isa.missing_flag(path)
    if missing is not None:
        pytest.skip(f"kernel path {path}: this CPU lacks the {missing!r} flag")


def test_packed_products_are_refused_on_the_baseline_path():
    a, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    panels = probe.pack_panels(b)
    with isa.use_isa("baseline"):
        with pytest.raises(IsaUnsupportedError, match="gemm_packed: the current kernel path has no packed GEMM"):
            probe.gemm_packed(a, panels, 4, np.empty((2, 4), np.float32), False)
        with pytest.raises(IsaUnsupportedError, match="gemm_large: the current kernel path has no packed GEMM"):
            probe.gemm_large(a, b, np.empty((2, 4), np.float32), False, False)


def test_packed_product_of_the_wrong_shape_is_a_shape_error():
    _require("avx2")
    a, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    with isa.use_isa("avx2"):
        with pytest.raises(ShapeError, match="gemm_packed: shapes"):
            probe.gemm_packed(a, probe.pack_panels(b), 4, np.empty((2, 5), np.float32), False)
        with pytest.raises(ShapeError, match="gemm_large: shapes"):
            probe.gemm_large(a, b, np.empty((3, 4), np.float32), False, False)


def _step_with_block(K=16, n=16, Kx=8, nx=16, q1=1, rows=8):
    return probe.step_with_block(
        np.ones(K, np.float32),
        probe.pack_panels(np.ones((K, n), np.float32)),
        n,
        np.empty(n, np.float32),
        False,
        np.ones((rows, Kx), np.float32),
        probe.pack_panels(np.ones((Kx, nx), np.float32)),
        nx,
        0,
        q1,
        np.empty((8, nx), np.float32),
    )


def test_the_fused_step_is_refused_where_it_does_not_run():
    """Another path lacks the fused B = 1 step (IsaUnsupportedError); on the AVX-512 path it needs one OpenMP
    thread (StateError with more); with one, arrays that do not fit are a ShapeError."""
    _require("avx2")
    with isa.use_isa("avx2"), pytest.raises(IsaUnsupportedError, match="do not project ahead"):
        _step_with_block()
    _require("avx512")
    with isa.use_isa("avx512"):
        with threadpool_limits(2, user_api="openmp"), pytest.raises(StateError, match="one OpenMP thread only"):
            _step_with_block()
        with threadpool_limits(1, user_api="openmp"):
            _step_with_block()
            with pytest.raises(ShapeError, match="step_with_block: shapes"):
                _step_with_block(rows=7)
