"""Sweep grids: presets, TOML files, flag overrides, expansion, skipped implementations, progress output."""

import io

import pytest

from lstm_energy.errors import ConfigError
from lstm_energy.sweep import PRESETS, Grid, Progress, expand, load_grid_toml, override, preset


def test_quick_preset_covers_three_cells_forward_and_train_and_two_impls_at_least():
    quick = PRESETS["quick"]
    assert set(quick.cells) == {"lstm", "gru", "rnn"}
    assert set(quick.phases) >= {"forward", "train"}
    assert {"cython", "numpy"} <= set(quick.impls)
    configs, _ = expand(quick, available=lambda impl: True)
    assert len(configs) == 3 * 2 * 3 * len(quick.hidden_size)
    assert len(expand(PRESETS["full"], available=lambda impl: True)[0]) > 10 * len(configs)


def test_expand_is_the_cross_product_with_full_config_dicts():
    grid = Grid(cells=("lstm", "rnn"), impls=("numpy",), phases=("forward",), hidden_size=(16, 32), batch=(2, 4))
    configs, notes = expand(grid, available=lambda impl: True)
    assert notes == []
    assert len(configs) == 2 * 2 * 2
    first = configs[0]
    assert first == {
        "cell": "lstm",
        "nonlinearity": None,
        "impl": "numpy",
        "phase": "forward",
        "batch": 2,
        "seq_len": 32,
        "input_size": 64,
        "hidden_size": 16,
        "num_layers": 1,
        "bidirectional": False,
        "dtype": "float32",
        "threads": 1,
    }
    assert {c["nonlinearity"] for c in configs if c["cell"] == "rnn"} == {"tanh"}


def test_unavailable_implementations_are_skipped_with_a_note_saying_so():
    grid = Grid(cells=("gru",), impls=("cython", "numpy", "torch"), phases=("forward",))
    configs, notes = expand(grid, available=lambda impl: impl != "torch")
    assert {c["impl"] for c in configs} == {"cython", "numpy"}
    assert len(notes) == 1 and "torch" in notes[0] and "not available" in notes[0] and "pip install" in notes[0]


def test_toml_file_overrides_the_preset_axis_by_axis(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(
        '[grid]\ncells = ["gru"]\nhidden_size = [8, 16]\nbidirectional = [false, true]\n'
        "[protocol]\nwindows = 2\nmin_window_seconds = 0.01\n"
    )
    grid = load_grid_toml(path, base=preset("quick"))
    assert grid.cells == ("gru",) and grid.hidden_size == (8, 16) and grid.bidirectional == (False, True)
    assert grid.phases == PRESETS["quick"].phases  # untouched axes keep the preset
    assert grid.protocol == {"windows": 2, "min_window_seconds": 0.01}


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('[grid]\ncells = ["lstm", "transformer"]\n', "'transformer' is not one of"),
        ("[grid]\nhidden_size = [0]\n", "integers >= 1"),
        ("[grid]\nwidth = [3]\n", "unknown grid axes"),
        ('[grids]\ncells = ["lstm"]\n', "unknown tables"),
        ("[grid\n", "not valid TOML"),
        ("[protocol]\nwindows = 0\n", r"\[protocol\] windows must be a whole number >= 1, got 0"),
        ("[protocol]\nwindows = 2.5\n", r"\[protocol\] windows must be a whole number >= 1, got 2.5"),
        ("[protocol]\nmin_window_seconds = 0\n", r"min_window_seconds must be a number of seconds > 0"),
        (
            "[protocol]\nwindoes = 3\n",
            r"unknown \[protocol\] setting\(s\) \['windoes'\]; the settings are "
            r"\['windows', 'min_window_seconds', 'warmup_calls', 'seed'\]",
        ),
        ('[protocol]\nmeter = "model"\n', r"\['meter'\].*choose the meter with --meter"),
    ],
)
def test_bad_toml_files_say_what_is_wrong(tmp_path, text, fragment):
    path = tmp_path / "grid.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment):
        load_grid_toml(path)


def test_a_grid_of_only_int8_training_is_empty_and_says_why():
    grid = Grid(cells=("rnn",), impls=("numpy",), phases=("train",), precisions=("int8",))
    with pytest.raises(ConfigError, match=r"the grid is empty: .*training runs in fp32 only; int8/bf16 are inference"):
        expand(grid, available=lambda impl: True)


def test_a_grid_of_only_torch_rnn_int8_is_empty_and_says_why():
    grid = Grid(cells=("rnn",), impls=("torch",), phases=("forward",), precisions=("int8",))
    with pytest.raises(ConfigError, match=r"the grid is empty: .*quantize_dynamic has no nn\.RNN"):
        expand(grid, available=lambda impl: True)


def test_a_grid_whose_implementations_are_all_unavailable_says_so():
    grid = Grid(cells=("gru",), impls=("torch",), phases=("forward",))
    with pytest.raises(
        ConfigError, match=r"the grid is empty: every implementation was skipped .*'torch'.*pip install"
    ):
        expand(grid, available=lambda impl: False)


def test_reduced_precisions_beside_training_leave_a_note_not_an_error():
    grid = Grid(cells=("rnn",), impls=("numpy",), phases=("forward", "train"), precisions=("fp32", "int8"))
    configs, notes = expand(grid, available=lambda impl: True)
    assert [(c.phase, c.precision) for c in configs] == [("forward", "fp32"), ("forward", "int8"), ("train", "fp32")]
    assert any("training runs in fp32" in note for note in notes)


def test_missing_toml_file_names_the_path(tmp_path):
    with pytest.raises(ConfigError, match="absent.toml"):
        load_grid_toml(tmp_path / "absent.toml")


def test_flags_are_comma_separated_lists_that_override():
    grid = override(preset("quick"), {"cells": "lstm,gru", "batch": "1, 4", "bidirectional": "true", "impls": None})
    assert grid.cells == ("lstm", "gru") and grid.batch == (1, 4) and grid.bidirectional == (True,)
    assert grid.impls == PRESETS["quick"].impls
    with pytest.raises(ConfigError, match="'seq_len' needs integers >= 1, got 'x'"):
        override(grid, {"seq_len": "x"})
    with pytest.raises(ConfigError, match="unknown preset"):
        preset("medium")


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_prints_plain_lines_with_eta_when_not_a_tty():
    stream, clock = io.StringIO(), _Clock()
    progress = Progress(4, stream=stream, clock=clock)
    progress.update("already there", skipped=True)
    clock.now = 10.0
    progress.update("lstm forward")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[1/4]  25%") and "ETA --:--" in lines[0] and "resumed: already there" in lines[0]
    # one measured point took 10 s; two points remain -> ETA 0:20
    assert lines[1].startswith("[2/4]  50%") and "elapsed 0:10" in lines[1] and "ETA 0:20" in lines[1]


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_redraws_one_bar_on_a_tty():
    stream, clock = _Tty(), _Clock()
    progress = Progress(2, stream=stream, clock=clock)
    clock.now = 3.0
    progress.update("a")
    clock.now = 6.0
    progress.update("b")
    text = stream.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert "[########################] 2/2 100%" in text
