"""`lstm-energy profile` and `lstm-energy calibrate` from the command line."""

import json
import os
import sys

import pytest

from lstm_energy.cli import main
from lstm_energy.meters.model import PROFILE_ENV

SMALL = [
    "--cell",
    "gru",
    "-B",
    "4",
    "-T",
    "6",
    "-D",
    "8",
    "-H",
    "8",
    "--impl",
    "numpy",
    "--windows",
    "3",
    "--min-window-seconds",
    "0.02",
]


@pytest.fixture(autouse=True)
def no_profile_in_environment(monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)


def test_python_m_profile_json_on_a_host_with_a_dead_counter_is_an_estimate(isolated_host):
    env = {k: v for k, v in os.environ.items() if k != PROFILE_ENV}
    done = isolated_host(
        [sys.executable, "-m", "lstm_energy", "profile", *SMALL, "--json"], counters="dead", env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["energy"]["provenance"] == "estimated"
    assert record["energy"]["meter"]["name"] == "model"
    assert "NO MEASURED ENERGY" in done.stderr  # the fallback is loud, never silent
    assert "does not count" in done.stderr  # and says why the dead counter was passed over
    assert any(w.startswith("estimated, not measured") for w in record["warnings"])


def test_human_output_says_estimated_in_its_first_line(capsys):
    assert main(["profile", *SMALL, "--meter", "model", "--phase", "backward"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ESTIMATED, NOT MEASURED:") and "J per sequence" in out[0]
    assert "uncalibrated" in out[0]
    assert any(line.strip().startswith("WARNING: estimated, not measured") for line in out)
    # the estimator line is the one description every table prints (lstm_energy.results)
    (estimator,) = [line for line in out if line.strip().startswith("estimator ")]
    assert "ESTIMATED, NOT MEASURED, by the 'model' estimator" in estimator and "Cloud Carbon Footprint" in estimator


def test_profile_json_with_an_explicit_estimator(capsys):
    assert (
        main(
            [
                "profile",
                *SMALL,
                "--meter",
                "model",
                "--json",
                "--layers",
                "2",
                "--bidirectional",
                "--dtype",
                "float64",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    record = json.loads(capsys.readouterr().out)
    assert record["energy"]["provenance"] == "estimated"
    assert record["config"] == {
        "cell": "gru",
        "nonlinearity": None,
        "impl": "numpy",
        "phase": "forward",
        "batch": 4,
        "seq_len": 6,
        "input_size": 8,
        "hidden_size": 8,
        "num_layers": 2,
        "bidirectional": True,
        "dtype": "float64",
        "threads": 1,
        "precision": "fp32",
    }


@pytest.mark.parametrize(
    "bad",
    [
        ["--cell", "tcn"],
        ["-B", "0"],
        ["--phase", "predict"],
        ["--impl", "jax"],
        ["--meter", "nonesuch"],
        ["--threads", "0"],
    ],
)
def test_bad_usage_exits_2(bad, capsys):
    args = ["profile", "--cell", "gru", "-B", "4", "-T", "6", "-D", "8", "-H", "8"]
    with pytest.raises(SystemExit) as exit_info:
        main(args + bad)
    assert exit_info.value.code == 2
    assert bad[1] in capsys.readouterr().err  # the message names the bad value


def test_calibrate_rejects_an_unknown_meter_name_as_bad_usage(capsys):
    """--meter is checked by the shared meter_name type: exit 2 naming the value and the valid names."""
    with pytest.raises(SystemExit) as exit_info:
        main(["calibrate", "--meter", "rapl"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown energy meter 'rapl'" in err and "powercap" in err and "`lstm-energy meters`" in err


def test_calibrate_refuses_an_estimator(capsys, tmp_path):
    output = tmp_path / "p.json"
    assert main(["calibrate", "--meter", "model", "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert "calibration needs real energy counters" in err and "RAPL" in err
    assert not output.exists()


@pytest.mark.parametrize("counters", ["none", "dead"])
def test_calibrate_exits_1_on_a_machine_without_counting_counters(isolated_host, tmp_path, counters):
    output = tmp_path / "p.json"
    done = isolated_host([sys.executable, "-m", "lstm_energy", "calibrate", "-o", str(output)], counters=counters)
    assert done.returncode == 1, done.stderr
    assert "calibration needs real energy counters" in done.stderr
    assert not output.exists()
