# cython: language_level=3
"""Test and diagnostic access to the float32 C helpers of the kernels: the row activations of
``_vector_math.h`` and the recurrent product of ``_recurrent_gemm.h``.

The kernels call the C functions directly; this module only lets tests and profiles apply them to
NumPy arrays, through the runtime-dispatched entry points or the baseline (SSE2) build explicitly.
"""
import numpy as np

cdef extern from "_vector_math.h" nogil:
    void lstm_energy_sigmoid_bias_f32(float* a, const float* bias, Py_ssize_t n)
    void lstm_energy_tanh_f32(const float* src, float* dst, Py_ssize_t n)
    void lstm_energy_sigmoid_bias_rows_baseline(float* a, const float* bias, Py_ssize_t n)
    void lstm_energy_tanh_rows_baseline(const float* src, float* dst, Py_ssize_t n)
    int lstm_energy_vector_math_uses_avx2()

cdef extern from "_recurrent_gemm.h" nogil:
    void lstm_energy_gemm_abt_rows_avx2(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float* A,
                                        Py_ssize_t lda, const float* W, Py_ssize_t ldw,
                                        int accumulate, float* C, Py_ssize_t ldc)
    void lstm_energy_gemm_ab_rows_avx2(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float* A,
                                       Py_ssize_t lda, const float* Bm, Py_ssize_t ldb,
                                       int accumulate, float* C, Py_ssize_t ldc)
    int lstm_energy_recurrent_gemm_available()

BUILDS = ("dispatch", "baseline")


def _check(values, build):
    if build not in BUILDS:
        raise ValueError(f"build must be one of {BUILDS}, got {build!r}")
    return np.ascontiguousarray(values, dtype=np.float32).reshape(-1)


def sigmoid_f32(values, build="dispatch"):
    """σ(values) as float32 (1-D copy); build: "dispatch" (what the kernels use) or "baseline"."""
    cdef float[::1] out = _check(values, build).copy()
    cdef float[::1] zeros = np.zeros(max(out.shape[0], 1), np.float32)
    if out.shape[0] == 0:
        return np.asarray(out)
    if build == "dispatch":
        lstm_energy_sigmoid_bias_f32(&out[0], &zeros[0], out.shape[0])
    else:
        lstm_energy_sigmoid_bias_rows_baseline(&out[0], &zeros[0], out.shape[0])
    return np.asarray(out)


def tanh_f32(values, build="dispatch"):
    """tanh(values) as float32 (1-D copy); build: "dispatch" (what the kernels use) or "baseline"."""
    cdef float[::1] src = _check(values, build)
    cdef float[::1] out = np.empty(src.shape[0], np.float32)
    if src.shape[0] == 0:
        return np.asarray(out)
    if build == "dispatch":
        lstm_energy_tanh_f32(&src[0], &out[0], src.shape[0])
    else:
        lstm_energy_tanh_rows_baseline(&src[0], &out[0], src.shape[0])
    return np.asarray(out)


def uses_avx2():
    """True when the kernels run the AVX2+FMA build of the activations on this CPU."""
    return bool(lstm_energy_vector_math_uses_avx2())


def recurrent_gemm_available():
    """True when the AVX2 recurrent product kernel can run on this CPU."""
    return bool(lstm_energy_recurrent_gemm_available())


def gemm_abt_avx2(float[:, ::1] a, float[:, ::1] w, float[:, :] c, bint accumulate):
    """c = a @ w.T (+ c when accumulate) with the AVX2 kernel, in place.

    a: (M, K), w: (N, K) C-contiguous; c: (M, N) with unit column stride (any row stride).
    """
    if not lstm_energy_recurrent_gemm_available():
        raise RuntimeError("gemm_abt_avx2: this CPU lacks AVX2+FMA; check recurrent_gemm_available() first")
    cdef Py_ssize_t M = a.shape[0], K = a.shape[1], N = w.shape[0]
    if w.shape[1] != K or c.shape[0] != M or c.shape[1] != N or (N > 1 and c.strides[1] != 4):
        raise ValueError(f"gemm_abt_avx2: shapes a {(a.shape[0], a.shape[1])}, w {(w.shape[0], w.shape[1])}, "
                         f"c {(c.shape[0], c.shape[1])} (column stride {c.strides[1]} bytes) do not fit "
                         f"c (M, N) = a (M, K) @ w (N, K).T with unit column stride; pass matching arrays")
    if M == 0 or N == 0:
        return
    lstm_energy_gemm_abt_rows_avx2(M, N, K, &a[0, 0], K, &w[0, 0], K, accumulate, &c[0, 0],
                                   c.strides[0] // 4)


def gemm_ab_avx2(float[:, ::1] a, float[:, ::1] b, float[:, ::1] c, bint accumulate):
    """c = a @ b (+ c when accumulate) with the AVX2 backward kernel, in place.

    a: (M, K), b: (K, N), c: (M, N), all C-contiguous.
    """
    if not lstm_energy_recurrent_gemm_available():
        raise RuntimeError("gemm_ab_avx2: this CPU lacks AVX2+FMA; check recurrent_gemm_available() first")
    cdef Py_ssize_t M = a.shape[0], K = a.shape[1], N = b.shape[1]
    if b.shape[0] != K or c.shape[0] != M or c.shape[1] != N:
        raise ValueError(f"gemm_ab_avx2: shapes a {(a.shape[0], a.shape[1])}, b {(b.shape[0], b.shape[1])}, "
                         f"c {(c.shape[0], c.shape[1])} do not fit c (M, N) = a (M, K) @ b (K, N); "
                         f"pass matching arrays")
    if M == 0 or N == 0:
        return
    lstm_energy_gemm_ab_rows_avx2(M, N, K, &a[0, 0], K, &b[0, 0], N, accumulate, &c[0, 0], N)
