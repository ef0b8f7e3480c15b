"""How sysfs describes a perf PMU: its ``type``, its ``format/`` fields and its ``events/`` with scale and unit.

Dynamic PMUs live in ``<sysfs>/bus/event_source/devices/<pmu>/`` with ``type`` (the ``attr.type`` to
open events with), ``cpumask``, ``format/<field>`` (e.g. ``config:0-7``) and ``events/<name>`` (e.g.
``event=0x04,umask=0x03``) plus ``<name>.scale`` and ``<name>.unit`` (ABI:
Documentation/ABI/testing/sysfs-bus-event_source-devices-events and -format).

Users: the perf energy meter (``power`` PMU) and the hardware counters (``uncore_imc_N``). Reading
errors are plain OSError/ValueError; each user turns them into its own error or reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from lstm_energy.errors import ConfigError

EVENT_SOURCE_ROOT = "/sys/bus/event_source/devices"
_EVENT_TERM = re.compile(r"(?:^|,)event=(0x[0-9a-fA-F]+|\d+)(?:,|$)")


@dataclass(frozen=True)
class SysfsEvent:
    """One ``events/<name>`` entry: its description (``event=0x02``), scale and unit (None when absent)."""

    name: str
    description: str
    scale: float | None
    unit: str | None


def event_source_root(sysfs_root: str | os.PathLike = "/sys") -> str:
    """``<sysfs_root>/bus/event_source/devices``: where every PMU directory is."""
    return os.path.join(sysfs_root, "bus", "event_source", "devices")


def list_pmus(root: str | os.PathLike = EVENT_SOURCE_ROOT) -> list[str]:
    """The PMU names under ``root`` (sorted), or [] when ``root`` is not a directory."""
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


def read_sysfs_text(path: str | os.PathLike) -> str:
    """A sysfs file's content without the trailing newline; OSError when it cannot be read."""
    with open(path) as handle:
        return handle.read().strip()


def read_pmu_type(pmu_dir: str | os.PathLike) -> int:
    """The PMU's ``attr.type`` from ``<pmu_dir>/type``; OSError if unreadable, ValueError if not an integer."""
    return int(read_sysfs_text(os.path.join(pmu_dir, "type")))


def read_pmu_formats(pmu_dir: str | os.PathLike) -> dict[str, str]:
    """``{field: 'config:0-7', ...}`` from ``<pmu_dir>/format/`` ({} when the PMU has no format directory)."""
    format_dir = os.path.join(pmu_dir, "format")
    names = sorted(os.listdir(format_dir)) if os.path.isdir(format_dir) else []
    return {name: read_sysfs_text(os.path.join(format_dir, name)) for name in names}


def list_event_names(pmu_dir: str | os.PathLike) -> list[str]:
    """The event names under ``<pmu_dir>/events/`` (sorted, without the ``.scale``/``.unit`` companions)."""
    events_dir = os.path.join(pmu_dir, "events")
    names = sorted(os.listdir(events_dir)) if os.path.isdir(events_dir) else []
    return [name for name in names if "." not in name]


def read_event(pmu_dir: str | os.PathLike, name: str) -> SysfsEvent:
    """``events/<name>`` with its ``.scale`` and ``.unit``.

    OSError when the event itself cannot be read; a missing ``.scale``/``.unit`` gives None (the
    caller decides whether that is an error); ValueError when ``.scale`` is not a number.
    """
    path = os.path.join(pmu_dir, "events", name)
    description = read_sysfs_text(path)
    try:
        scale_text = read_sysfs_text(path + ".scale")
    except OSError:
        scale_text = None
    try:
        unit = read_sysfs_text(path + ".unit")
    except OSError:
        unit = None
    return SysfsEvent(name, description, float(scale_text) if scale_text else None, unit)


def parse_event_config(text: str) -> int:
    """``attr.config`` from the ``event=<number>`` term of a description such as ``event=0x02`` (other terms ignored)."""
    match = _EVENT_TERM.search(text.strip())
    if not match:
        raise ConfigError(
            f"event description {text!r} has no event=<number> term; expected e.g. 'event=0x04,umask=0x03'"
        )
    return int(match.group(1), 0)


def parse_format(text: str) -> list[tuple[str, int, int]]:
    """'config:0-7' -> [('config', 0, 7)]; 'config:8-15,32' -> two ranges; 'config1:3' -> [('config1', 3, 3)]."""
    field_name, _, bits = text.strip().partition(":")
    ranges = []
    try:
        for part in bits.split(","):
            lo, _, hi = part.partition("-")
            ranges.append((field_name, int(lo), int(hi or lo)))
    except ValueError:
        ranges = []  # a bit range that is not a number: said below, with the text
    if not ranges or not field_name:
        raise ConfigError(f"cannot parse a PMU format {text!r}; expected e.g. 'config:0-7'")
    return ranges


def encode_event(spec: str, formats: Mapping[str, str]) -> int:
    """'event=0x04,umask=0x03' with formats {'event': 'config:0-7', 'umask': 'config:8-15'} -> 0x304.

    Every term is placed by its format file; only the ``config`` field is encoded (what the IMC CAS
    events use); a term without a value is 1.
    """
    config = 0
    for term in filter(None, (t.strip() for t in spec.strip().split(","))):
        key, _, value = term.partition("=")
        if key not in formats:
            raise ConfigError(f"event term {key!r} has no format file (known: {sorted(formats)}); event {spec!r}")
        number = int(value, 0) if value else 1
        shift = 0
        for field_name, lo, hi in parse_format(formats[key]):
            if field_name != "config":
                raise ConfigError(f"event term {key!r} maps to {field_name}, only config is supported; event {spec!r}")
            width = hi - lo + 1
            config |= ((number >> shift) & ((1 << width) - 1)) << lo
            shift += width
    return config
