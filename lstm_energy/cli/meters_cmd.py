"""``lstm-energy meters [--json] [--require-measured]``: every energy backend, whether it works here, why
not, and how to fix it; the exit code says whether energy can be measured here (see ``EXIT_CODES``)."""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap

from lstm_energy.machine.info import CPUINFO
from lstm_energy.records import METERS_JSON_SCHEMA_VERSION

NAME = "meters"
HELP = "every energy backend: does it work here, why not, how to fix"


EXIT_CODES = (
    "exit codes: 0 a backend works here (without --require-measured, the estimate counts); "
    "1 no backend works at all (meter='auto' would raise), or --require-measured and no MEASURED backend works "
    "(auto would fall back to the estimate); 2 bad usage"
)

#: what to do about RAPL in a guest: the hypervisor does not pass the counters through, so no driver helps
VM_FIX = "RAPL is not passed through to this virtual machine; measure on bare metal or use --meter model"

#: a backend's advice to run this very command, which reads oddly inside its own output
_SELF_REFERENCE = re.compile(r"\s*\((?:see|run) `lstm-energy meters`[^)]*\)|[;,]?\s*(?:see|run) `lstm-energy meters`")


def add_arguments(parser) -> None:
    parser.description = f"{HELP}. {EXIT_CODES}."
    parser.add_argument(
        "--json",
        action="store_true",
        help=f"print the table as JSON (schema_version {METERS_JSON_SCHEMA_VERSION}: backends, auto, virtual_machine, "
        "measured_available; README documents it)",
    )
    parser.add_argument(
        "--require-measured",
        action="store_true",
        help="exit 1 unless a MEASURED backend works here (the estimate alone is not enough): a CI gate",
    )


def auto_choice(rows) -> dict:
    """What ``get_meter("auto")`` would return, from the probe rows (without opening anything)."""
    from lstm_energy.meters.registry import AUTO_ORDER

    for row in rows:
        if row.name in AUTO_ORDER and row.available:
            return {"name": row.name, "provenance": "measured", "note": f"auto measures with {row.name}"}
    model = next((row for row in rows if row.name == "model"), None)
    if model is not None and model.available:
        return {
            "name": "model",
            "provenance": "estimated",
            "note": "NO measured backend works here: auto falls back to the model ESTIMATE "
            "(provenance 'estimated'), not a measurement, and warns when it does",
        }
    return {
        "name": None,
        "provenance": None,
        "note": "no backend works here: auto raises MeterUnavailableError listing the reasons above",
    }


def virtual_machine(cpuinfo=CPUINFO) -> dict:
    """``{"detected": True|False|None, "evidence": ...}`` from the cpuid ``hypervisor`` flag in cpuinfo
    (None: cpuinfo has no flags line, so it cannot tell)."""
    from lstm_energy.machine.info import hypervisor_flag

    flag = hypervisor_flag(cpuinfo)
    if flag is None:
        evidence = f"unknown: no flags line in {cpuinfo}"
    else:
        evidence = f"the cpuid hypervisor flag is {'set' if flag else 'not set'} in {cpuinfo}"
    return {"detected": flag, "evidence": evidence}


def _without_self_reference(text: str) -> str:
    return _SELF_REFERENCE.sub("", text)


def diagnosed(rows, vm: dict) -> list:
    """The probe rows as this command shows them: no advice to run this command, and in a virtual machine
    the fix of every measured backend that failed for lack of a counter (not of a permission) says that RAPL
    is not passed through, instead of a driver to load that cannot help there."""
    shown = []
    for row in rows:
        fix = _without_self_reference(row.fix)
        if vm.get("detected") and row.provenance == "measured" and not row.available:
            if not row.details.get("permission_denied"):
                fix = VM_FIX
        shown.append(dataclasses.replace(row, reason=_without_self_reference(row.reason), fix=fix))
    return shown


def exit_code(rows, choice: dict, require_measured: bool) -> int:
    """0, or 1 when no backend works (or no measured one, with ``require_measured``); see EXIT_CODES."""
    if choice["name"] is None:
        return 1
    if require_measured and not any(row.provenance == "measured" and row.available for row in rows):
        return 1
    return 0


def _wrap(label: str, text: str, width: int = 100) -> str:
    return textwrap.fill(
        text,
        width=width,
        initial_indent=f"    {label:<6} ",
        subsequent_indent=" " * 11,
        break_long_words=False,
        break_on_hyphens=False,
    )


def render_table(rows, choice: dict, vm: dict | None = None) -> str:
    lines = [f"{'backend':<10} {'provenance':<11} works here?", "-" * 34]
    for row in rows:
        lines.append(f"{row.name:<10} {row.provenance:<11} {'yes' if row.available else 'NO'}")
        lines.append(_wrap("what:" if row.available else "why:", row.reason))
        if row.fix:
            lines.append(_wrap("fix:", row.fix))
    measured = [row.name for row in rows if row.provenance == "measured" and row.available]
    lines.append("")
    if not measured:
        lines.append("No MEASURED energy backend works on this machine.")
        if vm and vm.get("detected"):
            lines.append(f"This is a virtual machine ({vm['evidence']}): {VM_FIX}.")
    lines.append(f"auto -> {choice['name']}: {choice['note']}")
    return "\n".join(lines)


def document(rows, choice: dict, vm: dict) -> dict:
    """The ``--json`` document (schema in README, "Energy meters and provenance")."""
    return {
        "schema_version": METERS_JSON_SCHEMA_VERSION,
        "backends": [row.as_dict() for row in rows],
        "auto": choice,
        "measured_available": any(row.provenance == "measured" and row.available for row in rows),
        "virtual_machine": vm,
    }


def run(args, *, cpuinfo=CPUINFO) -> int:
    from lstm_energy.meters import available_meters

    vm = virtual_machine(cpuinfo)
    rows = diagnosed(available_meters(), vm)
    choice = auto_choice(rows)
    if args.json:
        print(json.dumps(document(rows, choice, vm), indent=2, default=str))
    else:
        print(render_table(rows, choice, vm))
    return exit_code(rows, choice, getattr(args, "require_measured", False))
