"""pytest plugin: an ``energy`` fixture that runs pytest-benchmark's ``benchmark`` and adds joules.

Registered through the ``pytest11`` entry point (``lstm_energy = "lstm_energy.pytest_plugin"``), so
it loads in every pytest run of an environment where lstm_energy is installed: this module imports
only pytest, the standard library and lstm_energy's standard-library-only modules (``records``,
``config``, ``errors``, ``cli.arg_types``) at load time; the meter, the protocol and NumPy are imported
the first time a test uses the fixture (or, for the meter registry, when ``--energy-meter`` is given).

Usage, like pytest-benchmark's ``benchmark``::

    def test_lstm_forward(energy):
        layer, x = ...
        energy.configure(batch=32, flops=f.total, bytes=t.expected, cell="lstm", hidden_size=256)
        energy(layer.forward, x)                 # or energy.pedantic(layer.forward, args=(x,), rounds=10)

    @pytest.mark.energy(batch=32, flops=1.2e9)  # the same settings as a marker
    def test_gru(energy): ...

The fixture first runs ``benchmark(...)`` (timing, rounds, --benchmark-* options unchanged), then
measures energy with the lstm_energy protocol (``lstm_energy.measure.measure``: warm-up, calibrated
windows, idle baseline) and stores the energy record in ``benchmark.extra_info["lstm_energy"]``, so
``pytest --benchmark-json out.json`` carries it and ``lstm-energy report out.json`` renders it.
Options: ``--energy-meter NAME`` (default "auto"), ``--energy-windows N``,
``--energy-min-window-seconds S``.

``energy`` requests ``benchmark`` as a fixture, so pytest-benchmark treats its tests as benchmarks
(``--benchmark-only`` runs them, ``--benchmark-skip`` skips them). The meter is opened at the first
measurement that actually happens: ``--benchmark-skip``, ``--benchmark-disable`` and xdist (where
pytest-benchmark disables timing) never probe a meter. When the meter refuses (does not open, or its
counter stalls or reads implausibly in a window), the test fails and the benchmark's
``extra_info["lstm_energy_error"]`` says why (``{"error": ..., "meter": ...}``), so the JSON is not
mistaken for a benchmark that never asked for energy. The record warns when the energy windows'
time per call is more than 2x away from pytest-benchmark's median (they would not describe the same
work), and the terminal table marks rows whose record carries protocol warnings and prints them.
"""

from __future__ import annotations

import contextlib
import math
import numbers

import pytest

from lstm_energy.cli import arg_types  # argparse converters: --energy-* values are checked as pytest parses them
from lstm_energy.config import RECORD_KEYS, positive_int
from lstm_energy.errors import ArgumentTypeError, ConfigError

# EXTRA_INFO_KEY: key of the benchmark's extra_info holding the record
from lstm_energy.records import EXTRA_INFO_KEY, benchmark_record

#: what energy.configure() and @pytest.mark.energy accept besides batch/flops/bytes: record config keys
CONFIG_KEYS = tuple(key for key in RECORD_KEYS if key != "batch")
_STASH_KEY = pytest.StashKey["EnergySession"]()


def pytest_addoption(parser):
    group = parser.getgroup("lstm_energy", "energy per benchmark (lstm_energy `energy` fixture)")
    group.addoption(
        "--energy-meter",
        default=None,  # None, not "auto": argparse would check a string default, importing the meters every run
        type=arg_types.meter_name,
        metavar="NAME",
        help="energy meter for the `energy` fixture, by name: any `lstm-energy meters` lists (a wrong one is "
        "refused with the list); default auto",
    )
    group.addoption(
        "--energy-windows",
        type=arg_types.positive_int,
        default=5,
        metavar="N",
        help="measurement windows per benchmark for the energy protocol (default 5)",
    )
    group.addoption(
        "--energy-min-window-seconds",
        type=arg_types.positive_float,
        default=0.1,
        metavar="S",
        help="shortest energy window in seconds (default 0.1; the protocol raises it to 100 counter updates)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "energy(batch=None, flops=None, bytes=None, **config): settings of the `energy` fixture "
        f"(per-sequence energy needs batch; config keys: {', '.join(CONFIG_KEYS)})",
    )
    config.stash[_STASH_KEY] = EnergySession(config)


def pytest_unconfigure(config):
    session = config.stash.get(_STASH_KEY, None)
    if session is not None:
        session.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = config.stash.get(_STASH_KEY, None)
    if session is None or not session.measured:
        return
    provenance = ", ".join(sorted(session.provenances))
    line = (
        f"lstm_energy: energy of {session.measured} benchmark(s) via meter {', '.join(sorted(session.meter_names))} "
        f"(provenance: {provenance}); stored in extra_info[{EXTRA_INFO_KEY!r}]"
    )
    not_measured = sorted(session.provenances - {"measured"})
    if not_measured:
        line += " -- " + "/".join(p.upper() for p in not_measured) + ", NOT MEASURED"
    terminalreporter.write_line(line)
    write_energy_table(terminalreporter, session.results)


def write_energy_table(terminalreporter, results: list[tuple[str, dict]]) -> None:
    """The "energy per benchmark" section: where the joules come from (each meter once, described as
    ``lstm-energy profile`` does: an estimate names its model, coefficients and source), then per test
    joules per call and per sequence (median, 95% CI), provenance and meter. Only tests that used the
    ``energy`` fixture are listed."""
    if not results:
        return
    from lstm_energy.report.units import si
    from lstm_energy.results import describe_energy_source

    def stat(block, key):
        value = (block or {}).get(key)
        if not isinstance(value, dict) or value.get("median") is None:
            return "n/a (no batch given)" if key == "joules_per_sequence" else "n/a"
        text = si(value["median"], "J")
        if value.get("ci95_low") is not None and value.get("ci95_high") is not None:
            text += f" [{si(value['ci95_low'], 'J')}, {si(value['ci95_high'], 'J')}]"
        return text

    terminalreporter.write_sep("-", "lstm_energy: energy per benchmark (median [95% CI], idle subtracted)")
    sources = [
        describe_energy_source(str(energy.get("provenance", "?")), energy.get("meter") or {})
        for energy in ((record.get("energy") or {}) for _, record in results)
    ]
    for source in dict.fromkeys(sources):  # each meter once, in the order the tests used them
        terminalreporter.write_line(f"energy: {source}")
    rows = [("benchmark", "J/call", "J/sequence", "provenance", "meter")]
    flagged: list[tuple[str, list[str]]] = []
    for name, record in results:
        energy = record.get("energy") or {}
        provenance = str(energy.get("provenance", "?"))
        warned = protocol_warnings(record)
        if warned:
            flagged.append((name, warned))
        rows.append(
            (
                name + (f" (!{len(warned)})" if warned else ""),
                stat(energy, "joules_per_call"),
                stat(energy, "joules_per_sequence"),
                provenance if provenance == "measured" else provenance.upper() + ", NOT MEASURED",
                str((energy.get("meter") or {}).get("name", "?")),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        terminalreporter.write_line("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if flagged:
        terminalreporter.write_line(
            "(!N): N warnings from the measurement protocol; treat these figures with care until they are resolved:"
        )
        for name, warned in flagged:
            terminalreporter.write_line(f"{name}:")
            for warning in warned:
                terminalreporter.write_line(f"  - {warning}")


def protocol_warnings(record: dict) -> list[str]:
    """The record's warnings except the provenance warning ("estimated"/"simulated, not measured"),
    which the summary line and the source line above the table already state for every row."""
    from lstm_energy.measure.checks import provenance_warning

    energy = record.get("energy") or {}
    provenance = provenance_warning(str(energy.get("provenance", "?")), energy.get("meter") or {})
    return [str(w) for w in record.get("warnings") or () if w != provenance]


class EnergySession:
    """One meter for the whole pytest session, opened when a test first asks for energy."""

    def __init__(self, config) -> None:
        self.meter_spec = config.getoption("--energy-meter") or "auto"
        self.windows = config.getoption("--energy-windows")  # checked by argparse, like the meter name
        self.min_window_seconds = config.getoption("--energy-min-window-seconds")
        self._meter = None
        #: why --energy-meter could not be opened (kept: the meter is not probed again for each test)
        self.open_error: Exception | None = None
        self._opened = contextlib.ExitStack()
        self.measured = 0
        self.provenances: set[str] = set()
        self.meter_names: set[str] = set()
        #: (test id, energy record) of every measurement, for the terminal summary
        self.results: list[tuple[str, dict]] = []

    def meter(self):
        """The session's meter, opened on first call; a meter that failed to open fails the same way
        for every later test without being probed again (``open_error``)."""
        if self.open_error is not None:
            raise self.open_error.with_traceback(None)  # the same error, without an earlier test's traceback
        if self._meter is None:
            from lstm_energy.errors import LstmEnergyError
            from lstm_energy.meters import opened_meter

            try:
                self._meter = self._opened.enter_context(opened_meter(self.meter_spec))
            except LstmEnergyError as err:
                self.open_error = err
                raise
        return self._meter

    def environment(self) -> dict:
        """The environment block, read at each measurement (a test may pin BLAS threads differently)."""
        from lstm_energy.measure import environment

        return environment()

    def close(self) -> None:
        self._opened.close()
        self._meter = None


#: pytest-benchmark's energy windows differ from its timing by more than this factor: the record warns
TIMING_MISMATCH_FACTOR = 2.0


def _type_name(value) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _check_work(name: str, value) -> float | None:
    """``value`` (FLOPs or bytes of one call) as a float: any real number >= 0, NumPy scalars included."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # np.integer / np.floating are Real
        raise ArgumentTypeError(
            f"energy: {name} must be a real number (int, float or a NumPy scalar), got {_type_name(value)} "
            f"{value!r}; pass the work of one call, e.g. {name}=float(...)"
        )
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ConfigError(f"energy: {name} must be a finite number >= 0, got {value!r}; pass the work of one call")
    return number


def timing_mismatch_warning(
    energy_seconds: float | None, benchmark_seconds: float | None, rounds: int | None = None
) -> str | None:
    """A warning when the energy windows' median seconds per call and pytest-benchmark's median (over
    ``rounds`` rounds) differ by more than TIMING_MISMATCH_FACTOR: then the joules per call may describe
    other work than the timing."""
    if not energy_seconds or not benchmark_seconds or energy_seconds <= 0 or benchmark_seconds <= 0:
        return None
    ratio = max(energy_seconds, benchmark_seconds) / min(energy_seconds, benchmark_seconds)
    if ratio <= TIMING_MISMATCH_FACTOR:
        return None
    from lstm_energy.report.units import si

    over = f" over {rounds} round{'s' if rounds != 1 else ''}" if rounds else ""
    return (
        f"the energy windows took {si(energy_seconds, 's')} per call but pytest-benchmark timed "
        f"{si(benchmark_seconds, 's')} (median{over}), {ratio:.1f}x apart (more than {TIMING_MISMATCH_FACTOR:g}x): "
        "the joules per call may not describe the work that was timed. Causes: a call whose cost changes when "
        "repeated (in-place work, caching, state left by setup; make each call do the same work), or too few "
        "benchmark rounds to warm up (raise --benchmark-min-rounds or --benchmark-max-time, or --benchmark-warmup on)"
    )


SETUP_WARNING = (
    "energy.pedantic(setup=/teardown=): each call of the energy windows is setup() + target + teardown(), so "
    "joules_per_call and the windows' seconds_per_call include setup and teardown, which pytest-benchmark's "
    "timing leaves out (nothing is subtracted); for the target alone, benchmark a call that can repeat without "
    "setup (e.g. `lambda: sorted(data)` rather than `list.sort` on fresh data)"
)

#: attributes of the ``energy`` fixture a test may set (anything else raises AttributeError)
_SETTABLE = frozenset({"batch", "flops", "bytes", "group", "name", "config", "record"})


class EnergyFixture:
    """The ``energy`` fixture: ``benchmark`` plus an energy measurement stored in its extra_info.

    ``group`` and ``name`` read and set pytest-benchmark's (``energy.group = "lstm-forward"``, as with
    ``benchmark``); ``batch``, ``flops`` and ``bytes`` are checked as ``configure`` checks them; setting
    any other attribute raises AttributeError rather than being silently lost."""

    def __init__(
        self,
        benchmark,
        session: EnergySession,
        settings: dict,
        meter=None,
        name: str | None = None,
        open_meter=None,
    ):
        """meter: the meter object to measure with; open_meter: or a no-argument callable returning it,
        called at the first measurement (the ``energy`` fixture passes the ``energy_meter`` fixture this
        way, so a skipped or disabled benchmark never opens a meter); neither: the session's meter.
        name: the test id shown in the terminal table."""
        self._benchmark = benchmark
        self._test_id = name or str(getattr(benchmark, "fullname", None) or getattr(benchmark, "name", "?"))
        self._session = session
        self._meter = meter
        self._open_meter = open_meter
        self.batch: int | None = None  # sequences per call, for joules per sequence
        self.flops: float | None = None  # work of one call, for the estimator and the record
        self.bytes: float | None = None
        self.config: dict = {}
        self.record: dict | None = None
        self.configure(**settings)

    def __setattr__(self, attribute: str, value) -> None:
        if attribute.startswith("_") or attribute in ("config", "record", "group", "name"):
            object.__setattr__(self, attribute, value)  # group / name: the forwarding properties below
        elif attribute == "batch":
            object.__setattr__(self, attribute, None if value is None else positive_int("batch", value))
        elif attribute in ("flops", "bytes"):
            object.__setattr__(self, attribute, _check_work(attribute, value))
        else:
            raise AttributeError(
                f"energy.{attribute} cannot be set: the energy fixture forwards only group and name to the "
                f"benchmark; settable: {', '.join(sorted(_SETTABLE - {'config', 'record'}))}; pass other settings "
                f"to energy.configure(...) (keys: batch, flops, bytes, {', '.join(CONFIG_KEYS)}) or use "
                "energy.benchmark for the pytest-benchmark fixture itself"
            )

    @property
    def extra_info(self) -> dict:
        """The benchmark's extra_info (the energy record lands under ``"lstm_energy"``)."""
        return self._benchmark.extra_info

    @property
    def benchmark(self):
        """The underlying pytest-benchmark fixture."""
        return self._benchmark

    @property
    def group(self):
        """pytest-benchmark's group of this benchmark (``energy.group = "..."`` sets the benchmark's)."""
        return getattr(self._benchmark, "group", None)

    @group.setter
    def group(self, value) -> None:
        self._benchmark.group = value

    @property
    def name(self):
        """pytest-benchmark's name of this benchmark (setting it renames the benchmark, as with ``benchmark``)."""
        return getattr(self._benchmark, "name", None)

    @name.setter
    def name(self, value) -> None:
        self._benchmark.name = value

    def configure(
        self,
        *,
        batch: int | None = None,
        flops: float | None = None,
        bytes: float | None = None,  # noqa: A002
        **config,
    ) -> EnergyFixture:
        """Tell the fixture the work of one call: ``batch`` sequences (for joules per sequence), ``flops`` and
        ``bytes`` per call (any real number >= 0, NumPy scalars included), and optional config keys (cell,
        hidden_size, impl, phase, ...) for the report."""
        unknown = sorted(set(config) - set(CONFIG_KEYS))
        if unknown:
            raise ArgumentTypeError(
                f"energy.configure() got unknown keys {unknown}; allowed: batch, flops, bytes, {', '.join(CONFIG_KEYS)}"
            )
        if batch is not None:
            self.batch = batch  # checked by __setattr__
        if flops is not None:
            self.flops = flops
        if bytes is not None:
            self.bytes = bytes
        self.config.update(config)
        return self

    def open_meter(self):
        """The meter this fixture measures with, opened now if it is not yet (a LstmEnergyError says why
        it cannot be). ``energy(...)`` calls it only when the benchmark is timed."""
        if self._meter is None:
            self._meter = self._open_meter() if self._open_meter is not None else self._session.meter()
        return self._meter

    def __call__(self, function_to_benchmark, *args, **kwargs):
        """Benchmark ``function_to_benchmark(*args, **kwargs)`` like ``benchmark(...)``, then measure its energy."""
        result = self._benchmark(function_to_benchmark, *args, **kwargs)
        self._measure(lambda: function_to_benchmark(*args, **kwargs))
        return result

    def pedantic(
        self, target, args=(), kwargs=None, setup=None, teardown=None, rounds=1, warmup_rounds=0, iterations=1
    ):
        """Like ``benchmark.pedantic``, then the energy windows.

        Without ``setup``/``teardown`` each call of the energy windows is ``target(*args, **kwargs)``. With
        them, each call is ``setup()`` (its ``(args, kwargs)`` used when it returns them, as pytest-benchmark
        does), ``target``, then ``teardown`` with the same arguments: every setup() is paired with its
        teardown() and every call does the work of one timed round. A window cannot leave setup out of
        its joules, so they include setup and teardown (nothing is subtracted) while the timing does not:
        the record says so in a warning, and warns again if the two times per call differ by more than 2x.
        """
        result = self._benchmark.pedantic(
            target,
            args=args,
            kwargs=kwargs,
            setup=setup,
            teardown=teardown,
            rounds=rounds,
            warmup_rounds=warmup_rounds,
            iterations=iterations,
        )
        kwargs = dict(kwargs or {})
        if setup is None and teardown is None:
            self._measure(lambda: target(*args, **kwargs))
            return result

        def one_round():
            call_args, call_kwargs = args, kwargs
            if setup is not None:
                made = setup()
                if made:  # pytest-benchmark's rule: a returned (args, kwargs) replaces them
                    call_args, call_kwargs = made
            try:
                target(*call_args, **call_kwargs)
            finally:
                if teardown is not None:
                    teardown(*call_args, **call_kwargs)

        self._measure(one_round, warnings=(SETUP_WARNING,))
        return result

    def _measure(self, call, warnings: tuple[str, ...] = ()) -> None:
        if getattr(self._benchmark, "disabled", False):
            return  # --benchmark-disable / xdist: nothing is timed or saved, so no energy either (no meter opened)
        from lstm_energy.errors import LstmEnergyError
        from lstm_energy.measure import measure

        meter = None
        try:
            meter = self.open_meter()
            measurement = measure(
                call,
                meter,
                batch=self.batch or 1,
                flops=self.flops,
                bytes=self.bytes,
                windows=self._session.windows,
                min_window_seconds=self._session.min_window_seconds,
            )
        except LstmEnergyError as err:
            self._note_refusal(err, meter)
            raise
        self.record = self._record(measurement)
        self._annotate(self.record, measurement, meter, warnings)
        self._benchmark.extra_info[EXTRA_INFO_KEY] = self.record
        self._session.measured += 1
        self._session.results.append((self._test_id, self.record))
        self._session.provenances.add(measurement.provenance)
        self._session.meter_names.add(getattr(meter, "name", type(meter).__name__))

    def _note_refusal(self, err: Exception, meter) -> None:
        """Say in the benchmark's extra_info why it has no energy record (the test fails all the same)."""
        from lstm_energy.records import ENERGY_ERROR_KEY

        if meter is not None:
            name = getattr(meter, "name", type(meter).__name__)
        elif err is self._session.open_error:
            name = self._session.meter_spec
        else:
            name = "?"
        self._benchmark.extra_info[ENERGY_ERROR_KEY] = {"error": str(err), "meter": name}

    def _annotate(self, record: dict, measurement, meter, warnings: tuple[str, ...]) -> None:
        """What the plugin knows beyond the protocol: its own warnings, the timing cross-check, and the
        estimator's lower bound for this benchmark's call (not the meter's session-wide work)."""
        stats = getattr(getattr(self._benchmark, "stats", None), "stats", None)
        mismatch = timing_mismatch_warning(
            measurement.seconds_per_call.median, getattr(stats, "median", None), getattr(stats, "rounds", None)
        )
        record["warnings"] = [*record["warnings"], *warnings, *([mismatch] if mismatch else [])]
        lower_bound = getattr(meter, "lower_bound", None)
        described = record["energy"].get("meter")
        if callable(lower_bound) and isinstance(described, dict) and (self.flops or self.bytes):
            bound = dict(lower_bound(flops=self.flops, bytes=self.bytes))
            bound["covers"] = (
                f"one call of this benchmark: the flops and bytes given to energy.configure; {bound['covers']}"
            )
            described["lower_bound"] = bound

    def _record(self, m) -> dict:
        """The results record (kind "benchmark"; docs/results-record.md) of one measurement."""
        return benchmark_record(
            config=self.config,
            measurement=m,
            batch=self.batch,
            flops=self.flops,
            bytes=self.bytes,
            environment=self._session.environment(),
        )


@pytest.fixture(scope="session")
def energy_meter(request):
    """The meter the ``energy`` fixture measures with: ``--energy-meter NAME`` opened once per session, at
    the first measurement that happens (the ``energy`` fixture asks for this fixture only then).

    Override this fixture in a conftest.py to inject a meter object (e.g. a simulated one in tests)."""
    return request.config.stash[_STASH_KEY].meter()


@pytest.fixture
def energy(request, benchmark):
    """``benchmark`` plus energy: ``energy(fn, *args)``, ``energy.pedantic(...)``, ``energy.configure(batch=..., flops=..., bytes=...)``.

    ``benchmark`` is a parameter, so pytest-benchmark classifies the test as a benchmark (--benchmark-only
    runs it, --benchmark-skip skips it before anything else); ``energy_meter`` is resolved only when a
    measurement is made."""
    session = request.config.stash[_STASH_KEY]
    marker = request.node.get_closest_marker("energy")
    settings = {}
    if marker is not None:
        if marker.args:
            raise ArgumentTypeError(f"@pytest.mark.energy takes keyword arguments only, got positional {marker.args!r}")
        settings = dict(marker.kwargs)
    yield EnergyFixture(
        benchmark,
        session,
        settings,
        name=request.node.nodeid,
        open_meter=lambda: request.getfixturevalue("energy_meter"),
    )
