"""The report's summary tables: one row per configuration, a unit on every number, sortable columns.

Each numeric cell carries its raw value in ``data-sort`` so the inline script sorts by value, not by
the formatted text ("900 µJ" < "1.2 mJ").
"""

from __future__ import annotations

from collections.abc import Callable

from lstm_energy.report.rows import DEAD_COUNTER, UNRESOLVED_TEXT, Row
from lstm_energy.report.units import esc, fixed, si

# (header, tooltip, value getter, formatter); a None formatter means the cell's text comes from the row
# itself (the shape column's ``Row.shape_text``, the CI column's interval), see ``_cell``
Column = tuple[str, str, Callable[[Row], object], Callable[[object], str] | None]


def _text(value) -> str:
    return "–" if value is None else str(value)


def _interval_text(row: Row, interval: tuple[float, float] | None) -> str:
    """``low – high`` in joules; a merged row's interval is the range of its runs' intervals and says so."""
    if not interval:
        return "–"
    low, high = interval
    text = f"{si(low, 'J')} – {si(high, 'J')}"
    return f"{text} (range over {row.runs} runs)" if row.runs > 1 else text


def _ci_text(row: Row) -> str:
    return _interval_text(row, row.joules_per_sequence_ci)


def _bidi(value) -> str:
    return "–" if value is None else ("bi" if value else "uni")


CONFIG_COLUMNS: list[Column] = [
    ("cell", "recurrent cell", lambda r: r.cell, _text),
    ("phase", "forward (eval), backward, or train (forward+backward)", lambda r: r.phase, _text),
    ("impl", "implementation", lambda r: r.impl, _text),
    ("B", "batch size (sequences per call)", lambda r: r.batch, _text),
    ("T", "sequence length (steps)", lambda r: r.seq_len, _text),
    ("D", "input size", lambda r: r.input_size, _text),
    ("H", "hidden size", lambda r: r.hidden_size, _text),
    ("L", "layers", lambda r: r.num_layers, _text),
    ("dir", "uni- or bidirectional", lambda r: r.bidirectional, _bidi),
    ("threads", "BLAS/compute threads", lambda r: r.threads, _text),
]

#: the host column: shown by default when the rows come from several hosts or CPUs (never merged)
HOST_COLUMN: Column = ("host", "the host (and CPU microarchitecture) that made the figures", lambda r: r.host, _text)


def _shape_sort(row: Row) -> str:
    """A text key that sorts shapes by B, T, D, H numerically (non-numeric, so the script compares text)."""
    return "shape " + " ".join(f"{v if isinstance(v, int) else -1:09d}" for v in row.shape_key()[:4])


#: the compact configuration: cell, one shape column (B T D H, plus L / bi / t when not the default), phase, impl
COMPACT_CONFIG_COLUMNS: list[Column] = [
    CONFIG_COLUMNS[0],
    ("shape", "B batch, T steps, D input size, H hidden size (L layers, bi, t threads when not 1)", _shape_sort, None),
    CONFIG_COLUMNS[1],
    CONFIG_COLUMNS[2],
    (
        "precision",
        "forward arithmetic: fp32, or bf16 / int8 (eval forwards in a reduced precision)",
        lambda r: r.precision,
        _text,
    ),
]

#: headers shown by default; the others sit behind the "all columns" toggle, so the table fits a 1400-px window
DEFAULT_HEADERS = frozenset(
    {"benchmark", "cell", "shape", "phase", "impl", "J/seq (median)", "J/seq 95% CI", "s/seq", "W", "provenance"}
)


def _default_headers(rows: list[Row], base: frozenset) -> frozenset:
    """``base``, plus the columns that tell otherwise alike rows apart when they vary: precision, host;
    and ``runs`` when a row merges several runs (its interval is then their range, not a CI)."""
    shown = set(base)
    if len({r.precision for r in rows}) > 1:
        shown.add("precision")
    if len({r.host_key for r in rows}) > 1:
        shown.add("host")
    if any(r.runs > 1 for r in rows):
        shown.add("runs")
    return frozenset(shown)


BENCHMARK_COLUMNS: list[Column] = [
    ("benchmark", "pytest-benchmark test name", lambda r: r.label, _text),
    ("B", "batch size the test declared (sequences per call)", lambda r: r.batch, _text),
]

FIGURE_COLUMNS: list[Column] = [
    (
        "J/seq (median)",
        "dynamic energy per sequence (idle subtracted), median of windows",
        lambda r: r.joules_per_sequence,
        lambda v: si(v, "J"),
    ),
    (
        "J/seq 95% CI",
        "bootstrap 95% confidence interval of the median (for a row merging several runs: the range of their CIs)",
        lambda r: r.joules_per_sequence_ci[0] if r.joules_per_sequence_ci else None,
        None,
    ),
    (
        "J/seq IQR",
        "interquartile range (25th to 75th percentile) of the windows' joules per sequence",
        lambda r: r.joules_per_sequence_iqr[0] if r.joules_per_sequence_iqr else None,
        None,
    ),
    ("J/call", "dynamic energy per call (one batch), median", lambda r: r.joules_per_call, lambda v: si(v, "J")),
    ("s/seq", "seconds per sequence, median", lambda r: r.seconds_per_sequence, lambda v: si(v, "s")),
    ("FLOPs/call", "FLOPs per call (a multiply-add counts 2)", lambda r: r.flops, lambda v: si(v, "FLOP")),
    ("bytes/call", "expected bytes moved per call (cost model)", lambda r: r.bytes, lambda v: si(v, "B")),
    ("GFLOP/s", "achieved throughput", lambda r: r.gflops_per_second, lambda v: fixed(v, "GFLOP/s")),
    ("W", "dynamic power: energy per call / seconds per call", lambda r: r.watts, lambda v: si(v, "W")),
    # SI-scaled like the other energies ("107 nJ/FLOP", not "107000 pJ/FLOP"); rows store pJ and nJ
    ("J/FLOP", "energy per FLOP", lambda r: r.pj_per_flop, lambda v: _scaled(v, 1e-12, "J/FLOP")),
    ("J/byte", "energy per byte moved", lambda r: r.nj_per_byte, lambda v: _scaled(v, 1e-9, "J/B")),
    ("FLOP/byte", "arithmetic intensity", lambda r: r.intensity, lambda v: fixed(v, "FLOP/B")),
    ("provenance", "measured (counter) / estimated (model) / simulated (tests)", lambda r: r.provenance, _text),
    ("runs", "records merged into this row (same configuration, meter and host)", lambda r: r.runs, _text),
]


def _scaled(value: object, scale: float, unit: str) -> str:
    """``value`` (in a fixed sub-unit, e.g. pJ) rescaled to the base unit and SI-prefixed."""
    return si(value * scale, unit) if isinstance(value, (int, float)) else "–"


#: the columns computed from the dynamic energy: an unresolved row shows UNRESOLVED_TEXT there, not noise
DYNAMIC_ENERGY_HEADERS = frozenset({"J/seq (median)", "J/seq 95% CI", "J/seq IQR", "J/call", "W", "J/FLOP", "J/byte"})


def unresolved_title(row: Row) -> str:
    """The tooltip of an unresolved row's energy cells: what the figures were and why they are not shown."""
    ci = f"95% CI {_ci_text(row)} per sequence; " if row.joules_per_sequence_ci else ""
    median = row.joules_per_sequence if row.joules_per_sequence is not None else row.joules_per_call
    per = "sequence" if row.joules_per_sequence is not None else "call"
    return (
        f"Dynamic energy (work minus idle) not resolved above the idle baseline: {ci}median "
        f"{si(median, 'J')} per {per}. These figures are within the noise of the idle power, so none is shown; "
        "measure a larger configuration, more windows or on a quieter machine."
    )


def _unresolved_cell(row: Row, extra: bool) -> str:
    klass = "col-extra unresolved" if extra else "unresolved"
    return f'<td class="{klass}" data-sort="" title="{esc(unresolved_title(row))}">{esc(UNRESOLVED_TEXT)}</td>'


def _cell(row: Row, column: Column, extra: bool = False) -> str:
    header, _, getter, formatter = column
    if row.unresolved and header in DYNAMIC_ENERGY_HEADERS:
        return _unresolved_cell(row, extra)
    value = getter(row)
    if formatter is None:
        text = _row_text(row, header)
    else:
        text = formatter(value)
    if isinstance(value, bool) or value is None:
        sort = "" if value is None else str(int(value))
    elif isinstance(value, (int, float)):
        sort = repr(float(value))
    else:
        sort = str(value)
    klass = ' class="num"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    if header == "provenance":
        klass = f' class="prov prov-{esc(value)}"'
        if row.suspect:  # a dead counter, or a power no CPU draws
            klass = f' class="prov prov-{esc(value)} prov-suspect" title="{esc(" ".join(row.suspect))}"'
            text = f"{text} ({suspect_label(row)})"
    if header == "benchmark":
        klass = ' class="label"'
    if extra:
        klass = klass.replace('class="', 'class="col-extra ') if klass else _EXTRA
    return f'<td{klass} data-sort="{esc(sort)}">{esc(text)}</td>'


_EXTRA = ' class="col-extra"'


def _row_text(row: Row, header: str) -> str:
    """The text of the columns whose formatter is None: built from the row, not from the sort value."""
    if header == "shape":
        return row.shape_text or "–"
    if header == "J/seq IQR":
        return _interval_text(row, row.joules_per_sequence_iqr)
    return _ci_text(row)


def suspect_label(row: Row) -> str:
    """The provenance cell's short word on a suspect row: why its joules are not a result."""
    if DEAD_COUNTER in row.suspect:
        return "suspect: counter did not count"
    return "suspect: implausible power"


def table(
    rows: list[Row], columns: list[Column], *, table_id: str, caption: str, default: frozenset | None = None
) -> str:
    """A sortable HTML table of ``rows`` with ``columns``.

    default: the headers shown at first; the other columns get class ``col-extra`` and a checkbox above
    the table shows them (CSS only, so it works with scripts off). None shows every column.
    """
    extra = [default is not None and c[0] not in default for c in columns]
    head = "".join(
        f'<th scope="col"{_EXTRA if hidden else ""} title="{esc(tip)}" aria-sort="none">'
        f'<button type="button">{esc(header)}</button></th>'
        for (header, tip, _, _), hidden in zip(columns, extra)
    )
    body = "".join("<tr>" + "".join(_cell(r, c, hidden) for c, hidden in zip(columns, extra)) + "</tr>" for r in rows)
    html = (
        f'<table class="sortable" id="{esc(table_id)}"><caption>{esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
    if not any(extra):
        return html
    names = ", ".join(c[0] for c, hidden in zip(columns, extra) if hidden)
    return (
        f'<div class="column-block"><label class="column-toggle"><input type="checkbox" class="columns-all" '
        f'id="{esc(table_id)}-all-columns"> show all {len(columns)} columns (adds {esc(names)})</label>{html}</div>'
    )


def summary_tables(rows: list[Row]) -> str:
    """The sweep table (one row per cell/shape/phase/implementation) and the benchmark table, as present."""
    parts = []
    profile = [r for r in rows if r.kind == "profile"]
    bench = [r for r in rows if r.kind != "profile"]
    if profile:
        parts.append(
            table(
                profile,
                COMPACT_CONFIG_COLUMNS + [HOST_COLUMN] + CONFIG_COLUMNS[3:] + FIGURE_COLUMNS,
                table_id="summary",
                caption=f"Sweep results: {len(profile)} configuration(s). Click a column header to sort.",
                default=_default_headers(profile, DEFAULT_HEADERS),
            )
        )
    if bench:
        with_config = any(r.cell for r in bench)
        columns = BENCHMARK_COLUMNS[:1] + (
            COMPACT_CONFIG_COLUMNS + [HOST_COLUMN] + CONFIG_COLUMNS[3:] if with_config else BENCHMARK_COLUMNS[1:]
        )
        parts.append(
            table(
                bench,
                columns + FIGURE_COLUMNS,
                table_id="benchmarks",
                caption=f"pytest-benchmark results with energy: {len(bench)} test(s). Click a column header to sort.",
                default=_default_headers(bench, DEFAULT_HEADERS | {"B"}),
            )
        )
    return "".join(parts)
