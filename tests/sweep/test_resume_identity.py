"""--resume keeps a file's records only under a meter whose figures are comparable with theirs
(``meters.identity.meter_identity``): the estimator's parameters, their source and calibration; a counter's
files; not only the meter's name. Records written before a field existed compare on what they carry."""

import io
import json

import pytest

from lstm_energy.errors import ConfigError
from lstm_energy.meters import SimulatedMeter
from lstm_energy.meters.identity import meter_identity
from lstm_energy.meters.model import ModelMeter, ModelParameters, ModelProfile
from lstm_energy.sweep import Grid, expand, override, run_sweep
from lstm_energy.sweep.points import ResumeCheckWarning, check_resume_meter


def _configs():
    grid = override(Grid(), {"cells": "lstm,gru", "impls": "numpy", "phases": "forward", "batch": 1, "seq_len": 2})
    return expand(override(grid, {"input_size": 4, "hidden_size": "4,8"}))[0]


class DescribedResult:
    """A profile result whose record carries the meter's full describe(), as profile() writes it."""

    def __init__(self, config, meter):
        self.config, self.meter = config, meter

    def to_record(self):
        return {
            "schema_version": 1,
            "kind": "profile",
            "created": "2026-11-25T00:00:00Z",
            "config": dict(self.config),
            "energy": {
                "provenance": self.meter.provenance,
                "meter": json.loads(json.dumps(self.meter.describe(), default=str)),
                "joules_per_call": {"median": 1e-3},
            },
            "time": {"seconds_per_call": {"median": 1e-3}},
            "warnings": [],
        }


class Profiler:
    def __init__(self):
        self.calls = 0

    def __call__(self, meter, **config):
        self.calls += 1
        for protocol_key in ("windows", "min_window_seconds"):
            config.pop(protocol_key, None)
        return DescribedResult(config, meter)


def model(static_watts=7.0, cpu_watts=5.0, source="what-if A"):
    return ModelMeter(parameters=ModelParameters(static_watts, cpu_watts, 0.0, 0.0), source=source)


def _sweep(out, meter, **kwargs):
    profiler = Profiler()
    summary = run_sweep(_configs(), out, meter=meter, profile_fn=profiler, log=io.StringIO(), **kwargs)
    return summary, profiler


@pytest.mark.parametrize(
    "other, difference",
    [
        (lambda: model(static_watts=20.0), "parameters.static_watts 7.0 in the file, 20.0 now"),
        (lambda: model(source="what-if B"), "source 'what-if A' in the file, 'what-if B' now"),
    ],
)
def test_a_resume_under_other_estimator_coefficients_is_refused_naming_both(tmp_path, other, difference):
    out = tmp_path / "r.jsonl"
    run_sweep(_configs()[:2], out, meter=model(), profile_fn=Profiler(), log=io.StringIO())
    before = out.read_text()
    with pytest.raises(ConfigError) as refused:
        _sweep(out, other(), resume=True)
    message = str(refused.value)
    assert "\n" not in message and "holds 2 record(s) made by meter 'model' (estimated)" in message
    assert difference in message and "new -o path" in message and "LSTM_ENERGY_MODEL_PROFILE" in message
    assert out.read_text() == before
    # the same coefficients resume
    summary, _ = _sweep(out, model(), resume=True)
    assert summary.resumed == 2 and summary.measured == len(_configs()) - 2


def test_a_resume_under_a_calibration_profile_of_the_same_values_is_refused(tmp_path):
    # the review's case: an uncalibrated file resumed with $LSTM_ENERGY_MODEL_PROFILE set
    profile = tmp_path / "profile.json"
    ModelProfile(ModelParameters(7.0, 5.0, 0.0, 0.0), "what-if A", {"fit": {"rmse": 0.1}}).save(profile)
    out = tmp_path / "r.jsonl"
    run_sweep(_configs()[:2], out, meter=model(), profile_fn=Profiler(), log=io.StringIO())
    with pytest.raises(ConfigError, match=r"calibrated False in the file, True now"):
        _sweep(out, ModelMeter(profile=profile), resume=True)


def test_meter_identity_leaves_out_running_state():
    def powercap(wraps, enabled, path="/sys/class/powercap/intel-rapl:0/energy_uj"):
        return {
            "name": "powercap",
            "provenance": "measured",
            "counter": "Linux powercap sysfs energy_uj",
            "root": "/sys/class/powercap",
            "domains": {"package-0": {"zone": "intel-rapl:0", "path": path, "enabled": enabled}},
            "headline_domains": ["package-0"],
            "wraparound": {"wraps": wraps, "max_poll_gap_seconds": 0.1 * wraps},
            "lower_bound": {"flops": wraps},
        }

    assert meter_identity(powercap(0, True)) == meter_identity(powercap(5, False))
    assert meter_identity(powercap(0, True)) != meter_identity(powercap(0, True, path="/other/energy_uj"))


def test_a_measured_counter_resumes_across_running_state_but_not_across_counters(tmp_path):
    class Counter:
        name, provenance = "powercap", "measured"

        def __init__(self, path, wraps):
            self.path, self.wraps = path, wraps

        def describe(self):
            return {
                "name": self.name,
                "provenance": self.provenance,
                "domains": {"package-0": {"path": self.path, "enabled": True}},
                "wraparound": {"wraps": self.wraps},
            }

    records = [DescribedResult({"cell": "lstm"}, Counter("/a/energy_uj", 0)).to_record()]
    check_resume_meter(records, tmp_path / "r.jsonl", Counter("/a/energy_uj", 7))  # wraps differ: same counter
    with pytest.raises(ConfigError, match=r"domains\.package-0\.path '/a/energy_uj' in the file, '/b/energy_uj' now"):
        check_resume_meter(records, tmp_path / "r.jsonl", Counter("/b/energy_uj", 0))


def test_older_records_compare_on_the_fields_they_carry_and_say_so(tmp_path):
    meter = model()
    old = DescribedResult({"cell": "lstm"}, meter).to_record()
    old["energy"]["meter"] = {"name": "model"}  # written before the description was recorded
    with pytest.warns(ResumeCheckWarning, match=r"1 record\(s\) .* without the meter's .*parameters.*source"):
        check_resume_meter([old], tmp_path / "r.jsonl", meter)
    # what an older record does carry still counts
    older = DescribedResult({"cell": "lstm"}, model(static_watts=20.0)).to_record()
    del older["energy"]["meter"]["calibration_fit"]
    with pytest.raises(ConfigError, match="parameters.static_watts 20.0 in the file, 7.0 now"):
        check_resume_meter([older], tmp_path / "r.jsonl", meter)


def test_another_meter_name_keeps_its_message_for_any_run(tmp_path):
    records = [DescribedResult({"cell": "lstm"}, SimulatedMeter()).to_record()]
    with pytest.raises(ConfigError) as refused:
        check_resume_meter(records, tmp_path / "s.jsonl", model(), run="forecast study", output_flag="--records")
    message = str(refused.value)
    assert "holds records made by: 1 simulated (meter simulated)" in message
    assert "this forecast study's meter is 'model' (estimated)" in message and "new --records path" in message


@pytest.mark.parametrize("resumed_under", [7.0, 20.0])
def test_a_file_already_mixing_two_settings_of_one_meter_is_refused_under_either(tmp_path, resumed_under):
    records = [DescribedResult({"cell": "lstm"}, model(static_watts=w)).to_record() for w in (7.0, 7.0, 20.0)]
    with pytest.raises(ConfigError) as refused:
        check_resume_meter(records, tmp_path / "r.jsonl", model(static_watts=resumed_under))
    message = str(refused.value)
    assert "\n" not in message and "is already mixed" in message and "new -o path" in message
    assert "parameters.static_watts" in message
