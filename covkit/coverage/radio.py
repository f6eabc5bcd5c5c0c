"""Per-pixel radio layers: RSRP, best server, SINR sums, coverage probability, throughput.

The coverage run streams over sites. For each site and each distinct carrier frequency of its
sectors the engine returns one path-loss window (:func:`covkit.propagation.engine.
site_loss_window`); :func:`reduce_site_window` turns it into the RSRP of every sector of that
group and folds it into *running* grids (memory bounded by a fixed number of grids, never one
per sector or site):

- ``best_dbm``, ``second_dbm``, ``server``: best and second-best RSRP over all sectors and the
  best server (row index into the stations table);
- ``op_best_dbm``, ``op_server``: the same best per operator (``[n_operators, rows, cols]``);
- ``layer_mw``: per (operator, frequency) layer, the linear sum of every sector's received
  power per resource element [mW], from which SINR is formed at the end.

RSRP of a sector at a pixel [dBm] (EIRP spread evenly over the carrier's 12 N_RB subcarriers)::

    RSRP = EIRP - 10 log10(12 N_RB) - L_path + A(phi, theta) - L_clutter - L_BEL

with ``A`` the antenna pattern *relative to boresight* (0 dB on boresight: the EIRP already
contains the antenna's maximum gain): the TR 38.901 Table 7.3-1 sector pattern from azimuth,
tilt and beamwidth, or a sector's MSI / Planet pattern file (``G = -min(L_H + L_V, L_max)``,
:func:`covkit.propagation.antenna.tabulated_gain_dbi`, the file's tilt plus ``tilt_deg``);
``phi`` the pixel azimuth relative to the sector azimuth and ``theta`` the elevation angle
of the pixel seen from the antenna over a curved Earth of effective radius ``a_e``::

    theta = atan((h_rx_amsl - h_tx_amsl) / d - d / (2 a_e))

The numbers of resource blocks are 3GPP TS 38.101-1 Table 5.3.2-1 (NR, FR1) and TS 36.101
Table 5.6-1 (LTE): :func:`n_rb`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, ndtri

from covkit._jit import njit, row_bands, run_parallel, thread_count
from covkit.errors import CovkitInputError
from covkit.propagation.antenna import sector_gain_dbi, tabulated_gain_dbi
from covkit.propagation.clutter import building_entry_loss_db, terrestrial_clutter_loss_db

# ----------------------------------------------------------------------------------------------
# constants (documented in the README "Coverage method" section)

VERTICAL_BEAMWIDTH_DEG = 65.0
"""Vertical half-power beamwidth theta_3dB [deg] of the sector pattern (TR 38.901 Table 7.3-1)."""

FRONT_TO_BACK_DB = 30.0
"""Maximum attenuation A_m [dB] (TR 38.901 Table 7.3-1)."""

SIDE_LOBE_V_DB = 30.0
"""Vertical side-lobe level SLA_V [dB] (TR 38.901 Table 7.3-1)."""

THERMAL_NOISE_DBM_PER_HZ = -174.0
"""Thermal noise density kT at 290 K [dBm/Hz]."""

CLUTTER_MIN_DISTANCE_M = 250.0
"""P.2108 section 3.2 is defined from 0.25 km; nearer pixels use the 250 m value."""

CLUTTER_FREQ_RANGE_MHZ = (500.0, 67000.0)
"""Validity of P.2108 section 3.2 [MHz]."""

BEL_FREQ_RANGE_MHZ = (80.0, 100000.0)
"""Validity of P.2109-2 [MHz]."""

BUILDING_CODES = {"none": 0, "traditional": 1, "thermally_efficient": 2}
"""Building-entry option -> P.2109 building type code (0 = no building-entry loss)."""

# Throughput: attenuated Shannon bound, 3GPP TR 36.942 Annex A.2:
#   thr = 0                          for SINR < SINR_min
#   thr = alpha * log2(1 + SINR)     for SINR_min <= SINR, capped at thr_max
SHANNON_ALPHA = 0.6
"""Attenuation factor alpha (TR 36.942 Table A.2-1, downlink)."""

SHANNON_SINR_MIN_DB = -10.0
"""SINR below which the throughput is zero [dB] (TR 36.942 Table A.2-1)."""

SHANNON_MAX_BPS_HZ = {"4G": 4.4, "5G": 7.4063}
"""Maximum spectral efficiency [bit/s/Hz]: LTE 4.4 (TR 36.942 Table A.2-1, 64QAM); NR 7.4063
(TS 38.214 Table 5.2.2.1-3, highest CQI, 256QAM)."""

DL_OVERHEAD = {"4G": 0.25, "5G": 0.14}
"""Share of downlink resources spent on control and reference signals: NR 0.14 (TS 38.306
section 4.1.2, FR1 downlink), LTE 0.25 (PDCCH, CRS, sync: usual planning value)."""

DB_TO_NEPER = 0.1 * math.log(10.0)
"""``exp(DB_TO_NEPER * v)`` is ``10 ** (v / 10)``, a level in dB as a power ratio (``exp`` is
cheaper than ``pow`` in the per-pixel fold)."""


@njit
def level_mw(level_dbm):
    """A level [dBm] as power [mW]: the one conversion of the layer sums and of the serving
    power that SINR takes out of them again (the same value bit for bit, so the difference
    keeps the interference of a cell whose server dominates)."""
    return math.exp(DB_TO_NEPER * level_dbm)

CAL_MIN_DISTANCE_M = 10.0
"""Least distance [m] of the calibration's distance slope (``log10(max(d, 10 m) / 1 km)``)."""

NO_CALIBRATION = (np.zeros((1, 1), np.int8), np.zeros(0, np.float64), 0.0)
"""``cal_class, cal_offset_db, cal_slope_db`` of :func:`reduce_site_window` for a scenario
without [calibration]: the RSRP as the models give it."""

SPEED_TIERS_MBPS = ((7.0, 1.0), (35.0, 3.0))
"""FCC mobile broadband speed tiers (download, upload) [Mbps] (5G-NR 7/1 and 35/3)."""

# ----------------------------------------------------------------------------------------------
# resource blocks

NR_FR1_N_RB: dict[float, dict[float, int]] = {
    15.0: {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 35: 188, 40: 216, 45: 242,
           50: 270},
    30.0: {5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 35: 92, 40: 106, 45: 119, 50: 133,
           60: 162, 70: 189, 80: 217, 90: 245, 100: 273},
    60.0: {10: 11, 15: 18, 20: 24, 25: 31, 30: 38, 35: 44, 40: 51, 45: 58, 50: 65, 60: 79,
           70: 93, 80: 107, 90: 121, 100: 135},
}
"""Maximum transmission bandwidth N_RB, 3GPP TS 38.101-1 Table 5.3.2-1 (FR1), by SCS [kHz] and
channel bandwidth [MHz]."""

NR_FR2_N_RB: dict[float, dict[float, int]] = {
    60.0: {50: 66, 100: 132, 200: 264},
    120.0: {50: 32, 100: 66, 200: 132, 400: 264},
}
"""Maximum transmission bandwidth N_RB, 3GPP TS 38.101-2 Table 5.3.2-1 (FR2, 24.25-52.6 GHz:
n257 / n258 at 28 GHz), by SCS [kHz] and channel bandwidth [MHz]."""

FR2_MIN_MHZ = 24250.0
"""Lowest FR2 frequency [MHz] (TS 38.101-2): NR carriers from here use :data:`NR_FR2_N_RB`."""

LTE_N_RB: dict[float, int] = {1.4: 6, 3: 15, 5: 25, 10: 50, 15: 75, 20: 100}
"""Transmission bandwidth N_RB, 3GPP TS 36.101 Table 5.6-1, by channel bandwidth [MHz]
(subcarrier spacing 15 kHz)."""


def n_rb(tech: str, bandwidth_mhz: float, scs_khz: float, freq_mhz: float | None = None,
         ) -> int:
    """Number of resource blocks of a carrier.

    Parameters
    ----------
    tech : str
        ``"5G"`` (NR FR1, TS 38.101-1 Table 5.3.2-1; FR2, TS 38.101-2 Table 5.3.2-1) or
        ``"4G"`` (LTE, TS 36.101 Table 5.6-1).
    bandwidth_mhz : float
        Channel bandwidth [MHz].
    scs_khz : float
        Subcarrier spacing [kHz] (LTE: 15 only).
    freq_mhz : float, optional
        Carrier frequency [MHz]: NR from :data:`FR2_MIN_MHZ` (24.25 GHz) takes the FR2 table
        (60 / 120 kHz); without it, or below, the FR1 table.

    Raises
    ------
    CovkitInputError
        For a combination the tables do not define (message lists the allowed values).
    """
    bw = float(bandwidth_mhz)
    scs = float(scs_khz)
    if tech == "4G":
        if scs != 15.0:
            raise CovkitInputError(f"LTE (tech 4G) uses 15 kHz subcarriers, got {scs:g} kHz",
                                   column="scs_khz")
        for k, v in LTE_N_RB.items():
            if abs(bw - k) < 1e-6:
                return v
        raise CovkitInputError(
            f"LTE bandwidth {bw:g} MHz is not in TS 36.101 Table 5.6-1 "
            f"({', '.join(f'{k:g}' for k in LTE_N_RB)} MHz)", column="bandwidth_mhz")
    if tech != "5G":
        raise CovkitInputError(f"tech {tech!r} must be 4G or 5G", column="tech")
    fr2 = freq_mhz is not None and float(freq_mhz) >= FR2_MIN_MHZ
    return _nr_n_rb(NR_FR2_N_RB if fr2 else NR_FR1_N_RB, bw, scs,
                    "NR FR2" if fr2 else "NR FR1", "TS 38.101-2" if fr2 else "TS 38.101-1")


def _nr_n_rb(tables: dict, bw: float, scs: float, name: str, spec: str) -> int:
    """N_RB of an NR carrier from its spec table (``tables``: scs -> {bandwidth: N_RB})."""
    table = tables.get(scs)
    if table is None:
        raise CovkitInputError(
            f"{name} subcarrier spacing {scs:g} kHz is not in {spec} Table 5.3.2-1 "
            f"({', '.join(f'{k:g}' for k in tables)} kHz)", column="scs_khz")
    for k, v in table.items():
        if abs(bw - k) < 1e-6:
            return v
    raise CovkitInputError(
        f"{name} bandwidth {bw:g} MHz with {scs:g} kHz subcarriers is not in {spec} "
        f"Table 5.3.2-1 ({', '.join(f'{k:g}' for k in table)} MHz)",
        column="bandwidth_mhz,scs_khz")


def eirp_per_re_dbm(eirp_dbm: float, n_rb_: int) -> float:
    """EIRP per resource element [dBm]: ``EIRP - 10 log10(12 N_RB)``."""
    return float(eirp_dbm) - 10.0 * math.log10(12.0 * n_rb_)


def noise_per_re_dbm(scs_khz, noise_figure_db):
    """Thermal noise in one subcarrier [dBm]: ``-174 + 10 log10(scs [Hz]) + NF``."""
    return THERMAL_NOISE_DBM_PER_HZ + 10.0 * np.log10(np.asarray(scs_khz) * 1e3) + \
        noise_figure_db


# ----------------------------------------------------------------------------------------------
# kernels


@njit
def elevation_angle_deg(d_m, tx_amsl_m, rx_amsl_m, ae_m):
    """Elevation of the receiver seen from the antenna [deg] over an Earth of radius ``ae_m``:
    ``atan((h_rx - h_tx) / d - d / (2 a_e))``; ``d`` [m] horizontal distance (>= 1 m)."""
    d = max(d_m, 1.0)
    return math.degrees(math.atan((rx_amsl_m - tx_amsl_m) / d - d / (2.0 * ae_m)))


@njit
def reduce_site_window(loss_db, row0, col0, dem_m, affine6, site_x_m, site_y_m, tx_amsl_m,
                       rx_agl_m, ae_m, freq_mhz, clutter_on, building_type,
                       cal_class, cal_offset_db, cal_slope_db,
                       sec_index, sec_eirp_re_dbm, sec_azimuth_deg, sec_tilt_deg,
                       sec_hpbw_deg, sec_pattern, sec_op, sec_layer,
                       pat_bounds, pat_angle_deg, pat_loss_db, pat_cap_db,
                       best, second, server, op_best, op_server, layer_mw):
    """Fold the sectors of one (site, frequency) group into the running grids.

    Parameters
    ----------
    loss_db : 2-D float array
        Basic path loss [dB] over the window starting at grid cell (row0, col0); NaN = not
        computed (beyond the radius, DEM nodata): those pixels are skipped.
    dem_m : 2-D float array
        Terrain [m AMSL] on the whole grid.
    affine6 : float64[6]
        GDAL geotransform of the grid.
    site_x_m, site_y_m, tx_amsl_m : float
        Antenna position [m] and height [m AMSL] (ground + mast).
    rx_agl_m : float
        Receiver height above ground [m].
    ae_m : float
        Effective Earth radius [m] for the elevation angle.
    freq_mhz : float
        Carrier frequency of the group [MHz].
    clutter_on : bool
        Subtract the P.2108 section 3.2 median terrestrial clutter loss (distance clamped to
        250 m).
    building_type : int
        0 none, 1 traditional, 2 thermally efficient: subtract the median P.2109 building
        entry loss at the pixel's elevation angle.
    cal_class, cal_offset_db, cal_slope_db : int8 2-D array (rows and columns as ``dem_m``),
        float[n_classes], float
        Calibration (``[calibration]``, fitted by ``covkit calibrate``): with a non-empty
        ``cal_offset_db``, every RSRP gains ``cal_offset_db[cal_class[r, c]] + cal_slope_db x
        log10(max(d, CAL_MIN_DISTANCE_M) / 1 km)``; an empty one leaves RSRP as it is.
    sec_* : 1-D arrays, one entry per sector of the group
        Station row index, EIRP per resource element [dBm], azimuth [deg] (NaN = omni),
        downtilt [deg], horizontal beamwidth [deg], pattern index (-1 = the TR 38.901
        parametric pattern; else the pattern of that index, whose boresight is the azimuth,
        north when NaN, with the downtilt added to its own), operator index, layer index.
    pat_bounds, pat_angle_deg, pat_loss_db, pat_cap_db : arrays
        Tabulated patterns packed by :func:`covkit.propagation.antenna.pack_patterns`
        (may hold no pattern). The gain is relative to boresight (0 dB maximum), as for the
        parametric pattern: the file's GAIN is part of the EIRP.
    best, second : float32[rows, cols]
        Best and second-best RSRP [dBm] (-inf = none yet); updated in place.
    server : int32[rows, cols]
        Best server station index (-1 = none); updated in place.
    op_best : float32[n_op, rows, cols], op_server : int32[n_op, rows, cols]
        Best RSRP and server per operator; updated in place.
    layer_mw : float64[n_layers, rows, cols]
        Linear received power per resource element summed per layer [mW] (float64: SINR
        takes the server's own power out of it again); updated in place.

    Each row writes only its own pixels: :func:`fold_site_window` runs bands of rows in
    parallel.
    """
    n_r, n_c = loss_db.shape
    n_s = sec_index.size
    for rr in range(n_r):
        r = row0 + rr
        yc = affine6[3] + (r + 0.5) * affine6[5]
        for cc in range(n_c):
            pl = loss_db[rr, cc]
            if not np.isfinite(pl):
                continue
            c = col0 + cc
            ground = dem_m[r, c]
            if not np.isfinite(ground):
                continue
            xc = affine6[0] + (c + 0.5) * affine6[1]
            dx = xc - site_x_m
            dy = yc - site_y_m
            d = math.sqrt(dx * dx + dy * dy)
            elev = elevation_angle_deg(d, tx_amsl_m, ground + rx_agl_m, ae_m)
            extra = pl
            if clutter_on:
                extra += terrestrial_clutter_loss_db(freq_mhz, max(d, CLUTTER_MIN_DISTANCE_M),
                                                     0.5)
            if building_type > 0:
                extra += building_entry_loss_db(freq_mhz, 0.5, building_type, elev)
            if cal_offset_db.size > 0:
                extra -= cal_offset_db[cal_class[r, c]] + cal_slope_db * math.log10(
                    max(d, CAL_MIN_DISTANCE_M) / 1000.0)
            bearing = math.degrees(math.atan2(dx, dy)) if d > 0.0 else 0.0
            # the pixel's best, second and server held in registers over its sectors (a later
            # value replaces the best only when greater: the earlier server keeps a tie)
            b_best = best[r, c]
            b_second = second[r, c]
            b_server = server[r, c]
            for k in range(n_s):
                az = sec_azimuth_deg[k]
                pat = sec_pattern[k]
                if pat >= 0:
                    h0, h1 = pat_bounds[pat, 0], pat_bounds[pat, 1]
                    v0, v1 = pat_bounds[pat, 2], pat_bounds[pat, 3]
                    gain = tabulated_gain_dbi(bearing - (0.0 if np.isnan(az) else az), elev,
                                              sec_tilt_deg[k], pat_angle_deg[h0:h1],
                                              pat_loss_db[h0:h1], pat_angle_deg[v0:v1],
                                              pat_loss_db[v0:v1], 0.0, pat_cap_db[pat])
                elif np.isnan(az):
                    gain = sector_gain_dbi(0.0, elev, sec_tilt_deg[k], np.inf,
                                           VERTICAL_BEAMWIDTH_DEG, FRONT_TO_BACK_DB,
                                           SIDE_LOBE_V_DB, 0.0)
                else:
                    gain = sector_gain_dbi(bearing - az, elev, sec_tilt_deg[k],
                                           sec_hpbw_deg[k], VERTICAL_BEAMWIDTH_DEG,
                                           FRONT_TO_BACK_DB, SIDE_LOBE_V_DB, 0.0)
                # the level as the float32 grids keep it: the layer sum holds the power of the
                # very value a server's SINR takes out again
                v = np.float64(np.float32(sec_eirp_re_dbm[k] - extra + gain))
                s = sec_index[k]
                if v > b_best:
                    b_second = b_best
                    b_best = v
                    b_server = s
                elif v > b_second:
                    b_second = v
                o = sec_op[k]
                if v > op_best[o, r, c]:
                    op_best[o, r, c] = v
                    op_server[o, r, c] = s
                layer_mw[sec_layer[k], r, c] += level_mw(v)
            best[r, c] = b_best  # float32: v is a float32 value
            second[r, c] = b_second
            server[r, c] = b_server


def fold_site_window(loss_db, row0, col0, *args, n_threads=None):
    """:func:`reduce_site_window` with the window's rows split into bands run in parallel
    (:func:`covkit._jit.run_parallel`; each band writes only its own rows, so the grids are
    the same for every thread count). Same arguments; ``n_threads`` defaults to Numba's."""
    n_threads = thread_count() if n_threads is None else max(1, int(n_threads))
    run_parallel(reduce_site_window,
                 [(loss_db[lo:hi], row0 + lo, col0, *args)
                  for lo, hi in row_bands(loss_db.shape[0], 2 * n_threads)], n_threads)


@njit
def merge_fold(best, second, server, op_best, op_server, layer_mw,
               p_best, p_second, p_server, p_op_best, p_op_server, p_layer_mw):
    """Merge the grids of a later part of a fold (``p_*``: the same sectors' grids folded
    on their own from -inf / -1 / 0, of the same shape) into the running grids, in place.

    Best, second-best and server come out as if the part's sectors had been folded into the
    running grids one by one after the earlier ones (a later value replaces the best only when
    greater, so the earlier server keeps a tie): the top two of the four
    values. The per-operator best and server likewise; the layer sums add (their rounding
    differs from one running float32 sum by a few units in the last place)."""
    n_r, n_c = best.shape
    n_op = op_best.shape[0]
    n_l = layer_mw.shape[0]
    for r in range(n_r):
        for c in range(n_c):
            b = p_best[r, c]
            if b > best[r, c]:
                second[r, c] = max(best[r, c], p_second[r, c])
                best[r, c] = b
                server[r, c] = p_server[r, c]
            elif b > second[r, c]:
                second[r, c] = b
            for o in range(n_op):
                if p_op_best[o, r, c] > op_best[o, r, c]:
                    op_best[o, r, c] = p_op_best[o, r, c]
                    op_server[o, r, c] = p_op_server[o, r, c]
            for k in range(n_l):
                layer_mw[k, r, c] += p_layer_mw[k, r, c]


@njit
def sinr_db_kernel(best_dbm, server, sec_layer, layer_mw, noise_mw_by_station, cell_load, out):
    """SINR of the serving sector [dB] per pixel.

    ``SINR = S / (cell_load (sum_layer - S) + N)`` with ``S`` the serving sector's received
    power per resource element, ``sum_layer`` the summed power of every sector of the serving
    sector's (operator, frequency) layer and ``N`` the noise per subcarrier of the serving
    sector. NaN where there is no server.
    """
    n_r, n_c = best_dbm.shape
    for r in range(n_r):
        for c in range(n_c):
            s = server[r, c]
            if s < 0 or not np.isfinite(best_dbm[r, c]):
                out[r, c] = np.nan
                continue
            sig = level_mw(np.float64(best_dbm[r, c]))
            interf = layer_mw[sec_layer[s], r, c] - sig
            if interf < 0.0:
                interf = 0.0
            out[r, c] = 10.0 * math.log10(sig / (cell_load * interf + noise_mw_by_station[s]))
    return out


@njit
def shannon_throughput_mbps(sinr_db, bandwidth_mhz, max_bps_hz, overhead):
    """Attenuated Shannon downlink throughput [Mbit/s] (TR 36.942 Annex A.2)::

        eff = 0                                  if SINR < SINR_min (-10 dB)
        eff = min(alpha log2(1 + SINR), max)     otherwise (alpha = 0.6)
        thr = eff * bandwidth * (1 - overhead)

    NaN SINR gives NaN."""
    if np.isnan(sinr_db):
        return np.nan
    if sinr_db < SHANNON_SINR_MIN_DB:
        return 0.0
    eff = min(SHANNON_ALPHA * math.log2(1.0 + 10.0 ** (0.1 * sinr_db)), max_bps_hz)
    return eff * bandwidth_mhz * (1.0 - overhead)


@njit
def throughput_kernel(sinr_db, server, bw_by_station, max_by_station, overhead_by_station, out):
    """:func:`shannon_throughput_mbps` per pixel with the serving sector's carrier."""
    n_r, n_c = sinr_db.shape
    for r in range(n_r):
        for c in range(n_c):
            s = server[r, c]
            if s < 0:
                out[r, c] = np.nan
            else:
                out[r, c] = shannon_throughput_mbps(sinr_db[r, c], bw_by_station[s],
                                                    max_by_station[s], overhead_by_station[s])
    return out


def coverage_probability(rsrp_dbm, threshold_dbm, sigma_db):
    """P(RSRP >= threshold) under log-normal shadowing around the median ``rsrp_dbm`` [0-1]::

        P = Phi((RSRP_median - threshold) / sigma)

    (a step function when ``sigma_db`` is 0). NaN stays NaN."""
    rsrp = np.asarray(rsrp_dbm, dtype=np.float64)
    if sigma_db <= 0.0:
        out = (rsrp >= threshold_dbm).astype(np.float64)
    else:
        out = ndtr((rsrp - threshold_dbm) / sigma_db)
    out[np.isnan(rsrp)] = np.nan
    return out


def required_median_dbm(threshold_dbm, sigma_db, location_probability):
    """Median RSRP a pixel needs so that P(RSRP >= threshold) >= location_probability:
    ``threshold + z sigma`` with ``z = Phi^-1(location_probability)`` (0.9 -> 1.2816)."""
    return float(threshold_dbm) + float(sigma_db) * float(ndtri(location_probability))
