"""Which host and CPU package is this process measuring on? The ``host`` block of a fleet record.

A sweep across machines (lstm_energy.sweep.dask_runner) stamps every record with the identity of the
host that measured it and refuses two workers that would measure the same package (their windows
would overlap on one RAPL counter)::

    {"hostname": "node7", "machine_id": "3d12...", "machine_id_source": "/etc/machine-id",
     "package": "0",                       # physical package(s) this process may run on, e.g. "0" or "0,1"
     "cpu": {"vendor": "amd", "family": 25, "model": 17, "stepping": 1, "model_name": "AMD EPYC ...",
             "microarchitecture": "Zen 4", "row": "EPYC 4th Gen"},
     "source": "read from this host"}

machine_id: systemd's ``/etc/machine-id`` (stable across reboots, unique per installation), else
D-Bus's copy, else the hostname (``machine_id_source`` says which). package: the
``physical_package_id`` of every CPU in this process's affinity mask (a worker pinned with
``taskset``/``numactl`` to one socket claims only that package).

Test injection: ``LSTM_ENERGY_FAKE_HOSTS`` holds a JSON object from a Dask worker's name to fields
that replace the real ones (``{"0": {"hostname": "fake-a", "machine_id": "aaaa", "cpu": {...}}}``);
a record made under it says ``"source": "injected by LSTM_ENERGY_FAKE_HOSTS (tests)"``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
from pathlib import Path

from lstm_energy.errors import ConfigError
from lstm_energy.machine.info import CPUINFO
from lstm_energy.meters.microarchitecture import identify_cpu

FAKE_HOSTS_VARIABLE = "LSTM_ENERGY_FAKE_HOSTS"
MACHINE_ID_PATHS = ("/etc/machine-id", "/var/lib/dbus/machine-id")
REAL_SOURCE = "read from this host"
FAKE_SOURCE = f"injected by {FAKE_HOSTS_VARIABLE} (tests)"


#: the application id of lstm_energy's machine ids (see :func:`machine_id`)
MACHINE_ID_APPLICATION = b"lstm_energy machine id v1"


def machine_id(paths=MACHINE_ID_PATHS) -> tuple[str, str]:
    """(id, where it came from): an application-specific id derived from the first non-empty machine-id
    file, else ("hostname:NAME", "hostname").

    systemd asks that /etc/machine-id be kept confidential and that applications store an id derived from
    it instead (machine-id(5); ``sd_id128_get_machine_app_specific``): records and reports travel, so they
    carry HMAC-SHA256(key = the machine id, message = MACHINE_ID_APPLICATION), first 128 bits in hex: the
    same on every run of this machine, and the machine id cannot be recovered from it."""
    for path in paths:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text:
            derived = hmac.new(text.encode(), MACHINE_ID_APPLICATION, hashlib.sha256).hexdigest()[:32]
            return derived, f"{path} (application-specific HMAC-SHA256; the file's id is not stored)"
    return f"hostname:{socket.gethostname()}", "hostname (no machine-id file)"


def packages(sysfs_root: str | os.PathLike = "/sys") -> str:
    """Comma-separated physical package ids of the CPUs this process may run on ("0"; "0,1"); "unknown"
    when sysfs does not say."""
    found = set()
    for cpu in sorted(os.sched_getaffinity(0)):
        path = Path(sysfs_root) / f"devices/system/cpu/cpu{cpu}/topology/physical_package_id"
        try:
            found.add(int(path.read_text().strip()))
        except (OSError, ValueError):
            return "unknown"
    return ",".join(str(p) for p in sorted(found)) or "unknown"


def real_identity(*, cpuinfo: str | os.PathLike = CPUINFO, sysfs_root: str | os.PathLike = "/sys") -> dict:
    """The ``host`` block read from this machine (see the module docstring)."""
    ident, source = machine_id()
    cpu = identify_cpu(cpuinfo).as_dict()
    return {
        "hostname": socket.gethostname(),
        "machine_id": ident,
        "machine_id_source": source,
        "package": packages(sysfs_root),
        "cpu": {k: cpu[k] for k in ("vendor", "family", "model", "stepping", "model_name", "microarchitecture", "row")},
        "source": REAL_SOURCE,
    }


#: the cpuid fields that say which CPU a figure was measured on (a machine profile's ``identity.cpu``)
CPU_ID_FIELDS = ("vendor", "family", "model", "stepping")


def profile_identity(*, cpuinfo: str | os.PathLike = CPUINFO) -> dict:
    """Who a machine profile (``lstm-energy machine``) was measured on: ``{"hostname", "machine_id",
    "cpu": {vendor, family, model, stepping}}``, the fields a results record also carries (its
    ``environment.hostname``, and its ``host`` block in a fleet sweep), so a report can tell whether the
    profile's roofs belong under the records."""
    ident, _ = machine_id()
    cpu = identify_cpu(cpuinfo).as_dict()
    return {"hostname": socket.gethostname(), "machine_id": ident, "cpu": {k: cpu[k] for k in CPU_ID_FIELDS}}


def fake_override(worker_name, environ=None) -> dict:
    """The injected fields for Dask worker ``worker_name`` from LSTM_ENERGY_FAKE_HOSTS ({} when unset or not named)."""
    env = os.environ if environ is None else environ
    text = env.get(FAKE_HOSTS_VARIABLE, "").strip()
    if not text:
        return {}
    try:
        table = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"{FAKE_HOSTS_VARIABLE} is not valid JSON ({err.msg}); it maps worker names to host fields"
        ) from None
    if not isinstance(table, dict):
        raise ConfigError(f"{FAKE_HOSTS_VARIABLE} must be a JSON object (worker name -> fields), got {text[:60]!r}")
    return dict(table.get(str(worker_name), {}))


def host_identity(worker_name=None, environ=None) -> dict:
    """This process's ``host`` block; fields injected for ``worker_name`` replace the real ones.

    An injected ``meter`` field is not part of the identity (the Dask runner reads it as the meter
    that host's ``auto`` would give) and is left out here.
    """
    identity = real_identity()
    override = {k: v for k, v in fake_override(worker_name, environ).items() if k != "meter"}
    if override:
        if "machine_id" in override:
            override.setdefault("machine_id_source", FAKE_SOURCE)
        cpu = {**identity["cpu"], **override.pop("cpu", {})}
        identity.update(override, cpu=cpu, source=FAKE_SOURCE)
    return identity


def host_key(identity: dict) -> str:
    """``machine_id/package``: what one measurement token stands for (the resume key's host part)."""
    return f"{identity.get('machine_id')}/{identity.get('package')}"


def shares_package(a: dict, b: dict) -> bool:
    """Whether two identities would measure on one CPU package: same machine and overlapping packages
    (an unknown package overlaps every package of its machine)."""
    if a.get("machine_id") != b.get("machine_id"):
        return False
    pa, pb = str(a.get("package")), str(b.get("package"))
    if "unknown" in (pa, pb):
        return True
    return bool(set(pa.split(",")) & set(pb.split(",")))


def record_cpu(record: dict) -> dict | None:
    """The cpuid identity ``{"vendor", "family", "model", "microarchitecture", "source"}`` of the CPU a
    results record was made on: its fleet ``host.cpu``, else its ``environment.cpu`` (records since
    2026-12-08), else the model meter's cpuid identification (estimated records of older versions);
    None when the record carries none of them. The one reader of a record's CPU: the report's rows and
    its roofline both ask here, so they cannot tell the same machine apart differently."""

    def mapping(value) -> dict:
        return value if isinstance(value, dict) else {}

    energy_meter = mapping(mapping(record.get("energy")).get("meter"))
    identification = mapping(mapping(energy_meter.get("coefficients")).get("identification"))
    candidates = (
        (mapping(record.get("host")).get("cpu"), "host block"),
        (mapping(record.get("environment")).get("cpu"), "environment block"),
        (identification if identification.get("method") == "cpuid" else None, "the estimator's cpuid identification"),
    )
    for cpu, source in candidates:
        if isinstance(cpu, dict) and cpu.get("family") is not None and cpu.get("model") is not None:
            return {
                "vendor": cpu.get("vendor"),
                "family": cpu.get("family"),
                "model": cpu.get("model"),
                "microarchitecture": cpu.get("microarchitecture"),
                "source": source,
            }
    return None


def environment_cpu(*, cpuinfo: str | os.PathLike = CPUINFO) -> dict:
    """This CPU as a results record's ``environment.cpu``: vendor, family, model, stepping, microarchitecture."""
    cpu = identify_cpu(cpuinfo).as_dict()
    return {k: cpu[k] for k in (*CPU_ID_FIELDS, "microarchitecture")}
