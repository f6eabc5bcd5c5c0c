"""The map and the report of a national-size run stay small, fast to write and readable.

A national run has 13,200-15,000 sites and 370 townships: the map draws the stations from one
data blob (markers, popups and tooltips built in the page), overlays as palette images, the
click-query grids row-delta coded and township outlines simplified; the report charts many
townships as their distribution and the lowest ones. Hand-made frames (a few thousand sites on
a 60 km square) stand in for a national run here.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zlib

import numpy as np
import pytest
from helpers.run_folder import CRS, HEIGHT, RES_M, X0, Y0, rsrp_field

N_SITES = 3_000
HOSTILE = "S<b>1</b>`${x}`'\"</script><script>alert(1)</script>&amp;\u2028"


def _many_sites_view():
    import geopandas as gpd
    from rasterio.transform import from_origin
    from shapely.geometry import Point, box

    from covkit.runfolder import RunView

    rng = np.random.default_rng(13)
    x = X0 + rng.uniform(0.0, 60_000.0, N_SITES)
    y = Y0 - rng.uniform(0.0, 60_000.0, N_SITES)
    ops = np.array(["A", "B", "C"])[rng.integers(0, 3, N_SITES)]
    rows = []
    for i in range(N_SITES):
        site = HOSTILE if i == 0 else f"{ops[i]}-S{i:05d}"
        for k in range(3):  # three sectors per site
            rows.append({"station_id": f"{site}-{k + 1}", "site_id": site, "operator": ops[i],
                         "height_m": 30.0, "freq_mhz": 3500.0 if k else 700.0,
                         "eirp_dbm": 60.0, "tech": "5G", "geometry": Point(x[i], y[i])})
    stations = gpd.GeoDataFrame(rows, crs=CRS)
    townships = gpd.GeoDataFrame(
        {"township_id": ["T01"], "name": ["Riverside"], "remote": [False],
         "population": [100.0], "coverage_pct": [50.0]},
        geometry=[box(X0, Y0 - 60_000.0, X0 + 60_000.0, Y0)], crs=CRS)
    rsrp = rsrp_field().astype(np.float64)
    return RunView(summary={"scenario": "many sites", "rsrp_threshold_dbm": -110.0},
                   townships=townships, stations=stations,
                   rasters={"rsrp": (rsrp, from_origin(X0, Y0, RES_M, RES_M), CRS)})


def _station_blob(page: str) -> dict:
    found = re.findall(r"^  var d = (\{.*\});$", page, re.MULTILINE)
    assert len(found) == 1, len(found)
    return json.loads(found[0])


def test_thousands_of_sites_are_one_escaped_data_blob_of_bounded_size():
    """3,000 sites (9,000 sectors): the page carries each site once, in one JSON blob, with
    no marker markup per site and a size per site far below the old marker-and-popup markup
    (2.7 kB a site); the hostile site id is in the blob once, escaped so that no tag or
    script end can form, and reads back unchanged."""
    from covkit.maps import build_map

    page = build_map(_many_sites_view()).get_root().render()
    assert page.count("L.circleMarker(") == 1  # one call, in the loop over the data
    assert page.count("L.markerClusterGroup(") == 1
    assert "bindPopup(" in page and page.count("bindPopup(") == 1
    blob = _station_blob(page)
    assert len(blob["lat"]) == len(blob["lon"]) == len(blob["op"]) == len(blob["rows"]) == \
        N_SITES
    assert blob["operators"] == ["A", "B", "C"]
    # the bulk of the page is the blob; 200 bytes a site at most (the old markup: 2,700)
    assert len(page.encode("utf-8")) < 200_000 + 200 * N_SITES, len(page)
    # each text once in the value table
    assert len(blob["values"]) == len(set(blob["values"]))
    # the hostile id: never raw in the page, once in the blob's values, read back as it was
    assert HOSTILE not in page
    assert "</script><script>alert" not in page
    assert "\\u003c/script\\u003e" in page
    hits = [v for v in blob["values"] if HOSTILE in v]
    assert sorted(hits) == sorted([HOSTILE, f"{HOSTILE}-1, {HOSTILE}-2, {HOSTILE}-3"]), hits
    # a site's popup rows: label index, value index pairs
    site = next(i for i, r in enumerate(blob["rows"]) if blob["values"][r[3]].endswith("-S00007"))
    table = {blob["labels"][a]: blob["values"][b]
             for a, b in zip(blob["rows"][site][::2], blob["rows"][site][1::2], strict=True)}
    op = table["Operator"]
    assert table == {"Operator": op, "Site": f"{op}-S00007",
                     "Sectors": f"{op}-S00007-1, {op}-S00007-2, {op}-S00007-3",
                     "Height": "30.0 m", "Frequency": "700.0, 3,500 MHz", "EIRP": "60.0 dBm",
                     "Technology": "5G"}
    assert blob["colors"][blob["op"][site]] in page


@pytest.mark.slow
def test_thousands_of_sites_render_clustered_in_chromium(tmp_path):
    """The blob's markers all reach the cluster layer, which shows cluster icons at the
    opening zoom; no script error."""
    from helpers import browser_check as bc

    if not bc.chromium_available():
        pytest.skip(f"{bc.CHROMIUM} not found: install Debian's chromium package")
    from covkit.maps import build_map

    page = tmp_path / "map.html"
    build_map(_many_sites_view(), inline_assets=True).save(page)
    report = bc.inspect_page(page, evaluate=(
        "(function () { for (var k in window) { try { if (window[k] instanceof "
        "L.MarkerClusterGroup) { return window[k].getLayers().length; } } catch (e) {} }"
        " return -1; })()"))
    assert report["js_errors"] == [], report["js_errors"]
    assert report["evaluated"] == N_SITES, report["evaluated"]
    assert report["cluster_icons"] >= 1


def test_overlay_is_a_palette_image_with_the_legend_colours():
    """The overlay image: 8-bit palette, each pixel within 2/255 of the legend colour of its
    value, nodata fully transparent, data at the overlay alpha."""
    from PIL import Image

    from covkit.maps import LAYERS, _colorize, _overlay_png_url

    rng = np.random.default_rng(5)
    for style in LAYERS.values():
        v = rng.uniform(style.vmin - 10, style.vmax + 10, (40, 70)) / style.scale
        v[::6, ::4] = np.nan
        img = Image.open(io.BytesIO(base64.b64decode(_overlay_png_url(v, style).split(",")[1])))
        assert img.mode == "P"
        rgba = np.asarray(img.convert("RGBA")).astype(int)
        ref = _colorize(v, style).astype(int)
        assert (rgba[..., 3] == ref[..., 3]).all()
        assert (rgba[np.isnan(v), 3] == 0).all() and (rgba[~np.isnan(v), 3] == 200).all()
        ok = ~np.isnan(v)
        assert np.abs(rgba[ok, :3] - ref[ok, :3]).max() <= 2


def test_query_grid_decodes_to_the_values_row_by_row():
    """The click-query grid (deflated; as row differences modulo 2**16 when that is smaller)
    decodes to value * 10 in the shown unit, nodata -32768, negative values included."""
    from covkit.maps import _QUERY_NODATA, _query_grid

    rng = np.random.default_rng(3)
    values = np.round(rng.uniform(-140.0, -40.0, (30, 50)), 1)
    values[5:9, 10:30] = np.nan
    smooth = np.cumsum(np.full((30, 50), 0.1), axis=1) - 120.0  # deflates smaller as deltas
    smooth[5:9, 10:30] = values[5:9, 10:30] = np.nan
    flat = np.where(np.arange(50) < 25, 1.0, np.nan)[None, :].repeat(30, axis=0)
    for name, v, delta in (("rsrp", values, None), ("rsrp", smooth, True),
                           ("coverage_probability", flat, False)):
        g = _query_grid(name, v, [[22.0, 120.0], [23.0, 121.0]])
        assert delta is None or g["delta"] is delta
        words = np.frombuffer(zlib.decompress(base64.b64decode(g["data"])), dtype="<u2")
        words = words.reshape(g["rows"], g["cols"]).astype(np.int64)
        if g["delta"]:
            words = np.cumsum(words, axis=1) % 65536
        decoded = words.astype(np.uint16).view(np.int16)
        scale = 1000.0 if name == "coverage_probability" else 10.0
        expected = np.where(np.isnan(v), _QUERY_NODATA,
                            np.round(np.nan_to_num(v) * scale)).astype(np.int16)
        assert np.array_equal(decoded, expected), name


def test_township_outlines_are_simplified_to_a_quarter_of_an_overlay_pixel():
    """A 10,000-point outline of a 60 km township loses most of its points and moves by at
    most the tolerance (a quarter of 60 km / MAX_OVERLAY_PX); lon/lat rounded to 6 decimals."""
    import geopandas as gpd
    import shapely
    from shapely.geometry import Polygon

    from covkit.maps import MAX_OVERLAY_PX, OUTLINE_TOLERANCE_PX, simplify_outlines

    t = np.linspace(0.0, 2.0 * np.pi, 10_000, endpoint=False)
    r = 30_000.0 + 20.0 * np.sin(97.0 * t)  # 20 m wiggles
    cx, cy = X0 + 30_000.0, Y0 - 30_000.0
    ring = Polygon(np.c_[cx + r * np.cos(t), cy + r * np.sin(t)])
    gdf = gpd.GeoDataFrame({"township_id": ["T1", "T2"]}, geometry=[ring, None], crs=CRS)
    out = simplify_outlines(gdf)
    assert list(out["township_id"]) == ["T1", "T2"] and out.crs.to_epsg() == 4326
    assert out.geometry.iloc[1] is None
    simple = out.geometry.iloc[0]
    assert shapely.get_num_coordinates(simple) < 2_000
    coords = np.asarray(simple.exterior.coords)
    assert np.array_equal(coords, np.round(coords, 6))
    tol_m = OUTLINE_TOLERANCE_PX * 60_000.0 / MAX_OVERLAY_PX
    back = gpd.GeoSeries([simple], crs=4326).to_crs(CRS).iloc[0]
    assert shapely.hausdorff_distance(back, ring) <= tol_m + 0.5


def test_read_raster_with_a_nodata_value_equals_the_masked_read(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    from covkit.runfolder import read_raster

    rng = np.random.default_rng(2)
    for dtype, nodata in (("float32", -9999.0), ("float32", np.nan), ("uint8", 255),
                          ("int32", -1)):
        arr = rng.integers(0, 200, (HEIGHT, 30)).astype(dtype)
        arr[::3, ::5] = nodata
        p = tmp_path / f"r_{dtype}_{nodata}.tif"
        with rasterio.open(p, "w", driver="GTiff", width=30, height=HEIGHT, count=1,
                           dtype=dtype, crs=CRS, transform=from_origin(X0, Y0, RES_M, RES_M),
                           nodata=nodata) as dst:
            dst.write(arr, 1)
        values, transform, crs = read_raster(p)
        with rasterio.open(p) as src:
            masked = np.ma.filled(src.read(1, masked=True).astype(np.float64), np.nan)
        assert values.dtype == np.float64
        assert np.array_equal(values, masked, equal_nan=True), (dtype, nodata)
        assert np.isnan(values[::3, ::5]).all() and np.isfinite(values).sum() > 0


def test_many_townships_are_charted_as_a_distribution_and_the_lowest():
    """With more townships than TOWNSHIPS_CHARTED, the chart has the distribution of all and
    the TOWNSHIPS_LOWEST lowest by name, lowest first (not a bar per township)."""
    import pandas as pd

    from covkit.report import (
        TOWNSHIPS_CHARTED,
        TOWNSHIPS_LOWEST,
        _township_overview_fig,
        township_figure,
    )

    n = 370
    rng = np.random.default_rng(8)
    pct = rng.uniform(0.0, 100.0, n)
    pct[7] = np.nan  # not computed: in neither panel
    df = pd.DataFrame({"township_id": [f"T{i:03d}" for i in range(n)],
                       "name": [f"Town {i}" for i in range(n)],
                       "remote": rng.random(n) < 0.2, "coverage_pct": pct})
    assert n > TOWNSHIPS_CHARTED
    png = township_figure(df)
    from PIL import Image

    height_px = Image.open(io.BytesIO(png)).size[1]
    assert height_px < 1_500, height_px  # a bar per township: 0.24 in x 370 at 110 dpi
    fig = _township_overview_fig(pct, df["remote"].to_numpy(), list(df["name"]))
    hist, low = fig.axes[:2]
    labels = [t.get_text() for t in low.get_yticklabels()]
    order = np.argsort(np.where(np.isnan(pct), np.inf, pct), kind="stable")
    assert labels == [f"Town {i}" for i in order[:TOWNSHIPS_LOWEST]]
    assert "Town 7" not in labels
    heights = sum(p.get_height() for p in hist.patches)
    assert heights == n - 1
