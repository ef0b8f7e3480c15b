"""Sweeps: a grid of configurations, measured point by point into an append-only results file.

Modules: grid (presets, TOML file, flags -> Grid -> ``expand`` -> list of Config), progress (the
bar with ETA), points (what every runner shares: summary, resume keys, one point -> one record),
local (``run_sweep``, the in-process runner). A runner that measures on other hosts stands beside
``local`` and takes the same list of Config.
"""

from lstm_energy.sweep.grid import (
    GRID_AXES,
    PRESETS,
    Grid,
    cython_available,
    expand,
    load_grid_toml,
    override,
    preset,
    torch_available,
)
from lstm_energy.sweep.local import run_sweep
from lstm_energy.sweep.points import SweepSummary, check_meter_name, done_keys, point_measurer
from lstm_energy.sweep.progress import Progress, describe_config

__all__ = [
    "GRID_AXES",
    "PRESETS",
    "Grid",
    "cython_available",
    "expand",
    "load_grid_toml",
    "override",
    "preset",
    "torch_available",
    "run_sweep",
    "SweepSummary",
    "check_meter_name",
    "done_keys",
    "point_measurer",
    "Progress",
    "describe_config",
]
