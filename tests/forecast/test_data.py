"""The shipped series, windows, time-ordered split and the scaler (fitted on the training split only)."""

import numpy as np
import pytest

from lstm_energy.forecast.data import Series, StandardScaler, load_co2_monthly, prepare, sliding_windows


def make_series(values, season=None):
    values = np.asarray(values, dtype=np.float64)
    dates = np.datetime64("2000-01", "M") + np.arange(len(values))
    return Series(name="synthetic", values=values, dates=dates, units="u", season=season, source="test")


def test_co2_ships_with_the_package_monthly_without_gaps():
    series = load_co2_monthly()
    assert series.values.shape == (526,)
    assert series.dates[0] == np.datetime64("1958-03") and series.dates[-1] == np.datetime64("2001-12")
    assert np.all(np.diff(series.dates).astype(int) == 1)
    assert np.all(np.isfinite(series.values)) and 300 < series.values.min() < series.values.max() < 380
    assert series.season == 12


def test_sliding_windows_end_just_before_each_target():
    z = np.arange(10.0)
    w = sliding_windows(z, 3, np.array([3, 7, 9]))
    np.testing.assert_array_equal(w, [[0, 1, 2], [4, 5, 6], [6, 7, 8]])
    with pytest.raises(ValueError, match="target indices >= 3"):
        sliding_windows(z, 3, np.array([2]))


@pytest.mark.parametrize("difference", [False, True])
def test_splits_are_in_time_order_and_cover_every_target_once(difference):
    data = prepare(make_series(np.sin(np.arange(200) / 3.0)), window=12, difference=difference)
    train, val, test = (data.split(s).target_index for s in ("train", "validation", "test"))
    assert train.max() < val.min() <= val.max() < test.min()
    assert test.max() == 199
    everything = np.concatenate([train, val, test])
    np.testing.assert_array_equal(everything, np.arange(everything[0], 200))
    assert everything[0] == (13 if difference else 12)
    # the targets are the (scaled) model series at the target index, reconstructable in original units
    for split in ("train", "validation", "test"):
        w = data.split(split)
        np.testing.assert_allclose(data.to_original_units(w.targets, w), data.actual(w), atol=1e-12)


@pytest.mark.parametrize("difference", [False, True])
def test_scaler_never_sees_the_validation_or_test_split(difference):
    values = np.sin(np.arange(200) / 3.0) + np.arange(200) * 0.01
    clean = prepare(make_series(values), window=12, difference=difference)
    leaked = values.copy()
    leaked[clean.boundaries[0] :] += 1000.0 * np.arange(200 - clean.boundaries[0])  # wild future
    dirty = prepare(make_series(leaked), window=12, difference=difference)
    assert dirty.scaler == clean.scaler
    np.testing.assert_array_equal(dirty.train.inputs, clean.train.inputs)
    np.testing.assert_array_equal(dirty.train.targets, clean.train.targets)
    # and the fitted scaler standardises the training split exactly
    fit = np.diff(values)[: clean.boundaries[0] - 1] if difference else values[: clean.boundaries[0]]
    assert clean.scaler.mean == pytest.approx(fit.mean())
    assert clean.scaler.std == pytest.approx(fit.std())


def test_scaler_round_trip_and_errors():
    s = StandardScaler.fit(np.array([1.0, 2.0, 3.0, 4.0]))
    x = np.array([-3.0, 0.5, 10.0])
    np.testing.assert_allclose(s.inverse_transform(s.transform(x)), x)
    with pytest.raises(ValueError, match="constant"):
        StandardScaler.fit(np.ones(5))


def test_prepare_rejects_a_window_that_leaves_no_training_data():
    with pytest.raises(ValueError, match="shorter window"):
        prepare(make_series(np.arange(30.0)), window=25)
