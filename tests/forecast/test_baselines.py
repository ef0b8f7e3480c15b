import numpy as np
import pytest

from lstm_energy.forecast.baselines import baselines_for, naive_last_value, seasonal_naive
from lstm_energy.forecast.data import Series


def series(values, season):
    values = np.asarray(values, dtype=np.float64)
    return Series("s", values, np.datetime64("2000-01", "M") + np.arange(values.size), "u", season, "test")


def test_naive_is_the_previous_value_and_seasonal_naive_one_season_back():
    s = series(np.arange(30.0) ** 2, season=12)
    idx = np.array([12, 20, 29])
    np.testing.assert_array_equal(naive_last_value(s, idx), (idx - 1.0) ** 2)
    np.testing.assert_array_equal(seasonal_naive(s, idx), (idx - 12.0) ** 2)


def test_seasonal_naive_is_exact_on_a_purely_seasonal_series():
    s = series(np.tile(np.arange(12.0), 4), season=12)
    idx = np.arange(12, 48)
    np.testing.assert_array_equal(seasonal_naive(s, idx), s.values[idx])
    assert np.abs(naive_last_value(s, idx) - s.values[idx]).max() == 11


def test_seasonal_naive_needs_a_season():
    s = series(np.arange(30.0), season=None)
    assert list(baselines_for(s)) == ["naive last value"]
    with pytest.raises(ValueError, match="no season"):
        seasonal_naive(s, np.array([20]))
    with pytest.raises(ValueError, match="needs 12 earlier"):
        seasonal_naive(series(np.arange(30.0), 12), np.array([5]))


def test_seasonal_naive_on_differences_is_exact_on_trend_plus_season():
    from lstm_energy.forecast.baselines import seasonal_naive_on_differences

    t = np.arange(60.0)
    s = series(0.5 * t + np.tile([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0], 5), season=12)
    idx = np.arange(13, 60)
    np.testing.assert_allclose(seasonal_naive_on_differences(s, idx), s.values[idx])
    # the plain seasonal naive lags a season of trend behind, the naive one the season's swing
    np.testing.assert_allclose(s.values[idx] - seasonal_naive(s, idx), 6.0)
    assert list(baselines_for(s)) == [
        "naive last value",
        "seasonal naive (season 12)",
        "seasonal naive on differences (season 12)",
    ]
    with pytest.raises(ValueError, match="needs 13 earlier"):
        seasonal_naive_on_differences(s, np.array([12]))


def test_every_baseline_is_scored_on_the_models_targets_in_levels(synthetic_series):
    from lstm_energy.forecast.data import prepare, rmse
    from lstm_energy.forecast.search import baseline_scores

    dataset = prepare(synthetic_series, window=12)
    scores, predictions = baseline_scores(dataset)
    y, index = synthetic_series.values, dataset.test.target_index
    fair = scores["seasonal naive on differences (season 12)"]["test"].rmse
    assert fair == pytest.approx(rmse(y[index - 1] + y[index - 12] - y[index - 13], y[index]))
    np.testing.assert_array_equal(predictions["seasonal naive on differences (season 12)"][0], index)
    assert fair < scores["seasonal naive (season 12)"]["test"].rmse  # the series trends
