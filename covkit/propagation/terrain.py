"""Terrain sampling kernels: bilinear DEM heights and exact point-to-point profiles.

The DEM is a north-up float array with NaN as nodata and a GDAL-order geotransform
``affine6 = (x0_m, dx_m, 0, y0_m, 0, -dy_m)`` (top-left corner of the top-left cell). Heights are
interpolated bilinearly between cell centres; within half a cell of the raster edge the edge
values are used; outside the raster the height is NaN.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import distance_transform_edt

from covkit._jit import njit_noalloc
from covkit.propagation.constants import ZONE_COASTAL_LAND, ZONE_INLAND, ZONE_SEA


@njit_noalloc
def cell_coords(affine6, x_m, y_m):
    """Fractional cell-centre coordinates ``(column, row)`` of the point (x_m, y_m): cell
    centres at whole numbers, as :func:`bilinear_at` takes them."""
    return (x_m - affine6[0]) / affine6[1] - 0.5, (y_m - affine6[3]) / affine6[5] - 0.5


@njit_noalloc
def bilinear_height_m(dem_m, affine6, x_m, y_m):
    """Terrain height [m] at (x_m, y_m) by bilinear interpolation between cell centres.

    Returns NaN outside the raster or where a contributing cell is NaN.
    """
    fc, fr = cell_coords(affine6, x_m, y_m)
    return bilinear_at(dem_m, fc, fr)


@njit_noalloc
def bilinear_interior(dem_m, fc, fr):
    """Bilinear height at fractional cell coordinates with all four neighbours inside the
    raster (0 <= fc < ncols - 1, 0 <= fr < nrows - 1; not checked). Equals the careful sum of
    :func:`bilinear_at` whenever the neighbours are finite (a zero-weight term adds an exact
    zero); NaN if any is NaN."""
    c0 = int(fc)
    r0 = int(fr)
    tc = fc - c0
    tr = fr - r0
    return ((1.0 - tc) * (1.0 - tr) * dem_m[r0, c0] + tc * (1.0 - tr) * dem_m[r0, c0 + 1]) \
        + (1.0 - tc) * tr * dem_m[r0 + 1, c0] + tc * tr * dem_m[r0 + 1, c0 + 1]


@njit_noalloc
def bilinear_at(dem_m, fc, fr):
    """Bilinear height at fractional cell-centre coordinates (column ``fc``, row ``fr``; cell
    centres at whole numbers), edge values within half a cell of the border, NaN beyond."""
    nrows, ncols = dem_m.shape
    if fc >= 0.0 and fr >= 0.0 and fc < ncols - 1 and fr < nrows - 1:
        v = bilinear_interior(dem_m, fc, fr)  # the fast path: the four neighbours exist
        if not np.isnan(v):
            return v
    if fc < -0.5 or fr < -0.5 or fc > ncols - 0.5 or fr > nrows - 0.5:
        return np.nan
    if fc < 0.0:
        fc = 0.0
    if fr < 0.0:
        fr = 0.0
    if fc > ncols - 1:
        fc = ncols - 1.0
    if fr > nrows - 1:
        fr = nrows - 1.0
    c0 = int(math.floor(fc))
    r0 = int(math.floor(fr))
    if c0 > ncols - 2:
        c0 = max(ncols - 2, 0)
    if r0 > nrows - 2:
        r0 = max(nrows - 2, 0)
    c1 = min(c0 + 1, ncols - 1)
    r1 = min(r0 + 1, nrows - 1)
    tc = fc - c0
    tr = fr - r0
    # terms with zero weight are skipped so that a NaN neighbour does not spoil an exact hit
    v = 0.0
    w = (1.0 - tc) * (1.0 - tr)
    if w > 0.0:
        v += w * dem_m[r0, c0]
    w = tc * (1.0 - tr)
    if w > 0.0:
        v += w * dem_m[r0, c1]
    w = (1.0 - tc) * tr
    if w > 0.0:
        v += w * dem_m[r1, c0]
    w = tc * tr
    if w > 0.0:
        v += w * dem_m[r1, c1]
    return v


COASTAL_LAND_MAX_HEIGHT_M = 100.0
"""Coastal land (zone 3, ITU-R P.1812-8 Table 2): land up to 100 m above sea level..."""
COASTAL_LAND_MAX_DISTANCE_KM = 50.0
"""... and at most 50 km from the nearest sea area."""
NO_COAST = np.empty((0, 0), np.float32)
"""The coast-distance raster argument meaning "none": every land point is inland (zone 4)."""


@njit_noalloc
def zone_of_height(h_m):
    """Sea (1) at or below 0 m AMSL, else inland (4): the zone of a profile point when no
    distance to the coast is known (see :func:`zone_at`)."""
    return ZONE_SEA if h_m <= 0.0 else ZONE_INLAND


@njit_noalloc
def zone_at(h_m, coast_km, fc, fr):
    """Radio-climatic zone of a profile point of height ``h_m`` at fractional cell ``(fc, fr)``:
    sea (1) at or below 0 m AMSL; coastal land (3) up to 100 m where the bilinear distance to
    the sea from ``coast_km`` (:func:`coast_distance_km`) is at most 50 km; else inland (4).
    ``coast_km`` with no cells (:data:`NO_COAST`): no coastal land."""
    if h_m <= 0.0:
        return ZONE_SEA
    if h_m > COASTAL_LAND_MAX_HEIGHT_M or coast_km.shape[0] == 0:
        return ZONE_INLAND
    if bilinear_at(coast_km, fc, fr) <= COASTAL_LAND_MAX_DISTANCE_KM:
        return ZONE_COASTAL_LAND
    return ZONE_INLAND


def coast_distance_km(dem_m, pixel_m):
    """Distance [km] from each cell centre to the nearest sea cell (finite height <= 0 m),
    float32 on the DEM's grid (0 on the sea; +inf everywhere when the DEM has no sea: covkit
    cannot see a coast beyond the raster). The Euclidean distance transform of the sea mask."""
    dem_m = np.asarray(dem_m)
    sea = np.isfinite(dem_m) & (dem_m <= 0.0)
    if not sea.any():
        return np.full(dem_m.shape, np.inf, np.float32)
    return (distance_transform_edt(~sea) * (float(pixel_m) / 1000.0)).astype(np.float32)


@njit_noalloc
def profile_segments(distance_m, step_m):
    """Number of profile intervals for a path of ``distance_m`` sampled every ``step_m``: points
    at ``k * step_m`` for ``k < n`` and the end point, so no interval exceeds ``step_m``."""
    n = int(math.ceil(distance_m / step_m - 1e-9))
    return max(n, 1)


@njit_noalloc
def sample_profile(dem_m, affine6, x0_m, y0_m, x1_m, y1_m, step_m, n_seg, d_km, h_m, zone,
                   coast_km):
    """Exact profile from (x0, y0) to (x1, y1): ``n_seg + 1`` points at ``k * step_m`` from the
    start (``k = 0 .. n_seg - 1``) and the end point (``n_seg = profile_segments(...)``).

    Anchoring the samples at the start makes the profile to any point a prefix-extension of the
    profile along the same azimuth, the property the radial engine relies on. Fills ``d_km``
    (distance from the start [km]), ``h_m`` (bilinear terrain height [m]) and ``zone``
    (radio-climatic zone per point, :func:`zone_at` with the coast-distance raster
    ``coast_km`` on the DEM's grid, or :data:`NO_COAST`). Returns False if any height is NaN.
    """
    dx = x1_m - x0_m
    dy = y1_m - y0_m
    dist_m = math.sqrt(dx * dx + dy * dy)
    ux = dx / dist_m if dist_m > 0.0 else 0.0
    uy = dy / dist_m if dist_m > 0.0 else 0.0
    ok = True
    for k in range(n_seg + 1):
        t_m = k * step_m if k < n_seg else dist_m
        fc, fr = cell_coords(affine6, x0_m + t_m * ux, y0_m + t_m * uy)
        h = bilinear_at(dem_m, fc, fr)
        d_km[k] = t_m / 1000.0
        h_m[k] = h
        zone[k] = zone_at(h, coast_km, fc, fr)
        if not np.isfinite(h):
            ok = False
    return ok
