"""Environment metadata recorded with every measurement: CPU, kernel, frequency policy, BLAS, versions.

Every field is read, never guessed: a value the machine does not expose (no cpufreq directory in a
VM, no turbo switch) is ``None`` in the record. ``sysfs_root`` and ``proc_root`` are injectable so
tests can point them at a fake tree.
"""

from __future__ import annotations

import os
import platform
import socket
from importlib import metadata
from pathlib import Path

from lstm_energy.machine.identity import environment_cpu, machine_id

# Packages whose versions go into every record; a missing one is recorded as None.
VERSIONED_PACKAGES = ("lstm_energy", "numpy", "scipy", "torch")


def _read_text(path: Path) -> str | None:
    """Stripped contents of a small sysfs/procfs file, or None when absent or unreadable."""
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cpu_model(proc_root: str | os.PathLike = "/proc") -> str | None:
    """The first ``model name`` line of ``proc_root``/cpuinfo, read by lstm_energy.machine.info's parser
    (None when absent, e.g. on some ARM kernels: this block records what the file says, never a guess)."""
    from lstm_energy.machine.info import cpuinfo_fields

    return cpuinfo_fields(Path(proc_root) / "cpuinfo").get("model name")


def governor(sysfs_root: str | os.PathLike = "/sys") -> str | None:
    """cpufreq scaling governor of cpu0 (e.g. "performance", "powersave"), None without cpufreq."""
    return _read_text(Path(sysfs_root) / "devices/system/cpu/cpu0/cpufreq/scaling_governor")


def turbo(sysfs_root: str | os.PathLike = "/sys") -> bool | None:
    """Whether boost/turbo is enabled, None when the machine exposes no switch.

    intel_pstate: ``intel_pstate/no_turbo`` (1 = turbo off). acpi-cpufreq / amd-pstate:
    ``cpufreq/boost`` (1 = boost on).
    """
    cpu = Path(sysfs_root) / "devices/system/cpu"
    no_turbo = _read_text(cpu / "intel_pstate/no_turbo")
    if no_turbo in ("0", "1"):
        return no_turbo == "0"
    boost = _read_text(cpu / "cpufreq/boost")
    if boost in ("0", "1"):
        return boost == "1"
    return None


def blas_libraries() -> list[dict]:
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries (OpenBLAS reports its core type as
    ``architecture``, e.g. "Haswell", "SkylakeX"). Imports NumPy and SciPy's BLAS first so they are loaded."""
    import numpy  # noqa: F401 - loads NumPy's BLAS
    import scipy.linalg  # noqa: F401 - loads SciPy's BLAS (the one the Cython kernels call)
    from threadpoolctl import threadpool_info

    return [dict(entry) for entry in threadpool_info()]


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages in VERSIONED_PACKAGES, without importing them."""
    versions: dict[str, str | None] = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def kernel_isa() -> str | None:
    """The instruction-set path the Cython kernels take now ("baseline", "avx2" or "avx512", chosen
    by LSTM_ENERGY_ISA or the CPU); None when the kernels are not built."""
    try:
        from lstm_energy.kernels import isa
    except ImportError:
        return None
    return isa.current()


def reduced_precision_paths() -> dict[str, str] | None:
    """The product path each reduced precision's forward takes now (``lstm_energy.kernels.lowp.product_path``):
    int8 "scalar" | "avx2" | "vnni" | "amx_int8"; bf16 "scalar" | "avx2" (widened to float32: no bf16
    arithmetic) | "avx512_bf16" | "amx_bf16" (AMX tiles). What a bf16 or int8 figure measured: the same precision costs very different joules on
    these paths. None when the kernels are not built."""
    from lstm_energy.config import PRECISIONS

    try:
        from lstm_energy.kernels.lowp import product_path
    except ImportError:
        return None
    return {precision: product_path(precision) for precision in PRECISIONS if precision != "fp32"}


def environment(
    *,
    blas_threads: int | None = None,
    sysfs_root: str | os.PathLike = "/sys",
    proc_root: str | os.PathLike = "/proc",
) -> dict:
    """The ``environment`` block of the results record (see docs/results-record.md).

    blas_threads: the thread limit the measurement ran under; when None, the largest ``num_threads``
    threadpoolctl reports for a BLAS library right now.
    """
    blas = blas_libraries()
    if blas_threads is None:
        counts = [entry.get("num_threads") for entry in blas if entry.get("user_api") == "blas"]
        blas_threads = max((c for c in counts if isinstance(c, int)), default=None)
    return {
        "cpu_model": cpu_model(proc_root),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "governor": governor(sysfs_root),
        "turbo": turbo(sysfs_root),
        "blas": blas,
        "blas_threads": blas_threads,
        "python": platform.python_version(),
        "versions": package_versions(),
        "hostname": socket.gethostname(),
        "machine_id": machine_id()[0],
        "cpu": environment_cpu(cpuinfo=Path(proc_root) / "cpuinfo"),
        "isa": kernel_isa(),
        "lowp_paths": reduced_precision_paths(),
    }
