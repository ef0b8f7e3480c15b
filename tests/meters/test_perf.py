"""PerfMeter: sysfs parsing from fake PMU directories, and the REAL perf_event_open syscall's failures here."""

import errno
import os

import pytest

from lstm_energy.errors import MeterPermissionError, MeterUnavailableError
from lstm_energy.meters import PerfMeter
from lstm_energy.meters.perf import parse_event_config, read_power_pmu
from lstm_energy.perf.syscall import PerfOpenError, perf_event_open
from lstm_energy.testing import FakePerfEvents

RAPL_EVENTS = {
    "energy-cores": "event=0x01",
    "energy-pkg": "event=0x02",
    "energy-ram": "event=0x03",
    "energy-psys": "event=0x05",
}
SOFTWARE_PMU_TYPE = 1  # PERF_TYPE_SOFTWARE; config 0 = cpu-clock (ns): a real, always-present PMU


def test_parse_fake_power_pmu(tmp_path, write_power_pmu):
    write_power_pmu(tmp_path, pmu_type=23, events=RAPL_EVENTS, cpumask="0,8")
    pmu = read_power_pmu(str(tmp_path))
    assert pmu.type == 23
    assert pmu.cpus == (0, 8)
    assert set(pmu.events) == set(RAPL_EVENTS)
    pkg = pmu.events["energy-pkg"]
    assert pkg.config == 0x02 and pkg.unit == "Joules"
    assert pkg.scale == 2.0**-32  # 2.3283064365386962890625e-10 parses exactly
    assert pmu.events["energy-psys"].config == 5


@pytest.mark.parametrize("text, config", [("event=0x02", 2), ("event=0x3", 3), ("event=4,umask=0x1", 4)])
def test_parse_event_config(text, config):
    assert parse_event_config(text) == config


def test_parse_event_config_rejects_garbage():
    with pytest.raises(ValueError, match="no event=<number>"):
        parse_event_config("umask=0x2")


def test_wrong_unit_is_refused(tmp_path, write_power_pmu):
    pmu = write_power_pmu(tmp_path, pmu_type=23, events={"energy-pkg": "event=0x02"})
    (pmu / "events" / "energy-pkg.unit").write_text("mJ\n")
    with pytest.raises(MeterUnavailableError, match="unit 'mJ'.*only 'Joules'"):
        read_power_pmu(str(tmp_path))


def test_pmu_without_energy_events(tmp_path, write_power_pmu):
    write_power_pmu(tmp_path, pmu_type=23, events={})
    with pytest.raises(MeterUnavailableError, match="lists no energy-\\* events"):
        read_power_pmu(str(tmp_path))


def test_this_machine_without_power_pmu_says_why():
    if os.path.isdir("/sys/bus/event_source/devices/power"):
        pytest.skip("this machine has a perf power PMU; the no-PMU path is covered with a fake sysfs below")
    with pytest.raises(MeterUnavailableError) as info:
        PerfMeter()
    message = str(info.value)
    assert "no perf 'power' PMU" in message and "/sys/bus/event_source/devices/power does not exist" in message
    assert "PMUs here:" in message and "software" in message  # lists what this kernel does have
    assert "Fix:" in message and "bare metal" in message
    availability = PerfMeter.probe()
    assert not availability.available and "power" in availability.reason and availability.fix


def test_fake_sysfs_without_power_pmu(tmp_path):
    (tmp_path / "bus" / "event_source" / "devices" / "software").mkdir(parents=True)
    with pytest.raises(MeterUnavailableError, match="PMUs here: software"):
        PerfMeter(str(tmp_path))


def test_a_pmu_type_the_kernel_lacks_is_explained(tmp_path, write_power_pmu):
    """The kernel's ENOENT (no PMU of the type sysfs gave) is injected, so the test means the same for every user."""
    write_power_pmu(tmp_path, pmu_type=0x7FFFFFF0, events={"energy-pkg": "event=0x02"})
    with pytest.raises(MeterUnavailableError) as info:
        PerfMeter(str(tmp_path), event_source=FakePerfEvents({}, refuse_with=errno.ENOENT))
    message = str(info.value)
    assert "perf_event_open(type=2147483632, config=0x2 [energy-pkg], pid=-1, cpu=0)" in message
    assert "ENOENT" in message and "no PMU of this type" in message
    assert not isinstance(info.value, MeterPermissionError)


def test_real_syscall_rejects_a_pmu_type_this_kernel_lacks(tmp_path, write_power_pmu):
    """sysfs says power PMU type 0x7ffffff0: the REAL perf_event_open answers ENOENT, and the error says why."""
    if not _software_pmu_opens():
        pytest.skip(
            "system-wide perf events are not permitted to this process: the kernel answers EACCES before it "
            "looks the PMU type up (the ENOENT message is covered with an injected answer above)"
        )
    write_power_pmu(tmp_path, pmu_type=0x7FFFFFF0, events={"energy-pkg": "event=0x02"})
    with pytest.raises(MeterUnavailableError) as info:
        PerfMeter(str(tmp_path))
    message = str(info.value)
    assert "perf_event_open(type=2147483632, config=0x2 [energy-pkg], pid=-1, cpu=0)" in message
    assert "ENOENT" in message and "no PMU of this type" in message
    assert not isinstance(info.value, MeterPermissionError)


@pytest.mark.parametrize("events", [("energy-ram",), ("energy-ram", "energy-cores")])
def test_events_without_a_package_or_platform_event_are_refused(tmp_path, write_power_pmu, events):
    """Only sub-domains open: there would be no headline domain, so no figure but "measured 0 J"."""
    write_power_pmu(tmp_path, pmu_type=23, events=RAPL_EVENTS)
    source = FakePerfEvents({0x03: 5.0, 0x01: 5.0})
    with pytest.raises(MeterUnavailableError) as info:
        PerfMeter(str(tmp_path), events=events, event_source=source)
    assert "include no package or platform event" in info.value.reason
    assert "add energy-pkg or energy-psys to events" in info.value.fix


def test_a_pmu_with_only_sub_domain_events_is_refused(tmp_path, write_power_pmu):
    write_power_pmu(tmp_path, pmu_type=23, events={"energy-ram": "event=0x03", "energy-cores": "event=0x01"})
    with pytest.raises(MeterUnavailableError) as info:
        PerfMeter(str(tmp_path), event_source=FakePerfEvents({}))
    assert "this PMU lists no package or platform event" in info.value.fix


def _software_pmu_opens() -> bool:
    try:
        os.close(perf_event_open(SOFTWARE_PMU_TYPE, 0, 0))
        return True
    except PerfOpenError:
        return False


def test_real_syscall_opens_reads_and_scales(tmp_path, write_power_pmu):
    """The whole path with a real PMU: the software cpu-clock stands in for RAPL (counts ns, scaled 2**-32)."""
    if os.geteuid() != 0 or not _software_pmu_opens():
        pytest.skip("system-wide perf events are not permitted to this process (needs root or paranoid <= 0)")
    events = {"energy-pkg": "event=0x00", "energy-ram": "event=0x00", "energy-psys": "event=0x00"}
    write_power_pmu(tmp_path, SOFTWARE_PMU_TYPE, events, cpumask="0-1", packages={0: 0, 1: 1})
    with PerfMeter(str(tmp_path)) as meter:
        assert set(meter.domains) == {"package-0", "package-0/dram", "psys", "package-1", "package-1/dram", "psys-1"}
        assert meter.headline_domains == ("package-0", "package-1")
        s0 = meter.read()
        sum(range(300_000))
        d = meter.read() - s0
        assert meter.describe()["domains"]["package-1"]["cpu"] == 1
    # cpu-clock on cpu 0 advanced by ~elapsed ns; scaled by 2**-32 it is tiny but positive and bounded
    assert 0 < d.joules["package-0"] <= (d.seconds * 1e9 + 1e7) * 2.0**-32


def test_real_syscall_refused_for_a_non_root_reader(tmp_path, write_power_pmu, world_readable_dir, run_as_nobody):
    """As uid 65534 with perf_event_paranoid > 0, the kernel refuses system-wide events (EACCES)."""
    with open("/proc/sys/kernel/perf_event_paranoid") as handle:
        paranoid = int(handle.read())
    if paranoid <= 0:
        pytest.skip(f"perf_event_paranoid is {paranoid}: unprivileged system-wide events are allowed here")
    write_power_pmu(world_readable_dir, SOFTWARE_PMU_TYPE, {"energy-pkg": "event=0x00"})
    snippet = (
        "import json, sys\n"
        "from lstm_energy.errors import MeterPermissionError\n"
        "from lstm_energy.meters import PerfMeter\n"
        "try:\n"
        "    PerfMeter(sys.argv[1]); print(json.dumps({'opened': True}))\n"
        "except MeterPermissionError as err:\n"
        "    print(json.dumps({'opened': False, 'message': str(err)}))\n"
    )
    result, how = run_as_nobody(snippet, str(world_readable_dir))
    assert result["opened"] is False, how
    message = result["message"]
    assert "refused with EACCES" in message or "refused with EPERM" in message
    assert f"kernel.perf_event_paranoid is {paranoid}" in message and "CAP_PERFMON" in message
    assert "sysctl -w kernel.perf_event_paranoid=0" in message
