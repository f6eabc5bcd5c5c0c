"""Single links: basic transmission loss of one Tx -> Rx path, with any model.

Imports only the propagation kernels and NumPy (not the geospatial stack), so ``covkit
pathloss`` starts quickly. :func:`path_loss` is re-exported as :func:`covkit.path_loss`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from covkit import parameters as P
from covkit.data.profile import PROFILE_COLUMNS, check_profile, read_profile_csv
from covkit.errors import CovkitInputError
from covkit.propagation.models import path_loss_db
from covkit.propagation.p1812 import p1812_point_to_point


def _profile_arrays(profile) -> dict:
    if isinstance(profile, str | Path):
        return read_profile_csv(profile)
    if isinstance(profile, dict) or hasattr(profile, "columns"):  # dict or DataFrame
        names = list(profile.columns) if hasattr(profile, "columns") else list(profile)
        cols = {k: np.asarray(profile[k]) for k in names if k in PROFILE_COLUMNS}
        return check_profile(cols, f"<in-memory profile {type(profile).__name__}>")
    raise CovkitInputError("profile must be a CSV path, a DataFrame or a dict with "
                           f"distance_km and height_m, got {type(profile).__name__}",
                           column="profile")


def path_loss(freq_mhz: float, tx_height_agl_m: float, rx_height_agl_m: float, *,
              model: str = P.MODEL.default, distance_m=None, profile=None,
              environment: str = P.ENVIRONMENT.default, los_mode: str = P.LOS_MODE.default,
              time_pct: float = P.TIME_PCT.default,
              location_pct: float = P.LOCATION_PCT.default,
              polarization: str = P.POLARIZATION.default, dn: float = P.DN.default,
              n0: float = P.N0.default, dct_km: float = P.DCT_KM.default,
              dcr_km: float = P.DCR_KM.default, tx_lat_deg=None, tx_lon_deg=None,
              rx_lat_deg=None, rx_lon_deg=None, extrapolate: bool = False) -> dict:
    """Basic transmission loss of a single link.

    Parameters
    ----------
    freq_mhz : float
        Frequency [MHz].
    tx_height_agl_m, rx_height_agl_m : float
        Antenna heights above ground [m].
    model : str
        ``p1812`` (needs ``profile``) or a distance model: ``fspl``, ``hata``, ``cost231``,
        ``38901-rma``, ``38901-uma``, ``38901-umi``.
    distance_m : float or array_like, optional
        Horizontal distance [m] for the distance models (default: the profile's length).
    profile : path, DataFrame or dict, optional
        Terrain profile ``distance_km, height_m`` [km, m AMSL] and optional
        ``clutter_height_m, zone`` (1 sea, 3 coastal land, 4 inland), first point at the
        transmitter.
    environment, los_mode : str
        Hata / COST-231 environment; TR 38.901 LOS handling.
    time_pct, location_pct, polarization, dn, n0, dct_km, dcr_km, *_lat_deg, *_lon_deg
        P.1812 parameters (ranges in :mod:`covkit.parameters`).
    extrapolate : bool
        Distance models: evaluate outside their validity ranges instead of raising.

    Returns
    -------
    dict
        ``model``, ``distance_m``, ``loss_db`` and, for P.1812, every intermediate term
        (``Lbfs``, ``Lb0p``, ``Ld50``, ``Lbd``, ``Lbs``, ``Lba``, ``Lb``, ``Ep``, ...).
    """
    P.MODEL.check(model, key="model")
    prof = None if profile is None else _profile_arrays(profile)
    if model == "p1812":
        if prof is None:
            raise CovkitInputError("model 'p1812' needs a terrain profile (profile=...)",
                                   column="profile")
        out = p1812_point_to_point(
            prof["distance_km"], prof["height_m"], freq_mhz, tx_height_agl_m, rx_height_agl_m,
            clutter_height_m=prof["clutter_height_m"], zone=prof["zone"], time_pct=time_pct,
            location_pct=location_pct, polarization=polarization, dn=dn, n0=n0,
            tx_lat_deg=tx_lat_deg, tx_lon_deg=tx_lon_deg, rx_lat_deg=rx_lat_deg,
            rx_lon_deg=rx_lon_deg, dct_km=dct_km, dcr_km=dcr_km)
        out = {k: (v.item() if hasattr(v, "item") else v) for k, v in out.items()}
        return {"model": model, "distance_m": float(prof["distance_km"][-1]) * 1000.0, **out}
    if distance_m is None:
        if prof is None:
            raise CovkitInputError(f"model {model!r} needs distance_m (or a profile)",
                                   column="distance_m")
        distance_m = float(prof["distance_km"][-1]) * 1000.0
    loss = path_loss_db(model, distance_m, freq_mhz, tx_height_agl_m, rx_height_agl_m,
                        environment=environment, los_mode=los_mode, extrapolate=extrapolate)
    loss = float(loss) if np.ndim(loss) == 0 else loss
    return {"model": model, "distance_m": distance_m, "loss_db": loss}
