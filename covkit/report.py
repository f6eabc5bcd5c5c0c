"""Coverage report of a run's output folder: ``report.html`` and ``report.md``.

:func:`write_report` reads ``kpi_summary.json``, ``kpi_townships.csv`` (or ``.gpkg``),
``rsrp_best.tif`` and, when ``covkit sites`` ran, ``kpi_after.json`` and ``sites_proposed.csv``,
and writes

- ``report.html``: self-contained (figures embedded as base64 PNG, CSS inline, no links);
- ``report.md``: the same content, figures saved as PNG files beside it
  (``report_coverage_map.png``, ``report_township_coverage.png``, ``report_rsrp_distribution.png``
  and, with proposed sites, ``report_before_after.png``).

Content: headline KPIs with the method (threshold, location probability, grid, model), the run's
warnings, a map of best RSRP and of the covered area with the township outlines, per
operator and per county tables, a bar chart of township population coverage (remote and
non-remote townships in two colours), the distribution of best RSRP (population-weighted when the
run's population raster is found, else by area), before/after KPIs and the ranked proposed sites,
and the township KPI table. Figures use matplotlib's Agg canvas directly (no pyplot state).
Missing keys and files are tolerated: a section without data is left out.

Every value that comes from the inputs (scenario name, township ids / names / counties, operator
names, site ids, warnings, parameters, the folder name) is text, never markup: in ``report.html``
it is HTML-escaped (and the page forbids scripts with a Content-Security-Policy); in ``report.md``
it is escaped for Markdown (:func:`md_text`: HTML's ``& < >`` as entities, Markdown punctuation
with a backslash, line breaks as spaces), so a Markdown renderer shows the text; in the figures
it is drawn as plain text (no mathtext). Counts print as whole numbers with thousands separators
and changes are signed only when not zero (:func:`covkit.runfolder.fmt_count`,
:func:`covkit.runfolder.fmt_change`).
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import html
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from covkit.data.loaders import resample_sum
from covkit.errors import CovkitInputError
from covkit.fonts import CSS_FAMILY, cjk_font_face_css, figure_rc
from covkit.outputs import RunCommit
from covkit.runfolder import (
    COVERED,
    KPI_AFTER,
    KPI_SUMMARY,
    KPI_TOWNSHIPS_CSV,
    KPI_VILLAGES_CSV,
    REPORT_FIG_BEFORE_AFTER,
    REPORT_FIG_MAP,
    REPORT_FIG_RSRP,
    REPORT_FIG_TOWNSHIPS,
    REPORT_FILES,
    REPORT_HTML,
    REPORT_MD,
    RSRP_BEST,
    SITES_PROPOSED_CSV,
    as_bool_array,
    find_key,
    fmt_change,
    fmt_count,
    fmt_pct,
    fmt_value,
    method_text,
    population_raster,
    read_json,
    read_proposed,
    read_raster,
    read_townships,
    sites_note,
    terrain_notes,
)

HTML_NAME = REPORT_HTML
MD_NAME = REPORT_MD
FIG_TOWNSHIPS = REPORT_FIG_TOWNSHIPS
FIG_RSRP = REPORT_FIG_RSRP
FIG_BEFORE_AFTER = REPORT_FIG_BEFORE_AFTER
FIG_MAP = REPORT_FIG_MAP
COVERED_COLOR = "#2b8cbe"
NOT_COVERED_COLOR = "#f0b27a"
OUTLINE_COLOR = "#222222"
MAP_MAX_PIXELS = 1200
"""Longest side of the raster drawn in the coverage map figure (larger rasters are decimated)."""
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
"""Content-Security-Policy of report.html: no script, no fetch, images only embedded."""
REMOTE_COLOR = "#d95f02"
NON_REMOTE_COLOR = "#1b9e77"
RSRP_BIN_DB = 2.0

_HEADLINE = (
    ("population_total", "Population", "persons"),
    ("population_covered", "Covered population", "persons"),
    ("population_coverage_pct", "Population coverage", "%"),
    ("non_remote_population_coverage_pct", "Population coverage, non-remote townships", "%"),
    ("remote_population_coverage_pct", "Population coverage, remote townships", "%"),
    ("townships", "Townships", ""),
    ("remote_townships", "Remote townships", ""),
    ("remote_townships_with_coverage", "Remote townships with any coverage", ""),
    ("fibre_household_coverage_non_remote_pct",
     "Households within reach of fibre, non-remote townships", "%"),
    ("fibre_household_coverage_pct", "Households within reach of fibre, all", "%"),
    ("trail_km_total", "Trails", "km"),
    ("trail_coverage_pct", "Trail length covered", "%"),
    ("population_outside_townships", "Population outside every township", "persons"),
)
_BEFORE_AFTER = (
    ("population_coverage_pct", "Population coverage", "%"),
    ("non_remote_population_coverage_pct", "Non-remote population coverage", "%"),
    ("remote_population_coverage_pct", "Remote population coverage", "%"),
    ("population_covered", "Covered population", "persons"),
    ("remote_townships_with_coverage", "Remote townships with any coverage", ""),
    ("trail_coverage_pct", "Trail length covered", "%"),
)
_TOWNSHIP_COLUMNS = (
    ("township_id", "ID"), ("name", "Township"), ("county", "County"), ("remote", "Remote"),
    ("population", "Population"), ("covered_population", "Covered"),
    ("coverage_pct", "Coverage [%]"), ("households", "Households"),
    ("households_fibre_400m", "Households near fibre"),
    ("fibre_coverage_pct", "Fibre coverage [%]"),
)


# ----------------------------------------------------------------------------------------------
# Data


@dataclass
class RsrpDistribution:
    """Histogram of best RSRP over the computed cells.

    Attributes
    ----------
    edges_dbm : numpy.ndarray
        Bin edges [dBm], ``len(weights) + 1``.
    weights : numpy.ndarray
        Population [persons] or area [km^2] per bin.
    weighted_by : str
        ``"population"`` or ``"area"``.
    total : float
        Sum of ``weights`` (population or area of the computed cells).
    """

    edges_dbm: np.ndarray
    weights: np.ndarray
    weighted_by: str
    total: float


def rsrp_distribution(rsrp_path: Path, population_path: Path | None = None,
                      bin_db: float = RSRP_BIN_DB) -> RsrpDistribution | None:
    """Distribution of best RSRP, population-weighted when a population raster is given.

    The population raster is used as is when it is on the RSRP grid; otherwise it is resampled
    onto that grid with a sum (people are conserved up to the grid edges). Cells where RSRP is
    nodata are not counted.

    Parameters
    ----------
    rsrp_path : path
        ``rsrp_best.tif`` [dBm].
    population_path : path, optional
        Population raster [persons per cell].
    bin_db : float
        Bin width [dB].

    Returns
    -------
    RsrpDistribution or None
        None when no cell has a value.
    """
    return rsrp_distribution_of(read_raster(rsrp_path), population_path, bin_db)


def rsrp_distribution_of(raster, population_path: Path | None = None,
                         bin_db: float = RSRP_BIN_DB) -> RsrpDistribution | None:
    """:func:`rsrp_distribution` of best RSRP already read: ``raster`` is (values [dBm, NaN
    for nodata], transform, crs) as :func:`covkit.runfolder.read_raster` returns it."""
    rsrp, transform, crs = raster
    height, width = rsrp.shape
    ok = np.isfinite(rsrp)
    if not ok.any():
        return None
    weights = None
    if population_path is not None:
        pop, ptransform, pcrs = read_raster(population_path)
        ph, pw = pop.shape
        if (pw, ph) != (width, height) or pcrs != crs or \
                not np.allclose(tuple(ptransform)[:6], tuple(transform)[:6]):
            pop = resample_sum(np.nan_to_num(pop, nan=0.0), ptransform, pcrs, (height, width),
                               transform, crs)
        weights = np.nan_to_num(pop, nan=0.0)[ok]
        weighted_by = "population"
    if weights is None:
        cell_km2 = abs(transform.a * transform.e - transform.b * transform.d) / 1e6
        weights = np.full(int(ok.sum()), cell_km2)
        weighted_by = "area"
    values = rsrp[ok]
    lo = math.floor(values.min() / bin_db) * bin_db
    hi = math.floor(values.max() / bin_db) * bin_db + bin_db
    edges = np.arange(lo, hi + bin_db / 2, bin_db)
    counts, edges = np.histogram(values, bins=edges, weights=weights)
    return RsrpDistribution(edges, counts, weighted_by, float(weights.sum()))


# ----------------------------------------------------------------------------------------------
# Figures (matplotlib Agg canvas, no pyplot)


def _figure_fonts(func):
    """Run ``func`` (which makes or saves a figure) with covkit's figure fonts: matplotlib's
    default font with the CJK font that ships with covkit's dependencies as the fallback
    (:mod:`covkit.fonts`), so Chinese names are drawn, not boxes."""

    @functools.wraps(func)
    def with_fonts(*args, **kwargs):
        from matplotlib import rc_context

        with rc_context(figure_rc()):
            return func(*args, **kwargs)

    return with_fonts


def _new_figure(w_in: float, h_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w_in, h_in), dpi=110)
    FigureCanvasAgg(fig)
    return fig


@_figure_fonts
def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


TOWNSHIPS_CHARTED = 60
"""Up to this many townships the coverage chart has one named bar per township. With more (a
national run: 368, a chart 90 inches tall that took most of the report's time) it shows how
many townships reach each coverage (5 % bins, non-remote and remote stacked) beside the
:data:`TOWNSHIPS_LOWEST` townships with the lowest coverage by name; the township table lists
every one."""
TOWNSHIPS_LOWEST = 30


def _township_overview_fig(pct: np.ndarray, remote: np.ndarray, labels: list[str]):
    """The township chart of a run with many townships (see :data:`TOWNSHIPS_CHARTED`);
    townships without a coverage (not computed) are left out of both panels."""
    from matplotlib.patches import Patch

    ok = np.isfinite(pct)
    fig = _new_figure(10.0, 0.24 * TOWNSHIPS_LOWEST + 1.6)
    hist, low = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    edges = np.arange(0.0, 100.0 + 5.0, 5.0)
    counts = [np.histogram(np.clip(pct[ok & sel], 0.0, 100.0), bins=edges)[0]
              for sel in (~remote, remote)]
    hist.bar(edges[:-1], counts[0], width=5.0, align="edge", color=NON_REMOTE_COLOR,
             edgecolor="white", linewidth=0.4)
    hist.bar(edges[:-1], counts[1], width=5.0, align="edge", bottom=counts[0],
             color=REMOTE_COLOR, edgecolor="white", linewidth=0.4)
    hist.set_xlim(0, 100)
    hist.set_xlabel("Population coverage [%]")
    hist.set_ylabel("Townships")
    hist.set_title(f"{fmt_count(int(ok.sum()))} townships by population coverage", fontsize=10)
    hist.grid(axis="y", alpha=0.3)
    idx = np.flatnonzero(ok)
    worst = idx[np.lexsort((idx, pct[idx]))][:TOWNSHIPS_LOWEST]  # lowest first, ties by row
    y = np.arange(len(worst))
    low.barh(y, pct[worst], color=[REMOTE_COLOR if r else NON_REMOTE_COLOR
                                   for r in remote[worst]])
    low.set_yticks(y, [labels[i] for i in worst], fontsize=8, parse_math=False)
    low.invert_yaxis()
    low.set_xlim(0, 100)
    low.set_xlabel("Population coverage [%]")
    low.set_title(f"The {len(worst)} with the lowest coverage", fontsize=10)
    low.grid(axis="x", alpha=0.3)
    low.legend(handles=[Patch(color=NON_REMOTE_COLOR, label="non-remote"),
                        Patch(color=REMOTE_COLOR, label="remote")],
               loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.suptitle("Population coverage by township")
    fig.tight_layout()
    return fig


@_figure_fonts
def township_figure(df) -> bytes:
    """Horizontal bar chart of township population coverage [%], remote vs non-remote (with
    more than :data:`TOWNSHIPS_CHARTED` townships: their distribution and the lowest ones)."""
    from matplotlib.patches import Patch

    remote = as_bool_array(df["remote"]) if "remote" in df.columns else np.zeros(len(df), bool)
    pct = df["coverage_pct"].to_numpy(dtype=np.float64)
    labels = [str(n) for n in (df["name"] if "name" in df.columns else df["township_id"])]
    if "county" in df.columns and len(set(labels)) < len(labels):
        labels = [f"{n} ({c})" for n, c in zip(labels, df["county"], strict=True)]
    if len(pct) > TOWNSHIPS_CHARTED:
        return _png(_township_overview_fig(pct, remote, labels))
    order = np.lexsort((-np.nan_to_num(pct, nan=-1.0), remote))  # non-remote first, high first
    n = len(order)
    fig = _new_figure(8.0, max(2.2, 0.24 * n + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(n)
    ax.barh(y, np.nan_to_num(pct[order]), color=[REMOTE_COLOR if r else NON_REMOTE_COLOR
                                                  for r in remote[order]])
    ax.set_yticks(y, [labels[i] for i in order], fontsize=8 if n > 25 else 9, parse_math=False)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("Population coverage [%]")
    ax.set_title("Population coverage by township")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(handles=[Patch(color=NON_REMOTE_COLOR, label="non-remote"),
                       Patch(color=REMOTE_COLOR, label="remote")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _png(fig)


def rsrp_figure(dist: RsrpDistribution, threshold_dbm: float | None,
                required_median_dbm: float | None) -> bytes:
    """Histogram of best RSRP with the coverage threshold marked (PNG)."""
    return _png(rsrp_fig(dist, threshold_dbm, required_median_dbm))


@_figure_fonts
def rsrp_fig(dist: RsrpDistribution, threshold_dbm: float | None,
             required_median_dbm: float | None):
    """The matplotlib Figure of :func:`rsrp_figure` (axis labels with thousands separators)."""
    from matplotlib.ticker import FuncFormatter

    fig = _new_figure(8.0, 3.6)
    ax = fig.add_subplot(1, 1, 1)
    widths = np.diff(dist.edges_dbm)
    ax.bar(dist.edges_dbm[:-1], dist.weights, width=widths, align="edge", color="#3b75af",
           edgecolor="white", linewidth=0.4)
    if threshold_dbm is not None:
        ax.axvline(threshold_dbm, color="#c0392b", lw=1.5,
                   label=f"threshold {threshold_dbm:g} dBm")
    if required_median_dbm is not None and (threshold_dbm is None or
                                            abs(required_median_dbm - threshold_dbm) > 0.05):
        ax.axvline(required_median_dbm, color="#c0392b", lw=1.2, ls="--",
                   label=f"median needed for the location probability "
                         f"{required_median_dbm:.1f} dBm")
    ax.set_xlabel("Best RSRP [dBm]")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}" if abs(v) >= 10
                                               else f"{v:g}"))
    if dist.weighted_by == "population":
        ax.set_ylabel("Population [persons]")
        ax.set_title("Distribution of best RSRP over the population")
    else:
        ax.set_ylabel("Area [km²]")
        ax.set_title("Distribution of best RSRP over the computed area")
    ax.grid(axis="y", alpha=0.3)
    if threshold_dbm is not None or required_median_dbm is not None:
        ax.legend(fontsize=8, loc="upper left")
    return fig


def before_after_figure(before: dict, after: dict) -> bytes | None:
    """Grouped bars: national, non-remote and remote population coverage before / after (PNG);
    None when neither has the percentages."""
    fig = before_after_fig(before, after)
    return None if fig is None else _png(fig)


@_figure_fonts
def before_after_fig(before: dict, after: dict):
    """The matplotlib Figure of :func:`before_after_figure` (legend outside the axes, right of
    them, so it covers no bar); None without data."""
    keys = [(k, lab) for k, lab in (("population_coverage_pct", "all"),
                                    ("non_remote_population_coverage_pct", "non-remote"),
                                    ("remote_population_coverage_pct", "remote"))
            if _num(before.get(k)) is not None and _num(after.get(k)) is not None]
    if not keys:
        return None
    fig = _new_figure(6.0, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(keys))
    b = [_num(before[k]) for k, _ in keys]
    a = [_num(after[k]) for k, _ in keys]
    ax.bar(x - 0.18, b, width=0.36, color="#9e9e9e", label="today")
    ax.bar(x + 0.18, a, width=0.36, color="#2b8cbe", label="with proposed sites")
    for xi, v in zip(x, a, strict=True):
        ax.text(xi + 0.18, v + 1, fmt_pct(v), ha="center", fontsize=8)
    for xi, v in zip(x, b, strict=True):
        ax.text(xi - 0.18, v + 1, fmt_pct(v), ha="center", fontsize=8)
    ax.set_xticks(x, [lab for _, lab in keys])
    ax.set_ylim(0, 110)
    ax.set_yticks(np.arange(0, 101, 20))
    ax.set_ylabel("Population coverage [%]")
    ax.set_title("Population coverage before and after the proposed sites")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def _rings(geom):
    """Exterior and interior rings of a (multi)polygon as (n, 2) coordinate arrays."""
    if geom is None or geom.is_empty:
        return []
    if hasattr(geom, "geoms"):
        return [r for g in geom.geoms for r in _rings(g)]
    if not hasattr(geom, "exterior"):
        return []
    return [np.asarray(geom.exterior.coords)[:, :2]] + [np.asarray(r.coords)[:, :2]
                                                         for r in geom.interiors]


@_figure_fonts
def coverage_map_fig(rsrp, transform, crs, *, covered=None, townships=None,
                     threshold_dbm: float | None = None):
    """Map of best RSRP and of the covered area, with the township outlines.

    Parameters
    ----------
    rsrp : numpy.ndarray
        Best RSRP [dBm], NaN outside the computed area (north-up raster).
    transform : affine.Affine
        Pixel -> CRS coordinates of ``rsrp`` (and ``covered``).
    crs : rasterio.crs.CRS or None
        CRS of the raster; the townships are drawn in it (left out when it is None).
    covered : numpy.ndarray, optional
        Covered flag (1 covered, 0 not, NaN not computed) on the same grid: a second panel.
        Without it and with ``threshold_dbm`` the second panel shows RSRP >= threshold.
    townships : geopandas.GeoDataFrame, optional
        Township polygons (any CRS).
    threshold_dbm : float, optional
        Coverage threshold [dBm], marked on the colour bar.

    Returns
    -------
    matplotlib.figure.Figure
        One or two panels; the outlines are a ``LineCollection`` with ``gid="townships"`` per
        panel. Coordinates in km for projected CRSs, degrees for geographic ones.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    rsrp = np.asarray(rsrp, dtype=np.float64)
    if covered is None and threshold_dbm is not None:
        covered = np.where(np.isfinite(rsrp), (rsrp >= threshold_dbm).astype(np.float64), np.nan)
    step = max(1, math.ceil(max(rsrp.shape) / MAP_MAX_PIXELS))
    geographic = bool(crs is not None and getattr(crs, "is_geographic", False))
    scale = 1.0 if geographic else 1000.0
    h, w = rsrp.shape
    x0, y0 = transform.c, transform.f
    x1, y1 = x0 + transform.a * w, y0 + transform.e * h
    extent = (x0 / scale, x1 / scale, y1 / scale, y0 / scale)
    segs: list[np.ndarray] = []
    if townships is not None and crs is not None and len(townships):
        tw = townships if townships.crs is None else townships.to_crs(crs)
        segs = [r / scale for g in tw.geometry for r in _rings(g)]

    panels = 1 if covered is None else 2
    aspect = abs(w * transform.a) / max(abs(h * transform.e), 1e-9)
    fig_w = 9.5
    fig_h = max(2.6, min(8.0, (fig_w / panels) / max(aspect, 0.2) + 1.1))
    fig = _new_figure(fig_w, fig_h)
    axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
    finite = rsrp[np.isfinite(rsrp)]
    vmin = math.floor(float(np.percentile(finite, 1)) / 5.0) * 5.0 if finite.size else -130.0
    vmax = math.ceil(float(np.percentile(finite, 99)) / 5.0) * 5.0 if finite.size else -60.0
    im = axes[0].imshow(rsrp[::step, ::step], extent=extent, origin="upper", cmap="viridis",
                        vmin=vmin, vmax=max(vmax, vmin + 5.0), interpolation="nearest")
    axes[0].set_title("Best RSRP [dBm]", fontsize=10)
    cb = fig.colorbar(im, ax=axes[0], orientation="horizontal", fraction=0.06, pad=0.12)
    cb.set_label("Best RSRP [dBm]", fontsize=8)
    cb.ax.tick_params(labelsize=8)
    if threshold_dbm is not None and vmin <= threshold_dbm <= vmax:
        cb.ax.axvline(threshold_dbm, color="#c0392b", lw=1.5)
    if covered is not None:
        cov = np.asarray(covered, dtype=np.float64)[::step, ::step]
        axes[1].imshow(cov, extent=extent, origin="upper", interpolation="nearest",
                       cmap=ListedColormap([NOT_COVERED_COLOR, COVERED_COLOR]), vmin=0, vmax=1)
        axes[1].set_title("Covered area", fontsize=10)
        axes[1].legend(handles=[Patch(color=COVERED_COLOR, label="covered"),
                                Patch(color=NOT_COVERED_COLOR, label="not covered")],
                       loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, fontsize=8,
                       frameon=False)
    unit = "deg" if geographic else "km"
    for ax in axes:
        if segs:
            ax.add_collection(LineCollection(segs, colors=OUTLINE_COLOR, linewidths=0.5,
                                             gid="townships"))
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_aspect(1.0 / max(math.cos(math.radians((y0 + y1) / 2.0)), 0.01)
                      if geographic else "equal")
        ax.tick_params(labelsize=7)
        ax.set_xlabel(f"{'Longitude' if geographic else 'Easting'} [{unit}]", fontsize=8)
    axes[0].set_ylabel(f"{'Latitude' if geographic else 'Northing'} [{unit}]", fontsize=8)
    return fig


# ----------------------------------------------------------------------------------------------
# Document model: a list of blocks rendered to HTML and Markdown


@dataclass
class _Table:
    header: list[str]
    rows: list[list[str]]
    align_right: list[bool]


@dataclass
class _Figure:
    name: str
    png: bytes
    alt: str


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _val(v: Any, unit: str) -> str:
    """A KPI as shown: counts (unit ``""`` or ``"persons"``) as whole numbers, percentages with
    :func:`fmt_pct`, other quantities with one decimal and the unit."""
    if v is None:
        return "n/a"
    if isinstance(v, str):
        s = v
    elif unit == "%":
        s = fmt_pct(v)
    elif unit in ("", "persons"):
        s = fmt_count(v)
    else:
        s = fmt_value(v)
    if unit in ("", "persons") or s == "n/a":
        return s
    return f"{s} {unit}" if unit != "%" else f"{s} %"


_MD_PUNCT = re.compile(r"([\\`*_{}\[\]|~$!#])")
_MD_BREAKS = re.compile(r"[\r\n\t\f\v\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u0085]+")


def md_text(value: Any) -> str:
    """Text for any place in a Markdown line (heading, paragraph, table cell, image alt text)
    that a Markdown renderer shows as the same text, never as markup.

    ``&``, ``<`` and ``>`` become HTML entities (no raw HTML, no autolink, no entity of the
    input's own); Markdown's inline punctuation (``\\ ` * _ { } [ ] | ~ $ ! #``) gets a
    backslash (no emphasis, link, image, code span, table cell break or math); line breaks and
    other control characters become a space (no new block, e.g. a heading or an HTML block).
    Letters, digits and ``. , : ; + - % ( ) ' " / =`` are kept as they are: outside the start of
    a line they are no markup.
    """
    s = _MD_BREAKS.sub(" ", str(value))
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCT.sub(r"\\\1", s)


def _table_md(t: _Table) -> str:
    head = "| " + " | ".join(md_text(h) for h in t.header) + " |"
    sep = "|" + "|".join("---:" if r else "---" for r in t.align_right) + "|"
    body = ["| " + " | ".join(md_text(c) for c in row) + " |" for row in t.rows]
    return "\n".join([head, sep, *body])


def _table_html(t: _Table) -> str:
    def cells(row, tag):
        return "".join(f'<{tag} class="{"r" if r else "l"}">{html.escape(c)}</{tag}>'
                       for c, r in zip(row, t.align_right, strict=True))

    body = "".join(f"<tr>{cells(r, 'td')}</tr>" for r in t.rows)
    return (f'<div class="tbl"><table><thead><tr>{cells(t.header, "th")}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1000px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 28px;
     border-bottom: 1px solid #ddd; padding-bottom: 3px; }
.meta { color: #666; font-size: 12px; }
div.tbl { max-width: 100%; overflow-x: auto; margin: 8px 0 16px 0; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; } th { background: #f3f5f7; }
td.r, th.r { text-align: right; } td.l, th.l { text-align: left; }
img { max-width: 100%; height: auto; display: block; margin: 8px 0 16px 0; }
p.note { color: #555; font-size: 12px; }
"""


def _headline_table(summary: dict) -> _Table | None:
    rows = [[label, _val(summary.get(k), unit)] for k, label, unit in _HEADLINE
            if summary.get(k) is not None]
    return _Table(["Indicator", "Value"], rows, [False, True]) if rows else None


def _remote_rule_text(summary: dict) -> str | None:
    """One line beside the remote-township figure: the rule, its counts and the offshore
    additions (kpi_summary.json ``remote_rule``)."""
    rr = summary.get("remote_rule")
    if not isinstance(rr, dict) or not isinstance(rr.get("method"), str):
        return None
    counts = rr.get("counts") if isinstance(rr.get("counts"), dict) else {}
    parts = [f"{k} {v}" for k, v in counts.items() if isinstance(v, int) and v]
    text = f"Remote townships: {rr['method']}" + (f"; by rule: {', '.join(parts)}" if parts
                                                   else "")
    adds = rr.get("offshore_additions")
    if isinstance(adds, list) and adds:
        text += "; offshore additions: " + ", ".join(
            f"{a.get('township_id')} {a.get('name')}" for a in adds if isinstance(a, dict))
    listing = rr.get("list")
    if isinstance(listing, dict):
        text += (f"; list vs rule: {len(listing.get('rule_only') or [])} rule only, "
                 f"{len(listing.get('list_only') or [])} list only")
    return text + "."


def _operator_table(summary: dict) -> _Table | None:
    ops = summary.get("operators")
    if not isinstance(ops, dict) or not ops:
        return None
    cols = [("sites", "Sites", ""), ("sectors", "Sectors", ""),
            ("population_coverage_pct", "Population coverage", "%"),
            ("non_remote_population_coverage_pct", "Non-remote", "%"),
            ("remote_population_coverage_pct", "Remote", "%"),
            ("remote_townships_with_coverage", "Remote townships covered", "")]
    cols = [c for c in cols if any(isinstance(e, dict) and e.get(c[0]) is not None
                                   for e in ops.values())]
    rows = [[str(op)] + [_val(e.get(k), u) if isinstance(e, dict) else "n/a" for k, _, u in cols]
            for op, e in ops.items()]
    return _Table(["Operator"] + [lab for _, lab, _ in cols], rows,
                  [False] + [True] * len(cols))


def _county_table(summary: dict) -> _Table | None:
    counties = summary.get("counties")
    if not isinstance(counties, dict) or not counties:
        return None
    rows = [[str(c), _val(e.get("population"), "persons"),
             _val(e.get("covered_population"), "persons"), _val(e.get("coverage_pct"), "%"),
             _val(e.get("non_remote_coverage_pct"), "%"), _val(e.get("remote_coverage_pct"), "%")]
            for c, e in counties.items() if isinstance(e, dict)]
    header = ["County", "Population", "Covered", "Coverage", "Non-remote", "Remote"]
    right = [False, True, True, True, True, True]
    entries = [e for e in counties.values() if isinstance(e, dict)]
    if any(e.get("population_not_computed") for e in entries):
        # coverage is of the people computed; those of townships without terrain beside it
        rows = [[*r, _val(e.get("population_not_computed", 0.0), "persons")]
                for e, r in zip(entries, rows, strict=True)]
        header, right = [*header, "Not computed"], [*right, True]
    if any(e.get("county_code") for e in entries):  # in the summary's (code) order
        rows = [[str(e.get("county_code") or ""), *r] for e, r in zip(entries, rows, strict=True)]
        header, right = ["Code", *header], [False, *right]
    return _Table(header, rows, right)


VILLAGES_LISTED = 10
"""The report lists the remote villages with the most uncovered people, this many."""


def _village_section(out: Path, summary: dict) -> tuple[str, _Table | None] | None:
    """Village mode: one line of counts (kpi_summary.json ``villages``) and the remote
    villages with the most uncovered people (kpi_villages.csv)."""
    v = summary.get("villages")
    if not isinstance(v, dict):
        return None
    text = (f"{fmt_count(v.get('count'))} villages, {fmt_count(v.get('covered'))} covered (at "
            f"least {fmt_pct(100.0 * float(v.get('min_covered_share', 0.0)))} % of their people "
            f"covered), holding {fmt_count(v.get('population_in_covered_villages'))} people; "
            f"{fmt_count(v.get('remote_villages'))} remote villages (density below "
            f"{fmt_value(v.get('remote_rule', {}).get('threshold_density_per_km2'))} /km²), "
            f"{fmt_count(v.get('remote_villages_covered'))} of them covered. All villages in "
            f"{KPI_VILLAGES_CSV}.")
    path = out / KPI_VILLAGES_CSV
    if not path.is_file():
        return text, None
    df = pd.read_csv(path, dtype={"village_id": str, "township_id": str}, encoding="utf-8-sig")
    df = df[df["remote_village"].astype(str).str.lower().isin(("true", "1"))]
    df = df[np.isfinite(df["uncovered_population"].to_numpy(dtype=np.float64))]
    df = df.sort_values(["uncovered_population", "village_id"], ascending=[False, True])
    df = df.head(VILLAGES_LISTED)
    if not len(df):
        return text, None
    rows = [[str(r.village_id), str(r.name), f"{r.county} {r.township_name}",
             _val(r.population, "persons"), _val(r.uncovered_population, "persons"),
             _val(r.coverage_pct, "%")] for r in df.itertuples()]
    return text, _Table(["Village", "Name", "Township", "Population", "Uncovered",
                         "Coverage"], rows, [False, False, False, True, True, True])


def _before_after_table(before: dict, after: dict) -> _Table | None:
    rows = []
    for k, label, unit in _BEFORE_AFTER:
        b, a = before.get(k), after.get(k)
        if b is None and a is None:
            continue
        change = fmt_change(_num(b), _num(a), unit)
        rows.append([label, _val(b, unit), _val(a, unit), change])
    return _Table(["Indicator", "Today", "With proposed sites", "Change"], rows,
                  [False, True, True, True]) if rows else None


def _sites_table(out: Path, limit: int = 50, townships=None) -> tuple[_Table | None, int]:
    """The ranked proposed sites (first ``limit``); with the township table, the township's
    name beside its id."""
    df = read_proposed(out, geometry=False)
    if df is None:
        return None, 0
    if "rank" in df.columns:
        df = df.sort_values("rank", kind="stable")
    if townships is not None and {"township_id", "name"} <= set(townships.columns) and \
            "township_id" in df.columns and "township_name" not in df.columns:
        names = dict(zip(townships["township_id"].astype(str), townships["name"], strict=True))
        df = df.assign(township_name=[names.get(str(t), "") for t in df["township_id"]])
    cols = [(c, lab) for c, lab in (("rank", "Rank"), ("candidate_id", "Candidate"),
                                     ("township_id", "Township"),
                                     ("township_name", "Township name"), ("lon", "Lon [deg]"),
                                     ("lat", "Lat [deg]"),
                                     ("new_population", "New population"),
                                     ("cumulative_population", "Cumulative population"),
                                     ("new_trail_km", "New trail [km]"), ("cost", "Cost"),
                                     ("cost_per_new_person", "Cost per new person"))
            if c in df.columns]
    rows = []
    for _, r in df.head(limit).iterrows():
        row = []
        for c, _ in cols:
            v = r[c]
            if c in ("lon", "lat"):
                row.append(f"{float(v):.5f}")
            elif c in _COUNT_COLUMNS:
                row.append(fmt_count(v))
            elif c == "cost_per_new_person":
                row.append("n/a" if _num(v) is None else f"{float(v):.4g}")
            else:
                row.append(v if isinstance(v, str) else fmt_value(v.item() if hasattr(v, "item")
                                                              else v))
        rows.append(row)
    right = [c not in ("candidate_id", "township_id", "township_name") for c, _ in cols]
    return _Table([lab for _, lab in cols], rows, right), len(df)


_COUNT_COLUMNS = frozenset(("rank", "population", "covered_population", "uncovered_population",
                            "households", "households_fibre_400m", "new_population",
                            "cumulative_population"))
_TIER = re.compile(r"^(\d+(?:\.\d+)?)_(\d+(?:\.\d+)?)$")


def _township_table(df, tiers: Any = None) -> _Table:
    """The township KPI table; per-operator coverage columns, then the speed tiers (``tiers``:
    the summary's ``speed_tiers`` names, else names such as ``7_1``) as "7/1 Mbps"."""
    cols = [(c, lab) for c, lab in _TOWNSHIP_COLUMNS if c in df.columns]
    extra = sorted(c[len("coverage_pct_"):] for c in df.columns if c.startswith("coverage_pct_"))
    tier_names = set(tiers) if isinstance(tiers, dict | list | tuple) else set()
    is_tier = {e: (e in tier_names or not tier_names) and _TIER.match(e) is not None
               for e in extra}
    cols += [(f"coverage_pct_{e}", f"{e} [%]") for e in extra if not is_tier[e]]
    cols += [(f"coverage_pct_{e}", "{} Mbps [%]".format("/".join(_TIER.match(e).groups())))
             for e in extra if is_tier[e]]
    remote = as_bool_array(df["remote"]) if "remote" in df.columns else None
    rows = []
    for i, (_, r) in enumerate(df.iterrows()):
        row = []
        for c, _ in cols:
            v = r[c]
            if c == "remote":
                row.append("yes" if remote[i] else "no")
            elif c in ("township_id", "name", "county"):
                row.append("" if v is None or (isinstance(v, float) and math.isnan(v))
                           else str(v))
            elif "_pct" in c:
                row.append(fmt_pct(v))
            elif c in _COUNT_COLUMNS:
                row.append(fmt_count(v))
            else:
                row.append(fmt_value(v.item() if hasattr(v, "item") else v))
        rows.append(row)
    right = [c not in ("township_id", "name", "county", "remote") for c, _ in cols]
    return _Table([lab for _, lab in cols], rows, right)


def _parameter_rows(summary: dict) -> list[list[str]]:
    params = summary.get("parameters")
    if not isinstance(params, dict):
        return []
    rows = []
    for sec in ("scenario", "propagation", "coverage", "sites", "outputs"):
        block = params.get(sec)
        if isinstance(block, dict):
            for k, v in block.items():
                if v is not None and not isinstance(v, dict | list):
                    rows.append([f"{sec}.{k}", _param_text(v)])
    return rows


def _param_text(v: Any) -> str:
    """A parameter value: floats with up to 12 significant digits (1.3333333333333333 ->
    1.33333333333, 100.0 -> 100), whole numbers as they are, text as is."""
    if isinstance(v, float) and math.isfinite(v):
        return f"{v:.12g}"
    return str(v)


def _warnings(summary: dict) -> list[str]:
    w = summary.get("warnings")
    if isinstance(w, str):
        return [w] if w.strip() else []
    if isinstance(w, list | tuple):
        return [str(x) for x in w if x is not None and str(x).strip()]
    return []


# ----------------------------------------------------------------------------------------------
# Writing


def _map_figure(out: Path, raster, summary: dict):
    """The coverage map figure of a run folder (``raster``: its best RSRP as read), or None
    when ``rsrp_best.tif`` has no value."""
    rsrp, transform, crs = raster
    if not np.isfinite(rsrp).any():
        return None
    covered = None
    cov_path = out / COVERED
    if cov_path.is_file():
        cov, ctransform, _ = read_raster(cov_path)
        if cov.shape == rsrp.shape and np.allclose(tuple(ctransform)[:6], tuple(transform)[:6]):
            covered = cov
    thr = _num(find_key(summary, "rsrp_threshold_dbm"))
    return coverage_map_fig(rsrp, transform, crs, covered=covered,
                            townships=read_townships(out), threshold_dbm=thr)


def write_report(out_dir: Path | str, *, commit: RunCommit | None = None) -> tuple[Path, Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ PNG figures) into a run folder.

    Parameters
    ----------
    out_dir : path
        Output folder of ``covkit run`` (``kpi_summary.json``, ``kpi_townships.csv``,
        ``rsrp_best.tif``), optionally with ``kpi_after.json`` and ``sites_proposed.csv`` from
        ``covkit sites``.
    commit : covkit.outputs.RunCommit, optional
        The output set of a whole run being staged: the report is made from its staged files
        and staged with them. Default: the report files are committed together on their own,
        under the folder's lock (a figure the new report does not have is removed).

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        ``report.html`` and ``report.md`` (replaced together with the figures).

    Raises
    ------
    CovkitInputError
        When the folder does not exist or holds neither ``kpi_summary.json`` nor the township
        KPIs, or a file cannot be read.
    """
    shown = Path(out_dir)
    if commit is None:
        if not shown.is_dir():
            raise CovkitInputError("output folder does not exist", file=shown)
        with RunCommit(shown, replaces=REPORT_FILES) as own:
            return _write_report(shown, shown, own)
    return _write_report(shown, commit.stage, commit)


def _write_report(shown: Path, out: Path, commit: RunCommit) -> tuple[Path, Path]:
    if not out.is_dir():
        raise CovkitInputError("output folder does not exist", file=out)
    summary = read_json(out / KPI_SUMMARY)
    after = read_json(out / KPI_AFTER)
    townships = read_townships(out, geometry=False)
    if not summary and townships is None:
        raise CovkitInputError(
            f"no coverage outputs found ({KPI_SUMMARY}, {KPI_TOWNSHIPS_CSV}); run "
            "'covkit run SCENARIO.toml --out DIR' first", file=out)

    name = summary.get("scenario") if isinstance(summary.get("scenario"), str) else \
        find_key(summary, "name")
    title = f"Coverage report: {name}" if name else "Coverage report"
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    version = summary.get("covkit_version")
    meta = f"Generated {stamp} from {shown.resolve()}" + (f" (covkit {version})" if version else "")

    blocks: list[tuple[str, Any]] = []  # ("h2", text) | ("p", text) | ("table", _Table) | fig

    def section(heading: str) -> None:
        blocks.append(("h2", heading))

    section("Headline indicators")
    blocks.append(("p", "Method: " + method_text(summary) + "."))
    note = sites_note(summary)
    if note:
        blocks.append(("p", note + "."))
    t = _headline_table(summary)
    if t is not None:
        blocks.append(("table", t))
    remote_note = _remote_rule_text(summary)
    if remote_note:
        blocks.append(("p", remote_note))
    notes = terrain_notes(summary)
    if notes:
        section("Terrain")
        blocks.extend(("p", n) for n in notes)
    warns = _warnings(summary)
    if warns:
        section(f"Warnings ({len(warns)})")
        blocks.append(("table", _Table(["Warning"], [[w] for w in warns], [False])))

    rsrp_path = out / RSRP_BEST
    rsrp = read_raster(rsrp_path) if rsrp_path.is_file() else None  # read once, used twice
    if rsrp is not None:
        fig = _map_figure(out, rsrp, summary)
        if fig is not None:
            section("Coverage map")
            blocks.append(("fig", _Figure(FIG_MAP, _png(fig), "Map of best RSRP and of the "
                                          "covered area with the township outlines")))
            blocks.append(("p", "Left: best RSRP of any operator; right: the covered area ("
                                + method_text(summary) + "). Lines: township boundaries."))
    t = _operator_table(summary)
    if t is not None:
        section("By operator")
        blocks.append(("table", t))
    t = _county_table(summary)
    if t is not None:
        section("By county")
        blocks.append(("table", t))
    vs = _village_section(out, summary)
    if vs is not None:
        section("Villages")
        blocks.append(("p", vs[0]))
        if vs[1] is not None:
            blocks.append(("p", f"The {len(vs[1].rows)} remote villages with the most "
                                "uncovered people:"))
            blocks.append(("table", vs[1]))

    if after:
        section("Before and after the proposed sites")
        t = _before_after_table(summary, after)
        if t is not None:
            blocks.append(("table", t))
        png = before_after_figure(summary, after)
        if png is not None:
            blocks.append(("fig", _Figure(FIG_BEFORE_AFTER, png, "Coverage before and after")))
        blocks.append(("p", "The 'with proposed sites' figures are recomputed with the same "
                            "propagation engine as if the proposed sites were built "
                            f"({KPI_AFTER})."))
    sites, n_sites = _sites_table(out, townships=townships)
    if sites is not None:
        section(f"Proposed sites ({n_sites})")
        blocks.append(("table", sites))
        if n_sites > len(sites.rows):
            blocks.append(("p", f"First {len(sites.rows)} of {n_sites}; all in "
                                f"{SITES_PROPOSED_CSV}."))

    if townships is not None and len(townships) and "coverage_pct" in townships.columns:
        section("Population coverage by township")
        blocks.append(("fig", _Figure(FIG_TOWNSHIPS, township_figure(townships),
                                      "Township population coverage, remote vs non-remote")))
        if len(townships) > TOWNSHIPS_CHARTED:
            blocks.append(("p", f"{fmt_count(len(townships))} townships: how many reach each "
                                "coverage, and the "
                                f"{TOWNSHIPS_LOWEST} with the lowest coverage; every township "
                                "is in the table below."))

    if rsrp is not None:
        pop_path = population_raster(summary, out)
        dist = rsrp_distribution_of(rsrp, pop_path)
        if dist is not None:
            section("Best RSRP distribution")
            thr = _num(find_key(summary, "rsrp_threshold_dbm"))
            req = _num(summary.get("required_median_rsrp_dbm"))
            blocks.append(("fig", _Figure(FIG_RSRP, rsrp_figure(dist, thr, req),
                                          "Distribution of best RSRP")))
            if dist.weighted_by == "population":
                note = (f"Weighted by population ({fmt_count(dist.total)} persons in computed "
                        f"cells, population raster {pop_path.name}).")
            else:
                note = (f"Weighted by area ({fmt_value(dist.total)} km² computed); no population "
                        "raster was found for population weighting.")
            blocks.append(("p", note + f" Bins of {RSRP_BIN_DB:g} dB."))

    if townships is not None and len(townships):
        section("Township indicators")
        blocks.append(("table", _township_table(townships, summary.get("speed_tiers"))))

    prm = _parameter_rows(summary)
    method = summary.get("method")
    if prm or isinstance(method, dict):
        section("Method and parameters")
        if isinstance(method, dict):
            rows = [[str(k), str(v)] for k, v in method.items() if isinstance(v, str | int | float)]
            if rows:
                blocks.append(("table", _Table(["Quantity", "Definition"], rows,
                                               [False, False])))
        if prm:
            blocks.append(("table", _Table(["Parameter", "Value"], prm, [False, False])))

    # render
    md = [f"# {md_text(title)}", "", f"_{md_text(meta)}_", ""]
    body = [f"<h1>{html.escape(title)}</h1>", f'<p class="meta">{html.escape(meta)}</p>']
    for kind, item in blocks:
        if kind == "h2":
            md += [f"## {md_text(item)}", ""]
            body.append(f"<h2>{html.escape(item)}</h2>")
        elif kind == "p":
            md += [md_text(item), ""]
            body.append(f'<p class="note">{html.escape(item)}</p>')
        elif kind == "table":
            md += [_table_md(item), ""]
            body.append(_table_html(item))
        elif kind == "fig":
            commit.bytes(item.name, item.png)
            md += [f"![{md_text(item.alt)}]({item.name})", ""]
            b64 = base64.b64encode(item.png).decode("ascii")
            body.append(f'<img alt="{html.escape(item.alt)}" src="data:image/png;base64,{b64}">')
    csp, css = CSP, _CSS
    face = cjk_font_face_css(title + "".join(body))
    if face:  # CJK names: the CJK font embedded, subset to them, for CJK characters only
        csp = f"{CSP}; font-src data:"
        css = face + _CSS.replace("font: 14px/1.45 system-ui,",
                                  f'font: 14px/1.45 "{CSS_FAMILY}", system-ui,')
    page = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")
    commit.bytes(HTML_NAME, page.encode("utf-8"))
    commit.bytes(MD_NAME, ("\n".join(md).rstrip() + "\n").encode("utf-8"))
    return shown / HTML_NAME, shown / MD_NAME
