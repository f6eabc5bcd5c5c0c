"""The run folder: the names of the files a run writes, and reading them back.

The coverage and site-proposal steps write these files (:mod:`covkit.coverage`); the map and the
report read them back (:mod:`covkit.maps`, :mod:`covkit.report`). Both sides take the names from
here, so a file cannot be written under one name and looked for under another.

The reading side is shared by the map and the report:

- :func:`read_json` (tolerant: a missing file is an empty dict), :func:`find_key`,
  :func:`input_path` (an input file recorded in the run summary), :func:`population_raster`;
- :func:`read_raster` (band 1 as float64 with NaN for nodata, its affine transform and CRS),
  :func:`read_townships`, :func:`read_proposed`, :func:`read_vector`, :func:`locate_input`;
- :class:`RunView`, a plain container of everything the map draws, filled from a folder by
  :meth:`RunView.from_folder` or from in-memory results by its constructor;
- the formatting of KPI values both show (:func:`fmt_value`, :func:`fmt_pct`,
  :func:`method_text`; counts and changes: :func:`fmt_count`, :func:`fmt_change`).

This module sits low in the import graph: it imports only :mod:`covkit.errors` and third-party
packages (geopandas, pandas and rasterio lazily, inside the readers).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio

from covkit.errors import CovkitInputError

if TYPE_CHECKING:
    import geopandas
    import pandas
    from affine import Affine

RSRP_BEST = "rsrp_best.tif"
RSRP_SECOND = "rsrp_second.tif"
BEST_SERVER = "best_server.tif"
SINR = "sinr.tif"
COVERAGE_PROBABILITY = "coverage_probability.tif"
COVERED = "covered.tif"
THROUGHPUT_DL = "throughput_dl_mbps.tif"
BEST_SERVER_LEGEND = "best_server.csv"
KPI_TOWNSHIPS_CSV = "kpi_townships.csv"
KPI_TOWNSHIPS_GPKG = "kpi_townships.gpkg"
KPI_TOWNSHIPS_PARQUET = "kpi_townships.parquet"
KPI_SUMMARY = "kpi_summary.json"
KPI_VILLAGES_CSV = "kpi_villages.csv"
KPI_VILLAGES_GPKG = "kpi_villages.gpkg"
KPI_VILLAGES_PARQUET = "kpi_villages.parquet"
"""Village mode (inputs.villages): the per-village table, and with the polygons."""

SITES_PROPOSED_CSV = "sites_proposed.csv"
SITES_PROPOSED_GPKG = "sites_proposed.gpkg"
SITES_PROPOSED_PARQUET = "sites_proposed.parquet"
KPI_AFTER = "kpi_after.json"
SITES_SUMMARY = "sites_summary.json"

MAP_HTML = "map.html"
MAP_LIB_DIR = "lib"
REPORT_HTML = "report.html"
REPORT_MD = "report.md"
REPORT_FIG_TOWNSHIPS = "report_township_coverage.png"
REPORT_FIG_RSRP = "report_rsrp_distribution.png"
REPORT_FIG_BEFORE_AFTER = "report_before_after.png"
REPORT_FIG_MAP = "report_coverage_map.png"

POPULATION_TIF = "population.tif"
"""A population raster beside the run's outputs (used before the one the summary records)."""
STATIONS_FILES = ("stations.csv", "stations.gpkg")
"""Stations tables looked for in the run folder when neither a scenario nor the summary names
one."""
TRAILS_FILES = ("trails.gpkg", "trails.geojson")
"""Trails files looked for in the run folder likewise."""

COVERAGE_RASTERS = (RSRP_BEST, RSRP_SECOND, BEST_SERVER, SINR, COVERAGE_PROBABILITY, COVERED,
                    THROUGHPUT_DL)
"""Rasters of a coverage run (``throughput_dl_mbps.tif`` only with throughput on)."""
COVERAGE_TABLES = (BEST_SERVER_LEGEND, KPI_TOWNSHIPS_CSV, KPI_TOWNSHIPS_GPKG,
                   KPI_TOWNSHIPS_PARQUET, KPI_VILLAGES_CSV, KPI_VILLAGES_GPKG,
                   KPI_VILLAGES_PARQUET, KPI_SUMMARY)
"""Tables of a coverage run."""
SITES_FILES = (SITES_PROPOSED_CSV, SITES_PROPOSED_GPKG, SITES_PROPOSED_PARQUET, KPI_AFTER,
               SITES_SUMMARY)
"""Files of a site-proposal run."""
REPORT_FILES = (REPORT_HTML, REPORT_MD, REPORT_FIG_TOWNSHIPS, REPORT_FIG_RSRP,
                REPORT_FIG_BEFORE_AFTER, REPORT_FIG_MAP)
"""Files of the report (the figures only when their section has data)."""

RASTER_LAYERS: dict[str, str] = {
    "rsrp": RSRP_BEST,
    "sinr": SINR,
    "coverage_probability": COVERAGE_PROBABILITY,
    "covered": COVERED,
}
"""Raster layers of the map: layer name -> file in the run folder."""
DEFAULT_MAP_LAYERS = ("rsrp", "sinr", "coverage_probability")
"""The raster layers the map shows unless told otherwise."""

_RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img")

Raster = tuple[np.ndarray, "Affine", Any]
"""A raster layer: (values float (rows, cols) with NaN for nodata, affine transform, CRS)."""

# ----------------------------------------------------------------------------------------------
# JSON summaries and the inputs they record


def read_json(path: Path) -> dict:
    """A run's JSON summary as a dict; ``{}`` when the file is missing or not a JSON object.

    Raises
    ------
    CovkitInputError
        When the file exists but cannot be read or parsed.
    """
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CovkitInputError(f"cannot read JSON: {exc}", file=path) from None
    return data if isinstance(data, dict) else {}


def find_key(obj: Any, key: str) -> Any:
    """First value stored under ``key`` in nested dicts (breadth first), or None."""
    queue = [obj]
    while queue:
        cur = queue.pop(0)
        if isinstance(cur, dict):
            if key in cur and cur[key] is not None and not isinstance(cur[key], dict):
                return cur[key]
            queue.extend(v for v in cur.values() if isinstance(v, dict))
    return None


def input_path(summary: dict, name: str, out_dir: Path) -> Path | None:
    """Path of an input file recorded in a run summary (``input_files`` / ``parameters``).

    Relative paths are taken from ``out_dir``; a recorded file that does not exist is skipped.
    """
    cands: list[Any] = []
    files = summary.get("input_files")
    if isinstance(files, dict):
        entry = files.get(name)
        if isinstance(entry, list) and entry:  # several files (DEMs): the first
            entry = entry[0]
        cands.append(entry.get("path") if isinstance(entry, dict) else entry)
    for sec in ("parameters", "scenario"):
        block = summary.get(sec)
        if isinstance(block, dict):
            inputs = block.get("inputs")
            c = inputs.get(name) if isinstance(inputs, dict) else block.get(name)
            cands.append(c[0] if isinstance(c, list) and c else c)
    for c in cands:
        if isinstance(c, str) and c:
            p = Path(c)
            p = p if p.is_absolute() else out_dir / p
            if p.is_file():
                return p
    return None


def population_raster(summary: dict, out_dir: Path) -> Path | None:
    """The run's population raster: ``population.tif`` in ``out_dir``, else the population input
    recorded in the summary when it is a raster; None otherwise."""
    cand = Path(out_dir) / POPULATION_TIF
    if cand.is_file():
        return cand
    p = input_path(summary, "population", Path(out_dir))
    if p is not None and p.suffix.lower() in _RASTER_SUFFIXES:
        return p
    return None


def locate_input(name: str, override: Path | str | None, out_dir: Path, summary: dict,
                 scenario_inputs: Mapping[str, Path | None] | None,
                 defaults: Sequence[str]) -> Path | None:
    """Where an input of the run (``stations``, ``trails``) is read from.

    In order: ``override`` (must exist), the scenario's inputs when given (None there means the
    scenario has none), the file recorded in the summary, the first of ``defaults`` in
    ``out_dir``.

    Raises
    ------
    CovkitInputError
        When ``override`` does not exist.
    """
    if override is not None:
        p = Path(override)
        if not p.is_file():
            raise CovkitInputError(f"{name} file does not exist", file=p)
        return p
    if scenario_inputs:
        return scenario_inputs.get(name)
    p = input_path(summary, name, out_dir)
    if p is not None:
        return p
    return next((out_dir / d for d in defaults if (out_dir / d).is_file()), None)


# ----------------------------------------------------------------------------------------------
# Rasters and tables


def read_raster(path: Path) -> Raster:
    """Band 1 of a raster.

    Returns
    -------
    values : numpy.ndarray
        float64 (rows, cols), NaN where the band is nodata.
    transform : affine.Affine
        Pixel -> CRS coordinates.
    crs : rasterio.crs.CRS or None
        The raster's CRS as stored (None when it has none).
    """
    with rasterio.open(path) as src:
        if src.nodata is not None and \
                list(src.mask_flag_enums[0]) == [rasterio.enums.MaskFlags.nodata]:
            # the mask is the nodata value (covkit's rasters): compare, as GDAL does, in the
            # band's type; a national grid reads in a fifth of the time of a masked read
            band = src.read(1)
            values = band.astype(np.float64)
            nodata = np.asarray(src.nodata).astype(band.dtype)
            values[np.isnan(band) if np.isnan(nodata) else band == nodata] = np.nan
            return values, src.transform, src.crs
        band = src.read(1, masked=True)
        return np.ma.filled(band.astype(np.float64), np.nan), src.transform, src.crs


def read_raster_overview(path: Path, max_px: int = 2048, *, overviews: bool = True) -> Raster:
    """Band 1 of a raster, read decimated (nearest) so that its longest side is at most
    ``max_px`` pixels; values, transform and CRS as :func:`read_raster` returns them.

    ``overviews=False`` samples the full-resolution band (every value read is one of the
    file's cells) instead of letting GDAL read a stored overview (for covkit's COGs an average
    of cells); a raster within ``max_px`` reads as :func:`read_raster` reads it either way.

    Raises
    ------
    CovkitInputError
        When the file cannot be read as a raster.
    """
    try:
        with rasterio.open(path, **({} if overviews else {"OVERVIEW_LEVEL": "NONE"})) as src:
            scale = max(1.0, max(src.height, src.width) / max_px)
            h, w = max(1, round(src.height / scale)), max(1, round(src.width / scale))
            band = src.read(1, masked=True, out_shape=(h, w),
                            resampling=rasterio.enums.Resampling.nearest)
            transform = src.transform * src.transform.scale(src.width / w, src.height / h)
            return np.ma.filled(band.astype(np.float64), np.nan), transform, src.crs
    except rasterio.errors.RasterioError as exc:
        raise CovkitInputError(f"cannot read raster: {exc}", file=path) from None


CODE_COLUMNS = frozenset(("township_id", "county_code", "village_id", "station_id", "site_id",
                          "candidate_id", "towncode", "countycode", "villcode", "townid",
                          "countyid", "old_code_7"))
"""Columns (any case) holding codes; also any column whose name ends in ``_id`` or ``_code``.
``outputs.csv_codes = "excel"`` writes their text cells as ``="..."``."""


def is_code_column(name) -> bool:
    """True for a column of codes (:data:`CODE_COLUMNS`, or a name ending in ``_id`` or
    ``_code``)."""
    n = str(name).lower()
    return n in CODE_COLUMNS or n.endswith(("_id", "_code"))


def strip_excel_text(values: pd.Series) -> pd.Series:
    """Code cells written as Excel formula text (``="09007010"``, scenario key
    ``outputs.csv_codes = "excel"``) back to the code (``09007010``); other values as they
    are."""
    if not (pd.api.types.is_object_dtype(values.dtype) or
            pd.api.types.is_string_dtype(values.dtype)):
        return values
    text = values.astype(object)
    wrapped = np.array([isinstance(v, str) and len(v) >= 3 and v.startswith('="') and
                        v.endswith('"') for v in text], dtype=bool)
    if not wrapped.any():
        return values
    out = text.copy()
    out[wrapped] = [v[2:-1].replace('""', '"') for v in text[wrapped]]
    return out


def read_csv_table(path: Path, dtype: dict | None = None, **kwargs) -> pd.DataFrame:
    """A CSV covkit wrote (UTF-8 with or without a byte-order mark), with the code cells of code
    columns (:func:`is_code_column`) written for Excel (``="..."``) turned back into the codes
    (:func:`strip_excel_text`); other columns as they are."""
    df = pd.read_csv(path, dtype=dtype, encoding="utf-8-sig", **kwargs)
    for col in df.columns:
        if not is_code_column(col):
            continue
        stripped = strip_excel_text(df[col])
        if stripped is not df[col]:
            df[col] = stripped
    return df


def read_vector(path: Path, what: str):
    """A points / lines table in EPSG:4326: a CSV with ``lon`` and ``lat`` columns [deg] or any
    vector file (GeoJSON without a CRS is taken as EPSG:4326).

    Raises
    ------
    CovkitInputError
        When the CSV lacks lon/lat, the file cannot be read or has no CRS.
    """
    if path.suffix.lower() == ".csv":
        df = read_csv_table(path, skipinitialspace=True)
        if not {"lon", "lat"} <= set(df.columns):
            raise CovkitInputError(f"{what} CSV needs lon and lat columns", file=path)
        return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]),
                                crs="EPSG:4326")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear error
        raise CovkitInputError(f"cannot read {what}: {exc}", file=path) from None
    if gdf.crs is None:
        if path.suffix.lower() not in (".geojson", ".json"):
            raise CovkitInputError(f"{what} file has no CRS", file=path)
        gdf = gdf.set_crs("EPSG:4326")
    return gdf.to_crs("EPSG:4326")


def read_townships(out_dir: Path, *, geometry: bool = True):
    """The township KPI table of a run.

    Parameters
    ----------
    out_dir : path
        Run folder.
    geometry : bool
        True: ``kpi_townships.gpkg`` as a GeoDataFrame in its own CRS (KPI columns + polygons).
        False: the table as written to ``kpi_townships.csv`` (``township_id`` as text), else the
        GeoPackage's columns without the geometry.

    Returns
    -------
    geopandas.GeoDataFrame, pandas.DataFrame or None
        None when the file(s) are missing.

    Raises
    ------
    CovkitInputError
        When a file cannot be read, or the GeoPackage has no CRS (``geometry=True``).
    """
    out = Path(out_dir)
    gpkg = out / KPI_TOWNSHIPS_GPKG
    if geometry:
        if not gpkg.is_file():
            return None
        try:
            tw = gpd.read_file(gpkg)
        except Exception as exc:  # noqa: BLE001
            raise CovkitInputError(f"cannot read township KPIs: {exc}", file=gpkg) from None
        if tw.crs is None:
            raise CovkitInputError("township KPI file has no CRS", file=gpkg)
        return tw
    csv = out / KPI_TOWNSHIPS_CSV
    if csv.is_file():
        try:
            return read_csv_table(csv, dtype={"township_id": str})
        except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear error
            raise CovkitInputError(f"cannot read township KPIs: {exc}", file=csv) from None
    if gpkg.is_file():
        return pd.DataFrame(gpd.read_file(gpkg).drop(columns="geometry", errors="ignore"))
    return None


def read_proposed(out_dir: Path, *, geometry: bool = True):
    """The proposed sites of ``covkit sites``.

    Parameters
    ----------
    out_dir : path
        Run folder.
    geometry : bool
        True: ``sites_proposed.gpkg`` (else ``.csv``) as points in EPSG:4326. False: the table as
        written to ``sites_proposed.csv`` (``candidate_id`` and ``township_id`` as text).

    Returns
    -------
    geopandas.GeoDataFrame, pandas.DataFrame or None
        None when the file(s) are missing.

    Raises
    ------
    CovkitInputError
        When a file cannot be read.
    """
    out = Path(out_dir)
    if geometry:
        path = next((out / n for n in (SITES_PROPOSED_GPKG, SITES_PROPOSED_CSV)
                     if (out / n).is_file()), None)
        return None if path is None else read_vector(path, "proposed sites")
    path = out / SITES_PROPOSED_CSV
    if not path.is_file():
        return None
    try:
        return read_csv_table(path, dtype={"candidate_id": str, "township_id": str})
    except Exception as exc:  # noqa: BLE001
        raise CovkitInputError(f"cannot read proposed sites: {exc}", file=path) from None


# ----------------------------------------------------------------------------------------------
# Everything the map shows


@dataclass
class RunView:
    """What a map of a run shows, in memory: KPIs, rasters, townships, stations, sites.

    Attributes
    ----------
    summary : dict
        Headline KPIs and parameters (the content of ``kpi_summary.json``).
    kpi_after : dict
        KPIs with the proposed sites (``kpi_after.json``); ``{}`` without.
    townships : geopandas.GeoDataFrame or None
        Township KPI columns + polygons, any CRS.
    rasters : dict
        Layer name (``rsrp``, ``sinr``, ``coverage_probability``, ``covered``) ->
        (values, transform, crs): float values with NaN for nodata [dBm, dB, 0-1, 0/1], an
        ``affine.Affine`` and a CRS (rasterio CRS or a string such as ``"EPSG:3826"``).
    stations : geopandas.GeoDataFrame or None
        One row per sector (points); ``operator``, ``site_id``, ``station_id``, ``height_m``,
        ``freq_mhz``, ``eirp_dbm``, ``tech`` where known.
    trails : geopandas.GeoDataFrame or None
        Trail lines.
    proposed : geopandas.GeoDataFrame, pandas.DataFrame or None
        Proposed sites: points, or a table with ``lon``/``lat`` [deg].
    sites_summary : dict
        Summary of the site proposal (``sites_summary.json``); ``{}`` without.
    source : pathlib.Path or None
        The run folder the view was read from; None for an in-memory result.
    dem : tuple or None
        Terrain [m AMSL] as (values, transform, crs), like a raster layer, for the map's
        hillshade base layer (heights <= 0 m are drawn as sea); None for no base layer.
    """

    summary: dict = field(default_factory=dict)
    kpi_after: dict = field(default_factory=dict)
    townships: geopandas.GeoDataFrame | None = None
    rasters: dict[str, Raster] = field(default_factory=dict)
    stations: geopandas.GeoDataFrame | None = None
    trails: geopandas.GeoDataFrame | None = None
    proposed: geopandas.GeoDataFrame | pandas.DataFrame | None = None
    sites_summary: dict = field(default_factory=dict)
    source: Path | None = None
    dem: Raster | None = None

    @classmethod
    def from_folder(
        cls,
        out_dir: Path | str,
        *,
        scenario_inputs: Mapping[str, Path | None]
        | Callable[[], Mapping[str, Path | None]] | None = None,
        stations: Path | str | None = None,
        trails: Path | str | None = None,
        layers: Sequence[str] = DEFAULT_MAP_LAYERS,
        max_px: int | None = None,
    ) -> RunView:
        """Read a run folder (``covkit run`` / ``covkit sites`` outputs).

        Parameters
        ----------
        out_dir : path
            The run folder: ``rsrp_best.tif`` and the other rasters of ``layers``,
            ``kpi_townships.gpkg``, ``kpi_summary.json``; optionally ``sites_proposed.gpkg`` /
            ``.csv``, ``kpi_after.json``, ``sites_summary.json``.
        scenario_inputs : mapping or callable, optional
            The scenario's input files, ``{"stations": path or None, "trails": path or None}``
            (a callable returning it is called after the folder checks). When given, stations
            and trails come from here; otherwise from the files recorded in
            ``kpi_summary.json``, else ``stations.csv`` / ``trails.gpkg`` in ``out_dir``.
        stations, trails : path, optional
            Override the stations table (CSV with lon/lat, or a point vector file) and trails.
        layers : sequence of str
            Raster layers to read, any of :data:`RASTER_LAYERS`; missing files are skipped.
        max_px : int, optional
            Read the raster layers decimated (nearest, full-resolution cells) to at most this
            many pixels on the longest side (:func:`read_raster_overview`): what a map draws
            of a national grid, without holding the whole grid. Default: full resolution.

        Raises
        ------
        CovkitInputError
            When ``out_dir`` does not exist or holds none of the run's outputs, a layer name is
            unknown, an override file does not exist, or a file cannot be read.
        """
        out = Path(out_dir)
        if not out.is_dir():
            raise CovkitInputError("output folder does not exist", file=out)
        bad = [name for name in layers if name not in RASTER_LAYERS]
        if bad:
            raise CovkitInputError(
                f"unknown map layer {bad[0]!r}; choose from {', '.join(RASTER_LAYERS)}")
        summary = read_json(out / KPI_SUMMARY)
        after = read_json(out / KPI_AFTER)
        raster_paths = [(name, out / RASTER_LAYERS[name]) for name in layers
                        if (out / RASTER_LAYERS[name]).is_file()]
        if not raster_paths and not (out / KPI_TOWNSHIPS_GPKG).is_file():
            raise CovkitInputError(
                f"no coverage outputs found ({RSRP_BEST}, {KPI_TOWNSHIPS_GPKG}); run "
                "'covkit run SCENARIO.toml --out DIR' first", file=out)
        sc_inputs = scenario_inputs() if callable(scenario_inputs) else scenario_inputs
        stations_path = locate_input("stations", stations, out, summary, sc_inputs,
                                     STATIONS_FILES)
        trails_path = locate_input("trails", trails, out, summary, sc_inputs, TRAILS_FILES)

        rasters: dict[str, Raster] = {}
        for name, path in raster_paths:
            values, transform, crs = read_raster(path) if max_px is None else \
                read_raster_overview(path, max_px, overviews=False)
            if crs is None:
                raise CovkitInputError("raster has no CRS", file=path)
            rasters[name] = (values, transform, crs)
        townships = read_townships(out)
        trails_gdf = None if trails_path is None else read_vector(trails_path, "trails")
        stations_gdf = None if stations_path is None else read_vector(stations_path, "stations")
        dem_path = input_path(summary, "dem", out)
        return cls(summary=summary, kpi_after=after, townships=townships, rasters=rasters,
                   stations=stations_gdf, trails=trails_gdf, proposed=read_proposed(out),
                   sites_summary=read_json(out / SITES_SUMMARY), source=out,
                   dem=None if dem_path is None else read_raster_overview(dem_path))


# ----------------------------------------------------------------------------------------------
# KPI values as the map and the report show them


def json_safe(v: Any) -> Any:
    """A numpy scalar as the Python scalar; NaN and infinities as None."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def as_bool_array(values) -> np.ndarray:
    """A flag column (``remote``) as booleans: text ``1/true/yes/y/t`` (any case) is True, missing
    values are False."""
    out = []
    for v in values:
        if isinstance(v, str):
            out.append(v.strip().lower() in ("1", "true", "yes", "y", "t"))
        else:
            out.append(bool(v) if v is not None and v == v else False)
    return np.asarray(out, dtype=bool)


def fmt_value(value: Any, digits: int = 1) -> str:
    """A value for display: ``n/a`` for None / NaN, yes/no, integers with thousands separators,
    floats with ``digits`` decimals (none from 1000 up)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return "n/a"
        v = float(value)
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.{digits}f}"
    return str(value)


def fmt_pct(value: Any) -> str:
    """A percentage with one decimal that never rounds a shortfall up to 100 or a gain down to
    0: 97.94 -> "97.9", 99.97 -> "99.97", 99.9996 -> "99.999", 0.02 -> "0.02"."""
    v = json_safe(value)
    if not isinstance(v, int | float) or isinstance(v, bool):
        return fmt_value(v)
    if not math.isfinite(v):
        return "n/a"
    for digits in (1, 2, 3):
        text = f"{v:.{digits}f}"
        if (text != f"{100:.{digits}f}" or v >= 100.0) and (text != f"{0:.{digits}f}" or
                                                            v <= 0.0):
            return text
    if v > 50.0:  # within 0.0005 of 100: truncate
        return f"{math.floor(v * 1000.0) / 1000.0:.3f}"
    return f"{math.ceil(v * 1000.0) / 1000.0:.3f}"


def fmt_count(value: Any) -> str:
    """A count (people, households, townships, sites, cells) as a whole number with thousands
    separators: 2014683.0 -> "2,014,683", 0.0 -> "0", 509.6 -> "510"; ``n/a`` for None / NaN."""
    v = json_safe(value)
    if isinstance(v, bool) or not isinstance(v, int | float):
        return fmt_value(v)
    return f"{round(v):,}"


def fmt_change(before: Any, after: Any, unit: str = "") -> str:
    """The change from ``before`` to ``after`` in the unit's precision, signed only when it is
    not zero.

    ``unit`` ``"%"``: percentage points with one decimal, more when one decimal would show a
    non-zero change as zero ("+1.1 pp", "+0.04 pp", "0.0 pp"); ``"persons"`` or ``""``: a count,
    the difference of the whole numbers :func:`fmt_count` shows ("+22,474", "0"); any other
    unit: one decimal and the unit ("+2.5 km"). ``n/a`` when either value is missing.
    """
    b, a = json_safe(before), json_safe(after)
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in (b, a)):
        return "n/a"
    if unit in ("", "persons"):
        d = round(a) - round(b)
        return f"{d:+,}" if d else "0"
    d = a - b
    suffix = " pp" if unit == "%" else f" {unit}"
    if d == 0:
        return f"{0:.1f}{suffix}"
    for digits in (1, 2, 3):
        text = f"{d:+,.{digits}f}"
        if float(text.replace(",", "")) != 0.0:
            return text + suffix
    return f"{d:+.1g}{suffix}"  # below 0.0005: one significant digit


def terrain_notes(summary: dict) -> list[str]:
    """Sentences on the terrain a run stands on, for the map and the report: flat terrain
    filled where no DEM exists, synthetic (fractal) terrain detail, townships not computed."""
    flags = summary.get("terrain_flags")
    flags = [str(f) for f in flags] if isinstance(flags, list) else []
    prop = find_key(summary, "dem_detail_seed")
    res = summary.get("dem_resolution_m")
    out = []
    if any(f.startswith("flat terrain") for f in flags):
        out.append(f"Flat terrain (no DEM): {fmt_count(summary.get('flat_terrain_cells'))} land "
                   "cells without DEM data (inside township polygons) are computed as 0 m flat "
                   "terrain (propagation.no_terrain = flat); their townships are marked "
                   "'computed: flat terrain (no DEM)'.")
    if any(f.startswith("synthetic terrain") for f in flags):
        spacing = f" {fmt_value(float(res), 0)} m" if isinstance(res, int | float) else ""
        seed = f" (seed {prop})" if prop is not None else ""
        out.append(f"Synthetic terrain: seeded fractal detail{seed} is added below the DEM's"
                   f"{spacing} post spacing (propagation.dem_detail = fractal); coverage rests "
                   "on invented terrain detail.")
    nc = summary.get("townships_not_computed")
    if isinstance(nc, list) and nc:
        out.append(f"{len(nc)} township(s) not computed (no terrain, or no grid cell): "
                   f"{fmt_count(summary.get('population_not_computed'))} people are left out "
                   "of the coverage percentages.")
    return out


def method_text(summary: dict) -> str:
    """One line with the method: threshold, location probability, grid and model."""
    thr = find_key(summary, "rsrp_threshold_dbm")
    lp = find_key(summary, "location_probability")
    sigma = find_key(summary, "shadow_sigma_db")
    res = find_key(summary, "resolution_m")
    model = find_key(summary, "model")
    sinr = find_key(summary, "sinr_threshold_db")
    parts = []
    if thr is not None:
        parts.append(f"RSRP >= {fmt_value(float(thr))} dBm")
    if lp is not None:
        s = f" (shadowing sigma {fmt_value(float(sigma))} dB)" if sigma is not None else ""
        parts.append(f"at {fmt_value(100.0 * float(lp), 0)} % location probability{s}")
    if sinr is not None:
        parts.append(f"and SINR >= {fmt_value(float(sinr))} dB")
    if res is not None:
        parts.append(f"on a {fmt_value(float(res), 0)} m grid")
    bands = [b for b in summary.get("models_by_band") or [] if isinstance(b, dict)
             and not b.get("default") and isinstance(b.get("model"), str)]
    if bands:
        text = ", ".join(f"{b['model']} for {fmt_value(float(b['min_mhz']), 0)}-"
                         f"{fmt_value(float(b['max_mhz']), 0)} MHz" for b in bands)
        parts.append(f"with propagation models {text}" +
                     (f", {model} elsewhere" if model is not None else ""))
    elif model is not None:
        parts.append(f"with propagation model {model}")
    return " ".join(parts) if parts else "method parameters not recorded"


def sites_note(summary: dict) -> str | None:
    """The line a report and a map show when the stations are synthetic (generated by
    :func:`covkit.data.synthetic.synthetic_stations`, not a real network); None otherwise."""
    st = summary.get("stations")
    n = st.get("synthetic_sites") if isinstance(st, dict) else None
    if not summary.get("stations_synthetic") and not n:
        return None
    total = st.get("sites") if isinstance(st, dict) else None
    of = f"{fmt_value(n)} of {fmt_value(total)} sites" if n and total else "the sites"
    return (f"Synthetic sites: {of} are generated (placed by population and terrain), not a "
            "real network; coverage figures describe a plausible network, not the actual one")
