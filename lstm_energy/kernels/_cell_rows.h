/* The LSTM's per-step elementwise work on one batch row, float32, as single loops that GCC
 * vectorises (AVX2+FMA or the SSE2 baseline, chosen at run time like _vector_math.h).
 *
 * Why: written as Cython loops over pointers that may alias, these stayed scalar (GCC could not
 * prove the seven streams independent); the backward's loop alone was ~7% of an LSTM training step
 * at the seed shape. Every access here is at the loop's own index j, so `GCC ivdep` (no loop-carried
 * dependence) is true even when c_out is c_prev. tanh is _vector_math.h's lstm_energy_tanhf (the
 * same values as the separate tanh passes these loops replace; only FMA contraction of the products
 * can move a result by an ulp).
 */
#ifndef LSTM_ENERGY_CELL_ROWS_H
#define LSTM_ENERGY_CELL_ROWS_H

#include "_vector_math.h"

#define LSTM_ENERGY_IVDEP _Pragma("GCC ivdep")

/* gates a: (4n) activated i|f|g|o; c_prev: (n); c_out: (n), may be c_prev; h: (n).
 * NumPy: c_out = f * c_prev + i * g;  h = o * tanh(c_out) */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_lstm_state_row,
    (const float *a, const float *c_prev, float *c_out, float *h, Py_ssize_t n),
    {
        LSTM_ENERGY_IVDEP
        for (Py_ssize_t j = 0; j < n; ++j) {
            float c = a[n + j] * c_prev[j] + a[j] * a[2 * n + j];
            c_out[j] = c;
            h[j] = a[3 * n + j] * lstm_energy_tanhf(c);
        }
    })

/* gates a: (4n) activated i|f|g|o; c, c_prev: (n) c_t, c_{t-1}; dy, dh: (n) gradients w.r.t. h_t
 * from the output and from the next step; dc: (n) IN w.r.t. c_t, OUT w.r.t. c_{t-1};
 * da: (4n) OUT pre-activation gradients. NumPy, with tc = tanh(c), dh_t = dy + dh:
 *   dc_t = dc + dh_t * o * (1 - tc^2)
 *   da = [dc_t * g * i(1-i) | dc_t * c_prev * f(1-f) | dc_t * i * (1-g^2) | dh_t * tc * o(1-o)]
 *   dc = dc_t * f */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_lstm_grad_row,
    (const float *a, const float *c, const float *c_prev, const float *dy, const float *dh,
     float *dc, float *da, Py_ssize_t n),
    {
        LSTM_ENERGY_IVDEP
        for (Py_ssize_t j = 0; j < n; ++j) {
            float gi = a[j];                     /* one declaration each: commas would split */
            float gf = a[n + j];                 /* the macro's arguments */
            float gg = a[2 * n + j];
            float go = a[3 * n + j];
            float tc = lstm_energy_tanhf(c[j]);
            float dh_t = dy[j] + dh[j];
            float dc_t = dc[j] + dh_t * go * (1.0f - tc * tc);
            da[j] = dc_t * gg * (gi * (1.0f - gi));
            da[n + j] = dc_t * c_prev[j] * (gf * (1.0f - gf));
            da[2 * n + j] = dc_t * gi * (1.0f - gg * gg);
            da[3 * n + j] = dh_t * tc * (go * (1.0f - go));
            dc[j] = dc_t * gf;
        }
    })

static inline void lstm_energy_lstm_state_f32(const float *a, const float *c_prev, float *c_out,
                                              float *h, Py_ssize_t n)
{ LSTM_ENERGY_DISPATCH(lstm_energy_lstm_state_row, (a, c_prev, c_out, h, n)); }

static inline void lstm_energy_lstm_grad_f32(const float *a, const float *c, const float *c_prev,
                                             const float *dy, const float *dh, float *dc, float *da,
                                             Py_ssize_t n)
{ LSTM_ENERGY_DISPATCH(lstm_energy_lstm_grad_row, (a, c, c_prev, dy, dh, dc, da, n)); }

#endif
