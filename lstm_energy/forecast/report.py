"""The forecasting study's HTML page: self-contained (inline SVG and CSS, no script, no network).

Sections: a provenance banner (as honest as the main report: "estimated, not measured" when the meter
is the model), the data and protocol, one forecast chart per family (the original series, train
predictions and test predictions in three distinct colours on the original time axis, as in the
classic tutorial plot; validation predictions in a fourth), an energy-vs-error scatter with the Pareto
front marked (a note instead when the joules cannot rank the trials: all 0 J, all equal), and the table
of the whole search next to the baselines.

Chart primitives (scatter, legend, palette, units) come from ``lstm_energy.report``; the time-series
chart is drawn here because it needs linear axes that do not start at zero.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from lstm_energy.forecast.search import SearchResult, energy_of
from lstm_energy.report.svg import PALETTE, Line, NothingToDraw, legend, xy_plot
from lstm_energy.report.svg import Series as ChartSeries
from lstm_energy.report.units import esc, si

#: the colours of the forecast chart (Okabe-Ito: distinguishable with colour-vision deficiencies)
ORIGINAL_COLOR = "#000000"
TRAIN_COLOR = PALETTE[0]  # blue
VALIDATION_COLOR = PALETTE[2]  # green
TEST_COLOR = PALETTE[3]  # vermillion
ENGINES = {"cython": "our Cython kernels", "numpy": "the NumPy reference engine"}
FAMILY_STYLE = {  # family -> (colour, marker)
    "LSTM": (PALETTE[0], "circle"),
    "GRU": (PALETTE[1], "square"),
    "RNN": (PALETTE[2], "triangle"),
    "BiLSTM": (PALETTE[4], "diamond"),
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
"""


def stylesheet() -> str:
    """The main report's CSS (same banners, fonts and chart text) plus this page's additions."""
    from importlib import resources

    return resources.files("lstm_energy.report").joinpath("report.css").read_text(encoding="utf-8") + EXTRA_CSS


# ---------------------------------------------------------------------------------------------------
# provenance
def _suspect(result: SearchResult, trial) -> list[str]:
    """The main report's dead-counter test (``lstm_energy.report.rows.suspect_reasons``) on one trial's
    training run and forecast measurement."""
    from lstm_energy.report.rows import suspect_reasons

    reasons = []
    for total, dynamic, measurement in (
        (trial.training_total_joules, trial.training_joules, trial.training_energy),
        (trial.total_joules_per_forecast, trial.joules_per_forecast, trial.forecast_energy),
    ):
        reasons += suspect_reasons(
            result.provenance,
            total_joules=total,
            joules_per_call=dynamic,
            idle_watts=getattr(measurement, "idle_watts", None),
        )
    return list(dict.fromkeys(reasons))


def banner_rows(result: SearchResult) -> list[SimpleNamespace]:
    """One row per trial in the shape the main report's banners read (provenance, meter, energies, suspect)."""
    return [
        SimpleNamespace(
            provenance=result.provenance,
            meter=result.meter_description,
            suspect=_suspect(result, t),
            joules_per_sequence=t.joules_per_forecast,
            joules_per_call=t.training_joules,
        )
        for t in result.trials
    ]


def energy_usable(result: SearchResult) -> bool:
    """False when the page's energy must not be presented as a measurement (all 0 J, dead counters)."""
    from lstm_energy.report.page import energy_warning

    return energy_warning(banner_rows(result)) is None


def provenance_banner(result: SearchResult) -> str:
    """The main report's banners (``lstm_energy.report.page.provenance_banners``), one row per trial.

    "ESTIMATED, NOT MEASURED" with the model, its parameters and source when the meter is the estimator;
    "MEASURED" with the counter and domains only when a hardware meter read every joule and counted; a
    red banner instead when every joule is 0 or the counter did not count.
    """
    from lstm_energy.report.page import provenance_banners

    return f'<div id="provenance">{provenance_banners(banner_rows(result))}</div>'


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
) -> str:
    """Line chart. dates, values: (N,); predictions: split -> (target_index (W,), forecasts (W,))."""
    years = _decimal_years(dates)
    all_y = [values] + [p for _, p in predictions.values()]
    y_lo, y_hi = float(min(a.min() for a in all_y)), float(max(a.max() for a in all_y))
    pad = 0.04 * (y_hi - y_lo or 1.0)
    y_lo, y_hi = y_lo - pad, y_hi + pad
    x_lo, x_hi = float(years[0]), float(years[-1])
    splits = [
        (split, color)
        for split, color in (("train", TRAIN_COLOR), ("validation", VALIDATION_COLOR), ("test", TEST_COLOR))
        if split in predictions
    ]
    entries = [("original", ORIGINAL_COLOR, "line")] + [
        (f"{split} predictions", color, "line") for split, color in splits
    ]
    legend_svg, legend_bottom = legend(entries, x=LEFT, y=20)
    top = max(TOP, legend_bottom)  # the plot starts below the legend, however many rows it wrapped to
    bottom = CHART_HEIGHT - BOTTOM

    def px(x):
        return LEFT + (x - x_lo) / (x_hi - x_lo) * (CHART_WIDTH - LEFT - RIGHT)

    def py(y):
        return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top)

    body = [
        f'<rect x="{LEFT}" y="{top:.1f}" width="{CHART_WIDTH - LEFT - RIGHT}" height="{bottom - top:.1f}" fill="none" stroke="#bbb"/>'
    ]
    for t in _nice_ticks(x_lo, x_hi):
        body.append(
            f'<line class="grid" x1="{px(t):.1f}" y1="{top:.1f}" x2="{px(t):.1f}" y2="{bottom}"/>'
            f'<text class="tick" x="{px(t):.1f}" y="{bottom + 16}" text-anchor="middle">{t:.0f}</text>'
        )
    for t in _nice_ticks(y_lo, y_hi):
        body.append(
            f'<line class="grid" x1="{LEFT}" y1="{py(t):.1f}" x2="{CHART_WIDTH - RIGHT}" y2="{py(t):.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{t:g}</text>'
        )
    for row, (index, label) in enumerate(zip(boundaries, ("validation", "test"))):
        x = px(years[index])  # labels on their own rows: the validation span can be narrower than its label
        body.append(
            f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom}" stroke="#888" stroke-dasharray="3 3"/>'
            f'<text class="tick" x="{x + 3:.1f}" y="{top + 13 + 15 * row:.1f}">{label} →</text>'
        )
    middle = (top + bottom) / 2
    body.append(
        f'<text class="axis-title" x="{(LEFT + CHART_WIDTH - RIGHT) / 2:.0f}" y="{CHART_HEIGHT - 8}" text-anchor="middle">year</text>'
        f'<text class="axis-title" x="14" y="{middle:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle:.0f})">{esc(units)}</text>'
    )

    def polyline(css_class: str, name: str, xs: np.ndarray, ys: np.ndarray, color: str, width: float) -> str:
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
        return (
            f'<polyline class="{css_class}" data-series="{esc(name)}" points="{points}" fill="none" '
            f'stroke="{color}" stroke-width="{width}"><title>{esc(name)}</title></polyline>'
        )

    body.append(polyline("series original", "original", years, values, ORIGINAL_COLOR, 1.2))
    for split, color in splits:
        index, forecast = predictions[split]
        body.append(polyline(f"series {split}-predictions", f"{split} predictions", years[index], forecast, color, 1.6))
    return (
        f'<svg class="chart forecast" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" '
        f'width="{CHART_WIDTH}" height="{CHART_HEIGHT}" role="img" aria-label="{esc(title)}"><title>{esc(title)}</title>'
        f'<rect x="0" y="0" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" fill="#fff"/>'
        f"{''.join(body)}{legend_svg}</svg>"
    )


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
    joules = [energy_of(t, energy) for t in result.trials]
    bad = [j for j in joules if not (math.isfinite(j) and j > 0)]
    if joules and len(bad) == len(joules) and all(j == 0 for j in bad):
        return f"every trial's {what} is 0 J: the meter did not count, so energy says nothing about these models"
    if bad:
        return (
            f"{len(bad)} of {len(joules)} trials have a {what} of 0 J or less (not a usable reading: the meter "
            "did not count, or the run was too short for it to resolve)"
        )
    if len(set(joules)) < 2:
        only = si(joules[0], "J") if joules else "none"
        return f"every trial has the same {what} ({only}), so energy does not separate them"
    return None


def _no_scatter(energy: str, reason: str) -> str:
    return (
        f'<p class="chart-note" data-energy="{esc(energy)}">No chart of {esc(ENERGY_WHAT[energy])} against test '
        f"error: {esc(reason)}. Compare the trials by test error in the table below.</p>"
    )


def energy_error_scatter(result: SearchResult, energy: str = "training") -> str:
    """Joules (log x) against test RMSE per trial; the Pareto front joined by a line; baselines as lines.

    On degenerate energy (``trade_off_problem``) a note says why there is no chart, and no front is named.
    """
    problem = trade_off_problem(result, energy)
    if problem:
        return _no_scatter(energy, problem)
    title, x_label = ENERGY_AXES[energy]
    units = result.series.units
    pareto = set(result.pareto_indices(energy))
    series = []
    for family, (color, shape) in FAMILY_STYLE.items():
        points = [
            (
                energy_of(t, energy),
                t.scores["test"].rmse,
                f"{t.candidate.label}: {si(energy_of(t, energy), 'J')}, test RMSE {t.scores['test'].rmse:.3f} {units}"
                + (" (Pareto-optimal)" if i in pareto else ""),
            )
            for i, t in enumerate(result.trials)
            if t.candidate.family == family
        ]
        if points:
            series.append(ChartSeries(family, points, color=color, shape=shape))
    front = sorted((energy_of(result.trials[i], energy), result.trials[i].scores["test"].rmse) for i in pareto)
    lines = [Line("Pareto front", front, color="#000000", dash="none")]
    joules = [energy_of(t, energy) for t in result.trials if energy_of(t, energy) > 0]
    if joules:
        span = (min(joules) / 2, max(joules) * 2)
        for (name, scores), dash in zip(result.baselines.items(), ("6 4", "2 3")):
            lines.append(
                Line(
                    f"{name}: {scores['test'].rmse:.3f} {units}",
                    [(span[0], scores["test"].rmse), (span[1], scores["test"].rmse)],
                    color="#777",
                    dash=dash,
                )
            )
    try:
        chart = xy_plot(
            title,
            series,
            x_label=f"{x_label} ({result.provenance})",
            y_label=f"test RMSE ({units})",
            x_unit="J",
            y_unit="",
            x_log=True,
            y_log=False,
            lines=lines,
        )
    except NothingToDraw:  # a last guard: trade_off_problem should have caught it
        return _no_scatter(energy, "no trial has a value the chart can place")
    return chart.replace('<svg class="chart"', f'<svg class="chart scatter" data-energy="{esc(energy)}"', 1)


def scatter_caption(result: SearchResult) -> str:
    """How to read the scatters (the front only when one is drawn), and who made the joules when no
    counter did."""
    from lstm_energy.report.charts import provenance_caption

    drawn = [e for e in ENERGY_AXES if trade_off_problem(result, e) is None]
    parts = []
    if drawn:
        parts.append(
            "Solid black line: the Pareto front (no other trial is both cheaper and more accurate on test"
            + ("; the table's Pareto column is for the training run" if "training" in drawn else "")
            + "). Dashed grey lines: the baselines' test RMSE. Hover a point for its configuration."
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
    head = [
        "model",
        "chosen",
        "window",
        "params",
        "train s",
        "training J (dynamic)",
        "training J (total)",
        "J / forecast (dynamic)",
        "J / forecast (total)",
        "FLOP / forecast",
        f"train RMSE ({units})",
        f"train MAE ({units})",
        f"val RMSE ({units})",
        f"test RMSE ({units})",
        f"test MAE ({units})",
    ]
    rows = [f"<tr>{''.join(f'<th class=l>{h}</th>' if i < 2 else f'<th>{h}</th>' for i, h in enumerate(head))}</tr>"]
    for i, t in enumerate(result.trials):
        tags = []
        if id(t) in selected:
            tags.append("best val")
        if i in pareto:
            tags.append("Pareto")
        rows.append(
            _row(
                [
                    esc(f"{t.candidate.family} H={t.candidate.model.hidden_size} L={t.candidate.model.num_layers}"),
                    esc(", ".join(tags)),
                    str(t.candidate.window),
                    str(t.parameters),
                    f"{t.history.seconds:.2f}",
                    si(t.training_joules, "J"),
                    si(t.training_total_joules, "J"),
                    si(t.joules_per_forecast, "J"),
                    si(t.total_joules_per_forecast, "J"),
                    si(t.forecast_work.flops, "FLOP"),
                    f"{t.scores['train'].rmse:.3f}",
                    f"{t.scores['train'].mae:.3f}",
                    f"{t.scores['validation'].rmse:.3f}",
                    f"{t.scores['test'].rmse:.3f}",
                    f"{t.scores['test'].mae:.3f}",
                ],
                "pareto" if i in pareto else "",
            )
        )
    for name, scores in result.baselines.items():
        rows.append(
            _row(
                [
                    esc(name),
                    "baseline",
                    "–",
                    "0",
                    "–",
                    "–",
                    "–",
                    "–",
                    "–",
                    "–",
                    f"{scores['train'].rmse:.3f}",
                    f"{scores['train'].mae:.3f}",
                    f"{scores['validation'].rmse:.3f}",
                    f"{scores['test'].rmse:.3f}",
                    f"{scores['test'].mae:.3f}",
                ],
                "baseline",
            )
        )
    return f'<table class="search">{"".join(rows)}</table>'


# ---------------------------------------------------------------------------------------------------
def render(result: SearchResult) -> str:
    """The whole page as one HTML string."""
    series = result.series
    best = result.best_per_family()
    v0, t0 = result.boundaries
    training = result.preset.training
    first_trial = result.trials[0]
    charts = []
    for family, trial in best.items():
        charts.append(f"<h3>{esc(trial.candidate.label)} (lowest validation RMSE of the {esc(family)} family)</h3>")
        charts.append(
            forecast_chart(
                f"{series.name}: {trial.candidate.label}",
                series.dates,
                series.values,
                series.units,
                trial.predictions,
                result.boundaries,
            )
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
        f"<li>Search: {esc(result.preset.name)} preset, {esc(result.preset.strategy)} search, {len(result.trials)} trials.</li>",
        "</ul>",
        "<h2>Forecasts on the original time axis</h2>",
        *charts,
        "<h2>Energy against error</h2>",
        energy_error_scatter(result, "training"),
        energy_error_scatter(result, "forecast"),
        scatter_caption(result),
        "<h2>The search</h2>",
        search_table(result),
        f'<h2>Protocol warnings</h2><ul class="warnings">{warnings}</ul>',
        f"<h2>Meter</h2><p><code>{esc(json.dumps(result.meter_description, sort_keys=True, default=str))}</code></p>",
        "</main></body></html>",
    ]
    return "\n".join(parts)


def write(result: SearchResult, path: str | Path) -> Path:
    """Render and write the page (UTF-8), creating the parent folder; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(result), encoding="utf-8")
    return target
