"""Prepared callables: one configuration, one implementation, one phase, ready to run many times.

``prepare(...)`` builds the layer, its input, the output gradient and (for "backward") the saved
forward state once; ``run()`` then does exactly one unit of work and allocates nothing but what the
layer itself returns. Every implementation gets the same weights (the lstm_energy layer's
``state_dict`` seeded with ``seed``) and the same input, so peers compare like with like.

Phases::

    "forward"   eval mode, forward only (torch: ``torch.inference_mode()``)
    "backward"  backward only: a training forward runs once in prepare(), run() repeats backward
                over the same saved state (lstm_energy layers keep it until the next forward;
                torch keeps the graph with ``retain_graph=True``)
    "train"     training-mode forward followed by backward

Torch runs on the CPU; its gradients come from ``torch.autograd.grad`` (returned, never accumulated
into ``.grad``), which mirrors the lstm_energy layers' overwrite-the-gradients semantics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from lstm_energy.errors import ConfigError

CELLS = ("lstm", "gru", "rnn")
IMPLS = ("cython", "numpy", "torch")
PHASES = ("forward", "backward", "train")
DTYPES = ("float32", "float64")
NONLINEARITIES = ("tanh", "relu")
TORCH_INSTALL_HINT = 'pip install -e ".[torch]"'


@dataclass
class PreparedRun:
    """A ready-to-run configuration.

    run(): one forward / backward / training step over ``batch`` sequences.
    config: the configuration as a dict (results-record ``config`` keys except ``threads``).
    layer: the underlying layer object (lstm_energy layer or torch module), for inspection.
    """

    run: Callable[[], object]
    batch: int
    config: dict
    layer: object = field(repr=False, default=None)


def _check_choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, choices))}")


def _check_positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive int, got {value!r}; pass e.g. {name}=1")
    return int(value)


def _layer_class(cell: str):
    from lstm_energy import layers

    return {"lstm": layers.LSTM, "gru": layers.GRU, "rnn": layers.RNN}[cell]


def _make_layer(cell, impl, input_size, hidden_size, num_layers, bidirectional, dtype, nonlinearity, seed):
    """The lstm_energy layer for impl "cython"/"numpy" (also the weight source for torch)."""
    cls = _layer_class(cell)
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, dtype=np.dtype(dtype), seed=seed, impl=impl)
    if cell == "rnn":
        kwargs["nonlinearity"] = nonlinearity
    return cls(input_size, hidden_size, **kwargs)


def _inputs(seq_len, batch, input_size, hidden_size, directions, dtype, seed):
    """x: (T, B, D) and dy: (T, B, dirs*H), standard normal, from a fixed-seed Generator."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((seq_len, batch, input_size)).astype(dtype)
    dy = rng.standard_normal((seq_len, batch, directions * hidden_size)).astype(dtype)
    return x, dy


def _numpy_runner(layer, phase, x, dy) -> Callable[[], object]:
    if phase == "forward":
        layer.eval()
        return lambda: layer.forward(x)
    layer.train()
    if phase == "backward":
        layer.forward(x)  # the saved state every run() reuses
        return lambda: layer.backward(dy)

    def train_step():
        layer.forward(x)
        return layer.backward(dy)

    return train_step


def _import_torch():
    try:
        import torch
    except ImportError as err:
        raise ConfigError(
            f"impl='torch' needs PyTorch, which is not importable here ({err}); install it with "
            f"`{TORCH_INSTALL_HINT}` or pick impl='cython' or impl='numpy'"
        ) from None
    return torch


def _torch_runner(source_layer, cell, phase, x, dy, num_layers, bidirectional, dtype, nonlinearity):
    """torch.nn.LSTM/GRU/RNN on the CPU with the lstm_energy layer's weights."""
    torch = _import_torch()
    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, dtype=torch_dtype)
    if cell == "rnn":
        kwargs["nonlinearity"] = nonlinearity
    module = cls(source_layer.input_size, source_layer.hidden_size, **kwargs)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in source_layer.state_dict().items()})
    x_t = torch.from_numpy(x)
    dy_t = torch.from_numpy(dy)
    params = list(module.parameters())

    if phase == "forward":
        module.eval()

        def forward():
            with torch.inference_mode():
                return module(x_t)

        return forward, module

    module.train()
    x_grad = x_t.clone().requires_grad_(True)
    if phase == "backward":
        y, _ = module(x_grad)  # the graph every run() reuses

        def backward():
            return torch.autograd.grad(y, [x_grad, *params], grad_outputs=dy_t, retain_graph=True)

        return backward, module

    def train_step():
        y_step, _ = module(x_grad)
        return torch.autograd.grad(y_step, [x_grad, *params], grad_outputs=dy_t)

    return train_step, module


def prepare(
    cell: str,
    impl: str,
    phase: str,
    batch: int,
    seq_len: int,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    dtype: str = "float32",
    nonlinearity: str = "tanh",
    seed: int = 0,
) -> PreparedRun:
    """Build a PreparedRun for one configuration (see the module docstring for the phases).

    x: (T, B, D) = (seq_len, batch, input_size); dy: (T, B, dirs*H). ConfigError for an unknown
    cell/impl/phase/dtype/nonlinearity, a non-positive size, or impl="torch" without PyTorch.
    """
    _check_choice("cell", cell, CELLS)
    _check_choice("impl", impl, IMPLS)
    _check_choice("phase", phase, PHASES)
    dtype = np.dtype(dtype).name if isinstance(dtype, (np.dtype, type)) else dtype
    _check_choice("dtype", dtype, DTYPES)
    _check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    if cell != "rnn" and nonlinearity != "tanh":
        raise ConfigError(f"nonlinearity={nonlinearity!r} only applies to cell='rnn', got cell={cell!r}")
    batch, seq_len, input_size, hidden_size, num_layers = (
        _check_positive(n, v)
        for n, v in (("batch", batch), ("seq_len", seq_len), ("input_size", input_size),
                     ("hidden_size", hidden_size), ("num_layers", num_layers))
    )
    if impl == "torch":
        _import_torch()  # fail before building anything

    layer = _make_layer(cell, "numpy" if impl == "torch" else impl, input_size, hidden_size, num_layers,
                        bool(bidirectional), dtype, nonlinearity, seed)
    directions = 2 if bidirectional else 1
    x, dy = _inputs(seq_len, batch, input_size, hidden_size, directions, dtype, seed)
    if impl == "torch":
        run, layer = _torch_runner(layer, cell, phase, x, dy, num_layers, bool(bidirectional), dtype, nonlinearity)
    else:
        run = _numpy_runner(layer, phase, x, dy)
    config = {
        "cell": cell,
        "nonlinearity": nonlinearity if cell == "rnn" else None,
        "impl": impl,
        "phase": phase,
        "batch": batch,
        "seq_len": seq_len,
        "input_size": input_size,
        "hidden_size": hidden_size,
        "num_layers": num_layers,
        "bidirectional": bool(bidirectional),
        "dtype": dtype,
    }
    return PreparedRun(run=run, batch=batch, config=config, layer=layer)
