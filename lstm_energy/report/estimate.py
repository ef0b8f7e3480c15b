"""What an estimate stands for, in a reader's words: the model meter's formula, the published
coefficients it uses (which row, which CPU, how identified), whether it was calibrated, and the
physical lower bound beside it. Built from the meter's ``describe()`` (``source``, ``model``,
``coefficients``, ``lower_bound``, ``calibrated``); the raw description stays available below it.

A measured meter's "domains: package" says which counter was read; an estimate has no counter, so
its domains are left out here: they name the one key the estimator writes, not something measured.
"""

from __future__ import annotations

from lstm_energy.report.units import esc


def _number(value, unit: str, scale: float = 1.0, digits: int = 3) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return f"{value * scale:.{digits}g} {unit}"


def _coefficients_text(coefficients: object) -> str | None:
    if not isinstance(coefficients, dict) or not coefficients:
        return None
    low = _number(coefficients.get("min_watts_per_vcpu"), "W")
    high = _number(coefficients.get("max_watts_per_vcpu"), "W")
    parts = []
    if coefficients.get("row"):
        parts.append(f"row “{coefficients['row']}”")
    if low and high:
        vcpus = coefficients.get("vcpus")
        parts.append(f"{low} idle to {high} busy per vCPU" + (f" × {vcpus} vCPUs" if vcpus else ""))
    for key in ("dataset", "citation", "identified_by"):
        if coefficients.get(key):
            parts.append(str(coefficients[key]))
    return "; ".join(parts) or None


def _lower_bound_text(lower_bound: object) -> str | None:
    if not isinstance(lower_bound, dict) or not lower_bound:
        return None
    per_flop = _number(lower_bound.get("joules_per_flop"), "pJ per FLOP", 1e12)
    per_byte = _number(lower_bound.get("joules_per_byte"), "pJ per byte moved", 1e12)
    figures = " + ".join(f for f in (per_flop, per_byte) if f)
    text = f"{figures}: " if figures else ""
    return text + str(lower_bound.get("model") or "a physical floor (arithmetic and memory traffic only)")


def estimate_rows(meter: dict) -> list[tuple[str, str]]:
    """(label, text) pairs saying what an estimating meter's joules stand for; [] when it says nothing."""
    rows = []
    if meter.get("model"):
        rows.append(("what is computed", f"E = {str(meter['model']).removeprefix('E = ')} (per measurement window)"))
    if meter.get("calibrated"):
        rows.append(("fitted to", f"a calibration profile measured on a RAPL host: {meter.get('profile_path') or '?'}"))
    else:
        rows.append(
            (
                "fitted to",
                "nothing on this machine: published per-vCPU power figures (not calibrated; "
                "`lstm-energy calibrate` on a RAPL host fits them)",
            )
        )
    coefficients = _coefficients_text(meter.get("coefficients"))
    if coefficients:
        rows.append(("coefficients", coefficients))
    if meter.get("source"):
        rows.append(("source", str(meter["source"])))
    lower = _lower_bound_text(meter.get("lower_bound"))
    if lower:
        rows.append(("physical lower bound", lower))
    return rows


def estimate_block(meter: dict, raw_rows_html: str) -> str:
    """The reader-facing table of an estimate, with the full ``describe()`` folded away below it."""
    rows = "".join(
        f'<tr><th scope="row">{esc(label)}</th><td>{esc(text)}</td></tr>' for label, text in estimate_rows(meter)
    )
    return (
        f'<table class="meta estimate">{rows}</table>'
        f'<details class="raw-meter"><summary>full meter description</summary>'
        f'<table class="meta">{raw_rows_html}</table></details>'
    )
