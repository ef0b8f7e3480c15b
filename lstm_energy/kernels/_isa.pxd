# cython: language_level=3
"""The kernels' instruction-set path (``_isa.h``): one int owned by the ``_isa`` module, which every
kernel module binds its headers to when imported (``bind_isa()`` at module level)."""

cdef extern from "_isa.h" nogil:
    enum:
        LE_ISA_BASELINE
        LE_ISA_AVX2
        LE_ISA_AVX512
    void lstm_energy_isa_bind(int* shared)
    int lstm_energy_isa()
    int lstm_energy_isa_for_call(int requested)

cdef int* level_address() noexcept nogil


cdef inline void bind_isa() noexcept:
    """Point this module's copy of the header state at the shared choice."""
    lstm_energy_isa_bind(level_address())
