"""One window has a median and nothing else: no IQR, no CI, no CV, and a warning that says so, in the
Measurement, in the results record (still valid) and in the printed summary."""

import json

import pytest

from lstm_energy.config import Config
from lstm_energy.measure import checks
from lstm_energy.measure.protocol import measure
from lstm_energy.measure.result import ProfileResult
from lstm_energy.measure.statistics import Summary
from lstm_energy.measure.summary import render
from lstm_energy.measure.work import work_of
from lstm_energy.results import validate_record

CONFIG = Config(cell="gru", batch=4, seq_len=3, input_size=5, hidden_size=6)


def measured(fake_time, meter, windows):
    return measure(
        lambda: meter.work(2e-3), meter, batch=4, windows=windows, clock=fake_time.clock, sleep=fake_time.sleep
    )


def result_of(measurement) -> ProfileResult:
    return ProfileResult(
        config=CONFIG.as_record(),
        measurement=measurement,
        costs=work_of(CONFIG),
        environment={},
        created="2026-12-08T00:00:00Z",
        warnings=measurement.warnings,
    )


@pytest.fixture
def one_window(fake_time, clock_power_meter):
    return measured(fake_time, clock_power_meter(fake_time, idle_watts=10.0, dynamic_watts=5.0), windows=1)


def test_one_window_has_no_spread_no_ci_and_no_cv(one_window):
    for summary in (one_window.joules_per_call, one_window.joules_per_sequence, one_window.seconds_per_call):
        assert summary.median > 0
        assert (summary.q1, summary.q3, summary.ci95_low, summary.ci95_high) == (None, None, None, None)
    assert one_window.cv_seconds is None and one_window.cv_joules is None
    assert checks.SINGLE_WINDOW_WARNING in one_window.warnings
    assert "1 window: no spread, no CI; use windows >= 5" in checks.SINGLE_WINDOW_WARNING


def test_two_windows_keep_their_interval_and_no_single_window_warning(fake_time, clock_power_meter):
    two = measured(fake_time, clock_power_meter(fake_time, idle_watts=10.0, dynamic_watts=5.0), windows=2)
    assert two.joules_per_call.has_spread and two.cv_seconds is not None
    assert checks.SINGLE_WINDOW_WARNING not in two.warnings


def test_the_record_of_one_window_is_valid_with_null_spread(one_window):
    record = json.loads(json.dumps(result_of(one_window).to_record()))  # what a results file holds
    assert validate_record(record) is not None
    for stat in (record["energy"]["joules_per_sequence"], record["time"]["seconds_per_call"]):
        assert stat["median"] > 0
        assert [stat[k] for k in ("q1", "q3", "ci95_low", "ci95_high")] == [None] * 4
    assert record["time"]["cv"] is None
    assert checks.SINGLE_WINDOW_WARNING in record["warnings"]


def test_the_printed_summary_shows_no_interval_for_one_window(one_window):
    text = render(result_of(one_window).to_record())
    figures = "\n".join(line for line in text.splitlines() if "WARNING:" not in line)
    assert "95% CI" not in figures and "IQR [" not in figures
    assert "no IQR, no CI: one window" in figures
    assert "CV n/a (one window)" in text and "CV 0.0%" not in text
    assert "1 window x " in text
    assert "WARNING: 1 window: no spread, no CI; use windows >= 5" in text


def test_the_printed_summary_keeps_the_interval_of_several_windows(fake_time, clock_power_meter):
    several = measured(fake_time, clock_power_meter(fake_time, idle_watts=10.0, dynamic_watts=5.0), windows=3)
    text = render(result_of(several).to_record())
    assert "IQR [" in text and "95% CI [" in text and "CV 0.0%" in text and "3 windows x " in text


def test_resolution_check_without_a_ci_uses_the_single_value():
    assert checks.dynamic_resolution_warning(Summary(1e-3, None, None, None, None)) is None
    message = checks.dynamic_resolution_warning(Summary(-1e-3, None, None, None, None))
    assert message is not None and "only window" in message
