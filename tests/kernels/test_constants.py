"""Constants the Python side restates from the C kernels must equal them: the workspace shapes
(lstm_energy._layers.workspaces) are sized with the panel width and k chunk of _packed_gemm.h, and the
kernels refuse a workspace of another shape."""

from lstm_energy._layers import workspaces
from lstm_energy.kernels import _vector_math_probe as probe


def test_workspace_constants_equal_the_c_ones():
    assert workspaces.PANEL_WIDTH == probe.PANEL_WIDTH  # LE_NR
    assert workspaces.GEMM_K_CHUNK == probe.GEMM_K_CHUNK  # LE_KC
