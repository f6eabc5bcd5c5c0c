"""The radial sweep: P.1812 path loss over a site's footprint, incrementally along radials.

Radials (:func:`radial_sweep_p1812`) with rays sampled up front (:func:`_sample_ray`), every
pixel assigned to its nearest radial at its own distance (:func:`assign_pixels_to_radials`),
and the terrain terms of each receiver's profile updated from the previous one along the ray
(:func:`_sweep_one_ray`): running maxima, prefix sums, tangents to the upper convex hull
(:mod:`covkit.propagation.engine.hull`) and closed forms for the smooth profile. Stage 2 is
:func:`~covkit.propagation.p1812.loss.p1812_loss_from_constants`. See
:mod:`covkit.propagation.engine` for the method and its accuracy.
"""

from __future__ import annotations

import math

import numpy as np

from covkit._jit import njit, njit_noalloc, row_bands, run_parallel, thread_count
from covkit.propagation import p1812 as P
from covkit.propagation.constants import EARTH_RADIUS_KM, K_BETA, ZONE_INLAND, ZONE_SEA
from covkit.propagation.engine.hull import (
    hull_extreme,
    hull_push,
    hull_tangent_right,
)
from covkit.propagation.engine.reference import (
    free_space_db,
)
from covkit.propagation.p1812.profile import run_lengths_km
from covkit.propagation.terrain import (
    bilinear_at,
    bilinear_height_m,
    bilinear_interior,
    cell_coords,
    profile_segments,
    zone_at,
    zone_of_height,
)

# ----------------------------------------------------------------------------------------------
# smooth-profile Bullington terms (all intermediate heights zero): closed forms on the samples


@njit_noalloc
def _smooth_stim(step_km, m, d, hts_s, bulge):
    """max over intermediate points d_i = i * step (i = 1..m) of (-bulge d_i^2 - hts_s) / d_i,
    plus bulge * d (eq. (13) on the smooth profile). The function is concave in d_i, so the
    maximum is at a sample next to the continuous optimum, clipped to 1..m (with hts_s <= 0 the
    function decreases and the first sample wins)."""
    best = -np.inf
    c0 = 1
    if hts_s > 0.0:
        c0 = int(math.floor(math.sqrt(hts_s / bulge) / step_km))
    for c in (c0, c0 + 1):
        i = min(max(c, 1), m)
        di = i * step_km
        v = (-bulge * di * di - hts_s) / di
        if v > best:
            best = v
    return best + bulge * d


@njit_noalloc
def _smooth_srim(step_km, m, d, hrs_s, bulge):
    """max over i = 1..m of (z_i - z_r) / (d - d_i) - bulge * d with z_i = -bulge d_i^2 and
    z_r = hrs_s - bulge d^2 (eq. (17) on the smooth profile); concave in d - d_i."""
    z_r = hrs_s - bulge * d * d
    best = -np.inf
    c0 = m
    if hrs_s > 0.0:
        c0 = int(math.floor((d - math.sqrt(hrs_s / bulge)) / step_km))
    for c in (c0, c0 + 1):
        i = min(max(c, 1), m)
        di = i * step_km
        v = (-bulge * di * di - z_r) / (d - di)
        if v > best:
            best = v
    return best - bulge * d


@njit_noalloc
def _nu_scan(d_km, zz, m, d, hts, z_r, i_seed):
    """LoS nu_max * sqrt(lambda) over the intermediate points i = 1..m (P.1812-8 eq. (15),
    Earth-bulge form, ``zz`` holding z_i = g_i - bulge d_i^2) and its last arg-max.

    ``i_seed`` (any of 1..m; best the arg-max of the clearance N_i) and the point next to the
    receiver, m, are evaluated first: the better of the two is the starting best. The weight
    sqrt(0.002 d / (d_i (d - d_i))) is at least w_min (at d_i = d / 2), so a point below the
    chord has nu_i <= N_i w_min, and with N_i and the best both negative nu_i < best exactly
    when N_i^2 0.002 d > best^2 d_i (d - d_i); points that fail either way (with a margin for
    rounding) skip their division and square root. The maximum and its last arg-max are those
    of the full scan."""
    chord = (z_r - hts) / d
    w_min_safe = math.sqrt(0.008 / d) * (1.0 - 1e-12)
    nu = -np.inf
    for i in (i_seed, m):
        di = d_km[i]
        v = (zz[i] - (hts + di * chord)) * math.sqrt(0.002 * d / (di * (d - di)))
        if v > nu:
            nu = v
    i_nu = i_seed
    for i in range(1, m + 1):
        di = d_km[i]
        n_i = zz[i] - (hts + di * chord)
        if n_i < 0.0:
            if n_i * w_min_safe < nu:
                continue
            if nu < 0.0 and n_i * n_i * (0.002 * d) > nu * nu * (di * (d - di)) * (1.0 + 1e-12):
                continue
        v = n_i * math.sqrt(0.002 * d / (di * (d - di)))
        if v >= nu:
            nu = v
            i_nu = i
    return nu, i_nu


@njit_noalloc
def _hm_point(hx, hy, hi, n_hull, lt, lr, hst_n, hsr_n, h0_m, hn_m, d):
    """The ``k_hm`` argument of :func:`~covkit.propagation.p1812.store_profile_terms`: hm (eq.
    (93)) reads the intermediate points lt..lr, and the raw-height hull gives the maximiser
    over all of 1..m, which settles it when it falls inside lt..lr (-1: it does not, scan)."""
    if lr == lt:  # line of sight: the single point
        return lt
    hst, hsr = P.ducting_surface_m(hst_n, hsr_n, h0_m, hn_m)
    k = hull_extreme(hx, hy, hi, n_hull, (hsr - hst) / d)
    return k if lt <= k <= lr else -1


@njit_noalloc
def _inland_km(d_km, h, zn, n_zoned, m, d, hn, t_rx, coast_km, fc0, fr0, dfc, dfr):
    """dlm, the longest inland (zone 4) section [km] of the profile 0..m plus the receiver (at
    ``d`` [km], height ``hn``, ``t_rx`` sample steps from the site) (section 3.6,
    :func:`~covkit.propagation.p1812._run_lengths_km`); the receiver's zone; and the new
    ``n_zoned``: the zones of the samples ``n_zoned..m`` are found first
    (:func:`~covkit.propagation.terrain.zone_at`). The receiver sits at index m + 1 for the
    count; what that slot held is put back."""
    for j in range(n_zoned, m + 1):
        zn[j] = zone_at(h[j], coast_km, fc0 + j * dfc, fr0 + j * dfr)
    n_zoned = max(n_zoned, m + 1)
    zone_rx = zone_at(hn, coast_km, fc0 + t_rx * dfc, fr0 + t_rx * dfr)
    d_keep = d_km[m + 1]
    z_keep = zn[m + 1]
    d_km[m + 1] = d
    zn[m + 1] = zone_rx
    dlm, _ = run_lengths_km(d_km, zn, m + 2, False, ZONE_INLAND)
    d_km[m + 1] = d_keep
    zn[m + 1] = z_keep
    return dlm, zone_rx, n_zoned


@njit_noalloc
def _nu_below(d_km, zz, m, d, hts, z_r, nu_floor2):
    """True when every intermediate point i = 1..m has nu_i sqrt(lambda) below -sqrt(nu_floor2)
    (see :func:`_nu_scan`): N_i < 0 and N_i^2 0.002 d > nu_floor2 d_i (d - d_i). A count over
    all points without branches or divisions, which the compiler vectorises; the expression of
    N_i is the scan's."""
    chord = (z_r - hts) / d
    a = 0.002 * d
    n_above = 0
    for i in range(1, m + 1):
        di = d_km[i]
        n_i = zz[i] - (hts + di * chord)
        n_above += (n_i >= 0.0) | (n_i * n_i * a <= nu_floor2 * (di * (d - di)))
    return n_above == 0


@njit_noalloc
def _smooth_nu(step_km, m, d, hts, z_r, bulge):
    """LoS ``nu_max * sqrt(lambda)`` of the smooth profile z_i = -bulge d_i^2 at d_i = i step
    (i = 1..m). Where the concave clearance N(x) = -bulge x^2 - hts - chord x stays below zero
    over [d_1, d_m], -nu(x) = (-N(x)) / sqrt(x (d - x)) sqrt(0.002 d) is a positive convex
    function over a positive concave one, hence quasi-convex: the samples fall then rise, and
    a binary search finds the maximum in O(log m). Otherwise (a grazing path) all samples are
    scanned."""
    chord = (z_r - hts) / d
    x = min(max(-chord / (2.0 * bulge), step_km), m * step_km)  # maximiser of N on [d_1, d_m]
    if -bulge * x * x - (hts + x * chord) >= 0.0:
        best = -np.inf
        for i in range(1, m + 1):
            x = i * step_km
            v = (-bulge * x * x - (hts + x * chord)) * math.sqrt(0.002 * d / (x * (d - x)))
            if v > best:
                best = v
        return best
    lo = 1
    hi = m
    while lo < hi:
        mid = (lo + hi) // 2
        x0 = mid * step_km
        x1 = (mid + 1) * step_km
        n0 = -bulge * x0 * x0 - (hts + x0 * chord)
        n1 = -bulge * x1 * x1 - (hts + x1 * chord)
        # nu_1 > nu_0 with both N < 0: N_1^2 / (x1 (d - x1)) < N_0^2 / (x0 (d - x0))
        if n1 * n1 * (x0 * (d - x0)) < n0 * n0 * (x1 * (d - x1)):
            lo = mid + 1
        else:
            hi = mid
    x = lo * step_km
    return (-bulge * x * x - (hts + x * chord)) * math.sqrt(0.002 * d / (x * (d - x)))


@njit_noalloc
def _nu_or_bound(d_km, zz, m, d, hts, z_r, n_max, i_max, sqrt_lam):
    """``nu_max * sqrt(lambda)`` (see :func:`_nu_scan`), or an upper bound of it when that bound
    already puts the knife-edge loss J(nu) at zero (nu <= -0.78, P.1812-8 eq. (12)).

    ``n_max`` is an upper bound of the clearance terms N_i = z_i - (hts + d_i chord); when it is
    negative, nu_i = N_i sqrt(0.002 d / (d_i (d - d_i))) <= n_max sqrt(0.008 / d) because
    d_i (d - d_i) <= d^2 / 4. The Bullington loss is then exactly the same as with the scan.
    ``i_max`` (1..m) seeds the scan (:func:`_nu_scan`).
    """
    if n_max < 0.0:
        bound = n_max * math.sqrt(0.008 / d)
        if bound / sqrt_lam < -0.78 - 1e-9:
            return bound
    nu, _ = _nu_scan(d_km, zz, m, d, hts, z_r, i_max)
    return nu


@njit_noalloc
def _run_close(d_km, start, stop, d_next):
    """Length [km] of a zone run over points start..stop followed by a point at ``d_next``
    (P.1812-8 section 3.6: half of each adjoining interval counts)."""
    length = d_km[stop] - d_km[start] + 0.5 * (d_next - d_km[stop])
    if start > 0:
        length += 0.5 * (d_km[start] - d_km[start - 1])
    return length


# ----------------------------------------------------------------------------------------------
# the radial sweep


@njit_noalloc
def _sweep_one_ray(dem_m, affine6, coast_km, site_x_m, site_y_m, az_rad, step_m, n_steps, htg_m,
                   hrg_m, ae_km, consts, dct_km, dcr_km, q_dist_m, q_h_m, q_index, loss_out,
                   terms_out, work):
    """P.1812-8 loss from the site to receivers along one radial.

    The profile samples are ``j * step_m`` from the site along azimuth ``az_rad`` (clockwise
    from north). Receiver ``q`` (sorted by ``q_dist_m``) sees the samples ``1 .. m`` with
    ``m = ceil(q_dist_m / step_m) - 1`` as intermediate points and itself, at ``q_dist_m`` with
    terrain height ``q_h_m`` [m], as the last point - exactly the profile
    :func:`~covkit.propagation.terrain.sample_profile` builds to a point on this azimuth. The
    terrain state (hulls, running maxima, prefix sums, zone runs) is extended one sample at a
    time; each receiver costs O(log n) plus the stage-2 kernel, and O(m) only for the LoS
    diffraction parameter and the roughness ``hm`` scans. ``consts`` holds one row of the
    site's stage-2 constants (:func:`~covkit.propagation.p1812.p1812_constants`) per carrier
    frequency: the terrain terms do not depend on it, so they are found once and stage 2 runs
    once per row, writing ``loss_out[row, q_index[q]]``; if ``terms_out`` has rows (one
    frequency only), ``terms_out[q]`` gets every term. ``work`` holds scratch arrays
    (:func:`_work_buffers`), reused across radials. The heights are sampled up front
    (:func:`_sample_ray`).

    Without ``terms_out`` rows at p = 50 %, a line-of-sight receiver whose every point has
    nu_i <= -0.78 (:func:`_nu_below`, a vectorised count; J(nu_max) = 0) does not look for the
    point of largest nu: it matters for Lb only through the ducting loss, which stage 2 then
    bounds without it and reports when the bound does not settle Lb; only then is the point
    found (:func:`_nu_scan`) and stage 2 run again. The loss is the same either way. Srim of the
    smooth profile, which only a trans-horizon Bullington loss reads, is skipped likewise.
    With several frequencies these shortcuts take the longest wavelength's threshold (nu <=
    -0.78 in units of sqrt(lambda) holds for every shorter one): each row's loss is the loss
    of that frequency alone.
    """
    n_q = q_dist_m.shape[0]
    n_f = consts.shape[0]
    k_lam = 0  # the row of the longest wavelength
    for f in range(1, n_f):
        if consts[f, P.C_LAMBDA] > consts[k_lam, P.C_LAMBDA]:
            k_lam = f
    p_pct = consts[0, P.C_P_PCT]
    step_km = step_m / 1000.0
    ux = math.sin(az_rad)
    uy = math.cos(az_rad)
    d_km, h, z50, zb, zn, terms, out, rx_, ry_, ri_, ax_, ay_, ai_, bx_, by_, bi_ = work
    n_raw = 0
    n_50 = 0
    n_b = 0
    bulge50 = 500.0 / ae_km
    bulge_bb = 500.0 * (1.0 / ae_km)  # Bullington form 500 C_e, as in p1812_profile_terms
    bulge_b = 500.0 * (1.0 / (K_BETA * EARTH_RADIUS_KM))
    sqrt_lam = consts[k_lam, P.C_SQRT_LAMBDA]
    need_beta = p_pct != 50.0  # the a_beta terms only matter below 50 % time
    # the LoS Bullington point may be deferred (see p1812_loss_from_constants) at p = 50 %
    # when only losses are wanted; nu_floor2: nu_i <= -0.78 sqrt(lambda) (J = 0, eq. (12))
    # with a relative margin for rounding, squared
    full_terms = terms_out.shape[0] > 0
    defer_ok = not need_beta and not full_terms
    nu_floor2 = 0.6084 * consts[k_lam, P.C_LAMBDA] * (1.0 + 1e-9)
    # fractional cell coordinates along the ray: sample j is at (fc0 + j dfc, fr0 + j dfr)
    fc0, fr0 = cell_coords(affine6, site_x_m, site_y_m)
    dfc = step_m * ux / affine6[1]
    dfr = step_m * uy / affine6[5]
    h[0] = bilinear_at(dem_m, fc0, fr0)
    # every height the receivers need, up front in one branch-free loop
    n_need = min(profile_segments(q_dist_m[n_q - 1], step_m) - 1, n_steps - 1)
    j_bad = _sample_ray(dem_m, fc0, fr0, dfc, dfr, n_need, step_km, bulge50,
                        bulge_b if need_beta else 0.0, h, d_km, z50, zb)
    d_km[0] = 0.0
    z50[0] = h[0]
    zb[0] = h[0]
    hts = h[0] + htg_m
    tx_sea = zone_of_height(h[0]) == ZONE_SEA
    # coastal land (zone 3) matters only for dlm, the longest inland section (beta0): the
    # zones of the samples are found when a receiver needs dlm (n_zoned: zn[0..n_zoned-1] set)
    has_coast = coast_km.shape[0] > 0
    zn[0] = zone_at(h[0], coast_km, fc0, fr0)
    n_zoned = 1
    # running state over the intermediate points 1..m
    v1 = 0.0  # eqs. (85), (86) prefix sums over the intervals up to sample m
    v2 = 0.0
    rt50 = -np.inf  # max (z50_i - hts) / d_i, first arg-max i_t
    i_t = 1
    theta_max_slope = np.nan  # rt50 for which theta_max [mrad] was last computed
    theta_max = np.nan
    rtb_g = -np.inf  # same with a_beta
    robt = -np.inf  # max (h_i - hts) / d_i, arg-max i_obt
    i_obt = 1
    # zone runs over the points 0..m: (longest land run closed, open run start), sea total
    land_best = 0.0
    sea_closed = 0.0
    run_start = 0
    run_sea = tx_sea
    m = 0
    q = 0
    while q < n_q:
        dist_m = q_dist_m[q]
        target = profile_segments(dist_m, step_m) - 1  # last intermediate sample index
        if target > n_steps - 1:
            target = n_steps - 1
        # extend the sampled profile to the intermediate points 1..target
        ok = np.isfinite(h[0])
        while ok and m < target:
            j = m + 1
            if j >= j_bad:
                ok = False
                break
            hj = h[j]
            dj = d_km[j]
            dd = dj - d_km[m]
            v1 += dd * (h[j] + h[m])
            v2 += dd * (h[j] * (2.0 * dj + d_km[m]) + h[m] * (dj + 2.0 * d_km[m]))
            is_sea = zone_of_height(hj) == ZONE_SEA
            if is_sea != run_sea:
                length = _run_close(d_km, run_start, m, dj)
                if run_sea:
                    sea_closed += length
                else:
                    land_best = max(land_best, length)
                run_start = j
                run_sea = is_sea
            # running maxima of slopes (v - hts) / d_j, compared without dividing
            v = z50[j] - hts
            if v > rt50 * dj:
                rt50 = v / dj
                i_t = j
            if need_beta:
                v = zb[j] - hts
                if v > rtb_g * dj:
                    rtb_g = v / dj
                n_b = hull_push(bx_, by_, bi_, n_b, dj, zb[j], j)
            v = hj - hts
            if v > robt * dj:
                robt = v / dj
                i_obt = j
            n_raw = hull_push(rx_, ry_, ri_, n_raw, dj, hj, j)
            n_50 = hull_push(ax_, ay_, ai_, n_50, dj, z50[j], j)
            m = j
        if not ok:
            break  # the ray left the DEM: this and farther receivers stay NaN
        hn = q_h_m[q]
        out_i = q_index[q]
        q += 1
        if not np.isfinite(hn):
            for f in range(n_f):
                loss_out[f, out_i] = np.nan
            continue
        hrs = hn + hrg_m
        if target < 1 or m < 1:
            for f in range(n_f):
                loss_out[f, out_i] = free_space_db(dist_m, hts, hrs, consts[f, P.C_F_GHZ])
            continue
        d = dist_m / 1000.0
        # --- smooth-Earth surface (eqs. (85)-(88)) with the receiver interval appended
        dd = d - d_km[m]
        v1q = v1 + dd * (hn + h[m])
        v2q = v2 + dd * (hn * (2.0 * d + d_km[m]) + h[m] * (d + 2.0 * d_km[m]))
        hst_n = (2.0 * v1q * d - v2q) / (d * d)
        hsr_n = (v2q - v1q * d) / (d * d)
        # --- obstruction terms (eq. (89)) from the raw-height hull
        k = hull_extreme(rx_, ry_, ri_, n_raw, (hrs - hts) / d)
        hobs = h[k] - (hts * (d - d_km[k]) + hrs * d_km[k]) / d
        a_obt = (h[i_obt] - (hts * (d - d_km[i_obt]) + hrs * d_km[i_obt]) / d) / d_km[i_obt]
        k = hull_tangent_right(rx_, ry_, ri_, n_raw, d, hrs)
        a_obr = (h[k] - (hts * (d - d_km[k]) + hrs * d_km[k]) / d) / (d - d_km[k])
        hstd, hsrd = P.diffraction_surface_heights_m(hst_n, hsr_n, hobs, a_obt, a_obr, h[0], hn)
        # --- horizons (eqs. (76)-(84))
        zh_r = hrs - bulge50 * d * d
        i_r = hull_tangent_right(ax_, ay_, ai_, n_50, d, zh_r)
        slope_r = (z50[i_r] - zh_r) / (d - d_km[i_r])
        if rt50 != theta_max_slope:  # theta_max changes only with the running maximum
            theta_max_slope = rt50
            theta_max = 1000.0 * math.atan(rt50 / 1000.0)
        pathtype, theta_t, theta_r = P.horizon_angles_mrad(rt50, slope_r, hts, hrs, d, ae_km,
                                                           theta_max)
        nu_a50 = np.nan
        i_nu = 1
        deferred = False
        if pathtype != 2.0:  # line of sight: the horizons are the point of largest nu
            if defer_ok and _nu_below(d_km, z50, m, d, hts, zh_r, nu_floor2):
                # J(nu_max) = 0: at p = 50 % the point of largest nu then enters Lb only
                # through the ducting loss, which stage 2 bounds without it
                deferred = True
                nu_a50 = -np.inf
            else:
                seed = hull_extreme(ax_, ay_, ai_, n_50, (zh_r - hts) / d)
                nu_a50, i_nu = _nu_scan(d_km, z50, m, d, hts, zh_r, seed)
        lt, lr, dlt, dlr = P.horizon_points(pathtype, i_t, i_r, i_nu, d_km, d)
        # --- zones (section 3.6) with the receiver appended
        rx_sea = zone_of_height(hn) == ZONE_SEA
        # whether land is coastal matters only for dlm: found with it (below)
        zone_rx = ZONE_SEA if rx_sea else ZONE_INLAND
        if rx_sea == run_sea:
            cur = d - d_km[run_start]
            if run_start > 0:
                cur += 0.5 * (d_km[run_start] - d_km[run_start - 1])
            if rx_sea:
                dtm = land_best
                sea = sea_closed + cur
            else:
                dtm = max(land_best, cur)
                sea = sea_closed
        else:
            closed = _run_close(d_km, run_start, m, d)
            if rx_sea:  # the land run closes at m, the receiver starts a sea run
                dtm = max(land_best, closed)
                sea = sea_closed + 0.5 * dd
            else:
                dtm = max(land_best, 0.5 * dd)
                sea = sea_closed + closed
        # hm and (with coastal land) dlm enter Lb at p = 50 % only through the exact ducting
        # loss: left out (NaN) when losses alone are wanted, stage 2 asks for them where needed
        k_hm = -2
        dlm = dtm  # without coastal land, every land point is inland
        if has_coast:
            dlm = np.nan
        if not defer_ok:
            k_hm = _hm_point(rx_, ry_, ri_, n_raw, lt, lr, hst_n, hsr_n, h[0], hn, d)
            if has_coast:
                dlm, zone_rx, n_zoned = _inland_km(d_km, h, zn, n_zoned, m, d, hn,
                                                   dist_m / step_m, coast_km, fc0, fr0, dfc, dfr)
        P.store_profile_terms(terms, d_km, h, d, hts, hrs, hn, htg_m, hrg_m, ae_km, lt, lr, dlt,
                              dlr, pathtype, theta_t, theta_r, hst_n, hsr_n, hstd, hsrd, dtm, dlm,
                              sea / d, zn[0], zone_rx, k_hm)
        if deferred:
            terms[P.T_DLT] = np.nan
            terms[P.T_DLR] = np.nan
        # --- Bullington terms, actual profile (g = h: no clutter on the profile)
        str_a = (hrs - hts) / d
        terms[P.T_STR_A] = str_a
        stim = rt50 + bulge_bb * d
        terms[P.T_STIM_A50] = stim
        z_rg = hrs - bulge_bb * d * d
        terms[P.T_SRIM_A50] = (h[i_r] - bulge_bb * d_km[i_r] * d_km[i_r] - z_rg) \
            / (d - d_km[i_r]) - bulge_bb * d
        if stim < str_a:
            if np.isnan(nu_a50):
                seed = hull_extreme(ax_, ay_, ai_, n_50, (zh_r - hts) / d)
                nu_a50, _ = _nu_scan(d_km, z50, m, d, hts, zh_r, seed)
            terms[P.T_NU_A50] = nu_a50
        else:
            terms[P.T_NU_A50] = -np.inf  # not used on a trans-horizon path
        if need_beta:
            stim = rtb_g + bulge_b * d
            terms[P.T_STIM_AB] = stim
            z_rb = hrs - bulge_b * d * d
            k = hull_tangent_right(bx_, by_, bi_, n_b, d, z_rb)
            terms[P.T_SRIM_AB] = (zb[k] - z_rb) / (d - d_km[k]) - bulge_b * d
            if stim < str_a:
                chord = (z_rb - hts) / d
                k = hull_extreme(bx_, by_, bi_, n_b, chord)
                terms[P.T_NU_AB] = _nu_or_bound(d_km, zb, m, d, hts, z_rb,
                                                zb[k] - hts - chord * d_km[k], k, sqrt_lam)
            else:
                terms[P.T_NU_AB] = -np.inf
        else:  # a_beta terms do not enter Lb at p = 50 % (P.1812-8 eq. (41))
            for t in (P.T_STIM_AB, P.T_SRIM_AB, P.T_NU_AB, P.T_STIM_SB, P.T_SRIM_SB,
                      P.T_NU_SB):
                terms[t] = np.nan
        # --- Bullington terms, smooth profile
        hts_s = hts - hstd
        hrs_s = hrs - hsrd
        str_s = (hrs_s - hts_s) / d
        terms[P.T_STR_S] = str_s
        for which in range(2 if need_beta else 1):
            bl = bulge_bb if which == 0 else bulge_b
            stim = _smooth_stim(step_km, m, d, hts_s, bl)
            srim = np.nan  # Srim enters only a trans-horizon Bullington loss (eqs. (17)-(20))
            if stim >= str_s or full_terms:
                srim = _smooth_srim(step_km, m, d, hrs_s, bl)
            if stim < str_s:
                z_rs = hrs_s - bl * d * d
                chord = (z_rs - hts_s) / d
                # N(x) = -bl x^2 - hts_s - chord x is concave: its maximum on [d_1, d_m]
                x = min(max(-chord / (2.0 * bl), d_km[1]), d_km[m])
                n_max = -bl * x * x - hts_s - chord * x
                nu = n_max * math.sqrt(0.008 / d)  # bound, exact J = 0 below -0.78 (eq. (12))
                if n_max >= 0.0 or nu / sqrt_lam >= -0.78 - 1e-9:
                    nu = _smooth_nu(step_km, m, d, hts_s, z_rs, bl)
            else:
                nu = -np.inf
            base = P.T_STIM_S50 if which == 0 else P.T_STIM_SB
            terms[base] = stim
            terms[base + 1] = srim
            terms[base + 2] = nu
        completed = False  # the terms left out (see above) are filled in
        for f in range(n_f):
            cf = consts[f]
            if not P.p1812_loss_from_constants(terms, cf, dct_km, dcr_km, out, True):
                # the ducting loss needs what was left out: the LoS point of largest nu, hm
                if not completed:
                    completed = True
                    if deferred:
                        seed = hull_extreme(ax_, ay_, ai_, n_50, (zh_r - hts) / d)
                        terms[P.T_NU_A50], i_nu = _nu_scan(d_km, z50, m, d, hts, zh_r, seed)
                        lt, lr, dlt, dlr = P.horizon_points(pathtype, i_t, i_r, i_nu, d_km, d)
                    if has_coast:
                        dlm, zone_rx, n_zoned = _inland_km(d_km, h, zn, n_zoned, m, d, hn,
                                                           dist_m / step_m, coast_km, fc0, fr0,
                                                           dfc, dfr)
                    P.store_profile_terms(terms, d_km, h, d, hts, hrs, hn, htg_m, hrg_m, ae_km,
                                          lt, lr, dlt, dlr, pathtype, theta_t, theta_r, hst_n,
                                          hsr_n, hstd, hsrd, dtm, dlm, sea / d, zn[0], zone_rx,
                                          _hm_point(rx_, ry_, ri_, n_raw, lt, lr, hst_n, hsr_n,
                                                    h[0], hn, d))
                P.p1812_loss_from_constants(terms, cf, dct_km, dcr_km, out, True)
            loss_out[f, out_i] = out[P.O_LB]
        if terms_out.shape[0] > 0:
            for t in range(P.N_TERMS):
                terms_out[q - 1, t] = terms[t]


@njit_noalloc
def _sample_ray(dem_m, fc0, fr0, dfc, dfr, n, step_km, bulge50, bulge_b, h, d_km, z50, zb):
    """Heights ``h[1..n]`` of the ray's samples (at fractional cell ``(fc0 + j dfc, fr0 + j
    dfr)``), with ``d_km``, ``z50`` (effective-earth bulge removed) and ``zb`` (bulge at
    ``bulge_b``; not written when 0). Returns the first ``j`` whose height is not finite, or
    ``n + 1``. The values equal :func:`~covkit.propagation.terrain.bilinear_at` bit for bit:
    when both ends of the ray are interior so is every sample (the cells are affine in ``j``),
    and the branch-free loop uses its interior fast path."""
    if n < 1:
        return n + 1
    nrows, ncols = dem_m.shape
    fc1 = fc0 + n * dfc
    fr1 = fr0 + n * dfr
    lo = 1
    if (fc0 + dfc >= 0.0 and fr0 + dfr >= 0.0 and fc0 + dfc < ncols - 1 and fr0 + dfr < nrows - 1
            and fc1 >= 0.0 and fr1 >= 0.0 and fc1 < ncols - 1 and fr1 < nrows - 1):
        for j in range(1, n + 1):
            h[j] = bilinear_interior(dem_m, fc0 + j * dfc, fr0 + j * dfr)
        lo = n + 1
    for j in range(lo, n + 1):
        h[j] = bilinear_at(dem_m, fc0 + j * dfc, fr0 + j * dfr)
    for j in range(1, n + 1):
        dj = j * step_km
        d_km[j] = dj
        z50[j] = h[j] - bulge50 * dj * dj
    if bulge_b != 0.0:
        for j in range(1, n + 1):
            dj = d_km[j]
            zb[j] = h[j] - bulge_b * dj * dj
    for j in range(1, n + 1):
        if not np.isfinite(h[j]):
            if lo == n + 1:  # a NaN neighbour of zero weight? the careful lookup decides
                v = bilinear_at(dem_m, fc0 + j * dfc, fr0 + j * dfr)
                if np.isfinite(v):
                    h[j] = v
                    dj = d_km[j]
                    z50[j] = v - bulge50 * dj * dj
                    if bulge_b != 0.0:
                        zb[j] = v - bulge_b * dj * dj
                    continue
            return j
    return n + 1


@njit
def ray_profile_loss_p1812(dem_m, affine6, coast_km, site_x_m, site_y_m, az_rad, step_m, q_dist_m,
                           q_h_m, htg_m, hrg_m, ae_km, f_ghz, p_pct, pl_pct, sigma_l_db, pol, n0,
                           phi_deg, dct_km, dcr_km, with_terms=True):
    """Losses and terrain terms for receivers at sorted distances along one azimuth (tests,
    diagnostics). Returns ``(loss_db, terms)`` with one row of every terrain term per receiver,
    or, with ``with_terms`` False, no rows and the losses exactly as the grid engine computes
    them (which may leave a line-of-sight Bullington point out, see :func:`_sweep_one_ray`)."""
    n_q = q_dist_m.shape[0]
    n_steps = profile_segments(q_dist_m[n_q - 1], step_m) + 1
    loss = np.full((1, n_q), np.nan)
    terms = np.full((n_q if with_terms else 0, P.N_TERMS), np.nan)
    consts = np.empty((1, P.N_CONSTS))
    P.p1812_constants(f_ghz, p_pct, pl_pct, sigma_l_db, pol, n0, phi_deg, consts[0])
    _sweep_one_ray(dem_m, affine6, coast_km, site_x_m, site_y_m, az_rad, step_m, n_steps, htg_m,
                   hrg_m, ae_km, consts, dct_km, dcr_km, q_dist_m, q_h_m, np.arange(n_q), loss,
                   terms, _work_buffers(n_steps))
    return loss[0], terms


@njit
def _work_buffers(n_steps):
    """Scratch arrays for :func:`_sweep_one_ray`."""
    n = n_steps + 1
    f = np.empty
    return (f(n), f(n), f(n), f(n), f(n), f(P.N_TERMS), f(P.N_OUT),
            f(n), f(n), f(n, np.int64), f(n), f(n), f(n, np.int64), f(n), f(n), f(n, np.int64))


@njit_noalloc
def _azimuth_rad(dx, dy):
    """Azimuth of (dx, dy) clockwise from north in [0, 2 pi), within 1.2e-5 rad: an octant
    reduction and a minimax polynomial for atan on [0, 1] (Abramowitz & Stegun 4.4.49) instead
    of atan2; it only picks a pixel's nearest radial, where that is immaterial."""
    ax = abs(dx)
    ay = abs(dy)
    big = max(ax, ay)
    if big == 0.0:
        return 0.0
    a = min(ax, ay) / big
    s = a * a
    t = a * (0.9998660 + s * (-0.3302995 + s * (0.1801410 + s * (-0.0851330 + s * 0.0208351))))
    if ax > ay:
        t = 0.5 * math.pi - t  # angle from north of (dx, dy) in the first quadrant
    if dy < 0.0:
        t = math.pi - t
    if dx < 0.0:
        t = 2.0 * math.pi - t
    return t if t < 2.0 * math.pi else 0.0


@njit_noalloc
def _radials_of_rows(site_x_m, site_y_m, radius_m, affine6, row0, col0, r_lo, r_hi, n_cols,
                     n_rad, rad, dist):
    """Nearest radial (``-1`` beyond ``radius_m``) and distance from the site [m] of the window
    pixels in rows ``r_lo..r_hi - 1``, written at their flat index ``r * n_cols + c``."""
    dphi = 2.0 * math.pi / n_rad
    for rr in range(r_lo, r_hi):
        yc = affine6[3] + (row0 + rr + 0.5) * affine6[5]
        for cc in range(n_cols):
            xc = affine6[0] + (col0 + cc + 0.5) * affine6[1]
            dx = xc - site_x_m
            dy = yc - site_y_m
            r2 = dx * dx + dy * dy
            i = rr * n_cols + cc
            if r2 > radius_m * radius_m:
                rad[i] = -1
                continue
            k = int(_azimuth_rad(dx, dy) / dphi + 0.5)  # >= 0: truncation is floor
            if k >= n_rad:
                k -= n_rad
            rad[i] = k
            dist[i] = math.sqrt(r2)


@njit_noalloc
def _count_per_radial(rad, counts):
    """``counts[k + 1]`` += the number of pixels of radial ``k`` (``rad[i] == k``)."""
    for i in range(rad.shape[0]):
        if rad[i] >= 0:
            counts[rad[i] + 1] += 1


@njit_noalloc
def _fill_by_radial(rad, dist, fill, flat, dsorted):
    """Counting sort of the pixels by radial, in pixel order within a radial: pixel ``i`` goes
    to slot ``fill[rad[i]]`` (then incremented) of ``flat`` (its index) and ``dsorted``."""
    for i in range(rad.shape[0]):
        k = rad[i]
        if k >= 0:
            flat[fill[k]] = i
            dsorted[fill[k]] = dist[i]
            fill[k] += 1


@njit_noalloc
def _insertion_sort(dsorted, flat, a, b):
    """Stable insertion sort of ``dsorted[a:b]`` (and ``flat`` along with it), in place."""
    for i in range(a + 1, b):
        dv = dsorted[i]
        fv = flat[i]
        j = i - 1
        while j >= a and dsorted[j] > dv:
            dsorted[j + 1] = dsorted[j]
            flat[j + 1] = flat[j]
            j -= 1
        dsorted[j + 1] = dv
        flat[j + 1] = fv


@njit_noalloc
def _merge_runs(src_d, src_f, dst_d, dst_f, width):
    """Merge the sorted runs of ``width`` of ``src_d`` (``src_f`` along with it) pairwise into
    ``dst_d``, ``dst_f`` (as long); on ties the left run's element comes first (stable)."""
    n = src_d.shape[0]
    lo = 0
    while lo < n:
        mid = min(lo + width, n)
        hi = min(lo + 2 * width, n)
        i = lo
        j = mid
        o = lo
        while i < mid and j < hi:
            if src_d[j] < src_d[i]:
                dst_d[o] = src_d[j]
                dst_f[o] = src_f[j]
                j += 1
            else:
                dst_d[o] = src_d[i]
                dst_f[o] = src_f[i]
                i += 1
            o += 1
        while i < mid:
            dst_d[o] = src_d[i]
            dst_f[o] = src_f[i]
            i += 1
            o += 1
        while j < hi:
            dst_d[o] = src_d[j]
            dst_f[o] = src_f[j]
            j += 1
            o += 1
        lo = hi


_RUN = 32
"""Length of the runs :func:`sort_by_distance` sorts by insertion before merging."""


@njit_noalloc
def sort_by_distance(dsorted, flat, a, b, tmp_d, tmp_f):
    """Stable sort of one radial's pixels ``dsorted[a:b]`` by distance, ``flat`` along with it:
    insertion sort of runs of 32 (a radial's pixels are typically a dozen), then bottom-up
    merges through the scratch arrays ``tmp_d``, ``tmp_f`` (at least ``b - a`` long). Any
    stable sort gives the same order: that of a stable argsort."""
    n = b - a
    for s in range(a, b, _RUN):
        _insertion_sort(dsorted, flat, s, min(s + _RUN, b))
    width = _RUN
    in_tmp = False
    while width < n:  # slices of one layout: one compiled _merge_runs
        if in_tmp:
            _merge_runs(tmp_d[:n], tmp_f[:n], dsorted[a:b], flat[a:b], width)
        else:
            _merge_runs(dsorted[a:b], flat[a:b], tmp_d[:n], tmp_f[:n], width)
        in_tmp = not in_tmp
        width *= 2
    if in_tmp:
        for t in range(n):
            dsorted[a + t] = tmp_d[t]
            flat[a + t] = tmp_f[t]


def assign_pixels_to_radials(site_x_m, site_y_m, radius_m, affine6, row0, col0, n_rows,
                             n_cols, n_rad, n_threads=None):
    """Group the window's pixels within ``radius_m`` by nearest radial, sorted by distance.

    Returns CSR arrays ``(offsets[n_rad + 1], dist_m, flat_index)``: the pixels of radial ``k``
    are ``offsets[k]:offsets[k + 1]``, with their distance from the site [m] and flat index
    ``r * n_cols + c`` into the window. Rows go in parallel on ``n_threads`` threads (default:
    Numba's thread count). :func:`radial_sweep_p1812` groups the pixels the same way and sorts
    each radial in its parallel sweep instead.
    """
    offsets, dist, flat = _group_pixels(site_x_m, site_y_m, radius_m, affine6, row0, col0,
                                        n_rows, n_cols, n_rad,
                                        thread_count() if n_threads is None else n_threads)
    longest = int(np.max(np.diff(offsets))) if n_rad else 0
    tmp_d = np.empty(longest)
    tmp_f = np.empty(longest, np.int64)
    for k in range(n_rad):
        sort_by_distance(dist, flat, offsets[k], offsets[k + 1], tmp_d, tmp_f)
    return offsets, dist, flat


def _group_pixels(site_x_m, site_y_m, radius_m, affine6, row0, col0, n_rows, n_cols, n_rad,
                  n_threads):
    """:func:`assign_pixels_to_radials` without the sort by distance within each radial (rows
    in parallel, then a counting sort)."""
    n_px = n_rows * n_cols
    rad = np.empty(n_px, np.int64)
    dist = np.empty(n_px)
    run_parallel(_radials_of_rows,
                 [(site_x_m, site_y_m, radius_m, affine6, row0, col0, lo, hi, n_cols, n_rad,
                   rad, dist) for lo, hi in row_bands(n_rows, n_threads)], n_threads)
    counts = np.zeros(n_rad + 1, np.int64)
    _count_per_radial(rad, counts)
    offsets = np.cumsum(counts)
    flat = np.empty(offsets[n_rad], np.int64)
    dsorted = np.empty(offsets[n_rad])
    _fill_by_radial(rad, dist, offsets[:-1].copy(), flat, dsorted)
    return offsets, dsorted, flat


@njit_noalloc
def sweep_radials_p1812(dem_m, affine6, coast_km, site_x_m, site_y_m, htg_m, hrg_m, n_radials,
                        step_m, n_steps, ae_km, consts, dct_km, dcr_km, offsets, dist, flat,
                        k0, k_step, out, h_rx, no_terms, work, tmp_d, tmp_f):
    """The radials ``k0, k0 + k_step, ...`` of :func:`radial_sweep_p1812`: sorts each radial's
    pixels by distance (:func:`sort_by_distance`), takes the terrain height at each one's point
    on the radial and runs :func:`_sweep_one_ray`, writing ``out[:, flat[t]]`` (a row per
    frequency, ``consts`` a row of constants per frequency). Radials write
    disjoint pixels, so calls for disjoint sets of radials may run in parallel (each with its
    own ``work``, ``tmp_d``, ``tmp_f``; ``h_rx`` is shared, indexed like ``dist``)."""
    for k in range(k0, n_radials, k_step):
        a = offsets[k]
        b = offsets[k + 1]
        if b == a:
            continue
        sort_by_distance(dist, flat, a, b, tmp_d, tmp_f)
        az = 2.0 * math.pi * k / n_radials
        ux = math.sin(az)
        uy = math.cos(az)
        for t in range(a, b):
            h_rx[t] = bilinear_height_m(dem_m, affine6, site_x_m + dist[t] * ux,
                                        site_y_m + dist[t] * uy)
        _sweep_one_ray(dem_m, affine6, coast_km, site_x_m, site_y_m, az, step_m, n_steps, htg_m,
                       hrg_m, ae_km, consts, dct_km, dcr_km, dist[a:b], h_rx[a:b], flat[a:b],
                       out, no_terms, work)


def _work_arrays(n_steps):
    """:func:`_work_buffers` allocated by NumPy (the same arrays)."""
    n = n_steps + 1
    f = np.empty
    return (f(n), f(n), f(n), f(n), f(n), f(P.N_TERMS), f(P.N_OUT),
            f(n), f(n), f(n, np.int64), f(n), f(n), f(n, np.int64), f(n), f(n), f(n, np.int64))


TASKS_PER_THREAD = 4
"""Sets of radials per thread in :func:`radial_sweep_p1812` (more sets than threads balance
the load when a thread is slowed down, e.g. on a shared machine)."""


def radial_sweep_p1812(dem_m, affine6, coast_km, site_x_m, site_y_m, htg_m, hrg_m, n_radials,
                       step_m, n_steps, radius_m, row0, col0, n_rows, n_cols, ae_km, f_ghz, p_pct,
                       pl_pct, sigma_l_db, pol, n0, phi_deg, dct_km, dcr_km, n_threads=None):
    """P.1812-8 basic transmission loss [dB] over a window of the grid, by radial sweep.

    Every pixel within ``radius_m`` is assigned to its nearest radial (azimuth
    ``2 pi k / n_radials`` clockwise from north) and takes the loss at the radial's point at the
    pixel's distance, receiver height from the terrain at that point (:func:`_sweep_one_ray`).
    Returns a float64 ``(n_rows, n_cols)`` window, NaN beyond the radius or the DEM.
    ``f_ghz`` may also be a 1-D array of frequencies: the result is then ``(n_f, n_rows,
    n_cols)``, one window per frequency, each equal to that frequency's window alone; the
    pixel grouping, the profiles and the terrain terms, which do not depend on the frequency,
    are found once for all of them (a site's bands cost little more than its first).

    Parallel over radials on ``n_threads`` threads (default: Numba's thread count,
    ``numba.get_num_threads()``), each running the compiled, non-parallel
    :func:`sweep_radials_p1812` on its own set of radials: the result does not depend on the
    thread count. (A ``prange`` kernel would compile the whole P.1812 chain a second time into
    its parallel loop body, most of a first run's compile time.)
    """
    n_threads = thread_count() if n_threads is None else max(1, int(n_threads))
    offsets, dist, flat = _group_pixels(site_x_m, site_y_m, radius_m, affine6, row0, col0,
                                        n_rows, n_cols, n_radials, n_threads)
    freqs_ghz = np.atleast_1d(np.asarray(f_ghz, dtype=np.float64))
    if freqs_ghz.ndim != 1 or freqs_ghz.size == 0:
        raise ValueError("f_ghz must be a frequency or a 1-D array of them")
    out = np.full((freqs_ghz.size, n_rows * n_cols), np.nan)
    h_rx = np.empty(flat.shape[0])
    no_terms = np.empty((0, P.N_TERMS))
    consts = np.empty((freqs_ghz.size, P.N_CONSTS))
    for f, fq in enumerate(freqs_ghz):
        P.p1812_constants(float(fq), p_pct, pl_pct, sigma_l_db, pol, n0, phi_deg, consts[f])
    longest = int(np.max(np.diff(offsets))) if n_radials else 0
    n_sets = min(n_radials, 1 if n_threads == 1 else TASKS_PER_THREAD * n_threads)
    tasks = [(dem_m, affine6, coast_km, site_x_m, site_y_m, htg_m, hrg_m, n_radials, step_m,
              n_steps, ae_km, consts, dct_km, dcr_km, offsets, dist, flat, s, n_sets, out, h_rx,
              no_terms, _work_arrays(n_steps), np.empty(longest), np.empty(longest, np.int64))
             for s in range(n_sets)]
    run_parallel(sweep_radials_p1812, tasks, n_threads)
    if np.ndim(f_ghz) == 0:
        return out.reshape((n_rows, n_cols))
    return out.reshape((freqs_ghz.size, n_rows, n_cols))
