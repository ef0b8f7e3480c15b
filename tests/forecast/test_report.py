"""The HTML page: self-contained, honest provenance banner, the three forecast series, the scatter."""

import html
import re
from xml.etree import ElementTree

import pytest

from lstm_energy.forecast import report
from lstm_energy.forecast.search import Preset, SearchSpace, run_search
from lstm_energy.forecast.train import TrainConfig


@pytest.fixture(scope="module", params=["estimated", "simulated"])
def result(request, meter_factory, cpu_time_clock, synthetic_series):
    preset = Preset(
        name="tiny",
        space=SearchSpace(families=("RNN", "BiLSTM"), hidden_sizes=(4,), windows=(6, 12)),
        strategy="grid",
        training=TrainConfig(epochs=2, batch_size=64),
        forecast_windows=2,
        forecast_min_window_seconds=0.005,
        repeats=2,
        sarima_orders=(((0, 1, 1), (0, 1, 1)),),
    )
    # the meter and the protocol share one clock (CPU time + virtual sleep): the idle watts subtract out of
    # every work window to within microjoules, however busy the host, so no dynamic figure comes out at 0 J
    # or less (the page would rightly drop its scatters) and the idle power stays a plausible 0.5 W
    with cpu_time_clock() as clock:
        meter = meter_factory(idle_watts=0.5, provenance=request.param, cpu_watts=3.0, clock=clock)
        return run_search(synthetic_series, preset, meter, seed=0, impl="numpy")


def test_page_is_self_contained_and_every_svg_parses(result, tmp_path):
    path = report.write(result, tmp_path / "sub" / "forecast.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # no scripts, no external resources: the only URL is the SVG namespace
    assert "<script" not in page
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {"http://www.w3.org/2000/svg"}
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    # per family and per classical model (SARIMA, ETS) a forecast chart and its zoom, + two scatters,
    # + energy per forecast by precision (issue 18)
    assert len(svgs) == (2 + 2) * 2 + 2 + 1
    namespace = "{http://www.w3.org/2000/svg}"
    for svg in svgs:
        root = ElementTree.fromstring(svg)
        # every chart's legend is an SVG group, and no stray text (e.g. a Python repr) sits at the top level
        assert root.find(f"{namespace}g[@class='legend']") is not None
        assert not (root.text or "").strip() and all(not (child.tail or "").strip() for child in root)


def test_banner_says_not_measured(result):
    page = report.render(result)
    banners = re.findall(
        r'<div class="banner banner-(\w+)" role="note"><strong>(.*?)</strong>(.*?)</div>', page, flags=re.S
    )
    assert [b[0] for b in banners] == [result.provenance]  # one banner, for this provenance only
    expected = {"estimated": "ESTIMATED, NOT MEASURED", "simulated": "SIMULATED: TEST DATA, NOT A MEASUREMENT"}
    assert banners[0][1] == expected[result.provenance]
    assert "idle_watts" in banners[0][2]  # the meter's parameters are named
    assert "MEASURED</strong>" not in page.replace("NOT MEASURED</strong>", "")


def test_forecast_chart_draws_original_train_and_test_in_distinct_colours(result):
    page = report.render(result)
    chart = re.search(r'<svg class="chart forecast".*?</svg>', page, flags=re.S).group(0)
    colours = {}
    for name in ("original", "train predictions", "test predictions"):
        line = re.search(
            rf'<polyline class="series [^"]*" data-series="{name}" points="([^"]+)"[^>]*stroke="([^"]+)"', chart
        )
        assert line, name
        colours[name] = line.group(2)
        assert len(line.group(1).split()) > 10
    assert len(set(colours.values())) == 3
    # the test predictions start at the test boundary on the same time axis as the original
    original = [
        tuple(map(float, p.split(",")))
        for p in re.search(r'data-series="original" points="([^"]+)"', chart).group(1).split()
    ]
    test_points = [
        tuple(map(float, p.split(",")))
        for p in re.search(r'data-series="test predictions" points="([^"]+)"', chart).group(1).split()
    ]
    assert test_points[0][0] == pytest.approx(original[result.boundaries[1]][0])
    assert test_points[-1][0] == pytest.approx(original[-1][0])


def test_scatter_marks_the_pareto_front_and_the_table_lists_every_trial(result):
    page = report.render(result)
    for energy in ("training", "forecast"):
        scatter = re.search(rf'<svg class="chart scatter" data-energy="{energy}".*?</svg>', page, flags=re.S).group(0)
        marks = re.findall(r'class="mark".*?<title>(.*?)</title>', scatter)
        trial_marks = [m for m in marks if " H=" in m]
        assert len(trial_marks) == len(result.trials)
        # SARIMA and ETS are placed and ranked beside the trials
        assert sum(m.startswith(("SARIMA", "ETS")) for m in marks) == len(result.classical) == 2
        assert sum("Pareto-optimal" in m for m in marks) == len(result.pareto_indices(energy)) >= 1
        front = re.search(r'<polyline class="mark ref-line" points="([^"]+)"[^>]*><title>Pareto front</title>', scatter)
        if len(result.pareto_indices(energy)) > 1:
            assert len(front.group(1).split()) == len(result.pareto_indices(energy))
        else:  # one model beats every other: a point, not a front line
            assert front is None
        # the chosen configurations' seeded runs show as error bars
        assert scatter.count('class="errorbar"') >= 1
    table = re.search(r'<table class="search">.*?</table>', page, flags=re.S).group(0)
    rows = re.findall(r"<tr.*?</tr>", table, flags=re.S)
    assert len(rows) == 1 + len(result.entries()) + len(result.baselines)
    assert {len(re.findall(r"<t[hd][ >]", row)) for row in rows} == {16}  # every row fills every column
    assert table.count('class="pareto') == len(result.pareto_indices())
    assert [m.group(1) for m in re.finditer(r'<tr class="[^"]*classical[^"]*"><td class="l">(\w+)', table)] == [
        "SARIMA",
        "ETS",
    ]
    assert "On the Pareto front of training (or fit) energy" in page


def test_records_round_trip_through_the_results_loader(result, tmp_path):
    from lstm_energy.forecast.records import BASELINE_KIND, TRIAL_KIND, write_records
    from lstm_energy.results import load_records

    path = tmp_path / "forecast.jsonl"
    repeats = sum(len(runs) - 1 for family, runs in result.repeats.items() if family not in ("SARIMA", "ETS"))
    precisions = sum(len(by_precision) for by_precision in result.precisions.values())
    expected = len(result.trials) + repeats + precisions + len(result.classical) + len(result.baselines)
    assert write_records(result, path) == expected
    loaded = load_records(path)
    assert not loaded.problems
    classical = [r for r in loaded.records if r["kind"] == TRIAL_KIND and r["study"]["role"] == "classical"]
    assert [r["config"]["family"] for r in classical] == ["SARIMA", "ETS"]
    assert all(r["energy"]["training_run"]["joules"] > 0 for r in classical)  # priced (cpu_watts)
    trials = [r for r in loaded.records if r["kind"] == TRIAL_KIND and r["study"]["role"] == "search"]
    assert len(trials) == len(result.trials)
    for record, trial in zip(trials, result.trials):
        assert record["energy"]["provenance"] == result.provenance
        assert record["energy"]["training_run"]["joules"] == trial.training_joules
        assert record["accuracy"]["test"]["rmse"] == trial.scores["test"].rmse
        assert record["config"]["window"] == trial.candidate.window
        assert record["costs"]["per_forecast"]["flops"] == trial.forecast_work.flops
    baselines = [r for r in loaded.records if r["kind"] == BASELINE_KIND]
    assert {r["config"]["baseline"] for r in baselines} == set(result.baselines)


# --------------------------------------------------------------------------------------------------
# degenerate energy: a dead counter (measured, 0 J, idle 0 W) or energy that does not separate trials
def _stat(value):
    from types import SimpleNamespace

    return SimpleNamespace(median=value)


def _measurement(joules, idle_watts, provenance="simulated", meter=None):
    """Stands in for a lstm_energy.measure Measurement: the medians, idle power, provenance, meter
    description and warnings the page reads."""
    from types import SimpleNamespace

    return SimpleNamespace(
        joules_per_call=_stat(joules),
        total_joules_per_call=_stat(joules),
        joules_per_sequence=_stat(joules),
        total_joules_per_sequence=_stat(joules),
        idle_watts=idle_watts,
        provenance=provenance,
        meter_description=meter or {"name": "simulated", "provenance": provenance},
        warnings=[],
    )


def _with_energy(result, joules, idle_watts, provenance):
    """``result`` with every trial's training and forecast energy set to ``joules`` (made by a meter
    called powercap of ``provenance``)."""
    from dataclasses import replace

    meter = dict(result.meter_description, name="powercap", provenance=provenance)

    def measured():
        return _measurement(joules, idle_watts, provenance, meter)

    def priced(entry):
        return replace(entry, training_energy=measured(), forecast_energy=measured(), forecast_energy_b1=measured())

    trials = [priced(t) for t in result.trials]
    classical = [priced(m) for m in result.classical]
    precisions = {  # the precision axis: per-forecast energy only (the training run is the trial's)
        family: {p: replace(r, forecast_energy=measured(), forecast_energy_b1=measured()) for p, r in runs.items()}
        for family, runs in result.precisions.items()
    }
    return replace(
        result,
        trials=trials,
        classical=classical,
        repeats={},
        provenance=provenance,
        meter_description=meter,
        precisions=precisions,
    )


@pytest.fixture(scope="module")
def healthy(meter_factory, cpu_time_clock, synthetic_series):
    preset = Preset(
        name="tiny",
        space=SearchSpace(families=("RNN", "BiLSTM"), hidden_sizes=(4,), windows=(6, 12)),
        strategy="grid",
        training=TrainConfig(epochs=2, batch_size=64),
        forecast_windows=2,
        forecast_min_window_seconds=0.005,
        sarima_orders=(((0, 1, 1), (0, 1, 1)),),
    )
    # the meter and the protocol share one clock (CPU time + virtual sleep): the idle watts subtract out of
    # every work window to within microjoules, however busy the host, so no dynamic figure comes out at 0 J
    # or less (the page would rightly drop its scatters) and the idle power stays a plausible 0.5 W
    with cpu_time_clock() as clock:
        meter = meter_factory(idle_watts=0.5, provenance="simulated", cpu_watts=3.0, clock=clock)
        return run_search(synthetic_series, preset, meter, seed=0, impl="numpy")


def _banners(page):
    return re.findall(
        r'<div class="banner banner-(\w+)" role="note"><strong>(.*?)</strong>(.*?)</div>', page, flags=re.S
    )


def test_dead_counter_page_has_no_measured_banner_and_names_no_pareto_front(healthy, tmp_path):
    dead = _with_energy(healthy, 0.0, 0.0, "measured")
    page = report.write(dead, tmp_path / "forecast.html").read_text(encoding="utf-8")
    banners = _banners(page)
    assert [b[0] for b in banners] == ["invalid"]
    assert "0 J" in banners[0][2] and "not a measurement" in banners[0][2]
    assert "MEASURED</strong>" not in page.replace("NOT A MEASUREMENT</strong>", "")
    assert "every energy figure is measured" not in page and "not usable" in page
    assert "Pareto" not in page and 'class="pareto"' not in page
    assert '<svg class="chart scatter"' not in page
    notes = re.findall(r'<p class="chart-note" data-energy="(\w+)">(.*?)</p>', page, flags=re.S)
    assert [n[0] for n in notes] == ["training", "forecast", "precision"] and all("0 J" in n[1] for n in notes)
    for text in ("caller should", "Traceback", "ValueError", "xy_plot"):
        assert text not in page


def test_equal_energy_draws_no_scatter_and_names_no_front(healthy):
    same = _with_energy(healthy, 5.0, 1.0, "measured")
    page = report.render(same)
    assert "Pareto" not in page and '<svg class="chart scatter"' not in page
    assert "every model has the same training-run energy (5.00 J)" in page
    assert [b[0] for b in _banners(page)] == ["measured"]  # sound, just not separating: the banner stays


def test_one_unusable_trial_is_enough_to_withhold_the_front(healthy):
    from dataclasses import replace

    trials = list(healthy.trials)
    trials[0] = replace(trials[0], training_energy=_measurement(0.0, 0.5, trials[0].provenance))
    page = report.render(replace(healthy, trials=trials))
    entries = len(trials) + len(healthy.classical)
    assert f"1 of {entries} models have a training-run energy of 0 J or less" in page
    assert page.count('<svg class="chart scatter"') == 1  # the forecast scatter still draws, with its front
    assert "the table's Pareto column" not in page and 'class="pareto"' not in page


def test_estimated_page_names_the_estimator_source_and_says_the_model_made_the_differences(result):
    page = report.render(result)
    banner = _banners(page)[0][2]
    assert result.meter_description["source"] in banner  # the meter's one-line source, verbatim
    if result.provenance == "estimated":
        assert "Estimated energy: these differences come from the model, not from a measurement." in page
    else:
        assert "Simulated energy: test data from a simulated meter, not a measurement." in page


def test_banner_counts_every_priced_row(result):
    page = report.render(result)
    banner = _banners(page)[0][2]
    families = len(result.best_per_family())
    repeats = sum(len(result.repeats[f]) - 1 for f in result.best_per_family())
    priced = len(result.trials) + repeats + 3 * families + len(result.classical)  # fp32, bf16, int8 per family
    assert repeats > 0 and priced == 4 + 2 + 6 + 2
    assert f"({priced} row(s))" in banner


# --------------------------------------------------------------------------------------------------
# the baselines: the same axes as the models, and words made from the numbers
def _with_baselines(result, **test_rmse):
    from dataclasses import replace

    from lstm_energy.forecast.search import SplitScores

    scores = {name: {s: SplitScores(r, r) for s in ("train", "validation", "test")} for name, r in test_rmse.items()}
    return replace(result, baselines=scores)


def test_the_page_compares_models_with_the_strongest_baseline_in_numbers(healthy):
    rmses = sorted(e.scores["test"].rmse for e in healthy.entries())
    best, worst = rmses[0], rmses[-1]
    between = (rmses[0] + rmses[1]) / 2  # only the best model beats it
    page = report.render(_with_baselines(healthy, naive=5 * worst, fair=between))
    comparison = re.search(r'<p class="baseline-comparison">(.*?)</p>', page).group(1)
    assert f"The strongest baseline on test is fair: test RMSE {between:.3f} u" in comparison
    assert f"1 of {len(rmses)} models beat it on test" in comparison
    assert f"{100 * (1 - best / between):.1f} % lower test RMSE; {len(rmses) - 1} do not." in comparison
    caption = html.unescape(re.search(r'<p class="chart-caption">(.*?)</p>', page).group(1))
    assert "far above" not in page
    assert f"more than 2x the least accurate model's ({worst:.3f} u)" in caption and "naive 5" in caption
    assert "(5.0x)" in caption

    page = report.render(_with_baselines(healthy, fair=best * 0.5))
    comparison = re.search(r'<p class="baseline-comparison">(.*?)</p>', page).group(1)
    assert "No model beats it on test: the best" in comparison and "is 100 % worse." in comparison


def test_every_baseline_in_range_is_drawn_on_the_scatters(healthy):
    worst = max(e.scores["test"].rmse for e in healthy.entries())
    names = {"one": worst * 0.9, "two": worst * 1.1, "three": worst * 1.5, "four": worst * 1.9}
    page = report.render(_with_baselines(healthy, **names))
    for energy in ("training", "forecast"):
        scatter = re.search(rf'<svg class="chart scatter" data-energy="{energy}".*?</svg>', page, flags=re.S).group(0)
        for name, rmse in names.items():
            assert f"{name}: {rmse:.3f} u" in scatter
