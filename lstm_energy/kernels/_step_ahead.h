/* The B = 1 recurrent step with a share of a later block's input projection folded into it.
 *
 * At B = 1 a step's product h_prev @ W_hh.T is a GEMV: it streams the packed W_hh (256 KiB for
 * an LSTM of H = 128) from L2 with one FMA per 64-byte line, at the L2 -> L1 rate, and leaves about
 * half the FMA issue slots idle. The input projection x @ W_ih.T of later steps is the opposite: an
 * 8-row block does 8 FMAs per line of W_ih it reads. So the steps project ahead: each block of
 * LE_AHEAD_ROWS steps projects the rows of the block after it, each step an eighth of W_ih's
 * panels (the first block, what T leaves over, is projected before the loop, and its steps share
 * the second block's panels among them), and inside the step one k-row of that share follows each
 * 8 k of the GEMV, so the out-of-order core overlaps the projection's FMAs with the GEMV's loads.
 * What is left of the share when the GEMV's k runs out (D > H, or a first block shorter than
 * LE_AHEAD_ROWS) runs after it. A spread of several k-rows per group by a counter (Bresenham) or a
 * loop cost most of the gain: GCC then spills the loop state (docs/kernels-performance.md, "The B = 1
 * step with a later block's input projection folded in").
 *
 * Both products keep the sums and the order of the unfused calls: the GEMV as
 * lstm_energy_row_avx512 per k chunk of LE_KC (eight partial sums over k, then a fixed tree), the
 * projection as lstm_energy_block_avx512 through the driver (one running sum per output and k chunk,
 * chunks added through C). The results are the same bits as projecting every step before the loop,
 * except for a T that leaves the whole-sequence projection a single row at the end of its last
 * 96-row chunk (T = 97, 193, ...), which the one-row kernel sums in another order (O(K eps)).
 *
 * AVX-512 only (32 zmm registers hold both products' accumulators); one thread only (with more, the
 * projection before the loop is split over the pool instead). lstm_energy_steps_project_ahead says
 * when it applies.
 */
#ifndef LSTM_ENERGY_STEP_AHEAD_H
#define LSTM_ENERGY_STEP_AHEAD_H

#include "_packed_gemm.h"

#define LE_AHEAD_ROWS 8   /* steps per projected block: the AVX-512 block kernel's height */
#define LE_AHEAD_FETCH 512   /* floats of W_ih's panels fetched ahead (2 KiB, as the GEMV's) */

#if defined(__GNUC__) && defined(__x86_64__)

/* 1 when a B-row forward's steps should project ahead (AVX-512 path, B = 1, one OpenMP thread) */
static inline int lstm_energy_steps_project_ahead(Py_ssize_t B)
{
    return B == 1 && lstm_energy_isa() == LE_ISA_AVX512 && lstm_energy_gemm_threads() == 1;
}

/* c[0:N] (+)= h[0:K] @ Bmat, Bmat given as its panels (the B = 1 step, as lstm_energy_gemm_packed
 * with M = 1), and, interleaved with it,
 * P[0:8, 16q:16q+w] = X[0:8, 0:Kx] @ Xmat[:, 16q:16q+w] for the panels q in [q0, q1) of Xmat
 * (w = min(16, Nx - 16q); as lstm_energy_gemm with Xmat prepacked, accumulate = 0).
 * h: (K,); panels: lstm_energy_pack_panels(K, N, ...); c: (N,); X: (8, Kx) row stride ldx;
 * x_panels: lstm_energy_pack_panels(Kx, Nx, ...); P: (8, Nx) row stride ldp. c must not overlap
 * P's rows. */
__attribute__((target(LE512_TARGET)))
static void lstm_energy_row_step_with_block(Py_ssize_t N, Py_ssize_t K, const float *h,
                                            const float *panels, int accumulate, float *c,
                                            Py_ssize_t Nx, Py_ssize_t Kx, const float *X,
                                            Py_ssize_t ldx, const float *x_panels, Py_ssize_t q0,
                                            Py_ssize_t q1, float *P, Py_ssize_t ldp)
{
    const __m512 z = _mm512_setzero_ps();
    __m512 p0 = z, p1 = z, p2 = z, p3 = z, p4 = z, p5 = z, p6 = z, p7 = z;
    Py_ssize_t n_panels = (N + LE_NR - 1) / LE_NR;

    /* the projection's position: panel q, row kk of its k chunk [kbeg, kend); k-rows left */
    Py_ssize_t q = q0, kk = 0, kbeg = 0, kend = Kx < LE_KC ? Kx : LE_KC;
    Py_ssize_t todo = (q1 - q0) * Kx;
    const float *xp = x_panels + q0 * Kx * LE_NR;          /* panel q */

/* one k-row of the projection: P[0:8, panel q] += X[0:8, kk] * Xmat[kk, panel q]; at the end of a k
 * chunk the 8 sums go to P (added to the earlier chunks' as the driver does) */
#define LE_AHEAD_KROW()                                                                          \
    do {                                                                                         \
        _mm_prefetch((const char *)(xp + kk * LE_NR + LE_AHEAD_FETCH), _MM_HINT_T0);             \
        __m512 b_ = _mm512_loadu_ps(xp + kk * LE_NR);                                            \
        const float *xk_ = X + kk;                                                               \
        p0 = _mm512_fmadd_ps(_mm512_set1_ps(xk_[0]), b_, p0);                                    \
        p1 = _mm512_fmadd_ps(_mm512_set1_ps(xk_[ldx]), b_, p1);                                  \
        p2 = _mm512_fmadd_ps(_mm512_set1_ps(xk_[2 * ldx]), b_, p2);                              \
        p3 = _mm512_fmadd_ps(_mm512_set1_ps(xk_[3 * ldx]), b_, p3);                              \
        p4 = _mm512_fmadd_ps(_mm512_set1_ps(xk_[4 * ldx]), b_, p4);                              \
        p5 = _mm512_fmadd_ps(_mm512_set1_ps(xk_[5 * ldx]), b_, p5);                              \
        p6 = _mm512_fmadd_ps(_mm512_set1_ps(xk_[6 * ldx]), b_, p6);                              \
        p7 = _mm512_fmadd_ps(_mm512_set1_ps(xk_[7 * ldx]), b_, p7);                              \
        if (++kk == kend) {                                                                      \
            Py_ssize_t w_ = Nx - q * LE_NR < LE_NR ? Nx - q * LE_NR : LE_NR;                     \
            int acc_ = kbeg > 0;                                                                 \
            float *o_ = P + q * LE_NR;                                                           \
            lstm_energy_store_row_avx512(p0, acc_, o_, w_);                                      \
            lstm_energy_store_row_avx512(p1, acc_, o_ + ldp, w_);                                \
            lstm_energy_store_row_avx512(p2, acc_, o_ + 2 * ldp, w_);                            \
            lstm_energy_store_row_avx512(p3, acc_, o_ + 3 * ldp, w_);                            \
            lstm_energy_store_row_avx512(p4, acc_, o_ + 4 * ldp, w_);                            \
            lstm_energy_store_row_avx512(p5, acc_, o_ + 5 * ldp, w_);                            \
            lstm_energy_store_row_avx512(p6, acc_, o_ + 6 * ldp, w_);                            \
            lstm_energy_store_row_avx512(p7, acc_, o_ + 7 * ldp, w_);                            \
            p0 = z; p1 = z; p2 = z; p3 = z; p4 = z; p5 = z; p6 = z; p7 = z;                      \
            if (kk == Kx) {                                                                      \
                kk = 0;                                                                          \
                ++q;                                                                             \
                xp += Kx * LE_NR;                                                                \
            }                                                                                    \
            kbeg = kk;                                                                           \
            kend = Kx - kk < LE_KC ? Kx : kk + LE_KC;                                            \
        }                                                                                        \
        --todo;                                                                                  \
    } while (0)

    for (Py_ssize_t p = 0; p < n_panels; ++p) {
        Py_ssize_t width = N - p * LE_NR < LE_NR ? N - p * LE_NR : LE_NR;
        for (Py_ssize_t k0 = 0; k0 < K; k0 += LE_KC) {
            Py_ssize_t kn = K - k0 < LE_KC ? K - k0 : LE_KC;
            const float *pan = panels + p * K * LE_NR + k0 * LE_NR;
            const float *a = h + k0;
            __m512 s0 = z, s1 = z, s2 = z, s3 = z, s4 = z, s5 = z, s6 = z, s7 = z;
            Py_ssize_t k = 0;
            for (; k + 8 <= kn; k += 8) {
                LE512_ROW_GROUP(a + k, pan + k * LE_NR);   /* as lstm_energy_row_avx512 */
                if (todo > 0)      /* one k-row of the projection per 8 k of the GEMV */
                    LE_AHEAD_KROW();
            }
            LE512_ROW_FINISH(a, pan, k, kn);
            lstm_energy_store_row_avx512(s0, accumulate || k0 > 0, c + p * LE_NR, width);
        }
    }
    while (todo > 0)          /* k-rows beyond one per 8 k of the GEMV (Kx > K, or K < 8) */
        LE_AHEAD_KROW();
#undef LE_AHEAD_KROW
}

#else   /* no AVX-512 build: the steps never project ahead */

static inline int lstm_energy_steps_project_ahead(Py_ssize_t B) { (void)B; return 0; }

static inline void lstm_energy_row_step_with_block(Py_ssize_t N, Py_ssize_t K, const float *h,
                                                   const float *panels, int accumulate, float *c,
                                                   Py_ssize_t Nx, Py_ssize_t Kx, const float *X,
                                                   Py_ssize_t ldx, const float *x_panels,
                                                   Py_ssize_t q0, Py_ssize_t q1, float *P,
                                                   Py_ssize_t ldp)
{
    (void)N; (void)K; (void)h; (void)panels; (void)accumulate; (void)c; (void)Nx; (void)Kx;
    (void)X; (void)ldx; (void)x_panels; (void)q0; (void)q1; (void)P; (void)ldp;
}

#endif
#endif
