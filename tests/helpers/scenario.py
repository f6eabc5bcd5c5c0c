"""A tiny hand-built scenario on disk (real file formats) for loader and pipeline tests.

Grid: EPSG:3826 (TWD97 / TM2 zone 121), 4 km x 3 km at 100 m, somewhere in central Taiwan's
coordinate range. Two townships split west/east; population uniform 10 people per cell.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import LineString, box

import covkit
from covkit.coverage.run import run_coverage

CRS = "EPSG:3826"
X0, Y0 = 250_000.0, 2_650_000.0  # top-left corner [m]
RES = 100.0
W, H = 40, 30
TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def lonlat(x, y):
    lon, lat = TO_LONLAT.transform(x, y)
    return float(lon), float(lat)


def write_raster(path: Path, data: np.ndarray, crs=CRS, transform=None, nodata=None) -> Path:
    transform = transform or from_origin(X0, Y0, RES, RES)
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1],
                       count=1, dtype=data.dtype, crs=crs, transform=transform,
                       nodata=nodata) as dst:
        dst.write(data, 1)
    return path


def station_rows(n_sectors: int = 3) -> list[dict]:
    lon, lat = lonlat(X0 + 1000.0, Y0 - 1500.0)
    rows = []
    for k in range(n_sectors):
        rows.append({"station_id": f"S{k + 1}", "site_id": "A", "operator": "OpA", "lon": lon,
                     "lat": lat, "height_m": 30.0, "freq_mhz": 3500.0, "eirp_dbm": 60.0,
                     "azimuth_deg": 120.0 * k, "tilt_deg": 4.0, "beamwidth_deg": 65.0,
                     "tech": "5G", "bandwidth_mhz": 100.0, "scs_khz": 30.0})
    lon2, lat2 = lonlat(X0 + 3000.0, Y0 - 1500.0)
    rows.append({"station_id": "T1", "site_id": "", "operator": "OpB", "lon": lon2,
                 "lat": lat2, "height_m": 25.0, "freq_mhz": 1800.0, "eirp_dbm": 55.0,
                 "azimuth_deg": "", "tilt_deg": "", "beamwidth_deg": "", "tech": "4G",
                 "bandwidth_mhz": "", "scs_khz": ""})
    rows[-1]["site_id"] = "B"
    return rows


def write_csv(path: Path, rows: list[dict]) -> Path:
    cols = list(rows[0].keys())
    lines = [",".join(cols)]
    for r in rows:
        lines.append(",".join(str(r.get(c, "")) for c in cols))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_small_scenario(folder: Path, model: str = "fspl", extra_toml: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    yy = np.arange(H)[:, None]
    xx = np.arange(W)[None, :]
    dem = (50.0 + 2.0 * xx + 1.0 * yy).astype(np.float32)
    write_raster(folder / "dem.tif", dem)
    write_raster(folder / "population.tif", np.full((H, W), 10.0, np.float32))
    west = box(X0, Y0 - H * RES, X0 + 2000.0, Y0)
    east = box(X0 + 2000.0, Y0 - H * RES, X0 + W * RES, Y0)
    gpd.GeoDataFrame({"township_id": ["T01", "T02"], "name": ["West", "East"],
                      "county": ["C1", "C1"]}, geometry=[west, east], crs=CRS).to_file(
        folder / "townships.gpkg", layer="townships")
    write_csv(folder / "stations.csv", station_rows())
    flon, flat = lonlat(X0 + 500.0, Y0 - 500.0)
    (folder / "fibre.csv").write_text(f"fibre_id,lon,lat\nF1,{flon},{flat}\n", encoding="utf-8")
    gpd.GeoDataFrame({"trail_id": ["TR1"], "name": ["Ridge"]},
                     geometry=[LineString([(X0 + 200, Y0 - 200), (X0 + 3200, Y0 - 200)])],
                     crs=CRS).to_file(folder / "trails.gpkg", layer="trails")
    toml = folder / "scenario.toml"
    toml.write_text(f"""
[scenario]
name = "small"
crs = "{CRS}"
resolution_m = 100.0

[inputs]
dem = "dem.tif"
stations = "stations.csv"
population = "population.tif"
townships = "townships.gpkg"
fibre = "fibre.csv"
trails = "trails.gpkg"

[propagation]
model = "{model}"
max_radius_km = 3.0
{extra_toml}
""", encoding="utf-8")
    return toml


def demo_with_operator_grids(folder: Path, resolution_m: float):
    """The demo scenario at ``resolution_m`` (a TOML file beside the demo's own), its inputs
    and a coverage run with per-operator grids (what verification reads)."""
    toml = covkit.write_demo(Path(folder) / "scenario")
    coarse = toml.with_name(f"scenario_{resolution_m:g}m.toml")
    coarse.write_text(toml.read_text(encoding="utf-8").replace(
        "resolution_m = 100.0", f"resolution_m = {resolution_m}"), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        inputs = covkit.load_inputs(coarse)
        result = run_coverage(inputs, operator_grids=True)
    return coarse, inputs, result


def coarse_demo_inputs(folder: Path, resolution_m: float):
    """The demo scenario written into ``folder`` and loaded on a coarser grid."""
    toml = covkit.write_demo(Path(folder) / "scenario")
    sc = covkit.load_scenario(toml).replace(scenario={"resolution_m": resolution_m})
    return covkit.load_inputs(sc)


def retuned_last_band(inputs, freq_mhz: float):
    """``inputs`` with one sector of a multi-band site moved to ``freq_mhz`` (above its site's
    other carriers, so its group is not the first of the site's shared engine call), and that
    sector's station id."""
    import dataclasses

    st = inputs.stations
    table = st.table.copy()
    bands = table.groupby("site_index")["freq_mhz"]
    top = table[(bands.transform("nunique") > 1) & (table["freq_mhz"] == bands.transform("max"))]
    row = top.index[0]
    assert float(freq_mhz) > float(table["freq_mhz"].max())
    table.loc[row, "freq_mhz"] = float(freq_mhz)
    bad = dataclasses.replace(inputs, stations=dataclasses.replace(st, table=table))
    return bad, str(table.loc[row, "station_id"])
