"""Faithful fake powercap trees for testing energy code without RAPL hardware.

Built like the real kernel layout::

    <base>/sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:0/{name,energy_uj,...}
    <base>/sys/class/powercap/intel-rapl:0 -> ../../devices/virtual/powercap/intel-rapl/intel-rapl:0

with each zone's ``name``, ``energy_uj``, ``max_energy_range_uj``, ``enabled``, ``uevent``, a
``subsystem`` link back to the class directory (a cycle, as in sysfs) and, for packages, the
``constraint_*`` files. Zone ids are hex (``intel-rapl:a``), as ``dev_set_name("%s:%x")`` makes them.

Counters follow the kernel (``drivers/powercap/intel_rapl_common.c``): each zone has a 32-bit raw
count and an energy unit in nanojoules as the kernel stores it (61035 for 2**-14 J, 15258 for
2**-16 J); ``energy_uj = raw * unit_nj // 1000`` and ``max_energy_range_uj = (2**32 - 1) * unit_nj // 1000``.
:meth:`FakePowercap.advance` adds energy and wraps the raw count modulo 2**32, exactly like hardware.
Zones can share one counter: an ``intel-rapl-mmio`` duplicate, or AMD die mirrors.

Usage (pytest)::

    fake = build_fake_powercap(tmp_path, "intel-2s")
    meter = PowercapMeter(root=fake.root)
    fake.advance("package-0", joules=12.5)

``build_fake_powercap(..., class_root="/sys/class/powercap", devices_root=...)`` places the tree at
the real path (inside a private mount namespace) for tools with hard-coded paths such as pyRAPL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lstm_energy.errors import ConfigError, StateError

RAW_STEPS = 2**32
#: kernel energy units in nJ (``ENERGY_UNIT_SCALE * 1e6 >> ESU``): ESU 14 (61 µJ) and ESU 16 (15.3 µJ)
UNIT_NJ_ESU14 = 61035
UNIT_NJ_ESU16 = 15258

#: the tree kinds :func:`build_fake_powercap` makes
KINDS = (
    "intel-1s",  # one package with core, uncore, dram
    "intel-2s",  # two packages with core and dram
    "intel-laptop",  # package-0 (core, uncore, dram), top-level psys, intel-rapl-mmio duplicate of package-0
    "psys-only",  # psys and no package zone
    "intel-dies",  # package-N-die-D with DISTINCT counters (Intel multi-die), dram under each die
    "intel-many",  # 12 packages + psys: 13 top-level zones, ids 0..c in hex
    "amd",  # AMD Zen: package-0 + core, 15.3 µJ units
    "amd-2s",  # AMD two sockets
    "amd-die-mirrors",  # AMD package-0-die-0 and -die-1 reading ONE counter (and their core sub-zones)
)


@dataclass
class _Counter:
    """One hardware counter: raw count since build (unwrapped) and its unit."""

    unit_nj: int
    raw_total: int

    @property
    def raw(self) -> int:
        return self.raw_total % RAW_STEPS

    @property
    def energy_uj(self) -> int:
        return self.raw * self.unit_nj // 1000


@dataclass
class FakeZone:
    """One fake zone: its id (``intel-rapl:0:1``), name, key (``package-0/dram``) and directory."""

    zone_id: str
    name: str
    key: str
    directory: Path
    counter: _Counter
    initial_raw_total: int = 0
    children: list[str] = field(default_factory=list)

    @property
    def max_energy_range_uj(self) -> int:
        return (RAW_STEPS - 1) * self.counter.unit_nj // 1000


class FakePowercap:
    """A fake powercap tree on disk, with methods to move its counters and change its permissions.

    root: the class directory to give to ``PowercapMeter(root=...)``.
    """

    def __init__(self, class_root: str | os.PathLike, devices_root: str | os.PathLike, write_mode: str = "replace"):
        if write_mode not in ("replace", "in_place"):
            raise ConfigError(
                f"write_mode must be 'replace' (atomic rename; for readers that re-open) or 'in_place' "
                f"(same inode; for readers that keep the file open, like pyRAPL), got {write_mode!r}"
            )
        self.class_root = Path(class_root)
        self.devices_root = Path(devices_root)
        self.write_mode = write_mode
        self.zones: dict[str, FakeZone] = {}
        self._root_only = False
        self.class_root.mkdir(parents=True, exist_ok=True)
        self.devices_root.mkdir(parents=True, exist_ok=True)

    @property
    def root(self) -> str:
        return str(self.class_root)

    # ----------------------------------------------------------------------------------------- building
    def _link(self, name: str, target: Path) -> None:
        link = self.class_root / name
        if not link.is_symlink():
            link.symlink_to(os.path.relpath(target, self.class_root))

    def _control_dir(self, control: str) -> Path:
        directory = self.devices_root / control
        if not directory.exists():
            directory.mkdir(parents=True)
            (directory / "enabled").write_text("0\n")
            (directory / "uevent").write_text("")
            (directory / "power").mkdir()
            (directory / "subsystem").symlink_to(os.path.relpath(self.class_root, directory))
            self._link(control, directory)
        return directory

    def add_zone(
        self,
        control: str,
        ids: tuple[int, ...],
        name: str,
        *,
        unit_nj: int = UNIT_NJ_ESU14,
        initial_joules: float = 1000.0,
        mirror_of: str | None = None,
    ) -> FakeZone:
        """Add zone ``control:ids`` (parent first). ``mirror_of``: a zone id whose counter this one shares."""
        zone_id = control + "".join(f":{i:x}" for i in ids)
        if zone_id in self.zones:
            raise ConfigError(f"zone {zone_id} exists already; each zone id is added once")
        if len(ids) > 1:
            parent_id = control + "".join(f":{i:x}" for i in ids[:-1])
            if parent_id not in self.zones:
                raise StateError(f"add the parent zone {parent_id} before {zone_id}")
            parent = self.zones[parent_id]
            directory = parent.directory / zone_id
            key = f"{parent.name}/{name}"
            parent.children.append(zone_id)
        else:
            directory = self._control_dir(control) / zone_id
            key = name
        if mirror_of is not None:
            counter = self.zones[mirror_of].counter
        else:
            counter = _Counter(unit_nj, round(initial_joules * 1e9 / unit_nj))
        directory.mkdir()
        zone = FakeZone(zone_id, name, key, directory, counter, counter.raw_total)
        self.zones[zone_id] = zone
        (directory / "name").write_text(name + "\n")
        (directory / "max_energy_range_uj").write_text(f"{zone.max_energy_range_uj}\n")
        (directory / "enabled").write_text("1\n" if len(ids) == 1 else "0\n")
        (directory / "uevent").write_text("")
        (directory / "power").mkdir()
        (directory / "subsystem").symlink_to(os.path.relpath(self.class_root, directory))
        if name.startswith("package"):
            for index, constraint in enumerate(("long_term", "short_term")):
                (directory / f"constraint_{index}_name").write_text(constraint + "\n")
                (directory / f"constraint_{index}_power_limit_uw").write_text("65000000\n")
                (directory / f"constraint_{index}_time_window_us").write_text("27983872\n")
                (directory / f"constraint_{index}_max_power_uw").write_text("95000000\n")
        self._write_energy(zone)
        self._link(zone_id, directory)
        return zone

    # ----------------------------------------------------------------------------------------- counters
    def zone(self, key_or_id: str) -> FakeZone:
        """A zone by id (``intel-rapl:a``) or by key (``package-0/dram``; the ``intel-rapl`` copy first)."""
        if key_or_id in self.zones:
            return self.zones[key_or_id]
        matches = [z for z in self.zones.values() if z.key == key_or_id]
        matches.sort(key=lambda z: not z.zone_id.startswith("intel-rapl:"))
        if not matches:
            raise KeyError(f"no fake zone {key_or_id!r}; zones: {sorted(z.key for z in self.zones.values())}")
        return matches[0]

    def _write_energy(self, zone: FakeZone) -> None:
        path = zone.directory / "energy_uj"
        text = f"{zone.counter.energy_uj}\n"
        if self.write_mode == "in_place" and path.exists():
            # the new value first, then cut the file to its length: a reader between the two sees the new
            # line (and at most an old tail after its newline), never the empty file a truncate-first would
            # show it (pyRAPL then failed with "could not convert string to float: ''" under load)
            with open(path, "r+") as handle:
                handle.write(text)
                handle.truncate()
            return
        temporary = zone.directory / ".energy_uj.new"
        temporary.write_text(text)
        if self._root_only:
            os.chown(temporary, 0, 0)
            os.chmod(temporary, 0o400)
        else:
            os.chmod(temporary, 0o444)
        os.replace(temporary, path)

    def _sync(self, counter: _Counter) -> None:
        for zone in self.zones.values():
            if zone.counter is counter:
                self._write_energy(zone)

    def advance(self, key_or_id: str, joules: float) -> int:
        """Add ``joules`` to a zone's counter (and its mirrors), wrapping the 32-bit raw count.

        Returns the raw units added (``round(joules / unit)``).
        """
        if joules < 0:
            raise ConfigError(f"energy counters only increase; got joules={joules}")
        zone = self.zone(key_or_id)
        steps = round(joules * 1e9 / zone.counter.unit_nj)
        zone.counter.raw_total += steps
        self._sync(zone.counter)
        return steps

    def set_energy_uj(self, key_or_id: str, energy_uj: int) -> None:
        """Put the counter at (about) ``energy_uj`` (for wrap tests near ``max_energy_range_uj``), forward only."""
        zone = self.zone(key_or_id)
        target_raw = energy_uj * 1000 // zone.counter.unit_nj
        step = (target_raw - zone.counter.raw) % RAW_STEPS
        zone.counter.raw_total += step
        self._sync(zone.counter)

    def joules_advanced(self, key_or_id: str) -> float:
        """True energy added to the zone's counter since it was built (unwrapped), in J."""
        zone = self.zone(key_or_id)
        return (zone.counter.raw_total - zone.initial_raw_total) * zone.counter.unit_nj * 1e-9

    def energy_uj(self, key_or_id: str) -> int:
        """What ``energy_uj`` shows now."""
        return self.zone(key_or_id).counter.energy_uj

    # ----------------------------------------------------------------------------------------- permissions
    def make_root_only(self) -> None:
        """Every ``energy_uj`` becomes mode 0400 owned by root, as after the CVE-2020-8694 fix (needs root)."""
        self._root_only = True
        for zone in self.zones.values():
            path = zone.directory / "energy_uj"
            os.chown(path, 0, 0)
            os.chmod(path, 0o400)

    def make_world_readable(self) -> None:
        """Every ``energy_uj`` back to 0444 (the pre-5.10 kernel default)."""
        self._root_only = False
        for zone in self.zones.values():
            os.chmod(zone.directory / "energy_uj", 0o444)


def build_fake_powercap(
    base: str | os.PathLike,
    kind: str = "intel-1s",
    *,
    class_root: str | os.PathLike | None = None,
    devices_root: str | os.PathLike | None = None,
    write_mode: str = "replace",
) -> FakePowercap:
    """Build a fake tree of one of :data:`KINDS` under ``base`` (``base/sys/class/powercap`` etc.)."""
    base = Path(base)
    fake = FakePowercap(
        class_root or base / "sys" / "class" / "powercap",
        devices_root or base / "sys" / "devices" / "virtual" / "powercap",
        write_mode,
    )
    rapl, mmio = "intel-rapl", "intel-rapl-mmio"
    if kind == "intel-1s":
        fake.add_zone(rapl, (0,), "package-0", initial_joules=5000.0)
        fake.add_zone(rapl, (0, 0), "core", initial_joules=3000.0)
        fake.add_zone(rapl, (0, 1), "uncore", initial_joules=100.0)
        fake.add_zone(rapl, (0, 2), "dram", initial_joules=800.0)
    elif kind == "intel-2s":
        for socket in (0, 1):
            fake.add_zone(rapl, (socket,), f"package-{socket}", initial_joules=5000.0 + 1111.0 * socket)
            fake.add_zone(rapl, (socket, 0), "core", initial_joules=3000.0 + 77.0 * socket)
            fake.add_zone(rapl, (socket, 1), "dram", initial_joules=800.0 + 13.0 * socket)
    elif kind == "intel-laptop":
        fake.add_zone(rapl, (0,), "package-0", initial_joules=5000.0)
        fake.add_zone(rapl, (0, 0), "core", initial_joules=3000.0)
        fake.add_zone(rapl, (0, 1), "uncore", initial_joules=100.0)
        fake.add_zone(rapl, (0, 2), "dram", initial_joules=800.0)
        fake.add_zone(rapl, (1,), "psys", initial_joules=9000.0)
        fake.add_zone(mmio, (0,), "package-0", mirror_of="intel-rapl:0")
    elif kind == "psys-only":
        fake.add_zone(rapl, (0,), "psys", initial_joules=9000.0)
    elif kind == "intel-dies":
        zone_id = 0
        for package in (0, 1):
            for die in (0, 1):
                fake.add_zone(rapl, (zone_id,), f"package-{package}-die-{die}", initial_joules=4000.0 + 501.0 * zone_id)
                fake.add_zone(rapl, (zone_id, 0), "dram", initial_joules=700.0 + 31.0 * zone_id)
                zone_id += 1
    elif kind == "intel-many":
        for package in range(12):
            fake.add_zone(rapl, (package,), f"package-{package}", initial_joules=2000.0 + 250.0 * package)
            fake.add_zone(rapl, (package, 0), "dram", initial_joules=300.0 + 10.0 * package)
        fake.add_zone(rapl, (12,), "psys", initial_joules=9000.0)
    elif kind in ("amd", "amd-2s"):
        for socket in range(1 if kind == "amd" else 2):
            fake.add_zone(
                rapl, (socket,), f"package-{socket}", unit_nj=UNIT_NJ_ESU16, initial_joules=6000.0 + 999.0 * socket
            )
            fake.add_zone(rapl, (socket, 0), "core", unit_nj=UNIT_NJ_ESU16, initial_joules=40.0 + socket)
    elif kind == "amd-die-mirrors":
        fake.add_zone(rapl, (0,), "package-0-die-0", unit_nj=UNIT_NJ_ESU16, initial_joules=6000.0)
        fake.add_zone(rapl, (0, 0), "core", unit_nj=UNIT_NJ_ESU16, initial_joules=40.0)
        fake.add_zone(rapl, (1,), "package-0-die-1", unit_nj=UNIT_NJ_ESU16, mirror_of="intel-rapl:0")
        fake.add_zone(rapl, (1, 0), "core", unit_nj=UNIT_NJ_ESU16, mirror_of="intel-rapl:0:0")
    else:
        raise ConfigError(f"unknown fake powercap kind {kind!r}; choose one of {', '.join(KINDS)}")
    return fake
