"""The forecasting study as results records (JSON Lines through ``lstm_energy.results.ResultsWriter``).

One record per trial, ``kind = "forecast_trial"``, and one per baseline, ``kind = "forecast_baseline"``
(docs/results-record.md). This module turns a SearchResult into the builders' arguments: the
``config`` of a trial or baseline, its scores, measurements and work. The records themselves (keys,
schema version) are built by ``lstm_energy.records``.
"""

from __future__ import annotations

import numpy as np

from lstm_energy.forecast.search import MODEL_DTYPE, SearchResult, TrialResult
from lstm_energy.records import FORECAST_BASELINE_KIND as BASELINE_KIND
from lstm_energy.records import FORECAST_TRIAL_KIND as TRIAL_KIND
from lstm_energy.records import forecast_baseline_record, forecast_trial_record, utc_now

__all__ = ["BASELINE_KIND", "TRIAL_KIND", "baseline_record", "trial_config", "trial_record", "write_records"]


def trial_config(result: SearchResult, trial: TrialResult) -> dict:
    """The ``config`` of a trial record: the model, its window, the training settings, series and preset."""
    c = trial.candidate
    training = result.preset.training
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
        "seed": result.seed,
        "series": result.series.name,
        "preset": result.preset.name,
    }


def trial_record(result: SearchResult, trial: TrialResult, *, environment: dict, created: str | None = None) -> dict:
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


def baseline_record(result: SearchResult, name: str, *, environment: dict, created: str | None = None) -> dict:
    """One baseline's accuracy as a record of kind "forecast_baseline" (it has no training run and is not priced)."""
    return forecast_baseline_record(
        config={"baseline": name, "series": result.series.name, "preset": result.preset.name},
        scores=result.baselines[name],
        units=result.series.units,
        environment=environment,
        created=created,
    )


def write_records(result: SearchResult, path) -> int:
    """Append every trial and baseline of ``result`` to the JSON Lines file ``path``; returns the count."""
    from lstm_energy.measure import environment
    from lstm_energy.results import ResultsWriter

    env = environment(blas_threads=result.threads)
    created = utc_now()
    records = [trial_record(result, t, environment=env, created=created) for t in result.trials]
    records += [baseline_record(result, name, environment=env, created=created) for name in result.baselines]
    with ResultsWriter(path) as writer:
        for record in records:
            writer.append(record)
    return len(records)
