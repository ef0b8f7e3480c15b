"""A meter dropped without close() releases what it holds: its sampler thread ends and its fds close.

design.md shows meters used without ``close()`` (``m = PowercapMeter(...); m.read()``), so collecting an
unreferenced meter must stop its background thread and close its perf events and msr devices.
"""

import gc
import os
import weakref

import pytest

from lstm_energy.meters import MsrMeter, PerfMeter, PowercapMeter
from lstm_energy.meters.msr_device import MappingMsrDevice
from lstm_energy.perf.syscall import PerfOpenError, perf_event_open
from lstm_energy.testing import FakePerfEvents, build_fake_powercap

INTEL_UNIT_ESU16 = 0x000A1003
SOFTWARE_PMU_TYPE = 1  # PERF_TYPE_SOFTWARE: a real PMU standing in for RAPL (see test_perf.py)
#: generous: the thread only has to wake from its event wait and return (milliseconds on an idle machine)
THREAD_END_TIMEOUT_SECONDS = 30.0


def _cpuinfo(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 158\n\n")
    return str(path)


def _open_powercap(tmp_path):
    return PowercapMeter(root=build_fake_powercap(tmp_path, "intel-1s").root)


def _open_msr(tmp_path):
    device = MappingMsrDevice({0: {0x606: INTEL_UNIT_ESU16, 0x611: 123}})
    return MsrMeter(device=device, cpus={0: 0}, cpuinfo_path=_cpuinfo(tmp_path))


def _open_fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("open_meter", [_open_powercap, _open_msr], ids=["powercap", "msr"])
def test_an_unclosed_meter_is_collected_and_its_sampler_thread_ends(tmp_path, open_meter):
    meter = open_meter(tmp_path)
    meter.read()
    sampler = meter.sampler
    assert sampler is not None and sampler.running
    collected = weakref.ref(meter)
    del meter
    gc.collect()
    assert collected() is None, "the sampler thread must not keep its meter alive"
    assert sampler.join(THREAD_END_TIMEOUT_SECONDS), "collecting the meter must end its sampler thread"


def test_a_closed_meter_stops_its_thread_at_once(tmp_path):
    meter = _open_powercap(tmp_path)
    sampler = meter.sampler
    meter.close()
    assert not sampler.running


def test_an_unclosed_perf_meter_closes_its_events(tmp_path, write_power_pmu):
    write_power_pmu(tmp_path, 23, {"energy-pkg": "event=0x02", "energy-ram": "event=0x03"})
    events = FakePerfEvents({0x02: 20.0})
    meter = PerfMeter(str(tmp_path), event_source=events)
    meter.read()
    del meter
    gc.collect()
    # the fake numbers its handles 1000, 1001, ... and records each one closed
    assert sorted(events.closed) == [1000, 1001], "both opened events are closed when the meter is collected"


def test_closing_a_perf_meter_twice_closes_each_event_once(tmp_path, write_power_pmu):
    write_power_pmu(tmp_path, 23, {"energy-pkg": "event=0x02"})
    events = FakePerfEvents({0x02: 20.0})
    meter = PerfMeter(str(tmp_path), event_source=events)
    meter.close()
    meter.close()
    del meter
    gc.collect()
    assert events.closed == [1000]


def _system_wide_perf_allowed() -> bool:
    try:
        os.close(perf_event_open(SOFTWARE_PMU_TYPE, 0, 0))
        return True
    except PerfOpenError:
        return False


def test_unclosed_perf_meters_leave_no_kernel_fds(tmp_path, write_power_pmu):
    """The real syscall path: 20 meters opened and dropped; /proc/self/fd is back where it started."""
    if not _system_wide_perf_allowed():
        pytest.skip("system-wide perf events are not permitted to this process (needs root or paranoid <= 0)")
    write_power_pmu(tmp_path, SOFTWARE_PMU_TYPE, {"energy-pkg": "event=0x00", "energy-ram": "event=0x00"})
    before = _open_fd_count()
    for _ in range(20):
        meter = PerfMeter(str(tmp_path))
        meter.read()
        del meter
    gc.collect()
    assert _open_fd_count() == before


def test_an_unclosed_msr_meter_closes_its_device_files(tmp_path, write_msr):
    dev = tmp_path / "dev"
    write_msr(dev, 0, {0x606: INTEL_UNIT_ESU16, 0x611: 123})
    before = _open_fd_count()
    for _ in range(10):
        meter = MsrMeter(str(dev), cpus={0: 0}, cpuinfo_path=_cpuinfo(tmp_path), background_sampling=False)
        meter.read()
        del meter
    gc.collect()
    assert _open_fd_count() == before
