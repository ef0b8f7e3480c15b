"""The report's per-host comparison, shown when the results span several hosts or CPUs (fleet sweeps).

``hosts_section(records)`` is one ``<section>``: a table of hosts (identity, CPU, meters and their
provenance, record count) and a dot plot of joules per sequence by CPU microarchitecture for the
configurations measured on more than one of them, one colour per microarchitecture. Records carry
a ``host`` block when a fleet sweep made them (``lstm_energy.machine.identity``); older records are
placed by ``environment.hostname`` and the estimator's cpuid identification, else ``environment.cpu_model``
(``rows.host_of``). Returns "" for one host.
"""

from __future__ import annotations

import statistics

from lstm_energy.report.charts import (
    Figure,
    _drawn,
    _host_distinguisher,
    _joined,
    _known,
    _suffix,
    _with_sentence,
    figure_html,
    provenance_labels,
    provenance_source,
    separate_kinds_caption,
    split_resolved,
    split_suspect,
    suspect_note,
)

# host_of lives in rows (one home): rows keeps hosts apart when merging, this section lists them
from lstm_energy.report.rows import UNRESOLVED_TEXT, host_of, row_from_record
from lstm_energy.report.svg import MARKERS, PALETTE, Series, dot_plot
from lstm_energy.report.units import esc, si


def _profiles(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("kind") == "profile" and isinstance(r.get("config"), dict)]


def hosts_table(records: list[dict]) -> str:
    """One row per host: name, machine id / package, CPU, microarchitecture, meters with provenance, records."""
    hosts: dict[str, dict] = {}
    for record in _profiles(records):
        h = host_of(record)
        entry = hosts.setdefault(h["key"], {**h, "meters": {}, "records": 0})
        energy = record.get("energy") or {}
        meter = (energy.get("meter") or {}).get("name") or "unnamed meter"
        entry["meters"][(meter, energy.get("provenance"))] = (
            entry["meters"].get((meter, energy.get("provenance")), 0) + 1
        )
        entry["records"] += 1
    body = "".join(
        "<tr>"
        f'<th scope="row">{esc(h["hostname"])}</th><td><code>{esc(h["machine_id"] or "–")}</code> / {esc(h["package"] or "–")}</td>'
        f"<td>{esc(h['cpu'])}</td><td>{esc(h['microarchitecture'])}</td>"
        f"<td>{esc(', '.join(f'{m} ({p}): {n}' for (m, p), n in sorted(h['meters'].items(), key=str)))}</td>"
        f"<td>{h['records']}</td><td>{esc(h['source'])}</td>"
        "</tr>"
        for h in sorted(hosts.values(), key=lambda h: str(h["hostname"]))
    )
    # a plain table (not "sortable"): a few hosts need no sorting, and tables.table() builds Row tables only
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in _HOSTS_HEADERS)
    return (
        '<table id="hosts-table" class="listing"><caption>Hosts that measured these results; meters by name '
        f"(provenance): records.</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


_HOSTS_HEADERS = (
    "host",
    "machine id / package",
    "CPU",
    "microarchitecture",
    "meters (provenance): records",
    "records",
    "identity from",
)


def _config_label(config: dict) -> str:
    from lstm_energy.config import Config

    try:
        return Config.from_record(config).label()
    except Exception:  # a config this version cannot rebuild still gets a row
        return ", ".join(f"{k}={v}" for k, v in sorted(config.items()))


def energy_by_microarchitecture(records: list[dict]) -> Figure:
    """Dynamic J/sequence (median of the records) per configuration, one series per microarchitecture,
    for the configurations measured on at least two microarchitectures with one kind of joules.

    Like the other charts (``lstm_energy.report.charts``): suspect records are left out and counted
    (``split_suspect``), and figures of different provenance or meter (``provenance_source``) are never
    put on one row as alike: each kind has its own rows, named by it when there are several."""
    title = "Energy per sequence by CPU microarchitecture"
    caption = (
        "Dynamic energy per sequence (median of each record's windows; median over that host's records) of the "
        "same configuration on each CPU microarchitecture, one point per host: two hosts of one microarchitecture "
        "are drawn apart, never pooled. Series name the microarchitecture, the provenance of their joules and "
        "the host."
    )
    # (row, configuration, microarchitecture) per record: the row says whether its energy is suspect or
    # unresolved (rows.py decides for every chart), host_of names the CPU
    placed = [(row_from_record(r), _config_label(r["config"]), host_of(r)) for r in _profiles(records)]
    with_energy = [entry for entry in placed if entry[0].joules_per_sequence is not None]
    trusted, suspect = split_suspect([row for row, _, _ in with_energy])
    label_of = {id(row): (label, host["microarchitecture"]) for row, label, host in with_energy}
    host_of_row = {id(row): host for row, _, host in with_energy}
    drawable, unresolved = split_resolved(trusted)
    if unresolved:  # no figure to plot: the work drew no more than idle
        caption += (
            f" {len(unresolved)} record(s) whose dynamic energy was {UNRESOLVED_TEXT} (the work drew no more than the "
            "idle baseline) are left out: lengthen the windows or measure a larger configuration."
        )
    kinds = provenance_labels(drawable)
    values: dict[tuple[str, tuple[str, str]], dict[str, list[float]]] = {}
    # each host's own figures: a point is the median of one host's records, never of two hosts'
    per_host: dict[tuple[str, tuple[str, str]], dict[str, list[float]]] = {}
    hosts: dict[str, dict] = {}
    provenance: dict[str, set] = {}
    for row in drawable:
        label, arch = label_of[id(row)]
        host = host_of_row[id(row)]
        key = (label, provenance_source(row))
        values.setdefault(key, {}).setdefault(arch, []).append(_known(row.joules_per_sequence))
        per_host.setdefault(key, {}).setdefault(host["key"], []).append(_known(row.joules_per_sequence))
        hosts[host["key"]] = host
        provenance.setdefault(host["key"], set()).add(row.provenance)
    shared = sorted(key for key, by_arch in values.items() if len(by_arch) >= 2)
    left_out = suspect_note(suspect, len(with_energy))
    if not shared:
        archs_of: dict[str, set[str]] = {}
        for (label, _), by_arch in values.items():
            archs_of.setdefault(label, set()).update(by_arch)
        on_two = any(len(archs) >= 2 for archs in archs_of.values())
        why = (
            "No configuration was measured on two microarchitectures with the same provenance and meter (figures of "
            "different provenance or meter are not compared): sweep each host with the same meter to compare CPUs."
            if on_two
            else "No configuration was measured on two microarchitectures: sweep with --every-host to compare CPUs."
        )
        return Figure("by-microarchitecture", title, caption, note=_joined(why, left_out))
    drawn = [r for r in drawable if (label_of[id(r)][0], provenance_source(r)) in shared]
    caption = _with_sentence(caption, separate_kinds_caption(drawn))
    names = [f"{label}{_suffix(kinds[kind])}" for label, kind in shared]
    archs = sorted({a for key in shared for a in values[key]})
    keys = sorted(
        {h for key in shared for h in per_host[key]},
        key=lambda h: (archs.index(hosts[h]["microarchitecture"]), str(hosts[h]["hostname"]), h),
    )
    names_of_host = _host_names(keys, hosts)
    series = []
    for host_key in keys:
        arch = hosts[host_key]["microarchitecture"]
        host_name = names_of_host[host_key]
        points = []
        for index, key in enumerate(shared):
            if host_key not in per_host[key]:
                continue
            value = statistics.median(per_host[key][host_key])
            count = len(per_host[key][host_key])
            of = f", median of {count} records" if count > 1 else ""
            tip = f"{names[index]} (host {host_name}) on {arch}: {si(value, 'J')}/sequence, {key[1][0]}{of}"
            points.append((value, index, tip))
        same_arch = [h for h in keys if hosts[h]["microarchitecture"] == arch]
        name = f"{arch} ({', '.join(sorted(provenance[host_key]))}), {host_name}"
        series.append(
            Series(
                name,
                points,
                color=PALETTE[archs.index(arch) % len(PALETTE)],
                shape=MARKERS[(archs.index(arch) + same_arch.index(host_key)) % len(MARKERS)],
            )
        )
    figure = Figure("by-microarchitecture", title, caption, note=left_out)
    return _drawn(
        figure,
        lambda: dot_plot(
            title,
            names,
            series,
            x_label="energy per sequence (J, log scale)",
            x_unit="J",
            described_by=figure.caption_id,
        ),
    )


def _host_names(keys: list[str], hosts: dict[str, dict]) -> dict[str, str]:
    """A readable name per host key: its hostname, plus a distinguisher (``charts.host_labels``'s) when
    two hosts of one microarchitecture share it; never the raw key."""
    names = {}
    for key in keys:
        name = str(hosts[key]["hostname"] or "unknown host")
        twins = [
            k
            for k in keys
            if hosts[k]["hostname"] == hosts[key]["hostname"]
            and hosts[k]["microarchitecture"] == hosts[key]["microarchitecture"]
        ]
        names[key] = name if len(twins) == 1 else f"{name}, {_host_distinguisher(key, twins)}"
    return names


def hosts_section(records: list[dict]) -> str:
    """The per-host section (table and chart); "" when the profile records come from one host only."""
    if len({host_of(r)["key"] for r in _profiles(records)}) < 2:
        return ""
    return (
        f'<section id="hosts"><h2>Hosts and CPUs</h2>{hosts_table(records)}'
        f"{figure_html(energy_by_microarchitecture(records))}</section>"
    )
