"""One measurement at a time per host: a host-wide ``fcntl.flock`` held around each measurement.

RAPL counts the whole CPU package, so a second ``lstm-energy`` process (another sweep, a pytest run
of the benchmarks) measuring at the same time would be billed to us, and our idle baseline would see
its work. ``measure(...)`` (lstm_energy/measure/protocol.py) therefore holds this lock from the
warm-up to the last idle window. The second process waits and says so on stderr (or, with
``wait=False``, fails at once with HostBusyError). The lock is an ``flock`` on an open file: the
kernel drops it when the holder exits, however it exits, so a crashed holder never blocks the next run.

Where the lock file lives (the first directory that exists and is writable):
``/run/lock``, ``$XDG_RUNTIME_DIR`` (the user's runtime directory), the temp directory. Two users
on one host share ``/run/lock`` when it is writable (it is world-writable with the sticky bit on
most distributions), so their measurements exclude each other too.

Configuration (environment variables, so that it reaches Dask worker processes and subprocesses):

``LSTM_ENERGY_HOST_LOCK``       a lock file path instead of the default, or ``off`` to measure
                                without the lock (tests of protocol logic with fake clocks)
``LSTM_ENERGY_HOST_LOCK_WAIT``  ``0``: do not wait for a busy lock, raise HostBusyError (``--no-wait``)

``measure(..., host_lock=...)`` also takes a HostLock object (or ``False`` for none) directly.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from lstm_energy.errors import ArgumentTypeError, HostBusyError

LOCK_NAME = "lstm-energy-measure.lock"
PATH_VARIABLE = "LSTM_ENERGY_HOST_LOCK"
WAIT_VARIABLE = "LSTM_ENERGY_HOST_LOCK_WAIT"
#: value of LSTM_ENERGY_HOST_LOCK that turns the lock off
OFF = "off"


def default_lock_path() -> Path:
    """``/run/lock``, else ``$XDG_RUNTIME_DIR``, else the temp directory, joined with LOCK_NAME."""
    candidates = ["/run/lock", os.environ.get("XDG_RUNTIME_DIR"), tempfile.gettempdir()]
    for directory in candidates:
        if directory and os.path.isdir(directory) and os.access(directory, os.W_OK | os.X_OK):
            return Path(directory) / LOCK_NAME
    return Path(tempfile.gettempdir()) / LOCK_NAME


@dataclass(frozen=True)
class Held:
    """What taking the lock cost: ``wait_seconds`` spent waiting for another holder, and the lock ``path``
    (None when the lock was off)."""

    wait_seconds: float
    path: str | None


class HostLock:
    """An exclusive ``flock`` on ``path``; ``with lock.held() as held:`` takes it and releases it.

    wait: block until the holder lets go (saying so once on ``stream``), else raise HostBusyError.
    poll_seconds: how often a waiter retries (non-blocking attempts keep the wait interruptible).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        wait: bool = True,
        stream: TextIO | None = None,
        poll_seconds: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.path = Path(path)
        self.wait = wait
        self.stream = stream
        self.poll_seconds = poll_seconds
        self.clock = clock

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as err:
            raise HostBusyError(
                f"cannot open the host measurement lock {str(self.path)!r}: {err.strerror}; "
                f"set {PATH_VARIABLE}=/a/writable/path to use another file"
            ) from None

    @contextlib.contextmanager
    def held(self) -> Iterator[Held]:
        fd = self._open()
        try:
            start = self.clock()
            said = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    who = _holder_text(fd)
                    if not self.wait:
                        raise HostBusyError(
                            f"{who} is measuring on this host (lock "
                            f"{str(self.path)!r}); measurements must not overlap on one CPU package. "
                            "Wait for it to finish, or drop --no-wait to queue behind it"
                        ) from None
                    if not said:
                        stream = self.stream if self.stream is not None else sys.stderr
                        stream.write(
                            f"waiting: {who} is measuring on this host "
                            f"(lock {self.path}); this measurement starts when it ends\n"
                        )
                        stream.flush()
                        said = True
                    time.sleep(self.poll_seconds)
            waited = self.clock() - start
            _write_holder(fd)
            try:
                yield Held(waited, str(self.path))
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _write_holder(fd: int) -> None:
    """Leave our pid in the file so a waiter can name the holder (advisory text, never trusted for locking)."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _holder_text(fd: int) -> str:
    """Who holds the lock, for messages: another thread of this process (flock conflicts between open
    file descriptions, so two threads' measurements queue too), or another process (with its pid)."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip() or "0")
        if pid == os.getpid():
            return "another thread of this process"
        if pid > 0:
            return f"another lstm-energy process (pid {pid})"
    return "another lstm-energy process"


class NoLock:
    """The lock turned off (``LSTM_ENERGY_HOST_LOCK=off`` or ``host_lock=False``): never waits."""

    path = None

    @contextlib.contextmanager
    def held(self) -> Iterator[Held]:
        yield Held(0.0, None)


def lock_from_environment(environ: dict | None = None) -> HostLock | NoLock:
    """The lock ``measure`` uses by default, configured by the environment variables above."""
    env = os.environ if environ is None else environ
    path = env.get(PATH_VARIABLE, "").strip()
    if path.lower() == OFF:
        return NoLock()
    wait = env.get(WAIT_VARIABLE, "1").strip() not in ("0", "no", "false")
    return HostLock(path or default_lock_path(), wait=wait)


def resolve(host_lock) -> HostLock | NoLock:
    """``measure``'s ``host_lock`` argument: None = from the environment, False = none, or a lock object."""
    if host_lock is None:
        return lock_from_environment()
    if host_lock is False:
        return NoLock()
    if not hasattr(host_lock, "held"):
        raise ArgumentTypeError(
            f"host_lock must be None (from the environment), False (no lock) or a HostLock, got {host_lock!r}"
        )
    return host_lock
