"""argparse ``type=`` converters shared by the subcommands: a bad value exits 2 with the value seen."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def int_at_least(minimum: int, example: str = "") -> Callable[[str], int]:
    """An argparse ``type=`` for a whole number >= ``minimum`` (``example``: a use, for the docstring)."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {value}")
        return value

    convert.__name__ = convert.__qualname__ = f"int_at_least_{minimum}"
    convert.__doc__ = f"A whole number >= {minimum}{f', e.g. ``{example}``' if example else ''}."
    return convert


#: a whole number >= 1, e.g. ``--threads 4``
positive_int = int_at_least(1, "--threads 4")
#: a whole number >= 0, e.g. ``--retries 0``
non_negative_int = int_at_least(0, "--retries 0")


def thread_count(text: str) -> int:
    """``--threads N`` for a measurement on this machine: a whole number >= 1 and at most the CPUs this
    process may run on (``lstm_energy.config.check_threads_available``, the one check)."""
    from lstm_energy.config import check_threads_available
    from lstm_energy.errors import ConfigError

    try:
        return check_threads_available(positive_int(text))
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


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

    Every ``--meter`` option (``add_meter_argument``) and the pytest plugin's ``--energy-meter`` use
    this, so a typo such as ``--meter rapl`` exits 2 with the valid names instead of failing later
    with a traceback.
    """
    from lstm_energy.meters.registry import NAMES

    if text not in NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown energy meter {text!r}; choose one of {', '.join(NAMES)} (`lstm-energy meters` says which work here)"
        )
    return text


def add_meter_argument(parser, note: str = "") -> None:
    """``--meter NAME`` (default "auto"), checked by ``meter_name``; the help lists the registry's names
    (never a copy of them) and ends with ``note``, what this subcommand does with the meter."""
    from lstm_energy.meters.registry import NAMES

    parser.add_argument(
        "--meter",
        default="auto",
        type=meter_name,
        metavar="NAME",
        help=f"energy meter: {', '.join(NAMES)} (`lstm-energy meters` says which work here); default auto"
        + (f"; {note}" if note else ""),
    )
