"""Interactive coverage map of a run's output folder: ``map.html`` (Folium / Leaflet).

:func:`write_map` reads the files ``covkit run`` (and ``covkit sites``) write into an output
folder and draws them on one Leaflet map:

- ``rsrp_best.tif`` (and optionally ``sinr.tif``, ``coverage_probability.tif``, ``covered.tif``)
  as coloured image overlays with a legend, reprojected to Web Mercator (EPSG:3857) so that
  Leaflet places every pixel where it belongs; transparent where the raster is nodata;
- ``kpi_townships.gpkg`` as a choropleth of population coverage [%], remote townships outlined
  with a thick dashed border, a tooltip with the township's KPI row;
- the scenario's stations (clustered, one marker per site and operator, popup with operator,
  antenna height, frequencies and EIRP), the proposed sites of ``sites_proposed.csv`` / ``.gpkg``
  (rank, newly covered population) and the trails;
- a layer control and a title block with the headline KPIs of ``kpi_summary.json`` and the
  method (threshold, location probability, grid, model).

Offline by default: no base tiles, and Leaflet, Leaflet.markercluster, jQuery, Bootstrap, Font
Awesome and d3 (for the colormap legends) are copied from the installed ``xstatic-*`` Python
packages into ``lib/`` beside ``map.html`` and linked relatively; the page requests nothing from
the internet. ``cdn=True`` keeps Folium's CDN links and adds an OpenStreetMap base layer.

Only this module imports folium, and only inside :func:`write_map`.
"""

from __future__ import annotations

import html
import importlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from covkit.errors import CovkitError, CovkitInputError

MAP_NAME = "map.html"
LIB_DIR = "lib"
WEB_MERCATOR = "EPSG:3857"
MAX_ZOOM = 18
MAX_OVERLAY_PX = 2048  # longest side of an overlay image; larger rasters are resampled

# ----------------------------------------------------------------------------------------------
# Offline assets: (xstatic package, file inside its data folder) -> path under lib/


@dataclass(frozen=True)
class _Asset:
    package: str  # module under xstatic.pkg
    src: str  # path inside the package's BASE_DIR (a folder when it ends with "/")
    dest: str  # path under lib/


_ASSETS: dict[str, tuple[_Asset, ...]] = {
    "leaflet.js": (_Asset("leaflet", "leaflet.js", "leaflet/leaflet.js"),),
    "leaflet.css": (_Asset("leaflet", "leaflet.css", "leaflet/leaflet.css"),
                    _Asset("leaflet", "images/", "leaflet/images/")),
    "jquery.js": (_Asset("jquery", "jquery.min.js", "jquery/jquery.min.js"),),
    "bootstrap.js": (_Asset("bootstrap", "js/bootstrap.bundle.min.js",
                            "bootstrap/js/bootstrap.bundle.min.js"),),
    "bootstrap.css": (_Asset("bootstrap", "css/bootstrap.min.css",
                             "bootstrap/css/bootstrap.min.css"),),
    "fontawesome.css": (_Asset("font_awesome", "css/all.min.css", "font-awesome/css/all.min.css"),
                        _Asset("font_awesome", "webfonts/", "font-awesome/webfonts/")),
    "d3.js": (_Asset("d3", "d3.js", "d3/d3.js"),),
    "markercluster.js": (_Asset("leaflet_markercluster", "leaflet.markercluster.js",
                                "leaflet.markercluster/leaflet.markercluster.js"),),
    "markercluster.css": (_Asset("leaflet_markercluster", "MarkerCluster.css",
                                 "leaflet.markercluster/MarkerCluster.css"),),
    "markercluster.default.css": (_Asset("leaflet_markercluster", "MarkerCluster.Default.css",
                                         "leaflet.markercluster/MarkerCluster.Default.css"),),
}

# CDN file name (last URL segment, lower case) -> asset key; None = drop the tag (assets with no
# offline package: awesome-markers and its rotate CSS, Bootstrap 3 glyphicons; this module uses
# none of them).
_CDN_FILES: dict[str, str | None] = {
    "leaflet.js": "leaflet.js",
    "leaflet-src.js": "leaflet.js",
    "leaflet.css": "leaflet.css",
    "jquery.min.js": "jquery.js",
    "bootstrap.bundle.min.js": "bootstrap.js",
    "bootstrap.min.js": "bootstrap.js",
    "bootstrap.min.css": "bootstrap.css",
    "all.min.css": "fontawesome.css",
    "all.css": "fontawesome.css",
    "d3.min.js": "d3.js",
    "d3.js": "d3.js",
    "leaflet.markercluster.js": "markercluster.js",
    "leaflet.markercluster-src.js": "markercluster.js",
    "markercluster.css": "markercluster.css",
    "markercluster.default.css": "markercluster.default.css",
    "leaflet.awesome-markers.js": None,
    "leaflet.awesome-markers.css": None,
    "leaflet.awesome.rotate.min.css": None,
    "leaflet.awesome.rotate.css": None,
    "bootstrap-glyphicons.css": None,
}

_TAG_RE = re.compile(
    r"""<script\b[^>]*\bsrc\s*=\s*["'](?P<js>https?://[^"']+)["'][^>]*>\s*</script>\s*"""
    r"""|<link\b[^>]*\bhref\s*=\s*["'](?P<css>https?://[^"']+)["'][^>]*>\s*""",
    re.IGNORECASE,
)
_EXTERNAL_RE = re.compile(
    r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//|@import\s+["'](?:https?:)?//""",
    re.IGNORECASE,
)


def _xstatic_dir(package: str) -> Path:
    try:
        mod = importlib.import_module(f"xstatic.pkg.{package}")
    except ImportError:
        dist = "xstatic-" + package.replace("_", "-")
        raise CovkitError(
            f"the offline map needs the Python package {dist} (pip install {dist}), or use "
            "--cdn to load the web libraries from the internet") from None
    return Path(mod.BASE_DIR)


def _copy_asset(asset: _Asset, lib: Path) -> None:
    src = _xstatic_dir(asset.package) / asset.src
    dest = lib / asset.dest
    files = [src] if not asset.src.endswith("/") else sorted(p for p in src.iterdir()
                                                               if p.is_file())
    for f in files:
        if not f.is_file():
            raise CovkitError(f"missing file {f} in the installed xstatic-{asset.package} package")
        target = dest if not asset.src.endswith("/") else dest / f.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file() and target.stat().st_size == f.stat().st_size and \
                target.read_bytes() == f.read_bytes():
            continue
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        try:
            shutil.copyfile(f, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def localize_assets(page: str, lib: Path | None, lib_href: str = LIB_DIR) -> str:
    """Replace every CDN ``<script src>`` / ``<link href>`` of a rendered page by a local copy.

    Parameters
    ----------
    page : str
        Rendered HTML (Folium / branca).
    lib : path or None
        Folder to copy the assets into (``None``: rewrite links only).
    lib_href : str
        Relative URL of that folder as seen from the page.

    Returns
    -------
    str
        The page with relative links only.

    Raises
    ------
    CovkitError
        When an external link has no offline equivalent, or one is left after rewriting.
    """
    needed: list[str] = []

    def swap(m: re.Match) -> str:
        url = m.group("js") or m.group("css")
        fname = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1].lower()
        fname = re.sub(r"-\d+(?:\.\d+)+", "", fname)  # jquery-3.7.1.min.js -> jquery.min.js
        if fname not in _CDN_FILES:
            raise CovkitError(f"map asset {url} has no offline copy; use --cdn for this map")
        key = _CDN_FILES[fname]
        if key is None:
            return ""
        needed.append(key)
        href = f"{lib_href}/{_ASSETS[key][0].dest}"
        if m.group("js"):
            return f'<script src="{href}"></script>\n'
        return f'<link rel="stylesheet" href="{href}"/>\n'

    out = _TAG_RE.sub(swap, page)
    left = _EXTERNAL_RE.search(out)
    if left:
        snippet = out[left.start():left.start() + 120].split("\n")[0]
        raise CovkitError(f"map page still references an external resource: {snippet}")
    if lib is not None:
        for key in dict.fromkeys(needed):
            for asset in _ASSETS[key]:
                _copy_asset(asset, lib)
    return out


# ----------------------------------------------------------------------------------------------
# Raster overlays


@dataclass(frozen=True)
class _LayerStyle:
    file: str
    title: str
    caption: str
    vmin: float
    vmax: float
    colors: tuple[str, ...]
    scale: float = 1.0  # legend value = raster value * scale


_RSRP_COLORS = ("#5e0016", "#c2302a", "#f2852e", "#fde15a", "#9bd161", "#2e9e4f", "#0b5d8f")
_SINR_COLORS = ("#4b0055", "#7b2f8c", "#b85c9e", "#ef8f7a", "#f8c95a", "#e9f4a0")
_PROB_COLORS = ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b")

LAYERS: dict[str, _LayerStyle] = {
    "rsrp": _LayerStyle("rsrp_best.tif", "Best RSRP", "Best RSRP [dBm]", -130.0, -70.0,
                        _RSRP_COLORS),
    "sinr": _LayerStyle("sinr.tif", "SINR", "SINR of the best server [dB]", -10.0, 30.0,
                        _SINR_COLORS),
    "coverage_probability": _LayerStyle(
        "coverage_probability.tif", "Coverage probability",
        "Coverage probability [%]", 0.0, 100.0, _PROB_COLORS, 100.0),
    "covered": _LayerStyle("covered.tif", "Covered", "Covered (1) / not covered (0)", 0.0, 1.0,
                           ("#d7301f", "#1a9850")),
}
_TOWNSHIP_COLORS = ("#d73027", "#fc8d59", "#fee08b", "#d9ef8b", "#91cf60", "#1a9850")
LEGEND_WIDTH_PX = 340


def _hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _colorize(values: np.ndarray, style: _LayerStyle, alpha: int = 200) -> np.ndarray:
    """RGBA uint8 image: linear interpolation between equally spaced stops, as branca does."""
    stops = np.array([_hex_rgb(c) for c in style.colors], dtype=np.float64)
    t = (values * style.scale - style.vmin) / (style.vmax - style.vmin)
    t = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0) * (len(stops) - 1)
    i0 = np.minimum(np.floor(t).astype(np.int64), len(stops) - 2)
    f = (t - i0)[..., None]
    rgb = stops[i0] * (1.0 - f) + stops[i0 + 1] * f
    rgba = np.zeros(values.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = np.round(rgb).astype(np.uint8)
    rgba[..., 3] = np.where(np.isfinite(values), alpha, 0).astype(np.uint8)
    return rgba


def _png_data_url(rgba: np.ndarray) -> str:
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def raster_to_mercator(path: Path, max_px: int = MAX_OVERLAY_PX):
    """Read band 1 of a raster and reproject it to Web Mercator for a Leaflet image overlay.

    Parameters
    ----------
    path : path
        GeoTIFF in any projected or geographic CRS.
    max_px : int
        Longest side of the output image [pixels]; coarser than the source when exceeded.

    Returns
    -------
    values : numpy.ndarray
        float64 (rows, cols) in EPSG:3857, NaN where the source is nodata or outside it.
    bounds_latlon : list
        ``[[south, west], [north, east]]`` [deg] of the reprojected image.
    """
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject, transform

    with rasterio.open(path) as src:
        if src.crs is None:
            raise CovkitInputError("raster has no CRS", file=path)
        band = src.read(1, masked=True)
        data = np.ma.filled(band.astype(np.float64), np.nan)
        src_crs, src_transform = src.crs, src.transform
        width, height, bounds = src.width, src.height, src.bounds
    dst_transform, dst_w, dst_h = calculate_default_transform(
        src_crs, WEB_MERCATOR, width, height, *bounds)
    scale = max(dst_w, dst_h) / max_px
    if scale > 1.0:
        res = (dst_transform.a * scale, -dst_transform.e * scale)
        dst_transform, dst_w, dst_h = calculate_default_transform(
            src_crs, WEB_MERCATOR, width, height, *bounds, resolution=res)
    out = np.full((dst_h, dst_w), np.nan, dtype=np.float64)
    reproject(data, out, src_transform=src_transform, src_crs=src_crs, src_nodata=np.nan,
              dst_transform=dst_transform, dst_crs=WEB_MERCATOR, dst_nodata=np.nan,
              resampling=Resampling.nearest)
    left, top = dst_transform.c, dst_transform.f
    right, bottom = left + dst_transform.a * dst_w, top + dst_transform.e * dst_h
    lons, lats = transform(WEB_MERCATOR, "EPSG:4326", [left, right], [bottom, top])
    return out, [[lats[0], lons[0]], [lats[1], lons[1]]]


# ----------------------------------------------------------------------------------------------
# Reading the run's files (tolerant of missing keys)


def _read_json(path: Path) -> dict:
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


def _input_path(summary: dict, name: str, out_dir: Path) -> Path | None:
    """Path of an input file recorded in a run summary (``input_files`` / ``parameters``)."""
    cands: list[Any] = []
    files = summary.get("input_files")
    if isinstance(files, dict):
        entry = files.get(name)
        cands.append(entry.get("path") if isinstance(entry, dict) else entry)
    for sec in ("parameters", "scenario"):
        block = summary.get(sec)
        if isinstance(block, dict):
            inputs = block.get("inputs")
            cands.append(inputs.get(name) if isinstance(inputs, dict) else block.get(name))
    for c in cands:
        if isinstance(c, str) and c:
            p = Path(c)
            p = p if p.is_absolute() else out_dir / p
            if p.is_file():
                return p
    return None


def _fmt(value: Any, digits: int = 1) -> str:
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
    v = _json_safe(value)
    if not isinstance(v, int | float) or isinstance(v, bool):
        return _fmt(v)
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
        parts.append(f"RSRP >= {_fmt(float(thr))} dBm")
    if lp is not None:
        s = f" (shadowing sigma {_fmt(float(sigma))} dB)" if sigma is not None else ""
        parts.append(f"at {_fmt(100.0 * float(lp), 0)} % location probability{s}")
    if sinr is not None:
        parts.append(f"and SINR >= {_fmt(float(sinr))} dB")
    if res is not None:
        parts.append(f"on a {_fmt(float(res), 0)} m grid")
    if model is not None:
        parts.append(f"with propagation model {model}")
    return " ".join(parts) if parts else "method parameters not recorded"


def _bool_series(values) -> np.ndarray:
    out = []
    for v in values:
        if isinstance(v, str):
            out.append(v.strip().lower() in ("1", "true", "yes", "y", "t"))
        else:
            out.append(bool(v) if v is not None and v == v else False)
    return np.asarray(out, dtype=bool)


def _read_vector(path: Path, what: str):
    import geopandas as gpd
    import pandas as pd

    if path.suffix.lower() == ".csv":
        df = pd.read_csv(path, skipinitialspace=True)
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


def _scenario_inputs(scenario_path: Path | None) -> dict[str, Path | None]:
    if scenario_path is None:
        return {}
    from covkit.config import load_scenario

    sc = load_scenario(scenario_path)
    return {"stations": sc.inputs.stations, "trails": sc.inputs.trails}


def _json_safe(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# ----------------------------------------------------------------------------------------------
# The map

_OPERATOR_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")

_TOWNSHIP_FIELDS = (
    ("name", "Township"), ("township_id", "ID"), ("county", "County"), ("remote", "Remote"),
    ("population", "Population"), ("covered_population", "Covered population"),
    ("coverage_pct", "Coverage [%]"), ("households", "Households"),
    ("households_fibre_400m", "Households within 400 m of fibre"),
    ("fibre_coverage_pct", "Fibre household coverage [%]"),
)

_CSS = """
<style>
  .leaflet-container { background: #eef1f4; }
  .legend.leaflet-control { background: rgba(255,255,255,0.88); border-radius: 5px;
    padding: 2px 0; box-shadow: 0 1px 4px rgba(0,0,0,0.3); }
  .legend.leaflet-control svg { display: block; }
  .covkit-title { position: fixed; bottom: 46px; left: 10px; z-index: 1000; max-width: 420px;
    background: rgba(255,255,255,0.93); border: 1px solid #888; border-radius: 6px;
    padding: 8px 12px; font: 12px/1.35 system-ui, sans-serif; color: #222;
    box-shadow: 0 1px 4px rgba(0,0,0,0.3); }
  .covkit-title h4 { margin: 0 0 4px 0; font-size: 15px; font-weight: 600; }
  .covkit-title table { border-collapse: collapse; margin: 2px 0 4px 0; }
  .covkit-title td { padding: 0 8px 0 0; }
  .covkit-title td.v { text-align: right; font-weight: 600; }
  .covkit-title .method { color: #444; font-size: 11px; }
  .covkit-proposed div { width: 22px; height: 22px; border-radius: 11px; background: #ffd400;
    border: 2px solid #111; font: bold 11px/18px system-ui, sans-serif; text-align: center;
    color: #111; box-sizing: border-box; }
  .covkit-popup td { padding: 0 6px 0 0; font-size: 12px; }
</style>
"""


def _table_html(rows: Sequence[tuple[str, str]], cls: str = "covkit-popup") -> str:
    body = "".join(f"<tr><td>{html.escape(k)}</td><td><b>{html.escape(v)}</b></td></tr>"
                   for k, v in rows)
    return f'<table class="{cls}">{body}</table>'


def _title_html(summary: dict, after: dict, name: str) -> str:
    rows = []

    def add(label: str, key: str, unit: str = " %", src: dict = summary) -> None:
        v = src.get(key)
        if v is not None:
            rows.append((label, (fmt_pct(v) if unit == " %" else _fmt(v)) + unit))

    add("Population coverage", "population_coverage_pct")
    add("Non-remote townships", "non_remote_population_coverage_pct")
    add("Remote townships", "remote_population_coverage_pct")
    if summary.get("remote_townships") is not None:
        rows.append(("Remote townships with coverage",
                     f"{_fmt(summary.get('remote_townships_with_coverage'))} of "
                     f"{_fmt(summary.get('remote_townships'))}"))
    add("Fibre households (non-remote)", "fibre_household_coverage_non_remote_pct")
    add("Trail km covered", "trail_coverage_pct")
    if after:
        add("After proposed sites: population", "population_coverage_pct", src=after)
        add("After proposed sites: remote", "remote_population_coverage_pct", src=after)
    ops = summary.get("operators")
    if isinstance(ops, dict):
        for op, e in ops.items():
            if isinstance(e, dict) and e.get("population_coverage_pct") is not None:
                rows.append((f"Operator {op}", fmt_pct(e["population_coverage_pct"]) + " %"))
    table = "".join(f"<tr><td>{html.escape(k)}</td><td class='v'>{html.escape(v)}</td></tr>"
                    for k, v in rows)
    return (f'<div class="covkit-title" id="covkit-title"><h4>{html.escape(name)}</h4>'
            f"<table>{table}</table>"
            f'<div class="method">Method: {html.escape(method_text(summary))}</div></div>')


def write_map(
    out_dir: Path | str,
    scenario_path: Path | str | None = None,
    *,
    stations: Path | str | None = None,
    trails: Path | str | None = None,
    cdn: bool = False,
    layers: Sequence[str] = ("rsrp", "sinr", "coverage_probability"),
) -> Path:
    """Write ``map.html`` (and, offline, its ``lib/`` folder) into a run's output folder.

    Parameters
    ----------
    out_dir : path
        Output folder of ``covkit run`` (``rsrp_best.tif``, ``kpi_townships.gpkg``,
        ``kpi_summary.json``; optionally ``sinr.tif``, ``coverage_probability.tif``,
        ``sites_proposed.gpkg`` / ``.csv``, ``kpi_after.json``).
    scenario_path : path, optional
        Scenario TOML: where the stations and trails come from. Default: the input files
        recorded in ``kpi_summary.json``, else ``stations.csv`` / ``trails.gpkg`` in ``out_dir``.
    stations, trails : path, optional
        Override the stations table (CSV with lon/lat, or a point vector file) and the trails.
    cdn : bool
        Load Leaflet and the other web libraries from their CDNs and add an OpenStreetMap base
        layer (needs internet to view). Default: fully offline, libraries copied into ``lib/``.
    layers : sequence of str
        Raster overlays, any of ``rsrp``, ``sinr``, ``coverage_probability``, ``covered``. The
        first one present is shown; the others start hidden in the layer control.

    Returns
    -------
    pathlib.Path
        The written ``map.html`` (replaced atomically).

    Raises
    ------
    CovkitInputError
        When ``out_dir`` holds none of the run's outputs, a layer name is unknown, or a file
        cannot be read.
    """
    import folium
    from branca.colormap import LinearColormap
    from branca.element import Element
    from folium.plugins import MarkerCluster

    out = Path(out_dir)
    if not out.is_dir():
        raise CovkitInputError("output folder does not exist", file=out)
    bad = [name for name in layers if name not in LAYERS]
    if bad:
        raise CovkitInputError(f"unknown map layer {bad[0]!r}; choose from {', '.join(LAYERS)}")
    summary = _read_json(out / "kpi_summary.json")
    after = _read_json(out / "kpi_after.json")
    kpi_path = out / "kpi_townships.gpkg"
    rasters = [(name, out / LAYERS[name].file) for name in layers
               if (out / LAYERS[name].file).is_file()]
    if not rasters and not kpi_path.is_file():
        raise CovkitInputError(
            "no coverage outputs found (rsrp_best.tif, kpi_townships.gpkg); run "
            "'covkit run SCENARIO.toml --out DIR' first", file=out)

    sc_inputs = _scenario_inputs(Path(scenario_path) if scenario_path is not None else None)

    def locate(name: str, override, defaults: tuple[str, ...]) -> Path | None:
        if override is not None:
            p = Path(override)
            if not p.is_file():
                raise CovkitInputError(f"{name} file does not exist", file=p)
            return p
        if sc_inputs:
            return sc_inputs.get(name)
        p = _input_path(summary, name, out)
        if p is not None:
            return p
        return next((out / d for d in defaults if (out / d).is_file()), None)

    stations_path = locate("stations", stations, ("stations.csv", "stations.gpkg"))
    trails_path = locate("trails", trails, ("trails.gpkg", "trails.geojson"))
    title = str(summary.get("scenario") if isinstance(summary.get("scenario"), str)
                else find_key(summary, "name") or "covkit coverage")

    fmap = folium.Map(location=[0.0, 0.0], zoom_start=2, tiles=None, max_zoom=MAX_ZOOM,
                      control_scale=True)
    fmap.options["maxZoom"] = MAX_ZOOM  # folium passes max_zoom to tiles only; none offline
    fmap.get_root().title = f"{title}: coverage map"
    if cdn:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", max_zoom=MAX_ZOOM,
                         control=True).add_to(fmap)
    bounds: list[list[float]] = []

    # raster overlays
    thr = find_key(summary, "rsrp_threshold_dbm")
    for i, (name, path) in enumerate(rasters):
        style = LAYERS[name]
        values, bb = raster_to_mercator(path)
        if not np.isfinite(values).any():
            continue
        folium.raster_layers.ImageOverlay(
            image=_png_data_url(_colorize(values, style)), bounds=bb, name=style.title,
            opacity=1.0, interactive=False, cross_origin=False, zindex=1, show=(i == 0),
        ).add_to(fmap)
        caption = style.caption
        if name == "rsrp" and thr is not None:
            caption += f"; threshold {_fmt(float(thr))} dBm"
        legend = LinearColormap(list(style.colors), vmin=style.vmin, vmax=style.vmax,
                                caption=caption)
        legend.width = LEGEND_WIDTH_PX  # branca draws every legend into the first legend box
        legend.add_to(fmap)
        bounds.extend(bb)

    # townships
    if kpi_path.is_file():
        import geopandas as gpd

        try:
            tw = gpd.read_file(kpi_path)
        except Exception as exc:  # noqa: BLE001
            raise CovkitInputError(f"cannot read township KPIs: {exc}", file=kpi_path) from None
        if tw.crs is None:
            raise CovkitInputError("township KPI file has no CRS", file=kpi_path)
        tw = tw.to_crs("EPSG:4326")
        remote = _bool_series(tw["remote"]) if "remote" in tw.columns else \
            np.zeros(len(tw), dtype=bool)
        fields = [(c, a) for c, a in _TOWNSHIP_FIELDS if c in tw.columns]
        op_cols = sorted(c for c in tw.columns if c.startswith("coverage_pct_"))
        fields += [(c, f"Coverage {c[len('coverage_pct_'):]} [%]") for c in op_cols]
        pct_cmap = LinearColormap(list(_TOWNSHIP_COLORS), vmin=0.0, vmax=100.0,
                                  caption="Township coverage [%] (dashed: remote)")
        pct_cmap.width = LEGEND_WIDTH_PX
        feats = []
        for k, (_, row) in enumerate(tw.iterrows()):
            if row.geometry is None or row.geometry.is_empty:
                continue
            props = {"_remote": bool(remote[k]),
                     "_pct": _json_safe(row.get("coverage_pct")) if "coverage_pct" in tw else None}
            for c, _ in fields:
                v = _json_safe(row[c])
                if c == "remote":
                    props[c] = "yes" if remote[k] else "no"
                elif c in ("township_id", "name", "county"):
                    props[c] = "" if v is None else str(v)
                elif "_pct" in c:
                    props[c] = fmt_pct(v)
                else:
                    props[c] = _fmt(v)
            feats.append({"type": "Feature", "properties": props,
                          "geometry": row.geometry.__geo_interface__})
        if feats:
            def style_fn(feature, cmap=pct_cmap):
                p = feature["properties"]
                pct = p.get("_pct")
                fill = "#bbbbbb" if pct is None else cmap(min(max(float(pct), 0.0), 100.0))
                if p.get("_remote"):
                    return {"fillColor": fill, "fillOpacity": 0.35, "color": "#111111",
                            "weight": 3, "dashArray": "7 5", "className": "covkit-township"}
                return {"fillColor": fill, "fillOpacity": 0.35, "color": "#555555",
                        "weight": 1, "className": "covkit-township"}

            gj = folium.GeoJson(
                {"type": "FeatureCollection", "features": feats}, name="Townships: coverage %",
                style_function=style_fn,
                highlight_function=lambda f: {"weight": 4, "fillOpacity": 0.55},
                tooltip=folium.GeoJsonTooltip(fields=[c for c, _ in fields],
                                              aliases=[a for _, a in fields], sticky=True)
                if fields else None,
            )
            gj.add_to(fmap)
            pct_cmap.add_to(fmap)
            b = tw.total_bounds
            bounds.extend([[b[1], b[0]], [b[3], b[2]]])

    # trails
    if trails_path is not None:
        tr = _read_vector(trails_path, "trails")
        tr = tr[tr.geometry.notna() & ~tr.geometry.is_empty]
        if len(tr):
            keep = [c for c in ("trail_id", "name", "length_km") if c in tr.columns]
            tr = tr[keep + ["geometry"]]
            for c in keep:
                tr[c] = [_fmt(_json_safe(v)) if c == "length_km" else str(v) for v in tr[c]]
            folium.GeoJson(
                json.loads(tr.to_json()), name="Trails",
                style_function=lambda f: {"color": "#7a3b00", "weight": 2.5, "opacity": 0.9,
                                          "dashArray": "4 3", "className": "covkit-trail"},
                tooltip=folium.GeoJsonTooltip(fields=keep) if keep else None,
            ).add_to(fmap)

    # existing stations: one marker per site and operator
    if stations_path is not None:
        st = _read_vector(stations_path, "stations")
        st = st[st.geometry.notna() & ~st.geometry.is_empty]
        if len(st):
            st = st.assign(_lon=st.geometry.x.round(6), _lat=st.geometry.y.round(6))
            if "operator" not in st.columns:
                st["operator"] = "stations"
            ops = sorted(st["operator"].astype(str).unique())
            colors = {op: _OPERATOR_COLORS[i % len(_OPERATOR_COLORS)] for i, op in enumerate(ops)}
            cluster = MarkerCluster(name=f"Stations ({len(st):,} sectors)",
                                    options={"disableClusteringAtZoom": 13,
                                             "showCoverageOnHover": False}).add_to(fmap)
            for (op, lon, lat), g in st.groupby([st["operator"].astype(str), "_lon", "_lat"],
                                                sort=True):

                def uniq(col, unit="", g=g):
                    if col not in g.columns:
                        return None
                    vals = sorted({float(v) for v in g[col] if v == v})
                    return ", ".join(_fmt(v) for v in vals) + unit if vals else None

                rows = [("Operator", op)]
                ids = ", ".join(str(s) for s in g["station_id"]) if "station_id" in g else None
                for label, v in (("Site", str(g["site_id"].iloc[0]) if "site_id" in g else None),
                                 ("Sectors", ids), ("Height", uniq("height_m", " m")),
                                 ("Frequency", uniq("freq_mhz", " MHz")),
                                 ("EIRP", uniq("eirp_dbm", " dBm")),
                                 ("Technology", ", ".join(sorted(set(map(str, g["tech"]))))
                                  if "tech" in g else None)):
                    if v is not None:
                        rows.append((label, v))
                folium.CircleMarker(
                    location=[lat, lon], radius=6, color="#222222", weight=1,
                    fill_color=colors[op], fill_opacity=0.95, class_name="covkit-station",
                    popup=folium.Popup(_table_html(rows), max_width=320),
                    tooltip=f"{op} site",
                ).add_to(cluster)
                bounds.append([lat, lon])

    # proposed sites
    prop_path = next((out / n for n in ("sites_proposed.gpkg", "sites_proposed.csv")
                      if (out / n).is_file()), None)
    if prop_path is not None:
        ps = _read_vector(prop_path, "proposed sites")
        ps = ps[ps.geometry.notna() & ~ps.geometry.is_empty]
        if "rank" in ps.columns:
            ps = ps.sort_values("rank", kind="stable")
        group = folium.FeatureGroup(name=f"Proposed sites ({len(ps)})").add_to(fmap)
        for k, (_, row) in enumerate(ps.iterrows(), start=1):
            rank = row.get("rank", k)
            rank_txt = _fmt(_json_safe(rank))
            rows = [("Rank", rank_txt)]
            for col, label, unit in (("candidate_id", "Candidate", ""),
                                     ("township_id", "Township", ""),
                                     ("new_population", "Newly covered population", ""),
                                     ("cumulative_population", "Cumulative population", ""),
                                     ("new_trail_km", "Newly covered trail", " km"),
                                     ("cost", "Cost", ""),
                                     ("cost_per_new_person", "Cost per new person", "")):
                if col in ps.columns:
                    v = _json_safe(row[col])
                    rows.append((label, (str(v) if isinstance(v, str) else _fmt(v)) + unit))
            folium.Marker(
                location=[row.geometry.y, row.geometry.x],
                icon=folium.DivIcon(html=f"<div>{html.escape(rank_txt)}</div>",
                                    icon_size=(22, 22), icon_anchor=(11, 11),
                                    class_name="covkit-proposed"),
                popup=folium.Popup(_table_html(rows), max_width=320),
                tooltip=f"Proposed site #{rank_txt}",
            ).add_to(group)
            bounds.append([row.geometry.y, row.geometry.x])

    folium.LayerControl(collapsed=False).add_to(fmap)
    root = fmap.get_root()
    root.header.add_child(Element(_CSS), name="covkit_css")
    root.html.add_child(Element(_title_html(summary, after, title)), name="covkit_title")
    if bounds:
        arr = np.asarray(bounds, dtype=np.float64)
        fmap.fit_bounds([[float(np.nanmin(arr[:, 0])), float(np.nanmin(arr[:, 1]))],
                         [float(np.nanmax(arr[:, 0])), float(np.nanmax(arr[:, 1]))]])

    page = root.render()
    if not cdn:
        page = localize_assets(page, out / LIB_DIR)
    target = out / MAP_NAME
    fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{MAP_NAME}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(page)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
