"""lowp_forward reads B rows of h0 without checking h0.shape[0] == B (heap overflow under ASan)."""
import numpy as np
from lstm_energy.kernels import lowp

T, B, D, H = 2, 8, 16, 32
rng = np.random.default_rng(0)
x = rng.standard_normal((T, B, D)).astype(np.float32)
w_ih = rng.standard_normal((H, D)).astype(np.float32)
w_hh = rng.standard_normal((H, H)).astype(np.float32)
bias = np.zeros(H, np.float32)
h0 = np.ones((1, H), np.float32)          # wrong: 1 row for B = 8 rows; not rejected
y = np.empty((T, B, H), np.float32)
h_n = np.empty((B, H), np.float32)
ws = {k: np.empty(s, np.float32) for k, s in lowp.workspace_shapes("rnn", T, B, D, H).items()}
prec = "int8"
lowp.lowp_forward("rnn", x, lowp.pack_weight(w_ih, prec), lowp.pack_weight(w_hh, prec), bias, h0, None,
                  y, h_n, None, False, False, ws)
print("no error raised; y[0] rows 1.. computed from memory past h0:", y[0, 1:3, :4])
