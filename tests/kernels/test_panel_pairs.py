"""The panel-pair rule of _packed_gemm.h (lstm_energy_panel_pairs_rule): which CPUs run adjacent panels in
pairs on which kernel path. The rule is a pure function of (vendor, family, path), so every branch is tested
on every machine; one test holds this machine's switch to the rule applied to its own CPUID. Both modules that
compile the rule (the float32 probe, the reduced-precision lowp) are checked: each has its own copy of the C
code."""

import pytest

from lstm_energy.errors import ArgumentTypeError, ConfigError
from lstm_energy.kernels import _vector_math_probe as probe
from lstm_energy.kernels import lowp
from lstm_energy.meters.microarchitecture import read_cpuinfo

MODULES = pytest.mark.parametrize("module", [probe, lowp], ids=["probe", "lowp"])

#: (vendor, CPUID family, kernel path, pairs)
RULE = [
    # the AVX-512 path pairs on cores with two 512-bit FMA units; Zen 4 (AMD family 0x19 with AVX-512) has one
    ("amd", 0x19, "avx512", False),
    ("AuthenticAMD", 0x19, "avx512", False),  # CPUID's spelling, as the C side reads it
    ("AMD", 25, "avx512", False),
    ("amd", 0x1A, "avx512", True),  # Zen 5
    ("amd", 0x17, "avx512", True),  # no AMD family but 0x19 keeps single panels
    ("intel", 6, "avx512", True),
    ("GenuineIntel", 6, "avx512", True),
    ("intel", 0x19, "avx512", True),  # the family alone is not the rule: only AMD's 0x19
    ("hygon", 0x18, "avx512", True),
    ("unknown", 0, "avx512", True),
    # the other paths have no pair block: never
    ("amd", 0x19, "avx2", False),
    ("amd", 0x1A, "avx2", False),
    ("intel", 6, "avx2", False),
    ("amd", 0x19, "baseline", False),
    ("amd", 0x1A, "baseline", False),
    ("intel", 6, "baseline", False),
]


@MODULES
@pytest.mark.parametrize("vendor, family, isa, pairs", RULE)
def test_rule_table(module, vendor, family, isa, pairs):
    assert module.panel_pairs_rule(vendor, family, isa) is pairs


@MODULES
def test_this_cpu_follows_the_rule(module):
    """The switch (CPUID read in C) equals the rule applied to this machine's vendor and family as /proc/cpuinfo
    reports them; set_panel_pairs overrides it and None follows the CPU again."""
    vendor, family, _ = read_cpuinfo()
    if family is None:
        pytest.skip("/proc/cpuinfo has no 'cpu family' on this machine")
    on_this_cpu = module.panel_pairs_rule(vendor, family, "avx512")
    module.set_panel_pairs(None)
    assert module.panel_pairs() is on_this_cpu
    assert module.set_panel_pairs(not on_this_cpu) is on_this_cpu
    assert module.panel_pairs() is (not on_this_cpu)
    module.set_panel_pairs(None)
    assert module.panel_pairs() is on_this_cpu


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((b"amd", 0x19, "avx512"), ArgumentTypeError, "vendor must be a str"),
        (("amd", 25.0, "avx512"), ArgumentTypeError, "family must be an int"),
        (("amd", True, "avx512"), ArgumentTypeError, "family must be an int"),
        (("amd", 0x19, 2), ArgumentTypeError, "isa must be a str"),
        (("amd", -1, "avx512"), ConfigError, "family=-1 is not a CPUID family"),
        (("amd", 0x200, "avx512"), ConfigError, "family=512 is not a CPUID family"),
        (("amd", 0x19, "sse9"), ConfigError, "unknown kernel path 'sse9'"),
    ],
)
def test_rule_refuses_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        probe.panel_pairs_rule(*args)
