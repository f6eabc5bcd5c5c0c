"""Village mode (inputs.villages): population coverage per village, a village covered when at
least coverage.village_min_covered_share of its people are, remote villages by the 2024
universal-service rule (density below one fifth of the national density).

Shared Taiwan data: the builder with villages only (2021 village boundaries, 2021-03 village
population table) at 2000 m with the fast 38901-rma model. Independent reference: the village
table itself (內政部戶政司 registered counts) and the remote count measured in
tests/test_remote.py (781 of the 7,690 villages with a population row below one fifth of
23,268,991 / 36,197.07 km2 = 642.84 /km2).
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import geopandas as gpd
import numpy as np
import pytest
from helpers.taiwan import land_stations
from shapely.geometry import box
from shapely.ops import unary_union

import covkit
from covkit.coverage import kpi as K
from covkit.data import taiwan as T
from covkit.data import villages as V
from covkit.data.demo import write_demo
from covkit.errors import CovkitInputError

NATIONAL = {"national_population": 23_268_991, "national_area_km2": 36_197.07}
FAST = {"model": "38901-rma"}


# ----------------------------------------------------------------------------------------------
# the shared Taiwan data


@pytest.fixture(scope="module")
def taiwan_villages(shared_dir, tmp_path_factory):
    """The builder with villages only, 2000 m; a coverage run with 38901-rma, written."""
    base = shared_dir / "data" / "taiwan"
    tmp = tmp_path_factory.mktemp("taiwan_villages")
    stations = land_stations(base, tmp / "stations.csv", every=200)
    with pytest.warns(UserWarning, match="folded into their township"):
        toml = covkit.api.build_taiwan_scenario(
            tmp / "sc", townships=base / "villages-10t.json",
            villages=base / "villages-10t.json",
            village_population=base / "village_population_2021-03.csv",
            dem=base / "etopo1_taiwan_1arcmin.tif", stations=stations, resolution_m=2000.0)
    sc = covkit.load_scenario(toml).replace(propagation=FAST, coverage=NATIONAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        inputs = covkit.load_inputs(sc)
        res = covkit.run(inputs)
    res.write(tmp / "out")
    vtab, _ = T.read_village_population(base / "village_population_2021-03.csv")
    return base, toml, inputs, res, tmp / "out", vtab


def test_builder_scenario_references_villages(taiwan_villages):
    _, toml, inputs, *_ = taiwan_villages
    assert 'villages = "villages.gpkg"' in toml.read_text(encoding="utf-8")
    assert covkit.load_scenario(toml).inputs.villages == toml.parent / "villages.gpkg"
    assert inputs.villages is not None and len(inputs.villages.table) == 7701


def test_village_populations_equal_registered_counts_exactly(taiwan_villages):
    _, toml, inputs, _, _, vtab = taiwan_villages
    vil = inputs.villages
    assert vil.parts.method == V.PARTS_BY_VILLAGE_CODE
    t = vil.table.set_index("village_id")
    reg = vtab.set_index("VILLCODE")["population"]
    has_row = t.index.isin(reg.index)
    assert has_row.sum() == 7690
    np.testing.assert_allclose(t.loc[has_row, "population"].to_numpy(),
                               reg.reindex(t.index[has_row]).to_numpy(dtype=float),
                               rtol=1e-12, atol=1e-9)
    # villages without a row hold what the builder folded into them (villages.gpkg), and
    # the rest of the folded people (spread over a township's area) are in no village
    gpkg = gpd.read_file(toml.parent / "villages.gpkg").set_index("village_id")
    np.testing.assert_allclose(t["population"].to_numpy(),
                               gpkg["population"].reindex(t.index).to_numpy(), rtol=1e-12,
                               atol=1e-9)
    total = inputs.population.sum()
    assert t["population"].sum() + vil.population_outside_villages == \
        pytest.approx(total, rel=1e-12)
    src = json.loads((toml.parent / "sources.json").read_text(encoding="utf-8"))
    folded = src["join"]["village_population"]["folded"]
    assert 0 < vil.population_outside_villages < folded["people"] == 86_480
    # each village's township: the first 8 digits of its VILLCODE, names from the townships
    assert (t["township_id"] == t.index.str[:8]).all()
    assert t.loc["09020010001", "county"] == "金門縣"


def test_remote_villages_on_the_official_national_density(taiwan_villages):
    _, _, inputs, _, _, vtab = taiwan_villages
    vil = inputs.villages
    assert vil.rule["national_density_per_km2"] == pytest.approx(642.84, abs=0.005)
    assert vil.rule["national_density_source"] == \
        "coverage.national_population / coverage.national_area_km2"
    assert vil.rule["threshold_density_per_km2"] == pytest.approx(128.568, abs=0.001)
    t = vil.table
    has_row = t["village_id"].isin(vtab["VILLCODE"]).to_numpy()
    remote = t["remote_village"].to_numpy(dtype=bool)
    # the 7,690 villages with a row agree with tests/test_remote.py's 781; of the 11 without
    # a row one, 10008130017 (南投縣), holds 786 folded people on 71 km2 and is remote too
    assert int(remote[has_row].sum()) == 781
    assert t.loc[remote & ~has_row, "village_id"].tolist() == ["10008130017"]
    assert int(remote.sum()) == 782
    d = t["population"].to_numpy() / t["area_km2"].to_numpy()
    np.testing.assert_array_equal(remote, d < vil.rule["threshold_density_per_km2"])


def test_village_outputs_summary_and_report(taiwan_villages):
    _, toml, inputs, res, out, _ = taiwan_villages
    # the Taiwan builder asks for Excel code cells (="09020010"): covkit's reader strips them
    df = covkit.runfolder.read_csv_table(out / "kpi_villages.csv",
                                         dtype={"village_id": str, "township_id": str})
    assert len(df) == 7701 and df["village_id"].is_unique
    assert list(df.columns[:5]) == ["village_id", "name", "township_id", "township_name",
                                    "county"]
    for col in ("population", "covered_population", "coverage_pct", "covered", "area_km2",
                "density_per_km2", "remote_village", "status"):
        assert col in df.columns
    assert gpd.read_file(out / "kpi_villages.gpkg").crs == inputs.grid.crs
    assert len(gpd.read_parquet(out / "kpi_villages.parquet")) == 7701
    comp = df["status"].str.startswith("computed").to_numpy()
    share = df["covered_population"] / df["population"]
    np.testing.assert_array_equal(df.loc[comp, "covered"].to_numpy(),
                                  (share[comp] >= 0.5).to_numpy() & (df.loc[comp, "population"]
                                                                     > 0).to_numpy())
    # Kinmen lies beyond the DEM: its townships, and so their villages, are not computed
    # (but 烏坵鄉 09020060, an islet of the county inside the DEM, is computed from its people)
    kinmen = df["township_id"].str.startswith("09020") & (df["township_id"] != "09020060")
    assert comp[(df["township_id"] == "09020060").to_numpy()].all()
    assert kinmen.any() and not comp[kinmen.to_numpy()].any()
    assert df.loc[kinmen, "coverage_pct"].isna().all() and not df.loc[kinmen, "covered"].any()
    tw = res.townships.set_index("township_id")
    assert (tw.loc[df.loc[~comp, "township_id"], "status"].str.startswith("not computed")).all()
    # the village sums per township are the township's (villages tile townships), except
    # where folded people lie over a township's whole area, in none of its villages
    by_town = df.groupby("township_id")["covered_population"].sum()
    pop_town = df.groupby("township_id")["population"].sum().reindex(tw.index).fillna(0.0)
    whole = np.isclose(pop_town.to_numpy(), tw["population"].to_numpy(), rtol=1e-9, atol=1e-6)
    src = json.loads((toml.parent / "sources.json").read_text(encoding="utf-8"))
    over_area = src["join"]["village_population"]["folded"]["spread_over_township_area"]
    assert set(tw.index[~whole]) == set(over_area) and len(over_area) == 18
    ok = tw.index[tw["status"].str.startswith("computed").to_numpy() & whole]
    np.testing.assert_allclose(by_town.reindex(ok).fillna(0.0).to_numpy(),
                               tw.loc[ok, "covered_population"].to_numpy(), rtol=1e-9,
                               atol=1e-6)
    s = json.loads((out / "kpi_summary.json").read_text(encoding="utf-8"))["villages"]
    cov = df["covered"].to_numpy(dtype=bool)
    rem = df["remote_village"].to_numpy(dtype=bool)
    assert s["count"] == 7701 and s["covered"] == int(cov.sum()) > 0
    assert s["remote_villages"] == 782 and s["remote_villages_covered"] == int((cov & rem).sum())
    assert s["min_covered_share"] == 0.5
    assert s["population_in_covered_villages"] == pytest.approx(
        df.loc[cov, "population"].sum(), rel=1e-12)
    assert "NCC publishes no figure" in s["method"]
    for name in ("kpi_villages.csv", "kpi_villages.gpkg", "kpi_villages.parquet"):
        assert name in res.summary["outputs"]
    covkit.api.write_report(out)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Villages" in md and "782 remote villages" in md
    worst = df[rem & comp].sort_values(["uncovered_population", "village_id"],
                                       ascending=[False, True]).head(10)
    rows = [line for line in md.splitlines()[md.splitlines().index("## Villages"):]
            if line.startswith("| ") and line[2:13].isdigit()]
    assert [r[2:13] for r in rows] == worst["village_id"].tolist()


# ----------------------------------------------------------------------------------------------
# a hand-made case on the demo island: the covered flag at the share boundary


@pytest.fixture(scope="module")
def demo_cells(tmp_path_factory):
    """The demo island, its coverage with 38901-rma, and per township the covered and
    uncovered cells lying wholly inside it."""
    folder = tmp_path_factory.mktemp("village_demo")
    toml = write_demo(folder)
    sc = covkit.load_scenario(toml).replace(propagation=FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = covkit.run(sc)
    return folder, sc, res


def _cell_box(grid, r, c):
    x0, y0, res_m = grid.x0_m, grid.y0_m, grid.resolution_m
    return box(x0 + c * res_m, y0 - (r + 1) * res_m, x0 + (c + 1) * res_m, y0 - r * res_m)


def _villages_in_one_township(res, n_covered_of_4=(2, 1, 3, 4, 0)):
    """Five villages of four whole cells each inside one township, with 2 / 1 / 3 / 4 / 0 of
    their cells covered, and 400 people each (100 per cell exactly)."""
    grid = res.grid
    tw = res.inputs.townships
    geoms = np.asarray(tw.gdf.geometry.values)
    for t in np.argsort(-res.townships["population"].to_numpy()):
        rows, cols = np.nonzero(tw.zone == t)
        inside = [(r, c) for r, c in zip(rows, cols, strict=True)
                  if geoms[t].contains(_cell_box(grid, r, c))]
        cov = [rc for rc in inside if res.covered[rc]]
        unc = [rc for rc in inside if not res.covered[rc]]
        if len(cov) >= 10 and len(unc) >= 10:
            break
    polys, ids = [], []
    for k, n in enumerate(n_covered_of_4):
        cells = [cov.pop() for _ in range(n)] + [unc.pop() for _ in range(4 - n)]
        polys.append(unary_union([_cell_box(grid, r, c) for r, c in cells]))
        ids.append(f"V{k + 1}")
    town = str(tw.table["township_id"].iloc[t])
    return gpd.GeoDataFrame({"village_id": ids, "name": [f"Village {i}" for i in ids],
                             "township_id": town, "population": 400.0},
                            geometry=polys, crs=grid.crs), town


def test_covered_flag_follows_the_share_key_at_the_boundary(demo_cells):
    folder, sc, res = demo_cells
    vil, town = _villages_in_one_township(res)
    vil.to_file(folder / "villages.gpkg", layer="villages")
    # the villages are also the population (they carry their village code)
    vil.to_file(folder / "population_villages.gpkg", layer="population")
    base = sc.replace(inputs={"villages": str(folder / "villages.gpkg"),
                              "population": str(folder / "population_villages.gpkg")})
    inputs = covkit.load_inputs(base)
    assert inputs.villages.parts.method == V.PARTS_BY_VILLAGE_CODE
    np.testing.assert_array_equal(inputs.villages.table["population"].to_numpy(), 400.0)
    assert inputs.villages.population_outside_villages == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        r50 = covkit.run(inputs)
    # coverage does not depend on the population: the same cells as the demo's run
    np.testing.assert_array_equal(r50.covered, res.covered)
    v = r50.villages.set_index("village_id")
    np.testing.assert_array_equal(v["covered_population"].to_numpy(),
                                  [200.0, 100.0, 300.0, 400.0, 0.0])
    assert v["covered"].tolist() == [True, False, True, True, False]  # share 0.5 is covered
    assert (v["township_id"] == town).all()
    assert r50.summary["villages"]["covered"] == 3
    assert r50.summary["villages"]["population_in_covered_villages"] == 1200.0
    # the key through the scenario: 0.75 makes the village at exactly 0.75 covered, 0.5 not
    i75 = dataclasses.replace(inputs, scenario=base.replace(
        coverage={"village_min_covered_share": 0.75}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        r75 = covkit.run(i75)
    assert r75.villages["covered"].tolist() == [False, False, True, True, False]
    # just above a village's share it is not covered, at it it is
    for share, want in ((0.25, [True, True, True, True, False]),
                        (np.nextafter(0.25, 1.0) + 1e-9, [True, False, True, True, False]),
                        (1.0, [False, False, False, True, False])):
        df = K.village_kpis(inputs.villages, r50.townships, inputs.population, r50.covered,
                            share)
        assert df["covered"].tolist() == want, share


def test_villages_by_area_fraction_sum_to_their_township(demo_cells):
    folder, sc, res = demo_cells
    tw = res.inputs.townships
    t = int(np.argmax(res.townships["population"].to_numpy()))
    geom = tw.gdf.geometry.iloc[t]
    xmin, ymin, xmax, ymax = geom.bounds
    cuts = np.linspace(xmin, xmax, 6)  # five strips, not aligned with the grid
    strips = [geom.intersection(box(a, ymin - 1, b, ymax + 1))
              for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    code = str(tw.table["township_id"].iloc[t])
    vil = gpd.GeoDataFrame({"village_id": [f"{code}-{k}" for k in range(5)],
                            "VILLNAME": [f"Strip {k}" for k in range(5)]},
                           geometry=strips, crs=res.grid.crs)
    vil["TOWN"] = code
    sc_v = sc.replace(inputs={"village_columns": {"township_id": "TOWN", "name": "VILLNAME"}})
    inputs = covkit.load_inputs(sc_v, villages=vil)
    v = inputs.villages
    assert v.parts.method == V.PARTS_BY_VILLAGE_AREA
    assert v.table["name"].tolist() == [f"Strip {k}" for k in range(5)]
    assert (v.table["population"] > 0).all()
    assert v.table["population"].sum() == pytest.approx(tw.table["population"].iloc[t],
                                                        rel=1e-9)
    assert v.table["area_km2"].sum() == pytest.approx(tw.table["area_km2"].iloc[t], rel=1e-9)
    # the demo has no national figure: the township rule's loaded density stands in
    assert v.rule["national_density_source"] == \
        res.summary["remote_rule"]["national_density_source"]


def test_demo_without_villages_has_no_village_outputs(demo_cells):
    folder, _, res = demo_cells
    assert res.villages is None and res.summary["villages"] is None
    res.write(folder / "out")
    assert not (folder / "out" / "kpi_villages.csv").exists()


# ----------------------------------------------------------------------------------------------
# errors


def _village_frame(res, **cols):
    tw = res.inputs.townships
    code = str(tw.table["township_id"].iloc[0])
    g = tw.gdf.geometry.iloc[0]
    c = g.representative_point()
    polys = [box(c.x - 50 - 200 * k, c.y - 50, c.x + 50 - 200 * k, c.y + 50) for k in range(3)]
    data = {"village_id": ["A1", "A2", "A3"], "name": ["a", "b", "c"],
            "township_id": [code, code, code], **cols}
    return gpd.GeoDataFrame(data, geometry=polys, crs=res.grid.crs)


def test_village_whose_township_is_missing_is_an_error(demo_cells, tmp_path):
    _, sc, res = demo_cells
    vil = _village_frame(res)
    vil.loc[2, "township_id"] = "D9999"
    path = tmp_path / "villages.gpkg"
    vil.to_file(path, layer="villages")
    with pytest.raises(CovkitInputError, match=r"villages\.gpkg, column 'township_id', row 3: "
                                               r"village 'A3' lies in township 'D9999', which "
                                               r"is not among the townships"):
        covkit.load_inputs(sc.replace(inputs={"villages": str(path)}))


def test_village_input_errors(demo_cells, tmp_path):
    _, sc, res = demo_cells
    dup = _village_frame(res)
    dup.loc[1, "village_id"] = "A1"
    with pytest.raises(CovkitInputError, match=r"column 'village_id', row 2: duplicate id "
                                               r"'A1' \(first at row 1\)"):
        covkit.load_inputs(sc, villages=dup)
    no_code = _village_frame(res).drop(columns="village_id")
    with pytest.raises(CovkitInputError, match=r"no village code column \(village_id or "
                                               "VILLCODE"):
        covkit.load_inputs(sc, villages=no_code)
    no_town = _village_frame(res).drop(columns="township_id")
    with pytest.raises(CovkitInputError, match=r"row 1: village code 'A1' is not an 11-digit "
                                               "VILLCODE and the file has no township_id"):
        covkit.load_inputs(sc, villages=no_town)
    points = _village_frame(res)
    points = points.set_geometry(points.geometry.centroid)
    with pytest.raises(CovkitInputError, match=r"row 1: geometry must be a polygon"):
        covkit.load_inputs(sc, villages=points)
    with pytest.raises(CovkitInputError, match=r"inputs\.village_columns names column 'CODE'"):
        covkit.load_inputs(sc.replace(inputs={"village_columns": {"village_id": "CODE"}}),
                           villages=_village_frame(res))
    with pytest.raises(CovkitInputError, match=r"inputs\.village_columns maps 'county'"):
        sc.replace(inputs={"village_columns": {"county": "X"}})
    with pytest.raises(CovkitInputError, match=r"coverage\.village_min_covered_share"):
        sc.replace(coverage={"village_min_covered_share": 0.0})


def test_villcode_gives_the_township(shared_dir, tmp_path):
    """Villages without a township_id column: the first 8 digits of their VILLCODE (蘭嶼鄉,
    on the DEM), the population polygons being the villages themselves."""
    base = shared_dir / "data" / "taiwan"
    v = gpd.read_file(base / "villages-10t.json", layer="villages").set_crs("EPSG:4326")
    v = v[v["TOWNCODE"] == "10014160"][["VILLCODE", "VILLNAME", "geometry"]]
    v = v.reset_index(drop=True)
    towns = gpd.read_file(base / "taiwan_townships_2021.geojson")
    towns = towns[towns["TOWNCODE"] == "10014160"].reset_index(drop=True)
    sc = covkit.config.Scenario.from_dict({
        "scenario": {"crs": "EPSG:3826", "resolution_m": 500.0,
                     "bounds": [299_000.0, 2_425_000.0, 316_000.0, 2_445_000.0]},
        "inputs": {"township_columns": {"township_id": "TOWNCODE", "name": "TOWNNAME",
                                        "county": "COUNTYNAME"}},
        "coverage": NATIONAL})
    stations = land_stations(base, tmp_path / "stations.csv", every=1, villages=v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        inputs = covkit.load_inputs(sc, dem=base / "etopo1_taiwan_1arcmin.tif",
                                    stations=stations, population=v.assign(population=100.0),
                                    townships=towns, villages=v)
    t = inputs.villages.table
    assert len(t) == len(v) == 4
    assert (t["township_id"] == "10014160").all()
    assert (t["township_name"] == "蘭嶼鄉").all()
    assert (t["county"] == towns["COUNTYNAME"].iloc[0]).all()
    assert inputs.villages.parts.method == V.PARTS_BY_VILLAGE_CODE
    np.testing.assert_allclose(t["population"].to_numpy(), 100.0, rtol=1e-12)
    assert (t["name"] == v["VILLNAME"].to_numpy()).all()
    # 400 people on about 48 km2: every village far below one fifth of 642.84 /km2
    assert t["remote_village"].all()
