"""benchmarks/ab.py (paired A/B of two builds) runs end to end: two workers on this tree, one row, in
float32 and in a reduced precision (an eval forward, issue 18), on one thread and on two."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("precision, threads", [("fp32", 1), ("int8", 1), ("fp32", 2)])
def test_ab_compares_two_builds(tmp_path, precision, threads):
    pytest.importorskip("lstm_energy.kernels.lstm", reason="the Cython kernels are not built")
    import lstm_energy

    build = str(Path(lstm_energy.__file__).resolve().parents[1])  # wherever the built package is installed
    out = tmp_path / "ab.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ab.py"), "--a", build, "--b", build]
        + ["--b-env", "LSTM_ENERGY_ISA=baseline", "--rounds", "3", "--generations", "2", "--turn-seconds", "0.01"]
        + ["-k", "rnn-forward-edge", "--json", str(out), "--precision", precision, "--threads", str(threads)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    name = "rnn-forward-edge" + ("" if precision == "fp32" else f"-{precision}")  # fp32 ids as before
    assert name in result.stdout
    record = json.loads(out.read_text())
    assert record["b"]["isa"] == "baseline" and record["b_env"] == ["LSTM_ENERGY_ISA=baseline"]
    assert record["a"]["threads"] == record["b"]["threads"] == threads
    assert f"openmp={threads}" in record["a"]["pools"]  # the pools really run at that count
    (row,) = record["rows"]
    assert row["config"] == name and len(row["ratios"]) == 3 and row["ratio"] > 0
    # the 3 rounds split over 2 fresh pairs of workers (2 + 1 rounds), one median each
    assert len(row["generation_ratios"]) == 2 and "generation 2 of 2 done" in result.stdout
