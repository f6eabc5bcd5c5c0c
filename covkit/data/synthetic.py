"""Synthetic mobile networks: sites placed the way operators build, for studies without a
station list (``covkit scenario sites``, ``covkit.api.synthetic_stations``).

Per operator, on land only (DEM > 0 m and, when a township raster is given, inside a
township):

1. **every township with people gets a site** (where the operator's share of ``n_sites``
   allows it: the most populated townships first), at its densest cell;
2. **the rest follow population**: cells are visited in a random order weighted by
   ``density ** density_exponent`` (Efraimidis-Spirakis keys), and a cell takes a site when no
   site of the same operator lies within the inter-site distance of its density,
   ``isd_m(density)`` (shrinking with density: 12 000 persons/km^2 -> ``scale`` x 1 km); the
   scale is estimated from the population so that about ``n_sites`` fit, and shrunk until
   they do;
3. **sparse sites go up**: a site in a cell below :data:`RURAL_DENSITY_KM2` moves to the
   highest land cell of its township within :data:`RIDGE_RADIUS_M` (ridge tops and local high
   points, where rural masts stand);
4. three sectors per site (azimuths 0 / 120 / 240 deg plus a random rotation), rooftop
   heights (25-35 m) in towns and masts (30-40 m) in the country, the carriers of
   :data:`BANDS` per operator (3.5 GHz n78 everywhere, 700 MHz on rural sites, 28 GHz only
   on the densest sites when asked), typical EIRPs per band.

Deterministic for a seed. Every row carries ``synthetic = True``; the stations loader reads
the column, and runs say "synthetic sites" in kpi_summary.json, the report and the map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

from covkit.data import loaders
from covkit.data.grid import Grid
from covkit.data.inputs import load_land
from covkit.errors import CovkitInputError

STATION_COLUMNS = [
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
"""The stations columns a generated network fills (the demo's ``stations.csv`` too), in this
order; :func:`synthetic_stations` adds ``synthetic``."""

RURAL_DENSITY_KM2 = 300.0
"""Below this smoothed population density [persons/km^2] a site is rural: a mast (30-40 m)
moved to the local high point, with the rural carriers (700 MHz)."""

URBAN_DENSITY_KM2 = 1_500.0
"""From this density [persons/km^2] a site is urban: on a rooftop (25-35 m), steeper tilt."""

RIDGE_RADIUS_M = 1_000.0
"""Search radius [m] of the local DEM maximum a rural site moves to."""

DENSITY_SMOOTHING_M = 1_000.0
"""Standard deviation [m] of the Gaussian that turns people per cell into a density."""


@dataclass(frozen=True)
class Band:
    """A carrier layer of the synthetic network.

    Attributes
    ----------
    name : str
        Short name (3GPP band), e.g. ``n78``.
    tech : str
        ``5G`` or ``4G``.
    dl_mhz : tuple of float
        Downlink range [MHz] shared by the operators: each gets an equal block (at most
        ``max_bandwidth_mhz``), its carrier at the block's centre.
    bandwidths_mhz : tuple of float
        Channel bandwidths the 3GPP tables define at ``scs_khz``; the widest that fits the
        block is used.
    scs_khz : float
        Subcarrier spacing [kHz].
    eirp_dbm : tuple of float
        Range of the sector EIRP [dBm] (uniform).
    where : str
        Sites carrying it: ``all``, ``rural`` (below :data:`RURAL_DENSITY_KM2`) or ``dense``
        (the densest ``mmwave_share`` of the operator's urban sites).
    """

    name: str
    tech: str
    dl_mhz: tuple[float, float]
    bandwidths_mhz: tuple[float, ...]
    scs_khz: float
    eirp_dbm: tuple[float, float]
    where: str


_NR30 = (10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0)
_LTE = (5.0, 10.0, 15.0, 20.0)

BANDS: dict[str, Band] = {
    # Taiwan's bands (NCC auctions): 5G 3.5 GHz n78 and 28 GHz n257, LTE 700 / 1800 / 2600 MHz
    # and NR 2100 MHz (n1); downlink ranges.
    "n78": Band("n78", "5G", (3300.0, 3600.0), _NR30, 30.0, (58.0, 65.0), "all"),
    "b28": Band("b28", "4G", (758.0, 803.0), _LTE, 15.0, (58.0, 62.0), "rural"),
    "b3": Band("b3", "4G", (1805.0, 1880.0), _LTE, 15.0, (58.0, 62.0), "all"),
    "n1": Band("n1", "5G", (2110.0, 2170.0), (5.0, 10.0, 15.0, 20.0), 15.0, (58.0, 62.0), "all"),
    "b7": Band("b7", "4G", (2620.0, 2690.0), _LTE, 15.0, (58.0, 62.0), "all"),
    "n257": Band("n257", "5G", (27000.0, 29500.0), (50.0, 100.0, 200.0), 120.0, (60.0, 66.0),
                 "dense"),
}
"""The carriers :func:`synthetic_stations` can give its sites, by name."""

DEFAULT_BANDS = ("n78", "b28")
"""3.5 GHz on every site and 700 MHz on rural sites; add ``n257`` for 28 GHz in the densest
cells."""


def isd_m(density_km2, *, ref_isd_m: float = 1_000.0, ref_density_km2: float = 12_000.0,
          exponent: float = 0.5, lo_m: float = 1_000.0, hi_m: float = 6_000.0) -> np.ndarray:
    """Inter-site distance [m] an operator aims for at a population density [persons/km^2]:
    ``ref_isd_m * (density / ref_density_km2) ** -exponent``, clipped to [lo_m, hi_m].

    With the defaults (the demo network's law): 12 000/km^2 -> 1.0 km, 3 000 -> 2.0 km,
    800 -> 3.9 km, 300 -> 6 km. Sites per area grow as density ** (2 exponent).
    """
    d = np.maximum(np.asarray(density_km2, dtype=np.float64), 1.0)
    return np.clip(ref_isd_m * (d / ref_density_km2) ** -exponent, lo_m, hi_m)


def operator_names(operators: int | Sequence[str]) -> tuple[str, ...]:
    """Operator names: given, or ``A``, ``B``, ... for a count (1-26)."""
    if isinstance(operators, int | np.integer):
        n = int(operators)
        if not 1 <= n <= 26:
            raise CovkitInputError(f"operators = {n} must be 1-26", column="operators")
        return tuple(chr(ord("A") + i) for i in range(n))
    names = tuple(str(o).strip() for o in operators)
    if not names or any(not o for o in names) or len(set(names)) != len(names):
        raise CovkitInputError(f"operators {list(operators)!r} must be distinct non-empty "
                               "names", column="operators")
    return names


def carrier(band: Band, operator_index: int, n_operators: int) -> tuple[float, float]:
    """Carrier centre [MHz] and channel bandwidth [MHz] of one operator in a band: equal
    blocks of the downlink range, the widest defined bandwidth that fits."""
    lo, hi = band.dl_mhz
    block = (hi - lo) / n_operators
    fits = [b for b in band.bandwidths_mhz if b <= block + 1e-9]
    if not fits:
        raise CovkitInputError(f"band {band.name}: {n_operators} operators leave "
                               f"{block:g} MHz each, below its narrowest carrier "
                               f"{min(band.bandwidths_mhz):g} MHz", column="operators")
    return round(lo + block * (operator_index + 0.5), 3), max(fits)


def density_km2(population: np.ndarray, grid: Grid, land: np.ndarray) -> np.ndarray:
    """Population density [persons/km^2] smoothed over :data:`DENSITY_SMOOTHING_M` on land
    (normalised by the land share of the kernel, so coasts are not diluted by the sea)."""
    sigma = max(DENSITY_SMOOTHING_M / grid.resolution_m, 0.5)
    pop = np.where(land, np.nan_to_num(np.asarray(population, dtype=np.float64)), 0.0)
    num = ndimage.gaussian_filter(pop, sigma, mode="constant")
    den = ndimage.gaussian_filter(land.astype(np.float64), sigma, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(land & (den > 1e-9), num / den, 0.0)
    return d / (grid.cell_area_m2 / 1e6)


class _Spacing:
    """Accepted sites of one operator, for "is any site nearer than sep?" queries: square
    buckets of ``bucket_m`` for short distances, one vectorised test over every site when
    the query would visit more buckets than there are sites."""

    def __init__(self, bucket_m: float, capacity: int):
        self.bucket = float(bucket_m)
        self.cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
        self.xy = np.empty((max(capacity, 1), 2))
        self.n = 0

    def add(self, x: float, y: float) -> None:
        key = (int(x // self.bucket), int(y // self.bucket))
        self.cells.setdefault(key, []).append((x, y))
        if self.n == len(self.xy):
            self.xy = np.concatenate([self.xy, np.empty_like(self.xy)])
        self.xy[self.n] = (x, y)
        self.n += 1

    def free(self, x: float, y: float, sep: float) -> bool:
        b = self.bucket
        k = int(np.ceil(sep / b))
        s2 = sep * sep
        if (2 * k + 1) ** 2 > max(self.n, 16):
            d = self.xy[:self.n]
            return not bool(np.any((d[:, 0] - x) ** 2 + (d[:, 1] - y) ** 2 < s2))
        cx, cy = int(x // b), int(y // b)
        for i in range(cx - k, cx + k + 1):
            for j in range(cy - k, cy + k + 1):
                for px, py in self.cells.get((i, j), ()):
                    if (px - x) ** 2 + (py - y) ** 2 < s2:
                        return False
        return True


def _ridge_cell(r: int, c: int, dem: np.ndarray, land: np.ndarray, zone: np.ndarray | None,
                radius_cells: int) -> tuple[int, int]:
    """The highest land cell of (r, c)'s township within ``radius_cells`` of it (itself if
    none)."""
    h, w = dem.shape
    r0, r1 = max(r - radius_cells, 0), min(r + radius_cells + 1, h)
    c0, c1 = max(c - radius_cells, 0), min(c + radius_cells + 1, w)
    ok = land[r0:r1, c0:c1]
    if zone is not None:
        ok = ok & (zone[r0:r1, c0:c1] == zone[r, c])
    win = np.where(ok, dem[r0:r1, c0:c1], -np.inf)
    rr, cc = np.ogrid[r0 - r:r1 - r, c0 - c:c1 - c]
    win = np.where(rr * rr + cc * cc <= radius_cells * radius_cells, win, -np.inf)
    k = int(np.argmax(win))
    if not np.isfinite(win.flat[k]):
        return r, c
    return r0 + k // win.shape[1], c0 + k % win.shape[1]


def _candidates(ok: np.ndarray, population: np.ndarray, block: int,
                ) -> tuple[np.ndarray, np.ndarray]:
    """Candidate cells: in each ``block`` x ``block`` square of the grid, the most populated
    cell of ``ok`` (blocks no wider than the smallest site spacing, so no site is lost)."""
    r, c = np.nonzero(ok)
    if block <= 1 or r.size == 0:
        return r, c
    key = (r // block) * (ok.shape[1] // block + 1) + c // block
    order = np.lexsort((-population[r, c], key))
    first = order[np.r_[True, key[order][1:] != key[order][:-1]]]
    first.sort()
    return r[first], c[first]


def _place_operator(rng: np.random.Generator, n: int, grid: Grid, dens: np.ndarray,
                    land: np.ndarray, dem: np.ndarray, zone: np.ndarray | None,
                    population: np.ndarray, density_exponent: float, min_spacing_m: float,
                    ) -> list[tuple[int, int]]:
    """Cells (row, col) of one operator's ``n`` sites (module docstring, steps 1-3)."""
    res = grid.resolution_m
    cand_r, cand_c = _candidates(land & (population > 0), population,
                                 max(1, int(min_spacing_m // res)))
    if cand_r.size < n:
        raise CovkitInputError(
            f"only {cand_r.size} populated land cells for {n} sites of one operator (one site "
            "per cell): lower n_sites or use a finer grid", column="n_sites")
    ridge_cells = int(round(RIDGE_RADIUS_M / res))
    d_c = dens[cand_r, cand_c]
    exp = 0.5 * density_exponent  # sites per area ~ density ** density_exponent
    seps = isd_m(d_c, ref_isd_m=1.0, exponent=exp, lo_m=0.0, hi_m=np.inf)
    # spacing scale so that about n sites fit at random close packing (1.44 isd^2 each)
    scale = float(np.sqrt(res * res * np.sum(1.0 / (1.44 * seps ** 2)) / n))
    spacing = _Spacing(max(min_spacing_m, res), n)
    chosen: list[tuple[int, int]] = []
    taken: set[tuple[int, int]] = set()  # cells holding a site
    visited: set[tuple[int, int]] = set()  # candidate cells that placed (or tried) one

    def accept(r: int, c: int) -> None:
        visited.add((r, c))
        at = (r, c)
        if dens[r, c] < RURAL_DENSITY_KM2 and ridge_cells > 0:  # the local high point
            at = _ridge_cell(r, c, dem, land, zone, ridge_cells)
        if at in taken:
            at = (r, c)
        if at in taken:
            return
        taken.add(at)
        chosen.append(at)
        spacing.add(grid.x0_m + (at[1] + 0.5) * res, grid.y0_m - (at[0] + 0.5) * res)

    # 1. a site in every populated township (its densest cell), most populated first
    if zone is not None:
        zc = zone[cand_r, cand_c]
        pops = np.bincount(zc, weights=population[cand_r, cand_c])
        by_zone = np.lexsort((-d_c, zc))
        first = by_zone[np.r_[True, zc[by_zone][1:] != zc[by_zone][:-1]]]
        for i in first[np.argsort(-pops[zc[first]], kind="stable")][:n].tolist():
            accept(int(cand_r[i]), int(cand_c[i]))
    # 2. by population, a density-dependent spacing, in a weighted random order
    keys = density_exponent * np.log(np.maximum(d_c, 1e-6)) - np.log(
        -np.log(rng.uniform(1e-300, 1.0, d_c.size)))
    order = np.argsort(-keys, kind="stable")
    rows, cols = cand_r[order].tolist(), cand_c[order].tolist()
    xs = (grid.x0_m + (cand_c[order] + 0.5) * res).tolist()
    ys = (grid.y0_m - (cand_r[order] + 0.5) * res).tolist()
    sep_o = seps[order]
    while len(chosen) < n and len(visited) < len(rows):
        radius = np.maximum(scale * sep_o, min_spacing_m).tolist()
        for r, c, x, y, sep in zip(rows, cols, xs, ys, radius, strict=True):
            if (r, c) not in visited and spacing.free(x, y, sep):
                accept(r, c)
                if len(chosen) >= n:
                    break
        scale *= 0.8
        if scale * float(sep_o.max()) < min_spacing_m:
            min_spacing_m *= 0.8  # the densest cells are full: let sites come closer
    if len(chosen) < n:
        raise CovkitInputError(
            f"only {len(chosen)} of {n} sites of one operator fit on the populated land cells "
            "(one site per cell): lower n_sites or use a finer grid", column="n_sites")
    return chosen[:n]


def synthetic_stations(grid: Grid, population: np.ndarray, dem_m: np.ndarray, n_sites: int,
                       *, zone: np.ndarray | None = None,
                       operators: int | Sequence[str] = ("A", "B", "C"), seed: int = 0,
                       bands: Sequence[str] = DEFAULT_BANDS, mmwave_share: float = 0.1,
                       density_exponent: float = 0.7, min_spacing_m: float = 200.0,
                       ) -> pd.DataFrame:
    """A synthetic network of ``n_sites`` sites (three sectors each), in covkit's stations
    schema.

    Parameters
    ----------
    grid : Grid
        The analysis grid (``Inputs.grid``).
    population : 2-D array
        People per cell on the grid (``Inputs.population``).
    dem_m : 2-D array
        Terrain [m AMSL] on the grid (``Inputs.dem_m``); sites only where it is > 0 m.
    n_sites : int
        Number of sites over all operators (split evenly, the first operators take the
        remainder), >= 1.
    zone : 2-D int array, optional
        Township index per cell, -1 outside (``Inputs.townships.zone``): sites only inside
        a township, and every township with people gets a site of every operator (while the
        operator's share of ``n_sites`` allows).
    operators : int or sequence of str
        Operator names, or their number (named A, B, ...).
    seed : int
        Seed: the same arguments give the same table.
    bands : sequence of str
        Names in :data:`BANDS` (default 3.5 GHz n78 everywhere and 700 MHz on rural sites;
        ``n257`` adds 28 GHz on the densest sites).
    mmwave_share : float
        Share (0-1] of each operator's urban sites, the densest, that carry ``dense``
        bands (28 GHz).
    density_exponent : float
        Sites per area follow density ** density_exponent, (0, 2].
    min_spacing_m : float
        Smallest distance between two sites of one operator [m] (> 0).

    Returns
    -------
    pandas.DataFrame
        One row per sector: :data:`STATION_COLUMNS` plus ``synthetic`` (True), sorted by
        ``station_id``; ``lon, lat`` in degrees (WGS 84).

    Raises
    ------
    CovkitInputError
        For a bad argument (naming it), no land, or more sites than populated land cells.
    """
    if isinstance(n_sites, bool) or not isinstance(n_sites, int | np.integer) or n_sites < 1:
        raise CovkitInputError(f"n_sites = {n_sites!r} must be a whole number >= 1",
                               column="n_sites")
    names = operator_names(operators)
    unknown = [b for b in bands if b not in BANDS]
    if unknown or not bands:
        raise CovkitInputError(f"bands {list(bands)!r}: choose among {', '.join(BANDS)}",
                               column="bands")
    if not 0.0 < float(mmwave_share) <= 1.0:
        raise CovkitInputError(f"mmwave_share = {mmwave_share!r} must be in (0, 1]",
                               column="mmwave_share")
    if not 0.0 < float(density_exponent) <= 2.0:
        raise CovkitInputError(f"density_exponent = {density_exponent!r} must be in (0, 2]",
                               column="density_exponent")
    if not float(min_spacing_m) > 0.0:
        raise CovkitInputError(f"min_spacing_m = {min_spacing_m!r} must be > 0",
                               column="min_spacing_m")
    dem = np.asarray(dem_m, dtype=np.float64)
    pop = np.nan_to_num(np.asarray(population, dtype=np.float64))
    if dem.shape != grid.shape or pop.shape != grid.shape or (
            zone is not None and np.shape(zone) != grid.shape):
        raise CovkitInputError(f"population, dem_m (and zone) must have the grid's shape "
                               f"{grid.shape}", column="grid")
    with np.errstate(invalid="ignore"):
        land = np.isfinite(dem) & (dem > 0.0)
    if zone is not None:
        zone = np.asarray(zone)
        land &= zone >= 0
    if not land.any():
        raise CovkitInputError("no land cell (DEM > 0 m inside a township) to put sites on",
                               column="dem_m")
    dens = density_km2(pop, grid, land)
    n_ops = len(names)
    per_op = [n_sites // n_ops + (1 if i < n_sites % n_ops else 0) for i in range(n_ops)]
    carriers = {b: [carrier(BANDS[b], i, n_ops) for i in range(n_ops)] for b in bands}
    rows = []
    width = max(4, len(str(max(per_op))))
    res = grid.resolution_m
    for k, (op, n_op) in enumerate(zip(names, per_op, strict=True)):
        if n_op == 0:
            continue
        rng = np.random.default_rng([int(seed), k])
        cells = _place_operator(rng, n_op, grid, dens, land, dem, zone, pop,
                                float(density_exponent), float(min_spacing_m))
        d_site = np.array([dens[r, c] for r, c in cells])
        urban = d_site >= URBAN_DENSITY_KM2
        rural = d_site < RURAL_DENSITY_KM2
        n_dense = int(np.ceil(mmwave_share * urban.sum()))
        dense = np.zeros(len(cells), dtype=bool)
        if n_dense:
            dense[np.argsort(-np.where(urban, d_site, -np.inf), kind="stable")[:n_dense]] = True
        jitter = rng.uniform(0.2, 0.8, (len(cells), 2))  # a point inside the site's cell
        rc = np.asarray(cells, dtype=np.float64).reshape(-1, 2)
        lons, lats = loaders.xy_to_lonlat(grid.x0_m + (rc[:, 1] + jitter[:, 0]) * res,
                                          grid.y0_m - (rc[:, 0] + jitter[:, 1]) * res, grid.crs)
        for s in range(len(cells)):
            lon, lat = np.atleast_1d(lons)[s:s + 1], np.atleast_1d(lats)[s:s + 1]
            if urban[s]:
                height, tilt = rng.uniform(25.0, 35.0), rng.uniform(4.0, 8.0)
            else:
                height, tilt = rng.uniform(30.0, 40.0), rng.uniform(2.0, 4.0)
            offset = rng.uniform(0.0, 120.0)
            site_id = f"{op}-S{s + 1:0{width}d}"
            for b in bands:
                band = BANDS[b]
                if (band.where == "rural" and not rural[s]) or (band.where == "dense"
                                                                and not dense[s]):
                    continue
                freq, bw = carriers[b][k]
                for j in range(3):
                    rows.append({
                        "station_id": f"{site_id}-{j + 1}-{band.name.upper()}",
                        "site_id": site_id, "operator": op,
                        "lon": round(float(lon[0]), 7), "lat": round(float(lat[0]), 7),
                        "height_m": round(float(height), 1), "freq_mhz": freq,
                        "eirp_dbm": round(float(rng.uniform(*band.eirp_dbm)), 1),
                        "azimuth_deg": round(float((offset + 120.0 * j) % 360.0), 1),
                        "tilt_deg": round(float(tilt), 1), "beamwidth_deg": 65.0,
                        "tech": band.tech, "bandwidth_mhz": bw, "scs_khz": band.scs_khz,
                        "synthetic": True})
    df = pd.DataFrame(rows, columns=[*STATION_COLUMNS, "synthetic"])
    return df.sort_values("station_id", kind="stable").reset_index(drop=True)


def site_inputs(scenario, **inputs) -> tuple[Grid, np.ndarray, np.ndarray, np.ndarray]:
    """The grid, population, terrain and township raster of a scenario, as
    :func:`covkit.data.inputs.load_land` reads them, without its stations (for generating
    them): ``(grid, population, dem_m, zone)``. ``inputs``: in-memory ``dem``, ``population``
    or ``townships`` in place of the scenario's files."""
    land = load_land(scenario, **inputs)
    return land.grid, land.population, land.terrain.dem_m, land.townships.zone
