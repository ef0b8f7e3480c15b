"""Calibrate the energy estimator (lstm_energy.meters.model) against a MEASURED meter.

Each configuration of a calibration set is measured with the usual protocol; every work window and
every idle window becomes one observation of average power::

    joules / wall = static_watts
                  + cpu_watts       * cpu_seconds / wall     (process CPU time; > 1 with threads)
                  + joules_per_flop * flops / wall
                  + joules_per_byte * bytes / wall

(idle windows: no FLOPs or bytes, CPU ~ 0, so they pin ``static_watts``). The four non-negative
parameters are fitted with ``scipy.optimize.nnls`` on column-scaled rows (the columns span ~12
orders of magnitude); the fit's R^2, relative errors and the condition number of the scaled design
matrix are recorded in the profile, so a reader can judge how well the parameters are identified.

Calibration needs real counters: a meter with provenance "estimated" is refused (fitting the model
to its own output would be circular); "simulated" is accepted only with ``allow_simulated=True``
(the tests) and the profile then says so.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from lstm_energy.errors import MeterUnavailableError
from lstm_energy.measure.protocol import Measurement, measure
from lstm_energy.measure.threads import pinned_threads
from lstm_energy.measure.work import work_per_call
from lstm_energy.meters.model import ModelParameters, ModelProfile

#: condition number of the column-scaled design matrix above which parameters are poorly identified
ILL_CONDITIONED = 1e3
PARAMETER_ORDER = ("static_watts", "cpu_watts", "joules_per_flop", "joules_per_byte")


def default_calibration_set(cores: int | None = None) -> list[dict]:
    """Configurations spanning low/high arithmetic intensity, cache-resident and memory-bound W_hh,
    forward and train, and (with >= 2 cores) two threads, so CPU time, FLOPs and bytes vary independently."""
    cores = os.cpu_count() if cores is None else cores
    configs = [
        dict(cell="lstm", batch=1, seq_len=50, input_size=64, hidden_size=64, phase="forward", threads=1),
        dict(cell="lstm", batch=32, seq_len=50, input_size=256, hidden_size=256, phase="forward", threads=1),
        dict(cell="gru", batch=8, seq_len=50, input_size=128, hidden_size=128, phase="train", threads=1),
        dict(cell="rnn", batch=64, seq_len=50, input_size=512, hidden_size=512, phase="forward", threads=1),
        dict(cell="lstm", batch=1, seq_len=20, input_size=1024, hidden_size=1024, phase="forward", threads=1),
    ]
    if cores and cores >= 2:
        configs.append(dict(cell="lstm", batch=64, seq_len=50, input_size=256, hidden_size=256, phase="train",
                            threads=2))
    return configs


@dataclass(frozen=True)
class Observation:
    """One window: wall and CPU seconds, FLOPs and bytes done, headline joules measured."""

    seconds: float
    cpu_seconds: float
    flops: float
    bytes: float
    joules: float
    kind: str  # "work" | "idle"


def observations(measurement: Measurement, flops_per_call: float, bytes_per_call: float) -> list[Observation]:
    """Work and idle observations of every window of a measurement (headline domains summed)."""
    domains = measurement.headline_domains
    rows = []
    for w in measurement.windows:
        rows.append(Observation(w.seconds, w.cpu_seconds, flops_per_call * w.calls, bytes_per_call * w.calls,
                                sum(w.joules[d] for d in domains), "work"))
        rows.append(Observation(w.idle_seconds, w.idle_cpu_seconds, 0.0, 0.0,
                                sum(w.idle_joules[d] for d in domains), "idle"))
    return rows


@dataclass(frozen=True)
class Fit:
    """Fitted parameters and how well they explain the observations (average power per window)."""

    parameters: ModelParameters
    r2: float
    median_relative_error: float
    max_relative_error: float
    condition_number: float
    observations: int

    def as_dict(self) -> dict:
        return {
            "method": "scipy.optimize.nnls on per-window average power, columns scaled to unit max",
            "r2": self.r2,
            "median_relative_error": self.median_relative_error,
            "max_relative_error": self.max_relative_error,
            "condition_number": self.condition_number,
            "well_conditioned": bool(self.condition_number < ILL_CONDITIONED),
            "observations": self.observations,
        }


def fit_parameters(rows: Sequence[Observation]) -> Fit:
    """Non-negative least squares of average power on (1, CPU utilisation, FLOP rate, byte rate).

    rows: >= 4 observations with positive wall seconds.
    """
    if len(rows) < len(PARAMETER_ORDER):
        raise ValueError(
            f"need at least {len(PARAMETER_ORDER)} observations to fit {len(PARAMETER_ORDER)} parameters, got "
            f"{len(rows)}; measure more windows or configurations"
        )
    seconds = np.array([r.seconds for r in rows], dtype=np.float64)
    if np.any(seconds <= 0):
        raise ValueError(f"every observation needs wall seconds > 0, got min {seconds.min()!r}")
    design = np.column_stack([
        seconds,
        [r.cpu_seconds for r in rows],
        [r.flops for r in rows],
        [r.bytes for r in rows],
    ]) / seconds[:, None]  # (N, 4): 1, utilisation, FLOP/s, byte/s
    watts = np.array([r.joules for r in rows], dtype=np.float64) / seconds  # (N,)
    scale = np.max(np.abs(design), axis=0)
    scale[scale == 0] = 1.0  # a column that never varies from zero fits to 0
    scaled = design / scale
    from scipy.optimize import nnls

    coefficients, _ = nnls(scaled, watts)
    parameters_array = coefficients / scale
    predicted = design @ parameters_array  # (N,)
    residual = watts - predicted
    total = float(np.sum((watts - watts.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual**2)) / total if total > 0 else (1.0 if np.allclose(residual, 0) else 0.0)
    relative = np.abs(residual) / np.where(watts != 0, np.abs(watts), np.inf)
    return Fit(
        parameters=ModelParameters(**dict(zip(PARAMETER_ORDER, map(float, parameters_array)))),
        r2=r2,
        median_relative_error=float(np.median(relative)),
        max_relative_error=float(np.max(relative)),
        condition_number=float(np.linalg.cond(scaled)),
        observations=len(rows),
    )


def _check_meter(meter, allow_simulated: bool) -> None:
    provenance = getattr(meter, "provenance", None)
    name = getattr(meter, "name", type(meter).__name__)
    if provenance == "measured":
        return
    if provenance == "simulated" and allow_simulated:
        return
    raise MeterUnavailableError(
        f"calibration needs real energy counters, but meter {name!r} is {provenance!r}: fitting the estimator to "
        f"{'its own estimates' if provenance == 'estimated' else 'non-measured joules'} would prove nothing; "
        "run `lstm-energy calibrate` on a machine with RAPL (see `lstm-energy meters` for what is missing here) "
        "and copy the profile file to this machine"
    )


def calibrate(
    meter,
    configs: Sequence[dict] | None = None,
    *,
    impl: str = "cython",
    windows: int = 5,
    min_window_seconds: float = 0.2,
    allow_simulated: bool = False,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> ModelProfile:
    """Measure each configuration under ``meter`` and fit the estimator; returns the profile to save.

    configs: dicts with cell, batch, seq_len, input_size, hidden_size and optionally num_layers,
    bidirectional, phase, dtype, nonlinearity, threads (default: ``default_calibration_set()``).
    """
    from lstm_energy.measure.environment import environment
    from lstm_energy.measure.profile import utc_timestamp
    from lstm_energy.runners import prepare

    _check_meter(meter, allow_simulated)
    configs = list(default_calibration_set() if configs is None else configs)
    rows: list[Observation] = []
    runs = []
    for index, config in enumerate(configs):
        config = dict(config)
        threads = int(config.pop("threads", 1))
        if progress:
            progress(f"[{index + 1}/{len(configs)}] {config} threads={threads}")
        costs = work_per_call(**config)
        prepared = prepare(impl=impl, seed=seed, **config)
        with pinned_threads(threads, torch_too=impl == "torch"):
            measurement = measure(prepared.run, meter, batch=prepared.batch, flops=costs.total_flops,
                                  bytes=costs.expected_bytes, windows=windows,
                                  min_window_seconds=min_window_seconds, seed=seed)
        rows += observations(measurement, costs.total_flops, costs.expected_bytes)
        runs.append({**prepared.config, "threads": threads,
                     "total_joules_per_call": measurement.total_joules_per_call.median,
                     "seconds_per_call": measurement.seconds_per_call.median,
                     "cpu_seconds_per_call": measurement.cpu_seconds_per_call.median,
                     "idle_watts": measurement.idle_watts})
    fit = fit_parameters(rows)
    host = socket.gethostname()
    created = utc_timestamp()
    description = meter.describe()
    simulated = " (SIMULATED meter: tests only, not a real calibration)" if meter.provenance == "simulated" else ""
    source = (
        f"calibrated on {host} {created} against meter {description.get('name', meter.name)!r} "
        f"(domains {list(meter.headline_domains)}){simulated}: {len(configs)} configurations, "
        f"{fit.observations} windows, fit R^2 {fit.r2:.3f}, median relative error {fit.median_relative_error:.1%}"
        f"{'' if fit.condition_number < ILL_CONDITIONED else ', parameters poorly identified (ill-conditioned)'}"
    )
    calibration = {
        "host": host,
        "created": created,
        "meter": description,
        "provenance": meter.provenance,
        "headline_domains": list(meter.headline_domains),
        "impl": impl,
        "fit": fit.as_dict(),
        "runs": runs,
        "environment": environment(),
    }
    return ModelProfile(fit.parameters, source, calibration)
