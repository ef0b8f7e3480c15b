"""The host-wide measurement lock (lstm_energy.measure.host_lock): two real processes never measure at
once, the second waits and says so (or fails at once without waiting), a killed holder never blocks,
and each record says how long it waited and when its windows ran."""

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lstm_energy.errors import HostBusyError
from lstm_energy.measure import host_lock
from lstm_energy.measure.host_lock import HostLock, NoLock, lock_from_environment

#: one measurement under a simulated meter, printed as its record's time block (one JSON line)
#: the repository root: children import this checkout's lstm_energy wherever pytest was started from
REPO = Path(__file__).resolve().parents[2]

MEASURE_ONE = textwrap.dedent(
    """
    import json, sys
    from lstm_energy.measure import measure
    from lstm_energy.meters.simulated import SimulatedMeter
    from lstm_energy.records import time_block

    def work():
        sum(i * i for i in range(2000))

    m = measure(work, SimulatedMeter(), windows=3, min_window_seconds=0.08, warmup_calls=2)
    print(json.dumps(time_block(m)), flush=True)
    """
)


def _env(lock_path, **extra):
    env = dict(os.environ, LSTM_ENERGY_HOST_LOCK=str(lock_path), PYTHONPATH=str(REPO))
    env.update(extra)
    return env


def test_two_processes_never_measure_at_once_and_the_second_says_it_waited(tmp_path):
    lock = tmp_path / "host.lock"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MEASURE_ONE],
            env=_env(lock),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    blocks = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    spans = [b["window_spans"] for b in blocks]
    assert all(len(s) == 3 and all(end > start for start, end in s) for s in spans)
    first, second = sorted(range(2), key=lambda i: spans[i][0][0])
    # every window of the later process starts after the last window of the earlier one ended
    assert spans[second][0][0] >= spans[first][-1][1]
    # the later one waited (both start together; the earlier one's 3 x (work + idle) windows last >= 0.48 s,
    # less however much longer the later one took to start) and said so
    assert blocks[second]["lock_wait_seconds"] > 0.1
    assert "waiting: another lstm-energy process" in outputs[second][1]
    assert blocks[first]["lock_wait_seconds"] < blocks[second]["lock_wait_seconds"]


def test_a_killed_holder_never_blocks_the_next_run(tmp_path):
    lock = tmp_path / "host.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom lstm_energy.measure.host_lock import HostLock\n"
            f"with HostLock({str(lock)!r}).held():\n    print('held', flush=True)\n    time.sleep(60)\n",
        ],
        env=_env(lock),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(HostBusyError, match=rf"pid {holder.pid}"):
            with HostLock(lock, wait=False).held():
                pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    # wait=False raises HostBusyError on a held lock instead of waiting, so getting it proves the dead
    # holder's lock was dropped; the injected stream proves no wait was announced either
    stream = io.StringIO()
    with HostLock(lock, wait=False, stream=stream).held() as held:
        assert held.path == str(lock)
    assert stream.getvalue() == ""


def test_no_wait_fails_at_once_with_the_reason_and_the_fix(tmp_path):
    lock = tmp_path / "host.lock"
    with HostLock(lock).held():  # held for the whole child run: a child that waited would never finish
        result = subprocess.run(
            [sys.executable, "-c", MEASURE_ONE],
            env=_env(lock, LSTM_ENERGY_HOST_LOCK_WAIT="0"),
            capture_output=True,
            text=True,
            timeout=120,  # only a guard against a hang (a waiting child); the assertions are on what it said
        )
    assert result.returncode != 0
    assert "HostBusyError" in result.stderr and f"pid {os.getpid()}" in result.stderr
    assert "drop --no-wait" in result.stderr
    assert "waiting:" not in result.stderr  # it failed at once instead of queueing


def test_waiter_reports_the_wait_once_and_gets_the_lock_when_released(tmp_path):
    import threading

    lock = tmp_path / "host.lock"
    stream = io.StringIO()
    holding, release = threading.Event(), threading.Event()

    def hold():
        with HostLock(lock).held():
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)  # flock locks are per open file description, so a second open in this process contends
    threading.Timer(0.3, release.set).start()
    with HostLock(lock, stream=stream, poll_seconds=0.01).held() as held:
        assert release.is_set()  # got the lock only once the holder let go
        assert held.wait_seconds > 0
    holder.join()
    assert stream.getvalue().count("waiting:") == 1


def test_environment_turns_the_lock_off_or_points_it_elsewhere(tmp_path):
    assert isinstance(lock_from_environment({"LSTM_ENERGY_HOST_LOCK": "off"}), NoLock)
    lock = lock_from_environment({"LSTM_ENERGY_HOST_LOCK": str(tmp_path / "x.lock"), "LSTM_ENERGY_HOST_LOCK_WAIT": "0"})
    assert isinstance(lock, HostLock) and lock.path == tmp_path / "x.lock" and lock.wait is False
    default = lock_from_environment({})
    assert default.path == host_lock.default_lock_path() and default.wait is True
    assert default.path.name == host_lock.LOCK_NAME
    assert os.access(default.path.parent, os.W_OK)
    with pytest.raises(TypeError, match="host_lock must be"):
        host_lock.resolve("yes")
