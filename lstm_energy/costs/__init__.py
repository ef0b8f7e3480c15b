"""Cost models: exact FLOPs and cache-aware memory traffic of the recurrent kernels.

``flops(...)`` -> FlopCount (gemm, elementwise, transcendental, total); ``traffic(...)`` -> Traffic
(per-component bytes, compulsory, expected, W_hh residency, arithmetic intensity). Both carry
``convention`` and ``source``: these are analytic models, never measurements. ``count_flops(config)``
and ``count_traffic(config, caches=...)`` take a ``lstm_energy.config.Config`` (what ``flops``/``traffic``
build from their keyword arguments).
"""

from lstm_energy.costs.caches import CacheHierarchy, CacheLevel, read_caches
from lstm_energy.costs.flops import FlopCount, count_flops, flops
from lstm_energy.costs.traffic import Traffic, count_traffic, traffic

__all__ = [
    "flops",
    "traffic",
    "count_flops",
    "count_traffic",
    "FlopCount",
    "Traffic",
    "CacheHierarchy",
    "CacheLevel",
    "read_caches",
]
