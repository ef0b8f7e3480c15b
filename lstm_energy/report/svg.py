"""Inline SVG chart primitives: scales with readable ticks, an x-y plot, a dot plot, a legend.

No JavaScript and no external resources: each function returns one ``<svg>`` element as a string that
renders the same in a browser, a mail client or a printout. Every drawn datum has ``class="mark"``
and a ``<title>`` tooltip, so tests (and readers hovering) can find it.
"""

from __future__ import annotations

import math
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from lstm_energy.report.units import esc, si

#: Okabe-Ito palette (distinguishable with the common colour-vision deficiencies), with orange, pink, sky
#: blue and grey darkened to a contrast of at least 3:1 against white and the dot plot's row stripes
#: (#f5f7fa), the minimum for graphical objects (WCAG 2.2, 1.4.11); the originals were 2.2-2.9:1
PALETTE = ("#0072B2", "#B07800", "#009E73", "#D55E00", "#B8598F", "#3A8FC8", "#767676", "#000000")
MARKERS = ("circle", "square", "diamond", "triangle")
#: the dashes a connected series' line can take when colour and marker alone cannot tell it apart
DASHES = ("", "2 3", "7 4", "9 3 2 3")

WIDTH, HEIGHT = 760, 400
#: a legend label's width per character (the legend's font), to wrap entries within the chart's width
LEGEND_CHAR_WIDTH = 8.0
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_BOTTOM = 84, 24, 58

#: the largest and smallest powers of ten a log axis can reach: 10**308 is still a finite float
_LOG_EXPONENT_LIMITS = (-300.0, 308.0)


class NothingToDraw(ValueError):
    """A chart was given no value it can place (e.g. only zeros on a log axis).

    For code, not readers: chart builders check their data first and show a reader-facing note, and
    catch this as a last guard so its text never reaches a page.
    """


@dataclass
class Scale:
    """Maps data values in ``domain`` to pixels in ``pixels``; ``log`` for a base-10 log axis.

    ``unit`` labels the ticks (``si(value, unit)``); ``ticks_at`` pins the ticks to given values.
    """

    domain: tuple[float, float]
    pixels: tuple[float, float]
    log: bool = False
    unit: str = ""
    ticks_at: tuple[float, ...] | None = None

    def __post_init__(self):
        self.domain = _log_domain(*self.domain) if self.log else _linear_domain(*self.domain)

    def __call__(self, value: float) -> float:
        lo, hi = self.domain
        p0, p1 = self.pixels
        if self.log:
            value = max(value, 1e-300)
            t = (math.log10(value) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        else:
            t = (value - lo) / (hi - lo)
        return p0 + t * (p1 - p0)

    def ticks(self) -> list[float]:
        lo, hi = self.domain
        if self.ticks_at:
            return [t for t in self.ticks_at if lo <= t <= hi]
        if self.log:
            first, last = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
            decades = [10.0**e for e in range(first, last + 1)]
            if len(decades) >= 3:
                every = max(1, len(decades) // 6)
                return decades[::every]
            for multiples in ((1, 2, 5), (1, 1.5, 2, 3, 5, 7), tuple(range(1, 10))):
                ticks = [m * 10.0**e for e in range(first - 1, last + 1) for m in multiples]
                ticks = [t for t in ticks if lo <= t <= hi]
                if len(ticks) >= 3:
                    break
            return ticks
        step = _nice_step((hi - lo) / 5)
        start = math.ceil(lo / step) * step
        return [start + i * step for i in range(int((hi - start) / step) + 1)]

    def label(self, value: float) -> str:
        return si(value, self.unit, digits=3, trim=True) if self.unit else _plain(value)


def _log_domain(lo: float, hi: float) -> tuple[float, float]:
    """A log axis's domain: padded by a few percent of its decades so end marks don't sit on the
    frame. Worked out in exponents and clamped, so values near 1e308 (absurd, but a report must still
    be written) do not overflow to infinity."""
    low_limit, high_limit = _LOG_EXPONENT_LIMITS
    e_lo = min(max(math.log10(max(lo, 1e-300)), low_limit), high_limit)
    e_hi = min(max(math.log10(max(hi, 1e-300)), low_limit), high_limit)
    pad = 0.06 * (e_hi - e_lo) if e_hi > e_lo else math.log10(2)
    e_lo, e_hi = max(e_lo - pad, low_limit), min(e_hi + pad, high_limit)
    if e_hi <= e_lo:  # both ends clamped to one limit: open a decade inwards
        e_lo, e_hi = (e_hi - 1, e_hi) if e_hi >= high_limit else (e_lo, e_lo + 1)
    return 10.0**e_lo, 10.0**e_hi


def _linear_domain(lo: float, hi: float) -> tuple[float, float]:
    """A linear axis's domain: starting at zero for sizes, padded at the top, finite however large
    the values (a span beyond the float range is clamped to it)."""
    biggest = sys.float_info.max / 4  # room for the padding and tick arithmetic below
    lo, hi = max(min(lo, biggest), -biggest), max(min(hi, biggest), -biggest)
    if lo == hi:
        lo, hi = (lo - 1, hi + 1) if lo == 0 else (lo - abs(lo) * 0.5, hi + abs(hi) * 0.5)
    lo = min(lo, 0.0) if lo >= 0 else lo  # linear axes of sizes start at zero
    return lo, hi + 0.06 * (hi - lo)


def _nice_step(raw: float) -> float:
    exponent = math.floor(math.log10(raw)) if raw > 0 else 0
    for m in (1, 2, 2.5, 5, 10):
        if m * 10**exponent >= raw:
            return m * 10**exponent
    return 10 ** (exponent + 1)  # pragma: no cover


def _plain(value: float) -> str:
    return f"{value:g}"


def _num(value: float) -> str:
    return f"{value:.1f}"


def marker(shape: str, x: float, y: float, color: str, title: str, size: float = 4.5, *, hollow: bool = False) -> str:
    """One data point drawn as ``shape`` with a tooltip; ``hollow``: an outline only."""
    tip = f"<title>{esc(title)}</title>"
    paint = (
        f'fill="#fff" stroke="{color}" stroke-width="2"' if hollow else f'fill="{color}" stroke="#fff" stroke-width="1"'
    )
    common = f'class="mark" {paint}'
    if shape == "square":
        return f'<rect {common} x="{_num(x - size)}" y="{_num(y - size)}" width="{_num(2 * size)}" height="{_num(2 * size)}">{tip}</rect>'
    if shape == "diamond":
        s = size * 1.3
        pts = f"{_num(x)},{_num(y - s)} {_num(x + s)},{_num(y)} {_num(x)},{_num(y + s)} {_num(x - s)},{_num(y)}"
        return f'<polygon {common} points="{pts}">{tip}</polygon>'
    if shape == "triangle":
        s = size * 1.3
        pts = f"{_num(x)},{_num(y - s)} {_num(x + s)},{_num(y + s * 0.8)} {_num(x - s)},{_num(y + s * 0.8)}"
        return f'<polygon {common} points="{pts}">{tip}</polygon>'
    return f'<circle {common} cx="{_num(x)}" cy="{_num(y)}" r="{_num(size)}">{tip}</circle>'


@dataclass
class Series:
    """One named set of points; ``points`` are (x, y, tooltip) and optional (low, high) error bars on y."""

    name: str
    points: Sequence[tuple[float, float, str]]
    color: str = PALETTE[0]
    shape: str = "circle"
    connect: bool = False
    dash: str = ""  # stroke-dasharray of the connecting line ("" = solid)
    errors: list[tuple[float, float] | None] = field(default_factory=list)
    #: outline markers: a chart of several energy sources draws the not-measured ones hollow
    hollow: bool = False

    def legend_entry(self) -> LegendEntry:
        """How the legend shows this series: its marker, on a short line in its dash when connected."""
        return LegendEntry(
            self.name, self.color, self.shape, line_dash=self.dash if self.connect else None, hollow=self.hollow
        )


class LegendEntry(NamedTuple):
    """One legend entry. ``shape`` is a marker shape, or "line"/"dash" for a reference line alone;
    ``line_dash`` (a stroke-dasharray, "" = solid) draws a line behind the marker, as the series' line is
    drawn, so lines told apart only by their dash are told apart in the legend too."""

    label: str
    color: str
    shape: str
    line_dash: str | None = None
    hollow: bool = False


@dataclass
class Line:
    """A reference line or curve (a fit, a roof): ``points`` in data units, drawn as a polyline."""

    name: str
    points: list[tuple[float, float]]
    color: str = "#444"
    dash: str = "6 4"


def _style(s: Series) -> tuple:
    """What tells a series apart on the chart and in its legend (a dash shows only when connected)."""
    return (s.color, s.shape, s.dash if s.connect else None, s.hollow)


def distinct_styles(series: Sequence[Series]) -> list[Series]:
    """``series`` with no two drawn alike: a series whose colour, marker, dash and fill another already
    has (the palette wraps, or two series were given one style) gets another marker, else another dash
    (connected series), else another colour. The first of each style keeps it."""
    taken: set[tuple] = set()
    out = []
    for s in series:
        if _style(s) in taken:
            dashes = DASHES if s.connect else (s.dash,)
            for color in (s.color, *(c for c in PALETTE if c != s.color)):
                options = (replace(s, color=color, shape=m, dash=d) for d in (s.dash, *dashes) for m in MARKERS)
                found = next((o for o in options if _style(o) not in taken), None)
                if found:
                    s = found
                    break
        taken.add(_style(s))
        out.append(s)
    return out


def _frame(title: str, body: str, legend: str, height: float = HEIGHT, described_by: str | None = None) -> str:
    """The ``<svg>`` around a chart. ``role="img"`` hides the marks' tooltips from assistive technology,
    so ``described_by`` names the element (the figure's caption) that says in words what is drawn."""
    describe = f' aria-describedby="{esc(described_by)}"' if described_by else ""
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{esc(title)}"{describe}>'
        f"<title>{esc(title)}</title>"
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#fff"/>'
        f"{body}{legend}</svg>"
    )


def legend(
    entries: Sequence[tuple[str, str, str] | LegendEntry], *, x: float = MARGIN_LEFT, y: float = 20
) -> tuple[str, float]:
    """A row of legend entries (``LegendEntry``, or a (label, colour, shape) tuple), wrapping as
    needed. Returns the SVG group and the y just below its last row (where the plot may start)."""
    parts, cx, cy = [], x, y
    right = WIDTH - MARGIN_RIGHT
    row_lines = 1  # the most lines an entry of the current row takes
    for entry in entries:
        label, color, shape, line_dash, hollow = LegendEntry(*entry)
        width = 38 + LEGEND_CHAR_WIDTH * len(label)
        if cx + width > right and cx > x:
            cx, cy = x, cy + 18 + LINE_HEIGHT * (row_lines - 1)
            row_lines = 1
        # an entry too long for the chart's width wraps within itself (its full text stays as a tooltip)
        lines = [label]
        if cx + width > right:
            lines = wrap_label(label, max(8, int((right - cx - 38) / LEGEND_CHAR_WIDTH)))
            width = 38 + LEGEND_CHAR_WIDTH * max(len(line) for line in lines)
        row_lines = max(row_lines, len(lines))
        if shape in ("line", "dash"):
            dash = line_dash if line_dash is not None else ("6 4" if shape == "dash" else "")
            parts.append(_legend_line(cx, cy, color, dash))
        else:
            if line_dash is not None:
                parts.append(_legend_line(cx - 4, cy, color, line_dash, length=24))
            parts.append(
                marker(shape, cx + 8, cy, color, label, size=4.5, hollow=hollow).replace(
                    'class="mark"', 'class="legend-mark"'
                )
            )
        if len(lines) == 1:
            parts.append(f'<text class="legend" x="{_num(cx + 22)}" y="{_num(cy + 4)}">{esc(label)}</text>')
        else:
            spans = "".join(
                f'<tspan x="{_num(cx + 22)}" y="{_num(cy + 4 + LINE_HEIGHT * i)}">{esc(line)}</tspan>'
                for i, line in enumerate(lines)
            )
            parts.append(f'<text class="legend"><title>{esc(label)}</title>{spans}</text>')
        cx += width
    cy += LINE_HEIGHT * (row_lines - 1)
    return f'<g class="legend">{"".join(parts)}</g>', cy + 22


def _legend_line(x: float, y: float, color: str, dash: str, length: float = 16) -> str:
    """A short legend line from ``x`` in ``dash`` ("" = solid)."""
    dasharray = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{_num(x)}" y1="{_num(y)}" x2="{_num(x + length)}" y2="{_num(y)}" stroke="{color}" '
        f'stroke-width="2"{dasharray}/>'
    )


def _x_ticks(xs: Scale, top: float, bottom: float) -> list[str]:
    """A vertical grid line from ``top`` to ``bottom`` and a tick label under ``bottom`` at every x tick."""
    out = []
    for t in xs.ticks():
        px = xs(t)
        out.append(f'<line class="grid" x1="{_num(px)}" y1="{top}" x2="{_num(px)}" y2="{bottom}"/>')
        out.append(
            f'<text class="tick" x="{_num(px)}" y="{bottom + 16}" text-anchor="middle">{esc(xs.label(t))}</text>'
        )
    return out


def _axes(xs: Scale, ys: Scale, x_label: str, y_label: str, height: int, top: float) -> str:
    """Grid lines, tick labels and axis titles for both axes (the plot starts at xs.pixels[0])."""
    left, right = xs.pixels[0], WIDTH - MARGIN_RIGHT
    bottom = height - MARGIN_BOTTOM
    out = [
        f'<rect class="plot-area" x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" stroke="#bbb"/>'
    ]
    out += _x_ticks(xs, top, bottom)
    for t in ys.ticks():
        py = ys(t)
        out.append(f'<line class="grid" x1="{left}" y1="{_num(py)}" x2="{right}" y2="{_num(py)}"/>')
        out.append(f'<text class="tick" x="{left - 6}" y="{_num(py + 4)}" text-anchor="end">{esc(ys.label(t))}</text>')
    out.append(
        f'<text class="axis-title" x="{(left + right) / 2:.1f}" y="{height - 14}" text-anchor="middle">{esc(x_label)}</text>'
    )
    cy = (top + bottom) / 2
    out.append(
        f'<text class="axis-title" x="16" y="{cy:.1f}" text-anchor="middle" transform="rotate(-90 16 {cy:.1f})">{esc(y_label)}</text>'
    )
    return "".join(out)


def xy_plot(
    title: str,
    series: list[Series],
    *,
    x_label: str,
    y_label: str,
    x_unit: str = "",
    y_unit: str = "",
    x_log: bool = True,
    y_log: bool = True,
    lines: Sequence[Line] = (),
    x_ticks: tuple[float, ...] | None = None,
    height: int = HEIGHT,
    nested_markers: bool = False,
    described_by: str | None = None,
) -> str:
    """Scatter (optionally connected) of several series, with reference lines and a legend;
    ``described_by``: the id of the text describing the chart (its caption)."""
    xs_all = [p[0] for s in series for p in s.points] + [p[0] for line in lines for p in line.points]
    ys_all = [p[1] for s in series for p in s.points]
    for s in series:
        ys_all += [v for e in s.errors if e for v in e]
    ys_all += [p[1] for line in lines for p in line.points]
    if x_log:
        xs_all = [v for v in xs_all if v > 0]
    if y_log:
        ys_all = [v for v in ys_all if v > 0]
    if not xs_all or not ys_all:
        raise NothingToDraw(f"xy_plot {title!r}: no x and y values it can place (log axes need values > 0)")
    # keep reference lines from stretching the y range far beyond the data
    data_y = [p[1] for s in series for p in s.points if (p[1] > 0 or not y_log)]
    y_lo, y_hi = min(ys_all), max(ys_all)
    if data_y and lines:
        y_lo = min(y_lo, min(data_y))
        y_lo = max(y_lo, min(data_y) / 100) if y_log else y_lo
        y_hi = min(y_hi, max(data_y) * 30) if y_log else y_hi
    series = distinct_styles(series)
    entries = [s.legend_entry() for s in series] + [
        LegendEntry(line.name, line.color, "dash" if line.dash else "line", line_dash=line.dash) for line in lines
    ]
    legend_svg, top = legend(entries)
    height = max(height, int(top) + 260)
    ys = Scale((y_lo, y_hi), (height - MARGIN_BOTTOM, top), log=y_log, unit=y_unit)
    left = max(
        MARGIN_LEFT, 36 + 7.4 * max((len(ys.label(t)) for t in ys.ticks()), default=4)
    )  # room for the y tick labels
    xs = Scale((min(xs_all), max(xs_all)), (left, WIDTH - MARGIN_RIGHT), log=x_log, unit=x_unit, ticks_at=x_ticks)
    body = [_axes(xs, ys, x_label, y_label, height, top)]
    clip_id = f"clip{zlib.crc32(title.encode()):08x}"
    body.append(
        f'<clipPath id="{clip_id}"><rect x="{left:.1f}" y="{top:.1f}" width="{WIDTH - left - MARGIN_RIGHT:.1f}" '
        f'height="{height - top - MARGIN_BOTTOM:.1f}"/></clipPath><g clip-path="url(#{clip_id})">'
    )
    for line in lines:
        pts = " ".join(
            f"{_num(xs(x))},{_num(ys(y))}" for x, y in line.points if (x > 0 or not x_log) and (y > 0 or not y_log)
        )
        body.append(
            f'<polyline class="mark ref-line" points="{pts}" fill="none" stroke="{line.color}" stroke-width="2" stroke-dasharray="{line.dash}"><title>{esc(line.name)}</title></polyline>'
        )
    # nested_markers: earlier series draw larger markers, so coinciding points of several series stay visible
    sizes = {id(s): 4.5 + (2.0 * (len(series) - 1 - i) if nested_markers else 0.0) for i, s in enumerate(series)}
    for s in series:
        shown = [(x, y, tip) for x, y, tip in s.points if (x > 0 or not x_log) and (y > 0 or not y_log)]
        if s.connect and len(shown) > 1:
            path = " ".join(f"{_num(xs(x))},{_num(ys(y))}" for x, y, _ in sorted(shown))
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            body.append(
                f'<polyline class="series-line" points="{path}" fill="none" stroke="{s.color}" stroke-width="1.8" opacity="0.85"{dash}/>'
            )
        for (x, _y, _), err in zip(s.points, s.errors or [None] * len(s.points)):
            if err and all(v > 0 or not y_log for v in err):
                body.append(
                    f'<line class="errorbar" x1="{_num(xs(x))}" x2="{_num(xs(x))}" y1="{_num(ys(err[0]))}" y2="{_num(ys(err[1]))}" stroke="{s.color}" stroke-width="1.2"/>'
                )
        for x, y, tip in shown:
            body.append(marker(s.shape, xs(x), ys(y), s.color, tip, size=sizes[id(s)], hollow=s.hollow))
    body.append("</g>")
    return _frame(title, "".join(body), legend_svg, height=height, described_by=described_by)


#: a row label's width per character at the tick font (13 px; Arial-like fonts average below it)
LABEL_CHAR_WIDTH = 7.8
#: the widest the dot plot's label column grows; longer labels wrap onto more lines
LABEL_COLUMN_MAX = 320.0
ROW_HEIGHT, LINE_HEIGHT = 22, 15  # whole pixels, so the <svg> height stays an integer (valid HTML)


def wrap_label(label: str, max_chars: int) -> list[str]:
    """``label`` in lines of at most ``max_chars`` characters, broken at spaces (a longer word is
    broken inside), so a long row label is shown whole rather than cut at the chart's edge."""
    lines: list[str] = []
    for word in label.split(" "):
        while len(word) > max_chars:
            lines.append(word[:max_chars])
            word = word[max_chars:]
        if lines and len(lines[-1]) + 1 + len(word) <= max_chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _row_label(lines: list[str], full: str, x: float, center: float) -> str:
    """A right-aligned row label centred on ``center``; a wrapped one keeps its full text as a tooltip."""
    first = center + 4 - LINE_HEIGHT * (len(lines) - 1) / 2
    if len(lines) == 1:
        return f'<text class="tick row-label" x="{_num(x)}" y="{_num(first)}" text-anchor="end">{esc(full)}</text>'
    spans = "".join(
        f'<tspan x="{_num(x)}" y="{_num(first + LINE_HEIGHT * i)}">{esc(line)}</tspan>' for i, line in enumerate(lines)
    )
    return f'<text class="tick row-label" text-anchor="end"><title>{esc(full)}</title>{spans}</text>'


def dot_plot(
    title: str,
    rows: list[str],
    series: list[Series],
    *,
    x_label: str,
    x_unit: str = "",
    x_log: bool = True,
    described_by: str | None = None,
) -> str:
    """Cleveland dot plot: one horizontal row per label in ``rows``; each series puts a marker on a
    row at its value. A series point's x is the value and its y is the row index. Labels too long
    for the label column wrap, and their row grows to hold them. ``described_by`` as in ``xy_plot``."""
    series = distinct_styles(series)
    longest = max((len(r) for r in rows), default=10)
    label_width = max(120.0, min(LABEL_COLUMN_MAX, LABEL_CHAR_WIDTH * longest))
    wrapped = [wrap_label(r, int(label_width / LABEL_CHAR_WIDTH)) for r in rows]
    heights = [ROW_HEIGHT + LINE_HEIGHT * (len(lines) - 1) for lines in wrapped]
    left = 16 + label_width
    legend_svg, top = legend([s.legend_entry() for s in series])
    centers = [top + sum(heights[:i]) + heights[i] / 2 for i in range(len(rows))]
    height = math.ceil(top + sum(heights) + MARGIN_BOTTOM)
    values = [p[0] for s in series for p in s.points if (p[0] > 0 or not x_log)]
    if not values or not rows:
        raise NothingToDraw(f"dot_plot {title!r}: no rows or no values it can place (a log axis needs values > 0)")
    xs = Scale((min(values), max(values)), (left, WIDTH - MARGIN_RIGHT), log=x_log, unit=x_unit)
    bottom = height - MARGIN_BOTTOM
    body = [
        f'<rect class="plot-area" x="{_num(left)}" y="{top}" width="{_num(WIDTH - MARGIN_RIGHT - left)}" height="{_num(bottom - top)}" fill="none" stroke="#bbb"/>'
    ]
    for i, label in enumerate(rows):
        if i % 2 == 0:
            body.append(
                f'<rect x="{_num(left)}" y="{_num(centers[i] - heights[i] / 2)}" width="{_num(WIDTH - MARGIN_RIGHT - left)}" height="{_num(heights[i])}" fill="#f5f7fa"/>'
            )
        body.append(_row_label(wrapped[i], label, left - 8, centers[i]))
    body += _x_ticks(xs, top, bottom)
    body.append(
        f'<text class="axis-title" x="{(left + WIDTH - MARGIN_RIGHT) / 2:.1f}" y="{_num(height - 14)}" text-anchor="middle">{esc(x_label)}</text>'
    )
    for index, s in enumerate(series):
        dodge = (index - (len(series) - 1) / 2) * min(5.0, 14.0 / max(len(series), 1))  # equal values stay visible
        for (x, row, tip), err in zip(s.points, s.errors or [None] * len(s.points)):
            if x_log and x <= 0:
                continue
            cy = centers[int(row)] + dodge
            if err and all(v > 0 or not x_log for v in err):
                body.append(
                    f'<line class="errorbar" x1="{_num(xs(err[0]))}" x2="{_num(xs(err[1]))}" y1="{_num(cy)}" y2="{_num(cy)}" stroke="{s.color}" stroke-width="1.2"/>'
                )
            body.append(marker(s.shape, xs(x), cy, s.color, tip, hollow=s.hollow))
    return _frame(title, "".join(body), legend_svg, height=height, described_by=described_by)
