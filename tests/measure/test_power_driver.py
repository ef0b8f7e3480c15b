"""The protocol against a fake powercap tree whose counter a SEPARATE process advances, like RAPL.

Tolerances:
- constant power, 1%: the driver rewrites energy_uj every ~1 ms from its own clock, so a read is
  stale by at most one update plus scheduling delay (~1-2 ms; the driver asks for nice -10) at each
  window edge; with >= 0.4 s windows that is <= ~1% per window at worst and the median over 5
  windows sits inside 1% (measured on the 2-core dev VM at load average ~9 with 7 x 0.25 s windows:
  0.02-0.03% typically, once 1.04%, hence the longer 0.4 s windows here).
  The dynamic (work - idle) energy is a difference of two such readings: 2% of the total.
- CPU-following power, 10%: the driver sees this process's CPU time through /proc/<pid>/stat in
  clock ticks (USER_HZ = 100, i.e. 10 ms steps). Over 0.4 s windows a tick at each edge is up to
  ±2.5% per edge of the window's CPU energy, and the idle window's baseline can catch one stray tick
  (20 W x 10 ms over 0.4 s = 0.5 W of a 25 W window); 10% covers both with margin on a busy machine,
  while a protocol error (no idle subtraction: +25%; idle subtracted twice; per-call/batch mix-ups:
  x4) is far outside it.
"""

import os
import time

import pytest

from lstm_energy.measure import measure
from lstm_energy.meters.powercap import PowercapMeter
from lstm_energy.testing.fake_powercap import FakePowercap
from lstm_energy.testing.power_driver import PowerDriver, process_cpu_seconds, unit_nj_from_range

# 4 nJ units: the counter wraps every (2**32 - 1) * 4 nJ = 17.2 J, i.e. every ~0.7 s at 25 W
UNIT_NJ = 4


@pytest.fixture
def fake_zone(memory_tmp_path):
    fake = FakePowercap(memory_tmp_path / "class", memory_tmp_path / "devices")
    zone = fake.add_zone("intel-rapl", (0,), "package-0", unit_nj=UNIT_NJ, initial_joules=3.0)
    return fake, zone


#: the most these tests draw (25 W constant; 5 W + 20 W per busy CPU of this process on 2 CPUs = 45 W)
MAX_TEST_WATTS = 50.0


def open_meter(fake):
    # sample every 50 ms so the 0.7 s wraps are counted between the protocol's own reads; at the stated
    # 50 W a 17.2 J counter wraps at the earliest after 0.34 s, so 50 ms is well inside the allowed half
    return PowercapMeter(root=fake.root, max_power_watts=MAX_TEST_WATTS, sampler_period_seconds=0.05)


def busy(cpu_seconds):
    """Spin until this process has used ``cpu_seconds`` of CPU (however long that takes on a busy machine)."""
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass


def test_unit_is_recovered_from_the_range(fake_zone):
    _, zone = fake_zone
    assert unit_nj_from_range(zone.max_energy_range_uj) == UNIT_NJ
    assert unit_nj_from_range(262143328850) == 61035


def test_process_cpu_seconds_follows_this_process():
    before = process_cpu_seconds(os.getpid())
    busy(0.2)
    after = process_cpu_seconds(os.getpid())
    assert after - before == pytest.approx(0.2, abs=0.03)  # 10 ms ticks at each end


def test_constant_power_is_recovered_within_one_percent(fake_zone):
    fake, zone = fake_zone
    watts = 25.0
    with PowerDriver(zone.directory / "energy_uj", watts=watts):
        meter = open_meter(fake)
        try:
            result = measure(lambda: time.sleep(0.002), meter, batch=8, windows=5, min_window_seconds=0.4)
            wraps = meter.describe()["wraparound"]["wraps"]["package-0"]
        finally:
            meter.close()
    assert wraps >= 2  # the counter wrapped during the run and the meter unwrapped it
    seconds = result.seconds_per_call.median
    assert result.total_joules_per_call.median == pytest.approx(watts * seconds, rel=0.01)
    assert result.total_joules_per_sequence.median == pytest.approx(watts * seconds / 8, rel=0.01)
    assert result.idle_watts == pytest.approx(watts, rel=0.01)
    # constant power: work costs nothing above idle (a difference of two readings each within 1%)
    assert abs(result.joules_per_call.median) < 0.02 * watts * seconds
    assert result.provenance == "measured"


def test_dynamic_power_following_cpu_use_is_recovered_within_ten_percent(fake_zone):
    fake, zone = fake_zone
    idle_watts, dynamic_watts = 5.0, 20.0
    with PowerDriver(zone.directory / "energy_uj", pid=os.getpid(), idle_watts=idle_watts, dynamic_watts=dynamic_watts):
        meter = open_meter(fake)
        try:
            # 7 windows: the bootstrap CI of a median of 7 stays clear of one disturbed window (a driver
            # process descheduled at a window edge); with 5 windows a single one reaches the CI's bound
            result = measure(lambda: busy(0.002), meter, batch=2, windows=7, min_window_seconds=0.4)
        finally:
            meter.close()
    assert result.cpu_seconds_per_call.median >= 0.002  # the busy loop really ran
    # CPU time above the idle window's own background rate (the meter's sampler thread also runs in
    # this process, in both windows): exactly what the driver turns into dynamic energy
    dynamic_cpu_per_call = sorted(
        (w.cpu_seconds - w.idle_cpu_seconds / w.idle_seconds * w.seconds) / w.calls for w in result.windows
    )[len(result.windows) // 2]
    expected = dynamic_watts * dynamic_cpu_per_call
    assert result.joules_per_call.median == pytest.approx(expected, rel=0.10)
    assert result.joules_per_sequence.median == pytest.approx(expected / 2, rel=0.10)
    assert result.idle_watts == pytest.approx(idle_watts, rel=0.10)
    assert not [w for w in result.warnings if w.startswith(("estimated", "simulated", "dynamic energy not"))]


def test_driver_refuses_ambiguous_modes(fake_zone):
    _, zone = fake_zone
    with pytest.raises(ValueError, match="exactly one"):
        PowerDriver(zone.directory / "energy_uj", watts=1.0, pid=os.getpid())
    with pytest.raises(ValueError, match="does not exist"):
        PowerDriver(zone.directory / "nope", watts=1.0)
