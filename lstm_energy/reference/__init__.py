"""Plain-NumPy LSTM, GRU and RNN: the readable specification of the math.

This package implements the ENGINE CONTRACT documented in ``lstm_energy.kernels`` with the same
function names, argument order and semantics, so ``lstm_energy.layers`` can run on either engine
(``impl="numpy"`` or ``impl="cython"``) and the Cython kernels are tested against it.

It is structured like the kernels, so its cost is comparable in benchmarks:

* forward: one input-projection GEMM over all ``T·B`` rows, then per step one recurrent GEMM and
  the elementwise gate math;
* backward: per step (in reverse) only the elementwise gate derivatives and the ``dh`` GEMM; after
  the loop three batched GEMMs with ``K = T·B`` rows give ``dx``, ``dW_ih`` and ``dW_hh``.

Every function writes into the buffers the caller passes (``workspace_shapes`` says which scratch
arrays to allocate); the elementwise expressions may still create NumPy temporaries.
"""

from lstm_energy._layers.workspaces import workspace_shapes
from lstm_energy.reference.gru import gru_backward, gru_forward
from lstm_energy.reference.lstm import lstm_backward, lstm_forward
from lstm_energy.reference.rnn import rnn_backward, rnn_forward

__all__ = [
    "workspace_shapes",
    "lstm_forward",
    "lstm_backward",
    "gru_forward",
    "gru_backward",
    "rnn_forward",
    "rnn_backward",
]
