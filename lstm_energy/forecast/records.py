"""The forecasting study as results records (JSON Lines through ``lstm_energy.results.ResultsWriter``).

One record per trial, ``kind = "forecast_trial"``, and one per baseline, ``kind = "forecast_baseline"``
(docs/results-record.md: "the forecast job adds its own kinds"). Same conventions as the profile
record: schema version, units in key names, every energy block with its provenance and meter.

    {"schema_version": 1, "kind": "forecast_trial", "created": "...Z",
     "config": {"family", "cell", "hidden_size", "num_layers", "bidirectional", "window", "impl",
                "dtype", "threads", "epochs", "batch_size", "learning_rate", "clip_norm", "seed",
                "series", "preset"},
     "accuracy": {"units": "ppm", "train": {"rmse", "mae"}, "validation": {...}, "test": {...}},
     "energy": {"provenance", "meter", "headline_domains",
                "training_run": {"joules": dynamic, "total_joules", "seconds", "idle_watts"},
                "per_forecast": {"joules_per_sequence": {median, q1, q3, ci95_low, ci95_high},
                                 "total_joules_per_sequence": {...}, "idle_watts",
                                 "windows", "calls_per_window", "batch"}},
     "costs": {"source", "training_run": {"flops", "bytes"}, "per_forecast": {"flops", "bytes"}},
     "environment": {...}, "warnings": [...]}
"""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from lstm_energy.forecast.search import MODEL_DTYPE, SearchResult, TrialResult

SCHEMA_VERSION = 1
TRIAL_KIND = "forecast_trial"
BASELINE_KIND = "forecast_baseline"
COSTS_SOURCE = ("analytic cost models: lstm_energy.costs (recurrent layer, via lstm_energy.measure.work) plus "
                "lstm_energy.forecast.energy (final linear layer, clipping, Adam); never measured")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scores(scores: dict, units: str) -> dict:
    block = {"units": units}
    block.update({split: {"rmse": s.rmse, "mae": s.mae} for split, s in scores.items()})
    return block


def trial_record(result: SearchResult, trial: TrialResult, *, environment: dict, created: str | None = None) -> dict:
    """One trial as a record (see the module docstring for the keys)."""
    c = trial.candidate
    training = result.preset.training
    run, per_forecast = trial.training_energy, trial.forecast_energy
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": TRIAL_KIND,
        "created": created or _now(),
        "config": {
            "family": c.family, "cell": c.model.cell, "hidden_size": c.model.hidden_size,
            "num_layers": c.model.num_layers, "bidirectional": c.model.bidirectional, "window": c.window,
            "impl": result.impl, "dtype": np.dtype(MODEL_DTYPE).name, "threads": result.threads, "epochs": training.epochs,
            "batch_size": training.batch_size, "learning_rate": training.learning_rate,
            "clip_norm": training.clip_norm, "seed": result.seed, "series": result.series.name,
            "preset": result.preset.name,
        },
        "accuracy": _scores(trial.scores, result.series.units),
        "energy": {
            "provenance": run.provenance,
            "meter": dict(run.meter_description),
            "headline_domains": list(run.headline_domains),
            "training_run": {
                "joules": trial.training_joules,
                "total_joules": trial.training_total_joules,
                "seconds": trial.history.seconds,
                "idle_watts": run.idle_watts,
            },
            "per_forecast": {
                "joules_per_sequence": per_forecast.joules_per_sequence.as_dict(),
                "total_joules_per_sequence": per_forecast.total_joules_per_sequence.as_dict(),
                "idle_watts": per_forecast.idle_watts,
                "windows": len(per_forecast.windows),
                "calls_per_window": per_forecast.calls_per_window,
                "batch": per_forecast.batch,
            },
        },
        "costs": {
            "source": COSTS_SOURCE,
            "training_run": {"flops": trial.training_work.flops, "bytes": trial.training_work.bytes},
            "per_forecast": {"flops": trial.forecast_work.flops, "bytes": trial.forecast_work.bytes},
        },
        "environment": dict(environment),
        "warnings": sorted(set(run.warnings) | set(per_forecast.warnings)),
    }


def baseline_record(result: SearchResult, name: str, *, environment: dict, created: str | None = None) -> dict:
    """One baseline's accuracy (it has no training run and is not priced)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": BASELINE_KIND,
        "created": created or _now(),
        "config": {"baseline": name, "series": result.series.name, "preset": result.preset.name},
        "accuracy": _scores(result.baselines[name], result.series.units),
        "environment": dict(environment),
        "warnings": [],
    }


def write_records(result: SearchResult, path) -> int:
    """Append every trial and baseline of ``result`` to the JSON Lines file ``path``; returns the count."""
    from lstm_energy.measure import environment
    from lstm_energy.results import ResultsWriter

    env = environment(blas_threads=result.threads)
    created = _now()
    records = [trial_record(result, t, environment=env, created=created) for t in result.trials]
    records += [baseline_record(result, name, environment=env, created=created) for name in result.baselines]
    with ResultsWriter(path) as writer:
        for record in records:
            writer.append(record)
    return len(records)
