"""Environment metadata: read from (fake) sysfs/procfs, None when absent, never guessed."""

import pytest

from lstm_energy.measure.environment import cpu_model, environment, governor, turbo

RECORD_KEYS = {
    "cpu_model",
    "cores",
    "kernel",
    "governor",
    "turbo",
    "blas",
    "blas_threads",
    "python",
    "versions",
    "hostname",
    "machine_id",
    "cpu",
    "isa",
    "lowp_paths",
}


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_values_come_from_sysfs_and_procfs(tmp_path):
    sysfs, proc = tmp_path / "sys", tmp_path / "proc"
    write(sysfs / "devices/system/cpu/cpu0/cpufreq/scaling_governor", "performance\n")
    write(sysfs / "devices/system/cpu/intel_pstate/no_turbo", "1\n")
    write(
        proc / "cpuinfo",
        "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nstepping\t: 7\n"
        "model name\t: Intel(R) Xeon(R) Gold 6230\nflags\t: fpu\n",
    )
    assert governor(sysfs) == "performance"
    assert turbo(sysfs) is False
    assert cpu_model(proc) == "Intel(R) Xeon(R) Gold 6230"
    env = environment(sysfs_root=sysfs, proc_root=proc, blas_threads=3)
    assert set(env) == RECORD_KEYS
    assert env["governor"] == "performance" and env["turbo"] is False and env["blas_threads"] == 3
    # the cpuid identity, whatever the meter: what the report tells machines apart by ("Xeon" is not enough)
    assert {k: env["cpu"][k] for k in ("vendor", "family", "model", "stepping")} == {
        "vendor": "intel",
        "family": 6,
        "model": 85,
        "stepping": 7,
    }
    assert env["cpu"]["microarchitecture"] and env["machine_id"]


@pytest.mark.parametrize("boost, expected", [("1\n", True), ("0\n", False)])
def test_acpi_boost_switch(tmp_path, boost, expected):
    write(tmp_path / "devices/system/cpu/cpufreq/boost", boost)
    assert turbo(tmp_path) is expected


def test_cpu_model_is_the_first_model_name_line_or_none(tmp_path):
    write(tmp_path / "cpuinfo", "processor\t: 0\nmodel name\t: First CPU\n\nprocessor\t: 1\nmodel name\t: Second\n")
    assert cpu_model(tmp_path) == "First CPU"
    write(tmp_path / "cpuinfo", "processor\t: 0\nCPU part\t: 0xd0c\n\nHardware\t: Arm board\n")
    assert cpu_model(tmp_path) is None  # recorded as the file says: no model name line, no guess


def test_absent_values_are_none(tmp_path):
    assert governor(tmp_path) is None and turbo(tmp_path) is None and cpu_model(tmp_path) is None


def test_blas_libraries_and_versions_are_recorded(tmp_path):
    env = environment(sysfs_root=tmp_path, proc_root=tmp_path)
    assert env["blas"], "threadpoolctl should see NumPy's/SciPy's BLAS"
    assert all("num_threads" in entry and "internal_api" in entry for entry in env["blas"])
    assert env["versions"]["numpy"] and env["versions"]["lstm_energy"]
    assert env["blas_threads"] == max(e["num_threads"] for e in env["blas"] if e["user_api"] == "blas")


@pytest.mark.parametrize(
    "isa, expected", [("baseline", {"int8": "scalar", "bf16": "scalar"}), ("avx2", {"int8": "avx2", "bf16": "avx2"})]
)
def test_reduced_precision_product_paths_follow_the_kernel_path(tmp_path, isa, expected):
    """A bf16 or int8 record names the product its joules came from (on a CPU without AVX512_BF16, bf16 is
    widened to float32: no bf16 arithmetic)."""
    kernels_isa = pytest.importorskip("lstm_energy.kernels.isa", reason="Cython kernels not built")
    if kernels_isa.missing_flag(isa) is not None:
        pytest.skip(f"kernel path {isa} needs CPU flag {kernels_isa.missing_flag(isa)!r}")
    with kernels_isa.use_isa(isa):
        env = environment(sysfs_root=tmp_path, proc_root=tmp_path)
    assert env["isa"] == isa and env["lowp_paths"] == expected


@pytest.mark.parametrize("amx", [False, True])
def test_a_reduced_precision_record_names_the_amx_tiles_when_they_ran(tmp_path, amx):
    kernels_isa = pytest.importorskip("lstm_energy.kernels.isa", reason="Cython kernels not built")
    lowp = pytest.importorskip("lstm_energy.kernels.lowp", reason="Cython kernels not built")
    flags = lowp.cpu_flags()
    needed = ("amx_bf16", "amx_int8") if amx else ("avx512_bf16", "avx512_vnni")
    missing = [flag for flag in needed if not flags[flag]]
    if kernels_isa.missing_flag("avx512") is not None or missing:
        pytest.skip(f"these product paths need CPU flags {needed}")
    with kernels_isa.use_isa("avx512"), lowp.use_amx(amx):
        env = environment(sysfs_root=tmp_path, proc_root=tmp_path)
    expected = {"bf16": "amx_bf16", "int8": "amx_int8"} if amx else {"bf16": "avx512_bf16", "int8": "vnni"}
    assert env["lowp_paths"] == expected


def test_the_machine_id_recorded_is_derived_not_the_confidential_file(tmp_path):
    """machine-id(5): the id is confidential; records and reports carry an application-specific HMAC of it."""
    from lstm_energy.machine.identity import machine_id

    secret = "3d1219c7c4c5404aaa1f6d2a48adfda4"
    (tmp_path / "machine-id").write_text(secret + "\n")
    ident, source = machine_id(paths=(tmp_path / "machine-id",))
    assert secret not in ident and len(ident) == 32 and int(ident, 16) >= 0
    assert machine_id(paths=(tmp_path / "machine-id",))[0] == ident  # stable: the same machine matches itself
    (tmp_path / "other").write_text("0" * 32 + "\n")
    assert machine_id(paths=(tmp_path / "other",))[0] != ident
    assert "not stored" in source
