"""Results of several hosts in one report: every chart keeps each host's rows apart (no median, difference or
fit across machines), the hosts chart leaves out suspect rows and never compares two kinds of joules as alike,
and every chart's ``aria-describedby`` names an element of the page (figure captions carry the ids)."""

import dataclasses
import json
import re
from html.parser import HTMLParser

from lstm_energy.records import add_host_block
from lstm_energy.report import build_report
from lstm_energy.report.charts import (
    energy_by_hidden_size,
    energy_vs_flops,
    forward_vs_backward,
    host_labels,
    implementations,
    roofline,
)
from lstm_energy.report.hosts import energy_by_microarchitecture
from lstm_energy.report.rows import build_rows
from lstm_energy.report.units import si


def _host(name, machine_id, arch):
    return {
        "hostname": name,
        "machine_id": machine_id,
        "package": "0",
        "cpu": {"vendor": "amd", "family": 25, "model": 1, "microarchitecture": arch, "model_name": "EPYC"},
        "source": "read from this host",
    }


def _scaled(record, factor):
    record = json.loads(json.dumps(record))
    energy = record["energy"]
    for key in ("joules_per_call", "joules_per_sequence", "total_joules_per_sequence"):
        energy[key] = {k: v * factor for k, v in energy[key].items()}
    return record


def two_hosts(grid_factory, factor=10.0, **grid):
    """The same grid on host "vm" (Zen 5) and, with ``factor`` times the energy, on "milan" (Zen 3)."""
    records = grid_factory("estimated", **grid)
    here = [add_host_block(r, _host("vm", "aaaa", "Zen 5")) for r in records]
    there = [add_host_block(_scaled(r, factor), _host("milan", "bbbb", "Zen 3")) for r in records]
    return here, there


def _titles(svg):
    return re.findall(r"<title>([^<]*)</title>", svg or "")


def test_energy_by_hidden_size_draws_each_host_apart_and_never_their_median(grid_factory):
    here, there = two_hosts(grid_factory, cells=("lstm",), impls=("cython",), phases=("forward",))
    rows = build_rows(here + there)
    fig = energy_by_hidden_size(rows)
    points = [t for t in _titles(fig.svg) if "/sequence" in t]
    assert len(points) == len(rows) == 6  # one point per host and hidden size, none pooled
    for r in rows:  # each host's own figure, under its own name
        host = "vm, Zen 5" if r.host.startswith("vm") else "milan, Zen 3"
        assert f"lstm forward ({host}) H={r.hidden_size}: {si(r.joules_per_sequence, 'J')}/sequence" in " | ".join(
            points
        )
    assert "Rows of different hosts are drawn apart" in fig.caption


def test_backward_is_train_minus_forward_of_one_host_only(grid_factory):
    here, there = two_hosts(grid_factory, cells=("lstm",), impls=("cython",), hidden_sizes=(64,))
    rows = build_rows(here + there)
    fig = forward_vs_backward(rows)
    assert fig.svg is not None and fig.note is None  # no configuration dropped as "ambiguous"
    derived = [t for t in _titles(fig.svg) if "backward = train − forward" in t]
    assert len(derived) == 2
    for name, host in (("vm", "vm, Zen 5"), ("milan", "milan, Zen 3")):
        forward, train = (
            next(r.joules_per_sequence for r in rows if r.host.startswith(name) and r.phase == phase)
            for phase in ("forward", "train")
        )
        (tip,) = [t for t in derived if host in t]
        assert f": {si(train - forward, 'J')}/sequence" in tip


def test_implementations_give_each_host_its_own_row(grid_factory):
    here, there = two_hosts(grid_factory, cells=("lstm",), impls=("cython", "numpy"), phases=("forward",))
    fig = implementations(build_rows(here + there))
    points = [t for t in _titles(fig.svg) if t.endswith("/sequence, estimated")]
    assert fig.note is None  # no row holds several figures of one implementation
    for host in ("(vm, Zen 5)", "(milan, Zen 3)"):
        assert sum(host in t for t in points) == 6  # 3 shapes x 2 implementations, on the host's own rows


def test_energy_vs_flops_fits_each_host_apart(grid_factory):
    here, there = two_hosts(grid_factory, cells=("lstm",), impls=("cython",), phases=("forward",))
    fig = energy_vs_flops(build_rows(here + there))
    fits = re.findall(r">([^<]* fit: [^<]*)<", fig.svg or "")
    assert {f.split(" fit:")[0] for f in fits} == {"cython (milan, Zen 3)", "cython (vm, Zen 5)"}


def test_the_hosts_chart_leaves_out_suspect_rows_and_keeps_kinds_of_joules_apart(record_factory, kill_counter):
    measured = record_factory("lstm", provenance="measured")
    records = [
        add_host_block(measured, _host("vm", "aaaa", "Zen 5")),
        add_host_block(_scaled(measured, 3.0), _host("milan", "bbbb", "Zen 3")),
        # the same configuration estimated on a third CPU: not comparable with the measured joules
        add_host_block(record_factory("lstm", provenance="estimated"), _host("rome", "cccc", "Zen 2")),
        # and a dead counter on a fourth: no result at all
        add_host_block(kill_counter(record_factory("lstm", provenance="measured")), _host("dead", "dddd", "Zen 4")),
    ]
    fig = energy_by_microarchitecture(records)
    tips = _titles(fig.svg)
    assert fig.svg is not None
    assert not any(" on Zen 4:" in t for t in tips)  # the dead counter's 0 J is not drawn
    assert "1 of 4 row(s) are not drawn: their energy is suspect" in (fig.note or "")
    assert not any(" on Zen 2:" in t for t in tips)  # alone among estimated rows: nothing to compare it with
    assert {t.split(" on ")[1].split(":")[0] for t in tips if " on " in t} == {"Zen 5", "Zen 3"}
    # without the measured twin on Zen 3, measured (Zen 5) and estimated (Zen 2) are never put on one row
    alone = energy_by_microarchitecture([records[0], records[2]])
    assert alone.svg is None and "same provenance and meter" in alone.note


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.described_by = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if "aria-describedby" in attrs:
            self.described_by.append((tag, attrs["aria-describedby"]))


def test_every_chart_is_described_by_its_caption_and_ids_are_unique(tmp_path, grid_factory, jsonl_writer):
    here, there = two_hosts(grid_factory, cells=("lstm",), impls=("cython", "numpy"))
    html, info = build_report([jsonl_writer(tmp_path / "r.jsonl", here + there)])
    parser = _Ids()
    parser.feed(html)
    assert len(parser.ids) == len(set(parser.ids)), sorted(i for i in parser.ids if parser.ids.count(i) > 1)
    drawn = [f for f in info.figures if f.svg] + ["hosts chart"]
    assert len(parser.described_by) == len(drawn) >= 3  # every chart, the hosts chart included
    for tag, target in parser.described_by:
        assert tag == "svg" and target in parser.ids
        assert re.search(rf'<figcaption id="{target}">[^<]+</figcaption>', html)
    assert 'aria-describedby="fig-by-microarchitecture-caption"' in html


def test_static_banners_are_notes_not_alerts(tmp_path, record_factory, jsonl_writer):
    """A screen reader interrupts with every role="alert" on load: the page's banners are static notes."""
    records = [record_factory("lstm", provenance="measured"), record_factory("gru", provenance="estimated")]
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", records)])
    assert 'role="alert"' not in html
    assert len(re.findall(r'<div class="banner [^"]*" role="note">', html)) == 3  # mixed, estimated, measured


def test_the_hosts_chart_draws_one_point_per_host_never_a_median_of_two_hosts_of_one_cpu(record_factory):
    """Review 2, F1: two Zen 5 hosts (vm, and turin with 3x the joules) and a Zen 3 host. The chart used to
    draw one Zen 5 point: the median of vm's and turin's figures, which neither machine measured."""
    record = record_factory("lstm")
    records = [
        add_host_block(record, _host("vm", "aaaa", "Zen 5")),
        add_host_block(_scaled(record, 3.0), _host("turin", "tttt", "Zen 5")),
        add_host_block(record, _host("milan", "bbbb", "Zen 3")),
    ]
    joules = record["energy"]["joules_per_sequence"]["median"]
    fig = energy_by_microarchitecture(records)
    tips = [t for t in _titles(fig.svg) if "/sequence" in t]
    assert len(tips) == 3  # one point per host, none pooled
    assert not any(f": {si(2 * joules, 'J')}/sequence" in t for t in tips)  # the median of vm and turin
    assert any("host turin" in t and f": {si(3 * joules, 'J')}/sequence" in t for t in tips)
    assert any("host vm" in t and f": {si(joules, 'J')}/sequence" in t for t in tips)
    legend = re.findall(r'<text class="legend"[^>]*>([^<]*)</text>', fig.svg)
    assert sum("Zen 5" in name for name in legend) == 2 and any("turin" in name for name in legend)
    assert "one point per host" in fig.caption


def test_the_roofline_keeps_hosts_apart_and_its_tooltips_name_the_host(grid_factory):
    """Review 2, F2: the roofline drew one series per implementation, pooling both hosts' points, and its
    tooltips did not say which host a point came from."""
    here, there = two_hosts(grid_factory, cells=("lstm",), impls=("cython", "numpy"), phases=("forward",))
    fig = roofline(build_rows(here + there), None)
    legend = re.findall(r'<text class="legend"[^>]*>([^<]*)</text>', fig.svg)
    assert set(legend) == {"cython (vm, Zen 5)", "cython (milan, Zen 3)", "numpy (vm, Zen 5)", "numpy (milan, Zen 3)"}
    tips = [t for t in _titles(fig.svg) if "FLOP/B, " in t]
    assert tips and all("vm, Zen 5" in t or "milan, Zen 3" in t for t in tips)


def test_host_labels_never_show_the_internal_key(grid_factory):
    """Review 2, F5: two hosts with one name and CPU were told apart by their raw key
    ("hostname:vm/machine:None/cpu:…"), which printed "None" on the page."""
    rows = build_rows(grid_factory(cells=("lstm",), impls=("cython",), phases=("forward",)))
    legacy = [
        dataclasses.replace(r, host="vm, Zen 5", host_key="hostname:vm/machine:None/cpu:amd (EPYC)") for r in rows
    ]
    with_id = [
        dataclasses.replace(r, host="vm, Zen 5", host_key="hostname:vm/machine:a1b2c3d4e5f6/cpu:x") for r in rows
    ]
    block = [dataclasses.replace(r, host="vm, Zen 5", host_key="ffff0000/0") for r in rows]
    labels = host_labels(legacy + with_id + block)
    assert len(set(labels.values())) == 3
    for label in labels.values():
        assert label.startswith("vm, Zen 5") and "None" not in label and "hostname:" not in label and "/" not in label
    assert labels["hostname:vm/machine:a1b2c3d4e5f6/cpu:x"] == "vm, Zen 5, machine id a1b2c3d4…"
    assert labels["hostname:vm/machine:None/cpu:amd (EPYC)"] == "vm, Zen 5, machine id not recorded"
