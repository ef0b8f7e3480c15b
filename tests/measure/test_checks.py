"""Warnings appear when they should, say what to do, and stay away otherwise."""

import pytest

from lstm_energy.measure import checks
from lstm_energy.measure.protocol import Window, measure, summarize_windows
from lstm_energy.measure.statistics import Summary
from lstm_energy.meters.model import ModelMeter, ModelParameters


def run(meter, fake_time, call_seconds=2e-3, **kwargs):
    return measure(lambda: meter.work(call_seconds), meter, clock=fake_time.clock, sleep=fake_time.sleep, **kwargs)


def test_steady_measured_run_has_no_warnings(fake_time, clock_power_meter):
    meter = clock_power_meter(fake_time, idle_watts=20.0, dynamic_watts=15.0)
    assert run(meter, fake_time).warnings == ()


def test_noisy_counter_gives_a_cv_warning_that_says_what_to_do(fake_time, clock_power_meter):
    # window energy ~ 35 W x 0.11 s ~ 3.9 J; read noise 0.5 J per read -> CV ~ 18%
    meter = clock_power_meter(fake_time, idle_watts=20.0, dynamic_watts=15.0, read_noise_joules=0.5, seed=4)
    result = run(meter, fake_time, windows=9)
    assert result.cv_joules >= 0.10
    cv_warnings = [w for w in result.warnings if "varies too much" in w]
    assert len(cv_warnings) == 1
    assert "energy" in cv_warnings[0] and "more windows" in cv_warnings[0] and "quiet the machine" in cv_warnings[0]


def test_the_estimator_warns_that_it_is_not_a_measurement(fake_time):
    meter = ModelMeter(
        parameters=ModelParameters(5.0, 10.0, 1e-11, 1e-10),
        source="test parameters",
        clock=fake_time.clock,
        cpu_clock=fake_time.clock,
    )
    result = measure(
        lambda: fake_time.sleep(1e-3),
        meter,
        flops=1e6,
        bytes=1e4,
        windows=3,
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    )
    assert result.provenance == "estimated"
    assert result.warnings[0].startswith("estimated, not measured")
    assert "lstm-energy meters" in result.warnings[0] and "RAPL" in result.warnings[0]
    assert "test parameters" in result.warnings[0]
    assert len(result.warnings) == 1


def test_a_simulated_meter_is_flagged(fake_time, clock_power_meter):
    meter = clock_power_meter(fake_time, idle_watts=20.0, dynamic_watts=15.0, provenance="simulated")
    result = run(meter, fake_time)
    assert len(result.warnings) == 1 and result.warnings[0].startswith("simulated, not measured")


def test_unresolved_dynamic_energy_is_flagged(fake_time, clock_power_meter):
    meter = clock_power_meter(fake_time, idle_watts=20.0, dynamic_watts=0.0)
    result = run(meter, fake_time)
    assert [w for w in result.warnings if w.startswith("dynamic energy not resolved")]


def test_short_windows_warn_with_the_length_to_use():
    assert checks.window_length_warning(0.1, 1e-3) is None
    message = checks.window_length_warning(0.02, 1e-3)
    assert message is not None and "min_window_seconds" in message and "10.0%" in message
    # the windows are calibrated to 0.1 s already and came out 5x short: the advice scales the target by 5
    assert "at least 0.5 s" in message


@pytest.mark.parametrize(
    "shortest, target, advised",
    [(0.09, 0.1, "0.12 s"), (0.02, 0.1, "0.5 s"), (0.05, 0.2, "0.4 s"), (0.099, 0.1, "0.11 s")],
)
def test_short_window_advice_names_a_value_above_the_target_it_missed(shortest, target, advised):
    """0.1 s is the default min_window_seconds: advising "at least 0.1 s" would change nothing."""
    message = checks.window_length_warning(shortest, 1e-3, target)
    assert f"raise min_window_seconds to at least {advised}" in message
    value = float(message.split("at least ")[1].split(" s")[0])
    assert value > target


def test_short_windows_are_caught_from_measured_durations():
    # counter updates every 10 ms, windows lasted 0.5 s: fewer than 100 updates
    windows = [Window(10, 0.5, 0.5, {"package-0": 20.0}, 0.5, {"package-0": 5.0}) for _ in range(3)]
    m = summarize_windows(
        windows,
        meter_description={"name": "slow"},
        provenance="measured",
        headline_domains=("package-0",),
        update_interval_seconds=0.01,
        batch=1,
        calls_per_window=10,
        warmup_calls=3,
        target_window_seconds=1.0,
    )
    assert any(w.startswith("window too short") for w in m.warnings)


@pytest.mark.parametrize("cv_seconds, cv_joules, expected", [(0.05, 0.05, 0), (0.10, 0.0, 1), (0.2, 0.3, 2)])
def test_cv_threshold_is_ten_percent(cv_seconds, cv_joules, expected):
    assert len(checks.variation_warnings(cv_seconds, cv_joules, 7)) == expected


def test_resolution_check_uses_the_confidence_interval():
    assert checks.dynamic_resolution_warning(Summary(1.0, 0.9, 1.1, 0.8, 1.2)) is None
    assert checks.dynamic_resolution_warning(Summary(1.0, 0.5, 1.5, -0.1, 2.0)) is not None
