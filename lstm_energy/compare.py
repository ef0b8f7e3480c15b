"""Energy and time regressions between two sets of results, configuration by configuration.

    from lstm_energy.compare import compare_files
    comparison = compare_files(["base.jsonl"], ["new.jsonl"], threshold=0.05)
    comparison.pairs          # one Pair per configuration found in both (energy and time verdicts)
    comparison.only_base, comparison.only_new, comparison.refusals
    comparison.regressed      # True when any configuration regressed

Records are matched by configuration (cell, phase, impl, shape, layers, direction, dtype, threads; a
benchmark also by its test name) and, when both records carry one, by host (``environment.host``).
Several records of one configuration on one side are merged (median of medians, widest interval).

A verdict uses the 95% confidence intervals: "regression" only when the new figure is more than
``threshold`` above the base AND the two intervals do not overlap (the new lower bound is above the
base upper bound); "improvement" the mirror image; otherwise "same" (within the threshold, or a
change the intervals cannot tell from noise). Measured and estimated figures, or figures from
different CPU models, are refused unless explicitly allowed: their ratio says nothing about the code.
A pair allowed across provenances is labelled "mixed" (with each side's provenance) in text and JSON.
Simulated figures (a test double's) are compared only with simulated ones; no flag allows more.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field

from lstm_energy.config import RECORD_KEYS
from lstm_energy.errors import ConfigError
from lstm_energy.records import BENCHMARK_KIND, PROFILE_KIND
from lstm_energy.results import LoadedResults, finite, load_records, require_kinds

REGRESSION, IMPROVEMENT, SAME = "regression", "improvement", "same"
#: the record kinds compare matches: sweep/profile points and pytest-benchmark tests
COMPARED_KINDS = (PROFILE_KIND, BENCHMARK_KIND)
WHAT_COMPARE_TAKES = (
    "compare takes results written by `lstm-energy sweep -o` or `pytest --benchmark-json` (the energy fixture)"
)
#: a pair's provenance when its two sides differ (measured against estimated, allowed by flag)
MIXED = "mixed"


@dataclass(frozen=True)
class Figure:
    """One median with its 95% interval (the interval may be missing: then no verdict can reject noise)."""

    median: float
    low: float | None = None
    high: float | None = None


@dataclass
class Entry:
    """One configuration on one side: its figures and what it was measured on."""

    key: str
    label: str
    host: str | None
    cpu: str | None
    provenance: str
    joules_per_sequence: Figure | None
    seconds_per_call: Figure | None
    records: int = 1


@dataclass
class Verdict:
    ratio: float | None  # new / base median
    ratio_low: float | None  # new low / base high: the smallest ratio the intervals allow
    ratio_high: float | None
    verdict: str  # REGRESSION | IMPROVEMENT | SAME, or "n/a" when a side lacks the figure


@dataclass
class Pair:
    label: str
    base: Entry
    new: Entry
    energy: Verdict
    time: Verdict

    @property
    def regressed(self) -> bool:
        return REGRESSION in (self.energy.verdict, self.time.verdict)

    @property
    def provenance(self) -> str:
        """The provenance of both sides' energy, or MIXED when they differ (``--allow-mixed-provenance``)."""
        return self.base.provenance if self.base.provenance == self.new.provenance else MIXED

    def provenance_text(self) -> str:
        """How a row names its energy's provenance: "" for measured on both sides, else e.g.
        "(estimated)" or "(mixed: base estimated, new measured)"."""
        if self.provenance == MIXED:
            return f"({MIXED}: base {self.base.provenance}, new {self.new.provenance})"
        return "" if self.provenance == "measured" else f"({self.provenance})"

    def cpu_text(self) -> str:
        """Empty when both sides ran on one CPU model, else "(different CPUs: base X, new Y)"
        (``--allow-different-cpus``): joules differ by CPU, so the row says so as a mixed one does."""
        if self.base.cpu == self.new.cpu:
            return ""
        return f"(different CPUs: base {self.base.cpu or 'unknown'}, new {self.new.cpu or 'unknown'})"


@dataclass
class Comparison:
    threshold: float
    pairs: list[Pair] = field(default_factory=list)
    only_base: list[Entry] = field(default_factory=list)
    only_new: list[Entry] = field(default_factory=list)
    #: pairs refused (mixed provenance or different CPUs, not allowed): (label, why)
    refusals: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return any(p.regressed for p in self.pairs)


def _figure(block: dict | None, key: str) -> Figure | None:
    stat = (block or {}).get(key)
    if not isinstance(stat, dict) or finite(stat.get("median")) is None:
        return None
    return Figure(stat["median"], finite(stat.get("ci95_low")), finite(stat.get("ci95_high")))


def _per_sequence(record: dict) -> Figure | None:
    energy = record.get("energy") or {}
    figure = _figure(energy, "joules_per_sequence")
    if figure is not None:
        return figure
    per_call = _figure(energy, "joules_per_call")
    batch = (record.get("config") or {}).get("batch")
    if per_call is None or not batch:
        return per_call
    scale = 1.0 / batch
    return Figure(
        per_call.median * scale,
        None if per_call.low is None else per_call.low * scale,
        None if per_call.high is None else per_call.high * scale,
    )


def _host(environment: dict) -> str | None:
    host = environment.get("host")
    if host in (None, "", {}):
        return None
    return json.dumps(host, sort_keys=True, default=str) if not isinstance(host, str) else host


def config_label(record: dict) -> str:
    """How a configuration is named in the output: the benchmark's name, or cell phase impl shape."""
    benchmark = record.get("benchmark") or {}
    name = benchmark.get("fullname") or benchmark.get("name")
    c = record.get("config") or {}
    shape = " ".join(
        f"{short}={c[key]}"
        for short, key in (("B", "batch"), ("T", "seq_len"), ("D", "input_size"), ("H", "hidden_size"))
        if c.get(key) is not None
    )
    extra = []
    if c.get("num_layers", 1) not in (None, 1):
        extra.append(f"L={c['num_layers']}")
    if c.get("bidirectional"):
        extra.append("bi")
    if c.get("threads", 1) not in (None, 1):
        extra.append(f"t={c['threads']}")
    if c.get("dtype") not in (None, "float32"):
        extra.append(str(c["dtype"]))
    if c.get("precision") not in (None, "fp32"):  # int8 / bf16 inference beside the fp32 point
        extra.append(str(c["precision"]))
    if c.get("nonlinearity") not in (None, "tanh"):  # an RNN with relu beside its tanh twin
        extra.append(str(c["nonlinearity"]))
    text = " ".join(str(p) for p in (c.get("cell"), c.get("phase"), c.get("impl"), shape, *extra) if p)
    if name:
        return f"{name} ({text})" if text else str(name)
    return text or "?"


def _entry(record: dict) -> Entry:
    config = record.get("config") or {}
    benchmark = record.get("benchmark") or {}
    key = json.dumps(
        {
            "kind": record.get("kind"),
            "benchmark": benchmark.get("fullname") or benchmark.get("name"),
            **{k: config.get(k) for k in RECORD_KEYS if k in config},
        },
        sort_keys=True,
        default=str,
    )
    environment = record.get("environment") or {}
    return Entry(
        key=key,
        label=config_label(record),
        host=_host(environment),
        cpu=environment.get("cpu_model"),
        provenance=(record.get("energy") or {}).get("provenance", "unknown"),
        joules_per_sequence=_per_sequence(record),
        seconds_per_call=_figure(record.get("time"), "seconds_per_call"),
    )


def _merge_figures(figures: list[Figure | None]) -> Figure | None:
    present = [f for f in figures if f is not None]
    if not present:
        return None
    lows = [f.low for f in present if f.low is not None]
    highs = [f.high for f in present if f.high is not None]
    return Figure(
        statistics.median(f.median for f in present),
        min(lows) if len(lows) == len(present) else None,
        max(highs) if len(highs) == len(present) else None,
    )


def entries(records: list[dict]) -> list[Entry]:
    """One Entry per (configuration, host, provenance, CPU), repeated records merged."""
    groups: dict[tuple, list[Entry]] = {}
    for record in records:
        if record.get("kind") not in COMPARED_KINDS:
            continue
        e = _entry(record)
        groups.setdefault((e.key, e.host, e.provenance, e.cpu), []).append(e)
    out = []
    for group in groups.values():
        first = group[0]
        first.joules_per_sequence = _merge_figures([e.joules_per_sequence for e in group])
        first.seconds_per_call = _merge_figures([e.seconds_per_call for e in group])
        first.records = len(group)
        out.append(first)
    return out


def verdict(base: Figure | None, new: Figure | None, threshold: float) -> Verdict:
    """new against base: a change beyond ``threshold`` that the 95% intervals also separate, or "same"."""
    if base is None or new is None or base.median <= 0:
        return Verdict(None, None, None, "n/a")
    ratio = new.median / base.median
    low = new.low / base.high if new.low is not None and base.high else None
    high = new.high / base.low if new.high is not None and base.low else None
    separated_up = new.low is not None and base.high is not None and new.low > base.high
    separated_down = new.high is not None and base.low is not None and new.high < base.low
    if ratio > 1 + threshold and separated_up:
        return Verdict(ratio, low, high, REGRESSION)
    if ratio < 1 - threshold and separated_down:
        return Verdict(ratio, low, high, IMPROVEMENT)
    return Verdict(ratio, low, high, SAME)


#: what each provenance is, for a refusal that names both sides
PROVENANCE_MEANING = {
    "measured": "a measurement of a hardware energy counter",
    "estimated": "an estimate of the energy model, not a measurement",
    "simulated": "a test double's made-up joules, tests only",
}


def _provenance_refusal(base: str, new: str, allow_mixed_provenance: bool) -> str | None:
    """Why figures of provenances ``base`` and ``new`` must not be compared; None when they may.

    Measured against estimated is a choice the user may make (--allow-mixed-provenance); simulated
    joules come from a test double, so a ratio of them with anything but other simulated joules is
    meaningless and no flag allows it.
    """
    if base == new:
        return None
    sides = (
        f"base is {base} ({PROVENANCE_MEANING.get(base, 'unknown provenance')}), "
        f"new is {new} ({PROVENANCE_MEANING.get(new, 'unknown provenance')})"
    )
    if "simulated" in (base, new):
        return (
            f"{sides}: simulated joules are only comparable with simulated joules (tests); "
            "--allow-mixed-provenance does not apply, compare results of one meter"
        )
    if allow_mixed_provenance:
        return None
    return f"{sides}: their ratio says nothing about the code; compare like with like, or pass --allow-mixed-provenance"


def _refusal(base: Entry, new: Entry, allow_mixed_provenance: bool, allow_different_cpus: bool) -> str | None:
    why = _provenance_refusal(base.provenance, new.provenance, allow_mixed_provenance)
    if why:
        return why
    if base.cpu != new.cpu and not allow_different_cpus:
        return (
            f"base ran on {base.cpu!r}, new on {new.cpu!r}: joules differ by CPU; compare results from one CPU "
            "model, or pass --allow-different-cpus"
        )
    return None


def compare_records(
    base: list[dict],
    new: list[dict],
    *,
    threshold: float = 0.05,
    allow_mixed_provenance: bool = False,
    allow_different_cpus: bool = False,
) -> Comparison:
    """Match ``new`` records to ``base`` records by configuration (and host when both carry one)."""
    if not 0 <= threshold < 1:
        raise ConfigError(f"threshold must be a fraction in [0, 1), got {threshold!r}; 0.05 means 5%")
    comparison = Comparison(threshold)
    base_entries, new_entries = entries(base), entries(new)
    matched_base: set[int] = set()
    for n in new_entries:
        candidates = [
            (i, b)
            for i, b in enumerate(base_entries)
            if b.key == n.key and (b.host is None or n.host is None or b.host == n.host)
        ]
        if not candidates:
            comparison.only_new.append(n)
            continue
        # prefer the same host, then the same provenance and CPU (a refusal only when nothing like matches)
        i, b = min(
            candidates,
            key=lambda c: (
                c[1].host != n.host,
                c[1].provenance != n.provenance,
                c[1].cpu != n.cpu,
                c[0] in matched_base,
            ),
        )
        matched_base.add(i)
        why = _refusal(b, n, allow_mixed_provenance, allow_different_cpus)
        if why:
            comparison.refusals.append((n.label, why))
            continue
        comparison.pairs.append(
            Pair(
                n.label,
                b,
                n,
                verdict(b.joules_per_sequence, n.joules_per_sequence, threshold),
                verdict(b.seconds_per_call, n.seconds_per_call, threshold),
            )
        )
    comparison.only_base = [b for i, b in enumerate(base_entries) if i not in matched_base]
    return comparison


def compare_files(base_paths, new_paths, **options) -> Comparison:
    """compare_records over the records of sweep ``.jsonl`` and pytest-benchmark ``.json`` files.

    ResultsSchemaError when a file holds no such records or records of another kind (forecast records,
    an empty file): it says what the file holds and what compare takes."""
    base, new = _load_compared(base_paths), _load_compared(new_paths)
    comparison = compare_records(base.records, new.records, **options)
    comparison.problems = [str(p) for p in base.problems + new.problems]
    return comparison


def _load_compared(paths) -> LoadedResults:
    """The records of ``paths``, each file checked to hold sweep or benchmark results."""
    merged = LoadedResults()
    for path in paths:
        loaded = load_records(path)
        require_kinds(path, loaded, COMPARED_KINDS, WHAT_COMPARE_TAKES, exclusive=False)
        merged.records += loaded.records
        merged.problems += loaded.problems
    return merged


def _ratio_text(v: Verdict) -> str:
    if v.ratio is None:
        return "n/a"
    text = f"{v.ratio:.3f}x"
    if v.ratio_low is not None and v.ratio_high is not None:
        text += f" [{v.ratio_low:.2f}, {v.ratio_high:.2f}]"
    return text


def render(comparison: Comparison) -> str:
    """The terminal table: one line per configuration, then what could not be compared and why."""
    lines = [
        f"energy (J/sequence) and time (s/call): new / base, [range the 95% intervals allow]; "
        f"threshold {comparison.threshold:.0%}"
    ]
    width = max([len(p.label) for p in comparison.pairs] + [13])
    lines.append(f"{'configuration':<{width}}  {'energy ratio':<22} {'verdict':<12} {'time ratio':<22} verdict")
    order = {REGRESSION: 0, IMPROVEMENT: 1, SAME: 2, "n/a": 3}
    for p in sorted(comparison.pairs, key=lambda p: (min(order[p.energy.verdict], order[p.time.verdict]), p.label)):
        mark = " <-- REGRESSION" if p.regressed else ""
        lines.append(
            f"{p.label:<{width}}  {_ratio_text(p.energy):<22} {p.energy.verdict:<12} {_ratio_text(p.time):<22} "
            f"{p.time.verdict}{mark}"
        )
        for note in (p.provenance_text(), p.cpu_text()):
            if note:
                lines[-1] += f" {note}"
    for label, why in comparison.refusals:
        lines.append(f"REFUSED {label}: {why}")
    for e in comparison.only_base:
        lines.append(f"only in BASE (not compared): {e.label}")
    for e in comparison.only_new:
        lines.append(f"only in NEW (not compared): {e.label}")
    for problem in comparison.problems:
        lines.append(f"skipped input: {problem}")
    counts = {v: sum(1 for p in comparison.pairs if v in (p.energy.verdict, p.time.verdict)) for v in order}
    lines.append(
        f"{len(comparison.pairs)} configuration(s) compared: {counts[REGRESSION]} regression(s), "
        f"{counts[IMPROVEMENT]} improvement(s); {len(comparison.refusals)} refused, "
        f"{len(comparison.only_base)} only in BASE, {len(comparison.only_new)} only in NEW"
    )
    return "\n".join(lines)


def as_json(comparison: Comparison) -> dict:
    """The comparison as plain data (``lstm-energy compare --json``)."""

    def verdict_dict(v: Verdict) -> dict:
        return {"ratio": v.ratio, "ratio_low": v.ratio_low, "ratio_high": v.ratio_high, "verdict": v.verdict}

    return {
        "threshold": comparison.threshold,
        "regressed": comparison.regressed,
        "pairs": [
            {
                "configuration": p.label,
                "provenance": p.provenance,  # "mixed" when the sides differ; each side's below
                "base_provenance": p.base.provenance,
                "new_provenance": p.new.provenance,
                "host": p.new.host,
                "base_cpu": p.base.cpu,  # the cpu_model each side ran on (differ only with --allow-different-cpus)
                "new_cpu": p.new.cpu,
                "energy": verdict_dict(p.energy),
                "time": verdict_dict(p.time),
            }
            for p in comparison.pairs
        ],
        "refused": [{"configuration": label, "why": why} for label, why in comparison.refusals],
        "only_base": [e.label for e in comparison.only_base],
        "only_new": [e.label for e in comparison.only_new],
        "problems": comparison.problems,
    }
