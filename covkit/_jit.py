"""The one place for Numba jit settings.

No fastmath: NaN is used as nodata throughout and must propagate. ``cache=True`` keeps
compiled kernels between runs (in ``__pycache__``).
"""

from __future__ import annotations

import numba

njit = numba.njit(cache=True, nogil=True, error_model="numpy")
"""Decorator for scalar and array kernels: ``@njit``."""

njit_parallel = numba.njit(cache=True, nogil=True, error_model="numpy", parallel=True)
"""Decorator for kernels with ``prange`` loops (over radials or sites)."""

prange = numba.prange
