"""Calibration of predictions to measurements: ``covkit calibrate`` (issue 15 item 4), tested
on synthetic measurements from a known truth (item 5).

The demo island on a coarse grid keeps the runs short. The synthetic measurements start from
the exact point prediction calibration fits against, plus planted offsets per terrain class,
a planted distance slope, Gudmundson shadowing and noise: the fit must give them back.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from helpers.cli import exit_code as _main
from helpers.scenario import demo_with_operator_grids

import covkit
from covkit import api
from covkit.config import PATH_INPUTS
from covkit.coverage.calibration import (
    CALIBRATION_FILES,
    assign_folds,
    block_jackknife,
    distance_term,
    fit_calibration,
    previous_calibration,
    spatial_blocks,
)
from covkit.coverage.verify import verify_points
from covkit.errors import CovkitInputError
from covkit.scenario_text import REWRITTEN_NOTE, dumps, set_keys, toml_string

RES_M = 500.0
PLANTED = {"flat": 4.0, "hilly": 1.0, "mountain": -2.0}
SIGMA_DB = 6.0
NOISE_DB = 1.0
N_ROUTE, N_RANDOM = 500, 500  # places; x 3 operators, less the sea and out of reach


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo scenario on a coarse grid (a TOML beside the demo's files), its inputs and a
    coverage run with per-operator grids."""
    return demo_with_operator_grids(tmp_path_factory.mktemp("calibration_demo"), RES_M)


def _points(demo, tmp_path, name, **kw):
    """Synthetic measurements written to CSV, read back and verified: (per-point table,
    generated table with the truth)."""
    _, inputs, result = demo
    path = tmp_path / f"{name}.csv"
    made = api.synthetic_measurements(inputs, out=path, n_route=N_ROUTE, n_random=N_RANDOM,
                                      **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = api.load_measurements(inputs, path)
    return verify_points(result, table), made.table, path


@pytest.fixture(scope="module")
def planted(demo, tmp_path_factory):
    """Offsets flat +4, hilly +1, mountain -2 dB, shadowing 6 dB (50 m), noise 1 dB."""
    return _points(demo, tmp_path_factory.mktemp("planted"), "planted", seed=21,
                   offsets_db=PLANTED, sigma_db=SIGMA_DB, decorrelation_m=50.0,
                   noise_db=NOISE_DB)


@pytest.fixture(scope="module")
def unplanted(demo, tmp_path_factory):
    """No offset: shadowing 6 dB and noise 1 dB only."""
    return _points(demo, tmp_path_factory.mktemp("unplanted"), "unplanted", seed=22,
                   sigma_db=SIGMA_DB, decorrelation_m=50.0, noise_db=NOISE_DB)


# ----------------------------------------------------------------------------------------------
# the fit


def test_planted_offsets_and_sigma_come_back(planted):
    points, made, _ = planted
    assert 2000 <= len(points) <= 5000
    cal = fit_calibration(points)
    assert set(cal.classes_fitted) >= {"flat", "hilly", "mountain"} - {
        c for c, n in cal.n_per_class.items() if n < 50}
    assert len(cal.classes_fitted) >= 2
    for c in cal.classes_fitted:
        assert abs(cal.offsets_db[c] - PLANTED[c]) < 1.0, (c, cal.offsets_db[c])
        assert 0.0 < cal.offsets_se_db[c] < 1.0
        # the planted value within 4 standard errors
        assert abs(cal.offsets_db[c] - PLANTED[c]) < 4.0 * cal.offsets_se_db[c] + 0.05
    assert sum(cal.n_per_class.values()) == cal.n_points == len(points)
    # no slope planted: the fitted one is small
    assert abs(cal.slope_db_per_decade) < 1.0
    # the sigma without noise_db is shadowing and noise together: sqrt(6^2 + 1^2) = 6.08
    assert abs(cal.sigma_db - math.hypot(SIGMA_DB, NOISE_DB)) < 0.5
    assert abs(cal.sigma_db - SIGMA_DB) < 1.0
    # ... and it is the spread of the planted shadowing + noise of these very points
    truth = (made["truth_shadow_db"] + made["truth_noise_db"]).to_numpy()
    assert abs(cal.residual_std_db - np.std(truth)) < 0.15
    assert cal.residual_std_db == cal.sigma_db


def test_sigma_with_the_noise_taken_out_estimates_the_shadowing(demo, tmp_path):
    """Noise 4 dB beside shadowing 6 dB: the residual spread is sqrt(6^2 + 4^2) = 7.2 dB;
    given noise_db = 4 the sigma is the shadowing's 6 dB."""
    points, _, _ = _points(demo, tmp_path, "noisy", seed=23, offsets_db=PLANTED,
                        sigma_db=SIGMA_DB, decorrelation_m=50.0, noise_db=4.0)
    both = fit_calibration(points)
    assert abs(both.sigma_db - math.hypot(SIGMA_DB, 4.0)) < 0.5
    shadow = fit_calibration(points, noise_db=4.0)
    assert abs(shadow.sigma_db - SIGMA_DB) < 0.5
    assert shadow.residual_std_db == both.residual_std_db
    assert shadow.offsets_db == both.offsets_db


def test_a_planted_distance_slope_comes_back(demo, tmp_path):
    points, made, _ = _points(demo, tmp_path, "slope", seed=24, offsets_db=PLANTED,
                           distance_slope_db_per_decade=-6.0, sigma_db=SIGMA_DB,
                           decorrelation_m=50.0, noise_db=NOISE_DB)
    planted_trend = made["truth_distance_db"].to_numpy()
    assert np.std(planted_trend) > 1.0  # the distances span enough decades to see it
    cal = fit_calibration(points)
    assert abs(cal.slope_db_per_decade - (-6.0)) < 1.0
    assert 0.0 < cal.slope_se_db_per_decade < 1.0
    for c in cal.classes_fitted:
        assert abs(cal.offsets_db[c] - PLANTED[c]) < 1.0, c
    assert abs(cal.sigma_db - math.hypot(SIGMA_DB, NOISE_DB)) < 0.5
    # without the slope term the offsets absorb what they can and the residual grows
    flat = fit_calibration(points, fit_slope=False)
    assert flat.slope_db_per_decade == 0.0 and math.isnan(flat.slope_se_db_per_decade)
    assert flat.residual_std_db > cal.residual_std_db + 0.2
    assert flat.cv_overall["rmse_after_db"] > cal.cv_overall["rmse_after_db"]


def test_cross_validation_gains_with_planted_offsets_and_not_without(planted, unplanted):
    cal = fit_calibration(planted[0])
    cv = cal.cv_overall
    assert cv["n_points"] == cal.n_points
    # before: sqrt(6.08^2 + the mean square planted offset); after: down to the 6.08 dB of the
    # shadowing and noise
    assert cv["rmse_after_db"] < cv["rmse_before_db"] - 0.25
    assert abs(cv["rmse_after_db"] - math.hypot(SIGMA_DB, NOISE_DB)) < 0.4
    assert abs(cv["mean_error_after_db"]) < 0.3
    folds = cal.cv[cal.cv["fold"] != "all"]
    assert len(folds) == cal.folds == 5 and folds["n_points"].sum() == cal.n_points
    assert (folds["rmse_after_db"] < folds["rmse_before_db"]).all()
    none = fit_calibration(unplanted[0])
    cv0 = none.cv_overall
    assert abs(cv0["rmse_after_db"] - cv0["rmse_before_db"]) < 0.2
    assert abs(cv0["mean_error_before_db"]) < 0.6
    for c in none.classes_fitted:
        assert abs(none.offsets_db[c]) < 1.0


def test_blocks_and_folds_are_deterministic_and_keep_blocks_whole():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 20_000.0, 2000)
    y = rng.uniform(-10_000.0, 0.0, 2000)
    blocks = spatial_blocks(x, y, 2.0)
    assert blocks.max() + 1 == 50  # 10 x 5 blocks of 2 km
    same = (np.floor(x / 2000.0) == np.floor(x[0] / 2000.0)) & \
        (np.floor(y / 2000.0) == np.floor(y[0] / 2000.0))
    assert np.array_equal(blocks == blocks[0], same)
    folds = assign_folds(blocks, 5, seed=3)
    assert np.array_equal(folds, assign_folds(blocks, 5, seed=3))
    assert not np.array_equal(folds, assign_folds(blocks, 5, seed=4))
    for b in range(50):
        assert np.unique(folds[blocks == b]).size == 1
    assert sorted(np.bincount([folds[blocks == b][0] for b in range(50)])) == [10] * 5
    assert distance_term([1.0, 10.0, 1000.0, 10_000.0]).tolist() == [-2.0, -2.0, 0.0, 1.0]


def test_block_jackknife_equals_refitting_without_each_block():
    """The replicates from the block sums of the normal equations equal a least-squares refit
    on the points outside each block (one block holds the only points of class 2)."""
    rng = np.random.default_rng(1)
    n = 600
    cls = rng.integers(0, 2, n)
    blocks = rng.integers(0, 12, n)
    cls[blocks == 7] = 2
    x = rng.normal(0.0, 0.4, n)
    a = np.column_stack([(cls == k).astype(float) for k in range(3)] + [x])
    y = a @ np.array([3.0, -1.0, 2.0, -4.0]) + rng.normal(0.0, 5.0, n)
    got = block_jackknife(a, y, blocks, n_classes=3, fit_slope=True, noise_db=1.0)
    for g in range(12):
        keep = blocks != g
        cols = [k for k in range(4) if a[keep, k].any()]
        beta, *_ = np.linalg.lstsq(a[keep][:, cols], y[keep], rcond=None)
        r = y[keep] - a[keep][:, cols] @ beta
        want = np.full(4, np.nan)
        want[cols] = beta
        sigma = math.sqrt(r @ r / (keep.sum() - len(cols)) - 1.0)
        assert np.allclose(got[g, :4], want, equal_nan=True, atol=1e-9), g
        assert got[g, 4] == pytest.approx(sigma, abs=1e-9)
    assert np.isnan(got[7, 2]) and np.isfinite(got[:7, 2]).all()


def test_classes_with_too_few_points_keep_zero_and_say_so(planted):
    points = planted[0]
    n = fit_calibration(points).n_per_class
    fewest = min((c for c in n if n[c]), key=lambda c: n[c])
    cal = fit_calibration(points, min_points_per_class=n[fewest] + 1)
    assert fewest not in cal.classes_fitted and cal.offsets_db[fewest] == 0.0
    assert math.isnan(cal.offsets_se_db[fewest])
    assert any(f"terrain class {fewest}: {n[fewest]} points" in t for t in cal.notes)
    assert cal.n_points == sum(n.values()) - n[fewest]
    with pytest.raises(CovkitInputError, match="no terrain class has 100000 usable points"):
        fit_calibration(points, min_points_per_class=100_000)
    with pytest.raises(CovkitInputError, match="folds = 1 must be at least 2"):
        fit_calibration(points, folds=1)
    with pytest.raises(CovkitInputError, match="block size 0 km must be a number > 0"):
        fit_calibration(points, block_km=0)
    with pytest.raises(CovkitInputError, match="terrain class 'urban' is not one of"):
        fit_calibration(points, classes=("urban",))
    with pytest.raises(CovkitInputError, match="needs the column 'rsrp_dbm'"):
        fit_calibration(points.drop(columns=["rsrp_dbm"]))


def test_a_previous_calibration_is_added_to(planted, demo):
    _, inputs, _ = demo
    assert previous_calibration(inputs.scenario) == (
        {"sea": 0.0, "flat": 0.0, "hilly": 0.0, "mountain": 0.0}, 0.0)
    # a scenario as it will be with the [calibration] section of the engine's work
    sc = SimpleNamespace(calibration=SimpleNamespace(
        offset_sea_db=0.0, offset_flat_db=1.5, offset_hilly_db=0.0, offset_mountain_db=-0.5,
        distance_slope_db_per_decade=-2.0), propagation=SimpleNamespace(shadow_sigma_db=8.0),
        scenario=SimpleNamespace(name="x"), path=None)
    fresh = fit_calibration(planted[0])
    again = fit_calibration(planted[0], scenario=sc)
    assert again.offsets_db == fresh.offsets_db
    keys = again.to_scenario_keys()
    assert keys["calibration"]["offset_flat_db"] == round(1.5 + fresh.offsets_db["flat"], 3)
    assert keys["calibration"]["offset_mountain_db"] == round(
        -0.5 + fresh.offsets_db["mountain"], 3)
    assert keys["calibration"]["distance_slope_db_per_decade"] == round(
        -2.0 + fresh.slope_db_per_decade, 3)
    assert keys["propagation"]["shadow_sigma_db"] == round(fresh.sigma_db, 3)  # replaced
    assert again.summary()["previous_calibration"]["propagation.shadow_sigma_db"] == 8.0
    assert any("calibrated already" in t for t in again.notes)
    plain = fresh.to_scenario_keys()
    assert plain["calibration"]["offset_flat_db"] == round(fresh.offsets_db["flat"], 3)
    assert set(plain["calibration"]) == {"offset_sea_db", "offset_flat_db", "offset_hilly_db",
                                         "offset_mountain_db", "distance_slope_db_per_decade"}
    capped = dataclasses.replace(fresh, sigma_db=35.0).to_scenario_keys()
    assert capped["propagation"]["shadow_sigma_db"] == 20.0  # the key's range


# ----------------------------------------------------------------------------------------------
# files and the CLI


def test_cli_writes_the_summary_the_cv_table_and_a_calibrated_scenario(demo, tmp_path, capsys):
    coarse, _, _ = demo
    meas = tmp_path / "drive.csv"
    assert _main(["--quiet", "scenario", "measurements", str(coarse), "--out", str(meas),
                  "--seed", "31", "--n-route", "300", "--n-random", "300",
                  "--offset-db", "flat=4", "--offset-db", "hilly=1", "--offset-db",
                  "mountain=-2", "--sigma-db", "6", "--noise-db", "1",
                  "--distance-slope-db", "-3"]) == 0
    truth = json.loads((tmp_path / "drive.truth.json").read_text(encoding="utf-8"))
    assert truth["distance_slope_db_per_decade"] == -3.0
    out = tmp_path / "elsewhere" / "cal"
    capsys.readouterr()
    assert _main(["--quiet", "calibrate", str(coarse), "--measurements", str(meas), "--out",
                  str(out), "--block-km", "3", "--folds", "4", "--json"]) == 0, \
        capsys.readouterr().err
    printed = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == sorted(CALIBRATION_FILES)
    s = json.loads((out / "calibration_summary.json").read_text(encoding="utf-8"))
    for key in ("offsets_db", "offsets_se_db", "distance_slope_db_per_decade", "sigma_db",
                "sigma_se_db", "n_per_class", "classes_fitted", "cv_rmse_before_db",
                "cv_rmse_after_db", "cv_folds", "block_km", "folds", "scenario_keys",
                "sign_convention", "outputs"):
        assert key in s, key
    assert s["block_km"] == 3.0 and s["folds"] == 4 and len(s["cv_folds"]) == 4
    assert s["cv_rmse_after_db"] < s["cv_rmse_before_db"]
    assert printed["cv_rmse_after_db"] == s["cv_rmse_after_db"]
    for c in s["classes_fitted"]:
        assert abs(s["offsets_db"][c] - PLANTED[c]) < 1.5
    assert abs(s["distance_slope_db_per_decade"] + 3.0) < 1.5
    cv = pd.read_csv(out / "calibration_cv.csv")
    assert cv["fold"].astype(str).tolist() == ["0", "1", "2", "3", "all"]
    assert {"rmse_before_db", "rmse_after_db", "mean_error_before_db",
            "mean_error_after_db"} <= set(cv.columns)
    assert cv["rmse_after_db"].iloc[-1] == pytest.approx(s["cv_rmse_after_db"])

    # the calibrated scenario: every other key as it was, the fitted values, paths from DIR
    original = tomllib.loads(coarse.read_text(encoding="utf-8"))
    text = (out / "scenario_calibrated.toml").read_text(encoding="utf-8")
    assert text.startswith("# covkit demo scenario")  # the original's comments are kept
    got = tomllib.loads(text)
    for sec, table in original.items():
        for key, value in table.items():
            if sec == "inputs" and key in PATH_INPUTS:
                continue
            if (sec, key) == ("propagation", "shadow_sigma_db"):
                continue
            assert got[sec][key] == value, (sec, key)
    assert set(got) == set(original) | {"calibration"}
    assert got["calibration"] == s["scenario_keys"]["calibration"]
    assert got["calibration"]["offset_flat_db"] == pytest.approx(s["offsets_db"]["flat"],
                                                                 abs=1e-3)
    assert got["propagation"]["shadow_sigma_db"] == pytest.approx(s["sigma_db"], abs=1e-3)
    assert set(got["inputs"]) == set(original["inputs"])
    for key, value in got["inputs"].items():
        if key in PATH_INPUTS:
            for p in value if isinstance(value, list) else [value]:
                assert (out / p).resolve().is_file(), (key, p)
                assert (out / p).resolve() == (coarse.parent / original["inputs"][key]
                                               ).resolve()

    # a bad option is named before coverage is run
    capsys.readouterr()
    assert _main(["calibrate", str(coarse), "--measurements", str(meas), "--out",
                  str(tmp_path / "x"), "--folds", "1"]) == 2
    assert "folds = 1 must be at least 2" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_api_calibrate_on_a_result_writes_the_same_files(demo, planted, tmp_path):
    coarse, inputs, result = demo
    points, _, path = planted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cal = api.calibrate(result, path, seed=5)
    assert isinstance(cal, api.Calibration)
    want = fit_calibration(points, seed=5)
    assert cal.offsets_db == pytest.approx(want.offsets_db)
    assert cal.sigma_db == pytest.approx(want.sigma_db)
    assert cal.info["measurements"] == str(path)
    files = cal.write(tmp_path / "out")
    assert sorted(f.name for f in files) == sorted(CALIBRATION_FILES)
    got = tomllib.loads((tmp_path / "out" / "scenario_calibrated.toml").read_text())
    assert got["calibration"] == cal.to_scenario_keys()["calibration"]


def test_a_scenario_without_a_file_is_written_whole(demo, planted):
    _, inputs, _ = demo
    sc = inputs.scenario.replace(propagation={"model": "hata"})
    sc = dataclasses.replace(sc, path=None)
    cal = fit_calibration(planted[0], scenario=sc)
    got = tomllib.loads(cal.scenario_text())
    assert got["propagation"]["model"] == "hata"
    assert got["propagation"]["shadow_sigma_db"] == cal.to_scenario_keys()["propagation"][
        "shadow_sigma_db"]
    assert Path(got["inputs"]["stations"]).is_file()
    assert "calibration" in got
    with pytest.raises(ValueError, match="no scenario to write"):
        fit_calibration(planted[0]).scenario_text()


# ----------------------------------------------------------------------------------------------
# the TOML text editor


def test_set_keys_edits_in_place_and_keeps_comments():
    text = ('# top comment\n[scenario]\nname = "x"  # the name\n\n[inputs]\ndem = [\n'
            '  "a.tif",  # first\n  "b.tif",\n]\nstations = "s.csv"\n\n[propagation]\n'
            'model = "p1812"\nshadow_sigma_db = 5.5\n\n[[propagation.bands]]\nmodel = "fspl"\n')
    out = set_keys(text, {"inputs": {"dem": ["/d/a.tif", "/d/b.tif"]},
                          "propagation": {"shadow_sigma_db": 6.25, "k_factor": 1.5},
                          "calibration": {"offset_flat_db": 4.0}})
    got = tomllib.loads(out)
    assert got["inputs"] == {"dem": ["/d/a.tif", "/d/b.tif"], "stations": "s.csv"}
    assert got["propagation"]["shadow_sigma_db"] == 6.25 and got["propagation"]["k_factor"] == 1.5
    assert got["propagation"]["bands"] == [{"model": "fspl"}]
    assert got["calibration"] == {"offset_flat_db": 4.0}
    assert out.startswith("# top comment\n") and 'name = "x"  # the name' in out
    assert REWRITTEN_NOTE not in out
    # the key is replaced, not repeated; a second edit replaces it again
    again = set_keys(out, {"calibration": {"offset_flat_db": 5.0}})
    assert again.count("offset_flat_db") == 1
    assert tomllib.loads(again)["calibration"] == {"offset_flat_db": 5.0}


def test_set_keys_writes_whole_when_it_cannot_edit_the_layout():
    text = 'propagation.shadow_sigma_db = 3.0\n[scenario]\nname = "x"\n'
    out = set_keys(text, {"propagation": {"shadow_sigma_db": 6.0}})
    assert out.startswith(REWRITTEN_NOTE)
    assert tomllib.loads(out) == {"propagation": {"shadow_sigma_db": 6.0},
                                  "scenario": {"name": "x"}}


@pytest.mark.parametrize("s", ['plain', 'quote " and \\ back', "tab\tnew\nline", "\x7f\x01",
                               "臺北市", "C:\\Users\\me\\dem.tif"])
def test_toml_strings_read_back(s):
    assert tomllib.loads(f"k = {toml_string(s)}")["k"] == s


def test_dumps_reads_back():
    data = {"scenario": {"name": "x", "bounds": [1.0, 2.0, 3.0, 4.0]},
            "inputs": {"township_columns": {"township_id": "TOWNCODE", "na me": "N"}},
            "propagation": {"bands": [{"model": "fspl", "min_mhz": 30.0}], "x": None,
                            "flag": True, "big": 1e300, "n": 3}}
    want = {**data, "propagation": {k: v for k, v in data["propagation"].items()
                                    if v is not None}}
    assert tomllib.loads(dumps(data)) == want


def test_few_blocks_give_fewer_folds_and_one_block_none(planted):
    points = planted[0]
    x, y = points["x_m"].to_numpy(), points["y_m"].to_numpy()
    size = next(b for b in (30.0, 40.0, 60.0, 80.0, 100.0)
                if 2 <= spatial_blocks(x, y, b).max() + 1 < 5)
    cal = fit_calibration(points, block_km=size)
    assert 2 <= cal.n_blocks < 5 and cal.folds == cal.n_blocks
    assert any(f"{cal.n_blocks} blocks: {cal.n_blocks} folds instead of 5" in t
               for t in cal.notes)
    assert len(cal.cv) == cal.n_blocks + 1
    one = fit_calibration(points, block_km=1000.0)
    assert one.n_blocks == 1 and len(one.cv) == 0 and one.cv_overall == {}
    assert math.isnan(one.summary()["cv_rmse_after_db"])
    assert math.isnan(one.offsets_se_db["flat"]) and math.isnan(one.sigma_se_db)
    assert any("all points lie in one 1000 km block" in t for t in one.notes)
    assert one.offsets_db == fit_calibration(points).offsets_db  # the fit itself is the same


# ----------------------------------------------------------------------------------------------
# end to end: the calibrated scenario is what covkit run and covkit verify take


def test_the_calibrated_scenario_runs_and_verifies_with_the_error_taken_out(demo, tmp_path):
    """Measurements planted with per-class offsets: calibrate writes scenario_calibrated.toml;
    covkit.load_scenario reads it, and verification of the same measurements against it finds
    each class's mean error near 0 where the uncalibrated scenario had -offset."""
    coarse, inputs, result = demo
    meas = tmp_path / "drive.csv"
    api.synthetic_measurements(inputs, out=meas, seed=41, n_route=N_ROUTE, n_random=N_RANDOM,
                               offsets_db=PLANTED, sigma_db=2.0, decorrelation_m=50.0,
                               noise_db=0.5)
    out = tmp_path / "cal"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fitted = api.calibrate(result, meas, out_dir=out, fit_slope=False)
        calibrated = covkit.load_scenario(out / "scenario_calibrated.toml")
        before = api.verify(result, meas)
        after = api.verify(calibrated, meas)
    for cls in fitted.classes_fitted:
        assert calibrated.calibration.offsets_db((cls,))[0] == pytest.approx(
            fitted.offsets_db[cls], abs=1e-3)
        assert abs(fitted.offsets_db[cls] - PLANTED[cls]) < 1.0, cls
    assert calibrated.propagation.shadow_sigma_db == pytest.approx(fitted.sigma_db, abs=1e-3)

    def class_mean(v, cls):
        p = v.points
        rows = p["terrain_class"] == cls
        return float((p.loc[rows, "rsrp_point_dbm"] - p.loc[rows, "rsrp_dbm"]).mean())

    for cls in fitted.classes_fitted:
        assert class_mean(before, cls) == pytest.approx(-PLANTED[cls], abs=0.5), cls
        assert abs(class_mean(after, cls)) < 0.3, cls
    # what is left is the planted shadowing and noise: sqrt(2^2 + 0.5^2) = 2.06 dB
    assert after.summary["rmse_db"] < before.summary["rmse_db"] - 0.5
    assert after.summary["rmse_db"] == pytest.approx(math.hypot(2.0, 0.5), abs=0.3)
    assert abs(after.summary["mean_error_db"]) < 0.3
