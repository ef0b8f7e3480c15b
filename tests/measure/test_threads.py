"""lstm_energy.measure.threads.pinned_threads: the thread count of a measurement reaches every pool.

threadpoolctl limits only the libraries loaded when the limit is entered. A limit entered before the
first layer is built would miss SciPy's OpenBLAS and the kernels' OpenMP runtime, and a "1 thread"
measurement would silently run on every core; pinned_threads loads both first. Each check runs in a
fresh interpreter, where nothing is loaded yet, with OMP_NUM_THREADS=2 so the unpinned pool has two
threads on any machine.
"""

import json
import os
import subprocess
import sys

import pytest

from lstm_energy.errors import ArgumentTypeError, ConfigError
from lstm_energy.measure.threads import check_threads, pinned_threads

pytest.importorskip("lstm_energy.kernels.lowp", reason="the Cython kernels are not built")

FRESH_PROCESS = """
import json
from lstm_energy.measure.threads import pinned_threads
with pinned_threads(1) as pinned:
    from threadpoolctl import threadpool_info
    from lstm_energy import LSTM
    from lstm_energy.kernels.lowp import product_threads
    LSTM(8, 8)
    inside = {
        "pinned": pinned,
        "pools": [[i["internal_api"], i["num_threads"]] for i in threadpool_info()],
        "kernel": product_threads(512, 4096, 512),
    }
print(json.dumps({"inside": inside, "after": product_threads(512, 4096, 512)}))
"""


def run_fresh(code):
    env = {**os.environ, "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_one_pinned_thread_reaches_the_kernels_pool_loaded_inside_the_block():
    seen = run_fresh(FRESH_PROCESS)
    inside = seen["inside"]
    assert inside["pinned"] == {"threads": 1, "torch_threads": None}
    apis = {api for api, _ in inside["pools"]}
    assert "openmp" in apis, inside["pools"]  # the kernels' OpenMP runtime was loaded and limited
    assert all(n == 1 for _, n in inside["pools"]), inside["pools"]
    assert inside["kernel"] == 1  # what the kernels themselves read from their pool
    assert seen["after"] == 2  # the previous setting comes back after the block


@pytest.mark.parametrize("bad", [0, -1, 1.0, True, "1", None])
def test_thread_counts_must_be_positive_ints(bad):
    with pytest.raises((ConfigError, ArgumentTypeError), match="threads must be a positive int"):
        check_threads(bad)


def test_pinning_more_threads_than_the_process_may_use_is_refused(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})  # the OS call, not our code
    assert check_threads(2) == 2
    with pytest.raises(ConfigError, match=r"threads=3 is more than the 2 CPU\(s\)"):
        with pinned_threads(3):
            pass
