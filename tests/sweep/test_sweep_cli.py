"""End to end through the command line: sweep -> report with the estimator on tiny shapes, a sweep
killed with SIGKILL and resumed to the full record count, and bad usage."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstm_energy.results import config_key, load_records

#: the repository root, first on the children's sys.path: they import this checkout from any cwd
REPO = Path(__file__).resolve().parents[2]


def child_env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


TINY_GRID = """
[grid]
cells = ["lstm", "gru", "rnn"]
impls = ["cython", "numpy"]
phases = ["forward", "train"]
batch = [2]
seq_len = [4]
input_size = [8]
hidden_size = [8]
[protocol]
windows = 2
min_window_seconds = %s
"""


def lstm_energy(*args, check=True, timeout=120):
    done = subprocess.run(
        [sys.executable, "-m", "lstm_energy", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
    )
    if check:
        assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done


@pytest.fixture
def tiny_grid(tmp_path):
    def make(min_window_seconds=0.01):
        path = tmp_path / f"grid-{min_window_seconds}.toml"
        path.write_text(TINY_GRID % min_window_seconds)
        return path

    return make


def _has_cython():
    try:
        import lstm_energy.kernels  # noqa: F401
    except ImportError:
        return False
    return True


def test_sweep_then_report_with_the_estimator(tmp_path, tiny_grid):
    results, report = tmp_path / "r.jsonl", tmp_path / "reports" / "tiny.html"
    sweep = lstm_energy("sweep", "--config", tiny_grid(), "--meter", "model", "-o", results)
    impls = 2 if _has_cython() else 1
    expected = 3 * 2 * impls
    # the model meter estimates: the last line must not call its records measured
    assert (
        sweep.stderr.strip().splitlines()[-1]
        == f"sweep: {expected} estimated (meter model), 0 already in the file, 0 failed -> {results}"
    )
    assert f"[{expected}/{expected}] 100%" in sweep.stderr and "ETA" in sweep.stderr
    loaded = load_records(results)
    assert len(loaded.records) == expected and loaded.problems == []
    record = loaded.records[0]
    assert record["energy"]["provenance"] == "estimated" and record["energy"]["meter"]["name"] == "model"
    assert record["costs"]["flops"]["total"] > 0 and record["energy"]["joules_per_sequence"]["median"] > 0

    done = lstm_energy("report", results, "-o", report)
    assert "provenance: estimated" in done.stdout
    html = report.read_text()
    assert "ESTIMATED, NOT MEASURED" in html
    assert html.count('class="mark"') > expected

    # --overwrite starts the file afresh
    lstm_energy(
        "sweep",
        "--config",
        tiny_grid(),
        "--meter",
        "model",
        "-o",
        results,
        "--overwrite",
        "--cells",
        "rnn",
        "--impls",
        "numpy",
        "--phases",
        "forward",
    )
    assert [r["config"]["cell"] for r in load_records(results).records] == ["rnn"]


def test_sigkilled_sweep_resumes_to_the_full_record_count(tmp_path, tiny_grid):
    results = tmp_path / "r.jsonl"
    grid = tiny_grid(0.05)  # slower points, so the kill lands mid-sweep
    command = [
        sys.executable,
        "-m",
        "lstm_energy",
        "sweep",
        "--config",
        str(grid),
        "--meter",
        "model",
        "-o",
        str(results),
    ]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=child_env())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if results.exists() and results.read_text().count("\n") >= 3:
            break
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    before = load_records(results)
    expected = 3 * 2 * (2 if _has_cython() else 1)
    assert 3 <= len(before.records) < expected, "the kill should land mid-sweep"

    refused = lstm_energy("sweep", "--config", grid, "--meter", "model", "-o", results, check=False)
    assert refused.returncode == 2 and "--resume" in refused.stderr

    resumed = lstm_energy("sweep", "--config", tiny_grid(0.01), "--meter", "model", "-o", results, "--resume")
    assert f"{len(before.records)} already in the file" in resumed.stderr
    after = load_records(results)
    assert len(after.records) == expected
    assert len({config_key(r["config"]) for r in after.records}) == expected
    # the records written before the kill are untouched
    assert after.records[: len(before.records)] == before.records


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["sweep", "--cells", "lstm,transformer", "--dry-run"], "'transformer' is not one of"),
        (["sweep", "--hidden-size", "0", "--dry-run"], "integers >= 1"),
        (["sweep", "--preset", "medium"], "invalid choice"),
        (["report", "nowhere.jsonl", "-o", "x.html"], "no such results file"),
    ],
)
def test_bad_usage_exits_2_with_a_message(tmp_path, args, fragment):
    done = subprocess.run(
        [sys.executable, "-m", "lstm_energy", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env=child_env(),
    )
    assert done.returncode == 2
    assert fragment in done.stderr


def test_dry_run_lists_the_grid_and_says_when_torch_is_skipped(tmp_path):
    done = lstm_energy(
        "sweep", "--cells", "gru", "--phases", "forward", "--impls", "numpy,torch", "--hidden-size", "8,16", "--dry-run"
    )
    lines = done.stdout.splitlines()
    try:
        import importlib.util

        has_torch = importlib.util.find_spec("torch") is not None
    except ImportError:  # pragma: no cover
        has_torch = False
    assert len(lines) == (4 if has_torch else 2)
    assert all(line.startswith("gru forward ") for line in lines)
    assert ("skipped impl 'torch'" in done.stderr) == (not has_torch)


def test_report_of_only_corrupt_input_exits_1_but_writes_the_notes(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    done = lstm_energy("report", bad, "-o", tmp_path / "r.html", check=False)
    assert done.returncode == 1
    assert f"{bad}:1" in done.stderr
    assert f"{bad}:1" in (tmp_path / "r.html").read_text()


def test_unknown_meter_is_a_usage_error_listing_the_names(tmp_path, capsys):
    from lstm_energy.cli import main
    from lstm_energy.meters.registry import NAMES

    out = tmp_path / "r.jsonl"
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", "--meter", "rapl", "--cells", "rnn", "--impls", "numpy", "-o", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown energy meter 'rapl'" in err and ", ".join(NAMES) in err
    assert "Traceback" not in err and not out.exists()


def test_unknown_meter_in_a_subprocess_prints_usage_not_a_traceback(tmp_path):
    done = lstm_energy("sweep", "--meter", "rapl", "-o", tmp_path / "r.jsonl", check=False)
    assert done.returncode == 2
    assert "usage: lstm-energy sweep" in done.stderr and "unknown energy meter 'rapl'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "toml, fragment",
    [
        ('[grid]\ncells = ["rnn"]\n[protocol]\nwindows = 0\n', "[protocol] windows must be a whole number >= 1, got 0"),
        (
            '[grid]\ncells = ["rnn"]\n[protocol]\nwindoes = 3\n',
            "unknown [protocol] setting(s) ['windoes']; the settings are ['windows', 'min_window_seconds'",
        ),
        (
            '[grid]\ncells = ["rnn"]\nimpls = ["numpy"]\nphases = ["train"]\nprecisions = ["int8"]\n',
            "the grid is empty: every combination is one that is never measured: training runs in fp32 only",
        ),
    ],
)
def test_dry_run_refuses_what_the_run_would_refuse(tmp_path, capsys, toml, fragment):
    from lstm_energy.cli import main

    grid, out = tmp_path / "grid.toml", tmp_path / "r.jsonl"
    grid.write_text(toml)
    for extra in (["--dry-run"], ["--meter", "model", "-o", str(out)]):
        assert main(["sweep", "--config", str(grid), *extra]) == 2
        captured = capsys.readouterr()
        assert fragment in captured.err and "Traceback" not in captured.err
        assert captured.out == ""
    assert not out.exists()


def test_an_unwritable_output_is_one_line_and_exit_2(tmp_path, capsys):
    from lstm_energy.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = ["sweep", "--cells", "rnn", "--impls", "numpy", "--phases", "forward", "--meter", "model"]
    assert main([*args, "-o", str(blocker / "r.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ERROR: cannot write -o '{blocker / 'r.jsonl'}': '{blocker}' is a file, not a directory")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_threads_above_the_cpu_count_are_refused_unless_a_remote_cluster_measures(tmp_path, capsys, monkeypatch):
    from lstm_energy.cli import main

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert main(["sweep", "--cells", "rnn", "--impls", "numpy", "--threads", "1,8", "--dry-run"]) == 2
    assert "threads=8 is more than the 2 CPU(s)" in capsys.readouterr().err
    # the workers of a remote scheduler have their own CPUs: listed, not refused here
    remote = ["sweep", "--cells", "rnn", "--impls", "numpy", "--threads", "8", "--dry-run", "--scheduler", "tcp://x:1"]
    assert main(remote) == 0
    assert "t=8" in capsys.readouterr().out


TINY_FLAGS = ["sweep", "--cells", "lstm", "--impls", "numpy", "--phases", "forward", "--hidden-size", "8"]


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--every-host"], "--every-host needs a cluster"),
        (["--spread"], "--spread needs a cluster"),
        (["--retries", "3"], "--retries needs a cluster"),
        (["--every-host", "--retries", "0"], "--every-host and --retries need a cluster"),
    ],
)
def test_cluster_only_flags_without_a_cluster_are_refused(tmp_path, capsys, flags, named):
    from lstm_energy.cli import main

    out = tmp_path / "r.jsonl"
    assert main([*TINY_FLAGS, "--meter", "simulated", "-o", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ERROR: ") and named in err and "--local-cluster N" in err
    assert not out.exists()


def test_require_measured_in_process_refuses_an_estimating_meter(tmp_path, capsys):
    from lstm_energy.cli import main

    out = tmp_path / "r.jsonl"
    assert main([*TINY_FLAGS, "--meter", "model", "-o", str(out), "--require-measured"]) == 2
    err = capsys.readouterr().err
    assert "ERROR: --require-measured: the meter 'model' makes estimated joules" in err
    assert not out.exists() or out.read_text() == ""


@pytest.mark.parametrize("value", ["-1", "-5", "two"])
def test_retries_must_be_a_whole_number_of_at_least_zero(tmp_path, capsys, value):
    from lstm_energy.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([*TINY_FLAGS, "--local-cluster", "1", "-o", str(tmp_path / "r.jsonl"), "--retries", value])
    assert exit_info.value.code == 2
    assert "argument --retries: expected a whole number >= 0" in capsys.readouterr().err


def test_a_malformed_scheduler_is_one_error_line_and_exit_2(tmp_path, capsys):
    pytest.importorskip("distributed")
    from lstm_energy.cli import main

    assert main([*TINY_FLAGS, "--meter", "model", "-o", str(tmp_path / "e.jsonl"), "--scheduler", "foo"]) == 2
    lines = capsys.readouterr().err.splitlines()  # refused before the sweep says what it is about to do
    assert lines == [
        "ERROR: --scheduler expected tcp://HOST:PORT (the scheduler's port, 8786 by default; tls://HOST:PORT "
        "with a TLS config), got 'foo' (missing port number in address 'foo')"
    ]
