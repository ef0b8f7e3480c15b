/* The per-step recurrent products for float32, without packing: forward C (M, N) (+)= A (M, K) @
 * W (N, K)^T (dot-product form, below) and backward C (M, N) (+)= A (M, K) @ Bm (K, N)
 * (broadcast form, lstm_energy_gemm_ab_rows_avx2).
 *
 * Why: through BLAS, every time step repacks the whole W_hh (N x K, 1 MiB at H = 256, LSTM) before a
 * product whose other side has only M = B rows; the copy was ~14% of a forward's samples and the
 * call ran at ~60% of sgemm's rate. Here each output is a dot product of two contiguous rows
 * (h_prev[m, :] and W_hh[n, :]), computed for 3 rows of A x 4 rows of W at a time with 12 AVX2
 * accumulators (7 loads per 12 FMAs), reduced once per block with horizontal adds. W_hh is read in
 * place, so the kernels need no extra workspace.
 *
 * Only the AVX2+FMA build exists; lstm_energy_recurrent_gemm_available() says whether the running
 * CPU has it, and the callers (_recurrent.pxd) fall back to BLAS otherwise. It is single-threaded:
 * the callers use it only when BLAS would run on one thread.
 * Summation order differs from BLAS (8 partial sums per output), an O(K·eps) rounding difference.
 */
#ifndef LSTM_ENERGY_RECURRENT_GEMM_H
#define LSTM_ENERGY_RECURRENT_GEMM_H

#include <Python.h>   /* Py_ssize_t */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#define LSTM_ENERGY_HAVE_RECURRENT_GEMM 1
#ifndef LSTM_ENERGY_MIN_K_CHUNK
#define LSTM_ENERGY_MIN_K_CHUNK 256
#endif

/* the 4 sums of a, b, c, d's 8 lanes, as one 4-lane vector */
__attribute__((target("avx2,fma")))
static inline __m128 lstm_energy_hsum4(__m256 a, __m256 b, __m256 c, __m256 d)
{
    __m256 ab = _mm256_hadd_ps(a, b);
    __m256 cd = _mm256_hadd_ps(c, d);
    __m256 abcd = _mm256_hadd_ps(ab, cd);
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

/* dot(a, w) over K, AVX2 (one output; used for the remainder rows/columns) */
__attribute__((target("avx2,fma")))
static inline float lstm_energy_dot(const float *a, const float *w, Py_ssize_t K)
{
    __m256 acc = _mm256_setzero_ps();
    Py_ssize_t k = 0;
    for (; k + 8 <= K; k += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(w + k), acc);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s4 = _mm_hadd_ps(s4, s4);
    s4 = _mm_hadd_ps(s4, s4);
    float s = _mm_cvtss_f32(s4);
    for (; k < K; ++k)
        s += a[k] * w[k];
    return s;
}

/* R rows of A (R = 1..3) times the 4 rows of W starting at w0, over K: R x 4 outputs into C.
 * 12 accumulators at R = 3 (7 loads per 12 FMAs, enough independent chains to cover the FMA
 * latency); R is a compile-time constant after inlining, so the unused chains disappear. */
__attribute__((target("avx2,fma"), always_inline))
static inline void lstm_energy_block_rx4(const int R, Py_ssize_t K, const float *a0, Py_ssize_t lda,
                                         const float *w0, Py_ssize_t ldw,
                                         int accumulate, float *c0, Py_ssize_t ldc)
{
    const float *a1 = a0 + lda, *a2 = a1 + lda;
    const float *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
    Py_ssize_t K8 = K & ~(Py_ssize_t)7;
    __m256 z = _mm256_setzero_ps();
    __m256 c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
    __m256 c20 = z, c21 = z, c22 = z, c23 = z;
    for (Py_ssize_t k = 0; k < K8; k += 8) {
        __m256 x0 = _mm256_loadu_ps(a0 + k);
        __m256 x1 = R > 1 ? _mm256_loadu_ps(a1 + k) : z;
        __m256 x2 = R > 2 ? _mm256_loadu_ps(a2 + k) : z;
        __m256 v = _mm256_loadu_ps(w0 + k);
        c00 = _mm256_fmadd_ps(x0, v, c00);
        if (R > 1) c10 = _mm256_fmadd_ps(x1, v, c10);
        if (R > 2) c20 = _mm256_fmadd_ps(x2, v, c20);
        v = _mm256_loadu_ps(w1 + k);
        c01 = _mm256_fmadd_ps(x0, v, c01);
        if (R > 1) c11 = _mm256_fmadd_ps(x1, v, c11);
        if (R > 2) c21 = _mm256_fmadd_ps(x2, v, c21);
        v = _mm256_loadu_ps(w2 + k);
        c02 = _mm256_fmadd_ps(x0, v, c02);
        if (R > 1) c12 = _mm256_fmadd_ps(x1, v, c12);
        if (R > 2) c22 = _mm256_fmadd_ps(x2, v, c22);
        v = _mm256_loadu_ps(w3 + k);
        c03 = _mm256_fmadd_ps(x0, v, c03);
        if (R > 1) c13 = _mm256_fmadd_ps(x1, v, c13);
        if (R > 2) c23 = _mm256_fmadd_ps(x2, v, c23);
    }
    __m128 s[3];
    s[0] = lstm_energy_hsum4(c00, c01, c02, c03);
    if (R > 1) s[1] = lstm_energy_hsum4(c10, c11, c12, c13);
    if (R > 2) s[2] = lstm_energy_hsum4(c20, c21, c22, c23);
    const float *ar[3] = {a0, a1, a2};
    for (int r = 0; r < R; ++r) {
        if (K8 < K) {
            float t[4] = {0, 0, 0, 0};
            for (Py_ssize_t k = K8; k < K; ++k) {
                t[0] += ar[r][k] * w0[k]; t[1] += ar[r][k] * w1[k];
                t[2] += ar[r][k] * w2[k]; t[3] += ar[r][k] * w3[k];
            }
            s[r] = _mm_add_ps(s[r], _mm_loadu_ps(t));
        }
        float *cr = c0 + r * ldc;
        if (accumulate)
            s[r] = _mm_add_ps(_mm_loadu_ps(cr), s[r]);
        _mm_storeu_ps(cr, s[r]);
    }
}

/* C[m, n] = (accumulate ? C[m, n] : 0) + sum_k A[m, k] W[n, k]
 * A: (M, K) row stride lda; W: (N, K) row stride ldw; C: (M, N) row stride ldc. */
__attribute__((target("avx2,fma")))
static void lstm_energy_gemm_abt_block_avx2(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                                            const float *A, Py_ssize_t lda,
                                            const float *W, Py_ssize_t ldw,
                                            int accumulate, float *C, Py_ssize_t ldc)
{
    Py_ssize_t N4 = N & ~(Py_ssize_t)3;
    for (Py_ssize_t n = 0; n < N4; n += 4) {
        const float *w = W + n * ldw;
        Py_ssize_t m = 0;
        for (; m + 3 <= M; m += 3)
            lstm_energy_block_rx4(3, K, A + m * lda, lda, w, ldw, accumulate, C + m * ldc + n, ldc);
        if (M - m == 2)
            lstm_energy_block_rx4(2, K, A + m * lda, lda, w, ldw, accumulate, C + m * ldc + n, ldc);
        else if (M - m == 1)
            lstm_energy_block_rx4(1, K, A + m * lda, lda, w, ldw, accumulate, C + m * ldc + n, ldc);
    }
    for (Py_ssize_t n = N4; n < N; ++n) {   /* last N % 4 columns */
        for (Py_ssize_t m = 0; m < M; ++m) {
            float s = lstm_energy_dot(A + m * lda, W + n * ldw, K);
            float *c = C + m * ldc + n;
            *c = accumulate ? *c + s : s;
        }
    }
}

/* Same product, K split into chunks of kc = max(4096 / M, LSTM_ENERGY_MIN_K_CHUNK) columns, so that
 * for small M the slice of A (M x kc floats) stays in L1 while every W row block passes over it; the
 * chunks after the first accumulate into C. Measured (1 thread, this 2-core EPYC): minimum chunk
 * 256 beat 128 at M = 32, K = 256 (232-292 vs 272-343 us) and M = 64, K = 512 (2.2-2.4 vs 2.7-3.3 ms). */
__attribute__((target("avx2,fma")))
static void lstm_energy_gemm_abt_rows_avx2(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                                           const float *A, Py_ssize_t lda,
                                           const float *W, Py_ssize_t ldw,
                                           int accumulate, float *C, Py_ssize_t ldc)
{
    Py_ssize_t kc = (4096 / (M > 0 ? M : 1)) & ~(Py_ssize_t)7;
    if (kc < LSTM_ENERGY_MIN_K_CHUNK) kc = LSTM_ENERGY_MIN_K_CHUNK;
    if (kc >= K) {
        lstm_energy_gemm_abt_block_avx2(M, N, K, A, lda, W, ldw, accumulate, C, ldc);
        return;
    }
    for (Py_ssize_t k0 = 0; k0 < K; k0 += kc) {
        Py_ssize_t kn = K - k0 < kc ? K - k0 : kc;
        lstm_energy_gemm_abt_block_avx2(M, N, kn, A + k0, lda, W + k0, ldw,
                                        k0 > 0 || accumulate, C, ldc);
    }
}

/* R rows of A (R = 1..4) times a panel of 8·V columns of Bm (V = 1..3) over K, for the backward's
 * dh = dgates @ W_hh, where W_hh's rows are contiguous along the output: per k one row segment of
 * Bm is loaded (V vectors) and A[r, k] broadcast, R·V accumulators (12 at R = 4, V = 3). */
__attribute__((target("avx2,fma"), always_inline))
static inline void lstm_energy_block_ab(const int R, const int V, Py_ssize_t K,
                                        const float *a0, Py_ssize_t lda,
                                        const float *b0, Py_ssize_t ldb,
                                        int accumulate, float *c0, Py_ssize_t ldc)
{
    __m256 acc[4][3];
    for (int r = 0; r < 4; ++r)
        for (int v = 0; v < 3; ++v)
            acc[r][v] = _mm256_setzero_ps();
    for (Py_ssize_t k = 0; k < K; ++k) {
        const float *brow = b0 + k * ldb;
        __m256 bv[3];
        for (int v = 0; v < V; ++v)
            bv[v] = _mm256_loadu_ps(brow + 8 * v);
        for (int r = 0; r < R; ++r) {
            __m256 x = _mm256_broadcast_ss(a0 + r * lda + k);
            for (int v = 0; v < V; ++v)
                acc[r][v] = _mm256_fmadd_ps(x, bv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) {
            float *c = c0 + r * ldc + 8 * v;
            __m256 out = accumulate ? _mm256_add_ps(_mm256_loadu_ps(c), acc[r][v]) : acc[r][v];
            _mm256_storeu_ps(c, out);
        }
}

/* rows [m0, M) of one column panel, in blocks of 4 rows then the 1..3 left over */
#define LSTM_ENERGY_AB_ROWS(V)                                                                   \
    do {                                                                                          \
        Py_ssize_t m = 0;                                                                         \
        for (; m + 4 <= M; m += 4)                                                                \
            lstm_energy_block_ab(4, V, K, A + m * lda, lda, Bm + n, ldb, accumulate, C + m * ldc + n, ldc); \
        if (M - m == 3)                                                                           \
            lstm_energy_block_ab(3, V, K, A + m * lda, lda, Bm + n, ldb, accumulate, C + m * ldc + n, ldc); \
        else if (M - m == 2)                                                                      \
            lstm_energy_block_ab(2, V, K, A + m * lda, lda, Bm + n, ldb, accumulate, C + m * ldc + n, ldc); \
        else if (M - m == 1)                                                                      \
            lstm_energy_block_ab(1, V, K, A + m * lda, lda, Bm + n, ldb, accumulate, C + m * ldc + n, ldc); \
    } while (0)

/* C[m, n] = (accumulate ? C[m, n] : 0) + sum_k A[m, k] Bm[k, n]
 * A: (M, K) row stride lda; Bm: (K, N) row stride ldb; C: (M, N) row stride ldc. */
__attribute__((target("avx2,fma")))
static void lstm_energy_gemm_ab_rows_avx2(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                                          const float *A, Py_ssize_t lda,
                                          const float *Bm, Py_ssize_t ldb,
                                          int accumulate, float *C, Py_ssize_t ldc)
{
    Py_ssize_t n = 0;
    for (; n + 24 <= N; n += 24)
        LSTM_ENERGY_AB_ROWS(3);
    if (N - n >= 16) { LSTM_ENERGY_AB_ROWS(2); n += 16; }
    if (N - n >= 8) { LSTM_ENERGY_AB_ROWS(1); n += 8; }
    for (; n < N; ++n)                       /* last N % 8 columns */
        for (Py_ssize_t m = 0; m < M; ++m) {
            float s = 0.0f;
            for (Py_ssize_t k = 0; k < K; ++k)
                s += A[m * lda + k] * Bm[k * ldb + n];
            float *c = C + m * ldc + n;
            *c = accumulate ? *c + s : s;
        }
}

static inline int lstm_energy_recurrent_gemm_available(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else   /* not GCC on x86-64: no AVX2 build; callers use BLAS */

static void lstm_energy_gemm_abt_rows_avx2(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                                           const float *A, Py_ssize_t lda,
                                           const float *W, Py_ssize_t ldw,
                                           int accumulate, float *C, Py_ssize_t ldc)
{
    (void)M; (void)N; (void)K; (void)A; (void)lda; (void)W; (void)ldw; (void)accumulate;
    (void)C; (void)ldc;
}

static void lstm_energy_gemm_ab_rows_avx2(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                                          const float *A, Py_ssize_t lda,
                                          const float *Bm, Py_ssize_t ldb,
                                          int accumulate, float *C, Py_ssize_t ldc)
{
    (void)M; (void)N; (void)K; (void)A; (void)lda; (void)Bm; (void)ldb; (void)accumulate;
    (void)C; (void)ldc;
}

static inline int lstm_energy_recurrent_gemm_available(void) { return 0; }

#endif
#endif
