"""What every sweep runner shares: the summary it returns, the resume keys already in the results
file, the meter-name check, and one point measured into one record.

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
        energy = record.get("energy") or {}
        meter = energy.get("meter") or {}
        key = (str(energy.get("provenance") or "unknown provenance"), str(meter.get("name") or "unnamed meter"))
        self.energy[key] = self.energy.get(key, 0) + 1
        self.measured += 1

    def energy_text(self) -> str:
        """``12 estimated (meter model)``, or ``10 measured (meter powercap), 2 estimated (meter model)``;
        ``0 new records`` when nothing was added."""
        if not self.energy:
            return "0 new records"
        order = {"measured": 0, "estimated": 1, "simulated": 2}
        keys = sorted(self.energy, key=lambda k: (order.get(k[0], 9), k))
        return ", ".join(f"{self.energy[k]} {k[0]} (meter {k[1]})" for k in keys)

    def last_line(self, output) -> str:
        """The sweep's closing line: new records by provenance and meter, resumed, failed, and the file."""
        return f"sweep: {self.energy_text()}, {self.resumed} already in the file, {len(self.failed)} failed -> {output}"


def done_keys(path: str | os.PathLike) -> set[str]:
    """Resume keys of the valid profile records already in ``path`` (corrupt lines don't count)."""
    from lstm_energy.results import config_key, load_records

    if not Path(path).exists():
        return set()
    loaded = load_records(path)
    return {
        config_key(r["config"])
        for r in loaded.records
        if r.get("kind") == "profile" and isinstance(r.get("config"), dict)
    }


def done_host_keys(path: str | os.PathLike) -> set[str]:
    """Resume keys (``host_point_key``) of the profile records in ``path`` that carry a ``host`` block:
    what ``--every-host`` has already measured, configuration by host."""
    from lstm_energy.machine.identity import host_key
    from lstm_energy.results import config_key, load_records

    if not Path(path).exists():
        return set()
    return {
        host_point_key(config_key(r["config"]), host_key(r["host"]))
        for r in load_records(path).records
        if r.get("kind") == "profile" and isinstance(r.get("config"), dict) and isinstance(r.get("host"), dict)
    }


def host_point_key(config_key: str, host_key: str) -> str:
    """One configuration on one host (``machine_id/package``): the ``--every-host`` resume key."""
    return f"{config_key}@{host_key}"


def check_output(output: str | os.PathLike, resume: bool) -> None:
    """ConfigError when ``output`` already has records and ``resume`` is off (what every runner refuses)."""
    if not resume and Path(output).exists() and Path(output).stat().st_size > 0:
        raise ConfigError(
            f"results file {str(output)!r} already has records; pass --resume to add only the missing points, "
            "--overwrite to start afresh, or choose another -o path"
        )


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


def protocol_settings(protocol: dict | None) -> tuple[dict, list[str]]:
    """The grid's ``[protocol]`` settings that profile() takes (``PROTOCOL_KEYS``), and the names it does not."""
    from lstm_energy.measure.profile import PROTOCOL_KEYS

    protocol = dict(protocol or {})
    return ({k: v for k, v in protocol.items() if k in PROTOCOL_KEYS}, [k for k in protocol if k not in PROTOCOL_KEYS])
