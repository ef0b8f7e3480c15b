"""Measured machine peaks for the roofline: from ``lstm-energy machine --json`` output, or from this
host's cached machine profile when the results were measured on this same CPU.

A roof is (threads, peak GFLOP/s, peak GB/s) measured with that many threads, and what measured the
compute peak: the faster of SciPy's BLAS sgemm and the kernels' own packed GEMM (``peak_source``).
Profiles written before the kernels' GEMM was measured carry the sgemm figure only; their roofs say
so. Nothing here measures; without data the roofline says the peaks are missing.
"""

from __future__ import annotations

from dataclasses import dataclass

#: what an old profile's compute peak is (it has no peak_source): SciPy's BLAS sgemm alone
OLD_PROFILE_PEAK = (
    "BLAS sgemm only (a machine profile from before `lstm-energy machine` also measured the kernels' own "
    "GEMM, so this roof can sit below the kernels' throughput; rerun `lstm-energy machine --refresh`)"
)
#: a hand-written peaks file that does not say what measured its compute peak
UNSTATED_PEAK = "what measured it is not stated in the machine file"


@dataclass(frozen=True)
class Roof:
    threads: int | None
    peak_gflops: float
    bandwidth_gb_per_second: float
    #: what measured peak_gflops, e.g. "kernels' packed GEMM, avx512" or "OpenBLAS sgemm, Haswell kernel"
    peak_source: str = UNSTATED_PEAK
    #: the other GEMM's figure when the profile has both, with its name (for the caption)
    other_gemm: tuple[str, float] | None = None

    def bound_gflops(self, intensity: float) -> float:
        """The roof's height at ``intensity`` FLOP/byte: min(compute peak, bandwidth × intensity)."""
        return min(self.peak_gflops, self.bandwidth_gb_per_second * intensity)


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


def _other_gemm(point: dict, source: str) -> tuple[str, float] | None:
    """The GEMM that did not set the roof, named, when the point records both figures."""
    sgemm, kernel = _positive(point.get("sgemm_gflops")), _positive(point.get("kernel_gemm_gflops"))
    if not (sgemm and kernel):
        return None
    if source.startswith("kernels'"):
        return ("BLAS sgemm", sgemm)
    return ("kernels' packed GEMM", kernel)


def _roof_from_point(point: dict, from_machine_command: bool) -> Roof | None:
    """One ``roofline`` entry of ``lstm-energy machine`` as a Roof; None without usable figures."""
    gflops, gbps = _positive(point.get("peak_gflops")), _positive(point.get("bandwidth_gb_per_second"))
    if not (gflops and gbps):
        return None
    source = point.get("peak_source")
    if not isinstance(source, str) or not source:
        source = OLD_PROFILE_PEAK if from_machine_command else UNSTATED_PEAK
    return Roof(point.get("threads"), gflops, gbps, source, _other_gemm(point, source))


def _is_machine_command_profile(profile: dict) -> bool:
    """Written by `lstm-energy machine` (it measures sgemm peaks), not by hand."""
    return isinstance(profile.get("peak_gflops"), list)


def roofs_from_profile(profile: dict | None, source: str) -> Roofs | None:
    """Roofs from a machine profile: its ``roofline`` list (lstm-energy machine), or flat peak keys."""
    if not isinstance(profile, dict):
        return None
    from_machine_command = _is_machine_command_profile(profile)
    roofs = [
        roof
        for point in profile.get("roofline") or []
        if isinstance(point, dict) and (roof := _roof_from_point(point, from_machine_command)) is not None
    ]
    if not roofs:  # a hand-written file: {"peak_gflops_per_second": ..., "bandwidth_gb_per_second": ...}
        peaks = profile.get("peaks")
        flat = peaks if isinstance(peaks, dict) else profile
        gflops = _positive(flat.get("peak_gflops_per_second")) or _positive(flat.get("peak_gflops"))
        gbps = _positive(flat.get("bandwidth_gb_per_second"))
        stated = flat.get("peak_source")
        if gflops and gbps:
            roofs.append(Roof(flat.get("threads"), gflops, gbps, stated if isinstance(stated, str) else UNSTATED_PEAK))
    if not roofs:
        return None
    when = profile.get("measured_at")
    return Roofs(tuple(roofs), source + (f", measured {when}" if when else ""))


def cached_roofs_for(records: list[dict]) -> Roofs | None:
    """This host's cached ``lstm-energy machine`` profile, when every record was measured on this CPU model.

    Never measures (a missing cache stays missing) and never raises: any failure means no roofs. A
    profile of an older schema is used too; its roofs say what they lack.
    """
    try:
        from lstm_energy.machine import machine_info
        from lstm_energy.machine.cache import load_profile, profile_path

        info = machine_info()
        models = {(r.get("environment") or {}).get("cpu_model") for r in records}
        if not records or models != {info.cpu_model}:
            return None
        profile = load_profile(info.fingerprint, accept_older=True)
        return roofs_from_profile(
            profile, f"this host's cached `lstm-energy machine` profile ({profile_path(info.fingerprint)})"
        )
    except Exception:  # noqa: BLE001 - optional enrichment; the roofline then says the peaks are missing
        return None
