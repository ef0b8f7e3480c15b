"""Measured machine profiles on disk, one JSON file per machine fingerprint.

Directory: ``$XDG_CACHE_HOME/lstm_energy`` when XDG_CACHE_HOME is set (XDG Base Directory spec),
else ``~/.cache/lstm_energy``. Files are written atomically (temporary file + os.replace).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from lstm_energy import output_paths

#: 1: first version (machine, peak_gflops, bandwidth, roofline).
#: 2: kernel_gemm_gflops (the kernels' own packed GEMM) and kernel_gemm_unavailable; roofline points
#:    take the faster GEMM as peak_gflops and name it in peak_source, with sgemm_gflops and
#:    kernel_gemm_gflops next to it.
PROFILE_SCHEMA = 2


def cache_directory(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "lstm_energy"


def profile_path(fingerprint: str, directory: str | os.PathLike | None = None) -> Path:
    return Path(directory or cache_directory()) / f"machine-{fingerprint}.json"


def load_profile(
    fingerprint: str, directory: str | os.PathLike | None = None, *, accept_older: bool = False
) -> dict | None:
    """The cached profile for this fingerprint, or None when absent, unreadable or of another schema.

    accept_older: also return a profile of an earlier schema (a reader that copes with the missing
    fields, such as the report's roofline); ``lstm-energy machine`` re-measures those instead.
    """
    path = profile_path(fingerprint, directory)
    try:
        profile = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(profile, dict) or profile.get("fingerprint") != fingerprint:
        return None
    schema = profile.get("schema")
    usable = schema == PROFILE_SCHEMA or (accept_older and isinstance(schema, int) and 1 <= schema < PROFILE_SCHEMA)
    return profile if usable else None


#: what the machine cache says when it cannot write (lstm_energy.output_paths)
_PROFILE_UNDER = "the machine profile under"
_CHOOSE_CACHE = "pass a writable directory with --cache-dir (or set XDG_CACHE_HOME)"


def ensure_writable_directory(directory: str | os.PathLike) -> Path:
    """``directory``, created when missing; ConfigError saying how to choose another when it cannot be written."""
    return output_paths.ensure_writable_directory(directory, _PROFILE_UNDER, _CHOOSE_CACHE)


def save_profile(profile: dict, directory: str | os.PathLike | None = None) -> Path:
    """Write ``profile`` (which must carry its fingerprint) atomically; returns the path.

    Raises ConfigError when the directory cannot be created or written."""
    path = profile_path(profile["fingerprint"], directory)
    ensure_writable_directory(path.parent)
    try:
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".machine-", suffix=".tmp", delete=False) as tmp:
            json.dump(profile, tmp, indent=1, sort_keys=True)
            tmp.write("\n")
        os.replace(tmp.name, path)
    except OSError as err:
        raise output_paths.unwritable(path.parent, _PROFILE_UNDER, err, _CHOOSE_CACHE) from None
    return path
