"""FLOP model: hand-computed anchors from kernel-anchors §5 and the structural identities of §5.2."""

import pytest

from lstm_energy.config import GATES
from lstm_energy.costs import FlopCount, flops
from lstm_energy.errors import ArgumentTypeError, ConfigError


@pytest.mark.parametrize(
    "cell, expected_forward",
    # §5.2 [verified with FlopCounterMode]: T=5, B=4, D=8, H=16 -> 2·T·B·G·H·(D+H)
    [("rnn", 15360), ("gru", 46080), ("lstm", 61440)],
)
def test_forward_gemm_matches_research_anchor(cell, expected_forward):
    f = flops(cell, batch=4, seq_len=5, input_size=8, hidden_size=16)
    assert f.gemm == expected_forward


def test_worked_example_lstm_section_5_4():
    # §5.4: LSTM B=32, T=100, D=H=256: F_fwd = 3.36 GF, F_bwd = 6.71 GF
    fwd = flops("lstm", batch=32, seq_len=100, input_size=256, hidden_size=256)
    bwd = flops("lstm", batch=32, seq_len=100, input_size=256, hidden_size=256, phase="backward")
    assert fwd.gemm == 2 * 100 * 32 * 4 * 256 * 512 == 3_355_443_200
    assert bwd.gemm == 2 * fwd.gemm
    # elementwise: 8 per token and unit + the 4H bias pre-sum; transcendental 5 per token and unit
    tokens_units = 100 * 32 * 256
    assert fwd.elementwise == 8 * tokens_units + 4 * 256
    assert fwd.transcendental == 5 * tokens_units
    assert bwd.elementwise == (23 + 4) * tokens_units
    assert bwd.transcendental == 1 * tokens_units


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_hand_computed_tiny_case(cell):
    T, B, D, H, G = 3, 2, 5, 7, GATES[cell]
    fwd = flops(cell, B, T, D, H)
    bwd = flops(cell, B, T, D, H, phase="backward")
    assert fwd.terms["forward.input_gemm"] == 2 * (T * B) * (G * H) * D
    assert fwd.terms["forward.recurrent_gemm"] == T * 2 * B * (G * H) * H
    assert bwd.terms["backward.dh_gemm"] + bwd.terms["backward.dh0_gemm"] == T * 2 * B * H * (G * H)
    assert bwd.terms["backward.dh0_gemm"] == 2 * B * H * G * H
    assert bwd.terms["backward.dx_gemm_layer0"] == 2 * (T * B) * D * (G * H)
    assert bwd.terms["backward.dw_ih_gemm"] == 2 * (G * H) * D * (T * B)
    assert bwd.terms["backward.dw_hh_gemm"] == 2 * (G * H) * H * (T * B)
    per = {"rnn": (1, 1, 4, 1), "gru": (12, 3, 17, 4), "lstm": (8, 5, 23, 4)}[cell]
    presum = {"rnn": 1, "gru": 2, "lstm": 4}[cell] * H
    assert fwd.elementwise == per[0] * T * B * H + presum
    assert fwd.transcendental == per[1] * T * B * H
    assert bwd.elementwise == (per[2] + per[3]) * T * B * H


def test_rnn_relu_has_no_transcendentals():
    relu = flops("rnn", 2, 3, 4, 5, nonlinearity="relu", phase="train")
    tanh = flops("rnn", 2, 3, 4, 5, nonlinearity="tanh", phase="train")
    assert relu.transcendental == 0
    assert tanh.transcendental == 3 * 2 * 5
    assert relu.gemm == tanh.gemm
    assert relu.elementwise == (2 + 2 + 1) * 3 * 2 * 5 + 5  # fwd bias+max, bwd add+mask, bias sum, pre-sum


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_train_is_forward_plus_backward_and_total_excludes_transcendentals(cell):
    args = (cell, 8, 10, 12, 16)
    fwd, bwd, train = flops(*args), flops(*args, phase="backward"), flops(*args, phase="train")
    assert train == fwd + bwd
    assert train.total == train.gemm + train.elementwise
    assert train.total == fwd.total + bwd.total
    assert bwd.gemm == 2 * fwd.gemm  # §5.2: dX and dh0 always computed
    assert sum(v for k, v in train.terms.items() if "gemm" in k) == train.gemm
    elementwise_keys = [k for k in train.terms if k.endswith(("elementwise", "presum", "bias_grad"))]
    assert sum(train.terms[k] for k in elementwise_keys) == train.elementwise


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_bidirectional_doubles_a_single_layer(cell):
    for phase in ("forward", "backward", "train"):
        uni = flops(cell, 4, 6, 10, 8, phase=phase)
        bi = flops(cell, 4, 6, 10, 8, bidirectional=True, phase=phase)
        assert (bi.gemm, bi.elementwise, bi.transcendental) == (
            2 * uni.gemm,
            2 * uni.elementwise,
            2 * uni.transcendental,
        )


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_upper_layers_read_hidden_times_directions(cell, bidirectional):
    B, T, D, H, L = 3, 4, 9, 6, 3
    dirs = 2 if bidirectional else 1
    stacked = flops(cell, B, T, D, H, num_layers=L, bidirectional=bidirectional, phase="train")
    layer0 = flops(cell, B, T, D, H, bidirectional=bidirectional, phase="train")
    upper = flops(cell, B, T, H * dirs, H, bidirectional=bidirectional, phase="train")
    assert stacked.gemm == layer0.gemm + (L - 1) * upper.gemm
    assert stacked.elementwise == layer0.elementwise + (L - 1) * upper.elementwise
    assert stacked.transcendental == layer0.transcendental + (L - 1) * upper.transcendental


def test_flopcount_is_frozen_and_carries_convention_and_source():
    f = flops("gru", 1, 1, 1, 1)
    with pytest.raises(AttributeError):
        f.gemm = 0
    d = f.as_dict()
    assert d["total"] == f.total
    assert "multiply-add counts 2" in d["convention"]
    assert d["source"].startswith("model:")
    assert isinstance(f, FlopCount)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"cell": "lstmx"}, "cell must be one of"),
        ({"batch": 0}, "batch must be a positive int"),
        ({"phase": "eval"}, "phase must be one of"),
        ({"nonlinearity": "sigmoid", "cell": "rnn"}, "nonlinearity must be"),
        ({"nonlinearity": "relu", "cell": "gru"}, "only applies to cell='rnn'"),
    ],
)
def test_bad_arguments_say_what_was_wrong(kwargs, fragment):
    args = {"cell": "lstm", "batch": 2, "seq_len": 3, "input_size": 4, "hidden_size": 5, **kwargs}
    with pytest.raises(ConfigError, match=fragment):
        flops(**args)


def test_a_size_of_the_wrong_type_is_an_argument_type_error():
    with pytest.raises(ArgumentTypeError, match="hidden_size must be a positive int, got 2.5 of type float"):
        flops("lstm", batch=2, seq_len=3, input_size=4, hidden_size=2.5)


def test_docs_reconciliation_table_matches_the_model():
    """docs/flops.md's worked example rows are the model's numbers (the docs cannot drift)."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "flops.md").read_text()
    rows = {}
    for line in doc.splitlines():
        if line.startswith("| **lstm_energy** `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].split("`")[1]] = [int(c.replace(",", "")) for c in cells[2:5]]
    assert set(rows) == {"gemm", "elementwise", "total", "transcendental"}
    for i, cell in enumerate(["lstm", "gru", "rnn"]):
        f = flops(cell, batch=32, seq_len=100, input_size=256, hidden_size=256)
        assert [rows[k][i] for k in ("gemm", "elementwise", "total", "transcendental")] == [
            f.gemm,
            f.elementwise,
            f.total,
            f.transcendental,
        ]
