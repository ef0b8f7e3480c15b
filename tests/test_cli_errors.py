"""The command line's own behaviour: warnings as clean lines, usage errors (threads, unwritable paths)
as one line and exit 2, before any work is done."""

import warnings

import pytest

from lstm_energy.cli import main


def test_a_warning_prints_as_one_clean_line_with_its_full_text_and_no_source(monkeypatch, capsys):
    from lstm_energy.cli import meters_cmd

    def warns(args):
        warnings.warn("NO MEASURED ENERGY: first line\n  - powercap: why", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(meters_cmd, "run", warns)
    before = warnings.showwarning
    assert main(["meters"]) == 0
    err = capsys.readouterr().err
    assert err == "WARNING (UserWarning): NO MEASURED ENERGY: first line\n  - powercap: why\n"
    assert warnings.showwarning is before  # the hook lives only while the command runs


def test_profile_refuses_more_threads_than_cpus(monkeypatch, capsys):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    with pytest.raises(SystemExit) as exit_info:
        main(["profile", "--cell", "gru", "-B", "1", "-T", "1", "-D", "1", "-H", "1", "--threads", "64"])
    assert exit_info.value.code == 2
    assert "threads=64 is more than the 2 CPU(s) this process may run on" in capsys.readouterr().err


def test_forecast_refuses_more_threads_than_cpus(monkeypatch, capsys):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0})
    with pytest.raises(SystemExit) as exit_info:
        main(["forecast", "--threads", "2"])
    assert exit_info.value.code == 2
    assert "threads=2 is more than the 1 CPU(s)" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["-o", "--records"])
def test_forecast_refuses_an_unwritable_path_before_training(tmp_path, capsys, flag, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    def too_late():
        raise AssertionError("the data was loaded before the paths were checked")

    monkeypatch.setattr("lstm_energy.forecast.data.load_co2_monthly", too_late)
    paths = {"-o": str(tmp_path / "f.html"), "--records": str(tmp_path / "f.jsonl")}
    paths[flag] = str(blocker / "x")
    assert main(["forecast", "--meter", "model", "-o", paths["-o"], "--records", paths["--records"]]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ERROR: cannot write {flag} '{blocker / 'x'}'") and err.count("\n") == 1
    assert not (tmp_path / "f.html").exists() and not (tmp_path / "f.jsonl").exists()
