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

PROFILE_SCHEMA = 1  # 1: first version (machine, peak_gflops, bandwidth, roofline)


def cache_directory(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "lstm_energy"


def profile_path(fingerprint: str, directory: str | os.PathLike | None = None) -> Path:
    return Path(directory or cache_directory()) / f"machine-{fingerprint}.json"


def load_profile(fingerprint: str, directory: str | os.PathLike | None = None) -> dict | None:
    """The cached profile for this fingerprint, or None when absent, unreadable or of another schema."""
    path = profile_path(fingerprint, directory)
    try:
        profile = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if profile.get("schema") != PROFILE_SCHEMA or profile.get("fingerprint") != fingerprint:
        return None
    return profile


def save_profile(profile: dict, directory: str | os.PathLike | None = None) -> Path:
    """Write ``profile`` (which must carry its fingerprint) atomically; returns the path."""
    path = profile_path(profile["fingerprint"], directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".machine-", suffix=".tmp", delete=False) as tmp:
        json.dump(profile, tmp, indent=1, sort_keys=True)
        tmp.write("\n")
    os.replace(tmp.name, path)
    return path
