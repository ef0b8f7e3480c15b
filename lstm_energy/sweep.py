"""Sweeps: expand a grid of configurations, measure each one, append each record as it is made.

A grid is the cross product cells x implementations x phases x batch x seq_len x input_size x
hidden_size x layers x bidirectional x threads. It comes from a preset ("quick", "full"), a TOML file
and command-line flags, later ones overriding earlier ones key by key::

    # GRID.toml
    [grid]
    cells = ["lstm", "gru", "rnn"]
    impls = ["cython", "numpy"]
    phases = ["forward", "train"]
    hidden_size = [64, 128]
    [protocol]                 # passed to lstm_energy.profile(...) when it accepts the name
    windows = 5
    min_window_seconds = 0.05

Every record is appended and flushed to the results file as soon as it is measured, so a killed sweep
loses only the point in progress; ``resume=True`` skips every point whose config is already in the file
(the key is the config dict, see ``lstm_energy.results.config_key``).
"""
from __future__ import annotations

import inspect
import itertools
import os
import sys
import time
from dataclasses import dataclass, field, fields, replace
from importlib.util import find_spec
from pathlib import Path
from typing import Callable, TextIO

from lstm_energy.errors import ConfigError

CELLS = ("lstm", "gru", "rnn")
IMPLS = ("cython", "numpy", "torch")
PHASES = ("forward", "backward", "train")


@dataclass(frozen=True)
class Grid:
    """What to sweep (each field a tuple of values) and how to measure each point (``protocol``)."""

    cells: tuple[str, ...] = ("lstm", "gru", "rnn")
    impls: tuple[str, ...] = ("cython", "numpy", "torch")
    phases: tuple[str, ...] = ("forward", "train")
    batch: tuple[int, ...] = (16,)
    seq_len: tuple[int, ...] = (32,)
    input_size: tuple[int, ...] = (64,)
    hidden_size: tuple[int, ...] = (64,)
    layers: tuple[int, ...] = (1,)
    bidirectional: tuple[bool, ...] = (False,)
    threads: tuple[int, ...] = (1,)
    dtype: tuple[str, ...] = ("float32",)
    #: keyword arguments for profile(...) that tune the protocol (windows, min_window_seconds, ...)
    protocol: dict = field(default_factory=dict)


#: Presets. "quick" must finish in under 2 minutes on a 2-core machine including the idle baselines
#: (the protocol follows every window with an idle window as long): 3 cells x 2 phases x 2 hidden
#: sizes x (cython, numpy[, torch]) = 24-36 small points of 3 windows of 50 ms; measured 68 s with
#: torch on a loaded 2-core VM. "full" is the hour-long grid; layers, directions and sequence length
#: are swept with flags or a TOML file.
PRESETS: dict[str, Grid] = {
    "quick": Grid(
        cells=("lstm", "gru", "rnn"),
        impls=("cython", "numpy", "torch"),
        phases=("forward", "train"),
        batch=(8,),
        seq_len=(16,),
        input_size=(32,),
        hidden_size=(32, 128),
        protocol={"windows": 3, "min_window_seconds": 0.05},
    ),
    "full": Grid(  # 3 cells x 3 impls x 3 phases x 3 batches x 5 hidden sizes x 2 thread counts = 810 points (~1 h)
        cells=("lstm", "gru", "rnn"),
        impls=("cython", "numpy", "torch"),
        phases=("forward", "backward", "train"),
        batch=(1, 32, 128),
        seq_len=(100,),
        input_size=(256,),
        hidden_size=(64, 128, 256, 512, 1024),
        threads=(1, 2),
        protocol={"windows": 7, "min_window_seconds": 0.25},
    ),
}

_INT_AXES = ("batch", "seq_len", "input_size", "hidden_size", "layers", "threads")
_CHOICE_AXES = {"cells": CELLS, "impls": IMPLS, "phases": PHASES, "dtype": ("float32", "float64")}
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
    """A copy of ``grid`` with the given axes replaced (values validated) and protocol keys merged."""
    unknown = set(axes) - set(GRID_AXES)
    if unknown:
        raise ConfigError(f"unknown grid axes {sorted(unknown)}; known axes: {list(GRID_AXES)}")
    changes = {axis: _as_tuple(axis, values) for axis, values in axes.items() if values is not None}
    merged = {**grid.protocol, **(protocol or {})}
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


def expand(grid: Grid, *, available: Callable[[str], bool] | None = None) -> tuple[list[dict], list[str]]:
    """Every point of ``grid`` as a config dict, and notes on what was skipped and why.

    available(impl) -> bool says whether an implementation can run here (default: torch when
    importable, cython when the kernels are compiled, numpy always).
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
    configs = []
    for cell, impl, phase, batch, seq_len, input_size, hidden_size, layers, bidi, threads, dtype in itertools.product(
        grid.cells, impls, grid.phases, grid.batch, grid.seq_len, grid.input_size, grid.hidden_size,
        grid.layers, grid.bidirectional, grid.threads, grid.dtype,
    ):
        configs.append({
            "cell": cell, "nonlinearity": "tanh" if cell == "rnn" else None, "impl": impl, "phase": phase,
            "batch": batch, "seq_len": seq_len, "input_size": input_size, "hidden_size": hidden_size,
            "num_layers": layers, "bidirectional": bidi, "dtype": dtype, "threads": threads,
        })
    return configs, notes


# ------------------------------------------------------------------------------------------ progress


class Progress:
    """A progress bar with ETA on ``stream`` (stderr): redrawn in place on a TTY, one plain line per
    point otherwise (logs, CI). ETA = mean seconds per measured point x points left."""

    def __init__(self, total: int, *, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.done = 0
        self.measured = 0
        self.started = clock()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def eta_seconds(self) -> float | None:
        if self.measured == 0:
            return None
        per_point = (self.clock() - self.started) / self.measured
        return per_point * (self.total - self.done)

    def update(self, label: str, *, skipped: bool = False) -> None:
        self.done += 1
        if not skipped:
            self.measured += 1
        eta = self.eta_seconds()
        elapsed = self.clock() - self.started
        eta_text = "ETA --:--" if eta is None else f"ETA {_clock_text(eta)}"
        percent = 100.0 * self.done / self.total if self.total else 100.0
        status = "resumed" if skipped else "done"
        if self.tty:
            width = 24
            filled = int(round(width * self.done / self.total)) if self.total else width
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {percent:3.0f}% {_clock_text(elapsed)} {eta_text}  {label[:60]:<60}")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{self.done}/{self.total}] {percent:3.0f}% elapsed {_clock_text(elapsed)} {eta_text} {status}: {label}\n")
        self.stream.flush()


def _clock_text(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:d}:{rest % 60:02d}"


def describe_config(config: dict) -> str:
    """One-line label: ``lstm train cython B=8 T=16 D=32 H=64 L=1 uni t=1``."""
    return (
        f"{config['cell']} {config['phase']} {config['impl']} B={config['batch']} T={config['seq_len']} "
        f"D={config['input_size']} H={config['hidden_size']} L={config['num_layers']} "
        f"{'bi' if config['bidirectional'] else 'uni'} t={config['threads']}"
    )


# ------------------------------------------------------------------------------------------- running


@dataclass
class SweepSummary:
    """What a sweep did: points measured, resumed (already in the file), failed (with why).

    ``measured`` counts the new records whatever made their joules; ``energy`` says who did:
    (provenance, meter name) -> records, e.g. {("estimated", "model"): 12}.
    """

    measured: int = 0
    resumed: int = 0
    failed: list[tuple[dict, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    energy: dict[tuple[str, str], int] = field(default_factory=dict)

    def count_record(self, record: dict) -> None:
        """Count one appended record under its provenance and meter."""
        energy = record.get("energy") or {}
        meter = energy.get("meter") or {}
        key = (str(energy.get("provenance") or "unknown provenance"), str(meter.get("name") or "unnamed meter"))
        self.energy[key] = self.energy.get(key, 0) + 1
        self.measured += 1

    def energy_text(self) -> str:
        """``12 estimated (meter model)``, or ``10 measured (meter powercap), 2 estimated (meter model)``;
        ``0 new records`` when nothing was added."""
        if not self.energy:
            return "0 new records"
        order = {"measured": 0, "estimated": 1, "simulated": 2}
        keys = sorted(self.energy, key=lambda k: (order.get(k[0], 9), k))
        return ", ".join(f"{self.energy[k]} {k[0]} (meter {k[1]})" for k in keys)

    def last_line(self, output) -> str:
        """The sweep's closing line: new records by provenance and meter, resumed, failed, and the file."""
        return (f"sweep: {self.energy_text()}, {self.resumed} already in the file, {len(self.failed)} failed "
                f"-> {output}")


def done_keys(path: str | os.PathLike) -> set[str]:
    """Resume keys of the valid profile records already in ``path`` (corrupt lines don't count)."""
    from lstm_energy.results import config_key, load_records

    if not Path(path).exists():
        return set()
    loaded = load_records(path)
    return {config_key(r["config"]) for r in loaded.records if r.get("kind") == "profile" and isinstance(r.get("config"), dict)}


def check_meter_name(name: str) -> None:
    """ConfigError unless ``name`` is a meter name (``lstm_energy.meters.registry.NAMES``, the one list)."""
    from lstm_energy.meters.registry import NAMES

    if name not in NAMES:
        raise ConfigError(f"unknown energy meter {name!r}; choose one of {', '.join(NAMES)} "
                          "(`lstm-energy meters` says which work here)")


def _accepted(fn: Callable, kwargs: dict) -> tuple[dict, list[str]]:
    """The subset of ``kwargs`` that ``fn`` accepts, and the names it does not."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return dict(kwargs), []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(kwargs), []
    return {k: v for k, v in kwargs.items() if k in params}, [k for k in kwargs if k not in params]


def run_sweep(
    configs: list[dict],
    output: str | os.PathLike,
    *,
    meter="model",
    protocol: dict | None = None,
    resume: bool = False,
    profile_fn: Callable | None = None,
    progress: Progress | None = None,
    log: TextIO | None = None,
) -> SweepSummary:
    """Measure each config with ``profile_fn`` (default ``lstm_energy.profile``) and append its record.

    meter: a name (opened once and shared by every point) or a meter object. A point that raises a
    LstmEnergyError is reported and the sweep goes on; anything else stops it (a bug, not a result).
    With ``resume`` the points already in ``output`` are skipped. Returns a SweepSummary.
    """
    from lstm_energy.errors import LstmEnergyError
    from lstm_energy.results import ResultsWriter, config_key

    if isinstance(meter, str):
        check_meter_name(meter)
    log = log if log is not None else sys.stderr
    if profile_fn is None:
        from lstm_energy.measure import profile as profile_fn
    summary = SweepSummary()
    existing = set()
    if resume:
        existing = done_keys(output)
    elif Path(output).exists() and Path(output).stat().st_size > 0:
        raise ConfigError(
            f"results file {str(output)!r} already has records; pass --resume to add only the missing points, "
            "--overwrite to start afresh, or choose another -o path"
        )
    protocol_kwargs, ignored = _accepted(profile_fn, dict(protocol or {}))
    if ignored:
        summary.notes.append(f"protocol settings {ignored} are not accepted by profile(); measured with its defaults")
    from lstm_energy.meters import opened_meter

    progress = progress or Progress(len(configs), stream=log)
    with opened_meter(meter) as meter_obj:
        with ResultsWriter(output) as writer:
            for config in configs:
                label = describe_config(config)
                if config_key(config) in existing:
                    summary.resumed += 1
                    progress.update(label, skipped=True)
                    continue
                kwargs = {k: v for k, v in config.items() if k not in ("num_layers", "nonlinearity", "dtype")}
                kwargs.update(num_layers=config["num_layers"], dtype=config["dtype"])
                if config["cell"] == "rnn":
                    kwargs["nonlinearity"] = config["nonlinearity"]
                kwargs, _ = _accepted(profile_fn, kwargs)
                try:
                    result = profile_fn(**kwargs, meter=meter_obj, **protocol_kwargs)
                except LstmEnergyError as err:
                    summary.failed.append((config, str(err)))
                    log.write(f"FAILED {label}: {err}\n")
                    progress.update(label + " (failed)")
                    continue
                record = result.to_record() if hasattr(result, "to_record") else dict(result)
                record["config"] = {**config, **(record.get("config") or {})}
                writer.append(record)
                summary.count_record(record)
                progress.update(label)
    return summary
