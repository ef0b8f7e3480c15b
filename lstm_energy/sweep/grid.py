"""The sweep grid: presets, a TOML file and command-line flags -> a Grid -> a list of Config.

A grid is the cross product cells x implementations x phases x batch x seq_len x input_size x
hidden_size x layers x bidirectional x threads. It comes from a preset ("quick", "full"), a TOML file
and command-line flags, later ones overriding earlier ones key by key::

    # GRID.toml
    [grid]
    cells = ["lstm", "gru", "rnn"]
    impls = ["cython", "numpy"]
    phases = ["forward", "train"]
    hidden_size = [64, 128]
    [protocol]                 # protocol keywords of lstm_energy.profile(...) (PROTOCOL_KEYS)
    windows = 5
    min_window_seconds = 0.05

The axis values are checked here, against the vocabulary of ``lstm_energy.config`` (an error names
the axis), and so are the protocol settings (``check_protocol``: known names, values in range), so
``--dry-run`` refuses what the run would; ``expand`` turns the cross product into ``Config``
objects, one per point, and refuses a grid that leaves none, saying why.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from importlib.util import find_spec
from typing import Any

from lstm_energy.config import CELLS, DTYPES, IMPLS, PHASES, PRECISIONS, Config
from lstm_energy.errors import ConfigError


@dataclass(frozen=True)
class Grid:
    """What to sweep (each field a tuple of values) and how to measure each point (``protocol``)."""

    cells: tuple[str, ...] = CELLS
    impls: tuple[str, ...] = IMPLS
    phases: tuple[str, ...] = ("forward", "train")
    batch: tuple[int, ...] = (16,)
    seq_len: tuple[int, ...] = (32,)
    input_size: tuple[int, ...] = (64,)
    hidden_size: tuple[int, ...] = (64,)
    layers: tuple[int, ...] = (1,)
    bidirectional: tuple[bool, ...] = (False,)
    threads: tuple[int, ...] = (1,)
    dtype: tuple[str, ...] = ("float32",)
    #: arithmetic of forward points (issue 18): fp32, bf16, int8; reduced ones apply to phase "forward" only
    precisions: tuple[str, ...] = ("fp32",)
    #: keyword arguments for profile(...) that tune the protocol (windows, min_window_seconds, ...)
    protocol: dict = field(default_factory=dict)


#: Presets. "quick" must finish in under 2 minutes on a 2-core machine including the idle baselines
#: (the protocol follows every window with an idle window as long), so it is kept to 3 cells x 2 phases
#: x 2 hidden sizes x (cython, numpy[, torch]) = 24-36 small points of 3 windows of 50 ms (measured
#: times: docs/performance.md, "How long the presets take"). "full" is the hour-long grid; layers,
#: directions and sequence length are swept with flags or a TOML file.
PRESETS: dict[str, Grid] = {
    "quick": Grid(
        cells=CELLS,
        impls=IMPLS,
        phases=("forward", "train"),
        batch=(8,),
        seq_len=(16,),
        input_size=(32,),
        hidden_size=(32, 128),
        protocol={"windows": 3, "min_window_seconds": 0.05},
    ),
    "full": Grid(  # 3 cells x 3 impls x 3 phases x 3 batches x 5 hidden sizes x 2 thread counts = 810 points (~1 h)
        cells=CELLS,
        impls=IMPLS,
        phases=PHASES,
        batch=(1, 32, 128),
        seq_len=(100,),
        input_size=(256,),
        hidden_size=(64, 128, 256, 512, 1024),
        threads=(1, 2),
        protocol={"windows": 7, "min_window_seconds": 0.25},
    ),
}

_INT_AXES = ("batch", "seq_len", "input_size", "hidden_size", "layers", "threads")
_CHOICE_AXES = {"cells": CELLS, "impls": IMPLS, "phases": PHASES, "dtype": DTYPES, "precisions": PRECISIONS}
GRID_AXES = tuple(f.name for f in fields(Grid) if f.name != "protocol")


# --------------------------------------------------------------------------------- building a grid


def _as_tuple(axis: str, values) -> tuple:
    """Validate one axis's values (a list, or a comma-separated string from the command line)."""
    if isinstance(values, str):
        values = [v.strip() for v in values.split(",") if v.strip()]
    elif not isinstance(values, (list, tuple)):
        values = [values]
    if not values:
        raise ConfigError(f"grid axis {axis!r} is empty; give at least one value, e.g. --{axis.replace('_', '-')} ...")
    out = []
    for value in values:
        if axis in _CHOICE_AXES:
            if value not in _CHOICE_AXES[axis]:
                raise ConfigError(f"grid axis {axis!r}: {value!r} is not one of {list(_CHOICE_AXES[axis])}")
            out.append(value)
        elif axis == "bidirectional":
            out.append(_as_bool(value))
        elif axis in _INT_AXES:
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise ConfigError(f"grid axis {axis!r} needs integers >= 1, got {value!r}") from None
            if number < 1 or isinstance(value, bool) or (isinstance(value, float) and value != number):
                raise ConfigError(f"grid axis {axis!r} needs integers >= 1, got {value!r}")
            out.append(number)
        else:
            raise ConfigError(f"unknown grid axis {axis!r}; known axes: {list(GRID_AXES)}")
    return tuple(dict.fromkeys(out))  # drop repeats, keep order


def _as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "bi"):
        return True
    if text in ("false", "0", "no", "uni"):
        return False
    raise ConfigError(f"grid axis 'bidirectional' takes true/false, got {value!r}")


# ------------------------------------------------------------------------------- protocol settings


def _whole_number(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"[protocol] {name} must be a whole number >= {minimum}, got {value!r}")
    return value


def _positive_seconds(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"[protocol] {name} must be a number of seconds > 0, got {value!r}")
    return float(value)


#: how each protocol setting is checked (the measurement protocol's own ranges,
#: lstm_energy.measure.protocol): windows >= 1, min_window_seconds > 0, warmup_calls >= 0, any seed
_PROTOCOL_CHECKS: dict[str, Callable] = {
    "windows": lambda value: _whole_number("windows", value, 1),
    "min_window_seconds": lambda value: _positive_seconds("min_window_seconds", value),
    "warmup_calls": lambda value: _whole_number("warmup_calls", value, 0),
    "seed": lambda value: _whole_number("seed", value, 0),
}


def check_protocol(protocol: Mapping) -> dict:
    """The ``[protocol]`` settings, checked: every name one of profile()'s protocol keywords
    (``lstm_energy.measure.profile.PROTOCOL_KEYS``) and every value in range; ConfigError naming the
    setting, the value seen and the allowed names otherwise (never a silent default)."""
    from lstm_energy.measure.profile import PROTOCOL_KEYS

    if not isinstance(protocol, Mapping):
        raise ConfigError(f"[protocol] must be a table of settings, got {protocol!r}; e.g. windows = 5")
    unknown = [name for name in protocol if name not in PROTOCOL_KEYS]
    if unknown:
        hint = "; choose the meter with --meter" if "meter" in unknown else ""
        raise ConfigError(f"unknown [protocol] setting(s) {unknown}; the settings are {list(PROTOCOL_KEYS)}{hint}")
    return {name: _PROTOCOL_CHECKS.get(name, lambda value: value)(value) for name, value in protocol.items()}


def load_grid_toml(path: str | os.PathLike, base: Grid | None = None) -> Grid:
    """Read ``[grid]`` and ``[protocol]`` tables from a TOML file over ``base`` (default: an empty override)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib

    try:
        with open(path, "rb") as f:
            document = tomllib.load(f)
    except OSError as err:
        raise ConfigError(f"cannot read grid file {str(path)!r}: {err.strerror}; check the --config path") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"grid file {str(path)!r} is not valid TOML: {err}") from None
    unknown = set(document) - {"grid", "protocol", "preset"}
    if unknown:
        raise ConfigError(f"grid file {str(path)!r} has unknown tables {sorted(unknown)}; use [grid] and [protocol]")
    grid = base or PRESETS["quick"]
    if "preset" in document:
        grid = preset(document["preset"])
    return override(grid, document.get("grid", {}), document.get("protocol", {}))


def preset(name: str) -> Grid:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None


def override(grid: Grid, axes: dict, protocol: dict | None = None) -> Grid:
    """A copy of ``grid`` with the given axes replaced and protocol settings merged (both validated)."""
    unknown = set(axes) - set(GRID_AXES)
    if unknown:
        raise ConfigError(f"unknown grid axes {sorted(unknown)}; known axes: {list(GRID_AXES)}")
    changes = {axis: _as_tuple(axis, values) for axis, values in axes.items() if values is not None}
    merged = {**grid.protocol, **check_protocol(protocol or {})}
    return replace(grid, **changes, protocol=merged)


def torch_available() -> bool:
    return find_spec("torch") is not None


def cython_available() -> bool:
    """Whether the compiled kernels are importable (``python setup.py build_ext --inplace`` builds them)."""
    try:
        import lstm_energy.kernels as kernels
    except ImportError:
        return False
    return hasattr(kernels, "lstm_forward")


def expand(grid: Grid, *, available: Callable[[str], bool] | None = None) -> tuple[list[Config], list[str]]:
    """Every point of ``grid`` as a Config (cells x impls x phases x batch x seq_len x input_size x
    hidden_size x layers x bidirectional x threads x dtype x precisions, in that nesting order), and notes on what
    was skipped and why.

    available(impl) -> bool says whether an implementation can run here (default: torch when
    importable, cython when the kernels are compiled, numpy always). A grid that leaves no point is
    a ConfigError saying why (every implementation unavailable, or every combination one that is
    never measured, e.g. int8 with phase "train": training runs in fp32 only).
    """
    if available is None:

        def available(impl: str) -> bool:
            return {"torch": torch_available, "cython": cython_available}.get(impl, lambda: True)()

    notes = []
    impls = []
    for impl in grid.impls:
        if available(impl):
            impls.append(impl)
        else:
            how = {"torch": "pip install -e '.[torch]'", "cython": "python setup.py build_ext --inplace"}.get(impl, "")
            notes.append(f"skipped impl {impl!r}: not available here" + (f" (install/build it: {how})" if how else ""))
    if not impls:
        raise ConfigError("the grid is empty: every implementation was skipped (" + "; ".join(notes) + ")")
    configs, left_out = _configs(grid, impls)
    if not configs:
        raise ConfigError(
            "the grid is empty: every combination is one that is never measured: " + "; ".join(sorted(left_out))
        )
    if PRECISION_PHASE_RULE in left_out:
        notes.append("reduced precisions (bf16, int8) are measured for phase 'forward' only (training runs in fp32)")
    if TORCH_RNN_INT8_RULE in left_out:
        notes.append("skipped torch rnn int8: torch's quantize_dynamic has no nn.RNN (LSTM/GRU only)")
    return configs, notes


#: why a combination of the axes is left out of the grid (each also the fix)
PRECISION_PHASE_RULE = (
    "training runs in fp32 only; int8/bf16 are inference precisions (phase 'forward', dtype float32): "
    "add phase 'forward' or precision 'fp32'"
)
TORCH_RNN_INT8_RULE = (
    "torch's quantize_dynamic has no nn.RNN, so torch rnn has no int8 (LSTM/GRU only): "
    "add another impl, cell or precision"
)


def _left_out_because(cell: str, impl: str, phase: str, dtype: str, precision: str) -> str | None:
    """Why this combination is never measured (a rule above), or None when it is a point of the grid."""
    if precision != "fp32" and (phase != "forward" or dtype != "float32"):
        return PRECISION_PHASE_RULE
    if precision == "int8" and impl == "torch" and cell == "rnn":
        return TORCH_RNN_INT8_RULE
    return None


def _configs(grid: Grid, impls: list[str]) -> tuple[list[Config], set[str]]:
    """Every combination of the axes, precision last, and the rules that left combinations out."""
    configs: list[Config] = []
    left_out: set[str] = set()
    axes: tuple[tuple[Any, ...], ...] = (
        grid.cells,
        tuple(impls),
        grid.phases,
        grid.batch,
        grid.seq_len,
        grid.input_size,
        grid.hidden_size,
        grid.layers,
        grid.bidirectional,
        grid.threads,
        grid.dtype,
    )
    for cell, impl, phase, batch, seq_len, input_size, hidden_size, layers, bidi, threads, dtype in itertools.product(
        *axes
    ):
        for precision in grid.precisions:
            rule = _left_out_because(cell, impl, phase, dtype, precision)
            if rule:
                left_out.add(rule)
                continue
            configs.append(
                Config(
                    cell=cell,
                    impl=impl,
                    phase=phase,
                    batch=batch,
                    seq_len=seq_len,
                    input_size=input_size,
                    hidden_size=hidden_size,
                    num_layers=layers,
                    bidirectional=bidi,
                    threads=threads,
                    dtype=dtype,
                    precision=precision,
                )
            )
    return configs, left_out
