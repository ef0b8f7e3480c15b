"""``lstm-energy sweep``: measure a grid of configurations into a JSON Lines results file."""

from __future__ import annotations

import sys

from lstm_energy.cli import fleet_args
from lstm_energy.cli.arg_types import add_meter_argument
from lstm_energy.config import CELLS, IMPLS, PHASES

NAME = "sweep"
HELP = "measure a grid of configurations into a JSON Lines results file"

# flag -> Grid axis; each takes a comma-separated list
AXIS_FLAGS = {
    "--cells": ("cells", f"cells: {','.join(CELLS)}"),
    "--impls": ("impls", f"implementations: {','.join(IMPLS)} (torch only when installed)"),
    "--phases": ("phases", f"phases: {','.join(PHASES)}"),
    "--batch": ("batch", "batch sizes B, e.g. 8,32"),
    "--seq-len": ("seq_len", "sequence lengths T"),
    "--input-size": ("input_size", "input sizes D"),
    "--hidden-size": ("hidden_size", "hidden sizes H"),
    "--layers": ("layers", "numbers of layers L"),
    "--bidirectional": ("bidirectional", "directions: false,true"),
    "--threads": ("threads", "thread counts"),
    "--precisions": ("precisions", "forward arithmetic: fp32,bf16,int8 (reduced ones: forward points only)"),
}


def add_arguments(parser) -> None:
    from lstm_energy.sweep.grid import PRESETS

    parser.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default=None,
        help="starting grid: quick (under 2 minutes) or full (hours); default quick",
    )
    parser.add_argument(
        "--config", metavar="GRID.toml", help="TOML file with [grid] axes and [protocol] settings (over the preset)"
    )
    for flag, (_, text) in AXIS_FLAGS.items():
        parser.add_argument(flag, metavar="LIST", help=f"{text} (overrides preset and --config)")
    add_meter_argument(parser)
    parser.add_argument(
        "-o",
        "--output",
        default="reports/sweep.jsonl",
        metavar="RESULTS.jsonl",
        help="results file; each record is appended and flushed as it is measured",
    )
    again = parser.add_mutually_exclusive_group()
    again.add_argument(
        "--resume", action="store_true", help="keep the records in --output and measure only the missing points"
    )
    again.add_argument(
        "--overwrite", action="store_true", help="discard the records already in --output and start afresh"
    )
    parser.add_argument("--dry-run", action="store_true", help="list the grid's points and exit")
    fleet_args.add_arguments(parser)


def run(args) -> int:
    from lstm_energy.errors import ConfigError, ResultsSchemaError

    # a cluster-only flag in process, a bad axis, protocol setting or thread count, or a grid left empty
    try:
        fleet_args.check_usage(args)
        grid, configs, notes = _grid_points(args)
    except ConfigError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"NOTE: {note}", file=sys.stderr)
    if args.dry_run:
        for config in configs:
            print(config.label())
        return 0
    try:
        summary = _measure(args, grid, configs)
    except (ConfigError, ResultsSchemaError) as err:  # unwritable -o, a --resume of a foreign file or meter
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    for note in summary.notes:
        print(f"NOTE: {note}", file=sys.stderr)
    print(summary.last_line(args.output), file=sys.stderr)
    return 1 if summary.failed else 0


def _grid_points(args):
    """(grid, its points, notes): preset, then --config, then the axis flags; every check that needs no
    measurement (so --dry-run refuses what the run would)."""
    from lstm_energy.config import check_threads_available
    from lstm_energy.sweep import expand, load_grid_toml, override, preset

    grid = preset(args.preset or "quick")
    if args.config:
        grid = load_grid_toml(args.config, base=grid)
    grid = override(grid, {axis: getattr(args, flag[2:].replace("-", "_")) for flag, (axis, _) in AXIS_FLAGS.items()})
    if not args.scheduler:  # measured on this host (in process or a LocalCluster): its CPUs bound --threads
        for threads in grid.threads:
            check_threads_available(threads)
    configs, notes = expand(grid)
    return grid, configs, notes


def _measure(args, grid, configs):
    """Run the grid in process or on the cluster; the SweepSummary."""
    from lstm_energy.results import check_writable
    from lstm_energy.sweep import run_sweep

    check_writable(args.output, "-o")
    print(
        f"sweep: {len(configs)} point(s) -> {args.output} (meter {args.meter}; protocol {grid.protocol})",
        file=sys.stderr,
    )
    fleet_args.apply_lock_settings(args)
    if fleet_args.wants_cluster(args):
        return fleet_args.run(args, configs, grid.protocol)
    return run_sweep(
        configs,
        args.output,
        meter=args.meter,
        protocol=grid.protocol,
        resume=args.resume,
        require_measured=args.require_measured,
        overwrite=args.overwrite,  # the old file is discarded once the meter has proved usable
    )
