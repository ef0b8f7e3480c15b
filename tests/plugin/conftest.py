"""Fixtures for the plugin tests, which run pytest in a temporary directory (pytester)."""

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # for plugin_runs, the options the tests share

#: the conftest that injects a simulated meter (a test double, never a measurement) by overriding the
#: plugin's ``energy_meter`` fixture: no monkeypatching, and nothing depends on this host's meters
SIMULATED_METER_CONFTEST = """
import pytest
from lstm_energy.meters.simulated import SimulatedMeter

@pytest.fixture(scope="session")
def energy_meter():
    meter = SimulatedMeter(idle_watts=10.0, cpu_watts=20.0)
    yield meter
    meter.close()
"""


@pytest.fixture
def simulated_meter(pytester):
    """The pytester run's ``energy_meter`` is a SimulatedMeter (10 W idle, 20 W per CPU-second)."""
    pytester.makeconftest(SIMULATED_METER_CONFTEST)


@pytest.fixture(autouse=True, scope="session")
def _lazy_imports_done_before_in_process_runs():
    """The record's environment block imports SciPy (and with it numpy.fft) and threadpoolctl lazily. Do it
    once out here, before any test of this folder: an in-process pytester run's imports are undone after
    it, and NumPy's extension modules cannot load twice in one process."""
    from lstm_energy.measure import environment

    environment()
