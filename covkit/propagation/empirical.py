"""Distance-only empirical path-loss models: free space (P.525), Okumura-Hata, COST-231 Hata.

Each model has exactly one scalar ``@njit`` kernel holding its formula
(:func:`fspl_loss_db`, :func:`hata_loss_db`, :func:`cost231_loss_db`). The array loops and the
validated Python functions (:func:`fspl`, :func:`hata`, :func:`cost231`) only call that kernel.
Kernels never validate; the Python layer raises :class:`~covkit.errors.CovkitInputError` for
out-of-range input unless ``extrapolate=True``.

Environment codes (shared by Hata and COST-231, see :data:`ENVIRONMENT_CODES`):

====  ==================  ===========================================  ==========================
code  names               Hata (1980)                                  COST-231 Hata
====  ==================  ===========================================  ==========================
0     ``urban``           urban, small/medium city a(hm), eq. (4)      medium city, Cm = 0 dB
1     ``large_city``,     urban, large city a(hm), eq. (5a)/(5b)       metropolitan centre,
      ``metropolitan``                                                 Cm = 3 dB
2     ``suburban``        suburban, eq. (8)                            suburban centre, Cm = 0 dB
3     ``open``, ``rural`` open area, eq. (9)                           not defined (rejected)
====  ==================  ===========================================  ==========================
"""

from __future__ import annotations

import math

import numpy as np

from covkit._jit import njit, njit_noalloc
from covkit.errors import CovkitInputError
from covkit.propagation.arrays import check_range, finish, prepare
from covkit.propagation.constants import SPEED_OF_LIGHT_M_S

ENV_URBAN = 0
ENV_LARGE_CITY = 1
ENV_SUBURBAN = 2
ENV_OPEN = 3

ENVIRONMENT_CODES: dict[str, int] = {
    "urban": ENV_URBAN,
    "large_city": ENV_LARGE_CITY,
    "metropolitan": ENV_LARGE_CITY,
    "suburban": ENV_SUBURBAN,
    "open": ENV_OPEN,
    "rural": ENV_OPEN,
}
"""Environment name -> int code for the Hata-family kernels."""

COST231_ENVIRONMENTS = ("urban", "large_city", "metropolitan", "suburban")
"""Environment names COST-231 Hata defines (no open-area correction exists)."""

HATA_VALIDITY: dict[str, tuple[float, float]] = {
    "distance_m": (1_000.0, 20_000.0),
    "freq_mhz": (150.0, 1_500.0),
    "tx_height_agl_m": (30.0, 200.0),
    "rx_height_agl_m": (1.0, 10.0),
}
"""Okumura-Hata validity ranges (Hata 1980), inclusive."""

COST231_VALIDITY: dict[str, tuple[float, float]] = {
    "distance_m": (1_000.0, 20_000.0),
    "freq_mhz": (1_500.0, 2_000.0),
    "tx_height_agl_m": (30.0, 200.0),
    "rx_height_agl_m": (1.0, 10.0),
}
"""COST-231 Hata validity ranges (COST 231 Final Report, section 4.4.1), inclusive."""


# --------------------------------------------------------------------------------------------
# Kernels (the single implementation of each formula)
# --------------------------------------------------------------------------------------------
@njit_noalloc
def fspl_loss_db(distance_m, freq_mhz):
    """Free-space basic transmission loss, ITU-R P.525-4 eq. (6).

    ``L_bf = 20 log10(4 pi d / lambda)``. P.525 prints the constant rounded as 32.4 dB for
    f in MHz and d in km; the exact value 20 log10(4 pi 1e9 / c) = 32.45 dB is used here.

    Parameters
    ----------
    distance_m : float
        Distance between the antennas [m], > 0.
    freq_mhz : float
        Frequency [MHz], > 0.

    Returns
    -------
    float
        Basic free-space loss [dB].
    """
    return 20.0 * math.log10(4.0 * math.pi * distance_m * freq_mhz * 1.0e6 / SPEED_OF_LIGHT_M_S)


@njit
def _hata_mobile_correction_db(freq_mhz, rx_height_agl_m, large_city):
    """Hata (1980) mobile-antenna height correction a(hm) [dB].

    Small/medium city: eq. (4) ``(1.1 log f - 0.7) hm - (1.56 log f - 0.8)``.
    Large city: eq. (5a) ``8.29 (log 1.54 hm)^2 - 1.1`` for f <= 200 MHz and eq. (5b)
    ``3.2 (log 11.75 hm)^2 - 4.97`` for f >= 400 MHz; Hata leaves 200-400 MHz open, the split
    is taken at 300 MHz.
    """
    log_f = math.log10(freq_mhz)
    if large_city:
        if freq_mhz < 300.0:
            return 8.29 * math.log10(1.54 * rx_height_agl_m) ** 2 - 1.1
        return 3.2 * math.log10(11.75 * rx_height_agl_m) ** 2 - 4.97
    return (1.1 * log_f - 0.7) * rx_height_agl_m - (1.56 * log_f - 0.8)


@njit
def hata_loss_db(distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, env_code):
    """Okumura-Hata median basic loss (Hata 1980, eqs. (3)-(9)).

    Urban: ``L = 69.55 + 26.16 log f - 13.82 log hb - a(hm) + (44.9 - 6.55 log hb) log d``
    (f in MHz, d in km); suburban: ``L_urban - 2 (log(f/28))^2 - 5.4``; open:
    ``L_urban - 4.78 (log f)^2 + 18.33 log f - 40.94``. Suburban and open use the small/medium
    city a(hm).

    Parameters
    ----------
    distance_m : float
        Ground distance [m]; valid 1-20 km.
    freq_mhz : float
        Frequency [MHz]; valid 150-1500 MHz.
    tx_height_agl_m : float
        Base-station antenna height above ground [m]; valid 30-200 m.
    rx_height_agl_m : float
        Mobile antenna height above ground [m]; valid 1-10 m.
    env_code : int
        0 urban (small/medium city), 1 urban large city, 2 suburban, 3 open.

    Returns
    -------
    float
        Median basic loss [dB].
    """
    log_f = math.log10(freq_mhz)
    log_hb = math.log10(tx_height_agl_m)
    log_d = math.log10(distance_m / 1000.0)
    a_hm = _hata_mobile_correction_db(freq_mhz, rx_height_agl_m, env_code == ENV_LARGE_CITY)
    urban = 69.55 + 26.16 * log_f - 13.82 * log_hb - a_hm + (44.9 - 6.55 * log_hb) * log_d
    if env_code == ENV_SUBURBAN:
        return urban - 2.0 * math.log10(freq_mhz / 28.0) ** 2 - 5.4
    if env_code == ENV_OPEN:
        return urban - 4.78 * log_f**2 + 18.33 * log_f - 40.94
    return urban


@njit
def cost231_loss_db(distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, env_code):
    """COST-231 Hata median basic loss (COST 231 Final Report, section 4.4.1).

    ``L = 46.3 + 33.9 log f - 13.82 log hb - a(hm) + (44.9 - 6.55 log hb) log d + Cm``
    (f in MHz, d in km), Cm = 3 dB for metropolitan centres (env code 1) and 0 dB otherwise
    (medium city and suburban centres). a(hm) is Hata's small/medium city correction for
    Cm = 0 and his large-city correction (f >= 400 MHz form) for metropolitan centres.

    Parameters
    ----------
    distance_m : float
        Ground distance [m]; valid 1-20 km.
    freq_mhz : float
        Frequency [MHz]; valid 1500-2000 MHz.
    tx_height_agl_m : float
        Base-station antenna height above ground [m]; valid 30-200 m.
    rx_height_agl_m : float
        Mobile antenna height above ground [m]; valid 1-10 m.
    env_code : int
        0 urban/medium city or 2 suburban (Cm = 0), 1 metropolitan (Cm = 3). Code 3 (open)
        is not defined by COST-231 and is rejected by :func:`cost231`; the kernel treats it
        as Cm = 0.

    Returns
    -------
    float
        Median basic loss [dB].
    """
    log_f = math.log10(freq_mhz)
    log_hb = math.log10(tx_height_agl_m)
    log_d = math.log10(distance_m / 1000.0)
    metropolitan = env_code == ENV_LARGE_CITY
    a_hm = _hata_mobile_correction_db(freq_mhz, rx_height_agl_m, metropolitan)
    c_m = 3.0 if metropolitan else 0.0
    return 46.3 + 33.9 * log_f - 13.82 * log_hb - a_hm + (44.9 - 6.55 * log_hb) * log_d + c_m


# --------------------------------------------------------------------------------------------
# Array loops (call the scalar kernels; 1-D contiguous inputs of equal length)
# --------------------------------------------------------------------------------------------
@njit
def fspl_loss_db_array(distance_m, freq_mhz, out):
    """Fill ``out[i] = fspl_loss_db(distance_m[i], freq_mhz[i])`` (1-D arrays) [dB]."""
    for i in range(out.size):
        out[i] = fspl_loss_db(distance_m[i], freq_mhz[i])
    return out


@njit
def hata_loss_db_array(distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, env_code, out):
    """Fill ``out[i] = hata_loss_db(...)`` element-wise (1-D arrays, scalar env code) [dB]."""
    for i in range(out.size):
        out[i] = hata_loss_db(distance_m[i], freq_mhz[i], tx_height_agl_m[i],
                              rx_height_agl_m[i], env_code)
    return out


@njit
def cost231_loss_db_array(distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, env_code, out):
    """Fill ``out[i] = cost231_loss_db(...)`` element-wise (1-D arrays, scalar env code) [dB]."""
    for i in range(out.size):
        out[i] = cost231_loss_db(
            distance_m[i], freq_mhz[i], tx_height_agl_m[i], rx_height_agl_m[i], env_code
        )
    return out


# --------------------------------------------------------------------------------------------
# Python layer
# --------------------------------------------------------------------------------------------
def environment_code(environment: str, allowed: tuple[str, ...] | None = None) -> int:
    """Map an environment name to its int code, listing the valid choices on error."""
    choices = tuple(ENVIRONMENT_CODES) if allowed is None else allowed
    key = str(environment).strip().lower()
    if key not in choices:
        raise CovkitInputError(
            f"unknown environment {environment!r}; valid choices: {', '.join(choices)}",
            column="environment",
        )
    return ENVIRONMENT_CODES[key]


def fspl(distance_m, freq_mhz):
    """Free-space basic loss, ITU-R P.525-4 eq. (6), validated; scalars or arrays.

    Parameters
    ----------
    distance_m : float or array_like
        Distance between the antennas [m], > 0.
    freq_mhz : float or array_like
        Frequency [MHz], > 0.

    Returns
    -------
    float or numpy.ndarray
        Loss [dB] (broadcast shape of the inputs).
    """
    shape, (d, f) = prepare(("distance_m", "freq_mhz"), (distance_m, freq_mhz))
    return finish(shape, fspl_loss_db_array(d, f, np.empty(d.size)))


def _hata_family(model, validity, loop, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m,
                 env_code, extrapolate):
    names = ("distance_m", "freq_mhz", "tx_height_agl_m", "rx_height_agl_m")
    shape, flat = prepare(names, (distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m))
    for n, a in zip(names, flat, strict=True):
        lo, hi = validity[n]
        check_range(model, n, a, lo, hi, extrapolate)
    d, f, hb, hm = flat
    return finish(shape, loop(d, f, hb, hm, env_code, np.empty(d.size)))


def hata(distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, *, environment="urban",
         extrapolate=False):
    """Okumura-Hata median basic loss (Hata 1980), validated; scalars or arrays.

    Parameters
    ----------
    distance_m : float or array_like
        Ground distance [m]; valid 1000-20000 m.
    freq_mhz : float or array_like
        Frequency [MHz]; valid 150-1500 MHz.
    tx_height_agl_m : float or array_like
        Base-station antenna height above ground [m]; valid 30-200 m.
    rx_height_agl_m : float or array_like
        Mobile antenna height above ground [m]; valid 1-10 m.
    environment : {"urban", "large_city", "metropolitan", "suburban", "open", "rural"}
        ``urban`` uses the small/medium-city a(hm); ``large_city`` (alias ``metropolitan``)
        the large-city a(hm); ``rural`` is an alias of ``open``.
    extrapolate : bool
        If True, evaluate the formula outside the validity ranges instead of raising (inputs
        must still be finite and > 0). Results outside the ranges are not validated.

    Returns
    -------
    float or numpy.ndarray
        Median basic loss [dB].

    Raises
    ------
    CovkitInputError
        Unknown environment, non-positive input, or a parameter outside its validity range
        (the message names it) when ``extrapolate`` is False.
    """
    env = environment_code(environment)
    return _hata_family("hata", HATA_VALIDITY, hata_loss_db_array, distance_m, freq_mhz,
                        tx_height_agl_m, rx_height_agl_m, env, extrapolate)


def cost231(distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m, *, environment="urban",
            extrapolate=False):
    """COST-231 Hata median basic loss, validated; scalars or arrays.

    Parameters
    ----------
    distance_m : float or array_like
        Ground distance [m]; valid 1000-20000 m.
    freq_mhz : float or array_like
        Frequency [MHz]; valid 1500-2000 MHz.
    tx_height_agl_m : float or array_like
        Base-station antenna height above ground [m]; valid 30-200 m.
    rx_height_agl_m : float or array_like
        Mobile antenna height above ground [m]; valid 1-10 m.
    environment : {"urban", "suburban", "large_city", "metropolitan"}
        ``urban`` / ``suburban``: medium city and suburban centres (Cm = 0 dB);
        ``metropolitan`` / ``large_city``: metropolitan centres (Cm = 3 dB).
    extrapolate : bool
        If True, evaluate the formula outside the validity ranges instead of raising (inputs
        must still be finite and > 0).

    Returns
    -------
    float or numpy.ndarray
        Median basic loss [dB].

    Raises
    ------
    CovkitInputError
        Unknown environment (``open`` is not defined for COST-231), non-positive input, or a
        parameter outside its validity range when ``extrapolate`` is False.
    """
    env = environment_code(environment, COST231_ENVIRONMENTS)
    return _hata_family("cost231", COST231_VALIDITY, cost231_loss_db_array, distance_m,
                        freq_mhz, tx_height_agl_m, rx_height_agl_m, env, extrapolate)
