"""`lstm-energy report` refuses inputs that are not results and outputs it cannot write: one line on stderr,
exit 2, no traceback, no page."""

import json

import pytest

from lstm_energy.cli import main
from lstm_energy.report.inputs import not_results_reason

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
    assert_one_line_error(err, "is a machine profile", "sweep results", "pytest-benchmark", f"--machine {machine}")
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
    assert_one_line_error(err, what, "`lstm-energy report` takes sweep results")


def test_results_files_pass_the_check(tmp_path, record_factory, jsonl_writer, benchmark_writer):
    record = record_factory()
    one_line = jsonl_writer(tmp_path / "one.jsonl", [record])
    damaged = jsonl_writer(tmp_path / "damaged.jsonl", [record], extra_lines=["garbage\n"])
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([record]))
    bench = benchmark_writer(tmp_path / "bench.json", [record])
    for path in (one_line, damaged, listed, bench, tmp_path / "missing.jsonl"):
        assert not_results_reason(path) is None, path


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
