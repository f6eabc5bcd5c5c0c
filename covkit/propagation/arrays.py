"""Array-argument helpers of the validated Python functions of the propagation models.

Conversion to float64 arrays with finite values (:func:`as_float_array`), positivity and
validity-range checks (:func:`check_positive`, :func:`check_range`), broadcasting of the
arguments for the array kernels (:func:`prepare`) and the shaping of the result
(:func:`finish`). Errors are :class:`~covkit.errors.CovkitInputError` naming the parameter.
"""

from __future__ import annotations

import numpy as np

from covkit.errors import CovkitInputError


def as_float_array(name: str, value) -> np.ndarray:
    """Convert ``value`` to a float64 array; raise if it is not numeric or not finite.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : array_like
        Scalar or array.
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CovkitInputError(f"{name} must be numeric, got {value!r}", column=name) from exc
    if not np.all(np.isfinite(arr)):
        raise CovkitInputError(f"{name} must be finite, got {value!r}", column=name)
    return arr


def check_positive(name: str, arr: np.ndarray) -> None:
    """Raise :class:`CovkitInputError` naming ``name`` unless every value is > 0."""
    if np.any(arr <= 0.0):
        bad = float(arr[arr <= 0.0].flat[0])
        raise CovkitInputError(f"{name} must be > 0, got {bad:g}", column=name)


def check_range(
    model: str, name: str, arr: np.ndarray, lo: float, hi: float, extrapolate: bool
) -> None:
    """Raise :class:`CovkitInputError` if ``arr`` leaves ``[lo, hi]`` and not ``extrapolate``.

    The message names the model, the parameter, the first offending value and the range.
    """
    if extrapolate:
        return
    outside = (arr < lo) | (arr > hi)
    if np.any(outside):
        bad = float(arr[outside].flat[0])
        raise CovkitInputError(
            f"{model}: {name}={bad:g} is outside the model's validity range [{lo:g}, {hi:g}]; "
            "pass extrapolate=True to evaluate the formula outside its range",
            column=name,
        )


def prepare(names, values, positive: bool = True):
    """Validate and broadcast the array arguments of a validated model function.

    Every value is converted with :func:`as_float_array` and, with ``positive``, must be > 0
    (:func:`check_positive`); the arrays are broadcast together and flattened.

    Parameters
    ----------
    names : sequence of str
        Parameter names, for the error messages.
    values : sequence of array_like
        The arguments, same order.
    positive : bool
        Whether every value must be > 0 (the clutter models check their own ranges).

    Returns
    -------
    shape : tuple of int
        The broadcast shape (``()`` when all are scalars).
    flat : list of 1-D float64 arrays
        The broadcast arguments, C-contiguous and flattened, ready for the array kernels.

    Raises
    ------
    CovkitInputError
        Naming the argument that is not numeric, not finite or not positive, or the shapes
        that cannot be broadcast.
    """
    arrays = [as_float_array(n, v) for n, v in zip(names, values, strict=True)]
    for n, a in zip(names, arrays, strict=True):
        if positive:
            check_positive(n, a)
    try:
        b = np.broadcast_arrays(*arrays)
    except ValueError as exc:
        raise CovkitInputError(
            f"{', '.join(names)} cannot be broadcast together: "
            f"shapes {[a.shape for a in arrays]}"
        ) from exc
    shape = b[0].shape
    flat = [np.ascontiguousarray(x, dtype=np.float64).ravel() for x in b]
    return shape, flat


def finish(shape, out):
    """Give a kernel's flat output the shape of the arguments: a float for scalar input.

    Parameters
    ----------
    shape : tuple of int
        The broadcast shape returned by :func:`prepare`.
    out : 1-D array
        The kernel's output, ``prod(shape)`` values.
    """
    out = out.reshape(shape)
    return float(out) if out.ndim == 0 else out
