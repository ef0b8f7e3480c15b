"""The in-process sweep runner: measure each point here, one after another, appending each record
to the results file as it is made (flushed), so a killed sweep loses only the point in progress.
``resume=True`` skips every point whose config is already in the file (the key is the record's
config dict, ``lstm_energy.results.config_key``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import TextIO

from lstm_energy.config import Config, check_threads_available
from lstm_energy.errors import ConfigError
from lstm_energy.sweep.points import (
    SweepSummary,
    check_meter_name,
    check_output,
    check_resume_meter,
    discard_for_overwrite,
    point_measurer,
    protocol_settings,
    resumable_records,
)
from lstm_energy.sweep.progress import Progress


def run_sweep(
    configs: list[Config],
    output: str | os.PathLike,
    *,
    meter="model",
    protocol: dict | None = None,
    resume: bool = False,
    require_measured: bool = False,
    overwrite: bool = False,
    profile_fn: Callable | None = None,
    progress: Progress | None = None,
    log: TextIO | None = None,
) -> SweepSummary:
    """Measure each Config (``expand(grid)``'s points; a record's config dict is also taken) and
    append its record to ``output``.

    meter: a name (opened once and shared by every point; after a point fails with a MeterError the
    meter is closed and opened again, proving again that it counts, since a meter whose sampler failed
    or which may have missed a wrap refuses every later read) or a meter object (used as given).
    protocol: profile()'s
    protocol keywords (windows, min_window_seconds, ...); another name or a value out of range is a
    ConfigError before anything is measured, and so is a thread count above this machine's CPUs.
    profile_fn: see ``points.point_measurer`` (default: ``lstm_energy.profile`` on the Config). A
    point that raises a LstmEnergyError is reported and the sweep goes on; anything else stops it (a
    bug, not a result). With ``resume`` the points already in ``output`` are skipped; a file that is
    not sweep results (ResultsSchemaError) or whose records another meter made (ConfigError) is
    refused before anything is measured. require_measured: a meter that is not a measurement (the
    estimator, e.g. ``auto`` falling back to it, or the simulated meter) is a ConfigError, before
    anything is measured. overwrite: an existing ``output`` is discarded, but only once the meter has
    opened and passed those checks, so a refused run leaves the old records in place; with ``resume`` too it is a
    ConfigError (one keeps the records, the other discards them).
    """
    from lstm_energy.errors import LstmEnergyError, MeterError
    from lstm_energy.meters import opened_meter
    from lstm_energy.results import ResultsWriter, config_key

    if isinstance(meter, str):
        check_meter_name(meter)
    log = log if log is not None else sys.stderr
    summary = SweepSummary()
    check_output(output, resume, overwrite)
    kept = resumable_records(output) if resume else []
    existing = {config_key(r["config"]) for r in kept}
    protocol_kwargs = protocol_settings(protocol)
    measure = point_measurer(profile_fn)
    configs = [Config.from_record(c) for c in configs]  # a record's config dict is validated into a Config
    for threads in sorted({c.threads for c in configs}):  # measured here: no more threads than CPUs
        check_threads_available(threads)

    progress = progress or Progress(len(configs), stream=log)
    with opened_meter(meter) as first_meter, ExitStack() as reopened:
        meter_obj = first_meter
        if require_measured and meter_obj.provenance != "measured":
            raise ConfigError(
                f"--require-measured: the meter {meter_obj.name!r} makes {meter_obj.provenance} joules, not measured "
                "ones; pick a measured --meter (powercap, perf, msr, pyrapl; `lstm-energy meters` says which work "
                "here), or drop --require-measured to record the estimate labelled as such"
            )
        check_resume_meter(kept, output, meter_obj)
        if overwrite:
            discard_for_overwrite(output)
        with ResultsWriter(output) as writer:
            for config in configs:
                label = config.label()
                if config_key(config.as_record()) in existing:
                    summary.resumed += 1
                    progress.update(label, skipped=True)
                    continue
                try:
                    record = measure(config, meter_obj, protocol_kwargs)
                except LstmEnergyError as err:
                    summary.failed.append((config, str(err)))
                    log.write(f"FAILED {label}: {err}\n")
                    progress.update(label + " (failed)")
                    if isinstance(err, MeterError) and isinstance(meter, str):
                        meter_obj = _reopen(meter_obj, meter, reopened, log)
                    continue
                writer.append(record)
                summary.count_record(record)
                progress.update(label)
    return summary


def _reopen(broken, name: str, reopened: ExitStack, log: TextIO):
    """A fresh meter ``name`` in place of ``broken`` (closed here), kept open until the sweep ends.

    Opening proves again that the counter counts; when it does not, its MeterUnavailableError stops
    the sweep (the records so far are in the file; ``--resume`` continues once the meter works)."""
    from lstm_energy.meters import get_meter

    broken.close()
    log.write(f"reopening the {name!r} meter after a meter error\n")
    fresh = get_meter(name)
    reopened.callback(fresh.close)
    return fresh
