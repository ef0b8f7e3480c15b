"""Results storage: the versioned record schema, an append-and-flush JSON Lines writer, and loaders.

One record per measured configuration (docs/results-record.md). Records are appended to a ``.jsonl``
file as they are made and flushed to the kernel at once, so a sweep killed with SIGKILL loses nothing
but the point it was measuring. Loading reads sweep ``.jsonl`` files and pytest-benchmark ``.json``
files (whose benchmarks carry the record in ``extra_info["lstm_energy"]``) alike; a corrupt or
truncated line is reported by file and line number and skipped, never fatal::

    loaded = load_records("reports/quick.jsonl", "bench.json")
    loaded.records, loaded.problems          # valid records, [LoadProblem(path, line, message)]
    df = load_dataframe("reports/quick.jsonl")   # one row per record, dotted column names; a missing
                                                 # path raises FileNotFoundError, skipped lines warn
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lstm_energy import output_paths
from lstm_energy.config import RECORD_KEYS
from lstm_energy.errors import ArgumentTypeError, ConfigError, ResultsSchemaError
from lstm_energy.meters.base import PROVENANCES
from lstm_energy.records import (
    BENCHMARK_KIND,
    ENERGY_ERROR_KEY,
    ENERGY_UNAVAILABLE_KEY,
    EXTRA_INFO_KEY,
    FORECAST_BASELINE_KIND,
    FORECAST_PRECISION_KIND,
    FORECAST_TRIAL_KIND,
    PROFILE_KIND,
    SCHEMA_VERSION,
)

# SCHEMA_VERSION (with its history) and the record kinds are defined once, in lstm_energy.records,
# where records are built; they are imported here, and stay importable from here. PROVENANCES (what
# produced a record's energy) is defined once, by the meter interface that declares it, and checked here.

#: config keys that identify a point of a sweep (the resume key): the record's config keys, defined by Config
CONFIG_KEYS = RECORD_KEYS
#: config keys a "profile" record must have
REQUIRED_PROFILE_CONFIG = ("cell", "impl", "phase", "batch", "seq_len", "input_size", "hidden_size")


#: what writes each record kind: errors about a file say what it holds and where that came from
KIND_WRITERS = {
    PROFILE_KIND: "`lstm-energy sweep -o`",
    BENCHMARK_KIND: "the pytest plugin's energy fixture (`pytest --benchmark-json`)",
    FORECAST_TRIAL_KIND: "`lstm-energy forecast --records`",
    FORECAST_PRECISION_KIND: "`lstm-energy forecast --records`",
    FORECAST_BASELINE_KIND: "`lstm-energy forecast --records`",
}


class SkippedRecordsWarning(UserWarning):
    """A loader skipped corrupt, truncated or invalid lines (each named, file:line: why); the rest loaded."""


@dataclass(frozen=True)
class LoadProblem:
    """A line or file that could not be loaded: where, and why (the record was skipped)."""

    path: str
    line: int | None  # 1-based line number; None when the whole file is at fault
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message} (skipped)"


@dataclass
class LoadedResults:
    """Valid records (each annotated with ``_source = {"path", "line"}``) and what was skipped."""

    records: list[dict] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)


# --------------------------------------------------------------------------------------- validation


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _require_mapping(record: dict, key: str, where: str) -> dict:
    value = record.get(key)
    if not isinstance(value, dict):
        raise ResultsSchemaError(
            f"{where}: {key!r} must be an object, got {type(value).__name__} ({value!r:.60}); "
            "records are made by lstm_energy.records (e.g. ProfileResult.to_record()) - regenerate the file"
        )
    return value


def _require_stat(block: dict, key: str, where: str) -> None:
    stat = block.get(key)
    if not isinstance(stat, dict) or not _is_number(stat.get("median")):
        raise ResultsSchemaError(
            f"{where}: {key!r} must be an object with a numeric 'median', got {stat!r:.80}; "
            "see docs/results-record.md for the statistics block"
        )
    _refuse_non_finite_median(block, key, where)


def _refuse_non_finite_median(block: dict, key: str, where: str) -> None:
    """A NaN or infinite median is no figure (the writer stores null and a warning instead, since JSON has no
    NaN): a record holding one came from another writer or an edit, and its headline cannot be shown."""
    stat = block.get(key)
    median = stat.get("median") if isinstance(stat, dict) else None
    if isinstance(median, float) and not math.isfinite(median):  # NaN and inf are floats
        raise ResultsSchemaError(
            f"{where}: {key!r} has a median of {median!r}, not a finite number; lstm_energy writes a non-finite "
            "figure as null with a warning - regenerate the record or correct it"
        )


def validate_record(record) -> dict:
    """Check a record against the schema and return it (upgraded to SCHEMA_VERSION).

    Raises ResultsSchemaError naming the offending key, the value seen and what to do. Unknown
    extra keys are allowed (a newer minor addition must not break an older reader).
    """
    if not isinstance(record, dict):
        raise ResultsSchemaError(
            f"a results record must be a JSON object, got {type(record).__name__}; "
            "each line of a .jsonl results file holds one record"
        )
    version = record.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ResultsSchemaError(
            f"'schema_version' must be an int >= 1, got {version!r}; this is not an lstm_energy record"
        )
    if version > SCHEMA_VERSION:
        raise ResultsSchemaError(
            f"record has schema_version {version} but this lstm_energy reads up to {SCHEMA_VERSION}; "
            "upgrade lstm_energy to read it"
        )
    record = upgrade_record(record)
    kind = record.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ResultsSchemaError(f"'kind' must be a non-empty string, got {kind!r}")
    if kind not in (PROFILE_KIND, BENCHMARK_KIND):
        return record  # other jobs' kinds (e.g. forecast) carry their own blocks; pass them through
    where = f"{kind} record"
    energy = _require_mapping(record, "energy", where)
    provenance = energy.get("provenance")
    if provenance not in PROVENANCES:
        raise ResultsSchemaError(
            f"{where}: energy.provenance must be one of {PROVENANCES}, got {provenance!r}; "
            "every energy figure must say whether it was measured, estimated or simulated"
        )
    if not isinstance(energy.get("meter"), dict):
        raise ResultsSchemaError(
            f"{where}: energy.meter must be the meter's describe() object, got {energy.get('meter')!r:.60}"
        )
    _require_stat(energy, "joules_per_call", where + ": energy")
    _refuse_non_finite_median(energy, "joules_per_sequence", where + ": energy")  # optional, but the headline
    _require_stat(_require_mapping(record, "time", where), "seconds_per_call", where + ": time")
    if kind == PROFILE_KIND:
        config = _require_mapping(record, "config", where)
        missing = [k for k in REQUIRED_PROFILE_CONFIG if k not in config]
        if missing:
            raise ResultsSchemaError(
                f"{where}: config lacks {missing}; a profile record needs {list(REQUIRED_PROFILE_CONFIG)}"
            )
    return record


def upgrade_record(record: dict) -> dict:
    """Bring an older record up to SCHEMA_VERSION (version 1 is current: nothing to do yet)."""
    return record


def config_key(config: dict) -> str:
    """Canonical string of a config (the sweep's resume key): the CONFIG_KEYS present, sorted."""
    subset = {k: config.get(k) for k in CONFIG_KEYS if k in config}
    if subset.get("precision") in ("fp32", None):  # records written before issue 18 have none: fp32
        subset.pop("precision", None)
    return json.dumps(subset, sort_keys=True, separators=(",", ":"))


# ------------------------------------------------------------------------------ describing what a file holds


def describe_contents(loaded: LoadedResults) -> str:
    """What a loaded file holds, for an error: "16 forecast_trial, 4 forecast_baseline records (written
    by `lstm-energy forecast --records`)", or "no valid records (first problem: ...)"."""
    counts: dict[str, int] = {}
    for record in loaded.records:
        counts[str(record.get("kind"))] = counts.get(str(record.get("kind")), 0) + 1
    if not counts:
        if not loaded.problems:
            return "no lstm_energy records"
        first = loaded.problems[0]
        return f"no valid lstm_energy records (line {first.line}: {first.message})"
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items(), key=lambda item: -item[1]))
    writers = sorted({KIND_WRITERS.get(kind, "an unknown writer") for kind in counts})
    return f"{kinds} record(s) (written by {' and '.join(writers)})"


def require_kinds(
    path: str | os.PathLike, loaded: LoadedResults, kinds: tuple[str, ...], wanted: str, *, exclusive: bool
) -> None:
    """ResultsSchemaError unless ``loaded`` (the records of ``path``) holds a record of ``kinds`` (and,
    when ``exclusive``, none of another kind); ``wanted`` says what the caller takes, e.g. "compare
    takes sweep results"."""
    foreign = exclusive and any(r.get("kind") not in kinds for r in loaded.records)
    if foreign or not any(r.get("kind") in kinds for r in loaded.records):
        raise ResultsSchemaError(f"{str(path)!r} holds {describe_contents(loaded)}; {wanted}")


def describe_energy_source(provenance: str, meter: Mapping) -> str:
    """Where a table's joules come from, in one line, as ``lstm-energy profile`` states it: measured by
    which meter (its counter and headline domains), or estimated by which model with its coefficients
    and their source (``meter`` is the meter's ``describe()``, a record's ``energy.meter``). Tables that
    mark rows only "(estimated)" print this once (the forecast command, the pytest plugin's summary).

    Measured and simulated meters state no ``source``: they name their ``counter`` and
    ``headline_domains`` instead, which is what the line then quotes."""
    name = meter.get("name", "?")
    if provenance == "estimated":
        source = meter.get("source") or "source not stated by the meter"
        model = f"{meter['model']}; " if meter.get("model") else ""
        calibrated = f"; calibrated profile {meter.get('profile_path')}" if meter.get("calibrated") else ""
        return f"ESTIMATED, NOT MEASURED, by the {name!r} estimator: {model}{source}{calibrated}"
    source = meter.get("source") or _counter_text(meter) or "source not stated by the meter"
    if provenance == "measured":
        return f"MEASURED by the {name!r} meter ({source})"
    return f"{str(provenance).upper()} (tests only), NOT MEASURED, by the {name!r} meter: {source}"


def _counter_text(meter: Mapping) -> str | None:
    """ "COUNTER, headline domain(s) D" from a meter description's ``counter`` and ``headline_domains``."""
    counter = meter.get("counter")
    headline = meter.get("headline_domains")
    domains = [str(d) for d in headline] if isinstance(headline, (list, tuple)) else []
    parts = [str(counter)] if counter else []
    if domains:
        parts.append(f"headline domain{'s' if len(domains) > 1 else ''} {' + '.join(domains)}")
    return ", ".join(parts) or None


# ------------------------------------------------------------------------------------------ writing


def check_writable(path: str | os.PathLike, flag: str) -> None:
    """ConfigError, in one line, when a results file cannot be created or appended at ``path`` (given as
    ``flag``, e.g. "-o"), before a run spends minutes measuring (lstm_energy.output_paths)."""
    output_paths.check_writable_file(path, flag, _choose_writable(flag))


def check_fresh_or_resumed(
    path: str | os.PathLike, flag: str, *, resume: bool, example: str = "results.jsonl", also: str = ""
) -> None:
    """ConfigError, in one line, when the results file ``path`` (given as ``flag``, e.g. "-o") is a
    directory, or already has records and ``resume`` is off: a run appends, so a second run written into
    the file unasked would sit beside (or duplicate) the first. ``example``: a file name to suggest
    under a directory; ``also``: another way on the command offers (e.g. "--overwrite to start afresh")."""
    target = Path(path)
    if target.is_dir():
        raise ConfigError(
            f"{flag} {str(path)!r} is a directory; pass a results file path such as {str(target / example)!r}"
        )
    if not resume and target.is_file() and _has_content(target):
        others = f", {also}," if also else ""
        raise ConfigError(
            f"results file {str(path)!r} already has records; pass --resume to continue it{others} "
            f"or choose a new {flag} path"
        )


def _has_content(path: Path) -> bool:
    """Whether ``path`` holds anything but whitespace (a file of blank lines has no records to keep)."""
    with open(path, "rb") as file:
        return any(chunk.strip() for chunk in iter(lambda: file.read(1 << 16), b""))


def _choose_writable(flag: str) -> str:
    return f"choose a writable path for {flag}"


class ResultsWriter:
    """Append records to a JSON Lines file, one per line, each flushed and fsync'ed as it is written.

    If the file ends in a partial line (a writer killed mid-write), the next record starts on a new
    line so the damage stays confined to the one truncated line, which loaders report and skip.
    A path that cannot be written (no permission, /proc, a file where a directory should be) raises
    ConfigError saying so.
    """

    def __init__(self, path: str | os.PathLike, *, validate: bool = True):
        self.path = Path(path)
        self.validate = validate
        output_paths.make_parent(self.path, "results file", _choose_writable("the results file"))
        try:
            needs_newline = self.path.exists() and self.path.stat().st_size > 0 and not _ends_with_newline(self.path)
            self._file = open(self.path, "a", encoding="utf-8")
        except OSError as err:  # an unwritable path is a usage error, said in one line
            raise output_paths.unwritable(
                self.path, "results file", err, _choose_writable("the results file")
            ) from None
        if needs_newline:
            self._file.write("\n")
            self._file.flush()

    def append(self, record: dict) -> None:
        """Validate ``record`` and append it as one line, flushed to the OS and to disk."""
        if self.validate:
            record = validate_record(record)
        record = _replace_non_finite(record)
        line = json.dumps(record, sort_keys=False, separators=(",", ":"), allow_nan=False, default=_json_default)
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _replace_non_finite(record: dict) -> dict:
    """NaN and inf are not JSON: store them as null and say so in the record's warnings."""
    replaced: list[str] = []

    def clean(value, path):
        if isinstance(value, float) and not math.isfinite(value):
            replaced.append(f"{path}={value}")
            return None
        if isinstance(value, dict):
            return {k: clean(v, f"{path}.{k}" if path else k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    cleaned = clean(record, "")
    if replaced:
        cleaned["warnings"] = list(cleaned.get("warnings") or []) + [
            f"non-finite values stored as null (JSON has no NaN/inf): {', '.join(replaced)}"
        ]
    return cleaned


def _json_default(value):
    """NumPy scalars and arrays, tuples of them: make them JSON (records hold plain numbers)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise ArgumentTypeError(f"results records hold JSON values only; got {type(value).__name__} ({value!r:.60})")


# ------------------------------------------------------------------------------------------ loading


def load_records(*paths: str | os.PathLike) -> LoadedResults:
    """Load every valid record from sweep ``.jsonl`` files and pytest-benchmark ``.json`` files.

    A file that is missing or unreadable, and every corrupt, truncated or invalid line, becomes a
    LoadProblem naming the file and line; the rest still load. A file that is one JSON document of
    another kind (a machine profile, any other object) is no results file at all: ResultsSchemaError,
    naming what it is.
    """
    if not paths:
        raise ConfigError("load_records needs at least one path, got none; pass RESULTS.jsonl or BENCH.json files")
    loaded = LoadedResults()
    for path in paths:
        _load_one(Path(path), loaded)
    return loaded


def _load_one(path: Path, loaded: LoadedResults) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        loaded.problems.append(LoadProblem(str(path), None, f"cannot read the file: {err.strerror or err}"))
        return
    except UnicodeDecodeError as err:
        loaded.problems.append(
            LoadProblem(
                str(path),
                None,
                f"not UTF-8 text (byte {err.object[err.start : err.start + 1]!r} at offset {err.start}); "
                "pass a results .jsonl written by `lstm-energy sweep -o` or a pytest-benchmark .json",
            )
        )
        return
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as err:
        whole = None
        if path.suffix == ".json":  # one JSON document (pytest-benchmark): a parse error spoils it all
            loaded.problems.append(
                LoadProblem(
                    str(path),
                    err.lineno,
                    f"not valid JSON: {err.msg} (column {err.colno}); a truncated pytest-benchmark file? re-run it",
                )
            )
            return
    if whole is None and _is_markup(text):  # read line by line, a page would give one "corrupt line" per line
        raise ResultsSchemaError(f"{str(path)!r} is {_markup_kind(text)}, not results: {RESULTS_FORMATS}")
    if whole is not None:
        foreign = _foreign_document(whole)
        if foreign is not None:
            hint = (
                f"; a machine profile goes to `lstm-energy report --machine {path}`"
                if foreign == MACHINE_PROFILE
                else ""
            )
            raise ResultsSchemaError(f"{str(path)!r} is {foreign}, not results: {RESULTS_FORMATS}{hint}")
    if isinstance(whole, dict) and "benchmarks" in whole:
        _load_pytest_benchmark(path, whole, loaded)
        return
    if isinstance(whole, dict):  # one record as one document, e.g. `lstm-energy profile --json > r.json`
        _accept(whole, str(path), None, loaded)
        return
    if isinstance(whole, list):
        for index, record in enumerate(whole):
            _accept(record, str(path), None, loaded, f"item {index}")
        return
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            truncated = number == len(lines) and not text.endswith("\n")
            what = "truncated line (the writer was killed mid-write?)" if truncated else "corrupt line"
            loaded.problems.append(
                LoadProblem(str(path), number, f"{what}: not valid JSON: {err.msg} (column {err.colno})")
            )
            continue
        _accept(record, str(path), number, loaded)


#: what a results file is, for the error about a file that is not one
RESULTS_FORMATS = (
    "results are sweep JSON Lines (`lstm-energy sweep -o`), a JSON list of records, "
    "or pytest-benchmark JSON (`pytest --benchmark-json`)"
)
MACHINE_PROFILE = "a machine profile (`lstm-energy machine --json` output)"


def _is_markup(text: str) -> bool:
    """Whether ``text`` is an HTML or XML document (a report passed back as results, say): results are JSON."""
    return text.lstrip("\ufeff \t\r\n").startswith("<")


def _markup_kind(text: str) -> str:
    head = text[:2000].lower()
    if "<html" in head or "<!doctype html" in head:
        return "an HTML page (an `lstm-energy report` output?)"
    return "an XML or markup document"


def _foreign_document(document) -> str | None:
    """What a file that parses as one JSON document is when it is not results; None when it is (a list of
    records, one record, a pytest-benchmark document). Read line by line, such a file would only give
    "corrupt line" problems, so the loader refuses it whole instead."""
    if isinstance(document, list):
        return None  # a list of records: each is checked as it is accepted
    if not isinstance(document, dict):
        return f"a single JSON {type(document).__name__} value"
    if "benchmarks" in document or "schema_version" in document or "kind" in document:
        return None
    if "fingerprint" in document and ("peak_gflops" in document or "roofline" in document):
        return MACHINE_PROFILE
    keys = ", ".join(sorted(str(k) for k in document)[:6]) or "none"
    return f"a JSON object that is neither a results record nor a pytest-benchmark document (its keys: {keys})"


def _accept(record, path: str, line: int | None, loaded: LoadedResults, item: str = "") -> None:
    try:
        record = validate_record(record)
    except ResultsSchemaError as err:
        message = f"{item}: {err}" if item else str(err)
        loaded.problems.append(LoadProblem(path, line, f"invalid record: {message}"))
        return
    record = dict(record)
    record["_source"] = {"path": path, "line": line}
    loaded.records.append(record)


def _load_pytest_benchmark(path: Path, document: dict, loaded: LoadedResults) -> None:
    """Each benchmark's ``extra_info["lstm_energy"]`` is a record; add the benchmark's name and timing.

    A benchmark without a record is a problem, told apart by why: the `energy` fixture tried and its
    meter refused (``extra_info["lstm_energy_error"]``, written by the pytest plugin), the benchmarks/
    harness timed without energy (``extra_info["energy_unavailable"]``), or the test never asked for
    energy (plain ``benchmark``)."""
    benchmarks = document.get("benchmarks")
    if not isinstance(benchmarks, list):
        loaded.problems.append(
            LoadProblem(str(path), None, f"'benchmarks' must be a list, got {type(benchmarks).__name__}")
        )
        return
    machine = document.get("machine_info") or {}
    without_energy = []
    for bench in benchmarks:
        if not isinstance(bench, dict):
            continue
        name = bench.get("fullname") or bench.get("name") or "?"
        info = bench.get("extra_info")
        extra_info: dict = info if isinstance(info, dict) else {}
        record = extra_info.get(EXTRA_INFO_KEY)
        if record is None:
            refused = _energy_refusal(extra_info)
            if refused is None:
                without_energy.append(name)
            else:
                loaded.problems.append(
                    LoadProblem(str(path), None, f"benchmark {name} has no energy figure: {refused}")
                )
            continue
        if isinstance(record, dict):
            record = dict(record)
            stats = bench.get("stats") or {}
            record["benchmark"] = {
                "name": bench.get("name"),
                "fullname": bench.get("fullname"),
                "group": bench.get("group"),
                "params": bench.get("params"),
                "stats": {
                    k: stats.get(k)
                    for k in ("min", "max", "mean", "median", "stddev", "rounds", "iterations")
                    if k in stats
                },
            }
            record.setdefault("created", document.get("datetime"))
            env = record.get("environment")
            if not isinstance(env, dict) or not env:
                record["environment"] = {
                    "cpu_model": (machine.get("cpu") or {}).get("brand_raw"),
                    "python": machine.get("python_version"),
                    "hostname": machine.get("node"),
                    "kernel": machine.get("release"),
                }
        _accept(record, str(path), None, loaded, f"benchmark {name}")
    if without_energy:
        shown = ", ".join(without_energy[:5]) + (" ..." if len(without_energy) > 5 else "")
        loaded.problems.append(
            LoadProblem(
                str(path),
                None,
                f"{len(without_energy)} benchmark(s) carry no extra_info[{EXTRA_INFO_KEY!r}] ({shown}); "
                "use the `energy` fixture instead of `benchmark` to record their energy",
            )
        )


def _energy_refusal(extra_info: dict) -> str | None:
    """Why a benchmark that asked for energy has none, from its extra_info; None when it never asked."""
    error = extra_info.get(ENERGY_ERROR_KEY)
    if isinstance(error, dict) and error.get("error"):
        return f"the energy measurement was refused (meter {error.get('meter') or '?'!r}): {error['error']}"
    if isinstance(error, str) and error:
        return f"the energy measurement was refused: {error}"
    unavailable = extra_info.get(ENERGY_UNAVAILABLE_KEY)
    if isinstance(unavailable, str) and unavailable:
        return f"timed without energy: {unavailable}"
    return None


def iter_flat(record: dict, prefix: str = "") -> Iterator[tuple[str, object]]:
    """Flatten nested dicts to dotted keys; lists stay whole (e.g. warnings, blas).

    An empty dict (a benchmark's ``config: {}``) yields no column: a frame then has ``config.cell``,
    ``config.batch``, ... and never a ``config`` object column beside them.
    """
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from iter_flat(value, name + ".")
        else:
            yield name, value


def expand_paths(paths) -> list[str | os.PathLike]:
    """Paths given as separate arguments, as lists or tuples of them (``glob.glob(...)``), or as glob
    patterns (``"reports/*.jsonl"``), as one flat list. A pattern that matches nothing raises
    FileNotFoundError naming it; anything that is not a path raises TypeError naming what it was."""
    import glob

    out: list[str | os.PathLike] = []
    for item in paths:
        if isinstance(item, (list, tuple)):
            out.extend(expand_paths(item))
        elif isinstance(item, (str, os.PathLike)):
            text = os.fspath(item)
            if glob.has_magic(text) and not Path(text).exists():
                matches = sorted(glob.glob(text))
                if not matches:
                    raise FileNotFoundError(
                        f"no results file matches the pattern {text!r}; make one with `lstm-energy sweep ... -o FILE`, "
                        "or check the pattern"
                    )
                out.extend(matches)
            else:
                out.append(item)
        else:
            raise ArgumentTypeError(
                f"results paths must be str or os.PathLike (or lists of them, or glob patterns), got "
                f"{type(item).__name__} ({item!r:.60}); e.g. load_dataframe('reports/*.jsonl')"
            )
    return out


def load_dataframe(*paths: str | os.PathLike | list):
    """All valid records of ``paths`` as a pandas DataFrame, one row per record, dotted column names.

    ``paths``: file paths as separate arguments, a list of them (``glob.glob("reports/*.jsonl")``) or glob
    patterns (``load_dataframe("reports/*.jsonl")``). Column names: every nested key of the record joined
    by dots, e.g. ``config.cell``, ``config.batch``, ``energy.provenance``, ``energy.meter.name``,
    ``energy.joules_per_sequence.median`` / ``.ci95_low`` / ``.ci95_high``, ``time.seconds_per_call.median``,
    ``costs.flops.total``, ``costs.bytes.expected``, ``derived.pj_per_flop``, ``environment.cpu_model``,
    ``benchmark.fullname`` (benchmark records), ``_source.path``, ``_source.line``; lists (``warnings``,
    ``environment.blas``) stay whole in one column. No column holds a whole nested object.

    Raises FileNotFoundError when a path does not exist (an empty frame would hide a typo). Skipped
    lines are listed in ``df.attrs["problems"]`` as strings (file:line: why) and announced with one
    SkippedRecordsWarning. Columns include ``config.cell``, ``energy.joules_per_sequence.median``,
    ``time.seconds_per_call.median``, ``costs.flops.total``, ``derived.pj_per_flop``, ``_source.path``
    and ``_source.line``.
    """
    import pandas as pd

    files = expand_paths(paths)
    if not files:
        raise ConfigError("load_dataframe got an empty list of paths; pass RESULTS.jsonl files or a pattern")
    _require_files(files)
    loaded = load_records(*files)
    frame = pd.DataFrame([dict(iter_flat(r)) for r in loaded.records])
    frame.attrs["problems"] = [str(p) for p in loaded.problems]
    _warn_skipped(loaded.problems)
    return frame


def _require_files(paths) -> None:
    """FileNotFoundError naming the first path that does not exist, and how to make a results file."""
    for path in paths:
        if not Path(path).exists():
            raise FileNotFoundError(
                f"no results file at {str(path)!r}; make one with `lstm-energy sweep ... -o {path}` "
                "(or `pytest --benchmark-json PATH` for benchmarks), or check the path"
            )


def _warn_skipped(problems: list[LoadProblem]) -> None:
    if not problems:
        return
    shown = "; ".join(str(p) for p in problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
    warnings.warn(
        f"skipped {len(problems)} unreadable line(s) or file(s), loaded the rest: {shown}. "
        'The full list is in df.attrs["problems"].',
        SkippedRecordsWarning,
        stacklevel=3,
    )


def finite(value) -> float | None:
    """``value`` as a float when it is a finite number, else None (missing or not measured)."""
    if _is_number(value) and math.isfinite(value):
        return float(value)
    return None
