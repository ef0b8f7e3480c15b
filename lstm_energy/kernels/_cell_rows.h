/* The cells' per-step elementwise work on one batch row, float32, as single loops that GCC
 * vectorises (AVX-512, AVX2+FMA or the SSE2 baseline: one source, chosen at run time like
 * _vector_math.h).
 *
 * Why: written as Cython loops over pointers that may alias, these stay scalar (GCC cannot prove
 * the streams independent). Every access here is at the loop's own index j, so `GCC ivdep` (no
 * loop-carried dependence) holds even where an output is also an input (c_out = c_prev, ghn_out
 * inside gh). sigmoid and tanh are _vector_math.h's lstm_energy_sigmoidf/tanhf, the same functions
 * as its row activations; only FMA contraction of the products can move a result by an ulp.
 * float64 keeps the Cython loops.
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

/* GRU forward, one row. a: (3n) IN x W_ih^T (no bias), OUT activated r|z|n; gh: (3n) IN h W_hh^T
 * (no bias); bias: (4n) [b_ir+b_hr | b_iz+b_hz | b_in | b_hn]; ghn_out: (n) OUT W_hn h + b_hn (may be
 * gh's n block); h_prev: (n); h: (n) OUT. NumPy:
 *   r, z = sigmoid(a[:2n] + gh[:2n] + bias[:2n]);  ghn = gh[2n:] + bias[3n:]
 *   n_ = tanh(a[2n:] + bias[2n:3n] + r * ghn);  h = (1 - z) * n_ + z * h_prev */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_gru_forward_row,
    (float *a, const float *gh, const float *bias, float *ghn_out, const float *h_prev, float *h,
     Py_ssize_t n),
    {
        /* two loops, one activation each: one loop with all three runs out of vector registers
         * (spills) */
        LSTM_ENERGY_IVDEP
        for (Py_ssize_t j = 0; j < 2 * n; ++j)
            a[j] = lstm_energy_sigmoidf(a[j] + gh[j] + bias[j]);
        LSTM_ENERGY_IVDEP
        for (Py_ssize_t j = 0; j < n; ++j) {
            float z = a[n + j];
            float ghn = gh[2 * n + j] + bias[3 * n + j];
            float cand = lstm_energy_tanhf(a[2 * n + j] + bias[2 * n + j] + a[j] * ghn);
            a[2 * n + j] = cand;
            ghn_out[j] = ghn;
            h[j] = (1.0f - z) * cand + z * h_prev[j];
        }
    })

/* GRU backward, one row. a: (3n) activated r|z|n; ghn: (n) W_hn h + b_hn; h_prev, dy: (n);
 * dh: (n) IN gradient w.r.t. h_t from the next step, OUT dh_t * z; dgh: (3n) OUT
 * [da_r | da_z | da_n * r]; dgin: (n) OUT da_n. NumPy, dh_t = dy + dh:
 *   da_z = dh_t (h_prev - n) z(1-z);  da_n = dh_t (1 - z)(1 - n^2);  da_r = da_n ghn r(1-r) */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_gru_grad_row,
    (const float *a, const float *ghn, const float *h_prev, const float *dy, float *dh, float *dgh,
     float *dgin, Py_ssize_t n),
    {
        LSTM_ENERGY_IVDEP
        for (Py_ssize_t j = 0; j < n; ++j) {
            float r = a[j];
            float z = a[n + j];
            float cand = a[2 * n + j];
            float dh_t = dy[j] + dh[j];
            float da_z = dh_t * (h_prev[j] - cand) * (z * (1.0f - z));
            float da_n = dh_t * (1.0f - z) * (1.0f - cand * cand);
            dgh[j] = da_n * ghn[j] * (r * (1.0f - r));
            dgh[n + j] = da_z;
            dgh[2 * n + j] = da_n * r;
            dgin[j] = da_n;
            dh[j] = dh_t * z;
        }
    })

/* tanh RNN backward, one row. h: (n) this step's output; dy, dh: (n) gradients w.r.t. h_t;
 * da: (n) OUT. NumPy: da = (dy + dh) * (1 - h^2) */
LSTM_ENERGY_ROW_FUNCTION(lstm_energy_rnn_tanh_grad_row,
    (const float *h, const float *dy, const float *dh, float *da, Py_ssize_t n),
    {
        LSTM_ENERGY_IVDEP
        for (Py_ssize_t j = 0; j < n; ++j)
            da[j] = (dy[j] + dh[j]) * (1.0f - h[j] * h[j]);
    })

static inline void lstm_energy_lstm_state_f32(const float *a, const float *c_prev, float *c_out,
                                              float *h, Py_ssize_t n)
{ LSTM_ENERGY_DISPATCH(lstm_energy_lstm_state_row, (a, c_prev, c_out, h, n)); }

static inline void lstm_energy_lstm_grad_f32(const float *a, const float *c, const float *c_prev,
                                             const float *dy, const float *dh, float *dc, float *da,
                                             Py_ssize_t n)
{ LSTM_ENERGY_DISPATCH(lstm_energy_lstm_grad_row, (a, c, c_prev, dy, dh, dc, da, n)); }

static inline void lstm_energy_gru_forward_f32(float *a, const float *gh, const float *bias,
                                               float *ghn_out, const float *h_prev, float *h,
                                               Py_ssize_t n)
{ LSTM_ENERGY_DISPATCH(lstm_energy_gru_forward_row, (a, gh, bias, ghn_out, h_prev, h, n)); }

static inline void lstm_energy_gru_grad_f32(const float *a, const float *ghn, const float *h_prev,
                                            const float *dy, float *dh, float *dgh, float *dgin,
                                            Py_ssize_t n)
{ LSTM_ENERGY_DISPATCH(lstm_energy_gru_grad_row, (a, ghn, h_prev, dy, dh, dgh, dgin, n)); }

static inline void lstm_energy_rnn_tanh_grad_f32(const float *h, const float *dy, const float *dh,
                                                 float *da, Py_ssize_t n)
{ LSTM_ENERGY_DISPATCH(lstm_energy_rnn_tanh_grad_row, (h, dy, dh, da, n)); }

#endif
