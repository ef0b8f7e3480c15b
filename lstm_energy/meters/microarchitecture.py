"""Which CPU microarchitecture is this? From ``/proc/cpuinfo``, for picking a power-coefficient row.

Order of evidence, and every answer says which one was used:

1. cpuid vendor / family / model (/ stepping), from the ``vendor_id``, ``cpu family``, ``model`` and
   ``stepping`` lines. Cloud guests often show a generic "model name" ("Intel(R) Xeon(R) Processor",
   "AMD EPYC") but keep family and model, so this comes first. Table: :data:`CPUID_TABLE`.
2. the "model name" text (codename, Xeon Scalable / EPYC model number). Table: :data:`NAME_PATTERNS`.
3. nothing matched: ``Identification.row is None`` and the caller uses an average.

Sources of the cpuid table (family/model numbers are decimal in /proc/cpuinfo, hex in the kernel):

* Intel family 6: Linux ``arch/x86/include/asm/intel-family.h`` (``INTEL_FAM6_SKYLAKE_X 0x55``
  with the comments "CASCADELAKE_X 0x55 s: 7" and "COOPERLAKE_X 0x55 s: 11", ``ICELAKE_X 0x6A``,
  ``ICELAKE_D 0x6C``, ``SAPPHIRERAPIDS_X 0x8F``, ``EMERALDRAPIDS_X IFM(6, 0xCF)``,
  ``GRANITERAPIDS_X IFM(6, 0xAD)``, ``GRANITERAPIDS_D IFM(6, 0xAE)``, "KABYLAKE 0x9E ... COFFEELAKE
  s: 10-13", "KABYLAKE_L 0x8E ... COFFEELAKE_L s: 10", and the older Sandy Bridge .. Broadwell ids).
  Skylake-SP steppings 0-4, Cascade Lake 5-7 (the kernel lists 7; 5 and 6 are earlier Cascade Lake
  steppings), Cooper Lake 10-11.
* AMD: Linux ``arch/x86/kernel/cpu/amd.c`` ``bsp_init_amd`` "Figure out Zen generations": family
  0x17 models 0x00-0x2f, 0x50-0x5f = Zen 1; 0x30-0x4f, 0x60-0x7f, 0x90-0x91, 0xa0-0xaf = Zen 2;
  family 0x19 models 0x00-0x0f, 0x20-0x5f = Zen 3; 0x10-0x1f, 0x60-0xaf = Zen 4; family 0x1a
  models 0x00-0x2f, 0x40-0x4f, 0x60-0x7f = Zen 5 (0x50-0x5f, 0x80-0xaf, 0xc0-0xef are Zen 6, for
  which no coefficient row exists). EPYC generation n is Zen n (Naples, Rome, Milan, Genoa/Bergamo,
  Turin); client Ryzen parts of the same Zen generation map to the same row and say "client".

Rows are the ``Architecture`` names of Cloud Carbon Footprint's coefficient table
(:mod:`lstm_energy.meters.ccf`), which is keyed by microarchitecture, not by market segment.
Arm CPUs (Graviton) are not identified.

The file is read by :func:`lstm_energy.machine.info.cpuinfo_fields` (the one cpuinfo parser, with the
one default path ``CPUINFO``): the first value of each key, which on x86 is the first processor's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from lstm_energy.machine.info import CPUINFO, cpuinfo_fields

_VENDORS = {"GenuineIntel": "intel", "AuthenticAMD": "amd", "HygonGenuine": "hygon"}


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def read_cpuinfo(path: str | os.PathLike = CPUINFO) -> tuple[str, int | None, int | None]:
    """(vendor, family, model) of the first CPU in /proc/cpuinfo; vendor is 'intel', 'amd', 'hygon' or raw."""
    return _vendor_family_model(cpuinfo_fields(path))


def _vendor_family_model(fields: dict[str, str]) -> tuple[str, int | None, int | None]:
    vendor = fields.get("vendor_id", "")
    return (
        _VENDORS.get(vendor, vendor or "unknown"),
        _int_or_none(fields.get("cpu family")),
        _int_or_none(fields.get("model")),
    )


@dataclass(frozen=True)
class CpuId:
    """What cpuinfo says about the first CPU (family/model/stepping decimal, as /proc/cpuinfo prints them)."""

    vendor: str  # "intel", "amd", "hygon", raw vendor_id, or "unknown"
    family: int | None
    model: int | None
    stepping: int | None
    model_name: str  # "" when the file has none


def read_cpu_id(path: str | os.PathLike = CPUINFO) -> CpuId:
    """:class:`CpuId` of the first CPU in ``path``; unreadable or missing fields come back empty/None.

    The model name comes from :func:`lstm_energy.machine.info.cpu_model` ("model name" line).
    """
    from lstm_energy.errors import MachineInfoError
    from lstm_energy.machine.info import cpu_model

    fields = cpuinfo_fields(path)
    vendor, family, model = _vendor_family_model(fields)
    stepping = _int_or_none(fields.get("stepping"))
    try:
        name = cpu_model(path) if os.path.exists(path) else ""
    except MachineInfoError:
        name = ""
    return CpuId(vendor, family, model, stepping, name)


@dataclass(frozen=True)
class CpuidRange:
    """One row of the cpuid table: vendor, family, model range(s), stepping range -> microarchitecture."""

    vendor: str
    family: int
    models: tuple[tuple[int, int], ...]  # inclusive (first, last) model ranges
    microarchitecture: str  # what the CPU is, e.g. "Zen 4 (EPYC Genoa/Bergamo)"
    row: str | None  # the coefficient row (CCF "Architecture"), None = no row for it
    steppings: tuple[int, int] = (0, 0xFF)
    note: str = ""

    def matches(self, cpu: CpuId) -> bool:
        if cpu.vendor != self.vendor or cpu.family != self.family or cpu.model is None:
            return False
        if not any(first <= cpu.model <= last for first, last in self.models):
            return False
        stepping = cpu.stepping if cpu.stepping is not None else 0
        return self.steppings[0] <= stepping <= self.steppings[1]


def _intel(models, name, row, steppings=(0, 0xFF), note=""):
    return CpuidRange(
        "intel", 6, tuple((m, m) if isinstance(m, int) else m for m in models), name, row, steppings, note
    )


def _amd(family, models, name, row, note=""):
    return CpuidRange("amd", family, tuple(models), name, row, note=note)


#: cpuid -> microarchitecture (sources in the module docstring); first match wins
CPUID_TABLE: tuple[CpuidRange, ...] = (
    _intel([0x2A, 0x2D], "Sandy Bridge", "Sandy Bridge"),
    _intel([0x3A, 0x3E], "Ivy Bridge", "Ivy Bridge"),
    _intel([0x3C, 0x3F, 0x45, 0x46], "Haswell", "Haswell"),
    _intel([0x3D, 0x47, 0x4F, 0x56], "Broadwell", "Broadwell"),
    _intel([0x4E, 0x5E], "Skylake (client)", "Skylake"),
    _intel([0x55], "Skylake-SP", "Skylake", steppings=(0, 4)),
    _intel([0x55], "Cascade Lake", "Cascade Lake", steppings=(5, 7)),
    _intel(
        [0x55],
        "Cooper Lake",
        "Cascade Lake",
        steppings=(8, 0xFF),
        note="no Cooper Lake row; Cascade Lake is the same family-6 model 0x55 core",
    ),
    _intel([0x9E], "Coffee Lake", "Coffee Lake", steppings=(10, 13)),
    _intel([0x8E], "Coffee Lake (mobile)", "Coffee Lake", steppings=(10, 10)),
    _intel([0x6A, 0x6C, 0x7D, 0x7E, 0x9D], "Ice Lake", "Ice Lake"),
    _intel([0x8F], "Sapphire Rapids", "Sapphire Rapids"),
    _intel([0xCF], "Emerald Rapids", "Emerald Rapids"),
    _intel([0xAD, 0xAE], "Granite Rapids", "Granite Rapids"),
    _amd(0x17, [(0x00, 0x2F), (0x50, 0x5F)], "Zen 1 (EPYC Naples; Ryzen client)", "EPYC 1st Gen"),
    _amd(
        0x17,
        [(0x30, 0x4F), (0x60, 0x7F), (0x90, 0x91), (0xA0, 0xAF)],
        "Zen 2 (EPYC Rome; Ryzen client)",
        "EPYC 2nd Gen",
    ),
    _amd(0x19, [(0x00, 0x0F)], "Zen 3 (EPYC Milan)", "EPYC 3rd Gen"),
    _amd(0x19, [(0x20, 0x5F)], "Zen 3 (client: Ryzen/Threadripper)", "EPYC 3rd Gen"),
    _amd(0x19, [(0x10, 0x1F), (0xA0, 0xAF)], "Zen 4 (EPYC Genoa/Bergamo)", "EPYC 4th Gen"),
    _amd(0x19, [(0x60, 0x9F)], "Zen 4 (client: Ryzen)", "EPYC 4th Gen"),
    _amd(0x1A, [(0x00, 0x2F), (0x40, 0x4F), (0x60, 0x7F)], "Zen 5 (EPYC Turin; Ryzen client)", "EPYC 5th Gen"),
    _amd(0x1A, [(0x50, 0x5F), (0x80, 0xAF), (0xC0, 0xEF)], "Zen 6", None),
)

#: model-name text -> row, tried in order when cpuid gave nothing. Codenames (as QEMU's named CPU
#: models print them, e.g. "Intel Xeon Processor (Cascadelake)", "AMD EPYC-Milan Processor");
#: Xeon Scalable numbers (Bronze/Silver/Gold/Platinum NGxx: the digit after the class digit is the
#: generation, 1 Skylake, 2 Cascade Lake, 3 Ice Lake or, with an H suffix, Cooper Lake, 4 Sapphire
#: Rapids, 5 Emerald Rapids); Xeon 6 P-core parts 69xxP/67xxP (Granite Rapids); EPYC model numbers,
#: whose last digit is the generation (7xx1 Naples, 7xx2 Rome, 7xx3 Milan, 9xx4/8xx4/4xx4 Zen 4,
#: 9xx5/4xx5 Zen 5; AWS variants such as "7R13" follow the same rule).
NAME_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"granite\s*rapids", "Granite Rapids"),
    (r"emerald\s*rapids", "Emerald Rapids"),
    (r"sapphire\s*rapids", "Sapphire Rapids"),
    (r"ice\s*lake", "Ice Lake"),
    (r"cascade\s*lake|cooper\s*lake", "Cascade Lake"),
    (r"coffee\s*lake", "Coffee Lake"),
    (r"skylake|sky\s+lake", "Skylake"),
    (r"broadwell", "Broadwell"),
    (r"haswell", "Haswell"),
    (r"ivy\s*bridge", "Ivy Bridge"),
    (r"sandy\s*bridge", "Sandy Bridge"),
    (r"epyc[\s-]*naples", "EPYC 1st Gen"),
    (r"epyc[\s-]*rome", "EPYC 2nd Gen"),
    (r"epyc[\s-]*milan", "EPYC 3rd Gen"),
    (r"epyc[\s-]*(genoa|bergamo|siena)", "EPYC 4th Gen"),
    (r"epyc[\s-]*turin", "EPYC 5th Gen"),
    (r"(platinum|gold|silver|bronze)\s+[3-9]3\d\dhl?\b", "Cascade Lake"),  # 3rd gen H/HL = Cooper Lake
    (r"(platinum|gold|silver|bronze)\s+[3-9]1\d\d", "Skylake"),
    (r"(platinum|gold|silver|bronze)\s+[3-9]2\d\d", "Cascade Lake"),
    (r"(platinum|gold|silver|bronze)\s+[3-9]3\d\d", "Ice Lake"),
    (r"(platinum|gold|silver|bronze)\s+[3-9]4\d\d", "Sapphire Rapids"),
    (r"(platinum|gold|silver|bronze)\s+[3-9]5\d\d", "Emerald Rapids"),
    (r"xeon.*\b6[79]\d\dp", "Granite Rapids"),
    (r"epyc\s+7\w\w1\b", "EPYC 1st Gen"),
    (r"epyc\s+7\w\w2\b", "EPYC 2nd Gen"),
    (r"epyc\s+7\w\w3\b", "EPYC 3rd Gen"),
    (r"epyc\s+[489]\w\w4\b", "EPYC 4th Gen"),
    (r"epyc\s+[49]\w\w5\b", "EPYC 5th Gen"),
)


@dataclass(frozen=True)
class Identification:
    """The outcome: the coefficient row (None = unknown) and, in words, how it was found."""

    row: str | None
    microarchitecture: str | None
    method: str  # "cpuid" | "model name" | "unknown"
    identified_by: str  # one line, e.g. "identified from cpuid family 6 model 207 (Emerald Rapids)"
    cpu: CpuId

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "microarchitecture": self.microarchitecture,
            "method": self.method,
            "identified_by": self.identified_by,
            "vendor": self.cpu.vendor,
            "family": self.cpu.family,
            "model": self.cpu.model,
            "stepping": self.cpu.stepping,
            "model_name": self.cpu.model_name,
        }


def identify(cpu: CpuId) -> Identification:
    """Match ``cpu`` against :data:`CPUID_TABLE`, then :data:`NAME_PATTERNS`; say which matched."""
    cpuid_text = f"cpuid family {cpu.family} model {cpu.model}"
    if cpu.stepping is not None:
        cpuid_text += f" stepping {cpu.stepping}"
    unrowed = None
    for entry in CPUID_TABLE:
        if entry.matches(cpu):
            if entry.row is None:
                unrowed = entry
                break
            note = f"; {entry.note}" if entry.note else ""
            return Identification(
                entry.row,
                entry.microarchitecture,
                "cpuid",
                f"identified from {cpuid_text}: {entry.microarchitecture}{note}",
                cpu,
            )
    for pattern, row in NAME_PATTERNS:
        if cpu.model_name and re.search(pattern, cpu.model_name, re.IGNORECASE):
            return Identification(
                row,
                row,
                "model name",
                f"identified from model name {cpu.model_name!r} ({cpuid_text} not in the table)",
                cpu,
            )
    what = (
        f"{cpuid_text} is {unrowed.microarchitecture}, which has no coefficient row"
        if unrowed
        else f"{cpu.vendor} {cpuid_text} not in the table"
    )
    name = f"model name {cpu.model_name!r} not recognised" if cpu.model_name else "no model name"
    return Identification(
        None, unrowed.microarchitecture if unrowed else None, "unknown", f"unknown CPU: {what}, {name}", cpu
    )


def identify_cpu(cpuinfo: str | os.PathLike = CPUINFO) -> Identification:
    """:func:`identify` the first CPU of a cpuinfo file (default ``/proc/cpuinfo``)."""
    return identify(read_cpu_id(cpuinfo))
