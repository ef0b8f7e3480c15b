"""Make this folder's helper modules (kernel_oracle, kernel_harness) importable by its tests.

The project runs pytest with ``--import-mode=importlib``, which does not put test folders on
sys.path; the helpers have names unique to this folder so they cannot shadow anyone else's.
"""

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
