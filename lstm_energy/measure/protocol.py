"""The measurement protocol for any callable: warm-up, repetition calibration, windows, idle baseline.

Protocol (``measure``)::

    1. warm-up        run ``fn`` (caches, page faults, lazy BLAS init, frequency ramp-up)
    2. calibrate      find calls_per_window so that one window lasts >= target seconds, where
                      target = max(min_window_seconds, 100 x meter.update_interval_seconds)
                      (a counter read is quantised to one update at each edge; 100 updates keep
                      that edge error at or below ~2% of a window; RAPL updates every ~1 ms:
                      Intel SDM Vol. 3B "RAPL Interfaces", see docs/energy-measurement.md).
                      The first trial is sized from the warm-up's own rate (a run at least one
                      target long when the warm-up is automatic), so one slow call cannot decide.
    3. K windows      each window: read, calls_per_window x fn(), read        -> work joules
                      then: read, time.sleep(same wall time), read           -> idle joules
                      A work window shorter than the target is not kept: calls_per_window grows
                      from that window's own length (x1.1 headroom, at most x100) and the windows
                      start over, so every kept window has the same calls; after
                      MAX_WINDOW_RESTARTS restarts short windows are kept and the Measurement's
                      warnings name their lengths.
    4. statistics     per-window values -> median, IQR, bootstrap 95% CI (statistics.py); one
                      window has no IQR, CI or CV (None) and a warning says so

A MEASURED meter's counter must count in every window: a work or idle window in which a headline
domain does not advance, runs backwards or implies an implausible power (below 0.5 W busy or
0.05 W idle, above 1,000 W; see :mod:`lstm_energy.meters.liveness`) stops the measurement with a
MeterError naming the window, so a stalled counter can never be stored as "measured 0 J". The one
check is :func:`require_counting`; it divides each span's joules by the meter's own elapsed time
between its two reads (the samples' timestamps), not by the injectable ``clock``, which only schedules
and times the calls. Every code path that turns meter reads into a Window calls it
(this protocol, and ``lstm_energy.forecast.energy.measure_run`` for one long run).

Idle baseline: INTERLEAVED, one idle window of the same length right after each work window. Why
not one baseline before/after the run: package idle power drifts with temperature (leakage) and
with background daemons on a time scale of seconds, so a baseline taken next to its own work
window tracks that drift and the subtraction removes it window by window; the idle window sees
the package at the temperature the work window left it in, which is the static power the work
window itself paid. The cost is a doubled run time, which the protocol accepts.

Dynamic energy of window k (per domain d)::

    dynamic_d = work_joules_d - (idle_joules_d / idle_seconds) * work_seconds

i.e. idle *power* times the work window's own duration, so small differences between the sleep
length and the work window length do not bias the result. Both durations are the meter's own (the
time between its two reads, ``Window.metered_seconds``) when it records them: its joules accumulated
over that span, not over the protocol clock's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from lstm_energy.errors import ConfigError, MeterError
from lstm_energy.measure import checks
from lstm_energy.measure import host_lock as host_lock_module
from lstm_energy.measure.protocol_constants import MIN_UPDATES_PER_WINDOW
from lstm_energy.measure.statistics import Summary, coefficient_of_variation, summarize
from lstm_energy.meters.liveness import NOT_COUNTING_FIX, window_problem
from lstm_energy.meters.registry import opened_meter
from lstm_energy.meters.remedies import meter_error

#: warm-up runs at least this many calls (and at least one window's worth of time when automatic)
MIN_WARMUP_CALLS = 3
#: repetition calibration aims this much above the target so a slightly faster window still meets it
CALIBRATION_HEADROOM = 1.1
#: repetition calibration grows calls by at most this factor per trial (guards against a 0-s first call)
MAX_CALIBRATION_GROWTH = 100
#: a work window shorter than the target restarts the windows with more calls at most this many times
MAX_WINDOW_RESTARTS = 3


@dataclass(frozen=True)
class Window:
    """One work window and its idle twin.

    calls: fn() calls in the work window; seconds / cpu_seconds: wall and process-CPU time of the
    work window; joules: energy per domain over the work window; idle_seconds / idle_cpu_seconds /
    idle_joules: the same for the idle (sleep) window that followed it. Wall times come from the
    protocol's clock (injectable, so tests can schedule calls in fake time).

    meter_seconds / idle_meter_seconds: the same spans as the meter itself timed them (the elapsed
    time between its two reads, ``EnergyDelta.seconds``). The plausibility check of a measured meter
    (``require_counting``) divides joules by these, never by the injectable clock, so a clock that
    disagrees with the meter cannot make a dead counter look live or a live one look dead. None when
    the window's maker did not record them; the check then falls back to the clock's seconds.
    """

    calls: int
    seconds: float
    cpu_seconds: float
    joules: Mapping[str, float]
    idle_seconds: float
    idle_joules: Mapping[str, float]
    idle_cpu_seconds: float = 0.0
    #: wall-clock span (``time.time()``, Unix seconds) from the work window's start to the idle window's end
    started_at: float = 0.0
    ended_at: float = 0.0
    meter_seconds: float | None = None
    idle_meter_seconds: float | None = None

    def metered_seconds(self) -> tuple[float, float]:
        """(work, idle) spans as the meter timed them (between its two reads), else the clock's seconds.

        The joules accumulated over the meter's span, not the protocol clock's: under load the two can
        differ by milliseconds, and idle power x that difference once pushed a small estimate below zero."""
        work_seconds = self.seconds if self.meter_seconds is None else self.meter_seconds
        idle_seconds = self.idle_seconds if self.idle_meter_seconds is None else self.idle_meter_seconds
        return work_seconds, idle_seconds

    def plausibility_spans(self) -> tuple[tuple[str, float, Mapping[str, float]], ...]:
        """(which, seconds, joules) of the work and idle spans, timed by the meter when it was recorded."""
        work_seconds, idle_seconds = self.metered_seconds()
        return (("work", work_seconds, self.joules), ("idle", idle_seconds, self.idle_joules))

    def idle_watts(self, domain: str) -> float:
        """Idle power of one domain over the idle window (the meter's own span)."""
        return self.idle_joules[domain] / self.metered_seconds()[1]

    def dynamic_joules(self, domain: str) -> float:
        """Work energy minus idle power x work duration, one domain (both spans as the meter timed them)."""
        return self.joules[domain] - self.idle_watts(domain) * self.metered_seconds()[0]


@dataclass(frozen=True)
class Measurement:
    """Everything the protocol learned about one callable under one meter.

    Per-call summaries are over the K windows; ``joules_per_call`` is dynamic (idle subtracted),
    ``total_joules_per_call`` is before subtraction; both sum the meter's headline domains.
    """

    windows: tuple[Window, ...]
    batch: int
    calls_per_window: int
    warmup_calls: int
    target_window_seconds: float
    headline_domains: tuple[str, ...]
    provenance: str
    meter_description: dict
    update_interval_seconds: float
    joules_per_call: Summary
    total_joules_per_call: Summary
    seconds_per_call: Summary
    cpu_seconds_per_call: Summary
    idle_watts: float
    domains_joules_per_call: dict
    #: coefficients of variation of per-window seconds and total joules; None for one window
    cv_seconds: float | None
    cv_joules: float | None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: seconds spent waiting for the host measurement lock before the warm-up (host_lock.py)
    lock_wait_seconds: float = 0.0
    #: times the windows started over with more calls because a work window fell short of the target
    window_restarts: int = 0

    @property
    def joules_per_sequence(self) -> Summary:
        """Dynamic joules per call / batch."""
        return self.joules_per_call.scaled(1.0 / self.batch)

    @property
    def total_joules_per_sequence(self) -> Summary:
        """Total (idle included) joules per call / batch."""
        return self.total_joules_per_call.scaled(1.0 / self.batch)

    @property
    def window_seconds(self) -> float:
        """Median wall time of a work window."""
        return summarize([w.seconds for w in self.windows]).median


def target_window_seconds(min_window_seconds: float, update_interval_seconds: float) -> float:
    """Shortest window the protocol accepts: max(min_window_seconds, 100 x counter update interval)."""
    return max(float(min_window_seconds), MIN_UPDATES_PER_WINDOW * float(update_interval_seconds))


def _run_calls(fn: Callable[[], object], calls: int) -> None:
    for _ in range(calls):
        fn()


def grown_calls(calls: int, elapsed_seconds: float, target_seconds: float) -> int:
    """Calls expected to last CALIBRATION_HEADROOM x ``target_seconds``, scaled from ``calls`` that lasted
    ``elapsed_seconds``; growth is capped at MAX_CALIBRATION_GROWTH (also for a 0-s run) and adds at
    least one call, so repeated growth always gets somewhere."""
    growth: float
    if elapsed_seconds <= 0:
        growth = MAX_CALIBRATION_GROWTH
    else:
        growth = min(MAX_CALIBRATION_GROWTH, CALIBRATION_HEADROOM * target_seconds / elapsed_seconds)
    return max(calls + 1, math.ceil(calls * growth))


def calibrate_calls(
    fn: Callable[[], object],
    target_seconds: float,
    *,
    clock: Callable[[], float] = time.perf_counter,
    max_trials: int = 12,
    first_calls: int = 1,
) -> int:
    """Smallest tried number of calls whose run lasts at least ``target_seconds``.

    Starts at ``first_calls`` (1 unless the caller knows a better guess, e.g. from the warm-up) and
    rescales by target/elapsed (x1.1 headroom, growth capped at x100 per trial) until a trial meets
    the target. Every trial also warms the code further.
    """
    if target_seconds <= 0:
        raise ConfigError(f"target_seconds must be > 0, got {target_seconds}; pass the window length in seconds")
    if isinstance(first_calls, bool) or not isinstance(first_calls, int) or first_calls < 1:
        raise ConfigError(f"first_calls must be a positive int, got {first_calls!r}; 1 is the safe start")
    calls = first_calls
    for _ in range(max_trials):
        start = clock()
        _run_calls(fn, calls)
        elapsed = clock() - start
        if elapsed >= target_seconds:
            return calls
        calls = grown_calls(calls, elapsed, target_seconds)
    return calls


def first_trial_calls(warmup_calls: int, warmup_seconds: float, target_seconds: float) -> int:
    """Calls that the warm-up's average rate predicts for ``target_seconds`` (at least 1; 1 when the
    warm-up made no calls or took no time). The rate includes the slow first calls, so the guess errs
    towards too few calls, which the calibration then grows from a trial of its own."""
    if warmup_calls < 1 or warmup_seconds <= 0:
        return 1
    return max(1, math.ceil(target_seconds * warmup_calls / warmup_seconds))


def _check_arguments(batch, windows, min_window_seconds, warmup_calls, flops, bytes_):
    if not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"batch must be a positive int (sequences per call), got {batch!r}")
    if not isinstance(windows, int) or windows < 1:
        raise ConfigError(f"windows must be a positive int, got {windows!r}; 7 or more gives a useful IQR")
    if not min_window_seconds > 0:
        raise ConfigError(f"min_window_seconds must be > 0, got {min_window_seconds!r}; 0.1 s is the default")
    if warmup_calls is not None and (not isinstance(warmup_calls, int) or warmup_calls < 0):
        raise ConfigError(f"warmup_calls must be None (automatic) or an int >= 0, got {warmup_calls!r}")
    for name, value in (("flops", flops), ("bytes", bytes_)):
        if value is not None and not value >= 0:
            raise ConfigError(f"{name} per call must be None or >= 0, got {value!r}")


def _warm_up(fn, warmup_calls, target_seconds, clock) -> tuple[int, float]:
    """Run the warm-up; automatic (None) means >= 3 calls and >= one window of time.

    Returns (calls made, seconds they took)."""
    start = clock()
    if warmup_calls is not None:
        _run_calls(fn, warmup_calls)
        return warmup_calls, clock() - start
    made = 0
    while made < MIN_WARMUP_CALLS or clock() - start < target_seconds:
        fn()
        made += 1
    return made, clock() - start


def measure(
    fn: Callable[[], object],
    meter,
    *,
    batch: int = 1,
    flops: float | None = None,
    bytes: float | None = None,  # noqa: A002 - unit name, as in EnergyMeter.note_work
    windows: int = 7,
    min_window_seconds: float = 0.1,
    warmup_calls: int | None = None,
    seed: int = 0,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
    host_lock=None,
) -> Measurement:
    """Measure the energy and time of ``fn()`` under ``meter`` with the protocol above.

    fn: a no-argument callable doing one unit of work (one batch of ``batch`` sequences).
    meter: an ``EnergyMeter`` object, or a registry name ("auto", "powercap", "model", ...) which is
    opened here and closed when the measurement ends.
    flops / bytes: work per call, passed to ``meter.note_work`` so the estimator can use it
    (measured meters ignore it). seed: seeds the bootstrap CI. clock / sleep: wall clock and idle
    sleep, injectable for tests of the protocol logic. host_lock: the host-wide lock held from the
    warm-up to the last idle window so no two lstm-energy processes measure at once
    (``host_lock.py``): None takes it as the environment configures it, False measures without it,
    or pass a HostLock; the wait is the Measurement's ``lock_wait_seconds``. The lock is taken before a
    meter given by name is opened: opening a measured meter runs a 50 ms busy load to prove it counts,
    which would otherwise land inside the windows of the measurement holding the lock.
    """
    _check_arguments(batch, windows, min_window_seconds, warmup_calls, flops, bytes)
    lock = host_lock_module.resolve(host_lock)
    # the lock first: opening a measured meter proves it counts with a 50 ms busy load
    # (meters.liveness.prove_counting), which must not land in another measurement's windows
    with lock.held() as held, opened_meter(meter) as open_meter:
        measurement = _measure_with(
            fn,
            open_meter,
            batch=batch,
            flops=flops,
            bytes_=bytes,
            windows=windows,
            min_window_seconds=min_window_seconds,
            warmup_calls=warmup_calls,
            seed=seed,
            clock=clock,
            sleep=sleep,
        )
    return replace(measurement, lock_wait_seconds=held.wait_seconds)


def _measure_with(
    fn, meter, *, batch, flops, bytes_, windows, min_window_seconds, warmup_calls, seed, clock, sleep
) -> Measurement:
    """The protocol itself, on an open meter (see ``measure``)."""
    update_interval = float(getattr(meter, "update_interval_seconds", 1e-3))
    target = target_window_seconds(min_window_seconds, update_interval)

    warmup_made, warmup_seconds = _warm_up(fn, warmup_calls, target, clock)
    calibration_target = target * CALIBRATION_HEADROOM
    first_calls = first_trial_calls(warmup_made, warmup_seconds, calibration_target)
    calls = calibrate_calls(fn, calibration_target, clock=clock, first_calls=first_calls)
    kept, calls, restarts = _measure_windows(
        fn,
        meter,
        calls,
        windows=windows,
        target=target,
        flops=flops,
        bytes_=bytes_,
        clock=clock,
        sleep=sleep,
    )
    return summarize_windows(
        kept,
        meter_description=meter.describe(),
        provenance=meter.provenance,
        headline_domains=tuple(meter.headline_domains),
        update_interval_seconds=update_interval,
        batch=batch,
        calls_per_window=calls,
        warmup_calls=warmup_made,
        target_window_seconds=target,
        seed=seed,
        window_restarts=restarts,
    )


def _measure_windows(
    fn, meter, calls, *, windows, target, flops, bytes_, clock, sleep
) -> tuple[list[Window], int, int]:
    """``windows`` windows of equal calls, each at least ``target`` seconds of work when it can be done.

    A work window shorter than the target is not kept: calls grow from that window's own length
    (``grown_calls``) and the kept windows are dropped, because the statistics assume the same calls
    in every window. After MAX_WINDOW_RESTARTS restarts short windows are kept as they come (the
    summary warns with their lengths). Returns (kept windows, calls per window, restarts)."""
    kept: list[Window] = []
    restarts = 0
    while len(kept) < windows:
        window = _measure_window(fn, meter, calls, flops=flops, bytes_=bytes_, clock=clock, sleep=sleep)
        require_counting(meter, window, index=len(kept), windows=windows)
        if window.seconds < target and restarts < MAX_WINDOW_RESTARTS:
            calls = grown_calls(calls, window.seconds, target)
            kept = []
            restarts += 1
            continue
        kept.append(window)
    return kept, calls, restarts


def _measure_window(fn, meter, calls, *, flops, bytes_, clock, sleep) -> Window:
    """One work window of ``calls`` calls and its idle twin of the same wall time."""
    cpu_start = time.process_time()
    started_at = time.time()
    start = clock()
    sample_start = meter.read()
    _run_calls(fn, calls)
    if flops is not None or bytes_ is not None:
        meter.note_work(flops=float(flops or 0.0) * calls, bytes=float(bytes_ or 0.0) * calls)
    sample_end = meter.read()
    seconds = clock() - start
    cpu_seconds = time.process_time() - cpu_start
    work = sample_end - sample_start

    idle_cpu_start = time.process_time()
    idle_start_time = clock()
    idle_start = meter.read()
    sleep(seconds)
    idle_end = meter.read()
    idle_seconds = clock() - idle_start_time
    idle_cpu_seconds = time.process_time() - idle_cpu_start
    idle = idle_end - idle_start
    return Window(
        calls,
        seconds,
        cpu_seconds,
        dict(work.joules),
        idle_seconds,
        dict(idle.joules),
        idle_cpu_seconds,
        started_at,
        time.time(),
        meter_seconds=work.seconds,
        idle_meter_seconds=idle.seconds,
    )


def require_counting(meter, window: Window, *, index: int = 0, windows: int = 1) -> None:
    """MeterError when a MEASURED meter's counter stalled or read implausibly in ``window`` (its work span
    or its idle twin); nothing for estimated and simulated meters. index / windows: where the window is
    in the measurement (named in the message).

    Power is judged over the meter's own elapsed time between its reads (``Window.meter_seconds``), not
    the protocol's injectable clock: the counter and its timestamps come from the same meter."""
    if meter.provenance != "measured":
        return
    for which, seconds, joules in window.plausibility_spans():
        problem = window_problem(meter, which, seconds, joules)
        if problem is not None:
            raise meter_error(
                f"measurement stopped in window {index + 1} of {windows} (meter {meter.name!r}): {problem}. "
                f"{meter.dead_counter_cause} No figure was stored.",
                NOT_COUNTING_FIX,
                MeterError,
            )


def summarize_windows(
    windows: list[Window] | tuple[Window, ...],
    *,
    meter_description: dict,
    provenance: str,
    headline_domains: tuple[str, ...],
    update_interval_seconds: float,
    batch: int,
    calls_per_window: int,
    warmup_calls: int,
    target_window_seconds: float,
    seed: int = 0,
    window_restarts: int = 0,
) -> Measurement:
    """Statistics and warnings over measured windows (pure: no meter, no clock; testable alone).

    A window shorter than ``target_window_seconds`` is named in a warning; window_restarts: how often
    the protocol started the windows over with more calls before keeping these (for that warning)."""
    if not windows:
        raise ConfigError("no windows to summarise; measure at least one window (windows >= 1)")
    missing = [d for d in headline_domains if d not in windows[0].joules]
    if missing:
        raise ConfigError(
            f"headline domains {missing} are not in the meter's readings {sorted(windows[0].joules)}; "
            "the meter's headline_domains must be a subset of its domains"
        )
    total = [sum(w.joules[d] for d in headline_domains) / w.calls for w in windows]
    dynamic = [sum(w.dynamic_joules(d) for d in headline_domains) / w.calls for w in windows]
    seconds = [w.seconds / w.calls for w in windows]
    cpu_seconds = [w.cpu_seconds / w.calls for w in windows]
    idle_watts = [sum(w.idle_watts(d) for d in headline_domains) for w in windows]
    domains = sorted(windows[0].joules)
    domains_dynamic = {
        d: summarize([w.dynamic_joules(d) / w.calls for w in windows], seed=seed).median for d in domains
    }
    dynamic_summary = summarize(dynamic, seed=seed)
    cv_seconds = coefficient_of_variation([w.seconds for w in windows])
    cv_joules = coefficient_of_variation(total)
    warnings = checks.protocol_warnings(
        provenance=provenance,
        meter_description=meter_description,
        cv_seconds=cv_seconds,
        cv_joules=cv_joules,
        window_count=len(windows),
        shortest_window_seconds=min(w.seconds for w in windows),
        update_interval_seconds=update_interval_seconds,
        dynamic_joules=dynamic_summary,
        target_window_seconds=target_window_seconds,
        window_seconds=[w.seconds for w in windows],
        restarts=window_restarts,
    )
    return Measurement(
        windows=tuple(windows),
        batch=batch,
        calls_per_window=calls_per_window,
        warmup_calls=warmup_calls,
        target_window_seconds=target_window_seconds,
        headline_domains=tuple(headline_domains),
        provenance=provenance,
        meter_description=meter_description,
        update_interval_seconds=update_interval_seconds,
        joules_per_call=dynamic_summary,
        total_joules_per_call=summarize(total, seed=seed),
        seconds_per_call=summarize(seconds, seed=seed),
        cpu_seconds_per_call=summarize(cpu_seconds, seed=seed),
        idle_watts=summarize(idle_watts, seed=seed).median,
        domains_joules_per_call=domains_dynamic,
        cv_seconds=cv_seconds,
        cv_joules=cv_joules,
        warnings=tuple(warnings),
        window_restarts=window_restarts,
    )
