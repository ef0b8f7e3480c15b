# The panel-pair switch of _packed_gemm.h (lstm_energy_panel_pairs) for the module that includes this file.
# Each extension module compiles its own copy of the C code, so each has its own switch: the float32
# products in _vector_math_probe, the int8 and bf16 blocks in lowp (tests force pairs on and off).

cdef extern from "_packed_gemm.h" nogil:
    int lstm_energy_panel_pairs()
    void lstm_energy_set_panel_pairs(int pairs)
    int lstm_energy_panel_pairs_rule(int amd, unsigned int family, int isa)


def panel_pairs():
    """Whether this module's products on the AVX-512 path run adjacent panels in pairs (8 rows x 32 columns,
    16 sums: ``_packed_gemm.h``): on every AVX-512 CPU but Zen 4. Unless ``set_panel_pairs`` overrode it,
    ``panel_pairs_rule(vendor, family, "avx512")`` for this CPU's CPUID vendor and family."""
    return bool(lstm_energy_panel_pairs())


def set_panel_pairs(pairs):
    """Make this module's products on the AVX-512 path pair panels (True) or not (False), or follow the CPU
    again (None); return the previous setting. Only this module's copy of the C code is affected (tests)."""
    previous = panel_pairs()
    lstm_energy_set_panel_pairs(-1 if pairs is None else int(bool(pairs)))
    return previous


def panel_pairs_rule(vendor, family, isa):
    """Whether the products of a CPU from ``vendor`` with CPUID family ``family`` pair panels on kernel path
    ``isa``: the C rule ``panel_pairs()`` applies to this CPU, for any CPU (tests).

    vendor: "amd" (``lstm_energy.meters.microarchitecture.read_cpuinfo``'s spelling) or CPUID's
    "AuthenticAMD", any case; any other string is another vendor. family: the family /proc/cpuinfo shows
    (base plus extended family, e.g. 0x19 = 25 for Zen 3 and Zen 4, 0x1A for Zen 5). isa: "baseline",
    "avx2" or "avx512" (``lstm_energy.kernels.isa.ISAS``); only avx512 has a pair block."""
    from lstm_energy.errors import ArgumentTypeError, ConfigError
    from lstm_energy.kernels._isa import ISAS

    if not isinstance(vendor, str):
        raise ArgumentTypeError(f"panel_pairs_rule: vendor must be a str such as 'amd' or 'intel', got "
                                f"{type(vendor).__name__} {vendor!r}")
    if isinstance(family, bool) or not isinstance(family, int):
        raise ArgumentTypeError(f"panel_pairs_rule: family must be an int (the CPUID family, e.g. 0x19), got "
                                f"{type(family).__name__} {family!r}")
    if not 0 <= family <= 0xff + 0xf:
        raise ConfigError(f"panel_pairs_rule: family={family} is not a CPUID family (base 0..15 plus "
                          f"extended 0..255); pass the 'cpu family' value of /proc/cpuinfo")
    if not isinstance(isa, str):
        raise ArgumentTypeError(f"panel_pairs_rule: isa must be a str, one of {', '.join(ISAS)}; got "
                                f"{type(isa).__name__} {isa!r}")
    if isa not in ISAS:
        raise ConfigError(f"panel_pairs_rule: unknown kernel path {isa!r}: expected one of {', '.join(ISAS)}")
    amd = vendor.lower() in ("amd", "authenticamd")
    return bool(lstm_energy_panel_pairs_rule(amd, family, ISAS.index(isa)))
