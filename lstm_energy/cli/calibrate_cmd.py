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

from lstm_energy.cli.arg_types import positive_int
from lstm_energy.config import IMPLS

NAME = "calibrate"
HELP = "fit the energy estimator to measured runs (needs real counters)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "-o", "--output", default=None, help="profile file to write (default model-profile-<hostname>.json)"
    )
    from lstm_energy.meters.registry import NAMES as METER_NAMES

    parser.add_argument(
        "--meter",
        default="auto",
        choices=METER_NAMES,
        help="a MEASURED meter (default auto; see `lstm-energy meters`); estimators are refused",
    )
    parser.add_argument(
        "--impl",
        choices=IMPLS,
        default="cython",
        help="implementation to run the calibration set with (default cython)",
    )
    parser.add_argument("--windows", type=positive_int, default=5, help="windows per configuration (default 5)")
    parser.add_argument("--json", action="store_true", help="print the saved profile as JSON")


def run(args) -> int:
    from lstm_energy.errors import CalibrationError, MeterUnavailableError
    from lstm_energy.measure.calibration import calibrate
    from lstm_energy.meters import opened_meter

    with contextlib.ExitStack() as opened:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                meter = opened.enter_context(opened_meter(args.meter))
            except MeterUnavailableError as err:
                print(
                    f"ERROR: calibration needs real energy counters and meter {args.meter!r} is not usable here: {err}",
                    file=sys.stderr,
                )
                return 1
        if meter.provenance != "measured":
            # with "auto": the registry's warning says why each measured backend failed
            why = "".join(f"\n{w.message}" for w in caught if not issubclass(w.category, ResourceWarning))
            print(
                f"ERROR: calibration needs real energy counters, but meter {meter.name!r} gives {meter.provenance} "
                "joules; fitting the estimator to them would prove nothing. Run `lstm-energy calibrate` on a machine "
                f"with RAPL (see `lstm-energy meters` for what is missing here) and copy the profile file over.{why}",
                file=sys.stderr,
            )
            return 1
        try:
            profile = calibrate(
                meter,
                impl=args.impl,
                windows=args.windows,
                progress=lambda line: print(line, file=sys.stderr, flush=True),
            )
        except CalibrationError as err:
            print(f"ERROR: calibration refused, no profile written: {err}", file=sys.stderr)
            return 1
    path = profile.save(args.output or f"model-profile-{socket.gethostname()}.json")
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
