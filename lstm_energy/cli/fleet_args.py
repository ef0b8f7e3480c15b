"""``lstm-energy sweep``'s flags for running on a Dask cluster and for the host measurement lock.

Kept apart from sweep_cmd.py so the sweep command gains two calls, not a second runner's worth of
options: ``add_arguments(parser)`` and ``run(args, configs, protocol)``.
"""

from __future__ import annotations

import os

from lstm_energy.cli.arg_types import non_negative_int
from lstm_energy.sweep.dask_runner import DEFAULT_RETRIES

# --retries defaults to None in argparse, so that a --retries given without a cluster is seen; the
# runner's DEFAULT_RETRIES is the default a cluster run gets.


def add_arguments(parser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="tcp://HOST:8786",
        help="run the grid on this Dask scheduler's workers (pip install 'lstm_energy[distributed]')",
    )
    where.add_argument(
        "--local-cluster",
        type=int,
        metavar="N",
        help="start a Dask LocalCluster of N workers on this host and run the grid on it",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--spread",
        dest="mode",
        action="store_const",
        const="spread",
        help="(needs --scheduler or --local-cluster; the default there) each point once, on whichever worker is free",
    )
    mode.add_argument(
        "--every-host",
        dest="mode",
        action="store_const",
        const="every-host",
        help="(needs --scheduler or --local-cluster) each point on every worker, to compare CPUs on one grid",
    )
    parser.set_defaults(mode=None)
    parser.add_argument(
        "--require-measured",
        action="store_true",
        help="record measured joules only: on a cluster, leave out workers whose meter is an estimate (or "
        "simulated); in process, refuse (exit 2) a --meter that is not measured, e.g. auto falling back to model",
    )
    parser.add_argument(
        "--retries",
        type=non_negative_int,
        default=None,
        metavar="N",
        help=f"(needs --scheduler or --local-cluster) reruns (>= 0) of a point whose worker died or that raised; "
        f"default {DEFAULT_RETRIES}",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="fail at once if another lstm-energy process is measuring on this host, instead of waiting for it",
    )


def wants_cluster(args) -> bool:
    return bool(args.scheduler or args.local_cluster is not None)


def check_usage(args) -> None:
    """ConfigError when a flag that only a cluster run uses (--spread, --every-host, --retries) is given
    without --scheduler or --local-cluster: it would be ignored in process, without a word; and when the
    --scheduler address is malformed (before the sweep says what it is about to do)."""
    from lstm_energy.errors import ConfigError

    if args.scheduler:
        from lstm_energy.sweep.dask_runner import check_scheduler_address

        check_scheduler_address(args.scheduler)
    if wants_cluster(args):
        return
    given = [f"--{args.mode}"] if args.mode else []  # --spread or --every-host
    if args.retries is not None:
        given.append("--retries")
    if given:
        raise ConfigError(
            f"{' and '.join(given)} need{'s' if len(given) == 1 else ''} a cluster: add --scheduler tcp://HOST:8786 "
            "or --local-cluster N, or drop " + ("it" if len(given) == 1 else "them") + " to measure in process"
        )


def apply_lock_settings(args) -> None:
    """--no-wait reaches every measurement of this process and of the LocalCluster workers it starts."""
    if args.no_wait:
        from lstm_energy.measure.host_lock import WAIT_VARIABLE

        os.environ[WAIT_VARIABLE] = "0"


def run(args, configs, protocol):
    """The sweep on the cluster (ConfigError when the extra is missing or the cluster is unusable)."""
    from lstm_energy.sweep.dask_runner import run_dask_sweep

    return run_dask_sweep(
        configs,
        args.output,
        scheduler=args.scheduler,
        local_cluster=args.local_cluster,
        mode=args.mode or "spread",
        meter=args.meter,
        protocol=protocol,
        resume=args.resume,
        require_measured=args.require_measured,
        overwrite=args.overwrite,
        retries=DEFAULT_RETRIES if args.retries is None else args.retries,
    )
