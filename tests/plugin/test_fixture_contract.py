"""The ``energy`` fixture keeps pytest-benchmark's contract (review of the pytest-benchmark integration).

Each test names the review finding it pins. Meters are injected (the ``energy_meter`` fixture overridden,
or the ``model`` estimator / a broken model profile chosen by name), so nothing depends on this host's
counters. Plugin behaviour runs in real pytest runs (pytester); the pure helpers are called directly.
"""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from plugin_runs import FAST

# In-process pytester runs restore sys.modules afterwards; NumPy cannot be imported twice in one process,
# so the modules the fixture imports on first use are imported here, before any in-process run.
import lstm_energy.measure  # noqa: F401
import lstm_energy.meters  # noqa: F401
from lstm_energy.pytest_plugin import EnergyFixture, protocol_warnings, timing_mismatch_warning
from lstm_energy.records import ENERGY_ERROR_KEY
from lstm_energy.results import load_records

pytest_plugins = ["pytester"]


# a meter that must never be asked for: it fails the test that resolves it, and leaves a mark
UNTOUCHABLE = """
import pytest
from lstm_energy.errors import MeterUnavailableError

@pytest.fixture(scope="session")
def energy_meter(tmp_path_factory):
    (tmp_path_factory.getbasetemp() / "meter-was-opened").write_text("yes")
    raise MeterUnavailableError("the meter was opened although nothing was measured")
"""

# a fake powercap tree whose counters never move: it opens, then the first window refuses it
DEAD_POWERCAP = """
import pytest
from lstm_energy.meters import PowercapMeter
from lstm_energy.testing import build_fake_powercap

@pytest.fixture(scope="session")
def energy_meter(tmp_path_factory):
    fake = build_fake_powercap(tmp_path_factory.mktemp("rapl"), "intel-1s")
    meter = PowercapMeter(root=fake.root)
    yield meter
    meter.close()
"""


def benchmarks_of(path) -> dict:
    return {b["name"]: b for b in json.loads(path.read_text())["benchmarks"]}


# ------------------------------------------------------------------ 1, 2: benchmark first, meter lazily


def test_benchmark_only_runs_the_tests_that_use_energy(simulated_meter, pytester):
    """Finding 1: `energy` requests `benchmark`, so pytest-benchmark counts its tests as benchmarks."""
    pytester.makepyfile(
        test_only="""
def test_energy(energy):
    energy(sum, range(100))

def test_not_a_benchmark():
    pass
"""
    )
    out = pytester.path / "only.json"
    result = pytester.runpytest_inprocess(*FAST, "--benchmark-only", f"--benchmark-json={out}")
    result.assert_outcomes(passed=1, skipped=1)
    assert "lstm_energy" in benchmarks_of(out)["test_energy"]["extra_info"]


@pytest.mark.parametrize(
    "option, env, outcome",
    [
        (["--benchmark-skip"], {}, {"skipped": 2}),
        (["--benchmark-disable"], {}, {"passed": 2}),
        ([], {"PYTEST_XDIST_WORKER": "gw0"}, {"passed": 2}),  # pytest-benchmark disables timing under xdist
    ],
    ids=["skip", "disable", "xdist-worker"],
)
def test_skipped_or_disabled_benchmarks_never_open_the_meter(pytester, monkeypatch, option, env, outcome):
    """Finding 2. disable and xdist: the meter is resolved at the first measurement that happens, after the
    disabled check (an eagerly opened meter fails these). skip: the test is skipped before the fixture body
    runs at all, which guards that ``energy`` is a benchmark to pytest-benchmark, not the lazy opening."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pytester.makeconftest(UNTOUCHABLE)
    pytester.makepyfile(
        test_lazy="""
calls = []

def test_call(energy):
    energy(calls.append, 1)
    assert calls == [1] and energy.record is None

def test_pedantic(energy):
    energy.pedantic(calls.append, args=(2,), setup=None, rounds=3)
"""
    )
    basetemp = pytester.path / "basetemp"
    result = pytester.runpytest_subprocess(*FAST, *option, f"--basetemp={basetemp}")
    result.assert_outcomes(**outcome)
    assert not (basetemp / "meter-was-opened").exists()


# ------------------------------------------------------------------------ 3: a refusal leaves its reason


def test_a_refused_measurement_fails_and_says_why_in_extra_info_and_the_loader(pytester):
    """Finding 3: a dead counter refuses in window 1; the JSON says so and the loader repeats it."""
    pytester.makeconftest(DEAD_POWERCAP)
    pytester.makepyfile(test_dead="def test_one(energy):\n    energy(sum, range(1000))\n")
    out = pytester.path / "dead.json"
    result = pytester.runpytest_subprocess(*FAST, f"--benchmark-json={out}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*MeterError: measurement stopped in window 1 of 2 (meter 'powercap')*"])
    info = benchmarks_of(out)["test_one"]["extra_info"]
    assert "lstm_energy" not in info
    assert info[ENERGY_ERROR_KEY]["meter"] == "powercap"
    assert "did not advance" in info[ENERGY_ERROR_KEY]["error"]
    problems = [p.message for p in load_records(out).problems]
    assert len(problems) == 1 and "refused (meter 'powercap')" in problems[0] and "did not advance" in problems[0]
    assert "use the `energy` fixture" not in problems[0]


def test_a_meter_that_does_not_open_is_named_in_extra_info(pytester, tmp_path, monkeypatch):
    """Finding 3, the other refusal: --energy-meter NAME cannot open (here a broken model profile)."""
    broken = tmp_path / "broken-profile.json"
    broken.write_text("{ not json")
    monkeypatch.setenv("LSTM_ENERGY_MODEL_PROFILE", str(broken))
    pytester.makepyfile(
        test_open="""
def test_a(energy):
    energy(sum, range(10))

def test_b(energy):
    energy(sum, range(10))
"""
    )
    out = pytester.path / "open.json"
    result = pytester.runpytest_subprocess(*FAST, "--energy-meter", "model", f"--benchmark-json={out}")
    result.assert_outcomes(failed=2)
    for name in ("test_a", "test_b"):  # the second test gets the same reason (the meter is not probed again)
        error = benchmarks_of(out)[name]["extra_info"][ENERGY_ERROR_KEY]
        assert error["meter"] == "model" and str(broken) in error["error"]


# --------------------------------------------------------------- 4: pedantic setup/teardown, timing check


def test_pedantic_pairs_every_setup_with_its_teardown_and_says_what_the_windows_measured(simulated_meter, pytester):
    """Finding 4: each call of the energy windows is setup() + target + teardown(), all paired; the
    record states that its joules include setup and teardown."""
    pytester.makepyfile(
        test_ped="""
import pytest

live = []
made = []

def setup():
    token = object()
    live.append(token)
    made.append(token)
    return (token,), {}

def teardown(token):
    live.remove(token)

def target(token):
    assert token in live  # called with the arguments of its own setup()

def test_paired(energy):
    energy.pedantic(target, setup=setup, teardown=teardown, rounds=3)
    assert live == []
    assert len(made) > 3 + 2  # the benchmark's 3 rounds, then one setup per call of the energy windows
    assert any("setup() + target + teardown()" in w for w in energy.record["warnings"])

def test_without_setup_no_such_warning(energy):
    energy.pedantic(sum, args=(range(100),), rounds=3)
    assert not any("setup()" in w for w in energy.record["warnings"])
"""
    )
    result = pytester.runpytest_inprocess(*FAST)
    result.assert_outcomes(passed=2)


def test_a_call_whose_cost_changes_is_flagged_when_energy_and_timing_disagree(simulated_meter, pytester):
    """Finding 4: the record warns when the energy windows' time per call is > 2x from the benchmark's."""
    pytester.makepyfile(
        test_cache="""
import time

calls = [0]

def slow_then_cached():
    calls[0] += 1
    if calls[0] <= 3:
        time.sleep(0.02)  # the 3 timed rounds pay the cache fill; the energy windows never do

def test_cache(energy):
    energy.pedantic(slow_then_cached, rounds=3)
    mismatch = [w for w in energy.record["warnings"] if "pytest-benchmark timed" in w]
    assert len(mismatch) == 1 and "(median over 3 rounds)" in mismatch[0], energy.record["warnings"]
"""
    )
    result = pytester.runpytest_inprocess(*FAST)
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    "energy_seconds, benchmark_seconds, warns",
    [(1e-3, 1.9e-3, False), (1.9e-3, 1e-3, False), (1e-3, 2.1e-3, True), (2.1e-3, 1e-3, True), (1e-3, None, False)],
)
def test_timing_mismatch_threshold_is_2x_either_way(energy_seconds, benchmark_seconds, warns):
    warning = timing_mismatch_warning(energy_seconds, benchmark_seconds, rounds=5)
    assert (warning is not None) == warns
    if warns:
        assert "2.1x apart" in warning and "over 5 rounds" in warning


# -------------------------------------------------------- 5: the lower bound in a record is its own work


def test_each_records_lower_bound_is_its_own_call_not_the_sessions_work(pytester):
    """Finding 5: one model meter serves the session; each record's lower bound covers its own call."""
    pytester.makepyfile(
        test_bound="""
def test_big(energy):
    energy.configure(flops=1e9, bytes=1e6)
    energy(sum, range(100))

def test_small(energy):
    energy.configure(flops=1e3)
    energy(sum, range(100))

def test_unknown_work(energy):
    energy(sum, range(100))
"""
    )
    out = pytester.path / "bound.json"
    result = pytester.runpytest_inprocess(*FAST, "--energy-meter", "model", f"--benchmark-json={out}")
    result.assert_outcomes(passed=3)
    bounds = {
        name: b["extra_info"]["lstm_energy"]["energy"]["meter"]["lower_bound"] for name, b in benchmarks_of(out).items()
    }
    assert bounds["test_big"]["flops"] == 1e9 and bounds["test_big"]["bytes"] == 1e6
    assert bounds["test_big"]["joules"] == pytest.approx(2.3e-12 * 1e9 + 160e-12 * 1e6)
    assert bounds["test_small"]["flops"] == 1e3 and bounds["test_small"]["bytes"] is None
    assert bounds["test_small"]["joules"] == pytest.approx(2.3e-9)
    assert "one call of this benchmark" in bounds["test_small"]["covers"]
    # no work given: the rates only, never the work other benchmarks noted on the shared meter
    assert not {"flops", "bytes", "joules"} & set(bounds["test_unknown_work"])
    assert bounds["test_unknown_work"]["joules_per_flop"] == 2.3e-12


# ------------------------------------------------------------------------- 6, 7: settings and attributes


def fixture_over(benchmark=None) -> EnergyFixture:
    return EnergyFixture(benchmark or SimpleNamespace(extra_info={}), SimpleNamespace(), {}, meter=object())


@pytest.mark.parametrize(
    "value", [np.int64(2) * np.prod((32, 100, 256)), np.float32(1e6), np.uint64(1000), 7, 2.5], ids=repr
)
def test_flops_and_bytes_accept_any_real_number_and_store_a_float(value):
    """Finding 6: FLOP counts computed with NumPy are accepted, as batch=np.int64(...) already was."""
    energy = fixture_over().configure(flops=value, bytes=value)
    assert type(energy.flops) is float and energy.flops == float(value)
    assert type(energy.bytes) is float and energy.bytes == float(value)
    energy.flops = np.int32(5)  # attribute assignment is checked the same way
    assert type(energy.flops) is float and energy.flops == 5.0


@pytest.mark.parametrize(
    "value, error, message",
    [
        ("1e6", TypeError, "got str '1e6'"),
        (True, TypeError, "got bool True"),
        (np.bool_(True), TypeError, "got numpy.bool"),
        (complex(1, 0), TypeError, "got complex"),
        (-1.0, ValueError, "finite number >= 0, got -1.0"),
        (np.float64("nan"), ValueError, "finite number >= 0, got np.float64\\(nan\\)"),
    ],
    ids=["str", "bool", "np.bool_", "complex", "negative", "nan"],
)
def test_a_wrong_flops_value_names_its_type_or_value(value, error, message):
    with pytest.raises(error, match=message):
        fixture_over().configure(flops=value)


def test_group_and_name_reach_the_benchmark_and_unknown_attributes_raise():
    """Finding 7: `energy.group = ...` is pytest-benchmark's idiom; it must not be silently lost."""
    benchmark = SimpleNamespace(extra_info={}, group=None, name="test_x")
    energy = fixture_over(benchmark)
    energy.group = "lstm-forward"
    energy.name = "renamed"
    assert (benchmark.group, benchmark.name) == ("lstm-forward", "renamed")
    assert (energy.group, energy.name) == ("lstm-forward", "renamed")
    with pytest.raises(AttributeError, match="energy.grup cannot be set.*group"):
        energy.grup = "typo"


def test_energy_group_lands_in_the_benchmark_json(simulated_meter, pytester):
    pytester.makepyfile(
        test_group="""
def test_grouped(energy):
    energy.group = "lstm-forward"
    energy(sum, range(100))
"""
    )
    out = pytester.path / "g.json"
    result = pytester.runpytest_inprocess(*FAST, f"--benchmark-json={out}")
    result.assert_outcomes(passed=1)
    assert benchmarks_of(out)["test_grouped"]["group"] == "lstm-forward"


# ----------------------------------------------------------- 8, 9: the terminal section says what it knows


def test_energy_section_names_the_counter_and_flags_rows_with_protocol_warnings(simulated_meter, pytester):
    """Finding 8: the source line quotes the meter's counter and headline domain. Finding 9: a row whose
    record has protocol warnings (one window: no CI) is marked and its warnings are printed below."""
    pytester.makepyfile(test_warned="def test_one_window(energy):\n    energy(sum, range(1000))\n")
    args = [a if a != "2" else "1" for a in FAST]  # --energy-windows 1
    result = pytester.runpytest_inprocess(*args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*energy per benchmark*",
            "energy: SIMULATED (tests only), NOT MEASURED, by the 'simulated' meter: synthetic: *, "
            "headline domain package-0",
            "benchmark*J/call*",
            "test_warned.py::test_one_window (!*) *",
            "(!N): N warnings from the measurement protocol*",
            "test_warned.py::test_one_window:",
            "  - *one window*",
        ]
    )
    assert "source not stated by the meter" not in result.stdout.str()
    # the provenance warning ("simulated, not measured") is stated by the summary line, not repeated per row
    assert "test double" not in result.stdout.str().split("(!N)", 1)[1]


def test_only_warnings_beyond_the_provenance_warning_mark_a_row():
    """The provenance warning (estimated / simulated) is on every such record and stated once above the
    table; a row is marked for the protocol's other warnings only."""
    from lstm_energy.measure.checks import provenance_warning

    meter = {"name": "model", "source": "CCF row"}
    record = {
        "energy": {"provenance": "estimated", "meter": meter},
        "warnings": [provenance_warning("estimated", meter)],
    }
    assert protocol_warnings(record) == []
    record["warnings"].append("per-window wall time varies too much")
    assert protocol_warnings(record) == ["per-window wall time varies too much"]
