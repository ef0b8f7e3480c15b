"""Report rows whose power no CPU draws are suspect, like dead counters (review finding A3).

The bounds are the ones every measured counter is held to while it measures
(``lstm_energy.meters.liveness``); the report checks again because it also reads files from other
writers, older versions and hand edits. No test here reads this host's meters or CPU.
"""

import re

import pytest

from lstm_energy.meters.liveness import BUSY_FLOOR_WATTS, CEILING_WATTS, IDLE_FLOOR_WATTS
from lstm_energy.report import build_report
from lstm_energy.report.page import energy_warning
from lstm_energy.report.rows import DEAD_COUNTER, IMPLAUSIBLE_POWER, build_rows, row_from_record


def _scale_dynamic(record: dict, factor: float) -> dict:
    """``record`` with its dynamic energies (not the idle or total ones) multiplied by ``factor``."""
    energy = record["energy"]
    for key in ("joules_per_call", "joules_per_sequence"):
        energy[key] = {k: v * factor for k, v in energy[key].items()}
    return record


def _at_dynamic_watts(record: dict, watts: float) -> dict:
    """``record`` rescaled so its dynamic power (J/call over s/call) is ``watts``; total and idle stay sound."""
    seconds = record["time"]["seconds_per_call"]["median"]
    joules = record["energy"]["joules_per_call"]["median"]
    record = _scale_dynamic(record, watts * seconds / joules)
    # the total (idle included) follows, so only the dynamic figure is on trial
    batch = record["config"]["batch"]
    total = (watts + record["energy"]["idle_watts"]) * seconds / batch
    record["energy"]["total_joules_per_sequence"] = {"median": total, "ci95_low": total, "ci95_high": total}
    return record


def _implausible(row) -> list[str]:
    return [reason for reason in row.suspect if reason.startswith(IMPLAUSIBLE_POWER)]


@pytest.mark.parametrize("provenance", ["measured", "estimated"])
def test_a_row_at_kilowatts_or_milliwatts_of_dynamic_power_is_suspect(record_factory, provenance):
    kilowatts = row_from_record(_at_dynamic_watts(record_factory("gru", provenance=provenance), 5000.0))
    milliwatts = row_from_record(_at_dynamic_watts(record_factory("gru", provenance=provenance), 0.002))
    assert kilowatts.watts == pytest.approx(5000.0) and milliwatts.watts == pytest.approx(0.002)
    assert _implausible(kilowatts) and "dynamic power 5.00 kW" in _implausible(kilowatts)[0]
    assert _implausible(milliwatts) and "dynamic power 2.00 mW" in _implausible(milliwatts)[0]


def test_a_plausible_grid_has_no_suspect_row(grid_factory):
    for provenance in ("measured", "estimated"):
        assert not any(r.suspect for r in build_rows(grid_factory(provenance)))


def test_the_bounds_are_the_liveness_bounds(record_factory):
    """Just inside each bound is sound, just outside is suspect: the report uses the meters' numbers."""
    for watts, suspect in ((CEILING_WATTS * 0.99, False), (CEILING_WATTS * 1.01, True)):
        row = row_from_record(_at_dynamic_watts(record_factory(provenance="measured"), watts - 3.0))
        assert bool(_implausible(row)) is suspect, (watts, row.suspect)
    for idle, suspect in ((IDLE_FLOOR_WATTS * 1.01, False), (IDLE_FLOOR_WATTS * 0.99, True)):
        record = record_factory(provenance="measured")
        record["energy"]["idle_watts"] = idle
        assert bool(_implausible(row_from_record(record))) is suspect, idle
    record = record_factory(provenance="measured")
    seconds_per_sequence = record["time"]["seconds_per_call"]["median"] / record["config"]["batch"]
    total = BUSY_FLOOR_WATTS * 0.9 * seconds_per_sequence  # a work window below the busy floor
    record["energy"]["total_joules_per_sequence"] = {"median": total}
    _scale_dynamic(record, 0.1)  # keep the dynamic energy below the total
    assert any("total power" in reason for reason in _implausible(row_from_record(record)))


def test_the_ceiling_is_per_package_summed(record_factory):
    """Two headline packages may draw twice what one may: 1.5 kW over two packages is sound."""
    record = _at_dynamic_watts(record_factory(provenance="measured"), CEILING_WATTS * 1.5)
    assert _implausible(row_from_record(record))
    record["energy"]["headline_domains"] = ["package-0", "package-1"]
    assert not row_from_record(record).suspect


def test_an_estimate_is_bounded_per_vcpu_it_prices(record_factory):
    """The estimator prices every vCPU of the host: a large host's idle watts are not a unit error."""
    record = record_factory(provenance="estimated")
    record["energy"]["idle_watts"] = 3.7 * 384  # 384 vCPUs at CCF's EPYC minimum: over 1 kW, and sound
    record["energy"]["meter"]["coefficients"] = {"vcpus": 384}
    assert not row_from_record(record).suspect
    del record["energy"]["meter"]["coefficients"]
    assert _implausible(row_from_record(record))


def test_simulated_rows_are_test_data_and_not_checked(record_factory):
    assert not row_from_record(_at_dynamic_watts(record_factory(provenance="simulated"), 5000.0)).suspect


def test_an_unresolved_dynamic_energy_is_not_called_implausible(record_factory):
    """Work that drew no more than idle has a noise-sized dynamic figure: it says "not resolved", not suspect."""
    record = _at_dynamic_watts(record_factory(provenance="measured"), 0.002)
    record["warnings"] = ["dynamic energy not resolved above idle: the 95% CI reaches 0"]
    row = row_from_record(record)
    assert row.unresolved and not row.suspect


def test_the_banner_and_the_provenance_cell_say_implausible_power(tmp_path, record_factory, jsonl_writer):
    sound = record_factory("lstm", provenance="measured")
    wild = _at_dynamic_watts(record_factory("gru", provenance="measured"), 5000.0)
    html, info = build_report([jsonl_writer(tmp_path / "r.jsonl", [sound, wild])])
    heading, text = energy_warning(info.rows)
    assert heading == "SUSPECT ENERGY: IMPLAUSIBLE POWER" and text.startswith("1 of 2 row(s)")
    assert "SUSPECT ENERGY: IMPLAUSIBLE POWER" in html and "did not count" not in heading
    cells = re.findall(r'<td class="prov prov-measured[^"]*"[^>]*>([^<]*)</td>', html)
    assert sorted(cells) == ["measured", "measured (suspect: implausible power)"]
    # the green banner counts only the sound measured row
    assert re.search(r"banner-measured.*?\(1 row\(s\)\)", html, re.S)


def test_dead_counters_and_implausible_power_are_told_apart(record_factory):
    dead = record_factory("lstm", provenance="measured")
    dead["energy"]["idle_watts"] = 0.0
    wild = _at_dynamic_watts(record_factory("gru", provenance="measured"), 5000.0)
    rows = build_rows([dead, wild])
    assert [r.suspect == [DEAD_COUNTER] for r in rows].count(True) == 1
    heading, text = energy_warning(rows)
    assert heading == "SUSPECT ENERGY: DEAD COUNTERS AND IMPLAUSIBLE POWER"
    assert "counter did not count" in text and "no CPU package draws" in text


@pytest.mark.parametrize("provenance", ["measured", "estimated"])
def test_a_negative_idle_power_is_suspect(record_factory, provenance):
    """No counter and no model takes joules away: −40 W idle once got the green MEASURED banner."""
    record = record_factory("gru", provenance=provenance)
    record["energy"]["idle_watts"] = -40.0
    assert any("idle power -40.0 W is below zero" in reason for reason in _implausible(row_from_record(record)))


def test_the_mixed_banner_counts_suspect_rows_as_the_measured_banner_does(tmp_path, record_factory, jsonl_writer):
    sound = record_factory("lstm", provenance="measured")
    wild = _at_dynamic_watts(record_factory("gru", provenance="measured"), 5000.0)
    estimated = record_factory("rnn", provenance="estimated")
    html, _ = build_report([jsonl_writer(tmp_path / "r.jsonl", [sound, wild, estimated])])
    assert "2 measured (1 of them suspect)" in html and re.search(r"banner-measured.*?\(1 row\(s\)\)", html, re.S)


def test_the_banner_states_the_floors_the_rows_are_held_to():
    from lstm_energy.report.rows import PLAUSIBLE_POWER_TEXT

    assert (BUSY_FLOOR_WATTS, IDLE_FLOOR_WATTS, CEILING_WATTS) == (0.5, 0.05, 1000.0)  # the words below
    assert "idle and dynamic power 50 mW to 1 kW, total power 500 mW to 1 kW" in PLAUSIBLE_POWER_TEXT
