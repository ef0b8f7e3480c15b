"""Find the RAPL zones of a powercap sysfs tree and choose the domains to read (no meter logic here).

Layout (``Documentation/power/powercap/powercap.rst``)::

    /sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:0     the zones
    /sys/class/powercap/{intel-rapl, intel-rapl:0, intel-rapl:0:0, ...}      flat links to them

Rules (the kernel facts behind each, with sources: docs/energy-measurement.md, "powercap zones"):

* Zones are found by walking the tree and reading each zone's ``name``; never by building decimal
  indices. Zone ids are HEX (``dev_set_name("%s:%x")``): ``intel-rapl:a`` is zone 10.
* Domain keys: a top-level zone by its ``name`` (``package-0``, ``package-0-die-1``, ``psys``,
  ``psys-1``), a sub-zone as ``parent/name`` (``package-0/dram``, ``package-0/core``).
* ``intel-rapl-mmio`` can expose the same package counter a second time (client CPUs). A zone of a
  secondary control type whose key already exists under ``intel-rapl`` is a duplicate and is not read.
  The ``intel-rapl`` (MSR) copy is kept because it is the one with the sub-zones (core, uncore, dram).
* Die mirrors: on some AMD kernels ``package-0-die-0`` and ``package-0-die-1`` read ONE package
  counter. Each other die of a package is read alternately with die 0 over several rounds
  (:func:`check_die_mirror`); it is a mirror, and only die 0 is kept, when every round reads as one
  counter moving forwards, whenever its updates land between the reads. Intel multi-die parts have
  distinct counters and keep every die; separate packages are never compared.
* Headline (the non-overlapping sum to report): every package zone (``package-N``, ``package-N-die-D``);
  if there is none, the psys zones; if there is neither, every top-level zone. psys is never added to
  the packages (it contains them), nor core/uncore (inside the package); dram is reported on its own.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from lstm_energy.meters.remedies import (
    meter_error,
    permission_error,
    powercap_permission_fix,
    read_perf_event_paranoid,
)

_ZONE_DIR = re.compile(r"^(?P<control>[a-z][a-z0-9-]*):(?P<ids>[0-9a-f]+(?::[0-9a-f]+)*)$")
PACKAGE_NAME = re.compile(r"^package-(?P<package>\d+)(?:-die-(?P<die>\d+))?$")
PSYS_NAME = re.compile(r"^psys(?:-\d+)?$")
#: the control type whose zones are canonical; others (intel-rapl-mmio, ...) may duplicate them
PRIMARY_CONTROL = "intel-rapl"


@dataclass(frozen=True)
class PowercapZone:
    """One powercap zone directory.

    path: the directory as reached from the root (the flat link when there is one).
    control: control type, e.g. ``intel-rapl`` or ``intel-rapl-mmio``.
    ids: the hex zone ids parsed to ints: ``intel-rapl:a`` -> (10,), ``intel-rapl:0:1`` -> (0, 1).
    name: contents of the ``name`` file; parent_name: the parent zone's name (None at top level).
    max_energy_range_uj: contents of ``max_energy_range_uj``.
    """

    path: str
    control: str
    ids: tuple[int, ...]
    name: str
    parent_name: str | None
    max_energy_range_uj: int
    enabled: bool | None

    @property
    def zone_id(self) -> str:
        return self.control + "".join(f":{i:x}" for i in self.ids)

    @property
    def key(self) -> str:
        return self.name if self.parent_name is None else f"{self.parent_name}/{self.name}"

    @property
    def top_level(self) -> bool:
        return self.parent_name is None

    @property
    def energy_path(self) -> str:
        return os.path.join(self.path, "energy_uj")


@dataclass(frozen=True)
class IgnoredZone:
    """A zone found but not read, and why (a duplicate or a mirror)."""

    zone_id: str
    name: str
    reason: str
    #: what the decision rests on (a mirror: the reads compared), or None
    evidence: dict | None = None

    def as_dict(self) -> dict:
        shown: dict[str, object] = {"zone": self.zone_id, "name": self.name, "reason": self.reason}
        if self.evidence is not None:
            shown["evidence"] = self.evidence
        return shown


def _read_text(path: str) -> str:
    with open(path) as handle:
        return handle.read().strip()


def _zone_dirs(root: str) -> dict[str, str]:
    """``{real path: path under root}`` of every RAPL zone directory under ``root``.

    Accepts the class root (flat links) and the devices root (nested control-type directories);
    descends only into zone directories, so the ``subsystem``/``device`` links cannot loop.
    """
    found: dict[str, str] = {}

    def visit(directory: str, depth: int) -> None:
        try:
            entries = sorted(os.listdir(directory))
        except OSError:
            return
        descend = []
        for entry in entries:  # register this level first, so flat links name the zones when present
            path = os.path.join(directory, entry)
            if not os.path.isdir(path):
                continue
            match = _ZONE_DIR.match(entry)
            if match and "rapl" in match.group("control"):
                found.setdefault(os.path.realpath(path), path)
                if depth < 4:
                    descend.append(path)
            elif depth == 0 and ":" not in entry and "rapl" in entry:  # a control-type directory
                descend.append(path)
        for path in descend:
            visit(path, depth + 1)

    visit(root, 0)
    return found


def discover_zones(root: str) -> list[PowercapZone]:
    """Every RAPL zone under ``root`` (``/sys/class/powercap`` or a fake tree), sorted by control and ids."""
    if not os.path.isdir(root):
        raise meter_error(
            f"no powercap tree at {root} (the directory does not exist).",
            "the kernel exposes RAPL in powercap only on bare-metal Intel (Sandy Bridge+) or AMD Zen "
            "(Linux >= 5.11): `sudo modprobe intel_rapl_msr`; virtual machines usually hide RAPL. "
            "Otherwise use another backend (see `lstm-energy meters`)",
        )
    raw: list[tuple[str, str, tuple[int, ...]]] = []
    for real, path in _zone_dirs(root).items():
        match = _ZONE_DIR.match(os.path.basename(real)) or _ZONE_DIR.match(os.path.basename(path))
        assert match is not None, f"_zone_dirs listed {path}, which is not a zone directory"
        ids = tuple(int(part, 16) for part in match.group("ids").split(":"))
        raw.append((match.group("control"), path, ids))
    raw.sort(key=lambda item: (item[0] != PRIMARY_CONTROL, item[0], item[2]))
    names: dict[tuple[str, tuple[int, ...]], str] = {}
    for control, path, ids in raw:
        try:
            names[(control, ids)] = _read_text(os.path.join(path, "name"))
        except OSError as err:
            raise meter_error(
                f"cannot read {os.path.join(path, 'name')} ({err.strerror}).",
                "check that sysfs is mounted and readable; report the tree layout if it persists",
            ) from err
    zones = []
    for control, path, ids in raw:
        parent_name = names.get((control, ids[:-1])) if len(ids) > 1 else None
        if len(ids) > 1 and parent_name is None:
            raise meter_error(
                f"zone {path} has no parent zone {control}:{':'.join(f'{i:x}' for i in ids[:-1])}.",
                "the powercap tree is incomplete; check the root passed to the meter",
            )
        zones.append(
            PowercapZone(
                path=path,
                control=control,
                ids=ids,
                name=names[(control, ids)],
                parent_name=parent_name,
                max_energy_range_uj=_read_max_range(path),
                enabled=_read_enabled(path),
            )
        )
    return zones


def _read_max_range(path: str) -> int:
    file = os.path.join(path, "max_energy_range_uj")
    try:
        value = int(_read_text(file))
    except PermissionError as err:
        raise permission_error(
            f"cannot read {file} (permission denied; some distributions made it root-only together with "
            "energy_uj after CVE-2020-8694). Without the range, wraps cannot be corrected.",
            powercap_permission_fix(read_perf_event_paranoid()).replace("energy_uj", "{energy_uj,max_energy_range_uj}"),
        ) from err
    except (OSError, ValueError) as err:
        raise meter_error(
            f"cannot read the counter range {file} ({err}); without it, wraps cannot be corrected "
            "(CodeCarbon #1309 silently used 0 and reported negative energy).",
            "use a kernel whose powercap zones have max_energy_range_uj, or use the perf meter",
        ) from err
    if value <= 0:
        raise meter_error(
            f"{file} is {value}; a counter range must be positive.",
            "this zone is not a usable energy counter; use the perf meter",
        )
    return value


def _read_enabled(path: str) -> bool | None:
    try:
        return _read_text(os.path.join(path, "enabled")) == "1"
    except OSError:
        return None


def drop_duplicates(zones: Iterable[PowercapZone]) -> tuple[list[PowercapZone], list[IgnoredZone]]:
    """Keep one zone per key: primary-control zones win over mmio (or other) copies of the same domain."""
    kept: dict[str, PowercapZone] = {}
    ignored: list[IgnoredZone] = []
    dropped_parents: set[tuple[str, tuple[int, ...]]] = set()
    for zone in sorted(zones, key=lambda z: (z.control != PRIMARY_CONTROL, z.control, z.ids)):
        if zone.key in kept or (zone.control, zone.ids[:-1]) in dropped_parents:
            original = kept.get(zone.key) or kept.get(zone.parent_name or "")
            ignored.append(
                IgnoredZone(
                    zone.zone_id,
                    zone.name,
                    f"duplicate of {original.zone_id if original else 'a zone already read'} "
                    f"({zone.key} exposed again through {zone.control}); not counted twice",
                )
            )
            dropped_parents.add((zone.control, zone.ids))
            continue
        kept[zone.key] = zone
    return list(kept.values()), ignored


#: rounds of the die-mirror check; every round must agree before two zones are called one counter
MIRROR_ROUNDS = 5
#: reads per round, alternating die 0 and the other die (0, D, 0, D, 0): every read is bracketed by
#: reads of the other zone, so a counter update landing between two reads cannot separate mirrors
MIRROR_READS_PER_ROUND = 5
#: pause between rounds: longer than one RAPL update (~1 ms), so the rounds see the counters advance and
#: two distinct counters that happen to read close together drift apart between rounds
MIRROR_ROUND_PAUSE_SECONDS = 0.002


def read_as_one_counter(values: Sequence[int], modulus_uj: int) -> bool:
    """Whether ``values`` (energy_uj, in the order read, alternating between zones) are one counter read again
    and again: every step from one read to the next is a forward step, none going round the modulus.

    Steps are taken modulo ``modulus_uj`` (so a wrap in the middle is a small forward step), and their
    sum equals the whole advance from the first read to the last only if no step went "backwards" (a
    step backwards is a step of almost one modulus). One counter read at increasing times only moves
    forwards, whenever its updates land; two counters read alternately pass only if each read of one
    lies between the reads of the other around it, i.e. they agree to within what the counter advanced
    between two back-to-back reads (about one update's energy at most), in every round.
    """
    steps = [(later - earlier) % modulus_uj for earlier, later in zip(values, values[1:])]
    return sum(steps) == (values[-1] - values[0]) % modulus_uj


@dataclass(frozen=True)
class MirrorCheck:
    """The evidence for or against die zone ``other`` reading the same counter as ``first`` (die 0).

    rule: how they were compared; rounds: per round, the ``(key, energy_uj)`` reads in the order made (a
    check stops at the first round that tells the counters apart); mirror: the verdict; reason: the
    verdict in words.
    """

    first: str
    other: str
    rule: str
    rounds: tuple[tuple[tuple[str, int], ...], ...]
    mirror: bool
    reason: str

    def as_dict(self) -> dict:
        return {
            "compared": [self.first, self.other],
            "rule": self.rule,
            "reads_uj": [[[key, value] for key, value in reads] for reads in self.rounds],
            "mirror": self.mirror,
            "reason": self.reason,
        }


def _show_round(reads: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{key} {value}" for key, value in reads)


def check_die_mirror(
    first: PowercapZone,
    other: PowercapZone,
    read_uj: Callable[[PowercapZone], int],
    *,
    rounds: int = MIRROR_ROUNDS,
    pause_seconds: float = MIRROR_ROUND_PAUSE_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> MirrorCheck:
    """Read ``first`` and ``other`` alternately, ``rounds`` times: one counter, or two?

    Mirrors are one counter reached through two zones: every round reads as one forward-moving sequence
    (:func:`read_as_one_counter`), wherever the counter's updates fall between the reads. Distinct
    counters of real dies differ by the energy each has counted since power-on, far more than one
    update, so their first round already shows a read outside the reads around it.

    Two distinct counters that agree to within one update at every read of every round cannot be told
    from one counter by reading them, and are merged. That is the safe side: AMD kernels expose one
    package-scoped counter through every die zone of a package (rapl_common ``rapl_msrs_are_pkg_scope()``;
    CodeCarbon saw ``package-0-die-0`` and ``-die-1`` at 68 W each on a Threadripper 1950X, and
    mlco2/codecarbon#788 traces a near-2x over-report to summing such per-die zones; see
    docs/energy-measurement.md), while Intel's die-scoped counters each count their own die from
    power-on and do not stay within one update of each other.
    """
    rule = (
        f"read {first.key} and {other.key} alternately, {MIRROR_READS_PER_ROUND} reads a round, up to {rounds} "
        f"rounds {pause_seconds * 1e3:g} ms apart; one counter only if every round's reads move forwards "
        "(read_as_one_counter)"
    )
    if other.max_energy_range_uj != first.max_energy_range_uj:
        reason = (
            f"different counter ranges ({first.max_energy_range_uj} and {other.max_energy_range_uj} µJ): "
            "two counters with different units"
        )
        return MirrorCheck(first.key, other.key, rule, (), False, reason)
    # max + 1 µJ, not the exact max + one unit: the two differ by less than a unit, which changes the size of
    # a step across a wrap but never whether a step moves forwards
    modulus = first.max_energy_range_uj + 1
    seen: list[tuple[tuple[str, int], ...]] = []
    for index in range(rounds):
        if index:
            sleep(pause_seconds)
        zones = [first if i % 2 == 0 else other for i in range(MIRROR_READS_PER_ROUND)]
        reads = tuple((zone.key, read_uj(zone)) for zone in zones)
        seen.append(reads)
        if not read_as_one_counter([value for _, value in reads], modulus):
            reason = f"two counters: in round {index + 1} the alternate reads went backwards ({_show_round(reads)} µJ)"
            return MirrorCheck(first.key, other.key, rule, tuple(seen), False, reason)
    advance = (seen[-1][-1][1] - seen[0][0][1]) % modulus
    reason = (
        f"one counter: in all {rounds} rounds of alternate reads each read of {other.key} lay between the "
        f"reads of {first.key} around it ({advance} µJ advanced over the rounds)"
    )
    return MirrorCheck(first.key, other.key, rule, tuple(seen), True, reason)


def check_die_mirrors(
    zones: Iterable[PowercapZone],
    read_uj: Callable[[PowercapZone], int],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> list[MirrorCheck]:
    """One :func:`check_die_mirror` per die zone of a package other than its die 0.

    Only dies of the SAME package (``package-N-die-D`` with one N) are compared: separate packages
    (sockets) have separate counters by construction and are never candidates.
    """
    by_package: dict[str, list[tuple[int, PowercapZone]]] = {}
    for zone in zones:
        match = PACKAGE_NAME.match(zone.name)
        if zone.top_level and match and match.group("die") is not None:
            by_package.setdefault(match.group("package"), []).append((int(match.group("die")), zone))
    checks: list[MirrorCheck] = []
    for dies in by_package.values():
        dies.sort(key=lambda item: item[0])
        first = dies[0][1]
        checks.extend(check_die_mirror(first, other, read_uj, sleep=sleep) for _, other in dies[1:])
    return checks


def drop_die_mirrors(
    zones: Iterable[PowercapZone], checks: Iterable[MirrorCheck]
) -> tuple[list[PowercapZone], list[IgnoredZone]]:
    """Drop every die zone that ``checks`` found mirroring its die 0, with its sub-zones (they are die 0's
    sub-zones seen again). A dropped die's entry carries its check's reads as evidence."""
    mirrors = {check.other: check for check in checks if check.mirror}
    kept: list[PowercapZone] = []
    ignored: list[IgnoredZone] = []
    for zone in zones:
        check = mirrors.get(zone.key if zone.top_level else zone.parent_name or "")
        if check is None:
            kept.append(zone)
            continue
        what = "" if zone.top_level else f"sub-zone of {check.other}, "
        reason = (
            f"{what}mirror of {check.first} (one package counter exposed per die): {check.reason}; not counted twice"
        )
        evidence = check.as_dict() if zone.top_level else None  # the die's entry holds the reads once
        ignored.append(IgnoredZone(zone.zone_id, zone.name, reason, evidence))
    return kept, ignored


def headline_keys(zones: Iterable[PowercapZone]) -> tuple[str, ...]:
    """The non-overlapping top-level keys to sum: packages, else psys, else every top-level zone."""
    top = [zone.key for zone in zones if zone.top_level]
    packages = tuple(key for key in top if PACKAGE_NAME.match(key))
    if packages:
        return packages
    psys = tuple(key for key in top if PSYS_NAME.match(key))
    return psys or tuple(top)
