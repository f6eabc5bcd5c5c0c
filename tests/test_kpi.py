"""KPIs on tiny synthetic grids: zone sums, conservation, operators, fibre 400 m, trails, zone
mode, households, township overlaps."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, box

from covkit.coverage import kpi as K
from covkit.data.grid import Grid
from covkit.data.loaders import Townships
from covkit.errors import CovkitInputError

CRS = "EPSG:3826"


def tiny_townships(with_households=False):
    """4 x 6 grid of 100 m; township A = columns 0-2, B = columns 3-4, column 5 outside."""
    grid = Grid(CRS, 0.0, 400.0, 100.0, 6, 4)
    zone = np.full((4, 6), -1, np.int32)
    zone[:, :3] = 0
    zone[:, 3:5] = 1
    pop = np.arange(24, dtype=np.float64).reshape(4, 6) + 0.5
    table = pd.DataFrame({"township_id": ["A", "B"], "name": ["a", "b"], "county": ["C", "D"],
                          "remote": [False, True],
                          "population": [pop[zone == 0].sum(), pop[zone == 1].sum()]})
    data = {"township_id": ["A", "B"]}
    if with_households:
        data["households"] = [100.0, 10.0]
    gdf = gpd.GeoDataFrame(data, geometry=[box(0, 0, 300, 400), box(300, 0, 500, 400)],
                           crs=CRS)
    tw = Townships(table, zone, gdf, Path("townships.gpkg"), float(pop[:, 5].sum()))
    return grid, tw, pop


def test_zone_sums_and_conservation():
    grid, tw, pop = tiny_townships()
    rng = np.random.default_rng(1)
    covered = rng.random(pop.shape) < 0.5
    cov_a = rng.random(pop.shape) < 0.4
    cov_b = rng.random(pop.shape) < 0.4
    covered = covered | cov_a | cov_b  # any operator = at least one (plus others)
    per, out = K.zone_sums(tw.zone, pop, 2)
    assert per.sum() + out == pytest.approx(pop.sum(), rel=1e-12)
    df = K.township_kpis(tw, pop, covered, {"OpA": cov_a, "OpB": cov_b},
                         np.array([1.0, 2.0]), np.array([0.5, 0.0]))
    np.testing.assert_allclose(df["covered_population"] + df["uncovered_population"],
                               df["population"], rtol=0, atol=0)
    np.testing.assert_allclose(df["population"], tw.table["population"])
    for op in ("OpA", "OpB"):
        assert (df["coverage_pct"] >= df[f"coverage_pct_{op}"] - 1e-12).all()
    assert (df["coverage_pct"] <= 100.0).all()
    expected_a = pop[(tw.zone == 0) & covered].sum()
    assert df.loc[0, "covered_population"] == pytest.approx(expected_a)
    assert list(df.columns[:8]) == ["township_id", "name", "county", "remote", "population",
                                    "covered_population", "uncovered_population",
                                    "coverage_pct"]
    assert df.loc[0, "fibre_coverage_pct"] == pytest.approx(50.0)
    assert df.loc[1, "fibre_coverage_pct"] == 0.0


def test_pct_zero_denominator():
    assert np.isnan(K.pct(0.0, 0.0))
    np.testing.assert_allclose(K.pct([1.0, 0.0], [4.0, 0.0]), [25.0, np.nan])


def test_zone_mode():
    grid, tw, pop = tiny_townships()
    covered = np.zeros(pop.shape, bool)
    covered[:, 0:2] = True    # most of A
    covered[0, 3] = True      # little of B
    df = K.township_kpis(tw, pop, covered, {}, np.ones(2), np.zeros(2),
                             zone_min_covered_share=0.5)
    share = df["covered_population"] / df["population"]
    assert share[0] >= 0.5 > share[1]
    assert df["zone_covered"].tolist() == [True, False]
    df1 = K.township_kpis(tw, pop, covered, {}, np.ones(2), np.zeros(2),
                          zone_min_covered_share=float(share[1]))
    assert df1["zone_covered"].tolist() == [True, True]  # >= share: inclusive


def test_fibre_400m_rule():
    # 11 x 11 cells of 100 m; drop point at the centre of the centre cell: cells whose centre
    # lies within 400 m are the lattice points with i^2 + j^2 <= 16: 49 cells
    grid = Grid(CRS, 0.0, 1100.0, 100.0, 11, 11)
    near = K.fibre_cells(grid, [550.0], [550.0], 400.0)
    assert near.sum() == 49
    assert near[5, 1] and not near[4, 1]  # 400 m exactly counts; sqrt(17) * 100 m does not
    near2 = K.fibre_cells(grid, [550.0], [550.0], 399.0)
    assert near2.sum() == 49 - 4
    # a point outside the grid still serves the cells near it; mask limits the query
    # (drop point 2, 3, 4 cells west of column 0: 7 + 5 + 1 cells)
    assert K.fibre_cells(grid, [-150.0], [550.0], 400.0).sum() == 13
    mask = np.zeros((11, 11), bool)
    mask[5, :] = True
    assert K.fibre_cells(grid, [550.0], [550.0], 400.0, mask=mask).sum() == 9
    assert K.fibre_cells(grid, [], [], 400.0).sum() == 0


def test_households_default_and_given():
    grid, tw, pop = tiny_townships()
    near = np.zeros(pop.shape, bool)
    near[:, 0] = True
    hh, hh_f, out, out_f, src = K.households_per_township(tw, pop, near, 2.5)
    assert src.startswith("population")
    assert hh[0] == pytest.approx(pop[:, :3].sum() / 2.5)
    assert hh_f[0] == pytest.approx(pop[:, 0].sum() / 2.5)
    assert hh_f[1] == 0.0
    assert out == pytest.approx(pop[:, 5].sum() / 2.5)
    grid, tw2, pop = tiny_townships(with_households=True)
    hh, hh_f, *_rest, src = K.households_per_township(tw2, pop, near, 2.5)
    assert src.endswith("households")
    assert hh.tolist() == [100.0, 10.0]
    assert hh_f[0] == pytest.approx(100.0 * pop[:, 0].sum() / pop[:, :3].sum())


def test_households_bad_column():
    grid, tw, pop = tiny_townships(with_households=True)
    tw.gdf.loc[1, "households"] = -3.0
    with pytest.raises(CovkitInputError, match="households.*row 2"):
        K.households_per_township(tw, pop, np.zeros(pop.shape, bool), 2.6)


def test_trail_km_covered():
    grid = Grid(CRS, 0.0, 400.0, 100.0, 6, 4)
    covered = np.zeros((4, 6), bool)
    covered[:, :3] = True
    trails = gpd.GeoDataFrame({"trail_id": ["t1", "t2"]},
                              geometry=[LineString([(0, 150), (600, 150)]),
                                        LineString([(250, 50), (250, 350)])], crs=CRS)
    total, cov = K.trail_km_covered(trails, grid, covered)
    assert total == pytest.approx(0.9)
    assert cov == pytest.approx(0.3 + 0.3)
    # a trail leaving the grid: the outside part is uncovered
    t3 = gpd.GeoDataFrame(geometry=[LineString([(-200, 150), (200, 150)])], crs=CRS)
    total, cov = K.trail_km_covered(t3, grid, covered)
    assert total == pytest.approx(0.4)
    assert cov == pytest.approx(0.2)
    assert K.trail_km_covered(None, grid, covered) == (0.0, 0.0)


def test_township_overlaps():
    ids = np.array(["T1", "T2", "T3"])
    ok = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000),
                                    box(0, 1000, 2000, 2000)], crs=CRS)
    K.check_township_overlaps(ok, ids)  # touching only
    tiny = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000), box(999.5, 0, 2000, 1000)],
                            crs=CRS)
    K.check_township_overlaps(tiny, ids[:2])  # 0.05% overlap: tolerated
    bad = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000),
                                     box(1500, 500, 2500, 1500)], crs=CRS)
    with pytest.raises(CovkitInputError, match="'T2' and 'T3' overlap"):
        K.check_township_overlaps(bad, ids, file="tw.gpkg")
