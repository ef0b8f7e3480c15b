"""A window's power is judged on the meter's own time, not on the protocol's injectable clock.

Each test drives a fake powercap counter at a known power from a separate process (real time) and hands
``measure`` a clock that runs faster or slower than real time, with a sleep that agrees with that clock
(as a fake clock for the protocol's scheduling would). The verdict must follow what the meter timed
between its own reads: a live counter is kept however long the clock says a window lasted, and a counter
at an implausible power is refused however the clock makes it look.
"""

import time

import pytest

from lstm_energy.errors import MeterError
from lstm_energy.measure import measure
from lstm_energy.meters import PowercapMeter
from lstm_energy.meters.liveness import BUSY_FLOOR_WATTS, CEILING_WATTS
from lstm_energy.testing import build_fake_powercap
from lstm_energy.testing.power_driver import PowerDriver

#: real seconds one call of the measured function lasts (a sleep: the driver sets the power anyway)
CALL_SECONDS = 0.02


class ScaledTime:
    """A protocol clock running ``factor`` times real time, and the sleep that agrees with it."""

    def __init__(self, factor: float):
        self.factor = factor

    def clock(self) -> float:
        return time.perf_counter() * self.factor

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self.factor)


def _measure_at(root: str, scaled: ScaledTime, *, windows: int = 2):
    with PowercapMeter(root, background_sampling=False) as meter:
        return measure(
            lambda: time.sleep(CALL_SECONDS),
            meter,
            windows=windows,
            min_window_seconds=0.1,
            warmup_calls=1,
            clock=scaled.clock,
            sleep=scaled.sleep,
        )


def _driven(memory_tmp_path, watts: float):
    fake = build_fake_powercap(memory_tmp_path, "intel-1s")
    return fake, PowerDriver(fake.zone("package-0").directory / "energy_uj", watts=watts)


def test_a_clock_that_stretches_windows_does_not_refuse_a_live_counter(memory_tmp_path):
    """20 W for real; the clock says every window lasted 100 times longer, i.e. 0.2 W, which is below the
    busy floor. The meter timed its own reads, saw 20 W, and the measurement goes ahead."""
    fake, driver = _driven(memory_tmp_path, watts=20.0)
    with driver:
        result = _measure_at(fake.root, ScaledTime(100.0), windows=3)
    assert result.provenance == "measured"
    for window in result.windows:
        clock_watts = window.joules["package-0"] / window.seconds
        meter_watts = window.joules["package-0"] / window.meter_seconds
        assert clock_watts < BUSY_FLOOR_WATTS  # what a check on the injected clock would have refused
        assert meter_watts == pytest.approx(20.0, rel=0.5)  # loose: the driver is a separate process on a shared host
        assert window.seconds == pytest.approx(100.0 * window.meter_seconds, rel=0.5)


def test_a_clock_that_shrinks_windows_cannot_pass_a_counter_below_the_busy_floor(memory_tmp_path):
    """0.35 W for real (below the 0.5 W a busy package draws); the clock says windows lasted half as long,
    i.e. 0.7 W, which would pass. The meter's own time shows 0.35 W: refused."""
    fake, driver = _driven(memory_tmp_path, watts=0.35)
    with driver, pytest.raises(MeterError) as info:
        _measure_at(fake.root, ScaledTime(0.5))
    message = str(info.value)
    assert "window 1 of 2" in message and "the work window" in message
    assert f"below the {BUSY_FLOOR_WATTS} W a busy CPU package draws" in message


def test_a_clock_that_stretches_windows_cannot_pass_a_counter_above_the_ceiling(memory_tmp_path):
    """1,500 W for real (a missed wrap or a wrong unit would look like this); the clock says windows lasted
    twice as long, i.e. 750 W, which would pass. The meter's own time shows 1,500 W: refused."""
    fake, driver = _driven(memory_tmp_path, watts=1500.0)
    with driver, pytest.raises(MeterError) as info:
        _measure_at(fake.root, ScaledTime(2.0))
    assert f"above the {CEILING_WATTS:.0f} W no CPU package draws" in str(info.value)
