"""Protocol checks: each returns a warning that says what is wrong and what to do, or nothing.

Thresholds:
- CV >= 10% of per-window time or per-window energy: the windows disagree too much for a median
  to be trusted (Ournani et al., ICPE 2020: uncontrolled runs vary by up to 30x more).
- a window shorter than 100 counter updates: each reading is quantised to +/-1 update, so the
  edge error exceeds 2% of the window (docs/energy-measurement.md, "Update interval").
- a kept window shorter than the protocol's target: the protocol re-measures short windows with more
  calls a bounded number of times; a window still short after that is kept and named here.
- one window: a median with no spread, no CI and no CV (they are None, not zero).
- dynamic energy whose 95% CI reaches zero (one window: whose value is <= 0): the work did not use
  measurably more than idle.
- provenance "estimated" / "simulated": the figure is not a measurement of this machine.
"""

from __future__ import annotations

import math

from lstm_energy.measure.protocol_constants import CV_WARNING_THRESHOLD, MIN_UPDATES_PER_WINDOW
from lstm_energy.measure.statistics import Summary

ESTIMATED_WARNING = (
    "estimated, not measured: these joules come from the {name!r} estimator ({source}); "
    "run on a machine with RAPL to measure them, see `lstm-energy meters`"
)
#: the advice for a measurement of one window (its IQR, CI and CV are None)
SINGLE_WINDOW_WARNING = (
    "1 window: no spread, no CI; use windows >= 5 (its IQR, 95% CI and CV are left empty: one window "
    "cannot show how much the figure varies)"
)
SIMULATED_WARNING = (
    "simulated, not measured: the {name!r} meter is a test double; its joules say nothing about this "
    "machine - pick a hardware meter (see `lstm-energy meters`)"
)


def provenance_warning(provenance: str, meter_description: dict) -> str | None:
    """A warning for any figure that is not a hardware measurement."""
    name = meter_description.get("name", "?")
    if provenance == "estimated":
        source = meter_description.get("source") or meter_description.get("parameters_source") or "no source given"
        return ESTIMATED_WARNING.format(name=name, source=source)
    if provenance == "simulated":
        return SIMULATED_WARNING.format(name=name)
    return None


def variation_warnings(cv_seconds: float | None, cv_joules: float | None, window_count: int) -> list[str]:
    """CV of per-window wall time and of per-window total energy, each against the 10% threshold
    (None, one window's CV, is never compared: ``single_window_warning`` covers it)."""
    found = []
    for what, cv in (("wall time", cv_seconds), ("energy", cv_joules)):
        if cv is not None and cv >= CV_WARNING_THRESHOLD:
            found.append(
                f"per-window {what} varies too much: CV {cv:.1%} >= {CV_WARNING_THRESHOLD:.0%} over "
                f"{window_count} windows; rerun with more windows (e.g. windows={max(2 * window_count, 15)}) "
                "and quiet the machine (stop other jobs, pin the process with taskset, fix the governor)"
            )
    return found


def window_length_warning(
    shortest_window_seconds: float, update_interval_seconds: float, target_window_seconds: float | None = None
) -> str | None:
    """Warn when a window spans fewer than 100 counter updates.

    The advice names a ``min_window_seconds`` that would change the outcome: the windows are calibrated
    to ``target_window_seconds`` (already at least 100 updates), so when they still fall short the
    target must grow by the shortfall, not merely reach the 100-update length it already has.
    """
    needed = MIN_UPDATES_PER_WINDOW * update_interval_seconds
    if shortest_window_seconds >= needed:
        return None
    edge_error = (
        2.0 * update_interval_seconds / shortest_window_seconds if shortest_window_seconds > 0 else float("inf")
    )
    target = max(needed, target_window_seconds or 0.0)
    shortfall = needed / shortest_window_seconds if shortest_window_seconds > 0 else 10.0
    advised = _round_up(target * min(shortfall, 10.0))
    return (
        f"window too short for the counter: the shortest window lasted {shortest_window_seconds:.4g} s (target "
        f"{target:.4g} s) but the counter updates every {update_interval_seconds:.4g} s, so reads can be off by up "
        f"to {edge_error:.1%}; raise min_window_seconds to at least {advised:.2g} s so the shortest window reaches "
        f"{needed:.4g} s (100 counter updates)"
    )


def single_window_warning(window_count: int) -> str | None:
    """Warn that one window has a median only: no IQR, no CI, no CV."""
    return SINGLE_WINDOW_WARNING if window_count == 1 else None


def target_shortfall_warning(
    window_seconds: list[float], target_window_seconds: float, restarts: int = 0
) -> str | None:
    """Warn when kept work windows lasted less than the target the protocol promised, naming their lengths.

    restarts: how many times the protocol already measured again with more calls before keeping them."""
    short = [s for s in window_seconds if s < target_window_seconds]
    if not short:
        return None
    lengths = ", ".join(f"{s:.4g}" for s in short)
    return (
        f"windows shorter than the protocol's target of {target_window_seconds:.4g} s: {len(short)} of "
        f"{len(window_seconds)} kept windows lasted {lengths} s, after {restarts} re-measurement(s) with more "
        "calls per window; the calls got faster than calibrated (frequency ramp, lazy initialisation, a busy "
        "machine): quiet the machine, or raise min_window_seconds so the windows have more room"
    )


def _round_up(seconds: float) -> float:
    """``seconds`` rounded up to two significant digits (advice a reader can type)."""
    if seconds <= 0:
        return seconds
    scale = 10.0 ** (math.floor(math.log10(seconds)) - 1)
    return math.ceil(seconds / scale - 1e-9) * scale


def dynamic_resolution_warning(dynamic_joules: Summary) -> str | None:
    """Warn when the 95% CI of the dynamic energy reaches zero or below (one window, no CI: when its value does)."""
    if dynamic_joules.ci95_low is None or dynamic_joules.ci95_high is None:
        if dynamic_joules.median > 0:
            return None
        return (
            f"dynamic energy not resolved above idle: (work - idle) joules per call is {dynamic_joules.median:.4g} J "
            "in the only window; use a larger configuration, more windows or a quieter machine"
        )
    if dynamic_joules.ci95_low > 0:
        return None
    return (
        "dynamic energy not resolved above idle: the 95% CI of (work - idle) joules per call is "
        f"[{dynamic_joules.ci95_low:.4g}, {dynamic_joules.ci95_high:.4g}] J and reaches zero; use a larger "
        "configuration, more windows or a quieter machine"
    )


def protocol_warnings(
    *,
    provenance: str,
    meter_description: dict,
    cv_seconds: float | None,
    cv_joules: float | None,
    window_count: int,
    shortest_window_seconds: float,
    update_interval_seconds: float,
    dynamic_joules: Summary,
    target_window_seconds: float | None = None,
    window_seconds: list[float] | None = None,
    restarts: int = 0,
) -> list[str]:
    """Every warning that applies to one measurement, provenance first.

    window_seconds: every kept work window's length, checked against ``target_window_seconds``;
    restarts: how often the protocol measured again with more calls (named in that warning)."""
    found = [provenance_warning(provenance, meter_description)]
    found.append(single_window_warning(window_count))
    found += variation_warnings(cv_seconds, cv_joules, window_count)
    if window_seconds is not None and target_window_seconds is not None:
        found.append(target_shortfall_warning(window_seconds, target_window_seconds, restarts))
    found.append(window_length_warning(shortest_window_seconds, update_interval_seconds, target_window_seconds))
    found.append(dynamic_resolution_warning(dynamic_joules))
    return [w for w in found if w]
