"""run_sweep with an injected profile function: records appended as made, resume, failures, protocol kwargs."""

import io
import json
from pathlib import Path

import pytest

from lstm_energy.errors import ConfigError, MeterUnavailableError, ResultsSchemaError
from lstm_energy.meters import SimulatedMeter
from lstm_energy.results import load_records
from lstm_energy.sweep import Grid, Progress, expand, run_sweep


class FakeResult:
    def __init__(self, config, provenance="simulated", meter_name="fake"):
        self.config = config
        self.provenance, self.meter_name = provenance, meter_name

    def to_record(self):
        return {
            "schema_version": 1,
            "kind": "profile",
            "created": "2026-11-25T00:00:00Z",
            "config": dict(self.config),
            "energy": {
                "provenance": self.provenance,
                "meter": {"name": self.meter_name},
                "joules_per_call": {"median": 1e-3},
            },
            "time": {"seconds_per_call": {"median": 1e-3}},
            "warnings": [],
        }


class FakeProfile:
    """Records every call; fails on the configs listed in ``fail_on`` (hidden sizes)."""

    def __init__(self, fail_on=()):
        self.calls = []
        self.fail_on = set(fail_on)

    def __call__(
        self,
        cell,
        batch,
        seq_len,
        input_size,
        hidden_size,
        num_layers=1,
        bidirectional=False,
        phase="forward",
        impl="cython",
        meter="auto",
        threads=1,
        dtype="float32",
        nonlinearity="tanh",
        windows=7,
        min_window_seconds=0.1,
    ):
        config = dict(
            cell=cell,
            batch=batch,
            seq_len=seq_len,
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            phase=phase,
            impl=impl,
            threads=threads,
            dtype=dtype,
            nonlinearity=nonlinearity if cell == "rnn" else None,
        )
        self.calls.append(dict(config, windows=windows, min_window_seconds=min_window_seconds, meter=meter))
        if hidden_size in self.fail_on:
            raise MeterUnavailableError("simulated failure")
        return FakeResult(config, meter.provenance, meter.name)  # the record says which meter made it


def _configs():
    grid = Grid(cells=("lstm", "gru"), impls=("numpy",), phases=("forward", "train"), hidden_size=(8, 16))
    return expand(grid, available=lambda impl: True)[0]


def test_every_point_is_appended_and_protocol_settings_reach_profile(tmp_path):
    out, fake, log = tmp_path / "r.jsonl", FakeProfile(), io.StringIO()
    summary = run_sweep(
        _configs(),
        out,
        meter=SimulatedMeter(),
        protocol={"windows": 2, "min_window_seconds": 0.01},
        profile_fn=fake,
        log=log,
    )
    assert summary.measured == 8 and summary.resumed == 0 and not summary.failed
    assert len(load_records(out).records) == 8
    assert {(c["windows"], c["min_window_seconds"]) for c in fake.calls} == {(2, 0.01)}
    assert log.getvalue().count("\n") == 8 and "[8/8] 100%" in log.getvalue()


@pytest.mark.parametrize(
    "protocol, fragment",
    [
        ({"windoes": 3}, r"unknown \[protocol\] setting\(s\) \['windoes'\]; the settings are \['windows'"),
        ({"windows": 0}, r"\[protocol\] windows must be a whole number >= 1, got 0"),
        ({"min_window_seconds": -1}, r"min_window_seconds must be a number of seconds > 0, got -1"),
    ],
)
def test_a_bad_protocol_setting_is_refused_before_anything_is_measured(tmp_path, protocol, fragment):
    out, fake = tmp_path / "r.jsonl", FakeProfile()
    with pytest.raises(ConfigError, match=fragment):
        run_sweep(_configs(), out, meter=SimulatedMeter(), protocol=protocol, profile_fn=fake, log=io.StringIO())
    assert fake.calls == [] and not out.exists()


def test_resume_runs_only_the_missing_points(tmp_path):
    out = tmp_path / "r.jsonl"
    configs = _configs()
    run_sweep(configs[:3], out, meter=SimulatedMeter(), profile_fn=FakeProfile(), log=io.StringIO())
    with open(out, "a") as f:
        f.write('{"schema_version": 1, "kind": "profile", "con')  # killed mid-write
    second = FakeProfile()
    summary = run_sweep(configs, out, meter=SimulatedMeter(), resume=True, profile_fn=second, log=io.StringIO())
    assert summary.resumed == 3 and summary.measured == 5
    assert len(second.calls) == 5
    loaded = load_records(out)
    assert len(loaded.records) == 8 and len(loaded.problems) == 1
    keys = {json.dumps(r["config"], sort_keys=True) for r in loaded.records}
    assert len(keys) == 8


def test_an_existing_results_file_is_not_appended_to_without_resume(tmp_path):
    out = tmp_path / "r.jsonl"
    run_sweep(_configs()[:1], out, meter=SimulatedMeter(), profile_fn=FakeProfile(), log=io.StringIO())
    with pytest.raises(ConfigError, match="--resume"):
        run_sweep(_configs(), out, meter=SimulatedMeter(), profile_fn=FakeProfile(), log=io.StringIO())


def test_a_failing_point_is_reported_and_the_sweep_goes_on(tmp_path):
    out, log = tmp_path / "r.jsonl", io.StringIO()
    summary = run_sweep(_configs(), out, meter=SimulatedMeter(), profile_fn=FakeProfile(fail_on={16}), log=log)
    assert summary.measured == 4 and len(summary.failed) == 4
    assert "FAILED lstm forward numpy" in log.getvalue() and "simulated failure" in log.getvalue()
    assert len(load_records(out).records) == 4


def test_a_meter_named_by_the_sweep_is_reopened_after_a_meter_error(tmp_path):
    # a meter whose sampler failed refuses every later read: the sweep opens it again after a MeterError
    profile, log = FakeProfile(fail_on={16}), io.StringIO()
    summary = run_sweep(_configs(), tmp_path / "r.jsonl", meter="simulated", profile_fn=profile, log=log)
    assert summary.measured == 4 and len(summary.failed) == 4
    meters = [call["meter"] for call in profile.calls]
    for before, after, call in zip(meters, meters[1:], profile.calls):
        assert (after is not before) == (call["hidden_size"] == 16)  # a new meter right after each failure
    assert log.getvalue().count("reopening the 'simulated' meter") == 4


def test_a_meter_object_given_to_the_sweep_is_used_as_given(tmp_path):
    meter, profile = SimulatedMeter(), FakeProfile(fail_on={16})
    run_sweep(_configs(), tmp_path / "r.jsonl", meter=meter, profile_fn=profile, log=io.StringIO())
    assert all(call["meter"] is meter for call in profile.calls)  # whoever opened it decides


def test_a_bug_in_profile_stops_the_sweep_but_keeps_what_was_measured(tmp_path):
    out = tmp_path / "r.jsonl"
    calls = []

    def broken(**kwargs):
        calls.append(kwargs)
        if len(calls) == 3:
            raise ZeroDivisionError("bug")
        return FakeResult({k: v for k, v in kwargs.items() if k != "meter"})

    with pytest.raises(ZeroDivisionError):
        run_sweep(
            _configs(), out, meter=SimulatedMeter(), profile_fn=broken, progress=Progress(8, stream=io.StringIO())
        )
    assert len(load_records(out).records) == 2


def test_the_last_line_says_estimated_for_estimated_records(tmp_path):
    def estimating(**kwargs):
        return FakeResult({k: v for k, v in kwargs.items() if k != "meter"}, provenance="estimated", meter_name="model")

    out = tmp_path / "r.jsonl"
    summary = run_sweep(_configs(), out, meter=SimulatedMeter(), profile_fn=estimating, log=io.StringIO())
    line = summary.last_line(out)
    assert line == f"sweep: 8 estimated (meter model), 0 already in the file, 0 failed -> {out}"
    assert "measured" not in line


def test_the_last_line_counts_each_provenance_and_meter(tmp_path):
    calls = []

    def alternating(**kwargs):
        calls.append(kwargs)
        kind = ("measured", "powercap") if len(calls) % 4 else ("estimated", "model")
        return FakeResult({k: v for k, v in kwargs.items() if k != "meter"}, *kind)

    out = tmp_path / "r.jsonl"
    summary = run_sweep(_configs(), out, meter=SimulatedMeter(), profile_fn=alternating, log=io.StringIO())
    assert summary.measured == 8
    assert summary.last_line(out).startswith("sweep: 6 measured (meter powercap), 2 estimated (meter model), 0 already")


def test_the_last_line_of_a_fully_resumed_sweep_says_nothing_new(tmp_path):
    out = tmp_path / "r.jsonl"
    run_sweep(_configs(), out, meter=SimulatedMeter(), profile_fn=FakeProfile(), log=io.StringIO())
    summary = run_sweep(
        _configs(), out, meter=SimulatedMeter(), resume=True, profile_fn=FakeProfile(), log=io.StringIO()
    )
    assert summary.last_line(out) == f"sweep: 0 new records, 8 already in the file, 0 failed -> {out}"


def test_an_unknown_meter_name_is_a_config_error_before_the_file_is_touched(tmp_path):
    out = tmp_path / "r.jsonl"
    with pytest.raises(ConfigError, match="unknown energy meter 'rapl'.*model"):
        run_sweep(_configs(), out, meter="rapl", profile_fn=FakeProfile(), log=io.StringIO())
    assert not out.exists()


def test_resume_on_an_output_that_does_not_exist_yet_starts_it(tmp_path):
    out = tmp_path / "new" / "r.jsonl"
    summary = run_sweep(
        _configs(), out, meter=SimulatedMeter(), resume=True, profile_fn=FakeProfile(), log=io.StringIO()
    )
    assert summary.measured == 8 and summary.resumed == 0
    assert len(load_records(out).records) == 8


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("hello world\n", r"holds no valid lstm_energy records \(line 1: corrupt line"),
        (
            '{"schema_version": 1, "kind": "forecast_baseline", "config": {}, "accuracy": {}}\n',
            r"holds 1 forecast_baseline record\(s\) \(written by `lstm-energy forecast --records`\)",
        ),
    ],
)
def test_resume_refuses_a_file_that_is_not_sweep_results(tmp_path, content, fragment):
    out = tmp_path / "not-results.jsonl"
    out.write_text(content)
    fake = FakeProfile()
    with pytest.raises(ResultsSchemaError, match=fragment + r".*write to a new -o path"):
        run_sweep(_configs(), out, meter=SimulatedMeter(), resume=True, profile_fn=fake, log=io.StringIO())
    assert out.read_text() == content and fake.calls == []


def test_resume_with_another_meter_is_refused_saying_what_the_file_holds(tmp_path):
    out = tmp_path / "r.jsonl"
    estimated = SimulatedMeter()
    estimated.name, estimated.provenance = "model", "estimated"  # stands in for the estimator
    run_sweep(_configs()[:3], out, meter=estimated, profile_fn=FakeProfile(), log=io.StringIO())
    before, fake = out.read_text(), FakeProfile()
    with pytest.raises(ConfigError) as refused:
        run_sweep(_configs(), out, meter=SimulatedMeter(), resume=True, profile_fn=fake, log=io.StringIO())
    message = str(refused.value)
    assert "holds records made by: 3 estimated (meter model)" in message
    assert "this sweep's meter is 'simulated' (simulated)" in message
    assert "--meter model" in message and "new -o path" in message
    assert out.read_text() == before and fake.calls == []
    # the same meter resumes
    summary = run_sweep(_configs(), out, meter=estimated, resume=True, profile_fn=FakeProfile(), log=io.StringIO())
    assert summary.resumed == 3 and summary.measured == 5


def test_resume_of_a_first_record_cut_short_starts_afresh(tmp_path):
    out = tmp_path / "r.jsonl"
    out.write_text('{"schema_version": 1, "kind": "profile", "con')  # killed during the first write
    summary = run_sweep(
        _configs(), out, meter=SimulatedMeter(), resume=True, profile_fn=FakeProfile(), log=io.StringIO()
    )
    assert summary.measured == 8 and len(load_records(out).records) == 8


def test_more_threads_than_cpus_are_refused_before_anything_is_measured(tmp_path, monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    configs = [c.replace(threads=8) for c in _configs()]
    fake = FakeProfile()
    with pytest.raises(ConfigError, match=r"threads=8 is more than the 2 CPU\(s\)"):
        run_sweep(configs, tmp_path / "r.jsonl", meter=SimulatedMeter(), profile_fn=fake, log=io.StringIO())
    assert fake.calls == []


def test_an_output_that_is_a_file_path_through_a_file_or_a_directory_is_refused(tmp_path):
    (tmp_path / "a-file").write_text("")
    fake = FakeProfile()
    with pytest.raises(ConfigError, match=r"cannot write results file .*a-file' is a file, not a directory"):
        run_sweep(
            _configs(), tmp_path / "a-file" / "r.jsonl", meter=SimulatedMeter(), profile_fn=fake, log=io.StringIO()
        )
    with pytest.raises(ConfigError, match=r"-o .* is a directory; pass a results file path such as .*sweep\.jsonl"):
        run_sweep(_configs(), tmp_path, meter=SimulatedMeter(), resume=True, profile_fn=fake, log=io.StringIO())
    assert fake.calls == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc, where no file can be created")
def test_an_output_the_system_refuses_to_create_is_a_config_error_in_one_line():
    with pytest.raises(ConfigError, match=r"cannot write results file '/proc/x\.jsonl': .*choose a writable path"):
        run_sweep(_configs(), "/proc/x.jsonl", meter=SimulatedMeter(), profile_fn=FakeProfile(), log=io.StringIO())


def test_overwrite_discards_the_old_records_only_once_the_meter_has_passed_its_checks(tmp_path):
    out = tmp_path / "r.jsonl"
    run_sweep(_configs()[:3], out, meter=SimulatedMeter(), profile_fn=FakeProfile(), log=io.StringIO())
    before = out.read_text()
    with pytest.raises(ConfigError, match="--require-measured"):
        run_sweep(
            _configs(),
            out,
            meter=SimulatedMeter(),
            overwrite=True,
            require_measured=True,
            profile_fn=FakeProfile(),
            log=io.StringIO(),
        )
    assert out.read_text() == before  # refused: the old records are still there
    summary = run_sweep(
        _configs(), out, meter=SimulatedMeter(), overwrite=True, profile_fn=FakeProfile(), log=io.StringIO()
    )
    assert summary.measured == 8 and len(load_records(out).records) == 8  # replaced, not appended to


@pytest.mark.parametrize("runner", ["local", "dask"])
def test_resume_and_overwrite_together_are_refused_and_the_records_kept(tmp_path, runner):
    """One keeps the file's records, the other discards them: together they lost the resumed points."""
    out = tmp_path / "r.jsonl"
    run_sweep(_configs()[:3], out, meter=SimulatedMeter(), profile_fn=FakeProfile(), log=io.StringIO())
    before = out.read_text()
    fake = FakeProfile()
    with pytest.raises(ConfigError, match="^--resume keeps the records, --overwrite discards them; pass one$"):
        if runner == "local":
            run_sweep(
                _configs(), out, meter=SimulatedMeter(), resume=True, overwrite=True, profile_fn=fake, log=io.StringIO()
            )
        else:
            from lstm_energy.sweep.dask_runner import run_dask_sweep

            run_dask_sweep(_configs(), out, client=object(), meter="simulated", resume=True, overwrite=True)
    assert fake.calls == [] and out.read_text() == before
