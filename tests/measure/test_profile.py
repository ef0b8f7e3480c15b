"""profile() end to end with known-power meters, and the record it produces."""

import json
import re
from pathlib import Path

import pytest
from threadpoolctl import threadpool_info

from lstm_energy._layers.engines import engine_available
from lstm_energy.errors import ConfigError
from lstm_energy.measure import profile
from lstm_energy.meters.model import DEFAULT_PARAMETERS, PROFILE_ENV, ModelMeter
from lstm_energy.meters.simulated import SimulatedMeter

RECORD_DOC = Path(__file__).resolve().parents[2] / "docs" / "results-record.md"
SMALL = dict(batch=4, seq_len=6, input_size=8, hidden_size=8)
FAST = dict(windows=3, min_window_seconds=0.02)
IMPLS = [
    "numpy",
    pytest.param(
        "cython", marks=pytest.mark.skipif(not engine_available("cython")[0], reason="Cython kernels not built")
    ),
    pytest.param("torch", marks=pytest.mark.torch),
]


@pytest.fixture(autouse=True)
def no_profile_in_environment(monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)


def fast_simulated_meter(virtual=None):
    # 0.1 ms counter updates: 100 updates = 10 ms, so 20 ms windows are long enough and the test is fast.
    # virtual: a VirtualTime (tests/measure/conftest.py) the meter shares with the protocol
    clocks = {} if virtual is None else dict(wall_clock=virtual.wall, cpu_clock=virtual.cpu)
    return SimulatedMeter(idle_watts=10.0, cpu_watts=20.0, dram_watts=2.0, update_interval_seconds=1e-4, **clocks)


def documented_record() -> dict:
    """The jsonc example of docs/results-record.md as a dict (comments and placeholders resolved)."""
    text = RECORD_DOC.read_text()
    block = re.search(r"```jsonc\n(.*?)```", text, re.S).group(1)
    block = re.sub(r"//[^\n]*", "", block)
    block = block.replace("{ ... }", "{}").replace("[...threadpool_info()]", "[]")
    block = block.replace("{ same keys }", '"SAME_KEYS"')
    return json.loads(block)


def assert_same_keys(actual: dict, documented: dict, path="record"):
    free_form = {"record.energy.meter", "record.energy.domains_joules_per_call"}
    assert set(actual) == set(documented), f"{path}: {sorted(set(actual) ^ set(documented))}"
    for key, value in documented.items():
        here = f"{path}.{key}"
        if value == "SAME_KEYS":
            value = documented["joules_per_call"]
        if isinstance(value, dict) and here not in free_form:
            assert isinstance(actual[key], dict), here
            assert_same_keys(actual[key], value, here)


@pytest.mark.parametrize("impl", IMPLS)
def test_profile_end_to_end_with_a_simulated_meter(impl, virtual_time):
    if impl == "torch":
        pytest.importorskip("torch")
    # the meter and the protocol read one virtual clock (real calls, virtual time): the joules of a
    # window and its seconds agree exactly, however long this process is descheduled on a busy host
    r = profile("gru", **SMALL, phase="train", impl=impl, meter=fast_simulated_meter(virtual_time), **FAST)
    assert r.provenance == "simulated"
    m = r.measurement
    assert virtual_time.calls > 3 * m.calls_per_window  # the real calls ran and moved the virtual clock
    for w in m.windows:  # virtual 2 ms calls at 75 % CPU, an idle twin of the same length at 0 CPU
        assert (w.seconds, w.cpu_seconds) == pytest.approx((2e-3 * w.calls, 1.5e-3 * w.calls), rel=1e-9)
        assert (w.idle_seconds, w.idle_cpu_seconds) == pytest.approx((w.seconds, 0.0), rel=1e-9)
    # the simulated package power is 10 W idle + 20 W per CPU-second: total per call follows it
    total = [sum(w.joules[d] for d in m.headline_domains) / w.calls for w in m.windows]
    expected = [(10.0 * w.seconds + 20.0 * w.cpu_seconds) / w.calls for w in m.windows]
    assert total == pytest.approx(expected, rel=1e-9)
    assert r.joules_per_sequence == pytest.approx(m.joules_per_call.median / 4)
    assert r.total_joules_per_sequence > r.joules_per_sequence > 0
    assert r.seconds_per_sequence == pytest.approx(m.seconds_per_call.median / 4)
    assert m.idle_watts == pytest.approx(10.0, rel=0.05)
    assert r.flops > 0 and r.bytes > 0
    assert r.warnings[0].startswith("simulated, not measured")
    record = r.to_record()
    assert record["config"]["impl"] == impl and record["energy"]["provenance"] == "simulated"
    assert set(record["energy"]["domains_joules_per_call"]) == {"package-0", "package-0/dram"}
    json.dumps(record)  # serialisable as is


def test_estimator_joules_follow_the_cost_model_exactly(virtual_time):
    # the estimator and the protocol read one virtual clock: its static watts x the work window's own seconds
    # cancel exactly against the idle twin's, however long this process is descheduled on a busy host
    meter = ModelMeter(clock=virtual_time.wall, cpu_clock=virtual_time.cpu)
    r = profile("lstm", **SMALL, impl="numpy", meter=meter, **FAST)
    # uncalibrated defaults (CCF per-vCPU watts): the static part is the idle baseline the protocol subtracts,
    # so the dynamic joules of a call are (max - min) W per vCPU x the call's CPU-seconds
    per_call = DEFAULT_PARAMETERS.cpu_watts * r.measurement.cpu_seconds_per_call.median
    assert r.joules_per_sequence == pytest.approx(per_call / 4, rel=0.1)
    assert r.measurement.idle_watts == pytest.approx(DEFAULT_PARAMETERS.static_watts, rel=0.1)
    assert r.provenance == "estimated"
    assert r.warnings[0].startswith("estimated, not measured")
    assert r.meter["calibrated"] is False and "uncalibrated" in r.meter["source"]


def test_to_record_has_exactly_the_documented_keys():
    r = profile("rnn", **SMALL, nonlinearity="relu", impl="numpy", meter=fast_simulated_meter(), **FAST)
    record = r.to_record()
    assert_same_keys(record, documented_record())
    assert record["schema_version"] == 1 and record["kind"] == "profile"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["created"])
    assert record["config"]["nonlinearity"] == "relu"
    assert record["time"]["windows"] == 3 and record["time"]["calls_per_window"] >= 1
    assert record["costs"]["flops"]["total"] == r.flops
    assert record["derived"]["pj_per_flop"] == pytest.approx(r.measurement.joules_per_call.median / r.flops * 1e12)
    assert record["environment"]["blas_threads"] == 1


def test_threads_are_pinned_during_the_run_and_restored_after(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})  # two CPUs on any host (the OS call)
    before = [entry["num_threads"] for entry in threadpool_info()]
    r = profile("lstm", **SMALL, impl="numpy", meter=fast_simulated_meter(), threads=2, **FAST)
    blas = r.to_record()["environment"]["blas"]
    assert blas and all(entry["num_threads"] == 2 for entry in blas)
    assert r.to_record()["config"]["threads"] == 2
    assert [entry["num_threads"] for entry in threadpool_info()] == before


def test_bad_requests_fail_before_measuring():
    with pytest.raises(ConfigError, match="threads"):
        profile("lstm", **SMALL, impl="numpy", meter=fast_simulated_meter(), threads=0)
    with pytest.raises(TypeError, match="meter must be"):
        profile("lstm", **SMALL, impl="numpy", meter=3.5)
    with pytest.raises(ConfigError, match="phase"):
        profile("lstm", **SMALL, impl="numpy", meter=fast_simulated_meter(), phase="predict")


def test_meter_by_name():
    r = profile("lstm", **SMALL, impl="numpy", meter="model", **FAST)
    assert r.provenance == "estimated" and r.meter["name"] == "model"
