"""The README's first command, end to end, on hosts whose only energy counter is dead, or that have none.

The command is read from README.md (the quickstart line that runs ``lstm-energy sweep``; its
``pip install`` part is already done by the test environment) and run in a private mount namespace
where the test decides which counters exist (the ``isolated_host`` fixture), so the outcome is the
same on every machine: the sweep falls back to the estimator, loudly, and the report says so.
"""

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: a busy core draws watts: a figure implying less than this per CPU-second, or more than a package's limit,
#: is a bug
BUSY_CORE_WATTS = (0.3, 1000.0)


def readme_main_job() -> str:
    """The quickstart's first command without its install step (``pip install -e . && ...``)."""
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("pip install") and "lstm-energy sweep" in line:
            return line.split("&&", 1)[1].strip()
    raise AssertionError("README.md has no quickstart line running `lstm-energy sweep`")


def this_interpreter_first() -> dict:
    """The environment with the bin directory of the Python running these tests first on PATH, so the
    README line's ``lstm-energy`` is the one installed with it (not whichever comes first on the host)."""
    path = os.environ.get("PATH", "")
    return {**os.environ, "PATH": os.pathsep.join([os.path.dirname(sys.executable), *filter(None, [path])])}


def cpu_seconds_per_sequence(record: dict) -> float:
    """CPU time (this process, all threads) per sequence of the record's configuration, measured here.

    The estimator prices CPU time, which a busy host does not stretch; wall time it does. So the joules
    are checked against CPU seconds: best of 3 runs of the record's calls per window."""
    from lstm_energy.config import Config
    from lstm_energy.measure.runners import prepare_config
    from lstm_energy.measure.threads import pinned_threads

    config = Config.from_record(record["config"])
    prepared = prepare_config(config, seed=0)
    calls = max(int(record["time"]["calls_per_window"]), 1)
    runs = []
    with pinned_threads(config.threads, torch_too=config.impl == "torch"):
        prepared.run()  # warm-up
        for _ in range(3):
            start = time.process_time()
            for _ in range(calls):
                prepared.run()
            runs.append((time.process_time() - start) / calls / config.batch)
    return min(runs)


@pytest.mark.slow
@pytest.mark.parametrize("counters", ["dead", "none"])
def test_readme_first_command_writes_an_estimated_report(isolated_host, tmp_path, counters):
    (tmp_path / "reports").mkdir()
    done = isolated_host(
        ["sh", "-c", readme_main_job()], counters=counters, cwd=tmp_path, timeout=600, env=this_interpreter_first()
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert "NO MEASURED ENERGY" in done.stderr  # the fallback is loud
    if counters == "dead":
        assert "opens but does not count" in done.stderr  # and says why the dead counter was passed over

    records = [json.loads(line) for line in (tmp_path / "reports" / "quick.jsonl").read_text().splitlines() if line]
    assert records
    for record in records:
        energy = record["energy"]
        assert energy["provenance"] == "estimated", "no record may say measured without a counting counter"
        assert "Cloud Carbon Footprint" in energy["meter"]["source"]
    cpu_seconds = {id(record): cpu_seconds_per_sequence(record) for record in records}
    for record in records:
        joules = record["energy"]["joules_per_sequence"]["median"]
        seconds = cpu_seconds[id(record)]
        assert BUSY_CORE_WATTS[0] < joules / seconds < BUSY_CORE_WATTS[1], (record["config"], joules, seconds)

    def key(record):
        config = dict(record["config"])
        return tuple(sorted((k, str(v)) for k, v in config.items() if k != "impl"))

    by_impl = {(key(r), r["config"]["impl"]): r for r in records}
    compared = 0
    for (config_key, impl), numpy_record in by_impl.items():
        cython_record = by_impl.get((config_key, "cython"))
        if impl != "numpy" or cython_record is None:
            continue
        joule_ratio = (
            numpy_record["energy"]["joules_per_sequence"]["median"]
            / cython_record["energy"]["joules_per_sequence"]["median"]
        )
        time_ratio = cpu_seconds[id(numpy_record)] / cpu_seconds[id(cython_record)]
        assert joule_ratio > 1.0, "numpy runs longer than cython on the same work, so it must cost more joules"
        # the estimate follows CPU time (exactly: tests/measure/test_estimator_defaults.py), so it is compared with
        # the CPU-time ratio (not wall time, which a loaded host stretches); measured in two processes, so only
        # the magnitude is checked here
        assert time_ratio / 3 < joule_ratio < 3 * time_ratio, (numpy_record["config"], joule_ratio, time_ratio)
        compared += 1
    assert compared >= 2

    html = (tmp_path / "reports" / "quick.html").read_text(encoding="utf-8")
    assert re.search(r"ESTIMATED", html)
    assert "Cloud Carbon Footprint" in html  # the banner names the coefficient row
    for developer_text in ("Traceback", "caller should", "ValueError"):
        assert developer_text not in html
