"""NumPy arrays whose data start on a cache-line boundary, for the buffers the kernels stream.

``np.empty`` returns memory from ``malloc``: 16-byte aligned, and for arrays past glibc's mmap
threshold (most workspaces) always 16 bytes past a page boundary. The kernels' packed GEMM reads
16-float (64-byte) panel rows with two 32-byte loads; on a buffer 16 or 48 bytes off a cache line,
one load in two straddles two lines. Measured on an AMD EPYC (Zen 3) guest, panels 16 or 48 bytes
off the line made the B = 1 step product (K = 128, N = 512, from L2) 20-25% slower and the
B = 64 one (K = 512, N = 2048) 20% slower than the same panels 0 or 32 bytes off. Which of the two a
process got depended on the allocator's history, so the same benchmark ran at two speeds from one
process to the next. oneDNN and MKL align their buffers to 64 bytes for the same reason.
"""

from __future__ import annotations

import numpy as np

from lstm_energy.errors import ConfigError

#: bytes in an x86-64 cache line, the alignment of every array made here
CACHE_LINE = 64


def aligned_empty(shape: int | tuple[int, ...], dtype, alignment: int = CACHE_LINE) -> np.ndarray:
    """An uninitialised C-contiguous array whose first element sits at a multiple of ``alignment``
    bytes (an array of no elements has no data to align). NumPy: like ``np.empty(shape, dtype)``;
    the array is a view into a slightly larger byte buffer (kept alive by the view's ``base``)."""
    if alignment <= 0 or alignment & (alignment - 1):
        raise ConfigError(f"alignment must be a positive power of two, got {alignment!r}")
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + alignment, np.uint8)
    start = -raw.ctypes.data % alignment
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def aligned_zeros(shape: int | tuple[int, ...], dtype, alignment: int = CACHE_LINE) -> np.ndarray:
    """``aligned_empty`` filled with zeros. NumPy: like ``np.zeros(shape, dtype)``."""
    array = aligned_empty(shape, dtype, alignment)
    array.fill(0)
    return array


def aligned_copy(array, dtype=None, alignment: int = CACHE_LINE) -> np.ndarray:
    """A C-contiguous copy of ``array`` (any array-like, e.g. a transposed view) whose first element
    sits at a multiple of ``alignment`` bytes. NumPy: like ``np.ascontiguousarray(array, dtype)``,
    but always a new array."""
    array = np.asarray(array)
    copy = aligned_empty(array.shape, array.dtype if dtype is None else dtype, alignment)
    copy[...] = array
    return copy


def is_aligned(array: np.ndarray, alignment: int = CACHE_LINE) -> bool:
    """Whether ``array``'s first element sits at a multiple of ``alignment`` bytes."""
    return array.ctypes.data % alignment == 0
