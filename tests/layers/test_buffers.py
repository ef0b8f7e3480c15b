"""Buffers: allocated once per (T, B, mode) and reused; returned arrays never alias them."""

import tracemalloc

import numpy as np
import pytest

from lstm_energy.layers import GRU, LSTM, RNN

T, B, D, H = 6, 4, 5, 3


def all_buffer_arrays(m):
    """Every array the layer keeps in its buffer cache, by identity."""
    return [a for entry in m._buffers.entries() for a in entry.all_arrays()]


def shares_memory_with_any(array, arrays):
    return any(np.shares_memory(array, other) for other in arrays)


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
@pytest.mark.parametrize("training", [True, False])
def test_second_call_with_the_same_shape_reuses_every_buffer(impl, cls, training):
    m = cls(D, H, num_layers=2, bidirectional=True, seed=1, impl=impl).train(training)
    x = np.random.default_rng(0).standard_normal((T, B, D)).astype(np.float32)
    m.forward(x)
    if training:
        m.backward(np.ones((T, B, 2 * H), np.float32))
    first = {id(a) for a in all_buffer_arrays(m)}
    m.forward(x)
    if training:
        m.backward(np.ones((T, B, 2 * H), np.float32))
    assert {id(a) for a in all_buffer_arrays(m)} == first
    assert len(m._buffers) == 1


def test_a_new_shape_gets_its_own_buffers_and_old_shapes_are_evicted():
    m = GRU(D, H, impl="numpy")
    for T_ in range(1, 8):
        m.forward(np.ones((T_, B, D), np.float32))
    assert len(m._buffers) == m._buffers.capacity


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("steps, batch", [(T, B), (T, 1), (1, B)], ids=["T-B", "B1", "T1"])
def test_returned_arrays_are_fresh_and_survive_the_next_call(impl, cls, batch_first, training, steps, batch):
    """B = 1 or T = 1 included: a transpose of a buffer is already contiguous then, so only a copy is fresh."""
    m = cls(D, H, num_layers=2, batch_first=batch_first, seed=1, impl=impl).train(training)
    rng = np.random.default_rng(5)
    shape = (batch, steps, D) if batch_first else (steps, batch, D)
    x1, x2 = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    y1, s1 = m.forward(x1)
    kept_y, kept_s = y1.copy(), np.copy(s1)
    buffers = all_buffer_arrays(m)
    assert not shares_memory_with_any(y1, buffers)
    if training:
        dx1, _ = m.backward(np.ones_like(y1))
        kept_dx = dx1.copy()
        assert not shares_memory_with_any(dx1, all_buffer_arrays(m))
    m.forward(x2)
    if training:
        m.backward(np.full_like(y1, 2.0))
        np.testing.assert_array_equal(dx1, kept_dx)
    np.testing.assert_array_equal(y1, kept_y)
    np.testing.assert_array_equal(np.asarray(s1), kept_s)


def test_noncontiguous_and_fortran_inputs_give_the_same_result():
    m = LSTM(D, H, seed=2, impl="numpy", dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((T, B, D))
    y_ref, _ = m.forward(x)
    y_fortran, _ = m.forward(np.asfortranarray(x))
    wide = np.zeros((T, B, 2 * D))
    wide[:, :, ::2] = x
    y_strided, _ = m.forward(wide[:, :, ::2])
    readonly = x.copy()
    readonly.setflags(write=False)
    y_readonly, _ = m.forward(readonly)
    for y in (y_fortran, y_strided, y_readonly):
        np.testing.assert_array_equal(y, y_ref)


def misaligned_copy(array):
    """A C-contiguous, writeable copy of ``array`` whose data start 2 bytes past an element boundary."""
    raw = np.zeros(array.nbytes + array.itemsize + 2, np.uint8)
    start = 2 + (-raw.ctypes.data % array.itemsize)
    out = raw[start : start + array.nbytes].view(array.dtype).reshape(array.shape)
    out[...] = array
    assert out.flags.c_contiguous and out.flags.writeable and not out.flags.aligned
    return out


@pytest.mark.parametrize("training", [True, False])
def test_inputs_misaligned_for_their_dtype_give_the_same_result(impl, training):
    """A C-contiguous array need not be aligned for its dtype (a view into a byte buffer): the layer
    copies it once instead of handing the kernels unaligned floats."""
    m = LSTM(D, H, seed=2, impl=impl).train(training)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    h0, c0 = (rng.standard_normal((1, B, H)).astype(np.float32) for _ in range(2))
    y_ref, (h_ref, c_ref) = m.forward(x, (h0, c0))
    y, (h_n, c_n) = m.forward(misaligned_copy(x), (misaligned_copy(h0), misaligned_copy(c0)))
    for got, want in ((y, y_ref), (h_n, h_ref), (c_n, c_ref)):
        np.testing.assert_array_equal(got, want)


def test_steady_state_forward_allocates_little_beyond_its_outputs(impl):
    """After a warm-up call, a forward allocates the returned arrays and small temporaries only:
    far less than the workspaces it reuses (numpy's allocations are traced by tracemalloc)."""
    T_, B_, D_, H_ = 50, 16, 32, 32
    m = LSTM(D_, H_, num_layers=2, seed=0, impl=impl)
    x = np.random.default_rng(0).standard_normal((T_, B_, D_)).astype(np.float32)
    m.forward(x)
    workspace_bytes = sum(a.nbytes for a in all_buffer_arrays(m))
    tracemalloc.start()
    try:
        y, (h_n, c_n) = m.forward(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    returned = y.nbytes + h_n.nbytes + c_n.nbytes
    assert peak - returned < 0.25 * workspace_bytes, (peak, returned, workspace_bytes)
