"""Synthetic measured data from a known truth (``covkit scenario measurements``).

There is no public drive-test set for the scenarios covkit ships, so tests of verification,
challenges and calibration generate measurements whose errors are known exactly:

``measured = predicted + offset[class] + slope * log10(max(d, 10 m) / 1 km) + shadowing +
noise``, reported at a GPS-shifted place.

* ``predicted``: the exact point-to-point best-server RSRP of the operator at the true position
  (:func:`covkit.coverage.points.point_rsrp`), the same function verification uses;
* ``offset[class]``: a known offset [dB] per terrain class of the true position
  (:func:`covkit.data.measurements.terrain_class`: ``sea``, ``flat``, ``hilly``, ``mountain``;
  ``all`` sets every class); verification then reports ``mean_error_db`` = -offset;
* ``shadowing``: log-normal (Gaussian in dB) with standard deviation ``sigma_db`` and the
  exponential spatial autocorrelation of Gudmundson (1991), ``R(d) = exp(-d / d_corr)``,
  independent per operator. It is sampled exactly: along each route by the AR(1) recursion
  ``s_k = rho s_(k-1) + sqrt(1 - rho^2) sigma e_k`` with ``rho = exp(-step / d_corr)`` over the
  distance travelled (equally spaced points), and at the random points by the Cholesky factor of
  their covariance matrix ``sigma^2 exp(-d_ij / d_corr)``. Routes and the random points are
  sampled independently of each other (a route crossing another is not correlated with it);
* ``noise``: independent Gaussian measurement noise [dB], standard deviation ``noise_db``;
* a distance trend (optional, for testing calibration): ``distance_slope_db_per_decade *
  log10(max(d, 10 m) / 1 km)`` added, ``d`` the distance from the serving site of the exact
  prediction (:func:`covkit.coverage.calibration.distance_term`, the term a calibration fits);
* GPS error: the reported position is the true one plus independent Gaussian errors of
  standard deviation ``gps_error_m`` in x and in y [m]; the truth is at the true position.

Places: there is no road layer, so the "roads" are ``n_routes`` random polylines (four
vertices on random land cells each) across the scenario's land, sampled at equal steps
(``n_route`` places over all routes, driven at 10 m/s); plus ``n_random`` places uniformly
over land cells (finite DEM, not sea, inside a township). Every place is measured for every
operator (a scanner). Places on the sea, and places an operator does not reach, are left out.
The random draws come from one ``numpy.random.SeedSequence(seed)`` split into independent
streams (places, shadowing, noise, GPS), so changing a magnitude keeps the places.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from covkit.coverage.calibration import distance_term
from covkit.coverage.points import point_rsrp
from covkit.data import loaders
from covkit.data.measurements import CLASS_NAMES, terrain_class
from covkit.errors import CovkitInputError
from covkit.outputs import atomic_path, write_csv, write_gpkg, write_json

ROUTE_SPEED_M_S = 10.0
"""Driving speed of the synthetic routes [m/s] (timestamps)."""

START_TIME = dt.datetime(2026, 3, 2, 8, 0, 0, tzinfo=dt.UTC)
"""Time of the first test (routes one day after another; random tests over the week after)."""

ROUTE_VERTICES = 4
"""Vertices of each synthetic route."""

FILE_COLUMNS = ("point_id", "lon", "lat", "timestamp", "operator", "rsrp_dbm", "technology",
                "cell_id", "pci", "kind", "route_id")
"""Columns of the written measurements file."""

TRUTH_COLUMNS = ("x_true_m", "y_true_m", "terrain_class", "truth_predicted_dbm",
                 "truth_offset_db", "truth_shadow_db", "truth_noise_db", "truth_distance_db")
"""Per-point truth, in :attr:`SyntheticMeasurements.table` (and the file with
``include_truth``)."""


def offsets_from_text(items) -> dict[str, float]:
    """``["flat=4", "mountain=-2"]`` (or ``all=4``) -> ``{"flat": 4.0, "mountain": -2.0}``.

    Raises
    ------
    CovkitInputError
        An item without ``=``, an unknown class (the message lists them) or a value that is
        not a number.
    """
    out: dict[str, float] = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        name = name.strip()
        if not sep or name not in (*CLASS_NAMES, "all"):
            raise CovkitInputError(f"offset {item!r}: expected CLASS=DB with CLASS one of "
                                   f"{', '.join((*CLASS_NAMES, 'all'))}")
        try:
            out[name] = float(value)
        except ValueError:
            raise CovkitInputError(f"offset {item!r}: {value!r} is not a number") from None
    return out


def _class_offsets(offsets_db: dict | float | None) -> dict[str, float]:
    if offsets_db is None:
        return dict.fromkeys(CLASS_NAMES, 0.0)
    if isinstance(offsets_db, int | float):
        return dict.fromkeys(CLASS_NAMES, float(offsets_db))
    unknown = [k for k in offsets_db if k not in (*CLASS_NAMES, "all")]
    if unknown:
        raise CovkitInputError(f"offset class {unknown[0]!r} is not one of "
                               f"{', '.join((*CLASS_NAMES, 'all'))}")
    base = float(offsets_db.get("all", 0.0))
    return {c: float(offsets_db.get(c, base)) for c in CLASS_NAMES}


def _land_cells(inputs) -> np.ndarray:
    dem = inputs.dem_m
    land = np.isfinite(dem) & (inputs.townships.zone >= 0)
    if inputs.terrain is not None:
        land &= ~inputs.terrain.sea
    else:
        land &= dem > 0.0
    cells = np.flatnonzero(land)
    if cells.size == 0:
        raise CovkitInputError("the scenario has no land cell (finite DEM, not sea, inside a "
                               "township) to place synthetic measurements on")
    return cells


def _random_in_cells(inputs, cells, n, rng) -> tuple[np.ndarray, np.ndarray]:
    g = inputs.grid
    pick = cells[rng.integers(0, cells.size, n)]
    r, c = np.divmod(pick, g.width)
    x = g.x0_m + (c + rng.random(n)) * g.resolution_m
    y = g.y0_m - (r + rng.random(n)) * g.resolution_m
    return x, y


def _routes(inputs, cells, n_routes, n_route, rng):
    """Equally spaced places along random polylines: x, y, route id, step [m], vertices."""
    verts = [np.column_stack(_random_in_cells(inputs, cells, ROUTE_VERTICES, rng))
             for _ in range(n_routes)]
    lengths = np.array([np.hypot(*np.diff(v, axis=0).T).sum() for v in verts])
    total = float(lengths.sum())
    step = total / max(n_route, 1)
    xs, ys, ids, along = [], [], [], []
    for k, v in enumerate(verts):
        seg = np.hypot(*np.diff(v, axis=0).T)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        s = np.arange(0.0, cum[-1], step) if step > 0 else np.zeros(0)
        xs.append(np.interp(s, cum, v[:, 0]))
        ys.append(np.interp(s, cum, v[:, 1]))
        ids.append(np.full(s.size, k + 1))
        along.append(s)
    return (np.concatenate(xs), np.concatenate(ys), np.concatenate(ids),
            np.concatenate(along), step, verts)


def ar1_shadowing(n_steps_per_route, step_m, sigma_db, decorrelation_m, rng) -> np.ndarray:
    """Gudmundson shadowing [dB] at equally spaced points along routes: the AR(1) recursion
    ``s_k = rho s_(k-1) + sqrt(1 - rho^2) sigma e_k``, ``rho = exp(-step / d_corr)``, started
    from the stationary law (``s_0 = sigma e_0``); one independent sequence per route."""
    out = []
    rho = float(np.exp(-step_m / decorrelation_m)) if decorrelation_m > 0 else 0.0
    for n in n_steps_per_route:
        e = rng.standard_normal(int(n))
        s = np.empty(int(n))
        for k in range(int(n)):
            s[k] = sigma_db * e[k] if k == 0 else \
                rho * s[k - 1] + np.sqrt(1.0 - rho * rho) * sigma_db * e[k]
        out.append(s)
    return np.concatenate(out) if out else np.zeros(0)


def cholesky_shadowing(x_m, y_m, sigma_db, decorrelation_m, rng) -> np.ndarray:
    """Gudmundson shadowing [dB] at arbitrary points: ``L e`` with ``L`` the Cholesky factor
    of ``sigma^2 exp(-d_ij / d_corr)`` (a 1e-10 relative jitter on the diagonal)."""
    n = np.size(x_m)
    e = rng.standard_normal(n)
    if n == 0 or sigma_db == 0.0:
        return np.zeros(n)
    if decorrelation_m <= 0:
        return sigma_db * e
    d = np.hypot(np.subtract.outer(x_m, x_m), np.subtract.outer(y_m, y_m))
    cov = sigma_db ** 2 * np.exp(-d / decorrelation_m)
    cov[np.diag_indices(n)] *= 1.0 + 1e-10
    return np.linalg.cholesky(cov) @ e


@dataclass
class SyntheticMeasurements:
    """Generated measurements and their truth.

    ``table``: GeoDataFrame (working CRS, geometry at the reported place) with
    :data:`FILE_COLUMNS` and :data:`TRUTH_COLUMNS`; ``truth``: the generator's parameters
    (seed, offsets, sigma, decorrelation, noise, GPS error, routes) as written beside the file.
    """

    table: gpd.GeoDataFrame
    truth: dict

    def write(self, path: Path | str, *, include_truth: bool = False) -> tuple[Path, Path]:
        """Write the measurements (``.csv``, ``.parquet`` GeoParquet or ``.gpkg``, by suffix)
        and the truth JSON beside it (``NAME.truth.json``), each atomically; returns both
        paths. ``include_truth`` also writes the per-point truth columns."""
        path = Path(path)
        cols = list(FILE_COLUMNS) + (list(TRUTH_COLUMNS) if include_truth else [])
        suffix = path.suffix.lower()
        if suffix == ".csv":
            write_csv(path, pd.DataFrame(self.table[cols]))
        elif suffix in (".parquet", ".gpkg"):
            gdf = self.table[cols + [self.table.geometry.name]].to_crs("EPSG:4326")
            if suffix == ".gpkg":
                write_gpkg(path, gdf, layer="measurements")
            else:
                with atomic_path(path) as tmp:
                    gdf.to_parquet(tmp, index=False)
        else:
            raise CovkitInputError(f"measurements file type {path.suffix!r}: use .csv, "
                                   ".parquet or .gpkg", file=path)
        truth_path = path.with_name(path.stem + ".truth.json")
        write_json(truth_path, {**self.truth, "file": path.name})
        return path, truth_path


def synthetic_measurements(inputs, *, seed: int = 0, n_route: int = 300, n_random: int = 200,
                           n_routes: int = 3, offsets_db: dict | float | None = None,
                           sigma_db: float = 0.0, decorrelation_m: float = 50.0,
                           noise_db: float = 0.0, gps_error_m: float = 0.0,
                           operators=None, distance_slope_db_per_decade: float = 0.0,
                           ) -> SyntheticMeasurements:
    """Measurements generated from a known truth (see the module docstring).

    Parameters
    ----------
    inputs : covkit.data.inputs.Inputs
    seed : int
    n_route, n_random : int
        Places along the routes (over all routes) and at random, before those on the sea or
        out of reach are left out; each is measured for every operator.
    n_routes : int
        Number of random polylines.
    offsets_db : dict of class -> dB, or float
        Known offset of the measurement over the prediction per terrain class (``all`` for
        every class; a float: the same for all) [dB].
    sigma_db : float
        Shadowing standard deviation [dB].
    decorrelation_m : float
        Gudmundson decorrelation distance [m] (the distance at which the correlation is 1/e).
    noise_db : float
        Measurement noise standard deviation [dB].
    gps_error_m : float
        GPS error standard deviation per axis [m].
    operators : list of str, optional
        Default: every operator of the stations table.
    distance_slope_db_per_decade : float
        Known distance trend of the measurement over the prediction [dB per decade of the
        distance from the serving site, 0 at 1 km] (default 0: none).
    """
    for name, v in (("n_route", n_route), ("n_random", n_random), ("n_routes", n_routes)):
        if int(v) < 0:
            raise CovkitInputError(f"{name} must be >= 0, got {v}")
    for name, v in (("sigma_db", sigma_db), ("decorrelation_m", decorrelation_m),
                    ("noise_db", noise_db), ("gps_error_m", gps_error_m)):
        if not np.isfinite(v) or v < 0:
            raise CovkitInputError(f"{name} must be a number >= 0, got {v}")
    if not np.isfinite(distance_slope_db_per_decade):
        raise CovkitInputError("distance_slope_db_per_decade must be a number, got "
                               f"{distance_slope_db_per_decade}")
    if n_route > 0 and n_routes == 0:
        raise CovkitInputError("n_route > 0 needs n_routes >= 1")
    known = inputs.stations.operators
    ops = list(known if operators is None else operators)
    for o in ops:
        if o not in known:
            raise CovkitInputError(f"unknown operator {o!r} (the stations table has "
                                   f"{', '.join(known)})")
    offsets = _class_offsets(offsets_db)
    g_place, g_shadow, g_noise, g_gps = (np.random.default_rng(s)
                                         for s in np.random.SeedSequence(int(seed)).spawn(4))
    cells = _land_cells(inputs)
    crs = inputs.grid.crs
    rx, ry, rid, along, step, verts = _routes(inputs, cells, int(n_routes), int(n_route),
                                              g_place)
    qx, qy = _random_in_cells(inputs, cells, int(n_random), g_place)
    n_r = rx.size
    # the true places as the reader will see them (lon / lat and back)
    lon0, lat0 = loaders.xy_to_lonlat(np.concatenate([rx, qx]), np.concatenate([ry, qy]), crs)
    x0, y0 = loaders.lonlat_to_xy(lon0, lat0, crs)
    kind = np.array(["route"] * n_r + ["random"] * qx.size, dtype=object)
    route_id = np.concatenate([rid, np.zeros(qx.size, dtype=np.int64)])
    seconds = np.concatenate([along / ROUTE_SPEED_M_S + (rid - 1) * 86400.0,
                              7 * 86400.0 * g_place.random(qx.size)])
    cls, _ = terrain_class(inputs.dem_m, inputs.grid, x0, y0,
                           sea=None if inputs.terrain is None else inputs.terrain.sea)
    per_route = [int((rid == k + 1).sum()) for k in range(int(n_routes))]
    frames = []
    for op in ops:
        shadow = np.concatenate([
            ar1_shadowing(per_route, step, sigma_db, decorrelation_m, g_shadow),
            cholesky_shadowing(qx, qy, sigma_db, decorrelation_m, g_shadow)])
        noise = noise_db * g_noise.standard_normal(x0.size)
        if gps_error_m > 0:
            ex, ey = gps_error_m * g_gps.standard_normal((2, x0.size))
            lon, lat = loaders.xy_to_lonlat(x0 + ex, y0 + ey, crs)
        else:
            lon, lat = lon0, lat0
        pred = point_rsrp(inputs, x0, y0, op)
        off = np.array([offsets[c] for c in cls])
        trend = float(distance_slope_db_per_decade) * distance_term(pred["distance_m"])
        frames.append(pd.DataFrame({
            "lon": lon, "lat": lat, "seconds": seconds, "operator": op,
            "rsrp_dbm": pred["rsrp_point_dbm"].to_numpy() + off + trend + shadow + noise,
            "technology": pred["tech"].to_numpy(), "cell_id": pred["station_id"].to_numpy(),
            "pci": np.where(pred["server_row"] >= 0, pred["server_row"] % 1008, -1),
            "kind": kind, "route_id": route_id, "x_true_m": x0, "y_true_m": y0,
            "terrain_class": cls, "truth_predicted_dbm": pred["rsrp_point_dbm"].to_numpy(),
            "truth_offset_db": off, "truth_shadow_db": shadow, "truth_noise_db": noise,
            "truth_distance_db": trend}))
    table = pd.concat(frames, ignore_index=True)
    table = table[np.isfinite(table["truth_predicted_dbm"]) & (table["terrain_class"] != "sea")]
    table = table.sort_values(["seconds", "operator"], kind="stable").reset_index(drop=True)
    table.insert(0, "point_id", [f"M{i + 1}" for i in range(len(table))])
    stamps = START_TIME + pd.to_timedelta(table.pop("seconds"), unit="s")
    table.insert(3, "timestamp", stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    table["pci"] = table["pci"].astype(np.int64)
    x, y = loaders.lonlat_to_xy(table["lon"].to_numpy(), table["lat"].to_numpy(), crs)
    gdf = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(x, y), crs=crs)
    vlon = [loaders.xy_to_lonlat(v[:, 0], v[:, 1], crs) for v in verts]
    truth = {
        "synthetic": True,
        "generator": "covkit.coverage.fieldsim.synthetic_measurements",
        "scenario": inputs.scenario.scenario.name,
        "scenario_file": None if inputs.scenario.path is None else str(inputs.scenario.path),
        "seed": int(seed), "n_route": int(n_route), "n_random": int(n_random),
        "n_routes": int(n_routes), "operators": ops,
        "offsets_db": offsets, "sigma_db": float(sigma_db),
        "decorrelation_m": float(decorrelation_m), "noise_db": float(noise_db),
        "gps_error_m": float(gps_error_m), "route_step_m": float(step),
        "distance_slope_db_per_decade": float(distance_slope_db_per_decade),
        "shadowing": "Gudmundson exponential autocorrelation exp(-d / decorrelation_m), "
                     "independent per operator; AR(1) along each route (by distance "
                     "travelled), Cholesky at the random points; routes and random points "
                     "independent of each other",
        "terrain_classes": "sea: DEM below 0 m at the cell; else by the DEM relief (max - min) "
                           "within 500 m: < 30 m flat, < 150 m hilly, else mountain",
        "sign": "measured = predicted + offset + slope * log10(max(d, 10 m) / 1 km) + "
                "shadow + noise; verify reports "
                "predicted - measured, so mean_error_db is about -offset",
        "routes_lonlat": [np.column_stack(v).tolist() for v in vlon],
        "n_rows": int(len(gdf)),
        "n_rows_by_class": {c: int((gdf["terrain_class"] == c).sum()) for c in CLASS_NAMES},
    }
    return SyntheticMeasurements(gdf, truth)
