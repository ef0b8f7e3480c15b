"""A recurrent forecaster: one of our LSTM / GRU / RNN layers plus a final linear layer, and MSE loss.

Forward: windows (B, T) -> x (T, B, 1) -> recurrent layer -> final hidden state (B, F) -> linear head
-> one forecast per window (B,). The final hidden state is the last layer's output at the last time
step; for a bidirectional encoder it is that concatenated with the reverse direction's output at
t = 0, i.e. the final state of each direction (F = dirs * H).

Backward: the head's analytic gradient gives dL/d(final hidden state); it is scattered into
``dy`` (T, B, dirs*H) and sent through the layer's own backward kernels (``layer.backward``), whose
``grads`` hold the recurrent weights' gradients. No autograd library is involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_energy.config import CELLS, check_choice, positive_int
from lstm_energy.errors import ShapeError, StateError


def mse_loss(predictions: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """predictions, targets: (B,) -> (mean squared error, dL/dpredictions (B,))."""
    if predictions.shape != targets.shape or predictions.ndim != 1:
        raise ShapeError(
            f"predictions {predictions.shape} and targets {targets.shape} must both be (B,); "
            "flatten the head output or the targets"
        )
    residual = predictions.astype(np.float64) - targets
    loss = float(np.mean(residual**2))
    return loss, (2.0 / residual.size) * residual


class LinearHead:
    """The final linear layer, ``prediction = h @ weight.T + bias`` with one output.

    weight: (1, F); bias: (1,). Initialised like ``torch.nn.Linear``: U(-1/sqrt(F), 1/sqrt(F)).
    """

    def __init__(self, in_features: int, *, rng: np.random.Generator, dtype=np.float32):
        bound = 1.0 / np.sqrt(in_features)
        self.weight = rng.uniform(-bound, bound, size=(1, in_features)).astype(dtype)
        self.bias = rng.uniform(-bound, bound, size=(1,)).astype(dtype)

    def forward(self, h: np.ndarray) -> np.ndarray:
        """h: (B, F) -> predictions (B,)."""
        return (h @ self.weight.T)[:, 0] + self.bias[0]

    def backward(self, h: np.ndarray, d_predictions: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """h: (B, F), d_predictions: (B,) -> (dL/dh (B, F), {"weight": (1, F), "bias": (1,)})."""
        d = d_predictions.astype(h.dtype)[:, None]  # (B, 1)
        grads = {"weight": d.T @ h, "bias": d.sum(axis=0)}  # dW = d^T h; db = sum over the batch
        return d @ self.weight, grads  # dh = d W


@dataclass(frozen=True)
class ModelConfig:
    """What the hyperparameter search varies (plus the cell)."""

    cell: str
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False

    def __post_init__(self):
        check_choice("cell", self.cell, CELLS, "pass cell='lstm', 'gru' or 'rnn'")
        positive_int("hidden_size", self.hidden_size)
        positive_int("num_layers", self.num_layers)

    @property
    def label(self) -> str:
        prefix = "Bi" if self.bidirectional else ""
        return f"{prefix}{self.cell.upper()} H={self.hidden_size} L={self.num_layers}"


def build_recurrent_layer(config: ModelConfig, *, dtype, seed: int, impl: str):
    """The layer from ``lstm_energy.layers`` for this configuration, on one input feature."""
    from lstm_energy import layers
    from lstm_energy._layers.module import RecurrentLayer

    cls: type[RecurrentLayer] = {"lstm": layers.LSTM, "gru": layers.GRU, "rnn": layers.RNN}[config.cell]
    return cls(
        1,
        config.hidden_size,
        num_layers=config.num_layers,
        bidirectional=config.bidirectional,
        dtype=dtype,
        seed=seed,
        impl=impl,
    )


class Forecaster:
    """Recurrent layer + final linear layer; one-step-ahead forecasts of a scaled series.

    ``recurrent`` may be injected (any object with the ``lstm_energy.layers`` API); by default it is
    built from ``config`` with ``impl`` ("cython" or "numpy").
    """

    def __init__(self, config: ModelConfig, *, seed: int = 0, dtype=np.float32, impl: str = "cython", recurrent=None):
        self.config = config
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        layer_seed = int(rng.integers(2**31 - 1))
        self.recurrent = (
            recurrent
            if recurrent is not None
            else build_recurrent_layer(config, dtype=self.dtype, seed=layer_seed, impl=impl)
        )
        self.directions = 2 if config.bidirectional else 1
        self.head = LinearHead(self.directions * config.hidden_size, rng=rng, dtype=self.dtype)
        # the optimizer updates these arrays in place; parameters_changed() pushes them into the layer
        self._recurrent_params = {k: np.array(v, dtype=self.dtype) for k, v in self.recurrent.state_dict().items()}
        self._cache: tuple[int, np.ndarray] | None = None

    # parameters -----------------------------------------------------------------------------------
    def parameters(self) -> dict[str, np.ndarray]:
        """Live parameter arrays by name ("recurrent.<state_dict name>", "head.weight", "head.bias")."""
        params = {f"recurrent.{k}": v for k, v in self._recurrent_params.items()}
        params["head.weight"] = self.head.weight
        params["head.bias"] = self.head.bias
        return params

    def parameters_changed(self) -> None:
        """Load the (optimizer-updated) recurrent parameters into the layer."""
        self.recurrent.load_state_dict(self._recurrent_params)

    def parameter_count(self) -> int:
        return int(sum(p.size for p in self.parameters().values()))

    # forward / backward ---------------------------------------------------------------------------
    def sequence_first(self, windows: np.ndarray) -> np.ndarray:
        """windows: (B, T) -> x: (T, B, 1) C-contiguous in the model dtype."""
        if windows.ndim != 2:
            raise ShapeError(f"windows must be (B, T); got shape {windows.shape}; pass one window per row")
        return np.ascontiguousarray(windows.T[:, :, None], dtype=self.dtype)

    def _final_hidden(self, y: np.ndarray) -> np.ndarray:
        """y: (T, B, dirs*H) -> final state of each direction (B, dirs*H)."""
        H = self.config.hidden_size
        if self.directions == 1:
            return y[-1]
        return np.concatenate([y[-1, :, :H], y[0, :, H:]], axis=1)

    def forward(self, windows: np.ndarray) -> np.ndarray:
        """Training-mode forward. windows: (B, T) -> predictions (B,), kept for ``backward``."""
        self.recurrent.train()
        y, _ = self.recurrent.forward(self.sequence_first(windows))
        h = self._final_hidden(y)
        self._cache = (y.shape, h)
        return self.head.forward(h)

    def backward(self, d_predictions: np.ndarray) -> dict[str, np.ndarray]:
        """d_predictions: (B,) -> gradients by parameter name (same names as ``parameters()``)."""
        if self._cache is None:
            raise StateError("Forecaster.backward called before a training-mode forward; call forward(windows) first")
        y_shape, h = self._cache
        self._cache = None
        dh, head_grads = self.head.backward(h, d_predictions)
        H = self.config.hidden_size
        dy = np.zeros(y_shape, dtype=self.dtype)  # (T, B, dirs*H): only the final states feed the head
        dy[-1, :, :H] = dh[:, :H]
        if self.directions == 2:
            dy[0, :, H:] = dh[:, H:]
        self.recurrent.backward(dy)
        grads = {f"recurrent.{k}": np.asarray(v) for k, v in self.recurrent.grads.items()}
        grads["head.weight"] = head_grads["weight"]
        grads["head.bias"] = head_grads["bias"]
        return grads

    def set_precision(self, precision: str) -> None:
        """The precision of later predictions (issue 18): "fp32", "bf16" or "int8" runs the recurrent
        layer's trained fp32 weights through ``eval(precision=...)`` (quantized once, cached); the final
        linear layer stays fp32. Training needs "fp32" (a reduced-precision layer refuses ``train()``)."""
        self.recurrent.eval(precision=precision)

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Eval-mode forward (nothing kept). windows: (B, T) -> predictions (B,) float64."""
        return self.predict_sequence_first(self.sequence_first(windows)).astype(np.float64)

    def predict_sequence_first(self, x: np.ndarray) -> np.ndarray:
        """The prepared predict call: x (T, B, 1) from ``sequence_first`` -> predictions (B,) model dtype."""
        self.recurrent.eval()
        y, _ = self.recurrent.forward(x)
        return self.head.forward(self._final_hidden(y))
