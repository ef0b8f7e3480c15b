"""`lstm-energy forecast`: train LSTM, GRU, RNN and BiLSTM forecasters on real data, report accuracy per joule."""

import contextlib
import sys

from lstm_energy.cli.arg_types import positive_int

NAME = "forecast"
HELP = "train forecasters on real data (Mauna Loa CO2) and report accuracy per joule"


def add_arguments(parser):
    parser.add_argument(
        "--preset",
        choices=("quick", "full"),
        default="quick",
        help="search budget: quick (8 trials, about a minute on 2 idle cores) or full (20, a random search)",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="reports/forecast.html",
        metavar="PATH",
        help="HTML report to write (default: %(default)s)",
    )
    parser.add_argument(
        "--records",
        default=None,
        metavar="PATH",
        help="also append one JSON Lines record per trial and baseline to PATH",
    )
    parser.add_argument(
        "--meter",
        default="auto",
        metavar="NAME",
        help="energy meter: auto, powercap, perf, pyrapl, msr or model (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling and search (default: 0)")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        metavar="N",
        help="BLAS threads during training and forecasting (default: %(default)s)",
    )
    parser.add_argument(
        "--impl",
        choices=("cython", "numpy"),
        default="cython",
        help="kernel engine of the recurrent layers (default: %(default)s)",
    )


def run(args) -> int:
    from lstm_energy.forecast import report
    from lstm_energy.forecast.data import load_co2_monthly
    from lstm_energy.forecast.search import PRESETS, run_search
    from lstm_energy.meters import opened_meter

    with contextlib.ExitStack() as opened:
        try:
            meter = opened.enter_context(opened_meter(args.meter))
        except ValueError as err:  # an unknown name is bad usage; an unavailable meter raises MeterError (exit 1)
            print(f"ERROR: {err}", file=sys.stderr)
            return 2
        series = load_co2_monthly()
        print(
            f"forecast: {series.name}, {series.values.size} points; meter {meter.name} ({meter.provenance}); "
            f"preset {args.preset}",
            file=sys.stderr,
        )
        result = run_search(
            series,
            PRESETS[args.preset],
            meter,
            seed=args.seed,
            impl=args.impl,
            threads=args.threads,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    path = report.write(result, args.output)
    if args.records:
        from lstm_energy.forecast.records import write_records

        count = write_records(result, args.records)
        print(f"appended {count} records to {args.records}")
    print(f"best of each family (chosen on validation RMSE; energy {result.provenance}, dynamic):")
    for family, trial in result.best_per_family().items():
        print(
            f"{family:7s} {trial.candidate.label:28s} test RMSE {trial.scores['test'].rmse:.3f} {series.units}  "
            f"training {trial.training_joules:.4g} J  {trial.joules_per_forecast:.3g} J/forecast  ({result.provenance})"
        )
    for name, scores in result.baselines.items():
        print(f"baseline {name:34s} test RMSE {scores['test'].rmse:.3f} {series.units}")
    print(f"wrote {path}")
    return 0
