"""Argument checks shared by the layers: sizes, dtypes and arrays given by the user.

Every failure names what was expected, the value seen and how to fix it.
"""

from numbers import Integral

import numpy as np

from lstm_energy.config import DTYPES
from lstm_energy.errors import ShapeError

#: the kernels' dtypes (lstm_energy.config.DTYPES) as NumPy dtypes
SUPPORTED_DTYPES = tuple(np.dtype(name) for name in DTYPES)


def positive_int(name: str, value) -> int:
    """``value`` as an int if it is a positive integer (not a bool), else TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r} of type {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}; pass {name}=1 or more")
    return int(value)


def float_dtype(value) -> np.dtype:
    """The numpy dtype for ``value`` if it is float32 or float64, else TypeError."""
    try:
        dtype = np.dtype(value)
    except TypeError:
        dtype = None
    if value is None or dtype is None or dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"dtype must be np.float32 or np.float64, got {value!r}")
    return dtype


def as_numpy(value, name: str) -> np.ndarray:
    """``value`` as an ndarray without copying when possible (torch tensors via ``.detach().cpu().numpy()``)."""
    if type(value) is np.ndarray:  # the common case, first: a B = 1 step call is a few microseconds long
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array, got {type(value).__name__}: {exc}") from exc


def require_dtype(array: np.ndarray, dtype: np.dtype, name: str) -> None:
    """TypeError unless ``array`` already has ``dtype`` (no silent casts)."""
    if array.dtype == dtype:
        return
    fix = f"convert it with {name}.astype(np.{dtype.name})"
    if array.dtype in SUPPORTED_DTYPES:
        fix += f" or build the layer with dtype=np.{array.dtype.name}"
    raise TypeError(f"{name} has dtype {array.dtype}, but this layer computes in {dtype.name}: {fix}")


def require_shape(array: np.ndarray, expected: tuple, name: str, meaning: str) -> None:
    """ShapeError unless ``array.shape == expected``; ``meaning`` spells the axes, e.g. "(T, B, D)"."""
    if array.shape != tuple(expected):
        raise ShapeError(f"{name} must have shape {meaning} = {tuple(expected)}, got {array.shape}")


def kernel_ready(array: np.ndarray) -> np.ndarray:
    """``array`` itself if C-contiguous, aligned for its dtype and writeable (NumPy's ``carray`` flag),
    else one C-contiguous copy (kernels need all three)."""
    if array.flags.carray:
        return array
    return np.array(array, order="C", copy=True)
