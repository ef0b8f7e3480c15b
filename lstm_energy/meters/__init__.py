"""Energy meters: one interface (:mod:`.base`), one module per backend, auto-detection with reasons.

Measured backends: :class:`PowercapMeter` (powercap sysfs), :class:`PerfMeter` (perf ``power`` PMU),
:class:`MsrMeter` (``/dev/cpu/N/msr``), :class:`PyRaplMeter` (pyRAPL, plus wrap correction).
Estimated: ``ModelMeter`` (:mod:`.model`). Tests only: :class:`SimulatedMeter`.

``get_meter("auto")`` picks the first measured backend that works (order and reasons in
:mod:`.registry`) and falls back to the estimator only with a loud :class:`EstimatedEnergyWarning`;
``available_meters()`` says for every backend whether it works here, why not, and how to fix it;
``with opened_meter(name_or_meter) as meter:`` is how every caller takes a ``meter=`` argument.
"""

from lstm_energy.meters.base import Availability, EnergyDelta, EnergyMeter, EnergySample
from lstm_energy.meters.msr import MsrMeter
from lstm_energy.meters.perf import PerfMeter
from lstm_energy.meters.powercap import PowercapMeter
from lstm_energy.meters.pyrapl_adapter import PyRaplMeter
from lstm_energy.meters.registry import EstimatedEnergyWarning, available_meters, get_meter, opened_meter
from lstm_energy.meters.simulated import SimulatedMeter

__all__ = [
    "Availability",
    "EnergyDelta",
    "EnergyMeter",
    "EnergySample",
    "EstimatedEnergyWarning",
    "MsrMeter",
    "PerfMeter",
    "PowercapMeter",
    "PyRaplMeter",
    "SimulatedMeter",
    "available_meters",
    "get_meter",
    "opened_meter",
]
