"""The pytest plugin, run in real pytest subprocesses (pytester): the ``energy`` fixture stores its record
in pytest-benchmark's extra_info, the JSON loads and reports, and runs without the fixture are untouched."""

import json

import pytest
from plugin_runs import FAST

# In-process pytester runs restore sys.modules afterwards; NumPy cannot be imported twice in one process,
# so the modules the fixture imports on first use are imported here, before any in-process run.
import lstm_energy.measure  # noqa: F401
import lstm_energy.meters  # noqa: F401
from lstm_energy.report import write_report
from lstm_energy.results import load_records

pytest_plugins = ["pytester"]

TESTS = """
import pytest

def work(n):
    return sum(i * i for i in range(n))

def test_configured(energy):
    energy.configure(batch=4, flops=2e6, bytes=4e5, cell="lstm", hidden_size=64, impl="numpy", phase="forward")
    assert energy(work, 2000) == work(2000)

@pytest.mark.energy(batch=8, flops=1e6)
def test_marker(energy):
    energy.pedantic(work, args=(1000,), rounds=3, iterations=2)

def test_plain_benchmark(benchmark):
    benchmark(work, 100)

def test_no_benchmark_at_all():
    assert work(3) == 5

def test_unknown_key(energy):
    with pytest.raises(TypeError, match="unknown keys \\\\['colour'\\\\]"):
        energy.configure(colour="red")

def test_bad_batch(energy):
    with pytest.raises(ValueError, match="batch must be a positive int, got 0"):
        energy.configure(batch=0)
    with pytest.raises(TypeError, match="batch must be a positive int, got 2.5 of type float"):
        energy.configure(batch=2.5)
"""


def test_extra_info_carries_the_energy_record_and_the_json_reports(simulated_meter, pytester, tmp_path):
    pytester.makepyfile(test_bench=TESTS)
    out = pytester.path / "out.json"
    result = pytester.runpytest_subprocess(*FAST, f"--benchmark-json={out}")
    result.assert_outcomes(passed=6)  # incl. two tests of bad settings, which raise with a message
    document = json.loads(out.read_text())
    by_name = {b["name"]: b for b in document["benchmarks"]}
    assert set(by_name) == {"test_configured", "test_marker", "test_plain_benchmark"}

    record = by_name["test_configured"]["extra_info"]["lstm_energy"]
    assert record["schema_version"] == 1 and record["kind"] == "benchmark"
    energy = record["energy"]
    assert energy["provenance"] == "simulated" and energy["meter"]["name"] == "simulated"
    assert energy["joules_per_call"]["median"] > 0
    # per sequence = per call / batch
    assert energy["joules_per_sequence"]["median"] == pytest.approx(energy["joules_per_call"]["median"] / 4)
    assert set(energy["domains_joules_per_call"]) >= {"package-0"}
    assert record["costs"]["flops"]["total"] == 2e6 and record["costs"]["bytes"]["expected"] == 4e5
    assert record["config"] == {"cell": "lstm", "hidden_size": 64, "impl": "numpy", "phase": "forward", "batch": 4}
    assert record["derived"]["pj_per_flop"] == pytest.approx(energy["joules_per_call"]["median"] / 2e6 * 1e12)
    assert record["time"]["seconds_per_call"]["median"] > 0 and record["time"]["windows"] == 2
    assert any("simulated" in w for w in record["warnings"])

    marker = by_name["test_marker"]["extra_info"]["lstm_energy"]
    assert marker["config"] == {"batch": 8} and marker["costs"]["flops"]["total"] == 1e6
    assert "bytes" not in marker["costs"]
    assert "lstm_energy" not in by_name["test_plain_benchmark"]["extra_info"]
    result.stdout.fnmatch_lines(
        ["*lstm_energy: energy of 2 benchmark(s) via meter simulated (provenance: simulated)*NOT MEASURED*"]
    )
    # the per-benchmark energy section: J/call and J/sequence with their 95% CI, provenance, meter
    result.stdout.fnmatch_lines(
        [
            "*- lstm_energy: energy per benchmark (median ?95% CI?, idle subtracted) -*",
            "benchmark*J/call*J/sequence*provenance*meter",
            "test_bench.py::test_configured *J ?*J, *J]*J ?*J, *J]*SIMULATED, NOT MEASURED*simulated",
            "test_bench.py::test_marker *J ?*J, *J]*J ?*J, *J]*SIMULATED, NOT MEASURED*simulated",
        ]
    )
    # the energy section's own lines: from its header to the next section line (pytest-benchmark's table may
    # follow it or come before it, depending on the plugins' hook order)
    section = []
    for line in result.stdout.str().split("energy per benchmark", 1)[1].splitlines()[1:]:
        if not line.strip() or line.startswith(("---", "===")):
            break
        section.append(line)
    assert any("test_configured" in line for line in section), section
    assert not any("test_plain_benchmark" in line for line in section), section  # no energy to show

    # the saved JSON is an input of `lstm-energy report`
    loaded = load_records(out)
    assert sorted(r["benchmark"]["name"] for r in loaded.records) == ["test_configured", "test_marker"]
    assert len(loaded.problems) == 1 and "test_plain_benchmark" in loaded.problems[0].message
    info = write_report([out], tmp_path / "bench.html")
    html = info.path.read_text()
    assert "SIMULATED: TEST DATA, NOT A MEASUREMENT" in html
    assert "test_configured" in html and 'id="benchmarks"' in html
    assert len(info.rows) == 2


def test_runs_without_the_fixture_are_untouched_and_the_plugin_loads_light(pytester):
    """No summary line, no failure; and loading the plugin imported neither NumPy-heavy lstm_energy
    modules nor torch (they load on first use of the fixture)."""
    pytester.makepyfile(
        test_plain="""
import sys

def test_one():
    assert 1 + 1 == 2

def test_nothing_heavy_loaded():
    heavy = [m for m in ("lstm_energy.measure", "lstm_energy.meters", "torch") if m in sys.modules]
    assert heavy == []
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "lstm_energy:" not in result.stdout.str()
    assert "energy per benchmark" not in result.stdout.str()  # the section appears only when `energy` ran
    assert "lstm_energy" in result.stdout.str()  # the plugin was loaded (listed among the plugins)


def energy_source_of(name: str) -> str:
    """The estimator's model and source as its describe() states them (the line must quote both)."""
    from lstm_energy.meters import opened_meter

    with opened_meter(name) as meter:
        described = meter.describe()
    return f"{described['model']}; {described['source']}".replace("[", "?").replace("]", "?")


def test_energy_meter_option_picks_the_meter_by_name(pytester):
    pytester.makepyfile(
        test_named="""
def test_model(energy):
    energy.configure(batch=2, flops=1e5, bytes=1e4)
    energy(lambda: sum(range(500)))
    assert energy.record["energy"]["meter"]["name"] == "model"
    assert energy.record["energy"]["provenance"] == "estimated"
"""
    )
    result = pytester.runpytest_inprocess(*FAST, "--energy-meter", "model")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*via meter model (provenance: estimated)*NOT MEASURED*"])
    # the energy section names the estimator as `lstm-energy profile` does: its model and its source
    model = energy_source_of("model")
    result.stdout.fnmatch_lines(
        ["*energy per benchmark*", f"energy: ESTIMATED, NOT MEASURED, by the 'model' estimator: {model}", "benchmark*"]
    )


@pytest.mark.parametrize(
    "option, message",
    [
        (["--energy-meter", "rapl"], "unknown energy meter 'rapl'; choose one of auto, *simulated*"),
        (["--energy-windows", "0"], "*--energy-windows: expected a whole number >= 1, got 0"),
        (["--energy-min-window-seconds", "-1"], "*--energy-min-window-seconds: expected a positive number, got -1.0"),
    ],
)
def test_bad_energy_options_are_usage_errors_naming_the_value(pytester, option, message):
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", *option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_benchmark_disable_runs_the_function_once_and_stores_nothing(simulated_meter, pytester):
    pytester.makepyfile(
        test_disabled="""
calls = []

def test_disabled(energy):
    energy(lambda: calls.append(1))
    assert len(calls) == 1 and energy.record is None
"""
    )
    result = pytester.runpytest_inprocess(*FAST, "--benchmark-disable")
    result.assert_outcomes(passed=1)
