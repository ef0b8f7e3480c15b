# cython: language_level=3
"""Float32 sigmoid/tanh over contiguous rows, vectorised with AVX2+FMA/SSE2 runtime dispatch.

The C code and its accuracy notes live in ``_vector_math.h`` (next to this file). float64 kernels do
not use these: they keep libm's exp/tanh through ``_activations``.
"""

cdef extern from "_vector_math.h" nogil:
    void sigmoid_bias_f32 "lstm_energy_sigmoid_bias_f32" (float* a, const float* bias, Py_ssize_t n)
    # a[j] = sigmoid(a[j] + bias[j]), j < n
    void tanh_bias_f32 "lstm_energy_tanh_bias_f32" (float* a, const float* bias, Py_ssize_t n)
    # a[j] = tanh(a[j] + bias[j]), j < n
