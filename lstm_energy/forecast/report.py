"""The forecasting study's HTML page: self-contained (inline SVG and CSS, no script, no network).

Sections: a provenance banner (as honest as the main report: "estimated, not measured" when the meter
is the model), the data and protocol, one forecast chart per family (the original series, train
predictions and test predictions in three distinct colours on the original time axis, as in the
classic tutorial plot; validation predictions in a fourth), an energy-vs-error scatter with the Pareto
front marked (a note instead when the joules cannot rank the trials: all 0 J, all equal), the precision
axis (each family's chosen model in fp32, bf16 and int8: joules per forecast against test RMSE, a chart
and a table; issue 18), and the table of the whole search next to the baselines.

Chart primitives (scatter, legend, palette, units) come from ``lstm_energy.report``; the time-series
chart is drawn here because it needs linear axes that do not start at zero.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from lstm_energy.errors import ConfigError
from lstm_energy.forecast.classical import ClassicalResult
from lstm_energy.forecast.search import SearchResult, TrialResult, energy_of
from lstm_energy.report.svg import PALETTE, Line, NothingToDraw, legend, xy_plot
from lstm_energy.report.svg import Series as ChartSeries
from lstm_energy.report.units import esc, si

#: the colours of the forecast chart: the classic tutorial's blue original, orange train and green test
#: predictions (Okabe-Ito shades, distinguishable with colour-vision deficiencies); validation purple
ORIGINAL_COLOR = PALETTE[0]  # blue
TRAIN_COLOR = PALETTE[1]  # orange
VALIDATION_COLOR = PALETTE[4]  # reddish purple
TEST_COLOR = PALETTE[2]  # green
ENGINES = {"cython": "our Cython kernels", "numpy": "the NumPy reference engine"}
FAMILY_STYLE = {  # family -> (colour, marker)
    "LSTM": (PALETTE[0], "circle"),
    "GRU": (PALETTE[1], "square"),
    "RNN": (PALETTE[2], "triangle"),
    "BiLSTM": (PALETTE[4], "diamond"),
    "SARIMA": (PALETTE[3], "square"),
    "ETS": (PALETTE[7], "triangle"),
}

#: additions to the main report's stylesheet (``lstm_energy/report/report.css``, inlined below it)
EXTRA_CSS = """
main ul li { margin: 3px 0; }
table.search { border-collapse: collapse; font-size: 13px; margin: 8px 0 24px; font-variant-numeric: tabular-nums; }
table.search th { background: #eef1f5; border-bottom: 2px solid #b8c0cc; padding: 6px 8px; text-align: right; }
table.search td { padding: 4px 8px; border-bottom: 1px solid #edf0f3; text-align: right; white-space: nowrap; }
table.search td.l, table.search th.l { text-align: left; }
table.search tr.pareto td { background: #eef5ff; }
table.search tr.baseline td { color: #5b6675; font-style: italic; }
svg.chart { max-width: 100%; height: auto; display: block; margin: 8px 0 18px; }
div.pair { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
div.pair svg.chart { margin: 4px 0 12px; }
"""


def stylesheet() -> str:
    """The main report's CSS (same banners, fonts and chart text) plus this page's additions."""
    from importlib import resources

    return resources.files("lstm_energy.report").joinpath("report.css").read_text(encoding="utf-8") + EXTRA_CSS


# ---------------------------------------------------------------------------------------------------
# provenance
def _suspect(entry) -> list[str]:
    """The main report's dead-counter test (``lstm_energy.report.rows.suspect_reasons``) on one priced
    entry's training run (or fit) and forecast measurement, under the provenance the entry recorded."""
    from lstm_energy.report.rows import suspect_reasons

    reasons = []
    for total, dynamic, measurement in (
        (entry.training_total_joules, entry.training_joules, entry.training_energy),
        (entry.total_joules_per_forecast, entry.joules_per_forecast, entry.forecast_energy),
    ):
        reasons += suspect_reasons(
            entry.provenance,
            total_joules=total,
            joules_per_call=dynamic,
            idle_watts=getattr(measurement, "idle_watts", None),
        )
    return list(dict.fromkeys(reasons))


def banner_rows(result: SearchResult) -> list[SimpleNamespace]:
    """One row per priced entry (``SearchResult.priced``: search trials, repeats, precision evaluations,
    classical fits) in the shape the main report's banners read: the provenance and meter description
    the entry's figures were recorded with (a --resume'd entry: its record's), its energies, suspect."""
    return [
        SimpleNamespace(
            provenance=e.provenance,
            meter=e.meter_description,
            suspect=_suspect(e),
            joules_per_sequence=e.joules_per_forecast,
            joules_per_call=e.training_joules,
        )
        for e in result.priced()
    ]


def meter_groups(entries) -> list[tuple[str, dict, list]]:
    """(provenance, meter description, entries) for each distinct recorded meter among ``entries``
    (priced entries), in order of first appearance. Descriptions are told apart by what identifies a
    meter (name, source, model, parameters, counter, calibration), not by running state."""
    from lstm_energy.meters.identity import identity_key

    groups: dict[tuple[str, str], tuple[str, dict, list]] = {}
    for e in entries:
        key = (e.provenance, identity_key(e.meter_description))
        groups.setdefault(key, (e.provenance, e.meter_description, []))[2].append(e)
    return list(groups.values())


def _named(entries, shown: int = 4) -> str:
    labels = [e.label for e in entries]
    more = f" and {len(labels) - shown} more" if len(labels) > shown else ""
    return ", ".join(labels[:shown]) + more


def energy_sources(entries) -> list[str]:
    """Where the joules of ``entries`` come from, one line per recorded meter description (as
    ``lstm_energy.results.describe_energy_source`` states it); with several, each line says how many of
    the entries, and which, it priced."""
    from lstm_energy.results import describe_energy_source

    groups = meter_groups(entries)
    if len(groups) == 1:
        provenance, meter, _ = groups[0]
        return [describe_energy_source(provenance, meter)]
    return [
        f"{describe_energy_source(provenance, meter)} [{len(members)} of {len(entries)} rows: {_named(members)}]"
        for provenance, meter, members in groups
    ]


def several_meters_banner(result: SearchResult) -> str:
    """A banner when the figures were recorded under different meter descriptions (a study resumed
    under other coefficients, say): each description, and which rows it priced. "" when there is one."""
    priced = result.priced()
    groups = meter_groups(priced)
    if len(groups) < 2:
        return ""
    items = "; ".join(esc(line) for line in energy_sources(priced))
    # role="note" like the report's banners (lstm_energy.report.page): static text, not a live alert
    return (
        '<div class="banner banner-mixed" role="note"><strong>SEVERAL METER DESCRIPTIONS</strong> '
        f"These figures were recorded under {len(groups)} different meter descriptions; compare figures of one "
        f"description only: {items}.</div>"
    )


def energy_usable(result: SearchResult) -> bool:
    """False when the page's energy must not be presented as a measurement (all 0 J, dead counters)."""
    from lstm_energy.report.page import energy_warning

    return energy_warning(banner_rows(result)) is None


def provenance_banner(result: SearchResult) -> str:
    """The main report's banners (``lstm_energy.report.page.provenance_banners``), one row per priced
    entry (``banner_rows``), each under the meter its figures were recorded with.

    "ESTIMATED, NOT MEASURED" with the model, its parameters and source when the meter is the estimator;
    "MEASURED" with the counter and domains only when a hardware meter read every joule and counted; a
    red banner instead when every joule is 0 or the counter did not count; and "SEVERAL METER
    DESCRIPTIONS" naming each when the entries were priced under more than one.
    """
    from lstm_energy.report.page import provenance_banners

    return f'<div id="provenance">{provenance_banners(banner_rows(result))}{several_meters_banner(result)}</div>'


# ---------------------------------------------------------------------------------------------------
# the forecast chart (original, train, validation, test on the original time axis)
CHART_WIDTH, CHART_HEIGHT = 760, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 46, 44


def _decimal_years(dates: np.ndarray) -> np.ndarray:
    """(N,) datetime64[M] -> (N,) decimal years (January = .0)."""
    months = dates.astype("datetime64[M]").astype(np.int64)
    return 1970.0 + months / 12.0


def _nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** np.floor(np.log10(raw))
    step = min((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), default=raw)
    first = np.ceil(lo / step) * step
    return [float(v) for v in np.arange(first, hi + step * 1e-9, step)]


def forecast_chart(
    title: str,
    dates: np.ndarray,
    values: np.ndarray,
    units: str,
    predictions: dict[str, tuple[np.ndarray, np.ndarray]],
    boundaries: tuple[int, int],
    *,
    zoom: bool = False,
) -> str:
    """Line chart. dates, values: (N,); predictions: split -> (target_index (W,), forecasts (W,)).

    The original series is drawn first, wide and pale, so the thinner prediction lines on top leave it
    visible. zoom: only the test period (the original with a dot per month, the test predictions),
    with a residual panel (forecast - actual) beneath.
    """
    years = _decimal_years(dates)
    if zoom:
        if "test" not in predictions:
            raise ConfigError(
                "the zoomed chart needs test predictions; pass predictions with a 'test' entry or zoom=False"
            )
        first = max(boundaries[1] - 1, 0)
        predictions = {"test": predictions["test"]}
        shown = slice(first, values.size)
    else:
        shown = slice(0, values.size)
    xs_shown, ys_shown = years[shown], values[shown]
    all_y = [ys_shown] + [p for _, p in predictions.values()]
    y_lo, y_hi = float(min(a.min() for a in all_y)), float(max(a.max() for a in all_y))
    pad = 0.04 * (y_hi - y_lo or 1.0)
    y_lo, y_hi = y_lo - pad, y_hi + pad
    x_lo, x_hi = float(xs_shown[0]), float(xs_shown[-1])
    splits = [
        (split, color)
        for split, color in (("train", TRAIN_COLOR), ("validation", VALIDATION_COLOR), ("test", TEST_COLOR))
        if split in predictions
    ]
    entries = [("original", ORIGINAL_COLOR, "line")] + [
        (f"{split} predictions", color, "line") for split, color in splits
    ]
    residual_height = 110 if zoom else 0
    height = CHART_HEIGHT + residual_height
    if zoom:
        entries.append(("residual (forecast - actual)", TEST_COLOR, "square"))
    legend_svg, legend_bottom = legend(entries, x=LEFT, y=20)
    top = max(TOP, legend_bottom)  # the plot starts below the legend, however many rows it wrapped to
    bottom = CHART_HEIGHT - BOTTOM
    right = CHART_WIDTH - RIGHT

    def px(x):
        return LEFT + (x - x_lo) / (x_hi - x_lo) * (right - LEFT)

    def py(y):
        return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top)

    body = [
        f'<rect x="{LEFT}" y="{top:.1f}" width="{right - LEFT}" height="{bottom - top:.1f}" fill="none" stroke="#bbb"/>'
    ]
    x_ticks = _nice_ticks(x_lo, x_hi)
    for t in x_ticks:
        body.append(
            f'<line class="grid" x1="{px(t):.1f}" y1="{top:.1f}" x2="{px(t):.1f}" y2="{bottom}"/>'
            f'<text class="tick" x="{px(t):.1f}" y="{bottom + 16}" text-anchor="middle">{t:g}</text>'
        )
    for t in _nice_ticks(y_lo, y_hi):
        body.append(
            f'<line class="grid" x1="{LEFT}" y1="{py(t):.1f}" x2="{right}" y2="{py(t):.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{t:g}</text>'
        )
    if not zoom:
        for row, (boundary, label) in enumerate(zip(boundaries, ("validation", "test"))):
            x = px(years[boundary])  # labels on their own rows: the validation span can be narrower than its label
            body.append(
                f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom}" stroke="#888" stroke-dasharray="3 3"/>'
                f'<text class="tick" x="{x + 3:.1f}" y="{top + 13 + 15 * row:.1f}">{label} →</text>'
            )
    middle = (top + bottom) / 2
    body.append(
        f'<text class="axis-title" x="{(LEFT + right) / 2:.0f}" y="{height - 8}" text-anchor="middle">year</text>'
        f'<text class="axis-title" x="14" y="{middle:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle:.0f})">{esc(units)}</text>'
    )

    def polyline(css_class: str, name: str, xs: np.ndarray, ys: np.ndarray, color: str, width: float, extra="") -> str:
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
        return (
            f'<polyline class="{css_class}" data-series="{esc(name)}" points="{points}" fill="none" '
            f'stroke="{color}" stroke-width="{width}"{extra}><title>{esc(name)}</title></polyline>'
        )

    body.append(
        polyline("series original", "original", xs_shown, ys_shown, ORIGINAL_COLOR, 3.2, ' stroke-opacity="0.45"')
    )
    if zoom:
        body += [
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.2" fill="{ORIGINAL_COLOR}"/>'
            for x, y in zip(xs_shown, ys_shown)
        ]
    for split, color in splits:
        index, forecast = predictions[split]
        body.append(polyline(f"series {split}-predictions", f"{split} predictions", years[index], forecast, color, 1.3))
    if zoom:
        body.append(_residual_panel(years, values, predictions["test"], px, LEFT, right, CHART_HEIGHT, units))
    return (
        f'<svg class="chart forecast{" zoom" if zoom else ""}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" width="{CHART_WIDTH}" height="{height}" role="img" '
        f'aria-label="{esc(title)}"><title>{esc(title)}</title>'
        f'<rect x="0" y="0" width="{CHART_WIDTH}" height="{height}" fill="#fff"/>'
        f"{''.join(body)}{legend_svg}</svg>"
    )


def _residual_panel(years, values, test, px, left, right, top, units) -> str:
    """Bars of forecast - actual over the test period, on a symmetric axis around 0."""
    index, forecast = test
    residual = forecast - values[index]
    bound = float(np.max(np.abs(residual))) or 1.0
    height = 80
    zero = top + height / 2

    def ry(r):
        return zero - r / bound * (height / 2 - 4)

    parts = [
        f'<g class="residuals"><rect x="{left}" y="{top:.1f}" width="{right - left}" height="{height}" fill="none" '
        f'stroke="#bbb"/><line x1="{left}" y1="{zero:.1f}" x2="{right}" y2="{zero:.1f}" stroke="#888"/>'
        f'<text class="tick" x="{left - 6}" y="{ry(bound) + 4:.1f}" text-anchor="end">+{bound:.2g}</text>'
        f'<text class="tick" x="{left - 6}" y="{ry(-bound) + 4:.1f}" text-anchor="end">-{bound:.2g}</text>'
        f'<text class="tick" x="{left + 4}" y="{top + 12:.1f}">residual, {esc(units)} (RMSE '
        f"{float(np.sqrt(np.mean(residual**2))):.3f})</text>"
    ]
    width = max((right - left) / max(index.size, 1) * 0.6, 1.0)
    for i, r in zip(index, residual):
        y0, y1 = sorted((zero, ry(float(r))))
        parts.append(
            f'<rect class="residual" x="{px(years[i]) - width / 2:.1f}" y="{y0:.1f}" width="{width:.1f}" '
            f'height="{max(y1 - y0, 0.5):.1f}" fill="{TEST_COLOR}"><title>{r:+.3f}</title></rect>'
        )
    return "".join(parts) + "</g>"


# ---------------------------------------------------------------------------------------------------
# energy vs error
ENERGY_AXES = {
    "training": ("Energy of the training run against test error", "training run, dynamic joules"),
    "forecast": ("Energy per forecast against test error", "one forecast, dynamic joules"),
}


ENERGY_WHAT = {"training": "training-run energy", "forecast": "energy per forecast"}


def trade_off_problem(result: SearchResult, energy: str = "training") -> str | None:
    """Why the trials' ``energy`` cannot rank them against error (so no front may be named), in words
    for the reader; None when it can: every trial's joules positive and at least two distinct."""
    what = ENERGY_WHAT[energy]
    joules = [energy_of(t, energy) for t in result.entries()]
    bad = [j for j in joules if not (math.isfinite(j) and j > 0)]
    if joules and len(bad) == len(joules) and all(j == 0 for j in bad):
        return f"every model's {what} is 0 J: the meter did not count, so energy says nothing about these models"
    if bad:
        return (
            f"{len(bad)} of {len(joules)} models have a {what} of 0 J or less (not a usable reading: the meter "
            "did not count, or the run was too short for it to resolve)"
        )
    if len(set(joules)) < 2:
        only = si(joules[0], "J") if joules else "none"
        return f"every model has the same {what} ({only}), so energy does not separate them"
    return None


def _no_scatter(energy: str, reason: str) -> str:
    return (
        f'<p class="chart-note" data-energy="{esc(energy)}">No chart of {esc(ENERGY_WHAT[energy])} against test '
        f"error: {esc(reason)}. Compare the trials by test error in the table below.</p>"
    )


#: a baseline whose test RMSE is above this many times the worst model's is named in the caption (with
#: how far off it is), not drawn: its line would squash the models' differences
BASELINE_LINE_LIMIT = 2.0
#: the dash of each baseline's line on the scatters, in the order of ``result.baselines``
BASELINE_DASHES = ("6 4", "2 3", "10 3 2 3", "1 4")


def drawn_baselines(result: SearchResult) -> list[str]:
    """The baselines close enough to the models to be drawn as lines on the scatters' axes."""
    worst = max(t.scores["test"].rmse for t in result.entries())
    return [name for name, scores in result.baselines.items() if scores["test"].rmse <= BASELINE_LINE_LIMIT * worst]


def baseline_comparison(result: SearchResult) -> str:
    """The models against the strongest baseline on test, in words made from the numbers: how many
    beat it, and by how much the best does (or how far the best falls short). "" without baselines."""
    if not result.baselines:
        return ""
    units = result.series.units
    name, scores = min(result.baselines.items(), key=lambda item: item[1]["test"].rmse)
    floor = scores["test"].rmse
    entries = result.entries()
    best = min(entries, key=lambda e: e.scores["test"].rmse)
    top = best.scores["test"].rmse
    beating = [e for e in entries if e.scores["test"].rmse < floor]
    text = (
        f"The strongest baseline on test is {name}: test RMSE {floor:.3f} {units}, with no parameters and no training. "
    )
    if not beating:
        return text + (
            f"No model beats it on test: the best, {best.label} ({top:.3f} {units}), is "
            f"{_percent(top / floor - 1)} worse."
        )
    text += (
        f"{len(beating)} of {len(entries)} models beat it on test; the best, {best.label} ({top:.3f} {units}), "
        f"has a {_percent(1 - top / floor)} lower test RMSE"
    )
    if len(beating) < len(entries):
        text += f"; {len(entries) - len(beating)} do not"
    return text + "."


def _percent(fraction: float) -> str:
    """0.18 -> "18 %", 0.004 -> "0.4 %" (small gains keep a decimal rather than reading as none)."""
    value = 100 * fraction
    return f"{value:.0f} %" if abs(value) >= 10 else f"{value:.1f} %"


def spread(result: SearchResult, family: str, energy: str = "training") -> list[tuple[float, float]]:
    """(joules, test RMSE) of each run of the family's chosen configuration (one per seed; the
    classical fits are deterministic, so only their joules vary)."""
    runs = result.repeats.get(family) or []
    classical = {m.family: m for m in result.classical}
    if family in classical:
        model = classical[family]
        if energy == "forecast":
            return [(model.joules_per_forecast, model.scores["test"].rmse)]
        return [(float(m.joules_per_call.median), model.scores["test"].rmse) for m in runs]
    return [(energy_of(t, energy), t.scores["test"].rmse) for t in runs]


def energy_error_scatter(result: SearchResult, energy: str = "training") -> str:
    """Joules (log x) against test RMSE (log y: the models differ by tenths of a ppm) per trial and
    classical model; error bars: the spread of test RMSE over the chosen configurations' seeded runs;
    the Pareto front joined by a line; baselines as lines.

    On degenerate energy (``trade_off_problem``) a note says why there is no chart, and no front is named.
    """
    problem = trade_off_problem(result, energy)
    if problem:
        return _no_scatter(energy, problem)
    title, x_label = ENERGY_AXES[energy]
    units = result.series.units
    entries = result.entries()
    pareto = set(result.pareto_indices(energy))
    chosen = {id(t): family for family, t in result.best_per_family().items()}
    chosen.update({id(m): m.family for m in result.classical})
    series = []
    for family, (color, shape) in FAMILY_STYLE.items():
        points, errors = [], []
        for i, t in enumerate(entries):
            if t.family != family:
                continue
            runs = spread(result, family, energy) if id(t) in chosen else []
            rmses = [r for _, r in runs]
            note = f"; {len(runs)} runs, test RMSE {min(rmses):.3f}–{max(rmses):.3f}" if len(runs) > 1 else ""
            points.append(
                (
                    energy_of(t, energy),
                    t.scores["test"].rmse,
                    f"{t.label}: {si(energy_of(t, energy), 'J')}, test RMSE {t.scores['test'].rmse:.3f} {units}"
                    + note
                    + (" (Pareto-optimal)" if i in pareto else ""),
                )
            )
            errors.append((min(rmses), max(rmses)) if len(runs) > 1 else None)
        if points:
            series.append(ChartSeries(family, points, color=color, shape=shape, errors=errors))
    front = sorted((energy_of(entries[i], energy), entries[i].scores["test"].rmse) for i in pareto)
    lines = [Line("Pareto front", front, color="#000000", dash="none")] if len(front) > 1 else []
    joules = [energy_of(t, energy) for t in entries if energy_of(t, energy) > 0]
    ceiling = BASELINE_LINE_LIMIT * max(t.scores["test"].rmse for t in entries)
    if joules:
        span = (min(joules) / 2, max(joules) * 2)
        for index, (name, scores) in enumerate(result.baselines.items()):
            if scores["test"].rmse > ceiling:  # drawn, it would squash the models' differences: the caption says it
                continue
            lines.append(
                Line(
                    f"{name}: {scores['test'].rmse:.3f} {units}",
                    [(span[0], scores["test"].rmse), (span[1], scores["test"].rmse)],
                    color="#777",
                    dash=BASELINE_DASHES[index % len(BASELINE_DASHES)],
                )
            )
    try:
        chart = xy_plot(
            title,
            series,
            x_label=f"{x_label} ({result.provenance})",
            y_label=f"test RMSE ({units}, log scale)",
            x_unit="J",
            y_unit="",
            x_log=True,
            y_log=True,
            lines=lines,
        )
    except NothingToDraw:  # a last guard: trade_off_problem should have caught it
        return _no_scatter(energy, "no trial has a value the chart can place")
    return chart.replace('<svg class="chart"', f'<svg class="chart scatter" data-energy="{esc(energy)}"', 1)


# ---------------------------------------------------------------------------------------------------
# the precision axis (issue 18): each family's chosen model in fp32, bf16 and int8
PRECISION_STYLE = {  # precision -> (colour, marker)
    "fp32": (PALETTE[0], "circle"),
    "bf16": (PALETTE[1], "square"),
    "int8": (PALETTE[2], "triangle"),
}
#: the accuracy target of issue 18: int8 test RMSE within this fraction of fp32's
INT8_RMSE_TOLERANCE = 0.05


def precision_rows(result: SearchResult) -> list:
    """Every (family, precision) evaluation, family by family, fp32 first."""
    return [r for by_precision in result.precisions.values() for r in by_precision.values()]


def precision_problem(result: SearchResult) -> str | None:
    """Why the precision chart cannot place the evaluations (as ``trade_off_problem``), else None."""
    joules = [r.joules_per_forecast for r in precision_rows(result)]
    if not joules:
        return "no chosen model was evaluated in reduced precision"
    bad = [j for j in joules if not (math.isfinite(j) and j > 0)]
    if bad:
        return (
            f"{len(bad)} of {len(joules)} evaluations have an energy per forecast of 0 J or less (the meter did "
            "not count, or the calls were too short for it to resolve)"
        )
    return None


def precision_scatter(result: SearchResult) -> str:
    """Joules per forecast (batched, log x) against test RMSE (log y) of each family's chosen model in
    fp32, bf16 and int8: one marker per precision, a dotted line joining a family's three points."""
    problem = precision_problem(result)
    if problem is None and not energy_usable(result):
        problem = "the study's energy figures are not usable (see the banner above)"
    if problem:
        return (
            '<p class="chart-note" data-energy="precision">No chart of energy per forecast by precision: '
            f"{esc(problem)}. The table below lists the test error per precision.</p>"
        )
    units = result.series.units
    series = []
    for precision, (color, shape) in PRECISION_STYLE.items():
        points = [
            (
                r.joules_per_forecast,
                r.scores["test"].rmse,
                f"{r.trial.label} in {precision}: {si(r.joules_per_forecast, 'J')} per forecast, test RMSE "
                f"{r.scores['test'].rmse:.3f} {units}",
            )
            for r in precision_rows(result)
            if r.precision == precision
        ]
        if points:
            series.append(ChartSeries(precision, points, color=color, shape=shape))
    lines = [
        Line(
            family,
            [(r.joules_per_forecast, r.scores["test"].rmse) for r in by_precision.values()],
            color=FAMILY_STYLE.get(family, ("#777", ""))[0],
            dash="2 3",
        )
        for family, by_precision in result.precisions.items()
        if len(by_precision) > 1
    ]
    try:
        chart = xy_plot(
            "Energy per forecast against test error, by precision (each family's chosen model)",
            series,
            x_label=f"one forecast (batched), dynamic joules ({result.provenance})",
            y_label=f"test RMSE ({units}, log scale)",
            x_unit="J",
            y_unit="",
            x_log=True,
            y_log=True,
            lines=lines,
        )
    except NothingToDraw:
        return '<p class="chart-note" data-energy="precision">No chart of energy per forecast by precision.</p>'
    return chart.replace('<svg class="chart"', '<svg class="chart scatter precision" data-energy="precision"', 1)


def precision_table(result: SearchResult) -> str:
    """Family, model, precision, test RMSE and MAE, RMSE relative to fp32, joules per forecast (batched
    and batch 1) and the cost models' FLOPs and bytes per forecast."""
    units = result.series.units
    head = [
        "family",
        "model",
        "precision",
        f"test RMSE ({units})",
        "test RMSE / fp32",
        f"test MAE ({units})",
        f"val RMSE ({units})",
        "J / forecast (dynamic, batched)",
        "vs fp32",
        "J / forecast (dynamic, batch 1)",
        "vs fp32",
        "FLOP / forecast",
        "bytes / forecast",
    ]
    rows = [f"<tr>{''.join(f'<th class=l>{h}</th>' if i < 3 else f'<th>{h}</th>' for i, h in enumerate(head))}</tr>"]

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if math.isfinite(a) and math.isfinite(b) and b > 0 else "–"

    for family, by_precision in result.precisions.items():
        fp32 = by_precision.get("fp32")
        for precision, r in by_precision.items():
            cells = [
                esc(family),
                esc(r.trial.label.split(" T=")[0]),
                esc(precision),
                f"{r.scores['test'].rmse:.3f}",
                f"{r.rmse_ratio(fp32):.3f}" if fp32 is not None else "–",
                f"{r.scores['test'].mae:.3f}",
                f"{r.scores['validation'].rmse:.3f}" if "validation" in r.scores else "–",
                si(r.joules_per_forecast, "J"),
                ratio(r.joules_per_forecast, fp32.joules_per_forecast) if fp32 is not None else "–",
                si(r.joules_per_forecast_b1, "J"),
                ratio(r.joules_per_forecast_b1, fp32.joules_per_forecast_b1) if fp32 is not None else "–",
                si(r.forecast_work.flops, "FLOP"),
                si(r.forecast_work.bytes, "B"),
            ]
            tds = "".join(f'<td class="l">{c}</td>' if i < 3 else f"<td>{c}</td>" for i, c in enumerate(cells))
            rows.append(f'<tr class="precision-{esc(precision)}">{tds}</tr>')
    return f'<div class="table-scroll"><table class="search precisions">{"".join(rows)}</table></div>'


def precision_summary(result: SearchResult) -> str:
    """The int8 accuracy against the issue's target (test RMSE within 5 % of fp32), in words."""
    ratios = {
        family: by_precision["int8"].rmse_ratio(by_precision["fp32"])
        for family, by_precision in result.precisions.items()
        if "int8" in by_precision and "fp32" in by_precision
    }
    if not ratios:
        return ""
    within = [f for f, r in ratios.items() if abs(r - 1) <= INT8_RMSE_TOLERANCE]
    items = ", ".join(f"{esc(f)} {r:.3f}" for f, r in ratios.items())
    return (
        f'<p class="precision-summary">int8 test RMSE over fp32 test RMSE: {items}; within '
        f"{INT8_RMSE_TOLERANCE:.0%} of fp32 for {len(within)} of {len(ratios)} families.</p>"
    )


def front_summary(result: SearchResult) -> str:
    """Which models are on the (training or fit joules, test RMSE) front, in words; and for a pareto
    search, Optuna's Pareto-optimal trials on validation RMSE and training joules."""
    parts = []
    if trade_off_problem(result, "training") is None:
        entries = result.entries()
        front = sorted((entries[i] for i in result.pareto_indices("training")), key=lambda e: e.training_joules)
        classical = {id(m) for m in result.classical}
        items = "".join(
            f"<li>{esc(e.label)}: {si(e.training_joules, 'J')} to {'fit' if id(e) in classical else 'train'}, "
            f"test RMSE {e.scores['test'].rmse:.3f} {esc(result.series.units)}</li>"
            for e in front
        )
        parts.append(
            f"<p>On the Pareto front of training (or fit) energy against test error ({esc(result.provenance)}):</p>"
            f'<ul class="front">{items}</ul>'
        )
    if result.optuna_front:
        items = "".join(f"<li>{esc(label)}</li>" for label in result.optuna_front)
        parts.append(
            "<p>Optuna's Pareto-optimal trials of the pareto search (validation RMSE against training joules, "
            f'one study per family):</p><ul class="optuna-front">{items}</ul>'
        )
    return "".join(parts)


def scatter_caption(result: SearchResult) -> str:
    """How to read the scatters (the front only when one is drawn), and who made the joules when no
    counter did."""
    from lstm_energy.report.charts import provenance_caption

    drawn = [e for e in ENERGY_AXES if trade_off_problem(result, e) is None]
    parts = []
    if drawn:
        parts.append(
            "Solid black line: the Pareto front (no other model is both cheaper and more accurate on test"
            + ("; the table's Pareto column is for the training run" if "training" in drawn else "")
            + "). Error bars: the lowest and highest test RMSE of the chosen configuration's seeded runs."
            + (" Dashed grey lines: the baselines' test RMSE, on the same axes." if drawn_baselines(result) else "")
            + " Hover a point for its configuration."
        )
        worst = max(t.scores["test"].rmse for t in result.entries())
        units = result.series.units
        off = [
            f"{name} {scores['test'].rmse:.3f} {units} ({scores['test'].rmse / worst:.1f}x)"
            for name, scores in result.baselines.items()
            if scores["test"].rmse > BASELINE_LINE_LIMIT * worst
        ]
        if off:
            parts.append(
                f"Not drawn, their test RMSE being more than {BASELINE_LINE_LIMIT:g}x the least accurate model's "
                f"({worst:.3f} {units}), which would squash the models' differences: {'; '.join(off)}."
            )
        parts.append(provenance_caption(banner_rows(result)))
    text = " ".join(p for p in parts if p)
    return f'<p class="chart-caption">{esc(text)}</p>' if text else ""


def _energy_subtitle(result: SearchResult) -> str:
    if energy_usable(result):
        return f"every energy figure is {esc(result.provenance)}."
    return f"the energy figures are marked {esc(result.provenance)} but are not usable (see the banner below)."


# ---------------------------------------------------------------------------------------------------
# tables
def _row(cells: list[str], css: str = "") -> str:
    tds = "".join(f'<td class="l">{c}</td>' if i < 2 else f"<td>{c}</td>" for i, c in enumerate(cells))
    return f'<tr class="{css}">{tds}</tr>'


def search_table(result: SearchResult) -> str:
    units = result.series.units
    pareto = set() if trade_off_problem(result, "training") else set(result.pareto_indices())
    selected = {id(t) for t in result.best_per_family().values()}
    classical = {id(m) for m in result.classical}
    head = [
        "model",
        "chosen",
        "window",
        "params",
        "train / fit s",
        "training or fit J (dynamic)",
        "training or fit J (total)",
        "J / forecast (dynamic, batched)",
        "J / forecast (total, batched)",
        "J / forecast (dynamic, batch 1)",
        "FLOP / forecast",
        f"train RMSE ({units})",
        f"train MAE ({units})",
        f"val RMSE ({units})",
        f"test RMSE ({units})",
        f"test MAE ({units})",
    ]
    rows = [f"<tr>{''.join(f'<th class=l>{h}</th>' if i < 2 else f'<th>{h}</th>' for i, h in enumerate(head))}</tr>"]
    for i, t in enumerate(result.entries()):
        tags = []
        if id(t) in selected:
            tags.append("best val")
        if id(t) in classical:
            tags.append("classical")
        if getattr(t, "resumed", False):
            tags.append("resumed")
        if i in pareto:
            tags.append("Pareto")
        is_classical = id(t) in classical
        css = " ".join(c for c in ("pareto" if i in pareto else "", "classical" if is_classical else "") if c)
        rows.append(
            _row(
                [
                    esc(t.label if is_classical else t.label.split(" T=")[0]),
                    esc(", ".join(tags)),
                    "–" if is_classical else str(t.candidate.window),
                    str(t.parameters),
                    f"{t.fit_seconds:.2f}",
                    si(t.training_joules, "J"),
                    si(t.training_total_joules, "J"),
                    si(t.joules_per_forecast, "J"),
                    si(t.total_joules_per_forecast, "J"),
                    si(t.joules_per_forecast_b1, "J") if math.isfinite(t.joules_per_forecast_b1) else "–",
                    "not counted" if is_classical else si(t.forecast_work.flops, "FLOP"),
                    f"{t.scores['train'].rmse:.3f}",
                    f"{t.scores['train'].mae:.3f}",
                    f"{t.scores['validation'].rmse:.3f}",
                    f"{t.scores['test'].rmse:.3f}",
                    f"{t.scores['test'].mae:.3f}",
                ],
                css,
            )
        )
    for name, scores in result.baselines.items():
        rows.append(
            _row(
                [esc(name), "baseline", "–", "0"]
                + ["–"] * 7
                + [
                    f"{scores['train'].rmse:.3f}",
                    f"{scores['train'].mae:.3f}",
                    f"{scores['validation'].rmse:.3f}",
                    f"{scores['test'].rmse:.3f}",
                    f"{scores['test'].mae:.3f}",
                ],
                "baseline",
            )
        )
    return f'<div class="table-scroll"><table class="search">{"".join(rows)}</table></div>'


def repeats_table(result: SearchResult) -> str:
    """The spread over seeds of each family's chosen configuration: test RMSE and training joules."""
    units = result.series.units
    head = [
        "family",
        "configuration",
        "runs",
        f"test RMSE ({units}) median",
        "min – max",
        "training or fit J median",
        "min – max",
    ]
    rows = [f"<tr>{''.join(f'<th class=l>{h}</th>' if i < 2 else f'<th>{h}</th>' for i, h in enumerate(head))}</tr>"]
    labels = {f: t.label for f, t in result.best_per_family().items()} | {m.family: m.label for m in result.classical}
    for family, label in labels.items():
        runs = spread(result, family)
        if not runs:
            continue
        joules, rmses = [j for j, _ in runs], [r for _, r in runs]
        rows.append(
            _row(
                [
                    esc(family),
                    esc(label),
                    str(len(runs)),
                    f"{float(np.median(rmses)):.3f}",
                    f"{min(rmses):.3f} – {max(rmses):.3f}",
                    si(float(np.median(joules)), "J"),
                    f"{si(min(joules), 'J')} – {si(max(joules), 'J')}",
                ]
            )
        )
    return f'<div class="table-scroll"><table class="search repeats">{"".join(rows)}</table></div>'


def environment_table(result: SearchResult) -> str:
    """The sweep report's machine and environment block (``lstm_energy.report.page``), for this run."""
    from lstm_energy.report.page import _environment_table

    # the sweep report reads the environment of its profile records; the study's run has one environment
    return _environment_table([{"kind": "profile", "environment": result.environment}])


def _search_text(result: SearchResult) -> str:
    if result.strategy == "bayes":
        return "bayes search (Optuna TPE per family, minimising validation RMSE over hidden size, window, layers, learning rate and epochs)"
    if result.strategy == "pareto":
        return "pareto search (Optuna multi-objective per family: validation RMSE and training joules)"
    return f"{result.strategy} search"


def _classical_text(result: SearchResult) -> str:
    parts = []
    for m in result.classical:
        if m.aics:
            tried = ", ".join(f"{o} AIC {a:.1f}" for o, a in m.aics.items())
            parts.append(f"{m.label}, chosen by lowest AIC on the training split among {tried};")
        else:
            parts.append(f"{m.label} (statsmodels ExponentialSmoothing);")
    text = " ".join(parts)
    return (
        text + " both fitted on the training split in original units, their parameters then held fixed while "
        "they forecast one step ahead over the same validation and test targets as the recurrent models. Fit energy: "
        "one meter window around the fit with its idle twin, like a training run. No FLOPs are counted for them."
    )


def meter_section(result: SearchResult) -> str:
    """The meter description every figure was recorded with (one per distinct description, with the
    number of rows it priced when there are several)."""
    groups = meter_groups(result.priced())
    parts = ["<h2>Meter</h2>"]
    for _, meter, members in groups:
        rows = f"{len(members)} row(s): " if len(groups) > 1 else ""
        parts.append(f"<p>{esc(rows)}<code>{esc(json.dumps(meter, sort_keys=True, default=str))}</code></p>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------
def render(result: SearchResult) -> str:
    """The whole page as one HTML string."""
    series = result.series
    best = result.best_per_family()
    v0, t0 = result.boundaries
    training = result.preset.training
    first_trial = result.trials[0]
    charts = []
    shown: list[tuple[TrialResult | ClassicalResult, str]] = [
        (t, f"lowest validation RMSE of the {family} family") for family, t in best.items()
    ]
    shown += [
        (m, "order chosen by AIC on the training split" if m.aics else "fitted on the training split")
        for m in result.classical
    ]
    for trial, why in shown:
        charts.append(f"<h3>{esc(trial.label)} ({esc(why)})</h3>")
        args = (series.dates, series.values, series.units, trial.predictions, result.boundaries)
        charts.append(
            '<div class="pair">'
            + forecast_chart(f"{series.name}: {trial.label}", *args)
            + forecast_chart(f"{series.name}: {trial.label}, test period and residuals", *args, zoom=True)
            + "</div>"
        )
    warnings = "".join(f"<li>{esc(w)}</li>" for w in result.warnings) or "<li>none</li>"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>Forecasting: accuracy per joule ({esc(series.name)})</title><style>{stylesheet()}</style></head><body>",
        f"<header><h1>Accuracy per joule: recurrent forecasters on {esc(series.name)}</h1>",
        f'<p class="subtitle">lstm-energy forecast, preset {esc(result.preset.name)}, seed {result.seed}; '
        f"{_energy_subtitle(result)}</p>",
        provenance_banner(result),
        "</header><main>",
        "<h2>Data and protocol</h2><ul>",
        f"<li>Series: {esc(series.source)}; {series.values.size} points, units {esc(series.units)}, season {series.season}.</li>",
        f"<li>Split in time order: train up to {series.dates[v0 - 1]}, validation {series.dates[v0]} to "
        f"{series.dates[t0 - 1]}, test {series.dates[t0]} to {series.dates[-1]}. Hyperparameters are chosen on "
        "validation; test is only reported.</li>",
        "<li>Models read windows of scaled month-to-month changes (standard scaler fitted on the training split "
        "only) and forecast the next change; forecasts are turned back into levels by adding the last observed "
        f"value, so every error is in {esc(series.units)}.</li>",
        f"<li>Training: {ENGINES.get(result.impl, esc(result.impl))} forward and backward (no autograd), final "
        "linear layer on the last hidden state, MSE, "
        f"Adam (lr {training.learning_rate}), gradient-norm clipping at {training.clip_norm}, "
        f"{training.epochs} epochs, mini-batches of {training.batch_size}, seed {result.seed}, "
        f"{result.threads} BLAS thread(s).</li>",
        "<li>Training energy: one meter window around the whole training run, then an idle window of equal "
        "length; dynamic = total - idle power x run time. Per-forecast energy: the measurement protocol "
        f"(warm-up, {result.preset.forecast_windows} windows each with an idle twin) on the prepared predict "
        f"call over the {len(first_trial.predictions['test'][0])} test windows.</li>",
        f"<li>Search: {esc(result.preset.name)} preset, {esc(_search_text(result))}, {len(result.trials)} trials; "
        f"the chosen configuration of each family run with {result.preset.repeats} seed(s) (table below).</li>",
        f"<li>Classical models: {esc(_classical_text(result))} Per-forecast energy at batch 1 (one series, one "
        "step, as an edge device forecasts) is measured beside the batched figure for every model.</li>",
        "</ul>",
        "<h2>Forecasts on the original time axis</h2>",
        *charts,
        "<h2>Energy against error</h2>",
        energy_error_scatter(result, "training"),
        energy_error_scatter(result, "forecast"),
        scatter_caption(result),
        f'<p class="baseline-comparison">{esc(baseline_comparison(result))}</p>' if result.baselines else "",
        front_summary(result),
        "<h2>Precision: fp32, bf16, int8</h2>",
        "<p>Each family's chosen model (lowest validation RMSE) forecasts with its trained fp32 weights in three "
        "precisions of the recurrent layer (<code>eval(precision=...)</code>): fp32; bf16 weights and activations "
        "with fp32 sums; int8 dynamic quantization (weights per output row, activations per row and step, "
        "int32 sums, float gate math). The final linear layer stays fp32; the classical models are not "
        "recurrent and are not re-run. Joules per forecast are measured again for fp32 beside bf16 and int8, "
        "so the ratios compare one moment with itself.</p>",
        precision_scatter(result),
        precision_summary(result),
        precision_table(result),
        "<h2>The search</h2>",
        search_table(result),
        "<h2>Repeated runs of the chosen configurations</h2>",
        repeats_table(result),
        f'<h2>Protocol warnings</h2><ul class="warnings">{warnings}</ul>',
        meter_section(result),
        "<h2>Machine and environment</h2>",
        environment_table(result),
        "</main></body></html>",
    ]
    return "\n".join(parts)


def write(result: SearchResult, path: str | Path) -> Path:
    """Render and write the page (UTF-8), creating the parent folder; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(result), encoding="utf-8")
    return target
