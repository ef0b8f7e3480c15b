"""`lstm-energy meters [--json]`: every backend, works here?, why not, how to fix; the fallback is an estimate."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lstm_energy.cli.meters_cmd import auto_choice, render_table
from lstm_energy.meters import Availability

REPO = Path(__file__).resolve().parents[2]
BACKENDS = ["powercap", "perf", "msr", "pyrapl", "model", "simulated"]


@pytest.mark.parametrize("counters", ["none", "dead"])
def test_json_output_on_a_host_without_a_counting_meter(isolated_host, counters):
    result = isolated_host([sys.executable, "-m", "lstm_energy", "meters", "--json"], counters=counters, cwd=REPO)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [row["name"] for row in data["backends"]] == BACKENDS
    for row in data["backends"]:
        assert set(row) >= {"name", "available", "provenance", "reason", "fix"}
        assert row["reason"]
        assert row["available"] or row["fix"]
    assert not [row["name"] for row in data["backends"] if row["provenance"] == "measured" and row["available"]]
    # no counter counts here: the output must say the fallback is an estimate
    assert data["auto"]["name"] == "model" and data["auto"]["provenance"] == "estimated"
    assert "ESTIMATE" in data["auto"]["note"] and "not a measurement" in data["auto"]["note"]
    powercap = data["backends"][0]
    if counters == "dead":  # the tree opens, but its counter never moves: refused, saying so
        assert "opens but does not count" in powercap["reason"] and "did not advance: 0 J" in powercap["reason"]
    else:
        assert "no powercap tree" in powercap["reason"]


def test_table_output_on_a_host_with_a_dead_counter(isolated_host):
    result = isolated_host([sys.executable, "-m", "lstm_energy", "meters"], counters="dead", cwd=REPO)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in BACKENDS:
        assert f"\n{name} " in out or out.startswith(f"{name} ")
    assert "No MEASURED energy backend works on this machine." in out
    assert "auto -> model" in out and "ESTIMATE" in out
    assert out.count("    why:") >= 4 and out.count("    fix:") >= 4
    assert "does not count" in out


def test_table_when_a_measured_backend_works():
    rows = [
        Availability("powercap", True, "measured", "reads 2 powercap zones"),
        Availability("perf", False, "measured", "no PMU", "load rapl"),
        Availability("model", True, "estimated", "always available"),
    ]
    choice = auto_choice(rows)
    assert choice["name"] == "powercap" and choice["provenance"] == "measured"
    table = render_table(rows, choice)
    assert "No MEASURED" not in table and "auto -> powercap" in table
    assert "why:   no PMU" in table and "fix:   load rapl" in table


def test_help_exits_zero():
    result = subprocess.run(
        [sys.executable, "-m", "lstm_energy", "meters", "--help"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0 and "--json" in result.stdout
