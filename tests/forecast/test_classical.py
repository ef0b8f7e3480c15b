"""SARIMA and Holt-Winters: the study's RMSE equals a direct statsmodels computation on the same split."""

import warnings

import numpy as np
import pytest

from lstm_energy.forecast.classical import HoltWinters, choose_sarima_order, run_classical
from lstm_energy.forecast.data import SPLITS, prepare

ORDERS = (((0, 1, 1), (0, 1, 1)),)  # one order keeps the test to a few fits (a SARIMA fit takes ~1 s here)


@pytest.fixture(scope="module")
def dataset(synthetic_series):
    return prepare(synthetic_series, window=12)


def _targets(dataset):
    return {split: dataset.split(split).target_index for split in SPLITS}


def _direct_rmse(values, forecasts, index):
    return float(np.sqrt(np.mean((forecasts[index] - values[index]) ** 2)))


@pytest.mark.parametrize("family", ["SARIMA", "ETS"])
def test_classical_rmse_matches_statsmodels_on_the_same_split(family, dataset, synthetic_series, meter_factory):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    # no idle watts: the fits are priced by CPU seconds only, > 0 on a busy host too (not a work window
    # minus an idle twin timed by the host clock)
    meter = meter_factory(idle_watts=0.0, cpu_watts=3.0)
    fitted = run_classical(
        family,
        synthetic_series,
        _targets(dataset),
        dataset.boundaries,
        meter,
        orders=ORDERS,
        forecast_windows=2,
        forecast_min_window_seconds=0.005,
        repeats=2 if family == "ETS" else 1,
    )
    values, train_end = synthetic_series.values, dataset.boundaries[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if family == "SARIMA":
            order = ORDERS[0]
            direct = SARIMAX(values[:train_end], order=order[0], seasonal_order=(*order[1], 12)).fit(disp=False)
            forecasts = np.asarray(direct.apply(values).fittedvalues)  # parameters fixed, filtered through test
        else:
            params = ExponentialSmoothing(values[:train_end], trend="add", seasonal="add", seasonal_periods=12).fit()
            refit = ExponentialSmoothing(
                values,
                trend="add",
                seasonal="add",
                seasonal_periods=12,
                initialization_method="known",
                initial_level=params.params["initial_level"],
                initial_trend=params.params["initial_trend"],
                initial_seasonal=params.params["initial_seasons"],
            ).fit(
                smoothing_level=params.params["smoothing_level"],
                smoothing_trend=params.params["smoothing_trend"],
                smoothing_seasonal=params.params["smoothing_seasonal"],
                optimized=False,
            )
            forecasts = np.asarray(refit.fittedvalues)
    for split in SPLITS:
        index = dataset.split(split).target_index
        assert fitted.scores[split].rmse == pytest.approx(_direct_rmse(values, forecasts, index), rel=1e-6)
    # the same target points as the recurrent trials, and every energy priced, labelled like theirs
    np.testing.assert_array_equal(fitted.predictions["test"][0], dataset.test.target_index)
    assert fitted.training_joules > 0 and fitted.joules_per_forecast > 0 and fitted.joules_per_forecast_b1 > 0
    assert fitted.training_energy.provenance == meter.provenance == "simulated"
    assert len(fitted.repeats) == (2 if family == "ETS" else 1)
    assert fitted.forecast_energy.batch == dataset.test.target_index.size and fitted.forecast_energy_b1.batch == 1


def test_holt_winters_recursion_is_statsmodels_fittedvalues(synthetic_series):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    train = synthetic_series.values[:150]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = ExponentialSmoothing(train, trend="add", seasonal="add", seasonal_periods=12).fit()
    np.testing.assert_allclose(HoltWinters.fit(train, 12).one_step(train), reference.fittedvalues, rtol=1e-10)


def test_unknown_family_and_empty_order_list_say_what_to_do(dataset, synthetic_series, meter_factory):
    with pytest.raises(ValueError, match="'SARIMA' or 'ETS'"):
        run_classical("ARIMA", synthetic_series, _targets(dataset), dataset.boundaries, meter_factory())
    with pytest.raises(ValueError, match="at least one"):
        choose_sarima_order(synthetic_series.values[:100], (), 12)
