"""Site proposals end to end on a small scenario (fspl, short radius so gaps remain)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers.scenario import X0, Y0, lonlat, write_small_scenario

import covkit
from covkit.coverage.sites import trail_km_per_cell
from covkit.data.grid import Grid
from covkit.errors import CovkitInputError


def scenario(tmp_path, extra_sites="", radius_km=0.8):
    toml = write_small_scenario(tmp_path / "s", model="fspl")
    text = toml.read_text().replace("max_radius_km = 3.0", f"max_radius_km = {radius_km}")
    lon, lat = lonlat(X0 + 3500.0, Y0 - 2500.0)
    (tmp_path / "s" / "candidates.csv").write_text(
        f"candidate_id,lon,lat,height_m,cost\nU1,{lon},{lat},25,2.0\n")
    text = text.replace('trails = "trails.gpkg"',
                        'trails = "trails.gpkg"\ncandidates = "candidates.csv"')
    text += ("\n[coverage]\nrsrp_threshold_dbm = -100.0\n"
             f"\n[sites]\nbudget_sites = 3\ncandidate_spacing_m = 500.0\n{extra_sites}\n")
    toml.write_text(text)
    return toml


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sites")
    toml = scenario(tmp, "weight_trail_km = 100.0\n")
    return covkit.propose_sites(toml, out_dir=tmp / "out"), tmp


def test_outputs_and_kpi_after(result):
    res, tmp = result
    out = tmp / "out"
    for name in ("sites_proposed.csv", "sites_proposed.gpkg", "kpi_after.json",
                 "sites_summary.json"):
        assert (out / name).is_file()
    proposed = pd.read_csv(out / "sites_proposed.csv")
    assert list(proposed.columns[:4]) == ["rank", "candidate_id", "source", "lon"]
    for col in ("township_id", "new_population", "cumulative_population", "new_trail_km",
                "cost", "cost_per_new_person"):
        assert col in proposed.columns
    assert 1 <= len(proposed) <= 3
    assert proposed["rank"].tolist() == list(range(1, len(proposed) + 1))
    assert (np.diff(proposed["cumulative_population"]) >= 0).all()
    assert proposed["new_population"].iloc[0] > 0
    after = json.loads((out / "kpi_after.json").read_text())
    summ = json.loads((out / "sites_summary.json").read_text())
    assert after["population_coverage_pct"] >= res.kpi_before["population_coverage_pct"]
    assert after["population_coverage_pct"] > res.kpi_before["population_coverage_pct"]
    assert summ["objective"] <= summ["bound"] + 1e-9
    assert summ["sites_proposed"] == len(proposed)
    # the real engine agrees with the matrix: newly covered people (10 per cell) add up
    gain = after["population_covered"] - res.kpi_before["population_covered"]
    assert gain >= proposed["new_population"].sum() - 1e-6


def test_candidates_sources_and_user_file(result):
    res, _ = result
    cand = res.candidates
    assert {"high_point", "user"} <= set(cand["source"])
    user = cand[cand["source"] == "user"]
    if len(user):
        assert user["candidate_id"].tolist() == ["U1"]
        assert user["cost"].tolist() == [2.0]
        assert user["height_m"].tolist() == [25.0]
    assert (cand["township_index"] >= 0).all()
    assert cand["candidate_id"].is_unique


def test_budget_override_and_exact(tmp_path):
    toml = scenario(tmp_path)
    greedy = covkit.propose_sites(toml, budget_sites=1)
    exact = covkit.propose_sites(toml, budget_sites=2, method="exact")
    assert len(greedy.proposed) == 1
    assert len(exact.proposed) <= 2
    assert exact.summary["method"] == "exact"
    assert exact.summary["objective"] >= greedy.summary["objective"]
    with pytest.raises(CovkitInputError, match=r"--budget 0 must be at least 1"):
        covkit.propose_sites(toml, budget_sites=0)
    with pytest.raises(CovkitInputError, match=r"method 'best' must be greedy or exact"):
        covkit.propose_sites(toml, method="best")


def test_trail_km_per_cell_sums_to_length():
    import geopandas as gpd
    from shapely.geometry import LineString

    grid = Grid("EPSG:3826", X0, Y0, 100.0, 40, 30)
    trails = gpd.GeoDataFrame(geometry=[LineString([(X0 + 10, Y0 - 10), (X0 + 3010, Y0 - 2010)])],
                              crs="EPSG:3826")
    km = trail_km_per_cell(trails, grid)
    assert km.sum() == pytest.approx(np.hypot(3000, 2000) / 1000.0)


@pytest.mark.slow
def test_cli_sites_writes_outputs_map_and_report(tmp_path, capsys):
    from covkit.cli import main

    toml = scenario(tmp_path)
    out = tmp_path / "cli-out"
    try:
        main(["--quiet", "sites", str(toml), "--out", str(out), "--budget", "2"])
    except SystemExit as exc:
        assert (exc.code or 0) == 0
    for name in ("kpi_summary.json", "sites_proposed.csv", "kpi_after.json",
                 "sites_summary.json", "map.html", "report.html"):
        assert (out / name).is_file(), name
    assert len(pd.read_csv(out / "sites_proposed.csv")) <= 2
    assert "Proposed sites" in (out / "map.html").read_text(encoding="utf-8")
