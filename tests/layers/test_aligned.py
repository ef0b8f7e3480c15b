"""Cache-line aligned arrays (lstm_energy._layers.aligned) and the layers' use of them."""

import numpy as np
import pytest

from lstm_energy._layers.aligned import CACHE_LINE, aligned_copy, aligned_empty, aligned_zeros, is_aligned
from lstm_energy.layers import GRU, LSTM, RNN


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
@pytest.mark.parametrize("shape", [7, (3, 5), (2, 3, 17), (0,), (4, 0, 2), (50, 64, 512)])
def test_aligned_empty_is_a_writable_contiguous_array_of_that_shape_on_a_cache_line(shape, dtype):
    a = aligned_empty(shape, dtype)
    expected_shape = (shape,) if isinstance(shape, int) else shape
    assert a.shape == expected_shape and a.dtype == np.dtype(dtype)
    assert a.flags.c_contiguous and a.flags.writeable
    assert a.size == 0 or a.ctypes.data % CACHE_LINE == 0
    a[...] = 1  # the whole extent is usable memory
    assert a.sum() == a.size


def test_many_aligned_arrays_are_all_aligned_whatever_malloc_returned():
    # np.empty gives 16-byte alignment: among many arrays of odd sizes some land off the line
    plain = [np.empty(n, np.float32) for n in range(1, 200)]
    assert any(p.ctypes.data % CACHE_LINE for p in plain)
    assert all(is_aligned(aligned_empty(n, np.float32)) for n in range(1, 200))


def test_aligned_zeros_are_zero_and_a_larger_alignment_is_honoured():
    z = aligned_zeros((33, 3), np.float64)
    assert not z.any() and is_aligned(z)
    assert aligned_empty(100, np.float32, alignment=4096).ctypes.data % 4096 == 0


@pytest.mark.parametrize("alignment", [0, -64, 48])
def test_alignment_must_be_a_positive_power_of_two(alignment):
    with pytest.raises(ValueError, match="power of two"):
        aligned_empty(4, np.float32, alignment=alignment)


def test_aligned_copy_holds_the_values_in_c_order_on_a_line_and_never_shares_memory():
    source = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)
    view = source.transpose(0, 2, 1)  # not contiguous: the copy must walk it in C order
    copy = aligned_copy(view)
    assert is_aligned(copy) and copy.flags.c_contiguous and copy.dtype == np.float64
    np.testing.assert_array_equal(copy, view)
    np.testing.assert_array_equal(copy.ravel(), np.ascontiguousarray(view).ravel())
    contiguous = np.arange(5, dtype=np.float32)
    copied = aligned_copy(contiguous)
    copied[0] = 7
    assert contiguous[0] == 0  # a copy even when the source was already contiguous
    as_float32 = aligned_copy([1.5, 2.5], np.float32)
    assert as_float32.dtype == np.float32 and as_float32.tolist() == [1.5, 2.5] and is_aligned(as_float32)


def test_is_aligned_sees_an_offset_view():
    a = aligned_empty(64, np.float32)
    assert is_aligned(a) and not is_aligned(a[4:]) and is_aligned(a[16:])


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_every_layer_buffer_starts_on_a_cache_line(impl, cls):
    # sizes past glibc's mmap threshold: np.empty would put each of these 16 bytes past a page
    m = cls(128, 128, impl=impl).train(True)
    x = np.random.default_rng(0).standard_normal((100, 4, 128)).astype(np.float32)
    m.forward(x)
    m.backward(np.ones((100, 4, 128), np.float32))
    arrays = [a for entry in m._buffers.entries() for a in entry.all_arrays()]
    assert len(arrays) >= 3
    assert [a.ctypes.data % CACHE_LINE for a in arrays] == [0] * len(arrays)
    # the gradient buffers too: the dW products' C, re-read and re-written once per k chunk
    assert {name: g.ctypes.data % CACHE_LINE for name, g in m.grads.items()} == dict.fromkeys(m.grads, 0)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("pass_,training", [("forward", False), ("forward", True), ("backward", True)])
def test_allocate_workspace_gives_every_named_array_of_workspace_shapes_aligned(cell, pass_, training):
    from lstm_energy._layers.workspaces import allocate_workspace, workspace_shapes

    shapes = workspace_shapes(cell, pass_, 7, 3, 5, 33, training)
    ws = allocate_workspace(cell, pass_, 7, 3, 5, 33, training, np.float32)
    assert {name: a.shape for name, a in ws.items()} == shapes
    assert all(a.dtype == np.float32 and a.flags.c_contiguous and is_aligned(a) for a in ws.values())
    assert len({a.ctypes.data for a in ws.values()}) == len(ws)  # separate buffers
