"""Issue 17: a ProfileResult reads well where users meet it: print() gives the CLI's summary, a notebook
gets HTML, and one or several results become a DataFrame with load_dataframe's column names."""

import pandas as pd
import pytest

from lstm_energy import to_dataframe
from lstm_energy.measure import profile
from lstm_energy.measure.summary import render
from lstm_energy.meters.simulated import SimulatedMeter

SMALL = dict(batch=4, seq_len=6, input_size=8, hidden_size=8, impl="numpy", windows=3, min_window_seconds=0.02)


def meter():
    return SimulatedMeter(idle_watts=10.0, cpu_watts=20.0, dram_watts=2.0, update_interval_seconds=1e-4)


@pytest.fixture(scope="module")
def results():
    return [profile(cell, **SMALL, meter=meter()) for cell in ("lstm", "gru")]


def test_str_is_the_cli_summary_not_a_dataclass_dump(results):
    text = str(results[0])
    assert text == render(results[0].to_record())  # the very rendering `lstm-energy profile` prints
    assert text.startswith("SIMULATED (tests only), NOT MEASURED:")
    assert "ProfileResult(" not in text and "measurement=" not in text
    assert "J/sequence      median" in text and "lstm forward impl=numpy B=4 T=6 D=8 H=8" in text


def test_profile_cli_uses_the_same_rendering():
    from lstm_energy.cli import profile_cmd

    assert "def render" not in open(profile_cmd.__file__).read()  # moved, not copied


def test_repr_html_leads_with_provenance_and_escapes(results):
    page = results[0]._repr_html_()
    assert page.startswith('<div class="lstm-energy-result">')
    assert "<strong>SIMULATED (tests only), NOT MEASURED:" in page
    assert "<th" in page and "J/sequence" in page and "<script" not in page


def test_to_dataframe_for_one_and_several_results(results, tmp_path):
    one = results[0].to_dataframe()
    assert isinstance(one, pd.DataFrame) and len(one) == 1
    assert one.loc[0, "config.cell"] == "lstm"
    assert one.loc[0, "energy.joules_per_sequence.median"] == pytest.approx(results[0].joules_per_sequence)
    several = to_dataframe(results)
    assert list(several["config.cell"]) == ["lstm", "gru"]
    assert "config" not in several.columns  # flattened columns only
    with pytest.raises(TypeError, match="got dict"):
        to_dataframe([{"config": {}}])
