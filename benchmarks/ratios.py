#!/usr/bin/env python
"""Ratio table of one peer-benchmark run: cython ÷ torch per (cell, phase, shape, threads), GEMM efficiency.

    python benchmarks/ratios.py [BENCH.json] [--check] [--markdown]

BENCH.json is a pytest-benchmark JSON written by benchmarks/run.sh (default: the newest file in
.benchmarks/peers/). Every figure compares medians measured side by side in that one run; absolute
times from different runs are never compared. Each issue-3 target is marked PASS, FAIL or MISSING
(a configuration of the target was not in the run); ``--check`` exits 1 when any target FAILs or
is MISSING, otherwise the exit code is 0 whatever the verdicts. Exit 2: bad usage or unreadable file.

"spread" is the largest interquartile range ÷ median among a row's peers; above 10 % the row is
marked NOISY (the machine was busy): re-run it with -k before believing it.

A run made with ``--peer-sweeps N`` (run.sh: SWEEPS=N) holds every configuration N times, minutes
apart; its seconds are then the median of the N sweeps' medians, and its spread the largest of
their spreads. "cy/torch by sweep" shows the lowest and highest cython ÷ torch among the sweeps
(each sweep's two medians, measured back to back): a target whose limit lies inside that range
passed or failed with the host's load in that run, not with the code. The "cy/torch" column and the
verdicts use the median of those per-sweep ratios (each sweep compares two medians timed minutes
apart at most, so a burst of load that slows one peer in one sweep moves one ratio, not the median);
the 2-thread speed-up likewise is the median of each sweep's own 1-thread ÷ 2-thread time.

The header names the CPU (vendor, cpuid family/model, microarchitecture), the instruction-set path
the kernels took (environment "isa": LSTM_ENERGY_ISA or the CPU's widest) and the core type
OpenBLAS picked, since a ratio belongs to that combination: docs/performance.md keeps one table
per CPU class.

GEMM efficiency = achieved GEMM GFLOP/s of a call (extra_info["gemm_flops"] / median seconds) ÷
GFLOP/s of the square sgemm measured in the same run at the same thread count (test_sgemm.py; it
runs before and after the peers, and the faster of the two is the ceiling).

"target needs" = the GEMM efficiency the cython call would need to meet its ratio target in this
run: GEMM FLOPs ÷ (limit × torch's median) ÷ the sgemm ceiling. Above 100 % the target asks the
whole call (GEMMs, gate math, overheads) to beat the rate of a large square sgemm on this machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lstm_energy.config import CELLS
from lstm_energy.errors import ResultsSchemaError

DEFAULT_DIRECTORY = Path(".benchmarks") / "peers"
SHAPE_ORDER = ("edge", "mid", "big", "seed")
PHASE_ORDER = ("forward", "train")

#: (cell, phase) -> {shape: max cython÷torch ratio at 1 thread (issue 14)}; absent shape = no target
RATIO_TARGETS = {
    ("lstm", "forward"): {"edge": 0.6, "mid": 1.0, "big": 1.0, "seed": 1.0},
    ("lstm", "train"): {"mid": 0.9, "big": 0.9, "seed": 0.9},
    **{
        (cell, phase): {"edge": 0.3, "mid": 0.8, "big": 0.8, "seed": 0.7}
        for cell in ("gru", "rnn")
        for phase in PHASE_ORDER
    },
}
#: cython forward GEMM efficiency at shape "big", 1 thread
GEMM_EFFICIENCY_TARGET = 0.85
#: cython time at 1 thread ÷ time at 2 threads, shape "big"
TWO_THREAD_SPEEDUP_TARGET = 1.6


@dataclass
class RunTable:
    """The numbers of one run, keyed the way the targets need them."""

    #: (cell, phase, shape, threads, impl) -> median seconds per call
    seconds: dict = field(default_factory=dict)
    #: (cell, phase, shape, threads, impl) -> interquartile range ÷ median of the rounds (spread)
    spread: dict = field(default_factory=dict)
    #: (cell, phase, shape) -> exact GEMM FLOPs of one call
    gemm_flops: dict = field(default_factory=dict)
    #: threads -> every sgemm reading of the run in GFLOP/s (two per process: before and after the peers)
    sgemm_readings: dict = field(default_factory=dict)
    #: (cell, phase, shape, threads, impl) -> extra_info["allocation"]
    allocation: dict = field(default_factory=dict)
    machine: dict = field(default_factory=dict)
    timers: set = field(default_factory=set)
    #: "provenance by meter" of every energy record in the run (extra_info["lstm_energy"])
    energy_sources: set = field(default_factory=set)
    datetime: str = ""
    #: passes over the grid in the run (--peer-sweeps); seconds are medians over them
    sweeps: int = 1
    #: (cell, phase, shape, threads, impl) -> {sweep number: median seconds of that sweep}
    sweep_seconds: dict = field(default_factory=dict)
    #: pytest processes the peers ran in (benchmarks/merge_sweeps.py records extra_info["process"])
    processes: int = 1

    @property
    def sgemm_gflops(self) -> dict:
        """threads -> the sgemm ceiling in GFLOP/s: the fastest of the run's readings (each a median time,
        taken before and after the peers in every process)."""
        return {threads: max(readings) for threads, readings in self.sgemm_readings.items()}

    def ratio(self, cell, phase, shape, threads, numerator="cython", denominator="torch"):
        top = self.seconds.get((cell, phase, shape, threads, numerator))
        bottom = self.seconds.get((cell, phase, shape, threads, denominator))
        return None if top is None or bottom is None else top / bottom

    def median_ratio(self, cell, phase, shape, threads, numerator="cython", denominator="torch"):
        """The median over the sweeps of each sweep's own numerator ÷ denominator (each sweep's two
        medians were measured back to back); for a run of one sweep, its ratio. None when missing."""
        ratios = self.sweep_ratios(cell, phase, shape, threads, numerator, denominator)
        if ratios:
            return statistics.median(ratios)
        return self.ratio(cell, phase, shape, threads, numerator, denominator)

    def sweep_ratios(self, cell, phase, shape, threads, numerator="cython", denominator="torch"):
        """numerator ÷ denominator within each sweep that timed both, in sweep order."""
        top = self.sweep_seconds.get((cell, phase, shape, threads, numerator), {})
        bottom = self.sweep_seconds.get((cell, phase, shape, threads, denominator), {})
        return [top[sweep] / bottom[sweep] for sweep in sorted(top.keys() & bottom.keys())]

    def gflops(self, cell, phase, shape, threads, impl):
        seconds = self.seconds.get((cell, phase, shape, threads, impl))
        flops = self.gemm_flops.get((cell, phase, shape))
        return None if seconds is None or flops is None else flops / seconds / 1e9

    def efficiency(self, cell, phase, shape, threads, impl):
        achieved = self.gflops(cell, phase, shape, threads, impl)
        ceiling = self.sgemm_gflops.get(threads)
        return None if achieved is None or not ceiling else achieved / ceiling

    def needed_efficiency(self, cell, phase, shape, threads, limit):
        """GEMM efficiency the cython call needs for cython/torch <= limit (see the module docstring)."""
        torch_seconds = self.seconds.get((cell, phase, shape, threads, "torch"))
        flops = self.gemm_flops.get((cell, phase, shape))
        ceiling = self.sgemm_gflops.get(threads)
        if torch_seconds is None or flops is None or not ceiling:
            return None
        return flops / (limit * torch_seconds) / 1e9 / ceiling

    def groups(self):
        """Every (cell, phase, shape, threads) present, in reading order."""
        keys = {k[:4] for k in self.seconds}
        return sorted(
            keys, key=lambda k: (_rank(CELLS, k[0]), _rank(PHASE_ORDER, k[1]), k[3], _rank(SHAPE_ORDER, k[2]))
        )


def _rank(order, value):
    return order.index(value) if value in order else len(order)


@dataclass(frozen=True)
class Verdict:
    """One target: what it asks, what the run shows, PASS / FAIL / MISSING."""

    target: str
    measured: str
    status: str


def load_run(data: dict) -> RunTable:
    """Read a pytest-benchmark JSON document (already parsed) into a RunTable."""
    if "benchmarks" not in data:
        raise ResultsSchemaError("not a pytest-benchmark JSON: no 'benchmarks' list; pass the file run.sh wrote")
    table = RunTable(machine=data.get("machine_info", {}), datetime=data.get("datetime", ""))
    sweep_medians: dict = {}  # key -> the median of each sweep
    sweep_spreads: dict = {}  # key -> the IQR ÷ median of each sweep
    processes: set = set()  # extra_info["process"] of the peers, in a merged run
    for bench in data["benchmarks"]:
        info = bench.get("extra_info", {})
        stats = bench.get("stats") or {}
        median = stats.get("median")
        if median is None:
            continue  # --benchmark-disable runs carry no stats
        table.timers.add(info.get("timer", "benchmark"))
        energy = (info.get("lstm_energy") or {}).get("energy")
        if energy:
            table.energy_sources.add(f"{energy.get('provenance')} by meter {energy.get('meter', {}).get('name')}")
        if info.get("kind") == "peer":
            key = (info["cell"], info["phase"], info["shape"], int(info["threads"]), info["impl"])
            sweep_medians.setdefault(key, []).append(float(median))
            table.sweep_seconds.setdefault(key, {})[int(info.get("sweep", 1))] = float(median)
            processes.add(info.get("process", 1))
            if stats.get("iqr") is not None and median > 0:
                sweep_spreads.setdefault(key, []).append(float(stats["iqr"]) / float(median))
            table.gemm_flops[key[:3]] = int(info["gemm_flops"])
            if info.get("allocation"):
                table.allocation[key] = info["allocation"]
        elif info.get("kind") == "sgemm":
            gflops = info["gemm_flops"] / float(median) / 1e9
            table.sgemm_readings.setdefault(int(info["threads"]), []).append(gflops)
    table.seconds = {key: statistics.median(medians) for key, medians in sweep_medians.items()}
    table.spread = {key: max(spreads) for key, spreads in sweep_spreads.items()}
    table.sweeps = max(map(len, sweep_medians.values()), default=1)
    table.processes = max(len(processes), 1)
    return table


def evaluate(table: RunTable) -> list[Verdict]:
    """Every issue-3 target with its verdict (only targets of configurations the run touched)."""
    verdicts = []
    touched = {k[:3] for k in table.seconds}
    for (cell, phase), limits in RATIO_TARGETS.items():
        for shape, limit in limits.items():
            if (cell, phase, shape) not in touched:
                continue
            ratio = table.median_ratio(cell, phase, shape, 1)
            verdicts.append(
                Verdict(
                    f"{cell} {phase} {shape} 1t: cython/torch <= {limit:g}",
                    "n/a (cython or torch missing)" if ratio is None else f"{ratio:.3f}",
                    "MISSING" if ratio is None else ("PASS" if ratio <= limit else "FAIL"),
                )
            )
    for cell in CELLS:
        if (cell, "forward", "big") not in touched:
            continue
        eff = table.efficiency(cell, "forward", "big", 1, "cython")
        verdicts.append(
            Verdict(
                f"{cell} forward big 1t: GEMM efficiency >= {GEMM_EFFICIENCY_TARGET:.0%}",
                "n/a (cython or sgemm 1t missing)" if eff is None else f"{eff:.0%}",
                "MISSING" if eff is None else ("PASS" if eff >= GEMM_EFFICIENCY_TARGET else "FAIL"),
            )
        )
    for cell in CELLS:
        for phase in PHASE_ORDER:
            if (cell, phase, "big") not in touched:
                continue
            one = table.sweep_seconds.get((cell, phase, "big", 1, "cython"), {})
            two = table.sweep_seconds.get((cell, phase, "big", 2, "cython"), {})
            both = sorted(one.keys() & two.keys())
            speedup = statistics.median(one[k] / two[k] for k in both) if both else None
            verdicts.append(
                Verdict(
                    f"{cell} {phase} big cython: 2 threads >= {TWO_THREAD_SPEEDUP_TARGET:g}x faster than 1",
                    "n/a (cython 1t or 2t missing)" if speedup is None else f"{speedup:.2f}x",
                    "MISSING" if speedup is None else ("PASS" if speedup >= TWO_THREAD_SPEEDUP_TARGET else "FAIL"),
                )
            )
    cython_allocations = {k: v for k, v in table.allocation.items() if k[4] == "cython"}
    if cython_allocations:
        worst_key, worst = max(cython_allocations.items(), key=lambda kv: kv[1].get("excess_bytes", 0))
        ok = all(a.get("excess_bytes", 0) <= a.get("slack_bytes", 0) for a in cython_allocations.values())
        verdicts.append(
            Verdict(
                "cython: a prepared call allocates only its returned outputs (tracemalloc)",
                f"worst {'-'.join(map(str, worst_key[:4]))}: peak {_kib(worst['peak_bytes'])} for "
                f"{_kib(worst['output_bytes'])} of outputs (excess {_kib(worst['excess_bytes'])}, "
                f"slack {_kib(worst['slack_bytes'])})",
                "PASS" if ok else "FAIL",
            )
        )
    elif any(k[4] == "cython" for k in table.seconds):
        verdicts.append(
            Verdict(
                "cython: a prepared call allocates only its returned outputs (tracemalloc)",
                "n/a (no allocation record)",
                "MISSING",
            )
        )
    return verdicts


def _kib(n):
    return f"{n / 1024:.0f} KiB"


def _ms(seconds):
    """Milliseconds with three significant digits, never in exponent notation."""
    if seconds is None:
        return ""
    ms = seconds * 1e3
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.3g}"


def _num(value, fmt):
    return "" if value is None else format(value, fmt)


COLUMNS = (
    "cell",
    "phase",
    "shape",
    "thr",
    "cython ms",
    "torch ms",
    "numpy ms",
    "cy/torch",
    "target",
    "verdict",
    "target needs",
    "cy/torch by sweep",
    "cy/numpy",
    "cy GFLOP/s",
    "cy GEMM eff",
    "torch GEMM eff",
    "spread",
)
#: a row whose noisiest peer has IQR/median above this is flagged: re-measure it before believing it
NOISY_SPREAD = 0.10


def table_rows(table: RunTable) -> list[tuple[str, ...]]:
    rows = []
    for cell, phase, shape, threads in table.groups():
        ratio = table.median_ratio(cell, phase, shape, threads)
        limit = RATIO_TARGETS.get((cell, phase), {}).get(shape) if threads == 1 else None
        verdict = "" if limit is None else ("MISSING" if ratio is None else ("PASS" if ratio <= limit else "FAIL"))
        seconds = {
            impl: table.seconds.get((cell, phase, shape, threads, impl)) for impl in ("cython", "torch", "numpy")
        }
        rows.append(
            (
                cell,
                phase,
                shape,
                str(threads),
                _ms(seconds["cython"]),
                _ms(seconds["torch"]),
                _ms(seconds["numpy"]),
                _num(ratio, ".3f"),
                "" if limit is None else f"<= {limit:g}",
                verdict,
                "" if limit is None else _num(table.needed_efficiency(cell, phase, shape, threads, limit), ".0%"),
                _sweep_range(table.sweep_ratios(cell, phase, shape, threads)),
                _num(table.ratio(cell, phase, shape, threads, "cython", "numpy"), ".2f"),
                _num(table.gflops(cell, phase, shape, threads, "cython"), ".1f"),
                _num(table.efficiency(cell, phase, shape, threads, "cython"), ".0%"),
                _num(table.efficiency(cell, phase, shape, threads, "torch"), ".0%"),
                _spread(table, (cell, phase, shape, threads)),
            )
        )
    return rows


def _sweep_range(ratios: list) -> str:
    """ "lowest–highest" of the per-sweep ratios; empty for a run of one sweep."""
    return "" if len(ratios) < 2 else f"{min(ratios):.2f}–{max(ratios):.2f}"


def _spread(table: RunTable, group: tuple) -> str:
    """Largest IQR/median among the peers of a row, "NOISY" when above NOISY_SPREAD."""
    spreads = [
        table.spread[group + (impl,)] for impl in ("cython", "torch", "numpy") if group + (impl,) in table.spread
    ]
    if not spreads:
        return ""
    worst = max(spreads)
    return f"{worst:.0%}" + (" NOISY" if worst > NOISY_SPREAD else "")


def format_text(header: tuple, rows: list) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def format_markdown(header: tuple, rows: list) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def openblas_core_types(env: dict) -> set:
    """The kernel (core type) each OpenBLAS in the run picked, e.g. {"SkylakeX"} or {"Zen"}."""
    return {
        str(b.get("architecture"))
        for b in env.get("blas", [])
        if b.get("internal_api") == "openblas" and b.get("architecture")
    }


def describe_cpu(machine: dict) -> str:
    """ "AMD, family 25 model 17, Zen 4 (EPYC Genoa/Bergamo)" from the run's cpuid record
    (benchmarks/conftest.py), else from pytest-benchmark's py-cpuinfo block."""
    cpu_id = machine.get("lstm_energy", {}).get("cpu_id")
    if cpu_id:
        vendor, family, model = cpu_id.get("vendor"), cpu_id.get("family"), cpu_id.get("model")
        micro = cpu_id.get("microarchitecture")
    else:
        info = machine.get("cpu") or {}
        raw = str(info.get("vendor_id_raw") or "")
        vendor = "amd" if "AMD" in raw else "intel" if "Intel" in raw else (raw or None)
        family, model, micro = info.get("family"), info.get("model"), None
        if family is not None and model is not None:
            try:  # the same cpuid table the energy estimator uses
                from lstm_energy.meters.microarchitecture import CpuId, identify

                micro = identify(
                    CpuId(vendor, int(family), int(model), info.get("stepping"), info.get("brand_raw") or "")
                ).microarchitecture
            except (ImportError, TypeError, ValueError):
                micro = None
    names = {"amd": "AMD", "intel": "Intel"}
    return (
        f"{names.get(vendor, vendor or '?')}, family {family if family is not None else '?'} "
        f"model {model if model is not None else '?'}, {micro or 'microarchitecture unknown'}"
    )


def describe_run(table: RunTable, path: Path) -> str:
    """Where the numbers come from: file, time, CPU, BLAS kernels, OpenBLAS environment, timer."""
    info = table.machine.get("lstm_energy", {})
    env = info.get("environment", {})
    kernels = sorted(
        {
            f"{b.get('internal_api')} {b.get('version')} kernel={b.get('architecture')}"
            for b in env.get("blas", [])
            if b.get("user_api") == "blas"
        }
    )
    openblas = {k: v for k, v in info.get("openblas_env", {}).items() if v is not None}
    caches = info.get("caches", {}).get("named", {})
    torch = info.get("torch") or {}
    sgemm = ", ".join(_sgemm_ceiling(table, t) for t in sorted(table.sgemm_gflops)) or "not measured"
    return "\n".join(
        [
            f"run: {path} ({table.datetime})",
            f"cpu: {describe_cpu(table.machine)}",
            f"kernel path (isa): {env.get('isa') or 'not recorded (run before issue 14)'}; "
            f"OpenBLAS core type: {', '.join(sorted(openblas_core_types(env))) or '?'}",
            f"cpu model: {env.get('cpu_model', '?')}, {env.get('cores', '?')} cpus, caches "
            f"{', '.join(f'{k} {v // 1024} KiB' for k, v in caches.items()) or '?'}",
            f"BLAS: {'; '.join(kernels) or '?'}",
            f"OpenBLAS environment: {openblas or 'none set (kernel auto-detected)'}",
            f"torch: {torch.get('version', 'absent')} (oneDNN {'on' if torch.get('mkldnn_enabled') else 'off'})",
            f"sgemm ceiling GFLOP/s: {sgemm}",
            f"timer: {', '.join(sorted(table.timers)) or '?'}; figures are ratios of medians from this one run"
            + (
                f" (each the median over {table.sweeps} sweeps of the grid, {_processes(table)})"
                if table.sweeps > 1
                else ""
            ),
            f"energy records in the JSON: {', '.join(sorted(table.energy_sources)) or 'none'} (not used in this table)",
        ]
    )


def _sgemm_ceiling(table: RunTable, threads: int) -> str:
    """ "1t 104.6" or, with several readings, "1t 104.6 (4 readings 95.1–104.6)": the spread of the same
    sgemm over the run says how much the host's load moved while the peers ran."""
    readings = table.sgemm_readings.get(threads, [])
    text = f"{threads}t {table.sgemm_gflops[threads]:.1f}"
    if len(readings) > 1:
        text += f" ({len(readings)} readings {min(readings):.1f}–{max(readings):.1f})"
    return text


def _processes(table: RunTable) -> str:
    if table.processes >= table.sweeps:
        return "each sweep in its own process"
    if table.processes == 1:
        return "all in one process"
    return f"in {table.processes} processes"


def newest_run(directory: Path = DEFAULT_DIRECTORY) -> Path:
    runs = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise FileNotFoundError(f"no benchmark JSON in {directory}/; run benchmarks/run.sh first or pass the JSON path")
    return runs[-1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "json", nargs="?", type=Path, help=f"pytest-benchmark JSON (default: newest in {DEFAULT_DIRECTORY}/)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if any target FAILs or is MISSING")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (for docs/performance.md)")
    args = parser.parse_args(argv)
    try:
        path = args.json or newest_run()
        table = load_run(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError) as err:
        print(f"ERROR: cannot read the benchmark run: {err}", file=sys.stderr)
        return 2
    if not table.seconds:
        print(
            f"ERROR: {path} has no timed peer benchmarks (was it run with --benchmark-disable?); run benchmarks/run.sh",
            file=sys.stderr,
        )
        return 2
    fmt = format_markdown if args.markdown else format_text
    verdicts = evaluate(table)
    print(describe_run(table, path), end="\n\n")
    print(fmt(COLUMNS, table_rows(table)), end="\n\n")
    print(fmt(("target", "measured", "verdict"), [(v.target, v.measured, v.status) for v in verdicts]))
    counts = {s: sum(v.status == s for v in verdicts) for s in ("PASS", "FAIL", "MISSING")}
    print(f"\n{counts['PASS']} PASS, {counts['FAIL']} FAIL, {counts['MISSING']} MISSING")
    if args.check and (counts["FAIL"] or counts["MISSING"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
