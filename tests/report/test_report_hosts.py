"""The report's per-host section (lstm_energy.report.hosts): shown for results from several hosts/CPUs."""

import json
import re
from pathlib import Path

from lstm_energy.records import add_host_block
from lstm_energy.report import write_report
from lstm_energy.report.hosts import energy_by_microarchitecture, hosts_section

V1 = Path(__file__).parents[1] / "data" / "records-v1" / "profile.jsonl"


def host(name, machine_id, arch):
    return {
        "hostname": name,
        "machine_id": machine_id,
        "package": "0",
        "cpu": {"vendor": "intel", "family": 6, "model": 106, "microarchitecture": arch, "model_name": "Xeon"},
        "source": "read from this host",
    }


def two_host_records(scale=3.0):
    base = [json.loads(line) for line in V1.read_text().splitlines() if line.strip()]
    records = [add_host_block(r, host("node-a", "aaaa", "Ice Lake")) for r in base]
    for r in base:
        slower = json.loads(json.dumps(r))
        slower["energy"]["joules_per_sequence"]["median"] *= scale
        slower["energy"]["provenance"] = "estimated"
        slower["energy"]["meter"] = {"name": "model"}
        records.append(add_host_block(slower, host("node-b", "bbbb", "Zen 4")))
    return records


def test_one_host_shows_no_host_section():
    base = [json.loads(line) for line in V1.read_text().splitlines() if line.strip()]
    assert hosts_section(base) == ""
    assert hosts_section([add_host_block(r, host("node-a", "aaaa", "Ice Lake")) for r in base]) == ""


def test_two_hosts_get_a_table_and_a_chart_by_microarchitecture(tmp_path):
    records = two_host_records()
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    write_report([path], tmp_path / "two.html")
    page = (tmp_path / "two.html").read_text()
    section = page[page.index('<section id="hosts">') :]
    section = section[: section.index("</section>")]
    rows = re.findall(r"<tr><td>(node-[ab])</td>.*?</tr>", section)
    assert rows == ["node-a", "node-b"]
    assert "model (estimated): 2" in section
    # one marker per configuration per microarchitecture, each naming both
    titles = re.findall(r"<title>([^<]* on (?:Ice Lake|Zen 4): [^<]*)</title>", section)
    assert len(titles) == len(records)
    assert "Zen 4 (estimated)" in section and "Ice Lake (" in section


def test_the_chart_places_each_microarchitecture_at_its_own_energy():
    records = two_host_records(scale=10.0)
    fig = energy_by_microarchitecture(records)
    assert fig.svg is not None
    values = dict(re.findall(r" on (Ice Lake|Zen 4): ([^<]+)/sequence", fig.svg))
    assert set(values) == {"Ice Lake", "Zen 4"} and values["Ice Lake"] != values["Zen 4"]


def test_configurations_on_one_microarchitecture_only_say_how_to_compare():
    records = two_host_records()
    records = [r for r in records if r["host"]["hostname"] == "node-a"] + [
        add_host_block(records[0], host("node-c", "cccc", "Ice Lake"))
    ]
    fig = energy_by_microarchitecture(records)
    assert fig.svg is None and "--every-host" in fig.note


def test_an_unresolved_record_is_left_out_of_the_chart_and_counted():
    records = two_host_records()
    unresolved = records[-1]  # one Zen 4 record whose work drew no more than idle
    unresolved["energy"]["joules_per_sequence"]["median"] = -2.5e-7
    unresolved["warnings"] = ["dynamic energy not resolved above idle: ..."]
    fig = energy_by_microarchitecture(records)
    assert fig.svg is not None
    assert "1 record(s) whose dynamic energy was not resolved above idle" in fig.caption
    titles = re.findall(r"<title>([^<]* on (?:Ice Lake|Zen 4): [^<]*)</title>", fig.svg)
    # its configuration is then on one microarchitecture only, so it leaves the chart with its Ice Lake twin
    assert len(titles) == len(records) - 2 and not any("-" in t.split(": ")[-1] for t in titles)
