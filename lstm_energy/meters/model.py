"""The energy ESTIMATOR: joules from measured time and CPU time plus the cost model. Not a measurement.

Model (one domain, ``package``: the CPU package energy it stands in for)::

    E = static_watts * wall_seconds
      + cpu_watts * cpu_seconds            (this process's CPU time, all threads: time.process_time)
      + joules_per_flop * flops            (FLOPs reported through note_work)
      + joules_per_byte * bytes            (bytes moved, reported through note_work)

Wall and CPU seconds are measured (since the meter was opened); FLOPs and bytes come from
``lstm_energy.costs`` through ``note_work``. Only the four parameters are modelled, and where they
come from is part of every description:

* uncalibrated defaults (``DEFAULT_PARAMETERS``): lower bounds from Horowitz, "Computing's energy
  problem", ISSCC 2014 (45 nm, 0.9 V) - 2.3 pJ/FLOP (fp32 multiply 3.7 pJ + add 0.9 pJ = 4.6 pJ per
  multiply-add of 2 FLOPs) and 160 pJ/byte (DRAM 64-bit read 1.3-2.6 nJ: the low end, 1.3 nJ / 8 B;
  ``lstm_energy.costs.traffic`` counts bytes between the caches and memory, so DRAM is the level
  its bytes reach; Han et al., NIPS 2015 restate the same 640 pJ per 32-bit DRAM access). No static or per-CPU-second power is assumed (0 W): no sourced figure exists for
  an unknown CPU and a TDP guess would be an invented number. So an uncalibrated estimate is a LOWER
  BOUND on the package energy (a real CPU is far higher per FLOP: instruction fetch, register files,
  static power are not in Horowitz's figures; see research/kernel-anchors.md §7).
* a calibration profile (JSON, written by ``lstm-energy calibrate`` from RAPL-measured runs), loaded
  from a path or from ``$LSTM_ENERGY_MODEL_PROFILE``: parameters fitted by non-negative least squares
  on one host, with the fit error recorded.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from lstm_energy.errors import ConfigError
from lstm_energy.meters.base import Availability, EnergyMeter, EnergySample

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


DEFAULT_PARAMETERS = ModelParameters(
    static_watts=0.0,
    cpu_watts=0.0,
    joules_per_flop=2.3e-12,
    joules_per_byte=160e-12,
)
DEFAULT_SOURCE = (
    "uncalibrated defaults (a LOWER BOUND): joules_per_flop 2.3 pJ = Horowitz ISSCC 2014 45 nm fp32 "
    "multiply-add 4.6 pJ / 2 FLOPs; joules_per_byte 160 pJ = Horowitz DRAM 64-bit read 1.3 nJ / 8 B (low end); "
    "static_watts and cpu_watts 0 W (no sourced figure for this CPU; no TDP is assumed). "
    "Run `lstm-energy calibrate` on a machine with RAPL and load its profile for a real estimate"
)
DEFAULT_PARAMETER_SOURCES = {
    "static_watts": "0 W: unknown without calibration (not a TDP guess)",
    "cpu_watts": "0 W: unknown without calibration (not a TDP guess)",
    "joules_per_flop": "Horowitz, ISSCC 2014, doi:10.1109/ISSCC.2014.6757323: 45 nm fp32 mult 3.7 pJ + add 0.9 pJ per 2 FLOPs",
    "joules_per_byte": "Horowitz, ISSCC 2014: DRAM 64-bit read 1.3-2.6 nJ, low end 1.3 nJ per 8 bytes (bytes = cache<->memory traffic)",
}


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
        """Write the profile as JSON (indented, UTF-8); returns the path."""
        target = Path(path)
        target.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return target

    @classmethod
    def from_json(cls, data: dict, *, origin: str = "profile") -> "ModelProfile":
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
    def load(cls, path: str | os.PathLike) -> "ModelProfile":
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
    uncalibrated defaults). parameters + source: explicit coefficients and where they come from
    (both required together; for tests and what-if studies). clock / cpu_clock: wall and process-CPU
    clocks in seconds, injectable for tests.
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
    ):
        if parameters is not None:
            if profile is not None:
                raise ConfigError("pass either a profile path or explicit parameters to ModelMeter, not both")
            if not source:
                raise ConfigError(
                    "explicit ModelMeter parameters need a source saying where they come from, "
                    "e.g. source='what-if: 40 W per CPU-second'"
                )
            self._profile = ModelProfile(parameters, source, {})
            self._profile_path = None
        else:
            path = profile if profile is not None else _profile_from_environment()
            if path is None:
                self._profile = ModelProfile(DEFAULT_PARAMETERS, DEFAULT_SOURCE, {})
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
        return Availability(
            name=cls.name,
            available=True,
            provenance=cls.provenance,
            reason=f"always available: an ESTIMATE from CPU time and the cost model, not a measurement; {meter.source}",
            details={"parameters": meter.parameters.as_dict(), "profile": meter._profile_path},
        )

    @property
    def domains(self) -> tuple[str, ...]:
        return (DOMAIN,)

    def note_work(self, *, flops: float = 0.0, bytes: float = 0.0) -> None:  # noqa: A002 - unit name
        if not flops >= 0 or not bytes >= 0:
            raise ValueError(f"note_work needs flops >= 0 and bytes >= 0, got flops={flops!r}, bytes={bytes!r}")
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
        """Where each parameter value comes from: the profile file, the cited defaults, or the caller."""
        names = self.parameters.as_dict()
        if self.calibrated:
            return {name: f"calibration profile {self._profile_path}" for name in names}
        if self.parameters == DEFAULT_PARAMETERS:
            return dict(DEFAULT_PARAMETER_SOURCES)
        return {name: self.source for name in names}

    def describe(self) -> dict:
        return {
            "name": self.name,
            "provenance": self.provenance,
            "counter": None,
            "source": self.source,
            "model": MODEL_FORMULA,
            "parameters": self.parameters.as_dict(),
            "parameter_sources": self._parameter_sources(),
            "calibrated": self.calibrated,
            "profile_path": self._profile_path,
            "calibration_fit": self._profile.calibration.get("fit"),
            "domains": list(self.domains),
            "headline_domains": list(self.headline_domains),
            "units": "J",
        }
