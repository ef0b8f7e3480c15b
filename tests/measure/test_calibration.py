"""Calibration: the fit recovers known parameters; estimates are never fitted."""

from dataclasses import replace

import numpy as np
import pytest

from lstm_energy.cli import build_parser, calibrate_cmd
from lstm_energy.errors import CalibrationError, MeterUnavailableError
from lstm_energy.measure.calibration import Observation, calibrate, fit_parameters
from lstm_energy.meters.model import ModelMeter, ModelParameters, ModelProfile
from lstm_energy.meters.simulated import SimulatedMeter

TRUE = ModelParameters(static_watts=10.0, cpu_watts=20.0, joules_per_flop=1e-9, joules_per_byte=1e-8)


class WorkSimulatedMeter(SimulatedMeter):
    """SimulatedMeter plus energy proportional to the work reported through note_work."""

    def __init__(self, joules_per_flop, joules_per_byte, **kwargs):
        super().__init__(dram_watts=0.0, **kwargs)
        self.joules_per_flop, self.joules_per_byte = joules_per_flop, joules_per_byte
        self.work_joules = 0.0

    def note_work(self, *, flops=0.0, bytes=0.0):  # noqa: A002
        self.work_joules += self.joules_per_flop * flops + self.joules_per_byte * bytes

    def true_joules(self):
        joules = super().true_joules()
        joules["package-0"] += self.work_joules
        return joules


def synthetic_rows(rng, noise=0.0):
    rows = []
    for _ in range(40):
        seconds = rng.uniform(0.1, 0.5)
        kind = rng.choice(["work", "idle"])
        cpu = seconds * rng.uniform(0.8, 2.0) if kind == "work" else seconds * rng.uniform(0, 0.01)
        flops = seconds * rng.uniform(1e9, 2e10) if kind == "work" else 0.0
        nbytes = seconds * rng.uniform(1e7, 1e9) if kind == "work" else 0.0
        joules = (
            TRUE.static_watts * seconds
            + TRUE.cpu_watts * cpu
            + TRUE.joules_per_flop * flops
            + TRUE.joules_per_byte * nbytes
        )
        rows.append(
            Observation(seconds, cpu, flops, nbytes, joules * (1 + noise * rng.standard_normal()), kind, "measured")
        )
    return rows


def test_fit_recovers_exact_parameters_from_noise_free_rows():
    fit = fit_parameters(synthetic_rows(np.random.default_rng(0)))
    for name, value in TRUE.as_dict().items():
        assert getattr(fit.parameters, name) == pytest.approx(value, rel=1e-6), name
    assert fit.r2 == pytest.approx(1.0)
    assert fit.max_relative_error < 1e-6


def test_fit_with_noise_reports_its_error():
    fit = fit_parameters(synthetic_rows(np.random.default_rng(1), noise=0.02))
    assert 0.001 < fit.median_relative_error < 0.05
    assert fit.parameters.static_watts == pytest.approx(TRUE.static_watts, rel=0.15)
    assert fit.parameters.cpu_watts == pytest.approx(TRUE.cpu_watts, rel=0.15)


def test_fit_needs_enough_rows():
    with pytest.raises(ValueError, match="at least 4"):
        fit_parameters(synthetic_rows(np.random.default_rng(0))[:3])


SMALL_SET = [
    dict(cell="lstm", batch=1, seq_len=8, input_size=16, hidden_size=16, phase="forward"),
    dict(cell="gru", batch=16, seq_len=8, input_size=64, hidden_size=64, phase="forward"),
    dict(cell="rnn", batch=32, seq_len=8, input_size=128, hidden_size=128, phase="train"),
    dict(cell="lstm", batch=4, seq_len=8, input_size=256, hidden_size=32, phase="train"),
    dict(cell="lstm", batch=64, seq_len=4, input_size=32, hidden_size=96, phase="forward"),
]


def test_calibrate_recovers_a_simulated_meters_parameters(tmp_path, virtual_time):
    # the meter and the protocol read one virtual clock (tests/measure/conftest.py): every window's joules
    # follow its reported wall and CPU seconds exactly, so the fit does not see scheduler jitter on a busy host
    meter = WorkSimulatedMeter(
        TRUE.joules_per_flop,
        TRUE.joules_per_byte,
        idle_watts=TRUE.static_watts,
        cpu_watts=TRUE.cpu_watts,
        update_interval_seconds=1e-4,
        wall_clock=virtual_time.wall,
        cpu_clock=virtual_time.cpu,
    )
    profile = calibrate(meter, SMALL_SET, impl="numpy", windows=3, min_window_seconds=0.04, allow_simulated=True)
    got = profile.parameters
    assert got.static_watts == pytest.approx(TRUE.static_watts, rel=0.02)
    assert got.cpu_watts == pytest.approx(TRUE.cpu_watts, rel=0.02)
    assert got.joules_per_flop == pytest.approx(TRUE.joules_per_flop, rel=0.05)
    assert got.joules_per_byte == pytest.approx(TRUE.joules_per_byte, rel=0.05)
    fit = profile.calibration["fit"]
    assert fit["r2"] > 0.999 and fit["observations"] == 2 * 3 * len(SMALL_SET)
    assert "SIMULATED" in profile.source and "R^2" in profile.source
    # the saved file is what another machine loads
    loaded = ModelMeter(profile.save(tmp_path / "profile.json"))
    assert loaded.parameters == got and loaded.describe()["calibration_fit"]["r2"] == fit["r2"]


def test_calibrate_refuses_estimates_and_unflagged_simulations():
    with pytest.raises(MeterUnavailableError, match="needs real energy counters.*RAPL"):
        calibrate(ModelMeter(), SMALL_SET, impl="numpy")
    with pytest.raises(MeterUnavailableError, match="simulated"):
        calibrate(SimulatedMeter(), SMALL_SET, impl="numpy")


def test_profile_json_round_trip(tmp_path):
    profile = ModelProfile(TRUE, "calibrated on x", {"fit": {"r2": 1.0}})
    assert ModelProfile.load(profile.save(tmp_path / "p.json")) == profile


# ------------------------------------------------------------------------ degenerate data is refused
def rows_with(joules_of, rng=None):
    """synthetic_rows geometry, joules replaced by joules_of(row)."""
    return [replace(r, joules=joules_of(r)) for r in synthetic_rows(rng or np.random.default_rng(0))]


def test_all_zero_energy_is_refused_not_saved_as_an_all_zero_profile():
    with pytest.raises(CalibrationError, match="measured 0 J"):
        fit_parameters(rows_with(lambda r: 0.0))


def test_constant_power_is_refused():
    with pytest.raises(CalibrationError, match="same in every window"):
        fit_parameters(rows_with(lambda r: 7.0 * r.seconds))


def test_negative_energy_is_refused():
    rows = synthetic_rows(np.random.default_rng(0))
    rows[3] = replace(rows[3], joules=-1.0)
    with pytest.raises(CalibrationError, match="observation 4 has negative energy"):
        fit_parameters(rows)


def test_a_regressor_without_spread_is_refused():
    # every window at exactly 100 % CPU utilisation: utilisation is a copy of the constant column
    rows = [replace(r, cpu_seconds=r.seconds) for r in synthetic_rows(np.random.default_rng(0))]
    with pytest.raises(CalibrationError, match=r"too little spread in the CPU utilisation"):
        fit_parameters(rows)
    no_flops = [replace(r, flops=0.0) for r in synthetic_rows(np.random.default_rng(0))]
    with pytest.raises(CalibrationError, match="FLOP rate .*0 in every window"):
        fit_parameters(no_flops)


def test_collinear_regressors_are_refused():
    # the byte rate is always 1/100 of the FLOP rate (one configuration run over and over)
    rows = [replace(r, bytes=r.flops / 100) for r in synthetic_rows(np.random.default_rng(0))]
    with pytest.raises(CalibrationError, match="collinear.*joules_per_flop, joules_per_byte"):
        fit_parameters(rows)


def test_a_fit_needing_a_negative_parameter_is_refused():
    # power FALLS with CPU utilisation (-15 W per CPU-second): NNLS would clamp cpu_watts to 0
    rows = rows_with(lambda r: 40.0 * r.seconds - 15.0 * r.cpu_seconds + 1e-9 * r.flops)
    with pytest.raises(CalibrationError, match=r"negative parameter \(cpu_watts = -15"):
        fit_parameters(rows)


def test_a_small_negative_unconstrained_coefficient_is_tolerated():
    # noise makes the unconstrained joules_per_byte slightly negative when the true value is 0: clamping is harmless
    rng = np.random.default_rng(3)
    rows = rows_with(
        lambda r: (10.0 * r.seconds + 20.0 * r.cpu_seconds + 1e-9 * r.flops) * (1 + 0.02 * rng.standard_normal())
    )
    fit = fit_parameters(rows)
    assert fit.parameters.joules_per_byte >= 0 and fit.r2 > 0.9


def test_a_fit_that_explains_nothing_is_refused():
    rng = np.random.default_rng(5)
    rows = rows_with(lambda r: r.seconds * rng.uniform(10.0, 30.0))  # power unrelated to the work
    with pytest.raises(CalibrationError, match=r"explains too little .*R\^2"):
        fit_parameters(rows)


def test_non_measured_observations_are_never_fitted():
    rows = synthetic_rows(np.random.default_rng(0))
    estimated = [replace(r, provenance="estimated") for r in rows]
    with pytest.raises(CalibrationError, match="only measured energy.*'estimated'"):
        fit_parameters(estimated)
    with pytest.raises(CalibrationError, match="estimated"):
        fit_parameters(estimated, allow_simulated=True)
    simulated = [replace(r, provenance="simulated") for r in rows]
    with pytest.raises(CalibrationError, match="'simulated'"):
        fit_parameters(simulated)
    assert fit_parameters(simulated, allow_simulated=True).r2 == pytest.approx(1.0)


def test_observations_carry_the_measurements_provenance():
    from lstm_energy.measure.calibration import observations
    from lstm_energy.measure.protocol import measure

    meter = SimulatedMeter(update_interval_seconds=1e-4)
    m = measure(lambda: sum(range(1000)), meter, windows=2, min_window_seconds=0.01)
    rows = observations(m, 10.0, 1.0)
    assert {r.provenance for r in rows} == {"simulated"} and len(rows) == 4


def test_cli_prints_a_refusal_without_a_traceback(capsys, tmp_path, virtual_time):
    """A counter that counts but never responds to load (10 W in every window) identifies nothing: the
    CLI refuses with the reason, exit 1, no traceback and no profile. The meter and the calibration set
    are injected into the subcommand's run path (the CLI opens --meter itself when none is given)."""

    class ConstantPowerCounter(SimulatedMeter):
        provenance = "measured"

    output = tmp_path / "p.json"
    args = build_parser().parse_args(["calibrate", "--impl", "numpy", "--windows", "1", "-o", str(output)])
    # on the virtual clock the protocol shares with the meter (tests/measure/conftest.py), every window's average
    # power is exactly 10 W however busy the host (with real clocks, scheduling made it vary, refused for another reason)
    meter = ConstantPowerCounter(
        idle_watts=10.0,
        cpu_watts=0.0,
        dram_watts=0.0,
        update_interval_seconds=1e-4,
        wall_clock=virtual_time.wall,
        cpu_clock=virtual_time.cpu,
    )
    assert calibrate_cmd.run(args, meter=meter, configs=SMALL_SET[:2]) == 1
    err = capsys.readouterr().err
    assert err.startswith("[1/2]") and "ERROR: calibration refused, no profile written:" in err
    assert "average power is the same in every window" in err
    assert "Traceback" not in err and not output.exists()
    assert meter.read().joules["package-0"] > 0, "an injected meter is left open for its owner to close"


class _MeasuredStandIn(SimulatedMeter):
    """A simulated counter standing in for a measured one (calibration refuses simulated joules)."""

    provenance = "measured"


def test_an_unwritable_output_is_refused_before_anything_is_measured(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = build_parser().parse_args(["calibrate", "--impl", "numpy", "-o", str(blocker / "p.json")])
    meter = _MeasuredStandIn(idle_watts=10.0, cpu_watts=20.0, update_interval_seconds=1e-4)
    assert calibrate_cmd.run(args, meter=meter, configs=SMALL_SET[:2]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: cannot write the model profile to") and err.count("\n") == 1, err
    assert "is a file, not a directory" in err and "[1/2]" not in err  # nothing was measured


def test_a_counter_failing_mid_calibration_is_one_error_line_and_no_profile(capsys, tmp_path):
    from lstm_energy.errors import MeterError

    class FailsAfterAFewReads(_MeasuredStandIn):
        reads = 0

        def read(self):
            self.reads += 1
            if self.reads > 6:
                raise MeterError("the counter stopped advancing (injected)")
            return super().read()

    output = tmp_path / "p.json"
    args = build_parser().parse_args(["calibrate", "--impl", "numpy", "--windows", "1", "-o", str(output)])
    meter = FailsAfterAFewReads(idle_watts=10.0, cpu_watts=20.0, update_interval_seconds=1e-4)
    assert calibrate_cmd.run(args, meter=meter, configs=SMALL_SET[:2]) == 1
    err = capsys.readouterr().err
    assert "ERROR: the meter failed while calibrating, no profile written: the counter stopped advancing" in err
    assert "Traceback" not in err and not output.exists()
