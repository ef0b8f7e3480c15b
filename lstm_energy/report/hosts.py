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

from lstm_energy.report.charts import Figure, _drawn

# host_of lives in rows (one home): rows keeps hosts apart when merging, this section lists them
from lstm_energy.report.rows import UNRESOLVED_TEXT, host_of, unresolved_above_idle
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
    for the configurations measured on at least two microarchitectures."""
    title = "Energy per sequence by CPU microarchitecture"
    caption = (
        "Dynamic energy per sequence (median of each record's windows; median over that microarchitecture's "
        "records) of the same configuration on each CPU microarchitecture; series name the provenance of "
        "their joules."
    )
    values: dict[str, dict[str, list[float]]] = {}
    provenance: dict[str, set] = {}
    unresolved = 0
    for record in _profiles(records):
        value = ((record.get("energy") or {}).get("joules_per_sequence") or {}).get("median")
        if not isinstance(value, (int, float)):
            continue
        if _unresolved(record, float(value)):  # no figure to plot: the work drew no more than idle
            unresolved += 1
            continue
        arch = host_of(record)["microarchitecture"]
        values.setdefault(_config_label(record["config"]), {}).setdefault(arch, []).append(float(value))
        provenance.setdefault(arch, set()).add(str((record.get("energy") or {}).get("provenance")))
    if unresolved:
        caption += (
            f" {unresolved} record(s) whose dynamic energy was {UNRESOLVED_TEXT} (the work drew no more than the "
            "idle baseline) are left out: lengthen the windows or measure a larger configuration."
        )
    shared = sorted(label for label, by_arch in values.items() if len(by_arch) >= 2)
    if not shared:
        return Figure(
            "by-microarchitecture",
            title,
            caption,
            note="No configuration was measured on two microarchitectures: sweep with --every-host to compare CPUs.",
        )
    archs = sorted({a for label in shared for a in values[label]})
    series = []
    for i, arch in enumerate(archs):
        points = [
            (
                statistics.median(values[label][arch]),
                row,
                f"{label} on {arch}: {si(statistics.median(values[label][arch]), 'J')}/sequence",
            )
            for row, label in enumerate(shared)
            if arch in values[label]
        ]
        name = f"{arch} ({', '.join(sorted(provenance[arch]))})"
        series.append(Series(name, points, color=PALETTE[i % len(PALETTE)], shape=MARKERS[i % len(MARKERS)]))
    figure = Figure("by-microarchitecture", title, caption)
    return _drawn(
        figure, lambda: dot_plot(title, shared, series, x_label="energy per sequence (J, log scale)", x_unit="J")
    )


def hosts_section(records: list[dict]) -> str:
    """The per-host section (table and chart); "" when the profile records come from one host only."""
    if len({host_of(r)["key"] for r in _profiles(records)}) < 2:
        return ""
    fig = energy_by_microarchitecture(records)
    note = f'<p class="chart-note">{esc(fig.note)}</p>' if fig.note else ""
    return (
        f'<section id="hosts"><h2>Hosts and CPUs</h2>{hosts_table(records)}'
        f'<figure class="figure" id="fig-{esc(fig.key)}"><h3>{esc(fig.title)}</h3>{fig.svg or ""}{note}'
        f"<figcaption>{esc(fig.caption)}</figcaption></figure></section>"
    )


def _unresolved(record: dict, joules_per_sequence: float) -> bool:
    """Whether a record's dynamic energy is not resolved above idle (rows.unresolved_above_idle's rule)."""
    block = (record.get("energy") or {}).get("joules_per_sequence") or {}
    low, high = block.get("ci95_low"), block.get("ci95_high")
    ci = (float(low), float(high)) if isinstance(low, (int, float)) and isinstance(high, (int, float)) else None
    return unresolved_above_idle(list(record.get("warnings") or []), joules_per_sequence, ci, suspect=False)
