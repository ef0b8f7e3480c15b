"""``profile(...)``: measure joules per sequence of one LSTM/GRU/RNN configuration.

Glue only: Config (lstm_energy.config) -> costs (work.py) -> prepared runner (runners.py) -> host
lock (host_lock.py) -> meter -> pinned threads (threads.py) -> protocol (protocol.py) -> ProfileResult
(result.py) with environment metadata. The host lock comes first: opening a measured meter runs a
50 ms busy load (its liveness proof) and pinning changes the process-wide BLAS pool, and neither may
happen while another measurement of this host is running. ``profile(...)`` takes keyword arguments and builds the Config;
``profile_config(config, ...)`` takes one already built (the sweep's runner does).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from lstm_energy.config import Config
from lstm_energy.measure import host_lock as host_lock_module
from lstm_energy.measure.environment import environment
from lstm_energy.measure.protocol import measure
from lstm_energy.measure.result import ProfileResult
from lstm_energy.measure.threads import pinned_threads
from lstm_energy.measure.work import work_of
from lstm_energy.meters.registry import opened_meter

#: profile()'s keyword arguments that tune the protocol rather than name the configuration
PROTOCOL_KEYS = ("windows", "min_window_seconds", "warmup_calls", "seed")


def utc_timestamp() -> str:
    """Now, UTC, ISO 8601 with a Z and whole seconds (the record's ``created``)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def profile(
    cell: str,
    batch: int,
    seq_len: int,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    phase: str = "forward",
    impl: str = "cython",
    meter="auto",
    threads: int = 1,
    dtype: str = "float32",
    nonlinearity: str = "tanh",
    precision: str = "fp32",
    windows: int = 7,
    min_window_seconds: float = 0.1,
    warmup_calls: int | None = None,
    seed: int = 0,
) -> ProfileResult:
    """Measure one configuration on x: (T, B, D) = (seq_len, batch, input_size).

    phase: "forward" (eval) | "backward" | "train" (forward + backward); impl: "cython" | "numpy" |
    "torch"; meter: a name for ``lstm_energy.meters.get_meter`` or an EnergyMeter object; threads:
    BLAS/OpenMP (and torch) threads during the measurement. warmup_calls: None = automatic (at
    least 3 calls and one window of time). precision: "fp32" | "bf16" | "int8", the arithmetic of an
    inference forward (phase="forward" only; ``LSTM.eval(precision=...)``). See lstm_energy.measure.protocol
    for the protocol.
    """
    config = Config(
        cell=cell,
        nonlinearity=nonlinearity,
        impl=impl,
        phase=phase,
        batch=batch,
        seq_len=seq_len,
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dtype=dtype,
        threads=threads,
        precision=precision,
    )
    return profile_config(
        config,
        meter=meter,
        windows=windows,
        min_window_seconds=min_window_seconds,
        warmup_calls=warmup_calls,
        seed=seed,
    )


def profile_config(
    config: Config,
    *,
    meter="auto",
    windows: int = 7,
    min_window_seconds: float = 0.1,
    warmup_calls: int | None = None,
    seed: int = 0,
    host_lock=None,
) -> ProfileResult:
    """``profile(...)`` for a validated Config; the record's ``config`` is ``config.as_record()``.

    host_lock: as ``measure``'s (None: as the environment configures it; False: none; a HostLock). It is
    taken before the meter is opened and the threads are pinned, and held until the measurement ends.
    The record's ``environment.blas_threads`` is the BLAS thread count read back (threadpoolctl) inside
    the pinned block, not the request; a difference is a warning."""
    from lstm_energy.measure.runners import prepare_config

    prepared = prepare_config(config, seed=seed)
    costs = work_of(config)
    lock = host_lock_module.resolve(host_lock)
    with lock.held() as held, opened_meter(meter) as meter_object:
        with pinned_threads(config.threads, torch_too=config.impl == "torch"):
            env = environment()  # blas_threads read back: what is in force, not what was asked for
            measurement = measure(
                prepared.run,
                meter_object,
                batch=config.batch,
                flops=costs.total_flops,
                bytes=costs.expected_bytes,
                windows=windows,
                min_window_seconds=min_window_seconds,
                warmup_calls=warmup_calls,
                seed=seed,
                host_lock=False,  # held above
            )
    measurement = replace(measurement, lock_wait_seconds=held.wait_seconds)
    warnings = measurement.warnings
    if env["blas_threads"] is not None and env["blas_threads"] != config.threads:
        warnings = (
            *warnings,
            f"threads={config.threads} was asked for, but the BLAS pool ran {env['blas_threads']} threads "
            "(something changed the process-wide BLAS limit during the measurement); the record says "
            f"{env['blas_threads']}",
        )
    return ProfileResult(
        config=config.as_record(),
        measurement=measurement,
        costs=costs,
        environment=env,
        created=utc_timestamp(),
        warnings=warnings,
    )
