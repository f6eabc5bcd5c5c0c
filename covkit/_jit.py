"""The one place for Numba jit settings.

No fastmath: NaN is used as nodata throughout and must propagate. ``cache=True`` keeps
compiled kernels between runs (in ``__pycache__``).
"""

from __future__ import annotations

import numba
import numba.core.options

njit = numba.njit(cache=True, nogil=True, error_model="numpy")
"""Decorator for scalar and array kernels: ``@njit``."""

# ``_nrt=False`` is a Numba target option (``numba.core.options.TargetOptions``); should a
# future Numba drop it, the kernels below compile with reference counting, just slower.
_NRT_OPTION = {"_nrt": False} if hasattr(numba.core.options.TargetOptions, "_nrt") else {}

njit_noalloc = numba.njit(cache=True, nogil=True, error_model="numpy", **_NRT_OPTION)
"""Decorator for hot kernels that allocate nothing (arrays in, scalars or arrays out): compiled
without Numba's reference counting (NRT). With it, every call that passes an array costs an
atomic increment and decrement of the array's reference count - in the radial engine that was
a tenth of the run time (bilinear DEM lookups, hull updates, the P.1812 stage-2 kernel). A
kernel under this decorator that tries to allocate fails to compile, so the rule is enforced."""

njit_parallel = numba.njit(cache=True, nogil=True, error_model="numpy", parallel=True)
"""Decorator for kernels with ``prange`` loops (over radials or sites)."""

prange = numba.prange
