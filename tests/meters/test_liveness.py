"""A counter is trusted only after it has been seen to count: dead, stalled and implausible counters are refused.

Every measured backend gets a dead-counter fake (constant ``energy_uj``, a perf event stuck where it
started, a constant MSR) and a live one advancing at a known power; none depends on the host's meters.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstm_energy.errors import MeterError, MeterUnavailableError
from lstm_energy.measure import measure
from lstm_energy.meters import EstimatedEnergyWarning, MsrMeter, PerfMeter, PowercapMeter, SimulatedMeter, get_meter
from lstm_energy.meters.liveness import (
    BUSY_FLOOR_WATTS,
    CEILING_WATTS,
    IDLE_FLOOR_WATTS,
    prove_counting,
    window_problem,
)
from lstm_energy.testing import FakePerfEvents, PoweredMsrDevice, build_fake_powercap
from lstm_energy.testing.power_driver import PowerDriver

REPO = Path(__file__).resolve().parents[2]
NOWHERE = "/nonexistent/lstm-energy-test"
PKG, PSYS = 0x02, 0x05  # perf configs of energy-pkg and energy-psys
INTEL_UNIT_ESU14, INTEL_PKG_MSR = 0x000A0E03, 0x611


def _perf_tree(tmp_path, write_power_pmu, events):
    write_power_pmu(tmp_path, pmu_type=23, events=events)
    return str(tmp_path)


def _cpuinfo(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n\n")
    return str(path)


# ------------------------------------------------------------------------------------------------- perf
def test_perf_psys_stuck_at_zero_is_refused_with_the_vm_cause(tmp_path, write_power_pmu):
    """The Emerald Rapids guest: a power PMU with energy-psys only, whose count never moves."""
    root = _perf_tree(tmp_path, write_power_pmu, {"energy-psys": "event=0x05"})
    availability = PerfMeter.probe(root, event_source=FakePerfEvents({}))
    assert not availability.available
    assert "does not count" in availability.reason
    assert "psys (perf event power/energy-psys/ on CPU 0) did not advance: 0 J" in availability.reason
    assert "without RAPL behind it" in availability.reason
    assert "meter='model'" in availability.fix
    with pytest.raises(MeterUnavailableError, match="energy-psys"):
        get_meter("perf", sysfs_root=root, event_source=FakePerfEvents({}))


def test_perf_counting_at_a_known_power_is_accepted(tmp_path, write_power_pmu):
    root = _perf_tree(tmp_path, write_power_pmu, {"energy-pkg": "event=0x02", "energy-psys": "event=0x05"})
    events = FakePerfEvents({PKG: 30.0, PSYS: 45.0})
    availability = PerfMeter.probe(root, event_source=events)
    assert availability.available, availability.reason
    seen = re.search(r"seen counting: package-0 (\d+(?:\.\d+)?) W", availability.reason)
    # 30 W, within the fake's int rounding and the gap between its clock and the meter's read times
    assert seen is not None and float(seen.group(1)) == pytest.approx(30.0, rel=0.2), availability.reason
    with get_meter("perf", sysfs_root=root, event_source=FakePerfEvents({PKG: 30.0})) as meter:
        assert meter.headline_domains == ("package-0",)
    assert events.closed, "the probe closes the events it opened"


def test_perf_counter_implying_kilowatts_is_refused(tmp_path, write_power_pmu):
    root = _perf_tree(tmp_path, write_power_pmu, {"energy-pkg": "event=0x02"})
    availability = PerfMeter.probe(root, event_source=FakePerfEvents({PKG: 5000.0}))
    assert not availability.available
    assert "above the 1000 W" in availability.reason


# ---------------------------------------------------------------------------------------------- powercap
def test_powercap_constant_energy_uj_is_refused_naming_the_file(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-1s")
    availability = PowercapMeter.probe(root=fake.root)
    assert not availability.available
    assert f"package-0 ({fake.root}/intel-rapl:0/energy_uj) did not advance: 0 J" in availability.reason
    with pytest.raises(MeterUnavailableError, match="does not count"):
        get_meter("powercap", root=fake.root)


def test_powercap_counting_in_real_time_is_accepted(memory_tmp_path):
    """The whole probe against a counter another process advances (the watts it shows depend on that
    process's timing, so only the verdict is asserted; the exact watts are checked with an injected clock)."""
    fake = build_fake_powercap(memory_tmp_path, "intel-1s")
    with PowerDriver(fake.zone("package-0").directory / "energy_uj", watts=25.0):
        availability = PowercapMeter.probe(root=fake.root)
    assert availability.available, availability.reason
    assert "seen counting: package-0 " in availability.reason


class _TimedLoad:
    """A load that really lasts its seconds (a sleep) and advances the fake counter at ``watts`` over the
    time it actually took, as a counter behind a working core would."""

    def __init__(self, fake, zone, watts):
        self.fake, self.zone, self.watts = fake, zone, watts

    def __call__(self, seconds):
        start = time.monotonic()
        time.sleep(seconds)
        self.fake.advance(self.zone, self.watts * (time.monotonic() - start))


def test_proof_reports_the_watts_the_counter_advanced_at(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-1s")
    with PowercapMeter(root=fake.root, background_sampling=False) as meter:
        proof = prove_counting(meter, load=_TimedLoad(fake, "package-0", watts=25.0))
    # the meter's span also holds the two reads around the load, so it is a little longer than 50 ms
    # (on a busy host the reads can wait for a core: loose bounds)
    assert 0.05 <= proof.seconds < 0.5
    assert proof.watts["package-0"] == pytest.approx(25.0, rel=0.3)
    assert re.search(r"seen counting: package-0 \d+(\.\d+)? W over \d+ ms of load", proof.describe())


def test_a_busy_load_at_milliwatts_is_refused(tmp_path):
    """0.1 W under a busy core: above the idle floor, but no package with a working core draws that little."""
    fake = build_fake_powercap(tmp_path, "intel-1s")
    with PowercapMeter(root=fake.root, background_sampling=False) as meter:
        with pytest.raises(MeterUnavailableError) as info:
            prove_counting(meter, load=_TimedLoad(fake, "package-0", watts=0.1))
    assert f"W, below the {BUSY_FLOOR_WATTS} W a busy CPU package draws" in str(info.value)


def test_the_proof_judges_power_on_the_meters_time_not_on_the_loads_claim(tmp_path):
    """A load that claims 50 ms at 900 W (plausible, were it judged on the load's claim) but returns at
    once: 45 J over the few milliseconds at most that the meter saw between its reads is kilowatts."""
    fake = build_fake_powercap(tmp_path, "intel-1s")

    def instant_load(seconds):
        fake.advance("package-0", 900.0 * seconds)

    with PowercapMeter(root=fake.root, background_sampling=False) as meter:
        with pytest.raises(MeterUnavailableError, match="above the 1000 W"):
            prove_counting(meter, load=instant_load)


def test_the_floor_of_a_window_depends_on_whether_a_core_worked(tmp_path):
    fake = build_fake_powercap(tmp_path, "intel-1s")
    with PowercapMeter(root=fake.root, background_sampling=False) as meter:
        milliwatts = {domain: 0.1 for domain in meter.domains}  # 0.1 J over 1 s on every domain
        assert window_problem(meter, "idle", 1.0, milliwatts) is None  # a deep-idle package: plausible
        work = window_problem(meter, "work", 1.0, milliwatts)
    assert work is not None and f"below the {BUSY_FLOOR_WATTS} W a busy CPU package draws" in work
    assert IDLE_FLOOR_WATTS < 0.1 < BUSY_FLOOR_WATTS


def test_a_protocol_window_at_milliwatts_under_load_stops_the_measurement(tmp_path, write_power_pmu):
    """The reviewer's case: a counter at 0.1 W whatever runs would be stored as "measured" with a 50 mW floor."""
    root = _perf_tree(tmp_path, write_power_pmu, {"energy-pkg": "event=0x02"})
    meter = PerfMeter(root, event_source=FakePerfEvents({PKG: 0.1}))
    with meter, pytest.raises(MeterError, match=r"window 1 of 3.*the work window.*below the 0.5 W a busy"):
        measure(lambda: sum(range(2000)), meter, windows=3, min_window_seconds=0.02)


class _NoHeadline(SimulatedMeter):
    """A meter whose readings include no headline domain (what a perf meter opened on energy-ram alone was)."""

    provenance = "measured"

    @property
    def headline_domains(self):
        return ()


def test_a_meter_without_a_headline_domain_never_proves_itself():
    with _NoHeadline() as meter:
        with pytest.raises(MeterUnavailableError, match="has no headline domain"):
            prove_counting(meter, load=lambda seconds: None)
        assert "has no headline domain" in window_problem(meter, "work", 1.0, {"package-0": 20.0})
        with pytest.raises(MeterError, match="window 1 of 2.*has no headline domain"):
            measure(lambda: None, meter, windows=2, min_window_seconds=0.01, warmup_calls=0)


def test_powercap_counter_implying_kilowatts_is_refused(memory_tmp_path):
    fake = build_fake_powercap(memory_tmp_path, "intel-1s")
    with PowerDriver(fake.zone("package-0").directory / "energy_uj", watts=20_000.0):
        availability = PowercapMeter.probe(root=fake.root)
    assert not availability.available
    assert "above the 1000 W no CPU package draws" in availability.reason


def test_powercap_counter_running_backwards_is_refused(tmp_path):
    """A step back is read as a wrap (almost a whole modulus): kilowatts over 50 ms, so refused."""
    fake = build_fake_powercap(tmp_path, "intel-1s")
    meter = PowercapMeter(root=fake.root, background_sampling=False)
    zone = "package-0"
    start = fake.energy_uj(zone)

    def load(seconds):
        fake.set_energy_uj(zone, start - 1_000_000)

    with meter, pytest.raises(MeterUnavailableError, match="above the 1000 W"):
        prove_counting(meter, load=load)


# --------------------------------------------------------------------------------------------------- msr
def test_msr_constant_register_is_refused(tmp_path):
    device = PoweredMsrDevice({0: {0x606: INTEL_UNIT_ESU14, INTEL_PKG_MSR: 1000}}, watts={}, joules_per_count=2.0**-14)
    with pytest.raises(MeterUnavailableError, match=r"package-0 \(MSR 0x611 on CPU 0\) did not advance"):
        get_meter("msr", device=device, cpus={0: 0}, cpuinfo_path=_cpuinfo(tmp_path), background_sampling=False)


def test_msr_counting_register_is_accepted(tmp_path):
    device = PoweredMsrDevice(
        {0: {0x606: INTEL_UNIT_ESU14, INTEL_PKG_MSR: 1000}}, watts={INTEL_PKG_MSR: 40.0}, joules_per_count=2.0**-14
    )
    availability = MsrMeter.probe(device=device, cpus={0: 0}, cpuinfo_path=_cpuinfo(tmp_path))
    assert availability.available, availability.reason
    seen = re.search(r"seen counting: package-0 (\d+(?:\.\d+)?) W", availability.reason)
    assert seen is not None and float(seen.group(1)) == pytest.approx(40.0, rel=0.2), availability.reason


# -------------------------------------------------------------------------------------------------- auto
def test_auto_skips_a_dead_counter_and_falls_back_to_the_estimate_loudly(tmp_path, write_power_pmu):
    root = _perf_tree(tmp_path / "perf", write_power_pmu, {"energy-psys": "event=0x05"})
    fake = build_fake_powercap(tmp_path / "pc", "intel-1s")
    with pytest.warns(EstimatedEnergyWarning) as record:
        meter = get_meter(
            "auto",
            order=("powercap", "perf"),
            powercap={"root": fake.root},
            perf={"sysfs_root": root, "event_source": FakePerfEvents({})},
        )
    meter.close()
    assert meter.provenance == "estimated"
    message = str([w for w in record if issubclass(w.category, EstimatedEnergyWarning)][0].message)
    assert "  - powercap: opens but does not count" in message
    assert "  - perf: opens but does not count" in message and "energy-psys" in message


def test_auto_takes_the_first_counter_that_counts(tmp_path, write_power_pmu):
    root = _perf_tree(tmp_path / "perf", write_power_pmu, {"energy-pkg": "event=0x02"})
    fake = build_fake_powercap(tmp_path / "pc", "intel-1s")  # dead: passed over
    with get_meter(
        "auto",
        order=("powercap", "perf"),
        powercap={"root": fake.root},
        perf={"sysfs_root": root, "event_source": FakePerfEvents({PKG: 20.0})},
    ) as meter:
        assert meter.name == "perf"


def test_auto_order_names_only_measured_backends():
    with pytest.raises(ValueError, match="only measured backends"):
        get_meter("auto", order=("model",))


# ------------------------------------------------------------------------------------ during a measurement
class _StallingPerfEvents(FakePerfEvents):
    """Counts at a known power until ``stall_after`` seconds, then freezes (a counter stalled mid-run)."""

    def __init__(self, watts, stall_after):
        super().__init__(watts)
        self.stall_at = self.clock() + stall_after

    def read(self, handle):
        config, opened = self._opened[handle]
        now = min(self.clock(), self.stall_at)
        return self.start_count + int(self.watts.get(config, 0.0) * max(0.0, now - opened) / 2.0**-32)


def test_a_counter_that_stalls_mid_run_stops_the_measurement(tmp_path, write_power_pmu):
    root = _perf_tree(tmp_path, write_power_pmu, {"energy-pkg": "event=0x02"})
    meter = get_meter("perf", sysfs_root=root, event_source=_StallingPerfEvents({PKG: 25.0}, stall_after=0.5))
    with meter, pytest.raises(MeterError) as info:
        measure(lambda: sum(range(2000)), meter, windows=20, min_window_seconds=0.05)
    message = str(info.value)
    assert "measurement stopped in window" in message and "did not advance: 0 J" in message
    assert "No figure was stored" in message


def test_a_window_implying_kilowatts_stops_the_measurement(tmp_path, write_power_pmu):
    root = _perf_tree(tmp_path, write_power_pmu, {"energy-pkg": "event=0x02"})
    meter = PerfMeter(root, event_source=FakePerfEvents({PKG: 2 * CEILING_WATTS}))
    with meter, pytest.raises(MeterError, match="window 1 of 3.*above the 1000 W"):
        measure(lambda: None, meter, windows=3, min_window_seconds=0.01)


def test_a_live_counter_measures_plausible_watts(tmp_path, write_power_pmu):
    root = _perf_tree(tmp_path, write_power_pmu, {"energy-pkg": "event=0x02"})
    with PerfMeter(root, event_source=FakePerfEvents({PKG: 12.0})) as meter:
        result = measure(lambda: sum(range(2000)), meter, windows=3, min_window_seconds=0.02)
    assert result.provenance == "measured"
    assert result.idle_watts == pytest.approx(12.0, rel=0.05)


# ------------------------------------------------------------------------------------------------ pyRAPL
PYRAPL_CHILD = r"""
import json, threading, time
from lstm_energy.meters import PyRaplMeter
from lstm_energy.meters.topology import first_cpu_of_each_package
from lstm_energy.testing import FakePowercap

# pyRAPL keeps energy_uj open and re-reads it, as sysfs allows: the fake is rewritten in place
fake = FakePowercap("/sys/class/powercap", "/sys/class/.fake-devices/virtual/powercap", write_mode="in_place")
sockets = list(first_cpu_of_each_package())
for socket in sockets:
    fake.add_zone("intel-rapl", (socket,), f"package-{socket}", initial_joules=5000.0 + socket)
    fake.add_zone("intel-rapl", (socket, 1), "dram", initial_joules=700.0 + socket)
dead = PyRaplMeter.probe()
stop = threading.Event()

def counting_at_20_watts():
    while not stop.wait(1e-3):
        for socket in sockets:
            fake.advance(f"package-{socket}", 20.0 * 1e-3)

thread = threading.Thread(target=counting_at_20_watts, daemon=True)
thread.start()
try:
    live = PyRaplMeter.probe()
finally:
    stop.set()
    thread.join()
print(json.dumps({"dead": dead.as_dict(), "live": live.as_dict()}))
"""


def test_pyrapl_dead_and_live_counters_at_its_hard_coded_path():
    """Real pyRAPL in a private mount namespace (tmpfs over /sys/class): constant energy_uj is refused."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare (util-linux) for a private mount namespace")
    script = f'mount -t tmpfs tmpfs /sys/class && exec {shlex.quote(sys.executable)} -c "$LSTM_ENERGY_CHILD"'
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), "LSTM_ENERGY_CHILD": PYRAPL_CHILD},
    )
    assert result.returncode == 0, result.stderr
    import json

    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert not out["dead"]["available"]
    assert "package-0 (pyRAPL package-0" in out["dead"]["reason"] and "did not advance" in out["dead"]["reason"]
    assert out["live"]["available"], out["live"]["reason"]
    assert "seen counting" in out["live"]["reason"]
