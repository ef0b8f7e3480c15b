"""Sweep progress on stderr: a bar with ETA redrawn in place on a TTY, one plain line per point otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from lstm_energy.config import Config


class Progress:
    """A progress bar with ETA on ``stream`` (stderr): redrawn in place on a TTY, one plain line per
    point otherwise (logs, CI). ETA = mean seconds per measured point x points left."""

    def __init__(self, total: int, *, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.done = 0
        self.measured = 0
        self.started = clock()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def eta_seconds(self) -> float | None:
        if self.measured == 0:
            return None
        per_point = (self.clock() - self.started) / self.measured
        return per_point * (self.total - self.done)

    def update(self, label: str, *, skipped: bool = False) -> None:
        self.done += 1
        if not skipped:
            self.measured += 1
        eta = self.eta_seconds()
        elapsed = self.clock() - self.started
        eta_text = "ETA --:--" if eta is None else f"ETA {_clock_text(eta)}"
        percent = 100.0 * self.done / self.total if self.total else 100.0
        status = "resumed" if skipped else "done"
        if self.tty:
            width = 24
            filled = int(round(width * self.done / self.total)) if self.total else width
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(
                f"\r[{bar}] {self.done}/{self.total} {percent:3.0f}% {_clock_text(elapsed)} {eta_text}  {label[:60]:<60}"
            )
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(
                f"[{self.done}/{self.total}] {percent:3.0f}% elapsed {_clock_text(elapsed)} {eta_text} {status}: {label}\n"
            )
        self.stream.flush()


def _clock_text(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:d}:{rest % 60:02d}"


def describe_config(config: Config | Mapping) -> str:
    """One-line label: ``lstm train cython B=8 T=16 D=32 H=64 L=1 uni t=1`` (``Config.label``; a
    record's config dict is read through ``Config.from_record``)."""
    return Config.from_record(config).label()
