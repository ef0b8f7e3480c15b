"""The ``lstm-energy`` command: one subcommand per module in this package.

Each subcommand module defines ``NAME`` (str), ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Modules are listed in ``SUBCOMMANDS``; building the parser imports them all,
so a subcommand module keeps its heavy imports (pandas, torch, the kernels) inside ``run``.
Exit codes: 0 success, 1 the job failed, 2 bad usage.
"""

import argparse
import sys
import warnings
from importlib import import_module

from lstm_energy.errors import LstmEnergyError

# subcommand name -> module (relative to this package) implementing it
SUBCOMMANDS = {
    "meters": "meters_cmd",
    "machine": "machine_cmd",
    "profile": "profile_cmd",
    "sweep": "sweep_cmd",
    "report": "report_cmd",
    "compare": "compare_cmd",
    "calibrate": "calibrate_cmd",
    "forecast": "forecast_cmd",
}

HELP = {
    "meters": "every energy backend: does it work here, why not, how to fix",
    "machine": "CPU, caches, measured peak GFLOP/s and memory bandwidth",
    "profile": "measure joules per sequence of one configuration",
    "sweep": "measure a grid of configurations into a JSON Lines results file",
    "report": "write a self-contained HTML report from results files",
    "compare": "energy/time regressions between two results files, by configuration; exit 1 on one",
    "calibrate": "fit the energy estimator to measured runs (needs real counters)",
    "forecast": "train forecasters on real data and report accuracy per joule",
}


def _available():
    """Subcommands whose module exists in this installation."""
    from importlib.util import find_spec

    return {name: mod for name, mod in SUBCOMMANDS.items() if find_spec(f"{__name__}.{mod}") is not None}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="lstm-energy",
        description="What does a recurrent network cost in joules, and why?",
    )
    from lstm_energy import __version__

    parser.add_argument("--version", action="version", version=f"lstm-energy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod in _available().items():
        module = import_module(f"{__name__}.{mod}")
        p = sub.add_parser(name, help=HELP.get(name, module.HELP), description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def warning_text(message, category) -> str:
    """A warning as the command prints it: ``WARNING (Category): text`` with the whole text, and no
    source file, line number or code line (those help a developer, not a user of the command)."""
    return f"WARNING ({category.__name__}): {message}"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` while a subcommand runs: ``warning_text`` on stderr."""
    print(warning_text(message, category), file=file if file is not None else sys.stderr)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    # the hook lives only as long as this command: the library, imported elsewhere, keeps Python's own
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return int(args._run(args) or 0)
        except LstmEnergyError as err:
            print(f"ERROR: {err}", file=sys.stderr)
            return 1
        except BrokenPipeError:
            return 0
