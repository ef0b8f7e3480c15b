"""The HTML report built from synthetic records: provenance banners, tables, charts, notes, self-containment."""

import re
from html.parser import HTMLParser

import numpy as np
import pytest

from lstm_energy.report import build_report, write_report
from lstm_energy.report.charts import fit_joules_per_flop
from lstm_energy.report.machine_data import roofs_from_profile
from lstm_energy.report.units import si


class _Figures(HTMLParser):
    """Collects, per <figure>, whether it holds an <svg> and how many class="mark" elements it draws."""

    def __init__(self):
        super().__init__()
        self.figures, self._current = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure":
            self._current = {"id": attrs.get("id"), "svg": 0, "marks": 0, "note": False}
            self.figures.append(self._current)
        elif self._current is not None:
            if tag == "svg":
                self._current["svg"] += 1
            if "mark" in (attrs.get("class") or "").split():
                self._current["marks"] += 1
            if tag == "p" and attrs.get("class") == "chart-note":
                self._current["note"] = True

    def handle_endtag(self, tag):
        if tag == "figure":
            self._current = None


def figures_of(html):
    parser = _Figures()
    parser.feed(html)
    return {f["id"]: f for f in parser.figures}


def test_estimated_results_carry_an_unmissable_banner_naming_the_model(tmp_path, grid_factory, jsonl_writer):
    path = jsonl_writer(tmp_path / "r.jsonl", grid_factory("estimated"))
    html, info = build_report([path])
    assert "ESTIMATED, NOT MEASURED" in html
    banner = re.search(r'<div class="banner banner-estimated".*?</div>', html, re.S).group(0)
    assert "model</code>" in banner and "pj_per_flop = 25" in banner
    assert 'class="banner banner-measured"' not in html and "MIXED PROVENANCE" not in html
    assert {r.provenance for r in info.rows} == {"estimated"}


def test_mixed_provenance_says_so_and_marks_each_row(tmp_path, record_factory, jsonl_writer):
    path = jsonl_writer(
        tmp_path / "r.jsonl",
        [
            record_factory(provenance="measured"),
            record_factory("gru", provenance="estimated"),
            record_factory("rnn", provenance="simulated"),
        ],
    )
    html, _ = build_report([path])
    assert "MIXED PROVENANCE" in html and "1 measured" in html and "1 estimated" in html
    assert "SIMULATED: TEST DATA, NOT A MEASUREMENT" in html and "ESTIMATED, NOT MEASURED" in html
    assert "/sys/class/powercap/intel-rapl:0/energy_uj" in html  # the measured meter's counter is named
    assert html.count('class="prov prov-estimated"') >= 1 and html.count('class="prov prov-measured"') >= 1


def test_summary_table_has_units_on_every_number_and_sort_values(tmp_path, grid_factory, jsonl_writer):
    path = jsonl_writer(tmp_path / "r.jsonl", grid_factory(hidden_sizes=(64,), cells=("lstm",)))
    html, info = build_report([path])
    table = re.search(r'<table class="sortable" id="summary">.*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    assert len(rows) == len(info.rows) == 6
    headers = re.findall(r"<button type=\"button\">([^<]*)</button>", table)
    cells = re.findall(r'<td[^>]*data-sort="([^"]*)">([^<]*)</td>', rows[0])
    by_header = dict(zip(headers, cells))
    for header in (
        "J/seq (median)",
        "J/seq 95% CI",
        "J/call",
        "s/seq",
        "FLOPs/call",
        "bytes/call",
        "GFLOP/s",
        "W",
        "J/FLOP",
        "J/byte",
        "FLOP/byte",
    ):
        sort, text = by_header[header]
        assert re.fullmatch(r"[0-9.]+ [a-zA-Zµ/]+( – [0-9.]+ [a-zA-Zµ/]+)?", text), f"{header}: {text!r} lacks a unit"
        assert float(sort) > 0
    sort_values = [float(by_header[h][0]) for h in ("B", "T", "D", "H")]
    assert sort_values == [8, 16, 32, 64]


def test_every_chart_draws_marks_or_says_why_not(tmp_path, grid_factory, jsonl_writer):
    path = jsonl_writer(tmp_path / "r.jsonl", grid_factory("estimated"))
    html, _ = build_report([path])
    figures = figures_of(html)
    assert set(figures) == {
        "fig-by-hidden",
        "fig-fwd-bwd",
        "fig-vs-flops",
        "fig-roofline",
        "fig-domains",
        "fig-impls",
        "fig-precision",
    }
    # fp32 only: the precision chart (issue 18) says how to get one
    assert figures["fig-precision"]["svg"] == 0 and "--precisions fp32,bf16,int8" in html
    for key in ("fig-by-hidden", "fig-fwd-bwd", "fig-vs-flops", "fig-roofline", "fig-impls"):
        assert figures[key]["svg"] == 1 and figures[key]["marks"] >= 6, key
    # estimates have no RAPL domains: a note instead of an empty chart
    assert figures["fig-domains"]["svg"] == 0 and figures["fig-domains"]["note"]
    assert "No measured per-domain energy" in html
    # no machine peaks given: the roofline says they are missing
    assert "Measured machine peaks are missing" in html


def test_measured_records_draw_the_domain_chart(tmp_path, grid_factory, jsonl_writer):
    path = jsonl_writer(tmp_path / "r.jsonl", grid_factory("measured", impls=("cython",), cells=("lstm",)))
    html, _ = build_report([path])
    domains = figures_of(html)["fig-domains"]
    assert domains["svg"] == 1 and domains["marks"] == 3 * 6  # 3 domains x 6 configurations
    assert "package-0/dram" in html
    assert 'class="banner banner-measured"' in html and "ESTIMATED" not in html


MACHINE_PROFILE = {  # the shape of `lstm-energy machine --json`
    "schema": 1,
    "measured_at": "2026-11-25T20:00:00Z",
    "machine": {"cpu_model": "x"},
    "roofline": [
        {"threads": 1, "peak_gflops": 50.0, "bandwidth_gb_per_second": 12.0, "ridge_flop_per_byte": 4.17},
        {"threads": 2, "peak_gflops": 95.0, "bandwidth_gb_per_second": 15.0, "ridge_flop_per_byte": 6.3},
    ],
}


def test_roofline_draws_the_measured_roof_for_the_results_thread_count(tmp_path, grid_factory, jsonl_writer):
    path = jsonl_writer(tmp_path / "r.jsonl", grid_factory())  # threads=1
    html, _ = build_report([path], machine=MACHINE_PROFILE, machine_source="`m.json`")
    assert "Measured machine peaks are missing" not in html
    assert "roof, 1 thread(s): min(50.0 GFLOP/s, 12.0 GB/s × intensity)" in html
    assert "95.0 GFLOP/s" not in html  # the 2-thread roof does not apply to 1-thread results
    assert "from `m.json`, measured 2026-11-25T20:00:00Z" in html


def test_machine_profiles_without_usable_peaks_give_no_roofs():
    assert roofs_from_profile({"roofline": [{"threads": 1, "peak_gflops": 0}]}, "x") is None
    assert roofs_from_profile(None, "x") is None
    flat = roofs_from_profile({"peak_gflops_per_second": 20.0, "bandwidth_gb_per_second": 5.0}, "hand-written")
    assert flat.roofs[0].peak_gflops == 20.0 and flat.source == "hand-written"


def test_corrupt_line_is_named_in_the_report_and_the_rest_renders(tmp_path, grid_factory, jsonl_writer):
    path = jsonl_writer(tmp_path / "r.jsonl", grid_factory(), extra_lines=["garbage\n", '{"schema_version": 1'])
    total = len(grid_factory())
    info = write_report([path], tmp_path / "out" / "r.html")
    html = info.path.read_text()
    assert f"{path}:{total + 1}" in html and f"{path}:{total + 2}" in html
    assert "truncated line" in html and "— skipped" in html
    assert len(info.rows) == total


def test_protocol_warnings_are_listed_with_the_rows_they_concern(tmp_path, grid_factory, jsonl_writer):
    path = jsonl_writer(tmp_path / "r.jsonl", grid_factory(hidden_sizes=(32, 64)))
    html, _ = build_report([path])
    section = re.search(r'<section id="protocol-warnings">.*?</section>', html, re.S).group(0)
    assert "raise min_window_seconds" in section and "18 row(s)" in section


def test_report_is_self_contained(tmp_path, grid_factory, jsonl_writer):
    path = jsonl_writer(tmp_path / "r.jsonl", grid_factory())
    html, _ = build_report([path])
    assert "<link" not in html and "@import" not in html and "url(http" not in html
    assert not re.search(r"""<(script|img|iframe)[^>]*\ssrc=""", html)
    assert not re.search(r"""href=["']?(https?:)?//""", html)
    assert html.count("<style>") == 1 and html.count("<script>") == 1


def test_duplicate_records_merge_into_one_row_with_a_run_count(tmp_path, record_factory, jsonl_writer):
    a = jsonl_writer(tmp_path / "a.jsonl", [record_factory()])
    b = jsonl_writer(tmp_path / "b.jsonl", [record_factory()])
    _, info = build_report([a, b])
    assert len(info.rows) == 1 and info.rows[0].runs == 2


def test_fit_recovers_joules_per_flop():
    flops = np.array([1e6, 3e6, 1e7, 5e7])
    joules = 20e-12 * flops + 3e-6
    slope, intercept = fit_joules_per_flop(list(flops), list(joules))
    assert slope == pytest.approx(20e-12, rel=1e-6) and intercept == pytest.approx(3e-6, rel=1e-4)
    assert fit_joules_per_flop([1e6, 1e6], [1.0, 2.0]) is None


@pytest.mark.parametrize(
    "value, unit, text",
    [
        (0.00123, "J", "1.23 mJ"),
        (1.2e9, "FLOP", "1.20 GFLOP"),
        (350, "FLOP", "350 FLOP"),
        (4.5e6, "B", "4.50 MB"),
        (2.3e-7, "s", "230 ns"),
        (999.96, "J", "1.00 kJ"),
        (None, "J", "–"),
        (float("nan"), "W", "–"),
    ],
)
def test_si_formatting(value, unit, text):
    assert si(value, unit) == text


def _subtitle(html: str) -> str:
    return re.search(r'<p class="subtitle">(.*?)</p>', html, re.S).group(1)


def test_the_subtitle_says_run_not_measured_so_an_estimate_is_not_called_a_measurement(
    tmp_path, grid_factory, jsonl_writer
):
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", grid_factory("estimated"))])
    subtitle = _subtitle(html)
    assert "measured" not in subtitle and "; run 2026-11-25T21:30:00Z;" in subtitle


def test_a_report_of_no_records_says_so_without_empty_fields_or_pointers_to_nothing(tmp_path):
    """An empty results file: no "varies:" rows with nothing after them, no "see the notes below" when there
    are no notes, and no "measured measurement dates not recorded"."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    html, _ = build_report([empty])
    assert "varies:" not in html and "no machine or environment to describe" in html
    assert "NO ENERGY RECORDS" in html and "below" not in re.search(r"NO ENERGY RECORDS.*?</div>", html).group(0)
    assert 'id="input-notes"' not in html
    assert "no records;" in _subtitle(html) and "measurement dates" not in html
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_text("not json\n")
    html, _ = build_report([corrupt])  # now there is something skipped to point at
    assert "the input notes below say what was skipped" in html and 'id="input-notes"' in html


def test_input_notes_that_are_not_skipped_inputs_are_not_called_skipped(tmp_path, grid_factory, jsonl_writer):
    """report_cmd passes a roofline note ("machine profile left out because ...") with the skipped lines: the
    section must not introduce it as a skipped input."""
    note = "Roofline: the cached machine profile left out because it is of another CPU"
    good = jsonl_writer(tmp_path / "r.jsonl", grid_factory("estimated", cells=("lstm",), impls=("cython",)))
    html, _ = build_report([good], notes=[note])
    section = re.search(r'<section id="input-notes">.*?</section>', html, re.S).group(0)
    assert "skipped" not in section and f"<li>{note}</li>" in section and "Notes on the inputs" in section
    assert '<a href="#input-notes">input notes</a>' in html
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_text("not json\n")
    html, _ = build_report([good, corrupt], notes=[note])
    section = re.search(r'<section id="input-notes">.*?</section>', html, re.S).group(0)
    skipped, other = section.split("Other notes on the inputs")
    assert "These inputs were skipped" in skipped and "corrupt.jsonl" in skipped and note not in skipped
    assert note in other and "skipped" not in other
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    html, _ = build_report([empty], notes=[note])  # a roofline note explains no missing record
    assert "what was skipped" not in html


def test_meter_coefficients_are_shown_to_three_significant_figures(tmp_path, record_factory, jsonl_writer):
    """The coefficients come from a 3-digit table: 17 digits in the banner would claim a precision they lack."""
    record = record_factory()
    record["energy"]["meter"]["parameters"] = {"static_watts": 7.3648475559496305, "cpu_watts": 5.279011675470194}
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", [record])])
    banner = re.search(r'<div class="banner banner-estimated".*?</div>', html, re.S).group(0)
    assert "static_watts = 7.36, cpu_watts = 5.28" in banner and "7.3648" not in html


def test_energy_per_flop_is_si_scaled_and_the_iqr_is_shown(tmp_path, record_factory, jsonl_writer):
    """107000 pJ/FLOP reads as 107 nJ/FLOP; the README promises the median with its IQR and 95% CI."""
    record = record_factory()
    scale = 107_000 / (record["energy"]["joules_per_call"]["median"] / record["costs"]["flops"]["total"] * 1e12)
    for key in ("joules_per_call", "joules_per_sequence"):
        record["energy"][key] = {k: v * scale for k, v in record["energy"][key].items()}
    q1, q3 = 1.5e-3, 2.5e-3
    record["energy"]["joules_per_sequence"].update(q1=q1, q3=q3)
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", [record])])
    assert "107 nJ/FLOP" in html and "pJ/FLOP<" not in html
    assert f">{si(q1, 'J')} – {si(q3, 'J')}</td>" in html
    assert 'title="interquartile range (25th to 75th percentile)' in html


def test_header_cells_of_the_meta_tables_have_a_scope(tmp_path, grid_factory, jsonl_writer):
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", grid_factory("estimated"))])
    assert re.findall(r"<th(?![^>]*scope=)(?:\s[^>]*)?>", html) == []


def test_the_machine_table_names_the_cpu_by_cpuid_when_records_carry_it(tmp_path, record_factory, jsonl_writer):
    """The model string ("AMD EPYC") is Zen 3, 4 and 5 alike; environment.cpu (since 2026-12-08) says which."""
    record = record_factory()
    record["environment"]["cpu"] = {"vendor": "amd", "family": 25, "model": 1, "microarchitecture": "Zen 3"}
    html, _ = build_report([jsonl_writer(tmp_path / "new.jsonl", [record])])
    assert re.search(r"CPU \(cpuid\)</th><td>amd family 25 model 1: Zen 3</td>", html)
    del record["environment"]["cpu"]  # an older record: no row rather than a row saying "None"
    html, _ = build_report([jsonl_writer(tmp_path / "old.jsonl", [record])])
    assert "CPU (cpuid)" not in html
