"""Training-run energy: one work window and an idle window of equal length, checked and locked like the
protocol's windows; FLOPs from the cost model."""

import contextlib
import time

import pytest

from lstm_energy.errors import MeterError
from lstm_energy.forecast.energy import Work, forecast_work, head_work, measure_run, training_work
from lstm_energy.forecast.model import ModelConfig
from lstm_energy.measure.host_lock import Held
from lstm_energy.measure.work import work_per_call
from lstm_energy.meters import PowercapMeter
from lstm_energy.testing import build_fake_powercap


class FakeClock:
    """Time moves only when the code under test runs work or sleeps."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_training_run_total_idle_and_dynamic_joules(meter_factory):
    clock = FakeClock()
    meter = meter_factory(idle_watts=3.0, joules_per_flop=1e-6, clock=clock)

    def run():
        clock.now += 4.0  # the "training" takes 4 s
        return "history"

    result, m = measure_run(run, meter, work=Work(5e6, 0.0), clock=clock, sleep=clock.sleep)
    assert result == "history"
    (window,) = m.windows
    assert window.seconds == 4.0 and window.idle_seconds == 4.0  # idle baseline of equal length
    assert m.total_joules_per_call.median == pytest.approx(3.0 * 4 + 5.0)
    assert m.joules_per_call.median == pytest.approx(5.0)  # dynamic: the work's own joules only
    assert m.idle_watts == pytest.approx(3.0)
    assert m.provenance == "simulated"
    assert any("simulated, not measured" in w for w in m.warnings)
    # one run is one window by design: no advice to measure five windows of it
    assert not any("1 window" in w for w in m.warnings)


def test_training_work_adds_every_step_head_and_optimizer():
    config = ModelConfig("gru", 8, num_layers=2)
    recurrent = {b: work_per_call("gru", b, 12, 1, 8, num_layers=2, phase="train", dtype="float32") for b in (32, 5)}
    # head on F=8 features, float32: forward 2F+1 and backward 4F+1 FLOPs a row
    head_flops = {b: b * (17 + 33) for b in (32, 5)}
    got = training_work(config, seq_len=12, batch_sizes=[32, 32, 5], parameters=100)
    expected_flops = (
        2 * (recurrent[32].total_flops + head_flops[32]) + recurrent[5].total_flops + head_flops[5] + 3 * 100 * 15
    )
    assert got.flops == pytest.approx(expected_flops)
    assert got.bytes > 2 * recurrent[32].expected_bytes + recurrent[5].expected_bytes + 3 * 100 * 4 * 10 - 1
    one = forecast_work(config, batch=7, seq_len=12)
    assert one.flops == pytest.approx(work_per_call("gru", 7, 12, 1, 8, num_layers=2).total_flops + 7 * 17)


def test_bidirectional_head_reads_both_directions():
    assert head_work(ModelConfig("lstm", 8, bidirectional=True), batch=1, phase="forward").flops == 2 * 16 + 1


def test_work_adds_and_scales():
    assert Work(2, 3) + Work(1, 1) == Work(3, 4)
    assert Work(2, 4) * 0.5 == Work(1, 2)


# ------------------------------------------------------------------ a measured counter must count in the run
def _fake_counter(tmp_path):
    """A fake powercap package counter that moves only when a test advances it (no process drives it)."""
    fake = build_fake_powercap(tmp_path, "intel-1s")
    return fake, PowercapMeter(root=fake.root, background_sampling=False)


def test_a_counter_that_stalls_during_the_run_is_refused(tmp_path):
    fake, meter = _fake_counter(tmp_path)
    clock = FakeClock()

    def idle(seconds):
        clock.sleep(seconds)
        fake.advance("package-0", 5.0 * seconds)  # the idle twin counts; the run did not

    def run():
        clock.now += 4.0

    with meter, pytest.raises(MeterError, match=r"window 1 of 1.*the work window.*did not advance: 0 J"):
        measure_run(run, meter, work=Work(0, 0), clock=clock, sleep=idle)


#: real seconds the runs below last: the meter judges power on its own read times, so the counter is
#: advanced for a span of real time (a fake clock would leave the meter's time at ~0 s)
RUN_SECONDS = 0.05


def _run_at(fake, watts):
    """A run lasting RUN_SECONDS of real time while the fake package counter advances at ``watts``."""

    def run():
        time.sleep(RUN_SECONDS)
        fake.advance("package-0", watts * RUN_SECONDS)

    return run


def _idle_at(fake, watts):
    def idle(seconds):
        time.sleep(seconds)
        fake.advance("package-0", watts * seconds)

    return idle


def test_a_counter_at_milliwatts_is_refused(tmp_path):
    """0.1 W during the run: no CPU package with a working core draws that; never stored as measured."""
    fake, meter = _fake_counter(tmp_path)
    with meter, pytest.raises(MeterError, match=r"the work window.*below the 0.5 W a busy CPU package draws"):
        measure_run(_run_at(fake, 0.1), meter, work=Work(0, 0), sleep=_idle_at(fake, 5.0))


def test_a_counting_meter_is_measured(tmp_path):
    fake, meter = _fake_counter(tmp_path)
    with meter:
        _, m = measure_run(_run_at(fake, 30.0), meter, work=Work(0, 0), sleep=_idle_at(fake, 5.0))
    assert m.provenance == "measured"
    (window,) = m.windows
    assert RUN_SECONDS <= window.meter_seconds < RUN_SECONDS + 1.0  # the meter timed its own reads
    assert m.total_joules_per_call.median == pytest.approx(30.0 * RUN_SECONDS, abs=1e-4)  # what it counted (µJ steps)
    assert 0 < m.joules_per_call.median < m.total_joules_per_call.median  # the idle twin's share taken off


def test_a_clock_that_stretches_the_run_does_not_refuse_a_live_counter(tmp_path):
    """30 W for real; an injected clock says the run lasted 100 times longer (0.3 W, below the busy
    floor). Power is judged on the meter's own read times, so the run is measured."""
    fake, meter = _fake_counter(tmp_path)
    with meter:
        _, m = measure_run(
            _run_at(fake, 30.0),
            meter,
            work=Work(0, 0),
            clock=lambda: 100.0 * time.perf_counter(),
            sleep=lambda seconds: _idle_at(fake, 5.0)(seconds / 100.0),
        )
    assert m.provenance == "measured"


class RecordingLock:
    """A host lock that records whether it is held (injected as ``host_lock``)."""

    def __init__(self):
        self.holding = False
        self.taken = 0

    @contextlib.contextmanager
    def held(self):
        self.holding, self.taken = True, self.taken + 1
        try:
            yield Held(wait_seconds=1.5, path="/run/lock/recording")
        finally:
            self.holding = False


def test_the_run_and_its_idle_twin_hold_the_host_lock(meter_factory):
    clock = FakeClock()
    lock = RecordingLock()
    seen = []
    meter = meter_factory(idle_watts=3.0, clock=clock)

    def run():
        seen.append(("run", lock.holding))
        clock.now += 1.0

    def idle(seconds):
        seen.append(("idle", lock.holding))
        clock.sleep(seconds)

    _, m = measure_run(run, meter, work=Work(0, 0), clock=clock, sleep=idle, host_lock=lock)
    assert seen == [("run", True), ("idle", True)] and lock.taken == 1 and not lock.holding
    assert m.lock_wait_seconds == 1.5  # the wait is reported, as protocol.measure reports it
