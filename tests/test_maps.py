"""covkit.maps: offline Folium map of a run's output folder.

The run outputs (issue 4 / issue 5 file names) are small fixtures written by
tests/helpers/run_folder.py: rasters in EPSG:3826 (TWD97 / TM2 zone 121), two townships (one
remote), three sectors on two sites, a trail, two proposed sites and the summary JSON files. The
browser test opens the map in headless Chromium (skipped without /usr/bin/chromium) and saves a
screenshot into ci-artifacts/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from helpers.paths import REPO_ROOT
from helpers.run_folder import (
    CRS,
    HEIGHT,
    RES_M,
    SITE_X,
    SITE_Y,
    WIDTH,
    X0,
    Y0,
    lonlat,
    rsrp_field,
    write_run_fixture,
)

from covkit.errors import CovkitError, CovkitInputError

ARTIFACTS = REPO_ROOT / "ci-artifacts"


def station_blob(page: str) -> dict:
    """The station layer's data as the page carries it (one JSON blob, once)."""
    found = re.findall(r"^  var d = (\{.*\});$", page, re.MULTILINE)
    assert len(found) == 1, len(found)
    return json.loads(found[0])


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return write_run_fixture(tmp_path / "out")


# ----------------------------------------------------------------------------------------------
# placement and colouring


def test_mercator_overlay_places_pixels_where_they_belong(run_dir: Path):
    """Every point of the source raster, projected to Web Mercator and located linearly between
    the overlay's lat/lon bounds (as Leaflet does), finds the source value within one pixel."""
    from pyproj import Transformer

    from covkit.maps import raster_to_mercator
    from covkit.runfolder import read_raster

    values, ((south, west), (north, east)) = raster_to_mercator(
        *read_raster(run_dir / "rsrp_best.tif"))
    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    mx0, my0 = to_merc.transform(west, north)
    mx1, my1 = to_merc.transform(east, south)
    rng = np.random.default_rng(7)
    col = rng.uniform(0.5, 49.5, 200)
    row = rng.uniform(0.5, HEIGHT - 0.5, 200)
    x, y = X0 + col * RES_M, Y0 - row * RES_M
    mx, my = Transformer.from_crs(CRS, "EPSG:3857", always_xy=True).transform(x, y)
    h, w = values.shape
    pc = ((mx - mx0) / (mx1 - mx0) * w).astype(int)
    pr = ((my0 - my) / (my0 - my1) * h).astype(int)
    got = values[pr, pc]
    expected = -70.0 - np.floor(col)
    assert np.isfinite(got).all()
    assert np.abs(got - expected).max() <= 1.0 + 1e-9  # 1 dB per pixel: within one pixel
    assert np.mean(got == expected) > 0.8


def test_nodata_is_transparent_and_colours_follow_the_legend():
    from covkit.maps import LAYERS, _colorize

    style = LAYERS["rsrp"]
    vals = np.array([[np.nan, style.vmin, style.vmax, -200.0, 0.0]])
    rgba = _colorize(vals, style)
    assert rgba[0, 0, 3] == 0
    assert (rgba[0, 1:, 3] > 0).all()
    assert tuple(rgba[0, 1, :3]) == (0x44, 0x01, 0x54)  # first stop (viridis)
    assert tuple(rgba[0, 2, :3]) == (0xFD, 0xE7, 0x25)  # last stop
    assert tuple(rgba[0, 3, :3]) == tuple(rgba[0, 1, :3])  # clipped below vmin
    assert tuple(rgba[0, 4, :3]) == tuple(rgba[0, 2, :3])  # clipped above vmax


def test_large_raster_is_resampled_to_max_pixels(tmp_path: Path):
    import rasterio
    from rasterio.transform import from_origin

    from covkit.maps import raster_to_mercator
    from covkit.runfolder import read_raster

    p = tmp_path / "big.tif"
    with rasterio.open(p, "w", driver="GTiff", width=900, height=300, count=1, dtype="float32",
                       crs=CRS, transform=from_origin(X0, Y0, 10.0, 10.0), nodata=np.nan) as d:
        d.write(np.full((300, 900), -90.0, dtype=np.float32), 1)
    values, _ = raster_to_mercator(*read_raster(p), max_px=256)
    assert max(values.shape) <= 257
    assert np.nanmax(values) == -90.0


# ----------------------------------------------------------------------------------------------
# the page


def test_offline_map_has_only_relative_links(run_dir: Path):
    from covkit.maps import write_map

    page = write_map(run_dir)
    assert page == run_dir / "map.html"
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text), re.findall(r"https?://[^\s\"'<>]+", text)[:5]
    assert "awesome-markers" not in text.lower() and "awesome.rotate" not in text.lower()
    srcs = re.findall(r"""(?:src|href)=["']([^"']+)["']""", text)
    local = [s for s in srcs if not s.startswith("data:")]
    assert local and all(s.startswith("lib/") for s in local), local
    for s in local:
        assert (run_dir / s).is_file(), s
    assert (run_dir / "lib/leaflet/images/layers.png").is_file()
    assert any((run_dir / "lib/font-awesome/webfonts").glob("*.woff2"))
    # content
    assert text.count("L.imageOverlay(") == 3
    assert "data:image/png;base64," in text
    assert "Best RSRP [dBm]; threshold -110.0 dBm" in text
    assert "covkit-township" in text and "7 5" in text  # remote: dashed outline
    assert "High Ridge" in text and "Coverage OpB [%]" in text
    assert "L.markerClusterGroup(" in text and "covkit-station" in text
    assert len(station_blob(text)["lat"]) == 2  # one marker per site and operator
    assert "Proposed site #1" in text and "Newly covered population" in text
    assert "1,500" in text
    assert "Ridge trail" in text
    assert "L.control.layers(" in text
    assert '"maxZoom": 18' in text
    assert "RSRP &gt;= -110.0 dBm at 90 % location probability (shadowing sigma 8.0 dB) " \
           "on a 100 m grid with propagation model p1812" in text
    assert "After proposed sites: population" in text
    assert not list(run_dir.glob(".map.html.*"))  # no temp file left
    assert not list(run_dir.glob(".map.*.tmp*"))


def test_station_popup_lists_operator_height_frequency_eirp(run_dir: Path):
    from covkit.maps import write_map

    text = write_map(run_dir).read_text(encoding="utf-8")
    # one marker per site and operator: S1 has two sectors
    assert len(station_blob(text)["lat"]) == 2
    for fragment in ("OpA", "S1-1, S1-2", "30.0 m", "3,500 MHz", "62.0 dBm", "42.5 m",
                     "1,800 MHz", "58.5 dBm"):
        assert fragment in text, fragment


def test_cdn_mode_keeps_cdn_links_and_adds_tiles(run_dir: Path):
    from covkit.maps import write_map

    text = write_map(run_dir, cdn=True).read_text(encoding="utf-8")
    assert "https://cdn.jsdelivr.net/npm/leaflet@" in text
    assert "tile.openstreetmap.org" in text
    assert not (run_dir / "lib").exists()


def test_explicit_stations_and_trails_and_layer_choice(run_dir: Path, tmp_path: Path):
    import pandas as pd

    from covkit.maps import write_map

    st = tmp_path / "other_stations.csv"
    lon, lat = lonlat(SITE_X, SITE_Y)
    pd.DataFrame({"station_id": ["Z9"], "operator": ["OpZ"], "lon": [lon], "lat": [lat],
                  "height_m": [25.0], "freq_mhz": [700.0], "eirp_dbm": [60.0]}).to_csv(
        st, index=False)
    text = write_map(run_dir, stations=st, layers=("rsrp",)).read_text(encoding="utf-8")
    assert "OpZ" in text and "OpA" not in text.split("covkit-title")[0].split("Stations")[-1]
    assert text.count("L.imageOverlay(") == 1


def test_minimal_folder_without_stations_sites_or_summary(tmp_path: Path):
    """Only a raster and the township KPIs: still a map; missing keys are tolerated."""
    import shutil

    from covkit.maps import write_map

    full = write_run_fixture(tmp_path / "full", with_sites=False)
    out = tmp_path / "min"
    out.mkdir()
    shutil.copy(full / "rsrp_best.tif", out)
    shutil.copy(full / "kpi_townships.gpkg", out)
    text = write_map(out).read_text(encoding="utf-8")
    assert "L.imageOverlay(" in text and "covkit-township" in text
    assert "method parameters not recorded" in text
    assert "L.markerClusterGroup(" not in text
    assert not re.search(r"https?://", text)


def test_bad_inputs_raise_clear_errors(tmp_path: Path, run_dir: Path):
    from covkit.maps import localize_assets, write_map

    with pytest.raises(CovkitInputError, match="does not exist"):
        write_map(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CovkitInputError, match="no coverage outputs found"):
        write_map(tmp_path / "empty")
    with pytest.raises(CovkitInputError, match="unknown map layer 'rsrq'"):
        write_map(run_dir, layers=("rsrp", "rsrq"))
    with pytest.raises(CovkitInputError, match="stations file does not exist"):
        write_map(run_dir, stations=tmp_path / "nope.csv")
    with pytest.raises(CovkitError, match="has no offline copy"):
        localize_assets('<script src="https://example.org/x/unknown.js"></script>', None)
    with pytest.raises(CovkitError, match="external resource"):
        localize_assets('<img src="https://example.org/a.png">', None)


def test_rewrite_is_idempotent_and_leaves_lib_consistent(run_dir: Path):
    from covkit.maps import write_map

    first = write_map(run_dir).read_text(encoding="utf-8")
    files = sorted(p.relative_to(run_dir) for p in (run_dir / "lib").rglob("*") if p.is_file())
    second = write_map(run_dir).read_text(encoding="utf-8")
    files2 = sorted(p.relative_to(run_dir) for p in (run_dir / "lib").rglob("*") if p.is_file())
    assert files == files2
    assert not [f for f in files if f.name.endswith(".tmp")]
    strip = re.compile(r"[0-9a-f]{32}")  # folium's random element ids
    assert strip.sub("", first) == strip.sub("", second)


# ----------------------------------------------------------------------------------------------
# headless Chromium


@pytest.mark.slow
def test_map_renders_offline_in_headless_chromium(run_dir: Path):
    from helpers import browser_check as bc

    if not bc.chromium_available():
        pytest.skip(f"{bc.CHROMIUM} not found: install Debian's chromium package "
                    "(apt-get install -y chromium) to run the browser render test")
    from covkit.maps import write_map

    page = write_map(run_dir)
    report = bc.inspect_page(page)
    assert report["leaflet"] and report["leaflet_version"].startswith("1.9")
    assert report["map_containers"] == 1 and len(report["map_variables"]) == 1
    visible = [im for im in report["overlay_images"] if im["visible"]]
    assert visible, report["overlay_images"]
    assert all(im["complete"] and im["natural_width"] > 0 for im in report["overlay_images"])
    assert visible[0]["width"] > 50 and visible[0]["height"] > 30
    assert report["township_paths"] == 2
    assert report["trail_paths"] == 1
    assert report["station_markers"] + report["cluster_icons"] >= 1
    assert report["proposed_markers"] == 2
    assert report["layer_control"] == 1
    assert any("Best RSRP" in n for n in report["layer_names"]), report["layer_names"]
    assert report["legend_svgs"] >= 1 or report["legends"] >= 1
    assert report["title_block"] == 1
    assert report["js_errors"] == [], report["js_errors"]
    assert report["failed_loads"] == [], report["failed_loads"]
    assert report["resources"], "no resource loaded: the page did not run"
    origin = report["origin"] + "/"
    assert all(u.startswith(origin) for u in report["resources"]), report["resources"]
    assert any(u.endswith("lib/leaflet/leaflet.js") for u in report["resources"])
    assert any(u.endswith("lib/d3/d3.js") for u in report["resources"])
    assert not [c for c in report["console"] if "Failed to load" in c], report["console"]
    assert bc.external_urls(report) == []
    shot = bc.screenshot(page, ARTIFACTS / "map_offline.png")
    assert shot.stat().st_size > 10_000


@pytest.mark.slow
def test_browser_check_catches_outside_requests(tmp_path: Path):
    """The harness itself: a page that asks another host is reported (and cannot reach it)."""
    from helpers import browser_check as bc

    if not bc.chromium_available():
        pytest.skip(f"{bc.CHROMIUM} not found: install Debian's chromium package")
    page = tmp_path / "leaky.html"
    page.write_text("<!DOCTYPE html><html><head><title>x</title></head><body>"
                    '<img src="https://tiles.example.org/0/0/0.png"></body></html>')
    report = bc.inspect_page(page, budget_ms=2000)
    assert not report["leaflet"]
    leaks = bc.external_urls(report)
    assert any("tiles.example.org" in u for u in leaks), report


def test_percentages_never_round_to_100_or_0():
    from covkit.maps import fmt_pct

    assert fmt_pct(97.916667) == "97.9"
    assert fmt_pct(99.9652) == "99.97"
    assert fmt_pct(99.9996) == "99.999"
    assert fmt_pct(0.00001) == "0.001"
    assert fmt_pct(100.0) == "100.0"
    assert fmt_pct(0.0) == "0.0"
    assert fmt_pct(0.004) == "0.004"
    assert fmt_pct(None) == "n/a" and fmt_pct(float("nan")) == "n/a"


# ----------------------------------------------------------------------------------------------
# maps from an in-memory view


def _memory_view():
    """A RunView built from arrays and GeoDataFrames (EPSG:3826), as a coverage result gives."""
    import geopandas as gpd
    import pandas as pd
    from rasterio.transform import from_origin
    from shapely.geometry import Point, box

    from covkit.runfolder import RunView

    rsrp = rsrp_field().astype(np.float64)
    mid = X0 + 30 * RES_M
    townships = gpd.GeoDataFrame(
        {"township_id": ["T01", "T02"], "name": ["Riverside", "High Ridge"],
         "remote": [False, True], "population": [4800.0, 2400.0],
         "coverage_pct": [97.916667, 12.520833]},
        geometry=[box(X0, Y0 - HEIGHT * RES_M, mid, Y0),
                  box(mid, Y0 - HEIGHT * RES_M, X0 + WIDTH * RES_M, Y0)], crs=CRS)
    stations = gpd.GeoDataFrame(
        {"station_id": ["S1-1", "S1-2", "S2-1"], "site_id": ["S1", "S1", "S2"],
         "operator": ["OpA", "OpA", "OpB"], "height_m": [30.0, 30.0, 42.5]},
        geometry=[Point(SITE_X, SITE_Y), Point(SITE_X, SITE_Y), Point(X0 + 4_500, Y0 - 1_000)],
        crs=CRS)
    lon, lat = lonlat(X0 + 5_400.0, Y0 - 2_000.0)
    proposed = pd.DataFrame({"rank": [1], "candidate_id": ["C17"], "lon": [lon], "lat": [lat],
                             "new_population": [1500.0]})
    return RunView(summary={"scenario": "in memory", "rsrp_threshold_dbm": -110.0},
                   townships=townships, rasters={"rsrp": (rsrp, from_origin(X0, Y0, RES_M, RES_M),
                                                          CRS)},
                   stations=stations, proposed=proposed)


def test_build_map_from_an_in_memory_view(run_dir: Path):
    """build_map draws arrays and GeoDataFrames in a metric CRS; the overlay image of an array
    equals the one of the same raster read from its file."""
    from covkit.maps import build_map
    from covkit.runfolder import RunView

    text = build_map(_memory_view()).get_root().render()
    assert text.count("L.imageOverlay(") == 1
    assert "Best RSRP [dBm]; threshold -110.0 dBm" in text
    assert "covkit-township" in text and "High Ridge" in text
    assert len(station_blob(text)["lat"]) == 2 and "S1-1, S1-2" in text
    assert "Proposed site #1" in text and "1,500" in text
    assert "in memory: coverage map" in text
    png = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
    from_file = build_map(RunView.from_folder(run_dir), layers=("rsrp",)).get_root().render()
    assert png.findall(text) == png.findall(from_file)
    with pytest.raises(CovkitInputError, match="unknown map layer 'rsrq'"):
        build_map(_memory_view(), layers=("rsrq",))


@pytest.mark.slow
def test_inline_assets_map_renders_offline_in_headless_chromium(run_dir: Path, tmp_path: Path):
    """A map returned in memory with inline_assets=True and saved with Map.save carries Leaflet
    and the other libraries itself: in a folder with no lib/, Leaflet starts (and draws a default
    marker) with no request leaving the machine and no file fetched beside the page."""
    import folium
    from helpers import browser_check as bc

    from covkit.maps import build_map
    from covkit.runfolder import RunView

    fmap = build_map(RunView.from_folder(run_dir), inline_assets=True)
    lon, lat = lonlat(SITE_X, SITE_Y)
    folium.Marker([lat, lon], tooltip="default marker").add_to(fmap)  # Leaflet's own icon
    page = tmp_path / "alone" / "map.html"
    page.parent.mkdir()
    fmap.save(page)
    text = page.read_text(encoding="utf-8")
    links = re.findall(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']([^"']+)""", text)
    assert all(u.startswith("data:") for u in links), [u[:60] for u in links]
    assert "L.imageOverlay(" in text and "covkit-title" in text
    notebook = fmap._repr_html_()  # the Jupyter display renders the same page
    assert "cdn.jsdelivr.net" not in notebook and "lib/leaflet" not in notebook
    assert not (page.parent / "lib").exists()
    with pytest.raises(CovkitInputError, match="cannot be combined"):
        build_map(RunView.from_folder(run_dir), cdn=True, inline_assets=True)

    if not bc.chromium_available():
        pytest.skip(f"{bc.CHROMIUM} not found: install Debian's chromium package "
                    "(apt-get install -y chromium) to run the browser render test")
    report = bc.inspect_page(page)
    assert report["leaflet"] and report["leaflet_version"].startswith("1.9")
    assert report["map_containers"] == 1 and len(report["map_variables"]) == 1
    assert report["overlay_images"] and all(im["complete"] and im["natural_width"] > 0
                                            for im in report["overlay_images"])
    assert report["township_paths"] == 2 and report["proposed_markers"] == 2
    assert report["layer_control"] == 1 and report["title_block"] == 1
    assert report["js_errors"] == [], report["js_errors"]
    assert report["failed_loads"] == [], report["failed_loads"]
    assert bc.external_urls(report) == []
    origin = report["origin"] + "/"
    fetched = [u for u in report["resources"] if not u.endswith("/favicon.ico")]
    assert fetched == [], fetched  # nothing beside the page, nothing elsewhere
    assert all(u.startswith(origin) for u in report["resources"]), report["resources"]
    assert not [c for c in report["console"] if "Failed to load" in c], report["console"]


# ----------------------------------------------------------------------------------------------
# what a reader sees: legends, the KPI panel, palettes

_VISIBLE_LEGENDS_JS = """(function () {
  var vis = function () {
    return Array.prototype.filter.call(document.querySelectorAll('.legend text.caption'),
      function (e) { var box = e.closest('.legend');
                     return box && box.offsetParent !== null
                       && getComputedStyle(box).display !== 'none'; })
      .map(function (e) { return e.textContent.split(' [')[0]; });
  };
  var click = function (name) {
    document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(function (l) {
      if (l.textContent.trim() === name) { l.querySelector('input').click(); }
    });
  };
  var out = {start: vis()};
  click('SINR'); out.sinr_on = vis();
  click('Best RSRP'); out.rsrp_off = vis();
  click('Townships: coverage %'); out.townships_off = vis();
  click('Townships: coverage %'); out.townships_on = vis();
  return out;
})()"""


def _chromium():
    from helpers import browser_check as bc

    if not bc.chromium_available():
        pytest.skip(f"{bc.CHROMIUM} not found: install Debian's chromium package")
    return bc


def test_a_legend_shows_only_while_its_layer_is_shown(run_dir: Path):
    bc = _chromium()
    from covkit.maps import write_map

    page = write_map(run_dir)
    ev = bc.inspect_page(page, evaluate=_VISIBLE_LEGENDS_JS)["evaluated"]
    assert isinstance(ev, dict), ev
    assert sorted(ev["start"]) == ["Best RSRP", "Township coverage"], ev
    assert sorted(ev["sinr_on"]) == ["Best RSRP", "SINR of the best server",
                                     "Township coverage"], ev
    assert sorted(ev["rsrp_off"]) == ["SINR of the best server", "Township coverage"], ev
    assert ev["townships_off"] == ["SINR of the best server"], ev
    assert sorted(ev["townships_on"]) == ["SINR of the best server", "Township coverage"], ev


_PANEL_JS = """(function () {
  var rect = function (el) { var r = el.getBoundingClientRect();
                             return [r.left, r.top, r.right, r.bottom]; };
  var union = function (els) {
    var u = null;
    els.forEach(function (el) { var r = rect(el);
      u = u ? [Math.min(u[0], r[0]), Math.min(u[1], r[1]), Math.max(u[2], r[2]),
               Math.max(u[3], r[3])] : r; });
    return u;
  };
  var title = document.getElementById('covkit-title');
  var map = document.querySelector('.leaflet-container');
  var out = {title: rect(title), map: rect(map),
             townships: union(document.querySelectorAll('path.covkit-township')),
             overlay: union(Array.prototype.filter.call(
               document.querySelectorAll('img.leaflet-image-layer'),
               function (im) { return im.offsetParent !== null; }))};
  var button = document.getElementById('covkit-toggle');
  out.toggle = !!button;
  if (button) { button.click(); out.collapsed_title = rect(title); out.collapsed_map = rect(map); }
  return out;
})()"""


def _overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def test_kpi_panel_does_not_cover_the_area_and_collapses(run_dir: Path):
    """At the default fit, the whole area (RSRP overlay and townships) lies inside the map and
    clear of the KPI panel; the panel's button folds it away and the map takes the width."""
    bc = _chromium()
    from covkit.maps import write_map

    ev = bc.inspect_page(write_map(run_dir), evaluate=_PANEL_JS)["evaluated"]
    assert isinstance(ev, dict), ev
    for what in ("overlay", "townships"):
        area = ev[what]
        assert area is not None, ev
        assert _overlap(area, ev["title"]) == 0.0, (what, ev)
        m = ev["map"]
        assert m[0] - 1 <= area[0] and area[2] <= m[2] + 1, (what, ev)
        assert m[1] - 1 <= area[1] and area[3] <= m[3] + 1, (what, ev)
    assert ev["toggle"], "the KPI panel has no hide / show button"
    t, ct = ev["title"], ev["collapsed_title"]
    assert ct[2] - ct[0] < 0.25 * (t[2] - t[0]), ev
    assert ev["collapsed_map"][0] < ev["map"][0] - 100, ev


def _rgb(c: str) -> np.ndarray:
    c = c.lstrip("#")
    return np.array([int(c[i:i + 2], 16) for i in (0, 2, 4)], dtype=float)


def _ramp(colors, t: float) -> np.ndarray:
    stops = [_rgb(c) for c in colors]
    x = t * (len(stops) - 1)
    i = min(int(x), len(stops) - 2)
    return stops[i] * (1 - (x - i)) + stops[i + 1] * (x - i)


def _hue(rgb: np.ndarray) -> float:
    import colorsys

    return 360.0 * colorsys.rgb_to_hsv(*(rgb / 255.0))[0]


def test_rsrp_and_township_palettes_are_distinct():
    """The RSRP overlay and the township choropleth lie on top of each other: their palettes
    differ at every level, and they are not both red-to-green."""
    from covkit.maps import _TOWNSHIP_COLORS, LAYERS

    rsrp = LAYERS["rsrp"].colors
    ts = np.linspace(0.0, 1.0, 21)
    dist = [np.linalg.norm(_ramp(rsrp, t) - _ramp(_TOWNSHIP_COLORS, t)) for t in ts]
    assert min(dist) > 80.0, dist

    def red_to_green(colors) -> bool:
        lo, hi = _hue(_rgb(colors[0])), _hue(_rgb(colors[-1]))
        return (lo < 30 or lo > 330) and 75 < hi < 210

    assert not (red_to_green(rsrp) and red_to_green(_TOWNSHIP_COLORS))
    assert not red_to_green(rsrp) and not red_to_green(_TOWNSHIP_COLORS)


def test_click_on_the_map_gives_the_values_at_that_point(run_dir: Path):
    """The page carries the overlay grids (as the images are resampled) and a click reports the
    best RSRP, SINR and coverage probability of the pixel under the pointer; a point in the
    nodata part says so; no popup outside the grids."""
    bc = _chromium()
    from covkit.maps import write_map

    def ll(col, row):
        lon, lat = lonlat(X0 + col * RES_M, Y0 - row * RES_M)
        return [lat, lon]

    pts = {"strong": ll(5.5, 20.5), "mid": ll(30.5, 10.5), "nodata": ll(55.5, 20.5),
           "far": [0.0, 0.0]}
    page = write_map(run_dir)
    click = "window.__covkitMap.fire('click', {latlng: L.latLng(LATLON)})".replace(
        "LATLON", ", ".join(map(str, pts["mid"])))
    ev = bc.inspect_page(page, actions_js=click, evaluate=(
        "{q: Object.fromEntries(Object.entries(PTS).map(function (e) {"
        " return [e[0], window.covkitQuery(e[1][0], e[1][1])]; })),"
        " popup: Array.prototype.map.call(document.querySelectorAll('.covkit-query'),"
        " function (d) { return d.innerText; })}").replace("PTS", json.dumps(pts)))["evaluated"]
    assert isinstance(ev, dict), ev
    q = ev["q"]

    def values(name):
        return {v["layer"]: v["value"] for v in q[name]}

    assert values("strong") == {"rsrp": -75.0, "sinr": 17.5, "coverage_probability": 100.0}, q
    assert values("mid") == {"rsrp": -100.0, "sinr": 5.0, "coverage_probability": 75.0}, q
    assert values("nodata") == {"rsrp": None, "sinr": None, "coverage_probability": None}, q
    assert q["far"] == [], q
    assert ev["popup"] == ["Best RSRP: -100.0 dBm\nSINR: 5.0 dB\nCoverage probability: 75.0 %"], ev


# ----------------------------------------------------------------------------------------------
# offline base layer: hillshade of the DEM, sea and coastline


def _write_dem(run_dir: Path) -> Path:
    """A DEM over the fixture area: a ridge rising to 600 m in the middle, sea (0 m) on the
    eastern 8 columns; recorded as the run's ``dem`` input."""
    import rasterio
    from rasterio.transform import from_origin

    cols = np.arange(WIDTH, dtype=np.float64)
    rows = np.arange(HEIGHT, dtype=np.float64)
    dem = 600.0 * np.exp(-(((cols[None, :] - 25) / 12.0) ** 2 + ((rows[:, None] - 20) / 15.0)
                           ** 2)) + 5.0
    dem[:, WIDTH - 8:] = 0.0
    path = run_dir / "inputs" / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", width=WIDTH, height=HEIGHT, count=1,
                       dtype="float32", crs=CRS, transform=from_origin(X0, Y0, RES_M, RES_M),
                       nodata=-9999.0) as dst:
        dst.write(dem.astype(np.float32), 1)
    summary_path = run_dir / "kpi_summary.json"
    summary = json.loads(summary_path.read_text())
    summary["input_files"]["dem"] = {"path": str(path)}
    summary_path.write_text(json.dumps(summary, indent=2))
    return path


def test_terrain_band_shades_from_the_north_west_and_marks_sea_and_coast():
    from affine import Affine

    from covkit.maps import terrain_band

    x = np.arange(40, dtype=np.float64)
    dem = np.tile(np.where(x < 20, 10.0 * x, 10.0 * (40 - x)), (30, 1))  # peak at x = 20
    dem[:, 36:] = 0.0  # sea
    dem[0, 0] = np.nan
    band = terrain_band(dem, Affine(100.0, 0, 0, 0, -100.0, 0), "EPSG:3826")
    assert np.isnan(band[0, 0])
    assert (band[:, 36:] == -1.0).all()  # sea
    assert (band[5:, 35] == -2.0).all()  # coastline: land next to the sea
    west_face, east_face = band[10, 10], band[10, 28]  # light from the north-west
    assert 0.0 <= east_face < west_face <= 1.0
    flat = terrain_band(np.full((5, 5), 50.0), Affine(100.0, 0, 0, 0, -100.0, 0), "EPSG:3826")
    assert np.allclose(flat, np.sin(np.radians(45.0)))


def test_offline_base_layer_is_the_dem_hillshade_with_the_coastline(run_dir: Path):
    """With a DEM recorded in the run, map.html has a base layer (radio button in the layer
    control) drawn below every overlay: the hillshade with sea and coastline colours."""
    import base64
    import io

    from PIL import Image

    from covkit.maps import _COAST_RGB, _SEA_RGB, BASE_LAYER_NAME, write_map

    _write_dem(run_dir)
    page = write_map(run_dir)
    text = page.read_text(encoding="utf-8")
    m = re.search(r'L\.imageOverlay\(\s*"(data:image/png;base64,[^"]+)"[^;]*?"covkit-terrain"',
                  text, re.DOTALL)
    assert m, "no terrain overlay in the page"
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(m.group(1).split(",", 1)[1]))))
    colours = {tuple(int(c) for c in px[:3]) for px in img.reshape(-1, 4) if px[3] == 255}
    assert _SEA_RGB in colours and _COAST_RGB in colours
    assert len(colours) > 20  # shaded land

    bc = _chromium()
    ev = bc.inspect_page(page, evaluate=(
        "{base: Array.prototype.map.call(document.querySelectorAll("
        "'.leaflet-control-layers-base label'), function (l) { return l.textContent.trim(); }),"
        " terrain: Array.prototype.map.call(document.querySelectorAll('img.covkit-terrain'),"
        " function (im) { var r = im.getBoundingClientRect();"
        " return {in_tile_pane: !!im.closest('.leaflet-tile-pane'), complete: im.complete,"
        " width: r.width, natural_width: im.naturalWidth}; })}"))["evaluated"]
    assert isinstance(ev, dict), ev
    assert ev["base"] == [BASE_LAYER_NAME], ev
    assert len(ev["terrain"]) == 1, ev
    t = ev["terrain"][0]
    assert t["in_tile_pane"] and t["complete"] and t["natural_width"] > 0 and t["width"] > 50, ev


def test_coverage_map_of_a_result_has_the_terrain_base_layer(tmp_path: Path):
    """coverage_map takes the base layer from the result's inputs (DEM on the grid)."""
    from helpers.scenario import write_small_scenario

    import covkit

    result = covkit.run(write_small_scenario(tmp_path / "sc", model="fspl"))
    text = covkit.coverage_map(result).get_root().render()
    assert '"covkit-terrain"' in text and "Terrain (hillshade, coastline)" in text
    assert "covkitQuery" in text and text.count("L.imageOverlay(") == 4
