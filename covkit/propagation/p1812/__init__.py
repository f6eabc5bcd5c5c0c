"""ITU-R P.1812-8 path-specific propagation model (30 MHz - 6 GHz), Numba kernels + Python API.

Modules: :mod:`.tables` (index layout of the kernels' arrays), :mod:`.profile` (stage 1),
:mod:`.loss` (stage 2), :mod:`.point_to_point` (the Python API); this package re-exports
their public names, so ``from covkit.propagation import p1812 as P; P.T_D`` works.

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

from covkit.propagation.p1812.loss import (
    INV_LN10,
    LN10,
    LOG10_2,
    anomalous_ap_lower_bound_db,
    anomalous_loss_db,
    beta0_latitude_terms,
    beta0_pct,
    bullington_loss_db,
    delta_bullington_db,
    delta_bullington_from_profile,
    diffraction_loss_p_db,
    inv_cum_norm,
    knife_edge_loss_db,
    p1812_constants,
    p1812_loss_batch_db,
    p1812_loss_from_constants,
    p1812_loss_from_terms,
    spherical_earth_loss_db,
    troposcatter_loss_db,
)
from covkit.propagation.p1812.point_to_point import (
    location_sigma_db,
    p1812_point_to_point,
    path_centre_latitude_deg,
)
from covkit.propagation.p1812.profile import (
    bullington_profile_terms,
    diffraction_surface_heights_m,
    ducting_surface_m,
    effective_earth_radius_km,
    horizon_angles_mrad,
    horizon_points,
    p1812_profile_terms,
    run_lengths_km,
    store_profile_terms,
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
    N_TERMS,
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
    OUT_NAMES,
    POL_HORIZONTAL,
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
    T_HSR,
    T_HSR_N,
    T_HSRD,
    T_HST,
    T_HST_N,
    T_HSTD,
    T_HTE,
    T_HTS,
    T_NU_A50,
    T_NU_AB,
    T_NU_S50,
    T_NU_SB,
    T_OMEGA,
    T_PATHTYPE,
    T_SRIM_A50,
    T_SRIM_AB,
    T_SRIM_S50,
    T_SRIM_SB,
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
    TERM_NAMES,
    ZONE_COASTAL_LAND,
    ZONE_INLAND,
    ZONE_SEA,
)

__all__ = [
    "ZONE_COASTAL_LAND",
    "ZONE_INLAND",
    "ZONE_SEA",
    "T_D",
    "T_HTS",
    "T_HRS",
    "T_AE",
    "T_DLT",
    "T_DLR",
    "T_THETA_T",
    "T_THETA_R",
    "T_THETA",
    "T_PATHTYPE",
    "T_HST_N",
    "T_HSR_N",
    "T_HST",
    "T_HSR",
    "T_HSTD",
    "T_HSRD",
    "T_HTE",
    "T_HRE",
    "T_HM",
    "T_DTM",
    "T_DLM",
    "T_OMEGA",
    "T_ZONE_TX",
    "T_ZONE_RX",
    "T_STR_A",
    "T_STR_S",
    "T_STIM_A50",
    "T_SRIM_A50",
    "T_NU_A50",
    "T_STIM_S50",
    "T_SRIM_S50",
    "T_NU_S50",
    "T_STIM_AB",
    "T_SRIM_AB",
    "T_NU_AB",
    "T_STIM_SB",
    "T_SRIM_SB",
    "T_NU_SB",
    "N_TERMS",
    "TERM_NAMES",
    "O_LBFS",
    "O_LB0P",
    "O_LB0B",
    "O_LBULLA_50",
    "O_LBULLS_50",
    "O_LDSPH_50",
    "O_LD50",
    "O_LBULLA_B",
    "O_LBULLS_B",
    "O_LDSPH_B",
    "O_LDB",
    "O_LDP",
    "O_LBD50",
    "O_LBD",
    "O_LMINB0P",
    "O_LBA",
    "O_LMINBAP",
    "O_LBDA",
    "O_LBAM",
    "O_LBS",
    "O_LBC",
    "O_LLOC",
    "O_LB",
    "O_EP",
    "O_FI",
    "O_FJ",
    "O_FK",
    "O_B0",
    "N_OUT",
    "OUT_NAMES",
    "POL_HORIZONTAL",
    "POL_VERTICAL",
    "C_F_GHZ",
    "C_P_PCT",
    "C_LAMBDA",
    "C_SQRT_LAMBDA",
    "C_LOG10_F",
    "C_F13",
    "C_LOG10_P50",
    "C_I_P",
    "C_LLOC",
    "C_LBS0",
    "C_ALF",
    "C_B0_MAX",
    "C_MU1_EXP",
    "C_K_LAND",
    "C_K_SEA",
    "C_LOG10_P_B0MAX",
    "N_CONSTS",
    "effective_earth_radius_km",
    "bullington_profile_terms",
    "run_lengths_km",
    "diffraction_surface_heights_m",
    "horizon_angles_mrad",
    "horizon_points",
    "ducting_surface_m",
    "store_profile_terms",
    "p1812_profile_terms",
    "LN10",
    "INV_LN10",
    "LOG10_2",
    "inv_cum_norm",
    "beta0_latitude_terms",
    "beta0_pct",
    "knife_edge_loss_db",
    "p1812_constants",
    "bullington_loss_db",
    "spherical_earth_loss_db",
    "delta_bullington_db",
    "delta_bullington_from_profile",
    "diffraction_loss_p_db",
    "troposcatter_loss_db",
    "anomalous_loss_db",
    "anomalous_ap_lower_bound_db",
    "p1812_loss_from_terms",
    "p1812_loss_batch_db",
    "p1812_loss_from_constants",
    "location_sigma_db",
    "path_centre_latitude_deg",
    "p1812_point_to_point",
]
