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
