"""CPU cache sizes as the Linux kernel reports them in sysfs.

Source: ``/sys/devices/system/cpu/cpu0/cache/index*/{level,type,size,ways_of_associativity,
coherency_line_size,shared_cpu_list}`` (Documentation/ABI/testing/sysfs-devices-system-cpu). The
``size`` file reads like ``32K`` / ``32768K``. The root is injectable so tests can point it at a fake
tree; a plain mapping ``{"L1": bytes, "L2": bytes, "LLC": bytes}`` is accepted too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lstm_energy.errors import ArgumentTypeError, ConfigError, MachineInfoError

SYSFS_CACHE_ROOT = "/sys/devices/system/cpu/cpu0/cache"
_SIZE = re.compile(r"^\s*(\d+)\s*([KMG]?)i?B?\s*$", re.IGNORECASE)
_UNIT = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


@dataclass(frozen=True)
class CacheLevel:
    """One cache as seen from cpu0. type: "Data" | "Instruction" | "Unified"."""

    level: int
    type: str
    size_bytes: int
    ways: int | None = None
    line_bytes: int | None = None
    shared_cpu_list: str | None = None

    def as_dict(self) -> dict:
        return {
            "level": self.level,
            "type": self.type,
            "size_bytes": self.size_bytes,
            "ways": self.ways,
            "line_bytes": self.line_bytes,
            "shared_cpu_list": self.shared_cpu_list,
        }


@dataclass(frozen=True)
class CacheHierarchy:
    """The data caches a thread on cpu0 sees, innermost first, and where the sizes came from."""

    levels: tuple[CacheLevel, ...]
    source: str

    def _data(self) -> list[CacheLevel]:
        return sorted((c for c in self.levels if c.type != "Instruction"), key=lambda c: c.level)

    def size_of(self, level: int) -> int | None:
        """Bytes of the data/unified cache at ``level`` (1, 2, 3, ...), or None when there is none."""
        for cache in self._data():
            if cache.level == level:
                return cache.size_bytes
        return None

    @property
    def l1d(self) -> int | None:
        return self.size_of(1)

    @property
    def l2(self) -> int | None:
        return self.size_of(2)

    @property
    def llc(self) -> int | None:
        """The last-level (outermost) data cache in bytes."""
        data = self._data()
        return data[-1].size_bytes if data else None

    def named_levels(self) -> list[tuple[str, int]]:
        """[("L1", bytes), ("L2", bytes), ("LLC", bytes)] innermost first; the outermost is called LLC."""
        data = self._data()
        names = []
        for i, cache in enumerate(data):
            name = "LLC" if i == len(data) - 1 and cache.level > 1 else f"L{cache.level}"
            names.append((name, cache.size_bytes))
        return names

    @classmethod
    def from_sizes(cls, sizes: Mapping[str, int], source: str = "given") -> CacheHierarchy:
        """Build from ``{"L1": bytes, "L2": bytes, "L3"|"LLC": bytes}`` (e.g. for tests or another machine)."""
        levels = []
        for key, size in sizes.items():
            match = re.fullmatch(r"L(\d)d?|LLC", str(key), re.IGNORECASE)
            if not match:
                raise ConfigError(
                    f"cache key must be 'L1', 'L2', 'L3' or 'LLC', got {key!r}; e.g. {{'L2': 524288, 'LLC': 33554432}}"
                )
            if not isinstance(size, int) or size <= 0:
                raise ConfigError(f"cache size for {key!r} must be a positive int of bytes, got {size!r}")
            level = int(match.group(1)) if match.group(1) else None
            levels.append((level, size, key))
        explicit = [lv for lv, _, _ in levels if lv is not None]
        top = max(explicit, default=1)
        resolved = tuple(
            CacheLevel(level=lv if lv is not None else top + 1, type="Unified", size_bytes=size)
            for lv, size, _ in levels
        )
        return cls(levels=resolved, source=source)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "named": dict(self.named_levels()),
            "levels": [c.as_dict() for c in self.levels],
        }


def parse_size(text: str) -> int:
    """'32K' -> 32768; '1M' -> 1048576; '512' -> 512 (bytes)."""
    match = _SIZE.match(text)
    if not match:
        raise MachineInfoError(f"cannot parse a cache size from {text!r}; expected e.g. '32K' or '1M'")
    return int(match.group(1)) * _UNIT[match.group(2).upper()]


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def read_caches(root: str | os.PathLike = SYSFS_CACHE_ROOT) -> CacheHierarchy:
    """Read every ``index*`` directory under ``root``; raises MachineInfoError if none is readable."""
    root = Path(root)
    levels = []
    for index in sorted(root.glob("index*")):
        level, ctype, size = _read(index / "level"), _read(index / "type"), _read(index / "size")
        if level is None or ctype is None or not size:
            continue
        ways = _read(index / "ways_of_associativity")
        line = _read(index / "coherency_line_size")
        levels.append(
            CacheLevel(
                level=int(level),
                type=ctype,
                size_bytes=parse_size(size),
                ways=int(ways) if ways and ways.isdigit() else None,
                line_bytes=int(line) if line and line.isdigit() else None,
                shared_cpu_list=_read(index / "shared_cpu_list"),
            )
        )
    if not levels:
        raise MachineInfoError(
            f"no readable cache description under {str(root)!r} (expected index*/level, type, size);"
            " pass caches={'L1': ..., 'L2': ..., 'LLC': ...} in bytes, or a root= holding such a tree"
        )
    return CacheHierarchy(levels=tuple(levels), source=f"sysfs:{root}")


CachesLike = None | CacheHierarchy | Mapping[str, int] | str | os.PathLike


def resolve_caches(caches: CachesLike = None) -> CacheHierarchy:
    """None -> this machine's sysfs; a CacheHierarchy as is; a mapping of sizes; or a sysfs-like root path."""
    if caches is None:
        return read_caches()
    if isinstance(caches, CacheHierarchy):
        return caches
    if isinstance(caches, Mapping):
        return CacheHierarchy.from_sizes(caches)
    if isinstance(caches, (str, os.PathLike)):
        return read_caches(caches)
    raise ArgumentTypeError(
        f"caches must be None, a CacheHierarchy, a mapping like {{'L2': bytes, 'LLC': bytes}} or a sysfs root"
        f" path, got {type(caches).__name__}"
    )
