"""The coverage run end to end on small scenarios: analytic disc, conservation, operators,
zone mode, bad input, atomic outputs, COG validity, CLI."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from helpers.scenario import (
    CRS,
    X0,
    Y0,
    lonlat,
    station_rows,
    write_csv,
    write_raster,
    write_small_scenario,
)
from shapely.geometry import box

import covkit
from covkit.coverage import radio as R
from covkit.errors import CovkitInputError

OUTPUT_NAMES = ("rsrp_best.tif", "rsrp_second.tif", "best_server.tif", "sinr.tif",
                "coverage_probability.tif", "covered.tif", "throughput_dl_mbps.tif",
                "best_server.csv", "kpi_townships.csv", "kpi_townships.gpkg",
                "kpi_townships.parquet", "kpi_summary.json")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    toml = write_small_scenario(folder / "scenario", model="fspl")
    out = folder / "out"
    return covkit.run(toml, out_dir=out), out


# ------------------------------------------------------------------------------------------
# analytic disc


def test_analytic_disc_fspl(tmp_path):
    """Flat terrain, one omni fspl station, uniform population, location probability 0.5: the
    covered share equals the disc area over the region within the grid discretisation.

    The disc radius R is the fspl formula inverted at the threshold:
    thr = EIRP - 10 log10(12 N_RB) - 20 log10(4 pi d3(R) f / c) + A(theta(R)), with d3 the
    3-D distance and A the (nearly 0 dB) vertical pattern of the omni antenna."""
    n = 50
    res = 100.0
    write_raster(tmp_path / "dem.tif", np.full((n, n), 10.0, np.float32))
    write_raster(tmp_path / "population.tif", np.full((n, n), 4.0, np.float32))
    gpd.GeoDataFrame({"township_id": ["T1"], "name": ["All"], "county": ["C"]},
                     geometry=[box(X0, Y0 - n * res, X0 + n * res, Y0)], crs=CRS).to_file(
        tmp_path / "townships.gpkg", layer="townships")
    sx, sy = X0 + 25.5 * res, Y0 - 25.5 * res  # centre of cell (25, 25)
    lon, lat = lonlat(sx, sy)
    h_tx, h_rx, f_mhz, eirp = 30.0, 1.5, 3500.0, 60.0
    write_csv(tmp_path / "stations.csv", [{
        "station_id": "S1", "operator": "Op", "lon": repr(lon), "lat": repr(lat),
        "height_m": h_tx, "freq_mhz": f_mhz, "eirp_dbm": eirp, "azimuth_deg": "",
        "tech": "5G", "bandwidth_mhz": 100, "scs_khz": 30}])
    radius = 1953.0  # midway between lattice distances 1941.6 m and 1964.7 m
    ae = 4.0 / 3.0 * 6371e3
    d3 = math.hypot(radius, h_tx - h_rx)
    fspl = 20 * math.log10(4 * math.pi * d3 * f_mhz * 1e6 / 299792458.0)
    elev = math.degrees(math.atan((h_rx - h_tx) / radius - radius / (2 * ae)))
    gain = -min(12 * (elev / R.VERTICAL_BEAMWIDTH_DEG) ** 2, 30.0)
    thr = R.eirp_per_re_dbm(eirp, 273) - fspl + gain
    (tmp_path / "scenario.toml").write_text(f"""
[scenario]
name = "disc"
crs = "{CRS}"
resolution_m = {res}
[inputs]
dem = "dem.tif"
stations = "stations.csv"
population = "population.tif"
townships = "townships.gpkg"
[propagation]
model = "fspl"
max_radius_km = 2.4
location_probability = 0.5
shadow_sigma_db = 8.0
[coverage]
rsrp_threshold_dbm = {thr!r}
""", encoding="utf-8")
    res_ = covkit.run(tmp_path / "scenario.toml")
    share = res_.summary["population_covered"] / res_.summary["population_total"]
    disc_share = math.pi * radius**2 / (n * res) ** 2
    # discretisation: at most the band of half a cell either side of the circle
    tol = 2 * math.pi * radius * (res / 2) / (n * res) ** 2
    assert abs(share - disc_share) < tol
    # and exactly the cells whose centre lies inside the disc
    i = np.arange(n) - 25
    lattice = (np.hypot(i[:, None], i[None, :]) * res <= radius).sum()
    assert res_.covered.sum() == lattice
    assert lattice == 1201 and abs(lattice / n**2 - disc_share) < 0.01
    assert res_.summary["population_coverage_pct"] == pytest.approx(100 * lattice / n**2)
    # coverage probability at the edge is ~0.5 with location probability 0.5
    assert np.nanmax(res_.coverage_probability[~res_.covered]) < 0.5


# ------------------------------------------------------------------------------------------
# conservation, operators, outputs


def test_population_conserved(small_run):
    res, _ = small_run
    s = res.summary
    assert s["population_covered"] + s["population_uncovered"] == s["population_total"]
    tw = res.townships
    np.testing.assert_array_equal(tw["covered_population"] + tw["uncovered_population"],
                                  tw["population"])
    assert tw["population"].sum() + s["population_outside_townships"] == pytest.approx(
        s["population_total"], rel=1e-12)
    assert s["population_total"] == pytest.approx(12000.0)
    assert (tw["covered_population"] <= tw["population"] + 1e-9).all()


def test_any_operator_at_least_each(small_run):
    res, _ = small_run
    tw = res.townships
    for op, e in res.summary["operators"].items():
        assert (tw["coverage_pct"] >= tw[f"coverage_pct_{op}"] - 1e-9).all()
        assert res.summary["population_coverage_pct"] >= e["population_coverage_pct"] - 1e-9
        assert not (res.covered_by_operator[op] & ~res.covered).any()
    assert set(res.summary["operators"]) == {"OpA", "OpB"}


def test_summary_keys_and_outputs(small_run):
    res, out = small_run
    for name in OUTPUT_NAMES:
        assert (out / name).is_file(), name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    s = json.loads((out / "kpi_summary.json").read_text())
    for key in ("population_total", "population_coverage_pct",
                "non_remote_population_coverage_pct", "remote_population_coverage_pct",
                "remote_townships", "remote_townships_with_coverage",
                "fibre_household_coverage_non_remote_pct", "operators", "parameters",
                "input_files", "method", "population_outside_townships", "trail_km_covered",
                "counties", "speed_tiers"):
        assert key in s, key
    assert s["parameters"]["propagation"]["model"] == "fspl"
    assert len(s["input_files"]["dem"]["sha256"]) == 64
    assert s["remote_population_coverage_pct"] is None  # no remote township: null, not NaN
    import pandas as pd

    csv = pd.read_csv(out / "kpi_townships.csv")
    for col in ("township_id", "name", "county", "remote", "population", "covered_population",
                "coverage_pct", "coverage_pct_OpA", "coverage_pct_OpB", "households",
                "households_fibre_400m", "fibre_coverage_pct"):
        assert col in csv.columns, col
    gpkg = gpd.read_file(out / "kpi_townships.gpkg")
    assert len(gpkg) == 2 and gpkg.crs.to_epsg() == 3826
    # trail along y = Y0 - 200 from x = X0 + 200 to X0 + 3200 (3 km)
    assert s["trail_km_total"] == pytest.approx(3.0)
    assert 0.0 <= s["trail_km_covered"] <= 3.0
    # fibre: one drop point at a cell corner, 10 people per cell, household size 2.6
    assert s["households_total"] == pytest.approx(12000.0 / 2.6)


def test_cog_validity(small_run):
    _, out = small_run
    for name, nodata in (("rsrp_best.tif", "nan"), ("sinr.tif", "nan"),
                         ("coverage_probability.tif", "nan"), ("covered.tif", 255),
                         ("best_server.tif", -1)):
        with rasterio.open(out / name) as ds:
            assert ds.driver == "GTiff"
            assert ds.crs.to_epsg() == 3826
            assert ds.shape == (30, 40)
            assert ds.nodata is not None
            if nodata == "nan":
                assert math.isnan(ds.nodata)
            else:
                assert ds.nodata == nodata
            assert ds.profile.get("tiled") is True
            assert ds.block_shapes[0][0] < 30
            assert len(ds.overviews(1)) >= 1
            assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert ds.transform.a == 100.0
    with rasterio.open(out / "covered.tif") as ds:
        vals = set(np.unique(ds.read(1)).tolist())
        assert vals <= {0, 1, 255}


# ------------------------------------------------------------------------------------------
# options


def test_zone_mode_and_sinr_threshold(tmp_path):
    toml = write_small_scenario(tmp_path, model="fspl", extra_toml="""
[coverage]
rsrp_threshold_dbm = -95.0
sinr_threshold_db = 3.0
zone_min_covered_share = 0.6
household_size = 2.0
""")
    res = covkit.run(toml)
    tw = res.townships
    share = tw["covered_population"] / tw["population"]
    np.testing.assert_array_equal(tw["zone_covered"], share >= 0.6)
    zm = res.summary["zone_mode"]
    assert zm["zones_covered"] == int((share >= 0.6).sum())
    assert zm["population_in_covered_zones"] == pytest.approx(
        tw.loc[tw["zone_covered"], "population"].sum())
    # the SINR condition can only remove coverage
    res2 = covkit.run(write_small_scenario(tmp_path / "b", model="fspl", extra_toml="""
[coverage]
rsrp_threshold_dbm = -95.0
"""))
    assert not (res.covered & ~res2.covered).any()
    with np.errstate(invalid="ignore"):
        assert (res.sinr_db[res.covered] >= 3.0).all()
    assert res.summary["households_total"] == pytest.approx(12000.0 / 2.0)


def test_location_probability_shrinks_coverage(tmp_path):
    a = covkit.run(write_small_scenario(tmp_path / "a", extra_toml="""
location_probability = 0.5
[coverage]
rsrp_threshold_dbm = -95.0
throughput = "none"
"""))
    b = covkit.run(write_small_scenario(tmp_path / "b", extra_toml="""
location_probability = 0.9
shadow_sigma_db = 6.0
[coverage]
rsrp_threshold_dbm = -95.0
throughput = "none"
"""))
    assert b.covered.sum() < a.covered.sum()
    assert not (b.covered & ~a.covered).any()
    req = -95.0 + 6.0 * 1.2815516
    assert (b.rsrp_best_dbm[b.covered] >= req - 1e-4).all()
    assert b.summary["speed_tiers"] is None and b.throughput_dl_mbps is None
    # a rerun into the same folder without throughput removes the stale throughput raster
    out = tmp_path / "out"
    covkit.run(write_small_scenario(tmp_path / "c"), out_dir=out)
    assert (out / "throughput_dl_mbps.tif").is_file()
    covkit.run(tmp_path / "b" / "scenario.toml", out_dir=out)
    assert not (out / "throughput_dl_mbps.tif").exists()
    assert (out / "covered.tif").is_file()


# ------------------------------------------------------------------------------------------
# bad input


def test_overlapping_townships_refused(tmp_path):
    toml = write_small_scenario(tmp_path)
    gpd.GeoDataFrame({"township_id": ["T01", "T02"], "name": ["W", "E"], "county": ["C", "C"]},
                     geometry=[box(X0, Y0 - 3000, X0 + 2500, Y0),
                               box(X0 + 2000, Y0 - 3000, X0 + 4000, Y0)], crs=CRS).to_file(
        tmp_path / "townships.gpkg", layer="townships")
    out = tmp_path / "out"
    with pytest.raises(CovkitInputError, match="'T01' and 'T02' overlap"):
        covkit.run(toml, out_dir=out)
    assert not out.exists() or not any(out.iterdir())


def test_township_gap_reported(tmp_path):
    toml = write_small_scenario(tmp_path)
    gpd.GeoDataFrame({"township_id": ["T01"], "name": ["W"], "county": ["C"]},
                     geometry=[box(X0, Y0 - 3000, X0 + 2000, Y0)], crs=CRS).to_file(
        tmp_path / "townships.gpkg", layer="townships")
    with pytest.warns(UserWarning, match="outside every township"):
        res = covkit.run(toml)
    s = res.summary
    assert s["population_outside_townships"] == pytest.approx(6000.0)
    assert s["population_in_townships"] + s["population_outside_townships"] == pytest.approx(
        s["population_total"])
    assert s["warnings"]


def test_unsupported_bandwidth_names_station_row(tmp_path):
    toml = write_small_scenario(tmp_path)
    rows = station_rows()
    rows[1]["bandwidth_mhz"] = 100.0
    rows[1]["scs_khz"] = 15.0
    write_csv(tmp_path / "stations.csv", rows)
    with pytest.raises(CovkitInputError, match=r"row 2.*'S2'.*not in TS 38.101-1"):
        covkit.run(toml)


def test_clutter_frequency_validity(tmp_path):
    toml = write_small_scenario(tmp_path, extra_toml='clutter = "p2108"')
    rows = station_rows()
    rows[0]["freq_mhz"] = 450.0
    write_csv(tmp_path / "stations.csv", rows)
    with pytest.raises(CovkitInputError, match=r"row 1.*450 MHz is outside 500-67000 MHz.*p2108"):
        covkit.run(toml)


def test_clutter_and_building_entry_lower_rsrp(tmp_path):
    base = covkit.run(write_small_scenario(tmp_path / "a"))
    ind = covkit.run(write_small_scenario(tmp_path / "b", extra_toml="""
clutter = "p2108"
building_entry = "traditional"
"""))
    ok = np.isfinite(base.rsrp_best_dbm)
    assert (ind.rsrp_best_dbm[ok] < base.rsrp_best_dbm[ok] - 5.0).all()


# ------------------------------------------------------------------------------------------
# atomic writes


def test_failed_run_leaves_no_file(tmp_path, monkeypatch):
    import covkit.outputs as O

    toml = write_small_scenario(tmp_path / "sc")
    out = tmp_path / "out"

    def boom(*a, **k):
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(O, "_write_gpkg_to", boom)  # after the rasters and CSVs are staged
    with pytest.raises(RuntimeError, match="simulated"):
        covkit.run(toml, out_dir=out)
    assert out.is_dir()
    assert list(out.iterdir()) == []


def test_atomic_single_writer(tmp_path):
    from covkit.outputs import atomic_path, write_json

    target = tmp_path / "x.json"
    write_json(target, {"a": float("nan"), "b": np.float32(1.5), "c": [np.int64(2)]})
    assert json.loads(target.read_text()) == {"a": None, "b": 1.5, "c": [2]}
    with pytest.raises(ValueError, match="stop"), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise ValueError("stop")
    assert json.loads(target.read_text())["b"] == 1.5  # old file intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


# ------------------------------------------------------------------------------------------
# CLI


@pytest.mark.slow
def test_cli_run(tmp_path, capsys):
    from covkit.cli import main

    toml = write_small_scenario(tmp_path / "sc")
    out = tmp_path / "out"
    main(["--quiet", "run", str(toml), "--out", str(out)])
    assert (out / "kpi_summary.json").is_file()
    main(["run", str(toml), "--out", str(out), "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert printed["population_total"] == pytest.approx(12000.0)


def test_cli_run_bad_input_exit_2(tmp_path, capsys):
    from covkit.cli import main

    toml = write_small_scenario(tmp_path / "sc")
    rows = station_rows()
    rows[3]["bandwidth_mhz"] = 7.0
    write_csv(tmp_path / "sc" / "stations.csv", rows)
    with pytest.raises(SystemExit) as exc:
        main(["run", str(toml), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "row 4" in err and "TS 36.101" in err
    assert not (tmp_path / "out" / "kpi_summary.json").exists()


def test_run_accepts_scenario_object(tmp_path):
    from covkit.config import load_scenario

    sc = load_scenario(write_small_scenario(tmp_path))
    res = covkit.run(sc)
    assert res.files == []
    assert res.best_server.dtype == np.int32
    assert (res.best_server[np.isfinite(res.rsrp_best_dbm)] >= 0).all()
    finite = np.isfinite(res.rsrp_second_dbm)
    assert (res.rsrp_second_dbm[finite] <= res.rsrp_best_dbm[finite]).all()


# ------------------------------------------------------------------------------------------
# the demo island, once, with the fast fspl model and a 5 km radius


@pytest.mark.slow
def test_demo_end_to_end_fspl(tmp_path):
    import dataclasses

    from covkit.config import load_scenario
    from covkit.data.demo import write_demo

    sc = load_scenario(write_demo(tmp_path / "scenario"))
    sc = dataclasses.replace(sc, propagation=dataclasses.replace(
        sc.propagation, model="fspl", max_radius_km=5.0))
    res = covkit.run(sc, out_dir=tmp_path / "out")
    s = res.summary
    assert s["stations"]["sectors"] == 744 and s["stations"]["sites"] == 235
    assert s["population_covered"] + s["population_uncovered"] == s["population_total"]
    assert s["remote_townships"] == 8
    assert 0 < s["remote_population_coverage_pct"] < s["non_remote_population_coverage_pct"]
    assert 50.0 < s["population_coverage_pct"] <= 100.0
    for e in s["operators"].values():
        assert e["population_coverage_pct"] <= s["population_coverage_pct"] + 1e-9
    assert 0.0 < s["fibre_household_coverage_non_remote_pct"] < 100.0
    assert 0.0 <= s["trail_km_covered"] <= s["trail_km_total"]
    saved = json.loads((tmp_path / "out" / "kpi_summary.json").read_text())
    assert saved["outputs"][-1] == "kpi_summary.json" and len(saved["outputs"]) == 12


def test_distance_model_outside_height_validity_warns(tmp_path):
    toml = write_small_scenario(tmp_path, model="hata")
    # the sites are 30 m and 25 m high; Hata needs 30-200 m (and 150-1500 MHz)
    rows = station_rows()
    for r in rows:
        r["freq_mhz"] = 900.0
        r["tech"] = "4G"
        r["bandwidth_mhz"] = 20.0
        r["scs_khz"] = 15.0
    write_csv(tmp_path / "stations.csv", rows)
    with pytest.warns(UserWarning, match=r"1 station\(s\), first 'T1' at 25 m: outside the hata "
                                         r"validity 30-200 m for tx_height_agl_m"):
        covkit.run(toml)


def test_counties_split_remote_and_non_remote(tmp_path):
    import geopandas as gpd

    toml = write_small_scenario(tmp_path / "s", model="fspl")
    path = tmp_path / "s" / "townships.gpkg"
    tw = gpd.read_file(path)
    tw["remote"] = [False, True]
    tw.to_file(path, layer="townships")
    res = covkit.run(toml)
    t = res.townships.set_index("township_id")
    c1 = res.summary["counties"]["C1"]
    assert c1["non_remote_population"] == t.loc["T01", "population"]
    assert c1["remote_population"] == t.loc["T02", "population"]
    assert c1["non_remote_covered_population"] == t.loc["T01", "covered_population"]
    assert c1["remote_coverage_pct"] == pytest.approx(t.loc["T02", "coverage_pct"])
    assert c1["non_remote_population"] + c1["remote_population"] == c1["population"]
    assert c1["non_remote_coverage_pct"] == pytest.approx(
        res.summary["non_remote_population_coverage_pct"])
