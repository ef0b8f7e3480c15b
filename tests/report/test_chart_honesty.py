"""The charts never pool joules of different provenance or meter (no median, difference or fit across
them), leave suspect rows out and say so, count what they draw, flag fits that are no energy per
FLOP, and always come out as a chart or a note, whatever the values (review findings A1, B1, C1, C2,
C7, C10, C11; C1's legend dashes: test_svg_legend.py). Rows are built directly: no meter, no CPU."""

from __future__ import annotations

import html
import re

import pytest

from lstm_energy.report import charts
from lstm_energy.report.rows import Row
from lstm_energy.report.svg import PALETTE, Scale, Series, dot_plot, xy_plot

METERS = {
    "measured": {"name": "powercap", "provenance": "measured"},
    "estimated": {"name": "model", "provenance": "estimated", "model": "CPU time × watts"},
}


def row(
    joules: float,
    *,
    provenance: str = "estimated",
    phase: str = "forward",
    impl: str = "cython",
    hidden: int = 32,
    batch: int = 8,
    label: str = "",
    suspect: tuple[str, ...] = (),
    flops: float | None = None,
) -> Row:
    """One report row of an lstm configuration with ``joules`` per sequence."""
    return Row(
        kind="profile",
        label=label,
        cell="lstm",
        phase=phase,
        impl=impl,
        batch=batch,
        seq_len=16,
        input_size=32,
        hidden_size=hidden,
        num_layers=1,
        bidirectional=False,
        threads=1,
        dtype="float32",
        provenance=provenance,
        meter=METERS[provenance],
        joules_per_call=joules * batch,
        joules_per_sequence=joules,
        joules_per_sequence_ci=(joules * 0.9, joules * 1.1),
        total_joules_per_sequence=joules * 2,
        seconds_per_call=1e-3,
        seconds_per_sequence=1e-3 / batch,
        flops=flops if flops is not None else 1e6 * hidden,
        bytes=1e5,
        intensity=10.0,
        gflops_per_second=1.0,
        watts=5.0,
        pj_per_flop=None,
        nj_per_byte=None,
        suspect=list(suspect),
    )


def tooltips(svg: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r'class="mark"[^>]*><title>(.*?)</title>', svg)]


def row_labels(svg: str) -> list[str]:
    """A dot plot's row labels, wrapped lines joined again."""
    texts = re.findall(r'<text class="tick row-label"[^>]*>(.*?)</text>', svg, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<title>.*?</title>", "", t)).strip()) for t in texts]


def legend_labels(svg: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r'<text class="legend"[^>]*>(.*?)</text>', svg)]


def test_energy_by_hidden_size_draws_measured_and_estimated_apart_and_never_their_median():
    figure = charts.energy_by_hidden_size([row(14.5e-6), row(145e-6, provenance="measured")])
    assert figure.svg
    assert sorted(legend_labels(figure.svg)) == ["lstm forward (estimated)", "lstm forward (measured)"]
    tips = tooltips(figure.svg)
    assert len(tips) == 2 and not any("79.8 µJ" in t for t in tips), tips  # 79.8 µJ: the pooled median
    assert all("(1 shape(s))" in t for t in tips), tips
    assert "Estimated energy (1 of the 2 rows drawn)" in figure.caption


def test_energy_by_hidden_size_counts_shapes_not_rows():
    two_shapes = charts.energy_by_hidden_size([row(1e-5, batch=8), row(2e-5, batch=16)])
    assert "(2 shape(s))" in tooltips(two_shapes.svg)[0]
    one_shape_twice = charts.energy_by_hidden_size([row(1e-5, label="bench a"), row(2e-5, label="bench b")])
    assert "median of 2 rows, 1 shape(s)" in tooltips(one_shape_twice.svg)[0]


def test_backward_is_never_train_minus_forward_of_another_provenance():
    rows = [row(145e-6, provenance="measured"), row(39.7e-6, phase="train")]
    figure = charts.forward_vs_backward(rows)
    assert figure.svg is None and "train − forward" not in (figure.note or "")
    assert "No configuration has both a forward and a train/backward record" in (figure.note or "")
    same = charts.forward_vs_backward(rows + [row(14.5e-6)])  # the estimated forward pairs with the estimated train
    assert any("backward = train − forward: 25.2 µJ/sequence" in t for t in tooltips(same.svg))


def test_energy_vs_flops_fits_each_provenance_alone_and_names_it():
    rows = [row(e, hidden=h) for e, h in ((1e-5, 32), (4e-5, 128))]
    rows += [row(e, hidden=h, provenance="measured") for e, h in ((5e-4, 32), (1e-4, 128))]  # falls: no fit
    figure = charts.energy_vs_flops(rows)
    fits = [label for label in legend_labels(figure.svg) if " fit: " in label]
    assert fits and all(label.startswith("cython (estimated) fit: ") for label in fits), fits
    assert "No fit drawn for cython (measured)" in (figure.note or "")


def test_a_negative_slope_is_flagged_not_shown_as_energy_per_flop():
    figure = charts.energy_vs_flops([row(e, hidden=h) for e, h in ((5e-4, 32), (4e-4, 64), (1e-4, 128))])
    assert figure.svg and not any(" fit: " in label for label in legend_labels(figure.svg))
    assert "No fit drawn for cython: its least-squares slope is -" in (figure.note or "")


def test_a_negative_intercept_reads_minus_not_plus_minus():
    figure = charts.energy_vs_flops([row(e, hidden=h) for e, h in ((1e-6, 32), (4e-5, 128))])
    (fit,) = [label for label in legend_labels(figure.svg) if " fit: " in label]
    assert "+ -" not in fit and re.search(r"pJ/FLOP − \S+ \S*J/call$", fit), fit


def test_implementations_never_share_a_row_across_provenances_and_caption_counts_points_drawn():
    rows = [row(764e-6, provenance="measured"), row(76.4e-6), row(400e-6, impl="numpy")]
    figure = charts.implementations(rows)
    labels = row_labels(figure.svg)
    assert len(labels) == 2 and all("(measured)" in x or "(estimated)" in x for x in labels), labels
    tips = tooltips(figure.svg)
    assert len(tips) == 3
    measured_row = next(t for t in tips if "(measured)" in t)
    assert "cython" in measured_row and not any("(measured) numpy" in t for t in tips)
    assert "Estimated energy (2 of the 3 rows drawn)" in figure.caption


@pytest.mark.parametrize(
    "chart", [charts.energy_by_hidden_size, charts.forward_vs_backward, charts.energy_vs_flops, charts.implementations]
)
def test_suspect_rows_are_left_out_of_every_energy_chart_and_counted(chart):
    reason = "implausible power: 5 kW for one core"
    rows = [row(1e-5), row(2e-5, phase="train"), row(3e-5, impl="numpy")]
    rows += [row(0.123, phase=p, impl=i, suspect=(reason,)) for p, i in (("forward", "cython"), ("train", "cython"))]
    figure = chart(rows)
    assert figure.svg and not any("123 mJ" in t or "984 mJ" in t for t in tooltips(figure.svg))
    assert "are not drawn: their energy is suspect (implausible power: 5 kW for one core)" in (figure.note or "")


def test_forward_vs_backward_of_no_rows_says_why():
    figure = charts.forward_vs_backward([])
    assert figure.svg is None and figure.note


def test_huge_values_draw_or_explain_and_never_raise():
    scale = Scale((1e-300, 1e308), (0.0, 100.0), log=True)
    assert all(0 < v < float("inf") for v in scale.domain) and scale.ticks()
    svg = xy_plot("t", [Series("s", [(1.0, 1e300, "huge"), (2.0, 1e-6, "small")])], x_label="x", y_label="y")
    assert "huge" in svg
    figure = charts._drawn(charts.Figure("k", "title", "caption"), lambda: str(10.0**400))
    assert figure.svg is None and "cannot place" in (figure.note or "")


def test_long_dot_plot_labels_are_shown_whole_inside_the_chart():
    label = "lstm forward B=1024 T=1000 D=1024 H=1024 L=4 bi t=2 fp32"
    svg = dot_plot("t", [label, "short"], [Series("s", [(1e-5, 0, ""), (2e-5, 1, "")])], x_label="x")
    text = re.search(r'<text class="tick row-label"[^>]*>(.*?)</text>', svg, re.S).group(1)
    lines = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", text) or [re.sub(r"<[^>]+>", "", text)]
    assert " ".join(lines) == label
    right = float(re.search(r'<rect class="plot-area" x="([\d.]+)"', svg).group(1)) - 8
    assert all(len(line) * 7.6 <= right for line in lines), lines  # right-anchored text would run off x = 0


def test_palette_colours_reach_3_to_1_against_white_and_the_row_stripes():
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for background in ("#ffffff", "#f5f7fa"):
        for colour in PALETTE:
            contrast = (luminance(background) + 0.05) / (luminance(colour) + 0.05)
            assert contrast >= 3.0, (colour, background, round(contrast, 2))


def test_every_chart_points_its_description_at_the_figure_caption():
    rows = [row(1e-5), row(3e-5, phase="train"), row(2e-5, impl="numpy"), row(4e-5, hidden=128)]
    for figure in charts.all_figures(rows, None):
        if figure.svg:
            assert f'aria-describedby="fig-{figure.key}-caption"' in figure.svg, figure.key
            assert figure.caption_id == f"fig-{figure.key}-caption"  # the id the page gives the caption


def _legend_styles(svg: str) -> list[tuple[str, tuple]]:
    """(label, (colour, marker, dash, fill)) of each legend entry of a chart."""
    group = re.search(r'<g class="legend">(.*?)</g>', svg, re.S).group(1)
    group = re.sub(r"<title>.*?</title>", "", group)
    entries, drawn = [], ""
    for part in re.split(r'(<text class="legend"[^>]*>.*?</text>)', group, flags=re.S):
        if not part.startswith("<text"):
            drawn += part
            continue
        colour = re.search(r'(?:fill|stroke)="(#(?!fff")[0-9A-Fa-f]+)"', drawn)
        shape = re.search(r"<(circle|rect|polygon)", drawn)
        points = re.search(r'points="([^"]*)"', drawn)  # a diamond and a triangle are both polygons
        line = re.search(r"<line[^>]*/>", drawn)
        dash = line and re.search(r'stroke-dasharray="([^"]*)"', line.group(0))
        style = (
            colour and colour.group(1),
            shape and shape.group(1),
            points and len(points.group(1).split()),
            line is not None and (dash.group(1) if dash else ""),
            'fill="#fff"' in drawn,
        )
        entries.append((re.sub(r"<[^>]+>", "", part), style))
        drawn = ""
    return entries


def _assert_every_series_distinct(page: str) -> int:
    checked = 0
    for svg in re.findall(r'<svg class="chart".*?</svg>', page, re.S):
        styles: dict[tuple, str] = {}
        for label, style in _legend_styles(svg):
            assert style not in styles, f"{label!r} is drawn like {styles[style]!r}: {style}"
            styles[style] = label
            checked += 1
    return checked


def test_no_two_series_of_a_chart_look_alike_with_three_hosts(tmp_path, grid_factory, jsonl_writer):
    """Review 2, F4: 3 cells x 3 hosts need 9 colours of an 8-colour palette; series 0 and 8 were drawn
    with one colour, marker and dash (lines, fits and legend entries alike)."""
    from lstm_energy.records import add_host_block
    from lstm_energy.report import build_report

    records = []
    for n, (name, arch) in enumerate((("vm", "Zen 5"), ("milan", "Zen 3"), ("genoa", "Zen 4"))):
        host = {
            "hostname": name,
            "machine_id": f"id{n}",
            "package": "0",
            "cpu": {"vendor": "amd", "family": 25, "model": n, "microarchitecture": arch, "model_name": "EPYC"},
            "source": "read from this host",
        }
        records += [add_host_block(r, host) for r in grid_factory()]
    page, _ = build_report([jsonl_writer(tmp_path / "three.jsonl", records)])
    assert _assert_every_series_distinct(page) > 20


def test_no_two_series_of_a_chart_look_alike_with_two_meters_of_one_provenance(tmp_path, grid_factory, jsonl_writer):
    """Review 2, F4: two meters of one provenance on one host got one colour (the colour was chosen per
    cell and host), so their lines differed only in their legend text."""
    from lstm_energy.report import build_report

    records = grid_factory("measured", impls=("cython",))
    other = []
    for r in grid_factory("measured", impls=("cython",)):
        r["energy"]["meter"] = {**r["energy"]["meter"], "name": "perf"}
        other.append(r)
    page, _ = build_report([jsonl_writer(tmp_path / "meters.jsonl", records + other)])
    assert "measured, perf" in page
    assert _assert_every_series_distinct(page) > 4


def test_distinct_styles_change_only_a_series_drawn_like_an_earlier_one():
    from lstm_energy.report.svg import distinct_styles

    series = [Series(str(i), [(1.0, 1.0, "")], color=PALETTE[i % len(PALETTE)]) for i in range(20)]
    styled = distinct_styles(series)
    assert len({(s.color, s.shape, s.hollow) for s in styled}) == 20
    assert [s.shape for s in styled[:8]] == ["circle"] * 8 and [s.color for s in styled] == [s.color for s in series]
    # and the chart primitives apply it: two series given one style are drawn apart
    same = [Series(name, [(1.0, 0, name)], color=PALETTE[0]) for name in ("a", "b")]
    assert _assert_every_series_distinct(dot_plot("t", ["row"], same, x_label="x")) == 2
    lines = [Series(name, [(1.0, 1.0, ""), (2.0, 2.0, "")], connect=True, shape="square") for name in ("a", "b")]
    assert _assert_every_series_distinct(xy_plot("t", lines, x_label="x", y_label="y")) == 2
