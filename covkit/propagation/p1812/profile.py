"""Stage 1 of ITU-R P.1812-8: analysis of one exact terrain profile (section 3, Attachment 1).

:func:`p1812_profile_terms` fills the terrain-terms array (indices ``T_*`` of
:mod:`covkit.propagation.p1812.tables`): path length, horizons and horizon angles, smooth-Earth
and effective heights, roughness, zone run lengths (section 3.6) and the Bullington terms of
the actual and the smooth profile for both effective Earth radii. See
:mod:`covkit.propagation.p1812` for the Earth-bulge form in which they are stored.
"""

from __future__ import annotations

import math

import numpy as np

from covkit._jit import njit_noalloc
from covkit.propagation.constants import (
    EARTH_RADIUS_KM,
    K50_NUMERATOR_N_PER_KM,
    K_BETA,
    ZONE_COASTAL_LAND,
    ZONE_INLAND,
    ZONE_SEA,
)
from covkit.propagation.p1812.tables import (
    T_AE,
    T_D,
    T_DLM,
    T_DLR,
    T_DLT,
    T_DTM,
    T_HM,
    T_HRE,
    T_HRS,
    T_HSR,
    T_HSR_N,
    T_HSRD,
    T_HST,
    T_HST_N,
    T_HSTD,
    T_HTE,
    T_HTS,
    T_OMEGA,
    T_PATHTYPE,
    T_STIM_A50,
    T_STIM_AB,
    T_STIM_S50,
    T_STIM_SB,
    T_STR_A,
    T_STR_S,
    T_THETA,
    T_THETA_R,
    T_THETA_T,
    T_ZONE_RX,
    T_ZONE_TX,
)


@njit_noalloc
def effective_earth_radius_km(dn_n_per_km):
    """Median effective Earth radius ae [km].

    Parameters
    ----------
    dn_n_per_km : float
        Average radio-refractivity lapse rate DN through the lowest 1 km [N-units/km],
        positive, below 157.

    Returns
    -------
    float
        ``ae = 6371 * 157 / (157 - DN)`` [km], ITU-R P.1812-8 eqs. (6), (7a).
    """
    return EARTH_RADIUS_KM * K50_NUMERATOR_N_PER_KM / (K50_NUMERATOR_N_PER_KM - dn_n_per_km)


# --------------------------------------------------------------------------------------------
# Stage 1: profile analysis
# --------------------------------------------------------------------------------------------
@njit_noalloc
def bullington_profile_terms(d_km, h_m, r_m, use_terrain, hts_m, hrs_m, ce_per_km):
    """Stim, Srim and the frequency-free LoS nu_max of one profile (Earth-bulge form).

    Parameters
    ----------
    d_km, h_m, r_m : 1-D float arrays
        Profile distances [km], terrain heights [m amsl], clutter heights [m]; only the
        intermediate points 1..n-2 are used, with ``g_i = h_i + r_i``.
    use_terrain : bool
        False for the smooth profile (all ``g_i = 0``).
    hts_m, hrs_m : float
        Antenna heights [m] in the same datum as ``g_i``.
    ce_per_km : float
        Effective Earth curvature 1 / a_p [1/km].

    Returns
    -------
    (float, float, float)
        Stim [m/km] (eq. (13)), Srim [m/km] (eq. (17)), nu_max * sqrt(lambda_m) [m^0.5]
        (eq. (15)); see the module docstring for the transformed form.
    """
    n = d_km.shape[0]
    d = d_km[n - 1]
    bulge = 500.0 * ce_per_km
    z_r = hrs_m - bulge * d * d
    chord_slope = (z_r - hts_m) / d
    stim = -np.inf
    srim = -np.inf
    nu = -np.inf
    for i in range(1, n - 1):
        di = d_km[i]
        g = h_m[i] + r_m[i] if use_terrain else 0.0
        z = g - bulge * di * di
        s_t = (z - hts_m) / di
        if s_t > stim:
            stim = s_t
        s_r = (z - z_r) / (d - di)
        if s_r > srim:
            srim = s_r
        v = (z - (hts_m + di * chord_slope)) * math.sqrt(0.002 * d / (di * (d - di)))
        if v > nu:
            nu = v
    return stim + bulge * d, srim - bulge * d, nu


@njit_noalloc
def run_lengths_km(d_km, zone, n, want_land, want_zone):
    """Longest run and total length [km] of profile sections in a zone set (section 3.6), over
    the first ``n`` points.

    A run of points i0..i1 covers d[i1] - d[i0] plus half of each adjoining profile interval.
    ``want_land`` selects zones 3 and 4; otherwise zone == ``want_zone``.
    """
    longest = 0.0
    total = 0.0
    i = 0
    while i < n:
        zi = zone[i]
        inside = (zi == ZONE_COASTAL_LAND or zi == ZONE_INLAND) if want_land else zi == want_zone
        if not inside:
            i += 1
            continue
        start = i
        while i + 1 < n:
            zj = zone[i + 1]
            nxt = (zj == ZONE_COASTAL_LAND or zj == ZONE_INLAND) if want_land else zj == want_zone
            if not nxt:
                break
            i += 1
        stop = i
        length = d_km[stop] - d_km[start]
        if stop < n - 1:
            length += 0.5 * (d_km[stop + 1] - d_km[stop])
        if start > 0:
            length += 0.5 * (d_km[start] - d_km[start - 1])
        longest = max(longest, length)
        total += length
        i += 1
    return longest, total


@njit_noalloc
def diffraction_surface_heights_m(hst_n, hsr_n, hobs, a_obt, a_obr, h0_m, hn_m):
    """Smooth-surface heights hstd, hsrd [m amsl] for the diffraction model (ITU-R P.1812-8
    eqs. (89)-(91)) from the least-squares heights ``hst_n``, ``hsr_n``, the highest
    obstruction ``hobs`` [m] and the obstruction slopes ``a_obt``, ``a_obr`` [m/km]."""
    if hobs <= 0.0:
        hstp = hst_n
        hsrp = hsr_n
    else:
        hstp = hst_n - hobs * a_obt / (a_obt + a_obr)
        hsrp = hsr_n - hobs * a_obr / (a_obt + a_obr)
    return (h0_m if hstp >= h0_m else hstp), (hn_m if hsrp > hn_m else hsrp)


@njit_noalloc
def horizon_angles_mrad(slope_t, slope_r, hts_m, hrs_m, d_km, ae_km, theta_max_mrad):
    """Path type and horizon elevation angles (ITU-R P.1812-8 eqs. (76)-(81)).

    Parameters
    ----------
    slope_t : float
        max over the intermediate points of (z_i - hts) / d_i [m/km], z_i = h_i - 500 d_i^2/ae.
    slope_r : float
        max over the intermediate points of (z_i - z_r) / (d - d_i) [m/km],
        z_r = hrs - 500 d^2 / ae.
    hts_m, hrs_m : float
        Antenna heights [m amsl].
    d_km, ae_km : float
        Path length and median effective Earth radius [km].
    theta_max_mrad : float
        ``1000 atan(slope_t / 1000)`` if the caller has it (the radial engine keeps it with its
        running maximum), else NaN.

    Returns
    -------
    (float, float, float)
        Path type (1 line of sight, 2 trans-horizon), theta_t and theta_r [mrad].
    """
    # theta_max > theta_td compared on the tangents (atan is increasing): two atans, not three
    tan_max = slope_t / 1000.0
    tan_td = (hrs_m - hts_m) / (1000.0 * d_km) - d_km / (2.0 * ae_km)
    if tan_max > tan_td:
        bulge = 500.0 / ae_km
        if np.isnan(theta_max_mrad):
            theta_max_mrad = 1000.0 * math.atan(tan_max)
        return 2.0, theta_max_mrad, 1000.0 * math.atan((slope_r - 2.0 * bulge * d_km) / 1000.0)
    theta_rd = 1000.0 * math.atan((hts_m - hrs_m) / (1000.0 * d_km) - d_km / (2.0 * ae_km))
    return 1.0, 1000.0 * math.atan(tan_td), theta_rd


@njit_noalloc
def horizon_points(pathtype, i_t, i_r, i_nu, d_km, d):
    """Profile indices ``lt``, ``lr`` of the Tx and Rx horizons and their distances dlt, dlr
    [km] (eqs. (78), (81a)); on a line-of-sight path (``pathtype`` 1) both are the point of
    largest nu, ``i_nu``."""
    if pathtype == 2.0:
        return i_t, i_r, d_km[i_t], d - d_km[i_r]
    return i_nu, i_nu, d_km[i_nu], d - d_km[i_nu]


@njit_noalloc
def ducting_surface_m(hst_n, hsr_n, h0_m, hn_m):
    """Smooth-surface heights hst, hsr for the ducting model [m amsl] (eq. (90))."""
    return min(hst_n, h0_m), min(hsr_n, hn_m)


@njit_noalloc
def store_profile_terms(out_terms, d_km, h_m, d, hts, hrs, hn, htg_m, hrg_m, ae_km, lt, lr, dlt,
                        dlr, pathtype, theta_t, theta_r, hst_n, hsr_n, hstd, hsrd, dtm, dlm, omega,
                        zone_tx, zone_rx, k_hm):
    """Fill the path terms of ``out_terms`` (``T_D`` .. ``T_ZONE_RX``), deriving the angular
    distance (eq. (84)), the ducting heights hst, hsr, hte, hre (eqs. (90)-(92)) and the
    roughness hm over the profile points ``lt .. lr`` (eq. (93)). Shared by
    :func:`p1812_profile_terms` and the radial engine. ``k_hm`` is a point of ``lt .. lr``
    known to maximise ``h_i - slope d_i`` there (the radial engine reads it off its hull), -1
    to scan the points, or -2 to leave hm out (NaN; allowed in stage 2's ``lb_only`` mode)."""
    h0 = h_m[0]
    hst, hsr = ducting_surface_m(hst_n, hsr_n, h0, hn)
    slope = (hsr - hst) / d
    if k_hm >= 0:
        hm = h_m[k_hm] - (hst + slope * d_km[k_hm])
    elif k_hm == -2:
        hm = np.nan  # left out by the caller (see p1812_loss_from_constants)
    else:
        hm = -np.inf
        for i in range(lt, lr + 1):
            hm = max(hm, h_m[i] - (hst + slope * d_km[i]))
    out_terms[T_D] = d
    out_terms[T_HTS] = hts
    out_terms[T_HRS] = hrs
    out_terms[T_AE] = ae_km
    out_terms[T_DLT] = dlt
    out_terms[T_DLR] = dlr
    out_terms[T_THETA_T] = theta_t
    out_terms[T_THETA_R] = theta_r
    out_terms[T_THETA] = 1000.0 * d / ae_km + theta_t + theta_r
    out_terms[T_PATHTYPE] = pathtype
    out_terms[T_HST_N] = hst_n
    out_terms[T_HSR_N] = hsr_n
    out_terms[T_HST] = hst
    out_terms[T_HSR] = hsr
    out_terms[T_HSTD] = hstd
    out_terms[T_HSRD] = hsrd
    out_terms[T_HTE] = htg_m + h0 - hst
    out_terms[T_HRE] = hrg_m + hn - hsr
    out_terms[T_HM] = hm
    out_terms[T_DTM] = dtm
    out_terms[T_DLM] = dlm
    out_terms[T_OMEGA] = omega
    out_terms[T_ZONE_TX] = zone_tx
    out_terms[T_ZONE_RX] = zone_rx


@njit_noalloc
def p1812_profile_terms(d_km, h_m, r_m, zone, htg_m, hrg_m, ae_km, out_terms):
    """Terrain terms of an exact path profile (ITU-R P.1812-8 section 3, Attachment 1).

    Parameters
    ----------
    d_km : 1-D float64 array
        Distances of the profile points from the Tx [km], ``d_km[0] == 0``, strictly
        increasing, at least 3 points.
    h_m : 1-D float64 array
        Terrain heights [m amsl].
    r_m : 1-D float64 array
        Representative clutter heights R_i [m]; added at intermediate points for the
        Bullington construction (section 3.2), ignored at the terminals.
    zone : 1-D int or float array
        Radio-climatic zone per point: 1 sea, 3 coastal land, 4 inland.
    htg_m, hrg_m : float
        Tx / Rx antenna heights above ground [m].
    ae_km : float
        Median effective Earth radius [km] (eq. (7a), :func:`effective_earth_radius_km`).
    out_terms : 1-D float64 array of length ``N_TERMS``
        Filled with the terms, indexed by the ``T_*`` constants.

    Notes
    -----
    No validation: the caller guarantees the preconditions (NaN propagates).
    """
    n = d_km.shape[0]
    d = d_km[n - 1]
    h0 = h_m[0]
    hn = h_m[n - 1]
    hts = h0 + htg_m
    hrs = hn + hrg_m

    # Smooth-Earth surface, least squares (eqs. (85)-(88)); h_i, not g_i
    v1 = 0.0
    v2 = 0.0
    for i in range(1, n):
        dd = d_km[i] - d_km[i - 1]
        v1 += dd * (h_m[i] + h_m[i - 1])
        v2 += dd * (
            h_m[i] * (2.0 * d_km[i] + d_km[i - 1]) + h_m[i - 1] * (d_km[i] + 2.0 * d_km[i - 1])
        )
    hst_n = (2.0 * v1 * d - v2) / (d * d)
    hsr_n = (v2 - v1 * d) / (d * d)

    # One pass over the intermediate points: obstruction terms (eq. (89)), horizon slopes
    # (eqs. (76)-(81)) and the LoS diffraction parameter for dlt (Earth-bulge form, ae)
    bulge = 500.0 / ae_km
    zh_r = hrs - bulge * d * d
    chord = (zh_r - hts) / d
    hobs = -np.inf
    a_obt = -np.inf
    a_obr = -np.inf
    slope_t = -np.inf
    i_t = 1
    slope_r = -np.inf
    i_r = 1
    nu = -np.inf
    i_nu = 1
    for i in range(1, n - 1):
        di = d_km[i]
        hh = h_m[i] - (hts * (d - di) + hrs * di) / d  # eq. (89d)
        hobs = max(hobs, hh)
        a_obt = max(a_obt, hh / di)
        a_obr = max(a_obr, hh / (d - di))
        z = h_m[i] - bulge * di * di
        s_t = (z - hts) / di
        if s_t > slope_t:  # first point of the maximum
            slope_t = s_t
            i_t = i
        s_r = (z - zh_r) / (d - di)
        if s_r >= slope_r:  # last point of the maximum
            slope_r = s_r
            i_r = i
        v = (z - (hts + di * chord)) * math.sqrt(0.002 * d / (di * (d - di)))
        if v >= nu:
            nu = v
            i_nu = i

    hstd, hsrd = diffraction_surface_heights_m(hst_n, hsr_n, hobs, a_obt, a_obr, h0, hn)

    # Horizon angles and distances (eqs. (76)-(84))
    pathtype, theta_t, theta_r = horizon_angles_mrad(slope_t, slope_r, hts, hrs, d, ae_km,
                                                     np.nan)
    lt, lr, dlt, dlr = horizon_points(pathtype, i_t, i_r, i_nu, d_km, d)

    dtm, _ = run_lengths_km(d_km, zone, n, True, 0)
    dlm, _ = run_lengths_km(d_km, zone, n, False, ZONE_INLAND)
    _, sea = run_lengths_km(d_km, zone, n, False, ZONE_SEA)
    store_profile_terms(out_terms, d_km, h_m, d, hts, hrs, hn, htg_m, hrg_m, ae_km, lt, lr, dlt,
                        dlr, pathtype, theta_t, theta_r, hst_n, hsr_n, hstd, hsrd, dtm, dlm,
                        sea / d, zone[0], zone[n - 1], -1)

    # Bullington terms: actual (g = h + R) and smooth (g = 0) profiles, ae and a_beta
    hts_s = hts - hstd  # eq. (37a)
    hrs_s = hrs - hsrd  # eq. (37b)
    out_terms[T_STR_A] = (hrs - hts) / d
    out_terms[T_STR_S] = (hrs_s - hts_s) / d
    ce50 = 1.0 / ae_km
    ceb = 1.0 / (K_BETA * EARTH_RADIUS_KM)
    # each set is (Stim, Srim, nu) at consecutive indices from its T_STIM_*
    for base, use_terrain, ht, hr, ce in ((T_STIM_A50, True, hts, hrs, ce50),
                                          (T_STIM_S50, False, hts_s, hrs_s, ce50),
                                          (T_STIM_AB, True, hts, hrs, ceb),
                                          (T_STIM_SB, False, hts_s, hrs_s, ceb)):
        stim, srim, nu = bullington_profile_terms(d_km, h_m, r_m, use_terrain, ht, hr, ce)
        out_terms[base] = stim
        out_terms[base + 1] = srim
        out_terms[base + 2] = nu
