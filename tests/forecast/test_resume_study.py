"""--resume of a finished (or partly finished) forecast study: every finished piece comes from the
records (trials, precision evaluations, classical fits, baselines); nothing is measured or appended twice."""

import json
from types import SimpleNamespace

import pytest
from forecast_presets import tiny_preset

from lstm_energy.forecast.records import TrialAppender, load_resumed_study, write_records
from lstm_energy.forecast.search import SearchHooks, run_search

PRESET = tiny_preset("resume-tiny", repeats=2)


class UnreadableMeter:
    """A meter a fully resumed study must never read: every piece comes from the records."""

    name = "simulated"
    provenance = "simulated"

    def __init__(self, description):
        self.description = description

    def describe(self):
        return self.description

    def read(self):
        raise AssertionError("a resumed study measured again")

    def note_work(self, **work):
        raise AssertionError("a resumed study measured again")


def _study(series, meter, path, resumed=None):
    """One run of the study as ``lstm-energy forecast --records PATH [--resume]`` makes it."""
    stub = SimpleNamespace(series=series, preset=PRESET, impl="numpy", threads=1, strategy="grid")
    appender = TrialAppender(path, result_stub=stub, environment={"cpu_model": "test"})
    hooks = SearchHooks(on_trial=appender)
    if resumed is not None:
        hooks.resumed, hooks.resumed_precisions = resumed.trials, resumed.precisions
        hooks.resumed_classical = resumed.classical
    result = run_search(series, PRESET, meter, seed=0, impl="numpy", hooks=hooks)
    baselines = resumed.baselines if resumed is not None else frozenset()
    appended = appender.count + write_records(result, path, trials=False, recorded_baselines=baselines)
    return result, appended


def _kinds(path):
    return [json.loads(line)["kind"] for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, synthetic_series, meter_factory):
    path = tmp_path_factory.mktemp("resume") / "forecast.jsonl"
    result, appended = _study(synthetic_series, meter_factory(idle_watts=1e-3, cpu_watts=1.0), path)
    return path, result, appended


def test_a_finished_study_resumes_without_measuring_or_appending(finished, synthetic_series):
    path, whole, appended = finished
    before = path.read_text()
    assert appended == len(before.splitlines())
    resumed = load_resumed_study(path, series=synthetic_series.name, preset=PRESET.name, seed=0)
    assert len(resumed.trials) == 2 and set(resumed.classical) == {"SARIMA", "ETS"}
    assert {p for by_precision in resumed.precisions.values() for p in by_precision} == {"fp32", "bf16", "int8"}

    again, appended_again = _study(synthetic_series, UnreadableMeter(whole.meter_description), path, resumed)
    assert appended_again == 0 and path.read_text() == before
    assert all(t.resumed for t in again.trials)
    assert all(r.resumed for by_precision in again.precisions.values() for r in by_precision.values())
    assert all(m.resumed for m in again.classical)
    # the resumed figures are the recorded ones, so the page and the tables show the same study
    for old, new in zip(whole.classical, again.classical):
        assert (new.label, new.training_joules, new.joules_per_forecast) == (
            old.label,
            pytest.approx(old.training_joules),
            pytest.approx(old.joules_per_forecast),
        )
        assert new.scores["test"].rmse == pytest.approx(old.scores["test"].rmse)
        assert (new.predictions["test"][1] == old.predictions["test"][1]).all()
    int8_old, int8_new = whole.precisions["RNN"]["int8"], again.precisions["RNN"]["int8"]
    assert int8_new.joules_per_forecast == pytest.approx(int8_old.joules_per_forecast)
    assert int8_new.trial is again.best_per_family()["RNN"]
    assert again.baselines.keys() == whole.baselines.keys()


def test_a_study_cut_before_its_classical_fits_runs_only_those(finished, synthetic_series, meter_factory, tmp_path):
    path, whole, _ = finished
    cut = tmp_path / "cut.jsonl"
    kept = [line for line in path.read_text().splitlines() if '"role":"classical"' not in line]
    kept = [line for line in kept if json.loads(line)["kind"] != "forecast_baseline"]
    cut.write_text("\n".join(kept) + "\n")
    resumed = load_resumed_study(cut, series=synthetic_series.name, preset=PRESET.name, seed=0)
    assert resumed.classical == {} and resumed.baselines == set()

    again, appended = _study(synthetic_series, meter_factory(idle_watts=1e-3, cpu_watts=1.0), cut, resumed)
    assert [m.resumed for m in again.classical] == [False, False]
    assert appended == 2 + len(whole.baselines)  # the two fits and the baselines, nothing else
    assert sorted(_kinds(cut)) == sorted(_kinds(path))
