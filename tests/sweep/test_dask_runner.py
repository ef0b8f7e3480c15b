"""The Dask runner (lstm_energy.sweep.dask_runner) on real LocalClusters of this one machine.

Distinct hosts are injected per worker with LSTM_ENERGY_FAKE_HOSTS (lstm_energy.machine.identity);
meters are the simulated one (and the model estimator for a host whose ``auto`` would give it).
Workers get 2 threads each so only the ``rapl=1`` resource keeps two measurements of one host apart,
and the host lock is off so it cannot hide a scheduling mistake.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from lstm_energy.errors import ConfigError  # noqa: E402
from lstm_energy.results import config_key, load_records  # noqa: E402
from lstm_energy.sweep import expand, override, run_sweep  # noqa: E402
from lstm_energy.sweep.dask_runner import (  # noqa: E402
    MODES,
    RESOURCE,
    Worker,
    check_resume_workers,
    probe_scheduler,
    run_dask_sweep,
    usable_workers,
)

#: the repository root: workers and children import this checkout's lstm_energy from any cwd
REPO = Path(__file__).resolve().parents[2]
from lstm_energy.sweep.grid import Grid  # noqa: E402

FAKE_HOSTS = {
    "0": {"hostname": "fake-icelake", "machine_id": "aaaa0000", "cpu": {"microarchitecture": "Ice Lake"}},
    "1": {"hostname": "fake-zen4", "machine_id": "bbbb1111", "cpu": {"microarchitecture": "Zen 4"}, "meter": "model"},
}
PROTOCOL = {"windows": 2, "min_window_seconds": 0.03, "warmup_calls": 1}


def tiny_configs(cells=("lstm", "gru", "rnn"), phases=("forward",)):
    grid = override(
        Grid(protocol=PROTOCOL),
        {"cells": list(cells), "impls": "numpy", "phases": list(phases), "batch": 2, "seq_len": 4},
    )
    grid = override(grid, {"input_size": 8, "hidden_size": 8})
    return expand(grid)[0]


def cluster(fake_hosts=FAKE_HOSTS, threads=2):
    env = {"LSTM_ENERGY_HOST_LOCK": "off", "PYTHONPATH": str(REPO)}
    if fake_hosts is not None:
        env["LSTM_ENERGY_FAKE_HOSTS"] = json.dumps(fake_hosts)
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=threads,
        processes=True,
        resources={RESOURCE: 1},
        dashboard_address=":0",
        silence_logs=50,
        env=env,
    )


@pytest.fixture(scope="module")
def client():
    with cluster() as c, distributed.Client(c) as cl:
        yield cl


def by_host(records):
    out = {}
    for r in records:
        out.setdefault(r["host"]["hostname"], []).append(r)
    return out


def test_every_host_measures_each_point_on_each_host_without_overlapping_windows(client, tmp_path):
    configs = tiny_configs(phases=("forward", "train"))
    out = tmp_path / "fleet.jsonl"
    summary = run_dask_sweep(configs, out, client=client, mode="every-host", meter="simulated", protocol=PROTOCOL)
    assert summary.failed == [] and summary.measured == 2 * len(configs)
    loaded = load_records(out)
    assert loaded.problems == []
    hosts = by_host(loaded.records)
    assert set(hosts) == {"fake-icelake", "fake-zen4"}
    wanted = sorted(config_key(c.as_record()) for c in configs)
    for name, records in hosts.items():
        assert sorted(config_key(r["config"]) for r in records) == wanted
        # one measurement at a time per host: every window ends before the next one of that host starts
        spans = sorted(span for r in records for span in r["time"]["window_spans"])
        assert len(spans) == PROTOCOL["windows"] * len(configs)
        assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:])), name
    # each host's own meter, provenance labelled: fake-zen4's "auto" is the estimator
    assert {r["energy"]["provenance"] for r in hosts["fake-icelake"]} == {"simulated"}
    assert {(r["energy"]["provenance"], r["energy"]["meter"]["name"]) for r in hosts["fake-zen4"]} == {
        ("estimated", "model")
    }
    sample = hosts["fake-zen4"][0]["host"]
    assert sample["machine_id"] == "bbbb1111" and sample["cpu"]["microarchitecture"] == "Zen 4"
    assert sample["source"].startswith("injected by LSTM_ENERGY_FAKE_HOSTS")


def test_spread_writes_the_in_process_records_plus_the_host(client, tmp_path):
    configs = tiny_configs()
    fleet, local = tmp_path / "fleet.jsonl", tmp_path / "local.jsonl"
    run_dask_sweep(configs, fleet, client=client, meter="simulated", protocol=PROTOCOL)
    run_sweep(configs, local, meter="simulated", protocol=PROTOCOL)
    fleet_records, local_records = load_records(fleet).records, load_records(local).records
    assert sorted(config_key(r["config"]) for r in fleet_records) == sorted(
        config_key(r["config"]) for r in local_records
    )
    for f, loc in zip(
        sorted(fleet_records, key=lambda r: config_key(r["config"])),
        sorted(local_records, key=lambda r: config_key(r["config"])),
    ):
        assert f["config"] == loc["config"] and f["schema_version"] == loc["schema_version"]
        assert set(f) - {"host"} == set(loc) and "host" in f and "host" not in loc
        assert set(f["time"]) == set(loc["time"]) and set(f["energy"]) == set(loc["energy"])
    # resume in spread mode: nothing left to do, nothing appended
    again = run_dask_sweep(configs, fleet, client=client, meter="simulated", protocol=PROTOCOL, resume=True)
    assert again.resumed == len(configs) and again.measured == 0
    assert len(load_records(fleet).records) == len(configs)


def test_a_resume_whose_workers_use_another_meter_than_the_file_is_refused(client, tmp_path):
    # the review's repro: in-process simulated records (no host block), resumed on a cluster where a
    # host's meter is the estimator: refused like the in-process runner, before anything is measured
    configs = tiny_configs()
    out = tmp_path / "mix.jsonl"
    run_sweep(configs[:1], out, meter="simulated", protocol=PROTOCOL)
    before = out.read_text()
    with pytest.raises(ConfigError) as refused:
        run_dask_sweep(configs, out, client=client, meter="simulated", protocol=PROTOCOL, resume=True)
    message = str(refused.value)
    assert "holds records made by: 1 simulated (meter simulated)" in message
    assert "(host fake-zen4) is 'model' (estimated): resuming would mix them" in message
    assert out.read_text() == before


def _worker(host, meter):
    identity = {"name": meter, "provenance": {"model": "estimated", "simulated": "simulated"}[meter]}
    return Worker(
        f"tcp://{host}:1",
        {"hostname": host, "machine_id": host, "package": "0"},
        {**identity, "error": None, "identity": identity},
        1.0,
    )


def _record(host, meter):
    provenance = {"model": "estimated", "simulated": "simulated"}[meter]
    record = {"config": {}, "energy": {"provenance": provenance, "meter": {"name": meter, "provenance": provenance}}}
    if host is not None:
        record["host"] = {"hostname": host, "machine_id": host, "package": "0"}
    return record


def test_every_host_resume_compares_each_host_with_its_own_records():
    records = [_record("a", "simulated"), _record("b", "model")]
    check_resume_workers(records, "f.jsonl", [_worker("a", "simulated"), _worker("b", "model")], "every-host")
    with pytest.raises(
        ConfigError, match=r"'f.jsonl', in its records of host b, holds records made by: 1 estimated \(meter model\)"
    ):
        check_resume_workers(records, "f.jsonl", [_worker("a", "simulated"), _worker("b", "simulated")], "every-host")
    # records of an unknown host (an in-process sweep's) must match every worker
    with pytest.raises(ConfigError, match=r"worker tcp://b:1 \(host b\) is 'model'"):
        check_resume_workers([_record(None, "simulated")], "f.jsonl", [_worker("b", "model")], "every-host")
    # spread: a host new to the file joins with its own meter, and the notes say so
    notes = []
    check_resume_workers([_record("a", "simulated")], "f.jsonl", [_worker("c", "model")], "spread", notes)
    assert "made none of the records in 'f.jsonl'" in notes[0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "meter, refused_in",
    [("model", "in its records of host a,"), ("simulated", "in its records of no recorded host")],
)
def test_a_worker_must_match_both_its_hosts_records_and_the_hostless_ones(mode, meter, refused_in):
    # host a's records are simulated, an in-process sweep's (no host) model: matching either is not enough
    records = [_record("a", "simulated"), _record(None, "model")]
    with pytest.raises(ConfigError, match=rf"'f.jsonl', {refused_in}.* worker tcp://a:1 \(host a\) is '{meter}'"):
        check_resume_workers(records, "f.jsonl", [_worker("a", meter)], mode, [])


def test_two_workers_on_one_host_are_refused():
    with cluster(fake_hosts=None, threads=1) as c, distributed.Client(c) as cl:  # both really on this machine
        with pytest.raises(ConfigError, match=r"both claim host .*overlap on one CPU package"):
            run_dask_sweep(tiny_configs(), "/nonexistent/never-written.jsonl", client=cl, meter="simulated")


def test_require_measured_leaves_out_estimating_hosts_and_says_why():
    def worker(name, provenance):
        return Worker(f"tcp://{name}:1", {"hostname": name, "machine_id": name, "package": "0"}, provenance, 1.0)

    notes = []
    measured = worker("a", {"name": "powercap", "provenance": "measured", "error": None})
    estimated = worker("b", {"name": "model", "provenance": "estimated", "error": None})
    assert usable_workers([measured, estimated], require_measured=True, notes=notes) == [measured]
    assert "left out by --require-measured" in notes[0] and "model is estimated" in notes[0]
    assert usable_workers([measured, estimated], require_measured=False, notes=[]) == [measured, estimated]
    with pytest.raises(ConfigError, match="no worker can take measurements"):
        usable_workers([estimated], require_measured=True, notes=[])
    tokenless = Worker("tcp://c:1", {"hostname": "c", "machine_id": "c", "package": "0"}, measured.meter, 0.0)
    notes = []
    assert usable_workers([tokenless, measured], require_measured=False, notes=notes) == [measured]
    assert "no rapl=1 resource" in notes[0]


def test_a_worker_killed_mid_task_loses_only_that_task(tmp_path):
    configs = tiny_configs(phases=("forward", "train"))
    out = tmp_path / "fleet.jsonl"
    protocol = {"windows": 3, "min_window_seconds": 0.08, "warmup_calls": 1}
    with cluster() as c, distributed.Client(c) as cl:
        pids = cl.run(os.getpid)
        killed = []

        def kill_one_busy_worker():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not killed:
                busy = [a for a, keys in cl.processing().items() if keys and a in pids]
                if busy and out.exists() and out.read_text().count("\n") >= 1:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(busy[0])
                time.sleep(0.02)

        killer = threading.Thread(target=kill_one_busy_worker)
        killer.start()
        summary = run_dask_sweep(configs, out, client=cl, meter="simulated", protocol=protocol, retries=2)
        killer.join()
    assert killed, "the test never caught a worker mid-task"
    assert summary.failed == []
    keys = [config_key(r["config"]) for r in load_records(out).records]
    assert sorted(keys) == sorted(config_key(c.as_record()) for c in configs)  # complete, nothing twice


def _cli(out, *extra, env):
    main = "import sys; from lstm_energy.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", main, "sweep", "--cells", "lstm,gru,rnn", "--impls", "numpy"] + [
        "--phases",
        "forward,train",
        "--batch",
        "2",
        "--seq-len",
        "4",
        "--input-size",
        "8",
        "--hidden-size",
        "8,16",
        "--meter",
        "simulated",
        "--local-cluster",
        "2",
        "-o",
        str(out),
        *extra,
    ]


def test_resume_completes_the_grid_after_the_client_is_killed(tmp_path):
    out = tmp_path / "fleet.jsonl"
    env = dict(os.environ, LSTM_ENERGY_FAKE_HOSTS=json.dumps(FAKE_HOSTS), PYTHONPATH=str(REPO))
    first = subprocess.Popen(
        _cli(out, env=env), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (out.exists() and out.read_text().count("\n") >= 2):
            assert first.poll() is None, first.stderr.read().decode()[-2000:]
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the client and the LocalCluster it started
        first.wait(timeout=30)
    written = [line for line in out.read_text().splitlines() if line.strip()]
    assert 2 <= len(written) < 12
    second = subprocess.run(_cli(out, "--resume", env=env), env=env, capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "already in the file" in second.stderr
    lines = Path(out).read_text().splitlines()
    assert lines[: len(written)] == written  # what was written before the kill is untouched
    records = load_records(out).records
    keys = [config_key(r["config"]) for r in records]
    assert len(keys) == 12 and len(set(keys)) == 12


def test_a_scheduler_address_where_nothing_listens_fails_fast_saying_so():
    start = time.monotonic()
    with pytest.raises(ConfigError) as refused:
        run_dask_sweep(tiny_configs(), "/nonexistent/x.jsonl", scheduler="tcp://127.0.0.1:1", connect_timeout=2)
    assert time.monotonic() - start < 10
    assert str(refused.value) == (
        "Dask scheduler 'tcp://127.0.0.1:1': nothing listens on 127.0.0.1:1; start `dask scheduler` there or "
        "check the address"
    )


@pytest.mark.parametrize(
    "address, seen",
    [
        ("foo", "got 'foo' (missing port number"),
        ("tcp://127.0.0.1", "got 'tcp://127.0.0.1' (missing port number"),
        ("http://127.0.0.1:8799", "scheme 'http'"),
        ("tcp://127.0.0.1:0", "port out of 1-65535"),
        ("tls://127.0.0.1:8799", "no TLS configuration"),
    ],
)
def test_a_malformed_scheduler_address_is_refused_before_connecting(address, seen):
    import dask

    no_tls = {f"distributed.comm.tls.{k}": None for k in ("ca-file", "client.cert", "client.key")}
    with (
        dask.config.set(no_tls),
        pytest.raises(ConfigError, match=re.escape(seen)) as refused,
    ):  # whatever this host's Dask TLS config
        run_dask_sweep(tiny_configs(), "/nonexistent/x.jsonl", scheduler=address, connect_timeout=30)
    assert "\n" not in str(refused.value)
    assert address.startswith("tls") or "expected tcp://HOST:PORT" in str(refused.value)


@pytest.mark.parametrize("on_scheduler_port", [False, True])
def test_a_listener_that_is_no_scheduler_fails_within_the_deadline_with_the_port_hint(monkeypatch, on_scheduler_port):
    from lstm_energy.sweep import dask_runner

    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers (like an HTTP port waiting)
    if on_scheduler_port:  # as if it listened on 8786: then it is no dashboard, and no hint says so
        monkeypatch.setattr(dask_runner, "SCHEDULER_PORT", silent.getsockname()[1])
    accepted = []
    threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()
    outcome = []

    def sweep():
        try:
            run_dask_sweep(
                tiny_configs(),
                "/nonexistent/x.jsonl",
                scheduler=f"tcp://127.0.0.1:{silent.getsockname()[1]}",
                connect_timeout=1,
            )
        except ConfigError as err:
            outcome.append(err)

    start = time.monotonic()
    runner = threading.Thread(target=sweep, daemon=True)  # a hang fails the test instead of stalling the suite
    runner.start()
    runner.join(timeout=20)
    try:
        assert not runner.is_alive(), "still connecting after 20 s"
        assert time.monotonic() - start < 10
        assert outcome and "did not answer within 1 s" in str(outcome[0])
        assert ("dashboard" not in str(outcome[0])) is on_scheduler_port
    finally:
        silent.close()
        for conn, _ in accepted:
            conn.close()


def test_the_probe_knows_a_scheduler_from_a_worker_and_the_dashboard():
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
    ) as c:
        assert probe_scheduler(c.scheduler_address, deadline=5)["type"] == "Scheduler"
        worker = next(iter(c.scheduler_info["workers"]))
        with pytest.raises(ConfigError, match=r"answered, but not as a Dask scheduler \(it says it is 'Worker'\)"):
            probe_scheduler(worker, deadline=5)
        dashboard = f"tcp://127.0.0.1:{urllib.parse.urlparse(c.dashboard_link).port}"
        with pytest.raises(ConfigError, match=r"not the dashboard's \(8787\)"):
            probe_scheduler(dashboard, deadline=1)


def test_without_the_extra_the_flags_name_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # what `import distributed` sees when it is not installed
    with pytest.raises(ConfigError, match=r"lstm_energy\[distributed\]"):
        run_dask_sweep(tiny_configs(), "/nonexistent/x.jsonl", local_cluster=1)


def test_a_worker_reopens_its_meter_after_a_meter_error():
    # measure_task drops a worker's cached meter on a MeterError; the next task opens a fresh one
    from lstm_energy.sweep import dask_runner

    first = dask_runner._worker_meter("simulated")
    assert dask_runner._worker_meter("simulated") is first  # cached between tasks
    dask_runner._drop_worker_meter("simulated")
    assert "simulated" not in dask_runner._WORKER_METERS
    assert dask_runner._worker_meter("simulated") is not first
    dask_runner._drop_worker_meter("simulated")
    dask_runner._drop_worker_meter("simulated")  # nothing cached: nothing to do
