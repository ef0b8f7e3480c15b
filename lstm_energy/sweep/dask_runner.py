"""The Dask runner: measure a sweep's points on a Dask distributed cluster, one file of records on the client.

The second runner beside ``local.run_sweep`` (same list of Config, same summary, same resume keys and
results writer). Needs the optional extra: ``pip install 'lstm_energy[distributed]'``.

Rules it enforces:

* one measurement at a time per CPU package: each task asks for the worker resource ``rapl=1``, and
  workers are started one per host (or per package) with ``dask worker SCHEDULER --nworkers 1
  --nthreads 1 --resources "rapl=1"``. Resources are per worker process, so before submitting
  anything every worker reports its host identity (``lstm_energy.machine.identity``) and two workers
  on one package are refused (ConfigError naming both), rather than measured into garbage.
* each task measures with its own host's meter (the ``auto`` rules, liveness included, through
  ``lstm_energy.meters.opened_meter``) and the record carries ``host`` (records.add_host_block);
  a worker whose meter is an estimate makes records labelled ``estimated``, or takes no task with
  ``require_measured``.
* the client appends each record as it arrives (``ResultsWriter``: flushed, fsynced); a point is
  written at most once; killing the client loses nothing already written and ``resume`` completes.
* a worker killed mid-task loses only that task: the scheduler reruns it elsewhere up to
  ``retries`` times (``distributed.scheduler.allowed-failures`` on a local cluster; an exception in
  the task is retried ``retries`` times too), then it is counted as failed with the reason.
* modes: ``spread`` (each point once, on whichever worker is free; resume key = configuration) and
  ``every-host`` (each point on every worker, pinned with ``workers=[address]``; resume key =
  configuration @ host). A pinned worker that leaves the cluster fails its remaining points (the
  reason says so; ``--resume`` measures them when it is back).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from lstm_energy.config import Config
from lstm_energy.errors import ConfigError
from lstm_energy.sweep.points import (
    SweepSummary,
    check_meter_name,
    check_output,
    discard_for_overwrite,
    done_host_keys,
    done_keys,
    host_point_key,
    protocol_settings,
    resumable_records,
)
from lstm_energy.sweep.progress import Progress

if TYPE_CHECKING:  # the meters are imported on the workers, when a task needs one
    from lstm_energy.meters.base import EnergyMeter

MODES = ("spread", "every-host")
#: the worker resource a measurement task holds (one per host or CPU package)
RESOURCE = "rapl"
EXTRA_HINT = "pip install 'lstm_energy[distributed]' (or pip install 'dask[distributed]')"


def require_distributed():
    """The ``distributed`` module, or ConfigError naming the extra that provides it."""
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            f"--scheduler and --local-cluster need Dask distributed, which is not installed; {EXTRA_HINT}"
        ) from None
    return distributed


# ------------------------------------------------------------------------------ on the workers


#: meters opened by this worker process, by name (liveness is checked once per worker, not per task)
_WORKER_METERS: dict[str, EnergyMeter] = {}


def _worker_name(worker=None):
    """This worker's name (LocalCluster numbers them 0, 1, ...): the key of the test host injection."""
    if worker is None:
        from distributed import get_worker

        worker = get_worker()
    return worker.name


def _worker_meter(name: str) -> EnergyMeter:
    from lstm_energy.meters import get_meter

    if name not in _WORKER_METERS:
        _WORKER_METERS[name] = get_meter(name)
    return _WORKER_METERS[name]


def _meter_name_here(meter: str, worker_name) -> str:
    """The meter this worker uses: the sweep's, unless the test injection names this host's own."""
    from lstm_energy.machine.identity import fake_override

    return str(fake_override(worker_name).get("meter") or meter)


def describe_worker(meter: str, dask_worker=None) -> dict:
    """(on a worker, through ``client.run``, which passes ``dask_worker``) This worker's host identity and
    its meter: name, provenance and ``identity`` (``meters.identity.meter_identity`` of its describe(), which a
    resume compares with the file's records), or why it does not open."""
    from lstm_energy.errors import LstmEnergyError
    from lstm_energy.machine.identity import host_identity
    from lstm_energy.meters.identity import meter_identity

    name = _worker_name(dask_worker)
    identity = host_identity(name)
    try:
        opened = _worker_meter(_meter_name_here(meter, name))
    except LstmEnergyError as err:
        return {"host": identity, "meter": {"name": meter, "provenance": None, "error": str(err), "identity": None}}
    return {
        "host": identity,
        "meter": {
            "name": opened.name,
            "provenance": opened.provenance,
            "error": None,
            "identity": meter_identity(opened.describe()),
        },
    }


def measure_task(config: dict, meter: str, protocol: dict, require_measured: bool) -> dict:
    """(on a worker) One point: ``{"record": ...}`` with the host block, or ``{"failed": reason}``.

    An LstmEnergyError (meter, shape, engine) is a result, not retried; anything else propagates so
    Dask retries it.
    """
    from lstm_energy.errors import LstmEnergyError, MeterError
    from lstm_energy.machine.identity import host_identity
    from lstm_energy.records import add_host_block
    from lstm_energy.sweep.points import point_measurer

    name = _worker_name()
    identity = host_identity(name)
    try:
        opened = _worker_meter(_meter_name_here(meter, name))
        if require_measured and opened.provenance != "measured":
            return {
                "failed": f"host {identity['hostname']} has no measured meter ({opened.name} is {opened.provenance})"
            }
        record = point_measurer(None)(Config.from_record(config), opened, protocol)
    except LstmEnergyError as err:
        if isinstance(err, MeterError):
            _drop_worker_meter(_meter_name_here(meter, name))
        return {"failed": f"on {identity['hostname']}: {err}"}
    return {"record": add_host_block(record, identity)}


def _drop_worker_meter(name: str) -> None:
    """Close and forget this worker's meter ``name`` after a MeterError: a meter whose sampler failed
    or which may have missed a wrap refuses every later read, so the next task opens it again (and
    proves again that it counts)."""
    broken = _WORKER_METERS.pop(name, None)
    if broken is not None:
        broken.close()


# ------------------------------------------------------------------------------ on the client


@dataclass(frozen=True)
class Worker:
    """A worker the sweep may use: its address, host identity, meter and resource count."""

    address: str
    host: dict
    meter: dict
    tokens: float


@contextmanager
def connected(
    *, scheduler: str | None, local_cluster: int | None, retries: int, connect_timeout: float
) -> Iterator[object]:
    """A Client to ``scheduler``, or to a new LocalCluster of ``local_cluster`` single-threaded workers
    with ``rapl=1`` each (closed on exit). ConfigError within ``connect_timeout`` s when nobody answers."""
    distributed = require_distributed()
    import dask

    if (scheduler is None) == (local_cluster is None):
        raise ConfigError("give exactly one of --scheduler tcp://HOST:8786 and --local-cluster N")
    with dask.config.set({"distributed.scheduler.allowed-failures": retries}):
        if local_cluster is not None:
            if local_cluster < 1:
                raise ConfigError(f"--local-cluster needs a number of workers >= 1, got {local_cluster}")
            cluster = distributed.LocalCluster(
                n_workers=local_cluster,
                threads_per_worker=1,
                processes=True,
                resources={RESOURCE: 1},
                dashboard_address=":0",
                silence_logs=40,
            )
            try:
                with distributed.Client(cluster) as client:
                    yield client
            finally:
                cluster.close()
            return
        assert scheduler is not None  # exactly one of the two, checked above
        probe_scheduler(scheduler, deadline=connect_timeout)
        try:
            client = distributed.Client(scheduler, timeout=connect_timeout)
        except (OSError, TimeoutError) as err:
            raise ConfigError(
                f"Dask scheduler {scheduler!r} did not answer within {connect_timeout:g} s ({type(err).__name__}); "
                "start one with `dask scheduler` on that host (port 8786) and check the address and firewall"
            ) from None
        with client:
            yield client


#: the address form --scheduler takes, and the hint a wrong port gets
EXPECTED_ADDRESS = "expected tcp://HOST:PORT (the scheduler's port, 8786 by default; tls://HOST:PORT with a TLS config)"
#: reruns of a point whose worker died or that raised, unless told (``run_dask_sweep``, ``--retries``)
DEFAULT_RETRIES = 2

#: the port `dask scheduler` listens on by default
SCHEDULER_PORT = 8786
PORT_HINT = "is this the scheduler's port (8786), not the dashboard's (8787)?"


def check_scheduler_address(address: str) -> str:
    """``address`` when it is a Dask scheduler address this client can dial (``distributed.comm``'s own
    parsing: scheme tcp, or tls with a TLS configuration; a host and a port 1-65535); else ConfigError
    saying what was expected and what was seen, before anything connects."""
    require_distributed()
    from distributed.comm import parse_address, parse_host_port
    from distributed.security import Security

    try:
        scheme, location = parse_address(str(address))
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as err:  # distributed's parsers say what is wrong with the text
        raise ConfigError(f"--scheduler {EXPECTED_ADDRESS}, got {address!r} ({err})") from None
    if scheme not in ("tcp", "tls"):
        raise ConfigError(
            f"--scheduler {EXPECTED_ADDRESS}, got {address!r} (scheme {scheme!r} is not a Dask comm this sweep dials)"
        )
    if not host or not 1 <= int(port) <= 65535:
        raise ConfigError(f"--scheduler {EXPECTED_ADDRESS}, got {address!r} (no host, or port out of 1-65535)")
    if scheme == "tls" and Security().get_connection_args("client").get("ssl_context") is None:
        raise ConfigError(
            f"--scheduler {address!r} is tls:// but Dask has no TLS configuration here (distributed.comm.tls.ca-file "
            "and client cert/key in the Dask config, or DASK_DISTRIBUTED__COMM__TLS__* variables); configure TLS, "
            "or use tcp://HOST:PORT"
        )
    return str(address)


def probe_scheduler(address: str, *, deadline: float) -> dict:
    """The identity of the Dask scheduler at ``address``, asked over Dask's own protocol within
    ``deadline`` seconds in all (TCP connect, handshake, reply): a listener that is no scheduler (the
    dashboard's HTTP port, any other server) is a ConfigError within the deadline (and at most 1 s more
    to tell "nothing listens" from "no answer"), never a hang."""
    import asyncio
    import time
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect, parse_address, parse_host_port
    from distributed.security import Security

    args = Security().get_connection_args("client")
    location = parse_address(address)[1]
    try:
        host, port = parse_host_port(location)
    except ValueError:  # an inproc:// address (a test's in-process cluster) has no host and port
        host, port = None, None

    async def exchange(comm):
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()

    async def identity():
        start = time.monotonic()
        # connect keeps its own timeout, so that a refused connection ends as one (not as the outer timeout)
        comm = await connect(address, timeout=deadline, **args)
        try:
            return await asyncio.wait_for(exchange(comm), max(deadline - (time.monotonic() - start), 0.01))
        finally:
            comm.abort()

    def ask():  # its own event loop, in its own thread: safe whatever loop the caller runs
        return asyncio.run(asyncio.wait_for(identity(), deadline + 1.0))  # + 1 s: only a safety net

    try:
        with ThreadPoolExecutor(1, thread_name_prefix="lstm-energy-probe") as pool:
            reply = pool.submit(ask).result()
    except Exception as err:  # noqa: BLE001 - whatever the peer did, the answer is: no scheduler there
        if _refused(err) or (
            host is not None and port is not None and _nothing_listens(host, port, min(deadline, 1.0))
        ):
            raise ConfigError(
                f"Dask scheduler {address!r}: nothing listens on {location}; start `dask scheduler` there or "
                "check the address"
            ) from None
        hint = f"{PORT_HINT} " if port != SCHEDULER_PORT else ""  # silent on the scheduler's own port: no hint
        raise ConfigError(
            f"Dask scheduler {address!r} did not answer within {deadline:g} s ({type(err).__name__}); {hint}"
            "Start one with `dask scheduler` on that host (port 8786) and check the address and firewall"
        ) from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        shown = reply.get("type") if isinstance(reply, dict) else type(reply).__name__
        raise ConfigError(
            f"{address!r} answered, but not as a Dask scheduler (it says it is {shown!r}); {PORT_HINT} "
            "Point --scheduler at the address `dask scheduler` prints (tcp://HOST:8786)"
        )
    return reply


def _refused(err: BaseException) -> bool:
    """True when ``err`` or an error it was raised from is a ConnectionRefusedError (Dask wraps it in a
    CommClosedError, then in an OSError saying it timed out)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _nothing_listens(host: str, port: int, deadline: float) -> bool:
    """True when a plain TCP connection to ``host:port`` is refused (asked only once Dask's connect
    failed, whose retries may end on a timeout that hides the refusal)."""
    import socket

    try:
        socket.create_connection((host, port), timeout=deadline).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


def cluster_workers(client, meter: str, *, wait_seconds: float) -> list[Worker]:
    """Every worker's identity and meter; waits up to ``wait_seconds`` for a first worker to join."""
    try:
        client.wait_for_workers(1, timeout=wait_seconds)
    except TimeoutError:
        raise ConfigError(
            f"no Dask worker joined the scheduler within {wait_seconds:g} s; start one per host with "
            f'`dask worker SCHEDULER --nworkers 1 --nthreads 1 --resources "{RESOURCE}=1"`'
        ) from None
    infos = client.run(describe_worker, meter)
    resources = {a: w.get("resources", {}) for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}
    return [
        Worker(address, info["host"], info["meter"], float(resources.get(address, {}).get(RESOURCE, 0)))
        for address, info in sorted(infos.items())
    ]


def usable_workers(workers: list[Worker], *, require_measured: bool, notes: list[str]) -> list[Worker]:
    """The workers that take tasks: holding a ``rapl`` token, meter open (measured when required), no
    two on one package (ConfigError naming both). Why a worker is left out goes into ``notes``."""
    from lstm_energy.machine.identity import shares_package

    usable = []
    for w in workers:
        name = f"worker {w.address} ({w.host.get('hostname')})"
        if w.tokens < 1:
            notes.append(f'{name} left out: it has no {RESOURCE}=1 resource (start it with --resources "{RESOURCE}=1")')
        elif w.meter.get("error"):
            notes.append(f"{name} left out: its meter does not open: {w.meter['error']}")
        elif require_measured and w.meter.get("provenance") != "measured":
            notes.append(
                f"{name} left out by --require-measured: its meter {w.meter.get('name')} is {w.meter.get('provenance')}"
            )
        else:
            usable.append(w)
    for i, a in enumerate(usable):
        for b in usable[i + 1 :]:
            if shares_package(a.host, b.host):
                raise ConfigError(
                    f"workers {a.address} and {b.address} both claim host {a.host.get('hostname')!r} (machine id "
                    f"{a.host.get('machine_id')}, package {a.host.get('package')} / {b.host.get('package')}): their "
                    "measurement windows would overlap on one CPU package. Run one worker per host (dask worker "
                    f'SCHEDULER --nworkers 1 --nthreads 1 --resources "{RESOURCE}=1"), or pin one per package with '
                    "taskset/numactl"
                )
    if not usable:
        raise ConfigError("no worker can take measurements: " + "; ".join(notes or ["the cluster has no workers"]))
    return usable


def check_resume_workers(
    records: list[dict], output, workers: list[Worker], mode: str, notes: list[str] | None = None
) -> None:
    """ConfigError unless the records a resume keeps were made by the meters the workers use now
    (``points.check_resume_description`` on each worker's reported meter identity), host by host:

    a worker's meter must be the one its own host's earlier records (their ``host`` block) were made
    with, and also the one that made the records without a host block (an in-process sweep's: host
    unknown, so every worker must match them); the two sets are checked each on its own, so matching
    one does not excuse differing from the other. A worker whose host made none of the file's records
    has nothing of its own to be compared with: in ``spread`` mode, when its meter made none of the
    file's records either, its points join records of other meters (each labelled, as a spread over
    unlike hosts does from the start), and ``notes`` says so; in ``every-host`` mode each host's points
    are its own."""
    from lstm_energy.machine.identity import host_key
    from lstm_energy.sweep.points import check_resume_description, made_by_meter, record_meter_identity

    priced = [r for r in records if record_meter_identity(r) is not None]
    hostless = [r for r in priced if not isinstance(r.get("host"), dict)]
    for w in workers:
        identity = w.meter.get("identity") or {"name": w.meter.get("name"), "provenance": w.meter.get("provenance")}
        whose = f"the meter of worker {w.address} (host {w.host.get('hostname')})"
        here = host_key(w.host)
        own = [r for r in priced if isinstance(r.get("host"), dict) and host_key(r["host"]) == here]
        check_resume_description(
            own, output, identity, whose=whose, scope=f", in its records of host {w.host.get('hostname')},"
        )
        check_resume_description(
            hostless,
            output,
            identity,
            whose=whose,
            scope=", in its records of no recorded host (an in-process sweep's),",
        )
        if mode != "spread" or notes is None or not priced or own or made_by_meter(priced, identity):
            continue
        notes.append(
            f"{whose}, {identity.get('name')} ({identity.get('provenance')}), made none of the records in "
            f"{str(output)!r}: its points join records of other meters there, each labelled with its own"
        )


def run_dask_sweep(
    configs: list[Config],
    output: str | os.PathLike,
    *,
    scheduler: str | None = None,
    local_cluster: int | None = None,
    client=None,
    mode: str = "spread",
    meter: str = "auto",
    protocol: dict | None = None,
    resume: bool = False,
    require_measured: bool = False,
    overwrite: bool = False,
    retries: int = DEFAULT_RETRIES,
    connect_timeout: float = 5.0,
    progress: Progress | None = None,
    log: TextIO | None = None,
) -> SweepSummary:
    """Measure each Config on the cluster and append its record (with ``host``) to ``output``.

    Exactly one of scheduler ("tcp://HOST:8786"), local_cluster (number of workers) and client (an
    open ``distributed.Client``, e.g. a test's). mode: "spread" | "every-host" (module docstring).
    meter: a meter name, opened on each worker. retries: bounded reruns of a task whose worker died
    or that raised. overwrite: an existing ``output`` is discarded once the workers' meters are usable
    (a refused run leaves the old records in place; with ``resume`` too, a ConfigError). Returns the SweepSummary (failed points with their reasons).
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(meter, str):
        raise ConfigError(f"the Dask runner opens the meter on each worker, so meter must be a name, got {meter!r}")
    check_meter_name(meter)
    if scheduler is not None:
        check_scheduler_address(scheduler)  # a malformed address is a usage error, before anything connects
    check_output(output, resume, overwrite)
    protocol = protocol_settings(protocol)  # refused here, before a cluster is started
    if resume:
        resumable_records(output)  # a file that is not sweep results, too
    log = log if log is not None else sys.stderr
    configs = [Config.from_record(c) for c in configs]
    if client is not None:
        return _run(
            client, configs, output, mode, meter, protocol, resume, require_measured, retries, progress, log, overwrite
        )
    with connected(
        scheduler=scheduler, local_cluster=local_cluster, retries=retries, connect_timeout=connect_timeout
    ) as opened:
        return _run(
            opened, configs, output, mode, meter, protocol, resume, require_measured, retries, progress, log, overwrite
        )


def _run(
    client, configs, output, mode, meter, protocol, resume, require_measured, retries, progress, log, overwrite=False
) -> SweepSummary:
    from distributed import wait

    from lstm_energy.machine.identity import host_key
    from lstm_energy.results import ResultsWriter, config_key

    summary = SweepSummary()
    workers = usable_workers(
        cluster_workers(client, meter, wait_seconds=30.0), require_measured=require_measured, notes=summary.notes
    )
    if resume:  # before anything is measured: the kept records' meters are the ones measuring now
        check_resume_workers(resumable_records(output), output, workers, mode, summary.notes)
    if overwrite:  # only now that the workers' meters are usable
        discard_for_overwrite(output)
    for w in workers:
        log.write(
            f"worker {w.address}: host {w.host['hostname']} ({host_key(w.host)}), "
            f"{w.host['cpu'].get('microarchitecture') or 'unknown CPU'}, meter {w.meter['name']} ({w.meter['provenance']})\n"
        )
    addresses = [w.address for w in workers]
    tasks: list[tuple[str, Config, Worker | None]]  # (task key, config, pinned worker or None)
    if mode == "spread":
        done = done_keys(output) if resume else set()
        tasks = [(config_key(c.as_record()), c, None) for c in configs]
    else:
        done = done_host_keys(output) if resume else set()
        tasks = [(host_point_key(config_key(c.as_record()), host_key(w.host)), c, w) for w in workers for c in configs]
    progress = progress or Progress(len(tasks), stream=log)
    futures = {}
    for key, config, pinned in tasks:
        if key in done:
            summary.resumed += 1
            progress.update(_label(config, pinned), skipped=True)
            continue
        future = client.submit(
            measure_task,
            config.as_record(),
            meter,
            protocol,  # checked by run_dask_sweep
            require_measured,
            resources={RESOURCE: 1},
            workers=[pinned.address] if pinned else addresses,
            allow_other_workers=False,
            retries=retries,
            pure=False,
        )
        futures[future] = (key, config, pinned)
    written: set[str] = set()
    pending = set(futures)
    with ResultsWriter(output) as writer:
        while pending:
            try:
                finished, pending = wait(pending, timeout=1.0, return_when="FIRST_COMPLETED")
            except TimeoutError:
                finished = set()
            for future in finished:
                _collect(future, futures[future], writer, written, summary, progress, log)
            if mode == "every-host" and pending:
                pending = _drop_departed(client, pending, futures, summary, progress, log)
    return summary


def _label(config: Config, pinned: Worker | None) -> str:
    return config.label() + (f" on {pinned.host['hostname']}" if pinned else "")


def _collect(future, task, writer, written, summary, progress, log) -> None:
    key, config, pinned = task
    label = _label(config, pinned)
    reason = None
    if future.status == "finished":
        outcome = future.result()
        reason = outcome.get("failed")
        record = outcome.get("record")
        if reason is None and record is not None:
            label = config.label() + f" on {record['host']['hostname']}"
            if key not in written:  # a point is written once, whatever the scheduler did
                writer.append(record)
                written.add(key)
                summary.count_record(record)
            progress.update(label)
            return
    elif future.status == "error":
        error = future.exception()
        reason = f"{type(error).__name__}: {error}"
    else:
        reason = f"task {future.status}"
    summary.failed.append((config, reason))
    log.write(f"FAILED {label}: {reason}\n")
    progress.update(label + " (failed)")


def _drop_departed(client, pending, futures, summary, progress, log) -> set:
    """Fail (with the reason) the pending pinned tasks whose worker has left the cluster."""
    present = set(client.scheduler_info(n_workers=-1)["workers"])
    keep = set()
    for future in pending:
        key, config, pinned = futures[future]
        if pinned is not None and pinned.address not in present:
            future.cancel()
            reason = (
                f"worker {pinned.address} (host {pinned.host['hostname']}) left the cluster before measuring it; "
                "rerun with --resume when the host's worker is back"
            )
            summary.failed.append((config, reason))
            log.write(f"FAILED {_label(config, pinned)}: {reason}\n")
            progress.update(_label(config, pinned) + " (failed)")
        else:
            keep.add(future)
    return keep
