"""Deterministic generator of the covkit demo scenario: a SYNTHETIC island.

The island is invented. It lies in the open South Pacific, centred near 125 deg W, 35 deg S,
where there is no land, so its files can never be mistaken for real data. Every file says so:
GeoTIFF tags ``SYNTHETIC``, a ``source`` column and layer metadata in the GeoPackages, and
comments in ``scenario.toml``.

What is generated (working CRS EPSG:32710, WGS 84 / UTM zone 10S, 100 m grid):

- ``dem.tif``: terrain [m AMSL], float32, an island of about 95 km x 56 km (about
  3,700 km^2) inside a 1000 x 620 cell grid with a sea margin of at least 2 km. A central
  mountain range along the long (west-east) axis rises to about 3,500 m; river valleys cut
  across and along it; foothills, flat coastal plains and spectral (fBm) noise make the
  terrain rugged enough to exercise diffraction. Sea = 0 m, land >= 1 m, no nodata.
- ``population.tif``: persons per 100 m cell, float32 (whole numbers), 0 at sea; about
  2 million people in coastal cities (200-600 k), valley and coastal towns (10-50 k),
  mountain villages (a few hundred) and a thin rural background.
- ``townships.gpkg`` (layer ``townships``): about 30 townships (Voronoi cells of the towns
  and of mountain seeds, clipped to the pixel-exact coastline) that tile the land exactly:
  no overlaps and no gaps beyond floating-point noise (< 1 m^2), every land cell centre in
  exactly one township. Columns ``township_id``, ``name``, ``county``, ``source``. There is no
  ``remote`` column: large mountain townships fall below one fifth of the national
  population density and are classified remote by the loader's density rule.
- ``stations.csv``: three operators (OpA, OpB, OpC), one row per sector (about 750). Sites
  are dense in cities (inter-site distance 1-2 km in the cores), spaced 7-11 km along the
  coastal ring road and valley roads, and only a few omni masts at mountain villages, so
  remote mountain townships keep real coverage gaps. 5G n78 (100 MHz, 30 kHz) on every site
  at 3450/3550/3650 MHz, plus a 4G LTE band 3 layer (1815/1835/1855 MHz, 20 MHz, 15 kHz)
  on rural sites. Omni rows have an empty ``azimuth_deg`` and ``beamwidth_deg`` 360.
- ``fibre.csv``: fibre drop points, density proportional to urban population.
- ``trails.gpkg`` (layer ``trails``): mountain trails through the range.
- ``scenario.toml``: the scenario, paths relative to the TOML file.

Everything is a pure function of the seed (``numpy.random.default_rng(seed)``): the same
seed gives byte-identical arrays and identical CSV text.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from pyproj import Transformer
from scipy import ndimage

__all__ = [
    "DEMO_SEED",
    "DEMO_CRS",
    "DEMO_RESOLUTION_M",
    "DEMO_SHAPE",
    "DEMO_TRANSFORM",
    "SYNTHETIC_NOTE",
    "DemoScenario",
    "generate_demo",
    "write_demo",
    "scenario_toml_text",
]

DEMO_SEED = 2025
"""Default seed of the demo island."""

DEMO_CRS = "EPSG:32710"
"""Working CRS: WGS 84 / UTM zone 10S."""

DEMO_RESOLUTION_M = 100.0
"""Grid cell size [m]."""

DEMO_SHAPE = (620, 1000)
"""Grid shape (rows, cols): 62 km x 100 km including a sea margin."""

# Grid centred on (125 W, 35 S) = (317 484 m E, 6 125 129 m N) in EPSG:32710, rounded to 1 km.
_X_WEST_M = 267_000.0
_Y_NORTH_M = 6_156_000.0
DEMO_TRANSFORM = Affine(DEMO_RESOLUTION_M, 0.0, _X_WEST_M, 0.0, -DEMO_RESOLUTION_M, _Y_NORTH_M)
"""Affine transform of the demo grid (upper-left corner on whole 100 m)."""

SYNTHETIC_NOTE = "covkit demo island, not real terrain"
"""Value of the ``SYNTHETIC`` tag and the ``source`` column of every demo file."""

SCENARIO_NAME = "covkit-demo-synthetic-island"

OPERATORS = ("OpA", "OpB", "OpC")

# Per operator: n78 carrier centre [MHz] (3400-3500, 3500-3600, 3600-3700), LTE band 3 carrier
# [MHz], inter-site distance scale (OpA densest) and spacing of sites along roads [m].
_OPERATOR_PARAMS = {
    "OpA": {"nr_mhz": 3450.0, "lte_mhz": 1815.0, "isd_scale": 1.0, "road_step_m": 7_000.0},
    "OpB": {"nr_mhz": 3550.0, "lte_mhz": 1835.0, "isd_scale": 1.15, "road_step_m": 8_500.0},
    "OpC": {"nr_mhz": 3650.0, "lte_mhz": 1855.0, "isd_scale": 1.35, "road_step_m": 11_000.0},
}

_STATION_COLUMNS = [
    "station_id",
    "site_id",
    "operator",
    "lon",
    "lat",
    "height_m",
    "freq_mhz",
    "eirp_dbm",
    "azimuth_deg",
    "tilt_deg",
    "beamwidth_deg",
    "tech",
    "bandwidth_mhz",
    "scs_khz",
]


@dataclass(frozen=True)
class DemoScenario:
    """The generated demo island, in memory (what :func:`write_demo` writes).

    Attributes
    ----------
    seed : int
        Seed the island was generated from.
    dem_m : numpy.ndarray
        Terrain elevation [m AMSL], float32, shape :data:`DEMO_SHAPE`; sea = 0, land >= 1.
        Read-only.
    population : numpy.ndarray
        Persons per 100 m cell, float32 whole numbers, 0 at sea. Read-only.
    land_mask : numpy.ndarray
        bool, True on land (``dem_m > 0``). Read-only.
    transform : affine.Affine
        Grid transform (:data:`DEMO_TRANSFORM`).
    crs : str
        ``"EPSG:32710"``.
    townships : geopandas.GeoDataFrame
        ``township_id``, ``name``, ``county``, ``source``, polygon geometry (EPSG:32710).
    stations : pandas.DataFrame
        One row per sector, exactly the columns of ``stations.csv``.
    fibre : pandas.DataFrame
        ``fibre_id``, ``lon``, ``lat`` (WGS84 [deg]).
    trails : geopandas.GeoDataFrame
        ``trail_id``, ``name``, ``source``, LineString geometry (EPSG:32710).
    """

    seed: int
    dem_m: np.ndarray
    population: np.ndarray
    land_mask: np.ndarray
    transform: Affine
    crs: str
    townships: gpd.GeoDataFrame
    stations: pd.DataFrame
    fibre: pd.DataFrame
    trails: gpd.GeoDataFrame

    @property
    def pop_total_persons(self) -> float:
        """Total population [persons] (float64 sum of the raster)."""
        return float(self.population.sum(dtype=np.float64))


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _grid_xy_m() -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre coordinates [m] in EPSG:32710, as (1, ncol) and (nrow, 1) arrays."""
    nrow, ncol = DEMO_SHAPE
    x = _X_WEST_M + (np.arange(ncol) + 0.5) * DEMO_RESOLUTION_M
    y = _Y_NORTH_M - (np.arange(nrow) + 0.5) * DEMO_RESOLUTION_M
    return x[None, :], y[:, None]


def _fbm(rng: np.random.Generator, beta: float, k0: float) -> np.ndarray:
    """Spectral (fractional Brownian) noise on the grid, zero mean, unit std.

    Power spectrum ``P(k) ~ (k^2 + k0^2)^(-beta/2)`` [k in cycles/cell]; ``beta = 2H + 2``
    for a surface with Hurst exponent H. ``k0`` damps the largest scales.
    """
    white = rng.standard_normal(DEMO_SHAPE)
    spec = np.fft.rfft2(white)
    ky = np.fft.fftfreq(DEMO_SHAPE[0])[:, None]
    kx = np.fft.rfftfreq(DEMO_SHAPE[1])[None, :]
    amp = (kx * kx + ky * ky + k0 * k0) ** (-beta / 4.0)
    amp[0, 0] = 0.0
    field = np.fft.irfft2(spec * amp, s=DEMO_SHAPE)
    field -= field.mean()
    field /= field.std()
    return field


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _cell_of(x_m: float, y_m: float) -> tuple[int, int]:
    """(row, col) of the cell containing a point [m]."""
    col = int(np.floor((x_m - _X_WEST_M) / DEMO_RESOLUTION_M))
    row = int(np.floor((_Y_NORTH_M - y_m) / DEMO_RESOLUTION_M))
    return row, col


def _cell_centre(row: int, col: int) -> tuple[float, float]:
    return (
        _X_WEST_M + (col + 0.5) * DEMO_RESOLUTION_M,
        _Y_NORTH_M - (row + 0.5) * DEMO_RESOLUTION_M,
    )


def _inside(row: int, col: int) -> bool:
    return 0 <= row < DEMO_SHAPE[0] and 0 <= col < DEMO_SHAPE[1]


# --------------------------------------------------------------------------------------------
# Terrain
# --------------------------------------------------------------------------------------------

_XC_M = _X_WEST_M + DEMO_SHAPE[1] * DEMO_RESOLUTION_M / 2.0
_YC_M = _Y_NORTH_M - DEMO_SHAPE[0] * DEMO_RESOLUTION_M / 2.0
_SEMI_A_M = 45_000.0  # island semi-axis west-east
_SEMI_B_M = 26_000.0  # island semi-axis north-south
_MARGIN_CELLS = 20  # guaranteed sea margin [cells]


def _land_mask(rng: np.random.Generator) -> np.ndarray:
    """Island mask: a noisy ellipse, one connected piece, no lakes, sea margin kept."""
    x, y = _grid_xy_m()
    u = (x - _XC_M) / _SEMI_A_M
    v = (y - _YC_M) / _SEMI_B_M
    rho = np.sqrt(u * u + v * v)
    wobble = 0.07 * _fbm(rng, beta=4.0, k0=0.004) + 0.03 * _fbm(rng, beta=3.0, k0=0.01)
    land = rho < 1.0 + np.tanh(wobble / 0.12) * 0.12
    m = _MARGIN_CELLS
    land[:m, :] = False
    land[-m:, :] = False
    land[:, :m] = False
    land[:, -m:] = False
    labels, n = ndimage.label(land)
    if n > 1:
        sizes = ndimage.sum_labels(land, labels, index=np.arange(1, n + 1))
        land = labels == (int(np.argmax(sizes)) + 1)
    return ndimage.binary_fill_holes(land)


def _ridge_y_m(x_m: np.ndarray | float, phase: float) -> np.ndarray | float:
    """Northing [m] of the main ridge crest at easting ``x_m`` (the range curves gently)."""
    s = (np.asarray(x_m) - _XC_M) / _SEMI_A_M
    return _YC_M - 0.14 * _SEMI_B_M + 3_500.0 * np.sin(1.7 * s + phase)


@dataclass(frozen=True)
class _River:
    xy_m: np.ndarray  # (n, 2) vertices [m], source first, mouth last
    width_m: float
    side: int  # +1 north of the ridge, -1 south


def _trace_rivers(rng: np.random.Generator, land: np.ndarray, phase: float) -> list[_River]:
    """Rivers from near the crest to the sea; some run along the range before turning."""
    rivers: list[_River] = []
    step_m = 250.0
    for side in (+1, -1):
        n_side = 7 if side > 0 else 6
        xs = np.linspace(-0.72, 0.72, n_side) * _SEMI_A_M + _XC_M
        xs = xs + rng.uniform(-2_500.0, 2_500.0, n_side)
        for x0 in xs:
            y0 = float(_ridge_y_m(x0, phase)) + side * rng.uniform(2_000.0, 3_500.0)
            # heading: angle from +x; perpendicular to the ridge = side * 90 deg
            perp = side * np.pi / 2.0
            along = rng.uniform(-1.0, 1.0)
            heading = perp + (np.sign(along) * rng.uniform(0.6, 1.2) if abs(along) > 0.5 else 0.0)
            pts = [(x0, y0)]
            wander = 0.0
            for _ in range(400):
                wander = 0.85 * wander + rng.normal(0.0, 0.12)
                heading = heading + 0.06 * (perp - heading) + 0.25 * wander
                x1 = pts[-1][0] + step_m * np.cos(heading)
                y1 = pts[-1][1] + step_m * np.sin(heading)
                r, c = _cell_of(x1, y1)
                pts.append((x1, y1))
                if not _inside(r, c) or not land[r, c]:
                    break
            rivers.append(_River(np.asarray(pts), float(rng.uniform(1_600.0, 2_800.0)), side))
    return rivers


def _rasterise_rivers(rivers: list[_River]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """River cells: mask, along-river distance from source [m], valley half-width [m]."""
    mask = np.zeros(DEMO_SHAPE, dtype=bool)
    along = np.zeros(DEMO_SHAPE, dtype=np.float64)
    width = np.zeros(DEMO_SHAPE, dtype=np.float64)
    for river in rivers:
        seg = np.diff(river.xy_m, axis=0)
        seglen = np.hypot(seg[:, 0], seg[:, 1])
        cum = np.concatenate([[0.0], np.cumsum(seglen)])
        s = np.arange(0.0, cum[-1], 50.0)
        xs = np.interp(s, cum, river.xy_m[:, 0])
        ys = np.interp(s, cum, river.xy_m[:, 1])
        cols = np.floor((xs - _X_WEST_M) / DEMO_RESOLUTION_M).astype(int)
        rows = np.floor((_Y_NORTH_M - ys) / DEMO_RESOLUTION_M).astype(int)
        ok = (rows >= 0) & (rows < DEMO_SHAPE[0]) & (cols >= 0) & (cols < DEMO_SHAPE[1])
        mask[rows[ok], cols[ok]] = True
        along[rows[ok], cols[ok]] = s[ok]
        width[rows[ok], cols[ok]] = river.width_m
    return mask, along, width


def _terrain(
    rng: np.random.Generator, land: np.ndarray, rivers: list[_River], phase: float
) -> np.ndarray:
    """Elevation [m AMSL], float64; sea 0, land >= 1."""
    x, y = _grid_xy_m()
    s = (x - _XC_M) / _SEMI_A_M
    d_ridge = np.abs(y - _ridge_y_m(x, phase))
    taper = np.exp(-((np.abs(s) / 0.74) ** 4))

    n_big = _fbm(rng, beta=3.6, k0=0.006)  # broad massifs
    n_rug = _fbm(rng, beta=3.4, k0=0.02)  # ruggedness at 1-5 km
    n_fine = _fbm(rng, beta=2.8, k0=0.05)  # small-scale roughness
    n_plain = _fbm(rng, beta=3.4, k0=0.01)

    core = np.exp(-((d_ridge / 8_000.0) ** 2))
    foothill = 0.38 * np.exp(-((d_ridge / 17_000.0) ** 2))
    mtn = taper * (core + foothill)
    # a few secondary summits along the crest
    for _ in range(5):
        xp = _XC_M + rng.uniform(-0.6, 0.6) * _SEMI_A_M
        yp = float(_ridge_y_m(xp, phase)) + rng.uniform(-4_000.0, 4_000.0)
        sig = rng.uniform(3_000.0, 6_000.0)
        mtn = mtn + rng.uniform(0.15, 0.35) * np.exp(
            -((x - xp) ** 2 + (y - yp) ** 2) / (2 * sig**2)
        )
    mtn = mtn * (1.0 + 0.30 * n_big)
    ridged = 1.0 - np.abs(n_rug)  # sharp crests
    mtn = mtn + 0.14 * taper * core * (ridged - 0.5) + 0.03 * mtn * n_fine
    mtn = np.clip(mtn, 0.0, None)

    # valleys: wide U plus a narrow V incision, depth growing from the source downstream
    rmask, ralong, rwidth = _rasterise_rivers(rivers)
    dist_px, (ir, ic) = ndimage.distance_transform_edt(~rmask, return_indices=True)
    d_riv = dist_px * DEMO_RESOLUTION_M
    a_near = ralong[ir, ic]
    w_near = rwidth[ir, ic]
    grow = _smoothstep(a_near / 4_000.0)
    valley = grow * (
        0.62 * np.exp(-((d_riv / w_near) ** 2)) + 0.15 * np.exp(-((d_riv / 700.0) ** 2))
    )
    mtn = mtn * (1.0 - np.clip(valley, 0.0, 0.92))

    # coastal plains: the mountains fade out within a plain width that varies along the coast
    d_coast = ndimage.distance_transform_edt(land) * DEMO_RESOLUTION_M
    plain_w = 6_500.0 + 2_500.0 * _fbm(rng, beta=4.0, k0=0.004)
    north_bonus = np.where(y > _ridge_y_m(x, phase), 2_000.0, 0.0)  # wider plains to the north
    mtn = mtn * _smoothstep(d_coast / np.maximum(plain_w + north_bonus, 2_000.0))

    plains = 2.0 + 0.004 * np.minimum(d_coast, 15_000.0) + 12.0 * (1.0 + np.tanh(n_plain))
    plains = plains * (1.0 - 0.5 * np.clip(valley, 0.0, 1.0))

    peak_m = 3_500.0 + rng.uniform(-80.0, 80.0)
    mtn_max = float(mtn[land].max())
    elev = plains + mtn * ((peak_m - 40.0) / mtn_max)
    elev = np.where(land, np.maximum(elev, 1.0), 0.0)
    return elev


# --------------------------------------------------------------------------------------------
# Settlements and population
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    kind: str  # "city", "town", "village"
    x_m: float
    y_m: float
    pop: float
    setting: str = "coast"  # "coast", "valley" or "mountain"


def _pick_spaced(
    rng: np.random.Generator,
    cand_xy: np.ndarray,
    n: int,
    min_sep_m: float,
    taken: list[tuple[float, float]],
    weights: np.ndarray | None = None,
) -> list[tuple[float, float]]:
    """Greedy weighted-random choice of up to ``n`` points at least ``min_sep_m`` apart."""
    if len(cand_xy) == 0:
        return []
    if weights is None:
        key = rng.random(len(cand_xy))
    else:
        key = rng.exponential(size=len(cand_xy)) / np.maximum(weights, 1e-12)
    order = np.argsort(key, kind="stable")
    chosen: list[tuple[float, float]] = []
    others = np.asarray(taken, dtype=float).reshape(-1, 2)
    for i in order:
        p = cand_xy[i]
        allp = np.vstack([others, np.asarray(chosen, dtype=float).reshape(-1, 2)])
        if len(allp) == 0 or np.min(np.hypot(*(allp - p).T)) >= min_sep_m:
            chosen.append((float(p[0]), float(p[1])))
            if len(chosen) == n:
                break
    return chosen


def _river_points(rivers: list[_River]) -> np.ndarray:
    return np.vstack([r.xy_m[:-1] for r in rivers])


def _elev_at(elev: np.ndarray, xy: np.ndarray) -> np.ndarray:
    cols = np.clip(np.floor((xy[:, 0] - _X_WEST_M) / DEMO_RESOLUTION_M).astype(int), 0, None)
    rows = np.clip(np.floor((_Y_NORTH_M - xy[:, 1]) / DEMO_RESOLUTION_M).astype(int), 0, None)
    cols = np.minimum(cols, DEMO_SHAPE[1] - 1)
    rows = np.minimum(rows, DEMO_SHAPE[0] - 1)
    return elev[rows, cols]


def _places(
    rng: np.random.Generator, elev: np.ndarray, land: np.ndarray, rivers: list[_River]
) -> list[_Place]:
    """Cities at river mouths on the plains, towns in valleys and on the coast, villages."""
    d_coast = ndimage.distance_transform_edt(land) * DEMO_RESOLUTION_M
    places: list[_Place] = []

    # cities: near river mouths, 1.5-3 km inland, low
    mouths = []
    for r in rivers:
        seg = r.xy_m
        back = seg[max(len(seg) - 12, 0)]  # ~3 km upstream of the mouth
        mouths.append(back)
    mouths = np.asarray(mouths)
    ok = _elev_at(elev, mouths) < 120.0
    city_xy = _pick_spaced(rng, mouths[ok], 4, 20_000.0, [])
    city_pops = [
        rng.uniform(470e3, 580e3),
        rng.uniform(320e3, 400e3),
        rng.uniform(230e3, 290e3),
        rng.uniform(200e3, 230e3),
    ]
    for (cx, cy), p in zip(city_xy, city_pops, strict=False):
        places.append(_Place("city", cx, cy, p))

    # towns: half along valleys (low reaches), half on the coastal plain
    taken = [(p.x_m, p.y_m) for p in places]
    rp = _river_points(rivers)
    e_rp = _elev_at(elev, rp)
    valley_cand = rp[(e_rp > 20.0) & (e_rp < 450.0)]
    towns = _pick_spaced(rng, valley_cand, 9, 7_500.0, taken)
    n_valley = len(towns)
    taken += towns
    rows, cols = np.nonzero(land & (d_coast > 800.0) & (d_coast < 4_000.0) & (elev < 120.0))
    sub = rng.choice(len(rows), size=min(4000, len(rows)), replace=False)
    sub.sort()
    coast_cand = np.column_stack(
        [
            _X_WEST_M + (cols[sub] + 0.5) * DEMO_RESOLUTION_M,
            _Y_NORTH_M - (rows[sub] + 0.5) * DEMO_RESOLUTION_M,
        ]
    )
    towns += _pick_spaced(rng, coast_cand, 20 - len(towns), 8_000.0, taken)
    for i, (tx, ty) in enumerate(towns):
        setting = "valley" if i < n_valley else "coast"
        places.append(_Place("town", tx, ty, rng.uniform(10e3, 50e3), setting))

    # villages: in mountain valleys and on mountain slopes
    taken = [(p.x_m, p.y_m) for p in places]
    mval = rp[(e_rp > 500.0) & (e_rp < 2_000.0)]
    vil = _pick_spaced(rng, mval, 28, 2_500.0, taken)
    rows, cols = np.nonzero(land & (elev > 700.0) & (elev < 2_300.0))
    sub = rng.choice(len(rows), size=min(3000, len(rows)), replace=False)
    sub.sort()
    slope_cand = np.column_stack(
        [
            _X_WEST_M + (cols[sub] + 0.5) * DEMO_RESOLUTION_M,
            _Y_NORTH_M - (rows[sub] + 0.5) * DEMO_RESOLUTION_M,
        ]
    )
    vil += _pick_spaced(rng, slope_cand, 18, 3_000.0, taken + vil)
    for vx, vy in vil:
        places.append(_Place("village", vx, vy, rng.uniform(120.0, 900.0), "mountain"))
    return places


def _blob(
    out: np.ndarray,
    weight: np.ndarray,
    x_m: float,
    y_m: float,
    sigma_m: float,
    persons: float,
) -> None:
    """Add a Gaussian blob of ``persons`` people, shaped by ``weight``, in a local window."""
    r, c = _cell_of(x_m, y_m)
    h = int(np.ceil(4.0 * sigma_m / DEMO_RESOLUTION_M)) + 1
    r0, r1 = max(r - h, 0), min(r + h + 1, DEMO_SHAPE[0])
    c0, c1 = max(c - h, 0), min(c + h + 1, DEMO_SHAPE[1])
    xs = _X_WEST_M + (np.arange(c0, c1) + 0.5) * DEMO_RESOLUTION_M
    ys = _Y_NORTH_M - (np.arange(r0, r1) + 0.5) * DEMO_RESOLUTION_M
    g = np.exp(-((xs[None, :] - x_m) ** 2 + (ys[:, None] - y_m) ** 2) / (2.0 * sigma_m**2))
    g = g * weight[r0:r1, c0:c1]
    tot = g.sum()
    if tot > 0:
        out[r0:r1, c0:c1] += g * (persons / tot)


def _population(
    rng: np.random.Generator, elev: np.ndarray, land: np.ndarray, places: list[_Place]
) -> tuple[np.ndarray, int]:
    """Persons per cell (float32 whole numbers, exact integer total) and the total."""
    # settlement spreads onto flat low land, hardly up the slopes
    lowland = land * np.exp(-np.maximum(elev - 40.0, 0.0) / 220.0)
    upland = land * np.exp(-np.maximum(elev - 300.0, 0.0) / 900.0)
    dens = np.zeros(DEMO_SHAPE, dtype=np.float64)
    for p in places:
        if p.kind == "city":
            for frac, sig in ((0.5, 1_300.0), (0.33, 2_700.0), (0.17, 5_000.0)):
                _blob(dens, lowland, p.x_m, p.y_m, sig, frac * p.pop)
        elif p.kind == "town":
            sig = 500.0 + 900.0 * np.sqrt(p.pop / 50e3)
            _blob(dens, lowland, p.x_m, p.y_m, sig, 0.7 * p.pop)
            _blob(dens, lowland, p.x_m, p.y_m, 2.5 * sig, 0.3 * p.pop)
        else:
            _blob(dens, upland, p.x_m, p.y_m, 250.0, p.pop)
    rural = land * np.exp(-elev / 180.0) * (1.0 + 0.5 * _fbm(rng, beta=3.0, k0=0.02).clip(-1, 1))
    dens += rural * (70e3 / rural.sum())

    target = int(round(rng.uniform(1.96e6, 2.04e6)))
    dens *= target / dens.sum()
    # whole persons, exact total: largest-remainder rounding (ties broken by cell order)
    flat = dens.ravel()
    base = np.floor(flat)
    rem = flat - base
    short = target - int(base.sum())
    if short > 0:
        idx = np.argsort(-rem, kind="stable")[:short]
        base[idx] += 1.0
    pop = base.reshape(DEMO_SHAPE)
    pop[~land] = 0.0
    return pop.astype(np.float32), int(pop.sum())


# --------------------------------------------------------------------------------------------
# Townships
# --------------------------------------------------------------------------------------------

_SYLL_A = [
    "ka",
    "lo",
    "mi",
    "ra",
    "te",
    "vo",
    "na",
    "si",
    "pu",
    "ela",
    "or",
    "ta",
    "ve",
    "mo",
    "ri",
    "sa",
    "ne",
    "ku",
    "al",
    "du",
    "fe",
    "ga",
    "hi",
    "jo",
    "ba",
    "zi",
    "we",
    "ya",
]
_SYLL_B = ["n", "r", "l", "s", "th", "nd", "rk", "m", "v", "sh", "t", ""]


def _names(rng: np.random.Generator, n: int, suffixes: list[str]) -> list[str]:
    """Unique synthetic ASCII place names."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        k = int(rng.integers(2, 4))
        word = "".join(_SYLL_A[int(rng.integers(len(_SYLL_A)))] for _ in range(k))
        word += _SYLL_B[int(rng.integers(len(_SYLL_B)))]
        word = word.capitalize()
        if word in seen or len(word) < 4:
            continue
        seen.add(word)
        suf = suffixes[int(rng.integers(len(suffixes)))] if suffixes else ""
        out.append(f"{word}{suf}")
    return out


def _land_polygon(land: np.ndarray):
    """Exact outline of the land cells as one shapely Polygon (EPSG:32710)."""
    from rasterio import features

    geoms = [
        shapely.geometry.shape(g)
        for g, v in features.shapes(land.astype(np.uint8), mask=land, transform=DEMO_TRANSFORM)
        if v == 1
    ]
    poly = shapely.union_all(geoms)
    if poly.geom_type != "Polygon":  # pragma: no cover - the mask is one 4-connected piece
        raise RuntimeError("demo island outline is not a single polygon")
    return poly


def _townships(
    rng: np.random.Generator,
    land: np.ndarray,
    places: list[_Place],
    phase: float,
) -> gpd.GeoDataFrame:
    """Voronoi townships of cities, towns and mountain seeds, clipped to the coast."""
    island = _land_polygon(land)
    seeds = [(p.x_m, p.y_m) for p in places if p.kind in ("city", "town")]
    settings = [p.setting for p in places if p.kind in ("city", "town")]
    n_mtn = 8
    xs = _XC_M + np.linspace(-0.62, 0.62, n_mtn) * _SEMI_A_M + rng.uniform(-1_500, 1_500, n_mtn)
    for i, xm in enumerate(xs):
        off = 2_500.0 * (1 if i % 2 else -1)
        seeds.append((float(xm), float(_ridge_y_m(xm, phase)) + off))
        settings.append("mountain")
    pts = shapely.MultiPoint(seeds)
    env = shapely.box(*island.buffer(20_000.0).bounds)
    cells = shapely.voronoi_polygons(pts, extend_to=env)
    # voronoi_polygons does not keep the input order: match each cell to its seed
    cell_list = list(cells.geoms)
    seed_pts = shapely.points(np.asarray(seeds))
    polys = []
    for sp in seed_pts:
        hit = [c for c in cell_list if c.contains(sp)]
        # keep only the polygonal part of the clip (drop stray lines and points)
        parts = [g for g in shapely.get_parts(hit[0].intersection(island)) if g.area > 0.0]
        polys.append(parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts))

    # multipart pieces (the coast cut a cell): keep the largest, give the rest to the
    # neighbour that shares the longest border
    changed = True
    for _ in range(20):  # a few rounds always suffice
        if not changed:
            break
        changed = False
        for i, g in enumerate(polys):
            if g.geom_type == "Polygon":
                continue
            parts = sorted(
                (p for p in getattr(g, "geoms", []) if p.geom_type == "Polygon"),
                key=lambda p: -p.area,
            )
            polys[i] = parts[0]
            for part in parts[1:]:
                best, best_len = None, -1.0
                for j, h in enumerate(polys):
                    if j == i:
                        continue
                    shared = part.boundary.intersection(h.boundary).length
                    if shared > best_len:
                        best, best_len = j, shared
                merged = [g for g in shapely.get_parts(polys[best].union(part)) if g.area > 0]
                polys[best] = merged[0] if len(merged) == 1 else shapely.MultiPolygon(merged)
                changed = True
    polys = [shapely.make_valid(p) for p in polys]

    # counties: angular sectors around the island centre, 5 of them
    cent = np.array([[p.centroid.x, p.centroid.y] for p in polys])
    ang = np.arctan2((cent[:, 1] - _YC_M) / _SEMI_B_M, (cent[:, 0] - _XC_M) / _SEMI_A_M)
    n_county = 5
    start = rng.uniform(-np.pi, np.pi)
    county_idx = (np.floor(((ang - start) % (2 * np.pi)) / (2 * np.pi / n_county))).astype(int)
    county_names = _names(rng, n_county, [" County"])
    order = np.lexsort((-cent[:, 1], cent[:, 0], county_idx))
    suffixes = {
        "coast": ["", "", "ton", "field", " Bay", " Harbour"],
        "valley": ["", " Valley", "ford", "bridge"],
        "mountain": [" Heights", " Highlands", " Pass", ""],
    }
    names = [_names(rng, 1, suffixes[settings[i]])[0] for i in order]
    while len(set(names)) < len(names):  # unique names (the bare stem may repeat)
        dup = next(k for k, nm in enumerate(names) if names.count(nm) > 1)
        names[dup] = _names(rng, 1, suffixes[settings[order[dup]]])[0]
    rows = []
    counter: dict[int, int] = {}
    for k, i in enumerate(order):
        ci = int(county_idx[i])
        counter[ci] = counter.get(ci, 0) + 1
        rows.append(
            {
                "township_id": f"D{ci + 1:02d}{counter[ci]:02d}",
                "name": names[k],
                "county": county_names[ci],
                "source": f"synthetic: {SYNTHETIC_NOTE}",
                "geometry": polys[i],
            }
        )
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=DEMO_CRS)
    return gdf.sort_values("township_id", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Stations, fibre, trails
# --------------------------------------------------------------------------------------------


def _to_lonlat() -> Callable:
    return Transformer.from_crs(DEMO_CRS, "EPSG:4326", always_xy=True).transform


def _isd_m(density_km2: np.ndarray) -> np.ndarray:
    """Inter-site distance [m] an operator aims for at a population density [persons/km^2]."""
    d = np.maximum(density_km2, 1.0)
    # 12 000/km^2 -> 1.0 km, 3 000 -> 2.0 km, 800 -> 3.9 km, 300 -> 6 km
    return np.clip(1_000.0 * (d / 12_000.0) ** -0.5, 1_000.0, 6_000.0)


def _snap(rng: np.random.Generator, xy: tuple[float, float]) -> tuple[float, float]:
    """Move a point to its cell centre plus a small jitter (so it stays in that cell)."""
    r, c = _cell_of(*xy)
    cx, cy = _cell_centre(r, c)
    return cx + float(rng.uniform(-30.0, 30.0)), cy + float(rng.uniform(-30.0, 30.0))


def _sites(
    rng: np.random.Generator,
    elev: np.ndarray,
    land: np.ndarray,
    pop: np.ndarray,
    rivers: list[_River],
    places: list[_Place],
) -> list[dict]:
    """Mast sites for all operators: urban by density, along roads, a few mountain omnis."""
    dens_km2 = ndimage.gaussian_filter(pop.astype(np.float64), 5.0) * 100.0  # persons/km^2
    d_coast = ndimage.distance_transform_edt(land) * DEMO_RESOLUTION_M
    # roads: coastal ring road ~1.5 km inland and valley roads up the rivers below 1 200 m
    ring = land & (np.abs(d_coast - 1_500.0) < 60.0)
    rr, rc = np.nonzero(ring)
    ring_xy = np.column_stack(
        [_X_WEST_M + (rc + 0.5) * DEMO_RESOLUTION_M, _Y_NORTH_M - (rr + 0.5) * DEMO_RESOLUTION_M]
    )
    rp = _river_points(rivers)
    valley_xy = rp[(_elev_at(elev, rp) < 1_200.0) & (_elev_at(elev, rp) > 30.0)]
    road_xy = np.vstack([ring_xy, valley_xy])
    urban_r, urban_c = np.nonzero(land & (dens_km2 >= 300.0))
    urban_w = dens_km2[urban_r, urban_c]
    villages = [p for p in places if p.kind == "village"]

    sites: list[dict] = []
    for op in OPERATORS:
        prm = _OPERATOR_PARAMS[op]
        chosen: list[tuple[float, float, str]] = []

        def far_enough(x, y, sep, chosen=chosen):
            if not chosen:
                return True
            arr = np.asarray([(a, b) for a, b, _ in chosen])
            return float(np.min(np.hypot(arr[:, 0] - x, arr[:, 1] - y))) >= sep

        # urban and suburban: weighted random order, spacing by local density
        k = min(6000, len(urban_r))
        pick = rng.choice(len(urban_r), size=k, replace=False, p=urban_w / urban_w.sum())
        for i in pick:
            x, y = _cell_centre(int(urban_r[i]), int(urban_c[i]))
            isd = float(_isd_m(dens_km2[urban_r[i], urban_c[i]])) * prm["isd_scale"]
            if far_enough(x, y, isd):
                chosen.append((x, y, "urban"))
        # roads
        order = rng.permutation(len(road_xy))
        for i in order:
            x, y = road_xy[i]
            if far_enough(x, y, prm["road_step_m"]):
                chosen.append((float(x), float(y), "road"))
        # a few omni sites at mountain villages (the rest stays uncovered)
        n_omni = {"OpA": 3, "OpB": 2, "OpC": 1}[op]
        vorder = rng.permutation(len(villages))
        for i in vorder:
            v = villages[i]
            if n_omni and far_enough(v.x_m, v.y_m, 4_000.0):
                chosen.append((v.x_m, v.y_m, "mountain"))
                n_omni -= 1
        for n, (x, y, kind) in enumerate(chosen, start=1):
            sx, sy = _snap(rng, (x, y))
            r, c = _cell_of(sx, sy)
            if not land[r, c]:
                continue
            sites.append(
                {
                    "operator": op,
                    "site_id": f"{op}-S{n:04d}",
                    "x_m": sx,
                    "y_m": sy,
                    "kind": kind,
                    "dens": float(dens_km2[r, c]),
                }
            )
    return sites


def _stations(rng: np.random.Generator, sites: list[dict]) -> pd.DataFrame:
    """One row per sector, columns :data:`_STATION_COLUMNS`, sorted by station_id."""
    to_ll = _to_lonlat()
    rows = []
    for s in sites:
        prm = _OPERATOR_PARAMS[s["operator"]]
        kind = s["kind"]
        omni = kind == "mountain"
        if kind == "urban":
            height = rng.uniform(18.0, 32.0) if s["dens"] > 3_000 else rng.uniform(25.0, 38.0)
            tilt = rng.uniform(5.0, 8.0) if s["dens"] > 3_000 else rng.uniform(3.0, 6.0)
        else:
            height = rng.uniform(30.0, 45.0)
            tilt = rng.uniform(2.0, 4.0)
        offset = rng.uniform(0.0, 120.0)
        lon, lat = to_ll(s["x_m"], s["y_m"])
        layers = [("5G", "N78", prm["nr_mhz"], 100.0, 30.0)]
        if kind != "urban":
            layers.append(("4G", "L18", prm["lte_mhz"], 20.0, 15.0))
        azimuths = [None] if omni else [(offset + 120.0 * k) % 360.0 for k in range(3)]
        for tech, code, freq, bw, scs in layers:
            for k, az in enumerate(azimuths, start=1):
                if tech == "5G":
                    eirp = rng.uniform(58.0, 65.0) if not omni else rng.uniform(55.0, 58.0)
                else:
                    eirp = rng.uniform(58.0, 62.0) if not omni else rng.uniform(54.0, 57.0)
                rows.append(
                    {
                        "station_id": f"{s['site_id']}-{k}-{code}",
                        "site_id": s["site_id"],
                        "operator": s["operator"],
                        "lon": round(float(lon), 7),
                        "lat": round(float(lat), 7),
                        "height_m": round(float(height), 1),
                        "freq_mhz": freq,
                        "eirp_dbm": round(float(eirp), 1),
                        "azimuth_deg": np.nan if az is None else round(float(az), 1),
                        "tilt_deg": 2.0 if omni else round(float(tilt), 1),
                        "beamwidth_deg": 360.0 if omni else 65.0,
                        "tech": tech,
                        "bandwidth_mhz": bw,
                        "scs_khz": scs,
                    }
                )
    df = pd.DataFrame(rows, columns=_STATION_COLUMNS)
    return df.sort_values("station_id", kind="stable").reset_index(drop=True)


def _fibre(rng: np.random.Generator, pop: np.ndarray) -> pd.DataFrame:
    """Fibre drop points, density proportional to urban population (none in the wilds)."""
    w = pop.astype(np.float64)
    w[w < 15.0] = 0.0  # below 1 500 persons/km^2: no fibre
    w = w.ravel()
    n = 3000
    idx = rng.choice(w.size, size=n, replace=True, p=w / w.sum())
    rows, cols = np.divmod(idx, DEMO_SHAPE[1])
    x = _X_WEST_M + (cols + rng.uniform(0.1, 0.9, n)) * DEMO_RESOLUTION_M
    y = _Y_NORTH_M - (rows + rng.uniform(0.1, 0.9, n)) * DEMO_RESOLUTION_M
    lon, lat = _to_lonlat()(x, y)
    order = np.lexsort((lat, lon))
    return pd.DataFrame(
        {
            "fibre_id": [f"F{i:05d}" for i in range(1, n + 1)],
            "lon": np.round(np.asarray(lon)[order], 7),
            "lat": np.round(np.asarray(lat)[order], 7),
        }
    )


def _trails(rng: np.random.Generator, elev: np.ndarray, places: list[_Place]) -> gpd.GeoDataFrame:
    """4 winding trails from mountain villages up to high ground, 5-30 km each."""
    villages = sorted((p for p in places if p.kind == "village"), key=lambda p: p.x_m)
    n_tr = 4
    chunks = np.array_split(np.arange(len(villages)), n_tr)
    rr, cc = np.nonzero(elev > min(2_400.0, 0.65 * float(elev.max())))
    high = np.column_stack(
        [_X_WEST_M + (cc + 0.5) * DEMO_RESOLUTION_M, _Y_NORTH_M - (rr + 0.5) * DEMO_RESOLUTION_M]
    )
    names = _names(rng, n_tr, [" Ridge Trail", " Pass Trail", " Summit Trail"])
    rows = []
    for t, chunk in enumerate(chunks):
        line = None
        for attempt in range(200):
            pool = chunk if attempt < 100 else np.arange(len(villages))
            v = villages[int(pool[int(rng.integers(len(pool)))])]
            d = np.hypot(high[:, 0] - v.x_m, high[:, 1] - v.y_m)
            cand = np.nonzero((d > 6_000.0) & (d < 14_000.0))[0]
            if len(cand) == 0:
                continue
            end = high[int(cand[int(rng.integers(len(cand)))])]
            # midpoint displacement for a winding path
            pts = np.array([[v.x_m, v.y_m], end])
            for level in range(4):
                new = [pts[0]]
                for a, b in zip(pts[:-1], pts[1:], strict=True):
                    seg = b - a
                    seg_len = float(np.hypot(*seg))
                    normal = np.array([-seg[1], seg[0]]) / max(seg_len, 1.0)
                    mid = (a + b) / 2.0 + normal * rng.normal(0.0, 0.18 / (level + 1)) * seg_len
                    new += [mid, b]
                pts = np.asarray(new)
            cand_line = shapely.LineString(pts)
            if 5_000.0 <= cand_line.length <= 30_000.0 and (_elev_at(elev, pts) > 0.0).all():
                line = cand_line
                break
        if line is None:  # pragma: no cover - not reached for any seed tried
            continue
        rows.append(
            {
                "trail_id": f"T{len(rows) + 1:02d}",
                "name": names[t],
                "source": f"synthetic: {SYNTHETIC_NOTE}",
                "geometry": line,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=DEMO_CRS)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def generate_demo(seed: int = DEMO_SEED) -> DemoScenario:
    """Generate the synthetic demo island in memory.

    Parameters
    ----------
    seed : int, optional
        Seed of ``numpy.random.default_rng`` (default :data:`DEMO_SEED` = 2025). The same
        seed gives byte-identical arrays and identical tables.

    Returns
    -------
    DemoScenario
        DEM [m AMSL], population [persons/cell], townships, stations (one row per sector),
        fibre points and trails, on the grid :data:`DEMO_TRANSFORM` (EPSG:32710, 100 m).

    Notes
    -----
    The island is SYNTHETIC ("covkit demo island, not real terrain"), placed in the open
    South Pacific near 125 deg W, 35 deg S where there is no land. Takes a few seconds.
    """
    rng = np.random.default_rng(seed)
    land = _land_mask(rng)
    phase = float(rng.uniform(-0.6, 0.6))
    rivers = _trace_rivers(rng, land, phase)
    elev = _terrain(rng, land, rivers, phase)
    places = _places(rng, elev, land, rivers)
    pop, _ = _population(rng, elev, land, places)
    townships = _townships(rng, land, places, phase)
    sites = _sites(rng, elev, land, pop, rivers, places)
    stations = _stations(rng, sites)
    fibre = _fibre(rng, pop)
    trails = _trails(rng, elev, places)
    return DemoScenario(
        seed=int(seed),
        dem_m=_readonly(elev.astype(np.float32)),
        population=_readonly(pop),
        land_mask=_readonly(land),
        transform=DEMO_TRANSFORM,
        crs=DEMO_CRS,
        townships=townships,
        stations=stations,
        fibre=fibre,
        trails=trails,
    )


def scenario_toml_text(seed: int = DEMO_SEED) -> str:
    """Text of the demo ``scenario.toml`` (paths relative to the TOML file)."""
    return f"""\
# covkit demo scenario: SYNTHETIC island in the open South Pacific (not real land).
# synthetic: {SYNTHETIC_NOTE}; generated by covkit.data.demo.write_demo(seed={int(seed)}).
# Terrain, population, townships, stations, fibre and trails are all invented.
[scenario]
name = "{SCENARIO_NAME}"
crs = "{DEMO_CRS}"
resolution_m = 100.0

[inputs]
dem = "dem.tif"
stations = "stations.csv"
population = "population.tif"
townships = "townships.gpkg"
fibre = "fibre.csv"
trails = "trails.gpkg"

[propagation]
model = "p1812"
max_radius_km = 10.0
receiver_height_m = 1.5
location_probability = 0.5
shadow_sigma_db = 5.5
k_factor = 1.3333333333333333
time_pct = 50.0

[coverage]
rsrp_threshold_dbm = -115.0
cell_load = 0.5
sinr_threshold_db = -5.0
noise_figure_db = 7.0

[sites]
budget_sites = 20
candidate_spacing_m = 2000.0
mast_height_m = 30.0
site_cost = 1.0
weight_population = 1.0
weight_trail_km = 0.0
weight_new_township = 0.0
"""


def _tmp_path(final: Path) -> Path:
    return final.with_name(f".{final.stem}.{uuid.uuid4().hex}.tmp{final.suffix}")


def _atomic(final: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same directory, then ``os.replace``."""
    tmp = _tmp_path(final)
    try:
        write(tmp)
        os.replace(tmp, final)
    finally:
        for p in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            if p.exists():
                p.unlink()


def _write_raster(path: Path, arr: np.ndarray, tags: dict[str, str], desc: str) -> None:
    import rasterio

    profile = {
        "driver": "GTiff",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": DEMO_CRS,
        "transform": DEMO_TRANSFORM,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 3,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr.astype(np.float32), 1)
        dst.update_tags(SYNTHETIC=SYNTHETIC_NOTE, **tags)
        dst.set_band_description(1, desc)


def _write_gpkg(path: Path, gdf: gpd.GeoDataFrame, layer: str, seed: int) -> None:
    import pyogrio

    meta = {"SYNTHETIC": SYNTHETIC_NOTE, "GENERATOR": "covkit.data.demo", "SEED": str(seed)}
    pyogrio.write_dataframe(
        gdf, path, layer=layer, driver="GPKG", layer_metadata=meta, dataset_metadata=meta
    )


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def write_demo(out_dir: str | os.PathLike, seed: int = DEMO_SEED) -> Path:
    """Generate the synthetic demo island and write it as ordinary input files.

    Writes ``dem.tif``, ``population.tif`` (GeoTIFF, EPSG:32710, tiled, deflate),
    ``townships.gpkg``, ``trails.gpkg``, ``stations.csv``, ``fibre.csv`` and
    ``scenario.toml`` into ``out_dir`` (created if missing). Each file is written to a
    temporary file in ``out_dir`` and moved into place with ``os.replace``.

    Parameters
    ----------
    out_dir : str or path-like
        Output directory.
    seed : int, optional
        Generator seed (default 2025).

    Returns
    -------
    pathlib.Path
        Path of the written ``scenario.toml``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    demo = generate_demo(seed)
    common = {"GENERATOR": "covkit.data.demo", "SEED": str(int(seed)), "CRS": DEMO_CRS}
    _atomic(
        out / "dem.tif",
        lambda p: _write_raster(
            p, demo.dem_m, {**common, "UNITS": "metre AMSL"}, "elevation_amsl_m (synthetic)"
        ),
    )
    _atomic(
        out / "population.tif",
        lambda p: _write_raster(
            p,
            demo.population,
            {**common, "UNITS": "persons per 100 m cell", "TOTAL": f"{demo.pop_total_persons:.0f}"},
            "pop_persons (synthetic)",
        ),
    )
    _atomic(out / "townships.gpkg", lambda p: _write_gpkg(p, demo.townships, "townships", seed))
    _atomic(out / "trails.gpkg", lambda p: _write_gpkg(p, demo.trails, "trails", seed))
    _atomic(
        out / "stations.csv",
        lambda p: _write_text(p, demo.stations.to_csv(index=False, lineterminator="\n")),
    )
    _atomic(
        out / "fibre.csv",
        lambda p: _write_text(p, demo.fibre.to_csv(index=False, lineterminator="\n")),
    )
    toml_path = out / "scenario.toml"
    _atomic(toml_path, lambda p: _write_text(p, scenario_toml_text(seed)))
    return toml_path
