"""The report's per-host section (lstm_energy.report.hosts): shown for results from several hosts/CPUs."""

import json
import re
from pathlib import Path

import pytest

from lstm_energy.records import add_host_block
from lstm_energy.report import write_report
from lstm_energy.report.hosts import energy_by_microarchitecture, host_of, hosts_section, hosts_table
from lstm_energy.report.rows import build_rows

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
    rows = re.findall(r"<tr><th scope=\"row\">(node-[ab])</th>.*?</tr>", section)
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


def _without_host_block(record: dict, hostname: str, cpuid: tuple[int, int, str] | None) -> dict:
    """An older record (no ``host`` block): a hostname, the model string "AMD EPYC" shared by Zen 3, 4 and 5,
    and, when ``cpuid`` is given, the estimator's cpuid identification (family, model, microarchitecture)."""
    record = json.loads(json.dumps(record))
    record.pop("host", None)
    for written_since_2026_12_08 in ("cpu", "machine_id"):
        record["environment"].pop(written_since_2026_12_08, None)
    record["environment"].update(hostname=hostname, cpu_model="AMD EPYC")
    if cpuid:
        family, model, arch = cpuid
        identification = {"method": "cpuid", "vendor": "amd", "family": family, "model": model}
        record["energy"]["meter"]["coefficients"] = {"identification": {**identification, "microarchitecture": arch}}
    return record


def test_records_of_two_hosts_are_never_merged_into_one_row(tmp_path, record_factory):
    """Finding A2: the median of two machines' medians is neither machine's figure, and the union of their
    CIs is no CI. Each host keeps its row, and the table names the host."""
    here = _without_host_block(record_factory("lstm"), "vm", (26, 2, "Zen 5"))
    there = _without_host_block(record_factory("lstm"), "milan-box", (25, 1, "Zen 3"))
    there["energy"]["joules_per_sequence"] = {k: v * 3 for k, v in there["energy"]["joules_per_sequence"].items()}
    rows = build_rows([here, there])
    assert len(rows) == 2 and all(r.runs == 1 for r in rows)
    assert {r.joules_per_sequence_ci for r in rows} == {
        (r["energy"]["joules_per_sequence"]["ci95_low"], r["energy"]["joules_per_sequence"]["ci95_high"])
        for r in (here, there)
    }
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (here, there)))
    page = write_report([path], tmp_path / "two.html").path.read_text()
    summary = page[page.index('id="summary"') :]
    assert '<th scope="col" title="the host' in summary and 'class="col-extra" title="the host' not in summary
    assert "vm, Zen 5" in summary and "milan-box, Zen 3" in summary


def test_the_same_hostname_on_another_cpu_is_another_machine(record_factory):
    rows = build_rows(
        [
            _without_host_block(record_factory("lstm"), "localhost", (25, 1, "Zen 3")),
            _without_host_block(record_factory("lstm"), "localhost", (25, 17, "Zen 4")),
        ]
    )
    assert len(rows) == 2


def test_reruns_on_one_host_merge_and_their_interval_is_called_a_range(tmp_path, record_factory):
    """Same host, same configuration and meter: one row; its interval spans the runs' CIs and says so,
    and the runs column is shown."""
    first = _without_host_block(record_factory("lstm"), "vm", (26, 2, "Zen 5"))
    second = json.loads(json.dumps(first))
    second["energy"]["joules_per_call"] = {k: v * 1.1 for k, v in second["energy"]["joules_per_call"].items()}
    second["time"]["seconds_per_call"] = {k: v * 1.3 for k, v in second["time"]["seconds_per_call"].items()}
    [row] = build_rows([first, second])
    assert row.runs == 2
    assert row.watts == pytest.approx(row.joules_per_call / row.seconds_per_call)  # from the medians shown
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (first, second)))
    page = write_report([path], tmp_path / "runs.html").path.read_text()
    assert "(range over 2 runs)" in page
    assert '<th scope="col" title="records merged' in page  # the runs column is not hidden


def test_without_a_host_block_the_cpuid_identification_names_the_microarchitecture(record_factory):
    """The model string "AMD EPYC" is Zen 3, 4 and 5 alike: the estimator's cpuid identification tells them apart."""
    zen3 = host_of(_without_host_block(record_factory(), "a", (25, 1, "Zen 3 (EPYC Milan)")))
    zen5 = host_of(_without_host_block(record_factory(), "b", (26, 2, "Zen 5 (EPYC Turin)")))
    assert zen3["microarchitecture"] == "Zen 3 (EPYC Milan)" and zen5["microarchitecture"] == "Zen 5 (EPYC Turin)"
    assert "family 25 model 1" in zen3["cpu"] and "AMD EPYC" in zen3["cpu"]
    records = []
    for hostname, cpuid in (("a", (25, 1, "Zen 3")), ("b", (26, 2, "Zen 5"))):
        record = _without_host_block(record_factory(), hostname, cpuid)
        record["energy"]["joules_per_sequence"]["median"] *= 2 if hostname == "b" else 1
        records.append(record)
    fig = energy_by_microarchitecture(records)
    assert fig.svg is not None and " on Zen 3: " in fig.svg and " on Zen 5: " in fig.svg
    assert host_of(_without_host_block(record_factory(), "c", None))["microarchitecture"] == "AMD EPYC"


def test_the_hosts_table_is_not_marked_sortable_and_its_headers_have_a_scope():
    """Finding C4: a table marked sortable whose headers have no buttons and cells no sort values looks
    sortable and does nothing; the hosts table is a plain listing."""
    table = hosts_table(two_host_records())
    assert 'class="sortable"' not in table and 'class="listing"' in table
    assert "<th>" not in table and table.count('<th scope="col">') == 7


def test_one_machine_is_one_host_whichever_meter_made_its_records(record_factory):
    """Records since 2026-12-08 carry the cpuid identity in ``environment.cpu``: a measured record (no
    estimator identification) and an estimated one from the same machine are one host, not two."""
    estimated = json.loads(json.dumps(record_factory("lstm")))
    estimated.pop("host", None)
    estimated["environment"].update(
        hostname="vm", machine_id="m1", cpu={"vendor": "amd", "family": 26, "model": 2, "microarchitecture": "Zen 5"}
    )
    identification = {"method": "cpuid", "vendor": "amd", "family": 26, "model": 2, "microarchitecture": "Zen 5"}
    estimated["energy"]["meter"]["coefficients"] = {"identification": identification}
    measured = json.loads(json.dumps(estimated))
    measured["energy"]["meter"] = {"name": "powercap", "counter": "intel-rapl:0"}
    assert host_of(estimated)["key"] == host_of(measured)["key"]
    assert host_of(measured)["microarchitecture"] == "Zen 5"
    elsewhere = json.loads(json.dumps(measured))
    elsewhere["environment"]["cpu"] = {"vendor": "amd", "family": 25, "model": 17, "microarchitecture": "Zen 4"}
    assert host_of(elsewhere)["key"] != host_of(measured)["key"]  # the same hostname on another CPU


def test_the_hosts_source_names_the_estimators_identification_in_plain_words(record_factory):
    source = host_of(_without_host_block(record_factory(), "a", (25, 1, "Zen 3")))["source"]
    assert source.endswith("; CPU from the estimator's cpuid identification") and "the the" not in source
