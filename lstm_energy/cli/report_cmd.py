"""``lstm-energy report``: one self-contained HTML report from sweep results and pytest-benchmark JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lstm_energy.errors import ConfigError, ResultsSchemaError

NAME = "report"
HELP = "write a self-contained HTML report from results files"


def add_arguments(parser) -> None:
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="RESULTS",
        help="sweep results (.jsonl) and/or pytest-benchmark JSON files (--benchmark-json)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="REPORT.html",
        help="where to write the HTML report, e.g. reports/quick.html",
    )
    parser.add_argument(
        "--machine",
        metavar="MACHINE.json",
        help="output of `lstm-energy machine --json`: measured peaks for the roofline (default: this host's cached "
        "profile when the results come from this CPU; otherwise the report says the peaks are missing)",
    )
    parser.add_argument("--title", help="report title (default: names the input files)")


def _load_machine(path: str | None, parser_error) -> dict | None:
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        parser_error(f"--machine {path!r}: {err.strerror}; write it with `lstm-energy machine --json > {path}`")
    except json.JSONDecodeError as err:
        parser_error(
            f"--machine {path!r} is not JSON ({err.msg} at line {err.lineno}); write it with `lstm-energy machine --json > {path}`"
        )
    return None


def usage_problem(args) -> str | None:
    """The first reason the command cannot run as asked (missing inputs, a directory as the
    output); None when it can."""
    from lstm_energy.report import output_problem

    missing = [p for p in args.inputs if not Path(p).is_file()]
    if missing:
        return (
            f"no such results file(s): {', '.join(missing)}; pass files written by `lstm-energy sweep -o` "
            "or `pytest --benchmark-json`"
        )
    return output_problem(args.output)


def run(args) -> int:
    from lstm_energy.report import write_report
    from lstm_energy.report.page import energy_warning

    problem = usage_problem(args)
    errors = [problem] if problem else []
    machine = None if errors else _load_machine(args.machine, errors.append)
    if errors:
        print(f"ERROR: {errors[0]}", file=sys.stderr)
        return 2
    try:
        info = write_report(
            args.inputs,
            args.output,
            machine=machine,
            machine_source=f"`{args.machine}`",
            title=args.title,
            use_cached_machine=True,
        )
    except (ConfigError, ResultsSchemaError) as err:  # an input that is not results, an unwritable output
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    for skipped in info.problems:
        print(f"WARNING: {skipped}", file=sys.stderr)
    energy = energy_warning(info.rows)
    if energy:
        print(f"WARNING: {energy[0]}. {energy[1]}", file=sys.stderr)
    provenances = sorted({r.provenance for r in info.rows})
    print(f"wrote {info.path} ({len(info.rows)} row(s); provenance: {', '.join(provenances) or 'none'})")
    if not info.rows:
        print("ERROR: no valid energy records in the inputs; the report only lists what was skipped", file=sys.stderr)
        return 1
    return 0
