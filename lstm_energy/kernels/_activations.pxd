# cython: language_level=3
"""Scalar activations and the derivatives the backward passes use, for float32 and float64.

The float32 cells take sigmoid and tanh from ``_vector_math.h`` (vectorised rows); here they serve
the float64 cells, and the ReLU and its gradient serve both precisions. Branch-free (the ReLU is a
select), so loops over H that call them stay SIMD-friendly. NaN in gives NaN out: no
``-ffast-math``, and the ReLU is written so that NaN is kept (``NaN < 0`` is false). Constants are
typed ``floating`` so float32 code does not widen to double.
"""
from cython cimport floating
from libc.math cimport exp, expf, tanh, tanhf


cdef inline floating sigmoid(floating a) noexcept nogil:
    """σ(a) = 1 / (1 + e^−a); saturates cleanly to 0 for very negative a (e^−a = inf)."""
    cdef floating one = 1
    if floating is float:
        return one / (one + expf(-a))
    else:
        return one / (one + exp(-a))


cdef inline floating tanh_(floating a) noexcept nogil:
    """tanh in the precision of ``a``: libm tanhf for float32, tanh for float64."""
    if floating is float:
        return tanhf(a)
    else:
        return tanh(a)


cdef inline floating relu(floating a) noexcept nogil:
    """max(a, 0) that keeps NaN (fmax would drop it)."""
    cdef floating zero = 0
    return zero if a < zero else a


cdef inline floating sigmoid_grad_from_output(floating s) noexcept nogil:
    """dσ/da written with s = σ(a): s (1 − s)."""
    cdef floating one = 1
    return s * (one - s)


cdef inline floating tanh_grad_from_output(floating t) noexcept nogil:
    """dtanh/da written with t = tanh(a): 1 − t²."""
    cdef floating one = 1
    return one - t * t


cdef inline floating relu_grad_from_output(floating h, floating grad) noexcept nogil:
    """grad · [h > 0] with h = relu(a) (the PyTorch convention: zero gradient at 0)."""
    cdef floating zero = 0
    return grad if h > zero else zero
