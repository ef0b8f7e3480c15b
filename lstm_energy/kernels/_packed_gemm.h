/* The kernels' own float32 GEMMs (AVX2+FMA and AVX-512), so that a float32 call runs on one thread
 * pool:
 *
 * - lstm_energy_gemm_packed: the per-step recurrent products C (M, N) (+)= A (M, K) @ Bmat (K, N),
 *   Bmat = W_hh^T in the forward (gates += h @ W_hh^T) and W_hh in the backward (dh = dgates @ W_hh),
 *   against a copy of W_hh packed once per call (lstm_energy_pack_panels, into the workspace's
 *   "w_hh_panels") and reused by every step, as oneDNN's RNN primitives do. Through BLAS, every step
 *   repacks the whole W_hh (4 MiB for an LSTM at H = 512) for a product with only M = B rows.
 * - lstm_energy_gemm: the large products over all T*B rows (input projection x @ W_ih^T against the
 *   packed W_ih^T in "w_ih_panels"; dX, dW_ih, dW_hh against row-major operands whose k chunks are
 *   packed into the workspace's "gemm_panels"), GotoBLAS-style: row blocks of A (packed on the stack
 *   when A is transposed or its rows are long), column panels of B streamed past them.
 *
 * Why not BLAS for those when several threads run: OpenBLAS's idle worker threads busy-wait for a
 * while after each call (OPENBLAS_THREAD_TIMEOUT), so an OpenBLAS pool next to the OpenMP pool of
 * the per-step products competes with it for the same cores. One pool for every float32 product
 * removes that. On one thread nothing spins; there the callers (_gemm.pxd) keep OpenBLAS for dA @ W
 * only, whose wide row-major A this file packs with a scalar loop (lstm_energy_pack_a).
 *
 * Layout of packed panels: N is cut into panels of LE_NR = 16 columns; panel p holds
 * Bmat[k, 16p + j] at panels[p*K*16 + k*16 + j] (j < 16, zero beyond column N), so one step of the
 * inner loop reads 16 consecutive floats. NumPy: panels[p] = pad(Bmat, cols to 16·P)[:, 16p:16p+16].
 *
 * The micro-kernel keeps an R x 16 block of C in registers. AVX2 path: R <= 6 rows of A in 12 ymm
 * accumulators; per k it loads 2 vectors of B and broadcasts R values of A (the Haswell/Zen
 * register blocking of GotoBLAS/BLIS). AVX-512 path: R <= 8 rows in 8 zmm accumulators, one zmm per
 * panel row (the panel width, and so every workspace, is the same on both paths; the blocking and
 * why are explained above lstm_energy_block_avx512). On both, K is cut into chunks of LE_KC so one panel
 * chunk (LE_KC x 16 floats, 16 KiB) stays in L1 while every row block of A passes over it.
 *
 * Threads: when a product is big enough to pay for the fork/join (LE_PARALLEL_MIN multiply-adds),
 * the per-step product splits its column panels over the OpenMP threads (one contiguous range each
 * while W_hh fits their L2 caches, so each thread's share stays there from step to step; groups
 * handed out on demand once the panels stream from L3 anyway) and the large product hands out its
 * 96-row chunks on demand, so a thread on a slower core (a busy neighbour on a shared host) simply
 * takes fewer pieces instead of holding the others at the barrier. omp_get_max_threads() is the
 * pool size threadpoolctl sets (user_api "openmp"). Built without OpenMP everything runs on one
 * thread; each output is computed by one thread in the same order whatever the thread count, so
 * results do not depend on it.
 *
 * Paths (_isa.h): both builds are always compiled (function-level target attributes, no -march)
 * and the one the CPU and LSTM_ENERGY_ISA choose runs; on the baseline path
 * lstm_energy_packed_gemm_available() is 0 and callers use BLAS. The driver (row blocks, k chunks,
 * panel walk, threads, packing of A) is one source, _packed_gemm_driver.h, included once per path.
 * Summation order differs from BLAS (one running sum per output over k), an O(K·eps) rounding
 * difference.
 */
#ifndef LSTM_ENERGY_PACKED_GEMM_H
#define LSTM_ENERGY_PACKED_GEMM_H

#include <Python.h>   /* Py_ssize_t */
#include <string.h>

#include "_isa.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define LE_NR 16                     /* columns per panel: two AVX2 vectors, one AVX-512 vector */
#define LE_MR_AVX2 6                 /* rows of A per micro-kernel call: AVX2 (12 of 16 ymm) */
#define LE_MR_AVX512 8               /* ... and AVX-512 (8 zmm accumulators, see below) */
#define LE_KC 256                    /* k per chunk: a 16 KiB panel chunk stays in L1 */
#define LE_INPLACE_MAX_LDA 640       /* row-major A read in place up to this row stride (floats) */
#define LE_MC 96                     /* rows of A per packed block (96 KiB with LE_KC: in L2) */
#define LE_PARALLEL_MIN (1L << 20)   /* multiply-adds below which one thread is faster */
#define LE_STREAM_BYTES (1L << 20)   /* panels above this stream from L3 on every pass: prefetch */
#define LE_ROW_AHEAD 512             /* floats of panel the one-row kernel prefetches ahead (2 KiB) */
#define LE_PACK_AHEAD 8              /* rows of a transposed A prefetched ahead while packing it */
#define LE_GROUPS_PER_THREAD 8       /* pieces of a parallel product per thread, handed out on demand */

/* floats the panels of a K x N Bmat take: NumPy: ceil(N / 16) * 16 * K */
static inline Py_ssize_t lstm_energy_panels_size(Py_ssize_t K, Py_ssize_t N)
{
    return (N + LE_NR - 1) / LE_NR * LE_NR * K;
}

/* The panel-pair rule, a pure function of the CPU's identity and the kernel path (isa: LE_ISA_*), so
 * that tests can apply it to any CPU (panel_pairs_rule() in _panel_pairs.pxi): 1 when products on path
 * `isa` run adjacent panels in pairs (the 8 x 32 block, 16 FMA chains). Only the AVX-512 path has a pair
 * block. There it pays on cores that issue two 512-bit FMAs per cycle (Intel's AVX-512 server cores, Zen
 * 5's server parts), where the 8 x 16 block's 8 chains cover only half of latency x throughput (4 cycles
 * x 2) and its one broadcast load per FMA leaves the second unit waiting; the pair feeds two FMAs from
 * each broadcast. Zen 4 runs a 512-bit FMA on both of its 256-bit FMA pipes, one per cycle: 8 chains
 * already cover it, a pair only adds a second panel stream, so Zen 4 keeps single panels. AMD family
 * 0x19 on this path is Zen 4 (Zen 3, the same family, has no AVX-512). Family 0x1A (Zen 5) pairs, its
 * mobile parts (256-bit pipes, as Zen 4) too: the rule does not tell them apart. Measurements:
 * docs/kernels-performance.md, "The 8 × 32 block on Zen 4" and "The float32 two-panel block on Zen 5". */
static inline int lstm_energy_panel_pairs_rule(int amd, unsigned int family, int isa)
{
    return isa == LE_ISA_AVX512 && !(amd && family == 0x19);
}

/* The rule above for this CPU's AVX-512 path (the only path that reads it: the pair blocks are AVX-512
 * code), vendor and family read from CPUID on first use; lstm_energy_set_panel_pairs(0 | 1) overrides it
 * in this module (tests), -1 asks the CPU again. OpenMP threads read it inside parallel regions while the
 * first caller may be writing it: atomic loads and stores (relaxed: the int is the whole answer, and
 * every thread that computes it stores the same value). */
static int lstm_energy_pairs = -1;
static inline void lstm_energy_set_panel_pairs(int pairs) { __atomic_store_n(&lstm_energy_pairs, pairs, __ATOMIC_RELAXED); }
static inline int lstm_energy_panel_pairs(void)
{
    int pairs = __atomic_load_n(&lstm_energy_pairs, __ATOMIC_RELAXED);
    if (__builtin_expect(pairs < 0, 0)) {
        int amd = 0;
        unsigned int family = 0;
#ifdef LSTM_ENERGY_X86
        unsigned int eax, ebx, ecx, edx;
        if (__get_cpuid(0, &eax, &ebx, &ecx, &edx)
                && ebx == 0x68747541u && edx == 0x69746e65u && ecx == 0x444d4163u   /* "AuthenticAMD" */
                && __get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
            amd = 1;
            family = (eax >> 8) & 0xf;
            if (family == 0xf)
                family += (eax >> 20) & 0xff;
        }
#endif
        pairs = lstm_energy_panel_pairs_rule(amd, family, LE_ISA_AVX512);
        __atomic_store_n(&lstm_energy_pairs, pairs, __ATOMIC_RELAXED);
    }
    return pairs;
}

/* threads for a product of M*N*K multiply-adds split into `parts` pieces: the OpenMP pool, or 1
 * when the product is too small to pay for the fork/join (on every CPU: the reduced-precision
 * products of _lowp_gemm.h use it too) */
static inline int lstm_energy_threads_for(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, Py_ssize_t parts)
{
    int threads = 1;
#ifdef _OPENMP
    if ((long)M * N * K >= LE_PARALLEL_MIN && parts > 1)
        threads = omp_get_max_threads();
    if (threads > parts)
        threads = (int)parts;
#else
    (void)M; (void)N; (void)K; (void)parts;
#endif
    return threads;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define LSTM_ENERGY_HAVE_TRANSPOSE_AVX2 1

/* col[c] = column c of the 8 x 8 block s[r * stride + c] (r, c < 8), an AVX 8 x 8 transpose; rows at
 * or beyond `rows` (1..8) are read as row rows - 1 (their columns' lanes are then not meant to be
 * used), so a block at the end of a matrix reads no memory past its last row.
 * NumPy: col[c][r] = s_block[min(r, rows - 1), c] */
__attribute__((target("avx2"), always_inline))
static inline void lstm_energy_transpose_8x8(const float *s, Py_ssize_t stride, int rows, __m256 col[8])
{
#define LE_ROW(r) _mm256_loadu_ps(s + (r < rows ? r : rows - 1) * stride)
    __m256 r0 = LE_ROW(0), r1 = LE_ROW(1), r2 = LE_ROW(2), r3 = LE_ROW(3);
    __m256 r4 = LE_ROW(4), r5 = LE_ROW(5), r6 = LE_ROW(6), r7 = LE_ROW(7);
#undef LE_ROW
    /* pairs of rows interleaved, then quadruples: u_i holds column i (low lane, rows 0-3 or 4-7)
     * and column i + 4 (high lane) */
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    col[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    col[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    col[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    col[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    col[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    col[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    col[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    col[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* panel[k*16 + j] = src[j*sn + k] for j < 16, k < K8 (a multiple of 8): 16 rows of a row-major W
 * (row stride sn) transposed into one panel, 8 rows x 8 k at a time.
 * NumPy: panel[:K8] = src_rows[:16, :K8].T */
__attribute__((target("avx2")))
static void lstm_energy_transpose_16_rows(Py_ssize_t K8, const float *src, Py_ssize_t sn, float *panel)
{
    for (Py_ssize_t k = 0; k < K8; k += 8) {
        for (int half = 0; half < 2; ++half) {
            __m256 col[8];
            lstm_energy_transpose_8x8(src + half * 8 * sn + k, sn, 8, col);
            float *d = panel + k * LE_NR + half * 8;
            for (int c = 0; c < 8; ++c)
                _mm256_storeu_ps(d + c * LE_NR, col[c]);
        }
    }
}

/* dst[k*R + r] = src[r*lda + k] for r < R, k < K8 (a multiple of 8), R = 4, 6 or 8: a block of R
 * rows of a row-major A packed for the micro-kernel (lstm_energy_pack_a), 8 k at a time; a scalar
 * copy strided by R cost ~2 ns per float (dX's wide dgates). Exactly R floats are stored per k.
 * NumPy: dst[:K8*R] = src_rows[:R, :K8].T.ravel() */
__attribute__((target("avx2")))
static void lstm_energy_pack_rows(int R, Py_ssize_t K8, const float *src, Py_ssize_t lda, float *dst)
{
    for (Py_ssize_t k = 0; k < K8; k += 8) {
        __m256 col[8];
        lstm_energy_transpose_8x8(src + k, lda, R, col);
        for (int c = 0; c < 8; ++c) {
            float *d = dst + (k + c) * R;
            if (R == 8) {
                _mm256_storeu_ps(d, col[c]);
            } else {
                _mm_storeu_ps(d, _mm256_castps256_ps128(col[c]));               /* rows 0-3 */
                if (R == 6)                                                     /* rows 4-5 */
                    _mm_storel_pi((__m64 *)(d + 4), _mm256_extractf128_ps(col[c], 1));
            }
        }
    }
}

/* The same for K16 (a multiple of 16) on the avx512 path: 16 rows x 16 k at a time, one zmm per
 * source row and one per panel row, by a 16 x 16 transpose in four shuffle stages (64 shuffles for
 * 256 floats, where the AVX2 version takes 96 for 4 blocks of 8 x 8, plus twice the loads/stores).
 * NumPy: panel[:K16] = src_rows[:16, :K16].T */
__attribute__((target("avx512f")))
static void lstm_energy_transpose_16_rows_avx512(Py_ssize_t K16, const float *src, Py_ssize_t sn, float *panel)
{
    for (Py_ssize_t k = 0; k < K16; k += 16) {
        __m512 r[16], t[16], u[16];
        for (int i = 0; i < 16; ++i)
            r[i] = _mm512_loadu_ps(src + i * sn + k);
        /* 1: rows interleaved in pairs; 2: in fours. Within each 128-bit lane l (k = 4l .. 4l+3),
         * u[4q + j] then holds column 4l + j of rows 4q .. 4q+3 */
        for (int i = 0; i < 8; ++i) {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for (int q = 0; q < 4; ++q) {
            __m512 lo = t[4 * q], hi = t[4 * q + 1], lo2 = t[4 * q + 2], hi2 = t[4 * q + 3];
            u[4 * q] = _mm512_shuffle_ps(lo, lo2, _MM_SHUFFLE(1, 0, 1, 0));
            u[4 * q + 1] = _mm512_shuffle_ps(lo, lo2, _MM_SHUFFLE(3, 2, 3, 2));
            u[4 * q + 2] = _mm512_shuffle_ps(hi, hi2, _MM_SHUFFLE(1, 0, 1, 0));
            u[4 * q + 3] = _mm512_shuffle_ps(hi, hi2, _MM_SHUFFLE(3, 2, 3, 2));
        }
        /* 3 and 4: gather lane l of u[j], u[4 + j], u[8 + j], u[12 + j] into panel row 4l + j
         * (0x88 takes lanes 0 and 2 of each operand, 0xDD lanes 1 and 3) */
        float *d = panel + k * LE_NR;
        for (int j = 0; j < 4; ++j) {
            __m512 v0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
            __m512 v1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
            __m512 w0 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
            __m512 w1 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
            _mm512_storeu_ps(d + j * LE_NR, _mm512_shuffle_f32x4(v0, w0, 0x88));
            _mm512_storeu_ps(d + (4 + j) * LE_NR, _mm512_shuffle_f32x4(v1, w1, 0x88));
            _mm512_storeu_ps(d + (8 + j) * LE_NR, _mm512_shuffle_f32x4(v0, w0, 0xDD));
            _mm512_storeu_ps(d + (12 + j) * LE_NR, _mm512_shuffle_f32x4(v1, w1, 0xDD));
        }
    }
}
#endif

/* 1 when the panels of a K x N Bmat outgrow LE_STREAM_BYTES: every pass over them then streams
 * from L3, and the strips prefetch the next panel chunk */
static inline int lstm_energy_panels_stream(Py_ssize_t K, Py_ssize_t N)
{
    return lstm_energy_panels_size(K, N) * (Py_ssize_t)sizeof(float) > LE_STREAM_BYTES;
}

/* panels <- Bmat (K, N) with Bmat[k, n] = src[k * sk + n * sn]:
 * forward W_hh (N, K) row-major gives sk = 1, sn = ld; backward W_hh (K, N) gives sk = ld, sn = 1. */
static void lstm_energy_pack_panels(Py_ssize_t K, Py_ssize_t N, const float *src, Py_ssize_t sk,
                                    Py_ssize_t sn, float *panels)
{
    Py_ssize_t P = (N + LE_NR - 1) / LE_NR;
    Py_ssize_t full = N / LE_NR;               /* panels with all 16 columns */
    Py_ssize_t tail = N - full * LE_NR;        /* columns of the last, partial panel (0: none) */
    if (sn == 1) {
        /* row by row, so the source (the large GEMMs' x or h, megabytes) is read sequentially;
         * each row is spread over the P panels */
        for (Py_ssize_t k = 0; k < K; ++k) {
            const float *row = src + k * sk;
            float *dst = panels + k * LE_NR;
            for (Py_ssize_t p = 0; p < full; ++p)   /* a constant size: GCC inlines vector moves */
                memcpy(dst + p * K * LE_NR, row + p * LE_NR, LE_NR * sizeof(float));
            if (tail) {
                float *last = dst + full * K * LE_NR;
                memcpy(last, row + full * LE_NR, (size_t)tail * sizeof(float));
                memset(last + tail, 0, (size_t)(LE_NR - tail) * sizeof(float));
            }
        }
        return;
    }
    for (Py_ssize_t p = 0; p < P; ++p) {       /* a transpose: write each panel row once */
        float *panel = panels + p * K * LE_NR;
        Py_ssize_t n0 = p * LE_NR;
        Py_ssize_t width = N - n0 < LE_NR ? N - n0 : LE_NR;
        Py_ssize_t k = 0;
        if (width < LE_NR)
            memset(panel, 0, (size_t)(K * LE_NR) * sizeof(float));
#ifdef LSTM_ENERGY_HAVE_TRANSPOSE_AVX2
        /* the forward's W_hh and W_ih (rows of W contiguous), 16 x 16 (avx512) or 8 x 8 (avx2) at
         * a time: packing is per call, and a scalar element-by-element transpose would outweigh a
         * short B = 1 call */
        if (width == LE_NR && sk == 1 && lstm_energy_isa() >= LE_ISA_AVX2) {
            if (lstm_energy_isa() >= LE_ISA_AVX512) {   /* 16 k at a time, then one 8-k block */
                k = K / 16 * 16;
                lstm_energy_transpose_16_rows_avx512(k, src + n0 * sn, sn, panel);
            }
            if (K - k >= 8) {
                lstm_energy_transpose_16_rows(8, src + n0 * sn + k, sn, panel + k * LE_NR);
                k += 8;
            }
        }
#endif
        for (; k < K; ++k)
            for (Py_ssize_t j = 0; j < width; ++j)
                panel[k * LE_NR + j] = src[k * sk + (n0 + j) * sn];
    }
}

#if defined(__GNUC__) && defined(__x86_64__)

/* one row's 16 outputs: c[0:width] (+)= lo | hi */
__attribute__((target("avx2,fma"), always_inline))
static inline void lstm_energy_store_row_avx2(__m256 lo, __m256 hi, int accumulate, float *c, Py_ssize_t width)
{
    if (width == LE_NR) {
        if (accumulate) {
            lo = _mm256_add_ps(lo, _mm256_loadu_ps(c));
            hi = _mm256_add_ps(hi, _mm256_loadu_ps(c + 8));
        }
        _mm256_storeu_ps(c, lo);
        _mm256_storeu_ps(c + 8, hi);
    } else {                                   /* the last, partial panel */
        float out[LE_NR];
        _mm256_storeu_ps(out, lo);
        _mm256_storeu_ps(out + 8, hi);
        for (Py_ssize_t j = 0; j < width; ++j)
            c[j] = accumulate ? c[j] + out[j] : out[j];
    }
}

/* C[0:R, 0:width] (+)= A[0:R, 0:K] @ panel[0:K, 0:width], the micro-kernel.
 * A[r, k] = A[r * a_rs + k * a_ks]: a row-major block (a_rs = lda, a_ks = 1) or a packed one
 * (a_rs = 1, a_ks = R). panel: K x 16 floats, zero-padded past `width` columns. R = 1..6 is a
 * compile-time constant after inlining, so unused accumulators disappear (named registers, not an
 * array: none of them is spilled to the stack). C: row stride ldc. */
__attribute__((target("avx2,fma"), always_inline))
static inline void lstm_energy_block_avx2(const int R, Py_ssize_t K, const float *A, Py_ssize_t a_rs,
                                     Py_ssize_t a_ks, const float *panel, const float *prefetch,
                                     int accumulate, float *C, Py_ssize_t ldc, Py_ssize_t width)
{
    const float *a0 = A, *a1 = A + a_rs, *a2 = A + 2 * a_rs, *a3 = A + 3 * a_rs,
                *a4 = A + 4 * a_rs, *a5 = A + 5 * a_rs;
    /* C's rows are touched only after the k loop; in the forward they were written by the input
     * GEMM long before (L3 or memory), so start fetching them now, behind the FMAs */
    for (int r = 0; r < R; ++r) {
        _mm_prefetch((const char *)(C + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + r * ldc + width - 1), _MM_HINT_T0);
    }
    __m256 z = _mm256_setzero_ps();
    __m256 c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
    __m256 c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
    for (Py_ssize_t k = 0; k < K; ++k) {
        const float *bk = panel + k * LE_NR;
        if (prefetch != NULL)                  /* loop-invariant: the loop is unswitched */
            _mm_prefetch((const char *)(prefetch + k * LE_NR), _MM_HINT_T0);
        __m256 b0 = _mm256_loadu_ps(bk);
        __m256 b1 = _mm256_loadu_ps(bk + 8);
        Py_ssize_t ak = k * a_ks;
        __m256 a;
        a = _mm256_broadcast_ss(a0 + ak);
        c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        if (R > 1) { a = _mm256_broadcast_ss(a1 + ak);
                     c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11); }
        if (R > 2) { a = _mm256_broadcast_ss(a2 + ak);
                     c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21); }
        if (R > 3) { a = _mm256_broadcast_ss(a3 + ak);
                     c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31); }
        if (R > 4) { a = _mm256_broadcast_ss(a4 + ak);
                     c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41); }
        if (R > 5) { a = _mm256_broadcast_ss(a5 + ak);
                     c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51); }
    }
    lstm_energy_store_row_avx2(c00, c01, accumulate, C, width);
    if (R > 1) lstm_energy_store_row_avx2(c10, c11, accumulate, C + ldc, width);
    if (R > 2) lstm_energy_store_row_avx2(c20, c21, accumulate, C + 2 * ldc, width);
    if (R > 3) lstm_energy_store_row_avx2(c30, c31, accumulate, C + 3 * ldc, width);
    if (R > 4) lstm_energy_store_row_avx2(c40, c41, accumulate, C + 4 * ldc, width);
    if (R > 5) lstm_energy_store_row_avx2(c50, c51, accumulate, C + 5 * ldc, width);
}

/* the R = 1 case (a matrix-vector product, B = 1): with only two accumulators the FMA latency
 * would bound it, so k is unrolled by 4 into 8 independent sums, added at the end. a: K contiguous
 * floats (a row of A, or a one-row packed block, which is the same layout). */
__attribute__((target("avx2,fma"), always_inline))
static inline void lstm_energy_row_avx2(Py_ssize_t K, const float *a, const float *panel, int accumulate,
                                   float *c, Py_ssize_t width)
{
    __m256 z = _mm256_setzero_ps();
    __m256 s0 = z, s1 = z, s2 = z, s3 = z, s4 = z, s5 = z, s6 = z, s7 = z;
    Py_ssize_t k = 0;
    for (; k + 4 <= K; k += 4) {
        const float *p = panel + k * LE_NR;
        /* prefetch 2 KiB of panel ahead: the B = 1 step streams all of W_hh from L2 (256 KiB at
         * H = 128) with little work per byte, so it is L2-bandwidth bound (panels are contiguous;
         * past the last one a prefetch is a no-op) */
        _mm_prefetch((const char *)(p + LE_ROW_AHEAD), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + LE_ROW_AHEAD + 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + LE_ROW_AHEAD + 32), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + LE_ROW_AHEAD + 48), _MM_HINT_T0);
        __m256 x0 = _mm256_broadcast_ss(a + k), x1 = _mm256_broadcast_ss(a + k + 1);
        __m256 x2 = _mm256_broadcast_ss(a + k + 2), x3 = _mm256_broadcast_ss(a + k + 3);
        s0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(p), s0);
        s1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(p + 8), s1);
        s2 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(p + 16), s2);
        s3 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(p + 24), s3);
        s4 = _mm256_fmadd_ps(x2, _mm256_loadu_ps(p + 32), s4);
        s5 = _mm256_fmadd_ps(x2, _mm256_loadu_ps(p + 40), s5);
        s6 = _mm256_fmadd_ps(x3, _mm256_loadu_ps(p + 48), s6);
        s7 = _mm256_fmadd_ps(x3, _mm256_loadu_ps(p + 56), s7);
    }
    for (; k < K; ++k) {
        __m256 x = _mm256_broadcast_ss(a + k);
        s0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(panel + k * LE_NR), s0);
        s1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(panel + k * LE_NR + 8), s1);
    }
    s0 = _mm256_add_ps(_mm256_add_ps(s0, s2), _mm256_add_ps(s4, s6));
    s1 = _mm256_add_ps(_mm256_add_ps(s1, s3), _mm256_add_ps(s5, s7));
    lstm_energy_store_row_avx2(s0, s1, accumulate, c, width);
}

/* rows of A for the next micro-kernel call when `left` rows remain: 6 while that leaves none or
 * at least 4, else 4 (so 32 rows run as 6+6+6+6+4+4, not 6x5+2). Blocks of 1-2 rows keep only
 * 2-4 accumulator chains, too few to hide the FMA latency, so they are avoided where possible. */
static inline Py_ssize_t lstm_energy_block_rows_avx2(Py_ssize_t left)
{
    if (left == LE_MR_AVX2 || left >= LE_MR_AVX2 + 4)
        return LE_MR_AVX2;
    if (left > LE_MR_AVX2)                          /* 7..9: 4 now, 3..5 next */
        return 4;
    return left;
}


/* ---- AVX-512 micro-kernels (F/DQ/BW/VL; only F is used here). The panel width stays 16: one zmm
 * holds a whole panel row (one aligned 64-byte line), so the panels, the workspaces and the packing
 * are the same on every path and a workspace made on one path is valid on another. Register block:
 * 8 rows x 16 columns, 8 zmm accumulators. Per k: one panel load and 8 FMAs whose A operand is an
 * embedded broadcast from memory ({1to16}), against the AVX2 kernel's 2 loads + 6 broadcasts + 12
 * FMAs for 6 x 16. Why 8 rows: 8 independent FMA chains cover the FMA latency (4 cycles) at one zmm
 * FMA per cycle and, only just, at two (cores with two 512-bit FMA units; see the pair block below);
 * taller blocks do not fit the general registers when A is read in place (the per-step product reads
 * h_prev and the input projection reads x in place, R row pointers): at 16 rows GCC keeps 7 of them
 * on the stack or in vector registers and reloads them every k, which costs more than the taller
 * block saves. On a core that splits a 512-bit FMA over two 256-bit units this kernel and the AVX2
 * one share one ceiling (the same flops per cycle), so the wider path pays off on CPUs with
 * full-width 512-bit FMA units. Measurements: docs/kernels-performance.md, "Register blocking on
 * AVX-512". */
#define LE512_TARGET "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"

/* one row's 16 outputs: c[0:width] (+)= v (a masked load/store for the last, partial panel) */
__attribute__((target(LE512_TARGET), always_inline))
static inline void lstm_energy_store_row_avx512(__m512 v, int accumulate, float *c, Py_ssize_t width)
{
    if (width == LE_NR) {
        if (accumulate)
            v = _mm512_add_ps(v, _mm512_loadu_ps(c));
        _mm512_storeu_ps(c, v);
    } else {
        __mmask16 m = (__mmask16)((1u << width) - 1u);
        if (accumulate)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c));
        _mm512_mask_storeu_ps(c, m, v);
    }
}

/* C[0:R, 0:width] (+)= A[0:R, 0:K] @ panel[0:K, 0:width], R = 1..8 a compile-time constant after
 * inlining (named accumulators: unused ones disappear, none is spilled). A as in
 * lstm_energy_block_avx2: row-major (a_rs = lda, a_ks = 1) or packed (a_rs = 1, a_ks = R). */
__attribute__((target(LE512_TARGET), always_inline))
static inline void lstm_energy_block_avx512(const int R, Py_ssize_t K, const float *A, Py_ssize_t a_rs,
                                            Py_ssize_t a_ks, const float *panel, const float *prefetch,
                                            int accumulate, float *C, Py_ssize_t ldc, Py_ssize_t width)
{
    for (int r = 0; r < R; ++r) {              /* C's rows: fetched behind the FMAs (see AVX2) */
        _mm_prefetch((const char *)(C + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + r * ldc + width - 1), _MM_HINT_T0);
    }
    __m512 z = _mm512_setzero_ps();
    __m512 c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z;
    for (Py_ssize_t k = 0; k < K; ++k) {
        if (prefetch != NULL)                  /* loop-invariant: the loop is unswitched */
            _mm_prefetch((const char *)(prefetch + k * LE_NR), _MM_HINT_T0);
        __m512 b = _mm512_loadu_ps(panel + k * LE_NR);
        const float *ak = A + k * a_ks;
#define LE512_FMA(r) if (R > r) c##r = _mm512_fmadd_ps(_mm512_set1_ps(ak[r * a_rs]), b, c##r)
        LE512_FMA(0); LE512_FMA(1); LE512_FMA(2); LE512_FMA(3);
        LE512_FMA(4); LE512_FMA(5); LE512_FMA(6); LE512_FMA(7);
#undef LE512_FMA
    }
#define LE512_STORE(r) if (R > r) lstm_energy_store_row_avx512(c##r, accumulate, C + r * ldc, width)
    LE512_STORE(0); LE512_STORE(1); LE512_STORE(2); LE512_STORE(3);
    LE512_STORE(4); LE512_STORE(5); LE512_STORE(6); LE512_STORE(7);
#undef LE512_STORE
}

/* C[0:R, 0:16 + width1] (+)= A[0:R, 0:K] @ [panel0 | panel1], panel1 = panel0 + pstride: two adjacent
 * panels at once, 2R zmm accumulators (16 at R = 8). Each output is summed exactly as
 * lstm_energy_block_avx512 sums it (one FMA chain over k), so the pair gives the bits of two single
 * blocks. Per k: two panel loads, R broadcasts (each now feeding two FMAs) and 2R FMAs. Why: with two
 * 512-bit FMA units (where lstm_energy_panel_pairs_rule pairs), 8 chains only just cover the FMA latency
 * (4 cycles x 2 units) and the single block issues 9 loads per 8 FMAs; 16 chains and 10 loads per 16 FMAs
 * leave both slack.
 * prefetch: the next pair's chunks (prefetch and prefetch + pstride), or NULL. */
__attribute__((target(LE512_TARGET), always_inline))
static inline void lstm_energy_block_pair_avx512(const int R, Py_ssize_t K, const float *A, Py_ssize_t a_rs,
                                                 Py_ssize_t a_ks, const float *panel0, Py_ssize_t pstride,
                                                 const float *prefetch, int accumulate, float *C,
                                                 Py_ssize_t ldc, Py_ssize_t width1)
{
    const float *panel1 = panel0 + pstride;
    for (int r = 0; r < R; ++r) {              /* C's rows: fetched behind the FMAs (see AVX2) */
        _mm_prefetch((const char *)(C + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + r * ldc + LE_NR + width1 - 1), _MM_HINT_T0);
    }
    __m512 z = _mm512_setzero_ps();
    __m512 c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z;
    __m512 d0 = z, d1 = z, d2 = z, d3 = z, d4 = z, d5 = z, d6 = z, d7 = z;
    for (Py_ssize_t k = 0; k < K; ++k) {
        if (prefetch != NULL) {                /* loop-invariant: the loop is unswitched */
            _mm_prefetch((const char *)(prefetch + k * LE_NR), _MM_HINT_T0);
            _mm_prefetch((const char *)(prefetch + pstride + k * LE_NR), _MM_HINT_T0);
        }
        __m512 b0 = _mm512_loadu_ps(panel0 + k * LE_NR);
        __m512 b1 = _mm512_loadu_ps(panel1 + k * LE_NR);
        const float *ak = A + k * a_ks;
#define LE512_FMA2(r)                                                                              \
    if (R > r) {                                                                                   \
        __m512 x = _mm512_set1_ps(ak[r * a_rs]);                                                   \
        c##r = _mm512_fmadd_ps(x, b0, c##r);                                                       \
        d##r = _mm512_fmadd_ps(x, b1, d##r);                                                       \
    }
        LE512_FMA2(0) LE512_FMA2(1) LE512_FMA2(2) LE512_FMA2(3)
        LE512_FMA2(4) LE512_FMA2(5) LE512_FMA2(6) LE512_FMA2(7)
#undef LE512_FMA2
    }
#define LE512_STORE2(r)                                                                            \
    if (R > r) {                                                                                   \
        lstm_energy_store_row_avx512(c##r, accumulate, C + r * ldc, LE_NR);                        \
        lstm_energy_store_row_avx512(d##r, accumulate, C + r * ldc + LE_NR, width1);               \
    }
    LE512_STORE2(0) LE512_STORE2(1) LE512_STORE2(2) LE512_STORE2(3)
    LE512_STORE2(4) LE512_STORE2(5) LE512_STORE2(6) LE512_STORE2(7)
#undef LE512_STORE2
}

/* one 8-k group of the R = 1 kernel below: s0..s7 += a[j] * line j of the 8 consecutive 64-byte panel
 * lines at l (j = 0..7), the lines LE_ROW_AHEAD floats ahead prefetched. A macro over the caller's
 * s0..s7 so that _step_ahead.h's step, which must sum in this order, shares it. */
#define LE512_ROW_GROUP(a, l)                                                                       \
    do {                                                                                            \
        const float *a_ = (a), *l_ = (l);                                                           \
        for (int line_ = 0; line_ < 8; ++line_)                                                     \
            _mm_prefetch((const char *)(l_ + LE_ROW_AHEAD + line_ * LE_NR), _MM_HINT_T0);            \
        s0 = _mm512_fmadd_ps(_mm512_set1_ps(a_[0]), _mm512_loadu_ps(l_), s0);                       \
        s1 = _mm512_fmadd_ps(_mm512_set1_ps(a_[1]), _mm512_loadu_ps(l_ + 16), s1);                  \
        s2 = _mm512_fmadd_ps(_mm512_set1_ps(a_[2]), _mm512_loadu_ps(l_ + 32), s2);                  \
        s3 = _mm512_fmadd_ps(_mm512_set1_ps(a_[3]), _mm512_loadu_ps(l_ + 48), s3);                  \
        s4 = _mm512_fmadd_ps(_mm512_set1_ps(a_[4]), _mm512_loadu_ps(l_ + 64), s4);                  \
        s5 = _mm512_fmadd_ps(_mm512_set1_ps(a_[5]), _mm512_loadu_ps(l_ + 80), s5);                  \
        s6 = _mm512_fmadd_ps(_mm512_set1_ps(a_[6]), _mm512_loadu_ps(l_ + 96), s6);                  \
        s7 = _mm512_fmadd_ps(_mm512_set1_ps(a_[7]), _mm512_loadu_ps(l_ + 112), s7);                 \
    } while (0)

/* ... and its end: the k left over (< 8) into s0, then the eight sums added in a fixed tree */
#define LE512_ROW_FINISH(a, panel, k, K)                                                            \
    do {                                                                                            \
        for (; (k) < (K); ++(k))                                                                    \
            s0 = _mm512_fmadd_ps(_mm512_set1_ps((a)[k]), _mm512_loadu_ps((panel) + (k) * LE_NR), s0); \
        s0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)),            \
                           _mm512_add_ps(_mm512_add_ps(s4, s5), _mm512_add_ps(s6, s7)));            \
    } while (0)

/* the R = 1 case (B = 1): one FMA per k, so k is unrolled by 8 into 8 independent sums (FMA
 * latency 4 at one or two zmm FMAs per cycle), each k one aligned 64-byte line of panel; the
 * step streams W_hh from L2, so 2 KiB of panel are prefetched ahead as on the AVX2 path. */
__attribute__((target(LE512_TARGET), always_inline))
static inline void lstm_energy_row_avx512(Py_ssize_t K, const float *a, const float *panel,
                                          int accumulate, float *c, Py_ssize_t width)
{
    __m512 z = _mm512_setzero_ps();
    __m512 s0 = z, s1 = z, s2 = z, s3 = z, s4 = z, s5 = z, s6 = z, s7 = z;
    Py_ssize_t k = 0;
    for (; k + 8 <= K; k += 8)
        LE512_ROW_GROUP(a + k, panel + k * LE_NR);
    LE512_ROW_FINISH(a, panel, k, K);
    lstm_energy_store_row_avx512(s0, accumulate, c, width);
}

/* rows of A for the next AVX-512 block when `left` rows remain: 8 while that leaves none or at
 * least 4; 9..11 rows run as two near-equal blocks (5..6 + 4..5) rather than 8 + a short one, whose
 * few accumulator chains could not hide the FMA latency. */
static inline Py_ssize_t lstm_energy_block_rows_avx512(Py_ssize_t left)
{
    if (left == LE_MR_AVX512 || left >= LE_MR_AVX512 + 4)
        return LE_MR_AVX512;
    if (left > LE_MR_AVX512)
        return (left + 1) / 2;
    return left;
}

/* items per group when `items` pieces of work are handed out on demand to `threads` threads:
 * LE_GROUPS_PER_THREAD groups each, so a thread slowed down (a busy neighbour on its core, a
 * shared host) leaves the rest to the others, while the hand-out costs one atomic per group */
static inline Py_ssize_t lstm_energy_group_size(Py_ssize_t items, int threads)
{
    Py_ssize_t size = items / ((Py_ssize_t)threads * LE_GROUPS_PER_THREAD);
    return size > 0 ? size : 1;
}


/* ---- the driver (row blocks, k chunks, panel walk, threads, packing of A), once per path ---- */
#define LE_T_CAT2(name, sfx) name##_##sfx
#define LE_T_CAT(name, sfx) LE_T_CAT2(name, sfx)
#define LE_T(name) LE_T_CAT(name, LE_T_SUFFIX)

#define LE_T_SUFFIX avx2
#define LE_T_TARGET "avx2,fma"
#define LE_T_MR LE_MR_AVX2
#define LE_T_ALT_ROWS 4
#define LE_T_PAIRS 0
#define LE_T_BLOCK_CASES \
        case 6: LE_BLOCK(6); break; case 5: LE_BLOCK(5); break; case 4: LE_BLOCK(4); break; \
        case 3: LE_BLOCK(3); break; case 2: LE_BLOCK(2); break;
#include "_packed_gemm_driver.h"
#undef LE_T_SUFFIX
#undef LE_T_TARGET
#undef LE_T_MR
#undef LE_T_ALT_ROWS
#undef LE_T_PAIRS
#undef LE_T_BLOCK_CASES

#define LE_T_SUFFIX avx512
#define LE_T_TARGET LE512_TARGET
#define LE_T_MR LE_MR_AVX512
#define LE_T_ALT_ROWS 4
#define LE_T_PAIRS 1
#define LE_T_BLOCK_CASES \
        case 8: LE_BLOCK(8); break; case 7: LE_BLOCK(7); break; case 6: LE_BLOCK(6); break; \
        case 5: LE_BLOCK(5); break; \
        case 4: LE_BLOCK(4); break; case 3: LE_BLOCK(3); break; case 2: LE_BLOCK(2); break;
#include "_packed_gemm_driver.h"
#undef LE_T_SUFFIX
#undef LE_T_TARGET
#undef LE_T_MR
#undef LE_T_ALT_ROWS
#undef LE_T_PAIRS
#undef LE_T_BLOCK_CASES

/* C[m, n] = (accumulate ? C[m, n] : 0) + sum_k A[m, k] Bmat[k, n], Bmat given as its panels: the
 * per-step recurrent product, on the current path (_isa.h). A: (M, K) row stride lda; panels:
 * lstm_energy_pack_panels(K, N, ...); C: (M, N) row stride ldc. */
static inline void lstm_energy_gemm_packed(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A,
                                    Py_ssize_t lda, const float *panels, int accumulate, float *C,
                                    Py_ssize_t ldc)
{
    if (lstm_energy_isa() == LE_ISA_AVX512)
        lstm_energy_gemm_packed_avx512(M, N, K, A, lda, panels, accumulate, C, ldc);
    else
        lstm_energy_gemm_packed_avx2(M, N, K, A, lda, panels, accumulate, C, ldc);
}

/* the large GEMMs over all T*B rows (see lstm_energy_gemm_avx2 in _packed_gemm_driver.h for the
 * arguments), on the current path */
static inline void lstm_energy_gemm(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A,
                             Py_ssize_t a_rs, Py_ssize_t a_ks, const float *B, Py_ssize_t ldb,
                             float *b_scratch, int accumulate, float *C, Py_ssize_t ldc)
{
    if (lstm_energy_isa() == LE_ISA_AVX512)
        lstm_energy_gemm_avx512(M, N, K, A, a_rs, a_ks, B, ldb, b_scratch, accumulate, C, ldc);
    else
        lstm_energy_gemm_avx2(M, N, K, A, a_rs, a_ks, B, ldb, b_scratch, accumulate, C, ldc);
}

static inline int lstm_energy_packed_gemm_available(void)
{
    return lstm_energy_isa() >= LE_ISA_AVX2;
}

/* the OpenMP pool's size (1 without OpenMP): threadpoolctl's "openmp" limit */
static inline int lstm_energy_gemm_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

#else   /* not GCC-compatible on x86-64: no AVX2 build; callers use BLAS */

static inline void lstm_energy_gemm_packed(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A,
                                    Py_ssize_t lda, const float *panels, int accumulate, float *C,
                                    Py_ssize_t ldc)
{
    (void)M; (void)N; (void)K; (void)A; (void)lda; (void)panels; (void)accumulate; (void)C; (void)ldc;
}

static inline void lstm_energy_gemm(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A,
                             Py_ssize_t a_rs, Py_ssize_t a_ks, const float *B, Py_ssize_t ldb,
                             float *b_scratch, int accumulate, float *C, Py_ssize_t ldc)
{
    (void)M; (void)N; (void)K; (void)A; (void)a_rs; (void)a_ks; (void)B; (void)ldb;
    (void)b_scratch; (void)accumulate; (void)C; (void)ldc;
}

static inline int lstm_energy_packed_gemm_available(void) { return 0; }

static inline int lstm_energy_gemm_threads(void) { return 1; }

#endif
#endif
