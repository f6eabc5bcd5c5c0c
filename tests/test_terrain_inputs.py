"""Areas without terrain and DEM hygiene: several DEMs mosaicked in order, sea depths at 0 m
for propagation (sea kept as sea), stations outside every DEM dropped or refused, stations on
the sea listed, the coarse-DEM warning, townships without terrain not computed and left out of
the national figures, the explicit flat-terrain fallback and the explicit fractal detail, each
flagged in the outputs.

Small synthetic rasters on the 4 km x 3 km scenario of ``helpers.scenario`` (two townships, West
= columns 0-19 and East = columns 20-39, 6,000 people each; sectors S1-S3 at column 10, T1 at
column 30, row 15), and one test on the shared ETOPO1 DEM of Taiwan.
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers.scenario import (
    CRS,
    RES,
    X0,
    Y0,
    H,
    W,
    lonlat,
    station_rows,
    write_csv,
    write_raster,
    write_small_scenario,
)
from rasterio.transform import from_origin

import covkit
import covkit.api
from covkit.data import loaders
from covkit.data import terrain as T
from covkit.data.grid import Grid
from covkit.errors import CovkitInputError


def slope_dem(h: int = H, w: int = W) -> np.ndarray:
    yy = np.arange(h)[:, None]
    xx = np.arange(w)[None, :]
    return (50.0 + 2.0 * xx + 1.0 * yy).astype(np.float32)


def load(toml):
    """Inputs of a scenario and the warnings issued while loading them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inputs = covkit.api.load_inputs(toml)
    return inputs, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def run_quiet(inputs, out=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return covkit.run(inputs, out_dir=out)


def east_without_dem(folder, nodata_cols=slice(20, None)):
    """The scenario's DEM with no data over the East township (columns 20-39 by default)."""
    dem = slope_dem()
    dem[:, nodata_cols] = -9999.0
    write_raster(folder / "dem.tif", dem, nodata=-9999.0)


def set_key(toml, section: str, line: str):
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1),
                    encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# several DEMs


def test_two_dems_are_mosaicked_in_order_and_the_grid_is_their_union(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    # first DEM: the west 25 columns at 100 m, with a void at row 5, columns 0-4
    west = np.full((H, 25), 100.0, np.float32)
    west[5, :5] = -9999.0
    write_raster(folder / "west.tif", west, nodata=-9999.0)
    # second DEM: the whole area and 1 km more to the east, at 200 m
    write_raster(folder / "wide.tif", np.full((H // 2, (W + 10) // 2), 200.0, np.float32),
                 transform=from_origin(X0, Y0, 200.0, 200.0))
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'dem = "dem.tif"', 'dem = ["west.tif", "wide.tif"]'), encoding="utf-8")
    sc = covkit.load_scenario(toml)
    assert sc.inputs.dem == ((folder / "west.tif").resolve(), (folder / "wide.tif").resolve())
    assert sc.to_dict()["inputs"]["dem"] == [str(p) for p in sc.inputs.dem]
    assert sc.replace(coverage={"cell_load": 0.4}).inputs.dem == sc.inputs.dem
    inputs, messages = load(toml)
    assert inputs.grid.shape == (H, W + 10)  # the union of both extents
    dem = inputs.dem_m
    assert (dem[:, :25][np.arange(H) != 5] == 100.0).all()  # the first DEM wins
    assert (dem[5, :5] == 200.0).all()  # its void filled by the second
    assert (dem[:, 25:] == 200.0).all()
    assert inputs.report["no_terrain_cells"] == 0.0
    assert inputs.sources["dem"] == [folder / "west.tif", folder / "wide.tif"]
    assert inputs.report["dem_resolution_m"] == pytest.approx(200.0)
    assert any("wide.tif: DEM resolution 200 m is coarser than the 100 m grid" in m
               for m in messages)
    res = run_quiet(inputs, tmp_path / "out")
    files = json.loads((tmp_path / "out" / "kpi_summary.json").read_text())["input_files"]
    assert [f["path"] for f in files["dem"]] == [str(folder / "west.tif"),
                                                 str(folder / "wide.tif")]
    assert res.summary["population_total"] == pytest.approx(12000.0)


def test_dem_list_errors_name_the_file(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'dem = "dem.tif"', 'dem = ["dem.tif", "kinmen.tif"]'), encoding="utf-8")
    with pytest.raises(CovkitInputError, match=r"kinmen\.tif: DEM file does not exist"):
        covkit.api.check_inputs(toml)
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'dem = ["dem.tif", "kinmen.tif"]', "dem = [1, 2]"), encoding="utf-8")
    with pytest.raises(CovkitInputError, match=r"inputs\.dem must be a path or a non-empty "
                                               r"list of paths"):
        covkit.load_scenario(toml)


# ----------------------------------------------------------------------------------------------
# sea


def test_sea_is_at_0_m_for_propagation_and_stays_sea(tmp_path):
    results = {}
    for depth in (-40.0, -3000.0):
        folder = tmp_path / f"d{-depth:g}"
        toml = write_small_scenario(folder, model="p1812")
        dem = slope_dem()
        dem[:, :4] = depth  # sea floor along the west edge
        write_raster(folder / "dem.tif", dem)
        inputs, _ = load(toml)
        sea = inputs.terrain.sea
        assert sea[:, :4].all() and not sea[:, 4:].any()
        assert (inputs.dem_m[:, :4] == 0.0).all()  # the sea surface, not the sea floor
        assert (inputs.terrain.elevation_m[:, :4] == depth).all()  # the DEM as given
        assert (inputs.coast_km[:, :4] == 0.0).all() and (inputs.coast_km[:, 4:] > 0).all()
        assert inputs.report["sea_cells"] == 4 * H
        results[depth] = run_quiet(inputs)
    a, b = results[-40.0], results[-3000.0]
    assert np.isfinite(a.rsrp_best_dbm[:, :4]).any()
    np.testing.assert_array_equal(a.rsrp_best_dbm, b.rsrp_best_dbm)  # depth plays no part
    assert a.summary["sea_cells"] == 4 * H


def test_propagation_over_the_sea_floor_differs_from_the_surface(tmp_path):
    """The clamp matters: a sea floor carried into the profiles changes the loss."""
    folder = tmp_path / "s"
    write_small_scenario(folder, model="p1812")
    inputs, _ = load(folder / "scenario.toml")
    floor = inputs.dem_m.copy()
    floor[:, :4] = -3000.0
    raw = dataclasses.replace(inputs, dem_m=floor)
    surface = run_quiet(inputs)
    bottom = run_quiet(raw)
    assert not np.array_equal(np.nan_to_num(surface.rsrp_best_dbm),
                              np.nan_to_num(bottom.rsrp_best_dbm))


# ----------------------------------------------------------------------------------------------
# stations


def test_stations_outside_every_dem_are_dropped_and_counted_or_refused(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    east_without_dem(folder, slice(28, None))  # T1 (column 30) stands on no terrain
    rows = station_rows()
    rows.append({**rows[-1], "station_id": "FAR", "site_id": "C",
                 "lon": lonlat(X0 + 90_000.0, Y0)[0]})  # 90 km east: outside the grid
    write_csv(folder / "stations.csv", rows)
    inputs, messages = load(toml)
    assert inputs.stations.table["station_id"].tolist() == ["S1", "S2", "S3"]
    assert inputs.stations.dropped_ids == ("T1", "FAR")
    assert inputs.report["stations_dropped_outside_dem_count"] == 2.0
    assert any("2 of 5 station(s) lie outside every DEM / the analysis grid or on cells "
               "without terrain and are dropped (first: 'T1', 'FAR')" in m for m in messages)
    res = run_quiet(inputs)
    assert res.summary["stations_dropped_outside_dem"] == ["T1", "FAR"]
    set_key(toml, "inputs", 'stations_outside_dem = "error"')
    with pytest.raises(CovkitInputError, match=r"stations\.csv, column 'lon,lat', row 5: "
                                               r"station 'FAR' .* lies outside the DEM"):
        covkit.api.check_inputs(toml)  # what `covkit scenario check` runs
    rows.pop()
    write_csv(folder / "stations.csv", rows)
    with pytest.raises(CovkitInputError, match=r"row 4: station 'T1' stands on a DEM nodata"):
        covkit.api.check_inputs(toml)


def test_row_numbers_stay_those_of_the_file_after_a_drop(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    rows = station_rows()
    rows.insert(0, {**rows[-1], "station_id": "FAR", "site_id": "C",
                    "lon": lonlat(X0 + 90_000.0, Y0)[0]})
    rows[-1]["freq_mhz"] = 35.0  # T1, now data row 5: outside the clutter model's validity
    write_csv(folder / "stations.csv", rows)
    set_key(toml, "propagation", 'clutter = "p2108"')
    with pytest.raises(CovkitInputError, match=r"row 5: station 'T1': 35 MHz is outside"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            covkit.api.check_inputs(toml)


def test_every_station_outside_is_an_error(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    rows = [{**r, "lon": lonlat(X0 + 90_000.0, Y0)[0]} for r in station_rows()]
    write_csv(folder / "stations.csv", rows)
    with pytest.raises(CovkitInputError, match=r"all 4 stations lie outside every DEM"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            covkit.api.check_inputs(toml)


def test_stations_on_sea_cells_are_listed(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    dem = slope_dem()
    dem[12:18, 8:13] = -5.0  # a bay under S1-S3 (column 10, row 15)
    write_raster(folder / "dem.tif", dem)
    inputs, messages = load(toml)
    assert inputs.stations.on_sea_ids == ("S1", "S2", "S3")
    assert len(inputs.stations.table) == 4  # kept
    assert any("3 station(s) stand on sea cells (DEM below 0 m at the site; first: 'S1', "
               "'S2', 'S3')" in m for m in messages)
    res = run_quiet(inputs, tmp_path / "out")
    s = json.loads((tmp_path / "out" / "kpi_summary.json").read_text())
    assert s["stations_on_sea"] == ["S1", "S2", "S3"] == res.summary["stations_on_sea"]
    assert s["sea_cells"] == 30


# ----------------------------------------------------------------------------------------------
# DEM resolution


def test_a_dem_coarser_than_the_grid_is_warned_with_both_figures(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    inputs, messages = load(toml)
    assert not any("coarser than" in m for m in messages)  # 100 m DEM, 100 m grid
    assert inputs.report["dem_resolution_m"] == pytest.approx(100.0)
    write_raster(folder / "dem.tif", slope_dem(H // 5, W // 5) * 10.0,
                 transform=from_origin(X0, Y0, 500.0, 500.0))
    inputs, messages = load(toml)
    hits = [m for m in messages if "coarser than" in m]
    assert len(hits) == 1
    assert "dem.tif: DEM resolution 500 m is coarser than the 100 m grid: terrain between " \
           "DEM posts is interpolated; P.1812 profiles will miss hills smaller than that" \
           in hits[0]
    assert inputs.report["dem_resolution_m"] == pytest.approx(500.0)
    assert run_quiet(inputs).summary["dem_resolution_m"] == pytest.approx(500.0)


def test_dem_post_spacing_of_a_geographic_dem():
    # 1 arc-minute at 23.5 N: 1,853 m north-south, 1,700 m east-west; geometric mean ~1,775 m
    spacing = loaders.dem_post_spacing_m(from_origin(120.0, 24.0, 1 / 60, 1 / 60), "EPSG:4326",
                                         (60, 60), CRS)
    assert 1760.0 < spacing < 1790.0
    assert loaders.length_text(spacing) == "1.8 km"


# ----------------------------------------------------------------------------------------------
# townships without terrain


def test_townships_without_terrain_are_not_computed_nor_counted(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    east_without_dem(folder)
    inputs, messages = load(toml)
    assert inputs.report["no_terrain_cells"] == 20 * H
    assert inputs.report["townships_not_computed_count"] == 1.0
    res = run_quiet(inputs, tmp_path / "out")
    tw = res.townships.set_index("township_id")
    assert tw.loc["T01", "status"] == "computed"
    assert tw.loc["T02", "status"] == "not computed: no terrain"
    assert tw.loc["T02", "population"] == pytest.approx(6000.0)  # people are still counted
    for col in ("covered_population", "uncovered_population", "coverage_pct",
                "coverage_pct_OpA"):
        assert np.isnan(tw.loc["T02", col]), col
    assert not res.covered[:, 20:].any()  # no coverage claimed on cells without terrain
    s = res.summary
    cov_west = tw.loc["T01", "covered_population"]
    assert 0 < cov_west <= 6000.0
    assert s["population_total"] == pytest.approx(12000.0)
    assert s["population_not_computed"] == pytest.approx(6000.0)
    assert s["population_covered"] == pytest.approx(cov_west)
    assert s["population_coverage_pct"] == pytest.approx(100.0 * cov_west / 6000.0)
    assert s["non_remote_population"] == pytest.approx(6000.0)
    assert s["non_remote_population_coverage_pct"] == pytest.approx(100.0 * cov_west / 6000.0)
    assert s["population_covered"] + s["population_uncovered"] + \
        s["population_not_computed"] == pytest.approx(s["population_total"])
    assert s["counties"]["C1"]["population_not_computed"] == pytest.approx(6000.0)
    assert s["counties"]["C1"]["coverage_pct"] == pytest.approx(100.0 * cov_west / 6000.0)
    assert s["townships_not_computed"] == ["T02"]
    assert "left out of the coverage percentages" in s["not_computed"]["townships_not_computed"]
    csv = pd.read_csv(tmp_path / "out" / "kpi_townships.csv", dtype={"status": str})
    east = csv[csv["township_id"] == "T02"].iloc[0]
    assert east["status"] == "not computed: no terrain" and pd.isna(east["coverage_pct"])
    # T1 (East) stood on no terrain: dropped, and counted
    assert s["stations_dropped_outside_dem"] == ["T1"]
    assert any("1 of 4 station(s)" in m for m in messages)
    # the report's county table gives the people not computed beside the coverage
    covkit.write_report(tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    head = next(line for line in md.splitlines() if "| County |" in line)
    assert "Not computed" in head
    row = next(line for line in md.splitlines() if line.startswith("| C1 |"))
    assert row.rstrip(" |").endswith("6,000")


def test_a_township_with_less_than_half_without_terrain_is_computed(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    east_without_dem(folder, slice(32, None))  # 8 of East's 20 columns: 40 % of its people
    inputs, _ = load(toml)
    st = inputs.townships.table.set_index("township_id")
    assert st.loc["T02", "status"] == "computed"
    assert st.loc["T02", "no_terrain_share"] == pytest.approx(0.4)
    east_without_dem(folder, slice(29, None))  # 11 of 20 columns: 55 %
    inputs, _ = load(toml)
    st = inputs.townships.table.set_index("township_id")
    assert st.loc["T02", "status"] == T.STATUS_NO_TERRAIN


def test_status_rules_on_zone_rasters():
    zone = np.array([[0, 0, 1, 1], [0, 0, 1, -1]])
    pop = np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 5.0, 0.0, 3.0]])
    nan = np.full(zone.shape, np.nan, np.float32)
    no = np.zeros(zone.shape, bool)
    no[1, 1] = True  # 5 of township 0's 8 people
    no[0, 2] = True  # 1 of township 1's 3 cells (no people: by cells)
    none = np.zeros(zone.shape, bool)
    terrain = T.Terrain(nan, np.where(no, np.nan, 1.0), none, no, none, 100.0)
    status, share = T.township_status(zone, pop, terrain, 3, np.array([True, True, False]))
    assert status.tolist() == [T.STATUS_NO_TERRAIN, T.STATUS_COMPUTED, T.STATUS_OUTSIDE]
    assert share[:2] == pytest.approx([5 / 8, 1 / 3])


# ----------------------------------------------------------------------------------------------
# flat-terrain fallback


def test_flat_fallback_fills_land_without_dem_and_flags_every_output(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    east_without_dem(folder)
    # the grid reaches 500 m north of the townships: no DEM and no township there
    set_key(toml, "scenario", f"bounds = [{X0}, {Y0 - H * RES}, {X0 + W * RES}, {Y0 + 500.0}]")
    set_key(toml, "propagation", 'no_terrain = "flat"')
    inputs, messages = load(toml)
    t = inputs.terrain
    assert t.flat[5:, 20:].all() and not t.flat[5:, :20].any()  # East is land: its polygon
    assert (inputs.dem_m[5:, 20:] == 0.0).all()
    assert t.no_terrain[:5].all() and not t.no_terrain[5:].any()  # no township: no land
    assert len(inputs.stations.table) == 4  # T1 stands on flat land
    assert any("are taken as 0 m flat terrain" in m for m in messages)
    out = tmp_path / "out"
    res = run_quiet(inputs, out)
    tw = res.townships.set_index("township_id")
    assert tw.loc["T02", "status"] == "computed: flat terrain (no DEM)"
    assert tw.loc["T01", "status"] == "computed"
    assert tw.loc["T02", "coverage_pct"] > 0
    s = json.loads((out / "kpi_summary.json").read_text())
    assert s["terrain_flags"] == ["flat terrain (no DEM)"]
    assert s["flat_terrain_cells"] == 20 * H
    assert s["population_not_computed"] == 0.0
    csv = pd.read_csv(out / "kpi_townships.csv")
    assert "computed: flat terrain (no DEM)" in csv["status"].tolist()
    html, _ = covkit.write_report(out)
    assert "Flat terrain (no DEM): 600 land cells without DEM data" in html.read_text()
    page = covkit.coverage_map(res).get_root().render()
    assert "Flat terrain (no DEM)" in page


def test_flat_is_explicit(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    east_without_dem(folder)
    inputs, _ = load(toml)
    assert inputs.terrain.flags == () and not inputs.terrain.flat.any()
    assert np.isnan(inputs.dem_m[:, 20:]).all()


# ----------------------------------------------------------------------------------------------
# fractal detail


def relief_dem(n_posts: int, seed: int = 0) -> np.ndarray:
    """A smooth hilly DEM of n x n posts (200-900 m), sea in the first two columns."""
    yy, xx = np.mgrid[0:n_posts, 0:n_posts] / n_posts
    z = 550.0 + 250.0 * np.sin(2 * np.pi * xx * 1.5) * np.cos(2 * np.pi * yy) + 100.0 * yy
    z[:, :2] = -20.0
    return z.astype(np.float32)


def test_fractal_detail_keeps_the_dem_at_its_posts_scale_and_adds_roughness():
    post, res, n = 1000.0, 100.0, 24
    grid = Grid.from_bounds(CRS, (X0, Y0 - n * post, X0 + n * post, Y0), res)
    coarse = relief_dem(n)
    src = (coarse, from_origin(X0, Y0, post, post), CRS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mosaic = loaders.load_dems(src, grid)
        a = T.make_terrain(mosaic, grid, None, dem_detail="fractal", seed=11)
        b = T.make_terrain(mosaic, grid, None, dem_detail="fractal", seed=11)
        c = T.make_terrain(mosaic, grid, None, dem_detail="fractal", seed=12)
        plain = T.make_terrain(mosaic, grid, None)
    assert a.flags == (T.FLAG_SYNTHETIC,) and plain.flags == ()
    np.testing.assert_array_equal(a.dem_m, b.dem_m)  # deterministic for a seed
    assert not np.array_equal(a.dem_m, c.dem_m)
    land = np.isfinite(mosaic.elevation_m) & (mosaic.elevation_m > 0)
    detail = np.where(land, a.dem_m - plain.dem_m, 0.0)
    assert (a.dem_m[~land & np.isfinite(a.dem_m)] == plain.dem_m[~land & np.isfinite(
        plain.dem_m)]).all()  # none on the sea
    assert (a.dem_m[land] > 0).all()  # land stays land
    k = int(post / res)
    blocks = detail.reshape(n, k, n, k)
    full = land.reshape(n, k, n, k).all(axis=(1, 3))
    block_mean = blocks.mean(axis=(1, 3))[full]
    block_std = blocks.std(axis=(1, 3))[full]
    assert full.sum() > 300
    # roughness within each post's block (metres to tens of metres with the relief) ...
    assert float(block_std.mean()) > 5.0 and float(block_std.min()) > 1.0
    # ... while the block means stay the DEM's: within a metre on average, and each well
    # below the roughness it carries
    assert float(np.abs(block_mean).mean()) < 2.0
    assert float(np.max(np.abs(block_mean) / block_std)) < 0.35


def test_fractal_detail_is_flagged_in_every_output(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    write_raster(folder / "dem.tif", relief_dem(8)[:6], transform=from_origin(X0, Y0, 500.0,
                                                                              500.0))
    set_key(toml, "propagation", 'dem_detail = "fractal"\ndem_detail_seed = 5')
    inputs, messages = load(toml)
    again, _ = load(toml)
    np.testing.assert_array_equal(inputs.dem_m, again.dem_m)
    assert inputs.terrain.flags == (T.FLAG_SYNTHETIC,)
    out = tmp_path / "out"
    res = run_quiet(inputs, out)
    s = json.loads((out / "kpi_summary.json").read_text())
    assert s["terrain_flags"] == ["synthetic terrain (fractal DEM detail)"]
    assert set(res.townships["status"]) == {"computed: synthetic terrain (fractal DEM detail)"}
    html, _ = covkit.write_report(out)
    assert "Synthetic terrain: seeded fractal detail (seed 5)" in html.read_text()
    assert "Synthetic terrain" in covkit.coverage_map(res).get_root().render()


def test_fractal_detail_adds_nothing_on_a_fine_dem(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    set_key(toml, "propagation", 'dem_detail = "fractal"')
    inputs, messages = load(toml)
    assert inputs.terrain.flags == ()
    assert any("adds nothing" in m for m in messages)
    np.testing.assert_array_equal(inputs.dem_m, slope_dem())


# ----------------------------------------------------------------------------------------------
# the shared ETOPO1 DEM of Taiwan


@pytest.fixture(scope="module")
def taiwan(shared_dir, tmp_path_factory):
    base = shared_dir / "data" / "taiwan"
    tmp = tmp_path_factory.mktemp("taiwan-terrain")
    towns = gpd.read_file(base / "taiwan_townships_2021.geojson")
    table = pd.read_csv(base / "townships_population_2022-03.csv", dtype={"TOWNCODE": str})
    joined = towns.merge(table[["TOWNCODE", "population"]], on="TOWNCODE", validate="1:1")
    joined[["TOWNCODE", "population", "geometry"]].to_file(tmp / "population.gpkg")
    pd.DataFrame([
        {"station_id": "TAIPEI", "lon": 121.52, "lat": 25.04},
        {"station_id": "KINMEN", "lon": 118.32, "lat": 24.44},  # west of the DEM
        {"station_id": "STRAIT", "lon": 120.00, "lat": 23.00},  # in the Taiwan Strait
    ]).assign(operator="A", height_m=30.0, freq_mhz=900.0, eirp_dbm=60.0).to_csv(
        tmp / "stations.csv", index=False)
    return base, tmp


def test_etopo1_sea_kinmen_and_the_coarse_dem(taiwan):
    base, tmp = taiwan
    sc = covkit.Scenario.from_dict({
        # grid reaching Kinmen and Matsu, beyond the DEM's extent
        "scenario": {"crs": "EPSG:3826", "resolution_m": 1000.0,
                     "bounds": [-52000.0, 2324000.0, 458000.0, 2936000.0]},
        "inputs": {"dem": str(base / "etopo1_taiwan_1arcmin.tif"),
                   "stations": str(tmp / "stations.csv"),
                   "population": str(tmp / "population.gpkg"),
                   "townships": str(base / "taiwan_townships_2021.geojson"),
                   "township_columns": {"township_id": "TOWNCODE", "name": "TOWNNAME",
                                        "county": "COUNTYNAME"}},
        "propagation": {"model": "hata", "max_radius_km": 5.0}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inputs = covkit.load_inputs(sc)
    messages = [str(w.message) for w in caught]
    t = inputs.terrain
    assert np.nanmin(t.elevation_m) < -3000.0  # ETOPO1 carries the sea floor ...
    assert np.nanmin(inputs.dem_m) == 0.0  # ... propagation stands on the sea surface
    assert t.sea.sum() > 100_000 and inputs.report["sea_cells"] == t.sea.sum()
    assert 1700.0 < inputs.report["dem_resolution_m"] < 1850.0
    assert any("DEM resolution 1.8 km is coarser than the 1000 m grid" in m for m in messages)
    assert inputs.stations.dropped_ids == ("KINMEN",)
    assert inputs.stations.on_sea_ids == ("STRAIT",)
    res = run_quiet(inputs)
    tw = res.townships
    # 金門縣 but 烏坵鄉 (09020060, 119.45 E: inside the DEM's extent)
    kinmen = tw[tw["township_id"].isin([f"090200{i}0" for i in range(1, 6)])]
    main = tw[~tw["county"].isin(["金門縣", "連江縣"])]
    assert len(kinmen) == 5
    assert kinmen["status"].str.startswith("not computed").all()
    assert kinmen["coverage_pct"].isna().all()
    assert (kinmen.loc[kinmen["status"] == "not computed: no terrain", "population"]
            .sum() > 100_000)
    assert (main["status"] == "computed").mean() > 0.97
    s = res.summary
    assert s["population_not_computed"] > 100_000
    assert s["population_coverage_pct"] == pytest.approx(
        100.0 * s["population_covered"] / (s["population_total"] - s["population_not_computed"]))
