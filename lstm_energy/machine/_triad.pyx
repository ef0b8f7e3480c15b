# cython: language_level=3
"""STREAM-like triad, the memory-bandwidth probe: a[i] = b[i] + s·c[i] over a slice, without the GIL.

Python threads (lstm_energy.machine.bandwidth) each run one slice, so several cores stream at once.
"""


def triad(double[::1] a, const double[::1] b, const double[::1] c, double s,
          Py_ssize_t start, Py_ssize_t stop):
    """a[start:stop] = b[start:stop] + s * c[start:stop]   (a, b, c: (N,) float64, C-contiguous)."""
    cdef Py_ssize_t i
    if not (0 <= start <= stop <= a.shape[0]) or b.shape[0] != a.shape[0] or c.shape[0] != a.shape[0]:
        raise ValueError(
            f"triad needs equal-length a, b, c and 0 <= start <= stop <= len(a); got len(a)={a.shape[0]},"
            f" len(b)={b.shape[0]}, len(c)={c.shape[0]}, start={start}, stop={stop}")
    with nogil:
        for i in range(start, stop):
            a[i] = b[i] + s * c[i]
