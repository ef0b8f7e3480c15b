"""argparse ``type=`` converters shared by the subcommands: a bad value exits 2 with the value seen."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """A whole number >= 1, e.g. ``--threads 4``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """A number > 0, e.g. ``--min-window-seconds 0.1``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def meter_name(text: str) -> str:
    """An energy meter name from ``lstm_energy.meters.registry.NAMES`` (the one list), e.g. ``--meter model``.

    Every subcommand with a ``--meter`` option uses this, so a typo such as ``--meter rapl`` exits 2
    with the valid names instead of failing later with a traceback.
    """
    from lstm_energy.meters.registry import NAMES

    if text not in NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown energy meter {text!r}; choose one of {', '.join(NAMES)} (`lstm-energy meters` says which work here)"
        )
    return text
