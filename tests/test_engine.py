"""Radial-sweep engine against the exact-profile reference.

Gates (issue 3): receivers on a radial equal the reference to 1e-6 dB; on a rugged DEM, at
random pixels, median |engine - reference| < 0.5 dB and 95 % within 1 dB; flat terrain gives the
closed form and radial symmetry.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter

from covkit.errors import CovkitInputError
from covkit.parameters import PARAMS
from covkit.propagation import engine as E
from covkit.propagation import p1812 as P
from covkit.propagation.empirical import fspl_loss_db
from covkit.propagation.engine import hull as H
from covkit.propagation.engine import sweep as S
from covkit.propagation.p1812 import loss as PL
from covkit.propagation.terrain import (
    NO_COAST,
    bilinear_height_m,
    coast_distance_km,
    profile_segments,
    sample_profile,
)

AFF = np.array([0.0, 100.0, 0.0, 30_000.0, 0.0, -100.0])  # 300 x 300 cells of 100 m
SITE = (15_000.0, 15_000.0)
AE_KM = P.effective_earth_radius_km(45.0)


def rugged_dem(seed=1, sea_rows=40):
    """Alpine-like synthetic terrain (std ~ 600 m at 400 m correlation) with a strip of sea."""
    rng = np.random.default_rng(seed)
    dem = gaussian_filter(rng.normal(size=(300, 300)), 4) * 3000.0 + 500.0
    dem[:sea_rows] = -5.0
    return dem.astype(np.float32)


def model_args(p_pct=50.0, f_ghz=3.5):
    # htg, hrg, ae, f, p, pL, sigmaL, pol, N0, phi, dct, dcr
    return (25.0, 1.5, AE_KM, f_ghz, p_pct, 50.0, 0.0, 2, 325.0, 23.5, 500.0, 500.0)


def ray_receivers(dem, az, distances_m):
    xs = SITE[0] + distances_m * math.sin(az)
    ys = SITE[1] + distances_m * math.cos(az)
    hs = np.array([bilinear_height_m(dem, AFF, x, y) for x, y in zip(xs, ys, strict=True)])
    return xs, ys, hs


def gentle_dem(seed=2):
    """Low coastal hills (tens of metres) behind a strip of sea: most paths are line of sight."""
    rng = np.random.default_rng(seed)
    dem = gaussian_filter(rng.normal(size=(300, 300)), 6) * 400.0 + 25.0
    dem[:40] = -5.0
    return dem.astype(np.float32)


def engine_on_ray(dem, az, dist, p_pct=50.0, f_ghz=3.5, with_terms=True, coast=NO_COAST):
    xs, ys, hs = ray_receivers(dem, az, dist)
    loss, terms = E.ray_profile_loss_p1812(dem, AFF, coast, *SITE, az, 100.0, dist, hs,
                                           *model_args(p_pct, f_ghz), with_terms)
    return xs, ys, loss, terms


def reference(dem, xs, ys, p_pct=50.0, f_ghz=3.5, coast=NO_COAST):
    htg, hrg, ae, f, p, pl, sl, pol, n0, phi, dct, dcr = model_args(p_pct, f_ghz)
    return E.reference_loss_p1812(dem, AFF, coast, *SITE, xs, ys, htg, hrg, 100.0, ae, f, p, pl, sl,
                                  pol, n0, phi, dct, dcr)


@pytest.mark.parametrize("az", [0.0, 0.7, 2.0, 3.9, 5.5])
@pytest.mark.parametrize("p_pct", [50.0, 10.0, 1.0])
@pytest.mark.parametrize("terrain", ["rugged", "gentle"])
@pytest.mark.parametrize("with_terms", [True, False])
@pytest.mark.parametrize("coastal", [False, True])
def test_receivers_on_a_radial_equal_the_reference(az, p_pct, terrain, with_terms, coastal):
    """Without terms (the grid engine's mode) line-of-sight receivers at p = 50 % may leave the
    Bullington point out; the gentle terrain has many of them (see
    test_deferred_bullington_point_gives_the_same_lb). ``coastal``: with the distance to the
    sea, land up to 100 m within 50 km of it is coastal land (zone 3)."""
    dem = rugged_dem() if terrain == "rugged" else gentle_dem()
    coast = coast_distance_km(dem, 100.0) if coastal else NO_COAST
    rng = np.random.default_rng(int(az * 10))
    dist = np.sort(np.concatenate([np.arange(1, 140) * 100.0, rng.uniform(30, 13_900, 150)]))
    xs, ys, loss, _ = engine_on_ray(dem, az, dist, p_pct, with_terms=with_terms, coast=coast)
    ref = reference(dem, xs, ys, p_pct, coast=coast)
    assert np.array_equal(np.isfinite(loss), np.isfinite(ref))
    assert np.isfinite(ref).sum() > 250
    assert np.nanmax(np.abs(loss - ref)) < 1e-6


def _defer(row, los_point=True, hm_dlm=True):
    row = row.copy()
    if hm_dlm:
        row[P.T_HM] = row[P.T_DLM] = np.nan
    if los_point:
        row[P.T_DLT] = row[P.T_DLR] = np.nan
    return row


@pytest.mark.parametrize("f_ghz", [0.7, 3.5])
def test_deferred_bullington_point_gives_the_same_lb(f_ghz):
    """Stage 2 with the line-of-sight Bullington point left out (T_DLT, T_DLR NaN) and hm and
    dlm left out (T_HM, T_DLM NaN, any path) either gives exactly the Lb of the complete terms
    or says it needs them; on gentle coastal terrain both happen."""
    dem = gentle_dem()
    rng = np.random.default_rng(4)
    pts = rng.uniform(-12_000.0, 12_000.0, size=(1500, 2))
    xs, ys = SITE[0] + pts[:, 0], SITE[1] + pts[:, 1]
    htg, hrg, ae, f, p, pl, sl, pol, n0, phi, dct, dcr = model_args(50.0, f_ghz)
    terms = E.reference_terms_p1812(dem, AFF, NO_COAST, *SITE, xs, ys, htg, hrg, 100.0, ae)
    consts = np.empty(P.N_CONSTS)
    P.p1812_constants(f, p, pl, sl, pol, n0, phi, consts)
    exact, part = np.empty(P.N_OUT), np.empty(P.N_OUT)
    outcomes = {True: 0, False: 0}
    for row in terms[np.isfinite(terms[:, P.T_D]) & (terms[:, P.T_PATHTYPE] == 1.0)]:
        assert P.p1812_loss_from_constants(row, consts, dct, dcr, exact, True)
        done = P.p1812_loss_from_constants(_defer(row), consts, dct, dcr, part, True)
        outcomes[done] += 1
        if done:
            assert part[P.O_LB] == exact[P.O_LB]
    assert outcomes[True] > 200 and outcomes[False] > 5, outcomes
    outcomes = {True: 0, False: 0}
    for row in terms[np.isfinite(terms[:, P.T_D])]:
        P.p1812_loss_from_constants(row, consts, dct, dcr, exact, True)
        done = P.p1812_loss_from_constants(_defer(row, False), consts, dct, dcr, part, True)
        outcomes[done] += 1
        if done:
            assert part[P.O_LB] == exact[P.O_LB]
    assert outcomes[True] > 1000 and outcomes[False] > 5, outcomes
    # only the engine's mode may leave them out (and the LoS point only at p = 50 %)
    row = terms[np.nonzero(terms[:, P.T_PATHTYPE] == 1.0)[0][0]]
    with pytest.raises(ValueError, match="deferred Bullington point"):
        P.p1812_loss_from_constants(_defer(row, hm_dlm=False), consts, dct, dcr, exact, False)
    with pytest.raises(ValueError, match="dlm may only be left out"):
        P.p1812_loss_from_constants(_defer(row, False), consts, dct, dcr, exact, False)
    hm_only = row.copy()
    hm_only[P.T_HM] = np.nan
    with pytest.raises(ValueError, match="they may only be left out"):
        P.p1812_loss_from_constants(hm_only, consts, dct, dcr, exact, False)


@pytest.mark.parametrize("dct_km", [500.0, 0.5])
def test_ducting_bound_without_the_bullington_point(dct_km):
    """The bound of Af + gamma_d theta' that does not know dlt is below the exact value for
    every dlt in (0, d) (dlr = d - dlt) on line-of-sight paths, coast terms included."""
    dem = gentle_dem()
    rng = np.random.default_rng(8)
    pts = rng.uniform(-12_000.0, 12_000.0, size=(600, 2))
    htg, hrg, ae, f, p, pl, sl, pol, n0, phi, dct, dcr = model_args(50.0, 3.5)
    terms = E.reference_terms_p1812(dem, AFF, NO_COAST, *SITE, SITE[0] + pts[:, 0],
                                    SITE[1] + pts[:, 1], htg, hrg, 100.0, ae)
    consts = np.empty(P.N_CONSTS)
    P.p1812_constants(f, p, pl, sl, pol, n0, phi, consts)
    rows = terms[np.isfinite(terms[:, P.T_D]) & (terms[:, P.T_PATHTYPE] == 1.0)]
    assert len(rows) > 200
    assert (rows[:, P.T_THETA_R] > 0.0).any() and (rows[:, P.T_THETA_T] > 0.0).any()
    over_sea = rows.copy()
    over_sea[:, P.T_OMEGA] = 0.9  # where the coast terms (eq. (49)) apply
    for row in np.vstack([rows, over_sea]):
        low = PL._anomalous_fixed_los_low_db(row, consts, dct_km, dct_km)
        assert np.isfinite(low)
        d = row[P.T_D]
        for frac in (1e-3, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999):
            r = row.copy()
            r[P.T_DLT], r[P.T_DLR] = frac * d, (1.0 - frac) * d
            exact = PL._anomalous_fixed_db(r, consts, dct_km, dct_km)
            assert low <= exact + 1e-9


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 100_000), m=st.integers(1, 150), floor=st.floats(1e-4, 1.0))
def test_nu_below_agrees_with_the_scan(seed, m, floor):
    """_nu_below is True exactly when every point's nu_i sqrt(lambda) from the scan's formula
    is below -sqrt(floor) (up to the rounding margin)."""
    rng = np.random.default_rng(seed)
    d_km = np.arange(m + 2) * 0.1
    d = (m + rng.uniform(0.01, 1.0)) * 0.1
    hts = rng.uniform(0.0, 300.0)
    z_r = rng.uniform(0.0, 300.0)
    chord = (z_r - hts) / d
    zz = hts + d_km * chord - np.abs(rng.normal(0.0, 5.0, m + 2)) * rng.choice([1.0, 0.1, 0.01])
    zz[rng.integers(1, m + 1)] += rng.choice([0.0, 0.0, 3.0])  # sometimes one point above
    i = np.arange(1, m + 1)
    nu = (zz[i] - (hts + d_km[i] * chord)) * np.sqrt(0.002 * d / (d_km[i] * (d - d_km[i])))
    got = S._nu_below(d_km, zz, m, d, hts, z_r, floor)
    if got:
        assert nu.max() < -math.sqrt(floor) * (1.0 - 1e-12)
    else:
        assert nu.max() >= -math.sqrt(floor) * (1.0 + 1e-12)


@pytest.mark.parametrize("coastal", [False, True])
def test_incremental_terms_equal_profile_terms(coastal):
    dem = rugged_dem()
    coast = coast_distance_km(dem, 100.0) if coastal else NO_COAST
    az = 0.35  # crosses the sea strip: zones, omega and dtm are exercised
    dist = np.arange(1, 140) * 100.0 + 37.0
    # p < 50: all terms computed
    xs, ys, _, terms = engine_on_ray(dem, az, dist, p_pct=10.0, coast=coast)
    ref_terms = np.empty(P.N_TERMS)
    checked = 0
    for q in range(1, len(dist)):
        n_seg = profile_segments(dist[q], 100.0)
        d_km, h, zone = np.empty(n_seg + 1), np.empty(n_seg + 1), np.empty(n_seg + 1)
        assert sample_profile(dem, AFF, *SITE, xs[q], ys[q], 100.0, n_seg, d_km, h, zone, coast)
        P.p1812_profile_terms(d_km, h, np.zeros(n_seg + 1), zone, 25.0, 1.5, AE_KM, ref_terms)
        sqrt_lam = math.sqrt(0.2998 / 3.5)
        for t in range(P.N_TERMS):
            got = terms[q, t]
            if P.TERM_NAMES[t].startswith("nu") and got != pytest.approx(ref_terms[t]):
                # the engine skips the LoS nu scan on trans-horizon paths (-inf) and keeps an
                # upper bound where it already gives zero knife-edge loss: same Bullington loss
                assert got == -np.inf or (ref_terms[t] <= got and got / sqrt_lam < -0.78)
                continue
            assert got == pytest.approx(ref_terms[t], abs=1e-7), (q, P.TERM_NAMES[t])
        checked += 1
    assert checked > 100
    assert np.nanmax(terms[:, P.T_OMEGA]) > 0.0  # some paths do cross the sea
    # with the coast, land up to 100 m near the sea is coastal: dlm < dtm on some paths
    ok = np.isfinite(terms[:, P.T_DLM])
    assert (terms[ok, P.T_DLM] < terms[ok, P.T_DTM] - 1e-9).any() == coastal
    # at p = 50 % the a_beta terms are skipped (they do not enter Lb)
    _, _, _, terms50 = engine_on_ray(dem, az, dist)
    assert np.isnan(terms50[5:, P.T_SRIM_AB]).all()
    np.testing.assert_allclose(terms50[5:, P.T_HSTD], terms[5:, P.T_HSTD])


def test_rugged_dem_random_pixels_gate():
    dem = rugged_dem(seed=7, sea_rows=0)
    settings_ = E.EngineSettings(model="p1812")
    win = E.site_loss_window(dem, AFF, *SITE, 25.0, 1.5, 3500.0, 10_000.0, settings_)
    rr, cc = np.nonzero(np.isfinite(win.loss_db))
    assert rr.size > 0.95 * math.pi * 100**2
    pick = np.random.default_rng(3).choice(rr.size, 800, replace=False)
    xs = AFF[0] + (win.col0 + cc[pick] + 0.5) * 100.0
    ys = AFF[3] - (win.row0 + rr[pick] + 0.5) * 100.0
    ref = E.reference_loss_db(dem, AFF, *SITE, xs, ys, 25.0, 1.5, 3500.0, settings_)
    err = np.abs(win.loss_db[rr[pick], cc[pick]] - ref)
    assert np.isfinite(err).all()
    assert np.median(err) < 0.5
    assert np.mean(err <= 1.0) >= 0.95


def test_flat_terrain_closed_form_and_radial_symmetry():
    flat = np.full((300, 300), 50.0, np.float32)
    dist = np.arange(3, 120) * 100.0
    losses = []
    for az in (0.0, 1.1, 2.5, 4.0):
        _, _, loss, terms = engine_on_ray(flat, az, dist)
        losses.append(loss)
        out = np.empty(P.N_OUT)
        for q in range(0, len(dist), 10):
            P.p1812_loss_from_terms(terms[q], 3.5, 50.0, 50.0, 0.0, 2, 325.0, 23.5, 500.0,
                                    500.0, out)
            # on flat terrain the actual and smooth profiles coincide: delta-Bullington is the
            # spherical-Earth loss alone (P.1812-8 eq. (39))
            assert out[P.O_LBULLA_50] == pytest.approx(out[P.O_LBULLS_50], abs=1e-9)
            assert out[P.O_LD50] == pytest.approx(out[P.O_LDSPH_50], abs=1e-9)
            assert terms[q, P.T_HSTD] == pytest.approx(50.0)
    for other in losses[1:]:
        np.testing.assert_allclose(other, losses[0], atol=1e-9)
    # the window is a function of distance only: mirror images agree
    win = E.site_loss_window(flat, AFF, 15_050.0, 15_050.0, 25.0, 1.5, 3500.0, 5_000.0,
                             E.EngineSettings())
    w = win.loss_db
    np.testing.assert_allclose(w, w[::-1, :], atol=1e-4, equal_nan=True)
    np.testing.assert_allclose(w, w[:, ::-1], atol=1e-4, equal_nan=True)
    np.testing.assert_allclose(w, w.T, atol=1e-4, equal_nan=True)


def test_fspl_window_is_the_closed_form():
    flat = np.zeros((300, 300), np.float32)
    s = E.EngineSettings(model="fspl")
    win = E.site_loss_window(flat, AFF, 15_050.0, 15_050.0, 30.0, 1.5, 3500.0, 3_000.0, s)
    r, c = 10, 17
    x = AFF[0] + (win.col0 + c + 0.5) * 100.0
    y = AFF[3] - (win.row0 + r + 0.5) * 100.0
    d3 = math.sqrt((x - 15_050.0) ** 2 + (y - 15_050.0) ** 2 + 28.5**2)
    expected = 20 * math.log10(4 * math.pi * d3 * 3.5e9 / 299_792_458.0)
    assert win.loss_db[r, c] == pytest.approx(expected, abs=1e-3)
    assert fspl_loss_db(d3, 3500.0) == pytest.approx(expected, abs=1e-9)


def test_site_outside_dem_and_bad_settings():
    dem = rugged_dem()
    with pytest.raises(CovkitInputError, match=r"freq_mhz = 7000\.0 is out of range"):
        E.site_loss_window(dem, AFF, *SITE, 25.0, 1.5, 7000.0, 5000.0, E.EngineSettings())
    with pytest.raises(CovkitInputError, match=r"time_pct = 70 is out of range"):
        E.EngineSettings(time_pct=70)
    with pytest.raises(CovkitInputError, match=r"unknown propagation model 'okumura'"):
        E.EngineSettings(model="okumura")
    far = E.site_loss_window(dem, AFF, -50_000.0, 0.0, 25.0, 1.5, 3500.0, 5000.0,
                             E.EngineSettings())
    assert far.loss_db.size == 0


@pytest.mark.parametrize(("key", "value"), [("dn", 157.0), ("dn", -1.0), ("n0", 501.0),
                                          ("n0", 199.0)])
def test_settings_refuse_refractivity_outside_the_shared_range(key, value):
    """dn in [0, 156], n0 in [200, 500]: the ranges of covkit.parameters."""
    rng = PARAMS[key].range_text()
    with pytest.raises(CovkitInputError, match=rf"{key} = {value} is out of range \{rng}"):
        E.EngineSettings(**{key: value})


@pytest.mark.parametrize(("key", "value"), [("dn", 0.0), ("dn", 156.0), ("n0", 200.0),
                                          ("n0", 500.0)])
def test_engine_runs_at_the_refractivity_bounds(key, value):
    """The bounds themselves are accepted and give finite losses; dn = 0 is ae = 6371 km
    (no refraction), the same in the sweep and in the reference."""
    dem = rugged_dem()
    s = E.EngineSettings(**{key: value})
    win = E.site_loss_window(dem, AFF, *SITE, 25.0, 1.5, 3500.0, 3000.0, s)
    assert np.isfinite(win.loss_db).sum() > 100
    x = AFF[0] + (win.col0 + 5 + 0.5) * AFF[1]
    y = AFF[3] + (win.row0 + win.loss_db.shape[0] // 2 + 0.5) * AFF[5]
    ref = E.reference_loss_db(dem, AFF, *SITE, [x], [y], 25.0, 1.5, 3500.0, s)
    assert np.isfinite(ref[0])


def test_settings_defaults_are_the_shared_parameters():
    s = E.EngineSettings()
    for name in ("model", "time_pct", "location_pct", "sigma_l_db", "polarization", "dn", "n0",
                 "dct_km", "dcr_km", "environment", "los_mode"):
        assert getattr(s, name) == PARAMS[name].default
    assert s.polarization == "v"


def test_ray_leaving_the_dem_gives_nan_beyond():
    dem = rugged_dem()
    dem[:, 200:] = np.nan
    dist = np.arange(1, 140) * 100.0
    _, _, loss, _ = engine_on_ray(dem, math.pi / 2, dist)  # due east: nodata from x = 20 km
    assert np.isfinite(loss[:40]).all()
    assert np.isnan(loss[60:]).all()


def test_kernels_match_py_func():
    dem = rugged_dem()
    dist = np.arange(2, 30) * 100.0 + 11.0
    xs, ys, hs = ray_receivers(dem, 1.0, dist)
    args = (dem, AFF, NO_COAST, *SITE, 1.0, 100.0, dist, hs, *model_args())
    a, _ = E.ray_profile_loss_p1812(*args)
    b, _ = E.ray_profile_loss_p1812.py_func(*args)
    np.testing.assert_allclose(a, b, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-500, 3000), min_size=2, max_size=40),
       st.floats(-5, 5), st.floats(-2000, 5000))
def test_hull_queries_equal_brute_force(heights, slope, yq):
    xs = np.arange(1, len(heights) + 1, dtype=np.float64)
    ys = np.array(heights)
    hx, hy, hi = np.empty(len(xs)), np.empty(len(xs)), np.empty(len(xs), np.int64)
    n = 0
    for i in range(len(xs)):
        n = H.hull_push(hx, hy, hi, n, xs[i], ys[i], i)
    k = H.hull_extreme(hx, hy, hi, n, slope)
    vals = ys - slope * xs
    assert vals[k] == pytest.approx(vals.max(), abs=1e-9)
    xq = xs[-1] + 1.5
    k = H.hull_tangent_right(hx, hy, hi, n, xq, yq)
    vals = (ys - yq) / (xq - xs)
    assert vals[k] == pytest.approx(vals.max(), abs=1e-9)


@pytest.mark.parametrize("p_pct", [50.0, 20.0, 10.0, 3.0])
def test_ducting_lower_bound_is_a_lower_bound(p_pct):
    dem = rugged_dem()
    out = np.empty(P.N_OUT)
    checked = 0
    for az in np.linspace(0.0, 6.0, 7):
        dist = np.arange(3, 140) * 100.0 + 7.0
        _, _, _, terms = engine_on_ray(dem, az, dist, p_pct=10.0)
        for q in range(len(dist)):
            if not np.isfinite(terms[q, P.T_D]):
                continue
            P.p1812_loss_from_terms(terms[q], 3.5, p_pct, 50.0, 0.0, 2, 325.0, 23.5, 500.0,
                                    500.0, out)
            consts = np.empty(P.N_CONSTS)
            P.p1812_constants(3.5, p_pct, 50.0, 0.0, 2, 325.0, 23.5, consts)
            bound = PL._anomalous_fixed_db(terms[q], consts, 500.0, 500.0) \
                + P.anomalous_ap_lower_bound_db(terms[q], consts, out[P.O_B0])
            assert bound <= out[P.O_LBA] + 1e-9
            checked += 1
    assert checked > 500


@settings(max_examples=300, deadline=None)
@given(
    m=st.integers(1, 400),
    step_m=st.sampled_from([25.0, 100.0, 250.0]),
    hts=st.floats(0.01, 2000.0),
    hrs=st.floats(0.01, 2000.0),
    ae_km=st.sampled_from([6371.0 * 4.0 / 3.0, 8930.8, 6371.0 * 3.0]),
)
def test_smooth_profile_nu_search_equals_the_scan(m, step_m, hts, hrs, ae_km):
    """The O(log m) search of the smooth-profile LoS nu (quasi-convexity) finds the scan's max."""
    step_km = step_m / 1000.0
    d = (m + 0.5) * step_km
    bulge = 500.0 / ae_km
    z_r = hrs - bulge * d * d
    d_km = np.arange(m + 2) * step_km
    stim = max((-bulge * x * x - hts) / x for x in d_km[1:m + 1]) + bulge * d
    if not stim < (hrs - hts) / d:
        return  # not a line-of-sight smooth path: the engine does not search then
    scan, _ = S._nu_scan(d_km, -bulge * d_km * d_km, m, d, hts, z_r, 1)
    fast = S._smooth_nu(step_km, m, d, hts, z_r, bulge)
    assert fast == pytest.approx(scan, rel=1e-12, abs=1e-12)


def test_fast_azimuth_matches_atan2():
    rng = np.random.default_rng(11)
    pts = np.vstack([rng.normal(size=(5000, 2)) * 10.0 ** rng.integers(-3, 5, size=(5000, 1)),
                     [[0.0, 1.0], [1.0, 0.0], [0.0, -1.0], [-1.0, 0.0], [-3.0, -3.0]]])
    for dx, dy in pts:
        ref = math.atan2(dx, dy) % (2.0 * math.pi)
        got = S._azimuth_rad(dx, dy)
        assert 0.0 <= got < 2.0 * math.pi
        assert abs((got - ref + math.pi) % (2.0 * math.pi) - math.pi) < 1.2e-5


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 120))
def test_hull_queries_match_brute_force(seed, n):
    """Upper-hull queries (galloping + bisection) equal the brute-force maxima over all points."""
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.05, 0.2, n))
    y = np.cumsum(rng.normal(0.0, 30.0, n))
    hx, hy, hi = np.empty(n), np.empty(n), np.empty(n, np.int64)
    nh = 0
    for i in range(n):
        nh = H.hull_push(hx, hy, hi, nh, x[i], y[i], i)
    for _ in range(10):
        slope = rng.normal(0.0, 200.0)
        k = H.hull_extreme(hx, hy, hi, nh, slope)
        assert y[k] - slope * x[k] == pytest.approx(np.max(y - slope * x), rel=1e-12, abs=1e-9)
        xq = x[-1] + rng.uniform(0.01, 3.0)
        yq = rng.normal(y.mean(), 200.0)
        k = H.hull_tangent_right(hx, hy, hi, nh, xq, yq)
        best = np.max((y - yq) / (xq - x))
        assert (y[k] - yq) / (xq - x[k]) == pytest.approx(best, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("p_pct", [50.0, 10.0, 1.0])
@pytest.mark.parametrize("f_ghz", [0.7, 3.5])
def test_lb_only_mode_gives_the_full_kernels_lb(p_pct, f_ghz):
    """The engine's stage-2 mode skips terms and settles ducting / troposcatter / beta0 by
    bounds only where Lb cannot depend on them: Lb equals the full evaluation's."""
    dem = rugged_dem(seed=5)
    rng = np.random.default_rng(int(p_pct * 10 + f_ghz * 100))
    pts = rng.uniform(-9_000.0, 9_000.0, size=(600, 2))
    xs, ys = SITE[0] + pts[:, 0], SITE[1] + pts[:, 1]
    htg, hrg, ae, f, p, pl, sl, pol, n0, phi, dct, dcr = model_args(p_pct, f_ghz)
    terms = E.reference_terms_p1812(dem, AFF, NO_COAST, *SITE, xs, ys, htg, hrg, 100.0, ae)
    consts = np.empty(P.N_CONSTS)
    P.p1812_constants(f, p, pl, sl, pol, n0, phi, consts)
    fast = P.p1812_loss_batch_db(terms, consts, dct, dcr, True)
    full = P.p1812_loss_batch_db(terms, consts, dct, dcr, False)
    ok = np.isfinite(full)
    assert ok.sum() > 500
    np.testing.assert_allclose(fast[ok], full[ok], rtol=0.0, atol=1e-9)
    # and the full kernel is the reference's: same Lb as reference_loss_p1812
    ref = reference(dem, xs, ys, p_pct, f_ghz)
    np.testing.assert_allclose(full[ok], ref[ok], rtol=0.0, atol=1e-9)


def test_smooth_profile_nu_on_a_grazing_path():
    """Every sample below the chord but the clearance N(x) above zero between two samples: the
    quasi-convexity argument does not hold there and the samples are scanned instead."""
    step_km, m, bulge = 1.0, 3, 0.056
    d = (m + 0.5) * step_km
    hts = 0.121
    chord = -2.0 * bulge * 1.5  # N peaks at x = 1.5 km, between the samples 1 and 2
    z_r = hts + chord * d
    d_km = np.arange(m + 2) * step_km
    n = -bulge * d_km**2 - (hts + d_km * chord)
    assert (n[1:m + 1] < 0.0).all() and -bulge * 1.5**2 - (hts + 1.5 * chord) > 0.0
    scan, _ = S._nu_scan(d_km, -bulge * d_km * d_km, m, d, hts, z_r, 1)
    assert S._smooth_nu(step_km, m, d, hts, z_r, bulge) == pytest.approx(scan, rel=1e-12)


def test_log10_helper_matches_math_log10():
    """Stage 2's log10 (ln x / ln 10, an LLVM intrinsic) is within 4 ulp of libm's log10."""
    rng = np.random.default_rng(5)
    xs = np.concatenate([10.0 ** rng.uniform(-12, 12, 20_000), [1.0, 10.0, 1e-300, 1e300]])
    for x in xs:
        ref = math.log10(x)
        assert abs(PL._log10(x) - ref) <= 4.0 * np.spacing(abs(ref)) + 1e-300


@pytest.mark.parametrize(("f_ghz", "pol", "dn", "dc_km"), [
    (0.2, 1, 0.0, 0.5),  # below 0.5 GHz (Alf), ae at k = 1, coast terms in reach
    (5.9, 2, 90.0, 3.0),
])
def test_radial_without_terms_equals_the_reference_in_other_settings(f_ghz, pol, dn, dc_km):
    """The grid engine's mode (terms left out until stage 2 asks) against the reference away
    from the defaults: the bounds it relies on hold there too."""
    dem = gentle_dem(seed=3)
    coast = coast_distance_km(dem, 100.0)  # all coastal land but the hill tops
    dist = np.arange(1, 140) * 100.0 + 13.0
    ae = P.effective_earth_radius_km(dn)
    for az in (0.3, 2.9, 5.0):
        xs, ys, hs = ray_receivers(dem, az, dist)
        args = (25.0, 1.5, ae, f_ghz, 50.0, 50.0, 0.0, pol, 325.0, 23.5, dc_km, dc_km)
        loss, _ = E.ray_profile_loss_p1812(dem, AFF, coast, *SITE, az, 100.0, dist, hs, *args,
                                           False)
        ref = E.reference_loss_p1812(dem, AFF, coast, *SITE, xs, ys, 25.0, 1.5, 100.0, *args[2:])
        assert np.isfinite(ref).sum() > 100
        np.testing.assert_allclose(loss, ref, rtol=0.0, atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 100_000), n=st.integers(0, 120))
def test_sample_ray_equals_bilinear_at(seed, n):
    """The up-front ray sampling gives bilinear_at's heights bit for bit (interior rays, rays
    that leave the raster, NaN cells of zero and non-zero weight) and stops at the first
    non-finite one."""
    from covkit.propagation.terrain import bilinear_at

    rng = np.random.default_rng(seed)
    dem = rng.normal(100.0, 50.0, (40, 50)).astype(np.float32)
    dem[rng.integers(0, 40, 3), rng.integers(0, 50, 3)] = np.nan
    fc0, fr0 = rng.uniform(-1.0, 50.0), rng.uniform(-1.0, 40.0)
    if rng.random() < 0.3:  # whole-cell positions: NaN neighbours of zero weight
        fc0, fr0 = float(round(fc0)), float(round(fr0))
    az = rng.uniform(0.0, 2.0 * math.pi)
    dfc, dfr = 0.7 * math.sin(az), 0.7 * math.cos(az)
    if rng.random() < 0.3:
        dfc, dfr = float(round(dfc)), float(round(dfr))
    h, d_km, z50, zb = (np.full(n + 2, -1.0) for _ in range(4))
    j_bad = S._sample_ray(dem, fc0, fr0, dfc, dfr, n, 0.1, 0.05, 0.02, h, d_km, z50, zb)
    ref = np.array([bilinear_at(dem, fc0 + j * dfc, fr0 + j * dfr) for j in range(n + 1)])
    bad = [j for j in range(1, n + 1) if not np.isfinite(ref[j])]
    assert j_bad == (bad[0] if bad else n + 1)
    for j in range(1, j_bad if j_bad <= n else n + 1):
        assert h[j] == ref[j]
        assert d_km[j] == j * 0.1
        dj = d_km[j]
        assert z50[j] == ref[j] - 0.05 * dj * dj and zb[j] == ref[j] - 0.02 * dj * dj


def test_sample_ray_nan_neighbour_of_zero_weight():
    """Samples on a row of cell centres next to a NaN row: the branch-free loop yields NaN
    (0 * NaN), the careful lookup gives the finite height, as bilinear_at does."""
    dem = np.full((20, 20), 10.0, np.float32)
    dem[6] = np.nan
    h, d_km, z50, zb = (np.empty(12) for _ in range(4))
    assert S._sample_ray(dem, 2.0, 5.0, 1.0, 0.0, 10, 0.1, 0.0, 0.0, h, d_km, z50, zb) == 11
    np.testing.assert_array_equal(h[1:11], 10.0)
    assert S._sample_ray(dem, 2.0, 5.5, 1.0, 0.0, 10, 0.1, 0.0, 0.0, h, d_km, z50, zb) == 1


def test_coast_distance_and_zones():
    """Coastal land (P.1812-8 Table 2): land up to 100 m within 50 km of the sea."""
    from covkit.propagation.terrain import (
        ZONE_COASTAL_LAND,
        ZONE_INLAND,
        ZONE_SEA,
        zone_at,
    )

    dem = np.full((5, 800), 50.0, np.float32)  # 100 m cells: 80 km wide
    dem[:, :10] = -3.0  # sea in the first ten columns
    dem[0, 0] = np.nan  # nodata is not sea
    coast = coast_distance_km(dem, 100.0)
    assert coast[2, 5] == 0.0 and coast[2, 10] == pytest.approx(0.1)
    assert coast[2, 509] == pytest.approx(50.0) and coast[2, 510] == pytest.approx(50.1)
    assert zone_at(-1.0, coast, 300.0, 2.0) == ZONE_SEA
    assert zone_at(0.0, coast, 300.0, 2.0) == ZONE_SEA
    assert zone_at(80.0, coast, 300.0, 2.0) == ZONE_COASTAL_LAND
    assert zone_at(100.0, coast, 509.0, 2.0) == ZONE_COASTAL_LAND  # both limits inclusive
    assert zone_at(100.5, coast, 300.0, 2.0) == ZONE_INLAND
    assert zone_at(80.0, coast, 520.0, 2.0) == ZONE_INLAND  # 51 km from the sea
    assert zone_at(80.0, NO_COAST, 300.0, 2.0) == ZONE_INLAND
    assert np.isinf(coast_distance_km(np.full((3, 3), 5.0), 100.0)).all()  # no sea in sight
    with pytest.raises(CovkitInputError, match="coast_km has shape"):
        E.site_loss_window(dem, np.array([0.0, 100.0, 0.0, 500.0, 0.0, -100.0]), 30_000.0,
                           250.0, 25.0, 1.5, 3500.0, 2_000.0, E.EngineSettings(),
                           coast_km=coast[:, :10])


@pytest.mark.parametrize("n", [0, 1, 2, 31, 32, 33, 64, 65, 100, 257, 1000])
def test_radial_sort_is_a_stable_argsort(n):
    """The engine's in-place sort of one radial's pixels (insertion runs of 32, then merges)
    gives the order of a stable argsort, ties included; only the slice a:b is touched."""
    rng = np.random.default_rng(n)
    for d in (rng.random(n), np.round(rng.random(n) * 10.0), np.sort(rng.random(n))[::-1]):
        for sort in (S.sort_by_distance, S.sort_by_distance.py_func):
            dd = np.concatenate([[-1.0, -1.0], d, [-1.0]])
            ff = np.concatenate([[7, 7], np.arange(n), [7]]).astype(np.int64)
            sort(dd, ff, 2, 2 + n, np.empty(n), np.empty(n, np.int64))
            order = np.argsort(d, kind="stable")
            assert np.array_equal(ff[2:2 + n], order)
            assert np.array_equal(dd[2:2 + n], d[order])
            assert dd[0] == dd[1] == dd[-1] == -1.0 and ff[0] == ff[1] == ff[-1] == 7


def test_sweep_is_the_same_for_every_thread_count():
    """Sets of radials run on threads write disjoint pixels: the window is bit-for-bit the same
    on 1, 2 and 3 threads, and the pixel grouping equals the sorted one of
    assign_pixels_to_radials."""
    dem = rugged_dem(seed=5).astype(np.float64)
    coast = coast_distance_km(dem, 100.0)
    n_rad, step_m, n_steps = E.ray_layout(6_000.0, 100.0, 1.0, 3.0)
    r0, c0, nr, nc = E.footprint_window(AFF, dem.shape, *SITE, 6_000.0)
    htg, hrg, ae, f, p, pl, sl, pol, n0, phi, dct, dcr = model_args(10.0)
    wins = [E.radial_sweep_p1812(dem, AFF, coast, *SITE, htg, hrg, n_rad, step_m, n_steps,
                                 6_000.0, r0, c0, nr, nc, ae, f, p, pl, sl, pol, n0, phi, dct,
                                 dcr, n_threads=t) for t in (1, 2, 3)]
    assert np.isfinite(wins[0]).sum() > 0.95 * math.pi * 60**2
    for w in wins[1:]:
        assert np.array_equal(w, wins[0], equal_nan=True)
    offsets, dist, flat = E.assign_pixels_to_radials(*SITE, 6_000.0, AFF, r0, c0, nr, nc, n_rad,
                                                     n_threads=2)
    assert offsets[-1] == np.isfinite(wins[0]).sum() == flat.size
    for k in range(0, n_rad, 37):
        a, b = offsets[k], offsets[k + 1]
        assert np.all(np.diff(dist[a:b]) >= 0.0)



@pytest.mark.parametrize("p_pct", [50.0, 10.0])
def test_several_frequencies_in_one_sweep_equal_each_alone(p_pct):
    """The terrain terms are found once for a site's frequencies and stage 2 runs per
    frequency: each window equals that frequency's sweep alone bit for bit, on rugged terrain
    with sea and coastal land (line-of-sight shortcuts take the longest wavelength's
    threshold), at p = 50 % and with the a_beta terms at 10 %."""
    dem = rugged_dem(seed=11).astype(np.float64)
    coast = coast_distance_km(dem, 100.0)
    n_rad, step_m, n_steps = E.ray_layout(8_000.0, 100.0, 1.0, 1.0)
    r0, c0, nr, nc = E.footprint_window(AFF, dem.shape, *SITE, 8_000.0)
    htg, hrg, ae, _f, p, pl, sl, pol, n0, phi, dct, dcr = model_args(p_pct)
    freqs_ghz = np.array([3.5, 0.7, 1.8])  # the longest wavelength not first
    args = (dem, AFF, coast, *SITE, htg, hrg, n_rad, step_m, n_steps, 8_000.0, r0, c0, nr, nc,
            ae)
    rest = (p, pl, sl, pol, n0, phi, dct, dcr)
    together = E.radial_sweep_p1812(*args, freqs_ghz, *rest, n_threads=2)
    assert together.shape == (3, nr, nc)
    assert np.isfinite(together[0]).sum() > 0.95 * math.pi * 80**2
    for k, f in enumerate(freqs_ghz):
        alone = E.radial_sweep_p1812(*args, float(f), *rest, n_threads=1)
        assert np.array_equal(together[k], alone, equal_nan=True), f
    # the frequencies do differ (700 MHz loses less than 3.5 GHz here)
    assert np.nanmedian(together[0] - together[1]) > 5.0


@pytest.mark.parametrize("model", ["p1812", "hata"])
def test_site_loss_windows_equal_site_loss_window(model):
    dem = rugged_dem(seed=12, sea_rows=0)
    s = E.EngineSettings(model=model)
    freqs = [900.0, 700.0] if model == "hata" else [3500.0, 700.0, 2600.0]
    wins = E.site_loss_windows(dem, AFF, *SITE, 30.0, 1.5, freqs, 5_000.0, s)
    assert len(wins) == len(freqs)
    for f, w in zip(freqs, wins, strict=True):
        one = E.site_loss_window(dem, AFF, *SITE, 30.0, 1.5, f, 5_000.0, s)
        assert (w.row0, w.col0) == (one.row0, one.col0)
        assert w.loss_db.dtype == np.float32
        assert np.array_equal(w.loss_db, one.loss_db, equal_nan=True)
    with pytest.raises(CovkitInputError, match="freq_mhz"):
        E.site_loss_windows(dem, AFF, *SITE, 30.0, 1.5, [3500.0, 1e7], 5_000.0, s)
