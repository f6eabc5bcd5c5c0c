"""covkit verify also judges the test points FCC style (H3 hexagons): a place the map covers
where planted tests fail is challenged, a covered place whose tests pass is not; the files and
the offline verify map carry the hexagons."""

from __future__ import annotations

import json
import re
import warnings

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
from helpers import browser_check as bc
from helpers.scenario import demo_with_operator_grids

from covkit import api
from covkit.coverage.verify import VERIFY_FILES, VERIFY_MAP
from covkit.data import loaders

RES_M = 500.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_with_operator_grids(tmp_path_factory.mktemp("verify_challenge"), RES_M)


def _covered_places(inputs, result, op: str, n: int, rng) -> list[tuple[float, float]]:
    """Centres (lon, lat) of cells the operator covers with a margin in every direction (the
    whole resolution-8 hexagon around them covered too)."""
    cov = result.covered_by_operator[op]
    ok = cov.copy()
    for dr in (-2, -1, 0, 1, 2):
        for dc in (-2, -1, 0, 1, 2):
            ok &= np.roll(np.roll(cov, dr, axis=0), dc, axis=1)
    rows, cols = np.nonzero(ok[3:-3, 3:-3])
    pick = rng.choice(rows.size, size=n, replace=False)
    xs, ys = inputs.grid.cell_centres()
    x = xs[cols[pick] + 3]
    y = ys[rows[pick] + 3]
    lon, lat = loaders.xy_to_lonlat(x, y, inputs.grid.crs)
    return list(zip(lon, lat, strict=True))


def _tests_in_hexagon(cell: str, n: int, rsrp_dbm: float, op: str, rng) -> pd.DataFrame:
    """``n`` tests spread over the resolution-9 children of an H3 cell and over 12 hours."""
    children = sorted(h3.cell_to_children(cell, 9))
    rows = []
    for i in range(n):
        lat, lon = h3.cell_to_latlng(children[i % len(children)])
        rows.append({"lon": lon + rng.normal(0, 1e-4), "lat": lat + rng.normal(0, 1e-4),
                     "timestamp": f"2026-03-02T{6 + (i * 12) // n:02d}:{i % 60:02d}:00Z",
                     "operator": op, "rsrp_dbm": rsrp_dbm})
    return pd.DataFrame(rows)


def test_planted_negative_tests_challenge_their_hexagon_only(demo, tmp_path):
    coarse, inputs, result = demo
    rng = np.random.default_rng(7)
    op = inputs.stations.operators[0]
    (lon_a, lat_a), (lon_b, lat_b) = _covered_places(inputs, result, op, 2, rng)
    bad_cell = h3.latlng_to_cell(lat_a, lon_a, 8)
    good_cell = h3.latlng_to_cell(lat_b, lon_b, 8)
    assert bad_cell != good_cell
    table = pd.concat([_tests_in_hexagon(bad_cell, 21, -150.0, op, rng),  # no signal at all
                       _tests_in_hexagon(good_cell, 21, -60.0, op, rng)], ignore_index=True)
    path = tmp_path / "tests.csv"
    table.insert(0, "point_id", [f"T{i}" for i in range(len(table))])
    table.to_csv(path, index=False)
    out = tmp_path / "verify"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        v = api.verify(result, path, out_dir=out)
    hexes = v.hexagons.set_index("h3_cell")
    assert bool(hexes.loc[bad_cell, "flagged"]) is True
    assert hexes.loc[bad_cell, "n_negative"] == 21
    assert bool(hexes.loc[good_cell, "flagged"]) is False
    assert hexes.loc[good_cell, "n_negative"] == 0
    assert "too_few_negative" in hexes.loc[good_cell, "reason"]
    assert v.summary["challenges"]["n_flagged"] == 1
    # the files: every verify file, the hexagons read back, the summary
    assert sorted(p.name for p in out.iterdir()) == sorted(VERIFY_FILES)
    back = gpd.read_parquet(out / "challenge_hexagons.parquet")
    assert set(back["h3_cell"]) == {bad_cell, good_cell}
    assert json.loads((out / "verify_summary.json").read_text())["challenges"][
        "n_flagged"] == 1
    # the map: offline, with the test points and the challenged hexagon
    page = (out / VERIFY_MAP).read_text(encoding="utf-8")
    assert "Challenge hexagons" in page and "Test points" in page
    assert not re.search(r"""<script[^>]*src=["']https?://""", page)  # libraries inline
    assert not re.search(r"""<link[^>]*href=["']https?://""", page)
    assert "tile.openstreetmap" not in page


def test_a_file_without_a_judged_measure_has_no_hexagons(demo, tmp_path):
    coarse, inputs, result = demo
    rng = np.random.default_rng(8)
    op = inputs.stations.operators[0]
    (lon, lat), = _covered_places(inputs, result, op, 1, rng)
    table = pd.DataFrame({"point_id": ["A", "B"], "lon": [lon, lon], "lat": [lat, lat],
                          "timestamp": ["2026-03-02T08:00:00Z"] * 2, "operator": [op, op],
                          "sinr_db": [3.0, 4.0]})
    path = tmp_path / "sinr_only.csv"
    table.to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        v = api.verify(result, path, out_dir=tmp_path / "o")
    assert v.hexagons is None and v.summary["challenges"] is None
    assert not (tmp_path / "o" / "challenge_hexagons.parquet").exists()
    assert (tmp_path / "o" / VERIFY_MAP).exists()


@pytest.mark.skipif(not bc.chromium_available(), reason="no headless Chromium on this machine")
def test_the_verify_map_renders_with_its_layers_and_no_script_error(demo, tmp_path):
    """Headless Chromium: the verify map (coverage, test points, challenge hexagons) starts
    Leaflet, lists every layer in its control and raises no JavaScript error (a layer added
    after the control once broke the whole page)."""
    coarse, inputs, result = demo
    rng = np.random.default_rng(9)
    op = inputs.stations.operators[0]
    (lon, lat), = _covered_places(inputs, result, op, 1, rng)
    cell = h3.latlng_to_cell(lat, lon, 8)
    table = _tests_in_hexagon(cell, 21, -150.0, op, rng)
    table.insert(0, "point_id", [f"T{i}" for i in range(len(table))])
    path = tmp_path / "tests.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "verify"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        api.verify(result, path, out_dir=out)
    report = bc.inspect_page(out / VERIFY_MAP, evaluate=(
        "{control: Array.from(document.querySelectorAll('.leaflet-control-layers label'))"
        ".map(e => e.textContent.trim()), "
        "hexagons: document.querySelectorAll('path.covkit-challenge').length, "
        "legend: (function () {"
        "  var box = document.querySelector('.covkit-classes');"
        "  if (!box) { return null; }"
        "  var shown = box.style.display;"
        "  var input = Array.from(document.querySelectorAll('.leaflet-control-layers label'))"
        "    .filter(e => e.textContent.indexOf('Test points') >= 0)[0]"
        "    .querySelector('input');"
        "  input.click();"
        "  return {text: box.textContent, shown: shown, after_off: box.style.display};"
        "})()}"))
    assert report["leaflet"] and report["js_errors"] == [], report["js_errors"]
    assert report["failed_loads"] == [] and bc.external_urls(report) == []
    labels = " | ".join(report["evaluated"]["control"])
    assert "Test points (21" in labels and "Challenge hexagons" in labels, labels
    assert report["evaluated"]["hexagons"] == 1
    legend = report["evaluated"]["legend"]  # the error colours, shown while the layer is on
    assert legend is not None and legend["shown"] == "" and legend["after_off"] == "none"
    for label in ("below -6 dB", "-2 to 2 dB", "6 dB and above", "no prediction"):
        assert label in legend["text"], legend["text"]
