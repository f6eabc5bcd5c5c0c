"""Exact cell-polygon fractions (exactextract), the spread of polygon values over cells
(area share and dasymetric weights, totals exact) and the (cell, township) membership of the
grid's people used by every per-township sum."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from covkit.config import scenario_from_dict
from covkit.coverage import kpi as K
from covkit.data import fractions as FR
from covkit.data import loaders
from covkit.data.grid import Grid
from covkit.errors import CovkitInputError

CRS = "EPSG:3826"


def grid_4x6():
    """4 rows x 6 columns of 100 m, x 0..600, y 0..400 (row 0 at the top)."""
    return Grid(CRS, 0.0, 400.0, 100.0, 6, 4)


def as_grid(fr, grid):
    out = np.zeros(grid.height * grid.width)
    np.add.at(out, fr.cell, fr.fraction)
    return out.reshape(grid.shape)


def test_fractions_are_exact_areas():
    grid = grid_4x6()
    # 250 m x 250 m box from (50, 50): the corner cell a quarter, edge cells half, inner whole
    fr = FR.cell_fractions([box(50, 50, 300, 300)], grid)
    got = as_grid(fr, grid)
    expected = np.zeros(grid.shape)
    expected[1:4, 0:3] = [[0.5, 1.0, 1.0], [0.5, 1.0, 1.0], [0.25, 0.5, 0.5]]  # row 3: y 0-100
    np.testing.assert_allclose(got, expected, atol=1e-12)
    # a triangle: the fractions add up to its area in cells, exactly
    tri = Polygon([(10, 10), (590, 30), (300, 390)])
    fr = FR.cell_fractions([tri], grid)
    # (exactextract works in cell units: the area agrees to ~1e-8; totals are normalised)
    assert fr.fraction.sum() * grid.cell_area_m2 == pytest.approx(tri.area, rel=1e-7)
    # outside the grid: no cell; partly outside: only the part inside
    fr = FR.cell_fractions([box(1000, 1000, 1100, 1100), box(-50, -50, 50, 50)], grid)
    assert list(fr.polygon) == [1] and fr.fraction[0] == pytest.approx(0.25)
    assert fr.cell[0] == 3 * grid.width  # bottom-left cell, row-major from the top


def test_spread_keeps_every_polygon_total():
    grid = grid_4x6()
    geoms = [box(0, 0, 250, 400), box(250, 0, 520, 400), box(-50, -50, 30, 30),
             box(2000, 2000, 2100, 2100), box(10, 10, 10.0000001, 10.0000001)]
    values = np.array([1000.0, 333.0, 7.0, 50.0, 3.0])
    sp = FR.spread_values(geoms, values, grid)
    per = np.bincount(sp.polygon, weights=sp.value, minlength=len(geoms))
    np.testing.assert_allclose(per[[0, 1, 2, 4]], values[[0, 1, 2, 4]], rtol=1e-14)
    assert per[3] == 0.0 and sp.outside == 50.0
    g = sp.to_grid(grid)
    assert g.sum() + sp.outside == pytest.approx(values.sum(), rel=1e-14)
    # area share: polygon 0 covers 10 cells (100 people per whole cell), polygon 1 10.8
    # cells; polygons 2 (partly outside) and 4 (a sliver) stay whole in the bottom-left cell
    np.testing.assert_allclose(g[0, :2], [100.0, 100.0], rtol=1e-12)
    np.testing.assert_allclose(g[3, 0], 100.0 + 7.0 + 3.0, rtol=1e-12)
    # (per cell to exactextract's ~1e-9; the polygon totals above are exact)
    np.testing.assert_allclose(g[1, 2], 0.5 * 100.0 + 333.0 * 0.5 / 10.8, rtol=1e-8)


def test_dasymetric_weights_keep_totals_and_avoid_sea():
    grid = grid_4x6()
    dem = np.full(grid.shape, 10.0, np.float32)
    dem[:, 0] = -5.0            # sea
    dem[:, 4] = 2900.0          # high plateau (flat)
    dem[0, 5] = np.nan          # unknown
    w = FR.population_weights(dem, grid.resolution_m)
    assert (w[:, 0] == 0.0).all() and w[0, 5] == 1.0
    assert 0.1 <= w[2, 4] < 0.2 and w[2, 3] == pytest.approx(0.1)  # steep beside the plateau
    assert w[2, 1] == pytest.approx(1.0)
    geoms = [box(0, 0, 300, 400), box(0, 0, 100, 400)]   # the second only on sea cells
    values = np.array([900.0, 40.0])
    sp = FR.spread_values(geoms, values, grid, weights=w)
    per = np.bincount(sp.polygon, weights=sp.value, minlength=2)
    np.testing.assert_allclose(per, values, rtol=1e-14)
    assert sp.fallback == 1                     # the sea-only polygon: area share instead
    g = sp.to_grid(grid)
    assert g[:, 0].sum() == pytest.approx(40.0)  # only the fallback polygon's people at sea


def test_population_spread_key():
    sc = scenario_from_dict({"scenario": {"crs": CRS}, "coverage": {"population_spread":
                                                                      "dasymetric"}},
                            require_inputs=False)
    assert sc.coverage.population_spread == "dasymetric"
    with pytest.raises(CovkitInputError, match=r"coverage\.population_spread"):
        scenario_from_dict({"scenario": {"crs": CRS}, "coverage": {"population_spread": "x"}},
                           require_inputs=False)


def test_parts_split_raster_people_by_area_and_by_code():
    grid = grid_4x6()
    towns = gpd.GeoDataFrame({"township_id": ["A", "B"], "name": ["a", "b"],
                              "county": ["C", "C"]},
                             geometry=[box(0, 0, 250, 400), box(250, 0, 500, 400)], crs=CRS)
    pop = np.arange(24, dtype=np.float64).reshape(grid.shape) + 1.0
    tw = loaders.load_townships(towns, grid, pop)
    assert tw.parts.method == FR.PARTS_BY_AREA
    # column 2 is split half and half; column 5 lies outside both townships
    a = pop[:, :2].sum() + 0.5 * pop[:, 2].sum()
    b = 0.5 * pop[:, 2].sum() + pop[:, 3:5].sum()
    np.testing.assert_allclose(tw.table["population"], [a, b], rtol=1e-14)
    assert tw.population_outside_townships == pytest.approx(pop[:, 5].sum(), rel=1e-14)
    # centre raster kept for maps: column 2's centre (250) is on the border; column 3 in B
    assert (tw.zone[:, 3] == 1).all() and (tw.zone[:, 5] == -1).all()
    covered = np.zeros(grid.shape, bool)
    covered[:, 2] = True
    df = K.township_kpis(tw, pop, covered, {}, np.ones(2), np.zeros(2))
    np.testing.assert_allclose(df["covered_population"], [0.5 * pop[:, 2].sum()] * 2)

    # polygons carrying the township code: their people go to it, whatever the geometry
    polys = gpd.GeoDataFrame({"township_id": ["B", "A", "Z"],
                              "population": [100.0, 40.0, 5.0]},
                             geometry=[box(200, 0, 300, 400), box(0, 0, 200, 400),
                                       box(500, 0, 600, 100)], crs=CRS)
    with pytest.warns(UserWarning, match=r"1 population polygon\(s\) \(5 people\) have a "
                                         r"township_id that matches no township"):
        p = loaders.read_population(polys, grid)
        tw2 = loaders.load_townships(towns, grid, p.grid, population_source=p)
    assert tw2.parts.method == FR.PARTS_BY_CODE
    np.testing.assert_allclose(tw2.table["population"], [40.0, 100.0], rtol=1e-14)
    assert tw2.population_outside_townships == pytest.approx(5.0)
    covered = np.zeros(grid.shape, bool)
    covered[:2, 2] = True   # half of B's polygon (column 2), none of A's
    df = K.township_kpis(tw2, p.grid, covered, {}, np.ones(2), np.zeros(2))
    np.testing.assert_allclose(df["covered_population"], [0.0, 50.0], rtol=1e-14)
    per, out = tw2.township_sums(p.grid)
    assert per.sum() + out == pytest.approx(145.0, rel=1e-14)


def test_village_codes_give_the_township(tmp_path):
    grid = grid_4x6()
    towns = gpd.GeoDataFrame({"TOWNCODE": ["65000010", "65000020"], "TOWNNAME": ["a", "b"],
                              "COUNTYNAME": ["C", "C"]},
                             geometry=[box(0, 0, 300, 400), box(300, 0, 600, 400)], crs=CRS)
    vil = gpd.GeoDataFrame({"VILLCODE": ["65000010001", "65000020001"],
                            "population": [10.0, 20.0]},
                           geometry=[box(250, 0, 350, 400), box(350, 0, 600, 400)], crs=CRS)
    p = loaders.read_population(vil, grid)
    tw = loaders.load_townships(towns, grid, p.grid, population_source=p,
                                columns={"township_id": "TOWNCODE", "name": "TOWNNAME",
                                         "county": "COUNTYNAME"})
    np.testing.assert_allclose(tw.table["population"], [10.0, 20.0], rtol=1e-14)


def test_kpi_township_table_without_parts_uses_the_centre_raster():
    grid = grid_4x6()
    zone = np.full(grid.shape, -1, np.int32)
    zone[:, :3] = 0
    pop = np.ones(grid.shape)
    tw = loaders.Townships(pd.DataFrame({"township_id": ["A"], "name": ["a"], "county": ["c"],
                                         "remote": [False]}), zone, None, Path("t.gpkg"), 12.0)
    per, out = tw.township_sums(pop)
    assert per.tolist() == [12.0] and out == 12.0
