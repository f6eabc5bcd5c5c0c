"""The tables a run writes: CSV floats at full precision, GeoParquet beside every GeoPackage."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers.scenario import X0, Y0, lonlat, write_small_scenario

import covkit
from covkit.outputs import write_csv

EXPONENT = re.compile(r"\d[eE][+-]?\d")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A small scenario (fspl, short radius so gaps remain) run with site proposals."""
    tmp = tmp_path_factory.mktemp("files")
    toml = write_small_scenario(tmp / "s", model="fspl")
    text = toml.read_text().replace("max_radius_km = 3.0", "max_radius_km = 0.8")
    lon, lat = lonlat(X0 + 3512.345, Y0 - 2487.654)
    (tmp / "s" / "candidates.csv").write_text(
        f"candidate_id,lon,lat,height_m,cost\nU1,{lon!r},{lat!r},25,2.0\n")
    text = text.replace('trails = "trails.gpkg"',
                        'trails = "trails.gpkg"\ncandidates = "candidates.csv"')
    text += ("\n[coverage]\nrsrp_threshold_dbm = -100.0\n"
             "\n[sites]\nbudget_sites = 3\ncandidate_spacing_m = 500.0\n")
    toml.write_text(text)
    out = tmp / "out"
    result = covkit.run(toml, out_dir=out)
    covkit.propose_sites(result, out_dir=out)
    return out


# ------------------------------------------------------------------------------------------
# CSV precision


def test_sites_csv_coordinates_equal_the_geopackage(run_folder):
    csv = pd.read_csv(run_folder / "sites_proposed.csv")
    gpkg = gpd.read_file(run_folder / "sites_proposed.gpkg")
    assert len(csv) >= 1 and len(csv) == len(gpkg)
    for col in ("lon", "lat", "x_m", "y_m", "height_m", "new_population",
                "cumulative_population", "cost"):
        np.testing.assert_array_equal(csv[col].to_numpy(float), gpkg[col].to_numpy(float),
                                      err_msg=col)
    # the point geometry in the working CRS is x_m / y_m
    np.testing.assert_array_equal(csv["x_m"].to_numpy(), gpkg.geometry.x.to_numpy())
    np.testing.assert_array_equal(csv["y_m"].to_numpy(), gpkg.geometry.y.to_numpy())
    raw = pd.read_csv(run_folder / "sites_proposed.csv", dtype=str)
    for col in ("lon", "lat", "x_m", "y_m"):
        bad = [v for v in raw[col] if EXPONENT.search(v)]
        assert not bad, (col, bad)


def test_kpi_townships_csv_equals_the_geopackage_and_stays_readable(run_folder):
    csv = pd.read_csv(run_folder / "kpi_townships.csv")
    gpkg = gpd.read_file(run_folder / "kpi_townships.gpkg")
    for col in csv.columns:
        if csv[col].dtype.kind == "f":
            np.testing.assert_array_equal(csv[col].to_numpy(), gpkg[col].to_numpy(float),
                                          err_msg=col)
    text = (run_folder / "kpi_townships.csv").read_text()
    assert not EXPONENT.search(text)
    # population: whole numbers without decimals, as before (West: 20 x 30 cells x 10 people)
    assert "T01,West,C1,False,6000,2080,3920,34.666666666666664," in text


def test_csv_floats_round_trip_without_exponent(tmp_path):
    values = np.array([2738100.5, 121.12345678901234, 97.91666666666667, 1e-7, 3.0, -0.5,
                       1.0 / 3.0, 12345678901234.5])
    df = pd.DataFrame({"v": values, "f32": values.astype(np.float32),
                       "id": [f"S{i}" for i in range(len(values))],
                       "n": np.arange(len(values))})
    df.loc[2, "v"] = np.nan
    path = write_csv(tmp_path / "t.csv", df)
    back = pd.read_csv(path)
    np.testing.assert_array_equal(back["v"].to_numpy(), df["v"].to_numpy())
    np.testing.assert_array_equal(back["f32"].to_numpy(np.float32), df["f32"].to_numpy())
    assert back["n"].tolist() == df["n"].tolist()
    raw = path.read_text().splitlines()
    assert raw[1] == "2738100.5,2738100.5,S0,0"
    assert raw[3].startswith(",97.916664,")  # NaN empty; float32 at its own precision
    assert raw[4].startswith("0.0000001,0.0000001,")
    assert raw[5].startswith("3,3,")
    assert not EXPONENT.search(path.read_text())


# ------------------------------------------------------------------------------------------
# GeoParquet


@pytest.mark.parametrize("stem", ["kpi_townships", "sites_proposed"])
def test_geoparquet_equals_the_geopackage(run_folder, stem):
    gpkg = gpd.read_file(run_folder / f"{stem}.gpkg")
    pq = gpd.read_parquet(run_folder / f"{stem}.parquet")
    assert pq.crs is not None and pq.crs == gpkg.crs
    assert pq.crs.to_epsg() == 3826
    assert list(pq.columns) == list(gpkg.columns)
    assert len(pq) == len(gpkg) >= 1
    assert pq.geometry.geom_equals_exact(gpkg.geometry, tolerance=0).all()
    table_cols = [c for c in gpkg.columns if c != gpkg.geometry.name]
    pd.testing.assert_frame_equal(pd.DataFrame(pq[table_cols]), pd.DataFrame(gpkg[table_cols]),
                                  check_dtype=False)


def test_geoparquet_listed_in_the_outputs(run_folder):
    import json

    summary = json.loads((run_folder / "kpi_summary.json").read_text())
    assert "kpi_townships.parquet" in summary["outputs"]
    assert not [p for p in run_folder.iterdir() if p.name.startswith(".")]
