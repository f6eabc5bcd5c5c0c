"""Clutter and building-entry losses: ITU-R P.2108-1 and ITU-R P.2109-2.

- :func:`terrestrial_clutter_loss_db`: P.2108-1 section 3.2, statistical clutter loss for
  terrestrial paths (0.5-67 GHz, d >= 0.25 km), applied at one end of the path (the 2021
  revision: eqs. (3a)-(6), with the location-variability sigma_cb and the 2 km cap).
- :func:`height_gain_correction_db`: P.2108 section 3.1, height-gain terminal correction
  (0.03-3 GHz), for terminals below the representative clutter height.
- :func:`aeronautical_clutter_loss_db`: P.2108 section 3.3, earth-space / aeronautical
  statistical clutter loss (10-100 GHz).
- :func:`building_entry_loss_db`: P.2109-2 Annex 1 building entry loss (0.08-100 GHz).

Probabilities are fractions in (0, 1) (the Recommendations print percentages: divide by 100).
Kernels never validate; the Python wrappers (``*_checked``) raise
:class:`~covkit.errors.CovkitInputError` naming the parameter, with the validity limits of the
NTIA/ITS reference implementation (error codes 3200-3202, 32-35, 64-66).

Do not add P.2108 to the 3GPP TR 38.901 models: those already include clutter.
"""

from __future__ import annotations

import math

import numpy as np

from covkit._jit import njit
from covkit.errors import CovkitInputError
from covkit.propagation.arrays import finish, prepare

CLUTTER_WATER_SEA = 1
CLUTTER_OPEN_RURAL = 2
CLUTTER_SUBURBAN = 3
CLUTTER_URBAN = 4
CLUTTER_TREES_FOREST = 5
CLUTTER_DENSE_URBAN = 6

CLUTTER_TYPE_CODES: dict[str, int] = {
    "water_sea": CLUTTER_WATER_SEA,
    "open_rural": CLUTTER_OPEN_RURAL,
    "suburban": CLUTTER_SUBURBAN,
    "urban": CLUTTER_URBAN,
    "trees_forest": CLUTTER_TREES_FOREST,
    "dense_urban": CLUTTER_DENSE_URBAN,
}
"""P.2108 section 3.1 clutter types (codes as in the NTIA reference implementation)."""

CLUTTER_DEFAULT_HEIGHT_M: dict[int, float] = {1: 10.0, 2: 10.0, 3: 10.0, 4: 15.0, 5: 15.0,
                                              6: 20.0}
"""Default representative clutter height R [m] per clutter type, P.2108 section 3.1 Table 2."""

DEFAULT_STREET_WIDTH_M = 27.0
"""Default street width w_s [m], P.2108 section 3.1."""

BUILDING_TRADITIONAL = 1
BUILDING_THERMALLY_EFFICIENT = 2
BUILDING_TYPE_CODES: dict[str, int] = {
    "traditional": BUILDING_TRADITIONAL,
    "thermally_efficient": BUILDING_THERMALLY_EFFICIENT,
}
"""P.2109-2 building types."""

# P.2109-2 Table 1: r, s, t, u, v, w, x, y, z
_P2109_COEFFS = np.array(
    [
        [12.64, 3.72, 0.96, 9.6, 2.0, 9.1, -3.0, 4.5, -2.0],  # traditional
        [28.19, -3.00, 8.48, 13.5, 3.8, 27.8, -2.9, 9.4, -2.1],  # thermally efficient
    ]
)


# --------------------------------------------------------------------------------------------
# Inverse normal distribution
# --------------------------------------------------------------------------------------------
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
      3.754408661907416e00)


@njit
def _ndtri_lower(p):
    """Inverse standard normal CDF for 0 < p <= 0.5 (Acklam's rational approximation,
    relative error 1.2e-9, refined by two Halley steps on ``erfc`` to full precision)."""
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0)
    else:
        q = p - 0.5
        r = q * q
        x = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q / (
            ((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0)
    for _ in range(2):
        e = 0.5 * math.erfc(-x / math.sqrt(2.0)) - p
        u = e * math.sqrt(2.0 * math.pi) * math.exp(0.5 * x * x)
        x = x - u / (1.0 + 0.5 * x * u)
    return x


@njit
def inverse_normal_cdf(p):
    """Inverse of the standard normal cumulative distribution, F^-1(p), for 0 < p < 1.

    Used as ``F^-1`` in ITU-R P.2109-2 and (via :func:`inverse_complementary_normal`) as
    ``Q^-1`` in ITU-R P.2108-1. Accurate to ~1e-15 relative; NaN outside (0, 1).
    """
    if not (p > 0.0 and p < 1.0):
        return math.nan
    if p <= 0.5:
        return _ndtri_lower(p)
    return -_ndtri_lower(1.0 - p)


@njit
def inverse_complementary_normal(q):
    """Inverse complementary cumulative normal Q^-1(q) = -F^-1(q), 0 < q < 1."""
    return -inverse_normal_cdf(q)


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------
@njit
def _terrestrial_clutter_at_db(f_ghz, d_km, location_fraction):
    """P.2108-1 eqs. (3a)-(5b) at one distance (f in GHz, d in km) [dB]."""
    l_l = -2.0 * math.log10(10.0 ** (-5.0 * math.log10(f_ghz) - 12.5) + 10.0 ** (-16.5))
    l_s = 32.98 + 23.9 * math.log10(d_km) + 3.0 * math.log10(f_ghz)
    w_l = 10.0 ** (-0.2 * l_l)
    w_s = 10.0 ** (-0.2 * l_s)
    sigma_cb = math.sqrt((4.0**2 * w_l + 6.0**2 * w_s) / (w_l + w_s))
    return -5.0 * math.log10(w_l + w_s) - sigma_cb * inverse_complementary_normal(
        location_fraction)


@njit
def terrestrial_clutter_loss_db(freq_mhz, distance_m, location_fraction):
    """Statistical clutter loss for terrestrial paths, ITU-R P.2108-1 section 3.2 [dB].

    ``L_l = -2 log10(10^(-5 log10(f) - 12.5) + 10^(-16.5))`` (eq. 4a), sigma_l = 4 dB (4b);
    ``L_s = 32.98 + 23.9 log10(d) + 3.0 log10(f)`` (eq. 5a), sigma_s = 6 dB (5b);
    ``sigma_cb = sqrt((sigma_l^2 10^(-0.2 L_l) + sigma_s^2 10^(-0.2 L_s)) /
    (10^(-0.2 L_l) + 10^(-0.2 L_s)))`` (3b);
    ``L_ctt = -5 log10(10^(-0.2 L_l) + 10^(-0.2 L_s)) - sigma_cb Q^-1(p/100)`` (3a);
    capped at its value for d = 2 km (eq. 6). f in GHz, d in km.

    Parameters
    ----------
    freq_mhz : float
        Frequency [MHz]; valid 500-67000 MHz.
    distance_m : float
        Path length [m]; valid >= 250 m (>= 1 km to apply the loss at both ends).
    location_fraction : float
        Fraction of locations for which the loss is not exceeded, p/100, in (0, 1).

    Returns
    -------
    float
        Clutter loss at one end of the path [dB], not exceeded for that fraction.
    """
    f_ghz = freq_mhz / 1000.0
    return min(_terrestrial_clutter_at_db(f_ghz, distance_m / 1000.0, location_fraction),
               _terrestrial_clutter_at_db(f_ghz, 2.0, location_fraction))


@njit
def height_gain_correction_db(freq_mhz, height_agl_m, street_width_m, clutter_height_m,
                              clutter_type):
    """Height-gain terminal correction, ITU-R P.2108-1 section 3.1 [dB].

    For h >= R the correction is 0. Otherwise, water/sea and open/rural use eq. (2b)
    ``A_h = -K_h2 log10(h/R)`` with ``K_h2 = 21.8 + 6.2 log10(f)`` (eq. 2f); suburban, urban,
    trees/forest and dense urban use eq. (2a) ``A_h = J(nu) - 6.03`` with
    ``J(nu) = 6.9 + 20 log10(sqrt((nu - 0.1)^2 + 1) + nu - 0.1)`` (0 for nu <= -0.78),
    ``nu = K_nu sqrt(h_dif theta_clut)`` (eq. 2c), ``h_dif = R - h`` (2d),
    ``theta_clut = atan(h_dif / w_s)`` in degrees (2e), ``K_nu = 0.342 sqrt(f)`` (2g);
    f in GHz.

    Parameters
    ----------
    freq_mhz : float
        Frequency [MHz]; valid 30-3000 MHz.
    height_agl_m : float
        Antenna height above ground [m], > 0.
    street_width_m : float
        Street width w_s [m], > 0 (default 27 m).
    clutter_height_m : float
        Representative clutter height R [m], > 0.
    clutter_type : int
        1 water/sea, 2 open/rural, 3 suburban, 4 urban, 5 trees/forest, 6 dense urban.

    Returns
    -------
    float
        Additional loss A_h [dB]; NaN for an unknown clutter type.
    """
    if height_agl_m >= clutter_height_m:
        return 0.0
    f_ghz = freq_mhz / 1000.0
    h_dif = clutter_height_m - height_agl_m
    if clutter_type == CLUTTER_WATER_SEA or clutter_type == CLUTTER_OPEN_RURAL:
        k_h2 = 21.8 + 6.2 * math.log10(f_ghz)
        return -k_h2 * math.log10(height_agl_m / clutter_height_m)
    if clutter_type < CLUTTER_SUBURBAN or clutter_type > CLUTTER_DENSE_URBAN:
        return math.nan
    theta_clut_deg = math.degrees(math.atan(h_dif / street_width_m))
    nu = 0.342 * math.sqrt(f_ghz) * math.sqrt(h_dif * theta_clut_deg)
    if nu <= -0.78:
        j_nu = 0.0
    else:
        j_nu = 6.9 + 20.0 * math.log10(math.sqrt((nu - 0.1) ** 2 + 1.0) + nu - 0.1)
    return j_nu - 6.03


@njit
def aeronautical_clutter_loss_db(freq_mhz, elevation_deg, location_fraction):
    """Earth-space / aeronautical statistical clutter loss, ITU-R P.2108-1 section 3.3 [dB].

    ``L_ces = (-K1 ln(1 - p/100) cot(A1 (1 - theta/90) + pi theta/180))^(0.5 (90 - theta)/90)
    - 1 - 0.6 Q^-1(p/100)`` (eq. 6), ``K1 = 93 f^0.175``, ``A1 = 0.05``; f in GHz.

    Parameters
    ----------
    freq_mhz : float
        Frequency [MHz]; valid 10000-100000 MHz.
    elevation_deg : float
        Elevation angle theta [deg]; valid 0-90.
    location_fraction : float
        Fraction of locations p/100 in (0, 1).
    """
    f_ghz = freq_mhz / 1000.0
    a1 = 0.05
    k1 = 93.0 * f_ghz**0.175
    angle = a1 * (1.0 - elevation_deg / 90.0) + math.pi * elevation_deg / 180.0
    base = -k1 * math.log(1.0 - location_fraction) / math.tan(angle)
    return (base ** (0.5 * (90.0 - elevation_deg) / 90.0) - 1.0
            - 0.6 * inverse_complementary_normal(location_fraction))


@njit
def building_entry_loss_db(freq_mhz, probability, building_type, elevation_deg):
    """Building entry loss, ITU-R P.2109-2 Annex 1 [dB].

    ``L_h = r + s log10(f) + t (log10 f)^2`` (eq. 2), ``L_e = 0.212 |theta|`` (eq. 3),
    ``mu1 = L_h + L_e``, ``mu2 = w + x log10(f)``, ``sigma1 = u + v log10(f)``,
    ``sigma2 = y + z log10(f)`` (eq. 4), ``A = F^-1(P) sigma1 + mu1``,
    ``B = F^-1(P) sigma2 + mu2``, ``C = -3`` (eq. 5), ``L_BEL = 10 log10(10^(0.1 A) +
    10^(0.1 B) + 10^(0.1 C))`` (eq. 1); f in GHz, coefficients of Table 1.

    Parameters
    ----------
    freq_mhz : float
        Frequency [MHz]; valid 80-100000 MHz.
    probability : float
        Probability that the loss is not exceeded, P in (0, 1).
    building_type : int
        1 traditional, 2 thermally efficient.
    elevation_deg : float
        Elevation angle of the path at the building facade [deg], -90 to 90.

    Returns
    -------
    float
        Building entry loss [dB]; NaN for an unknown building type.
    """
    if building_type != BUILDING_TRADITIONAL and building_type != BUILDING_THERMALLY_EFFICIENT:
        return math.nan
    k = _P2109_COEFFS[building_type - 1]
    lf = math.log10(freq_mhz / 1000.0)
    l_h = k[0] + k[1] * lf + k[2] * lf * lf
    l_e = 0.212 * abs(elevation_deg)
    mu1 = l_h + l_e
    mu2 = k[5] + k[6] * lf
    sigma1 = k[3] + k[4] * lf
    sigma2 = k[7] + k[8] * lf
    finv = inverse_normal_cdf(probability)
    a = finv * sigma1 + mu1
    b = finv * sigma2 + mu2
    return 10.0 * math.log10(10.0 ** (0.1 * a) + 10.0 ** (0.1 * b) + 10.0 ** (0.1 * -3.0))


# --------------------------------------------------------------------------------------------
# Array loops
# --------------------------------------------------------------------------------------------
@njit
def terrestrial_clutter_loss_db_array(freq_mhz, distance_m, location_fraction, out):
    """Element-wise :func:`terrestrial_clutter_loss_db` over 1-D arrays [dB]."""
    for i in range(out.size):
        out[i] = terrestrial_clutter_loss_db(freq_mhz[i], distance_m[i], location_fraction[i])
    return out


@njit
def height_gain_correction_db_array(freq_mhz, height_agl_m, street_width_m, clutter_height_m,
                                    clutter_type, out):
    """Element-wise :func:`height_gain_correction_db` over 1-D arrays [dB]."""
    for i in range(out.size):
        out[i] = height_gain_correction_db(freq_mhz[i], height_agl_m[i], street_width_m[i],
                                           clutter_height_m[i], clutter_type[i])
    return out


@njit
def aeronautical_clutter_loss_db_array(freq_mhz, elevation_deg, location_fraction, out):
    """Element-wise :func:`aeronautical_clutter_loss_db` over 1-D arrays [dB]."""
    for i in range(out.size):
        out[i] = aeronautical_clutter_loss_db(freq_mhz[i], elevation_deg[i],
                                              location_fraction[i])
    return out


@njit
def building_entry_loss_db_array(freq_mhz, probability, building_type, elevation_deg, out):
    """Element-wise :func:`building_entry_loss_db` over 1-D arrays [dB]."""
    for i in range(out.size):
        out[i] = building_entry_loss_db(freq_mhz[i], probability[i], building_type[i],
                                        elevation_deg[i])
    return out


# --------------------------------------------------------------------------------------------
# Python layer
# --------------------------------------------------------------------------------------------
def _require(ok: np.ndarray, arr: np.ndarray, model: str, name: str, allowed: str) -> None:
    if not np.all(ok):
        bad = float(arr[~ok].flat[0])
        raise CovkitInputError(f"{model}: {name}={bad:g} is invalid; allowed: {allowed}",
                               column=name)


def _codes(name, value, mapping):
    """Accept names (str) or int codes; return an int64 array of codes."""
    if isinstance(value, str):
        key = value.strip().lower()
        if key not in mapping:
            raise CovkitInputError(
                f"unknown {name} {value!r}; valid choices: {', '.join(mapping)}", column=name)
        return np.asarray(mapping[key], dtype=np.int64)
    arr = np.asarray(value)
    valid = set(mapping.values())
    if arr.dtype.kind not in "iuf" or not np.all(np.isin(arr, list(valid))):
        raise CovkitInputError(
            f"{name} must be one of {', '.join(mapping)} or codes {sorted(valid)}, "
            f"got {value!r}", column=name)
    return arr.astype(np.int64)


def terrestrial_clutter_loss_db_checked(freq_mhz, distance_m, location_fraction):
    """Validated P.2108 section 3.2 clutter loss; scalars or arrays [dB].

    Parameters
    ----------
    freq_mhz : float or array_like
        Frequency [MHz], 500-67000 MHz.
    distance_m : float or array_like
        Path length [m], >= 250 m.
    location_fraction : float or array_like
        Fraction of locations, 0 < p < 1 (the Recommendation's p/100).

    Raises
    ------
    CovkitInputError
        Naming the parameter outside its range (NTIA codes 3200, 3201, 3202).
    """
    names = ("freq_mhz", "distance_m", "location_fraction")
    shape, (f, d, p) = prepare(names, (freq_mhz, distance_m, location_fraction),
                               positive=False)
    m = "P.2108 section 3.2"
    _require((f >= 500.0) & (f <= 67_000.0), f, m, "freq_mhz", "500 <= f <= 67000 MHz")
    _require(d >= 250.0, d, m, "distance_m", "d >= 250 m")
    _require((p > 0.0) & (p < 1.0), p, m, "location_fraction", "0 < p < 1")
    return finish(shape, terrestrial_clutter_loss_db_array(f, d, p, np.empty(f.size)))


def height_gain_correction_db_checked(freq_mhz, height_agl_m, clutter_type, *,
                                      street_width_m=DEFAULT_STREET_WIDTH_M,
                                      clutter_height_m=None):
    """Validated P.2108 section 3.1 height-gain terminal correction; scalars or arrays [dB].

    Parameters
    ----------
    freq_mhz : float or array_like
        Frequency [MHz], 30-3000 MHz.
    height_agl_m : float or array_like
        Terminal antenna height above ground [m], > 0.
    clutter_type : str, int or array_like of int
        ``water_sea`` (1), ``open_rural`` (2), ``suburban`` (3), ``urban`` (4),
        ``trees_forest`` (5), ``dense_urban`` (6).
    street_width_m : float or array_like
        Street width w_s [m], > 0; default 27 m.
    clutter_height_m : float or array_like, optional
        Representative clutter height R [m], > 0; default from P.2108 Table 2
        (:data:`CLUTTER_DEFAULT_HEIGHT_M`).

    Raises
    ------
    CovkitInputError
        Naming the parameter (NTIA codes 32 frequency, 33 height, 34 street width,
        35 clutter height) or an unknown clutter type.
    """
    codes = _codes("clutter_type", clutter_type, CLUTTER_TYPE_CODES)
    if clutter_height_m is None:
        clutter_height_m = np.vectorize(CLUTTER_DEFAULT_HEIGHT_M.__getitem__, otypes=[float])(
            codes)
    names = ("freq_mhz", "height_agl_m", "street_width_m", "clutter_height_m", "clutter_type")
    shape, (f, h, ws, r, ct) = prepare(
        names, (freq_mhz, height_agl_m, street_width_m, clutter_height_m, codes),
        positive=False)
    m = "P.2108 section 3.1"
    _require((f >= 30.0) & (f <= 3000.0), f, m, "freq_mhz", "30 <= f <= 3000 MHz")
    _require(h > 0.0, h, m, "height_agl_m", "h > 0 m")
    _require(ws > 0.0, ws, m, "street_width_m", "w_s > 0 m")
    _require(r > 0.0, r, m, "clutter_height_m", "R > 0 m")
    out = height_gain_correction_db_array(f, h, ws, r, ct.astype(np.int64), np.empty(f.size))
    return finish(shape, out)


def aeronautical_clutter_loss_db_checked(freq_mhz, elevation_deg, location_fraction):
    """Validated P.2108 section 3.3 earth-space / aeronautical clutter loss [dB].

    Parameters
    ----------
    freq_mhz : float or array_like
        Frequency [MHz], 10000-100000 MHz.
    elevation_deg : float or array_like
        Elevation angle [deg], 0-90.
    location_fraction : float or array_like
        Fraction of locations, 0 < p < 1.

    Raises
    ------
    CovkitInputError
        Naming the parameter (NTIA codes 64, 65, 66).
    """
    names = ("freq_mhz", "elevation_deg", "location_fraction")
    shape, (f, t, p) = prepare(names, (freq_mhz, elevation_deg, location_fraction),
                               positive=False)
    m = "P.2108 section 3.3"
    _require((f >= 10_000.0) & (f <= 100_000.0), f, m, "freq_mhz", "10000 <= f <= 100000 MHz")
    _require((t >= 0.0) & (t <= 90.0), t, m, "elevation_deg", "0 <= theta <= 90 deg")
    _require((p > 0.0) & (p < 1.0), p, m, "location_fraction", "0 < p < 1")
    return finish(shape, aeronautical_clutter_loss_db_array(f, t, p, np.empty(f.size)))


def building_entry_loss_db_checked(freq_mhz, probability, building_type, elevation_deg=0.0):
    """Validated ITU-R P.2109-2 building entry loss; scalars or arrays [dB].

    Parameters
    ----------
    freq_mhz : float or array_like
        Frequency [MHz], 80-100000 MHz.
    probability : float or array_like
        Probability that the loss is not exceeded, 0 < P < 1.
    building_type : str, int or array_like of int
        ``traditional`` (1) or ``thermally_efficient`` (2).
    elevation_deg : float or array_like
        Elevation angle at the facade [deg], -90 to 90 (default 0, horizontal).

    Raises
    ------
    CovkitInputError
        Naming the parameter outside its range or an unknown building type.
    """
    codes = _codes("building_type", building_type, BUILDING_TYPE_CODES)
    names = ("freq_mhz", "probability", "building_type", "elevation_deg")
    shape, (f, p, bt, e) = prepare(names, (freq_mhz, probability, codes, elevation_deg),
                                  positive=False)
    m = "P.2109-2"
    _require((f >= 80.0) & (f <= 100_000.0), f, m, "freq_mhz", "80 <= f <= 100000 MHz")
    _require((p > 0.0) & (p < 1.0), p, m, "probability", "0 < P < 1")
    _require((e >= -90.0) & (e <= 90.0), e, m, "elevation_deg", "-90 <= theta <= 90 deg")
    out = building_entry_loss_db_array(f, p, bt.astype(np.int64), e, np.empty(f.size))
    return finish(shape, out)
