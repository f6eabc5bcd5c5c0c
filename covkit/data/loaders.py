"""Loaders: read real input formats, validate them, and normalise them onto the analysis grid.

Every malformed input raises :class:`~covkit.errors.CovkitInputError` naming the file, the
column and the 1-based data row (the header is not counted; in a CSV, data row N is line N + 1).
"""

from __future__ import annotations

import math
import os
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import rasterio
import rioxarray  # noqa: F401 - registers the .rio accessor of in-memory rasters
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.features import rasterize
from rasterio.io import MemoryFile
from rasterio.warp import Resampling, reproject, transform_bounds

from covkit.data import remote as remote_rule
from covkit.data.fractions import (
    Spread,
    ZoneParts,
    cell_fractions,
    spread_values,
    zone_parts_from_fractions,
    zone_parts_from_raster,
    zone_parts_from_spread,
)
from covkit.data.grid import Grid
from covkit.data.names import display_names
from covkit.errors import CovkitInputError
from covkit.propagation.antenna import MsiPattern, read_msi

VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".topojson", ".shp", ".fgb", ".parquet",
                   ".geoparquet"}
TABLE_SUFFIXES = {".csv", ".txt"}

# Defaults of optional station columns by technology (3GPP TS 38.101-1 / 36.101 carriers).
DEFAULT_BANDWIDTH_MHZ = {"5G": 100.0, "4G": 20.0}
DEFAULT_SCS_KHZ = {"5G": 30.0, "4G": 15.0}
DEFAULT_BEAMWIDTH_DEG = 65.0
STATION_REQUIRED = ("station_id", "operator", "lon", "lat", "height_m", "freq_mhz", "eirp_dbm")
STATION_OPTIONAL = ("site_id", "azimuth_deg", "tilt_deg", "beamwidth_deg", "tech",
                    "bandwidth_mhz", "scs_khz", "antenna_file", "synthetic")
ANTENNA_FILE_SUFFIXES = (".msi", ".pln", ".txt")
"""Suffixes of MSI / Planet antenna pattern files (stations column ``antenna_file``)."""

# Taiwan's telecom universal-service rule: a township is remote when its population density
# is below this share of the national average density.
REMOTE_DENSITY_RATIO = 0.2


# ----------------------------------------------------------------------------------------------
# generic readers


def _check_exists(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        if path.is_symlink():
            raise CovkitInputError(f"{what} path is a broken symbolic link or a symbolic-link "
                                   "loop", file=path)
        raise CovkitInputError(f"{what} file does not exist", file=path)
    if not path.is_file():
        raise CovkitInputError(f"{what} path is not a file", file=path)
    return path


def is_in_memory(src) -> bool:
    """Whether an input is an in-memory object (DataFrame, GeoDataFrame, xarray.DataArray or an
    ``(array, transform, crs)`` tuple) rather than a file path."""
    return not isinstance(src, str | Path)


def source_name(src, what: str) -> Path | str:
    """What error messages call an input: its path, or ``<in-memory stations DataFrame>``."""
    if not is_in_memory(src):
        return Path(src)
    kind = "(array, transform, crs)" if isinstance(src, tuple) else type(src).__name__
    return f"<in-memory {what} {kind}>"


def read_table(path, what: str):
    """Read a CSV, GeoPackage, GeoJSON/TopoJSON, Shapefile or (Geo)Parquet into a DataFrame.

    Vector files come back as GeoDataFrames. GeoJSON/TopoJSON without a declared CRS are
    WGS 84 by specification; other vector files without a CRS are refused. A DataFrame or
    GeoDataFrame given instead of a path is returned as a copy (a GeoDataFrame needs a CRS).
    """
    if isinstance(path, pd.DataFrame):
        if hasattr(path, "geometry") and getattr(path, "crs", None) is None and len(path):
            raise CovkitInputError(f"{what} GeoDataFrame has no CRS; set one with "
                                   ".set_crs(...)", file=source_name(path, what))
        return path.copy()
    if is_in_memory(path):
        raise CovkitInputError(f"{what} must be a file path, a DataFrame or a GeoDataFrame, "
                               f"got {type(path).__name__}")
    path = _check_exists(path, what)
    suffix = path.suffix.lower()
    try:
        if suffix in TABLE_SUFFIXES:
            return pd.read_csv(path, skipinitialspace=True)
        if suffix in (".parquet", ".geoparquet"):
            meta = pq.read_schema(path).metadata or {}
            if b"geo" in meta:
                return gpd.read_parquet(path)
            return pd.read_parquet(path)
        if suffix in VECTOR_SUFFIXES:
            kwargs = {}
            if suffix in (".json", ".topojson"):
                kwargs = _topojson_layer(path, what)
            gdf = gpd.read_file(path, **kwargs)
            if gdf.crs is None:
                if suffix in (".geojson", ".json", ".topojson"):
                    gdf = gdf.set_crs("EPSG:4326")
                elif len(gdf):
                    raise CovkitInputError(f"{what} file has no CRS; add one (e.g. a .prj)",
                                           file=path)
            return gdf
    except CovkitInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear error
        raise CovkitInputError(f"cannot read {what} file: {exc}", file=path) from None
    raise CovkitInputError(
        f"unsupported {what} file type '{suffix}' (use .csv, .gpkg, .geojson, .parquet)",
        file=path,
    )


def _topojson_layer(path: Path, what: str) -> dict:
    """For TopoJSON files with several objects pick the layer named after the input kind;
    with none of those names it is an error listing the layers (never the first silently)."""
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception:  # noqa: BLE001
        return {}
    if len(layers) <= 1:
        return {}
    names = {"townships": ("towns", "townships"), "trails": ("trails",),
             "population": ("population",)}.get(what, ())
    for cand in names:
        if cand in layers:
            return {"layer": cand}
    raise CovkitInputError(
        f"{what} file has several layers ({', '.join(layers)}) and none is named "
        f"{' or '.join(names) or what}: convert the layer wanted to its own file (e.g. "
        "ogr2ogr out.gpkg in.json LAYER), or build the scenario with `covkit scenario "
        "taiwan`, which takes a layer option", file=path)


def _require_columns(df: pd.DataFrame, columns, path: Path, what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CovkitInputError(
            f"{what} table is missing required column '{missing[0]}' "
            f"(required: {', '.join(columns)}; found: {', '.join(map(str, df.columns))})",
            file=path, column=missing[0],
        )


def _numeric(df: pd.DataFrame, col: str, path: Path, *, allow_nan: bool = False,
             lo: float | None = None, hi: float | None = None, lo_open: bool = False,
             what: str = "value") -> np.ndarray:
    raw = df[col]
    vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad_text = np.isnan(vals) & raw.notna().to_numpy() & (raw.astype(str).str.strip() != "")
    if bad_text.any():
        i = int(np.flatnonzero(bad_text)[0])
        raise CovkitInputError(f"{what} {raw.iloc[i]!r} is not a number", file=path, column=col,
                               row=i + 1)
    if not allow_nan:
        nan = ~np.isfinite(vals)
        if nan.any():
            i = int(np.flatnonzero(nan)[0])
            raise CovkitInputError(f"{what} is missing, NaN or infinite", file=path, column=col,
                                   row=i + 1)
    with np.errstate(invalid="ignore"):
        low = (vals <= lo) if (lo is not None and lo_open) else (
            vals < lo if lo is not None else np.zeros(len(vals), bool))
        high = vals > hi if hi is not None else np.zeros(len(vals), bool)
    bad = (low | high) & np.isfinite(vals)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rng = f"{'(' if lo_open else '['}{lo if lo is not None else '-inf'}, " \
              f"{hi if hi is not None else 'inf'}]"
        raise CovkitInputError(f"{what} {vals[i]:g} is out of range {rng}", file=path,
                               column=col, row=i + 1)
    return vals


def _unique_ids(df: pd.DataFrame, col: str, path: Path) -> np.ndarray:
    ids = df[col]
    if ids.isna().any():
        i = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise CovkitInputError("id is empty", file=path, column=col, row=i + 1)
    ids = ids.astype(str).str.strip()
    empty = (ids == "").to_numpy()
    if empty.any():
        raise CovkitInputError("id is empty", file=path, column=col,
                               row=int(np.flatnonzero(empty)[0]) + 1)
    check_unique(ids, path, col, "id")
    return ids.to_numpy(dtype=object)


def check_unique(values: pd.Series, path, column: str, label: str | None = None) -> None:
    """Refuse a repeated value of ``column``: "duplicate <label> <value> (first at row N)",
    naming the file, the column and the row of the repeat (rows 1-based; ``label`` defaults
    to the column name)."""
    dup = values.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((values == values.iloc[i]).to_numpy())[0])
        raise CovkitInputError(f"duplicate {label or column} {values.iloc[i]!r} (first at row "
                               f"{first + 1})", file=path, column=column, row=i + 1)


def _lonlat_to_xy(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def xy_to_lonlat(x: np.ndarray, y: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Working-CRS metres to WGS 84 degrees."""
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _point_coordinates(df, path: Path, crs: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """x, y [m] in the working CRS from lon/lat columns, or from point geometry."""
    if "lon" in df.columns and "lat" in df.columns:
        lon = _numeric(df, "lon", path, lo=-180.0, hi=180.0, what="longitude")
        lat = _numeric(df, "lat", path, lo=-90.0, hi=90.0, what="latitude")
        return _lonlat_to_xy(lon, lat, crs)
    geom = getattr(df, "geometry", None) if hasattr(df, "crs") else None
    if geom is None:
        _require_columns(df, ("lon", "lat"), path, what)
    empty = (geom.is_empty | geom.isna()).to_numpy()
    if empty.any():
        raise CovkitInputError("empty geometry", file=path, column="geometry",
                               row=int(np.flatnonzero(empty)[0]) + 1)
    not_point = (geom.geom_type != "Point").to_numpy()
    if not_point.any():
        i = int(np.flatnonzero(not_point)[0])
        raise CovkitInputError(f"{what} geometry must be a Point, got {geom.iloc[i].geom_type}",
                               file=path, column="geometry", row=i + 1)
    g = geom.to_crs(crs)
    return g.x.to_numpy(np.float64), g.y.to_numpy(np.float64)


# ----------------------------------------------------------------------------------------------
# DEM


RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".asc"}


def is_raster(src) -> bool:
    """Whether an input is a raster: a raster file, an xarray.DataArray or an
    ``(array, transform, crs)`` tuple."""
    if isinstance(src, tuple):
        return True
    if is_in_memory(src):
        return type(src).__name__ == "DataArray"
    return Path(src).suffix.lower() in RASTER_SUFFIXES


def _array_transform_crs(src, what: str):
    """(2-D array, Affine, CRS) of an in-memory raster; the nodata value or None."""
    name = source_name(src, what)
    if isinstance(src, tuple):
        if len(src) != 3:
            raise CovkitInputError(f"{what} tuple must be (array, transform, crs), got "
                                   f"{len(src)} items", file=name)
        array, transform, crs = src
        nodata = None
    else:
        da = src.squeeze()
        array, transform, crs, nodata = da.values, da.rio.transform(), da.rio.crs, \
            da.rio.nodata
    array = np.asarray(array)
    if array.ndim != 2:
        raise CovkitInputError(f"{what} raster must be 2-D, got shape {array.shape}", file=name)
    if not isinstance(transform, Affine):
        try:
            transform = Affine(*transform[:6]) if len(transform) >= 6 else \
                Affine.from_gdal(*transform)
        except TypeError:
            raise CovkitInputError(f"{what} transform must be an affine.Affine or 6 numbers",
                                   file=name) from None
    if crs is None:
        raise CovkitInputError(f"{what} raster has no CRS", file=name)
    return array, transform, crs, nodata


@contextmanager
def open_raster(src, what: str):
    """Open a raster input with rasterio: a file path, an xarray.DataArray with a CRS
    (rioxarray) or an ``(array, transform, crs)`` tuple (held in GDAL's memory file system).

    Raises
    ------
    CovkitInputError
        When the file does not exist, cannot be read or has no CRS (naming the input).
    """
    name = source_name(src, what)
    if is_in_memory(src):
        array, transform, crs, nodata = _array_transform_crs(src, what)
        if array.dtype.kind not in "biuf":
            raise CovkitInputError(f"{what} raster must be numeric, got {array.dtype}",
                                   file=name)
        array = array.astype(np.float64) if array.dtype.kind == "b" else array
        profile = {"driver": "GTiff", "height": array.shape[0], "width": array.shape[1],
                   "count": 1, "dtype": array.dtype.name, "crs": crs, "transform": transform,
                   "nodata": nodata}
        with MemoryFile() as mem:
            with mem.open(**profile) as ds:
                ds.write(array, 1)
            with mem.open() as ds:
                yield ds
        return
    path = _check_exists(src, what)
    try:
        ds = rasterio.open(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear error
        raise CovkitInputError(f"cannot read {what} raster: {exc}", file=path) from None
    with ds:
        if ds.crs is None:
            raise CovkitInputError(f"{what} raster has no CRS", file=path)
        yield ds


def read_raster_info(path, what: str):
    """Open a raster and return (crs, bounds); errors name the file."""
    with open_raster(path, what) as src:
        return src.crs, src.bounds


def check_geographic_bounds(crs, bounds, name, what: str) -> None:
    """Refuse a raster labelled with a geographic CRS whose bounds are no longitudes and
    latitudes (metre coordinates under an EPSG:4326 label, say)."""
    b = bounds
    if crs.is_geographic and not (-180.0 - 1e-6 <= b.left <= b.right <= 360.0 + 1e-6
                                  and -90.0 - 1e-6 <= b.bottom <= b.top <= 90.0 + 1e-6):
        raise CovkitInputError(
            f"{what} is labelled {crs} (degrees) but its bounds ({b.left:.6g}, {b.bottom:.6g}, "
            f"{b.right:.6g}, {b.top:.6g}) are not longitudes and latitudes: the CRS label is "
            "probably wrong (coordinates in metres?)", file=name)


def dem_sources(src) -> list:
    """The DEM input as a list of rasters, in mosaic order: one path or in-memory raster, or a
    list (or tuple of paths) of them."""
    if isinstance(src, list):
        return list(src)
    if isinstance(src, tuple) and src and all(isinstance(e, str | Path) for e in src):
        return list(src)
    return [src]


def _dem_extent(src, crs: str) -> tuple[float, float, float, float]:
    src_crs, b = read_raster_info(src, "DEM")
    name = source_name(src, "DEM")
    check_geographic_bounds(src_crs, b, name, "DEM")
    try:
        bounds = transform_bounds(src_crs, crs, *b, densify_pts=21)
    except Exception as exc:  # noqa: BLE001 - a failed reprojection becomes one error
        raise CovkitInputError(f"cannot reproject the DEM extent from {src_crs} to {crs}: "
                               f"{exc}", file=name) from None
    if not all(np.isfinite(bounds)):
        raise CovkitInputError(
            f"the DEM extent ({b.left:.6g}, {b.bottom:.6g}, {b.right:.6g}, {b.top:.6g}) "
            f"in {src_crs} does not map to finite coordinates in {crs}: check the DEM's "
            "CRS label", file=name)
    return bounds


def grid_for(crs: str, resolution_m: float, dem_path,
             bounds: tuple[float, float, float, float] | None = None) -> Grid:
    """The analysis grid: ``bounds`` if given, else the union of the DEMs' extents in the
    working CRS (``dem_path``: one raster or a list, see :func:`dem_sources`)."""
    if bounds is None:
        ext = np.array([_dem_extent(s, crs) for s in dem_sources(dem_path)])
        bounds = (ext[:, 0].min(), ext[:, 1].min(), ext[:, 2].max(), ext[:, 3].max())
    return Grid.from_bounds(crs, bounds, resolution_m)


@dataclass(frozen=True)
class DemMosaic:
    """The DEMs of a scenario on the analysis grid.

    ``elevation_m``: float32 [m AMSL] as the files give it (sea-floor depths negative), NaN
    where no DEM has data. ``resolution_m``: the coarsest DEM's post spacing [m] in the working
    CRS. ``files``: per DEM its name, post spacing [m] and the grid cells it filled.
    """

    elevation_m: np.ndarray
    resolution_m: float
    files: tuple[dict, ...]


def dem_post_spacing_m(transform: Affine, crs, shape: tuple[int, int], grid_crs: str) -> float:
    """Post spacing [m] of a raster in the working CRS: the square root of the area of its
    centre pixel once projected."""
    r, c = shape[0] // 2, shape[1] // 2
    pts = [transform @ (c, r), transform @ (c + 1, r), transform @ (c, r + 1)]
    tr = Transformer.from_crs(crs, grid_crs, always_xy=True)
    (x0, x1, x2), (y0, y1, y2) = tr.transform([p[0] for p in pts], [p[1] for p in pts])
    area = abs((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0))
    return float(np.sqrt(area)) if np.isfinite(area) else float("nan")


DEM_COARSE_FACTOR = 1.25
"""A DEM whose post spacing exceeds this multiple of the grid's cell size gets a warning."""


def length_text(m: float) -> str:
    """A length for messages: ``1.8 km`` from 1000 m up, else ``90 m``."""
    return f"{m / 1000.0:.2g} km" if m >= 1000.0 else f"{m:.3g} m"


def _dem_on_grid(src, grid: Grid) -> tuple[np.ndarray, float]:
    name = source_name(src, "DEM")
    with open_raster(src, "DEM") as ds:
        check_geographic_bounds(ds.crs, ds.bounds, name, "DEM")
        try:
            data = ds.read(1, masked=True).astype(np.float64).filled(np.nan)
        except Exception as exc:  # noqa: BLE001
            raise CovkitInputError(f"cannot read DEM raster: {exc}", file=name) from None
        data = _check_dem_values(data, name)
        try:
            out = np.full(grid.shape, np.nan, dtype=np.float64)
            reproject(data, out, src_transform=ds.transform, src_crs=ds.crs,
                      src_nodata=np.nan, dst_transform=grid.transform, dst_crs=grid.crs,
                      dst_nodata=np.nan, resampling=Resampling.bilinear)
        except Exception as exc:  # noqa: BLE001
            raise CovkitInputError(f"cannot read DEM raster: {exc}", file=name) from None
        spacing = dem_post_spacing_m(ds.transform, ds.crs, data.shape, grid.crs)
    return out, spacing


def load_dems(src, grid: Grid) -> DemMosaic:
    """Every DEM of a scenario mosaicked onto the grid in the order given: the first wins where
    DEMs overlap, later ones fill its gaps (nodata voids or beyond its extent).

    Each DEM is read and reprojected as :func:`load_dem` does, its errors naming its file. A DEM
    of a list that does not reach the grid gets a warning; an error when none does. A DEM
    coarser than the grid (post spacing above :data:`DEM_COARSE_FACTOR` cells) gets a warning
    with both figures.
    """
    sources = dem_sources(src)
    out = np.full(grid.shape, np.nan, dtype=np.float64)
    files = []
    spacings = []
    for s in sources:
        name = source_name(s, "DEM")
        vals, spacing = _dem_on_grid(s, grid)
        have = np.isfinite(vals)
        if not have.any():
            if len(sources) == 1:
                raise CovkitInputError("DEM does not overlap the analysis grid (all cells "
                                       "nodata)", file=name)
            warn(f"{name}: DEM does not overlap the analysis grid; it adds no terrain")
        fill = have & ~np.isfinite(out)
        out[fill] = vals[fill]
        files.append({"path": str(name), "resolution_m": spacing, "cells_filled": int(fill.sum())})
        if have.any():
            spacings.append(spacing)
            if spacing > DEM_COARSE_FACTOR * grid.resolution_m:
                warn(f"{name}: DEM resolution {length_text(spacing)} is coarser than the "
                     f"{grid.resolution_m:g} m grid: terrain between DEM posts is "
                     "interpolated; P.1812 profiles will miss hills smaller than that")
    if not np.isfinite(out).any():
        raise CovkitInputError("no DEM overlaps the analysis grid (all cells nodata)",
                               file=source_name(sources[0], "DEM"))
    top = float(np.nanmax(out))
    side_km = max(grid.width, grid.height) * grid.resolution_m / 1000.0
    if 0.0 < top < DEM_KM_SUSPECT_MAX and side_km >= DEM_KM_SUSPECT_SIDE_KM:
        wkm, hkm = grid.width * grid.resolution_m / 1e3, grid.height * grid.resolution_m / 1e3
        name = ", ".join(str(f["path"]) for f in files)
        warn(f"{name}: DEM heights are at most {top:.3g} over {wkm:,.1f} km x {hkm:,.1f} km; "
             "heights must be metres (are they kilometres?)")
    return DemMosaic(out.astype(np.float32), float(max(spacings)), tuple(files))


def load_dem(path, grid: Grid) -> np.ndarray:
    """Terrain elevation [m AMSL] on the grid, float32, NaN where unknown.

    Any GeoTIFF rasterio reads (or an in-memory raster, see :func:`open_raster`), in any CRS,
    or a list of them (mosaicked, :func:`load_dems`); nodata is honoured; bilinear resampling.
    Heights are the file's (sea-floor depths stay negative: :mod:`covkit.data.terrain` makes
    the propagation terrain).
    """
    return load_dems(path, grid).elevation_m


DEM_RANGE_M = (-11000.0, 9000.0)
"""Plausible DEM heights [m AMSL]: the Challenger Deep (-10,935 m: bathymetric DEMs such as
ETOPO1 or GEBCO carry the sea floor) to Mount Everest (8849 m)."""
DEM_VOID_VALUES = (-32768.0, -32767.0, -9999.0)
"""Void markers of common DEMs (SRTM, ASCII grids): treated as nodata when undeclared."""
DEM_KM_SUSPECT_MAX = 10.0
DEM_KM_SUSPECT_SIDE_KM = 10.0
"""A DEM whose heights stay below 10 over an area at least 10 km across gets a warning
(heights in kilometres?)."""


def _check_dem_values(data: np.ndarray, name) -> np.ndarray:
    """Undeclared void markers become NaN (with a warning); other heights outside
    :data:`DEM_RANGE_M` or infinite are refused, naming the raster row and column."""
    void = np.isin(data, DEM_VOID_VALUES)
    if void.any():
        vals = ", ".join(f"{v:g}" for v in np.unique(data[void]))
        warn(f"{name}: {int(void.sum()):,} DEM cell(s) hold {vals}, a void marker the file "
             "does not declare as nodata; they are treated as nodata")
        data = np.where(void, np.nan, data)
    lo, hi = DEM_RANGE_M
    with np.errstate(invalid="ignore"):
        bad = np.isinf(data) | (data < lo) | (data > hi)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        worst = data[bad][np.argmax(np.abs(data[bad]))]
        raise CovkitInputError(
            f"{int(bad.sum()):,} DEM cell(s) lie outside {lo:g} to {hi:g} m (first "
            f"{data[r, c]:g} at raster row {r + 1}, column {c + 1}; extreme {worst:g}): heights "
            "must be metres above sea level; declare void markers as the raster's nodata",
            file=name, column="band 1")
    return data


# ----------------------------------------------------------------------------------------------
# stations


@dataclass(frozen=True)
class Stations:
    """Validated sectors (one row each) and their sites.

    ``table`` columns: station_id, site_id, operator, lon, lat, x_m, y_m, height_m, freq_mhz,
    eirp_dbm, azimuth_deg (NaN = omni), tilt_deg, beamwidth_deg, tech, bandwidth_mhz, scs_khz,
    antenna_file (the resolved path of the sector's MSI / Planet pattern, "" = the TR 38.901
    parametric pattern), site_index (0-based index into the site arrays), synthetic (True for
    generated sectors, :mod:`covkit.data.synthetic`).
    Site arrays: ``site_x_m``, ``site_y_m``, ``site_height_m``; sectors of one site share one
    path-loss computation. ``antenna_patterns``: each distinct ``antenna_file`` read.
    ``file_rows``: per table row its 1-based data row in the file; ``dropped_ids``: stations
    dropped as outside every DEM or on cells without terrain; ``on_sea_ids``: stations standing
    on sea cells (DEM below 0 m).
    """

    table: pd.DataFrame
    site_ids: np.ndarray
    site_x_m: np.ndarray
    site_y_m: np.ndarray
    site_height_m: np.ndarray
    source: Path
    antenna_patterns: dict[str, MsiPattern] = field(default_factory=dict)
    file_rows: np.ndarray | None = None
    dropped_ids: tuple[str, ...] = ()
    on_sea_ids: tuple[str, ...] = ()

    def file_row(self, i: int) -> int:
        """The 1-based data row in the stations file of table row ``i`` (rows dropped as
        outside every DEM shift the table against the file; rows added after the file's, such
        as proposed sites, count on from its last)."""
        rows = self.file_rows
        if rows is None or len(rows) == 0:
            return int(i) + 1
        return int(rows[int(i)]) if int(i) < len(rows) else int(rows[-1]) + int(i) - len(rows) + 1

    def antenna_index(self) -> np.ndarray:
        """Per row, the position of its pattern in ``antenna_patterns`` (-1 = parametric)."""
        if "antenna_file" not in self.table.columns:
            return np.full(len(self.table), -1, dtype=np.int64)
        pos = {k: i for i, k in enumerate(self.antenna_patterns)}
        return np.array([pos.get(f, -1) if isinstance(f, str) and f else -1
                         for f in self.table["antenna_file"]], dtype=np.int64)

    @property
    def n_sites(self) -> int:
        return len(self.site_ids)

    @property
    def synthetic_sites(self) -> int:
        """Number of sites with a synthetic (generated) sector."""
        if "synthetic" not in self.table.columns:
            return 0
        return int(self.table.loc[self.table["synthetic"].astype(bool), "site_index"].nunique())

    @property
    def operators(self) -> list[str]:
        return sorted(self.table["operator"].unique().tolist())


STATIONS_NAMED = 5
"""How many station ids a warning about dropped / sea stations names."""


def load_stations(path: Path, grid: Grid, dem_m: np.ndarray | None = None, *,
                  outside_dem: str = "error", sea: np.ndarray | None = None) -> Stations:
    """Read and validate a stations table (CSV, GeoPackage or GeoParquet), one row per sector.

    Required columns: station_id, operator, lon, lat, height_m, freq_mhz, eirp_dbm.
    Optional: site_id, azimuth_deg (empty = omni), tilt_deg, beamwidth_deg, tech (4G/5G),
    bandwidth_mhz, scs_khz, antenna_file (an MSI / Planet pattern, see
    :func:`_antenna_files`), synthetic (boolean: a generated sector).

    Stations outside the grid or on cells where ``dem_m`` is NaN (no terrain): with
    ``outside_dem = "error"`` the first is refused; with ``"drop"`` they are dropped with a
    warning that counts them and names the first few (``Stations.dropped_ids``; an error when
    none is left). Stations on ``sea`` cells (bool grid: DEM below 0 m) are kept and listed in a
    warning (``Stations.on_sea_ids``).
    """
    if outside_dem not in ("drop", "error"):
        raise CovkitInputError(f"inputs.stations_outside_dem = {outside_dem!r} is not one of: "
                               "drop, error", column="inputs.stations_outside_dem")
    src, path = path, source_name(path, "stations")
    df = read_table(src, "stations")
    if len(df) == 0:
        raise CovkitInputError("stations table has no rows", file=path)
    needed = [c for c in STATION_REQUIRED if c not in ("lon", "lat")]
    _require_columns(df, needed, path, "stations")
    ids = _unique_ids(df, "station_id", path)
    op = df["operator"]
    if op.isna().any() or (op.astype(str).str.strip() == "").any():
        i = int(np.flatnonzero((op.isna() | (op.astype(str).str.strip() == "")).to_numpy())[0])
        raise CovkitInputError("operator is empty", file=path, column="operator", row=i + 1)
    x, y = _point_coordinates(df, path, grid.crs, "stations")
    lon, lat = xy_to_lonlat(x, y, grid.crs)
    height = _numeric(df, "height_m", path, lo=0.0, lo_open=True, hi=1000.0,
                      what="antenna height above ground [m]")
    freq = _numeric(df, "freq_mhz", path, lo=30.0, hi=100000.0, what="frequency [MHz]")
    eirp = _numeric(df, "eirp_dbm", path, lo=-30.0, hi=100.0, what="EIRP [dBm]")
    n = len(df)
    if "tech" in df.columns:
        tech = df["tech"].fillna("5G").astype(str).str.strip().str.upper()
        bad = ~tech.isin(["4G", "5G"])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise CovkitInputError(f"tech {df['tech'].iloc[i]!r} must be 4G or 5G", file=path,
                                   column="tech", row=i + 1)
        tech = tech.to_numpy(dtype=object)
    else:
        tech = np.full(n, "5G", dtype=object)

    def optional(col, default, **kw):
        if col not in df.columns:
            return np.asarray(default, dtype=np.float64) * np.ones(n)
        vals = _numeric(df, col, path, allow_nan=True, **kw)
        return np.where(np.isnan(vals), default, vals)

    azimuth = optional("azimuth_deg", np.nan, lo=-360.0, hi=360.0, what="azimuth [deg]")
    azimuth = np.where(np.isnan(azimuth), np.nan, np.mod(azimuth, 360.0))
    tilt = optional("tilt_deg", 0.0, lo=-90.0, hi=90.0, what="tilt [deg]")
    beam = optional("beamwidth_deg", DEFAULT_BEAMWIDTH_DEG, lo=1.0, hi=360.0,
                    what="beamwidth [deg]")
    bw_default = np.array([DEFAULT_BANDWIDTH_MHZ[t] for t in tech])
    scs_default = np.array([DEFAULT_SCS_KHZ[t] for t in tech])
    bw = optional("bandwidth_mhz", np.nan, lo=1.0, hi=400.0, what="bandwidth [MHz]")
    bw = np.where(np.isnan(bw), bw_default, bw)
    scs = optional("scs_khz", np.nan, lo=15.0, hi=240.0, what="subcarrier spacing [kHz]")
    scs = np.where(np.isnan(scs), scs_default, scs)
    bad_scs = ~np.isin(scs, [15.0, 30.0, 60.0, 120.0, 240.0])
    if bad_scs.any():
        i = int(np.flatnonzero(bad_scs)[0])
        raise CovkitInputError(f"subcarrier spacing {scs[i]:g} kHz must be 15, 30, 60, 120 or "
                               "240", file=path, column="scs_khz", row=i + 1)

    antenna_file, patterns = _antenna_files(df, path, src)

    file_rows = np.arange(1, n + 1)
    r, c = grid.index_of(x, y)
    r = np.clip(r, 0, grid.height - 1)
    c = np.clip(c, 0, grid.width - 1)
    outside = ~grid.contains(x, y)
    nodata = ~np.isfinite(dem_m[r, c]) & ~outside if dem_m is not None else np.zeros(n, bool)
    dropped: tuple[str, ...] = ()
    if (outside | nodata).any() and outside_dem == "error":
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise CovkitInputError(
                f"station {ids[i]!r} at lon {lon[i]:.6f}, lat {lat[i]:.6f} lies outside the "
                f"DEM / analysis grid {tuple(round(b) for b in grid.bounds)}",
                file=path, column="lon,lat", row=i + 1)
        i = int(np.flatnonzero(nodata)[0])
        raise CovkitInputError(f"station {ids[i]!r} stands on a DEM nodata cell",
                               file=path, column="lon,lat", row=i + 1)
    if (outside | nodata).any():
        keep = ~(outside | nodata)
        dropped = tuple(str(v) for v in ids[~keep])
        if not keep.any():
            raise CovkitInputError(
                f"all {n} stations lie outside every DEM / the analysis grid or on cells "
                "without terrain: nothing is left to compute", file=path, column="lon,lat")
        first = ", ".join(repr(v) for v in dropped[:STATIONS_NAMED])
        warn(f"{path}: {len(dropped)} of {n} station(s) lie outside every DEM / the analysis "
             f"grid or on cells without terrain and are dropped (first: {first}); "
             "inputs.stations_outside_dem = \"error\" refuses them instead")
        df = df.loc[keep].reset_index(drop=True)
        ids, x, y, lon, lat, height, freq, eirp, tech, azimuth, tilt, beam, bw, scs, \
            antenna_file, r, c, file_rows = (
                a[keep] for a in (ids, x, y, lon, lat, height, freq, eirp, tech, azimuth, tilt,
                                  beam, bw, scs, antenna_file, r, c, file_rows))
        n = len(df)
    on_sea: tuple[str, ...] = ()
    if sea is not None:
        wet = np.asarray(sea)[r, c]
        if wet.any():
            on_sea = tuple(str(v) for v in ids[wet])
            first = ", ".join(repr(v) for v in on_sea[:STATIONS_NAMED])
            warn(f"{path}: {len(on_sea)} station(s) stand on sea cells (DEM below 0 m at the "
                 f"site; first: {first}): check their coordinates; the ground is taken as the "
                 "sea surface (0 m)")

    # sites: given site_id, or one per distinct position and height
    if "site_id" in df.columns and df["site_id"].notna().all():
        site_key = df["site_id"].astype(str).str.strip().to_numpy(dtype=object)
    else:
        if "site_id" in df.columns and df["site_id"].notna().any():
            i = int(np.flatnonzero(df["site_id"].isna().to_numpy())[0])
            raise CovkitInputError("site_id is empty while other rows have one", file=path,
                                   column="site_id", row=int(file_rows[i]))
        key = pd.Series([f"{a:.2f}_{b:.2f}_{h:.2f}" for a, b, h in zip(x, y, height,
                                                                       strict=True)])
        codes, uniq = pd.factorize(key)
        site_key = np.array([f"site{c + 1}" for c in codes], dtype=object)
    site_codes, site_ids = pd.factorize(pd.Series(site_key))
    ns = len(site_ids)
    sx = np.zeros(ns)
    sy = np.zeros(ns)
    sh = np.zeros(ns)
    first = np.full(ns, -1)
    for i, s in enumerate(site_codes):
        if first[s] < 0:
            first[s] = i
            sx[s], sy[s], sh[s] = x[i], y[i], height[i]
        elif abs(x[i] - sx[s]) > 1.0 or abs(y[i] - sy[s]) > 1.0 or abs(height[i] - sh[s]) > 0.5:
            raise CovkitInputError(
                f"sector {ids[i]!r} has site_id {site_ids[s]!r} but its position/height differs "
                f"from row {file_rows[first[s]]} of the same site (sectors of one mast share "
                "lon, lat, height_m)", file=path, column="site_id", row=int(file_rows[i]))
    table = pd.DataFrame({
        "station_id": ids, "site_id": site_key, "operator": df["operator"].astype(str).str.strip(),
        "lon": lon, "lat": lat, "x_m": x, "y_m": y, "height_m": height, "freq_mhz": freq,
        "eirp_dbm": eirp, "azimuth_deg": azimuth, "tilt_deg": tilt, "beamwidth_deg": beam,
        "tech": tech, "bandwidth_mhz": bw, "scs_khz": scs, "antenna_file": antenna_file,
        "site_index": site_codes,
        "synthetic": _synthetic_flags(df, path),
    })
    return Stations(table, np.asarray(site_ids, dtype=object), sx, sy, sh, path, patterns,
                    file_rows, dropped, on_sea)


def _synthetic_flags(df: pd.DataFrame, path) -> np.ndarray:
    """The optional boolean ``synthetic`` column (rows generated by
    :func:`covkit.data.synthetic.synthetic_stations`, not a real network); empty = false."""
    if "synthetic" not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return _parse_bool(df["synthetic"].fillna(False), path, "synthetic")


def _antenna_files(df: pd.DataFrame, path, src) -> tuple[np.ndarray, dict[str, MsiPattern]]:
    """The optional ``antenna_file`` column: per row the resolved pattern path ("" = none)
    and each distinct file read with :func:`covkit.propagation.antenna.read_msi`.

    Paths are relative to the stations file's folder (to the working directory for an
    in-memory table); suffix .msi, .pln or .txt. With a pattern file the sector's gain comes
    from the file's cuts (relative to its maximum: the EIRP includes the peak gain), its
    boresight is ``azimuth_deg`` (north when empty), ``tilt_deg`` is mechanical downtilt added
    to the file's own and ``beamwidth_deg`` is not used. Errors name the stations file, the
    column and the row, and say what is wrong with the pattern file.
    """
    n = len(df)
    out = np.full(n, "", dtype=object)
    patterns: dict[str, MsiPattern] = {}
    if "antenna_file" not in df.columns:
        return out, patterns
    base = Path(src).parent if not is_in_memory(src) else Path.cwd()
    for i, raw in enumerate(df["antenna_file"]):
        if raw is None or (isinstance(raw, float) and np.isnan(raw)):
            continue
        if not isinstance(raw, str):
            raise CovkitInputError(f"antenna_file {raw!r} is not a file name", file=path,
                                   column="antenna_file", row=i + 1)
        name = raw.strip()
        if not name:
            continue
        f = Path(name)
        f = f if f.is_absolute() else base / f
        if f.suffix.lower() not in ANTENNA_FILE_SUFFIXES:
            raise CovkitInputError(
                f"antenna_file {name!r} is not an MSI / Planet pattern "
                f"({', '.join(ANTENNA_FILE_SUFFIXES)})", file=path, column="antenna_file",
                row=i + 1)
        key = str(f)
        if key not in patterns:
            if not f.is_file():
                raise CovkitInputError(f"antenna_file {name!r}: {f} does not exist", file=path,
                                       column="antenna_file", row=i + 1)
            try:
                patterns[key] = read_msi(f)
            except CovkitInputError as exc:
                raise CovkitInputError(f"antenna_file {name!r}: {exc}", file=path,
                                       column="antenna_file", row=i + 1) from None
        out[i] = key
    return out, patterns


# ----------------------------------------------------------------------------------------------
# population


@dataclass(frozen=True)
class Population:
    """People per grid cell and how they got there.

    Attributes
    ----------
    grid : 2-D float64 array
        People per cell.
    report : dict
        ``population_source_total``, ``population_outside_grid`` (and for polygons
        ``population_spread``, ``population_spread_fallback_polygons``).
    spread : covkit.data.fractions.Spread or None
        For population polygons: the (polygon, cell, people) parts of the spread.
    attributes : DataFrame or None
        For population polygons: their attribute columns (no geometry), row i = polygon i.
    source : path or label
    """

    grid: np.ndarray
    report: dict
    spread: Spread | None = None
    attributes: pd.DataFrame | None = None
    source: Path | str | None = None


def load_population(path: Path, grid: Grid, *,
                    weights: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """People per grid cell (float64) and a report dict (see :func:`read_population`)."""
    pop = read_population(path, grid, weights=weights)
    return pop.grid, pop.report


def read_population(path, grid: Grid, *, weights: np.ndarray | None = None) -> Population:
    """People per grid cell from a raster or from polygons with a ``population`` column.

    A raster (people per cell, WorldPop / GHS-POP style, any CRS) is resampled with
    area-weighted sums; polygons (census areas, villages, grid squares) are spread over the
    cells they cover by exact area share (:func:`covkit.data.fractions.spread_values`), or by
    area share times a per-cell ``weights`` grid (dasymetric,
    :func:`covkit.data.fractions.population_weights`; polygons only). Either way the
    population that lies inside the grid is preserved exactly (the resampled field is rescaled
    to it; each polygon's people stay whole); ``report['population_outside_grid']`` is what
    lies outside.
    """
    if is_raster(path):
        out, report = _population_from_raster(path, grid)
        return Population(out, report, source=source_name(path, "population"))
    if not is_in_memory(path):
        _check_exists(path, "population")
    return _population_from_polygons(path, grid, weights)


def _nested_factor(src_transform, src_crs, dst_transform, dst_crs):
    """``(k, row_offset, col_offset)`` when the destination grid's cells nest in the source's:
    the same CRS, both north-up with square cells, the source cell ``k`` (an integer >= 1)
    destination cells wide and the destination's corner on a destination-cell boundary of the
    source (offsets in destination cells from the source's top-left corner); else None."""
    try:
        same = rasterio.crs.CRS.from_user_input(src_crs) == \
            rasterio.crs.CRS.from_user_input(dst_crs)
    except Exception:  # noqa: BLE001 - a CRS rasterio cannot compare: take the warp
        return None
    s, d = Affine(*tuple(src_transform)[:6]), Affine(*tuple(dst_transform)[:6])
    if not same or s.b or s.d or d.b or d.d or s.a <= 0 or d.a <= 0 or \
            not (math.isclose(-s.e, s.a, rel_tol=1e-12) and math.isclose(-d.e, d.a,
                                                                        rel_tol=1e-12)):
        return None

    def whole(v):
        n = round(v)
        return n if abs(v - n) <= 1e-9 * max(1.0, abs(v)) else None

    k = whole(s.a / d.a)
    oy = whole((s.f - d.f) / d.a)
    ox = whole((d.c - s.c) / d.a)
    if k is None or k < 1 or oy is None or ox is None:
        return None
    return k, oy, ox


def resample_sum(values: np.ndarray, src_transform, src_crs, dst_shape: tuple[int, int],
                 dst_transform, dst_crs) -> np.ndarray:
    """A per-cell count (people) of a raster on another grid: each source cell's count spread
    over the destination cells by overlapped area (GDAL's ``sum`` resampling), float64, 0
    where no source cell reaches.

    When the destination cells nest in the source cells (:func:`_nested_factor`: the same
    CRS, a source cell exactly ``k`` x ``k`` destination cells, the corners aligned; e.g. a
    100 m population raster on a 100 m or 50 m grid) each destination cell takes its source
    cell's count / k^2 by index, the same figures as the warp (to the last bit for k a power
    of two) in a fraction of its time; otherwise GDAL's warp, on every core."""
    src = np.asarray(values, dtype=np.float64)
    height, width = dst_shape
    nested = _nested_factor(src_transform, src_crs, dst_transform, dst_crs)
    if nested is None:
        out = np.zeros((height, width), dtype=np.float64)
        reproject(src, out, src_transform=src_transform, src_crs=src_crs,
                  dst_transform=dst_transform, dst_crs=dst_crs, resampling=Resampling.sum,
                  src_nodata=None, dst_nodata=None, num_threads=os.cpu_count() or 1)
        return out
    k, oy, ox = nested
    rows = (oy + np.arange(height)) // k
    cols = (ox + np.arange(width)) // k
    r_ok = (oy + np.arange(height) >= 0) & (rows < src.shape[0])
    c_ok = (ox + np.arange(width) >= 0) & (cols < src.shape[1])
    out = np.zeros((height, width), dtype=np.float64)
    if r_ok.any() and c_ok.any():
        ri, ci = np.flatnonzero(r_ok), np.flatnonzero(c_ok)
        block = src[np.ix_(rows[ri], cols[ci])]
        out[np.ix_(ri, ci)] = block if k == 1 else block * (1.0 / (k * k))
    return out


def _population_from_raster(path, grid: Grid) -> tuple[np.ndarray, dict]:
    name = source_name(path, "population")
    with open_raster(path, "population") as src:
        check_geographic_bounds(src.crs, src.bounds, name, "population raster")
        try:
            data = src.read(1, masked=True).astype(np.float64).filled(0.0)
            src_transform, src_crs = src.transform, src.crs
        except Exception as exc:  # noqa: BLE001
            raise CovkitInputError(f"cannot read population raster: {exc}",
                                   file=name) from None
    path = name
    if np.isinf(data).any():
        r, c = np.argwhere(np.isinf(data))[0]
        raise CovkitInputError(f"population {data[r, c]:g} at raster row {r + 1}, column "
                               f"{c + 1} is infinite", file=path, column="band 1")
    nan = np.isnan(data)
    if nan.any():
        warn(f"{path}: {int(nan.sum()):,} of {data.size:,} population cells are NaN without "
             "being declared nodata; they count as 0 people (total of the other cells "
             f"{float(np.where(nan, 0.0, data).sum()):,.1f}): declare NaN as the raster's "
             "nodata or fill the cells")
        data = np.where(nan, 0.0, data)
    neg = data < 0
    if neg.any():
        r, c = np.argwhere(neg)[0]
        raise CovkitInputError(f"negative population {data[r, c]:g} at raster row {r + 1}, "
                               f"column {c + 1}", file=path, column="band 1")
    _check_density(data, src_transform, src_crs, path, grid)
    total_source = float(data.sum())
    # population of source cells whose centres fall inside the grid
    rows, cols = np.nonzero(data > 0)
    xs, ys = rasterio.transform.xy(src_transform, rows, cols)
    tr = Transformer.from_crs(src_crs, grid.crs, always_xy=True)
    gx, gy = tr.transform(np.asarray(xs), np.asarray(ys))
    inside_total = float(data[rows, cols][grid.contains(gx, gy)].sum())
    out = resample_sum(data, src_transform, src_crs, grid.shape, grid.transform, grid.crs)
    out = np.where(np.isfinite(out) & (out > 0), out, 0.0)
    s = out.sum()
    if s > 0:
        out *= inside_total / s
    elif inside_total > 0:
        raise CovkitInputError("population raster could not be resampled onto the grid",
                               file=path)
    return out, {"population_source_total": total_source,
                 "population_outside_grid": total_source - inside_total}


MAX_DENSITY_PER_KM2 = 1.0e6
"""Population densities above this [people / km2] are refused as implausible (the densest
city districts reach a few 1e4 to 1e5)."""


def _check_density(data: np.ndarray, transform: Affine, crs, path, grid: Grid) -> None:
    """Refuse raster cells whose population density exceeds :data:`MAX_DENSITY_PER_KM2`
    (cell areas from the raster's transform, on a geographic CRS at each row's latitude; at
    least one analysis-grid cell, where the people of a finer cell land)."""
    if not data.size or not (data > 0).any():
        return
    cell = abs(transform.a * transform.e - transform.b * transform.d)
    rows = np.arange(data.shape[0])
    if crs.is_geographic:
        lat = transform.f + (rows + 0.5) * transform.e
        area_m2 = cell * 111_320.0 * 110_574.0 * np.cos(np.radians(np.clip(lat, -89.9, 89.9)))
    else:
        try:
            factor = float(crs.linear_units_factor[1])
        except Exception:  # noqa: BLE001 - unknown units: take metres
            factor = 1.0
        area_m2 = np.full(rows.size, cell * factor * factor)
    area_m2 = np.maximum(area_m2, grid.cell_area_m2)
    density = data / (area_m2[:, None] / 1e6)
    bad = density > MAX_DENSITY_PER_KM2
    if bad.any():
        r, c = np.unravel_index(int(np.argmax(density)), data.shape)
        raise CovkitInputError(
            f"{int(bad.sum()):,} population cell(s) exceed {MAX_DENSITY_PER_KM2:g} people per "
            f"km2 (largest: {data[r, c]:g} people in a cell of {area_m2[r] / 1e6:.4g} km2 at "
            f"raster row {r + 1}, column {c + 1}): population must be people per cell",
            file=path, column="band 1")


def _population_from_polygons(path, grid: Grid, weights) -> Population:
    src, path = path, source_name(path, "population")
    gdf = read_table(src, "population")
    if not hasattr(gdf, "geometry"):
        raise CovkitInputError("population must be a raster or a polygon file with a "
                               "'population' column", file=path)
    _require_columns(gdf, ("population",), path, "population")
    pop = _numeric(gdf, "population", path, lo=0.0, what="population")
    gdf = gdf.to_crs(grid.crs)
    _check_polygons(gdf, path)
    # density over the polygon, or over one grid cell for a polygon smaller than a cell
    area_km2 = np.maximum(gdf.geometry.area.to_numpy(), grid.cell_area_m2) / 1e6
    bad = pop / area_km2 > MAX_DENSITY_PER_KM2
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CovkitInputError(
            f"population {pop[i]:g} on {area_km2[i]:.4g} km2 exceeds {MAX_DENSITY_PER_KM2:g} "
            "people per km2", file=path, column="population", row=i + 1)
    sp = spread_values(gdf.geometry.values, pop, grid, weights=weights)
    if sp.fallback:
        warn(f"{path}: {sp.fallback} population polygon(s) cover only cells of weight 0 "
             "(sea, by the dasymetric weights); they are spread by area share")
    report = {"population_source_total": float(pop.sum()),
              "population_outside_grid": sp.outside,
              "population_spread_fallback_polygons": float(sp.fallback)}
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    return Population(sp.to_grid(grid), report, sp, attrs, path)


def _check_polygons(gdf, path: Path) -> None:
    geom = gdf.geometry
    empty = (geom.isna() | geom.is_empty).to_numpy()
    if empty.any():
        raise CovkitInputError("empty geometry", file=path, column="geometry",
                               row=int(np.flatnonzero(empty)[0]) + 1)
    bad = ~geom.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CovkitInputError(f"geometry must be a polygon, got {geom.iloc[i].geom_type}",
                               file=path, column="geometry", row=i + 1)


def repair_polygons(geoms, ids, path, what: str = "township") -> np.ndarray:
    """Invalid polygons (self-intersecting rings, ...) repaired with ``shapely.make_valid``,
    keeping the polygonal parts; a warning names each polygon repaired (``what``: township,
    village), why and its area before and after.

    Raises
    ------
    CovkitInputError
        When a repaired polygon has no area left (naming the township and the row).
    """
    geoms = np.asarray(geoms, dtype=object)
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms
    out = geoms.copy()
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[i])
        fixed = shapely.make_valid(geoms[i])
        parts = [g for g in shapely.get_parts(fixed)
                 if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
        fixed = shapely.union_all(parts) if parts else None
        if fixed is None or fixed.is_empty or fixed.area <= 0.0:
            raise CovkitInputError(f"{what} {str(ids[i])!r} has an invalid polygon ({reason}) "
                                   "that has no area once repaired", file=path,
                                   column="geometry", row=int(i) + 1)
        warn(f"{path}: {what} {str(ids[i])!r} (row {i + 1}) has an invalid polygon "
             f"({reason}); repaired with shapely.make_valid, area "
             f"{shapely.area(geoms[i]) / 1e6:.3f} -> {fixed.area / 1e6:.3f} km2")
        out[i] = fixed
    return out


def spread_polygon_values(geoms, values: np.ndarray, grid: Grid,
                          weights: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Spread each polygon's value over grid cells by exact covered area (optionally times a
    per-cell weight); totals preserved exactly (:func:`covkit.data.fractions.spread_values`).

    Returns the grid and the total of the polygons that lie wholly outside it.
    """
    sp = spread_values(geoms, values, grid, weights=weights)
    return sp.to_grid(grid), sp.outside


# ----------------------------------------------------------------------------------------------
# townships


def read_polygon_table(src, what: str, columns: dict[str, str] | None, key: str):
    """A polygon file (or GeoDataFrame) with at least one feature, its columns renamed by a
    column map ``{covkit name: the file's name}`` (scenario key ``key``, e.g.
    ``inputs.township_columns``; a column already named like a mapped covkit name is dropped
    first, so the file's own column wins). Returns ``(gdf, name)``."""
    gdf = read_table(src, what)
    path = source_name(src, what)
    if not hasattr(gdf, "geometry"):
        raise CovkitInputError(f"{what} must be a polygon file (GeoPackage, GeoJSON, ...)",
                               file=path)
    if len(gdf) == 0:
        raise CovkitInputError(f"{what} file has no features", file=path)
    if columns:
        missing = [c for c in columns.values() if c not in gdf.columns]
        if missing:
            raise CovkitInputError(
                f"{key} names column '{missing[0]}', which the file lacks "
                f"(found: {', '.join(map(str, gdf.columns))})", file=path, column=missing[0])
        gdf = gdf.drop(columns=[c for c in columns if c in gdf.columns and
                                c not in columns.values()])
        gdf = gdf.rename(columns={v: k for k, v in columns.items()})
    return gdf, path


@dataclass(frozen=True)
class Townships:
    """Township polygons, their zone raster and attributes.

    ``table``: township_id, name, county, area_km2, population, density_per_km2, remote,
    remote_source ("file", "density rule" or "list"), remote_rule (what made a township remote:
    "density", "offshore", "density+offshore", "list", "file", or None) and, when the rule ran,
    county_code, density_remote, offshore_island, offshore_seat_km
    (:func:`covkit.data.remote.classify`). ``zone`` is an int32 raster of row indices into
    ``table`` (-1 = no township). ``gdf`` holds the polygons in the working CRS.
    ``remote_rule``: the rule's basis and counts (the ``remote_rule`` block of
    kpi_summary.json).
    ``parts`` is the exact membership of the grid's people in townships
    (:class:`~covkit.data.fractions.ZoneParts`: per cell and township the share of the cell's
    people that belong to it); every per-township sum of people (:meth:`township_sums`) goes
    through it. Without ``parts`` the zone raster (each cell wholly in the township holding its
    centre) stands in.
    """

    table: pd.DataFrame
    zone: np.ndarray
    gdf: object
    source: Path
    population_outside_townships: float
    remote_rule: dict = field(default_factory=dict)
    parts: ZoneParts | None = None

    def township_sums(self, values: np.ndarray) -> tuple[np.ndarray, float]:
        """A per-cell quantity proportional to the cell's people (people, covered people, ...)
        summed per township (row order of ``table``) and outside every township."""
        parts = self.parts if self.parts is not None else zone_parts_from_raster(self.zone)
        return parts.sums(values, len(self.table))


def load_townships(path: Path, grid: Grid, population: np.ndarray, *,
                   remote_density_ratio: float = REMOTE_DENSITY_RATIO,
                   columns: dict[str, str] | None = None,
                   remote: remote_rule.RemoteOptions | None = None,
                   population_source: Population | None = None,
                   names: str = "as_given") -> Townships:
    """Read township polygons, rasterise them, find which township each cell's people belong
    to, and classify remote townships.

    The people of a cell belong to townships (``Townships.parts``) directly when the
    population polygons (``population_source``) carry their township code: a ``township_id``
    column, the file's own township-id column (``columns['township_id']``, e.g. TOWNCODE),
    or village codes (VILLCODE) that start with the township code; a polygon whose code
    matches no township puts its people outside every township, with a warning. Otherwise
    (a raster, polygons without codes) a cell's people are split between the townships
    overlapping it by exact area fraction (:func:`covkit.data.fractions.cell_fractions`), the
    share of the cell outside every township being outside. Township populations are sums
    over these parts, so polygons carrying codes give every township its own people exactly.

    Required columns ``township_id, name, county``; optional boolean ``remote``, a
    ``households`` count and a ``county_code``. ``columns`` maps these names to the file's own,
    e.g. ``{"township_id": "TOWNCODE", "name": "TOWNNAME", "county": "COUNTYNAME"}`` for
    Taiwan's official boundaries. Without ``remote`` the rule of :mod:`covkit.data.remote`
    classifies the townships with the options ``remote``
    (:class:`~covkit.data.remote.RemoteOptions`, which :func:`covkit.load_inputs` builds from
    the scenario): population density (population on the grid inside the township, divided by
    its polygon area) below the ratio times the national density (the official figure when
    given, else the loaded townships', with a warning), or an offshore-island township far
    enough from its county seat; an official list overrides both. Without ``remote`` options
    only the density arm runs, with ``remote_density_ratio``, as before the offshore arm
    existed. A township with no cell on the grid is not classified by density, and a warning
    names it. An invalid polygon (self-intersecting ring, ...) is repaired with
    ``shapely.make_valid`` (:func:`repair_polygons`) and a warning names the township, the
    reason and its area before and after; one with no area left is refused.

    An optional ``county_code`` column is kept (as text; counties are listed in its order).
    ``names="taiwan"`` folds 台 to 臺 in ``name`` and ``county`` and keeps the file's spelling
    in ``name_source`` / ``county_source`` (:mod:`covkit.data.names`).
    """
    gdf, path = read_polygon_table(path, "townships", columns, "inputs.township_columns")
    _require_columns(gdf, ("township_id", "name", "county"), path, "townships")
    ids = _unique_ids(gdf, "township_id", path)
    _check_polygons(gdf, path)
    gdf = gdf.to_crs(grid.crs).reset_index(drop=True)
    gdf = gdf.set_geometry(repair_polygons(gdf.geometry.values, ids, path))
    zone = rasterize([(g, i) for i, g in enumerate(gdf.geometry.values)], out_shape=grid.shape,
                     transform=grid.transform, fill=-1, dtype="int32")
    n = len(gdf)
    fr = cell_fractions(gdf.geometry.values, grid)
    parts = _parts_by_code(population_source, ids, columns, grid)
    if parts is None:
        parts = zone_parts_from_fractions(fr, grid.height * grid.width)
    pop, outside = parts.sums(population, n)
    on_grid = np.bincount(fr.polygon, minlength=n) > 0
    area_km2 = gdf.geometry.area.to_numpy() / 1e6
    density = np.divide(pop, area_km2, out=np.zeros(n), where=area_km2 > 0)
    if "remote" in gdf.columns:
        res = remote_rule.from_file_column(_parse_bool(gdf["remote"], path, "remote"), file=path)
        source = "file"
    else:
        opts = remote or remote_rule.RemoteOptions(density_ratio=remote_density_ratio,
                                                   offshore_min_km=0.0)
        res = remote_rule.classify(
            gdf.geometry, ids, gdf["name"].astype(str).to_numpy(), pop, area_km2,
            on_grid=on_grid, crs=grid.crs, options=opts,
            county_code=gdf["county_code"] if "county_code" in gdf.columns else None)
        source = res.summary["source"]
        for message in res.warnings:
            warn(f"{path}: {message}")
        if not on_grid.all():
            off = ids[~on_grid]
            warn(f"{path}: {off.size} township(s) have no cell on the analysis grid and are not "
                 f"classified by density (first: {off[0]!r}); their population lies outside "
                 "the grid")
    name_src = gdf["name"].astype(str).to_numpy()
    county_src = gdf["county"].astype(str).to_numpy()
    table = pd.DataFrame({
        "township_id": ids, "name": display_names(name_src, names),
        "county": display_names(county_src, names), "area_km2": area_km2,
        "population": pop, "density_per_km2": density, "remote": res.remote,
        "remote_source": source, "remote_rule": res.remote_rule, **res.columns,
    })
    if "county_code" in gdf.columns:
        codes = [code_text(v) for v in gdf["county_code"]]
        if "county_code" in table.columns:
            table["county_code"] = codes
        else:
            table.insert(3, "county_code", codes)
    if names != "as_given":
        table["name_source"], table["county_source"] = name_src, county_src
    return Townships(table, zone, gdf, path, max(outside, 0.0), res.summary, parts)


VILLAGE_CODE_COLUMNS = ("VILLCODE", "village_id")
"""Columns of population polygons holding village codes that start with the township code."""


def _parts_by_code(population: Population | None, ids: np.ndarray,
                   columns: dict[str, str] | None, grid: Grid) -> ZoneParts | None:
    """ZoneParts from population polygons that carry their township's code, or village codes
    that start with it (None when they carry none, or when no code matches a township: then
    area fractions are used)."""
    code_columns = ["township_id"] + ([columns["township_id"]] if columns and
                                      "township_id" in columns else [])
    return parts_by_code(population, ids, code_columns, grid, "township",
                         prefix_columns=VILLAGE_CODE_COLUMNS)


def parts_by_code(population: Population | None, ids: np.ndarray, code_columns, grid: Grid,
                  what: str, *, prefix_columns=(), warn_empty: bool = True
                  ) -> ZoneParts | None:
    """The membership of the grid's people in zones (townships, villages) by the code their
    population polygons carry: the first of ``code_columns`` the polygons have, matched to
    ``ids`` exactly; else the first of ``prefix_columns``, whose codes start with a zone's
    id (village codes starting with the township code). Polygons whose code matches no zone
    put their people outside every zone, with a warning (not for empty codes when
    ``warn_empty`` is false). None when the polygons carry no such column or no code matches
    (with a warning): then the caller splits by area."""
    if population is None or population.spread is None or population.attributes is None:
        return None
    attrs = population.attributes
    index = {str(k): i for i, k in enumerate(ids)}
    col = next((c for c in code_columns if c in attrs.columns), None)
    if col is not None:
        codes = attrs[col].fillna("").astype(str).str.strip().to_numpy(dtype=object)
        zone = np.array([index.get(c, -1) for c in codes], dtype=np.int64)
    else:
        col = next((c for c in prefix_columns if c in attrs.columns), None)
        if col is None:
            return None
        codes = attrs[col].fillna("").astype(str).str.strip().to_numpy(dtype=object)
        lengths = sorted({len(k) for k in index}, reverse=True)
        zone = np.full(len(codes), -1, dtype=np.int64)
        for i, c in enumerate(codes):
            for m in lengths:
                if len(c) > m and c[:m] in index:
                    zone[i] = index[c[:m]]
                    break
    if not (zone >= 0).any():
        warn(f"{population.source}: no population polygon's {col} matches a {what} id; "
             f"the people of each cell are split between {what}s by area instead")
        return None
    unmatched = (zone < 0) & ((codes != "") if not warn_empty else True)
    if unmatched.any():
        pop = pd.to_numeric(attrs["population"], errors="coerce").to_numpy(np.float64)
        first = int(np.flatnonzero(unmatched)[0])
        warn(f"{population.source}: {int(unmatched.sum())} population polygon(s) "
             f"({pop[unmatched].sum():,.0f} people) have a {col} that matches no {what} "
             f"(first: {codes[first]!r}, row {first + 1}); their people lie outside every "
             f"{what}")
    return zone_parts_from_spread(population.spread, zone, grid.height * grid.width)


def code_text(value) -> str:
    """A code as text: ``"09007"`` as it is, a whole number without ``.0``, missing as ``""``."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_bool(series: pd.Series, path: Path, col: str) -> np.ndarray:
    truthy = {"true", "1", "yes", "y", "t"}
    falsy = {"false", "0", "no", "n", "f"}
    out = np.zeros(len(series), dtype=bool)
    for i, v in enumerate(series.tolist()):
        if isinstance(v, bool | np.bool_):
            out[i] = bool(v)
            continue
        s = str(v).strip().lower()
        if s in truthy:
            out[i] = True
        elif s not in falsy:
            raise CovkitInputError(f"{v!r} is not a boolean (true/false)", file=path,
                                   column=col, row=i + 1)
    return out


# ----------------------------------------------------------------------------------------------
# optional inputs


def load_points(path: Path, grid: Grid, what: str, id_column: str | None = None) -> pd.DataFrame:
    """Point inputs (fibre drop points, candidate sites): a CSV with lon, lat or a point file.

    Returns a DataFrame with ``x_m, y_m, lon, lat`` (and the id column when present). Points
    outside the grid are kept but flagged ``inside_grid`` False.
    """
    src, path = path, source_name(path, what)
    df = read_table(src, what)
    if id_column and id_column in df.columns:
        ids = _unique_ids(df, id_column, path)
    elif id_column:
        ids = np.array([f"{what}{i + 1}" for i in range(len(df))], dtype=object)
    x, y = _point_coordinates(df, path, grid.crs, what)
    lon, lat = xy_to_lonlat(x, y, grid.crs)
    out = pd.DataFrame({"x_m": x, "y_m": y, "lon": lon, "lat": lat,
                        "inside_grid": grid.contains(x, y)})
    if id_column:
        out.insert(0, id_column, ids)
    extra = [c for c in df.columns if c not in out.columns and c not in ("lon", "lat",
                                                                         "geometry")]
    for c in extra:
        out[c] = df[c].to_numpy()
    return out


def load_candidates(path: Path, grid: Grid) -> pd.DataFrame:
    """User candidate sites: ``candidate_id, lon, lat`` and optional ``height_m, cost``."""
    src, path = path, source_name(path, "candidates")
    df = load_points(src, grid, "candidates", id_column="candidate_id")
    raw = read_table(src, "candidates")
    if "height_m" in raw.columns:
        df["height_m"] = _numeric(raw, "height_m", path, allow_nan=True, lo=0.0, lo_open=True,
                                  hi=1000.0, what="mast height [m]")
    if "cost" in raw.columns:
        df["cost"] = _numeric(raw, "cost", path, allow_nan=True, lo=0.0, lo_open=True,
                              what="cost")
    return df


def load_trails(path: Path, grid: Grid):
    """Trails as a GeoDataFrame of lines in the working CRS, with ``length_km``."""
    src, path = path, source_name(path, "trails")
    gdf = read_table(src, "trails")
    if not hasattr(gdf, "geometry"):
        raise CovkitInputError("trails must be a line file (GeoPackage, GeoJSON, ...)", file=path)
    geom = gdf.geometry
    empty = (geom.isna() | geom.is_empty).to_numpy()
    if empty.any():
        raise CovkitInputError("empty geometry", file=path, column="geometry",
                               row=int(np.flatnonzero(empty)[0]) + 1)
    bad = ~geom.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CovkitInputError(f"trail geometry must be a line, got {geom.iloc[i].geom_type}",
                               file=path, column="geometry", row=i + 1)
    gdf = gdf.to_crs(grid.crs).reset_index(drop=True)
    if "trail_id" not in gdf.columns:
        gdf["trail_id"] = [f"trail{i + 1}" for i in range(len(gdf))]
    gdf["length_km"] = gdf.geometry.length / 1000.0
    return gdf


_COLLECTED: ContextVar[list[str] | None] = ContextVar("covkit_collected_warnings",
                                                     default=None)


def warn(message: str) -> None:
    """Documented warnings go through Python's warnings module (category UserWarning), and
    into the list of an enclosing :func:`collect_warnings` (for ``kpi_summary.json``)."""
    collected = _COLLECTED.get()
    if collected is not None:
        collected.append(message)
    warnings.warn(message, UserWarning, stacklevel=3)


@contextmanager
def collect_warnings():
    """Collect the messages :func:`warn` issues inside the block (they are still issued) into
    the list this yields. Blocks may nest: the inner one collects alone."""
    token = _COLLECTED.set([])
    try:
        yield _COLLECTED.get()
    finally:
        _COLLECTED.reset(token)


# ----------------------------------------------------------------------------------------------
# point-to-point inputs


def read_points_csv(path: Path, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Receiver points: a CSV with ``x, y`` in the working CRS [m] or ``lon, lat`` [deg]."""
    path = Path(path)
    df = read_table(path, "points")
    if len(df) == 0:
        raise CovkitInputError("points file has no rows", file=path)
    if "x" in df.columns and "y" in df.columns:
        return (_numeric(df, "x", path, what="x [m]"), _numeric(df, "y", path, what="y [m]"))
    if "lon" in df.columns and "lat" in df.columns:
        return _point_coordinates(df, path, crs, "points")
    raise CovkitInputError("points need columns x, y (scenario CRS, metres) or lon, lat "
                           f"(degrees); found: {', '.join(map(str, df.columns))}", file=path,
                           column="x,y")


unique_ids = _unique_ids
"""Ids of a column as text, refusing empty and duplicate ones (file, column and row named):
the check townships and villages share."""
check_polygons = _check_polygons
"""Refuse empty and non-polygon geometries (file, column and row named)."""
numeric_column = _numeric
"""A column as float64, refusing text that is not a number, missing values (unless
``allow_nan``) and values out of ``[lo, hi]`` (file, column and row named)."""
require_columns = _require_columns
"""Refuse a table without one of ``columns`` (file and column named)."""
point_coordinates = _point_coordinates
"""x, y [m] in the working CRS from lon / lat columns (range-checked) or point geometry."""
lonlat_to_xy = _lonlat_to_xy
"""WGS 84 degrees to working-CRS metres (the transform every point reader uses)."""
