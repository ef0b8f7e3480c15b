"""measure() and profile() take the host lock before anything that loads the CPU or changes the
process's thread pools: opening a measured meter runs a 50 ms busy load (its liveness proof), and
pinning changes the process-wide BLAS pool; either, done outside the lock, lands inside the running
measurement of another thread or process. And the record states the BLAS thread count in force."""

import importlib
from contextlib import contextmanager

import pytest

from lstm_energy.measure import host_lock as host_lock_module
from lstm_energy.measure import profile
from lstm_energy.measure.host_lock import Held
from lstm_energy.measure.protocol import measure
from lstm_energy.meters.simulated import SimulatedMeter

# the modules (the package's names ``profile`` and ``environment`` are the functions)
profile_module = importlib.import_module("lstm_energy.measure.profile")
environment_module = importlib.import_module("lstm_energy.measure.environment")
SMALL = dict(batch=2, seq_len=3, input_size=4, hidden_size=4, impl="numpy")
FAST = dict(windows=2, min_window_seconds=0.01)


def fast_meter():
    return SimulatedMeter(idle_watts=10.0, cpu_watts=20.0, dram_watts=2.0, update_interval_seconds=1e-4)


class RecordingLock:
    def __init__(self, events):
        self.events = events

    @contextmanager
    def held(self):
        self.events.append("lock")
        try:
            yield Held(0.25, None)
        finally:
            self.events.append("unlock")


def recording_opened_meter(events):
    @contextmanager
    def opened(meter, **options):
        events.append("open")  # a measured backend runs its 50 ms liveness load here
        try:
            yield fast_meter()
        finally:
            events.append("close")

    return opened


def test_measure_takes_the_host_lock_before_it_opens_the_meter(monkeypatch):
    events = []
    monkeypatch.setattr("lstm_energy.measure.protocol.opened_meter", recording_opened_meter(events))
    result = measure(lambda: None, "some-meter", host_lock=RecordingLock(events), **FAST)
    assert events == ["lock", "open", "close", "unlock"]
    assert result.lock_wait_seconds == 0.25


def test_profile_takes_the_host_lock_before_the_meter_and_the_thread_pinning(monkeypatch):
    events = []
    monkeypatch.setattr(host_lock_module, "lock_from_environment", lambda environ=None: RecordingLock(events))
    monkeypatch.setattr(profile_module, "opened_meter", recording_opened_meter(events))

    @contextmanager
    def pinned(threads, *, torch_too=False):
        events.append("pin")
        try:
            yield {"threads": threads, "torch_threads": None}
        finally:
            events.append("unpin")

    monkeypatch.setattr(profile_module, "pinned_threads", pinned)
    r = profile("gru", **SMALL, meter="some-meter", threads=1, **FAST)
    assert events == ["lock", "open", "pin", "unpin", "close", "unlock"]  # one lock, held throughout
    assert r.measurement.lock_wait_seconds == 0.25


def test_profile_records_the_blas_threads_in_force_not_the_request(monkeypatch):
    """A BLAS pool that did not follow the pin (another thread changed the process-wide limit): the
    record says what ran, and a warning says it differs from what was asked for."""
    fake_pool = [{"user_api": "blas", "internal_api": "openblas", "num_threads": 3, "prefix": "libopenblas"}]
    monkeypatch.setattr(environment_module, "blas_libraries", lambda: [dict(e) for e in fake_pool])
    monkeypatch.setattr(host_lock_module, "lock_from_environment", lambda environ=None: host_lock_module.NoLock())
    r = profile("rnn", **SMALL, meter=fast_meter(), threads=1, **FAST)
    assert r.environment["blas_threads"] == 3
    assert any("threads=1 was asked for" in w and "3 threads" in w for w in r.warnings), r.warnings


@pytest.mark.parametrize("same_process", [True, False])
def test_a_waiter_is_told_whether_a_thread_of_its_own_process_holds_the_lock(tmp_path, same_process):
    import os

    from lstm_energy.errors import HostBusyError
    from lstm_energy.measure.host_lock import HostLock

    path = tmp_path / "lock"
    holder, waiter = HostLock(path), HostLock(path, wait=False)
    with holder.held():
        if not same_process:
            path.write_text(f"{os.getpid() + 100000}\n")  # as another process would have left it
        with pytest.raises(HostBusyError) as err:
            with waiter.held():
                pass
    text = str(err.value)
    if same_process:
        assert text.startswith("another thread of this process is measuring")
    else:
        assert text.startswith(f"another lstm-energy process (pid {os.getpid() + 100000})")
