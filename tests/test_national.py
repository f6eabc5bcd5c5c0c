"""``covkit scenario national``: the synthetic, seeded, Taiwan-sized scenario (no input data).

Small ``--scale`` builds (seconds) stand in for the full size: every promised figure scales
with it (areas, people, townships, sites; lengths with the square root). The full-size
figures are checked on a coarse grid (500 m), where the same island builds in a second.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import covkit
from covkit.cli import app
from covkit.data import national as N
from covkit.errors import CovkitInputError

SCALE = 0.03  # 1,080 km2, 690,000 people, 11 townships, 450 sites: a build of about a second


def _build(out, *args):
    r = CliRunner().invoke(app, ["scenario", "national", "--out", str(out), *map(str, args)])
    assert r.exit_code == 0, (r.output, r.exception)
    return out / "scenario.toml"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    toml = _build(tmp_path_factory.mktemp("national"), "--scale", SCALE, "--radius-km", 5)
    return toml, covkit.load_inputs(toml)


def test_small_build_loads_with_the_promised_figures(built):
    toml, inputs = built
    r = CliRunner().invoke(app, ["scenario", "check", str(toml), "--json"])
    assert r.exit_code == 0, r.output
    check = json.loads(r.output)
    assert inputs.warnings == ()
    grid = inputs.grid
    assert grid.crs == "EPSG:3826" and grid.resolution_m == 100.0
    # land: the scaled 36,000 km2 (DEM > 0 m), the sea as depths below 0 m, no nodata
    land = inputs.dem_m > 0
    land_km2 = land.sum() * grid.cell_area_m2 / 1e6
    assert land_km2 == pytest.approx(N.LAND_KM2 * SCALE, rel=0.01)
    assert np.isfinite(inputs.terrain.elevation_m).all()
    assert inputs.terrain.sea.sum() == (~land).sum() > 0
    # mountains over much of the interior, up to about 3,500 m; people on the low land
    z = inputs.dem_m[land]
    assert 3_000.0 < z.max() < 4_200.0
    assert 0.15 < (z > 1_000.0).mean() < 0.6 and (z < 100.0).mean() > 0.1
    pop = inputs.population
    assert pop.sum() == round(N.POPULATION * SCALE)  # whole people, exactly
    assert (pop[~land] == 0).all() and (pop == np.round(pop)).all()
    assert np.average(inputs.dem_m, weights=pop) < 0.5 * z.mean()
    # townships: scaled 370 with 7-digit codes in counties (5-digit code + 2 digits)
    t = inputs.townships.table
    assert len(t) == round(N.TOWNSHIPS * SCALE) == check["townships"]
    assert t["township_id"].str.fullmatch(r"\d{7}").all() and t["township_id"].is_unique
    assert (t["township_id"].str[:5] == t["county_code"]).all()
    assert t["county_code"].nunique() == round(N.COUNTIES * math.sqrt(SCALE))
    assert t["population"].sum() == pytest.approx(pop.sum(), abs=1.0)
    assert t["area_km2"].sum() == pytest.approx(land_km2, rel=1e-6)
    # the remote rule's density arm against this island's own national density flags the
    # sparse mountain townships, not the plains
    assert 0 < t["remote"].sum() < len(t) and check["remote_townships"] == t["remote"].sum()
    assert inputs.townships.remote_rule["national_density_per_km2"] == pytest.approx(
        pop.sum() / land_km2, rel=1e-6)
    # sites: the scaled 15,000 of 3 operators, three sectors each, synthetic, on land
    st = inputs.stations.table
    assert st["site_id"].nunique() == round(N.SITES * SCALE) == inputs.stations.synthetic_sites
    assert st.groupby("operator")["site_id"].nunique().to_dict() == {"A": 150, "B": 150,
                                                                     "C": 150}
    n78 = st[st["freq_mhz"] > 3000]
    assert len(n78) == 3 * st["site_id"].nunique()
    # the scenario: P.1812 at 100 m, the radius asked for, the national keys of the island
    doc = tomllib.loads(toml.read_text(encoding="utf-8"))
    assert doc["propagation"] == {"model": "p1812", "max_radius_km": 5.0}
    figures = json.loads((toml.parent / "national.json").read_text(encoding="utf-8"))
    assert doc["coverage"]["national_population"] == figures["population"] == pop.sum()
    assert doc["coverage"]["national_area_km2"] == pytest.approx(land_km2, rel=1e-6)
    assert figures["sites"] == 450 and figures["sectors"] == 1350
    assert figures["townships"] == len(t) and figures["parameters"]["scale"] == SCALE


def test_full_size_figures_on_a_coarse_grid():
    """The full-size island (on a 500 m grid, to keep it quick): 36,000 km2, 23 million
    people, 370 townships in 20 counties, heights to about 3,500 m, in the open sea."""
    isl = N.generate_national(seed=0, resolution_m=500.0, scale=1.0)
    land = isl.dem_m > 0
    assert land.sum() * isl.grid.cell_area_m2 / 1e6 == pytest.approx(36_000.0, rel=0.01)
    assert isl.population.sum(dtype=np.float64) == 23_000_000
    assert len(isl.townships) == 370 and isl.townships["county_code"].nunique() == 20
    assert isl.townships.geometry.is_valid.all()
    assert (isl.townships.geom_type == "Polygon").all()  # one piece each
    assert isl.townships.geometry.area.sum() / 1e6 == pytest.approx(
        land.sum() * isl.grid.cell_area_m2 / 1e6, rel=1e-6)  # they tile the land
    assert 3_000.0 < isl.dem_m.max() < 4_200.0
    x0, y0, x1, y1 = isl.grid.bounds
    assert 360_000 < math.hypot(x1 - x0, y1 - y0) < 480_000  # about 380 x 140 km, tilted
    lon, lat = isl.figures["centre_lon_lat"]
    assert 123.5 < lon < 124.5 and 21.5 < lat < 22.5  # open sea east of Luzon Strait


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = _build(tmp_path / "a", "--scale", 0.01, "--seed", 3).parent
    b = _build(tmp_path / "b", "--scale", 0.01, "--seed", 3).parent
    c = _build(tmp_path / "c", "--scale", 0.01, "--seed", 4).parent

    def digests(folder):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.iterdir())}

    assert set(digests(a)) == set(N.NATIONAL_FILES)
    assert digests(a) == digests(b)
    other = digests(c)
    for name in ("dem.tif", "population.tif", "townships.gpkg", "stations.csv"):
        assert other[name] != digests(a)[name], name
    doc = tomllib.loads((a / "scenario.toml").read_text(encoding="utf-8"))
    assert doc["scenario"]["resolution_m"] == 100.0
    assert doc["propagation"] == {"model": "p1812", "max_radius_km": 10.0}


def test_refusals(tmp_path):
    for args, word in ((["--scale", "0"], "scale"), (["--scale", "2"], "scale"),
                       (["--resolution-m", "1"], "resolution"),
                       (["--radius-km", "0"], "radius"), (["--sites", "0"], "sites"),
                       (["--operators", "0"], "operators")):
        r = CliRunner().invoke(app, ["scenario", "national", "--out", str(tmp_path / "x"),
                                     *args])
        assert isinstance(r.exception, CovkitInputError), args
        assert word in str(r.exception), (args, str(r.exception))
    assert not (tmp_path / "x").exists()
    with pytest.raises(CovkitInputError, match="seed"):
        N.generate_national(seed=-1, scale=0.01)


@pytest.mark.slow
def test_covkit_run_on_a_small_scale(built, tmp_path):
    """``covkit run`` on the small build (R = 5 km): population coverage strictly between 0
    and 100 %, the remote townships in the KPIs, one row per township."""
    toml, inputs = built
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["run", str(toml), "--out", str(out), "--no-map", "--json"])
    assert r.exit_code == 0, (r.output, r.exception)
    summary = json.loads((out / "kpi_summary.json").read_text(encoding="utf-8"))
    pct = summary["population_coverage_pct"]
    assert 0.0 < pct < 100.0
    assert summary["population_total"] == pytest.approx(inputs.population.sum())
    k = pd.read_csv(out / "kpi_townships.csv", encoding="utf-8-sig", dtype={"township_id": str})
    assert len(k) == len(inputs.townships.table)
    assert 0 < k["remote"].sum() == inputs.townships.table["remote"].sum()
    # the sparse remote mountains are covered less than the plains
    assert summary["remote_population_coverage_pct"] < pct
