"""`lstm-energy compare`: matching by configuration (and host), CI-aware verdicts, refusals, exit codes."""

import copy
import json

import pytest

from lstm_energy.cli import main
from lstm_energy.compare import IMPROVEMENT, REGRESSION, SAME, Figure, as_json, compare_records, render, verdict


def scaled(record, energy=1.0, time=1.0, spread=None):
    """A copy of ``record`` with its energy and time medians (and intervals) scaled; ``spread`` widens the CIs."""
    record = copy.deepcopy(record)
    for block, key, factor in (
        (record["energy"], "joules_per_call", energy),
        (record["energy"], "joules_per_sequence", energy),
        (record["time"], "seconds_per_call", time),
    ):
        stat = block[key]
        median = stat["median"]
        for k in stat:
            stat[k] = stat[k] * factor
        if spread is not None:
            stat["ci95_low"], stat["ci95_high"] = median * factor * (1 - spread), median * factor * (1 + spread)
    return record


@pytest.fixture
def base(record_factory):
    return [record_factory("lstm", "forward", "cython", hidden_size=h) for h in (32, 64)]


def verdicts(comparison):
    return {p.label: (p.energy.verdict, p.time.verdict) for p in comparison.pairs}


def test_improvement_and_regression_beyond_the_intervals(base):
    new = [scaled(base[0], energy=0.5, time=0.5), scaled(base[1], energy=1.5)]
    result = compare_records(base, new, threshold=0.05)
    assert verdicts(result) == {
        "lstm forward cython B=8 T=16 D=32 H=32": (IMPROVEMENT, IMPROVEMENT),
        "lstm forward cython B=8 T=16 D=32 H=64": (REGRESSION, SAME),
    }
    assert result.regressed
    pair = next(p for p in result.pairs if p.energy.verdict == REGRESSION)
    assert pair.energy.ratio == pytest.approx(1.5)


def test_noise_inside_the_interval_is_not_a_regression(base):
    # 10% higher, above the 5% threshold, but the intervals (+-20%) overlap: the data cannot tell
    new = [scaled(r, energy=1.10, spread=0.2) for r in base]
    result = compare_records(base, new, threshold=0.05)
    assert {v for pair in verdicts(result).values() for v in pair} == {SAME}
    assert not result.regressed


def test_a_separated_change_below_the_threshold_is_not_a_regression():
    assert verdict(Figure(1.0, 0.99, 1.01), Figure(1.03, 1.02, 1.04), 0.05).verdict == SAME
    assert verdict(Figure(1.0, 0.99, 1.01), Figure(1.03, 1.02, 1.04), 0.02).verdict == REGRESSION
    assert verdict(Figure(1.0), Figure(2.0), 0.05).verdict == SAME  # no intervals: noise cannot be ruled out


def test_measured_against_estimated_is_refused_unless_allowed(base, record_factory):
    new = [record_factory("lstm", "forward", "cython", hidden_size=32, provenance="measured")]
    refused = compare_records(base, new)
    assert refused.pairs == [] and "--allow-mixed-provenance" in refused.refusals[0][1]
    why = refused.refusals[0][1]
    assert "base is estimated (an estimate of the energy model" in why and "new is measured (a measurement" in why
    allowed = compare_records(base, new, allow_mixed_provenance=True)
    assert len(allowed.pairs) == 1


def test_an_allowed_mixed_pair_says_mixed_with_both_provenances_in_text_and_json(base, record_factory):
    new = [scaled(record_factory("lstm", "forward", "cython", hidden_size=32, provenance="measured"), energy=1.5)]
    allowed = compare_records(base, new, allow_mixed_provenance=True)
    row = next(line for line in render(allowed).splitlines() if line.startswith("lstm forward"))
    assert row.endswith("(mixed: base estimated, new measured)") and "(estimated)" not in row
    (pair,) = as_json(allowed)["pairs"]
    assert (pair["provenance"], pair["base_provenance"], pair["new_provenance"]) == ("mixed", "estimated", "measured")
    same = as_json(compare_records(base, base))["pairs"][0]
    assert (same["provenance"], same["base_provenance"], same["new_provenance"]) == ("estimated",) * 3


@pytest.mark.parametrize("allow", [False, True])
def test_simulated_against_estimated_is_refused_naming_both_even_with_the_flag(base, record_factory, allow):
    new = [record_factory("lstm", "forward", "cython", hidden_size=32, provenance="simulated")]
    refused = compare_records(base, new, allow_mixed_provenance=allow)
    assert refused.pairs == []
    why = refused.refusals[0][1]
    assert "base is estimated (an estimate" in why and "new is simulated (a test double" in why
    assert "measurement and an estimate" not in why and "--allow-mixed-provenance does not apply" in why
    simulated = [record_factory("lstm", "forward", "cython", hidden_size=32, provenance="simulated")]
    assert len(compare_records(simulated, new).pairs) == 1  # tests compare simulated with simulated


def test_different_cpus_are_refused_unless_allowed(base):
    new = copy.deepcopy(base)
    for r in new:
        r["environment"]["cpu_model"] = "AMD EPYC 9654"
    assert len(compare_records(base, new).refusals) == 2
    allowed = compare_records(base, new, allow_different_cpus=True)
    assert len(allowed.pairs) == 2
    # an allowed cross-CPU pair says so, as a mixed-provenance one does, in text and JSON
    base_cpu = base[0]["environment"]["cpu_model"]
    assert f"(different CPUs: base {base_cpu}, new AMD EPYC 9654)" in render(allowed)
    pair = as_json(allowed)["pairs"][0]
    assert (pair["base_cpu"], pair["new_cpu"]) == (base_cpu, "AMD EPYC 9654")
    assert "different CPUs" not in render(compare_records(base, copy.deepcopy(base)))


def test_missing_configurations_are_listed_on_their_side(base, record_factory):
    new = [base[0], record_factory("gru", "train", "numpy")]
    result = compare_records(base, new)
    assert [e.label for e in result.only_base] == ["lstm forward cython B=8 T=16 D=32 H=64"]
    assert [e.label for e in result.only_new] == ["gru train numpy B=8 T=16 D=32 H=64"]
    assert len(result.pairs) == 1


def test_records_carrying_a_host_match_on_it(base):
    base_hosts = []
    for host in ("a", "b"):
        r = copy.deepcopy(base[0])
        r["environment"]["host"] = {"hostname": host}
        base_hosts.append(r)
    new = [scaled(base_hosts[0], energy=2.0), copy.deepcopy(base_hosts[1])]
    result = compare_records(base_hosts, new)
    by_host = {p.new.host: p.energy.verdict for p in result.pairs}
    assert by_host == {'{"hostname": "a"}': REGRESSION, '{"hostname": "b"}': SAME}


def test_cli_exit_codes_and_benchmark_json(tmp_path, base, jsonl_writer, benchmark_writer, capsys):
    base_path = jsonl_writer(tmp_path / "base.jsonl", base)
    same_path = jsonl_writer(tmp_path / "same.jsonl", base)
    worse_path = jsonl_writer(tmp_path / "worse.jsonl", [scaled(r, energy=1.3) for r in base])
    assert main(["compare", str(base_path), str(same_path)]) == 0
    assert main(["compare", str(base_path), str(worse_path), "--threshold", "5%"]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "1.300x" in out
    assert main(["compare", str(base_path), str(worse_path), "--threshold", "40%"]) == 0
    capsys.readouterr()
    # pytest-benchmark JSON on both sides, matched by test name
    b1 = benchmark_writer(tmp_path / "b1.json", [copy.deepcopy(base[0])])
    b2 = benchmark_writer(tmp_path / "b2.json", [scaled(base[0], energy=1.3)])
    assert main(["compare", str(b1), str(b2), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["regressed"] and data["pairs"][0]["configuration"].startswith("tests/test_x.py::test_0")


def test_cli_bad_usage_exits_2(tmp_path, base, record_factory, jsonl_writer, capsys):
    base_path = jsonl_writer(tmp_path / "base.jsonl", base)
    assert main(["compare", str(base_path), str(tmp_path / "missing.jsonl")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(base_path), str(base_path), "--threshold", "5"])
    assert exc.value.code == 2 and "write a percentage with %" in capsys.readouterr().err
    measured = jsonl_writer(tmp_path / "m.jsonl", [record_factory(hidden_size=32, provenance="measured")])
    assert main(["compare", str(base_path), str(measured)]) == 2
    assert "REFUSED" in capsys.readouterr().out
    other = jsonl_writer(tmp_path / "o.jsonl", [record_factory("gru", "train", "numpy")])
    assert main(["compare", str(base_path), str(other)]) == 2


def test_files_that_are_not_sweep_or_benchmark_results_are_named_for_what_they_are(
    tmp_path, base, jsonl_writer, capsys
):
    forecast = tmp_path / "forecast.jsonl"
    forecast.write_text(
        '{"schema_version": 1, "kind": "forecast_trial", "config": {"family": "LSTM"}}\n'
        '{"schema_version": 1, "kind": "forecast_baseline", "config": {"baseline": "naive"}}\n'
    )
    assert main(["compare", str(forecast), str(forecast)]) == 2
    err = capsys.readouterr().err
    assert "holds 1 forecast_trial, 1 forecast_baseline record(s) (written by `lstm-energy forecast --records`)" in err
    assert "compare takes results written by `lstm-energy sweep -o` or `pytest --benchmark-json`" in err
    assert "no configuration is in both" not in err
    text = tmp_path / "notes.txt"
    text.write_text("hello world\n")
    assert main(["compare", str(jsonl_writer(tmp_path / "base.jsonl", base)), str(text)]) == 2
    assert "holds no valid lstm_energy records (line 1: corrupt line" in capsys.readouterr().err


def test_points_differing_only_in_precision_or_nonlinearity_are_named_apart():
    """An fp32 and an int8 point (or an RNN's tanh and relu twins) of one shape get different names, so
    the text and the JSON say which one regressed."""
    from lstm_energy.compare import config_label

    base = {"cell": "rnn", "phase": "forward", "impl": "cython", "batch": 8, "seq_len": 16, "hidden_size": 32}
    labels = {
        config_label({"config": {**base, **extra}})
        for extra in ({}, {"precision": "int8"}, {"precision": "bf16"}, {"nonlinearity": "relu"})
    }
    assert len(labels) == 4, labels
    assert config_label({"config": {**base, "precision": "fp32", "nonlinearity": "tanh"}}) == config_label(
        {"config": base}
    )
