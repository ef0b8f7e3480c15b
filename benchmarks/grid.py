"""The peer benchmarks' named shapes and phases: one home for conftest.py, ab.py and precision.py.

It imports nothing, so ab.py's worker processes can load it beside any build of lstm_energy, old or new.
"""

#: shape name -> sizes (T sequence, B batch, D input, H hidden), from issue 3; x: (T, B, D), h: (B, H)
SHAPES = {
    "edge": dict(batch=1, seq_len=100, input_size=128, hidden_size=128),
    "mid": dict(batch=32, seq_len=100, input_size=256, hidden_size=256),
    "big": dict(batch=64, seq_len=50, input_size=512, hidden_size=512),
    "seed": dict(batch=16, seq_len=200, input_size=80, hidden_size=256),
}
#: the grid's phases: a subset of lstm_energy.config.PHASES ("forward" is an eval-mode forward)
PHASES = ("forward", "train")
