"""`lstm-energy machine`: CPU, cores, caches, measured sgemm peak and triad bandwidth (roofline data)."""

from __future__ import annotations

import json

NAME = "machine"
HELP = "CPU, caches, measured peak GFLOP/s and memory bandwidth"


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the profile as JSON")
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
        "threads  sgemm GFLOP/s (best / median)   triad GB/s (best / median)   ridge FLOP/byte",
    ]
    bandwidth = {b["threads"]: b for b in profile["bandwidth"]}
    ridge = {r["threads"]: r for r in profile["roofline"]}
    for p in profile["peak_gflops"]:
        b = bandwidth.get(p["threads"])
        bw = f"{b['best_bytes_per_second'] / 1e9:10.2f} / {b['median_bytes_per_second'] / 1e9:<8.2f}" if b else " " * 21
        rp = f"{ridge[p['threads']]['ridge_flop_per_byte']:8.2f}" if p["threads"] in ridge else ""
        lines.append(f"{p['threads']:>7}  {p['best_gflops']:14.2f} / {p['median_gflops']:<14.2f}  {bw}        {rp}")
    lines.append("")
    lines.append("sources:")
    for p in profile["peak_gflops"]:
        lines.append(f"  {p['source']}")
    for b in profile["bandwidth"]:
        lines.append(f"  {b['source']}")
    lines.append("  ridge = best sgemm FLOP/s / best triad bytes/s at the same thread count")
    for counter in profile.get("hardware_counters", []):
        state = "available" if counter["available"] else "UNAVAILABLE"
        lines.append(f"{counter['name']}: {state}: {counter['reason']}")
        if counter["fix"]:
            lines.append(f"  fix: {counter['fix']}")
    return "\n".join(lines)


def run(args) -> int:
    from lstm_energy.machine import machine_profile
    from lstm_energy.perf import hardware_counters as hwcounters

    profile = machine_profile(refresh=args.refresh, directory=args.cache_dir)
    # probed now, never cached: whether perf_event_open works can change with permissions
    profile["hardware_counters"] = [a.as_dict() for a in hwcounters.probe()]
    if args.json:
        print(json.dumps(profile, indent=1, sort_keys=True))
    else:
        print(format_profile(profile))
    return 0
