"""LSTM, GRU and RNN layers with ``torch.nn.LSTM/GRU/RNN`` semantics, on the Cython or NumPy engine.

    m = LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
             bidirectional=False, proj_size=0, device=None, dtype=np.float32, *, seed=None, impl="cython")
    y, (h_n, c_n) = m.forward(x, (h0, c0))      # x: (T, B, D); y: (T, B, dirs*H); h_n: (L*dirs, B, H)
    dx, (dh0, dc0) = m.backward(dy, (dh_n, dc_n))
    m.grads                                      # {name: array} named like m.state_dict()

Arguments come in torch's order (RNN: nonlinearity fourth), so a positional call means what it means to
torch; ``dropout``, ``proj_size`` and ``device`` take only their no-op values (0.0, 0, None/"cpu"), anything
else is a ConfigError saying so. Parameters use PyTorch's names, shapes, gate order (LSTM i|f|g|o, GRU r|z|n) and default
initialisation U(−1/√H, 1/√H), so weights move either way with ``state_dict``/``load_state_dict``.
``impl`` picks the engine: "cython" (``lstm_energy.kernels``) or "numpy" (``lstm_energy.reference``);
an unavailable engine raises ``EngineUnavailableError``, there is no silent fallback.

Memory: buffers for a (T, B, training) shape are allocated on the first call and reused; the arrays
returned by ``forward``/``backward`` are always fresh, never views of those buffers.

Threads: a layer object holds one set of those buffers, one forward→backward context and one set of
``grads``. Calls from several threads on one layer are correct but run one at a time (each public
method holds the layer's lock); for parallel work give each thread its own layer (``copy.deepcopy(m)``).
``backward`` and ``grads`` refer to the last forward / backward on this layer object, whichever thread
made it; a thread whose own forward (or backward) was replaced by another thread's gets a StateError
naming both threads rather than gradients of another input.
"""

import numpy as np

from lstm_energy._layers.module import RecurrentLayer
from lstm_energy.config import GATES, NONLINEARITIES, check_choice

__all__ = ["LSTM", "GRU", "RNN"]


class LSTM(RecurrentLayer):
    """Long short-term memory layer(s); ``hx`` and the returned state are ``(h, c)`` tuples."""

    cell = "lstm"
    gates = GATES["lstm"]
    state_names = ("h", "c")

    def _forward_direction(self, x, params, states0, y, states_n, ws, training, reverse, weights_packed, isa):
        (h0, c0), (h_n, c_n) = states0, states_n
        path = (isa,) if isa >= 0 else ()  # the Cython engine's path argument (the NumPy engine takes none)
        return self._engine.lstm_forward(x, *params, h0, c0, y, h_n, c_n, ws, training, reverse, weights_packed, *path)

    def _backward_direction(
        self, x, params, states0, y, ws, dy, dstates_n, dx, grads, dstates0, bws, accumulate_dx, reverse
    ):
        (h0, c0), (dh_n, dc_n), (dh0, dc0) = states0, dstates_n, dstates0
        self._engine.lstm_backward(
            x, *params, h0, c0, y, ws, dy, dh_n, dc_n, dx, *grads, dh0, dc0, bws, accumulate_dx, reverse
        )


class GRU(RecurrentLayer):
    """Gated recurrent unit layer(s), PyTorch's form: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))."""

    cell = "gru"
    gates = GATES["gru"]

    def _forward_direction(self, x, params, states0, y, states_n, ws, training, reverse, weights_packed, isa):
        path = (isa,) if isa >= 0 else ()  # the Cython engine's path argument (the NumPy engine takes none)
        return self._engine.gru_forward(
            x, *params, states0[0], y, states_n[0], ws, training, reverse, weights_packed, *path
        )

    def _backward_direction(
        self, x, params, states0, y, ws, dy, dstates_n, dx, grads, dstates0, bws, accumulate_dx, reverse
    ):
        self._engine.gru_backward(
            x, *params, states0[0], y, ws, dy, dstates_n[0], dx, *grads, dstates0[0], bws, accumulate_dx, reverse
        )


class RNN(RecurrentLayer):
    """Elman RNN layer(s): h_t = tanh(W_ih x + b_ih + W_hh h + b_hh), or relu with nonlinearity="relu"."""

    cell = "rnn"
    gates = GATES["rnn"]

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=np.float32,
        *,
        seed=None,
        impl="cython",
    ):
        """Arguments in ``torch.nn.RNN``'s order (nonlinearity fourth; no proj_size, as in torch)."""
        check_choice(
            "nonlinearity", nonlinearity, NONLINEARITIES, "the RNN's activation: pass nonlinearity='tanh' or 'relu'"
        )
        self.nonlinearity = nonlinearity
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
            device=device,
            dtype=dtype,
            seed=seed,
            impl=impl,
        )

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", nonlinearity={self.nonlinearity!r})"

    def _forward_direction(self, x, params, states0, y, states_n, ws, training, reverse, weights_packed, isa):
        path = (isa,) if isa >= 0 else ()  # the Cython engine's path argument (the NumPy engine takes none)
        relu = self.nonlinearity == "relu"
        return self._engine.rnn_forward(
            x, *params, states0[0], y, states_n[0], ws, training, reverse, relu, weights_packed, *path
        )

    def _backward_direction(
        self, x, params, states0, y, ws, dy, dstates_n, dx, grads, dstates0, bws, accumulate_dx, reverse
    ):
        self._engine.rnn_backward(
            x,
            *params,
            states0[0],
            y,
            ws,
            dy,
            dstates_n[0],
            dx,
            *grads,
            dstates0[0],
            bws,
            accumulate_dx,
            reverse,
            self.nonlinearity == "relu",
        )
