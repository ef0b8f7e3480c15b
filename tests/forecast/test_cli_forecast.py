"""`lstm-energy forecast --preset quick` end to end: real data, our kernels, the estimator, the page."""

import re

import pytest

from lstm_energy.cli import main


@pytest.mark.slow
def test_quick_preset_writes_the_report(tmp_path, capsys):
    out = tmp_path / "forecast.html"
    code = main(["forecast", "--preset", "quick", "-o", str(out), "--meter", "model", "--seed", "0"])
    assert code == 0
    page = out.read_text(encoding="utf-8")
    printed = capsys.readouterr()
    assert f"wrote {out}" in printed.out
    # the classic plot for LSTM, GRU, RNN, BiLSTM, SARIMA and ETS, each beside its zoom on the test
    # period (original and test predictions only, with residuals)
    for name, count in (("original", 12), ("train predictions", 6), ("test predictions", 12)):
        assert len(re.findall(rf'<polyline class="series [^"]*" data-series="{name}"', page)) == count
    assert page.count('<g class="residuals">') == 6
    assert "<h2>Machine and environment</h2>" in page and re.search(r"<th[^>]*>CPU</th>", page)
    assert page.count('<svg class="chart scatter"') == 2
    assert "ESTIMATED, NOT MEASURED" in page  # the model meter is an estimate and says so
    # every family beats the naive last-value baseline on test
    naive = float(re.search(r"baseline naive last value\s+test RMSE ([\d.]+)", printed.out).group(1))
    family_rmse = [float(x) for x in re.findall(r"^\w+\s.*test RMSE ([\d.]+) ppm  training", printed.out, flags=re.M)]
    assert len(family_rmse) == 4 and max(family_rmse) < naive
    # SARIMA and ETS are priced in joules beside them, and beat the naive baseline too
    classical = re.findall(r"^(SARIMA|ETS)\s.*test RMSE ([\d.]+) ppm  fit ([\d.e+-]+) J", printed.out, flags=re.M)
    assert [c[0] for c in classical] == ["SARIMA", "ETS"]
    assert all(float(rmse) < naive and float(joules) > 0 for _, rmse, joules in classical)
    assert "Pareto front" in printed.out
    # issue 18: each family's chosen model forecasts in fp32, bf16 and int8, on the page and printed
    by_precision = re.findall(
        r"^(\w+)\s+(fp32|bf16|int8)\s+test RMSE ([\d.]+) ppm \(([\d.]+)x fp32\)", printed.out, re.M
    )
    assert [p for _, p, _, _ in by_precision] == ["fp32", "bf16", "int8"] * 4
    assert page.count('<svg class="chart scatter precision"') == 1


def test_bad_preset_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["forecast", "--preset", "huge"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'huge'" in capsys.readouterr().err


def test_bad_threads_and_unknown_meter_are_usage_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["forecast", "--threads", "0"])
    assert exit_info.value.code == 2
    assert "expected a whole number >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # refused by argparse, before anything is loaded or trained
        main(["forecast", "--meter", "nonsense", "-o", str(tmp_path / "x.html")])
    assert exit_info.value.code == 2
    assert "unknown energy meter 'nonsense'; choose one of auto" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


ESTIMATOR = {
    "name": "model",
    "provenance": "estimated",
    "model": "E = static_watts*wall_seconds + cpu_watts*cpu_seconds(process)",
    "source": "Cloud Carbon Footprint coefficients: 3.68-8.96 W per vCPU x 2 vCPUs",
}
ESTIMATOR_LINE = (
    "  energy: ESTIMATED, NOT MEASURED, by the 'model' estimator: "
    "E = static_watts*wall_seconds + cpu_watts*cpu_seconds(process); "
    "Cloud Carbon Footprint coefficients: 3.68-8.96 W per vCPU x 2 vCPUs"
)


def estimating_meter(meter_factory, description=ESTIMATOR):
    """The FLOP-charging test meter, describing itself as ``description`` (an estimator's describe())."""

    class Described(meter_factory):
        def describe(self):
            return dict(description)

    return Described(cpu_watts=1.0, provenance="estimated")


def test_each_printed_table_names_the_estimator_its_coefficients_and_source_once(
    synthetic_series, meter_factory, capsys
):
    from forecast_presets import tiny_preset

    from lstm_energy.cli.forecast_cmd import _print_tables
    from lstm_energy.forecast.search import run_search

    result = run_search(synthetic_series, tiny_preset(), estimating_meter(meter_factory), seed=0, impl="numpy")
    _print_tables(result)
    lines = capsys.readouterr().out.splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith(("best of each", "each family's", "classical"))]
    assert len(headers) == 3  # the trials, the precisions and the classical models
    assert [lines[i + 1] for i in headers] == [ESTIMATOR_LINE] * 3
    assert lines.count(ESTIMATOR_LINE) == 3


def test_resume_onto_records_another_meter_made_is_refused_before_measuring(tmp_path, capsys):
    import json

    from lstm_energy.forecast.data import load_co2_monthly

    records = tmp_path / "study.jsonl"
    estimated = {
        "schema_version": 1,
        "kind": "forecast_baseline",
        "created": "2026-12-08T00:00:00Z",
        "config": {"series": load_co2_monthly().name, "preset": "quick", "baseline": "naive"},
        "energy": {"provenance": "estimated", "meter": {"name": "model"}},
        "warnings": [],
    }
    records.write_text(json.dumps(estimated) + "\n")
    args = ["forecast", "--preset", "quick", "--records", str(records), "--resume", "-o", str(tmp_path / "f.html")]
    assert main([*args, "--meter", "simulated"]) == 2
    err = capsys.readouterr().err
    assert "holds records made by: 1 estimated (meter model)" in err and "--meter model" in err
    assert records.read_text().count("\n") == 1  # nothing measured, nothing appended
    assert not (tmp_path / "f.html").exists()


def _co2_record(kind="forecast_baseline", **config):
    """A minimal record of the CO2 study's quick preset (enough for the checks made before any work)."""
    from lstm_energy.forecast.data import load_co2_monthly

    return {
        "schema_version": 1,
        "kind": kind,
        "created": "2026-12-08T00:00:00Z",
        "config": {"series": load_co2_monthly().name, "preset": "quick", **config},
        "energy": {"provenance": "simulated", "meter": {"name": "simulated"}},
        "warnings": [],
    }


def _no_study(monkeypatch):
    """Any training, fitting or metering after the checks fails the test."""

    def too_late(*args, **kwargs):
        raise AssertionError("the study started before the records file was checked")

    monkeypatch.setattr("lstm_energy.forecast.search.run_search", too_late)
    monkeypatch.setattr("lstm_energy.meters.opened_meter", too_late)


def test_resume_onto_records_made_with_another_engine_is_refused(tmp_path, capsys, monkeypatch):
    import json

    records = tmp_path / "study.jsonl"
    made = _co2_record("forecast_precision", impl="cython", threads=1, dtype="float32", precision="fp32", trial="x")
    records.write_text(json.dumps(made) + "\n")
    before = records.read_text()
    _no_study(monkeypatch)
    args = ["forecast", "--records", str(records), "--resume", "-o", str(tmp_path / "f.html"), "--meter", "simulated"]
    assert main([*args, "--impl", "numpy"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "made with other settings (1 with --impl cython --threads 1" in err
    assert "this run is --impl numpy --threads 1" in err
    assert records.read_text() == before and not (tmp_path / "f.html").exists()


def test_records_that_already_hold_a_study_are_refused_without_resume(tmp_path, capsys, monkeypatch):
    import json

    records = tmp_path / "study.jsonl"
    records.write_text(json.dumps(_co2_record(baseline="naive last value")) + "\n")
    before = records.read_text()

    def too_late():
        raise AssertionError("the data was loaded before the records file was checked")

    monkeypatch.setattr("lstm_energy.forecast.data.load_co2_monthly", too_late)
    assert main(["forecast", "--meter", "simulated", "--records", str(records), "-o", str(tmp_path / "f.html")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"ERROR: results file '{records}' already has records; pass --resume to continue it "
        "or choose a new --records path\n"
    )
    assert records.read_text() == before and not (tmp_path / "f.html").exists()


PROFILE = {
    "schema_version": 1,
    "kind": "profile",
    "created": "2026-12-08T00:00:00Z",
    "config": {
        "cell": "lstm",
        "impl": "cython",
        "phase": "forward",
        "batch": 1,
        "seq_len": 2,
        "input_size": 2,
        "hidden_size": 2,
    },
    "energy": {"provenance": "simulated", "meter": {"name": "simulated"}, "joules_per_call": {"median": 1.0}},
    "time": {"seconds_per_call": {"median": 1.0}},
    "warnings": [],
}


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("sweep", "holds 1 profile record(s) (written by `lstm-energy sweep -o`)"),
        ("html", "is an HTML page"),
        ("html+records", "is an HTML page"),
    ],
)
@pytest.mark.parametrize("resume", [["--resume"], []], ids=["resume", "no-resume"])
def test_a_records_file_that_is_not_forecast_records_is_refused_for_what_it_holds(
    tmp_path, capsys, monkeypatch, content, said, resume
):
    # without --resume too: "already has records; pass --resume" would only lead to this refusal
    import json

    records = tmp_path / "other.jsonl"
    html = "<!DOCTYPE html>\n<html><body>a report</body></html>\n"
    records.write_text(
        {
            "sweep": json.dumps(PROFILE) + "\n",
            "html": html,
            "html+records": html + json.dumps(_co2_record(baseline="naive last value")) + "\n",
        }[content]
    )
    before = records.read_text()
    _no_study(monkeypatch)
    args = ["forecast", "--records", str(records), *resume, "-o", str(tmp_path / "f.html"), "--meter", "simulated"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ERROR: '{records}' ") and err.count("\n") == 1 and said in err
    assert "--records takes a forecast study's records file" in err
    assert records.read_text() == before and not (tmp_path / "f.html").exists()
