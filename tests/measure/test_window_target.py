"""Every kept window lasts at least the protocol's target, with the same calls in every window.

Fake clocks reproduce how windows came out short: a slow first call that calibration took for the
rate (1 call per window), calls that got faster after calibration, and (to test the bound) calls
that keep getting faster whatever the protocol does.
"""

import pytest

from lstm_energy.measure.protocol import (
    MAX_WINDOW_RESTARTS,
    calibrate_calls,
    first_trial_calls,
    measure,
    target_window_seconds,
)

#: a meter whose counter updates every microsecond, like the estimator: the 100-update check cannot fire
FINE_COUNTER = 1e-6
TARGET = 0.1


def run(fn, meter, fake_time, **kwargs):
    kwargs.setdefault("min_window_seconds", TARGET)
    return measure(fn, meter, clock=fake_time.clock, sleep=fake_time.sleep, **kwargs)


def assert_keeps_the_promise(result, windows):
    """Every kept window reached the target and all of them have calls_per_window calls."""
    assert len(result.windows) == windows
    assert all(w.seconds >= result.target_window_seconds for w in result.windows), [w.seconds for w in result.windows]
    assert {w.calls for w in result.windows} == {result.calls_per_window}
    assert not [w for w in result.warnings if "shorter than the protocol's target" in w]


def test_the_target_here_is_min_window_seconds():
    assert target_window_seconds(TARGET, FINE_COUNTER) == pytest.approx(TARGET)


def test_a_slow_first_call_does_not_set_one_call_per_window(fake_time, clock_power_meter):
    """The first call after warm-up takes 0.2 s (thread-pool start-up), every later one 2.65 ms: a
    calibration that trusts the first call picks 1 call and 2.65-ms windows."""
    meter = clock_power_meter(fake_time, idle_watts=5.0, dynamic_watts=3.0, update_interval_seconds=FINE_COUNTER)
    durations = iter([0.2] + [2.65e-3] * 100_000)
    result = run(lambda: meter.work(next(durations)), meter, fake_time, warmup_calls=0, windows=7)
    assert_keeps_the_promise(result, 7)
    assert result.calls_per_window > 1
    assert result.window_restarts >= 1
    assert result.seconds_per_call.median == pytest.approx(2.65e-3)


def test_calls_that_speed_up_after_calibration_are_measured_again_with_more_calls(fake_time, clock_power_meter):
    """0.54 ms a call in warm-up and calibration, 0.43 ms once the windows start (the meter is read only
    in windows): calls calibrated for 0.11 s give ~0.088-s windows unless the protocol measures again."""
    meter = clock_power_meter(fake_time, idle_watts=5.0, dynamic_watts=3.0, update_interval_seconds=FINE_COUNTER)
    result = run(lambda: meter.work(0.43e-3 if meter.reads else 0.54e-3), meter, fake_time, windows=7)
    assert_keeps_the_promise(result, 7)
    assert result.window_restarts == 1
    assert result.seconds_per_call.median == pytest.approx(0.43e-3)


class EverFasterTime:
    """A fake clock whose calls get 10x faster after every idle window: no number of calls keeps up,
    because calls grow by about 10x per restart too. Refuses more than ``max_calls`` calls in all, so
    a protocol that restarts without a bound fails here instead of running for ever."""

    def __init__(self, max_calls):
        self.now = 0.0
        self.speed = 1.0
        self.calls = 0
        self.max_calls = max_calls

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.speed *= 10.0

    def call(self, meter):
        """One call: 10 ms at the start, 10x less after each idle window."""
        self.calls += 1
        if self.calls > self.max_calls:
            raise AssertionError(f"more than {self.max_calls} calls: the restarts are not bounded")
        meter.work(0.01 / self.speed)


#: calls the bounded protocol makes on EverFasterTime: ~13 per window, x10 per restart, 3 restarts
BOUNDED_CALLS = 200_000


def test_windows_that_cannot_reach_the_target_stop_after_bounded_restarts_and_warn(clock_power_meter):
    windows = 3
    fake_time = EverFasterTime(max_calls=BOUNDED_CALLS)
    meter = clock_power_meter(fake_time, idle_watts=5.0, dynamic_watts=3.0, update_interval_seconds=FINE_COUNTER)
    result = run(lambda: fake_time.call(meter), meter, fake_time, windows=windows)
    assert result.window_restarts == MAX_WINDOW_RESTARTS
    assert len(result.windows) == windows
    assert {w.calls for w in result.windows} == {result.calls_per_window}  # restarts dropped the earlier windows
    short = [w for w in result.warnings if "shorter than the protocol's target" in w]
    assert len(short) == 1
    for window in result.windows:  # the warning names every short window's length
        assert f"{window.seconds:.4g}" in short[0]
    assert f"after {MAX_WINDOW_RESTARTS} re-measurement(s)" in short[0] and "min_window_seconds" in short[0]


def test_a_window_short_late_in_the_run_restarts_every_kept_window(clock_power_meter):
    """Window 1 reaches the target, window 2 does not: window 1 had fewer calls, so it is dropped."""
    fake_time = EverFasterTime(max_calls=BOUNDED_CALLS)
    meter = clock_power_meter(fake_time, idle_watts=5.0, dynamic_watts=3.0, update_interval_seconds=FINE_COUNTER)
    result = run(lambda: fake_time.call(meter), meter, fake_time, windows=2)
    assert result.window_restarts >= 1
    assert {w.calls for w in result.windows} == {result.calls_per_window}


def test_the_first_calibration_trial_is_sized_from_the_warm_up_rate():
    # 38 calls in 0.1007 s of warm-up -> 2.65 ms a call -> 42 calls for 0.11 s
    assert first_trial_calls(38, 38 * 2.65e-3, 0.11) == 42
    assert first_trial_calls(0, 0.0, 0.11) == 1  # warmup_calls=0: no rate, start at one call
    assert first_trial_calls(3, 0.9, 0.11) == 1  # slow warm-up calls: never below one call


def test_calibration_starting_from_the_warm_up_guess_is_not_fooled_by_one_slow_call(fake_time):
    durations = iter([0.2] + [2.65e-3] * 10_000)
    calls = calibrate_calls(lambda: fake_time.sleep(next(durations)), 0.11, clock=fake_time.clock, first_calls=42)
    assert calls >= 42


def test_calibrate_calls_rejects_a_bad_first_guess(fake_time):
    from lstm_energy.errors import ConfigError

    with pytest.raises(ConfigError, match="first_calls"):
        calibrate_calls(lambda: fake_time.sleep(0.05), 0.1, clock=fake_time.clock, first_calls=0)
