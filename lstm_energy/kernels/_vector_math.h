/* Float32 sigmoid and tanh over contiguous rows, written so that GCC vectorises the loops.
 *
 * Why: libm's expf/tanhf are scalar calls, which keep the kernels' elementwise loops scalar. Here
 * exp is computed inline (Cody-Waite range reduction x = n·ln2 + r, a degree-7 Taylor polynomial
 * for e^r on |r| <= ln2/2 (truncation < 6e-9 relative), and 2^n built from the exponent bits),
 * every branch is a select, and the loops carry no calls, so GCC turns them into SSE2 code,
 * AVX2+FMA code or AVX-512 code (runtime dispatch below; no -march flag is needed, so the build
 * stays portable).
 *
 * Accuracy (float32, measured against float64 tanh/sigmoid in tests/kernels/test_activation_accuracy.py):
 *   tanh:    |x| < 0.625: x + x^3·q(x^2), a degree-5 Chebyshev fit of (tanh(x)/x - 1)/x^2 on
 *            [0, 0.625^2]; |x| >= 0.625: (1 - e)/(1 + e), e = exp(-2|x|) with |x| clamped to 9.5
 *            (tanh(9.5) rounds to 1 in float32).
 *   sigmoid: 1/(1 + exp(-x)) with x clamped to [-87, 87] (exp stays a normal float; below -87 the
 *            result is 1.6e-38 instead of a smaller subnormal, an absolute error under 2e-38).
 * NaN in gives NaN out (an explicit select: the clamps and the exponent trick would lose it);
 * +-inf give the saturated values. float64 does not come here: it keeps libm's exp/tanh.
 */
#ifndef LSTM_ENERGY_VECTOR_MATH_H
#define LSTM_ENERGY_VECTOR_MATH_H

#include <stdint.h>
#include <string.h>
#include <math.h>
#include <Python.h>   /* Py_ssize_t */

/* e^z for z in [-87.3, 88.7] (the callers clamp), relative error ~1 ulp. */
static inline float lstm_energy_expf(float z)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693359375f;            /* exact in 9 bits, so n·ln2_hi is exact */
    const float ln2_lo = -2.12194440e-4f;         /* ln2 - ln2_hi */
    const float round_shift = 12582912.0f;        /* 1.5·2^23: adding it rounds to an integer */
    float n = (z * log2e + round_shift) - round_shift;
    float r = (z - n * ln2_hi) - n * ln2_lo;      /* |r| <= ln2/2 */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;     /* 2^n, n in [-126, 127] */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* The clamps below are written `x OP bound ? x : bound`, with NaN folded into them (it compares
 * false, so it takes the bound and never reaches the float->int conversion; the last line restores
 * it): GCC vectorises each into one compare and one blend. Separate NaN and clamp selects made it
 * predicate the whole computation with mask registers, the division issued twice. */
static inline float lstm_energy_sigmoidf(float x)
{
    float xc = x > -87.0f ? x : -87.0f;           /* NaN compares false: -87, kept out of the */
    xc = xc < 87.0f ? xc : 87.0f;                 /* float->int conversion (restored below) */
    float s = 1.0f / (1.0f + lstm_energy_expf(-xc));
    return x == x ? s : x;
}

static inline float lstm_energy_tanhf(float x)
{
    float axc = fabsf(x);
    axc = axc < 9.5f ? axc : 9.5f;                /* NaN compares false: 9.5 (restored below) */
    float e = lstm_energy_expf(-2.0f * axc);
    float large = (1.0f - e) / (1.0f + e);
    float u = axc * axc;
    float q = 1.618547558e-03f;
    q = q * u - 7.621073455e-03f;
    q = q * u + 2.148470967e-02f;
    q = q * u - 5.390961255e-02f;
    q = q * u + 1.333293814e-01f;
    q = q * u - 3.333332501e-01f;
    float small = axc + (axc * u) * q;
    float t = axc < 0.625f ? small : large;
    t = copysignf(t, x);                          /* tanh(-0) = -0 */
    return x == x ? t : x;
}

/* Each row function exists three times, one source compiled under three targets: an AVX-512 build
 * (F/DQ/BW/VL, 512-bit vectors: prefer-vector-width=512, since GCC's default tuning would keep
 * AVX-512 code at 256 bits), an AVX2+FMA build and a baseline build (SSE2 on x86-64). The path is
 * _isa.h's run-time choice (LSTM_ENERGY_ISA, or the widest the CPU supports), read per call: a load
 * and a branch per row. */
#include "_isa.h"
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LSTM_ENERGY_HAVE_AVX2_BUILD 1
#define LSTM_ENERGY_HAVE_AVX512_BUILD 1
#define LSTM_ENERGY_AVX512_TARGET \
    "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,prefer-vector-width=512"
#define LSTM_ENERGY_ROW_FUNCTION(name, params, body)                                       \
    __attribute__((target(LSTM_ENERGY_AVX512_TARGET))) static void name##_avx512 params body \
    __attribute__((target("avx2,fma"))) static void name##_avx2 params body                \
    static void name##_baseline params body
#define LSTM_ENERGY_DISPATCH(name, args)                                                   \
    do {                                                                                   \
        int le_isa_ = lstm_energy_isa();                                                   \
        if (le_isa_ == LE_ISA_AVX512) name##_avx512 args;                                  \
        else if (le_isa_ == LE_ISA_AVX2) name##_avx2 args;                                 \
        else name##_baseline args;                                                         \
    } while (0)
#else
#define LSTM_ENERGY_ROW_FUNCTION(name, params, body) static void name##_baseline params body
#define LSTM_ENERGY_DISPATCH(name, args) name##_baseline args
#endif

/* a[j] = sigmoid(a[j] + bias[j]) for j < n   (a, bias: (n,)) */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_sigmoid_bias_rows,
    (float *restrict a, const float *restrict bias, Py_ssize_t n),
    { for (Py_ssize_t j = 0; j < n; ++j) a[j] = lstm_energy_sigmoidf(a[j] + bias[j]); })

/* a[j] = tanh(a[j] + bias[j]) for j < n   (a, bias: (n,)) */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_tanh_bias_rows,
    (float *restrict a, const float *restrict bias, Py_ssize_t n),
    { for (Py_ssize_t j = 0; j < n; ++j) a[j] = lstm_energy_tanhf(a[j] + bias[j]); })

/* out[j] = tanh(in[j]) for j < n   (in, out: (n,), not overlapping) */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_tanh_rows,
    (const float *restrict in, float *restrict out, Py_ssize_t n),
    { for (Py_ssize_t j = 0; j < n; ++j) out[j] = lstm_energy_tanhf(in[j]); })

static inline void lstm_energy_sigmoid_bias_f32(float *a, const float *bias, Py_ssize_t n)
{ LSTM_ENERGY_DISPATCH(lstm_energy_sigmoid_bias_rows, (a, bias, n)); }

static inline void lstm_energy_tanh_bias_f32(float *a, const float *bias, Py_ssize_t n)
{ LSTM_ENERGY_DISPATCH(lstm_energy_tanh_bias_rows, (a, bias, n)); }

static inline void lstm_energy_tanh_f32(const float *in, float *out, Py_ssize_t n)
{ LSTM_ENERGY_DISPATCH(lstm_energy_tanh_rows, (in, out, n)); }

/* the build of the row functions in use (LE_ISA_*: for the record and the tests) */
static inline int lstm_energy_vector_math_build(void)
{
#ifdef LSTM_ENERGY_HAVE_AVX2_BUILD
    return lstm_energy_isa();
#else
    return LE_ISA_BASELINE;
#endif
}

/* 1 when the AVX2+FMA build (or a wider one) is used on this CPU */
static inline int lstm_energy_vector_math_uses_avx2(void)
{
    return lstm_energy_vector_math_build() >= LE_ISA_AVX2;
}

#endif
