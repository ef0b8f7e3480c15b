"""Pin the compute threads for a measurement: BLAS/OpenMP pools (threadpoolctl) and PyTorch's pool."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from lstm_energy.config import check_threads_available


def check_threads(threads) -> int:
    """``threads`` when it is a positive int this process can run at once (``config.check_threads_available``:
    ArgumentTypeError for a non-int, ConfigError below 1 or above the CPUs this process may use)."""
    return check_threads_available(threads)


@contextmanager
def pinned_threads(threads: int, *, torch_too: bool = False):
    """Within the block every BLAS and OpenMP pool uses ``threads`` threads (``threadpool_limits``),
    and so does PyTorch when ``torch_too``; the previous settings come back afterwards.

    Scope: the OpenMP limit holds for the CALLING THREAD only (OpenMP's nthreads-var is per thread):
    kernels run from other Python threads inside the block keep their own pool size, so enter the
    block in the thread that runs the kernels. The BLAS (and torch) limit is process-wide: two threads
    pinning at once override each other (``profile`` pins only while it holds the host lock).

    Yields {"threads": n, "torch_threads": n or None}: what was set, for the record.
    """
    import scipy.linalg  # noqa: F401 - load SciPy's BLAS (the kernels' BLAS) so the limit reaches it
    from threadpoolctl import threadpool_limits

    try:  # the kernels' OpenMP runtime (their packed per-step products), for the same reason
        import lstm_energy.kernels  # noqa: F401
    except ImportError:  # not built: the NumPy engine needs no OpenMP pool
        pass

    threads = check_threads(threads)
    torch_module: Any = None
    previous_torch = None
    if torch_too:
        import torch

        torch_module = torch
        previous_torch = torch_module.get_num_threads()
        torch_module.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield {"threads": threads, "torch_threads": torch_module.get_num_threads() if torch_module else None}
    finally:
        if torch_module is not None:
            torch_module.set_num_threads(previous_torch)
