"""Choose an energy meter by name, or automatically, and say for every backend whether it works here.

``get_meter("auto")`` tries the MEASURED backends in this fixed order and returns the first that opens
and is seen to count (a short busy load must advance every headline domain at a plausible power,
:mod:`lstm_energy.meters.liveness`; a counter that opens but never moves is refused with the reason):

1. ``powercap``: the kernel's canonical RAPL interface; zone names are our domain keys; it shows
   every domain (package, core, uncore, dram, psys); no extra privilege once ``energy_uj`` is
   readable; wraps are corrected by a sampler thread.
2. ``perf``: the usual route for a non-root user (``perf_event_paranoid <= 0`` or CAP_PERFMON) when
   ``energy_uj`` is root-only; 64-bit kernel-folded counts.
3. ``msr``: needs root and the msr driver, but works where the RAPL drivers are not loaded.
4. ``pyrapl``: reads the same powercap files as (1) through hard-coded decimal paths, PKG and DRAM
   only; if (1) failed it almost surely fails too, so it is last (kept for pyRAPL users).

If none opens and counts, it falls back to the ``model`` ESTIMATOR with a loud :class:`EstimatedEnergyWarning`
listing why each measured backend failed. It never picks ``simulated``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from importlib import import_module

from lstm_energy.errors import ArgumentTypeError, ConfigError, MeterError, MeterUnavailableError
from lstm_energy.meters.base import Availability, EnergyMeter
from lstm_energy.meters.liveness import prove_counting
from lstm_energy.meters.remedies import meter_error, split_error, unavailable

#: measured backends, in the order "auto" tries them (see the module docstring for why)
AUTO_ORDER = ("powercap", "perf", "msr", "pyrapl")
#: every backend name -> "module:Class" (imported lazily so a broken backend cannot break the others)
BACKENDS = {
    "powercap": "lstm_energy.meters.powercap:PowercapMeter",
    "perf": "lstm_energy.meters.perf:PerfMeter",
    "msr": "lstm_energy.meters.msr:MsrMeter",
    "pyrapl": "lstm_energy.meters.pyrapl_adapter:PyRaplMeter",
    "model": "lstm_energy.meters.model:ModelMeter",
    "simulated": "lstm_energy.meters.simulated:SimulatedMeter",
}
NAMES = ("auto", *BACKENDS)


class EstimatedEnergyWarning(UserWarning):
    """``get_meter("auto")`` found no measured backend and returned the model ESTIMATOR instead."""


def meter_class(name: str) -> type[EnergyMeter]:
    """The class of backend ``name``; MeterUnavailableError when its module cannot be imported."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown energy meter {name!r}; choose one of {', '.join(NAMES)}")
    module_name, class_name = BACKENDS[name].split(":")
    try:
        module = import_module(module_name)
    except ImportError as err:
        raise meter_error(
            f"the {name} backend ({module_name}) cannot be imported: {err}.",
            "reinstall lstm_energy (`pip install -e .`) or report a bug",
        ) from err
    return getattr(module, class_name)


def _probe(name: str, options: dict) -> Availability:
    try:
        cls = meter_class(name)
    except MeterUnavailableError as err:
        provenance = {"model": "estimated", "simulated": "simulated"}.get(name, "measured")
        return unavailable(name, provenance, err)
    try:
        return cls.probe(**options)
    except Exception as err:  # probe must not raise; if one does, report it as the reason rather than crash
        return Availability(name, False, cls.provenance, f"probe raised {type(err).__name__}: {err}", "report a bug")


def available_meters(**options: dict) -> list[Availability]:
    """Every backend (measured ones in auto order, then model and simulated): works here? why not? fix.

    options: per-backend keyword arguments for ``probe``, e.g. ``powercap={"root": "/tmp/fake"}``.
    """
    _check_option_names(options)
    return [_probe(name, options.get(name, {})) for name in (*AUTO_ORDER, "model", "simulated")]


def _check_option_names(options: dict) -> None:
    unknown = sorted(set(options) - set(BACKENDS))
    if unknown:
        raise ArgumentTypeError(f"unknown backend option group(s) {unknown}; use backend names: {', '.join(BACKENDS)}")


def get_meter(name: str | EnergyMeter = "auto", **kwargs) -> EnergyMeter:
    """Open an energy meter; a measured one only once it has been seen to count.

    name: "auto", "powercap", "perf", "pyrapl", "msr", "model" or "simulated" (or a meter, returned as is).
    kwargs: for a named backend, its constructor arguments (``get_meter("powercap", root=...)``);
        for "auto", per-backend dicts (``get_meter("auto", powercap={"root": ...}, model={...})``) and
        ``order``: the measured backends to try, in order (default :data:`AUTO_ORDER`; tests and
        users who know a backend is useless here pass fewer).
    Raises ConfigError (a ValueError) for an unknown name; MeterUnavailableError (or MeterPermissionError) when the
    named backend does not work here or opens but does not count, the message saying why and how to fix it.
    """
    if isinstance(name, EnergyMeter):
        if kwargs:
            raise ArgumentTypeError(
                f"options {sorted(kwargs)} cannot be applied to an already open meter {name.name!r}"
            )
        return name
    if name == "auto":
        order = kwargs.pop("order", AUTO_ORDER)
        return _auto(kwargs, tuple(order))
    return _open_counting(name, kwargs)


@contextlib.contextmanager
def opened_meter(meter: str | EnergyMeter = "auto", **options) -> Iterator[EnergyMeter]:
    """``with opened_meter(name_or_meter) as meter:`` the one way to take a ``meter=`` argument.

    A name ("auto", "powercap", ...) is opened with :func:`get_meter` (``options`` as there) and closed
    when the block ends; a meter object is used as it is and left open: whoever opened it closes it.
    """
    if isinstance(meter, EnergyMeter):
        yield get_meter(meter, **options)  # ArgumentTypeError for options on an open meter
        return
    if not isinstance(meter, str):
        raise ArgumentTypeError(
            f"meter must be a meter name (e.g. 'auto', 'powercap', 'model') or an EnergyMeter, got "
            f"{type(meter).__name__}; see `lstm-energy meters` for the names"
        )
    opened = get_meter(meter, **options)
    try:
        yield opened
    finally:
        opened.close()


def _open_counting(name: str, options: dict) -> EnergyMeter:
    """Open backend ``name``; a measured one must prove it counts (else it is closed and refused)."""
    meter = meter_class(name)(**options)
    if meter.provenance == "measured":
        try:
            prove_counting(meter)
        except BaseException:
            meter.close()
            raise
    return meter


def _auto(options: dict, order: tuple[str, ...] = AUTO_ORDER) -> EnergyMeter:
    _check_option_names(options)
    not_measured = [name for name in order if name not in AUTO_ORDER]
    if not_measured:
        raise ConfigError(f"order may name only measured backends ({', '.join(AUTO_ORDER)}), got {not_measured}")
    failures: list[str] = []
    for name in order:
        try:
            return _open_counting(name, options.get(name, {}))
        except MeterError as err:
            reason, fix = split_error(err)
            failures.append(f"  - {name}: {reason}" + (f" Fix: {fix}" if fix else ""))
    reasons = "\n".join(failures)
    try:
        model = meter_class("model")(**options.get("model", {}))
    except (MeterError, ConfigError) as err:  # ConfigError: a broken calibration profile
        raise meter_error(
            "no measured energy backend works here and the model estimator is unavailable "
            f"({split_error(err)[0]}). Measured backends:\n{reasons}\n",
            "apply one of the fixes above",
        ) from err
    warnings.warn(
        "NO MEASURED ENERGY: no hardware energy counter is usable here, so get_meter('auto') returned the "
        "'model' ESTIMATOR (provenance 'estimated'): its joules are an estimate, not a measurement. "
        f"Why each measured backend failed:\n{reasons}\n"
        "Run `lstm-energy meters` for the full table; pass meter='model' to choose the estimate explicitly.",
        EstimatedEnergyWarning,
        stacklevel=3,
    )
    return model
