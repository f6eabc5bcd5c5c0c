"""Exact cell-polygon fractions and the spread of polygon values over grid cells.

:func:`cell_fractions` gives, for every polygon and every grid cell it touches, the share of the
cell's area the polygon covers, computed exactly (up to floating point) by exactextract's C++
core (Baston, exactextract: the coverage fraction of each cell is the area of the cell-polygon
intersection over the cell area; no sub-sampling). :func:`spread_values` spreads polygon values
(people of a census area) over those cells by area share, optionally weighted per cell
(:func:`population_weights`, dasymetric mapping), keeping every polygon's total exactly.
:func:`zone_parts_from_fractions` splits the people of each cell between the zones (townships)
overlapping it, for the per-township sums of :class:`ZoneParts`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from exactextract import exact_extract
from exactextract.feature import Feature, FeatureSource
from exactextract.raster import NumPyRasterSource
from pyproj import CRS

from covkit.data.grid import Grid


def group_sums(group: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Per group 0..n-1 the sum of ``weights`` by pairwise summation (``np.sum`` over each
    group's contiguous run after a stable sort): rounding grows with log2 of a group's size,
    not with its size as in ``np.bincount``, so sums over millions of cells stay within a few
    ulp of the exact total."""
    group = np.asarray(group, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    if group.size and np.any(group[1:] < group[:-1]):
        order = np.argsort(group, kind="stable")
        group, weights = group[order], weights[order]
    starts = np.searchsorted(group, np.arange(n + 1))
    return np.array([weights[starts[i]:starts[i + 1]].sum() for i in range(n)],
                    dtype=np.float64)


@dataclass(frozen=True)
class CellFractions:
    """Sparse table of (polygon, cell, covered share) triples.

    Attributes
    ----------
    polygon : int64[k]
        0-based polygon index.
    cell : int64[k]
        Flat cell index on the grid (``row * width + col``, row 0 at the top).
    fraction : float64[k]
        Share of the cell's area covered by the polygon, in (0, 1].
    n_polygons : int
    """

    polygon: np.ndarray
    cell: np.ndarray
    fraction: np.ndarray
    n_polygons: int

    def covered_share(self, n_cells: int) -> np.ndarray:
        """Per cell, the summed share covered by all polygons (float64[n_cells])."""
        return np.bincount(self.cell, weights=self.fraction, minlength=n_cells)


class _WkbFeature(Feature):
    """A polygon handed to exactextract as WKB, with its index as the one field."""

    def __init__(self, index: int = -1, wkb: bytes | None = None):
        super().__init__()
        self.index = index
        self.wkb = wkb
        self.values: dict = {}

    def geometry(self):
        return self.wkb

    def set_geometry(self, wkb):
        self.wkb = wkb

    def set_geometry_format(self):
        return "wkb"

    def get(self, name):
        return self.index if name == "polygon" else self.values[name]

    def set(self, name, value):
        self.values[name] = value

    def fields(self):
        return ["polygon"]


class _WkbSource(FeatureSource):
    """Shapely polygons as an exactextract feature source (WKB: no GeoJSON round trip)."""

    def __init__(self, geoms, crs_wkt: str):
        super().__init__()
        self.wkbs = shapely.to_wkb(np.asarray(geoms, dtype=object))
        self.crs_wkt = crs_wkt

    def count(self):
        return len(self.wkbs)

    def __iter__(self):
        for i, wkb in enumerate(self.wkbs):
            yield _WkbFeature(i, wkb)

    def srs_wkt(self):
        return self.crs_wkt


def cell_fractions(geoms, grid: Grid) -> CellFractions:
    """Exact share of each grid cell covered by each polygon (exactextract ``coverage``).

    Parameters
    ----------
    geoms : sequence of shapely (Multi)Polygons in the grid's CRS [m]
    grid : Grid

    Returns
    -------
    CellFractions
        Only cells with a positive covered share; the parts of polygons outside the grid
        have no cell.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if n == 0:
        empty = np.zeros(0, np.int64)
        return CellFractions(empty, empty, np.zeros(0), 0)
    xmin, ymin, xmax, ymax = grid.bounds
    raster = NumPyRasterSource(np.zeros(grid.shape, dtype=np.uint8), xmin, ymin, xmax, ymax)
    source = _WkbSource(geoms, CRS.from_user_input(grid.crs).to_wkt())
    out = exact_extract(raster, source, ["cell_id", "coverage"], include_cols=["polygon"],
                        output="pandas")
    sizes = np.fromiter((len(c) for c in out["cell_id"]), dtype=np.int64, count=len(out))
    if sizes.sum() == 0:
        empty = np.zeros(0, np.int64)
        return CellFractions(empty, empty, np.zeros(0), n)
    poly = np.repeat(out["polygon"].to_numpy(dtype=np.int64), sizes)
    cell = np.concatenate([np.asarray(c, dtype=np.int64) for c in out["cell_id"] if len(c)])
    frac = np.concatenate([np.asarray(c, dtype=np.float64) for c in out["coverage"] if len(c)])
    keep = frac > 0.0
    return CellFractions(poly[keep], cell[keep], np.minimum(frac[keep], 1.0), n)


@dataclass(frozen=True)
class Spread:
    """Polygon values spread over cells: (polygon, cell, value) parts.

    ``value`` of the parts of polygon i sums to the polygon's value (exactly up to floating
    point) when the polygon touches the grid; ``outside`` is the total of polygons that lie
    wholly outside it; ``fallback`` counts polygons spread by area share because their cells
    had no weight.
    """

    polygon: np.ndarray
    cell: np.ndarray
    value: np.ndarray
    outside: float
    fallback: int = 0

    def to_grid(self, grid: Grid) -> np.ndarray:
        """The spread values summed per cell (float64 grid)."""
        out = np.bincount(self.cell, weights=self.value, minlength=grid.height * grid.width)
        return out.reshape(grid.shape)


def spread_values(geoms, values: np.ndarray, grid: Grid,
                  weights: np.ndarray | None = None,
                  fractions: CellFractions | None = None) -> Spread:
    """Spread each polygon's value over the grid cells it covers.

    Polygon i puts ``values[i] * a_ij w_j / sum_j a_ij w_j`` into cell j, where ``a_ij`` is the
    exact covered share of the cell (:func:`cell_fractions`) and ``w_j`` a cell weight
    (default 1: area share). A polygon whose covered cells all have weight 0 falls back to area
    share; one that covers no cell's area (a degenerate sliver) goes whole to the cell holding
    its representative point. Polygons partly outside the grid are spread over their part
    inside it (their whole value stays on the grid); those wholly outside are ``outside``.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    fr = fractions if fractions is not None else cell_fractions(geoms, grid)
    a = fr.fraction
    w = a if weights is None else a * np.asarray(weights, dtype=np.float64).ravel()[fr.cell]
    den_w = group_sums(fr.polygon, w, n)
    den_a = group_sums(fr.polygon, a, n)
    use_w = den_w[fr.polygon] > 0.0
    share = np.where(use_w, w / np.where(use_w, den_w[fr.polygon], 1.0),
                     a / np.where(den_a[fr.polygon] > 0, den_a[fr.polygon], 1.0))
    fallback = int(((den_w <= 0.0) & (den_a > 0.0) & (values > 0)).sum()) \
        if weights is not None else 0
    poly, cell, val = [fr.polygon], [fr.cell], [values[fr.polygon] * share]
    outside = 0.0
    missing = np.flatnonzero(den_a <= 0.0)
    if missing.size:
        pts = shapely.get_coordinates(shapely.point_on_surface(
            np.asarray(geoms, dtype=object)[missing]))
        r, c = grid.index_of(pts[:, 0], pts[:, 1])
        ok = (r >= 0) & (r < grid.height) & (c >= 0) & (c < grid.width)
        poly.append(missing[ok])
        cell.append((r[ok] * grid.width + c[ok]).astype(np.int64))
        val.append(values[missing[ok]])
        outside = float(values[missing[~ok]].sum())
    return Spread(np.concatenate(poly), np.concatenate(cell), np.concatenate(val), outside,
                  fallback)


DASYMETRIC_FLAT_SLOPE_DEG = 5.0
DASYMETRIC_STEEP_SLOPE_DEG = 30.0
DASYMETRIC_LOW_M = 500.0
DASYMETRIC_HIGH_M = 3000.0
DASYMETRIC_MIN_WEIGHT = 0.1
"""Dasymetric weights (:func:`population_weights`): 1 on flat (slope <= 5 deg) low (<= 500 m)
land, falling linearly to 0.1 at 30 deg and at 3000 m (the factors multiply)."""


def population_weights(dem_m: np.ndarray, resolution_m: float) -> np.ndarray:
    """Dasymetric weight per cell for spreading population polygons (relative, 0-1).

    0 on sea (DEM <= 0 m); on land the product of a height factor (1 up to
    :data:`DASYMETRIC_LOW_M`, linear to :data:`DASYMETRIC_MIN_WEIGHT` at
    :data:`DASYMETRIC_HIGH_M`) and a slope factor (1 up to :data:`DASYMETRIC_FLAT_SLOPE_DEG`,
    linear to the minimum at :data:`DASYMETRIC_STEEP_SLOPE_DEG`; slope from central
    differences of the DEM); 1 where the DEM is unknown (NaN: no information). A heuristic
    for where people live; the totals per polygon stay exact whatever the weights.
    """
    dem = np.asarray(dem_m, dtype=np.float64)
    known = np.isfinite(dem)
    filled = np.where(known, dem, 0.0)
    if min(dem.shape) >= 2:  # sea depths count as 0 m: the sea floor makes no coastal slope
        gy, gx = np.gradient(np.maximum(filled, 0.0), resolution_m)
        slope_deg = np.degrees(np.arctan(np.hypot(gx, gy)))
    else:
        slope_deg = np.zeros(dem.shape)
    lo = DASYMETRIC_MIN_WEIGHT

    def ramp(v, v0, v1):
        return np.clip(1.0 - (1.0 - lo) * (v - v0) / (v1 - v0), lo, 1.0)

    w = ramp(filled, DASYMETRIC_LOW_M, DASYMETRIC_HIGH_M) * \
        ramp(slope_deg, DASYMETRIC_FLAT_SLOPE_DEG, DASYMETRIC_STEEP_SLOPE_DEG)
    w = np.where(filled <= 0.0, 0.0, w)
    return np.where(known, w, 1.0)


@dataclass(frozen=True)
class ZoneParts:
    """Which zones (townships) the people of each cell belong to: a sparse (cell, zone, share)
    table, the exact membership of the grid's people in zones.

    Attributes
    ----------
    cell : int64[k]
        Flat cell index (``row * width + col``).
    zone : int64[k]
        Zone (township) row index.
    share : float64[k]
        Share of the cell's people that belong to that zone; per cell the shares sum to 1 or
        less (the rest is outside every zone). A cell without a pair is outside every zone.
    method : str
        How the pairs were made (:data:`PARTS_BY_CODE` or :data:`PARTS_BY_AREA`).
    """

    cell: np.ndarray
    zone: np.ndarray
    share: np.ndarray
    method: str = ""

    def sums(self, values: np.ndarray, n_zones: int) -> tuple[np.ndarray, float]:
        """Sum a per-cell quantity proportional to the cell's people (people, covered people,
        people near fibre, ...) per zone (0..n_zones-1), and outside every zone.

        Returns
        -------
        per_zone : float64[n_zones]
        outside : float
            The sum of ``values`` times the share of each cell in no zone (the two add up to
            the total of ``values``).
        """
        v = np.asarray(values, dtype=np.float64).ravel()
        per = group_sums(self.zone, self.share * v[self.cell], n_zones)
        cells, rest = self.outside_shares(v.size)
        return per.astype(np.float64), float(v[cells] @ rest)

    def outside_shares(self, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
        """The cells (flat index, ascending) with a share outside every zone, and that share
        (1 less the cell's zone shares; 0, so left out, where those reach 1 up to
        :data:`SHARE_ROUNDING`). Computed once per grid size: every sum reuses it."""
        memo = self.__dict__.setdefault("_outside_memo", {})
        if n_cells not in memo:
            in_zones = np.bincount(self.cell, weights=self.share, minlength=n_cells)
            rest = np.where(in_zones >= 1.0 - SHARE_ROUNDING, 0.0, 1.0 - in_zones)
            cells = np.flatnonzero(rest)
            memo[n_cells] = (cells, rest[cells])
        return memo[n_cells]


SHARE_ROUNDING = 1e-12
"""A cell whose zone shares sum to at least 1 - this is wholly in zones (rounding)."""
SLIVER_SHARE = 1e-6
"""A cell covered by zones to at least 1 - this share is wholly in them: gaps this small
(0.01 m2 of a 100 m cell) are slivers between adjoining polygons, not land outside them."""
PARTS_BY_CODE = "population polygons carry their township code"
PARTS_BY_AREA = "cell people split by exact area fraction of the townships"
PARTS_BY_CENTRE = "cell centre in township (zone raster)"


def sorted_parts(cell, zone, share, method: str) -> ZoneParts:
    """ZoneParts with the pairs ordered by zone (then cell), as :meth:`ZoneParts.sums`
    prefers (no sort per sum)."""
    order = np.lexsort((cell, zone))
    return ZoneParts(np.asarray(cell, np.int64)[order], np.asarray(zone, np.int64)[order],
                     np.asarray(share, np.float64)[order], method)


def zone_parts_from_fractions(fr: CellFractions, n_cells: int) -> ZoneParts:
    """Split each cell's people between the zones overlapping it by exact area fraction.

    Zone z gets the share ``f_zj`` of cell j, divided by ``S_j`` (the summed share of all
    zones) where ``S_j >= 1 -`` :data:`SLIVER_SHARE` (zones overlapping, or slivers between
    them); the rest of a cell less covered, ``1 - S_j``, is outside every zone.
    """
    s = fr.covered_share(n_cells)
    scale = np.where(s >= 1.0 - SLIVER_SHARE, s, 1.0)
    share = fr.fraction / scale[fr.cell]
    return sorted_parts(fr.cell, fr.polygon, share, PARTS_BY_AREA)


def zone_parts_from_spread(spread: Spread, polygon_zone: np.ndarray, n_cells: int) -> ZoneParts:
    """People of polygons that each belong to a known zone (``polygon_zone[i]``, -1 = none):
    zone z's share of cell j is the people its polygons put there over all people there."""
    pz = np.asarray(polygon_zone, dtype=np.int64)[spread.polygon]
    total = np.bincount(spread.cell, weights=spread.value, minlength=n_cells)
    keep = (pz >= 0) & (spread.value > 0)
    cell, zone, val = spread.cell[keep], pz[keep], spread.value[keep]
    # one pair per (cell, zone)
    key = cell * (int(zone.max(initial=0)) + 1) + zone
    uniq, inv = np.unique(key, return_inverse=True)
    people = np.bincount(inv, weights=val, minlength=uniq.size)
    first = np.zeros(uniq.size, np.int64)
    first[inv] = np.arange(inv.size)
    cell, zone = cell[first], zone[first]
    return sorted_parts(cell, zone, people / total[cell], PARTS_BY_CODE)


def zone_parts_from_raster(zone_raster: np.ndarray) -> ZoneParts:
    """Each cell wholly in the zone holding its centre (the zone raster; -1 = none)."""
    z = np.asarray(zone_raster).ravel()
    cell = np.flatnonzero(z >= 0)
    return sorted_parts(cell, z[cell].astype(np.int64), np.ones(cell.size), PARTS_BY_CENTRE)
