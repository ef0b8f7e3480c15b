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
    resumed = load_resumed_study(
        path, series=synthetic_series.name, preset=PRESET.name, seed=0, impl="numpy", threads=1
    )
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
    resumed = load_resumed_study(cut, series=synthetic_series.name, preset=PRESET.name, seed=0, impl="numpy", threads=1)
    assert resumed.classical == {} and resumed.baselines == set()

    again, appended = _study(synthetic_series, meter_factory(idle_watts=1e-3, cpu_watts=1.0), cut, resumed)
    assert [m.resumed for m in again.classical] == [False, False]
    assert appended == 2 + len(whole.baselines)  # the two fits and the baselines, nothing else
    assert sorted(_kinds(cut)) == sorted(_kinds(path))


def _page_banners(page):
    import re

    return re.findall(r'<div class="banner banner-(\w+)" role="note"><strong>(.*?)</strong>(.*?)</div>', page, re.S)


def test_a_resumed_page_and_tables_cite_the_meter_each_figure_was_recorded_with(
    finished, synthetic_series, capsys, tmp_path
):
    from lstm_energy.cli.forecast_cmd import _print_tables
    from lstm_energy.forecast import report

    path, whole, _ = finished
    copy = tmp_path / "copy.jsonl"
    copy.write_text(path.read_text())
    resumed = load_resumed_study(
        copy, series=synthetic_series.name, preset=PRESET.name, seed=0, impl="numpy", threads=1
    )
    recorded = whole.meter_description
    other = dict(recorded, source="another meter's coefficients", parameters={"idle_watts": 987.65})
    again, _ = _study(synthetic_series, UnreadableMeter(other), copy, resumed)

    page = report.render(again)
    banners = _page_banners(page)
    assert [b[0] for b in banners] == ["simulated"]  # one description: no "several meters" banner
    assert recorded["source"] in banners[0][2] and "idle_watts = 0.001" in banners[0][2]
    assert "987.65" not in page and "another meter" not in page  # not the meter open now
    _print_tables(again)
    out = capsys.readouterr().out
    assert (
        "another meter" not in out
        and out.count(f"energy: SIMULATED (tests only), NOT MEASURED, by the 'simulated' meter: {recorded['source']}")
        == 3
    )


def test_a_study_priced_under_two_meter_descriptions_names_each(
    finished, synthetic_series, meter_factory, capsys, tmp_path
):
    from lstm_energy.cli.forecast_cmd import _print_tables
    from lstm_energy.forecast import report

    path, whole, _ = finished
    cut = tmp_path / "cut.jsonl"  # the classical fits are missing: they are measured under the new meter
    cut.write_text("\n".join(line for line in path.read_text().splitlines() if '"role":"classical"' not in line) + "\n")
    resumed = load_resumed_study(cut, series=synthetic_series.name, preset=PRESET.name, seed=0, impl="numpy", threads=1)

    class Recalibrated(meter_factory):
        def describe(self):
            return dict(super().describe(), source="recalibrated FlopChargingMeter")

    again, _ = _study(synthetic_series, Recalibrated(idle_watts=2e-3, cpu_watts=1.0), cut, resumed)
    page = report.render(again)
    several = [b for b in _page_banners(page) if b[1] == "SEVERAL METER DESCRIPTIONS"]
    assert len(several) == 1
    priced = len(again.priced())
    assert "FlopChargingMeter in tests/forecast" in several[0][2] and f"[{priced - 2} of {priced} rows" in several[0][2]
    assert "recalibrated FlopChargingMeter" in several[0][2] and f"[2 of {priced} rows: SARIMA" in several[0][2]
    _print_tables(again)
    lines = capsys.readouterr().out.splitlines()
    classical = lines.index("classical models (fitted on the training split):")
    assert "recalibrated FlopChargingMeter" in lines[classical + 1]
    assert not any("recalibrated" in line for line in lines[:classical])  # the trials keep their own meter


def test_a_resumed_page_keeps_the_protocol_warnings_its_records_carry(finished, synthetic_series, tmp_path):
    from lstm_energy.forecast import report

    path, whole, _ = finished
    marked = tmp_path / "marked.jsonl"
    lines = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["kind"] != "forecast_baseline":
            record["warnings"] = [
                *record["warnings"],
                f"recorded warning of {record['kind']} {record['config']['family']}",
            ]
        batch1 = (record.get("study") or {}).get("per_forecast_batch1")
        if batch1 is not None:
            batch1["warnings"] = [*batch1["warnings"], "recorded batch-1 warning"]
        lines.append(json.dumps(record))
    marked.write_text("\n".join(lines) + "\n")
    resumed = load_resumed_study(
        marked, series=synthetic_series.name, preset=PRESET.name, seed=0, impl="numpy", threads=1
    )
    again, _ = _study(synthetic_series, UnreadableMeter(whole.meter_description), marked, resumed)
    expected = {
        "recorded warning of forecast_trial RNN",  # the training run and its repeat
        "recorded warning of forecast_precision RNN",
        "recorded warning of forecast_trial SARIMA",
        "recorded warning of forecast_trial ETS",
        "recorded batch-1 warning",
    }
    assert expected <= set(again.warnings)
    assert set(whole.warnings) <= set(again.warnings)
    page = report.render(again)
    warnings_list = page.split('<ul class="warnings">')[1].split("</ul>")[0]
    assert "<li>none</li>" not in warnings_list and all(w in warnings_list for w in expected)


@pytest.mark.parametrize(
    ("impl", "threads", "named"),
    [("cython", 1, "this run is --impl cython --threads 1"), ("numpy", 2, "this run is --impl numpy --threads 2")],
)
def test_resume_refuses_records_made_with_another_engine_or_thread_count(
    finished, synthetic_series, impl, threads, named
):
    from lstm_energy.errors import ConfigError

    path, _, _ = finished
    with pytest.raises(ConfigError) as refused:
        load_resumed_study(path, series=synthetic_series.name, preset=PRESET.name, seed=0, impl=impl, threads=threads)
    message = str(refused.value)
    assert "\n" not in message and named in message
    assert "with --impl numpy --threads 1 (dtype float32)" in message and "new --records path" in message


def test_resume_refuses_classical_fits_made_with_another_thread_count(finished, tmp_path):
    from lstm_energy.errors import ConfigError
    from lstm_energy.forecast.records import check_resume_settings

    path, _, _ = finished
    classical = [json.loads(line) for line in path.read_text().splitlines() if '"role":"classical"' in line]
    assert classical and all(r["environment"]["blas_threads"] == 1 for r in classical)
    check_resume_settings(classical, path, impl="numpy", threads=1)
    with pytest.raises(ConfigError, match=r"\(2 with --threads 1\); this run is --impl numpy --threads 2"):
        check_resume_settings(classical, path, impl="numpy", threads=2)


def test_a_record_cut_by_a_kill_is_skipped_silently_only_when_it_is_the_last_line(finished, tmp_path):
    import warnings

    from lstm_energy.forecast.records import study_file_records
    from lstm_energy.results import SkippedRecordsWarning

    path, _, _ = finished
    lines = path.read_text().splitlines()
    cut = '{"schema_version": 1, "kind": "forecast_trial", "config": {"fam'
    killed = tmp_path / "killed.jsonl"
    killed.write_text("\n".join(lines) + "\n" + cut)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the kill a --resume follows: nothing to say
        assert len(study_file_records(killed)) == len(lines)
    resumed_since = tmp_path / "resumed-since.jsonl"
    resumed_since.write_text("\n".join([*lines[:2], cut, *lines[2:]]) + "\n")
    with pytest.warns(SkippedRecordsWarning, match="1 record.s. cut short by an earlier kill were skipped: .*:3:"):
        assert len(study_file_records(resumed_since)) == len(lines)
