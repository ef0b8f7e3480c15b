"""The shared perf_event_open wrapper (REAL syscall, software PMU) and the sysfs PMU reader (fake trees)."""

import errno
import os

import pytest

from lstm_energy.perf import syscall, sysfs

PERF_TYPE_SOFTWARE = 1  # config 0 = cpu-clock (ns), present on every Linux kernel with perf events


def _open_thread_clock():
    try:
        return syscall.perf_event_open(
            PERF_TYPE_SOFTWARE,
            0,
            -1,
            pid=0,
            read_format=syscall.PERF_FORMAT_TOTAL_TIME_ENABLED | syscall.PERF_FORMAT_TOTAL_TIME_RUNNING,
            flags=syscall.FLAG_DISABLED | syscall.FLAG_EXCLUDE_KERNEL | syscall.FLAG_EXCLUDE_HV,
        )
    except syscall.PerfOpenError as err:
        pytest.skip(f"perf_event_open blocked here even for a software event: {err}")


def test_disabled_event_counts_only_between_enable_and_disable():
    fd = _open_thread_clock()
    try:
        before, enabled_before, _ = syscall.read_count_and_times(fd)
        assert before == 0 and enabled_before == 0  # opened disabled: nothing counted yet
        syscall.reset_and_enable(fd)
        sum(range(200_000))
        syscall.disable(fd)
        value, enabled, running = syscall.read_count_and_times(fd)
        assert value > 0 and enabled > 0 and 0 < running <= enabled
        assert syscall.read_count_and_times(fd)[0] == value  # disabled: the count stays put
    finally:
        os.close(fd)


def test_unknown_machine_is_enosys_with_the_known_list():
    with pytest.raises(syscall.PerfOpenError) as info:
        syscall.perf_event_open(PERF_TYPE_SOFTWARE, 0, 0, machine="sparc64")
    assert info.value.errno == errno.ENOSYS
    assert "'sparc64'" in str(info.value) and "x86_64" in str(info.value)


def test_attr_struct_is_the_ver8_size():
    assert syscall.ctypes.sizeof(syscall.PerfEventAttr) == 136


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

    assert sysfs.read_pmu_type(pmu) == 13
    formats = sysfs.read_pmu_formats(pmu)
    assert formats == {"event": "config:0-7", "umask": "config:8-15"}
    assert sysfs.list_event_names(pmu) == ["cas_count_read", "clockticks"]
    cas = sysfs.read_event(pmu, "cas_count_read")
    assert (cas.description, cas.scale, cas.unit) == ("event=0x04,umask=0x03", 6.103515625e-5, "MiB")
    assert sysfs.encode_event(cas.description, formats) == 0x0304
    ticks = sysfs.read_event(pmu, "clockticks")
    assert ticks.scale is None and ticks.unit is None
    with pytest.raises(OSError):
        sysfs.read_event(pmu, "cas_count_write")


def test_garbage_type_and_scale_are_value_errors(tmp_path):
    (tmp_path / "events").mkdir()
    (tmp_path / "type").write_text("power\n")
    (tmp_path / "events" / "energy-pkg").write_text("event=0x02\n")
    (tmp_path / "events" / "energy-pkg.scale").write_text("lots\n")
    with pytest.raises(ValueError):
        sysfs.read_pmu_type(tmp_path)
    with pytest.raises(ValueError):
        sysfs.read_event(tmp_path, "energy-pkg")


def test_event_source_root_and_pmu_list(tmp_path):
    root = sysfs.event_source_root(tmp_path)
    assert root == os.path.join(tmp_path, "bus", "event_source", "devices")
    assert sysfs.list_pmus(root) == []
    os.makedirs(os.path.join(root, "software"))
    os.makedirs(os.path.join(root, "cpu"))
    assert sysfs.list_pmus(root) == ["cpu", "software"]
