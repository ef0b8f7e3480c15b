"""The estimator: its formula, its stated sources, and its calibration profile files."""

import json

import pytest

from lstm_energy.errors import ConfigError
from lstm_energy.meters.microarchitecture import CpuId
from lstm_energy.meters.model import (
    DEFAULT_PARAMETERS,
    PROFILE_ENV,
    ModelMeter,
    ModelParameters,
    ModelProfile,
)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def no_profile_in_environment(monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)


def test_formula_with_injected_clocks():
    wall, cpu = Clock(), Clock()
    params = ModelParameters(static_watts=5.0, cpu_watts=20.0, joules_per_flop=1e-10, joules_per_byte=2e-9)
    meter = ModelMeter(parameters=params, source="test", clock=wall, cpu_clock=cpu)
    s0 = meter.read()
    wall.now += 2.0
    cpu.now += 1.5
    meter.note_work(flops=1e9, bytes=5e8)
    s1 = meter.read()
    assert (s1 - s0).joules["package"] == pytest.approx(5.0 * 2 + 20.0 * 1.5 + 0.1 + 1.0)
    assert (s1 - s0).seconds == pytest.approx(2.0)


EMERALD_RAPIDS_GUEST = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 207
model name\t: Intel(R) Xeon(R) Processor
stepping\t: 2

processor\t: 1
vendor_id\t: GenuineIntel
"""


def test_uncalibrated_defaults_name_their_coefficient_row_and_source(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(EMERALD_RAPIDS_GUEST)
    meter = ModelMeter(cpuinfo=cpuinfo, vcpus=2)
    info = meter.describe()
    assert info["provenance"] == "estimated" and meter.provenance == "estimated"
    assert info["calibrated"] is False
    # CCF Emerald Rapids row: min 0.8140104166666666, max 4.48203125 W per vCPU; 2 vCPUs
    assert info["parameters"] == pytest.approx(
        {
            "static_watts": 2 * 0.8140104166666666,
            "cpu_watts": 4.48203125 - 0.8140104166666666,
            "joules_per_flop": 0.0,
            "joules_per_byte": 0.0,
        }
    )
    assert "uncalibrated" in info["source"] and "Cloud Carbon Footprint" in info["source"]
    assert "Emerald Rapids 0.81\u20134.48 W per vCPU \u00d7 2 vCPUs" in info["source"]
    assert "identified from cpuid family 6 model 207" in info["source"]
    assert set(info["parameter_sources"]) == set(DEFAULT_PARAMETERS.as_dict())
    assert "Horowitz" in info["parameter_sources"]["joules_per_flop"]
    assert "Emerald Rapids" in info["parameter_sources"]["static_watts"]
    assert info["model"].startswith("E = static_watts*wall_seconds")


#: a Sapphire Rapids server as cpuid describes it (family 6, model 0x8F), injected so the test means the same anywhere
SAPPHIRE_RAPIDS = CpuId("intel", 6, 0x8F, 8, "Intel(R) Xeon(R) Platinum 8480+")


def test_default_coefficients_are_the_ccf_row_of_the_identified_cpu():
    meter = ModelMeter(cpu=SAPPHIRE_RAPIDS, vcpus=4)
    # CCF "Sapphire Rapids" row: min 1.0362861003136936, max 4.160476336606656 W per vCPU; 4 vCPUs
    assert meter.parameters.as_dict() == pytest.approx(
        {
            "static_watts": 4 * 1.0362861003136936,
            "cpu_watts": 4.160476336606656 - 1.0362861003136936,
            "joules_per_flop": 0.0,
            "joules_per_byte": 0.0,
        }
    )
    assert meter.describe()["coefficients"]["row"] == "Sapphire Rapids"
    assert "Sapphire Rapids 1.04\u20134.16 W per vCPU \u00d7 4 vCPUs" in meter.source


def test_probe_is_available_and_says_estimate():
    availability = ModelMeter.probe(cpu=SAPPHIRE_RAPIDS, vcpus=4)
    assert availability.available and availability.provenance == "estimated"
    assert "ESTIMATE" in availability.reason and "not a measurement" in availability.reason
    assert "Sapphire Rapids" in availability.reason


def test_explicit_parameters_need_a_source():
    with pytest.raises(ConfigError, match="source"):
        ModelMeter(parameters=DEFAULT_PARAMETERS)


def test_negative_parameters_are_refused():
    with pytest.raises(ConfigError, match="cpu_watts"):
        ModelParameters(1.0, -2.0, 0.0, 0.0)


def test_profile_round_trip_and_loading_by_path_and_environment(tmp_path, monkeypatch):
    params = ModelParameters(12.0, 18.5, 3e-11, 4e-10)
    path = ModelProfile(params, "calibrated on test-host 2026-11-25", {"fit": {"r2": 0.99}}).save(tmp_path / "p.json")
    by_path = ModelMeter(path)
    assert by_path.parameters == params and by_path.calibrated
    info = by_path.describe()
    assert info["source"] == "calibrated on test-host 2026-11-25"
    assert info["calibration_fit"] == {"r2": 0.99}
    assert info["profile_path"] == str(path)
    assert all(str(path) in v for v in info["parameter_sources"].values())

    monkeypatch.setenv(PROFILE_ENV, str(path))
    assert ModelMeter().parameters == params


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "not valid JSON"),
        (json.dumps({"format": "other"}), "not an lstm_energy model profile"),
        (json.dumps({"format": "lstm_energy.model_profile", "version": 99}), "version"),
        (
            json.dumps({"format": "lstm_energy.model_profile", "version": 1, "parameters": {"static_watts": 1}}),
            "exactly the keys",
        ),
        (
            json.dumps(
                {
                    "format": "lstm_energy.model_profile",
                    "version": 1,
                    "source": "",
                    "parameters": DEFAULT_PARAMETERS.as_dict(),
                }
            ),
            "source",
        ),
    ],
)
def test_broken_profiles_say_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        ModelMeter(path)


def test_missing_profile_from_environment_is_an_error_not_a_silent_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="cannot read model profile"):
        ModelMeter()
    availability = ModelMeter.probe()
    assert not availability.available and PROFILE_ENV in availability.fix
