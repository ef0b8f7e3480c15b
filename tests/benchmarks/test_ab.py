"""benchmarks/ab.py (paired A/B of two builds) runs end to end: two workers on this tree, one row."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_ab_compares_two_builds(tmp_path):
    pytest.importorskip("lstm_energy.kernels.lstm", reason="the Cython kernels are not built")
    import lstm_energy

    build = str(Path(lstm_energy.__file__).resolve().parents[1])  # wherever the built package is installed
    out = tmp_path / "ab.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ab.py"), "--a", build, "--b", build]
        + ["--b-env", "LSTM_ENERGY_ISA=baseline", "--rounds", "2", "--turn-seconds", "0.01"]
        + ["-k", "rnn-forward-edge", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "rnn-forward-edge" in result.stdout
    record = json.loads(out.read_text())
    assert record["b"]["isa"] == "baseline" and record["b_env"] == ["LSTM_ENERGY_ISA=baseline"]
    (row,) = record["rows"]
    assert row["config"] == "rnn-forward-edge" and len(row["ratios"]) == 2 and row["ratio"] > 0
