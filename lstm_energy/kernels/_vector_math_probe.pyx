# cython: language_level=3
"""Test and diagnostic access to the float32 C helpers of the kernels: the row activations of
``_vector_math.h``, the packed products of ``_packed_gemm.h`` and the B = 1 step that projects
ahead (``_step_ahead.h``).

The kernels call the C functions directly; this module only lets tests and profiles apply them to
NumPy arrays, through the runtime-dispatched entry points or the baseline (SSE2) build explicitly.
"""
import numpy as np

from lstm_energy._layers.aligned import aligned_empty
from lstm_energy.errors import ConfigError, IsaUnsupportedError, ShapeError, StateError

from lstm_energy.kernels._isa cimport bind_isa

bind_isa()   # the C headers follow the _isa module's path choice (LSTM_ENERGY_ISA, set_isa)

cdef extern from "_vector_math.h" nogil:
    void lstm_energy_sigmoid_bias_f32(float* a, const float* bias, Py_ssize_t n)
    void lstm_energy_tanh_f32(const float* src, float* dst, Py_ssize_t n)
    void lstm_energy_sigmoid_bias_rows_baseline(float* a, const float* bias, Py_ssize_t n)
    void lstm_energy_tanh_rows_baseline(const float* src, float* dst, Py_ssize_t n)
    int lstm_energy_vector_math_uses_avx2()
    int lstm_energy_vector_math_build()

cdef extern from "_packed_gemm.h" nogil:
    Py_ssize_t lstm_energy_panels_size(Py_ssize_t K, Py_ssize_t N)
    void lstm_energy_pack_panels(Py_ssize_t K, Py_ssize_t N, const float* src, Py_ssize_t sk,
                                 Py_ssize_t sn, float* panels)
    void lstm_energy_gemm_packed(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float* A,
                                 Py_ssize_t lda, const float* panels, int accumulate, float* C,
                                 Py_ssize_t ldc)
    void lstm_energy_gemm(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float* A, Py_ssize_t a_rs,
                          Py_ssize_t a_ks, const float* B, Py_ssize_t ldb, float* b_scratch,
                          int accumulate, float* C, Py_ssize_t ldc)
    int lstm_energy_packed_gemm_available()
    enum: LE_NR
    enum: LE_KC

cdef extern from "_step_ahead.h" nogil:
    int lstm_energy_steps_project_ahead(Py_ssize_t B)
    void lstm_energy_row_step_with_block(
        Py_ssize_t N, Py_ssize_t K, const float* h, const float* panels, int accumulate, float* c,
        Py_ssize_t Nx, Py_ssize_t Kx, const float* X, Py_ssize_t ldx, const float* x_panels,
        Py_ssize_t q0, Py_ssize_t q1, float* P, Py_ssize_t ldp)
    enum: LE_AHEAD_ROWS

BUILDS = ("dispatch", "baseline")


def _check(values, build):
    if build not in BUILDS:
        raise ConfigError(f"build must be one of {BUILDS}, got {build!r}")
    return np.ascontiguousarray(values, dtype=np.float32).reshape(-1)


def sigmoid_f32(values, build="dispatch"):
    """σ(values) as float32 (1-D copy); build: "dispatch" (what the kernels use) or "baseline"."""
    cdef float[::1] out = _check(values, build).copy()
    cdef float[::1] zeros = np.zeros(max(out.shape[0], 1), np.float32)
    if out.shape[0] == 0:
        return np.asarray(out)
    if build == "dispatch":
        lstm_energy_sigmoid_bias_f32(&out[0], &zeros[0], out.shape[0])
    else:
        lstm_energy_sigmoid_bias_rows_baseline(&out[0], &zeros[0], out.shape[0])
    return np.asarray(out)


def tanh_f32(values, build="dispatch"):
    """tanh(values) as float32 (1-D copy); build: "dispatch" (what the kernels use) or "baseline"."""
    cdef float[::1] src = _check(values, build)
    cdef float[::1] out = np.empty(src.shape[0], np.float32)
    if src.shape[0] == 0:
        return np.asarray(out)
    if build == "dispatch":
        lstm_energy_tanh_f32(&src[0], &out[0], src.shape[0])
    else:
        lstm_energy_tanh_rows_baseline(&src[0], &out[0], src.shape[0])
    return np.asarray(out)


def uses_avx2():
    """True when the kernels run the AVX2+FMA build of the activations (or a wider one) now."""
    return bool(lstm_energy_vector_math_uses_avx2())


def vector_math_build():
    """The build of the row activations the kernels run now: "baseline", "avx2" or "avx512"."""
    return ("baseline", "avx2", "avx512")[lstm_energy_vector_math_build()]


#: the C constants the Python side restates (lstm_energy._layers.workspaces: PANEL_WIDTH, GEMM_K_CHUNK),
#: read from _packed_gemm.h, so that a test can hold the two equal
PANEL_WIDTH = LE_NR
GEMM_K_CHUNK = LE_KC


def packed_gemm_available():
    """True when the kernels' own packed GEMM runs on the current path (avx2 or avx512)."""
    return bool(lstm_energy_packed_gemm_available())


def pack_panels(b):
    """The 16-column panels of b (K, N), as the kernels pack W_hh: shape (ceil(N / 16), K, 16),
    zero-padded past column N."""
    cdef float[:, :] src = np.asarray(b, dtype=np.float32)
    cdef Py_ssize_t K = src.shape[0], N = src.shape[1]
    out = aligned_empty(lstm_energy_panels_size(K, N), np.float32)   # as the layers' workspaces
    cdef float[::1] panels = out
    if out.size and K and N:
        lstm_energy_pack_panels(K, N, &src[0, 0], src.strides[0] // 4, src.strides[1] // 4,
                                &panels[0])
    return out.reshape((N + LE_NR - 1) // LE_NR, K, LE_NR)


include "_panel_pairs.pxi"


def gemm_packed(float[:, :] a, float[:, :, ::1] panels, Py_ssize_t n, float[:, :] c, bint accumulate):
    """c = a @ b (+ c when accumulate) in place, b (K, n) given as pack_panels(b).

    a: (M, K) with unit column stride; c: (M, n) with unit column stride (any row strides).
    """
    if not lstm_energy_packed_gemm_available():
        raise IsaUnsupportedError("gemm_packed: the current kernel path has no packed GEMM (baseline); "
                                  "check packed_gemm_available() first")
    cdef Py_ssize_t M = a.shape[0], K = a.shape[1]
    if (panels.shape[0] != (n + LE_NR - 1) // LE_NR or panels.shape[1] != K or c.shape[0] != M
            or c.shape[1] != n or (n > 1 and c.strides[1] != 4) or (K > 1 and a.strides[1] != 4)):
        raise ShapeError(f"gemm_packed: shapes a {(a.shape[0], a.shape[1])}, panels "
                         f"{(panels.shape[0], panels.shape[1], panels.shape[2])} for n={n}, c "
                         f"{(c.shape[0], c.shape[1])} do not fit c (M, n) = a (M, K) @ b (K, n) "
                         f"with unit column strides; pack b with pack_panels and pass matching arrays")
    if M == 0 or n == 0:
        return
    # c[:] = a @ b (+ c)   (M, n), b (K, n) as its panels
    lstm_energy_gemm_packed(M, n, K, &a[0, 0], a.strides[0] // 4, &panels[0, 0, 0], accumulate,
                            &c[0, 0], c.strides[0] // 4)


def gemm_large(float[:, :] a, float[:, ::1] b, float[:, ::1] c, bint accumulate, bint transpose_a,
               bint b_packed=False):
    """c = op(a) @ b (+ c when accumulate) with the kernels' own large GEMM, in place; op(a) = a.T
    when transpose_a (the dW form). a: unit stride along its last axis; b: (K, N), c: (M, N).
    b_packed: hand b over packed for all of K (as the layers pass W_ih.T to the input projection)
    instead of a row-major matrix the GEMM packs a k chunk at a time."""
    if not lstm_energy_packed_gemm_available():
        raise IsaUnsupportedError("gemm_large: the current kernel path has no packed GEMM (baseline); "
                                  "check packed_gemm_available() first")
    cdef Py_ssize_t M = a.shape[1] if transpose_a else a.shape[0]
    cdef Py_ssize_t K = a.shape[0] if transpose_a else a.shape[1]
    cdef Py_ssize_t N = b.shape[1]
    if (b.shape[0] != K or c.shape[0] != M or c.shape[1] != N or (a.shape[1] > 1 and a.strides[1] != 4)):
        raise ShapeError(f"gemm_large: shapes a {(a.shape[0], a.shape[1])} (transpose_a={transpose_a}), "
                         f"b {(b.shape[0], b.shape[1])}, c {(c.shape[0], c.shape[1])} do not fit "
                         f"c (M, N) = op(a) (M, K) @ b (K, N); pass matching arrays")
    if M == 0 or N == 0:
        return
    cdef float[::1] scratch = aligned_empty(max(lstm_energy_panels_size(LE_KC, N), 1), np.float32)
    cdef float* b_scratch = &scratch[0]
    cdef const float* b_source = &b[0, 0]
    cdef Py_ssize_t ldb = N
    cdef float[::1] panels
    if b_packed and K > 0:
        panels = aligned_empty(lstm_energy_panels_size(K, N), np.float32)
        lstm_energy_pack_panels(K, N, &b[0, 0], N, 1, &panels[0])
        b_source, ldb, b_scratch = &panels[0], 0, NULL
    cdef Py_ssize_t lda = a.strides[0] // 4
    if transpose_a:
        # c[:] = a.T @ b (+ c)   (M, N): the dW form
        lstm_energy_gemm(M, N, K, &a[0, 0], 1, lda, b_source, ldb, b_scratch, accumulate, &c[0, 0], N)
    else:
        # c[:] = a @ b (+ c)   (M, N)
        lstm_energy_gemm(M, N, K, &a[0, 0], lda, 1, b_source, ldb, b_scratch, accumulate, &c[0, 0], N)


def steps_project_ahead(Py_ssize_t batch):
    """True when a float32 forward of this batch size runs its steps with the input projection
    folded in (B = 1, the AVX-512 path, one OpenMP thread): ``_step_ahead.h``."""
    return bool(lstm_energy_steps_project_ahead(batch))


def step_with_block(float[::1] h, float[:, :, ::1] panels, Py_ssize_t n, float[::1] c, bint accumulate,
                    float[:, ::1] x, float[:, :, ::1] x_panels, Py_ssize_t nx, Py_ssize_t q0,
                    Py_ssize_t q1, float[:, ::1] p):
    """The B = 1 step with a share of a block's projection, in place: c = h @ b (+ c when
    accumulate) and p[:, 16 q0 : 16 q1] = x @ bx[:, 16 q0 : 16 q1] (clipped at nx), the other
    columns of p untouched. h: (K,); panels: pack_panels(b) for b (K, n); c: (n,);
    x: (8, Kx); x_panels: pack_panels(bx) for bx (Kx, nx); p: (8, nx)."""
    if not lstm_energy_steps_project_ahead(1):
        message = ("step_with_block: the steps do not project ahead on this path or thread count (AVX-512 "
                   "and one OpenMP thread only); check steps_project_ahead(1)")
        from lstm_energy.kernels import isa
        if isa.current() != "avx512":   # a kernel path without the fused step
            raise IsaUnsupportedError(message)
        raise StateError(message)       # the path has it, but the OpenMP pool has more than one thread now
    cdef Py_ssize_t K = h.shape[0], Kx = x.shape[1], n_xpanels = (nx + LE_NR - 1) // LE_NR
    if (panels.shape[0] != (n + LE_NR - 1) // LE_NR or panels.shape[1] != K or c.shape[0] != n
            or x.shape[0] != LE_AHEAD_ROWS or x_panels.shape[0] != n_xpanels
            or x_panels.shape[1] != Kx or p.shape[0] != LE_AHEAD_ROWS or p.shape[1] != nx
            or not 0 <= q0 <= q1 <= n_xpanels or K == 0 or Kx == 0 or n == 0):
        raise ShapeError(f"step_with_block: shapes h ({K},), panels {tuple(panels.shape)[:3]} for "
                         f"n={n}, c ({c.shape[0]},), x {tuple(x.shape)[:2]}, x_panels "
                         f"{tuple(x_panels.shape)[:3]} for nx={nx}, p {tuple(p.shape)[:2]}, panels "
                         f"[{q0}, {q1}) do not fit c (n,) = h @ b, p ({LE_AHEAD_ROWS}, nx) = x @ bx; "
                         f"pack b and bx with pack_panels and pass non-empty matching arrays")
    # c[:] = h @ b (+ c)   (n,);  p[:, 16*q0 : 16*q1] = x @ bx[:, 16*q0 : 16*q1]   (8, <= nx)
    lstm_energy_row_step_with_block(n, K, &h[0], &panels[0, 0, 0], accumulate, &c[0], nx, Kx, &x[0, 0],
                                    Kx, &x_panels[0, 0, 0], q0, q1, &p[0, 0], nx)
