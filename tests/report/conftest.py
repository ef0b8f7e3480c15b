"""Fixtures for the report tests: a factory of realistic synthetic records (schema v1), so rendering is
tested without hardware and without the measurement code."""

from __future__ import annotations

import json

import pytest

from lstm_energy.config import CELLS, GATES, IMPLS

IMPL_SPEED = {"cython": 1.0, "numpy": 1.8, "torch": 0.9}  # relative seconds per FLOP


def _stat(median: float, spread: float = 0.04) -> dict:
    return {
        "median": median,
        "q1": median * (1 - spread / 2),
        "q3": median * (1 + spread / 2),
        "ci95_low": median * (1 - spread),
        "ci95_high": median * (1 + spread),
    }


def make_record(
    cell="lstm",
    phase="forward",
    impl="cython",
    *,
    batch=8,
    seq_len=16,
    input_size=32,
    hidden_size=64,
    provenance="estimated",
    meter=None,
    domains=None,
    warnings=(),
    threads=1,
    precision=None,
) -> dict:
    """A plausible schema-v1 profile record: FLOPs from the GEMM count, time from a GFLOP/s rate,
    energy from a J/FLOP + J/byte model (the same shape a ProfileResult.to_record() produces)."""
    gates = GATES[cell]
    per_step = 2 * batch * (input_size + hidden_size) * gates * hidden_size  # GEMM FLOPs of one step
    factor = {"forward": 1.0, "backward": 2.0, "train": 3.0}[phase]
    gemm = int(per_step * seq_len * factor)
    elementwise = int(10 * batch * hidden_size * seq_len * factor)
    flops = gemm + elementwise
    moved = int(
        4 * (gates * hidden_size * (input_size + hidden_size) + seq_len * batch * (input_size + hidden_size)) * factor
    )
    seconds = flops / (8e9 / IMPL_SPEED[impl]) + 2e-5
    joules = (
        flops * 25e-12 + moved * 0.2e-9 + 4.0 * (seconds - 2e-5) * 0.5 + 1e-6
    )  # + a share of static power while busy
    if meter is None:
        meter = {
            "estimated": {
                "name": "model",
                "provenance": "estimated",
                "parameters": {"pj_per_flop": 25.0, "nj_per_byte": 0.2, "idle_watts": 3.0},
            },
            "simulated": {"name": "simulated", "provenance": "simulated", "parameters": {"watts": 10.0}},
            "measured": {
                "name": "powercap",
                "provenance": "measured",
                "counter": "/sys/class/powercap/intel-rapl:0/energy_uj",
                "domains": ["package-0", "package-0/dram"],
                "headline_domains": ["package-0"],
            },
        }[provenance]
    if domains is None and provenance == "measured":
        domains = {"package-0": joules, "package-0/core": joules * 0.7, "package-0/dram": joules * 0.15}
    return {
        "schema_version": 1,
        "kind": "profile",
        "created": "2026-11-25T21:30:00Z",
        "config": {
            "cell": cell,
            "nonlinearity": "tanh" if cell == "rnn" else None,
            "impl": impl,
            "phase": phase,
            "batch": batch,
            "seq_len": seq_len,
            "input_size": input_size,
            "hidden_size": hidden_size,
            "num_layers": 1,
            "bidirectional": False,
            "dtype": "float32",
            "threads": threads,
            **({"precision": precision} if precision else {}),
        },
        "energy": {
            "provenance": provenance,
            "meter": meter,
            "headline_domains": ["package-0"],
            "joules_per_call": _stat(joules),
            "joules_per_sequence": _stat(joules / batch),
            "total_joules_per_sequence": _stat((joules + 3.0 * seconds) / batch),
            "idle_watts": 3.0,
            "domains_joules_per_call": domains or {},
        },
        "time": {
            "seconds_per_call": _stat(seconds, 0.02),
            "seconds_per_sequence": seconds / batch,
            "calls_per_window": 10,
            "windows": 5,
            "window_seconds": 0.05,
            "warmup_calls": 3,
            "cv": 0.02,
        },
        "costs": {
            "convention": "FLOP = one add or multiply; a multiply-add counts 2; transcendentals counted separately",
            "source": "model",
            "flops": {"gemm": gemm, "elementwise": elementwise, "transcendental": elementwise // 5, "total": flops},
            "bytes": {"compulsory": moved // 2, "expected": moved},
            "arithmetic_intensity_flop_per_byte": flops / moved,
            "w_hh_residency": "L2",
        },
        "derived": {
            "gflops_per_second": flops / seconds / 1e9,
            "watts": joules / seconds,
            "pj_per_flop": joules / flops * 1e12,
            "nj_per_byte": joules / moved * 1e9,
        },
        "environment": {
            "cpu_model": "Intel(R) Xeon(R) CPU @ 2.20GHz",
            "cores": 2,
            "kernel": "6.1.0",
            "governor": None,
            "turbo": None,
            "blas": [{"user_api": "blas", "internal_api": "openblas", "version": "0.3.28", "num_threads": 1}],
            "blas_threads": 1,
            "python": "3.11.7",
            "versions": {"lstm_energy": "0.1.0", "numpy": "2.4.0", "scipy": "1.17.0", "torch": "2.13.0"},
            "hostname": "testhost",
        },
        "warnings": list(warnings),
    }


def make_grid(
    provenance="estimated",
    impls=IMPLS,
    phases=("forward", "train"),
    hidden_sizes=(32, 64, 128),
    cells=CELLS,
) -> list[dict]:
    return [
        make_record(
            c,
            p,
            i,
            hidden_size=h,
            provenance=provenance,
            warnings=("window shorter than 100 update periods of the meter: raise min_window_seconds",)
            if h == 32
            else (),
        )
        for c in cells
        for p in phases
        for i in impls
        for h in hidden_sizes
    ]


def write_jsonl(path, records, extra_lines=()):
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
        for line in extra_lines:
            f.write(line)
    return path


@pytest.fixture
def record_factory():
    return make_record


@pytest.fixture
def grid_factory():
    return make_grid


@pytest.fixture
def jsonl_writer():
    return write_jsonl


def dead_counter(record: dict) -> dict:
    """``record`` as a dead counter stores it: every joule 0, idle 0 W (the VM signature), time intact."""
    energy = record["energy"]
    for key in ("joules_per_call", "joules_per_sequence", "total_joules_per_sequence"):
        energy[key] = {k: 0.0 for k in energy[key]}
    energy["idle_watts"] = 0.0
    energy["domains_joules_per_call"] = {k: 0.0 for k in energy.get("domains_joules_per_call") or {}}
    record["derived"].update(watts=0.0, pj_per_flop=0.0, nj_per_byte=0.0)
    return record


def benchmark_json(records, extra_benchmarks=()) -> dict:
    """A pytest-benchmark ``--benchmark-json`` document whose benchmarks carry ``records`` in extra_info."""
    benchmarks = [
        {
            "name": f"test_{i}",
            "fullname": f"tests/test_x.py::test_{i}",
            "group": None,
            "params": None,
            "stats": {"median": 0.001, "mean": 0.0011, "rounds": 10, "iterations": 1},
            "extra_info": {"lstm_energy": r},
        }
        for i, r in enumerate(records)
    ]
    return {
        "machine_info": {"node": "box", "python_version": "3.11.7", "cpu": {"brand_raw": "Some CPU"}},
        "benchmarks": benchmarks + list(extra_benchmarks),
        "datetime": "2026-11-25T21:00:00",
        "version": "5.2.3",
    }


def unresolved_above_idle(record: dict, median=-2.55e-7, low=-3.12e-7, high=5.05e-7) -> dict:
    """``record`` as a measured meter at constant power stores it: dynamic energy per sequence ``median``
    with a 95% CI [low, high] reaching zero, the derived figures following it, and the protocol's own
    warning (made by lstm_energy.measure.checks, so its wording is the one the report looks for)."""
    from lstm_energy.measure.checks import dynamic_resolution_warning
    from lstm_energy.measure.statistics import Summary

    batch = record["config"]["batch"]
    energy = record["energy"]
    energy["joules_per_sequence"] = {"median": median, "q1": low, "q3": high, "ci95_low": low, "ci95_high": high}
    energy["joules_per_call"] = {k: v * batch for k, v in energy["joules_per_sequence"].items()}
    per_call = energy["joules_per_call"]
    seconds = record["time"]["seconds_per_call"]["median"]
    flops, moved = record["costs"]["flops"]["total"], record["costs"]["bytes"]["expected"]
    record["derived"].update(
        watts=per_call["median"] / seconds,
        pj_per_flop=per_call["median"] / flops * 1e12,
        nj_per_byte=per_call["median"] / moved * 1e9,
    )
    summary = Summary(per_call["median"], per_call["q1"], per_call["q3"], per_call["ci95_low"], per_call["ci95_high"])
    record["warnings"] = [*record["warnings"], dynamic_resolution_warning(summary)]
    return record


@pytest.fixture
def make_unresolved():
    """unresolved_above_idle(record, median=..., low=..., high=...): changed in place and returned."""
    return unresolved_above_idle


@pytest.fixture
def dead_counter_records():
    """Records of a sweep measured through a dead counter (provenance "measured", all 0 J, idle 0 W)."""

    def make(**grid):
        return [dead_counter(r) for r in make_grid("measured", **grid)]

    return make


@pytest.fixture(name="benchmark_json")
def benchmark_json_fixture():
    """The :func:`benchmark_json` builder, as a fixture (test modules do not import conftest)."""
    return benchmark_json


@pytest.fixture
def benchmark_writer():
    def write(path, records):
        path.write_text(json.dumps(benchmark_json(records)))
        return path

    return write


@pytest.fixture
def kill_counter():
    """dead_counter(record): the record as a dead counter stores it (changed in place and returned)."""
    return dead_counter
