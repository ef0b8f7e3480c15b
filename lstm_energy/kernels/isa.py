"""The kernels' instruction-set path: ``baseline``, ``avx2`` or ``avx512`` (see ``_isa.pyx``).

``LSTM_ENERGY_ISA=avx2|avx512|baseline`` (or ``auto``, the default: the widest the CPU supports)
chooses it at import; :func:`set_isa` / :func:`use_isa` change it at run time. A path the CPU lacks
raises :class:`lstm_energy.errors.IsaUnsupportedError` naming the missing CPU flag.
"""

from lstm_energy.kernels._isa import (
    ENV_VAR,
    ISAS,
    best,
    current,
    missing_flag,
    set_isa,
    supported,
    use_isa,
)

__all__ = ["ENV_VAR", "ISAS", "best", "current", "missing_flag", "set_isa", "supported", "use_isa"]
