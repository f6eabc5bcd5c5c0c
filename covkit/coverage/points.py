"""Best-server RSRP of an operator at exact points: the engine's exact point-to-point path.

What verification compares with measurements, what synthetic measurements start from and
what calibration refits. Nothing here is a second copy of a formula: the path loss of each
site-frequency group to the points is :func:`covkit.propagation.engine.reference_loss_db`
(P.1812 on the exact profile from the site to the point, bilinear DEM heights; the distance
models at the exact distance), and the RSRP of every sector of the group at a point
(EIRP per resource element, antenna pattern at the point's bearing and elevation, P.2108
clutter, P.2109 building entry) is the coverage fold's own kernel
:func:`covkit.coverage.radio.reduce_site_window`, run on a one-cell window whose centre is the
point (ground height there: the bilinear DEM height). The coverage raster runs the same kernel
on the radial-sweep loss at cell centres; the two differ by the point's offset from the cell
centre and the sweep's sideways offset from the exact profile.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from covkit.coverage.layers import SiteFold, station_carriers
from covkit.coverage.radio import reduce_site_window
from covkit.propagation.engine import reference_loss_db
from covkit.propagation.terrain import bilinear_height_m

POINT_COLUMNS = ("rsrp_point_dbm", "server_row", "station_id", "site_id", "freq_mhz", "model",
                 "tech", "loss_db", "distance_m", "ground_m")
"""Columns of :func:`point_rsrp`."""


def point_rsrp(inputs, x_m, y_m, operator) -> pd.DataFrame:
    """Best-server RSRP [dBm] of each point's operator at the exact points.

    Parameters
    ----------
    inputs : covkit.data.inputs.Inputs
        Loaded inputs (DEM, stations, scenario settings).
    x_m, y_m : 1-D arrays
        Points [m] in the working CRS.
    operator : str or 1-D array of str
        The operator of each point (or one for all): only its sectors serve the point.

    Returns
    -------
    DataFrame, one row per point in the order given
        ``rsrp_point_dbm`` (NaN: no sector of the operator within
        ``propagation.max_radius_km`` on known terrain), ``server_row`` (stations-table row of
        the best server, -1 = none), ``station_id``, ``site_id``, ``freq_mhz``, ``model``,
        ``tech`` of that server, its basic path loss ``loss_db`` [dB] and horizontal
        ``distance_m`` [m], and ``ground_m``, the terrain height at the point [m AMSL].
    """
    x = np.atleast_1d(np.asarray(x_m, dtype=np.float64))
    y = np.atleast_1d(np.asarray(y_m, dtype=np.float64))
    n = x.size
    ops = np.asarray(np.broadcast_to(np.asarray(operator, dtype=object), (n,)), dtype=object)
    stations = inputs.stations
    st = stations.table
    fold = SiteFold(inputs)
    eirp_re = station_carriers(stations)["eirp_re_dbm"].to_numpy()
    azimuth = st["azimuth_deg"].to_numpy(dtype=np.float64)
    tilt = st["tilt_deg"].to_numpy(dtype=np.float64)
    hpbw = st["beamwidth_deg"].to_numpy(dtype=np.float64)
    pattern = stations.antenna_index()
    site_lat = st.groupby("site_index")["lat"].first()
    ground = np.array([bilinear_height_m(fold.dem_m, fold.affine6, x[i], y[i])
                       for i in range(n)])
    cal_class = [fold.cal_class_at(x[i], y[i]) for i in range(n)]  # one-cell grids
    best = np.full((n, 1, 1), -np.inf, np.float32)
    second = np.full((n, 1, 1), -np.inf, np.float32)
    server = np.full((n, 1, 1), -1, np.int32)
    op_best = np.full((n, 1, 1, 1), -np.inf, np.float32)
    op_server = np.full((n, 1, 1, 1), -1, np.int32)
    layer_mw = np.zeros((n, 1, 1, 1), np.float64)
    loss_of_server = np.full(n, np.nan)
    patterns = fold.patterns
    groups = st.groupby(["site_index", "freq_mhz", "operator"], sort=True).indices
    for (site, freq, op), rows in groups.items():
        site = int(site)
        sx, sy = float(stations.site_x_m[site]), float(stations.site_y_m[site])
        d = np.hypot(x - sx, y - sy)
        pts = np.flatnonzero((ops == op) & (d <= fold.radius_m) & np.isfinite(ground))
        if pts.size == 0:
            continue
        height = float(stations.site_height_m[site])
        settings = fold.settings_for(float(freq))
        loss = reference_loss_db(fold.dem_m, fold.affine6, sx, sy, x[pts], y[pts], height,
                                 fold.rx_height_agl_m, float(freq), settings,
                                 site_lat_deg=float(site_lat.loc[site]),
                                 coast_km=inputs.coast_km)
        tx_amsl = fold.ground_m(sx, sy) + height
        rows = np.asarray(rows, dtype=np.int64)
        zeros = np.zeros(rows.size, dtype=np.int64)
        args = (rows, eirp_re[rows], azimuth[rows], tilt[rows], hpbw[rows], pattern[rows],
                zeros, zeros, patterns.bounds, patterns.angle_deg, patterns.loss_db,
                patterns.cap_db)
        clutter = fold.clutter_for(float(freq))
        for j, i in enumerate(pts):
            if not np.isfinite(loss[j]):
                continue
            # a one-cell window centred on the point
            affine6 = np.array([x[i] - 0.5, 1.0, 0.0, y[i] + 0.5, 0.0, -1.0])
            before = best[i, 0, 0]
            reduce_site_window(np.array([[loss[j]]]), 0, 0, np.array([[ground[i]]]), affine6,
                               sx, sy, tx_amsl, fold.rx_height_agl_m, fold.ae_m, float(freq),
                               clutter, fold.building, cal_class[i],
                               fold.cal_offset_db, fold.cal_slope_db, *args, best[i],
                               second[i], server[i], op_best[i], op_server[i], layer_mw[i])
            if best[i, 0, 0] > before:
                loss_of_server[i] = loss[j]
    srv = server[:, 0, 0].astype(np.int64)
    has = srv >= 0
    rsrp = np.where(has, best[:, 0, 0].astype(np.float64), np.nan)
    take = np.where(has, srv, 0)

    def col(name, fill):
        values = st[name].to_numpy()[take]
        return np.where(has, values, fill)

    sx = stations.site_x_m[st["site_index"].to_numpy()[take]]
    sy = stations.site_y_m[st["site_index"].to_numpy()[take]]
    models = np.array([fold.model_for(f) for f in st["freq_mhz"].to_numpy()[take]],
                      dtype=object) if n else np.array([], dtype=object)
    return pd.DataFrame({
        "rsrp_point_dbm": rsrp, "server_row": srv,
        "station_id": col("station_id", None), "site_id": col("site_id", None),
        "freq_mhz": np.where(has, st["freq_mhz"].to_numpy(dtype=np.float64)[take], np.nan),
        "model": np.where(has, models, None), "tech": col("tech", None),
        "loss_db": loss_of_server,
        "distance_m": np.where(has, np.hypot(x - sx, y - sy), np.nan),
        "ground_m": ground})
