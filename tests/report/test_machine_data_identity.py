"""Whose roofs: a machine profile (this host's cache or a --machine file) is drawn under records only when
it was measured on the machine the records were (host, machine id, cpuid family/model, kernel path; never
the CPU model name alone), and of the kernels built now; otherwise the page says which profile was left
out and why. A --machine file that holds no peaks is refused (exit 2) saying what it looks like."""

import json

import pytest

from lstm_energy.cli import main
from lstm_energy.machine.cache import profile_path
from lstm_energy.report.machine_data import cached_choice, explicit_choice, identity_mismatch

THIS_HOST = {"hostname": "vm", "cpuid": ("amd", 26, 2), "isa": "avx512", "cpu_model": "AMD EPYC"}
FINGERPRINT = "1193fba2a065c394"


def record(hostname="vm", isa="avx512", family=26, model=2, cpu_model="AMD EPYC", host_block=None):
    """The machine-identifying parts of a results record (as the model meter writes them)."""
    r = {
        "environment": {"cpu_model": cpu_model, "hostname": hostname, "isa": isa},
        "energy": {
            "meter": {
                "coefficients": {
                    "identification": {"method": "cpuid", "vendor": "amd", "family": family, "model": model}
                }
            }
        },
    }
    if hostname is None:
        del r["environment"]["hostname"]
    if family is None:
        del r["energy"]
    if host_block is not None:
        r["host"] = host_block
    return r


def profile(schema=2, kernel_build="b1", identity=None):
    """A cached `lstm-energy machine` profile (schema 1: sgemm only, no identity, no build)."""
    p = {
        "schema": schema,
        "fingerprint": FINGERPRINT,
        "measured_at": "2026-12-08T01:07:21Z",
        "machine": {"cpu_model": "AMD EPYC"},
        "peak_gflops": [{"threads": 1, "best_gflops": 121.6}],
        "roofline": [{"threads": 1, "peak_gflops": 121.6, "bandwidth_gb_per_second": 33.6}],
    }
    if schema >= 2:
        p["kernel_gemm_gflops"] = [{"threads": 1, "best_gflops": 230.0, "isa": "avx512"}]
        p["roofline"][0].update(peak_gflops=230.0, peak_source="kernels' packed GEMM, avx512")
        p["kernel_build"] = kernel_build
        p["identity"] = identity or {
            "hostname": "vm",
            "machine_id": "m1",
            "cpu": {"vendor": "amd", "family": 26, "model": 2},
        }
    return p


def cached(tmp_path, records, prof, build="b1"):
    path = profile_path(FINGERPRINT, tmp_path)
    path.write_text(json.dumps(prof))
    return cached_choice(records, directory=tmp_path, host=THIS_HOST, fingerprint=FINGERPRINT, build=build)


@pytest.mark.parametrize("schema", [1, 2])
def test_another_cpus_records_do_not_get_this_hosts_cached_roofs(tmp_path, schema):
    # the reviewer's other-cpu.jsonl: host milan-box, avx2, cpuid family 25 model 1, CPU model "AMD EPYC" too
    choice = cached(tmp_path, [record("milan-box", "avx2", 25, 1)], profile(schema))
    assert choice.profile is None and choice.roofs() is None
    assert "was not used" in choice.note and "milan-box" in choice.note
    assert "family 25 model 1" in choice.note and "avx2" in choice.note
    assert "2026-12-08T01:07:21Z" in choice.note and "--machine machine.json" in choice.note


@pytest.mark.parametrize("schema", [1, 2])
def test_this_hosts_records_get_its_cached_roofs_with_the_profiles_date_and_build(tmp_path, schema):
    choice = cached(tmp_path, [record()], profile(schema))
    assert choice.note is None and choice.roofs() is not None
    roofs = choice.roofs()
    assert str(profile_path(FINGERPRINT, tmp_path)) in roofs.source and "measured 2026-12-08T01:07:21Z" in roofs.source
    if schema == 2:
        assert "kernels build b1" in roofs.source


def test_the_cpu_model_name_alone_is_not_enough(tmp_path):
    choice = cached(tmp_path, [record(hostname=None, family=None)], profile(1))
    assert choice.profile is None and "CPU model name alone" in choice.note


def test_a_profile_of_another_kernel_build_is_refused_saying_refresh(tmp_path):
    choice = cached(tmp_path, [record()], profile(2, kernel_build="old"), build="new")
    assert choice.profile is None and "another build of the kernels" in choice.note and "--refresh" in choice.note


def test_records_of_this_host_on_another_kernel_path_are_not_called_another_hosts(tmp_path):
    """Same machine, LSTM_ENERGY_ISA=avx2 records, an avx512 profile: no roofs (the kernel peak is another
    path's), and the page says so and how to measure that path, not "not measured on this host"."""
    choice = cached(tmp_path, [record(isa="avx2")], profile(2))
    assert choice.profile is None and choice.roofs() is None
    assert "not measured on this host" not in choice.note
    assert "another path" in choice.note and "LSTM_ENERGY_ISA=avx2 lstm-energy machine --refresh" in choice.note
    other_file = explicit_choice([record(isa="avx2")], profile(2), "`m.json`")
    assert other_file.profile is None and "another machine" not in other_file.note and "another path" in other_file.note
    elsewhere = cached(tmp_path, [record("milan-box", "avx2", 25, 1)], profile(2))
    assert "not measured on this host" in elsewhere.note  # another machine stays another machine


def test_a_fleet_host_block_is_compared_too():
    host = {"hostname": "vm", "machine_id": "other", "cpu": {"vendor": "amd", "family": 26, "model": 2}}
    why = identity_mismatch([record(host_block=host)], {**THIS_HOST, "machine_id": "m1"})
    assert why and "machine id other in the records, m1 in the profile" in why


def test_a_machine_file_of_another_host_is_not_drawn_under_the_records():
    other = profile(2, identity={"hostname": "milan-box", "cpu": {"vendor": "amd", "family": 25, "model": 1}})
    choice = explicit_choice([record()], other, "`m.json`")
    assert choice.profile is None and "`m.json` was not used" in choice.note and "milan-box" in choice.note
    # a hand-written peaks file says nothing about its machine: taken at the user's word
    flat = {"peak_gflops_per_second": 100.0, "bandwidth_gb_per_second": 20.0}
    assert explicit_choice([record()], flat, "`m.json`").profile is flat


# --- the command ------------------------------------------------------------------------------------


def write(path, text):
    path.write_text(text)
    return path


def results(tmp_path, record_factory, jsonl_writer):
    return jsonl_writer(tmp_path / "r.jsonl", [record_factory()])


def test_a_meters_json_as_machine_file_is_refused_saying_what_it_is(tmp_path, capsys, record_factory, jsonl_writer):
    meters = write(tmp_path / "meters.json", json.dumps({"backends": [], "auto": {"name": "model"}}))
    out = tmp_path / "r.html"
    code = main(
        ["report", str(results(tmp_path, record_factory, jsonl_writer)), "-o", str(out), "--machine", str(meters)]
    )
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "holds no roofline/peak figures" in err and "looks like `lstm-energy meters --json` output" in err


def test_a_non_json_machine_file_suggests_a_new_file_not_the_users(
    tmp_path, capsys, monkeypatch, record_factory, jsonl_writer
):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "machine.json", "{}")  # the user's: never suggested as the target of `>`
    report = write(tmp_path / "quick.html", "<!DOCTYPE html><html></html>")
    code = main(
        ["report", str(results(tmp_path, record_factory, jsonl_writer)), "-o", "x.html", "--machine", str(report)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "is HTML" in err
    assert "`lstm-energy machine --json > machine-1.json`" in err
    assert f"> {report}" not in err and "> machine.json" not in err


def test_a_machine_file_of_another_machine_is_noted_on_the_page(tmp_path, capsys, record_factory, jsonl_writer):
    other = profile(2, identity={"hostname": "milan-box", "cpu": {"vendor": "amd", "family": 25, "model": 1}})
    machine = write(tmp_path / "m.json", json.dumps(other))
    out = tmp_path / "r.html"
    code = main(
        ["report", str(results(tmp_path, record_factory, jsonl_writer)), "-o", str(out), "--machine", str(machine)]
    )
    err = capsys.readouterr().err
    assert code == 0 and "was not used" in err and "milan-box" in err
    html = out.read_text()
    assert "was not used" in html and "Measured machine peaks are missing" in html
