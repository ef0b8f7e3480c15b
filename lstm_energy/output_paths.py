"""Where the library writes: whether a file or a directory can be written, and the one error that says not.

Whether a path can be written is found by trying: permission bits alone do not tell (root, read-only
mounts, /proc). Every writer (sweep and forecast results, the report, the machine-profile cache) says
"cannot write" in the same shape, one line a user can act on::

    cannot write -o '/proc/r.jsonl': No such file or directory; choose a writable path for -o

``what`` names the thing as the user gave it (a flag, "the report to", "the machine profile under") and
``fix`` says what to pass instead.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from lstm_energy.errors import ConfigError


def unwritable(path: str | os.PathLike, what: str, err: OSError, fix: str) -> ConfigError:
    """The ConfigError for ``path`` that could not be written: which path, the OS's reason (and the
    path it concerned when that is another, e.g. a parent), and ``fix``."""
    reason = err.strerror or str(err)
    where = f" ({err.filename})" if err.filename and str(err.filename) != str(path) else ""
    return ConfigError(f"cannot write {what} {str(path)!r}: {reason}{where}; {fix}")


def _file_in_the_way(path: Path, directories: list[Path], what: str, fix: str) -> None:
    """ConfigError naming the first existing one of ``directories`` (nearest first) when it is a file, not a
    directory (the OS would say only "File exists" or "Not a directory")."""
    existing = next((p for p in directories if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise unwritable(
            path, what, NotADirectoryError(errno.ENOTDIR, f"{str(existing)!r} is a file, not a directory"), fix
        )


def make_parent(path: str | os.PathLike, what: str, fix: str) -> None:
    """Create ``path``'s missing parent directories; ConfigError when a file stands where a directory
    must be, or the directories cannot be made."""
    path = Path(path)
    _file_in_the_way(path, list(path.parents), what, fix)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise unwritable(path, what, err, fix) from None


def check_writable_file(path: str | os.PathLike, what: str, fix: str) -> None:
    """ConfigError when a file cannot be created or appended at ``path``. Missing parent directories are
    created, as the writers do; a file made only for the try is removed again."""
    target = Path(path)
    existed = target.exists()
    make_parent(target, what, fix)
    try:
        with open(target, "a", encoding="utf-8"):
            pass
    except OSError as err:
        raise unwritable(target, what, err, fix) from None
    if not existed:
        target.unlink(missing_ok=True)


def ensure_writable_directory(directory: str | os.PathLike, what: str, fix: str) -> Path:
    """``directory``, created when missing; ConfigError when it cannot be made or written into."""
    directory = Path(directory)
    _file_in_the_way(directory, [directory, *directory.parents], what, fix)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise unwritable(directory, what, err, fix) from None
    try:  # by trying, as everywhere here: a read-only mount or /proc passes os.access for root
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as err:
        raise unwritable(directory, what, err, fix) from None
    return directory


def write_text_file(path: str | os.PathLike, text: str, what: str, fix: str) -> Path:
    """Write ``text`` to ``path`` (UTF-8, parent directories created); ConfigError when it cannot be."""
    path = Path(path)
    make_parent(path, what, fix)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise unwritable(path, what, err, fix) from None
    return path
