"""A calibrated scenario ([calibration]): every predicted RSRP gains the offset of its cell's
terrain class and the distance slope, in the raster and at exact points alike, and
verification of measurements planted with those offsets then finds no error left."""

from __future__ import annotations

import math

import numpy as np
import pytest

import covkit
from covkit.coverage.fieldsim import synthetic_measurements
from covkit.coverage.layers import SiteFold, compute_layers
from covkit.coverage.points import point_rsrp
from covkit.data.measurements import CLASS_NAMES, terrain_class, terrain_class_grid
from covkit.errors import CovkitInputError

OFFSETS = {"offset_flat_db": 4.0, "offset_hilly_db": 1.0, "offset_mountain_db": -2.0}
PLANTED = {"flat": 4.0, "hilly": 1.0, "mountain": -2.0}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    toml = covkit.write_demo(tmp_path_factory.mktemp("cal") / "scenario")
    plain = covkit.load_scenario(toml).replace(scenario={"resolution_m": 250.0})
    return plain, covkit.load_inputs(plain)


def calibrated(inputs, **keys):
    sc = inputs.scenario.replace(calibration=keys)
    return covkit.load_inputs(sc)


def test_uncalibrated_by_default(demo):
    plain, inputs = demo
    assert not plain.calibration.active
    assert not SiteFold(inputs).calibrated


def test_class_offsets_shift_the_raster_by_the_cells_class(demo):
    _, inputs = demo
    cal_inputs = calibrated(inputs, **OFFSETS)
    r0, _ = compute_layers(inputs)
    r1, _ = compute_layers(cal_inputs)
    code, _ = terrain_class_grid(inputs.dem_m, inputs.grid, inputs.terrain.sea)
    offset = np.array([0.0] + [PLANTED[c] for c in CLASS_NAMES[1:]])[code]
    both = np.isfinite(r0.best_dbm)
    np.testing.assert_array_equal(both, np.isfinite(r1.best_dbm))
    assert {int(c) for c in np.unique(code[both])} >= {1, 2, 3}  # every land class present
    np.testing.assert_allclose(r1.best_dbm[both], r0.best_dbm[both] + offset[both], atol=2e-4)
    np.testing.assert_array_equal(r0.server, r1.server)  # the same shift for every sector


def test_distance_slope_at_exact_points(demo):
    _, inputs = demo
    slope = -5.0
    cal_inputs = calibrated(inputs, distance_slope_db_per_decade=slope, offset_hilly_db=2.5)
    g = inputs.grid
    rng = np.random.default_rng(3)
    x = rng.uniform(g.bounds[0], g.bounds[2], 200)
    y = rng.uniform(g.bounds[1], g.bounds[3], 200)
    ops = np.array([inputs.stations.operators[0]] * x.size, dtype=object)
    p0 = point_rsrp(inputs, x, y, ops)
    p1 = point_rsrp(cal_inputs, x, y, ops)
    names, _ = terrain_class(inputs.dem_m, g, x, y, sea=inputs.terrain.sea)
    same = (p0["server_row"].to_numpy() == p1["server_row"].to_numpy()) \
        & np.isfinite(p0["rsrp_point_dbm"].to_numpy())
    assert same.sum() > 50
    d = p0["distance_m"].to_numpy()[same]
    want = slope * np.log10(np.maximum(d, 10.0) / 1000.0) + np.where(names[same] == "hilly",
                                                                     2.5, 0.0)
    got = p1["rsrp_point_dbm"].to_numpy()[same] - p0["rsrp_point_dbm"].to_numpy()[same]
    np.testing.assert_allclose(got, want, atol=2e-4)
    assert math.isclose(float(np.max(np.abs(want))), float(np.max(np.abs(got))), abs_tol=1e-3)


def test_verification_of_a_calibrated_scenario_finds_the_planted_offsets_gone(demo):
    _, inputs = demo
    field = synthetic_measurements(inputs, seed=5, n_route=400, n_random=300, offsets_db=PLANTED,
                                   noise_db=0.0, sigma_db=0.0)
    table = field.table
    before = covkit.verify(inputs, table)
    after = covkit.verify(calibrated(inputs, **OFFSETS), table)
    for cls, off in PLANTED.items():
        rows = before.points["terrain_class"] == cls
        if rows.sum() < 5:
            continue
        err0 = (before.points.loc[rows, "rsrp_point_dbm"] - before.points.loc[rows, "rsrp_dbm"])
        err1 = (after.points.loc[rows, "rsrp_point_dbm"] - after.points.loc[rows, "rsrp_dbm"])
        assert err0.mean() == pytest.approx(-off, abs=1e-3), cls
        assert err1.abs().max() < 1e-3, cls
    assert abs(after.summary["mean_error_db"]) < abs(before.summary["mean_error_db"])


def test_calibration_keys_are_checked(demo):
    plain, _ = demo
    with pytest.raises(CovkitInputError, match="calibration.offset_flat_db"):
        plain.replace(calibration={"offset_flat_db": 100.0})
    with pytest.raises(CovkitInputError, match="calibration"):
        plain.replace(calibration={"offset_forest_db": 1.0})
