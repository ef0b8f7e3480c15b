"""Pick the module that implements the engine contract (``lstm_energy.kernels`` or ``lstm_energy.reference``)."""

from importlib import import_module
from types import ModuleType

from lstm_energy.config import check_choice
from lstm_energy.errors import EngineUnavailableError

#: a layer's ``impl`` -> the module implementing the engine contract (a subset of lstm_energy.config.IMPLS:
#: "torch" is a peer that profile() measures, not an engine of our layers)
ENGINE_MODULES = {"cython": "lstm_energy.kernels", "numpy": "lstm_energy.reference"}
#: the impl values a layer (and the forecaster built on one) accepts
LAYER_IMPLS = tuple(ENGINE_MODULES)

CONTRACT_FUNCTIONS = (
    "workspace_shapes",
    "lstm_forward",
    "lstm_backward",
    "gru_forward",
    "gru_backward",
    "rnn_forward",
    "rnn_backward",
)


def load_engine(impl: str) -> ModuleType:
    """Return the engine module for ``impl`` ("cython" or "numpy"); never falls back to the other one."""
    check_choice("impl", impl, LAYER_IMPLS, "'cython' runs the compiled kernels, 'numpy' the NumPy reference")
    name = ENGINE_MODULES[impl]
    try:
        module = import_module(name)
    except ImportError as exc:
        raise EngineUnavailableError(
            f"impl={impl!r} needs {name}, which failed to import ({exc}); build the extensions with "
            "`python setup.py build_ext --inplace` (or `pip install -e .`), or pass impl='numpy'"
        ) from exc
    missing = [f for f in CONTRACT_FUNCTIONS if not callable(getattr(module, f, None))]
    if missing:
        raise EngineUnavailableError(
            f"impl={impl!r}: {name} does not provide {', '.join(missing)} (are the Cython kernels built? "
            "run `python setup.py build_ext --inplace`), or pass impl='numpy'"
        )
    return module


def engine_available(impl: str) -> tuple[bool, str]:
    """(True, "") if ``impl`` loads, else (False, the reason): for tests that skip with a reason."""
    try:
        load_engine(impl)
    except EngineUnavailableError as exc:
        return False, str(exc)
    return True, ""
