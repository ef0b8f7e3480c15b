"""Target: a prepared cython call allocates nothing but the arrays it returns.

tracemalloc sees every NumPy allocation. After one warm-up call, the peak traced memory of one more
call may exceed the bytes of its outputs (the returned ones, plus a train call's forward outputs,
which the runner drops) by at most ALLOCATION_SLACK_BYTES (Python objects, tuples, views). Workspaces, gate buffers and saved activations must come from the prepared layer.
The same numbers for every benchmarked configuration are in the benchmark JSON (extra_info
"allocation") and in benchmarks/ratios.py's verdicts.
"""

import itertools

import pytest

from lstm_energy.config import CELLS

#: mid has D = H; seed has D != H, which tells a (T, B, D) buffer from a (T, B, H) one
CASES = list(itertools.product(CELLS, ("forward", "train"), ("mid", "seed")))


@pytest.mark.parametrize(("cell", "phase", "shape"), CASES, ids=["-".join(case) for case in CASES])
def test_cython_call_allocates_only_its_outputs(cell, phase, shape, allocation_of, peer_config_of):
    from lstm_energy.measure.runners import prepare

    config = peer_config_of(cell=cell, phase=phase, shape=shape, threads=1, impl="cython")
    try:
        prepared = prepare(cell, "cython", phase, **config.sizes)
    except ImportError as err:
        pytest.skip(f"the Cython kernels are not available: {err}")
    allocation = allocation_of(prepared.run, config)
    assert allocation["excess_bytes"] <= allocation["slack_bytes"], (
        f"{cell} {phase} {shape}: one call allocated {allocation['peak_bytes']} bytes at peak but its "
        f"outputs are only {allocation['output_bytes']} bytes (excess {allocation['excess_bytes']} > slack "
        f"{allocation['slack_bytes']}); move the buffer into the layer's prepared workspace"
    )
