# cython: language_level=3
"""Which instruction-set path the float32 kernels take: ``baseline``, ``avx2`` or ``avx512``.

The choice is made once at import, from the environment variable ``LSTM_ENERGY_ISA``
(``avx2|avx512|baseline``; unset or ``auto``: the widest path the CPU supports), and can be changed
at run time with :func:`set_isa` / :func:`use_isa` (tests run every suite on every path). A path the
CPU lacks is refused with :class:`lstm_energy.errors.IsaUnsupportedError`, naming the missing CPU
flag. What each path runs: ``_isa.h``, ``_packed_gemm.h``, ``_vector_math.h``.

The path is PROCESS-WIDE: one setting for every thread. ``set_isa`` and ``use_isa`` change it for
the kernels of all threads, not only the calling one; a kernel call that is running keeps the
decisions it made at its start (a layer samples the path once per call and passes it down, so its
kept packed weights always match what the call did), but its later products may run on the new
path's build. Switch between calls, from one thread. ``use_isa`` refuses (StateError) while another
thread is inside a ``use_isa`` block, and ``set_isa`` refuses then too, instead of silently leaking
one thread's path into the other's block. Workspaces are the same on every path (same panel width
and k chunk), so a workspace made under one path is valid under another.
"""
import os
import threading
from contextlib import contextmanager

from lstm_energy.errors import ConfigError, IsaUnsupportedError, StateError

cdef extern from "_isa.h" nogil:
    const char* lstm_energy_isa_missing(int isa)
    int lstm_energy_isa_best()
    void lstm_energy_isa_set(int* level, int isa)

#: the paths, narrowest first; the index is the C level (LE_ISA_*)
ISAS = ("baseline", "avx2", "avx512")
ENV_VAR = "LSTM_ENERGY_ISA"

cdef int _level = -1


cdef int* level_address() noexcept nogil:
    return &_level


#: tests (_pretend_missing): {path: flag} reported missing on any CPU, so the refusals run everywhere
_pretended = {}


def missing_flag(str isa):
    """None when this CPU (and OS) can run path ``isa``, else the missing CPU flag's name."""
    cdef const char* missing = lstm_energy_isa_missing(_index(isa))
    if isa in _pretended:
        return _pretended[isa]
    return None if missing == NULL else missing.decode()


@contextmanager
def _pretend_missing(str isa, str flag):
    """Tests: within the block path ``isa`` counts as lacking CPU flag ``flag`` (``missing_flag``,
    ``set_isa``'s refusal) on any CPU; the path the kernels take is not changed."""
    if isa == "baseline":
        raise ConfigError("the baseline path runs on every x86-64 CPU; pretend avx2 or avx512 missing")
    _index(isa)
    _pretended[isa] = flag
    try:
        yield flag
    finally:
        del _pretended[isa]


def supported():
    """``{path: None or missing flag}`` for every path."""
    return {name: missing_flag(name) for name in ISAS}


def best():
    """The widest path this CPU supports."""
    return ISAS[lstm_energy_isa_best()]


def current():
    """The path the kernels take now (process-wide)."""
    if _level < 0:          # not chosen yet: what the C side would pick on first use
        lstm_energy_isa_set(&_level, lstm_energy_isa_best())
    return ISAS[_level]


def current_level():
    """``current()`` as the C level (its index in ISAS): what a layer passes down to a kernel call."""
    if _level < 0:
        lstm_energy_isa_set(&_level, lstm_energy_isa_best())
    return _level


#: who is inside a use_isa block: [thread ident, thread name, the block's path, depth] or None
_block_lock = threading.Lock()
_block = None


def _refuse_other_thread(str what):
    """StateError when a thread other than the caller is inside a use_isa block (call with _block_lock)."""
    if _block is not None and _block[0] != threading.get_ident():
        raise StateError(
            f"{what} in thread {threading.current_thread().name!r}: thread {_block[1]!r} is inside a "
            f"use_isa({_block[2]!r}) block, and the kernel path is process-wide (one setting for every "
            "thread), so this switch would change the path under that thread's kernels and its block's "
            "restore would undo this one; switch paths from one thread only, between calls (or run each "
            "path in its own process, LSTM_ENERGY_ISA=...)")


def set_isa(str isa):
    """Make the kernels of EVERY thread take path ``isa`` (``auto``: the widest supported); return the
    previous one. The path is process-wide: a kernel call running in another thread keeps the decisions
    it made at its start but may run its later products on the new path's build. Refused (StateError)
    while another thread is inside a ``use_isa`` block."""
    with _block_lock:
        _refuse_other_thread(f"set_isa({isa!r})")
        return _set_isa(isa)


def _set_isa(str isa):
    previous = current()
    if isa == "auto":
        lstm_energy_isa_set(&_level, lstm_energy_isa_best())
        return previous
    cdef int index = _index(isa)
    missing = missing_flag(isa)
    if missing is not None:
        raise IsaUnsupportedError(
            f"the {isa} kernel path needs the CPU flag {missing!r}, which this CPU does not report "
            f"(supported here: {', '.join(n for n in ISAS if missing_flag(n) is None)}); unset "
            f"{ENV_VAR} or choose a supported path")
    lstm_energy_isa_set(&_level, index)
    return previous


@contextmanager
def use_isa(str isa):
    """``with use_isa("avx2"): ...`` runs the block on that path and restores the previous one.

    PROCESS-WIDE, like ``set_isa``: the kernels of every thread take the path inside the block, not
    only the calling thread's. Blocks nest within one thread; while one thread is inside a block,
    ``use_isa`` and ``set_isa`` from any other thread raise StateError (rather than leak one thread's
    path into the other's block and leave the process on a path nobody asked for)."""
    global _block
    me = threading.get_ident()
    with _block_lock:
        _refuse_other_thread(f"use_isa({isa!r})")
        previous = _set_isa(isa)
        if _block is None:
            _block = [me, threading.current_thread().name, isa, 0]
        _block[3] += 1
    try:
        yield isa
    finally:
        with _block_lock:
            _block[3] -= 1
            if _block[3] == 0:
                _block = None
            _set_isa(previous)


cdef int _index(str isa) except -1:
    if isa not in ISAS:
        raise ConfigError(f"unknown kernel path {isa!r}: expected one of {', '.join(ISAS)} (or auto)")
    return ISAS.index(isa)


def _from_environment():
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in ("", "auto"):
        _set_isa("auto")
        return
    if value not in ISAS:
        raise IsaUnsupportedError(
            f"{ENV_VAR}={value!r} is not a kernel path: expected one of {', '.join(ISAS)} or auto")
    try:
        _set_isa(value)
    except IsaUnsupportedError as exc:
        raise IsaUnsupportedError(f"{ENV_VAR}={value}: {exc}") from None


_from_environment()
