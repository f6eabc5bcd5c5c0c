"""Tests of the synthetic demo island generator (the covkit.data.demo package).

The island is generated once in memory (``demo``) and once more by ``write_demo`` (``written``),
so comparing the two also checks determinism. Figures in the assertions are the ranges the
generator promises in its module docstring.
"""

from __future__ import annotations

import dataclasses
import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from pyproj import Transformer
from rasterio import features

from covkit.data.demo import (
    DEMO_CRS,
    DEMO_SHAPE,
    DEMO_TRANSFORM,
    STATION_COLUMNS,
    SYNTHETIC_NOTE,
    DemoScenario,
    generate_demo,
    write_demo,
)
from covkit.data.demo import writer as demo_writer
from covkit.data.demo.terrain import land_mask

EXPECTED_FILES = {
    "dem.tif",
    "population.tif",
    "townships.gpkg",
    "trails.gpkg",
    "stations.csv",
    "fibre.csv",
    "scenario.toml",
}


@pytest.fixture(scope="module")
def demo() -> DemoScenario:
    return generate_demo()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    toml_path = write_demo(out)
    return out, toml_path


@pytest.fixture(scope="module")
def zone_stats(demo):
    """Per township: population [persons], land area [km^2], mean elevation [m]."""
    tw = demo.townships
    zone = features.rasterize(
        ((g, i + 1) for i, g in enumerate(tw.geometry)),
        out_shape=DEMO_SHAPE,
        transform=DEMO_TRANSFORM,
        fill=0,
        dtype="int32",
    )
    n = len(tw) + 1
    pop = np.bincount(zone.ravel(), weights=demo.population.ravel(), minlength=n)[1:]
    cells = np.bincount(zone.ravel(), minlength=n)[1:]
    elev = np.bincount(zone.ravel(), weights=demo.dem_m.ravel(), minlength=n)[1:]
    return pd.DataFrame(
        {
            "township_id": tw["township_id"],
            "pop_persons": pop,
            "area_km2": tw.geometry.area.to_numpy() / 1e6,
            "elevation_mean_m": elev / np.maximum(cells, 1),
        }
    )


def _xy_m(lon, lat):
    to_utm = Transformer.from_crs("EPSG:4326", DEMO_CRS, always_xy=True)
    return to_utm.transform(np.asarray(lon, float), np.asarray(lat, float))


def _cells(x_m, y_m):
    col = np.floor((np.asarray(x_m) - DEMO_TRANSFORM.c) / DEMO_TRANSFORM.a).astype(int)
    row = np.floor((np.asarray(y_m) - DEMO_TRANSFORM.f) / DEMO_TRANSFORM.e).astype(int)
    return row, col


# ------------------------------------------------------------------------------- determinism


def test_same_seed_same_island(demo, written):
    out, _ = written
    with rasterio.open(out / "dem.tif") as src:
        dem = src.read(1)
    with rasterio.open(out / "population.tif") as src:
        pop = src.read(1)
    # write_demo generated the island a second time: arrays byte-identical
    assert dem.dtype == np.float32 and pop.dtype == np.float32
    assert dem.tobytes() == demo.dem_m.tobytes()
    assert pop.tobytes() == demo.population.tobytes()
    # CSV text identical (after the UTF-8 byte-order mark every CSV covkit writes starts with,
    # so that Excel reads it as UTF-8)
    text = demo.stations.to_csv(index=False, lineterminator="\n")
    assert (out / "stations.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (out / "stations.csv").read_text(encoding="utf-8-sig") == text
    text = demo.fibre.to_csv(index=False, lineterminator="\n")
    assert (out / "fibre.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (out / "fibre.csv").read_text(encoding="utf-8-sig") == text


def test_other_seed_other_island(demo):
    rng_a = np.random.default_rng(demo.seed)
    rng_b = np.random.default_rng(demo.seed + 1)
    land_a = land_mask(rng_a)
    land_b = land_mask(rng_b)
    assert np.array_equal(land_a, demo.land_mask)
    assert not np.array_equal(land_a, land_b)


def test_arrays_read_only(demo):
    with pytest.raises(ValueError, match="read-only"):
        demo.dem_m[0, 0] = 1.0


# ----------------------------------------------------------------------------------- terrain


def test_grid_and_placement(demo):
    assert demo.dem_m.shape == DEMO_SHAPE == demo.population.shape
    assert demo.crs == "EPSG:32710"
    assert DEMO_TRANSFORM.a == 100.0 and DEMO_TRANSFORM.e == -100.0
    assert DEMO_TRANSFORM.c % 100.0 == 0.0 and DEMO_TRANSFORM.f % 100.0 == 0.0
    # centred in the open South Pacific near (125 W, 35 S)
    to_ll = Transformer.from_crs(DEMO_CRS, "EPSG:4326", always_xy=True)
    rows, cols = np.nonzero(demo.land_mask)
    x = DEMO_TRANSFORM.c + (cols.mean() + 0.5) * 100.0
    y = DEMO_TRANSFORM.f - (rows.mean() + 0.5) * 100.0
    lon, lat = to_ll.transform(x, y)
    assert abs(lon - -125.0) < 0.3 and abs(lat - -35.0) < 0.3


def test_island_size_and_sea_margin(demo):
    land = demo.land_mask
    rows, cols = np.nonzero(land)
    width_km = (cols.max() - cols.min() + 1) * 0.1
    height_km = (rows.max() - rows.min() + 1) * 0.1
    assert 80.0 <= width_km <= 100.0
    assert 45.0 <= height_km <= 60.0
    assert not land[0].any() and not land[-1].any()
    assert not land[:, 0].any() and not land[:, -1].any()
    assert np.array_equal(land, demo.dem_m > 0.0)


def test_elevation(demo):
    dem = demo.dem_m
    land = demo.land_mask
    assert np.isfinite(dem).all()
    assert 3300.0 <= dem.max() <= 3700.0
    assert (dem[~land] == 0.0).all()
    assert dem[land].min() >= 1.0
    # flat coastal plains: most of the land within 2 km of the sea is below 100 m
    from scipy import ndimage

    near = land & (ndimage.distance_transform_edt(land) <= 20)
    assert np.mean(dem[near] < 100.0) > 0.8
    # rugged mountains: steep slopes at 100 m above 1000 m AMSL
    gy, gx = np.gradient(dem.astype(np.float64), 100.0)
    slope_deg = np.degrees(np.arctan(np.hypot(gx, gy)))
    high = dem > 1000.0
    assert high.sum() > 20_000  # > 200 km^2 of mountains
    assert np.median(slope_deg[high]) > 20.0


# -------------------------------------------------------------------------------- population


def test_population(demo):
    pop = demo.population
    assert pop.dtype == np.float32
    assert 1.9e6 <= demo.pop_total_persons <= 2.1e6
    assert (pop >= 0).all() and (pop[~demo.land_mask] == 0).all()
    assert np.array_equal(pop, np.round(pop))  # whole persons
    # concentrated in the lowlands, sparse in the mountains
    assert pop[demo.dem_m > 1000.0].sum() < 0.01 * demo.pop_total_persons
    assert pop[demo.dem_m < 200.0].sum() > 0.8 * demo.pop_total_persons


def test_population_preserved_in_raster(demo, written):
    out, _ = written
    with rasterio.open(out / "population.tif") as src:
        arr = src.read(1)
        assert src.crs.to_string() == DEMO_CRS
        assert src.transform == DEMO_TRANSFORM
    assert arr.sum(dtype=np.float64) == demo.pop_total_persons


# --------------------------------------------------------------------------------- townships


def test_township_table(demo):
    tw = demo.townships
    assert 28 <= len(tw) <= 34
    assert "remote" not in tw.columns
    assert {"township_id", "name", "county", "source"} <= set(tw.columns)
    assert tw["township_id"].is_unique and tw["name"].is_unique
    assert tw["township_id"].str.fullmatch(r"D\d{4}").all()
    assert all(n.isascii() for n in tw["name"])
    assert 4 <= tw["county"].nunique() <= 6
    assert (tw.geom_type == "Polygon").all() and tw.is_valid.all()
    assert tw.crs.to_string() == DEMO_CRS


def test_townships_tile_the_land(demo):
    tw = demo.townships
    land_m2 = float(demo.land_mask.sum()) * 100.0 * 100.0
    union = tw.geometry.union_all()
    # no overlaps: the parts add up to the union (to floating-point noise)
    assert abs(tw.geometry.area.sum() - union.area) < 1.0  # m^2
    # no gaps: the union is exactly the land cells
    assert abs(union.area - land_m2) < 1.0
    zone = features.rasterize(
        ((g, i + 1) for i, g in enumerate(tw.geometry)),
        out_shape=DEMO_SHAPE,
        transform=DEMO_TRANSFORM,
        fill=0,
    )
    assert (zone[demo.land_mask] > 0).all()
    assert (zone[~demo.land_mask] == 0).all()


def test_remote_mountain_townships(demo, zone_stats):
    z = zone_stats
    national = z["pop_persons"].sum() / z["area_km2"].sum()  # persons/km^2
    remote = z[z["pop_persons"] / z["area_km2"] < national / 5.0]
    assert len(remote) >= 5
    # they are large mountain townships with few people
    assert (remote["elevation_mean_m"] > 700.0).sum() >= 5
    assert (remote["area_km2"] > 50.0).all()
    assert remote["pop_persons"].max() < 20_000
    assert remote["pop_persons"].sum() < 0.02 * demo.pop_total_persons


# ---------------------------------------------------------------------------------- stations


def test_station_table(demo):
    st = demo.stations
    assert list(st.columns) == STATION_COLUMNS
    assert st["station_id"].is_unique
    assert 400 <= len(st) <= 900
    assert set(st["operator"]) == {"OpA", "OpB", "OpC"}
    assert set(st["tech"]) == {"5G", "4G"}
    nr = st[st["tech"] == "5G"]
    assert (nr["bandwidth_mhz"] == 100.0).all() and (nr["scs_khz"] == 30.0).all()
    assert nr["freq_mhz"].between(3400.0, 3800.0).all()
    assert len(nr) > 0.8 * len(st)
    lte = st[st["tech"] == "4G"]
    assert (lte["bandwidth_mhz"] == 20.0).all() and (lte["scs_khz"] == 15.0).all()
    # one carrier per operator and technology
    assert (st.groupby(["operator", "tech"])["freq_mhz"].nunique() == 1).all()
    assert st["height_m"].between(15.0, 45.0).all()
    assert st["tilt_deg"].between(2.0, 8.0).all()
    assert st["eirp_dbm"].between(50.0, 66.0).all()
    omni = st["azimuth_deg"].isna()
    assert 0 < omni.sum() < 0.1 * len(st)
    assert st.loc[~omni, "azimuth_deg"].between(0.0, 360.0, inclusive="left").all()
    # sectors of one mast share position and height; most masts have 3 sectors per layer
    per_site = st.groupby("site_id")[["lon", "lat", "height_m", "operator"]].nunique()
    assert (per_site == 1).all().all()
    layers = st.groupby(["site_id", "tech"]).size()
    assert (layers == 3).mean() > 0.9


def test_stations_inside_dem_on_land(demo):
    st = demo.stations
    x, y = _xy_m(st["lon"], st["lat"])
    row, col = _cells(x, y)
    assert ((row >= 0) & (row < DEMO_SHAPE[0]) & (col >= 0) & (col < DEMO_SHAPE[1])).all()
    assert demo.land_mask[row, col].all()


def test_sites_dense_in_cities_sparse_in_mountains(demo, zone_stats):
    st = demo.stations.drop_duplicates("site_id")
    x, y = _xy_m(st["lon"], st["lat"])
    row, col = _cells(x, y)
    elev = demo.dem_m[row, col]
    assert (elev > 1000.0).sum() < 0.05 * len(st)
    # urban inter-site distance of the densest operator: nearest neighbour mostly 0.5-2 km
    a = (st["operator"] == "OpA").to_numpy()
    dens = demo.population[row, col] * 100.0  # persons/km^2 at the site cell
    urban = a & (dens > 5_000.0)
    xa, ya = np.asarray(x)[a], np.asarray(y)[a]
    d = np.hypot(xa[:, None] - xa[None, :], ya[:, None] - ya[None, :])
    np.fill_diagonal(d, np.inf)
    nn_m = d.min(axis=1)[urban[a]]
    assert len(nn_m) >= 10
    assert 500.0 <= np.median(nn_m) <= 2_000.0


# ------------------------------------------------------------------------------ fibre, trails


def test_fibre_in_towns(demo):
    fb = demo.fibre
    assert list(fb.columns) == ["fibre_id", "lon", "lat"]
    assert fb["fibre_id"].is_unique and 1_000 <= len(fb) <= 10_000
    x, y = _xy_m(fb["lon"], fb["lat"])
    row, col = _cells(x, y)
    assert demo.land_mask[row, col].all()
    assert (demo.population[row, col] > 0).all()
    assert (demo.dem_m[row, col] < 1000.0).mean() > 0.99


def test_trails(demo):
    tr = demo.trails
    assert 3 <= len(tr) <= 6
    assert tr["trail_id"].is_unique
    assert (tr.geom_type == "LineString").all()
    assert tr.geometry.length.between(5_000.0, 30_000.0).all()
    for line in tr.geometry:
        coords = np.asarray(line.coords)
        row, col = _cells(coords[:, 0], coords[:, 1])
        assert demo.dem_m[row, col].max() > 1500.0  # through the mountains
        assert demo.land_mask[row, col].all()


# ------------------------------------------------------------------------------------ files


def test_files_written_and_read_back(demo, written):
    out, toml_path = written
    assert toml_path == out / "scenario.toml"
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES  # no temp files left
    with rasterio.open(out / "dem.tif") as src:
        assert src.crs.to_string() == DEMO_CRS
        assert src.transform == DEMO_TRANSFORM
        assert src.shape == DEMO_SHAPE
        assert src.profile["tiled"] and src.profile["compress"] == "deflate"
        assert src.tags()["SYNTHETIC"] == SYNTHETIC_NOTE
    with rasterio.open(out / "population.tif") as src:
        assert src.tags()["SYNTHETIC"] == SYNTHETIC_NOTE
    tw = gpd.read_file(out / "townships.gpkg", layer="townships")
    assert tw.crs.to_string() == DEMO_CRS
    assert list(tw["township_id"]) == list(demo.townships["township_id"])
    assert tw["source"].str.contains("synthetic").all()
    tr = gpd.read_file(out / "trails.gpkg", layer="trails")
    assert len(tr) == len(demo.trails) and tr.crs.to_string() == DEMO_CRS
    for name, layer in (("townships.gpkg", "townships"), ("trails.gpkg", "trails")):
        meta = pyogrio.read_info(out / name, layer=layer)["layer_metadata"]
        assert meta["SYNTHETIC"] == SYNTHETIC_NOTE
    st = pd.read_csv(out / "stations.csv", dtype={"station_id": str, "site_id": str})
    pd.testing.assert_frame_equal(st, demo.stations, check_dtype=False)
    fb = pd.read_csv(out / "fibre.csv")
    pd.testing.assert_frame_equal(fb, demo.fibre, check_dtype=False)


def test_scenario_toml(written):
    out, toml_path = written
    text = toml_path.read_text(encoding="utf-8")
    assert text.startswith(
        "# covkit demo scenario: SYNTHETIC island in the open South Pacific (not real land).\n"
    )
    assert "synthetic" in text.splitlines()[1]
    cfg = tomllib.loads(text)
    assert cfg == {
        "scenario": {
            "name": "covkit-demo-synthetic-island",
            "crs": "EPSG:32710",
            "resolution_m": 100.0,
        },
        "inputs": {
            "dem": "dem.tif",
            "stations": "stations.csv",
            "population": "population.tif",
            "townships": "townships.gpkg",
            "fibre": "fibre.csv",
            "trails": "trails.gpkg",
        },
        "propagation": {
            "model": "p1812",
            "max_radius_km": 10.0,
            "receiver_height_m": 1.5,
            "location_probability": 0.5,
            "shadow_sigma_db": 5.5,
            "k_factor": 4.0 / 3.0,
            "time_pct": 50.0,
        },
        "coverage": {
            "rsrp_threshold_dbm": -115.0,
            "cell_load": 0.5,
            "sinr_threshold_db": -5.0,
            "noise_figure_db": 7.0,
        },
        "sites": {
            "budget_sites": 20,
            "candidate_spacing_m": 2000.0,
            "mast_height_m": 30.0,
            "site_cost": 1.0,
            "weight_population": 1.0,
            "weight_trail_km": 0.0,
            "weight_new_township": 0.0,
        },
    }
    for rel in cfg["inputs"].values():
        assert (toml_path.parent / rel).is_file()


def test_write_demo_overwrites(tmp_path, monkeypatch, demo):
    # a second write into the same directory replaces the files; reuse the generated island
    monkeypatch.setattr(demo_writer, "generate_demo", lambda seed=2025: demo)
    (tmp_path / "stations.csv").write_text("stale\n", encoding="utf-8")
    write_demo(tmp_path)
    write_demo(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == EXPECTED_FILES
    assert (tmp_path / "stations.csv").read_text(encoding="utf-8-sig").startswith("station_id,")


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch, demo):
    # pyogrio creates the GeoPackage before it rejects the complex column: that half-written
    # file must not replace the trails.gpkg of an earlier write, and no temporary file stays
    monkeypatch.setattr(demo_writer, "generate_demo", lambda seed=2025: demo)
    write_demo(tmp_path)
    bad_trails = demo.trails.assign(bad=np.ones(len(demo.trails), dtype=np.complex128))
    broken = dataclasses.replace(demo, trails=bad_trails)
    monkeypatch.setattr(demo_writer, "generate_demo", lambda seed=2025: broken)
    with pytest.raises(NotImplementedError, match="complex128"):
        write_demo(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == EXPECTED_FILES
    tr = gpd.read_file(tmp_path / "trails.gpkg", layer="trails")
    assert list(tr.columns) == list(demo.trails.columns)
    assert list(tr["trail_id"]) == list(demo.trails["trail_id"])


def test_loaders_read_the_demo(demo, written):
    """The written files go through covkit's own loaders like real data."""
    api = pytest.importorskip("covkit.api")
    _, toml_path = written
    inputs = api.load_inputs(toml_path)
    assert inputs.grid.crs == DEMO_CRS
    np.testing.assert_array_equal(inputs.dem_m, demo.dem_m)
    assert float(inputs.population.sum(dtype=np.float64)) == demo.pop_total_persons
    assert len(inputs.stations.table) == len(demo.stations)
    tw = inputs.townships.table
    assert len(tw) == len(demo.townships)
    assert tw["remote"].sum() >= 5
    assert (tw["remote_source"] == "density rule").all()


@pytest.mark.parametrize("seed", [7])
def test_other_seed_keeps_promises(seed):
    other = generate_demo(seed)
    assert 3300.0 <= other.dem_m.max() <= 3700.0
    assert 1.9e6 <= other.pop_total_persons <= 2.1e6
    assert 28 <= len(other.townships) <= 34
    union = other.townships.geometry.union_all()
    assert abs(union.area - float(other.land_mask.sum()) * 1e4) < 1.0
    assert abs(other.townships.geometry.area.sum() - union.area) < 1.0
    assert 400 <= len(other.stations) <= 900
    assert other.trails.geometry.length.between(5_000.0, 30_000.0).all()
    x, y = _xy_m(other.stations["lon"], other.stations["lat"])
    row, col = _cells(x, y)
    assert other.land_mask[row, col].all()
