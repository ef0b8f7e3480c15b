"""Exact FLOP counts of what ``lstm_energy.kernels`` execute, split into GEMM, elementwise and
transcendental work.

CONVENTION (design.md, kernel-anchors §5): a FLOP is one add or one multiply; a multiply-add counts
2, so a GEMM ``C[M,N] (+)= A[M,K]·B[K,N]`` is ``2·M·N·K`` FLOPs. That is what
``torch.utils.flop_counter`` counts for mm/addmm (it ignores the addmm bias and the "2K−1" nicety),
and it is exact for a GEMM with ``beta=1`` (the K products, K−1 sums and the add into C). A
transcendental (σ, tanh, exp) counts 1 in ``transcendental`` and NOTHING in ``elementwise`` (the
exp/add/divide inside σ are not split out: a SIMD exp is a polynomial of implementation-dependent
length, §5.3). ``total = gemm + elementwise``; transcendentals are reported next to it, never in it.

WHAT THE KERNELS EXECUTE (engine contract, lstm_energy/kernels/__init__.py; §2.2, §2.3, §9 item 1),
per layer l and direction, with D_l = D for l = 0 and D_l = H·dirs above:

  forward   one input GEMM      Gx[T·B, G·H]  = X[T·B, D_l] · W_ihᵀ          2·T·B·G·H·D_l
            per step t=0..T−1   Gx_t[B, G·H] += h_{t−1}[B, H] · W_hhᵀ       2·B·G·H·H each
              (LSTM, RNN: beta=1 onto Gx_t, so the x+h gate sum is inside the GEMM; GRU: into a
               scratch gh_t, beta=0, because r multiplies W_hn·h + b_hn, so the sum is elementwise)
              the step t=0 multiplies h0 even when h0 is zeros (the kernels do not special-case it)
            one fused elementwise pass per step (counts below)
  backward  per step t=T−1..0   dh_{t−1}[B, H] = dA_t[B, G·H] · W_hh         2·B·G·H·H each
              including t=0: dh0 is ALWAYS computed (torch skips it when h0 has no grad)
            after the loop       dX[T·B, D_l]   = dA · W_ih                   2·T·B·G·H·D_l
              ALWAYS computed, layer 0 included (torch skips it when x has no grad)
                                 dW_ih[G·H, D_l] = dAᵀ · X                    2·T·B·G·H·D_l
                                 dW_hh[G·H, H]   = dAᵀ · [h_{−1}..h_{T−2}]    2·T·B·G·H·H
  The kernels may split one of these products into a few BLAS calls over row/column blocks (GRU:
  dX and dW_ih over the r|z and n blocks; every cell: dW_hh as the h0 rows plus the other T−1 steps);
  the FLOPs are the same.
  So per direction F_fwd = 2·T·B·G·H·(D_l + H) and F_bwd = 2·F_fwd (§5.2). [verified against
  torch.utils.flop_counter.FlopCounterMode with x and h0 requiring grad; tests/costs/test_flops_torch.py]

ELEMENTWISE per token (t, b) and hidden unit, i.e. multiply by T·B·H (§4 equations, §5.3 table):
  forward  LSTM 8: bias add 4 (b_ih+b_hh pre-summed, one add per gate), c = f⊙c + i⊙g 3, h = o⊙tanh(c) 1
                   transcendental 5: σ(i), σ(f), tanh(g), σ(o), tanh(c)
           GRU 12: r = σ(gx_r + gh_r + b_r) 2 and z likewise 2 (b_r = b_ir + b_hr and b_z pre-summed),
                   gh_n + b_hn 1, n = tanh(gx_n + b_in + r⊙(gh_n + b_hn)) 3,
                   h = (1 − z)⊙n + z⊙h_prev 4;  transcendental 3: σ(r), σ(z), tanh(n)
           RNN tanh 1: bias add (pre-summed); transcendental 1: tanh
           RNN relu 2: bias add, max(0, ·); transcendental 0
  backward LSTM 23: dh = dy + dh_carry 1, da_o = dh⊙tanh(c)⊙o⊙(1−o) 4,
                   dc = dc_carry + dh⊙o⊙(1 − tanh(c)²) 5, da_i = dc⊙g⊙i⊙(1−i) 4,
                   da_f = dc⊙c_{t−1}⊙f⊙(1−f) 4, da_g = dc⊙i⊙(1 − g²) 4, dc_carry = dc⊙f 1
                   transcendental 1: tanh(c_t) is recomputed (the workspace keeps gates and c_t)
           GRU 17: dh = dy + carry 1, da_z = dh⊙(h_prev − n)⊙z⊙(1−z) 5, da_n = dh⊙(1−z)⊙(1 − n²) 5,
                   da_r = da_n⊙gh_n⊙r⊙(1−r) 4, dGh_n = da_n⊙r 1, dh⊙z 1 (the next carry; the
                   recurrent product dGh·W_hh is added onto it by a beta=1 GEMM);  transcendental 0
           RNN tanh 4: dh = dy + carry 1, da = dh⊙(1 − h²) 3;  RNN relu 2: add 1, mask by h > 0 1
  bias gradient: a sum over the T·B rows of dA, one add per element (accumulated from zero):
           LSTM/RNN G per token (db_hh is a copy of db_ih: 0 FLOPs); GRU 4: Σ dGh (3H, = db_hh)
           and Σ da_n (H, db_ih's n block; its r|z blocks are copies of db_hh's)
  per call: the bias pre-sum b_ih + b_hh, once per layer and direction (forward): LSTM 4H, RNN H,
           GRU 2H (r and z blocks only; b_in and b_hn stay apart because r multiplies gh_n + b_hn).
REDUCED PRECISION (issue 18; eval forward, ``precision`` "int8" / "bf16", lstm_energy.reference.lowp):
the products count the same 2·M·N·K operations, done on int8 (int32 sums) or bf16 (float32 sums)
operands; ``FlopCount.gemm_precision`` says which. On top, per activation element quantized (x once:
T·B·D_l; h per step: B·H, so T·B·H) int8 does 3 ops (|a| max, scale multiply, rounding) and bf16 1
(rounding), in ``forward.quantize``; per product output int8 does 2 multiplies (s_m·ws_n, then the sum)
to dequantize (``forward.dequantize``: 2·T·B·G·H per product, input and recurrent).
The dh "carry" at the last step is dh_n (and dc_n), so every step does the same work: the counts are
exact multiples of T·B·H. These counts were read off lstm_energy/kernels/{lstm,gru,rnn}.pyx (the
fused cell functions, the bias pre-sum and ``column_sums``); an add that a kernel folds into a
beta=1 GEMM is part of that GEMM's 2·M·N·K and is not counted again here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lstm_energy.config import Config

CONVENTION = (
    "FLOP = one add or multiply; a multiply-add counts 2 (GEMM = 2*M*N*K); "
    "transcendentals (sigmoid, tanh) counted separately and not in total"
)
SOURCE = "model: analytic count of the operations lstm_energy.kernels execute (lstm_energy/costs/flops.py)"

# Per token and hidden unit (multiply by T*B*H). Derivation in the module docstring.
FORWARD_ELEMENTWISE = {"lstm": 8, "gru": 12, "rnn_tanh": 1, "rnn_relu": 2}
FORWARD_TRANSCENDENTAL = {"lstm": 5, "gru": 3, "rnn_tanh": 1, "rnn_relu": 0}
BACKWARD_ELEMENTWISE = {"lstm": 23, "gru": 17, "rnn_tanh": 4, "rnn_relu": 2}
BACKWARD_TRANSCENDENTAL = {"lstm": 1, "gru": 0, "rnn_tanh": 0, "rnn_relu": 0}
# bias-gradient sums per token and hidden unit: G for LSTM/RNN (db_hh == db_ih), 3 + 1 for GRU
BIAS_GRAD_SUMS = {"lstm": 4, "gru": 4, "rnn_tanh": 1, "rnn_relu": 1}
# b_ih + b_hh pre-summed once per (layer, direction) forward call, in units of H
BIAS_PRESUM = {"lstm": 4, "gru": 2, "rnn_tanh": 1, "rnn_relu": 1}


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one configuration and phase.

    gemm: FLOPs in BLAS GEMM calls (2·M·N·K each); elementwise: adds/multiplies of the fused
    elementwise passes and bias-gradient sums; transcendental: σ/tanh evaluations (not in total).
    ``terms`` breaks ``gemm``, ``elementwise`` and ``transcendental`` down by origin (keys
    ``"<phase>.<term>"``); the gemm terms sum to ``gemm``, the elementwise terms to ``elementwise``.
    """

    gemm: int
    elementwise: int
    transcendental: int
    terms: Mapping[str, int] = field(default_factory=dict, compare=False, hash=False)
    convention: str = CONVENTION
    source: str = SOURCE
    gemm_precision: str = "fp32"  # operand precision of the GEMM operations: "fp32" | "bf16" | "int8"

    @property
    def total(self) -> int:
        """gemm + elementwise (transcendentals are counted separately, never added in)."""
        return self.gemm + self.elementwise

    def __add__(self, other: FlopCount) -> FlopCount:
        if not isinstance(other, FlopCount):
            return NotImplemented
        terms = dict(self.terms)
        for key, value in other.terms.items():
            terms[key] = terms.get(key, 0) + value
        return FlopCount(
            gemm=self.gemm + other.gemm,
            elementwise=self.elementwise + other.elementwise,
            transcendental=self.transcendental + other.transcendental,
            terms=terms,
            convention=self.convention,
            source=self.source,
            gemm_precision=self.gemm_precision,
        )

    def as_dict(self) -> dict:
        """The results-record ``costs.flops`` block plus convention, source and the breakdown."""
        return {
            "gemm": self.gemm,
            "elementwise": self.elementwise,
            "transcendental": self.transcendental,
            "total": self.total,
            "convention": self.convention,
            "source": self.source,
            "terms": dict(self.terms),
            "gemm_precision": self.gemm_precision,
        }


def _forward(p: Config) -> FlopCount:
    T, B, H, G = p.seq_len, p.batch, p.hidden_size, p.gates
    kind = p.cell_kind
    calls = p.num_layers * p.directions  # one kernel call per (layer, direction)
    input_gemm = p.directions * sum(2 * T * B * G * H * d for d in p.layer_input_sizes())
    recurrent_gemm = calls * T * 2 * B * G * H * H
    per_token = calls * T * B * H
    elementwise = per_token * FORWARD_ELEMENTWISE[kind]
    presum = calls * BIAS_PRESUM[kind] * H
    transcendental = per_token * FORWARD_TRANSCENDENTAL[kind]
    terms = {
        "forward.input_gemm": input_gemm,
        "forward.recurrent_gemm": recurrent_gemm,
        "forward.elementwise": elementwise,
        "forward.bias_presum": presum,
        "forward.transcendental": transcendental,
    }
    reduced = 0
    if p.precision != "fp32":
        per_element = 3 if p.precision == "int8" else 1
        quantized = T * B * (p.directions * sum(p.layer_input_sizes()) + calls * H)
        terms["forward.quantize"] = per_element * quantized
        # 2 ops per output of each of the two products (scale, then add): the VNNI/AMX epilogue's offset
        # correction (- 128 * row sum) and the recurrent product's add into the gates are left out (one op
        # or two per output against the 2K of its dot product), and so is the bias pre-sum being cached
        terms["forward.dequantize"] = calls * 2 * 2 * T * B * G * H if p.precision == "int8" else 0
        reduced = terms["forward.quantize"] + terms["forward.dequantize"]
    return FlopCount(
        input_gemm + recurrent_gemm, elementwise + presum + reduced, transcendental, terms, gemm_precision=p.precision
    )


def _backward(p: Config) -> FlopCount:
    T, B, H, G = p.seq_len, p.batch, p.hidden_size, p.gates
    kind = p.cell_kind
    dirs, calls = p.directions, p.num_layers * p.directions
    sizes = p.layer_input_sizes()
    step_gemm = 2 * B * G * H * H  # dh_{t-1} = dA_t · W_hh
    dh_gemm = calls * (T - 1) * step_gemm  # steps t = T-1 .. 1
    dh0_gemm = calls * step_gemm  # step t = 0 produces dh0 (always computed)
    dx_layer0 = dirs * 2 * T * B * G * H * sizes[0]  # always computed, also for layer 0
    dx_upper = dirs * sum(2 * T * B * G * H * d for d in sizes[1:])
    dw_ih = dirs * sum(2 * T * B * G * H * d for d in sizes)
    dw_hh = calls * 2 * T * B * G * H * H
    per_token = calls * T * B * H
    elementwise = per_token * BACKWARD_ELEMENTWISE[kind]
    bias_grad = per_token * BIAS_GRAD_SUMS[kind]
    transcendental = per_token * BACKWARD_TRANSCENDENTAL[kind]
    terms = {
        "backward.dh_gemm": dh_gemm,
        "backward.dh0_gemm": dh0_gemm,
        "backward.dx_gemm_layer0": dx_layer0,
        "backward.dx_gemm_upper": dx_upper,
        "backward.dw_ih_gemm": dw_ih,
        "backward.dw_hh_gemm": dw_hh,
        "backward.elementwise": elementwise,
        "backward.bias_grad": bias_grad,
        "backward.transcendental": transcendental,
    }
    gemm = dh_gemm + dh0_gemm + dx_layer0 + dx_upper + dw_ih + dw_hh
    return FlopCount(gemm, elementwise + bias_grad, transcendental, terms)


def flops(
    cell: str,
    batch: int,
    seq_len: int,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    phase: str = "forward",
    nonlinearity: str = "tanh",
    precision: str = "fp32",
) -> FlopCount:
    """FLOPs of a (stacked, optionally bidirectional) LSTM/GRU/RNN on x: (T, B, D).

    phase: "forward" (one forward pass; training and eval mode execute the same arithmetic),
    "backward" (the backward pass alone) or "train" (forward + backward).
    nonlinearity: "tanh" | "relu", RNN only.
    """
    return count_flops(
        Config(
            cell=cell,
            batch=batch,
            seq_len=seq_len,
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            phase=phase,
            nonlinearity=nonlinearity,
            precision=precision,
        )
    )


def count_flops(config: Config) -> FlopCount:
    """FLOPs of one call of ``config`` (its cell, sizes, layers, directions, nonlinearity and phase;
    impl, dtype and threads do not change the arithmetic)."""
    if config.phase == "forward":
        return _forward(config)
    if config.phase == "backward":
        return _backward(config)
    return _forward(config) + _backward(config)
