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
    assert "<h2>Machine and environment</h2>" in page and "<th>CPU</th>" in page
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


def test_each_printed_table_names_the_estimator_its_coefficients_and_source_once(
    synthetic_series, meter_factory, capsys
):
    from dataclasses import replace

    from forecast_presets import tiny_preset

    from lstm_energy.cli.forecast_cmd import _print_tables
    from lstm_energy.forecast.search import run_search

    preset = tiny_preset()
    result = run_search(synthetic_series, preset, meter_factory(cpu_watts=1.0), seed=0, impl="numpy")
    estimator = {
        "name": "model",
        "provenance": "estimated",
        "model": "E = static_watts*wall_seconds + cpu_watts*cpu_seconds(process)",
        "source": "Cloud Carbon Footprint coefficients: 3.68-8.96 W per vCPU x 2 vCPUs",
    }
    _print_tables(replace(result, provenance="estimated", meter_description=estimator))
    lines = capsys.readouterr().out.splitlines()
    described = (
        "  energy: ESTIMATED, NOT MEASURED, by the 'model' estimator: "
        "E = static_watts*wall_seconds + cpu_watts*cpu_seconds(process); "
        "Cloud Carbon Footprint coefficients: 3.68-8.96 W per vCPU x 2 vCPUs"
    )
    headers = [i for i, line in enumerate(lines) if line.startswith(("best of each", "each family's", "classical"))]
    assert len(headers) == 3  # the trials, the precisions and the classical models
    assert [lines[i + 1] for i in headers] == [described] * 3
    assert lines.count(described) == 3


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
