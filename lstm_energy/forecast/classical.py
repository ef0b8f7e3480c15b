"""Classical forecasters priced in joules beside the recurrent ones: seasonal ARIMA and Holt-Winters.

Both are fitted on the **training split only** (levels, original units) and then forecast one step ahead
over every later point with the fitted parameters held fixed, exactly like a trained recurrent model
reading the validation and test windows:

- SARIMA (``statsmodels.tsa.statespace.sarimax.SARIMAX``): the order is chosen by AIC on the training
  split among the preset's small list of ``(p, d, q) x (P, D, Q, season)`` orders; one-step forecasts
  are the Kalman filter's predictions (``results.apply(values).fittedvalues``).
- ETS / Holt-Winters (``statsmodels.tsa.holtwinters.ExponentialSmoothing``): additive trend, additive
  seasonality; one-step forecasts run the same recursion with the fitted smoothing parameters and
  initial states (``HoltWinters.one_step``, equal to statsmodels' ``fittedvalues`` on the training split).

Energy, with the study's protocol and meter (``lstm_energy.forecast.energy``): the fit is one work window
and its idle twin (``measure_run``, like a training run); per forecast is ``lstm_energy.measure.measure``
on the call that forecasts the whole test period (batched figure, / test points) and on one update +
one-step forecast (batch 1). No FLOPs are told to the meter for these (statsmodels' work is not in our
cost models): the ``model`` estimator prices them by CPU time, hardware meters by what they read.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lstm_energy.errors import ConfigError
from lstm_energy.forecast.data import SPLITS, Series, mae, rmse
from lstm_energy.forecast.energy import PricedForecaster, Work, measure_run

#: (p, d, q), (P, D, Q): the seasonal period comes from the series
Order = tuple[tuple[int, int, int], tuple[int, int, int]]
#: the orders the quick preset compares by AIC: the "airline" model and one with an AR term
QUICK_ORDERS: tuple[Order, ...] = (((0, 1, 1), (0, 1, 1)), ((1, 1, 1), (0, 1, 1)))
#: the full preset's list: the quick ones plus a pure-AR short part and a seasonal AR term
FULL_ORDERS: tuple[Order, ...] = QUICK_ORDERS + (((1, 1, 0), (0, 1, 1)), ((1, 1, 1), (1, 1, 1)))
NO_WORK = Work(0.0, 0.0)


# ---------------------------------------------------------------------------------------------------
# SARIMA
def fit_sarima(train_values: np.ndarray, order: Order, season: int):
    """SARIMAX results fitted on ``train_values`` (N,) with ``order`` and the seasonal period ``season``."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    nonseasonal, seasonal = order
    with warnings.catch_warnings():  # frequency-less data and convergence chatter on every fit; the AIC says enough
        warnings.simplefilter("ignore")
        return SARIMAX(train_values, order=nonseasonal, seasonal_order=(*seasonal, season)).fit(disp=False)


def choose_sarima_order(
    train_values: np.ndarray, orders: Sequence[Order], season: int
) -> tuple[Order, dict[Order, float]]:
    """The order with the lowest AIC on the training split, and order -> AIC for every candidate."""
    if not orders:
        raise ConfigError("the SARIMA order search needs at least one (p, d, q), (P, D, Q) order; the preset has none")
    aics = {order: float(fit_sarima(train_values, order, season).aic) for order in orders}
    return min(aics, key=aics.__getitem__), aics


def sarima_label(order: Order, season: int) -> str:
    (p, d, q), (sp, sd, sq) = order
    return f"SARIMA ({p},{d},{q})x({sp},{sd},{sq},{season})"


# ---------------------------------------------------------------------------------------------------
# ETS / Holt-Winters (additive trend, additive seasonality)
@dataclass(frozen=True)
class HoltWinters:
    """Fitted additive Holt-Winters: smoothing parameters and the initial level, trend and seasons."""

    alpha: float
    beta: float
    gamma: float
    level: float
    trend: float
    seasons: tuple[float, ...]  # s_{-m} .. s_{-1}

    @classmethod
    def fit(cls, train_values: np.ndarray, season: int) -> HoltWinters:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = ExponentialSmoothing(train_values, trend="add", seasonal="add", seasonal_periods=season).fit()
        p = fitted.params
        return cls(
            float(p["smoothing_level"]),
            float(p["smoothing_trend"]),
            float(p["smoothing_seasonal"]),
            float(p["initial_level"]),
            float(p["initial_trend"]),
            tuple(float(s) for s in p["initial_seasons"]),
        )

    def one_step(self, values: np.ndarray) -> np.ndarray:
        """(N,) observations -> (N,) forecasts, forecast[t] made from values[:t] (the filter's recursion)."""
        level, trend, seasons = self.initial_state()
        out = np.empty(values.size)
        for t, y in enumerate(values):
            out[t], level, trend = self._step(level, trend, seasons, float(y))
        return out

    def initial_state(self) -> tuple[float, float, list[float]]:
        return self.level, self.trend, list(self.seasons)

    def _step(self, level: float, trend: float, seasons: list[float], y: float) -> tuple[float, float, float]:
        """Forecast the next value, then update with its observation y; seasons is extended in place."""
        season = seasons[-len(self.seasons)]
        forecast = level + trend + season
        new_level = self.alpha * (y - season) + (1 - self.alpha) * (level + trend)
        new_trend = self.beta * (new_level - level) + (1 - self.beta) * trend
        seasons.append(self.gamma * (y - level - trend) + (1 - self.gamma) * season)
        del seasons[0]
        return forecast, new_level, new_trend


# ---------------------------------------------------------------------------------------------------
# one classical model, fitted, scored and priced
@dataclass
class ClassicalResult(PricedForecaster):
    """A classical forecaster in the shape the page and the records read for a trial.

    predictions: split -> (target_index (W,), forecasts (W,)); fit_energy: Measurement of the fit
    (one window = the fit); forecast_energy / forecast_energy_b1: Measurements per forecast, batched
    over the test period and at batch 1. aics: order -> AIC of the order search (SARIMA only).
    """

    family: str
    label: str
    scores: dict
    predictions: dict
    parameters: int
    fit_seconds: float
    training_energy: object
    forecast_energy: object
    forecast_energy_b1: object
    aics: dict | None = None
    repeats: list | None = None  # Measurements of the same fit repeated (the spread of its joules)
    resumed: bool = False  # read back from the records by --resume, not fitted in this process


def _score(values: np.ndarray, forecasts: np.ndarray, target_index: dict[str, np.ndarray]):
    from lstm_energy.forecast.search import SplitScores

    scores, predictions = {}, {}
    for split in SPLITS:
        index = target_index[split]
        if index.size:
            scores[split] = SplitScores(rmse(forecasts[index], values[index]), mae(forecasts[index], values[index]))
            predictions[split] = (index, forecasts[index])
    return scores, predictions


def run_classical(
    family: str,
    series: Series,
    target_index: dict[str, np.ndarray],
    boundaries: tuple[int, int],
    meter,
    *,
    orders: Sequence[Order] = QUICK_ORDERS,
    forecast_windows: int = 5,
    forecast_min_window_seconds: float = 0.1,
    repeats: int = 1,
    seed: int = 0,
) -> ClassicalResult:
    """Fit ``family`` ("SARIMA" or "ETS") on the training split under ``meter``, score it on the same
    target points as the recurrent trials, and measure its per-forecast energy (batched and batch 1).

    target_index: split -> (W,) the indices the recurrent trials forecast; boundaries: (validation
    start, test start). repeats: how many times the fit is measured (the spread of its joules).
    """
    from lstm_energy.measure.protocol import measure

    if series.season is None:
        raise ConfigError(f"series {series.name!r} has no season; SARIMA and ETS here need Series.season set")
    values, season = series.values, series.season
    validation_start, test_start = boundaries
    train_values = values[:validation_start]
    aics = None
    if family == "SARIMA":
        order, aics = choose_sarima_order(train_values, orders, season)

        def fit():
            return fit_sarima(train_values, order, season)

        label = sarima_label(order, season)
    elif family == "ETS":

        def fit():
            return HoltWinters.fit(train_values, season)

        label = f"ETS additive trend + season ({season})"
    else:
        raise ConfigError(f"classical family must be 'SARIMA' or 'ETS'; got {family!r}")

    fitted, fit_energy = measure_run(fit, meter, work=NO_WORK)
    runs = [fit_energy] + [measure_run(fit, meter, work=NO_WORK)[1] for _ in range(max(repeats, 1) - 1)]
    test_values = values[test_start:]
    batch = int(test_values.size)
    if family == "SARIMA":
        forecasts = np.asarray(fitted.apply(values).fittedvalues)
        parameters = int(np.asarray(fitted.params).size)
        before_test = fitted.apply(values[:test_start])  # the filtered state up to the test period, prepared outside

        def batched():
            return before_test.extend(test_values).fittedvalues

        def one():
            return before_test.extend(test_values[:1]).fittedvalues
    else:
        forecasts = fitted.one_step(values)
        parameters = 5 + season
        state_level, state_trend, state_seasons = fitted.initial_state()
        for y in values[:test_start]:
            _, state_level, state_trend = fitted._step(state_level, state_trend, state_seasons, float(y))

        def batched():
            level, trend, seasons = state_level, state_trend, list(state_seasons)
            for y in test_values:
                _, level, trend = fitted._step(level, trend, seasons, float(y))

        def one():
            return fitted._step(state_level, state_trend, list(state_seasons), float(test_values[0]))

    scores, predictions = _score(values, forecasts, target_index)

    def per_forecast_energy(call, batch: int):
        """The protocol over ``call``, ``batch`` forecasts per call; no FLOPs or bytes are counted for it."""
        return measure(
            call,
            meter,
            batch=batch,
            flops=0.0,
            bytes=0.0,
            windows=forecast_windows,
            min_window_seconds=forecast_min_window_seconds,
            seed=seed,
        )

    per_forecast = per_forecast_energy(batched, batch)
    per_forecast_b1 = per_forecast_energy(one, 1)
    return ClassicalResult(
        family=family,
        label=label,
        scores=scores,
        predictions=predictions,
        parameters=parameters,
        fit_seconds=float(fit_energy.windows[0].seconds),
        training_energy=fit_energy,
        forecast_energy=per_forecast,
        forecast_energy_b1=per_forecast_b1,
        aics=aics,
        repeats=runs,
    )
