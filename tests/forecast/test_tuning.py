"""bayes and pareto search (Optuna): seeded and reproducible, a true Pareto front, resume after a kill."""

import pytest

from lstm_energy.forecast.search import Preset, SearchHooks, SearchSpace, TuningSpace, run_search
from lstm_energy.forecast.train import TrainConfig

optuna = pytest.importorskip("optuna")


def tiny(families=("RNN",), trials=4):
    return Preset(
        name="tiny",
        space=SearchSpace(families=families),
        strategy="bayes",
        training=TrainConfig(epochs=1, batch_size=64),
        forecast_windows=2,
        forecast_min_window_seconds=0.002,
        trials_per_family=trials,
        tuning=TuningSpace(hidden_size=(2, 8), windows=(6, 12), num_layers=(1, 2), epochs=(1, 3)),
        classical=(),
    )


def _meter(meter_factory):
    """A simulated meter charging the FLOPs only (no idle watts): net joules are exactly the FLOPs' share,
    positive and the same on every run, not the difference of two windows timed by a busy host's clock."""
    return meter_factory(idle_watts=0.0)


def _search(series, meter, strategy, preset=None, hooks=None, seed=3):
    return run_search(series, preset or tiny(), meter, seed=seed, impl="numpy", strategy=strategy, hooks=hooks)


def test_seeded_bayes_search_gives_the_same_trials_twice(synthetic_series, meter_factory):
    a = _search(synthetic_series, _meter(meter_factory), "bayes")
    b = _search(synthetic_series, _meter(meter_factory), "bayes")
    assert [t.label for t in a.trials] == [t.label for t in b.trials]
    assert [t.scores["validation"].rmse for t in a.trials] == [t.scores["validation"].rmse for t in b.trials]
    assert len({t.label for t in a.trials}) > 1  # it did search: not one configuration four times
    other = _search(synthetic_series, _meter(meter_factory), "bayes", seed=4)
    assert [t.label for t in other.trials] != [t.label for t in a.trials]


def test_pareto_search_reports_exactly_the_non_dominated_trials(synthetic_series, meter_factory):
    result = _search(synthetic_series, _meter(meter_factory), "pareto", preset=tiny(trials=5))
    points = {t.label: (t.scores["validation"].rmse, t.training_joules) for t in result.trials}
    brute = {
        label
        for label, (error, joules) in points.items()
        if not any(e <= error and j <= joules and (e, j) != (error, joules) for e, j in points.values())
    }
    assert set(result.optuna_front) == brute and brute


def test_resume_after_a_kill_keeps_every_finished_trial(synthetic_series, meter_factory, tmp_path):
    from types import SimpleNamespace

    from lstm_energy.forecast.records import TrialAppender, load_resumed

    preset = tiny(trials=4)
    whole = _search(synthetic_series, _meter(meter_factory), "bayes", preset=preset)

    path = tmp_path / "forecast.jsonl"
    stub = SimpleNamespace(series=synthetic_series, preset=preset, impl="numpy", threads=1, strategy="bayes")
    appender = TrialAppender(path, result_stub=stub, environment={"cpu_model": "test"})

    def killed_after_two(trial, role):
        appender(trial, role)
        if appender.count == 2:
            raise KeyboardInterrupt  # the process dies right after the second record reached the disk

    with pytest.raises(KeyboardInterrupt):
        _search(
            synthetic_series,
            _meter(meter_factory),
            "bayes",
            preset=preset,
            hooks=SearchHooks(on_trial=killed_after_two),
        )
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"kind": "forecast_trial", "config": {"fam')  # and a third record was cut mid-line

    finished = load_resumed(path, series=synthetic_series.name, preset=preset.name, impl="numpy", threads=1)
    assert len(finished) == 2
    trained = []
    resumed = _search(
        synthetic_series,
        _meter(meter_factory),
        "bayes",
        preset=preset,
        hooks=SearchHooks(on_trial=lambda trial, role: trained.append(trial.label), resumed=finished),
    )
    labels = [t.label for t in resumed.trials]
    assert labels == [t.label for t in whole.trials]  # the replay asks what the uninterrupted search asked
    assert [t.resumed for t in resumed.trials] == [True, True, False, False]
    assert trained == labels[2:]  # the two finished trials were not trained again
    for before, after in zip(whole.trials[:2], resumed.trials[:2]):
        assert after.scores["test"].rmse == before.scores["test"].rmse
        assert after.training_joules > 0


def test_without_optuna_bayes_names_the_extra(monkeypatch, synthetic_series, meter_factory):
    import sys

    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    with pytest.raises(ImportError, match=r"lstm_energy\[forecast\]"):
        _search(synthetic_series, _meter(meter_factory), "pareto")
