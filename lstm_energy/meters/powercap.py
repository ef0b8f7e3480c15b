"""RAPL energy through the Linux powercap sysfs tree (``/sys/class/powercap``): the default measured meter.

Counter: each zone's ``energy_uj`` (µJ), read by re-opening the file on every read.
Zones, keys, duplicates and headline domains: see :mod:`lstm_energy.meters.powercap_zones`.

Wrap modulus (a documented choice). The kernel reports ``energy_uj = raw * unit`` for a 32-bit raw
count and ``max_energy_range_uj = (2**32 - 1) * unit`` (``rapl_unit_xlate(ENERGY_STATUS_MASK)``;
e.g. 262143328850 for 61.035 µJ units). When the raw count wraps from 2**32 - 1 to 0, ``energy_uj``
goes from ``max`` to 0 while one more unit of energy was used, so the true modulus is
``max + unit = max * 2**32 / (2**32 - 1)``. We use exactly that. (``max + 1 µJ``, as pyJoules/Zeus do,
under-counts by about one unit, 15-61 µJ, per wrap.)

Several wraps in one long window: a background sampler thread reads every zone at
``sampler_period_seconds`` (default: smallest modulus / ``max_power_watts`` / 4, i.e. 16 s for a
65 536 J counter at 1000 W); a longer gap than one fastest wrap between two reads fails the next read
(see :mod:`lstm_energy.meters.wraparound`).
"""

from __future__ import annotations

import os
import pwd
import stat
import time

from lstm_energy.errors import MeterError
from lstm_energy.meters.base import Availability, EnergyMeter, EnergySample
from lstm_energy.meters.liveness import probe_measured
from lstm_energy.meters.powercap_zones import (
    MirrorCheck,
    PowercapZone,
    check_die_mirrors,
    discover_zones,
    drop_die_mirrors,
    drop_duplicates,
    headline_keys,
)
from lstm_energy.meters.remedies import (
    meter_error,
    permission_error,
    powercap_permission_fix,
    read_perf_event_paranoid,
)
from lstm_energy.meters.wraparound import DEFAULT_MAX_POWER_WATTS, microjoule_counters

DEFAULT_ROOT = "/sys/class/powercap"
#: the raw RAPL counter is 32 bits; the kernel's max_energy_range_uj is (2**32 - 1) units
RAW_COUNTER_STEPS = 2**32


def modulus_uj(max_energy_range_uj: int) -> float:
    """The wrap modulus of ``energy_uj`` in µJ: ``max + one unit`` with ``unit = max / (2**32 - 1)``."""
    return max_energy_range_uj * RAW_COUNTER_STEPS / (RAW_COUNTER_STEPS - 1)


def _describe_owner(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return "mode unknown"
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    return f"mode {stat.S_IMODE(info.st_mode):04o}, owner {owner}"


def read_energy_uj(zone: PowercapZone, proc_root: str = "/proc") -> int:
    """Current ``energy_uj`` of one zone; a permission failure becomes a MeterPermissionError with the fixes."""
    path = zone.energy_path
    try:
        with open(path, "rb") as handle:
            return int(handle.read())
    except PermissionError as err:
        raise permission_error(
            f"cannot read {path} ({_describe_owner(path)}; this process runs as uid {os.geteuid()}): "
            "energy_uj is root-only since the CVE-2020-8694 (PLATYPUS) fix in Linux 5.10 "
            "(also backported to older distribution kernels).",
            powercap_permission_fix(read_perf_event_paranoid(proc_root)),
        ) from err
    except (OSError, ValueError) as err:
        raise meter_error(
            f"cannot read {path} ({err}).",
            "check that the zone still exists (a driver reload renumbers zones) and re-open the meter",
        ) from err


class PowercapMeter(EnergyMeter):
    """RAPL counters of every powercap zone, wraparound-corrected, keyed ``package-0``, ``package-0/dram``...

    root: the powercap class directory (injectable: a fake tree from
        :mod:`lstm_energy.testing.fake_powercap`).
    max_power_watts: the most one counter can draw; sets the background sampling period and the
        longest gap allowed between two reads (the fastest wrap, see :mod:`.wraparound`).
    sampler_period_seconds: override the period (tests use a short one; at most half the fastest wrap);
        None = derived from the range.
    background_sampling: False = no thread (then read at least once per fastest wrap yourself, or the
        next read raises MeterError).
    dedupe_die_mirrors: drop dies whose counters mirror die 0 (AMD; see
        :func:`~lstm_energy.meters.powercap_zones.check_die_mirror`); False keeps every die.
    """

    name = "powercap"
    provenance = "measured"
    update_interval_seconds = 1e-3

    def __init__(
        self,
        root: str = DEFAULT_ROOT,
        *,
        max_power_watts: float = DEFAULT_MAX_POWER_WATTS,
        sampler_period_seconds: float | None = None,
        background_sampling: bool = True,
        dedupe_die_mirrors: bool = True,
        proc_root: str = "/proc",
    ):
        self.root = str(root)
        self._proc_root = proc_root
        zones, self.ignored_zones = drop_duplicates(discover_zones(self.root))
        #: the die-mirror checks made when the meter opened (evidence for the dies kept and dropped)
        self.die_mirror_checks: list[MirrorCheck] = []
        if not zones:
            raise meter_error(
                f"the powercap tree at {self.root} has no RAPL zone (no intel-rapl:* directory).",
                "load the RAPL driver (`sudo modprobe intel_rapl_msr`) on bare-metal Intel or AMD Zen; "
                "virtual machines usually hide RAPL",
            )
        for zone in zones:  # fail early, with the permission fixes, before any thread starts
            read_energy_uj(zone, proc_root)
        if dedupe_die_mirrors:
            zones = self._drop_mirrors(zones)
        self.zones: dict[str, PowercapZone] = {zone.key: zone for zone in zones}
        self._headline = headline_keys(zones)
        moduli = {key: modulus_uj(zone.max_energy_range_uj) for key, zone in self.zones.items()}
        self.max_power_watts = float(max_power_watts)
        self._counters = microjoule_counters(
            self._read_raw,
            moduli,
            max_power_watts=self.max_power_watts,
            background_sampling=background_sampling,
            sampler_period_seconds=sampler_period_seconds,
            name="lstm-energy-powercap-sampler",
        )
        self._closed = False

    def _drop_mirrors(self, zones: list[PowercapZone]) -> list[PowercapZone]:
        self.die_mirror_checks = check_die_mirrors(zones, lambda zone: read_energy_uj(zone, self._proc_root))
        kept, ignored = drop_die_mirrors(zones, self.die_mirror_checks)
        self.ignored_zones.extend(ignored)
        return kept

    def _read_raw(self) -> dict[str, int]:
        return {key: read_energy_uj(zone, self._proc_root) for key, zone in self.zones.items()}

    @classmethod
    def probe(cls, root: str = DEFAULT_ROOT, **kwargs) -> Availability:
        def found(meter):
            return (
                f"reads {len(meter.domains)} powercap zones under {root}: {', '.join(meter.domains)}; "
                f"headline {' + '.join(meter.headline_domains)}",
                {"root": str(root), "domains": list(meter.domains)},
            )

        return probe_measured(cls, lambda: cls(root, background_sampling=False, **kwargs), found, {"root": str(root)})

    def counter_of(self, domain: str) -> str:
        return self.zones[domain].energy_path

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(self.zones)

    @property
    def headline_domains(self) -> tuple[str, ...]:
        return self._headline

    @property
    def sampler(self):
        """The background :class:`~lstm_energy.meters.wraparound.PeriodicSampler`, or None."""
        return self._counters.sampler

    def read(self) -> EnergySample:
        if self._closed:
            raise MeterError("this PowercapMeter is closed; open a new one to read again")
        totals_uj = self._counters.poll()
        return EnergySample(time.monotonic(), {key: total * 1e-6 for key, total in totals_uj.items()})

    def describe(self) -> dict:
        sampler = self._counters.sampler
        return {
            "name": self.name,
            "provenance": self.provenance,
            "counter": "Linux powercap sysfs energy_uj (Intel/AMD RAPL), microjoules",
            "root": self.root,
            "units": "J (energy_uj x 1e-6)",
            "domains": {
                key: {
                    "zone": zone.zone_id,
                    "path": zone.path,
                    "max_energy_range_uj": zone.max_energy_range_uj,
                    "modulus_uj": modulus_uj(zone.max_energy_range_uj),
                    "enabled": zone.enabled,
                }
                for key, zone in self.zones.items()
            },
            "headline_domains": list(self._headline),
            "headline_rule": "packages; psys only when there is no package; dram, core, uncore reported apart",
            "ignored_zones": [zone.as_dict() for zone in self.ignored_zones],
            "die_mirror_checks": [check.as_dict() for check in self.die_mirror_checks],
            "wraparound": {
                "modulus": "max_energy_range_uj * 2**32 / (2**32 - 1) (max + one counter unit)",
                "sampler_period_seconds": sampler.period_seconds if sampler else None,
                "max_power_watts": self.max_power_watts,
                "fastest_wrap_seconds": self._counters.fastest_wrap_seconds,
                "wraps": self._counters.wraps,
                "max_poll_gap_seconds": self._counters.max_poll_gap_seconds,
            },
            "scope": "whole system (every process), per package/socket",
        }

    def close(self) -> None:
        self._closed = True
        self._counters.close()
