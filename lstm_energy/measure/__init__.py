"""The measurement protocol and its results.

``profile(...)`` measures one LSTM/GRU/RNN configuration and returns a ``ProfileResult`` whose
``to_record()`` is the results record (docs/results-record.md). ``measure(fn, meter, ...)`` runs the
same protocol on any callable (the pytest plugin uses it). ``environment()`` is the metadata block.

Modules: protocol (warm-up, repetitions, windows, idle baseline), statistics (median, IQR,
bootstrap CI), checks (warnings; thresholds in protocol_constants), environment, threads
(pinning), work (costs per call), runners (prepared calls of one Config), result (ProfileResult),
profile (the glue), calibration (fitting the estimator).
"""

from lstm_energy.measure.environment import environment
from lstm_energy.measure.profile import profile, profile_config
from lstm_energy.measure.protocol import Measurement, Window, calibrate_calls, measure, summarize_windows
from lstm_energy.measure.result import ProfileResult
from lstm_energy.measure.statistics import Summary, summarize

__all__ = [
    "profile",
    "profile_config",
    "ProfileResult",
    "measure",
    "Measurement",
    "Window",
    "calibrate_calls",
    "summarize_windows",
    "environment",
    "Summary",
    "summarize",
]
