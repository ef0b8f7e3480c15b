"""Zero-parameter baselines, scored on the same target points as the models, in original units.

- naive last value: ``forecast[i] = y[i - 1]``;
- seasonal naive: ``forecast[i] = y[i - season]`` (the same month last year for a monthly series with a
  yearly season);
- seasonal naive on differences: ``forecast[i] = y[i - 1] + (y[i - season] - y[i - season - 1])``: the last
  value plus the change of the same month one season earlier. The models read the month-to-month changes
  and add them to the last value, so this is the baseline that uses the same information as they do (on a
  trending series the plain seasonal naive lags a year of trend behind).

The two seasonal ones are only defined when the series has a season.
"""

from __future__ import annotations

import numpy as np

from lstm_energy.errors import ConfigError
from lstm_energy.forecast.data import Series


def _checked_index(target_index: np.ndarray, earlier: int, name: str) -> np.ndarray:
    """target_index: (W,) as intp; ConfigError when one has fewer than ``earlier`` values before it."""
    target_index = np.asarray(target_index, dtype=np.intp)
    if target_index.size and int(target_index.min()) < earlier:
        raise ConfigError(
            f"the {name} forecast needs {earlier} earlier value(s); got target index {int(target_index.min())}. "
            "Score it on later targets (a longer model window leaves fewer early ones)"
        )
    return target_index


def _season(series: Series, name: str) -> int:
    if series.season is None:
        raise ConfigError(f"series {series.name!r} has no season; the {name} baseline needs Series.season set")
    return int(series.season)


def naive_last_value(series: Series, target_index: np.ndarray) -> np.ndarray:
    """target_index: (W,) indices >= 1 -> (W,) the previous observed value."""
    return series.values[_checked_index(target_index, 1, "naive") - 1]


def seasonal_naive(series: Series, target_index: np.ndarray) -> np.ndarray:
    """target_index: (W,) indices >= season -> (W,) the value one season earlier."""
    season = _season(series, "seasonal-naive")
    return series.values[_checked_index(target_index, season, "seasonal-naive") - season]


def seasonal_naive_on_differences(series: Series, target_index: np.ndarray) -> np.ndarray:
    """target_index: (W,) indices >= season + 1 -> (W,) the last value plus the change one season earlier,
    ``y[i - 1] + y[i - season] - y[i - season - 1]``."""
    season = _season(series, "seasonal-naive-on-differences")
    index = _checked_index(target_index, season + 1, "seasonal-naive-on-differences")
    y = series.values
    return y[index - 1] + (y[index - season] - y[index - season - 1])


def baselines_for(series: Series) -> dict:
    """name -> forecast function for every baseline this series supports."""
    found = {"naive last value": naive_last_value}
    if series.season is not None:
        found[f"seasonal naive (season {series.season})"] = seasonal_naive
        found[f"seasonal naive on differences (season {series.season})"] = seasonal_naive_on_differences
    return found
