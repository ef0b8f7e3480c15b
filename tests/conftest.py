"""Fixtures shared by the layer and engine-level tests (tests/layers, tests/reference)."""

import os
import shlex
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from lstm_energy._layers.engines import engine_available

# Measurements in this suite take a host lock of their own (lstm_energy.measure.host_lock), not the
# host-wide one: a unit test with a simulated meter must neither queue behind a real sweep on this host
# nor delay it. tests/measure/test_host_lock.py sets the path explicitly where the lock is under test.
# The directory is this session's: removed when the session ends (pytest_sessionfinish below).
_HOST_LOCK_DIR = None
if "LSTM_ENERGY_HOST_LOCK" not in os.environ:
    _HOST_LOCK_DIR = tempfile.mkdtemp(prefix="lstm-energy-tests-")
    os.environ["LSTM_ENERGY_HOST_LOCK"] = os.path.join(_HOST_LOCK_DIR, "host.lock")


def pytest_sessionfinish(session, exitstatus):
    """Remove this session's host-lock directory (one /tmp/lstm-energy-tests-* per session otherwise)."""
    if _HOST_LOCK_DIR is not None:
        shutil.rmtree(_HOST_LOCK_DIR, ignore_errors=True)


@pytest.fixture(params=["numpy", "cython"])
def impl(request):
    """The engine name: every test using it runs on the NumPy reference and on the Cython kernels
    (skipped, with the reason, while the kernels are not built)."""
    ok, reason = engine_available(request.param)
    if not ok:
        pytest.skip(f"impl={request.param!r} unavailable: {reason}")
    return request.param


#: the kernels' instruction-set paths (lstm_energy.kernels.isa.ISAS), narrowest first
KERNEL_ISAS = ("baseline", "avx2", "avx512")


@pytest.fixture(params=KERNEL_ISAS)
def every_isa(request):
    """Run the test once on every kernel path (LSTM_ENERGY_ISA) this CPU supports; a path it lacks is
    skipped with the missing CPU flag as the reason. Yields the path's name."""
    try:
        from lstm_energy.kernels import isa
    except ImportError as exc:
        pytest.skip(f"kernel path {request.param}: the Cython kernels are not built ({exc})")
    missing = isa.missing_flag(request.param)
    if missing is not None:
        pytest.skip(f"kernel path {request.param}: this CPU lacks the {missing!r} flag")
    with isa.use_isa(request.param):
        yield request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def memory_tmp_path(tmp_path):
    """A fresh directory in memory (tmpfs /dev/shm) where the machine has one, else ``tmp_path``: for fake
    counter files that ``lstm_energy.testing.power_driver`` rewrites (write and rename) every millisecond,
    so that no update waits on a disk journal: on a busy host a journaled disk can hold the driver's
    updates back for most of a measurement window, and the liveness check then rightly refuses the
    window as a stalled counter, failing a test that is about something else."""
    shm = "/dev/shm"
    if not (os.path.isdir(shm) and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = tempfile.mkdtemp(prefix="lstm-energy-counter-", dir=shm)
    try:
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------------------------------ isolated hosts
#: builds a fake powercap tree at the real path whose package counter never moves (a dead counter)
_DEAD_POWERCAP = (
    "from lstm_energy.testing import FakePowercap\n"
    "fake = FakePowercap('/sys/class/powercap', '/sys/class/.fake-devices/virtual/powercap')\n"
    "fake.add_zone('intel-rapl', (0,), 'package-0', initial_joules=5000.0)\n"
    "fake.add_zone('intel-rapl', (0, 0), 'dram', initial_joules=700.0)\n"
)


def _isolation_unavailable() -> str:
    import os
    import shutil
    import subprocess

    if os.geteuid() != 0:
        return "needs root for a private mount namespace (unshare --mount)"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs tmpfs /sys/class"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return "" if probe.returncode == 0 else f"cannot mount a tmpfs in a private namespace: {probe.stderr.strip()}"


@pytest.fixture
def isolated_host():
    """Run a command on a host whose energy counters the TEST chooses, whatever this machine has.

    ``run(argv, counters="none"|"dead", cwd=None, timeout=...)`` runs ``argv`` in a private mount
    namespace (``unshare --mount``) where tmpfs hides /sys/class (powercap, and pyRAPL's hard-coded
    path), /sys/bus/event_source/devices (the perf power PMU) and /dev/cpu (the MSR driver); with
    ``counters="dead"`` a powercap tree is built at the real path whose counters never move, as on a
    virtual machine. Returns the CompletedProcess (text). Nothing outside the namespace sees it.
    """
    import subprocess
    import sys

    why_not = _isolation_unavailable()
    if why_not:
        pytest.skip(why_not)

    def run(argv, counters="none", cwd=None, timeout=300, env=None):
        if counters not in ("none", "dead"):
            raise ValueError(f"counters must be 'none' or 'dead', got {counters!r}")
        hide = ["/sys/class", "/sys/bus/event_source/devices", "/dev/cpu"]
        script = "set -e\n" + "".join(f"if [ -d {d} ]; then mount -t tmpfs tmpfs {d}; fi\n" for d in hide)
        if counters == "dead":
            script += f'{shlex.quote(sys.executable)} -c "$LSTM_ENERGY_FAKE_TREE"\n'
        script += 'exec "$@"\n'
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "isolated-host", *argv],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=timeout,
            env={**(env if env is not None else os.environ), "LSTM_ENERGY_FAKE_TREE": _DEAD_POWERCAP},
        )

    return run
