"""ITU-R P.2108-1 and P.2109-2 against the shared validation vectors (every row) and by hand.

The vectors come from ``tests/data`` in any clone (the three NTIA P.2108 files complete, 323 of
the 31,250 P.2109 rows; tests/data/SOURCE.md) and from ``../shared/validation`` (every row) when
it is present.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from helpers.paths import VALIDATION_SOURCES, validation_root
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtri

from covkit.errors import CovkitInputError
from covkit.propagation import clutter as cl

# NTIA rounds to 0.1 dB and uses an approximate Q^-1 (Abramowitz & Stegun 26.2.23,
# |error| < 4.5e-4, times sigma <= 6 dB): half a rounding step plus that.
NTIA_TOL_DB = 0.05 + 0.003

# NTIA return code -> the parameter our error message must name
TERRESTRIAL_CODES = {3200: "freq_mhz", 3201: "distance_m", 3202: "location_fraction"}
HEIGHT_GAIN_CODES = {32: "freq_mhz", 33: "height_agl_m", 34: "street_width_m",
                     35: "clutter_height_m"}
AERO_CODES = {64: "freq_mhz", 65: "elevation_deg", 66: "location_fraction"}


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------------------------
# Validation vectors: every row (of tests/data, and of ../shared when present)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("validation_dir", VALIDATION_SOURCES, indirect=True)
def test_p2108_terrestrial_all_rows(validation_dir):
    rows = _rows(validation_dir / "ntia-p2108/TerrestrialStatisticalModelTestData.csv")
    assert len(rows) == 12
    for r in rows:
        f_mhz, d_m = float(r["f__ghz"]) * 1000, float(r["d__km"]) * 1000
        p = float(r["p"]) / 100
        rtn = int(r["rtn"])
        if rtn:
            with pytest.raises(CovkitInputError, match=TERRESTRIAL_CODES[rtn]):
                cl.terrestrial_clutter_loss_db_checked(f_mhz, d_m, p)
        else:
            got = cl.terrestrial_clutter_loss_db_checked(f_mhz, d_m, p)
            assert got == pytest.approx(float(r["L_ctt__db"]), abs=NTIA_TOL_DB), r


@pytest.mark.parametrize("validation_dir", VALIDATION_SOURCES, indirect=True)
def test_p2108_height_gain_all_rows(validation_dir):
    rows = _rows(validation_dir / "ntia-p2108/HeightGainTerminalCorrectionModelTestData.csv")
    assert len(rows) == 23
    for r in rows:
        args = (float(r["f__ghz"]) * 1000, float(r["h__meter"]), int(r["clutter_type"]))
        kw = dict(street_width_m=float(r["w_s__meter"]), clutter_height_m=float(r["R__meter"]))
        rtn = int(r["rtn"])
        if rtn:
            with pytest.raises(CovkitInputError, match=HEIGHT_GAIN_CODES[rtn]):
                cl.height_gain_correction_db_checked(*args, **kw)
        else:
            got = cl.height_gain_correction_db_checked(*args, **kw)
            assert got == pytest.approx(float(r["A_h__db"]), abs=NTIA_TOL_DB), r


@pytest.mark.parametrize("validation_dir", VALIDATION_SOURCES, indirect=True)
def test_p2108_aeronautical_all_rows(validation_dir):
    rows = _rows(validation_dir / "ntia-p2108/AeronauticalStatisticalModelTestData.csv")
    assert len(rows) == 13
    for r in rows:
        args = (float(r["f__ghz"]) * 1000, float(r["theta_deg"]), float(r["p"]) / 100)
        rtn = int(r["rtn"])
        if rtn:
            with pytest.raises(CovkitInputError, match=AERO_CODES[rtn]):
                cl.aeronautical_clutter_loss_db_checked(*args)
        else:
            got = cl.aeronautical_clutter_loss_db_checked(*args)
            assert got == pytest.approx(float(r["L_ces__db"]), abs=NTIA_TOL_DB), r


# rows of each source's table, and the stride of the .py_func sample taken from it
P2109_ROWS = {"data": 323, "shared": 31_250}
P2109_PY_FUNC_STRIDE = {"data": 1, "shared": 997}


@pytest.fixture(scope="module", params=VALIDATION_SOURCES)
def p2109_table(request):
    source = request.param
    data = np.loadtxt(validation_root(source) / "itu-p2109-crc/p2109_validation.csv",
                      delimiter=",", skiprows=1)
    assert data.shape == (P2109_ROWS[source], 5)
    return source, data


def test_p2109_all_rows_within_1e6_db(p2109_table):
    f_ghz, p_pct, btype, elev, ref = p2109_table[1].T
    got = cl.building_entry_loss_db_checked(f_ghz * 1000.0, p_pct / 100.0,
                                            btype.astype(np.int64), elev)
    err = np.abs(got - ref)
    assert np.all(np.isfinite(got))
    assert err.max() < 1e-6, f"max error {err.max():.3g} dB at row {int(err.argmax()) + 2}"


def test_p2109_py_func_matches_compiled_on_sample(p2109_table):
    source, table = p2109_table
    for row in table[::P2109_PY_FUNC_STRIDE[source]]:
        f_ghz, p_pct, btype, elev, ref = row
        args = (f_ghz * 1000.0, p_pct / 100.0, int(btype), elev)
        assert cl.building_entry_loss_db.py_func(*args) == pytest.approx(ref, abs=1e-6)
        assert cl.building_entry_loss_db(*args) == pytest.approx(ref, abs=1e-6)


# ------------------------------------------------------------------------------------------
# Hand-computed values (first principles, numbers written out)
# ------------------------------------------------------------------------------------------
def test_p2108_terrestrial_hand_computed():
    # P.2108-1 section 3.2, f = 3.5 GHz, d = 1 km, p = 50 % (Q^-1(0.5) = 0):
    # L_l = -2 log10(10^(-5*0.54407 - 12.5) + 10^-16.5) = -2 log10(6.024e-16 + 0.316e-16)
    # = 30.396; L_s = 32.98 + 23.9*0 + 3*0.54407 = 34.612;
    # L_ctt = -5 log10(10^(-6.0792) + 10^(-6.9224)) = -5 log10(8.332e-7 + 1.196e-7) = 30.11 dB
    f = 3.5
    l_l = -2 * math.log10(10 ** (-5 * math.log10(f) - 12.5) + 10**-16.5)
    l_s = 32.98 + 23.9 * math.log10(1.0) + 3 * math.log10(f)
    expected = -5 * math.log10(10 ** (-0.2 * l_l) + 10 ** (-0.2 * l_s))
    assert expected == pytest.approx(30.11, abs=0.01)
    assert cl.terrestrial_clutter_loss_db(3500.0, 1000.0, 0.5) == pytest.approx(expected,
                                                                                abs=1e-9)
    # p = 90 %: add -sigma_cb Q^-1(0.9) = +sigma_cb * 1.28155 (eq. 3b: sigma_l = 4,
    # sigma_s = 6 dB), then cap at the 2 km value (eq. 6), which is lower here because
    # sigma_cb shrinks with distance: L(1 km) = 30.105 + 4.30 * 1.2816 = 35.62,
    # L(2 km) = 35.53 dB -> 35.53 dB.

    def by_hand(d_km):
        ls = 32.98 + 23.9 * math.log10(d_km) + 3 * math.log10(f)
        wl, ws = 10 ** (-0.2 * l_l), 10 ** (-0.2 * ls)
        sigma = math.sqrt((16 * wl + 36 * ws) / (wl + ws))
        return -5 * math.log10(wl + ws) + sigma * 1.2815515655446004

    assert by_hand(1.0) == pytest.approx(35.62, abs=0.01)
    assert by_hand(2.0) == pytest.approx(35.53, abs=0.01)
    assert cl.terrestrial_clutter_loss_db(3500.0, 1000.0, 0.9) == pytest.approx(
        min(by_hand(1.0), by_hand(2.0)), abs=1e-9)
    # eq. (6): beyond 2 km the loss is capped at its 2 km value
    assert cl.terrestrial_clutter_loss_db(3500.0, 10_000.0, 0.5) == pytest.approx(
        cl.terrestrial_clutter_loss_db(3500.0, 2000.0, 0.5), abs=1e-12)


def test_p2108_height_gain_hand_computed():
    # Urban, f = 1.5 GHz, h = 2 m, R = 15 m, w_s = 27 m:
    # h_dif = 13, theta = atan(13/27) = 25.710 deg, K_nu = 0.342 sqrt(1.5) = 0.41886,
    # nu = 0.41886 sqrt(13 * 25.710) = 7.6577, J = 6.9 + 20 log10(sqrt(7.5577^2+1) + 7.5577)
    # = 30.526, A_h = J - 6.03 = 24.50 dB (NTIA row: 24.5)
    theta = math.degrees(math.atan(13 / 27))
    nu = 0.342 * math.sqrt(1.5) * math.sqrt(13 * theta)
    j = 6.9 + 20 * math.log10(math.sqrt((nu - 0.1) ** 2 + 1) + nu - 0.1)
    assert j - 6.03 == pytest.approx(24.50, abs=0.01)
    assert cl.height_gain_correction_db(1500.0, 2.0, 27.0, 15.0, 4) == pytest.approx(j - 6.03)
    # Open/rural: -K_h2 log10(h/R), K_h2 = 21.8 + 6.2 log10(1.5) = 22.892; h=2, R=10: 16.00 dB
    k = 21.8 + 6.2 * math.log10(1.5)
    assert cl.height_gain_correction_db(1500.0, 2.0, 27.0, 10.0, 2) == pytest.approx(
        -k * math.log10(0.2))
    # h >= R: 0
    assert cl.height_gain_correction_db(1500.0, 12.0, 27.0, 10.0, 4) == 0.0
    # default R from Table 2 (urban 15 m) and w_s = 27 m
    assert cl.height_gain_correction_db_checked(1500.0, 2.0, "urban") == pytest.approx(j - 6.03)


def test_p2109_hand_computed():
    # Traditional, f = 1 GHz (log f = 0), P = 50 % (F^-1 = 0), elevation 0:
    # A = mu1 = r = 12.64, B = mu2 = w = 9.1, C = -3:
    # L = 10 log10(10^1.264 + 10^0.91 + 10^-0.3) = 10 log10(18.365 + 8.128 + 0.501) = 14.31
    expected = 10 * math.log10(10**1.264 + 10**0.91 + 10**-0.3)
    assert expected == pytest.approx(14.31, abs=0.01)
    assert cl.building_entry_loss_db_checked(1000.0, 0.5, "traditional") == pytest.approx(
        expected, abs=1e-9)
    # Thermally efficient, f = 10 GHz (log f = 1), P = 50 %, elevation 30 deg:
    # mu1 = 28.19 - 3.00 + 8.48 + 0.212*30 = 40.03, mu2 = 27.8 - 2.9 = 24.9
    expected = 10 * math.log10(10 ** (0.1 * 40.03) + 10 ** (0.1 * 24.9) + 10**-0.3)
    assert cl.building_entry_loss_db_checked(10_000.0, 0.5, 2, 30.0) == pytest.approx(
        expected, abs=1e-9)


# ------------------------------------------------------------------------------------------
# Inverse normal, errors, properties
# ------------------------------------------------------------------------------------------
def test_inverse_normal_matches_scipy():
    ps = np.concatenate([np.logspace(-300, -1, 150), np.linspace(0.01, 0.99, 99),
                         1 - np.logspace(-15, -1, 60)])
    for p in ps:
        ref = ndtri(p)
        assert cl.inverse_normal_cdf(p) == pytest.approx(ref, rel=1e-13, abs=1e-13)
    assert cl.inverse_normal_cdf.py_func(0.975) == pytest.approx(1.959963984540054, abs=1e-13)
    assert math.isnan(cl.inverse_normal_cdf(0.0)) and math.isnan(cl.inverse_normal_cdf(1.0))
    assert cl.inverse_complementary_normal(0.05) == pytest.approx(1.6448536269514722)


def test_bad_types_list_choices():
    with pytest.raises(CovkitInputError, match="unknown building_type 'igloo'.*traditional"):
        cl.building_entry_loss_db_checked(1000.0, 0.5, "igloo")
    with pytest.raises(CovkitInputError, match="clutter_type must be one of"):
        cl.height_gain_correction_db_checked(1000.0, 2.0, 7)
    with pytest.raises(CovkitInputError, match="probability=1 is invalid"):
        cl.building_entry_loss_db_checked(1000.0, 1.0, 1)
    with pytest.raises(CovkitInputError, match="elevation_deg=91"):
        cl.building_entry_loss_db_checked(1000.0, 0.5, 1, 91.0)


def test_unknown_codes_give_nan_in_kernels():
    assert math.isnan(cl.building_entry_loss_db(1000.0, 0.5, 3, 0.0))
    assert math.isnan(cl.height_gain_correction_db(1000.0, 2.0, 27.0, 10.0, 9))


@settings(max_examples=300, deadline=None)
@given(f=st.floats(500.0, 67_000.0), d=st.floats(250.0, 50_000.0),
       p1=st.floats(1e-6, 1 - 1e-6), p2=st.floats(1e-6, 1 - 1e-6))
def test_p2108_terrestrial_monotone_in_p_finite(f, d, p1, p2):
    lo, hi = sorted((p1, p2))
    a = cl.terrestrial_clutter_loss_db(f, d, lo)
    b = cl.terrestrial_clutter_loss_db(f, d, hi)
    assert math.isfinite(a) and math.isfinite(b) and b >= a - 1e-9


@settings(max_examples=300, deadline=None)
@given(f=st.floats(500.0, 67_000.0), d1=st.floats(250.0, 50_000.0),
       d2=st.floats(250.0, 50_000.0), p=st.floats(0.01, 0.5))
def test_p2108_terrestrial_non_decreasing_with_distance(f, d1, d2, p):
    # Holds for p <= 50 % only: sigma_cb (eq. 3b) falls from 6 towards 4 dB as L_s grows
    # with distance, so for p > 50 % the term -sigma_cb Q^-1(p) > 0 shrinks and the loss can
    # decrease slightly with distance (e.g. f = 0.5 GHz, p = 87.5 %, 441 m vs 2001 m).
    lo, hi = sorted((d1, d2))
    assert cl.terrestrial_clutter_loss_db(f, hi, p) >= cl.terrestrial_clutter_loss_db(
        f, lo, p) - 1e-9


@settings(max_examples=300, deadline=None)
@given(f=st.floats(80.0, 100_000.0), p1=st.floats(1e-6, 1 - 1e-6),
       p2=st.floats(1e-6, 1 - 1e-6), bt=st.sampled_from([1, 2]), el=st.floats(-90.0, 90.0))
def test_p2109_monotone_in_probability_finite(f, p1, p2, bt, el):
    lo, hi = sorted((p1, p2))
    a = cl.building_entry_loss_db(f, lo, bt, el)
    b = cl.building_entry_loss_db(f, hi, bt, el)
    assert math.isfinite(a) and math.isfinite(b) and b >= a - 1e-9
