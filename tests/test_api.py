"""The public API: scenario in memory, inputs as objects, results in the ecosystem's types."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rioxarray
import xarray as xr
from helpers.scenario import CRS, RES, X0, Y0, write_small_scenario

import covkit
from covkit.errors import CovkitInputError

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    toml = write_small_scenario(folder, model="38901-uma")
    return toml, covkit.run(toml)


def _memory_scenario():
    return covkit.Scenario.from_dict({
        "scenario": {"name": "small", "crs": CRS, "resolution_m": RES},
        "propagation": {"model": "38901-uma", "max_radius_km": 3.0}})


def test_in_memory_inputs_give_the_same_figures_as_files(small):
    toml, from_files = small
    folder = toml.parent
    dem = rioxarray.open_rasterio(folder / "dem.tif").squeeze()
    with rasterio.open(folder / "population.tif") as src:
        pop = (src.read(1), src.transform, src.crs.to_string())
    inputs = covkit.load_inputs(
        _memory_scenario(), dem=dem, stations=pd.read_csv(folder / "stations.csv"),
        population=pop, townships=gpd.read_file(folder / "townships.gpkg"),
        fibre=folder / "fibre.csv", trails=gpd.read_file(folder / "trails.gpkg"))
    assert inputs.sources["stations"] == "<in-memory stations DataFrame>"
    assert inputs.sources["fibre"] == folder / "fibre.csv"
    mem = covkit.run(inputs)
    np.testing.assert_array_equal(mem.rsrp_best_dbm, from_files.rsrp_best_dbm)
    for key in ("population_total", "population_covered", "non_remote_population_coverage_pct",
                "households_fibre_400m", "trail_km_covered"):
        assert mem.summary[key] == from_files.summary[key], key
    assert mem.summary["input_files"]["dem"] == {
        "path": "<in-memory dem DataArray>", "bytes": None, "sha256": None}


def test_to_xarray_has_coordinates_crs_and_writes_with_rioxarray(small, tmp_path):
    _, res = small
    held = res.operator_covered is not None
    assert ("covered_by_operator" in res.to_xarray()) is held  # by default: only when held
    ds = res.to_xarray(operators=True)  # computed when not held
    assert isinstance(ds, xr.Dataset)
    assert ds.rio.crs.to_epsg() == 3826
    assert ds.sizes["x"] == 40 and ds.sizes["y"] == 30
    assert ds.x.values[0] == pytest.approx(X0 + RES / 2)
    assert ds.y.values[0] == pytest.approx(Y0 - RES / 2)
    assert ds.rsrp_best_dbm.attrs["units"] == "dBm"
    assert set(ds.covered_by_operator.operator.values) == {"OpA", "OpB"}
    assert "spatial_ref" in ds.coords
    path = tmp_path / "rsrp.tif"
    ds.rsrp_best_dbm.rio.to_raster(path)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 3826
        assert src.transform == res.grid.transform
        np.testing.assert_array_equal(src.read(1), res.rsrp_best_dbm)
    covered = ds.covered.values
    assert set(np.unique(covered)) <= {0, 1, 255}
    assert ((covered == 1) == res.covered).all()


def test_townships_are_a_geodataframe_with_every_kpi(small, tmp_path):
    _, res = small
    tw = res.townships
    assert isinstance(tw, gpd.GeoDataFrame)
    assert tw.crs.to_epsg() == 3826
    assert {"township_id", "population", "covered_population", "coverage_pct",
            "remote"} <= set(tw.columns)
    assert tw.geometry.area.sum() == pytest.approx(40 * 30 * RES * RES)
    files = res.write(tmp_path / "out")
    assert {p.name for p in files} >= {"rsrp_best.tif", "kpi_townships.csv",
                                       "kpi_summary.json"}
    csv = pd.read_csv(tmp_path / "out" / "kpi_townships.csv")
    assert "geometry" not in csv.columns
    assert list(csv.columns) == [c for c in tw.columns if c != "geometry"]


def test_missing_input_names_the_key():
    with pytest.raises(CovkitInputError, match=r"column 'inputs.dem'.*no dem input"):
        covkit.load_inputs(_memory_scenario())


def test_geodataframe_without_crs_refused(small):
    toml, _ = small
    tw = gpd.read_file(toml.parent / "townships.gpkg").set_crs(None, allow_override=True)
    with pytest.raises(CovkitInputError, match=r"<in-memory townships GeoDataFrame>.*no CRS"):
        covkit.load_inputs(toml, townships=tw)


def test_raster_tuple_must_have_three_items(small):
    toml, _ = small
    with pytest.raises(CovkitInputError, match=r"DEM tuple must be \(array, transform, crs\)"):
        covkit.load_inputs(toml, dem=(np.zeros((3, 3)), None))


def test_scenario_replace_validates_like_the_file(small):
    toml, _ = small
    sc = covkit.load_scenario(toml)
    other = sc.replace(propagation={"model": "fspl"}, sites={"budget_sites": 3})
    assert other.propagation.model == "fspl" and other.sites.budget_sites == 3
    assert other.inputs == sc.inputs and other.path == sc.path
    with pytest.raises(CovkitInputError, match=r"propagation.dn = 157.0 is out of range"):
        sc.replace(propagation={"dn": 157.0})
    with pytest.raises(CovkitInputError, match=r"unknown section \[nope\]"):
        sc.replace(nope={})


def test_a_toml_file_must_name_its_inputs(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('[scenario]\ncrs = "EPSG:3826"\n', encoding="utf-8")
    with pytest.raises(CovkitInputError, match=r"missing required key inputs.dem"):
        covkit.load_scenario(toml)


def test_propose_sites_from_a_result(small, tmp_path):
    _, res = small
    prop = covkit.propose_sites(res, budget_sites=1, out_dir=tmp_path)
    assert isinstance(prop.proposed, gpd.GeoDataFrame)
    assert len(prop.proposed) <= 1
    assert {p.name for p in prop.files} == {"sites_proposed.csv", "sites_proposed.gpkg",
                                            "sites_proposed.parquet", "kpi_after.json",
                                            "sites_summary.json"}
    assert prop.kpi_after["population_coverage_pct"] >= res.summary["population_coverage_pct"]


def test_path_loss_distance_models_and_profiles():
    from covkit.propagation.models import path_loss_db

    out = covkit.path_loss(900.0, 30.0, 1.5, model="hata", distance_m=2000.0)
    assert out["loss_db"] == path_loss_db("hata", 2000.0, 900.0, 30.0, 1.5)
    prof = pd.DataFrame({"distance_km": np.linspace(0.0, 5.0, 51), "height_m": 100.0})
    p = covkit.path_loss(900.0, 30.0, 1.5, profile=prof)
    assert p["model"] == "p1812" and p["distance_m"] == pytest.approx(5000.0)
    assert p["loss_db"] == pytest.approx(p["Lb"])
    assert p["Lb"] >= p["Lbfs"]
    with pytest.raises(CovkitInputError, match=r"model 'p1812' needs a terrain profile"):
        covkit.path_loss(900.0, 30.0, 1.5)
    with pytest.raises(CovkitInputError, match=r"model = 'okumura' is not one of"):
        covkit.path_loss(900.0, 30.0, 1.5, model="okumura", distance_m=1.0)


def _readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"<!-- example:start -->\s*```python\n(.*?)```\s*<!-- example:end -->", text,
                  re.S)
    assert m, "README example block not found"
    return m.group(1)


@pytest.mark.slow
def test_readme_example_runs(tmp_path, monkeypatch):
    code = _readme_example()
    assert 8 <= len([ln for ln in code.splitlines() if ln.strip()]) <= 20
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(code, "README.md example", "exec"), ns)  # noqa: S102 - our own README
    assert isinstance(ns["ds"], xr.Dataset)
    assert isinstance(ns["result"].townships, gpd.GeoDataFrame)
    assert (tmp_path / "rsrp_best.tif").is_file()
    html = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert "L.map(" in html
    # offline: every library inline, no script or style sheet loaded from the network
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?(https?:)?//", html)
