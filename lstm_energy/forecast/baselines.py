"""Baselines every learned forecaster must beat, on the same target points, in original units.

- naive last value: ``forecast[i] = y[i - 1]``;
- seasonal naive: ``forecast[i] = y[i - season]`` (the same month last year for a monthly series with a
  yearly season). Only defined when the series has a season.
"""

from __future__ import annotations

import numpy as np

from lstm_energy.errors import ConfigError
from lstm_energy.forecast.data import Series


def naive_last_value(series: Series, target_index: np.ndarray) -> np.ndarray:
    """target_index: (W,) indices >= 1 -> (W,) the previous observed value."""
    target_index = np.asarray(target_index, dtype=np.intp)
    if target_index.size and int(target_index.min()) < 1:
        raise ConfigError(f"the naive forecast needs one earlier value; got target index {int(target_index.min())}")
    return series.values[target_index - 1]


def seasonal_naive(series: Series, target_index: np.ndarray) -> np.ndarray:
    """target_index: (W,) indices >= season -> (W,) the value one season earlier."""
    if series.season is None:
        raise ConfigError(f"series {series.name!r} has no season; the seasonal-naive baseline needs Series.season set")
    target_index = np.asarray(target_index, dtype=np.intp)
    if target_index.size and int(target_index.min()) < series.season:
        raise ConfigError(
            f"the seasonal-naive forecast needs {series.season} earlier values; got target index "
            f"{int(target_index.min())}"
        )
    return series.values[target_index - series.season]


def baselines_for(series: Series) -> dict:
    """name -> forecast function for every baseline this series supports."""
    found = {"naive last value": naive_last_value}
    if series.season is not None:
        found[f"seasonal naive (season {series.season})"] = seasonal_naive
    return found
