"""``lstm-energy calibrate``: fit the energy estimator to MEASURED runs and save the profile file.

Needs real counters: on a machine without a measured meter it exits 1 and says why; it never fits
the estimator to estimates. Degenerate measurements (all-zero or constant power, regressors without
spread or collinear, a fit needing a negative parameter or with R^2 < 0.5; rules in
:mod:`lstm_energy.measure.calibration`) also exit 1 with the reason, and no profile is written.
Load the profile elsewhere with ``$LSTM_ENERGY_MODEL_PROFILE=PATH``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import warnings
from collections.abc import Sequence

from lstm_energy.cli.arg_types import add_meter_argument, positive_int
from lstm_energy.config import IMPLS

NAME = "calibrate"
HELP = "fit the energy estimator to measured runs (needs real counters)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "-o", "--output", default=None, help="profile file to write (default model-profile-<hostname>.json)"
    )
    add_meter_argument(parser, "it must be a MEASURED one: estimators are refused")
    parser.add_argument(
        "--impl",
        choices=IMPLS,
        default="cython",
        help="implementation to run the calibration set with (default cython)",
    )
    parser.add_argument("--windows", type=positive_int, default=5, help="windows per configuration (default 5)")
    parser.add_argument("--json", action="store_true", help="print the saved profile as JSON")


def run(args, *, meter=None, configs: Sequence[dict] | None = None) -> int:
    """Calibrate and save the profile; 1 with the reason when no measured meter counts or the fit is refused.

    meter: an open meter to calibrate against instead of opening ``--meter`` (injected by tests and
    library callers; it is left open). configs: the calibration set (default
    ``lstm_energy.measure.calibration.default_calibration_set()``).
    """
    from lstm_energy import output_paths
    from lstm_energy.errors import CalibrationError, ConfigError, MeterError, MeterUnavailableError
    from lstm_energy.measure.calibration import calibrate
    from lstm_energy.meters import opened_meter
    from lstm_energy.meters.model import SAVE_FIX

    try:  # before minutes of measuring: a fit that cannot be saved is lost
        output_paths.check_writable_file(_output_path(args), "the model profile to", SAVE_FIX)
    except ConfigError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    requested = args.meter if meter is None else meter
    with contextlib.ExitStack() as opened:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                measuring = opened.enter_context(opened_meter(requested))
            except MeterUnavailableError as err:
                print(
                    f"ERROR: calibration needs real energy counters and meter {args.meter!r} is not usable here: {err}",
                    file=sys.stderr,
                )
                return 1
        if measuring.provenance != "measured":
            _refuse_unmeasured(measuring, caught)
            return 1
        try:
            profile = calibrate(
                measuring,
                configs,
                impl=args.impl,
                windows=args.windows,
                progress=lambda line: print(line, file=sys.stderr, flush=True),
            )
        except CalibrationError as err:
            print(f"ERROR: calibration refused, no profile written: {err}", file=sys.stderr)
            return 1
        except MeterError as err:  # the counter stalled, wrapped unseen or read implausibly mid-run
            print(f"ERROR: the meter failed while calibrating, no profile written: {err}", file=sys.stderr)
            return 1
    try:
        return _save_and_show(profile, args)
    except ConfigError as err:  # the path became unwritable while measuring
        print(f"ERROR: {err}", file=sys.stderr)
        return 2


def _output_path(args) -> str:
    return args.output or f"model-profile-{socket.gethostname()}.json"


def _refuse_unmeasured(meter, caught: list) -> None:
    """Say on stderr why an estimated or simulated meter cannot calibrate (with "auto": why nothing measured)."""
    why = "".join(f"\n{w.message}" for w in caught if not issubclass(w.category, ResourceWarning))
    print(
        f"ERROR: calibration needs real energy counters, but meter {meter.name!r} gives {meter.provenance} "
        "joules; fitting the estimator to them would prove nothing. Run `lstm-energy calibrate` on a machine "
        f"with RAPL (see `lstm-energy meters` for what is missing here) and copy the profile file over.{why}",
        file=sys.stderr,
    )


def _save_and_show(profile, args) -> int:
    """Write the profile file and print it (JSON with --json, else the parameters and the fit)."""
    path = profile.save(_output_path(args))
    if args.json:
        json.dump(profile.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    fit = profile.calibration["fit"]
    print(f"saved {path}: {profile.source}")
    for name, value in profile.parameters.as_dict().items():
        print(f"  {name:16s} {value:.4g}")
    print(
        f"  fit: R^2 {fit['r2']:.3f}, median relative error {fit['median_relative_error']:.1%}, "
        f"max {fit['max_relative_error']:.1%}, condition number {fit['condition_number']:.3g}"
    )
    print(f"use it with: export LSTM_ENERGY_MODEL_PROFILE={path}")
    return 0
