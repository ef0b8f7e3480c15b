"""The mini-batch training loop: shuffled sliding windows, MSE, clipped gradients, Adam; deterministic.

The same seed, data and configuration give the same losses: the shuffle uses its own
``np.random.default_rng(seed)`` and the model its own seeded initialisation.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from lstm_energy.errors import ConfigError, ShapeError
from lstm_energy.forecast.model import Forecaster, mse_loss
from lstm_energy.forecast.optim import Adam, clip_grad_norm


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 3e-3
    clip_norm: float = 1.0  # global L2 norm; math.inf disables clipping
    seed: int = 0

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError(f"epochs and batch_size must be >= 1; got {self.epochs} and {self.batch_size}")


@dataclass
class TrainHistory:
    """What one training run did. epoch_losses: mean training MSE (scaled units) per epoch."""

    epoch_losses: list[float] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)  # one entry per optimizer step
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.batch_sizes)

    @property
    def sequences(self) -> int:
        """Windows passed forward and backward in total."""
        return int(sum(self.batch_sizes))


def planned_batch_sizes(windows: int, config: TrainConfig) -> list[int]:
    """The size of every optimizer step ``train`` will take: full batches, then the remainder, each epoch."""
    per_epoch = [min(config.batch_size, windows - begin) for begin in range(0, windows, config.batch_size)]
    return per_epoch * config.epochs


def train(model: Forecaster, inputs: np.ndarray, targets: np.ndarray, config: TrainConfig) -> TrainHistory:
    """Fit ``model`` in place. inputs: (W, T) scaled windows; targets: (W,) scaled next values."""
    if inputs.ndim != 2 or targets.shape != (inputs.shape[0],):
        raise ShapeError(f"inputs must be (W, T) and targets (W,); got {inputs.shape} and {targets.shape}")
    rng = np.random.default_rng(config.seed)
    optimizer = Adam(lr=config.learning_rate)
    params = model.parameters()
    history = TrainHistory()
    start = time.perf_counter()
    n = inputs.shape[0]
    for _ in range(config.epochs):
        order = rng.permutation(n)
        total = 0.0
        for begin in range(0, n, config.batch_size):
            batch = order[begin : begin + config.batch_size]
            predictions = model.forward(inputs[batch])
            loss, d_predictions = mse_loss(predictions, targets[batch])
            grads = model.backward(d_predictions)
            if math.isfinite(config.clip_norm):
                clip_grad_norm(grads, config.clip_norm)
            optimizer.step(params, grads)
            model.parameters_changed()
            total += loss * batch.size
            history.batch_sizes.append(int(batch.size))
        history.epoch_losses.append(total / n)
    history.seconds = time.perf_counter() - start
    return history
