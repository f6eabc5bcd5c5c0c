"""3GPP TR 38.901 (V17.0.0 / V18) path-loss models: RMa, UMa, UMi-Street Canyon.

Sources: TR 38.901 Table 7.4.1-1 (path loss, shadow-fading standard deviation, applicability),
Table 7.4.2-1 (LOS probability). Frequencies are given in MHz at the API and converted to
``fc`` in GHz for the formulas; ``c = 3.0e8 m/s`` as in the table notes.

Distances: ``distance_m`` is the horizontal (2D) distance d2D between base station and user
terminal; ``d3D = sqrt(d2D^2 + (hBS - hUT)^2)``.

LOS modes (:data:`LOS_MODE_CODES`):

- ``"los"`` (0): the LOS formula;
- ``"nlos"`` (1): the NLOS formula, ``PL_NLOS = max(PL_LOS, PL'_NLOS)`` as the table says;
- ``"probabilistic"`` (2, default): the expected received power over the LOS state,
  ``PL = -10 log10(P_LOS 10^(-PL_LOS/10) + (1 - P_LOS) 10^(-PL_NLOS/10))`` with ``P_LOS`` from
  Table 7.4.2-1 (combination in linear power, not in dB).

Breakpoints: RMa ``d_BP = 2 pi hBS hUT fc / c`` (note 5). UMa/UMi
``d'_BP = 4 h'BS h'UT fc / c`` with ``h' = h - hE`` (note 1). UMi uses ``hE = 1 m``. For UMa
the table draws hE at random: ``hE = 1 m`` with probability ``1/(1 + C(d2D, hUT))``, otherwise
uniform on ``{12, 15, ..., hUT - 1.5}``. covkit's UMa LOS loss is the **mean over that
distribution in linear power** (expected received power, as for the LOS state;
:func:`uma_los_loss_db` says why), not the loss at the expected height E[hE] (727 m, 500 MHz,
hUT 22.5 m: 87.6 dB; 84.9 dB at E[hE]; the mean of the loss in dB would be 91.8 dB). For
hUT < 13 m, C = 0 and hE = 1 m exactly (the usual case).

Clutter: the TR 38.901 formulas are fitted to measurements in cluttered environments and
already include the clutter around the terminals: **do not add ITU-R P.2108 clutter loss on top
of them**.

The ``O2I`` penetration losses and the optional simplified NLOS formulas are not implemented.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from covkit._jit import njit
from covkit.errors import CovkitInputError
from covkit.propagation.arrays import check_range, finish, prepare
from covkit.propagation.constants import SPEED_OF_LIGHT_TR38901_M_S

SCENARIO_RMA = 0
SCENARIO_UMA = 1
SCENARIO_UMI = 2

SCENARIO_CODES: dict[str, int] = {"rma": SCENARIO_RMA, "uma": SCENARIO_UMA, "umi": SCENARIO_UMI}
"""Scenario name -> int code (UMi = UMi-Street Canyon)."""

LOS_MODE_LOS = 0
LOS_MODE_NLOS = 1
LOS_MODE_PROBABILISTIC = 2

LOS_MODE_CODES: dict[str, int] = {
    "los": LOS_MODE_LOS,
    "nlos": LOS_MODE_NLOS,
    "probabilistic": LOS_MODE_PROBABILISTIC,
}
"""LOS-mode name -> int code."""

RMA_DEFAULT_STREET_WIDTH_M = 20.0
"""RMa default average street width W [m] (Table 7.4.1-1; applicability 5-50 m)."""
RMA_DEFAULT_BUILDING_HEIGHT_M = 5.0
"""RMa default average building height h [m] (Table 7.4.1-1; applicability 5-50 m)."""

TR38901_VALIDITY: dict[int, dict[str, tuple[float, float]]] = {
    SCENARIO_RMA: {
        "distance_m": (10.0, 10_000.0),  # LOS; NLOS and probabilistic: up to 5 km
        "freq_mhz": (500.0, 30_000.0),
        "tx_height_agl_m": (10.0, 150.0),
        "rx_height_agl_m": (1.0, 10.0),
        "street_width_m": (5.0, 50.0),
        "building_height_m": (5.0, 50.0),
    },
    SCENARIO_UMA: {
        "distance_m": (10.0, 5_000.0),
        "freq_mhz": (500.0, 100_000.0),
        "tx_height_agl_m": (25.0, 25.0),
        "rx_height_agl_m": (1.5, 22.5),
    },
    SCENARIO_UMI: {
        "distance_m": (10.0, 5_000.0),
        "freq_mhz": (500.0, 100_000.0),
        "tx_height_agl_m": (10.0, 10.0),
        "rx_height_agl_m": (1.5, 22.5),
    },
}
"""Applicability ranges of Table 7.4.1-1 per scenario code (inclusive). UMa and UMi are
specified for one base-station height only (25 m and 10 m)."""

RMA_NLOS_MAX_DISTANCE_M = 5_000.0
"""RMa NLOS applicability limit on d2D [m] (LOS goes to 10 km)."""


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------
@njit
def rma_breakpoint_m(freq_mhz, tx_height_agl_m, rx_height_agl_m):
    """RMa breakpoint distance ``d_BP = 2 pi hBS hUT fc / c`` [m] (Table 7.4.1-1 note 5)."""
    return (2.0 * math.pi * tx_height_agl_m * rx_height_agl_m * freq_mhz * 1.0e6
            / SPEED_OF_LIGHT_TR38901_M_S)


@njit
def uma_env_height_c(distance_m, rx_height_agl_m):
    """``C(d2D, hUT)`` of TR 38.901 Table 7.4.1-1 note 1 (UMa) [-].

    ``C = ((hUT - 13)/10)^1.5 g(d2D)`` for 13 <= hUT <= 23 m (0 below; hUT above 23 m is
    clamped to 23 m, extrapolation), ``g(d2D) = 1.25 (d2D/100)^3 exp(-d2D/150)`` for
    d2D > 18 m (0 below). hE = 1 m with probability ``1/(1 + C)``.
    """
    if rx_height_agl_m < 13.0 or distance_m <= 18.0:
        return 0.0
    h_clamped = min(rx_height_agl_m, 23.0)
    g = 1.25 * (distance_m / 100.0) ** 3 * math.exp(-distance_m / 150.0)
    return ((h_clamped - 13.0) / 10.0) ** 1.5 * g


@njit
def uma_effective_env_height_m(distance_m, rx_height_agl_m):
    """Expected effective environment height E[hE] for UMa [m] (Table 7.4.1-1 note 1).

    For information only: the loss is not evaluated at E[hE] but averaged over the hE
    distribution (:func:`uma_los_loss_db`).

    ``C(d2D, hUT) = ((hUT - 13)/10)^1.5 g(d2D)`` for 13 <= hUT <= 23 m (0 below),
    ``g(d2D) = 1.25 (d2D/100)^3 exp(-d2D/150)`` for d2D > 18 m (0 below);
    ``E[hE] = (1 + C m) / (1 + C)`` with m the mean of {12, 15, ..., hUT - 1.5}. hUT above
    23 m is clamped to 23 m in C (extrapolation).
    """
    if rx_height_agl_m < 13.0 or distance_m <= 18.0:
        return 1.0
    top = rx_height_agl_m - 1.5
    if top < 12.0:
        return 1.0
    c = uma_env_height_c(distance_m, rx_height_agl_m)
    last = 12.0 + 3.0 * math.floor((top - 12.0) / 3.0)
    mean_set = 0.5 * (12.0 + last)
    return (1.0 + c * mean_set) / (1.0 + c)


@njit
def urban_breakpoint_m(freq_mhz, tx_height_agl_m, rx_height_agl_m, env_height_m):
    """UMa/UMi breakpoint ``d'_BP = 4 (hBS - hE)(hUT - hE) fc / c`` [m] (note 1)."""
    return (
        4.0 * (tx_height_agl_m - env_height_m) * (rx_height_agl_m - env_height_m) * freq_mhz * 1.0e6
        / SPEED_OF_LIGHT_TR38901_M_S
    )


@njit
def _rma_pl1_db(d3d_m, fc_ghz, building_height_m):
    h = building_height_m
    return (
        20.0 * math.log10(40.0 * math.pi * d3d_m * fc_ghz / 3.0)
        + min(0.03 * h**1.72, 10.0) * math.log10(d3d_m)
        - min(0.044 * h**1.72, 14.77)
        + 0.002 * math.log10(h) * d3d_m
    )


@njit
def _uma_los_at_env_height_db(distance_m, d3d_m, fc_ghz, freq_mhz, tx_height_agl_m,
                              rx_height_agl_m, env_height_m):
    """UMa LOS PL1 / PL2 for one environment height hE [dB] (Table 7.4.1-1)."""
    d_bp = urban_breakpoint_m(freq_mhz, tx_height_agl_m, rx_height_agl_m, env_height_m)
    if distance_m <= d_bp:
        return 28.0 + 22.0 * math.log10(d3d_m) + 20.0 * math.log10(fc_ghz)
    dh = tx_height_agl_m - rx_height_agl_m
    return (28.0 + 40.0 * math.log10(d3d_m) + 20.0 * math.log10(fc_ghz)
            - 9.0 * math.log10(d_bp * d_bp + dh * dh))


@njit
def uma_los_loss_db(distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m):
    """UMa LOS path loss averaged over the environment height hE [dB] (Table 7.4.1-1).

    hE = 1 m with probability ``1/(1 + C)``, otherwise uniform on {12, 15, ..., hUT - 1.5}
    (note 1; C from :func:`uma_env_height_c`); PL(hE) is PL1 for d2D <= d'BP and PL2 beyond,
    with ``d'BP = 4 (hBS - hE)(hUT - hE) fc / c``. The result is the **mean of linear power**
    over that distribution::

        PL = -10 log10( (10^(-PL(1)/10) + C mean_k 10^(-PL(12 + 3k)/10)) / (1 + C) )

    Why linear power, not the mean of the loss in dB: (1) it is the expected received power,
    the same convention as the ``probabilistic`` LOS mode, which combines the LOS and NLOS
    states in linear power, so both random elements of the TR's model are treated alike;
    (2) RSRP is a mean power; (3) the dB mean is not monotone in distance: C falls beyond
    d2D = 450 m, and at 500 MHz, hUT = 22.5 m the dB mean drops by 0.8 dB between 1.1 and
    1.6 km, while the linear mean keeps the loss non-decreasing with distance. At 727 m,
    500 MHz, hUT 22.5 m: 87.6 dB (dB mean 91.8 dB; the loss at E[hE], used before, 84.9 dB).

    For hUT < 13 m (or d2D <= 18 m, or hUT - 1.5 < 12 m) this is exactly PL(hE = 1 m).
    """
    fc_ghz = freq_mhz / 1000.0
    dh = tx_height_agl_m - rx_height_agl_m
    d3d = math.sqrt(distance_m * distance_m + dh * dh)
    pl_1 = _uma_los_at_env_height_db(distance_m, d3d, fc_ghz, freq_mhz, tx_height_agl_m,
                                     rx_height_agl_m, 1.0)
    c = uma_env_height_c(distance_m, rx_height_agl_m)
    top = rx_height_agl_m - 1.5
    if c <= 0.0 or top < 12.0:
        return pl_1
    n = int(math.floor((top - 12.0) / 3.0)) + 1
    total = 0.0  # sum of 10^(-(PL(hE) - PL(1))/10): relative to PL(1), always representable
    for k in range(n):
        pl_k = _uma_los_at_env_height_db(distance_m, d3d, fc_ghz, freq_mhz, tx_height_agl_m,
                                         rx_height_agl_m, 12.0 + 3.0 * k)
        total += 10.0 ** (-(pl_k - pl_1) / 10.0)
    return pl_1 - 10.0 * math.log10((1.0 + c * total / n) / (1.0 + c))


@njit
def tr38901_los_loss_db(scenario, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m,
                        street_width_m, building_height_m):
    """LOS path loss of TR 38.901 Table 7.4.1-1 [dB].

    RMa: ``PL1 = 20log10(40 pi d3D fc/3) + min(0.03 h^1.72, 10) log10(d3D)
    - min(0.044 h^1.72, 14.77) + 0.002 log10(h) d3D`` for d2D <= d_BP,
    ``PL2 = PL1(d_BP) + 40 log10(d3D/d_BP)`` beyond (PL1 evaluated with d3D = d_BP as printed).
    UMa: ``PL1 = 28 + 22 log10(d3D) + 20 log10(fc)``,
    ``PL2 = 28 + 40 log10(d3D) + 20 log10(fc) - 9 log10(d'BP^2 + (hBS - hUT)^2)``, averaged in
    linear power over the environment height hE (:func:`uma_los_loss_db`).
    UMi-SC: ``PL1 = 32.4 + 21 log10(d3D) + 20 log10(fc)``,
    ``PL2 = 32.4 + 40 log10(d3D) + 20 log10(fc) - 9.5 log10(d'BP^2 + (hBS - hUT)^2)``.

    Parameters
    ----------
    scenario : int
        0 RMa, 1 UMa, 2 UMi-Street Canyon.
    distance_m : float
        Horizontal distance d2D [m] (> 0; valid >= 10 m, see :data:`TR38901_VALIDITY`).
    freq_mhz : float
        Carrier frequency [MHz] (fc = freq_mhz / 1000 GHz).
    tx_height_agl_m, rx_height_agl_m : float
        hBS and hUT above ground [m].
    street_width_m, building_height_m : float
        RMa W and h [m] (unused for UMa/UMi; only h enters the LOS formula).

    Returns
    -------
    float
        Path loss [dB] (without shadow fading).
    """
    fc_ghz = freq_mhz / 1000.0
    dh = tx_height_agl_m - rx_height_agl_m
    d3d = math.sqrt(distance_m * distance_m + dh * dh)
    if scenario == SCENARIO_RMA:
        d_bp = rma_breakpoint_m(freq_mhz, tx_height_agl_m, rx_height_agl_m)
        if distance_m <= d_bp:
            return _rma_pl1_db(d3d, fc_ghz, building_height_m)
        return _rma_pl1_db(d_bp, fc_ghz, building_height_m) + 40.0 * math.log10(d3d / d_bp)
    if scenario == SCENARIO_UMA:
        return uma_los_loss_db(distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m)
    # UMi-Street Canyon
    d_bp = urban_breakpoint_m(freq_mhz, tx_height_agl_m, rx_height_agl_m, 1.0)
    if distance_m <= d_bp:
        return 32.4 + 21.0 * math.log10(d3d) + 20.0 * math.log10(fc_ghz)
    return (32.4 + 40.0 * math.log10(d3d) + 20.0 * math.log10(fc_ghz)
            - 9.5 * math.log10(d_bp * d_bp + dh * dh))


@njit
def tr38901_nlos_loss_db(scenario, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m,
                         street_width_m, building_height_m):
    """NLOS path loss ``max(PL_LOS, PL'_NLOS)`` of TR 38.901 Table 7.4.1-1 [dB].

    RMa: ``PL' = 161.04 - 7.1 log10(W) + 7.5 log10(h) - (24.37 - 3.7 (h/hBS)^2) log10(hBS)
    + (43.42 - 3.1 log10(hBS)) (log10(d3D) - 3) + 20 log10(fc) - (3.2 (log10(11.75 hUT))^2
    - 4.97)``. UMa: ``PL' = 13.54 + 39.08 log10(d3D) + 20 log10(fc) - 0.6 (hUT - 1.5)``.
    UMi-SC: ``PL' = 35.3 log10(d3D) + 22.4 + 21.3 log10(fc) - 0.3 (hUT - 1.5)``.
    Parameters as in :func:`tr38901_los_loss_db`.
    """
    fc_ghz = freq_mhz / 1000.0
    dh = tx_height_agl_m - rx_height_agl_m
    d3d = math.sqrt(distance_m * distance_m + dh * dh)
    if scenario == SCENARIO_RMA:
        w = street_width_m
        h = building_height_m
        hbs = tx_height_agl_m
        pl_n = (161.04 - 7.1 * math.log10(w) + 7.5 * math.log10(h)
                - (24.37 - 3.7 * (h / hbs) ** 2) * math.log10(hbs)
                + (43.42 - 3.1 * math.log10(hbs)) * (math.log10(d3d) - 3.0)
                + 20.0 * math.log10(fc_ghz)
                - (3.2 * math.log10(11.75 * rx_height_agl_m) ** 2 - 4.97))
    elif scenario == SCENARIO_UMA:
        pl_n = 13.54 + 39.08 * math.log10(d3d) + 20.0 * math.log10(fc_ghz) - 0.6 * (
            rx_height_agl_m - 1.5)
    else:
        pl_n = 35.3 * math.log10(d3d) + 22.4 + 21.3 * math.log10(fc_ghz) - 0.3 * (
            rx_height_agl_m - 1.5)
    pl_los = tr38901_los_loss_db(scenario, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m,
                                 street_width_m, building_height_m)
    return max(pl_los, pl_n)


@njit
def tr38901_los_probability(scenario, distance_m, rx_height_agl_m):
    """LOS probability of TR 38.901 Table 7.4.2-1 (outdoor users) [0-1].

    RMa: 1 for d2D <= 10 m, ``exp(-(d2D - 10)/1000)`` beyond.
    UMi-SC: 1 for d2D <= 18 m, ``18/d2D + exp(-d2D/36)(1 - 18/d2D)`` beyond.
    UMa: 1 for d2D <= 18 m, ``[18/d2D + exp(-d2D/63)(1 - 18/d2D)]
    (1 + C'(hUT) 5/4 (d2D/100)^3 exp(-d2D/150))`` beyond, ``C'(hUT) = 0`` for hUT <= 13 m and
    ``((hUT - 13)/10)^1.5`` for 13 < hUT <= 23 m (hUT clamped to 23 m when extrapolating).
    The result is clipped to at most 1.
    """
    d = distance_m
    if scenario == SCENARIO_RMA:
        if d <= 10.0:
            return 1.0
        return math.exp(-(d - 10.0) / 1000.0)
    if d <= 18.0:
        return 1.0
    if scenario == SCENARIO_UMI:
        return 18.0 / d + math.exp(-d / 36.0) * (1.0 - 18.0 / d)
    c_prime = 0.0
    if rx_height_agl_m > 13.0:
        c_prime = ((min(rx_height_agl_m, 23.0) - 13.0) / 10.0) ** 1.5
    p = (18.0 / d + math.exp(-d / 63.0) * (1.0 - 18.0 / d)) * (
        1.0 + c_prime * 1.25 * (d / 100.0) ** 3 * math.exp(-d / 150.0))
    return min(p, 1.0)


@njit
def tr38901_loss_db(scenario, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, los_mode,
                    street_width_m, building_height_m):
    """TR 38.901 path loss for a LOS mode [dB] (the kernel the engine calls).

    Parameters
    ----------
    scenario : int
        0 RMa, 1 UMa, 2 UMi-Street Canyon.
    distance_m : float
        Horizontal distance d2D [m].
    freq_mhz : float
        Carrier frequency [MHz].
    tx_height_agl_m, rx_height_agl_m : float
        hBS, hUT above ground [m].
    los_mode : int
        0 LOS, 1 NLOS, 2 probabilistic: ``-10 log10(P 10^(-PL_LOS/10) + (1-P)
        10^(-PL_NLOS/10))`` with P from :func:`tr38901_los_probability`.
    street_width_m, building_height_m : float
        RMa W and h [m] (defaults 20 m and 5 m).

    Returns
    -------
    float
        Path loss [dB]. Do not add ITU-R P.2108 clutter loss to it.
    """
    if los_mode == LOS_MODE_LOS:
        return tr38901_los_loss_db(scenario, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m,
                                   street_width_m, building_height_m)
    pl_nlos = tr38901_nlos_loss_db(scenario, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m,
                                   street_width_m, building_height_m)
    if los_mode == LOS_MODE_NLOS:
        return pl_nlos
    pl_los = tr38901_los_loss_db(scenario, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m,
                                 street_width_m, building_height_m)
    p = tr38901_los_probability(scenario, distance_m, rx_height_agl_m)
    # Factor out the LOS term so that the sum stays representable for large losses.
    lin = p + (1.0 - p) * 10.0 ** (-(pl_nlos - pl_los) / 10.0)
    return pl_los - 10.0 * math.log10(lin)


@njit
def tr38901_shadow_fading_db(scenario, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m,
                             los_mode):
    """Shadow-fading standard deviation sigma_SF of Table 7.4.1-1 [dB].

    RMa: LOS 4 dB (d2D <= d_BP) / 6 dB (beyond), NLOS 8 dB. UMa: LOS 4, NLOS 6 dB.
    UMi-SC: LOS 4, NLOS 7.82 dB. Probabilistic mode: the P_LOS-weighted root mean square
    ``sqrt(P sigma_LOS^2 + (1 - P) sigma_NLOS^2)`` (an approximation: the LOS/NLOS mixture is
    not log-normal).
    """
    if scenario == SCENARIO_RMA:
        d_bp = rma_breakpoint_m(freq_mhz, tx_height_agl_m, rx_height_agl_m)
        s_los = 4.0 if distance_m <= d_bp else 6.0
        s_nlos = 8.0
    elif scenario == SCENARIO_UMA:
        s_los = 4.0
        s_nlos = 6.0
    else:
        s_los = 4.0
        s_nlos = 7.82
    if los_mode == LOS_MODE_LOS:
        return s_los
    if los_mode == LOS_MODE_NLOS:
        return s_nlos
    p = tr38901_los_probability(scenario, distance_m, rx_height_agl_m)
    return math.sqrt(p * s_los * s_los + (1.0 - p) * s_nlos * s_nlos)


@njit
def tr38901_array(scenario, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, los_mode,
                  street_width_m, building_height_m, loss_out, sigma_out, plos_out):
    """Element-wise loss [dB], shadow-fading sigma [dB] and P_LOS over 1-D arrays."""
    for i in range(loss_out.size):
        loss_out[i] = tr38901_loss_db(scenario, distance_m[i], freq_mhz[i], tx_height_agl_m[i],
                                      rx_height_agl_m[i], los_mode, street_width_m[i],
                                      building_height_m[i])
        sigma_out[i] = tr38901_shadow_fading_db(scenario, distance_m[i], freq_mhz[i],
                                                tx_height_agl_m[i], rx_height_agl_m[i], los_mode)
        plos_out[i] = tr38901_los_probability(scenario, distance_m[i], rx_height_agl_m[i])


# --------------------------------------------------------------------------------------------
# Python layer
# --------------------------------------------------------------------------------------------
class TR38901Result(NamedTuple):
    """Result of :func:`tr38901_path_loss` (floats for scalar input, else arrays)."""

    loss_db: object
    """Path loss [dB] for the requested LOS mode."""
    shadow_fading_sigma_db: object
    """Shadow-fading standard deviation [dB]."""
    los_probability: object
    """P_LOS of Table 7.4.2-1 [0-1] (reported for every mode)."""


def _code(kind: str, mapping: dict[str, int], value: str) -> int:
    key = str(value).strip().lower()
    if key not in mapping:
        raise CovkitInputError(
            f"unknown {kind} {value!r}; valid choices: {', '.join(mapping)}", column=kind
        )
    return mapping[key]


def scenario_code(scenario: str) -> int:
    """Map ``"rma"``, ``"uma"``, ``"umi"`` to the scenario int code (error lists choices)."""
    return _code("scenario", SCENARIO_CODES, scenario)


def los_mode_code(los_mode: str) -> int:
    """Map ``"los"``, ``"nlos"``, ``"probabilistic"`` to its int code (error lists choices)."""
    return _code("los_mode", LOS_MODE_CODES, los_mode)


def validate_tr38901(scenario: int, los_mode: int, arrays: dict[str, np.ndarray],
                     extrapolate: bool) -> None:
    """Check the Table 7.4.1-1 applicability ranges; raise naming the parameter.

    ``arrays`` maps parameter names (keys of :data:`TR38901_VALIDITY`) to float arrays.
    RMa with NLOS or probabilistic mode is limited to d2D <= 5 km.
    """
    name = {SCENARIO_RMA: "38901-rma", SCENARIO_UMA: "38901-uma", SCENARIO_UMI: "38901-umi"}[
        scenario]
    ranges = dict(TR38901_VALIDITY[scenario])
    if scenario == SCENARIO_RMA and los_mode != LOS_MODE_LOS:
        ranges["distance_m"] = (ranges["distance_m"][0], RMA_NLOS_MAX_DISTANCE_M)
    for key, arr in arrays.items():
        if key in ranges:
            lo, hi = ranges[key]
            check_range(name, key, arr, lo, hi, extrapolate)


def tr38901_path_loss(scenario, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, *,
                      los_mode="probabilistic",
                      street_width_m=RMA_DEFAULT_STREET_WIDTH_M,
                      building_height_m=RMA_DEFAULT_BUILDING_HEIGHT_M,
                      extrapolate=False) -> TR38901Result:
    """TR 38.901 Table 7.4.1-1 path loss with its shadow-fading sigma and LOS probability.

    Parameters
    ----------
    scenario : {"rma", "uma", "umi"}
        Rural macro, urban macro, urban micro street canyon.
    distance_m : float or array_like
        Horizontal distance d2D [m]; valid 10 m-10 km (RMa LOS), 10 m-5 km otherwise.
    freq_mhz : float or array_like
        Carrier frequency [MHz]; valid 500-100000 MHz (RMa 500-30000 MHz).
    tx_height_agl_m : float or array_like
        hBS above ground [m]; RMa 10-150 m, UMa 25 m, UMi 10 m.
    rx_height_agl_m : float or array_like
        hUT above ground [m]; RMa 1-10 m, UMa/UMi 1.5-22.5 m.
    los_mode : {"los", "nlos", "probabilistic"}
        ``probabilistic`` (default) returns the expected received power over the LOS state,
        combined in linear power: ``-10 log10(P 10^(-PL_LOS/10) + (1-P) 10^(-PL_NLOS/10))``.
    street_width_m, building_height_m : float or array_like
        RMa W and h [m], defaults 20 m and 5 m, valid 5-50 m (ignored for UMa/UMi).
    extrapolate : bool
        If True, evaluate outside the applicability ranges instead of raising (inputs must
        still be finite and > 0).

    Returns
    -------
    TR38901Result
        ``loss_db``, ``shadow_fading_sigma_db``, ``los_probability``. ITU-R P.2108 clutter
        loss must not be added to ``loss_db``: the models already include clutter.

    Raises
    ------
    CovkitInputError
        Unknown scenario or LOS mode, non-positive input, or (unless ``extrapolate``) a value
        outside the applicability range, naming the parameter.
    """
    sc = scenario_code(scenario)
    lm = los_mode_code(los_mode)
    names = ("distance_m", "freq_mhz", "tx_height_agl_m", "rx_height_agl_m", "street_width_m",
             "building_height_m")
    shape, flat = prepare(names, (distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m,
                                   street_width_m, building_height_m))
    arrays = dict(zip(names, flat, strict=True))
    if sc != SCENARIO_RMA:
        arrays.pop("street_width_m")
        arrays.pop("building_height_m")
    validate_tr38901(sc, lm, arrays, extrapolate)
    n = flat[0].size
    loss, sigma, plos = np.empty(n), np.empty(n), np.empty(n)
    d, f, hbs, hut, w, h = flat
    tr38901_array(sc, d, f, hbs, hut, lm, w, h, loss, sigma, plos)
    return TR38901Result(finish(shape, loss), finish(shape, sigma), finish(shape, plos))
