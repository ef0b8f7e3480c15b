"""`lstm-energy report` refuses inputs that are not results and outputs it cannot write: one line on stderr,
exit 2, no traceback, no page."""

import json

import pytest

from lstm_energy.cli import main
from lstm_energy.results import load_records

MACHINE_PROFILE = {
    "schema": 2,
    "fingerprint": "1193fba2a065c394",
    "machine": {"cpu_model": "AMD EPYC"},
    "peak_gflops": [{"threads": 1, "best_gflops": 121.6}],
    "roofline": [{"threads": 1, "peak_gflops": 231.7, "bandwidth_gb_per_second": 33.6}],
}


def run_report(capsys, *args):
    code = main(["report", *map(str, args)])
    err = capsys.readouterr().err
    return code, err


def assert_one_line_error(err, *fragments):
    assert err.startswith("ERROR: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_a_machine_profile_is_refused_with_what_it_is_and_what_report_takes(tmp_path, capsys):
    machine = tmp_path / "machine.json"
    machine.write_text(json.dumps(MACHINE_PROFILE, indent=1))  # as `lstm-energy machine --json` prints it
    out = tmp_path / "r.html"
    code, err = run_report(capsys, machine, "-o", out)
    assert code == 2 and not out.exists()
    assert_one_line_error(err, "is a machine profile", "sweep JSON Lines", "pytest-benchmark", f"--machine {machine}")
    assert "corrupt line" not in err


@pytest.mark.parametrize(
    "document, what",
    [
        ({"static_watts": 7.4, "cpu_watts": 5.3}, "a JSON object that is neither a results record nor"),
        ("just a string", "a single JSON str value"),
    ],
)
def test_other_json_documents_are_refused(tmp_path, capsys, document, what):
    path = tmp_path / "other.json"
    path.write_text(json.dumps(document))
    code, err = run_report(capsys, path, "-o", tmp_path / "r.html")
    assert code == 2
    assert_one_line_error(err, what, "results are sweep JSON Lines", "pytest-benchmark JSON")


def test_results_files_pass_the_check(tmp_path, record_factory, jsonl_writer, benchmark_writer):
    """One record on one line, a damaged JSON Lines file, a JSON list and a pytest-benchmark document are
    results (the damaged line is a problem, not a refusal); a missing file is a problem too."""
    record = record_factory()
    one_line = jsonl_writer(tmp_path / "one.jsonl", [record])
    damaged = jsonl_writer(tmp_path / "damaged.jsonl", [record], extra_lines=["garbage\n"])
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([record]))
    bench = benchmark_writer(tmp_path / "bench.json", [record])
    for path in (one_line, damaged, listed, bench):
        assert len(load_records(path).records) == 1, path
    assert len(load_records(tmp_path / "missing.jsonl").problems) == 1


@pytest.mark.parametrize("output", ["{tmp}", "{tmp}/"])
def test_a_directory_as_the_output_is_refused(tmp_path, capsys, record_factory, jsonl_writer, output):
    results = jsonl_writer(tmp_path / "r.jsonl", [record_factory()])
    code, err = run_report(capsys, results, "-o", output.format(tmp=tmp_path))
    assert code == 2
    assert_one_line_error(err, "is a directory; give a file name")


def test_an_unwritable_output_is_refused(tmp_path, capsys, record_factory, jsonl_writer):
    results = jsonl_writer(tmp_path / "r.jsonl", [record_factory()])
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, err = run_report(capsys, results, "-o", blocker / "report.html")
    assert code == 2
    assert_one_line_error(err, "cannot write the report to", "writable directory")


def test_the_library_refuses_a_machine_profile_too(tmp_path):
    from lstm_energy.errors import ResultsSchemaError
    from lstm_energy.report import build_report

    machine = tmp_path / "machine.json"
    machine.write_text(json.dumps(MACHINE_PROFILE))
    with pytest.raises(ResultsSchemaError, match="is a machine profile"):
        build_report([machine])


@pytest.mark.parametrize(
    "command",
    [
        ["compare", "{profile}", "{profile}"],
        ["sweep", "--preset", "quick", "--meter", "simulated", "--resume", "-o", "{profile}"],
        ["forecast", "--preset", "quick", "--meter", "simulated", "--resume", "--records", "{profile}"],
    ],
    ids=["compare", "sweep-resume", "forecast-resume"],
)
def test_every_reader_of_results_refuses_a_machine_profile_and_leaves_it_alone(tmp_path, capsys, command):
    machine = tmp_path / "machine.json"
    machine.write_text(json.dumps(MACHINE_PROFILE, indent=1))
    before = machine.read_text()
    code = main([part.format(profile=machine) for part in command])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    last = err.splitlines()[-1]  # a sweep states what it is about to do first
    assert last.startswith("ERROR: ") and "is a machine profile" in last and "not results" in last, err
    assert machine.read_text() == before
