"""The energy ESTIMATOR: joules from measured time and CPU time. Not a measurement.

Model (one domain, ``package``: the CPU package energy it stands in for)::

    E = static_watts * wall_seconds
      + cpu_watts * cpu_seconds            (this process's CPU time, all threads: time.process_time)
      + joules_per_flop * flops            (FLOPs reported through note_work)
      + joules_per_byte * bytes            (bytes moved, reported through note_work)

Wall and CPU seconds are measured (since the meter was opened); FLOPs and bytes come from
``lstm_energy.costs`` through ``note_work``. Where the four parameters come from is part of every
description, in this order of precedence:

* explicit ``parameters=`` with a ``source=`` (what-if studies, tests);
* a calibration profile (JSON, written by ``lstm-energy calibrate`` from RAPL-measured runs), from
  ``profile=`` or ``$LSTM_ENERGY_MODEL_PROFILE``: parameters fitted by non-negative least squares on
  one host, with the fit error recorded;
* the uncalibrated default: Cloud Carbon Footprint's per-vCPU coefficients
  (:mod:`lstm_energy.meters.ccf_coefficients`: SPECpower-derived average watts per hardware thread
  at idle, ``min``, and at 100 % load, ``max``, for the CPU microarchitecture identified from cpuid
  by :mod:`lstm_energy.meters.microarchitecture`; CCF's average row, 0.74 / 3.5 W, when the CPU is
  unknown). CCF's own per-vCPU model is ``watts = min + utilisation * (max - min)``; summed over the
  machine's ``vcpus`` (``os.cpu_count()``) and integrated over time, with busy vCPU-seconds = process
  CPU-seconds, that is::

      static_watts = min * vcpus           cpu_watts = max - min           joules_per_flop = joules_per_byte = 0

  Static power belongs to the machine: every vCPU draws its idle watts whether or not this process
  may run on it, so an affinity mask (``taskset``, a cpuset) does not shrink it (CCF multiplies by
  the instance's vCPUs). The CPUs this process may run on (``len(os.sched_getaffinity(0))``) are
  recorded next to it as ``allowed_cpus``. Dynamic power stays per CPU-second: process CPU time is
  already the busy vCPU-seconds, on however many CPUs they ran.

  The measurement protocol subtracts idle power measured over an equal sleep window, which with
  this model is ``static_watts`` (a sleeping process uses ~0 CPU-seconds), so the dynamic energy it
  reports is ``(max - min) * CPU-seconds``: an implementation that runs longer costs more.

The Horowitz figures (ISSCC 2014, 45 nm, 0.9 V: 2.3 pJ/FLOP = fp32 multiply 3.7 pJ + add 0.9 pJ per
multiply-add of 2 FLOPs; 160 pJ/byte = DRAM 64-bit read 1.3 nJ / 8 B, the low end of 1.3-2.6 nJ) are
NOT in the headline estimate: they are reported separately in ``describe()["lower_bound"]`` (per
FLOP and per byte) and by ``lower_bound(flops=, bytes=)`` for given work, the energy of the arithmetic
and DRAM traffic alone (no instruction overhead, no static power), a floor that real CPUs exceed many
times over. ``describe()`` carries no running total of the work noted: one meter serves a whole sweep
or pytest session, and each record copies ``describe()``, so a total would not be that record's work.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from lstm_energy.errors import ConfigError
from lstm_energy.meters.base import Availability, EnergyMeter, EnergySample
from lstm_energy.meters.ccf_coefficients import CoefficientRow, load_table
from lstm_energy.meters.microarchitecture import CPUINFO, CpuId, Identification, identify, identify_cpu

#: environment variable naming a calibration profile to load by default
PROFILE_ENV = "LSTM_ENERGY_MODEL_PROFILE"
#: the profile file format written by ``lstm-energy calibrate``
PROFILE_FORMAT = "lstm_energy.model_profile"
PROFILE_VERSION = 1
#: the single domain the estimator reports
DOMAIN = "package"
MODEL_FORMULA = (
    "E = static_watts*wall_seconds + cpu_watts*cpu_seconds(process) + joules_per_flop*flops + joules_per_byte*bytes"
)


@dataclass(frozen=True)
class ModelParameters:
    """The four coefficients of the estimator (SI units: W, W, J/FLOP, J/byte)."""

    static_watts: float
    cpu_watts: float
    joules_per_flop: float
    joules_per_byte: float

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
                raise ConfigError(
                    f"model parameter {name} must be a number >= 0, got {value!r}; "
                    "recalibrate with `lstm-energy calibrate` or fix the profile file"
                )

    def as_dict(self) -> dict:
        return {k: float(v) for k, v in asdict(self).items()}


#: Horowitz, "Computing's energy problem", ISSCC 2014, doi:10.1109/ISSCC.2014.6757323 (45 nm, 0.9 V)
LOWER_BOUND_JOULES_PER_FLOP = 2.3e-12  # fp32 multiply 3.7 pJ + add 0.9 pJ = 4.6 pJ per multiply-add (2 FLOPs)
LOWER_BOUND_JOULES_PER_BYTE = 160e-12  # DRAM 64-bit read 1.3-2.6 nJ: the low end, 1.3 nJ / 8 bytes
LOWER_BOUND_MODEL = (
    "Horowitz, ISSCC 2014 (45 nm): 2.3 pJ per FLOP (fp32 mult 3.7 pJ + add 0.9 pJ per 2 FLOPs) + 160 pJ per "
    "byte of cache<->memory traffic (DRAM 64-bit read 1.3 nJ / 8 B); arithmetic and DRAM only, no instruction "
    "overhead or static power: a LOWER BOUND, not the estimate"
)

DEFAULT_PARAMETER_SOURCES = {
    "static_watts": "Cloud Carbon Footprint min W per vCPU (idle, SPECpower-derived) of the row for this CPU's "
    "microarchitecture x the machine's vCPUs (os.cpu_count())",
    "cpu_watts": "Cloud Carbon Footprint (max - min) W per vCPU of that row, per CPU-second of this process",
    "joules_per_flop": "0: the CPU-time term carries the work; Horowitz's 2.3 pJ/FLOP is only in "
    "describe()['lower_bound']",
    "joules_per_byte": "0: the CPU-time term carries the work; Horowitz's 160 pJ/byte is only in "
    "describe()['lower_bound']",
}


#: what ``vcpus`` counts, in the description: static power is the whole machine's
VCPUS_FROM = (
    "os.cpu_count(): the machine's vCPUs, each drawing its idle watts whether or not this process may run on it"
)
#: what ``allowed_cpus`` counts (recorded, not used by the estimate)
ALLOWED_CPUS_FROM = (
    "len(os.sched_getaffinity(0)): the CPUs this process may run on (taskset, cpuset); recorded only, the "
    "estimate's static power uses vcpus; null when vcpus was given without it"
)


def machine_vcpus() -> int:
    """The machine's vCPUs (``os.cpu_count()``; the affinity mask's size when Python cannot tell)."""
    from lstm_energy.machine.info import usable_cores

    return os.cpu_count() or usable_cores()


def _check_cpu_count(name: str, value, meaning: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive int ({meaning}), got {value!r}")
    return value


@dataclass(frozen=True)
class DefaultCoefficients:
    """The uncalibrated default: one Cloud Carbon Footprint row applied to ``vcpus`` vCPUs.

    row: W per vCPU (min = idle, max = 100 % load); vcpus: the machine's vCPUs (static power);
    identification: how the row was chosen (cpuid, model name, or unknown -> CCF average row);
    allowed_cpus: CPUs this process may run on, recorded only (None when ``vcpus`` was given for
    another machine than this one and no count of its own came with it).
    """

    row: CoefficientRow
    vcpus: int
    identification: Identification
    dataset: str  # CoefficientTable.label
    citation: str  # repository, path, commit
    allowed_cpus: int | None = None

    @property
    def parameters(self) -> ModelParameters:
        return ModelParameters(
            static_watts=self.row.min_watts_per_vcpu * self.vcpus,
            cpu_watts=self.row.max_watts_per_vcpu - self.row.min_watts_per_vcpu,
            joules_per_flop=0.0,
            joules_per_byte=0.0,
        )

    @property
    def identified_by(self) -> str:
        text = self.identification.identified_by
        return text if self.identification.row is not None else f"{text}: CCF average row used"

    @property
    def source(self) -> str:
        """One line naming the dataset, the row, its values, the vCPUs and how the CPU was identified."""
        r = self.row
        return (
            f"uncalibrated estimate, {self.dataset}: {r.row} {r.min_watts_per_vcpu:.2f}\u2013"
            f"{r.max_watts_per_vcpu:.2f} W per vCPU \u00d7 {self.vcpus} vCPU{'s' if self.vcpus != 1 else ''}"
            f"{self._affinity_note()}, {self.identified_by}"
        )

    def _affinity_note(self) -> str:
        """' (the machine's; this process may run on N)' when an affinity mask leaves out some vCPUs."""
        if self.allowed_cpus is None or self.allowed_cpus >= self.vcpus:
            return ""
        return f" (the machine's; this process may run on {self.allowed_cpus})"

    def parameter_sources(self) -> dict[str, str]:
        r = self.row
        where = f"{self.dataset}, row {r.row!r} ({self.citation})"
        return {
            "static_watts": f"min {r.min_watts_per_vcpu:.4g} W per vCPU x {self.vcpus} vCPUs "
            f"(the machine's, os.cpu_count()): {where}",
            "cpu_watts": f"max {r.max_watts_per_vcpu:.4g} - min {r.min_watts_per_vcpu:.4g} W per vCPU, per "
            f"CPU-second of this process: {where}",
            "joules_per_flop": DEFAULT_PARAMETER_SOURCES["joules_per_flop"],
            "joules_per_byte": DEFAULT_PARAMETER_SOURCES["joules_per_byte"],
        }

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "citation": self.citation,
            "row": self.row.row,
            "min_watts_per_vcpu": self.row.min_watts_per_vcpu,
            "max_watts_per_vcpu": self.row.max_watts_per_vcpu,
            "vcpus": self.vcpus,
            "vcpus_from": VCPUS_FROM,
            "allowed_cpus": self.allowed_cpus,
            "allowed_cpus_from": ALLOWED_CPUS_FROM,
            "identified_by": self.identified_by,
            "identification": self.identification.as_dict(),
        }


def default_coefficients(
    cpuinfo: str | os.PathLike = CPUINFO,
    *,
    cpu: Identification | CpuId | None = None,
    vcpus: int | None = None,
    allowed_cpus: int | None = None,
) -> DefaultCoefficients:
    """The default coefficients for a CPU: identified from ``cpuinfo`` (or the given ``cpu``), on the
    machine's ``vcpus`` vCPUs (default ``os.cpu_count()``). allowed_cpus: the CPUs this process may run on,
    recorded only (default: this process's affinity mask when ``vcpus`` is read here too, else None)."""
    if cpu is None:
        identification = identify_cpu(cpuinfo)
    elif isinstance(cpu, CpuId):
        identification = identify(cpu)
    elif isinstance(cpu, Identification):
        identification = cpu
    else:
        raise ConfigError(
            f"cpu must be an Identification or a CpuId from lstm_energy.meters.microarchitecture, "
            f"got {type(cpu).__name__}; or pass cpuinfo='/path/to/cpuinfo'"
        )
    vcpus, allowed_cpus = _cpu_counts(vcpus, allowed_cpus)
    table = load_table()
    return DefaultCoefficients(
        table.row_for(identification.row), vcpus, identification, table.label, table.citation, allowed_cpus
    )


def _cpu_counts(vcpus: int | None, allowed_cpus: int | None) -> tuple[int, int | None]:
    """(machine vCPUs, CPUs this process may run on): given values checked, missing ones read from this host
    (the affinity mask only when the vCPUs are this host's too: it says nothing about a machine given by count)."""
    if vcpus is None:
        from lstm_energy.machine.info import usable_cores

        vcpus = machine_vcpus()
        if allowed_cpus is None:
            allowed_cpus = usable_cores()
    vcpus = _check_cpu_count("vcpus", vcpus, "the machine's vCPUs")
    if allowed_cpus is not None:
        allowed_cpus = _check_cpu_count("allowed_cpus", allowed_cpus, "CPUs this process may run on")
        if allowed_cpus > vcpus:
            raise ConfigError(
                f"allowed_cpus ({allowed_cpus}) exceeds the machine's vcpus ({vcpus}); a process cannot be allowed "
                "more CPUs than the machine has - pass vcpus as the machine's whole vCPU count"
            )
    return vcpus, allowed_cpus


def __getattr__(name: str):
    """``DEFAULT_PARAMETERS`` / ``DEFAULT_SOURCE``: this host's uncalibrated defaults, computed on first use."""
    if name in ("DEFAULT_PARAMETERS", "DEFAULT_SOURCE"):
        defaults = _host_defaults()
        return defaults.parameters if name == "DEFAULT_PARAMETERS" else defaults.source
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@lru_cache(maxsize=1)
def _host_defaults() -> DefaultCoefficients:
    return default_coefficients()


#: what to do when a calibration profile cannot be written (``ModelProfile.save``, ``lstm-energy calibrate -o``)
SAVE_FIX = "pass -o a file path in a writable directory, e.g. model-profile.json"


@dataclass(frozen=True)
class ModelProfile:
    """A calibration profile: parameters, a one-line source, and the calibration details."""

    parameters: ModelParameters
    source: str
    calibration: dict

    def to_json(self) -> dict:
        return {
            "format": PROFILE_FORMAT,
            "version": PROFILE_VERSION,
            "parameters": self.parameters.as_dict(),
            "source": self.source,
            "calibration": self.calibration,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the profile as JSON (indented, UTF-8, parent directories created); returns the path.
        ConfigError when it cannot be written."""
        from lstm_energy import output_paths

        text = json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"
        return output_paths.write_text_file(path, text, "the model profile to", SAVE_FIX)

    @classmethod
    def from_json(cls, data: dict, *, origin: str = "profile") -> ModelProfile:
        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
            seen = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ConfigError(
                f"{origin} is not an lstm_energy model profile (format {seen!r}, expected {PROFILE_FORMAT!r}); "
                "write one with `lstm-energy calibrate -o PROFILE.json`"
            )
        if data.get("version") != PROFILE_VERSION:
            raise ConfigError(
                f"{origin} has model-profile version {data.get('version')!r}, this lstm_energy reads version "
                f"{PROFILE_VERSION}; recalibrate with `lstm-energy calibrate`"
            )
        raw = data.get("parameters")
        expected = set(ModelParameters.__dataclass_fields__)
        if not isinstance(raw, dict) or set(raw) != expected:
            seen = sorted(raw) if isinstance(raw, dict) else raw
            raise ConfigError(f"{origin}: 'parameters' must have exactly the keys {sorted(expected)}, got {seen}")
        source = data.get("source")
        if not isinstance(source, str) or not source:
            raise ConfigError(f"{origin}: 'source' must say where the parameters come from, got {source!r}")
        return cls(ModelParameters(**raw), source, dict(data.get("calibration") or {}))

    @classmethod
    def load(cls, path: str | os.PathLike) -> ModelProfile:
        """Read a profile file; ConfigError says what is wrong with it and how to get a good one."""
        location = Path(path)
        try:
            text = location.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(
                f"cannot read model profile {str(location)!r}: {err.strerror or err}; pass an existing file "
                f"(write one with `lstm-energy calibrate -o {location.name}`) or unset ${PROFILE_ENV}"
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(
                f"model profile {str(location)!r} is not valid JSON ({err}); recreate it with `lstm-energy calibrate`"
            ) from None
        return cls.from_json(data, origin=f"model profile {str(location)!r}")


def _profile_from_environment() -> str | None:
    value = os.environ.get(PROFILE_ENV, "").strip()
    return value or None


class ModelMeter(EnergyMeter):
    """Estimated joules (see the module docstring). Domain: ``package``.

    profile: a calibration profile path (default: ``$LSTM_ENERGY_MODEL_PROFILE``, else the
    uncalibrated Cloud Carbon Footprint defaults). parameters + source: explicit coefficients and
    where they come from (both required together; for tests and what-if studies). clock / cpu_clock:
    wall and process-CPU clocks in seconds, injectable for tests. cpuinfo / cpu / vcpus / allowed_cpus:
    for the uncalibrated defaults only, the cpuinfo file to identify the CPU from (default
    ``/proc/cpuinfo``), or an already made :class:`~lstm_energy.meters.microarchitecture.Identification` /
    :class:`~lstm_energy.meters.microarchitecture.CpuId`, the machine's vCPU count for static power
    (default ``os.cpu_count()``) and the CPUs this process may run on, recorded only (default: the
    affinity mask); a calibration profile, when there is one, takes precedence.
    """

    name = "model"
    provenance = "estimated"
    #: the process-CPU clock is nanosecond-resolution; there is no counter update to wait for
    update_interval_seconds = 1e-6

    def __init__(
        self,
        profile: str | os.PathLike | None = None,
        *,
        parameters: ModelParameters | None = None,
        source: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.process_time,
        cpuinfo: str | os.PathLike | None = None,
        cpu: Identification | CpuId | None = None,
        vcpus: int | None = None,
        allowed_cpus: int | None = None,
    ):
        self._coefficients: DefaultCoefficients | None = None
        if parameters is not None:
            if profile is not None:
                raise ConfigError("pass either a profile path or explicit parameters to ModelMeter, not both")
            if not source:
                raise ConfigError(
                    "explicit ModelMeter parameters need a source saying where they come from, "
                    "e.g. source='what-if: 40 W per CPU-second'"
                )
            if any(value is not None for value in (cpuinfo, cpu, vcpus, allowed_cpus)):
                raise ConfigError(
                    "cpuinfo/cpu/vcpus/allowed_cpus choose the default coefficients, but explicit parameters were "
                    "given; pass one or the other"
                )
            self._profile = ModelProfile(parameters, source, {})
            self._profile_path = None
        else:
            path = profile if profile is not None else _profile_from_environment()
            if path is None:
                self._coefficients = default_coefficients(
                    cpuinfo if cpuinfo is not None else CPUINFO, cpu=cpu, vcpus=vcpus, allowed_cpus=allowed_cpus
                )
                self._profile = ModelProfile(self._coefficients.parameters, self._coefficients.source, {})
                self._profile_path = None
            else:
                self._profile = ModelProfile.load(path)
                self._profile_path = str(path)
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._wall_start = clock()
        self._cpu_start = cpu_clock()
        self._flops = 0.0
        self._bytes = 0.0

    @property
    def parameters(self) -> ModelParameters:
        return self._profile.parameters

    @property
    def source(self) -> str:
        return self._profile.source

    @property
    def calibrated(self) -> bool:
        return self._profile_path is not None

    @property
    def coefficients(self) -> DefaultCoefficients | None:
        """The Cloud Carbon Footprint row in use (None when a profile or explicit parameters are)."""
        return self._coefficients

    @classmethod
    def probe(cls, **kwargs) -> Availability:
        """Always usable unless ``$LSTM_ENERGY_MODEL_PROFILE`` names a broken file (then: why and how to fix)."""
        try:
            meter = cls(**kwargs)
        except ConfigError as err:
            return Availability(
                name=cls.name,
                available=False,
                provenance=cls.provenance,
                reason=f"the model profile could not be loaded: {err}",
                fix=f"fix or unset ${PROFILE_ENV}, or recreate the profile with `lstm-energy calibrate`",
            )
        coefficients = meter.coefficients
        return Availability(
            name=cls.name,
            available=True,
            provenance=cls.provenance,
            reason=f"always available: an ESTIMATE from CPU time, not a measurement; {meter.source}",
            details={
                "parameters": meter.parameters.as_dict(),
                "profile": meter._profile_path,
                "coefficients": coefficients.as_dict() if coefficients else None,
            },
        )

    @property
    def domains(self) -> tuple[str, ...]:
        return (DOMAIN,)

    def note_work(self, *, flops: float = 0.0, bytes: float = 0.0) -> None:  # noqa: A002 - unit name
        if not flops >= 0 or not bytes >= 0:
            raise ConfigError(
                f"note_work needs flops >= 0 and bytes >= 0, got flops={flops!r}, bytes={bytes!r}; pass the work "
                "done (from lstm_energy.costs), never a negative amount"
            )
        self._flops += float(flops)
        self._bytes += float(bytes)

    def read(self) -> EnergySample:
        now = self._clock()
        p = self.parameters
        joules = (
            p.static_watts * (now - self._wall_start)
            + p.cpu_watts * (self._cpu_clock() - self._cpu_start)
            + p.joules_per_flop * self._flops
            + p.joules_per_byte * self._bytes
        )
        return EnergySample(timestamp=now, joules={DOMAIN: joules})

    def _parameter_sources(self) -> dict[str, str]:
        """Where each parameter value comes from: the profile file, the CCF row, or the caller."""
        names = self.parameters.as_dict()
        if self.calibrated:
            return {name: f"calibration profile {self._profile_path}" for name in names}
        if self._coefficients is not None:
            return self._coefficients.parameter_sources()
        return {name: self.source for name in names}

    def lower_bound(self, *, flops: float | None = None, bytes: float | None = None) -> dict:  # noqa: A002 - unit name
        """Horowitz's arithmetic + DRAM energy: a floor, not the estimate.

        Without arguments: the model and its per-FLOP and per-byte energies only. The meter's running
        total of ``note_work`` is not reported, because one meter serves many measurements (a sweep, a
        pytest session): a total since the meter was opened would describe no one of them. With
        ``flops`` / ``bytes`` (the work of one call, or of any span the caller knows): also that work
        and its floor in joules."""
        bound: dict = {
            "model": LOWER_BOUND_MODEL,
            "joules_per_flop": LOWER_BOUND_JOULES_PER_FLOP,
            "joules_per_byte": LOWER_BOUND_JOULES_PER_BYTE,
        }
        if flops is None and bytes is None:
            bound["covers"] = (
                "energy per FLOP and per byte moved; the floor of some work is joules_per_flop x its FLOPs + "
                "joules_per_byte x its bytes (e.g. a record's costs per call)"
            )
            return bound
        work_flops = None if flops is None else float(flops)
        work_bytes = None if bytes is None else float(bytes)
        if any(v is not None and not (math.isfinite(v) and v >= 0) for v in (work_flops, work_bytes)):
            raise ConfigError(
                f"lower_bound needs finite flops >= 0 and bytes >= 0, got flops={flops!r}, bytes={bytes!r}; pass "
                "the work done (from lstm_energy.costs)"
            )
        left_out = " (bytes not given: arithmetic only)" if work_bytes is None else ""
        left_out = " (flops not given: memory traffic only)" if work_flops is None else left_out
        bound.update(
            flops=work_flops,
            bytes=work_bytes,
            joules=LOWER_BOUND_JOULES_PER_FLOP * (work_flops or 0.0)
            + LOWER_BOUND_JOULES_PER_BYTE * (work_bytes or 0.0),
            covers=f"the flops and bytes given (the caller's count of the work, not measured){left_out}",
        )
        return bound

    def describe(self) -> dict:
        return {
            "name": self.name,
            "provenance": self.provenance,
            "counter": None,
            "source": self.source,
            "model": MODEL_FORMULA,
            "parameters": self.parameters.as_dict(),
            "parameter_sources": self._parameter_sources(),
            "coefficients": self._coefficients.as_dict() if self._coefficients is not None else None,
            "lower_bound": self.lower_bound(),
            "calibrated": self.calibrated,
            "profile_path": self._profile_path,
            "calibration_fit": self._profile.calibration.get("fit"),
            "domains": list(self.domains),
            "headline_domains": list(self.headline_domains),
            "units": "J",
        }
