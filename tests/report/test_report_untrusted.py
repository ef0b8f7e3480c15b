"""Reports of results whose joules cannot be trusted (a dead counter: measured, 0 J, idle 0 W), of estimates,
and of charts with nothing to draw: the page is always written, says plainly what is wrong, and shows no
programmer text."""

import json
import re

import pytest

from lstm_energy.cli import main
from lstm_energy.report import build_report, write_report
from lstm_energy.report.charts import Figure, _drawn
from lstm_energy.report.svg import NothingToDraw, Series, dot_plot, xy_plot

DEVELOPER_TEXT = ("caller should", "Traceback", "ValueError", "NothingToDraw", "xy_plot", "dot_plot", "Error(")
CCF_SOURCE = (
    "Cloud Carbon Footprint coefficients (AWS …): Emerald Rapids 0.81–4.48 W per vCPU × 2 vCPUs, "
    "identified from cpuid family 6 model 207"
)
ESTIMATE_CAPTION = "Estimated energy: these differences come from the model"


def banners(html):
    """(kind, heading, text) of every banner on the page."""
    return re.findall(r'<div class="banner banner-(\w+)" role="note"><strong>(.*?)</strong>(.*?)</div>', html, re.S)


def figures(html):
    """figure id -> (has an svg, the chart note or None, the caption)."""
    out = {}
    for key, body in re.findall(r'<figure class="[^"]*" id="fig-([\w-]+)">(.*?)</figure>', html, re.S):
        note = re.search(r'<p class="chart-note">(.*?)</p>', body, re.S)
        caption = re.search(r"<figcaption[^>]*>(.*?)</figcaption>", body, re.S).group(1)
        out[key] = ("<svg" in body, note.group(1) if note else None, caption)
    return out


def assert_no_developer_text(html):
    for text in DEVELOPER_TEXT:
        assert text not in html, f"{text!r} reached the page"


def assert_every_chart_draws_or_says_why(html):
    for key, (svg, note, _) in figures(html).items():
        assert svg or note, f"figure {key} has neither a chart nor a note"


def test_all_zero_measured_results_write_a_report_with_a_red_banner(tmp_path, dead_counter_records, jsonl_writer):
    path = jsonl_writer(tmp_path / "quick.jsonl", dead_counter_records())
    info = write_report([path], tmp_path / "reports" / "quick.html")
    html = info.path.read_text(encoding="utf-8")
    kinds = [b[0] for b in banners(html)]
    assert kinds[0] == "invalid", "the red banner comes first"
    assert "measured" not in kinds, "no green MEASURED banner over zeros"
    assert "Every energy figure in these results is 0 J" in banners(html)[0][2]
    assert "--meter model" in banners(html)[0][2]
    assert_no_developer_text(html)
    assert_every_chart_draws_or_says_why(html)
    drawn = figures(html)
    for key in ("by-hidden", "fwd-bwd", "vs-flops", "impls"):
        svg, note, _ = drawn[key]
        assert not svg and "0 J" in note, key
    assert not drawn["domains"][0] and "did not count" in drawn["domains"][1]
    assert drawn["roofline"][0], "time and FLOPs are still sound: the roofline draws"
    assert "(suspect: counter did not count)" in html


def test_all_zero_pytest_benchmark_json_writes_a_report_with_a_red_banner(
    kill_counter, tmp_path, record_factory, benchmark_writer
):
    with_config = [
        dict(kill_counter(record_factory(cell, impl=impl, provenance="measured")), kind="benchmark")
        for cell in ("lstm", "gru")
        for impl in ("cython", "numpy")
    ]
    bare = kill_counter(record_factory(provenance="measured"))  # a benchmark told no shape: energy per call only
    bare.update(kind="benchmark")
    del bare["config"]
    for key in ("joules_per_sequence", "total_joules_per_sequence"):
        del bare["energy"][key]
    path = benchmark_writer(tmp_path / "bench.json", with_config + [bare])
    info = write_report([path], tmp_path / "bench.html")
    html = info.path.read_text(encoding="utf-8")
    assert len(info.rows) == 5 and all(r.suspect for r in info.rows)
    assert banners(html)[0][0] == "invalid" and "0 J" in banners(html)[0][2]
    assert 'class="banner banner-measured"' not in html
    assert_no_developer_text(html)
    assert_every_chart_draws_or_says_why(html)


def test_report_cli_writes_the_page_and_warns_on_a_dead_counter(
    kill_counter, tmp_path, dead_counter_records, jsonl_writer, capsys
):
    path = jsonl_writer(tmp_path / "quick.jsonl", dead_counter_records(cells=("lstm",)))
    out = tmp_path / "quick.html"
    assert main(["report", str(path), "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert out.exists() and "Traceback" not in printed.err
    assert "WARNING: ENERGY IS ALL 0 J" in printed.err


def test_one_dead_record_among_sound_ones_is_flagged_and_not_counted_as_measured(
    kill_counter, tmp_path, record_factory, jsonl_writer
):
    sound = [record_factory(cell, provenance="measured") for cell in ("lstm", "gru")]
    dead = kill_counter(record_factory("rnn", provenance="measured"))
    dead["energy"]["joules_per_sequence"]["median"] = 1e-4  # only the idle power gives it away
    dead["energy"]["total_joules_per_sequence"]["median"] = 1e-4
    html, info = build_report([jsonl_writer(tmp_path / "r.jsonl", sound + [dead])])
    found = {b[0]: b for b in banners(html)}
    assert "SUSPECT ENERGY" in found["invalid"][1] and "1 of 3 row(s)" in found["invalid"][2]
    assert "(2 row(s))" in found["measured"][2], "MEASURED counts the sound rows only"
    assert [r.cell for r in info.rows if r.suspect] == ["rnn"]
    assert html.count('prov-suspect" title=') == 1  # one table cell


def test_a_dead_record_does_not_merge_into_a_sound_one(kill_counter, tmp_path, record_factory, jsonl_writer):
    path = jsonl_writer(
        tmp_path / "r.jsonl",
        [record_factory(provenance="measured"), kill_counter(record_factory(provenance="measured"))],
    )
    _, info = build_report([path])
    assert sorted(bool(r.suspect) for r in info.rows) == [False, True]
    assert [r.joules_per_sequence > 0 for r in info.rows if not r.suspect] == [True]


def test_estimated_banner_shows_the_meter_source_verbatim_and_charts_say_the_model_made_the_differences(
    tmp_path, grid_factory, jsonl_writer
):
    meter = {
        "name": "model",
        "provenance": "estimated",
        "source": CCF_SOURCE,
        "model": "CPU time × watts per vCPU",
        "parameters": {"min_watts_per_vcpu": 0.81, "max_watts_per_vcpu": 4.48, "vcpus": 2},
    }
    records = grid_factory("estimated", cells=("lstm",))
    for r in records:
        r["energy"]["meter"] = meter
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", records)])
    estimated = [b for b in banners(html) if b[0] == "estimated"]
    assert len(estimated) == 1 and estimated[0][1] == "ESTIMATED, NOT MEASURED"
    assert CCF_SOURCE in estimated[0][2].replace("&amp;", "&")
    drawn = figures(html)
    for key in ("vs-flops", "impls"):
        assert drawn[key][0], key
        assert f"{ESTIMATE_CAPTION} (CPU time × watts per vCPU), not from a measurement." in drawn[key][2], key


def test_measured_charts_carry_no_estimate_caption_and_mixed_ones_say_how_many(tmp_path, grid_factory, jsonl_writer):
    measured = grid_factory("measured", cells=("lstm",), impls=("cython", "numpy"))
    html, _ = build_report([jsonl_writer(tmp_path / "m.jsonl", measured)])
    assert ESTIMATE_CAPTION not in html
    estimated = grid_factory("estimated", cells=("gru",), impls=("cython", "numpy"))
    html, _ = build_report([jsonl_writer(tmp_path / "mixed.jsonl", measured + estimated)])
    assert "MIXED PROVENANCE" in html
    caption = figures(html)["vs-flops"][2]
    assert f"Estimated energy ({len(estimated)} of the {len(measured) + len(estimated)} rows drawn)" in caption


def test_estimated_banner_says_when_the_meter_names_no_source(tmp_path, record_factory, jsonl_writer):
    html, _ = build_report(
        [jsonl_writer(tmp_path / "r.jsonl", [record_factory()])]
    )  # the factory's meter has no source
    assert 'source: <span class="meter-source">not stated by the meter</span>' in html


def test_some_zero_points_are_left_off_with_a_note_and_the_rest_draws(
    kill_counter, tmp_path, grid_factory, jsonl_writer
):
    records = grid_factory("estimated", cells=("lstm",), impls=("cython",))
    kill_counter(records[0])
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", records)])
    svg, note, _ = figures(html)["by-hidden"]
    assert svg and "1 of 6 energy per sequence value(s) are 0 J or less and are not drawn" in note
    assert "ENERGY IS ALL 0 J" not in html  # estimated, and not all zero: no red banner
    assert_no_developer_text(html)


def test_negative_dynamic_energy_everywhere_says_it_is_not_resolved_above_idle(tmp_path, grid_factory, jsonl_writer):
    """Records without the protocol's warning (older files) are judged by their figures: all negative."""
    records = grid_factory("estimated", cells=("rnn",), impls=("cython", "numpy"))
    for r in records:
        for key in ("joules_per_call", "joules_per_sequence"):
            r["energy"][key] = {k: -abs(v) for k, v in r["energy"][key].items()}
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", records)])
    for key in ("by-hidden", "fwd-bwd", "vs-flops", "impls"):
        svg, note, _ = figures(html)[key]
        assert not svg and "not resolved above the idle baseline" in note, key
        assert "too short" not in note and "min_window_seconds" not in note, key
    assert_no_developer_text(html)


def test_chart_primitives_raise_nothing_to_draw_and_the_guard_turns_it_into_a_note():
    with pytest.raises(NothingToDraw):
        xy_plot("t", [Series("s", [(1.0, 0.0, "zero")])], x_label="x", y_label="y")
    with pytest.raises(NothingToDraw):
        dot_plot("t", ["row"], [Series("s", [(0.0, 0, "zero")])], x_label="x")
    assert issubclass(NothingToDraw, ValueError)  # callers that caught ValueError still do

    def draw():
        raise NothingToDraw("programmer text: dot_plot 't' ...")

    figure = _drawn(Figure("k", "title", "caption", note="Existing note."), draw)
    assert figure.svg is None and figure.note.startswith("Nothing to draw") and figure.note.endswith("Existing note.")
    assert "programmer" not in figure.note


def test_an_unreadable_file_is_explained_without_a_python_error_repr(tmp_path, record_factory, jsonl_writer):
    good = jsonl_writer(tmp_path / "good.jsonl", [record_factory()])
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    html, info = build_report([good, binary])
    assert len(info.rows) == 1 and len(info.problems) == 1
    assert "not UTF-8 text" in info.problems[0].message and "codec" not in info.problems[0].message
    assert_no_developer_text(html)
    json.dumps(info.problems[0].message)  # plain text


def test_one_meter_is_named_once_although_its_running_state_differs_per_record(tmp_path, grid_factory, jsonl_writer):
    records = grid_factory("estimated", cells=("lstm",))
    for i, r in enumerate(records):
        r["energy"]["meter"] = {
            "name": "model",
            "provenance": "estimated",
            "source": CCF_SOURCE,
            "parameters": {"cpu_watts": 1.5},
            "lower_bound": {"flops": 1000 * (i + 1)},
        }
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", records)])
    banner = next(b for b in banners(html) if b[0] == "estimated")[2]
    assert banner.count("Emerald Rapids") == 1
