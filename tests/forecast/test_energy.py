"""Training-run energy: one work window and an idle window of equal length; FLOPs from the cost model."""

import pytest

from lstm_energy.forecast.energy import Work, forecast_work, head_work, measure_run, training_work
from lstm_energy.forecast.model import ModelConfig
from lstm_energy.measure.work import work_per_call


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
