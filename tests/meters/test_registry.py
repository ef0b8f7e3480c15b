"""get_meter / available_meters: names, the auto order, the loud estimate fallback, never "simulated"."""

import errno
import warnings

import pytest

from lstm_energy.errors import ArgumentTypeError, ConfigError, LstmEnergyError, MeterUnavailableError
from lstm_energy.meters import (
    EstimatedEnergyWarning,
    MsrMeter,
    PerfMeter,
    PowercapMeter,
    PyRaplMeter,
    SimulatedMeter,
    available_meters,
    get_meter,
    opened_meter,
)
from lstm_energy.meters.microarchitecture import CpuId
from lstm_energy.meters.registry import AUTO_ORDER
from lstm_energy.testing import FakePerfEvents, build_fake_powercap
from lstm_energy.testing.power_driver import powered_zones

NOWHERE = "/nonexistent/lstm-energy"
#: the measured backends whose hardware a test can point elsewhere (pyRAPL's path is hard-coded in pyRAPL)
INJECTABLE = ("powercap", "perf", "msr")
#: every injectable measured backend pointed at nothing
NOTHING_HERE = {"powercap": {"root": NOWHERE}, "perf": {"sysfs_root": NOWHERE}, "msr": {"dev_root": NOWHERE}}
#: the estimator's defaults for an injected CPU (a Sapphire Rapids server, 4 vCPUs), not this host's
SAPPHIRE_RAPIDS_ESTIMATE = {"cpu": CpuId("intel", 6, 0x8F, 8, "Intel(R) Xeon(R) Platinum 8480+"), "vcpus": 4}


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


def test_auto_falls_through_the_order(tmp_path, write_power_pmu):
    """powercap fails (no tree) -> perf is tried next with its own options -> msr -> the estimate, loudly.

    perf's syscall answer is injected (ENOENT: no PMU of that type), so the reason is the same for every user:
    the real kernel would answer a non-root caller EACCES before it looks the PMU type up."""
    write_power_pmu(tmp_path, pmu_type=0x7FFFFFF0, events={"energy-pkg": "event=0x02"})
    no_such_pmu = FakePerfEvents({}, refuse_with=errno.ENOENT)
    with pytest.warns(EstimatedEnergyWarning) as record:
        meter = get_meter(
            "auto",
            order=INJECTABLE,
            powercap={"root": NOWHERE},
            perf={"sysfs_root": str(tmp_path), "event_source": no_such_pmu},
            msr={"dev_root": NOWHERE},
            model=SAPPHIRE_RAPIDS_ESTIMATE,
        )
    meter.close()
    assert meter.provenance == "estimated"
    message = str([w for w in record if issubclass(w.category, EstimatedEnergyWarning)][0].message)
    assert "  - powercap: no powercap tree at /nonexistent" in message
    assert "  - perf: perf_event_open(type=2147483632" in message and "ENOENT" in message
    assert "no PMU of this type" in message
    assert "  - msr: " in message
    assert message.index("powercap:") < message.index("perf:") < message.index("msr:")


def test_auto_without_a_counter_warns_loudly_and_returns_the_estimator():
    with pytest.warns(EstimatedEnergyWarning) as record:
        meter = get_meter("auto", order=INJECTABLE, model=SAPPHIRE_RAPIDS_ESTIMATE, **NOTHING_HERE)
    try:
        assert meter.name == "model" and meter.provenance == "estimated"
    finally:
        meter.close()
    estimated = [w for w in record if issubclass(w.category, EstimatedEnergyWarning)]
    assert len(estimated) == 1
    message = str(estimated[0].message)
    assert "NO MEASURED ENERGY" in message and "ESTIMATOR" in message and "not a measurement" in message
    for name in INJECTABLE:
        assert f"  - {name}: " in message  # the reason each measured backend failed
    assert "Fix:" in message


def test_auto_without_any_backend_lists_every_reason(tmp_path):
    """When even the estimator cannot load (here: its calibration profile is missing), the error lists why
    each measured backend failed."""
    broken_estimator = {"profile": str(tmp_path / "missing-profile.json")}
    with pytest.raises(MeterUnavailableError) as info:
        get_meter("auto", order=INJECTABLE, model=broken_estimator, **NOTHING_HERE)
    message = str(info.value)
    for name in INJECTABLE:
        assert f"  - {name}: " in message
    assert "model estimator is unavailable" in message and "missing-profile.json" in message


def test_auto_never_picks_simulated(tmp_path):
    broken_estimator = {"profile": str(tmp_path / "missing-profile.json")}
    with pytest.raises(MeterUnavailableError):
        get_meter("auto", order=INJECTABLE, model=broken_estimator, **NOTHING_HERE)


def test_auto_rejects_unknown_option_groups():
    with pytest.raises(TypeError, match="unknown backend option group"):
        get_meter("auto", root="/sys/class/powercap")


def test_available_meters_lists_every_backend_with_reason_and_fix():
    """Every backend has a row with a reason, and a fix when it does not work. The injectable backends point
    at nothing; pyRAPL reads a hard-coded path (no injection possible), so only what holds for it either way
    is asserted: a reason, and a fix if it does not work."""
    rows = available_meters(model=SAPPHIRE_RAPIDS_ESTIMATE, **NOTHING_HERE)
    assert [row.name for row in rows] == ["powercap", "perf", "msr", "pyrapl", "model", "simulated"]
    for row in rows:
        assert row.reason, row
        assert row.available or row.fix, f"{row.name} is unavailable but gives no fix"
        assert row.provenance == {"model": "estimated", "simulated": "simulated"}.get(row.name, "measured")
    by_name = {row.name: row for row in rows}
    assert [by_name[name].available for name in INJECTABLE] == [False, False, False]
    assert by_name["model"].available and "Sapphire Rapids" in by_name["model"].reason
    assert by_name["simulated"].available and "tests only" in by_name["simulated"].reason


def test_available_meters_without_a_counter_says_why_each_measured_backend_fails():
    by_name = {row.name: row for row in available_meters(**NOTHING_HERE)}
    assert f"no powercap tree at {NOWHERE}" in by_name["powercap"].reason
    assert "no perf 'power' PMU" in by_name["perf"].reason
    assert "msr" in by_name["msr"].reason


def test_available_meters_takes_per_backend_options(tmp_path):
    fake = build_fake_powercap(tmp_path, "amd")
    with powered_zones(fake, ("package-0",), watts=20.0):
        by_name = {row.name: row for row in available_meters(powercap={"root": fake.root})}
    assert by_name["powercap"].available and "package-0" in by_name["powercap"].reason


@pytest.mark.parametrize("cls", [PowercapMeter, PerfMeter, MsrMeter, PyRaplMeter, SimulatedMeter])
def test_classes_declare_name_and_provenance(cls):
    assert cls.provenance in ("measured", "simulated")
    assert cls.name in ("powercap", "perf", "msr", "pyrapl", "simulated")


@pytest.mark.parametrize(
    "call, error, builtin",
    [
        (lambda: get_meter("rapl"), ConfigError, ValueError),
        (lambda: get_meter("auto", order=("model",)), ConfigError, ValueError),
        (lambda: get_meter(SimulatedMeter(), idle_watts=1.0), ArgumentTypeError, TypeError),
        (lambda: get_meter("auto", root="/sys/class/powercap"), ArgumentTypeError, TypeError),
        (lambda: opened_meter(3).__enter__(), ArgumentTypeError, TypeError),
        (lambda: SimulatedMeter(idle_watts=-1.0), ConfigError, ValueError),
    ],
    ids=["unknown name", "order", "options on an open meter", "option group", "not a meter", "negative watts"],
)
def test_bad_arguments_raise_the_package_errors_that_are_also_the_builtins(call, error, builtin):
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, LstmEnergyError) and isinstance(info.value, builtin)
