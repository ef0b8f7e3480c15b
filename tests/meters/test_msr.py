"""MsrMeter decoding from fake register files: Intel and AMD, different ESU values, masking, wraps, quirks."""

import os

import pytest

from lstm_energy.errors import ConfigError, MeterUnavailableError
from lstm_energy.meters import MsrMeter
from lstm_energy.meters.msr import energy_unit_joules
from lstm_energy.meters.msr_device import MappingMsrDevice

INTEL_UNIT_ESU14 = 0x000A0E03  # PU 3, ESU 14 (61 µJ), TU 10: a common server value
INTEL_UNIT_ESU16 = 0x000A1003  # ESU 16 (15.3 µJ): the SDM default
AMD_UNIT_ESU16 = 0x000A1003
GARBAGE_HIGH = 0xDEAD_BEEF << 32  # bits 63:32 are reserved: must be masked off


@pytest.fixture
def cpuinfo(tmp_path):
    def write(vendor="GenuineIntel", family=6, model=0x9E):
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: {model}\n\n")
        return str(path)

    return write


@pytest.mark.parametrize(
    "register, joules", [(INTEL_UNIT_ESU14, 2.0**-14), (INTEL_UNIT_ESU16, 2.0**-16), (0x1F00, 2.0**-31)]
)
def test_energy_unit_is_bits_12_to_8(register, joules):
    assert energy_unit_joules(register) == joules


def test_intel_registers_decode_per_domain(tmp_path, write_msr, cpuinfo):
    dev = tmp_path / "dev"
    write_msr(dev, 0, {0x606: INTEL_UNIT_ESU14, 0x611: GARBAGE_HIGH | 1000, 0x619: 500, 0x639: 200, 0x64D: 300})
    with MsrMeter(str(dev), cpus={0: 0}, cpuinfo_path=cpuinfo(), background_sampling=False) as meter:
        assert meter.vendor == "intel"
        assert set(meter.domains) == {"package-0", "package-0/dram", "package-0/core", "psys"}  # 0x641 reads 0: absent
        assert meter.headline_domains == ("package-0",)
        s0 = meter.read()
        write_msr(dev, 0, {0x611: GARBAGE_HIGH | 1000 + 16384, 0x619: 500 + 8192, 0x639: 200 + 1, 0x64D: 300 + 32768})
        d = meter.read() - s0
        assert meter.describe()["domains"]["package-0"]["msr"] == "0x611"
    assert d.joules["package-0"] == 1.0  # 16384 counts x 2**-14 J
    assert d.joules["package-0/dram"] == 0.5
    assert d.joules["package-0/core"] == 2.0**-14
    assert d.joules["psys"] == 2.0


def test_amd_registers_with_esu_16(cpuinfo):
    """AMD's unit/core/package MSRs are adjacent (0xC0010299..9B), so they cannot share a byte-addressed
    sparse file: the registers are injected through the MsrDevice interface instead."""
    device = MappingMsrDevice({0: {0xC0010299: AMD_UNIT_ESU16, 0xC001029B: GARBAGE_HIGH | 70000, 0xC001029A: 100}})
    with MsrMeter(
        device=device, cpus={0: 0}, cpuinfo_path=cpuinfo("AuthenticAMD", 25, 1), background_sampling=False
    ) as meter:
        assert meter.vendor == "amd"
        assert set(meter.domains) == {"package-0", "package-0/core"}
        s0 = meter.read()
        device.registers[0][0xC001029B] = 70000 + 65536 * 3
        device.registers[0][0xC001029A] = 100 + 65536
        d = meter.read() - s0
        assert "one core" in meter.describe()["notes"]
    assert d.joules["package-0"] == 3.0
    assert d.joules["package-0/core"] == 1.0


def test_amd_with_esu_14_and_a_wrap(cpuinfo):
    device = MappingMsrDevice({0: {0xC0010299: INTEL_UNIT_ESU14, 0xC001029B: 2**32 - 100}})
    with MsrMeter(
        device=device, cpus={0: 0}, vendor="amd", cpuinfo_path=cpuinfo("AuthenticAMD", 23, 1), background_sampling=False
    ) as meter:
        s0 = meter.read()
        device.registers[0][0xC001029B] = 16284  # 100 counts to the wrap + 16284 after it = 2**14 counts
        d = meter.read() - s0
    assert d.joules["package-0"] == 1.0


def test_hygon_reads_as_amd(cpuinfo):
    device = MappingMsrDevice({0: {0xC0010299: AMD_UNIT_ESU16, 0xC001029B: 5}})
    with MsrMeter(
        device=device, cpus={0: 0}, cpuinfo_path=cpuinfo("HygonGenuine", 24, 0), background_sampling=False
    ) as m:
        assert m.vendor == "amd"


def test_two_packages_each_with_its_own_unit(tmp_path, write_msr, cpuinfo):
    dev = tmp_path / "dev"
    write_msr(dev, 0, {0x606: INTEL_UNIT_ESU14, 0x611: 10, 0x64D: 7})
    write_msr(dev, 4, {0x606: INTEL_UNIT_ESU16, 0x611: 10, 0x64D: 7})
    with MsrMeter(str(dev), cpus={0: 0, 1: 4}, cpuinfo_path=cpuinfo(), background_sampling=False) as meter:
        assert set(meter.domains) == {"package-0", "package-1", "psys"}  # psys is platform-wide: read once
        assert meter.headline_domains == ("package-0", "package-1")
        s0 = meter.read()
        write_msr(dev, 0, {0x611: 10 + 2**14})
        write_msr(dev, 4, {0x611: 10 + 2**14})
        d = meter.read() - s0
    assert d.joules["package-0"] == 1.0
    assert d.joules["package-1"] == 0.25


def test_32_bit_wrap_is_corrected(tmp_path, write_msr, cpuinfo):
    dev = tmp_path / "dev"
    write_msr(dev, 0, {0x606: INTEL_UNIT_ESU16, 0x611: 2**32 - 10})
    with MsrMeter(str(dev), cpus={0: 0}, cpuinfo_path=cpuinfo(), background_sampling=False) as meter:
        s0 = meter.read()
        write_msr(dev, 0, {0x611: GARBAGE_HIGH | 20})
        d = meter.read() - s0
        assert meter.describe()["wraparound"]["wraps"]["package-0"] == 1
    assert d.joules["package-0"] == 30 * 2.0**-16


def test_server_dram_unit_quirk(tmp_path, write_msr, cpuinfo):
    """Skylake-X (family 6, model 0x55): DRAM counts in 2**-16 J whatever ESU says (rapl.c unit quirk)."""
    dev = tmp_path / "dev"
    write_msr(dev, 0, {0x606: INTEL_UNIT_ESU14, 0x611: 1, 0x619: 1})
    with MsrMeter(str(dev), cpus={0: 0}, cpuinfo_path=cpuinfo(model=0x55), background_sampling=False) as meter:
        assert meter.units["package-0/dram"] == 2.0**-16
        assert meter.units["package-0"] == 2.0**-14
    with MsrMeter(str(dev), cpus={0: 0}, cpuinfo_path=cpuinfo(model=0x9E), background_sampling=False) as meter:
        assert meter.units["package-0/dram"] == 2.0**-14  # a client part: no quirk


@pytest.mark.parametrize("model", [0x8F, 0xCF], ids=["sapphire-rapids", "emerald-rapids"])
def test_sapphire_and_emerald_rapids_dram_counts_in_esu_units_and_psys_in_joules(cpuinfo, model):
    """Since Linux 80275ca9e525 SPR/EMR DRAM uses the ESU of MSR_RAPL_POWER_UNIT; only psys has a fixed 1 J unit."""
    device = MappingMsrDevice({0: {0x606: INTEL_UNIT_ESU14, 0x611: 1000, 0x619: 1000, 0x64D: 7}})
    with MsrMeter(device=device, cpus={0: 0}, cpuinfo_path=cpuinfo(model=model), background_sampling=False) as meter:
        assert meter.units == {"package-0": 2.0**-14, "package-0/dram": 2.0**-14, "psys": 1.0}
        s0 = meter.read()
        registers = device.registers[0]
        registers[0x611] += 10 * 2**14  # 10 J in ESU-14 counts
        registers[0x619] += 10 * 2**14
        registers[0x64D] += 10  # 10 J in 1 J counts
        d = meter.read() - s0
    assert d.joules == {"package-0": 10.0, "package-0/dram": 10.0, "psys": 10.0}


def test_a_failed_constructor_closes_the_msr_devices_it_opened(tmp_path, write_msr, cpuinfo):
    """A bad setting found after the devices are open (here max_power_watts=0) must not leak their fds."""
    dev = tmp_path / "dev"
    write_msr(dev, 0, {0x606: INTEL_UNIT_ESU14, 0x611: 1000})
    write_msr(dev, 1, {0x606: INTEL_UNIT_ESU14, 0x611: 1000})
    before = _open_fds()
    with pytest.raises(ConfigError, match="max_power_watts must be > 0, got 0") as info:
        MsrMeter(str(dev), cpus={0: 0, 1: 1}, cpuinfo_path=cpuinfo(), max_power_watts=0)
    # the traceback in ``info`` keeps the half-built meter alive: its fds are closed, not merely collectable
    assert info.traceback is not None
    assert _open_fds() == before


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_unit_overrides_win(tmp_path, write_msr, cpuinfo):
    dev = tmp_path / "dev"
    write_msr(dev, 0, {0x606: INTEL_UNIT_ESU14, 0x611: 1})
    with MsrMeter(
        str(dev), cpus={0: 0}, cpuinfo_path=cpuinfo(), unit_overrides={"package": 32e-6}, background_sampling=False
    ) as meter:
        assert meter.units["package-0"] == 32e-6


def test_missing_msr_device_says_load_the_driver(tmp_path, cpuinfo):
    (tmp_path / "dev" / "0").mkdir(parents=True)
    with pytest.raises(
        MeterUnavailableError, match=r"0/msr does not exist: the msr driver is not loaded.*modprobe msr"
    ):
        MsrMeter(str(tmp_path / "dev"), cpus={0: 0}, cpuinfo_path=cpuinfo())


def test_no_package_counter_is_unavailable(tmp_path, write_msr, cpuinfo):
    dev = tmp_path / "dev"
    write_msr(dev, 0, {0x606: INTEL_UNIT_ESU14})  # every energy register reads 0 (a VM)
    with pytest.raises(MeterUnavailableError, match="no package energy register"):
        MsrMeter(str(dev), cpus={0: 0}, cpuinfo_path=cpuinfo())


def test_unknown_vendor_is_unavailable(tmp_path, cpuinfo):
    with pytest.raises(MeterUnavailableError, match="vendor is 'CentaurHauls'"):
        MsrMeter(str(tmp_path), cpus={0: 0}, cpuinfo_path=cpuinfo("CentaurHauls"))


def test_this_machine(tmp_path):
    if os.path.exists("/dev/cpu/0/msr"):
        pytest.skip("this machine has /dev/cpu/0/msr; the missing-driver path is covered with a fake root")
    availability = MsrMeter.probe()
    assert not availability.available
    assert "/dev/cpu/0/msr does not exist" in availability.reason and "modprobe msr" in availability.fix


def test_several_wraps_in_one_window_with_the_sampler_thread(cpuinfo):
    device = MappingMsrDevice({0: {0x606: INTEL_UNIT_ESU16, 0x611: 123}})
    with MsrMeter(device=device, cpus={0: 0}, cpuinfo_path=cpuinfo(), sampler_period_seconds=0.002) as meter:
        sampler = meter.sampler
        s0 = meter.read()
        raw_total = 123
        for _ in range(16):  # 16 x 0.3 of the 2**32 range = 4.8 ranges in one window
            raw_total += int(0.3 * 2**32)
            device.registers[0][0x611] = raw_total % 2**32
            assert sampler.wait_for_samples(sampler.samples_taken + 2, timeout=10), "sampler stalled"
        d = meter.read() - s0
        assert meter.describe()["wraparound"]["wraps"]["package-0"] == 4
    assert d.joules["package-0"] == (raw_total - 123) * 2.0**-16
