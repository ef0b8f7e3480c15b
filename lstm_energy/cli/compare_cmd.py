"""``lstm-energy compare BASE NEW``: energy and time regressions by configuration; exit 1 on one.

Exit codes: 0 no regression, 1 a regression (the intervals separate and the change exceeds the
threshold), 2 bad usage: a missing file, a bad threshold, nothing in common to compare, or figures
that must not be compared (measured against estimated, different CPUs) without the flag allowing it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

NAME = "compare"
HELP = "energy/time regressions between two results files, by configuration; exit 1 on one"


def threshold(text: str) -> float:
    """``5%`` or ``0.05``: the relative change below which a difference is never a regression."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a percentage such as 5% (or a fraction 0.05), got {text!r}"
        ) from None
    if not raw.endswith("%") and value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r} reads as {value:.0%}; write a percentage with % (e.g. {raw}%)")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"threshold must be between 0% and 100%, got {text!r}")
    return value


def add_arguments(parser) -> None:
    parser.add_argument("base", metavar="BASE", help="baseline results: sweep .jsonl or pytest-benchmark .json")
    parser.add_argument("new", metavar="NEW", help="results to check against BASE (same formats)")
    parser.add_argument(
        "--threshold",
        type=threshold,
        default=0.05,
        metavar="PCT",
        help="smallest relative change that can count as a regression or improvement (default 5%%)",
    )
    parser.add_argument(
        "--allow-mixed-provenance",
        action="store_true",
        help="compare measured with estimated figures (refused by default: their ratio is meaningless); such "
        "pairs are labelled mixed. Simulated (test) figures compare only with simulated ones",
    )
    parser.add_argument(
        "--allow-different-cpus",
        action="store_true",
        help="compare figures from different CPU models (refused by default)",
    )
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")


def run(args) -> int:
    from lstm_energy.compare import as_json, compare_files, render
    from lstm_energy.errors import ResultsSchemaError

    missing = [p for p in (args.base, args.new) if not Path(p).is_file()]
    if missing:
        print(
            f"ERROR: no such results file(s): {', '.join(missing)}; pass files written by `lstm-energy sweep -o` "
            "or `pytest --benchmark-json`",
            file=sys.stderr,
        )
        return 2
    try:
        comparison = compare_files(
            [args.base],
            [args.new],
            threshold=args.threshold,
            allow_mixed_provenance=args.allow_mixed_provenance,
            allow_different_cpus=args.allow_different_cpus,
        )
    except ResultsSchemaError as err:  # e.g. forecast records, an empty file: not sweep or benchmark results
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(as_json(comparison), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(render(comparison))
    if comparison.regressed:
        return 1
    if comparison.refusals:
        print(
            f"ERROR: {len(comparison.refusals)} configuration(s) refused (see REFUSED above); "
            "compare like with like or pass the flag named there",
            file=sys.stderr,
        )
        return 2
    if not comparison.pairs:
        print(
            f"ERROR: no configuration is in both {args.base} and {args.new}; nothing was compared "
            "(check that both files hold the same sweep or benchmarks)",
            file=sys.stderr,
        )
        return 2
    return 0
