"""Issue 17: the report reads well to someone who did not write it: the summary table fits the page
(extra columns behind a toggle), an estimate says what it stands for, the protocol warnings close the
page as the README says, and benchmark reports quote the roof and the implementation they really have."""

import copy
import json
import re
from pathlib import Path

from lstm_energy.report import build_report, write_report
from lstm_energy.report.tables import DEFAULT_HEADERS
from lstm_energy.testing.browser import open_in_chromium, require_chromium

README = Path(__file__).resolve().parents[2] / "README.md"

MODEL_METER = {
    "name": "model",
    "provenance": "estimated",
    "counter": None,
    "source": "uncalibrated estimate, Cloud Carbon Footprint coefficients: EPYC 4th Gen 0.74-2.28 W per vCPU x 2 vCPUs",
    "model": "E = static_watts*wall_seconds + cpu_watts*cpu_seconds(process)",
    "parameters": {"static_watts": 1.478296493902439, "cpu_watts": 1.5430068597560975},
    "coefficients": {
        "dataset": "Cloud Carbon Footprint coefficients (AWS, SPECpower-derived)",
        "row": "EPYC 4th Gen",
        "min_watts_per_vcpu": 0.7391,
        "max_watts_per_vcpu": 2.282,
        "vcpus": 2,
        "identified_by": "identified from cpuid family 25 model 17",
    },
    "lower_bound": {
        "model": "Horowitz, ISSCC 2014: a LOWER BOUND",
        "joules_per_flop": 2.3e-12,
        "joules_per_byte": 1.6e-10,
    },
    "calibrated": False,
    "domains": ["package"],
    "headline_domains": ["package"],
}


def _section(html, section_id):
    return re.search(rf'<section id="{section_id}".*?</section>', html, re.S).group(0)


def test_summary_table_shows_the_essential_columns_and_hides_the_rest_behind_a_toggle(
    tmp_path, grid_factory, jsonl_writer
):
    html, info = build_report([jsonl_writer(tmp_path / "r.jsonl", grid_factory())])
    table = re.search(r'<table class="sortable" id="summary">.*?</table>', html, re.S).group(0)
    headers = re.findall(
        r"<th scope=\"col\"( class=\"col-extra\")? title=\"[^\"]*\" aria-sort=\"none\"><button type=\"button\">([^<]*)</button>",
        table,
    )
    shown = [name for extra, name in headers if not extra]
    hidden = [name for extra, name in headers if extra]
    for essential in ("cell", "shape", "phase", "impl", "provenance", "J/seq (median)"):
        assert essential in shown
    assert set(shown) <= DEFAULT_HEADERS and len(shown) <= 10
    assert {"J/call", "FLOPs/call", "J/FLOP", "J/seq IQR", "B", "H"} <= set(hidden)
    assert 'class="columns-all"' in html and f"show all {len(headers)} columns" in html
    # every row has as many hidden cells as there are hidden headers, so the columns stay aligned
    first_row = re.search(r"<tbody><tr>(.*?)</tr>", table, re.S).group(1)
    assert first_row.count("col-extra") == len(hidden)
    assert "B=8 T=16 D=32 H=32" in table


def _summary_rows(html):
    """The summary table's rows as lists of cell texts (hidden columns included)."""
    table = re.search(r'<table class="sortable" id="summary">.*?</table>', html, re.S).group(0)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]


def test_rows_that_differ_only_in_precision_are_told_apart(tmp_path, record_factory, jsonl_writer):
    """A sweep with --precisions fp32,bf16,int8 holds the same configuration three times: the summary shows
    the precision column by default then, with each row's precision, fp32 first."""
    records = []
    for precision in ("int8", "fp32", "bf16"):
        record = record_factory("gru", "forward", "cython")
        record["config"]["precision"] = precision
        records.append(record)
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", records)])
    assert re.search(
        r'<th scope="col" title="forward arithmetic[^"]*" aria-sort="none"><button type="button">precision<', html
    )
    header = re.search(r'<table class="sortable" id="summary">.*?</thead>', html, re.S).group(0)
    names = re.findall(r"<button type=\"button\">([^<]*)</button>", header)
    column = names.index("precision")
    assert [row[column] for row in _summary_rows(html)] == ["fp32", "bf16", "int8"]


def test_a_single_precision_keeps_its_column_behind_the_toggle(tmp_path, grid_factory, jsonl_writer):
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", grid_factory())])
    assert re.search(
        r'<th scope="col" class="col-extra" title="forward arithmetic[^"]*" aria-sort="none"><button type="button">precision<',
        html,
    )
    assert "precision" in re.search(r"show all \d+ columns \(adds ([^)]*)\)", html).group(1)


def test_shape_column_sorts_by_number_not_by_text(tmp_path, grid_factory, jsonl_writer):
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", grid_factory(cells=("lstm",), impls=("cython",)))])
    keys = re.findall(r'data-sort="(shape [^"]*)">B=8 T=16 D=32 H=(\d+)<', html)
    by_key = [h for _, h in sorted(keys)]
    assert [int(h) for h in by_key] == sorted(int(h) for h in by_key)  # H=32 before H=128, unlike text order


def test_an_estimate_says_what_it_stands_for_not_its_domains(tmp_path, record_factory, jsonl_writer):
    records = [record_factory(meter=copy.deepcopy(MODEL_METER))]
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", records)])
    block = re.search(r'<table class="meta estimate">.*?</table>', html, re.S).group(0)
    assert "EPYC 4th Gen" in block and "0.739 W idle to 2.28 W busy per vCPU × 2 vCPUs" in block
    assert "2.3 pJ per FLOP + 160 pJ per byte moved" in block and "physical lower bound" in block
    assert "not calibrated" in block and "static_watts*wall_seconds" in block
    assert "domains" not in block  # "domains: package" means nothing for an estimate
    # the raw describe() is still there, folded away
    assert re.search(
        r"<details class=\"raw-meter\"><summary>full meter description</summary>.*headline domains", html, re.S
    )


def test_protocol_warnings_close_the_page_as_the_readme_says(tmp_path, grid_factory, jsonl_writer):
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", grid_factory())])
    main = re.search(r"<main>(.*)</main>", html, re.S).group(1)
    sections = re.findall(r'<section id="([^"]+)"', main)
    assert sections[-1] == "protocol-warnings", sections
    assert sections.index("charts") < sections.index("protocol-warnings")
    assert "close the page" in " ".join(README.read_text().split())


def _benchmark_record(record, *, threads):
    record = copy.deepcopy(record)
    record["kind"] = "benchmark"
    record["config"] = {}  # a benchmark that told the fixture only its batch
    record["environment"]["blas_threads"] = threads
    return record


MACHINE = {
    "roofline": [
        {"threads": 1, "peak_gflops": 50.0, "bandwidth_gb_per_second": 12.0},
        {"threads": 2, "peak_gflops": 95.0, "bandwidth_gb_per_second": 15.0},
    ]
}


def test_benchmark_roofline_uses_the_roof_for_the_blas_threads_recorded(tmp_path, record_factory, benchmark_writer):
    path = benchmark_writer(tmp_path / "b.json", [_benchmark_record(record_factory(), threads=2)])
    html, info = build_report([path], machine=MACHINE, machine_source="`m.json`")
    roofline = re.search(r'<figure[^>]*id="fig-roofline".*?</figure>', html, re.S).group(0)
    assert "2 thread(s): 95.0 GFLOP/s" in roofline
    assert "50.0 GFLOP/s" not in roofline  # the 1-thread roof does not apply to 2-thread results
    assert info.rows[0].threads == 2


def test_benchmark_roofline_says_when_no_roof_matches_the_threads(tmp_path, record_factory, benchmark_writer):
    path = benchmark_writer(tmp_path / "b.json", [_benchmark_record(record_factory(), threads=4)])
    html, _ = build_report([path], machine=MACHINE, machine_source="`m.json`")
    assert "ran with 4 thread(s), for which the machine profile has no roof" in html


def test_unknown_implementation_is_named_as_missing_with_how_to_record_it(tmp_path, record_factory, benchmark_writer):
    path = benchmark_writer(tmp_path / "b.json", [_benchmark_record(record_factory(), threads=1)])
    html, _ = build_report([path])
    figure = re.search(r'<figure[^>]*id="fig-impls".*?</figure>', html, re.S).group(0)
    assert "(none)" not in figure
    assert "implementation is not recorded in 1 of 1 row(s)" in figure
    assert "energy.configure(impl=" in figure.replace("&quot;", '"')


def test_environment_names_the_kernel_path_and_the_reduced_precision_products(tmp_path, record_factory, jsonl_writer):
    """A bf16 figure from a CPU without AVX512_BF16 came from bf16 widened to float32: the page says which
    products ran, from the records' environment."""
    record = record_factory()
    record["environment"]["isa"] = "avx2"
    record["environment"]["lowp_paths"] = {"bf16": "avx2", "int8": "avx2"}
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", [record])])
    meta = next(t for t in re.findall(r'<table class="meta">.*?</table>', html, re.S) if "BLAS threads" in t)
    assert '<th scope="row">kernel path (isa)</th><td>avx2</td>' in meta
    assert '<th scope="row">int8 / bf16 products</th><td>bf16 = avx2, int8 = avx2</td>' in meta


# Appended to a copy of the report: sorts the summary table by J/seq both ways, focuses a sort button as a
# keyboard user would, and writes what the browser did into the DOM.
SORT_PROBE = """<script>
(function () {
  var table = document.querySelector("table#summary");
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var column = headers.findIndex(function (h) { return h.textContent.indexOf("J/seq (median)") === 0; });
  var button = headers[column].querySelector("button");
  function order() {
    return Array.prototype.map.call(table.tBodies[0].rows, function (r) { return r.cells[column].getAttribute("data-sort"); });
  }
  button.click(); var ascending = order();
  button.click(); var descending = order();
  button.focus();
  var style = getComputedStyle(button);
  // whether a scripted focus() counts as "visible" is the browser's heuristic (a headless window without
  // focus may say no), so the rule itself is read too: the one a keyboard focus would apply
  var focusRules = [];
  Array.prototype.forEach.call(document.styleSheets, function (sheet) {
    Array.prototype.forEach.call(sheet.cssRules, function (rule) {
      if (rule.selectorText && rule.selectorText.indexOf("button:focus-visible") >= 0 && rule.selectorText.indexOf("sortable") >= 0) {
        focusRules.push(rule.style.outlineStyle + " " + rule.style.outlineWidth);
      }
    });
  });
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify({ascending: ascending, descending: descending, focusVisible: button.matches(":focus-visible"),
                                    outline: style.outlineStyle + " " + style.outlineWidth, focusRules: focusRules});
  document.body.appendChild(pre);
})();
</script>"""


def test_blanks_sort_last_both_ways_and_a_focused_sort_button_shows_a_ring(tmp_path, grid_factory, jsonl_writer):
    """Finding C3: descending put the blank ("not resolved above idle") rows first. C5: "all: unset" removed
    the focus ring of the sort buttons."""
    require_chromium()
    records = grid_factory("estimated", cells=("lstm",), impls=("cython",))
    records[0]["warnings"] = ["dynamic energy not resolved above idle: the 95% CI reaches 0"]
    info = write_report([jsonl_writer(tmp_path / "r.jsonl", records)], tmp_path / "r.html")
    probed = tmp_path / "probed.html"
    probed.write_text(info.path.read_text().replace("</body>", SORT_PROBE + "</body>"))
    dom, console = open_in_chromium(probed, tmp_path)
    assert console == []
    probe = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"'))
    for direction in ("ascending", "descending"):
        values = probe[direction]
        assert values[-1] == "" and "" not in values[:-1], (direction, values)
        numbers = [float(v) for v in values[:-1]]
        assert numbers == sorted(numbers, reverse=direction == "descending")
    assert probe["focusRules"] == ["solid 2px"], probe  # the sort buttons' keyboard focus ring
    if probe["focusVisible"]:  # and where the browser counts this focus as visible, it is what is drawn
        assert probe["outline"] == "solid 2px", probe


def test_estimated_provenance_text_meets_aa_contrast():
    """Finding C10: #a86b00 bold at 12.5 px was 4.40:1 on white and 4.25:1 on the even rows (AA asks 4.5:1)."""
    css = (Path(__file__).parents[2] / "lstm_energy" / "report" / "report.css").read_text()
    colour = re.search(r"\.prov-estimated \{ color: (#[0-9a-fA-F]{6}); \}", css).group(1)

    def luminance(hex_colour):
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for background in ("#ffffff", "#fafbfc", "#eef5ff"):  # rows, even rows, hovered row
        ratio = (luminance(background) + 0.05) / (luminance(colour) + 0.05)
        assert ratio >= 4.5, (background, ratio)
