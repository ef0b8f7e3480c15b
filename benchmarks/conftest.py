"""The peer-benchmark harness: the grid, thread pinning, prepared calls and run metadata.

Run it with ``benchmarks/run.sh`` (timing options, OpenBLAS kernel auto-detection, ratio table), or
``python -m pytest benchmarks --benchmark-disable -q`` for one untimed pass that only checks it works.

Every benchmark is one prepared call of one configuration::

    peer_config = PeerConfig(cell, phase, shape, threads, impl)
      cell   "lstm" | "gru" | "rnn"
      phase  "forward" (eval mode, no autograd) | "train" (forward + backward of one batch)
      shape  "edge" | "mid" | "big" | "seed"  (see SHAPES; x: (T, B, D), h: (B, H))
      threads 1 | 2    BLAS / OpenMP threads, pinned with threadpoolctl and torch.set_num_threads
      impl   "cython" | "numpy" | "torch"

``impl`` varies fastest in the grid, so the peers of one (cell, phase, shape, threads) run back to
back: the ratios between them are the claim (see docs/performance.md), not the absolute times.
``--peer-sweeps N`` runs the whole grid N times in a row (ids of sweeps 2.. end in ``-sweep2``...):
ratios.py then takes each configuration's median over the sweeps, so a burst of load on the shared
machine that hits one peer's few seconds in one sweep does not decide a ratio. ``--peer-sweep-start K``
numbers this process's sweeps from K: run.sh runs each sweep in its own process (sweep k with
``--peer-sweeps 1 --peer-sweep-start k``) and merges their JSONs (merge_sweeps.py), so the speed
offset a process carries is sampled too.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import tracemalloc
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from lstm_energy.config import CELLS, IMPLS
from lstm_energy.records import ENERGY_UNAVAILABLE_KEY


def _grid_module():
    """benchmarks/grid.py (SHAPES, PHASES), loaded by path: pytest's importlib mode puts no directory on
    sys.path, and the scripts beside this file import it by name."""
    spec = importlib.util.spec_from_file_location("benchmark_grid", Path(__file__).with_name("grid.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_grid = _grid_module()
SHAPES = _grid.SHAPES
PHASES = _grid.PHASES

THREADS = (1, 2)
#: square sgemm size measured at every thread count: the BLAS ceiling for GEMM efficiency
SGEMM_SIZE = 2048
#: the sgemm ceiling is measured before the peers and again after them
SGEMM_WHEN = ("first", "last")
#: environment variables that steer OpenBLAS; run.sh unsets them, the JSON records them as they were
OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
#: bytes a call may allocate beyond its returned outputs before it counts as "allocating"
#: (Python objects, small views and tuples; an (T, B, H) float32 array at edge is already 51 KiB)
ALLOCATION_SLACK_BYTES = 16 * 1024


@dataclass(frozen=True)
class PeerConfig:
    """One benchmarked configuration (one test id)."""

    cell: str
    phase: str
    shape: str
    threads: int
    impl: str
    sweep: int = 1  # which pass over the grid (--peer-sweeps, --peer-sweep-start)

    @property
    def id(self) -> str:
        suffix = f"-sweep{self.sweep}" if self.sweep > 1 else ""
        return f"{self.cell}-{self.phase}-{self.shape}-{self.threads}t-{self.impl}{suffix}"

    @property
    def group(self) -> str:
        """The peers compared side by side share a group (pytest-benchmark prints them together)."""
        return f"{self.cell}-{self.phase}-{self.shape}-{self.threads}t"

    @property
    def sizes(self) -> dict:
        return SHAPES[self.shape]


def peer_grid(sweeps: int = 1, first_sweep: int = 1):
    """Every configuration, impl varying fastest so peers run back to back; the whole grid ``sweeps``
    times over, the passes numbered from ``first_sweep``."""
    for sweep in range(first_sweep, first_sweep + sweeps):
        for cell, phase, shape, threads, impl in itertools.product(CELLS, PHASES, SHAPES, THREADS, IMPLS):
            yield PeerConfig(cell, phase, shape, threads, impl, sweep)


def pytest_addoption(parser):
    parser.addoption(
        "--peer-sweeps",
        type=int,
        default=1,
        metavar="N",
        help="run the peer grid N times in a row; ratios.py takes each configuration's "
        "median over the sweeps (default 1)",
    )
    parser.addoption(
        "--peer-sweep-start",
        type=int,
        default=1,
        metavar="K",
        help="number this process's sweeps from K (default 1): benchmarks/run.sh runs sweep k of a "
        "multi-process run with --peer-sweeps 1 --peer-sweep-start k, so merged ids stay distinct",
    )


def pytest_generate_tests(metafunc):
    if "peer_config" in metafunc.fixturenames:
        sweeps = metafunc.config.getoption("--peer-sweeps", default=1)
        if sweeps < 1:
            raise pytest.UsageError(f"--peer-sweeps must be at least 1, got {sweeps}")
        first_sweep = metafunc.config.getoption("--peer-sweep-start", default=1)
        if first_sweep < 1:
            raise pytest.UsageError(f"--peer-sweep-start must be at least 1, got {first_sweep}")
        params = [
            pytest.param(c, id=c.id, marks=[pytest.mark.torch] if c.impl == "torch" else [])
            for c in peer_grid(sweeps, first_sweep)
        ]
        metafunc.parametrize("peer_config", params)
    if "sgemm_threads" in metafunc.fixturenames:
        params = [pytest.param(t, id=f"sgemm-{SGEMM_SIZE}-{t}t-{when}") for when in SGEMM_WHEN for t in THREADS]
        metafunc.parametrize("sgemm_threads", params)


def pytest_collection_modifyitems(config, items):
    """Run the "-first" sgemm ceilings before everything else; the "-last" ones stay at the end.

    The machine is shared: measuring the BLAS ceiling twice, around the peers, and keeping the
    faster one (ratios.py) keeps a busy moment from inflating every GEMM efficiency.
    """
    first = [item for item in items if item.name.endswith("-first]") and "sgemm" in item.name]
    items[:] = first + [item for item in items if item not in first]


@pytest.fixture
def sgemm_size():
    """n of the n×n×n sgemm measured as the BLAS ceiling."""
    return SGEMM_SIZE


# --------------------------------------------------------------------------------------------------
# run metadata: which BLAS kernel, which environment


def torch_description() -> dict | None:
    """torch's version and CPU backends (oneDNN runs torch's LSTM on the CPU), None without torch."""
    try:
        import torch
    except ImportError:
        return None
    return {
        "version": torch.__version__,
        "mkldnn_enabled": bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
        "parallel_info": torch.__config__.parallel_info(),
    }


def pytest_benchmark_update_machine_info(config, machine_info):
    """Put the BLAS kernels, the OpenBLAS environment, caches and torch's build into the benchmark JSON.

    ``environment["blas"]`` is threadpoolctl's threadpool_info(): per library ``internal_api``,
    ``version`` and ``architecture`` (the OpenBLAS kernel picked at load time, e.g. "Haswell").
    """
    from lstm_energy.costs.caches import read_caches
    from lstm_energy.measure.environment import environment
    from lstm_energy.meters.microarchitecture import identify_cpu

    _torch_or_none()  # load torch's OpenMP runtime first, so threadpoolctl lists it too
    machine_info["lstm_energy"] = {
        "environment": environment(),
        "openblas_env": {k: os.environ.get(k) for k in OPENBLAS_VARIABLES},
        "torch": torch_description(),
        "caches": read_caches().as_dict(),
        # vendor, family/model and microarchitecture, for ratios.py's header (one table per CPU class)
        "cpu_id": identify_cpu().as_dict(),
    }


# --------------------------------------------------------------------------------------------------
# thread pinning


@dataclass(frozen=True)
class PinnedThreads:
    """What the pinning achieved, as read back from the libraries themselves."""

    requested: int
    blas: tuple[int, ...]  # num_threads of every BLAS library threadpoolctl sees
    torch: int | None  # torch.get_num_threads(), None when torch is not installed


def _torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    return torch


@pytest.fixture
def pinned_threads(request):
    """Pin BLAS/OpenMP (threadpoolctl) and torch's intra-op pool to the test's thread count.

    Uses lstm_energy.measure.threads.pinned_threads, the pinning ``lstm-energy profile`` uses, then
    reads the counts back from the libraries and fails the test if the pin did not hold, so a
    "1 thread" row can never silently be a 2-thread measurement.
    """
    from lstm_energy.measure.threads import pinned_threads as pin

    if "peer_config" in request.fixturenames:
        threads = request.getfixturevalue("peer_config").threads
    else:
        threads = request.getfixturevalue("sgemm_threads")
    torch = _torch_or_none()
    with pin(threads, torch_too=torch is not None):
        pools = threadpool_info()
        blas = tuple(i["num_threads"] for i in pools if i["user_api"] == "blas")
        openmp = tuple(i["num_threads"] for i in pools if i["user_api"] == "openmp")
        pinned = PinnedThreads(threads, blas, torch.get_num_threads() if torch is not None else None)
        if any(n != threads for n in blas + openmp) or (torch is not None and pinned.torch != threads):
            pytest.fail(
                f"thread pinning did not hold: asked for {threads}, BLAS libraries report {blas}, "
                f"OpenMP runtimes {openmp}, torch reports {pinned.torch}; "
                f"check OPENBLAS_NUM_THREADS/OMP_NUM_THREADS overrides"
            )
        yield pinned


# --------------------------------------------------------------------------------------------------
# prepared calls


def prepare_peer(config: PeerConfig, seed: int = 0):
    """The prepared call of one configuration, built by lstm_energy.measure.runners.prepare.

    The same function serves ``lstm-energy profile`` and ``sweep``, so these benchmarks time exactly
    the calls those commands measure. Skips (with the reason) when the impl cannot run here.
    """
    if config.impl == "torch":
        pytest.importorskip("torch", reason="impl 'torch' needs PyTorch: pip install -e '.[torch]'")
    from lstm_energy.measure.runners import prepare

    try:
        return prepare(config.cell, config.impl, config.phase, seed=seed, **config.sizes)
    except ImportError as err:  # e.g. the Cython kernels are not built
        pytest.skip(f"impl {config.impl!r} is not available: {err}")


@pytest.fixture
def prepared(peer_config, pinned_threads):
    """The prepared call (``run()``, ``batch``, ``config``) for this test's configuration."""
    return prepare_peer(peer_config)


# --------------------------------------------------------------------------------------------------
# costs and allocation


def peer_work(config: PeerConfig) -> dict:
    """The modelled work of one call, from lstm_energy.costs (analytic models, not measurements).

    gemm_flops: FLOPs inside BLAS GEMMs (multiply-add = 2): forward 2·T·B·G·H·(D+H), train = forward
    + backward ≈ 3× forward; flops_total adds the elementwise work; bytes_expected is the cache-aware
    traffic model of this machine's caches.
    """
    from lstm_energy.costs import flops, traffic

    args = dict(
        batch=config.sizes["batch"],
        seq_len=config.sizes["seq_len"],
        input_size=config.sizes["input_size"],
        hidden_size=config.sizes["hidden_size"],
        num_layers=1,
        bidirectional=False,
        phase=config.phase,
    )
    count = flops(config.cell, **args)
    return {
        "gemm_flops": int(count.gemm),
        "flops_total": int(count.total),
        "bytes_expected": int(traffic(config.cell, **args).expected),
        "work_source": f"lstm_energy.costs flops/traffic (phase={config.phase!r})",
    }


def _owned_arrays_in(value):
    """The arrays owning the memory of every numpy array reachable through tuples, lists and dicts.

    A returned view (e.g. ``y`` sliced from a (T, B, dirs*H) buffer) counts as its whole owner, once.
    """
    owners = {}
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            while isinstance(item.base, np.ndarray):
                item = item.base
            owners[id(item)] = item
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return list(owners.values())


def unreturned_output_bytes(config: PeerConfig, itemsize: int = 4) -> int:
    """Bytes of outputs a call makes but does not return: the training forward's y, h_n (, c_n).

    A "train" call is forward + backward and returns only the backward's (dx, dh0(, dc0)); the
    forward's outputs are legitimate allocations that the runner drops. Forward calls return them.
    """
    if config.phase != "train":
        return 0
    s = config.sizes
    states = 2 if config.cell == "lstm" else 1
    return itemsize * (s["seq_len"] * s["batch"] * s["hidden_size"] + states * s["batch"] * s["hidden_size"])


def measure_allocation(run, impl: str, unreturned_bytes: int = 0) -> dict:
    """Bytes one call allocates, traced with tracemalloc, compared with the bytes of its outputs.

    ``peak_bytes``: highest traced memory above the level before the call (transient + kept);
    ``output_bytes``: bytes of the arrays the call returns (their owners) plus ``unreturned_bytes``
    (outputs made inside the call but not returned, see unreturned_output_bytes); ``excess_bytes`` is
    peak minus output. Torch tensors live in c10's allocator, which tracemalloc cannot see.
    """
    if impl == "torch":
        return {
            "tool": "tracemalloc",
            "traceable": False,
            "reason": "torch allocates through c10, invisible to tracemalloc",
        }
    run()  # warm caches / lazy buffers first: we check the steady state of a prepared call
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = run()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    output_bytes = sum(a.nbytes for a in _owned_arrays_in(result)) + unreturned_bytes
    del result
    return {
        "tool": "tracemalloc",
        "traceable": True,
        "peak_bytes": int(peak - before),
        "retained_bytes": int(after - before),
        "output_bytes": int(output_bytes),
        "unreturned_output_bytes": int(unreturned_bytes),
        "excess_bytes": int(peak - before - output_bytes),
        "slack_bytes": ALLOCATION_SLACK_BYTES,
    }


@pytest.fixture
def peer_config_of():
    """``peer_config_of(cell=, phase=, shape=, threads=, impl=) -> PeerConfig`` for tests outside the grid."""
    return PeerConfig


@pytest.fixture
def peer_costs(peer_config):
    """peer_work(peer_config): GEMM FLOPs, total FLOPs and expected bytes of one call."""
    return peer_work(peer_config)


@pytest.fixture
def allocation_of():
    """``allocation_of(run, config) -> dict``: what one call of a prepared run of ``config`` allocates."""

    def allocation(run, config: PeerConfig) -> dict:
        return measure_allocation(run, config.impl, unreturned_output_bytes(config))

    return allocation


# --------------------------------------------------------------------------------------------------
# the timer: lstm_energy's energy fixture when the plugin provides it, else pytest-benchmark's


class Timer:
    """One interface over lstm_energy's ``energy`` fixture and pytest-benchmark's ``benchmark``.

    ``name`` is "energy" (times, then measures joules with the lstm_energy protocol and stores the
    record with its provenance in extra_info["lstm_energy"]) or "benchmark" (times only).
    """

    def __init__(self, name: str, fixture, benchmark):
        self.name = name
        self._fixture = fixture
        self._benchmark = benchmark

    @property
    def extra_info(self) -> dict:
        return self._benchmark.extra_info

    def describe(self, *, group: str, batch: int, flops: float, bytes: float, **config) -> None:  # noqa: A002
        """The pytest-benchmark group, and the work of one call (the energy record needs it)."""
        self._benchmark.group = group
        if self.name == "energy":
            self._fixture.configure(batch=batch, flops=flops, bytes=bytes, **config)

    def __call__(self, function, *args, **kwargs):
        return self._fixture(function, *args, **kwargs)


@pytest.fixture
def timer(request, benchmark):
    """A Timer over ``energy`` when lstm_energy's pytest plugin is loaded and its meter opens, else ``benchmark``.

    Never silent: extra_info["timer"] says which one ran and, when energy could not be measured,
    extra_info["energy_unavailable"] says why (a warning says it too). Falling back to timing only is
    for the default meter (``--energy-meter`` not given, or ``auto``): a meter named on the command
    line that cannot open ends the run with a one-line usage error, as ``lstm-energy profile --meter``
    does. The meter is opened only when the benchmark is timed (not under --benchmark-disable or xdist).
    """
    from lstm_energy.errors import LstmEnergyError

    try:
        energy = request.getfixturevalue("energy")
    except pytest.FixtureLookupError:
        benchmark.extra_info[ENERGY_UNAVAILABLE_KEY] = "lstm_energy.pytest_plugin is not loaded (-p no:lstm_energy?)"
        timer = Timer("benchmark", benchmark, benchmark)
    else:
        timer = Timer("energy", energy, benchmark)
        if not benchmark.disabled:
            try:
                energy.open_meter()
            except LstmEnergyError as err:
                named = request.config.getoption("--energy-meter", default=None)
                if named not in (None, "auto"):
                    reason = " ".join(str(err).split())
                    benchmark.skipped = True  # not timed: the run ends here (no "fixture was not used" warning)
                    pytest.exit(
                        f"--energy-meter {named}: the meter did not open: {reason}",
                        returncode=pytest.ExitCode.USAGE_ERROR,
                    )
                benchmark.extra_info[ENERGY_UNAVAILABLE_KEY] = str(err)
                warnings.warn(f"timing without energy: the energy meter did not open: {err}", stacklevel=1)
                timer = Timer("benchmark", benchmark, benchmark)
    benchmark.extra_info["timer"] = timer.name
    return timer
