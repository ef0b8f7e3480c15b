"""SimulatedMeter: a known-power counter (provenance "simulated") for other modules' protocol tests."""

import pytest

from lstm_energy.meters import SimulatedMeter


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_energy_follows_the_formula_with_injected_clocks():
    wall, cpu = FakeClock(), FakeClock()
    meter = SimulatedMeter(idle_watts=5.0, cpu_watts=30.0, dram_watts=2.0, wall_clock=wall, cpu_clock=cpu)
    s0 = meter.read()
    wall.now += 2.0  # 2 s idle
    s1 = meter.read()
    wall.now += 1.0
    cpu.now += 1.0  # 1 s of busy CPU
    s2 = meter.read()
    idle, busy = s1 - s0, s2 - s1
    assert idle.seconds == 2.0 and idle.joules == {"package-0": 10.0, "package-0/dram": 4.0}
    assert busy.joules == {"package-0": 35.0, "package-0/dram": 2.0}
    assert meter.headline_joules(busy) == 35.0
    assert meter.provenance == "simulated" and meter.describe()["provenance"] == "simulated"
    assert "not a measurement" in meter.describe()["warning"]


def test_real_clocks_make_busy_windows_cost_more():
    meter = SimulatedMeter(idle_watts=1.0, cpu_watts=100.0)
    s0 = meter.read()
    sum(i * i for i in range(400_000))
    d = meter.read() - s0
    assert d.joules["package-0"] > 1.0 * d.seconds  # CPU time was charged on top of idle power


def test_no_dram_domain_when_dram_watts_is_zero():
    assert SimulatedMeter(dram_watts=0.0).domains == ("package-0",)


def test_wrapping_counter_is_unwrapped_by_the_sampler_thread():
    wall, cpu = FakeClock(), FakeClock()
    meter = SimulatedMeter(
        idle_watts=10.0,
        cpu_watts=0.0,
        dram_watts=0.0,
        wall_clock=wall,
        cpu_clock=cpu,
        wrap_joules=50.0,
        sampler_period_seconds=0.002,
    )
    try:
        s0 = meter.read()
        for _ in range(12):  # 12 x 4 s x 10 W = 480 J: 9.6 wraps of 50 J in one window
            wall.now += 4.0
            assert meter.sampler.wait_for_samples(meter.sampler.samples_taken + 2, timeout=10)
        d = meter.read() - s0
    finally:
        meter.close()
    assert d.joules["package-0"] == pytest.approx(480.0)
    assert meter.true_joules()["package-0"] == pytest.approx(480.0)


def test_negative_power_is_refused():
    with pytest.raises(ValueError, match="idle_watts must be >= 0"):
        SimulatedMeter(idle_watts=-1.0)
