"""The kernels' instruction-set path: LSTM_ENERGY_ISA, set_isa/use_isa, refusal naming the missing
CPU flag, and the environment block's record of it."""

import os
import re
import subprocess
import sys

import pytest

from lstm_energy.errors import IsaUnsupportedError
from lstm_energy.kernels import _vector_math_probe as probe
from lstm_energy.kernels import isa
from lstm_energy.kernels._isa import _pretend_missing
from lstm_energy.measure.environment import environment

SUPPORTED = [name for name in isa.ISAS if isa.missing_flag(name) is None]
UNSUPPORTED = [name for name in isa.ISAS if isa.missing_flag(name) is not None]


def _run(code, value):
    env = dict(os.environ)
    env.pop(isa.ENV_VAR, None)
    if value is not None:
        env[isa.ENV_VAR] = value
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False, timeout=120
    )


def test_baseline_is_always_supported_and_best_is_the_widest():
    assert isa.missing_flag("baseline") is None
    assert isa.best() == SUPPORTED[-1]
    assert set(isa.supported()) == set(isa.ISAS)


@pytest.mark.parametrize("name", SUPPORTED)
def test_use_isa_switches_every_module_and_restores(name):
    before = isa.current()
    with isa.use_isa(name):
        assert isa.current() == name
        assert probe.vector_math_build() == name
        assert probe.packed_gemm_available() == (name != "baseline")
        assert environment()["isa"] == name
    assert isa.current() == before


@pytest.mark.parametrize("name", UNSUPPORTED or ["(none)"])
def test_unsupported_path_is_refused_naming_the_flag(name):
    if name == "(none)":
        pytest.skip("this CPU supports every kernel path")
    flag = isa.missing_flag(name)
    with pytest.raises(IsaUnsupportedError, match=flag):
        isa.set_isa(name)
    result = _run("import lstm_energy.kernels", name)
    assert result.returncode != 0 and flag in result.stderr


def test_a_path_the_cpu_lacks_is_refused_naming_the_flag_on_every_cpu():
    """The refusal above, run on every CPU: avx512 pretended to lack 'avx512f' (where the CPU has
    AVX-512 the real test skips)."""
    before, real = isa.current(), isa.missing_flag("avx512")
    with _pretend_missing("avx512", "avx512f"):
        assert isa.missing_flag("avx512") == "avx512f" == isa.supported()["avx512"]
        supported = ", ".join(n for n in isa.ISAS if isa.missing_flag(n) is None)
        assert "avx512" not in supported
        with pytest.raises(IsaUnsupportedError, match=re.escape(f"needs the CPU flag 'avx512f', which this CPU does "
                                                                f"not report (supported here: {supported})")):  # fmt: skip
            isa.set_isa("avx512")
        assert isa.current() == before
    assert isa.missing_flag("avx512") == real


def test_unknown_name_is_refused():
    with pytest.raises(ValueError, match="unknown kernel path"):
        isa.set_isa("sse9")
    result = _run("import lstm_energy.kernels", "sse9")
    assert result.returncode != 0 and "IsaUnsupportedError" in result.stderr
    assert "baseline, avx2, avx512" in result.stderr


@pytest.mark.parametrize("name", SUPPORTED + ["auto", None])
def test_environment_variable_chooses_the_path(name):
    result = _run(
        "from lstm_energy.kernels import isa, _vector_math_probe as p;"
        "from lstm_energy.measure.environment import environment;"
        "print(isa.current(), p.vector_math_build(), environment()['isa'])",
        name,
    )
    assert result.returncode == 0, result.stderr
    expected = isa.best() if name in ("auto", None) else name
    assert result.stdout.split() == [expected] * 3
