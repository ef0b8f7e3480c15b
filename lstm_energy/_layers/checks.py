"""Checks of the arrays given to the layers: type, dtype, shape and memory layout.

Sizes and the layer's dtype option are checked by ``lstm_energy.config`` (``positive_int``,
``dtype_name``), the one home of argument checks. Every failure names what was expected, the value
seen and how to fix it.
"""

import numpy as np

from lstm_energy.config import DTYPES
from lstm_energy.errors import ArgumentTypeError, ShapeError

#: the kernels' dtypes (lstm_energy.config.DTYPES) as NumPy dtypes
SUPPORTED_DTYPES = tuple(np.dtype(name) for name in DTYPES)


def is_torch_tensor(value) -> bool:
    """A PyTorch tensor (duck-typed: torch is an optional peer, never imported here)."""
    return hasattr(value, "detach") and hasattr(value, "numpy")


def as_numpy(value, name: str) -> np.ndarray:
    """``value`` as an ndarray without copying when possible (torch tensors via ``.detach().cpu().numpy()``).

    A tensor in a dtype NumPy lacks (torch.bfloat16) is an ArgumentTypeError saying how to convert it;
    ``torch_as_numpy(..., widen=True)`` converts it instead, where a cast is wanted (loading parameters)."""
    if type(value) is np.ndarray:  # the common case, first: a B = 1 step call is a few microseconds long
        return value
    if is_torch_tensor(value):
        return torch_as_numpy(value, name, widen=False)
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(f"{name} must be an array, got {type(value).__name__}: {exc}") from exc


#: torch floating dtypes NumPy can hold as they are; any other (bfloat16, float8 ...) is not a NumPy dtype
_NUMPY_FLOAT_NAMES = ("float16", "float32", "float64")


def torch_as_numpy(tensor, name: str, *, widen: bool) -> np.ndarray:
    """A tensor's values as an ndarray on the CPU. A floating dtype NumPy lacks (bfloat16, float8) is
    converted to float32 when ``widen`` (exact: every bfloat16 is a float32), else refused with the fix."""
    tensor = tensor.detach().cpu()
    dtype_name = str(tensor.dtype).removeprefix("torch.")
    if tensor.is_floating_point() and dtype_name not in _NUMPY_FLOAT_NAMES:
        if not widen:
            raise ArgumentTypeError(
                f"{name} is a torch.{dtype_name} tensor, which NumPy (and these kernels) cannot hold; "
                f"convert it with {name}.float() (exact for bfloat16)"
            )
        tensor = tensor.float()
    return tensor.numpy()


def conversion_advice(given, dtype: np.dtype, name: str) -> str:
    """How to turn ``given`` (what the caller passed) into an array of ``dtype``: ``x.astype(...)`` for an
    ndarray, ``x.to(torch.float32)`` for a tensor, ``np.asarray(x, np.float32)`` for a list or anything else."""
    if isinstance(given, np.ndarray):
        return f"{name}.astype(np.{dtype.name})"
    if is_torch_tensor(given):
        return f"{name}.to(torch.{dtype.name})"
    return f"np.asarray({name}, np.{dtype.name})"


def require_dtype(array: np.ndarray, dtype: np.dtype, name: str, given=None) -> None:
    """ArgumentTypeError (a TypeError) unless ``array`` already has ``dtype`` (no silent casts). ``given``:
    what the caller passed, before ``as_numpy`` (default: ``array``), so the fix fits its type."""
    if array.dtype == dtype:
        return
    source = array if given is None else given
    fix = f"convert it with {conversion_advice(source, dtype, name)}"
    if array.dtype in SUPPORTED_DTYPES:
        fix += f" or build the layer with dtype=np.{array.dtype.name}"
    kind = "" if isinstance(source, np.ndarray) else f" (a {type(source).__name__})"
    raise ArgumentTypeError(f"{name}{kind} has dtype {array.dtype}, but this layer computes in {dtype.name}: {fix}")


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
