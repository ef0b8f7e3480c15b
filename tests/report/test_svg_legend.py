"""The legend draws a line the way the chart draws it: solid lines solid, dashed lines dashed, for reference
lines and for connected series (review finding C1: fp32 and bf16 lines told apart only by their dash)."""

import re

from lstm_energy.report.svg import Line, Series, xy_plot


def legend_line_dash(svg: str, name: str) -> str | None:
    """stroke-dasharray of the short legend line drawn just before ``name``'s label (None when solid)."""
    entry = re.search(r"<line [^>]*/>\s*<text[^>]*>" + re.escape(name), svg)
    assert entry, f"no legend line for {name!r}"
    dash = re.search(r'stroke-dasharray="([^"]*)"', entry.group(0))
    return dash.group(1) if dash else None


def test_solid_and_dashed_reference_lines_keep_their_style_in_the_legend():
    svg = xy_plot(
        "t",
        [Series("points", [(1.0, 1.0, ""), (2.0, 3.0, "")])],
        x_label="x",
        y_label="y",
        x_log=False,
        y_log=False,
        lines=[Line("front", [(1.0, 1.0), (2.0, 3.0)], dash=""), Line("fit", [(1.0, 2.0), (2.0, 2.5)])],
    )
    assert legend_line_dash(svg, "front") is None
    assert legend_line_dash(svg, "fit") == "6 4"


def test_legend_shows_the_dash_of_a_series_line():
    svg = xy_plot(
        "t",
        [
            Series("fp32", [(1.0, 1.0, ""), (2.0, 2.0, "")], connect=True),
            Series("bf16", [(1.0, 0.5, ""), (2.0, 1.0, "")], connect=True, dash="2 3"),
        ],
        x_label="x",
        y_label="y",
    )
    entries = re.search(r'<g class="legend">(.*?)</g>', svg, re.S).group(1)
    bf16 = re.search(r'<line [^>]*stroke-dasharray="2 3"[^>]*/>\s*<circle[^>]*>.*?</circle>\s*<text[^>]*>bf16', entries)
    fp32 = re.search(r"<line (?![^>]*dasharray)[^>]*/>\s*<circle[^>]*>.*?</circle>\s*<text[^>]*>fp32", entries)
    assert bf16 and fp32


def test_a_legend_entry_too_long_for_the_chart_wraps_within_its_width_and_keeps_its_full_text():
    """Review 2, F6: one legend entry wider than the chart (a long host name, then the fit's figures) ran
    off its right edge, cutting off the fitted intercept."""
    from lstm_energy.report.svg import LEGEND_CHAR_WIDTH, MARGIN_RIGHT, WIDTH

    name = "cython (compute-node-017.cluster.example.org, Zen 5 (EPYC Turin; Ryzen client)) fit: 28.2 pJ/FLOP + 65.3 µJ/call"
    svg = xy_plot(
        "t",
        [Series("short", [(1.0, 1.0, ""), (2.0, 3.0, "")])],
        x_label="x",
        y_label="y",
        lines=[Line(name, [(1.0, 1.0), (2.0, 3.0)])],
    )
    legend = re.search(r'<g class="legend">(.*?)</g>', svg, re.S).group(1)
    for x, text in re.findall(r'<(?:text|tspan)[^>]* x="([\d.]+)"[^>]*>([^<]+)<', legend):
        assert float(x) + LEGEND_CHAR_WIDTH * len(text) <= WIDTH - MARGIN_RIGHT, text
    entry = re.search(r'<text class="legend"><title>([^<]*)</title>(.*?)</text>', legend, re.S)
    assert entry and entry.group(1) == name
    assert " ".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", entry.group(2))) == name  # nothing lost
    last_line = max(float(y) for y in re.findall(r'<tspan[^>]* y="([\d.]+)"', entry.group(2)))
    plot_top = float(re.search(r'class="plot-area" x="[\d.]+" y="([\d.]+)"', svg).group(1))
    assert plot_top > last_line  # the legend's extra lines push the plot down
