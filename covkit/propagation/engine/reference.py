"""The exact reference path: P.1812 on the exact profile from a site to each point.

O(n) per point (:func:`~covkit.propagation.terrain.sample_profile`, then
:func:`~covkit.propagation.p1812.profile.p1812_profile_terms` and
:func:`~covkit.propagation.p1812.loss.p1812_loss_from_constants`); the tests compare the radial
sweep with it. Within the first sample step (no intermediate point) the loss is free space
(:func:`free_space_db`, ITU-R P.525), for the sweep too.
"""

from __future__ import annotations

import math

import numpy as np

from covkit._jit import njit, njit_noalloc, njit_parallel, prange
from covkit.propagation import p1812 as P
from covkit.propagation.empirical import fspl_loss_db
from covkit.propagation.terrain import (
    profile_segments,
    sample_profile,
)


@njit_noalloc
def free_space_db(dist_m, hts_m, hrs_m, f_ghz):
    """ITU-R P.525 free-space loss [dB] on the 3-D distance (at least 1 m).

    The loss of a receiver within the first sample step of its profile (no intermediate
    point), in the reference and in the radial sweep alike.

    Parameters
    ----------
    dist_m : float
        Horizontal distance Tx -> Rx [m].
    hts_m, hrs_m : float
        Tx and Rx antenna heights amsl [m].
    f_ghz : float
        Frequency [GHz].
    """
    d3 = math.sqrt(dist_m * dist_m + (hts_m - hrs_m) ** 2)
    return fspl_loss_db(max(d3, 1.0), f_ghz * 1000.0)


# ----------------------------------------------------------------------------------------------
# reference: exact profile to one point


@njit
def _reference_terms_one(dem_m, affine6, coast_km, site_x_m, site_y_m, x_m, y_m, htg_m, hrg_m,
                         step_m, ae_km, terms):
    """Stage 1 of the reference: the exact profile to (x_m, y_m) and its P.1812 terms.
    Returns 1 (terms filled), 0 (no intermediate point: free space; only ``T_D``, ``T_HTS``,
    ``T_HRS`` filled) or -1 (the profile leaves the DEM)."""
    dist_m = math.hypot(x_m - site_x_m, y_m - site_y_m)
    n_seg = profile_segments(dist_m, step_m)
    d_km = np.empty(n_seg + 1)
    h = np.empty(n_seg + 1)
    zone = np.empty(n_seg + 1)
    r = np.zeros(n_seg + 1)
    if not sample_profile(dem_m, affine6, site_x_m, site_y_m, x_m, y_m, step_m, n_seg, d_km, h,
                          zone, coast_km):
        return -1
    if n_seg < 2:
        terms[P.T_D] = dist_m / 1000.0
        terms[P.T_HTS] = h[0] + htg_m
        terms[P.T_HRS] = h[n_seg] + hrg_m
        return 0
    P.p1812_profile_terms(d_km, h, r, zone, htg_m, hrg_m, ae_km, terms)
    return 1


@njit
def _reference_one(dem_m, affine6, coast_km, site_x_m, site_y_m, x_m, y_m, htg_m, hrg_m, step_m,
                   ae_km, consts, dct_km, dcr_km, terms, out):
    status = _reference_terms_one(dem_m, affine6, coast_km, site_x_m, site_y_m, x_m, y_m, htg_m,
                                  hrg_m, step_m, ae_km, terms)
    if status < 0:
        return np.nan
    if status == 0:
        return free_space_db(1000.0 * terms[P.T_D], terms[P.T_HTS], terms[P.T_HRS],
                              consts[P.C_F_GHZ])
    P.p1812_loss_from_constants(terms, consts, dct_km, dcr_km, out, False)
    return out[P.O_LB]


@njit_parallel
def reference_terms_p1812(dem_m, affine6, coast_km, site_x_m, site_y_m, x_m, y_m, htg_m, hrg_m,
                          step_m, ae_km):
    """P.1812 terrain terms (stage 1) of the exact profile to each point, one row per point;
    NaN rows where the profile leaves the DEM or has no intermediate point. For diagnostics
    and the benchmark's split of the cost between the two stages."""
    n = x_m.shape[0]
    terms = np.full((n, P.N_TERMS), np.nan)
    for i in prange(n):
        row = np.empty(P.N_TERMS)
        if _reference_terms_one(dem_m, affine6, coast_km, site_x_m, site_y_m, x_m[i], y_m[i], htg_m,
                                hrg_m, step_m, ae_km, row) == 1:
            for t in range(P.N_TERMS):
                terms[i, t] = row[t]
    return terms


@njit_parallel
def reference_loss_p1812(dem_m, affine6, coast_km, site_x_m, site_y_m, x_m, y_m, htg_m, hrg_m,
                         step_m, ae_km, f_ghz, p_pct, pl_pct, sigma_l_db, pol, n0, phi_deg, dct_km,
                         dcr_km):
    """P.1812-8 basic transmission loss [dB] from the site to each point (x_m[i], y_m[i]) on
    its exact profile (:func:`~covkit.propagation.terrain.sample_profile`, bilinear heights)."""
    n = x_m.shape[0]
    loss = np.empty(n)
    consts = np.empty(P.N_CONSTS)
    P.p1812_constants(f_ghz, p_pct, pl_pct, sigma_l_db, pol, n0, phi_deg, consts)
    for i in prange(n):
        terms = np.empty(P.N_TERMS)
        out = np.empty(P.N_OUT)
        loss[i] = _reference_one(dem_m, affine6, coast_km, site_x_m, site_y_m, x_m[i], y_m[i],
                                 htg_m, hrg_m, step_m, ae_km, consts, dct_km, dcr_km, terms, out)
    return loss
