"""What every sweep runner shares: the summary it returns, the resume keys already in the results
file (and the checks that the file is sweep results of the same meter), the meter-name check, and
one point measured into one record.

The in-process runner (``local.run_sweep``) uses these; a runner that measures elsewhere (Dask,
a later issue) measures points with ``measure_point`` on its workers and appends on the client.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lstm_energy.config import Config
from lstm_energy.errors import ConfigError
from lstm_energy.meters.identity import identity_differences, identity_key, meter_identity, settings_hint
from lstm_energy.records import PROFILE_KIND


@dataclass
class SweepSummary:
    """What a sweep did: points measured, resumed (already in the file), failed (with why).

    ``measured`` counts the new records whatever made their joules; ``energy`` says who did:
    (provenance, meter name) -> records, e.g. {("estimated", "model"): 12}.
    """

    measured: int = 0
    resumed: int = 0
    failed: list[tuple[Config, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    energy: dict[tuple[str, str], int] = field(default_factory=dict)

    def count_record(self, record: dict) -> None:
        """Count one appended record under its provenance and meter."""
        key = energy_source(record)
        self.energy[key] = self.energy.get(key, 0) + 1
        self.measured += 1

    def energy_text(self) -> str:
        """``12 estimated (meter model)``, or ``10 measured (meter powercap), 2 estimated (meter model)``;
        ``0 new records`` when nothing was added."""
        return energy_sources_text(self.energy) if self.energy else "0 new records"

    def last_line(self, output) -> str:
        """The sweep's closing line: new records by provenance and meter, resumed, failed, and the file."""
        return f"sweep: {self.energy_text()}, {self.resumed} already in the file, {len(self.failed)} failed -> {output}"


def energy_source(record: dict) -> tuple[str, str]:
    """(provenance, meter name) of a record's energy, e.g. ("estimated", "model")."""
    energy = record.get("energy") or {}
    meter = energy.get("meter") or {}
    return str(energy.get("provenance") or "unknown provenance"), str(meter.get("name") or "unnamed meter")


def energy_sources_text(counts: dict[tuple[str, str], int]) -> str:
    """``10 measured (meter powercap), 2 estimated (meter model)`` from (provenance, meter) -> records."""
    order = {"measured": 0, "estimated": 1, "simulated": 2}
    keys = sorted(counts, key=lambda k: (order.get(k[0], 9), k))
    return ", ".join(f"{counts[k]} {k[0]} (meter {k[1]})" for k in keys)


def resumable_records(path: str | os.PathLike) -> list[dict]:
    """The profile records already in ``path``, which a resumed sweep keeps and appends to: none when
    the file is missing, empty or holds only a first record cut short by a kill.

    ResultsSchemaError when ``path`` holds anything else (text, forecast or benchmark records, a file of
    no valid record): a sweep appends only to its own kind of file. Corrupt lines among valid records
    are the loader's to report (a killed writer leaves one), not a reason to refuse.
    """
    from lstm_energy.results import load_records, require_kinds

    target = Path(path)
    if not target.exists() or target.stat().st_size == 0 or _only_a_cut_first_line(target):
        return []
    loaded = load_records(target)
    require_kinds(
        target,
        loaded,
        (PROFILE_KIND,),
        "--resume appends sweep points only to a sweep's results file; write to a new -o path",
        exclusive=True,
    )
    return [r for r in loaded.records if isinstance(r.get("config"), dict)]


def _only_a_cut_first_line(path: Path) -> bool:
    """True when ``path`` is one line without a newline that begins like a record (a kill during the
    first write): there is nothing to keep, and nothing that is not ours."""
    text = path.read_bytes()
    return b"\n" not in text and text.lstrip().startswith(b'{"schema_version"')


def done_keys(path: str | os.PathLike) -> set[str]:
    """Resume keys of the profile records already in ``path`` (``resumable_records``: corrupt lines
    don't count; a file that is not sweep results is a ResultsSchemaError)."""
    from lstm_energy.results import config_key

    return {config_key(r["config"]) for r in resumable_records(path)}


def done_host_keys(path: str | os.PathLike) -> set[str]:
    """Resume keys (``host_point_key``) of the profile records in ``path`` that carry a ``host`` block:
    what ``--every-host`` has already measured, configuration by host."""
    from lstm_energy.machine.identity import host_key
    from lstm_energy.results import config_key

    return {
        host_point_key(config_key(r["config"]), host_key(r["host"]))
        for r in resumable_records(path)
        if isinstance(r.get("host"), dict)
    }


def record_meter_identity(record: dict) -> dict | None:
    """``meter_identity`` of the meter that made ``record``'s energy (its provenance the record's
    ``energy.provenance``), or None for a record without energy (nothing to mix)."""
    energy = record.get("energy") or {}
    if not energy.get("provenance"):
        return None
    meter = energy.get("meter")
    provenance, name = energy_source(record)
    return {**meter_identity(meter if isinstance(meter, dict) else {}), "name": name, "provenance": provenance}


class ResumeCheckWarning(UserWarning):
    """A resumed file's records carry fewer meter fields than today's (written by an older
    lstm_energy): the meter check compared them on what they have."""


def check_resume_meter(
    records: list[dict], path: str | os.PathLike, meter, *, run: str = "sweep", output_flag: str = "-o"
) -> None:
    """ConfigError when the records a run resumes (a sweep's ``resumable_records``, a forecast study's
    records) were not made by a meter of ``meter``'s identity (``meter_identity`` of its ``describe()``:
    name and provenance, and the estimator's parameters, source and calibration, a counter's files or
    events): one file would then hold, say, estimated and simulated joules, or joules of two coefficient
    sets, as if they were one series. Records without an energy block (none to mix) are passed over.
    The message says what the file holds, what differs, and how to go on (``output_flag``: the option
    naming the file). Records written before a field existed are compared on the fields they have, with
    a ``ResumeCheckWarning`` naming what could not be checked."""
    check_resume_description(records, path, meter.describe(), whose=f"this {run}'s meter", output_flag=output_flag)


def check_resume_description(
    records: list[dict],
    path: str | os.PathLike,
    description: dict,
    *,
    whose: str,
    output_flag: str = "-o",
    scope: str = "",
) -> None:
    """``check_resume_meter`` for a meter known by its ``describe()`` or ``meter_identity`` (e.g. a Dask
    worker's, reported to the client); ``whose`` names it in the message ("this sweep's meter", "the
    meter of worker X"); ``scope`` says which of the file's records ``records`` are (", for host X").

    Refused too when ``records`` already hold figures of this meter's (provenance, name) made with
    other settings beside the matching ones: the file is already mixed, and resuming under either
    setting would add to the mix."""
    import warnings

    this = meter_identity(description)
    name, provenance = str(this.get("name")), str(this.get("provenance"))
    held: dict[tuple[str, str], int] = {}
    groups = _identity_groups(records)
    for record in records:
        if record_meter_identity(record) is not None:
            held[energy_source(record)] = held.get(energy_source(record), 0) + 1
    if not held:
        return
    same_name = [(i, n) for i, n in groups if _same_source(i, this)]
    matching = [(i, n) for i, n in same_name if not identity_differences(i, this)]
    others = [(i, n) for i, n in same_name if identity_differences(i, this)]
    if matching and others:
        identity, count = max(others, key=lambda g: g[1])
        differences = "; ".join(identity_differences(identity, this))
        raise ConfigError(
            f"results file {str(path)!r}{scope} is already mixed: it holds {sum(n for _, n in matching)} record(s) "
            f"made by meter {name!r} ({provenance}) set like {whose} and {sum(n for _, n in others)} made with other "
            f"settings ({differences}); resuming under either would add to the mix. Write this meter's results to a "
            f"new {output_flag} path"
        )
    if matching:
        unchecked = sorted({f for i, _ in matching for f in this if f not in i})
        if unchecked:
            count = sum(n for i, n in matching if any(f not in i for f in this))
            warnings.warn(
                f"{count} record(s) in {str(path)!r}{scope} were written without the meter's {', '.join(unchecked)} "
                f"(an older lstm_energy): --resume checked that they come from {whose} {name!r} ({provenance}) "
                f"on the fields they carry only; if its settings changed since, write to a new {output_flag} path",
                ResumeCheckWarning,
                stacklevel=3,
            )
        return
    if same_name:
        identity, count = max(same_name, key=lambda g: g[1])
        differences = "; ".join(identity_differences(identity, this))
        raise ConfigError(
            f"results file {str(path)!r}{scope} holds {count} record(s) made by meter {name!r} ({provenance}) with other "
            f"settings than {whose}: {differences}; resuming would mix figures of two differently set meters in "
            f"one file. Resume under the settings the file was made with{settings_hint(this)}, or write this "
            f"meter's results to a new {output_flag} path"
        )
    names = sorted({n for _, n in held})
    raise ConfigError(
        f"results file {str(path)!r}{scope} holds records made by: {energy_sources_text(held)}; {whose} is "
        f"{name!r} ({provenance}): resuming would mix them in one file. Resume with "
        f"--meter {' or --meter '.join(names)}, or write this meter's results to a new {output_flag} path"
    )


def made_by_meter(records: list[dict], description: dict) -> bool:
    """True when some of ``records`` were made by a meter of ``description``'s identity (same source,
    no setting that differs on the fields both carry)."""
    this = meter_identity(description)
    return any(_same_source(i, this) and not identity_differences(i, this) for i, _ in _identity_groups(records))


def _identity_groups(records: list[dict]) -> list[tuple[dict, int]]:
    """(meter identity, records) for each distinct identity among ``records``' energy blocks."""
    groups: dict[str, list] = {}  # identity (JSON) -> [identity, records]
    for record in records:
        identity = record_meter_identity(record)
        if identity is not None:
            groups.setdefault(identity_key(identity), [identity, 0])[1] += 1
    return [(i, n) for i, n in groups.values()]


def _same_source(held: dict, this: dict) -> bool:
    """Same (provenance, meter name)."""
    return (held.get("provenance"), held.get("name")) == (this.get("provenance"), this.get("name"))


def host_point_key(config_key: str, host_key: str) -> str:
    """One configuration on one host (``machine_id/package``): the ``--every-host`` resume key."""
    return f"{config_key}@{host_key}"


def check_output(output: str | os.PathLike, resume: bool, overwrite: bool = False) -> None:
    """ConfigError when ``resume`` and ``overwrite`` are both on (one keeps the file's records, the
    other discards them), when ``output`` is a directory, or when it already has records and neither
    is on (what every runner refuses; the check is the results module's, shared with the forecast
    study's --records)."""
    from lstm_energy.results import check_fresh_or_resumed

    if resume and overwrite:
        raise ConfigError("--resume keeps the records, --overwrite discards them; pass one")

    check_fresh_or_resumed(
        output, "-o", resume=resume or overwrite, example="sweep.jsonl", also="--overwrite to start afresh"
    )


def discard_for_overwrite(output: str | os.PathLike) -> None:
    """Delete ``output`` for ``--overwrite``: called by a runner only once its meter(s) opened and passed
    ``--require-measured``, so a refused run leaves the old records where they were."""
    Path(output).unlink(missing_ok=True)


def check_meter_name(name: str) -> None:
    """ConfigError unless ``name`` is a meter name (``lstm_energy.meters.registry.NAMES``, the one list)."""
    from lstm_energy.meters.registry import NAMES

    if name not in NAMES:
        raise ConfigError(
            f"unknown energy meter {name!r}; choose one of {', '.join(NAMES)} "
            "(`lstm-energy meters` says which work here)"
        )


def point_measurer(profile_fn: Callable | None = None) -> Callable[[Config, object, dict], dict]:
    """``measure(config, meter, protocol) -> record``: one point measured into its results record.

    profile_fn: None measures with ``lstm_energy.measure.profile_config(config, meter=..., **protocol)``;
    otherwise it is called like ``lstm_energy.profile``: ``profile_fn(**config.as_record(), meter=...,
    **protocol)`` (the Config's fields are profile()'s keyword names), e.g. a fake in tests. Either
    way it returns an object with ``to_record()``.
    """
    if profile_fn is None:
        from lstm_energy.measure.profile import profile_config

        def measure(config: Config, meter, protocol: dict) -> dict:
            return profile_config(config, meter=meter, **protocol).to_record()
    else:

        def measure(config: Config, meter, protocol: dict) -> dict:
            fields = config.as_record()
            if fields["precision"] == "fp32":  # profile-like callables written before issue 18 take no precision
                del fields["precision"]
            return profile_fn(**fields, meter=meter, **protocol).to_record()

    return measure


def protocol_settings(protocol: dict | None) -> dict:
    """The grid's ``[protocol]`` settings for profile(), checked (``grid.check_protocol``): an unknown
    name or a value out of range is a ConfigError, never a default used in its place."""
    from lstm_energy.sweep.grid import check_protocol

    return check_protocol(protocol or {})
