"""The instruction-set path and threads: the path is process-wide, so use_isa refuses to run in two
threads at once; a kernel call decides by the path its caller sampled once (passed down), so a switch
from another thread cannot make a layer's kept packed weights disagree with what the kernel did; the
reduced-precision forward reads its product path once per call."""

import threading

import numpy as np
import pytest

from lstm_energy.errors import IsaUnsupportedError, StateError
from lstm_energy.layers import GRU, LSTM, RNN

pytest.importorskip("lstm_energy.kernels.lowp", reason="the Cython kernels are not built")
from lstm_energy._layers.aligned import aligned_empty  # noqa: E402
from lstm_energy._layers.workspaces import workspace_shapes  # noqa: E402
from lstm_energy.kernels import gru_forward, isa, lowp, lstm_forward, rnn_forward  # noqa: E402

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


def skip_without(path):
    missing = isa.missing_flag(path)
    if missing is not None:
        pytest.skip(f"the {path} kernel path needs CPU flag {missing!r}")


def in_thread_while(block_entered, fn, name="other"):
    """Run fn() in another thread; return its exception (or None)."""
    box = {}

    def target():
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - returned
            box["error"] = exc

    t = threading.Thread(target=target, name=name)
    t.start()
    t.join(10)
    return box.get("error")


def test_use_isa_and_set_isa_from_another_thread_are_refused_while_a_block_runs():
    before = isa.current()
    with isa.use_isa("baseline"):
        with isa.use_isa("baseline"):  # nesting in one thread is fine
            pass
        err = in_thread_while(None, lambda: isa.use_isa("baseline").__enter__(), name="thread-B")
        assert isinstance(err, StateError), err
        text = str(err)
        assert "thread-B" in text and threading.current_thread().name in text and "process-wide" in text
        err = in_thread_while(None, lambda: isa.set_isa(before), name="thread-B")
        assert isinstance(err, StateError), err
        assert isa.current() == "baseline"  # nothing leaked into this block
    assert isa.current() == before
    # no block open: another thread may switch (and switch back)
    assert in_thread_while(None, lambda: isa.set_isa(isa.set_isa(before))) is None


def test_use_isa_blocks_of_two_threads_never_leave_the_process_on_a_path_nobody_asked_for():
    before = isa.current()
    a_in, b_done = threading.Event(), threading.Event()
    seen = {}

    def a():
        with isa.use_isa("baseline"):
            a_in.set()
            b_done.wait(10)
            seen["a"] = isa.current()

    def b():
        a_in.wait(10)
        try:
            with isa.use_isa(isa.best()):
                seen["b"] = "entered"
        except StateError:
            seen["b"] = "refused"
        b_done.set()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == {"a": "baseline", "b": "refused"}
    assert isa.current() == before


def _forward_args(cell, T=5, B=2, D=20, H=24, seed=0):
    rng = np.random.default_rng(seed)
    G = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    w_ih = (0.2 * rng.standard_normal((G * H, D))).astype(np.float32)
    w_hh = (0.2 * rng.standard_normal((G * H, H))).astype(np.float32)
    b = np.zeros(G * H, np.float32)
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    h0 = np.zeros((B, H), np.float32)
    ws = {n: aligned_empty(s, np.float32) for n, s in workspace_shapes(cell, "forward", T, B, D, H, False).items()}
    y, h_n = np.empty((T, B, H), np.float32), np.empty((B, H), np.float32)
    if cell == "lstm":
        return (x, w_ih, w_hh, b, b, h0, h0.copy(), y, h_n, np.empty((B, H), np.float32), ws, False, False), ws
    if cell == "gru":
        return (x, w_ih, w_hh, b, b, h0, y, h_n, ws, False, False), ws
    return (x, w_ih, w_hh, b, b, h0, y, h_n, ws, False, False, False), ws


FORWARDS = {"lstm": lstm_forward, "gru": gru_forward, "rnn": rnn_forward}


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_a_forward_decides_by_the_path_it_is_given_not_the_one_set_meanwhile(cell):
    """isa=avx2 while the process is on the baseline path: the call packs (and says so); isa=baseline
    while on a packed path: it packs nothing (and says so). The caller marks its kept panels by that."""
    skip_without("avx2")
    args, ws = _forward_args(cell)
    with isa.use_isa("baseline"):
        assert FORWARDS[cell](*args, False, isa.ISAS.index("avx2")) is True
    packed = {name: ws[name].copy() for name in ("w_ih_panels", "w_hh_panels")}
    args2, ws2 = _forward_args(cell)
    with isa.use_isa("avx2"):
        assert FORWARDS[cell](*args2, False, -1) is True
        for name, panels in packed.items():
            np.testing.assert_array_equal(ws2[name], panels)
        assert FORWARDS[cell](*_forward_args(cell)[0], False, isa.ISAS.index("baseline")) is False
    with pytest.raises(ValueError, match="is not a kernel path level"):
        FORWARDS[cell](*args, False, 7)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_eval_panels_are_marked_packed_only_when_the_kernel_packed_them(cell, monkeypatch):
    """The first eval call's kernel runs without packing (as one that saw the baseline path after the
    layer keyed its cache on a packed path): the entry must not be taken as packed by later calls."""
    skip_without("avx2")
    x = np.random.default_rng(0).standard_normal((4, 2, 20)).astype(np.float32)
    with isa.use_isa("avx2"):
        want = CELLS[cell](20, 24, seed=1).eval()(x)[0]
        m = CELLS[cell](20, 24, seed=1).eval()
        real = m._forward_direction
        monkeypatch.setattr(m, "_forward_direction", lambda *a: real(*a[:-1], isa.ISAS.index("baseline")))
        np.testing.assert_allclose(m(x)[0], want, rtol=1e-5, atol=1e-6)
        monkeypatch.delattr(m, "_forward_direction")
        assert not m._eval_panels[(0, 0, "avx2")].ready
        np.testing.assert_array_equal(m(x)[0], want)
        assert m._eval_panels[(0, 0, "avx2")].ready
        np.testing.assert_array_equal(m(x)[0], want)


def test_a_path_switch_during_a_first_eval_call_does_not_poison_the_layer(monkeypatch):
    """The layer reads the path once (here: avx2) and the process is on baseline when the kernel runs:
    the kernel still follows the layer's path, so later avx2 calls are right."""
    skip_without("avx2")
    import lstm_energy._layers.module as module

    x = np.random.default_rng(0).standard_normal((4, 1, 20)).astype(np.float32)
    with isa.use_isa("avx2"):
        want = LSTM(20, 24, seed=1).eval()(x)[0]
    m = LSTM(20, 24, seed=1).eval()
    monkeypatch.setattr(module, "_isa_reader", lambda: lambda: isa.ISAS.index("avx2"))
    with isa.use_isa("baseline"):
        m(x)
    monkeypatch.undo()
    with isa.use_isa("avx2"):
        for _ in range(2):
            np.testing.assert_array_equal(m(x)[0], want)


def _lowp_call(path, precision="int8", cell="gru", T=5, B=3, D=40, H=24):
    rng = np.random.default_rng(2)
    G = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    layout = lowp.path_layout(path) if precision == "int8" else None
    w_ih = lowp.pack_weight((0.2 * rng.standard_normal((G * H, D))).astype(np.float32), precision, layout)
    w_hh = lowp.pack_weight((0.2 * rng.standard_normal((G * H, H))).astype(np.float32), precision, layout)
    bias = np.zeros(4 * H if cell == "gru" else G * H, np.float32)
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    y, h_n = np.empty((T, B, H), np.float32), np.empty((B, H), np.float32)
    ws = {n: np.empty(s, np.float32) for n, s in lowp.workspace_shapes(cell, T, B, D, H).items()}

    def run():
        lowp.lowp_forward(cell, x, w_ih, w_hh, bias, np.zeros((B, H), np.float32), None, y, h_n, None, False,
                          False, ws, path)  # fmt: skip
        return y.copy()

    return run


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_reduced_precision_forward_runs_every_product_on_the_path_it_was_given(precision):
    """Weights packed for the path sampled at the start; the process switched to baseline before the
    call: every product still reads the sampled path's layout (no mid-call re-read of the path). The
    gate math follows the process's path (its baseline build rounds a little differently), the products
    do not: a k4 (VNNI) weight read as k2 would be garbage."""
    path = lowp.path_level(precision)
    run = _lowp_call(path, precision)
    want = run()
    with isa.use_isa("baseline"):
        np.testing.assert_allclose(run(), want, rtol=1e-5, atol=1e-5)


def test_a_reduced_precision_path_beyond_this_cpu_is_refused():
    if lowp.amx_missing() is None:
        pytest.skip("this CPU runs every reduced-precision path (AMX usable)")
    with pytest.raises(IsaUnsupportedError, match="beyond what this CPU runs"):
        _lowp_call(3, "bf16")()
