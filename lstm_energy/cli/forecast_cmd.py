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
        help="search budget: quick (8 grid trials, 3 seeds of each choice, SARIMA and ETS: about two minutes on 2 "
        "idle cores) or full (20 random trials, 5 seeds, 4 SARIMA orders)",
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
        help="also append one JSON Lines record per trial (as it finishes), classical model and baseline to PATH",
    )
    parser.add_argument(
        "--search",
        choices=("grid", "random", "bayes", "pareto"),
        default=None,
        help="search strategy (default: the preset's): grid or random over the preset's grid; bayes (Optuna TPE, "
        "minimises validation RMSE) or pareto (Optuna multi-objective: validation RMSE and training joules); "
        "bayes and pareto need the [forecast] extra",
    )
    parser.add_argument(
        "--trials",
        type=positive_int,
        default=None,
        metavar="N",
        help="bayes / pareto: trials per family (default: the preset's)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted search: trials already in --records are taken from there, not run again",
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
    from types import SimpleNamespace

    from lstm_energy.forecast import report
    from lstm_energy.forecast.data import load_co2_monthly
    from lstm_energy.forecast.records import TrialAppender, load_resumed
    from lstm_energy.forecast.search import PRESETS, SearchHooks, planned_steps, run_search
    from lstm_energy.measure import environment
    from lstm_energy.meters import opened_meter
    from lstm_energy.sweep.progress import Progress

    preset = PRESETS[args.preset]
    strategy = args.search or preset.strategy
    if args.resume and not args.records:
        print(
            "ERROR: --resume takes the finished trials from the records file; pass the interrupted run's "
            "--records PATH as well",
            file=sys.stderr,
        )
        return 2
    if args.trials is not None and strategy not in ("bayes", "pareto"):
        print(
            f"ERROR: --trials sets the budget of --search bayes or pareto; this run's search is {strategy}",
            file=sys.stderr,
        )
        return 2
    if strategy in ("bayes", "pareto"):
        from lstm_energy.forecast.tuning import require_optuna

        try:
            require_optuna(strategy)
        except ImportError as err:
            print(f"ERROR: {err}", file=sys.stderr)
            return 2
    series = load_co2_monthly()
    hooks = SearchHooks()
    if args.resume:
        hooks.resumed = load_resumed(args.records, series=series.name, preset=preset.name)
    with contextlib.ExitStack() as opened:
        try:
            meter = opened.enter_context(opened_meter(args.meter))
        except ValueError as err:  # an unknown name is bad usage; an unavailable meter raises MeterError (exit 1)
            print(f"ERROR: {err}", file=sys.stderr)
            return 2
        print(
            f"forecast: {series.name}, {series.values.size} points; meter {meter.name} ({meter.provenance}); "
            f"preset {preset.name}, {strategy} search"
            + (f"; resuming with {len(hooks.resumed)} finished trial(s) from {args.records}" if args.resume else ""),
            file=sys.stderr,
        )
        if args.records:
            stub = SimpleNamespace(
                series=series, preset=preset, impl=args.impl, threads=args.threads, strategy=strategy
            )
            hooks.on_trial = TrialAppender(
                args.records, result_stub=stub, environment=environment(blas_threads=args.threads)
            )
        hooks.progress = Progress(planned_steps(preset, strategy, trials_per_family=args.trials, seed=args.seed))
        result = run_search(
            series,
            preset,
            meter,
            seed=args.seed,
            impl=args.impl,
            threads=args.threads,
            strategy=strategy,
            trials_per_family=args.trials,
            hooks=hooks,
        )
    path = report.write(result, args.output)
    if args.records:
        from lstm_energy.forecast.records import write_records

        count = write_records(result, args.records, trials=False)
        print(f"appended {hooks.on_trial.count} trial records as they finished and {count} more to {args.records}")
    print(f"best of each family (chosen on validation RMSE; energy {result.provenance}, dynamic):")
    for family, trial in result.best_per_family().items():
        print(
            f"{family:7s} {trial.label:44s} test RMSE {trial.scores['test'].rmse:.3f} {series.units}  "
            f"training {trial.training_joules:.4g} J  {trial.joules_per_forecast:.3g} J/forecast  ({result.provenance})"
        )
    if result.precisions:
        print("each family's chosen model by precision (trained fp32 weights; eval(precision=...)):")
    for family, by_precision in result.precisions.items():
        fp32 = by_precision["fp32"]
        for precision, r in by_precision.items():
            print(
                f"{family:7s} {precision:5s} test RMSE {r.scores['test'].rmse:.3f} {series.units} "
                f"({r.rmse_ratio(fp32):.3f}x fp32)  {r.joules_per_forecast:.3g} J/forecast batched, "
                f"{r.joules_per_forecast_b1:.3g} J batch 1  ({result.provenance})"
            )
    for model in result.classical:
        print(
            f"{model.family:7s} {model.label:44s} test RMSE {model.scores['test'].rmse:.3f} {series.units}  "
            f"fit {model.training_joules:.4g} J  {model.joules_per_forecast:.3g} J/forecast  ({result.provenance})"
        )
    for name, scores in result.baselines.items():
        print(f"baseline {name:34s} test RMSE {scores['test'].rmse:.3f} {series.units}")
    front = [result.entries()[i].label for i in result.pareto_indices()]
    print(f"Pareto front (training or fit joules vs test RMSE): {'; '.join(front)}")
    print(f"wrote {path}")
    return 0
