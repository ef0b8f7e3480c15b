"""Test helpers shipped with the package, so users can test their energy code without RAPL hardware.

``lstm_energy.testing.fake_powercap``: faithful fake powercap sysfs trees (Intel, AMD, hex zone ids,
mmio duplicates, die mirrors, wrapping counters, root-only ``energy_uj``);
``lstm_energy.testing.power_driver``: a process advancing a fake ``energy_uj`` at a known power;
``lstm_energy.testing.fake_counters``: perf events and MSRs that count at a known power, or never.
For a synthetic meter with a known power, see :class:`lstm_energy.meters.SimulatedMeter`.
"""

from lstm_energy.testing.fake_counters import FakePerfEvents, PoweredMsrDevice
from lstm_energy.testing.fake_powercap import KINDS, FakePowercap, FakeZone, build_fake_powercap

__all__ = ["KINDS", "FakePerfEvents", "FakePowercap", "FakeZone", "PoweredMsrDevice", "build_fake_powercap"]
