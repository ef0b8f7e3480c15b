"""lstm_energy.records: one schema version, one builder per kind, one computation of the derived figures.

``tests/data/records-v1/builder-cases.json`` holds builder inputs and the records the code of schema
version 1 made from them BEFORE the builders moved into lstm_energy.records (ProfileResult.to_record,
the plugin's EnergyFixture._record, forecast.records.trial_record/baseline_record); the other files of
that folder were written by that code too (``lstm-energy profile --meter model --json``, a
pytest-benchmark run of the ``energy`` fixture, ``forecast.records.write_records``). See its README.
"""

import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from lstm_energy import records, results
from lstm_energy.forecast import records as forecast_records
from lstm_energy.measure.result import ProfileResult
from lstm_energy.measure.work import WorkCosts
from lstm_energy.pytest_plugin import EnergyFixture

DATA = Path(__file__).parent / "data" / "records-v1"
PACKAGE = Path(records.__file__).parent
CASES = json.loads((DATA / "builder-cases.json").read_text())


# ------------------------------------------------------------------ builder inputs, rebuilt from JSON


def measurement(inputs: dict):
    """A real lstm_energy.measure Measurement from its fields as JSON."""
    from lstm_energy.measure.protocol import Measurement, Window
    from lstm_energy.measure.statistics import Summary

    fields = dict(inputs)
    fields["windows"] = tuple(Window(**w) for w in fields["windows"])
    for key in ("joules_per_call", "total_joules_per_call", "seconds_per_call", "cpu_seconds_per_call"):
        fields[key] = Summary(**fields[key])
    fields["headline_domains"] = tuple(fields["headline_domains"])
    fields["warnings"] = tuple(fields["warnings"])
    return Measurement(**fields)


def forecast_objects(case: dict):
    """(result, trial) stand-ins for forecast.search.SearchResult / TrialResult: the attributes records read."""
    ns = SimpleNamespace
    r, t = case["result"], case["trial"]

    def scores(block):
        return {split: ns(**s) for split, s in block.items()}

    result = ns(
        impl=r["impl"],
        threads=r["threads"],
        seed=r["seed"],
        series=ns(**r["series"]),
        preset=ns(name=r["preset"]["name"], training=ns(**r["preset"]["training"])),
        baselines={name: scores(b) for name, b in r["baselines"].items()},
    )
    training, forecast = measurement(t["training_energy"]), measurement(t["forecast_energy"])
    c = t["candidate"]
    trial = ns(
        candidate=ns(family=c["family"], window=c["window"], model=ns(**c["model"])),
        scores=scores(t["scores"]),
        history=ns(**t["history"]),
        training_energy=training,
        forecast_energy=forecast,
        training_joules=float(training.joules_per_call.median),
        training_total_joules=float(training.total_joules_per_call.median),
        training_work=ns(**t["training_work"]),
        forecast_work=ns(**t["forecast_work"]),
    )
    return result, trial


#: keys added to the ``time`` block after version 1 (issue 15: host lock); additive, so files stay version 1
LOCK_KEYS = ("lock_wait_seconds", "window_spans")


def version_1_view(record: dict) -> dict:
    """``record`` without the additive host-lock keys, which must be there with their no-lock values
    (the cases' windows carry no timestamps and waited for no lock)."""
    view = {**record, "time": dict(record["time"])}
    assert view["time"].pop("lock_wait_seconds") == 0.0
    assert view["time"].pop("window_spans") == []
    return view


def profile_from(inputs: dict) -> dict:
    result = ProfileResult(
        config=inputs["config"],
        measurement=measurement(inputs["measurement"]),
        costs=WorkCosts(**inputs["costs"]),
        environment=inputs["environment"],
        created=inputs["created"],
        warnings=tuple(inputs["warnings"]),
    )
    return result.to_record()


def benchmark_from(inputs: dict) -> dict:
    """The record the plugin's fixture stores for a test configured with ``inputs["settings"]``."""
    session = SimpleNamespace(environment=lambda: dict(inputs["environment"]))
    fixture = EnergyFixture(SimpleNamespace(extra_info={}), session, dict(inputs["settings"]), meter=object())
    record = fixture._record(measurement(inputs["measurement"]))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["created"])
    record["created"] = inputs["created"]  # the fixture stamps "now"
    return record


def shape(value, leaves=("meter", "environment", "domains_joules_per_call", "config")):
    """The nested key structure of a record (values dropped); blocks whose keys depend on the host or
    meter are leaves."""
    if isinstance(value, dict):
        return {
            k: (k if k in leaves else shape(v, leaves)) for k, v in value.items() if k not in ("benchmark", "_source")
        }  # added by the loader
    return type(value).__name__ if value is None or isinstance(value, (str, bool, list)) else "number"


# --------------------------------------------------------------- today's builders = version-1 output


@pytest.mark.parametrize("case", CASES["profile"], ids=lambda c: c["inputs"]["config"]["cell"])
def test_profile_record_is_the_version_1_record(case):
    assert version_1_view(profile_from(case["inputs"])) == case["record"]


@pytest.mark.parametrize("case", CASES["benchmark"], ids=lambda c: ",".join(c["inputs"]["settings"]) or "nothing")
def test_benchmark_record_is_the_version_1_record(case):
    assert version_1_view(benchmark_from(case["inputs"])) == case["record"]


def test_forecast_records_are_the_version_1_records():
    inputs = CASES["forecast_trial"][0]["inputs"]
    result, trial = forecast_objects(inputs)
    made = forecast_records.trial_record(result, trial, environment=inputs["environment"], created=inputs["created"])
    assert made == CASES["forecast_trial"][0]["record"]
    for case in CASES["forecast_baseline"]:
        made = forecast_records.baseline_record(
            result, case["inputs"]["name"], environment=inputs["environment"], created=inputs["created"]
        )
        assert made == case["record"]


def test_the_builders_called_directly_make_the_same_records():
    inputs = CASES["profile"][0]["inputs"]
    direct = records.profile_record(
        config=inputs["config"],
        measurement=measurement(inputs["measurement"]),
        costs=WorkCosts(**inputs["costs"]).as_record(),
        environment=inputs["environment"],
        created=inputs["created"],
        warnings=inputs["warnings"],
    )
    assert version_1_view(direct) == CASES["profile"][0]["record"]
    inputs = CASES["benchmark"][0]["inputs"]
    settings = dict(inputs["settings"])
    batch, flops, moved = settings.pop("batch"), settings.pop("flops"), settings.pop("bytes")
    direct = records.benchmark_record(
        config=settings,
        measurement=measurement(inputs["measurement"]),
        batch=batch,
        flops=flops,
        bytes=moved,
        environment=inputs["environment"],
        created=inputs["created"],
    )
    assert version_1_view(direct) == CASES["benchmark"][0]["record"]


# -------------------------------------------------------------------- files of version 1 keep loading


def test_version_1_files_load():
    loaded = results.load_records(DATA / "profile.jsonl", DATA / "benchmark.json", DATA / "forecast.jsonl")
    kinds = [r["kind"] for r in loaded.records]
    assert kinds.count("profile") == 2 and kinds.count("benchmark") == 2
    assert kinds.count("forecast_trial") == 2 and kinds.count("forecast_baseline") == 2
    # the one problem: a plain `benchmark` test of that run carries no energy record (reported, not fatal)
    assert len(loaded.problems) == 1 and "test_plain_benchmark" in loaded.problems[0].message
    assert {r["schema_version"] for r in loaded.records} == {records.SCHEMA_VERSION}


def test_records_built_today_have_the_shape_of_version_1_files():
    loaded = results.load_records(DATA / "profile.jsonl", DATA / "benchmark.json", DATA / "forecast.jsonl")
    by_kind = {}
    for record in loaded.records:
        by_kind.setdefault(record["kind"], []).append(record)
    made_profile = version_1_view(profile_from(CASES["profile"][0]["inputs"]))
    for record in by_kind["profile"]:
        assert shape(record) == shape(made_profile)
        assert set(record["config"]) == set(made_profile["config"])
    benchmarks = {r["benchmark"]["name"]: r for r in by_kind["benchmark"]}
    # test_configured: batch, flops, bytes and config given; test_marker: batch and flops only
    for name, case in (("test_configured", CASES["benchmark"][0]), ("test_marker", CASES["benchmark"][1])):
        made = version_1_view(benchmark_from(case["inputs"]))
        assert shape(benchmarks[name]) == shape(made)
        assert set(benchmarks[name]["config"]) == set(made["config"])
    inputs = CASES["forecast_trial"][0]["inputs"]
    result, trial = forecast_objects(inputs)
    made_trial = forecast_records.trial_record(result, trial, environment=inputs["environment"])
    made_baseline = forecast_records.baseline_record(result, "persistence", environment=inputs["environment"])
    for record in by_kind["forecast_trial"]:
        assert shape(record) == shape(made_trial)
        assert set(record["config"]) == set(made_trial["config"])
    for record in by_kind["forecast_baseline"]:
        assert set(record) - {"_source"} == set(made_baseline)
        assert set(record["config"]) == set(made_baseline["config"])


def test_records_built_today_load():
    made = [profile_from(c["inputs"]) for c in CASES["profile"]] + [
        benchmark_from(c["inputs"]) for c in CASES["benchmark"]
    ]
    for record in made:
        assert results.validate_record(record) is record


# ------------------------------------------------------------------------------- defined once


def test_schema_version_is_defined_once_and_written_from_there():
    assert results.SCHEMA_VERSION is records.SCHEMA_VERSION
    sources = {p: p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")}
    definitions = [p for p, text in sources.items() if re.search(r"^\s*\w*SCHEMA_VERSION\s*=", text, re.MULTILINE)]
    assert definitions == [PACKAGE / "records.py"]
    literals = [p for p, text in sources.items() if re.search(r"[\"']schema_version[\"']\s*:\s*\d", text)]
    assert literals == []


def test_records_module_imports_only_the_standard_library():
    """The pytest plugin imports it in every pytest run: it must stay light (no NumPy, no lstm_energy.measure)."""
    code = (
        "import sys, lstm_energy.records; "
        "print([m for m in ('numpy', 'lstm_energy.measure', 'lstm_energy.results') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------------------- derived figures


def test_derived_figures_units():
    figures = records.derived_figures(seconds_per_call=0.002, joules_per_call=0.05, flops=4e8, bytes=1e6)
    assert figures == {
        "gflops_per_second": pytest.approx(200.0),  # 4e8 FLOP / 2 ms
        "watts": pytest.approx(25.0),  # 50 mJ / 2 ms
        "pj_per_flop": pytest.approx(125.0),  # 5e-2 J / 4e8 FLOP = 1.25e-10 J
        "nj_per_byte": pytest.approx(50.0),  # 5e-2 J / 1e6 B = 5e-8 J
    }


@pytest.mark.parametrize(
    "seconds, joules, flops, moved, none",
    [
        (0.0, 1.0, 10, 10, {"gflops_per_second", "watts"}),
        (1.0, 1.0, 0, 0, {"pj_per_flop", "nj_per_byte"}),
        (1.0, 1.0, None, None, {"gflops_per_second", "pj_per_flop", "nj_per_byte"}),
        (None, None, 10, 10, {"gflops_per_second", "watts", "pj_per_flop", "nj_per_byte"}),
    ],
)
def test_derived_figures_are_none_when_an_input_is_missing_or_a_denominator_zero(seconds, joules, flops, moved, none):
    figures = records.derived_figures(seconds, joules, flops, moved)
    assert {k for k, v in figures.items() if v is None} == none
    assert all(isinstance(v, float) for v in figures.values() if v is not None)


def test_arithmetic_intensity():
    assert records.arithmetic_intensity(10, 4) == 2.5
    assert records.arithmetic_intensity(10, 0) is None and records.arithmetic_intensity(None, 4) is None
