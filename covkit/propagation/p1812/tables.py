"""Index layout of the P.1812 kernels' arrays: terrain terms ``T_*`` (stage 1), outputs ``O_*``
(stage 2) and per-site constants ``C_*``, with their names (:data:`TERM_NAMES`,
:data:`OUT_NAMES`) and the integer codes of polarisation (``POL_*``) and radio-climatic zone
(``ZONE_*``, defined in :mod:`covkit.propagation.constants`).

Every index constant carries its meaning, unit and equation of ITU-R P.1812-8 in the comment
beside it.
"""

from __future__ import annotations

from covkit.propagation.constants import ZONE_COASTAL_LAND, ZONE_INLAND, ZONE_SEA  # noqa: F401

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

