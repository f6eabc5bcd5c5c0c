"""Measured data: the measurements reader, ``covkit verify`` and the synthetic measurements
that test it (issue 15 items 1, 2 and 5).

The demo island at a coarse 1 km grid keeps the runs short. The synthetic measurements start
from the same exact point prediction verification uses, so their planted errors are known
exactly: verification must report them.
"""

from __future__ import annotations

import json
import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers.cli import exit_code as _main
from helpers.scenario import demo_with_operator_grids

import covkit
from covkit import api
from covkit.coverage.fieldsim import ar1_shadowing, cholesky_shadowing, offsets_from_text
from covkit.coverage.points import point_rsrp
from covkit.coverage.run import run_coverage
from covkit.coverage.verify import VERIFY_FILES, distance_bin, error_stats, wilson_interval
from covkit.data.measurements import read_measurements
from covkit.errors import CovkitInputError

RES_M = 1000.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo scenario at 1 km, its inputs and a coverage run with per-operator grids."""
    return demo_with_operator_grids(tmp_path_factory.mktemp("verify_demo"), RES_M)


def _verify(result, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return api.verify(result, path)


def _generate(inputs, path, **kw):
    made = api.synthetic_measurements(inputs, out=path, **kw)
    return made


# ----------------------------------------------------------------------------------------------
# reader


def _points_csv(path, inputs, rows):
    """A measurements CSV of ``rows`` (dicts), default values from the demo's land."""
    lon, lat = api.loaders.xy_to_lonlat(*inputs.stations.table[["x_m", "y_m"]].to_numpy()[:1].T,
                                        inputs.grid.crs)
    base = {"lon": float(lon[0]) + 0.01, "lat": float(lat[0]), "timestamp":
            "2026-03-02T08:00:00Z", "operator": "OpA", "rsrp_dbm": -90.0}
    pd.DataFrame([{**base, **r} for r in rows]).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("rows, column, row, match", [
    ([{}, {"rsrp_dbm": "strong"}], "rsrp_dbm", 2, "'strong' is not a number"),
    ([{}, {}, {"lat": 95.0}], "lat", 3, "latitude 95 is out of range"),
    ([{"lon": -190.0}], "lon", 1, "longitude -190 is out of range"),
    ([{"operator": "OpZ"}], "operator", 1, "unknown operator 'OpZ'.*OpA, OpB, OpC"),
    ([{}, {"timestamp": "yesterday"}], "timestamp", 2, "'yesterday' is not an ISO 8601"),
    ([{}, {"timestamp": ""}], "timestamp", 2, "timestamp is missing"),
    ([{}, {"rsrp_dbm": 30.0}], "rsrp_dbm", 2, "RSRP .* 30 is out of range"),
    ([{"pci": 12.5}], "pci", 1, "PCI 12.5 is not a whole number"),
    ([{"point_id": "a"}, {"point_id": "a"}], "point_id", 2, "duplicate id 'a'"),
])
def test_reader_errors_name_file_column_and_row(demo, tmp_path, rows, column, row, match):
    _, inputs, _ = demo
    path = _points_csv(tmp_path / "m.csv", inputs, rows)
    with pytest.raises(CovkitInputError, match=match) as info:
        read_measurements(path, inputs.grid, inputs.stations.operators)
    assert (info.value.file, info.value.column, info.value.row) == (str(path), column, row)
    assert f"file {path}" in str(info.value) and f"row {row}" in str(info.value)


@pytest.mark.parametrize("drop, column", [("timestamp", "timestamp"), ("operator", "operator"),
                                          ("lat", "lat"), ("rsrp_dbm", "rsrp_dbm")])
def test_reader_missing_column_is_named(demo, tmp_path, drop, column):
    _, inputs, _ = demo
    path = _points_csv(tmp_path / "m.csv", inputs, [{}])
    pd.read_csv(path).drop(columns=[drop]).to_csv(path, index=False)
    with pytest.raises(CovkitInputError, match="missing required column|none of the measured"
                       ) as info:
        read_measurements(path, inputs.grid, inputs.stations.operators)
    assert info.value.column == column and info.value.file == str(path)


def test_reader_drops_points_off_the_grid_with_a_count(demo, tmp_path):
    _, inputs, _ = demo
    path = _points_csv(tmp_path / "m.csv", inputs,
                       [{}, {"lon": 10.0, "lat": 10.0}, {}, {"lon": -150.0}, {"sinr_db": 3.0}])
    with pytest.warns(UserWarning, match=r"2 of 5 measurement points lie off the analysis "
                                         r"grid.*first: row 2"):
        got = read_measurements(path, inputs.grid, inputs.stations.operators,
                                dem_m=inputs.dem_m)
    assert got["file_row"].tolist() == [1, 3, 5]
    assert got.attrs["n_read"] == 5 and got.attrs["n_dropped"] == 2
    dtype = got["timestamp"].dtype
    assert isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC"
    assert np.isnan(got["sinr_db"].iloc[0]) and got["sinr_db"].iloc[2] == 3.0
    assert got.crs == inputs.grid.crs
    assert np.allclose(got.geometry.x, got["x_m"]) and (got["row"] >= 0).all()
    with pytest.warns(UserWarning, match="2 of 5 measurement points"):
        v = api.verify(demo[2], path)
    assert v.summary["n_dropped_off_grid"] == 2 and v.summary["n_read"] == 5
    assert v.summary["warnings"][0].startswith("2 of 5 measurement points lie off")


def test_reader_takes_geoparquet_and_gpkg_points(demo, tmp_path):
    _, inputs, _ = demo
    path = _points_csv(tmp_path / "m.csv", inputs,
                       [{"pci": 7, "cell_id": "C1"}, {"lat": -34.9, "pci": "", "cell_id": ""}])
    want = read_measurements(path, inputs.grid, inputs.stations.operators)
    df = pd.read_csv(path)
    gdf = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]),
                           geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")
    gdf.to_parquet(tmp_path / "m.parquet")
    gdf.to_crs(inputs.grid.crs).to_file(tmp_path / "m.gpkg", layer="m")
    for name in ("m.parquet", "m.gpkg"):
        got = read_measurements(tmp_path / name, inputs.grid, inputs.stations.operators)
        assert np.allclose(got["x_m"], want["x_m"], atol=1e-6), name
        assert np.allclose(got["lat"], want["lat"], atol=1e-9), name
        assert got["pci"].tolist()[0] == 7 and got["operator"].tolist() == ["OpA", "OpA"]


# ----------------------------------------------------------------------------------------------
# the exact point prediction


def test_point_prediction_is_the_raster_at_cell_centres_for_a_distance_model(demo):
    """fspl: the engine's raster and the point path run the same kernels at the same place
    (the cell centre), so they agree to float32 rounding; and no point is predicted where the
    raster has nothing."""
    _, inputs, _ = demo
    sc = inputs.scenario.replace(propagation={"model": "fspl"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fspl = covkit.load_inputs(sc)
        res = run_coverage(fspl, operator_grids=True)
    rng = np.random.default_rng(5)
    r = rng.integers(0, res.grid.height, 400)
    c = rng.integers(0, res.grid.width, 400)
    ops = rng.choice(fspl.stations.operators, 400)
    xs, ys = res.grid.cell_centres()
    got = point_rsrp(fspl, xs[c], ys[r], ops)["rsrp_point_dbm"].to_numpy()
    grids = res.rsrp_best_by_operator_dbm
    want = np.array([grids[o][i, j] for o, i, j in zip(ops, r, c, strict=True)])
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.isfinite(got).sum() > 200
    assert np.nanmax(np.abs(got - want)) < 1e-3


def test_point_prediction_follows_the_p1812_raster(demo):
    _, inputs, result = demo
    rng = np.random.default_rng(6)
    r = rng.integers(0, result.grid.height, 300)
    c = rng.integers(0, result.grid.width, 300)
    ops = rng.choice(inputs.stations.operators, 300)
    xs, ys = result.grid.cell_centres()
    got = point_rsrp(inputs, xs[c], ys[r], ops)["rsrp_point_dbm"].to_numpy()
    grids = result.rsrp_best_by_operator_dbm
    want = np.array([grids[o][i, j] for o, i, j in zip(ops, r, c, strict=True)])
    assert np.array_equal(np.isnan(got), np.isnan(want))
    d = got - want
    assert abs(np.nanmedian(d)) < 0.3 and np.nanmedian(np.abs(d)) < 0.5


# ----------------------------------------------------------------------------------------------
# verification on generated data


def test_zero_truth_gives_the_predictions_exactly(demo, tmp_path):
    _, inputs, result = demo
    path = tmp_path / "zero.csv"
    made = _generate(inputs, path, seed=2, n_route=150, n_random=100)
    truth = json.loads((tmp_path / "zero.truth.json").read_text(encoding="utf-8"))
    assert truth["synthetic"] is True and truth["seed"] == 2 and truth["sigma_db"] == 0.0
    v = _verify(result, path)
    s = v.summary
    assert s["n_points"] == len(made.table) > 300
    assert np.nanmax(np.abs(v.points["error_point_db"])) <= 1e-6
    assert abs(s["mean_error_db"]) <= 1e-6 and s["rmse_db"] <= 1e-6
    assert s["reliability_share_point"] == 1.0
    lo, hi = s["reliability_ci95"]
    assert lo < s["reliability_share"] < hi
    # measured = the raster value: the map confirms every point
    pts = v.points
    alt = pd.read_csv(path)
    alt["rsrp_dbm"] = pts["rsrp_raster_dbm"].to_numpy()
    alt.to_csv(tmp_path / "raster.csv", index=False)
    w = _verify(result, tmp_path / "raster.csv")
    assert w.summary["reliability_share"] == 1.0
    assert w.summary["raster"]["rmse_db"] == 0.0
    assert w.summary["reliability_n"] == int(np.isfinite(pts["rsrp_raster_dbm"]).sum())


def test_planted_offset_sigma_and_noise_are_reported(demo, tmp_path):
    _, inputs, result = demo
    path = tmp_path / "planted.csv"
    _generate(inputs, path, seed=4, n_route=300, n_random=200, offsets_db={"all": 4.0},
              sigma_db=6.0, decorrelation_m=50.0, noise_db=2.0)
    s = _verify(result, path).summary
    assert s["n_points"] > 1000
    assert abs(s["mean_error_db"] - (-4.0)) < 0.5  # predicted - measured
    planted_sd = math.hypot(6.0, 2.0)  # 6.32 dB
    assert abs(s["std_error_db"] - planted_sd) < 0.6
    assert abs(s["rmse_db"] - math.hypot(4.0, planted_sd)) < 0.6
    assert s["p5_error_db"] < s["p50_error_db"] < s["p95_error_db"]


def test_per_class_offsets_come_back_per_terrain_class(demo, tmp_path):
    _, inputs, result = demo
    path = tmp_path / "classes.csv"
    planted = {"flat": 4.0, "hilly": 0.0, "mountain": -3.0}
    _generate(inputs, path, seed=5, n_route=150, n_random=150, offsets_db=planted)
    v = _verify(result, path)
    rows = v.errors[(v.errors["method"] == "point") & (v.errors["group_by"] == "terrain_class")]
    assert set(rows["group"]) <= set(planted) and len(rows) >= 2
    for _, row in rows.iterrows():
        assert row["mean_error_db"] == pytest.approx(-planted[row["group"]], abs=1e-6)
        assert row["std_error_db"] == pytest.approx(0.0, abs=1e-6)


def test_reliability_drops_as_planted_errors_grow(demo, tmp_path):
    _, inputs, result = demo
    shares, map_shares = [], []
    for k, offset in enumerate((0.0, 3.0, 10.0, 25.0)):
        path = tmp_path / f"o{k}.csv"
        _generate(inputs, path, seed=6, n_route=150, n_random=150, offsets_db=offset)
        s = _verify(result, path).summary
        shares.append(s["reliability_share_point"])
        map_shares.append(s["reliability_share"])
    assert shares[0] == 1.0
    assert shares[0] > shares[1] > shares[2] > shares[3]
    assert map_shares[3] < map_shares[0]


def test_gps_error_moves_the_reported_places(demo, tmp_path):
    _, inputs, _ = demo
    made = _generate(inputs, None, seed=7, n_route=200, n_random=200, gps_error_m=20.0)
    t = made.table
    dx = t.geometry.x.to_numpy() - t["x_true_m"].to_numpy()
    dy = t.geometry.y.to_numpy() - t["y_true_m"].to_numpy()
    assert abs(np.std(np.concatenate([dx, dy])) - 20.0) < 2.0
    assert abs(np.mean(dx)) < 2.0
    still = _generate(inputs, None, seed=7, n_route=200, n_random=200)
    assert np.array_equal(still.table.geometry.x, still.table["x_true_m"])


def test_verify_reruns_a_result_without_operator_grids(demo, tmp_path):
    coarse, inputs, result = demo
    path = tmp_path / "m.csv"
    _generate(inputs, path, seed=8, n_route=40, n_random=40, noise_db=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        plain = covkit.run(inputs)
    assert plain.rsrp_best_by_operator_dbm is None
    a = _verify(plain, path)
    b = _verify(result, path)
    assert a.summary["rmse_db"] == b.summary["rmse_db"]
    assert a.summary["reliability_share"] == b.summary["reliability_share"]


# ----------------------------------------------------------------------------------------------
# the pieces


def test_wilson_interval_reference_values():
    # Wilson (1927) score interval; 98 of 100: 0.9300-0.9945 (e.g. Newcombe 1998, method 3)
    lo, hi = wilson_interval(98, 100)
    assert lo == pytest.approx(0.92999, abs=5e-5) and hi == pytest.approx(0.99450, abs=5e-5)
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.72246, abs=5e-5)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_error_stats_and_distance_bins():
    s = error_stats([1.0, -1.0, 3.0, np.nan])
    assert s["n"] == 3 and s["mean_error_db"] == pytest.approx(1.0)
    assert s["rmse_db"] == pytest.approx(math.sqrt(11.0 / 3.0))
    assert s["std_error_db"] == pytest.approx(2.0)
    assert distance_bin([100.0, 999.0, 1000.0, 60_000.0, np.nan]).tolist() == [
        "0-0.5 km", "0.5-1 km", "1-2 km", ">= 50 km", None]


def test_shadowing_has_the_gudmundson_correlation():
    rng = np.random.default_rng(0)
    s = ar1_shadowing([20_000], 50.0, 6.0, 100.0, rng)
    assert abs(np.std(s) - 6.0) < 0.15
    assert abs(np.corrcoef(s[:-1], s[1:])[0, 1] - math.exp(-0.5)) < 0.03
    assert abs(np.corrcoef(s[:-2], s[2:])[0, 1] - math.exp(-1.0)) < 0.03
    x = np.arange(60) * 25.0
    draws = np.array([cholesky_shadowing(x, np.zeros_like(x), 5.0, 100.0, rng)
                      for _ in range(400)])
    assert abs(draws.std() - 5.0) < 0.2
    lag1 = np.mean([np.corrcoef(draws[:, i], draws[:, i + 1])[0, 1] for i in range(59)])
    assert abs(lag1 - math.exp(-0.25)) < 0.04


def test_offsets_text():
    assert offsets_from_text(["flat=4", "mountain=-2.5"]) == {"flat": 4.0, "mountain": -2.5}
    with pytest.raises(CovkitInputError, match="CLASS=DB with CLASS one of sea, flat"):
        offsets_from_text(["urban=3"])
    with pytest.raises(CovkitInputError, match="'x' is not a number"):
        offsets_from_text(["all=x"])


# ----------------------------------------------------------------------------------------------
# CLI


def test_cli_generates_and_verifies(demo, tmp_path, capsys):
    coarse, _, _ = demo
    meas = tmp_path / "drive.csv"
    assert _main(["--quiet", "scenario", "measurements", str(coarse), "--out", str(meas),
                  "--seed", "1", "--n-route", "60", "--n-random", "40", "--offset-db",
                  "all=4", "--noise-db", "1"]) == 0
    assert meas.exists() and (tmp_path / "drive.truth.json").exists()
    out = tmp_path / "verify"
    assert _main(["--quiet", "verify", str(coarse), "--measurements", str(meas), "--out",
                  str(out)]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == sorted(VERIFY_FILES)
    s = json.loads((out / "verify_summary.json").read_text(encoding="utf-8"))
    for key in ("n_points", "mean_error_db", "rmse_db", "reliability_share",
                "reliability_ci95", "groups"):
        assert key in s
    assert s["n_points"] > 100 and abs(s["mean_error_db"] + 4.0) < 0.5
    pts = pd.read_csv(out / "verify_points.csv")
    assert len(pts) == s["n_test_points"] and {"rsrp_point_dbm", "rsrp_raster_dbm",
                                                "error_point_db"} <= set(pts.columns)
    errs = pd.read_csv(out / "verify_errors.csv")
    assert set(errs["group_by"]) == {"all", "operator", "band_mhz", "distance_bin",
                                     "terrain_class", "township_id"}
    layer = json.loads((out / "verify_points.geojson").read_text(encoding="utf-8"))
    assert len(layer["features"]) == len(pts)
    assert {"rsrp_dbm", "rsrp_point_dbm", "error_point_db"} <= set(
        layer["features"][0]["properties"])
    assert (out / "verify_scatter.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a bad file: one line naming the file, column and row; exit code 2
    bad = tmp_path / "bad.csv"
    pd.read_csv(meas).assign(operator=lambda d: d["operator"].where(d.index != 3, "Nope")
                             ).to_csv(bad, index=False)
    capsys.readouterr()
    code = _main(["verify", str(coarse), "--measurements", str(bad), "--out",
                  str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"file {bad}, column 'operator', row 4: unknown operator 'Nope'" in err


def test_the_map_shows_the_test_points_escaped(demo, tmp_path):
    _, inputs, result = demo
    path = tmp_path / "m.csv"
    _generate(inputs, path, seed=9, n_route=20, n_random=10, offsets_db=8.0)
    df = pd.read_csv(path)
    df.loc[0, "point_id"] = "<script>alert(1)</script>"
    df.to_csv(path, index=False)
    v = _verify(result, path)
    html = covkit.coverage_map(result, measurements=v.points).get_root().render()
    assert f"Test points ({len(v.points):,}; colour: predicted - measured)" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("#2166ac") >= 1  # -8 dB: the map is pessimistic, blue


def test_generated_files_in_every_format_read_back_the_same(demo, tmp_path):
    _, inputs, _ = demo
    made = _generate(inputs, None, seed=10, n_route=30, n_random=20, sigma_db=4.0)
    got = {}
    for name in ("m.csv", "m.parquet", "m.gpkg"):
        path, truth = made.write(tmp_path / name, include_truth=name == "m.csv")
        assert truth.name == "m.truth.json" and json.loads(truth.read_text())["file"] == name
        got[name] = read_measurements(path, inputs.grid, inputs.stations.operators)
    for name in ("m.parquet", "m.gpkg"):
        assert np.allclose(got[name]["x_m"], got["m.csv"]["x_m"], atol=1e-6)
        assert np.allclose(got[name]["rsrp_dbm"], got["m.csv"]["rsrp_dbm"], atol=1e-9)
        assert (got[name]["timestamp"] == got["m.csv"]["timestamp"]).all()
    assert "truth_shadow_db" in got["m.csv"].columns
    assert "truth_shadow_db" not in got["m.parquet"].columns
    with pytest.raises(CovkitInputError, match="use .csv, .parquet or .gpkg"):
        made.write(tmp_path / "m.xlsx")


def test_measured_sinr_switches_the_reliability_rule(demo, tmp_path):
    _, inputs, result = demo
    path = tmp_path / "m.csv"
    _generate(inputs, path, seed=11, n_route=40, n_random=40)
    s = _verify(result, path).summary
    assert "SINR" not in s["reliability_rule"]
    pd.read_csv(path).assign(sinr_db=50.0).to_csv(path, index=False)
    v = _verify(result, path)
    assert "SINR >= -5 dB" in v.summary["reliability_rule"]
    ops = v.points["operator"].to_numpy()
    r, c = v.points["row"].to_numpy(), v.points["col"].to_numpy()
    layer = np.array([result.covered_by_operator[o][i, j]
                      for o, i, j in zip(ops, r, c, strict=True)])
    assert np.array_equal(v.points["covered_map"].to_numpy(), layer)
