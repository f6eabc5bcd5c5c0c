"""A synthetic, seeded, Taiwan-sized country without any input data (``covkit scenario
national``): the national-scale benchmark scenario.

The island is invented. It lies in the open Philippine Sea around 124.0 deg E, 22.0 deg N
(:data:`CENTRE_M` in EPSG:3826, TWD97 / TM2 zone 121), where there is no land, so its files
can never be mistaken for real data; every file says so (GeoTIFF tags ``SYNTHETIC``, a
``source`` column in the townships, comments in ``scenario.toml``, ``national.json``).

At ``scale = 1`` (every figure below scales with it: areas, people, townships, counties'
townships and sites; lengths with its square root, so a smaller scale is a shrunken copy of
the same island):

- **land**: about :data:`LAND_KM2` (36,000 km2), a smoothed noisy ellipse of about
  380 km x 140 km whose long axis runs :data:`AXIS_DEG` east of north, cut by a threshold
  chosen so that the land cells make the target area (to within 0.1 %: islets dropped, lakes
  filled): one piece, no lakes;
- **terrain** (``dem.tif``, float32 m AMSL, no nodata): a main range east of the axis over
  most of the interior, up to about :data:`PEAK_M` (3,500 m), with ridged and spectral noise
  on a lattice of posts :data:`RELIEF_POST_M` apart and self-affine detail below the post
  spacing (:func:`covkit.data.terrain.fractal_detail_m`, scaled to the local relief, so the
  plains stay smooth); wide coastal plains on the west side, a narrow strip on the east; the
  sea as a bathymetric DEM gives it (ETOPO1 in the Taiwan scenario): negative depths, land
  >= 1 m;
- **people** (``population.tif``, persons per cell, whole numbers, float32): exactly
  :data:`POPULATION` (23 million) in cities on the western plain (Gaussian cores and suburbs),
  towns in the plains and valleys, mountain villages and a rural background that fades with
  height; the mountain townships fall below one fifth of the national density, so the remote
  rule's density arm flags a share of them as Taiwan's does;
- **townships** (``townships.gpkg``): about :data:`TOWNSHIPS` (370) Voronoi cells of seeds
  placed by population density (small in the cities, large in the mountains) clipped to the
  pixel-exact coastline, tiling the land; 7-digit codes (5-digit county code + 2 digits) in
  about :data:`COUNTIES` (20) counties of neighbouring townships (``county_code``), synthetic
  ASCII names;
- **sites** (``stations.csv``): :data:`SITES` (15,000) sites of :data:`OPERATORS` (3)
  operators, three sectors each (45,000 sectors; 3.5 GHz on every site, 700 MHz on rural
  ones), placed by :func:`covkit.data.synthetic.synthetic_stations` on this island's grid,
  people, terrain and townships (the placement ``covkit scenario sites`` and the Taiwan
  builder use), flagged synthetic;
- ``scenario.toml``: P.1812 on a grid of ``resolution_m`` (100 m), ``max_radius_km`` 10 km,
  the remote rule's ``coverage.national_population`` / ``national_area_km2`` of this island;
  ``national.json``: the parameters and the figures built.

Everything is a pure function of the arguments (``numpy.random.default_rng(seed)``); the same
arguments give byte-identical files. :func:`generate_national` builds the island in memory,
:func:`write_national_scenario` writes the folder.
"""

from __future__ import annotations

import math
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer
from rasterio import features
from scipy import ndimage

from covkit.config import scenario_from_dict
from covkit.data.demo.settlements import place_names
from covkit.data.demo.terrain import fbm
from covkit.data.grid import Grid
from covkit.data.synthetic import density_km2, site_inputs, synthetic_stations
from covkit.data.terrain import fractal_detail_m
from covkit.errors import CovkitInputError
from covkit.outputs import RunCommit

NATIONAL_CRS = "EPSG:3826"
"""Working CRS: TWD97 / TM2 zone 121 (metres)."""
CENTRE_M = (560_000.0, 2_440_000.0)
"""Centre of the island [m] in :data:`NATIONAL_CRS`: about 124.0 deg E, 22.0 deg N, open sea
(the island spans about 123.1-124.9 E, 20.3-23.7 N; Taiwan, the Ryukyus and Luzon lie
outside)."""
LAND_KM2 = 36_000.0
"""Land area at scale 1 [km2] (Taiwan: 36,197 km2)."""
POPULATION = 23_000_000
"""People at scale 1 (Taiwan, March 2022: 23,268,991)."""
TOWNSHIPS = 370
"""Townships at scale 1 (Taiwan: 368)."""
COUNTIES = 20
"""Counties at scale 1 (Taiwan: 22); with the square root of the scale below it."""
SITES = 15_000
"""Sites at scale 1 (three sectors each)."""
OPERATORS = 3
LENGTH_M = 380_000.0
WIDTH_M = 140_000.0
"""Length and width [m] of the island's ellipse at scale 1 (the land threshold makes the land
exactly :data:`LAND_KM2`, a little inside it)."""
AXIS_DEG = 18.0
"""Direction of the island's long axis [deg east of north]."""
PEAK_M = 3_500.0
"""Height of the main range's top [m] before the fine detail."""
RELIEF_POST_M = 1_000.0
"""Post spacing [m] of the large-scale relief at scale 1 (with the square root of the scale);
detail below it is fractal."""
DEFAULT_SEED = 0
SCENARIO_NAME = "covkit-national-synthetic"
SYNTHETIC_NOTE = "covkit national synthetic island, not real terrain, people or networks"
"""Value of the ``SYNTHETIC`` tag and the ``source`` column of the files."""
NATIONAL_FILES = ("dem.tif", "population.tif", "townships.gpkg", "stations.csv",
                  "national.json", "scenario.toml")
"""The files :func:`write_national_scenario` writes (a rerun replaces the whole set)."""
SCALE_RANGE = (0.001, 1.0)
RESOLUTION_RANGE_M = (10.0, 2_000.0)
GPKG_DATE = "2000-01-01T00:00:00Z"
"""Timestamp GDAL writes into the GeoPackage (``OGR_CURRENT_DATE``), so that the same
arguments give the same bytes."""

_MARGIN_POSTS = 4  # sea margin of the grid beyond the island's extent [posts]
_CITY_SHARE, _TOWN_SHARE, _VILLAGE_SHARE = 0.50, 0.27, 0.04  # the rest: rural background


@dataclass(frozen=True)
class NationalIsland:
    """The synthetic country in memory (no sites): what :func:`write_national_scenario` writes.

    Attributes
    ----------
    grid : Grid
    dem_m : 2-D float32
        Terrain [m AMSL] on the grid: sea negative (depths), land >= 1 m.
    population : 2-D float32
        Persons per cell (whole numbers), 0 at sea.
    townships : GeoDataFrame
        ``township_id, name, county, county_code, source, geometry`` in :data:`NATIONAL_CRS`.
    places : DataFrame
        The cities and towns: ``kind, name, x_m, y_m, population``.
    figures : dict
        Land area, people, townships, counties, heights (``national.json``).
    """

    grid: Grid
    dem_m: np.ndarray
    population: np.ndarray
    townships: gpd.GeoDataFrame
    places: pd.DataFrame
    figures: dict


def scaled_counts(scale: float, sites: int = SITES) -> dict[str, int | float]:
    """The targets of a build at ``scale``: ``land_km2``, ``population``, ``townships``,
    ``counties`` (with the square root of the scale) and ``sites`` (``sites`` at scale 1),
    at least one of each; :func:`write_national_scenario` places at least one site per
    operator."""
    s = float(scale)
    townships = max(1, round(TOWNSHIPS * s))
    return {"land_km2": LAND_KM2 * s, "population": int(round(POPULATION * s)),
            "townships": townships,
            "counties": max(1, min(townships, round(COUNTIES * math.sqrt(s)))),
            "sites": max(1, round(int(sites) * s))}


def _check(seed, resolution_m, radius_km, sites, operators, scale) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise CovkitInputError(f"seed {seed!r} must be a whole number >= 0", column="seed")
    lo, hi = SCALE_RANGE
    if not (math.isfinite(float(scale)) and lo <= float(scale) <= hi):
        raise CovkitInputError(f"scale {scale:g} is out of range [{lo:g}, {hi:g}]",
                               column="scale")
    lo, hi = RESOLUTION_RANGE_M
    if not (math.isfinite(float(resolution_m)) and lo <= float(resolution_m) <= hi):
        raise CovkitInputError(f"resolution {resolution_m:g} m is out of range "
                               f"[{lo:g}, {hi:g}]", column="resolution_m")
    if not (math.isfinite(float(radius_km)) and 0.1 <= float(radius_km) <= 200.0):
        raise CovkitInputError(f"radius {radius_km:g} km is out of range [0.1, 200]",
                               column="radius_km")
    if isinstance(sites, bool) or not isinstance(sites, int | np.integer) or sites < 1:
        raise CovkitInputError(f"sites {sites!r} must be a whole number >= 1", column="sites")
    if isinstance(operators, bool) or not isinstance(operators, int | np.integer) \
            or not 1 <= operators <= 26:
        raise CovkitInputError(f"operators {operators!r} must be 1-26", column="operators")


# ----------------------------------------------------------------------------------------------
# geometry helpers


def _smoothstep(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class _Lattice:
    """The posts of the large-scale fields: a north-up lattice centred on the island."""

    def __init__(self, post_m: float, half_x_m: float, half_y_m: float):
        self.post = float(post_m)
        self.nx = 2 * int(math.ceil(half_x_m / post_m)) + 3
        self.ny = 2 * int(math.ceil(half_y_m / post_m)) + 3
        self.x0 = CENTRE_M[0] - (self.nx - 1) / 2.0 * post_m  # first post (west)
        self.y0 = CENTRE_M[1] + (self.ny - 1) / 2.0 * post_m  # first post (north)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    def xy(self) -> tuple[np.ndarray, np.ndarray]:
        return (self.x0 + np.arange(self.nx) * self.post)[None, :], \
            (self.y0 - np.arange(self.ny) * self.post)[:, None]

    def at(self, field: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Bilinear values of a lattice field on the cell centres ``xs`` (columns) x ``ys``
        (rows), float32 (separable: first along y, then along x)."""
        fi = np.clip((self.y0 - ys) / self.post, 0.0, self.ny - 1.000001)
        fj = np.clip((xs - self.x0) / self.post, 0.0, self.nx - 1.000001)
        i0 = np.floor(fi).astype(np.int64)
        j0 = np.floor(fj).astype(np.int64)
        wi = (fi - i0)[:, None]
        wj = (fj - j0)[None, :]
        f = np.asarray(field, dtype=np.float64)
        rows = f[i0] * (1.0 - wi) + f[i0 + 1] * wi
        return (rows[:, j0] * (1.0 - wj) + rows[:, j0 + 1] * wj).astype(np.float32)


def _island_frame(x, y, a_m: float, b_m: float):
    """Coordinates in the island's frame: ``u`` along the long axis (+1 at the northern tip),
    ``v`` across it (+1 on the east coast)."""
    th = math.radians(AXIS_DEG)
    dx, dy = x - CENTRE_M[0], y - CENTRE_M[1]
    return (dx * math.sin(th) + dy * math.cos(th)) / a_m, \
        (dx * math.cos(th) - dy * math.sin(th)) / b_m


def _spaced(rng: np.random.Generator, xy: np.ndarray, weight: np.ndarray, n: int,
            min_sep_m: float) -> np.ndarray:
    """Up to ``n`` of the points ``xy`` (k, 2), at least ``min_sep_m`` apart, visited in a
    random order weighted by ``weight`` (Efraimidis-Spirakis keys)."""
    out = np.empty((max(n, 0), 2))
    if n <= 0 or len(xy) == 0:
        return out[:0]
    w = np.maximum(np.asarray(weight, dtype=np.float64), 1e-300)
    keys = np.log(rng.uniform(1e-300, 1.0, len(xy))) / w
    k = 0
    sep2 = float(min_sep_m) ** 2
    for i in np.argsort(-keys, kind="stable"):
        p = xy[i]
        if k and float(np.min(np.sum((out[:k] - p) ** 2, axis=1))) < sep2:
            continue
        out[k] = p
        k += 1
        if k == n:
            break
    return out[:k]


def _blob(acc: np.ndarray, where: np.ndarray, grid: Grid, x: float, y: float, sigma_m: float,
          people: float) -> None:
    """Add ``people`` to ``acc`` as a Gaussian of ``sigma_m`` around (x, y), weighted by
    ``where`` and renormalised (the people stay whole however much is sea)."""
    res = grid.resolution_m
    r = max(1, int(math.ceil(3.5 * sigma_m / res)))
    row, col = grid.index_of(np.array([x]), np.array([y]))
    row, col = int(row[0]), int(col[0])
    r0, r1 = max(row - r, 0), min(row + r + 1, grid.height)
    c0, c1 = max(col - r, 0), min(col + r + 1, grid.width)
    if r0 >= r1 or c0 >= c1:
        return
    xs = grid.x0_m + (np.arange(c0, c1) + 0.5) * res
    ys = grid.y0_m - (np.arange(r0, r1) + 0.5) * res
    g = np.exp(-((xs[None, :] - x) ** 2 + (ys[:, None] - y) ** 2) / (2.0 * sigma_m ** 2))
    g = g * where[r0:r1, c0:c1]
    s = float(g.sum())
    if s > 0.0:
        acc[r0:r1, c0:c1] += g * (people / s)


def whole_people(weights: np.ndarray, total: int) -> np.ndarray:
    """Whole persons per cell in proportion to ``weights`` with exactly ``total`` people
    (largest-remainder rounding, ties broken by cell order), float32."""
    w = np.asarray(weights, dtype=np.float64)
    flat = (w * (total / float(w.sum()))).ravel()
    base = np.floor(flat)
    short = int(total - base.sum())
    if short > 0:
        rem = flat - base
        base[np.argsort(-rem, kind="stable")[:short]] += 1.0
    return base.reshape(w.shape).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# the island


def _land_and_terrain(rng: np.random.Generator, grid: Grid, lat: _Lattice, a_m: float,
                      b_m: float, land_km2: float, s: float):
    """Land mask and terrain on the grid; the lattice fields the people are placed on."""
    post = lat.post
    xc, yc = lat.xy()
    u, v = _island_frame(xc, yc, a_m, b_m)
    # a noisy ellipse, a little wider in the north, that the land threshold cuts
    k_big = post / (60_000.0 * math.sqrt(s))
    k_mid = post / (15_000.0 * math.sqrt(s))
    wobble = 0.07 * fbm(rng, 4.0, k_big, lat.shape) + 0.025 * fbm(rng, 3.0, k_mid, lat.shape)
    rho = np.sqrt(u * u + (v / (1.0 + 0.12 * u)) ** 2) + wobble
    m = _MARGIN_POSTS
    rho[:m, :] = rho[-m:, :] = rho[:, :m] = rho[:, -m:] = 10.0  # a sea margin
    xs, ys = grid.cell_centres()
    rho_f = lat.at(rho, xs, ys)
    k = int(round(land_km2 * 1e6 / grid.cell_area_m2))
    k = min(max(k, 1), rho_f.size - 1)
    thr = float(np.partition(rho_f.ravel(), k)[k])
    land = rho_f < thr
    labels, n = ndimage.label(land)
    if n > 1:
        sizes = ndimage.sum_labels(land, labels, index=np.arange(1, n + 1))
        land = labels == (int(np.argmax(sizes)) + 1)
    land = ndimage.binary_fill_holes(land)
    del rho_f, labels

    # relief on the lattice
    land_c = rho < thr
    d_coast = ndimage.distance_transform_edt(land_c) * post
    d_sea = ndimage.distance_transform_edt(~land_c) * post
    phase = float(rng.uniform(-1.0, 1.0))
    ridge_v = 0.28 + 0.10 * np.sin(2.2 * u + phase)
    dv = v - ridge_v
    taper = np.exp(-((np.abs(u) / 0.84) ** 6))
    n_big = fbm(rng, 3.6, post / (40_000.0 * math.sqrt(s)), lat.shape)
    n_rug = fbm(rng, 3.2, post / (8_000.0 * math.sqrt(s)), lat.shape)
    n_plain = fbm(rng, 3.4, post / (20_000.0 * math.sqrt(s)), lat.shape)
    core = np.exp(-((dv / 0.32) ** 2))
    mtn = taper * (core + 0.45 * np.exp(-((dv / 0.66) ** 2))) * (1.0 + 0.30 * n_big)
    mtn = mtn + 0.16 * taper * core * ((1.0 - np.abs(n_rug)) - 0.5)
    mtn = np.clip(mtn, 0.0, None)
    west = _smoothstep((ridge_v - 0.15 - v) / 0.6)  # 1 on the western side of the range
    plain_w = (3_000.0 + 21_000.0 * west) * math.sqrt(s) * (1.0 + 0.25 * np.tanh(n_plain))
    mtn = mtn * _smoothstep(d_coast / np.maximum(plain_w, 1_000.0 * math.sqrt(s)))
    plains = 2.0 + 0.002 * np.minimum(d_coast, 25_000.0 * math.sqrt(s)) / math.sqrt(s) \
        + 15.0 * (1.0 + np.tanh(n_plain))
    top = float(mtn[land_c].max()) if land_c.any() else 1.0
    elev_c = np.where(land_c, plains + mtn * ((PEAK_M - 60.0) / max(top, 1e-9)), 1.0)
    depth_c = np.where(land_c, -1.0, -np.minimum(20.0 + 0.05 * d_sea / math.sqrt(s), 6_000.0))

    elev = lat.at(elev_c, xs, ys)
    detail = fractal_detail_m(elev, land, post, grid.resolution_m,
                              int(rng.integers(0, 2 ** 31 - 1)))
    land_elev = np.maximum(np.maximum(elev + detail, np.minimum(elev, 1.0)), 1.0)
    dem = np.where(land, land_elev, np.minimum(lat.at(depth_c, xs, ys), -1.0))
    return land, dem.astype(np.float32), {"u": u, "v": v, "elev": elev_c, "land": land_c,
                                          "d_coast": d_coast, "west": west}


def _places(rng: np.random.Generator, lat: _Lattice, f: dict, s: float, total: int):
    """Cities, towns and mountain villages on the lattice's land posts: (kind, x, y, people)."""
    xc, yc = lat.xy()
    xx, yy = np.broadcast_to(xc, lat.shape), np.broadcast_to(yc, lat.shape)
    elev, land, d_coast, west = f["elev"], f["land"], f["d_coast"], f["west"]
    sq = math.sqrt(s)
    out = []
    # cities on the low plains, mostly the western ones, a few km inland
    ok = land & (elev < 80.0) & (d_coast > 1_500.0 * sq) & (d_coast < 18_000.0 * sq)
    n_city = max(1, round(9 * s))
    xy = np.column_stack([xx[ok], yy[ok]])
    cities = _spaced(rng, xy, 1.0 + 6.0 * west[ok], n_city, 35_000.0 * sq)
    shares = 1.0 / np.arange(1, len(cities) + 1) ** 0.8
    people = _CITY_SHARE * total * shares / shares.sum()
    out += [("city", float(p[0]), float(p[1]), float(q))
            for p, q in zip(cities, people, strict=True)]
    # towns in the plains and low valleys
    ok = land & (elev < 500.0)
    n_town = max(2, round(140 * s))
    xy = np.column_stack([xx[ok], yy[ok]])
    towns = _spaced(rng, xy, np.exp(-elev[ok] / 150.0) * (1.0 + 2.0 * west[ok]), n_town,
                    9_000.0 * sq)
    raw = np.exp(rng.uniform(np.log(15e3), np.log(150e3), len(towns)))
    people = _TOWN_SHARE * total * raw / raw.sum()
    out += [("town", float(p[0]), float(p[1]), float(q))
            for p, q in zip(towns, people, strict=True)]
    # mountain villages
    ok = land & (elev > 300.0) & (elev < 2_600.0)
    n_vil = max(1, round(260 * s))
    xy = np.column_stack([xx[ok], yy[ok]])
    vil = _spaced(rng, xy, np.ones(len(xy)), n_vil, 4_000.0 * sq)
    if len(vil):
        each = _VILLAGE_SHARE * total / len(vil)
        out += [("village", float(p[0]), float(p[1]), each) for p in vil]
    return out


def _people(rng: np.random.Generator, grid: Grid, land: np.ndarray, dem: np.ndarray,
            places, total: int) -> np.ndarray:
    """Persons per cell: the places as Gaussians on low land, a rural background."""
    z = dem.astype(np.float64)
    lowland = land * np.exp(-np.maximum(z - 40.0, 0.0) / 250.0)
    upland = land * np.exp(-np.maximum(z - 300.0, 0.0) / 900.0)
    acc = np.zeros(grid.shape, dtype=np.float64)
    for kind, x, y, n in places:
        if kind == "city":
            sig = 2_200.0 * (n / 1e6) ** 0.45
            for frac, k in ((0.55, 1.0), (0.30, 2.2), (0.15, 4.5)):
                _blob(acc, lowland, grid, x, y, sig * k, frac * n)
        elif kind == "town":
            sig = 600.0 * (n / 5e4) ** 0.45
            _blob(acc, lowland, grid, x, y, sig, 0.7 * n)
            _blob(acc, lowland, grid, x, y, 2.5 * sig, 0.3 * n)
        else:
            _blob(acc, upland, grid, x, y, 350.0, n)
    rural = land * np.exp(-z / 200.0) * (1.0 + 0.5 * np.clip(
        fbm(rng, 3.0, grid.resolution_m / 5_000.0, grid.shape), -1.0, 1.0))
    rest = total - acc.sum()
    if rural.sum() > 0 and rest > 0:
        acc += rural * (rest / rural.sum())
    pop = whole_people(acc, total)
    pop[~land] = 0.0
    return pop


def _island_polygon(land: np.ndarray, grid: Grid):
    """The land cells' exact outline (one polygon)."""
    geoms = [shapely.geometry.shape(g) for g, val in
             features.shapes(land.astype(np.uint8), mask=land, transform=grid.transform)
             if val == 1]
    poly = shapely.union_all(geoms)
    if poly.geom_type != "Polygon":  # pragma: no cover - the mask is one 4-connected piece
        poly = max(shapely.get_parts(poly), key=lambda p: p.area)
    return poly


def _polygonal(g):
    parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and p.area > 0.0]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _one_piece_each(polys: list) -> list:
    """Each township one polygon: a piece the coast cut off a Voronoi cell goes to the
    neighbour sharing the longest border with it (as the demo's townships)."""
    for _ in range(20):
        changed = False
        tree = shapely.STRtree(polys)
        for i, g in enumerate(polys):
            if g.geom_type == "Polygon":
                continue
            parts = sorted(shapely.get_parts(g), key=lambda p: -p.area)
            polys[i] = parts[0]
            for part in parts[1:]:
                best, best_len = None, 0.0
                for j in tree.query(part, predicate="intersects"):
                    j = int(j)
                    if j == i:
                        continue
                    shared = part.boundary.intersection(polys[j].boundary).length
                    if shared > best_len:
                        best, best_len = j, shared
                if best is None:  # touches nothing else: stays with its township
                    polys[i] = shapely.union(polys[i], part)
                    continue
                polys[best] = _polygonal(shapely.union(polys[best], part))
                changed = True
        if not changed:
            break
    return [shapely.make_valid(p) for p in polys]


def _townships(rng: np.random.Generator, grid: Grid, land: np.ndarray, pop: np.ndarray,
               n: int, n_counties: int, land_km2: float):
    """Voronoi townships of density-placed seeds, clipped to the coast, in counties."""
    island = _island_polygon(land, grid)
    dens = density_km2(pop, grid, land)
    step = max(1, int(round(1_000.0 * math.sqrt(land_km2 / LAND_KM2) / grid.resolution_m)))
    sub = np.zeros_like(land)
    sub[step // 2::step, step // 2::step] = True
    r, c = np.nonzero(land & sub)
    if r.size < n:
        r, c = np.nonzero(land)
    xy = np.column_stack([grid.x0_m + (c + 0.5) * grid.resolution_m,
                          grid.y0_m - (r + 0.5) * grid.resolution_m])
    sep = 0.42 * math.sqrt(land_km2 * 1e6 / n)
    seeds = _spaced(rng, xy, (dens[r, c] + 5.0) ** 0.65, n, sep)
    if len(seeds) < n:  # the spacing left too few: fill without it
        extra = _spaced(rng, xy, (dens[r, c] + 5.0) ** 0.65, n, 0.0)
        have = {tuple(p) for p in seeds}
        seeds = np.vstack([seeds] + [p[None] for p in extra if tuple(p) not in have])[:n]
    if n == 1:
        polys = [island]
    else:
        x0, y0, x1, y1 = island.bounds
        env = shapely.box(x0 - 20_000.0, y0 - 20_000.0, x1 + 20_000.0, y1 + 20_000.0)
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds),
                                                           extend_to=env, ordered=True))
        polys = []
        for cell in cells:
            piece = shapely.clip_by_rect(island, *cell.bounds)
            polys.append(_polygonal(shapely.intersection(piece, cell)))
        keep = [p is not None for p in polys]
        polys = [p for p in polys if p is not None]
        seeds = seeds[np.asarray(keep)]
        polys = _one_piece_each(polys)
    n = len(polys)
    cent = np.array([[p.centroid.x, p.centroid.y] for p in polys])
    # counties: k-means of the township centroids (neighbouring townships together)
    k = max(1, min(n_counties, n))
    centres = cent[np.sort(rng.choice(n, k, replace=False))]
    for _ in range(30):
        d2 = ((cent[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        assign = np.argmin(d2, axis=1)
        new = np.array([cent[assign == j].mean(axis=0) if (assign == j).any() else centres[j]
                        for j in range(k)])
        if np.allclose(new, centres):
            break
        centres = new
    d2 = ((cent[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    assign = np.argmin(d2, axis=1)
    used = np.unique(assign)
    # county codes north to south, townships within a county north to south, west to east
    county_order = used[np.lexsort((centres[used, 0], -centres[used, 1]))]
    county_rank = {int(c): i for i, c in enumerate(county_order)}
    per_county = np.bincount(assign, minlength=k)
    if per_county.max() > 99:
        raise CovkitInputError(f"a county of {per_county.max()} townships does not fit 2-digit "
                               "township numbers: give more counties", column="townships")
    area_km2 = np.array([p.area for p in polys]) / 1e6
    town_pop = _zone_people(polys, pop, grid)
    urban = town_pop / np.maximum(area_km2, 1e-9) > 3_000.0
    stems = place_names(rng, n, [""])
    county_stems = place_names(rng, len(used), [""])
    rows = []
    counters: dict[int, int] = {}
    order = np.lexsort((cent[:, 0], -cent[:, 1], [county_rank[int(a)] for a in assign]))
    for i in order:
        ci = county_rank[int(assign[i])]
        counters[ci] = counters.get(ci, 0) + 1
        members = assign == assign[i]
        city = urban[members].mean() > 0.5
        code = f"8{ci + 1:02d}00"
        rows.append({"township_id": f"{code}{counters[ci]:02d}",
                     "name": stems[i] + (" District" if urban[i] else " Township"),
                     "county": county_stems[ci] + (" City" if city else " County"),
                     "county_code": code, "source": f"synthetic: {SYNTHETIC_NOTE}",
                     "geometry": polys[i]})
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=NATIONAL_CRS)
    return gdf.sort_values("township_id", kind="stable").reset_index(drop=True)


def _zone_people(polys, pop: np.ndarray, grid: Grid) -> np.ndarray:
    """People of each polygon by the cells whose centres it holds (for naming only)."""
    zone = features.rasterize([(g, i) for i, g in enumerate(polys)], out_shape=grid.shape,
                              transform=grid.transform, fill=-1, dtype="int32")
    ok = zone >= 0
    return np.bincount(zone[ok], weights=pop[ok].astype(np.float64), minlength=len(polys))


def generate_national(*, seed: int = DEFAULT_SEED, resolution_m: float = 100.0,
                      scale: float = 1.0) -> NationalIsland:
    """The synthetic country in memory (see the module docstring): grid, terrain, people,
    townships; no sites.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng`` (>= 0).
    resolution_m : float
        Grid cell size [m], [10, 2000]; the terrain and the people are generated on it.
    scale : float
        Share of the full size, [0.001, 1]: land area, people and townships scale with it,
        lengths with its square root.
    """
    _check(seed, resolution_m, 10.0, 1, 1, scale)
    s = float(scale)
    target = scaled_counts(s)
    rng = np.random.default_rng(int(seed))
    a_m, b_m = LENGTH_M / 2.0 * math.sqrt(s), WIDTH_M / 2.0 * math.sqrt(s)
    th = math.radians(AXIS_DEG)
    half_x = 1.1 * math.hypot(a_m * math.sin(th), b_m * math.cos(th))
    half_y = 1.1 * math.hypot(a_m * math.cos(th), b_m * math.sin(th))
    post = RELIEF_POST_M * math.sqrt(s)
    lat = _Lattice(post, half_x, half_y)
    grid = Grid.from_bounds(NATIONAL_CRS, (CENTRE_M[0] - half_x, CENTRE_M[1] - half_y,
                                           CENTRE_M[0] + half_x, CENTRE_M[1] + half_y),
                            float(resolution_m))
    land, dem, fields = _land_and_terrain(rng, grid, lat, a_m, b_m, target["land_km2"], s)
    places = _places(rng, lat, fields, s, target["population"])
    pop = _people(rng, grid, land, dem, places, target["population"])
    towns = _townships(rng, grid, land, pop, int(target["townships"]),
                       int(target["counties"]), target["land_km2"])
    names = place_names(rng, len(places), [""])
    table = pd.DataFrame([{"kind": k, "name": nm, "x_m": round(x, 1), "y_m": round(y, 1),
                           "population": round(q)}
                          for (k, x, y, q), nm in zip(places, names, strict=True)
                          if k != "village"])
    land_area_km2 = float(land.sum()) * grid.cell_area_m2 / 1e6
    lon, lat_deg = Transformer.from_crs(NATIONAL_CRS, "EPSG:4326", always_xy=True).transform(
        *CENTRE_M)
    figures = {
        "land_km2": round(land_area_km2, 3),
        "township_area_km2": round(float(towns.geometry.area.sum()) / 1e6, 3),
        "population": int(round(float(pop.sum(dtype=np.float64)))),
        "townships": len(towns), "counties": int(towns["county_code"].nunique()),
        "cities": int((table["kind"] == "city").sum()) if len(table) else 0,
        "towns": int((table["kind"] == "town").sum()) if len(table) else 0,
        "mountain_villages": sum(1 for p in places if p[0] == "village"),
        "max_elevation_m": round(float(dem.max()), 1),
        "land_above_1000m_share": round(float((dem[land] > 1000.0).mean()), 4),
        "land_below_100m_share": round(float((dem[land] < 100.0).mean()), 4),
        "grid": {"width": grid.width, "height": grid.height,
                 "bounds": [float(b) for b in grid.bounds]},
        "centre_lon_lat": [round(lon, 4), round(lat_deg, 4)],
    }
    return NationalIsland(grid, dem, pop, towns, table, figures)


# ----------------------------------------------------------------------------------------------
# writing


def scenario_toml_text(*, resolution_m: float, radius_km: float, population: float,
                       area_km2: float, seed: int, scale: float) -> str:
    """Text of the ``scenario.toml`` of a national scenario folder (paths relative to it)."""
    return f"""\
# covkit national scenario: a SYNTHETIC Taiwan-sized island in the open Philippine Sea
# (about 124 E, 22 N, where there is no land). Terrain, people, townships and sites are all
# invented ({SYNTHETIC_NOTE}); generated by covkit.data.national
# (`covkit scenario national --seed {int(seed)} --scale {float(scale)!r}`); see national.json.
[scenario]
name = "{SCENARIO_NAME}"
crs = "{NATIONAL_CRS}"
resolution_m = {float(resolution_m)!r}

[inputs]
dem = "dem.tif"
stations = "stations.csv"
population = "population.tif"
townships = "townships.gpkg"

[propagation]
model = "p1812"
max_radius_km = {float(radius_km)!r}

[coverage]
# the remote rule's national density: this island's people and land area
national_population = {float(population)!r}
national_area_km2 = {float(area_km2)!r}
"""


@contextmanager
def _gdal_option(name: str, value: str):
    old = pyogrio.get_gdal_config_option(name)
    pyogrio.set_gdal_config_options({name: value})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({name: old})


def write_national_scenario(out_dir, *, seed: int = DEFAULT_SEED, resolution_m: float = 100.0,
                            radius_km: float = 10.0, sites: int = SITES,
                            operators: int = OPERATORS, scale: float = 1.0) -> Path:
    """Build the synthetic national scenario folder; returns the ``scenario.toml`` path.

    Writes ``dem.tif``, ``population.tif`` (COG, float32, tagged SYNTHETIC),
    ``townships.gpkg``, ``stations.csv``, ``national.json`` and ``scenario.toml`` into
    ``out_dir`` as one set (staged, then moved into place: :class:`covkit.outputs.RunCommit`).
    Nothing is read from disk.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created if missing; the set is replaced as a whole).
    seed : int
        Seed of the island and of its sites (>= 0); the same arguments give byte-identical
        files.
    resolution_m : float
        Grid cell size [m] of the terrain, the people and the scenario, [10, 2000].
    radius_km : float
        ``propagation.max_radius_km`` of the scenario [km].
    sites : int
        Sites at scale 1 (three sectors each), over ``operators`` operators (1-26); a build
        at ``scale`` places ``round(sites * scale)``.
    scale : float
        Share of the full size, [0.001, 1]: land, people, townships and sites together.

    Raises
    ------
    CovkitInputError
        For an argument out of range (naming it), or more sites than the island's populated
        land cells hold.
    """
    _check(seed, resolution_m, radius_km, sites, operators, scale)
    island = generate_national(seed=seed, resolution_m=resolution_m, scale=scale)
    grid, fig = island.grid, island.figures
    n_sites = max(int(operators), scaled_counts(scale, sites)["sites"])
    text = scenario_toml_text(resolution_m=resolution_m, radius_km=radius_km,
                              population=fig["population"], area_km2=fig["township_area_km2"],
                              seed=seed, scale=scale)
    scenario = scenario_from_dict(tomllib.loads(text), base_dir=Path(out_dir))
    dem_src = (island.dem_m, grid.transform, grid.crs)
    pop_src = (island.population, grid.transform, grid.crs)
    g, pop, dem_m, zone = site_inputs(scenario, dem=dem_src, population=pop_src,
                                      townships=island.townships)
    network = synthetic_stations(g, pop, dem_m, n_sites, zone=zone, operators=int(operators),
                                 seed=int(seed))
    doc = {
        "generator": "covkit.data.national", "synthetic": SYNTHETIC_NOTE,
        "parameters": {"seed": int(seed), "scale": float(scale),
                       "resolution_m": float(resolution_m), "radius_km": float(radius_km),
                       "sites_at_scale_1": int(sites), "operators": int(operators)},
        "crs": NATIONAL_CRS, **fig,
        "sites": int(network["site_id"].nunique()), "sectors": 3 * int(network["site_id"]
                                                                       .nunique()),
        "station_rows": len(network),
        "station_rows_by_band_mhz": {f"{k:g}": int(v) for k, v in
                                     network.groupby("freq_mhz").size().items()},
        "places": island.places.to_dict(orient="records"),
    }
    tags = {"SYNTHETIC": SYNTHETIC_NOTE, "GENERATOR": "covkit.data.national",
            "SEED": str(int(seed)), "SCALE": repr(float(scale))}
    with RunCommit(out_dir, replaces=NATIONAL_FILES, tidy_new_folder=True) as out:
        out.cog("dem.tif", island.dem_m, grid, None, {**tags, "UNITS": "metre AMSL"},
                "elevation_amsl_m (synthetic)")
        out.cog("population.tif", island.population, grid, None,
                {**tags, "UNITS": f"persons per {grid.resolution_m:g} m cell",
                 "TOTAL": str(fig["population"])}, "pop_persons (synthetic)")
        with out.writing("townships.gpkg"), _gdal_option("OGR_CURRENT_DATE", GPKG_DATE):
            pyogrio.write_dataframe(island.townships, out.path("townships.gpkg"),
                                    layer="townships", driver="GPKG")
        out.csv("stations.csv", network)
        out.json("national.json", doc)
        out.bytes("scenario.toml", text.encode("utf-8"))
    return Path(out_dir) / "scenario.toml"
