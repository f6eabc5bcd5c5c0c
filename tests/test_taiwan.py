"""Loaders on real Taiwan data from ../shared (2021 township boundaries, 2022-03 household
registration population, ETOPO1 DEM): formats as published, joined on TOWNCODE."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from covkit.config import scenario_from_dict
from covkit.data import loaders
from covkit.errors import CovkitInputError


@pytest.fixture(scope="module")
def taiwan(shared_dir, tmp_path_factory):
    base = shared_dir / "data" / "taiwan"
    tmp = tmp_path_factory.mktemp("taiwan")
    towns = gpd.read_file(base / "taiwan_townships_2021.geojson")
    table = pd.read_csv(base / "townships_population_2022-03.csv", dtype={"TOWNCODE": str})
    joined = towns.merge(table[["TOWNCODE", "population"]], on="TOWNCODE", validate="1:1")
    joined[["TOWNCODE", "population", "geometry"]].to_file(tmp / "population.gpkg")
    grid = loaders.grid_for("EPSG:3826", 500.0, base / "etopo1_taiwan_1arcmin.tif")
    return base, tmp, grid, table


def test_population_polygons_preserve_the_registered_total(taiwan):
    base, tmp, grid, table = taiwan
    pop, report = loaders.load_population(tmp / "population.gpkg", grid)
    total = float(table["population"].sum())  # 23,268,991 registered residents, March 2022
    assert report["population_source_total"] == total
    # Kinmen and Matsu lie west of / north of the DEM's extent: reported, not dropped silently
    assert 100_000 < report["population_outside_grid"] < 200_000
    assert pop.sum() + report["population_outside_grid"] == pytest.approx(total, rel=1e-12)


def test_official_boundaries_with_column_map_and_remote_rule(taiwan):
    base, tmp, grid, table = taiwan
    pop, _ = loaders.load_population(tmp / "population.gpkg", grid)
    cols = {"township_id": "TOWNCODE", "name": "TOWNNAME", "county": "COUNTYNAME"}
    with pytest.warns(UserWarning, match=r"township\(s\) have no cell on the analysis grid"):
        tw = loaders.load_townships(base / "taiwan_townships_2021.geojson", grid, pop,
                                    columns=cols)
    t = tw.table.merge(table, left_on="township_id", right_on="TOWNCODE")
    assert len(t) == 368
    on_grid = t["population_x"] > 0
    assert on_grid.sum() >= 355
    # areas in TWD97 / TM2 agree with the published polygon areas
    rel = np.abs(t["area_km2"] - t["area_km2_polygon"]) / t["area_km2_polygon"]
    assert rel.max() < 0.005
    # the one-fifth density rule agrees with the published flag on the Taiwan main island
    # townships except at most a few near the threshold
    agree = (t["remote"] == t["below_one_fifth_national_density"])[on_grid]
    assert agree.mean() > 0.98
    assert 60 <= int(t.loc[on_grid, "remote"].sum()) <= 80


def test_column_map_errors(taiwan, tmp_path):
    base, _, grid, _ = taiwan
    with pytest.raises(CovkitInputError, match=r"inputs\.township_columns names column "
                                               r"'TOWN_ID', which the file lacks"):
        loaders.load_townships(base / "taiwan_townships_2021.geojson", grid,
                               np.ones(grid.shape), columns={"township_id": "TOWN_ID"})
    with pytest.raises(CovkitInputError, match=r"inputs\.township_columns maps 'code'"):
        scenario_from_dict({"scenario": {"crs": "EPSG:3826"},
                            "inputs": {"dem": "d", "stations": "s", "population": "p",
                                       "townships": "t", "township_columns": {"code": "X"}}},
                           file="s.toml")
