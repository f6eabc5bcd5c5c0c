"""ITU-R P.1812-8 path-specific propagation model (30 MHz - 6 GHz), Numba kernels + Python API.

Two kernel stages, with no formula duplicated between them, so that the radial-sweep engine can
supply the first stage incrementally and reuse the second unchanged:

1. :func:`p1812_profile_terms` - profile analysis of an exact profile (P.1812-8 section 3 and
   Attachment 1): fills a float64 array of terrain terms indexed by the ``T_*`` constants.
   Everything the Bullington construction needs is stored for BOTH the actual profile
   (heights ``g_i = h_i + R_i``) and the smooth profile (zero heights, antenna heights
   ``hts - hstd``, ``hrs - hsrd``), for both the median effective Earth radius ``ae`` (suffix
   ``50``) and ``a_beta`` (suffix ``B``), in the Earth-bulge-transformed form::

       z_i  = g_i - 500 C_e d_i^2                   (C_e = 1 / a_p, d in km, heights in m)
       z_r  = hrs - 500 C_e d^2
       Stim = max_i (z_i - hts) / d_i        + 500 C_e d      (eq. (13))
       Srim = max_i (z_i - z_r) / (d - d_i)  - 500 C_e d      (eq. (17))
       NU   = max_i [z_i - (hts + d_i (z_r - hts) / d)] sqrt(0.002 d / (d_i (d - d_i)))

   ``NU`` is the line-of-sight diffraction parameter of eq. (15) times sqrt(lambda)
   [m^0.5], so the stage is frequency independent: ``nu_max = NU / sqrt(lambda_m)``.
   Along a radial, ``Stim`` is a running maximum, ``Srim`` and ``NU`` are tangents to the upper
   convex hull of the ``z_i`` prefix.
2. :func:`p1812_loss_from_terms` - every propagation term from the terms: free space and the
   p% LoS terms (section 4.2), Bullington / delta-Bullington with spherical-Earth diffraction
   (4.3), troposcatter (4.4), ducting / layer reflection (4.5), the combination (4.6), location
   variability (4.7) and the field strength (4.10). Fills an array indexed by the ``O_*``
   constants. It is :func:`p1812_constants` (what depends only on frequency, percentages,
   polarization, N0 and latitude, ``C_*``) followed by :func:`p1812_loss_from_constants`; the
   radial engine computes the constants once per site and calls the latter per pixel in its
   ``lb_only`` mode, which skips or bounds what Lb cannot depend on (exact in Lb; the tests
   compare both modes).

:func:`p1812_point_to_point` is the validated Python API on top of both.

Equation numbers: section numbers follow ITU-R P.1812-8 (09/2025). Equation numbers follow the
numbering cited by the ITU-R SG3 reference implementation (eeveetza/Py1812, whose validation
logs in ``shared/validation/itu-p1812`` carry them), e.g. eq. (21) Bullington loss, eq. (39)
delta-Bullington, eq. (69) Lb; Attachment 1 terrain terms carry eqs. (76)-(95).

Notes on reproducing the ITU reference logs (the tests rely on these, see tests/test_p1812.py):

- The logged ``Lbulla``, ``Lbulls`` and ``Ldsph`` are those computed with ``a_beta`` (the last
  call of the delta-Bullington method in the reference); they are ``O_LBULLA_B`` etc. here,
  the ``ae`` values are ``O_LBULLA_50`` etc.
- The horizon angles, ``hstd``/``hsrd`` and ``hm`` use the terrain heights ``h_i``; only the
  Bullington construction uses ``g_i = h_i + R_i`` (representative clutter added at the
  intermediate points, never at the terminals).

Modifications notice: this is an independent implementation written from the Recommendation's
equations; the ITU-R reference implementation (NTIA/BAKOM-style permissive licence) was read to
resolve ambiguities.
"""

from __future__ import annotations

import math

import numpy as np

from covkit._jit import njit, njit_noalloc
from covkit.errors import CovkitInputError
from covkit.propagation.constants import (
    DEFAULT_LOCATION_RESOLUTION_M,
    DEFAULT_PATH_CENTRE_LAT_DEG,
    EARTH_RADIUS_KM,
    K50_NUMERATOR_N_PER_KM,
    K_BETA,
    LAND_CONDUCTIVITY_S_PER_M,
    LAND_REL_PERMITTIVITY,
    SEA_CONDUCTIVITY_S_PER_M,
    SEA_REL_PERMITTIVITY,
    SPEED_OF_LIGHT_M_GHZ,
)

# --------------------------------------------------------------------------------------------
# Index constants of the terrain-terms array (stage 1)
# --------------------------------------------------------------------------------------------
T_D = 0  # great-circle path length d [km]
T_HTS = 1  # Tx antenna height amsl hts = h_0 + htg [m]
T_HRS = 2  # Rx antenna height amsl hrs = h_n + hrg [m]
T_AE = 3  # median effective Earth radius ae [km] used for the analysis
T_DLT = 4  # Tx horizon distance dlt [km] (eq. (78); LoS: Bullington-point distance)
T_DLR = 5  # Rx horizon distance dlr [km] (eq. (81a))
T_THETA_T = 6  # Tx horizon elevation angle theta_t [mrad] (eqs. (76)-(78))
T_THETA_R = 7  # Rx horizon elevation angle theta_r [mrad] (eqs. (79)-(81))
T_THETA = 8  # path angular distance theta [mrad] (eq. (82))
T_PATHTYPE = 9  # 1 = line of sight, 2 = trans-horizon
T_HST_N = 10  # smooth-Earth height at Tx, uncorrected [m amsl] (eq. (85))
T_HSR_N = 11  # smooth-Earth height at Rx, uncorrected [m amsl] (eq. (86))
T_HST = 12  # smooth-Earth height at Tx, min(hst, h_0) [m amsl] (eq. (90a))
T_HSR = 13  # smooth-Earth height at Rx, min(hsr, h_n) [m amsl] (eq. (90b))
T_HSTD = 14  # Tx smooth-surface height for diffraction hstd [m amsl] (eq. (89))
T_HSRD = 15  # Rx smooth-surface height for diffraction hsrd [m amsl] (eq. (89))
T_HTE = 16  # Tx effective height for ducting hte [m] (eq. (92a))
T_HRE = 17  # Rx effective height for ducting hre [m] (eq. (92b))
T_HM = 18  # terrain roughness hm [m] (eq. (93))
T_DTM = 19  # longest continuous land (zones 3+4) section dtm [km] (section 3.6)
T_DLM = 20  # longest continuous inland (zone 4) section dlm [km] (section 3.6)
T_OMEGA = 21  # fraction of the path over sea omega [0-1] (Table 5)
T_ZONE_TX = 22  # radio-climatic zone at Tx (1 sea, 3 coastal land, 4 inland)
T_ZONE_RX = 23  # radio-climatic zone at Rx
T_STR_A = 24  # actual profile: slope Tx->Rx antenna, (hrs - hts) / d [m/km] (eq. (14))
T_STR_S = 25  # smooth profile: slope ((hrs - hsrd) - (hts - hstd)) / d [m/km]
T_STIM_A50 = 26  # actual profile, ae: Stim [m/km] (eq. (13))
T_SRIM_A50 = 27  # actual profile, ae: Srim [m/km] (eq. (17))
T_NU_A50 = 28  # actual profile, ae: LoS nu_max * sqrt(lambda) [m^0.5] (eq. (15))
T_STIM_S50 = 29  # smooth profile, ae
T_SRIM_S50 = 30
T_NU_S50 = 31
T_STIM_AB = 32  # actual profile, a_beta
T_SRIM_AB = 33
T_NU_AB = 34
T_STIM_SB = 35  # smooth profile, a_beta
T_SRIM_SB = 36
T_NU_SB = 37
N_TERMS = 38

TERM_NAMES = (
    "d",
    "hts",
    "hrs",
    "ae",
    "dlt",
    "dlr",
    "theta_t",
    "theta_r",
    "theta",
    "pathtype",
    "hst_n",
    "hsr_n",
    "hst",
    "hsr",
    "hstd",
    "hsrd",
    "hte",
    "hre",
    "hm",
    "dtm",
    "dlm",
    "omega",
    "zone_tx",
    "zone_rx",
    "Str_a",
    "Str_s",
    "Stim_a50",
    "Srim_a50",
    "nu_a50",
    "Stim_s50",
    "Srim_s50",
    "nu_s50",
    "Stim_ab",
    "Srim_ab",
    "nu_ab",
    "Stim_sb",
    "Srim_sb",
    "nu_sb",
)
"""Names of the terrain terms, in index order (``TERM_NAMES[T_HM] == "hm"``)."""

# --------------------------------------------------------------------------------------------
# Index constants of the loss array (stage 2); all [dB] unless noted
# --------------------------------------------------------------------------------------------
O_LBFS = 0  # free-space basic transmission loss (eq. (8))
O_LB0P = 1  # LoS loss not exceeded for p % (eq. (10))
O_LB0B = 2  # LoS loss not exceeded for beta0 % (eq. (11))
O_LBULLA_50 = 3  # Bullington loss, actual profile, ae (eq. (21))
O_LBULLS_50 = 4  # Bullington loss, smooth profile, ae (eq. (21))
O_LDSPH_50 = 5  # spherical-Earth diffraction loss, ae (eq. (27))
O_LD50 = 6  # delta-Bullington diffraction loss, ae (eq. (39))
O_LBULLA_B = 7  # Bullington loss, actual profile, a_beta (the reference log's "Lbulla")
O_LBULLS_B = 8  # Bullington loss, smooth profile, a_beta (the reference log's "Lbulls")
O_LDSPH_B = 9  # spherical-Earth loss, a_beta (the reference log's "Ldsph")
O_LDB = 10  # delta-Bullington diffraction loss, a_beta (eq. (39))
O_LDP = 11  # diffraction loss not exceeded for p % (eq. (41))
O_LBD50 = 12  # median diffraction basic loss Lbfs + Ld50 (eq. (42))
O_LBD = 13  # diffraction basic loss not exceeded for p %, Lb0p + Ldp (eq. (43))
O_LMINB0P = 14  # notional minimum LoS / sea sub-path loss (eq. (59))
O_LBA = 15  # ducting / layer-reflection loss (eq. (46))
O_LMINBAP = 16  # notional minimum LoS / anomalous loss (eq. (60))
O_LBDA = 17  # diffraction + LoS / ducting enhancement loss (eq. (61))
O_LBAM = 18  # modified basic loss (eq. (62))
O_LBS = 19  # troposcatter loss (eq. (44))
O_LBC = 20  # combined loss, p % time, 50 % locations (eq. (63))
O_LLOC = 21  # location-variability correction (section 4.7)
O_LB = 22  # basic transmission loss, p % time, pL % locations (eq. (69))
O_EP = 23  # field strength, 199.36 + 20 log10(f_GHz) - Lb [dBuV/m] (eq. (70), 1 kW)
O_FI = 24  # interpolation factor Fi (eq. (40)) [-]
O_FJ = 25  # interpolation factor Fj (eq. (57)) [-]
O_FK = 26  # interpolation factor Fk (eq. (58)) [-]
O_B0 = 27  # beta0 [%] (eq. (5))
N_OUT = 28

OUT_NAMES = (
    "Lbfs",
    "Lb0p",
    "Lb0b",
    "Lbulla50",
    "Lbulls50",
    "Ldsph50",
    "Ld50",
    "Lbulla",
    "Lbulls",
    "Ldsph",
    "Ldb",
    "Ldp",
    "Lbd50",
    "Lbd",
    "Lminb0p",
    "Lba",
    "Lminbap",
    "Lbda",
    "Lbam",
    "Lbs",
    "Lbc",
    "Lloc",
    "Lb",
    "Ep",
    "Fi",
    "Fj",
    "Fk",
    "b0",
)
"""Names of the outputs, in index order. ``Lbulla``/``Lbulls``/``Ldsph`` are the a_beta values
(as in the ITU reference logs); the median-radius values are ``Lbulla50`` etc."""

POL_HORIZONTAL = 1
POL_VERTICAL = 2
LN10 = math.log(10.0)
INV_LN10 = 1.0 / LN10
LOG10_2 = math.log10(2.0)
ZONE_SEA = 1
ZONE_COASTAL_LAND = 3
ZONE_INLAND = 4


# --------------------------------------------------------------------------------------------
# Small shared formulas
# --------------------------------------------------------------------------------------------
@njit_noalloc
def _log10(x):
    """log10(x) as ln(x) / ln(10): Numba calls libm's log10 through a helper, and ln is an LLVM
    intrinsic about 1.5x faster; the two differ by at most a few ulp (tested: 4)."""
    return math.log(x) * INV_LN10


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


@njit_noalloc
def inv_cum_norm(x):
    """Approximate inverse complementary cumulative normal distribution I(x).

    Parameters
    ----------
    x : float
        Probability [0-1]; clipped to [1e-6, 0.999999].

    Returns
    -------
    float
        I(x), positive for x < 0.5 (ITU-R P.1812-8 Attachment 2, eqs. (96), (97)).
    """
    x = min(max(x, 0.000001), 0.999999)
    y = x if x <= 0.5 else 1.0 - x
    t = math.sqrt(-2.0 * math.log(y))
    c = ((0.010328 * t + 0.802853) * t + 2.515516698) / (
        ((0.001308 * t + 0.189269) * t + 1.432788) * t + 1.0
    )
    return t - c if x <= 0.5 else c - t


@njit_noalloc
def beta0_latitude_terms(phi_deg):
    """``(b0_max, e)`` with beta0 = b0_max * mu1^e: eqs. (4), (5) with mu4 folded into one power
    of mu1 (``mu1 * mu1^(-0.935 + 0.0176 |phi|)`` up to 70 deg, ``4.17 mu1 mu1^0.3`` beyond)."""
    aphi = abs(phi_deg)
    if aphi <= 70.0:
        return 10.0 ** (-0.015 * aphi + 1.67), 1.0 + (-0.935 + 0.0176 * aphi)
    return 4.17, 1.3


@njit_noalloc
def beta0_pct(phi_deg, dtm_km, dlm_km):
    """Time percentage beta0 of refractivity lapse rates above 100 N-units/km [%].

    Parameters
    ----------
    phi_deg : float
        Path-centre latitude [deg].
    dtm_km, dlm_km : float
        Longest continuous land / inland section of the path [km].

    Returns
    -------
    float
        beta0 [%], ITU-R P.1812-8 eqs. (2)-(5).
    """
    b0_max, mu1_exp = beta0_latitude_terms(phi_deg)
    return _beta0_from(b0_max, mu1_exp, dtm_km, _tau(dlm_km))


@njit_noalloc
def knife_edge_loss_db(nu):
    """Knife-edge diffraction loss J(nu) [dB], 0 for nu <= -0.78 (ITU-R P.1812-8 eq. (12))."""
    if nu > -0.78:
        return 6.9 + 20.0 * _log10(math.sqrt((nu - 0.1) ** 2 + 1.0) + nu - 0.1)
    return 0.0


# --------------------------------------------------------------------------------------------
# Stage 1: profile analysis
# --------------------------------------------------------------------------------------------
@njit_noalloc
def _bullington_profile_terms(d_km, h_m, r_m, use_terrain, hts_m, hrs_m, ce_per_km):
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
def _run_lengths_km(d_km, zone, n, want_land, want_zone):
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

    dtm, _ = _run_lengths_km(d_km, zone, n, True, 0)
    dlm, _ = _run_lengths_km(d_km, zone, n, False, ZONE_INLAND)
    _, sea = _run_lengths_km(d_km, zone, n, False, ZONE_SEA)
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
        stim, srim, nu = _bullington_profile_terms(d_km, h_m, r_m, use_terrain, ht, hr, ce)
        out_terms[base] = stim
        out_terms[base + 1] = srim
        out_terms[base + 2] = nu


# --------------------------------------------------------------------------------------------
# Stage 2: propagation terms
# --------------------------------------------------------------------------------------------
# Per-site constants of stage 2: everything that depends only on the frequency, the time and
# location percentages, the polarization, N0 and the path-centre latitude. The radial engine
# computes them once per site; per pixel only the path-dependent parts remain.

C_F_GHZ = 0  # frequency [GHz]
C_P_PCT = 1  # time percentage p [%]
C_LAMBDA = 2  # wavelength [m]
C_SQRT_LAMBDA = 3  # sqrt(wavelength) [m^0.5]
C_LOG10_F = 4  # log10(f_GHz)
C_F13 = 5  # f_GHz^(1/3)
C_LOG10_P50 = 6  # log10(p / 50), eq. (10)
C_I_P = 7  # I(p / 100), Attachment 2 (eq. (40))
C_LLOC = 8  # location correction off the sea, -I(pL / 100) sigma_L [dB] (section 4.7)
C_LBS0 = 9  # troposcatter without its path terms: 190.1 + Lf - 0.15 N0 - 10.125 log(50/p)^0.7
C_ALF = 10  # Alf, eq. (47a) [dB]
C_B0_MAX = 11  # beta0 for mu1 = 1 [%], eqs. (4), (5)
C_MU1_EXP = 12  # exponent e of beta0 = B0_MAX * mu1^e (mu1 * mu4 = mu1^e), eqs. (4), (5)
C_K_LAND = 13  # K * adft^(1/3) for land, eq. (29) (adft in km)
C_K_SEA = 14  # same for sea
C_LOG10_P_B0MAX = 15  # log10(p / B0_MAX): the Ap bound of eq. (53) with beta0 at its maximum
N_CONSTS = 16


@njit_noalloc
def _ground_k_scaled(eps_r, sigma_s_per_m, f_ghz, f13, pol):
    """``K * adft^(1/3)`` of eq. (29) for one ground type: K without its radius factor."""
    x2 = (18.0 * sigma_s_per_m / f_ghz) ** 2
    k_h = 0.036 / f13 / math.sqrt(math.sqrt((eps_r - 1.0) ** 2 + x2))  # eq. (29a)
    if pol == POL_VERTICAL:
        return k_h * math.sqrt(eps_r**2 + x2)  # eq. (29b)
    return k_h


@njit_noalloc
def p1812_constants(f_ghz, p_pct, pl_pct, sigma_l_db, pol, n0, phi_deg, consts):
    """Fill ``consts`` (length ``N_CONSTS``, indexed by the ``C_*`` constants) with the stage-2
    quantities that do not depend on the path (see the ``C_*`` comments)."""
    lam = SPEED_OF_LIGHT_M_GHZ / f_ghz
    f13 = f_ghz ** (1.0 / 3.0)
    consts[C_F_GHZ] = f_ghz
    consts[C_P_PCT] = p_pct
    consts[C_LAMBDA] = lam
    consts[C_SQRT_LAMBDA] = math.sqrt(lam)
    consts[C_LOG10_F] = _log10(f_ghz)
    consts[C_F13] = f13
    consts[C_LOG10_P50] = _log10(p_pct / 50.0)
    consts[C_I_P] = inv_cum_norm(p_pct / 100.0)
    consts[C_LLOC] = -inv_cum_norm(pl_pct / 100.0) * sigma_l_db
    lf = 25.0 * _log10(f_ghz) - 2.5 * _log10(f_ghz / 2.0) ** 2  # eq. (45)
    consts[C_LBS0] = 190.1 + lf - 0.15 * n0 - 10.125 * _log10(50.0 / p_pct) ** 0.7  # (44)
    consts[C_ALF] = 45.375 - 137.0 * f_ghz + 92.5 * f_ghz * f_ghz if f_ghz < 0.5 else 0.0
    consts[C_B0_MAX], consts[C_MU1_EXP] = beta0_latitude_terms(phi_deg)
    consts[C_LOG10_P_B0MAX] = _log10(p_pct / consts[C_B0_MAX])
    consts[C_K_LAND] = _ground_k_scaled(LAND_REL_PERMITTIVITY, LAND_CONDUCTIVITY_S_PER_M, f_ghz,
                                        f13, pol)
    consts[C_K_SEA] = _ground_k_scaled(SEA_REL_PERMITTIVITY, SEA_CONDUCTIVITY_S_PER_M, f_ghz,
                                       f13, pol)


@njit_noalloc
def _tau(dlm_km):
    """tau of eq. (3)."""
    return 1.0 - math.exp(-(4.12e-4 * dlm_km**2.41))


@njit_noalloc
def _beta0_from(b0_max, mu1_exp, dtm_km, tau):
    """beta0 [%] (eqs. (2)-(5)) as ``b0_max * mu1^e``: mu1 * mu4 is one power of mu1, and
    mu1 = min(S^0.2, 1) = min(S, 1)^0.2."""
    s = math.exp(-LN10 * dtm_km / (16.0 - 6.6 * tau)) \
        + math.exp(-LN10 * 5.0 * (0.496 + 0.354 * tau))
    return b0_max * min(s, 1.0) ** (0.2 * mu1_exp)


@njit_noalloc
def bullington_loss_db(stim, srim, str_slope, nu_sqrt_lambda, hts_m, hrs_m, d_km, consts):
    """Bullington diffraction loss from the profile terms (ITU-R P.1812-8 section 4.3.1).

    Parameters
    ----------
    stim, srim : float
        Highest slopes from Tx / Rx to the profile [m/km] (eqs. (13), (17)).
    str_slope : float
        Slope of the Tx-Rx line [m/km] (eq. (14)).
    nu_sqrt_lambda : float
        LoS ``nu_max * sqrt(lambda_m)`` [m^0.5] (eq. (15)).
    hts_m, hrs_m : float
        Antenna heights [m] in the datum of the profile.
    d_km : float
        Path length [km].
    consts : 1-D float64 array
        From :func:`p1812_constants`.

    Returns
    -------
    float
        Lbull [dB], eq. (21).
    """
    if stim < str_slope:  # LoS path, eqs. (15), (16)
        luc = knife_edge_loss_db(nu_sqrt_lambda / consts[C_SQRT_LAMBDA])
    else:  # trans-horizon path, eqs. (17)-(20)
        dbp = (hrs_m - hts_m + srim * d_km) / (stim + srim)  # eq. (18)
        nub = (hts_m + stim * dbp - (hts_m * (d_km - dbp) + hrs_m * dbp) / d_km) * math.sqrt(
            0.002 * d_km / (consts[C_LAMBDA] * dbp * (d_km - dbp))
        )  # eq. (20)
        luc = knife_edge_loss_db(nub)
    if luc == 0.0:
        return 0.0
    return luc + (1.0 - math.exp(-luc / 6.0)) * (10.0 + 0.02 * d_km)  # eq. (21)


@njit_noalloc
def _first_term_inner_db(k_scaled, d_km, hte_m, hre_m, a13, f13):
    """First-term spherical-Earth diffraction loss for one ground type (eqs. (29)-(36));
    ``k_scaled`` from :func:`_ground_k_scaled`, ``a13`` = adft^(1/3), ``f13`` = f^(1/3)."""
    k = k_scaled / a13  # eq. (29)
    k2 = k * k
    k4 = k2 * k2
    beta = (1.0 + 1.6 * k2 + 0.67 * k4) / (1.0 + 4.5 * k2 + 1.53 * k4)  # eq. (30)
    x = 21.88 * beta * (f13 / (a13 * a13)) * d_km  # eq. (31): (f / adft^2)^(1/3)
    y_scale = 0.9575 * beta * (f13 * f13 / a13)  # (f^2 / adft)^(1/3)
    yt = y_scale * hte_m  # eq. (32a)
    yr = y_scale * hre_m  # eq. (32b)
    if x >= 1.6:
        fx = 11.0 + 10.0 * _log10(x) - 17.6 * x  # eq. (33)
    else:
        fx = -20.0 * _log10(x) - 5.6488 * x**1.425
    g_min = 2.0 + 20.0 * _log10(k)
    g_t = _height_gain_db(beta * yt, g_min)  # eqs. (34), (35)
    g_r = _height_gain_db(beta * yr, g_min)
    return -fx - g_t - g_r  # eq. (36)


@njit_noalloc
def _height_gain_db(b, g_min):
    """Height-gain function G(Y) with its lower limit 2 + 20 log10(K) (eqs. (34), (35))."""
    if b > 2.0:
        g = 17.6 * math.sqrt(b - 1.1) - 5.0 * _log10(b - 1.1) - 8.0
    else:
        g = 20.0 * _log10(b + 0.1 * b * b * b)
    return max(g, g_min)


@njit_noalloc
def _first_term_db(d_km, hte_m, hre_m, adft_km, omega, consts):
    """First-term spherical-Earth loss, land/sea mixed by omega (eq. (28)); an all-land or
    all-sea path evaluates its one ground type only."""
    a13 = adft_km ** (1.0 / 3.0)
    f13 = consts[C_F13]
    land = 0.0
    sea = 0.0
    if omega < 1.0:
        land = _first_term_inner_db(consts[C_K_LAND], d_km, hte_m, hre_m, a13, f13)
    if omega > 0.0:
        sea = _first_term_inner_db(consts[C_K_SEA], d_km, hte_m, hre_m, a13, f13)
    return omega * sea + (1.0 - omega) * land


@njit_noalloc
def spherical_earth_loss_db(d_km, hte_m, hre_m, ap_km, omega, consts):
    """Spherical-Earth diffraction loss Ldsph [dB] (ITU-R P.1812-8 section 4.3.2).

    Parameters
    ----------
    d_km : float
        Path length [km].
    hte_m, hre_m : float
        Effective antenna heights above the smooth surface [m], > 0 (eq. (38)).
    ap_km : float
        Effective Earth radius [km].
    omega : float
        Fraction of the path over sea [0-1].
    consts : 1-D float64 array
        From :func:`p1812_constants` (frequency, polarization).

    Returns
    -------
    float
        Ldsph [dB], eqs. (22)-(27).
    """
    lam = consts[C_LAMBDA]
    sqrt_t = math.sqrt(hte_m)
    sqrt_r = math.sqrt(hre_m)
    dlos = math.sqrt(2.0 * ap_km) * (math.sqrt(0.001) * (sqrt_t + sqrt_r))  # eq. (22)
    if d_km >= dlos:
        return _first_term_db(d_km, hte_m, hre_m, ap_km, omega, consts)
    # Ldsph = 0 when hse > hreq. Whatever the point dse1 + dse2 = d (0 <= dse1, dse2), eq. (23)
    # gives hse >= min(hte, hre) - 125 d^2 / ap and eq. (25) hreq <= 17.456 sqrt(d lambda / 4):
    # most paths are settled by this without solving the cubic of eq. (24c)
    if min(hte_m, hre_m) - 125.0 * d_km * d_km / ap_km > 17.456 * math.sqrt(0.25 * d_km * lam):
        return 0.0
    c = (hte_m - hre_m) / (hte_m + hre_m)  # eq. (24d)
    m = 250.0 * d_km * d_km / (ap_km * (hte_m + hre_m))  # eq. (24e)
    b = (
        2.0
        * math.sqrt((m + 1.0) / (3.0 * m))
        * math.cos(math.pi / 3.0 + math.acos(1.5 * c * math.sqrt(3.0 * m / (m + 1.0) ** 3)) / 3.0)
    )  # eq. (24c)
    dse1 = 0.5 * d_km * (1.0 + b)  # eq. (24a)
    dse2 = d_km - dse1  # eq. (24b)
    hse = (
        (hte_m - 500.0 * dse1 * dse1 / ap_km) * dse2 + (hre_m - 500.0 * dse2 * dse2 / ap_km) * dse1
    ) / d_km  # eq. (23)
    hreq = 17.456 * math.sqrt(dse1 * dse2 * lam / d_km)  # eq. (25)
    if hse > hreq:
        return 0.0
    aem = 500.0 * (d_km / (sqrt_t + sqrt_r)) ** 2  # eq. (26)
    ldft = max(_first_term_db(d_km, hte_m, hre_m, aem, omega, consts), 0.0)
    return (1.0 - hse / hreq) * ldft  # eq. (27)


@njit_noalloc
def delta_bullington_db(lbulla_db, lbulls_db, ldsph_db):
    """Delta-Bullington diffraction loss Ld = Lbulla + max(Ldsph - Lbulls, 0) [dB] (eq. (39))."""
    return lbulla_db + max(ldsph_db - lbulls_db, 0.0)


@njit_noalloc
def _delta_bullington_from_terms(terms, beta_radius, consts, out, i_bulla, i_bulls, i_dsph):
    """Lbulla, Lbulls, Ldsph into ``out`` and return Ld for ae or a_beta (section 4.3.4)."""
    d = terms[T_D]
    hts = terms[T_HTS]
    hrs = terms[T_HRS]
    hts_s = hts - terms[T_HSTD]  # eq. (37a)
    hrs_s = hrs - terms[T_HSRD]  # eq. (37b)
    if beta_radius:
        ap = K_BETA * EARTH_RADIUS_KM
        ia, i_s = T_STIM_AB, T_STIM_SB
    else:
        ap = terms[T_AE]
        ia, i_s = T_STIM_A50, T_STIM_S50
    lbulla = bullington_loss_db(
        terms[ia], terms[ia + 1], terms[T_STR_A], terms[ia + 2], hts, hrs, d, consts
    )
    lbulls = bullington_loss_db(
        terms[i_s], terms[i_s + 1], terms[T_STR_S], terms[i_s + 2], hts_s, hrs_s, d, consts
    )
    ldsph = spherical_earth_loss_db(d, hts_s, hrs_s, ap, terms[T_OMEGA], consts)  # eq. (38)
    out[i_bulla] = lbulla
    out[i_bulls] = lbulls
    out[i_dsph] = ldsph
    return delta_bullington_db(lbulla, lbulls, ldsph)


@njit
def delta_bullington_from_profile(
    d_km, g_m, hts_m, hrs_m, hstd_m, hsrd_m, ap_km, f_ghz, omega, pol, out4
):
    """Complete delta-Bullington diffraction loss for one radius from a profile (section 4.3.4).

    The same building blocks as the P.1812 chain (shared with ITU-R P.452-18 section 4.2.3).

    Parameters
    ----------
    d_km, g_m : 1-D float64 arrays
        Profile distances [km] and heights used for the Bullington construction [m amsl].
    hts_m, hrs_m : float
        Antenna heights [m amsl].
    hstd_m, hsrd_m : float
        Smooth-surface heights for the diffraction model [m amsl].
    ap_km : float
        Effective Earth radius [km].
    f_ghz : float
        Frequency [GHz].
    omega : float
        Fraction of the path over sea [0-1].
    pol : int
        1 horizontal, 2 vertical.
    out4 : 1-D float64 array of length 4
        Filled with Lbulla, Lbulls, Ldsph, Ld [dB] (eqs. (21), (21), (27), (39)).
    """
    n = d_km.shape[0]
    d = d_km[n - 1]
    zeros = np.zeros(n)
    consts = np.empty(N_CONSTS)
    p1812_constants(f_ghz, 50.0, 50.0, 0.0, pol, 325.0, DEFAULT_PATH_CENTRE_LAT_DEG, consts)
    ce = 1.0 / ap_km
    hts_s = hts_m - hstd_m
    hrs_s = hrs_m - hsrd_m
    s1, s2, s3 = _bullington_profile_terms(d_km, g_m, zeros, True, hts_m, hrs_m, ce)
    lbulla = bullington_loss_db(s1, s2, (hrs_m - hts_m) / d, s3, hts_m, hrs_m, d, consts)
    s1, s2, s3 = _bullington_profile_terms(d_km, g_m, zeros, False, hts_s, hrs_s, ce)
    lbulls = bullington_loss_db(s1, s2, (hrs_s - hts_s) / d, s3, hts_s, hrs_s, d, consts)
    ldsph = spherical_earth_loss_db(d, hts_s, hrs_s, ap_km, omega, consts)
    out4[0] = lbulla
    out4[1] = lbulls
    out4[2] = ldsph
    out4[3] = delta_bullington_db(lbulla, lbulls, ldsph)


@njit_noalloc
def diffraction_loss_p_db(ld50_db, ldb_db, p_pct, b0_pct):
    """Diffraction loss not exceeded for p % of the time, Ldp [dB] (section 4.3.5).

    Parameters
    ----------
    ld50_db, ldb_db : float
        Delta-Bullington loss for ae and for a_beta [dB] (eq. (39)).
    p_pct, b0_pct : float
        Time percentage (1-50) and beta0 [%].

    Returns
    -------
    float
        ``Ld50 + Fi (Ldb - Ld50)`` with ``Fi = I(p/100) / I(b0/100)`` for p > b0, else 1
        (eqs. (40), (41)); exactly Ld50 at p = 50 (I(0.5) = 0; the approximation of I is not).
    """
    if p_pct == 50.0:
        return ld50_db
    fi = inv_cum_norm(p_pct / 100.0) / inv_cum_norm(b0_pct / 100.0) if p_pct > b0_pct else 1.0
    return ld50_db + fi * (ldb_db - ld50_db)


@njit_noalloc
def troposcatter_loss_db(d_km, theta_mrad, consts):
    """Troposcatter basic transmission loss Lbs [dB] (ITU-R P.1812-8 section 4.4, eqs. (44),
    (45)); the frequency, time-percentage and N0 terms come from :func:`p1812_constants`.

    Parameters
    ----------
    d_km : float
        Path length [km].
    theta_mrad : float
        Path angular distance [mrad].
    consts : 1-D float64 array
    """
    return consts[C_LBS0] + 20.0 * _log10(d_km) + 0.573 * theta_mrad  # eq. (44)


@njit_noalloc
def anomalous_loss_db(terms, consts, b0_pct, tau, dct_km, dcr_km):
    """Ducting / layer-reflection basic transmission loss Lba [dB] (section 4.5, eqs. (46)-(56)).

    Parameters
    ----------
    terms : 1-D float64 array
        Terrain terms (``T_*``).
    consts : 1-D float64 array
        From :func:`p1812_constants`.
    b0_pct, tau : float
        beta0 [%] and tau of eq. (3) for the path.
    dct_km, dcr_km : float
        Distances from Tx / Rx to the coast over land [km] (already 0 for a terminal at sea).
    """
    return _anomalous_fixed_db(terms, consts, dct_km, dcr_km) \
        + _anomalous_ap_db(terms, consts, b0_pct, tau)


@njit_noalloc
def _anomalous_fixed_db(terms, consts, dct_km, dcr_km):
    """Af + gamma_d theta' of eqs. (46), (47), (50): the ducting loss without Ap [dB]."""
    dlt = terms[T_DLT]
    dlr = terms[T_DLR]
    theta_t = terms[T_THETA_T]
    theta_r = terms[T_THETA_R]
    ae = terms[T_AE]
    f_ghz = consts[C_F_GHZ]
    f13 = consts[C_F13]
    theta_t2 = theta_t - 0.1 * dlt  # eq. (48a)
    theta_r2 = theta_r - 0.1 * dlr
    ast = 0.0
    asr = 0.0
    if theta_t2 > 0.0:  # eq. (48)
        ast = (
            20.0 * _log10(1.0 + 0.361 * theta_t2 * math.sqrt(f_ghz * dlt))
            + 0.264 * theta_t2 * f13
        )
    if theta_r2 > 0.0:
        asr = (
            20.0 * _log10(1.0 + 0.361 * theta_r2 * math.sqrt(f_ghz * dlr))
            + 0.264 * theta_r2 * f13
        )
    af = (
        102.45
        + 20.0 * consts[C_LOG10_F]
        + 20.0 * _log10(dlt + dlr)
        + consts[C_ALF]
        + ast
        + asr
        + _coast_terms_db(terms, dct_km, dcr_km, dlt, dlr)  # Act + Acr, eq. (49)
    )  # eq. (47)
    gamma_d = 5e-5 * ae * f13  # eq. (51)
    theta1 = 1e3 * terms[T_D] / ae + min(theta_t, 0.1 * dlt) + min(theta_r, 0.1 * dlr)  # (52)
    return af + gamma_d * theta1  # eq. (50) without Ap


@njit_noalloc
def _anomalous_fixed_los_low_db(terms, consts, dct_km, dcr_km):
    """A lower bound of Af + gamma_d theta' (eqs. (47)-(52)) on a line-of-sight path whose
    Bullington point (``T_DLT``, ``T_DLR``) is not known: only dlt + dlr = d (eq. (81a)) is.

    Per terminal (theta = theta_t, u = 0.1 dlt; or theta_r, 0.1 dlr, u > 0) the dlt-dependent
    part is G(u) = gamma_d min(theta, u) + As, with the site shielding As = 0 for u >= theta and
    otherwise 0.264 (theta - u) f^(1/3) plus a non-negative logarithm (eq. (48)). So G = gamma_d
    theta for theta <= 0, and for theta > 0, G >= 0.264 f^(1/3) theta + (gamma_d - 0.264
    f^(1/3)) min(u, theta) >= 0.264 f^(1/3) theta, since gamma_d = 5e-5 ae f^(1/3) exceeds
    0.264 f^(1/3) for ae > 5280 km (k50 >= 1 gives ae >= 6371 km). The coast terms (eq. (49),
    <= 0) are included wherever some dlt < d could admit them. Returns -inf for ae <= 5280 km.
    """
    d = terms[T_D]
    ae = terms[T_AE]
    f13 = consts[C_F13]
    gamma_d = 5e-5 * ae * f13  # eq. (51)
    if gamma_d <= 0.264 * f13:
        return -np.inf
    g = 0.0
    for theta in (terms[T_THETA_T], terms[T_THETA_R]):
        g += gamma_d * theta if theta <= 0.0 else 0.264 * f13 * theta
    coast = _coast_terms_db(terms, dct_km, dcr_km, d, d)  # each term that some dlt < d admits
    return (102.45 + 20.0 * consts[C_LOG10_F] + 20.0 * _log10(d) + consts[C_ALF] + coast
            + gamma_d * 1e3 * d / ae + g)


@njit_noalloc
def _anomalous_ap_db(terms, consts, b0_pct, tau):
    """Ap of eqs. (53)-(56): the time-percentage variability of the ducting loss [dB]."""
    d = terms[T_D]
    ae = terms[T_AE]
    p_pct = consts[C_P_PCT]
    d_i = min(d - terms[T_DLT] - terms[T_DLR], 40.0)  # eq. (56a)
    hm = terms[T_HM]
    mu3 = math.exp(-4.6e-5 * (hm - 10.0) * (43.0 + 6.0 * d_i)) if hm > 10.0 else 1.0  # eq. (56)
    alpha = max(-0.6 - 3.5e-9 * d**3.1 * tau, -3.4)  # eq. (55a)
    mu2 = (500.0 / ae * d * d / (math.sqrt(terms[T_HTE]) + math.sqrt(terms[T_HRE])) ** 2) ** alpha
    mu2 = min(mu2, 1.0)  # eq. (55)
    beta = b0_pct * mu2 * mu3  # eq. (54)
    lb = _log10(beta)
    gam = (
        1.076
        / (2.0058 - lb) ** 1.012
        * math.exp(-(9.51 - 4.8 * lb + 0.198 * lb * lb) * 1e-6 * d**1.13)
    )  # eq. (53a)
    return -12.0 + (1.2 + 3.7e-3 * d) * _log10(p_pct / beta) + 12.0 * (p_pct / beta) ** gam


@njit_noalloc
def _coast_terms_db(terms, dct_km, dcr_km, dlt, dlr):
    """Act + Acr of eq. (49): the over-sea site-coupling corrections [dB] (<= 0), for horizon
    distances ``dlt``, ``dlr`` [km]."""
    omega = terms[T_OMEGA]
    act = 0.0
    acr = 0.0
    if dct_km <= 5.0 and dct_km <= dlt and omega >= 0.75:
        act = -3.0 * math.exp(-0.25 * dct_km * dct_km) * (
            1.0 + math.tanh(0.07 * (50.0 - terms[T_HTS])))
    if dcr_km <= 5.0 and dcr_km <= dlr and omega >= 0.75:
        acr = -3.0 * math.exp(-0.25 * dcr_km * dcr_km) * (
            1.0 + math.tanh(0.07 * (50.0 - terms[T_HRS])))
    return act + acr


@njit_noalloc
def anomalous_ap_lower_bound_db(terms, consts, b0_pct):
    """A lower bound of Ap (eq. (53)) [dB]; -inf if none.

    With mu2, mu3 <= 1, beta <= beta0, so for p >= beta0 both log10(p / beta) >=
    log10(p / beta0) >= 0 and (p / beta)^Gamma >= 1 (Gamma > 0), hence
    Ap >= (1.2 + 3.7e-3 d) log10(p / beta0). Lba >= Af + gamma_d theta' + this bound.
    ``b0_pct`` NaN: beta0 not computed, its maximum ``C_B0_MAX`` bounds it.
    """
    p_pct = consts[C_P_PCT]
    if np.isnan(b0_pct):
        if p_pct < consts[C_B0_MAX]:
            return -np.inf
        return (1.2 + 3.7e-3 * terms[T_D]) * consts[C_LOG10_P_B0MAX]
    if p_pct < b0_pct:
        return -np.inf
    return (1.2 + 3.7e-3 * terms[T_D]) * _log10(p_pct / b0_pct)


@njit
def p1812_loss_from_terms(
    terms, f_ghz, p_pct, pl_pct, sigma_l_db, pol, n0, phi_deg, dct_km, dcr_km, out,
    lb_only=False
):
    """All P.1812-8 propagation terms from the terrain terms (sections 4.2 - 4.10).

    :func:`p1812_constants` followed by :func:`p1812_loss_from_constants`; a kernel evaluating
    many paths of one site calls those two itself, computing the constants once.

    Parameters
    ----------
    terms : 1-D float64 array of length ``N_TERMS``
        From :func:`p1812_profile_terms` (or an incremental engine supplying the same terms).
    f_ghz : float
        Frequency [GHz], 0.03-6.
    p_pct : float
        Time percentage [%], 1-50.
    pl_pct : float
        Location percentage [%], 1-99.
    sigma_l_db : float
        Location-variability standard deviation [dB] (section 4.7), >= 0.
    pol : int
        Polarization: 1 horizontal, 2 vertical.
    n0 : float
        Path-centre sea-level surface refractivity N0 [N-units] (troposcatter only).
    phi_deg : float
        Path-centre latitude [deg] (beta0, eqs. (2)-(5)).
    dct_km, dcr_km : float
        Distances over land from Tx / Rx to the coast [km]; set to 0 here when the terminal's
        zone is sea (section 3.4).
    out : 1-D float64 array of length ``N_OUT``
        Filled with the outputs, indexed by the ``O_*`` constants. The effective Earth radius
        is ``terms[T_AE]`` (from DN, eq. (7a)), so DN is not an argument here.
    lb_only : bool
        See :func:`p1812_loss_from_constants`.
    """
    consts = np.empty(N_CONSTS)
    p1812_constants(f_ghz, p_pct, pl_pct, sigma_l_db, pol, n0, phi_deg, consts)
    p1812_loss_from_constants(terms, consts, dct_km, dcr_km, out, lb_only)


@njit
def p1812_loss_batch_db(terms, consts, dct_km, dcr_km, lb_only):
    """Stage 2 over the rows of a 2-D terms array (``p1812_loss_from_constants`` per row): Lb
    [dB] per row, NaN for rows with a NaN path length. Diagnostics and benchmarks."""
    n = terms.shape[0]
    loss = np.full(n, np.nan)
    out = np.empty(N_OUT)
    for i in range(n):
        row = terms[i]
        if not np.isnan(row[T_D]):
            p1812_loss_from_constants(row, consts, dct_km, dcr_km, out, lb_only)
            loss[i] = out[O_LB]
    return loss


@njit_noalloc
def _interpolation_factor(x):
    """1 - (1 + tanh(x)) / 2 of eqs. (57), (58); tanh is exactly +-1 in double precision
    beyond |x| = 25, so the factor is then exactly 0 or 1 without calling it."""
    if x > 25.0:
        return 0.0
    if x < -25.0:
        return 1.0
    return 1.0 - 0.5 * (1.0 + math.tanh(x))


@njit_noalloc
def p1812_loss_from_constants(terms, consts, dct_km, dcr_km, out, lb_only):
    """All P.1812-8 propagation terms from the terrain terms and the per-site constants of
    :func:`p1812_constants` (sections 4.2 - 4.10); fills ``out`` (``O_*``).

    Returns True; False only in ``lb_only`` mode when Lb needs a term the caller left out
    (below; ``out`` is then incomplete).

    ``lb_only``: only ``out[O_LB]`` (and what it depends on) must be exact: the radial engine's
    mode. Skips the a_beta delta-Bullington terms at p = 50 %, where they do not enter Lb (eq.
    (41); ``O_LBULLA_B``, ``O_LBULLS_B``, ``O_LDSPH_B`` and ``O_LDB`` are then NaN), and
    replaces the ducting loss by a lower bound when that bound already exceeds Lbd, where eq.
    (61) makes Lb independent of it (``O_LBA`` and ``O_LMINBAP`` are then lower bounds; the bound
    is exact in Af and gamma_d theta' and bounds Ap, :func:`anomalous_ap_lower_bound_db`). At
    p = 50 % it also skips what Lb then cannot depend on: beta0 where the ducting bound
    settles (``O_B0``, ``O_LB0B`` NaN), Fk where eq. (61) takes
    Lbd (``O_FK`` NaN), and the Esp factor (log10(p / 50) = 0); ``O_LBS`` is a lower bound
    where that bound is over 100 dB above Lbam (eq. (63) then gives Lbam).

    Terms left out (``lb_only`` only; the radial engine computes them only when asked): the
    roughness hm (``T_HM`` NaN) enters Lb only through the exact ducting Ap, and at p = 50 %
    so does the longest inland section dlm (``T_DLM`` NaN; through beta0); and at p = 50 %
    the point of largest nu on a line-of-sight path (eq. (78); ``T_DLT``, ``T_DLR`` NaN), which
    the engine leaves out when J(nu_max) = 0 is already known, enters Lb only through the
    ducting loss, then bounded without it (:func:`_anomalous_fixed_los_low_db`). Where the
    bound does not settle eq. (61) the function returns False and the caller supplies them.
    """
    d = terms[T_D]
    hts = terms[T_HTS]
    hrs = terms[T_HRS]
    dlt = terms[T_DLT]
    dlr = terms[T_DLR]
    omega = terms[T_OMEGA]
    p_pct = consts[C_P_PCT]
    if terms[T_ZONE_TX] == ZONE_SEA:
        dct_km = 0.0
    if terms[T_ZONE_RX] == ZONE_SEA:
        dcr_km = 0.0

    # Interpolation factors, eqs. (57), (58)
    fj = _interpolation_factor(3.0 * 0.8 * (terms[T_THETA] - 0.3) / 0.3)

    # beta0 (eqs. (2)-(5)) enters Lb through Lminb0p and Ldp below 50 % time (at 50 %, Fi = 0:
    # see below) and through the ducting loss. In lb_only mode at p = 50 % it is only computed
    # if the ducting bound below needs it.
    need_b0 = not lb_only or p_pct != 50.0  # else O_B0, O_LB0B: NaN
    tau = np.nan
    b0 = np.nan
    if need_b0:
        if np.isnan(terms[T_DLM]):
            raise ValueError("T_DLM is NaN: dlm may only be left out in lb_only mode at p = 50")
        tau = _tau(terms[T_DLM])
        b0 = _beta0_from(consts[C_B0_MAX], consts[C_MU1_EXP], terms[T_DTM], tau)

    # Line of sight with short-term effects, section 4.2
    dfs2 = d * d + ((hts - hrs) / 1000.0) ** 2  # eq. (8a)
    lbfs = 92.4 + 20.0 * consts[C_LOG10_F] + 10.0 * _log10(dfs2)  # eq. (8)
    e_mult = 0.0  # Esp, Esb = e_mult log10(p / 50), e_mult log10(b0 / 50): eqs. (9a), (9b)
    if need_b0 or consts[C_LOG10_P50] != 0.0:
        e_mult = 2.6 * (1.0 - math.exp(-0.1 * (dlt + dlr)))
    lb0p = lbfs + e_mult * consts[C_LOG10_P50]  # eq. (10)
    lb0b = lbfs + e_mult * _log10(b0 / 50.0) if need_b0 else np.nan  # eq. (11)

    # Diffraction, section 4.3
    ld50 = _delta_bullington_from_terms(
        terms, False, consts, out, O_LBULLA_50, O_LBULLS_50, O_LDSPH_50
    )
    if not lb_only or p_pct != 50.0:
        ldb = _delta_bullington_from_terms(
            terms, True, consts, out, O_LBULLA_B, O_LBULLS_B, O_LDSPH_B
        )
    else:  # unused at p = 50 % (eq. (41)): the engine skips it
        ldb = np.nan
        out[O_LBULLA_B] = np.nan
        out[O_LBULLS_B] = np.nan
        out[O_LDSPH_B] = np.nan
    ldp = diffraction_loss_p_db(ld50, ldb, p_pct, b0)
    lbd50 = lbfs + ld50  # eq. (42)
    lbd = lb0p + ldp  # eq. (43)

    # Notional minimum LoS / sea sub-path loss, eqs. (40), (59)
    # At p = 50 %, Fi = I(0.5) / I(beta0 / 100) = 0 (beta0 < 50 %), as for Ldp in section 4.3.5:
    # the rational approximation of I (Attachment 2) returns 1.3e-9 instead of 0 there, which
    # would move Lminb0p by ~1e-8 dB; the exact zero is used, so Lminb0p = Lbd50
    if p_pct == 50.0:
        fi = 0.0
        lminb0p = lbd50
    elif p_pct < b0:
        fi = 1.0
        lminb0p = lb0p + (1.0 - omega) * ldp
    else:
        fi = consts[C_I_P] / inv_cum_norm(b0 / 100.0)
        lminb0p = lbd50 + (lb0b + (1.0 - omega) * ldp - lbd50) * fi

    # Ducting / layer reflection, section 4.5: Lba = (Af + gamma_d theta') + Ap
    settled = False
    if np.isnan(dlt):  # deferred Bullington point (see above)
        if not (lb_only and p_pct == 50.0 and terms[T_PATHTYPE] == 1.0):
            raise ValueError("T_DLT is NaN: a deferred Bullington point needs lb_only, p = 50 "
                             "and a line-of-sight path")
        lba = _anomalous_fixed_los_low_db(terms, consts, dct_km, dcr_km) \
            + anomalous_ap_lower_bound_db(terms, consts, b0)
        if not lba > lbd:
            return False
        settled = True
    else:
        lba = _anomalous_fixed_db(terms, consts, dct_km, dcr_km)
    if lb_only and not settled:
        # beta0 <= B0_MAX, so the Ap bound with B0_MAX holds when beta0 was not computed
        lba_low = lba + anomalous_ap_lower_bound_db(terms, consts, b0)  # b0 NaN: its maximum
        if lba_low > lbd:  # eq. (61) then gives Lbda = Lbd whatever the exact Lba
            lba = lba_low
            settled = True
    if not settled:
        if np.isnan(terms[T_HM]) or np.isnan(terms[T_DLM]):  # left out: only the exact Ap
            if not lb_only:  # reads hm, and beta0 (of dlm) matters at p = 50 % only there
                raise ValueError("T_HM or T_DLM is NaN: they may only be left out in lb_only "
                                 "mode")
            return False
        if not need_b0:
            tau = _tau(terms[T_DLM])
            b0 = _beta0_from(consts[C_B0_MAX], consts[C_MU1_EXP], terms[T_DTM], tau)
        lba += _anomalous_ap_db(terms, consts, b0, tau)
    # eq. (60) as an overflow-safe log-sum-exp; a term below e^-40 of the other rounds away.
    # Once the bound settled eq. (61) only Lminbap >= Lba > Lbd matters: max(Lba, Lb0p) is kept
    eta = 2.5
    big = max(lba, lb0p)
    gap_e = abs(lba - lb0p) / eta
    lminbap = big + eta * math.log1p(math.exp(-gap_e)) if gap_e < 40.0 and not settled else big

    # Combination, section 4.6, eqs. (61)-(63)
    if lminbap <= lbd:
        fk = _interpolation_factor(3.0 * 0.5 * (d - 20.0) / 20.0)
        lbda = lminbap + (lbd - lminbap) * fk
    else:
        fk = np.nan if lb_only else _interpolation_factor(3.0 * 0.5 * (d - 20.0) / 20.0)
        lbda = lbd
    lbam = lbda if fj == 0.0 else lbda + (lminb0p - lbda) * fj  # the same when Fj = 0
    # eq. (63); beyond a 100 dB gap 10^(-0.2 gap) < 1e-20 and log10(1 + it) rounds to 0, so
    # in lb_only mode a lower bound of Lbs (log10 d >= (e - 1) log10 2 for d = m 2^e, m in
    # [0.5, 1)) that is 100 dB above Lbam settles it without the logarithms
    lbs = np.nan
    if lb_only:
        _, d_exp = math.frexp(d)
        lbs_low = consts[C_LBS0] + 20.0 * LOG10_2 * (d_exp - 1) + 0.573 * terms[T_THETA]
        if lbs_low - lbam >= 100.0:
            lbs = lbs_low
    if np.isnan(lbs):
        lbs = troposcatter_loss_db(d, terms[T_THETA], consts)
    small = min(lbs, lbam)
    gap = abs(lbs - lbam)
    lbc = small - 5.0 * _log10(1.0 + math.exp(-0.2 * LN10 * gap)) if gap < 100.0 else small

    # Location variability (section 4.7), Lb (eq. (69)) and field strength (eq. (70))
    lloc = 0.0 if terms[T_ZONE_RX] == ZONE_SEA else consts[C_LLOC]
    lb = max(lb0p, lbc + lloc)
    ep = 199.36 + 20.0 * consts[C_LOG10_F] - lb

    out[O_LBFS] = lbfs
    out[O_LB0P] = lb0p
    out[O_LB0B] = lb0b
    out[O_LD50] = ld50
    out[O_LDB] = ldb
    out[O_LDP] = ldp
    out[O_LBD50] = lbd50
    out[O_LBD] = lbd
    out[O_LMINB0P] = lminb0p
    out[O_LBA] = lba
    out[O_LMINBAP] = lminbap
    out[O_LBDA] = lbda
    out[O_LBAM] = lbam
    out[O_LBS] = lbs
    out[O_LBC] = lbc
    out[O_LLOC] = lloc
    out[O_LB] = lb
    out[O_EP] = ep
    out[O_FI] = fi
    out[O_FJ] = fj
    out[O_FK] = fk
    out[O_B0] = b0
    return True


# --------------------------------------------------------------------------------------------
# Python API
# --------------------------------------------------------------------------------------------
def location_sigma_db(freq_ghz, rx_height_m, rx_clutter_height_m, resolution_m):
    """Location-variability standard deviation sigma_L [dB] (ITU-R P.1812-8 section 4.7).

    ``sigma_L = (0.52 + 0.024 f) * w_a^0.28 * u_h`` with the height factor u_h = 1 below the
    clutter, 0 at 10 m or more above it, linear in between.

    Parameters
    ----------
    freq_ghz : float
        Frequency [GHz].
    rx_height_m : float
        Receiver antenna height above ground [m].
    rx_clutter_height_m : float
        Representative clutter height at the receiver [m].
    resolution_m : float
        Prediction resolution w_a [m] (width of the square area).
    """
    sigma = (0.52 + 0.024 * freq_ghz) * resolution_m**0.28
    if rx_height_m < rx_clutter_height_m:
        uh = 1.0
    elif rx_height_m >= rx_clutter_height_m + 10.0:
        uh = 0.0
    else:
        uh = 1.0 - (rx_height_m - rx_clutter_height_m) / 10.0
    return sigma * uh


def path_centre_latitude_deg(tx_lat_deg, tx_lon_deg, rx_lat_deg, rx_lon_deg, half_distance_km):
    """Latitude [deg] of the great-circle point at ``half_distance_km`` from the Tx.

    ITU-R P.2001 Attachment H (H.2, H.3), as used for the P.1812 path centre (section 3.5).
    """
    rad = math.pi / 180.0
    phit = tx_lat_deg * rad
    phir = rx_lat_deg * rad
    dlon = (rx_lon_deg - tx_lon_deg) * rad
    r = math.sin(phit) * math.sin(phir) + math.cos(phit) * math.cos(phir) * math.cos(dlon)
    x1 = math.sin(phir) - r * math.sin(phit)
    y1 = math.cos(phit) * math.cos(phir) * math.sin(dlon)
    if abs(x1) < 1e-9 and abs(y1) < 1e-9:
        # Coincident or antipodal terminals; the ITU reference then uses the Rx longitude (in
        # degrees) as the bearing, reproduced here.
        bearing = rx_lon_deg * rad
    else:
        bearing = math.atan2(y1, x1)
    phipnt = half_distance_km / EARTH_RADIUS_KM
    s = math.sin(phit) * math.cos(phipnt) + math.cos(phit) * math.sin(phipnt) * math.cos(bearing)
    return math.asin(max(-1.0, min(1.0, s))) / rad


def _as_1d(name, value, n=None):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CovkitInputError(f"{name} must be numeric: {exc}", column=name) from exc
    if arr.ndim != 1:
        raise CovkitInputError(f"{name} must be 1-D, got shape {arr.shape}", column=name)
    if n is not None and arr.shape[0] != n:
        raise CovkitInputError(
            f"{name} must have the same length as distance_km ({n}), got {arr.shape[0]}",
            column=name,
        )
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise CovkitInputError(
            f"{name} contains NaN or infinite values (first at index {bad[0]})",
            column=name,
            row=int(bad[0]) + 1,
        )
    return np.ascontiguousarray(arr)


def _check_scalar(name, value, lo, hi, unit):
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise CovkitInputError(f"{name} must be a number, got {value!r}", column=name) from exc
    if not math.isfinite(v) or v < lo or v > hi:
        raise CovkitInputError(
            f"{name}={value!r} is outside the valid range [{lo}, {hi}] {unit}", column=name
        )
    return v


_POLARIZATIONS = {
    "h": POL_HORIZONTAL,
    "horizontal": POL_HORIZONTAL,
    "v": POL_VERTICAL,
    "vertical": POL_VERTICAL,
}


def p1812_point_to_point(
    distance_km,
    height_m,
    freq_mhz,
    tx_height_m,
    rx_height_m,
    *,
    clutter_height_m=None,
    zone=None,
    time_pct=50.0,
    location_pct=50.0,
    sigma_l_db=None,
    location_resolution_m=DEFAULT_LOCATION_RESOLUTION_M,
    polarization="h",
    dn=45.0,
    n0=325.0,
    tx_lat_deg=None,
    tx_lon_deg=None,
    rx_lat_deg=None,
    rx_lon_deg=None,
    dct_km=500.0,
    dcr_km=500.0,
):
    """ITU-R P.1812-8 basic transmission loss for one Tx->Rx terrain profile.

    Parameters
    ----------
    distance_km : array_like of float
        Distances of the profile points from the Tx [km]; first 0, strictly increasing, at
        least 3 points, total 0.25-3000 km.
    height_m : array_like of float
        Terrain heights [m amsl], same length.
    freq_mhz : float
        Frequency [MHz], 30-6000.
    tx_height_m, rx_height_m : float
        Antenna heights above ground [m], 1-3000.
    clutter_height_m : array_like of float, optional
        Representative clutter heights R_i [m] (>= 0); default 0 everywhere.
    zone : array_like of int, optional
        Radio-climatic zone per point: 1 sea, 3 coastal land, 4 inland; default 4.
    time_pct : float
        Time percentage p [%], 1-50.
    location_pct : float
        Location percentage pL [%], 1-99.
    sigma_l_db : float, optional
        Location-variability standard deviation [dB] (>= 0); default from section 4.7 with
        ``location_resolution_m`` and the Rx clutter height ``clutter_height_m[-1]``.
    location_resolution_m : float
        Prediction resolution w_a [m] for the default sigma_L, 1-1000.
    polarization : {"h", "v"}
        Polarization ("horizontal" / "vertical" also accepted).
    dn : float
        Refractivity lapse rate DN [N-units/km], 0 < DN < 157 (sets ae, eq. (7a)).
    n0 : float
        Sea-level surface refractivity N0 [N-units], 200-500.
    tx_lat_deg, tx_lon_deg, rx_lat_deg, rx_lon_deg : float, optional
        Terminal coordinates [deg]; all four or none. They give the path-centre latitude
        (great-circle point at half the profile length); without them the latitude is
        :data:`covkit.propagation.constants.DEFAULT_PATH_CENTRE_LAT_DEG` (23.5 deg, Taiwan).
    dct_km, dcr_km : float
        Tx / Rx distance over land to the coast [km] (>= 0); forced to 0 for a terminal in
        zone 1 (sea).

    Returns
    -------
    dict
        ``loss_db`` (= ``Lb`` [dB]), ``field_strength_dbuv_m`` (= ``Ep`` for 1 kW e.r.p.),
        every output of :data:`OUT_NAMES` and every terrain term of :data:`TERM_NAMES`
        (units as documented at the ``T_*`` / ``O_*`` constants), plus ``phi`` (path-centre
        latitude [deg]) and ``sigma_l_db``.

    Raises
    ------
    CovkitInputError
        When an input is outside the ITU-R P.1812-8 validity ranges, NaN, or inconsistent; the
        message names the parameter.
    """
    d = _as_1d("distance_km", distance_km)
    n = d.shape[0]
    if n < 3:
        raise CovkitInputError(
            f"distance_km needs at least 3 profile points, got {n}", column="distance_km"
        )
    h = _as_1d("height_m", height_m, n)
    if d[0] != 0.0:
        raise CovkitInputError(
            f"distance_km[0] must be 0 (the Tx), got {d[0]}", column="distance_km"
        )
    steps = np.diff(d)
    if np.any(steps <= 0.0):
        i = int(np.flatnonzero(steps <= 0.0)[0]) + 1
        raise CovkitInputError(
            f"distance_km must be strictly increasing (index {i}: {d[i]} after {d[i - 1]})",
            column="distance_km",
            row=i + 1,
        )
    if not 0.25 <= d[-1] <= 3000.0:
        raise CovkitInputError(
            f"distance_km: path length {d[-1]} km is outside the valid range [0.25, 3000] km",
            column="distance_km",
        )
    if clutter_height_m is None:
        r = np.zeros(n)
    else:
        r = _as_1d("clutter_height_m", clutter_height_m, n)
        if np.any(r < 0.0):
            raise CovkitInputError("clutter_height_m must be >= 0", column="clutter_height_m")
    if zone is None:
        z = np.full(n, float(ZONE_INLAND))
    else:
        z = _as_1d("zone", zone, n)
        ok = (z == ZONE_SEA) | (z == ZONE_COASTAL_LAND) | (z == ZONE_INLAND)
        if not np.all(ok):
            i = int(np.flatnonzero(~ok)[0])
            raise CovkitInputError(
                f"zone must be 1 (sea), 3 (coastal land) or 4 (inland); index {i} is {z[i]}",
                column="zone",
                row=i + 1,
            )
    f_mhz = _check_scalar("freq_mhz", freq_mhz, 30.0, 6000.0, "MHz")
    htg = _check_scalar("tx_height_m", tx_height_m, 1.0, 3000.0, "m")
    hrg = _check_scalar("rx_height_m", rx_height_m, 1.0, 3000.0, "m")
    p = _check_scalar("time_pct", time_pct, 1.0, 50.0, "%")
    pl = _check_scalar("location_pct", location_pct, 1.0, 99.0, "%")
    wa = _check_scalar("location_resolution_m", location_resolution_m, 1.0, 1000.0, "m")
    dn_v = _check_scalar("dn", dn, 1e-6, 156.0, "N-units/km")
    n0_v = _check_scalar("n0", n0, 200.0, 500.0, "N-units")
    dct = _check_scalar("dct_km", dct_km, 0.0, math.inf, "km")
    dcr = _check_scalar("dcr_km", dcr_km, 0.0, math.inf, "km")
    key = str(polarization).strip().lower()
    if key not in _POLARIZATIONS:
        raise CovkitInputError(
            f"polarization={polarization!r} is not one of 'h', 'v' ('horizontal', 'vertical')",
            column="polarization",
        )
    pol = _POLARIZATIONS[key]
    f_ghz = f_mhz / 1000.0
    if sigma_l_db is None:
        sigma = location_sigma_db(f_ghz, hrg, r[-1], wa)
    else:
        sigma = _check_scalar("sigma_l_db", sigma_l_db, 0.0, 100.0, "dB")

    coords = {
        "tx_lat_deg": tx_lat_deg,
        "tx_lon_deg": tx_lon_deg,
        "rx_lat_deg": rx_lat_deg,
        "rx_lon_deg": rx_lon_deg,
    }
    given = [k for k, v in coords.items() if v is not None]
    if given and len(given) != 4:
        missing = sorted(set(coords) - set(given))
        raise CovkitInputError(
            f"give all four terminal coordinates or none; missing {', '.join(missing)}",
            column=missing[0],
        )
    if given:
        lat_t = _check_scalar("tx_lat_deg", tx_lat_deg, -90.0, 90.0, "deg")
        lon_t = _check_scalar("tx_lon_deg", tx_lon_deg, -360.0, 360.0, "deg")
        lat_r = _check_scalar("rx_lat_deg", rx_lat_deg, -90.0, 90.0, "deg")
        lon_r = _check_scalar("rx_lon_deg", rx_lon_deg, -360.0, 360.0, "deg")
        phi = path_centre_latitude_deg(lat_t, lon_t, lat_r, lon_r, 0.5 * d[-1])
    else:
        phi = DEFAULT_PATH_CENTRE_LAT_DEG

    terms = np.empty(N_TERMS)
    p1812_profile_terms(d, h, r, z, htg, hrg, effective_earth_radius_km(dn_v), terms)
    out = np.empty(N_OUT)
    p1812_loss_from_terms(terms, f_ghz, p, pl, sigma, pol, n0_v, phi, dct, dcr, out)

    result = {"loss_db": float(out[O_LB]), "field_strength_dbuv_m": float(out[O_EP])}
    for i, name in enumerate(OUT_NAMES):
        result[name] = float(out[i])
    for i, name in enumerate(TERM_NAMES):
        result[name] = float(terms[i])
    result["phi"] = float(phi)
    result["sigma_l_db"] = float(sigma)
    return result
