"""AMD die mirrors (one package counter exposed through several ``package-N-die-D`` zones) are found however
the counter's updates fall between the reads; distinct dies and separate packages are never merged.

The worst case for a check that waits for two back-to-back reads to be equal is a counter that updates
between every two reads (heavy load): the fakes here advance the counter before EVERY read, or a separate
process rewrites it every few microseconds.
"""

import time

import pytest

from lstm_energy.meters import PowercapMeter
from lstm_energy.meters.powercap import read_energy_uj
from lstm_energy.meters.powercap_zones import (
    check_die_mirrors,
    discover_zones,
    drop_die_mirrors,
    read_as_one_counter,
)
from lstm_energy.testing import FakePowercap, build_fake_powercap
from lstm_energy.testing.fake_powercap import UNIT_NJ_ESU16
from lstm_energy.testing.power_driver import PowerDriver, powered_zones

#: energy one RAPL update adds at 50 W (updates every ~1 ms)
UPDATE_JOULES = 0.05


def _no_pause(seconds):
    """The pause between rounds, skipped: the fakes below move their counters on reads instead."""


class AdvanceOnEveryRead:
    """Reads a zone's ``energy_uj`` after advancing counters, so an update lands between every two reads.

    joules_per_read: {fake zone key: J added to its counter before every read, whichever zone is read}:
    with the reads evenly spaced, that is each counter's power.
    """

    def __init__(self, fake: FakePowercap, joules_per_read: dict[str, float]):
        self.fake, self.joules_per_read = fake, joules_per_read
        self.values: list[int] = []

    def __call__(self, zone) -> int:
        for key, joules in self.joules_per_read.items():
            self.fake.advance(key, joules)
        value = read_energy_uj(zone)
        self.values.append(value)
        return value


def _checks(fake, reader, sleep=_no_pause):
    zones = discover_zones(fake.root)
    return zones, check_die_mirrors(zones, reader, sleep=sleep)


# ------------------------------------------------------------------------------------------------ the rule
def test_one_counter_read_in_order_passes_and_two_counters_do_not():
    modulus = 1000
    assert read_as_one_counter([10, 10, 10, 10, 10], modulus)  # no update during the round
    assert read_as_one_counter([10, 12, 15, 15, 20], modulus)  # updates between reads
    assert read_as_one_counter([990, 995, 3, 7, 9], modulus)  # a wrap in the middle
    assert not read_as_one_counter([10, 600, 11, 601, 12], modulus)  # two counters, far apart
    assert not read_as_one_counter([600, 10, 601, 11, 602], modulus)  # the same, read the other way
    assert not read_as_one_counter([10, 12, 11, 13, 12], modulus)  # close, but one read is behind


# -------------------------------------------------------------------------------------------------- mirrors
def test_mirrors_updated_between_every_two_reads_are_one_counter(tmp_path):
    fake = build_fake_powercap(tmp_path, "amd-die-mirrors")
    reader = AdvanceOnEveryRead(fake, {"package-0-die-0": UPDATE_JOULES})  # the one counter both zones show
    zones, checks = _checks(fake, reader)
    assert all(a != b for a, b in zip(reader.values, reader.values[1:])), "no two reads were ever equal"
    [check] = checks
    assert (check.first, check.other, check.mirror) == ("package-0-die-0", "package-0-die-1", True)
    assert len(check.rounds) == 5 and all(len(reads) == 5 for reads in check.rounds)
    kept, ignored = drop_die_mirrors(zones, checks)
    assert sorted(zone.key for zone in kept) == ["package-0-die-0", "package-0-die-0/core"]
    die, core = ignored
    assert (die.zone_id, core.zone_id) == ("intel-rapl:1", "intel-rapl:1:0")
    assert "mirror of package-0-die-0" in die.reason and "sub-zone of package-0-die-1" in core.reason
    evidence = die.as_dict()["evidence"]
    assert evidence["compared"] == ["package-0-die-0", "package-0-die-1"]
    assert evidence["reads_uj"][0][1] == ["package-0-die-1", reader.values[1]]
    assert "alternately" in evidence["rule"] and evidence["mirror"] is True


def _symlink_mirror(fake: FakePowercap, mirror_id: str, counter_id: str) -> None:
    """Make ``mirror_id``'s energy_uj a link to ``counter_id``'s: one file, so one counter, however it is rewritten."""
    link = fake.zone(mirror_id).directory / "energy_uj"
    link.unlink()
    link.symlink_to(fake.zone(counter_id).directory / "energy_uj")


def test_a_meter_on_mirrors_rewritten_every_few_microseconds_counts_the_package_once(memory_tmp_path):
    """A separate process rewrites the one package counter as fast as it can while the meter opens: the mirror
    is still found, and the package's energy is counted once, not twice."""
    fake = build_fake_powercap(memory_tmp_path, "amd-die-mirrors")
    _symlink_mirror(fake, "intel-rapl:1", "intel-rapl:0")
    _symlink_mirror(fake, "intel-rapl:1:0", "intel-rapl:0:0")
    watts = 200.0
    with PowerDriver(fake.zone("intel-rapl:0").directory / "energy_uj", watts=watts, interval_seconds=1e-5):
        with PowercapMeter(fake.root, background_sampling=False) as meter:
            assert meter.headline_domains == ("package-0-die-0",)
            [check] = meter.describe()["die_mirror_checks"]
            assert check["mirror"] is True
            reads = [value for round_reads in check["reads_uj"] for _, value in round_reads]
            assert reads[-1] > reads[0], "the counter advanced during the check"
            before = meter.read()
            time.sleep(0.2)
            delta = meter.read() - before
    assert meter.headline_joules(delta) / delta.seconds == pytest.approx(watts, rel=0.25)  # not 2 x 200 W


# ------------------------------------------------------------------------------------------- distinct dies
def test_distinct_dies_at_different_powers_are_kept(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-dies")
    reader = AdvanceOnEveryRead(
        fake, {"package-0-die-0": 0.02, "package-0-die-1": 0.05, "package-1-die-0": 0.03, "package-1-die-1": 0.01}
    )
    zones, checks = _checks(fake, reader)
    assert [(c.first, c.other, c.mirror) for c in checks] == [
        ("package-0-die-0", "package-0-die-1", False),
        ("package-1-die-0", "package-1-die-1", False),
    ]
    assert all("two counters: in round 1" in c.reason for c in checks)
    kept, ignored = drop_die_mirrors(zones, checks)
    assert ignored == [] and len(kept) == len(zones)


def test_distinct_dies_at_equal_power_are_kept(tmp_path):
    """Equal power, so equal deltas: the dies still differ by what each counted before (501 J here)."""
    fake = build_fake_powercap(tmp_path, "intel-dies")
    per_die = {f"package-{p}-die-{d}": UPDATE_JOULES for p in (0, 1) for d in (0, 1)}
    _, checks = _checks(fake, AdvanceOnEveryRead(fake, per_die))
    assert [c.mirror for c in checks] == [False, False]


def _two_dies_starting_equal(tmp_path) -> FakePowercap:
    """Two die zones with DISTINCT counters that start at the same value."""
    fake = FakePowercap(tmp_path / "class", tmp_path / "devices")
    for die in (0, 1):
        fake.add_zone("intel-rapl", (die,), f"package-0-die-{die}", unit_nj=UNIT_NJ_ESU16, initial_joules=6000.0)
    return fake


class PoweredPause:
    """The pause between rounds, advancing each die's counter at its own power while it lasts."""

    def __init__(self, fake: FakePowercap, watts: dict[str, float]):
        self.fake, self.watts = fake, watts

    def __call__(self, seconds: float) -> None:
        for key, watts in self.watts.items():
            self.fake.advance(key, watts * seconds)


def test_dies_that_start_equal_but_draw_different_power_are_kept(tmp_path):
    """Round 1 cannot tell them apart (equal values); after one pause at 10 W against 30 W they differ by
    40 mJ, and the next round reads one of them behind the other."""
    fake = _two_dies_starting_equal(tmp_path)
    pause = PoweredPause(fake, {"package-0-die-0": 10.0, "package-0-die-1": 30.0})
    [check] = check_die_mirrors(discover_zones(fake.root), read_energy_uj, sleep=pause)
    assert not check.mirror
    assert len(check.rounds) == 2 and "in round 2" in check.reason


def test_counters_that_read_identically_at_every_read_are_merged(tmp_path):
    """The one case reading cannot decide: two counters equal at every read of every round, at equal power.
    They are taken as one counter (the AMD case); see check_die_mirror for why that is the safe side."""
    fake = _two_dies_starting_equal(tmp_path)
    pause = PoweredPause(fake, {"package-0-die-0": 20.0, "package-0-die-1": 20.0})
    [check] = check_die_mirrors(discover_zones(fake.root), read_energy_uj, sleep=pause)
    assert check.mirror


# --------------------------------------------------------------------------------------- separate packages
def test_two_sockets_with_die_mirrors_count_each_package_once(tmp_path):
    fake = FakePowercap(tmp_path / "class", tmp_path / "devices")
    for package in (0, 1):
        die_0 = fake.add_zone(
            "intel-rapl", (2 * package,), f"package-{package}-die-0", unit_nj=UNIT_NJ_ESU16, initial_joules=6000.0
        )
        fake.add_zone("intel-rapl", (2 * package + 1,), f"package-{package}-die-1", mirror_of=die_0.zone_id)
    with PowercapMeter(fake.root, background_sampling=False) as meter:
        assert meter.headline_domains == ("package-0-die-0", "package-1-die-0")
        before = meter.read()
        fake.advance("package-0-die-0", 30.0)
        fake.advance("package-1-die-0", 30.0)
        delta = meter.read() - before
    assert meter.headline_joules(delta) == pytest.approx(60.0, abs=1e-3)  # both sockets, each once


def test_two_amd_packages_at_equal_power_are_both_counted(memory_tmp_path):
    """Separate packages are never mirror candidates, even drawing the same power at the same time."""
    fake = build_fake_powercap(memory_tmp_path, "amd-2s")
    with powered_zones(fake, ("package-0", "package-1"), watts=30.0):
        with PowercapMeter(fake.root, background_sampling=False) as meter:
            assert meter.headline_domains == ("package-0", "package-1")
            assert meter.describe()["die_mirror_checks"] == []
            before = meter.read()
            time.sleep(0.2)
            delta = meter.read() - before
    for package in ("package-0", "package-1"):
        assert delta.joules[package] / delta.seconds == pytest.approx(30.0, rel=0.25)
