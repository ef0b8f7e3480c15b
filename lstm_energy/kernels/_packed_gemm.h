/* The per-step recurrent products for float32 against a weight packed once per call:
 * C (M, N) (+)= A (M, K) @ Bmat (K, N), where Bmat is W_hh^T in the forward (gates += h @ W_hh^T)
 * and W_hh in the backward (dh = dgates @ W_hh).
 *
 * Why: through BLAS, every time step repacks the whole W_hh (4 MiB for an LSTM at H = 512) before a
 * product whose other side has only M = B rows, and the repacking is redone T times per call. Here
 * the caller packs W_hh once per call (lstm_energy_pack_panels, into the workspace's "w_hh_panels")
 * and every step reuses it, as oneDNN's RNN primitives do.
 *
 * Layout of the packed weight ("panels"): N is cut into panels of LE_NR = 16 columns; panel p holds
 * Bmat[k, 16p + j] at panels[p*K*16 + k*16 + j] (j < 16, zero beyond column N), so one step of the
 * inner loop reads 16 consecutive floats. NumPy: panels[p] = pad(Bmat, cols to 16·P)[:, 16p:16p+16].
 *
 * The micro-kernel keeps an R x 16 block of C (R <= 6 rows of A) in 12 AVX2 accumulators: per k it
 * loads 2 vectors of the panel and broadcasts R values of A (the Haswell/Zen register blocking of
 * GotoBLAS/BLIS). K is cut into chunks of LE_KC so one panel chunk (LE_KC x 16 floats, 16 KiB) stays
 * in L1 while every row block of A passes over it.
 *
 * Threads: the panels are split into contiguous ranges, one per OpenMP thread, when the product is
 * big enough to pay for the fork/join (LE_PARALLEL_MIN multiply-adds); omp_get_max_threads() is the
 * pool size threadpoolctl sets (user_api "openmp"). Built without OpenMP it runs on one thread.
 *
 * Only the AVX2+FMA build exists (function-level target attributes, no -march): callers ask
 * lstm_energy_packed_gemm_available() and use BLAS otherwise. Summation order differs from BLAS
 * (one running sum per output over k), an O(K·eps) rounding difference.
 */
#ifndef LSTM_ENERGY_PACKED_GEMM_H
#define LSTM_ENERGY_PACKED_GEMM_H

#include <Python.h>   /* Py_ssize_t */
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define LE_NR 16                     /* columns per panel: two AVX2 vectors */
#define LE_MR 6                      /* rows of A per micro-kernel call */
#define LE_KC 256                    /* k per chunk: a 16 KiB panel chunk stays in L1 */
#define LE_PARALLEL_MIN (1L << 20)   /* multiply-adds below which one thread is faster */

/* floats the panels of a K x N Bmat take: NumPy: ceil(N / 16) * 16 * K */
static inline Py_ssize_t lstm_energy_panels_size(Py_ssize_t K, Py_ssize_t N)
{
    return (N + LE_NR - 1) / LE_NR * LE_NR * K;
}

/* panels <- Bmat (K, N) with Bmat[k, n] = src[k * sk + n * sn]:
 * forward W_hh (N, K) row-major gives sk = 1, sn = ld; backward W_hh (K, N) gives sk = ld, sn = 1. */
static void lstm_energy_pack_panels(Py_ssize_t K, Py_ssize_t N, const float *src, Py_ssize_t sk,
                                    Py_ssize_t sn, float *panels)
{
    Py_ssize_t P = (N + LE_NR - 1) / LE_NR;
    for (Py_ssize_t p = 0; p < P; ++p) {
        float *panel = panels + p * K * LE_NR;
        Py_ssize_t n0 = p * LE_NR;
        Py_ssize_t width = N - n0 < LE_NR ? N - n0 : LE_NR;
        if (width < LE_NR)
            memset(panel, 0, (size_t)(K * LE_NR) * sizeof(float));
        if (sn == 1) {
            for (Py_ssize_t k = 0; k < K; ++k)
                memcpy(panel + k * LE_NR, src + k * sk + n0, (size_t)width * sizeof(float));
        } else {
            for (Py_ssize_t j = 0; j < width; ++j) {   /* one source row (sk == 1) per column */
                const float *col = src + (n0 + j) * sn;
                for (Py_ssize_t k = 0; k < K; ++k)
                    panel[k * LE_NR + j] = col[k * sk];
            }
        }
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define LSTM_ENERGY_HAVE_PACKED_GEMM 1

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

/* C[0:R, 0:width] (+)= A[0:R, 0:K] @ panel[0:K, 0:width]; R = 1..6 is a compile-time constant after
 * inlining, so unused accumulators disappear (named registers, not an array, so none of them is
 * spilled to the stack). A: row stride lda; C: row stride ldc. */
__attribute__((target("avx2,fma"), always_inline))
static inline void lstm_energy_packed_block(const int R, Py_ssize_t K, const float *A, Py_ssize_t lda,
                                            const float *panel, int accumulate, float *C,
                                            Py_ssize_t ldc, Py_ssize_t width)
{
    const float *a0 = A, *a1 = A + lda, *a2 = A + 2 * lda, *a3 = A + 3 * lda, *a4 = A + 4 * lda,
                *a5 = A + 5 * lda;
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
        __m256 b0 = _mm256_loadu_ps(panel + k * LE_NR);
        __m256 b1 = _mm256_loadu_ps(panel + k * LE_NR + 8);
        __m256 a;
        a = _mm256_broadcast_ss(a0 + k);
        c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        if (R > 1) { a = _mm256_broadcast_ss(a1 + k);
                     c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11); }
        if (R > 2) { a = _mm256_broadcast_ss(a2 + k);
                     c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21); }
        if (R > 3) { a = _mm256_broadcast_ss(a3 + k);
                     c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31); }
        if (R > 4) { a = _mm256_broadcast_ss(a4 + k);
                     c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41); }
        if (R > 5) { a = _mm256_broadcast_ss(a5 + k);
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
 * would bound it, so k is unrolled by 4 into 8 independent sums, added at the end. */
__attribute__((target("avx2,fma")))
static void lstm_energy_packed_row(Py_ssize_t K, const float *a, const float *panel, int accumulate,
                                   float *c, Py_ssize_t width)
{
    __m256 z = _mm256_setzero_ps();
    __m256 s0 = z, s1 = z, s2 = z, s3 = z, s4 = z, s5 = z, s6 = z, s7 = z;
    Py_ssize_t k = 0;
    for (; k + 4 <= K; k += 4) {
        const float *p = panel + k * LE_NR;
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

/* every row block of A against panels [p0, p1), over all of k in chunks of LE_KC */
__attribute__((target("avx2,fma")))
static void lstm_energy_packed_panels_range(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                                            const float *A, Py_ssize_t lda, const float *panels,
                                            int accumulate, float *C, Py_ssize_t ldc,
                                            Py_ssize_t p0, Py_ssize_t p1)
{
    for (Py_ssize_t p = p0; p < p1; ++p) {
        Py_ssize_t n0 = p * LE_NR;
        Py_ssize_t width = N - n0 < LE_NR ? N - n0 : LE_NR;
        float *c = C + n0;
        /* the k chunks of one panel back to back: its 16-column strip of C stays in L1 */
        for (Py_ssize_t k0 = 0; k0 < K; k0 += LE_KC) {
            Py_ssize_t kn = K - k0 < LE_KC ? K - k0 : LE_KC;
            int acc = accumulate || k0 > 0;
            const float *panel = panels + p * K * LE_NR + k0 * LE_NR;
            const float *a = A + k0;
            for (Py_ssize_t m = 0; m < M;) {
                Py_ssize_t rows = lstm_energy_block_rows(M - m);
                const float *am = a + m * lda;
                float *cm = c + m * ldc;
                switch (rows) {
                case 6: lstm_energy_packed_block(6, kn, am, lda, panel, acc, cm, ldc, width); break;
                case 5: lstm_energy_packed_block(5, kn, am, lda, panel, acc, cm, ldc, width); break;
                case 4: lstm_energy_packed_block(4, kn, am, lda, panel, acc, cm, ldc, width); break;
                case 3: lstm_energy_packed_block(3, kn, am, lda, panel, acc, cm, ldc, width); break;
                case 2: lstm_energy_packed_block(2, kn, am, lda, panel, acc, cm, ldc, width); break;
                default: lstm_energy_packed_row(kn, am, panel, acc, cm, width); break;
                }
                m += rows;
            }
        }
    }
}

/* C[m, n] = (accumulate ? C[m, n] : 0) + sum_k A[m, k] Bmat[k, n], Bmat given as its panels.
 * A: (M, K) row stride lda; panels: lstm_energy_pack_panels(K, N, ...); C: (M, N) row stride ldc. */
static void lstm_energy_gemm_packed(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A,
                                    Py_ssize_t lda, const float *panels, int accumulate, float *C,
                                    Py_ssize_t ldc)
{
    Py_ssize_t P = (N + LE_NR - 1) / LE_NR;
    int threads = 1;
#ifdef _OPENMP
    if ((long)M * N * K >= LE_PARALLEL_MIN && P > 1)
        threads = omp_get_max_threads();
    if (threads > P)
        threads = (int)P;
#endif
    if (threads <= 1) {
        lstm_energy_packed_panels_range(M, N, K, A, lda, panels, accumulate, C, ldc, 0, P);
        return;
    }
#ifdef _OPENMP
    #pragma omp parallel num_threads(threads)
    {
        int id = omp_get_thread_num(), nt = omp_get_num_threads();
        Py_ssize_t p0 = P * id / nt, p1 = P * (id + 1) / nt;
        lstm_energy_packed_panels_range(M, N, K, A, lda, panels, accumulate, C, ldc, p0, p1);
    }
#endif
}

static inline int lstm_energy_packed_gemm_available(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else   /* not GCC-compatible on x86-64: no AVX2 build; callers use BLAS */

static void lstm_energy_gemm_packed(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A,
                                    Py_ssize_t lda, const float *panels, int accumulate, float *C,
                                    Py_ssize_t ldc)
{
    (void)M; (void)N; (void)K; (void)A; (void)lda; (void)panels; (void)accumulate; (void)C; (void)ldc;
}

static inline int lstm_energy_packed_gemm_available(void) { return 0; }

#endif
#endif
