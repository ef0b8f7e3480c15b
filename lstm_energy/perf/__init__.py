"""The Linux perf_event interface, in one place.

- :mod:`lstm_energy.perf.syscall`: the ``perf_event_open(2)`` system call through ctypes (the attr
  struct, open one counting event, enable/disable/reset, read the count).
- :mod:`lstm_energy.perf.sysfs`: how sysfs describes a PMU (``type``, ``format/``, ``events/`` with
  scale and unit) under ``/sys/bus/event_source/devices``.
- :mod:`lstm_energy.perf.hardware_counters`: instructions, cycles and LLC misses of the calling thread
  around a callable, and DRAM bytes from Intel uncore IMC CAS counts, each unavailable one with its reason.

Users: the RAPL ``power`` PMU energy meter (:mod:`lstm_energy.meters.perf`) and ``lstm-energy machine``.
"""
