/* Reduced-precision inference products (issue 18): int8 dynamic quantization and bf16, float32 out.
 *
 * int8, the scheme of PyTorch's dynamic quantized LSTM with symmetric scales on both sides:
 *   weights, once per call site (lowp.pyx, in NumPy): per output row n, ws_n = max|W[n]| / 127,
 *     Wq[n, k] = rint(W[n, k] / ws_n) in [-127, 127];  wsum[n] = sum_k Wq[n, k]
 *   activations, per row of A and per step, here: s_m = max|A[m]| / 127 (0 for a zero row),
 *     q[m, k] = rint(A[m, k] * (127 / max|A[m]|)) in [-127, 127]
 *   out[m, n] = (float)acc[m, n] * (s_m * ws_n),  acc = sum_k q[m, k] * Wq[n, k] in int32, exact
 *   (|acc| <= 127 * 127 * K < 2^24 for K <= 1040, so the conversion to float is exact too).
 * Every path computes the same acc, so every path gives bit-identical products:
 *   scalar  the baseline (any CPU): int32 sums in C.
 *   avx2    vpmaddubsw needs an unsigned operand and saturates its int16 pair sums, so each
 *           broadcast of 4 activations goes in as |q| (u8) against sign(q) * Wq (vpsignb, s8):
 *           |pair| <= 2 * 127 * 127 < 2^15, no saturation; vpmaddwd by ones widens to int32.
 *   vnni    AVX-512 VNNI vpdpbusd (u8 x s8, 4 products into int32, no intermediate saturation):
 *           activations stored as q + 128 (u8), and 128 * wsum[n] subtracted in the epilogue.
 * bf16: weights and activations rounded to bfloat16 (round to nearest even), products summed in
 * float32: AVX512_BF16 vdpbf16ps (pairs of k per instruction), or the scalar conversion path
 * (each bf16 widened to float32, a running float32 sum per output) on other CPUs. Both are within
 * float32 rounding of each other (the sum order differs).
 *
 * Packed weights (NumPy, lstm_energy/kernels/lowp.py): N padded to panels of 16 columns, K padded
 * to Kp (a multiple of 4 for int8, of 2 for bf16); panel p holds the 16 columns' k-groups as
 *   int8: panels[p][k / 4][j][k % 4]   (64 bytes per group of 4 k: one zmm, two ymm)
 *   bf16: panels[p][k / 2][j][k % 2]   (64 bytes per pair of k)
 * Activations are quantized/converted into rows of Kp elements (zero padded).
 *
 * Blocking: rows of A in chunks of LE_LP_MC (their quantized rows stay in L2), the panels walked
 * for each chunk (a panel, Kp * 16 bytes for int8, stays in L1 while the chunk's row blocks pass).
 * One thread (the targets are 1-thread); the chunks would split over threads like
 * _packed_gemm.h's large products.
 */
#ifndef LSTM_ENERGY_LOWP_GEMM_H
#define LSTM_ENERGY_LOWP_GEMM_H

#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

#include "_isa.h"
#include "_vector_math.h"
#ifdef LSTM_ENERGY_X86
#include <immintrin.h>
#endif   /* LSTM_ENERGY_ROW_FUNCTION / LSTM_ENERGY_DISPATCH */

#define LE_LP_NR 16
#define LE_LP_MC 128
#define LE_BF_R 8   /* rows per AVX512_BF16 block */

#define LE_LP_SCALAR 0
#define LE_LP_AVX2 1
#define LE_LP_AVX512 2   /* int8: AVX-512 VNNI; bf16: AVX512_BF16 */

static int lstm_energy_lp_vnni = -1, lstm_energy_lp_bf16 = -1;

/* 1 when CPUID reports AVX512_VNNI (leaf 7 ECX bit 11) / AVX512_BF16 (leaf 7 subleaf 1 EAX bit 5) */
static inline int lstm_energy_cpu_has_vnni(void)
{
    if (lstm_energy_lp_vnni < 0) {
        lstm_energy_lp_vnni = 0;
#ifdef LSTM_ENERGY_X86
        unsigned int a, b, c, d;
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
            lstm_energy_lp_vnni = (c >> 11) & 1;
#endif
    }
    return lstm_energy_lp_vnni;
}

static inline int lstm_energy_cpu_has_bf16(void)
{
    if (lstm_energy_lp_bf16 < 0) {
        lstm_energy_lp_bf16 = 0;
#ifdef LSTM_ENERGY_X86
        unsigned int a, b, c, d;
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d))
            lstm_energy_lp_bf16 = (a >> 5) & 1;
#endif
    }
    return lstm_energy_lp_bf16;
}

/* the int8 product's path under the current ISA choice: VNNI needs the avx512 path and the flag */
static inline int lstm_energy_int8_path(void)
{
    int isa = lstm_energy_isa();
    if (isa >= LE_ISA_AVX512 && lstm_energy_cpu_has_vnni())
        return LE_LP_AVX512;
    return isa >= LE_ISA_AVX2 ? LE_LP_AVX2 : LE_LP_SCALAR;
}

static inline int lstm_energy_bf16_path(void)
{
    return (lstm_energy_isa() >= LE_ISA_AVX512 && lstm_energy_cpu_has_bf16()) ? LE_LP_AVX512 : LE_LP_SCALAR;
}

/* ------------------------------------------------------------------------------------- quantize */

/* max |a[k]|, k < K (NaN ignored) */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_absmax_row,
    (const float *restrict a, Py_ssize_t K, float *restrict out),
    {
        float m = 0.0f;
        for (Py_ssize_t k = 0; k < K; ++k) {
            float v = fabsf(a[k]);
            m = v > m ? v : m;
        }
        *out = m;
    })

/* q[k] = rint(a[k] * inv) clamped to [-127, 127], + bias (0, or 128 for the VNNI operand), k < K.
 * rintf (round to nearest even; inlined: roundps, or GCC's SSE2 expansion with -fno-trapping-math).
 * Not the (v + 1.5 * 2^23) - 1.5 * 2^23 trick: GCC contracts a[k] * inv + 1.5 * 2^23 into an FMA on
 * the FMA builds, which rounds differently from the NumPy specification. */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_quantize_row,
    (const float *restrict a, Py_ssize_t K, float inv, int bias, int8_t *restrict q),
    {
        for (Py_ssize_t k = 0; k < K; ++k) {
            float v = a[k] * inv;
            v = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
            v = rintf(v);
            q[k] = (int8_t)(uint8_t)((int)v + bias);
        }
    })

/* bf16 bits of a[k] (round to nearest even; NaN kept a quiet NaN), k < K */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_bf16_row,
    (const float *restrict a, Py_ssize_t K, uint16_t *restrict out),
    {
        for (Py_ssize_t k = 0; k < K; ++k) {
            uint32_t u;
            memcpy(&u, a + k, 4);
            uint32_t r = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
            out[k] = (uint16_t)(((u & 0x7FFFFFFFu) > 0x7F800000u) ? ((u >> 16) | 0x40u) : r);
        }
    })

/* Quantize M rows of A (row stride lda, K used) into q (rows of Kp bytes, zero padded) and
 * scale[m] = max|A[m]| / 127 (0 for a zero row). offset: store q + 128 (the VNNI operand). */
static void lstm_energy_quantize_rows(const float *a, Py_ssize_t lda, Py_ssize_t M, Py_ssize_t K,
                                      Py_ssize_t Kp, int8_t *q, float *scale, int offset)
{
    for (Py_ssize_t m = 0; m < M; ++m) {
        const float *row = a + m * lda;
        int8_t *out = q + m * Kp;
        float amax;
        LSTM_ENERGY_DISPATCH(lstm_energy_absmax_row, (row, K, &amax));
        if (!(amax > 0.0f) || amax > 3.0e38f) {          /* zero row (or inf/NaN: no scale) */
            memset(out, offset ? 0x80 : 0, (size_t)Kp);
            scale[m] = (amax > 0.0f) ? amax : 0.0f;     /* inf/NaN propagate through the scale */
            continue;
        }
        float inv = 127.0f / amax;
        LSTM_ENERGY_DISPATCH(lstm_energy_quantize_row, (row, K, inv, offset ? 128 : 0, out));
        memset(out + K, offset ? 0x80 : 0, (size_t)(Kp - K));
        scale[m] = amax / 127.0f;
    }
}

/* Convert M rows of A (stride lda, K used) to bf16 rows of Kp (zero padded). */
static void lstm_energy_bf16_rows(const float *a, Py_ssize_t lda, Py_ssize_t M, Py_ssize_t K,
                                  Py_ssize_t Kp, uint16_t *out)
{
    for (Py_ssize_t m = 0; m < M; ++m) {
        LSTM_ENERGY_DISPATCH(lstm_energy_bf16_row, (a + m * lda, K, out + m * Kp));
        memset(out + m * Kp + K, 0, (size_t)(Kp - K) * 2);
    }
}

/* ------------------------------------------------------------------------------------- epilogue */

/* C[m, n0 + j] (+)= acc[j] * (s * wscale[n0 + j]) (or the bf16 sum as is, wscale NULL), j < nc.
 * Rounded after each operation as the NumPy specification does: no FMA contraction of the add into C
 * (the FMA builds would otherwise fuse it), hence its own non-inlined function. */
__attribute__((noinline, optimize("fp-contract=off"))) static void lstm_energy_lp_store(float *c, const float *acc, float s, const float *wscale,
                                        Py_ssize_t nc, int accumulate)
{
    for (Py_ssize_t j = 0; j < nc; ++j) {
        float v = wscale ? acc[j] * (s * wscale[j]) : acc[j];
        c[j] = accumulate ? c[j] + v : v;
    }
}

/* --------------------------------------------------------------------------------- int8: scalar */

static void lstm_energy_q8_block_scalar(const int8_t *q, Py_ssize_t Kp, Py_ssize_t rows,
                                        const int8_t *panel, const int32_t *wsum, int offset,
                                        const float *scale, const float *wscale, float *c,
                                        Py_ssize_t ldc, Py_ssize_t nc, int accumulate)
{
    for (Py_ssize_t r = 0; r < rows; ++r) {
        int32_t acc[LE_LP_NR] = {0};
        const int8_t *a = q + r * Kp;
        for (Py_ssize_t k4 = 0; k4 < Kp / 4; ++k4) {
            const int8_t *w = panel + k4 * 64;
            for (int j = 0; j < LE_LP_NR; ++j)
                for (int i = 0; i < 4; ++i) {
                    int av = offset ? (int)(uint8_t)a[4 * k4 + i] : (int)a[4 * k4 + i];
                    acc[j] += av * (int)w[4 * j + i];
                }
        }
        float out[LE_LP_NR];
        for (int j = 0; j < LE_LP_NR; ++j)
            out[j] = (float)(offset ? acc[j] - 128 * wsum[j] : acc[j]);
        lstm_energy_lp_store(c + r * ldc, out, scale[r], wscale, nc, accumulate);
    }
}

#ifdef LSTM_ENERGY_X86
/* --------------------------------------------------------------------------------- int8: AVX2 */
#define LE_Q8_R_AVX2 4

__attribute__((target("avx2,fma"), optimize("fp-contract=off"))) static void lstm_energy_q8_block_avx2(
    const int8_t *q, Py_ssize_t Kp, Py_ssize_t rows, const int8_t *panel, const int32_t *wsum,
    int offset, const float *scale, const float *wscale, float *c, Py_ssize_t ldc, Py_ssize_t nc,
    int accumulate)
{
    (void)offset; (void)wsum;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[LE_Q8_R_AVX2][2];
    for (int r = 0; r < LE_Q8_R_AVX2; ++r)
        acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    Py_ssize_t k4n = Kp / 4;
    if (rows == LE_Q8_R_AVX2) {
        for (Py_ssize_t k4 = 0; k4 < k4n; ++k4) {
            __m256i w0 = _mm256_loadu_si256((const __m256i *)(panel + k4 * 64));
            __m256i w1 = _mm256_loadu_si256((const __m256i *)(panel + k4 * 64 + 32));
#define LE_Q8_ROW(r)                                                                          \
            {                                                                                 \
                int32_t bits;                                                                 \
                memcpy(&bits, q + (r) * Kp + 4 * k4, 4);                                      \
                __m256i qa = _mm256_set1_epi32(bits);                                         \
                __m256i ua = _mm256_abs_epi8(qa);                                             \
                __m256i p0 = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(w0, qa));              \
                __m256i p1 = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(w1, qa));              \
                acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(p0, ones));         \
                acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(p1, ones));         \
            }
            LE_Q8_ROW(0) LE_Q8_ROW(1) LE_Q8_ROW(2) LE_Q8_ROW(3)
        }
    } else {
        for (Py_ssize_t k4 = 0; k4 < k4n; ++k4) {
            __m256i w0 = _mm256_loadu_si256((const __m256i *)(panel + k4 * 64));
            __m256i w1 = _mm256_loadu_si256((const __m256i *)(panel + k4 * 64 + 32));
            for (Py_ssize_t r = 0; r < rows; ++r)
                LE_Q8_ROW(r)
        }
    }
#undef LE_Q8_ROW
    /* the int32 sums hold 4 k each for columns (j, i) with lane order [j][i] reduced by madd:
     * ymm lane l of acc[r][h] is column 8h + l (the panel stores 4 bytes of k per column) */
    /* a whole panel: the epilogue in registers (lstm_energy_lp_store's operations in its order; this
     * function is compiled with fp-contract=off); a partial panel goes through lstm_energy_lp_store */
    __m256 ws0 = _mm256_loadu_ps(wscale), ws1 = _mm256_loadu_ps(wscale + 8);
    for (Py_ssize_t r = 0; r < rows; ++r) {
        float *cr = c + r * ldc;
        if (nc >= LE_LP_NR) {
            __m256 sr = _mm256_set1_ps(scale[r]);
            __m256 v0 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][0]), _mm256_mul_ps(sr, ws0));
            __m256 v1 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][1]), _mm256_mul_ps(sr, ws1));
            if (accumulate) {
                v0 = _mm256_add_ps(_mm256_loadu_ps(cr), v0);
                v1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), v1);
            }
            _mm256_storeu_ps(cr, v0);
            _mm256_storeu_ps(cr + 8, v1);
            continue;
        }
        float out[LE_LP_NR];
        _mm256_storeu_ps(out, _mm256_cvtepi32_ps(acc[r][0]));
        _mm256_storeu_ps(out + 8, _mm256_cvtepi32_ps(acc[r][1]));
        lstm_energy_lp_store(cr, out, scale[r], wscale, nc, accumulate);
    }
}

/* --------------------------------------------------------------------------------- int8: VNNI */
#define LE_Q8_R_VNNI 8
#define LE_VNNI_TARGET "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma"

__attribute__((target(LE_VNNI_TARGET), optimize("fp-contract=off"))) static void lstm_energy_q8_block_vnni(
    const int8_t *q, Py_ssize_t Kp, Py_ssize_t rows, const int8_t *panel, const int32_t *wsum,
    int offset, const float *scale, const float *wscale, float *c, Py_ssize_t ldc, Py_ssize_t nc,
    int accumulate)
{
    (void)offset;   /* always offset on this path */
    __m512i acc[LE_Q8_R_VNNI];
    for (int r = 0; r < LE_Q8_R_VNNI; ++r)
        acc[r] = _mm512_setzero_si512();
    Py_ssize_t k4n = Kp / 4;
    if (rows == LE_Q8_R_VNNI) {
        const int8_t *a0 = q, *a1 = q + Kp, *a2 = q + 2 * Kp, *a3 = q + 3 * Kp;
        const int8_t *a4 = q + 4 * Kp, *a5 = q + 5 * Kp, *a6 = q + 6 * Kp, *a7 = q + 7 * Kp;
        for (Py_ssize_t k4 = 0; k4 < k4n; ++k4) {
            __m512i w = _mm512_loadu_si512((const void *)(panel + k4 * 64));
#define LE_VNNI_ROW(r, p)                                                                     \
            { int32_t bits; memcpy(&bits, (p) + 4 * k4, 4);                                   \
              acc[r] = _mm512_dpbusd_epi32(acc[r], _mm512_set1_epi32(bits), w); }
            LE_VNNI_ROW(0, a0) LE_VNNI_ROW(1, a1) LE_VNNI_ROW(2, a2) LE_VNNI_ROW(3, a3)
            LE_VNNI_ROW(4, a4) LE_VNNI_ROW(5, a5) LE_VNNI_ROW(6, a6) LE_VNNI_ROW(7, a7)
        }
    } else {
        for (Py_ssize_t k4 = 0; k4 < k4n; ++k4) {
            __m512i w = _mm512_loadu_si512((const void *)(panel + k4 * 64));
            for (Py_ssize_t r = 0; r < rows; ++r)
                LE_VNNI_ROW(r, q + r * Kp)
        }
    }
#undef LE_VNNI_ROW
    /* the epilogue in registers (lstm_energy_lp_store's operations in its order, one rounding each:
     * this function is compiled with fp-contract=off, so the multiply and the add stay two), masked
     * to the nc columns this panel has; wscale is padded to whole panels, so its load is in bounds */
    __m512i corr = _mm512_slli_epi32(_mm512_loadu_si512((const void *)wsum), 7);   /* 128 * wsum */
    __mmask16 cols = nc >= LE_LP_NR ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1u);
    __m512 ws = _mm512_loadu_ps(wscale);
    for (Py_ssize_t r = 0; r < rows; ++r) {
        __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r], corr));
        v = _mm512_mul_ps(v, _mm512_mul_ps(_mm512_set1_ps(scale[r]), ws));
        float *cr = c + r * ldc;
        if (accumulate)
            v = _mm512_add_ps(_mm512_maskz_loadu_ps(cols, cr), v);
        _mm512_mask_storeu_ps(cr, cols, v);
    }
}

/* --------------------------------------------------------------------------------- bf16: AVX512_BF16 */
#define LE_BF16_TARGET "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma"

__attribute__((target(LE_BF16_TARGET))) static void lstm_energy_bf16_block_avx512(
    const uint16_t *a, Py_ssize_t Kp, Py_ssize_t rows, const uint16_t *panel, float *c,
    Py_ssize_t ldc, Py_ssize_t nc, int accumulate)
{
    __m512 acc[LE_BF_R];
    for (int r = 0; r < LE_BF_R; ++r)
        acc[r] = _mm512_setzero_ps();
    Py_ssize_t k2n = Kp / 2;
#define LE_BF_ROW(r)                                                                          \
    { int32_t bits; memcpy(&bits, a + (r) * Kp + 2 * k2, 4);                                  \
      acc[r] = _mm512_dpbf16_ps(acc[r], (__m512bh)_mm512_set1_epi32(bits), (__m512bh)w); }
    if (rows == LE_BF_R) {
        for (Py_ssize_t k2 = 0; k2 < k2n; ++k2) {
            __m512i w = _mm512_loadu_si512((const void *)(panel + k2 * 32));
            LE_BF_ROW(0) LE_BF_ROW(1) LE_BF_ROW(2) LE_BF_ROW(3)
            LE_BF_ROW(4) LE_BF_ROW(5) LE_BF_ROW(6) LE_BF_ROW(7)
        }
    } else {
        for (Py_ssize_t k2 = 0; k2 < k2n; ++k2) {
            __m512i w = _mm512_loadu_si512((const void *)(panel + k2 * 32));
            for (Py_ssize_t r = 0; r < rows; ++r)
                LE_BF_ROW(r)
        }
    }
#undef LE_BF_ROW
    for (Py_ssize_t r = 0; r < rows; ++r) {
        float out[LE_LP_NR];
        _mm512_storeu_ps(out, acc[r]);
        lstm_energy_lp_store(c + r * ldc, out, 0.0f, NULL, nc, accumulate);
    }
}
#endif

/* --------------------------------------------------------------------------------- bf16: scalar */

static inline float lstm_energy_bf16_to_float(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void lstm_energy_bf16_block_scalar(const uint16_t *a, Py_ssize_t Kp, Py_ssize_t rows,
                                          const uint16_t *panel, float *c, Py_ssize_t ldc,
                                          Py_ssize_t nc, int accumulate)
{
    for (Py_ssize_t r = 0; r < rows; ++r) {
        float acc[LE_LP_NR] = {0};
        const uint16_t *ar = a + r * Kp;
        for (Py_ssize_t k = 0; k < Kp; ++k) {
            float av = lstm_energy_bf16_to_float(ar[k]);
            const uint16_t *w = panel + (k / 2) * 32 + (k % 2);
            for (int j = 0; j < LE_LP_NR; ++j)
                acc[j] += av * lstm_energy_bf16_to_float(w[2 * j]);
        }
        lstm_energy_lp_store(c + r * ldc, acc, 0.0f, NULL, nc, accumulate);
    }
}

/* ------------------------------------------------------------------------------------- drivers */

/* C (M, N) (+)= dequant(q (M, Kp) @ Wq^T): q from lstm_energy_quantize_rows with the offset the
 * path needs (lstm_energy_int8_offset), panels/wsum/wscale packed for N columns. */
static inline int lstm_energy_int8_offset(int path) { return path == LE_LP_AVX512; }

static void lstm_energy_int8_gemm(int path, Py_ssize_t M, Py_ssize_t N, Py_ssize_t Kp, const int8_t *q,
                                  const float *scale, const int8_t *panels, const int32_t *wsum,
                                  const float *wscale, float *c, Py_ssize_t ldc, int accumulate)
{
    Py_ssize_t P = (N + LE_LP_NR - 1) / LE_LP_NR;
    Py_ssize_t R = path == LE_LP_AVX512 ? 8 : (path == LE_LP_AVX2 ? 4 : 1);
    int offset = lstm_energy_int8_offset(path);
    for (Py_ssize_t m0 = 0; m0 < M; m0 += LE_LP_MC) {
        Py_ssize_t mc = M - m0 < LE_LP_MC ? M - m0 : LE_LP_MC;
        for (Py_ssize_t p = 0; p < P; ++p) {
            const int8_t *panel = panels + p * Kp * LE_LP_NR;
            Py_ssize_t n0 = p * LE_LP_NR, nc = N - n0 < LE_LP_NR ? N - n0 : LE_LP_NR;
            for (Py_ssize_t r0 = m0; r0 < m0 + mc; r0 += R) {
                Py_ssize_t rows = m0 + mc - r0 < R ? m0 + mc - r0 : R;
                const int8_t *qa = q + r0 * Kp;
                float *cc = c + r0 * ldc + n0;
#ifdef LSTM_ENERGY_X86
                if (path == LE_LP_AVX512)
                    lstm_energy_q8_block_vnni(qa, Kp, rows, panel, wsum + n0, offset, scale + r0,
                                              wscale + n0, cc, ldc, nc, accumulate);
                else if (path == LE_LP_AVX2)
                    lstm_energy_q8_block_avx2(qa, Kp, rows, panel, wsum + n0, offset, scale + r0,
                                              wscale + n0, cc, ldc, nc, accumulate);
                else
#endif
                    lstm_energy_q8_block_scalar(qa, Kp, rows, panel, wsum + n0, offset, scale + r0,
                                                wscale + n0, cc, ldc, nc, accumulate);
            }
        }
    }
}

/* C (M, N) (+)= a (M, Kp bf16) @ Wbf^T, float32 sums */
static void lstm_energy_bf16_gemm(int path, Py_ssize_t M, Py_ssize_t N, Py_ssize_t Kp, const uint16_t *a,
                                  const uint16_t *panels, float *c, Py_ssize_t ldc, int accumulate)
{
    Py_ssize_t P = (N + LE_LP_NR - 1) / LE_LP_NR;
    Py_ssize_t R = path == LE_LP_AVX512 ? LE_BF_R : 1;
    for (Py_ssize_t m0 = 0; m0 < M; m0 += LE_LP_MC) {
        Py_ssize_t mc = M - m0 < LE_LP_MC ? M - m0 : LE_LP_MC;
        for (Py_ssize_t p = 0; p < P; ++p) {
            const uint16_t *panel = panels + p * Kp * LE_LP_NR;
            Py_ssize_t n0 = p * LE_LP_NR, nc = N - n0 < LE_LP_NR ? N - n0 : LE_LP_NR;
            for (Py_ssize_t r0 = m0; r0 < m0 + mc; r0 += R) {
                Py_ssize_t rows = m0 + mc - r0 < R ? m0 + mc - r0 : R;
#ifdef LSTM_ENERGY_X86
                if (path == LE_LP_AVX512)
                    lstm_energy_bf16_block_avx512(a + r0 * Kp, Kp, rows, panel, c + r0 * ldc + n0, ldc,
                                                  nc, accumulate);
                else
#endif
                    lstm_energy_bf16_block_scalar(a + r0 * Kp, Kp, rows, panel, c + r0 * ldc + n0, ldc,
                                                  nc, accumulate);
            }
        }
    }
}

#endif
