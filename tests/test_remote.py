"""The remote-township rule (偏遠地區, Taiwan telecom universal service) on the shared Taiwan data:
density below one fifth of the official national density, the offshore-island arm (>= 7.5 km
from the county seat, nearest shore or centroid), the official list override, the village rule.

Independent reference: ../shared/data/taiwan/townships_population_2022-03.csv, made outside
covkit (columns ``below_one_fifth_national_density`` = density < (23,268,991 / 36,197.07 km2) / 5
= 128.57 /km2 -> 70 townships; ``offshore_island_township`` (19); ``offshore_seat_min_km`` /
``offshore_seat_centroid_km``, distances from approximate county-seat coordinates). Densities
here use the CSV's registered populations and covkit's own polygon areas (EPSG:3826).
"""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers.scenario import write_small_scenario
from shapely.geometry import box

import covkit
from covkit.config import scenario_from_dict
from covkit.data import loaders
from covkit.data import remote as R
from covkit.errors import CovkitInputError

NATIONAL_POPULATION = 23_268_991  # 內政部戶政司, March 2022 (the CSV's total)
NATIONAL_AREA_KM2 = 36_197.07  # official land area (SOURCE.md)
OFFICIAL = R.RemoteOptions(national_population=NATIONAL_POPULATION,
                           national_area_km2=NATIONAL_AREA_KM2)
CRS = "EPSG:3826"

# offshore-island townships >= 7.5 km from their county seat that the density arm does not
# already make remote (蘭嶼鄉 10014160 is both: "density+offshore"), from the CSV's distances
SHORE_ADDITIONS = {"09007030": "莒光鄉", "09007040": "東引鄉", "09020060": "烏坵鄉",
                   "10013220": "琉球鄉", "10014110": "綠島鄉", "10016050": "望安鄉",
                   "10016060": "七美鄉"}
CENTROID_ADDITIONS = {**SHORE_ADDITIONS, "09007020": "北竿鄉", "09020020": "金沙鎮",
                      "09020030": "金湖鎮", "09020050": "烈嶼鄉", "10016020": "湖西鄉",
                      "10016030": "白沙鄉"}


@pytest.fixture(scope="module")
def tw(shared_dir):
    """The 368 townships (2021 boundaries) in TWD97 / TM2 with the CSV's columns."""
    base = shared_dir / "data" / "taiwan"
    towns = gpd.read_file(base / "taiwan_townships_2021.geojson")
    table = pd.read_csv(base / "townships_population_2022-03.csv",
                        dtype={"TOWNCODE": str, "COUNTYCODE": str})
    gdf = towns[["TOWNCODE", "geometry"]].merge(table, on="TOWNCODE", validate="1:1")
    gdf = gdf.to_crs(CRS).reset_index(drop=True)
    gdf["area_km2"] = gdf.geometry.area.to_numpy() / 1e6
    return gdf


def classify(gdf, options=OFFICIAL, **kw):
    return R.classify(gdf.geometry, gdf["TOWNCODE"].to_numpy(), gdf["TOWNNAME"].to_numpy(),
                      gdf["population"].to_numpy(float), gdf["area_km2"].to_numpy(), crs=CRS,
                      options=options, **kw)


def test_density_arm_gives_the_70_townships_with_the_official_national_figure(tw):
    res = classify(tw, R.RemoteOptions(national_population=NATIONAL_POPULATION,
                                       national_area_km2=NATIONAL_AREA_KM2, offshore_min_km=0))
    s = res.summary
    assert s["national_density_per_km2"] == pytest.approx(642.84, abs=0.005)
    assert s["threshold_density_per_km2"] == pytest.approx(128.57, abs=0.005)
    assert s["national_density_source"] == ("coverage.national_population / "
                                            "coverage.national_area_km2")
    density = res.columns["density_remote"]
    assert int(density.sum()) == 70
    np.testing.assert_array_equal(density, tw["below_one_fifth_national_density"].to_numpy())
    assert s["counts"]["density"] == 70 and s["offshore_applied"] is False
    assert not [m for m in res.warnings if "national density of the loaded" in m]
    # the density given directly classifies the same
    res2 = classify(tw, R.RemoteOptions(national_density_per_km2=642.84, offshore_min_km=0))
    np.testing.assert_array_equal(res2.remote, density)


def test_offshore_islands_found_geometrically_are_the_19(tw):
    island, main_km2 = R.offshore_islands(tw.geometry)
    np.testing.assert_array_equal(island, tw["offshore_island_township"].astype(bool))
    assert int(island.sum()) == 19
    assert 36_000 < main_km2 < 37_000  # Taiwan's main island (grown by 50 m)
    for gap_m in (1.0, 2000.0):  # the tolerance is not critical
        np.testing.assert_array_equal(R.offshore_islands(tw.geometry, gap_m)[0], island)


@pytest.mark.parametrize(("measure", "column", "additions"), [
    ("shore", "offshore_seat_min_km", SHORE_ADDITIONS),
    ("centroid", "offshore_seat_centroid_km", CENTROID_ADDITIONS),
])
def test_offshore_additions_for_both_measures(tw, measure, column, additions):
    opts = R.RemoteOptions(national_population=NATIONAL_POPULATION,
                           national_area_km2=NATIONAL_AREA_KM2, offshore_distance=measure)
    res = classify(tw, opts)
    island = res.columns["offshore_island"]
    # seat distances agree with the CSV's independent ones (approximate seats) within 1 km
    ours = res.columns["offshore_seat_km"][island]
    theirs = tw[column].to_numpy()[island]
    assert np.abs(ours - theirs).max() < 1.0
    assert np.isnan(res.columns["offshore_seat_km"][~island]).all()
    # the additions are those of the CSV's distances, and the listed ones
    expected = island & (tw[column].to_numpy() >= 7.5) & ~tw[
        "below_one_fifth_national_density"].to_numpy()
    got = {a["township_id"]: a["name"] for a in res.summary["offshore_additions"]}
    assert set(got) == set(tw.loc[expected, "TOWNCODE"]) == set(additions)
    assert got == additions
    rule = dict(zip(tw["TOWNCODE"], res.remote_rule, strict=True))
    assert rule["10014160"] == "density+offshore"  # 蘭嶼鄉: 110.9 /km2 and 83 km out
    assert rule["10016010"] is None  # 馬公市 holds Penghu's seat
    assert res.summary["counts"] == {"density": 69, "offshore": len(additions),
                                     "density+offshore": 1, "list": 0, "file": 0}
    assert int(res.remote.sum()) == 70 + len(additions)
    assert res.summary["offshore_distance"] == measure and res.summary["offshore_applied"]


def test_one_county_classifies_as_the_whole_country_with_the_national_keys(tw):
    whole = dict(zip(tw["TOWNCODE"], classify(tw).remote, strict=True))
    hsinchu = tw[tw["COUNTYCODE"] == "10004"].reset_index(drop=True)  # 新竹縣, holds 峨眉鄉
    assert "10004110" in set(hsinchu["TOWNCODE"])
    res = classify(hsinchu)
    assert dict(zip(hsinchu["TOWNCODE"], res.remote, strict=True)) == {
        c: whole[c] for c in hsinchu["TOWNCODE"]}
    assert whole["10004110"]  # 峨眉鄉 114.0 /km2 < 128.57
    assert not res.warnings
    # without them the county's own density (~406 /km2) stands in: said, and Emei flips
    res = classify(hsinchu, R.RemoteOptions())
    emei = int(np.flatnonzero(hsinchu["TOWNCODE"].to_numpy() == "10004110")[0])
    assert not res.remote[emei]
    assert res.summary["national_density_source"] == "loaded townships"
    assert res.summary["national_density_per_km2"] == pytest.approx(
        hsinchu["population"].sum() / hsinchu["area_km2"].sum())
    msg = [m for m in res.warnings if "national density of the loaded townships" in m]
    assert len(msg) == 1
    assert f"{res.summary['national_density_per_km2']:,.2f} persons/km2" in msg[0]


def test_subset_without_the_main_island_warns(tw):
    kinmen = tw[tw["COUNTYCODE"] == "09020"].reset_index(drop=True)
    res = classify(kinmen)
    assert any("the largest landmass of the loaded townships is only" in m
               for m in res.warnings)


def test_remote_list_overrides_the_rule_and_is_compared(tw, tmp_path):
    rule = classify(tw)
    listed = set(tw.loc[tw["below_one_fifth_national_density"], "TOWNCODE"])
    listed = (listed - {"10004110"}) | {"10016010"}  # drop 峨眉鄉, add 馬公市
    path = tmp_path / "remote_list.csv"
    pd.DataFrame({"TOWNCODE": sorted(listed), "TOWNNAME": "x"}).to_csv(path, index=False)
    opts = R.RemoteOptions(national_population=NATIONAL_POPULATION,
                           national_area_km2=NATIONAL_AREA_KM2, remote_list=path)
    res = classify(tw, opts)
    np.testing.assert_array_equal(res.remote, tw["TOWNCODE"].isin(listed).to_numpy())
    assert set(res.remote_rule) == {"list", None}
    lst = res.summary["list"]
    assert lst["listed"] == 70 and lst["rule"] == int(rule.remote.sum()) == 77
    assert {e["township_id"] for e in lst["list_only"]} == {"10016010"}
    assert {e["township_id"] for e in lst["rule_only"]} == set(SHORE_ADDITIONS) | {"10004110"}
    assert res.summary["counts"]["list"] == 70 and res.summary["source"] == "list"
    # the rule's own verdict stays in the columns
    np.testing.assert_array_equal(res.columns["density_remote"],
                                  tw["below_one_fifth_national_density"].to_numpy())
    assert any("rule only 8" in m and "list only 1 (10016010 馬公市)" in m
               for m in res.warnings)
    # a code that matches no township: file and row named
    bad = tmp_path / "bad.txt"
    bad.write_text("township_id,name\n10004110,峨眉鄉\n99999990,nowhere\n", encoding="utf-8")
    with pytest.raises(CovkitInputError, match=r"bad\.txt.*column 'township_id', row 2: code "
                                               r"'99999990' matches no township"):
        classify(tw, R.RemoteOptions(remote_list=bad))
    with pytest.raises(CovkitInputError, match="needs a column township_id or TOWNCODE"):
        (tmp_path / "nocol.csv").write_text("code\n10004110\n", encoding="utf-8")
        classify(tw, R.RemoteOptions(remote_list=tmp_path / "nocol.csv"))


def test_offshore_arm_needs_county_codes(tw):
    sub = tw[tw["COUNTYCODE"].isin(["10013"])].reset_index(drop=True)  # 屏東縣 with 琉球鄉
    ids = "T" + sub.index.astype(str).to_numpy(dtype=object)
    res = R.classify(sub.geometry, ids, sub["TOWNNAME"].to_numpy(),
                     sub["population"].to_numpy(float), sub["area_km2"].to_numpy(), crs=CRS,
                     options=OFFICIAL)
    assert int(res.columns["offshore_island"].sum()) == 1
    assert not res.summary["offshore_applied"]
    assert "no county code" in res.summary["offshore_not_applied_reason"]
    assert not res.warnings  # not Taiwan-coded: taken as given, said in the summary
    # with county seats given the user expects the arm: a warning says it cannot run
    opts = R.RemoteOptions(national_density_per_km2=642.84, county_seats=R.SEATS_FILE)
    res = R.classify(sub.geometry, ids, sub["TOWNNAME"].to_numpy(),
                     sub["population"].to_numpy(float), sub["area_km2"].to_numpy(), crs=CRS,
                     options=opts)
    assert any("no county code" in m and "琉球鄉" in m and "not applied" in m
               for m in res.warnings)
    # a county_code column mends it
    res = R.classify(sub.geometry, ids, sub["TOWNNAME"].to_numpy(),
                     sub["population"].to_numpy(float), sub["area_km2"].to_numpy(), crs=CRS,
                     options=OFFICIAL, county_code=sub["COUNTYCODE"].astype(int))
    assert res.summary["offshore_applied"]
    assert [a["name"] for a in res.summary["offshore_additions"]] == ["琉球鄉"]


def test_county_seats_file(tmp_path):
    seats = R.read_county_seats()
    assert len(seats) == 22 and seats["county_code"].is_unique
    assert {"09007", "09020", "10016", "63000"} <= set(seats["county_code"])
    bad = tmp_path / "seats.csv"
    bad.write_text("county_code,lon,lat\n09020,118.3,24.4\n10016,119.5,123\n", encoding="utf-8")
    with pytest.raises(CovkitInputError, match=r"column 'lat', row 2: 123\.0 is not a lat"):
        R.read_county_seats(bad)


def test_national_keys_are_validated():
    base = {"scenario": {"crs": CRS}}

    def scenario(**cov):
        return scenario_from_dict({**base, "coverage": cov}, file="s.toml",
                                  require_inputs=False)

    sc = scenario(national_population=NATIONAL_POPULATION, national_area_km2=NATIONAL_AREA_KM2)
    assert sc.coverage.national_area_km2 == NATIONAL_AREA_KM2
    assert sc.coverage.offshore_min_km == 7.5 and sc.coverage.offshore_distance == "shore"
    with pytest.raises(CovkitInputError, match=r"s\.toml, column 'coverage\.national_density_"
                                               r"per_km2'.*not both"):
        scenario(national_density_per_km2=642.84, national_population=NATIONAL_POPULATION,
                 national_area_km2=NATIONAL_AREA_KM2)
    with pytest.raises(CovkitInputError, match=r"coverage\.national_population needs "
                                               r"coverage\.national_area_km2 too"):
        scenario(national_population=NATIONAL_POPULATION)
    with pytest.raises(CovkitInputError, match=r"coverage\.national_area_km2 needs "
                                               r"coverage\.national_population too"):
        scenario(national_area_km2=NATIONAL_AREA_KM2)
    for key in ("national_density_per_km2", "national_population", "national_area_km2",
                "offshore_min_km"):
        with pytest.raises(CovkitInputError, match=rf"coverage\.{key}.*-5"):
            scenario(**{key: -5.0})
    with pytest.raises(CovkitInputError, match=r"coverage\.offshore_distance = 'road' is not "
                                               r"one of: shore, centroid"):
        scenario(offshore_distance="road")
    # the API function refuses the same
    with pytest.raises(CovkitInputError, match="not both"):
        R.national_density(642.84, population=1.0, area_km2=1.0)
    with pytest.raises(CovkitInputError, match="needs coverage.national_population"):
        R.national_density(area_km2=1.0)
    nd = R.national_density(loaded_population=10.0, loaded_area_km2=4.0)
    assert nd.density_per_km2 == 2.5 and nd.source == "loaded townships"


def test_villages_below_one_fifth(shared_dir):
    base = shared_dir / "data" / "taiwan"
    v = gpd.read_file(base / "villages-10t.json", layer="villages")
    v = v.set_crs("EPSG:4326", allow_override=True).to_crs(CRS)
    pop = pd.read_csv(base / "village_population_2021-03.csv", dtype=str)
    pop["VILLCODE"] = pop["村里代碼"].str.replace("-", "", regex=False)
    pop["population"] = pop["人口"].astype(int)
    j = v.merge(pop[["VILLCODE", "population"]], on="VILLCODE", how="inner", validate="1:1")
    assert len(j) == 7690  # SOURCE.md: 7,690 of 7,761 rows match
    area = j.geometry.area.to_numpy() / 1e6
    national = NATIONAL_POPULATION / NATIONAL_AREA_KM2
    remote = R.remote_villages(j["population"].to_numpy(), area, national)
    # measured on this data (2021-03 registered population, 2021 village boundaries)
    assert int(remote.sum()) == 781
    # villages are finer than townships: a remote township is mostly remote villages, and
    # the villages of the 70 remote townships hold most remote villages
    towns = pd.read_csv(base / "townships_population_2022-03.csv", dtype={"TOWNCODE": str})
    rt = set(towns.loc[towns["below_one_fifth_national_density"], "TOWNCODE"])
    in_rt = j["TOWNCODE"].isin(rt).to_numpy()
    assert remote[in_rt].mean() > 0.5 > remote[~in_rt].mean()
    # inclusive / exclusive threshold and the ratio
    assert (R.remote_villages(j["population"].to_numpy(), area, national, 1.0) >= remote).all()
    d = j["population"].to_numpy() / area
    np.testing.assert_array_equal(remote, d < national / 5)
    with pytest.raises(CovkitInputError, match="national_density"):
        R.remote_villages([1.0], [1.0], 0.0)
    with pytest.raises(CovkitInputError, match="ratio"):
        R.remote_villages([1.0], [1.0], 600.0, ratio=0.0)
    with pytest.raises(CovkitInputError, match="finite and >= 0"):
        R.remote_villages([-1.0], [1.0], 600.0)


# ----------------------------------------------------------------------------------------------
# through the loader and a run (the small synthetic scenario: fast)


def test_loader_records_the_basis_and_warns_for_taiwan_codes(tmp_path):
    toml = write_small_scenario(tmp_path / "s")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # T01 / T02: no county codes, no warning
        inputs = covkit.load_inputs(toml)
    t = inputs.townships.table
    assert list(t["remote_rule"]) == [None, None]
    rr = inputs.townships.remote_rule
    assert rr["national_density_source"] == "loaded townships"
    assert rr["national_density_per_km2"] == pytest.approx(1000.0)
    assert rr["offshore_island_townships"] == 0  # the two townships touch: one landmass
    # Taiwan township codes: the loaded townships may be one county, so the fallback is said
    gdf = gpd.read_file(tmp_path / "s" / "townships.gpkg")
    gdf["township_id"] = ["10004110", "10004120"]
    gdf.to_file(tmp_path / "s" / "townships.gpkg", layer="townships")
    with pytest.warns(UserWarning, match=r"national density of the loaded townships, "
                                         r"1,000.00 persons/km2 \(threshold 200.00\)"):
        inputs = covkit.load_inputs(toml)
    assert list(inputs.townships.table["county_code"]) == ["10004", "10004"]


def test_run_writes_remote_rule_to_the_outputs(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder, extra_toml="[coverage]\nnational_density_per_km2 = "
                                                   "9000.0\n")
    # a third township on an island 3 km east, Taiwan-style codes and a seat on the mainland
    gdf = gpd.read_file(folder / "townships.gpkg")
    x0, y0 = 250_000.0, 2_650_000.0
    gdf = pd.concat([gdf, gpd.GeoDataFrame(
        {"township_id": ["T03"], "name": ["Isle"], "county": ["C1"]},
        geometry=[box(x0 + 9000, y0 - 1000, x0 + 9500, y0 - 500)], crs=gdf.crs)])
    gdf["township_id"] = ["99001010", "99001020", "99001030"]
    gdf.to_file(folder / "townships.gpkg", layer="townships")
    lon, lat = loaders.xy_to_lonlat(np.array([x0 + 100.0]), np.array([y0 - 100.0]), CRS)
    (folder / "seats.csv").write_text(f"county_code,lon,lat\n99001,{lon[0]},{lat[0]}\n",
                                      encoding="utf-8")
    (folder / "list.csv").write_text("township_id\n99001030\n", encoding="utf-8")
    text = toml.read_text(encoding="utf-8").replace(
        'townships = "townships.gpkg"',
        'townships = "townships.gpkg"\ncounty_seats = "seats.csv"')
    toml.write_text(text, encoding="utf-8")
    res = covkit.run(toml, out_dir=tmp_path / "out")
    s = json.loads((tmp_path / "out" / "kpi_summary.json").read_text(encoding="utf-8"))
    rr = s["remote_rule"]
    # population 10 per 100 m cell = 1,000 /km2 < 9,000 / 5: density remote everywhere
    assert rr["threshold_density_per_km2"] == 1800.0
    assert rr["counts"]["density"] == 2 and rr["counts"]["density+offshore"] == 0
    assert [a["township_id"] for a in rr["offshore_additions"]] == ["99001030"]
    assert rr["offshore_additions"][0]["seat_km"] == pytest.approx(8.9, abs=0.05)
    csv = pd.read_csv(tmp_path / "out" / "kpi_townships.csv", dtype={"township_id": str})
    assert csv.set_index("township_id")["remote_rule"].to_dict() == {
        "99001010": "density", "99001020": "density", "99001030": "offshore"}
    assert res.summary["remote_townships"] == 3
    covkit.write_report(tmp_path / "out")
    assert "Remote townships: population density below" in (
        tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    # the official list decides, the comparison is kept
    toml.write_text(text.replace('county_seats = "seats.csv"',
                                 'county_seats = "seats.csv"\nremote_list = "list.csv"'),
                    encoding="utf-8")
    with pytest.warns(UserWarning, match=r"names 1 township\(s\), the rule 3: 1 in both; rule "
                                         r"only 2"):
        res = covkit.run(toml)
    rule = res.townships["remote_rule"]
    assert rule.isna().tolist() == [True, True, False] and rule.iloc[2] == "list"
    assert res.summary["remote_rule"]["list"]["rule_only"] == [
        {"township_id": "99001010", "name": "West"}, {"township_id": "99001020", "name": "East"}]
