"""`lstm-energy meters`: documented exit codes (0 / 1, --require-measured for CI), a virtual machine
diagnosed from the cpuid hypervisor flag (injected cpuinfo, not this host's), no advice to run the command
inside its own output, and a versioned --json document."""

import argparse
import json

import pytest

from lstm_energy.cli import meters_cmd
from lstm_energy.meters import Availability

CPUINFO = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nflags\t\t: fpu msr {extra}\n"

NO_COUNTERS = [
    Availability(
        "powercap",
        False,
        "measured",
        "no powercap tree at /fake (the directory does not exist).",
        "`sudo modprobe intel_rapl_msr`; virtual machines usually hide RAPL. Otherwise use another backend "
        "(see `lstm-energy meters`)",
    ),
    Availability("msr", False, "measured", "/fake/0/msr does not exist", "`sudo modprobe msr`, then run as root"),
    Availability("model", True, "estimated", "always available: an ESTIMATE"),
]
COUNTING = [Availability("powercap", True, "measured", "reads 1 zone"), *NO_COUNTERS[1:]]
NOTHING = [NO_COUNTERS[0], NO_COUNTERS[1], Availability("model", False, "estimated", "no profile", "fix it")]


def run(monkeypatch, tmp_path, rows, *, hypervisor, json_out=False, require_measured=False):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO.format(extra="hypervisor" if hypervisor else "avx2"))
    monkeypatch.setattr("lstm_energy.meters.available_meters", lambda: list(rows))
    args = argparse.Namespace(json=json_out, require_measured=require_measured)
    return meters_cmd.run(args, cpuinfo=cpuinfo)


@pytest.mark.parametrize(
    ("rows", "require_measured", "code"),
    [
        (COUNTING, False, 0),
        (COUNTING, True, 0),
        (NO_COUNTERS, False, 0),  # the estimate works: the command's answer, not a failure
        (NO_COUNTERS, True, 1),  # ... unless CI asks for a measurement
        (NOTHING, False, 1),  # auto would raise
        (NOTHING, True, 1),
    ],
)
def test_exit_codes(monkeypatch, tmp_path, capsys, rows, require_measured, code):
    assert run(monkeypatch, tmp_path, rows, hypervisor=False, require_measured=require_measured) == code


def test_a_virtual_machine_is_told_rapl_is_not_passed_through(monkeypatch, tmp_path, capsys):
    run(monkeypatch, tmp_path, NO_COUNTERS, hypervisor=True)
    out = capsys.readouterr().out
    assert "modprobe" not in out
    assert out.count("fix:   RAPL is not passed through to this virtual machine") == 2  # each measured backend's
    assert "This is a virtual machine (the cpuid hypervisor flag is set" in out
    assert "see `lstm-energy meters`" not in out


def test_bare_metal_keeps_the_backends_fixes_without_pointing_at_itself(monkeypatch, tmp_path, capsys):
    run(monkeypatch, tmp_path, NO_COUNTERS, hypervisor=False)
    out = capsys.readouterr().out
    assert "`sudo modprobe msr`" in out and meters_cmd.VM_FIX not in out
    assert "lstm-energy meters" not in out


def test_json_document_is_versioned_and_says_what_it_found(monkeypatch, tmp_path, capsys):
    assert run(monkeypatch, tmp_path, NO_COUNTERS, hypervisor=True, json_out=True, require_measured=True) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == meters_cmd.METERS_JSON_SCHEMA_VERSION == 1
    assert set(doc) == {"schema_version", "backends", "auto", "measured_available", "virtual_machine"}
    assert doc["measured_available"] is False and doc["auto"]["name"] == "model"
    assert doc["virtual_machine"]["detected"] is True
    assert {row["fix"] for row in doc["backends"] if not row["available"]} == {meters_cmd.VM_FIX}


def test_help_documents_the_exit_codes(capsys):
    from lstm_energy.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["meters", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "exit codes: 0" in text and "--require-measured" in text and "2 bad usage" in text


def test_a_refused_permission_keeps_its_fix_in_a_virtual_machine_whatever_its_wording(monkeypatch, tmp_path, capsys):
    """perf's EPERM reads "Operation not permitted" (no word "permission"): the row's error type decides."""
    from lstm_energy.meters.remedies import permission_error, unavailable

    refused = unavailable(
        "perf",
        "measured",
        permission_error("perf_event_open: [Errno 1] Operation not permitted", "sysctl kernel.perf_event_paranoid=0"),
    )
    missing = unavailable("msr", "measured", FileNotFoundError("/fake/0/msr does not exist"))
    assert refused.details["permission_denied"] and not missing.details["permission_denied"]
    run(monkeypatch, tmp_path, [refused, missing, NO_COUNTERS[2]], hypervisor=True)
    out = capsys.readouterr().out
    assert "fix:   sysctl kernel.perf_event_paranoid=0" in out
    assert out.count("fix:   RAPL is not passed through to this virtual machine") == 1  # msr's only
