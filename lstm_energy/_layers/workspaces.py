"""Scratch buffers by cell and pass: the engine contract's ``workspace_shapes``.

One definition serves both engines (``lstm_energy.kernels`` and ``lstm_energy.reference`` re-export
it), so buffers allocated for one engine work with the other and the two stay comparable in memory
use. ``allocate_workspace`` makes the arrays (cache-line aligned). Pure Python and NumPy: the
reference engine imports it without the compiled kernels.
"""

from __future__ import annotations

import numpy as np

from lstm_energy._layers.aligned import aligned_empty
from lstm_energy.config import (  # GATES: G per cell (LSTM i|f|g|o, GRU r|z|n, RNN 1)
    CELLS,
    GATES,
    check_choice,
    positive_int,
)

#: the kernels' two passes (a "train" phase runs both)
PASSES = ("forward", "backward")
#: columns per panel of the packed recurrent weight (LE_NR in kernels/_packed_gemm.h)
PANEL_WIDTH = 16
#: rows of B per k chunk of the kernels' own large GEMMs (LE_KC in kernels/_packed_gemm.h)
GEMM_K_CHUNK = 256


def packed_weight_shape(K: int, N: int) -> tuple[int, int, int]:
    """Shape of ``w_hh_panels`` for a product with a (K, N) weight operand: ceil(N / 16) panels of
    K rows x 16 columns (the last panel zero-padded)."""
    return (-(-N // PANEL_WIDTH), K, PANEL_WIDTH)


def workspace_shapes(
    cell: str, pass_: str, T: int, B: int, D: int, H: int, training: bool
) -> dict[str, tuple[int, ...]]:
    """Return ``{name: shape}`` of the scratch arrays ``ws`` (forward) or ``bws`` (backward).

    cell: "lstm" | "gru" | "rnn"; pass_: "forward" | "backward"; T, B, D, H: sizes;
    training: forward only, True adds what the backward pass reads.

    forward  lstm  gates (T, B, 4H): x W_ihᵀ, then the activated i|f|g|o; bias (4H,) = b_ih + b_hh;
                   training adds c (T, B, H), the cell states
             gru   gates (T, B, 3H): x W_ihᵀ, then the activated r|z|n; gh (B, 3H): h W_hhᵀ of one step;
                   bias (4H,) = [b_ir+b_hr | b_iz+b_hz | b_in | b_hn];
                   training adds ghn (T, B, H) = W_hn h_{t-1} + b_hn
             rnn   bias (H,) = b_ih + b_hh (the pre-activations live in y itself)
    backward lstm  dgates (T, B, 4H): gradients w.r.t. the pre-activations
             gru   dgh (T, B, 3H): recurrent-side gate gradients [da_r | da_z | da_n ⊙ r];
                   dgin (T, B, H): the input-side n block da_n
             rnn   dgates (T, B, H)
    both     w_hh_panels: W_hh packed once per call for the per-step products (16-column panels,
                   see ``packed_weight_shape``): forward (ceil(GH/16), H, 16) holds W_hhᵀ, backward
                   (ceil(H/16), GH, 16) holds W_hh; the forward also has w_ih_panels
                   (ceil(GH/16), D, 16), W_ihᵀ for the input projection. The Cython engine fills
                   them in float32 on CPUs with AVX2+FMA; the NumPy engine (and float64) leave them
                   untouched. The backward also has gemm_panels (ceil(max(D, H)/16), 256, 16):
                   scratch for one 256-row chunk of the B operand of dX, dW_ih and dW_hh.
    The running state gradients of the backward live in its outputs dh0 (and dc0).
    """
    check_choice("cell", cell, CELLS, "pass the layer's cell")
    check_choice("pass_", pass_, PASSES, "a 'train' phase asks for both passes, one call each")
    T, B, D, H = (positive_int(name, size) for name, size in (("T", T), ("B", B), ("D", D), ("H", H)))
    G = GATES[cell]
    shapes: dict[str, tuple[int, ...]]
    if pass_ == "backward":
        if cell == "gru":
            shapes = {"dgh": (T, B, 3 * H), "dgin": (T, B, H)}
        else:
            shapes = {"dgates": (T, B, G * H)}
        shapes["w_hh_panels"] = packed_weight_shape(G * H, H)  # Bmat = W_hh (GH, H)
        shapes["gemm_panels"] = packed_weight_shape(GEMM_K_CHUNK, max(D, H))  # one k chunk of W_ih, x or y
        return shapes
    if cell == "lstm":
        shapes = {"gates": (T, B, 4 * H), "bias": (4 * H,)}
        if training:
            shapes["c"] = (T, B, H)
    elif cell == "gru":
        shapes = {"gates": (T, B, 3 * H), "gh": (B, 3 * H), "bias": (4 * H,)}
        if training:
            shapes["ghn"] = (T, B, H)
    else:
        shapes = {"bias": (H,)}
    shapes["w_ih_panels"] = packed_weight_shape(D, G * H)  # Bmat = W_ihᵀ (D, GH)
    shapes["w_hh_panels"] = packed_weight_shape(H, G * H)  # Bmat = W_hhᵀ (H, GH)
    return shapes


def allocate_workspace(
    cell: str, pass_: str, T: int, B: int, D: int, H: int, training: bool, dtype
) -> dict[str, np.ndarray]:
    """``{name: array}`` for ``workspace_shapes(cell, pass_, T, B, D, H, training)``, each array
    uninitialised and starting on a cache line (``lstm_energy._layers.aligned``). Any C-contiguous arrays
    of those shapes work; aligned ones keep the packed GEMM's panel reads within one line each."""
    return {
        name: aligned_empty(shape, dtype) for name, shape in workspace_shapes(cell, pass_, T, B, D, H, training).items()
    }


#: the gates of one input-projection chunk: at most half of an L2 of 512 KiB or more, so that they stay in L2
#: beside the weights the steps stream (docs/kernels-performance.md, "The input projection a chunk of steps
#: at a time")
CHUNK_BYTES = 256 * 1024
CHUNK_MIN_ROWS = 64  # rows of one input-projection product at the least (small batches)


def chunk_steps(T: int, B: int, GH: int) -> int:
    """Steps whose input projection the reduced-precision forward (``lstm_energy.kernels.lowp``) computes
    in one product, by default: as many as keep their gates, (steps, B, GH) float32, within CHUNK_BYTES,
    so that the recurrent products that add to them and the gate math find them in L2 rather than in L3
    (a (T, B, GH) buffer of a mid or big shape is 3-13 MB); at least enough steps for CHUNK_MIN_ROWS
    rows, at least 1, at most T. The traffic model (``lstm_energy.costs.traffic``) sizes the buffer by it."""
    by_bytes = CHUNK_BYTES // max(1, B * GH * 4)
    by_rows = (CHUNK_MIN_ROWS + B - 1) // B
    return max(1, min(T, max(by_bytes, by_rows)))
