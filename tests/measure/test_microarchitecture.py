"""CPU microarchitecture identification from fake /proc/cpuinfo texts: cpuid first, model name next,
else unknown, and every answer says which evidence it used."""

import pytest

from lstm_energy.meters.ccf_coefficients import load_table
from lstm_energy.meters.microarchitecture import CPUID_TABLE, CpuId, identify, identify_cpu, read_cpu_id, read_cpuinfo
from lstm_energy.meters.msr import read_cpuinfo as msr_read_cpuinfo


def cpuinfo_text(vendor, family, model, name, stepping=None, processors=2):
    block = [f"vendor_id\t: {vendor}", f"cpu family\t: {family}", f"model\t\t: {model}", f"model name\t: {name}"]
    if stepping is not None:
        block.append(f"stepping\t: {stepping}")
    return "".join(f"processor\t: {i}\n" + "\n".join(block) + "\n\n" for i in range(processors))


@pytest.fixture
def cpuinfo(tmp_path):
    def write(*args, **kwargs):
        path = tmp_path / "cpuinfo"
        path.write_text(cpuinfo_text(*args, **kwargs))
        return path

    return write


@pytest.mark.parametrize(
    "vendor, family, model, stepping, name, row, said",
    [
        (
            "GenuineIntel",
            6,
            207,
            2,
            "Intel(R) Xeon(R) Processor",
            "Emerald Rapids",
            "identified from cpuid family 6 model 207 stepping 2: Emerald Rapids",
        ),
        (
            "AuthenticAMD",
            25,
            1,
            1,
            "AMD EPYC",
            "EPYC 3rd Gen",
            "cpuid family 25 model 1 stepping 1: Zen 3 (EPYC Milan)",
        ),
        ("AuthenticAMD", 25, 17, 1, "AMD EPYC", "EPYC 4th Gen", "cpuid family 25 model 17"),
        ("AuthenticAMD", 25, 160, 2, "AMD EPYC 9754 128-Core Processor", "EPYC 4th Gen", "Bergamo"),
        ("AuthenticAMD", 23, 49, 0, "AMD EPYC 7R32", "EPYC 2nd Gen", "Zen 2"),
        ("AuthenticAMD", 23, 1, 2, "AMD EPYC 7601 32-Core Processor", "EPYC 1st Gen", "Zen 1"),
        ("AuthenticAMD", 26, 2, 1, "AMD EPYC 9R45", "EPYC 5th Gen", "Zen 5"),
        ("GenuineIntel", 6, 85, 4, "Intel(R) Xeon(R) Platinum 8175M CPU", "Skylake", "Skylake-SP"),
        ("GenuineIntel", 6, 85, 7, "Intel(R) Xeon(R) Platinum 8259CL CPU", "Cascade Lake", "Cascade Lake"),
        ("GenuineIntel", 6, 85, 11, "Intel(R) Xeon(R) Platinum 8380H", "Cascade Lake", "Cooper Lake"),
        ("GenuineIntel", 6, 106, 6, "Intel(R) Xeon(R) Platinum 8375C CPU", "Ice Lake", "Ice Lake"),
        ("GenuineIntel", 6, 108, 1, "Intel(R) Xeon(R) D-2798NT", "Ice Lake", "Ice Lake"),
        ("GenuineIntel", 6, 143, 8, "Intel(R) Xeon(R) Platinum 8488C", "Sapphire Rapids", "Sapphire Rapids"),
        ("GenuineIntel", 6, 173, 1, "Intel(R) Xeon(R) 6975P-C", "Granite Rapids", "Granite Rapids"),
        ("GenuineIntel", 6, 158, 10, "Intel(R) Core(TM) i7-8700 CPU", "Coffee Lake", "Coffee Lake"),
    ],
)
def test_cpuid_identifies_the_row_and_says_so(cpuinfo, vendor, family, model, stepping, name, row, said):
    found = identify_cpu(cpuinfo(vendor, family, model, name, stepping))
    assert found.row == row and found.method == "cpuid"
    assert said in found.identified_by and found.identified_by.startswith("identified from cpuid")


@pytest.mark.parametrize(
    "vendor, family, model, name, row",
    [
        ("GenuineIntel", 6, 999, "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "Ice Lake"),
        ("GenuineIntel", 6, 999, "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", "Cascade Lake"),
        ("GenuineIntel", 6, 999, "Intel(R) Xeon(R) Gold 6448Y", "Sapphire Rapids"),
        ("GenuineIntel", 6, 999, "Intel(R) Xeon(R) Platinum 8580", "Emerald Rapids"),
        ("GenuineIntel", 6, 999, "Intel Xeon Processor (Cascadelake)", "Cascade Lake"),
        ("AuthenticAMD", 99, 1, "AMD EPYC 7R13 Processor", "EPYC 3rd Gen"),
        ("AuthenticAMD", 99, 1, "AMD EPYC-Rome Processor", "EPYC 2nd Gen"),
        ("AuthenticAMD", 99, 1, "AMD EPYC 9654 96-Core Processor", "EPYC 4th Gen"),
    ],
)
def test_model_name_is_the_fallback_and_says_so(cpuinfo, vendor, family, model, name, row):
    found = identify_cpu(cpuinfo(vendor, family, model, name))
    assert found.row == row and found.method == "model name"
    assert found.identified_by.startswith(f"identified from model name {name!r}")


def test_unknown_cpu_says_it_is_unknown(cpuinfo):
    found = identify_cpu(cpuinfo("GenuineIntel", 6, 999, "Intel(R) Mystery CPU"))
    assert found.row is None and found.method == "unknown"
    assert found.identified_by.startswith("unknown CPU:")
    assert "family 6 model 999 not in the table" in found.identified_by
    assert "'Intel(R) Mystery CPU' not recognised" in found.identified_by


def test_a_known_microarchitecture_without_a_row_says_so():
    found = identify(CpuId("amd", 0x1A, 0x50, 0, "AMD Eng Sample"))
    assert found.row is None and found.microarchitecture == "Zen 6"
    assert "Zen 6, which has no coefficient row" in found.identified_by


def test_missing_cpuinfo_is_unknown_not_an_error(tmp_path):
    found = identify_cpu(tmp_path / "absent")
    assert found.row is None and found.cpu.family is None and found.cpu.model_name == ""
    assert found.identified_by.startswith("unknown CPU:")


def test_read_cpu_id_takes_the_first_processor(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(
        cpuinfo_text("GenuineIntel", 6, 143, "Intel(R) Xeon(R) Platinum 8488C", 8)
        + cpuinfo_text("AuthenticAMD", 25, 1, "AMD EPYC", 1)
    )
    assert read_cpu_id(path) == CpuId("intel", 6, 143, 8, "Intel(R) Xeon(R) Platinum 8488C")
    assert read_cpuinfo(path) == ("intel", 6, 143)


def test_msr_uses_the_same_parser():
    assert msr_read_cpuinfo is read_cpuinfo


def test_one_cpuinfo_path_and_parser_for_the_package():
    """meters, measure and machine read cpuinfo the same way: machine.info's CPUINFO and cpuinfo_fields."""
    from lstm_energy.machine import info
    from lstm_energy.meters import microarchitecture, model, msr

    assert microarchitecture.CPUINFO is info.CPUINFO and model.CPUINFO is info.CPUINFO
    assert microarchitecture.cpuinfo_fields is info.cpuinfo_fields
    assert msr.MsrMeter.__init__.__kwdefaults__["cpuinfo_path"] is info.CPUINFO


#: an Arm guest's layout: per-processor blocks without vendor_id/family, "Hardware" once after the last
ARM_CPUINFO = (
    "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n\n"
    "processor\t: 1\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n\n"
    "Hardware\t: Example Neoverse board\nRevision\t: 0000\n"
)


def test_keys_after_the_first_processor_block_are_read(tmp_path):
    """The old first-block parser stopped at the first blank line and never saw Arm's Hardware line."""
    from lstm_energy.machine.info import cpuinfo_fields
    from lstm_energy.meters.microarchitecture import read_cpuinfo

    path = tmp_path / "cpuinfo"
    path.write_text(ARM_CPUINFO + "vendor_id\t: ARM\n")
    assert cpuinfo_fields(path)["Hardware"] == "Example Neoverse board"
    assert read_cpuinfo(path) == ("ARM", None, None)  # the trailing vendor line is seen, like Hardware
    found = identify_cpu(path)
    assert found.row is None and found.cpu.model_name == "Example Neoverse board"


def test_every_row_in_the_tables_exists_in_the_shipped_data():
    from lstm_energy.meters.microarchitecture import NAME_PATTERNS

    rows = load_table().rows
    assert {e.row for e in CPUID_TABLE if e.row} <= set(rows)
    assert {row for _, row in NAME_PATTERNS} <= set(rows)
