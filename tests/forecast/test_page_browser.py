"""The forecast page in real headless Chromium at 1400 px: no sideways scroll, no console errors, every chart
laid out with its marks inside it (issue 17). Skipped without Chromium, except under CI."""

import json
import re

import pytest

from lstm_energy.forecast import report
from lstm_energy.forecast.search import Preset, SearchSpace, run_search
from lstm_energy.forecast.train import TrainConfig
from lstm_energy.testing.browser import open_in_chromium, require_chromium

# Appended to a COPY of the page: what the browser laid out, written into the DOM as JSON.
LAYOUT_PROBE = """<script>
(function () {
  var doc = document.documentElement;
  var charts = Array.prototype.map.call(document.querySelectorAll("svg.chart"), function (svg) {
    var box = svg.getBoundingClientRect(), marks = 0, inside = 0;
    svg.querySelectorAll(".mark, polyline").forEach(function (m) {
      var r = m.getBoundingClientRect();
      marks += 1;
      if (r.right > box.left && r.left < box.right && r.bottom > box.top && r.top < box.bottom) { inside += 1; }
    });
    return {kind: svg.getAttribute("class"), right: box.right, width: box.width, marks: marks, inside: inside};
  });
  var pre = document.createElement("pre");
  pre.id = "layout";
  pre.textContent = JSON.stringify({innerWidth: window.innerWidth, pageScroll: doc.scrollWidth - doc.clientWidth,
                                    charts: charts});
  document.body.appendChild(pre);
})();
</script>"""


@pytest.fixture(scope="module")
def page_result(meter_factory, synthetic_series):
    preset = Preset(
        name="tiny",
        space=SearchSpace(families=("RNN", "LSTM"), hidden_sizes=(4,), windows=(6, 12)),
        strategy="grid",
        training=TrainConfig(epochs=2, batch_size=64),
        forecast_windows=2,
        forecast_min_window_seconds=0.005,
        repeats=2,
        sarima_orders=(((0, 1, 1), (0, 1, 1)),),
    )
    # no idle watts: every figure is > 0 on a busy host too, so the page draws its scatters (see test_report.py)
    return run_search(synthetic_series, preset, meter_factory(idle_watts=0.0, cpu_watts=3.0), seed=0, impl="numpy")


def test_forecast_page_reads_in_a_1400_px_window(page_result, tmp_path):
    require_chromium()
    path = report.write(page_result, tmp_path / "forecast.html")
    probed = tmp_path / "probed.html"
    probed.write_text(path.read_text(encoding="utf-8").replace("</body>", LAYOUT_PROBE + "</body>"), encoding="utf-8")
    dom, console = open_in_chromium(probed, tmp_path)
    assert console == [], "console output: " + "\n".join(console)
    layout = json.loads(re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"'))
    assert layout["innerWidth"] == 1400
    assert layout["pageScroll"] <= 0, layout  # nothing makes the page scroll sideways
    charts = layout["charts"]
    kinds = {chart["kind"] for chart in charts}
    # fit, zoom with residuals, energy, energy by precision (issue 18)
    assert {"chart forecast", "chart forecast zoom", "chart scatter", "chart scatter precision"} <= kinds, kinds
    for chart in charts:
        assert chart["right"] <= layout["innerWidth"], chart
        assert chart["width"] > 300, chart  # laid out at a readable width
        assert chart["marks"] > 0 and chart["inside"] == chart["marks"], chart  # every mark or line inside its chart
