"""Adam and gradient-norm clipping over named parameter arrays, updated in place.

Same rules as ``torch.optim.Adam`` (Kingma & Ba 2015, Algorithm 1, bias-corrected moments) and
``torch.nn.utils.clip_grad_norm_`` (one global L2 norm over every gradient).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping

import numpy as np

from lstm_energy.errors import ConfigError, ShapeError


def clip_grad_norm(grads: MutableMapping[str, np.ndarray], max_norm: float) -> float:
    """Scale every gradient in place so the global L2 norm is at most ``max_norm``; return the norm before."""
    if not max_norm > 0:
        raise ConfigError(f"max_norm must be > 0; got {max_norm!r}. Pass math.inf to disable clipping")
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))  # sqrt(sum(g.ravel() @ g.ravel()))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for g in grads.values():
            g *= scale
    return total


class Adam:
    """Adam with bias correction.

    step(params, grads): params and grads map the same names to arrays of the same shapes.
    """

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        if not lr > 0:
            raise ConfigError(f"learning rate must be > 0; got {lr!r}")
        if not all(0 <= b < 1 for b in betas):
            raise ConfigError(f"betas must each be in [0, 1); got {betas!r}")
        self.lr = float(lr)
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps = float(eps)
        self.steps = 0
        self._m: dict[str, np.ndarray] = {}
        self._v: dict[str, np.ndarray] = {}

    def step(self, params: MutableMapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        if set(params) != set(grads):
            raise ShapeError(
                f"params and grads name different arrays: only in params {sorted(set(params) - set(grads))}, "
                f"only in grads {sorted(set(grads) - set(params))}"
            )
        self.steps += 1
        correction1 = 1.0 - self.beta1**self.steps
        correction2 = 1.0 - self.beta2**self.steps
        step_size = self.lr / correction1
        for name, p in params.items():
            g = grads[name]
            if g.shape != p.shape:
                raise ShapeError(f"gradient {name!r} has shape {g.shape}, parameter has {p.shape}")
            m = self._m.setdefault(name, np.zeros_like(p))
            v = self._v.setdefault(name, np.zeros_like(p))
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * (g * g)
            denom = np.sqrt(v / correction2) + self.eps
            p -= (step_size * m / denom).astype(p.dtype, copy=False)
