"""``lstm-energy meters [--json]``: every energy backend, whether it works here, why not, and how to fix it."""

from __future__ import annotations

import json
import textwrap

NAME = "meters"
HELP = "every energy backend: does it work here, why not, how to fix"


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the table as JSON (one object per backend)")


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


def _wrap(label: str, text: str, width: int = 100) -> str:
    return textwrap.fill(
        text,
        width=width,
        initial_indent=f"    {label:<6} ",
        subsequent_indent=" " * 11,
        break_long_words=False,
        break_on_hyphens=False,
    )


def render_table(rows, choice: dict) -> str:
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
    lines.append(f"auto -> {choice['name']}: {choice['note']}")
    return "\n".join(lines)


def run(args) -> int:
    from lstm_energy.meters import available_meters

    rows = available_meters()
    choice = auto_choice(rows)
    if args.json:
        print(json.dumps({"backends": [row.as_dict() for row in rows], "auto": choice}, indent=2, default=str))
    else:
        print(render_table(rows, choice))
    return 0
