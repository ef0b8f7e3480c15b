"""This machine's roofline data: CPU, cores, caches, BLAS, measured float32 GEMM peaks (the BLAS sgemm and
the kernels' own packed GEMM; the faster is the compute roof) and triad bandwidth.

``machine_profile(refresh=False)`` measures once per machine fingerprint and caches the result under
``$XDG_CACHE_HOME/lstm_energy`` (default ``~/.cache/lstm_energy``). ``machine_info()`` only reads
facts (no measurement).
"""

from lstm_energy.machine.info import MachineInfo, machine_info
from lstm_energy.machine.roofline import machine_profile

__all__ = ["MachineInfo", "machine_info", "machine_profile"]
