"""Buffers reused across calls: one set per (T, B, training) shape, allocated on first use.

The layer owns these arrays; kernels write into them. Each starts on a cache line
(``lstm_energy._layers.aligned``: the packed GEMM's panel reads straddle lines otherwise). Nothing here is
ever handed to the caller: arrays returned by ``forward``/``backward`` are fresh (or copies), so the
next call cannot change them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping

import numpy as np

from lstm_energy._layers.aligned import aligned_empty, aligned_zeros


class ShapeBuffers:
    """Named arrays and workspaces of one (T, B, training) shape; each is allocated once, on first request."""

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype
        self._arrays: dict[Hashable, np.ndarray] = {}
        self._workspaces: dict[Hashable, dict[str, np.ndarray]] = {}

    def array(self, key: Hashable, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised array, the same object for every call with this ``key``."""
        found = self._arrays.get(key)
        if found is None:
            found = self._arrays[key] = aligned_empty(shape, self.dtype)
        return found

    def zeros(self, key: Hashable, shape: tuple[int, ...]) -> np.ndarray:
        """A zero array (a default state or gradient); callers only read it."""
        found = self._arrays.get(key)
        if found is None:
            found = self._arrays[key] = aligned_zeros(shape, self.dtype)
        return found

    def workspace(
        self, key: Hashable, shapes: Callable[..., Mapping[str, tuple[int, ...]]], *args
    ) -> dict[str, np.ndarray]:
        """``{name: array}`` for an engine's ``workspace_shapes`` result, the same dict for every call
        with ``key``; ``shapes(*args)`` is called only when the workspace is first made (a repeated call
        builds nothing: a B = 1 eval step takes a few microseconds)."""
        found = self._workspaces.get(key)
        if found is None:
            found = self._workspaces[key] = {
                name: aligned_empty(shape, self.dtype) for name, shape in shapes(*args).items()
            }
        return found

    def saved(self, key: Hashable):
        """The array or workspace a previous call made under ``key`` (backward reads the forward's)."""
        if key in self._arrays:
            return self._arrays[key]
        return self._workspaces[key]

    def all_arrays(self) -> list[np.ndarray]:
        """Every array held for this shape (named arrays and workspace members)."""
        return [*self._arrays.values(), *(a for ws in self._workspaces.values() for a in ws.values())]

    @property
    def nbytes(self) -> int:
        """Bytes held by every array of this shape."""
        return sum(a.nbytes for a in self.all_arrays())


class BufferCache:
    """``ShapeBuffers`` by (T, B, training), keeping the ``capacity`` most recently used shapes."""

    def __init__(self, dtype: np.dtype, capacity: int = 4):
        self.dtype = dtype
        self.capacity = capacity
        self._entries: OrderedDict[tuple[int, int, bool], ShapeBuffers] = OrderedDict()

    def get(self, T: int, B: int, training: bool) -> ShapeBuffers:
        key = (T, B, bool(training))
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = ShapeBuffers(self.dtype)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        return entry

    def entries(self) -> list[ShapeBuffers]:
        """The cached shapes' buffers, least recently used first."""
        return list(self._entries.values())

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
