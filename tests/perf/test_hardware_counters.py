"""Hardware counters: sysfs decoding and recorded readings (simulated), and the real kernel call."""

import errno
from pathlib import Path

import pytest

from lstm_energy.perf import hardware_counters as hw

IMC_SCALE = "6.103515625e-5"  # MiB per CAS = 64 bytes


def write_imc_pmu(root: Path, name: str, pmu_type: int, cpumask: str = "0") -> None:
    pmu = root / name
    (pmu / "events").mkdir(parents=True)
    (pmu / "format").mkdir()
    (pmu / "type").write_text(f"{pmu_type}\n")
    (pmu / "cpumask").write_text(f"{cpumask}\n")
    (pmu / "format" / "event").write_text("config:0-7\n")
    (pmu / "format" / "umask").write_text("config:8-15\n")
    (pmu / "events" / "cas_count_read").write_text("event=0x04,umask=0x03\n")
    (pmu / "events" / "cas_count_write").write_text("event=0x04,umask=0x0c\n")
    for event in hw.IMC_EVENTS:
        (pmu / "events" / f"{event}.scale").write_text(f"{IMC_SCALE}\n")
        (pmu / "events" / f"{event}.unit").write_text("MiB\n")


@pytest.fixture
def fake_event_source(tmp_path):
    root = tmp_path / "event_source" / "devices"
    (root / "cpu").mkdir(parents=True)
    (root / "software").mkdir()
    write_imc_pmu(root, "uncore_imc_0", 13, cpumask="0,28")
    write_imc_pmu(root, "uncore_imc_1", 14, cpumask="0,28")
    return root


class RecordedPerfEvents:
    """Replays counter readings recorded on another machine; opens fail with a chosen errno."""

    provenance = "simulated"
    description = "recorded perf_event readings (test fake)"

    def __init__(self, readings, failures=None):
        self.readings = readings  # name -> RawReading
        self.failures = failures or {}  # name -> errno
        self.calls = []
        self._names = {}

    def open(self, spec):
        if spec.name in self.failures:
            raise OSError(self.failures[spec.name], "recorded failure")
        handle = len(self._names) + 100
        self._names[handle] = spec.name
        self.calls.append(("open", spec))
        return handle

    def enable(self, handle):
        self.calls.append(("enable", self._names[handle]))

    def disable(self, handle):
        self.calls.append(("disable", self._names[handle]))

    def read(self, handle):
        return self.readings[self._names[handle]]

    def close(self, handle):
        self.calls.append(("close", self._names[handle]))


def test_sysfs_imc_events_are_decoded(fake_event_source):
    specs, reason = hw.imc_cas_events(fake_event_source)
    assert reason == "4 CAS events in 2 IMC PMUs"
    by_name = {s.name: s for s in specs}
    read0 = by_name["uncore_imc_0/cas_count_read"]
    assert (read0.type, read0.config, read0.pid, read0.cpu) == (13, 0x0304, -1, 0)
    assert by_name["uncore_imc_1/cas_count_write"].config == 0x0C04
    assert read0.scale == pytest.approx(6.103515625e-5) and read0.unit == "MiB"


def test_encode_event_handles_split_fields_and_bare_terms():
    formats = {"event": "config:0-7,32-35", "umask": "config:8-15", "edge": "config:18"}
    assert hw.encode_event("event=0x1ff,umask=0x2,edge", formats) == 0xFF | (0x1 << 32) | (0x2 << 8) | (1 << 18)
    with pytest.raises(ValueError, match="has no format file"):
        hw.encode_event("inv=1", formats)


def test_one_cas_is_64_bytes():
    assert hw.counts_to_bytes(1, float(IMC_SCALE), "MiB") == pytest.approx(64.0)
    with pytest.raises(ValueError, match="unknown event unit"):
        hw.counts_to_bytes(1, 1.0, "furlongs")


def test_recorded_readings_give_rates_and_dram_bytes(fake_event_source):
    full = 1_000_000  # ns enabled; running half of it means the count was multiplexed 2x
    readings = {
        "instructions": hw.RawReading(3_000_000, full, full),
        "cycles": hw.RawReading(1_000_000, full, full),
        "llc_misses": hw.RawReading(1_500, full, full // 2),
        "uncore_imc_0/cas_count_read": hw.RawReading(1000, full, full),
        "uncore_imc_0/cas_count_write": hw.RawReading(500, full, full),
        "uncore_imc_1/cas_count_read": hw.RawReading(2000, full, full),
        "uncore_imc_1/cas_count_write": hw.RawReading(0, full, full),
    }
    backend = RecordedPerfEvents(readings)
    ran = []
    result = hw.count(ran.append, 1, backend=backend, root=fake_event_source)
    assert ran == [1]
    assert result.available and result.provenance == "simulated"
    assert result.source.startswith("simulated:") and "uncore_imc" in result.source
    assert result.counts["llc_misses"] == 3000  # extrapolated over multiplexing
    assert result.instructions_per_cycle == pytest.approx(3.0)
    assert result.llc_misses_per_kilo_instruction == pytest.approx(1.0)
    assert result.dram_bytes == pytest.approx(3500 * 64)
    assert result.dram_bytes_per_second == pytest.approx(3500 * 64 / result.seconds)
    assert [c for c in backend.calls if c[0] == "close"].__len__() == len(readings)


def test_partial_availability_keeps_the_reasons(fake_event_source):
    readings = {"instructions": hw.RawReading(10, 1, 1), "cycles": hw.RawReading(5, 1, 1)}
    failures = {"llc_misses": errno.EOPNOTSUPP}
    failures.update({f"uncore_imc_{i}/{e}": errno.EACCES for i in (0, 1) for e in hw.IMC_EVENTS})
    result = hw.count(lambda: None, backend=RecordedPerfEvents(readings, failures), root=fake_event_source)
    assert result.available
    assert result.instructions_per_cycle == 2.0
    assert result.dram_bytes is None
    assert "not support" in result.unavailable["llc_misses"]
    assert "perf_event_paranoid" in result.unavailable["uncore_imc_0/cas_count_read"]
    assert "CAP_PERFMON" in result.fixes["uncore_imc_0/cas_count_read"]


def test_missing_imc_pmu_is_named(tmp_path):
    root = tmp_path / "devices"
    (root / "software").mkdir(parents=True)
    specs, reason = hw.imc_cas_events(root)
    assert specs == []
    assert "no uncore_imc_* PMU" in reason and "software" in reason


def test_no_cpu_pmu_enoent_reason(tmp_path):
    root = tmp_path / "devices"
    (root / "msr").mkdir(parents=True)
    spec = hw.core_events()[0]
    reason, fix = hw.explain_errno(errno.ENOENT, spec, root)
    assert "ENOENT" in reason and "no hardware PMU is registered" in reason and "msr" in reason
    assert "pmu=on" in fix


def test_real_perf_event_open_hardware_counters_here():
    """The REAL kernel call: on machines without a hardware PMU it must come back as a clean answer."""
    result = hw.count(sum, range(10_000))
    assert result.provenance == "measured"
    has_cpu_pmu = Path(hw.EVENT_SOURCE_ROOT, "cpu").exists()
    if has_cpu_pmu and result.available:
        assert result.counts["instructions"] > 0
    else:
        assert not result.available
        assert result.counts == {}
        assert set(hw.CORE_EVENTS) <= set(result.unavailable)
        assert "perf_event_open(instructions" in result.unavailable["instructions"]
        assert "failed with E" in result.unavailable["instructions"]  # the errno name is spelled out
        assert result.fixes["instructions"]
    if not any(Path(hw.EVENT_SOURCE_ROOT).glob("uncore_imc*")):
        assert "no uncore_imc_* PMU" in result.unavailable["dram_bytes"]
    availability = {a.name: a for a in hw.probe()}
    assert set(availability) == {"hwcounters.core", "hwcounters.dram"}
    for answer in availability.values():
        assert answer.reason
        assert answer.available or answer.fix


def test_real_backend_reads_a_software_counter():
    """The ctypes struct, ioctl and read(2) path, checked against the kernel with task-clock."""
    backend = hw.LinuxPerfEvents()
    spec = hw.EventSpec("task_clock", type=1, config=1)  # PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK
    try:
        handle = backend.open(spec)
    except OSError as err:
        pytest.skip(f"perf_event_open blocked here for software events too: {err}")
    try:
        backend.enable(handle)
        sum(i * i for i in range(200_000))
        backend.disable(handle)
        reading = backend.read(handle)
    finally:
        backend.close(handle)
    assert reading.value > 100_000  # ns of task clock spent in the loop
    assert reading.time_enabled_ns >= reading.time_running_ns > 0
