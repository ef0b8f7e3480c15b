"""The legend draws a reference line the way the chart draws it: solid lines solid, dashed lines dashed."""

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
