"""Parity with torch.nn.LSTM / GRU / RNN: outputs, final states and every gradient.

Weights are copied both ways (ours -> torch with torch's load_state_dict, torch -> ours with ours).
Relative error = max|a − b| / max(max|b|, tiny); float32 ≤ 2e-4, float64 ≤ 1e-9.
"""

import zlib

import numpy as np
import pytest

from lstm_energy.layers import GRU, LSTM, RNN

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("every_isa")]  # every kernel path


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny shapes: torch's thread pool only adds contention (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TOLERANCE = {np.float32: 2e-4, np.float64: 1e-9}

CELLS = {
    "lstm": (LSTM, "LSTM", {}),
    "gru": (GRU, "GRU", {}),
    "rnn_tanh": (RNN, "RNN", {"nonlinearity": "tanh"}),
    "rnn_relu": (RNN, "RNN", {"nonlinearity": "relu"}),
}

# T, B, D, H, num_layers, bidirectional, batch_first, bias, give hx / dhx
SHAPES = {
    "T1-B1-D1-H1": (1, 1, 1, 1, 1, False, False, True, False),
    "odd-2layers-bidir": (5, 3, 7, 4, 2, True, False, True, True),
    "B1-3layers-batch_first": (4, 1, 3, 5, 3, False, True, True, True),
    "T1-bidir-batch_first": (1, 4, 6, 3, 2, True, True, True, False),
    "no-bias-D=H": (6, 2, 5, 5, 1, False, False, False, True),
    "3layers-bidir-D<H": (3, 2, 2, 6, 3, True, False, True, True),
    "T16-B4-D20-H16-2layers-bidir": (16, 4, 20, 16, 2, True, False, True, True),
}

# every shape with both copy directions, except the larger one (there for float32 accumulation) once
SHAPE_AND_COPY = [
    (s, c)
    for s in SHAPES
    for c in ("ours_to_torch", "torch_to_ours")
    if not (s.startswith("T16") and c == "torch_to_ours")
]


def relative_error(ours, theirs):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    return np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), np.finfo(np.float64).tiny)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape,copy", SHAPE_AND_COPY, ids=[f"{s}-{c}" for s, c in SHAPE_AND_COPY])
@pytest.mark.parametrize("cell", list(CELLS))
def test_outputs_states_and_gradients_match_torch(impl, cell, shape, copy, dtype):
    ours_cls, torch_name, extra = CELLS[cell]
    T, B, D, H, L, bidirectional, batch_first, bias, with_state = SHAPES[shape]
    options = dict(num_layers=L, bias=bias, batch_first=batch_first, bidirectional=bidirectional, **extra)
    ours = ours_cls(D, H, dtype=dtype, seed=7, impl=impl, **options)
    theirs = getattr(torch.nn, torch_name)(D, H, **options)
    theirs = theirs.double() if dtype == np.float64 else theirs.float()
    if copy == "ours_to_torch":
        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    else:
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})

    rng = np.random.default_rng(zlib.crc32(f"{cell}/{shape}/{copy}".encode()))
    dirs = 2 if bidirectional else 1
    is_lstm = cell == "lstm"
    x = rng.standard_normal((B, T, D) if batch_first else (T, B, D)).astype(dtype)
    states0 = [rng.standard_normal((L * dirs, B, H)).astype(dtype) for _ in range(2 if is_lstm else 1)]
    hx = (tuple(states0) if is_lstm else states0[0]) if with_state else None

    x_t = torch.tensor(x, requires_grad=True)
    states0_t = [torch.tensor(s, requires_grad=True) for s in states0]
    hx_t = (tuple(states0_t) if is_lstm else states0_t[0]) if with_state else None

    y, state_n = ours.forward(x, hx)
    y_t, state_n_t = theirs(x_t, hx_t)
    finals, finals_t = (state_n, state_n_t) if is_lstm else ((state_n,), (state_n_t,))
    tol = TOLERANCE[dtype]
    assert y.shape == tuple(y_t.shape) and y.dtype == dtype
    assert relative_error(y, y_t) <= tol
    for ours_final, torch_final in zip(finals, finals_t):
        assert ours_final.shape == tuple(torch_final.shape)
        assert relative_error(ours_final, torch_final) <= tol

    dy = rng.standard_normal(y.shape).astype(dtype)
    d_finals = [rng.standard_normal(f.shape).astype(dtype) for f in finals]
    loss = (y_t * torch.from_numpy(dy)).sum()
    if with_state:
        loss = loss + sum((f * torch.from_numpy(d)).sum() for f, d in zip(finals_t, d_finals))
        dhx = tuple(d_finals) if is_lstm else d_finals[0]
    else:
        dhx = None
    loss.backward()
    dx, d_states0 = ours.backward(dy, dhx)

    assert dx.shape == x.shape and dx.dtype == dtype
    assert relative_error(dx, x_t.grad) <= tol, "dx"
    for name, parameter in theirs.named_parameters():
        assert relative_error(ours.grads[name], parameter.grad) <= tol, name
    assert set(ours.grads) == {name for name, _ in theirs.named_parameters()}
    if with_state:
        for ours_d, state_t in zip(d_states0 if is_lstm else (d_states0,), states0_t):
            assert relative_error(ours_d, state_t.grad) <= tol, "d state0"


@pytest.mark.parametrize("cell", list(CELLS))
def test_nan_in_the_input_propagates_like_torch(impl, cell):
    ours_cls, torch_name, extra = CELLS[cell]
    ours = ours_cls(3, 4, num_layers=2, bidirectional=True, dtype=np.float64, seed=1, impl=impl, **extra)
    theirs = getattr(torch.nn, torch_name)(3, 4, num_layers=2, bidirectional=True, **extra).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((5, 3, 3))
    x[2, 1, 0] = np.nan
    y, finals = ours.forward(x)
    y_t, finals_t = theirs(torch.from_numpy(x))
    np.testing.assert_array_equal(np.isnan(y), np.isnan(y_t.detach().numpy()))
    assert np.isnan(y).any() and not np.isnan(y).all()
    for f, f_t in zip(finals if cell == "lstm" else (finals,), finals_t if cell == "lstm" else (finals_t,)):
        np.testing.assert_array_equal(np.isnan(f), np.isnan(f_t.detach().numpy()))


TORCH_POSITIONAL_CALLS = [
    # (our class, torch class, the positional arguments torch documents, up to dtype)
    (LSTM, "LSTM", (4, 8, 2, True, True, 0.0, True, 0)),
    (GRU, "GRU", (4, 8, 2, False, True, 0.0, True)),
    (RNN, "RNN", (4, 8, 2, "relu", True, False, 0.0, True)),
]


@pytest.mark.parametrize("ours, theirs, args", TORCH_POSITIONAL_CALLS, ids=["lstm", "gru", "rnn"])
def test_a_positional_call_means_what_it_means_to_torch(ours, theirs, args):
    """Arguments come in torch's order: the same call builds the same module (its state_dict loads both ways)."""
    m, t = ours(*args), getattr(torch.nn, theirs)(*args)
    assert (m.num_layers, m.bias, m.batch_first, m.bidirectional) == (
        t.num_layers,
        t.bias,
        t.batch_first,
        t.bidirectional,
    )
    assert {k: v.shape for k, v in m.state_dict().items()} == {k: tuple(v.shape) for k, v in t.state_dict().items()}
    t.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})


def test_torch_options_at_their_no_op_values_are_accepted_and_others_refused_saying_why():
    from lstm_energy.errors import ConfigError, ShapeError

    LSTM(4, 8, dropout=0.0, proj_size=0, device="cpu")
    for device in (torch.device("cpu"), "cpu:0", torch.device("cpu:0")):  # torch takes each
        LSTM(4, 8, device=device)
        torch.nn.LSTM(4, 8, device=device)
    for kwargs in ({"dropout": None}, {"dropout": "0"}, {"proj_size": None}, {"proj_size": 1.0}):
        with pytest.raises(TypeError, match="must be a"):  # ArgumentTypeError: a value of the wrong type
            LSTM(4, 8, **kwargs)
    for kwargs, fragment in [
        ({"dropout": 0.2}, "dropout between layers is not implemented"),
        ({"proj_size": 3}, "projections .* are not implemented"),
        ({"device": "cuda"}, "the kernels run on the CPU only"),
    ]:
        with pytest.raises(ConfigError, match=fragment):
            LSTM(4, 8, **kwargs)
    with pytest.raises(ShapeError, match="proj_size > 0.*load a module made with proj_size=0"):
        LSTM(4, 8).load_state_dict(torch.nn.LSTM(4, 8, proj_size=3).state_dict())
    with pytest.raises(TypeError, match="proj_size"):
        RNN(4, 8, proj_size=0)  # torch's RNN has none either
