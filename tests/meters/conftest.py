"""Fakes and helpers for the meter tests: a fake perf power PMU, fake MSR files, a real non-root runner."""

import functools
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

NOBODY = 65534
REPO = Path(__file__).resolve().parents[2]


def write_power_pmu(sysfs_root: Path, pmu_type: int, events: dict, cpumask: str = "0", packages: dict | None = None):
    """A fake ``bus/event_source/devices/power`` (+ cpu topology) as arch/x86/events/rapl.c publishes it.

    events: {"energy-pkg": "event=0x02", ...}; every event gets the kernel's scale and unit.
    packages: {cpu: package id} written as devices/system/cpu/cpuN/topology/physical_package_id.
    """
    pmu = sysfs_root / "bus" / "event_source" / "devices" / "power"
    (pmu / "events").mkdir(parents=True)
    (pmu / "type").write_text(f"{pmu_type}\n")
    (pmu / "cpumask").write_text(cpumask + "\n")
    for name, description in events.items():
        (pmu / "events" / name).write_text(description + "\n")
        (pmu / "events" / f"{name}.scale").write_text("2.3283064365386962890625e-10\n")
        (pmu / "events" / f"{name}.unit").write_text("Joules\n")
    for cpu, package in (packages or {0: 0}).items():
        topo = sysfs_root / "devices" / "system" / "cpu" / f"cpu{cpu}" / "topology"
        topo.mkdir(parents=True)
        (topo / "physical_package_id").write_text(f"{package}\n")
    return pmu


def write_msr(dev_root: Path, cpu: int, registers: dict):
    """Write 8-byte little-endian registers at offset = MSR address into a sparse ``<dev_root>/<cpu>/msr``."""
    path = dev_root / str(cpu) / "msr"
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "r+b" if path.exists() else "w+b"
    with open(path, mode) as handle:
        for address, value in registers.items():
            handle.seek(address)
            handle.write(struct.pack("<Q", value))
    return path


@pytest.fixture(name="write_power_pmu")
def write_power_pmu_fixture():
    """The :func:`write_power_pmu` helper, as a fixture (test modules do not import conftest)."""
    return write_power_pmu


@pytest.fixture(name="write_msr")
def write_msr_fixture():
    """The :func:`write_msr` helper, as a fixture."""
    return write_msr


@pytest.fixture
def world_readable_dir():
    """A temporary directory uid 65534 can traverse (pytest's tmp_path is 0700 root)."""
    path = tempfile.mkdtemp(prefix="lstm-energy-meters-", dir="/tmp")
    os.chmod(path, 0o755)
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


# What every snippet imports: the probe below must show uid 65534 can import all of it, not just start Python.
SNIPPET_IMPORTS = (
    "import os, sys, json, ctypes, errno, lstm_energy.errors, lstm_energy.meters, lstm_energy.perf.syscall"
)


@functools.cache
def _nobody_can_import(executable: str) -> bool:
    """True when uid 65534 can start `executable` AND import lstm_energy with its dependencies (NumPy...).

    Starting the interpreter is not enough: a CI machine had /root/.pyenv's python reachable by 65534
    while NumPy was not importable for it, and every setpriv child died with ModuleNotFoundError.
    """
    result = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", executable, "-c", SNIPPET_IMPORTS],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    return result.returncode == 0


@pytest.fixture
def run_as_nobody():
    """Run a Python snippet as a REAL non-root process (uid/gid 65534, no groups, no capabilities).

    Preferred: ``setpriv --reuid=65534 --regid=65534 --clear-groups python -c ...``. When uid 65534 cannot
    start the interpreter or import lstm_energy and its dependencies (e.g. pyenv under /root, mode 0700,
    or site-packages it cannot read), the child starts as root, imports lstm_energy and the modules the
    snippet uses (SNIPPET_IMPORTS), then drops to 65534 with setgroups/setresgid/setresuid (no capability
    survives a full setuid from root) before running the snippet. Either way the snippet runs unprivileged.
    The snippet must print one JSON line; the fixture returns (parsed JSON, how it dropped privileges).
    """
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to uid 65534 (running as a non-root user already)")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")

    def run(snippet: str, *args: str):
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        if _nobody_can_import(sys.executable):
            how = "setpriv"
            command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable]
            prologue = "import lstm_energy.meters\n"
        else:
            how = "in-process setresuid (uid 65534 cannot start the interpreter or import lstm_energy)"
            command = [sys.executable]
            prologue = (
                SNIPPET_IMPORTS + "\n"
                f"os.setgroups([]); os.setresgid({NOBODY}, {NOBODY}, {NOBODY}); os.setresuid({NOBODY}, {NOBODY}, {NOBODY})\n"
            )
        code = (
            prologue + "import os\nassert os.geteuid() != 0 and os.getegid() != 0 and os.getgroups() == []\n" + snippet
        )
        result = subprocess.run([*command, "-c", code, *args], capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 0, f"child failed ({how}):\n{result.stdout}\n{result.stderr}"
        return json.loads(result.stdout.strip().splitlines()[-1]), how

    return run
