"""Measured test points (drive, walk or crowd tests): read, validate, put on the analysis grid.

A measurements table is a CSV, GeoParquet or GeoPackage with one row per test point:

=================  ========  ==================================================================
column             unit      meaning
=================  ========  ==================================================================
``lon``, ``lat``   deg       WGS 84 position (or a point geometry in a vector file)
``timestamp``      -         ISO 8601 time of the test; without a time zone it is taken as UTC
``operator``       -         operator measured; must be one of the stations table's operators
``rsrp_dbm``       dBm       measured RSRP of the serving cell (optional, see below)
``sinr_db``        dB        measured SINR (optional)
``dl_mbps``        Mbit/s    measured downlink speed (optional)
``ul_mbps``        Mbit/s    measured uplink speed (optional)
``technology``     -         e.g. 4G / 5G (optional, text)
``cell_id``        -         serving cell id (optional, text)
``pci``            -         physical cell id, 0-1007 (optional)
``point_id``       -         id of the test (optional; default 1, 2, ... in file order)
=================  ========  ==================================================================

At least one of ``rsrp_dbm``, ``sinr_db``, ``dl_mbps``, ``ul_mbps`` must be present; empty
cells of these columns are allowed (a test that did not measure it). Other columns are kept.
Every malformed value raises :class:`~covkit.errors.CovkitInputError` naming the file, the
column and the 1-based data row. Points off the analysis grid or on cells without terrain are
dropped with a warning that counts them (:func:`covkit.data.loaders.warn`).

The terrain class of a point (:func:`terrain_class`) is what verification groups errors by and
what synthetic measurements plant offsets by: the local relief of the propagation DEM.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.ndimage import maximum_filter, minimum_filter

from covkit.data import loaders
from covkit.data.grid import Grid
from covkit.errors import CovkitInputError

MEASURED_COLUMNS = ("rsrp_dbm", "sinr_db", "dl_mbps", "ul_mbps")
"""The measured quantities; a table needs at least one of them."""

MEASURED_RANGES = {"rsrp_dbm": (-200.0, 0.0, "RSRP [dBm]"), "sinr_db": (-50.0, 60.0, "SINR [dB]"),
                   "dl_mbps": (0.0, 1.0e5, "downlink speed [Mbit/s]"),
                   "ul_mbps": (0.0, 1.0e5, "uplink speed [Mbit/s]")}
"""Plausible range of each measured quantity (values beyond are refused as typos)."""

PCI_MAX = 1007
"""Largest NR physical cell id (3GPP TS 38.211 section 7.4.2.1: 1008 ids)."""

TEXT_COLUMNS = ("technology", "cell_id")

RELIEF_RADIUS_M = 500.0
"""Half width [m] of the square window whose DEM relief (max - min) classifies a point; at
least one grid cell."""

TERRAIN_CLASSES = (("flat", 30.0), ("hilly", 150.0), ("mountain", np.inf))
"""Terrain classes by local relief [m] (upper bound, exclusive): relief < 30 m flat, < 150 m
hilly, else mountain; points on sea cells (DEM below 0 m) are ``sea``."""

CLASS_NAMES = ("sea",) + tuple(name for name, _ in TERRAIN_CLASSES)


def relief_grid_m(dem_m: np.ndarray, grid: Grid, radius_m: float = RELIEF_RADIUS_M) -> np.ndarray:
    """Local relief [m] of every cell: max - min of the DEM over the square window of
    ``2k + 1`` cells around it, ``k = max(1, round(radius_m / resolution))``, clipped at the
    grid's edges; NaN cells are ignored (NaN where the whole window is NaN)."""
    k = max(1, int(round(radius_m / grid.resolution_m)))
    dem = np.asarray(dem_m, dtype=np.float64)
    finite = np.isfinite(dem)
    size = 2 * k + 1
    hi = maximum_filter(np.where(finite, dem, -np.inf), size=size, mode="constant",
                        cval=-np.inf)
    lo = minimum_filter(np.where(finite, dem, np.inf), size=size, mode="constant", cval=np.inf)
    with np.errstate(invalid="ignore"):
        out = hi - lo
    out[~np.isfinite(hi)] = np.nan
    return out


def terrain_class_grid(dem_m: np.ndarray, grid: Grid, sea: np.ndarray | None = None,
                       radius_m: float = RELIEF_RADIUS_M) -> tuple[np.ndarray, np.ndarray]:
    """Terrain class of every cell as an index into :data:`CLASS_NAMES` (int8) and its relief
    [m] (:func:`relief_grid_m`): ``sea`` where ``sea`` is True (default: DEM at or below
    0 m), else by relief (:data:`TERRAIN_CLASSES`; no relief = the last class). The one rule of
    verification, calibration and the calibrated engine."""
    rel = relief_grid_m(dem_m, grid, radius_m)
    code = np.full(rel.shape, len(TERRAIN_CLASSES), dtype=np.int8)
    for i, (_name, upper) in reversed(list(enumerate(TERRAIN_CLASSES, start=1))):
        code[rel < upper] = i
    on_sea = np.asarray(sea, dtype=bool) if sea is not None else ~(np.asarray(dem_m) > 0.0)
    code[on_sea] = 0
    return code, rel


def terrain_class(dem_m: np.ndarray, grid: Grid, x_m, y_m, sea: np.ndarray | None = None,
                  radius_m: float = RELIEF_RADIUS_M) -> tuple[np.ndarray, np.ndarray]:
    """Terrain class name of each point (the class of its cell, :func:`terrain_class_grid`)
    and its cell's relief [m]."""
    code, rel = terrain_class_grid(dem_m, grid, sea, radius_m)
    r, c = grid.index_of(x_m, y_m)
    r = np.clip(np.atleast_1d(r), 0, grid.height - 1)
    c = np.clip(np.atleast_1d(c), 0, grid.width - 1)
    names = np.array(CLASS_NAMES, dtype=object)[code[r, c]]
    return names, rel[r, c]


def _timestamps(df: pd.DataFrame, path) -> pd.Series:
    raw = df["timestamp"]
    text = raw.astype(str).str.strip()
    ts = pd.to_datetime(text.where(raw.notna(), None), utc=True, errors="coerce",
                        format="ISO8601")
    bad = ts.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "is missing" if pd.isna(raw.iloc[i]) or text.iloc[i] == "" else \
            f"{raw.iloc[i]!r} is not an ISO 8601 time (e.g. 2026-03-01T08:15:00Z)"
        raise CovkitInputError(f"timestamp {what}", file=path, column="timestamp", row=i + 1)
    return ts


def _operators(df: pd.DataFrame, path, operators) -> np.ndarray:
    raw = df["operator"]
    ops = raw.astype(str).str.strip().to_numpy(dtype=object)
    known = sorted(str(o) for o in operators)
    for i, (v, o) in enumerate(zip(raw.isna().to_numpy(), ops, strict=True)):
        if v or o == "":
            raise CovkitInputError("operator is empty", file=path, column="operator", row=i + 1)
        if o not in known:
            raise CovkitInputError(f"unknown operator {o!r} (the stations table has "
                                   f"{', '.join(known)})", file=path, column="operator",
                                   row=i + 1)
    return ops


def read_measurements(src, grid: Grid, operators, *, dem_m: np.ndarray | None = None,
                      ) -> gpd.GeoDataFrame:
    """Read and validate a measurements table (see the module docstring).

    Parameters
    ----------
    src : path or DataFrame / GeoDataFrame
        CSV, GeoParquet (.parquet) or GeoPackage (.gpkg) of test points.
    grid : Grid
        The analysis grid; points outside it are dropped with a warning.
    operators : iterable of str
        The stations table's operators (an unknown operator is an error).
    dem_m : 2-D array, optional
        Propagation terrain on the grid: points on cells without terrain (NaN) are dropped too.

    Returns
    -------
    GeoDataFrame
        One row per kept point, in file order: ``point_id`` (text), ``file_row`` (1-based data
        row), ``lon``, ``lat`` [deg], ``x_m``, ``y_m`` [m, working CRS], ``row``, ``col``
        (grid cell), ``timestamp`` (UTC, datetime64), ``operator``, the measured columns present
        (float64, NaN = not measured), ``technology`` / ``cell_id`` (text) and ``pci`` (Int64)
        when present, any other column of the file, and point geometry in the working CRS.
        ``attrs``: ``source`` (file name), ``n_read``, ``n_dropped`` (off the grid or without
        terrain).

    Raises
    ------
    CovkitInputError
        A missing column, a value that is not a number or out of range, lon / lat out of
        range, an unknown or empty operator, a missing or unparseable timestamp, a duplicate
        point id, or no measured quantity at all (file, column and row named).
    """
    path = loaders.source_name(src, "measurements")
    df = loaders.read_table(src, "measurements").reset_index(drop=True)
    if len(df) == 0:
        raise CovkitInputError("measurements file has no rows", file=path)
    has_geometry = isinstance(df, gpd.GeoDataFrame) and not (
        "lon" in df.columns and "lat" in df.columns)
    loaders.require_columns(df, (() if has_geometry else ("lon", "lat")) +
                            ("timestamp", "operator"), path, "measurements")
    present = [c for c in MEASURED_COLUMNS if c in df.columns]
    if not present:
        raise CovkitInputError(
            f"measurements table has none of the measured columns {', '.join(MEASURED_COLUMNS)}"
            f" (found: {', '.join(map(str, df.columns))})", file=path, column="rsrp_dbm")
    x, y = loaders.point_coordinates(df, path, grid.crs, "measurements")
    if has_geometry:
        lon, lat = loaders.xy_to_lonlat(x, y, grid.crs)
    else:
        lon = df["lon"].to_numpy(dtype=np.float64)
        lat = df["lat"].to_numpy(dtype=np.float64)
    ts = _timestamps(df, path)
    ops = _operators(df, path, operators)
    if "point_id" in df.columns:
        ids = loaders.unique_ids(df, "point_id", path)
    else:
        ids = np.array([str(i + 1) for i in range(len(df))], dtype=object)
    out = pd.DataFrame({"point_id": ids, "file_row": np.arange(1, len(df) + 1),
                        "lon": lon, "lat": lat, "x_m": x, "y_m": y})
    r, c = grid.index_of(x, y)
    out["row"], out["col"] = r, c
    out["timestamp"] = ts.to_numpy()
    out["operator"] = ops
    for col in present:
        lo, hi, what = MEASURED_RANGES[col]
        out[col] = loaders.numeric_column(df, col, path, allow_nan=True, lo=lo, hi=hi,
                                          what=what)
    for col in TEXT_COLUMNS:
        if col in df.columns:
            out[col] = df[col].astype("string").str.strip().to_numpy(dtype=object)
    if "pci" in df.columns:
        pci = loaders.numeric_column(df, "pci", path, allow_nan=True, lo=0.0, hi=PCI_MAX,
                                     what="PCI")
        frac = np.isfinite(pci) & (pci != np.round(pci))
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise CovkitInputError(f"PCI {pci[i]:g} is not a whole number", file=path,
                                   column="pci", row=i + 1)
        out["pci"] = pd.array(np.where(np.isfinite(pci), pci, np.nan)).astype("Int64")
    skip = set(out.columns) | {"geometry", "lon", "lat", "timestamp"}
    for col in df.columns:
        if col not in skip:
            out[col] = df[col].to_numpy()
    keep = grid.contains(x, y) & (r >= 0) & (r < grid.height) & (c >= 0) & (c < grid.width)
    if dem_m is not None:
        rr = np.clip(r, 0, grid.height - 1)
        cc = np.clip(c, 0, grid.width - 1)
        keep &= np.isfinite(dem_m[rr, cc])
    n_drop = int((~keep).sum())
    if n_drop:
        first = int(np.flatnonzero(~keep)[0]) + 1
        loaders.warn(f"{n_drop} of {len(out)} measurement points lie off the analysis grid or "
                     f"on cells without terrain and are dropped (first: row {first} of {path})")
    out = out[keep].reset_index(drop=True)
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["x_m"], out["y_m"]),
                           crs=grid.crs)
    gdf.attrs.update({"source": str(path), "n_read": int(len(df)), "n_dropped": n_drop})
    return gdf
