# cython: language_level=3
"""The LSTM's per-step elementwise work on one batch row, float32, as vectorised C loops.

The C code lives in ``_cell_rows.h`` (next to this file); float64 keeps the Cython loops in
``lstm.pyx``.
"""

cdef extern from "_cell_rows.h" nogil:
    void lstm_state_f32 "lstm_energy_lstm_state_f32" (
        const float* gates, const float* c_prev, float* c_out, float* h, Py_ssize_t n)
    # c_out = f * c_prev + i * g; h = o * tanh(c_out); gates (4n) activated i|f|g|o
    void lstm_grad_f32 "lstm_energy_lstm_grad_f32" (
        const float* gates, const float* c, const float* c_prev, const float* dy, const float* dh,
        float* dc, float* dgates, Py_ssize_t n)
    # one row of lstm.pyx's lstm_cell_backward (see _cell_rows.h for the formulas)
