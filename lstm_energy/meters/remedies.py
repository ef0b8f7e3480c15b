"""How to fix each way a measured backend can fail: the texts every meter error and ``available_meters()`` use.

A meter error here carries two parts, kept apart so that ``available_meters()`` can show them in
separate columns: ``reason`` (what was found, with the value seen) and ``fix`` (what to do). The
exception message is ``"<reason> Fix: <fix>"``.
"""

from __future__ import annotations

from lstm_energy.errors import MeterError, MeterPermissionError, MeterUnavailableError
from lstm_energy.meters.base import Availability

#: udev rule (one line, in e.g. /etc/udev/rules.d/99-powercap.rules) giving group ``power`` read access
UDEV_RULE = (
    'ACTION=="add", SUBSYSTEM=="powercap", KERNEL=="intel-rapl:*", '
    'RUN+="/bin/chgrp power /sys%p/energy_uj", RUN+="/bin/chmod g+r /sys%p/energy_uj"'
)
#: sysfsutils line (in /etc/sysfs.conf, one per zone; paths are relative to /sys)
SYSFSUTILS_LINE = "mode class/powercap/intel-rapl:0/energy_uj = 0444"

PERF_PARANOID_FIX = (
    "system-wide perf events need kernel.perf_event_paranoid <= 0 or CAP_PERFMON: "
    "`sudo sysctl -w kernel.perf_event_paranoid=0` (persist with a line `kernel.perf_event_paranoid = 0` in "
    '/etc/sysctl.d/99-perf.conf), or `sudo setcap cap_perfmon+ep "$(readlink -f "$(command -v python3)")"`, '
    "or run as root. In a container, the default seccomp profile also blocks perf_event_open "
    "(run with --cap-add PERFMON and a seccomp profile that allows it)"
)


def powercap_permission_fix(paranoid: str) -> str:
    """The fixes for a root-only ``energy_uj``; ``paranoid`` is the current perf_event_paranoid value (text)."""
    return (
        "(1) run as root; "
        "(2) give a group read access with a udev rule, e.g. in /etc/udev/rules.d/99-powercap.rules: "
        f"{UDEV_RULE} "
        "then `sudo groupadd -f power && sudo usermod -aG power $USER && "
        "sudo udevadm trigger --subsystem-match=powercap --action=add` and log in again; "
        "(3) or with sysfsutils, one line per zone in /etc/sysfs.conf, e.g. "
        f"`{SYSFSUTILS_LINE}`, then `sudo systemctl restart sysfsutils`; "
        "(4) or use the perf meter (get_meter('perf')), which needs kernel.perf_event_paranoid <= 0 "
        f"(it is {paranoid} here) or CAP_PERFMON. "
        "Note: (2) and (3) re-open the PLATYPUS power side channel to the users you grant"
    )


def read_perf_event_paranoid(proc_root: str = "/proc") -> str:
    """``kernel.perf_event_paranoid`` as text, or a note saying why it could not be read."""
    path = f"{proc_root}/sys/kernel/perf_event_paranoid"
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError as err:
        return f"unknown ({path}: {err.strerror})"


def meter_error(reason: str, fix: str, cls: type[MeterError] = MeterUnavailableError) -> MeterError:
    """An exception of ``cls`` whose message is ``reason`` + ``fix``, with both kept as attributes."""
    err = cls(f"{reason} Fix: {fix}" if fix else reason)
    err.reason = reason
    err.fix = fix
    return err


def permission_error(reason: str, fix: str) -> MeterPermissionError:
    """A :class:`MeterPermissionError` built like :func:`meter_error`."""
    return meter_error(reason, fix, MeterPermissionError)  # type: ignore[return-value]


def split_error(err: BaseException) -> tuple[str, str]:
    """(reason, fix) of an error made by :func:`meter_error`, or (message, "") for any other error."""
    return getattr(err, "reason", str(err)), getattr(err, "fix", "")


def unavailable(name: str, provenance: str, err: BaseException, details: dict | None = None) -> Availability:
    """The :class:`Availability` row of a backend that failed with ``err``: its reason and fix, apart, and
    in ``details["permission_denied"]`` whether it was refused a permission (a PermissionError: EACCES or
    EPERM, whatever the message's wording), which fixes differently from a counter that is not there."""
    reason, fix = split_error(err)
    found = {**(details or {}), "permission_denied": isinstance(err, PermissionError)}
    return Availability(name, False, provenance, reason, fix, found)
