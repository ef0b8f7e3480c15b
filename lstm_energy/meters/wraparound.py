"""Counter wraparound: unwrap raw counters that wrap at a known modulus, and sample them often enough.

A RAPL energy counter is 32 bits of energy units, so it wraps every 2**32 units: 65 536 J at
15.3 µJ/unit, 262 144 J at 61 µJ/unit (328 s and 1311 s at 200 W). Between two consecutive reads
``r0`` and ``r1`` the energy is ``(r1 - r0) mod modulus``, which is exact as long as less than one
modulus of energy was used between them. A window longer than one wrap period can hide several
wraps, so a background THREAD (:class:`PeriodicSampler`) reads every counter often enough that at
most one wrap can happen between consecutive reads, given a stated maximum power::

    period_seconds = modulus_joules / max_power_watts / SAFETY_FACTOR        (SAFETY_FACTOR = 4)

e.g. 65 536 J / 1000 W / 4 = 16.4 s: a quarter of the fastest possible wrap at 1000 W, so a late
sample (a busy machine, a descheduled thread) still lands well inside one wrap. Every read by the
user is also a sample. A failed background sample is never ignored: the next ``poll()`` raises.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from lstm_energy.errors import MeterError

#: how many samples per fastest possible wrap the background thread takes
SAFETY_FACTOR = 4.0
#: default stated maximum power per counter (W); Zeus assumes the same 1000 W per RAPL counter
DEFAULT_MAX_POWER_WATTS = 1000.0


def sampler_period_seconds(
    modulus_joules: float, max_power_watts: float = DEFAULT_MAX_POWER_WATTS, safety_factor: float = SAFETY_FACTOR
) -> float:
    """Background sampling period so that at most one wrap happens between samples.

    ``modulus_joules / max_power_watts`` is the fastest possible wrap; sample ``safety_factor`` times in it.
    """
    if not modulus_joules > 0:
        raise ValueError(f"modulus_joules must be > 0, got {modulus_joules!r}; read it from the counter's range")
    if not max_power_watts > 0:
        raise ValueError(f"max_power_watts must be > 0, got {max_power_watts!r}; pass the most a domain can draw")
    if not safety_factor >= 1:
        raise ValueError(f"safety_factor must be >= 1, got {safety_factor!r}")
    return modulus_joules / max_power_watts / safety_factor


class WrapCounter:
    """One counter that only increases but wraps to 0 at ``modulus`` (raw units).

    ``total`` is the unwrapped increase since the first raw value, in raw units.
    """

    def __init__(self, modulus: float, first_raw: float):
        if not modulus > 0:
            raise ValueError(f"modulus must be > 0, got {modulus!r}")
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
            raise ValueError(f"period_seconds must be > 0, got {period_seconds!r}")
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

    def stop(self) -> None:
        """Stop the thread and wait for it. Safe to call twice."""
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()


class UnwrappedCounters:
    """Several raw counters read together, unwrapped, optionally kept fresh by a :class:`PeriodicSampler`.

    read_raw: returns the current raw value of every counter (same keys as ``moduli``).
    moduli: the wrap modulus of each counter, in its raw units.
    sampler_period_seconds: background sampling period, or None for no thread (then the caller must
        read often enough itself: less than one modulus of energy between reads).
    Thread-safe: reads are serialised, so each counter sees its raw values in time order.
    """

    def __init__(
        self,
        read_raw: Callable[[], Mapping[str, float]],
        moduli: Mapping[str, float],
        sampler_period_seconds: float | None,
        name: str = "lstm-energy-sampler",
    ):
        self._read_raw = read_raw
        self._lock = threading.Lock()
        first = read_raw()
        missing = set(moduli) - set(first)
        if missing:
            raise MeterError(f"the raw reader returned no value for {sorted(missing)}; it must read every counter")
        self._counters = {key: WrapCounter(modulus, first[key]) for key, modulus in moduli.items()}
        self._last_poll = time.monotonic()
        #: longest time between two consecutive samples, seconds (a wrap may be missed if this nears a wrap period)
        self.max_poll_gap_seconds = 0.0
        self.sampler: PeriodicSampler | None = None
        if sampler_period_seconds is not None:
            self.sampler = PeriodicSampler(self.poll, sampler_period_seconds, name)
            self.sampler.start()  # only now: the thread calls poll(), which reads self.sampler

    def poll(self) -> dict[str, float]:
        """Read every counter now; return the unwrapped totals (raw units) since construction."""
        if self.sampler is not None and self.sampler.error is not None:
            raise MeterError(
                f"the background wraparound sampler failed ({self.sampler.error!r}), so wraps after that point "
                "may have been missed; close this meter and open a new one"
            ) from self.sampler.error
        with self._lock:
            raw = self._read_raw()
            now = time.monotonic()
            self.max_poll_gap_seconds = max(self.max_poll_gap_seconds, now - self._last_poll)
            self._last_poll = now
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
