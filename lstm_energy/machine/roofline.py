"""The machine profile a roofline needs: who the machine is, measured sgemm peak and triad bandwidth
per thread count, and the ridge point (FLOP/byte where compute and memory bounds meet), cached per
machine fingerprint.

Every figure carries its ``source``: "measured: ..." with the method. Nothing is estimated here.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

from lstm_energy.machine import bandwidth as bandwidth_module
from lstm_energy.machine import peak as peak_module
from lstm_energy.machine.cache import PROFILE_SCHEMA, load_profile, profile_path, save_profile
from lstm_energy.machine.info import MachineInfo, machine_info


def roofline_points(peaks: list[dict], bandwidths: list[dict]) -> list[dict]:
    """Per thread count present in both: peak GFLOP/s, bandwidth GB/s and the ridge in FLOP/byte."""
    by_threads = {b["threads"]: b for b in bandwidths}
    points = []
    for p in peaks:
        b = by_threads.get(p["threads"])
        if b is None:
            continue
        flops_per_second = p["best_gflops"] * 1e9
        points.append(
            {
                "threads": p["threads"],
                "peak_gflops": p["best_gflops"],
                "bandwidth_gb_per_second": b["best_bytes_per_second"] / 1e9,
                "ridge_flop_per_byte": flops_per_second / b["best_bytes_per_second"],
            }
        )
    return points


def measure_profile(
    info: MachineInfo,
    measure_peaks: Callable[[], list] | None = None,
    measure_bandwidths: Callable[[], list] | None = None,
) -> dict:
    """Run the measurements now (about 5–15 s) and return the profile dict."""
    llc = info.caches.llc
    peaks = (measure_peaks or peak_module.measure_peaks)()
    bws = (
        measure_bandwidths
        or (lambda: bandwidth_module.measure_bandwidths(array_bytes=bandwidth_module.default_array_bytes(llc)))
    )()
    peak_dicts = [p.as_dict() for p in peaks]
    bw_dicts = [b.as_dict() for b in bws]
    return {
        "schema": PROFILE_SCHEMA,
        "fingerprint": info.fingerprint,
        "measured_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": info.as_dict(),
        "peak_gflops": peak_dicts,
        "bandwidth": bw_dicts,
        "roofline": roofline_points(peak_dicts, bw_dicts),
    }


def machine_profile(
    refresh: bool = False,
    directory: str | os.PathLike | None = None,
    info: MachineInfo | None = None,
    measure_peaks: Callable[[], list] | None = None,
    measure_bandwidths: Callable[[], list] | None = None,
) -> dict:
    """The cached profile of this machine, measured (and cached) when missing or when ``refresh``.

    The returned dict has ``cache: {"path", "hit"}``: hit is true when the figures came from disk
    (measured earlier, at ``measured_at``, on a machine with the same fingerprint).
    """
    info = info or machine_info()
    cached = None if refresh else load_profile(info.fingerprint, directory)
    if cached is not None:
        cached["cache"] = {"path": str(profile_path(info.fingerprint, directory)), "hit": True}
        return cached
    profile = measure_profile(info, measure_peaks, measure_bandwidths)
    path = save_profile(profile, directory)
    return {**profile, "cache": {"path": str(path), "hit": False}}
