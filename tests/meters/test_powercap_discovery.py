"""PowercapMeter discovery on every fake tree kind: domains, headline, hex ids, mmio duplicates, die mirrors."""

import os

import pytest

from lstm_energy.errors import MeterUnavailableError
from lstm_energy.meters import PowercapMeter
from lstm_energy.testing import KINDS, build_fake_powercap
from lstm_energy.testing.power_driver import powered_zones

EXPECTED = {
    "intel-1s": (
        ["package-0", "package-0/core", "package-0/uncore", "package-0/dram"],
        ["package-0"],
    ),
    "intel-2s": (
        ["package-0", "package-0/core", "package-0/dram", "package-1", "package-1/core", "package-1/dram"],
        ["package-0", "package-1"],
    ),
    "intel-laptop": (
        ["package-0", "package-0/core", "package-0/uncore", "package-0/dram", "psys"],
        ["package-0"],
    ),
    "psys-only": (["psys"], ["psys"]),
    "intel-dies": (
        [f"package-{p}-die-{d}{s}" for p in (0, 1) for d in (0, 1) for s in ("", "/dram")],
        [f"package-{p}-die-{d}" for p in (0, 1) for d in (0, 1)],
    ),
    "intel-many": (
        [f"package-{p}{s}" for p in range(12) for s in ("", "/dram")] + ["psys"],
        [f"package-{p}" for p in range(12)],
    ),
    "amd": (["package-0", "package-0/core"], ["package-0"]),
    "amd-2s": (["package-0", "package-0/core", "package-1", "package-1/core"], ["package-0", "package-1"]),
    "amd-die-mirrors": (["package-0-die-0", "package-0-die-0/core"], ["package-0-die-0"]),
}


def test_every_kind_has_an_expectation():
    assert set(EXPECTED) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_domains_and_headline(tmp_path, kind):
    fake = build_fake_powercap(tmp_path, kind)
    with PowercapMeter(fake.root, background_sampling=False) as meter:
        domains, headline = EXPECTED[kind]
        assert sorted(meter.domains) == sorted(domains)
        assert list(meter.headline_domains) == headline
        assert meter.describe()["provenance"] == "measured"


@pytest.mark.parametrize("kind", KINDS)
def test_each_domain_reads_its_own_counter(tmp_path, kind):
    """Advance every zone by a distinct amount: each domain must see exactly its own zone's energy."""
    fake = build_fake_powercap(tmp_path, kind)
    with PowercapMeter(fake.root, background_sampling=False) as meter:
        before = meter.read()
        for index, key in enumerate(meter.domains):
            fake.advance(key, 1.0 + 0.37 * index)
        delta = meter.read() - before
        for key in meter.domains:
            assert delta.joules[key] == pytest.approx(fake.joules_advanced(key), abs=2e-6), key
            assert delta.joules[key] > 0.9


def test_hex_zone_ids_are_found_and_mapped(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-many")
    assert (tmp_path / "sys/class/powercap/intel-rapl:a").is_symlink()
    assert not (tmp_path / "sys/class/powercap/intel-rapl:10").exists()
    with PowercapMeter(fake.root, background_sampling=False) as meter:
        zones = meter.describe()["domains"]
        assert zones["package-10"]["zone"] == "intel-rapl:a"
        assert zones["package-11/dram"]["zone"] == "intel-rapl:b:0"
        assert zones["psys"]["zone"] == "intel-rapl:c"
        s0 = meter.read()
        fake.advance("package-10", 7.0)
        fake.advance("package-11", 3.0)
        d = meter.read() - s0
    assert d.joules["package-10"] == pytest.approx(7.0, abs=1e-4)
    assert d.joules["package-11"] == pytest.approx(3.0, abs=1e-4)
    assert d.joules["package-1"] == 0.0  # not confused with intel-rapl:10 read as decimal


def test_mmio_duplicate_is_not_double_counted(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-laptop")
    with PowercapMeter(fake.root, background_sampling=False) as meter:
        ignored = meter.describe()["ignored_zones"]
        assert [z["zone"] for z in ignored] == ["intel-rapl-mmio:0"]
        assert "duplicate of intel-rapl:0" in ignored[0]["reason"]
        s0 = meter.read()
        fake.advance("package-0", 10.0)  # the mmio copy moves too: it is the same counter
        fake.advance("psys", 25.0)
        d = meter.read() - s0
        assert meter.describe()["domains"]["package-0"]["zone"] == "intel-rapl:0"
    assert meter.headline_joules(d) == pytest.approx(10.0, abs=1e-4)  # not 20 (mmio), not 35 (psys)
    assert d.joules["psys"] == pytest.approx(25.0, abs=1e-4)


def test_amd_die_mirrors_are_counted_once(tmp_path):
    fake = build_fake_powercap(tmp_path, "amd-die-mirrors")
    assert fake.energy_uj("package-0-die-0") == fake.energy_uj("package-0-die-1")
    with PowercapMeter(fake.root, background_sampling=False) as meter:
        reasons = {z["zone"]: z["reason"] for z in meter.describe()["ignored_zones"]}
        assert set(reasons) == {"intel-rapl:1", "intel-rapl:1:0"}
        assert "mirror of package-0-die-0" in reasons["intel-rapl:1"]
        s0 = meter.read()
        fake.advance("package-0-die-0", 68.0)
        d = meter.read() - s0
    assert meter.headline_joules(d) == pytest.approx(68.0, abs=1e-4)  # not 136 (codecarbon #788)


def test_mirrors_kept_when_dedupe_is_off(tmp_path):
    fake = build_fake_powercap(tmp_path, "amd-die-mirrors")
    with PowercapMeter(fake.root, background_sampling=False, dedupe_die_mirrors=False) as meter:
        assert meter.headline_domains == ("package-0-die-0", "package-0-die-1")


def test_intel_dies_with_distinct_counters_are_all_kept(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-dies")
    with PowercapMeter(fake.root, background_sampling=False) as meter:
        assert meter.describe()["ignored_zones"] == []
        s0 = meter.read()
        fake.advance("package-0-die-0", 1.0)
        fake.advance("package-0-die-1", 2.0)
        fake.advance("package-0-die-0/dram", 5.0)
        d = meter.read() - s0
    assert meter.headline_joules(d) == pytest.approx(3.0, abs=1e-4)  # dram reported apart, not in the headline


def test_core_and_uncore_are_not_in_the_headline(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-1s")
    with PowercapMeter(fake.root, background_sampling=False) as meter:
        s0 = meter.read()
        fake.advance("package-0", 50.0)
        fake.advance("package-0/core", 30.0)
        fake.advance("package-0/uncore", 5.0)
        d = meter.read() - s0
    assert meter.headline_joules(d) == pytest.approx(50.0, abs=1e-4)


def test_devices_root_without_flat_links_is_walked(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-2s")
    with PowercapMeter(str(fake.devices_root), background_sampling=False) as meter:
        assert sorted(meter.domains) == sorted(EXPECTED["intel-2s"][0])


def test_keys_come_from_names_not_zone_numbers(tmp_path):
    """Zone ids need not follow socket ids: intel-rapl:0 may be package-1."""
    from lstm_energy.testing import FakePowercap

    fake = FakePowercap(tmp_path / "class", tmp_path / "devices")
    fake.add_zone("intel-rapl", (0,), "package-1", initial_joules=10)
    fake.add_zone("intel-rapl", (1,), "package-0", initial_joules=20)
    with PowercapMeter(fake.root, background_sampling=False) as meter:
        zones = meter.describe()["domains"]
        assert zones["package-1"]["zone"] == "intel-rapl:0" and zones["package-0"]["zone"] == "intel-rapl:1"


def test_missing_root_says_why(tmp_path):
    with pytest.raises(MeterUnavailableError, match="no powercap tree at .*does not exist.*modprobe intel_rapl_msr"):
        PowercapMeter(str(tmp_path / "nothing"))


def test_empty_root_says_why(tmp_path):
    with pytest.raises(MeterUnavailableError, match="has no RAPL zone"):
        PowercapMeter(str(tmp_path))


def test_unreadable_range_is_an_error_not_zero(tmp_path):
    """CodeCarbon #1309: a missing max_energy_range_uj silently became 0 and gave negative energy."""
    fake = build_fake_powercap(tmp_path, "intel-1s")
    os.remove(fake.zone("package-0/dram").directory / "max_energy_range_uj")
    with pytest.raises(MeterUnavailableError, match="max_energy_range_uj.*wraps cannot be corrected"):
        PowercapMeter(fake.root)


def test_probe_reports_available_on_a_fake_tree(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-2s")
    with powered_zones(fake, ("package-0", "package-1"), watts=20.0):  # a counter must be seen counting
        availability = PowercapMeter.probe(root=fake.root)
    assert availability.available and availability.fix == ""
    assert "package-0 + package-1" in availability.reason


def test_read_after_close_raises(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-1s")
    meter = PowercapMeter(fake.root)
    meter.close()
    meter.close()
    assert not meter.sampler.running
    with pytest.raises(Exception, match="closed"):
        meter.read()


def test_in_place_counter_writes_never_show_an_empty_file(tmp_path):
    """A reader that keeps energy_uj open (pyRAPL) always reads a whole value: the fake writes the new line
    before cutting the file, so no read sees the empty file of a truncate-then-write, and after a wrap (a
    shorter value) the first line is still the new value."""
    import threading

    from lstm_energy.testing import FakePowercap

    fake = FakePowercap(tmp_path / "class", tmp_path / "devices", write_mode="in_place")
    zone = fake.add_zone("intel-rapl", (0,), "package-0", initial_joules=1.0)
    path = zone.directory / "energy_uj"
    inode = path.stat().st_ino
    stop, seen = threading.Event(), []

    def advance():
        while not stop.is_set():
            fake.advance("package-0", 0.5)

    writer = threading.Thread(target=advance)
    writer.start()
    try:
        with open(path) as handle:
            for _ in range(20000):
                handle.seek(0)
                seen.append(handle.readline())
    finally:
        stop.set()
        writer.join()
    assert all(line.endswith("\n") and line.strip().isdigit() for line in seen), [x for x in seen if not x.strip()][:3]
    fake.set_energy_uj("package-0", zone.max_energy_range_uj - 10)
    fake.advance("package-0", 1.0)  # wraps to a small, shorter value
    with open(path) as handle:
        assert int(handle.readline()) < 2_000_000
    assert path.stat().st_ino == inode
