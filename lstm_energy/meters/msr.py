"""RAPL energy straight from the model-specific registers (``/dev/cpu/N/msr``), Intel and AMD.

Registers (Intel SDM Vol 3B 14.9; kernel ``msr-index.h``), read on the first CPU of each package::

    Intel  MSR_RAPL_POWER_UNIT 0x606   package 0x611  dram 0x619  core (PP0) 0x639  uncore (PP1) 0x641  psys 0x64D
    AMD    MSR_AMD_RAPL_POWER_UNIT 0xC0010299   package 0xC001029B   core 0xC001029A (one core's counter)

Energy unit: bits 12:8 of the unit register (ESU), ``unit = 2**-ESU`` J, read per package and decoded
for every register. Known exceptions (``arch/x86/events/rapl.c`` unit quirks): the DRAM counter of
Haswell-X, Broadwell-X/D, Skylake-X, Icelake-X/D, Sapphire/Emerald Rapids and Xeon Phi counts in
2**-16 J whatever ESU says, and psys on Sapphire/Emerald Rapids counts in 1 J; ``unit_overrides``
sets any other case (e.g. Atom Silvermont's 2**ESU µJ encoding).
Energy counters are 32 bits (bits 31:0) and wrap every 2**32 units: corrected by
:mod:`lstm_energy.meters.wraparound` with a background sampler thread.
A register that cannot be read (EIO) or reads 0 is absent, as the kernel treats it (``rapl_check_domain``).

Access needs the ``msr`` driver (``modprobe msr``) and root with CAP_SYS_RAWIO.
"""

from __future__ import annotations

import time

from lstm_energy.errors import MeterError
from lstm_energy.meters import wraparound
from lstm_energy.meters.base import Availability, EnergyMeter, EnergySample
from lstm_energy.meters.liveness import probe_measured
from lstm_energy.meters.microarchitecture import read_cpuinfo
from lstm_energy.meters.msr_device import DevCpuMsr, MsrDevice
from lstm_energy.meters.remedies import meter_error
from lstm_energy.meters.topology import first_cpu_of_each_package
from lstm_energy.meters.wraparound import DEFAULT_MAX_POWER_WATTS, UnwrappedCounters

INTEL_UNIT_MSR = 0x606
INTEL_ENERGY_MSRS = {"package": 0x611, "dram": 0x619, "core": 0x639, "uncore": 0x641, "psys": 0x64D}
AMD_UNIT_MSR = 0xC0010299
AMD_ENERGY_MSRS = {"package": 0xC001029B, "core": 0xC001029A}
COUNTER_STEPS = 2**32

#: Intel family-6 models whose DRAM counter uses 2**-16 J (rapl.c RAPL_UNIT_QUIRK_INTEL_HSW / _SPR)
DRAM_UNIT_QUIRK_MODELS = {0x3F, 0x4F, 0x56, 0x55, 0x6A, 0x6C, 0x57, 0x85, 0x8F, 0xCF}
#: Intel family-6 models whose psys counter uses 1 J (RAPL_UNIT_QUIRK_INTEL_SPR)
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
        cpuinfo_path: str = "/proc/cpuinfo",
        unit_overrides: dict[str, float] | None = None,
        max_power_watts: float = DEFAULT_MAX_POWER_WATTS,
        sampler_period_seconds: float | None = None,
        background_sampling: bool = True,
    ):
        self.device = device if device is not None else DevCpuMsr(dev_root)
        detected, family, model = read_cpuinfo(cpuinfo_path)
        self.vendor = detected if vendor == "auto" else vendor
        if self.vendor == "hygon":
            self.vendor = "amd"
        if self.vendor not in ("intel", "amd"):
            raise meter_error(
                f"RAPL MSRs exist only on Intel and AMD/Hygon CPUs; this CPU's vendor is {self.vendor!r} "
                f"(from {cpuinfo_path}).",
                "use the model estimator on this CPU, or pass vendor='intel'/'amd' if detection is wrong",
            )
        self.cpus = dict(cpus) if cpus is not None else first_cpu_of_each_package(sysfs_root)
        quirks = {}
        if self.vendor == "intel" and family == 6 and model in DRAM_UNIT_QUIRK_MODELS:
            quirks["dram"] = 2.0**-16
        if self.vendor == "intel" and family == 6 and model in PSYS_UNIT_QUIRK_MODELS:
            quirks["psys"] = 1.0
        self.unit_overrides = {**quirks, **(unit_overrides or {})}
        self._open = True
        try:
            if isinstance(self.device, DevCpuMsr):
                for cpu in self.cpus.values():
                    self.device.open(cpu)
            self._registers, self.units = self._find_registers()
        except BaseException:
            self.close()
            raise
        moduli = {key: float(COUNTER_STEPS) for key in self._registers}
        self.max_power_watts = float(max_power_watts)
        period = None
        if background_sampling:
            smallest = min(COUNTER_STEPS * self.units[key] for key in self._registers)
            period = sampler_period_seconds or wraparound.sampler_period_seconds(smallest, max_power_watts)
        self._counters = UnwrappedCounters(self._read_raw, moduli, period, name="lstm-energy-msr-sampler")

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
                "wraps": self._counters.wraps,
            },
            "scope": "whole system (every process), per package",
        }

    def close(self) -> None:
        counters = getattr(self, "_counters", None)
        if counters is not None:
            counters.close()
        self._open = False
        self.device.close()
