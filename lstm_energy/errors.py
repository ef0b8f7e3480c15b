"""One exception hierarchy for the whole package.

Every message says what was wrong, the value seen, and how to fix it.
"""


class LstmEnergyError(Exception):
    """Root of every error lstm_energy raises on purpose."""


class ShapeError(LstmEnergyError, ValueError):
    """An array has the wrong rank, size or dtype for the layer or kernel it was given to."""


class StateError(LstmEnergyError, RuntimeError):
    """A call came in the wrong order, e.g. ``backward`` before ``forward`` or after an eval-mode forward."""


class MeterError(LstmEnergyError):
    """Base of energy-meter errors. ``reason`` (what was found) and ``fix`` (what to do) are kept apart
    when the error was made by ``lstm_energy.meters.remedies.meter_error``; otherwise both are empty."""

    reason: str = ""
    fix: str = ""


class MeterUnavailableError(MeterError):
    """The requested energy meter does not work on this machine (the message says why and how to fix it)."""


class MeterPermissionError(MeterUnavailableError, PermissionError):
    """The meter exists but this process may not read it (e.g. root-only ``energy_uj``)."""


class ResultsSchemaError(LstmEnergyError, ValueError):
    """A results file or record does not follow the versioned results schema."""


class ConfigError(LstmEnergyError, ValueError):
    """A configuration or argument value is invalid (sweep grid, profile request, CLI flags, a layer's
    sizes or options, a meter's settings)."""


class ArgumentTypeError(LstmEnergyError, TypeError):
    """An argument has the wrong type (e.g. a float where an int is needed, a list where a mapping is),
    as opposed to a value of the right type out of range (``ConfigError``) or an array of the wrong
    shape or dtype (``ShapeError``)."""


class EngineUnavailableError(LstmEnergyError, ImportError):
    """The requested compute engine (e.g. ``impl="cython"``) cannot be loaded here (the message says how to fix it)."""


class MachineInfoError(LstmEnergyError, RuntimeError):
    """Facts about this machine (cache sizes, CPU model) could not be read from sysfs/procfs."""


class CalibrationError(LstmEnergyError, ValueError):
    """Calibration data cannot identify the estimator (all-zero or constant energy, regressors without
    spread or collinear, a fit needing a negative parameter or explaining nothing, non-measured records);
    no profile is written."""


class IsaUnsupportedError(LstmEnergyError, RuntimeError):
    """A kernel instruction-set path (``LSTM_ENERGY_ISA``, ``lstm_energy.kernels.isa.set_isa``) that
    this CPU cannot run; the message names the missing CPU flag."""


class HostBusyError(LstmEnergyError, RuntimeError):
    """Another lstm-energy process holds this host's measurement lock and we were told not to wait
    (``--no-wait``), or the lock file cannot be opened (lstm_energy.measure.host_lock)."""
