# cython: language_level=3
"""Reduced-precision inference forwards (issue 18): int8 dynamic quantization and bf16, one layer and
one direction, eval mode, float32 in and out. The schemes are specified in NumPy in
``lstm_energy.reference.lowp``; the products are ``_lowp_gemm.h`` (int8: scalar, AVX2 and AVX-512
VNNI paths and AMX-INT8 tiles; bf16: AMX-BF16 tiles, AVX512_BF16, AVX2 (widened to float32, FMA) and a
scalar conversion path), chosen at run time under the kernels' instruction-set choice
(``lstm_energy.kernels.isa``; the AMX tiles also by ``set_amx`` / LSTM_ENERGY_AMX, see ``_amx.h``).
Gate math is the float32 kernels' (``_vector_math.h``, ``_cell_rows.h``). Products and a large step's
gate math split over the kernels' OpenMP pool like the float32 kernels' (``product_threads``,
``_cell_threads``); every output is computed by one thread in one order, so the results do not depend
on the thread count.

    w = pack_weight(w_ih, "int8")        # once per layer, direction and precision (the layer caches it)
    lowp_forward(cell, x, w_ih_packed, w_hh_packed, bias, h0, c0, y, h_n, c_n, reverse, relu, ws, path=-1)

The product path (``path_level``) is read once per call, under the GIL, and every product of the call
takes it (``path``: a level the caller sampled, e.g. the layer, which packs its int8 weights for that
path's layout; -1: read it at the start of the call); a set_isa / set_amx from another thread cannot
switch a running call to a path whose int8 layout differs from its weights'.

``bias``: LSTM/RNN b_ih + b_hh (G*H,); GRU [b_ir+b_hr | b_iz+b_hz | b_in | b_hn] (4H,).
"""
import os
from contextlib import contextmanager

import numpy as np

from lstm_energy._layers.aligned import aligned_copy, aligned_empty, aligned_zeros
# the chunk policy is pure Python, shared with the traffic model (lstm_energy.costs.traffic)
from lstm_energy._layers.workspaces import chunk_steps
from lstm_energy.config import GATES
from lstm_energy.errors import ConfigError, IsaUnsupportedError, ShapeError

from libc.stdint cimport int8_t, int32_t, uint16_t

from lstm_energy.kernels._vector_math cimport sigmoid_bias_f32, tanh_bias_f32
from lstm_energy.kernels._cell_rows cimport gru_forward_f32, lstm_state_f32
from lstm_energy.kernels._isa cimport bind_isa
from lstm_energy.kernels._cell_threads cimport cell_threads, part_start
from cython.parallel cimport prange

bind_isa()

cdef extern from "_amx.h" nogil:
    int lstm_energy_amx_wanted
    const char* lstm_energy_amx_pretend
    const char* lstm_energy_amx_missing()

cdef extern from "_lowp_gemm.h" nogil:
    int LE_LP_SCALAR, LE_LP_AVX2, LE_LP_AVX512, LE_LP_AMX
    int lstm_energy_int8_path()
    int lstm_energy_bf16_path()
    int lstm_energy_int8_layout(int path)
    int lstm_energy_lp_path_cap(int bf16)
    int lstm_energy_cpu_has_vnni()
    int lstm_energy_cpu_has_bf16()
    void lstm_energy_quantize_rows(const float* a, Py_ssize_t lda, Py_ssize_t M, Py_ssize_t K,
                                   Py_ssize_t Kp, void* q, float* scale, int layout)
    void lstm_energy_bf16_rows(const float* a, Py_ssize_t lda, Py_ssize_t M, Py_ssize_t K,
                               Py_ssize_t Kp, uint16_t* out)
    void lstm_energy_int8_gemm(int path, Py_ssize_t M, Py_ssize_t N, Py_ssize_t Kp, const void* q,
                               const float* scale, const int8_t* panels, const int32_t* wsum,
                               const float* wscale, float* c, Py_ssize_t ldc, int accumulate)
    int lstm_energy_lp_threads(Py_ssize_t M, Py_ssize_t N, Py_ssize_t Kp)
    void lstm_energy_bf16_gemm(int path, Py_ssize_t M, Py_ssize_t N, Py_ssize_t Kp, const uint16_t* a,
                               const uint16_t* panels, float* c, Py_ssize_t ldc, int accumulate)

PATH_NAMES = {LE_LP_SCALAR: "scalar", LE_LP_AVX2: "avx2", LE_LP_AVX512: "avx512"}
#: LSTM_ENERGY_AMX=off keeps the bf16 and int8 products off the AMX tiles (on AVX512_BF16 / VNNI); unset,
#: auto or on: AMX where the process may use it (on: refused at import where it may not)
AMX_ENV_VAR = "LSTM_ENERGY_AMX"


cdef inline Py_ssize_t int8_padded_k(Py_ssize_t K) noexcept nogil:
    """K padded to a multiple of 4, the int8 panels' k-group (VNNI's 4 k per lane; the k2 layout pads
    alike): the length of a packed weight's rows and of the scratch's activation rows."""
    return (K + 3) // 4 * 4


def path_level(str precision):
    """The C level (LE_LP_*: 0 scalar, 1 avx2, 2 avx512, 3 amx) of the path the ``precision`` products
    take now: what a caller samples once and passes to ``lowp_forward(..., path=)``."""
    if precision == "int8":
        return lstm_energy_int8_path()
    if precision == "bf16":
        return lstm_energy_bf16_path()
    raise ConfigError(f"unknown reduced precision {precision!r}: expected 'int8' or 'bf16'")


def path_name(str precision, int path):
    """The name ``product_path`` gives path level ``path`` of ``precision``."""
    if not LE_LP_SCALAR <= path <= LE_LP_AMX:
        raise ConfigError(f"path={path} is not a reduced-precision path level: expected 0..3 (path_level())")
    if path == LE_LP_AMX:
        return "amx_" + precision
    if path == LE_LP_AVX512:
        return "vnni" if precision == "int8" else "avx512_bf16"
    return PATH_NAMES[path]


def path_layout(int path):
    """The int8 weight layout path level ``path`` reads: "k4" (VNNI, AMX) or "k2" (AVX2, scalar)."""
    return "k4" if lstm_energy_int8_layout(path) == 4 else "k2"


def product_path(str precision):
    """The path the ``precision`` products take now: int8 "scalar" | "avx2" | "vnni" (AVX-512 VNNI) |
    "amx_int8" (AMX-INT8 tiles for whole 16 x 16 x 64 blocks, the rest on VNNI; the same bits); bf16
    "scalar" (conversion) | "avx2" (widened to float32, FMA) | "avx512_bf16" (AVX512_BF16) |
    "amx_bf16" (AMX-BF16 tiles for whole 16 x 16 x 32 blocks, the rest on AVX512_BF16)."""
    return path_name(precision, path_level(precision))


def amx_missing():
    """None when this process can run the bf16 and int8 products on AMX tiles, else what is missing: a
    CPU flag as /proc/cpuinfo spells it ("amx_tile", "amx_bf16", "amx_int8", "avx512f", ...), the OS's
    tile state, or Linux's permission for it (asked for on the first call; ``_amx.h``)."""
    cdef const char* missing = lstm_energy_amx_missing()
    return None if missing == NULL else missing.decode()


def amx_enabled():
    """True when the bf16 and int8 products may take the AMX tiles (not switched off by ``set_amx(False)`` or
    LSTM_ENERGY_AMX=off, and ``amx_missing()`` is None); they do so on the avx512 kernel path."""
    return bool(lstm_energy_amx_wanted) and amx_missing() is None


def set_amx(bint enabled):
    """Let the bf16 and int8 products use the AMX tiles (True) or keep them on AVX512_BF16 and VNNI
    (False); return the previous setting. Enabling is refused with IsaUnsupportedError where the tiles
    cannot be used."""
    global lstm_energy_amx_wanted
    previous = bool(lstm_energy_amx_wanted)
    if enabled and amx_missing() is not None:
        raise IsaUnsupportedError(
            f"the AMX bf16 and int8 products need {amx_missing()!r}, which this machine does not provide; "
            f"leave the tiles off (set_amx(False), or {AMX_ENV_VAR} unset or off)")
    lstm_energy_amx_wanted = 1 if enabled else 0
    return previous


@contextmanager
def use_amx(bint enabled):
    """``with use_amx(False): ...`` runs the block's bf16 and int8 products off the AMX tiles, then
    restores the previous setting."""
    global lstm_energy_amx_wanted
    previous = set_amx(enabled)
    try:
        yield enabled
    finally:
        lstm_energy_amx_wanted = 1 if previous else 0


_pretended_reason = None   # the bytes lstm_energy_amx_pretend points at, kept alive while it does


@contextmanager
def _pretend_amx_missing(str reason):
    """Tests: within the block the AMX tiles count as unusable for ``reason`` (what ``amx_missing()``
    returns, so enabling them is refused and the products stay off them) on any CPU; then the CPU's
    answer again."""
    global _pretended_reason, lstm_energy_amx_pretend
    cdef bytes encoded = reason.encode()
    _pretended_reason = encoded
    lstm_energy_amx_pretend = encoded
    try:
        yield reason
    finally:
        lstm_energy_amx_pretend = NULL
        _pretended_reason = None


def _amx_from_environment():
    global lstm_energy_amx_wanted
    value = os.environ.get(AMX_ENV_VAR, "").strip().lower()
    if value in ("", "auto"):
        lstm_energy_amx_wanted = 1
    elif value in ("off", "on"):
        try:
            set_amx(value == "on")
        except IsaUnsupportedError as exc:
            raise IsaUnsupportedError(f"{AMX_ENV_VAR}=on: {exc}") from None
    else:
        raise IsaUnsupportedError(f"{AMX_ENV_VAR}={value!r}: expected on, off or auto")


_amx_from_environment()


def product_threads(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K):
    """Threads a reduced-precision product of M x N x K multiply-adds runs on now: the kernels' OpenMP
    pool (threadpoolctl's "openmp" limit), at most one per 16-column panel, or 1 below the size where
    a fork/join pays (the float32 products' threshold). The panels split into contiguous ranges, each
    column summed by one thread: results do not depend on the thread count."""
    return lstm_energy_lp_threads(M, N, int8_padded_k(K))


include "_panel_pairs.pxi"


def cpu_flags():
    """{"avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8": bool} (/proc/cpuinfo spelling): the first
    two as CPUID reports them, the AMX ones when the tiles are usable here (``amx_missing()`` is None)."""
    amx = amx_missing() is None
    return {"avx512_vnni": bool(lstm_energy_cpu_has_vnni()), "avx512_bf16": bool(lstm_energy_cpu_has_bf16()),
            "amx_bf16": amx, "amx_int8": amx}


def int8_layout(path=None):
    """The int8 weight layout the product of ``path`` reads ("avx2" | "scalar" | "vnni" | "amx_int8";
    None: the path the int8 products take now): "k4" for VNNI and AMX, "k2" otherwise
    (``_lowp_gemm.h``'s header)."""
    if path is None:
        return path_layout(lstm_energy_int8_path())
    if path not in ("scalar", "avx2", "vnni", "amx_int8"):
        raise ConfigError(f"unknown int8 path {path!r}: expected 'scalar', 'avx2', 'vnni' or 'amx_int8'")
    return "k4" if path in ("vnni", "amx_int8") else "k2"


def pack_weight(w, str precision, layout=None):
    """W (N, K) float32 -> the packed form ``_lowp_gemm.h`` reads (a dict; see its header comment).

    layout (int8 only): "k4" | "k2", default the layout of the path the int8 products take now
    (``int8_layout()``); a weight packed for one layout is refused by a product on the other.
    The panels (one 64-byte row per k group) and the int8 column sums and scales (64 bytes per panel)
    start on a cache line, so no vector or tile load of them straddles two lines (``_layers.aligned``)."""
    from lstm_energy.reference.lowp import prepare_weight, to_bf16

    w = np.ascontiguousarray(w, np.float32)
    N, K = w.shape
    P = (N + 15) // 16
    if precision == "int8":
        layout = int8_layout() if layout is None else layout
        if layout not in ("k4", "k2"):
            raise ConfigError(f"unknown int8 layout {layout!r}: expected 'k4' (VNNI) or 'k2' (AVX2, scalar)")
        group = 4 if layout == "k4" else 2
        wq, wscale = prepare_weight(w, "int8")
        Kp = int8_padded_k(K)
        padded = np.zeros((P * 16, Kp), np.int8)
        padded[:N, :K] = wq
        panels = aligned_copy(padded.reshape(P, 16, Kp // group, group).transpose(0, 2, 1, 3))
        wsum = aligned_zeros(P * 16, np.int32)
        wsum[:N] = wq.sum(axis=1, dtype=np.int32)
        scale = aligned_zeros(P * 16, np.float32)
        scale[:N] = wscale
        return {"precision": "int8", "layout": layout, "N": N, "K": K, "Kp": Kp, "panels": panels.reshape(-1),
                "wsum": wsum, "wscale": scale}
    if precision == "bf16":
        Kp = (K + 1) // 2 * 2
        bits = (to_bf16(w).view(np.uint32) >> np.uint32(16)).astype(np.uint16)
        padded = np.zeros((P * 16, Kp), np.uint16)
        padded[:N, :K] = bits
        panels = aligned_copy(padded.reshape(P, 16, Kp // 2, 2).transpose(0, 2, 1, 3))
        return {"precision": "bf16", "layout": "k2", "N": N, "K": K, "Kp": Kp, "panels": panels.reshape(-1)}
    raise ConfigError(f"unknown reduced precision {precision!r}: expected 'int8' or 'bf16'")


def scratch_size(Py_ssize_t M, Py_ssize_t K):
    """float32 elements of the scratch that holds M rows of K quantized (int16) or bf16 activations
    plus their M scales: what ``linear``/``lowp_forward`` need as ``scratch`` (K: the larger of the two
    weights' K for a forward)."""
    Kp = int8_padded_k(K)
    return (M * Kp + 1) // 2 + M


cdef class _Packed:
    """Raw pointers of one packed weight (the dict's arrays stay referenced by the dict), and the product
    path (LE_LP_*) its products take in this call: sampled once, under the GIL."""
    cdef int int8
    cdef int path
    cdef Py_ssize_t N, K, Kp
    cdef const int8_t* q_panels
    cdef const uint16_t* b_panels
    cdef const int32_t* wsum
    cdef const float* wscale

    def __init__(self, dict packed, int path=-1):
        cdef const int8_t[::1] qp
        cdef const uint16_t[::1] bp
        cdef const int32_t[::1] ws
        cdef const float[::1] sc
        self.N, self.K, self.Kp = packed["N"], packed["K"], packed["Kp"]
        self.int8 = packed["precision"] == "int8"
        precision = "int8" if self.int8 else "bf16"
        if path < 0:
            path = path_level(precision)
        elif path > lstm_energy_lp_path_cap(0 if self.int8 else 1):
            raise IsaUnsupportedError(
                f"path={path} ({path_name(precision, path)}) is beyond what this CPU runs for {precision} "
                f"(at most {path_name(precision, lstm_energy_lp_path_cap(0 if self.int8 else 1))}); pass "
                "lowp.path_level(precision), or -1 for the current path")
        self.path = path
        if self.int8:
            now = path_layout(path)
            if packed.get("layout") != now:
                raise ShapeError(
                    f"this int8 weight was packed in layout {packed.get('layout')!r}, but the int8 "
                    f"products take the {path_name('int8', path)} path, which reads layout {now!r}: "
                    "pack it again (pack_weight) after changing the instruction-set path")
            qp = packed["panels"]
            ws = packed["wsum"]
            sc = packed["wscale"]
            self.q_panels, self.wsum, self.wscale = &qp[0], &ws[0], &sc[0]
        else:
            bp = packed["panels"]
            self.b_panels = &bp[0]


cdef class _Scratch:
    """Quantized (int16 / u8) or bf16 activations of up to M rows of K, then their M scales, in a
    caller-owned float32 array of ``scratch_size(M, K)`` elements."""
    cdef void* q
    cdef float* scales

    def __init__(self, float[::1] scratch, Py_ssize_t M, Py_ssize_t K, str who):
        cdef Py_ssize_t need = scratch_size(M, K)
        if scratch.shape[0] < need:
            raise ShapeError(f"{who}: scratch has {scratch.shape[0]} float32 elements, needs {need} for {M} "
                             f"rows of {K}; allocate np.empty(lowp.scratch_size({M}, {K}), np.float32)")
        self.q = &scratch[0]
        self.scales = &scratch[0] + (need - M)


cdef void linear_rows(_Packed w, _Scratch sc, const float* a, Py_ssize_t lda, Py_ssize_t M,
                      float* c, Py_ssize_t ldc, int accumulate) noexcept nogil:
    """C (M, N) (+)= A (M, K, row stride lda) @ W^T in the packed weight's precision, on the path ``w``
    sampled (never re-read here, without the GIL: a switch would change the int8 layout mid-call)."""
    cdef int path = w.path
    if w.int8:
        # q, s = quantize_rows(a[:M])   (M, K) int8 (stored as the path's layout), (M,) scales
        lstm_energy_quantize_rows(a, lda, M, w.K, w.Kp, sc.q, sc.scales, lstm_energy_int8_layout(path))
        # c[:M] (+)= (q @ Wq.T) * (s[:, None] * wscale[None, :])   (M, N), exact int32 sums,
        #   Wq, wscale = quantize_rows(W) (reference.lowp.int8_linear)
        lstm_energy_int8_gemm(path, M, w.N, w.Kp, sc.q, sc.scales, w.q_panels, w.wsum, w.wscale, c, ldc,
                              accumulate)
    else:
        # a16 = to_bf16(a[:M])   (M, K) bf16 bits
        lstm_energy_bf16_rows(a, lda, M, w.K, w.Kp, <uint16_t*>sc.q)
        # c[:M] (+)= a16 @ to_bf16(W).T   (M, N), float32 sums (reference.lowp.bf16_linear)
        lstm_energy_bf16_gemm(path, M, w.N, w.Kp, <uint16_t*>sc.q, w.b_panels, c, ldc, accumulate)


def linear(const float[:, ::1] a, dict packed, float[:, ::1] out, bint accumulate=False, scratch=None):
    """out (M, N) (+)= a (M, K) @ W^T through the packed weight (tests and benchmarks of the product).
    scratch: float32 (scratch_size(M, K),), allocated here when None."""
    cdef _Packed w = _Packed(packed)
    cdef Py_ssize_t M = a.shape[0]
    if a.shape[1] != w.K or out.shape[0] != M or out.shape[1] != w.N:
        raise ShapeError(f"linear: a {tuple(a.shape)[:2]}, out {tuple(out.shape)[:2]} do not fit a packed "
                         f"weight of N={w.N}, K={w.K}: pass a (M, {w.K}) and out (M, {w.N})")
    if scratch is None:
        scratch = aligned_empty(scratch_size(M, w.K), np.float32)
    cdef _Scratch sc = _Scratch(scratch, M, w.K, "linear")
    with nogil:
        # out[:] (+)= a @ W.T   (M, N), in the packed weight's precision
        linear_rows(w, sc, &a[0, 0], a.shape[1], M, &out[0, 0], out.shape[1], accumulate)


cdef inline void cell_rows(int kind, bint relu, Py_ssize_t b0, Py_ssize_t b1, Py_ssize_t H,
                           Py_ssize_t GH, float* g_t, float* gh, const float* bias, float* c,
                           const float* h_prev, Py_ssize_t h_ld, float* y_t, Py_ssize_t y_ld) noexcept nogil:
    """One step's float32 gate math on batch rows [b0, b1) (kind 0 LSTM, 1 GRU, 2 RNN; a part of the
    step, see _cell_threads). GH = G*H. g_t: (B, GH) the step's gates (the input product and, LSTM and
    RNN, the recurrent one), activated in place; gh: (B, 3H) the GRU's recurrent product; bias: see the
    module docstring; c: (B, H) the LSTM's cell state, updated in place; h_prev: (B, H) row stride h_ld;
    y_t: (B, H) OUT, row stride y_ld."""
    cdef Py_ssize_t b, j
    cdef float* g
    cdef float* y
    for b in range(b0, b1):
        g = g_t + b * GH
        y = y_t + b * y_ld
        if kind == 1:
            gru_forward_f32(g, gh + b * GH, bias, gh + b * GH + 2 * H, h_prev + b * h_ld, y, H)
        elif kind == 0:
            sigmoid_bias_f32(g, bias, 2 * H)
            tanh_bias_f32(g + 2 * H, bias + 2 * H, H)
            sigmoid_bias_f32(g + 3 * H, bias + 3 * H, H)
            lstm_state_f32(g, c + b * H, c + b * H, y, H)
        elif relu:
            for j in range(H):
                y[j] = max(g[j] + bias[j], 0.0)
        else:
            tanh_bias_f32(g, bias, H)
            for j in range(H):
                y[j] = g[j]


def workspace_shapes(str cell, Py_ssize_t T, Py_ssize_t B, Py_ssize_t D, Py_ssize_t H, steps_per_chunk=None):
    """{name: shape} of the float32 workspace ``lowp_forward`` writes into (the caller allocates it once
    and passes it to every call of that shape): gates (Tc, B, G*H), the input projection of a chunk of
    Tc steps and then their activated gates; gh (B, 3H) the GRU's recurrent product of one step; c (B, H)
    the LSTM's running cell state; scratch the quantized or bf16 activations of a chunk and their scales
    (``scratch_size``). Tc: steps_per_chunk, by default ``chunk_steps(T, B, G*H)``; ``lowp_forward``
    reads it from the gates' shape."""
    G = GATES[cell]
    Tc = chunk_steps(T, B, G * H) if steps_per_chunk is None else steps_per_chunk
    if not 1 <= Tc <= max(T, 1):
        raise ConfigError(f"workspace_shapes: steps_per_chunk={Tc} must be between 1 and T={T}")
    shapes = {"gates": (Tc, B, G * H), "scratch": (scratch_size(Tc * B, max(D, H)),)}
    if cell == "gru":
        shapes["gh"] = (B, 3 * H)
    if cell == "lstm":
        shapes["c"] = (B, H)
    return shapes


def lowp_forward(str cell,
                 const float[:, :, ::1] x,     # IN  (T, B, D)
                 dict w_ih,                    # IN  pack_weight(w_ih, precision)  (G*H, D)
                 dict w_hh,                    # IN  pack_weight(w_hh, precision)  (G*H, H)
                 const float[::1] bias,        # IN  see the module docstring
                 const float[:, ::1] h0,       # IN  (B, H)
                 c0,                           # IN  (B, H) float32 for the LSTM, else None
                 float[:, :, :] y,             # OUT (T, B, H), rows may be strided
                 float[:, ::1] h_n,            # OUT (B, H)
                 c_n,                          # OUT (B, H) for the LSTM, else None
                 bint reverse,
                 bint relu,
                 dict ws,                      # SCRATCH workspace_shapes(cell, T, B, D, H), float32
                 int path=-1):                 # IN  path_level(precision) sampled by the caller; -1: now
    """One layer and direction of an inference forward in the packed weights' precision: the input
    projection a chunk of steps at a time (ws["gates"] holds one chunk's gates, ``chunk_steps``), each
    step's recurrent product added to its gates (GRU: into gh), then the step's float32 gate math."""
    cdef Py_ssize_t T = x.shape[0], B = x.shape[1], D = x.shape[2], H = h0.shape[1]
    cdef int G = GATES[cell]
    cdef int kind = ("lstm", "gru", "rnn").index(cell)
    if w_ih.get("precision") != w_hh.get("precision"):
        raise ShapeError(f"lowp_forward({cell!r}): w_ih is packed for {w_ih.get('precision')!r}, w_hh for "
                         f"{w_hh.get('precision')!r}; pack both with the same precision")
    if path < 0:   # one path for every product of the call
        path = path_level(w_ih["precision"])
    cdef _Packed wi = _Packed(w_ih, path)
    cdef _Packed wh = _Packed(w_hh, path)
    if wi.N != G * H or wi.K != D or wh.N != G * H or wh.K != H or w_ih["precision"] != w_hh["precision"]:
        raise ShapeError(f"lowp_forward({cell!r}): packed weights (N={wi.N}, K={wi.K}) / "
                         f"(N={wh.N}, K={wh.K}) "
                         f"do not fit D={D}, H={H}, G={G}; pack w_ih ({G * H}, {D}) and w_hh ({G * H}, {H}) "
                         "with the same precision")
    if bias.shape[0] != (4 * H if kind == 1 else G * H):
        raise ShapeError(f"lowp_forward({cell!r}): bias has {bias.shape[0]} elements, expected "
                         f"{4 * H if kind == 1 else G * H}")
    if y.shape[0] != T or y.shape[1] != B or y.shape[2] != H or y.strides[2] != 4:
        raise ShapeError(f"lowp_forward: y must be (T, B, H) = ({T}, {B}, {H}) with contiguous rows")
    # the steps read B rows of h0 and write B rows of h_n (and of the LSTM's c): a (1, H) h0 would be read
    # past its end, and np.copyto would broadcast a (1, H) c0 without a word
    states = {"h0": h0, "h_n": h_n} if kind != 0 else {"h0": h0, "h_n": h_n, "c0": c0, "c_n": c_n}
    for name, state in states.items():
        if state is None or tuple(state.shape) != (B, H):
            raise ShapeError(f"lowp_forward({cell!r}): {name} must be (B, H) = ({B}, {H}), got "
                             f"{None if state is None else tuple(state.shape)}")
    given = ws.get("gates")   # its first dimension is the chunk length (checked with the rest below)
    cdef Py_ssize_t Tc = chunk_steps(T, B, G * H)
    if given is not None and given.ndim == 3 and 1 <= given.shape[0] <= T:
        Tc = given.shape[0]
    expected = workspace_shapes(cell, T, B, D, H, Tc)
    for name, shape in expected.items():
        found = ws.get(name)
        if found is None or found.shape != shape or found.dtype != np.float32 or not found.flags.c_contiguous:
            raise ShapeError(f"lowp_forward({cell!r}): workspace {name!r} must be a C-contiguous "
                             f"float32 array of shape {shape}, got "
                             f"{None if found is None else (found.shape, found.dtype.name)}; allocate "
                             "lowp.workspace_shapes(cell, T, B, D, H)")
    cdef float[:, :, ::1] gates = ws["gates"]
    cdef float[:, ::1] gh
    cdef float* ghp = NULL
    if kind == 1:
        gh = ws["gh"]
        ghp = &gh[0, 0]
    cdef float[:, ::1] c_state
    cdef float* cp = NULL
    if kind == 0:
        np.copyto(ws["c"], c0)
        c_state = ws["c"]
        cp = &c_state[0, 0]
    cdef Py_ssize_t n, t_lo = 0
    cdef _Scratch sx = _Scratch(ws["scratch"], Tc * B, max(D, H), "lowp_forward")
    cdef Py_ssize_t y_step = y.strides[0] // 4, y_ld = y.strides[1] // 4
    cdef float* yb = &y[0, 0, 0]
    cdef float* gb = &gates[0, 0, 0]
    cdef const float* bb = &bias[0]
    cdef const float* h_prev
    cdef Py_ssize_t h_ld, s, t, part, GH = G * H
    cdef int nt
    cdef float* g_t
    with nogil:
        for s in range(T):
            t = T - 1 - s if reverse else s
            if s % Tc == 0:   # the input projection of steps s .. s + n - 1, times t_lo .. t_lo + n - 1
                n = min(Tc, T - s)
                t_lo = t - n + 1 if reverse else t
                # gates[:n] = x[t_lo:t_lo+n] @ W_ih.T   (n*B, G*H), in the weights' precision
                linear_rows(wi, sx, &x[t_lo, 0, 0], D, n * B, gb, GH, 0)
            if s == 0:
                h_prev = &h0[0, 0]
                h_ld = H
            else:
                h_prev = yb + (t + 1 if reverse else t - 1) * y_step
                h_ld = y_ld
            g_t = gb + (t - t_lo) * B * GH
            if kind == 1:
                # gh = h_prev @ W_hh.T   (B, 3H)
                linear_rows(wh, sx, h_prev, h_ld, B, ghp, 3 * H, 0)
            else:
                # gates[t - t_lo] += h_prev @ W_hh.T   (B, G*H)
                linear_rows(wh, sx, h_prev, h_ld, B, g_t, GH, 1)
            nt = cell_threads(B, B * GH)
            if nt > 1:   # rows split over the pool, as the step's product is
                for part in prange(nt, num_threads=nt, schedule="static"):
                    cell_rows(kind, relu, part_start(B, part, nt), part_start(B, part + 1, nt), H, GH, g_t,
                              ghp, bb, cp, h_prev, h_ld, yb + t * y_step, y_ld)
            else:
                cell_rows(kind, relu, 0, B, H, GH, g_t, ghp, bb, cp, h_prev, h_ld, yb + t * y_step, y_ld)
    t = 0 if reverse else T - 1
    np.copyto(np.asarray(h_n), np.asarray(y[t]))
    if kind == 0:
        np.copyto(c_n, np.asarray(c_state))
