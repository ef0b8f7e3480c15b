"""Reduced-precision inference (issue 18): int8 and bf16 products per path against the NumPy
specification (lstm_energy.reference.lowp), layers against fp32 and PyTorch's dynamic quantized modules."""

import numpy as np
import pytest

from lstm_energy import GRU, LSTM, RNN
from lstm_energy.errors import ConfigError, StateError
from lstm_energy.reference import lowp as ref

lowp = pytest.importorskip("lstm_energy.kernels.lowp", reason="Cython kernels not built")
from lstm_energy.kernels.isa import missing_flag, use_isa  # noqa: E402

# (isa, extra CPU flag the product path needs on top of the isa, expected int8 path name)
INT8_PATHS = [("baseline", None, "scalar"), ("avx2", None, "avx2"), ("avx512", "avx512_vnni", "vnni")]
SHAPES = [(1, 16, 4), (5, 37, 13), (9, 48, 129), (32, 1024, 256)]  # M, N, K: tails in every dimension


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
    w = (rng.standard_normal((N, K)) * rng.uniform(0.01, 3, (N, 1))).astype(np.float32)
    expected = ref.int8_linear(a, *ref.prepare_weight(w, "int8"))
    out = np.full((M, N), np.nan, np.float32)
    with use_isa(isa):
        assert lowp.product_path("int8") == name
        lowp.linear(a, lowp.pack_weight(w, "int8"), out)
        acc = np.ones((M, N), np.float32)
        lowp.linear(a, lowp.pack_weight(w, "int8"), acc, accumulate=True)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(acc, np.float32(1) + expected)
    assert not out[0].any()


@pytest.mark.parametrize("isa,flag", [("baseline", None), ("avx512", "avx512_bf16")])
@pytest.mark.parametrize("M,N,K", SHAPES)
def test_bf16_product_matches_reference_to_float32_rounding(isa, flag, M, N, K):
    _require(isa, flag)
    rng = np.random.default_rng(K)
    a = rng.standard_normal((M, K)).astype(np.float32)
    w = rng.standard_normal((N, K)).astype(np.float32)
    expected = ref.bf16_linear(a, ref.prepare_weight(w, "bf16"))
    out = np.empty((M, N), np.float32)
    with use_isa(isa):
        lowp.linear(a, lowp.pack_weight(w, "bf16"), out)
    # same products (exact in float32), only the summation order differs: O(K eps) of sum |a w|
    bound = 4 * K * np.finfo(np.float32).eps * (np.abs(ref.to_bf16(a)) @ np.abs(ref.prepare_weight(w, "bf16")).T)
    assert (np.abs(out - expected) <= bound + 1e-30).all()


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
