/* The kernels' own float32 GEMMs (AVX2+FMA), so that a float32 call runs on one thread pool:
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
 * The micro-kernel keeps an R x 16 block of C (R <= 6 rows of A) in 12 AVX2 accumulators: per k it
 * loads 2 vectors of B and broadcasts R values of A (the Haswell/Zen register blocking of
 * GotoBLAS/BLIS). K is cut into chunks of LE_KC so one panel chunk (LE_KC x 16 floats, 16 KiB) stays
 * in L1 while every row block of A passes over it.
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
 * Only the AVX2+FMA build exists (function-level target attributes, no -march): callers ask
 * lstm_energy_packed_gemm_available() and use BLAS otherwise. Summation order differs from BLAS
 * (one running sum per output over k), an O(K·eps) rounding difference.
 */
#ifndef LSTM_ENERGY_PACKED_GEMM_H
#define LSTM_ENERGY_PACKED_GEMM_H

#include <Python.h>   /* Py_ssize_t */
#include <string.h>

#include "_isa.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define LE_NR 16                     /* columns per panel: two AVX2 vectors */
#define LE_MR 6                      /* rows of A per micro-kernel call */
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

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define LSTM_ENERGY_HAVE_TRANSPOSE_AVX2 1

/* panel[k*16 + j] = src[j*sn + k] for j < 16, k < K8 (a multiple of 8): 16 rows of a row-major W
 * (row stride sn) transposed into one panel, 8 rows x 8 k at a time by an AVX 8x8 transpose.
 * NumPy: panel[:K8] = src_rows[:16, :K8].T */
__attribute__((target("avx2")))
static void lstm_energy_transpose_16_rows(Py_ssize_t K8, const float *src, Py_ssize_t sn, float *panel)
{
    for (Py_ssize_t k = 0; k < K8; k += 8) {
        for (int half = 0; half < 2; ++half) {
            const float *s = src + half * 8 * sn + k;
            __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + sn);
            __m256 r2 = _mm256_loadu_ps(s + 2 * sn), r3 = _mm256_loadu_ps(s + 3 * sn);
            __m256 r4 = _mm256_loadu_ps(s + 4 * sn), r5 = _mm256_loadu_ps(s + 5 * sn);
            __m256 r6 = _mm256_loadu_ps(s + 6 * sn), r7 = _mm256_loadu_ps(s + 7 * sn);
            /* pairs of rows interleaved, then quadruples: u_i holds column i (low lane, rows
             * 0-3 or 4-7) and column i + 4 (high lane) */
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
            float *d = panel + k * LE_NR + half * 8;
            _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(d + LE_NR, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(d + 2 * LE_NR, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(d + 3 * LE_NR, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(d + 4 * LE_NR, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(d + 5 * LE_NR, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(d + 6 * LE_NR, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(d + 7 * LE_NR, _mm256_permute2f128_ps(u3, u7, 0x31));
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
        /* the forward's W_hh and W_ih (rows of W contiguous), 8 x 8 at a time: packing is
         * per call, and a scalar element-by-element transpose would outweigh a short B = 1 call */
        if (width == LE_NR && sk == 1 && lstm_energy_isa() >= LE_ISA_AVX2) {
            k = K / 8 * 8;
            lstm_energy_transpose_16_rows(k, src + n0 * sn, sn, panel);
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
static inline void lstm_energy_store_row(__m256 lo, __m256 hi, int accumulate, float *c, Py_ssize_t width)
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
static inline void lstm_energy_block(const int R, Py_ssize_t K, const float *A, Py_ssize_t a_rs,
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
    lstm_energy_store_row(c00, c01, accumulate, C, width);
    if (R > 1) lstm_energy_store_row(c10, c11, accumulate, C + ldc, width);
    if (R > 2) lstm_energy_store_row(c20, c21, accumulate, C + 2 * ldc, width);
    if (R > 3) lstm_energy_store_row(c30, c31, accumulate, C + 3 * ldc, width);
    if (R > 4) lstm_energy_store_row(c40, c41, accumulate, C + 4 * ldc, width);
    if (R > 5) lstm_energy_store_row(c50, c51, accumulate, C + 5 * ldc, width);
}

/* the R = 1 case (a matrix-vector product, B = 1): with only two accumulators the FMA latency
 * would bound it, so k is unrolled by 4 into 8 independent sums, added at the end. a: K contiguous
 * floats (a row of A, or a one-row packed block, which is the same layout). */
__attribute__((target("avx2,fma"), always_inline))
static inline void lstm_energy_row(Py_ssize_t K, const float *a, const float *panel, int accumulate,
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
    lstm_energy_store_row(s0, s1, accumulate, c, width);
}

/* rows of A for the next micro-kernel call when `left` rows remain: 6 while that leaves none or
 * at least 4, else 4 (so 32 rows run as 6+6+6+6+4+4, not 6x5+2). Blocks of 1-2 rows keep only
 * 2-4 accumulator chains, too few to hide the FMA latency, so they are avoided where possible. */
static inline Py_ssize_t lstm_energy_block_rows(Py_ssize_t left)
{
    if (left == LE_MR || left >= LE_MR + 4)
        return LE_MR;
    if (left > LE_MR)                          /* 7..9: 4 now, 3..5 next */
        return 4;
    return left;
}

/* rows [0, M) of A, in row blocks, against one panel (K x 16, zero-padded past `width`):
 * C[0:M, 0:width] (+)= A @ panel. A is row-major with row stride lda (packed = 0) or packed by
 * lstm_energy_pack_a (packed = 1: each block of R rows is K x R, row index fastest). next: K x 16
 * floats the first row block prefetches into L1 (the panel chunk that comes next), or NULL. */
__attribute__((target("avx2,fma")))
static void lstm_energy_strip(Py_ssize_t M, Py_ssize_t K, const float *A, Py_ssize_t lda, int packed,
                              const float *panel, const float *next, int accumulate, float *C,
                              Py_ssize_t ldc, Py_ssize_t width)
{
    for (Py_ssize_t m = 0; m < M;) {
        Py_ssize_t rows = lstm_energy_block_rows(M - m);
        float *cm = C + m * ldc;
        const float *pf = m == 0 ? next : NULL;  /* the first block fetches the next panel chunk */
        /* the A strides as compile-time constants in each case: packed (1, R) or row-major (lda, 1) */
#define LE_BLOCK(R) (packed ? lstm_energy_block(R, K, A + m * K, 1, R, panel, pf, accumulate, cm, ldc, width) \
                            : lstm_energy_block(R, K, A + m * lda, lda, 1, panel, pf, accumulate, cm, ldc, \
                                                width))
        switch (rows) {
        case 6: LE_BLOCK(6); break;
        case 5: LE_BLOCK(5); break;
        case 4: LE_BLOCK(4); break;
        case 3: LE_BLOCK(3); break;
        case 2: LE_BLOCK(2); break;
        default: lstm_energy_row(K, packed ? A + m * K : A + m * lda, panel, accumulate, cm, width);
                 break;
        }
#undef LE_BLOCK
        m += rows;
    }
}

/* the per-step product against packed panels [p0, p1), all of k in chunks of LE_KC */
static void lstm_energy_packed_panels_range(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                                            const float *A, Py_ssize_t lda, const float *panels,
                                            int accumulate, float *C, Py_ssize_t ldc,
                                            Py_ssize_t p0, Py_ssize_t p1)
{
    int stream = lstm_energy_panels_stream(K, N);
    for (Py_ssize_t p = p0; p < p1; ++p) {
        Py_ssize_t n0 = p * LE_NR;
        Py_ssize_t width = N - n0 < LE_NR ? N - n0 : LE_NR;
        /* the k chunks of one panel back to back: its 16-column strip of C stays in L1 */
        for (Py_ssize_t k0 = 0; k0 < K; k0 += LE_KC) {
            Py_ssize_t kn = K - k0 < LE_KC ? K - k0 : LE_KC;
            const float *chunk = panels + p * K * LE_NR + k0 * LE_NR;
            /* the chunk after this one in memory (this panel's next k chunk or the next panel's
             * first), fetched while this one runs when the panels stream from L3 */
            int last = p + 1 == p1 && k0 + kn == K;
            const float *next = stream && !last ? chunk + kn * LE_NR : NULL;
            lstm_energy_strip(M, kn, A + k0, lda, 0, chunk, next, accumulate || k0 > 0, C + n0, ldc,
                              width);
        }
    }
}

/* threads for a product of M*N*K multiply-adds split into `parts` pieces: the OpenMP pool, or 1
 * when the product is too small to pay for the fork/join */
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

/* items per group when `items` pieces of work are handed out on demand to `threads` threads:
 * LE_GROUPS_PER_THREAD groups each, so a thread slowed down (a busy neighbour on its core, a
 * shared host) leaves the rest to the others, while the hand-out costs one atomic per group */
static inline Py_ssize_t lstm_energy_group_size(Py_ssize_t items, int threads)
{
    Py_ssize_t size = items / ((Py_ssize_t)threads * LE_GROUPS_PER_THREAD);
    return size > 0 ? size : 1;
}

/* C[m, n] = (accumulate ? C[m, n] : 0) + sum_k A[m, k] Bmat[k, n], Bmat given as its panels: the
 * per-step recurrent product. A: (M, K) row stride lda; panels: lstm_energy_pack_panels(K, N, ...);
 * C: (M, N) row stride ldc. */
static void lstm_energy_gemm_packed(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A,
                                    Py_ssize_t lda, const float *panels, int accumulate, float *C,
                                    Py_ssize_t ldc)
{
    Py_ssize_t P = (N + LE_NR - 1) / LE_NR;
    int threads = lstm_energy_threads_for(M, N, K, P);
    if (threads <= 1) {
        lstm_energy_packed_panels_range(M, N, K, A, lda, panels, accumulate, C, ldc, 0, P);
        return;
    }
#ifdef _OPENMP
    if (lstm_energy_panels_stream(K, N)) {
        /* panels that stream from L3 on every step anyway: groups of them handed out on demand,
         * so a thread on a slower core takes fewer */
        Py_ssize_t per_group = lstm_energy_group_size(P, threads);
        Py_ssize_t groups = (P + per_group - 1) / per_group;
        #pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (Py_ssize_t g = 0; g < groups; ++g) {
            Py_ssize_t p0 = g * per_group, p1 = p0 + per_group < P ? p0 + per_group : P;
            lstm_energy_packed_panels_range(M, N, K, A, lda, panels, accumulate, C, ldc, p0, p1);
        }
        return;
    }
    /* panels that fit the threads' L2 caches: the same contiguous range for a thread at every
     * step, so its share stays in its own L2 (handed out on demand, a share would move to
     * another core's L2 from step to step) */
    #pragma omp parallel num_threads(threads)
    {
        int id = omp_get_thread_num(), nt = omp_get_num_threads();
        Py_ssize_t p0 = P * id / nt, p1 = P * (id + 1) / nt;
        lstm_energy_packed_panels_range(M, N, K, A, lda, panels, accumulate, C, ldc, p0, p1);
    }
#endif
}

/* apack <- A[0:M, 0:K] (A[m, k] = A[m * a_rs + k * a_ks]) in the row blocks lstm_energy_strip walks:
 * the block of R rows starting at row m is K x R at apack + m * K, row index fastest.
 * NumPy: apack[m*K : (m+R)*K] = A[m:m+R, :].T.ravel() for each block. */
static void lstm_energy_pack_a(Py_ssize_t M, Py_ssize_t K, const float *A, Py_ssize_t a_rs,
                               Py_ssize_t a_ks, float *apack)
{
    if (a_rs == 1) {
        /* transposed A (dW's dgates^T): source row k holds A[0:M, k] contiguously. Row by row, so
         * each source line is read once (rows are 4H floats apart, a multiple of 4 KiB for an
         * LSTM: walking one block's column down them would thrash an L1 set); each block takes
         * R consecutive floats, a fixed-size copy per case */
        for (Py_ssize_t k = 0; k < K; ++k) {
            const float *src = A + k * a_ks;
            /* rows LE_PACK_AHEAD ahead: their segments sit in other pages, which the hardware
             * prefetcher does not follow */
            if (k + LE_PACK_AHEAD < K)
                for (Py_ssize_t m = 0; m < M; m += 16)
                    _mm_prefetch((const char *)(src + LE_PACK_AHEAD * a_ks + m), _MM_HINT_T0);
            for (Py_ssize_t m = 0; m < M;) {
                Py_ssize_t rows = lstm_energy_block_rows(M - m);
                float *dst = apack + m * K + k * rows;
                if (rows == LE_MR)
                    memcpy(dst, src + m, LE_MR * sizeof(float));
                else if (rows == 4)
                    memcpy(dst, src + m, 4 * sizeof(float));
                else
                    memcpy(dst, src + m, (size_t)rows * sizeof(float));
                m += rows;
            }
        }
        return;
    }
    for (Py_ssize_t m = 0; m < M;) {                 /* row-major A: read each row once */
        Py_ssize_t rows = lstm_energy_block_rows(M - m);
        float *dst = apack + m * K;
        for (Py_ssize_t r = 0; r < rows; ++r) {
            const float *src = A + (m + r) * a_rs;
            for (Py_ssize_t k = 0; k < K; ++k)
                dst[k * rows + r] = src[k * a_ks];
        }
        m += rows;
    }
}

/* C[m, n] = (accumulate ? C[m, n] : 0) + sum_k A[m, k] Bmat[k, n], for the large GEMMs over all
 * T*B rows (input projection, dX, dW): A[m, k] = A[m * a_rs + k * a_ks] (row-major, or transposed:
 * a_rs = 1, a_ks = lda). Bmat is either already packed (b_scratch == NULL: column panel p at
 * B + p * K * 16, as lstm_energy_pack_panels writes it) or a row-major (K, N) matrix with row stride
 * ldb (b_scratch != NULL: each k chunk of it is packed into b_scratch, lstm_energy_panels_size(LE_KC,
 * N) floats, because reading 16-float strips of long rows in place thrashes the TLB). C: row
 * stride ldc. GotoBLAS order: for each k chunk (LE_KC) the threads split the row chunks (LE_MC);
 * each runs its block of A (LE_MC x LE_KC floats, in its L2) against every column panel, so the
 * only barrier is one per k chunk. A transposed A (dW) is packed first, on the thread's stack, so the
 * micro-kernel's broadcasts read it sequentially, and so is a row-major A with long rows; a
 * row-major A with rows of at most LE_INPLACE_MAX_LDA floats is read in place. */
static void lstm_energy_gemm(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A,
                             Py_ssize_t a_rs, Py_ssize_t a_ks, const float *B, Py_ssize_t ldb,
                             float *b_scratch, int accumulate, float *C, Py_ssize_t ldc)
{
    Py_ssize_t P = (N + LE_NR - 1) / LE_NR;
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {                              /* an empty sum: C = 0 or unchanged */
        if (!accumulate)
            for (Py_ssize_t m = 0; m < M; ++m)
                memset(C + m * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    Py_ssize_t chunks = (M + LE_MC - 1) / LE_MC;
    int threads = lstm_energy_threads_for(M, N, K, chunks);
    for (Py_ssize_t k0 = 0; k0 < K; k0 += LE_KC) {
        Py_ssize_t kn = K - k0 < LE_KC ? K - k0 : LE_KC;
        int acc = accumulate || k0 > 0;
        /* every row chunk passes over all of this k chunk's panels: beyond L2 they stream */
        int stream = lstm_energy_panels_stream(kn, N);
        const float *bpanels;                  /* this k chunk's panels: panel p at + p * b_ps */
        Py_ssize_t b_ps;
        if (b_scratch != NULL) {
            lstm_energy_pack_panels(kn, N, B + k0 * ldb, ldb, 1, b_scratch);
            bpanels = b_scratch;
            b_ps = kn * LE_NR;
        } else {
            bpanels = B + k0 * LE_NR;
            b_ps = K * LE_NR;
        }
#ifdef _OPENMP
        #pragma omp parallel num_threads(threads) if (threads > 1)
#endif
        {
            /* the row chunks are handed out on demand (a thread on a slower core takes fewer); each
             * thread packs the A blocks of its chunks itself */
            float apack[LE_MC * LE_KC] __attribute__((aligned(64)));
#ifdef _OPENMP
            #pragma omp for schedule(dynamic, 1)
#endif
            for (Py_ssize_t c = 0; c < chunks; ++c) {
                Py_ssize_t m0 = c * LE_MC;
                Py_ssize_t mn = M - m0 < LE_MC ? M - m0 : LE_MC;
                const float *ablock = A + m0 * a_rs + k0 * a_ks;
                /* a row-major A with short rows is read in place, like the steps do; long rows
                 * (dX's dgates, 4H wide) would spread the block over more pages than the TLB holds */
                int packed = a_ks != 1 || a_rs > LE_INPLACE_MAX_LDA;
                if (packed)
                    lstm_energy_pack_a(mn, kn, ablock, a_rs, a_ks, apack);
                for (Py_ssize_t p = 0; p < P; ++p) {
                    Py_ssize_t n0 = p * LE_NR;
                    Py_ssize_t width = N - n0 < LE_NR ? N - n0 : LE_NR;
                    const float *panel = bpanels + p * b_ps;
                    const float *next = stream && p + 1 < P ? panel + b_ps : NULL;
                    lstm_energy_strip(mn, kn, packed ? apack : ablock, a_rs, packed, panel, next,
                                      acc, C + m0 * ldc + n0, ldc, width);
                }
            }
        }
    }
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

static void lstm_energy_gemm_packed(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A,
                                    Py_ssize_t lda, const float *panels, int accumulate, float *C,
                                    Py_ssize_t ldc)
{
    (void)M; (void)N; (void)K; (void)A; (void)lda; (void)panels; (void)accumulate; (void)C; (void)ldc;
}

static void lstm_energy_gemm(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A,
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
