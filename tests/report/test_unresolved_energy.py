"""A dynamic energy not resolved above the idle baseline (negative, or a 95% CI reaching zero) is never shown
as a figure: the table says "not resolved above idle" with the CI in the cell's title, and the charts leave
those rows out with the right reason."""

import re

from lstm_energy.measure.checks import dynamic_resolution_warning
from lstm_energy.measure.statistics import Summary
from lstm_energy.report import build_report
from lstm_energy.report.rows import UNRESOLVED_WARNING, build_rows
from lstm_energy.report.tables import DYNAMIC_ENERGY_HEADERS

ENERGY_CHARTS = ("by-hidden", "fwd-bwd", "vs-flops", "impls", "domains")


def summary_cells(html):
    """header -> list of (td attributes, text) for the summary table, row by row."""
    table = re.search(r'<table class="sortable" id="summary">.*?</table>', html, re.S).group(0)
    headers = re.findall(r'<button type="button">([^<]*)</button>', table)
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    return [dict(zip(headers, re.findall(r"<td([^>]*)>([^<]*)</td>", row))) for row in rows]


def chart_note(html, key):
    body = re.search(rf'<figure[^>]*id="fig-{key}".*?</figure>', html, re.S).group(0)
    note = re.search(r'<p class="chart-note">(.*?)</p>', body, re.S)
    return "<svg" in body, note.group(1) if note else None


def test_the_report_looks_for_the_protocols_own_words():
    summary = Summary(-5.1e-7, -5.7e-7, 2.5e-7, -6.2e-7, 1.0e-6)
    assert dynamic_resolution_warning(summary).startswith(UNRESOLVED_WARNING)


def test_a_negative_dynamic_energy_shows_as_not_resolved_never_as_a_figure(
    tmp_path, record_factory, make_unresolved, jsonl_writer
):
    sound = record_factory("lstm", provenance="measured")
    noisy = make_unresolved(record_factory("rnn", provenance="measured"))
    html, info = build_report([jsonl_writer(tmp_path / "r.jsonl", [sound, noisy])])
    by_cell = {r.cell: r for r in info.rows}
    assert by_cell["rnn"].unresolved and not by_cell["lstm"].unresolved
    cells = {row["cell"][1]: row for row in summary_cells(html)}
    for header in DYNAMIC_ENERGY_HEADERS:
        attributes, text = cells["rnn"][header]
        assert text == "not resolved above idle", header
        assert "-312 nJ – 505 nJ" in attributes and "median -255 nJ" in attributes, header
        assert cells["lstm"][header][1] != "not resolved above idle", header
    table = re.search(r'<table class="sortable" id="summary">.*?</table>', html, re.S).group(0)
    shown = re.sub(r'title="[^"]*"', "", table)
    assert not re.search(r">-\d", shown), "a negative figure reached a table cell"


def test_the_protocol_warning_decides_even_when_the_figures_are_not_negative(record_factory, make_unresolved):
    # a CI that reaches exactly 0 J: the protocol's rule (low end <= 0) says unresolved, the figures alone do not
    touching = make_unresolved(record_factory(provenance="measured"), median=1.0e-7, low=0.0, high=5.0e-7)
    (row,) = build_rows([touching])
    assert row.unresolved
    touching["warnings"] = []
    (row,) = build_rows([touching])
    assert not row.unresolved


def test_records_without_the_warning_are_judged_by_a_negative_ci(record_factory, make_unresolved):
    spanning = make_unresolved(record_factory(provenance="measured"), median=1.0e-7, low=-3.0e-7, high=5.0e-7)
    spanning["warnings"] = []  # an older file, written before the protocol checked
    (row,) = build_rows([spanning])
    assert row.unresolved
    (row,) = build_rows([record_factory(provenance="measured")])
    assert not row.unresolved


def test_charts_leave_unresolved_rows_out_and_say_why(tmp_path, grid_factory, make_unresolved, jsonl_writer):
    records = grid_factory("measured", cells=("lstm",), impls=("cython", "numpy"))
    make_unresolved(records[0])
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", records)])
    for key in ENERGY_CHARTS:
        drawn, note = chart_note(html, key)
        assert drawn, key
        assert "row(s) are not drawn: their dynamic energy is not resolved above the idle baseline" in note, key


def test_when_nothing_is_resolved_the_placeholder_gives_the_right_reason(
    tmp_path, grid_factory, make_unresolved, jsonl_writer
):
    records = [make_unresolved(r) for r in grid_factory("measured", cells=("rnn",), impls=("cython", "numpy"))]
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", records)])
    for key in ENERGY_CHARTS:
        drawn, note = chart_note(html, key)
        assert not drawn, key
        assert "not resolved above the idle baseline" in note and "quieter machine" in note, key
        assert "too short" not in note, key
    drawn, _ = chart_note(html, "roofline")
    assert drawn, "time and FLOPs are sound: the roofline still draws"
