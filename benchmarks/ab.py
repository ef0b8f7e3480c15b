"""Paired A/B of two builds of lstm_energy: the same prepared calls, timed in turns, 1 thread by default.

Two worker processes, one per build (each its own PYTHONPATH and environment, e.g. an old build
saved in a directory against this tree forced to ``LSTM_ENERGY_ISA=avx2``), are driven in turns
by this process: for each configuration, each round times a few calls in A then B (or B then A:
the order alternates, ABBA), so both builds see the same load of the shared host within about a
second. The claim is the median over the rounds of each round's own B ÷ A ratio of medians;
the range of those per-round ratios says how noisy the host was. Absolute times are printed
for orientation only.

A worker process can also run a few per cent faster or slower than another process of the same
build for its whole life (where its buffers land: an A/A run of one build against itself at a
0.07 ms call read 1.02 and 0.92 in two runs, each with a per-round IQR of at most 0.01), an offset
the per-round spread cannot show. So the rounds are split over ``--generations`` fresh pairs of
workers (started in alternating order), and the table's "gen min-max" column gives the range of the
per-generation medians: where it is wider than the difference claimed, the claim is not made.

    python benchmarks/ab.py --a /tmp/old-build --b . --b-env LSTM_ENERGY_ISA=avx2 --rounds 10
    python benchmarks/ab.py ... -k lstm-forward      # configurations whose id contains the text
    python benchmarks/ab.py ... --precision int8     # eval forwards in a reduced precision
    python benchmarks/ab.py ... --threads 2          # every BLAS/OpenMP pool of both workers at 2 threads

With more threads than one the two workers share the cores: read a multi-thread ratio over more
rounds (on the 2-vCPU guests 0.97-1.03 moved between runs of the same pair of builds).

A build is a directory that holds the ``lstm_energy`` package (with its compiled kernels); the
worker imports it first on ``sys.path``, and prints the file it really imported.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time

from grid import PHASES, SHAPES  # benchmarks/grid.py, beside this script

CELLS = ("lstm", "gru", "rnn")
OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def worker(threads: int) -> None:
    """Serve timing requests on stdin/stdout, one JSON object per line, on ``threads`` threads."""
    import importlib

    from threadpoolctl import threadpool_info, threadpool_limits

    import lstm_energy

    try:  # the runners moved into measure/ (issue 19); older builds have them at the top
        prepare = importlib.import_module("lstm_energy.measure.runners").prepare
    except ImportError:
        prepare = importlib.import_module("lstm_energy.runners").prepare
    import scipy.linalg  # noqa: F401 - SciPy's OpenBLAS (dX on one thread), loaded before pinning

    import lstm_energy.kernels  # noqa: F401 - and the kernels' OpenMP runtime

    try:
        from lstm_energy.kernels.isa import current

        isa = str(current())
    except ImportError:
        isa = "avx2 (build without dispatch)"
    prepare("lstm", "cython", "forward", seed=0, **SHAPES["edge"]).run()  # every kernel module and runtime loaded
    limits = threadpool_limits(limits=threads)
    pools = sorted({f"{p['internal_api']}={p['num_threads']}" for p in threadpool_info()})
    print(json.dumps({"package": lstm_energy.__file__, "isa": isa, "pools": pools, "threads": threads}), flush=True)
    prepared: dict = {}
    for line in sys.stdin:
        request = json.loads(line)
        key = tuple(request["config"])
        if key not in prepared:
            prepared.clear()
            cell, phase, shape, precision = key
            if precision == "fp32":
                prepared[key] = prepare(cell, "cython", phase, seed=0, **SHAPES[shape]).run
            else:  # an eval forward in a reduced precision (issue 18)
                from lstm_energy.config import Config
                from lstm_energy.measure.runners import prepare_config

                config = Config(cell=cell, impl="cython", phase=phase, precision=precision, **SHAPES[shape])
                prepared[key] = prepare_config(config, seed=0).run
            for _ in range(2):
                prepared[key]()  # warm-up: lazy workspaces, caches
        run = prepared[key]
        times = []
        for _ in range(request["calls"]):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        print(json.dumps({"times": times}), flush=True)
    del limits


def start_worker(build: str, extra_env: list[str], threads: int) -> tuple[subprocess.Popen, dict]:
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARIABLES}
    env["PYTHONPATH"] = os.path.abspath(build)
    env.update(item.split("=", 1) for item in extra_env)
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--worker", "--threads", str(threads)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=os.path.abspath(build),
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def ask(process: subprocess.Popen, config: tuple, calls: int) -> list[float]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps({"config": config, "calls": calls}) + "\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())["times"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--a", help="directory holding build A's lstm_energy (the baseline)")
    parser.add_argument("--b", help="directory holding build B's lstm_energy")
    parser.add_argument("--a-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--b-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--generations",
        type=int,
        default=3,
        help="fresh pairs of workers the rounds are split over (default 3; at most --rounds)",
    )
    parser.add_argument("--turn-seconds", type=float, default=0.25, help="time each build gets per round")
    parser.add_argument("--threads", type=int, default=1, help="threads of every BLAS/OpenMP pool in both workers")
    parser.add_argument("-k", default="", help="only configurations whose id contains this text")
    parser.add_argument("--json", help="write every per-round ratio here")
    parser.add_argument(
        "--precision", default="fp32", choices=("fp32", "bf16", "int8"), help="bf16/int8: eval forwards only"
    )
    args = parser.parse_args()
    if args.worker:
        worker(args.threads)
        return 0
    if not (args.a and args.b):
        parser.error("--a and --b are required")
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if args.generations < 1:
        parser.error(f"--generations must be at least 1, got {args.generations}")
    args.generations = min(args.generations, args.rounds)  # at least one round per generation
    configs = []
    for cell, phase, shape in itertools.product(CELLS, PHASES, SHAPES):
        config = (cell, phase, shape, args.precision)
        name = "-".join(config if args.precision != "fp32" else config[:3])
        if args.k in name and (args.precision == "fp32" or phase == "forward"):
            configs.append((name, config))
    # rounds of each generation: as even as they divide (10 over 3: 4, 3, 3)
    per_generation = [args.rounds // args.generations + (g < args.rounds % args.generations)
                      for g in range(args.generations)]  # fmt: skip
    calls: dict = {}
    ratios: dict = {name: [] for name, _ in configs}
    times: dict = {name: ([], []) for name, _ in configs}
    by_generation: dict = {name: [] for name, _ in configs}
    infos = None
    for g, rounds in enumerate(per_generation):
        # a fresh pair of workers, started A first in even generations and B first in odd ones
        starts = [(args.a, args.a_env), (args.b, args.b_env)]
        started = [start_worker(build, env, args.threads) for build, env in (starts if g % 2 == 0 else starts[::-1])]
        (a, a_info), (b, b_info) = started if g % 2 == 0 else started[::-1]
        if infos is None:
            infos = a_info, b_info
            print(f"A: {a_info['package']} isa={a_info['isa']} {' '.join(args.a_env)} {a_info['pools']}")
            print(f"B: {b_info['package']} isa={b_info['isa']} {' '.join(args.b_env)} {b_info['pools']}")
            print(
                f"{args.threads} thread(s), {args.rounds} rounds (ABBA) over {args.generations} generation(s) of "
                f"workers, ~{args.turn_seconds} s per build per round; B/A per round"
            )
        for name, config in configs:
            if name not in calls:
                probe = min(ask(a, config, 1) + ask(b, config, 1))
                calls[name] = max(3, round(args.turn_seconds / probe))
            mine = []
            for r in range(rounds):
                order = (a, b) if r % 2 == 0 else (b, a)
                medians = {id(p): statistics.median(ask(p, config, calls[name])) for p in order}
                times[name][0].append(medians[id(a)] * 1e3)
                times[name][1].append(medians[id(b)] * 1e3)
                mine.append(medians[id(b)] / medians[id(a)])
            ratios[name] += mine
            by_generation[name].append(statistics.median(mine))
        for p in (a, b):
            assert p.stdin is not None
            p.stdin.close()
            p.wait()
        print(f"generation {g + 1} of {args.generations} done", flush=True)
    print(f"{'config':22} {'A ms':>8} {'B ms':>8} {'B/A':>6}  {'rounds min-max':>13}  {'IQR':>5}  {'gen min-max':>11}")
    results = []
    for name, _ in configs:
        mine, gens = ratios[name], by_generation[name]
        q = statistics.quantiles(mine, n=4) if len(mine) > 1 else [mine[0]] * 3
        row = dict(
            config=name,
            a_ms=statistics.median(times[name][0]),
            b_ms=statistics.median(times[name][1]),
            ratio=statistics.median(mine),
            ratios=mine,
            generation_ratios=gens,
            calls=calls[name],
        )
        results.append(row)
        print(
            f"{name:22} {row['a_ms']:8.3g} {row['b_ms']:8.3g} {row['ratio']:6.3f}  "
            f"{min(mine):5.3f}-{max(mine):5.3f}  {q[2] - q[0]:5.3f}  {min(gens):5.3f}-{max(gens):5.3f}",
            flush=True,
        )
    if args.json:
        a_info, b_info = infos
        with open(args.json, "w") as f:
            json.dump(
                {"a": a_info, "b": b_info, "a_env": args.a_env, "b_env": args.b_env, "rows": results}, f, indent=1
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
