"""Assemble the one self-contained HTML page: header, provenance banner, environment, warnings,
figures and tables. CSS and the sorting script are inlined from files next to this module; nothing
is fetched from the network, so the file reads the same offline and as a mail attachment.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import resources

from lstm_energy.meters.identity import identity_key
from lstm_energy.report.charts import Figure, figure_html
from lstm_energy.report.estimate import estimate_block
from lstm_energy.report.hosts import hosts_section
from lstm_energy.report.rows import (
    DEAD_COUNTER,
    IMPLAUSIBLE_POWER,
    PLAUSIBLE_POWER_TEXT,
    ProvenanceRow,
    Row,
    several_precisions,
)
from lstm_energy.report.units import esc
from lstm_energy.results import LoadProblem

_BANNER_TEXT = {
    "measured": ("MEASURED", "Energy read from hardware counters"),
    "estimated": ("ESTIMATED, NOT MEASURED", "These joules come from a model, not from an energy counter"),
    "simulated": ("SIMULATED: TEST DATA, NOT A MEASUREMENT", "These joules come from a simulated meter used by tests"),
}


def _asset(name: str) -> str:
    return resources.files("lstm_energy.report").joinpath(name).read_text(encoding="utf-8")


def _kv(value) -> str:
    """A meter description or environment value as compact readable text (None entries of dicts left out)."""
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_kv(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, (list, tuple)):
        return ", ".join(_kv(v) for v in value)
    if isinstance(value, float):
        return f"{value:.3g}"  # coefficients are known to 3 figures; 17 digits would claim more
    return "–" if value is None else str(value)


def _meter_parameters(meter: dict) -> str:
    for key in ("parameters", "model_parameters", "params"):
        if isinstance(meter.get(key), dict) and meter[key]:
            return _kv(meter[key])
    rest = {k: v for k, v in meter.items() if k not in ("name", "provenance", "source", "model")}
    return _kv(rest) if rest else "none stated"


def _source_text(meter: dict) -> str:
    """The meter's own one-line ``source`` (where its figures come from), verbatim; or say it is missing."""
    source = meter.get("source")
    if source in (None, "", [], {}):
        return "not stated by the meter"
    return source if isinstance(source, str) else _kv(source)


def _energy(row) -> float | None:
    """The row's headline energy (per sequence, else per call); None when it recorded none."""
    for name in ("joules_per_sequence", "joules_per_call"):
        value = getattr(row, name, None)
        if value is not None:
            return value
    return None


ALL_ZERO_DEAD = (
    "Every energy figure in these results is 0 J: the counter did not count (a dead counter, typical of "
    "virtual machines). These joules are not a measurement; rerun with a working meter or `--meter model` "
    "for an estimate."
)
ALL_ZERO_OTHER = (
    "Every energy figure in these results is 0 J: the meter reported no energy at all, so these joules "
    "are not usable. Rerun with a working meter (see `lstm-energy meters`) or `--meter model` for an estimate."
)


def energy_warning(rows) -> tuple[str, str] | None:
    """(heading, text) saying why the energy cannot be trusted: all of it 0 J, rows marked measured
    whose counter did not count, or rows whose power no CPU draws (``Row.suspect``); None when nothing
    is wrong."""
    energies = [e for e in (_energy(r) for r in rows) if e is not None]
    if energies and all(e == 0 for e in energies):
        measured = any(r.provenance == "measured" for r in rows)
        return "ENERGY IS ALL 0 J: NOT A MEASUREMENT", ALL_ZERO_DEAD if measured else ALL_ZERO_OTHER
    reasons = [getattr(r, "suspect", None) or [] for r in rows]
    dead = sum(DEAD_COUNTER in why for why in reasons)
    implausible = sum(any(w.startswith(IMPLAUSIBLE_POWER) for w in why) for why in reasons)
    texts = []
    if dead:
        texts.append(
            f"{dead} of {len(rows)} row(s) are marked measured but read 0 J per sequence or an idle power "
            "of 0 W: their counter did not count (a dead counter, typical of virtual machines)."
        )
    if implausible:
        texts.append(
            f"{implausible} of {len(rows)} row(s) imply a power no CPU package draws (their dynamic, idle or "
            f"total watts fall outside the {PLAUSIBLE_POWER_TEXT} that a counter must read while it "
            "measures): a unit error, a missed counter wrap or an edited record."
        )
    if not texts:
        return None
    heading = {
        (True, False): "SUSPECT ENERGY: THE COUNTER DID NOT COUNT",
        (False, True): "SUSPECT ENERGY: IMPLAUSIBLE POWER",
        (True, True): "SUSPECT ENERGY: DEAD COUNTERS AND IMPLAUSIBLE POWER",
    }[(bool(dead), bool(implausible))]
    return (
        heading,
        " ".join(texts) + " Their joules are not a result, their provenance cell says suspect and the charts leave "
        "them out; rerun them with a working meter or `--meter model` for an estimate.",
    )


# Banners are role="note", not "alert" or "status": they are part of a static page, present at load and never
# updated. "alert" makes a screen reader interrupt with every banner at once on load; "status" is a live region
# for content that changes, which these never do. "note" keeps them in reading order, named as asides to the data.


def energy_warning_banner(rows) -> str:
    """The red banner for ``energy_warning(rows)``; "" when nothing is wrong."""
    warning = energy_warning(rows)
    if warning is None:
        return ""
    heading, text = warning
    return f'<div class="banner banner-invalid" role="note"><strong>{esc(heading)}</strong> {esc(text)}</div>'


def _meters_by_provenance(rows: Sequence[ProvenanceRow]) -> dict[str, list[dict]]:
    """Provenance -> the distinct meters of its rows (the first describe() of each meter seen)."""
    out: dict[str, list[dict]] = {}
    seen: set[tuple[str, str]] = set()
    for r in rows:
        meters = out.setdefault(r.provenance, [])
        key = (r.provenance, identity_key(r.meter))
        if key not in seen:
            seen.add(key)
            meters.append(r.meter)
    return out


def provenance_banners(rows: Sequence[ProvenanceRow], *, input_notes: bool = False) -> str:
    """Banners a reader cannot miss: a red one when the energy is not usable (all 0 J, dead counters),
    one per provenance present, plus a MIXED banner when several are. MEASURED counts only the
    measured rows whose counter counted; when there are none, no MEASURED banner is shown.

    rows: report Rows, or any objects with ``provenance``, ``meter`` and optionally ``suspect``,
    ``joules_per_sequence``, ``joules_per_call`` (the forecast page passes its trials so).
    input_notes: whether the page lists skipped input below (the no-records banner points there only then).
    """
    counts = Counter(r.provenance for r in rows)
    sound_measured = [r for r in rows if r.provenance == "measured" and not getattr(r, "suspect", None)]
    meters = _meters_by_provenance(sound_measured + [r for r in rows if r.provenance != "measured"])
    parts = [energy_warning_banner(rows)]
    if len(counts) > 1:
        suspect = Counter(r.provenance for r in rows if getattr(r, "suspect", None))
        summary = ", ".join(
            f"{n} {p}" + (f" ({suspect[p]} of them suspect)" if suspect[p] else "") for p, n in counts.most_common()
        )
        parts.append(
            f'<div class="banner banner-mixed" role="note"><strong>MIXED PROVENANCE</strong> '
            f"These results mix {esc(summary)} rows. Compare rows of the same provenance only; "
            "the provenance column of each table says which is which.</div>"
        )
    shown = dict(counts, measured=len(sound_measured))
    for provenance in ("estimated", "simulated", "measured"):
        if not shown.get(provenance):
            continue
        heading, lead = _BANNER_TEXT[provenance]
        details = []
        for meter in meters[provenance]:
            name = esc(meter.get("name", "unknown"))
            if provenance == "measured":
                counter = meter.get("counter") or meter.get("source") or "counter not named by the meter"
                details.append(
                    f"meter <code>{name}</code>: {esc(_kv(counter))}; headline domains: "
                    f"{esc(_kv(meter.get('headline_domains') or meter.get('domains')))}"
                )
            else:
                text = f"{'model' if provenance == 'estimated' else 'meter'} <code>{name}</code>"
                if isinstance(meter.get("model"), str):
                    text += f" ({esc(meter['model'])})"
                text += f", parameters: {esc(_meter_parameters(meter))}"
                text += f'; source: <span class="meter-source">{esc(_source_text(meter))}</span>'
                details.append(text)
        parts.append(
            f'<div class="banner banner-{provenance}" role="note"><strong>{esc(heading)}</strong> '
            f"{esc(lead)} ({shown[provenance]} row(s)). {'; '.join(details)}.</div>"
        )
    if not counts:
        why = "; the input notes below say what was skipped" if input_notes else ""
        parts.append(
            '<div class="banner banner-mixed" role="note"><strong>NO ENERGY RECORDS</strong> '
            f"None of the input files held an energy record{why}.</div>"
        )
    return "".join(parts)


def _cpuid_text(cpu) -> str:
    """An ``environment.cpu`` block as "amd family 26 model 2 stepping 1: Zen 5 (...)"."""
    if not isinstance(cpu, dict):
        return _kv(cpu)
    ids = " ".join(f"{k} {cpu[k]}" for k in ("family", "model", "stepping") if cpu.get(k) is not None)
    arch = cpu.get("microarchitecture")
    return f"{cpu.get('vendor') or '?'} {ids}" + (f": {arch}" if arch else "")


def _environment_table(records: list[dict]) -> str:
    envs = [r.get("environment") or {} for r in records if r.get("kind") in ("profile", "benchmark")]
    if not envs:  # no record, no machine: a table of "varies:" with nothing after it says nothing
        return "<p>No energy records, so no machine or environment to describe.</p>"
    fields = [
        ("cpu_model", "CPU"),
        ("cpu", "CPU (cpuid)"),  # recorded since 2026-12-08: the model string alone is Zen 3, 4 and 5 alike
        ("cores", "cores"),
        ("kernel", "kernel"),
        ("governor", "cpufreq governor"),
        ("turbo", "turbo/boost"),
        ("blas_threads", "BLAS threads"),
        ("isa", "kernel path (isa)"),
        ("lowp_paths", "int8 / bf16 products"),
        ("python", "Python"),
        ("hostname", "host"),
    ]
    lines = []
    for key, label in fields:
        values = list(dict.fromkeys(json.dumps(e.get(key), sort_keys=True, default=str) for e in envs))
        shown = [json.loads(v) for v in values]
        if key == "cpu" and shown == [None]:  # records written before the field existed
            continue
        show = _cpuid_text if key == "cpu" else _kv
        text = show(shown[0]) if len(shown) == 1 else "varies: " + " | ".join(show(v) for v in shown)
        if key in ("governor", "turbo") and shown == [None]:
            text = "not exposed by this machine (e.g. a VM without cpufreq)"
        lines.append(f'<tr><th scope="row">{esc(label)}</th><td>{esc(text)}</td></tr>')
    blas = []
    for e in envs:
        for lib in e.get("blas") or []:
            if isinstance(lib, dict):
                item = f"{lib.get('internal_api', lib.get('user_api', '?'))} {lib.get('version') or ''} ({lib.get('num_threads', '?')} threads)".replace(
                    "  ", " "
                )
                if item not in blas:
                    blas.append(item)
    lines.append(f'<tr><th scope="row">BLAS</th><td>{esc(", ".join(blas) or "–")}</td></tr>')
    versions: dict[str, list] = {}
    for e in envs:
        for k, v in (e.get("versions") or {}).items():
            if v not in versions.setdefault(k, []):
                versions[k].append(v)
    text = ", ".join(
        f"{k} {' | '.join(str(v) if v is not None else 'not installed' for v in vs)}" for k, vs in versions.items()
    )
    lines.append(f'<tr><th scope="row">versions</th><td>{esc(text or "–")}</td></tr>')
    return f'<table class="meta">{"".join(lines)}</table>'


def _describe_rows(meter: dict) -> str:
    """A meter's describe() as table rows: one per key, nested dicts as their own small lists."""
    out = []
    for key, value in meter.items():
        if key in ("name", "provenance") or value in (None, "", [], {}):
            continue
        if isinstance(value, dict):
            items = "".join(
                f"<li><code>{esc(k)}</code> = {esc(_kv(v))}</li>" for k, v in value.items() if v is not None
            )
            text = f'<ul class="kv">{items}</ul>'
        else:
            text = esc(_kv(value))
        out.append(f'<tr><th scope="row">{esc(key.replace("_", " "))}</th><td>{text}</td></tr>')
    return "".join(out)


def _meter_table(rows: list[Row]) -> str:
    blocks = []
    for provenance, meters in _meters_by_provenance(rows).items():
        for meter in meters:
            body = (
                estimate_block(meter, _describe_rows(meter))
                if provenance == "estimated"
                else f'<table class="meta">{_describe_rows(meter)}</table>'
            )
            blocks.append(
                f"<h3><code>{esc(meter.get('name', 'unknown'))}</code> <span class='prov prov-{esc(provenance)}'>{esc(provenance)}</span></h3>"
                + body
            )
    return "".join(blocks) if blocks else "<p>No meter.</p>"


def _dates(records: list[dict]) -> str:
    """When the records were made, for the subtitle ("run …": the word fits estimates as well as measurements)."""
    if not records:
        return "no records"
    created = sorted(str(r.get("created")) for r in records if r.get("created"))
    if not created:
        return "run dates not recorded"
    return "run " + (created[0] if created[0] == created[-1] else f"{created[0]} to {created[-1]}")


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _merge_warning_texts(texts: list[str]) -> str:
    """Warnings that differ only in their numbers, as one text with each number shown as its range."""
    if len(set(texts)) == 1:
        return texts[0]
    columns = list(zip(*[[float(n) for n in _NUMBER.findall(t)] for t in texts]))
    pieces = _NUMBER.split(texts[0])
    out = [pieces[0]]
    for values, piece in zip(columns, pieces[1:]):
        low, high = min(values), max(values)
        out.append(f"{low:g}" if low == high else f"{low:g}–{high:g}")
        out.append(piece)
    return "".join(out)


def _warnings(rows: list[Row]) -> str:
    """The protocol warnings, one item per kind, with how many rows (named with their precision when the
    rows hold several, so fp32, bf16 and int8 rows of one shape count apart) and a few of their names."""
    groups: dict[str, list[tuple[str, str]]] = {}
    with_precision = several_precisions(rows)
    for r in rows:
        for w in r.warnings:
            groups.setdefault(_NUMBER.sub("#", w), []).append((w, r.name(with_precision=with_precision)))
    if not groups:
        return "<p>The measurement protocol raised no warnings.</p>"
    items = []
    for _, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        where = list(dict.fromkeys(label for _, label in members))
        text = _merge_warning_texts([w for w, _ in members])
        example = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
        items.append(
            f"<li><span class='warn-text'>{esc(text)}</span> <span class='where'>({len(where)} row(s): {esc(example)})</span></li>"
        )
    return f'<ul class="warnings">{"".join(items)}</ul>'


def _problems(problems: list[LoadProblem], notes: list[str]) -> str:
    """The "Input notes" section: inputs skipped (file:line and why), then other notes about what the
    report could not use (a machine profile left out of the roofline, ...); "" when there is neither."""
    if not problems and not notes:
        return ""
    parts = []
    if problems:
        items = "".join(
            f"<li><code>{esc(p.path)}{':' + str(p.line) if p.line is not None else ''}</code> {esc(p.message)} — skipped</li>"
            for p in problems
        )
        parts.append(
            "<p>These inputs were skipped; the report is built from the remaining valid records.</p>"
            f'<ul class="problems">{items}</ul>'
        )
    if notes:
        items = "".join(f"<li>{esc(n)}</li>" for n in notes)
        lead = "Other notes on the inputs" if problems else "Notes on the inputs"
        parts.append(
            f'<p>{lead}: what the report left out or could not use, and why.</p><ul class="problems">{items}</ul>'
        )
    return f'<section id="input-notes"><h2>Input notes</h2>{"".join(parts)}</section>'


def render_page(
    *,
    title: str,
    records: list[dict],
    rows: list[Row],
    figures: list[Figure],
    tables_html: str,
    problems: list[LoadProblem],
    sources: dict[str, int],
    notes: Sequence[str] = (),
) -> str:
    """The complete HTML document as a string."""
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    source_items = "".join(f"<li><code>{esc(path)}</code>: {n} record(s)</li>" for path, n in sources.items())
    meters = sorted({r.meter_name for r in rows})
    figures_html = "".join(figure_html(f) for f in figures)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="lstm_energy report">
<title>{esc(title)}</title>
<style>
{_asset("report.css")}
</style>
</head>
<body>
<header>
<h1>{esc(title)}</h1>
<p class="subtitle">Energy of recurrent networks on CPU — {len(rows)} row(s) from {sum(sources.values())} record(s); meter: {esc(", ".join(meters) or "none")}; {esc(_dates(records))}; report generated {esc(generated)}.</p>
{provenance_banners(rows, input_notes=bool(problems))}
<nav class="toc">Jump to: <a href="#summary-section">summary table</a> · <a href="#charts">charts</a> · <a href="#protocol-warnings">protocol warnings</a> · <a href="#context">meter and machine</a> · <a href="#sources">inputs</a>{' · <a href="#input-notes">input notes</a>' if problems or notes else ""}</nav>
</header>
<main>
<section id="context" class="two-col">
<div><h2>Meter and provenance</h2>{_meter_table(rows)}</div>
<div><h2>Machine and environment</h2>{_environment_table(records)}</div>
</section>
{hosts_section(records)}
<section id="sources"><h2>Inputs</h2><ul>{source_items}</ul></section>
{_problems(problems, list(notes))}
<section id="summary-section"><h2>Summary</h2>{tables_html or "<p>No energy records to tabulate.</p>"}</section>
<section id="charts"><h2>Charts</h2>{figures_html}</section>
<section id="protocol-warnings"><h2>Protocol warnings</h2>{_warnings(rows)}</section>
</main>
<footer>
<p>Units: decimal SI prefixes (1 MB = 10<sup>6</sup> bytes, 1 GFLOP = 10<sup>9</sup> FLOP). A FLOP is one add or multiply; a multiply-add counts 2; transcendentals are counted separately.
Energies are dynamic (idle baseline subtracted) medians over measurement windows unless stated; CI = bootstrap 95% confidence interval of the median.</p>
</footer>
<script>
{_asset("sortable.js")}
</script>
</body>
</html>
"""
