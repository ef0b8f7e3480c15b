"""The protocol's arithmetic on a fake clock: repetitions, windows, idle subtraction, per sequence."""

import math

import pytest

from lstm_energy.measure.protocol import (
    CALIBRATION_HEADROOM,
    MIN_WARMUP_CALLS,
    Window,
    calibrate_calls,
    measure,
    summarize_windows,
    target_window_seconds,
)


def test_target_window_is_at_least_100_counter_updates():
    assert target_window_seconds(0.1, 1e-3) == pytest.approx(0.1)
    assert target_window_seconds(0.01, 1e-3) == pytest.approx(0.1)  # 100 x 1 ms wins
    assert target_window_seconds(0.5, 1e-3) == pytest.approx(0.5)
    assert target_window_seconds(0.1, 0.01) == pytest.approx(1.0)  # a slow counter needs 1 s


@pytest.mark.parametrize("call_seconds", [1e-5, 3e-3, 0.07, 0.25])
def test_calibrate_calls_reaches_the_target_without_overshooting(fake_time, call_seconds):
    target = 0.1
    calls = calibrate_calls(lambda: fake_time.sleep(call_seconds), target, clock=fake_time.clock)
    assert calls * call_seconds >= target
    # smallest count that meets the target, give or take the 10% headroom and the growth rounding
    assert calls <= max(1, math.ceil(target / call_seconds * CALIBRATION_HEADROOM) + 1)


def test_calibrate_calls_survives_a_zero_duration_first_call(fake_time):
    durations = iter([0.0] + [1e-3] * 10_000)
    calls = calibrate_calls(lambda: fake_time.sleep(next(durations)), 0.05, clock=fake_time.clock)
    assert calls >= 50


def test_measure_recovers_known_dynamic_and_total_energy_exactly(fake_time, clock_power_meter):
    meter = clock_power_meter(fake_time, idle_watts=30.0, dynamic_watts=12.0)
    call_seconds = 2e-3
    result = measure(
        lambda: meter.work(call_seconds),
        meter,
        batch=4,
        windows=5,
        min_window_seconds=0.1,
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    )
    assert result.seconds_per_call.median == pytest.approx(call_seconds)
    assert result.joules_per_call.median == pytest.approx(12.0 * call_seconds)
    assert result.total_joules_per_call.median == pytest.approx(42.0 * call_seconds)
    assert result.joules_per_sequence.median == pytest.approx(12.0 * call_seconds / 4)
    assert result.total_joules_per_sequence.median == pytest.approx(42.0 * call_seconds / 4)
    assert result.idle_watts == pytest.approx(30.0)
    assert len(result.windows) == 5
    assert all(w.seconds >= 0.1 for w in result.windows)
    assert result.calls_per_window == result.windows[0].calls
    # the idle window lasts as long as the work window before it
    assert all(w.idle_seconds == pytest.approx(w.seconds) for w in result.windows)


def test_measure_warms_up_for_three_calls_and_one_window_by_default(fake_time, clock_power_meter):
    meter = clock_power_meter(fake_time, idle_watts=1.0)
    calls = []

    def fn():
        calls.append(fake_time.now)
        meter.work(0.02)

    result = measure(fn, meter, windows=1, min_window_seconds=0.1, clock=fake_time.clock, sleep=fake_time.sleep)
    assert result.warmup_calls >= MIN_WARMUP_CALLS
    assert result.warmup_calls * 0.02 >= 0.1 - 1e-12

    fake_time.now = 0.0
    explicit = measure(fn, meter, windows=1, warmup_calls=2, clock=fake_time.clock, sleep=fake_time.sleep)
    assert explicit.warmup_calls == 2


def test_measure_passes_work_to_the_meter(fake_time, clock_power_meter):
    meter = clock_power_meter(fake_time, idle_watts=1.0)
    result = measure(
        lambda: meter.work(0.01), meter, flops=1000, bytes=64, windows=3, clock=fake_time.clock, sleep=fake_time.sleep
    )
    measured_calls = sum(w.calls for w in result.windows)
    assert meter.noted == {"flops": 1000.0 * measured_calls, "bytes": 64.0 * measured_calls}


def test_per_domain_dynamic_energy(fake_time, clock_power_meter):
    meter = clock_power_meter(fake_time, idle_watts=10.0, dynamic_watts=5.0, domains=("package-0", "package-0/dram"))
    result = measure(lambda: meter.work(0.01), meter, windows=3, clock=fake_time.clock, sleep=fake_time.sleep)
    assert result.headline_domains == ("package-0",)
    assert result.domains_joules_per_call["package-0"] == pytest.approx(0.05)
    assert result.domains_joules_per_call["package-0/dram"] == pytest.approx(0.005)


def test_summarize_windows_subtracts_idle_power_times_work_time():
    # idle window shorter than the work window: the baseline scales with the work window's length
    w = Window(
        calls=10,
        seconds=0.2,
        cpu_seconds=0.2,
        joules={"package-0": 10.0},
        idle_seconds=0.1,
        idle_joules={"package-0": 2.0},
    )
    m = summarize_windows(
        [w],
        meter_description={"name": "x"},
        provenance="measured",
        headline_domains=("package-0",),
        update_interval_seconds=1e-3,
        batch=5,
        calls_per_window=10,
        warmup_calls=0,
        target_window_seconds=0.1,
    )
    assert m.idle_watts == pytest.approx(20.0)
    assert m.joules_per_call.median == pytest.approx((10.0 - 20.0 * 0.2) / 10)
    assert m.joules_per_sequence.median == pytest.approx((10.0 - 4.0) / 10 / 5)


def test_summarize_windows_rejects_headline_domains_the_meter_does_not_read():
    w = Window(1, 0.1, 0.1, {"package-0": 1.0}, 0.1, {"package-0": 0.5})
    with pytest.raises(ValueError, match="headline domains"):
        summarize_windows(
            [w],
            meter_description={},
            provenance="measured",
            headline_domains=("psys",),
            update_interval_seconds=1e-3,
            batch=1,
            calls_per_window=1,
            warmup_calls=0,
            target_window_seconds=0.1,
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(batch=0), "batch"),
        (dict(windows=0), "windows"),
        (dict(min_window_seconds=0), "min_window_seconds"),
        (dict(warmup_calls=-1), "warmup_calls"),
        (dict(flops=-5), "flops"),
    ],
)
def test_measure_rejects_bad_arguments(fake_time, clock_power_meter, kwargs, message):
    meter = clock_power_meter(fake_time, idle_watts=1.0)
    with pytest.raises(ValueError, match=message):
        measure(lambda: meter.work(0.01), meter, clock=fake_time.clock, sleep=fake_time.sleep, **kwargs)


def test_measure_accepts_a_meter_name(monkeypatch):
    from lstm_energy.meters.model import DEFAULT_PARAMETERS, PROFILE_ENV

    monkeypatch.delenv(PROFILE_ENV, raising=False)
    result = measure(lambda: None, "model", windows=2, min_window_seconds=0.01, flops=10, bytes=1)
    assert result.provenance == "estimated" and result.meter_description["name"] == "model"
    expected = DEFAULT_PARAMETERS.cpu_watts * result.cpu_seconds_per_call.median  # dynamic = CPU W x CPU-seconds
    assert result.joules_per_call.median == pytest.approx(expected, rel=0.1)


def test_measure_rejects_a_non_meter():
    with pytest.raises(TypeError, match="meter must be"):
        measure(lambda: None, 42)
