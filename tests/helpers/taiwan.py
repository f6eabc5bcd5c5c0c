"""Stations for the tests on the shared Taiwan files."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio

import covkit


def land_stations(base, path, every: int = 25, villages=None):
    """A stations CSV in covkit's schema: one omni 3.5 GHz sector at the representative point
    of every ``every``-th village standing on land inside the DEM (``base``: the shared Taiwan
    folder; ``villages``: the village polygons, default its villages-10t.json)."""
    vil = villages if villages is not None else gpd.read_file(
        base / "villages-10t.json", layer="villages").set_crs("EPSG:4326")
    pts = vil.to_crs("EPSG:4326").representative_point()
    with rasterio.open(base / "etopo1_taiwan_1arcmin.tif") as ds:
        z = np.array([v[0] for v in ds.sample(list(zip(pts.x, pts.y, strict=True)))])
        b = ds.bounds
    ok = (z > 0) & (pts.x > b.left + 0.05) & (pts.y < b.top - 0.05)
    sel = np.flatnonzero(ok)[::every]
    pd.DataFrame({"station_id": [f"S{i:04d}" for i in range(sel.size)],
                  "operator": np.where(np.arange(sel.size) % 2, "OpB", "OpA"),
                  "lon": pts.x.to_numpy()[sel].round(6), "lat": pts.y.to_numpy()[sel].round(6),
                  "height_m": 30.0, "freq_mhz": 3500.0, "eirp_dbm": 62.0}).to_csv(path,
                                                                                 index=False)
    return path


def village_scenario(base, folder, resolution_m: float):
    """The shared Taiwan villages as a villages-only scenario in ``folder`` (villages as the
    zones, every 200th land cell a station): the path of its scenario.toml. Warns that the
    villages are folded into their townships (the caller checks it)."""
    stations = land_stations(base, folder / "stations.csv", every=200)
    return covkit.api.build_taiwan_scenario(
        folder / "sc", townships=base / "villages-10t.json",
        villages=base / "villages-10t.json",
        village_population=base / "village_population_2021-03.csv",
        dem=base / "etopo1_taiwan_1arcmin.tif", stations=stations, resolution_m=resolution_m)
