"""The roofline's compute roof (the faster measured GEMM, named; old machine files still load; points
above it said out loud), float rows only on it, and rows of several precisions told apart wherever the
page names a row (chart tooltips, protocol warnings)."""

import json
import re

from lstm_energy.report import build_report
from lstm_energy.report.charts import roofline
from lstm_energy.report.machine_data import Roof, Roofs, roofs_from_profile
from lstm_energy.report.rows import build_rows

PRECISIONS = ("fp32", "bf16", "int8")


def figure(html, key):
    return re.search(rf'<figure[^>]*id="fig-{key}".*?</figure>', html, re.S).group(0)


def point_titles(fig_html):
    """The tooltip of every data point (class="mark" markers; reference lines excluded)."""
    return re.findall(r'class="mark" [^>]*><title>(.*?)</title>', fig_html)


def caption(fig_html):
    return re.search(r"<figcaption[^>]*>(.*?)</figcaption>", fig_html, re.S).group(1).replace("&#x27;", "'")


def note(fig_html):
    found = re.search(r'<p class="chart-note">(.*?)</p>', fig_html, re.S)
    return found.group(1).replace("&#x27;", "'") if found else None


def machine_profile(kernel_gflops=231.7, sgemm_gflops=121.6, *, new=True):
    """`lstm-energy machine --json` output: schema 2 names its roof; schema 1 had the sgemm figure only."""
    point = {"threads": 1, "bandwidth_gb_per_second": 33.6}
    if new:
        faster = max(kernel_gflops, sgemm_gflops)
        source = "kernels' packed GEMM, avx512" if faster == kernel_gflops else "OpenBLAS sgemm, Haswell kernel"
        point.update(
            peak_gflops=faster, peak_source=source, sgemm_gflops=sgemm_gflops, kernel_gemm_gflops=kernel_gflops
        )
    else:
        point.update(peak_gflops=sgemm_gflops)
    return {
        "schema": 2 if new else 1,
        "fingerprint": "1193fba2a065c394",
        "measured_at": "2026-12-08T01:07:21Z",
        "peak_gflops": [{"threads": 1, "best_gflops": sgemm_gflops}],
        "roofline": [point],
    }


def mixed_precision_records(record_factory, provenance="estimated"):
    """The reviewer's shape of sweep: fp32, bf16 and int8 forwards of one shape, plus fp32 trains."""
    records = [
        record_factory(cell, "forward", impl, hidden_size=h, precision=p, provenance=provenance)
        for cell in ("lstm", "rnn")
        for impl in ("cython", "torch")
        for h in (32, 128)
        for p in PRECISIONS
    ]
    records += [
        record_factory(cell, "train", impl, hidden_size=h, provenance=provenance)
        for cell in ("lstm", "rnn")
        for impl in ("cython", "torch")
        for h in (32, 128)
    ]
    return records


def test_the_roof_is_the_faster_gemm_and_the_caption_names_both(tmp_path, grid_factory, jsonl_writer):
    path = jsonl_writer(tmp_path / "r.jsonl", grid_factory(cells=("lstm",)))
    html, _ = build_report([path], machine=machine_profile(), machine_source="`m.json`")
    roof = figure(html, "roofline")
    text = caption(roof)
    assert "1 thread(s): 232 GFLOP/s (kernels' packed GEMM, avx512; BLAS sgemm: 122 GFLOP/s), 33.6 GB/s" in text
    assert "min(232 GFLOP/s, 33.6 GB/s × intensity)" in roof
    html, _ = build_report([path], machine=machine_profile(kernel_gflops=80.0), machine_source="`m.json`")
    assert "122 GFLOP/s (OpenBLAS sgemm, Haswell kernel; kernels' packed GEMM: 80.0 GFLOP/s)" in caption(
        figure(html, "roofline")
    )


def test_an_old_machine_file_still_draws_its_sgemm_roof_and_says_what_it_lacks(tmp_path, grid_factory, jsonl_writer):
    path = jsonl_writer(tmp_path / "r.jsonl", grid_factory(cells=("lstm",)))
    html, _ = build_report([path], machine=machine_profile(new=False), machine_source="`old.json`")
    roof = figure(html, "roofline")
    assert "min(122 GFLOP/s, 33.6 GB/s × intensity)" in roof
    assert "BLAS sgemm only (a machine profile from before" in caption(roof)
    assert "--refresh" in caption(roof)


def test_points_above_the_roof_are_called_out_in_a_note(tmp_path, grid_factory, jsonl_writer):
    rows = build_rows(grid_factory(cells=("lstm",), impls=("cython",)))
    fastest = max(r.gflops_per_second for r in rows)
    low = Roofs((Roof(1, fastest / 2, 1e6, "kernels' packed GEMM, avx512"),), "`m.json`")
    fig = roofline(rows, low)
    above = [r for r in rows if r.gflops_per_second > fastest / 2]
    assert fig.svg and fig.alert == "Points above the roof."
    assert fig.note.startswith(f"{len(above)} of {len(rows)} point(s) lie ABOVE the roof")
    high = Roofs((Roof(1, fastest * 2, 1e6, "kernels' packed GEMM, avx512"),), "`m.json`")
    assert roofline(rows, high).note is None and roofline(rows, high).alert is None
    path = jsonl_writer(tmp_path / "r.jsonl", grid_factory(cells=("lstm",), impls=("cython",)))
    profile = machine_profile(kernel_gflops=fastest / 2, sgemm_gflops=fastest / 3)
    html, _ = build_report([path], machine=profile, machine_source="`m.json`")
    shown = figure(html, "roofline")
    assert '<strong class="chart-alert">Points above the roof.</strong>' in shown
    assert "lie ABOVE the roof" in note(shown)


def test_roofs_from_a_hand_written_file_say_their_source_is_not_stated():
    flat = roofs_from_profile({"peak_gflops_per_second": 20.0, "bandwidth_gb_per_second": 5.0}, "hand-written")
    assert flat.roofs[0].peak_source == "what measured it is not stated in the machine file"


def test_only_float_rows_are_on_the_roofline_and_the_caption_says_why(tmp_path, record_factory, jsonl_writer):
    records = mixed_precision_records(record_factory)
    html, info = build_report([jsonl_writer(tmp_path / "r.jsonl", records)], machine=machine_profile())
    roof = figure(html, "roofline")
    fp32_rows = [r for r in info.rows if r.precision == "fp32"]
    reduced = len(info.rows) - len(fp32_rows)
    assert len(point_titles(roof)) == len(fp32_rows)
    assert f"{reduced} bf16/int8 row(s) are left out: their operations are not float32 FLOPs" in caption(roof)


def test_every_chart_point_of_mixed_precision_rows_has_its_own_tooltip(tmp_path, record_factory, jsonl_writer):
    records = mixed_precision_records(record_factory, provenance="measured")  # measured: the domain chart draws
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", records)])
    for key in ("by-hidden", "fwd-bwd", "vs-flops", "impls", "domains", "precision"):
        titles = point_titles(figure(html, key))
        assert titles, key
        assert len(titles) == len(set(titles)), f"{key}: points share a tooltip"
    for key in ("vs-flops", "impls", "domains"):
        titles = point_titles(figure(html, key))
        for precision in PRECISIONS:
            assert any(f" {precision}" in t for t in titles), (key, precision)


def test_protocol_warnings_count_rows_of_every_precision(tmp_path, record_factory, jsonl_writer):
    records = mixed_precision_records(record_factory)
    for r in records:
        r["warnings"] = ["estimated, not measured: these joules come from the 'model' estimator"]
    html, info = build_report([jsonl_writer(tmp_path / "r.jsonl", records)])
    section = re.search(r'<section id="protocol-warnings">.*?</section>', html, re.S).group(0)
    assert len(info.rows) == len(records) == 32
    assert "(32 row(s):" in section
    assert "lstm forward cython B=8 T=16 D=32 H=32 fp32, lstm forward cython B=8 T=16 D=32 H=32 bf16" in section


def test_this_hosts_cached_profile_of_the_old_schema_still_gives_its_roof(tmp_path, monkeypatch, record_factory):
    from lstm_energy.machine import machine_info
    from lstm_energy.machine.cache import profile_path
    from lstm_energy.report.machine_data import OLD_PROFILE_PEAK, cached_roofs_for, this_host_identity

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    info = machine_info()
    old = dict(machine_profile(new=False), fingerprint=info.fingerprint)
    profile_path(info.fingerprint).parent.mkdir(parents=True)
    profile_path(info.fingerprint).write_text(json.dumps(old))
    record = record_factory()
    # measured on this host (a profile's roofs are used only under records of the machine it measured)
    here = this_host_identity()
    record["environment"].update(cpu_model=info.cpu_model, hostname=here["hostname"], isa=here.get("isa"))
    roofs = cached_roofs_for([record])
    assert roofs is not None and roofs.roofs[0].peak_source == OLD_PROFILE_PEAK
