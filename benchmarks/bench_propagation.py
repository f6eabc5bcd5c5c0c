"""Benchmark of the propagation engine: covkit radial sweep vs exact reference, pycraf, itmlogic.

Usage::

    python benchmarks/bench_propagation.py [--tier smoke|full] [--sites N] [--json PATH]
                                           [--no-pycraf] [--no-itmlogic]

All figures are on the demo DEM (``covkit.data.demo.generate_demo``: 620 x 1000 cells of 100 m),
full ITU-R P.1812-8 (p = 50 %, pL = 50 %, vertical polarisation, coastal-land zone from the
DEM's distance to the sea as in a coverage run), receiver 1.5 m above ground,
each site at its own antenna height and carrier frequency. Sites are a fixed choice (a coastal
city site, a mountain-top site, an inland hill site, an inland lowland site); ``--sites N`` takes
the first N. Tiers: ``full`` R = 10 km, 3 sites; ``smoke`` (CI) R = 3 km, 1 site.

Measured (warm-up, i.e. Numba compilation, outside every timed region; each timed region is
repeated and the best wall time kept, because the machine may be shared):

1. engine: ``site_loss_window`` over each site's footprint; pixel-evaluations per second per
   core = pixels with a finite loss / wall time with ``numba.set_num_threads(1)``; also with 2
   threads (total throughput).
2. reference: ``reference_loss_db`` (exact profile per pixel) at 1 thread on a fixed random
   subset of the same pixels (2,000 per site); the rate scales to the full footprint because
   the subset is uniform over the footprint disc.
3. accuracy of the engine vs the reference on that subset: median and 95th percentile of
   |difference| [dB], share within 1 dB.
4. pycraf (optional, ITU-R P.452-16): ``pathprof.height_map_data`` + ``pathprof.atten_map_fast``
   at one thread (``pathprof.set_num_threads(1)``) on a square map of the same radius and
   ~100 m pixels around each site. pycraf reads terrain only from SRTM ``.hgt`` tiles, so the
   demo DEM is resampled into a synthetic 3-arcsecond tile ``N23E121.hgt`` (1201 x 1201 int16
   big-endian, rows north to south) written to a temporary directory, with the demo island's
   centre placed at 121.5 E, 23.5 N: demo coordinates (EPSG:32710) are shifted rigidly into
   UTM zone 51N (EPSG:32651), so distances are preserved to < 0.02 %. pycraf is pointed at it
   with ``pathprof.SrtmConf.set(srtm_dir=TMPDIR, download='never')``. Rate = map pixels /
   (height_map_data + atten_map_fast) time; atten_map_fast alone is reported too.
5. itmlogic (optional, Longley-Rice ITM point-to-point, pure Python): one call per profile,
   on profiles sampled from the demo DEM at a one-pixel step (extraction not timed) to subset
   pixels at least 1 km from the site (ITM's range).

pycraf and itmlogic are benchmark-only tools (``pip install pycraf itmlogic``), never covkit
dependencies; each is skipped with the reason printed when it cannot be imported.

Goals (issue 3, point 5): engine >= 2 M px/s/core; >= 100 x the exact reference; >= 20 x pycraf
per pixel.
"""

from __future__ import annotations

import argparse
import cmath
import contextlib
import io
import json
import math
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

# Idle OpenMP workers sleep instead of spinning. Set before Numba loads its OpenMP threading layer:
# on this 2-vCPU machine a worker left spinning after a parallel region competes with the timed
# thread of a 1-thread run (process CPU time 13 % above the wall time; about 4 % slower). An
# explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba  # noqa: E402

from covkit.data.demo import generate_demo  # noqa: E402
from covkit.propagation import p1812 as P1812  # noqa: E402
from covkit.propagation.engine import (  # noqa: E402
    EngineSettings,
    reference_loss_db,
    reference_terms_p1812,
    site_loss_window,
)
from covkit.propagation.terrain import coast_distance_km  # noqa: E402

TIERS = {
    "smoke": {"radius_m": 3_000.0, "n_sites": 1, "subset": 500, "repeats_engine": 5,
              "repeats_reference": 3, "repeats_pycraf": 1, "itm_profiles": 10, "repeats_itm": 1,
              "scaling_radii_m": (1_500.0, 3_000.0)},
    "full": {"radius_m": 10_000.0, "n_sites": 3, "subset": 2_000, "repeats_engine": 15,
             "repeats_reference": 7, "repeats_pycraf": 2, "itm_profiles": 100, "repeats_itm": 2,
             "scaling_radii_m": (5_000.0, 10_000.0, 20_000.0, 30_000.0)},
}
# (site_id in demo.stations, label): fixed choice, first N used
SITES = (
    ("OpA-S0003", "coastal city"),
    ("OpA-S0093", "mountain top"),
    ("OpA-S0087", "inland hills"),
    ("OpB-S0027", "inland lowland"),
)
RX_HEIGHT_AGL_M = 1.5
SEED = 12345

GOAL_ENGINE_PX_PER_S = 2.0e6
GOAL_RATIO_REFERENCE = 100.0
GOAL_RATIO_PYCRAF = 20.0

# where the demo island's centre is placed for pycraf's synthetic SRTM tile
PYCRAF_CENTRE_LON_DEG = 121.5
PYCRAF_CENTRE_LAT_DEG = 23.5
PYCRAF_TILE = (121, 23)  # (lon, lat) of the tile's south-west corner
PYCRAF_TILE_SIZE = 1201  # 3 arc-second tile
PYCRAF_UTM_EPSG = 32651  # UTM 51N, the zone of 121.5 E
PYCRAF_TEMPERATURE_K = 293.15
PYCRAF_PRESSURE_HPA = 1013.25
ITM_MIN_DISTANCE_M = 1_000.0


# ----------------------------------------------------------------------------------------------
# helpers


def best_of(fn, repeats):
    """Best wall time [s] of ``repeats`` calls of ``fn()``, the process CPU time [s] of that
    call (all threads; close to the wall time at one thread unless the core is contended) and
    the last result."""
    best, best_cpu = math.inf, math.nan
    out = None
    for _ in range(max(1, repeats)):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        dt, dc = time.perf_counter() - t, time.process_time() - c
        if dt < best:
            best, best_cpu = dt, dc
    return best, best_cpu, out


def best_of_rounds(calls, rounds):
    """Round-robin timing: ``rounds`` passes over ``calls`` (a list of ``(setup, fn)``; ``setup``
    may be None), so that a burst of load from other processes hits one repetition of every
    call rather than every repetition of one. Per call: best wall time [s], process CPU time of
    that run [s] and the last result."""
    best = [math.inf] * len(calls)
    best_cpu = [math.nan] * len(calls)
    out = [None] * len(calls)
    for _ in range(max(1, rounds)):
        for i, (setup, fn) in enumerate(calls):
            if setup is not None:
                setup()
            t, c = time.perf_counter(), time.process_time()
            out[i] = fn()
            dt, dc = time.perf_counter() - t, time.process_time() - c
            if dt < best[i]:
                best[i], best_cpu[i] = dt, dc
    return best, best_cpu, out


def affine6_of(transform):
    return (transform.c, transform.a, 0.0, transform.f, 0.0, transform.e)


def bilinear_dem(dem_m, affine6, x_m, y_m, outside=np.nan):
    """Bilinear DEM height at points (pixel centres are the nodes)."""
    from scipy.ndimage import map_coordinates

    col = (np.asarray(x_m) - affine6[0]) / affine6[1] - 0.5
    row = (np.asarray(y_m) - affine6[3]) / affine6[5] - 0.5
    return map_coordinates(np.asarray(dem_m, dtype=np.float64), [row, col], order=1,
                           mode="constant", cval=outside)


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def fmt_rate(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return f"{v / 1e6:.2f} M"
    if v >= 1e3:
        return f"{v / 1e3:.1f} k"
    return f"{v:.1f}"


def fmt_ratio(v):
    if v is None:
        return "-"
    return f"{v:,.1f}x" if v < 1e4 else f"{v:,.0f}x"


def ratio(a, b):
    return a / b if (a is not None and b) else None


# ----------------------------------------------------------------------------------------------
# sites


def load_sites(demo, n_sites):
    from pyproj import Transformer

    to_grid = Transformer.from_crs("EPSG:4326", demo.crs, always_xy=True)
    affine6 = affine6_of(demo.transform)
    sites = []
    for site_id, label in SITES[:n_sites]:
        rows = demo.stations[demo.stations["site_id"] == site_id]
        if rows.empty:
            raise SystemExit(f"demo site {site_id} not found in demo.stations")
        row = rows.iloc[0]
        x, y = to_grid.transform(float(row["lon"]), float(row["lat"]))
        sites.append({
            "site_id": site_id,
            "label": label,
            "x_m": float(x),
            "y_m": float(y),
            "lon_deg": float(row["lon"]),
            "lat_deg": float(row["lat"]),
            "tx_height_agl_m": float(row["height_m"]),
            "freq_mhz": float(row["freq_mhz"]),
            "ground_m": float(bilinear_dem(demo.dem_m, affine6, [x], [y])[0]),
        })
    return sites


# ----------------------------------------------------------------------------------------------
# covkit engine and reference


_COAST = {}


def coast_of(dem, affine6):
    """The DEM's distance-to-sea raster (P.1812 coastal-land zone), as a coverage run passes
    it; computed once per DEM, untimed."""
    key = id(dem)
    if key not in _COAST:
        _COAST[key] = (dem, coast_distance_km(dem, affine6[1]))
    return _COAST[key][1]


def run_engine(dem, affine6, site, radius_m, settings):
    return site_loss_window(dem, affine6, site["x_m"], site["y_m"], site["tx_height_agl_m"],
                            RX_HEIGHT_AGL_M, site["freq_mhz"], radius_m, settings,
                            site_lat_deg=site["lat_deg"], coast_km=coast_of(dem, affine6))


def run_reference(dem, affine6, site, x, y, settings):
    return reference_loss_db(dem, affine6, site["x_m"], site["y_m"], x, y,
                             site["tx_height_agl_m"], RX_HEIGHT_AGL_M, site["freq_mhz"],
                             settings, site_lat_deg=site["lat_deg"],
                             coast_km=coast_of(dem, affine6))


def warm_up(dem, affine6, site, settings):
    """Compile (or load from the Numba cache) every kernel used; returns seconds."""
    t = time.perf_counter()
    run_engine(dem, affine6, site, 5 * affine6[1], settings)
    run_reference(dem, affine6, site, np.array([site["x_m"] + 300.0]),
                  np.array([site["y_m"] + 200.0]), settings)
    return time.perf_counter() - t


def stage2_ns_per_px(dem, affine6, sites, subsets, settings, repeats):
    """Time of the P.1812 stage-2 kernel alone [ns/px] (``p1812_loss_from_constants`` in the
    engine's mode, the same kernel both implementations end in) on the reference terms of the
    subset pixels, at one thread; and the number of pixels timed."""
    ae_km = P1812.effective_earth_radius_km(settings.dn)
    pol = 1 if settings.polarization == "h" else 2
    batches = []
    for s, sub in zip(sites, subsets, strict=True):
        terms = reference_terms_p1812(dem, affine6, coast_of(dem, affine6), s["x_m"], s["y_m"],
                                      sub["x"], sub["y"], s["tx_height_agl_m"], RX_HEIGHT_AGL_M,
                                      affine6[1] * settings.step_factor, ae_km)
        consts = np.empty(P1812.N_CONSTS)
        P1812.p1812_constants(s["freq_mhz"] / 1000.0, settings.time_pct, settings.location_pct,
                              settings.sigma_l_db, pol, settings.n0, s["lat_deg"], consts)
        batches.append((terms, consts))
    P1812.p1812_loss_batch_db(batches[0][0][:2], batches[0][1], settings.dct_km,
                              settings.dcr_km, True)  # compile outside the timing

    def run():
        for terms, consts in batches:
            P1812.p1812_loss_batch_db(terms, consts, settings.dct_km, settings.dcr_km, True)

    t, _, _ = best_of(run, repeats)
    n = sum(int(np.isfinite(terms[:, P1812.T_D]).sum()) for terms, _ in batches)
    return 1e9 * t / n, n


def scaling_by_radius(dem, affine6, site, radii_m, settings, rng):
    """Engine and reference rates at one thread for one site over several footprint radii: the
    reference costs O(n) per pixel for n profile samples, the engine O(log n)."""
    rows = []
    for radius_m in radii_m:
        run_engine(dem, affine6, site, radius_m, settings)
        t_eng, _, win = best_of(lambda r=radius_m: run_engine(dem, affine6, site, r, settings), 3)
        n_px = int(np.isfinite(win.loss_db).sum())
        _, _, x, y, _ = subset_pixels(win, affine6, 1_000, rng)
        t_ref, _, _ = best_of(lambda x=x, y=y: run_reference(dem, affine6, site, x, y, settings),
                              2)
        eng, ref = n_px / t_eng, x.size / t_ref
        rows.append({"radius_m": radius_m, "pixels": n_px, "engine_px_per_s_per_core": eng,
                     "reference_px_per_s_per_core": ref, "ratio_engine_vs_reference": eng / ref})
    return rows


def subset_pixels(window, affine6, n, rng):
    """A fixed random subset of the window's finite pixels: (rows, cols, x, y, engine loss)."""
    rr, cc = np.nonzero(np.isfinite(window.loss_db))
    pick = rng.choice(rr.size, size=min(n, rr.size), replace=False)
    pick.sort()
    r, c = rr[pick], cc[pick]
    x = affine6[0] + (window.col0 + c + 0.5) * affine6[1]
    y = affine6[3] + (window.row0 + r + 0.5) * affine6[5]
    return r, c, x, y, window.loss_db[r, c].astype(np.float64)


# ----------------------------------------------------------------------------------------------
# pycraf (P.452 through SRTM tiles)


def write_synthetic_srtm_tile(demo, tile_dir):
    """Resample the demo DEM into ``N23E121.hgt`` (3 arc-second) in ``tile_dir``.

    Returns the (dx, dy) shift [m] from demo coordinates (EPSG:32710) to UTM 51N and the path.
    """
    from pyproj import Transformer

    ll_to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{PYCRAF_UTM_EPSG}", always_xy=True)
    affine6 = affine6_of(demo.transform)
    ny, nx = demo.dem_m.shape
    cx = affine6[0] + 0.5 * nx * affine6[1]
    cy = affine6[3] + 0.5 * ny * affine6[5]
    ex, ey = ll_to_utm.transform(PYCRAF_CENTRE_LON_DEG, PYCRAF_CENTRE_LAT_DEG)
    shift = (ex - cx, ey - cy)
    n = PYCRAF_TILE_SIZE
    lon0, lat0 = PYCRAF_TILE
    lons = lon0 + np.arange(n) / (n - 1)
    lats = lat0 + 1.0 - np.arange(n) / (n - 1)  # first row = northern edge (SRTM layout)
    lon_g, lat_g = np.meshgrid(lons, lats)
    ux, uy = ll_to_utm.transform(lon_g, lat_g)
    h = bilinear_dem(demo.dem_m, affine6, ux - shift[0], uy - shift[1], outside=0.0)
    path = Path(tile_dir) / (f"{'N' if lat0 >= 0 else 'S'}{abs(lat0):02d}"
                             f"{'E' if lon0 >= 0 else 'W'}{abs(lon0):03d}.hgt")
    np.round(h).astype(">i2").tofile(path)
    return shift, path


def bench_pycraf(demo, sites, radius_m, windows, repeats):
    """pycraf height_map_data + atten_map_fast per site at one thread, or a skip reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from astropy import units as u
            from pycraf import pathprof
        from pyproj import Geod, Transformer
    except Exception as exc:  # ImportError, or a broken install
        return None, f"pycraf not importable ({type(exc).__name__}: {exc})"

    affine6 = affine6_of(demo.transform)
    geod = Geod(ellps="WGS84")
    utm_to_ll = Transformer.from_crs(f"EPSG:{PYCRAF_UTM_EPSG}", "EPSG:4326", always_xy=True)
    ll_to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{PYCRAF_UTM_EPSG}", always_xy=True)
    out = {"sites": [], "hmd_s": 0.0, "amf_s": 0.0, "pixels": 0, "pixels_in_radius": 0}
    diffs = []
    with tempfile.TemporaryDirectory(prefix="covkit_srtm_") as tile_dir:
        t = time.perf_counter()
        shift, tile_path = write_synthetic_srtm_tile(demo, tile_dir)
        out["tile_write_s"] = time.perf_counter() - t
        out["tile"] = tile_path.name
        pathprof.set_num_threads(1)
        with pathprof.SrtmConf.set(srtm_dir=tile_dir, download="never"), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for site, win in zip(sites, windows, strict=True):
                lon, lat = utm_to_ll.transform(site["x_m"] + shift[0], site["y_m"] + shift[1])
                # terrain check (also loads the tile outside the timed region)
                h_site = float(pathprof.srtm_height_data(lon * u.deg, lat * u.deg).value)
                m_per_deg_lat = geod.inv(lon, lat - 0.5, lon, lat + 0.5)[2]
                size_deg = 2.0 * radius_m / m_per_deg_lat
                res_deg = affine6[1] / m_per_deg_lat

                def hmd(lon=lon, lat=lat, size_deg=size_deg, res_deg=res_deg):
                    with contextlib.redirect_stdout(io.StringIO()):  # pycraf prints progress
                        return pathprof.height_map_data(
                            lon * u.deg, lat * u.deg, size_deg * u.deg, size_deg * u.deg,
                            map_resolution=res_deg * u.deg)

                t_hmd, _, hprof = best_of(hmd, repeats)

                def amf(hprof=hprof, site=site):
                    return pathprof.atten_map_fast(
                        site["freq_mhz"] / 1000.0 * u.GHz, PYCRAF_TEMPERATURE_K * u.K,
                        PYCRAF_PRESSURE_HPA * u.hPa, site["tx_height_agl_m"] * u.m,
                        RX_HEIGHT_AGL_M * u.m, 50.0 * u.percent, hprof, polarization=1,
                        version=16)

                t_amf, _, res = best_of(amf, repeats)
                lb = np.asarray(res["L_b"].value)
                dist_km = np.asarray(hprof["dist_map"])
                # pycraf pixels -> demo grid -> engine loss (nearest cell), for a sanity check
                lon_g, lat_g = np.meshgrid(hprof["xcoords"], hprof["ycoords"])
                ux, uy = ll_to_utm.transform(lon_g, lat_g)
                col = np.floor((ux - shift[0] - affine6[0]) / affine6[1]).astype(int) - win.col0
                row = np.floor((uy - shift[1] - affine6[3]) / affine6[5]).astype(int) - win.row0
                ok = ((row >= 0) & (row < win.loss_db.shape[0]) & (col >= 0)
                      & (col < win.loss_db.shape[1]) & (dist_km * 1000.0 > 2 * affine6[1]))
                eng = np.full(lb.shape, np.nan)
                eng[ok] = win.loss_db[row[ok], col[ok]]
                d = np.abs(lb - eng)
                d = d[np.isfinite(d)]
                diffs.append(d)
                n_in = int((dist_km * 1000.0 <= radius_m).sum())
                out["hmd_s"] += t_hmd
                out["amf_s"] += t_amf
                out["pixels"] += int(lb.size)
                out["pixels_in_radius"] += n_in
                out["sites"].append({
                    "site_id": site["site_id"], "lon_deg": lon, "lat_deg": lat,
                    "map_shape": list(lb.shape), "pixels": int(lb.size),
                    "pixels_in_radius": n_in, "height_map_data_s": t_hmd,
                    "atten_map_fast_s": t_amf, "hprof_step_m": float(hprof["hprof_step"]),
                    "terrain_at_site_pycraf_m": h_site, "terrain_at_site_demo_m":
                    site["ground_m"],
                    "median_abs_diff_vs_engine_db":
                    float(np.median(d)) if d.size else None,
                })
    total = out["hmd_s"] + out["amf_s"]
    out["px_per_s_per_core"] = out["pixels"] / total
    out["amf_px_per_s_per_core"] = out["pixels"] / out["amf_s"]
    out["hmd_px_per_s_per_core"] = out["pixels"] / out["hmd_s"]
    alld = np.concatenate(diffs) if diffs else np.empty(0)
    out["median_abs_diff_vs_engine_db"] = float(np.median(alld)) if alld.size else None
    return out, None


# ----------------------------------------------------------------------------------------------
# itmlogic (ITM point-to-point, pure Python)


def itm_p2p_loss_db(heights_m, step_m, freq_mhz, htx_m, hrx_m, qlrpfl, avar):
    """Median ITM basic transmission loss [dB] on one profile (itmlogic, as its p2p script:
    eps 15, sigma 0.005 S/m, continental temperate climate, Ns 314, vertical polarisation)."""
    n = len(heights_m) - 1
    prop = {
        "fmhz": freq_mhz, "hg": [htx_m, hrx_m], "ipol": 1, "eps": 15.0, "sgm": 0.005,
        "klim": 5, "ens0": 314.0, "lvar": 5, "gma": 157e-9, "kwx": 0, "klimx": 0,
        "mdvarx": 11, "d": n * step_m / 1000.0, "pfl": [n, step_m, *heights_m],
    }
    prop["wn"] = freq_mhz / 47.7
    prop["ens"] = prop["ens0"]
    prop["gme"] = prop["gma"] * (1.0 - 0.04665 * math.exp(prop["ens"] / 179.3))
    zq = complex(prop["eps"], 376.62 * prop["sgm"] / prop["wn"])
    prop["zgnd"] = cmath.sqrt(zq - 1.0) / zq  # vertical polarisation
    prop = qlrpfl(prop)
    fs = 8.685890 * math.log(2.0 * prop["wn"] * prop["dist"])
    a, prop = avar(0.0, 0.0, 0.0, prop)  # median time, location and situation
    return fs + a


def bench_itmlogic(dem, affine6, sites, subsets, n_profiles, repeats):
    try:
        from itmlogic.preparatory_subroutines.qlrpfl import qlrpfl
        from itmlogic.statistics.avar import avar
    except Exception as exc:
        return None, f"itmlogic not importable ({type(exc).__name__}: {exc})"
    profiles = []
    for site, sub in zip(sites, subsets, strict=True):
        x, y, ref = sub["x"], sub["y"], sub["reference_db"]
        dist = np.hypot(x - site["x_m"], y - site["y_m"])
        idx = np.nonzero(dist >= ITM_MIN_DISTANCE_M)[0][:n_profiles]
        for i in idx:
            n = max(2, int(math.ceil(dist[i] / affine6[1])))
            t = np.linspace(0.0, 1.0, n + 1)
            h = bilinear_dem(dem, affine6, site["x_m"] + t * (x[i] - site["x_m"]),
                             site["y_m"] + t * (y[i] - site["y_m"]))
            profiles.append((site, [float(v) for v in h], dist[i] / n, float(ref[i])))
    if not profiles:
        return None, "no profile of at least 1 km in the subset"

    def run(profs):
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [itm_p2p_loss_db(h, step, s["freq_mhz"], s["tx_height_agl_m"],
                                    RX_HEIGHT_AGL_M, qlrpfl, avar)
                    for s, h, step, _ in profs]

    run(profiles[:1])  # warm-up (first calls)
    t, _, losses = best_of(lambda: run(profiles), repeats)
    losses = np.asarray(losses, dtype=np.float64)
    refs = np.array([p[3] for p in profiles])
    signed = losses - refs
    signed = signed[np.isfinite(signed)]
    d = np.abs(signed)
    return {
        "profiles": len(profiles),
        "mean_samples_per_profile": float(np.mean([len(p[1]) for p in profiles])),
        "time_s": t,
        "ms_per_profile": 1000.0 * t / len(profiles),
        "px_per_s_per_core": len(profiles) / t,
        "median_abs_diff_vs_reference_db": float(np.median(d)) if d.size else None,
        "median_diff_vs_reference_db": float(np.median(signed)) if d.size else None,
    }, None


# ----------------------------------------------------------------------------------------------
# main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tier", choices=sorted(TIERS), default="full")
    parser.add_argument("--sites", type=int, default=None,
                        help=f"number of sites, 1-{len(SITES)} (default: 3 full, 1 smoke)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures as JSON here")
    parser.add_argument("--no-pycraf", action="store_true", help="skip pycraf even if installed")
    parser.add_argument("--no-itmlogic", action="store_true",
                        help="skip itmlogic even if installed")
    args = parser.parse_args(argv)
    tier = dict(TIERS[args.tier])
    n_sites = tier["n_sites"] if args.sites is None else args.sites
    if not 1 <= n_sites <= len(SITES):
        parser.error(f"--sites must be in 1..{len(SITES)}")
    radius_m = tier["radius_m"]
    t_start = time.perf_counter()
    load_start = load_average()

    t = time.perf_counter()
    demo = generate_demo()
    demo_s = time.perf_counter() - t
    dem = np.ascontiguousarray(demo.dem_m)
    affine6 = affine6_of(demo.transform)
    sites = load_sites(demo, n_sites)
    settings = EngineSettings()
    print(f"bench_propagation: tier {args.tier}, R = {radius_m / 1000:g} km, {n_sites} site(s), "
          f"P.1812-8 (p 50 %, pL 50 %), rx {RX_HEIGHT_AGL_M} m; demo DEM {dem.shape[0]} x "
          f"{dem.shape[1]} @ {affine6[1]:g} m (generated in {demo_s:.1f} s)")
    for s in sites:
        print(f"  site {s['site_id']:10s} {s['label']:15s} ground {s['ground_m']:7.1f} m, "
              f"antenna {s['tx_height_agl_m']:.1f} m, {s['freq_mhz']:g} MHz")

    # ---- warm-up (compilation) outside every timed region
    numba.set_num_threads(1)
    warm_s = warm_up(dem, affine6, sites[0], settings)
    print(f"warm-up (Numba compile or cache load): {warm_s:.1f} s")

    # ---- 1. engine at 1 thread and at 2 threads (rounds interleave both thread counts)
    for s in sites:
        run_engine(dem, affine6, s, radius_m, settings)  # untimed warm run (caches, pages)
    max_threads = int(numba.config.NUMBA_NUM_THREADS)
    thread_counts = (1, 2) if max_threads >= 2 else (1,)
    calls = [(lambda n=n: numba.set_num_threads(n),
              lambda s=s: run_engine(dem, affine6, s, radius_m, settings))
             for n in thread_counts for s in sites]
    times, cpus, outs = best_of_rounds(calls, tier["repeats_engine"])
    numba.set_num_threads(1)
    k = len(sites)
    eng1, eng1_cpu, windows = times[:k], cpus[:k], outs[:k]
    px_sites = [int(np.isfinite(w.loss_db).sum()) for w in windows]
    n_px = sum(px_sites)
    engine_rate = n_px / sum(eng1)
    engine_rate_cpu = n_px / sum(eng1_cpu)
    eng2, engine_rate_2, two_thread_note = None, None, None
    if len(thread_counts) == 2:
        eng2 = times[k:]
        engine_rate_2 = n_px / sum(eng2)
        if (os.cpu_count() or 1) < 2:
            two_thread_note = f"only {os.cpu_count()} CPU: 2 threads share one core"
    else:
        two_thread_note = f"only {max_threads} Numba thread available"
    try:
        threading_layer = numba.threading_layer()
    except ValueError:
        threading_layer = None

    # ---- 2./3. exact reference on a fixed random subset, at 1 thread; accuracy
    rng = np.random.default_rng(SEED)
    subsets, calls = [], []
    for s, win in zip(sites, windows, strict=True):
        _, _, x, y, eng = subset_pixels(win, affine6, tier["subset"], rng)
        subsets.append({"x": x, "y": y, "engine_db": eng})
        calls.append((None, lambda s=s, x=x, y=y: run_reference(dem, affine6, s, x, y, settings)))
    ref_t, _, refs = best_of_rounds(calls, tier["repeats_reference"])
    for sub, ref in zip(subsets, refs, strict=True):
        sub["reference_db"] = np.asarray(ref, dtype=np.float64)
    ref_n = sum(sub["x"].size for sub in subsets)
    reference_rate = ref_n / sum(ref_t)
    diff_sites = [np.abs(sub["engine_db"] - sub["reference_db"]) for sub in subsets]
    diff = np.concatenate(diff_sites)
    n_nonfinite = int((~np.isfinite(diff)).sum())
    diff = diff[np.isfinite(diff)]
    median_err = float(np.median(diff))
    p95_err = float(np.percentile(diff, 95))
    within_1db = float(np.mean(diff <= 1.0))

    # ---- where the time goes: stage 2 (shared with the reference) alone; scaling with radius
    s2_ns, s2_n = stage2_ns_per_px(dem, affine6, sites, subsets, settings,
                                   tier["repeats_reference"])
    engine_ns = 1e9 / engine_rate
    reference_ns = 1e9 / reference_rate
    ratio_bound = reference_ns / s2_ns
    scale_site = sites[1] if len(sites) > 1 else sites[0]
    scaling = scaling_by_radius(dem, affine6, scale_site, tier["scaling_radii_m"], settings,
                                np.random.default_rng(SEED + 1))

    # ---- 4. pycraf, 5. itmlogic
    if args.no_pycraf:
        pyc, pyc_reason = None, "skipped (--no-pycraf)"
    else:
        try:
            pyc, pyc_reason = bench_pycraf(demo, sites, radius_m, windows,
                                           tier["repeats_pycraf"])
        except Exception as exc:
            pyc, pyc_reason = None, f"pycraf failed ({type(exc).__name__}: {exc})"
    if args.no_itmlogic:
        itm, itm_reason = None, "skipped (--no-itmlogic)"
    else:
        try:
            itm, itm_reason = bench_itmlogic(dem, affine6, sites, subsets, tier["itm_profiles"],
                                             tier["repeats_itm"])
        except Exception as exc:
            itm, itm_reason = None, f"itmlogic failed ({type(exc).__name__}: {exc})"
    pycraf_rate = pyc["px_per_s_per_core"] if pyc else None
    pycraf_amf_rate = pyc["amf_px_per_s_per_core"] if pyc else None
    itm_rate = itm["px_per_s_per_core"] if itm else None

    # ---- table
    ratio_ref = ratio(engine_rate, reference_rate)
    ratio_pyc = ratio(engine_rate, pycraf_rate)
    rows = [
        ("covkit engine, 1 thread", "P.1812-8", engine_rate, 1.0,
         f"radial sweep, {n_px:,} px with finite loss, best of {tier['repeats_engine']}"),
    ]
    if engine_rate_2 is not None:
        rows.append(("covkit engine, 2 threads", "P.1812-8", engine_rate_2 / 2, None,
                     f"total {fmt_rate(engine_rate_2)} px/s = {engine_rate_2 / engine_rate:.2f}x"
                     " the 1-thread rate" + (f"; {two_thread_note}" if two_thread_note else "")))
    else:
        rows.append(("covkit engine, 2 threads", "P.1812-8", None, None, two_thread_note))
    rows.append(("covkit reference", "P.1812-8", reference_rate, ratio_ref,
                 f"exact profile per px, {ref_n:,} px subset; full footprint "
                 f"would take {n_px / reference_rate:.2f} s"))
    if pyc:
        rows.append(("pycraf height_map_data+atten_map_fast", "P.452-16", pycraf_rate, ratio_pyc,
                     f"{pyc['pixels']:,} map px ({pyc['pixels_in_radius']:,} within R), synthetic "
                     f"SRTM tile; hmd {pyc['hmd_s']:.2f} s + amf {pyc['amf_s']:.2f} s"))
        rows.append(("pycraf atten_map_fast only", "P.452-16", pycraf_amf_rate,
                     ratio(engine_rate, pycraf_amf_rate),
                     "height profiles precomputed (reusable across freq/heights)"))
    else:
        rows.append(("pycraf", "P.452-16", None, None, pyc_reason))
    if itm:
        rows.append(("itmlogic point-to-point", "ITM (Longley-Rice)", itm_rate,
                     ratio(engine_rate, itm_rate),
                     f"{itm['profiles']} profiles, {itm['ms_per_profile']:.2f} ms/profile, "
                     f"~{itm['mean_samples_per_profile']:.0f} samples each; extraction untimed"))
    else:
        rows.append(("itmlogic", "ITM", None, None, itm_reason))

    w_tool = max(len(r[0]) for r in rows)
    w_model = max(len(r[1]) for r in rows)
    print()
    print(f"{'tool':{w_tool}s}  {'model':{w_model}s}  {'px/s/core':>10s}  {'engine/x':>9s}  notes")
    print("-" * (w_tool + w_model + 40))
    for tool, model, rate, rat, note in rows:
        print(f"{tool:{w_tool}s}  {model:{w_model}s}  {fmt_rate(rate):>10s}  "
              f"{fmt_ratio(rat):>9s}  {note or ''}")
    print()
    contended = sum(eng1_cpu) < 0.9 * sum(eng1)
    print(f"engine 1 thread: wall {sum(eng1):.3f} s, process CPU {sum(eng1_cpu):.3f} s "
          f"({fmt_rate(engine_rate_cpu)} px/s per CPU-second)"
          + ("; CPU < 90 % of wall: the core was contended, figures are pessimistic"
             if contended else ""))
    print(f"accuracy engine vs reference ({diff.size:,} px): median |diff| {median_err:.3f} dB, "
          f"p95 {p95_err:.3f} dB, within 1 dB {100 * within_1db:.1f} %"
          + (f" ({n_nonfinite} non-finite excluded)" if n_nonfinite else ""))
    print(f"cost per pixel: engine {engine_ns:.0f} ns, of which the P.1812 stage-2 kernel "
          f"{s2_ns:.0f} ns ({s2_n:,} px timed alone); reference {reference_ns:.0f} ns, ending in "
          f"the same kernel: even a free stage 1 would make the engine at most "
          f"{ratio_bound:.0f}x faster than the reference at this radius")
    print(f"scaling with radius (site {scale_site['site_id']}, {scale_site['label']}): "
          + "; ".join(f"R {r['radius_m'] / 1000:g} km: engine "
                      f"{fmt_rate(r['engine_px_per_s_per_core'])}, reference "
                      f"{fmt_rate(r['reference_px_per_s_per_core'])}, "
                      f"{r['ratio_engine_vs_reference']:.1f}x" for r in scaling))
    if pyc and pyc["median_abs_diff_vs_engine_db"] is not None:
        hs = ", ".join(f"{p['terrain_at_site_pycraf_m']:.0f} m vs demo "
                       f"{p['terrain_at_site_demo_m']:.0f} m" for p in pyc["sites"])
        print(f"pycraf sanity: terrain at site(s) read back by pycraf {hs}; median |P.452 L_b - "
              f"engine P.1812| {pyc['median_abs_diff_vs_engine_db']:.2f} dB (different models)")
    if itm and itm["median_abs_diff_vs_reference_db"] is not None:
        print(f"itmlogic sanity: median |ITM - reference P.1812| "
              f"{itm['median_abs_diff_vs_reference_db']:.2f} dB, median ITM - P.1812 "
              f"{itm['median_diff_vs_reference_db']:+.2f} dB (different models)")

    def verdict(ok):
        return "n/a " if ok is None else ("PASS" if ok else "MISS")

    goals = {
        "engine_px_per_s_per_core_ge_2M": engine_rate >= GOAL_ENGINE_PX_PER_S,
        "ratio_vs_reference_ge_100": ratio_ref >= GOAL_RATIO_REFERENCE,
        "ratio_vs_pycraf_ge_20": None if ratio_pyc is None else ratio_pyc >= GOAL_RATIO_PYCRAF,
    }
    print()
    print("goals (issue 3.5):")
    print(f"  [{verdict(goals['engine_px_per_s_per_core_ge_2M'])}] engine >= 2 M px/s/core: "
          f"{fmt_rate(engine_rate)}")
    print(f"  [{verdict(goals['ratio_vs_reference_ge_100'])}] engine >= 100x exact reference: "
          f"{fmt_ratio(ratio_ref)}")
    print(f"  [{verdict(goals['ratio_vs_pycraf_ge_20'])}] engine >= 20x pycraf per pixel: "
          + (fmt_ratio(ratio_pyc) if ratio_pyc else f"not measured ({pyc_reason})"))
    if args.tier == "smoke":
        print("  (smoke tier: R = 3 km, figures are indicative only)")

    total_s = time.perf_counter() - t_start
    print(f"\ntotal {total_s:.1f} s; load average {load_start} -> {load_average()} "
          f"on {os.cpu_count()} CPUs (timings are best-of-N wall times)")

    if args.json is not None:
        payload = {
            "benchmark": "propagation",
            "engine_px_per_s_per_core": engine_rate,
            "engine_px_per_s_2_threads": engine_rate_2,
            "engine_2_threads_note": two_thread_note,
            "engine_px_per_cpu_s_1_thread": engine_rate_cpu,
            "engine_1_thread_core_contended": contended,
            "reference_px_per_s_per_core": reference_rate,
            "ratio_engine_vs_reference": ratio_ref,
            "stage2_ns_per_px": s2_ns,
            "engine_ns_per_px": engine_ns,
            "reference_ns_per_px": reference_ns,
            "ratio_bound_vs_reference_from_stage2": ratio_bound,
            "scaling_by_radius": scaling,
            "median_abs_error_db": median_err,
            "p95_abs_error_db": p95_err,
            "share_within_1db": within_1db,
            "pycraf_px_per_s_per_core": pycraf_rate,
            "pycraf_atten_map_fast_px_per_s_per_core": pycraf_amf_rate,
            "pycraf_height_map_data_px_per_s_per_core":
            pyc["hmd_px_per_s_per_core"] if pyc else None,
            "ratio_engine_vs_pycraf": ratio_pyc,
            "ratio_engine_vs_pycraf_atten_map_fast": ratio(engine_rate, pycraf_amf_rate),
            "pycraf_skip_reason": pyc_reason,
            "pycraf": pyc,
            "itmlogic_px_per_s_per_core": itm_rate,
            "ratio_engine_vs_itmlogic": ratio(engine_rate, itm_rate),
            "itmlogic_skip_reason": itm_reason,
            "itmlogic": itm,
            "goals": goals,
            "sites": [
                {**s, "pixels": px, "engine_s_1_thread": t1, "engine_cpu_s_1_thread": eng1_cpu[i],
                 "engine_s_2_threads": None if eng2 is None else eng2[i],
                 "reference_points": int(sub["x"].size), "reference_s": tr,
                 "median_abs_error_db": float(np.nanmedian(d)),
                 "p95_abs_error_db": float(np.nanpercentile(d, 95))}
                for i, (s, px, t1, sub, tr, d) in enumerate(
                    zip(sites, px_sites, eng1, subsets, ref_t, diff_sites, strict=True))
            ],
            "parameters": {
                "tier": args.tier, "radius_m": radius_m, "n_sites": n_sites,
                "site_ids": [s["site_id"] for s in sites], "rx_height_agl_m": RX_HEIGHT_AGL_M,
                "model": settings.model, "time_pct": settings.time_pct,
                "location_pct": settings.location_pct, "polarization": settings.polarization,
                "step_factor": settings.step_factor,
                "radial_oversampling": settings.radial_oversampling,
                "coastal_land_zone": True,  # coast_of(): the DEM's distance to the sea
                "subset_per_site": tier["subset"], "repeats_engine": tier["repeats_engine"],
                "repeats_reference": tier["repeats_reference"],
                "repeats_pycraf": tier["repeats_pycraf"], "itm_profiles_per_site":
                tier["itm_profiles"], "seed": SEED, "pixel_m": affine6[1],
                "pycraf_tile_centre_lon_lat_deg": [PYCRAF_CENTRE_LON_DEG, PYCRAF_CENTRE_LAT_DEG],
            },
            "machine": {
                "cpu_count": os.cpu_count(),
                "cpu_affinity": len(os.sched_getaffinity(0))
                if hasattr(os, "sched_getaffinity") else None,
                "cpu_model": cpu_model(),
                "numba_num_threads_max": max_threads,
                "numba_threads_per_core_figure": 1,
                "numba_threading_layer": threading_layer,
                "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                "numba_version": numba.__version__,
                "numpy_version": np.__version__,
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average_start": load_start,
                "load_average_end": load_average(),
            },
            "timing": {"demo_generate_s": demo_s, "warm_up_s": warm_s, "total_s": total_s},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, default=float))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
