"""Numbers with units for the report: SI prefixes, fixed units, HTML escaping of labels.

Every number the report shows goes through here, so every number carries its unit. Decimal SI
prefixes throughout (1 MB = 10^6 bytes, 1 GFLOP = 10^9 FLOP), stated once in the report footer.
"""

from __future__ import annotations

import html
import math

_PREFIXES = [
    (1e12, "T"),
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
    (1e-3, "m"),
    (1e-6, "µ"),
    (1e-9, "n"),
    (1e-12, "p"),
    (1e-15, "f"),
]

#: units whose prefixes go no smaller than the base (a FLOP or a byte is not divisible)
_COUNT_UNITS = {"FLOP", "B", "FLOP/s"}


def si(value, unit: str, digits: int = 3, trim: bool = False) -> str:
    """``value`` with an SI prefix on ``unit`` and ``digits`` significant figures: si(0.00123, "J") -> "1.23 mJ".

    None, NaN and inf print as an en dash (not measured / not applicable). ``trim`` drops trailing
    zeros (axis ticks: "2 mJ" rather than "2.00 mJ").
    """
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    if value == 0:
        return f"0 {unit}"
    magnitude = abs(value)
    for factor, prefix in _PREFIXES:
        if unit in _COUNT_UNITS and factor < 1:
            factor, prefix = 1.0, ""
        if magnitude >= factor * 0.9995 or factor == _PREFIXES[-1][0] or (unit in _COUNT_UNITS and factor == 1.0):
            mantissa = _sig(value / factor, digits)
            if trim and "." in mantissa and "e" not in mantissa:
                mantissa = mantissa.rstrip("0").rstrip(".")
            return f"{mantissa} {prefix}{unit}"
    return f"{_sig(value, digits)} {unit}"  # pragma: no cover - loop always returns


def fixed(value, unit: str, digits: int = 3) -> str:
    """``value`` in ``unit`` without rescaling (for ratios such as pJ/FLOP): fixed(12.34, "pJ/FLOP")."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    return f"{_sig(value, digits)} {unit}"


def _sig(value: float, digits: int) -> str:
    """``value`` rounded to ``digits`` significant figures, without exponent for ordinary sizes."""
    if value == 0:
        return "0"
    value = float(f"{value:.{digits - 1}e}")  # round first so 999.96 -> 1000, not 999.960
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - magnitude, 0)
    if magnitude >= 6 or magnitude < -4:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{decimals}f}"


def esc(text) -> str:
    """HTML-escape any value for text and attribute positions."""
    return html.escape("" if text is None else str(text), quote=True)
