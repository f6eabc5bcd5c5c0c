"""The validated Python API of ITU-R P.1812-8 for one terrain profile:
:func:`p1812_point_to_point`, with the section 4.7 location-variability default
(:func:`location_sigma_db`) and the path-centre latitude (:func:`path_centre_latitude_deg`).
"""

from __future__ import annotations

import math

import numpy as np

from covkit.errors import CovkitInputError
from covkit.parameters import (
    DCR_KM,
    DCT_KM,
    DN,
    LOCATION_PCT,
    LOCATION_RESOLUTION_M,
    N0,
    POLARIZATION,
    SIGMA_L_DB,
    TIME_PCT,
)
from covkit.propagation.constants import (
    DEFAULT_PATH_CENTRE_LAT_DEG,
    EARTH_RADIUS_KM,
    ZONE_COASTAL_LAND,
    ZONE_INLAND,
    ZONE_SEA,
)
from covkit.propagation.p1812.loss import (
    p1812_loss_from_terms,
)
from covkit.propagation.p1812.profile import (
    effective_earth_radius_km,
    p1812_profile_terms,
)
from covkit.propagation.p1812.tables import (
    N_OUT,
    N_TERMS,
    O_EP,
    O_LB,
    OUT_NAMES,
    POL_HORIZONTAL,
    POL_VERTICAL,
    TERM_NAMES,
)


# --------------------------------------------------------------------------------------------
# Python API
# --------------------------------------------------------------------------------------------
def location_sigma_db(freq_ghz, rx_height_agl_m, rx_clutter_height_m, resolution_m):
    """Location-variability standard deviation sigma_L [dB] (ITU-R P.1812-8 section 4.7).

    ``sigma_L = (0.52 + 0.024 f) * w_a^0.28 * u_h`` with the height factor u_h = 1 below the
    clutter, 0 at 10 m or more above it, linear in between.

    Parameters
    ----------
    freq_ghz : float
        Frequency [GHz].
    rx_height_agl_m : float
        Receiver antenna height above ground [m].
    rx_clutter_height_m : float
        Representative clutter height at the receiver [m].
    resolution_m : float
        Prediction resolution w_a [m] (width of the square area).
    """
    sigma = (0.52 + 0.024 * freq_ghz) * resolution_m**0.28
    if rx_height_agl_m < rx_clutter_height_m:
        uh = 1.0
    elif rx_height_agl_m >= rx_clutter_height_m + 10.0:
        uh = 0.0
    else:
        uh = 1.0 - (rx_height_agl_m - rx_clutter_height_m) / 10.0
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


_POLARIZATIONS = {"h": POL_HORIZONTAL, "v": POL_VERTICAL}
_POLARIZATION_ALIASES = {"horizontal": "h", "vertical": "v"}


def p1812_point_to_point(
    distance_km,
    height_m,
    freq_mhz,
    tx_height_agl_m,
    rx_height_agl_m,
    *,
    clutter_height_m=None,
    zone=None,
    time_pct=TIME_PCT.default,
    location_pct=LOCATION_PCT.default,
    sigma_l_db=None,
    location_resolution_m=LOCATION_RESOLUTION_M.default,
    polarization=POLARIZATION.default,
    dn=DN.default,
    n0=N0.default,
    tx_lat_deg=None,
    tx_lon_deg=None,
    rx_lat_deg=None,
    rx_lon_deg=None,
    dct_km=DCT_KM.default,
    dcr_km=DCR_KM.default,
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
    tx_height_agl_m, rx_height_agl_m : float
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
        Location-variability standard deviation [dB], 0-30; default from section 4.7 with
        ``location_resolution_m`` and the Rx clutter height ``clutter_height_m[-1]``.
    location_resolution_m : float
        Prediction resolution w_a [m] for the default sigma_L, 1-1000.
    polarization : {"h", "v"}
        Polarization, default "v" ("horizontal" / "vertical" also accepted).
    dn : float
        Refractivity lapse rate DN [N-units/km], 0-156 (sets ae, eqs. (6), (7a); 0: no
        refraction, ae = 6371 km).
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
    htg = _check_scalar("tx_height_agl_m", tx_height_agl_m, 1.0, 3000.0, "m")
    hrg = _check_scalar("rx_height_agl_m", rx_height_agl_m, 1.0, 3000.0, "m")
    p = TIME_PCT.check_number(time_pct)
    pl = LOCATION_PCT.check_number(location_pct)
    wa = LOCATION_RESOLUTION_M.check_number(location_resolution_m)
    dn_v = DN.check_number(dn)
    n0_v = N0.check_number(n0)
    dct = DCT_KM.check_number(dct_km)
    dcr = DCR_KM.check_number(dcr_km)
    key = str(polarization).strip().lower()
    pol = _POLARIZATIONS[POLARIZATION.check(_POLARIZATION_ALIASES.get(key, key))]
    f_ghz = f_mhz / 1000.0
    if sigma_l_db is None:
        sigma = location_sigma_db(f_ghz, hrg, r[-1], wa)
    else:
        sigma = SIGMA_L_DB.check_number(sigma_l_db)

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
