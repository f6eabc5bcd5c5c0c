"""Bad input through the CLI: a named one-line error (exit 2) from both `covkit scenario check`
and `covkit run`, never a traceback; suspicious input that is accepted gets a warning with its
figures, and a KPI whose input is missing is null with the reason in kpi_summary.json."""

from __future__ import annotations

import json
import os
import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers.scenario import RES, X0, Y0, H, W, lonlat, write_raster, write_small_scenario
from rasterio.transform import from_origin
from shapely.geometry import Polygon, box

import covkit.api
from covkit.cli import main


def cli(capsys, *argv):
    code = 0
    try:
        main(["-q", *map(str, argv)])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def set_township_geometry(folder, index, geom):
    gdf = gpd.read_file(folder / "townships.gpkg")
    geoms = list(gdf.geometry.values)
    geoms[index] = geom
    gdf.set_geometry(geoms, crs=gdf.crs).to_file(folder / "townships.gpkg", layer="townships")


# ----------------------------------------------------------------------------------------------
# each mutation breaks one input of the small scenario; returns (toml to use, expected message)


def latin1_toml(folder, toml):
    toml.write_bytes(("# Caf\xe9 island\n" + toml.read_text(encoding="utf-8")).encode("latin-1"))
    return toml, r"scenario\.toml: not UTF-8 text \(byte 0xe9 on line 1\)"


def toml_symlink_loop(folder, toml):
    loop = folder / "loop.toml"
    os.symlink(loop, loop)
    return loop, r"loop\.toml: cannot read scenario file"


def input_symlink_loop(folder, toml):
    (folder / "dem.tif").unlink()
    os.symlink(folder / "dem.tif", folder / "dem.tif")
    return toml, r"column 'inputs\.dem': cannot resolve the path 'dem\.tif'"


def dem_metres_labelled_4326(folder, toml):
    write_raster(folder / "dem.tif", np.full((H, W), 50.0, np.float32), crs="EPSG:4326")
    return toml, r"dem\.tif: DEM is labelled EPSG:4326 \(degrees\) but its bounds"


def dem_metres_labelled_4326_with_bounds(folder, toml):
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "resolution_m = 100.0\n",
        f"resolution_m = 100.0\nbounds = [{X0}, {Y0 - H * RES}, {X0 + W * RES}, {Y0}]\n"),
        encoding="utf-8")
    return dem_metres_labelled_4326(folder, toml)


def population_metres_labelled_4326(folder, toml):
    write_raster(folder / "population.tif", np.full((H, W), 10.0, np.float32), crs="EPSG:4326")
    return toml, (r"population\.tif: population raster is labelled EPSG:4326 \(degrees\) but its "
                  r"bounds")


def overlapping_townships(folder, toml):
    set_township_geometry(folder, 0, box(X0, Y0 - H * RES, X0 + 2500.0, Y0))
    return toml, r"townships\.gpkg, column 'geometry': townships 'T01' and 'T02' overlap"


def freq_outside_clutter_validity(folder, toml):
    toml.write_text(toml.read_text(encoding="utf-8") + 'clutter = "p2108"\n', encoding="utf-8")
    st = folder / "stations.csv"
    st.write_text(st.read_text(encoding="utf-8").replace("1800.0", "35.0"), encoding="utf-8")
    return toml, r"stations\.csv, column 'freq_mhz', row 4: station 'T1': 35 MHz is outside"


def bandwidth_not_in_3gpp_table(folder, toml):
    st = folder / "stations.csv"
    df = pd.read_csv(st, keep_default_na=False)
    df.loc[0, "scs_khz"] = "15.0"  # NR 100 MHz is not defined at 15 kHz
    df.to_csv(st, index=False)
    return toml, r"stations\.csv, column 'bandwidth_mhz,scs_khz', row 1: station 'S1': NR FR1 " \
        r"bandwidth 100 MHz with 15 kHz subcarriers is not in TS 38.101-1"


def dem_heights(value):
    def mutate(folder, toml):
        dem = (50.0 + np.zeros((H, W))).astype(np.float32)
        dem[5, 7] = value
        write_raster(folder / "dem.tif", dem)
        return toml, (rf"dem\.tif, column 'band 1': 1 DEM cell\(s\) lie outside -11000 to 9000 m "
                      rf"\(first {re.escape(f'{value:g}')} at raster row 6, column 8")
    mutate.__name__ = f"dem_height_{value:g}"
    return mutate


def population_3e38_in_one_cell(folder, toml):
    pop = np.full((H, W), 10.0, np.float32)
    pop[2, 3] = 3e38
    write_raster(folder / "population.tif", pop)
    return toml, (r"population\.tif, column 'band 1': 1 population cell\(s\) exceed 1e\+06 people "
                  r"per km2 \(largest: 3e\+38 people in a cell of 0\.01 km2 at raster row 3, "
                  r"column 4\)")


REFUSED = [latin1_toml, toml_symlink_loop, input_symlink_loop, dem_metres_labelled_4326,
           dem_metres_labelled_4326_with_bounds, population_metres_labelled_4326,
           overlapping_townships, freq_outside_clutter_validity, bandwidth_not_in_3gpp_table,
           dem_heights(1e30), dem_heights(1e6), population_3e38_in_one_cell]


@pytest.mark.parametrize("mutate", REFUSED, ids=lambda f: f.__name__)
def test_check_and_run_refuse_with_one_named_line(capsys, tmp_path, mutate):
    folder = tmp_path / "s"
    toml, match = mutate(folder, write_small_scenario(folder))
    for argv in (("scenario", "check", toml), ("run", toml, "--out", tmp_path / "out")):
        code, _, err = cli(capsys, *argv)
        assert code == 2, (argv, err)
        assert err.startswith("error: file ") and err.count("\n") == 1, err
        assert re.search(match, err), err
    assert not (tmp_path / "out" / "kpi_summary.json").exists()


# ----------------------------------------------------------------------------------------------
# accepted with a warning that gives the figures


def load_warnings(toml):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inputs = covkit.api.load_inputs(toml)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return inputs, messages


def assert_recorded(inputs, messages):
    """The loading's warnings are kept on the inputs (for kpi_summary.json)."""
    assert list(inputs.warnings) == messages


def test_self_intersecting_township_is_repaired_with_a_warning(capsys, tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    x1, y1 = X0 + 2000.0, Y0 - H * RES  # a bow tie over the west township
    set_township_geometry(folder, 0, Polygon([(X0, Y0), (x1, y1), (X0, y1), (x1, Y0)]))
    inputs, messages = load_warnings(toml)
    assert len(messages) >= 1 and "township 'T01' (row 1) has an invalid polygon " \
        "(Self-intersection" in messages[0]
    assert "repaired with shapely.make_valid, area 0.000 -> 3.000 km2" in messages[0]
    assert inputs.townships.table["area_km2"].iloc[0] == pytest.approx(3.0)
    assert_recorded(inputs, messages)
    code, _, err = cli(capsys, "run", toml, "--out", tmp_path / "out", "--no-map")
    assert code == 0, err
    summary = json.loads((tmp_path / "out" / "kpi_summary.json").read_text())
    assert any("township 'T01' (row 1) has an invalid polygon" in w
               for w in summary["warnings"])


def test_undeclared_dem_voids_become_nodata_with_a_warning(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    dem = (50.0 + np.zeros((H, W))).astype(np.float32)
    dem[0, :5] = -32768.0
    write_raster(folder / "dem.tif", dem)
    inputs, messages = load_warnings(toml)
    assert any("5 DEM cell(s) hold -32768, a void marker the file does not declare as nodata"
               in m for m in messages), messages
    assert np.isnan(inputs.dem_m[0, :5]).all() and np.isfinite(inputs.dem_m[1:]).all()
    assert_recorded(inputs, messages)


def test_dem_in_kilometres_warns(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    n = 130  # 13 km x 13 km at 100 m, heights 0.05-0.31: kilometres, not metres
    yy, xx = np.mgrid[0:n, 0:n]
    write_raster(folder / "dem.tif", (0.05 + 0.001 * (xx + yy)).astype(np.float32),
                 transform=from_origin(X0 - 4000.0, Y0 + 4000.0, RES, RES))
    inputs, messages = load_warnings(toml)
    assert any("DEM heights are at most 0.308 over 13.0 km x 13.0 km; heights must be metres"
               in m for m in messages), messages
    assert_recorded(inputs, messages)
    # the small scenario itself (50-157 m over 4 km) gives no such warning
    _, messages = load_warnings(write_small_scenario(tmp_path / "good"))
    assert not any("DEM heights" in m for m in messages)


def test_population_nan_cells_warn_with_count_and_total(tmp_path):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    pop = np.full((H, W), 10.0, np.float32)
    pop[:, : W // 2] = np.nan
    write_raster(folder / "population.tif", pop)
    inputs, messages = load_warnings(toml)
    assert any("600 of 1,200 population cells are NaN without being declared nodata; they "
               "count as 0 people (total of the other cells 6,000.0)" in m for m in messages)
    assert inputs.population.sum() == pytest.approx(6000.0)
    assert_recorded(inputs, messages)


# ----------------------------------------------------------------------------------------------
# fibre KPIs without usable fibre input: null with the reason


FIBRE_KEYS = ("households_fibre_400m", "fibre_household_coverage_pct",
              "non_remote_households_fibre_400m", "fibre_household_coverage_non_remote_pct")


def no_fibre(folder, toml):
    toml.write_text(toml.read_text(encoding="utf-8").replace('fibre = "fibre.csv"\n', ""),
                    encoding="utf-8")
    return "no fibre input (inputs.fibre is not set)", None


def empty_fibre(folder, toml):
    (folder / "fibre.csv").write_text("fibre_id,lon,lat\n", encoding="utf-8")
    return "the fibre input has no points", "fibre.csv: the fibre input has no points"


def fibre_far_outside(folder, toml):
    rows = ["fibre_id,lon,lat"]
    for i in range(3):
        lon, lat = lonlat(X0 + 20_000.0 + 1000.0 * i, Y0 + 5000.0)
        rows.append(f"F{i + 1},{lon},{lat}")
    (folder / "fibre.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    reason = ("none of the 3 fibre points lies within coverage.fibre_distance_m = 400 m of the "
              "analysis grid (nearest 16.8 km away)")
    return reason, reason


@pytest.mark.parametrize("mutate", [no_fibre, empty_fibre, fibre_far_outside],
                         ids=lambda f: f.__name__)
def test_fibre_kpis_null_with_reason(capsys, tmp_path, mutate):
    folder = tmp_path / "s"
    toml = write_small_scenario(folder)
    reason, warning = mutate(folder, toml)
    code, _, err = cli(capsys, "run", toml, "--out", tmp_path / "out", "--no-map")
    assert code == 0, err
    summary = json.loads((tmp_path / "out" / "kpi_summary.json").read_text())
    for key in FIBRE_KEYS:
        assert summary[key] is None, key
        assert summary["not_computed"][key] == reason
    # households do not need fibre: still counted
    assert summary["households_total"] == pytest.approx(
        summary["population_total"] / summary["parameters"]["coverage"]["household_size"])
    towns = pd.read_csv(tmp_path / "out" / "kpi_townships.csv")
    assert towns["fibre_coverage_pct"].isna().all()
    assert towns["households_fibre_400m"].isna().all()
    assert towns["households"].gt(0).all()
    if warning is not None:
        assert any(warning in w and "the fibre KPIs are not computed" in w
                   for w in summary["warnings"]), summary["warnings"]


def test_fibre_kpis_computed_when_fibre_is_in_reach(capsys, tmp_path):
    toml = write_small_scenario(tmp_path / "s")
    code, _, err = cli(capsys, "run", toml, "--out", tmp_path / "out", "--no-map")
    assert code == 0, err
    summary = json.loads((tmp_path / "out" / "kpi_summary.json").read_text())
    assert summary["fibre_household_coverage_pct"] > 0
    assert not set(FIBRE_KEYS) & set(summary["not_computed"])
    assert summary["warnings"] == []
