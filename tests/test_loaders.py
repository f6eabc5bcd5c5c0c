"""Loaders: good inputs normalised onto the grid, and bad inputs with file/column/row errors."""

from __future__ import annotations

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
from shapely.geometry import LineString, Point, box

from covkit.api import load_inputs
from covkit.data import loaders
from covkit.data.grid import Grid
from covkit.errors import CovkitInputError


@pytest.fixture()
def grid():
    return Grid(CRS, X0, Y0, RES, W, H)


@pytest.fixture()
def scen(tmp_path):
    return write_small_scenario(tmp_path / "s")


def test_load_inputs_good(scen):
    inp = load_inputs(scen)
    assert inp.grid.shape == (H, W)
    assert inp.dem_m.dtype == np.float32
    assert np.isfinite(inp.dem_m).all()
    # the DEM is a plane 50 + 2*col + row at cell centres; same grid -> exact values
    assert inp.dem_m[0, 0] == pytest.approx(50.0, abs=1e-3)
    assert inp.dem_m[10, 20] == pytest.approx(50 + 40 + 10, abs=1e-3)
    assert inp.population.sum() == pytest.approx(10.0 * W * H, rel=1e-12)
    st = inp.stations.table
    assert len(st) == 4 and inp.stations.n_sites == 2
    assert st.loc[st.station_id == "T1", "bandwidth_mhz"].item() == 20.0
    assert st.loc[st.station_id == "T1", "scs_khz"].item() == 15.0
    assert np.isnan(st.loc[st.station_id == "T1", "azimuth_deg"].item())
    assert st.loc[st.station_id == "S1", "x_m"].item() == pytest.approx(X0 + 1000.0, abs=1e-3)
    tw = inp.townships.table
    assert list(tw.township_id) == ["T01", "T02"]
    assert tw.population.sum() == pytest.approx(inp.population.sum())
    assert tw.area_km2.tolist() == pytest.approx([6.0, 6.0])
    assert inp.fibre is not None and len(inp.fibre) == 1
    assert inp.trails["length_km"].sum() == pytest.approx(3.0)


def test_dem_in_another_crs_is_reprojected(tmp_path, grid):
    # a lon/lat DEM covering the grid with a known linear slope in latitude
    lon0, lat0 = lonlat(X0 - 2000, Y0 + 2000)
    lon1, lat1 = lonlat(X0 + W * RES + 2000, Y0 - H * RES - 2000)
    n = 200
    dlon, dlat = (lon1 - lon0) / n, (lat0 - lat1) / n
    yy = np.arange(n)[:, None] * np.ones((1, n))
    dem = (1000.0 - yy).astype(np.float32)
    dem[0, 0] = -9999
    path = write_raster(tmp_path / "dem_ll.tif", dem, crs="EPSG:4326",
                        transform=from_origin(lon0, lat0, dlon, dlat), nodata=-9999)
    out = loaders.load_dem(path, grid)
    assert out.shape == grid.shape and np.isfinite(out).all()
    assert (np.diff(out[:, W // 2]) < 0).all()  # elevation falls to the south


def test_population_polygons_preserve_total(tmp_path, grid):
    polys = [box(X0 + 130, Y0 - 870, X0 + 1770, Y0 - 120),
             box(X0 + 1500, Y0 - 2900, X0 + 3900, Y0 - 1000),
             Point(X0 + 2050, Y0 - 50).buffer(10)]  # tiny: goes to one cell
    gdf = gpd.GeoDataFrame({"population": [1234.5, 98765.0, 17.0]}, geometry=polys, crs=CRS)
    path = tmp_path / "pop.gpkg"
    gdf.to_file(path)
    pop, rep = loaders.load_population(path, grid)
    assert pop.sum() == pytest.approx(1234.5 + 98765.0 + 17.0, rel=1e-12)
    assert rep["population_outside_grid"] == 0.0
    r, c = grid.index_of(X0 + 2050, Y0 - 50)
    assert pop[r, c] == pytest.approx(17.0)


def test_population_raster_coarser_other_crs(tmp_path, grid):
    lon0, lat0 = lonlat(X0 + 400, Y0 - 400)
    data = np.full((5, 5), 100.0, np.float32)
    path = write_raster(tmp_path / "p.tif", data, crs="EPSG:4326",
                        transform=from_origin(lon0, lat0, 0.005, 0.005))
    pop, rep = loaders.load_population(path, grid)
    inside = 2500.0 - rep["population_outside_grid"]
    assert pop.sum() == pytest.approx(inside, rel=1e-12)
    assert 0 < inside <= 2500.0


def test_remote_by_density_rule(tmp_path, grid):
    pop = np.full(grid.shape, 10.0)
    pop[:, 20:] = 0.5  # east much sparser: density 50 vs 1000 per km2
    path = tmp_path / "tw.gpkg"
    gpd.GeoDataFrame({"township_id": ["a", "b"], "name": ["W", "E"], "county": ["c", "c"]},
                     geometry=[box(X0, Y0 - 3000, X0 + 2000, Y0),
                               box(X0 + 2000, Y0 - 3000, X0 + 4000, Y0)], crs=CRS).to_file(path)
    tw = loaders.load_townships(path, grid, pop)
    assert tw.table.remote.tolist() == [False, True]
    assert (tw.table.remote_source == "density rule").all()
    # national density is (6000+300)/12 km2 = 525/km2; east 50 < 105 -> remote
    tw2 = loaders.load_townships(path, grid, pop, remote_density_ratio=0.05)
    assert tw2.table.remote.tolist() == [False, False]


def test_remote_column_from_file(tmp_path, grid):
    path = tmp_path / "tw.gpkg"
    gpd.GeoDataFrame({"township_id": ["a"], "name": ["W"], "county": ["c"], "remote": ["yes"]},
                     geometry=[box(X0, Y0 - 3000, X0 + 4000, Y0)], crs=CRS).to_file(path)
    tw = loaders.load_townships(path, grid, np.ones(grid.shape))
    assert tw.table.remote.tolist() == [True]


def test_stations_from_geoparquet_and_gpkg(tmp_path, grid):
    df = pd.DataFrame(station_rows())
    df["azimuth_deg"] = pd.to_numeric(df["azimuth_deg"], errors="coerce")
    for c in ("tilt_deg", "beamwidth_deg", "bandwidth_mhz", "scs_khz"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs="EPSG:4326")
    gdf.to_parquet(tmp_path / "s.parquet")
    gdf.drop(columns=["lon", "lat"]).to_file(tmp_path / "s.gpkg")
    a = loaders.load_stations(tmp_path / "s.parquet", grid)
    b = loaders.load_stations(tmp_path / "s.gpkg", grid)
    assert np.allclose(a.table.x_m, b.table.x_m, atol=1e-6)
    assert a.n_sites == b.n_sites == 2


def test_sites_default_to_distinct_positions(tmp_path, grid):
    rows = station_rows()
    for r in rows:
        del r["site_id"]
    st = loaders.load_stations(write_csv(tmp_path / "s.csv", rows), grid)
    assert st.n_sites == 2
    assert st.table.site_index.tolist() == [0, 0, 0, 1]


def _bad_station(tmp_path, grid, mutate):
    rows = station_rows()
    mutate(rows)
    return loaders.load_stations(write_csv(tmp_path / "bad.csv", rows), grid,
                                 np.zeros(grid.shape, np.float32))


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda rows: [r.pop("eirp_dbm") for r in rows],
         r"bad\.csv, column 'eirp_dbm': stations table is missing required column 'eirp_dbm'"),
        (lambda rows: rows[1].update(lat="nan"), r"column 'lat', row 2: latitude is missing"),
        (lambda rows: rows[2].update(lon=""), r"column 'lon', row 3: longitude is missing"),
        (lambda rows: rows[2].update(station_id="S1"),
         r"column 'station_id', row 3: duplicate id 'S1' \(first at row 1\)"),
        (lambda rows: rows[0].update(height_m=-5),
         r"column 'height_m', row 1: antenna height above ground \[m\] -5 is out of range"),
        (lambda rows: rows[3].update(freq_mhz="abc"),
         r"column 'freq_mhz', row 4: frequency \[MHz\] 'abc' is not a number"),
        (lambda rows: rows[3].update(lon=lonlat(X0 + 9000, Y0)[0]),
         r"column 'lon,lat', row 4: station 'T1' .* lies outside the DEM"),
        (lambda rows: rows[0].update(tech="3G"), r"column 'tech', row 1: tech '3G' must be 4G"),
        (lambda rows: rows[1].update(height_m=45.0),
         r"column 'site_id', row 2: sector 'S2' has site_id 'A' but its position/height differs"),
        (lambda rows: rows[0].update(scs_khz=20),
         r"column 'scs_khz', row 1: subcarrier spacing 20 kHz"),
        (lambda rows: rows[1].update(operator=""), r"column 'operator', row 2: operator is empty"),
    ],
)
def test_bad_stations(tmp_path, grid, mutate, match):
    with pytest.raises(CovkitInputError, match=match):
        _bad_station(tmp_path, grid, mutate)


def test_station_on_dem_nodata(tmp_path, grid):
    dem = np.zeros(grid.shape, np.float32)
    dem[15, 10] = np.nan  # the cell under S1..S3
    path = write_csv(tmp_path / "s.csv", station_rows())
    with pytest.raises(CovkitInputError, match=r"row 1: station 'S1' stands on a DEM nodata"):
        loaders.load_stations(path, grid, dem)


def test_unreadable_and_missing_files(tmp_path, grid):
    bad = tmp_path / "dem.tif"
    bad.write_bytes(b"this is not a tiff")
    with pytest.raises(CovkitInputError, match=r"dem\.tif: cannot read DEM raster"):
        loaders.load_dem(bad, grid)
    with pytest.raises(CovkitInputError, match=r"nothere\.csv: stations file does not exist"):
        loaders.load_stations(tmp_path / "nothere.csv", grid)
    odd = tmp_path / "stations.xlsx"
    odd.write_text("x")
    with pytest.raises(CovkitInputError, match=r"unsupported stations file type '\.xlsx'"):
        loaders.load_stations(odd, grid)


def test_dem_not_overlapping(tmp_path, grid):
    path = write_raster(tmp_path / "far.tif", np.ones((10, 10), np.float32),
                        transform=from_origin(X0 + 100_000, Y0, RES, RES))
    with pytest.raises(CovkitInputError, match=r"far\.tif: DEM does not overlap"):
        loaders.load_dem(path, grid)


def test_bad_population_inputs(tmp_path, grid):
    neg = np.full(grid.shape, 1.0, np.float32)
    neg[2, 3] = -4
    with pytest.raises(CovkitInputError, match=r"negative population -4 at raster row 3, column 4"):
        loaders.load_population(write_raster(tmp_path / "neg.tif", neg), grid)
    path = tmp_path / "poly.gpkg"
    gpd.GeoDataFrame({"people": [1.0]}, geometry=[box(X0, Y0 - 100, X0 + 100, Y0)],
                     crs=CRS).to_file(path)
    with pytest.raises(CovkitInputError, match=r"column 'population': population table is "
                                               r"missing required column"):
        loaders.load_population(path, grid)
    path = tmp_path / "poly2.gpkg"
    gpd.GeoDataFrame({"population": [1.0, -3.0]},
                     geometry=[box(X0, Y0 - 100, X0 + 100, Y0)] * 2, crs=CRS).to_file(path)
    with pytest.raises(CovkitInputError, match=r"column 'population', row 2: population -3"):
        loaders.load_population(path, grid)


def test_bad_townships(tmp_path, grid):
    pop = np.ones(grid.shape)
    path = tmp_path / "tw.gpkg"
    gpd.GeoDataFrame({"township_id": ["a", "a"], "name": ["x", "y"], "county": ["c", "c"]},
                     geometry=[box(X0, Y0 - 100, X0 + 100, Y0)] * 2, crs=CRS).to_file(path)
    with pytest.raises(CovkitInputError, match=r"column 'township_id', row 2: duplicate id 'a'"):
        loaders.load_townships(path, grid, pop)
    path = tmp_path / "tw2.gpkg"
    gpd.GeoDataFrame({"township_id": ["a"], "county": ["c"]},
                     geometry=[box(X0, Y0 - 100, X0 + 100, Y0)], crs=CRS).to_file(path)
    with pytest.raises(CovkitInputError, match=r"missing required column 'name'"):
        loaders.load_townships(path, grid, pop)
    path = tmp_path / "tw3.gpkg"
    gpd.GeoDataFrame({"township_id": ["a"], "name": ["x"], "county": ["c"], "remote": ["maybe"]},
                     geometry=[box(X0, Y0 - 100, X0 + 100, Y0)], crs=CRS).to_file(path)
    with pytest.raises(CovkitInputError, match=r"column 'remote', row 1: 'maybe' is not a boolean"):
        loaders.load_townships(path, grid, pop)
    path = tmp_path / "tw4.gpkg"
    gpd.GeoDataFrame({"township_id": ["a"], "name": ["x"], "county": ["c"]},
                     geometry=[Point(X0, Y0)], crs=CRS).to_file(path)
    with pytest.raises(CovkitInputError, match=r"row 1: geometry must be a polygon, got Point"):
        loaders.load_townships(path, grid, pop)


def test_bad_trails_and_candidates(tmp_path, grid):
    path = tmp_path / "tr.gpkg"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(X0, Y0)], crs=CRS).to_file(path)
    with pytest.raises(CovkitInputError, match=r"row 1: trail geometry must be a line"):
        loaders.load_trails(path, grid)
    c = tmp_path / "cand.csv"
    c.write_text("candidate_id,lon,lat,height_m\nc1,120.5,23.9,30\nc2,120.6,23.9,0\n")
    with pytest.raises(CovkitInputError, match=r"column 'height_m', row 2: mast height"):
        loaders.load_candidates(c, grid)
    good = tmp_path / "cand2.csv"
    good.write_text("candidate_id,lon,lat,cost\nc1,120.5,23.9,2.5\n")
    cand = loaders.load_candidates(good, grid)
    assert cand.cost.tolist() == [2.5]
    tr = gpd.GeoDataFrame({"name": ["x"]},
                          geometry=[LineString([(X0, Y0), (X0 + 1000, Y0)])], crs=CRS)
    tr.to_file(tmp_path / "tr2.gpkg")
    assert loaders.load_trails(tmp_path / "tr2.gpkg", grid)["length_km"].item() == 1.0


def test_vector_without_crs_refused(tmp_path, grid):
    path = tmp_path / "tw.gpkg"
    gpd.GeoDataFrame({"township_id": ["a"], "name": ["x"], "county": ["c"]},
                     geometry=[box(X0, Y0 - 100, X0 + 100, Y0)]).to_file(path)
    with pytest.raises(CovkitInputError, match=r"tw\.gpkg: townships file has no CRS"):
        loaders.load_townships(path, grid, np.ones(grid.shape))


def test_zero_population_scenario(tmp_path):
    toml = write_small_scenario(tmp_path / "z")
    write_raster(tmp_path / "z" / "population.tif", np.zeros((H, W), np.float32))
    with pytest.raises(CovkitInputError, match=r"population on the analysis grid is zero"):
        load_inputs(toml)


def test_grid_refuses_infinite_bounds():
    with pytest.raises(CovkitInputError, match=r"grid bounds .* must be finite"):
        Grid.from_bounds(CRS, (0.0, 0.0, float("inf"), 1000.0), 100.0)


def test_dense_or_infinite_population_refused(tmp_path, grid):
    pop = np.full((H, W), 10.0, np.float64)
    pop[0, 1] = np.inf
    with pytest.raises(CovkitInputError, match=r"population inf at raster row 1, column 2 is "
                                               r"infinite"):
        loaders.load_population(write_raster(tmp_path / "p.tif", pop), grid)
    # 20,000 people in a 50 m polygon: counted over one 100 m cell, 2e6 per km2
    small = box(X0 + 100, Y0 - 150, X0 + 150, Y0 - 100)
    gdf = gpd.GeoDataFrame({"population": [5.0, 20_000.0]},
                           geometry=[box(X0, Y0 - 1000, X0 + 1000, Y0), small], crs=CRS)
    with pytest.raises(CovkitInputError, match=r"row 2: population 20000 on 0\.01 km2 exceeds "
                                               r"1e\+06 people per km2"):
        loaders.load_population(gdf, grid)
    gdf.loc[1, "population"] = 5000.0  # 5e5 per km2 over the cell: accepted
    out, _ = loaders.load_population(gdf, grid)
    assert out.sum() == pytest.approx(5005.0)


def test_collect_warnings_nests_and_still_warns():
    with loaders.collect_warnings() as outer:
        with pytest.warns(UserWarning, match="first"):
            loaders.warn("first")
        with loaders.collect_warnings() as inner:
            with pytest.warns(UserWarning, match="second"):
                loaders.warn("second")
    assert outer == ["first"] and inner == ["second"]
