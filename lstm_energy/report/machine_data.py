"""Measured machine peaks for the roofline: from ``lstm-energy machine --json`` output, or from this
host's cached machine profile when the results were measured on this same CPU.

A roof is (threads, peak GFLOP/s, peak GB/s): sgemm peak and triad bandwidth measured with that many
threads. Nothing here measures; without data the roofline says the peaks are missing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Roof:
    threads: int | None
    peak_gflops: float
    bandwidth_gb_per_second: float


@dataclass(frozen=True)
class Roofs:
    roofs: tuple[Roof, ...]
    source: str  # where the figures came from, for the caption

    def for_threads(self, threads: set) -> list[Roof]:
        """The roofs matching the thread counts of the results (all of them when none match)."""
        matching = [r for r in self.roofs if r.threads in threads]
        return matching or list(self.roofs[:1])


def _positive(value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def roofs_from_profile(profile: dict | None, source: str) -> Roofs | None:
    """Roofs from a machine profile: its ``roofline`` list (lstm-energy machine), or flat peak keys."""
    if not isinstance(profile, dict):
        return None
    roofs = []
    for point in profile.get("roofline") or []:
        if isinstance(point, dict):
            gflops, gbps = _positive(point.get("peak_gflops")), _positive(point.get("bandwidth_gb_per_second"))
            if gflops and gbps:
                roofs.append(Roof(point.get("threads"), gflops, gbps))
    if not roofs:  # a hand-written file: {"peak_gflops_per_second": ..., "bandwidth_gb_per_second": ...}
        flat = profile.get("peaks") if isinstance(profile.get("peaks"), dict) else profile
        gflops = _positive(flat.get("peak_gflops_per_second")) or _positive(flat.get("peak_gflops"))
        gbps = _positive(flat.get("bandwidth_gb_per_second"))
        if gflops and gbps:
            roofs.append(Roof(flat.get("threads"), gflops, gbps))
    if not roofs:
        return None
    when = profile.get("measured_at")
    return Roofs(tuple(roofs), source + (f", measured {when}" if when else ""))


def cached_roofs_for(records: list[dict]) -> Roofs | None:
    """This host's cached ``lstm-energy machine`` profile, when every record was measured on this CPU model.

    Never measures (a missing cache stays missing) and never raises: any failure means no roofs.
    """
    try:
        from lstm_energy.machine import machine_info
        from lstm_energy.machine.cache import load_profile, profile_path

        info = machine_info()
        models = {(r.get("environment") or {}).get("cpu_model") for r in records}
        if not records or models != {info.cpu_model}:
            return None
        profile = load_profile(info.fingerprint)
        return roofs_from_profile(
            profile, f"this host's cached `lstm-energy machine` profile ({profile_path(info.fingerprint)})"
        )
    except Exception:  # noqa: BLE001 - optional enrichment; the roofline then says the peaks are missing
        return None
