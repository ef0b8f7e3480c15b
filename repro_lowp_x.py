"""lowp_forward accepts x with any outer strides (const float[:, :, ::1]) but reads it as a dense
(T*B, D) block from &x[t_lo, 0, 0] (lda = D): a reversed view reads past the buffer."""
import numpy as np
from lstm_energy.kernels import lowp

T, B, D, H = 3, 4, 16, 16
rng = np.random.default_rng(0)
base = rng.standard_normal((T, B, D)).astype(np.float32)
x = base[::-1]                            # valid memoryview for const float[:, :, ::1]
w_ih = rng.standard_normal((H, D)).astype(np.float32)
w_hh = rng.standard_normal((H, H)).astype(np.float32)
bias = np.zeros(H, np.float32)
h0 = np.zeros((B, H), np.float32)
y = np.empty((T, B, H), np.float32)
h_n = np.empty((B, H), np.float32)
ws = {k: np.empty(s, np.float32) for k, s in lowp.workspace_shapes("rnn", T, B, D, H).items()}
prec = "bf16"
lowp.lowp_forward("rnn", x, lowp.pack_weight(w_ih, prec), lowp.pack_weight(w_hh, prec), bias, h0, None,
                  y, h_n, None, False, False, ws)
from lstm_energy.reference.lowp import forward
yr = np.empty_like(y); hr = np.empty_like(h_n)
forward("rnn", prec, np.ascontiguousarray(x), w_ih, w_hh, bias, bias * 0, h0, None, yr, hr, None, False, False)
print("max |y - reference|:", np.abs(y - yr).max())
