# cython: language_level=3
"""Cheap O(1) shape and stride checks run before a kernel touches memory.

The contract leaves validation to ``lstm_energy.layers``; these checks exist so that a wrong
workspace or a mismatched buffer raises ``ShapeError`` instead of corrupting memory.
"""


cdef inline int expect_shape(str function, str name, Py_ssize_t* shape, int ndim,
                             Py_ssize_t d0, Py_ssize_t d1, Py_ssize_t d2) except -1:
    """Raise ShapeError unless shape[:ndim] == (d0, d1, d2)[:ndim]."""
    cdef Py_ssize_t want[3]
    cdef int k
    want[0] = d0
    want[1] = d1
    want[2] = d2
    for k in range(ndim):
        if shape[k] != want[k]:
            from lstm_energy.errors import ShapeError
            seen = tuple([shape[i] for i in range(ndim)])
            expected = tuple([want[i] for i in range(ndim)])
            raise ShapeError(
                f"{function}: {name} has shape {seen}, expected {expected}; allocate it as the "
                f"engine contract says (workspaces: lstm_energy.kernels.workspace_shapes)")
    return 0


cdef inline Py_ssize_t element_row_stride(str function, str name, Py_ssize_t* strides,
                                          Py_ssize_t itemsize, Py_ssize_t* step_stride) except -1:
    """Check a (T, B, H) view has a unit last stride; return its row (batch) stride in elements
    and store its time-step stride in elements in ``step_stride``."""
    if strides[2] != itemsize or strides[1] % itemsize != 0 or strides[0] % itemsize != 0:
        from lstm_energy.errors import ShapeError
        raise ShapeError(
            f"{function}: {name} has strides {(strides[0], strides[1], strides[2])} bytes with "
            f"itemsize {itemsize}; its last dimension must be contiguous and the others whole "
            f"elements apart (use a column slice of a C-contiguous array, or np.ascontiguousarray)")
    step_stride[0] = strides[0] // itemsize
    return strides[1] // itemsize


cdef inline int expect_positive(str function, Py_ssize_t T, Py_ssize_t B, Py_ssize_t D,
                                Py_ssize_t H, Py_ssize_t G) except -1:
    """Sizes must be >= 1 and every GEMM dimension must fit BLAS's 32-bit int."""
    if T < 1 or B < 1 or D < 1 or H < 1:
        from lstm_energy.errors import ShapeError
        raise ShapeError(f"{function}: sizes T={T}, B={B}, D={D}, H={H} must all be >= 1")
    if T * B * max(G * H, D) >= 2 ** 31:
        from lstm_energy.errors import ShapeError
        raise ShapeError(f"{function}: T*B*max(G*H, D) = {T * B * max(G * H, D)} elements exceeds "
                         f"the 32-bit BLAS index range; split the sequence into chunks")
    return 0
