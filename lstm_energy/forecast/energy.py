"""Joules of a whole training run and joules per forecast, with their provenance.

Training run (one long piece of work, not a repeatable call)::

    read meter, train(...), tell the meter the work done (FLOPs, bytes), read meter -> total joules
    read meter, sleep(the training run's wall time), read meter                -> idle joules
    dynamic = total - idle power x training wall time

The pair is one work window and its idle twin of equal length, exactly the protocol's window
(``lstm_energy.measure.protocol``): checked by the protocol's own ``require_counting`` (a stalled or
implausible measured counter stops it), taken under the same host measurement lock, and summarised
by the protocol's ``summarize_windows``, so the figures carry the same provenance, meter description
and warnings as every other measurement.

Per forecast: ``lstm_energy.measure.measure`` (warm-up, repetition calibration, K windows each with
an idle twin) on the prepared predict call over the whole test split; joules per forecast is joules
per call / number of test windows.

FLOPs and bytes (needed by the estimator, ignored by hardware meters) come from the cost models
(``lstm_energy.costs`` through ``lstm_energy.measure.work``) for the recurrent layer, plus the final
linear layer, clipping and Adam, counted here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lstm_energy.forecast.model import ModelConfig

#: Adam per parameter and step: m (3 FLOPs), v (4), bias-corrected ratio and update (~5)
ADAM_FLOPS_PER_PARAMETER = 12
#: Adam per parameter and step: reads p, g, m, v and writes p, m, v (7 elements)
ADAM_ELEMENTS_PER_PARAMETER = 7
#: gradient-norm clipping per parameter and step: square-accumulate (2) and scale (1)
CLIP_FLOPS_PER_PARAMETER = 3
#: clipping per parameter and step: read g for the norm, read and write g to scale (3 elements)
CLIP_ELEMENTS_PER_PARAMETER = 3


class PricedForecaster:
    """The energy figures of a forecaster (recurrent trial or classical model), from its measurements.

    Expects ``training_energy`` (the fit or training run: one work window and its idle twin),
    ``forecast_energy`` (the protocol over batched one-step forecasts) and ``forecast_energy_b1``
    (the same at batch 1, or None when not measured), each an ``lstm_energy.measure.Measurement``.
    """

    training_energy: Any
    forecast_energy: Any
    forecast_energy_b1: Any

    @property
    def training_joules(self) -> float:
        """Dynamic (idle-subtracted) joules of the whole training run or fit."""
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

    @property
    def joules_per_forecast_b1(self) -> float:
        """Dynamic joules of one forecast made alone (batch 1), NaN when not measured."""
        if self.forecast_energy_b1 is None:
            return float("nan")
        return float(self.forecast_energy_b1.joules_per_sequence.median)

    @property
    def provenance(self) -> str:
        """What produced this forecaster's joules ("measured", "estimated", "simulated"), as its own
        measurement recorded it (a --resume'd one: as its record says, whatever meter is open now)."""
        return str(self.forecast_energy.provenance)

    @property
    def meter_description(self) -> dict:
        """The ``describe()`` of the meter that priced this forecaster, as recorded with its figures."""
        return dict(self.forecast_energy.meter_description)

    def own_measurements(self) -> list:
        """The measurements made for this forecaster (training run or fit, batched, batch 1; None left out)."""
        found = (self.training_energy, self.forecast_energy, self.forecast_energy_b1)
        return [m for m in found if m is not None]

    @property
    def warnings(self) -> list[str]:
        """The protocol warnings its measurements carry (a --resume'd one: those of its record), sorted."""
        return sorted({w for m in self.own_measurements() for w in m.warnings})


@dataclass(frozen=True)
class Work:
    """FLOPs and bytes moved by some piece of work (analytic models, never measurements)."""

    flops: float
    bytes: float

    def __add__(self, other: Work) -> Work:
        return Work(self.flops + other.flops, self.bytes + other.bytes)

    def __mul__(self, factor: float) -> Work:
        return Work(self.flops * factor, self.bytes * factor)


def recurrent_work(
    config: ModelConfig, *, batch: int, seq_len: int, phase: str, dtype="float32", precision: str = "fp32"
) -> Work:
    """The recurrent layer on one batch: ``lstm_energy.measure.work.work_per_call`` (costs.flops, costs.traffic).

    phase: "forward" (eval) or "train" (training forward + backward); precision: the eval forward's
    ("fp32", "bf16", "int8"; issue 18), whose weight bytes and quantization work the cost models count.
    """
    from lstm_energy.measure.work import work_per_call

    costs = work_per_call(
        config.cell,
        batch,
        seq_len,
        1,
        config.hidden_size,
        num_layers=config.num_layers,
        bidirectional=config.bidirectional,
        phase=phase,
        dtype=np.dtype(dtype).name,
        precision=precision,
    )
    return Work(float(costs.total_flops), float(costs.expected_bytes))


def head_work(config: ModelConfig, *, batch: int, phase: str, dtype="float32") -> Work:
    """The final linear layer on B rows of F = dirs*H features.

    forward: 2F + 1 FLOPs a row (multiply-adds and the bias); reads h (B*F), weight (F), writes B.
    train: forward plus backward: dW = d^T h and dh = d W, 4F + 1 FLOPs a row; reads h, d, W again
    and writes dW (F) and dh (B*F).
    """
    features = (2 if config.bidirectional else 1) * config.hidden_size
    size = np.dtype(dtype).itemsize
    forward = Work(batch * (2 * features + 1), size * (batch * features + features + batch))
    if phase == "forward":
        return forward
    backward = Work(batch * (4 * features + 1), size * (2 * batch * features + 2 * features + batch + 1))
    return forward + backward


def optimizer_work(parameters: int, *, dtype="float32") -> Work:
    """One clipping + Adam step over ``parameters`` values."""
    size = np.dtype(dtype).itemsize
    return Work(
        parameters * (ADAM_FLOPS_PER_PARAMETER + CLIP_FLOPS_PER_PARAMETER),
        parameters * size * (ADAM_ELEMENTS_PER_PARAMETER + CLIP_ELEMENTS_PER_PARAMETER),
    )


def forecast_work(config: ModelConfig, *, batch: int, seq_len: int, dtype="float32", precision: str = "fp32") -> Work:
    """One eval-mode predict call over ``batch`` windows of ``seq_len`` steps; the recurrent layer in
    ``precision``, the final linear layer in fp32 (it is never quantized)."""
    return recurrent_work(
        config, batch=batch, seq_len=seq_len, phase="forward", dtype=dtype, precision=precision
    ) + head_work(config, batch=batch, phase="forward", dtype=dtype)


def training_work(
    config: ModelConfig, *, seq_len: int, batch_sizes: list[int], parameters: int, dtype="float32"
) -> Work:
    """A whole training run: training forward + backward of every step, plus clipping and Adam."""
    per_batch: dict[int, Work] = {}
    total = Work(0.0, 0.0)
    for b in batch_sizes:
        if b not in per_batch:
            per_batch[b] = recurrent_work(config, batch=b, seq_len=seq_len, phase="train", dtype=dtype) + head_work(
                config, batch=b, phase="train", dtype=dtype
            )
        total = total + per_batch[b]
    return total + optimizer_work(parameters, dtype=dtype) * len(batch_sizes)


def measure_run(
    run: Callable[[], object],
    meter,
    *,
    work: Work,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
    host_lock=None,
):
    """Energy of one long run: a work window around ``run()`` and an idle window of equal length.

    meter: an ``EnergyMeter``, or a registry name opened here and closed at the end (as ``measure``).
    work: FLOPs and bytes ``run()`` does, computed beforehand so nothing but ``run()`` executes inside
    the work window; told to the meter (``note_work``) before the closing read.
    host_lock: the host-wide measurement lock held around both windows, as ``measure`` holds it
    (None: as the environment configures it; False: none; or a HostLock).
    Returns ``(run's result, lstm_energy.measure.Measurement)`` with one window and one call, so
    ``joules_per_call`` is the dynamic and ``total_joules_per_call`` the total joules of the run.
    A MEASURED meter whose counter stalled or read implausibly in either window raises MeterError
    (the protocol's own check, ``require_counting``): no figure is returned.
    """
    from lstm_energy.measure import host_lock as host_lock_module
    from lstm_energy.meters.registry import opened_meter

    lock = host_lock_module.resolve(host_lock)
    with opened_meter(meter) as open_meter, lock.held() as held:
        result, measurement = _measure_run_with(run, open_meter, work=work, clock=clock, sleep=sleep)
    return result, replace(measurement, lock_wait_seconds=held.wait_seconds)


def _measure_run_with(run, meter, *, work: Work, clock, sleep):
    """``measure_run`` on an open meter, with the host lock held."""
    from lstm_energy.measure.checks import SINGLE_WINDOW_WARNING
    from lstm_energy.measure.protocol import Window, require_counting, summarize_windows

    cpu_start = time.process_time()
    start = clock()
    sample_start = meter.read()
    result = run()
    meter.note_work(flops=float(work.flops), bytes=float(work.bytes))
    sample_end = meter.read()
    seconds = clock() - start
    cpu_seconds = time.process_time() - cpu_start
    energy = sample_end - sample_start

    idle_start_time = clock()
    idle_start = meter.read()
    sleep(seconds)
    idle_end = meter.read()
    idle_seconds = clock() - idle_start_time
    idle = idle_end - idle_start

    window = Window(
        1,
        seconds,
        cpu_seconds,
        dict(energy.joules),
        idle_seconds,
        dict(idle.joules),
        meter_seconds=energy.seconds,  # the plausibility check judges power on the meter's own time
        idle_meter_seconds=idle.seconds,
    )
    require_counting(meter, window)
    measurement = summarize_windows(
        [window],
        meter_description=meter.describe(),
        provenance=meter.provenance,
        headline_domains=tuple(meter.headline_domains),
        update_interval_seconds=float(getattr(meter, "update_interval_seconds", 1e-3)),
        batch=1,
        calls_per_window=1,
        warmup_calls=0,
        target_window_seconds=seconds,
    )
    # One run is one window by design (its spread is the seeded repeats'), so the protocol's advice
    # for a one-window measurement, "use windows >= 5", does not apply here.
    kept = tuple(w for w in measurement.warnings if w != SINGLE_WINDOW_WARNING)
    return result, replace(measurement, warnings=kept)
