"""Synthetic networks (covkit.data.synthetic, ``covkit scenario sites``) on the demo island:
N sites on land, deterministic for a seed, denser where people live, a site of every operator
in every township with people, rural masts on local high points, carriers per band; and a
run on the generated stations says "synthetic sites" in kpi_summary.json, the report and the
map."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

import covkit
from covkit.cli import main
from covkit.data.grid import Grid
from covkit.data.synthetic import (
    BANDS,
    RURAL_DENSITY_KM2,
    STATION_COLUMNS,
    URBAN_DENSITY_KM2,
    density_km2,
    site_inputs,
    synthetic_stations,
)
from covkit.errors import CovkitInputError


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    toml = covkit.write_demo(tmp_path_factory.mktemp("demo") / "scenario")
    grid, pop, dem, zone = site_inputs(covkit.load_scenario(toml))
    return toml, grid, pop, dem, zone


@pytest.fixture(scope="module")
def network(demo):
    _, grid, pop, dem, zone = demo
    return synthetic_stations(grid, pop, dem, 120, zone=zone, seed=3,
                              bands=("n78", "b28", "n257"))


def site_cells(df, grid):
    """Per site (first sector): operator, row, col."""
    sites = df.groupby("site_id", sort=True).first()
    to_xy = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
    x, y = to_xy.transform(sites["lon"].to_numpy(), sites["lat"].to_numpy())
    r, c = grid.index_of(np.asarray(x), np.asarray(y))
    return sites, r, c


def test_n_sites_on_land_three_sectors_flagged(demo, network):
    _, grid, pop, dem, zone = demo
    df = network
    assert list(df.columns) == [*STATION_COLUMNS, "synthetic"]
    assert df["synthetic"].all()
    sites, r, c = site_cells(df, grid)
    assert len(sites) == 120
    assert sites.groupby("operator").size().to_dict() == {"A": 40, "B": 40, "C": 40}
    assert (dem[r, c] > 0).all() and (zone[r, c] >= 0).all()
    # sectors of one site share position and height; 3 per carrier, 120 deg apart
    per = df.groupby(["site_id", "freq_mhz"])
    assert (per.size() == 3).all()
    assert (per["lon"].nunique() == 1).all() and (per["height_m"].nunique() == 1).all()
    az = np.sort(df.loc[df["site_id"] == df["site_id"].iloc[0]].query("freq_mhz < 6000")
                 ["azimuth_deg"].to_numpy())
    np.testing.assert_allclose(np.diff(az), 120.0, atol=0.11)
    assert df["height_m"].between(25.0, 40.0).all()
    assert df["station_id"].is_unique


def test_same_seed_same_network_other_seed_other(demo, network):
    _, grid, pop, dem, zone = demo
    again = synthetic_stations(grid, pop, dem, 120, zone=zone, seed=3,
                               bands=("n78", "b28", "n257"))
    pd.testing.assert_frame_equal(again, network)
    other = synthetic_stations(grid, pop, dem, 120, zone=zone, seed=4,
                               bands=("n78", "b28", "n257"))
    assert not other[["lon", "lat"]].equals(network[["lon", "lat"]])


def test_denser_where_people_live(demo):
    _, grid, pop, dem, zone = demo
    df = synthetic_stations(grid, pop, dem, 300, zone=zone, seed=1)
    _, r, c = site_cells(df, grid)
    land = np.isfinite(dem) & (dem > 0) & (zone >= 0)
    dens = density_km2(pop, grid, land)
    populated = land & (pop > 0)
    top = populated & (dens >= np.quantile(dens[populated], 0.9))  # densest 10 % of cells
    share_sites = top[r, c].mean()
    assert share_sites > 3 * top.sum() / populated.sum()
    # sites per cell: the densest quintile of populated cells far above every other (the
    # sparsest quintile keeps some: every township's site and the masts on high points)
    edges = np.quantile(dens[populated], [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    q = np.clip(np.searchsorted(edges, dens, side="right") - 1, 0, 4)
    per_cell = [np.sum(q[r, c] == k) / np.sum(populated & (q == k)) for k in range(5)]
    assert per_cell[4] > 4 * max(per_cell[:4])
    assert per_cell[3] > per_cell[2]


def test_every_populated_township_has_a_site_of_every_operator(demo, network):
    _, grid, pop, dem, zone = demo
    sites, r, c = site_cells(network, grid)
    populated = set(np.unique(zone[(pop > 0) & (zone >= 0) & (dem > 0)]).tolist())
    assert len(populated) >= 20
    for op in ("A", "B", "C"):
        rows = (sites["operator"] == op).to_numpy()
        assert set(zone[r[rows], c[rows]].tolist()) >= populated, op


def test_rural_masts_on_local_high_points_and_bands_by_density(demo, network):
    _, grid, pop, dem, zone = demo
    sites, r, c = site_cells(network, grid)
    land = np.isfinite(dem) & (dem > 0) & (zone >= 0)
    dens = density_km2(pop, grid, land)
    d = dens[r, c]
    rural = d < RURAL_DENSITY_KM2
    assert rural.sum() >= 10
    # rural sites stand higher than the people they serve
    rural_cells = land & (pop > 0) & (dens < RURAL_DENSITY_KM2)
    assert dem[r, c][rural].mean() > np.average(dem[rural_cells], weights=pop[rural_cells])
    # carriers: n78 on every site, 700 MHz only on rural ones, 28 GHz only on urban ones
    by_site = network.groupby("site_id")["station_id"].apply(
        lambda s: {x.rsplit("-", 1)[1] for x in s})
    bands = by_site.loc[sites.index]
    assert all("N78" in b for b in bands)
    assert all(rural[i] == ("B28" in b) for i, b in enumerate(bands))
    mm = np.array(["N257" in b for b in bands])
    assert mm.any() and (d[mm] >= URBAN_DENSITY_KM2).all()
    assert mm.sum() <= 0.1 * (d >= URBAN_DENSITY_KM2).sum() + 3  # mmwave_share per operator
    for name, band in BANDS.items():
        rows = network["station_id"].str.endswith("-" + name.upper())
        if rows.any():
            assert network.loc[rows, "eirp_dbm"].between(*band.eirp_dbm).all()
            lo, hi = band.dl_mhz
            assert network.loc[rows, "freq_mhz"].between(lo, hi).all()
    assert network.loc[network["freq_mhz"] > 24000, "scs_khz"].eq(120.0).all()


def test_a_village_mast_goes_to_the_hill_top_within_reach():
    """A village (one populated cell) on a slope: the mast stands on the highest land cell
    of the township within RIDGE_RADIUS_M, not on a higher hill farther away nor in the
    other township."""
    grid = Grid("EPSG:3826", 250_000.0, 2_650_000.0, 100.0, 60, 40)
    yy, xx = np.mgrid[0:40, 0:60]
    dem = 200.0 + 400.0 * np.exp(-((yy - 20) ** 2 + (xx - 26) ** 2) / 8.0)  # hill 600 m off
    dem += 900.0 * np.exp(-((yy - 20) ** 2 + (xx - 50) ** 2) / 8.0)  # higher, 3 km off
    zone = np.where(xx < 45, 0, 1).astype(np.int32)
    pop = np.zeros(grid.shape)
    pop[20, 20] = 50.0
    df = synthetic_stations(grid, pop, dem, 1, zone=zone, operators=1, seed=0)
    sites, r, c = site_cells(df, grid)
    assert (int(r[0]), int(c[0])) == (20, 26)
    assert sorted(df["tech"]) == ["4G"] * 3 + ["5G"] * 3  # rural: n78 and 700 MHz
    assert df["height_m"].between(30.0, 40.0).all()  # a mast, not a rooftop


def test_cli_help_names_the_bands_without_importing_the_api():
    import re
    import subprocess
    import sys

    from covkit.cli import synthetic as cli_synthetic

    names = re.findall(r"\b([nb]\d+) \(", cli_synthetic.BANDS_HELP)
    assert sorted(names) == sorted(covkit.api.SYNTHETIC_BANDS)
    assert cli_synthetic.DEFAULT_BANDS == ",".join(covkit.api.SYNTHETIC_DEFAULT_BANDS)
    code = "import sys, covkit.cli; print('covkit.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_bad_arguments_name_them(demo):
    _, grid, pop, dem, zone = demo
    with pytest.raises(CovkitInputError, match="n_sites = 0 must be a whole number"):
        synthetic_stations(grid, pop, dem, 0)
    with pytest.raises(CovkitInputError, match="bands .*'n79'.*choose among n78"):
        synthetic_stations(grid, pop, dem, 10, bands=("n79",))
    with pytest.raises(CovkitInputError, match="distinct non-empty"):
        synthetic_stations(grid, pop, dem, 10, operators=("A", "A"))
    with pytest.raises(CovkitInputError, match="fit on the populated land cells|populated "
                       "land cells"):
        synthetic_stations(grid, pop, dem, 3 * int(((pop > 0) & (dem > 0)).sum()) + 3)
    with pytest.raises(CovkitInputError, match="no land cell"):
        synthetic_stations(grid, pop, np.full(grid.shape, -5.0), 10)


@pytest.mark.slow
def test_scenario_sites_command_then_run_says_synthetic(demo, tmp_path, capsys):
    toml, *_ = demo
    # a coarser, shorter-range copy of the demo scenario, with 28 GHz on its own model
    text = toml.read_text(encoding="utf-8")
    folder = toml.parent
    text = (text.replace('dem = "dem.tif"', f'dem = "{(folder / "dem.tif").as_posix()}"')
            .replace('stations = "stations.csv"', 'stations = "synthetic.csv"')
            .replace('population = "population.tif"',
                     f'population = "{(folder / "population.tif").as_posix()}"')
            .replace('townships = "townships.gpkg"',
                     f'townships = "{(folder / "townships.gpkg").as_posix()}"')
            .replace('fibre = "fibre.csv"\n', "").replace('trails = "trails.gpkg"\n', "")
            .replace("resolution_m = 100.0", "resolution_m = 500.0")
            .replace("max_radius_km = 10.0", "max_radius_km = 4.0")
            .replace("[coverage]", '[[propagation.bands]]\nmin_mhz = 6000\nmodel = "38901-uma"'
                     "\n\n[coverage]"))
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(text, encoding="utf-8")
    stations = tmp_path / "synthetic.csv"
    main(["scenario", "sites", str(scenario), "--n", "36", "--out", str(stations),
          "--bands", "n78,b28,n257", "--seed", "7"])
    assert "36 synthetic sites" in capsys.readouterr().out
    table = pd.read_csv(stations)
    assert table["site_id"].nunique() == 36 and table["synthetic"].all()
    pd.testing.assert_frame_equal(
        table, covkit.api.synthetic_stations_for(scenario, 36, seed=7,
                                                 bands=("n78", "b28", "n257")),
        check_dtype=False)
    study = covkit.run_study(scenario, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "kpi_summary.json").read_text())
    assert summary["stations_synthetic"] is True
    assert summary["stations"]["synthetic_sites"] == 36
    assert summary["population_coverage_pct"] > 10.0
    assert {b["model"] for b in summary["models_by_band"] if b["sectors"]} == \
        {"p1812", "38901-uma"}
    for page in (study.report_html, study.map_html):
        assert "Synthetic sites: 36 of 36 sites are generated" in page.read_text("utf-8")
    # the demo's own stations are not synthetic
    assert covkit.load_inputs(toml).stations.synthetic_sites == 0
