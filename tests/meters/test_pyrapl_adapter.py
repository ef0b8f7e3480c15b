"""PyRaplMeter end to end: the real pyRAPL package reading a fake tree mounted at its HARD-CODED path.

pyRAPL only reads /sys/class/powercap/intel-rapl/intel-rapl:N, so the fake tree is built there inside a
private mount namespace (``unshare --mount``) on a tmpfs over /sys/class; nothing outside the test sees it.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lstm_energy.errors import MeterUnavailableError
from lstm_energy.meters import PyRaplMeter

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import json
from lstm_energy.meters import PyRaplMeter
from lstm_energy.meters.topology import first_cpu_of_each_package
from lstm_energy.testing import FakePowercap

# pyRAPL maps sockets from /sys/devices/system/cpu: give the fake one package zone per real socket
fake = FakePowercap("/sys/class/powercap", "/sys/class/.fake-devices/virtual/powercap", write_mode="in_place")
for socket in first_cpu_of_each_package():
    fake.add_zone("intel-rapl", (socket,), f"package-{socket}", initial_joules=5000.0 + socket)
    fake.add_zone("intel-rapl", (socket, 0), "core", initial_joules=100.0)
    fake.add_zone("intel-rapl", (socket, 1), "dram", initial_joules=700.0 + socket)
out = {}
with PyRaplMeter(background_sampling=False) as meter:
    out["domains"] = list(meter.domains)
    out["headline"] = list(meter.headline_domains)
    s0 = meter.read()
    fake.advance("package-0", 12.5)
    fake.advance("package-0/dram", 1.5)
    d1 = meter.read() - s0
    out["plain"] = dict(d1.joules)
    # next: cross the top of package-0's range (pyRAPL alone would report a huge negative number)
    top = fake.zone("package-0").max_energy_range_uj
    fake.set_energy_uj("package-0", top - 3_000_000)
    s1 = meter.read()
    before = fake.joules_advanced("package-0")
    fake.advance("package-0", 8.0)
    d2 = meter.read() - s1
    out["wrap_expected"] = fake.joules_advanced("package-0") - before
    out["wrap_read"] = d2.joules["package-0"]
    out["raw_after_wrap_uj"] = fake.energy_uj("package-0")
    out["wraps"] = meter.describe()["wraparound"]["wraps"]
    out["describe_counter"] = meter.describe()["counter"]
print(json.dumps(out))
"""


def _namespace_available() -> str:
    """'' when a private mount namespace with a tmpfs can be made here, else the reason why not."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs tmpfs /sys/class"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0:
        return f"cannot make a private mount namespace with a tmpfs here: {probe.stderr.strip()}"
    return ""


def test_pyrapl_reads_a_fake_tree_at_its_hard_coded_path_with_wrap_correction():
    why_not = _namespace_available()
    if why_not:
        pytest.skip(why_not)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = f'mount -t tmpfs tmpfs /sys/class && exec {shlex.quote(sys.executable)} -c "$LSTM_ENERGY_CHILD"'
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        env={**env, "LSTM_ENERGY_CHILD": CHILD},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert "package-0" in out["domains"] and "package-0/dram" in out["domains"]
    assert "package-0/core" not in out["domains"]  # pyRAPL has PKG and DRAM only
    assert out["headline"] == [d for d in out["domains"] if "/" not in d]
    assert out["plain"]["package-0"] == pytest.approx(12.5, abs=1e-4)
    assert out["plain"]["package-0/dram"] == pytest.approx(1.5, abs=1e-4)
    assert out["raw_after_wrap_uj"] < 6_000_000  # the counter really wrapped
    assert out["wraps"]["package-0"] == 1
    assert out["wrap_read"] == pytest.approx(out["wrap_expected"], abs=2e-6)
    assert out["wrap_read"] == pytest.approx(8.0, abs=1e-4)
    assert "pyRAPL" in out["describe_counter"]
    # the namespace was private: the host still has no fake tree
    assert not os.path.exists("/sys/class/.fake-devices")


def test_without_the_tree_pyrapl_fails_with_the_reason():
    if os.path.isdir("/sys/class/powercap/intel-rapl"):
        pytest.skip("this machine has a real powercap tree at pyRAPL's path")
    with pytest.raises(MeterUnavailableError) as info:
        PyRaplMeter()
    message = str(info.value)
    assert "/sys/class/powercap/intel-rapl/intel-rapl:0, 1, 2" in message and "decimal" in message
    assert "use the powercap meter" in message
