"""One error hierarchy (docs: design.md, "Errors"): every error lstm_energy raises on purpose is a
``LstmEnergyError``, and stays catchable as the builtin it used to be (``ConfigError`` is a ValueError,
``ArgumentTypeError`` a TypeError, ``ShapeError`` a ValueError, ``StateError`` a RuntimeError).

(a) public calls with bad arguments, each raising the hierarchy's class; (b) a scan of the package's
sources for ``raise ValueError(`` / ``TypeError(`` / ``RuntimeError(``, with a short allow-list.
"""

from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest

from lstm_energy.errors import ArgumentTypeError, ConfigError, LstmEnergyError, ShapeError, StateError

PACKAGE = Path(__file__).resolve().parents[1] / "lstm_energy"
SIZES = dict(batch=2, seq_len=3, input_size=4, hidden_size=5)


# ------------------------------------------------------------------------------ (a) public calls
def call(module: str, function: str, *args, **kwargs):
    """``module.function(*args, **kwargs)``, deferred: the module is imported when the case runs."""
    return lambda: getattr(import_module(module), function)(*args, **kwargs)


def _layer(cls_name="LSTM", *args, **kwargs):
    from lstm_energy import layers

    return getattr(layers, cls_name)(*(args or (3, 4)), **{"impl": "numpy", **kwargs})


def _backward_before_forward():
    _layer().backward(np.ones((2, 1, 4), np.float32))


def _series(values):
    from lstm_energy.forecast.data import Series

    values = np.asarray(values, dtype=np.float64)
    return Series("toy", values, np.arange(values.size).astype("datetime64[M]"), "ppm", 12, "a test")


def _prepare(window):
    from lstm_energy.forecast.data import prepare

    prepare(_series(np.arange(60.0)), window=window)


def _run_search(**options):
    from lstm_energy.forecast.search import run_search

    run_search(None, None, None, **options)  # the options are checked before the series is read


def _config(**change):
    from lstm_energy.config import Config

    Config(**{"cell": "lstm", **SIZES, **change})


def _flops(**change):
    from lstm_energy.costs import flops

    flops(**{"cell": "lstm", **SIZES, **change})


def _traffic(**change):
    from lstm_energy.costs import traffic

    traffic("lstm", **{**SIZES, "caches": {"L2": 2**20, "LLC": 2**25}, **change})


def _profile(**change):
    from lstm_energy import profile

    profile("lstm", **{**SIZES, "impl": "numpy", "meter": "simulated", **change})


# (label, call, hierarchy class, builtin base the call raised before the hierarchy)
BAD_CALLS = [
    # layers
    ("RNN nonlinearity", lambda: _layer("RNN", nonlinearity="sigmoid"), ConfigError, ValueError),
    ("LSTM input_size 0", lambda: _layer("LSTM", 0, 4), ConfigError, ValueError),
    ("LSTM input_size 2.5", lambda: _layer("LSTM", 2.5, 4), ArgumentTypeError, TypeError),
    ("LSTM impl 'c'", lambda: _layer(impl="c"), ConfigError, ValueError),
    ("eval precision fp16", lambda: _layer().eval(precision="fp16"), ConfigError, ValueError),
    ("int8 on a float64 layer", lambda: _layer(dtype=np.float64).eval(precision="int8"), ConfigError, ValueError),
    # was a TypeError: the layers and Config now share one dtype check, and a dtype outside the
    # kernels' two is a value outside a vocabulary (ConfigError), as Config(dtype=...) always said
    ("LSTM dtype int8", lambda: _layer(dtype="int8"), ConfigError, ValueError),
    ("LSTM dtype None", lambda: _layer(dtype=None), ArgumentTypeError, TypeError),
    ("forward float64 x", lambda: _layer().forward(np.ones((2, 1, 3))), ArgumentTypeError, TypeError),
    ("forward 2-D x", lambda: _layer().forward(np.ones((2, 3), np.float32)), ShapeError, ValueError),
    (
        "GRU hx as a tuple",
        lambda: _layer("GRU").forward(np.ones((2, 1, 3), np.float32), (None, None)),
        ArgumentTypeError,
        TypeError,
    ),
    ("load_state_dict list", lambda: _layer().load_state_dict([]), ArgumentTypeError, TypeError),
    ("backward before forward", _backward_before_forward, StateError, RuntimeError),
    # the engines' shared helpers
    (
        "workspace pass",
        call("lstm_energy.reference", "workspace_shapes", "lstm", "sideways", 1, 1, 1, 1, False),
        ConfigError,
        ValueError,
    ),
    (
        "aligned_empty alignment 3",
        call("lstm_energy._layers.aligned", "aligned_empty", 4, np.float32, alignment=3),
        ConfigError,
        ValueError,
    ),
    (
        "lowp precision fp16",
        call("lstm_energy.reference.lowp", "prepare_weight", np.ones((2, 2)), "fp16"),
        ConfigError,
        ValueError,
    ),
    (
        "rows of a strided array",
        call("lstm_energy.reference.views", "rows", np.ones((4, 3, 2))[::2]),
        ShapeError,
        ValueError,
    ),
    # Config and profile (the same checks, at the other entry points)
    ("Config cell", lambda: _config(cell="tcn"), ConfigError, ValueError),
    ("Config threads 0", lambda: _config(threads=0), ConfigError, ValueError),
    # was a ValueError: a float where an int is needed is an ArgumentTypeError, as it always was for the layers
    ("Config hidden_size 2.5", lambda: _config(hidden_size=2.5), ArgumentTypeError, TypeError),
    ("profile phase", lambda: _profile(phase="predict"), ConfigError, ValueError),
    ("profile dtype", lambda: _profile(dtype="float16"), ConfigError, ValueError),
    # costs
    ("flops batch 0", lambda: _flops(batch=0), ConfigError, ValueError),
    ("flops cell", lambda: _flops(cell="lstmx"), ConfigError, ValueError),
    ("traffic cache fraction", lambda: _traffic(usable_cache_fraction=2.0), ConfigError, ValueError),
    ("traffic caches 3", lambda: _traffic(caches=3), ArgumentTypeError, TypeError),
    ("traffic cache key", lambda: _traffic(caches={"L9x": 1024}), ConfigError, ValueError),
    # results and compare
    ("load_records()", call("lstm_energy.results", "load_records"), ConfigError, ValueError),
    ("load_dataframe(3)", call("lstm_energy.results", "load_dataframe", 3), ArgumentTypeError, TypeError),
    (
        "compare threshold 1.5",
        call("lstm_energy.compare", "compare_records", [], [], threshold=1.5),
        ConfigError,
        ValueError,
    ),
    # forecasting options
    ("ModelConfig cell", call("lstm_energy.forecast.model", "ModelConfig", "tcn", 8), ConfigError, ValueError),
    ("ModelConfig hidden 0", call("lstm_energy.forecast.model", "ModelConfig", "gru", 0), ConfigError, ValueError),
    ("TrainConfig epochs 0", call("lstm_energy.forecast.train", "TrainConfig", epochs=0), ConfigError, ValueError),
    ("Adam lr 0", call("lstm_energy.forecast.optim", "Adam", lr=0), ConfigError, ValueError),
    ("search threads 0", lambda: _run_search(threads=0), ConfigError, ValueError),
    ("search strategy", lambda: _run_search(strategy="annealing"), ConfigError, ValueError),
    ("Series with NaN", lambda: _series([1.0, np.nan, 3.0]), ConfigError, ValueError),
    ("prepare window 0", lambda: _prepare(0), ConfigError, ValueError),
    ("mse_loss shapes", call("lstm_energy.forecast.model", "mse_loss", np.ones(3), np.ones(4)), ShapeError, ValueError),
    # measurement helpers
    ("sgemm threads 0", call("lstm_energy.machine.peak", "measure_sgemm", 0), ConfigError, ValueError),
    ("PMU format", call("lstm_energy.perf.sysfs", "parse_format", "config"), ConfigError, ValueError),
]


@pytest.mark.parametrize("bad_call, error, builtin", [case[1:] for case in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_bad_arguments_raise_the_hierarchy_and_stay_the_builtin(bad_call, error, builtin):
    with pytest.raises(LstmEnergyError) as info:
        bad_call()
    assert isinstance(info.value, error), f"{type(info.value).__name__}: {info.value}"
    assert isinstance(info.value, builtin)
    assert str(info.value), "the message says what was wrong"


def test_unknown_meter_on_the_command_line_exits_2_before_any_work(capsys):
    from lstm_energy.cli import main
    from lstm_energy.meters.registry import NAMES

    for command in (["profile", "--cell", "gru", "-B", "1", "-T", "1", "-D", "1", "-H", "1"], ["sweep"], ["forecast"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--meter", "rapl"])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert "unknown energy meter 'rapl'" in err and ", ".join(NAMES) in err, err


def test_every_meter_option_lists_the_registry_names_in_its_help():
    from lstm_energy.cli import build_parser
    from lstm_energy.meters.registry import NAMES

    parser = build_parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    for name in ("profile", "sweep", "forecast"):
        (meter,) = [a for a in subcommands[name]._actions if "--meter" in a.option_strings]
        assert all(n in meter.help for n in NAMES), (name, meter.help)
        assert meter.type.__name__ == "meter_name", name


# ------------------------------------------------------------------------------ (b) source scan
BUILTIN_RAISE = re.compile(r"\braise\s+(ValueError|TypeError|RuntimeError)\s*\(")
SOURCE_SUFFIXES = (".py", ".pyx", ".pxd", ".pxi")

#: (file under lstm_energy/, text inside the raise statement) -> why a builtin is right there.
#: Not listed because the scan does not look for them: NotImplementedError in abstract methods and
#: Config.__getitem__'s KeyError (the Mapping protocol).
ALLOWED = {
    ("forecast/search.py", "training took other steps than planned"): (
        "internal invariant: train() and planned_batch_sizes() disagree, a bug in lstm_energy, not a bad argument"
    ),
    ("machine/_triad.pyx", "triad needs equal-length"): (
        "internal invariant: triad() is called only by machine/bandwidth.py, with the slices it computed"
    ),
    ("testing/browser.py", "chromium failed"): (
        "test helper: the external Chromium process failed; no argument or call order of ours was wrong"
    ),
    ("testing/power_driver.py", "power driver did not start"): (
        "test helper: the driver subprocess failed to start; its stderr is in the message"
    ),
}


def builtin_raises(root: Path = PACKAGE) -> list[tuple[str, int, str]]:
    """(path relative to ``root``, line number, the raise statement's first lines) of every builtin raise."""
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.suffix in SOURCE_SUFFIXES):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if BUILTIN_RAISE.search(line) and not line.lstrip().startswith("#"):
                statement = " ".join(lines[number - 1 : number + 2])
                hits.append((path.relative_to(root).as_posix(), number, statement))
    return hits


def _allowed_by(path: str, statement: str):
    return next((key for key in ALLOWED if key[0] == path and key[1] in statement), None)


def test_the_package_raises_no_bare_value_type_or_runtime_error():
    unexplained = [
        f"lstm_energy/{path}:{number}: {statement.strip()[:120]}"
        for path, number, statement in builtin_raises()
        if _allowed_by(path, statement) is None
    ]
    assert not unexplained, (
        "raise a class of lstm_energy.errors instead (ConfigError for a bad value, ArgumentTypeError for a "
        "wrong type, ShapeError for an array's shape or size, StateError for a call in the wrong order), or "
        "add the line to ALLOWED with the reason:\n" + "\n".join(unexplained)
    )


def test_every_allow_list_entry_still_matches_a_raise():
    used = {_allowed_by(path, statement) for path, _, statement in builtin_raises()}
    assert set(ALLOWED) <= used, f"stale ALLOWED entries: {sorted(set(ALLOWED) - used)}"


def test_the_scan_finds_a_bare_raise(tmp_path):
    (tmp_path / "bad.pyx").write_text("def f(x):\n    raise ValueError(\n        f'bad {x}')\n")
    (tmp_path / "fine.py").write_text("# raise ValueError('in a comment')\nraise ConfigError('ok')\n")
    assert [(path, number) for path, number, _ in builtin_raises(tmp_path)] == [("bad.pyx", 2)]
