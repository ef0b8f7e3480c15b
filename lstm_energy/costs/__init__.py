"""Cost models: exact FLOPs and cache-aware memory traffic of the recurrent kernels.

``flops(...)`` -> FlopCount (gemm, elementwise, transcendental, total); ``traffic(...)`` -> Traffic
(per-component bytes, compulsory, expected, W_hh residency, arithmetic intensity). Both carry
``convention`` and ``source``: these are analytic models, never measurements.
"""
from lstm_energy.costs.caches import CacheHierarchy, CacheLevel, read_caches
from lstm_energy.costs.flops import FlopCount, flops
from lstm_energy.costs.traffic import Traffic, traffic

__all__ = ["flops", "traffic", "FlopCount", "Traffic", "CacheHierarchy", "CacheLevel", "read_caches"]
