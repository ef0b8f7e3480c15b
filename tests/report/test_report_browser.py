"""The report opened in real headless Chromium: scripts run without console errors, every chart draws
visible marks, the tables are there and sort. Skipped without Chromium, except under CI (env CI set)."""

import json
import re

import pytest

from lstm_energy.report import write_report
from lstm_energy.testing.browser import open_in_chromium
from lstm_energy.testing.browser import require_chromium as _require_chromium

# Appended to a COPY of the report: measures what the browser actually laid out and writes it into the DOM.
PROBE = """<script>
(function () {
  var out = [];
  document.querySelectorAll("figure").forEach(function (fig) {
    var svg = fig.querySelector("svg.chart"), visible = 0, total = 0;
    if (svg) {
      var box = svg.getBoundingClientRect();
      svg.querySelectorAll(".mark").forEach(function (m) {
        total += 1;
        var r = m.getBoundingClientRect();
        if (r.width > 0 && r.height >= 0 && r.right > box.left && r.left < box.right && r.bottom > box.top && r.top < box.bottom) { visible += 1; }
      });
    }
    out.push({id: fig.id, svg: !!svg, width: svg ? svg.getBoundingClientRect().width : 0, marks: total, visible: visible,
              note: !!fig.querySelector(".chart-note")});
  });
  var table = document.querySelector("table#summary");
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var column = headers.findIndex(function (h) { return h.textContent.indexOf("J/seq (median)") === 0; });
  var header = headers[column];
  header.querySelector("button").click();
  var sorted = Array.prototype.map.call(table.tBodies[0].rows, function (r) { return Number(r.cells[column].getAttribute("data-sort")); });
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify({figures: out, rows: table.tBodies[0].rows.length, header: header.textContent,
                                    ariaSort: header.getAttribute("aria-sort"), sorted: sorted});
  document.body.appendChild(pre);
})();
</script>"""


@pytest.fixture
def report_with_probe(tmp_path, grid_factory, record_factory, jsonl_writer):
    records = grid_factory("estimated") + [
        record_factory("lstm", "forward", "cython", hidden_size=256, provenance="measured")
    ]
    for precision, scale in (("bf16", 0.7), ("int8", 0.5)):  # issue 18: the precision chart gets drawn
        reduced = record_factory("gru", "forward", "cython")
        reduced["config"]["precision"] = precision
        for key in ("joules_per_call", "joules_per_sequence", "total_joules_per_sequence"):
            reduced["energy"][key] = {k: v * scale for k, v in reduced["energy"][key].items()}
        records.append(reduced)
    path = jsonl_writer(tmp_path / "r.jsonl", records, extra_lines=["corrupt\n"])
    info = write_report([path], tmp_path / "report.html")
    probed = tmp_path / "probed.html"
    probed.write_text(info.path.read_text().replace("</body>", PROBE + "</body>"))
    return info, probed


def test_report_renders_in_chromium_without_console_errors_and_with_drawn_charts(report_with_probe, tmp_path):
    _require_chromium()
    info, probed = report_with_probe
    dom, console = open_in_chromium(probed, tmp_path)
    assert console == [], "console output: " + "\n".join(console)
    assert re.search(r'<html[^>]*data-report-ready="1"', dom), "the report's own script did not finish"
    assert 'class="table-scroll"' in dom
    probe = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"'))
    figures = {f["id"]: f for f in probe["figures"]}
    assert len(figures) == 7
    for fig_id, fig in figures.items():
        if fig["svg"]:
            assert fig["width"] > 300, fig
            assert fig["visible"] == fig["marks"] > 0, fig  # every mark is laid out inside its chart
        else:
            assert fig["note"], f"{fig_id} has neither a chart nor a note"
    drawn = [f for f in figures.values() if f["svg"]]
    assert len(drawn) == 7  # one measured record: the domain chart is drawn too; precisions: their chart
    assert probe["rows"] == len(info.rows)
    assert probe["header"].startswith("J/seq (median)") and probe["ariaSort"] == "ascending"
    assert probe["sorted"] == sorted(probe["sorted"])
    assert "corrupt line" in dom


def test_console_errors_are_detected(tmp_path):
    """The check above can fail: a page whose script throws is caught."""
    _require_chromium()
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>")
    _, console = open_in_chromium(page, tmp_path)
    assert any("Uncaught ReferenceError" in line for line in console)


# Appended to a COPY of the report: how the page is laid out in a 1400-px window, before and after
# ticking "show all columns".
LAYOUT_PROBE = """<script>
(function () {
  function box(el) { var r = el.getBoundingClientRect(); return {left: r.left, right: r.right, width: r.width}; }
  function layout() {
    var doc = document.documentElement, wrap = document.querySelector("#summary").parentNode;
    var headers = {};
    Array.prototype.forEach.call(document.querySelectorAll("#summary thead th"), function (th) {
      if (th.offsetParent !== null) { headers[th.textContent] = box(th); }
    });
    return {innerWidth: window.innerWidth, pageScroll: doc.scrollWidth - doc.clientWidth,
            tableScroll: wrap.scrollWidth - wrap.clientWidth, headers: headers,
            figures: Array.prototype.map.call(document.querySelectorAll("figure"), function (f) {
              var svg = f.querySelector("svg"); return {id: f.id, right: box(f).right, svg: svg ? box(svg).width : 0};
            })};
  }
  var before = layout();
  document.querySelector("#summary-all-columns").click();
  var after = layout();
  var pre = document.createElement("pre");
  pre.id = "layout";
  pre.textContent = JSON.stringify({before: before, after: after});
  document.body.appendChild(pre);
})();
</script>"""


def test_report_fits_a_1400_px_window_with_provenance_visible(tmp_path, grid_factory, record_factory, jsonl_writer):
    """No sideways scroll of the page or of the summary table by default; every essential column is on
    screen; "show all columns" adds the rest (scrolling inside the table, never the page)."""
    _require_chromium()
    records = grid_factory("estimated") + [
        record_factory("lstm", "forward", "cython", hidden_size=256, provenance="measured")
    ]
    info = write_report([jsonl_writer(tmp_path / "r.jsonl", records)], tmp_path / "report.html")
    probed = tmp_path / "layout.html"
    probed.write_text(info.path.read_text().replace("</body>", LAYOUT_PROBE + "</body>"))
    dom, console = open_in_chromium(probed, tmp_path)
    assert console == [], "console output: " + "\n".join(console)
    layout = json.loads(re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"'))
    before, after = layout["before"], layout["after"]
    assert before["innerWidth"] == 1400
    assert before["pageScroll"] <= 0, before
    assert before["tableScroll"] <= 0, before
    for name in ("cell", "shape", "phase", "impl", "J/seq (median)", "provenance"):
        header = before["headers"][name]
        assert header["width"] > 0 and 0 <= header["left"] and header["right"] <= before["innerWidth"], (name, header)
    assert "FLOPs/call" not in before["headers"] and "FLOPs/call" in after["headers"]
    assert len(after["headers"]) > len(before["headers"])
    assert after["pageScroll"] <= 0, after  # the wide table scrolls inside its box, the page does not
    for figure in before["figures"]:
        assert figure["right"] <= before["innerWidth"], figure
        # every chart laid out at a readable width (a figure holding a note instead, e.g. one precision only,
        # has no svg: the test above checks that such a figure says why)
        assert figure["svg"] == 0 or figure["svg"] > 300, figure
    assert sum(1 for figure in before["figures"] if figure["svg"] > 300) >= 5
