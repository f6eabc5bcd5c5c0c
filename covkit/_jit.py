"""The one place for Numba jit settings.

No fastmath: NaN is used as nodata throughout and must propagate. ``cache=True`` keeps
compiled kernels between runs (in ``__pycache__``).
"""

from __future__ import annotations

import numba

njit = numba.njit(cache=True, nogil=True, error_model="numpy")
"""Decorator for scalar and array kernels: ``@njit``."""

def _no_refcount_njit():
    """``njit`` without Numba's reference counting, or plain ``njit`` where the option is gone."""
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
    except (KeyError, TypeError):  # pragma: no cover - depends on the Numba version
        return njit


njit_noalloc = _no_refcount_njit()
"""Decorator for hot kernels that allocate nothing (arrays in, scalars or arrays out): compiled
without Numba's reference counting (NRT). With it, every call that passes an array costs an
atomic increment and decrement of the array's reference count - in the radial engine that was
a tenth of the run time (bilinear DEM lookups, hull updates, the P.1812 stage-2 kernel). A
kernel under this decorator that tries to allocate fails to compile, so the rule is enforced."""

njit_parallel = numba.njit(cache=True, nogil=True, error_model="numpy", parallel=True)
"""Decorator for kernels with ``prange`` loops (over radials or sites)."""

prange = numba.prange
