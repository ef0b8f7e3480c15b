"""Scratch buffers the reference engine needs, by cell and pass (the contract's ``workspace_shapes``)."""
from __future__ import annotations

GATES_PER_CELL = {"lstm": 4, "gru": 3, "rnn": 1}
PASSES = ("forward", "backward")


def workspace_shapes(cell: str, pass_: str, T: int, B: int, D: int, H: int, training: bool) -> dict[str, tuple[int, ...]]:
    """Return ``{name: shape}`` of the scratch arrays ``ws`` (forward) or ``bws`` (backward).

    Forward, every cell: ``gates`` (T, B, G*H) holds the input projection, then the activated gates
    (LSTM i|f|g|o, GRU r|z|n, RNN the pre-activation). Training-mode extras kept for backward:
    LSTM ``c`` (T, B, H) the cell states; GRU ``gh_n`` (T, B, H) = W_hn·h_{t-1} + b_hn. GRU also needs
    ``gh`` (B, 3H), the recurrent projection of the current step.

    Backward, every cell: ``dgates`` (T, B, G*H) the pre-activation gradients (for the GRU: the
    input-side ones; ``dgates_h`` holds the recurrent-side ones, which differ in the n block),
    ``h_prev`` (T, B, H) the state each step started from, ``dh`` (B, H) the running state gradient;
    LSTM adds ``dc`` (B, H).
    """
    try:
        G = GATES_PER_CELL[cell]
    except KeyError:
        raise ValueError(f"unknown cell {cell!r}: expected one of {sorted(GATES_PER_CELL)}") from None
    if pass_ not in PASSES:
        raise ValueError(f"unknown pass {pass_!r}: expected 'forward' or 'backward'")
    if pass_ == "forward":
        shapes = {"gates": (T, B, G * H)}
        if cell == "gru":
            shapes["gh"] = (B, G * H)
        if training and cell == "lstm":
            shapes["c"] = (T, B, H)
        if training and cell == "gru":
            shapes["gh_n"] = (T, B, H)
        return shapes
    shapes = {"dgates": (T, B, G * H), "h_prev": (T, B, H), "dh": (B, H)}
    if cell == "gru":
        shapes["dgates_h"] = (T, B, G * H)
    if cell == "lstm":
        shapes["dc"] = (B, H)
    return shapes
