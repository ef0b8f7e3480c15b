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

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lstm_energy.config import Config
from lstm_energy.errors import ConfigError

TORCH_INSTALL_HINT = 'pip install -e ".[torch]"'


@dataclass
class PreparedRun:
    """A ready-to-run configuration.

    run(): one forward / backward / training step over ``batch`` sequences.
    settings: the validated Config it was prepared for.
    layer: the underlying layer object (lstm_energy layer or torch module), for inspection.
    """

    run: Callable[[], object]
    settings: Config
    layer: object = field(repr=False, default=None)

    @property
    def batch(self) -> int:
        """B: sequences per ``run()``."""
        return self.settings.batch

    @property
    def config(self) -> dict:
        """The record's ``config`` dict without ``threads`` (the measurement pins those, not the runner)."""
        record = self.settings.as_record()
        del record["threads"]
        return record


def _layer_class(cell: str):
    from lstm_energy import layers

    return {"lstm": layers.LSTM, "gru": layers.GRU, "rnn": layers.RNN}[cell]


def _make_layer(config: Config, engine: str, seed: int):
    """The lstm_energy layer of ``config`` on ``engine`` "cython"/"numpy" (also the weight source for torch)."""
    cls = _layer_class(config.cell)
    kwargs = dict(
        num_layers=config.num_layers,
        bidirectional=config.bidirectional,
        dtype=np.dtype(config.dtype),
        seed=seed,
        impl=engine,
    )
    if config.cell == "rnn":
        kwargs["nonlinearity"] = config.nonlinearity
    return cls(config.input_size, config.hidden_size, **kwargs)


def _inputs(config: Config, seed: int):
    """x: (T, B, D) and dy: (T, B, dirs*H), standard normal, from a fixed-seed Generator."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((config.seq_len, config.batch, config.input_size)).astype(config.dtype)
    dy = rng.standard_normal((config.seq_len, config.batch, config.directions * config.hidden_size)).astype(
        config.dtype
    )
    return x, dy


def _numpy_runner(layer, phase, x, dy, precision: str = "fp32") -> Callable[[], object]:
    if phase == "forward":
        layer.eval(precision=precision)
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


def _torch_reduced(torch, module, x_t, config: Config):
    """The eval module and input in ``config.precision``: int8 = quantize_dynamic (qint8, LSTM/GRU only),
    bf16 = the module and input cast to bfloat16."""
    if config.precision == "int8":
        if config.cell == "rnn":
            raise ConfigError(
                "impl='torch' with precision='int8': torch's quantize_dynamic has no nn.RNN module "
                "(only LSTM/GRU); pick cell='lstm' or 'gru', or impl='cython'"
            )
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the eager quantization API is deprecated (torchao), still runs
            # quantize_dynamic swaps child modules only: wrap the layer so that it is one
            wrapped = torch.ao.quantization.quantize_dynamic(
                torch.nn.Sequential(module), {type(module)}, dtype=torch.qint8
            )
            module = wrapped[0]
    elif config.precision == "bf16":
        module, x_t = module.to(torch.bfloat16), x_t.to(torch.bfloat16)
    return module, x_t


def _torch_runner(source_layer, config: Config, x, dy):
    """torch.nn.LSTM/GRU/RNN on the CPU with the lstm_energy layer's weights."""
    torch = _import_torch()
    phase = config.phase
    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[config.dtype]
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[config.cell]
    kwargs = dict(num_layers=config.num_layers, bidirectional=config.bidirectional, dtype=torch_dtype)
    if config.cell == "rnn":
        kwargs["nonlinearity"] = config.nonlinearity
    module = cls(source_layer.input_size, source_layer.hidden_size, **kwargs)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in source_layer.state_dict().items()})
    x_t = torch.from_numpy(x)
    dy_t = torch.from_numpy(dy)
    params = list(module.parameters())

    if phase == "forward":
        module.eval()
        module, x_t = _torch_reduced(torch, module, x_t, config)

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
    precision: str = "fp32",
) -> PreparedRun:
    """Build a PreparedRun for one configuration (see the module docstring for the phases).

    x: (T, B, D) = (seq_len, batch, input_size); dy: (T, B, dirs*H). precision: "fp32", or "bf16" /
    "int8" for an eval forward (``Config`` refuses them for training). ConfigError for an unknown
    cell/impl/phase/dtype/nonlinearity/precision, a non-positive size (``lstm_energy.config.Config``),
    or impl="torch" without PyTorch.
    """
    config = Config(
        cell=cell,
        nonlinearity=nonlinearity,
        impl=impl,
        phase=phase,
        batch=batch,
        seq_len=seq_len,
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dtype=dtype,
        precision=precision,
    )
    return prepare_config(config, seed=seed)


def prepare_config(config: Config, seed: int = 0) -> PreparedRun:
    """``prepare`` for an already validated Config (its ``threads`` are the caller's to pin)."""
    if config.impl == "torch":
        _import_torch()  # fail before building anything
    layer = _make_layer(config, "numpy" if config.impl == "torch" else config.impl, seed)
    x, dy = _inputs(config, seed)
    if config.impl == "torch":
        run, layer = _torch_runner(layer, config, x, dy)
    else:
        run = _numpy_runner(layer, config.phase, x, dy, config.precision)
    return PreparedRun(run=run, settings=config, layer=layer)
