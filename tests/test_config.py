"""The one configuration object: validation (each bad field -> ConfigError naming it), its record
form, and results files written before it existed (tests/data/results-v1.jsonl) still loading,
rendering and resuming."""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstm_energy.config import CELLS, GATES, IMPLS, NONLINEARITIES, PHASES, RECORD_KEYS, Config
from lstm_energy.errors import ArgumentTypeError, ConfigError, LstmEnergyError

OLD_RESULTS = Path(__file__).resolve().parent / "data" / "results-v1.jsonl"
GOOD = dict(cell="lstm", batch=2, seq_len=3, input_size=4, hidden_size=5)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(cell="lstmx"), r"unknown cell 'lstmx': cell must be one of 'lstm', 'gru', 'rnn'; pass cell='lstm'"),
        (dict(impl="jax"), r"unknown impl 'jax': impl must be one of 'cython', 'numpy', 'torch'"),
        (
            dict(phase="eval"),
            r"unknown phase 'eval': phase must be one of 'forward', 'backward', 'train'; 'train' means",
        ),
        (dict(dtype="float16"), r"unknown dtype 'float16': dtype must be float32 or float64 .*pass dtype='float32'"),
        (dict(dtype=np.int8), r"dtype must be float32 or float64"),
        (
            dict(cell="rnn", nonlinearity="sigmoid"),
            r"unknown nonlinearity 'sigmoid': nonlinearity must be 'tanh' or 'relu'",
        ),
        (dict(cell="rnn", nonlinearity=None), r"unknown nonlinearity None"),
        (
            dict(cell="gru", nonlinearity="relu"),
            r"nonlinearity='relu' only applies to cell='rnn', got cell='gru'; drop",
        ),
        (dict(batch=0), r"batch must be a positive int, got 0; pass e.g. batch=1"),
        (dict(seq_len=-1), r"seq_len must be a positive int, got -1"),
        (dict(threads=0), r"threads must be a positive int, got 0; pass threads=1 for one core"),
        (dict(bidirectional="yes"), r"bidirectional must be True or False, got 'yes'"),
    ],
)
def test_each_bad_field_is_a_config_error_naming_it_and_the_value(change, message):
    with pytest.raises(ConfigError, match=message) as info:
        Config(**{**GOOD, **change})
    assert isinstance(info.value, (LstmEnergyError, ValueError))


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(input_size=True), r"input_size must be a positive int, got True of type bool; pass e.g. input_size=1"),
        (dict(hidden_size=2.5), r"hidden_size must be a positive int, got 2.5 of type float"),
        (dict(num_layers="2"), r"num_layers must be a positive int, got '2' of type str"),
        (dict(dtype=None), r"dtype must be a dtype name or a NumPy dtype, got None"),
    ],
)
def test_a_field_of_the_wrong_type_is_an_argument_type_error_naming_it(change, message):
    with pytest.raises(ArgumentTypeError, match=message) as info:
        Config(**{**GOOD, **change})
    assert isinstance(info.value, (LstmEnergyError, TypeError))


def test_fields_are_keyword_only_and_sizes_required():
    with pytest.raises(TypeError):
        Config("lstm", 2, 3, 4, 5)
    with pytest.raises(TypeError):
        Config(cell="lstm")


def test_values_are_normalised_once():
    c = Config(
        cell="rnn",
        batch=np.int64(2),
        seq_len=3,
        input_size=4,
        hidden_size=5,
        dtype=np.float64,
        bidirectional=np.bool_(True),
    )
    assert (c.batch, c.dtype, c.bidirectional) == (2, "float64", True)
    assert type(c.batch) is int and c.nonlinearity == "tanh"
    # LSTM/GRU have no nonlinearity: the default "tanh" (or None, from a record) is stored as None
    assert Config(**GOOD).nonlinearity is None
    assert Config(**GOOD, nonlinearity=None) == Config(**GOOD)


def test_as_record_is_exactly_the_records_config_dict():
    c = Config(
        cell="gru",
        impl="numpy",
        phase="train",
        batch=8,
        seq_len=16,
        input_size=32,
        hidden_size=64,
        num_layers=2,
        bidirectional=True,
        threads=2,
    )
    assert c.as_record() == {
        "cell": "gru",
        "nonlinearity": None,
        "impl": "numpy",
        "phase": "train",
        "batch": 8,
        "seq_len": 16,
        "input_size": 32,
        "hidden_size": 64,
        "num_layers": 2,
        "bidirectional": True,
        "dtype": "float32",
        "threads": 2,
        "precision": "fp32",  # issue 18
    }
    assert list(c.as_record()) == list(RECORD_KEYS)
    json.dumps(c.as_record())
    # it reads like that dict, and a record's dict comes back to the same Config
    assert c == c.as_record() and c.as_record() == c and dict(c) == c.as_record() and c["phase"] == "train"
    assert Config.from_record(c.as_record()) == c and hash(Config.from_record(c.as_record())) == hash(c)
    with pytest.raises(KeyError):
        c["layers"]


def test_replace_validates_again():
    c = Config(**GOOD)
    assert c.replace(hidden_size=7).hidden_size == 7
    with pytest.raises(ConfigError, match="hidden_size must be a positive int"):
        c.replace(hidden_size=0)


def test_derived_shape_facts():
    c = Config(cell="gru", batch=2, seq_len=3, input_size=4, hidden_size=5, num_layers=3, bidirectional=True)
    assert (c.gates, c.directions, c.cell_kind, c.dtype_bytes) == (3, 2, "gru", 4)
    assert c.layer_input_sizes() == [4, 10, 10]
    assert (
        Config(cell="rnn", nonlinearity="relu", **{k: v for k, v in GOOD.items() if k != "cell"}).cell_kind
        == "rnn_relu"
    )
    assert c.label() == "gru forward cython B=2 T=3 D=4 H=5 L=3 bi t=1"


def test_the_vocabulary_is_defined_once_and_used_everywhere():
    from lstm_energy import layers
    from lstm_energy._layers import workspaces
    from lstm_energy.cli import profile_cmd
    from lstm_energy.forecast import model
    from lstm_energy.sweep import grid

    assert CELLS == ("lstm", "gru", "rnn") and PHASES == ("forward", "backward", "train")
    assert IMPLS == ("cython", "numpy", "torch") and NONLINEARITIES == ("tanh", "relu")
    assert workspaces.GATES is GATES and model.CELLS is CELLS and layers.NONLINEARITIES is NONLINEARITIES
    assert grid.CELLS is CELLS and profile_cmd.PHASES is PHASES
    assert (layers.LSTM.gates, layers.GRU.gates, layers.RNN.gates) == (GATES["lstm"], GATES["gru"], GATES["rnn"])


# --------------------------------------------------- a results file written before Config existed


def _old_configs() -> list[dict]:
    return [json.loads(line)["config"] for line in OLD_RESULTS.read_text().splitlines() if line.strip()]


def test_the_old_results_file_is_small_and_has_lstm_and_rnn_records():
    assert OLD_RESULTS.stat().st_size < 50_000
    configs = _old_configs()
    assert {c["cell"] for c in configs} == {"lstm", "rnn"}
    for c in configs:  # every old record's config is a valid Config whose record form is that dict, key for key
        assert list(c) == [k for k in RECORD_KEYS if k != "precision"]  # written before issue 18 added it
        assert Config.from_record(c).as_record() == {**c, "precision": "fp32"}  # missing precision: fp32
        assert Config.from_record(c) == c


def test_load_dataframe_reads_the_old_file():
    from lstm_energy.results import load_dataframe

    frame = load_dataframe(OLD_RESULTS)
    assert len(frame) == len(_old_configs()) and not frame.attrs["problems"]
    assert set(frame["config.cell"]) == {"lstm", "rnn"}
    assert list(frame["config.nonlinearity"].isna()) == [c["nonlinearity"] is None for c in _old_configs()]
    assert (frame["energy.joules_per_sequence.median"] > 0).all()


def test_report_renders_the_old_file(tmp_path):
    out = tmp_path / "old.html"
    done = subprocess.run(
        [sys.executable, "-m", "lstm_energy", "report", str(OLD_RESULTS), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 0 and "<svg" in out.read_text()


def _old_file_priced_by_this_hosts_estimator(tmp_path) -> Path:
    """The old file with each record's meter description replaced by the one the ``model`` meter gives on
    this host: its records were estimated on a Zen 4 under that CPU's coefficients, and a resume under
    other coefficients is refused (tests/sweep/test_resume_identity.py); these tests are about the
    resume keys of the old configs, not the meter."""
    from lstm_energy.meters import opened_meter

    with opened_meter("model") as meter:
        here = meter.describe()
    lines = []
    for line in OLD_RESULTS.read_text().splitlines():
        record = json.loads(line)
        record["energy"]["meter"] = here
        lines.append(json.dumps(record, default=str))
    results = tmp_path / "results.jsonl"
    results.write_text("\n".join(lines) + "\n")
    return results


def test_resume_recognises_every_point_of_the_old_file(tmp_path):
    """The resume key of a Config made today matches the records written before it existed."""
    from lstm_energy.results import config_key
    from lstm_energy.sweep import Grid, done_keys, expand, run_sweep

    results = _old_file_priced_by_this_hosts_estimator(tmp_path)
    grid = Grid(
        cells=("lstm", "rnn"),
        impls=("cython",),
        phases=("forward", "train"),
        batch=(8,),
        seq_len=(16,),
        input_size=(32,),
        hidden_size=(32,),
    )
    configs, _ = expand(grid, available=lambda impl: True)
    assert {config_key(c) for c in configs} == done_keys(results)

    def must_not_run(**kwargs):
        raise AssertionError(f"resumed point measured again: {kwargs}")

    summary = run_sweep(configs, results, meter="model", resume=True, profile_fn=must_not_run, log=io.StringIO())
    assert summary.resumed == len(configs) == 4 and summary.measured == 0 and not summary.failed


def test_sweep_cli_resume_on_the_old_file_measures_nothing_again(tmp_path):
    from lstm_energy.sweep import cython_available

    if not cython_available():
        pytest.skip("the old file's points are impl='cython'; build the kernels to resume them")
    results = _old_file_priced_by_this_hosts_estimator(tmp_path)
    before = results.read_bytes()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lstm_energy",
            "sweep",
            "--preset",
            "quick",
            "--meter",
            "model",
            "--cells",
            "lstm,rnn",
            "--impls",
            "cython",
            "--hidden-size",
            "32",
            "--resume",
            "-o",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == f"sweep: 0 new records, 4 already in the file, 0 failed -> {results}"
    assert results.read_bytes() == before


def test_threads_above_the_cpus_this_process_may_use_are_refused_naming_the_count(monkeypatch):
    from lstm_energy.config import check_threads_available, usable_cpu_count

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert usable_cpu_count() == 2
    assert check_threads_available(2) == 2
    with pytest.raises(ConfigError, match=r"threads=64 is more than the 2 CPU\(s\) this process may run on"):
        check_threads_available(64)
    with pytest.raises(ConfigError, match="positive int"):
        check_threads_available(0)
