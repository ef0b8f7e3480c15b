"""Index and view helpers shared by the three cells: step order, row views, the dW_hh product, and the
batched parameter-gradient GEMMs of the cells whose input and recurrent sides share one gate gradient."""

import numpy as np

from lstm_energy.errors import ShapeError


def time_steps(T: int, reverse: bool) -> range:
    """Steps in the order the recurrence visits them: 0..T-1, or T-1..0 when ``reverse``."""
    return range(T - 1, -1, -1) if reverse else range(T)


def rows(a: np.ndarray) -> np.ndarray:
    """(T, B, N) -> (T*B, N) as a view of ``a`` (writes go through), for one GEMM over all steps.

    Works for C-contiguous arrays and for column slices ``wide[:, :, j:k]`` of a C-contiguous array,
    the layouts the engine contract allows; anything else is a ShapeError (a ValueError), never a silent copy.
    """
    view = a.reshape(-1, a.shape[-1])
    if not np.may_share_memory(view, a):
        raise ShapeError(
            f"array with shape {a.shape} and strides {a.strides} cannot be viewed as rows; "
            "pass a C-contiguous array or a column slice of one"
        )
    return view


def recurrent_weight_grad(d_gates, y, h0, reverse, out):
    """out = Σ_t d_gates[t]ᵀ h_prev(t): the W_hh gradient, with h_prev(t) read from y (no copy).

    d_gates: (T, B, G*H) gradients w.r.t. the recurrent pre-activations; y: (T, B, H) the outputs;
    h0: (B, H); out: (G*H, H). The first visited step starts from h0, every other step from the
    output of the step visited before it: y[t-1] (forward) or y[t+1] (reverse). Two GEMMs.
    """
    T = d_gates.shape[0]
    first = T - 1 if reverse else 0
    np.matmul(d_gates[first].T, h0, out=out)  # GEMM: out = dA_firstᵀ h0
    if T > 1:
        later, earlier = (slice(0, T - 1), slice(1, T)) if reverse else (slice(1, T), slice(0, T - 1))
        out += rows(d_gates[later]).T @ rows(y[earlier])  # GEMM over (T-1)·B rows: out += dAᵀ H_prev


def shared_gate_parameter_grads(dgates, x, w_ih, y, h0, reverse, dx, dw_ih, dw_hh, db_ih, db_hh, accumulate_dx):
    """dX, dW_ih, dW_hh, db_ih, db_hh from the gate gradients, batched over all T·B rows (LSTM, RNN).

    For cells where the input and recurrent pre-activations get the same gradient dA (GRU does not:
    its n gate splits them). dgates: (T, B, G*H); x, dx: (T, B, D); w_ih, dw_ih: (G*H, D);
    y: (T, B, H); h0: (B, H); dw_hh: (G*H, H); db_ih, db_hh: (G*H,). dx is overwritten, or added
    to when ``accumulate_dx``.
    """
    dA = rows(dgates)  # (T·B, G*H)
    if accumulate_dx:
        rows(dx)[...] += dA @ w_ih  # GEMM: dX += dA W_ih
    else:
        np.matmul(dA, w_ih, out=rows(dx))  # GEMM: dX = dA W_ih
    np.matmul(dA.T, rows(x), out=dw_ih)  # GEMM: dW_ih = dAᵀ X
    recurrent_weight_grad(dgates, y, h0, reverse, out=dw_hh)  # dW_hh = dAᵀ H_prev
    np.sum(dA, axis=0, out=db_ih)
    db_hh[...] = db_ih
