# cython: language_level=3
"""The cells' per-step elementwise work on one batch row, float32, as vectorised C loops.

The C code and the formulas live in ``_cell_rows.h`` (next to this file); float64 keeps the Cython
loops in ``lstm.pyx``, ``gru.pyx`` and ``rnn.pyx``.
"""

cdef extern from "_cell_rows.h" nogil:
    void lstm_state_f32 "lstm_energy_lstm_state_f32" (
        const float* gates, const float* c_prev, float* c_out, float* h, Py_ssize_t n)
    # c_out = f * c_prev + i * g; h = o * tanh(c_out); gates (4n) activated i|f|g|o
    void lstm_grad_f32 "lstm_energy_lstm_grad_f32" (
        const float* gates, const float* c, const float* c_prev, const float* dy, const float* dh,
        float* dc, float* dgates, Py_ssize_t n)
    # one row of lstm.pyx's lstm_cell_backward (see _cell_rows.h for the formulas)
    void gru_forward_f32 "lstm_energy_gru_forward_f32" (
        float* gates, const float* gh, const float* bias, float* ghn_out, const float* h_prev,
        float* h, Py_ssize_t n)
    # one row of gru.pyx's gru_cell_forward
    void gru_grad_f32 "lstm_energy_gru_grad_f32" (
        const float* gates, const float* ghn, const float* h_prev, const float* dy, float* dh,
        float* dgh, float* dgin, Py_ssize_t n)
    # one row of gru.pyx's gru_cell_backward
    void rnn_tanh_grad_f32 "lstm_energy_rnn_tanh_grad_f32" (
        const float* h, const float* dy, const float* dh, float* da, Py_ssize_t n)
    # da = (dy + dh) * (1 - h^2): one row of rnn.pyx's rnn_cell_backward (tanh)
