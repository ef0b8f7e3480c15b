"""`lstm-energy meters [--json]`: every backend, works here?, why not, how to fix; the fallback is an estimate."""
import json
import subprocess
import sys
from pathlib import Path

from lstm_energy.cli import main
from lstm_energy.cli.meters_cmd import auto_choice, render_table
from lstm_energy.meters import Availability, available_meters

REPO = Path(__file__).resolve().parents[2]
BACKENDS = ["powercap", "perf", "msr", "pyrapl", "model", "simulated"]


def test_json_output_parses_and_lists_every_backend():
    result = subprocess.run(
        [sys.executable, "-m", "lstm_energy", "meters", "--json"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [row["name"] for row in data["backends"]] == BACKENDS
    for row in data["backends"]:
        assert set(row) >= {"name", "available", "provenance", "reason", "fix"}
        assert row["reason"]
        assert row["available"] or row["fix"]
    measured_here = [row["name"] for row in data["backends"] if row["provenance"] == "measured" and row["available"]]
    if measured_here:
        assert data["auto"] == {"name": measured_here[0], "provenance": "measured", "note": f"auto measures with {measured_here[0]}"}
    else:  # this machine (no RAPL): the output must say the fallback is an estimate
        assert data["auto"]["name"] == "model" and data["auto"]["provenance"] == "estimated"
        assert "ESTIMATE" in data["auto"]["note"] and "not a measurement" in data["auto"]["note"]


def test_table_output_on_this_machine(capsys):
    assert main(["meters"]) == 0
    out = capsys.readouterr().out
    for name in BACKENDS:
        assert f"\n{name} " in out
    rows = available_meters()
    if not any(r.available for r in rows if r.provenance == "measured"):
        assert "No MEASURED energy backend works on this machine." in out
        assert "auto -> model" in out and "ESTIMATE" in out
        assert out.count("    why:") >= 4 and out.count("    fix:") >= 4


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
