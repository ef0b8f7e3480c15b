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
