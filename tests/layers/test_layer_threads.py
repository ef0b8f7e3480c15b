"""One layer object used by several Python threads: calls serialise (correct results, never silently
wrong ones), and a backward or grads that would belong to another thread's input is a clear StateError.

The kernels release the GIL, so without the layer's lock two threads write the same workspaces, layer
outputs, context and gradients at once; these tests run enough overlapping calls to catch that on two
cores (each well under a few seconds).
"""

import copy
import pickle
import queue
import threading

import numpy as np
import pytest

from lstm_energy._layers.engines import engine_available
from lstm_energy.errors import StateError
from lstm_energy.layers import GRU, LSTM, RNN

T, B, D, H = 24, 16, 64, 128  # a call takes ~1 ms: long enough for two threads to overlap
CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}
DY = np.random.default_rng(9).standard_normal((3, 2, 7), dtype=np.float32)  # dL/dy of the small (3, 2, 5) -> 7 layers
IMPLS = [
    "numpy",
    pytest.param("cython", marks=pytest.mark.skipif(not engine_available("cython")[0], reason="kernels not built")),
]
cython_only = pytest.mark.skipif(not engine_available("cython")[0], reason="the Cython kernels are not built")


def run_threads(n, work):
    """Run work(i) in n threads started together; re-raise the first exception."""
    errors = []
    barrier = threading.Barrier(n)

    def target(i):
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,), name=f"worker-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def inputs(batches, seed=0, width=D):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((T, b, width), dtype=np.float32) for b in batches]


def count_wrong_eval_results(make, xs, rounds, calls, fresh):
    expected = [make()(x)[0] for x in xs]
    layer = make()
    wrong = [0]

    def work(i):
        for _ in range(calls):
            if not np.array_equal(layer(xs[i])[0], expected[i]):
                wrong[0] += 1

    for _ in range(rounds):
        if fresh:
            layer = make()  # the first eval call packs the kept weights (the cache's publication race)
        run_threads(len(xs), work)
    return wrong[0]


@cython_only
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_two_threads_on_one_eval_layer_get_the_results_of_a_single_thread(cell):
    def make():
        return CELLS[cell](D, H, seed=1).eval()

    assert count_wrong_eval_results(make, inputs((B, B)), rounds=15, calls=5, fresh=False) == 0


@cython_only
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_first_eval_calls_of_two_threads_at_other_batch_sizes_are_correct(cell):
    """A fresh layer per round, B = 1 and B = 2: the first call packs the kept weights, and the other
    thread's first call must not run on panels that are not filled yet."""

    def make():
        return CELLS[cell](256, 256, seed=1).eval()

    xs = [x[:4] for x in inputs((1, 2), width=256)]
    assert count_wrong_eval_results(make, xs, rounds=500, calls=1, fresh=True) == 0


@cython_only
def test_two_threads_on_a_two_layer_rnn_in_eval_mode():
    """The one-layer RNN's eval output is fresh per call; a second layer reads layer 0's shared buffer."""

    def make():
        return RNN(D, H, num_layers=2, seed=1).eval()

    assert count_wrong_eval_results(make, inputs((B, B)), rounds=15, calls=5, fresh=False) == 0


@cython_only
@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_two_threads_on_one_reduced_precision_layer(precision):
    def make():
        return LSTM(D, H, seed=1).eval(precision=precision)

    assert count_wrong_eval_results(make, inputs((B, B)), rounds=15, calls=5, fresh=False) == 0


def train_step(layer, x, dy):
    y, _ = layer(x)
    dx, _ = layer.backward(dy)
    return y, dx, {k: v.copy() for k, v in layer.grads.items()}


@cython_only
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("batches", [(B, B), (B, 8)], ids=["same-shape", "other-shape"])
def test_train_steps_of_two_threads_on_one_layer_are_right_or_refused_never_wrong(cell, batches):
    """forward + backward + grads in two threads: every step either gives exactly the single-threaded
    y, dx and gradients, or raises StateError (its context was replaced by the other thread's forward);
    never another input's gradients."""
    cls = CELLS[cell]
    xs = inputs(batches)
    dys = [np.random.default_rng(1 + i).standard_normal((T, b, H), dtype=np.float32) for i, b in enumerate(batches)]
    ref = cls(D, H, seed=1)
    expected = [train_step(ref, xs[i], dys[i]) for i in range(2)]
    layer = cls(D, H, seed=1)
    wrong, refused = [0], [0]

    def work(i):
        for _ in range(6):
            try:
                y, dx, grads = train_step(layer, xs[i], dys[i])
            except StateError as exc:
                assert "use one layer per thread" in str(exc) and "copy.deepcopy" in str(exc)
                refused[0] += 1
                continue
            y0, dx0, g0 = expected[i]
            same = np.array_equal(y, y0) and np.array_equal(dx, dx0)
            if not (same and all(np.array_equal(grads[k], g0[k]) for k in g0)):
                wrong[0] += 1

    for _ in range(12):
        run_threads(2, work)
    assert wrong[0] == 0, f"{wrong[0]} train steps gave wrong values ({refused[0]} refused)"


class Worker:
    """A named thread that stays alive and runs the functions it is given, one at a time (a thread's
    record of its own last forward lives as long as the thread)."""

    def __init__(self, name):
        self._jobs = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self):
        while True:
            fn, box, done = self._jobs.get()
            if fn is None:
                return
            try:
                box["result"] = fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised by run
                box["error"] = exc
            done.set()

    def run(self, fn):
        box, done = {}, threading.Event()
        self._jobs.put((fn, box, done))
        assert done.wait(30), "the worker thread did not finish"
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def stop(self):
        self._jobs.put((None, None, None))
        self._thread.join(5)


@pytest.fixture
def workers():
    made = {}

    def get(name):
        if name not in made:
            made[name] = Worker(name)
        return made[name]

    yield get
    for worker in made.values():
        worker.stop()


@pytest.mark.parametrize("impl", IMPLS)
def test_backward_after_another_threads_forward_names_both_threads_and_the_fix(impl, workers):
    m = GRU(5, 7, seed=0, impl=impl)
    x_a, x_b = (np.random.default_rng(s).standard_normal((3, 2, 5), dtype=np.float32) for s in (1, 2))
    a, b = workers("thread-A"), workers("thread-B")
    a.run(lambda: m(x_a))
    b.run(lambda: m(x_b))
    with pytest.raises(StateError) as err:
        a.run(lambda: m.backward(DY))
    text = str(err.value)
    assert "'thread-A'" in text and "'thread-B'" in text and "copy.deepcopy" in text
    # thread B's own backward works, and is B's: the gradients of x_b
    dx_b = b.run(lambda: m.backward(DY))[0]
    ref = GRU(5, 7, seed=0, impl=impl)
    ref(x_b)
    np.testing.assert_array_equal(dx_b, ref.backward(DY)[0])
    # a thread that made no forward may take the context over (a hand-off)
    workers("thread-C").run(lambda: m.backward(DY))


def test_forward_in_one_thread_and_backward_in_another_is_a_valid_hand_off(workers):
    m = LSTM(5, 7, seed=0, impl="numpy")
    x = np.random.default_rng(0).standard_normal((3, 2, 5), dtype=np.float32)
    m(x)
    dx, _ = workers("worker").run(lambda: m.backward(DY))
    ref = LSTM(5, 7, seed=0, impl="numpy")
    ref(x)
    np.testing.assert_array_equal(dx, ref.backward(DY)[0])


def test_a_hand_off_after_this_threads_own_finished_step_is_still_allowed(workers):
    """This thread's forward was used up by its backward: a worker's later forward handed back to this
    thread for its backward is a hand-off, not a replaced forward (it was refused once)."""
    m = LSTM(5, 7, seed=0, impl="numpy")
    x = np.random.default_rng(0).standard_normal((3, 2, 5), dtype=np.float32)
    m(x)
    m.backward(DY)  # this thread's full step
    x_worker = x * 2
    workers("worker").run(lambda: m(x_worker))
    dx, _ = m.backward(DY)
    ref = LSTM(5, 7, seed=0, impl="numpy")
    ref(x_worker)
    np.testing.assert_array_equal(dx, ref.backward(DY)[0])


def test_grads_after_another_threads_backward_is_refused(workers):
    m = RNN(5, 7, seed=0, impl="numpy")
    x = np.random.default_rng(0).standard_normal((3, 2, 5), dtype=np.float32)

    def step():
        m(x)
        m.backward(DY)

    a, b = workers("thread-A"), workers("thread-B")
    a.run(step)
    b.run(step)
    with pytest.raises(StateError, match=r"grads in thread 'thread-A'.*'thread-B'"):
        a.run(lambda: m.grads)
    assert b.run(lambda: sorted(m.grads)) == sorted(m.state_dict())


def test_grads_a_thread_holds_are_not_overwritten_by_another_threads_backward(workers):
    """The arrays grads handed to thread A keep A's gradients after thread B's backward (B's land in new
    arrays): A may copy them without racing B."""
    m = LSTM(5, 7, seed=0, impl="numpy")
    x_a, x_b = (np.random.default_rng(s).standard_normal((3, 2, 5), dtype=np.float32) for s in (1, 2))

    def step(x):
        m(x)
        m.backward(DY)
        return m.grads

    held = workers("thread-A").run(lambda: step(x_a))
    want = {k: v.copy() for k, v in held.items()}
    workers("thread-B").run(lambda: step(x_b))
    for name, value in want.items():
        np.testing.assert_array_equal(held[name], value)


def test_backward_after_another_threads_eval_forward_says_who_dropped_the_context(workers):
    m = LSTM(5, 7, seed=0, impl="numpy")
    x = np.random.default_rng(0).standard_normal((3, 2, 5), dtype=np.float32)
    m(x)

    def eval_call():
        m.eval()
        m(x)
        m.train()

    workers("evaluator").run(eval_call)
    with pytest.raises(StateError, match="dropped by thread 'evaluator'"):
        m.backward(DY)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_deepcopy_gives_an_independent_layer_with_its_own_lock(impl, training, workers):
    m = LSTM(5, 7, seed=0, impl=impl).train(training)
    x = np.random.default_rng(0).standard_normal((3, 2, 5), dtype=np.float32)
    y = m(x)[0]
    c = copy.deepcopy(m)
    assert c._lock is not m._lock and c._local is not m._local and c._engine is m._engine
    np.testing.assert_array_equal(c(x)[0], y)
    # a shallow copy would share the buffers behind a lock of its own: copy.copy is deep too
    shallow = copy.copy(m)
    assert shallow._lock is not m._lock and shallow._buffers is not m._buffers
    np.testing.assert_array_equal(shallow(x)[0], y)
    with m._lock:  # the original busy: the copy still runs (from another thread)
        np.testing.assert_array_equal(workers("copy-user").run(lambda: c(x)[0]), y)
    assert pickle.loads(pickle.dumps(m)).state_dict().keys() == m.state_dict().keys()


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m(x),
        lambda m, x: m.train(),
        lambda m, x: m.eval(),
        lambda m, x: m.grads,
        lambda m, x: m.load_state_dict(m.state_dict()),
    ],
    ids=["forward", "train", "eval", "grads", "load_state_dict"],
)
def test_every_public_entry_waits_for_the_layers_lock(call):
    m = GRU(5, 7, seed=0, impl="numpy")
    x = np.random.default_rng(0).standard_normal((3, 2, 5), dtype=np.float32)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (call(m, x), done.set()))
    with m._lock:
        worker.start()
        assert not done.wait(0.2), "the call ran while another thread held the layer's lock"
    worker.join(5)
    assert done.is_set()
