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
