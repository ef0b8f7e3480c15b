"""Fixtures for the forecasting tests: a simulated meter (a test double, never a measurement); and this
folder on sys.path for its helper module (forecast_presets), which ``--import-mode=importlib`` does not put
there (its name is unique to this folder, so it cannot shadow anyone else's)."""

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
