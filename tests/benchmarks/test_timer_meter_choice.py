"""benchmarks/conftest.py's ``timer``: timing only is the fallback of the default meter, never of a named one.

The harness's conftest (and the grid module it loads beside itself) run in a pytester directory; the
``energy_meter`` fixture is overridden by a meter that cannot open, so the outcome does not depend on
this host's counters (review finding 10).
"""

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

TESTS = """
import pytest
from lstm_energy.errors import MeterUnavailableError

@pytest.fixture(scope="session")
def energy_meter():
    raise MeterUnavailableError("no energy counter here (injected by the test)")

def test_timed(timer):
    timer(sum, range(100))
"""

FAST = ["-p", "no:cacheprovider", "--benchmark-min-rounds", "1", "--benchmark-max-time", "0.001"]


@pytest.fixture
def harness(pytester):
    pytester.makeconftest((BENCHMARKS / "conftest.py").read_text())
    (pytester.path / "grid.py").write_text((BENCHMARKS / "grid.py").read_text())
    pytester.makepyfile(test_timer=TESTS)
    return pytester


@pytest.mark.parametrize("option", [[], ["--energy-meter", "auto"]], ids=["not-given", "auto"])
def test_the_default_meter_falls_back_to_timing_and_says_why(harness, option):
    out = harness.path / "out.json"
    result = harness.runpytest_subprocess(*FAST, *option, f"--benchmark-json={out}")
    result.assert_outcomes(passed=1)
    info = json.loads(out.read_text())["benchmarks"][0]["extra_info"]
    assert info["timer"] == "benchmark"
    assert info["energy_unavailable"] == "no energy counter here (injected by the test)"
    result.stdout.fnmatch_lines(["*timing without energy: the energy meter did not open: no energy counter here*"])


def test_a_named_meter_that_cannot_open_ends_the_run_with_a_usage_error(harness):
    out = harness.path / "out.json"
    result = harness.runpytest_subprocess(*FAST, "--energy-meter", "model", f"--benchmark-json={out}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        ["*--energy-meter model: the meter did not open: no energy counter here (injected by the test)*"]
    )
    assert "fixture was not used" not in result.stdout.str()
    assert "passed" not in result.stdout.str().splitlines()[-1]


def test_a_named_meter_is_not_opened_when_nothing_is_timed(harness):
    result = harness.runpytest_subprocess(*FAST, "--energy-meter", "model", "--benchmark-disable")
    result.assert_outcomes(passed=1)
