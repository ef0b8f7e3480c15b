"""benchmarks/ratios.py: ratios of medians, GEMM efficiency, target verdicts and --check exit codes;
benchmarks/merge_sweeps.py: one run from the JSONs of one process per sweep.

Built on hand-made pytest-benchmark documents, so every verdict below is known in advance.
"""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_script(name):
    """benchmarks/<name>.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve string annotations through sys.modules
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def ratios():
    yield from load_script("ratios")


@pytest.fixture(scope="module")
def merge_sweeps():
    yield from load_script("merge_sweeps")


def peer(cell, phase, shape, threads, impl, median, gemm_flops=1e9, allocation=None):
    return {
        "name": f"test_peer[{cell}-{phase}-{shape}-{threads}t-{impl}]",
        "stats": {"median": median},
        "extra_info": {
            "kind": "peer",
            "cell": cell,
            "phase": phase,
            "shape": shape,
            "threads": threads,
            "impl": impl,
            "gemm_flops": gemm_flops,
            "timer": "benchmark",
            **({"allocation": allocation} if allocation else {}),
        },
    }


def sgemm(threads, median, n=1000):
    return {
        "name": f"test_sgemm[sgemm-{n}-{threads}t]",
        "stats": {"median": median},
        "extra_info": {"kind": "sgemm", "threads": threads, "n": n, "gemm_flops": 2 * n**3},
    }


def document(*benchmarks):
    return {
        "machine_info": {"cpu": {"brand_raw": "test cpu"}, "lstm_energy": {"blas": []}},
        "datetime": "2026-11-25T00:00:00",
        "benchmarks": list(benchmarks),
    }


def verdicts_by_target(ratios, doc):
    return {v.target: v for v in ratios.evaluate(ratios.load_run(doc))}


def test_ratio_of_medians_against_each_target_limit(ratios):
    doc = document(
        peer("lstm", "forward", "edge", 1, "cython", 0.004),
        peer("lstm", "forward", "edge", 1, "torch", 0.010),
        peer("lstm", "forward", "mid", 1, "cython", 0.011),
        peer("lstm", "forward", "mid", 1, "torch", 0.010),
        peer("gru", "train", "seed", 1, "cython", 0.006),
        peer("gru", "train", "seed", 1, "torch", 0.010),
    )
    got = verdicts_by_target(ratios, doc)
    assert got["lstm forward edge 1t: cython/torch <= 0.6"].status == "PASS"
    assert got["lstm forward edge 1t: cython/torch <= 0.6"].measured == "0.400"
    assert got["lstm forward mid 1t: cython/torch <= 1"].status == "FAIL"
    assert got["gru train seed 1t: cython/torch <= 0.7"].status == "PASS"  # 0.6 is within 0.7
    assert "lstm train edge" not in " ".join(got)  # issue 14 sets no LSTM train target at edge


def test_two_thread_rows_have_no_ratio_target(ratios):
    table = ratios.load_run(
        document(
            peer("rnn", "forward", "mid", 2, "cython", 0.9),
            peer("rnn", "forward", "mid", 2, "torch", 1.0),
        )
    )
    (row,) = ratios.table_rows(table)
    assert row[ratios.COLUMNS.index("cy/torch")] == "0.900"
    assert row[ratios.COLUMNS.index("verdict")] == ""
    assert ratios.evaluate(table)[0].status == "MISSING"  # the 1-thread row of that target is absent


def test_rows_with_a_wide_spread_are_flagged_noisy(ratios):
    steady = peer("rnn", "forward", "mid", 1, "cython", 1.0)
    steady["stats"]["iqr"] = 0.02
    shaky = peer("rnn", "forward", "mid", 1, "torch", 1.0)
    shaky["stats"]["iqr"] = 0.30
    (row,) = ratios.table_rows(ratios.load_run(document(steady, shaky)))
    assert row[ratios.COLUMNS.index("spread")] == "30% NOISY"
    steady_torch = peer("rnn", "forward", "mid", 1, "torch", 1.0)
    steady_torch["stats"]["iqr"] = 0.05
    (row,) = ratios.table_rows(ratios.load_run(document(steady, steady_torch)))
    assert row[ratios.COLUMNS.index("spread")] == "5%"


def test_missing_peer_is_missing_not_pass(ratios):
    got = verdicts_by_target(ratios, document(peer("rnn", "forward", "edge", 1, "cython", 0.001)))
    assert got["rnn forward edge 1t: cython/torch <= 0.3"].status == "MISSING"


def test_gemm_efficiency_uses_sgemm_at_the_same_thread_count(ratios):
    # sgemm: 2e9 FLOPs in 0.02 s = 100 GFLOP/s at 1 thread, 200 at 2 threads
    doc = document(
        sgemm(1, 0.02),
        sgemm(2, 0.01),
        peer("lstm", "forward", "big", 1, "cython", 1.0, gemm_flops=85e9),
        peer("lstm", "forward", "big", 2, "cython", 1.0, gemm_flops=85e9),
        peer("rnn", "forward", "big", 1, "cython", 1.0, gemm_flops=84e9),
        peer("gru", "forward", "big", 1, "cython", 1.0, gemm_flops=70e9),
    )
    table = ratios.load_run(doc)
    assert table.efficiency("lstm", "forward", "big", 1, "cython") == pytest.approx(0.85)
    assert table.efficiency("lstm", "forward", "big", 2, "cython") == pytest.approx(0.425)
    got = verdicts_by_target(ratios, doc)
    assert got["lstm forward big 1t: GEMM efficiency >= 85%"].status == "PASS"  # 85 % is allowed
    assert got["rnn forward big 1t: GEMM efficiency >= 85%"].status == "FAIL"
    assert got["gru forward big 1t: GEMM efficiency >= 85%"].status == "FAIL"
    assert got["gru forward big 1t: GEMM efficiency >= 85%"].measured == "70%"


def test_target_needs_is_the_efficiency_that_meets_the_limit(ratios):
    # sgemm 100 GFLOP/s; torch takes 1 s for 60 GFLOP; limit 0.8 -> cython needs 60e9 / 0.8 s
    # = 75 GFLOP/s = 75 % of sgemm. LSTM forward mid (limit 1.0) needs 60 %.
    doc = document(
        sgemm(1, 0.02),
        peer("gru", "forward", "mid", 1, "cython", 1.2, gemm_flops=60e9),
        peer("gru", "forward", "mid", 1, "torch", 1.0, gemm_flops=60e9),
        peer("lstm", "forward", "mid", 1, "cython", 0.9, gemm_flops=60e9),
        peer("lstm", "forward", "mid", 1, "torch", 1.0, gemm_flops=60e9),
        peer("lstm", "forward", "mid", 2, "cython", 0.9, gemm_flops=60e9),
        peer("lstm", "forward", "mid", 2, "torch", 1.0, gemm_flops=60e9),
    )
    rows = {(r[0], r[3]): r for r in ratios.table_rows(ratios.load_run(doc))}
    needs = ratios.COLUMNS.index("target needs")
    assert rows[("gru", "1")][needs] == "75%"
    assert rows[("lstm", "1")][needs] == "60%"
    assert rows[("lstm", "2")][needs] == ""  # no ratio target at 2 threads


def test_sgemm_ceiling_is_the_faster_of_before_and_after(ratios):
    table = ratios.load_run(document(sgemm(1, 0.04), sgemm(1, 0.02), sgemm(1, 0.03)))
    assert table.sgemm_gflops[1] == pytest.approx(100.0)
    assert table.sgemm_readings[1] == pytest.approx([50.0, 100.0, 2000 / 30])


def test_header_shows_the_spread_of_the_sgemm_readings(ratios):
    """Several readings of one sgemm (before and after the peers, in every process) say how far the host's
    load moved during the run; a single reading shows no range."""
    table = ratios.load_run(document(sgemm(1, 0.025), sgemm(1, 0.02), sgemm(2, 0.011)))
    text = ratios.describe_run(table, Path("run.json"))
    assert "sgemm ceiling GFLOP/s: 1t 100.0 (2 readings 80.0–100.0), 2t 181.8\n" in text + "\n"


def test_two_thread_speedup_at_big(ratios):
    doc = document(
        peer("lstm", "forward", "big", 1, "cython", 1.0),
        peer("lstm", "forward", "big", 2, "cython", 0.6),
        peer("lstm", "train", "big", 1, "cython", 1.0),
        peer("lstm", "train", "big", 2, "cython", 0.7),
    )
    got = verdicts_by_target(ratios, doc)
    assert got["lstm forward big cython: 2 threads >= 1.6x faster than 1"].status == "PASS"  # 1.67x
    assert got["lstm train big cython: 2 threads >= 1.6x faster than 1"].status == "FAIL"  # 1.43x


def test_allocation_target_reads_the_worst_cython_call(ratios):
    fine = {"peak_bytes": 1000, "output_bytes": 900, "excess_bytes": 100, "slack_bytes": 16384, "traceable": True}
    leaky = {
        "peak_bytes": 10**6,
        "output_bytes": 900,
        "excess_bytes": 10**6 - 900,
        "slack_bytes": 16384,
        "traceable": True,
    }
    target = "cython: a prepared call allocates only its returned outputs (tracemalloc)"
    assert (
        verdicts_by_target(ratios, document(peer("rnn", "forward", "edge", 1, "cython", 1.0, allocation=fine)))[
            target
        ].status
        == "PASS"
    )
    got = verdicts_by_target(
        ratios,
        document(
            peer("rnn", "forward", "edge", 1, "cython", 1.0, allocation=fine),
            peer("rnn", "train", "edge", 1, "cython", 1.0, allocation=leaky),
            peer("rnn", "train", "edge", 1, "numpy", 1.0, allocation={**leaky, "excess_bytes": 10**9}),
        ),
    )[target]
    assert got.status == "FAIL"
    assert "rnn-train-edge-1" in got.measured  # names the worst cython configuration, not numpy's


def write(tmp_path, doc):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_check_flag_sets_the_exit_code_only_when_asked(ratios, tmp_path, capsys):
    failing = write(
        tmp_path,
        document(peer("rnn", "forward", "edge", 1, "cython", 2.0), peer("rnn", "forward", "edge", 1, "torch", 1.0)),
    )
    assert ratios.main([failing]) == 0
    assert ratios.main([failing, "--check"]) == 1
    assert "FAIL" in capsys.readouterr().out
    no_allocation = {"peak_bytes": 0, "output_bytes": 0, "excess_bytes": 0, "slack_bytes": 0, "traceable": True}
    passing = write(
        tmp_path,
        document(
            peer("rnn", "forward", "edge", 1, "cython", 0.25, allocation=no_allocation),
            peer("rnn", "forward", "edge", 1, "torch", 1.0),
        ),
    )
    assert ratios.main([passing, "--check"]) == 0
    unmeasured_allocation = write(
        tmp_path,
        document(peer("rnn", "forward", "edge", 1, "cython", 0.25), peer("rnn", "forward", "edge", 1, "torch", 1.0)),
    )
    assert ratios.main([unmeasured_allocation, "--check"]) == 1  # MISSING counts against --check


def test_markdown_output_is_a_table(ratios, tmp_path, capsys):
    path = write(
        tmp_path,
        document(peer("rnn", "forward", "edge", 1, "cython", 0.5), peer("rnn", "forward", "edge", 1, "torch", 1.0)),
    )
    assert ratios.main([path, "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| cell | phase | shape |" in out
    assert "| rnn | forward | edge | 1 |" in out


def test_unusable_input_exits_2_with_a_reason(ratios, tmp_path, capsys):
    assert ratios.main([str(tmp_path / "absent.json")]) == 2
    untimed = write(
        tmp_path, {"machine_info": {}, "benchmarks": [{"name": "x", "stats": None, "extra_info": {"kind": "peer"}}]}
    )
    assert ratios.main([untimed]) == 2
    assert "--benchmark-disable" in capsys.readouterr().err
    not_benchmark = write(tmp_path, {"hello": 1})
    assert ratios.main([not_benchmark]) == 2


def test_sweeps_use_the_median_of_the_sweep_medians(ratios):
    """A --peer-sweeps run holds each configuration once per sweep: one disturbed sweep (torch
    slowed 3x in sweep 2) must not decide the ratio, and the spread keeps the worst sweep's."""

    def swept(impl, medians, iqrs):
        out = []
        for sweep, (median, iqr) in enumerate(zip(medians, iqrs), start=1):
            bench = peer("rnn", "forward", "mid", 1, impl, median)
            bench["extra_info"]["sweep"] = sweep
            bench["stats"]["iqr"] = iqr
            out.append(bench)
        return out

    doc = document(
        *swept("cython", [0.0050, 0.0056, 0.0052], [0.0001, 0.0001, 0.0002]),
        *swept("torch", [0.0100, 0.0300, 0.0098], [0.0001, 0.0009, 0.0001]),
    )
    table = ratios.load_run(doc)
    assert table.sweeps == 3
    assert table.ratio("rnn", "forward", "mid", 1) == pytest.approx(0.0052 / 0.0100)
    assert table.spread[("rnn", "forward", "mid", 1, "cython")] == pytest.approx(0.0002 / 0.0052)
    # the verdict: median of the per-sweep ratios 0.50, 0.187, 0.531
    assert table.median_ratio("rnn", "forward", "mid", 1) == pytest.approx(0.0050 / 0.0100)
    got = verdicts_by_target(ratios, doc)["rnn forward mid 1t: cython/torch <= 0.8"]
    assert got.status == "PASS" and got.measured == "0.500"
    assert "median over 3 sweeps" in ratios.describe_run(table, Path("run.json"))


def test_each_sweeps_own_ratio_is_shown_as_a_range(ratios):
    """Per sweep, cython ÷ torch from that sweep's two medians (run back to back); the row shows the
    lowest and highest; the cy/torch column and the verdict use their median (issue 14)."""
    benches = []
    for impl, medians in (("cython", [0.0050, 0.0060, 0.0052]), ("torch", [0.0100, 0.0080, 0.0104])):
        for sweep, median in enumerate(medians, start=1):
            bench = peer("gru", "forward", "mid", 1, impl, median)
            bench["extra_info"]["sweep"] = sweep
            benches.append(bench)
    table = ratios.load_run(document(*benches))
    assert table.sweep_ratios("gru", "forward", "mid", 1) == pytest.approx([0.5, 0.75, 0.5])
    (row,) = ratios.table_rows(table)
    assert row[ratios.COLUMNS.index("cy/torch by sweep")] == "0.50–0.75"
    assert row[ratios.COLUMNS.index("cy/torch")] == "0.500"
    assert row[ratios.COLUMNS.index("verdict")] == "PASS"


def test_a_single_sweep_run_shows_no_sweep_range(ratios):
    table = ratios.load_run(
        document(peer("gru", "forward", "mid", 1, "cython", 0.005), peer("gru", "forward", "mid", 1, "torch", 0.010))
    )
    (row,) = ratios.table_rows(table)
    assert row[ratios.COLUMNS.index("cy/torch by sweep")] == ""


def test_median_of_sweep_ratios_differs_from_ratio_of_pooled_medians(ratios):
    """Sweeps where both peers slowed together keep their ratio: the verdict takes the median of
    each sweep's own ratio (0.9, 0.7, 0.7 -> 0.7 PASS), not pooled medians (0.0045 / 0.005 = 0.9)."""
    benches = []
    for impl, medians in (("cython", [0.0045, 0.0070, 0.0028]), ("torch", [0.0050, 0.0100, 0.0040])):
        for sweep, median in enumerate(medians, start=1):
            bench = peer("gru", "forward", "seed", 1, impl, median)
            bench["extra_info"]["sweep"] = sweep
            benches.append(bench)
    doc = document(*benches)
    table = ratios.load_run(doc)
    assert table.ratio("gru", "forward", "seed", 1) == pytest.approx(0.9)
    assert table.median_ratio("gru", "forward", "seed", 1) == pytest.approx(0.7)
    assert verdicts_by_target(ratios, doc)["gru forward seed 1t: cython/torch <= 0.7"].status == "PASS"


def test_header_names_cpu_kernel_path_and_openblas_core_type(ratios):
    doc = document(peer("gru", "forward", "mid", 1, "cython", 0.005), peer("gru", "forward", "mid", 1, "torch", 0.010))
    doc["machine_info"]["lstm_energy"] = {
        "environment": {
            "isa": "avx512",
            "cpu_model": "AMD EPYC",
            "cores": 2,
            "blas": [{"user_api": "blas", "internal_api": "openblas", "version": "0.3", "architecture": "Zen"}],
        },
        "cpu_id": {"vendor": "amd", "family": 25, "model": 17, "microarchitecture": "Zen 4 (EPYC Genoa/Bergamo)"},
    }
    text = ratios.describe_run(ratios.load_run(doc), Path("run.json"))
    assert "cpu: AMD, family 25 model 17, Zen 4 (EPYC Genoa/Bergamo)" in text
    assert "kernel path (isa): avx512" in text and "OpenBLAS core type: Zen" in text


# --- a run merged from one process per sweep (benchmarks/merge_sweeps.py, run.sh with SWEEPS > 1) ---


def one_process_sweep(sweep, cython_median, torch_median, sgemm_median):
    """The JSON one process of a multi-process run writes: its own sweep of a row, sgemm around it."""
    benches = [
        peer("lstm", "forward", "edge", 1, "cython", cython_median),
        peer("lstm", "forward", "edge", 1, "torch", torch_median),
    ]
    for bench in benches:
        bench["extra_info"]["sweep"] = sweep
    doc = document(*benches, sgemm(1, sgemm_median))
    doc["datetime"] = f"2026-12-07T21:0{sweep}:00"
    return doc


def test_merged_sweeps_are_one_run_of_that_many_sweeps(ratios, merge_sweeps):
    """Three processes, one sweep each: ratios.py sees three sweeps, takes the median of their own
    ratios (0.5, 0.7, 0.6 -> 0.6), keeps the fastest sgemm and says each sweep had its own process."""
    docs = [
        one_process_sweep(1, 0.0050, 0.0100, 0.0030),
        one_process_sweep(2, 0.0070, 0.0100, 0.0020),
        one_process_sweep(3, 0.0060, 0.0100, 0.0025),
    ]
    merged = merge_sweeps.merge_runs(docs)
    table = ratios.load_run(merged)
    assert table.sweeps == 3 and table.processes == 3
    assert table.sweep_ratios("lstm", "forward", "edge", 1) == pytest.approx([0.5, 0.7, 0.6])
    assert table.median_ratio("lstm", "forward", "edge", 1) == pytest.approx(0.6)
    assert table.sgemm_gflops[1] == pytest.approx(2 * 1000**3 / 0.0020 / 1e9)
    assert "median over 3 sweeps of the grid, each sweep in its own process" in ratios.describe_run(table, Path("m"))
    names = [b["name"] for b in merged["benchmarks"] if b["extra_info"]["kind"] == "sgemm"]
    assert names == [
        "test_sgemm[sgemm-1000-1t]",
        "test_sgemm[sgemm-1000-1t]-process2",
        "test_sgemm[sgemm-1000-1t]-process3",
    ]
    assert [b["extra_info"]["process"] for b in merged["benchmarks"]] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert [m["datetime"] for m in merged["merged_from"]] == [d["datetime"] for d in docs]
    assert merged["datetime"] == docs[0]["datetime"]
    assert "process" not in docs[1]["benchmarks"][0]["extra_info"]  # the inputs are left as they were


def test_sweeps_of_one_process_say_so(ratios):
    benches = []
    for sweep in (1, 2):
        for impl in ("cython", "torch"):
            bench = peer("gru", "forward", "mid", 1, impl, 0.005)
            bench["extra_info"]["sweep"] = sweep
            benches.append(bench)
    table = ratios.load_run(document(*benches))
    assert table.processes == 1
    assert "2 sweeps of the grid, all in one process" in ratios.describe_run(table, Path("run.json"))


def test_a_sweep_in_two_files_is_refused(merge_sweeps):
    """Two processes both numbered their sweep 1 (no --peer-sweep-start): merging them would pool two
    sweeps under one number, so ratios.py would silently drop one."""
    docs = [one_process_sweep(1, 0.005, 0.01, 0.002), one_process_sweep(1, 0.006, 0.01, 0.002)]
    with pytest.raises(
        ValueError, match=r"sweep 1 of lstm-forward-edge-1-cython is in both a.json and b.json.*--peer-sweep-start"
    ):
        merge_sweeps.merge_runs(docs, ["a.json", "b.json"])


def test_files_from_another_cpu_or_kernel_path_are_refused(merge_sweeps):
    docs = [one_process_sweep(1, 0.005, 0.01, 0.002), one_process_sweep(2, 0.006, 0.01, 0.002)]
    docs[1]["machine_info"]["lstm_energy"]["environment"] = {"isa": "avx2"}
    with pytest.raises(ValueError, match="another CPU or kernel path"):
        merge_sweeps.merge_runs(docs)


def test_merge_command_writes_the_run_or_nothing(merge_sweeps, tmp_path, capsys):
    parts = []
    for sweep in (1, 2):
        part = tmp_path / f"sweep{sweep}.json"
        part.write_text(json.dumps(one_process_sweep(sweep, 0.005, 0.01, 0.002)))
        parts.append(str(part))
    out = tmp_path / "run.json"
    assert merge_sweeps.main([str(out), *parts]) == 0
    assert len(json.loads(out.read_text())["benchmarks"]) == 6

    refused = tmp_path / "refused.json"
    assert merge_sweeps.main([str(refused), parts[0], parts[0]]) == 2
    assert not refused.exists()
    assert "give each process its own --peer-sweep-start" in capsys.readouterr().err
    assert merge_sweeps.main([str(refused), str(tmp_path / "absent.json")]) == 2
