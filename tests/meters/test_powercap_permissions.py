"""A root-only energy_uj (CVE-2020-8694 fix) read by a REAL non-root process gives the explained error."""

import stat

from lstm_energy.meters import PowercapMeter
from lstm_energy.meters.remedies import SYSFSUTILS_LINE, UDEV_RULE
from lstm_energy.testing import build_fake_powercap

SNIPPET = """
import json, sys
from lstm_energy.errors import MeterPermissionError
from lstm_energy.meters import PowercapMeter
try:
    meter = PowercapMeter(sys.argv[1])
    print(json.dumps({"opened": True, "joules": dict(meter.read().joules)}))
except MeterPermissionError as err:
    print(json.dumps({"opened": False, "type": type(err).__name__, "message": str(err),
                      "is_permission_error": isinstance(err, PermissionError)}))
"""


def test_fake_tree_can_be_made_root_only(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-1s")
    fake.make_root_only()
    info = (fake.zone("package-0").directory / "energy_uj").stat()
    assert stat.S_IMODE(info.st_mode) == 0o400 and info.st_uid == 0
    fake.advance("package-0", 1.0)  # rewritten files stay root-only
    info = (fake.zone("package-0").directory / "energy_uj").stat()
    assert stat.S_IMODE(info.st_mode) == 0o400 and info.st_uid == 0


def test_root_only_energy_uj_gives_the_cve_message_to_a_non_root_reader(world_readable_dir, run_as_nobody):
    fake = build_fake_powercap(world_readable_dir, "intel-2s")
    fake.make_root_only()
    with PowercapMeter(fake.root, background_sampling=False) as meter:  # root can still read it
        assert "package-1" in meter.read().joules
    result, how = run_as_nobody(SNIPPET, fake.root)
    assert result["opened"] is False, f"uid 65534 read a 0400 root file ({how})"
    assert result["type"] == "MeterPermissionError" and result["is_permission_error"]
    message = result["message"]
    assert "energy_uj" in message and "mode 0400, owner root" in message and "uid 65534" in message
    assert "CVE-2020-8694" in message and "PLATYPUS" in message and "Linux 5.10" in message
    assert "run as root" in message
    assert UDEV_RULE in message
    assert SYSFSUTILS_LINE in message
    assert "perf_event_paranoid <= 0" in message and "CAP_PERFMON" in message


def test_world_readable_tree_opens_for_a_non_root_reader(world_readable_dir, run_as_nobody):
    """The control: same reader, same tree, readable files -> it measures."""
    fake = build_fake_powercap(world_readable_dir, "intel-1s")
    result, how = run_as_nobody(SNIPPET, fake.root)
    assert result["opened"] is True, result
    assert set(result["joules"]) == {"package-0", "package-0/core", "package-0/uncore", "package-0/dram"}
