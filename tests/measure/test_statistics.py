"""Median, quartiles, bootstrap CI and CV on synthetic windows with known answers."""

import numpy as np
import pytest

from lstm_energy.errors import ShapeError
from lstm_energy.measure.statistics import Summary, bootstrap_median_ci, coefficient_of_variation, summarize


def test_median_and_quartiles_match_hand_computed_values():
    s = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    # sorted 1..5: median 3, linear-interpolated quartiles at positions 1 and 3 -> 2 and 4
    assert (s.median, s.q1, s.q3) == (3.0, 2.0, 4.0)


def test_median_is_robust_to_one_disturbed_window():
    s = summarize([1.0, 1.01, 0.99, 1.0, 50.0, 1.02, 0.98])
    assert s.median == pytest.approx(1.0)
    assert s.q3 < 1.05


def test_bootstrap_ci_brackets_the_median_and_is_reproducible():
    values = np.random.default_rng(1).normal(10.0, 1.0, size=15)
    low, high = bootstrap_median_ci(values, seed=0)
    assert low <= np.median(values) <= high
    assert (low, high) == bootstrap_median_ci(values, seed=0)
    assert (low, high) != bootstrap_median_ci(values, seed=1)


def test_bootstrap_ci_narrows_with_less_spread():
    rng = np.random.default_rng(2)
    wide = summarize(rng.normal(10.0, 2.0, size=21))
    narrow = summarize(rng.normal(10.0, 0.1, size=21))
    assert narrow.ci95_high - narrow.ci95_low < (wide.ci95_high - wide.ci95_low) / 5


def test_bootstrap_ci_covers_true_median_about_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    covered = 0
    trials = 200
    for _ in range(trials):
        sample = rng.normal(0.0, 1.0, size=25)
        low, high = bootstrap_median_ci(sample, seed=0, resamples=500)
        covered += low <= 0.0 <= high
    assert 0.85 <= covered / trials <= 1.0


def test_single_window_has_a_median_but_no_interval():
    """A zero-width [2.5, 2.5] would claim a precision one window cannot show."""
    s = summarize([2.5])
    assert s == Summary(2.5, None, None, None, None)
    assert not s.has_spread and summarize([2.0, 3.0]).has_spread
    assert s.scaled(2.0) == Summary(5.0, None, None, None, None)
    assert s.as_dict() == {"median": 2.5, "q1": None, "q3": None, "ci95_low": None, "ci95_high": None}


def test_bootstrap_refuses_a_single_value():
    with pytest.raises(ShapeError, match="at least 2"):
        bootstrap_median_ci([2.5])


def test_scaled_multiplies_every_statistic():
    s = summarize([1.0, 2.0, 3.0]).scaled(0.5)
    assert s.median == 1.0 and s.q1 == 0.75 and s.q3 == 1.25


def test_coefficient_of_variation():
    assert coefficient_of_variation([1.0, 1.0, 1.0]) == 0.0
    assert coefficient_of_variation([9.0, 11.0]) == pytest.approx(np.std([9, 11], ddof=1) / 10.0)
    assert coefficient_of_variation([7.0]) is None  # one window: no spread, not "0% spread"


@pytest.mark.parametrize("bad", [[], [[1.0, 2.0]], [1.0, float("nan")], [float("inf")]])
def test_bad_windows_are_rejected_with_a_reason(bad):
    with pytest.raises(ValueError, match="window|finite"):
        summarize(bad)
