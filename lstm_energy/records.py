"""The results record: its schema version, the derived figures, and the one builder per kind.

Every record lstm_energy writes is made here (docs/results-record.md describes the keys):

    profile_record(...)            kind "profile", one configuration (``ProfileResult.to_record``)
    benchmark_record(...)          kind "benchmark", one pytest-benchmark test (the ``energy`` fixture)
    forecast_trial_record(...)     kind "forecast_trial", one trained forecaster (the forecast study)
    forecast_baseline_record(...)  kind "forecast_baseline", one baseline forecaster's accuracy
    forecast_precision_record(...) kind "forecast_precision", a chosen forecaster in one precision

``derived_figures`` is the one computation of GFLOP/s, dynamic watts, pJ/FLOP and nJ/byte, used by the
builders and by the report for records that lack a figure. ``lstm_energy.results`` validates, stores
and loads records against the same ``SCHEMA_VERSION``.

Why a module of its own (not inside ``results``): the producers (``measure``, the pytest plugin, the
forecast study) and the consumer (``results``) all import it, and the pytest plugin loads in every
pytest run, so this module imports only the standard library. Builders take a measurement by duck
type (``lstm_energy.measure.Measurement``: ``joules_per_call`` ... ``warnings``) and the record's
``config`` as a plain dict, so they depend on no other lstm_energy module.

Key order inside a block is not part of the schema (JSON objects are unordered).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

# SCHEMA_VERSION history (bump on any incompatible change; old versions must keep loading through
# ``lstm_energy.results.upgrade_record``):
#   1 - (lstm_energy 0.1.0) first version: schema_version, kind, created, config, energy, time,
#       costs, derived, environment, warnings (docs/results-record.md); kinds "profile",
#       "benchmark", "forecast_trial", "forecast_baseline". Every file written so far is version 1
#       (tests/data/records-v1/ holds samples of each kind).
SCHEMA_VERSION = 1

# Version of ``lstm-energy meters --json`` (README "Energy meters and provenance"), kept here so every
# schema version lives in one module:
#   1 - backends, auto, virtual_machine, measured_available, schema_version
METERS_JSON_SCHEMA_VERSION = 1

PROFILE_KIND = "profile"
BENCHMARK_KIND = "benchmark"
FORECAST_TRIAL_KIND = "forecast_trial"
FORECAST_BASELINE_KIND = "forecast_baseline"
#: issue 18: a family's chosen forecaster forecasting in fp32 / bf16 / int8 (added within version 1:
#: a new kind, which older readers pass through like any kind they do not know)
FORECAST_PRECISION_KIND = "forecast_precision"

#: key of pytest-benchmark's ``extra_info`` that holds a benchmark record
EXTRA_INFO_KEY = "lstm_energy"
#: key of a benchmark's extra_info where the pytest plugin says why the `energy` fixture stored no record
#: ({"error": message, "meter": name}): the meter refused to open or to count
ENERGY_ERROR_KEY = "lstm_energy_error"
#: key of a benchmark's extra_info where the benchmarks/ harness says why it timed without energy
ENERGY_UNAVAILABLE_KEY = "energy_unavailable"

#: how FLOPs are counted (the ``costs.convention`` of benchmark records; lstm_energy.costs states the same)
FLOP_CONVENTION = "FLOP = one add or multiply; a multiply-add counts 2; transcendentals counted separately"
#: ``costs.source`` of a benchmark record: the test told the fixture its FLOPs and bytes
BENCHMARK_COSTS_SOURCE = "given by the test (energy.configure)"
#: ``costs.source`` of a forecast trial record
FORECAST_COSTS_SOURCE = (
    "analytic cost models: lstm_energy.costs (recurrent layer, via lstm_energy.measure.work) plus "
    "lstm_energy.forecast.energy (final linear layer, clipping, Adam); never measured"
)


def utc_now() -> str:
    """The ``created`` timestamp: UTC, whole seconds, ``2026-11-25T21:30:00Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------ derived figures


def _ratio(numerator, denominator, scale: float = 1.0) -> float | None:
    """numerator / denominator * scale; None when either is unknown (None) or the denominator is 0."""
    if numerator is None or denominator is None or not denominator:
        return None
    return float(numerator) / float(denominator) * scale


def derived_figures(seconds_per_call, joules_per_call, flops=None, bytes=None) -> dict:
    """The record's ``derived`` block from per-call medians.

    seconds_per_call: wall seconds of one call; joules_per_call: dynamic (idle subtracted) joules of
    one call; flops: FLOPs per call; bytes: expected bytes moved per call. Returns
    ``{"gflops_per_second": GFLOP/s, "watts": dynamic W, "pj_per_flop": pJ per FLOP,
    "nj_per_byte": nJ per byte}``; a figure is None when an input it needs is None or its
    denominator is 0.
    """
    return {
        "gflops_per_second": _ratio(flops, seconds_per_call, 1e-9),
        "watts": _ratio(joules_per_call, seconds_per_call),
        "pj_per_flop": _ratio(joules_per_call, flops, 1e12),
        "nj_per_byte": _ratio(joules_per_call, bytes, 1e9),
    }


def arithmetic_intensity(flops, bytes) -> float | None:
    """FLOP per byte moved; None when either is unknown or no bytes move."""
    return _ratio(flops, bytes)


# ------------------------------------------------------------------------------------ shared blocks


def energy_block(measurement, *, per_sequence: bool = True) -> dict:
    """The ``energy`` block of a measurement (joules per call; per sequence = per call / batch).

    per_sequence: include ``joules_per_sequence`` and ``total_joules_per_sequence`` (False when the
    batch is unknown, e.g. a benchmark not told it).
    """
    m = measurement
    block = {
        "provenance": m.provenance,
        "meter": dict(m.meter_description),
        "headline_domains": list(m.headline_domains),
        "joules_per_call": m.joules_per_call.as_dict(),
    }
    if per_sequence:
        block["joules_per_sequence"] = m.joules_per_sequence.as_dict()
        block["total_joules_per_sequence"] = m.total_joules_per_sequence.as_dict()
    block["idle_watts"] = m.idle_watts
    block["domains_joules_per_call"] = dict(m.domains_joules_per_call)
    return block


def time_block(measurement, *, per_sequence: bool = True) -> dict:
    """The ``time`` block of a measurement (seconds per call; per sequence = median per call / batch)."""
    m = measurement
    block = {"seconds_per_call": m.seconds_per_call.as_dict()}
    if per_sequence:
        block["seconds_per_sequence"] = m.seconds_per_call.median / m.batch
    block.update(
        {
            "calls_per_window": m.calls_per_window,
            "windows": len(m.windows),
            "window_seconds": m.window_seconds,
            "warmup_calls": m.warmup_calls,
            "cv": m.cv_seconds,
        }
    )
    block.update(host_lock_figures(m))
    return block


def host_lock_figures(measurement) -> dict:
    """``lock_wait_seconds`` (time spent waiting for the host measurement lock, 0 when free or off) and
    ``window_spans`` ([start, end] Unix wall seconds of each work window through its idle twin), so
    that non-overlap of measurements on one host can be checked from the records alone."""
    spans = [[w.started_at, w.ended_at] for w in measurement.windows if getattr(w, "ended_at", 0.0)]
    return {"lock_wait_seconds": float(getattr(measurement, "lock_wait_seconds", 0.0)), "window_spans": spans}


def _head(kind: str, created: str | None, config: Mapping) -> dict:
    return {"schema_version": SCHEMA_VERSION, "kind": kind, "created": created or utc_now(), "config": dict(config)}


# ------------------------------------------------------------------------------------ builders


def profile_record(
    *, config: Mapping, measurement, costs: Mapping, environment: Mapping, created: str | None = None, warnings=()
) -> dict:
    """A ``"profile"`` record: one configuration measured by the protocol.

    config: the configuration dict (cell, nonlinearity, impl, phase, batch, seq_len, input_size,
    hidden_size, num_layers, bidirectional, dtype, threads); measurement: the protocol's Measurement
    (its ``batch`` = sequences per call); costs: the ``costs`` block (``WorkCosts.as_record()``: flops
    with ``total``, bytes with ``expected``, ...); environment: ``lstm_energy.measure.environment()``;
    created: UTC timestamp (default now); warnings: protocol warnings, each saying what to do.
    """
    m = measurement
    record = _head(PROFILE_KIND, created, config)
    record.update(
        {
            "energy": energy_block(m),
            "time": time_block(m),
            "costs": dict(costs),
            "derived": derived_figures(
                m.seconds_per_call.median, m.joules_per_call.median, costs["flops"]["total"], costs["bytes"]["expected"]
            ),
            "environment": dict(environment),
            "warnings": list(warnings),
        }
    )
    return record


def add_host_block(record: dict, host: Mapping) -> dict:
    """``record`` with its ``host`` block: who measured it in a fleet sweep (hostname, machine id, CPU
    package, CPU vendor/family/model and microarchitecture; ``lstm_energy.machine.identity``). The
    meter and its provenance stay in ``energy``. Records of one-host runs have no ``host`` block."""
    return {**record, "host": dict(host)}


def benchmark_record(
    *,
    config: Mapping,
    measurement,
    batch: int | None = None,
    flops: float | None = None,
    bytes: float | None = None,
    environment: Mapping,
    created: str | None = None,
) -> dict:
    """A ``"benchmark"`` record: one pytest-benchmark test measured by the ``energy`` fixture.

    config: what the test passed to ``energy.configure`` (cell, sizes, impl, ...), without batch;
    batch: sequences per call when the test said (adds ``config.batch`` and the per-sequence
    figures); flops / bytes: FLOPs and expected bytes per call when the test said (adds
    ``costs.flops.total`` / ``costs.bytes.expected`` and the figures that need them).
    """
    m = measurement
    config = dict(config)
    per_sequence = batch is not None
    if per_sequence:
        config["batch"] = batch
    costs: dict[str, object] = {"convention": FLOP_CONVENTION, "source": BENCHMARK_COSTS_SOURCE}
    if flops is not None:
        costs["flops"] = {"total": flops}
    if bytes is not None:
        costs["bytes"] = {"expected": bytes}
    if flops and bytes:
        costs["arithmetic_intensity_flop_per_byte"] = arithmetic_intensity(flops, bytes)
    record = _head(BENCHMARK_KIND, created, config)
    record.update(
        {
            "energy": energy_block(m, per_sequence=per_sequence),
            "time": time_block(m, per_sequence=per_sequence),
            "costs": costs,
            "derived": derived_figures(m.seconds_per_call.median, m.joules_per_call.median, flops, bytes),
            "environment": dict(environment),
            "warnings": list(m.warnings),
        }
    )
    return record


def accuracy_block(scores: Mapping, units: str) -> dict:
    """``{"units": units, split: {"rmse", "mae"}, ...}`` from split -> scores (objects with rmse, mae)."""
    block = {"units": units}
    block.update({split: {"rmse": s.rmse, "mae": s.mae} for split, s in scores.items()})
    return block


def forecast_trial_record(
    *,
    config: Mapping,
    scores: Mapping,
    units: str,
    training_run,
    training_seconds: float,
    per_forecast,
    training_work,
    forecast_work,
    environment: Mapping,
    created: str | None = None,
) -> dict:
    """A ``"forecast_trial"`` record: one trained forecaster, its accuracy and its energy.

    config: the trial's settings (family, cell, hidden_size, ..., series, preset); scores: split ->
    object with ``rmse``, ``mae`` in ``units`` (the series' units); training_run: the Measurement of
    the whole training run (one call = the run); training_seconds: the run's wall seconds;
    per_forecast: the Measurement over forecast calls (per sequence = per forecast);
    training_work / forecast_work: objects with ``flops`` and ``bytes`` (cost models) of the run and of
    one forecast. Warnings are both measurements' warnings, sorted, without repeats.
    """
    run = training_run
    record = _head(FORECAST_TRIAL_KIND, created, config)
    record.update(
        {
            "accuracy": accuracy_block(scores, units),
            "energy": {
                "provenance": run.provenance,
                "meter": dict(run.meter_description),
                "headline_domains": list(run.headline_domains),
                "training_run": {
                    "joules": float(run.joules_per_call.median),
                    "total_joules": float(run.total_joules_per_call.median),
                    "seconds": training_seconds,
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
                "source": FORECAST_COSTS_SOURCE,
                "training_run": {"flops": training_work.flops, "bytes": training_work.bytes},
                "per_forecast": {"flops": forecast_work.flops, "bytes": forecast_work.bytes},
            },
            "environment": dict(environment),
            "warnings": sorted(set(run.warnings) | set(per_forecast.warnings)),
        }
    )
    return record


def _per_forecast_block(measurement) -> dict:
    return {
        "joules_per_sequence": measurement.joules_per_sequence.as_dict(),
        "total_joules_per_sequence": measurement.total_joules_per_sequence.as_dict(),
        "idle_watts": measurement.idle_watts,
        "windows": len(measurement.windows),
        "calls_per_window": measurement.calls_per_window,
        "batch": measurement.batch,
    }


def forecast_precision_record(
    *,
    config: Mapping,
    scores: Mapping,
    units: str,
    per_forecast,
    per_forecast_batch1,
    forecast_work,
    environment: Mapping,
    created: str | None = None,
) -> dict:
    """A ``"forecast_precision"`` record: a family's chosen forecaster (its trained fp32 weights)
    forecasting in ``config["precision"]`` ("fp32", "bf16", "int8"): accuracy and joules per forecast.

    config: the chosen trial's config plus ``precision`` and ``trial`` (its --resume key);
    per_forecast / per_forecast_batch1: the Measurements over the batched test-split call and at batch 1;
    forecast_work: ``flops`` and ``bytes`` of one forecast in this precision (cost models). No training
    run: the model was trained once, in fp32 (its ``forecast_trial`` record).
    """
    record = _head(FORECAST_PRECISION_KIND, created, config)
    record.update(
        {
            "accuracy": accuracy_block(scores, units),
            "energy": {
                "provenance": per_forecast.provenance,
                "meter": dict(per_forecast.meter_description),
                "headline_domains": list(per_forecast.headline_domains),
                "per_forecast": _per_forecast_block(per_forecast),
                "per_forecast_batch1": _per_forecast_block(per_forecast_batch1),
            },
            "costs": {
                "source": FORECAST_COSTS_SOURCE,
                "per_forecast": {"flops": forecast_work.flops, "bytes": forecast_work.bytes},
            },
            "environment": dict(environment),
            "warnings": sorted(set(per_forecast.warnings) | set(per_forecast_batch1.warnings)),
        }
    )
    return record


def forecast_baseline_record(
    *, config: Mapping, scores: Mapping, units: str, environment: Mapping, created: str | None = None
) -> dict:
    """A ``"forecast_baseline"`` record: one baseline's accuracy (no training run, not priced).

    config: ``{"baseline", "series", "preset"}``; scores and units as for ``forecast_trial_record``.
    """
    record = _head(FORECAST_BASELINE_KIND, created, config)
    record.update({"accuracy": accuracy_block(scores, units), "environment": dict(environment), "warnings": []})
    return record
