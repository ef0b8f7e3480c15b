"""The report's charts, each built from report rows. A chart that has nothing honest to draw returns a
note saying why instead of an empty frame.

Each function returns a Figure: ``svg`` (an inline ``<svg>``) or ``None`` with ``note`` explaining
what is missing and how to get it, and a ``caption`` saying exactly what is plotted.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from lstm_energy.config import PHASES, PRECISIONS
from lstm_energy.report.machine_data import Roof, Roofs
from lstm_energy.report.rows import IMPL_ORDER, ProvenanceRow, Row, several_precisions
from lstm_energy.report.svg import DASHES, MARKERS, PALETTE, Line, NothingToDraw, Series, dot_plot, xy_plot
from lstm_energy.report.units import esc, fixed, si

_T = TypeVar("_T")


@dataclass
class Figure:
    key: str
    title: str
    caption: str
    svg: str | None = None
    note: str | None = None
    #: a heading shown in bold before the note when the chart contradicts itself (points above the roof)
    alert: str | None = None

    @property
    def caption_id(self) -> str:
        """The id the page gives this figure's caption: the chart's ``aria-describedby`` points at it, so
        assistive technology reads what is drawn (``role="img"`` hides the marks' own tooltips)."""
        return f"fig-{self.key}-caption"


def figure_html(fig: Figure) -> str:
    """A figure as the page shows it: title, chart (or nothing), note, and the caption under the id the
    chart's ``aria-describedby`` names (``Figure.caption_id``)."""
    body = fig.svg or ""
    alert = f'<strong class="chart-alert">{esc(fig.alert)}</strong> ' if fig.alert else ""
    note = f'<p class="chart-note">{alert}{esc(fig.note)}</p>' if fig.note else ""
    klass = "figure" if fig.svg else "figure figure-missing"
    return (
        f'<figure class="{klass}" id="fig-{esc(fig.key)}"><h3>{esc(fig.title)}</h3>{body}{note}'
        f'<figcaption id="{esc(fig.caption_id)}">{esc(fig.caption)}</figcaption></figure>'
    )


def _drawn(figure: Figure, draw: Callable[[], str]) -> Figure:
    """``figure`` with the SVG ``draw()`` returns; if the chart finds nothing to place, a note instead.

    The builders check their data and explain first; this is the last guard, so a primitive's
    message (written for programmers) never reaches the page.
    """
    try:
        figure.svg = draw()
    except NothingToDraw:
        figure.svg = None
        figure.note = _joined(
            "Nothing to draw: none of these values can be placed on the chart (a log scale has no place for 0 or less).",
            figure.note,
        )
    except (ArithmeticError, ValueError):  # a report is always written, whatever values a file holds
        figure.svg = None
        figure.note = _joined(
            "Not drawn: these values span a range the chart cannot place (e.g. beyond 1e300); "
            "the summary table shows them.",
            figure.note,
        )
    return figure


def energy_note(values, what: str) -> str | None:
    """A reader-facing note when no value of ``values`` (joules; None = not recorded) can go on a log
    axis, saying why; None when at least one can."""
    known = [v for v in values if v is not None]
    if not known or any(v > 0 for v in known):
        return None
    if all(v == 0 for v in known):
        return (
            f"Nothing to draw: every {what} in these results is 0 J. A meter that reads 0 J did not count "
            "(see the banner at the top of the page); rerun with a working meter, or with `--meter model` "
            "for an estimate."
        )
    return (
        f"Nothing to draw: every {what} in these results is 0 J or less, so not resolved above the idle baseline. "
        + NOT_RESOLVED_REASON
    )


#: why a dynamic energy at or below zero, or with a 95% CI reaching zero, is no figure, and what to do
NOT_RESOLVED_REASON = (
    "A dynamic energy (work minus idle) at or below 0 J, or with a 95% CI reaching 0 J, means the work's energy is "
    "within the noise of the idle power. Measure larger configurations, more windows (e.g. windows = 15 in the "
    "grid's [protocol] table) or on a quieter machine."
)


def split_resolved(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """(rows whose dynamic energy is resolved above idle, rows whose is not)."""
    return [r for r in rows if not r.unresolved], [r for r in rows if r.unresolved]


def unresolved_note(unresolved: list[Row], total: int, what: str) -> str | None:
    """Why rows are missing from an energy chart: all or some of them are not resolved above idle; None
    when every row is resolved."""
    if not unresolved:
        return None
    if len(unresolved) == total:
        return (
            f"Nothing to draw: the {what} of every row is not resolved above the idle baseline. {NOT_RESOLVED_REASON}"
        )
    return (
        f"{len(unresolved)} of {total} row(s) are not drawn: their dynamic energy is not resolved above the idle "
        "baseline (the summary table says so in their energy cells)."
    )


def _point_name(row: Row, with_precision: bool) -> str:
    """A chart point's name without its implementation (series name it): the benchmark's name, else
    ``lstm forward B=8 T=16 D=32 H=64``, plus the precision when the chart holds several."""
    base = row.label or f"{row.cell} {row.phase} {row.shape_text}"
    return f"{base} {row.precision}" if with_precision else base


def _precision_suffix(precision: str, with_precision: bool) -> str:
    return f" {precision}" if with_precision else ""


def dropped_note(values, what: str) -> str | None:
    """A note when some (not all) ``values`` are <= 0 and so are left off a log axis; None otherwise."""
    known = [v for v in values if v is not None]
    dropped = sum(1 for v in known if v <= 0)
    if not dropped or dropped == len(known):
        return None
    return f"{dropped} of {len(known)} {what} value(s) are 0 J or less and are not drawn (a log scale has no place for them)."


def provenance_caption(rows: Sequence[ProvenanceRow]) -> str:
    """A caption sentence when the joules drawn are not measured: who made them, so no reader takes a
    difference between points for a measured one. "" when every row is measured."""
    estimated = [r for r in rows if r.provenance == "estimated"]
    simulated = [r for r in rows if r.provenance == "simulated"]
    parts = []
    if estimated:
        models = {r.meter.get("model") for r in estimated if isinstance(r.meter.get("model"), str)}
        how = f" ({next(iter(models))})" if len(models) == 1 else ""
        share = "" if len(estimated) == len(rows) else f" ({len(estimated)} of the {len(rows)} rows drawn)"
        parts.append(f"Estimated energy{share}: these differences come from the model{how}, not from a measurement.")
    if simulated:
        share = "" if len(simulated) == len(rows) else f" ({len(simulated)} of the {len(rows)} rows drawn)"
        parts.append(f"Simulated energy{share}: test data from a simulated meter, not a measurement.")
    return " ".join(parts)


#: where a row's joules come from: (provenance, meter name, host key)
Source = tuple[str, str, str]


def provenance_source(row: Row) -> tuple[str, str]:
    """The kind of a row's joules: its provenance and meter. A measured and an estimated joule (or two
    meters' joules) are not the same kind of figure: no chart pools, subtracts or fits them together."""
    return (row.provenance, row.meter_name)


def _source(row: Row) -> Source:
    """Where a row's joules come from: their kind (``provenance_source``) and the host that made them
    (``Row.host_key``, from ``rows.host_of``). Charts never pool, subtract or fit figures of different
    sources: one machine's joules are not another's either."""
    return (*provenance_source(row), row.host_key)


def _source_order(source: tuple) -> tuple:
    return (_PROVENANCE_RANK.get(source[0], 9), source)


#: the order of trust (design.md, "Energy sources"): legends and rows list measured figures first
_PROVENANCE_RANK = {"measured": 0, "estimated": 1, "simulated": 2}


def provenance_labels(rows: Sequence[Row]) -> dict[tuple[str, str], str]:
    """How a chart names the kind of each row's joules (``provenance_source``): "" for all when there is
    one; else the provenance, plus the meter where one provenance came from several meters."""
    sources = {provenance_source(r) for r in rows}
    if len(sources) < 2:
        return {source: "" for source in sources}
    meters_per_provenance = {p: sum(1 for q, _ in sources if q == p) for p, _ in sources}
    return {
        (provenance, meter): provenance if meters_per_provenance[provenance] == 1 else f"{provenance}, {meter}"
        for provenance, meter in sources
    }


def host_labels(rows: Sequence[Row]) -> dict[str, str]:
    """How a chart names each host of ``rows`` (``Row.host``: host name and microarchitecture): "" for
    all when the rows come from one host; a host whose name another host shares gets its key too."""
    names = {r.host_key: r.host or "unknown host" for r in rows}
    if len(names) < 2:
        return {key: "" for key in names}
    labels = {}
    for name in set(names.values()):
        keys = sorted(key for key, other in names.items() if other == name)
        for key in keys:
            # never the raw key (it holds "None" for fields a record lacks): a readable distinguisher
            labels[key] = name if len(keys) == 1 else f"{name}, {_host_distinguisher(key, keys)}"
    return labels


def _machine_id(key: str) -> str | None:
    """The machine id a host key (``rows.host_of``) holds, None when its records did not record one."""
    machine = key.split("/machine:", 1)[1].split("/", 1)[0] if "/machine:" in key else key.split("/", 1)[0]
    return machine if machine and machine != "None" else None


def _host_distinguisher(key: str, twins: list[str]) -> str:
    """What tells apart hosts ``twins`` (keys) of one name and microarchitecture: the machine id when the
    key holds one, else "machine id not recorded" (numbered when several twins lack one)."""
    machine = _machine_id(key)
    if machine:
        return f"machine id {machine[:8]}{'…' if len(machine) > 8 else ''}"
    without = [k for k in twins if _machine_id(k) is None]
    return "machine id not recorded" + (f", host {without.index(key) + 1}" if len(without) > 1 else "")


def source_labels(rows: Sequence[Row]) -> dict[Source, str]:
    """How a chart names each source of ``rows``: "" for all when there is one; else the kind of joules
    (``provenance_labels``) when there are several, then the host when there are several hosts."""
    kinds, hosts = provenance_labels(rows), host_labels(rows)
    return {
        source: ", ".join(part for part in (kinds[source[:2]], hosts[source[2]]) if part)
        for source in {_source(r) for r in rows}
    }


def _provenance_named(labels: dict[Source, str]) -> bool:
    """Whether ``source_labels`` name the provenance (the rows hold several kinds of joules)."""
    return len({source[:2] for source in labels}) > 1


def _unnamed_source(source: Source, labels: dict[Source, str]) -> str:
    """ ", estimated" for a tooltip whose series name does not already say its provenance."""
    return "" if _provenance_named(labels) else f", {source[0]}"


def _suffix(label: str) -> str:
    return f" ({label})" if label else ""


def _hollow(row: Row, labels: dict[Source, str]) -> bool:
    """In a chart of several kinds of joules (``labels`` name the provenance), not-measured joules are
    drawn as outlines and measured ones filled; a chart of one kind keeps the usual filled markers."""
    return _provenance_named(labels) and row.provenance != "measured"


def separate_kinds_caption(drawn: Sequence[Row]) -> str:
    """A caption sentence when the rows drawn hold several kinds of joules (``provenance_source``); "" when one."""
    if len({provenance_source(r) for r in drawn}) < 2:
        return ""
    return (
        "Rows of different provenance or meter are drawn apart (their own series, rows and fits; outline "
        "markers: not measured), never pooled, subtracted or fitted together: compare figures of one provenance only."
    )


def separate_sources_caption(drawn: Sequence[Row]) -> str:
    """A caption sentence when the rows drawn come from several sources (kinds of joules, hosts); "" when from one."""
    hosts = (
        "Rows of different hosts are drawn apart (their own series, rows and fits, named by host and "
        "microarchitecture), never pooled into one median, subtracted or fitted together: one machine's joules "
        "are not another's."
        if len({r.host_key for r in drawn}) > 1
        else ""
    )
    return " ".join(part for part in (separate_kinds_caption(drawn), hosts) if part)


def split_suspect(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """(rows whose energy can be trusted, rows marked suspect: a counter that did not count, an
    implausible power...). Energy charts draw only the first."""
    return [r for r in rows if not r.suspect], [r for r in rows if r.suspect]


def suspect_note(suspect: list[Row], total: int) -> str | None:
    """Why rows are missing from an energy chart because their energy is suspect; None when none is."""
    if not suspect:
        return None
    distinct = list(dict.fromkeys(str(reason) for r in suspect for reason in r.suspect))
    shown = 2  # reasons can name each row's own figures: the table has the rest
    reasons = "; ".join(distinct[:shown]) + (f"; and {len(distinct) - shown} more" if len(distinct) > shown else "")
    if len(suspect) == total:
        return (
            f"Nothing to draw: the energy of every row is suspect ({reasons}), see the banner at the top of the page. "
            "Rerun with a working meter (see `lstm-energy meters`), or with `--meter model` for an estimate."
        )
    return (
        f"{len(suspect)} of {total} row(s) are not drawn: their energy is suspect ({reasons}); the summary table "
        "marks them."
    )


def _energy_dot_plot(
    key: str, title: str, caption: str, notes, labels, series, x_label: str = "energy per sequence (J, log scale)"
) -> Figure:
    """The dot plots of energy (forward vs backward, implementations, precisions, RAPL domains): one row
    per label, one marker per series, on a log axis in joules; ``notes`` joined under the chart."""
    figure = Figure(key, title, caption, note=_joined(*notes))
    return _drawn(
        figure,
        lambda: dot_plot(
            title,
            labels,
            series,
            x_label=x_label,
            x_unit="J",
            described_by=figure.caption_id,
        ),
    )


def _joined(*parts: str | None) -> str | None:
    text = " ".join(p for p in parts if p)
    return text or None


def _with_sentence(caption: str, sentence: str) -> str:
    """``caption`` followed by ``sentence`` (e.g. ``provenance_caption``'s; "" adds nothing)."""
    return f"{caption} {sentence}" if sentence else caption


def _known(value: _T | None) -> _T:
    """A row's figure that the chart's row filter (``_profile_rows``, or the filter of the chart itself)
    guarantees is recorded."""
    assert value is not None, "a chart's row filter let a row without this figure through"
    return value


def _color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _profile_rows(rows: list[Row]) -> list[Row]:
    """Rows with a full configuration (sweep points, and benchmarks told their cell, phase, impl and shape)."""
    return [
        r
        for r in rows
        if r.joules_per_sequence is not None and r.cell and r.phase and r.impl and r.hidden_size and r.batch
    ]


def _primary_impl(rows: list[Row]) -> str | None:
    """The implementation most charts focus on: cython when present, else the commonest one."""
    impls = [r.impl for r in rows if r.impl]
    if not impls:
        return None
    if "cython" in impls:
        return "cython"
    return max(set(impls), key=impls.count)


def _shape_order(shape_key: tuple) -> tuple:
    """Sortable form of Row.shape_key() (None first, numbers as numbers)."""
    return tuple((v is not None, v if isinstance(v, (int, float)) else str(v)) for v in shape_key)


_PHASE_RANK = {phase: rank for rank, phase in enumerate(PHASES)}
_PRECISION_RANK = {precision: rank for rank, precision in enumerate(PRECISIONS)}


def _impl_rank(impl) -> int:
    return IMPL_ORDER.index(impl) if impl in IMPL_ORDER else 99


def _ordered(values) -> list:
    return sorted(set(values), key=lambda v: (_impl_rank(v), str(v)))


def energy_by_hidden_size(rows: list[Row]) -> Figure:
    """J/sequence against hidden size: one line per cell, phase and energy source, for the primary implementation."""
    profile, suspect = split_suspect(_profile_rows(rows))
    impl = _primary_impl(profile)
    of_impl = [r for r in profile if r.impl == impl and r.hidden_size]
    left_out = [r for r in suspect if r.impl == impl or impl is None]
    chosen, unresolved = split_resolved(of_impl)
    title = "Energy per sequence by cell and hidden size"
    caption = (
        "Dynamic energy per sequence (median; bars: 95% CI) against hidden size H"
        + (f", implementation {impl}. " if impl else ". ")
        + "Where several shapes share a hidden size (batch, sequence length, input size, layers), the point is their median."
    )
    total = len(of_impl) + len(left_out)
    if not chosen:
        return Figure(
            "by-hidden",
            title,
            caption,
            note=_joined(suspect_note(left_out, total), unresolved_note(unresolved, total, "energy per sequence"))
            or "No sweep records with a hidden size and an energy per sequence: run `lstm-energy sweep` to draw this chart.",
        )
    caption = _with_sentence(_with_sentence(caption, provenance_caption(chosen)), separate_sources_caption(chosen))
    values = [r.joules_per_sequence for r in chosen]
    empty = energy_note(values, "energy per sequence")
    if empty:
        return Figure("by-hidden", title, caption, note=empty)
    series = _hidden_size_series(chosen)
    hidden = tuple(sorted({_known(r.hidden_size) for r in chosen}))
    notes = (
        suspect_note(left_out, total),
        unresolved_note(unresolved, total, "energy per sequence"),
        dropped_note(values, "energy per sequence"),
    )
    figure = Figure("by-hidden", title, caption, note=_joined(*notes))
    return _drawn(
        figure,
        lambda: xy_plot(
            title,
            series,
            x_label="hidden size H (log scale)",
            y_label="energy per sequence (J, log scale)",
            y_unit="J",
            x_ticks=hidden if len(hidden) <= 12 else None,
            described_by=figure.caption_id,
        ),
    )


def _hidden_size_series(chosen: list[Row]) -> list[Series]:
    """One connected series per (cell, phase, precision, energy source): colour = cell (and host, when
    there are several: two machines' lines must not look alike), marker = phase, dash = phase (or precision
    when there are several), outline = not measured. A point is a median over shapes of one source only."""
    with_precision = several_precisions(chosen)
    labels = source_labels(chosen)
    keys = sorted(
        {(_known(r.cell), _known(r.phase), r.precision, _source(r)) for r in chosen},
        key=lambda k: (str(k[0]), _PHASE_RANK.get(k[1], 9), _PRECISION_RANK.get(k[2], 9), _source_order(k[3])),
    )
    colours = sorted({(k[0], k[3]) for k in keys})  # (cell, energy source: provenance, meter, host)
    phases = sorted({k[1] for k in keys}, key=lambda p: (_PHASE_RANK.get(p, 9), str(p)))
    series = []
    for cell, phase, precision, source in keys:
        name = f"{cell} {phase}{_precision_suffix(precision, with_precision)}{_suffix(labels[source])}"
        line_style = _PRECISION_RANK.get(precision, 0) if with_precision else phases.index(phase)
        members = [r for r in chosen if (r.cell, r.phase, r.precision, _source(r)) == (cell, phase, precision, source)]
        points, errors = [], []
        for h in sorted({_known(r.hidden_size) for r in members}):
            group = [r for r in members if r.hidden_size == h]
            value = statistics.median(_known(r.joules_per_sequence) for r in group)
            tip = f"{name} H={h}: {si(value, 'J')}/sequence{_unnamed_source(source, labels)} ({_median_of(group)})"
            points.append((h, value, tip))
            errors.append(group[0].joules_per_sequence_ci if len(group) == 1 else None)
        series.append(
            Series(
                name,
                points,
                color=_color(colours.index((cell, source))),
                shape=MARKERS[phases.index(phase) % len(MARKERS)],
                connect=True,
                errors=errors,
                # past the palette's end, colours repeat: the dash then differs (svg.distinct_styles is the last guard)
                dash=DASHES[(line_style + colours.index((cell, source)) // len(PALETTE)) % len(DASHES)],
                hollow=_hollow(members[0], labels),
            )
        )
    return series


def _median_of(group: list[Row]) -> str:
    """What one point of the hidden-size chart stands for: its shapes (and rows, when a shape has several)."""
    shapes = len({r.shape_key() for r in group})
    text = f"{shapes} shape(s)"
    return text if shapes == len(group) else f"median of {len(group)} rows, {text}"


def _pair_phases(rows: list[Row]) -> tuple[dict[tuple, dict[str, Row]], int]:
    """Rows by configuration and energy source, then by phase; and how many configurations had two rows
    of one phase (other benchmarks) and so are left out, since which to pair is unknowable. The source is
    part of the key: a train and a forward of different provenance, meter or host are never paired."""
    by_config: dict[tuple, dict[str, Row]] = {}
    ambiguous: set[tuple] = set()
    for r in rows:
        key = (r.cell, r.impl, r.shape_key(), r.precision, _source(r))
        phases = by_config.setdefault(key, {})
        if _known(r.phase) in phases:
            ambiguous.add(key)
        phases[_known(r.phase)] = r
    return {k: v for k, v in by_config.items() if k not in ambiguous}, len(ambiguous)


def forward_vs_backward(rows: list[Row]) -> Figure:
    """Forward, backward and train energy per configuration (backward = train - forward when not measured alone)."""
    trusted, suspect = split_suspect(_profile_rows(rows))
    impl_shown = _primary_impl(trusted)
    shown = [r for r in trusted if r.impl == impl_shown]
    left_out = [r for r in suspect if r.impl == impl_shown or impl_shown is None]
    total = len(shown) + len(left_out)
    profile, unresolved = split_resolved(shown)
    with_precision = several_precisions(profile)
    title = "Forward vs backward (training) energy per sequence"
    by_config, ambiguous = _pair_phases(profile)
    labels_of_source = source_labels(profile)
    labels: list[str] = []
    drawn: list[Row] = []
    fwd: list[tuple[float, int, str]] = []
    bwd: list[tuple[float, int, str]] = []
    train: list[tuple[float, int, str]] = []
    derived_backward = False
    for (cell, impl, _, precision, source), phases in sorted(
        by_config.items(),
        key=lambda kv: (
            str(kv[0][0]),
            _shape_order(kv[0][2]),
            _PRECISION_RANK.get(kv[0][3], 9),
            _source_order(kv[0][4]),
        ),
    ):
        if "forward" not in phases or not ({"backward", "train"} & set(phases)):
            continue
        row_index = len(labels)
        any_row = next(iter(phases.values()))
        drawn += phases.values()
        labels.append(
            f"{cell} {any_row.shape_text}{_precision_suffix(precision, with_precision)}{_suffix(labels_of_source[source])}"
        )
        name = f"{labels[row_index]} {impl}"  # tooltips name the shape (and precision): rows differ by them
        f = _known(phases["forward"].joules_per_sequence)
        fwd.append((f, row_index, f"{name} forward: {si(f, 'J')}/sequence{_unnamed_source(source, labels_of_source)}"))
        if "train" in phases:
            t = _known(phases["train"].joules_per_sequence)
            train.append(
                (
                    t,
                    row_index,
                    f"{name} train (forward+backward): {si(t, 'J')}/sequence{_unnamed_source(source, labels_of_source)}",
                )
            )
        if "backward" in phases:
            b = _known(phases["backward"].joules_per_sequence)
            bwd.append(
                (
                    b,
                    row_index,
                    f"{name} backward (measured alone): {si(b, 'J')}/sequence{_unnamed_source(source, labels_of_source)}",
                )
            )
        elif "train" in phases:
            b = _known(phases["train"].joules_per_sequence) - f
            derived_backward = True
            bwd.append(
                (
                    b,
                    row_index,
                    f"{name} backward = train − forward: {si(b, 'J')}/sequence{_unnamed_source(source, labels_of_source)}",
                )
            )
    caption = "Dynamic energy per sequence (median) of the forward pass, the backward pass and a full training step" + (
        f", implementation {impl_shown}. " if impl_shown else ". "
    )
    if derived_backward:
        caption += (
            "Where the backward pass was not measured alone, it is shown as train − forward (a difference of medians "
            "of the same provenance and meter, not a measurement of its own)."
        )
    ambiguous_note = (
        f"{ambiguous} configuration(s) have several rows of one phase (other benchmarks) and are not drawn: "
        "which forward goes with which train is unknown."
        if ambiguous
        else None
    )
    if not labels:
        missing = _joined(
            suspect_note(left_out, total), unresolved_note(unresolved, total, "energy per sequence"), ambiguous_note
        )
        if (
            profile or not missing
        ):  # resolved rows (or none at all), but no configuration pairs a forward with a train/backward
            missing = _joined(
                "No configuration has both a forward and a train/backward record: sweep with --phases forward,train.",
                missing,
            )
        return Figure("fwd-bwd", title, caption, note=missing)
    caption = _with_sentence(_with_sentence(caption, provenance_caption(drawn)), separate_sources_caption(drawn))
    values = [p[0] for p in fwd + bwd + train]
    empty = energy_note(values, "forward, backward and train energy per sequence")
    if empty:
        return Figure("fwd-bwd", title, caption, note=empty)
    series = [
        Series("forward", fwd, color=_color(0), shape="circle"),
        Series("backward" + (" (train − forward)" if derived_backward else ""), bwd, color=_color(3), shape="diamond"),
        Series("train (forward+backward)", train, color=_color(2), shape="square"),
    ]
    series = [s for s in series if s.points]
    notes = (
        suspect_note(left_out, total),
        unresolved_note(unresolved, total, "energy per sequence"),
        ambiguous_note,
        dropped_note(values, "energy per sequence"),
    )
    return _energy_dot_plot("fwd-bwd", title, caption, notes, labels, series)


def fit_joules_per_flop(flops: list[float], joules: list[float]) -> tuple[float, float] | None:
    """Least-squares line joules = slope * flops + intercept; None with fewer than 2 distinct FLOP counts.

    slope: J/FLOP (marginal energy per FLOP); intercept: J per call not explained by FLOPs.
    """
    x = np.asarray(flops, dtype=np.float64)
    y = np.asarray(joules, dtype=np.float64)
    if x.size < 2 or np.unique(x).size < 2:
        return None
    design = np.stack([x, np.ones_like(x)], axis=1)  # (N, 2)
    (slope, intercept), *_ = np.linalg.lstsq(design, y, rcond=None)  # NumPy: argmin ||design @ [s, c] - y||
    return float(slope), float(intercept)


def energy_vs_flops(rows: list[Row]) -> Figure:
    """J per call against FLOPs per call, one colour per implementation (and energy source), with a fitted line each."""
    trusted, suspect = split_suspect([r for r in rows if r.flops and r.joules_per_call is not None])
    candidates, unresolved = split_resolved(trusted)
    usable = [r for r in candidates if _known(r.joules_per_call) > 0]
    title = "Energy vs FLOPs, with the fitted J/FLOP"
    caption = (
        "Dynamic energy per call (median) against FLOPs per call (FLOP = one add or multiply). Dashed: least-squares "
        "fit joules = k·FLOPs + c per implementation (and precision, when there are several, and energy source); "
        "k is the marginal energy per FLOP."
    )
    total = len(trusted) + len(suspect)
    if not candidates:
        return Figure(
            "vs-flops",
            title,
            caption,
            note=_joined(suspect_note(suspect, total), unresolved_note(unresolved, total, "energy per call"))
            or "No record carries both FLOPs and energy per call: FLOPs come from lstm_energy.costs (sweep records) or energy.configure(flops=...) in benchmarks.",
        )
    drawn = usable or candidates
    caption = _with_sentence(_with_sentence(caption, provenance_caption(drawn)), separate_sources_caption(drawn))
    empty = energy_note([r.joules_per_call for r in candidates], "energy per call")
    if empty:
        return Figure("vs-flops", title, caption, note=empty)
    series, lines, refused = _flops_series_and_fits(usable)
    notes = (
        suspect_note(suspect, total),
        unresolved_note(unresolved, total, "energy per call"),
        dropped_note([r.joules_per_call for r in candidates], "energy per call"),
        *refused,
    )
    figure = Figure("vs-flops", title, caption, note=_joined(*notes))
    return _drawn(
        figure,
        lambda: xy_plot(
            title,
            series,
            lines=lines,
            x_label="FLOPs per call (log scale)",
            y_label="energy per call (J, log scale)",
            x_unit="FLOP",
            y_unit="J",
            nested_markers=True,
            described_by=figure.caption_id,
        ),
    )


def _flops_series_and_fits(usable: list[Row]) -> tuple[list[Series], list[Line], list[str]]:
    """One series and one fit per (implementation, precision, energy source): a fit never spans two
    sources. Returns the series, the fit lines, and a note for each fit refused (a negative slope)."""
    with_precision = several_precisions(usable)
    labels = source_labels(usable)
    groups = sorted(
        {(r.impl or "callable", r.precision, _source(r)) for r in usable},
        key=lambda k: (_impl_rank(k[0]), str(k[0]), _PRECISION_RANK.get(k[1], 9), _source_order(k[2])),
    )
    series, lines, refused = [], [], []
    for i, (impl, precision, source) in enumerate(groups):
        group = [r for r in usable if ((r.impl or "callable"), r.precision, _source(r)) == (impl, precision, source)]
        flops = [_known(r.flops) for r in group]
        joules = [_known(r.joules_per_call) for r in group]
        points = [
            (x, y, f"{_point_name(r, with_precision)} ({impl}): {si(x, 'FLOP')}, {si(y, 'J')}/call, {source[0]}")
            for r, x, y in zip(group, flops, joules)
        ]
        series_name = f"{impl}{_precision_suffix(precision, with_precision)}{_suffix(labels[source])}"
        fit = fit_joules_per_flop(flops, joules)
        if fit and fit[0] <= 0:
            refused.append(negative_slope_note(series_name, fit[0]))
        elif fit:
            lines.append(_fit_line(series_name, fit, flops, _color(i), _wrapped_dash(i)))
        series.append(
            Series(series_name, points, color=_color(i), shape=_wrapped_marker(i), hollow=_hollow(group[0], labels))
        )
    return series, lines, refused


def fit_legend(series_name: str, slope: float, intercept: float) -> str:
    """``cython fit: 162 pJ/FLOP − 37.1 µJ/call``: the intercept's sign is the operator, never ``+ -``."""
    sign = "−" if intercept < 0 else "+"
    return f"{series_name} fit: {fixed(slope * 1e12, 'pJ/FLOP')} {sign} {si(abs(intercept), 'J')}/call"


def _wrapped_marker(index: int) -> str:
    """The marker of series ``index``: it cycles with the colours, shifted once the palette wraps, so
    series ``index`` and ``index + len(PALETTE)`` (one colour) never share a marker too."""
    return MARKERS[(index + index // len(PALETTE)) % len(MARKERS)]


def _wrapped_dash(index: int) -> str:
    """The dash of fit line ``index``: "6 4", another one each time the palette wraps."""
    return ("6 4", "2 3", "9 3 2 3", "12 3")[(index // len(PALETTE)) % 4]


def _fit_line(series_name: str, fit: tuple[float, float], flops: list[float], color: str, dash: str = "6 4") -> Line:
    slope, intercept = fit
    xs = np.geomspace(min(flops), max(flops), 40)
    return Line(
        fit_legend(series_name, slope, intercept),
        [(float(x), float(slope * x + intercept)) for x in xs],
        color=color,
        dash=dash,
    )


def negative_slope_note(series_name: str, slope: float) -> str:
    """Why a fit is not drawn: energy that does not grow with FLOPs gives no energy per FLOP."""
    return (
        f"No fit drawn for {series_name}: its least-squares slope is {fixed(slope * 1e12, 'pJ/FLOP')}, not above zero, "
        "so its energy does not grow with FLOPs here and the slope is no energy per FLOP (too few points, noise, "
        "or costs other than FLOPs dominate)."
    )


#: the precisions whose operations are float FLOPs a float32 GEMM roof bounds (float64 rows are fp32 too)
ROOFLINE_PRECISIONS = ("fp32",)


def _roofs_caption(chosen: list[Roof], source: str) -> str:
    """The caption sentence naming each roof's figures and what measured its compute peak."""
    parts = []
    for roof in chosen:
        threads = roof.threads if roof.threads is not None else "?"
        other = f"; {roof.other_gemm[0]}: {fixed(roof.other_gemm[1], 'GFLOP/s')}" if roof.other_gemm else ""
        parts.append(
            f"{threads} thread(s): {fixed(roof.peak_gflops, 'GFLOP/s')} ({roof.peak_source}{other}), "
            f"{fixed(roof.bandwidth_gb_per_second, 'GB/s')}"
        )
    return (
        " Roofs: compute = the faster measured float32 GEMM, memory = the measured triad bandwidth ("
        + "; ".join(parts)
        + f") from {source}."
    )


def _reduced_precision_caption(left_out: list[Row]) -> str:
    """Why int8/bf16 rows are not on the roofline; "" when there are none."""
    if not left_out:
        return ""
    names = "/".join(p for p in PRECISIONS if any(r.precision == p for r in left_out))
    return (
        f" {len(left_out)} {names} row(s) are left out: their operations are not float32 FLOPs and their own roofs "
        "(int8 and bf16 dot-product peaks) are not measured; the precision chart compares their energy."
    )


def _float64_caption(plotted: list[Row]) -> str:
    """Float64 rows are drawn against float32 roofs; "" when there are none."""
    if not any(r.dtype == "float64" for r in plotted):
        return ""
    return " float64 rows are drawn against the float32 roofs (no float64 peak is measured)."


def _roof_for(row: Row, chosen: list[Roof]) -> Roof:
    """The roof measured with the row's thread count, else the first one shown."""
    return next((roof for roof in chosen if roof.threads == row.threads), chosen[0])


def points_above_roof(rows: list[Row], chosen: list[Roof]) -> list[tuple[Row, float]]:
    """(row, roof height at its intensity) for every row whose GFLOP/s exceeds its roof."""
    above = []
    for r in rows:
        height = _roof_for(r, chosen).bound_gflops(_known(r.intensity))
        if _known(r.gflops_per_second) > height * (1 + 1e-9):
            above.append((r, height))
    return above


def above_roof_note(above: list[tuple[Row, float]], total: int, with_precision: bool) -> str | None:
    """A reader-facing note when points lie above the roof (a roof is meant to bound them); None otherwise."""
    if not above:
        return None
    row, height = max(above, key=lambda pair: _known(pair[0].gflops_per_second) / pair[1])
    return (
        f"{len(above)} of {total} point(s) lie ABOVE the roof (e.g. {row.name(with_precision=with_precision)}: "
        f"{fixed(row.gflops_per_second, 'GFLOP/s')} where the roof allows {fixed(height, 'GFLOP/s')}). The roofs are "
        "what a float32 GEMM and a DRAM triad reached when `lstm-energy machine` measured them; a point above "
        "them ran faster than those measurements (data served from cache rather than DRAM, or peaks measured "
        "while the machine was busy), so here the roof is a reference, not a bound. Rerun `lstm-energy machine "
        "--refresh` on a quiet machine."
    )


def roofline(rows: list[Row], roofs: Roofs | None) -> Figure:
    """GFLOP/s against arithmetic intensity of the float rows, under the machine's measured compute and
    bandwidth roofs."""
    with_figures = [r for r in rows if r.intensity and r.gflops_per_second]
    usable = [r for r in with_figures if r.precision in ROOFLINE_PRECISIONS]
    left_out = [r for r in with_figures if r.precision not in ROOFLINE_PRECISIONS]
    title = "Roofline: achieved GFLOP/s vs arithmetic intensity"
    caption = "Achieved throughput (FLOPs per call / median seconds per call) against arithmetic intensity (FLOPs / expected bytes moved)."
    caption += _reduced_precision_caption(left_out) + _float64_caption(usable)
    note = None
    chosen = roofs.for_threads({r.threads for r in usable}) if roofs else []
    if roofs and chosen:
        caption += _roofs_caption(chosen, roofs.source)
        recorded = sorted({r.threads for r in usable if r.threads is not None})
        unmatched = [t for t in recorded if t not in {roof.threads for roof in chosen}]
        if unmatched:
            caption += (
                f" The results ran with {', '.join(map(str, unmatched))} thread(s), for which the machine profile "
                "has no roof: the roof shown is for another thread count; rerun `lstm-energy machine` with that many."
            )
    else:
        note = (
            "Measured machine peaks are missing, so no roofs are drawn: run `lstm-energy machine --json > machine.json` "
            "on the measuring machine and pass `--machine machine.json` to `lstm-energy report`."
        )
    if not usable:
        missing = (
            "No float32 record carries FLOPs, bytes and time. "
            if left_out
            else "No record carries FLOPs, bytes and time. "
        )
        return Figure("roofline", title, caption, note=missing + (note or ""))
    with_precision = several_precisions(usable)
    series = []
    # one series per implementation and host: two machines' throughputs are never one series
    hosts = host_labels(usable)
    groups = sorted(
        {(r.impl or "callable", r.host_key) for r in usable},
        key=lambda k: (_impl_rank(k[0]), str(k[0]), str(hosts[k[1]]), k[1]),
    )
    for i, (impl, host_key) in enumerate(groups):
        group = [r for r in usable if ((r.impl or "callable"), r.host_key) == (impl, host_key)]
        where = f"{impl}{_suffix(hosts[host_key])}"
        tip_where = ", ".join(part for part in (impl, hosts[host_key]) if part)
        series.append(
            Series(
                where,
                [
                    (
                        _known(r.intensity),
                        _known(r.gflops_per_second) * 1e9,
                        f"{_point_name(r, with_precision)} ({tip_where}): "
                        f"{fixed(r.intensity, 'FLOP/B')}, {fixed(r.gflops_per_second, 'GFLOP/s')}",
                    )
                    for r in group
                ],
                color=_color(i),
                shape=_wrapped_marker(i),
            )
        )
    lines = []
    intensities = [_known(r.intensity) for r in usable]
    for k, roof in enumerate(chosen):
        lo = min(intensities) / 4
        hi = max(max(intensities) * 4, roof.peak_gflops / roof.bandwidth_gb_per_second * 4)
        xs = np.geomspace(lo, hi, 80)
        threads = f"{roof.threads} thread(s): " if roof.threads is not None else ""
        lines.append(
            Line(
                f"roof, {threads}min({fixed(roof.peak_gflops, 'GFLOP/s')}, {fixed(roof.bandwidth_gb_per_second, 'GB/s')} × intensity)",
                [(float(x), float(roof.bound_gflops(x) * 1e9)) for x in xs],
                color=("#222", "#777")[k % 2],
                dash=("1 0", "8 3")[k % 2],
            )
        )
    above = above_roof_note(points_above_roof(usable, chosen), len(usable), with_precision) if chosen else None
    alert = "Points above the roof." if above else None
    figure = Figure("roofline", title, caption, note=_joined(above, note), alert=alert)
    return _drawn(
        figure,
        lambda: xy_plot(
            title,
            series,
            lines=lines,
            x_label="arithmetic intensity (FLOP/byte, log scale)",
            y_label="achieved throughput (FLOP/s, log scale)",
            x_unit="FLOP/B",
            y_unit="FLOP/s",
            nested_markers=True,
            described_by=figure.caption_id,
        ),
    )


def energy_by_domain(rows: list[Row]) -> Figure:
    """Per-domain energy per sequence of measured records (RAPL package, DRAM, core, psys...)."""
    title = "Energy per sequence by RAPL domain"
    caption = (
        "Dynamic energy per sequence in each RAPL domain reported by the meter (medians). Domains overlap "
        "(core and uncore are inside the package), so they are shown side by side, not stacked."
    )
    with_domains = [r for r in rows if r.provenance == "measured" and r.domains_joules_per_call]
    counted = [r for r in with_domains if not r.suspect]
    measured, unresolved = split_resolved(counted)
    if counted and not measured:
        return Figure("domains", title, caption, note=unresolved_note(unresolved, len(counted), "per-domain energy"))
    if with_domains and not measured:
        return Figure(
            "domains",
            title,
            caption,
            note=(
                "No trustworthy measured per-domain energy: every measured record read 0 J or an idle power of 0 W, "
                "so its counter did not count (see the banner at the top of the page). Rerun on a machine with "
                "working RAPL counters (see `lstm-energy meters`) to draw this chart."
            ),
        )
    if not rows:
        return Figure("domains", title, caption, note="No energy records, so no per-domain energy to draw.")
    if not measured:
        provenances = sorted({r.provenance for r in rows})
        return Figure(
            "domains",
            title,
            caption,
            note=(
                f"No measured per-domain energy in these results (provenance: {', '.join(provenances) or 'none'}). "
                "An estimate has no RAPL domains to split; run on a machine with readable RAPL counters "
                "(see `lstm-energy meters`) to draw this chart."
            ),
        )
    domains = sorted({d for r in measured for d in r.domains_joules_per_call})
    with_precision = several_precisions(measured)
    sources = source_labels(measured)  # two hosts' (or meters') rows of one configuration need their names
    labels = [f"{r.name(with_precision=with_precision)}{_suffix(sources[_source(r)])}" for r in measured]
    series = []
    for i, domain in enumerate(domains):
        points = []
        for row_index, r in enumerate(measured):
            value = r.domains_joules_per_call.get(domain)
            if value is None:
                continue
            per_sequence = value / r.batch if r.batch else value
            unit = "sequence" if r.batch else "call"
            points.append((per_sequence, row_index, f"{labels[row_index]} {domain}: {si(per_sequence, 'J')}/{unit}"))
        series.append(Series(domain, points, color=_color(i), shape=MARKERS[i % len(MARKERS)]))
    values = [p[0] for s in series for p in s.points]
    empty = energy_note(values, "measured per-domain energy")
    if empty:
        return Figure("domains", title, caption, note=empty)
    notes = (unresolved_note(unresolved, len(counted), "per-domain energy"), dropped_note(values, "per-domain energy"))
    x_label = "energy per sequence (J, log scale; per call when no batch is known)"
    return _energy_dot_plot("domains", title, caption, notes, labels, series, x_label)


def single_implementation_note(rows: list[Row], impls: list) -> str:
    """Why the implementations chart is not drawn: one implementation, or none recorded (and how to record it)."""
    unknown = [r for r in rows if not r.impl]
    if impls:
        text = f"Only one implementation in these results ({', '.join(impls)}): sweep with --impls cython,numpy[,torch] to compare."
        if unknown:
            text += f" {len(unknown)} other row(s) do not record their implementation."
        return text
    if not rows:
        return "No energy records, so no implementations to compare."
    missing = sorted(
        {
            k
            for r in unknown
            for k, v in (
                ("cell", r.cell),
                ("phase", r.phase),
                ("impl", r.impl),
                ("batch", r.batch),
                ("hidden_size", r.hidden_size),
            )
            if not v
        }
    )
    return (
        f"The implementation is not recorded in {len(unknown)} of {len(rows)} row(s) (missing: {', '.join(missing)}), "
        "so implementations cannot be compared. In a pytest benchmark, tell the energy fixture, e.g. "
        '`energy.configure(impl="cython", cell="lstm", phase="forward", batch=32, hidden_size=256, ...)` or '
        '`@pytest.mark.energy(impl="cython", ...)`; sweeps record it themselves (--impls cython,numpy[,torch]).'
    )


def _dot_rows(
    rows: list[Row], config_of: Callable[[Row], tuple], name_of: Callable[[Row], str], order_of: Callable[[Row], tuple]
) -> tuple[list, list[str]]:
    """The rows of a comparison dot plot: one per configuration and energy source (so figures of two
    sources never share a row), in ``order_of`` order, measured first, with their labels."""
    labels_of_source = source_labels(rows)
    keys: dict[tuple, tuple[str, tuple]] = {}
    for r in rows:
        label = f"{name_of(r)}{_suffix(labels_of_source[_source(r)])}"
        keys.setdefault((config_of(r), _source(r)), (label, order_of(r) + _source_order(_source(r))))
    order = sorted(keys, key=lambda k: keys[k][1])
    return order, [keys[k][0] for k in order]


def _compared_series(
    rows: list[Row], keys: list, labels: list[str], key_of: Callable[[Row], tuple], series_of: Callable[[Row], str]
) -> tuple[list[Series], int]:
    """One dot-plot series per value of ``series_of`` (an implementation, a precision), a point on each
    row it has a figure for. A row with several figures of one series (two benchmarks) shows them all
    rather than one picked at random; the count of such rows is returned too. (Hosts have rows of their own.)"""
    series, crowded = [], set()
    sources_named = _provenance_named(source_labels(rows))  # then every row label says its provenance
    for i, name in enumerate(_ordered_series(rows, series_of)):
        points: list[tuple[float, int, str]] = []
        errors: list[tuple[float, float] | None] = []
        for row_index, key in enumerate(keys):
            for r in (r for r in rows if series_of(r) == name and key_of(r) == key):
                joules = _known(r.joules_per_sequence)
                if any(p[1] == row_index for p in points):
                    crowded.add(key)
                tip = f"{labels[row_index]} {name}: {si(joules, 'J')}/sequence" + (
                    "" if sources_named else f", {r.provenance}"
                )
                points.append((joules, row_index, tip + (f" ({r.label})" if r.label else "")))
                errors.append(r.joules_per_sequence_ci)
        series.append(Series(name, points, color=_color(i), shape=MARKERS[i % len(MARKERS)], errors=errors))
    return series, len(crowded)


def _ordered_series(rows: list[Row], series_of: Callable[[Row], str]) -> list[str]:
    names = {series_of(r) for r in rows}
    return sorted(names, key=lambda n: (_impl_rank(n), _PRECISION_RANK.get(n, 9), n))


def _crowded_note(crowded: int, what: str) -> str | None:
    if not crowded:
        return None
    return f"{crowded} row(s) hold several {what} figures of one configuration (other benchmarks): each is drawn."


def implementations(rows: list[Row]) -> Figure:
    """cython vs numpy vs torch: J/sequence of the same configuration side by side."""
    all_profile = _profile_rows(rows)
    title = "Implementations compared: cython vs numpy vs torch"
    caption = (
        "Dynamic energy per sequence (median; bars: 95% CI) of each implementation on the same cell, phase and shape."
    )
    impls = _ordered(r.impl for r in all_profile if r.impl)
    if len(impls) < 2:
        return Figure("impls", title, caption, note=single_implementation_note(rows, impls))
    trusted, suspect = split_suspect(all_profile)
    profile, unresolved = split_resolved(trusted)
    total = len(all_profile)
    if not profile:
        note = _joined(suspect_note(suspect, total), unresolved_note(unresolved, total, "energy per sequence"))
        return Figure("impls", title, caption, note=note)
    caption = _with_sentence(_with_sentence(caption, provenance_caption(profile)), separate_sources_caption(profile))
    empty = energy_note([r.joules_per_sequence for r in profile], "energy per sequence")
    if empty:
        return Figure("impls", title, caption, note=empty)
    with_precision = several_precisions(profile)

    def config_of(r: Row) -> tuple:
        return (r.cell, _known(r.phase), r.shape_key(), r.precision)

    def order_of(r: Row) -> tuple:
        return (
            str(r.cell),
            _shape_order(r.shape_key()),
            _PHASE_RANK.get(_known(r.phase), 9),
            _PRECISION_RANK.get(r.precision, 9),
        )

    keys, labels = _dot_rows(profile, config_of, lambda r: _point_name(r, with_precision), order_of)
    series, crowded = _compared_series(
        profile, keys, labels, lambda r: (config_of(r), _source(r)), lambda r: _known(r.impl)
    )
    notes = (
        suspect_note(suspect, total),
        unresolved_note(unresolved, total, "energy per sequence"),
        _crowded_note(crowded, "implementation"),
        dropped_note([r.joules_per_sequence for r in profile], "energy per sequence"),
    )
    return _energy_dot_plot("impls", title, caption, notes, labels, series)


def energy_by_precision(rows: list[Row]) -> Figure:
    """Issue 18: J/sequence of each forward (cell, implementation, shape) in fp32, bf16 and int8."""
    title = "Energy per sequence by precision (forward)"
    caption = (
        "Dynamic energy per sequence (median; bars: 95% CI) of the same forward in fp32, bf16 (bfloat16 weights "
        "and activations, float32 sums) and int8 (dynamic quantization, int32 sums)."
    )
    all_forward = [r for r in _profile_rows(rows) if r.phase == "forward"]
    if not all_forward:
        missing = "No forward records with an energy per sequence: sweep with --precisions fp32,bf16,int8 to compare."
        return Figure("precision", title, caption, note=missing)
    if len({r.precision for r in all_forward}) < 2:
        missing = "Only one precision in these results: sweep with --precisions fp32,bf16,int8 to compare."
        return Figure("precision", title, caption, note=missing)
    trusted, suspect = split_suspect(all_forward)
    forward, unresolved = split_resolved(trusted)
    total = len(all_forward)
    if not forward:
        note = _joined(suspect_note(suspect, total), unresolved_note(unresolved, total, "energy"))
        return Figure("precision", title, caption, note=note)
    caption = _with_sentence(_with_sentence(caption, provenance_caption(forward)), separate_sources_caption(forward))
    empty = energy_note([r.joules_per_sequence for r in forward], "energy per sequence")
    if empty:
        return Figure("precision", title, caption, note=empty)

    def config_of(r: Row) -> tuple:
        return (r.cell, r.impl, r.shape_key())

    def order_of(r: Row) -> tuple:
        return (str(r.cell), str(r.impl), _shape_order(r.shape_key()))

    keys, labels = _dot_rows(forward, config_of, lambda r: f"{r.cell} {r.impl} {r.shape_text}", order_of)
    series, crowded = _compared_series(
        forward, keys, labels, lambda r: (config_of(r), _source(r)), lambda r: r.precision
    )
    notes = (
        suspect_note(suspect, total),
        unresolved_note(unresolved, total, "energy per sequence"),
        _crowded_note(crowded, "precision"),
        dropped_note([r.joules_per_sequence for r in forward], "energy"),
    )
    return _energy_dot_plot("precision", title, caption, notes, labels, series)


def all_figures(rows: list[Row], roofs: Roofs | None) -> list[Figure]:
    return [
        energy_by_hidden_size(rows),
        forward_vs_backward(rows),
        energy_vs_flops(rows),
        roofline(rows, roofs),
        energy_by_domain(rows),
        implementations(rows),
        energy_by_precision(rows),
    ]
