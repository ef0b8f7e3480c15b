"""RAPL energy straight from the model-specific registers (``/dev/cpu/N/msr``), Intel and AMD.

Registers (Intel SDM Vol 3B 14.9; kernel ``msr-index.h``), read on the first CPU of each package::

    Intel  MSR_RAPL_POWER_UNIT 0x606   package 0x611  dram 0x619  core (PP0) 0x639  uncore (PP1) 0x641  psys 0x64D
    AMD    MSR_AMD_RAPL_POWER_UNIT 0xC0010299   package 0xC001029B   core 0xC001029A (one core's counter)

Energy unit: bits 12:8 of the unit register (ESU), ``unit = 2**-ESU`` J, read per package and decoded
for every register. Known exceptions (``arch/x86/events/rapl.c`` unit quirks): the DRAM counter of
Haswell-X, Broadwell-X/D, Skylake-X, Icelake-X/D and Xeon Phi counts in 2**-16 J whatever ESU says,
and psys on Sapphire/Emerald Rapids counts in 1 J. Sapphire/Emerald Rapids DRAM has no quirk: it
counts in the ESU of the unit register (Linux 80275ca9e525, "perf/x86/rapl: Use standard Energy Unit
for SPR Dram RAPL domain"). ``unit_overrides`` sets any other case (e.g. Atom Silvermont's 2**ESU µJ
encoding).
Energy counters are 32 bits (bits 31:0) and wrap every 2**32 units: corrected by
:mod:`lstm_energy.meters.wraparound` with a background sampler thread.
A register that cannot be read (EIO) or reads 0 is absent, as the kernel treats it (``rapl_check_domain``).

Access needs the ``msr`` driver (``modprobe msr``) and root with CAP_SYS_RAWIO.
"""

from __future__ import annotations

import os
import time

from lstm_energy.errors import MeterError
from lstm_energy.meters.base import Availability, EnergyMeter, EnergySample
from lstm_energy.meters.liveness import probe_measured
from lstm_energy.meters.microarchitecture import CPUINFO, read_cpuinfo
from lstm_energy.meters.msr_device import DevCpuMsr, MsrDevice
from lstm_energy.meters.remedies import meter_error
from lstm_energy.meters.topology import first_cpu_of_each_package
from lstm_energy.meters.wraparound import DEFAULT_MAX_POWER_WATTS, UnwrappedCounters

INTEL_UNIT_MSR = 0x606
INTEL_ENERGY_MSRS = {"package": 0x611, "dram": 0x619, "core": 0x639, "uncore": 0x641, "psys": 0x64D}
AMD_UNIT_MSR = 0xC0010299
AMD_ENERGY_MSRS = {"package": 0xC001029B, "core": 0xC001029A}
COUNTER_STEPS = 2**32

#: Intel family-6 models whose DRAM counter uses 2**-16 J whatever ESU says (rapl.c RAPL_UNIT_QUIRK_INTEL_HSW):
#: Haswell-X 0x3F, Broadwell-X 0x4F, Broadwell-D 0x56, Skylake-X 0x55, Icelake-X 0x6A, Icelake-D 0x6C,
#: Xeon Phi KNL 0x57 and KNM 0x85. Not Sapphire/Emerald Rapids (0x8F, 0xCF): their DRAM uses the ESU
#: (Linux 80275ca9e525); only their psys has a fixed unit (below).
DRAM_UNIT_QUIRK_MODELS = {0x3F, 0x4F, 0x56, 0x55, 0x6A, 0x6C, 0x57, 0x85}
#: Intel family-6 models whose psys counter uses 1 J (RAPL_UNIT_QUIRK_INTEL_SPR: Sapphire/Emerald Rapids)
PSYS_UNIT_QUIRK_MODELS = {0x8F, 0xCF}


def energy_unit_joules(unit_register: int) -> float:
    """Joules per count from a RAPL power-unit register: ESU = bits 12:8, unit = 2**-ESU J."""
    esu = (unit_register >> 8) & 0x1F
    return 2.0**-esu


class MsrMeter(EnergyMeter):
    """RAPL energy from ``/dev/cpu/N/msr``; keys ``package-N``, ``package-N/dram``, ``package-N/core``, ``psys``.

    dev_root: directory of the per-CPU msr devices (injectable: tests write fake 8-byte little-endian
        registers at offset = MSR address into sparse files ``<dev_root>/<cpu>/msr``).
    device: any :class:`~lstm_energy.meters.msr_device.MsrDevice` instead of ``dev_root`` (tests of
        AMD's adjacent registers use :class:`~lstm_energy.meters.msr_device.MappingMsrDevice`).
    cpus: ``{package id: cpu}`` to read each package on (default: from ``sysfs_root`` topology).
    vendor: "intel", "amd" (Hygon reads as AMD) or "auto" (from ``cpuinfo_path``).
    unit_overrides: joules per count by domain kind ("package", "dram", "core", "uncore", "psys").
    """

    name = "msr"
    provenance = "measured"
    update_interval_seconds = 1e-3

    def __init__(
        self,
        dev_root: str = "/dev/cpu",
        *,
        device: MsrDevice | None = None,
        cpus: dict[int, int] | None = None,
        vendor: str = "auto",
        sysfs_root: str = "/sys",
        cpuinfo_path: str | os.PathLike = CPUINFO,
        unit_overrides: dict[str, float] | None = None,
        max_power_watts: float = DEFAULT_MAX_POWER_WATTS,
        sampler_period_seconds: float | None = None,
        background_sampling: bool = True,
    ):
        self.device = device if device is not None else DevCpuMsr(dev_root)
        self._open = True
        try:  # any failure from here on closes the msr devices opened so far
            detected, family, model = read_cpuinfo(cpuinfo_path)
            self.vendor = self._supported_vendor(detected if vendor == "auto" else vendor, cpuinfo_path)
            self.cpus = dict(cpus) if cpus is not None else first_cpu_of_each_package(sysfs_root)
            self.unit_overrides = {**self._unit_quirks(family, model), **(unit_overrides or {})}
            if isinstance(self.device, DevCpuMsr):
                for cpu in self.cpus.values():
                    self.device.open(cpu)
            self._registers, self.units = self._find_registers()
            self.max_power_watts = float(max_power_watts)
            self._counters = UnwrappedCounters(
                self._read_raw,
                {key: float(COUNTER_STEPS) for key in self._registers},
                range_joules=min(COUNTER_STEPS * self.units[key] for key in self._registers),
                max_power_watts=self.max_power_watts,
                background_sampling=background_sampling,
                sampler_period_seconds=sampler_period_seconds,
                name="lstm-energy-msr-sampler",
            )
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _supported_vendor(vendor: str, cpuinfo_path: str | os.PathLike) -> str:
        """The vendor as the meter names it, ``intel`` or ``amd`` (Hygon reads as AMD); a meter error for others."""
        vendor = "amd" if vendor == "hygon" else vendor
        if vendor not in ("intel", "amd"):
            raise meter_error(
                f"RAPL MSRs exist only on Intel and AMD/Hygon CPUs; this CPU's vendor is {vendor!r} "
                f"(from {cpuinfo_path}).",
                "use the model estimator on this CPU, or pass vendor='intel'/'amd' if detection is wrong",
            )
        return vendor

    def _unit_quirks(self, family: int | None, model: int | None) -> dict[str, float]:
        """Joules per count of the domains whose unit is fixed by the CPU model, not by the ESU field."""
        if self.vendor != "intel" or family != 6:
            return {}
        quirks = {}
        if model in DRAM_UNIT_QUIRK_MODELS:
            quirks["dram"] = 2.0**-16
        if model in PSYS_UNIT_QUIRK_MODELS:
            quirks["psys"] = 1.0
        return quirks

    # ------------------------------------------------------------------------------------------ access
    def _read_msr(self, cpu: int, address: int) -> int:
        return self.device.read(cpu, address)

    def _find_registers(self) -> tuple[dict[str, tuple[int, int]], dict[str, float]]:
        """``{key: (cpu, msr)}`` of every present energy register and ``{key: joules per count}``."""
        unit_msr, energy_msrs = (
            (INTEL_UNIT_MSR, INTEL_ENERGY_MSRS)
            if self.vendor == "intel"
            else (
                AMD_UNIT_MSR,
                AMD_ENERGY_MSRS,
            )
        )
        registers: dict[str, tuple[int, int]] = {}
        units: dict[str, float] = {}
        for index, (package, cpu) in enumerate(sorted(self.cpus.items())):
            try:
                unit = energy_unit_joules(self._read_msr(cpu, unit_msr))
            except OSError as err:
                raise meter_error(
                    f"cannot read the RAPL unit register {unit_msr:#x} on CPU {cpu} ({err.strerror or err}): "
                    f"this {self.vendor} CPU (or its hypervisor) does not implement RAPL MSRs.",
                    "run on bare metal with a RAPL-capable CPU (Intel Sandy Bridge+, AMD Zen), or use the model "
                    "estimator",
                ) from err
            for kind, address in energy_msrs.items():
                if kind == "psys" and index > 0:
                    continue  # platform scope: read once
                try:
                    value = self._read_msr(cpu, address) & 0xFFFFFFFF
                except OSError:
                    continue  # not implemented on this model
                if value == 0:
                    continue  # the kernel also treats a zero counter as an absent domain
                key = (
                    "psys"
                    if kind == "psys"
                    else (f"package-{package}" if kind == "package" else f"package-{package}/{kind}")
                )
                registers[key] = (cpu, address)
                units[key] = self.unit_overrides.get(kind, unit)
        if not any(key.startswith("package-") and "/" not in key for key in registers):
            raise meter_error(
                f"no package energy register ({energy_msrs['package']:#x}) reads a non-zero value on CPUs "
                f"{sorted(self.cpus.values())}.",
                "this CPU does not count energy in MSRs (virtual machine?); use another backend",
            )
        return registers, units

    def _read_raw(self) -> dict[str, int]:
        return {key: self._read_msr(cpu, address) & 0xFFFFFFFF for key, (cpu, address) in self._registers.items()}

    # ------------------------------------------------------------------------------------------ interface
    @classmethod
    def probe(cls, dev_root: str = "/dev/cpu", **kwargs) -> Availability:
        def found(meter):
            return f"{meter.vendor} RAPL MSRs readable: {', '.join(meter.domains)}", {"domains": list(meter.domains)}

        return probe_measured(cls, lambda: cls(dev_root, background_sampling=False, **kwargs), found)

    def counter_of(self, domain: str) -> str:
        cpu, address = self._registers[domain]
        return f"MSR {address:#x} on CPU {cpu}"

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(self._registers)

    @property
    def headline_domains(self) -> tuple[str, ...]:
        return tuple(k for k in self._registers if "/" not in k and k.startswith("package-")) or ("psys",)

    @property
    def sampler(self):
        """The background :class:`~lstm_energy.meters.wraparound.PeriodicSampler`, or None."""
        return self._counters.sampler

    def read(self) -> EnergySample:
        if not self._open:
            raise MeterError("this MsrMeter is closed; open a new one to read again")
        totals = self._counters.poll()
        return EnergySample(time.monotonic(), {key: total * self.units[key] for key, total in totals.items()})

    def describe(self) -> dict:
        sampler = self._counters.sampler
        return {
            "name": self.name,
            "provenance": self.provenance,
            "counter": f"{self.vendor} RAPL energy-status MSRs via {self.device.describe()} (32-bit counts x unit)",
            "units": "J",
            "domains": {
                key: {"cpu": cpu, "msr": f"{address:#x}", "joules_per_count": self.units[key]}
                for key, (cpu, address) in self._registers.items()
            },
            "unit_overrides": dict(self.unit_overrides),
            "headline_domains": list(self.headline_domains),
            "notes": "AMD core counter covers one core only" if self.vendor == "amd" else "",
            "wraparound": {
                "modulus": "2**32 counts",
                "sampler_period_seconds": sampler.period_seconds if sampler else None,
                "max_power_watts": self.max_power_watts,
                "fastest_wrap_seconds": self._counters.fastest_wrap_seconds,
                "wraps": self._counters.wraps,
                "max_poll_gap_seconds": self._counters.max_poll_gap_seconds,
            },
            "scope": "whole system (every process), per package",
        }

    def close(self) -> None:
        counters = getattr(self, "_counters", None)
        if counters is not None:
            counters.close()
        self._open = False
        self.device.close()
