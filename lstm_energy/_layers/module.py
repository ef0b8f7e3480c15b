"""``RecurrentLayer``: what LSTM, GRU and RNN share (parameters, layers × directions, state, buffers).

Inside, everything is sequence-first: x (T, B, D), y (T, B, dirs*H), states (num_layers*dirs, B, H).
``batch_first`` is handled only at the boundary (one transposing copy in, one out).
Cell subclasses say how to call their engine functions for one layer and one direction.

Threads: a layer object holds one set of buffers, packed-weight caches, forward→backward context and
gradients. Every public entry that touches them (forward, backward, grads, train, eval,
load_state_dict, state_dict) holds the layer's lock, so two threads calling one layer run one after
the other and each gets its own correct result (the kernels release the GIL, so one layer per
thread, e.g. ``copy.deepcopy(m)``, runs them in parallel). ``backward`` works through the last
training forward on this layer object, whichever thread made it; a thread whose own last forward was
replaced by another thread's gets a StateError naming both threads instead of another input's
gradients, and so does ``grads`` after another thread's backward.
"""

from __future__ import annotations

import copy
import numbers
import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

from lstm_energy._layers.aligned import aligned_copy, aligned_empty
from lstm_energy._layers.buffers import BufferCache, ShapeBuffers
from lstm_energy._layers.checks import as_numpy, kernel_ready, require_dtype, require_shape
from lstm_energy._layers.engines import load_engine
from lstm_energy._layers.parameters import KINDS, checked_state_dict, init_parameters, parameter_name, parameter_shapes
from lstm_energy.config import PRECISIONS, check_choice, dtype_name, flag, positive_int
from lstm_energy.errors import ArgumentTypeError, ConfigError, ShapeError, StateError

#: the forward workspace's packed weights (lstm_energy._layers.workspaces), kept per layer in eval mode
PANELS = ("w_ih_panels", "w_hh_panels")


@cache
def _isa_reader():
    """The kernels' ``isa.current_level`` (imported on first use, by the compiled engine only: the
    function-level import on every eval call cost about a microsecond)."""
    from lstm_energy.kernels._isa import current_level

    return current_level


#: the kernels' instruction-set paths by C level (lstm_energy.kernels.isa.ISAS, without importing the kernels)
ISA_NAMES = ("baseline", "avx2", "avx512")


@dataclass
class EvalPanels:
    """One layer and direction's packed float32 weights for eval forwards, and the last workspace they
    were merged into (``merged`` = ``{**ws, **panels}``, kept so a repeated call builds no dict).
    ``ready``: the panels hold the current weights. Set only from a forward that returned True (it
    packed them, on the entry's path); until then every call packs them again."""

    panels: dict[str, np.ndarray]
    ws: dict | None = None
    merged: dict | None = None
    ready: bool = False


@dataclass
class ForwardContext:
    """What a training-mode forward leaves for ``backward``."""

    x: np.ndarray  # (T, B, D) layer-0 input as the kernels saw it
    states0: tuple[np.ndarray, ...]  # (h0,) or (h0, c0), each (L*dirs, B, H)
    buffers: ShapeBuffers  # layer outputs and forward workspaces of this shape
    T: int
    B: int
    serial: int  # which training forward of this layer made it (RecurrentLayer._forwards)
    thread: str  # the name of the thread that made it (for errors)


def _thread_name() -> str:
    return threading.current_thread().name


def _refuse_unsupported_torch_options(dropout, proj_size, device) -> None:
    """ConfigError for torch options the layers do not implement, at anything but their no-op values;
    ArgumentTypeError for a value torch itself would not take (a dropout that is no number, a proj_size
    that is no int)."""
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real):
        raise ArgumentTypeError(f"dropout must be a number (torch's dropout probability), got {dropout!r}; pass 0.0")
    if dropout != 0:
        raise ConfigError(
            f"dropout={dropout!r}: dropout between layers is not implemented (the kernels compute the layers "
            "exactly); pass dropout=0.0, or apply dropout to each layer's output yourself with one-layer modules"
        )
    if isinstance(proj_size, bool) or not isinstance(proj_size, numbers.Integral):
        raise ArgumentTypeError(f"proj_size must be an int (torch's LSTM projection size), got {proj_size!r}; pass 0")
    if proj_size != 0:
        raise ConfigError(
            f"proj_size={proj_size!r}: LSTM projections (torch's weight_hr_l*) are not implemented; pass proj_size=0"
        )
    if device is not None and str(device).split(":")[0] != "cpu":  # "cpu", "cpu:0", torch.device("cpu")
        raise ConfigError(f"device={device!r}: the kernels run on the CPU only; pass device=None or 'cpu'")


class RecurrentLayer:
    """Base of LSTM, GRU and RNN (``torch.nn.RNNBase`` semantics; see ``lstm_energy.layers``)."""

    cell: str = ""  # "lstm" | "gru" | "rnn"
    gates: int = 0  # G
    state_names: tuple[str, ...] = ("h",)  # ("h", "c") for the LSTM

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        device=None,
        dtype=np.float32,
        *,
        seed=None,
        impl="cython",
    ) -> None:
        """Arguments in ``torch.nn.LSTM``'s order, so a positional call means what it means to torch;
        ``dropout``, ``proj_size`` and ``device`` are there for that and take only their no-op values."""
        self.input_size = positive_int("input_size", input_size)
        self.hidden_size = positive_int("hidden_size", hidden_size)
        self.num_layers = positive_int("num_layers", num_layers)
        self.bias = flag("bias", bias)
        self.batch_first = flag("batch_first", batch_first)
        self.bidirectional = flag("bidirectional", bidirectional)
        _refuse_unsupported_torch_options(dropout, proj_size, device)
        self.directions = 2 if self.bidirectional else 1
        self.dtype = np.dtype(dtype_name(dtype))
        self.impl = impl
        self._engine = load_engine(impl)
        self.training = True

        self._shapes = parameter_shapes(
            self.gates, self.input_size, self.hidden_size, self.num_layers, self.directions, self.bias
        )
        self._params = init_parameters(self._shapes, self.hidden_size, self.dtype, seed)
        self._per_direction: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}  # (layer, dir) -> params
        self._zero_bias = np.zeros(self.gates * self.hidden_size, self.dtype)  # b_ih, b_hh when bias=False
        self._grads: dict[str, np.ndarray] = {}  # every parameter gradient, bias ones even if bias=False
        self._buffers = BufferCache(self.dtype)
        self._context: ForwardContext | None = None
        self.precision = "fp32"  # of eval-mode forwards: "fp32" | "bf16" | "int8" (see eval)
        self._lowp_weights: dict[tuple, tuple] = {}  # (layer, dir, precision, int8 layout) -> packed
        self._eval_panels: dict[tuple[int, int, str], EvalPanels] = {}  # (layer, dir, isa) -> packed fp32 weights
        self._init_thread_state()

    # ------------------------------------------------------------------ threads
    def _init_thread_state(self) -> None:
        """The lock every public entry holds, and who made the context and gradients (see the module
        docstring). Not copied or pickled: a copy gets its own (``__getstate__``)."""
        self._lock = threading.RLock()
        self._local = threading.local()  # .forward / .backward: this thread's last serials on this layer
        self._forwards = 0  # training forwards so far (ForwardContext.serial)
        self._backwards = 0  # backwards so far
        self._backward_thread = ""  # the name of the thread of the last backward
        self._backward_owner: threading.Thread | None = None  # that thread (whose grads arrays are current)
        self._context_dropped_by: str | None = None  # thread whose eval forward / load_state_dict dropped it

    def __getstate__(self) -> dict:
        """For ``copy.deepcopy`` and pickle: everything but the lock, the per-thread records and the
        engine module (which cannot be copied; the copy loads it again by ``impl``)."""
        with self._lock:
            state = dict(self.__dict__)
        for name in ("_lock", "_local", "_engine", "_backward_owner"):
            del state[name]
        return state

    def __copy__(self):
        """Deep, like ``copy.deepcopy``: a layer owns its buffers, caches and forward→backward context, and
        a shallow copy would share them behind a lock of its own (two threads: silently wrong numbers)."""
        return self.__deepcopy__({})

    def __deepcopy__(self, memo: dict):
        """A copy with its own lock, buffers and caches, for another thread; made while holding this
        layer's lock, so no call of another thread is half-way through the arrays being copied."""
        with self._lock:
            clone = type(self).__new__(type(self))
            memo[id(self)] = clone
            clone.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return clone

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._engine = load_engine(self.impl)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._backward_owner = None

    def _drop_context(self) -> None:
        """Forget the forward→backward context (eval forward, load_state_dict), noting who did."""
        if self._context is not None:
            self._context = None
            self._context_dropped_by = _thread_name()

    # ------------------------------------------------------------------ modes and parameters
    def train(self, mode: bool = True):
        """Training mode (the default): forward keeps what backward needs. Training runs in fp32
        only: a layer set to a reduced precision (``eval(precision="int8")``) refuses it."""
        with self._lock:
            if mode and self.precision != "fp32":
                raise StateError(
                    f"training runs in fp32 only, but this layer is set to precision={self.precision!r} for "
                    "inference; call m.eval(precision='fp32') first, then m.train()"
                )
            self.training = bool(mode)
        return self

    def eval(self, precision: str | None = None):
        """Inference mode: forward keeps nothing, backward is refused.

        precision: None keeps the current one (initially "fp32"); "int8" runs the forward with int8
        dynamic quantization (weights per output row, activations per row and step, int32 sums, float
        gate math), "bf16" with bfloat16 weights and activations and float32 sums
        (``lstm_energy.reference.lowp`` specifies both). Reduced precisions need a float32 layer."""
        with self._lock:
            if precision is not None:
                self._set_precision(precision)
            self.training = False
        return self

    def _set_precision(self, precision: str) -> None:
        check_choice("precision", precision, PRECISIONS, "e.g. m.eval(precision='int8')")
        if precision != "fp32" and self.dtype != np.float32:
            raise ConfigError(
                f"precision={precision!r} needs a float32 layer, this one is {self.dtype.name}; build it with "
                "dtype=np.float32"
            )
        self.precision = precision

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters, ``{name: array}`` with PyTorch's names and shapes."""
        with self._lock:
            return {name: value.copy() for name, value in self._params.items()}

    def load_state_dict(self, state_dict) -> None:
        """Replace every parameter. Strict: exactly this layer's keys and shapes; values are copied
        and converted to the layer's dtype. A pending backward is cancelled (the weights changed)."""
        params = checked_state_dict(state_dict, self._shapes, self.dtype)
        with self._lock:
            self._params = params
            self._per_direction.clear()
            self._lowp_weights.clear()
            self._eval_panels.clear()
            self._drop_context()

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Gradients of the last ``backward`` on this layer object, named like ``state_dict()``; empty
        before the first one. The arrays are overwritten by the next ``backward`` of the same thread:
        copy them to keep them (a backward from another thread writes new arrays, so the ones a thread
        holds keep its gradients). A thread whose own last backward was followed by another thread's
        gets a StateError (the gradients held now are that thread's): use one layer per thread."""
        with self._lock:
            mine = getattr(self._local, "backward", None)
            if mine is not None and mine != self._backwards:
                raise StateError(
                    f"grads in thread {_thread_name()!r}: this thread's last backward on this layer was followed "
                    f"by a backward in thread {self._backward_thread!r}, so the gradients held now are that "
                    "thread's, not this one's. A layer object holds one set of gradients: use one layer per "
                    "thread (copy.deepcopy(m) before starting the threads), or read grads before another "
                    "thread runs backward"
                )
            return {name: self._grads[name] for name in self._shapes if name in self._grads}

    def _layer_params(self, layer: int, direction: int) -> tuple[np.ndarray, ...]:
        """(w_ih, w_hh, b_ih, b_hh) of one layer and direction (zero biases when bias=False)."""
        found = self._per_direction.get((layer, direction))
        if found is None:
            found = self._per_direction[(layer, direction)] = tuple(
                self._params.get(parameter_name(kind, layer, direction), self._zero_bias) for kind in KINDS
            )
        return found

    def _layer_grads(self, layer: int, direction: int) -> tuple[np.ndarray, ...]:
        """(dw_ih, dw_hh, db_ih, db_hh) buffers of one layer and direction, allocated once."""
        GH = self.gates * self.hidden_size
        out = []
        for kind in KINDS:
            name = parameter_name(kind, layer, direction)
            if name not in self._grads:
                self._grads[name] = aligned_empty(self._shapes.get(name, (GH,)), self.dtype)  # C of the dW GEMMs
            out.append(self._grads[name])
        return tuple(out)

    # ------------------------------------------------------------------ forward
    def __call__(self, x, hx=None):
        return self.forward(x, hx)

    def forward(self, x, hx=None):
        """x: (T, B, D), or (B, T, D) with batch_first. Returns (y, h_n), or (y, (h_n, c_n)) for the LSTM:
        y (T, B, dirs*H) (batch_first: (B, T, dirs*H)), states (num_layers*dirs, B, H). The returned
        arrays are fresh: later calls never overwrite them. In training mode, ``x`` and ``hx`` must not be
        modified in place before ``backward`` (as with torch autograd). Calls from several threads on
        one layer run one at a time (the layer's lock)."""
        with self._lock:
            return self._forward(x, hx)

    def _forward(self, x, hx):
        x = self._checked_input(x)
        T, B, _ = x.shape
        training = self.training
        if not training and self.precision != "fp32":
            return self._forward_lowp(x, hx)
        buffers = self._buffers.get(T, B, training)
        states0 = self._checked_states(hx, B, buffers, "hx")
        H, dirs, L = self.hidden_size, self.directions, self.num_layers
        states_n = tuple([np.empty((L * dirs, B, H), self.dtype) for _ in self.state_names])
        direct_output = not training and not self.batch_first  # eval: last layer writes the returned y
        keep_panels = not training and self.impl == "cython"  # eval: packed weights kept per layer
        isa = _isa_reader()() if keep_panels else -1  # the path, read once per call and passed down

        layer_input = x
        for layer in range(L):
            D = layer_input.shape[2]
            if layer == L - 1 and direct_output:
                y = np.empty((T, B, dirs * H), self.dtype)
            else:
                y = buffers.array(("y", layer), (T, B, dirs * H))
            for direction in range(dirs):
                ws_key = ("ws", layer, direction) if training else ("ws", min(layer, 1))
                sizes = (T, B, D, H, training)
                ws = buffers.workspace(ws_key, self._forward_shapes, *sizes, keep_panels)
                k = layer * dirs + direction
                entry = None
                if keep_panels:
                    ws, entry = self._with_eval_panels(ws, sizes, layer, direction, isa)
                packed = self._forward_direction(
                    layer_input,
                    self._layer_params(layer, direction),
                    tuple([s[k] for s in states0]),
                    y if dirs == 1 else y[:, :, direction * H : (direction + 1) * H],
                    tuple([s[k] for s in states_n]),
                    ws,
                    training,
                    direction == 1,
                    entry is not None and entry.ready,
                    isa,
                )
                if entry is not None and not entry.ready:
                    entry.ready = packed is True  # published as packed only once a call has packed it
            layer_input = y

        if training:
            self._forwards += 1
            self._context = ForwardContext(x, states0, buffers, T, B, self._forwards, _thread_name())
            self._local.forward = self._forwards
        elif self._context is not None:
            self._drop_context()
        if direct_output:
            y_out = layer_input
        elif self.batch_first:
            y_out = layer_input.transpose(1, 0, 2).copy()  # a copy even when B or T is 1 (then the view is contiguous)
        else:
            y_out = layer_input.copy()
        return y_out, self._public_states(states_n)

    def _forward_shapes(self, T: int, B: int, D: int, H: int, training: bool, without_panels: bool = False) -> dict:
        """The engine's forward ``workspace_shapes``; without the packed weights when an eval forward keeps
        its own (``_with_eval_panels``)."""
        shapes = self._engine.workspace_shapes(self.cell, "forward", T, B, D, H, training)
        if without_panels:
            return {name: shape for name, shape in shapes.items() if name not in PANELS}
        return shapes

    def _with_eval_panels(
        self, ws: dict, sizes: tuple, layer: int, direction: int, isa: int
    ) -> tuple[dict, EvalPanels]:
        """An eval forward's workspace (made without panels) with this layer and direction's own packed
        weights: (ws plus ``w_ih_panels`` / ``w_hh_panels``, their cache entry); ``sizes``:
        ``_forward_shapes``'s (T, B, D, H, training); ``isa``: the path level this call sampled once and
        passes to the kernel. The Cython forward packs W_ih and W_hh into those panels on the first eval
        call (and returns True) and skips the packing on later ones (``entry.ready``; a B = 1 call spends
        about a tenth of its time packing), until load_state_dict replaces the weights. Kept per
        instruction-set path, the one the kernel is told to decide by: on the baseline path the forward
        packs nothing, so panels cached there never become ready. Called with the layer's lock held."""
        key = (layer, direction, ISA_NAMES[isa])
        entry = self._eval_panels.get(key)
        if entry is None:
            entry = self._eval_panels[key] = EvalPanels(
                {
                    name: aligned_empty(shape, self.dtype)
                    for name, shape in self._forward_shapes(*sizes).items()
                    if name in PANELS
                }
            )
        merged = entry.merged
        if merged is None or entry.ws is not ws:
            merged = {**ws, **entry.panels}
            entry.ws, entry.merged = ws, merged
        return merged, entry

    def _forward_lowp(self, x, hx):
        """Eval-mode forward in a reduced precision (int8 / bf16): lstm_energy.kernels.lowp, or its NumPy
        specification (lstm_energy.reference.lowp) with impl="numpy"."""
        T, B, _ = x.shape
        H, dirs, L, prec = self.hidden_size, self.directions, self.num_layers, self.precision
        buffers = self._buffers.get(T, B, False)
        states0 = self._checked_states(hx, B, buffers, "hx")
        states_n = tuple(np.empty((L * dirs, B, H), np.float32) for _ in self.state_names)
        lstm = self.cell == "lstm"
        relu = getattr(self, "nonlinearity", "tanh") == "relu"
        path, layout = -1, None  # the product path, read once per call, and its int8 layout (Cython engine)
        if self.impl == "cython":
            from lstm_energy.kernels import lowp

            path = lowp.path_level(prec)
            layout = lowp.path_layout(path) if prec == "int8" else None
        layer_input = x
        for layer in range(L):
            y = np.empty((T, B, dirs * H), np.float32)
            for direction in range(dirs):
                k = layer * dirs + direction
                w_ih, w_hh, b_ih, b_hh = self._layer_params(layer, direction)
                h0 = states0[0][k]
                c0, c_n = (states0[1][k], states_n[1][k]) if lstm else (None, None)
                out = y[:, :, direction * H : (direction + 1) * H]
                if self.impl == "numpy":
                    from lstm_energy.reference.lowp import forward

                    forward(self.cell, prec, layer_input, w_ih, w_hh, b_ih, b_hh, h0, c0, out, states_n[0][k], c_n,
                            direction == 1, relu)  # fmt: skip
                    continue
                pih, phh, bias = self._lowp_packed(layer, direction, prec, layout)
                D = layer_input.shape[2]
                ws = buffers.workspace(("lowp", min(layer, 1)), lowp.workspace_shapes, self.cell, T, B, D, H)
                lowp.lowp_forward(self.cell, layer_input, pih, phh, bias, h0, c0, out, states_n[0][k], c_n,
                                  direction == 1, relu, ws, path)  # fmt: skip
            layer_input = y
        if self._context is not None:
            self._drop_context()
        y_out = np.ascontiguousarray(layer_input.transpose(1, 0, 2)) if self.batch_first else layer_input
        return y_out, self._public_states(states_n)

    def _lowp_packed(self, layer: int, direction: int, precision: str, layout: str | None = None) -> tuple:
        """(packed W_ih, packed W_hh, bias) of one layer and direction, quantized once and cached until
        load_state_dict replaces the weights (an int8 weight per layout: the instruction-set path may change;
        ``layout``: that of the path the call sampled and passes to lowp_forward; None: the current path's)."""
        from lstm_energy.kernels.lowp import int8_layout, pack_weight

        if precision == "int8" and layout is None:
            layout = int8_layout()
        key = (layer, direction, precision, layout)
        found = self._lowp_weights.get(key)
        if found is None:
            w_ih, w_hh, b_ih, b_hh = self._layer_params(layer, direction)
            H = self.hidden_size
            if self.cell == "gru":
                bias = np.concatenate([b_ih[: 2 * H] + b_hh[: 2 * H], b_ih[2 * H :], b_hh[2 * H :]])
            else:
                bias = b_ih + b_hh
            found = self._lowp_weights[key] = (
                pack_weight(w_ih, precision, layout),
                pack_weight(w_hh, precision, layout),
                aligned_copy(bias, np.float32),  # read 16 floats at a time, like the panels
            )
        return found

    # ------------------------------------------------------------------ backward
    def backward(self, dy, dhx=None):
        """Gradients through the last training-mode forward.

        dy: gradient w.r.t. y, shaped like y (None: zero); dhx mirrors hx: dL/dh_n (LSTM: (dh_n, dc_n));
        None means zero. Returns (dx, dhx0) with dx shaped like x and dhx0 = dL/dh_0 (LSTM: (dh_0, dc_0)).
        Parameter gradients land in ``grads`` (overwritten, not accumulated).

        The last training forward is this layer object's, whichever thread made it (a forward in one
        thread and its backward in another is fine). But a thread whose own last training forward was
        replaced by another thread's gets a StateError, never the other input's gradients.
        """
        with self._lock:
            return self._backward(dy, dhx)

    def _backward(self, dy, dhx):
        ctx = self._context
        mine = getattr(self._local, "forward", None)  # this thread's last training forward, if any
        if ctx is None:
            dropped = self._context_dropped_by
            by = f" (the last one was dropped by thread {dropped!r})" if mine is not None and dropped else ""
            raise StateError(
                "backward needs a preceding training-mode forward: call m.train() and then m.forward(x) "
                f"(eval-mode forwards and load_state_dict keep nothing for backward){by}"
            )
        if mine is not None and mine != ctx.serial:
            raise StateError(
                f"backward in thread {_thread_name()!r}: this thread's last training forward on this layer was "
                f"replaced by a later forward from thread {ctx.thread!r}, so backward would compute the "
                "gradients of that other input. A layer object keeps one forward→backward context: use one "
                "layer per thread (copy.deepcopy(m) before starting the threads; m.load_state_dict keeps "
                "copies in step), or run each thread's forward and backward together under a lock of yours"
            )
        T, B, buffers = ctx.T, ctx.B, ctx.buffers
        H, dirs, L = self.hidden_size, self.directions, self.num_layers
        me = threading.current_thread()
        if self._backward_owner is not me and self._grads:
            # another thread may still be reading (copying) the grads arrays its backward left: write
            # this thread's gradients into new ones rather than overwrite those under its feet
            self._grads = {}
        dy = self._checked_output_grad(dy, T, B, buffers)
        dstates_n = self._checked_states(dhx, B, buffers, "dhx")
        dstates0 = tuple(np.empty((L * dirs, B, H), self.dtype) for _ in self.state_names)
        D0 = self.input_size

        upstream = dy  # (T, B, dirs*H): dL/d(output of this layer)
        for layer in reversed(range(L)):
            layer_input = ctx.x if layer == 0 else buffers.saved(("y", layer - 1))
            D = layer_input.shape[2]
            if layer > 0:
                dx = buffers.array(("dinput", layer), (T, B, D))
            elif self.batch_first:
                dx = buffers.array(("dx",), (T, B, D0))
            else:
                dx = np.empty((T, B, D0), self.dtype)
            y = buffers.saved(("y", layer))
            bws = buffers.workspace(
                ("bws", min(layer, 1)), self._engine.workspace_shapes, self.cell, "backward", T, B, D, H, True
            )
            for direction in range(dirs):
                k = layer * dirs + direction
                cols = slice(direction * H, (direction + 1) * H)
                self._backward_direction(
                    layer_input,
                    self._layer_params(layer, direction),
                    tuple(s[k] for s in ctx.states0),
                    y[:, :, cols],
                    buffers.saved(("ws", layer, direction)),
                    upstream[:, :, cols],
                    tuple(s[k] for s in dstates_n),
                    dx,
                    self._layer_grads(layer, direction),
                    tuple(s[k] for s in dstates0),
                    bws,
                    direction == 1,
                    direction == 1,
                )
            upstream = dx

        self._backwards += 1
        self._local.backward = self._backwards
        # this thread's forward is used up: a later forward of another thread, handed to this one for its
        # backward, is the hand-off the docstring allows, not a replaced forward of this thread's
        self._local.forward = None
        self._backward_owner = me
        self._backward_thread = me.name
        # batch_first: dx was the layer's buffer, so the caller gets a copy (even when B or T is 1)
        dx_out = upstream.transpose(1, 0, 2).copy() if self.batch_first else upstream
        return dx_out, self._public_states(dstates0)

    # ------------------------------------------------------------------ checks at the boundary
    def _layout(self, last: str) -> str:
        return f"(B, T, {last})" if self.batch_first else f"(T, B, {last})"

    def _checked_input(self, x) -> np.ndarray:
        """x as a C-contiguous, writeable (T, B, D) array of the layer's dtype (copied at most once)."""
        given, x = x, as_numpy(x, "x")
        if x.ndim != 3:
            raise ShapeError(
                f"x must be 3-D {self._layout('D')} (batch_first={self.batch_first}), got shape {x.shape}; "
                "for one unbatched sequence use x[:, None, :] (or x[None] with batch_first=True)"
            )
        require_dtype(x, self.dtype, "x", given)
        if x.shape[2] != self.input_size:
            raise ShapeError(
                f"x has input size {x.shape[2]} in shape {x.shape}, but this layer was built with "
                f"input_size={self.input_size}; x must be {self._layout(str(self.input_size))}"
            )
        if 0 in x.shape:
            raise ShapeError(
                f"x is empty: shape {x.shape} {self._layout('D')}; sequence length T and batch size B must be ≥ 1"
            )
        if self.batch_first:
            return np.ascontiguousarray(x.transpose(1, 0, 2))  # the one copy into (T, B, D)
        return kernel_ready(x)

    def _checked_states(self, given, B: int, buffers: ShapeBuffers, name: str) -> tuple[np.ndarray, ...]:
        """hx/dhx as a tuple of C-contiguous (L*dirs, B, H) arrays (cached zeros for None)."""
        shape = (self.num_layers * self.directions, B, self.hidden_size)
        n = len(self.state_names)
        if given is None:  # zero states: one cached array serves them all
            return (buffers.zeros(("zero_state",), shape),) * n
        meaning = "(num_layers * num_directions, B, H)"
        if n == 1:
            if isinstance(given, (tuple, list)):
                raise ArgumentTypeError(
                    f"{type(self).__name__} expects {name} as one array {meaning} = {shape}, got a "
                    f"{type(given).__name__} of {len(given)}; pass the array itself"
                )
            given = (given,)
        elif not isinstance(given, (tuple, list)) or len(given) != n:
            got = type(given).__name__
            if isinstance(given, (tuple, list)):
                got = f"a {got} of {len(given)}"
            pair = "(h0, c0)" if name == "hx" else "(dh_n, dc_n)"
            raise ArgumentTypeError(
                f"{type(self).__name__} expects {name} as a tuple {pair} of two arrays {meaning} = {shape}, got {got}"
            )
        states = []
        for i, value in enumerate(given):
            if value is None:
                states.append(buffers.zeros(("zero_state",), shape))
                continue
            label = f"{name}[{i}]" if n > 1 else name
            array = as_numpy(value, label)
            require_shape(array, shape, label, meaning)
            require_dtype(array, self.dtype, label, value)
            value = array
            states.append(kernel_ready(value))
        return tuple(states)

    def _checked_output_grad(self, dy, T: int, B: int, buffers: ShapeBuffers) -> np.ndarray:
        """dy as a C-contiguous (T, B, dirs*H) array (cached zeros for None)."""
        width = self.directions * self.hidden_size
        if dy is None:
            return buffers.zeros(("zero_dy",), (T, B, width))
        given, dy = dy, as_numpy(dy, "dy")
        expected = (B, T, width) if self.batch_first else (T, B, width)
        require_shape(dy, expected, "dy", f"{self._layout('dirs*H')} like the last forward's y")
        require_dtype(dy, self.dtype, "dy", given)
        if self.batch_first:
            return np.ascontiguousarray(dy.transpose(1, 0, 2))
        return kernel_ready(dy)

    def _public_states(self, states: tuple[np.ndarray, ...]):
        return states[0] if len(states) == 1 else states

    # ------------------------------------------------------------------ per-cell engine calls
    def _forward_direction(self, x, params, states0, y, states_n, ws, training, reverse, weights_packed, isa):
        """Run the engine's forward of one layer and direction; return what it returns (the Cython
        engine: True when ws's panels hold the packed weights afterwards). ``isa``: the path level the
        call sampled (passed to the Cython engine only; -1 for the NumPy one)."""
        raise NotImplementedError

    def _backward_direction(
        self, x, params, states0, y, ws, dy, dstates_n, dx, grads, dstates0, bws, accumulate_dx, reverse
    ):
        raise NotImplementedError

    def __repr__(self) -> str:
        extra = "".join(
            f", {k}={v!r}"
            for k, v in (
                ("num_layers", self.num_layers),
                ("bias", self.bias),
                ("batch_first", self.batch_first),
                ("bidirectional", self.bidirectional),
            )
            if v != {"num_layers": 1, "bias": True, "batch_first": False, "bidirectional": False}[k]
        )
        return (
            f"{type(self).__name__}({self.input_size}, {self.hidden_size}{extra}, "
            f"dtype=np.{self.dtype.name}, impl={self.impl!r})"
        )
