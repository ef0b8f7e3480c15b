"""Open a generated page in real headless Chromium (tests only): the DOM after its scripts ran, and the console.

A test appends a probe ``<script>`` to a COPY of the page that measures what the browser laid out and writes it
into the DOM as JSON; :func:`open_in_chromium` returns that DOM. Without Chromium a test skips, except under CI
(environment variable ``CI`` set), where a missing browser is a failure: the browser checks must run there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from lstm_energy.errors import StateError

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> None:
    """Skip the calling test without Chromium (fail under CI, which must run it)."""
    import pytest

    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail(
                "chromium is not installed but CI is set: the browser test must run in CI (apt-get install chromium)"
            )
        pytest.skip("chromium not installed (apt-get install chromium); set CI=1 to make this a failure")


def open_in_chromium(html_path: Path, scratch: Path, window: tuple[int, int] = (1400, 1000)) -> tuple[str, list[str]]:
    """(DOM after scripts ran, console messages) of ``html_path`` in headless Chromium at ``window`` px.

    scratch: a directory for the browser profile (a test's tmp_path).
    """
    if CHROMIUM is None:
        raise StateError("chromium is not installed; call require_chromium() first (it skips the test)")
    cmd = [
        CHROMIUM,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        f"--user-data-dir={scratch / 'chromium-profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        f"--window-size={window[0]},{window[1]}",
        "--dump-dom",
        Path(html_path).resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console
