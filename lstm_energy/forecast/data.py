"""The shipped real series, scaling fitted on the training split only, sliding windows and the split.

Why Mauna Loa CO2, monthly: it ships inside ``statsmodels`` (``statsmodels.datasets.co2``, a CSV in the
installed package, so nothing is downloaded at run time), it is real (weekly CO2 from air samples at
Mauna Loa Observatory, March 1958 to December 2001; Keeling and Whorf 2004, SIO network, as cited by
statsmodels), and it has what a forecasting
study needs: a clear yearly season (about ±3 ppm) on top of a steady trend (about +1.3 ppm a year on
average, 316 to 371 ppm).
The weekly series has gaps, so it is resampled to monthly means (526 months) and the few empty months
are filled by linear interpolation in time.

The recurrent models see the **first differences** of the series by default (month-to-month change):
the trend makes the level of the test years lie outside every level seen in training, which a
tanh-bounded network cannot extrapolate, while the differences are stationary and keep the whole
season. A forecast of the difference is turned back into a level by adding the last observed value,
so every error is reported in the series' original units (ppm).

Split in time order: train | validation | test. The scaler (mean and standard deviation) is fitted on
the training split only; validation (for choosing hyperparameters) and test (for reporting) never
touch it. A window's inputs may reach back into an earlier split (one-step-ahead forecasting uses the
past), but its target always lies in its own split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_energy.config import check_choice, positive_int
from lstm_energy.errors import ConfigError, ShapeError

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Series:
    """A real univariate series in its original units.

    values: (N,) float64; dates: (N,) ``datetime64[M]``; season: period in steps, or None.
    """

    name: str
    values: np.ndarray
    dates: np.ndarray
    units: str
    season: int | None
    source: str

    def __post_init__(self):
        if self.values.ndim != 1 or self.values.shape != self.dates.shape:
            raise ShapeError(
                f"Series {self.name!r}: values {self.values.shape} and dates {self.dates.shape} must be "
                "1-D and the same length; pass one value per date"
            )
        if not np.all(np.isfinite(self.values)):
            raise ConfigError(f"Series {self.name!r} has NaN or inf values; fill or drop them first")


def load_co2_monthly() -> Series:
    """Mauna Loa atmospheric CO2 (ppm), monthly means of the weekly series shipped with statsmodels."""
    from statsmodels.datasets import co2  # the CSV lives inside the installed statsmodels package

    weekly = co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean().interpolate(method="time")
    return Series(
        name="Mauna Loa CO2, monthly",
        values=monthly.to_numpy(dtype=np.float64),
        dates=monthly.index.to_numpy().astype("datetime64[M]"),
        units="ppm",
        season=12,
        source="statsmodels.datasets.co2 (Mauna Loa Observatory weekly CO2, 1958-03 to 2001-12; Keeling and "
        "Whorf 2004), "
        "resampled to monthly means, empty months interpolated linearly in time",
    )


@dataclass(frozen=True)
class StandardScaler:
    """``z = (v - mean) / std``, fitted on one split and applied to every split."""

    mean: float
    std: float

    @classmethod
    def fit(cls, values: np.ndarray) -> StandardScaler:
        """values: (N,) the training split only."""
        values = np.asarray(values, dtype=np.float64)
        if values.size < 2:
            raise ConfigError(f"cannot fit a scaler on {values.size} value(s); give the training split at least 2")
        std = float(values.std())
        if std == 0.0:
            raise ConfigError("the training split is constant (std 0); a standard scaler needs variation")
        return cls(mean=float(values.mean()), std=std)

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.std

    def inverse_transform(self, scaled: np.ndarray) -> np.ndarray:
        return np.asarray(scaled, dtype=np.float64) * self.std + self.mean


def sliding_windows(model_series: np.ndarray, window: int, target_index: np.ndarray) -> np.ndarray:
    """Windows ending just before each target.

    model_series: (N,); target_index: (W,) with ``target_index - window >= 0``.
    Returns inputs (W, window): row k is ``model_series[target_index[k] - window : target_index[k]]``.
    """
    target_index = np.asarray(target_index, dtype=np.intp)
    if target_index.size and int(target_index.min()) < window:
        raise ConfigError(
            f"a window of {window} steps needs target indices >= {window}; got {int(target_index.min())}. "
            "Drop the first targets or shorten the window"
        )
    offsets = np.arange(-window, 0)
    return model_series[target_index[:, None] + offsets[None, :]]


@dataclass(frozen=True)
class Windows:
    """One split's supervised examples.

    inputs: (W, T) scaled model-series values; targets: (W,) scaled model-series value to predict;
    target_index: (W,) index into the original series of the predicted value.
    """

    inputs: np.ndarray
    targets: np.ndarray
    target_index: np.ndarray

    def __len__(self) -> int:
        return int(self.targets.shape[0])


@dataclass(frozen=True)
class ForecastDataset:
    """A series prepared for one-step-ahead forecasting with a given window length."""

    series: Series
    window: int
    difference: bool
    scaler: StandardScaler
    boundaries: tuple[int, int]  # first index of validation, first index of test
    train: Windows
    validation: Windows
    test: Windows

    def split(self, name: str) -> Windows:
        check_choice("split", name, SPLITS, "e.g. dataset.split('test')")
        return getattr(self, name)

    def to_original_units(self, scaled_predictions: np.ndarray, windows: Windows) -> np.ndarray:
        """(W,) scaled model outputs -> (W,) forecasts of the series level in its original units."""
        raw = self.scaler.inverse_transform(scaled_predictions)
        if self.difference:
            return self.series.values[windows.target_index - 1] + raw
        return raw

    def actual(self, windows: Windows) -> np.ndarray:
        """(W,) observed levels at the windows' targets, original units."""
        return self.series.values[windows.target_index]


def prepare(
    series: Series,
    *,
    window: int,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.2,
    difference: bool = True,
) -> ForecastDataset:
    """Scale on the training split only and cut sliding windows for each split, in time order."""
    n = series.values.size
    window = positive_int("window", window)
    if not (0 < test_fraction < 1 and 0 <= validation_fraction < 1 and validation_fraction + test_fraction < 1):
        raise ConfigError(
            f"fractions must be in (0, 1) and sum below 1; got validation={validation_fraction}, test={test_fraction}"
        )
    test_start = int(round(n * (1 - test_fraction)))
    validation_start = int(round(n * (1 - test_fraction - validation_fraction)))

    if difference:
        model_series = np.empty(n)
        model_series[0] = np.nan  # no change is defined for the first step
        model_series[1:] = np.diff(series.values)
        first_target = window + 1  # inputs start at index 1, the first defined difference
        fit_values = model_series[1:validation_start]
    else:
        model_series = series.values.astype(np.float64)
        first_target = window
        fit_values = model_series[:validation_start]
    if validation_start - first_target < 2:
        raise ConfigError(
            f"window {window} leaves {max(validation_start - first_target, 0)} training examples in a series of "
            f"{n}; use a shorter window or a smaller validation/test fraction"
        )
    scaler = StandardScaler.fit(fit_values)  # the training split only: no validation/test leakage
    scaled = scaler.transform(model_series)

    def windows(start: int, stop: int) -> Windows:
        index = np.arange(max(start, first_target), stop)
        return Windows(inputs=sliding_windows(scaled, window, index), targets=scaled[index], target_index=index)

    return ForecastDataset(
        series=series,
        window=int(window),
        difference=difference,
        scaler=scaler,
        boundaries=(validation_start, test_start),
        train=windows(0, validation_start),
        validation=windows(validation_start, test_start),
        test=windows(test_start, n),
    )


def rmse(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error, in the units of the inputs."""
    return float(np.sqrt(np.mean((np.asarray(forecast) - np.asarray(actual)) ** 2)))


def mae(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute error, in the units of the inputs."""
    return float(np.mean(np.abs(np.asarray(forecast) - np.asarray(actual))))
