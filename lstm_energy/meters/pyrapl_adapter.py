"""Adapter over the pyRAPL package, adding what pyRAPL lacks: wraparound correction and clear errors.

pyRAPL (0.2.3.1) reads ``/sys/class/powercap/intel-rapl/intel-rapl:N/energy_uj`` from a HARD-CODED
path, probing N = 0, 1, 2... in DECIMAL until the first gap (so it misses zone ``intel-rapl:a`` and
up), keeps the files open, and subtracts raw values (``end - begin``) with no wrap handling (pyRAPL
#19). It offers two devices: PKG (``package-N``) and DRAM (``package-N/dram``), per socket.

This adapter reads pyRAPL's per-socket raw µJ through ``pyRAPL.DeviceAPIFactory`` (its public device
API), and unwraps them with the ranges it finds itself in the same tree (hex-aware discovery of
:mod:`lstm_energy.meters.powercap_zones`) and a background sampler thread, exactly like the powercap
meter (same modulus: ``max_energy_range_uj * 2**32 / (2**32 - 1)``).
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

from lstm_energy.errors import ConfigError
from lstm_energy.meters.base import Availability, EnergyMeter, EnergySample
from lstm_energy.meters.liveness import probe_measured
from lstm_energy.meters.powercap import modulus_uj
from lstm_energy.meters.powercap_zones import PRIMARY_CONTROL, discover_zones
from lstm_energy.meters.remedies import (
    meter_error,
    permission_error,
    powercap_permission_fix,
    read_perf_event_paranoid,
)
from lstm_energy.meters.wraparound import DEFAULT_MAX_POWER_WATTS, microjoule_counters

#: where pyRAPL looks (hard-coded in pyRAPL/device_api.py)
PYRAPL_CLASS_ROOT = "/sys/class/powercap"
PYRAPL_ZONE_PREFIX = "/sys/class/powercap/intel-rapl/intel-rapl:"


def _from_pyrapl_outputs(record: logging.LogRecord) -> bool:
    """False for pyRAPL's optional-extra notices (pymongo/pandas missing), which concern features we do not use."""
    return "pyRAPL" not in record.pathname


def import_pyrapl():
    """Import pyRAPL without letting it touch the logging configuration.

    pyRAPL's ``outputs`` package calls ``logging.warning`` on the root logger when pymongo is missing:
    that would install a root handler (``basicConfig``) and print a notice about a feature we do not
    use. A temporary NullHandler prevents the former and a filter drops the latter, during the import only.
    """
    root = logging.getLogger()
    guard = logging.NullHandler()
    root.addHandler(guard)
    root.addFilter(_from_pyrapl_outputs)
    try:
        import pyRAPL
    except ImportError as err:
        raise meter_error(
            f"the pyRAPL package cannot be imported ({err}).", "`pip install pyRAPL` (a dependency of lstm_energy)"
        ) from err
    finally:
        root.removeFilter(_from_pyrapl_outputs)
        root.removeHandler(guard)
    return pyRAPL


class PyRaplMeter(EnergyMeter):
    """pyRAPL's PKG and DRAM readings per socket, wraparound-corrected; keys ``package-N``, ``package-N/dram``.

    socket_ids: sockets to read (pyRAPL's own parameter; default all).
    max_power_watts / sampler_period_seconds / background_sampling: as for the powercap meter.
    """

    name = "pyrapl"
    provenance = "measured"
    update_interval_seconds = 1e-3

    def __init__(
        self,
        socket_ids: list[int] | None = None,
        *,
        max_power_watts: float = DEFAULT_MAX_POWER_WATTS,
        sampler_period_seconds: float | None = None,
        background_sampling: bool = True,
    ):
        pyRAPL = import_pyrapl()
        self._apis = self._open_devices(socket_ids)
        try:
            self._start(max_power_watts, sampler_period_seconds, background_sampling)
        except BaseException:
            self.close()
            raise
        self.pyrapl_version = getattr(pyRAPL, "__version__", "unknown")

    def _start(self, max_power_watts, sampler_period_seconds, background_sampling) -> None:
        first = self._read_raw()
        ranges = self._ranges()
        missing = sorted(set(first) - set(ranges))
        if missing:
            raise meter_error(
                f"pyRAPL reads {missing} but no max_energy_range_uj was found for them under {PYRAPL_CLASS_ROOT}, "
                "so wraps cannot be corrected.",
                "use the powercap meter, which discovers zones itself",
            )
        moduli = {key: modulus_uj(ranges[key]) for key in first}
        self.max_power_watts = float(max_power_watts)
        self._counters = microjoule_counters(
            self._read_raw,
            moduli,
            max_power_watts=self.max_power_watts,
            background_sampling=background_sampling,
            sampler_period_seconds=sampler_period_seconds,
            name="lstm-energy-pyrapl-sampler",
        )

    @staticmethod
    def _open_devices(socket_ids) -> dict[str, Any]:
        """``{"package": PkgAPI, "dram": DramAPI}`` (dram only when present)."""
        from pyRAPL import Device, DeviceAPIFactory, PyRAPLBadSocketIdException, PyRAPLCantInitDeviceAPI

        apis = {}
        for kind, device in (("package", Device.PKG), ("dram", Device.DRAM)):
            try:
                with warnings.catch_warnings():  # pyRAPL never closes /sys/devices/system/cpu/present
                    warnings.simplefilter("ignore", ResourceWarning)
                    apis[kind] = DeviceAPIFactory.create_device_api(device, socket_ids)
            except PermissionError as err:
                raise permission_error(
                    f"pyRAPL cannot open {err.filename} (permission denied): energy_uj is root-only since the "
                    "CVE-2020-8694 (PLATYPUS) fix in Linux 5.10.",
                    powercap_permission_fix(read_perf_event_paranoid()),
                ) from err
            except PyRAPLBadSocketIdException as err:
                raise ConfigError(
                    f"socket id {err.socket_id} does not exist on this machine; pass socket_ids from "
                    "/sys/devices/system/cpu/cpu*/topology/physical_package_id or None for all"
                ) from err
            except (PyRAPLCantInitDeviceAPI, FileNotFoundError, OSError) as err:
                if kind == "dram":
                    continue  # DRAM is optional (no dram zone on client CPUs and AMD)
                raise meter_error(
                    f"pyRAPL found no usable package zone ({type(err).__name__}): it reads only "
                    f"{PYRAPL_ZONE_PREFIX}0, 1, 2... (decimal, stopping at the first gap) and needs one "
                    "`package-N` zone per socket (causes: no powercap tree, no RAPL, or a package zone after a "
                    "gap in the numbering or at a hex id such as intel-rapl:a).",
                    "use the powercap meter (hex-aware discovery, any layout); or load the RAPL driver "
                    "(`sudo modprobe intel_rapl_msr`) on bare metal",
                ) from err
        return apis

    def _read_raw(self) -> dict[str, float]:
        raw = {}
        for kind, api in self._apis.items():
            for socket, value in enumerate(api.energy()):
                if value < 0:  # pyRAPL's marker for a socket it does not read
                    continue
                raw[f"package-{socket}" if kind == "package" else f"package-{socket}/dram"] = value
        return raw

    @staticmethod
    def _ranges() -> dict[str, int]:
        zones = discover_zones(PYRAPL_CLASS_ROOT)
        return {zone.key: zone.max_energy_range_uj for zone in zones if zone.control == PRIMARY_CONTROL}

    @classmethod
    def probe(cls, **kwargs) -> Availability:
        def found(meter):
            return f"pyRAPL {meter.pyrapl_version} reads {', '.join(meter.domains)}", {"domains": list(meter.domains)}

        return probe_measured(cls, lambda: cls(background_sampling=False, **kwargs), found)

    def counter_of(self, domain: str) -> str:
        return f"pyRAPL {domain} (energy_uj under {PYRAPL_ZONE_PREFIX}N)"

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(self._counters.wraps)

    @property
    def headline_domains(self) -> tuple[str, ...]:
        return tuple(key for key in self.domains if "/" not in key)

    @property
    def sampler(self):
        return self._counters.sampler

    def read(self) -> EnergySample:
        totals = self._counters.poll()
        return EnergySample(time.monotonic(), {key: total * 1e-6 for key, total in totals.items()})

    def describe(self) -> dict:
        sampler = self._counters.sampler
        return {
            "name": self.name,
            "provenance": self.provenance,
            "counter": f"pyRAPL {self.pyrapl_version} PKG/DRAM (powercap energy_uj under {PYRAPL_ZONE_PREFIX}N)",
            "units": "J (energy_uj x 1e-6)",
            "domains": list(self.domains),
            "headline_domains": list(self.headline_domains),
            "wraparound": {
                "added_by": "lstm_energy (pyRAPL has none)",
                "modulus": "max_energy_range_uj * 2**32 / (2**32 - 1)",
                "sampler_period_seconds": sampler.period_seconds if sampler else None,
                "max_power_watts": self.max_power_watts,
                "fastest_wrap_seconds": self._counters.fastest_wrap_seconds,
                "wraps": self._counters.wraps,
                "max_poll_gap_seconds": self._counters.max_poll_gap_seconds,
            },
            "scope": "whole system (every process), per socket",
        }

    def close(self) -> None:
        counters = getattr(self, "_counters", None)
        if counters is not None:
            counters.close()
        for api in getattr(self, "_apis", {}).values():
            for handle in getattr(api, "_sys_files", []):  # pyRAPL keeps its files open
                handle.close()
        self._apis = {}
