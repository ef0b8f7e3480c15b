"""The shared perf_event_open wrapper (REAL syscall, software PMU) and the sysfs PMU reader (fake trees)."""
import errno
import os

import pytest

from lstm_energy import perf_event, pmu_sysfs

PERF_TYPE_SOFTWARE = 1  # config 0 = cpu-clock (ns), present on every Linux kernel with perf events


def _open_thread_clock():
    try:
        return perf_event.perf_event_open(
            PERF_TYPE_SOFTWARE, 0, -1, pid=0,
            read_format=perf_event.PERF_FORMAT_TOTAL_TIME_ENABLED | perf_event.PERF_FORMAT_TOTAL_TIME_RUNNING,
            flags=perf_event.FLAG_DISABLED | perf_event.FLAG_EXCLUDE_KERNEL | perf_event.FLAG_EXCLUDE_HV,
        )
    except perf_event.PerfOpenError as err:
        pytest.skip(f"perf_event_open blocked here even for a software event: {err}")


def test_disabled_event_counts_only_between_enable_and_disable():
    fd = _open_thread_clock()
    try:
        before, enabled_before, _ = perf_event.read_count_and_times(fd)
        assert before == 0 and enabled_before == 0  # opened disabled: nothing counted yet
        perf_event.reset_and_enable(fd)
        sum(range(200_000))
        perf_event.disable(fd)
        value, enabled, running = perf_event.read_count_and_times(fd)
        assert value > 0 and enabled > 0 and 0 < running <= enabled
        assert perf_event.read_count_and_times(fd)[0] == value  # disabled: the count stays put
    finally:
        os.close(fd)


def test_unknown_machine_is_enosys_with_the_known_list():
    with pytest.raises(perf_event.PerfOpenError) as info:
        perf_event.perf_event_open(PERF_TYPE_SOFTWARE, 0, 0, machine="sparc64")
    assert info.value.errno == errno.ENOSYS
    assert "'sparc64'" in str(info.value) and "x86_64" in str(info.value)


def test_attr_struct_is_the_ver8_size():
    assert perf_event.ctypes.sizeof(perf_event.PerfEventAttr) == 136


def test_meters_perf_event_is_the_same_wrapper():
    from lstm_energy.meters import perf_event as old_name

    assert old_name.perf_event_open is perf_event.perf_event_open and old_name.PerfOpenError is perf_event.PerfOpenError


def test_read_event_with_and_without_scale_and_unit(tmp_path):
    pmu = tmp_path / "uncore_imc_0"
    (pmu / "events").mkdir(parents=True)
    (pmu / "format").mkdir()
    (pmu / "type").write_text("13\n")
    (pmu / "format" / "event").write_text("config:0-7\n")
    (pmu / "format" / "umask").write_text("config:8-15\n")
    (pmu / "events" / "cas_count_read").write_text("event=0x04,umask=0x03\n")
    (pmu / "events" / "cas_count_read.scale").write_text("6.103515625e-5\n")
    (pmu / "events" / "cas_count_read.unit").write_text("MiB\n")
    (pmu / "events" / "clockticks").write_text("event=0x00,umask=0x00\n")

    assert pmu_sysfs.read_pmu_type(pmu) == 13
    formats = pmu_sysfs.read_pmu_formats(pmu)
    assert formats == {"event": "config:0-7", "umask": "config:8-15"}
    assert pmu_sysfs.list_event_names(pmu) == ["cas_count_read", "clockticks"]
    cas = pmu_sysfs.read_event(pmu, "cas_count_read")
    assert (cas.description, cas.scale, cas.unit) == ("event=0x04,umask=0x03", 6.103515625e-5, "MiB")
    assert pmu_sysfs.encode_event(cas.description, formats) == 0x0304
    ticks = pmu_sysfs.read_event(pmu, "clockticks")
    assert ticks.scale is None and ticks.unit is None
    with pytest.raises(OSError):
        pmu_sysfs.read_event(pmu, "cas_count_write")


def test_garbage_type_and_scale_are_value_errors(tmp_path):
    (tmp_path / "events").mkdir()
    (tmp_path / "type").write_text("power\n")
    (tmp_path / "events" / "energy-pkg").write_text("event=0x02\n")
    (tmp_path / "events" / "energy-pkg.scale").write_text("lots\n")
    with pytest.raises(ValueError):
        pmu_sysfs.read_pmu_type(tmp_path)
    with pytest.raises(ValueError):
        pmu_sysfs.read_event(tmp_path, "energy-pkg")


def test_event_source_root_and_pmu_list(tmp_path):
    root = pmu_sysfs.event_source_root(tmp_path)
    assert root == os.path.join(tmp_path, "bus", "event_source", "devices")
    assert pmu_sysfs.list_pmus(root) == []
    os.makedirs(os.path.join(root, "software"))
    os.makedirs(os.path.join(root, "cpu"))
    assert pmu_sysfs.list_pmus(root) == ["cpu", "software"]
