# cython: language_level=3
"""Which instruction-set path the float32 kernels take: ``baseline``, ``avx2`` or ``avx512``.

The choice is made once at import, from the environment variable ``LSTM_ENERGY_ISA``
(``avx2|avx512|baseline``; unset or ``auto``: the widest path the CPU supports), and can be changed
at run time with :func:`set_isa` / :func:`use_isa` (tests run every suite on every path). A path the
CPU lacks is refused with :class:`lstm_energy.errors.IsaUnsupportedError`, naming the missing CPU
flag. What each path runs: ``_isa.h``, ``_packed_gemm.h``, ``_vector_math.h``.

Switching paths is not thread-safe with respect to kernels running at that moment; switch between
calls. Workspaces are the same on every path (same panel width and k chunk), so a workspace made
under one path is valid under another.
"""
import os
from contextlib import contextmanager

from lstm_energy.errors import ConfigError, IsaUnsupportedError

cdef extern from "_isa.h" nogil:
    const char* lstm_energy_isa_missing(int isa)
    int lstm_energy_isa_best()

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
    """The path the kernels take now."""
    global _level
    if _level < 0:          # not chosen yet: what the C side would pick on first use
        _level = lstm_energy_isa_best()
    return ISAS[_level]


def set_isa(str isa):
    """Make the kernels take path ``isa`` (``auto``: the widest supported); return the previous one."""
    global _level
    previous = current()
    if isa == "auto":
        _level = lstm_energy_isa_best()
        return previous
    cdef int index = _index(isa)
    missing = missing_flag(isa)
    if missing is not None:
        raise IsaUnsupportedError(
            f"the {isa} kernel path needs the CPU flag {missing!r}, which this CPU does not report "
            f"(supported here: {', '.join(n for n in ISAS if missing_flag(n) is None)}); unset "
            f"{ENV_VAR} or choose a supported path")
    _level = index
    return previous


@contextmanager
def use_isa(str isa):
    """``with use_isa("avx2"): ...`` runs the block on that path and restores the previous one."""
    previous = set_isa(isa)
    try:
        yield isa
    finally:
        set_isa(previous)


cdef int _index(str isa) except -1:
    if isa not in ISAS:
        raise ConfigError(f"unknown kernel path {isa!r}: expected one of {', '.join(ISAS)} (or auto)")
    return ISAS.index(isa)


def _from_environment():
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in ("", "auto"):
        set_isa("auto")
        return
    if value not in ISAS:
        raise IsaUnsupportedError(
            f"{ENV_VAR}={value!r} is not a kernel path: expected one of {', '.join(ISAS)} or auto")
    try:
        set_isa(value)
    except IsaUnsupportedError as exc:
        raise IsaUnsupportedError(f"{ENV_VAR}={value}: {exc}") from None


_from_environment()
