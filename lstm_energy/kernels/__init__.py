"""Cython LSTM, GRU and RNN kernels: one layer, one direction, forward and backward through time.

ENGINE CONTRACT. Two modules implement exactly this API: ``lstm_energy.kernels`` (Cython, no GIL in
the time loops; float32 products on its own packed GEMM on CPUs with AVX2+FMA, the other products
through ``scipy.linalg.cython_blas``, see Threads below) and ``lstm_energy.reference`` (plain NumPy,
the readable specification). ``lstm_energy.layers`` composes layers and directions on top of either,
so the two are interchangeable peers.

Shapes: T sequence, B batch, D input size, H hidden size; G gates (LSTM 4: i|f|g|o, GRU 3: r|z|n,
RNN 1). Every array argument has the same dtype (float32 or float64) and a C-contiguous last
dimension. ``x``, ``dx``, ``h0``, ``c0``, weights, biases and their gradients are fully C-contiguous.
``y`` and ``dy`` may be column slices ``a[:, :, d*H:(d+1)*H]`` of a ``(T, B, dirs*H)`` array: their
row stride is arbitrary and must be honoured (pass it to BLAS as the leading dimension).

``reverse=True`` runs the recurrence from t = T-1 down to 0 (``h0`` is the state before step T-1);
``y[t]`` is still the output for input ``x[t]``.

Allocation belongs to the caller. The kernels never allocate; the caller asks for workspace shapes::

    workspace_shapes(cell, pass_, T, B, D, H, training) -> dict[str, tuple[int, ...]]
        cell: "lstm" | "gru" | "rnn";  pass_: "forward" | "backward"

and passes ``{name: np.empty(shape, dtype)}`` as ``ws`` (forward) or ``bws`` (backward), or better
``lstm_energy._layers.workspaces.allocate_workspace(...)``, the same dict with every array on a 64-byte cache
line (``lstm_energy._layers.aligned``): the micro-kernel reads a panel row as two 32-byte loads, which
straddle two lines when the panels start 16 or 48 bytes off one, and the B = 1 step is
L2-bandwidth bound.
A forward workspace made with ``training=True`` holds what the backward pass needs (LSTM: activated
gates and c_t; GRU: r, z, n and W_hn·h + b_hn; RNN: nothing beyond y) and must be kept unchanged
until the matching backward call. With ``training=False`` nothing is saved and backward is not allowed.
Both passes' workspaces also hold ``w_hh_panels``, the Cython engine's copy of W_hh packed once per
call for the per-step products (float32 with AVX2+FMA; ``lstm_energy/kernels/_packed_gemm.h``); the
forward's also ``w_ih_panels`` (W_ihᵀ for the input projection), the backward's ``gemm_panels``
(scratch for one packed k chunk of the dX/dW operands).

Threads: the Cython engine's float32 products run on the kernels' own packed GEMM and OpenMP pool,
except dA @ W on one thread, which goes to SciPy's OpenBLAS; on several threads a large step's gate
math is split over the same pool (``_cell_threads.pxd``). ``lstm_energy.measure.threads.pinned_threads(n)``
sets both pools; so does ``threadpoolctl.threadpool_limits(n)``, but only once this module is loaded (it
limits the libraries loaded when it is entered): build the first layer, or import this module, before
entering it, or the kernels run on every core inside a "1 thread" block.

The two limits differ in scope. The OpenMP limit is PER CALLING THREAD: ``omp_set_num_threads`` (which
threadpoolctl's "openmp" limit calls) sets the ``nthreads-var`` of the thread that calls it, and every
parallel region here is sized from ``omp_get_max_threads()`` of the thread that runs the kernel. A limit
entered in the main thread does not reach kernels run from a ``threading.Thread`` or a
``ThreadPoolExecutor`` worker, which keep the default (every core, or ``OMP_NUM_THREADS``): enter the limit
inside the thread that calls the kernels. The BLAS limit is PROCESS-WIDE (OpenBLAS has one pool): limits
entered in two threads at once override each other, and their exits can restore in the wrong order.
Several Python threads each running kernels start one OpenMP team each (oversubscribing the cores,
correct but slower). The instruction-set path (``isa.set_isa``) is process-wide too.

Concurrency. The kernels keep no state between calls: two threads may run kernels at once on
different buffers. They must not share an output or workspace buffer (``ws``/``bws``) in concurrent
calls; the layers (``lstm_energy.layers``) guarantee that by running one call at a time per layer.

Forward (outputs overwritten)::

    lstm_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, y, h_n, c_n, ws, training, reverse, weights_packed=False)
    gru_forward (x, w_ih, w_hh, b_ih, b_hh, h0,     y, h_n,      ws, training, reverse, weights_packed=False)
    rnn_forward (x, w_ih, w_hh, b_ih, b_hh, h0,     y, h_n,      ws, training, reverse, relu, weights_packed=False)
    # the Cython engine also takes isa=-1 after weights_packed, and returns whether the panels hold the weights

      x (T, B, D); w_ih (G*H, D); w_hh (G*H, H); b_ih, b_hh (G*H,) (zeros when the layer has no
      bias); h0, c0 (B, H); y (T, B, H) OUT; h_n, c_n (B, H) OUT. weights_packed: the caller vouches
      that ws's ``w_ih_panels`` and ``w_hh_panels`` already hold these w_ih and w_hh packed by an
      earlier forward (the layers keep them per layer and direction for eval-mode calls, until
      load_state_dict): the forward skips packing. The NumPy engine accepts and ignores it.
      Cython engine only: ``isa`` (keyword or after weights_packed), the instruction-set path level the
      caller read once for this call (``isa.current_level()``; -1, the default: read at the start of the
      call); the call decides by it whether to pack (and whether B = 1 steps project ahead), so a
      ``set_isa`` in another thread cannot make it skip a packing its caller counts on. It returns True when
      ``w_ih_panels`` and ``w_hh_panels`` hold the packed weights after the call (packed now or vouched
      for), False when it ran on BLAS (float64, baseline path): a caller keeping panels marks them packed
      only then.

Backward (outputs overwritten, except ``dx`` which is accumulated into when ``accumulate_dx``)::

    lstm_backward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, y, ws, dy, dh_n, dc_n,
                  dx, dw_ih, dw_hh, db_ih, db_hh, dh0, dc0, bws, accumulate_dx, reverse)
    gru_backward (x, w_ih, w_hh, b_ih, b_hh, h0, y, ws, dy, dh_n,
                  dx, dw_ih, dw_hh, db_ih, db_hh, dh0, bws, accumulate_dx, reverse)
    rnn_backward (x, w_ih, w_hh, b_ih, b_hh, h0, y, ws, dy, dh_n,
                  dx, dw_ih, dw_hh, db_ih, db_hh, dh0, bws, accumulate_dx, reverse, relu)

      ws: the forward workspace of a training-mode forward with the same arguments;
      dy (T, B, H): gradient of the loss w.r.t. y; dh_n, dc_n (B, H): w.r.t. the final states;
      dx (T, B, D) OUT (``dx += ...`` when accumulate_dx, for the second direction of a layer);
      dw_ih, dw_hh, db_ih, db_hh: same shapes as the parameters, OUT; dh0, dc0 (B, H) OUT.

Checks. Cython's typed memoryviews enforce each array's number of dimensions, dtype (float32 or
float64, the same for every array) and C-contiguity (of every array but ``y`` and ``dy``). Before
touching memory each function also checks, in O(1) (``_checks.pxd``, ``_recurrent.expect_panels``),
and raises ``lstm_energy.errors.ShapeError`` otherwise: that T, B, D, H are >= 1 and every GEMM
dimension fits BLAS's 32-bit int; every argument's shape against T, B, D, H (the biases too in the
forwards; the backwards do not read them); the workspace arrays' shapes, packed-weight panels
included; and that ``y``/``dy`` have a contiguous last axis and whole-element strides. A backward
whose ``ws`` lacks the saved training arrays (``c`` for LSTM, ``ghn`` for GRU) raises
``lstm_energy.errors.StateError``, and a missing workspace key a ``KeyError``. Not checked: overlap
between inputs and outputs, finite values, and whether ``ws`` holds the forward of these same
arguments. ``lstm_energy.layers`` validates its users' inputs (shapes, dtypes, state) before it
calls the kernels.
"""

from lstm_energy._layers.workspaces import workspace_shapes

try:
    from lstm_energy.kernels.gru import gru_backward, gru_forward
    from lstm_energy.kernels.lstm import lstm_backward, lstm_forward
    from lstm_energy.kernels.rnn import rnn_backward, rnn_forward
except ImportError as exc:  # the extensions are not compiled in this checkout
    raise ImportError(
        f"lstm_energy.kernels: the Cython extensions are not built ({exc}); build them with "
        f"`python setup.py build_ext --inplace` (or `pip install -e .`) in the source tree"
    ) from exc

__all__ = [
    "workspace_shapes",
    "lstm_forward",
    "lstm_backward",
    "gru_forward",
    "gru_backward",
    "rnn_forward",
    "rnn_backward",
]
