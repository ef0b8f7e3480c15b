"""CPU topology from sysfs: which CPU to read each package's counters on (perf and MSR meters).

Offline CPUs have no ``topology/`` directory (pyRAPL #26 crashed on that); they are skipped.
"""

from __future__ import annotations

import os
import re

from lstm_energy.meters.remedies import meter_error

_CPU_DIR = re.compile(r"^cpu(\d+)$")


def parse_cpu_list(text: str) -> list[int]:
    """Parse a kernel CPU list such as ``"0-3,8,10-11"`` into sorted CPU numbers."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        if "-" in part:
            low, high = part.split("-", 1)
            cpus.update(range(int(low), int(high) + 1))
        else:
            cpus.add(int(part))
    return sorted(cpus)


def first_cpu_of_each_package(sysfs_root: str = "/sys") -> dict[int, int]:
    """``{package id: lowest online CPU in it}`` from ``<sysfs_root>/devices/system/cpu/cpuN/topology``."""
    cpu_dir = os.path.join(sysfs_root, "devices", "system", "cpu")
    try:
        entries = os.listdir(cpu_dir)
    except OSError as err:
        raise meter_error(
            f"cannot list CPUs in {cpu_dir} ({err.strerror}).",
            "run on Linux with sysfs mounted at /sys, or pass the package -> CPU mapping explicitly (cpus={0: 0})",
        ) from err
    packages: dict[int, int] = {}
    for entry in entries:
        match = _CPU_DIR.match(entry)
        if not match:
            continue
        path = os.path.join(cpu_dir, entry, "topology", "physical_package_id")
        try:
            with open(path) as handle:
                package = int(handle.read().strip())
        except (OSError, ValueError):
            continue  # offline CPU: no topology
        cpu = int(match.group(1))
        packages[package] = min(cpu, packages.get(package, cpu))
    if not packages:
        raise meter_error(
            f"no CPU under {cpu_dir} has a readable topology/physical_package_id.",
            "run on Linux with sysfs mounted at /sys, or pass the package -> CPU mapping explicitly (cpus={0: 0})",
        )
    return dict(sorted(packages.items()))
