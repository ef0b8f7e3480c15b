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


def test_reference_gate_buffer_scales_with_gates():
    for cell, G in (("lstm", 4), ("gru", 3), ("rnn", 1)):
        assert reference.workspace_shapes(cell, "forward", 7, 3, 5, 4, True)["gates"] == (7, 3, G * 4)


def test_unknown_cell_and_pass_name_the_bad_value():
    with pytest.raises(ValueError, match="'lstmm'"):
        reference.workspace_shapes("lstmm", "forward", 1, 1, 1, 1, True)
    with pytest.raises(ValueError, match="'sideways'"):
        reference.workspace_shapes("gru", "sideways", 1, 1, 1, 1, True)
