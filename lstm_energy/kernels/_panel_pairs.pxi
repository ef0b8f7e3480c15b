# The panel-pair switch of _packed_gemm.h (lstm_energy_panel_pairs) for the module that includes this file.
# Each extension module compiles its own copy of the C code, so each has its own switch: the float32
# products in _vector_math_probe, the int8 and bf16 blocks in lowp (tests force pairs on and off).

cdef extern from "_packed_gemm.h" nogil:
    int lstm_energy_panel_pairs()
    void lstm_energy_set_panel_pairs(int pairs)


def panel_pairs():
    """Whether this module's products on the AVX-512 path run adjacent panels in pairs (8 rows x 32 columns,
    16 sums: ``_packed_gemm.h``): on every AVX-512 CPU but Zen 4."""
    return bool(lstm_energy_panel_pairs())


def set_panel_pairs(pairs):
    """Make this module's products on the AVX-512 path pair panels (True) or not (False), or follow the CPU
    again (None); return the previous setting. Only this module's copy of the C code is affected (tests)."""
    previous = panel_pairs()
    lstm_energy_set_panel_pairs(-1 if pairs is None else int(bool(pairs)))
    return previous
