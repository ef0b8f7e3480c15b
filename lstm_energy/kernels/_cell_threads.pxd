# cython: language_level=3
"""How many OpenMP threads one step's elementwise cell work gets (the kernels' pool, see
``_packed_gemm.h``). The per-step product is split over the pool; a large step's gate math is split
too, or it would run on one thread between two parallel products and cap the speed-up (Amdahl).
Below CELL_PARALLEL_MIN elements per step a fork/join costs more than it saves.
"""

cdef extern from "_packed_gemm.h" nogil:
    int pool_threads "lstm_energy_gemm_threads" ()

cdef enum:
    CELL_PARALLEL_MIN = 16384    # elements (rows x gate columns) of one step


cdef inline int cell_threads(Py_ssize_t rows, Py_ssize_t elements) noexcept nogil:
    """Threads for one step's cell work over ``rows`` batch rows of ``elements`` values in all:
    the pool's size, at most one per row, or 1 when the step is small."""
    cdef int n = pool_threads()
    if n <= 1 or elements < CELL_PARALLEL_MIN:
        return 1
    return n if n < rows else <int>rows


cdef inline Py_ssize_t part_start(Py_ssize_t rows, Py_ssize_t part, int parts) noexcept nogil:
    """First row of part ``part`` when ``rows`` rows are cut into ``parts`` contiguous parts of
    near-equal size; ``part_start(rows, parts, parts) == rows``, so part p is rows
    [part_start(rows, p, parts), part_start(rows, p + 1, parts))."""
    return rows * part // parts
