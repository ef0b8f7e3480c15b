"""The forecasting study's precision axis (issue 18): each family's chosen model, with its trained fp32
weights, forecasts in fp32, bf16 and int8; scored, priced per forecast, recorded and drawn."""

import math
import re
from dataclasses import replace

import pytest

from lstm_energy.config import PRECISIONS
from lstm_energy.forecast import report
from lstm_energy.forecast.data import prepare
from lstm_energy.forecast.search import Preset, SearchSpace, evaluate_precisions, run_search
from lstm_energy.forecast.train import TrainConfig

TINY = Preset(
    name="tiny",
    space=SearchSpace(families=("GRU", "BiLSTM"), hidden_sizes=(4,), windows=(12,)),
    strategy="grid",
    training=TrainConfig(epochs=2, batch_size=64),
    forecast_windows=2,
    forecast_min_window_seconds=0.005,
    sarima_orders=(((0, 1, 1), (0, 1, 1)),),
    classical=(),
)


@pytest.fixture(scope="module", params=["cython", "numpy"])
def result(request, meter_factory, synthetic_series):
    from lstm_energy._layers.engines import engine_available

    ok, reason = engine_available(request.param)
    if not ok:
        pytest.skip(reason)
    # no idle watts: the dynamic joules are exactly the FLOPs' charge, not a work window minus an idle twin
    # timed by a busy host's clock (which can come out at 0 J or less and drop the precision chart)
    meter = meter_factory(idle_watts=0.0, provenance="simulated")
    return run_search(synthetic_series, TINY, meter, seed=0, impl=request.param)


def test_every_chosen_model_is_scored_and_priced_in_every_precision(result):
    best = result.best_per_family()
    assert list(result.precisions) == list(best)
    for family, by_precision in result.precisions.items():
        assert tuple(by_precision) == PRECISIONS
        fp32 = by_precision["fp32"]
        # the same trained weights: fp32 reproduces the trial's own scores exactly
        assert fp32.scores["test"].rmse == best[family].scores["test"].rmse
        for precision, r in by_precision.items():
            assert r.trial is best[family] and r.precision == precision
            assert r.joules_per_forecast > 0
            # at batch 1 too (with idle watts, a tiny model's FLOP charge there is of the order of the idle twin's
            # wall-time jitter; this meter charges FLOPs only, so it resolves)
            assert math.isfinite(r.joules_per_forecast_b1) and r.joules_per_forecast_b1 > 0
            assert r.forecast_energy.batch == len(r.test_predictions[0]) and r.forecast_energy_b1.batch == 1
            # reduced precisions move the forecast a little, not a lot (int8 target: RMSE within 5 %)
            assert r.rmse_ratio(fp32) == pytest.approx(1.0, abs=0.05)
        # the quantized forecasts differ from fp32's (the precision really changed the kernels)
        assert by_precision["int8"].scores["test"].rmse != fp32.scores["test"].rmse
        # the cost models count the quantization work: int8 adds per-step activation quantization
        assert by_precision["int8"].forecast_work.flops > fp32.forecast_work.flops
        # the model is left in fp32 for whoever predicts with it next
        assert best[family].model.recurrent.precision == "fp32"


def test_a_resumed_trial_is_retrained_to_the_same_weights(result, meter_factory, synthetic_series):
    family, trial = next(iter(result.best_per_family().items()))
    resumed = replace(trial, model=None, resumed=True)  # what --resume rebuilds: no weights
    evaluated = evaluate_precisions(
        prepare(synthetic_series, window=trial.candidate.window),
        resumed,
        meter_factory(idle_watts=0.0),
        training=TINY.training,
        impl=result.impl,
        precisions=("fp32", "int8"),
        forecast_windows=2,
        forecast_min_window_seconds=0.005,
    )
    assert list(evaluated) == ["fp32", "int8"]
    for precision, r in evaluated.items():
        assert r.scores["test"].rmse == result.precisions[family][precision].scores["test"].rmse


def test_precision_records_round_trip(result, tmp_path):
    from lstm_energy.forecast.records import PRECISION_KIND, write_records
    from lstm_energy.results import load_records

    path = tmp_path / "forecast.jsonl"
    write_records(result, path, trials=False)
    loaded = load_records(path)
    assert not loaded.problems
    records = [r for r in loaded.records if r["kind"] == PRECISION_KIND]
    assert [(r["config"]["family"], r["config"]["precision"]) for r in records] == [
        (family, precision) for family in result.precisions for precision in PRECISIONS
    ]
    for record in records:
        evaluated = result.precisions[record["config"]["family"]][record["config"]["precision"]]
        assert record["config"]["trial"].startswith(evaluated.trial.label)
        assert record["accuracy"]["test"]["rmse"] == evaluated.scores["test"].rmse
        assert record["energy"]["per_forecast"]["joules_per_sequence"]["median"] == evaluated.joules_per_forecast
        assert record["energy"]["per_forecast_batch1"]["batch"] == 1
        assert record["costs"]["per_forecast"]["flops"] == evaluated.forecast_work.flops


def test_page_has_the_precision_chart_and_table(result):
    page = report.render(result)
    assert "<h2>Precision: fp32, bf16, int8</h2>" in page
    chart = re.search(r'<svg class="chart scatter precision".*?</svg>', page, flags=re.S).group(0)
    marks = re.findall(r'class="mark".*?<title>(.*?)</title>', chart)
    points = [m for m in marks if " in " in m and "per forecast" in m]
    assert len(points) == len(result.precisions) * len(PRECISIONS)
    legend = re.search(r'<g class="legend">.*?</g>', chart, flags=re.S).group(0)
    assert all(p in legend for p in PRECISIONS)
    table = re.search(r'<table class="search precisions">.*?</table>', page, flags=re.S).group(0)
    rows = re.findall(r"<tr.*?</tr>", table, flags=re.S)
    assert len(rows) == 1 + len(result.precisions) * len(PRECISIONS)
    assert {len(re.findall(r"<t[hd][ >]", row)) for row in rows} == {13}
    assert "int8 test RMSE over fp32 test RMSE" in page


def test_unusable_energy_draws_no_precision_chart(result):
    from types import SimpleNamespace

    def dead(r):  # a counter that did not count, under the meter the evaluation recorded
        zero = SimpleNamespace(median=0.0)
        return SimpleNamespace(
            joules_per_sequence=zero,
            total_joules_per_sequence=zero,
            idle_watts=0.0,
            warnings=[],
            provenance=r.provenance,
            meter_description=r.meter_description,
        )

    zeroed = {
        family: {p: replace(r, forecast_energy=dead(r)) for p, r in by_precision.items()}
        for family, by_precision in result.precisions.items()
    }
    page = report.render(replace(result, precisions=zeroed))
    assert '<svg class="chart scatter precision"' not in page
    assert "No chart of energy per forecast by precision" in page
