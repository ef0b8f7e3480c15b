"""Records -> report rows: one flat, unit-named row per configuration, derived figures filled in.

The report never reads nested records directly; it reads ``Row``s. Records measuring the same
configuration with the same meter (a sweep re-run, two files) are merged into one row: medians of
their medians, the widest CI, ``runs`` counting them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Protocol

from lstm_energy.config import IMPLS, PHASES, PRECISIONS
from lstm_energy.records import arithmetic_intensity, derived_figures
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


def _ci(block: dict | None, key: str) -> tuple[float, float] | None:
    value = (block or {}).get(key)
    if isinstance(value, dict):
        low, high = finite(value.get("ci95_low")), finite(value.get("ci95_high"))
        if low is not None and high is not None:
            return (low, high)
    return None


#: the dead-counter signature, in words (a counter that reads 0 J forever; typical of virtual machines)
DEAD_COUNTER = "marked measured but the counter did not count (0 J per sequence or an idle power of 0 W)"


def suspect_reasons(
    provenance: str, *, total_joules: float | None, joules_per_call: float | None, idle_watts: float | None
) -> list[str]:
    """Why a record's energy is not a measurement although it says so; [] when it looks sound.

    The one place that decides: a "measured" record whose total (idle included) energy is <= 0, or
    (when no total is recorded) whose energy per call is exactly 0, or whose idle power is 0 W, came
    from a counter that did not count. A real package draws watts even when idle.
    """
    if provenance != "measured":
        return []
    dead_total = total_joules is not None and total_joules <= 0
    dead_call = total_joules is None and joules_per_call == 0
    dead_idle = idle_watts is not None and idle_watts == 0
    return [DEAD_COUNTER] if dead_total or dead_call or dead_idle else []


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


def row_from_record(record: dict) -> Row:
    """Flatten one validated record; derive what the record leaves out (GFLOP/s, W, pJ/FLOP, ...)."""
    config = record.get("config") or {}
    energy = record.get("energy") or {}
    time_block = record.get("time") or {}
    costs = record.get("costs") or {}
    derived = record.get("derived") or {}
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
        moved = finite(bytes_block.get("expected")) or finite(bytes_block.get("compulsory"))
    else:
        moved = finite(bytes_block)
    intensity = finite(costs.get("arithmetic_intensity_flop_per_byte")) or arithmetic_intensity(flops, moved)
    # a figure the record lacks (or left null) is derived from the medians it has, the way records derive it
    fallback = derived_figures(s_call, j_call, flops, moved)
    figures = {name: finite(derived.get(name)) or fallback[name] for name in fallback}
    benchmark = record.get("benchmark") or {}
    provenance = energy.get("provenance", "unknown")
    total = _stat(energy, "total_joules_per_sequence")
    idle_watts = finite(energy.get("idle_watts"))
    warnings = [str(w) for w in record.get("warnings") or []]
    suspect = suspect_reasons(provenance, total_joules=total, joules_per_call=j_call, idle_watts=idle_watts)
    ci = _ci(energy, "joules_per_sequence")
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
        headline_domains=tuple(energy.get("headline_domains") or ()),
        warnings=warnings,
        idle_watts=idle_watts,
        suspect=suspect,
        unresolved=unresolved_above_idle(warnings, j_seq if j_seq is not None else j_call, ci, suspect=bool(suspect)),
    )


def _merge(rows: list[Row]) -> Row:
    """Several measurements of one configuration and meter -> one row of medians."""
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
        "gflops_per_second",
        "watts",
        "pj_per_flop",
        "nj_per_byte",
        "idle_watts",
    )
    for name in numeric:
        values = [getattr(r, name) for r in rows if getattr(r, name) is not None]
        setattr(merged, name, statistics.median(values) if values else None)
    cis = [r.joules_per_sequence_ci for r in rows if r.joules_per_sequence_ci]
    merged.joules_per_sequence_ci = (min(c[0] for c in cis), max(c[1] for c in cis)) if cis else None
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


def build_rows(records: list[dict]) -> list[Row]:
    """Rows of the profile and benchmark records, duplicates merged, sorted for reading."""
    groups: dict[tuple, list[Row]] = {}
    for record in records:
        if record.get("kind") not in ("profile", "benchmark"):
            continue
        row = row_from_record(record)
        # a suspect record (dead counter) never merges with a sound one: its zeros would drag the median
        key = (
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
