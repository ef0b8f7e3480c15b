"""Wraparound: the modulus choice, single wraps, and SEVERAL wraps in one window caught by the sampler thread."""

import pytest

from lstm_energy.errors import MeterError
from lstm_energy.meters import PowercapMeter
from lstm_energy.meters.powercap import modulus_uj
from lstm_energy.meters.wraparound import (
    PeriodicSampler,
    UnwrappedCounters,
    WrapCounter,
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

    counters = UnwrappedCounters(read_raw, {"c": 100}, sampler_period_seconds=0.001)
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
