"""Fixtures for the forecasting tests: a simulated meter (a test double, never a measurement); and this
folder on sys.path for its helper module (forecast_presets), which ``--import-mode=importlib`` does not put
there (its name is unique to this folder, so it cannot shadow anyone else's)."""

import contextlib
import functools
import importlib
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lstm_energy.meters.base import Availability, EnergyMeter, EnergySample

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


class FlopChargingMeter(EnergyMeter):
    """Joules = idle_watts x wall seconds + joules_per_flop x FLOPs noted; provenance "simulated".

    Unlike ``lstm_energy.meters.simulated.SimulatedMeter`` (power x CPU time) it charges the FLOPs the
    code tells it through ``note_work``, so a test can check exactly what the forecasting job reports.

    ``clock`` is injectable so a test can make time pass deterministically. ``cpu_watts`` (default 0)
    also charges this process's CPU seconds, so work that tells the meter no FLOPs (the statsmodels fits
    of SARIMA and ETS) is priced too, as the ``model`` estimator prices it.
    """

    name = "simulated"
    provenance = "simulated"
    update_interval_seconds = 1e-4  # a simulated counter: short protocol windows keep the tests fast

    def __init__(self, idle_watts=2.0, joules_per_flop=1e-9, clock=time.monotonic, provenance=None, cpu_watts=0.0):
        self.idle_watts = idle_watts
        self.cpu_watts = cpu_watts
        self.cpu_start = time.process_time()
        self.joules_per_flop = joules_per_flop
        self.clock = clock
        self.start = clock()
        self.flops = 0.0
        if provenance is not None:
            self.provenance = provenance

    @classmethod
    def probe(cls, **kwargs):
        return Availability(cls.name, True, "simulated", "test double")

    @property
    def domains(self):
        return ("package-0",)

    def note_work(self, *, flops=0.0, bytes=0.0):  # noqa: A002
        self.flops += flops

    def read(self):
        now = self.clock()
        cpu = self.cpu_watts * (time.process_time() - self.cpu_start)
        return EnergySample(
            now, {"package-0": self.idle_watts * (now - self.start) + self.joules_per_flop * self.flops + cpu}
        )

    def describe(self):
        return {
            "name": self.name,
            "provenance": self.provenance,
            "source": "FlopChargingMeter in tests/forecast",
            "domains": list(self.domains),
            "parameters": {
                "idle_watts": self.idle_watts,
                "joules_per_flop": self.joules_per_flop,
                "cpu_watts": self.cpu_watts,
            },
        }


class TickClock:
    """A meter clock that moves by exactly ``tick`` seconds per read and never with real time: every span
    between two consecutive meter reads lasts one tick, so a FlopChargingMeter's idle charge per window is
    exactly ``idle_watts x tick`` whatever the real process does (descheduled or not on a busy host)."""

    def __init__(self, tick: float):
        self.tick, self.reads = tick, 0

    def __call__(self) -> float:
        self.reads += 1
        return self.reads * self.tick


@pytest.fixture(scope="session")
def tick_clock():
    return TickClock


class CpuTimeClock:
    """A wall clock for a FlopChargingMeter AND the forecasting protocol: this process's CPU time plus the
    seconds "slept" through it (``sleep`` only adds them; it does not wait).

    Both read the same clock, and CPU time does not pass while the process is descheduled, so a span the
    meter times and the span the protocol times around it differ only by the CPU the few statements
    between their reads take (microseconds), however busy the host: idle watts subtract out of a work
    window to within ``idle_watts x`` those microseconds, and the idle power stays ``idle_watts``."""

    def __init__(self):
        self.slept = 0.0

    def __call__(self) -> float:
        return time.process_time() + self.slept

    def sleep(self, seconds: float) -> None:
        self.slept += seconds


@contextlib.contextmanager
def _forecasting_on(clock: CpuTimeClock):
    # measure / measure_run take the clock and sleep as parameters, but the search and the classical fits
    # call them without: those names are given the clock here (by the names their callers look them up by)
    modules = [
        (importlib.import_module("lstm_energy.measure.protocol"), "measure"),
        (importlib.import_module("lstm_energy.forecast.search"), "measure_run"),
        (importlib.import_module("lstm_energy.forecast.classical"), "measure_run"),
    ]
    with pytest.MonkeyPatch.context() as patch:
        for module, name in modules:
            patch.setattr(module, name, functools.partial(getattr(module, name), clock=clock, sleep=clock.sleep))
        yield clock


@pytest.fixture(scope="session")
def cpu_time_clock():
    """``with cpu_time_clock() as clock:`` the forecasting protocol runs on a new CpuTimeClock; give the
    meter ``clock=clock`` too. A context manager, so module-scoped fixtures can use it."""
    return lambda: _forecasting_on(CpuTimeClock())


@pytest.fixture
def simulated_meter():
    return FlopChargingMeter()


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Small matrices: one BLAS thread is 3x faster here than two fighting over a loaded machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def meter_factory():
    return FlopChargingMeter


def engine_or_skip(impl):
    """Skip (with the reason) when the Cython kernels are not built here; the numpy engine always loads."""
    from lstm_energy._layers.engines import engine_available

    ok, reason = engine_available(impl)
    if not ok:
        pytest.skip(reason)


@pytest.fixture
def cython_engine():
    """Our compiled kernels, the engine the study runs on (skips with the reason when not built)."""
    engine_or_skip("cython")
    return "cython"


@pytest.fixture(params=["cython", "numpy"])
def impl(request):
    engine_or_skip(request.param)
    return request.param


def sine_series(n=240, season=12, seed=0):
    from lstm_energy.forecast.data import Series

    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 10 + 3 * np.sin(2 * np.pi * t / season) + 0.02 * t + 0.05 * rng.standard_normal(n)
    return Series("synthetic sine", values, np.datetime64("2000-01", "M") + t, "u", season, "synthetic")


@pytest.fixture(scope="session")
def synthetic_series():
    return sine_series()
