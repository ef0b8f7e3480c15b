"""Measured machine peaks for the roofline: from ``lstm-energy machine --json`` output, or from this
host's cached machine profile when the results were measured on this same host.

Whose peaks: a profile is used only under records of the machine it measured, compared on what both
carry (hostname, machine id, cpuid vendor/family/model, the kernels' path; never the CPU model name alone,
which is "AMD EPYC" on Zen 3, 4 and 5 alike). Otherwise the roofline has no roofs, and a note says which
profile was left out and why (``MachineChoice.note``).

A roof is (threads, peak GFLOP/s, peak GB/s) measured with that many threads, and what measured the
compute peak: the faster of SciPy's BLAS sgemm and the kernels' own packed GEMM (``peak_source``).
Profiles written before the kernels' GEMM was measured carry the sgemm figure only; their roofs say
so. Nothing here measures; without data the roofline says the peaks are missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstm_energy.machine.identity import record_cpu

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


#: what the roofline needs, for the messages below
_ROOFLINE_FILE = "the output of `lstm-energy machine --json`"


def _dict(value) -> dict:
    """``value`` when it is a dict, else {} (records and profiles from hand edits or other tools)."""
    return value if isinstance(value, dict) else {}


def _cpu_of(record: dict) -> tuple | None:
    """(vendor, family, model) of the CPU that made ``record`` (lstm_energy.machine.identity.record_cpu);
    None when the record carries no cpuid identity."""
    cpu = record_cpu(record)
    return None if cpu is None else (cpu["vendor"], cpu["family"], cpu["model"])


def _cpu_text(cpu: tuple) -> str:
    vendor, family, model = cpu
    return f"{vendor or '?'} cpuid family {family} model {model}"


def records_identity(records: list[dict]) -> dict[str, set]:
    """What the records say about the machine that measured them, per field (each a set of values):
    hostname, machine_id, cpuid (vendor, family, model), kernel path (isa) and CPU model name."""
    found: dict[str, set] = {"hostname": set(), "machine_id": set(), "cpuid": set(), "isa": set(), "cpu_model": set()}
    for record in records:
        env = _dict(record.get("environment"))
        host = _dict(record.get("host"))
        values = {
            "hostname": host.get("hostname") or env.get("hostname"),
            "machine_id": host.get("machine_id") or env.get("machine_id"),
            "cpuid": _cpu_of(record),
            "isa": env.get("isa"),
            "cpu_model": env.get("cpu_model"),
        }
        for key, value in values.items():
            if value is not None:
                found[key].add(value)
    return found


def profile_identity(profile: dict) -> dict:
    """What a machine profile says about the machine it measured: its ``identity`` block (hostname,
    machine_id, cpu; written since profiles recorded it), the kernel path its packed GEMM ran and the CPU
    model name. Fields it does not carry are absent."""
    ident = _dict(profile.get("identity"))
    machine = _dict(profile.get("machine"))
    cpu = _dict(ident.get("cpu"))
    kernels = profile.get("kernel_gemm_gflops") or []
    isa = kernels[0].get("isa") if kernels and isinstance(kernels[0], dict) else None
    values = {
        "hostname": ident.get("hostname"),
        "machine_id": ident.get("machine_id"),
        "cpuid": (cpu.get("vendor"), cpu.get("family"), cpu.get("model")) if cpu.get("family") is not None else None,
        "isa": isa,
        "cpu_model": machine.get("cpu_model"),
    }
    return {k: v for k, v in values.items() if v is not None}


_FIELD_NAMES = {
    "hostname": "host",
    "machine_id": "machine id",
    "cpuid": "CPU",
    "isa": "kernel path",
    "cpu_model": "CPU model",
}


def _show(key: str, value) -> str:
    return _cpu_text(value) if key == "cpuid" else str(value)


def _differences(records: list[dict], identity: dict) -> tuple[list[str], list[str]]:
    """(how the records and ``identity`` differ, the fields compared): every field both carry."""
    seen = records_identity(records)
    differences, compared = [], []
    for key, name in _FIELD_NAMES.items():
        if key not in identity or not seen[key]:
            continue
        compared.append(key)
        if seen[key] != {identity[key]}:
            theirs = ", ".join(sorted(_show(key, v) for v in seen[key]))
            differences.append(f"{name} {theirs} in the records, {_show(key, identity[key])} in the profile")
    return differences, compared


def _only_the_kernel_path_differs(records: list[dict], identity: dict) -> bool:
    """The same machine, but the records ran the kernels on another path (LSTM_ENERGY_ISA) than the
    profile measured: its kernel GEMM peak is not their roof, yet "another machine" would be false."""
    differences, _ = _differences(records, identity)
    machine_only = {k: v for k, v in identity.items() if k != "isa"}
    return bool(differences) and not _differences(records, machine_only)[0]


def mismatch_reason(records: list[dict], identity: dict, *, other: str) -> str | None:
    """Why a profile of ``identity`` gives no roofs under ``records`` (``identity_mismatch``), worded for
    the page: "``other``" (e.g. "the records were not measured on this host") when the machine differs,
    the kernel path and how to measure it when only that differs; None when they match."""
    mismatch = identity_mismatch(records, identity)
    if mismatch is None:
        return None
    if _only_the_kernel_path_differs(records, identity):
        paths = sorted(records_identity(records)["isa"])
        return (
            f"the records ran the kernels on another path than the profile measured ({mismatch}), so its kernel "
            f"GEMM peak is not their roof; `LSTM_ENERGY_ISA={paths[0]} lstm-energy machine --refresh` measures that path"
        )
    return f"{other} ({mismatch})"


def identity_mismatch(records: list[dict], identity: dict) -> str | None:
    """Why ``identity`` (a machine's, see ``profile_identity``) is not known to be the machine the records
    were measured on, compared on every field both carry; None when they match.

    The CPU model name alone ("AMD EPYC" on Zen 3, 4 and 5 alike) is not enough: the host, the machine id
    or the cpuid family/model must be on both sides."""
    if not records:
        return "there are no records to match it to"
    differences, compared = _differences(records, identity)
    if differences:
        return "; ".join(differences)
    if not {"hostname", "machine_id", "cpuid"} & set(compared):
        return (
            "neither side says which host or cpuid family/model it is (the CPU model name alone does not tell "
            "Zen 3, 4 and 5 apart)"
        )
    return None


@dataclass(frozen=True)
class MachineChoice:
    """The machine profile the roofline uses (None: none), where it came from, and why one was not used."""

    profile: dict | None
    source: str
    note: str | None = None

    def roofs(self) -> Roofs | None:
        return roofs_from_profile(self.profile, self.source) if self.profile is not None else None


def _missing(what: str, why: str) -> str:
    return (
        f"Roofline: {what} was not used, so no roofs are drawn: {why}. Run `lstm-energy machine --json > "
        "machine.json` on the machine that measured the records and pass `--machine machine.json`."
    )


def this_host_identity() -> dict:
    """This host's identity as a profile would record it, with the kernels' path now."""
    from lstm_energy.machine.identity import profile_identity as read_identity
    from lstm_energy.machine.info import machine_info
    from lstm_energy.machine.peak import kernel_gemm_isa

    ident = read_identity()
    cpu = ident["cpu"]
    values = {
        "hostname": ident.get("hostname"),
        "machine_id": ident.get("machine_id"),
        "cpuid": (cpu.get("vendor"), cpu.get("family"), cpu.get("model")) if cpu.get("family") is not None else None,
        "isa": kernel_gemm_isa(),
        "cpu_model": machine_info().cpu_model,
    }
    return {k: v for k, v in values.items() if v is not None}


def cached_choice(
    records: list[dict],
    *,
    directory=None,
    host: dict | None = None,
    fingerprint: str | None = None,
    build: str | None = None,
) -> MachineChoice:
    """This host's cached ``lstm-energy machine`` profile, when the records were measured on this host
    (hostname, machine id, cpuid family/model and kernel path, on whatever the records carry) and the
    profile is of the kernels built now; else no profile, with the reason in ``note``.

    Never measures (a missing cache stays missing). host / fingerprint / build: this host's identity
    (``this_host_identity``), machine fingerprint and kernel build (``peak.kernel_build``), read when None.
    A profile of an older schema is used (its source names its date; its roofs say what they lack).
    """
    from lstm_energy.machine.cache import load_profile, profile_path

    what = "this host's cached `lstm-energy machine` profile"
    if not records:
        return MachineChoice(None, what)
    try:
        if fingerprint is None:
            from lstm_energy.machine import machine_info

            fingerprint = machine_info().fingerprint
        profile = load_profile(fingerprint, directory, accept_older=True)
        if profile is None:
            return MachineChoice(None, what)
        here = dict(host if host is not None else this_host_identity())
        # a profile written before it recorded who measured it: it is this host's (found under this
        # host's fingerprint, in this host's cache)
        identity = {**here, **profile_identity(profile)}
        if build is None:
            from lstm_energy.machine.peak import kernel_build

            build = kernel_build()
    except Exception as err:  # noqa: BLE001 - optional enrichment; the roofline then says the peaks are missing
        return MachineChoice(None, what, _missing(what, f"it could not be read ({type(err).__name__}: {err})"))
    path = profile_path(fingerprint, directory)
    when = profile.get("measured_at") or "at an unrecorded time"
    named = f"{what} ({path}, measured {when})"
    mismatch = mismatch_reason(records, identity, other="the records were not measured on this host")
    if mismatch:
        return MachineChoice(None, named, _missing(named, mismatch))
    cached_build = profile.get("kernel_build")
    if profile.get("kernel_gemm_gflops") and cached_build is not None and cached_build != build:
        return MachineChoice(
            None,
            named,
            _missing(
                named,
                f"its kernel GEMM peak was measured on another build of the kernels ({cached_build}; now {build}); "
                "`lstm-energy machine --refresh` measures this build",
            ),
        )
    source = f"{what} ({path})" + (f", kernels build {cached_build}" if cached_build else "")
    return MachineChoice(profile, source)


def cached_roofs_for(records: list[dict]) -> Roofs | None:
    """This host's cached ``lstm-energy machine`` roofs, when the records were measured on this host
    (``cached_choice``); None otherwise. Never raises."""
    try:
        return cached_choice(records).roofs()
    except Exception:  # noqa: BLE001 - optional enrichment; the roofline then says the peaks are missing
        return None


def explicit_choice(records: list[dict], profile: dict, source: str) -> MachineChoice:
    """A ``--machine`` file's profile, unless it says it was measured on another machine than the records
    (compared on what both carry; a hand-written peaks file without a ``machine`` or ``identity`` block is
    taken at its word)."""
    identity = profile_identity(profile)
    differences, _ = _differences(records, identity) if records else ([], [])
    if differences:  # only a difference refuses the file: the user chose it, so "cannot tell" is no reason
        why = mismatch_reason(records, identity, other="it was measured on another machine than the records")
        return MachineChoice(None, source, _missing(source, why or "; ".join(differences)))
    return MachineChoice(profile, source)


def looks_like(document) -> str:
    """What a JSON document that is not a machine profile appears to be, for an error message."""
    if isinstance(document, dict):
        keys = set(document)
        if {"backends", "auto"} <= keys:
            return "`lstm-energy meters --json` output"
        if {"pairs", "threshold"} <= keys or "regressed" in keys:
            return "`lstm-energy compare --json` output"
        if "benchmarks" in keys and "machine_info" in keys:
            return "a pytest-benchmark JSON file"
        if "schema_version" in keys and "kind" in keys:
            return f"one results record (kind {document.get('kind')!r}), as `lstm-energy sweep` writes"
        if "fingerprint" in keys and "machine" in keys:
            return "an `lstm-energy machine` profile without roofline points (no GEMM peak with a bandwidth)"
        shown = ", ".join(sorted(map(str, keys))[:6]) + (", …" if len(keys) > 6 else "")
        return f"a JSON object with keys {shown}" if keys else "an empty JSON object"
    return f"a JSON {type(document).__name__}, not an object"


def machine_file_problem(document, path: str) -> str | None:
    """Why ``document`` (a parsed ``--machine`` file) holds no roofs; None when it holds some."""
    if isinstance(document, dict) and roofs_from_profile(document, path) is not None:
        return None
    return f"--machine {path} holds no roofline/peak figures (it looks like {looks_like(document)})"
