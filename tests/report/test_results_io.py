"""lstm_energy.results: schema validation, the append-and-flush writer, loading .jsonl and pytest-benchmark JSON."""

import json
import re

import pytest

from lstm_energy.errors import ResultsSchemaError
from lstm_energy.results import (
    ENERGY_ERROR_KEY,
    SCHEMA_VERSION,
    ResultsWriter,
    SkippedRecordsWarning,
    config_key,
    describe_energy_source,
    load_dataframe,
    load_records,
    validate_record,
)


def test_writer_appends_one_line_per_record_and_loader_reads_them_back(tmp_path, record_factory):
    path = tmp_path / "sub" / "results.jsonl"
    with ResultsWriter(path) as writer:
        writer.append(record_factory("lstm"))
        # flushed as made: readable before the writer is closed
        assert len(load_records(path).records) == 1
        writer.append(record_factory("gru", hidden_size=128))
    loaded = load_records(path)
    assert [r["config"]["cell"] for r in loaded.records] == ["lstm", "gru"]
    assert loaded.problems == []
    assert loaded.records[1]["_source"] == {"path": str(path), "line": 2}
    assert path.read_text().count("\n") == 2


def test_writer_after_a_truncated_tail_starts_a_new_line(tmp_path, record_factory):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(record_factory("lstm")) + "\n" + '{"schema_version": 1, "kind": "pro')
    with ResultsWriter(path) as writer:
        writer.append(record_factory("rnn"))
    loaded = load_records(path)
    assert [r["config"]["cell"] for r in loaded.records] == ["lstm", "rnn"]
    assert len(loaded.problems) == 1 and loaded.problems[0].line == 2


def test_non_finite_numbers_are_stored_as_null_with_a_warning(tmp_path, record_factory):
    record = record_factory()
    record["time"]["cv"] = float("inf")
    record["derived"]["watts"] = float("nan")
    with ResultsWriter(tmp_path / "r.jsonl") as writer:
        writer.append(record)
    text = (tmp_path / "r.jsonl").read_text()
    assert not re.search(r"[:,\[]\s*(NaN|-?Infinity)\b", text)  # no non-standard JSON literals
    stored = load_records(tmp_path / "r.jsonl").records[0]
    assert stored["time"]["cv"] is None and stored["derived"]["watts"] is None
    assert "time.cv=inf" in stored["warnings"][-1] and "derived.watts=nan" in stored["warnings"][-1]


def test_corrupt_and_truncated_lines_are_reported_by_file_and_line_and_skipped(tmp_path, record_factory, jsonl_writer):
    path = jsonl_writer(
        tmp_path / "bad.jsonl",
        [record_factory("lstm"), record_factory("gru")],
        extra_lines=[
            "this is not json\n",
            json.dumps({"schema_version": 1, "kind": "profile"}) + "\n",
            json.dumps(record_factory("rnn")) + "\n",
            '{"schema_version": 1, "ki',
        ],
    )
    loaded = load_records(path)
    assert [r["config"]["cell"] for r in loaded.records] == ["lstm", "gru", "rnn"]
    where = [(p.path, p.line) for p in loaded.problems]
    assert where == [(str(path), 3), (str(path), 4), (str(path), 6)]
    assert "corrupt line" in loaded.problems[0].message
    assert "energy" in loaded.problems[1].message  # the schema error names the missing block
    assert "truncated" in loaded.problems[2].message
    assert str(loaded.problems[0]).startswith(f"{path}:3: ")


def test_missing_file_is_a_problem_not_a_crash(tmp_path, record_factory, jsonl_writer):
    good = jsonl_writer(tmp_path / "good.jsonl", [record_factory()])
    loaded = load_records(good, tmp_path / "absent.jsonl")
    assert len(loaded.records) == 1
    assert loaded.problems[0].path.endswith("absent.jsonl") and loaded.problems[0].line is None


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda r: r.pop("schema_version"), "schema_version"),
        (lambda r: r.update(schema_version=SCHEMA_VERSION + 1), "upgrade lstm_energy"),
        (lambda r: r["energy"].update(provenance="guessed"), "provenance"),
        (lambda r: r["energy"].pop("meter"), "meter"),
        (lambda r: r["energy"].update(joules_per_call={"median": "1 mJ"}), "joules_per_call"),
        (lambda r: r["time"].pop("seconds_per_call"), "seconds_per_call"),
        (lambda r: r["config"].pop("hidden_size"), "hidden_size"),
    ],
)
def test_validate_rejects_records_off_the_schema(record_factory, mutate, fragment):
    record = record_factory()
    mutate(record)
    with pytest.raises(ResultsSchemaError, match=fragment):
        validate_record(record)


def test_writer_refuses_an_invalid_record_and_writes_nothing(tmp_path, record_factory):
    record = record_factory()
    record["energy"]["provenance"] = "vibes"
    path = tmp_path / "r.jsonl"
    with ResultsWriter(path) as writer, pytest.raises(ResultsSchemaError):
        writer.append(record)
    assert path.read_text() == ""


def test_other_kinds_pass_through_validation():
    record = {"schema_version": 1, "kind": "forecast", "anything": 1}
    assert validate_record(record) is record


def test_config_key_ignores_key_order_and_extra_keys(record_factory):
    a = record_factory()["config"]
    b = dict(reversed(list(a.items())))
    b["comment"] = "not part of the key"
    assert config_key(a) == config_key(b)
    assert config_key(a) != config_key({**a, "hidden_size": a["hidden_size"] + 1})


def test_pytest_benchmark_json_is_loaded_with_benchmark_names(tmp_path, record_factory, benchmark_json):
    plain = {"name": "test_plain", "fullname": "tests/test_x.py::test_plain", "stats": {}, "extra_info": {}}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(benchmark_json([record_factory("lstm"), record_factory("gru")], [plain])))
    loaded = load_records(path)
    assert [r["benchmark"]["name"] for r in loaded.records] == ["test_0", "test_1"]
    assert loaded.records[0]["benchmark"]["stats"]["rounds"] == 10
    assert len(loaded.problems) == 1 and "test_plain" in loaded.problems[0].message


def test_truncated_pytest_benchmark_json_is_one_problem(tmp_path, record_factory, benchmark_json):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(benchmark_json([record_factory()]), indent=2)[:-40])
    loaded = load_records(path)
    assert loaded.records == []
    assert len(loaded.problems) == 1 and loaded.problems[0].line is not None


def test_load_dataframe_one_row_per_record_with_dotted_columns(tmp_path, record_factory, jsonl_writer):
    path = jsonl_writer(
        tmp_path / "r.jsonl", [record_factory("lstm"), record_factory("gru", "train")], extra_lines=["{oops\n"]
    )
    with pytest.warns(SkippedRecordsWarning):
        df = load_dataframe(path)
    assert len(df) == 2
    assert list(df["config.cell"]) == ["lstm", "gru"]
    assert df["energy.joules_per_sequence.median"].dtype.kind == "f"
    assert (df["costs.flops.total"] > 0).all()
    assert df.attrs["problems"] == [
        f"{path}:3: corrupt line: not valid JSON: Expecting property name enclosed in double quotes (column 2) (skipped)"
    ]


def test_load_records_without_paths_is_a_usage_error():
    with pytest.raises(ValueError, match="at least one path"):
        load_records()


def test_load_dataframe_of_a_missing_path_raises_naming_it_and_how_to_make_one(tmp_path, record_factory, jsonl_writer):
    good = jsonl_writer(tmp_path / "good.jsonl", [record_factory()])
    missing = tmp_path / "nowhere" / "quick.jsonl"
    with pytest.raises(FileNotFoundError) as caught:
        load_dataframe(good, missing)
    assert (
        str(missing) in str(caught.value)
        and "lstm-energy sweep" in str(caught.value)
        and f"-o {missing}" in str(caught.value)
    )


def test_load_dataframe_warns_once_about_skipped_lines_and_keeps_the_good_ones(tmp_path, record_factory, jsonl_writer):
    import warnings

    path = jsonl_writer(
        tmp_path / "r.jsonl",
        [record_factory("lstm"), record_factory("rnn")],
        extra_lines=["garbage\n", '{"schema_version": 1, "kind": "pro'],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = load_dataframe(path)
    skipped = [w for w in caught if issubclass(w.category, SkippedRecordsWarning)]
    assert len(skipped) == 1 and issubclass(SkippedRecordsWarning, UserWarning)
    message = str(skipped[0].message)
    assert "skipped 2" in message and f"{path}:3" in message and f"{path}:4" in message
    assert skipped[0].filename == __file__  # points at the caller, not at lstm_energy
    assert list(df["config.cell"]) == ["lstm", "rnn"] and len(df.attrs["problems"]) == 2


def test_load_dataframe_of_a_clean_file_does_not_warn(tmp_path, record_factory, jsonl_writer):
    import warnings

    path = jsonl_writer(tmp_path / "r.jsonl", [record_factory()])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_dataframe(path)) == 1


def test_load_dataframe_accepts_a_list_and_a_glob_pattern(tmp_path, record_factory, jsonl_writer):
    import glob

    jsonl_writer(tmp_path / "a.jsonl", [record_factory("lstm")])
    jsonl_writer(tmp_path / "b.jsonl", [record_factory("gru"), record_factory("rnn")])
    from_list = load_dataframe(glob.glob(str(tmp_path / "*.jsonl")))
    from_pattern = load_dataframe(str(tmp_path / "*.jsonl"))
    assert len(from_list) == len(from_pattern) == 3
    assert sorted(from_pattern["config.cell"]) == ["gru", "lstm", "rnn"]
    with pytest.raises(FileNotFoundError, match="no results file matches the pattern"):
        load_dataframe(str(tmp_path / "nothing-*.jsonl"))
    with pytest.raises(TypeError, match="got int"):
        load_dataframe(3)


def test_load_dataframe_has_no_config_object_column_beside_the_flat_ones(tmp_path, record_factory, benchmark_writer):
    record = record_factory()
    bare = dict(record_factory(), kind="benchmark", config={})  # a benchmark that declared nothing
    df = load_dataframe(benchmark_writer(tmp_path / "b.json", [record, bare]))
    assert "config.cell" in df.columns and "config" not in df.columns
    nested = [c for c in df.columns if df[c].map(lambda v: isinstance(v, dict)).any()]
    assert nested == []


MACHINE_PROFILE = {"schema": 2, "fingerprint": "1193fba2a065c394", "peak_gflops": [{"threads": 1, "best_gflops": 1.0}]}


@pytest.mark.parametrize(
    "document, what",
    [
        (MACHINE_PROFILE, r"is a machine profile \(`lstm-energy machine --json` output\)"),
        ({"static_watts": 7.4}, r"neither a results record nor a pytest-benchmark document \(its keys: static_watts\)"),
        (3, "a single JSON int value"),
    ],
)
@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_a_file_that_is_one_json_document_of_another_kind_is_refused_whole(tmp_path, document, what, suffix):
    """Not a file of corrupt lines: the loader says what the file is and what results are, for every reader."""
    path = tmp_path / f"other{suffix}"
    path.write_text(json.dumps(document, indent=1))
    with pytest.raises(ResultsSchemaError, match=f"{what}, not results: results are sweep JSON Lines") as refused:
        load_records(path)
    assert ("report --machine" in str(refused.value)) == (document is MACHINE_PROFILE)
    with pytest.raises(ResultsSchemaError, match="not results"):
        load_dataframe(path)


def test_a_benchmark_whose_energy_was_refused_is_reported_with_its_reason_not_the_fixture_advice(
    tmp_path, record_factory, benchmark_json
):
    """Review finding 3: the `energy` fixture notes why its meter refused (extra_info["lstm_energy_error"]),
    the benchmarks/ harness why it timed without energy ("energy_unavailable"); only a benchmark that never
    asked for energy gets the "use the `energy` fixture" advice."""
    refused = {
        "name": "test_dead",
        "fullname": "t.py::test_dead",
        "stats": {},
        "extra_info": {ENERGY_ERROR_KEY: {"error": "package-0 did not advance: 0 J over 116 ms", "meter": "powercap"}},
    }
    harness = {
        "name": "test_h",
        "fullname": "t.py::test_h",
        "stats": {},
        "extra_info": {"energy_unavailable": "no tree"},
    }
    plain = {"name": "test_plain", "fullname": "t.py::test_plain", "stats": {}, "extra_info": {}}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(benchmark_json([record_factory("lstm")], [refused, harness, plain])))
    messages = [p.message for p in load_records(path).problems]
    assert len(messages) == 3, messages
    dead = next(m for m in messages if "test_dead" in m)
    assert "refused (meter 'powercap')" in dead and "did not advance: 0 J over 116 ms" in dead
    assert "energy` fixture" not in dead
    timed_only = next(m for m in messages if "test_h" in m)
    assert "timed without energy: no tree" in timed_only and "energy` fixture" not in timed_only
    advice = next(m for m in messages if "test_plain" in m)
    assert "use the `energy` fixture" in advice and "test_dead" not in advice and "test_h" not in advice


POWERCAP_DESCRIPTION = {
    "name": "powercap",
    "provenance": "measured",
    "counter": "Linux powercap sysfs energy_uj (Intel/AMD RAPL), microjoules",
    "headline_domains": ["package-0"],
}


@pytest.mark.parametrize(
    "provenance, meter, expected",
    [
        (
            "measured",
            POWERCAP_DESCRIPTION,
            "MEASURED by the 'powercap' meter (Linux powercap sysfs energy_uj (Intel/AMD RAPL), microjoules, "
            "headline domain package-0)",
        ),
        (
            "measured",
            {**POWERCAP_DESCRIPTION, "headline_domains": ["package-0", "package-1"]},
            "MEASURED by the 'powercap' meter (Linux powercap sysfs energy_uj (Intel/AMD RAPL), microjoules, "
            "headline domains package-0 + package-1)",
        ),
        (
            "simulated",
            {"name": "simulated", "counter": "synthetic: idle_watts*wall", "headline_domains": ["package-0"]},
            "SIMULATED (tests only), NOT MEASURED, by the 'simulated' meter: synthetic: idle_watts*wall, "
            "headline domain package-0",
        ),
        ("measured", {"name": "x"}, "MEASURED by the 'x' meter (source not stated by the meter)"),
        (
            "estimated",
            {
                "name": "model",
                "model": "E = a*t",
                "source": "CCF row",
                "counter": None,
                "headline_domains": ["package"],
            },
            "ESTIMATED, NOT MEASURED, by the 'model' estimator: E = a*t; CCF row",
        ),
    ],
)
def test_energy_source_names_a_measured_meters_counter_and_headline_domains(provenance, meter, expected):
    """Review finding 8: measured (and simulated) meters state `counter` and `headline_domains`, not
    `source`; the line quotes them. An estimate keeps its model-and-source wording."""
    assert describe_energy_source(provenance, meter) == expected


def test_one_record_as_one_pretty_printed_document_loads_as_that_record(tmp_path, record_factory):
    """`lstm-energy profile --json > r.json` writes one record over many lines: one record, no corrupt lines."""
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(record_factory(), indent=2))
    loaded = load_records(path)
    assert len(loaded.records) == 1 and loaded.problems == []


def test_a_results_file_of_blank_lines_has_no_records_to_keep(tmp_path):
    from lstm_energy.errors import ConfigError
    from lstm_energy.results import check_fresh_or_resumed

    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n  \n")
    check_fresh_or_resumed(blank, "-o", resume=False)  # nothing to lose
    blank.write_text("\n{}\n")
    with pytest.raises(ConfigError, match="already has records"):
        check_fresh_or_resumed(blank, "-o", resume=False)


@pytest.mark.parametrize("median", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("key", ["joules_per_call", "joules_per_sequence"])
def test_a_record_with_a_non_finite_headline_median_is_skipped_with_a_note(tmp_path, record_factory, key, median):
    """JSON written by another tool may hold NaN or Infinity (Python's json reads them): no figure to show.
    The record is skipped and named, as the writer itself never stores one (null and a warning instead)."""
    bad = record_factory("gru")
    bad["energy"][key]["median"] = median
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(record_factory("lstm")) + "\n" + json.dumps(bad) + "\n")
    loaded = load_records(path)
    assert [r["config"]["cell"] for r in loaded.records] == ["lstm"]
    [problem] = loaded.problems
    assert problem.line == 2 and f"{key!r} has a median of {median!r}, not a finite number" in problem.message


def test_an_html_page_passed_as_results_is_refused_in_one_line(tmp_path, record_factory):
    """A report passed back as its own input is not 148 corrupt lines: it is refused whole, saying what it is."""
    page = tmp_path / "quick.html"
    page.write_text("<!DOCTYPE html>\n<html lang='en'>\n<head><title>r</title></head>\n<body>{}</body>\n</html>\n")
    with pytest.raises(ResultsSchemaError, match=r"'.*quick.html' is an HTML page .*, not results: results are sweep"):
        load_records(page)
