"""A separate process that advances a fake powercap ``energy_uj`` file like RAPL does (tests only).

The driver runs in its own process (``subprocess``), so the process under measurement pays nothing
for it and the meter sees a counter that moves on its own, as real hardware does. Every
``interval_seconds`` (default 1 ms, the RAPL update period) it writes what the kernel would show
for a 32-bit raw RAPL count in units of ``unit_nj`` nanojoules::

    raw       = (raw_start + round(E(t) / unit)) mod 2**32
    energy_uj = raw * unit_nj // 1000        (so it wraps after max_energy_range_uj = (2**32 - 1) * unit)

    constant power:      E(t) = watts * (t - t0)
    CPU-following power: E(t) = idle_watts * (t - t0) + dynamic_watts * (cpu(pid, t) - cpu(pid, t0))

where ``cpu(pid, t)`` is utime + stime of ``pid`` from ``/proc/<pid>/stat`` in seconds (clock ticks
/ ``SC_CLK_TCK``, so 10 ms resolution at USER_HZ = 100). E is computed from the clock, not
accumulated per tick, so a late wake-up delays an update but never loses energy. The unit comes from
the zone's ``max_energy_range_uj`` (unit_nj = round(1000 * max / (2**32 - 1)), as the kernel and
``lstm_energy.testing.fake_powercap`` define it), and the count starts from the file's current
value, so the counter never jumps back when the driver starts. Writes go to a temporary file renamed over
``energy_uj`` (atomic: a reader never sees a half-written number); a reader must reopen the file
on each read, as ``PowercapMeter`` does.

The driver raises its own priority when allowed (nice -10), so a busy machine
delays its updates less. It exits when its parent process dies or (CPU-following mode) when ``pid`` exits.

Use::

    fake = build_fake_powercap(tmp_path, "intel-1s")           # lstm_energy.testing.fake_powercap
    with PowerDriver(fake.zone("package-0").directory / "energy_uj", watts=25.0):
        ... PowercapMeter(root=tree).read() ...
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

from lstm_energy.errors import ConfigError

READY_LINE = "ready"
DEFAULT_INTERVAL_SECONDS = 1e-3
RAW_STEPS = 2**32


def unit_nj_from_range(max_energy_range_uj: int) -> int:
    """Counter unit in nJ from ``max_energy_range_uj = (2**32 - 1) * unit_nj // 1000``."""
    unit = round(max_energy_range_uj * 1000 / (RAW_STEPS - 1))
    if unit < 1:
        raise ConfigError(
            f"max_energy_range_uj {max_energy_range_uj} implies a counter unit below 1 nJ; "
            f"use at least {(RAW_STEPS - 1) // 1000} (a 1 nJ unit)"
        )
    return unit


def process_cpu_seconds(pid: int, proc_root: str = "/proc") -> float:
    """utime + stime of ``pid`` in seconds, from /proc/<pid>/stat (fields 14 and 15).

    The command name (field 2) may contain spaces and parentheses, so fields are counted after the
    last ')'.
    """
    text = Path(proc_root, str(pid), "stat").read_text()
    after_name = text[text.rindex(")") + 2 :].split()
    # after_name[0] is field 3 (state); utime is field 14 -> index 11, stime field 15 -> index 12
    ticks = int(after_name[11]) + int(after_name[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def write_counter(path: Path, value_uj: int) -> None:
    """Atomically replace the counter file's contents with ``value_uj`` (rename over it)."""
    scratch = path.with_name(f".{path.name}.driver-tmp")
    scratch.write_text(f"{value_uj}\n")
    os.replace(scratch, path)


def run_driver(
    energy_file: Path,
    *,
    unit_nj: int,
    watts: float | None,
    idle_watts: float,
    dynamic_watts: float,
    pid: int | None,
    interval_seconds: float,
    parent_pid: int,
    announce=None,
) -> None:
    """The driver loop (runs until the parent or the followed pid is gone)."""
    raw_start = int(energy_file.read_text()) * 1000 // unit_nj
    start = time.monotonic()
    cpu_start = process_cpu_seconds(pid) if pid is not None else 0.0
    first = True
    while True:
        now = time.monotonic()
        if pid is None:
            assert watts is not None, "constant power needs watts (the callers pass exactly one of watts and pid)"
            joules = watts * (now - start)
        else:
            try:
                cpu = process_cpu_seconds(pid)
            except (FileNotFoundError, ProcessLookupError):
                return
            joules = idle_watts * (now - start) + dynamic_watts * (cpu - cpu_start)
        raw = (raw_start + round(joules * 1e9 / unit_nj)) % RAW_STEPS
        write_counter(energy_file, raw * unit_nj // 1000)
        if first and announce is not None:
            announce()
            first = False
        if os.getppid() != parent_pid:
            return
        time.sleep(interval_seconds)


def _parse(argv):
    parser = argparse.ArgumentParser(description="advance a fake powercap energy_uj file (tests only)")
    parser.add_argument("energy_file", type=Path)
    parser.add_argument("--watts", type=float, help="constant power")
    parser.add_argument("--idle-watts", type=float, default=0.0)
    parser.add_argument("--dynamic-watts", type=float, default=0.0, help="watts per CPU-second per second of --pid")
    parser.add_argument("--pid", type=int, help="follow this process's CPU use")
    parser.add_argument("--interval-seconds", type=float, default=DEFAULT_INTERVAL_SECONDS)
    parser.add_argument("--parent-pid", type=int, required=True)
    args = parser.parse_args(argv)
    if (args.watts is None) == (args.pid is None):
        parser.error("give exactly one of --watts (constant power) or --pid (CPU-following power)")
    return args


def _raise_priority() -> str:
    """Best effort, so that like the hardware counter the driver keeps updating on a busy machine (a
    starved driver makes reads stale): nice -10, else unchanged (needs CAP_SYS_NICE). Returns which.

    Not SCHED_FIFO: on the 2-vCPU KVM guests we develop on, a FIFO driver waking every 1 ms stalled
    both itself and the measured process for seconds at a time (work windows of 0.48 CPU-seconds took
    1.2-7 s of wall time and the counter stopped moving), which made the CPU-following test fail."""
    try:
        os.nice(-10)
        return "nice -10"
    except OSError:
        return "default"


def main(argv=None) -> int:
    args = _parse(argv)

    priority = _raise_priority()

    def announce():
        print(f"{READY_LINE} priority={priority}", flush=True)

    max_range = int((args.energy_file.parent / "max_energy_range_uj").read_text())
    run_driver(
        args.energy_file,
        unit_nj=unit_nj_from_range(max_range),
        watts=args.watts,
        idle_watts=args.idle_watts,
        dynamic_watts=args.dynamic_watts,
        pid=args.pid,
        interval_seconds=args.interval_seconds,
        parent_pid=args.parent_pid,
        announce=announce,
    )
    return 0


class PowerDriver:
    """Start/stop the driver process around a block (context manager).

    energy_file: the fake zone's ``energy_uj`` (its sibling ``max_energy_range_uj`` sets the unit
    and the wrap). Constant power: ``watts``. CPU-following power:
    ``pid`` (the measured process, default this one), ``idle_watts`` and ``dynamic_watts`` (W per
    CPU-second per second, i.e. J per CPU-second).
    """

    def __init__(
        self,
        energy_file: str | os.PathLike,
        *,
        watts: float | None = None,
        idle_watts: float = 0.0,
        dynamic_watts: float = 0.0,
        pid: int | None = None,
        interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    ):
        if (watts is None) == (pid is None):
            raise ConfigError(
                f"give exactly one of watts= (constant power) or pid= (CPU-following power); got watts={watts!r}, "
                f"pid={pid!r}"
            )
        self.energy_file = Path(energy_file)
        for needed in (self.energy_file, self.energy_file.parent / "max_energy_range_uj"):
            if not needed.is_file():
                raise ConfigError(f"{needed} does not exist; pass the energy_uj file of a fake powercap zone")
        unit_nj_from_range(int((self.energy_file.parent / "max_energy_range_uj").read_text()))
        self.command = [
            sys.executable,
            "-m",
            "lstm_energy.testing.power_driver",
            str(self.energy_file),
            "--idle-watts",
            repr(float(idle_watts)),
            "--dynamic-watts",
            repr(float(dynamic_watts)),
            "--interval-seconds",
            repr(float(interval_seconds)),
            "--parent-pid",
            str(os.getpid()),
        ]
        if watts is not None:
            self.command += ["--watts", repr(float(watts))]
        elif pid is not None:  # always, when watts is None (checked above)
            self.command += ["--pid", str(int(pid))]
        self._process: subprocess.Popen | None = None
        #: the scheduling the driver obtained ("nice -10" or "default"), set by start()
        self.priority: str | None = None

    def start(self) -> PowerDriver:
        self._process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self._process.stdout is not None  # stdout=PIPE
        line = self._process.stdout.readline().strip()
        ready, _, self.priority = line.partition(" priority=")
        if ready != READY_LINE:
            self.stop()
            raise RuntimeError(
                f"power driver did not start (first line {line!r}); command {self.command}; "
                f"stderr: {self._process.stderr.read() if self._process.stderr else ''}"
            )
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()
        self._process = None

    def __enter__(self) -> PowerDriver:
        return self.start()

    def __exit__(self, *exc) -> Literal[False]:
        self.stop()
        return False


@contextlib.contextmanager
def powered_zones(fake, zones: tuple[str, ...], watts: float):
    """Drive each of ``zones`` of a :class:`~lstm_energy.testing.fake_powercap.FakePowercap` at ``watts``
    (one driver process per zone) for the duration of a ``with`` block: a tree whose counters count."""
    with contextlib.ExitStack() as stack:
        for zone in zones:
            stack.enter_context(PowerDriver(fake.zone(zone).directory / "energy_uj", watts=watts))
        yield fake


if __name__ == "__main__":
    sys.exit(main())
