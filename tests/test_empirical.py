"""Free space (P.525), Okumura-Hata and COST-231 Hata: reference values and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from covkit.errors import CovkitInputError
from covkit.propagation import empirical as em

# ------------------------------------------------------------------------------------------
# Free space
# ------------------------------------------------------------------------------------------


def test_fspl_reference_first_principles():
    # ITU-R P.525-4 eq. (6): L = 20 log10(4 pi d / lambda).
    # d = 1 km, f = 1000 MHz: lambda = 299792458 / 1e9 = 0.299792458 m,
    # 4 pi 1000 / 0.299792458 = 41916.9 -> 92.448 dB.
    lam = 299_792_458.0 / 1.0e9
    expected = 20.0 * math.log10(4.0 * math.pi * 1000.0 / lam)
    assert expected == pytest.approx(92.448, abs=1e-3)
    assert em.fspl(1000.0, 1000.0) == pytest.approx(expected, abs=1e-9)
    # P.525 prints the rounded form 32.4 + 20 log f(MHz) + 20 log d(km)
    assert em.fspl(1000.0, 1000.0) == pytest.approx(32.4 + 60.0 + 0.0, abs=0.05)
    # 10 km, 3500 MHz: 32.45 + 70.88 + 20 = 123.33 dB
    lam = 299_792_458.0 / 3.5e9
    expected = 20.0 * math.log10(4.0 * math.pi * 10_000.0 / lam)
    assert em.fspl(10_000.0, 3500.0) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(123.33, abs=0.01)
    # 50 m, 28 GHz
    lam = 299_792_458.0 / 28.0e9
    expected = 20.0 * math.log10(4.0 * math.pi * 50.0 / lam)
    assert em.fspl(50.0, 28_000.0) == pytest.approx(expected, abs=1e-9)


def test_fspl_six_db_per_doubling():
    assert em.fspl(2000.0, 900.0) - em.fspl(1000.0, 900.0) == pytest.approx(
        20 * math.log10(2), abs=1e-12)


# ------------------------------------------------------------------------------------------
# Hata
# ------------------------------------------------------------------------------------------


def _hata_by_hand(f, hb, hm, d_km, env):
    """Hata (1980) eqs. written out independently of the module."""
    lf = math.log10(f)
    if env == "large_city":
        if f <= 200:
            a = 8.29 * (math.log10(1.54 * hm)) ** 2 - 1.1
        else:
            a = 3.2 * (math.log10(11.75 * hm)) ** 2 - 4.97
    else:
        a = (1.1 * lf - 0.7) * hm - (1.56 * lf - 0.8)
    lu = 69.55 + 26.16 * lf - 13.82 * math.log10(hb) - a + (
        44.9 - 6.55 * math.log10(hb)) * math.log10(d_km)
    if env == "suburban":
        return lu - 2 * (math.log10(f / 28)) ** 2 - 5.4
    if env == "open":
        return lu - 4.78 * lf**2 + 18.33 * lf - 40.94
    return lu


def test_hata_published_example_urban_900mhz():
    # Classic textbook value: urban (small/medium city), f = 900 MHz, hb = 30 m, hm = 1.5 m,
    # d = 1 km: 69.55 + 26.16*2.95424 - 13.82*1.47712 - a(1.5) = 69.55 + 77.283 - 20.414
    # - 0.016 = 126.40 dB.
    assert em.hata(1000.0, 900.0, 30.0, 1.5) == pytest.approx(126.40, abs=0.01)


@pytest.mark.parametrize(
    ("f", "hb", "hm", "d_km", "env", "approx_db"),
    [
        (900.0, 30.0, 1.5, 10.0, "urban", 161.63),  # + (44.9 - 6.55*1.47712) * 1
        (900.0, 30.0, 1.5, 1.0, "suburban", 116.46),  # - 2*(log10(900/28))^2 - 5.4
        (900.0, 30.0, 1.5, 1.0, "open", 97.90),  # - 4.78*2.954^2 + 18.33*2.954 - 40.94
        (900.0, 30.0, 1.5, 1.0, "large_city", 126.42),  # a = 3.2*(log10 17.625)^2 - 4.97
        (150.0, 50.0, 2.0, 5.0, "large_city", None),  # f <= 200 MHz large-city form
        (1500.0, 200.0, 10.0, 20.0, "urban", None),
    ],
)
def test_hata_hand_computed(f, hb, hm, d_km, env, approx_db):
    expected = _hata_by_hand(f, hb, hm, d_km, env)
    if approx_db is not None:
        assert expected == pytest.approx(approx_db, abs=0.01)
    got = em.hata(d_km * 1000.0, f, hb, hm, environment=env)
    assert got == pytest.approx(expected, abs=1e-9)


def test_hata_rural_alias_and_metropolitan_alias():
    assert em.hata(3000, 800, 40, 1.5, environment="rural") == em.hata(
        3000, 800, 40, 1.5, environment="open")
    assert em.hata(3000, 800, 40, 1.5, environment="metropolitan") == em.hata(
        3000, 800, 40, 1.5, environment="large_city")


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        (dict(distance_m=999.0), "distance_m"),
        (dict(distance_m=20_001.0), "distance_m"),
        (dict(freq_mhz=149.0), "freq_mhz"),
        (dict(freq_mhz=1600.0), "freq_mhz"),
        (dict(tx_height_agl_m=29.0), "tx_height_agl_m"),
        (dict(tx_height_agl_m=201.0), "tx_height_agl_m"),
        (dict(rx_height_agl_m=0.5), "rx_height_agl_m"),
        (dict(rx_height_agl_m=11.0), "rx_height_agl_m"),
    ],
)
def test_hata_out_of_range_names_parameter(kwargs, param):
    args = dict(distance_m=5000.0, freq_mhz=900.0, tx_height_agl_m=30.0, rx_height_agl_m=1.5)
    args.update(kwargs)
    with pytest.raises(CovkitInputError, match=f"hata: {param}=.*outside"):
        em.hata(**args)
    # extrapolate=True evaluates the formula instead
    assert math.isfinite(em.hata(**args, extrapolate=True))


def test_hata_domain_errors_even_with_extrapolate():
    with pytest.raises(CovkitInputError, match="distance_m must be > 0"):
        em.hata(0.0, 900.0, 30.0, 1.5, extrapolate=True)
    with pytest.raises(CovkitInputError, match="freq_mhz must be finite"):
        em.hata(1000.0, float("nan"), 30.0, 1.5, extrapolate=True)
    with pytest.raises(CovkitInputError, match="unknown environment 'jungle'.*urban"):
        em.hata(1000.0, 900.0, 30.0, 1.5, environment="jungle")


def test_hata_arrays_broadcast():
    d = np.array([[1000.0, 2000.0], [5000.0, 10_000.0]])
    out = em.hata(d, 900.0, 30.0, 1.5)
    assert out.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            assert out[i, j] == pytest.approx(_hata_by_hand(900, 30, 1.5, d[i, j] / 1000, "urban"))


# ------------------------------------------------------------------------------------------
# COST-231
# ------------------------------------------------------------------------------------------


def _cost231_by_hand(f, hb, hm, d_km, metropolitan):
    lf = math.log10(f)
    if metropolitan:
        a = 3.2 * (math.log10(11.75 * hm)) ** 2 - 4.97
    else:
        a = (1.1 * lf - 0.7) * hm - (1.56 * lf - 0.8)
    cm = 3.0 if metropolitan else 0.0
    return (46.3 + 33.9 * lf - 13.82 * math.log10(hb) - a
            + (44.9 - 6.55 * math.log10(hb)) * math.log10(d_km) + cm)


@pytest.mark.parametrize(
    ("f", "hb", "hm", "d_km", "env", "approx_db"),
    [
        # 46.3 + 33.9*3.25527 - 13.82*1.47712 - 0.043 = 136.20 dB
        (1800.0, 30.0, 1.5, 1.0, "urban", 136.20),
        (1800.0, 30.0, 1.5, 1.0, "metropolitan", 139.24),  # Cm = 3, a(1.5) = -0.001
        (2000.0, 50.0, 1.5, 5.0, "suburban", None),
        (1500.0, 100.0, 3.0, 15.0, "urban", None),
    ],
)
def test_cost231_hand_computed(f, hb, hm, d_km, env, approx_db):
    expected = _cost231_by_hand(f, hb, hm, d_km, env == "metropolitan")
    if approx_db is not None:
        assert expected == pytest.approx(approx_db, abs=0.01)
    assert em.cost231(d_km * 1000, f, hb, hm, environment=env) == pytest.approx(expected,
                                                                                abs=1e-9)


def test_cost231_rejects_open_and_range():
    with pytest.raises(CovkitInputError, match="unknown environment 'open'.*metropolitan"):
        em.cost231(1000, 1800, 30, 1.5, environment="open")
    with pytest.raises(CovkitInputError, match="cost231: freq_mhz=900"):
        em.cost231(1000, 900, 30, 1.5)
    assert math.isfinite(em.cost231(1000, 900, 30, 1.5, extrapolate=True))


# ------------------------------------------------------------------------------------------
# Kernels compiled and pure Python
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", [0, 1, 2, 3])
def test_kernels_compiled_equal_py_func(env):
    args = (3000.0, 900.0, 45.0, 1.5, env)
    assert em.hata_loss_db(*args) == pytest.approx(em.hata_loss_db.py_func(*args), abs=1e-12)
    args = (3000.0, 1800.0, 45.0, 1.5, env)
    assert em.cost231_loss_db(*args) == pytest.approx(em.cost231_loss_db.py_func(*args),
                                                      abs=1e-12)
    assert em.fspl_loss_db(3000.0, 900.0) == pytest.approx(
        em.fspl_loss_db.py_func(3000.0, 900.0), abs=1e-12)
    d = np.array([1000.0, 2000.0])
    out = em.hata_loss_db_array.py_func(d, np.full(2, 900.0), np.full(2, 30.0),
                                        np.full(2, 1.5), env, np.empty(2))
    assert out == pytest.approx(em.hata_loss_db_array(d, np.full(2, 900.0), np.full(2, 30.0),
                                                      np.full(2, 1.5), env, np.empty(2)))


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------
hata_inputs = dict(
    d1=st.floats(1000.0, 20_000.0), d2=st.floats(1000.0, 20_000.0),
    f=st.floats(150.0, 1500.0), hb=st.floats(30.0, 200.0), hm=st.floats(1.0, 10.0),
    env=st.sampled_from(["urban", "large_city", "suburban", "open"]),
)


@settings(max_examples=300, deadline=None)
@given(**hata_inputs)
def test_hata_non_decreasing_with_distance_and_finite(d1, d2, f, hb, hm, env):
    lo, hi = sorted((d1, d2))
    a = em.hata(lo, f, hb, hm, environment=env)
    b = em.hata(hi, f, hb, hm, environment=env)
    assert math.isfinite(a) and math.isfinite(b)
    assert b >= a - 1e-9  # slope 44.9 - 6.55 log10(hb) > 0 for hb <= 200 m


@settings(max_examples=300, deadline=None)
@given(**hata_inputs)
def test_hata_urban_never_below_free_space(d1, d2, f, hb, hm, env):
    # Holds for urban and large-city over the whole validity range (margin >= 1.6 dB);
    # suburban and open corrections can go below free space (e.g. open, 150 MHz, hb=200 m,
    # hm=10 m), so they are not asserted.
    if env in ("suburban", "open"):
        return
    slant = math.hypot(d1, hb - hm)
    assert em.hata(d1, f, hb, hm, environment=env) >= em.fspl(slant, f)


@settings(max_examples=300, deadline=None)
@given(d1=st.floats(1000.0, 20_000.0), d2=st.floats(1000.0, 20_000.0),
       f=st.floats(1500.0, 2000.0), hb=st.floats(30.0, 200.0), hm=st.floats(1.0, 10.0),
       env=st.sampled_from(["urban", "metropolitan", "suburban"]))
def test_cost231_monotone_finite_above_free_space(d1, d2, f, hb, hm, env):
    lo, hi = sorted((d1, d2))
    a = em.cost231(lo, f, hb, hm, environment=env)
    b = em.cost231(hi, f, hb, hm, environment=env)
    assert math.isfinite(a) and b >= a - 1e-9
    assert a >= em.fspl(math.hypot(lo, hb - hm), f)
