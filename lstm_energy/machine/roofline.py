"""The machine profile a roofline needs: who the machine is, measured GEMM peaks and triad bandwidth
per thread count, and the ridge point (FLOP/byte where compute and memory bounds meet), cached per
machine fingerprint.

Two float32 GEMMs are measured, because the kernels run both: SciPy's BLAS sgemm and the kernels' own
packed GEMM. The compute roof at a thread count is the faster of the two, named in ``peak_source``: a
roof below what the kernels themselves reach would not be a ceiling.

Every figure carries its ``source``: "measured: ..." with the method. Nothing is estimated here.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence

from lstm_energy.machine import bandwidth as bandwidth_module
from lstm_energy.machine import peak as peak_module
from lstm_energy.machine.cache import (
    PROFILE_SCHEMA,
    ensure_writable_directory,
    load_profile,
    profile_path,
    save_profile,
)
from lstm_energy.machine.info import MachineInfo, machine_info


def sgemm_label(sgemm: dict) -> str:
    """'OpenBLAS sgemm, Haswell kernel': the BLAS and the core type it ran (when threadpoolctl said)."""
    library = sgemm.get("blas_library") or "BLAS"
    core = sgemm.get("blas_core_type")
    return f"{library} sgemm" + (f", {core} kernel" if core else "")


def kernel_gemm_label(kernel: dict) -> str:
    """The kernels' own product and the path it ran, e.g. "kernels' packed GEMM, avx512"."""
    return f"kernels' packed GEMM, {kernel.get('isa') or 'unknown path'}"


def compute_roof(sgemm: dict, kernel: dict | None) -> tuple[float, str]:
    """(GFLOP/s, what measured it): the faster float32 GEMM at one thread count."""
    candidates = [(sgemm["best_gflops"], sgemm_label(sgemm))]
    if kernel is not None:
        candidates.append((kernel["best_gflops"], kernel_gemm_label(kernel)))
    return max(candidates, key=lambda candidate: candidate[0])


def roofline_points(peaks: list[dict], bandwidths: list[dict], kernel_peaks: Sequence[dict] = ()) -> list[dict]:
    """Per thread count with an sgemm peak and a bandwidth: the compute roof (the faster GEMM, named),
    both GEMM figures, bandwidth GB/s and the ridge in FLOP/byte."""
    by_threads = {b["threads"]: b for b in bandwidths}
    kernel_by_threads = {k["threads"]: k for k in kernel_peaks}
    points = []
    for p in peaks:
        b = by_threads.get(p["threads"])
        if b is None:
            continue
        kernel = kernel_by_threads.get(p["threads"])
        gflops, source = compute_roof(p, kernel)
        points.append(
            {
                "threads": p["threads"],
                "peak_gflops": gflops,
                "peak_source": source,
                "sgemm_gflops": p["best_gflops"],
                "kernel_gemm_gflops": kernel["best_gflops"] if kernel else None,
                "bandwidth_gb_per_second": b["best_bytes_per_second"] / 1e9,
                "ridge_flop_per_byte": gflops * 1e9 / b["best_bytes_per_second"],
            }
        )
    return points


def measure_profile(
    info: MachineInfo,
    measure_peaks: Callable[[], list] | None = None,
    measure_bandwidths: Callable[[], list] | None = None,
    measure_kernel_peaks: Callable[[], list] | None = None,
    identity: dict | None = None,
    kernel_build: str | None = None,
) -> dict:
    """Run the measurements now (about 5–15 s) and return the profile dict.

    identity: who measures (``identity.profile_identity()``, read here when None); kernel_build: the
    compiled packed GEMM's hash (``peak.kernel_build()``, read here when None)."""
    llc = info.caches.llc
    peaks = (measure_peaks or peak_module.measure_peaks)()
    kernel_peaks = (measure_kernel_peaks or peak_module.measure_kernel_peaks)()
    bws = (
        measure_bandwidths
        or (lambda: bandwidth_module.measure_bandwidths(array_bytes=bandwidth_module.default_array_bytes(llc)))
    )()
    peak_dicts = [p.as_dict() for p in peaks]
    kernel_dicts = [k.as_dict() for k in kernel_peaks]
    bw_dicts = [b.as_dict() for b in bws]
    return {
        "schema": PROFILE_SCHEMA,
        "fingerprint": info.fingerprint,
        "measured_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": info.as_dict(),
        "identity": identity if identity is not None else _read_identity(),
        "kernel_build": kernel_build if kernel_build is not None else peak_module.kernel_build(),
        "peak_gflops": peak_dicts,
        "kernel_gemm_gflops": kernel_dicts,
        "kernel_gemm_unavailable": None
        if kernel_dicts
        else (peak_module.kernel_gemm_unavailable_reason() or "not measured"),
        "bandwidth": bw_dicts,
        "roofline": roofline_points(peak_dicts, bw_dicts, kernel_dicts),
    }


def cached_kernel_isa(profile: dict) -> str | None:
    """The kernel path a profile's packed-GEMM figures were measured on; None when it has none."""
    kernels = profile.get("kernel_gemm_gflops") or []
    return kernels[0].get("isa") if kernels else None


def _read_identity() -> dict:
    """This host's identity for a profile (imported here: lstm_energy.machine.identity reads cpuinfo through
    lstm_energy.meters, which imports this package)."""
    from lstm_energy.machine.identity import profile_identity

    return profile_identity()


def stale_reason(cached: dict, isa_now: str | None, build_now: str | None, identity_now: dict) -> str | None:
    """Why a cached profile of this fingerprint must be measured again; None when it still describes
    this machine and these kernels.

    The fingerprint covers the CPU model, cores, caches, BLAS and OS kernel, not the kernels' build nor
    which host wrote the file (a home directory shared by identical machines), so those are checked here:
    the kernels' instruction-set path (``LSTM_ENERGY_ISA``), their build (a rebuilt packed GEMM runs at
    another speed), and the hostname / machine id the profile records."""
    isa_then = cached_kernel_isa(cached)
    if isa_then != isa_now:
        return f"its kernel GEMM ran the {isa_then or 'no'} path, the kernels now run {isa_now or 'none'}"
    if isa_then is not None and cached.get("kernel_build") != build_now:
        return (
            f"its kernel GEMM was measured on kernel build {cached.get('kernel_build') or '(not recorded)'}, "
            f"the kernels are now build {build_now}"
        )
    recorded = cached.get("identity") or {}
    for key in ("hostname", "machine_id"):
        if recorded.get(key) is not None and recorded.get(key) != identity_now.get(key):
            return f"it was measured on {key} {recorded.get(key)}, this is {identity_now.get(key)}"
    return None


def machine_profile(
    refresh: bool = False,
    directory: str | os.PathLike | None = None,
    info: MachineInfo | None = None,
    measure_peaks: Callable[[], list] | None = None,
    measure_bandwidths: Callable[[], list] | None = None,
    measure_kernel_peaks: Callable[[], list] | None = None,
    current_kernel_isa: Callable[[], str | None] | None = None,
    current_kernel_build: Callable[[], str | None] | None = None,
    current_identity: Callable[[], dict] | None = None,
) -> dict:
    """The cached profile of this machine, measured (and cached) when missing, when ``refresh``, or when
    the kernels now run another instruction-set path than the cached packed-GEMM figure was measured on
    (``LSTM_ENERGY_ISA``), another build of them, or another host (``stale_reason``).

    The returned dict has ``cache: {"path", "hit"}``: hit is true when the figures came from disk
    (measured earlier, at ``measured_at``, on a machine with the same fingerprint). That block says how
    this call got the figures, so it differs between runs on one machine; it is not stored in the file.
    Raises ConfigError before measuring when ``directory`` cannot hold the profile.
    """
    info = info or machine_info()
    cached = None if refresh else load_profile(info.fingerprint, directory)
    isa_now = (current_kernel_isa or peak_module.kernel_gemm_isa)()
    build_now = (current_kernel_build or peak_module.kernel_build)()
    identity_now = (current_identity or _read_identity)()
    if cached is not None and stale_reason(cached, isa_now, build_now, identity_now) is None:
        cached["cache"] = {"path": str(profile_path(info.fingerprint, directory)), "hit": True}
        return cached
    ensure_writable_directory(profile_path(info.fingerprint, directory).parent)
    profile = measure_profile(
        info, measure_peaks, measure_bandwidths, measure_kernel_peaks, identity=identity_now, kernel_build=build_now
    )
    path = save_profile(profile, directory)
    return {**profile, "cache": {"path": str(path), "hit": False}}
