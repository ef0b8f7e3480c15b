"""Records -> report rows: one flat, unit-named row per configuration, derived figures filled in.

The report never reads nested records directly; it reads ``Row``s. Records measuring the same
configuration with the same meter on the same host and CPU (a sweep re-run, two files) are merged into
one row: medians of their medians, the range their CIs span (shown as such, not as a CI), ``runs``
counting them. Records from different hosts or CPUs are never merged: one machine's joules are not
another's.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Protocol

from lstm_energy.config import IMPLS, PHASES, PRECISIONS
from lstm_energy.machine.identity import record_cpu
from lstm_energy.meters.liveness import BUSY_FLOOR_WATTS, CEILING_WATTS, IDLE_FLOOR_WATTS
from lstm_energy.records import arithmetic_intensity, derived_figures
from lstm_energy.report.units import si
from lstm_energy.results import finite

#: the order implementations appear in tables and legends
IMPL_ORDER = IMPLS  # the order implementations are shown in: ours, the reference, the peer


class ProvenanceRow(Protocol):
    """What the provenance banners and captions read of a row: a ``Row``, or any object with these (the
    forecast page passes one per trial). They read ``suspect``, ``joules_per_sequence`` and
    ``joules_per_call`` too when present."""

    provenance: str
    meter: dict


@dataclass
class Row:
    """One configuration's figures. Energies are dynamic (idle subtracted) unless named ``total``."""

    kind: str  # "profile" (a sweep point) or "benchmark" (a pytest-benchmark test)
    label: str  # benchmark name, or "" for profile rows
    cell: str | None
    phase: str | None
    impl: str | None
    batch: int | None
    seq_len: int | None
    input_size: int | None
    hidden_size: int | None
    num_layers: int | None
    bidirectional: bool | None
    threads: int | None
    dtype: str | None
    provenance: str
    meter: dict
    joules_per_call: float | None
    joules_per_sequence: float | None
    joules_per_sequence_ci: tuple[float, float] | None
    total_joules_per_sequence: float | None
    seconds_per_call: float | None
    seconds_per_sequence: float | None
    flops: float | None
    bytes: float | None
    intensity: float | None  # FLOP per byte (expected traffic)
    gflops_per_second: float | None
    watts: float | None
    pj_per_flop: float | None
    nj_per_byte: float | None
    domains_joules_per_call: dict = field(default_factory=dict)
    headline_domains: tuple = ()
    warnings: list = field(default_factory=list)
    runs: int = 1
    idle_watts: float | None = None
    #: why this row's energy cannot be trusted (reader-facing sentences; empty when nothing is wrong)
    suspect: list = field(default_factory=list)
    #: arithmetic of the forward (issue 18): "fp32" | "bf16" | "int8"; records without it are fp32
    precision: str = "fp32"
    #: the dynamic energy (work minus the idle baseline) is not resolved above idle: its figures are noise
    unresolved: bool = False
    #: interquartile range (q1, q3) of the windows' joules per sequence
    joules_per_sequence_iqr: tuple[float, float] | None = None
    #: the host and CPU that made the figures (``host_of``): its key keeps machines apart, its label names it
    host_key: str = ""
    host: str = ""

    @property
    def meter_name(self) -> str:
        return str(self.meter.get("name") or self.meter.get("meter") or "unknown meter")

    @property
    def shape_text(self) -> str:
        """``B=8 T=16 D=32 H=64`` (plus ``L=2``, ``bi``, ``t=2`` when not the default)."""
        if self.batch is None:
            return ""
        text = f"B={self.batch} T={self.seq_len} D={self.input_size} H={self.hidden_size}"
        if self.num_layers and self.num_layers != 1:
            text += f" L={self.num_layers}"
        if self.bidirectional:
            text += " bi"
        if self.threads and self.threads != 1:
            text += f" t={self.threads}"
        return text

    def name(self, *, with_precision: bool = False) -> str:
        """How the page names this row: the benchmark's name, else ``lstm forward cython B=8 T=16 D=32 H=64``;
        `` bf16`` appended when ``with_precision`` (rows of several precisions share everything else)."""
        base = self.label or " ".join(str(part) for part in (self.cell, self.phase, self.impl, self.shape_text) if part)
        return f"{base} {self.precision}" if with_precision else base

    def shape_key(self) -> tuple:
        return (
            self.batch,
            self.seq_len,
            self.input_size,
            self.hidden_size,
            self.num_layers,
            self.bidirectional,
            self.threads,
            self.dtype,
        )


def _stat(block: dict | None, key: str) -> float | None:
    value = (block or {}).get(key)
    if isinstance(value, dict):
        return finite(value.get("median"))
    return finite(value)


def _interval(
    block: dict | None, key: str, ends: tuple[str, str] = ("ci95_low", "ci95_high")
) -> tuple[float, float] | None:
    """The (low, high) pair a statistics block stores under ``ends`` (the 95% CI, or ``("q1", "q3")``)."""
    value = (block or {}).get(key)
    if isinstance(value, dict):
        low, high = finite(value.get(ends[0])), finite(value.get(ends[1]))
        if low is not None and high is not None:
            return (low, high)
    return None


#: the dead-counter signature, in words (a counter that reads 0 J forever; typical of virtual machines)
DEAD_COUNTER = "marked measured but the counter did not count (0 J per sequence or an idle power of 0 W)"


#: how every implausible-power reason begins (the banner and the provenance cell tell it from a dead counter)
IMPLAUSIBLE_POWER = "implausible power"
#: the plausible range in words, from the liveness bounds (the lowest floor, the ceiling)
PLAUSIBLE_POWER_TEXT = (
    f"idle and dynamic power {si(IDLE_FLOOR_WATTS, 'W', trim=True)} to {si(CEILING_WATTS, 'W', trim=True)}, "
    f"total power {si(BUSY_FLOOR_WATTS, 'W', trim=True)} to {si(CEILING_WATTS, 'W', trim=True)}, "
    "per package (per vCPU for an estimate)"
)


def suspect_reasons(
    provenance: str,
    *,
    total_joules: float | None,
    joules_per_call: float | None,
    idle_watts: float | None,
    watts: float | None = None,
    total_watts: float | None = None,
    power_units: int = 1,
    resolved: bool = True,
) -> list[str]:
    """Why a record's energy is not a result although it says so; [] when it looks sound.

    The one place that decides. A "measured" record whose total (idle included) energy is <= 0, or
    (when no total is recorded) whose energy per call is exactly 0, or whose idle power is 0 W, came
    from a counter that did not count: a real package draws watts even when idle. Otherwise a measured
    or estimated figure must imply a power a CPU can draw (``implausible_power``).
    """
    if provenance == "measured":
        dead_total = total_joules is not None and total_joules <= 0
        dead_call = total_joules is None and joules_per_call == 0
        dead_idle = idle_watts is not None and idle_watts == 0
        if dead_total or dead_call or dead_idle:
            return [DEAD_COUNTER]
    if provenance not in ("measured", "estimated"):
        return []  # simulated figures are test data: no physical claim to check
    return implausible_power(
        watts=watts if resolved else None,
        idle_watts=idle_watts,
        total_watts=total_watts,
        power_units=power_units,
    )


def implausible_power(
    *, watts: float | None, idle_watts: float | None, total_watts: float | None, power_units: int = 1
) -> list[str]:
    """Reasons a row's powers fall outside what a CPU can draw; [] when they fit.

    The bounds are the ones every measured counter is held to while it measures
    (``lstm_energy.meters.liveness``): a reading outside them is a unit error, a missed wrap or a
    hand-edited record, never a result. The report also reads files from other writers and older
    versions, so it checks again. The ceiling is per ``power_units``: the headline domains a measured
    figure sums (several packages), or the vCPUs an estimate prices (no vCPU draws a package's ceiling,
    so a large host's estimate is never flagged for its size). The work window's total power has the
    busy floor, the idle power and the dynamic power (work minus idle) the idle floor. ``watts`` is None when the dynamic energy is not resolved above idle (its noise
    may be any size).
    """
    ceiling = CEILING_WATTS * max(1, power_units)
    checks = (
        ("dynamic power", watts, IDLE_FLOOR_WATTS),
        ("idle power", idle_watts, IDLE_FLOOR_WATTS),
        ("total power", total_watts, BUSY_FLOOR_WATTS),
    )
    reasons = [
        f"{IMPLAUSIBLE_POWER}: {what} {si(value, 'W')} is outside {si(floor, 'W', trim=True)} – {si(ceiling, 'W', trim=True)}, what a "
        "CPU package can draw (a unit error, a missed counter wrap or an edited record, not a result)"
        for what, value, floor in checks
        # zero and negative dynamic figures have their own verdicts ("not resolved above idle", the charts'
        # "0 J or less"), a measured 0 W idle is a dead counter: this check is about figures of the wrong size
        if value is not None and value > 0 and not floor <= value <= ceiling
    ]
    # an idle power below zero is no figure of any size: energy counters and models only add joules
    if idle_watts is not None and idle_watts < 0:
        reasons.append(
            f"{IMPLAUSIBLE_POWER}: idle power {si(idle_watts, 'W')} is below zero (a missed counter wrap or an edited record)"
        )
    return reasons


#: how the measurement protocol's warning begins when the 95% CI of the dynamic energy reaches zero
#: (lstm_energy.measure.checks.dynamic_resolution_warning): the record's own verdict
UNRESOLVED_WARNING = "dynamic energy not resolved above idle"

#: what the report shows instead of an unresolved row's dynamic-energy figures
UNRESOLVED_TEXT = "not resolved above idle"


def unresolved_above_idle(
    warnings: list[str], joules: float | None, ci: tuple[float, float] | None, *, suspect: bool
) -> bool:
    """Whether a row's dynamic energy (work minus the idle baseline) is not resolved above idle.

    The record's protocol warning decides when present. Records written without that check (older
    files, other writers) are judged by their figures: a negative median or 95% CI low end. A suspect
    row (a counter that did not count) is explained by its own note instead, so it is never "unresolved".
    """
    if suspect:
        return False
    if any(w.startswith(UNRESOLVED_WARNING) for w in warnings):
        return True
    return (joules is not None and joules < 0) or (ci is not None and ci[0] < 0)


def several_precisions(rows: list[Row]) -> bool:
    """Whether ``rows`` hold more than one precision (then a row's name must say which it is)."""
    return len({r.precision for r in rows}) > 1


def _threads(record: dict) -> int | None:
    """The config's thread count; for a benchmark that did not declare one, the BLAS threads it ran under."""
    threads = (record.get("config") or {}).get("threads")
    if threads is None and record.get("kind") == "benchmark":
        threads = (record.get("environment") or {}).get("blas_threads")
    return threads if isinstance(threads, int) and not isinstance(threads, bool) else None


def host_of(record: dict) -> dict:
    """``{"key", "hostname", "cpu", "microarchitecture", "package", "machine_id", "source"}`` of a record.

    The key tells machines apart: records with equal keys may be merged into one row, records with
    different keys never are. A fleet sweep's ``host`` block names the machine and package. Other records
    carry ``environment``: its hostname, machine_id and cpuid ``cpu`` (recorded since 2026-12-08, whatever
    the meter) make the key; ``cpu_model`` alone ("AMD EPYC") is the same on Zen 3, 4 and 5, so for older
    records the estimator's cpuid identification names the CPU when it has one (record_cpu).
    """
    host = record.get("host")
    env = record.get("environment") or {}
    if isinstance(host, dict):
        cpu = host.get("cpu") or {}
        cpu_text = f"{cpu.get('vendor')} family {cpu.get('family')} model {cpu.get('model')}"
        if cpu.get("model_name"):
            cpu_text += f" ({cpu['model_name']})"
        return {
            "key": f"{host.get('machine_id')}/{host.get('package')}",
            "hostname": host.get("hostname"),
            "cpu": cpu_text,
            "microarchitecture": cpu.get("microarchitecture") or "unknown microarchitecture",
            "package": host.get("package"),
            "machine_id": host.get("machine_id"),
            "source": host.get("source"),
        }
    cpuid = record_cpu(record)
    model_name = env.get("cpu_model") or "unknown CPU"
    if cpuid:
        cpu_text = f"{cpuid.get('vendor')} family {cpuid.get('family')} model {cpuid.get('model')} ({model_name})"
        microarchitecture = cpuid.get("microarchitecture") or model_name
    else:
        cpu_text = microarchitecture = model_name
    return {
        "key": f"hostname:{env.get('hostname')}/machine:{env.get('machine_id')}/cpu:{cpu_text}",
        "hostname": env.get("hostname"),
        "cpu": cpu_text,
        "microarchitecture": microarchitecture,
        "package": None,
        "machine_id": env.get("machine_id"),
        "source": "environment block (record made without a host block)"
        + (f"; CPU from {cpuid['source']}" if cpuid and cpuid["source"] != "environment block" else ""),
    }


def row_from_record(record: dict) -> Row:
    """Flatten one validated record; derive what the record leaves out (GFLOP/s, W, pJ/FLOP, ...)."""
    config = record.get("config") or {}
    energy = record.get("energy") or {}
    time_block = record.get("time") or {}
    costs = record.get("costs") or {}
    batch = config.get("batch")
    j_call = _stat(energy, "joules_per_call")
    j_seq = _stat(energy, "joules_per_sequence")
    if j_seq is None and j_call is not None and batch:
        j_seq = j_call / batch
    s_call = _stat(time_block, "seconds_per_call")
    s_seq = finite(time_block.get("seconds_per_sequence"))
    if s_seq is None and s_call is not None and batch:
        s_seq = s_call / batch
    flops = (
        finite((costs.get("flops") or {}).get("total"))
        if isinstance(costs.get("flops"), dict)
        else finite(costs.get("flops"))
    )
    bytes_block = costs.get("bytes")
    moved = None
    if isinstance(bytes_block, dict):
        moved = _first_finite(bytes_block.get("expected"), bytes_block.get("compulsory"))
    else:
        moved = finite(bytes_block)
    # "is not None", not "or": a legitimate 0.0 is a figure, not a missing one
    intensity = _first_finite(costs.get("arithmetic_intensity_flop_per_byte"), arithmetic_intensity(flops, moved))
    # derived figures come from the medians the row shows (never the record's stored ``derived`` block, which
    # an edited or foreign record may contradict), and are blank when those are missing
    figures = derived_figures(s_call, j_call, flops, moved)
    benchmark = record.get("benchmark") or {}
    provenance = energy.get("provenance", "unknown")
    total = _stat(energy, "total_joules_per_sequence")
    idle_watts = finite(energy.get("idle_watts"))
    warnings = [str(w) for w in record.get("warnings") or []]
    ci = _interval(energy, "joules_per_sequence")
    headline = tuple(energy.get("headline_domains") or ())
    suspect = suspect_reasons(
        provenance,
        total_joules=total,
        joules_per_call=j_call,
        idle_watts=idle_watts,
        watts=figures["watts"],
        total_watts=_ratio(total, s_seq),
        power_units=_power_units(provenance, energy, headline),
        resolved=not unresolved_above_idle(warnings, j_seq if j_seq is not None else j_call, ci, suspect=False),
    )
    host = host_of(record)
    return Row(
        kind=record.get("kind", "profile"),
        label=str(benchmark.get("fullname") or benchmark.get("name") or record.get("name") or ""),
        cell=config.get("cell"),
        phase=config.get("phase"),
        impl=config.get("impl"),
        batch=batch,
        seq_len=config.get("seq_len"),
        input_size=config.get("input_size"),
        hidden_size=config.get("hidden_size"),
        num_layers=config.get("num_layers", 1 if config else None),
        bidirectional=config.get("bidirectional", False if config else None),
        threads=_threads(record),
        dtype=config.get("dtype"),
        precision=config.get("precision") or "fp32",
        provenance=provenance,
        meter=energy.get("meter") or {},
        joules_per_call=j_call,
        joules_per_sequence=j_seq,
        joules_per_sequence_ci=ci,
        total_joules_per_sequence=total,
        seconds_per_call=s_call,
        seconds_per_sequence=s_seq,
        flops=flops,
        bytes=moved,
        intensity=intensity,
        gflops_per_second=figures["gflops_per_second"],
        watts=figures["watts"],
        pj_per_flop=figures["pj_per_flop"],
        nj_per_byte=figures["nj_per_byte"],
        domains_joules_per_call={
            k: v for k, v in (energy.get("domains_joules_per_call") or {}).items() if finite(v) is not None
        },
        headline_domains=headline,
        warnings=warnings,
        idle_watts=idle_watts,
        suspect=suspect,
        unresolved=unresolved_above_idle(warnings, j_seq if j_seq is not None else j_call, ci, suspect=bool(suspect)),
        joules_per_sequence_iqr=_interval(energy, "joules_per_sequence", ("q1", "q3")),
        host_key=host["key"],
        host=f"{host['hostname'] or 'unknown host'}, {host['microarchitecture']}",
    )


def _power_units(provenance: str, energy: dict, headline: tuple) -> int:
    """How many packages' worth of power a record's figure may sum (see ``implausible_power``)."""
    if provenance == "estimated":
        vcpus = ((energy.get("meter") or {}).get("coefficients") or {}).get("vcpus")
        if isinstance(vcpus, int) and not isinstance(vcpus, bool) and vcpus > 0:
            return vcpus
    return max(1, len(headline))


def _first_finite(*values) -> float | None:
    """The first of ``values`` that is a finite number (0.0 included); None when none is."""
    return next((v for v in map(finite, values) if v is not None), None)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def _merge(rows: list[Row]) -> Row:
    """Several measurements of one configuration and meter on one host -> one row of medians.

    The interval of the merged row is the range the runs' CIs (and IQRs) span, not a CI of the merged
    median: the table says so. The derived figures are recomputed from the merged medians, so W and
    pJ/FLOP agree with the J/call and s/call the row shows."""
    if len(rows) == 1:
        return rows[0]
    first = rows[0]
    merged = Row(**{k: getattr(first, k) for k in first.__dataclass_fields__})
    numeric = (
        "joules_per_call",
        "joules_per_sequence",
        "total_joules_per_sequence",
        "seconds_per_call",
        "seconds_per_sequence",
        "flops",
        "bytes",
        "idle_watts",
    )
    for name in numeric:
        values = [getattr(r, name) for r in rows if getattr(r, name) is not None]
        setattr(merged, name, statistics.median(values) if values else None)
    for name, value in derived_figures(
        merged.seconds_per_call, merged.joules_per_call, merged.flops, merged.bytes
    ).items():
        setattr(merged, name, value)
    merged.joules_per_sequence_ci = _span([r.joules_per_sequence_ci for r in rows])
    merged.joules_per_sequence_iqr = _span([r.joules_per_sequence_iqr for r in rows])
    domains: dict[str, list[float]] = {}
    for r in rows:
        for k, v in r.domains_joules_per_call.items():
            domains.setdefault(k, []).append(v)
    merged.domains_joules_per_call = {k: statistics.median(v) for k, v in domains.items()}
    merged.warnings = list(dict.fromkeys(w for r in rows for w in r.warnings))
    merged.suspect = list(dict.fromkeys(s for r in rows for s in r.suspect))
    merged.runs = sum(r.runs for r in rows)
    # one unresolved run makes the merged figure unresolved too: the widest CI reaches zero
    merged.unresolved = any(r.unresolved for r in rows)
    return merged


def _span(intervals: list[tuple[float, float] | None]) -> tuple[float, float] | None:
    """The range a list of intervals covers (lowest low, highest high); None when none is known."""
    known = [i for i in intervals if i]
    return (min(i[0] for i in known), max(i[1] for i in known)) if known else None


def build_rows(records: list[dict]) -> list[Row]:
    """Rows of the profile and benchmark records, duplicates merged, sorted for reading."""
    groups: dict[tuple, list[Row]] = {}
    for record in records:
        if record.get("kind") not in ("profile", "benchmark"):
            continue
        row = row_from_record(record)
        # a suspect record (dead counter) never merges with a sound one: its zeros would drag the median;
        # records of different hosts or CPUs never merge: the median of two machines is neither's figure
        key = (
            row.host_key,
            row.kind,
            row.label,
            row.cell,
            row.phase,
            row.impl,
            row.shape_key(),
            row.meter_name,
            row.provenance,
            bool(row.suspect),
            row.precision,
        )
        groups.setdefault(key, []).append(row)
    rows = [_merge(group) for group in groups.values()]
    rows.sort(key=sort_key)
    return rows


def sort_key(row: Row) -> tuple:
    impl_rank = IMPL_ORDER.index(row.impl) if row.impl in IMPL_ORDER else len(IMPL_ORDER)
    phase_rank = PHASES.index(row.phase) if row.phase in PHASES else len(PHASES)
    precision_rank = PRECISIONS.index(row.precision) if row.precision in PRECISIONS else len(PRECISIONS)
    return (
        row.kind != "profile",
        row.label,
        row.cell or "",
        tuple(v if v is not None else -1 for v in row.shape_key()[:4]),
        phase_rank,
        impl_rank,
        precision_rank,
    )
