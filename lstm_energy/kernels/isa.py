"""The kernels' instruction-set path: ``baseline``, ``avx2`` or ``avx512`` (see ``_isa.pyx``).

``LSTM_ENERGY_ISA=avx2|avx512|baseline`` (or ``auto``, the default: the widest the CPU supports)
chooses it at import; :func:`set_isa` / :func:`use_isa` change it at run time. A path the CPU lacks
raises :class:`lstm_energy.errors.IsaUnsupportedError` naming the missing CPU flag.

The path is PROCESS-WIDE: ``set_isa`` and ``use_isa`` switch the kernels of every thread, not only the
caller's. Switch between calls, from one thread; while a thread is inside a ``use_isa`` block, ``use_isa``
and ``set_isa`` from other threads raise :class:`lstm_energy.errors.StateError`. ``current_level()`` is
``current()`` as the C level a layer passes to each kernel call (sampled once per call).
"""

from lstm_energy.kernels._isa import (
    ENV_VAR,
    ISAS,
    best,
    current,
    current_level,
    missing_flag,
    set_isa,
    supported,
    use_isa,
)

__all__ = ["ENV_VAR", "ISAS", "best", "current", "current_level", "missing_flag", "set_isa", "supported", "use_isa"]
