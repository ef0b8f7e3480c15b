"""Bytes a recurrent layer moves to and from memory, cache-aware (kernel-anchors §6).

Everything is counted per kernel call, i.e. per (layer l, direction), with s bytes per element,
D_l = D for layer 0 and H·dirs above it, n_s = 2 state tensors for LSTM (h, c) and 1 otherwise.

COMPULSORY (lower bound; cold caches; each operand of the call touched once):
  forward   weights  s·G·H·(D_l + H) + s·2·G·H (W_ih, W_hh, b_ih, b_hh read)
            inputs   s·T·B·D_l (x read)            outputs  s·T·B·H (y written)
            states   2·s·B·H·n_s (h0[, c0] read, h_n[, c_n] written)
            saved_activations (training forward only, written; §4 "minimum state to save"):
                     LSTM s·T·B·5H (i, f, g, o, c_t), GRU s·T·B·4H (r, z, n, W_hn·h + b_hn), RNN 0
  backward  weights  s·G·H·(D_l + H) (W_ih for dX, W_hh for dh)
            inputs   s·T·B·D_l (x for dW_ih)      outputs  s·T·B·H (y = h_prev for dW_hh)
            states   s·B·H·n_s (h0[, c0] read)     saved_activations  read back, sizes as above
            gradients  dy s·T·B·H + dh_n[, dc_n] s·B·H·n_s read; dx s·T·B·D_l written (read too for
                     the second direction, which accumulates into dx); dW s·G·H·(D_l + H) and db
                     s·2·G·H written; dh0[, dc0] s·B·H·n_s written
CONDITIONAL (added to ``expected`` only when the cache model says they reach memory):
  gate_buffers   forward: the gate buffer Gx (s·T·B·G·H: ws["gates"]; the RNN projects straight into
                 y) is written by the input GEMM, read and modified by step t (the beta=1 recurrent
                 GEMM for LSTM/RNN, the in-place activated gates for LSTM/GRU) and written back: 3
                 passes if it spills, 2 when the write-back is already a compulsory write (RNN: y;
                 training forward: the saved gates). §6 counts 2 (write + read).
                 backward: LSTM/RNN dA (s·T·B·G·H, bws["dgates"]) is written in the loop and read by
                 the dX, dW_ih and dW_hh GEMMs and the bias column sums: 5 passes (§6 counts 3 for a
                 merged dW GEMM without the sums). GRU: dgh (T, B, 3H) and dgin (T, B, H): 17·s·T·B·H
                 (see _backward_call). Spill test: the buffer(s) + the layer's weights > usable LLC.
  w_hh_restream  W_hh (s·G·H²) is read by every step's GEMM, forward and backward: (T−1)·s·G·H²
                 per pass beyond the compulsory first read. ``w_hh_residency`` names the innermost
                 cache that holds one step's working set (W_hh + h_{t−1} + the B×G·H gate slice
                 [+ c_{t−1}] [+ the GRU gh scratch]); these bytes reach memory only when it is "memory".
Not counted: the Cython engine's float32 path packs W_hh once per call into ``w_hh_panels`` (one more
read and one write of s·G·H², columns padded to 16) and its steps stream that copy instead of W_hh; it
also packs W_ihᵀ (``w_ih_panels``) and, in the backward, each 256-row chunk of the dW operands (and of
dX's on several threads) into ``gemm_panels``, as OpenBLAS packs its operands internally.
REDUCED PRECISION (issue 18; eval forward with ``precision`` "int8" or "bf16"): the layer keeps its
weights packed in that precision (quantized once, cached), so a call reads w = 1 (int8) or 2 (bf16) bytes
per weight element instead of s, plus float32 per-row scales and int32 row sums for int8 (2·4·G·H per
matrix); biases stay float32. W_hh re-streaming and the step working set count w bytes per element.
The reduced-precision forward works a chunk of ``chunk_steps(T, B, G·H)`` steps at a time
(``lstm_energy._layers.workspaces``: their float32 gates within 256 KiB): the chunk's gate buffer and its
quantized/converted copy of x stay in cache and reach memory only if the chunk and the weights overflow
the LLC; the per-step copy of h (w·B·H) stays in L1. Gates, states and y stay float32.
"Usable" capacity = ``usable_cache_fraction`` × size (default 0.75: a heuristic margin for
associativity conflicts and the other data streaming through, not a sourced constant). The model is
single-threaded, ignores write-allocate (read-for-ownership) and prefetch traffic and assumes the
caches seen from cpu0.
Arithmetic intensity = FLOPs (``costs.flops(...).total``: GEMM + elementwise) / bytes.
Recurrent-step intensity if W_hh streams from memory: 2·B·G·H² / (s·G·H²) = 2B/s FLOP/B (§6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lstm_energy._layers.workspaces import chunk_steps
from lstm_energy.config import PRECISION_WEIGHT_BYTES, Config
from lstm_energy.costs.caches import CacheHierarchy, CachesLike, resolve_caches
from lstm_energy.costs.flops import FlopCount, count_flops
from lstm_energy.errors import ConfigError

CONVENTION = (
    "bytes between the caches and memory; compulsory = each kernel call's operands moved once (cold caches);"
    " expected adds gate-buffer spill and W_hh re-streaming per the cache model; no write-allocate or prefetch"
)
SOURCE = "model: analytic traffic of lstm_energy.kernels (lstm_energy/costs/traffic.py), caches from {caches}"
COMPONENTS = ("weights", "inputs", "outputs", "states", "saved_activations", "gradients")
# elements per token saved by a training forward, in units of H (§4 table; engine contract)
SAVED_PER_TOKEN = {"lstm": 5, "gru": 4, "rnn": 0}
RESIDENCY_LEVELS = ("L1", "L2", "LLC", "memory")
DEFAULT_USABLE_CACHE_FRACTION = 0.75


@dataclass(frozen=True)
class Traffic:
    """Bytes moved by one configuration and phase, with the cache verdicts that produced ``expected``."""

    components: Mapping[str, int]
    gate_buffers: int
    w_hh_restream: int
    gate_buffer_spills: bool
    w_hh_residency: str
    flops: FlopCount
    dtype: str
    caches: CacheHierarchy | None = field(default=None, compare=False)
    usable_cache_fraction: float = DEFAULT_USABLE_CACHE_FRACTION
    spilled_gate_buffer_bytes: int = 0
    convention: str = CONVENTION
    source: str = ""

    @property
    def compulsory(self) -> int:
        """Lower bound: every operand of every kernel call moved exactly once."""
        return sum(self.components.values())

    @property
    def expected(self) -> int:
        """Compulsory plus the gate buffers that spill and W_hh re-reads that reach memory."""
        restream = self.w_hh_restream if self.w_hh_residency == "memory" else 0
        return self.compulsory + self.spilled_gate_buffer_bytes + restream

    @property
    def expected_components(self) -> dict[str, int]:
        """Every component of ``expected``: the compulsory ones plus the spilled gate buffers and the
        W_hh re-reads that reach memory (0 when the cache model keeps them on chip)."""
        return {
            **self.components,
            "gate_buffers": self.spilled_gate_buffer_bytes,
            "w_hh_restream": self.w_hh_restream if self.w_hh_residency == "memory" else 0,
        }

    @property
    def intensity_compulsory(self) -> float:
        """FLOP/byte against the compulsory bytes (an upper bound on intensity)."""
        return self.flops.total / self.compulsory

    @property
    def intensity_expected(self) -> float:
        """FLOP/byte against the expected bytes."""
        return self.flops.total / self.expected

    def as_dict(self) -> dict:
        return {
            "compulsory": self.compulsory,
            "expected": self.expected,
            "components": dict(self.components),
            "expected_components": self.expected_components,
            "gate_buffers": self.gate_buffers,
            "gate_buffer_spills": self.gate_buffer_spills,
            "spilled_gate_buffer_bytes": self.spilled_gate_buffer_bytes,
            "w_hh_restream": self.w_hh_restream,
            "w_hh_residency": self.w_hh_residency,
            "arithmetic_intensity_flop_per_byte": {
                "compulsory": self.intensity_compulsory,
                "expected": self.intensity_expected,
            },
            "dtype": self.dtype,
            "usable_cache_fraction": self.usable_cache_fraction,
            "caches": self.caches.as_dict() if self.caches is not None else None,
            "convention": self.convention,
            "source": self.source,
        }


def weight_bytes(p: Config, s: int) -> int:
    """Bytes per weight element a call reads: s in fp32, 1 (int8) or 2 (bf16) in a reduced precision."""
    return s if p.precision == "fp32" else PRECISION_WEIGHT_BYTES[p.precision]


def _step_working_set(p: Config, s: int) -> int:
    """Bytes one recurrent step touches: W_hh, h_{t-1}, the gate slice, c_{t-1} (LSTM), gh (GRU)."""
    B, H, G = p.batch, p.hidden_size, p.gates
    size = weight_bytes(p, s) * G * H * H + s * B * H + s * B * G * H
    if p.cell == "lstm":
        size += s * B * H
    if p.cell == "gru":
        size += s * B * G * H
    return size


def w_hh_residency(p: Config, s: int, caches: CacheHierarchy, usable: float) -> str:
    """Innermost cache ("L1", "L2", "LLC") holding a step's working set, else "memory"."""
    working_set = _step_working_set(p, s)
    for name, size in caches.named_levels():
        if working_set <= usable * size and name in RESIDENCY_LEVELS:
            return name
    return "memory"


class _Tally:
    """Accumulates per-component bytes over kernel calls."""

    def __init__(self):
        self.components = dict.fromkeys(COMPONENTS, 0)
        self.gate_buffers = 0
        self.spilled = 0
        self.spills = False
        self.w_hh_restream = 0

    def gate_buffer(self, footprint: int, moved: int, weights: int, llc: int | None, usable: float) -> None:
        """Intermediates of ``footprint`` bytes that move ``moved`` bytes if they and the weights overflow the LLC."""
        self.gate_buffers += moved
        if llc is None or footprint + weights > usable * llc:
            self.spilled += moved
            self.spills = True


def _forward_call(t: _Tally, p, s, D, training, llc, usable):
    T, B, H, G = p.seq_len, p.batch, p.hidden_size, p.gates
    n_states = 2 if p.cell == "lstm" else 1
    w = weight_bytes(p, s)
    weights = w * G * H * (D + H)
    t.components["weights"] += weights + s * 2 * G * H + (2 * 2 * 4 * G * H if p.precision == "int8" else 0)
    t.components["inputs"] += s * T * B * D
    t.components["outputs"] += s * T * B * H
    t.components["states"] += 2 * s * B * H * n_states
    if training:
        t.components["saved_activations"] += s * T * B * H * SAVED_PER_TOKEN[p.cell]
    gx = s * T * B * G * H  # ws["gates"] (RNN: y itself): GEMM write, step read, in-place write-back
    # the write-back is already counted when it is a compulsory write: y (RNN), saved gates (training)
    passes = 2 if (training or p.cell == "rnn") else 3
    # the reduced-precision forward projects chunk_steps(...) steps at a time into one (Tc, B, G·H) buffer
    # that it reuses: the same bytes pass through it, but only a chunk's worth competes for the cache
    footprint = gx if p.precision == "fp32" else s * chunk_steps(T, B, G * H) * B * G * H
    t.gate_buffer(footprint, passes * gx, weights, llc, usable)
    t.w_hh_restream += (T - 1) * w * G * H * H


def _backward_call(t: _Tally, p, s, D, accumulate_dx, llc, usable):
    T, B, H, G = p.seq_len, p.batch, p.hidden_size, p.gates
    n_states = 2 if p.cell == "lstm" else 1
    weights = s * G * H * (D + H)
    t.components["weights"] += weights
    t.components["inputs"] += s * T * B * D
    t.components["outputs"] += s * T * B * H
    t.components["states"] += s * B * H * n_states
    t.components["saved_activations"] += s * T * B * H * SAVED_PER_TOKEN[p.cell]
    grads_in = s * T * B * H + s * B * H * n_states  # dy, dh_n[, dc_n]
    dx = s * T * B * D * (2 if accumulate_dx else 1)
    grads_out = dx + weights + s * 2 * G * H + s * B * H * n_states  # dx, dW, db, dh0[, dc0]
    t.components["gradients"] += grads_in + grads_out
    if p.cell == "gru":
        # dgh (T, B, 3H): write 3 + dX 2 (r|z) + dW_ih 2 + dW_hh 3 + db 3; dgin (T, B, H): write, dX, dW_ih, db
        unit = s * T * B * H
        t.gate_buffer(4 * unit, (13 + 4) * unit, weights, llc, usable)
    else:
        da = s * T * B * G * H  # dgates: 1 write + reads by dX, dW_ih, dW_hh and the bias sums
        t.gate_buffer(da, 5 * da, weights, llc, usable)
    t.w_hh_restream += (T - 1) * s * G * H * H


def traffic(
    cell: str,
    batch: int,
    seq_len: int,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    phase: str = "forward",
    dtype="float32",
    caches: CachesLike = None,
    nonlinearity: str = "tanh",
    usable_cache_fraction: float = DEFAULT_USABLE_CACHE_FRACTION,
    precision: str = "fp32",
) -> Traffic:
    """Memory traffic of a (stacked, optionally bidirectional) LSTM/GRU/RNN on x: (T, B, D).

    phase: "forward" (eval: nothing saved), "backward" (alone) or "train" (training forward +
    backward). caches: None reads this machine's sysfs; or a CacheHierarchy, a mapping
    ``{"L1": bytes, "L2": bytes, "LLC": bytes}``, or the path of a sysfs-like ``cache/`` directory.
    """
    config = Config(
        cell=cell,
        batch=batch,
        seq_len=seq_len,
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        bidirectional=bidirectional,
        phase=phase,
        dtype=dtype,
        nonlinearity=nonlinearity,
        precision=precision,
    )
    return count_traffic(config, caches=caches, usable_cache_fraction=usable_cache_fraction)


def count_traffic(
    config: Config, caches: CachesLike = None, usable_cache_fraction: float = DEFAULT_USABLE_CACHE_FRACTION
) -> Traffic:
    """Memory traffic of one call of ``config`` (its cell, sizes, layers, directions, phase and dtype)
    against ``caches`` (as for ``traffic``)."""
    if not 0.0 < usable_cache_fraction <= 1.0:
        raise ConfigError(
            f"usable_cache_fraction must be in (0, 1], got {usable_cache_fraction!r}; the default is"
            f" {DEFAULT_USABLE_CACHE_FRACTION}"
        )
    s = config.dtype_bytes
    phase = config.phase
    hierarchy = resolve_caches(caches)
    llc = hierarchy.llc
    tally = _Tally()
    for D in config.layer_input_sizes():
        for direction in range(config.directions):
            if phase in ("forward", "train"):
                _forward_call(tally, config, s, D, phase == "train", llc, usable_cache_fraction)
            if phase in ("backward", "train"):
                _backward_call(tally, config, s, D, direction == 1, llc, usable_cache_fraction)
    return Traffic(  # w_hh_residency: the working set with the precision's weight bytes (weight_bytes)
        components=tally.components,
        gate_buffers=tally.gate_buffers,
        w_hh_restream=tally.w_hh_restream,
        gate_buffer_spills=tally.spills,
        w_hh_residency=w_hh_residency(config, s, hierarchy, usable_cache_fraction),
        flops=count_flops(config),
        dtype=config.dtype,
        caches=hierarchy,
        usable_cache_fraction=usable_cache_fraction,
        spilled_gate_buffer_bytes=tally.spilled,
        source=SOURCE.format(caches=hierarchy.source),
    )
