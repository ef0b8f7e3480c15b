"""One measurement's configuration, and the vocabulary it is written in (defined here, once).

``Config`` carries the settings of one measurement from where they are chosen (``lstm-energy
profile`` flags, a sweep grid point, ``profile(...)``'s keyword arguments, an old record's
``config`` dict) through the prepared runner and the cost models to the results record and the
report row. It is validated once, when it is made; everything downstream trusts it.

Its field names are the results record's ``config`` keys and ``profile(...)``'s keyword names, so
nothing is renamed in transit: ``config.as_record()`` is the record's ``config`` dict and
``profile(**config.as_record())`` measures it. It also reads like that dict (``config["cell"]``,
``dict(config)``, ``config == record["config"]``), so code written against records reads a Config
unchanged.

Shapes: ``T`` = seq_len, ``B`` = batch, ``D`` = input_size, ``H`` = hidden_size, ``G`` = gates
(RNN 1, GRU 3, LSTM 4), ``L`` = num_layers; layer ``l >= 1`` reads the previous layer's output, so its
input size is ``D_l = H * dirs`` (``dirs`` = 2 when bidirectional).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from lstm_energy.errors import ArgumentTypeError, ConfigError

# No NumPy import at module level: the pytest plugin reads this vocabulary in every pytest run.

#: recurrent cells
CELLS = ("lstm", "gru", "rnn")
#: G, gate blocks stacked in the weight matrices: LSTM i|f|g|o, GRU r|z|n, RNN one pre-activation
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
#: what one call does: "forward" (eval), "backward" (alone, over a saved forward), "train" (forward + backward)
PHASES = ("forward", "backward", "train")
#: implementations: our Cython kernels, our NumPy reference, PyTorch (a peer, CPU)
IMPLS = ("cython", "numpy", "torch")
#: the RNN cell's activation (LSTM and GRU have none to choose)
NONLINEARITIES = ("tanh", "relu")
#: element types the kernels compute in, and their bytes per element
DTYPE_BYTES = {"float32": 4, "float64": 8}
DTYPES = tuple(DTYPE_BYTES)
#: arithmetic of an inference forward (issue 18): float32, bfloat16 weights/activations with float32 sums,
#: int8 dynamic quantization (lstm_energy.reference.lowp); bytes per weight element. Training is fp32 only.
PRECISION_WEIGHT_BYTES = {"fp32": 4, "bf16": 2, "int8": 1}
PRECISIONS = tuple(PRECISION_WEIGHT_BYTES)

#: the results record's ``config`` keys, in record order (docs/results-record.md); also Config's fields
RECORD_KEYS = (
    "cell",
    "nonlinearity",
    "impl",
    "phase",
    "batch",
    "seq_len",
    "input_size",
    "hidden_size",
    "num_layers",
    "bidirectional",
    "dtype",
    "threads",
    "precision",
)
#: the integer fields, each >= 1
POSITIVE_INT_FIELDS = ("batch", "seq_len", "input_size", "hidden_size", "num_layers", "threads")


def _quoted(choices) -> str:
    return ", ".join(repr(c) for c in choices)


# ---------------------------------------------------------------------------------- checkers
# The one home of the argument checks every entry point shares (Config, the layers, the engines'
# workspaces, the forecaster): a value outside a vocabulary or range is a ConfigError, a value of the
# wrong type an ArgumentTypeError; each message names the argument, the value seen and how to fix it.


def check_choice(name: str, value, choices: tuple, how: str) -> None:
    """ConfigError unless ``value`` is one of ``choices``; ``how`` tells the caller what to pass instead."""
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}: {name} must be one of {_quoted(choices)}; {how}")


def dtype_name(dtype) -> str:
    """'float32' / 'float64' from a name, a NumPy dtype or a scalar type (np.float32).

    ConfigError for a dtype the kernels do not compute in (np.float16, 'int8'); ArgumentTypeError for
    something that is not a dtype at all (None, 3)."""
    if isinstance(dtype, str) and dtype in DTYPE_BYTES:
        return dtype  # the common case, without importing NumPy
    name = _numpy_dtype_name(dtype)
    if name not in DTYPE_BYTES:
        raise ConfigError(
            f"unknown dtype {dtype!r}: dtype must be float32 or float64 (the kernels' dtypes); "
            "pass dtype='float32' (or np.float32)"
        )
    return name


def _numpy_dtype_name(dtype) -> str | None:
    """NumPy's name for ``dtype``; None for a string NumPy does not know; ArgumentTypeError for a non-dtype."""
    if dtype is None:  # np.dtype(None) is float64: a missing dtype must not pass for one
        raise _not_a_dtype(dtype)
    import numpy as np  # a dtype object or scalar type came from NumPy (or is a Python type NumPy names)

    try:
        return np.dtype(dtype).name
    except (TypeError, ValueError):
        if isinstance(dtype, str):
            return None  # an unknown name: the caller says which names work
        raise _not_a_dtype(dtype) from None


def _not_a_dtype(value) -> ArgumentTypeError:
    return ArgumentTypeError(
        f"dtype must be a dtype name or a NumPy dtype, got {value!r} of type {type(value).__name__}; "
        "pass dtype='float32' (or np.float32)"
    )


def flag(name: str, value) -> bool:
    """``value`` as a bool when it is one (Python or NumPy bool, or the ints 0 and 1, as torch takes them);
    ArgumentTypeError otherwise: a float or a string here is an argument in the wrong place."""
    numpy_bool = getattr(value, "shape", None) == () and getattr(getattr(value, "dtype", None), "kind", "") == "b"
    if isinstance(value, bool) or numpy_bool or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    raise ArgumentTypeError(f"{name} must be True or False, got {value!r}; pass {name}=True or {name}=False")


def positive_int(name: str, value) -> int:
    """``value`` as an int >= 1 (NumPy integers accepted). ArgumentTypeError for a bool, float, string
    or other non-integer; ConfigError for an integer below 1."""
    how = "pass threads=1 for one core" if name == "threads" else f"pass e.g. {name}=1"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):  # np.integer is Integral
        raise ArgumentTypeError(f"{name} must be a positive int, got {value!r} of type {type(value).__name__}; {how}")
    if value < 1:
        raise ConfigError(f"{name} must be a positive int, got {value!r}; {how}")
    return int(value)


def usable_cpu_count() -> int:
    """CPUs this process may run on: ``os.sched_getaffinity(0)`` (honours taskset, cgroup cpusets),
    else ``os.cpu_count()`` where affinity is not available (macOS, Windows)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no sched_getaffinity on this platform
        return os.cpu_count() or 1


def check_threads_available(threads: int) -> int:
    """``threads`` (an int >= 1, ``positive_int``) when this machine can run that many at once;
    ConfigError naming the CPU count otherwise: more threads than CPUs time-share the cores, so the
    figure would be recorded as threads=N while measuring fewer cores.

    Not part of ``Config``: a record made on a bigger machine must still load here. The entry points
    that are about to measure on this machine call it (``lstm-energy profile/sweep/forecast``, the sweep's
    in-process runner)."""
    threads = positive_int("threads", threads)
    cpus = usable_cpu_count()
    if threads > cpus:
        raise ConfigError(
            f"threads={threads} is more than the {cpus} CPU(s) this process may run on "
            f"(os.sched_getaffinity); pass threads <= {cpus}, or run on a machine with more CPUs"
        )
    return threads


@dataclass(frozen=True, kw_only=True)
class Config(Mapping):
    """One measurement's settings; keyword-only, validated on construction (ConfigError saying
    which field, the value seen and how to fix it; ArgumentTypeError for a value of the wrong type,
    e.g. hidden_size=2.5 or dtype=None).

    cell: CELLS; nonlinearity: NONLINEARITIES for cell="rnn" (default "tanh"), stored as None for
    LSTM/GRU (None or "tanh" accepted there); impl: IMPLS; phase: PHASES; batch B, seq_len T,
    input_size D, hidden_size H, num_layers L, threads: ints >= 1; bidirectional: bool; dtype:
    DTYPES (a NumPy dtype or type is normalised to its name); precision: PRECISIONS ("fp32" default;
    "bf16"/"int8" only for phase="forward" with float32).
    """

    cell: str
    nonlinearity: str | None = "tanh"
    impl: str = "cython"
    phase: str = "forward"
    batch: int
    seq_len: int
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    dtype: str = "float32"
    threads: int = 1
    precision: str = "fp32"

    def __post_init__(self):
        # frozen: normalised values are written with object.__setattr__, once, here
        check_choice("cell", self.cell, CELLS, "pass cell='lstm', 'gru' or 'rnn'")
        check_choice("impl", self.impl, IMPLS, 'torch needs `pip install -e ".[torch]"`')
        check_choice("phase", self.phase, PHASES, "'train' means forward + backward")
        object.__setattr__(self, "dtype", dtype_name(self.dtype))
        self._check_precision()
        self._check_nonlinearity()
        for name in POSITIVE_INT_FIELDS:
            object.__setattr__(self, name, positive_int(name, getattr(self, name)))
        bidirectional = self.bidirectional
        is_numpy_bool = getattr(getattr(bidirectional, "dtype", None), "kind", None) == "b"  # np.bool_, 0-d array
        if is_numpy_bool or (isinstance(bidirectional, numbers.Integral) and bidirectional in (0, 1)):
            bidirectional = bool(bidirectional)
        if not isinstance(bidirectional, bool):
            raise ConfigError(f"bidirectional must be True or False, got {self.bidirectional!r}")
        object.__setattr__(self, "bidirectional", bidirectional)

    def _check_precision(self) -> None:
        if self.precision is None:  # a record written before issue 18: fp32
            object.__setattr__(self, "precision", "fp32")
        check_choice("precision", self.precision, PRECISIONS, "reduced precisions are 'bf16' and 'int8'")
        if self.precision == "fp32":
            return
        if self.phase != "forward":
            raise ConfigError(
                f"precision={self.precision!r} applies to inference only, got phase={self.phase!r}; "
                "training and backward run in fp32: pass phase='forward' or precision='fp32'"
            )
        if self.dtype != "float32":
            raise ConfigError(f"precision={self.precision!r} needs dtype float32, got {self.dtype!r}")

    def _check_nonlinearity(self) -> None:
        value = self.nonlinearity
        if self.cell != "rnn":
            if value not in (None, "tanh"):
                if value not in NONLINEARITIES:
                    raise ConfigError(
                        f"unknown nonlinearity {value!r}: nonlinearity must be 'tanh' or 'relu' "
                        "(only the RNN cell uses it; LSTM and GRU keep the default 'tanh')"
                    )
                raise ConfigError(
                    f"nonlinearity={value!r} only applies to cell='rnn', got cell={self.cell!r}; "
                    "drop the nonlinearity argument"
                )
            object.__setattr__(self, "nonlinearity", None)  # the record says null for LSTM/GRU
        elif value not in NONLINEARITIES:
            raise ConfigError(
                f"unknown nonlinearity {value!r}: nonlinearity must be 'tanh' or 'relu' "
                "(only the RNN cell uses it; LSTM and GRU keep the default 'tanh')"
            )

    # ------------------------------------------------------------------ record form

    @classmethod
    def from_record(cls, config: Mapping) -> Config:
        """A Config from a results record's ``config`` dict (any schema-1 record; extra keys ignored,
        a missing ``nonlinearity``/``num_layers``/``bidirectional``/``dtype``/``threads``/``precision`` takes
        the default; records written before issue 18 have no ``precision``: fp32)."""
        if isinstance(config, Config):
            return config
        return cls(**{k: config[k] for k in RECORD_KEYS if k in config})

    def as_record(self) -> dict:
        """The results record's ``config`` dict: RECORD_KEYS in order, JSON-ready values."""
        return {k: getattr(self, k) for k in RECORD_KEYS}

    def replace(self, **changes) -> Config:
        """A copy with ``changes`` applied, validated again."""
        return replace(self, **changes)

    # Mapping: a Config reads like its record dict
    def __getitem__(self, key: str):
        if key not in RECORD_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(RECORD_KEYS)

    def __len__(self) -> int:
        return len(RECORD_KEYS)

    def __eq__(self, other) -> bool:
        # equal to another Config or to a dict with the same record keys and values
        if isinstance(other, Mapping):
            other = dict(other)
            other.setdefault("precision", "fp32")  # records written before issue 18
            return self.as_record() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, k) for k in RECORD_KEYS))

    # ------------------------------------------------------------------ derived shape facts

    @property
    def gates(self) -> int:
        """G: gate blocks stacked in the weight matrices (RNN 1, GRU 3, LSTM 4)."""
        return GATES[self.cell]

    @property
    def directions(self) -> int:
        """dirs: 2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def cell_kind(self) -> str:
        """The cell with the RNN nonlinearity spelled out: 'lstm', 'gru', 'rnn_tanh' or 'rnn_relu'."""
        return f"rnn_{self.nonlinearity}" if self.cell == "rnn" else self.cell

    @property
    def dtype_bytes(self) -> int:
        """Bytes per element of ``dtype`` (4 or 8)."""
        return DTYPE_BYTES[self.dtype]

    def layer_input_sizes(self) -> list[int]:
        """D_l for each of the L layers: D for layer 0, H * dirs above it."""
        return [self.input_size] + [self.hidden_size * self.directions] * (self.num_layers - 1)

    def label(self) -> str:
        """One line for logs: ``lstm train cython B=8 T=16 D=32 H=64 L=1 uni t=1``."""
        return (
            f"{self.cell} {self.phase} {self.impl} B={self.batch} T={self.seq_len} D={self.input_size} "
            f"H={self.hidden_size} L={self.num_layers} {'bi' if self.bidirectional else 'uni'} t={self.threads}"
            + ("" if self.precision == "fp32" else f" {self.precision}")
        )
