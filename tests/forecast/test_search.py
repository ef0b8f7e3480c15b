"""The search: candidates, Pareto front, selection on validation only, and one tiny measured search."""

import numpy as np
import pytest

from lstm_energy.forecast.search import FAMILIES, PRESETS, Preset, SearchSpace, pareto_front, run_search
from lstm_energy.forecast.train import TrainConfig


def test_pareto_front_keeps_only_undominated_points():
    points = [(1.0, 5.0), (2.0, 3.0), (3.0, 4.0), (4.0, 1.0), (2.0, 3.0), (5.0, 1.0)]
    # (3,4) is beaten by (2,3); (5,1) by (4,1); the duplicate (2,3) points do not dominate each other
    assert pareto_front(points) == [0, 1, 3, 4]


def test_grid_has_every_combination_for_every_family():
    space = SearchSpace(hidden_sizes=(8, 16), windows=(12, 24, 36), num_layers=(1, 2))
    grid = space.candidates("grid")
    assert len(grid) == len(FAMILIES) * 12
    assert len({(c.family, c.model, c.window) for c in grid}) == len(grid)
    assert {c.model.bidirectional for c in grid if c.family == "BiLSTM"} == {True}


def test_random_search_is_seeded_and_samples_each_family():
    space = SearchSpace(hidden_sizes=(8, 16, 32), windows=(12, 24), num_layers=(1, 2))
    a = space.candidates("random", samples_per_family=3, seed=1)
    assert a == space.candidates("random", samples_per_family=3, seed=1)
    assert a != space.candidates("random", samples_per_family=3, seed=2)
    assert [c.family for c in a] == [f for f in FAMILIES for _ in range(3)]
    with pytest.raises(ValueError, match="'grid' or 'random'"):
        space.candidates("bayesian")


def test_presets_cover_all_four_families():
    for preset in PRESETS.values():
        families = {
            c.family for c in preset.space.candidates(preset.strategy, samples_per_family=preset.samples_per_family)
        }
        assert families == set(FAMILIES)


def tiny_preset():
    return Preset(
        name="tiny",
        space=SearchSpace(families=("RNN", "GRU"), hidden_sizes=(4, 8), windows=(12,)),
        strategy="grid",
        training=TrainConfig(epochs=3, batch_size=64, learning_rate=1e-2),
        forecast_windows=3,
        forecast_min_window_seconds=0.01,
    )


def test_tiny_search_scores_prices_and_chooses_on_validation(meter_factory, tick_clock, synthetic_series):
    # the meter's clock moves 1 µs per read, not with real time: each window, work or idle, is charged exactly
    # 1 mW x 1 µs of idle energy, so the idle part of the total is known, and the subtraction (idle power x the
    # protocol's own seconds) leaves at most 1e-9 J of it in the dynamic figure however busy the host is
    meter = meter_factory(idle_watts=1e-3, joules_per_flop=1e-9, clock=tick_clock(1e-6))
    result = run_search(synthetic_series, tiny_preset(), meter, seed=0, impl="numpy")
    assert [t.candidate.label for t in result.trials] == [
        "RNN H=4 L=1 T=12",
        "RNN H=8 L=1 T=12",
        "GRU H=4 L=1 T=12",
        "GRU H=8 L=1 T=12",
    ]
    for trial in result.trials:
        assert set(trial.scores) == {"train", "validation", "test"}
        assert trial.training_work.flops > 0 and trial.forecast_work.flops > 0 and trial.forecast_work.bytes > 0
        # the simulated meter charges 1 nJ per FLOP noted: dynamic joules are exactly the FLOPs' share
        assert trial.training_joules == pytest.approx(1e-9 * trial.training_work.flops, rel=1e-2)
        assert trial.joules_per_forecast == pytest.approx(1e-9 * trial.forecast_work.flops, rel=1e-2)
        assert trial.training_total_joules > trial.training_joules  # the idle watts are in the total
        index, forecast = trial.predictions["test"]
        np.testing.assert_array_equal(index, np.arange(result.boundaries[1], synthetic_series.values.size))
        assert np.all(np.isfinite(forecast))
    best = result.best_per_family()
    for family in ("RNN", "GRU"):
        family_trials = [t for t in result.trials if t.candidate.family == family]
        assert best[family] is min(family_trials, key=lambda t: t.scores["validation"].rmse)
    assert result.provenance == "simulated"
    assert set(result.baselines) == {
        "naive last value",
        "seasonal naive (season 12)",
        "seasonal naive on differences (season 12)",
    }
    assert result.pareto_indices()
