"""The estimator's uncalibrated defaults: Cloud Carbon Footprint's per-vCPU coefficients, the row
chosen by the identified microarchitecture, the arithmetic, the provenance, and what overrides them."""

import json
from importlib import resources
from pathlib import Path

import pytest

from lstm_energy._layers.engines import engine_available
from lstm_energy.errors import ConfigError
from lstm_energy.measure import profile
from lstm_energy.meters.ccf_coefficients import load_table
from lstm_energy.meters.microarchitecture import CpuId
from lstm_energy.meters.model import PROFILE_ENV, ModelMeter, ModelParameters, ModelProfile

ROOT = Path(__file__).resolve().parents[2]

#: the issue's figures (W per vCPU, min / max, 2 decimals), checked against the upstream file
ISSUE_FIGURES = {
    "Cascade Lake": (0.69, 4.06),
    "Ice Lake": (0.77, 3.76),
    "Sapphire Rapids": (1.04, 4.16),
    "Emerald Rapids": (0.81, 4.48),
    "Granite Rapids": (0.58, 2.53),
    "EPYC 3rd Gen": (0.46, 1.96),  # Milan
    "EPYC 4th Gen": (0.74, 2.28),  # Genoa
}
#: lines of cloud-carbon-footprint/ccf-coefficients output/coefficients-aws-use.csv @ b0032d9, verbatim
UPSTREAM_LINES = [
    "1,Cascade Lake,0.6902978319127387,4.063193520161689,105.972049689441",
    "5,EPYC 3rd Gen,0.45562453497023814,1.957333519345238,137.14285714285714",
    "6,EPYC 4th Gen,0.7391482469512195,2.282155106707317,152.1951219512195",
    "8,Emerald Rapids,0.8140104166666666,4.48203125,160.0",
    "9,Granite Rapids,0.5815883902616279,2.5274707237711422,221.13636363636363",
    "15,Ice Lake,0.766796875,3.7582031249999996,136.0",
    "18,Sapphire Rapids,1.0362861003136936,4.160476336606656,130.79521276595744",
]
EMERALD = CpuId("intel", 6, 207, 2, "Intel(R) Xeon(R) Processor")


class Clock:
    def __init__(self, now=50.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def no_profile_in_environment(monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)


# ------------------------------------------------------------------------------------ the data file
def test_shipped_rows_are_the_upstream_lines_and_the_issues_figures():
    text = resources.files("lstm_energy.meters.data").joinpath("ccf_coefficients_aws.csv").read_text()
    lines = text.splitlines()
    assert lines[0] == ",Architecture,Min Watts,Max Watts,GB/Chip"
    for line in UPSTREAM_LINES:
        assert line in lines
    rows = load_table().rows
    for name, (low, high) in ISSUE_FIGURES.items():
        assert (round(rows[name].min_watts_per_vcpu, 2), round(rows[name].max_watts_per_vcpu, 2)) == (low, high)
    average = load_table().average
    assert (average.min_watts_per_vcpu, average.max_watts_per_vcpu) == (0.74, 3.5)


def test_metadata_names_repository_path_date_licence_and_columns():
    meta = load_table().metadata
    assert meta["repository"] == "https://github.com/cloud-carbon-footprint/ccf-coefficients"
    assert meta["path"] == "output/coefficients-aws-use.csv" and len(meta["commit"]) == 40
    assert meta["read"] == "2026-12-06" and meta["data_as_of"].startswith("2026-03")
    assert meta["licence"] == "Apache-2.0"
    assert "per vCPU" in meta["columns"]["Min Watts"] and "per vCPU" in meta["columns"]["Max Watts"]
    assert "MIN_WATTS_AVG" in meta["average"]["path"]


def test_data_directory_is_a_package_so_wheels_carry_it():
    from setuptools import find_packages

    assert "lstm_energy.meters.data" in find_packages(str(ROOT), include=["lstm_energy*"])
    tomllib = pytest.importorskip("tomllib")
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    assert "*.csv" in patterns and "*.json" in patterns


# -------------------------------------------------------------------------------------- arithmetic
def test_estimate_is_min_times_vcpus_times_wall_plus_max_minus_min_times_cpu_seconds():
    wall, cpu = Clock(), Clock(7.0)
    meter = ModelMeter(cpu=EMERALD, vcpus=4, clock=wall, cpu_clock=cpu)
    s0 = meter.read()
    wall.now += 10.0
    cpu.now += 3.0  # 3 CPU-seconds over 10 s on 4 vCPUs
    meter.note_work(flops=1e12, bytes=1e9)  # not in the headline estimate
    s1 = meter.read()
    low, high = 0.8140104166666666, 4.48203125
    assert (s1 - s0).joules["package"] == pytest.approx(low * 4 * 10.0 + (high - low) * 3.0)
    bound = meter.lower_bound(flops=1e12, bytes=1e9)
    assert bound["joules"] == pytest.approx(2.3e-12 * 1e12 + 160e-12 * 1e9)
    assert bound["flops"] == 1e12 and "Horowitz" in bound["model"] and "LOWER BOUND" in bound["model"]


def test_described_lower_bound_holds_rates_not_the_work_noted_since_the_meter_opened():
    """One meter serves a whole sweep or pytest session and every record copies describe(): a running
    total of note_work would put other measurements' work into each record (review finding 5)."""
    meter = ModelMeter(cpu=EMERALD, vcpus=4)
    before = meter.describe()["lower_bound"]
    meter.note_work(flops=3e10, bytes=2e8)  # an earlier measurement's work
    described = meter.describe()["lower_bound"]
    assert described == before
    assert set(described) == {"model", "joules_per_flop", "joules_per_byte", "covers"}
    assert (described["joules_per_flop"], described["joules_per_byte"]) == (2.3e-12, 160e-12)
    assert meter.lower_bound(flops=1e6)["joules"] == pytest.approx(2.3e-6)  # given work: its own floor


def test_static_power_is_the_machines_vcpus_not_the_affinity_mask():
    """`taskset -c 0` on a 2-vCPU machine: both vCPUs still idle-draw, so static power stays min x 2;
    the one allowed CPU is recorded beside it. Dynamic power stays per CPU-second."""
    low, high = 0.8140104166666666, 4.48203125
    pinned = ModelMeter(cpu=EMERALD, vcpus=2, allowed_cpus=1)
    assert pinned.parameters.static_watts == pytest.approx(2 * low)
    assert pinned.parameters.cpu_watts == pytest.approx(high - low)
    coefficients = pinned.describe()["coefficients"]
    assert (coefficients["vcpus"], coefficients["allowed_cpus"]) == (2, 1)
    assert "os.cpu_count()" in coefficients["vcpus_from"] and "sched_getaffinity" in coefficients["allowed_cpus_from"]
    assert "\u00d7 2 vCPUs (the machine's; this process may run on 1)," in pinned.source
    unpinned = ModelMeter(cpu=EMERALD, vcpus=2, allowed_cpus=2)
    assert unpinned.parameters == pinned.parameters
    assert "\u00d7 2 vCPUs, identified" in unpinned.source  # nothing left out: no note


def test_default_counts_read_cpu_count_for_static_power_and_affinity_for_the_record(monkeypatch):
    """The defaults, with the OS's answers faked: an 8-vCPU machine, this process pinned to one CPU."""
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    meter = ModelMeter(cpu=EMERALD)
    assert meter.parameters.static_watts == pytest.approx(8 * 0.8140104166666666)
    assert (meter.coefficients.vcpus, meter.coefficients.allowed_cpus) == (8, 1)


def test_given_vcpus_describe_another_machine_so_the_affinity_mask_is_not_recorded():
    meter = ModelMeter(cpu=EMERALD, vcpus=64)
    assert meter.coefficients.vcpus == 64 and meter.coefficients.allowed_cpus is None


def test_unknown_cpu_uses_the_ccf_average_row_and_says_so():
    meter = ModelMeter(cpu=CpuId("unknown", None, None, None, ""), vcpus=1)
    assert meter.parameters == ModelParameters(0.74, 3.5 - 0.74, 0.0, 0.0)
    assert "CCF average (AWS) 0.74\u20133.50 W per vCPU \u00d7 1 vCPU," in meter.source
    assert "unknown CPU" in meter.source and "CCF average row used" in meter.source


# ------------------------------------------------------------------------------------- provenance
def test_describe_names_the_row_the_dataset_and_how_the_cpu_was_identified(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\nstepping\t: 1\n\n"
    )
    info = ModelMeter(cpuinfo=cpuinfo, vcpus=2).describe()
    assert info["source"] == (
        "uncalibrated estimate, Cloud Carbon Footprint coefficients (AWS, SPECpower-derived, Apache-2.0, read "
        "2026-12-06): EPYC 3rd Gen 0.46\u20131.96 W per vCPU \u00d7 2 vCPUs, identified from cpuid family 25 "
        "model 1 stepping 1: Zen 3 (EPYC Milan)"
    )
    coefficients = info["coefficients"]
    assert coefficients["row"] == "EPYC 3rd Gen" and coefficients["vcpus"] == 2
    assert coefficients["min_watts_per_vcpu"] == pytest.approx(0.45562453497023814)
    assert coefficients["max_watts_per_vcpu"] == pytest.approx(1.957333519345238)
    assert "cloud-carbon-footprint/ccf-coefficients" in coefficients["citation"]
    assert coefficients["identified_by"].startswith("identified from cpuid family 25 model 1")
    assert "EPYC 3rd Gen" in info["parameter_sources"]["cpu_watts"]
    json.dumps(info)  # goes into records as is


def test_probe_reason_names_the_row():
    availability = ModelMeter.probe(cpu=EMERALD, vcpus=2)
    assert availability.available and "Emerald Rapids 0.81\u20134.48 W per vCPU" in availability.reason
    assert availability.details["coefficients"]["row"] == "Emerald Rapids"


# ------------------------------------------------------------------------------------ precedence
def test_a_calibration_profile_overrides_the_defaults(tmp_path, monkeypatch):
    params = ModelParameters(12.0, 18.5, 3e-11, 4e-10)
    path = ModelProfile(params, "calibrated on test-host", {}).save(tmp_path / "p.json")
    by_path = ModelMeter(path, cpu=EMERALD)
    assert by_path.parameters == params and by_path.describe()["coefficients"] is None
    monkeypatch.setenv(PROFILE_ENV, str(path))
    from_env = ModelMeter(cpu=EMERALD, vcpus=2)
    assert from_env.parameters == params and from_env.calibrated
    assert from_env.source == "calibrated on test-host"


def test_explicit_parameters_exclude_cpu_choices():
    with pytest.raises(ConfigError, match="cpuinfo/cpu/vcpus"):
        ModelMeter(parameters=ModelParameters(1, 1, 0, 0), source="what-if", cpu=EMERALD)
    with pytest.raises(ConfigError, match="vcpus must be a positive int"):
        ModelMeter(cpu=EMERALD, vcpus=0)
    with pytest.raises(ConfigError, match="allowed_cpus must be a positive int"):
        ModelMeter(cpu=EMERALD, vcpus=2, allowed_cpus=0)
    with pytest.raises(ConfigError, match="exceeds the machine's vcpus"):
        ModelMeter(cpu=EMERALD, vcpus=2, allowed_cpus=3)
    with pytest.raises(ConfigError, match="cpuinfo/cpu/vcpus/allowed_cpus"):
        ModelMeter(parameters=ModelParameters(1, 1, 0, 0), source="what-if", allowed_cpus=1)


# -------------------------------------------------------------------------------------- end to end
SHAPE = dict(batch=8, seq_len=16, input_size=32, hidden_size=128, phase="forward")
FAST = dict(windows=3, min_window_seconds=0.05)


def test_protocol_subtracts_static_power_and_keeps_cpu_watts_times_cpu_seconds():
    meter = ModelMeter(cpu=EMERALD, vcpus=2)
    p = meter.parameters
    r = profile("lstm", **SHAPE, impl="numpy", meter=meter, **FAST)
    m = r.measurement
    assert m.idle_watts == pytest.approx(p.static_watts, rel=0.1)
    assert r.joules_per_sequence == pytest.approx(p.cpu_watts * m.cpu_seconds_per_call.median / 8, rel=0.1)
    assert r.provenance == "estimated" and "Emerald Rapids" in r.meter["source"]


@pytest.mark.skipif(not engine_available("cython")[0], reason="Cython kernels not built")
def test_a_slower_implementation_costs_more_in_proportion_to_cpu_time():
    results = {
        impl: profile("lstm", **SHAPE, impl=impl, meter=ModelMeter(cpu=EMERALD, vcpus=2), **FAST)
        for impl in ("cython", "numpy")
    }
    joules = {impl: r.joules_per_sequence for impl, r in results.items()}
    cpu = {impl: r.measurement.cpu_seconds_per_call.median for impl, r in results.items()}
    assert joules["numpy"] / joules["cython"] == pytest.approx(cpu["numpy"] / cpu["cython"], rel=0.1)
