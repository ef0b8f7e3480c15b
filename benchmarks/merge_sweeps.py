#!/usr/bin/env python
"""Merge the JSONs of a run whose sweeps each ran in their own pytest process into one run.

    python benchmarks/merge_sweeps.py OUT.json SWEEP.json [SWEEP.json ...]

``SWEEPS=N benchmarks/run.sh`` runs pass k over the grid in a fresh pytest process (``--peer-sweeps 1
--peer-sweep-start k``). A process carries a speed offset of its own (where its buffers and code
landed, which of the host's cores it shares): up to ~10 % at calls of 0.1 ms or less in A/A runs
(docs/kernels-performance.md, "fifteenth pass"). Sweeps in one process all share that offset; sweeps
in separate processes sample it, and ratios.py's median over the sweeps then covers it.

The merged document is an ordinary pytest-benchmark JSON that ratios.py reads as one run of N
sweeps: ``machine_info``, ``commit_info`` and ``datetime`` of the first file, every file's benchmarks
in order, each with ``extra_info["process"]`` (1-based file position). The sgemm ceilings, measured
around the peers in every process, keep their names with ``-process<k>`` appended from the second
file on; ratios.py keeps the fastest. ``merged_from`` lists each file's start time and benchmark
count.

Refused (exit 2, nothing written): files from different CPUs or kernel paths (their ratios do not
belong in one median), and a peer configuration's sweep that appears in two files (each process
needs its own ``--peer-sweep-start``).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

from lstm_energy.errors import ConfigError, ResultsSchemaError


def _identity(document: dict) -> dict:
    """What must agree between the merged files: the CPU and the kernel path its ratios belong to."""
    recorded = document.get("machine_info", {}).get("lstm_energy", {})
    return {
        "cpu_id": recorded.get("cpu_id"),
        "isa": recorded.get("environment", {}).get("isa"),
        "cpu_brand": document.get("machine_info", {}).get("cpu", {}).get("brand_raw"),
    }


def _peer_key(bench: dict):
    """(cell, phase, shape, threads, impl, sweep) of a peer benchmark, None for anything else."""
    info = bench.get("extra_info", {})
    if info.get("kind") != "peer":
        return None
    return tuple(info.get(k) for k in ("cell", "phase", "shape", "threads", "impl")) + (int(info.get("sweep", 1)),)


def merge_runs(documents: list[dict], sources: list[str] | None = None) -> dict:
    """One pytest-benchmark document holding every benchmark of ``documents`` (one per process).

    ``sources`` names the documents in error messages (file paths); defaults to "file 1", "file 2"...
    Raises ConfigError (a ValueError) when the documents cannot be one run (see the module docstring),
    ResultsSchemaError when one is not a pytest-benchmark JSON.
    """
    if not documents:
        raise ConfigError("nothing to merge: pass at least one benchmark JSON")
    sources = sources or [f"file {i}" for i in range(1, len(documents) + 1)]
    for document, source in zip(documents, sources):
        if "benchmarks" not in document:
            raise ResultsSchemaError(f"{source} is not a pytest-benchmark JSON (no 'benchmarks' list)")
    first = _identity(documents[0])
    for document, source in zip(documents[1:], sources[1:]):
        if _identity(document) != first:
            raise ConfigError(
                f"{source} was measured on another CPU or kernel path than {sources[0]} "
                f"({_identity(document)} against {first}); merge only the sweeps of one run"
            )
    merged = copy.deepcopy({k: v for k, v in documents[0].items() if k != "benchmarks"})
    merged["benchmarks"] = []
    merged["merged_from"] = []
    seen_peers: dict = {}  # peer key -> source that holds it
    seen_names: set = set()
    for process, (document, source) in enumerate(zip(documents, sources), start=1):
        for bench in document["benchmarks"]:
            bench = copy.deepcopy(bench)
            key = _peer_key(bench)
            if key is not None:
                if key in seen_peers:
                    raise ConfigError(
                        f"sweep {key[-1]} of {'-'.join(map(str, key[:5]))} is in both {seen_peers[key]} and "
                        f"{source}; give each process its own --peer-sweep-start"
                    )
                seen_peers[key] = source
            elif bench.get("name") in seen_names:
                for field in ("name", "fullname"):
                    if field in bench:
                        bench[field] = f"{bench[field]}-process{process}"
            seen_names.add(bench.get("name"))
            bench.setdefault("extra_info", {})["process"] = process
            merged["benchmarks"].append(bench)
        merged["merged_from"].append(
            {"process": process, "datetime": document.get("datetime"), "benchmarks": len(document["benchmarks"])}
        )
    return merged


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("output", type=Path, help="the merged JSON to write")
    parser.add_argument("inputs", nargs="+", type=Path, help="one pytest-benchmark JSON per process, in sweep order")
    args = parser.parse_args(argv)
    try:
        documents = [json.loads(path.read_text()) for path in args.inputs]
        merged = merge_runs(documents, [str(path) for path in args.inputs])
    except (OSError, ValueError) as err:
        print(f"ERROR: cannot merge the sweeps: {err}", file=sys.stderr)
        return 2
    args.output.write_text(json.dumps(merged, indent=4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
