"""Stage 2 of ITU-R P.1812-8: every propagation term from the terrain terms (section 4).

Free space and the p % line-of-sight terms (4.2), Bullington / delta-Bullington with
spherical-Earth diffraction (4.3), troposcatter (4.4), ducting / layer reflection (4.5), the
combination (4.6), location variability (4.7) and the field strength (4.10).
:func:`p1812_constants` computes what depends only on the frequency, the percentages, the
polarisation, N0 and the latitude (indices ``C_*``); :func:`p1812_loss_from_constants` the rest,
per path, into the output array (indices ``O_*``). :func:`p1812_loss_from_terms` is both.
"""

from __future__ import annotations

import math

import numpy as np

from covkit._jit import njit, njit_noalloc
from covkit.propagation.constants import (
    DEFAULT_PATH_CENTRE_LAT_DEG,
    EARTH_RADIUS_KM,
    K_BETA,
    LAND_CONDUCTIVITY_S_PER_M,
    LAND_REL_PERMITTIVITY,
    SEA_CONDUCTIVITY_S_PER_M,
    SEA_REL_PERMITTIVITY,
    SPEED_OF_LIGHT_M_GHZ,
    ZONE_SEA,
)
from covkit.propagation.p1812.profile import (
    bullington_profile_terms,
)
from covkit.propagation.p1812.tables import (
    C_ALF,
    C_B0_MAX,
    C_F13,
    C_F_GHZ,
    C_I_P,
    C_K_LAND,
    C_K_SEA,
    C_LAMBDA,
    C_LBS0,
    C_LLOC,
    C_LOG10_F,
    C_LOG10_P50,
    C_LOG10_P_B0MAX,
    C_MU1_EXP,
    C_P_PCT,
    C_SQRT_LAMBDA,
    N_CONSTS,
    N_OUT,
    O_B0,
    O_EP,
    O_FI,
    O_FJ,
    O_FK,
    O_LB,
    O_LB0B,
    O_LB0P,
    O_LBA,
    O_LBAM,
    O_LBC,
    O_LBD,
    O_LBD50,
    O_LBDA,
    O_LBFS,
    O_LBS,
    O_LBULLA_50,
    O_LBULLA_B,
    O_LBULLS_50,
    O_LBULLS_B,
    O_LD50,
    O_LDB,
    O_LDP,
    O_LDSPH_50,
    O_LDSPH_B,
    O_LLOC,
    O_LMINB0P,
    O_LMINBAP,
    POL_VERTICAL,
    T_AE,
    T_D,
    T_DLM,
    T_DLR,
    T_DLT,
    T_DTM,
    T_HM,
    T_HRE,
    T_HRS,
    T_HSRD,
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

LN10 = math.log(10.0)
INV_LN10 = 1.0 / LN10
LOG10_2 = math.log10(2.0)


@njit_noalloc
def _log10(x):
    """log10(x) as ln(x) / ln(10): Numba calls libm's log10 through a helper, and ln is an LLVM
    intrinsic about 1.5x faster; the two differ by at most a few ulp (tested: 4)."""
    return math.log(x) * INV_LN10


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
    s1, s2, s3 = bullington_profile_terms(d_km, g_m, zeros, True, hts_m, hrs_m, ce)
    lbulla = bullington_loss_db(s1, s2, (hrs_m - hts_m) / d, s3, hts_m, hrs_m, d, consts)
    s1, s2, s3 = bullington_profile_terms(d_km, g_m, zeros, False, hts_s, hrs_s, ce)
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
