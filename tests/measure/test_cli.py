"""`lstm-energy profile` and `lstm-energy calibrate` from the command line."""
import json
import os
import subprocess
import sys

import pytest

from lstm_energy.cli import main
from lstm_energy.meters import available_meters
from lstm_energy.meters.model import PROFILE_ENV

SMALL = ["--cell", "gru", "-B", "4", "-T", "6", "-D", "8", "-H", "8", "--impl", "numpy",
         "--windows", "3", "--min-window-seconds", "0.02"]
MEASURED_HERE = any(a.available and a.provenance == "measured" for a in available_meters())


@pytest.fixture(autouse=True)
def no_profile_in_environment(monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)


def test_python_m_profile_json_reports_the_provenance_of_this_machine():
    env = {k: v for k, v in os.environ.items() if k != PROFILE_ENV}
    done = subprocess.run([sys.executable, "-m", "lstm_energy", "profile", *SMALL, "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["energy"]["provenance"] == ("measured" if MEASURED_HERE else "estimated")
    if not MEASURED_HERE:
        assert record["energy"]["meter"]["name"] == "model"
        assert "NO MEASURED ENERGY" in done.stderr  # the fallback is loud, never silent
        assert any(w.startswith("estimated, not measured") for w in record["warnings"])


def test_human_output_says_estimated_in_its_first_line(capsys):
    assert main(["profile", *SMALL, "--meter", "model", "--phase", "backward"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ESTIMATED, NOT MEASURED:") and "J per sequence" in out[0]
    assert "uncalibrated" in out[0]
    assert any(line.strip().startswith("WARNING: estimated, not measured") for line in out)


def test_profile_json_with_an_explicit_estimator(capsys):
    assert main(["profile", *SMALL, "--meter", "model", "--json", "--layers", "2", "--bidirectional",
                 "--dtype", "float64", "--threads", "1"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["energy"]["provenance"] == "estimated"
    assert record["config"] == {"cell": "gru", "nonlinearity": None, "impl": "numpy", "phase": "forward", "batch": 4,
                                "seq_len": 6, "input_size": 8, "hidden_size": 8, "num_layers": 2,
                                "bidirectional": True, "dtype": "float64", "threads": 1}


@pytest.mark.parametrize("bad", [["--cell", "tcn"], ["-B", "0"], ["--phase", "predict"], ["--impl", "jax"],
                                 ["--meter", "nonesuch"], ["--threads", "0"]])
def test_bad_usage_exits_2(bad, capsys):
    args = ["profile", "--cell", "gru", "-B", "4", "-T", "6", "-D", "8", "-H", "8"]
    with pytest.raises(SystemExit) as exit_info:
        main(args + bad)
    assert exit_info.value.code == 2
    assert bad[1] in capsys.readouterr().err  # the message names the bad value


def test_calibrate_refuses_an_estimator(capsys, tmp_path):
    output = tmp_path / "p.json"
    assert main(["calibrate", "--meter", "model", "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert "calibration needs real energy counters" in err and "RAPL" in err
    assert not output.exists()


@pytest.mark.skipif(MEASURED_HERE, reason="this machine has a measured meter, so calibrate would run")
def test_calibrate_exits_1_on_a_machine_without_counters(capsys, tmp_path):
    output = tmp_path / "p.json"
    assert main(["calibrate", "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert "calibration needs real energy counters" in err
    assert not output.exists()
