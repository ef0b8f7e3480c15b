"""Self-contained HTML reports of results files (sweep ``.jsonl`` and pytest-benchmark ``.json``).

    from lstm_energy.report import write_report
    info = write_report(["reports/quick.jsonl"], "reports/quick.html", machine=None)
    info.rows, info.problems     # what went in, and which lines were skipped (file:line: why)

One HTML file: inline CSS, inline SVG charts, a small inline script for sortable columns; no network.
Modules: ``rows`` (records -> rows), ``charts`` (the figures), ``svg`` (chart primitives), ``tables``,
``units`` (numbers with units), ``page`` (the document).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lstm_energy import output_paths
from lstm_energy.errors import ConfigError
from lstm_energy.results import LoadProblem, load_records


@dataclass
class ReportInfo:
    """What a written report holds: its path, rows, figures drawn or noted, and skipped inputs."""

    path: Path
    rows: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)


def build_report(
    paths,
    *,
    machine: dict | None = None,
    machine_source: str = "the --machine file",
    title: str | None = None,
    notes: Sequence[str] = (),
    use_cached_machine: bool = False,
) -> tuple[str, ReportInfo]:
    """The HTML text for ``paths`` and what went into it (the path in ReportInfo is left empty).

    machine: a profile from ``lstm-energy machine --json`` (roofline peaks); without it and with
    ``use_cached_machine``, this host's cached profile is used when the records come from this CPU model.
    """
    from lstm_energy.report.charts import all_figures
    from lstm_energy.report.machine_data import cached_roofs_for, roofs_from_profile
    from lstm_energy.report.page import render_page
    from lstm_energy.report.rows import build_rows
    from lstm_energy.report.tables import summary_tables

    paths = list(paths)
    loaded = load_records(*paths)
    rows = build_rows(loaded.records)
    roofs = roofs_from_profile(machine, machine_source) if machine is not None else None
    if roofs is None and machine is None and use_cached_machine:
        roofs = cached_roofs_for(loaded.records)
    figures = all_figures(rows, roofs)
    sources: dict[str, int] = {str(p): 0 for p in paths}
    for record in loaded.records:
        sources[record["_source"]["path"]] = sources.get(record["_source"]["path"], 0) + 1
    if title is None:
        title = "lstm_energy report: " + ", ".join(Path(p).name for p in paths)
    html = render_page(
        title=title,
        records=loaded.records,
        rows=rows,
        figures=figures,
        tables_html=summary_tables(rows),
        problems=loaded.problems,
        sources=sources,
        notes=list(notes),
    )
    return html, ReportInfo(Path(), rows, figures, loaded.problems)


def output_problem(output: str | os.PathLike) -> str | None:
    """Why ``output`` cannot be the report's file before anything is built (it names a directory); None
    when it may be (whether it can be written shows when it is)."""
    text = os.fspath(output)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return f"the report path {text!r} is a directory; give a file name, e.g. {os.path.join(text, 'report.html')!r}"
    return None


def write_report(paths, output: str | os.PathLike, **options) -> ReportInfo:
    """Write the report for ``paths`` to ``output`` (parent directories created); options as build_report.

    Raises ConfigError when ``output`` is a directory or cannot be written."""
    problem = output_problem(output)
    if problem:
        raise ConfigError(problem)
    html, info = build_report(paths, **options)
    info.path = output_paths.write_text_file(
        output, html, "the report to", "pass -o a path in a writable directory, e.g. reports/NAME.html"
    )
    return info
