"""Reading model-specific registers: the ``/dev/cpu/N/msr`` device behind a two-method interface.

The msr driver maps the file OFFSET to the register NUMBER: ``pread(fd, 8, 0x611)`` returns the
64-bit register 0x611. A sparse regular file with 8 little-endian bytes written at offset = address
imitates that, as long as the registers used are at least 8 apart (Intel's 0x606/0x611/0x619/0x639/
0x641/0x64D are). AMD's 0xC0010299/0xC001029A/0xC001029B are ADJACENT, so their 8-byte values would
overlap in a byte-addressed file: a test of AMD decoding injects :class:`MappingMsrDevice` instead.
"""

from __future__ import annotations

import errno
import os
import struct
import weakref
from collections.abc import Mapping
from typing import Protocol

from lstm_energy.meters.remedies import meter_error, permission_error


class MsrDevice(Protocol):
    """Where MsrMeter reads registers from."""

    def read(self, cpu: int, address: int) -> int:
        """The 64-bit value of register ``address`` on ``cpu``; OSError (EIO) when it does not exist."""

    def describe(self) -> str:
        """Where the registers come from, for the meter's provenance record."""

    def close(self) -> None:
        """Release the device. Safe to call twice."""


class DevCpuMsr:
    """``<dev_root>/<cpu>/msr`` (root, the msr driver and CAP_SYS_RAWIO on a real machine)."""

    def __init__(self, dev_root: str = "/dev/cpu"):
        self.dev_root = str(dev_root)
        self._fds: dict[int, int] = {}
        # dropped without close(): collecting the device closes its fds (the finalizer holds only the dict)
        self._release = weakref.finalize(self, _close_fds, self._fds)

    def open(self, cpu: int) -> None:
        """Open CPU ``cpu``'s device; a missing driver or permission becomes a meter error with the fix."""
        if cpu in self._fds:
            return
        path = os.path.join(self.dev_root, str(cpu), "msr")
        try:
            self._fds[cpu] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError as err:
            raise meter_error(
                f"{path} does not exist: the msr driver is not loaded (CPU {cpu}).",
                "`sudo modprobe msr` (persist: add `msr` to /etc/modules-load.d/msr.conf), then run as root",
            ) from err
        except PermissionError as err:
            raise permission_error(
                f"cannot open {path} (permission denied for uid {os.geteuid()}): MSR access needs root "
                "with CAP_SYS_RAWIO (kernel lockdown / Secure Boot can forbid it even for root).",
                "run as root, or `sudo setcap cap_sys_rawio+ep` on the interpreter and make /dev/cpu/*/msr "
                "readable to your group; or use the powercap or perf meter",
            ) from err

    def read(self, cpu: int, address: int) -> int:
        self.open(cpu)
        data = os.pread(self._fds[cpu], 8, address)  # the driver: offset = register number
        if len(data) != 8:
            raise OSError(errno.EIO, f"short read of MSR {address:#x} on CPU {cpu}")
        return struct.unpack("<Q", data)[0]

    def describe(self) -> str:
        return f"{self.dev_root}/N/msr"

    def close(self) -> None:
        _close_fds(self._fds)


def _close_fds(fds: dict[int, int]) -> None:
    """Close every fd in ``{cpu: fd}`` and empty it (the device stays usable: ``read`` re-opens)."""
    for fd in fds.values():
        try:
            os.close(fd)
        except OSError:
            pass
    fds.clear()


class MappingMsrDevice:
    """Registers from a mapping ``{cpu: {address: value}}`` (tests; values may be changed between reads).

    A register missing from the mapping raises EIO, as the driver does for an unimplemented MSR.
    """

    def __init__(self, registers: Mapping[int, Mapping[int, int]]):
        self.registers = {cpu: dict(values) for cpu, values in registers.items()}

    def read(self, cpu: int, address: int) -> int:
        try:
            return self.registers[cpu][address]
        except KeyError:
            raise OSError(errno.EIO, f"MSR {address:#x} not implemented on CPU {cpu}") from None

    def describe(self) -> str:
        return "in-memory registers (test double)"

    def close(self) -> None:
        pass
