"""A profile record in words: the short summary ``lstm-energy profile`` prints and ``print(result)`` shows.

One rendering for the CLI and the library (``ProfileResult.__str__``), so they cannot drift apart; the
first line always says whether the figure was measured or estimated.
"""

from __future__ import annotations

import html

from lstm_energy.results import describe_energy_source


def _si(value: float | None, unit: str) -> str:
    """1.234e-3 J -> '1.234 mJ'."""
    if value is None:
        return "n/a"
    for factor, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if abs(value) >= factor:
            return f"{value / factor:.4g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _spread(stat: dict, unit: str) -> str:
    """', IQR [q1, q3], 95% CI [low, high]' for a statistics block; each only when the record has it (one
    window has neither: its quartiles and CI are null, and a zero-width interval would be invented)."""
    parts = []
    if stat.get("q1") is not None and stat.get("q3") is not None:
        parts.append(f"IQR [{_si(stat['q1'], unit)}, {_si(stat['q3'], unit)}]")
    if stat.get("ci95_low") is not None and stat.get("ci95_high") is not None:
        parts.append(f"95% CI [{_si(stat['ci95_low'], unit)}, {_si(stat['ci95_high'], unit)}]")
    if not parts:
        return " (no IQR, no CI: one window)"
    return ", " + ", ".join(parts)


def _cv(value: float | None) -> str:
    """The CV of per-window time, 'n/a (one window)' when the record has none."""
    return "n/a (one window)" if value is None else f"{value:.1%}"


def headline(record: dict) -> str:
    """The first line of the human output: the figure AND whether it was measured or estimated."""
    energy = record["energy"]
    meter = energy["meter"]
    per_sequence = _si(energy["joules_per_sequence"]["median"], "J")
    if energy["provenance"] == "measured":
        return (
            f"MEASURED by {meter.get('name')} ({' + '.join(energy['headline_domains'])}): {per_sequence} per "
            "sequence (dynamic: idle baseline subtracted)"
        )
    if energy["provenance"] == "estimated":
        parameters = (
            f"calibrated profile {meter.get('profile_path')}"
            if meter.get("calibrated")
            else meter.get("source") or "source not stated by the meter"
        )
        return (
            f"ESTIMATED, NOT MEASURED: {per_sequence} per sequence from the {meter.get('name')!r} estimator "
            f"({parameters}; no energy counter was read)"
        )
    return f"SIMULATED (tests only), NOT MEASURED: {per_sequence} per sequence from meter {meter.get('name')!r}"


def render(record: dict) -> str:
    """Human-readable report of a profile record."""
    c, e, t, d = record["config"], record["energy"], record["time"], record["derived"]
    jps = e["joules_per_sequence"]
    shape = (
        f"{c['cell']} {c['phase']} impl={c['impl']} B={c['batch']} T={c['seq_len']} D={c['input_size']} "
        f"H={c['hidden_size']} layers={c['num_layers']}{' bidirectional' if c['bidirectional'] else ''} "
        f"{c['dtype']} threads={c['threads']} precision={c.get('precision', 'fp32')}"
    )
    lines = [headline(record), f"  config          {shape}"]
    if e["provenance"] == "estimated":  # the model and its coefficients' source, as every table states them
        lines.append(f"  estimator       {describe_energy_source(e['provenance'], e['meter'])}")
    lines += [
        f"  J/sequence      median {_si(jps['median'], 'J')}{_spread(jps, 'J')}",
        f"  total J/seq     {_si(e['total_joules_per_sequence']['median'], 'J')} (idle included; idle "
        f"{_si(e['idle_watts'], 'W')})",
        f"  time            {_si(t['seconds_per_sequence'], 's')} per sequence, {_si(t['seconds_per_call']['median'], 's')}"
        f" per call; {t['windows']} window{'s' if t['windows'] != 1 else ''} x {t['calls_per_window']} call(s) (~{t['window_seconds']:.3g} s), "
        f"CV {_cv(t.get('cv'))}",
        f"  work            {record['costs']['flops']['total']:,} FLOP, {record['costs']['bytes']['expected']:,} bytes "
        f"expected per call (model)",
        f"  derived         {_number(d['gflops_per_second'])} GFLOP/s, {_si(d['watts'], 'W')} dynamic, "
        f"{_number(d['pj_per_flop'])} pJ/FLOP, {_number(d['nj_per_byte'])} nJ/byte",
    ]
    lines += [f"  WARNING: {w}" for w in record["warnings"]]
    return "\n".join(lines)


def render_html(record: dict) -> str:
    """The summary as HTML for notebooks: the headline in bold, then one table row per summary line."""
    lines = render(record).splitlines()
    color = {"measured": "#2e7d4f", "estimated": "#a86b00"}.get(record["energy"]["provenance"], "#c62828")
    rows = []
    for line in lines[1:]:
        label, _, text = line.strip().partition(" ")
        if label == "WARNING:":
            rows.append(f'<tr><th style="text-align:left">warning</th><td>{html.escape(text.strip())}</td></tr>')
        else:
            rows.append(
                f'<tr><th style="text-align:left">{html.escape(label)}</th><td>{html.escape(text.strip())}</td></tr>'
            )
    return (
        f'<div class="lstm-energy-result"><p style="color:{color}"><strong>{html.escape(lines[0])}</strong></p>'
        f"<table>{''.join(rows)}</table></div>"
    )
