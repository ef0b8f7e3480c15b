"""get_meter / available_meters: names, the auto order, the loud estimate fallback, never "simulated"."""

import importlib.util
import warnings

import pytest

from lstm_energy.errors import MeterUnavailableError
from lstm_energy.meters import (
    EstimatedEnergyWarning,
    MsrMeter,
    PerfMeter,
    PowercapMeter,
    PyRaplMeter,
    SimulatedMeter,
    available_meters,
    get_meter,
)
from lstm_energy.meters.registry import AUTO_ORDER
from lstm_energy.testing import build_fake_powercap
from lstm_energy.testing.power_driver import powered_zones

HAS_MODEL = importlib.util.find_spec("lstm_energy.meters.model") is not None
MEASURED = ("powercap", "perf", "msr", "pyrapl")
NOWHERE = "/nonexistent/lstm-energy"


#: every measured backend pointed at nothing (pyRAPL's path is hard-coded: see _without_real_pyrapl)
NOTHING_HERE = {"powercap": {"root": NOWHERE}, "perf": {"sysfs_root": NOWHERE}, "msr": {"dev_root": NOWHERE}}


def test_auto_order_is_the_documented_one():
    assert AUTO_ORDER == ("powercap", "perf", "msr", "pyrapl")


def test_unknown_name_lists_every_name():
    with pytest.raises(ValueError) as info:
        get_meter("rapl")
    for name in ("auto", "powercap", "perf", "pyrapl", "msr", "model", "simulated"):
        assert name in str(info.value)


def test_named_backends_get_their_options(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-2s")
    with (
        powered_zones(fake, ("package-0", "package-1"), watts=20.0),
        get_meter("powercap", root=fake.root, background_sampling=False) as meter,
    ):
        assert isinstance(meter, PowercapMeter) and meter.headline_domains == ("package-0", "package-1")
    with get_meter("simulated", idle_watts=3.0) as meter:
        assert isinstance(meter, SimulatedMeter)


def test_a_meter_object_is_returned_as_is():
    meter = SimulatedMeter()
    assert get_meter(meter) is meter


def test_auto_prefers_a_working_measured_backend(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-1s")
    with warnings.catch_warnings(), powered_zones(fake, ("package-0",), watts=20.0):
        warnings.simplefilter("error", EstimatedEnergyWarning)  # must NOT warn: this is a measurement
        with get_meter("auto", powercap={"root": fake.root}) as meter:
            assert meter.name == "powercap" and meter.provenance == "measured"


def _without_real_pyrapl(monkeypatch):
    """pyRAPL's path is hard-coded; on a RAPL machine it would work, so these tests replace it by a missing module."""
    from lstm_energy.meters import registry

    monkeypatch.setitem(registry.BACKENDS, "pyrapl", "lstm_energy.meters.no_such_module:PyRaplMeter")


@pytest.mark.skipif(not HAS_MODEL, reason="lstm_energy.meters.model is not written yet")
def test_auto_falls_through_the_order(tmp_path, write_power_pmu, monkeypatch):
    """powercap fails (no tree) -> perf is tried next with its own options -> ... -> the estimate, loudly."""
    _without_real_pyrapl(monkeypatch)
    write_power_pmu(tmp_path, pmu_type=0x7FFFFFF0, events={"energy-pkg": "event=0x02"})
    with pytest.warns(EstimatedEnergyWarning) as record:
        meter = get_meter(
            "auto", powercap={"root": NOWHERE}, perf={"sysfs_root": str(tmp_path)}, msr={"dev_root": NOWHERE}
        )
    meter.close()
    assert meter.provenance == "estimated"
    message = str([w for w in record if issubclass(w.category, EstimatedEnergyWarning)][0].message)
    assert "  - powercap: no powercap tree at /nonexistent" in message
    assert "  - perf: perf_event_open(type=2147483632" in message and "ENOENT" in message
    assert "  - msr: " in message and "  - pyrapl: " in message
    assert message.index("powercap:") < message.index("perf:") < message.index("msr:") < message.index("pyrapl:")


@pytest.mark.skipif(not HAS_MODEL, reason="lstm_energy.meters.model is not written yet")
def test_auto_without_a_counter_warns_loudly_and_returns_the_estimator(monkeypatch):
    _without_real_pyrapl(monkeypatch)
    with pytest.warns(EstimatedEnergyWarning) as record:
        meter = get_meter("auto", **NOTHING_HERE)
    try:
        assert meter.name == "model" and meter.provenance == "estimated"
    finally:
        meter.close()
    estimated = [w for w in record if issubclass(w.category, EstimatedEnergyWarning)]
    assert len(estimated) == 1
    message = str(estimated[0].message)
    assert "NO MEASURED ENERGY" in message and "ESTIMATOR" in message and "not a measurement" in message
    for name in MEASURED:
        assert f"  - {name}: " in message  # the reason each measured backend failed
    assert "Fix:" in message


def test_auto_without_any_backend_lists_every_reason(monkeypatch):
    """When even the estimator cannot load, the error lists why each measured backend failed."""
    from lstm_energy.meters import registry

    _without_real_pyrapl(monkeypatch)
    monkeypatch.setitem(registry.BACKENDS, "model", "lstm_energy.meters.no_such_module:ModelMeter")
    with pytest.raises(MeterUnavailableError) as info:
        get_meter("auto", powercap={"root": NOWHERE}, perf={"sysfs_root": NOWHERE}, msr={"dev_root": NOWHERE})
    message = str(info.value)
    for name in MEASURED:
        assert f"  - {name}: " in message
    assert "model estimator is unavailable" in message


def test_auto_never_picks_simulated(monkeypatch):
    from lstm_energy.meters import registry

    _without_real_pyrapl(monkeypatch)
    monkeypatch.setitem(registry.BACKENDS, "model", "lstm_energy.meters.no_such_module:ModelMeter")
    with pytest.raises(MeterUnavailableError):
        get_meter("auto", powercap={"root": NOWHERE}, perf={"sysfs_root": NOWHERE}, msr={"dev_root": NOWHERE})


def test_auto_rejects_unknown_option_groups():
    with pytest.raises(TypeError, match="unknown backend option group"):
        get_meter("auto", root="/sys/class/powercap")


def test_available_meters_lists_every_backend_with_reason_and_fix():
    rows = available_meters()
    assert [row.name for row in rows] == ["powercap", "perf", "msr", "pyrapl", "model", "simulated"]
    for row in rows:
        assert row.reason, row
        assert row.available or row.fix, f"{row.name} is unavailable but gives no fix"
        assert row.provenance == {"model": "estimated", "simulated": "simulated"}.get(row.name, "measured")
    by_name = {row.name: row for row in rows}
    assert by_name["simulated"].available and "tests only" in by_name["simulated"].reason


def test_available_meters_without_a_counter_says_why_each_measured_backend_fails(monkeypatch):
    _without_real_pyrapl(monkeypatch)
    by_name = {row.name: row for row in available_meters(**NOTHING_HERE)}
    assert f"no powercap tree at {NOWHERE}" in by_name["powercap"].reason
    assert "no perf 'power' PMU" in by_name["perf"].reason
    assert "msr" in by_name["msr"].reason
    assert "pyrapl" in by_name["pyrapl"].reason and not by_name["pyrapl"].available


def test_available_meters_takes_per_backend_options(tmp_path):
    fake = build_fake_powercap(tmp_path, "amd")
    with powered_zones(fake, ("package-0",), watts=20.0):
        by_name = {row.name: row for row in available_meters(powercap={"root": fake.root})}
    assert by_name["powercap"].available and "package-0" in by_name["powercap"].reason


@pytest.mark.parametrize("cls", [PowercapMeter, PerfMeter, MsrMeter, PyRaplMeter, SimulatedMeter])
def test_classes_declare_name_and_provenance(cls):
    assert cls.provenance in ("measured", "simulated")
    assert cls.name in ("powercap", "perf", "msr", "pyrapl", "simulated")
