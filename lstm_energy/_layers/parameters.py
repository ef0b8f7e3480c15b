"""Parameter names, shapes, PyTorch-style initialisation and checked loading of a state dict.

Names follow ``torch.nn.LSTM/GRU/RNN``: ``weight_ih_l{k}`` (G*H, D_k), ``weight_hh_l{k}`` (G*H, H),
``bias_ih_l{k}``, ``bias_hh_l{k}`` (G*H,), with ``_reverse`` appended for the backward direction;
D_0 = input_size, D_k = H * dirs for k ≥ 1.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lstm_energy._layers.checks import as_numpy, is_torch_tensor, torch_as_numpy
from lstm_energy.errors import ArgumentTypeError, ShapeError

KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def parameter_name(kind: str, layer: int, direction: int) -> str:
    """e.g. ("weight_ih", 1, 1) -> "weight_ih_l1_reverse"."""
    return f"{kind}_l{layer}" + ("_reverse" if direction == 1 else "")


def parameter_shapes(
    gates: int, input_size: int, hidden_size: int, num_layers: int, directions: int, bias: bool
) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` in PyTorch's order (layer, then direction, then w_ih, w_hh, b_ih, b_hh)."""
    GH = gates * hidden_size
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(num_layers):
        D = input_size if layer == 0 else hidden_size * directions
        for direction in range(directions):
            shapes[parameter_name("weight_ih", layer, direction)] = (GH, D)
            shapes[parameter_name("weight_hh", layer, direction)] = (GH, hidden_size)
            if bias:
                shapes[parameter_name("bias_ih", layer, direction)] = (GH,)
                shapes[parameter_name("bias_hh", layer, direction)] = (GH,)
    return shapes


def init_parameters(shapes: Mapping[str, tuple], hidden_size: int, dtype: np.dtype, seed) -> dict[str, np.ndarray]:
    """PyTorch's default init: every parameter ~ U(−1/√H, 1/√H), drawn from ``np.random.default_rng(seed)``
    in the order of ``shapes`` (the values differ from torch's; the distribution is the same)."""
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(hidden_size)
    return {name: rng.uniform(-bound, bound, size=shape).astype(dtype) for name, shape in shapes.items()}


def _parameter_array(value, name: str) -> np.ndarray:
    """A state dict entry as an ndarray. A torch tensor in a floating dtype NumPy lacks (a bfloat16 model's
    ``state_dict()``) is widened to float32 first (exact), then cast to the layer's dtype like any other."""
    if is_torch_tensor(value):
        return torch_as_numpy(value, name, widen=True)
    return as_numpy(value, name)


def checked_state_dict(given: Mapping, shapes: Mapping[str, tuple], dtype: np.dtype) -> dict[str, np.ndarray]:
    """Validate ``given`` against ``shapes`` (same keys, same shapes; real numbers) and return owned
    C-contiguous copies in ``dtype``. Nothing is returned unless every entry is valid."""
    if not isinstance(given, Mapping):
        raise ArgumentTypeError(f"state_dict must be a mapping of name -> array, got {type(given).__name__}")
    missing = [k for k in shapes if k not in given]
    unexpected = [k for k in given if k not in shapes]
    if any(str(k).startswith("weight_hr_l") for k in unexpected):
        raise ShapeError(
            f"state_dict has LSTM projection weights {[k for k in unexpected if str(k).startswith('weight_hr_l')]} "
            "(a torch module made with proj_size > 0): projections are not implemented here; load a module "
            "made with proj_size=0"
        )
    if missing or unexpected:
        raise ShapeError(
            f"state_dict keys do not match this layer: missing {missing}, unexpected {unexpected}; "
            f"expected exactly {list(shapes)}"
        )
    loaded = {}
    for name, shape in shapes.items():
        value = _parameter_array(given[name], f"state_dict[{name!r}]")
        if value.dtype.kind not in "fiub":
            raise ArgumentTypeError(f"state_dict[{name!r}] must hold real numbers, got dtype {value.dtype}")
        if value.shape != tuple(shape):
            raise ShapeError(f"state_dict[{name!r}] must have shape {tuple(shape)}, got {value.shape}")
        loaded[name] = np.array(value, dtype=dtype, order="C", copy=True)
    return loaded
