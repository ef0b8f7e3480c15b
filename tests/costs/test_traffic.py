"""Traffic model: the §6 worked example by hand, residency switching, spill, and scaling."""

import pytest

from lstm_energy.costs import flops, traffic

EPYC = {"L1": 32 * 1024, "L2": 512 * 1024, "LLC": 32 * 1024 * 1024}
MIB = 1024 * 1024
WORKED = dict(cell="lstm", batch=32, seq_len=100, input_size=256, hidden_size=256)


def test_worked_example_compulsory_section_6():
    t = traffic(**WORKED, caches=EPYC)
    # §6: Q_fwd,min ≈ X 3.28 MB + Y 3.28 MB + W 2.1 MB (+ states) ≈ 8.7 MB
    assert t.components == {
        "weights": 4 * 4 * 256 * (256 + 256) + 4 * 2 * 4 * 256,  # 2_097_152 W + 8_192 biases
        "inputs": 4 * 100 * 32 * 256,  # 3_276_800
        "outputs": 4 * 100 * 32 * 256,
        "states": 2 * 4 * 32 * 256 * 2,  # h0, c0 read; h_n, c_n written
        "saved_activations": 0,
        "gradients": 0,
    }
    assert t.compulsory == 8_790_016
    # §6: "+104 MB if W_hh (1 MiB) were re-read every step"
    assert t.w_hh_restream == 99 * MIB == 103_809_024
    # Gx = 13.1 MB, written by the GEMM, read and written back by the steps
    assert t.gate_buffers == 3 * 13_107_200
    assert t.intensity_compulsory == pytest.approx(flops(**WORKED).total / 8_790_016)
    assert 120 < t.intensity_compulsory < 390  # §6: "≈120–390 FLOP/B for the §5.4 shapes"


def test_training_forward_saves_gates_and_cell_state():
    inference = traffic(**WORKED, caches=EPYC)
    train = traffic(**WORKED, caches=EPYC, phase="train")
    backward = traffic(**WORKED, caches=EPYC, phase="backward")
    saved = 4 * 100 * 32 * 5 * 256  # §6: "training adds 16.4 MB written + read back"
    assert saved == 16_384_000
    assert train.compulsory == inference.compulsory + saved + backward.compulsory
    assert backward.components["saved_activations"] == saved


def test_on_a_32_mib_llc_nothing_extra_reaches_memory():
    t = traffic(**WORKED, caches=EPYC)
    assert t.w_hh_residency == "LLC"  # 1 MiB W_hh > 0.75 × 512 KiB L2
    assert not t.gate_buffer_spills  # Gx 13.1 MB + W 2.1 MB < 0.75 × 32 MiB
    assert t.expected == t.compulsory


def test_small_llc_spills_the_gate_buffer_but_l2_keeps_w_hh():
    t = traffic(**WORKED, caches={"L1": 32 * 1024, "L2": 2 * MIB, "LLC": 8 * MIB})
    assert t.w_hh_residency == "L2"  # 1 MiB + h, c, gate slice = 1_245_184 B < 0.75 × 2 MiB
    assert t.gate_buffer_spills
    assert t.expected == t.compulsory + 3 * 13_107_200
    assert t.intensity_expected < t.intensity_compulsory


def test_w_hh_streams_from_memory_when_no_cache_holds_it():
    t = traffic(**WORKED, caches={"L2": 512 * 1024, "LLC": 1 * MIB})
    assert t.w_hh_residency == "memory"
    assert t.expected == t.compulsory + 3 * 13_107_200 + 99 * MIB
    assert sum(t.expected_components.values()) == t.expected
    assert t.expected_components["w_hh_restream"] == 99 * MIB
    # recurrent-step intensity when W_hh streams: 2B/s = B/2 FLOP/byte in fp32 (§6)
    step_flops = 2 * 32 * 4 * 256 * 256
    assert step_flops / (4 * 4 * 256 * 256) == 32 / 2


@pytest.mark.parametrize("hidden, residency", [(32, "L1"), (128, "L2"), (512, "LLC"), (2048, "memory")])
def test_residency_switches_as_hidden_grows(hidden, residency):
    t = traffic("lstm", batch=1, seq_len=10, input_size=hidden, hidden_size=hidden, caches=EPYC)
    assert t.w_hh_residency == residency


def test_residency_reads_a_fake_sysfs_root(fake_cache_root):
    t = traffic("gru", batch=1, seq_len=10, input_size=64, hidden_size=128, caches=fake_cache_root)
    assert t.w_hh_residency == "L2"  # 3·128²·4 = 192 KiB
    assert t.caches.source == f"sysfs:{fake_cache_root}"
    assert str(fake_cache_root) in t.source


def test_backward_hand_computed_small_lstm():
    s, T, B, D, H, G = 4, 3, 2, 5, 4, 4
    t = traffic("lstm", B, T, D, H, phase="backward", caches=EPYC)
    weights = s * G * H * (D + H)
    assert t.components == {
        "weights": weights,
        "inputs": s * T * B * D,
        "outputs": s * T * B * H,
        "states": s * B * H * 2,
        "saved_activations": s * T * B * 5 * H,
        "gradients": s * T * B * H
        + s * B * H * 2  # dy, dh_n, dc_n
        + s * T * B * D
        + weights
        + s * 2 * G * H
        + s * B * H * 2,  # dx, dW, db, dh0, dc0
    }
    assert t.gate_buffers == 5 * s * T * B * G * H
    assert t.w_hh_restream == (T - 1) * s * G * H * H


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_bidirectional_and_multilayer_scaling(cell):
    T, B, D, H = 20, 8, 48, 32
    uni = traffic(cell, B, T, D, H, caches=EPYC)
    bi = traffic(cell, B, T, D, H, bidirectional=True, caches=EPYC)
    assert bi.compulsory == 2 * uni.compulsory
    assert bi.w_hh_restream == 2 * uni.w_hh_restream
    # backward: the second direction accumulates into dx, reading it once more
    uni_b = traffic(cell, B, T, D, H, phase="backward", caches=EPYC)
    bi_b = traffic(cell, B, T, D, H, bidirectional=True, phase="backward", caches=EPYC)
    assert bi_b.compulsory == 2 * uni_b.compulsory + 4 * T * B * D
    # layers above the first read H·dirs features
    stacked = traffic(cell, B, T, D, H, num_layers=3, bidirectional=True, caches=EPYC)
    upper = traffic(cell, B, T, 2 * H, H, bidirectional=True, caches=EPYC)
    assert stacked.compulsory == bi.compulsory + 2 * upper.compulsory


def test_float64_doubles_every_byte():
    f32 = traffic("gru", 4, 5, 6, 7, phase="train", caches=EPYC)
    f64 = traffic("gru", 4, 5, 6, 7, phase="train", caches=EPYC, dtype="float64")
    assert f64.compulsory == 2 * f32.compulsory
    assert f64.as_dict()["dtype"] == "float64"


def test_as_dict_carries_convention_source_and_results_record_keys():
    d = traffic(**WORKED, caches=EPYC).as_dict()
    assert {"compulsory", "expected", "w_hh_residency", "convention", "source"} <= set(d)
    assert d["source"].startswith("model:")
    assert d["arithmetic_intensity_flop_per_byte"]["compulsory"] > 0


def test_bad_dtype_and_fraction_are_rejected():
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        traffic(**WORKED, caches=EPYC, dtype="int8")
    with pytest.raises(ValueError, match="usable_cache_fraction"):
        traffic(**WORKED, caches=EPYC, usable_cache_fraction=0)


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_the_reduced_precision_forward_spills_no_gate_buffer_it_does_not_have(precision):
    """It projects a chunk of steps at a time into one 256 KiB buffer (lstm_energy._layers.workspaces.chunk_steps),
    so the (T, B, G·H) buffer fp32 spills at this shape never exists: the same bytes pass through the
    chunk, none of them to memory; the quantized copy of x is per chunk too."""
    shape = dict(cell="lstm", batch=32, seq_len=100, input_size=1024, hidden_size=1024, phase="forward")
    fp32 = traffic(**shape, caches=EPYC)
    low = traffic(**shape, caches=EPYC, precision=precision)
    assert fp32.gate_buffer_spills and fp32.spilled_gate_buffer_bytes > 0
    assert not low.gate_buffer_spills and low.spilled_gate_buffer_bytes == 0
    assert low.gate_buffers == fp32.gate_buffers  # the same bytes pass through the (smaller) buffer
    assert low.components["inputs"] == fp32.components["inputs"]
