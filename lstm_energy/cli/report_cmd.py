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
        help="output of `lstm-energy machine --json`: measured peaks for the roofline, used when it was measured on "
        "the machine the results were (host, cpuid family/model, kernel path); a file without peaks is refused "
        "(exit 2). Default: this host's cached profile when the results were measured on this host; otherwise "
        "the report says the peaks are missing and why",
    )
    parser.add_argument("--title", help="report title (default: names the input files)")


def _new_file_name(given: str) -> str:
    """A file name for `lstm-energy machine --json > NAME` that is neither ``given`` nor an existing file
    (suggesting the user's own path could overwrite their report or results)."""
    for n in range(100):
        candidate = "machine.json" if n == 0 else f"machine-{n}.json"
        if Path(candidate).resolve() != Path(given).resolve() and not Path(candidate).exists():
            return candidate
    return "machine-profile.json"


def _write_it(path: str) -> str:
    return f"write one with `lstm-energy machine --json > {_new_file_name(path)}` and pass that file"


def _load_machine(path: str | None, parser_error) -> dict | None:
    """The parsed --machine file when it holds roofline peaks; otherwise ``parser_error`` says what it
    holds instead (exit 2: a file that is not a machine profile is bad usage, not something to ignore)."""
    from lstm_energy.report.machine_data import machine_file_problem

    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        parser_error(f"--machine {path!r} is not a text file; {_write_it(path)}")
        return None
    except OSError as err:
        parser_error(f"--machine {path!r}: {err.strerror}; {_write_it(path)}")
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        lines = [line for line in text.splitlines() if line.strip()]
        what = f"not JSON ({err.msg} at line {err.lineno})"
        if len(lines) > 1 and lines[0].lstrip().startswith("{") and err.msg == "Extra data":
            what = "JSON Lines (one object per line, like a sweep's results), not one machine profile"
        elif text.lstrip().lower().startswith(("<!doctype", "<html")):
            what = "HTML (a report?), not JSON"
        parser_error(f"--machine {path!r} is {what}; {_write_it(path)}")
        return None
    problem = machine_file_problem(document, path)
    if problem:
        parser_error(f"{problem}; {_write_it(path)}")
        return None
    return document


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


def _machine_choice(inputs, machine: dict | None, path: str | None):
    """The profile whose roofs the roofline draws: the --machine file's, else this host's cached one, each
    only when it was measured on the machine the records were (report.machine_data)."""
    from lstm_energy.report.machine_data import MachineChoice, cached_choice, explicit_choice
    from lstm_energy.results import load_records

    records = load_records(*inputs).records
    if machine is not None:
        return explicit_choice(records, machine, f"`{path}`")
    try:
        return cached_choice(records)
    except Exception as err:  # noqa: BLE001 - optional enrichment: the roofline then says the peaks are missing
        return MachineChoice(None, "this host's cached `lstm-energy machine` profile", f"Roofline: {err}")


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
        choice = _machine_choice(args.inputs, machine, args.machine)
        info = write_report(
            args.inputs,
            args.output,
            machine=choice.profile,
            machine_source=choice.source,
            title=args.title,
            notes=[choice.note] if choice.note else [],
            use_cached_machine=False,
        )
    except (ConfigError, ResultsSchemaError) as err:  # an input that is not results, an unwritable output
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    for skipped in info.problems:
        print(f"WARNING: {skipped}", file=sys.stderr)
    if choice.note:
        print(f"WARNING: {choice.note}", file=sys.stderr)
    energy = energy_warning(info.rows)
    if energy:
        print(f"WARNING: {energy[0]}. {energy[1]}", file=sys.stderr)
    provenances = sorted({r.provenance for r in info.rows})
    print(f"wrote {info.path} ({len(info.rows)} row(s); provenance: {', '.join(provenances) or 'none'})")
    if not info.rows:
        print("ERROR: no valid energy records in the inputs; the report only lists what was skipped", file=sys.stderr)
        return 1
    return 0
