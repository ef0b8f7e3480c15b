"""Build the Cython extensions: every ``.pyx`` under ``lstm_energy/`` becomes one extension module.

Optimisation is on by default (``-O3``). The build stays portable: no ``-march=native`` unless the
builder opts in with ``LSTM_ENERGY_NATIVE=1`` for a local, non-distributable build.
The kernels (``lstm_energy/kernels/``) build with OpenMP: the packed products (``_packed_gemm.h``)
split their panels or row chunks, and large steps their gate math, over the OpenMP pool, whose size
threadpoolctl controls.
"""
import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent
COMPILE_ARGS = ["-O3", "-fno-math-errno", "-fno-trapping-math"]
if os.environ.get("LSTM_ENERGY_NATIVE") == "1":
    COMPILE_ARGS.append("-march=native")

# Release directives; LSTM_ENERGY_DEBUG=1 turns the checks back on for debugging a kernel.
DEBUG = os.environ.get("LSTM_ENERGY_DEBUG") == "1"
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}


OPENMP_PACKAGES = {("lstm_energy", "kernels")}
OPENMP_FLAGS = ["-fopenmp"]


def extensions():
    for pyx in sorted((HERE / "lstm_energy").rglob("*.pyx")):
        rel = pyx.relative_to(HERE).with_suffix("")
        openmp = OPENMP_FLAGS if tuple(rel.parts[:-1]) in OPENMP_PACKAGES else []
        yield Extension(
            ".".join(rel.parts),
            [str(pyx.relative_to(HERE))],
            # C helpers included by the .pyx/.pxd: a change to one rebuilds the extension
            depends=[str(h.relative_to(HERE)) for h in sorted(pyx.parent.glob("*.h"))],
            include_dirs=[numpy.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=COMPILE_ARGS + openmp,
            extra_link_args=openmp,
        )


setup(ext_modules=cythonize(list(extensions()), compiler_directives=DIRECTIVES))
