"""A counter is trusted only after it has been seen to count.

Virtual machines and containers often expose energy counters that open fine and never move (a perf
``power`` PMU whose ``energy-psys`` reads 0, an emulated powercap tree with a constant
``energy_uj``). A meter built on such a counter would store "measured, 0 J". So every MEASURED
meter proves itself twice:

* when it is probed or opened through the registry (:func:`prove_counting`): a short busy load
  (:data:`LOAD_SECONDS` of float32 matrix products on this thread) between two reads; every
  headline domain must advance and imply a plausible power;
* in every measurement window (:func:`window_problem`, called by the measurement protocol): the
  work window and its idle twin must each advance every headline domain at a plausible power.

Plausible power is a wide physical bound on what a headline domain (a CPU package, or the
platform's ``psys``) can draw, not a guess at what this machine draws. The floor depends on what ran:

* busy, 0.5 W (:data:`BUSY_FLOOR_WATTS`: the liveness load and every work window): a core running
  float32 matrix products (or the measured code) keeps its package out of deep idle, and a package
  with an active core draws watts; 0.5 W leaves a wide margin below the lowest-power RAPL parts. On a
  multi-socket server the packages the work does not run on are idle, but a server package's idle
  power (uncore, memory controllers, links) is itself several watts, so the floor holds for each;
* idle, 0.05 W (:data:`IDLE_FLOOR_WATTS`: the idle twin of each work window): even a client package
  in its deepest idle state draws tenths of a watt;

a reading under the floor means the counter is not counting (or counts something else), never that
the work was that cheap. The ceiling is the same for both, 1,000 W (:data:`CEILING_WATTS`): about
twice the highest socket TDP on sale (500 W: AMD EPYC 9965, Intel Xeon 6980P), leaving room for
short turbo excursions above TDP (PL2); a reading above it means a wrap was missed, the counter ran
backwards, or the unit is wrong.

A meter with no headline domain at all has nothing to prove and nothing to report: it is refused too.

Sub-domains (``package-0/dram``, ``/core``) are not held to these bounds: some platforms leave them
at 0 and they are never summed into the headline figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lstm_energy.errors import MeterError, MeterUnavailableError
from lstm_energy.meters.base import Availability, EnergyMeter
from lstm_energy.meters.remedies import meter_error, unavailable

#: length of the busy load that proves a counter counts: tens of RAPL updates (about 1 ms each)
LOAD_SECONDS = 0.05
#: lowest plausible watts of one headline domain while a core works (liveness load, work windows); see the docstring
BUSY_FLOOR_WATTS = 0.5
#: lowest plausible watts of one headline domain while this process sleeps (idle windows)
IDLE_FLOOR_WATTS = 0.05
#: highest plausible watts of one headline domain, busy or idle
CEILING_WATTS = 1000.0
#: side of the float32 matrices multiplied by the busy load (64 KiB each: stays in L2, keeps a core busy)
_LOAD_MATRIX_SIDE = 128

NOT_COUNTING_FIX = (
    "run on bare metal (or a host that passes RAPL through), pick another backend that counts "
    "(see `lstm-energy meters`), or choose the estimate explicitly with meter='model' / --meter model"
)


def busy_load(seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
    """Keep this thread busy for ``seconds`` with float32 matrix products (a load that draws watts)."""
    import numpy as np

    a = np.full((_LOAD_MATRIX_SIDE, _LOAD_MATRIX_SIDE), 0.5, dtype=np.float32)
    deadline = clock() + seconds
    while clock() < deadline:
        a = np.tanh(a @ a)  # tanh keeps the values bounded however many rounds run


@dataclass(frozen=True)
class LivenessProof:
    """What a meter showed under load: seconds of load and watts per headline domain."""

    seconds: float
    watts: Mapping[str, float]

    def describe(self) -> str:
        shown = ", ".join(f"{domain} {watts:.3g} W" for domain, watts in self.watts.items())
        return f"seen counting: {shown} over {self.seconds * 1e3:.0f} ms of load"


def power_problem(meter: EnergyMeter, domain: str, joules: float, seconds: float, *, busy: bool) -> str | None:
    """Why ``joules`` over ``seconds`` on a headline ``domain`` cannot be real, or None when it can.

    busy: whether a core was working during the span (the floor is then :data:`BUSY_FLOOR_WATTS`,
    else :data:`IDLE_FLOOR_WATTS`).
    """
    lowest = BUSY_FLOOR_WATTS if busy else IDLE_FLOOR_WATTS
    state = "a busy" if busy else "an idle"
    counter = meter.counter_of(domain)
    if seconds <= 0:
        return f"{domain} ({counter}) was read over {seconds:.3g} s: no time passed between two reads"
    watts = joules / seconds
    if joules == 0:
        return f"{domain} ({counter}) did not advance: 0 J over {seconds * 1e3:.0f} ms"
    if joules < 0:
        return (
            f"{domain} ({counter}) ran backwards: {joules:.6g} J over {seconds * 1e3:.0f} ms, which no "
            "counter wrap explains"
        )
    if watts < lowest:
        return (
            f"{domain} ({counter}) advanced {joules:.3g} J over {seconds * 1e3:.0f} ms = {watts:.3g} W, "
            f"below the {lowest} W {state} CPU package draws"
        )
    if watts > CEILING_WATTS:
        return (
            f"{domain} ({counter}) advanced {joules:.4g} J over {seconds * 1e3:.0f} ms = {watts:.4g} W, "
            f"above the {CEILING_WATTS:.0f} W no CPU package draws (a missed wrap, a backwards step or a wrong unit)"
        )
    return None


def headline_problems(meter: EnergyMeter, joules: Mapping[str, float], seconds: float, *, busy: bool) -> list[str]:
    """Every reason the headline domains' ``joules`` over ``seconds`` cannot be real (empty when they can).

    A meter without headline domains is itself a problem: nothing would be checked and nothing reported.
    """
    if not meter.headline_domains:
        return [
            f"meter {meter.name!r} has no headline domain (domains read: {list(meter.domains) or 'none'}), so it "
            "has no figure to report; open it with a package or platform (psys) counter"
        ]
    return [
        problem
        for domain in meter.headline_domains
        if (problem := power_problem(meter, domain, joules[domain], seconds, busy=busy)) is not None
    ]


def prove_counting(
    meter: EnergyMeter,
    *,
    load_seconds: float = LOAD_SECONDS,
    load: Callable[[float], None] = busy_load,
) -> LivenessProof:
    """Read, run ``load(load_seconds)``, read: every headline domain must advance at a plausible power.

    Power is the joules over the meter's own elapsed time between the two reads (the samples'
    timestamps), not over what the load claims to have lasted: the counter is judged on its own time.
    Returns the watts seen; raises MeterUnavailableError (reason + fix, like every meter error) naming
    the domain, its counter, what was read and the likely cause.
    """
    before = meter.read()
    load(load_seconds)
    delta = meter.read() - before
    seconds = delta.seconds
    problems = headline_problems(meter, delta.joules, seconds, busy=True)
    if problems:
        raise meter_error(
            f"opens but does not count under load: {'; '.join(problems)}. {meter.dead_counter_cause}",
            NOT_COUNTING_FIX,
        )
    return LivenessProof(seconds, {d: delta.joules[d] / seconds for d in meter.headline_domains})


def probe_measured(
    cls: type[EnergyMeter],
    open_meter: Callable[[], EnergyMeter],
    found: Callable[[EnergyMeter], tuple[str, dict]],
    failure_details: dict | None = None,
) -> Availability:
    """The probe of a measured backend: open it, prove it counts, say what was found; never raises.

    open_meter: opens the backend (MeterError when it cannot); found: (reason text, details) of an
    open meter.
    """
    try:
        meter = open_meter()
    except MeterError as err:
        return unavailable(cls.name, cls.provenance, err, failure_details)
    with meter:
        try:
            proof = prove_counting(meter)
        except MeterUnavailableError as err:
            return unavailable(cls.name, cls.provenance, err, failure_details)
        reason, details = found(meter)
        return Availability(cls.name, True, cls.provenance, f"{reason}; {proof.describe()}", details=details)


def window_problem(meter: EnergyMeter, which: str, seconds: float, joules: Mapping[str, float]) -> str | None:
    """Why one measurement window of a MEASURED meter cannot be trusted, or None.

    which: "work" (a busy span) or "idle" (named in the message); joules: per domain over the window.
    """
    problems = headline_problems(meter, joules, seconds, busy=which != "idle")
    if not problems:
        return None
    return f"the {which} window's counter cannot be trusted: {'; '.join(problems)}"
