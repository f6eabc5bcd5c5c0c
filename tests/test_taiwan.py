"""Loaders on real Taiwan data from ../shared (2021 township boundaries, 2022-03 household
registration population, ETOPO1 DEM): formats as published, joined on TOWNCODE."""

from __future__ import annotations

import hashlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers.taiwan import land_stations, village_scenario
from typer.testing import CliRunner

import covkit
from covkit.cli import app
from covkit.cli.common import print_kpis
from covkit.config import scenario_from_dict
from covkit.data import loaders
from covkit.data import taiwan as T
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


# ----------------------------------------------------------------------------------------------
# the scenario builder (covkit scenario taiwan) and the exact population join


REGISTERED_2022_03 = 23_268_991   # township table total (SOURCE.md)
REGISTERED_2021_03 = 23_525_623   # village table total (SOURCE.md)


@pytest.fixture(scope="module")
def built(shared_dir, tmp_path_factory):
    """Both tables (2022-03 townships, 2021-03 villages) and village boundaries, 1000 m."""
    base = shared_dir / "data" / "taiwan"
    tmp = tmp_path_factory.mktemp("taiwan_built")
    stations = land_stations(base, tmp / "stations.csv")
    with pytest.warns(UserWarning, match=r"71 village row\(s\) \(86,480 people\)"):
        toml = covkit.api.build_taiwan_scenario(
            tmp / "sc", townships=base / "towns-10t.json", villages=base / "villages-10t.json",
            population=base / "township_population_2022-03.json",
            village_population=base / "village_population_2021-03.csv",
            dem=base / "etopo1_taiwan_1arcmin.tif", stations=stations, resolution_m=1000.0)
    registered = pd.read_csv(base / "townships_population_2022-03.csv",
                             dtype={"TOWNCODE": str}).set_index("TOWNCODE")
    return base, toml, stations, registered


def test_builder_townships_equal_registered_counts_exactly(built):
    base, toml, _, registered = built
    inputs = covkit.load_inputs(toml)
    tw = inputs.townships.table.set_index("township_id")
    assert len(tw) == 368
    reg = registered["population"].reindex(tw.index).to_numpy(dtype=float)
    # every one of the 368, Kinmen and Matsu included: the grid bounds are the townships'
    # extent (beyond the DEM there), so no township is outside the grid
    np.testing.assert_allclose(tw["population"].to_numpy(), reg, rtol=1e-12, atol=0)
    assert inputs.population.sum() == pytest.approx(REGISTERED_2022_03, rel=1e-12)
    assert inputs.report["population_outside_grid"] == 0.0
    assert inputs.townships.population_outside_townships == pytest.approx(0.0, abs=1e-6)
    assert inputs.townships.parts.method == "population polygons carry their township code"
    for code in ("09020010", "09007010"):  # 金城鎮 (Kinmen), 南竿鄉 (Matsu)
        assert tw.loc[code, "population"] == pytest.approx(registered.loc[code, "population"],
                                                           rel=1e-12)
    # households: the registered counts, through the townships file's column
    files = gpd.read_file(toml.parent / "townships.gpkg")
    assert files["township_id"].str.len().eq(8).all() and "09007010" in set(files.township_id)
    assert files["households"].sum() == 9_004_145
    assert set(files["county"]) >= {"臺北市", "臺中市", "臺南市", "臺東縣"}
    assert not any("台" in c for c in files["county"])
    assert "台北市" in set(files["COUNTYNAME"])  # as given, beside the display spelling
    # the 7 self-intersecting village rings of villages-10t.json are repaired at build time
    for name in ("townships", "villages", "population"):
        g = gpd.read_file(toml.parent / f"{name}.gpkg")
        assert g.is_valid.all() and g.to_crs("EPSG:3826").is_valid.all(), name


def test_builder_scenario_classifies_remote_by_the_official_national_density(built):
    """The builder writes the national figures, so the remote rule uses 23,268,991 people /
    36,197.07 km2 (642.84 per km2), not the loaded townships' density: the 70 density townships
    of the derived table, plus the island townships at least 7.5 km offshore."""
    base, toml, _, registered = built
    sc = covkit.load_scenario(toml)
    assert sc.coverage.national_population == REGISTERED_2022_03
    assert sc.coverage.national_area_km2 == 36197.07
    tw = covkit.load_inputs(sc).townships
    t = tw.table.set_index("township_id")
    assert tw.remote_rule["national_density_per_km2"] == pytest.approx(642.84, abs=0.005)
    density = t["density_remote"].reindex(registered.index)
    assert int(density.sum()) == 70
    assert (density == registered["below_one_fifth_national_density"].astype(bool)).all()
    offshore_only = t.index[t["remote_rule"] == "offshore"]
    assert sorted(offshore_only) == ["09007030", "09007040", "09020060", "10013220",
                                     "10014110", "10016050", "10016060"]
    assert int(t["remote"].sum()) == 77


def test_dasymetric_spread_keeps_township_counts_and_empties_the_sea(built):
    _, toml, _, registered = built
    sc = covkit.load_scenario(toml)
    area = covkit.load_inputs(sc)
    dasy = covkit.load_inputs(sc.replace(coverage={"population_spread": "dasymetric"}))
    tw = dasy.townships.table
    np.testing.assert_allclose(tw["population"].to_numpy(),
                               registered["population"].reindex(tw["township_id"]).to_numpy(),
                               rtol=1e-12, atol=0)
    sea = np.isfinite(area.dem_m) & (area.dem_m <= 0)
    # by area, coastal villages put people on sea cells; dasymetric only where a polygon has
    # no land cell at all on the 1.8 km DEM (then area share, counted: totals stay exact)
    assert area.population[sea].sum() > 100_000
    assert dasy.population[sea].sum() < 0.15 * area.population[sea].sum()
    assert dasy.report["population_spread_fallback_polygons"] > 0
    assert area.report["population_spread_fallback_polygons"] == 0
    mountains = np.isfinite(area.dem_m) & (area.dem_m > 2000)
    assert dasy.population[mountains].sum() < area.population[mountains].sum()


def test_builder_report_folded_villages_and_vintages(built):
    _, toml, stations, _ = built
    src = json.loads((toml.parent / "sources.json").read_text(encoding="utf-8"))
    join = src["join"]
    folded = join["village_population"]["folded"]
    assert folded["rows"] == 71 and folded["people"] == 86_480
    assert len(folded["codes"]) == 71 and all(len(c) == 11 for c in folded["codes"])
    assert join["village_population"]["matched_rows"] == 7690
    assert join["township_population"]["old_7_digit_codes"] == 368
    v = join["vintages"]
    assert (v["township_table"], v["village_table"]) == ("2022-03", "2021-03")
    assert v["township_table_total"] == REGISTERED_2022_03
    assert v["village_table_total"] == REGISTERED_2021_03
    assert v["difference_township_minus_village"] == REGISTERED_2022_03 - REGISTERED_2021_03
    sha = {f["input"]: f["sha256"] for f in src["files"]}
    assert sha["stations"] == hashlib.sha256(stations.read_bytes()).hexdigest()
    md = (toml.parent / "SOURCES.md").read_text(encoding="utf-8")
    assert "86,480 people" in md and "-256,632" in md
    text = toml.read_text(encoding="utf-8")
    assert 'crs = "EPSG:3826"' in text and "resolution_m = 1000.0" in text
    assert str(stations.resolve()) in text


def test_villages_only_every_village_equals_its_registered_count(shared_dir, tmp_path):
    base = shared_dir / "data" / "taiwan"
    with pytest.warns(UserWarning, match="folded into their township"):
        toml = village_scenario(base, tmp_path, 1000.0)
    sc = covkit.load_scenario(toml)
    grid = loaders.grid_for(sc.scenario.crs, 1000.0, sc.inputs.dem, sc.scenario.bounds)
    pop = loaders.read_population(sc.inputs.population, grid)
    polys = gpd.read_file(sc.inputs.population)
    on_grid = np.bincount(pop.spread.polygon, weights=pop.spread.value, minlength=len(polys))
    vtab, _ = T.read_village_population(base / "village_population_2021-03.csv")
    reg = vtab.set_index("VILLCODE")["population"]
    has_row = polys["village_id"].isin(reg.index).to_numpy()
    assert has_row.sum() == 7690
    np.testing.assert_allclose(on_grid[has_row],
                               reg.reindex(polys.loc[has_row, "village_id"]).to_numpy(),
                               rtol=1e-12, atol=0)
    assert pop.grid.sum() == pytest.approx(REGISTERED_2021_03, rel=1e-12)
    tw = loaders.load_townships(sc.inputs.townships, grid, pop.grid, population_source=pop)
    by_town = vtab.groupby("TOWNCODE")["population"].sum()  # folded rows included
    np.testing.assert_allclose(tw.table["population"].to_numpy(),
                               by_town.reindex(tw.table["township_id"]).to_numpy(),
                               rtol=1e-12, atol=0)


def test_layer_choice(shared_dir):
    base = shared_dir / "data" / "taiwan"
    assert T.choose_layer(base / "villages-10t.json", "townships") == "towns"
    assert T.choose_layer(base / "villages-10t.json", "villages") == "villages"
    assert T.choose_layer(base / "taiwan_townships_2021.geojson", "townships") == \
        "taiwan_townships_2021"
    with pytest.raises(CovkitInputError, match=r"several layers \(towns, counties, nation\) "
                                               r"and none is named for villages"):
        T.choose_layer(base / "towns-10t.json", "villages")
    with pytest.raises(CovkitInputError, match=r"layer 'vilages' is not in the file \(layers: "
                                               r"villages, towns, counties, nation\)"):
        T.choose_layer(base / "villages-10t.json", "villages", "vilages")
    with pytest.raises(CovkitInputError, match=r"layer villages holds villages \(VILLCODE; "
                                               r"TOWNCODE repeats\), not townships"):
        T.read_boundaries(base / "villages-10t.json", "townships", layer="villages")
    # the generic loader no longer takes the first layer silently
    with pytest.raises(CovkitInputError, match=r"several layers \(towns, counties, nation\)"):
        loaders.read_table(base / "towns-10t.json", "population")


def test_old_7_digit_codes_normalised(shared_dir):
    base = shared_dir / "data" / "taiwan"
    assert T.normalise_town_code("6500001") == "65000010"
    assert T.normalise_town_code("0900701") == "09007010"
    assert T.normalise_town_code("09007010") == "09007010"
    assert T.normalise_town_code("650001") is None
    table, info = T.read_township_population(base / "township_population_2022-03.json")
    towns, _ = T.read_boundaries(base / "taiwan_townships_2021.geojson", "townships")
    assert set(table["TOWNCODE"]) == set(towns["TOWNCODE"])
    assert info["total"] == REGISTERED_2022_03 and info["old_7_digit_codes"] == 368
    csv, _ = T.read_township_population(base / "townships_population_2022-03.csv")
    assert "09007010" in set(csv["TOWNCODE"])  # read as text: the leading zero stays
    merged = table.merge(csv, on="TOWNCODE", suffixes=("_json", "_csv"))
    assert len(merged) == 368
    assert (merged["population_json"] == merged["population_csv"]).all()


def test_population_row_matching_no_polygon_is_an_error(shared_dir, tmp_path):
    base = shared_dir / "data" / "taiwan"
    df = pd.read_csv(base / "townships_population_2022-03.csv", dtype=str)
    df.loc[4, "TOWNCODE"] = "99999990"
    df.to_csv(tmp_path / "pop.csv", index=False)
    towns, _ = T.read_boundaries(base / "taiwan_townships_2021.geojson", "townships")
    with pytest.raises(CovkitInputError, match=r"pop\.csv, column 'TOWNCODE', row 5: 1 "
                                               r"township population row\(s\) have a township "
                                               r"code that matches no township polygon "
                                               r"\(first: TOWNCODE '99999990'\)"):
        T.join_taiwan(towns, township_population=T.read_township_population(tmp_path /
                                                                            "pop.csv"))
    vil = pd.read_csv(base / "village_population_2021-03.csv", dtype=str).head(50)
    vil.loc[7, "村里代碼"] = "12345670-001"
    vil.to_csv(tmp_path / "vil.csv", index=False)
    with pytest.raises(CovkitInputError, match=r"vil\.csv, column '村里代碼', row 8: .*"
                                               r"'12345670'"):
        T.join_taiwan(towns, village_population=T.read_village_population(tmp_path /
                                                                          "vil.csv"))
    vil.loc[7, "村里代碼"] = "1234567-001"
    vil.to_csv(tmp_path / "vil.csv", index=False)
    with pytest.raises(CovkitInputError, match=r"row 8: village code '1234567-001' is not "
                                               r"TOWNCODE-NNN"):
        T.read_village_population(tmp_path / "vil.csv")


def test_builder_refusals(shared_dir, tmp_path):
    base = shared_dir / "data" / "taiwan"
    common = {"townships": base / "towns-10t.json", "dem": base / "etopo1_taiwan_1arcmin.tif",
              "population": base / "township_population_2022-03.json"}
    with pytest.raises(CovkitInputError, match=r"no stations given.*--stations"):
        covkit.api.build_taiwan_scenario(tmp_path / "a", **common)
    with pytest.raises(CovkitInputError, match="no population given"):
        covkit.api.build_taiwan_scenario(tmp_path / "c", townships=common["townships"],
                                         dem=common["dem"], stations=base / "SOURCE.md")
    assert not (tmp_path / "a").exists()
    r = CliRunner().invoke(app, ["scenario", "taiwan", "--townships", str(common["townships"]),
                                 "--dem", str(common["dem"]), "--population",
                                 str(common["population"]), "--out", str(tmp_path / "d")])
    assert isinstance(r.exception, CovkitInputError) and "--stations" in str(r.exception)


@pytest.mark.slow
def test_built_scenario_runs_with_one_row_per_towncode(built, tmp_path, capsys):
    """covkit run on the built scenario (TR 38.901 RMa, to keep it short): kpi_townships.csv has one
    row per TOWNCODE with its registered population."""
    _, toml, _, registered = built
    out = tmp_path / "run"
    sc = covkit.load_scenario(toml).replace(propagation={"model": "38901-rma"})
    covkit.run(sc, out_dir=out)
    # the builder asks for Excel code cells (="09007010") and one spelling of names
    raw = (out / "kpi_townships.csv").read_text(encoding="utf-8-sig")
    assert '"=""09007010"""' in raw and "臺北市" in raw and "台北市" not in raw
    k = covkit.runfolder.read_csv_table(out / "kpi_townships.csv", dtype={"township_id": str})
    assert len(k) == 368 and k["township_id"].is_unique
    np.testing.assert_allclose(k["population"].to_numpy(),
                               registered["population"].reindex(k["township_id"]).to_numpy(),
                               rtol=1e-12)
    assert CliRunner().invoke(app, ["scenario", "check", str(toml)]).exit_code == 0
    # what covkit run prints: the rule's arms with the offshore additions by name, and the
    # non-remote / remote coverage per county in code order, the method beside each figure
    summary = json.loads((out / "kpi_summary.json").read_text(encoding="utf-8"))
    rows = {r[0]: r for r in covkit.api.remote_rows(summary)}
    assert rows["density"][1] == "70" and "642.84 = 128.57 people/km2" in rows["density"][2]
    offshore = rows["offshore additions"]
    assert offshore[1] == "7" and "09007040 東引鄉" in offshore[2]
    assert rows["remote townships"][1] == "77"
    counties = covkit.api.county_rows(summary)
    assert [c[0] for c in counties[:3]] == ["09007", "09020", "10002"]
    assert counties[0][1] == "連江縣" and counties[0][4] > 0
    methods = covkit.api.headline_methods(summary)
    assert "non-remote townships" in methods["non_remote_population_coverage_pct"]
    assert "-110 dBm" in methods["population_coverage_pct"]
    print_kpis(summary)
    text = capsys.readouterr().out
    assert "remote townships" in text and "東引鄉" in text and "臺北市" in text


def test_township_table_without_households(shared_dir, tmp_path):
    base = shared_dir / "data" / "taiwan"
    df = pd.read_csv(base / "townships_population_2022-03.csv", dtype=str)
    df[["TOWNCODE", "population"]].to_csv(tmp_path / "pop.csv", index=False)
    towns, _ = T.read_boundaries(base / "taiwan_townships_2021.geojson", "townships")
    j = T.join_taiwan(towns, township_population=T.read_township_population(tmp_path /
                                                                            "pop.csv"))
    assert "households" not in j.townships.columns  # KPIs fall back to household_size
    assert j.townships["population"].sum() == REGISTERED_2022_03
    assert (j.population["level"] == "township").all() and len(j.population) == 368


def test_builder_with_synthetic_sites(shared_dir, tmp_path):
    """No station list: --synthetic-sites places seeded sites on the built scenario's land,
    writes them as stations.csv flagged synthetic, and the scenario loads with them."""
    base = shared_dir / "data" / "taiwan"
    args = ["scenario", "taiwan", "--townships", str(base / "towns-10t.json"),
            "--population", str(base / "township_population_2022-03.json"),
            "--dem", str(base / "etopo1_taiwan_1arcmin.tif"), "--synthetic-sites", "400",
            "--operators", "2", "--resolution-m", "2000"]
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    st = pd.read_csv(tmp_path / "a" / "stations.csv", encoding="utf-8-sig")
    assert st["site_id"].nunique() == 400 and set(st["operator"]) == {"A", "B"}
    assert st["synthetic"].all()
    again = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert again.exit_code == 0
    assert (tmp_path / "a" / "stations.csv").read_bytes() == \
        (tmp_path / "b" / "stations.csv").read_bytes()  # seeded
    inputs = covkit.load_inputs(tmp_path / "a" / "scenario.toml")
    assert inputs.stations.synthetic_sites == 400
    assert (inputs.dem_m[inputs.grid.index_of(*[inputs.stations.table[c].to_numpy()
                                                 for c in ("x_m", "y_m")])] > 0).all()
    both = CliRunner().invoke(app, [*args, "--stations", str(base / "SOURCE.md"),
                                    "--out", str(tmp_path / "c")])
    assert isinstance(both.exception, CovkitInputError) and "not both" in str(both.exception)


def test_boundaries_as_geojson_and_shapefile_read_alike(shared_dir, tmp_path):
    """The same townships as TopoJSON (towns layer), GeoJSON and Shapefile: the same 368
    TOWNCODEs (codes as text) and names, and the builder takes the Shapefile."""
    base = shared_dir / "data" / "taiwan"
    topo, _ = T.read_boundaries(base / "towns-10t.json", "townships")
    geo, _ = T.read_boundaries(base / "taiwan_townships_2021.geojson", "townships")
    gpd.read_file(base / "taiwan_townships_2021.geojson").to_file(tmp_path / "towns.shp",
                                                                   encoding="utf-8")
    shp, _ = T.read_boundaries(tmp_path / "towns.shp", "townships")
    for df in (geo, shp):
        assert sorted(df["TOWNCODE"]) == sorted(topo["TOWNCODE"])
        assert df["TOWNCODE"].str.len().eq(8).all() and "09007010" in set(df["TOWNCODE"])
        assert set(df["TOWNNAME"]) == set(topo["TOWNNAME"])
    toml = covkit.api.build_taiwan_scenario(
        tmp_path / "sc", townships=tmp_path / "towns.shp",
        population=base / "township_population_2022-03.json",
        dem=base / "etopo1_taiwan_1arcmin.tif", synthetic_sites=50, resolution_m=5000.0)
    tw = covkit.load_inputs(toml).townships.table
    assert len(tw) == 368 and tw["population"].sum() == pytest.approx(REGISTERED_2022_03,
                                                                      rel=1e-12)
