"""Wraparound: the modulus choice, single wraps, and SEVERAL wraps in one window caught by the sampler thread."""

import time

import pytest

from lstm_energy.errors import ConfigError, MeterError
from lstm_energy.meters import MsrMeter, PowercapMeter
from lstm_energy.meters.msr_device import MappingMsrDevice
from lstm_energy.meters.powercap import modulus_uj
from lstm_energy.meters.wraparound import (
    PeriodicSampler,
    UnwrappedCounters,
    WrapCounter,
    checked_sampler_period,
    sampler_period_seconds,
)
from lstm_energy.testing import build_fake_powercap
from lstm_energy.testing.fake_powercap import RAW_STEPS, UNIT_NJ_ESU14


def test_wrap_counter_single_and_repeated_wraps():
    counter = WrapCounter(modulus=100, first_raw=90)
    assert counter.update(95) == 5
    assert counter.update(10) == 20  # 95 -> 100 -> 10: one wrap
    assert counter.update(5) == 115  # 10 -> 5 wrapped again (95 more)
    assert counter.wraps == 2


def test_wrap_counter_rejects_values_outside_the_range():
    with pytest.raises(MeterError, match="outside"):
        WrapCounter(modulus=100, first_raw=100)


def test_sampler_period_follows_the_range_and_the_stated_power():
    assert sampler_period_seconds(65536.0, 1000.0) == pytest.approx(16.384)
    assert sampler_period_seconds(262144.0, 200.0) == pytest.approx(327.68)
    with pytest.raises(ValueError, match="max_power_watts"):
        sampler_period_seconds(1.0, 0.0)


def test_modulus_is_max_plus_one_counter_unit():
    """Kernel: max_energy_range_uj = (2**32-1)*unit; 262143328850 for 61.035 µJ (CodeCarbon's test value)."""
    max_uj = (RAW_STEPS - 1) * UNIT_NJ_ESU14 // 1000
    assert max_uj == 262143328850
    unit_uj = UNIT_NJ_ESU14 / 1000
    assert modulus_uj(max_uj) == pytest.approx(max_uj + unit_uj, abs=1e-3)


@pytest.mark.parametrize("kind, key", [("intel-1s", "package-0"), ("amd", "package-0"), ("intel-1s", "package-0/dram")])
def test_single_wrap_between_two_reads_is_exact(tmp_path, kind, key):
    fake = build_fake_powercap(tmp_path, kind)
    zone = fake.zone(key)
    fake.set_energy_uj(key, zone.max_energy_range_uj - 2_000_000)  # 2 J below the top
    with PowercapMeter(fake.root, background_sampling=False) as meter:
        s0 = meter.read()
        start = fake.joules_advanced(key)
        fake.advance(key, 5.0)  # crosses the top: energy_uj restarts near 3 J
        assert fake.energy_uj(key) < 4_000_000
        d = meter.read() - s0
        assert meter.describe()["wraparound"]["wraps"][key] == 1
    assert d.joules[key] == pytest.approx(fake.joules_advanced(key) - start, abs=2e-6)
    assert d.joules[key] == pytest.approx(5.0, abs=1e-4)


def test_several_wraps_in_one_window_are_caught_by_the_sampler_thread(tmp_path):
    """Five wraps of package-0 (AMD units: 65 536 J each) inside ONE user window; the thread sees each."""
    fake = build_fake_powercap(tmp_path, "amd-2s")
    range_joules = fake.zone("package-0").max_energy_range_uj * 1e-6
    with PowercapMeter(fake.root, sampler_period_seconds=0.002) as meter:
        sampler = meter.sampler
        assert sampler is not None and sampler.running
        s0 = meter.read()
        for _ in range(20):  # each step < one range, 20 steps = ~5.2 ranges
            for key, fraction in (("package-0", 0.26), ("package-1", 0.01)):
                fake.advance(key, fraction * range_joules)
            # let the thread take two full samples (the first may have started before the write)
            assert sampler.wait_for_samples(sampler.samples_taken + 2, timeout=10), "sampler stalled"
        d = meter.read() - s0
        wraps = meter.describe()["wraparound"]["wraps"]
    assert wraps["package-0"] == 5
    expected0 = fake.joules_advanced("package-0")
    assert expected0 > 5 * range_joules
    assert d.joules["package-0"] == pytest.approx(expected0, abs=2e-6)  # exact to the µJ
    assert d.joules["package-1"] == pytest.approx(fake.joules_advanced("package-1"), abs=2e-6)


def test_without_the_sampler_several_wraps_are_lost(tmp_path):
    """The negative control: the same window read only at its ends loses whole ranges."""
    fake = build_fake_powercap(tmp_path, "amd")
    range_joules = fake.zone("package-0").max_energy_range_uj * 1e-6
    with PowercapMeter(fake.root, background_sampling=False) as meter:
        s0 = meter.read()
        for _ in range(20):
            fake.advance("package-0", 0.26 * range_joules)
        d = meter.read() - s0
    assert d.joules["package-0"] < fake.joules_advanced("package-0") - 4 * range_joules


def test_default_sampler_period_comes_from_the_smallest_range(tmp_path):
    fake = build_fake_powercap(tmp_path, "amd")
    with PowercapMeter(fake.root, max_power_watts=500.0) as meter:
        period = meter.describe()["wraparound"]["sampler_period_seconds"]
    range_joules = modulus_uj(fake.zone("package-0").max_energy_range_uj) * 1e-6
    assert period == pytest.approx(range_joules / 500.0 / 4)


def test_a_failed_background_sample_is_raised_on_the_next_read():
    state = {"fail": False, "raw": 0}

    def read_raw():
        if state["fail"]:
            raise OSError("counter vanished")
        return {"c": state["raw"]}

    counters = UnwrappedCounters(
        read_raw, {"c": 100}, range_joules=100.0, max_power_watts=1.0, sampler_period_seconds=0.001
    )
    try:
        state["fail"] = True
        counters.sampler.wait_for_samples(10**9, timeout=5)  # returns when the sampler fails
        assert counters.sampler.error is not None
        with pytest.raises(MeterError, match="background wraparound sampler failed"):
            counters.poll()
    finally:
        counters.close()


def test_periodic_sampler_stops():
    calls = []
    sampler = PeriodicSampler(lambda: calls.append(1), 0.001).start()
    assert sampler.wait_for_samples(3, timeout=5)
    sampler.stop()
    sampler.stop()
    count = len(calls)
    assert not sampler.running
    assert len(calls) == count


# ------------------------------------------------------------------ a sampling period or a gap that can miss wraps
class SteppedClock:
    """Time that moves only when the test says so."""

    def __init__(self):
        self.now = 50.0

    def __call__(self):
        return self.now


def test_a_period_override_above_half_the_fastest_wrap_is_refused():
    """65 536 J at 1000 W wraps after 65.5 s at the earliest: a period above 32.8 s could miss one."""
    assert checked_sampler_period(30.0, 65536.0, 1000.0) == 30.0
    assert checked_sampler_period(None, 65536.0, 1000.0) == pytest.approx(16.384)
    with pytest.raises(ConfigError) as info:
        checked_sampler_period(40.0, 65536.0, 1000.0)
    message = str(info.value)
    assert "sampler_period_seconds=40.0 is not in (0, 32.77] s" in message
    assert "65536 J" in message and "65.54 s at max_power_watts=1000 W" in message
    assert "sampled at least twice per wrap" in message


def test_meters_check_their_period_override(tmp_path):
    fake = build_fake_powercap(tmp_path, "amd")  # 65 536 J per wrap: 65.5 s at 1000 W, 655 s at 100 W
    with pytest.raises(ConfigError, match=r"sampler_period_seconds=40 is not in \(0, 32.77\] s"):
        PowercapMeter(fake.root, sampler_period_seconds=40)
    with PowercapMeter(fake.root, sampler_period_seconds=40, max_power_watts=100.0) as meter:
        assert meter.sampler.period_seconds == 40.0  # a lower stated maximum power allows it
    device = MappingMsrDevice({0: {0x606: 0x000A1003, 0x611: 5}})  # ESU 16: 65 536 J per wrap
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 158\n\n")
    with pytest.raises(ConfigError, match="not in"):
        MsrMeter(device=device, cpus={0: 0}, cpuinfo_path=str(cpuinfo), sampler_period_seconds=40)


def test_a_gap_longer_than_the_fastest_wrap_fails_the_read_after_it():
    clock = SteppedClock()
    raw = {"c": 0}
    counters = UnwrappedCounters(
        lambda: dict(raw), {"c": 100}, range_joules=100.0, max_power_watts=10.0, background_sampling=False, clock=clock
    )  # fastest wrap: 100 J at 10 W = 10 s
    clock.now += 9.0
    raw["c"] = 50
    assert counters.poll() == {"c": 50}  # 9 s < 10 s: trusted
    clock.now += 11.0
    raw["c"] = 60  # really 110 J (one wrap) or 10 J: the reads cannot tell
    with pytest.raises(MeterError, match=r"11 s passed between two reads.*wraps may have been missed"):
        counters.poll()
    clock.now += 1.0
    raw["c"] = 70
    assert counters.poll() == {"c": 70}, "reads after the failed one are consistent again"
    assert counters.max_poll_gap_seconds == 11.0


def test_a_gap_seen_by_the_sampler_thread_fails_the_next_user_read():
    """The thread must not die of it (it keeps sampling) and must not swallow it (the user read raises)."""
    clock = SteppedClock()
    counters = UnwrappedCounters(
        lambda: {"c": 0},
        {"c": 100},
        range_joules=100.0,
        max_power_watts=10.0,
        sampler_period_seconds=0.001,
        clock=clock,
    )
    try:
        sampler = counters.sampler
        assert sampler.wait_for_samples(1, timeout=10)
        counters.poll()
        clock.now += 20.0  # e.g. the machine was suspended
        assert sampler.wait_for_samples(sampler.samples_taken + 2, timeout=10), "the thread kept sampling"
        assert sampler.error is None
        with pytest.raises(MeterError, match="wraps may have been missed"):
            counters.poll()
        counters.poll()
    finally:
        counters.close()


def test_a_meter_read_too_rarely_without_its_sampler_fails(tmp_path):
    """A real gap: at a stated 10 MW the fake's 262 144 J counter could wrap within 26 ms."""
    fake = build_fake_powercap(tmp_path, "intel-1s")
    with PowercapMeter(fake.root, background_sampling=False, max_power_watts=1e7) as meter:
        meter.read()
        time.sleep(0.06)  # a sleep lasts at least this long: the gap is certain, whatever the machine's load
        with pytest.raises(MeterError, match="wraps may have been missed"):
            meter.read()
        assert meter.describe()["wraparound"]["max_poll_gap_seconds"] >= 0.06
