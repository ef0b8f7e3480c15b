"""The forecasting study as results records (JSON Lines through ``lstm_energy.results.ResultsWriter``).

One record per trial, ``kind = "forecast_trial"`` (the recurrent trials, their seeded repeats, and the
fitted SARIMA / ETS models, ``config.family`` saying which), one per chosen model and precision,
``kind = "forecast_precision"``, and one per naive baseline, ``kind = "forecast_baseline"``
(docs/results-record.md). A trial record also carries a ``study`` block (role, resume key, search
strategy, training history, predictions, batch-1 energy) from which ``trial_from_record`` rebuilds the
trial for ``--resume`` and the page; ``load_resumed_study`` takes every finished piece back the same
way (trials, precision evaluations, classical fits, and which baselines are recorded), so a resumed
run measures and appends only what is missing. This module turns a SearchResult into the builders' arguments: the
``config`` of a trial or baseline, its scores, measurements and work. The records themselves (keys,
schema version) are built by ``lstm_energy.records``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Protocol

import numpy as np

from lstm_energy.errors import ConfigError
from lstm_energy.forecast.classical import ClassicalResult
from lstm_energy.forecast.data import Series
from lstm_energy.forecast.energy import Work
from lstm_energy.forecast.model import ModelConfig
from lstm_energy.forecast.search import (
    MODEL_DTYPE,
    Candidate,
    PrecisionResult,
    Preset,
    SearchResult,
    SplitScores,
    TrialResult,
    trial_key,
)
from lstm_energy.forecast.train import TrainConfig, TrainHistory
from lstm_energy.records import FORECAST_BASELINE_KIND as BASELINE_KIND
from lstm_energy.records import FORECAST_PRECISION_KIND as PRECISION_KIND
from lstm_energy.records import FORECAST_TRIAL_KIND as TRIAL_KIND
from lstm_energy.records import forecast_baseline_record, forecast_precision_record, forecast_trial_record, utc_now

__all__ = [
    "BASELINE_KIND",
    "KINDS",
    "PRECISION_KIND",
    "TRIAL_KIND",
    "ResumedStudy",
    "TrialAppender",
    "baseline_record",
    "check_resume_settings",
    "classical_from_record",
    "load_resumed",
    "load_resumed_study",
    "precision_from_record",
    "precision_record",
    "study_file_records",
    "study_trial_record",
    "trial_config",
    "trial_from_record",
    "trial_record",
    "write_records",
]


class StudySettings(Protocol):
    """What a trial record reads of its study: a SearchResult, or (``TrialAppender``, while the search
    is still running) a stand-in holding just these."""

    series: Series
    preset: Preset
    seed: int
    impl: str
    threads: int
    strategy: str


def trial_config(result: StudySettings, trial: TrialResult) -> dict:
    """The ``config`` of a trial record: the model, its window, the training settings, series and preset."""
    c = trial.candidate
    training = getattr(c, "training", None) or result.preset.training  # bayes / pareto tune lr and epochs
    return {
        "family": c.family,
        "cell": c.model.cell,
        "hidden_size": c.model.hidden_size,
        "num_layers": c.model.num_layers,
        "bidirectional": c.model.bidirectional,
        "window": c.window,
        "impl": result.impl,
        "dtype": np.dtype(MODEL_DTYPE).name,
        "threads": result.threads,
        "epochs": training.epochs,
        "batch_size": training.batch_size,
        "learning_rate": training.learning_rate,
        "clip_norm": training.clip_norm,
        "seed": trial.seed if hasattr(trial, "seed") else result.seed,  # a repeat's own seed
        "series": result.series.name,
        "preset": result.preset.name,
    }


def _energy_block(measurement) -> dict | None:
    if measurement is None:
        return None
    return {
        "joules_per_sequence": measurement.joules_per_sequence.as_dict(),
        "total_joules_per_sequence": measurement.total_joules_per_sequence.as_dict(),
        "batch": measurement.batch,
        "warnings": list(measurement.warnings),
    }


def _predictions(predictions: dict) -> dict:
    return {
        split: {"index": index.tolist(), "forecast": forecast.tolist()}
        for split, (index, forecast) in predictions.items()
    }


def trial_record(result: StudySettings, trial: TrialResult, *, environment: dict, created: str | None = None) -> dict:
    """One trial as a record of kind "forecast_trial" (docs/results-record.md)."""
    return forecast_trial_record(
        config=trial_config(result, trial),
        scores=trial.scores,
        units=result.series.units,
        training_run=trial.training_energy,
        training_seconds=trial.history.seconds,
        per_forecast=trial.forecast_energy,
        training_work=trial.training_work,
        forecast_work=trial.forecast_work,
        environment=environment,
        created=created,
    )


def study_trial_record(
    result: StudySettings, trial: TrialResult, *, environment: dict, created: str | None = None, role: str = "search"
) -> dict:
    """``trial_record`` plus the ``study`` block ``--resume`` and the page rebuild the trial from."""
    record = trial_record(result, trial, environment=environment, created=created)
    record["study"] = {
        "role": role,
        "key": trial_key(trial.candidate, trial.seed),
        "strategy": result.strategy,
        "tuned_training": trial.candidate.training is not None,
        "parameters": trial.parameters,
        "history": {"epoch_losses": trial.history.epoch_losses, "batch_sizes": trial.history.batch_sizes},
        "per_forecast_batch1": _energy_block(trial.forecast_energy_b1),
        "predictions": _predictions(trial.predictions),
    }
    return record


def classical_record(result: SearchResult, model: ClassicalResult, *, environment: dict, created: str | None = None):
    """A fitted SARIMA / ETS model as a "forecast_trial" record: its fit is the "training run"."""
    record = forecast_trial_record(
        config={
            "family": model.family,
            "model": model.label,
            "seed": result.seed,
            "series": result.series.name,
            "preset": result.preset.name,
            "fitted_on": "training split (levels), parameters then held fixed",
        },
        scores=model.scores,
        units=result.series.units,
        training_run=model.training_energy,
        training_seconds=model.fit_seconds,
        per_forecast=model.forecast_energy,
        training_work=Work(0.0, 0.0),
        forecast_work=Work(0.0, 0.0),
        environment=environment,
        created=created,
    )
    record["costs"]["note"] = "statsmodels' work is not in the cost models: no FLOPs were told to the meter"
    record["study"] = {
        "role": "classical",
        "parameters": model.parameters,
        "aic": {str(order): aic for order, aic in (model.aics or {}).items()},
        "repeated_fit_joules": [float(m.joules_per_call.median) for m in model.repeats or []],
        "per_forecast_batch1": _energy_block(model.forecast_energy_b1),
        "predictions": _predictions(model.predictions),  # --resume rebuilds the model's charts from these
    }
    return record


def _stat(median: float):
    return SimpleNamespace(median=median)


def _recorded_measurement(energy: dict, block: dict | None, *, run: dict | None = None, warnings=None):
    """A stand-in for a Measurement with what the page and the summaries read (medians, provenance, the
    recorded meter description and warnings). warnings: the record's own top-level ``warnings`` for the
    measurement that carries them (its ``energy.per_forecast`` block keeps none of its own); else the
    block's ``warnings`` (the batch-1 block of ``study``)."""
    if run is not None:
        return SimpleNamespace(
            joules_per_call=_stat(run["joules"]),
            total_joules_per_call=_stat(run["total_joules"]),
            idle_watts=run.get("idle_watts"),
            warnings=list(warnings or []),
            provenance=energy["provenance"],
            meter_description=energy["meter"],
        )
    if block is None:
        return None
    return SimpleNamespace(
        joules_per_sequence=_stat(block["joules_per_sequence"]["median"]),
        total_joules_per_sequence=_stat(block["total_joules_per_sequence"]["median"]),
        idle_watts=block.get("idle_watts"),
        warnings=list(warnings if warnings is not None else block.get("warnings") or []),
        provenance=energy["provenance"],
        meter_description=energy["meter"],
    )


def trial_from_record(record: dict) -> TrialResult:
    """A recurrent trial rebuilt from its record (``--resume``); its energies are the recorded medians."""
    config, study, energy = record["config"], record["study"], record["energy"]
    model = ModelConfig(
        config["cell"], config["hidden_size"], num_layers=config["num_layers"], bidirectional=config["bidirectional"]
    )
    training = None
    if study.get("tuned_training"):
        training = TrainConfig(
            epochs=config["epochs"],
            batch_size=config["batch_size"],
            learning_rate=config["learning_rate"],
            clip_norm=config["clip_norm"],
        )
    scores = _scores(record)
    history = TrainHistory(
        epoch_losses=list(study["history"]["epoch_losses"]),
        batch_sizes=list(study["history"]["batch_sizes"]),
        seconds=float(energy["training_run"]["seconds"]),
    )
    costs = record["costs"]
    return TrialResult(
        candidate=Candidate(config["family"], model, config["window"], training=training),
        scores=scores,
        predictions=_arrays(study["predictions"]),
        history=history,
        parameters=int(study["parameters"]),
        training_energy=_recorded_measurement(
            energy, None, run=energy["training_run"], warnings=record.get("warnings") or []
        ),
        forecast_energy=_recorded_measurement(energy, energy["per_forecast"]),
        training_work=Work(**costs["training_run"]),
        forecast_work=Work(**costs["per_forecast"]),
        forecast_energy_b1=_recorded_measurement(energy, study.get("per_forecast_batch1")),
        seed=int(config["seed"]),
        resumed=True,
    )


@dataclass
class ResumedStudy:
    """What a records file already holds of one series and preset (``load_resumed_study``).

    trials: resume key -> recurrent trial (search or repeat); precisions: the chosen trial's resume key
    -> precision -> PrecisionResult; classical: family ("SARIMA", "ETS") -> ClassicalResult;
    baselines: names of the baselines recorded; records: every record of the series and preset found
    (for the check that they were made by this run's meter)."""

    trials: dict[str, TrialResult] = field(default_factory=dict)
    precisions: dict[str, dict[str, PrecisionResult]] = field(default_factory=dict)
    classical: dict[str, ClassicalResult] = field(default_factory=dict)
    baselines: set[str] = field(default_factory=set)
    records: list[dict] = field(default_factory=list)


#: the record kinds a forecast study writes (``--records`` holds these and nothing else)
KINDS = (TRIAL_KIND, PRECISION_KIND, BASELINE_KIND)


def study_file_records(path) -> list[dict]:
    """Every record in the forecast records file ``path`` (missing or empty file: none).

    ResultsSchemaError, in one line, when ``path`` is not a forecast study's records file: it holds
    records of another kind (a sweep's ``profile`` records, benchmarks) or lines that are no record
    (an HTML page, text). A line cut short by a kill is a record's beginning that is not valid JSON:
    silently skipped when it is the last line (the kill that a --resume follows), skipped with a
    SkippedRecordsWarning when records follow it (an earlier kill, resumed since)."""
    import warnings
    from pathlib import Path

    from lstm_energy.errors import ResultsSchemaError
    from lstm_energy.results import SkippedRecordsWarning, load_records, require_kinds

    target = Path(path)
    if not target.exists() or target.stat().st_size == 0:
        return []
    wanted = (
        "--records takes a forecast study's records file (`lstm-energy forecast --records`); "
        "choose a new --records path"
    )
    try:
        loaded = load_records(target)
    except ResultsSchemaError as err:  # a whole document of another kind (an HTML page, a machine profile)
        raise ResultsSchemaError(f"{err}; {wanted}") from None
    lines = target.read_text(encoding="utf-8", errors="replace").splitlines()
    cut_earlier = []
    for problem in loaded.problems:
        text = lines[problem.line - 1].lstrip() if problem.line is not None and problem.line <= len(lines) else ""
        cut = "not valid JSON" in problem.message and text.startswith('{"')
        if not cut:
            where = f"line {problem.line}: " if problem.line is not None else ""
            raise ResultsSchemaError(
                f"{str(target)!r} holds what is no forecast record ({where}{problem.message}); {wanted}"
            )
        if not problem.message.startswith("truncated line"):
            cut_earlier.append(problem)
    if cut_earlier:
        shown = "; ".join(str(p) for p in cut_earlier[:3])
        warnings.warn(
            f"{len(cut_earlier)} record(s) cut short by an earlier kill were skipped: {shown}",
            SkippedRecordsWarning,
            stacklevel=2,
        )
    if loaded.records:
        require_kinds(target, loaded, KINDS, wanted, exclusive=True)
    return loaded.records


def _settings(record: dict) -> dict:
    """The engine settings a record's figures were made with: ``impl``, ``threads`` and ``dtype`` of a
    recurrent trial or precision evaluation; the BLAS ``threads`` of a classical fit (its environment)."""
    config = record.get("config") or {}
    found = {key: config[key] for key in ("impl", "threads", "dtype") if config.get(key) is not None}
    if "threads" not in found and (record.get("study") or {}).get("role") == "classical":
        blas_threads = (record.get("environment") or {}).get("blas_threads")
        if blas_threads is not None:
            found["threads"] = blas_threads
    return found


def _settings_text(settings: dict) -> str:
    flags = " ".join(f"--{key} {settings[key]}" for key in ("impl", "threads") if key in settings)
    dtype = f" (dtype {settings['dtype']})" if "dtype" in settings else ""
    return (flags + dtype).strip() or "unstated settings"


def check_resume_settings(records: list[dict], path, *, impl: str, threads: int) -> None:
    """ConfigError when a record a run would resume was made with another engine (``impl``), BLAS thread
    count or dtype than this run's: its joules and errors would be shown under this run's settings."""
    this = {"impl": impl, "threads": int(threads), "dtype": np.dtype(MODEL_DTYPE).name}
    held: dict[str, int] = {}
    for record in records:
        settings = _settings(record)
        if any(this[key] != value for key, value in settings.items()):
            text = _settings_text(settings)
            held[text] = held.get(text, 0) + 1
    if held:
        made = ", ".join(f"{n} with {text}" for text, n in sorted(held.items()))
        raise ConfigError(
            f"--records {str(path)!r} holds records of this study made with other settings ({made}); this run is "
            f"{_settings_text(this)}: resuming would show their figures under these settings. Resume with the "
            "settings they were made with, or write this run to a new --records path"
        )


def _study_records(path, *, series: str, preset: str, impl: str, threads: int) -> list[dict]:
    """The records at ``path`` of this series and preset (``study_file_records``), refused when made with
    another ``impl``, thread count or dtype (``check_resume_settings``)."""
    records = [
        r
        for r in study_file_records(path)
        if (r.get("config") or {}).get("series") == series and (r.get("config") or {}).get("preset") == preset
    ]
    check_resume_settings(records, path, impl=impl, threads=threads)
    return records


def load_resumed_study(path, *, series: str, preset: str, seed: int, impl: str, threads: int) -> ResumedStudy:
    """Every finished piece of a run of ``series``, ``preset`` and ``seed`` in the records at ``path``:
    recurrent trials, precision evaluations of their chosen trials, classical fits of that seed (those
    written with their predictions) and baselines. ResultsSchemaError when ``path`` is not a forecast
    records file; ConfigError when its records of this study were made with another ``impl`` or
    ``threads`` (``check_resume_settings``)."""
    records = _study_records(path, series=series, preset=preset, impl=impl, threads=threads)
    found = ResumedStudy(records=records)
    for record in records:
        role = (record.get("study") or {}).get("role")
        if record.get("kind") == TRIAL_KIND and role in ("search", "repeat"):
            found.trials[record["study"]["key"]] = trial_from_record(record)
    for record in records:
        config = record["config"]
        if record.get("kind") == PRECISION_KIND and config.get("trial") in found.trials:
            by_precision = found.precisions.setdefault(config["trial"], {})
            by_precision[config["precision"]] = precision_from_record(record, found.trials[config["trial"]])
        elif record.get("kind") == TRIAL_KIND and _resumable_classical(record, seed):
            found.classical[config["family"]] = classical_from_record(record)
        elif record.get("kind") == BASELINE_KIND:
            found.baselines.add(config["baseline"])
    return found


def load_resumed(path, *, series: str, preset: str, impl: str, threads: int) -> dict[str, TrialResult]:
    """resume key -> trial, for every recurrent trial (search or repeat) of this series and preset in the
    records at ``path`` (missing file: none; refused as ``load_resumed_study`` refuses). A line cut short
    by a kill is skipped."""
    found = {}
    for record in _study_records(path, series=series, preset=preset, impl=impl, threads=threads):
        study = record.get("study") or {}
        if record.get("kind") == TRIAL_KIND and study.get("role") in ("search", "repeat"):
            found[study["key"]] = trial_from_record(record)
    return found


def _resumable_classical(record: dict, seed: int) -> bool:
    """A classical fit of this seed whose record holds its predictions (older records do not: refitted)."""
    study = record.get("study") or {}
    return study.get("role") == "classical" and record["config"].get("seed") == seed and "predictions" in study


def _arrays(predictions: dict) -> dict:
    """split -> (target_index, forecasts) arrays from a record's ``{"index": [...], "forecast": [...]}``."""
    return {
        split: (np.asarray(p["index"], dtype=np.intp), np.asarray(p["forecast"], dtype=np.float64))
        for split, p in predictions.items()
    }


def _scores(record: dict) -> dict[str, SplitScores]:
    return {
        split: SplitScores(block["rmse"], block["mae"])
        for split, block in record["accuracy"].items()
        if isinstance(block, dict)
    }


def precision_from_record(record: dict, trial: TrialResult) -> PrecisionResult:
    """A chosen trial's evaluation in one precision, rebuilt from its "forecast_precision" record
    (``--resume``); its energies are the recorded medians."""
    energy = record["energy"]
    return PrecisionResult(
        trial=trial,
        precision=record["config"]["precision"],
        scores=_scores(record),
        forecast_energy=_recorded_measurement(energy, energy["per_forecast"], warnings=record.get("warnings") or []),
        forecast_energy_b1=_recorded_measurement(energy, energy["per_forecast_batch1"]),
        forecast_work=Work(**record["costs"]["per_forecast"]),
        resumed=True,
    )


def classical_from_record(record: dict) -> ClassicalResult:
    """A SARIMA / ETS fit rebuilt from its "forecast_trial" record (``--resume``): scores, predictions
    and the recorded energies (the repeated fits' joules as stand-ins with a median)."""
    config, study, energy = record["config"], record["study"], record["energy"]
    run = energy["training_run"]
    return ClassicalResult(
        family=config["family"],
        label=config["model"],
        scores=_scores(record),
        predictions=_arrays(study["predictions"]),
        parameters=int(study["parameters"]),
        fit_seconds=float(run["seconds"]),
        training_energy=_recorded_measurement(energy, None, run=run, warnings=record.get("warnings") or []),
        forecast_energy=_recorded_measurement(energy, energy["per_forecast"]),
        forecast_energy_b1=_recorded_measurement(energy, study.get("per_forecast_batch1")),
        aics=dict(study.get("aic") or {}) or None,
        repeats=[SimpleNamespace(joules_per_call=_stat(j)) for j in study.get("repeated_fit_joules") or []],
        resumed=True,
    )


class TrialAppender:
    """The search's ``on_trial`` hook: appends each finished trial to ``path`` at once (flushed, fsync'ed)."""

    def __init__(self, path, *, result_stub: StudySettings, environment: dict):
        self.path = path
        self.stub = result_stub
        self.environment = environment
        self.count = 0

    def __call__(self, trial: TrialResult, role: str) -> None:
        from lstm_energy.results import ResultsWriter

        with ResultsWriter(self.path) as writer:
            record = study_trial_record(self.stub, trial, environment=self.environment, created=utc_now(), role=role)
            writer.append(record)
        self.count += 1


def baseline_record(result: SearchResult, name: str, *, environment: dict, created: str | None = None) -> dict:
    """One baseline's accuracy as a record of kind "forecast_baseline" (it has no training run and is not priced)."""
    return forecast_baseline_record(
        config={"baseline": name, "series": result.series.name, "preset": result.preset.name},
        scores=result.baselines[name],
        units=result.series.units,
        environment=environment,
        created=created,
    )


def precision_record(
    result: SearchResult, evaluated: PrecisionResult, *, environment: dict, created: str | None = None
) -> dict:
    """A chosen model forecasting in one precision, as a record of kind "forecast_precision"."""
    trial = evaluated.trial
    config = trial_config(result, trial) | {
        "precision": evaluated.precision,
        "trial": trial_key(trial.candidate, trial.seed),
    }
    return forecast_precision_record(
        config=config,
        scores=evaluated.scores,
        units=result.series.units,
        per_forecast=evaluated.forecast_energy,
        per_forecast_batch1=evaluated.forecast_energy_b1,
        forecast_work=evaluated.forecast_work,
        environment=environment,
        created=created,
    )


def write_records(result: SearchResult, path, *, trials: bool = True, recorded_baselines=frozenset()) -> int:
    """Append the chosen models' precision evaluations, the classical models and baselines of ``result``
    (and, when ``trials``, every trial: the search appends those itself as they finish) to the JSON
    Lines file ``path``; returns the count. What --resume took from ``path`` is not appended again:
    resumed precision evaluations and classical models, and the baselines named in ``recorded_baselines``."""
    from lstm_energy.measure import environment
    from lstm_energy.results import ResultsWriter

    env = environment(blas_threads=result.threads)
    created = utc_now()
    records = []
    if trials:
        records += [study_trial_record(result, t, environment=env, created=created) for t in result.trials]
        chosen = {id(runs[0]) for runs in result.repeats.values() if runs}
        records += [
            study_trial_record(result, t, environment=env, created=created, role="repeat")
            for runs in result.repeats.values()
            for t in runs
            if isinstance(t, TrialResult) and id(t) not in chosen
        ]
    records += [
        precision_record(result, evaluated, environment=env, created=created)
        for by_precision in result.precisions.values()
        for evaluated in by_precision.values()
        if not evaluated.resumed
    ]
    records += [
        classical_record(result, m, environment=env, created=created) for m in result.classical if not m.resumed
    ]
    records += [
        baseline_record(result, name, environment=env, created=created)
        for name in result.baselines
        if name not in recorded_baselines
    ]
    with ResultsWriter(path) as writer:
        for record in records:
            writer.append(record)
    return len(records)
