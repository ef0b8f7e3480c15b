/* The driver half of the packed GEMM (_packed_gemm.h), one source for every vector width: this
 * file is included once per instruction-set path, with
 *   LE_T(name)        the path's name for a function (name##_avx2, name##_avx512),
 *   LE_T_TARGET       its target attribute,
 *   LE_T_MR           rows of A per micro-kernel call (the register block's height),
 *   LE_T_ALT_ROWS     the other common block height (a fixed-size copy when packing A),
 *   LE_T_BLOCK_CASES  `case R: LE_BLOCK(R); break;` for R = LE_T_MR down to 2,
 *   LE_T_PAIRS        1 when the path has a two-panel block, LE_T(lstm_energy_block_pair) (R x 32), run
 *                     on the cores it pays on (lstm_energy_panel_pairs),
 * and the path's micro-kernels LE_T(lstm_energy_block) (R x 16), LE_T(lstm_energy_row) (1 x 16) and
 * LE_T(lstm_energy_block_rows) defined before. Everything here (the row blocking, the k chunks, the
 * panel walk, the threads, the packing of A) is the same logic on every path: a test on one path
 * exercises the code another path runs. No include guard, on purpose.
 */

/* rows [0, M) of A, in row blocks, against one panel (K x 16, zero-padded past `width`):
 * C[0:M, 0:width] (+)= A @ panel. A is row-major with row stride lda (packed = 0) or packed by
 * lstm_energy_pack_a (packed = 1: each block of R rows is K x R, row index fastest). next: K x 16
 * floats the first row block prefetches into L1 (the panel chunk that comes next), or NULL. */
__attribute__((target(LE_T_TARGET)))
static void LE_T(lstm_energy_strip)(Py_ssize_t M, Py_ssize_t K, const float *A, Py_ssize_t lda, int packed,
                              const float *panel, const float *next, int accumulate, float *C,
                              Py_ssize_t ldc, Py_ssize_t width)
{
    for (Py_ssize_t m = 0; m < M;) {
        Py_ssize_t rows = LE_T(lstm_energy_block_rows)(M - m);
        float *cm = C + m * ldc;
        const float *pf = m == 0 ? next : NULL;  /* the first block fetches the next panel chunk */
        /* the A strides as compile-time constants in each case: packed (1, R) or row-major (lda, 1) */
#define LE_BLOCK(R) (packed ? LE_T(lstm_energy_block)(R, K, A + m * K, 1, R, panel, pf, accumulate, cm, \
                                                  ldc, width) \
                            : LE_T(lstm_energy_block)(R, K, A + m * lda, lda, 1, panel, pf, accumulate, cm, \
                                                  ldc, width))
        switch (rows) {
        LE_T_BLOCK_CASES       /* case R: LE_BLOCK(R); break; for R = LE_T_MR .. 2 */
        default: LE_T(lstm_energy_row)(K, packed ? A + m * K : A + m * lda, panel, accumulate, cm, width);
                 break;
        }
#undef LE_BLOCK
        m += rows;
    }
}

/* rows [0, M) of A against two adjacent panels, `panel` (16 columns) and panel + pstride (width1):
 * the bits of two lstm_energy_strip calls, on the two-panel block where the path has one. next: as
 * for lstm_energy_strip, the pair's next chunks (next and next + pstride), or NULL. */
__attribute__((target(LE_T_TARGET)))
static void LE_T(lstm_energy_strip_pair)(Py_ssize_t M, Py_ssize_t K, const float *A, Py_ssize_t lda, int packed,
                                   const float *panel, Py_ssize_t pstride, const float *next, int accumulate,
                                   float *C, Py_ssize_t ldc, Py_ssize_t width1)
{
#if LE_T_PAIRS
    for (Py_ssize_t m = 0; m < M;) {
        Py_ssize_t rows = LE_T(lstm_energy_block_rows)(M - m);
        float *cm = C + m * ldc;
        const float *pf = m == 0 ? next : NULL;
#define LE_BLOCK(R) (packed ? LE_T(lstm_energy_block_pair)(R, K, A + m * K, 1, R, panel, pstride, pf, \
                                                       accumulate, cm, ldc, width1) \
                            : LE_T(lstm_energy_block_pair)(R, K, A + m * lda, lda, 1, panel, pstride, pf, \
                                                       accumulate, cm, ldc, width1))
        switch (rows) {
        LE_T_BLOCK_CASES
        default: {
            const float *a = packed ? A + m * K : A + m * lda;
            LE_T(lstm_energy_row)(K, a, panel, accumulate, cm, LE_NR);
            LE_T(lstm_energy_row)(K, a, panel + pstride, accumulate, cm + LE_NR, width1);
            break;
        }
        }
#undef LE_BLOCK
        m += rows;
    }
#else   /* not reached (callers pair panels only where LE_T_PAIRS), but the same result if it were */
    LE_T(lstm_energy_strip)(M, K, A, lda, packed, panel, next, accumulate, C, ldc, LE_NR);
    LE_T(lstm_energy_strip)(M, K, A, lda, packed, panel + pstride, next ? next + pstride : NULL, accumulate,
                            C + LE_NR, ldc, width1);
#endif
}

/* the per-step product against packed panels [p0, p1), all of k in chunks of LE_KC; adjacent panels
 * in pairs where the path has a two-panel block (the same bits as one at a time) */
static void LE_T(lstm_energy_packed_panels_range)(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                                            const float *A, Py_ssize_t lda, const float *panels,
                                            int accumulate, float *C, Py_ssize_t ldc,
                                            Py_ssize_t p0, Py_ssize_t p1)
{
    int stream = lstm_energy_panels_stream(K, N);
    int pairs = LE_T_PAIRS && M > 1 && lstm_energy_panel_pairs();
    for (Py_ssize_t p = p0; p < p1;) {
        Py_ssize_t n0 = p * LE_NR;
        Py_ssize_t width = N - n0 < LE_NR ? N - n0 : LE_NR;
        int pair = pairs && p + 1 < p1;   /* then panel p has all 16 columns */
        Py_ssize_t span = pair ? 2 : 1;
        /* the k chunks of one panel (pair) back to back: its strip of C stays in L1 */
        for (Py_ssize_t k0 = 0; k0 < K; k0 += LE_KC) {
            Py_ssize_t kn = K - k0 < LE_KC ? K - k0 : LE_KC;
            const float *chunk = panels + p * K * LE_NR + k0 * LE_NR;
            /* the chunk(s) that come next (this panel's next k chunk, or the first of the panel
             * after this one or this pair), fetched while this one runs when the panels stream from L3 */
            int last = p + span == p1 && k0 + kn == K;
            const float *after = k0 + kn < K ? chunk + kn * LE_NR : chunk + (span * K - k0) * LE_NR;
            const float *next = stream && !last ? after : NULL;
            if (pair)
                LE_T(lstm_energy_strip_pair)(M, kn, A + k0, lda, 0, chunk, K * LE_NR, next, accumulate || k0 > 0,
                                             C + n0, ldc, N - n0 - LE_NR < LE_NR ? N - n0 - LE_NR : LE_NR);
            else
                LE_T(lstm_energy_strip)(M, kn, A + k0, lda, 0, chunk, next, accumulate || k0 > 0, C + n0, ldc,
                                        width);
        }
        p += span;
    }
}

/* C[m, n] = (accumulate ? C[m, n] : 0) + sum_k A[m, k] Bmat[k, n], Bmat given as its panels: the
 * per-step recurrent product. A: (M, K) row stride lda; panels: lstm_energy_pack_panels(K, N, ...);
 * C: (M, N) row stride ldc. */
static void LE_T(lstm_energy_gemm_packed)(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A,
                                    Py_ssize_t lda, const float *panels, int accumulate, float *C,
                                    Py_ssize_t ldc)
{
    Py_ssize_t P = (N + LE_NR - 1) / LE_NR;
    int threads = lstm_energy_threads_for(M, N, K, P);
    if (threads <= 1) {
        LE_T(lstm_energy_packed_panels_range)(M, N, K, A, lda, panels, accumulate, C, ldc, 0, P);
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
            LE_T(lstm_energy_packed_panels_range)(M, N, K, A, lda, panels, accumulate, C, ldc, p0, p1);
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
        LE_T(lstm_energy_packed_panels_range)(M, N, K, A, lda, panels, accumulate, C, ldc, p0, p1);
    }
#endif
}

/* apack <- A[0:M, 0:K] (A[m, k] = A[m * a_rs + k * a_ks]) in the row blocks lstm_energy_strip walks:
 * the block of R rows starting at row m is K x R at apack + m * K, row index fastest.
 * NumPy: apack[m*K : (m+R)*K] = A[m:m+R, :].T.ravel() for each block. */
static void LE_T(lstm_energy_pack_a)(Py_ssize_t M, Py_ssize_t K, const float *A, Py_ssize_t a_rs,
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
                Py_ssize_t rows = LE_T(lstm_energy_block_rows)(M - m);
                float *dst = apack + m * K + k * rows;
                if (rows == LE_T_MR)
                    memcpy(dst, src + m, LE_T_MR * sizeof(float));
                else if (rows == LE_T_ALT_ROWS)
                    memcpy(dst, src + m, LE_T_ALT_ROWS * sizeof(float));
                else
                    memcpy(dst, src + m, (size_t)rows * sizeof(float));
                m += rows;
            }
        }
        return;
    }
    for (Py_ssize_t m = 0; m < M;) {                 /* row-major A: read each row once */
        Py_ssize_t rows = LE_T(lstm_energy_block_rows)(M - m);
        float *dst = apack + m * K;
        Py_ssize_t k0 = 0;                            /* k below k0: packed 8 x 8 in registers */
        if (a_ks == 1 && (rows == 8 || rows == 6 || rows == 4)) {
            k0 = K / 8 * 8;
            lstm_energy_pack_rows((int)rows, k0, A + m * a_rs, a_rs, dst);
        }
        for (Py_ssize_t r = 0; r < rows; ++r) {
            const float *src = A + (m + r) * a_rs;
            for (Py_ssize_t k = k0; k < K; ++k)
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
 * row-major A with rows of at most LE_INPLACE_MAX_LDA floats is read in place. With Bmat already
 * packed and A read in place (the input projection), the row chunks are the outer loop instead. */
static void LE_T(lstm_energy_gemm)(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *A,
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
    if (b_scratch == NULL && a_ks == 1 && a_rs <= LE_INPLACE_MAX_LDA) {
        /* Bmat packed for all of K and a row-major A read in place (the input projection): each
         * row chunk runs as a per-step product does, a panel's k chunks back to back, so each C
         * strip is stored once instead of once per k chunk, and read back from L1 rather than
         * from L3 or memory between its k chunks (docs/kernels-performance.md, "Taken: the input
         * projection run as the steps run") */
#ifdef _OPENMP
        #pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
#endif
        for (Py_ssize_t c = 0; c < chunks; ++c) {
            Py_ssize_t m0 = c * LE_MC;
            Py_ssize_t mn = M - m0 < LE_MC ? M - m0 : LE_MC;
            LE_T(lstm_energy_packed_panels_range)(mn, N, K, A + m0 * a_rs, a_rs, B, accumulate,
                                                  C + m0 * ldc, ldc, 0, P);
        }
        return;
    }
    /* read once, before any thread starts: pairs on this core (row chunks of one row never pair) */
    int pairs_here = LE_T_PAIRS && lstm_energy_panel_pairs();
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
                int pairs = pairs_here && mn > 1;
                if (packed)
                    LE_T(lstm_energy_pack_a)(mn, kn, ablock, a_rs, a_ks, apack);
                for (Py_ssize_t p = 0; p < P;) {
                    Py_ssize_t n0 = p * LE_NR;
                    Py_ssize_t width = N - n0 < LE_NR ? N - n0 : LE_NR;
                    int pair = pairs && p + 1 < P;   /* as in packed_panels_range */
                    Py_ssize_t span = pair ? 2 : 1;
                    const float *panel = bpanels + p * b_ps;
                    const float *next = stream && p + span < P ? panel + span * b_ps : NULL;
                    if (pair)
                        LE_T(lstm_energy_strip_pair)(mn, kn, packed ? apack : ablock, a_rs, packed, panel, b_ps,
                                                     next, acc, C + m0 * ldc + n0, ldc,
                                                     N - n0 - LE_NR < LE_NR ? N - n0 - LE_NR : LE_NR);
                    else
                        LE_T(lstm_energy_strip)(mn, kn, packed ? apack : ablock, a_rs, packed, panel, next,
                                                acc, C + m0 * ldc + n0, ldc, width);
                    p += span;
                }
            }
        }
    }
}
