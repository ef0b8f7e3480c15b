"""The recurrent-layer configuration the cost models are evaluated for, validated once.

Shapes follow the project conventions: ``T`` sequence, ``B`` batch, ``D`` input size, ``H`` hidden
size, ``G`` gates (RNN 1, GRU 3, LSTM 4), ``L`` layers. Layer ``l >= 1`` reads the previous layer's
output, so its input size is ``D_l = H * dirs`` (``dirs`` = 2 when bidirectional).
"""
from __future__ import annotations

from dataclasses import dataclass

from lstm_energy.errors import ConfigError

GATES = {"rnn": 1, "gru": 3, "lstm": 4}
PHASES = ("forward", "backward", "train")
NONLINEARITIES = ("tanh", "relu")
DTYPE_BYTES = {"float32": 4, "float64": 8}


@dataclass(frozen=True)
class RecurrentProblem:
    """One stacked (optionally bidirectional) recurrent layer configuration."""

    cell: str
    batch: int
    seq_len: int
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    nonlinearity: str = "tanh"

    def __post_init__(self):
        if self.cell not in GATES:
            raise ConfigError(
                f"cell must be one of {sorted(GATES)}, got {self.cell!r}; pass cell='lstm', 'gru' or 'rnn'"
            )
        for name in ("batch", "seq_len", "input_size", "hidden_size", "num_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}; pass e.g. {name}=1")
        if self.nonlinearity not in NONLINEARITIES:
            raise ConfigError(
                f"nonlinearity must be 'tanh' or 'relu', got {self.nonlinearity!r}"
                " (only the RNN cell uses it; LSTM and GRU keep the default 'tanh')"
            )
        if self.cell != "rnn" and self.nonlinearity != "tanh":
            raise ConfigError(
                f"nonlinearity={self.nonlinearity!r} only applies to cell='rnn', got cell={self.cell!r};"
                " drop the nonlinearity argument"
            )

    @property
    def gates(self) -> int:
        """G: gate blocks stacked in the weight matrices (RNN 1, GRU 3, LSTM 4)."""
        return GATES[self.cell]

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def cell_kind(self) -> str:
        """The cell with the RNN nonlinearity spelled out: 'lstm', 'gru', 'rnn_tanh' or 'rnn_relu'."""
        return f"rnn_{self.nonlinearity}" if self.cell == "rnn" else self.cell

    def layer_input_sizes(self) -> list[int]:
        """D_l for each layer: D for layer 0, H * dirs above it."""
        return [self.input_size] + [self.hidden_size * self.directions] * (self.num_layers - 1)


def check_phase(phase: str) -> str:
    if phase not in PHASES:
        raise ConfigError(f"phase must be one of {PHASES}, got {phase!r}; 'train' means forward + backward")
    return phase


def dtype_bytes(dtype) -> int:
    """Bytes per element of 'float32' / 'float64' (also accepts numpy dtypes and types)."""
    name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
    try:
        return DTYPE_BYTES[name]
    except KeyError:
        raise ConfigError(
            f"dtype must be float32 or float64 (the kernels' dtypes), got {dtype!r}"
        ) from None
