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
 *   avx2    vpmaddwd on int16: activations quantized straight to int16, each pair of weights
 *           sign-extended from the int8 panel (vpmovsxbw) as it is loaded; a pair of products summed
 *           into int32 per instruction, |pair| <= 2 * 127 * 127, exact.
 *   vnni    AVX-512 VNNI vpdpbusd (u8 x s8, 4 products into int32, no intermediate saturation):
 *           activations stored as q + 128 (u8), and 128 * wsum[n] subtracted in the epilogue.
 *   amx     AMX-INT8 TDPBUSD on the VNNI operands as they lie, for whole 16 x 16 x 64 blocks, the rest
 *           on VNNI (the AMX section below).
 * bf16: weights and activations rounded to bfloat16 (round to nearest even), products summed in
 * float32: AVX512_BF16 vdpbf16ps (pairs of k per instruction); on AVX2 CPUs each bf16 widened to float32
 * in registers (a shift or a mask: bf16 is the high half of a float32) and multiplied-added by FMA, at
 * about the float32 kernels' rate; the scalar conversion path (a running float32 sum per output) on
 * others; and where the CPU has AMX-BF16 and the process may use it (_amx.h), TDPBF16PS tiles for whole
 * blocks of 16 rows x 16 columns x 32 k, the rest on AVX512_BF16 (the AMX section below). All are
 * within float32 rounding of each other (the sum order and the FMA rounding differ).
 *
 * Packed weights (NumPy, lstm_energy/kernels/lowp.pyx): N padded to panels of 16 columns, K padded
 * to Kp (a multiple of 4 for int8, of 2 for bf16); panel p holds the 16 columns' k-groups as
 *   int8, layout k4 (VNNI):          panels[p][k / 4][j][k % 4]   (64 bytes per group of 4 k: one zmm)
 *   int8, layout k2 (AVX2, scalar):  panels[p][k / 2][j][k % 2]   (32 bytes per pair of k)
 *   bf16:                            panels[p][k / 2][j][k % 2]   (64 bytes per pair of k)
 * The int8 layout follows the path (lstm_energy_int8_layout); the packed weight records the layout it
 * was packed for and lowp.pyx refuses a weight packed for another path.
 * Activations are quantized/converted into rows of Kp elements (zero padded): int8 layout k4 as bytes
 * q + 128, layout k2 as int16; bf16 as bf16 bits.
 * Blocking: rows of A in chunks (LE_LP_MC rows, in L2; the AVX2 int8 path sizes its own to stay in L1,
 * see lstm_energy_q8_chunk_rows_avx2), the panels walked for each chunk
 * (a panel, Kp * 16 bytes for int8, stays in L1 while the chunk's row blocks pass); on the AVX-512 path two
 * adjacent panels at a time (8 rows x 32 columns, 16 sums) where the float32 products pair them
 * (lstm_energy_panel_pairs: every AVX-512 CPU but Zen 4). Fewer than 4 rows take the one-row kernels, which
 * run several panels at once instead (independent chains over the same row).
 * Threads: a product big enough to pay for the fork/join (lstm_energy_threads_for, as the float32
 * products) splits its panels into one contiguous range per thread of the kernels' OpenMP pool; each
 * output column is still summed by one thread in one order, so the result does not depend on the
 * thread count.
 */
#ifndef LSTM_ENERGY_LOWP_GEMM_H
#define LSTM_ENERGY_LOWP_GEMM_H

#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

#include "_isa.h"
#include "_amx.h"
#include "_vector_math.h"
#include "_packed_gemm.h"   /* lstm_energy_threads_for: the kernels' OpenMP pool, its size threshold */
#ifdef LSTM_ENERGY_X86
#include <immintrin.h>
#endif   /* LSTM_ENERGY_ROW_FUNCTION / LSTM_ENERGY_DISPATCH */

#define LE_LP_NR 16
#define LE_LP_MC 128
#define LE_BF_R 8   /* rows per AVX512_BF16 block */

#define LE_LP_SCALAR 0
#define LE_LP_AVX2 1
#define LE_LP_AVX512 2   /* int8: AVX-512 VNNI; bf16: AVX512_BF16 */
#define LE_LP_AMX 3      /* AMX-BF16 / AMX-INT8 tiles (whole tiles; the rest on AVX512_BF16 / VNNI) */

static int lstm_energy_lp_vnni = -1, lstm_energy_lp_bf16 = -1;

/* 1 when CPUID reports AVX512_VNNI (leaf 7 ECX bit 11) / AVX512_BF16 (leaf 7 subleaf 1 EAX bit 5); asked
 * once, the answer published with one atomic store (threads may ask at once, without the GIL) */
static inline int lstm_energy_cpu_has_vnni(void)
{
    int has = __atomic_load_n(&lstm_energy_lp_vnni, __ATOMIC_RELAXED);
    if (has < 0) {
        has = 0;
#ifdef LSTM_ENERGY_X86
        unsigned int a, b, c, d;
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
            has = (c >> 11) & 1;
#endif
        __atomic_store_n(&lstm_energy_lp_vnni, has, __ATOMIC_RELAXED);
    }
    return has;
}

static inline int lstm_energy_cpu_has_bf16(void)
{
    int has = __atomic_load_n(&lstm_energy_lp_bf16, __ATOMIC_RELAXED);
    if (has < 0) {
        has = 0;
#ifdef LSTM_ENERGY_X86
        unsigned int a, b, c, d;
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d))
            has = (a >> 5) & 1;
#endif
        __atomic_store_n(&lstm_energy_lp_bf16, has, __ATOMIC_RELAXED);
    }
    return has;
}

/* the int8 product's path under the current ISA choice: VNNI needs the avx512 path and the flag; AMX
 * tiles (whole tiles, the rest on VNNI) also where the process may use them (_amx.h) */
static inline int lstm_energy_int8_path(void)
{
    int isa = lstm_energy_isa();
    if (isa >= LE_ISA_AVX512 && lstm_energy_cpu_has_vnni())
        return lstm_energy_amx_wanted && lstm_energy_amx_missing() == NULL ? LE_LP_AMX : LE_LP_AVX512;
    return isa >= LE_ISA_AVX2 ? LE_LP_AVX2 : LE_LP_SCALAR;
}

/* the int8 operands' layout a path reads: LE_Q8_LAYOUT_K4 for VNNI (4 k per column, activations
 * q + 128 as bytes), LE_Q8_LAYOUT_K2 for the AVX2 and scalar paths (2 k per column, int16 activations) */
#define LE_Q8_LAYOUT_K2 2
#define LE_Q8_LAYOUT_K4 4
static inline int lstm_energy_int8_layout(int path) { return path >= LE_LP_AVX512 ? LE_Q8_LAYOUT_K4 : LE_Q8_LAYOUT_K2; }

/* the bf16 product's path: AMX tiles where the process may use them (and they are not switched off,
 * _amx.h), else AVX512_BF16, both on the avx512 ISA path only */
static inline int lstm_energy_bf16_path(void)
{
    if (lstm_energy_isa() >= LE_ISA_AVX512 && lstm_energy_cpu_has_bf16())
        return lstm_energy_amx_wanted && lstm_energy_amx_missing() == NULL ? LE_LP_AMX : LE_LP_AVX512;
    return lstm_energy_isa() >= LE_ISA_AVX2 ? LE_LP_AVX2 : LE_LP_SCALAR;
}

/* the widest int8 (bf16 = 0) or bf16 (bf16 = 1) path this process can run, whatever the ISA choice and
 * set_amx say: a path a caller passes down (lowp_forward's `path`) must not exceed it */
static inline int lstm_energy_lp_path_cap(int bf16)
{
    int isa = lstm_energy_isa_best_cached();
    int has = bf16 ? lstm_energy_cpu_has_bf16() : lstm_energy_cpu_has_vnni();
    if (isa >= LE_ISA_AVX512 && has)
        return lstm_energy_amx_missing() == NULL ? LE_LP_AMX : LE_LP_AVX512;
    return isa >= LE_ISA_AVX2 ? LE_LP_AVX2 : LE_LP_SCALAR;
}

/* ------------------------------------------------------------------------------------- quantize */

/* max |a[k]|, k < K, NaN if any a[k] is NaN (NumPy's max), on the bit patterns: |a[k]|'s bits order like
 * unsigned integers, a NaN's above infinity's. An integer max is associative, so the compiler vectorises
 * the reduction (a float max chain it keeps serial without -ffast-math). */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_absmax_row,
    (const float *restrict a, Py_ssize_t K, float *restrict out),
    {
        uint32_t m = 0;
        for (Py_ssize_t k = 0; k < K; ++k) {
            uint32_t u;
            memcpy(&u, a + k, 4);
            u &= 0x7FFFFFFFu;
            m = m < u ? u : m;
        }
        memcpy(out, &m, 4);
    })

/* q[k] = rint(a[k] * inv) clamped to [-127, 127], + bias (0, or 128 for the VNNI operand), k < K.
 * rintf (round to nearest even; inlined: roundps, or GCC's SSE2 expansion with -fno-trapping-math).
 * Not the (v + 1.5 * 2^23) - 1.5 * 2^23 trick: GCC contracts a[k] * inv + 1.5 * 2^23 into an FMA on
 * the FMA builds, which rounds differently from the NumPy specification.
 * clamp 0 skips the clamp where it cannot change a value (see lstm_energy_quantize_rows): GCC keeps the
 * ternaries as compare-and-blend sequences (it may not turn them into min/max without finite-math), a
 * third of the loop; the two loops are unswitched at -O3. */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_quantize_row,
    (const float *restrict a, Py_ssize_t K, float inv, int bias, int clamp, int8_t *restrict q),
    {
        for (Py_ssize_t k = 0; k < K; ++k) {
            float v = a[k] * inv;
            if (clamp)
                v = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
            v = rintf(v);
            q[k] = (int8_t)(uint8_t)((int)v + bias);
        }
    })

/* the same values as int16 (the k2 layout's activations) */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_quantize_row16,
    (const float *restrict a, Py_ssize_t K, float inv, int clamp, int16_t *restrict q),
    {
        for (Py_ssize_t k = 0; k < K; ++k) {
            float v = a[k] * inv;
            if (clamp)
                v = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
            q[k] = (int16_t)(int)rintf(v);
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

/* Quantize M rows of A (row stride lda, K used) into q, rows of Kp elements (zero padded), and
 * scale[m] = max|A[m]| / 127 (0 for a zero row), in the form the path's product reads
 * (lstm_energy_int8_layout): layout 4, bytes q + 128 (the VNNI operand); layout 2, int16 q. */
static void lstm_energy_quantize_rows(const float *a, Py_ssize_t lda, Py_ssize_t M, Py_ssize_t K,
                                      Py_ssize_t Kp, void *q, float *scale, int layout)
{
    for (Py_ssize_t m = 0; m < M; ++m) {
        const float *row = a + m * lda;
        int8_t *out8 = (int8_t *)q + m * Kp;
        int16_t *out16 = (int16_t *)q + m * Kp;
        float amax;
        LSTM_ENERGY_DISPATCH(lstm_energy_absmax_row, (row, K, &amax));
        /* a zero row, or one holding an inf or NaN (NaN fails amax > 0); a finite row up to FLT_MAX is
         * quantized like any other (its scale amax / 127 and inverse 127 / amax are normal floats) */
        int zero_row = !(amax > 0.0f) || isinf(amax);
        /* a zero row's scale is 0; an inf or NaN becomes the row's scale, so every output of the row is
         * NaN (0 * inf, or * NaN), as in the NumPy specification and torch's dynamic quantization. The
         * float32 forward can stay finite there (a saturated gate absorbs an inf): int8 does not. */
        scale[m] = zero_row ? (amax == 0.0f ? 0.0f : amax) : amax / 127.0f;
        Py_ssize_t from = zero_row ? 0 : K;                 /* the first element left to pad */
        float inv = 127.0f / amax;
        /* A finite row with a finite inv needs no clamp: |a[k]| <= amax and inv <= (127 / amax)(1 + 2^-24),
         * so |a[k] * inv| <= 127 (1 + 2^-24)^2 < 127.5 after its rounding, and rint stays within +-127.
         * inv overflows to inf for amax below 127 / FLT_MAX; that row keeps the specification's clamp. */
        int clamp = !(inv < INFINITY);
        if (layout == LE_Q8_LAYOUT_K4) {
            if (!zero_row)
                LSTM_ENERGY_DISPATCH(lstm_energy_quantize_row, (row, K, inv, 128, clamp, out8));
            memset(out8 + from, 0x80, (size_t)(Kp - from));
        } else {
            if (!zero_row)
                LSTM_ENERGY_DISPATCH(lstm_energy_quantize_row16, (row, K, inv, clamp, out16));
            memset(out16 + from, 0, (size_t)(Kp - from) * 2);
        }
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
__attribute__((noinline, optimize("fp-contract=off"))) static void
lstm_energy_lp_store(float *c, const float *acc, float s, const float *wscale, Py_ssize_t nc, int accumulate)
{
    for (Py_ssize_t j = 0; j < nc; ++j) {
        float v = wscale ? acc[j] * (s * wscale[j]) : acc[j];
        c[j] = accumulate ? c[j] + v : v;
    }
}

/* --------------------------------------------------------------------------------- int8: scalar */

/* layout k2 (scalar and AVX2 paths): panel[k / 2][j][k % 2] bytes, activations int16 rows */
static void lstm_energy_q8_block_scalar(const int16_t *q, Py_ssize_t Kp, Py_ssize_t rows,
                                        const int8_t *panel, const float *scale, const float *wscale,
                                        float *c, Py_ssize_t ldc, Py_ssize_t nc, int accumulate)
{
    for (Py_ssize_t r = 0; r < rows; ++r) {
        int32_t acc[LE_LP_NR] = {0};
        const int16_t *a = q + r * Kp;
        for (Py_ssize_t k2 = 0; k2 < Kp / 2; ++k2) {
            const int8_t *w = panel + k2 * 2 * LE_LP_NR;
            for (int j = 0; j < LE_LP_NR; ++j)
                acc[j] += (int)a[2 * k2] * (int)w[2 * j] + (int)a[2 * k2 + 1] * (int)w[2 * j + 1];
        }
        float out[LE_LP_NR];
        for (int j = 0; j < LE_LP_NR; ++j)
            out[j] = (float)acc[j];
        lstm_energy_lp_store(c + r * ldc, out, scale[r], wscale, nc, accumulate);
    }
}

#ifdef LSTM_ENERGY_X86
/* --------------------------------------------------------------------------------- int8: AVX2 */
/* Layout k2. Per pair of k, the 16 columns' 32 weight bytes are sign-extended to int16 (vpmovsxbw:
 * two ymm, columns 0-7 and 8-15, each column's two k adjacent) and each row's two int16 activations
 * are broadcast; vpmaddwd multiplies and adds the pair into the column's int32 lane (exact: |sum| <=
 * 2 * 127 * 127). Per 32 multiply-adds one vpmaddwd and one vpaddd, with nothing else on the multiply
 * pipes; the sign trick (vpabsb, vpsignb, vpmaddubsw, then vpmaddwd by ones to widen) spends twice the
 * multiply-pipe slots and adds sign and abs operations that compete for them, and vpmaddubsw on q + 128
 * (the VNNI path's operands) would saturate its int16 pair sums. Measurements: docs/kernels-performance.md,
 * "int8 on AVX2: vpmaddwd on int16 instead of the sign trick".
 *
 * Register blocks of 6 rows x 16 columns (12 accumulators, 2 widened weight vectors and 2 temporaries
 * fill the 16 ymm registers) and of 4 rows (8 accumulators), so that row counts run without waste:
 * 32 rows as 6+6+6+6+4+4, where 6-row blocks alone compute 36 (an overlapping last block that
 * recomputes 4 rows). The k loop is written in asm: from the same loop in
 * intrinsics GCC 12 kept that many accumulators only by spilling some and copying the rest between
 * registers on every k step. Products of fewer than 4 rows (the B = 1 step) take the C loop below. */
#define LE_Q8_R_AVX2 6
/* rows per chunk: a multiple of 6 whose int16 rows fill at most LE_Q8_CHUNK_BYTES (16 KiB), so a
 * chunk's activations stay in L1 beside the panel (Kp * 16 bytes) while the chunk passes over every
 * panel; the weights come from L2 once per chunk. Larger chunks (activations in L2) slow the large
 * input projections (docs/kernels-performance.md, "int8 AVX2 blocks of 6 and 4 rows, chunks in L1"). */
#ifndef LE_Q8_CHUNK_BYTES
#define LE_Q8_CHUNK_BYTES 16384
#endif
static inline Py_ssize_t lstm_energy_q8_chunk_rows_avx2(Py_ssize_t Kp)
{
    Py_ssize_t rows = LE_Q8_CHUNK_BYTES / (Kp * 2) / LE_Q8_R_AVX2 * LE_Q8_R_AVX2;
    return rows < LE_Q8_R_AVX2 ? LE_Q8_R_AVX2 : rows;
}

/* rows of the next register block when `left` rows of a chunk remain (M >= 4 rows in the product):
 * 6 while that leaves none or at least 4, else 4 (32 = 6+6+6+6+4+4). Fewer rows than the block
 * (left 1-3, or 5 where M >= 6) are computed as the block that ends at the chunk's last row,
 * overlapping rows already stored (lstm_energy_q8_block_avx2's `from`). */
static inline int lstm_energy_q8_block_rows_avx2(Py_ssize_t left, Py_ssize_t M)
{
    return left == 6 || left >= 10 || (left == 5 && M >= 6) ? 6 : 4;
}

/* A whole panel of one C row from registers: cr[0:16] (+)= (v0 | v1), the add rounded once, as
 * lstm_energy_lp_store does (the int8 and bf16 AVX2 epilogues). */
__attribute__((target("avx2,fma"), always_inline)) static inline void
lstm_energy_lp_store_panel_avx2(__m256 v0, __m256 v1, float *cr, int accumulate)
{
    if (accumulate) {
        v0 = _mm256_add_ps(_mm256_loadu_ps(cr), v0);
        v1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), v1);
    }
    _mm256_storeu_ps(cr, v0);
    _mm256_storeu_ps(cr + 8, v1);
}

/* One C row from its int32 sums (acc0, acc1) = columns 0-7, 8-15. A whole panel: the epilogue in
 * registers, lstm_energy_lp_store's operations in its order, each rounded: the empty asm statement
 * keeps GCC from fusing the product and the add that follows into an FMA (GCC contracts intrinsics
 * too). A partial panel goes through lstm_energy_lp_store. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
lstm_energy_q8_store_avx2(__m256i acc0, __m256i acc1, float s, const float *wscale, float *cr, Py_ssize_t nc,
                          int accumulate)
{
    if (nc >= LE_LP_NR) {
        __m256 sr = _mm256_set1_ps(s);
        __m256 v0 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc0), _mm256_mul_ps(sr, _mm256_loadu_ps(wscale)));
        __m256 v1 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc1), _mm256_mul_ps(sr, _mm256_loadu_ps(wscale + 8)));
        __asm__("" : "+x"(v0), "+x"(v1));
        lstm_energy_lp_store_panel_avx2(v0, v1, cr, accumulate);
        return;
    }
    float out[LE_LP_NR];
    _mm256_storeu_ps(out, _mm256_cvtepi32_ps(acc0));
    _mm256_storeu_ps(out + 8, _mm256_cvtepi32_ps(acc1));
    lstm_energy_lp_store(cr, out, s, wscale, nc, accumulate);
}

/* The asm k loop of an R-row block (R = 4 or 6): ymm 2r and 2r+1 hold row r's sums for columns 0-7 and
 * 8-15; ymm12-13 the pair's widened weights; ymm14 a row's two activations in every lane, then its
 * products with columns 8-15; ymm15 its products with columns 0-7. Row r's activations at q + r * Kp,
 * addressed as q + {0, 1, 2, 3, 4, 5} * stride with the strides 1, 3 and 5 in registers. */
#define LE_Q8_ASM_ROW(address, sum0, sum1)                                                        \
    "vpbroadcastd " address ", %%ymm14\n\t"                                                       \
    "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"                                                      \
    "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\t"                                                      \
    "vpaddd %%ymm15, %%" sum0 ", %%" sum0 "\n\t"                                                  \
    "vpaddd %%ymm14, %%" sum1 ", %%" sum1 "\n\t"
#define LE_Q8_ASM_ZERO4                                                                           \
    "vpxor %%xmm0, %%xmm0, %%xmm0\n\t" "vpxor %%xmm1, %%xmm1, %%xmm1\n\t"                         \
    "vpxor %%xmm2, %%xmm2, %%xmm2\n\t" "vpxor %%xmm3, %%xmm3, %%xmm3\n\t"                         \
    "vpxor %%xmm4, %%xmm4, %%xmm4\n\t" "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"                         \
    "vpxor %%xmm6, %%xmm6, %%xmm6\n\t" "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"
#define LE_Q8_ASM_ZERO6 LE_Q8_ASM_ZERO4                                                           \
    "vpxor %%xmm8, %%xmm8, %%xmm8\n\t" "vpxor %%xmm9, %%xmm9, %%xmm9\n\t"                         \
    "vpxor %%xmm10, %%xmm10, %%xmm10\n\t" "vpxor %%xmm11, %%xmm11, %%xmm11\n\t"
#define LE_Q8_ASM_ROWS4                                                                           \
    LE_Q8_ASM_ROW("(%[q])", "ymm0", "ymm1")                                                       \
    LE_Q8_ASM_ROW("(%[q],%[s1],1)", "ymm2", "ymm3")                                               \
    LE_Q8_ASM_ROW("(%[q],%[s1],2)", "ymm4", "ymm5")                                               \
    LE_Q8_ASM_ROW("(%[q],%[s3],1)", "ymm6", "ymm7")
#define LE_Q8_ASM_ROWS6 LE_Q8_ASM_ROWS4                                                           \
    LE_Q8_ASM_ROW("(%[q],%[s1],4)", "ymm8", "ymm9")                                               \
    LE_Q8_ASM_ROW("(%[q],%[s5],1)", "ymm10", "ymm11")
#define LE_Q8_ASM_SAVE4                                                                           \
    "vmovdqa %%ymm0, (%[sums])\n\t" "vmovdqa %%ymm1, 32(%[sums])\n\t"                             \
    "vmovdqa %%ymm2, 64(%[sums])\n\t" "vmovdqa %%ymm3, 96(%[sums])\n\t"                           \
    "vmovdqa %%ymm4, 128(%[sums])\n\t" "vmovdqa %%ymm5, 160(%[sums])\n\t"                         \
    "vmovdqa %%ymm6, 192(%[sums])\n\t" "vmovdqa %%ymm7, 224(%[sums])\n\t"
#define LE_Q8_ASM_SAVE6 LE_Q8_ASM_SAVE4                                                           \
    "vmovdqa %%ymm8, 256(%[sums])\n\t" "vmovdqa %%ymm9, 288(%[sums])\n\t"                         \
    "vmovdqa %%ymm10, 320(%[sums])\n\t" "vmovdqa %%ymm11, 352(%[sums])\n\t"
#define LE_Q8_ASM_KLOOP(ZERO, ROWS, SAVE)                                                         \
    __asm__ volatile(                                                                             \
        ZERO                                                                                      \
        "1:\n\t"                                                                                  \
        "vpmovsxbw (%[w]), %%ymm12\n\t"                                                           \
        "vpmovsxbw 16(%[w]), %%ymm13\n\t"                                                         \
        ROWS                                                                                      \
        "add $32, %[w]\n\t"                                                                       \
        "add $4, %[q]\n\t"                                                                        \
        "cmp %[w_end], %[w]\n\t"                                                                  \
        "jb 1b\n\t"                                                                               \
        SAVE                                                                                      \
        : [w] "+r"(w), [q] "+r"(qk)                                                               \
        : [s1] "r"(stride), [s3] "r"(stride3), [s5] "r"(stride5), [w_end] "r"(w_end), [sums] "r"(sums) \
        : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", \
          "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15")

/* Rows from..R-1 of an R-row block of C, R = 4 or 6 (rows 0..from-1 were stored by an earlier block:
 * a tail of fewer rows is computed as the R rows ending at the chunk's last row and stores only its
 * new ones). Called with R a constant, so only that R's asm is kept. */
__attribute__((target("avx2,fma"), always_inline)) static inline void lstm_energy_q8_block_avx2(
    const int R, const int16_t *q, Py_ssize_t Kp, int from, const int8_t *panel, const float *scale,
    const float *wscale, float *c, Py_ssize_t ldc, Py_ssize_t nc, int accumulate)
{
    int32_t sums[LE_Q8_R_AVX2 * LE_LP_NR] __attribute__((aligned(32)));
    const int8_t *w = panel, *w_end = panel + Kp * LE_LP_NR;
    const int16_t *qk = q;
    Py_ssize_t stride = Kp * 2, stride3 = 3 * stride, stride5 = 5 * stride;
    if (R == 6)
        LE_Q8_ASM_KLOOP(LE_Q8_ASM_ZERO6, LE_Q8_ASM_ROWS6, LE_Q8_ASM_SAVE6);
    else
        LE_Q8_ASM_KLOOP(LE_Q8_ASM_ZERO4, LE_Q8_ASM_ROWS4, LE_Q8_ASM_SAVE4);
    for (int r = from; r < R; ++r)
        lstm_energy_q8_store_avx2(_mm256_load_si256((const __m256i *)(sums + r * LE_LP_NR)),
                                  _mm256_load_si256((const __m256i *)(sums + r * LE_LP_NR + 8)), scale[r],
                                  wscale, c + r * ldc, nc, accumulate);
}
#undef LE_Q8_ASM_KLOOP
#undef LE_Q8_ASM_SAVE6
#undef LE_Q8_ASM_SAVE4
#undef LE_Q8_ASM_ROWS6
#undef LE_Q8_ASM_ROWS4
#undef LE_Q8_ASM_ZERO6
#undef LE_Q8_ASM_ZERO4
#undef LE_Q8_ASM_ROW

__attribute__((target("avx2,fma"))) static void lstm_energy_q8_block6_avx2(
    const int16_t *q, Py_ssize_t Kp, int from, const int8_t *panel, const float *scale,
    const float *wscale, float *c, Py_ssize_t ldc, Py_ssize_t nc, int accumulate)
{
    lstm_energy_q8_block_avx2(6, q, Kp, from, panel, scale, wscale, c, ldc, nc, accumulate);
}

__attribute__((target("avx2,fma"))) static void lstm_energy_q8_block4_avx2(
    const int16_t *q, Py_ssize_t Kp, int from, const int8_t *panel, const float *scale,
    const float *wscale, float *c, Py_ssize_t ldc, Py_ssize_t nc, int accumulate)
{
    lstm_energy_q8_block_avx2(4, q, Kp, from, panel, scale, wscale, c, ldc, nc, accumulate);
}

/* One row x 16 columns in C (products of fewer than 4 rows in all: the B = 1 step). Two pairs of k per
 * iteration into two pairs of sums, added at the end: with one pair of sums the vpmaddwd + vpaddd chain
 * (4 cycles) would bound the loop. Kp is a multiple of 4 (pack_weight pads K so). */
__attribute__((target("avx2,fma"))) static void lstm_energy_q8_row_avx2(
    const int16_t *q, Py_ssize_t Kp, const int8_t *panel, float s, const float *wscale, float *c,
    Py_ssize_t nc, int accumulate)
{
    __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    for (Py_ssize_t k2 = 0; k2 < Kp / 2; k2 += 2) {
        const int8_t *w = panel + k2 * 32;
        __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w));
        __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 16)));
        __m256i w2 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 32)));
        __m256i w3 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 48)));
        int32_t pair0, pair1;
        memcpy(&pair0, q + 2 * k2, 4);
        memcpy(&pair1, q + 2 * k2 + 2, 4);
        __m256i qa = _mm256_set1_epi32(pair0), qb = _mm256_set1_epi32(pair1);
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(qa, w0));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(qa, w1));
        acc2 = _mm256_add_epi32(acc2, _mm256_madd_epi16(qb, w2));
        acc3 = _mm256_add_epi32(acc3, _mm256_madd_epi16(qb, w3));
    }
    lstm_energy_q8_store_avx2(_mm256_add_epi32(acc0, acc2), _mm256_add_epi32(acc1, acc3), s, wscale, c, nc,
                              accumulate);
}

/* C (M, N) (+)= dequant(q (M, Kp) @ Wq^T) on the AVX2 path, panels [p0, p1) (columns 16 p0 .. 16 p1 - 1):
 * rows in chunks (lstm_energy_q8_chunk_rows_avx2; a last bit of fewer than 4 rows joins the chunk
 * before), each chunk's rows passing over one panel at a time in register blocks of 6 and 4 rows
 * (lstm_energy_q8_block_rows_avx2). */
__attribute__((target("avx2,fma"))) static void lstm_energy_int8_gemm_avx2(
    Py_ssize_t M, Py_ssize_t N, Py_ssize_t Kp, const int16_t *q, const float *scale, const int8_t *panels,
    const float *wscale, float *c, Py_ssize_t ldc, int accumulate, Py_ssize_t p0, Py_ssize_t p1)
{
    const Py_ssize_t MC = lstm_energy_q8_chunk_rows_avx2(Kp);
    for (Py_ssize_t m0 = 0; m0 < M;) {
        Py_ssize_t mc = M - m0 < MC + 4 ? M - m0 : MC;
        for (Py_ssize_t p = p0; p < p1; ++p) {
            const int8_t *panel = panels + p * Kp * LE_LP_NR;
            Py_ssize_t n0 = p * LE_LP_NR, nc = N - n0 < LE_LP_NR ? N - n0 : LE_LP_NR;
            if (M < 4) {   /* too few rows for a register block: one row at a time */
                for (Py_ssize_t r = m0; r < m0 + mc; ++r)
                    lstm_energy_q8_row_avx2(q + r * Kp, Kp, panel, scale[r], wscale + n0, c + r * ldc + n0, nc,
                                            accumulate);
                continue;
            }
            for (Py_ssize_t r = m0; r < m0 + mc;) {
                Py_ssize_t left = m0 + mc - r;
                int R = lstm_energy_q8_block_rows_avx2(left, M);
                /* a block taller than what is left ends at the chunk's last row: M >= R, so it starts
                 * at row 0 or later */
                Py_ssize_t start = left >= R ? r : m0 + mc - R;
                if (R == 6)
                    lstm_energy_q8_block6_avx2(q + start * Kp, Kp, (int)(r - start), panel, scale + start,
                                               wscale + n0, c + start * ldc + n0, ldc, nc, accumulate);
                else
                    lstm_energy_q8_block4_avx2(q + start * Kp, Kp, (int)(r - start), panel, scale + start,
                                               wscale + n0, c + start * ldc + n0, ldc, nc, accumulate);
                r += left < R ? left : R;
            }
        }
        m0 += mc;
    }
}

/* --------------------------------------------------------------------------------- int8: VNNI */
#define LE_Q8_R_VNNI 8
#define LE_VNNI_TARGET "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma"

/* acc + the four u8 x s8 products of x and w in each int32 lane: _mm512_dpbusd_epi32 as one asm
 * instruction. With the intrinsic, GCC 12 computes every sum in zmm0-15 and copies the sums it keeps in
 * zmm16-31 in and out around each vpdpbusd (two moves per product in the 16-sum block, seen in the object
 * code); the asm's "v" operands let each sum stay in its own register. */
__attribute__((target(LE_VNNI_TARGET), always_inline)) static inline __m512i
lstm_energy_dpbusd(__m512i acc, __m512i x, __m512i w)
{
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
    return acc;
}

/* C row (+)= dequant(acc) for one panel: cvtepi32_ps(acc - 128 wsum) * (s * wscale), then + C when
 * accumulating (lstm_energy_lp_store's operations in its order, one rounding each: compiled with
 * fp-contract=off, so the multiply and the add stay two), masked to the panel's nc columns; wsum and
 * wscale are padded to whole panels, so their loads are in bounds. */
__attribute__((target(LE_VNNI_TARGET), optimize("fp-contract=off"), always_inline)) static inline void
lstm_energy_q8_store_vnni(__m512i acc, const int32_t *wsum, float s, const float *wscale, float *cr, Py_ssize_t nc,
                          int accumulate)
{
    __m512i corr = _mm512_slli_epi32(_mm512_loadu_si512((const void *)wsum), 7);   /* 128 * wsum */
    __mmask16 cols = nc >= LE_LP_NR ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1u);
    __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, corr));
    v = _mm512_mul_ps(v, _mm512_mul_ps(_mm512_set1_ps(s), _mm512_loadu_ps(wscale)));
    if (accumulate)
        v = _mm512_add_ps(_mm512_maskz_loadu_ps(cols, cr), v);
    _mm512_mask_storeu_ps(cr, cols, v);
}

__attribute__((target(LE_VNNI_TARGET), optimize("fp-contract=off"))) static void lstm_energy_q8_block_vnni(
    const int8_t *q, Py_ssize_t Kp, Py_ssize_t rows, const int8_t *panel, const int32_t *wsum,
    const float *scale, const float *wscale, float *c, Py_ssize_t ldc, Py_ssize_t nc, int accumulate)
{
    /* layout k4: activations q + 128 (u8), 128 * wsum[n] subtracted in the epilogue */
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
              acc[r] = lstm_energy_dpbusd(acc[r], _mm512_set1_epi32(bits), w); }
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
    for (Py_ssize_t r = 0; r < rows; ++r)
        lstm_energy_q8_store_vnni(acc[r], wsum, scale[r], wscale, c + r * ldc, nc, accumulate);
}

/* The k loop of the paired blocks below (8 rows x two adjacent panels), over 8 rows of A of Kp elements at `a`
 * and the panels at w0 and w1, `kstep` elements of k per step (4 int8 or 2 bf16: 64 bytes of each panel, one
 * vector of type VEC): both panels' vectors loaded once, each row's 4 bytes of A broadcast and fed to both
 * products, DOT(sum, x, w) accumulating into the sums s<row><panel> that LE_PAIR_SUMS declares (named
 * variables, not an array: GCC keeps an array's elements in memory or copies them between registers on every
 * pass of the k loop). */
#define LE_PAIR_SUMS(SUM, zero)                                                               \
    SUM s00 = (zero), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00, \
        s40 = s00, s41 = s00, s50 = s00, s51 = s00, s60 = s00, s61 = s00, s70 = s00, s71 = s00;
#define LE_PAIR_ROW(r, VEC, DOT, ar)                                                          \
    { int32_t bits; memcpy(&bits, (ar), 4);                                                   \
      VEC x = (VEC)_mm512_set1_epi32(bits);                                                   \
      s##r##0 = DOT(s##r##0, x, b0);                                                          \
      s##r##1 = DOT(s##r##1, x, b1); }
#define LE_PAIR_KLOOP(VEC, DOT, a, w0, w1, Kp, kstep)                                         \
    for (Py_ssize_t k = 0; k < (Kp); k += (kstep)) {                                          \
        VEC b0 = (VEC)_mm512_loadu_si512((const void *)((w0) + 16 * k));                      \
        VEC b1 = (VEC)_mm512_loadu_si512((const void *)((w1) + 16 * k));                      \
        LE_PAIR_ROW(0, VEC, DOT, (a) + k) LE_PAIR_ROW(1, VEC, DOT, (a) + (Kp) + k)            \
        LE_PAIR_ROW(2, VEC, DOT, (a) + 2 * (Kp) + k) LE_PAIR_ROW(3, VEC, DOT, (a) + 3 * (Kp) + k) \
        LE_PAIR_ROW(4, VEC, DOT, (a) + 4 * (Kp) + k) LE_PAIR_ROW(5, VEC, DOT, (a) + 5 * (Kp) + k) \
        LE_PAIR_ROW(6, VEC, DOT, (a) + 6 * (Kp) + k) LE_PAIR_ROW(7, VEC, DOT, (a) + 7 * (Kp) + k) \
    }

/* Rows (<= 8) of C over two adjacent panels (32 columns; only the second may be partial, nc of its
 * columns): 16 vpdpbusd chains, each activation broadcast feeding two products. On cores that issue two
 * 512-bit dot products per cycle (lstm_energy_panel_pairs: Zen 5, Intel) the single panel's 8 chains,
 * with a broadcast load per product, leave half of the issue width idle; each column's sum is the same
 * exact integer either way. */
__attribute__((target(LE_VNNI_TARGET), optimize("fp-contract=off"))) static void lstm_energy_q8_block2_vnni(
    const int8_t *q, Py_ssize_t Kp, Py_ssize_t rows, const int8_t *panel, const int32_t *wsum,
    const float *scale, const float *wscale, float *c, Py_ssize_t ldc, Py_ssize_t nc, int accumulate)
{
    if (rows < LE_Q8_R_VNNI) {   /* a tail of rows: each panel on its own block (no pair kernel for it) */
        lstm_energy_q8_block_vnni(q, Kp, rows, panel, wsum, scale, wscale, c, ldc, LE_LP_NR, accumulate);
        lstm_energy_q8_block_vnni(q, Kp, rows, panel + Kp * LE_LP_NR, wsum + LE_LP_NR, scale, wscale + LE_LP_NR,
                                  c + LE_LP_NR, ldc, nc, accumulate);
        return;
    }
    const int8_t *w = panel, *w1 = panel + Kp * LE_LP_NR;
    LE_PAIR_SUMS(__m512i, _mm512_setzero_si512())
    LE_PAIR_KLOOP(__m512i, lstm_energy_dpbusd, q, w, w1, Kp, 4)
#define LE_VNNI_STORE2(r)                                                                     \
    lstm_energy_q8_store_vnni(s##r##0, wsum, scale[r], wscale, c + (r) * ldc, LE_LP_NR, accumulate); \
    lstm_energy_q8_store_vnni(s##r##1, wsum + LE_LP_NR, scale[r], wscale + LE_LP_NR,          \
                              c + (r) * ldc + LE_LP_NR, nc, accumulate);
    LE_VNNI_STORE2(0) LE_VNNI_STORE2(1) LE_VNNI_STORE2(2) LE_VNNI_STORE2(3)
    LE_VNNI_STORE2(4) LE_VNNI_STORE2(5) LE_VNNI_STORE2(6) LE_VNNI_STORE2(7)
#undef LE_VNNI_STORE2
}

/* The sums of the one-row group kernels below: declares SUM sums[8], sets the first G to `zero`, and runs the
 * k loop of one row of A (Kp elements at `a`) against G panels from w (`stride` elements apart), `kstep`
 * elements of k per step (4 int8 or 2 bf16: 64 bytes of each panel, one vector of type VEC): the row's 4 bytes
 * broadcast once and fed to G independent chains DOT(sum, x, w). */
#define LE_ROW_GROUP_SUMS(SUM, zero, VEC, DOT, G, a, w, stride, Kp, kstep)                    \
    SUM sums[8];                                                                              \
    _Pragma("GCC unroll 8")                                                                   \
    for (int j = 0; j < (G); ++j)                                                             \
        sums[j] = (zero);                                                                     \
    for (Py_ssize_t k = 0; k < (Kp); k += (kstep)) {                                          \
        int32_t bits;                                                                         \
        memcpy(&bits, (a) + k, 4);                                                            \
        VEC x = (VEC)_mm512_set1_epi32(bits);                                                 \
        _Pragma("GCC unroll 8")                                                               \
        for (int j = 0; j < (G); ++j)                                                         \
            sums[j] = DOT(sums[j], x, (VEC)_mm512_loadu_si512((const void *)((w) + j * (stride) + 16 * k))); \
    }

/* One row of C over G adjacent panels from panel p at w (G = 8 or 4; `stride` bytes apart): G independent
 * vpdpbusd chains sharing each broadcast of the row's 4 bytes. Inlined with G constant, the loops over j
 * unroll and the sums stay in registers. */
__attribute__((target(LE_VNNI_TARGET), optimize("fp-contract=off"), always_inline)) static inline void
lstm_energy_q8_row_group_vnni(const int G, const int8_t *q, Py_ssize_t Kp, const int8_t *w, Py_ssize_t stride,
                              const int32_t *wsum, float s, const float *wscale, float *c, Py_ssize_t N,
                              int accumulate, Py_ssize_t p)
{
    LE_ROW_GROUP_SUMS(__m512i, _mm512_setzero_si512(), __m512i, lstm_energy_dpbusd, G, q, w, stride, Kp, 4)
#pragma GCC unroll 8
    for (int j = 0; j < G; ++j) {
        Py_ssize_t n0 = (p + j) * LE_LP_NR, nc = N - n0 < LE_LP_NR ? N - n0 : LE_LP_NR;
        lstm_energy_q8_store_vnni(sums[j], wsum + n0, s, wscale + n0, c + n0, nc, accumulate);
    }
}

/* One row of C over the panels [p0, p1) (the products of fewer than 4 rows: the B < 4 step), eight panels at
 * a time, then four: independent vpdpbusd chains. A row of the block above has one chain, bound by the
 * instruction's latency, far below the rate at which the weight bytes come from L2; four chains cover one
 * dot-product unit's latency, not two units' (docs/kernels-performance.md, "One-row kernels for the B = 1
 * step" and "The one-row reduced-precision kernels (B < 4)"). Each sum is taken in the block's order
 * (and is an exact integer anyway); a last 1-3 panels go to the block. */
__attribute__((target(LE_VNNI_TARGET), optimize("fp-contract=off"))) static void lstm_energy_q8_row_vnni(
    const int8_t *q, Py_ssize_t Kp, const int8_t *panels, const int32_t *wsum, float s, const float *wscale,
    float *c, Py_ssize_t N, int accumulate, Py_ssize_t p0, Py_ssize_t p1)
{
    const Py_ssize_t stride = Kp * LE_LP_NR;   /* bytes of one panel */
    Py_ssize_t p = p0;
    for (; p + 8 <= p1; p += 8)
        lstm_energy_q8_row_group_vnni(8, q, Kp, panels + p * stride, stride, wsum, s, wscale, c, N, accumulate, p);
    for (; p + 4 <= p1; p += 4)
        lstm_energy_q8_row_group_vnni(4, q, Kp, panels + p * stride, stride, wsum, s, wscale, c, N, accumulate, p);
    for (; p < p1; ++p) {
        Py_ssize_t n0 = p * LE_LP_NR, nc = N - n0 < LE_LP_NR ? N - n0 : LE_LP_NR;
        lstm_energy_q8_block_vnni(q, Kp, 1, panels + p * stride, wsum + n0, &s, wscale + n0, c + n0, 0, nc,
                                  accumulate);
    }
}

/* --------------------------------------------------------------------------------- bf16: AVX512_BF16 */
#define LE_BF16_TARGET "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma"

/* C row (+)= the sums of one panel in registers, masked to its nc columns: one rounding (the add), as
 * lstm_energy_lp_store does. Why from registers: storing each row's sums to a stack buffer and calling the
 * out-of-line lstm_energy_lp_store (a 16-element loop) per row adds a large share of the k loop's own time
 * at the K of these products (docs/kernels-performance.md, "The AVX512_BF16 block stores from registers"). */
__attribute__((target(LE_BF16_TARGET), always_inline)) static inline void
lstm_energy_bf16_store_avx512(__m512 v, float *cr, Py_ssize_t nc, int accumulate)
{
    __mmask16 cols = nc >= LE_LP_NR ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1u);
    if (accumulate)
        v = _mm512_add_ps(_mm512_maskz_loadu_ps(cols, cr), v);
    _mm512_mask_storeu_ps(cr, cols, v);
}

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
    for (Py_ssize_t r = 0; r < rows; ++r)
        lstm_energy_bf16_store_avx512(acc[r], c + r * ldc, nc, accumulate);
}

/* Rows (<= 8) of C over two adjacent panels (32 columns; only the second may be partial, nc of its
 * columns): 16 vdpbf16ps chains, as lstm_energy_q8_block2_vnni. Each column is summed in the single
 * panel's k order, so the bits are the single block's. */
__attribute__((target(LE_BF16_TARGET))) static void lstm_energy_bf16_block2_avx512(
    const uint16_t *a, Py_ssize_t Kp, Py_ssize_t rows, const uint16_t *panel, float *c,
    Py_ssize_t ldc, Py_ssize_t nc, int accumulate)
{
    if (rows < LE_BF_R) {   /* a tail of rows: each panel on its own block */
        lstm_energy_bf16_block_avx512(a, Kp, rows, panel, c, ldc, LE_LP_NR, accumulate);
        lstm_energy_bf16_block_avx512(a, Kp, rows, panel + Kp * LE_LP_NR, c + LE_LP_NR, ldc, nc, accumulate);
        return;
    }
    const uint16_t *w = panel, *w1 = panel + Kp * LE_LP_NR;
    LE_PAIR_SUMS(__m512, _mm512_setzero_ps())
    LE_PAIR_KLOOP(__m512bh, _mm512_dpbf16_ps, a, w, w1, Kp, 2)
#define LE_BF_STORE2(r)                                                                       \
    lstm_energy_bf16_store_avx512(s##r##0, c + (r) * ldc, LE_LP_NR, accumulate);              \
    lstm_energy_bf16_store_avx512(s##r##1, c + (r) * ldc + LE_LP_NR, nc, accumulate);
    LE_BF_STORE2(0) LE_BF_STORE2(1) LE_BF_STORE2(2) LE_BF_STORE2(3)
    LE_BF_STORE2(4) LE_BF_STORE2(5) LE_BF_STORE2(6) LE_BF_STORE2(7)
#undef LE_BF_STORE2
}

/* One row of C over G adjacent panels from panel p at w (`stride` bf16 apart): G vdpbf16ps chains sharing each
 * broadcast, as lstm_energy_q8_row_group_vnni. */
__attribute__((target(LE_BF16_TARGET), always_inline)) static inline void
lstm_energy_bf16_row_group_avx512(const int G, const uint16_t *a, Py_ssize_t Kp, const uint16_t *w,
                                  Py_ssize_t stride, float *c, Py_ssize_t N, int accumulate, Py_ssize_t p)
{
    LE_ROW_GROUP_SUMS(__m512, _mm512_setzero_ps(), __m512bh, _mm512_dpbf16_ps, G, a, w, stride, Kp, 2)
#pragma GCC unroll 8
    for (int j = 0; j < G; ++j) {
        Py_ssize_t n0 = (p + j) * LE_LP_NR, nc = N - n0 < LE_LP_NR ? N - n0 : LE_LP_NR;
        lstm_energy_bf16_store_avx512(sums[j], c + n0, nc, accumulate);
    }
}

/* One row of C over the panels [p0, p1), four panels at a time (four vdpbf16ps chains; see
 * lstm_energy_q8_row_vnni): each sum in the block's k order, so the same bits as the block. Not eight, as
 * the int8 row takes: a bf16 W_hh has twice an int8 one's bytes, and where it streams from L2 (an LSTM's at
 * H = 128) eight panel streams at once fetch worse than four; more chains pay only where W_hh fits L1
 * (docs/kernels-performance.md, "The one-row reduced-precision kernels (B < 4)"). */
__attribute__((target(LE_BF16_TARGET))) static void lstm_energy_bf16_one_row_avx512(
    const uint16_t *a, Py_ssize_t Kp, const uint16_t *panels, float *c, Py_ssize_t N, int accumulate,
    Py_ssize_t p0, Py_ssize_t p1)
{
    const Py_ssize_t stride = Kp * LE_LP_NR;   /* bf16 elements of one panel */
    Py_ssize_t p = p0;
    for (; p + 4 <= p1; p += 4)
        lstm_energy_bf16_row_group_avx512(4, a, Kp, panels + p * stride, stride, c, N, accumulate, p);
    for (; p < p1; ++p) {
        Py_ssize_t n0 = p * LE_LP_NR, nc = N - n0 < LE_LP_NR ? N - n0 : LE_LP_NR;
        lstm_energy_bf16_block_avx512(a, Kp, 1, panels + p * stride, c + n0, 0, nc, accumulate);
    }
}

/* --------------------------------------------------------------------------- bf16 and int8: AMX */
/* Tiles, all configured 16 rows x 64 bytes (palette 1): tmm0-3 the float32 (bf16) or int32 (int8) sums of
 * up to 2 x 2 blocks of 16 rows x 16 columns (block (i, j) in tmm 2i + j); tmm4-5 two 16-row blocks of
 * activations, 64 bytes of k each (32 bf16, or 64 int8 as q + 128); tmm6-7 that k of two panels: 16 rows
 * of 64 bytes, each a pair of k (bf16) or a group of 4 k (int8 layout k4) for the 16 columns, which are
 * the packed panels' rows as they lie (TDPBF16PS's and TDPBUSD's B operand layout), so the panels need no
 * repacking for the tiles. Per 64 bytes of k: four tile loads and four TDPBF16PS (16 x 16 x 32
 * multiply-adds each) or TDPBUSD (u8 x s8, 16 x 16 x 64, exact int32 sums as vpdpbusd's: the same bits as
 * the VNNI path).
 * Only whole 16-row blocks, whole panels and whole 64-byte k chunks go through the tiles: the rows and
 * the part panel left over take the AVX512_BF16 / VNNI product, and the k left over is added to each
 * tile's sums by vdpbf16ps / vpdpbusd, in k order after the tile's, before the epilogue.
 * Blocking as the other paths: row chunks of LE_LP_MC, the panels walked for each chunk, pairs of panels
 * over pairs of row blocks. */
#define LE_AMX_TARGET "amx-tile,amx-bf16,amx-int8,avx512f,avx512bw,avx512vl,avx512bf16,avx512vnni,avx2,fma"
#define LE_AMX_ROWS 16       /* rows of a tile */
#define LE_AMX_ROW_BYTES 64  /* bytes of k in a tile row: 32 bf16 or 64 int8 */

/* GCC's tile intrinsics are asm statements without memory operands: the compiler must be told that
 * memory is read before and written after them */
#define LE_AMX_MEMORY_BARRIER() __asm__ volatile("" ::: "memory")

struct lstm_energy_tile_config {   /* LDTILECFG's 64-byte operand */
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

__attribute__((target(LE_AMX_TARGET))) static void lstm_energy_amx_configure(void)
{
    struct lstm_energy_tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; ++t) {
        cfg.colsb[t] = LE_AMX_ROW_BYTES;
        cfg.rows[t] = LE_AMX_ROWS;
    }
    _tile_loadconfig(&cfg);
}

/* out (rb*16, pn*16; row stride ldo 4-byte elements) = activation rows (rb*16 rows at a, `lda` bytes
 * apart) @ panels w, w + wstride bytes (pn of them) over the first kbytes bytes of k; rb, pn in {1, 2};
 * int8: TDPBUSD into int32, else TDPBF16PS into float32.  NumPy: out = a[:, :k] @ W[cols, :k].T */
__attribute__((target(LE_AMX_TARGET), always_inline)) static inline void lstm_energy_tiles_amx(
    const int int8, const char *a, long lda, int rb, const char *w, Py_ssize_t wstride, int pn, Py_ssize_t kbytes,
    void *out, Py_ssize_t ldo)
{
    const long ldw = LE_AMX_ROW_BYTES, ldout = (long)ldo * 4;   /* bytes per tile row */
    const char *a1 = a + LE_AMX_ROWS * lda, *w1 = w + wstride;
    char *o = (char *)out;
#define LE_AMX_DP(d, x, y) do { if (int8) _tile_dpbusd(d, x, y); else _tile_dpbf16ps(d, x, y); } while (0)
    LE_AMX_MEMORY_BARRIER();
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    /* k counts bytes of an activation row; a panel holds 16 columns' bytes for each of them: w + k * 16 */
    if (rb == 2 && pn == 2) {
        for (Py_ssize_t k = 0; k < kbytes; k += LE_AMX_ROW_BYTES) {
            _tile_loadd(4, a + k, lda);
            _tile_loadd(6, w + k * LE_LP_NR, ldw);
            _tile_loadd(7, w1 + k * LE_LP_NR, ldw);
            _tile_loadd(5, a1 + k, lda);
            LE_AMX_DP(0, 4, 6);
            LE_AMX_DP(1, 4, 7);
            LE_AMX_DP(2, 5, 6);
            LE_AMX_DP(3, 5, 7);
        }
    } else {
        for (Py_ssize_t k = 0; k < kbytes; k += LE_AMX_ROW_BYTES) {
            _tile_loadd(4, a + k, lda);
            _tile_loadd(6, w + k * LE_LP_NR, ldw);
            LE_AMX_DP(0, 4, 6);
            if (pn == 2) {
                _tile_loadd(7, w1 + k * LE_LP_NR, ldw);
                LE_AMX_DP(1, 4, 7);
            }
            if (rb == 2) {
                _tile_loadd(5, a1 + k, lda);
                LE_AMX_DP(2, 5, 6);
                if (pn == 2)
                    LE_AMX_DP(3, 5, 7);
            }
        }
    }
#undef LE_AMX_DP
    _tile_stored(0, o, ldout);
    if (pn == 2)
        _tile_stored(1, o + LE_LP_NR * 4, ldout);
    if (rb == 2) {
        _tile_stored(2, o + LE_AMX_ROWS * ldout, ldout);
        if (pn == 2)
            _tile_stored(3, o + LE_AMX_ROWS * ldout + LE_LP_NR * 4, ldout);
    }
    LE_AMX_MEMORY_BARRIER();
}

/* bf16: C block (rb*16, pn*16) (+)= the tile sums s (row stride 2*16) + the products of k in [K32, Kp),
 * each row's k after the tile's, then one rounding into C (lstm_energy_bf16_store_avx512) */
__attribute__((target(LE_AMX_TARGET))) static void lstm_energy_bf16_finish_amx(
    const float *s, const uint16_t *a, Py_ssize_t Kp, int rb, const uint16_t *w, Py_ssize_t stride, int pn,
    Py_ssize_t K32, float *c, Py_ssize_t ldc, int accumulate)
{
    for (Py_ssize_t r = 0; r < rb * LE_AMX_ROWS; ++r)
        for (int j = 0; j < pn; ++j) {
            __m512 v = _mm512_loadu_ps(s + r * 2 * LE_LP_NR + j * LE_LP_NR);
            for (Py_ssize_t k2 = K32 / 2; k2 < Kp / 2; ++k2) {
                int32_t bits;
                memcpy(&bits, a + r * Kp + 2 * k2, 4);
                v = _mm512_dpbf16_ps(v, (__m512bh)_mm512_set1_epi32(bits),
                                     (__m512bh)_mm512_loadu_si512((const void *)(w + j * stride + k2 * 32)));
            }
            lstm_energy_bf16_store_avx512(v, c + r * ldc + j * LE_LP_NR, LE_LP_NR, accumulate);
        }
}

/* int8: C block (rb*16, pn*16) (+)= dequant(the tile sums s (int32, row stride 2*16) + the products of k
 * in [K64, Kp)), the VNNI epilogue (lstm_energy_q8_store_vnni): the same bits as the VNNI path */
__attribute__((target(LE_AMX_TARGET), optimize("fp-contract=off"))) static void lstm_energy_q8_finish_amx(
    const int32_t *s, const int8_t *q, Py_ssize_t Kp, int rb, const int8_t *w, Py_ssize_t stride, int pn,
    Py_ssize_t K64, const int32_t *wsum, const float *scale, const float *wscale, float *c, Py_ssize_t ldc,
    int accumulate)
{
    for (Py_ssize_t r = 0; r < rb * LE_AMX_ROWS; ++r)
        for (int j = 0; j < pn; ++j) {
            __m512i v = _mm512_loadu_si512((const void *)(s + r * 2 * LE_LP_NR + j * LE_LP_NR));
            for (Py_ssize_t k4 = K64 / 4; k4 < Kp / 4; ++k4) {
                int32_t bits;
                memcpy(&bits, q + r * Kp + 4 * k4, 4);
                v = lstm_energy_dpbusd(v, _mm512_set1_epi32(bits),
                                        _mm512_loadu_si512((const void *)(w + j * stride + k4 * 64)));
            }
            lstm_energy_q8_store_vnni(v, wsum + j * LE_LP_NR, scale[r], wscale + j * LE_LP_NR,
                                      c + r * ldc + j * LE_LP_NR, LE_LP_NR, accumulate);
        }
}

/* C rows [0, M16) over the whole panels [p0, p1) (+)= a @ W^T on the tiles: int8 0, bf16 (a, panels bf16;
 * wsum, scale, wscale unused) or int8 1 (a, panels int8 in layout k4; wsum, scale, wscale as for the VNNI
 * product); M16 a multiple of 16, Kp at least one tile row of k. Configures the calling thread's tiles and
 * releases them at the end (a thread holding tile state makes every context switch save 8 KiB more). */
__attribute__((target(LE_AMX_TARGET))) static void lstm_energy_panels_amx(
    int int8, Py_ssize_t M16, Py_ssize_t Kp, const void *a, const void *panels, const int32_t *wsum,
    const float *scale, const float *wscale, float *c, Py_ssize_t ldc, int accumulate, Py_ssize_t p0,
    Py_ssize_t p1)
{
    const Py_ssize_t elem = int8 ? 1 : 2;                       /* bytes per k */
    const Py_ssize_t kt = LE_AMX_ROW_BYTES / elem;              /* k per tile row */
    const Py_ssize_t Kt = Kp / kt * kt, stride = Kp * LE_LP_NR; /* k on the tiles; elements per panel */
    const int direct = !int8 && !accumulate && Kt == Kp;        /* the tile sums are the result: into C */
    int32_t sums[2 * LE_AMX_ROWS * 2 * LE_LP_NR] __attribute__((aligned(64)));
    lstm_energy_amx_configure();
    for (Py_ssize_t m0 = 0; m0 < M16; m0 += LE_LP_MC) {
        Py_ssize_t m1 = M16 - m0 < LE_LP_MC ? M16 : m0 + LE_LP_MC;
        for (Py_ssize_t p = p0; p < p1; p += 2) {
            int pn = p + 1 < p1 ? 2 : 1;
            const char *w = (const char *)panels + p * stride * elem;
            for (Py_ssize_t r0 = m0; r0 < m1; r0 += 2 * LE_AMX_ROWS) {
                int rb = r0 + LE_AMX_ROWS < m1 ? 2 : 1;
                const char *ar = (const char *)a + r0 * Kp * elem;
                float *cb = c + r0 * ldc + p * LE_LP_NR;
                if (int8) {
                    lstm_energy_tiles_amx(1, ar, Kp, rb, w, stride, pn, Kt, sums, 2 * LE_LP_NR);
                    lstm_energy_q8_finish_amx(sums, (const int8_t *)ar, Kp, rb, (const int8_t *)w, stride, pn, Kt,
                                              wsum + p * LE_LP_NR, scale + r0, wscale + p * LE_LP_NR, cb, ldc,
                                              accumulate);
                } else if (direct) {
                    lstm_energy_tiles_amx(0, ar, Kp * 2, rb, w, stride * 2, pn, Kt * 2, cb, ldc);
                } else {
                    lstm_energy_tiles_amx(0, ar, Kp * 2, rb, w, stride * 2, pn, Kt * 2, sums, 2 * LE_LP_NR);
                    lstm_energy_bf16_finish_amx((const float *)sums, (const uint16_t *)ar, Kp, rb,
                                                (const uint16_t *)w, stride, pn, Kt, cb, ldc, accumulate);
                }
            }
        }
    }
    _tile_release();
}
#endif

#ifdef LSTM_ENERGY_X86
/* --------------------------------------------------------------------------------- bf16: AVX2 */
/* No bf16 arithmetic on AVX2: each pair of bf16 (k even in the low half of a 32-bit lane, k odd in the
 * high half) becomes two float32 by a shift left by 16 (k even) and a mask of the high half (k odd),
 * exact; then FMA in float32, k in order (as the scalar path sums). Blocks of 4 rows x 16 columns:
 * 8 accumulators, 4 widened weight vectors, the mask and a row's broadcast pair and its two float32
 * fit the 16 ymm registers. Activations stay bf16 rows (half the bytes of float32). */
#define LE_BF_R_AVX2 4

/* One C row from its float32 sums (s0, s1) = columns 0-7, 8-15: a whole panel stored (or added, one
 * rounding, as lstm_energy_lp_store does) from the registers; a partial panel through
 * lstm_energy_lp_store. Storing the sums to a stack buffer for lstm_energy_lp_store on every row costs
 * about as much as the 4 x 16 block's k loop (docs/kernels-performance.md, "bf16 on AVX2 CPUs: widened in
 * registers instead of the scalar conversion path"). */
__attribute__((target("avx2,fma"), always_inline)) static inline void
lstm_energy_bf16_store_avx2(__m256 s0, __m256 s1, float *cr, Py_ssize_t nc, int accumulate)
{
    if (nc >= LE_LP_NR) {
        lstm_energy_lp_store_panel_avx2(s0, s1, cr, accumulate);
        return;
    }
    float out[LE_LP_NR];
    _mm256_storeu_ps(out, s0);
    _mm256_storeu_ps(out + 8, s1);
    lstm_energy_lp_store(cr, out, 0.0f, NULL, nc, accumulate);
}
__attribute__((target("avx2,fma"), always_inline)) static inline void lstm_energy_bf16_rows_avx2(
    const int R, const uint16_t *a, Py_ssize_t Kp, const uint16_t *panel, float *c, Py_ssize_t ldc,
    Py_ssize_t nc, int accumulate)
{
    const __m256i high = _mm256_set1_epi32((int)0xFFFF0000u);
    __m256 z = _mm256_setzero_ps();
    __m256 c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
    for (Py_ssize_t k2 = 0; k2 < Kp / 2; ++k2) {
        const uint16_t *w = panel + k2 * 32;
        __m256i v0 = _mm256_loadu_si256((const __m256i *)w);          /* columns 0-7, (k even, k odd) */
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(w + 16));   /* columns 8-15 */
        __m256 we0 = _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16));                    /* k even */
        __m256 we1 = _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16));
        __m256 wo0 = _mm256_castsi256_ps(_mm256_and_si256(v0, high));                   /* k odd */
        __m256 wo1 = _mm256_castsi256_ps(_mm256_and_si256(v1, high));
#define LE_BF_AVX2_ROW(r, s0, s1)                                                                 \
        {                                                                                         \
            int32_t bits;                                                                         \
            memcpy(&bits, a + (r) * Kp + 2 * k2, 4);                                              \
            __m256i pair = _mm256_set1_epi32(bits);                                               \
            __m256 ae = _mm256_castsi256_ps(_mm256_slli_epi32(pair, 16));                         \
            __m256 ao = _mm256_castsi256_ps(_mm256_and_si256(pair, high));                        \
            s0 = _mm256_fmadd_ps(ae, we0, s0); s1 = _mm256_fmadd_ps(ae, we1, s1);                 \
            s0 = _mm256_fmadd_ps(ao, wo0, s0); s1 = _mm256_fmadd_ps(ao, wo1, s1);                 \
        }
        LE_BF_AVX2_ROW(0, c00, c01)
        if (R > 1) LE_BF_AVX2_ROW(1, c10, c11)
        if (R > 2) LE_BF_AVX2_ROW(2, c20, c21)
        if (R > 3) LE_BF_AVX2_ROW(3, c30, c31)
#undef LE_BF_AVX2_ROW
    }
#define LE_BF_AVX2_STORE(r, s0, s1) lstm_energy_bf16_store_avx2(s0, s1, c + (r) * ldc, nc, accumulate);
    LE_BF_AVX2_STORE(0, c00, c01)
    if (R > 1) LE_BF_AVX2_STORE(1, c10, c11)
    if (R > 2) LE_BF_AVX2_STORE(2, c20, c21)
    if (R > 3) LE_BF_AVX2_STORE(3, c30, c31)
#undef LE_BF_AVX2_STORE
}

/* One row of C over the panels [p0, p1) (products of fewer than 4 rows: the B < 4 step), four panels at a
 * time: eight accumulators, each summing its k in the 4-row block's order (k even, then k odd: the same
 * bits), where one row of the block has two chains of two dependent FMAs per pair of k. */
__attribute__((target("avx2,fma"))) static void lstm_energy_bf16_one_row_avx2(
    const uint16_t *a, Py_ssize_t Kp, const uint16_t *panels, float *c, Py_ssize_t N, int accumulate,
    Py_ssize_t p0, Py_ssize_t p1)
{
    const __m256i high = _mm256_set1_epi32((int)0xFFFF0000u);
    const Py_ssize_t stride = Kp * LE_LP_NR;   /* bf16 elements of one panel */
    Py_ssize_t p = p0;
    for (; p + 4 <= p1; p += 4) {
        const uint16_t *w = panels + p * stride;
        __m256 z = _mm256_setzero_ps();
        __m256 s00 = z, s01 = z, s10 = z, s11 = z, s20 = z, s21 = z, s30 = z, s31 = z;
        for (Py_ssize_t k2 = 0; k2 < Kp / 2; ++k2) {
            int32_t bits;
            memcpy(&bits, a + 2 * k2, 4);
            __m256i pair = _mm256_set1_epi32(bits);
            __m256 ae = _mm256_castsi256_ps(_mm256_slli_epi32(pair, 16));
            __m256 ao = _mm256_castsi256_ps(_mm256_and_si256(pair, high));
#define LE_BF_AVX2_PANEL(j, s0, s1)                                                               \
            {                                                                                     \
                const uint16_t *wj = w + (j) * stride + k2 * 32;                                  \
                __m256i v0 = _mm256_loadu_si256((const __m256i *)wj);                             \
                __m256i v1 = _mm256_loadu_si256((const __m256i *)(wj + 16));                      \
                s0 = _mm256_fmadd_ps(ae, _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16)), s0);     \
                s1 = _mm256_fmadd_ps(ae, _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16)), s1);     \
                s0 = _mm256_fmadd_ps(ao, _mm256_castsi256_ps(_mm256_and_si256(v0, high)), s0);    \
                s1 = _mm256_fmadd_ps(ao, _mm256_castsi256_ps(_mm256_and_si256(v1, high)), s1);    \
            }
            LE_BF_AVX2_PANEL(0, s00, s01)
            LE_BF_AVX2_PANEL(1, s10, s11)
            LE_BF_AVX2_PANEL(2, s20, s21)
            LE_BF_AVX2_PANEL(3, s30, s31)
#undef LE_BF_AVX2_PANEL
        }
        __m256 sums[8] = {s00, s01, s10, s11, s20, s21, s30, s31};
        for (int j = 0; j < 4; ++j) {
            Py_ssize_t n0 = (p + j) * LE_LP_NR, nc = N - n0 < LE_LP_NR ? N - n0 : LE_LP_NR;
            lstm_energy_bf16_store_avx2(sums[2 * j], sums[2 * j + 1], c + n0, nc, accumulate);
        }
    }
    for (; p < p1; ++p) {
        Py_ssize_t n0 = p * LE_LP_NR, nc = N - n0 < LE_LP_NR ? N - n0 : LE_LP_NR;
        lstm_energy_bf16_rows_avx2(1, a, Kp, panels + p * stride, c + n0, 0, nc, accumulate);
    }
}

/* `rows` (<= 4) rows x 16 columns of C: a 4-row block, or fewer rows one at a time */
__attribute__((target("avx2,fma"))) static void lstm_energy_bf16_block_avx2(
    const uint16_t *a, Py_ssize_t Kp, Py_ssize_t rows, const uint16_t *panel, float *c, Py_ssize_t ldc,
    Py_ssize_t nc, int accumulate)
{
    if (rows == LE_BF_R_AVX2) {
        lstm_energy_bf16_rows_avx2(LE_BF_R_AVX2, a, Kp, panel, c, ldc, nc, accumulate);
        return;
    }
    for (Py_ssize_t r = 0; r < rows; ++r)
        lstm_energy_bf16_rows_avx2(1, a + r * Kp, Kp, panel, c + r * ldc, ldc, nc, accumulate);
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

/* panels [p0, p1) of an int8 product on `path` (see lstm_energy_int8_gemm) */
static void lstm_energy_int8_panels(int path, Py_ssize_t M, Py_ssize_t N, Py_ssize_t Kp, const void *q,
                                    const float *scale, const int8_t *panels, const int32_t *wsum,
                                    const float *wscale, float *c, Py_ssize_t ldc, int accumulate,
                                    Py_ssize_t p0, Py_ssize_t p1)
{
#ifdef LSTM_ENERGY_X86
    if (path == LE_LP_AMX) {   /* whole tiles on AMX, the rest (rows, a part panel) on VNNI: the same bits */
        Py_ssize_t M16 = M / LE_AMX_ROWS * LE_AMX_ROWS;
        Py_ssize_t whole = N / LE_LP_NR < p1 ? N / LE_LP_NR : p1;   /* panels [p0, whole) have 16 columns */
        if (M16 > 0 && whole > p0 && Kp >= LE_AMX_ROW_BYTES) {
            lstm_energy_panels_amx(1, M16, Kp, q, panels, wsum, scale, wscale, c, ldc, accumulate, p0, whole);
            lstm_energy_int8_panels(LE_LP_AVX512, M16, N, Kp, q, scale, panels, wsum, wscale, c, ldc, accumulate,
                                    whole, p1);
            lstm_energy_int8_panels(LE_LP_AVX512, M - M16, N, Kp, (const int8_t *)q + M16 * Kp, scale + M16,
                                    panels, wsum, wscale, c + M16 * ldc, ldc, accumulate, p0, p1);
            return;
        }
        path = LE_LP_AVX512;
    }
    if (path == LE_LP_AVX2) {
        lstm_energy_int8_gemm_avx2(M, N, Kp, (const int16_t *)q, scale, panels, wscale, c, ldc, accumulate, p0,
                                   p1);
        return;
    }
    if (path == LE_LP_AVX512 && M < 4) {   /* too few rows for the 8-row block: one row at a time */
        for (Py_ssize_t r = 0; r < M; ++r)
            lstm_energy_q8_row_vnni((const int8_t *)q + r * Kp, Kp, panels, wsum, scale[r], wscale, c + r * ldc, N,
                                    accumulate, p0, p1);
        return;
    }
    Py_ssize_t R = path == LE_LP_AVX512 ? LE_Q8_R_VNNI : 1;
    int pairs = path == LE_LP_AVX512 && lstm_energy_panel_pairs();
#else
    Py_ssize_t R = 1;
    int pairs = 0;
#endif
    for (Py_ssize_t m0 = 0; m0 < M; m0 += LE_LP_MC) {
        Py_ssize_t mc = M - m0 < LE_LP_MC ? M - m0 : LE_LP_MC;
        for (Py_ssize_t p = p0, step; p < p1; p += step) {
            step = pairs && p + 1 < p1 ? 2 : 1;   /* two panels: the second's columns from 16 (p + 1) */
            const int8_t *panel = panels + p * Kp * LE_LP_NR;
            Py_ssize_t n0 = p * LE_LP_NR, last = (p + step - 1) * LE_LP_NR;
            Py_ssize_t nc = N - last < LE_LP_NR ? N - last : LE_LP_NR;   /* columns of the last panel */
            for (Py_ssize_t r0 = m0; r0 < m0 + mc; r0 += R) {
                Py_ssize_t rows = m0 + mc - r0 < R ? m0 + mc - r0 : R;
                float *cc = c + r0 * ldc + n0;
#ifdef LSTM_ENERGY_X86
                if (step == 2)
                    lstm_energy_q8_block2_vnni((const int8_t *)q + r0 * Kp, Kp, rows, panel, wsum + n0, scale + r0,
                                               wscale + n0, cc, ldc, nc, accumulate);
                else if (path == LE_LP_AVX512)
                    lstm_energy_q8_block_vnni((const int8_t *)q + r0 * Kp, Kp, rows, panel, wsum + n0, scale + r0,
                                              wscale + n0, cc, ldc, nc, accumulate);
                else
#endif
                    lstm_energy_q8_block_scalar((const int16_t *)q + r0 * Kp, Kp, rows, panel, scale + r0,
                                                wscale + n0, cc, ldc, nc, accumulate);
            }
        }
    }
}

/* panels [p0, p1) of a bf16 product on `path` (see lstm_energy_bf16_gemm) */
static void lstm_energy_bf16_panels(int path, Py_ssize_t M, Py_ssize_t N, Py_ssize_t Kp, const uint16_t *a,
                                    const uint16_t *panels, float *c, Py_ssize_t ldc, int accumulate,
                                    Py_ssize_t p0, Py_ssize_t p1)
{
#ifdef LSTM_ENERGY_X86
    if (path == LE_LP_AMX) {   /* whole tiles on AMX, the rest (rows, a part panel) on AVX512_BF16 */
        Py_ssize_t M16 = M / LE_AMX_ROWS * LE_AMX_ROWS;
        Py_ssize_t whole = N / LE_LP_NR < p1 ? N / LE_LP_NR : p1;   /* panels [p0, whole) have 16 columns */
        if (M16 > 0 && whole > p0 && Kp * 2 >= LE_AMX_ROW_BYTES) {
            lstm_energy_panels_amx(0, M16, Kp, a, panels, NULL, NULL, NULL, c, ldc, accumulate, p0, whole);
            lstm_energy_bf16_panels(LE_LP_AVX512, M16, N, Kp, a, panels, c, ldc, accumulate, whole, p1);
            lstm_energy_bf16_panels(LE_LP_AVX512, M - M16, N, Kp, a + M16 * Kp, panels, c + M16 * ldc, ldc,
                                    accumulate, p0, p1);
            return;
        }
        path = LE_LP_AVX512;
    }
    if ((path == LE_LP_AVX512 || path == LE_LP_AVX2) && M < 4) {   /* too few rows for a block: one at a time */
        for (Py_ssize_t r = 0; r < M; ++r) {
            if (path == LE_LP_AVX512)
                lstm_energy_bf16_one_row_avx512(a + r * Kp, Kp, panels, c + r * ldc, N, accumulate, p0, p1);
            else
                lstm_energy_bf16_one_row_avx2(a + r * Kp, Kp, panels, c + r * ldc, N, accumulate, p0, p1);
        }
        return;
    }
    Py_ssize_t R = path == LE_LP_AVX512 ? LE_BF_R : (path == LE_LP_AVX2 ? LE_BF_R_AVX2 : 1);
    int pairs = path == LE_LP_AVX512 && lstm_energy_panel_pairs();
#else
    Py_ssize_t R = 1;
    int pairs = 0;
#endif
    for (Py_ssize_t m0 = 0; m0 < M; m0 += LE_LP_MC) {
        Py_ssize_t mc = M - m0 < LE_LP_MC ? M - m0 : LE_LP_MC;
        for (Py_ssize_t p = p0, step; p < p1; p += step) {
            step = pairs && p + 1 < p1 ? 2 : 1;   /* two panels: the second's columns from 16 (p + 1) */
            const uint16_t *panel = panels + p * Kp * LE_LP_NR;
            Py_ssize_t n0 = p * LE_LP_NR, last = (p + step - 1) * LE_LP_NR;
            Py_ssize_t nc = N - last < LE_LP_NR ? N - last : LE_LP_NR;   /* columns of the last panel */
            for (Py_ssize_t r0 = m0; r0 < m0 + mc; r0 += R) {
                Py_ssize_t rows = m0 + mc - r0 < R ? m0 + mc - r0 : R;
#ifdef LSTM_ENERGY_X86
                if (step == 2)
                    lstm_energy_bf16_block2_avx512(a + r0 * Kp, Kp, rows, panel, c + r0 * ldc + n0, ldc,
                                                   nc, accumulate);
                else if (path == LE_LP_AVX512)
                    lstm_energy_bf16_block_avx512(a + r0 * Kp, Kp, rows, panel, c + r0 * ldc + n0, ldc,
                                                  nc, accumulate);
                else if (path == LE_LP_AVX2)
                    lstm_energy_bf16_block_avx2(a + r0 * Kp, Kp, rows, panel, c + r0 * ldc + n0, ldc,
                                                nc, accumulate);
                else
#endif
                    lstm_energy_bf16_block_scalar(a + r0 * Kp, Kp, rows, panel, c + r0 * ldc + n0, ldc,
                                                  nc, accumulate);
            }
        }
    }
}

/* threads for a reduced-precision product of M x N x Kp multiply-adds: the kernels' OpenMP pool when the
 * product pays for the fork/join (the float32 products' threshold), at most one per panel */
static inline int lstm_energy_lp_threads(Py_ssize_t M, Py_ssize_t N, Py_ssize_t Kp)
{
    return lstm_energy_threads_for(M, N, Kp, (N + LE_LP_NR - 1) / LE_LP_NR);
}

/* C (M, N) (+)= dequant(q (M, Kp) @ Wq^T): q from lstm_energy_quantize_rows and panels/wsum/wscale
 * packed for N columns, both in the path's layout (lstm_energy_int8_layout). Panels split over the
 * threads (lstm_energy_lp_threads), a contiguous range each. */
static void lstm_energy_int8_gemm(int path, Py_ssize_t M, Py_ssize_t N, Py_ssize_t Kp, const void *q,
                                  const float *scale, const int8_t *panels, const int32_t *wsum,
                                  const float *wscale, float *c, Py_ssize_t ldc, int accumulate)
{
    Py_ssize_t P = (N + LE_LP_NR - 1) / LE_LP_NR;
    int threads = lstm_energy_lp_threads(M, N, Kp);
    if (threads <= 1) {
        lstm_energy_int8_panels(path, M, N, Kp, q, scale, panels, wsum, wscale, c, ldc, accumulate, 0, P);
        return;
    }
#ifdef _OPENMP
    #pragma omp parallel num_threads(threads)
    {
        int id = omp_get_thread_num(), nt = omp_get_num_threads();
        lstm_energy_int8_panels(path, M, N, Kp, q, scale, panels, wsum, wscale, c, ldc, accumulate, P * id / nt,
                                P * (id + 1) / nt);
    }
#endif
}

/* C (M, N) (+)= a (M, Kp bf16) @ Wbf^T, float32 sums; panels split over the threads like the int8 product */
static void lstm_energy_bf16_gemm(int path, Py_ssize_t M, Py_ssize_t N, Py_ssize_t Kp, const uint16_t *a,
                                  const uint16_t *panels, float *c, Py_ssize_t ldc, int accumulate)
{
    Py_ssize_t P = (N + LE_LP_NR - 1) / LE_LP_NR;
    int threads = lstm_energy_lp_threads(M, N, Kp);
    if (threads <= 1) {
        lstm_energy_bf16_panels(path, M, N, Kp, a, panels, c, ldc, accumulate, 0, P);
        return;
    }
#ifdef _OPENMP
    #pragma omp parallel num_threads(threads)
    {
        int id = omp_get_thread_num(), nt = omp_get_num_threads();
        lstm_energy_bf16_panels(path, M, N, Kp, a, panels, c, ldc, accumulate, P * id / nt, P * (id + 1) / nt);
    }
#endif
}

#endif
