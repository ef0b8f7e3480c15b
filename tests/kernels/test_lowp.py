"""Reduced-precision inference (issue 18): int8 and bf16 products per path against the NumPy
specification (lstm_energy.reference.lowp), layers against fp32 and PyTorch's dynamic quantized modules."""

import os
import re
import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest

from lstm_energy import GRU, LSTM, RNN
from lstm_energy.errors import ConfigError, IsaUnsupportedError, StateError
from lstm_energy.reference import lowp as ref

lowp = pytest.importorskip("lstm_energy.kernels.lowp", reason="Cython kernels not built")
from lstm_energy.kernels.isa import missing_flag, use_isa  # noqa: E402

# (isa, extra CPU flag the product path needs on top of the isa, expected int8 path name)
# (vnni runs with the AMX tiles switched off)
INT8_PATHS = [("baseline", None, "scalar"), ("avx2", None, "avx2"), ("avx512", "avx512_vnni", "vnni"),
              ("avx512", "amx_int8", "amx_int8")]  # fmt: skip
# M, N, K: tails in every dimension; M < 4 over 4+ panels (the one-row kernels' groups of 8 and 4 and their tails:
# 13 panels = 8 + 4 + 1)
# M >= 16 with K >= 32 (bf16) or 64 (int8) takes the AMX tiles where they exist: whole 16-row blocks,
# whole panels and 64-byte k chunks on the tiles, the rest on AVX512_BF16 / VNNI (rows 40 = 2 x 16 + 8,
# N 50 = 3 panels + 2 columns, K 80 = 2 x 32 + 16 or 64 + 16; one row block, 3 panels, K 33; K 200 =
# 3 x 64 + 8)
SHAPES = [(1, 16, 4), (5, 37, 13), (9, 48, 129), (32, 1024, 256), (50, 20, 7), (1, 100, 40), (3, 130, 33),
          (40, 50, 80), (64, 96, 96), (16, 48, 33), (48, 40, 200), (2, 200, 72)]  # fmt: skip


def _require(isa, flag):
    missing = missing_flag(isa)
    if missing is not None:
        pytest.skip(f"kernel path {isa} needs CPU flag {missing!r}")
    if flag is not None and not lowp.cpu_flags()[flag]:
        pytest.skip(f"this product path needs CPU flag {flag!r}")


@pytest.mark.parametrize("isa,flag,name", INT8_PATHS)
@pytest.mark.parametrize("M,N,K", SHAPES)
def test_int8_product_is_bit_identical_to_exact_integer_reference(isa, flag, name, M, N, K):
    _require(isa, flag)
    rng = np.random.default_rng(M * N + K)
    a = rng.standard_normal((M, K)).astype(np.float32)
    a[0] = 0.0  # a zero row: scale 0, output 0
    # a row so small that 127 / max overflows to inf: every element quantizes to +-127 through the clamp
    # (elsewhere the kernels skip the clamp, which cannot change a value there)
    if M > 1:
        a[-1] = np.where(rng.random(K) < 0.5, -1, 1) * rng.uniform(0.5, 1, K) * 1e-37
    w = (rng.standard_normal((N, K)) * rng.uniform(0.01, 3, (N, 1))).astype(np.float32)
    with np.errstate(over="ignore"):
        expected = ref.int8_linear(a, *ref.prepare_weight(w, "int8"))
    out = np.full((M, N), np.nan, np.float32)
    with use_isa(isa), lowp.use_amx(name == "amx_int8"):
        assert lowp.product_path("int8") == name
        lowp.linear(a, lowp.pack_weight(w, "int8"), out)
        acc = np.ones((M, N), np.float32)
        lowp.linear(a, lowp.pack_weight(w, "int8"), acc, accumulate=True)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(acc, np.float32(1) + expected)
    assert not out[0].any()
    if M > 1:
        with np.errstate(over="ignore"):
            assert np.abs(ref.quantize_rows(a[-1:])[0]).min() == 127 and out[-1].any()


@pytest.mark.parametrize("isa,flag,name", INT8_PATHS)
def test_int8_rows_near_float32_max_are_quantized_and_only_inf_or_nan_rows_give_nan(isa, flag, name):
    """A finite row up to FLT_MAX has a normal scale (max / 127) and quantizes like any other; only a row
    holding an inf or NaN gives NaN outputs (the specification's rule). A finite 3.2e38 once gave 0."""
    _require(isa, flag)
    big = np.float32(np.finfo(np.float32).max)
    a = np.array([[3.2e38, 1.0, -2.0], [big, 0.0, 0.0], [1.0, np.inf, 0.0], [1.0, np.nan, 0.0]], np.float32)
    w = np.array([[0.5, 0.25, -1.0], [1e-3, 2.0, 0.5]], np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = ref.int8_linear(a, *ref.prepare_weight(w, "int8"))
    out = np.zeros((4, 2), np.float32)
    with use_isa(isa), lowp.use_amx(name == "amx_int8"):
        assert lowp.product_path("int8") == name
        lowp.linear(a, lowp.pack_weight(w, "int8"), out)
    np.testing.assert_array_equal(out[:2], expected[:2])
    assert np.isfinite(out[:2]).all() and abs(out[0, 0] / 1.6e38 - 1) < 1e-2  # 3.2e38 * 0.5, within a step
    assert np.isnan(out[2:]).all() and np.isnan(expected[2:]).all()


@pytest.mark.parametrize("K", [256, 1030])
def test_int8_avx2_product_is_exact_for_every_row_count(K):
    """The AVX2 path splits rows into chunks (30 rows at K = 256, 6 at K = 1030) and register blocks of 6
    and 4 rows, a tail computed by a block overlapping rows already stored: every M from 1 to 40 (and
    chunk boundaries with 1-5 rows left) gives the exact products, each row stored once with its own
    scale (accumulate would add an overlapped row twice)."""
    _require("avx2", None)
    rng = np.random.default_rng(K)
    w = rng.standard_normal((20, K)).astype(np.float32)
    for M in list(range(1, 41)) + [61, 63, 65]:
        a = rng.standard_normal((M, K)).astype(np.float32) * rng.uniform(0.1, 10, (M, 1)).astype(np.float32)
        expected = ref.int8_linear(a, *ref.prepare_weight(w, "int8"))
        acc = np.full((M, 20), 2.0, np.float32)
        with use_isa("avx2"):
            lowp.linear(a, lowp.pack_weight(w, "int8"), acc, accumulate=True)
        np.testing.assert_array_equal(acc, np.float32(2) + expected, err_msg=f"M={M}")


# (isa, extra CPU flag, expected bf16 path name); on an AVX-512 CPU without AVX512_BF16 the avx512 isa takes
# the avx2 bf16 product, which the avx2 case covers; avx512_bf16 runs with the AMX tiles switched off
BF16_PATHS = [("baseline", None, "scalar"), ("avx2", None, "avx2"), ("avx512", "avx512_bf16", "avx512_bf16"),
              ("avx512", "amx_bf16", "amx_bf16")]  # fmt: skip


@contextmanager
def _bf16_path(isa, name):
    """Run the block's bf16 products on path ``name`` of BF16_PATHS."""
    with use_isa(isa), lowp.use_amx(name == "amx_bf16"):
        assert lowp.product_path("bf16") == name
        yield


@pytest.mark.parametrize("isa,flag,name", BF16_PATHS)
@pytest.mark.parametrize("M,N,K", SHAPES)
def test_bf16_product_matches_reference_to_float32_rounding(isa, flag, name, M, N, K):
    _require(isa, flag)
    rng = np.random.default_rng(K)
    a = rng.standard_normal((M, K)).astype(np.float32)
    w = rng.standard_normal((N, K)).astype(np.float32)
    expected = ref.bf16_linear(a, ref.prepare_weight(w, "bf16"))
    out = np.empty((M, N), np.float32)
    acc = np.ones((M, N), np.float32)
    with _bf16_path(isa, name):
        lowp.linear(a, lowp.pack_weight(w, "bf16"), out)
        lowp.linear(a, lowp.pack_weight(w, "bf16"), acc, accumulate=True)
    np.testing.assert_array_equal(acc, np.float32(1) + out)
    # same products (exact in float32), only the summation order differs: O(K eps) of sum |a w|
    bound = 4 * K * np.finfo(np.float32).eps * (np.abs(ref.to_bf16(a)) @ np.abs(ref.prepare_weight(w, "bf16")).T)
    assert (np.abs(out - expected) <= bound + 1e-30).all()


@pytest.mark.parametrize("isa,flag,name", BF16_PATHS)
@pytest.mark.parametrize("N", [16, 100, 130])
def test_bf16_product_of_a_single_row_has_the_bits_of_a_block_row(isa, flag, name, N):
    """A product of fewer than 4 rows (the B = 1 step) takes a one-row kernel on the AVX512_BF16 and AVX2
    paths; it must sum each output in the block's order, so a row gives the same bits alone as in a block."""
    _require(isa, flag)
    rng = np.random.default_rng(N)
    a = rng.standard_normal((1, 72)).astype(np.float32)
    packed = lowp.pack_weight(rng.standard_normal((N, 72)).astype(np.float32), "bf16")
    alone, in_block = np.empty((1, N), np.float32), np.empty((8, N), np.float32)
    with _bf16_path(isa, name):
        lowp.linear(a, packed, alone)
        lowp.linear(np.repeat(a, 8, axis=0), packed, in_block)
    np.testing.assert_array_equal(alone[0], in_block[0])


@contextmanager
def _panel_pairs(on):
    """The int8 (VNNI) and bf16 (AVX512_BF16) blocks with adjacent panels paired (``on``) or not, whatever
    the CPU would choose (Zen 4 keeps single panels), then following the CPU again."""
    lowp.set_panel_pairs(on)
    try:
        yield
    finally:
        lowp.set_panel_pairs(None)


# rows: whole 8-row blocks and tails of 1-7 (each panel on its own block); columns: a pair, a pair and a
# lone panel, a partial second panel of a pair (N = 20, 40), 3 panels + 2 columns; K: tails of the k groups
PAIR_SHAPES = [(8, 32, 64), (9, 48, 129), (40, 50, 80), (5, 20, 13), (64, 1024, 256), (16, 40, 7)]


@pytest.mark.parametrize("precision, flag", [("int8", "avx512_vnni"), ("bf16", "avx512_bf16")])
@pytest.mark.parametrize("M,N,K", PAIR_SHAPES)
def test_paired_panels_give_the_bits_of_single_panels(precision, flag, M, N, K):
    """On the AVX-512 path the int8 and bf16 blocks run two adjacent panels at once (16 sums) where the CPU
    issues two 512-bit products per cycle: each column must be summed as the single-panel block sums it (the
    int8 sums are exact integers, the bf16 ones in the same k order), with its own column sums and scales,
    and the second panel's columns clipped at N."""
    _require("avx512", flag)
    rng = np.random.default_rng(M * N + K)
    a = rng.standard_normal((M, K)).astype(np.float32) * rng.uniform(0.1, 10, (M, 1)).astype(np.float32)
    w = (rng.standard_normal((N, K)) * rng.uniform(0.01, 3, (N, 1))).astype(np.float32)
    c0 = rng.standard_normal((M, N)).astype(np.float32)
    results = {}
    with use_isa("avx512"), lowp.use_amx(False):
        packed = lowp.pack_weight(w, precision)
        for on in (True, False):
            with _panel_pairs(on):
                assert lowp.panel_pairs() is on
                out, acc = np.full((M, N), np.nan, np.float32), c0.copy()
                lowp.linear(a, packed, out)
                lowp.linear(a, packed, acc, accumulate=True)
                results[on] = out, acc
    np.testing.assert_array_equal(results[True][0], results[False][0])
    np.testing.assert_array_equal(results[True][1], results[False][1])
    np.testing.assert_array_equal(results[True][1], c0 + results[True][0])
    if precision == "int8":
        np.testing.assert_array_equal(results[True][0], ref.int8_linear(a, *ref.prepare_weight(w, "int8")))


def test_reduced_precision_panels_pair_as_the_float32_products_do():
    """lowp's blocks follow the same rule as the float32 products (every AVX-512 CPU but Zen 4), each module
    with its own switch."""
    from lstm_energy.kernels import _vector_math_probe as probe

    assert lowp.panel_pairs() == probe.panel_pairs()
    with _panel_pairs(not probe.panel_pairs()):
        assert lowp.panel_pairs() != probe.panel_pairs()
    assert lowp.panel_pairs() == probe.panel_pairs()


@pytest.mark.parametrize("precision, layout", [("int8", "k4"), ("int8", "k2"), ("bf16", None)])
def test_packed_weights_start_on_a_cache_line(precision, layout):
    """Every array a product streams (the panels' 64-byte rows, the int8 column sums and scales, 64 bytes
    per panel) starts on a 64-byte line, whatever the allocator returned: a line-straddling zmm or tile load
    made the same product's speed depend on the process (docs/kernels-performance.md, "The reduced-precision
    packed weights on cache lines")."""
    rng = np.random.default_rng(5)
    for N, K in [(16, 4), (40, 30), (512, 128), (1024, 256), (1536, 512), (33, 513)]:
        packed = lowp.pack_weight(rng.standard_normal((N, K)).astype(np.float32), precision, layout)
        arrays = {name: value for name, value in packed.items() if isinstance(value, np.ndarray)}
        assert set(arrays) == ({"panels", "wsum", "wscale"} if precision == "int8" else {"panels"})
        for name, value in arrays.items():
            assert value.ctypes.data % 64 == 0, f"{precision} {layout} N={N} K={K}: {name} starts off a cache line"
            assert value.flags.c_contiguous


@pytest.mark.parametrize("precision", ["int8", "bf16"])
@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_a_layer_keeps_its_reduced_precision_weights_and_bias_on_cache_lines(cls, precision):
    m = cls(40, 48, dtype="float32", seed=1)
    m.eval(precision=precision)
    m(np.zeros((3, 2, 40), np.float32))
    packed_ih, packed_hh, bias = m._lowp_packed(0, 0, precision)
    arrays = [bias] + [v for packed in (packed_ih, packed_hh) for v in packed.values() if isinstance(v, np.ndarray)]
    assert [a.ctypes.data % 64 for a in arrays] == [0] * len(arrays)


@contextmanager
def _amx_unusable(how):
    """The tiles unusable: on this CPU as it is ("real": skipped where they can be used), or pretended
    for a missing 'amx_tile' on any CPU ("pretended")."""
    if how == "pretended":
        with lowp._pretend_amx_missing("amx_tile"):
            yield "amx_tile"
        return
    missing = lowp.amx_missing()
    if missing is None:
        pytest.skip("this machine can use the AMX tiles")
    yield missing


@pytest.mark.parametrize("how", ["real", "pretended"])
def test_amx_is_refused_clearly_where_the_tiles_cannot_be_used(how):
    with _amx_unusable(how) as missing:
        assert lowp.amx_missing() == missing
        refusal = re.escape(f"need {missing!r}, which this machine does not provide")
        with pytest.raises(IsaUnsupportedError, match=refusal):
            lowp.set_amx(True)
        assert not lowp.amx_enabled()
        assert lowp.product_path("bf16") != "amx_bf16" and lowp.product_path("int8") != "amx_int8"


@pytest.mark.parametrize("how", ["real", "pretended"])
def test_amx_on_in_the_environment_is_refused_where_the_tiles_cannot_be_used(how, monkeypatch):
    monkeypatch.setenv(lowp.AMX_ENV_VAR, "on")
    with _amx_unusable(how) as missing:
        with pytest.raises(IsaUnsupportedError, match=re.escape(f"{lowp.AMX_ENV_VAR}=on: the AMX bf16 and int8 "
                                                                f"products need {missing!r}")):  # fmt: skip
            lowp._amx_from_environment()


def test_amx_asked_for_in_the_environment_is_refused_at_import_where_the_tiles_cannot_be_used():
    missing = lowp.amx_missing()
    if missing is None:
        pytest.skip("this machine can use the AMX tiles")
    run = subprocess.run([sys.executable, "-c", "import lstm_energy.kernels.lowp"], capture_output=True, text=True,
                         env={**os.environ, lowp.AMX_ENV_VAR: "on"})  # fmt: skip
    assert run.returncode != 0
    assert f"IsaUnsupportedError: {lowp.AMX_ENV_VAR}=on: the AMX bf16 and int8 products need {missing!r}" in run.stderr


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_amx_tiles_and_the_avx512_products_agree_on_a_layer(precision):
    """The tile products (the input projection's rows; a batch of 16 rows per step) against AVX512_BF16 /
    VNNI. int8: exact integer sums either way, the same bits. bf16: the same products summed in another
    order; an ulp of difference in a state can move its bf16 rounding at the next step, so the layers
    agree to a bf16 step at most, and mostly far better."""
    _require("avx512", f"amx_{precision}")
    m = LSTM(80, 48, seed=3).eval(precision=precision)
    x = np.random.default_rng(5).standard_normal((12, 16, 80)).astype(np.float32)
    with use_isa("avx512"):
        y_amx, _ = m(x)
        with lowp.use_amx(False):
            assert lowp.product_path(precision) == ("avx512_bf16" if precision == "bf16" else "vnni")
            y_avx512, _ = m(x)
    if precision == "int8":
        np.testing.assert_array_equal(y_amx, y_avx512)
        return
    assert not np.array_equal(y_amx, y_avx512)  # it really took another product
    assert np.abs(y_amx - y_avx512).max() < 2e-2
    assert np.abs(y_amx - y_avx512).mean() < 1e-4


def test_quantization_scheme_is_symmetric_per_row_and_within_half_a_step():
    a = np.array([[0.5, -1.0, 0.25], [0.0, 0.0, 0.0]], np.float32)
    q, s = ref.quantize_rows(a)
    assert q.dtype == np.int8 and q[0].tolist() == [64, -127, 32] and not q[1].any()
    np.testing.assert_allclose(s, [1.0 / 127, 0.0], rtol=1e-7)
    rng = np.random.default_rng(0)
    b = rng.standard_normal((8, 100)).astype(np.float32)
    q, s = ref.quantize_rows(b)
    assert np.abs(q).max() <= 127
    assert (np.abs(q * s[:, None] - b) <= 0.5 * s[:, None] * (1 + 1e-5)).all()


CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("precision,tol", [("int8", 2e-2), ("bf16", 1e-2)])
def test_layer_error_against_fp32_is_within_the_targets(cell, precision, tol):
    m = CELLS[cell](64, 96, seed=1).eval()
    x = np.random.default_rng(2).standard_normal((30, 8, 64)).astype(np.float32)
    y32, s32 = m(x)
    y, s = m.eval(precision=precision)(x)
    rel = np.linalg.norm(y - y32) / np.linalg.norm(y32)
    assert rel <= tol, f"{precision} relative output error {rel:.3g} > {tol}"
    h, h32 = (s[0], s32[0]) if cell == "lstm" else (s, s32)
    assert np.linalg.norm(h - h32) / np.linalg.norm(h32) <= tol
    assert 0 < rel  # it really ran in reduced precision


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_layer_matches_numpy_specification(cell, precision):
    kw = dict(num_layers=2, bidirectional=True, batch_first=True)
    fast, spec = CELLS[cell](12, 20, seed=5, **kw), CELLS[cell](12, 20, seed=5, impl="numpy", **kw)
    x = np.random.default_rng(4).standard_normal((3, 7, 12)).astype(np.float32)
    y, _ = fast.eval(precision=precision)(x)
    y_ref, _ = spec.eval(precision=precision)(x)
    assert y.shape == (3, 7, 40)
    # the products agree (int8: exactly); the activations differ by ulps, which can move a rounding
    # step of the next step's quantization: differences stay at the quantization step's size
    assert np.abs(y - y_ref).max() < 2e-2
    assert np.abs(y - y_ref).mean() < 1e-3


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_int8_agrees_with_torch_dynamic_quantized_module(cell):
    torch = pytest.importorskip("torch")
    m = CELLS[cell](32, 48, seed=7).eval(precision="int8")
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    t = cls(32, 48)
    t.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(t.eval()), {cls}, dtype=torch.qint8)[0]
    assert "Quantized" in type(q).__name__ or "quantized" in type(q).__module__
    x = np.random.default_rng(8).standard_normal((20, 4, 32)).astype(np.float32)
    with torch.inference_mode():
        y_t = q(torch.from_numpy(x))[0].numpy()
        y32 = t(torch.from_numpy(x))[0].numpy()
    y = m(x)[0]
    # two int8 schemes (torch: per-tensor asymmetric 7-bit activations; ours: per-row symmetric 8-bit):
    # both within the quantization error of fp32, so within twice that of each other
    assert np.linalg.norm(y - y_t) / np.linalg.norm(y32) < 3e-2
    assert np.linalg.norm(y - y32) <= np.linalg.norm(y_t - y32) * 1.5


def test_training_with_a_reduced_precision_is_refused():
    m = LSTM(4, 6).eval(precision="int8")
    with pytest.raises(StateError, match="training runs in fp32 only.*eval\\(precision='fp32'\\)"):
        m.train()
    m.eval(precision="fp32").train()  # back to fp32: training allowed again
    assert m.training
    with pytest.raises(ValueError, match="unknown precision 'int4'"):
        m.eval(precision="int4")
    with pytest.raises(ValueError, match="needs a float32 layer"):
        LSTM(4, 6, dtype=np.float64).eval(precision="bf16")
    with pytest.raises(StateError):  # an int8 forward keeps nothing for backward
        m.eval(precision="int8")(np.zeros((2, 1, 4), np.float32))
        m.backward(None)


def test_config_refuses_reduced_precision_outside_the_float32_forward():
    base = dict(cell="gru", batch=1, seq_len=2, input_size=3, hidden_size=4)
    from lstm_energy.config import Config

    assert Config(**base, precision="int8").precision == "int8"
    with pytest.raises(ConfigError, match="inference only"):
        Config(**base, phase="train", precision="bf16")
    with pytest.raises(ConfigError, match="precision"):
        Config(**base, precision="fp16")
    with pytest.raises(ConfigError, match="float32"):
        Config(**base, dtype="float64", precision="int8")


def test_cached_weights_follow_load_state_dict():
    m = RNN(5, 7, seed=0).eval(precision="int8")
    x = np.random.default_rng(0).standard_normal((4, 2, 5)).astype(np.float32)
    y0 = m(x)[0]
    sd = {k: v * 2 for k, v in m.state_dict().items()}
    m.load_state_dict(sd)
    assert not np.allclose(m(x)[0], y0)


def test_int8_weight_packed_for_another_path_is_refused():
    """The int8 layout follows the product path (VNNI reads 4 k per column, AVX2 and scalar 2): a weight
    packed in one layout must not be read by a product expecting the other."""
    w = np.random.default_rng(3).standard_normal((20, 12)).astype(np.float32)
    a = np.random.default_rng(4).standard_normal((3, 12)).astype(np.float32)
    out = np.empty((3, 20), np.float32)
    other = "k4" if lowp.int8_layout() == "k2" else "k2"
    with pytest.raises(ValueError, match=f"packed in layout '{other}'.*pack it again"):
        lowp.linear(a, lowp.pack_weight(w, "int8", layout=other), out)
    with pytest.raises(ValueError, match="unknown int8 layout 'k8'"):
        lowp.pack_weight(w, "int8", layout="k8")
    assert lowp.int8_layout("vnni") == "k4" and lowp.int8_layout("avx2") == lowp.int8_layout("scalar") == "k2"


@pytest.mark.parametrize("layout", ["k2", "k4"])
def test_packed_int8_layout_holds_each_column_k_group_together(layout):
    """panels[p][k / g][j][k % g] (g = 2 or 4), zero padded in N and K, with the row sums and scales."""
    group = 2 if layout == "k2" else 4
    w = np.random.default_rng(5).standard_normal((19, 6)).astype(np.float32)
    wq, ws = ref.prepare_weight(w, "int8")
    packed = lowp.pack_weight(w, "int8", layout=layout)
    assert packed["layout"] == layout and packed["Kp"] == 8
    panels = packed["panels"].reshape(2, 8 // group, 16, group)
    for n in range(32):
        for k in range(8):
            expected = wq[n, k] if n < 19 and k < 6 else 0
            assert panels[n // 16, k // group, n % 16, k % group] == expected, (n, k)
    np.testing.assert_array_equal(packed["wsum"][:19], wq.sum(axis=1))
    np.testing.assert_array_equal(packed["wscale"][:19], ws)
    assert not packed["wsum"][19:].any() and not packed["wscale"][19:].any()


@pytest.mark.parametrize("cell", CELLS)
def test_a_layer_follows_a_change_of_instruction_set_path(cell):
    """The layer caches packed weights per layout: after the path changes, the next forward repacks (a
    weight read in the wrong layout would give errors of order one). The products agree bit for bit;
    the paths' activation builds differ by ulps, which can move a quantization step (as in
    test_layer_matches_numpy_specification)."""
    _require("avx2", None)
    m = CELLS[cell](10, 24, seed=2).eval(precision="int8")
    x = np.random.default_rng(6).standard_normal((5, 3, 10)).astype(np.float32)
    results = []
    for isa in ("avx2", "baseline") + (("avx512",) if missing_flag("avx512") is None else ()):
        with use_isa(isa):
            results.append(m(x)[0])
    for y in results[1:]:
        assert np.abs(y - results[0]).max() < 2e-2
        assert np.abs(y - results[0]).mean() < 1e-3
    assert {key[3] for key in m._lowp_weights} == {"k2"} | ({"k4"} if len(results) == 3 else set())


def test_lowp_forward_refuses_a_workspace_of_the_wrong_shape():
    T, B, D, H = 4, 2, 6, 8
    x = np.zeros((T, B, D), np.float32)
    w_ih, w_hh = np.ones((4 * H, D), np.float32), np.ones((4 * H, H), np.float32)
    args = ("lstm", x, lowp.pack_weight(w_ih, "int8"), lowp.pack_weight(w_hh, "int8"), np.zeros(4 * H, np.float32),
            np.zeros((B, H), np.float32), np.zeros((B, H), np.float32), np.empty((T, B, H), np.float32),
            np.empty((B, H), np.float32), np.empty((B, H), np.float32), False, False)  # fmt: skip
    ws = {name: np.empty(shape, np.float32) for name, shape in lowp.workspace_shapes("lstm", T, B, D, H).items()}
    lowp.lowp_forward(*args, ws)
    ws["gates"] = np.empty((T, B, 3 * H), np.float32)
    with pytest.raises(ValueError, match="workspace 'gates' must be a C-contiguous float32 array of shape"):
        lowp.lowp_forward(*args, ws)
    del ws["gates"]
    with pytest.raises(ValueError, match="workspace 'gates'"):
        lowp.lowp_forward(*args, ws)


@pytest.mark.parametrize("state", ["h0", "c0", "h_n", "c_n"])
def test_lowp_forward_refuses_states_of_another_batch(state):
    """A (1, H) state with B = 2 would be read past its end (h0) or broadcast without a word (c0)."""
    T, B, D, H = 4, 2, 6, 8
    names = ("h0", "c0", "h_n", "c_n")
    states = {name: np.zeros((B, H), np.float32) for name in names}
    states[state] = np.zeros((1, H), np.float32)
    w_ih, w_hh = np.ones((4 * H, D), np.float32), np.ones((4 * H, H), np.float32)
    ws = {name: np.empty(shape, np.float32) for name, shape in lowp.workspace_shapes("lstm", T, B, D, H).items()}
    with pytest.raises(ValueError, match=f"{state} must be \\(B, H\\) = \\(2, 8\\), got \\(1, 8\\)"):
        lowp.lowp_forward(
            "lstm", np.zeros((T, B, D), np.float32), lowp.pack_weight(w_ih, "int8"), lowp.pack_weight(w_hh, "int8"),
            np.zeros(4 * H, np.float32), states["h0"], states["c0"], np.empty((T, B, H), np.float32),
            states["h_n"], states["c_n"], False, False, ws,
        )  # fmt: skip


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("precision", ["int8", "bf16"])
@pytest.mark.parametrize("reverse", [False, True])
def test_input_projection_in_chunks_of_steps_gives_the_same_bits(cell, precision, reverse):
    """lowp_forward projects the input a chunk of steps at a time (the gates workspace holds one chunk):
    every chunk length, one that does not divide T included, gives the bits of one whole-sequence
    product, in both directions (each output row is quantized and summed alike whatever rows share its
    product)."""
    T, B, D, H = 7, 5, 24, 16
    G = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    rng = np.random.default_rng(11)
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    w_ih = lowp.pack_weight(rng.standard_normal((G * H, D)).astype(np.float32) * 0.3, precision)
    w_hh = lowp.pack_weight(rng.standard_normal((G * H, H)).astype(np.float32) * 0.3, precision)
    bias = rng.standard_normal(4 * H if cell == "gru" else G * H).astype(np.float32)
    h0 = rng.standard_normal((B, H)).astype(np.float32)
    c0 = rng.standard_normal((B, H)).astype(np.float32) if cell == "lstm" else None

    def forward(steps_per_chunk):
        y, h_n = np.full((T, B, H), np.nan, np.float32), np.empty((B, H), np.float32)
        c_n = np.empty((B, H), np.float32) if cell == "lstm" else None
        shapes = lowp.workspace_shapes(cell, T, B, D, H, steps_per_chunk)
        assert shapes["gates"][0] == steps_per_chunk
        ws = {name: np.empty(shape, np.float32) for name, shape in shapes.items()}
        lowp.lowp_forward(cell, x, w_ih, w_hh, bias, h0, c0, y, h_n, c_n, reverse, False, ws)
        return y, h_n, c_n

    whole = forward(T)
    assert not np.isnan(whole[0]).any()
    for steps_per_chunk in (1, 3, T - 1):
        for got, expected in zip(forward(steps_per_chunk), whole):
            if expected is not None:
                np.testing.assert_array_equal(got, expected)


def test_chunk_steps_keeps_a_chunk_of_gates_in_l2_and_fills_small_batches():
    assert lowp.chunk_steps(100, 32, 4 * 256) == 2  # LSTM mid: 128 KiB of gates per step, 256 KiB a chunk
    assert lowp.chunk_steps(50, 64, 4 * 512) == 1  # LSTM big: 512 KiB per step, one step
    assert lowp.chunk_steps(100, 1, 4 * 128) == 100  # LSTM edge: the whole sequence in one product
    assert lowp.chunk_steps(200, 16, 256) == 16  # RNN seed: 16 KiB per step
    assert lowp.chunk_steps(100, 8, 4 * 4096) == 8  # 8 rows per step: at least 64 rows a product
    with pytest.raises(ValueError, match="steps_per_chunk=0 must be between 1 and T=4"):
        lowp.workspace_shapes("lstm", 4, 2, 6, 8, 0)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_reduced_precision_forward_allocates_only_its_outputs_after_the_first_call(cell, precision):
    """Like the float32 forward: the gates, state and quantized activations live in the layer's cached
    workspace; a repeated call allocates the returned arrays and small temporaries only."""
    import tracemalloc

    T, B, D, H = 40, 8, 32, 48
    m = CELLS[cell](D, H, seed=0).eval(precision=precision)
    x = np.random.default_rng(0).standard_normal((T, B, D)).astype(np.float32)
    m(x)
    tracemalloc.start()
    try:
        y, states = m(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    returned = y.nbytes + sum(s.nbytes for s in (states if isinstance(states, tuple) else (states,)))
    gates_bytes = T * B * {"lstm": 4, "gru": 3, "rnn": 1}[cell] * H * 4
    assert peak - returned < 16 * 1024, (peak, returned, gates_bytes)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_a_nan_input_propagates_like_fp32_and_the_specification(cell, precision):
    """A NaN in one sequence's input makes that sequence's outputs NaN from its step on, and only those:
    the quantized row's scale carries it (a NaN must not be quantized away into a finite output)."""
    x = np.ones((4, 3, 8), np.float32)
    x[1, 0, 3] = np.nan
    expected = np.isnan(CELLS[cell](8, 8, seed=0).eval()(x)[0])
    assert expected[1:, 0].all() and not expected[:, 1:].any() and not expected[0].any()
    with np.errstate(invalid="ignore"):
        spec = np.isnan(CELLS[cell](8, 8, seed=0, impl="numpy").eval(precision=precision)(x)[0])
    ours = np.isnan(CELLS[cell](8, 8, seed=0).eval(precision=precision)(x)[0])
    np.testing.assert_array_equal(spec, expected)
    np.testing.assert_array_equal(ours, expected)


def test_reduced_precision_products_use_the_thread_pool_when_large_enough():
    """The products split their panels over the kernels' OpenMP pool (threadpoolctl's "openmp" limit), like
    the float32 ones: one thread below the fork/join threshold, and never more threads than panels."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="openmp"):
        assert lowp.product_threads(3200, 1024, 256) == 2  # an input projection
        assert lowp.product_threads(32, 1024, 256) == 2  # a per-step product at B = 32
        assert lowp.product_threads(1, 512, 128) == 1  # a B = 1 step: too small to pay
        assert lowp.product_threads(4096, 16, 256) == 1  # one panel
    with threadpool_limits(limits=1, user_api="openmp"):
        assert lowp.product_threads(3200, 1024, 256) == 1


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_reduced_precision_forward_does_not_depend_on_the_thread_count(cell, precision):
    """Each output column is summed by one thread in one order and each batch row's gate math by one
    thread, so 1 and 2 threads give the same bits (products and steps large enough to be split)."""
    from threadpoolctl import threadpool_limits

    T, B, D, H = 3, 64, 96, 128
    x = np.random.default_rng(7).standard_normal((T, B, D)).astype(np.float32)
    layer = CELLS[cell](D, H, num_layers=2, bidirectional=True, seed=3).eval(precision=precision)
    results = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="openmp"):
            assert lowp.product_threads(B, layer.gates * H, H) == threads  # the per-step product is split
            results.append(layer(x))
    (y1, s1), (y2, s2) = results
    np.testing.assert_array_equal(y1, y2)
    for a, b in zip(s1 if cell == "lstm" else (s1,), s2 if cell == "lstm" else (s2,)):
        np.testing.assert_array_equal(a, b)
