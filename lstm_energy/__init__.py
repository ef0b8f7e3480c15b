"""lstm_energy: what does a recurrent network cost in joules, and why?

Public names are imported lazily so that ``import lstm_energy`` stays cheap and works without the
optional extras (PyTorch is never imported here).
"""

from importlib import import_module

from lstm_energy.errors import LstmEnergyError

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "LSTM": "lstm_energy.layers",
    "GRU": "lstm_energy.layers",
    "RNN": "lstm_energy.layers",
    "profile": "lstm_energy.measure",
    "ProfileResult": "lstm_energy.measure",
    "load_dataframe": "lstm_energy.results",
    "to_dataframe": "lstm_energy.measure.result",
}

__all__ = ["LstmEnergyError", "__version__", *_LAZY]


def __getattr__(name):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'lstm_energy' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
