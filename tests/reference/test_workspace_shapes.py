"""``workspace_shapes``: the contract's allocation query."""

import pytest

from lstm_energy import reference


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("pass_", ["forward", "backward"])
@pytest.mark.parametrize("training", [False, True])
def test_every_shape_is_a_tuple_of_non_negative_ints(engine, cell, pass_, training):
    shapes = engine.workspace_shapes(cell, pass_, 7, 3, 5, 4, training)
    assert shapes, "every cell needs at least the gate buffer"
    for name, shape in shapes.items():
        assert isinstance(name, str)
        assert all(isinstance(n, int) and n >= 0 for n in shape), (name, shape)


def test_training_keeps_more_than_inference_for_gated_cells():
    for cell in ("lstm", "gru"):
        inference = reference.workspace_shapes(cell, "forward", 7, 3, 5, 4, False)
        training = reference.workspace_shapes(cell, "forward", 7, 3, 5, 4, True)
        assert set(inference) < set(training)


def test_reference_layout():
    """The layout the reference documents (T=7, B=3, D=5, H=4)."""
    shapes = {
        cell: (
            reference.workspace_shapes(cell, "forward", 7, 3, 5, 4, True),
            reference.workspace_shapes(cell, "backward", 7, 3, 5, 4, True),
        )
        for cell in ("lstm", "gru", "rnn")
    }
    assert shapes["lstm"] == (
        {"gates": (7, 3, 16), "bias": (16,), "c": (7, 3, 4), "w_ih_panels": (1, 5, 16), "w_hh_panels": (1, 4, 16)},
        {"dgates": (7, 3, 16), "w_hh_panels": (1, 16, 16), "gemm_panels": (1, 256, 16)},
    )
    assert shapes["gru"] == (
        {
            "gates": (7, 3, 12),
            "gh": (3, 12),
            "bias": (16,),
            "ghn": (7, 3, 4),
            "w_ih_panels": (1, 5, 16),
            "w_hh_panels": (1, 4, 16),
        },
        {"dgh": (7, 3, 12), "dgin": (7, 3, 4), "w_hh_panels": (1, 12, 16), "gemm_panels": (1, 256, 16)},
    )
    assert shapes["rnn"] == (
        {"bias": (4,), "w_ih_panels": (1, 5, 16), "w_hh_panels": (1, 4, 16)},
        {"dgates": (7, 3, 4), "w_hh_panels": (1, 4, 16), "gemm_panels": (1, 256, 16)},
    )


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("pass_", ["forward", "backward"])
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("sizes", [(1, 1, 1, 1), (7, 3, 5, 4), (100, 32, 256, 128)])
def test_reference_and_kernels_ask_for_the_same_workspaces(cell, pass_, training, sizes):
    from lstm_energy._layers.engines import engine_available, load_engine

    ok, reason = engine_available("cython")
    if not ok:
        pytest.skip(reason)
    kernels = load_engine("cython")
    ours = reference.workspace_shapes(cell, pass_, *sizes, training)
    assert ours == kernels.workspace_shapes(cell, pass_, *sizes, training)


def test_unknown_cell_pass_and_bad_sizes_name_the_bad_value():
    with pytest.raises(ValueError, match="'lstmm'"):
        reference.workspace_shapes("lstmm", "forward", 1, 1, 1, 1, True)
    with pytest.raises(ValueError, match="'sideways'"):
        reference.workspace_shapes("gru", "sideways", 1, 1, 1, 1, True)
    with pytest.raises(ValueError, match="H must be a positive int, got 0"):
        reference.workspace_shapes("gru", "forward", 1, 1, 1, 0, True)
