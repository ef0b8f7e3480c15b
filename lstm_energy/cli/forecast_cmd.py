"""`lstm-energy forecast`: train LSTM, GRU, RNN and BiLSTM forecasters on real data, report accuracy per joule."""

import contextlib
import sys

from lstm_energy.cli.arg_types import add_meter_argument, positive_int, thread_count

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
        help="continue an interrupted study: every finished piece in --records (trials, precision evaluations, "
        "classical fits, baselines) is taken from there, not run again",
    )
    add_meter_argument(parser, "it prices every training run and forecast")
    parser.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling and search (default: 0)")
    parser.add_argument(
        "--threads",
        type=thread_count,
        default=1,
        metavar="N",
        help="BLAS threads during training and forecasting, at most this machine's CPUs (default: %(default)s)",
    )
    from lstm_energy._layers.engines import LAYER_IMPLS

    parser.add_argument(
        "--impl",
        choices=LAYER_IMPLS,
        default="cython",
        help="kernel engine of the recurrent layers (default: %(default)s)",
    )


def run(args) -> int:
    from lstm_energy.errors import ConfigError, ResultsSchemaError
    from lstm_energy.forecast.search import PRESETS

    preset = PRESETS[args.preset]
    strategy = args.search or preset.strategy
    try:
        _check_usage(args, strategy)
    except (ConfigError, ResultsSchemaError, ImportError) as err:  # flags, a path, a --records file, Optuna missing
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    try:
        result, appended, resumed = _run_study(args, preset, strategy)
    except (ConfigError, ResultsSchemaError) as err:  # --resume onto another meter's records or a non-results file
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    path = _write_outputs(args, result, appended, resumed)
    _print_tables(result)
    print(f"wrote {path}")
    return 0


def _check_usage(args, strategy: str) -> None:
    """ConfigError for flags that cannot work together or paths that cannot be written (before any
    training); ImportError when the search needs Optuna and it is missing."""
    from lstm_energy.errors import ConfigError
    from lstm_energy.results import check_fresh_or_resumed, check_writable

    if args.resume and not args.records:
        raise ConfigError(
            "--resume takes the finished trials from the records file; pass the interrupted run's "
            "--records PATH as well"
        )
    if args.trials is not None and strategy not in ("bayes", "pareto"):
        raise ConfigError(f"--trials sets the budget of --search bayes or pareto; this run's search is {strategy}")
    check_writable(args.output, "-o")
    if args.records:
        _check_records_kind(args.records)  # a sweep's results or a page is refused for what it is, --resume or not
        check_fresh_or_resumed(args.records, "--records", resume=args.resume, example="forecast.jsonl")
        check_writable(args.records, "--records")
    if strategy in ("bayes", "pareto"):
        from lstm_energy.forecast.tuning import require_optuna

        require_optuna(strategy)


def _check_records_kind(path) -> None:
    """ResultsSchemaError when the --records file holds anything but a forecast study's records (the
    detection ``forecast.records.study_file_records`` does for --resume): said before "pass --resume",
    which could only lead to this refusal. Its warning about records cut by a kill waits for --resume."""
    import warnings
    from pathlib import Path

    from lstm_energy.forecast.records import study_file_records

    if Path(path).is_file():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study_file_records(path)


def _run_study(args, preset, strategy: str):
    """The search under the meter: (SearchResult, the trial appender or None, what --resume took back)."""
    from types import SimpleNamespace

    from lstm_energy.forecast.data import load_co2_monthly
    from lstm_energy.forecast.records import ResumedStudy, TrialAppender, load_resumed_study
    from lstm_energy.forecast.search import SearchHooks, planned_steps, run_search
    from lstm_energy.measure import environment
    from lstm_energy.meters import opened_meter
    from lstm_energy.sweep.points import check_resume_meter
    from lstm_energy.sweep.progress import Progress

    series = load_co2_monthly()
    resumed = ResumedStudy()
    if args.resume:
        resumed = load_resumed_study(
            args.records, series=series.name, preset=preset.name, seed=args.seed, impl=args.impl, threads=args.threads
        )
    hooks = SearchHooks(
        resumed=resumed.trials, resumed_precisions=resumed.precisions, resumed_classical=resumed.classical
    )
    with contextlib.ExitStack() as opened:
        meter = opened.enter_context(opened_meter(args.meter))  # argparse checked the name; unusable: exit 1
        check_resume_meter(resumed.records, args.records, meter, run="forecast study", output_flag="--records")
        print(
            f"forecast: {series.name}, {series.values.size} points; meter {meter.name} ({meter.provenance}); "
            f"preset {preset.name}, {strategy} search"
            + (f"; resuming: {_resumed_text(resumed)} from {args.records}" if args.resume else ""),
            file=sys.stderr,
        )
        if args.records:
            stub = SimpleNamespace(
                series=series, preset=preset, seed=args.seed, impl=args.impl, threads=args.threads, strategy=strategy
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
    return result, hooks.on_trial, resumed


def _resumed_text(resumed) -> str:
    """What --resume found finished, e.g. "16 trial(s), 12 precision evaluation(s), 2 classical fit(s), 4 baseline(s)"."""
    evaluations = sum(len(by_precision) for by_precision in resumed.precisions.values())
    return (
        f"{len(resumed.trials)} trial(s), {evaluations} precision evaluation(s), "
        f"{len(resumed.classical)} classical fit(s), {len(resumed.baselines)} baseline record(s)"
    )


def _write_outputs(args, result, appended, resumed) -> str:
    """The HTML page, and the records not yet in --records (a --resume appends only what it added)."""
    from lstm_energy.forecast import report

    path = str(report.write(result, args.output))
    if args.records:
        from lstm_energy.forecast.records import write_records

        count = write_records(result, args.records, trials=False, recorded_baselines=resumed.baselines)
        print(f"appended {appended.count} trial records as they finished and {count} more to {args.records}")
    return path


def _print_tables(result) -> None:
    """The summary tables on stdout; each names where its joules come from, from the meter description
    its rows were recorded with (measured by which meter, or estimated by which model, coefficients and
    source, as ``lstm-energy profile`` does); one line per description when the rows carry several."""
    from lstm_energy.forecast.report import baseline_comparison, energy_sources

    def sources(entries) -> None:
        for line in energy_sources(entries):
            print(f"  energy: {line}")

    units = result.series.units
    best = result.best_per_family()
    print(f"best of each family (chosen on validation RMSE; energy {result.provenance}, dynamic):")
    sources(list(best.values()))
    for family, trial in best.items():
        print(
            f"{family:7s} {trial.label:44s} test RMSE {trial.scores['test'].rmse:.3f} {units}  "
            f"training {trial.training_joules:.4g} J  {trial.joules_per_forecast:.3g} J/forecast  ({trial.provenance})"
        )
    if result.precisions:
        print("each family's chosen model by precision (trained fp32 weights; eval(precision=...)):")
        sources([r for by_precision in result.precisions.values() for r in by_precision.values()])
    for family, by_precision in result.precisions.items():
        fp32 = by_precision["fp32"]
        for precision, r in by_precision.items():
            print(
                f"{family:7s} {precision:5s} test RMSE {r.scores['test'].rmse:.3f} {units} "
                f"({r.rmse_ratio(fp32):.3f}x fp32)  {r.joules_per_forecast:.3g} J/forecast batched, "
                f"{r.joules_per_forecast_b1:.3g} J batch 1  ({r.provenance})"
            )
    if result.classical:
        print("classical models (fitted on the training split):")
        sources(result.classical)
    for model in result.classical:
        print(
            f"{model.family:7s} {model.label:44s} test RMSE {model.scores['test'].rmse:.3f} {units}  "
            f"fit {model.training_joules:.4g} J  {model.joules_per_forecast:.3g} J/forecast  ({model.provenance})"
        )
    for name, scores in result.baselines.items():
        print(f"baseline {name:34s} test RMSE {scores['test'].rmse:.3f} {units}")
    if result.baselines:
        print(baseline_comparison(result))
    front = [result.entries()[i].label for i in result.pareto_indices()]
    print(f"Pareto front (training or fit joules vs test RMSE): {'; '.join(front)}")
