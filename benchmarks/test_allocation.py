"""Target: a prepared cython call allocates nothing but the arrays it returns.

tracemalloc sees every NumPy allocation. After one warm-up call, the peak traced memory of one more
call may exceed the bytes of its returned outputs by at most ALLOCATION_SLACK_BYTES (Python objects,
tuples, views). Workspaces, gate buffers and saved activations must come from the prepared layer.
The same numbers for every benchmarked configuration are in the benchmark JSON (extra_info
"allocation") and in benchmarks/ratios.py's verdicts.
"""
import itertools

import pytest

CELLS_AND_PHASES = list(itertools.product(("lstm", "gru", "rnn"), ("forward", "train")))


@pytest.mark.parametrize(("cell", "phase"), CELLS_AND_PHASES, ids=[f"{c}-{p}-mid" for c, p in CELLS_AND_PHASES])
def test_cython_call_allocates_only_its_outputs(cell, phase, allocation_of):
    from lstm_energy.runners import prepare

    try:
        prepared = prepare(cell, "cython", phase, batch=32, seq_len=100, input_size=256, hidden_size=256)
    except ImportError as err:
        pytest.skip(f"the Cython kernels are not available: {err}")
    allocation = allocation_of(prepared.run, "cython")
    assert allocation["excess_bytes"] <= allocation["slack_bytes"], (
        f"{cell} {phase}: one call allocated {allocation['peak_bytes']} bytes at peak but returned only "
        f"{allocation['output_bytes']} bytes of arrays (excess {allocation['excess_bytes']} > slack "
        f"{allocation['slack_bytes']}); move the buffer into the layer's prepared workspace"
    )
