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

import numpy as np

from lstm_energy.forecast import baselines as baseline_forecasts
from lstm_energy.forecast.data import SPLITS, ForecastDataset, Series, mae, prepare, rmse
from lstm_energy.forecast.energy import Work, forecast_work, measure_run, training_work
from lstm_energy.forecast.model import Forecaster, ModelConfig
from lstm_energy.forecast.train import TrainConfig, TrainHistory, planned_batch_sizes, train

#: parameters, activations and kernels of every trial
MODEL_DTYPE = np.float32
#: family label -> (cell, bidirectional)
FAMILIES = {"LSTM": ("lstm", False), "GRU": ("gru", False), "RNN": ("rnn", False), "BiLSTM": ("lstm", True)}


@dataclass(frozen=True)
class Candidate:
    """One point of the search: a model configuration and the window length it reads."""

    family: str
    model: ModelConfig
    window: int

    @property
    def label(self) -> str:
        return f"{self.family} H={self.model.hidden_size} L={self.model.num_layers} T={self.window}"


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
            raise ValueError(f"unknown model families {unknown}; choose from {list(FAMILIES)}")
        if not (self.hidden_sizes and self.windows and self.num_layers):
            raise ValueError("hidden_sizes, windows and num_layers each need at least one value")

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
                raise ValueError(f"random search needs samples_per_family >= 1; got {samples_per_family!r}")
            rng = np.random.default_rng(seed)
            chosen = []
            for family in self.families:
                grid = self.family_grid(family)
                picks = rng.choice(len(grid), size=min(samples_per_family, len(grid)), replace=False)
                chosen.extend(grid[i] for i in sorted(picks))
            return chosen
        raise ValueError(f"search strategy must be 'grid' or 'random'; got {strategy!r}")


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


PRESETS = {
    # under a minute on an idle 2-core machine (training, its idle twin and the per-forecast
    # protocol): one window length, two widths, every family
    "quick": Preset(
        name="quick",
        space=SearchSpace(hidden_sizes=(8, 24), windows=(24,), num_layers=(1,)),
        strategy="grid",
        training=TrainConfig(epochs=30, batch_size=32, learning_rate=1e-2, clip_norm=1.0),
        forecast_windows=5,
        forecast_min_window_seconds=0.1,
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
    ),
}


@dataclass(frozen=True)
class SplitScores:
    """Errors of one forecaster on one split, original units."""

    rmse: float
    mae: float


@dataclass
class TrialResult:
    """Everything one trial learned. predictions: split -> (target_index (W,), forecasts (W,))."""

    candidate: Candidate
    scores: dict[str, SplitScores]
    predictions: dict[str, tuple[np.ndarray, np.ndarray]]
    history: TrainHistory
    parameters: int
    training_energy: object  # lstm_energy.measure.Measurement, one window = the whole training run
    forecast_energy: object  # lstm_energy.measure.Measurement over predict calls on the test split
    training_work: Work  # FLOPs and bytes of the whole training run (cost models)
    forecast_work: Work  # FLOPs and bytes of one forecast (one window), cost models

    @property
    def training_joules(self) -> float:
        """Dynamic (idle-subtracted) joules of the whole training run."""
        return float(self.training_energy.joules_per_call.median)

    @property
    def training_total_joules(self) -> float:
        return float(self.training_energy.total_joules_per_call.median)

    @property
    def joules_per_forecast(self) -> float:
        """Dynamic joules per one-step forecast (median over the protocol's windows)."""
        return float(self.forecast_energy.joules_per_sequence.median)

    @property
    def total_joules_per_forecast(self) -> float:
        return float(self.forecast_energy.total_joules_per_sequence.median)


@dataclass
class SearchResult:
    series: Series
    preset: Preset
    seed: int
    trials: list[TrialResult]
    baselines: dict[str, dict[str, SplitScores]]  # baseline name -> split -> scores
    baseline_predictions: dict[str, tuple[np.ndarray, np.ndarray]]  # test split
    boundaries: tuple[int, int]
    provenance: str
    meter_description: dict
    warnings: list[str] = field(default_factory=list)
    threads: int = 1
    impl: str = "cython"

    def best_per_family(self) -> dict[str, TrialResult]:
        """The trial with the lowest validation RMSE in each family (test is never used to choose)."""
        best: dict[str, TrialResult] = {}
        for trial in self.trials:
            family = trial.candidate.family
            if family not in best or trial.scores["validation"].rmse < best[family].scores["validation"].rmse:
                best[family] = trial
        return best

    def pareto_indices(self, energy: str = "training") -> list[int]:
        """Trials no other trial beats on both joules and test RMSE (lower is better).

        energy: "training" (dynamic joules of the whole training run) or "forecast" (per forecast).
        """
        return pareto_front([(energy_of(t, energy), t.scores["test"].rmse) for t in self.trials])


def energy_of(trial: TrialResult, energy: str) -> float:
    """The dynamic joules a scatter or front ranks by: "training" run or one "forecast"."""
    if energy == "training":
        return trial.training_joules
    if energy == "forecast":
        return trial.joules_per_forecast
    raise ValueError(f"energy must be 'training' or 'forecast'; got {energy!r}")


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
    from lstm_energy.measure.protocol import measure

    model = Forecaster(candidate.model, seed=seed, impl=impl, dtype=MODEL_DTYPE)
    config = replace(training, seed=seed)
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

    test_x = model.sequence_first(dataset.test.inputs)  # prepared once, outside the energy windows
    batch = len(dataset.test)
    per_call = forecast_work(candidate.model, batch=batch, seq_len=candidate.window, dtype=model.dtype)
    forecast_energy = measure(
        lambda: model.predict_sequence_first(test_x),
        meter,
        batch=batch,
        flops=per_call.flops,
        bytes=per_call.bytes,
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
        forecast_work=per_call * (1.0 / batch),
    )


def baseline_scores(dataset: ForecastDataset):
    """Every baseline the series supports, scored on each split's targets (original units)."""
    scores, test_predictions = {}, {}
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


def run_search(
    series: Series,
    preset: Preset,
    meter,
    *,
    seed: int = 0,
    impl: str = "cython",
    threads: int = 1,
    progress: Callable[[str], None] | None = None,
) -> SearchResult:
    """Run every candidate of the preset on ``series`` under ``meter``; seeded and in a fixed order.

    threads: BLAS threads (threadpoolctl) for the whole search. 1 by default: these matrices are
    small (H <= 64, B <= 105), so extra BLAS threads only add synchronisation (3.5x slower training
    at H=24 with 2 threads on the 2-core development machine).
    """
    from threadpoolctl import threadpool_limits

    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int; got {threads!r}")
    with threadpool_limits(limits=threads):
        result = _run_search(series, preset, meter, seed=seed, impl=impl, progress=progress)
    result.threads = threads
    result.impl = impl
    return result


def _run_search(series, preset, meter, *, seed, impl, progress) -> SearchResult:
    candidates = preset.space.candidates(preset.strategy, samples_per_family=preset.samples_per_family, seed=seed)
    datasets: dict[int, ForecastDataset] = {}
    trials = []
    for number, candidate in enumerate(candidates, start=1):
        if candidate.window not in datasets:
            datasets[candidate.window] = prepare(series, window=candidate.window)
        trial = run_trial(
            datasets[candidate.window],
            candidate,
            preset.training,
            meter,
            seed=seed,
            impl=impl,
            forecast_windows=preset.forecast_windows,
            forecast_min_window_seconds=preset.forecast_min_window_seconds,
        )
        trials.append(trial)
        if progress is not None:
            progress(
                f"[{number}/{len(candidates)}] {candidate.label}: test RMSE {trial.scores['test'].rmse:.3f} "
                f"{series.units}, training {trial.training_joules:.3g} J ({trial.history.seconds:.1f} s), "
                f"{trial.joules_per_forecast:.3g} J/forecast ({meter.provenance})"
            )
    # every window length leaves the same validation and test targets, so baselines are scored once;
    # the largest window has the fewest training targets, which is the fairest training comparison
    reference = datasets[max(datasets)]
    for window, dataset in datasets.items():
        for split in ("validation", "test"):
            if not np.array_equal(dataset.split(split).target_index, reference.split(split).target_index):
                raise ValueError(
                    f"window {window} leaves different {split} targets than window {max(datasets)}, so trials "
                    "would be scored on different points; use windows shorter than the training split"
                )
    scores, test_predictions = baseline_scores(reference)
    warnings = sorted({w for t in trials for m in (t.training_energy, t.forecast_energy) for w in m.warnings})
    return SearchResult(
        series=series,
        preset=preset,
        seed=seed,
        trials=trials,
        baselines=scores,
        baseline_predictions=test_predictions,
        boundaries=reference.boundaries,
        provenance=meter.provenance,
        meter_description=meter.describe(),
        warnings=warnings,
    )
