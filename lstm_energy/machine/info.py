"""What this machine is: CPU model, usable cores, caches, the BLAS the kernels call, the kernel, and
a fingerprint of all of it (the key under which measured peaks are cached).

Sources: ``/proc/cpuinfo`` ("model name", x86; "Hardware"/"CPU part" elsewhere), the scheduler
affinity mask (``os.sched_getaffinity``), sysfs caches (lstm_energy.costs.caches), threadpoolctl for
the BLAS library that ``scipy.linalg.blas`` / ``scipy.linalg.cython_blas`` load (the kernels' BLAS),
``platform.release()`` for the kernel.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lstm_energy.costs.caches import CacheHierarchy, read_caches
from lstm_energy.errors import MachineInfoError

#: where Linux describes the CPUs (tests pass a file with fake contents instead); the one home of this path
CPUINFO = "/proc/cpuinfo"


@dataclass(frozen=True)
class BlasInfo:
    """The BLAS library scipy.linalg.blas uses, as threadpoolctl reports it."""

    internal_api: str  # "openblas", "mkl", "blis", ...
    version: str | None
    architecture: str | None  # OpenBLAS core type, e.g. "Haswell"
    threading_layer: str | None
    num_threads: int
    filepath: str

    @property
    def name(self) -> str:
        """The library's usual spelling: 'OpenBLAS', 'MKL', 'BLIS', 'FlexiBLAS' (else threadpoolctl's name)."""
        return {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS", "flexiblas": "FlexiBLAS"}.get(
            self.internal_api, self.internal_api
        )

    @property
    def label(self) -> str:
        """'OpenBLAS 0.3.30 (Haswell kernels, pthreads)'."""
        name = self.name
        extras = ", ".join(
            x for x in (f"{self.architecture} kernels" if self.architecture else "", self.threading_layer or "") if x
        )
        return f"{name} {self.version or '?'}" + (f" ({extras})" if extras else "")

    def as_dict(self) -> dict:
        return {
            "internal_api": self.internal_api,
            "version": self.version,
            "architecture": self.architecture,
            "threading_layer": self.threading_layer,
            "num_threads": self.num_threads,
            "filepath": self.filepath,
            "label": self.label,
        }


@dataclass(frozen=True)
class MachineInfo:
    cpu_model: str
    cores: int  # CPUs this process may run on
    caches: CacheHierarchy
    blas: BlasInfo
    kernel: str
    machine: str  # platform.machine(), e.g. "x86_64"

    @property
    def fingerprint(self) -> str:
        """16 hex digits of SHA-256 over the CPU model, cores, cache sizes, BLAS and kernel."""
        key = {
            "cpu_model": self.cpu_model,
            "cores": self.cores,
            "caches": [(c.level, c.type, c.size_bytes) for c in self.caches.levels],
            "blas": [self.blas.internal_api, self.blas.version, self.blas.architecture, self.blas.filepath],
            "kernel": self.kernel,
            "machine": self.machine,
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def as_dict(self) -> dict:
        return {
            "cpu_model": self.cpu_model,
            "cores": self.cores,
            "caches": self.caches.as_dict(),
            "blas": self.blas.as_dict(),
            "kernel": self.kernel,
            "machine": self.machine,
            "fingerprint": self.fingerprint,
        }


def cpuinfo_fields(cpuinfo: str | os.PathLike = CPUINFO) -> dict[str, str]:
    """The ``key: value`` lines of a cpuinfo file, the first occurrence of each key ({} if unreadable).

    The first occurrence is the first processor's on x86 (vendor_id, cpu family, model, stepping, model
    name); the whole file is read because Arm kernels print "Hardware" once, after the last processor."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def cpu_model(cpuinfo: str | os.PathLike = CPUINFO) -> str:
    """The 'model name' line of /proc/cpuinfo (else 'Hardware'/'CPU part', else platform.processor())."""
    fields = cpuinfo_fields(cpuinfo)
    for key in ("model name", "Hardware", "CPU part"):
        if fields.get(key):
            return fields[key]
    fallback = platform.processor()
    if fallback:
        return fallback
    raise MachineInfoError(f"no CPU model in {cpuinfo!s} ('model name' line) nor from platform.processor()")


def hypervisor_flag(cpuinfo: str | os.PathLike = CPUINFO) -> bool | None:
    """Whether the first CPU's ``flags`` include ``hypervisor`` (cpuid leaf 1, ECX bit 31: set by every
    mainstream hypervisor, KVM, Firecracker, Xen HVM, Hyper-V, VMware, for its guests), i.e. whether this
    is a virtual machine; None when cpuinfo has no flags line (not x86, or unreadable)."""
    flags = cpuinfo_fields(cpuinfo).get("flags")
    if flags is None:
        return None
    return "hypervisor" in flags.split()


def usable_cores() -> int:
    """CPUs in this process's affinity mask (what threads can actually use), else os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _is_scipy_blas(entry: Mapping) -> bool:
    import scipy

    scipy_dir = Path(scipy.__file__).resolve().parent
    path = Path(entry.get("filepath", "")).resolve()
    return scipy_dir in path.parents or scipy_dir.with_name("scipy.libs") in path.parents


def scipy_blas() -> BlasInfo:
    """threadpoolctl's record of the BLAS library loaded by scipy.linalg.blas (the kernels' BLAS)."""
    import scipy.linalg.blas  # noqa: F401  (loads the library so threadpoolctl can see it)
    from threadpoolctl import threadpool_info

    entries = [e for e in threadpool_info() if e.get("user_api") == "blas"]
    if not entries:
        raise MachineInfoError(
            "threadpoolctl sees no BLAS library after importing scipy.linalg.blas; check the scipy install"
        )
    mine = [e for e in entries if _is_scipy_blas(e)] or entries
    entry = mine[0]
    return BlasInfo(
        internal_api=entry.get("internal_api", "unknown"),
        version=entry.get("version"),
        architecture=entry.get("architecture"),
        threading_layer=entry.get("threading_layer"),
        num_threads=int(entry.get("num_threads", 1)),
        filepath=entry.get("filepath", ""),
    )


def machine_info(caches: CacheHierarchy | None = None, cpuinfo: str | os.PathLike = CPUINFO) -> MachineInfo:
    return MachineInfo(
        cpu_model=cpu_model(cpuinfo),
        cores=usable_cores(),
        caches=caches if caches is not None else read_caches(),
        blas=scipy_blas(),
        kernel=platform.release(),
        machine=platform.machine(),
    )
