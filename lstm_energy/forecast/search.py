"""Hyperparameter search over recurrent forecasters, each trial priced in joules.

Families: LSTM, GRU, RNN (tanh) and a bidirectional LSTM encoder. Per family the search varies the
hidden size, the window length and the number of layers, as a full grid or as a seeded random
sample of that grid. Every trial trains on the training split, is **chosen on the validation split**
(never on test), and reports train / validation / test RMSE and MAE in the series' original units,
the joules of its whole training run and the joules per forecast.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from lstm_energy.config import PRECISIONS, check_choice, positive_int
from lstm_energy.errors import ConfigError
from lstm_energy.forecast import baselines as baseline_forecasts
from lstm_energy.forecast.classical import FULL_ORDERS, QUICK_ORDERS, ClassicalResult
from lstm_energy.forecast.data import SPLITS, ForecastDataset, Series, mae, prepare, rmse
from lstm_energy.forecast.energy import PricedForecaster, Work, forecast_work, measure_run, training_work
from lstm_energy.forecast.model import Forecaster, ModelConfig
from lstm_energy.forecast.train import TrainConfig, TrainHistory, planned_batch_sizes, train

#: parameters, activations and kernels of every trial
MODEL_DTYPE = np.float32
#: --search choices: grid and random enumerate SearchSpace; bayes and pareto ask Optuna (forecast/tuning.py)
STRATEGIES = ("grid", "random", "bayes", "pareto")
#: family label -> (cell, bidirectional)
FAMILIES = {"LSTM": ("lstm", False), "GRU": ("gru", False), "RNN": ("rnn", False), "BiLSTM": ("lstm", True)}


@dataclass(frozen=True)
class Candidate:
    """One point of the search: a model configuration and the window length it reads."""

    family: str
    model: ModelConfig
    window: int
    training: TrainConfig | None = None  # set by bayes / pareto (learning rate, epochs); else the preset's

    @property
    def label(self) -> str:
        text = f"{self.family} H={self.model.hidden_size} L={self.model.num_layers} T={self.window}"
        if self.training is not None:
            text += f" lr={self.training.learning_rate:.2g} ep={self.training.epochs}"
        return text


@dataclass(frozen=True)
class SearchSpace:
    """The grid per family: every combination of hidden size, window length and layer count."""

    families: tuple[str, ...] = tuple(FAMILIES)
    hidden_sizes: tuple[int, ...] = (16, 32)
    windows: tuple[int, ...] = (24,)
    num_layers: tuple[int, ...] = (1,)

    def __post_init__(self):
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown:
            raise ConfigError(f"unknown model families {unknown}; choose from {list(FAMILIES)}")
        if not (self.hidden_sizes and self.windows and self.num_layers):
            raise ConfigError("hidden_sizes, windows and num_layers each need at least one value")

    def family_grid(self, family: str) -> list[Candidate]:
        cell, bidirectional = FAMILIES[family]
        return [
            Candidate(family, ModelConfig(cell, h, num_layers=layers, bidirectional=bidirectional), window)
            for h, window, layers in itertools.product(self.hidden_sizes, self.windows, self.num_layers)
        ]

    def candidates(self, strategy: str, *, samples_per_family: int | None = None, seed: int = 0) -> list[Candidate]:
        """ "grid": every combination; "random": ``samples_per_family`` drawn without replacement per family."""
        if strategy == "grid":
            return [c for f in self.families for c in self.family_grid(f)]
        if strategy == "random":
            if not samples_per_family or samples_per_family < 1:
                raise ConfigError(f"random search needs samples_per_family >= 1; got {samples_per_family!r}")
            rng = np.random.default_rng(seed)
            chosen: list[Candidate] = []
            for family in self.families:
                grid = self.family_grid(family)
                picks = rng.choice(len(grid), size=min(samples_per_family, len(grid)), replace=False)
                chosen.extend(grid[i] for i in sorted(picks))
            return chosen
        raise ConfigError(
            f"a SearchSpace enumerates 'grid' or 'random' (bayes and pareto ask Optuna: forecast/tuning.py); "
            f"got {strategy!r}"
        )


@dataclass(frozen=True)
class TuningSpace:
    """What bayes / pareto search draw from: integer ranges (inclusive; hidden size on a log scale),
    window lengths, layer counts and the learning-rate range (log scale)."""

    hidden_size: tuple[int, int] = (4, 32)
    windows: tuple[int, ...] = (12, 24)
    num_layers: tuple[int, ...] = (1,)
    learning_rate: tuple[float, float] = (2e-3, 3e-2)
    epochs: tuple[int, int] = (10, 30)


@dataclass(frozen=True)
class Preset:
    """A named search budget. ``forecast_windows`` / ``forecast_min_window_seconds`` drive the protocol."""

    name: str
    space: SearchSpace
    strategy: str
    training: TrainConfig
    samples_per_family: int | None = None
    forecast_windows: int = 7
    forecast_min_window_seconds: float = 0.1
    #: bayes / pareto: Optuna trials per family (``--trials`` overrides) and the ranges they draw from
    trials_per_family: int = 3
    tuning: TuningSpace = field(default_factory=lambda: TuningSpace())
    #: the chosen configuration of each family is trained (or, for SARIMA / ETS, fitted) this many times
    #: in all, with seeds seed, seed + 1, ... (1: no repeats)
    repeats: int = 1
    #: SARIMA orders compared by AIC on the training split
    sarima_orders: tuple = QUICK_ORDERS
    #: the classical models priced beside the recurrent ones ("SARIMA", "ETS"; need a seasonal series)
    classical: tuple[str, ...] = ("SARIMA", "ETS")


PRESETS = {
    # a first look that must stay short on a 2-core machine (training, its idle twin and the
    # per-forecast protocol; measured times: docs/performance.md, "How long the presets take"),
    # so: one window length, two widths, every family
    "quick": Preset(
        name="quick",
        space=SearchSpace(hidden_sizes=(8, 24), windows=(24,), num_layers=(1,)),
        strategy="grid",
        training=TrainConfig(epochs=30, batch_size=32, learning_rate=1e-2, clip_norm=1.0),
        forecast_windows=5,
        forecast_min_window_seconds=0.1,
        trials_per_family=3,
        repeats=3,
    ),
    # a seeded random sample of 5 of the 18 points of a 3 x 3 x 2 grid per family, longer training
    "full": Preset(
        name="full",
        space=SearchSpace(hidden_sizes=(8, 24, 64), windows=(12, 24, 36), num_layers=(1, 2)),
        strategy="random",
        samples_per_family=5,
        training=TrainConfig(epochs=80, batch_size=32, learning_rate=5e-3, clip_norm=1.0),
        forecast_windows=7,
        forecast_min_window_seconds=0.2,
        trials_per_family=10,
        tuning=TuningSpace(hidden_size=(4, 64), windows=(12, 24, 36), num_layers=(1, 2), epochs=(20, 100)),
        repeats=5,
        sarima_orders=FULL_ORDERS,
    ),
}


@dataclass(frozen=True)
class SplitScores:
    """Errors of one forecaster on one split, original units."""

    rmse: float
    mae: float


@dataclass
class TrialResult(PricedForecaster):
    """Everything one trial learned. predictions: split -> (target_index (W,), forecasts (W,))."""

    candidate: Candidate
    scores: dict[str, SplitScores]
    predictions: dict[str, tuple[np.ndarray, np.ndarray]]
    history: TrainHistory
    parameters: int
    training_energy: Any  # lstm_energy.measure.Measurement, one window = the whole training run
    forecast_energy: Any  # lstm_energy.measure.Measurement over predict calls on the test split
    training_work: Work  # FLOPs and bytes of the whole training run (cost models)
    forecast_work: Work  # FLOPs and bytes of one forecast (one window), cost models
    forecast_energy_b1: Any = None  # Measurement of one forecast at batch 1 (one series, one step)
    seed: int = 0
    resumed: bool = False  # read back from the records by --resume, not run in this process
    #: the trained Forecaster (kept in this process for the precision axis; None when resumed)
    model: Forecaster | None = field(default=None, repr=False, compare=False)

    @property
    def family(self) -> str:
        return self.candidate.family

    @property
    def label(self) -> str:
        return self.candidate.label

    @property
    def fit_seconds(self) -> float:
        return float(self.history.seconds)


@dataclass
class PrecisionResult(PricedForecaster):
    """A family's chosen model forecasting in one precision (issue 18): the trial's trained fp32 weights
    through ``eval(precision=...)``, scored on every split and priced per forecast (batched and batch 1).

    The training run is the trial's own (fp32), so ``training_energy`` is the trial's measurement.
    """

    trial: TrialResult
    precision: str
    scores: dict[str, SplitScores]
    forecast_energy: Any  # Measurement over predict calls on the test split, in this precision
    forecast_energy_b1: Any  # the same at batch 1
    forecast_work: Work  # FLOPs and bytes of one forecast (one window) in this precision, cost models
    test_predictions: tuple[np.ndarray, np.ndarray] | None = None  # (target_index (W,), forecasts (W,))
    resumed: bool = False  # read back from the records by --resume, not measured in this process

    @property
    def training_energy(self):
        return self.trial.training_energy

    @property
    def family(self) -> str:
        return self.trial.family

    @property
    def label(self) -> str:
        return f"{self.trial.label} {self.precision}"

    def rmse_ratio(self, fp32: PrecisionResult) -> float:
        """Test RMSE in this precision over the fp32 test RMSE of the same model."""
        return self.scores["test"].rmse / fp32.scores["test"].rmse

    def own_measurements(self) -> list:
        """The per-forecast measurements made in this precision (the training run is the trial's own)."""
        return [m for m in (self.forecast_energy, self.forecast_energy_b1) if m is not None]


@dataclass
class SearchResult:
    series: Series
    preset: Preset
    seed: int
    trials: list[TrialResult]
    baselines: dict[str, dict[str, SplitScores]]  # baseline name -> split -> scores
    baseline_predictions: dict[str, tuple[np.ndarray, np.ndarray]]  # test split
    boundaries: tuple[int, int]
    #: what produced the figures: the provenance every priced entry recorded, or "mixed (a, b)"
    provenance: str
    #: ``describe()`` of the meter this process opened; each entry carries the description its figures
    #: were recorded with (``PricedForecaster.meter_description``), which is what the page cites
    meter_description: dict
    #: the protocol warnings of every priced entry (resumed ones: those their records carry), sorted
    warnings: list[str] = field(default_factory=list)
    threads: int = 1
    impl: str = "cython"
    strategy: str = "grid"
    classical: list[ClassicalResult] = field(default_factory=list)
    #: family -> the chosen configuration's runs with seeds seed, seed + 1, ... (the first is the search's)
    repeats: dict[str, list] = field(default_factory=dict)
    #: pareto search: labels of the trials Optuna reports as Pareto-optimal (validation RMSE, training J)
    optuna_front: list[str] = field(default_factory=list)
    #: ``lstm_energy.measure.environment()`` of the run (CPU, cores, BLAS, versions), for the page
    environment: dict = field(default_factory=dict)
    #: family -> precision ("fp32", "bf16", "int8") -> the chosen model forecasting in it (issue 18)
    precisions: dict[str, dict[str, PrecisionResult]] = field(default_factory=dict)

    def entries(self) -> list:
        """Every priced forecaster: the search's trials, then the classical models."""
        return [*self.trials, *self.classical]

    def priced(self) -> list:
        """Every entry with joules of its own: the search's trials, the repeats of the chosen
        configurations (beyond the search's own run), each chosen model's precision evaluations, and the
        classical fits (their repeated fits are part of the fit's entry)."""
        searched = {id(t) for t in self.trials}
        repeats = [
            t for runs in self.repeats.values() for t in runs if isinstance(t, TrialResult) and id(t) not in searched
        ]
        evaluations = [r for by_precision in self.precisions.values() for r in by_precision.values()]
        return [*self.trials, *repeats, *evaluations, *self.classical]

    def best_per_family(self) -> dict[str, TrialResult]:
        """The trial with the lowest validation RMSE in each family (test is never used to choose)."""
        best: dict[str, TrialResult] = {}
        for trial in self.trials:
            family = trial.candidate.family
            if family not in best or trial.scores["validation"].rmse < best[family].scores["validation"].rmse:
                best[family] = trial
        return best

    def pareto_indices(self, energy: str = "training") -> list[int]:
        """Indices into ``entries()`` no other entry beats on both joules and test RMSE (lower is better).

        energy: "training" (dynamic joules of the whole training run, or the classical fit) or
        "forecast" (per forecast).
        """
        return pareto_front([(energy_of(t, energy), t.scores["test"].rmse) for t in self.entries()])


def energy_of(trial: TrialResult, energy: str) -> float:
    """The dynamic joules a scatter or front ranks by: "training" run or one "forecast"."""
    if energy == "training":
        return trial.training_joules
    if energy == "forecast":
        return trial.joules_per_forecast
    raise ConfigError(f"energy must be 'training' or 'forecast'; got {energy!r}")


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated by another (both coordinates lower-or-equal, one lower)."""
    front = []
    for i, (cost_i, error_i) in enumerate(points):
        dominated = any(
            cost_j <= cost_i and error_j <= error_i and (cost_j < cost_i or error_j < error_i)
            for j, (cost_j, error_j) in enumerate(points)
            if j != i
        )
        if not dominated:
            front.append(i)
    return front


def score_splits(dataset: ForecastDataset, forecast_scaled: Callable[[np.ndarray], np.ndarray]):
    """Scores and original-unit predictions of a forecaster of scaled values on every split."""
    scores, predictions = {}, {}
    for split in SPLITS:
        windows = dataset.split(split)
        if not len(windows):
            continue
        forecast = dataset.to_original_units(forecast_scaled(windows.inputs), windows)
        actual = dataset.actual(windows)
        scores[split] = SplitScores(rmse(forecast, actual), mae(forecast, actual))
        predictions[split] = (windows.target_index, forecast)
    return scores, predictions


def run_trial(
    dataset: ForecastDataset,
    candidate: Candidate,
    training: TrainConfig,
    meter,
    *,
    seed: int,
    impl: str = "cython",
    forecast_windows: int = 7,
    forecast_min_window_seconds: float = 0.1,
) -> TrialResult:
    """Train one candidate under the meter, score it, then measure its per-forecast energy."""
    model = Forecaster(candidate.model, seed=seed, impl=impl, dtype=MODEL_DTYPE)
    config = replace(candidate.training or training, seed=seed)
    parameters = model.parameter_count()

    run_work = training_work(
        candidate.model,
        seq_len=candidate.window,
        parameters=parameters,
        dtype=model.dtype,
        batch_sizes=planned_batch_sizes(len(dataset.train), config),
    )
    history, training_energy = measure_run(
        lambda: train(model, dataset.train.inputs, dataset.train.targets, config), meter, work=run_work
    )
    if history.batch_sizes != planned_batch_sizes(len(dataset.train), config):
        raise RuntimeError("training took other steps than planned; the FLOPs told to the meter would be wrong")
    scores, predictions = score_splits(dataset, model.predict)
    forecast_energy, forecast_energy_b1, per_forecast = measure_forecasts(
        model,
        candidate,
        dataset,
        meter,
        windows=forecast_windows,
        min_window_seconds=forecast_min_window_seconds,
        seed=seed,
    )
    return TrialResult(
        candidate=candidate,
        scores=scores,
        predictions=predictions,
        history=history,
        parameters=parameters,
        training_energy=training_energy,
        forecast_energy=forecast_energy,
        training_work=run_work,
        forecast_work=per_forecast,
        forecast_energy_b1=forecast_energy_b1,
        seed=seed,
        model=model,
    )


def measure_forecasts(
    model: Forecaster,
    candidate: Candidate,
    dataset: ForecastDataset,
    meter,
    *,
    precision: str = "fp32",
    windows: int = 7,
    min_window_seconds: float = 0.1,
    seed: int = 0,
):
    """The protocol on the prepared predict call over the whole test split, and at batch 1 (one series,
    one step: an edge device's forecast), with the model set to ``precision`` beforehand.

    Returns (batched Measurement, batch-1 Measurement, Work of one forecast in that precision).
    """
    from lstm_energy.measure.protocol import measure

    model.set_precision(precision)
    test_x = model.sequence_first(dataset.test.inputs)  # prepared once, outside the energy windows
    batch = len(dataset.test)
    measured = []
    for x in (test_x, np.ascontiguousarray(test_x[:, :1])):
        work = forecast_work(
            candidate.model, batch=x.shape[1], seq_len=candidate.window, dtype=model.dtype, precision=precision
        )
        measured.append(
            measure(
                partial(model.predict_sequence_first, x),
                meter,
                batch=x.shape[1],
                flops=work.flops,
                bytes=work.bytes,
                windows=windows,
                min_window_seconds=min_window_seconds,
                seed=seed,
            )
        )
    per_call = forecast_work(
        candidate.model, batch=batch, seq_len=candidate.window, dtype=model.dtype, precision=precision
    )
    return measured[0], measured[1], per_call * (1.0 / batch)


def retrained_model(dataset: ForecastDataset, trial: TrialResult, training: TrainConfig, *, impl: str) -> Forecaster:
    """The trial's model trained again, unmetered (a --resume'd trial keeps no weights): the training
    loop is deterministic, so the same seed and configuration give the same weights."""
    model = Forecaster(trial.candidate.model, seed=trial.seed, impl=impl, dtype=MODEL_DTYPE)
    config = replace(trial.candidate.training or training, seed=trial.seed)
    train(model, dataset.train.inputs, dataset.train.targets, config)
    return model


def evaluate_precisions(
    dataset: ForecastDataset,
    trial: TrialResult,
    meter,
    *,
    training: TrainConfig,
    impl: str = "cython",
    precisions: Sequence[str] = PRECISIONS,
    forecast_windows: int = 7,
    forecast_min_window_seconds: float = 0.1,
) -> dict[str, PrecisionResult]:
    """The trial's trained fp32 weights forecasting in each precision (default: every one in
    lstm_energy.config.PRECISIONS): scores on every split and joules per forecast (batched and batch 1). fp32 is measured again beside the others (same process, same
    moment), so the ratios compare like with like; the model is left in fp32."""
    model = trial.model if trial.model is not None else retrained_model(dataset, trial, training, impl=impl)
    found = {}
    try:
        for precision in precisions:
            model.set_precision(precision)
            scores, predictions = score_splits(dataset, model.predict)
            batched, batch1, per_forecast = measure_forecasts(
                model,
                trial.candidate,
                dataset,
                meter,
                precision=precision,
                windows=forecast_windows,
                min_window_seconds=forecast_min_window_seconds,
                seed=trial.seed,
            )
            found[precision] = PrecisionResult(
                trial=trial,
                precision=precision,
                scores=scores,
                forecast_energy=batched,
                forecast_energy_b1=batch1,
                forecast_work=per_forecast,
                test_predictions=predictions.get("test"),
            )
    finally:
        model.set_precision("fp32")
    return found


def baseline_scores(dataset: ForecastDataset):
    """Every baseline the series supports, scored on each split's targets (original units)."""
    scores: dict[str, dict[str, SplitScores]] = {}
    test_predictions: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, forecast in baseline_forecasts.baselines_for(dataset.series).items():
        scores[name] = {}
        for split in SPLITS:
            windows = dataset.split(split)
            if len(windows):
                predicted = forecast(dataset.series, windows.target_index)
                actual = dataset.actual(windows)
                scores[name][split] = SplitScores(rmse(predicted, actual), mae(predicted, actual))
        test_predictions[name] = (dataset.test.target_index, forecast(dataset.series, dataset.test.target_index))
    return scores, test_predictions


def trial_key(candidate: Candidate, seed: int) -> str:
    """What --resume matches a finished trial by: its configuration and seed."""
    return f"{candidate.label} seed={seed}"


@dataclass
class SearchHooks:
    """What a search reports as it goes. on_trial(trial, role) after every finished trial ("search" or
    "repeat"): the records are appended there; progress: a ``lstm_energy.sweep.progress.Progress``
    (or None). What --resume found finished (``forecast.records.load_resumed_study``), not run again:
    resumed: trial_key -> TrialResult; resumed_precisions: trial_key of a family's chosen trial ->
    precision -> PrecisionResult (used when every precision is there); resumed_classical: family
    ("SARIMA", "ETS") -> ClassicalResult."""

    on_trial: Callable[[TrialResult, str], None] | None = None
    progress: object = None
    resumed: dict[str, TrialResult] = field(default_factory=dict)
    resumed_precisions: dict[str, dict[str, PrecisionResult]] = field(default_factory=dict)
    resumed_classical: dict[str, ClassicalResult] = field(default_factory=dict)


def planned_steps(preset: Preset, strategy: str, *, trials_per_family: int | None = None, seed: int = 0) -> int:
    """How many trials, repeats, precision evaluations (one per family) and classical fits a search runs
    (the progress bar's total)."""
    families = len(preset.space.families)
    if strategy in ("bayes", "pareto"):
        searched = families * (trials_per_family or preset.trials_per_family)
    else:
        searched = len(preset.space.candidates(strategy, samples_per_family=preset.samples_per_family, seed=seed))
    return searched + families * preset.repeats + len(preset.classical)


def run_search(
    series: Series,
    preset: Preset,
    meter,
    *,
    seed: int = 0,
    impl: str = "cython",
    threads: int = 1,
    strategy: str | None = None,
    trials_per_family: int | None = None,
    hooks: SearchHooks | None = None,
    progress: Callable[[str], None] | None = None,
) -> SearchResult:
    """Run the preset's search (or ``strategy``) on ``series`` under ``meter``; seeded and in a fixed order.

    strategy: "grid" / "random" enumerate the preset's SearchSpace; "bayes" / "pareto" ask Optuna for
    ``trials_per_family`` (default: the preset's) trials per family (``lstm_energy.forecast.tuning``).
    Then the chosen configuration of each family is retrained with ``preset.repeats`` seeds, and SARIMA
    and ETS are fitted and priced on the same splits.

    threads: BLAS threads (threadpoolctl) for the whole search. 1 by default: these matrices are
    small (H <= 64, B <= 105), so extra BLAS threads only add synchronisation (measured:
    docs/performance.md, "How long the presets take").
    """
    from threadpoolctl import threadpool_limits

    threads = positive_int("threads", threads)
    strategy = strategy or preset.strategy
    check_choice("strategy", strategy, STRATEGIES, "bayes and pareto need the [forecast] extra (Optuna)")
    if strategy in ("bayes", "pareto"):
        from lstm_energy.forecast.tuning import require_optuna

        require_optuna()  # fail before anything is trained
    with threadpool_limits(limits=threads):
        result = _run_search(
            series,
            preset,
            meter,
            seed=seed,
            impl=impl,
            strategy=strategy,
            trials_per_family=trials_per_family,
            hooks=hooks or SearchHooks(),
            progress=progress,
        )
    from lstm_energy.measure import environment

    result.threads = threads
    result.impl = impl
    result.environment = environment(blas_threads=threads)
    return result


class _Runner:
    """Runs (or takes back from --resume) one candidate with one seed, and reports it."""

    def __init__(self, series, preset, meter, *, impl, hooks, progress) -> None:
        self.series, self.preset, self.meter, self.impl = series, preset, meter, impl
        self.hooks, self.progress = hooks, progress
        self.datasets: dict[int, ForecastDataset] = {}

    def dataset(self, window: int) -> ForecastDataset:
        if window not in self.datasets:
            self.datasets[window] = prepare(self.series, window=window)
        return self.datasets[window]

    def __call__(self, candidate: Candidate, seed: int, role: str = "search") -> TrialResult:
        key = trial_key(candidate, seed)
        if key in self.hooks.resumed:
            trial = self.hooks.resumed[key]
            self.dataset(candidate.window)
            self._report(trial, role, resumed=True)
            return trial
        trial = run_trial(
            self.dataset(candidate.window),
            candidate,
            self.preset.training,
            self.meter,
            seed=seed,
            impl=self.impl,
            forecast_windows=self.preset.forecast_windows,
            forecast_min_window_seconds=self.preset.forecast_min_window_seconds,
        )
        if self.hooks.on_trial is not None:
            self.hooks.on_trial(trial, role)
        self._report(trial, role, resumed=False)
        return trial

    def _report(self, trial: TrialResult, role: str, *, resumed: bool) -> None:
        text = (
            f"{'repeat ' if role == 'repeat' else ''}{trial.label} seed {trial.seed}: test RMSE "
            f"{trial.scores['test'].rmse:.3f} {self.series.units}, training {trial.training_joules:.3g} J, "
            f"{trial.joules_per_forecast:.3g} J/forecast ({trial.provenance})"
        )
        if self.hooks.progress is not None:
            self.hooks.progress.update(text, skipped=resumed)
        if self.progress is not None:
            self.progress(text)


def _run_search(series, preset, meter, *, seed, impl, strategy, trials_per_family, hooks, progress) -> SearchResult:
    runner = _Runner(series, preset, meter, impl=impl, hooks=hooks, progress=progress)
    optuna_front: list[str] = []
    if strategy in ("bayes", "pareto"):
        from lstm_energy.forecast.tuning import optuna_search

        trials, optuna_front = optuna_search(
            strategy, preset, runner, seed=seed, trials_per_family=trials_per_family or preset.trials_per_family
        )
    else:
        candidates = preset.space.candidates(strategy, samples_per_family=preset.samples_per_family, seed=seed)
        trials = [runner(candidate, seed) for candidate in candidates]
    datasets = runner.datasets
    # every window length leaves the same validation and test targets, so baselines are scored once;
    # the largest window has the fewest training targets, which is the fairest training comparison
    reference = datasets[max(datasets)]
    for window, dataset in datasets.items():
        for split in ("validation", "test"):
            if not np.array_equal(dataset.split(split).target_index, reference.split(split).target_index):
                raise ConfigError(
                    f"window {window} leaves different {split} targets than window {max(datasets)}, so trials "
                    "would be scored on different points; use windows shorter than the training split"
                )
    result = SearchResult(
        series=series,
        preset=preset,
        seed=seed,
        trials=trials,
        baselines={},
        baseline_predictions={},
        boundaries=reference.boundaries,
        provenance=meter.provenance,
        meter_description=meter.describe(),
        strategy=strategy,
        optuna_front=optuna_front,
    )
    for family, best in result.best_per_family().items():
        result.repeats[family] = [best] + [
            runner(best.candidate, seed + k, role="repeat") for k in range(1, preset.repeats)
        ]
    for family, best in result.best_per_family().items():
        result.precisions[family] = _precisions_of(runner, best, meter, hooks, progress)
    target_index = {split: reference.split(split).target_index for split in SPLITS}
    for family in preset.classical if series.season is not None else ():
        fitted = _classical_of(family, series, target_index, reference.boundaries, meter, preset, seed, hooks)
        result.classical.append(fitted)
        result.repeats[family] = fitted.repeats or []
        _announce(
            f"{fitted.label}: test RMSE {fitted.scores['test'].rmse:.3f} {series.units}, fit "
            f"{fitted.training_joules:.3g} J, {fitted.joules_per_forecast:.3g} J/forecast ({fitted.provenance})",
            hooks,
            progress,
            resumed=fitted.resumed,
        )
    result.baselines, result.baseline_predictions = baseline_scores(reference)
    priced = result.priced()
    # measured here or taken back by --resume, every figure keeps the caveats it was recorded with
    result.warnings = sorted({w for e in priced for w in e.warnings})
    result.provenance = study_provenance(priced)
    return result


def study_provenance(entries: Sequence) -> str:
    """The provenance every entry recorded, or "mixed (estimated, simulated)" when they differ."""
    found = sorted({e.provenance for e in entries})
    if len(found) == 1:
        return found[0]
    return f"mixed ({', '.join(found)})" if found else "none"


def _announce(text: str, hooks: SearchHooks, progress, *, resumed: bool) -> None:
    """One finished step on the progress bar ("resumed" when taken from the records) and to ``progress``."""
    bar: Any = hooks.progress  # a lstm_energy.sweep.progress.Progress (not imported: no sweep dependency)
    if bar is not None:
        bar.update(text, skipped=resumed)
    if progress is not None:
        progress(text)


def _precisions_of(runner: _Runner, best: TrialResult, meter, hooks: SearchHooks, progress) -> dict:
    """The chosen trial in every precision: from the records when --resume found all of them, else measured."""
    recorded = hooks.resumed_precisions.get(trial_key(best.candidate, best.seed), {})
    resumed = set(recorded) == set(PRECISIONS)
    if resumed:  # the records name the trial by key; the page and the records read this very trial
        evaluated = {precision: replace(recorded[precision], trial=best) for precision in PRECISIONS}
    else:
        preset = runner.preset
        evaluated = evaluate_precisions(
            runner.dataset(best.candidate.window),
            best,
            meter,
            training=preset.training,
            impl=runner.impl,
            forecast_windows=preset.forecast_windows,
            forecast_min_window_seconds=preset.forecast_min_window_seconds,
        )
    fp32, units = evaluated["fp32"], runner.series.units
    text = f"{best.label} by precision: " + ", ".join(
        f"{p} test RMSE {r.scores['test'].rmse:.3f} {units} ({r.rmse_ratio(fp32):.3f}x fp32), "
        f"{r.joules_per_forecast:.3g} J/forecast"
        for p, r in evaluated.items()
    )
    _announce(text, hooks, progress, resumed=resumed)
    return evaluated


def _classical_of(family, series, target_index, boundaries, meter, preset, seed, hooks) -> ClassicalResult:
    """The classical model ``family``: from the records when --resume found it, else fitted and priced."""
    from lstm_energy.forecast.classical import run_classical

    if family in hooks.resumed_classical:
        return hooks.resumed_classical[family]
    return run_classical(
        family,
        series,
        target_index,
        boundaries,
        meter,
        orders=preset.sarima_orders,
        forecast_windows=preset.forecast_windows,
        forecast_min_window_seconds=preset.forecast_min_window_seconds,
        repeats=preset.repeats,
        seed=seed,
    )
