"""Robust summaries of per-window measurements: median, quartiles, bootstrap 95% CI, CV.

Energy windows are few (typically 5-15) and occasionally disturbed by a background task, so the
protocol reports the median with its interquartile range rather than a mean, and a percentile
bootstrap confidence interval of the median drawn from a fixed-seed ``numpy.random.Generator`` so
that the same windows always give the same interval.

One window has a median but no spread: its quartiles, CI and CV are None (not a zero-width interval,
which would claim a precision nobody measured).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_energy.errors import ConfigError, ShapeError

#: bootstrap resamples for the CI of the median; 2000 keeps the 2.5/97.5 percentiles stable to ~1%
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Summary:
    """Median, quartiles and a bootstrap 95% confidence interval of the median of some windows.

    q1 / q3 / ci95_low / ci95_high are None when there was one window (no spread to report)."""

    median: float
    q1: float | None
    q3: float | None
    ci95_low: float | None
    ci95_high: float | None

    @property
    def has_spread(self) -> bool:
        """Whether quartiles and a CI exist (False for a single window)."""
        return None not in (self.q1, self.q3, self.ci95_low, self.ci95_high)

    def as_dict(self) -> dict:
        """The record form: ``{"median", "q1", "q3", "ci95_low", "ci95_high"}``, plain floats or None."""
        return {
            "median": self.median,
            "q1": self.q1,
            "q3": self.q3,
            "ci95_low": self.ci95_low,
            "ci95_high": self.ci95_high,
        }

    def scaled(self, factor: float) -> Summary:
        """Every statistic multiplied by ``factor`` (e.g. per call -> per sequence with 1/batch); None stays None."""
        median = float(self.median) * factor
        spread = (None if v is None else float(v) * factor for v in (self.q1, self.q3, self.ci95_low, self.ci95_high))
        return Summary(median, *spread)


def _as_windows(values) -> np.ndarray:
    """values: (K,) finite numbers, K >= 1 -> float64 array."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ShapeError(
            f"expected a non-empty 1-D sequence of per-window values, got shape {array.shape}; "
            "pass one number per measurement window"
        )
    if not np.all(np.isfinite(array)):
        raise ConfigError(
            f"per-window values must be finite, got {array.tolist()}; "
            "a NaN or inf usually means a meter read failed - check the meter with `lstm-energy meters`"
        )
    return array


def bootstrap_median_ci(values, *, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float]:
    """Percentile bootstrap 95% CI of the median.

    values: (K,) per-window numbers, K >= 2. Resamples K values with replacement ``resamples`` times
    using ``np.random.default_rng(seed)``; returns the 2.5th and 97.5th percentiles of the resampled
    medians. One value has no interval: ShapeError (``summarize`` reports None instead).
    """
    array = _as_windows(values)
    if array.size < 2:
        raise ShapeError(
            f"a confidence interval needs at least 2 per-window values, got {array.size}; "
            "measure more windows (5 or more give a useful interval)"
        )
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, array.size, size=(resamples, array.size))
    medians = np.median(array[picks], axis=1)  # (resamples,)
    low, high = np.percentile(medians, [2.5, 97.5])
    return float(low), float(high)


def summarize(values, *, seed: int = 0) -> Summary:
    """Median, quartiles (linear interpolation, NumPy's default) and bootstrap CI of per-window values.

    One value: its median, and None for the quartiles and the CI."""
    array = _as_windows(values)
    if array.size == 1:
        return Summary(float(array[0]), None, None, None, None)
    q1, median, q3 = np.percentile(array, [25.0, 50.0, 75.0])
    low, high = bootstrap_median_ci(array, seed=seed)
    return Summary(float(median), float(q1), float(q3), low, high)


def coefficient_of_variation(values) -> float | None:
    """Sample standard deviation (ddof=1) over the absolute mean; None for a single window (no spread).

    Returns ``inf`` when the mean is zero but the values are not all zero (nothing to compare to).
    """
    array = _as_windows(values)
    if array.size < 2:
        return None
    spread = float(np.std(array, ddof=1))
    centre = abs(float(np.mean(array)))
    if centre == 0.0:
        return 0.0 if spread == 0.0 else float("inf")
    return spread / centre
