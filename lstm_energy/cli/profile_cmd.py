"""``lstm-energy profile``: joules per sequence of one configuration, measured or (said so) estimated."""

from __future__ import annotations

import json
import sys

from lstm_energy.cli.arg_types import add_meter_argument, positive_float, positive_int, thread_count
from lstm_energy.config import CELLS, DTYPES, IMPLS, NONLINEARITIES, PHASES, PRECISIONS

NAME = "profile"
HELP = "measure joules per sequence of one configuration"


def add_arguments(parser) -> None:
    parser.add_argument("--cell", required=True, choices=CELLS, help="recurrent cell")
    parser.add_argument("-B", "--batch", type=positive_int, required=True, help="sequences per call (B)")
    parser.add_argument("-T", "--seq-len", type=positive_int, required=True, help="sequence length (T)")
    parser.add_argument("-D", "--input-size", type=positive_int, required=True, help="input features (D)")
    parser.add_argument("-H", "--hidden-size", type=positive_int, required=True, help="hidden units (H)")
    parser.add_argument("--layers", type=positive_int, default=1, help="stacked layers (default 1)")
    parser.add_argument("--bidirectional", action="store_true", help="two directions per layer")
    parser.add_argument("--nonlinearity", choices=NONLINEARITIES, default="tanh", help="RNN only (default tanh)")
    parser.add_argument(
        "--phase",
        choices=PHASES,
        default="forward",
        help="forward (eval), backward alone, or train = forward + backward (default forward)",
    )
    parser.add_argument("--impl", choices=IMPLS, default="cython", help="implementation (default cython)")
    add_meter_argument(parser, "auto takes the first measured one, else the estimator, loudly")
    parser.add_argument(
        "--threads",
        type=thread_count,
        default=1,
        help="BLAS/OpenMP/torch threads, at most this machine's CPUs (default 1)",
    )
    parser.add_argument("--dtype", choices=DTYPES, default="float32", help="default float32")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="arithmetic of a forward: fp32 (default), bf16 or int8 (dynamic quantization); forward only",
    )
    parser.add_argument("--windows", type=positive_int, default=7, help="measurement windows (default 7)")
    parser.add_argument(
        "--min-window-seconds",
        type=positive_float,
        default=0.1,
        help="shortest window in seconds (default 0.1; never under 100 counter updates)",
    )
    parser.add_argument("--json", action="store_true", help="print the results record as JSON")


def _config(args):
    from lstm_energy.config import Config

    return Config(
        cell=args.cell,
        nonlinearity=args.nonlinearity,
        impl=args.impl,
        phase=args.phase,
        batch=args.batch,
        seq_len=args.seq_len,
        input_size=args.input_size,
        hidden_size=args.hidden_size,
        num_layers=args.layers,
        bidirectional=args.bidirectional,
        dtype=args.dtype,
        threads=args.threads,
        precision=args.precision,
    )


def run(args) -> int:
    import warnings

    from lstm_energy.cli import warning_text
    from lstm_energy.errors import ConfigError
    from lstm_energy.measure import profile_config
    from lstm_energy.measure.summary import render  # one rendering, shared with ProfileResult.__str__

    # the flags are the Config's fields (--layers is num_layers); argparse has checked each one
    try:
        config = _config(args)
    except ConfigError as err:  # a combination argparse cannot check (e.g. --precision int8 --phase train)
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = profile_config(
            config, meter=args.meter, windows=args.windows, min_window_seconds=args.min_window_seconds
        )
    for warning in caught:  # e.g. the registry's EstimatedEnergyWarning: shown once, without a traceback line
        if not issubclass(warning.category, ResourceWarning):
            print(warning_text(warning.message, warning.category), file=sys.stderr)
    record = result.to_record()
    if args.json:
        json.dump(record, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(render(record))
    return 0
