"""The benchmark suite in benchmarks/ still collects, runs and feeds benchmarks/ratios.py.

CI never times anything: these run the suite in a subprocess, untimed (--benchmark-disable) or with
a single round, and check that the harness works, not how fast the kernels are.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: configurations in the "edge" subset: 3 cells x 2 phases x 2 thread counts x 3 impls
EDGE_CONFIGS_PER_IMPL = 3 * 2 * 2


def run_pytest(*args, timeout=300):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider", "-rfEs", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def outcome_counts(output: str) -> dict:
    """{"passed": n, "skipped": n, ...} from pytest's final summary line."""
    summary = output.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|skipped|failed|errors?|deselected)", summary)}


def impl_available(impl: str) -> bool:
    """Whether a layer of this impl can be built here (cython needs the compiled kernels)."""
    if impl == "torch":
        return importlib.util.find_spec("torch") is not None
    from lstm_energy import layers

    try:
        layers.RNN(2, 2, impl=impl)
    except ImportError:
        return False
    return True


def test_edge_subset_runs_untimed():
    result = run_pytest("--benchmark-disable", "-k", "edge")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"benchmarks -k edge failed (exit {result.returncode}):\n{output[-4000:]}"
    counts = outcome_counts(result.stdout)
    expected_passed = EDGE_CONFIGS_PER_IMPL * sum(impl_available(i) for i in ("cython", "numpy", "torch"))
    assert counts.get("passed") == expected_passed, (
        f"expected {expected_passed} passed, got {counts}:\n{output[-4000:]}"
    )
    assert counts.get("passed", 0) + counts.get("skipped", 0) == 3 * EDGE_CONFIGS_PER_IMPL, counts


def test_one_round_run_feeds_the_ratio_table(tmp_path):
    """A minimal timed run (1 round) writes JSON with what ratios.py needs, and ratios.py reads it."""
    bench_json = tmp_path / "run.json"
    result = run_pytest(
        "-k",
        "rnn-forward-edge-1t or sgemm-2048-1t-last",
        "--benchmark-min-rounds=1",
        "--benchmark-max-time=0.000001",
        "--benchmark-warmup=off",
        "--energy-windows=1",
        "--energy-min-window-seconds=0.01",
        f"--benchmark-json={bench_json}",
    )
    assert result.returncode == 0, f"timed subset failed:\n{(result.stdout + result.stderr)[-4000:]}"
    data = json.loads(bench_json.read_text())

    recorded = data["machine_info"]["lstm_energy"]
    blas = recorded["environment"]["blas"]
    assert any(b["internal_api"] == "openblas" and b.get("architecture") for b in blas), blas
    assert recorded["openblas_env"]["OPENBLAS_CORETYPE"] is None  # unset for the benchmark run
    by_name = {b["name"]: b for b in data["benchmarks"]}
    numpy_run = by_name["test_peer[rnn-forward-edge-1t-numpy]"]["extra_info"]
    assert numpy_run["gemm_flops"] == 2 * 100 * 1 * 1 * 128 * (128 + 128)  # 2·T·B·G·H·(D+H)
    assert numpy_run["blas_threads"] and set(numpy_run["blas_threads"]) == {1}
    assert numpy_run["allocation"]["traceable"] and numpy_run["allocation"]["output_bytes"] > 0
    assert by_name["test_sgemm[sgemm-2048-1t-last]"]["extra_info"]["gemm_flops"] == 2 * 2048**3
    # the energy fixture ran (the plugin is installed with the package) and says where its joules come from
    assert numpy_run["timer"] == "energy", numpy_run.get("energy_unavailable")
    energy = numpy_run["lstm_energy"]["energy"]
    assert energy["provenance"] in ("measured", "estimated") and energy["meter"]["name"]

    ratios = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ratios.py"), str(bench_json)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ratios.returncode == 0, ratios.stderr
    assert re.search(r"sgemm ceiling GFLOP/s: 1t \d", ratios.stdout), ratios.stdout
    assert re.search(r"rnn forward edge 1t: cython/torch <= 0.3 .* (PASS|FAIL|MISSING)", ratios.stdout), ratios.stdout


@pytest.mark.parametrize("variable", ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"])
def test_run_script_unsets_openblas_overrides_for_its_own_run(variable):
    script = (ROOT / "benchmarks" / "run.sh").read_text()
    pytest_line = next(
        line
        for line in script.splitlines()
        if "python -m pytest benchmarks" in line or line.lstrip().startswith("env -u")
    )
    assert f"-u {variable}" in pytest_line, pytest_line


def test_peer_sweeps_repeat_the_whole_grid_after_itself():
    """--peer-sweeps 2: every configuration twice, the second pass after the whole first one, with
    the sweep in the id (and so in extra_info, which ratios.py pools)."""
    result = run_pytest("--collect-only", "--peer-sweeps", "2", "-k", "forward-edge-1t")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ids = re.findall(r"test_peer\[([^\]]+)\]", result.stdout)
    first = [
        f"{cell}-forward-edge-1t-{impl}" for cell in ("lstm", "gru", "rnn") for impl in ("cython", "numpy", "torch")
    ]
    assert ids == first + [f"{name}-sweep2" for name in first]
    bad = run_pytest("--collect-only", "--peer-sweeps", "0", "-k", "forward-edge-1t")
    assert bad.returncode != 0 and "--peer-sweeps must be at least 1" in bad.stdout + bad.stderr


def test_peer_sweep_start_numbers_this_process_sweeps():
    """One process of a multi-process run (run.sh, SWEEPS > 1): its single sweep carries its own number."""
    result = run_pytest("--collect-only", "--peer-sweeps", "1", "--peer-sweep-start", "3", "-k", "lstm-forward-edge-1t")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ids = re.findall(r"test_peer\[([^\]]+)\]", result.stdout)
    assert ids == [f"lstm-forward-edge-1t-{impl}-sweep3" for impl in ("cython", "numpy", "torch")]
    bad = run_pytest("--collect-only", "--peer-sweep-start", "0", "-k", "forward-edge-1t")
    assert bad.returncode != 0 and "--peer-sweep-start must be at least 1" in bad.stdout + bad.stderr


@pytest.mark.slow
def test_run_script_runs_each_sweep_in_its_own_process():
    """SWEEPS=2 benchmarks/run.sh: two pytest processes, one run file holding both sweeps, each benchmark
    marked with its process, and the ratio table saying so (one round each: the harness, not the speed)."""
    env = {**os.environ, "SWEEPS": "2", "PYTHON": sys.executable}  # run.sh's every step on this interpreter
    result = subprocess.run(
        [
            "bash",
            str(ROOT / "benchmarks" / "run.sh"),
            "-p",
            "no:lstm_energy",
            "-k",
            "rnn-forward-edge-1t-cython or rnn-forward-edge-1t-numpy or sgemm-2048-1t",
            "--benchmark-min-rounds=1",
            "--benchmark-max-time=0.000001",
            "--benchmark-warmup=off",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    run_file = ROOT / re.search(r"benchmark JSON: (\S+)", result.stdout).group(1)
    try:
        data = json.loads(run_file.read_text())
    finally:
        run_file.unlink()
    peers = {
        (b["extra_info"]["impl"], b["extra_info"]["sweep"]): b["extra_info"]["process"]
        for b in data["benchmarks"]
        if b["extra_info"].get("kind") == "peer"
    }
    assert peers == {("cython", 1): 1, ("numpy", 1): 1, ("cython", 2): 2, ("numpy", 2): 2}
    assert [m["process"] for m in data["merged_from"]] == [1, 2]
    assert "== sweep 2 of 2 (its own process) ==" in result.stdout
    assert "median over 2 sweeps of the grid, each sweep in its own process" in result.stdout
    assert re.search(r"rnn\s+forward\s+edge\s+1\s", result.stdout), result.stdout[-3000:]
