"""Report rows fill in derived figures a record lacks with lstm_energy.records.derived_figures."""

import pytest

from lstm_energy.records import derived_figures
from lstm_energy.report.rows import row_from_record

FIGURES = ("gflops_per_second", "watts", "pj_per_flop", "nj_per_byte")


def test_a_record_without_derived_figures_gets_the_ones_records_would_store(record_factory):
    record = record_factory("gru")
    stored = row_from_record(record)
    record["derived"] = {name: None for name in FIGURES}
    filled = row_from_record(record)
    expected = derived_figures(
        record["time"]["seconds_per_call"]["median"],
        record["energy"]["joules_per_call"]["median"],
        record["costs"]["flops"]["total"],
        record["costs"]["bytes"]["expected"],
    )
    for name in FIGURES:
        assert getattr(filled, name) == expected[name]
        assert getattr(filled, name) == pytest.approx(getattr(stored, name))


def test_a_benchmark_record_without_work_has_watts_only(record_factory):
    record = record_factory("rnn")
    record.update(kind="benchmark", costs={}, derived={})
    row = row_from_record(record)
    assert row.watts == pytest.approx(
        record["energy"]["joules_per_call"]["median"] / record["time"]["seconds_per_call"]["median"]
    )
    assert (
        row.gflops_per_second is None and row.pj_per_flop is None and row.nj_per_byte is None and row.intensity is None
    )


def test_derived_figures_come_from_the_medians_the_row_shows_not_the_stored_block(record_factory):
    """An edited or foreign record's ``derived`` block may contradict its medians: the row's W and pJ/FLOP
    are the ones its J/call and s/call give, so the table never shows figures it cannot back."""
    record = record_factory("gru")
    record["derived"] = {name: 12345.0 for name in FIGURES}
    row = row_from_record(record)
    assert row.watts == pytest.approx(row.joules_per_call / row.seconds_per_call)
    assert row.pj_per_flop == pytest.approx(row.joules_per_call / row.flops * 1e12)


def test_derived_figures_are_blank_when_the_median_they_need_is_missing(record_factory):
    record = record_factory("gru")
    record["costs"]["flops"]["total"] = None  # the writer stores a non-finite figure as null
    row = row_from_record(record)
    assert row.flops is None and row.gflops_per_second is None and row.pj_per_flop is None
    assert row.watts is not None  # J/call and s/call are still there


def test_a_zero_figure_is_a_figure_not_a_missing_one(record_factory):
    """``x or fallback`` would turn a recorded 0.0 into "missing" and show the fallback instead."""
    record = record_factory("gru")
    record["costs"]["bytes"] = {"expected": 0.0, "compulsory": 1000}
    record["costs"]["arithmetic_intensity_flop_per_byte"] = 0.0
    row = row_from_record(record)
    assert row.bytes == 0.0 and row.intensity == 0.0 and row.nj_per_byte is None  # no bytes: no nJ per byte
