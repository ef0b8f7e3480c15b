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
(the tests) and the profile then says so. Every observation carries the provenance of the
measurement it came from, and ``fit_parameters`` checks it again.

Degenerate data is refused with :class:`~lstm_energy.errors.CalibrationError` (no profile is
written), checked in this order:

1. a non-measured observation ("estimated" always; "simulated" unless ``allow_simulated``);
2. fewer observations than parameters, or a window with wall seconds <= 0;
3. energy: a window with negative joules; every window 0 J; or constant power, i.e. the spread of
   per-window average power (max - min) below ``MIN_POWER_SPREAD`` (1 %) of the largest power:
   a counter that does not respond to load explains nothing;
4. regressors: CPU utilisation, FLOP rate or byte rate with a spread (max - min) below
   ``MIN_REGRESSOR_SPREAD`` (1 %) of its largest value (e.g. every window the same utilisation: the
   column is a multiple of the constant and cannot be told apart from static power); or the four
   columns, each scaled to unit maximum, collinear: condition number above ``COLLINEAR_CONDITION``
   (1e6; between ``ILL_CONDITIONED`` = 1e3 and that the profile is kept but flagged "poorly
   identified");
5. a fit that needs a negative parameter: the unconstrained least-squares solution has a negative
   coefficient, explains the data (its R^2 >= ``MIN_R2``, so the negative value is signal, not
   noise) AND constraining the coefficients to >= 0 (NNLS) loses more than ``NEGATIVE_FIT_R2_LOSS``
   (0.02) of R^2 - the non-negativity clamp changes the answer, so the clamped parameters would be
   wrong rather than merely small;
6. a fit that explains too little: NNLS R^2 below ``MIN_R2`` (0.5).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lstm_energy.errors import CalibrationError, MeterUnavailableError
from lstm_energy.measure.protocol import Measurement
from lstm_energy.meters.model import ModelParameters, ModelProfile

#: condition number of the column-scaled design matrix above which parameters are poorly identified
ILL_CONDITIONED = 1e3
#: ... and above which the regressors are collinear: calibration is refused
COLLINEAR_CONDITION = 1e6
#: per-window average power must spread by at least this fraction of its largest value
MIN_POWER_SPREAD = 0.01
#: each regressor (utilisation, FLOP/s, byte/s) must spread by at least this fraction of its largest value
MIN_REGRESSOR_SPREAD = 0.01
#: refuse when clamping a negative unconstrained coefficient to 0 costs more than this much R^2
NEGATIVE_FIT_R2_LOSS = 0.02
#: refuse a fit whose R^2 is below this
MIN_R2 = 0.5
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
        configs.append(
            dict(cell="lstm", batch=64, seq_len=50, input_size=256, hidden_size=256, phase="train", threads=2)
        )
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
    provenance: str  # of the measurement it came from: only "measured" (or "simulated" in tests) is fitted


def observations(measurement: Measurement, flops_per_call: float, bytes_per_call: float) -> list[Observation]:
    """Work and idle observations of every window of a measurement (headline domains summed)."""
    domains = measurement.headline_domains
    provenance = measurement.provenance
    rows = []
    for w in measurement.windows:
        rows.append(
            Observation(
                w.seconds,
                w.cpu_seconds,
                flops_per_call * w.calls,
                bytes_per_call * w.calls,
                sum(w.joules[d] for d in domains),
                "work",
                provenance,
            )
        )
        rows.append(
            Observation(
                w.idle_seconds, w.idle_cpu_seconds, 0.0, 0.0, sum(w.idle_joules[d] for d in domains), "idle", provenance
            )
        )
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


REGRESSORS = ("CPU utilisation (cpu_seconds / wall)", "FLOP rate (FLOP/s)", "byte rate (bytes/s)")


def _check_provenance(rows: Sequence[Observation], allow_simulated: bool) -> None:
    allowed = {"measured", "simulated"} if allow_simulated else {"measured"}
    bad = sorted({r.provenance for r in rows} - allowed)
    if bad:
        raise CalibrationError(
            f"calibration uses only measured energy, but {sum(r.provenance in bad for r in rows)} of {len(rows)} "
            f"observations are {', '.join(map(repr, bad))}; fitting the estimator to non-measured joules would prove "
            "nothing. "
            "Measure on a machine with RAPL (`lstm-energy meters` says what is missing here)"
        )


def _check_energy(watts: np.ndarray, joules: np.ndarray) -> None:
    if np.any(joules < 0):
        i = int(np.argmin(joules))
        raise CalibrationError(
            f"observation {i + 1} has negative energy ({joules[i]:.4g} J): the counter went backwards "
            "(an uncorrected wrap or a broken meter); check `lstm-energy meters` and measure again"
        )
    if np.all(joules == 0):
        raise CalibrationError(
            f"every one of the {len(joules)} observations measured 0 J: the meter is not counting, and a fit would "
            "give an all-zero profile that estimates 0 J for everything; check `lstm-energy meters` on this host"
        )
    top = float(np.max(np.abs(watts)))
    spread = float(np.max(watts) - np.min(watts))
    if spread < MIN_POWER_SPREAD * top:
        raise CalibrationError(
            f"average power is the same in every window ({np.min(watts):.4g}-{np.max(watts):.4g} W, spread "
            f"{spread / top:.2%} < {MIN_POWER_SPREAD:.0%}): the meter does not respond to load, so no parameter "
            "can be identified; check that it measures this CPU package (`lstm-energy meters`)"
        )


def _check_regressors(design: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Refuse regressors without spread or collinear; returns (column scales, scaled design, its condition number)."""
    for column, label in enumerate(REGRESSORS, start=1):
        values = design[:, column]
        top = float(np.max(np.abs(values)))
        spread = float(np.max(values) - np.min(values))
        if top == 0 or spread < MIN_REGRESSOR_SPREAD * top:
            seen = (
                "0 in every window"
                if top == 0
                else (
                    f"{np.min(values):.4g}-{np.max(values):.4g}, spread {spread / top:.2%} < {MIN_REGRESSOR_SPREAD:.0%}"
                )
            )
            raise CalibrationError(
                f"too little spread in the {label}: {seen}; its coefficient cannot be told apart from the others. "
                "Calibrate with configurations that vary it (the default set mixes idle and work windows, "
                "arithmetic intensities and thread counts)"
            )
    scale = np.max(np.abs(design), axis=0)  # every column > 0 after the spread check
    scaled = design / scale
    condition = float(np.linalg.cond(scaled))
    if not condition < COLLINEAR_CONDITION:
        _, _, vt = np.linalg.svd(scaled)
        null = np.abs(vt[-1])
        involved = [name for name, weight in zip(PARAMETER_ORDER, null) if weight > 0.1 * null.max()]
        raise CalibrationError(
            f"the regressors are collinear (condition number {condition:.3g} >= {COLLINEAR_CONDITION:.0e} with each "
            f"column scaled to unit maximum; {', '.join(involved)} move together), so their parameters are not "
            "identified; calibrate with configurations that vary CPU time, FLOPs and bytes independently"
        )
    return scale, scaled, condition


def _r2(watts: np.ndarray, predicted: np.ndarray) -> float:
    total = float(np.sum((watts - watts.mean()) ** 2))
    return 1.0 - float(np.sum((watts - predicted) ** 2)) / total


def fit_parameters(rows: Sequence[Observation], *, allow_simulated: bool = False) -> Fit:
    """Non-negative least squares of average power on (1, CPU utilisation, FLOP rate, byte rate).

    rows: >= 4 observations with positive wall seconds, all "measured" (or "simulated" with
    ``allow_simulated``). Degenerate data raises CalibrationError (rules in the module docstring).
    """
    _check_provenance(rows, allow_simulated)
    if len(rows) < len(PARAMETER_ORDER):
        raise CalibrationError(
            f"need at least {len(PARAMETER_ORDER)} observations to fit {len(PARAMETER_ORDER)} parameters, got "
            f"{len(rows)}; measure more windows or configurations"
        )
    seconds = np.array([r.seconds for r in rows], dtype=np.float64)
    if np.any(seconds <= 0):
        raise CalibrationError(f"every observation needs wall seconds > 0, got min {seconds.min()!r}")
    design = (
        np.column_stack(
            [
                seconds,
                [r.cpu_seconds for r in rows],
                [r.flops for r in rows],
                [r.bytes for r in rows],
            ]
        )
        / seconds[:, None]
    )  # (N, 4): 1, utilisation, FLOP/s, byte/s
    joules = np.array([r.joules for r in rows], dtype=np.float64)
    watts = joules / seconds  # (N,)
    _check_energy(watts, joules)
    scale, scaled, condition = _check_regressors(design)
    from scipy.optimize import nnls

    coefficients, _ = nnls(scaled, watts)
    parameters_array = coefficients / scale
    predicted = design @ parameters_array  # (N,)
    r2 = _r2(watts, predicted)
    unconstrained, *_ = np.linalg.lstsq(scaled, watts, rcond=None)
    negative = [i for i, c in enumerate(unconstrained) if c < 0]
    if negative:
        unconstrained_r2 = _r2(watts, scaled @ unconstrained)
        loss = unconstrained_r2 - r2
        if unconstrained_r2 >= MIN_R2 and loss > NEGATIVE_FIT_R2_LOSS:
            asked = ", ".join(f"{PARAMETER_ORDER[i]} = {unconstrained[i] / scale[i]:.4g}" for i in negative)
            raise CalibrationError(
                f"the data asks for a negative parameter ({asked} in the unconstrained least-squares fit); "
                f"clamping it to 0 costs {loss:.3f} of R^2 (> {NEGATIVE_FIT_R2_LOSS}), so the clamped profile would "
                "be wrong, not just small. Usual causes: idle power drifting during the run, other load on the "
                "machine, or a meter that does not cover this CPU; quiet the machine and calibrate again"
            )
    if not r2 >= MIN_R2:
        raise CalibrationError(
            f"the fit explains too little of the measured power (R^2 {r2:.3f} < {MIN_R2}); the estimator's inputs "
            "(time, CPU time, FLOPs, bytes) do not predict this meter's readings here. Check for other load on "
            "the machine and that the meter measures this CPU package, then calibrate again"
        )
    residual = watts - predicted
    relative = np.abs(residual) / np.where(watts != 0, np.abs(watts), np.inf)
    return Fit(
        parameters=ModelParameters(**dict(zip(PARAMETER_ORDER, map(float, parameters_array)))),
        r2=r2,
        median_relative_error=float(np.median(relative)),
        max_relative_error=float(np.max(relative)),
        condition_number=condition,
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
    from lstm_energy.config import Config
    from lstm_energy.measure.environment import environment
    from lstm_energy.measure.profile import profile_config, utc_timestamp

    _check_meter(meter, allow_simulated)
    configs = list(default_calibration_set() if configs is None else configs)
    rows: list[Observation] = []
    runs = []
    for index, config in enumerate(configs):
        config = dict(config)
        threads = int(config.pop("threads", 1))
        if progress:
            progress(f"[{index + 1}/{len(configs)}] {config} threads={threads}")
        # the same measurement as `profile` (prepared run, cost models, pinned threads, the protocol)
        result = profile_config(
            Config(impl=impl, threads=threads, **config),
            meter=meter,
            windows=windows,
            min_window_seconds=min_window_seconds,
            seed=seed,
        )
        measurement = result.measurement
        rows += observations(measurement, result.flops, result.bytes)
        runs.append(
            {
                **result.config,
                "total_joules_per_call": measurement.total_joules_per_call.median,
                "seconds_per_call": measurement.seconds_per_call.median,
                "cpu_seconds_per_call": measurement.cpu_seconds_per_call.median,
                "idle_watts": measurement.idle_watts,
            }
        )
    fit = fit_parameters(rows, allow_simulated=allow_simulated)
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
