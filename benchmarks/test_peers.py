"""Peer comparison: cython vs numpy (reference) vs torch, per cell, phase, shape and thread count.

One test per configuration (ids like ``lstm-forward-mid-1t-cython``; select with ``-k``). Each test
times one prepared call and records in ``extra_info`` what benchmarks/ratios.py needs: the
configuration, the exact GEMM FLOPs, the threads actually in force and the allocation of one call.
"""

from dataclasses import asdict


def test_peer(peer_config, prepared, pinned_threads, peer_costs, allocation_of, timer):
    """Time one prepared call of ``peer_config``; its ratio to the peers is computed by ratios.py."""
    allocation = allocation_of(prepared.run, peer_config)  # its first call is also the warm-up

    timer.describe(
        group=peer_config.group,
        batch=prepared.batch,
        flops=peer_costs["flops_total"],
        bytes=peer_costs["bytes_expected"],
        cell=peer_config.cell,
        impl=peer_config.impl,
        phase=peer_config.phase,
        threads=peer_config.threads,
        seq_len=peer_config.sizes["seq_len"],
        input_size=peer_config.sizes["input_size"],
        hidden_size=peer_config.sizes["hidden_size"],
    )
    timer.extra_info.update(
        kind="peer",
        **asdict(peer_config),
        **peer_config.sizes,
        **peer_costs,
        preparation="lstm_energy.measure.runners.prepare",
        blas_threads=list(pinned_threads.blas),
        torch_threads=pinned_threads.torch,
        allocation=allocation,
    )
    timer(prepared.run)
