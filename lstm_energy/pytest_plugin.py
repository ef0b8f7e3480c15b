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
"""

from __future__ import annotations

import contextlib
import math

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
    for name, record in results:
        energy = record.get("energy") or {}
        provenance = str(energy.get("provenance", "?"))
        rows.append(
            (
                name,
                stat(energy, "joules_per_call"),
                stat(energy, "joules_per_sequence"),
                provenance if provenance == "measured" else provenance.upper() + ", NOT MEASURED",
                str((energy.get("meter") or {}).get("name", "?")),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        terminalreporter.write_line("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


class EnergySession:
    """One meter for the whole pytest session, opened when a test first asks for energy."""

    def __init__(self, config) -> None:
        self.meter_spec = config.getoption("--energy-meter") or "auto"
        self.windows = config.getoption("--energy-windows")  # checked by argparse, like the meter name
        self.min_window_seconds = config.getoption("--energy-min-window-seconds")
        self._meter = None
        self._opened = contextlib.ExitStack()
        self.measured = 0
        self.provenances: set[str] = set()
        self.meter_names: set[str] = set()
        #: (test id, energy record) of every measurement, for the terminal summary
        self.results: list[tuple[str, dict]] = []

    def meter(self):
        if self._meter is None:
            from lstm_energy.meters import opened_meter

            self._meter = self._opened.enter_context(opened_meter(self.meter_spec))
        return self._meter

    def environment(self) -> dict:
        """The environment block, read at each measurement (a test may pin BLAS threads differently)."""
        from lstm_energy.measure import environment

        return environment()

    def close(self) -> None:
        self._opened.close()
        self._meter = None


def _check_work(name: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"energy: {name} must be a finite number >= 0, got {value!r}; pass the work of one call")
    return value


class EnergyFixture:
    """The ``energy`` fixture: ``benchmark`` plus an energy measurement stored in its extra_info."""

    def __init__(self, benchmark, session: EnergySession, settings: dict, meter=None, name: str | None = None):
        self._benchmark = benchmark
        self.name = name or str(getattr(benchmark, "fullname", None) or getattr(benchmark, "name", "?"))
        self._session = session
        self._meter = meter
        self.batch: int | None = None  # sequences per call, for joules per sequence
        self.flops: float | None = None  # work of one call, for the estimator and the record
        self.bytes: float | None = None
        self.config: dict = {}
        self.record: dict | None = None
        self.configure(**settings)

    @property
    def extra_info(self) -> dict:
        """The benchmark's extra_info (the energy record lands under ``"lstm_energy"``)."""
        return self._benchmark.extra_info

    @property
    def benchmark(self):
        """The underlying pytest-benchmark fixture."""
        return self._benchmark

    def configure(
        self,
        *,
        batch: int | None = None,
        flops: float | None = None,
        bytes: float | None = None,  # noqa: A002
        **config,
    ) -> EnergyFixture:
        """Tell the fixture the work of one call: ``batch`` sequences (for joules per sequence), ``flops`` and
        ``bytes`` per call, and optional config keys (cell, hidden_size, impl, phase, ...) for the report."""
        unknown = sorted(set(config) - set(CONFIG_KEYS))
        if unknown:
            raise ArgumentTypeError(
                f"energy.configure() got unknown keys {unknown}; allowed: batch, flops, bytes, {', '.join(CONFIG_KEYS)}"
            )
        if batch is not None:
            self.batch = positive_int("batch", batch)
        if flops is not None:
            self.flops = _check_work("flops", flops)
        if bytes is not None:
            self.bytes = _check_work("bytes", bytes)
        self.config.update(config)
        return self

    def __call__(self, function_to_benchmark, *args, **kwargs):
        """Benchmark ``function_to_benchmark(*args, **kwargs)`` like ``benchmark(...)``, then measure its energy."""
        result = self._benchmark(function_to_benchmark, *args, **kwargs)
        self._measure(lambda: function_to_benchmark(*args, **kwargs))
        return result

    def pedantic(
        self, target, args=(), kwargs=None, setup=None, teardown=None, rounds=1, warmup_rounds=0, iterations=1
    ):
        """Like ``benchmark.pedantic``. The energy windows call ``target`` with the arguments of one ``setup()``
        call (if any), reused for every call of the windows."""
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
        if setup is not None:
            made = setup()
            if made is not None:
                args, kwargs = made
        self._measure(lambda: target(*args, **kwargs))
        return result

    def _measure(self, call) -> None:
        if getattr(self._benchmark, "disabled", False):
            return  # --benchmark-disable / --benchmark-skip: nothing is timed or saved, so no energy either
        from lstm_energy.measure import measure

        meter = self._meter if self._meter is not None else self._session.meter()
        measurement = measure(
            call,
            meter,
            batch=self.batch or 1,
            flops=self.flops,
            bytes=self.bytes,
            windows=self._session.windows,
            min_window_seconds=self._session.min_window_seconds,
        )
        self.record = self._record(measurement)
        self._benchmark.extra_info[EXTRA_INFO_KEY] = self.record
        self._session.measured += 1
        self._session.results.append((self.name, self.record))
        self._session.provenances.add(measurement.provenance)
        self._session.meter_names.add(getattr(meter, "name", type(meter).__name__))

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
    """The meter the ``energy`` fixture measures with: ``--energy-meter NAME`` opened once per session.

    Override this fixture in a conftest.py to inject a meter object (e.g. a simulated one in tests)."""
    return request.config.stash[_STASH_KEY].meter()


@pytest.fixture
def energy(request, energy_meter):
    """``benchmark`` plus energy: ``energy(fn, *args)``, ``energy.pedantic(...)``, ``energy.configure(batch=..., flops=..., bytes=...)``."""
    session = request.config.stash[_STASH_KEY]
    marker = request.node.get_closest_marker("energy")
    settings = {}
    if marker is not None:
        if marker.args:
            raise ArgumentTypeError(f"@pytest.mark.energy takes keyword arguments only, got positional {marker.args!r}")
        settings = dict(marker.kwargs)
    benchmark = request.getfixturevalue("benchmark")
    yield EnergyFixture(benchmark, session, settings, meter=energy_meter, name=request.node.nodeid)
