"""Upper convex hull of profile points (x = distance, y = height; x strictly increasing): the
radial sweep's receiver-side slopes and obstruction terms are tangents to it.

Points are appended in amortised O(1) (:func:`hull_push`); extreme points and tangents are
found by binary search in O(log n) (:func:`hull_extreme`, :func:`hull_tangent_right`).
"""

from __future__ import annotations

from covkit._jit import njit_noalloc


@njit_noalloc
def hull_push(hx, hy, hi, n_hull, x, y, i):
    """Append point ``i`` at (x, y) to the upper hull ``(hx, hy, hi)[:n_hull]`` (x increasing);
    return the new size. The hull keeps coordinates next to the profile index: reading
    them back through the index is several times slower in Numba."""
    while n_hull >= 2:
        ax = hx[n_hull - 2]
        ay = hy[n_hull - 2]
        # the last vertex goes when it lies below or on the chord from the one before to (x, y)
        if (hx[n_hull - 1] - ax) * (y - ay) - (hy[n_hull - 1] - ay) * (x - ax) >= 0.0:
            n_hull -= 1
        else:
            break
    hx[n_hull] = x
    hy[n_hull] = y
    hi[n_hull] = i
    return n_hull + 1


@njit_noalloc
def _hull_step_up(hx, hy, j, a, b, tangent):
    """True when hull vertex j + 1 beats vertex j: for a slope query (``tangent`` False) on
    ``y - a x`` (strictly), for a tangent query from the point (a, b) right of the hull on
    ``(y - b) / (a - x)`` (ties go right). Along an upper hull this is true, then false."""
    if tangent:
        return (hy[j + 1] - hy[j]) * (a - hx[j]) >= (b - hy[j]) * (hx[j + 1] - hx[j])
    return hy[j + 1] - hy[j] > a * (hx[j + 1] - hx[j])


@njit_noalloc
def _hull_search(hx, hy, hi, n_hull, a, b, tangent):
    """Profile index of the hull vertex answering the query of :func:`_hull_step_up`: the
    first vertex with no better successor. Galloping from the last vertex (the engine's
    answers tend to lie near the receiver end), then bisection."""
    lo = -1  # step_up(lo) true (or -1); step_up(hi_) false (or the last vertex)
    hi_ = n_hull - 1
    step = 1
    j = hi_ - 1
    while j >= 0:
        if _hull_step_up(hx, hy, j, a, b, tangent):
            lo = j
            break
        hi_ = j
        j -= step
        step *= 2
    while hi_ - lo > 1:
        mid = (lo + hi_) // 2
        if _hull_step_up(hx, hy, mid, a, b, tangent):
            lo = mid
        else:
            hi_ = mid
    return hi[hi_]


@njit_noalloc
def hull_extreme(hx, hy, hi, n_hull, slope):
    """Profile index of the hull vertex maximising ``y - slope * x`` (the first on ties)."""
    return _hull_search(hx, hy, hi, n_hull, slope, 0.0, False)


@njit_noalloc
def hull_tangent_right(hx, hy, hi, n_hull, xq, yq):
    """Profile index of the hull vertex maximising ``(y - yq) / (xq - x)`` for a point q right
    of every vertex (the last such vertex on ties)."""
    return _hull_search(hx, hy, hi, n_hull, xq, yq, True)
