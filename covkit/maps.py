"""Interactive coverage map of a run: ``map.html`` (Folium / Leaflet).

:func:`build_map` draws a :class:`covkit.runfolder.RunView` (a run's KPIs, rasters, townships,
stations and proposed sites, in memory) on one Leaflet map and returns the ``folium.Map``;
:func:`write_map` reads the view from the files ``covkit run`` (and ``covkit sites``) write into
an output folder and saves the map there as ``map.html``. The map shows

- the best RSRP (and optionally SINR, coverage probability, covered) as coloured image overlays
  with a legend, reprojected to Web Mercator (EPSG:3857) so that Leaflet places every pixel where
  it belongs; transparent where the raster is nodata;
- the township KPIs as a choropleth of population coverage [%], remote townships outlined with a
  thick dashed border, a tooltip with the township's KPI row;
- the stations (clustered, one marker per site and operator, popup with operator, antenna
  height, frequencies and EIRP), drawn in the page from one data blob
  (:func:`station_data`), so that a national run's 13,200 sites cost a JSON array each, not a
  folium marker and popup; the proposed sites (rank, newly covered population) and the
  trails;
- a layer control and a side panel beside the map (never over it; a button folds it away)
  with the headline KPIs of the summary, the method (threshold, location probability, grid,
  model) and the colour legends, each shown only while its layer is on;
- a click on the map: the best RSRP, SINR and coverage probability at that point (the overlay
  grids are embedded, compressed);
- when the run's DEM is known, an offline base layer: its hillshade with sea and coastline.

Every value that comes from an input file (ids, names, operators, KPI keys) goes through
:func:`_esc` before it reaches the page, so that it shows as text wherever it lands (HTML,
attribute, folium's JS template literals and strings, ``<title>``) and never runs; the station
blob is JSON made safe inside ``<script>`` (:func:`script_json`) whose texts the page sets with
``textContent``, never as HTML.

A national run (4000 x 5000 cells, 13,200 sites, 370 townships) maps in seconds into a page of
about 10 MB: the rasters are read decimated to the overlay size (:data:`MAX_OVERLAY_PX`), the
overlays are palette images, the click-query grids row-delta coded, the township outlines
simplified to a quarter of an overlay pixel (:func:`simplify_outlines`).

Offline by default: no web tiles, and Leaflet, Leaflet.markercluster, jQuery, Bootstrap, Font
Awesome and d3 (for the colormap legends) come from the installed ``xstatic-*`` Python packages:
:func:`write_map` copies them into ``lib/`` beside ``map.html`` and links them relatively;
``build_map(..., inline_assets=True)`` puts them into the page itself, so that a map saved with
``Map.save`` or shown in Jupyter needs no other file. The page requests nothing from the
internet. ``cdn=True`` keeps Folium's CDN links and adds an OpenStreetMap base layer.

Only this module imports folium, and only inside its functions.
"""

from __future__ import annotations

import base64
import functools
import html
import importlib
import io
import json
import re
import shutil
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from PIL import Image
from rasterio.crs import CRS
from rasterio.transform import array_bounds
from rasterio.warp import Resampling, calculate_default_transform, reproject
from rasterio.warp import transform as transform_points

from covkit.config import load_scenario
from covkit.coverage.challenge import REASONS as CHALLENGE_REASONS
from covkit.errors import CovkitError, CovkitInputError
from covkit.fonts import CSS_FAMILY, cjk_font_face_css
from covkit.outputs import RunCommit, atomic_path
from covkit.runfolder import (
    DEFAULT_MAP_LAYERS,
    MAP_HTML,
    MAP_LIB_DIR,
    RunView,
    as_bool_array,
    find_key,
    fmt_pct,
    fmt_value,
    json_safe,
    method_text,
    sites_note,
    terrain_notes,
)

MAP_NAME = MAP_HTML
LIB_DIR = MAP_LIB_DIR
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


def _asset_files(asset: _Asset) -> list[tuple[Path, str]]:
    """(installed file, path under lib/) of every file of an asset."""
    src = _xstatic_dir(asset.package) / asset.src
    if not asset.src.endswith("/"):
        return [(src, asset.dest)]
    return [(f, asset.dest + f.name) for f in sorted(p for p in src.iterdir() if p.is_file())]


def _copy_asset(asset: _Asset, lib: Path) -> None:
    for f, dest in _asset_files(asset):
        if not f.is_file():
            raise CovkitError(f"missing file {f} in the installed xstatic-{asset.package} package")
        target = lib / dest
        if target.is_file() and target.stat().st_size == f.stat().st_size and \
                target.read_bytes() == f.read_bytes():
            continue
        with atomic_path(target) as tmp:
            shutil.copyfile(f, tmp)


_MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml",
         ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
         ".eot": "application/vnd.ms-fontobject", ".js": "text/javascript", ".css": "text/css"}
_CSS_URL_RE = re.compile(r"""url\(\s*(?P<q>['"]?)(?P<url>.*?)(?P=q)\s*\)""")
_TTF_FALLBACK_RE = re.compile(
    r"""\s*,\s*url\([^)]*\)\s*format\(\s*["']truetype["']\s*\)""", re.IGNORECASE)


def _data_url(path: Path) -> str:
    mime = _MIME.get(path.suffix.lower())
    if mime is None or not path.is_file():
        raise CovkitError(f"cannot inline {path} into the map page")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _asset_source(key: str) -> Path:
    asset = _ASSETS[key][0]
    path = _xstatic_dir(asset.package) / asset.src
    if not path.is_file():
        raise CovkitError(f"missing file {path} in the installed xstatic-{asset.package} package")
    return path


def _inline_css(path: Path) -> str:
    """The stylesheet with every relative ``url()`` replaced by a data: URL of the file.

    TrueType fallbacks after another font source in a ``src`` list are dropped (Font Awesome
    lists each font as woff2, then ttf; every browser that runs Leaflet 1.9 reads woff2): they
    would double the page's size, once for each of the font's nine ``@font-face`` rules.
    """

    def swap(m: re.Match) -> str:
        url = m.group("url")
        if url.startswith(("data:", "#")):
            return m.group(0)
        return f'url("{_data_url(path.parent / url.split("?")[0].split("#")[0])}")'

    text = _TTF_FALLBACK_RE.sub("", path.read_text(encoding="utf-8"))
    return _CSS_URL_RE.sub(swap, text)


_LEAFLET_ICON_JS = """<script>
L.Icon.Default.imagePath = "";
L.Icon.Default.mergeOptions({iconUrl: "%s", iconRetinaUrl: "%s", shadowUrl: "%s"});
</script>
"""


@functools.cache
def _inline_tag(key: str) -> str:
    """``<script>`` / ``<style>`` element carrying one asset (and the files its CSS refers to)."""
    path = _asset_source(key)
    if path.suffix == ".css":
        text = _inline_css(path)
        if "</style" in text.lower():
            src = "data:text/css;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")
            return f'<link rel="stylesheet" href="{src}"/>\n'
        return f"<style>\n{text}\n</style>\n"
    text = path.read_text(encoding="utf-8")
    tag = f'<script src="{_data_url(path)}"></script>\n' if "</script" in text.lower() else \
        f"<script>\n{text}\n</script>\n"
    if key == "leaflet.js":
        # Leaflet finds its default marker images from a CSS url() that ends in
        # marker-icon.png; a data: URL does not, so name the images here.
        images = path.parent / "images"
        tag += _LEAFLET_ICON_JS % tuple(_data_url(images / n) for n in (
            "marker-icon.png", "marker-icon-2x.png", "marker-shadow.png"))
    return tag


def localize_assets(page: str, lib: Path | None, lib_href: str = LIB_DIR, *,
                    inline: bool = False) -> str:
    """Replace every CDN ``<script src>`` / ``<link href>`` of a rendered page by a local copy.

    Parameters
    ----------
    page : str
        Rendered HTML (Folium / branca).
    lib : path or None
        Folder to copy the assets into (``None``: rewrite links only).
    lib_href : str
        Relative URL of that folder as seen from the page.
    inline : bool
        Put each library into the page itself (``<script>`` / ``<style>``, the images and fonts
        its CSS refers to as data: URLs) instead of linking it; ``lib`` is then not used.

    Returns
    -------
    str
        The page with relative links only (``inline``: with no link to another file).

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
        if inline:
            return f"\x00{key}\x00"  # filled in after the check below
        href = f"{lib_href}/{_ASSETS[key][0].dest}"
        if m.group("js"):
            return f'<script src="{href}"></script>\n'
        return f'<link rel="stylesheet" href="{href}"/>\n'

    out = _TAG_RE.sub(swap, page)
    left = _EXTERNAL_RE.search(out)
    if left:
        snippet = out[left.start():left.start() + 120].split("\n")[0]
        raise CovkitError(f"map page still references an external resource: {snippet}")
    if inline:
        done: set[str] = set()

        def fill(m: re.Match) -> str:
            key = m.group(1)
            if key in done:
                return ""
            done.add(key)
            return _inline_tag(key)

        return re.sub("\x00([^\x00]+)\x00", fill, out)
    if lib is not None:
        for key in dict.fromkeys(needed):
            for asset in _ASSETS[key]:
                _copy_asset(asset, lib)
    return out


@functools.cache
def _inline_figure_class():
    """A branca ``Figure`` whose rendered page carries its web libraries inline (defined on
    first use: folium and branca are imported lazily)."""
    from branca.element import Figure

    class InlineAssetsFigure(Figure):
        def render(self, **kwargs) -> str:
            return localize_assets(super().render(**kwargs), None, inline=True)

    return InlineAssetsFigure


# ----------------------------------------------------------------------------------------------
# Raster overlays


@dataclass(frozen=True)
class _LayerStyle:
    title: str
    caption: str
    vmin: float
    vmax: float
    colors: tuple[str, ...]
    scale: float = 1.0  # legend value = raster value * scale


# Best RSRP: viridis (dark violet = weak, yellow = strong), perceptually uniform; the township
# choropleth uses a single-hue brown-orange scale, so the two never blend into one another.
_RSRP_COLORS = ("#440154", "#443a83", "#31688e", "#21908d", "#35b779", "#8fd744", "#fde725")
_SINR_COLORS = ("#4b0055", "#7b2f8c", "#b85c9e", "#ef8f7a", "#f8c95a", "#e9f4a0")
_PROB_COLORS = ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b")

LAYERS: dict[str, _LayerStyle] = {
    "rsrp": _LayerStyle("Best RSRP", "Best RSRP [dBm]", -130.0, -70.0, _RSRP_COLORS),
    "sinr": _LayerStyle("SINR", "SINR of the best server [dB]", -10.0, 30.0, _SINR_COLORS),
    "coverage_probability": _LayerStyle(
        "Coverage probability", "Coverage probability [%]", 0.0, 100.0, _PROB_COLORS, 100.0),
    "covered": _LayerStyle("Covered", "Covered (1) / not covered (0)", 0.0, 1.0,
                           ("#d7301f", "#1a9850")),
}
"""Style of each raster layer (the keys of :data:`covkit.runfolder.RASTER_LAYERS`)."""
# Township coverage [%]: dark brown (0 %) to pale cream (100 %): the gaps stand out.
_TOWNSHIP_COLORS = ("#7f2704", "#c44103", "#f16913", "#fdae6b", "#fee6ce", "#fff5eb")
LEGEND_WIDTH_PX = 280
SIDEBAR_WIDTH_PX = 300


def _hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _colorize(values: np.ndarray, style: _LayerStyle, alpha: int = 200) -> np.ndarray:
    """RGBA uint8 image: linear interpolation between equally spaced stops, as branca does."""
    stops = np.array([_hex_rgb(c) for c in style.colors], dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values)
    t = (values[ok] * style.scale - style.vmin) / (style.vmax - style.vmin)
    t = np.clip(t, 0.0, 1.0) * (len(stops) - 1)
    i0 = np.minimum(np.floor(t).astype(np.int64), len(stops) - 2)
    f = (t - i0)[..., None]
    rgb = stops[i0] * (1.0 - f) + stops[i0 + 1] * f
    rgba = np.zeros(values.shape + (4,), dtype=np.uint8)
    rgba[ok, :3] = np.round(rgb).astype(np.uint8)
    rgba[ok, 3] = alpha  # nodata: transparent (black, which compresses best)
    return rgba


# Terrain base layer: land shaded from the north-west, sea, and the coastline between them.
BASE_LAYER_NAME = "Terrain (hillshade, coastline)"
_SEA_RGB = (0xB8, 0xD2, 0xE6)
_COAST_RGB = (0x1F, 0x4E, 0x79)
_LAND_RGB = (0xF2, 0xEE, 0xE4)
_SEA, _COAST = -1.0, -2.0  # codes of the terrain band (land: shade 0..1)


def terrain_band(dem: np.ndarray, transform, crs) -> np.ndarray:
    """The terrain base layer as one band: the hillshade (0..1, light from the north-west at
    45 degrees) on land, ``-1`` on the sea (height <= 0 m), ``-2`` on the coastline (land
    pixels next to the sea), NaN where the DEM is nodata.

    Parameters
    ----------
    dem : numpy.ndarray
        Heights [m], NaN for nodata.
    transform : affine.Affine or sequence of 6 floats
        Pixel -> CRS coordinates.
    crs : rasterio CRS or str
        The DEM's CRS; for a geographic CRS, degrees are converted to metres at the centre.
    """
    z = np.asarray(dem, dtype=np.float64)
    tr = transform if isinstance(transform, Affine) else Affine(*tuple(transform)[:6])
    dx, dy = abs(tr.a), abs(tr.e)
    if CRS.from_user_input(crs).is_geographic:
        lat = tr.f + tr.e * z.shape[0] / 2.0
        dy *= 111_320.0
        dx *= 111_320.0 * max(np.cos(np.radians(lat)), 0.01)
    land = np.isfinite(z) & (z > 0.0)
    zf = np.where(np.isfinite(z), np.maximum(z, 0.0), 0.0)
    if min(z.shape) >= 2:
        drow, dcol = np.gradient(zf)
    else:
        drow = dcol = np.zeros_like(zf)
    dzdx, dzdy = dcol / dx, -drow / dy  # east, north
    az, alt = np.radians(315.0), np.radians(45.0)
    light = np.array([np.sin(az) * np.cos(alt), np.cos(az) * np.cos(alt), np.sin(alt)])
    shade = (-dzdx * light[0] - dzdy * light[1] + light[2]) / np.sqrt(dzdx**2 + dzdy**2 + 1.0)
    band = np.clip(shade, 0.0, 1.0)
    sea = np.isfinite(z) & ~land
    near_sea = np.zeros_like(sea)
    near_sea[1:, :] |= sea[:-1, :]
    near_sea[:-1, :] |= sea[1:, :]
    near_sea[:, 1:] |= sea[:, :-1]
    near_sea[:, :-1] |= sea[:, 1:]
    band = np.where(sea, _SEA, np.where(land & near_sea, _COAST, band))
    return np.where(np.isfinite(z), band, np.nan)


def _terrain_rgba(band: np.ndarray) -> np.ndarray:
    """RGBA image of :func:`terrain_band` values (transparent where NaN)."""
    rgba = np.zeros(band.shape + (4,), dtype=np.uint8)
    shade = np.clip(np.nan_to_num(band, nan=0.0), 0.0, 1.0)[..., None]
    land = np.array(_LAND_RGB, dtype=np.float64) * (0.45 + 0.55 * shade)
    rgb = np.where((band == _SEA)[..., None], np.array(_SEA_RGB, dtype=np.float64), land)
    rgb = np.where((band == _COAST)[..., None], np.array(_COAST_RGB, dtype=np.float64), rgb)
    rgba[..., :3] = np.round(rgb).astype(np.uint8)
    rgba[..., 3] = np.where(np.isfinite(band), 255, 0).astype(np.uint8)
    return rgba


PALETTE_LEVELS = 255
"""Colours of an overlay image: the legend's colour scale sampled at this many equally spaced
values (index 0 of the palette is nodata, transparent). A step is 1/254 of the scale (0.24 dB
of the RSRP legend), below what an eye tells apart; an 8-bit image is a third of the size of an
RGBA one."""


def _overlay_png_url(values: np.ndarray, style: _LayerStyle, alpha: int = 200) -> str:
    """The overlay image of a raster layer as a palette PNG ``data:`` URL: each value's colour
    is the legend's colour (:func:`_colorize`) at the nearest of :data:`PALETTE_LEVELS` levels
    of the scale, nodata transparent."""
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values)
    steps = PALETTE_LEVELS - 1
    t = np.clip((values[ok] * style.scale - style.vmin) / (style.vmax - style.vmin), 0.0, 1.0)
    index = np.zeros(values.shape, dtype=np.uint8)
    index[ok] = np.round(t * steps).astype(np.uint8) + 1
    levels = style.vmin + (style.vmax - style.vmin) * np.arange(PALETTE_LEVELS) / steps
    colours = _colorize(levels[None, :] / style.scale, style, alpha)[0]
    img = Image.frombytes("P", (index.shape[1], index.shape[0]), index.tobytes())
    img.putpalette([0, 0, 0] + colours[:, :3].ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG", transparency=bytes([0] + [alpha] * PALETTE_LEVELS))
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _png_data_url(rgba: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def raster_to_mercator(values: np.ndarray, transform, crs, max_px: int = MAX_OVERLAY_PX):
    """Reproject a raster to Web Mercator for a Leaflet image overlay.

    Parameters
    ----------
    values : numpy.ndarray
        (rows, cols) values, NaN for nodata (as :func:`covkit.runfolder.read_raster` reads
        them).
    transform : affine.Affine or sequence of 6 floats
        Pixel -> CRS coordinates (``a, b, c, d, e, f``).
    crs : rasterio CRS or str
        Any projected or geographic CRS.
    max_px : int
        Longest side of the output image [pixels]; coarser than the source when exceeded.

    Returns
    -------
    values : numpy.ndarray
        float64 (rows, cols) in EPSG:3857, NaN where the source is nodata or outside it.
    bounds_latlon : list
        ``[[south, west], [north, east]]`` [deg] of the reprojected image.

    Raises
    ------
    CovkitInputError
        When ``crs`` is None.
    """
    if crs is None:
        raise CovkitInputError("raster has no CRS")
    data = np.asarray(values, dtype=np.float64)
    src_transform = transform if isinstance(transform, Affine) else Affine(*tuple(transform)[:6])
    height, width = data.shape
    bounds = array_bounds(height, width, src_transform)
    dst_transform, dst_w, dst_h = calculate_default_transform(
        crs, WEB_MERCATOR, width, height, *bounds)
    scale = max(dst_w, dst_h) / max_px
    if scale > 1.0:
        res = (dst_transform.a * scale, -dst_transform.e * scale)
        dst_transform, dst_w, dst_h = calculate_default_transform(
            crs, WEB_MERCATOR, width, height, *bounds, resolution=res)
    out = np.full((dst_h, dst_w), np.nan, dtype=np.float64)
    reproject(data, out, src_transform=src_transform, src_crs=crs, src_nodata=np.nan,
              dst_transform=dst_transform, dst_crs=WEB_MERCATOR, dst_nodata=np.nan,
              resampling=Resampling.nearest)
    left, top = dst_transform.c, dst_transform.f
    right, bottom = left + dst_transform.a * dst_w, top + dst_transform.e * dst_h
    lons, lats = transform_points(WEB_MERCATOR, "EPSG:4326", [left, right], [bottom, top])
    return out, [[lats[0], lons[0]], [lats[1], lons[1]]]


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
  .leaflet-container { background: #dfe7ee; }
  .folium-map { position: absolute !important; top: 0 !important; bottom: 0 !important;
    right: 0 !important; left: @SIDE@px !important; width: auto !important;
    height: auto !important; }
  body.covkit-collapsed .folium-map { left: 30px !important; }
  .covkit-title { position: fixed; top: 0; bottom: 0; left: 0; width: @SIDE@px;
    box-sizing: border-box; overflow-y: auto; z-index: 1000; background: #fbfbfc;
    border-right: 1px solid #aab; padding: 8px 10px 8px 12px;
    font: 12px/1.35 system-ui, sans-serif; color: #222; }
  body.covkit-collapsed .covkit-title { width: 30px; padding: 8px 2px; overflow: hidden; }
  body.covkit-collapsed .covkit-title .covkit-body { display: none; }
  .covkit-toggle { float: right; cursor: pointer; border: 1px solid #999; background: #fff;
    border-radius: 4px; font: bold 12px/16px system-ui, sans-serif; padding: 0 5px;
    margin: 0 0 4px 6px; }
  .covkit-title h4 { margin: 0 0 4px 0; font-size: 15px; font-weight: 600;
    overflow-wrap: anywhere; }
  .covkit-title table { border-collapse: collapse; margin: 2px 0 4px 0; }
  .covkit-title td { padding: 0 8px 0 0; overflow-wrap: anywhere; }
  .covkit-title td.v { text-align: right; font-weight: 600; white-space: nowrap; }
  .covkit-title .method { color: #444; font-size: 11px; margin-bottom: 6px;
    overflow-wrap: anywhere; }
  .covkit-legend { margin: 4px 0 2px 0; }
  .covkit-legend svg { display: block; }
  .covkit-classes { font-size: 12px; }
  .covkit-classes .caption { font-weight: 600; margin-bottom: 2px; }
  .covkit-classes .swatch { display: inline-block; width: 12px; height: 12px;
    border-radius: 6px; margin-right: 6px; vertical-align: -2px; border: 1px solid #555; }
  .covkit-hint { color: #555; font-size: 11px; margin-top: 6px; }
  .covkit-query { font-size: 12px; }
  .covkit-proposed div { width: 22px; height: 22px; border-radius: 11px; background: #ffd400;
    border: 2px solid #111; font: bold 11px/18px system-ui, sans-serif; text-align: center;
    color: #111; box-sizing: border-box; }
  .covkit-popup td { padding: 0 6px 0 0; font-size: 12px; }
</style>
""".replace("@SIDE@", str(SIDEBAR_WIDTH_PX))

_CJK_CSS = f"""
<style>
  @FACE@
  .leaflet-container {{ font-family: "{CSS_FAMILY}", "Helvetica Neue", Arial, Helvetica,
    sans-serif; }}
  .covkit-title, .covkit-proposed div {{ font-family: "{CSS_FAMILY}", system-ui, sans-serif; }}
</style>
"""
"""Font rules of a map with CJK names: the embedded CJK font first (its ``unicode-range`` is
CJK only, so Latin text keeps Leaflet's and the panel's fonts)."""


def _view_text(view: RunView, title: str) -> str:
    """Every text the map may show: title, summary, township, station, site and trail
    attributes (to subset the CJK font to)."""
    parts = [title, json.dumps(view.summary, ensure_ascii=False, default=str),
             json.dumps(view.sites_summary, ensure_ascii=False, default=str)]
    for table in (view.townships, view.stations, view.proposed, view.trails):
        if table is None:
            continue
        for col in table.columns:
            if table[col].dtype == object or str(table[col].dtype) in ("str", "string"):
                parts.extend(str(v) for v in table[col].unique())
    return "".join(parts)


# A colour legend in the side panel, drawn with d3 as branca's legend is, shown only while its
# layer is on the map (branca draws every legend into the first legend box and never hides one).
_LEGEND_JS = """{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var color = d3.scale.threshold().domain({{ this.color_domain|tojson }})
      .range({{ this.color_range|tojson }});
  var x = d3.scale.linear().domain([{{ this.vmin|tojson }}, {{ this.vmax|tojson }}])
      .range([0, {{ this.width }} - 30]);
  var box = document.createElement('div');
  box.className = 'legend covkit-legend';
  box.setAttribute('data-layer', {{ this.layer_title|tojson }});
  (document.getElementById('covkit-legends') || document.body).appendChild(box);
  var svg = d3.select(box).append('svg').attr('width', {{ this.width }})
      .attr('height', {{ this.height }});
  var g = svg.append('g').attr('class', 'key').attr('transform', 'translate(12,16)');
  g.selectAll('rect').data(color.range().map(function (d, i) {
      return {x0: i ? x(color.domain()[i - 1]) : x.range()[0],
              x1: i < color.domain().length ? x(color.domain()[i]) : x.range()[1], z: d};
    })).enter().append('rect').attr('height', {{ this.height }} - 30)
      .attr('x', function (d) { return d.x0; })
      .attr('width', function (d) { return d.x1 - d.x0; })
      .style('fill', function (d) { return d.z; });
  g.call(d3.svg.axis().scale(x).orient('top').tickSize(1)
      .tickValues({{ this.tick_labels|tojson }}))
    .append('text').attr('class', 'caption').attr('y', 21).text({{ this.caption|tojson }});
  {% if this.layer is not none %}
  var layer = {{ this.layer.get_name() }};
  var sync = function () { box.style.display = map.hasLayer(layer) ? '' : 'none'; };
  map.on('overlayadd overlayremove layeradd layerremove', sync);
  sync();
  {% endif %}
})();
{% endmacro %}"""


# A legend of colour classes (swatch and label per class) in the side panel, shown only while
# its layer is on the map, as the colour-scale legends are.
_CLASS_LEGEND_JS = """{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var box = document.createElement('div');
  box.className = 'legend covkit-legend covkit-classes';
  box.setAttribute('data-layer', {{ this.layer_title|tojson }});
  var caption = document.createElement('div');
  caption.className = 'caption';
  caption.textContent = {{ this.caption|tojson }};
  box.appendChild(caption);
  {{ this.classes|tojson }}.forEach(function (c) {
    var row = document.createElement('div');
    var swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = c[0];
    row.appendChild(swatch);
    row.appendChild(document.createTextNode(c[1]));
    box.appendChild(row);
  });
  (document.getElementById('covkit-legends') || document.body).appendChild(box);
  var layer = {{ this.layer.get_name() }};
  var sync = function () { box.style.display = map.hasLayer(layer) ? '' : 'none'; };
  map.on('overlayadd overlayremove layeradd layerremove', sync);
  sync();
})();
{% endmacro %}"""


@functools.cache
def _class_legend_class():
    """A legend of colour classes tied to a layer (see ``_CLASS_LEGEND_JS``); defined on
    first use because branca is imported lazily."""
    from branca.element import MacroElement, Template

    class ClassLegend(MacroElement):
        _template = Template(_CLASS_LEGEND_JS)

        def __init__(self, classes, *, caption, layer, layer_title=""):
            super().__init__()
            self._name = "ClassLegend"
            self.classes = [[str(colour), str(label)] for colour, label in classes]
            self.caption = str(caption)
            self.layer = layer
            self.layer_title = str(layer_title)

    return ClassLegend


def error_class_labels() -> list[tuple[str, str]]:
    """(colour, label) of each class of :data:`ERROR_CLASSES_DB` and of the grey points
    without a prediction, as the test-point legend lists them."""
    out, lower = [], None
    for upper, colour in ERROR_CLASSES_DB:
        if lower is None:
            label = f"below {upper:g} dB"
        elif np.isinf(upper):
            label = f"{lower:g} dB and above"
        else:
            label = f"{lower:g} to {upper:g} dB"
        out.append((colour, label))
        lower = upper
    out.append(("#888888", "no prediction"))
    return out


@functools.cache
def _legend_class():
    """``LinearColormap`` drawn into the side panel and tied to a layer (see ``_LEGEND_JS``);
    defined on first use because branca is imported lazily."""
    from branca.colormap import LinearColormap
    from branca.element import Template

    class LayerLegend(LinearColormap):
        _template = Template(_LEGEND_JS)

        def __init__(self, colors, *, vmin, vmax, caption, layer=None, layer_title=""):
            super().__init__(list(colors), vmin=vmin, vmax=vmax, caption=caption)
            self.layer = layer
            self.layer_title = layer_title
            self.width = LEGEND_WIDTH_PX

    return LayerLegend


# Characters that still act inside a JS template literal (folium puts popup and tooltip HTML
# into one) or a JS string after HTML escaping; as character references they are inert there and
# the browser shows them as the characters when it parses the HTML.
_JS_INERT = str.maketrans({"$": "&#36;", "`": "&#96;", "\\": "&#92;", "{": "&#123;",
                           "}": "&#125;"})


def _esc(value) -> str:
    """``value`` as text that shows literally wherever the map puts it.

    HTML-escaped (``& < > " '``), and ``$ ` \\ { }`` as character references: safe as HTML
    text, in a quoted attribute, inside a JS template literal or string (folium's popups and
    tooltips, which Leaflet then sets as innerHTML), and in a ``<script>`` (no ``</script``
    can form). Every value from an input file that the map shows goes through here.
    """
    return html.escape(str(value), quote=True).translate(_JS_INERT)


def _table_html(rows: Sequence[tuple[str, str]], cls: str = "covkit-popup") -> str:
    body = "".join(f"<tr><td>{_esc(k)}</td><td><b>{_esc(v)}</b></td></tr>"
                   for k, v in rows)
    return f'<table class="{cls}">{body}</table>'


def _title_html(summary: dict, after: dict, name: str) -> str:
    rows = []

    def add(label: str, key: str, unit: str = " %", src: dict = summary) -> None:
        v = src.get(key)
        if v is not None:
            rows.append((label, (fmt_pct(v) if unit == " %" else fmt_value(v)) + unit))

    add("Population coverage", "population_coverage_pct")
    add("Non-remote townships", "non_remote_population_coverage_pct")
    add("Remote townships", "remote_population_coverage_pct")
    if summary.get("remote_townships") is not None:
        rows.append(("Remote townships with coverage",
                     f"{fmt_value(summary.get('remote_townships_with_coverage'))} of "
                     f"{fmt_value(summary.get('remote_townships'))}"))
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
    table = "".join(f"<tr><td>{_esc(k)}</td><td class='v'>{_esc(v)}</td></tr>"
                    for k, v in rows)
    note = sites_note(summary)
    return ('<div class="covkit-title" id="covkit-title">'
            '<button type="button" class="covkit-toggle" id="covkit-toggle" '
            'title="Hide / show the panel" aria-expanded="true">&#x2039;</button>'
            f'<div class="covkit-body"><h4>{_esc(name)}</h4>'
            f"<table>{table}</table>"
            f'<div class="method">Method: {_esc(method_text(summary))}</div>'
            + "".join(f'<div class="method covkit-terrain">{_esc(t)}</div>'
                      for t in terrain_notes(summary))
            + (f'<div class="method synthetic">{_esc(note)}</div>' if note else "")
            + '<div id="covkit-legends"></div>'
            '<div class="covkit-hint">Click the map for the values at a point.</div>'
            '</div></div>')


# The values a click on the map reports: raster layer -> (label, unit, stored integer per unit).
_QUERY_LAYERS = {"rsrp": ("Best RSRP", "dBm", 10.0), "sinr": ("SINR", "dB", 10.0),
                 "coverage_probability": ("Coverage probability", "%", 10.0)}
_QUERY_NODATA = -32768


def _query_grid(name: str, values: np.ndarray, bounds) -> dict:
    """One overlay grid as the click query reads it: the reprojected values (the overlay
    image's pixels) as int16 of value * 10 in the shown unit (dBm, dB, %), ``-32768`` for
    nodata, little-endian, zlib-compressed and base64-encoded (the page inflates them with
    the browser's DecompressionStream); with ``delta`` (when that deflates smaller) stored row
    by row as the differences to the left neighbour modulo 2**16, which the page sums up
    again; with the image's lat/lon bounds."""
    label, unit, per_unit = _QUERY_LAYERS[name]
    shown = values * (100.0 if name == "coverage_probability" else 1.0)
    raw = np.round(np.nan_to_num(shown, nan=0.0) * per_unit)
    if name == "coverage_probability":  # 99.96 % is not shown as 100.0 %, 0.04 % not as 0.0 %
        raw = np.where((raw >= 1000) & (shown < 100.0), 999, raw)
        raw = np.where((raw <= 0) & (shown > 0.0), 1, raw)
    raw = np.clip(raw, -32767, 32767).astype(np.int16)
    raw[~np.isfinite(values)] = _QUERY_NODATA
    # each value as the difference to its left neighbour (the first of a row: to 0), modulo
    # 2**16: a smooth field's differences are small and repeat, so they deflate better (a
    # national RSRP grid: 1.24 instead of 1.52 MB); kept only when smaller (coverage
    # probability: long runs of 100 % deflate as well as they are)
    diff = raw.view(np.uint16).copy()
    diff[:, 1:] -= raw.view(np.uint16)[:, :-1]
    packed = zlib.compress(np.ascontiguousarray(diff.astype("<u2")).tobytes(), 6)
    plain = zlib.compress(np.ascontiguousarray(raw.astype("<i2")).tobytes(), 6)
    delta = len(packed) < len(plain)
    if not delta:
        packed = plain
    (south, west), (north, east) = bounds
    return {"layer": name, "label": label, "unit": unit, "per_unit": per_unit,
            "rows": int(values.shape[0]), "cols": int(values.shape[1]),
            "south": float(south), "west": float(west), "north": float(north),
            "east": float(east), "delta": delta,
            "data": base64.b64encode(packed).decode("ascii")}


# The side panel's hide / show button (the map then takes the freed width), and the click
# query: a click on the map opens a popup with the values of the overlay grids at that point.
_PAGE_JS = """{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var grids = {{ this.grids|tojson }};
  var inflate = function (g) {
    var bin = atob(g.data), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    delete g.data;
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
    return new Response(stream).arrayBuffer().then(function (buf) {
      var view = new DataView(buf), n = buf.byteLength / 2, acc = 0;
      g.values = new Int16Array(n);
      for (var j = 0; j < n; j++) {
        if (j % g.cols === 0 || !g.delta) { acc = 0; }
        acc = (acc + view.getUint16(2 * j, true)) & 0xFFFF;
        g.values[j] = acc;  // stored as int16: 32768..65535 read as negative
      }
    });
  };
  grids.forEach(function (g) {
    g.yN = L.CRS.EPSG3857.project(L.latLng(g.north, g.west)).y;
    g.yS = L.CRS.EPSG3857.project(L.latLng(g.south, g.west)).y;
  });
  window.covkitQueryReady = Promise.all(grids.map(inflate));
  // The values at (lat, lon): [{layer, label, unit, value}] (value null: no value there);
  // [] outside every grid. Null values until covkitQueryReady has resolved.
  window.covkitQuery = function (lat, lon) {
    var out = [];
    grids.forEach(function (g) {
      if (!g.values) { out.push({layer: g.layer, label: g.label, unit: g.unit, value: null});
                       return; }
      var fx = (lon - g.west) / (g.east - g.west);
      var y = L.CRS.EPSG3857.project(L.latLng(lat, lon)).y;
      var fy = (g.yN - y) / (g.yN - g.yS);
      if (!(fx >= 0 && fx < 1 && fy >= 0 && fy < 1)) { return; }
      var v = g.values[Math.floor(fy * g.rows) * g.cols + Math.floor(fx * g.cols)];
      out.push({layer: g.layer, label: g.label, unit: g.unit,
                value: v === {{ this.nodata }} ? null : v / g.per_unit});
    });
    return out;
  };
  map.on('click', function (e) { window.covkitQueryReady.then(function () {
    var vals = window.covkitQuery(e.latlng.lat, e.latlng.lng);
    if (!vals.length) { return; }
    var div = document.createElement('div');
    div.className = 'covkit-query';
    vals.forEach(function (v) {
      var row = document.createElement('div');
      row.textContent = v.label + ': ' + (v.value === null ? 'no value'
                                          : v.value.toFixed(1) + ' ' + v.unit);
      div.appendChild(row);
    });
    L.popup({maxWidth: 260}).setLatLng(e.latlng).setContent(div).openOn(map);
  }); });
  var button = document.getElementById('covkit-toggle');
  if (button) {
    button.addEventListener('click', function () {
      var collapsed = document.body.classList.toggle('covkit-collapsed');
      button.innerHTML = collapsed ? '&#x203A;' : '&#x2039;';
      button.setAttribute('aria-expanded', String(!collapsed));
      map.invalidateSize();
    });
  }
})();
{% endmacro %}"""


# The stations: one marker per site and operator, drawn from one data blob (not one folium
# marker and popup per site, which took most of a national map's time and size). The markers
# are the clustered circle markers they always were; the popup table and the tooltip are built
# from the data when they open, as DOM text (textContent), so no value is ever parsed as HTML.
_STATIONS_JS = """{% macro script(this, kwargs) %}
(function () {
  var cluster = {{ this.cluster.get_name() }};
  var d = {{ this.data }};
  var text = function (tag, s, cls) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    e.textContent = s;
    return e;
  };
  var popup = function (i) {
    var table = document.createElement('table'), row = d.rows[i];
    table.className = 'covkit-popup';
    for (var k = 0; k < row.length; k += 2) {
      var tr = document.createElement('tr'), b = document.createElement('b');
      tr.appendChild(text('td', d.labels[row[k]]));
      b.textContent = d.values[row[k + 1]];
      tr.appendChild(document.createElement('td')).appendChild(b);
      table.appendChild(tr);
    }
    return table;
  };
  var markers = new Array(d.lat.length);
  for (var i = 0; i < d.lat.length; i++) {
    var m = L.circleMarker([d.lat[i], d.lon[i]], {
      radius: 6, color: '#222222', weight: 1, fillColor: d.colors[d.op[i]],
      fillOpacity: 0.95, className: 'covkit-station'});
    m.bindPopup(popup.bind(null, i), {maxWidth: 320});
    m.bindTooltip(text.bind(null, 'span', d.operators[d.op[i]] + ' site', ''));
    markers[i] = m;
  }
  cluster.addLayers(markers);
})();
{% endmacro %}"""

_JSON_INERT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                             "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script_json(value) -> str:
    """``value`` as JSON that can stand as a JavaScript expression inside a ``<script>``
    element: ``< > &`` and the line separators U+2028 / U+2029 as ``\\uXXXX`` escapes (they
    only occur inside strings), so no ``</script``, ``<!--`` or character reference can form;
    the strings read back unchanged (the page shows them with ``textContent``)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).translate(_JSON_INERT)


_STATION_LABELS = ("Operator", "Site", "Sectors", "Height", "Frequency", "EIRP", "Technology")


def station_data(stations) -> dict:
    """The station layer's data: one entry per site and operator (sectors at the same point of
    one operator share a marker), columns ``lon``, ``lat`` [deg, 6 decimals], ``op`` (index into
    ``operators`` and ``colors``) and ``rows``: the popup table as pairs of indices into
    ``labels`` and ``values`` (each distinct text once).

    Parameters
    ----------
    stations : geopandas.GeoDataFrame
        One row per sector, points in EPSG:4326, non-empty; ``operator``, ``site_id``,
        ``station_id``, ``height_m``, ``freq_mhz``, ``eirp_dbm``, ``tech`` where known.
    """
    st = stations.assign(_lon=stations.geometry.x.round(6), _lat=stations.geometry.y.round(6))
    st["_op"] = st["operator"].astype(str) if "operator" in st.columns else "stations"
    ops = sorted(st["_op"].unique())
    colors = [_OPERATOR_COLORS[i % len(_OPERATOR_COLORS)] for i in range(len(ops))]
    group = st.groupby(["_op", "_lon", "_lat"], sort=True).ngroup().to_numpy()
    n = int(group.max()) + 1
    pos = np.argsort(group, kind="stable")  # sectors by group, in their order within it
    starts = np.searchsorted(group[pos], np.arange(n + 1))
    first = st.iloc[pos[starts[:-1]]]

    def per_group(col, fmt):
        """One text per group (None where the group has no value)."""
        if col not in st.columns:
            return [None] * n
        vals = st[col].to_numpy()[pos]
        return [fmt(vals[starts[g]:starts[g + 1]]) for g in range(n)]

    def uniq(unit):
        def fmt(vals):
            nums = sorted({float(v) for v in vals if v == v})
            return ", ".join(fmt_value(v) for v in nums) + unit if nums else None
        return fmt

    columns = [
        list(first["_op"]),
        [str(v) for v in first["site_id"]] if "site_id" in st.columns else [None] * n,
        per_group("station_id", lambda v: ", ".join(str(s) for s in v)),
        per_group("height_m", uniq(" m")),
        per_group("freq_mhz", uniq(" MHz")),
        per_group("eirp_dbm", uniq(" dBm")),
        per_group("tech", lambda v: ", ".join(sorted(set(map(str, v))))),
    ]
    values: dict[str, int] = {}
    rows = []
    for g in range(n):
        row = []
        for k, col in enumerate(columns):
            v = col[g]
            if v is not None:
                row += [k, values.setdefault(v, len(values))]
        rows.append(row)
    op_index = {op: i for i, op in enumerate(ops)}
    return {"operators": ops, "colors": colors, "labels": list(_STATION_LABELS),
            "values": list(values), "lon": [float(v) for v in first["_lon"]],
            "lat": [float(v) for v in first["_lat"]],
            "op": [op_index[o] for o in first["_op"]], "rows": rows}


def _scenario_inputs(scenario_path: Path) -> dict[str, Path | None]:
    sc = load_scenario(scenario_path)
    return {"stations": sc.inputs.stations, "trails": sc.inputs.trails}


def _wgs84(gdf, what: str):
    """A GeoDataFrame in EPSG:4326 (unchanged when it is in it already)."""
    if gdf.crs is None:
        raise CovkitInputError(f"{what} have no CRS")
    return gdf if gdf.crs.equals("EPSG:4326") else gdf.to_crs("EPSG:4326")


def _proposed_points(proposed):
    """Proposed sites as points in EPSG:4326: a GeoDataFrame, or a table with lon/lat [deg]."""
    if isinstance(proposed, gpd.GeoDataFrame):
        return _wgs84(proposed, "proposed sites")
    if not {"lon", "lat"} <= set(proposed.columns):
        raise CovkitInputError("proposed sites need a geometry or lon and lat columns")
    return gpd.GeoDataFrame(proposed, geometry=gpd.points_from_xy(proposed["lon"],
                                                                  proposed["lat"]),
                            crs="EPSG:4326")


OUTLINE_TOLERANCE_PX = 0.25
"""Township outlines are simplified (Douglas-Peucker) to this fraction of an overlay image's
pixel: finer than anything the coverage layers show (a national map: about 60 m, the
outlines of 368 Taiwan townships from 81,000 to 41,000 points)."""
OUTLINE_DECIMALS = 6
"""Decimals of the outlines' lon/lat [deg] in the page (0.1 m)."""


def simplify_outlines(polygons):
    """Township polygons as the map draws them: simplified in their own CRS to
    :data:`OUTLINE_TOLERANCE_PX` of an overlay pixel (the longest side of their extent over
    :data:`MAX_OVERLAY_PX`), topology of each polygon kept, then in EPSG:4326 with
    :data:`OUTLINE_DECIMALS` decimals.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        Township KPI rows with polygons, any CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The same rows and columns, simplified polygons in EPSG:4326.
    """
    geoms = polygons.geometry.values
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out = polygons.copy()
    if ok.any():
        x0, y0, x1, y1 = shapely.total_bounds(geoms[ok])
        tol = OUTLINE_TOLERANCE_PX * max(x1 - x0, y1 - y0) / MAX_OVERLAY_PX
        if tol > 0:
            out.geometry = shapely.simplify(geoms, tol, preserve_topology=True)
    out = out.to_crs("EPSG:4326")
    out.geometry = shapely.transform(out.geometry.values,
                                     lambda xy: np.round(xy, OUTLINE_DECIMALS))
    return out


def build_map(
    view: RunView,
    *,
    cdn: bool = False,
    layers: Sequence[str] = DEFAULT_MAP_LAYERS,
    inline_assets: bool = False,
    measurements=None,
    challenges=None,
):
    """The coverage map of a run, from what a :class:`~covkit.runfolder.RunView` holds.

    Reads no file: the view carries the rasters, tables and KPIs (see
    :meth:`RunView.from_folder <covkit.runfolder.RunView.from_folder>` for a run folder).

    Parameters
    ----------
    view : covkit.runfolder.RunView
        KPIs (``summary``, ``kpi_after``), rasters (``rasters``: layer name -> values with NaN
        for nodata, affine transform, CRS), ``townships``, ``stations``, ``trails`` and
        ``proposed`` (any CRS; None to leave a layer out).
    cdn : bool
        Keep Folium's CDN links and add an OpenStreetMap base layer (needs internet to view).
    layers : sequence of str
        Raster overlays, any of ``rsrp``, ``sinr``, ``coverage_probability``, ``covered``, in
        this order; those not in ``view.rasters`` are skipped. The first one present is shown;
        the others start hidden in the layer control.
    inline_assets : bool
        Make the page carry Leaflet and the other web libraries inline (from the installed
        ``xstatic-*`` packages), so that ``Map.save(path)`` and the Jupyter display work offline
        with no ``lib/`` folder. Default: the CDN links stay in the page (:func:`write_map`
        replaces them with ``lib/`` copies when it saves the map).
    measurements : GeoDataFrame, optional
        Verified test points (``covkit.verify(...).points``, any CRS): a layer of circles
        coloured by the error predicted - measured (:data:`ERROR_CLASSES_DB`), tooltips with
        the measured and predicted RSRP.
    challenges : GeoDataFrame, optional
        FCC-style challenge hexagons (``covkit.verify(...).hexagons``): the layer of
        :func:`add_challenge_layer`.

    Returns
    -------
    folium.Map

    Raises
    ------
    CovkitInputError
        When a layer name is unknown, ``cdn`` and ``inline_assets`` are both set, or a table has
        no CRS.
    """
    import folium
    from branca.element import Element, MacroElement, Template
    from folium.plugins import MarkerCluster

    Legend = _legend_class()
    bad = [name for name in layers if name not in LAYERS]
    if bad:
        raise CovkitInputError(f"unknown map layer {bad[0]!r}; choose from {', '.join(LAYERS)}")
    if cdn and inline_assets:
        raise CovkitInputError("cdn=True loads the web libraries from the internet; it cannot "
                               "be combined with inline_assets=True")
    summary, after = view.summary, view.kpi_after
    title = str(summary.get("scenario") if isinstance(summary.get("scenario"), str)
                else find_key(summary, "name") or "covkit coverage")

    fmap = folium.Map(location=[0.0, 0.0], zoom_start=2, tiles=None, max_zoom=MAX_ZOOM,
                      control_scale=True)
    if inline_assets:
        _inline_figure_class()().add_child(fmap)
    fmap.options["maxZoom"] = MAX_ZOOM  # folium passes max_zoom to tiles only; none offline
    fmap.get_root().title = _esc(f"{title}: coverage map")  # <title> is not escaped
    if cdn:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", max_zoom=MAX_ZOOM,
                         control=True).add_to(fmap)
    bounds: list[list[float]] = []

    # offline base layer: the DEM's hillshade, sea and coastline (below every overlay)
    if view.dem is not None:
        dem, dem_transform, dem_crs = view.dem
        if dem_crs is None:
            raise CovkitInputError("DEM has no CRS")
        terrain, tbb = raster_to_mercator(terrain_band(dem, dem_transform, dem_crs),
                                          dem_transform, dem_crs)
        if np.isfinite(terrain).any():
            folium.raster_layers.ImageOverlay(
                image=_png_data_url(_terrain_rgba(terrain)), bounds=tbb,
                name=_esc(BASE_LAYER_NAME), overlay=False, control=True, show=not cdn,
                opacity=1.0, interactive=False, cross_origin=False, pane="tilePane",
                className="covkit-terrain",
            ).add_to(fmap)

    # raster overlays
    thr = find_key(summary, "rsrp_threshold_dbm")
    rasters = [(name, view.rasters[name]) for name in layers if name in view.rasters]
    query: dict[str, dict] = {}
    for i, (name, (data, transform, crs)) in enumerate(rasters):
        style = LAYERS[name]
        values, bb = raster_to_mercator(data, transform, crs)
        if not np.isfinite(values).any():
            continue
        if name in _QUERY_LAYERS:
            query[name] = _query_grid(name, values, bb)
        overlay = folium.raster_layers.ImageOverlay(
            image=_overlay_png_url(values, style), bounds=bb, name=_esc(style.title),
            opacity=1.0, interactive=False, cross_origin=False, zindex=1, show=(i == 0),
        ).add_to(fmap)
        caption = style.caption
        if name == "rsrp" and thr is not None:
            caption += f"; threshold {fmt_value(float(thr))} dBm"
        Legend(style.colors, vmin=style.vmin, vmax=style.vmax, caption=caption,
               layer=overlay, layer_title=style.title).add_to(fmap)
        bounds.extend(bb)

    # townships
    if view.townships is not None:
        if view.townships.crs is None:
            raise CovkitInputError("township KPI table has no CRS")
        tw = simplify_outlines(view.townships)
        remote = as_bool_array(tw["remote"]) if "remote" in tw.columns else \
            np.zeros(len(tw), dtype=bool)
        fields = [(c, a) for c, a in _TOWNSHIP_FIELDS if c in tw.columns]
        op_cols = sorted(c for c in tw.columns if c.startswith("coverage_pct_"))
        fields += [(c, f"Coverage {c[len('coverage_pct_'):]} [%]") for c in op_cols]
        pct_cmap = Legend(_TOWNSHIP_COLORS, vmin=0.0, vmax=100.0,
                          caption="Township coverage [%] (dashed: remote)",
                          layer_title="Townships: coverage %")
        feats = []
        for k, (_, row) in enumerate(tw.iterrows()):
            if row.geometry is None or row.geometry.is_empty:
                continue
            props = {"_remote": bool(remote[k]),
                     "_pct": json_safe(row.get("coverage_pct")) if "coverage_pct" in tw else None}
            for c, _ in fields:
                v = json_safe(row[c])
                if c == "remote":
                    props[c] = "yes" if remote[k] else "no"
                elif c in ("township_id", "name", "county"):
                    props[c] = "" if v is None else _esc(v)  # the tooltip sets innerHTML
                elif "_pct" in c:
                    props[c] = _esc(fmt_pct(v))
                else:
                    props[c] = _esc(fmt_value(v))
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
                {"type": "FeatureCollection", "features": feats},
                name=_esc("Townships: coverage %"),
                style_function=style_fn,
                highlight_function=lambda f: {"weight": 4, "fillOpacity": 0.55},
                tooltip=folium.GeoJsonTooltip(fields=[c for c, _ in fields],
                                              aliases=[_esc(a) for _, a in fields], sticky=True)
                if fields else None,
            )
            gj.add_to(fmap)
            pct_cmap.layer = gj
            pct_cmap.add_to(fmap)
            b = tw.total_bounds
            bounds.extend([[b[1], b[0]], [b[3], b[2]]])

    # trails
    if view.trails is not None:
        tr = _wgs84(view.trails, "trails")
        tr = tr[tr.geometry.notna() & ~tr.geometry.is_empty]
        if len(tr):
            keep = [c for c in ("trail_id", "name", "length_km") if c in tr.columns]
            tr = tr[keep + ["geometry"]]
            for c in keep:
                tr[c] = [_esc(fmt_value(json_safe(v)) if c == "length_km" else v) for v in tr[c]]
            folium.GeoJson(
                json.loads(tr.to_json()), name=_esc("Trails"),
                style_function=lambda f: {"color": "#7a3b00", "weight": 2.5, "opacity": 0.9,
                                          "dashArray": "4 3", "className": "covkit-trail"},
                tooltip=folium.GeoJsonTooltip(fields=keep) if keep else None,
            ).add_to(fmap)

    # existing stations: one marker per site and operator, from one data blob
    if view.stations is not None:
        st = _wgs84(view.stations, "stations")
        st = st[st.geometry.notna() & ~st.geometry.is_empty]
        if len(st):
            cluster = MarkerCluster(name=_esc(f"Stations ({len(st):,} sectors)"),
                                    options={"disableClusteringAtZoom": 13,
                                             "showCoverageOnHover": False,
                                             "chunkedLoading": True}).add_to(fmap)
            data = station_data(st)
            sites_js = MacroElement()
            sites_js._template = Template(_STATIONS_JS)
            sites_js.cluster = cluster
            sites_js.data = script_json(data)
            fmap.add_child(sites_js, name="covkit_stations")
            bounds.extend([[min(data["lat"]), min(data["lon"])],
                           [max(data["lat"]), max(data["lon"])]])

    # proposed sites
    if view.proposed is not None:
        ps = _proposed_points(view.proposed)
        ps = ps[ps.geometry.notna() & ~ps.geometry.is_empty]
        if "rank" in ps.columns:
            ps = ps.sort_values("rank", kind="stable")
        group = folium.FeatureGroup(name=_esc(f"Proposed sites ({len(ps)})")).add_to(fmap)
        for k, (_, row) in enumerate(ps.iterrows(), start=1):
            rank = row.get("rank", k)
            rank_txt = fmt_value(json_safe(rank))
            rows = [("Rank", rank_txt)]
            for col, label, unit in (("candidate_id", "Candidate", ""),
                                     ("township_id", "Township", ""),
                                     ("new_population", "Newly covered population", ""),
                                     ("cumulative_population", "Cumulative population", ""),
                                     ("new_trail_km", "Newly covered trail", " km"),
                                     ("cost", "Cost", ""),
                                     ("cost_per_new_person", "Cost per new person", "")):
                if col in ps.columns:
                    v = json_safe(row[col])
                    rows.append((label, (str(v) if isinstance(v, str) else fmt_value(v)) + unit))
            folium.Marker(
                location=[row.geometry.y, row.geometry.x],
                icon=folium.DivIcon(html=f"<div>{_esc(rank_txt)}</div>",
                                    icon_size=(22, 22), icon_anchor=(11, 11),
                                    class_name="covkit-proposed"),
                popup=folium.Popup(_table_html(rows), max_width=320),
                tooltip=f"Proposed site #{_esc(rank_txt)}",
            ).add_to(group)
            bounds.append([row.geometry.y, row.geometry.x])

    if measurements is not None:
        _add_measurements(fmap, measurements, bounds)
    if challenges is not None and len(challenges):
        add_challenge_layer(fmap, challenges)  # before the layer control, which lists it

    folium.LayerControl(collapsed=False).add_to(fmap)
    root = fmap.get_root()
    root.header.add_child(Element(_CSS), name="covkit_css")
    face = cjk_font_face_css(_view_text(view, title))
    if face:  # CJK names: the CJK font embedded (subset to them) for CJK characters only
        root.header.add_child(Element(_CJK_CSS.replace("@FACE@", face)), name="covkit_cjk")
    root.html.add_child(Element(_title_html(summary, after, title)), name="covkit_title")
    page_js = MacroElement()
    page_js._template = Template(_PAGE_JS)
    page_js.grids = list(query.values())  # a list: tojson sorts the keys of a dict
    page_js.nodata = _QUERY_NODATA
    fmap.add_child(page_js, name="covkit_page")
    if bounds:
        arr = np.asarray(bounds, dtype=np.float64)
        fmap.fit_bounds([[float(np.nanmin(arr[:, 0])), float(np.nanmin(arr[:, 1]))],
                         [float(np.nanmax(arr[:, 0])), float(np.nanmax(arr[:, 1]))]])
    return fmap


ERROR_CLASSES_DB = ((-6.0, "#2166ac"), (-2.0, "#92c5de"), (2.0, "#7fbf7b"), (6.0, "#f4a582"),
                    (np.inf, "#b2182b"))
"""Colours of the test-point layer by error predicted - measured [dB] (upper bounds,
exclusive): map pessimistic in blue, within 2 dB green, optimistic in red; grey without
an error."""

MEASUREMENT_TIPS = (("point_id", "Test", ""), ("operator", "Operator", ""),
                    ("rsrp_dbm", "Measured RSRP", " dBm"),
                    ("rsrp_point_dbm", "Predicted RSRP (point)", " dBm"),
                    ("rsrp_raster_dbm", "Predicted RSRP (raster)", " dBm"),
                    ("error_point_db", "Error (predicted - measured)", " dB"))


def _error_colour(err) -> str:
    if err is None or not np.isfinite(err):
        return "#888888"
    for upper, colour in ERROR_CLASSES_DB:
        if err < upper:
            return colour
    return ERROR_CLASSES_DB[-1][1]


def _add_measurements(fmap, points, bounds: list) -> None:
    """The test-point layer of :func:`build_map` (every text escaped)."""
    import folium

    pts = _wgs84(points, "measurements")
    pts = pts[pts.geometry.notna() & ~pts.geometry.is_empty]
    title = f"Test points ({len(pts):,}; colour: predicted - measured)"
    group = folium.FeatureGroup(name=_esc(title)).add_to(fmap)
    _class_legend_class()(error_class_labels(), caption="Test points: predicted - measured "
                          "RSRP", layer=group, layer_title=title).add_to(fmap)
    tips = [(c, label, unit) for c, label, unit in MEASUREMENT_TIPS if c in pts.columns]
    for _, row in pts.iterrows():
        rows = []
        for col, label, unit in tips:
            v = json_safe(row[col])
            if v is None:
                continue
            rows.append((label, (str(v) if isinstance(v, str) else
                                 f"{v:.1f}" if isinstance(v, float) else str(v)) + unit))
        err = json_safe(row["error_point_db"]) if "error_point_db" in pts.columns else None
        colour = _error_colour(err)
        folium.CircleMarker(location=[row.geometry.y, row.geometry.x], radius=4, weight=1,
                            color=colour, fill=True, fill_color=colour, fill_opacity=0.8,
                            tooltip=_table_html(rows)).add_to(group)
        bounds.append([row.geometry.y, row.geometry.x])


def coverage_map(result, proposal=None, *, layers: Sequence[str] = DEFAULT_MAP_LAYERS,
                 cdn: bool = False, inline_assets: bool | None = None, measurements=None,
                 challenges=None):
    """The coverage map of an in-memory result (and site proposal) as a ``folium.Map``.

    Parameters
    ----------
    result : covkit.CoverageResult
        Rasters, townships and KPIs; its inputs give the stations and trails.
    proposal : covkit.SiteProposal, optional
        Adds the proposed sites and the after-KPIs.
    layers : sequence of str
        Raster overlays (see :func:`build_map`).
    cdn : bool
        Load the web libraries and OpenStreetMap tiles from the internet.
    inline_assets : bool, optional
        Carry the web libraries inline, so the map renders offline when saved or shown in
        Jupyter; default: True unless ``cdn``.
    measurements : GeoDataFrame, optional
        Verified test points (``covkit.verify(...).points``): a layer coloured by the error.
    challenges : GeoDataFrame, optional
        Challenge hexagons (see :func:`build_map`).

    Returns
    -------
    folium.Map
    """
    grid = result.grid
    computed = np.isfinite(result.rsrp_best_dbm)

    def raster(values):
        return (np.asarray(values, dtype=np.float64), grid.transform, grid.crs)

    rasters = {"rsrp": raster(result.rsrp_best_dbm), "sinr": raster(result.sinr_db),
               "coverage_probability": raster(result.coverage_probability),
               "covered": raster(np.where(computed, result.covered.astype(np.float64),
                                          np.nan))}
    stations = trails = None
    if result.inputs is not None:
        st = result.inputs.stations.table
        stations = gpd.GeoDataFrame(st.drop(columns=["x_m", "y_m"]),
                                    geometry=gpd.points_from_xy(st["lon"], st["lat"]),
                                    crs="EPSG:4326")
        trails = result.inputs.trails
    dem = None if result.inputs is None else \
        (np.asarray(result.inputs.dem_m, dtype=np.float64), grid.transform, grid.crs)
    view = RunView(summary=result.summary, townships=result.townships, rasters=rasters,
                   stations=stations, trails=trails, dem=dem,
                   kpi_after={} if proposal is None else proposal.kpi_after,
                   proposed=None if proposal is None else proposal.proposed,
                   sites_summary={} if proposal is None else proposal.summary)
    return build_map(view, cdn=cdn, layers=layers,
                     inline_assets=(not cdn) if inline_assets is None else inline_assets,
                     measurements=measurements, challenges=challenges)


def write_map(
    out_dir: Path | str,
    scenario_path: Path | str | None = None,
    *,
    stations: Path | str | None = None,
    trails: Path | str | None = None,
    cdn: bool = False,
    layers: Sequence[str] = DEFAULT_MAP_LAYERS,
    commit: RunCommit | None = None,
) -> Path:
    """Write ``map.html`` (and, offline, its ``lib/`` folder) into a run's output folder.

    Reads the folder (:meth:`RunView.from_folder <covkit.runfolder.RunView.from_folder>`),
    draws it (:func:`build_map`) and saves the page.

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
    commit : covkit.outputs.RunCommit, optional
        The output set of a whole run being staged: the map is drawn from its staged files and
        staged with them. Default: ``map.html`` and ``lib/`` are committed together on their
        own, under the folder's lock.

    Returns
    -------
    pathlib.Path
        The written ``map.html`` (``map.html`` and ``lib/`` replaced together).

    Raises
    ------
    CovkitInputError
        When ``out_dir`` holds none of the run's outputs, a layer name is unknown, or a file
        cannot be read.
    """
    out = Path(out_dir)
    if commit is None:
        if not out.is_dir():
            raise CovkitInputError("output folder does not exist", file=out)
        with RunCommit(out, replaces=(MAP_NAME, LIB_DIR)) as own:
            return _write_map(out, out, own, scenario_path, stations, trails, cdn, layers)
    return _write_map(out, commit.stage, commit, scenario_path, stations, trails, cdn, layers)


def _write_map(out: Path, src: Path, commit: RunCommit, scenario_path, stations, trails,
               cdn: bool, layers: Sequence[str]) -> Path:
    view = RunView.from_folder(
        src, stations=stations, trails=trails, layers=layers, max_px=MAX_OVERLAY_PX,
        scenario_inputs=None if scenario_path is None else
        functools.partial(_scenario_inputs, Path(scenario_path)))
    page = build_map(view, cdn=cdn, layers=layers).get_root().render()
    if not cdn:
        with commit.writing(LIB_DIR + "/"):
            page = localize_assets(page, commit.path(LIB_DIR))
    commit.bytes(MAP_NAME, page.encode("utf-8"))
    return out / MAP_NAME


# ----------------------------------------------------------------------------------------------
# FCC-style challenge hexagons (covkit.coverage.challenge)

CHALLENGE_LAYER_NAME = "Challenge hexagons (red: challenged)"
CHALLENGE_COLORS = {True: "#d7301f", False: "#8c8c8c"}
"""Fill and outline of a flagged (challenged) / not flagged hexagon."""
_CHALLENGE_FIELDS = (
    ("verdict", "Verdict"), ("operator", "Operator"), ("h3_cell", "H3 cell"),
    ("n_tests", "Tests in predicted coverage"), ("n_negative", "Negative tests"),
    ("negative_share", "Negative share [%]"), ("required_share", "Required share [%]"),
    ("n_children_r9", "Resolution-9 cells with negative tests"),
    ("span_hours", "Time span of negative tests [h]"), ("n_excluded", "Tests outside coverage"),
)


def _challenge_verdict(flagged: bool, reason: str) -> str:
    if flagged:
        return "challenged"
    codes = [c for c in str(reason).split(";") if c]
    return "not challenged: " + "; ".join(CHALLENGE_REASONS.get(c, c) for c in codes)


def challenge_features(hexagons) -> list[dict]:
    """The hexagons as GeoJSON features for the map: every shown value as escaped text
    (:func:`_esc`; the tooltip sets it as HTML), ``_flagged`` for the style.

    Parameters
    ----------
    hexagons : geopandas.GeoDataFrame
        :func:`covkit.coverage.challenge.challenge_hexagons` rows, any CRS.
    """
    hx = _wgs84(hexagons, "challenge hexagons")
    hx = hx[hx.geometry.notna() & ~hx.geometry.is_empty]
    feats = []
    for _, row in hx.iterrows():
        flagged = bool(row["flagged"])
        props: dict = {"_flagged": flagged,
                       "verdict": _esc(_challenge_verdict(flagged, row.get("reason", "")))}
        for col, _label in _CHALLENGE_FIELDS[1:]:
            if col not in hx.columns:
                continue
            v = json_safe(row[col])
            if col.endswith("_share"):
                text = fmt_pct(None if v is None else 100.0 * float(v))
            elif col in ("operator", "h3_cell"):
                text = "" if v is None else str(v)
            else:
                text = fmt_value(v)
            props[col] = _esc(text)
        feats.append({"type": "Feature", "properties": props,
                      "geometry": shapely.transform(
                          row.geometry, lambda xy: np.round(xy, OUTLINE_DECIMALS)
                      ).__geo_interface__})
    return feats


def add_challenge_layer(fmap, hexagons, *, name: str = CHALLENGE_LAYER_NAME,
                        show: bool = True):
    """Add the challenge hexagons to a folium map as one GeoJson layer: red where flagged
    (challenged), grey where not, a tooltip with the verdict (the failed rules), operator, H3
    cell and counts.

    Parameters
    ----------
    fmap : folium.Map
        E.g. :func:`coverage_map` or :func:`challenge_map`.
    hexagons : geopandas.GeoDataFrame
        :func:`covkit.coverage.challenge.challenge_hexagons` rows (any CRS).
    name : str
        Name in the layer control (shown as text).
    show : bool
        Shown when the page opens.

    Returns
    -------
    folium.GeoJson or None
        The layer (None when there is no hexagon).
    """
    import folium

    feats = challenge_features(hexagons)
    if not feats:
        return None
    fields = [(c, a) for c, a in _CHALLENGE_FIELDS if c in feats[0]["properties"]]

    def style_fn(feature):
        color = CHALLENGE_COLORS[bool(feature["properties"]["_flagged"])]
        return {"fillColor": color, "color": color, "weight": 1.5, "fillOpacity": 0.45,
                "className": "covkit-challenge"}

    layer = folium.GeoJson(
        {"type": "FeatureCollection", "features": feats}, name=_esc(name), show=show,
        style_function=style_fn,
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.65},
        tooltip=folium.GeoJsonTooltip(fields=[c for c, _ in fields],
                                      aliases=[_esc(a) for _, a in fields], sticky=True),
    )
    layer.add_to(fmap)
    return layer


def challenge_map(hexagons, *, cdn: bool = False, inline_assets: bool | None = None,
                  title: str = "Challenge hexagons"):
    """A map of the challenge hexagons alone, as a ``folium.Map`` (offline by default, like
    :func:`coverage_map`: the web libraries inline, no tiles).

    Parameters
    ----------
    hexagons : geopandas.GeoDataFrame
        :func:`covkit.coverage.challenge.challenge_hexagons` rows (any CRS).
    cdn : bool
        Load the web libraries and OpenStreetMap tiles from the internet.
    inline_assets : bool, optional
        Carry the web libraries inline; default: True unless ``cdn``.
    title : str
        Page title (shown as text).

    Returns
    -------
    folium.Map

    Raises
    ------
    CovkitInputError
        When ``cdn`` and ``inline_assets`` are both set, or the table has no CRS.
    """
    import folium

    inline = (not cdn) if inline_assets is None else inline_assets
    if cdn and inline:
        raise CovkitInputError("cdn=True loads the web libraries from the internet; it cannot "
                               "be combined with inline_assets=True")
    fmap = folium.Map(location=[0.0, 0.0], zoom_start=2, tiles=None, max_zoom=MAX_ZOOM,
                      control_scale=True)
    if inline:
        _inline_figure_class()().add_child(fmap)
    fmap.options["maxZoom"] = MAX_ZOOM
    fmap.get_root().title = _esc(title)
    if cdn:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", max_zoom=MAX_ZOOM,
                         control=True).add_to(fmap)
    layer = add_challenge_layer(fmap, hexagons)
    folium.LayerControl(collapsed=False).add_to(fmap)
    if layer is not None:
        b = _wgs84(hexagons, "challenge hexagons").total_bounds
        fmap.fit_bounds([[float(b[1]), float(b[0])], [float(b[3]), float(b[2])]])
    return fmap
