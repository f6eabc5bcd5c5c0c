"""Network and access of the demo island: mast sites and sectors, fibre points, trails.

- ``stations.csv``: three operators (OpA, OpB, OpC), one row per sector (about 750). Sites
  are dense in cities (inter-site distance 1-2 km in the cores), spaced 7-11 km along the
  coastal ring road and valley roads, and only a few omni masts at mountain villages, so
  remote mountain townships keep real coverage gaps. 5G n78 (100 MHz, 30 kHz) on every site
  at 3450/3550/3650 MHz, plus a 4G LTE band 3 layer (1815/1835/1855 MHz, 20 MHz, 15 kHz)
  on rural sites. Omni rows have an empty ``azimuth_deg`` and ``beamwidth_deg`` 360.
- ``fibre.csv``: fibre drop points, density proportional to urban population.
- ``trails.gpkg`` (layer ``trails``): mountain trails through the range.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy import ndimage

from covkit.data.demo.grid import (
    DEMO_CRS,
    DEMO_RESOLUTION_M,
    DEMO_SHAPE,
    SYNTHETIC_NOTE,
    X_WEST_M,
    Y_NORTH_M,
    cell_centre,
    cell_of,
    elev_at,
)
from covkit.data.demo.settlements import Place, place_names
from covkit.data.demo.terrain import River, river_points
from covkit.data.synthetic import STATION_COLUMNS, isd_m

__all__ = ["OPERATORS", "STATION_COLUMNS", "fibre", "sites", "stations", "trails"]

OPERATORS = ("OpA", "OpB", "OpC")
"""The three synthetic operators of ``stations.csv``."""

# Per operator: n78 carrier centre [MHz] (3400-3500, 3500-3600, 3600-3700), LTE band 3 carrier
# [MHz], inter-site distance scale (OpA densest) and spacing of sites along roads [m].
_OPERATOR_PARAMS = {
    "OpA": {"nr_mhz": 3450.0, "lte_mhz": 1815.0, "isd_scale": 1.0, "road_step_m": 7_000.0},
    "OpB": {"nr_mhz": 3550.0, "lte_mhz": 1835.0, "isd_scale": 1.15, "road_step_m": 8_500.0},
    "OpC": {"nr_mhz": 3650.0, "lte_mhz": 1855.0, "isd_scale": 1.35, "road_step_m": 11_000.0},
}



def _to_lonlat() -> Callable:
    return Transformer.from_crs(DEMO_CRS, "EPSG:4326", always_xy=True).transform


def _snap(rng: np.random.Generator, xy: tuple[float, float]) -> tuple[float, float]:
    """Move a point to its cell centre plus a small jitter (so it stays in that cell)."""
    r, c = cell_of(*xy)
    cx, cy = cell_centre(r, c)
    return cx + float(rng.uniform(-30.0, 30.0)), cy + float(rng.uniform(-30.0, 30.0))


def sites(
    rng: np.random.Generator,
    elev: np.ndarray,
    land: np.ndarray,
    pop: np.ndarray,
    rivers: list[River],
    places: list[Place],
) -> list[dict]:
    """Mast sites for all operators: urban by density, along roads, a few mountain omnis."""
    dens_km2 = ndimage.gaussian_filter(pop.astype(np.float64), 5.0) * 100.0  # persons/km^2
    d_coast = ndimage.distance_transform_edt(land) * DEMO_RESOLUTION_M
    # roads: coastal ring road ~1.5 km inland and valley roads up the rivers below 1 200 m
    ring = land & (np.abs(d_coast - 1_500.0) < 60.0)
    rr, rc = np.nonzero(ring)
    ring_xy = np.column_stack(
        [X_WEST_M + (rc + 0.5) * DEMO_RESOLUTION_M, Y_NORTH_M - (rr + 0.5) * DEMO_RESOLUTION_M]
    )
    rp = river_points(rivers)
    valley_xy = rp[(elev_at(elev, rp) < 1_200.0) & (elev_at(elev, rp) > 30.0)]
    road_xy = np.vstack([ring_xy, valley_xy])
    urban_r, urban_c = np.nonzero(land & (dens_km2 >= 300.0))
    urban_w = dens_km2[urban_r, urban_c]
    villages = [p for p in places if p.kind == "village"]

    sites: list[dict] = []
    for op in OPERATORS:
        prm = _OPERATOR_PARAMS[op]
        chosen: list[tuple[float, float, str]] = []

        def far_enough(x, y, sep, chosen=chosen):
            if not chosen:
                return True
            arr = np.asarray([(a, b) for a, b, _ in chosen])
            return float(np.min(np.hypot(arr[:, 0] - x, arr[:, 1] - y))) >= sep

        # urban and suburban: weighted random order, spacing by local density
        k = min(6000, len(urban_r))
        pick = rng.choice(len(urban_r), size=k, replace=False, p=urban_w / urban_w.sum())
        for i in pick:
            x, y = cell_centre(int(urban_r[i]), int(urban_c[i]))
            isd = float(isd_m(dens_km2[urban_r[i], urban_c[i]])) * prm["isd_scale"]
            if far_enough(x, y, isd):
                chosen.append((x, y, "urban"))
        # roads
        order = rng.permutation(len(road_xy))
        for i in order:
            x, y = road_xy[i]
            if far_enough(x, y, prm["road_step_m"]):
                chosen.append((float(x), float(y), "road"))
        # a few omni sites at mountain villages (the rest stays uncovered)
        n_omni = {"OpA": 3, "OpB": 2, "OpC": 1}[op]
        vorder = rng.permutation(len(villages))
        for i in vorder:
            v = villages[i]
            if n_omni and far_enough(v.x_m, v.y_m, 4_000.0):
                chosen.append((v.x_m, v.y_m, "mountain"))
                n_omni -= 1
        for n, (x, y, kind) in enumerate(chosen, start=1):
            sx, sy = _snap(rng, (x, y))
            r, c = cell_of(sx, sy)
            if not land[r, c]:
                continue
            sites.append(
                {
                    "operator": op,
                    "site_id": f"{op}-S{n:04d}",
                    "x_m": sx,
                    "y_m": sy,
                    "kind": kind,
                    "dens": float(dens_km2[r, c]),
                }
            )
    return sites


def stations(rng: np.random.Generator, sites: list[dict]) -> pd.DataFrame:
    """One row per sector, columns :data:`STATION_COLUMNS`, sorted by station_id."""
    to_ll = _to_lonlat()
    rows = []
    for s in sites:
        prm = _OPERATOR_PARAMS[s["operator"]]
        kind = s["kind"]
        omni = kind == "mountain"
        if kind == "urban":
            height = rng.uniform(18.0, 32.0) if s["dens"] > 3_000 else rng.uniform(25.0, 38.0)
            tilt = rng.uniform(5.0, 8.0) if s["dens"] > 3_000 else rng.uniform(3.0, 6.0)
        else:
            height = rng.uniform(30.0, 45.0)
            tilt = rng.uniform(2.0, 4.0)
        offset = rng.uniform(0.0, 120.0)
        lon, lat = to_ll(s["x_m"], s["y_m"])
        layers = [("5G", "N78", prm["nr_mhz"], 100.0, 30.0)]
        if kind != "urban":
            layers.append(("4G", "L18", prm["lte_mhz"], 20.0, 15.0))
        azimuths = [None] if omni else [(offset + 120.0 * k) % 360.0 for k in range(3)]
        for tech, code, freq, bw, scs in layers:
            for k, az in enumerate(azimuths, start=1):
                if tech == "5G":
                    eirp = rng.uniform(58.0, 65.0) if not omni else rng.uniform(55.0, 58.0)
                else:
                    eirp = rng.uniform(58.0, 62.0) if not omni else rng.uniform(54.0, 57.0)
                rows.append(
                    {
                        "station_id": f"{s['site_id']}-{k}-{code}",
                        "site_id": s["site_id"],
                        "operator": s["operator"],
                        "lon": round(float(lon), 7),
                        "lat": round(float(lat), 7),
                        "height_m": round(float(height), 1),
                        "freq_mhz": freq,
                        "eirp_dbm": round(float(eirp), 1),
                        "azimuth_deg": np.nan if az is None else round(float(az), 1),
                        "tilt_deg": 2.0 if omni else round(float(tilt), 1),
                        "beamwidth_deg": 360.0 if omni else 65.0,
                        "tech": tech,
                        "bandwidth_mhz": bw,
                        "scs_khz": scs,
                    }
                )
    df = pd.DataFrame(rows, columns=STATION_COLUMNS)
    return df.sort_values("station_id", kind="stable").reset_index(drop=True)


def fibre(rng: np.random.Generator, pop: np.ndarray) -> pd.DataFrame:
    """Fibre drop points, density proportional to urban population (none in the wilds)."""
    w = pop.astype(np.float64)
    w[w < 15.0] = 0.0  # below 1 500 persons/km^2: no fibre
    w = w.ravel()
    n = 3000
    idx = rng.choice(w.size, size=n, replace=True, p=w / w.sum())
    rows, cols = np.divmod(idx, DEMO_SHAPE[1])
    x = X_WEST_M + (cols + rng.uniform(0.1, 0.9, n)) * DEMO_RESOLUTION_M
    y = Y_NORTH_M - (rows + rng.uniform(0.1, 0.9, n)) * DEMO_RESOLUTION_M
    lon, lat = _to_lonlat()(x, y)
    order = np.lexsort((lat, lon))
    return pd.DataFrame(
        {
            "fibre_id": [f"F{i:05d}" for i in range(1, n + 1)],
            "lon": np.round(np.asarray(lon)[order], 7),
            "lat": np.round(np.asarray(lat)[order], 7),
        }
    )


def trails(rng: np.random.Generator, elev: np.ndarray, places: list[Place]) -> gpd.GeoDataFrame:
    """4 winding trails from mountain villages up to high ground, 5-30 km each."""
    villages = sorted((p for p in places if p.kind == "village"), key=lambda p: p.x_m)
    n_tr = 4
    chunks = np.array_split(np.arange(len(villages)), n_tr)
    rr, cc = np.nonzero(elev > min(2_400.0, 0.65 * float(elev.max())))
    high = np.column_stack(
        [X_WEST_M + (cc + 0.5) * DEMO_RESOLUTION_M, Y_NORTH_M - (rr + 0.5) * DEMO_RESOLUTION_M]
    )
    names = place_names(rng, n_tr, [" Ridge Trail", " Pass Trail", " Summit Trail"])
    rows = []
    for t, chunk in enumerate(chunks):
        line = None
        for attempt in range(200):
            pool = chunk if attempt < 100 else np.arange(len(villages))
            v = villages[int(pool[int(rng.integers(len(pool)))])]
            d = np.hypot(high[:, 0] - v.x_m, high[:, 1] - v.y_m)
            cand = np.nonzero((d > 6_000.0) & (d < 14_000.0))[0]
            if len(cand) == 0:
                continue
            end = high[int(cand[int(rng.integers(len(cand)))])]
            # midpoint displacement for a winding path
            pts = np.array([[v.x_m, v.y_m], end])
            for level in range(4):
                new = [pts[0]]
                for a, b in zip(pts[:-1], pts[1:], strict=True):
                    seg = b - a
                    seg_len = float(np.hypot(*seg))
                    normal = np.array([-seg[1], seg[0]]) / max(seg_len, 1.0)
                    mid = (a + b) / 2.0 + normal * rng.normal(0.0, 0.18 / (level + 1)) * seg_len
                    new += [mid, b]
                pts = np.asarray(new)
            cand_line = shapely.LineString(pts)
            if 5_000.0 <= cand_line.length <= 30_000.0 and (elev_at(elev, pts) > 0.0).all():
                line = cand_line
                break
        if line is None:  # pragma: no cover - not reached for any seed tried
            continue
        rows.append(
            {
                "trail_id": f"T{len(rows) + 1:02d}",
                "name": names[t],
                "source": f"synthetic: {SYNTHETIC_NOTE}",
                "geometry": line,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=DEMO_CRS)
