"""`lstm-energy machine`: CPU, cores, caches, measured GEMM peaks (BLAS sgemm and the kernels' own
packed GEMM) and triad bandwidth (roofline data)."""

from __future__ import annotations

import json
import sys

from lstm_energy.errors import ConfigError

NAME = "machine"
HELP = "CPU, caches, measured peak GFLOP/s and memory bandwidth"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the profile as JSON: the figures as cached (stable for one machine until re-measured) plus "
        "two run-specific blocks, `cache: {hit, path}` (whether this run read the figures from the cache, and "
        "where) and `hardware_counters` (probed now); drop those two to compare profiles",
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="measure again instead of using the figures cached for this machine's fingerprint",
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="where profiles are cached (default: $XDG_CACHE_HOME/lstm_energy or ~/.cache/lstm_energy)",
    )


def _size(nbytes: int) -> str:
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= factor and nbytes % factor == 0:
            return f"{nbytes // factor} {unit}"
    return f"{nbytes} B"


def _best_median(entry: dict | None, key: str, scale: float = 1.0) -> str:
    """'121.61 / 117.86' from an entry's best_KEY and median_KEY (divided by scale); blanks when absent."""
    if entry is None:
        return " " * 16
    return f"{entry[f'best_{key}'] / scale:7.2f} / {entry[f'median_{key}'] / scale:<7.2f}"


def _threads_line(sgemm: dict, profile: dict) -> str:
    """One thread count's row of the figures table."""
    threads = sgemm["threads"]
    kernel = next((k for k in profile.get("kernel_gemm_gflops") or [] if k["threads"] == threads), None)
    triad = next((b for b in profile["bandwidth"] if b["threads"] == threads), None)
    roof = next((r for r in profile["roofline"] if r["threads"] == threads), None)
    ridge = f"{roof['ridge_flop_per_byte']:8.2f}" if roof else " " * 8
    source = roof.get("peak_source", "sgemm (profile without the kernel GEMM)") if roof else ""
    return (
        f"{threads:>7}  {_best_median(sgemm, 'gflops')}  {_best_median(kernel, 'gflops')}     "
        f"{_best_median(triad, 'bytes_per_second', 1e9)}  {ridge}   {source}"
    )


def slower_with_more_threads(profile: dict) -> list[str]:
    """One line per GEMM whose best figure with more threads is below its 1-thread figure: the cores are
    shared (SMT siblings, a virtual machine's vCPUs on busy host cores) or busy, and the many-thread roof
    then sits below the 1-thread one."""
    lines = []
    for name, key in (("sgemm", "peak_gflops"), ("kernel GEMM", "kernel_gemm_gflops")):
        by_threads = {e["threads"]: e["best_gflops"] for e in profile.get(key) or []}
        one = by_threads.get(1)
        if one is None:
            continue
        for threads, gflops in sorted(by_threads.items()):
            if threads > 1 and gflops < one:
                lines.append(
                    f"note: {name} with {threads} threads ({gflops:.1f} GFLOP/s) is slower than with 1 "
                    f"({one:.1f}): the cores are shared or busy, so the {threads}-thread roof sits below the "
                    "1-thread one; re-measure on a quiet machine with `--refresh`"
                )
    return lines


def format_profile(profile: dict) -> str:
    """Human-readable profile: facts first, then every measured figure with its source."""
    m = profile["machine"]
    cache = profile.get("cache", {})
    origin = (
        f"cached {profile['measured_at']} ({cache.get('path')}; --refresh to re-measure)"
        if cache.get("hit")
        else f"measured now, {profile['measured_at']} (saved to {cache.get('path')})"
    )
    lines = [
        f"CPU          {m['cpu_model']} ({m['machine']}), {m['cores']} usable core(s)",
        "caches       "
        + ", ".join(f"{name} {_size(size)}" for name, size in m["caches"]["named"].items())
        + f"   [{m['caches']['source']}]",
        f"BLAS         {m['blas']['label']}   [{m['blas']['filepath']}]",
        f"kernel       {m['kernel']}",
        f"fingerprint  {profile['fingerprint']}   figures: {origin}",
        "",
        "threads  sgemm GFLOP/s     kernel GEMM GFLOP/s  triad GB/s        ridge      compute roof",
        "         (best / median)   (best / median)      (best / median)   FLOP/byte",
    ]
    lines += [_threads_line(p, profile) for p in profile["peak_gflops"]]
    lines += slower_with_more_threads(profile)
    if not profile.get("kernel_gemm_gflops"):
        reason = profile.get("kernel_gemm_unavailable") or "this profile predates it; --refresh to measure it"
        lines.append(f"kernel GEMM  not measured: {reason}")
    lines.append("")
    lines.append("sources:")
    for entry in profile["peak_gflops"] + (profile.get("kernel_gemm_gflops") or []) + profile["bandwidth"]:
        lines.append(f"  {entry['source']}")
    lines.append("  compute roof = the faster of the two GEMMs; ridge = its FLOP/s / best triad bytes/s, same threads")
    for counter in profile.get("hardware_counters", []):
        state = "available" if counter["available"] else "UNAVAILABLE"
        lines.append(f"{counter['name']}: {state}: {counter['reason']}")
        if counter["fix"]:
            lines.append(f"  fix: {counter['fix']}")
    return "\n".join(lines)


def run(args) -> int:
    from lstm_energy.machine import machine_profile
    from lstm_energy.perf import hardware_counters as hwcounters

    try:
        profile = machine_profile(refresh=args.refresh, directory=args.cache_dir)
    except ConfigError as err:  # an unusable --cache-dir: bad usage
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    # probed now, never cached: whether perf_event_open works can change with permissions
    profile["hardware_counters"] = [a.as_dict() for a in hwcounters.probe()]
    if args.json:
        print(json.dumps(profile, indent=1, sort_keys=True))
    else:
        print(format_profile(profile))
    return 0
