"""A tiny ``covkit run`` (+ ``covkit sites``) output folder, written file by file.

Rasters in EPSG:3826 (TWD97 / TM2 zone 121), 6 km x 4 km at 100 m: best RSRP falling 1 dB per
pixel from -70 dBm at the west edge (nodata on the last 10 columns), SINR, coverage probability,
covered flag, best server and population; two townships (one remote), three sectors on two
sites, a trail, two proposed sites and the summary / after-KPI JSON files. Used by the map and
report tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CRS = "EPSG:3826"
X0, Y0 = 250_000.0, 2_660_000.0  # upper-left corner [m], central Taiwan
RES_M = 100.0
WIDTH, HEIGHT = 60, 40
SITE_X, SITE_Y = X0 + 2_000.0, Y0 - 2_000.0


def rsrp_field() -> np.ndarray:
    """Best RSRP [dBm]: linear in x (-70 at the west edge, falls 1 dB per pixel); nodata
    (NaN) on the last 10 columns, as outside the computed area."""
    cols = np.arange(WIDTH, dtype=np.float64)
    rows = np.arange(HEIGHT, dtype=np.float64)
    field = -70.0 - cols[None, :] - 0.0 * rows[:, None]
    field[:, 50:] = np.nan
    return field.astype(np.float32)


def _write_tif(path: Path, arr: np.ndarray, nodata) -> None:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", width=WIDTH, height=HEIGHT, count=1,
                       dtype=arr.dtype, crs=CRS, transform=from_origin(X0, Y0, RES_M, RES_M),
                       nodata=nodata) as dst:
        dst.write(arr, 1)


def lonlat(x, y):
    """(lon, lat) [deg] of a point in the fixture CRS."""
    from pyproj import Transformer

    return Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)


def write_run_fixture(out: Path, *, with_sites: bool = True, population: bool = True) -> Path:
    """Write a tiny ``covkit run`` (+ ``covkit sites``) output folder into ``out``."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import LineString, box

    out.mkdir(parents=True, exist_ok=True)
    rsrp = rsrp_field()
    _write_tif(out / "rsrp_best.tif", rsrp, np.nan)
    sinr = np.where(np.isfinite(rsrp), (rsrp + 110.0) / 2.0, np.nan).astype(np.float32)
    _write_tif(out / "sinr.tif", sinr, np.nan)
    prob = np.where(np.isfinite(rsrp), np.clip((rsrp + 115.0) / 20.0, 0, 1), np.nan)
    _write_tif(out / "coverage_probability.tif", prob.astype(np.float32), np.nan)
    covered = np.where(np.isfinite(rsrp), (prob >= 0.9).astype(np.uint8), 255).astype(np.uint8)
    _write_tif(out / "covered.tif", covered, 255)
    server = np.where(np.isfinite(rsrp), 0, -1).astype(np.int32)
    _write_tif(out / "best_server.tif", server, -1)
    pop_path = None
    if population:
        pop = np.full((HEIGHT, WIDTH), 2.0, dtype=np.float32)
        pop[:, :10] = 20.0  # a town in the west, where RSRP is strong
        pop_path = out / "inputs" / "population.tif"
        pop_path.parent.mkdir(exist_ok=True)
        _write_tif(pop_path, pop, -1.0)

    mid = X0 + 30 * RES_M
    geoms = [box(X0, Y0 - HEIGHT * RES_M, mid, Y0), box(mid, Y0 - HEIGHT * RES_M,
                                                         X0 + WIDTH * RES_M, Y0)]
    table = pd.DataFrame({
        "township_id": ["T01", "T02"], "name": ["Riverside", "High Ridge"],
        "county": ["Nantou", "Nantou"], "remote": [False, True],
        "population": [4800.0, 2400.0], "covered_population": [4700.0, 300.5],
        "coverage_pct": [97.916667, 12.520833],
        "coverage_pct_OpA": [95.0, 10.0], "coverage_pct_OpB": [60.0, 0.0],
        "households": [1846.2, 923.1], "households_fibre_400m": [1500.0, np.nan],
        "fibre_coverage_pct": [81.246, np.nan],
    })
    table.to_csv(out / "kpi_townships.csv", index=False)
    gpd.GeoDataFrame(table, geometry=geoms, crs=CRS).to_file(
        out / "kpi_townships.gpkg", layer="kpi_townships", driver="GPKG")

    inputs = out / "inputs"
    inputs.mkdir(exist_ok=True)
    lon1, lat1 = lonlat(SITE_X, SITE_Y)
    lon2, lat2 = lonlat(X0 + 4_500.0, Y0 - 1_000.0)
    pd.DataFrame({
        "station_id": ["S1-1", "S1-2", "S2-1"], "site_id": ["S1", "S1", "S2"],
        "operator": ["OpA", "OpA", "OpB"], "lon": [lon1, lon1, lon2], "lat": [lat1, lat1, lat2],
        "height_m": [30.0, 30.0, 42.5], "freq_mhz": [3500.0, 3500.0, 1800.0],
        "eirp_dbm": [62.0, 62.0, 58.5], "tech": ["5G", "5G", "4G"],
    }).to_csv(inputs / "stations.csv", index=False)
    gpd.GeoDataFrame({"trail_id": ["TR1"], "name": ["Ridge trail"]},
                     geometry=[LineString([(X0 + 3_200, Y0 - 500), (X0 + 5_500, Y0 - 3_500)])],
                     crs=CRS).to_file(inputs / "trails.gpkg", layer="trails", driver="GPKG")

    summary = {
        "scenario": "fixture island",
        "population_total": 7200.0, "population_covered": 5000.5,
        "population_coverage_pct": 69.45, "non_remote_population_coverage_pct": 97.92,
        "remote_population_coverage_pct": 12.52, "remote_townships": 1,
        "remote_townships_with_coverage": 1, "fibre_household_coverage_non_remote_pct": 81.25,
        "trail_coverage_pct": 40.0,
        "operators": {"OpA": {"population_coverage_pct": 66.0, "sites": 1, "sectors": 2},
                      "OpB": {"population_coverage_pct": 40.0, "sites": 1, "sectors": 1}},
        "counties": {"Nantou": {"population": 7200.0, "covered_population": 5000.5,
                                "coverage_pct": 69.45}},
        "parameters": {
            "scenario": {"name": "fixture island", "crs": CRS, "resolution_m": RES_M},
            "propagation": {"model": "p1812", "location_probability": 0.9,
                            "shadow_sigma_db": 8.0},
            "coverage": {"rsrp_threshold_dbm": -110.0, "sinr_threshold_db": None},
        },
        "input_files": {
            "stations": {"path": str(inputs / "stations.csv")},
            "trails": {"path": str(inputs / "trails.gpkg")},
            "population": None if pop_path is None else {"path": str(pop_path)},
        },
    }
    (out / "kpi_summary.json").write_text(json.dumps(summary, indent=2))
    if with_sites:
        lon3, lat3 = lonlat(X0 + 5_400.0, Y0 - 2_000.0)
        lon4, lat4 = lonlat(X0 + 4_200.0, Y0 - 3_500.0)
        pd.DataFrame({
            "rank": [1, 2], "candidate_id": ["C17", "C03"], "lon": [lon3, lon4],
            "lat": [lat3, lat4], "township_id": ["T02", "T02"],
            "new_population": [1500.0, 400.0], "cumulative_population": [1500.0, 1900.0],
            "new_trail_km": [1.2, 0.0], "cost": [1.0, 1.0],
            "cost_per_new_person": [1 / 1500, 1 / 400],
        }).to_csv(out / "sites_proposed.csv", index=False)
        after = dict(summary, population_coverage_pct=95.8,
                     remote_population_coverage_pct=91.7, remote_townships_with_coverage=1)
        (out / "kpi_after.json").write_text(json.dumps(after, indent=2))
    return out
