"""Counter wraparound: unwrap raw counters that wrap at a known modulus, and sample them often enough.

A RAPL energy counter is 32 bits of energy units, so it wraps every 2**32 units: 65 536 J at
15.3 µJ/unit, 262 144 J at 61 µJ/unit (328 s and 1311 s at 200 W). Between two consecutive reads
``r0`` and ``r1`` the energy is ``(r1 - r0) mod modulus``, which is exact as long as less than one
modulus of energy was used between them. At the stated maximum power a counter wraps at the
earliest after::

    fastest_wrap_seconds = modulus_joules / max_power_watts

so a window longer than that can hide several wraps. A background THREAD (:class:`PeriodicSampler`)
therefore reads every counter::

    period_seconds = fastest_wrap_seconds / SAFETY_FACTOR        (SAFETY_FACTOR = 4)

e.g. 65 536 J / 1000 W / 4 = 16.4 s: a quarter of the fastest possible wrap at 1000 W, so a late
sample (a busy machine, a descheduled thread) still lands well inside one wrap. A period chosen by
the caller may be at most half the fastest wrap (:data:`MAX_PERIOD_FRACTION`). Every read by the
user is also a sample. Two guards make a missed wrap an error instead of a silent under-count:

* a failed background sample is never ignored: the next ``poll()`` raises;
* a gap between two samples longer than the fastest wrap (a suspended machine or process, a meter
  read without its sampler too rarely) makes the next user ``poll()`` raise once; reads after that
  one are consistent again, so only a window that spans the gap is lost.

The sampler thread holds its owner only weakly: a meter that is dropped without ``close()`` is
collected, and collecting it stops its thread.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections.abc import Callable, Mapping

from lstm_energy.errors import ConfigError, MeterError

#: how many samples per fastest possible wrap the background thread takes
SAFETY_FACTOR = 4.0
#: a caller-chosen sampling period may be at most this fraction of the fastest wrap (two samples per wrap)
MAX_PERIOD_FRACTION = 0.5
#: default stated maximum power per counter (W); Zeus assumes the same 1000 W per RAPL counter
DEFAULT_MAX_POWER_WATTS = 1000.0


def fastest_wrap_seconds(modulus_joules: float, max_power_watts: float = DEFAULT_MAX_POWER_WATTS) -> float:
    """The shortest time in which a counter of ``modulus_joules`` can wrap: drawing ``max_power_watts``."""
    if not modulus_joules > 0:
        raise ConfigError(f"modulus_joules must be > 0, got {modulus_joules!r}; read it from the counter's range")
    if not max_power_watts > 0:
        raise ConfigError(f"max_power_watts must be > 0, got {max_power_watts!r}; pass the most a domain can draw")
    return modulus_joules / max_power_watts


def sampler_period_seconds(
    modulus_joules: float, max_power_watts: float = DEFAULT_MAX_POWER_WATTS, safety_factor: float = SAFETY_FACTOR
) -> float:
    """Background sampling period so that at most one wrap happens between samples.

    ``modulus_joules / max_power_watts`` is the fastest possible wrap; sample ``safety_factor`` times in it.
    """
    if not safety_factor >= 1:
        raise ConfigError(f"safety_factor must be >= 1, got {safety_factor!r}")
    return fastest_wrap_seconds(modulus_joules, max_power_watts) / safety_factor


def checked_sampler_period(
    override: float | None, modulus_joules: float, max_power_watts: float = DEFAULT_MAX_POWER_WATTS
) -> float:
    """The background sampling period: ``override`` when given, else :func:`sampler_period_seconds`.

    An override must be > 0 and at most half the fastest wrap, else ConfigError saying the limit and why.
    """
    fastest = fastest_wrap_seconds(modulus_joules, max_power_watts)
    if override is None:
        return fastest / SAFETY_FACTOR
    limit = fastest * MAX_PERIOD_FRACTION
    if not 0 < override <= limit:
        raise ConfigError(
            f"sampler_period_seconds={override!r} is not in (0, {limit:.4g}] s: the fastest-wrapping counter spans "
            f"{modulus_joules:.6g} J, which it can use up in {fastest:.4g} s at max_power_watts={max_power_watts:g} W, "
            "and it must be sampled at least twice per wrap or wraps are missed. Pass a shorter period, leave it "
            "None (derived from the range), or state a lower max_power_watts if this machine cannot draw that much"
        )
    return float(override)


class WrapCounter:
    """One counter that only increases but wraps to 0 at ``modulus`` (raw units).

    ``total`` is the unwrapped increase since the first raw value, in raw units.
    """

    def __init__(self, modulus: float, first_raw: float):
        if not modulus > 0:
            raise ConfigError(f"modulus must be > 0, got {modulus!r}; read it from the counter's range")
        self.modulus = float(modulus)
        self._check(first_raw)
        self._last = first_raw
        self.total = 0.0
        self.wraps = 0

    def _check(self, raw: float) -> None:
        if not 0 <= raw < self.modulus:
            raise MeterError(
                f"raw counter value {raw!r} is outside [0, {self.modulus!r}): the counter's range is wrong "
                "(re-open the meter; report a bug if it persists)"
            )

    def update(self, raw: float) -> float:
        """Fold in a new raw value (read after the previous one); return the unwrapped total."""
        self._check(raw)
        step = raw - self._last
        if step < 0:
            step += self.modulus
            self.wraps += 1
        self.total += step
        self._last = raw
        return self.total


class PeriodicSampler:
    """A daemon thread calling ``sample()`` every ``period_seconds`` from :meth:`start` until :meth:`stop`.

    An exception raised by ``sample`` is kept in ``error`` (and the thread stops sampling) so that the
    owner can raise it on the next user read; ``samples_taken`` counts completed samples.
    """

    def __init__(self, sample: Callable[[], object], period_seconds: float, name: str = "lstm-energy-sampler"):
        if not period_seconds > 0:
            raise ConfigError(f"period_seconds must be > 0, got {period_seconds!r}")
        self.period_seconds = float(period_seconds)
        self._sample = sample
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self.samples_taken = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> PeriodicSampler:
        """Start the thread (separate from construction so the owner can store the sampler first)."""
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.wait(self.period_seconds):
            try:
                self._sample()
            except BaseException as err:  # kept and re-raised by the owner; never swallowed
                self.error = err
                with self._changed:
                    self._changed.notify_all()
                return
            with self._changed:
                self.samples_taken += 1
                self._changed.notify_all()

    def wait_for_samples(self, count: int, timeout: float) -> bool:
        """Block until ``samples_taken >= count`` (True) or ``timeout`` seconds pass or sampling failed (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.samples_taken >= count or self.error is not None, timeout) and (
                self.samples_taken >= count
            )

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def request_stop(self) -> None:
        """Ask the thread to end after its current sample, without waiting for it (safe from a finalizer)."""
        self._stopping.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the thread to end; True when it has (or never started)."""
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """Stop the thread and wait for it. Safe to call twice."""
        self.request_stop()
        self.join()


def _sample_if_alive(counters_ref: weakref.ref[UnwrappedCounters]) -> None:
    """The sampler thread's job: sample the counters while their owner keeps them; nothing once collected."""
    counters = counters_ref()
    if counters is not None:
        counters.sample()


class UnwrappedCounters:
    """Several raw counters read together, unwrapped, kept fresh by a :class:`PeriodicSampler`.

    read_raw: returns the current raw value of every counter (same keys as ``moduli``).
    moduli: the wrap modulus of each counter, in its raw units.
    range_joules: the modulus of the fastest-wrapping counter in joules; with ``max_power_watts`` it
        gives the fastest wrap, which sets the sampling period and the longest gap allowed between
        two samples (see the module docstring).
    background_sampling: False = no thread (then the caller must read at least once per fastest wrap).
    sampler_period_seconds: override the derived period (at most half the fastest wrap).
    Thread-safe: reads are serialised, so each counter sees its raw values in time order.
    """

    def __init__(
        self,
        read_raw: Callable[[], Mapping[str, float]],
        moduli: Mapping[str, float],
        *,
        range_joules: float,
        max_power_watts: float = DEFAULT_MAX_POWER_WATTS,
        background_sampling: bool = True,
        sampler_period_seconds: float | None = None,
        name: str = "lstm-energy-sampler",
        clock: Callable[[], float] = time.monotonic,
    ):
        self.fastest_wrap_seconds = fastest_wrap_seconds(range_joules, max_power_watts)
        period = checked_sampler_period(sampler_period_seconds, range_joules, max_power_watts)
        self._read_raw = read_raw
        self._clock = clock
        self._lock = threading.Lock()
        first = read_raw()
        missing = set(moduli) - set(first)
        if missing:
            raise MeterError(f"the raw reader returned no value for {sorted(missing)}; it must read every counter")
        self._counters = {key: WrapCounter(modulus, first[key]) for key, modulus in moduli.items()}
        self._last_poll = clock()
        #: longest time between two consecutive samples, seconds
        self.max_poll_gap_seconds = 0.0
        #: why the last samples cannot be trusted (a gap longer than the fastest wrap), raised by the next poll
        self._missed_wraps: str | None = None
        self.sampler: PeriodicSampler | None = None
        if background_sampling:
            self.sampler = PeriodicSampler(functools.partial(_sample_if_alive, weakref.ref(self)), period, name)
            weakref.finalize(self, self.sampler.request_stop)  # collected without close(): the thread ends too
            self.sampler.start()  # only now: the thread calls sample(), which reads self.sampler

    def sample(self) -> dict[str, float]:
        """Read every counter now and fold the values in; return the unwrapped totals (raw units).

        The background thread calls this: a gap since the previous sample longer than the fastest wrap
        is remembered for the next :meth:`poll` to raise, not raised here (the thread must not die of it).
        """
        with self._lock:
            return self._fold_in_raw()

    def poll(self) -> dict[str, float]:
        """A user read: :meth:`sample`, or MeterError when the sampler failed or wraps may have been missed."""
        if self.sampler is not None and self.sampler.error is not None:
            raise MeterError(
                f"the background wraparound sampler failed ({self.sampler.error!r}), so wraps after that point "
                "may have been missed; close this meter and open a new one"
            ) from self.sampler.error
        with self._lock:
            totals = self._fold_in_raw()
            missed, self._missed_wraps = self._missed_wraps, None
        if missed is not None:
            raise MeterError(
                f"{missed} (the sampler thread was suspended, or the meter was read without one too rarely). "
                "This read is not trusted; measure the window again (reads from now on are consistent), keep "
                "background sampling on, and do not suspend the machine or process during a measurement"
            )
        return totals

    def _fold_in_raw(self) -> dict[str, float]:
        """Read the raw counters, note the gap since the previous read, unwrap (the caller holds the lock)."""
        raw = self._read_raw()
        now = self._clock()
        gap = now - self._last_poll
        self.max_poll_gap_seconds = max(self.max_poll_gap_seconds, gap)
        self._last_poll = now
        if gap > self.fastest_wrap_seconds:
            self._missed_wraps = (
                f"{gap:.4g} s passed between two reads of the energy counters, longer than the fastest possible "
                f"wrap ({self.fastest_wrap_seconds:.4g} s at the stated maximum power), so wraps may have been "
                "missed and a window spanning that gap would be under-counted"
            )
        return {key: counter.update(raw[key]) for key, counter in self._counters.items()}

    @property
    def wraps(self) -> dict[str, int]:
        """How many wraps each counter has made since construction."""
        with self._lock:
            return {key: counter.wraps for key, counter in self._counters.items()}

    def close(self) -> None:
        """Stop the background sampler. Safe to call twice."""
        if self.sampler is not None:
            self.sampler.stop()


def microjoule_counters(
    read_raw: Callable[[], Mapping[str, float]],
    moduli_uj: Mapping[str, float],
    *,
    max_power_watts: float,
    background_sampling: bool,
    sampler_period_seconds: float | None,
    name: str,
) -> UnwrappedCounters:
    """UnwrappedCounters over counters that count microjoules (powercap's ``energy_uj``, pyRAPL's reads):
    the fastest wrap is that of the smallest range."""
    return UnwrappedCounters(
        read_raw,
        moduli_uj,
        range_joules=min(moduli_uj.values()) * 1e-6,
        max_power_watts=max_power_watts,
        background_sampling=background_sampling,
        sampler_period_seconds=sampler_period_seconds,
        name=name,
    )
