"""3GPP TR 38.901 Table 7.4.1-1 / 7.4.2-1: hand-computed values, validity, properties.

Reference: 3GPP TR 38.901 V17.0.0 (2022-03), Table 7.4.1-1 (pathloss models) and
Table 7.4.2-1 (LOS probability). fc in GHz, distances in m, c = 3.0e8 m/s.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from covkit.errors import CovkitInputError
from covkit.propagation import tr38901 as tr
from covkit.propagation.empirical import fspl_loss_db


def pl(scenario, d, f_mhz, hbs, hut, mode="los", **kw):
    return tr.tr38901_path_loss(scenario, d, f_mhz, hbs, hut, los_mode=mode, **kw).loss_db


# ------------------------------------------------------------------------------------------
# UMa, fc = 3.5 GHz, hBS = 25 m, hUT = 1.5 m: d'BP = 4 * 24 * 0.5 * 3.5e9 / 3e8 = 560 m
# ------------------------------------------------------------------------------------------
UMA_DBP = 4 * (25 - 1) * (1.5 - 1) * 3.5e9 / 3.0e8  # 560.0 m


def test_uma_breakpoint_value():
    assert UMA_DBP == pytest.approx(560.0)
    assert tr.urban_breakpoint_m(3500.0, 25.0, 1.5, 1.0) == pytest.approx(560.0)


@pytest.mark.parametrize("d2d", [100.0, 500.0, 559.0])
def test_uma_los_pl1_before_breakpoint(d2d):
    # PL1 = 28.0 + 22 log10(d3D) + 20 log10(fc); e.g. d2D = 100 m: d3D = 102.724 m,
    # PL1 = 28 + 44.257 + 10.881 = 83.14 dB
    d3d = math.sqrt(d2d**2 + (25.0 - 1.5) ** 2)
    expected = 28.0 + 22.0 * math.log10(d3d) + 20.0 * math.log10(3.5)
    if d2d == 100.0:
        assert expected == pytest.approx(83.14, abs=0.01)
    assert pl("uma", d2d, 3500.0, 25.0, 1.5) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("d2d", [561.0, 1000.0, 5000.0])
def test_uma_los_pl2_after_breakpoint(d2d):
    # PL2 = 28 + 40 log10(d3D) + 20 log10(fc) - 9 log10(d'BP^2 + (hBS - hUT)^2)
    d3d = math.sqrt(d2d**2 + 23.5**2)
    expected = (28.0 + 40.0 * math.log10(d3d) + 20.0 * math.log10(3.5)
                - 9.0 * math.log10(560.0**2 + 23.5**2))
    if d2d == 1000.0:  # 28 + 120.004 + 10.881 - 49.48 = 109.41 dB
        assert expected == pytest.approx(109.41, abs=0.01)
    assert pl("uma", d2d, 3500.0, 25.0, 1.5) == pytest.approx(expected, abs=1e-9)


def test_uma_los_continuous_at_breakpoint():
    below = pl("uma", 560.0 - 1e-6, 3500.0, 25.0, 1.5)
    above = pl("uma", 560.0 + 1e-6, 3500.0, 25.0, 1.5)
    assert above == pytest.approx(below, abs=1e-5)


@pytest.mark.parametrize("d2d", [50.0, 300.0, 2000.0])
def test_uma_nlos_is_max_of_los_and_nlos_prime(d2d):
    # PL'_NLOS = 13.54 + 39.08 log10(d3D) + 20 log10(fc) - 0.6 (hUT - 1.5)
    d3d = math.sqrt(d2d**2 + 23.5**2)
    nlos_prime = 13.54 + 39.08 * math.log10(d3d) + 20.0 * math.log10(3.5) - 0.0
    los = pl("uma", d2d, 3500.0, 25.0, 1.5)
    assert pl("uma", d2d, 3500.0, 25.0, 1.5, "nlos") == pytest.approx(max(los, nlos_prime),
                                                                       abs=1e-9)


def test_uma_expected_effective_height():
    # hUT = 20 m, d2D = 300 m: g = 1.25 * 3^3 * exp(-2) = 4.5676, C = (0.7)^1.5 * g = 2.6751;
    # set {12, 15, 18} (hUT - 1.5 = 18.5), mean 15; E[hE] = (1 + 15 C) / (1 + C) = 11.19 m
    g = 1.25 * (300 / 100) ** 3 * math.exp(-300 / 150)
    c = ((20 - 13) / 10) ** 1.5 * g
    expected = (1 + c * (12 + 15 + 18) / 3) / (1 + c)
    assert expected == pytest.approx(11.19, abs=0.01)
    assert tr.uma_effective_env_height_m(300.0, 20.0) == pytest.approx(expected, abs=1e-12)
    # hUT < 13 m: exactly 1 m; d2D <= 18 m: g = 0 -> 1 m
    assert tr.uma_effective_env_height_m(300.0, 12.9) == 1.0
    assert tr.uma_effective_env_height_m(18.0, 20.0) == 1.0
    # the loss is not the loss at E[hE] but the mean over the hE distribution (linear power):
    # hE = 1 (weight 1), 12, 15, 18 (weight C / 3 each), over 1 + C
    d3d = math.sqrt(300**2 + 5**2)

    def pl_at(he):
        dbp = 4 * (25 - he) * (20 - he) * 3.5e9 / 3e8
        if 300 <= dbp:
            return 28 + 22 * math.log10(d3d) + 20 * math.log10(3.5)
        return (28 + 40 * math.log10(d3d) + 20 * math.log10(3.5)
                - 9 * math.log10(dbp**2 + 5**2))

    power = (10 ** (-pl_at(1) / 10) + c / 3 * sum(10 ** (-pl_at(h) / 10) for h in (12, 15, 18)))
    exp_pl = -10 * math.log10(power / (1 + c))
    assert pl("uma", 300.0, 3500.0, 25.0, 20.0) == pytest.approx(exp_pl, abs=1e-9)


# ------------------------------------------------------------------------------------------
# UMa with hUT >= 13 m: the loss averaged over the TR's environment-height distribution
# ------------------------------------------------------------------------------------------
def _uma_los_fixed_he(d2d, f_mhz, hbs, hut, he):
    """TR 38.901 Table 7.4.1-1 UMa LOS for one hE, written out again from the table."""
    fc = f_mhz / 1000.0
    d3d = math.sqrt(d2d**2 + (hbs - hut) ** 2)
    dbp = 4.0 * (hbs - he) * (hut - he) * fc * 1e9 / 3.0e8  # note 1, c = 3e8 m/s
    if d2d <= dbp:
        return 28.0 + 22.0 * math.log10(d3d) + 20.0 * math.log10(fc)
    return (28.0 + 40.0 * math.log10(d3d) + 20.0 * math.log10(fc)
            - 9.0 * math.log10(dbp**2 + (hbs - hut) ** 2))


def _uma_he_distribution(d2d, hut):
    """Table 7.4.1-1 note 1: hE = 1 m w.p. 1/(1 + C(d2D, hUT)), else uniform on
    {12, 15, ..., hUT - 1.5}; C = ((hUT - 13)/10)^1.5 g(d2D) for 13 <= hUT <= 23,
    g = (5/4)(d2D/100)^3 exp(-d2D/150) for d2D > 18 m."""
    g = 0.0 if d2d <= 18.0 else 1.25 * (d2d / 100.0) ** 3 * math.exp(-d2d / 150.0)
    c = 0.0 if hut < 13.0 else ((hut - 13.0) / 10.0) ** 1.5 * g
    heights = list(np.arange(12.0, hut - 1.5 + 1e-9, 3.0))
    if not heights or c == 0.0:
        return [(1.0, 1.0)]
    return [(1.0, 1.0 / (1.0 + c))] + [(h, c / (1.0 + c) / len(heights)) for h in heights]


def _uma_brute_force(d2d, f_mhz, hut, hbs=25.0):
    """(mean of linear power as a loss, mean of the loss in dB) over the hE distribution."""
    dist = _uma_he_distribution(d2d, hut)
    assert sum(p for _, p in dist) == pytest.approx(1.0)
    losses = [(_uma_los_fixed_he(d2d, f_mhz, hbs, hut, he), p) for he, p in dist]
    lin = -10.0 * math.log10(sum(p * 10.0 ** (-x / 10.0) for x, p in losses))
    db = sum(p * x for x, p in losses)
    return lin, db


def test_uma_high_terminal_issue_case():
    # 727 m, 500 MHz, hUT 22.5 m: C = 0.95^1.5 * 1.25 * 7.27^3 * exp(-4.847) = 3.493,
    # P(hE = 1) = 0.2226, hE in {12, 15, 18, 21} each 0.1944; d'BP = 3440, 910, 500, 210, 40 m;
    # PL = 84.93 (hE = 1, 12: PL1), 87.86, 94.64, 107.59 dB. Mean of linear power 87.63 dB,
    # mean in dB 91.79 dB; the old value at E[hE] was 84.93 dB.
    lin, db = _uma_brute_force(727.0, 500.0, 22.5)
    assert lin == pytest.approx(87.63, abs=0.01)
    assert db == pytest.approx(91.79, abs=0.01)
    got = pl("uma", 727.0, 500.0, 25.0, 22.5)
    assert got == pytest.approx(lin, abs=1e-9)
    assert got > _uma_los_fixed_he(727.0, 500.0, 25.0, 22.5, 1.0) + 2.5


@pytest.mark.parametrize("d2d", [19.0, 100.0, 300.0, 450.0, 727.0, 1300.0, 3000.0, 5000.0])
@pytest.mark.parametrize("f_mhz", [500.0, 900.0, 3500.0, 28000.0])
@pytest.mark.parametrize("hut", [13.0, 13.6, 15.0, 17.9, 20.0, 22.5])
def test_uma_high_terminal_equals_brute_force(d2d, f_mhz, hut):
    lin, _ = _uma_brute_force(d2d, f_mhz, hut)
    assert pl("uma", d2d, f_mhz, 25.0, hut) == pytest.approx(lin, abs=1e-9)
    # compiled kernel and its Python form agree
    args = (1, d2d, f_mhz, 25.0, hut, 0, 20.0, 5.0)
    assert tr.tr38901_loss_db(*args) == pytest.approx(tr.tr38901_loss_db.py_func(*args),
                                                      abs=1e-10)
    # NLOS = max(PL_LOS, PL'_NLOS) with this LOS loss
    d3d = math.sqrt(d2d**2 + (25.0 - hut) ** 2)
    nlos_prime = 13.54 + 39.08 * math.log10(d3d) + 20 * math.log10(f_mhz / 1000) - 0.6 * (
        hut - 1.5)
    assert pl("uma", d2d, f_mhz, 25.0, hut, "nlos") == pytest.approx(max(lin, nlos_prime),
                                                                      abs=1e-9)


def test_uma_high_terminal_monte_carlo():
    # draw hE as the TR says and average the received power: agrees with the kernel
    rng = np.random.default_rng(16)
    d2d, f_mhz, hut = 727.0, 500.0, 22.5
    c = ((hut - 13.0) / 10.0) ** 1.5 * 1.25 * (d2d / 100.0) ** 3 * math.exp(-d2d / 150.0)
    n = 200_000
    he = np.where(rng.random(n) < 1.0 / (1.0 + c), 1.0,
                  rng.choice(np.array([12.0, 15.0, 18.0, 21.0]), n))
    table = {h: _uma_los_fixed_he(d2d, f_mhz, 25.0, hut, h) for h in (1.0, 12.0, 15.0, 18.0, 21.0)}
    loss = np.array([table[h] for h in he])
    mc = -10.0 * np.log10(np.mean(10.0 ** (-loss / 10.0)))
    assert pl("uma", d2d, f_mhz, 25.0, hut) == pytest.approx(mc, abs=0.05)


@pytest.mark.parametrize("hut", [1.5, 5.0, 10.0, 12.9])
@pytest.mark.parametrize("mode", ["los", "nlos", "probabilistic"])
def test_uma_low_terminal_unchanged(hut, mode):
    # hUT < 13 m: C = 0, hE = 1 m exactly, as before
    d = np.array([10.0, 18.0, 100.0, 727.0, 1500.0, 4999.0])
    for f_mhz in (500.0, 3500.0, 28000.0):
        los = np.array([_uma_los_fixed_he(x, f_mhz, 25.0, hut, 1.0) for x in d])
        got = pl("uma", d, f_mhz, 25.0, hut, mode)
        if mode == "los":
            np.testing.assert_allclose(got, los, rtol=0, atol=1e-10)
        else:
            d3d = np.sqrt(d**2 + (25.0 - hut) ** 2)
            nlos = np.maximum(los, 13.54 + 39.08 * np.log10(d3d) + 20 * math.log10(f_mhz / 1000)
                              - 0.6 * (hut - 1.5))
            if mode == "nlos":
                np.testing.assert_allclose(got, nlos, rtol=0, atol=1e-10)
            else:
                p = tr.tr38901_path_loss("uma", d, f_mhz, 25.0, hut).los_probability
                want = -10 * np.log10(p * 10 ** (-los / 10) + (1 - p) * 10 ** (-nlos / 10))
                np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


# ------------------------------------------------------------------------------------------
# UMi-Street Canyon, fc = 3.5 GHz, hBS = 10 m, hUT = 1.5 m: d'BP = 4*9*0.5*3.5e9/3e8 = 210 m
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("d2d", [20.0, 100.0, 209.0, 211.0, 300.0, 4000.0])
def test_umi_los_and_nlos(d2d):
    dbp = 4 * 9.0 * 0.5 * 3.5e9 / 3.0e8
    assert dbp == pytest.approx(210.0)
    d3d = math.sqrt(d2d**2 + 8.5**2)
    if d2d <= dbp:  # PL1 = 32.4 + 21 log10(d3D) + 20 log10(fc)
        los = 32.4 + 21.0 * math.log10(d3d) + 20.0 * math.log10(3.5)
    else:  # PL2 = 32.4 + 40 log10(d3D) + 20 log10(fc) - 9.5 log10(d'BP^2 + (hBS-hUT)^2)
        los = (32.4 + 40.0 * math.log10(d3d) + 20.0 * math.log10(3.5)
               - 9.5 * math.log10(dbp**2 + 8.5**2))
    # PL'_NLOS = 35.3 log10(d3D) + 22.4 + 21.3 log10(fc) - 0.3 (hUT - 1.5)
    nlos = max(los, 35.3 * math.log10(d3d) + 22.4 + 21.3 * math.log10(3.5))
    assert pl("umi", d2d, 3500.0, 10.0, 1.5) == pytest.approx(los, abs=1e-9)
    assert pl("umi", d2d, 3500.0, 10.0, 1.5, "nlos") == pytest.approx(nlos, abs=1e-9)


def test_umi_reference_number():
    # d2D = 100 m: d3D = 100.36 m, PL1 = 32.4 + 42.033 + 10.881 = 85.31 dB
    assert pl("umi", 100.0, 3500.0, 10.0, 1.5) == pytest.approx(85.31, abs=0.01)


# ------------------------------------------------------------------------------------------
# RMa, fc = 3.5 GHz, hBS = 35 m, hUT = 1.5 m, W = 20 m, h = 5 m:
# d_BP = 2 pi * 35 * 1.5 * 3.5e9 / 3e8 = 3848.45 m
# ------------------------------------------------------------------------------------------
def _rma_pl1(d3d, fc=3.5, h=5.0):
    return (20 * math.log10(40 * math.pi * d3d * fc / 3) + min(0.03 * h**1.72, 10)
            * math.log10(d3d) - min(0.044 * h**1.72, 14.77) + 0.002 * math.log10(h) * d3d)


def _rma_nlos_prime(d3d, fc=3.5, hbs=35.0, hut=1.5, w=20.0, h=5.0):
    return (161.04 - 7.1 * math.log10(w) + 7.5 * math.log10(h)
            - (24.37 - 3.7 * (h / hbs) ** 2) * math.log10(hbs)
            + (43.42 - 3.1 * math.log10(hbs)) * (math.log10(d3d) - 3)
            + 20 * math.log10(fc) - (3.2 * (math.log10(11.75 * hut)) ** 2 - 4.97))


def test_rma_breakpoint():
    dbp = 2 * math.pi * 35 * 1.5 * 3.5e9 / 3e8
    assert dbp == pytest.approx(3848.45, abs=0.01)
    assert tr.rma_breakpoint_m(3500.0, 35.0, 1.5) == pytest.approx(dbp)


@pytest.mark.parametrize("d2d", [100.0, 1000.0, 3848.0, 3849.0, 5000.0, 10_000.0])
def test_rma_los(d2d):
    dbp = 2 * math.pi * 35 * 1.5 * 3.5e9 / 3e8
    d3d = math.sqrt(d2d**2 + 33.5**2)
    if d2d <= dbp:
        expected = _rma_pl1(d3d)
    else:  # PL2 = PL1(d_BP) + 40 log10(d3D / d_BP)
        expected = _rma_pl1(dbp) + 40 * math.log10(d3d / dbp)
    assert pl("rma", d2d, 3500.0, 35.0, 1.5) == pytest.approx(expected, abs=1e-9)


def test_rma_los_reference_number():
    # d2D = 1000 m: d3D = 1000.561 m; 20 log10(40 pi 1000.561 * 3.5 / 3) = 103.33,
    # + 0.478 * 3.0002 - 0.701 + 0.002 * 0.699 * 1000.56 = 103.33 + 1.434 - 0.701 + 1.399
    assert pl("rma", 1000.0, 3500.0, 35.0, 1.5) == pytest.approx(105.46, abs=0.01)


@pytest.mark.parametrize("d2d", [100.0, 1000.0, 4999.0])
def test_rma_nlos(d2d):
    d3d = math.sqrt(d2d**2 + 33.5**2)
    los = pl("rma", d2d, 3500.0, 35.0, 1.5)
    expected = max(los, _rma_nlos_prime(d3d))
    assert pl("rma", d2d, 3500.0, 35.0, 1.5, "nlos") == pytest.approx(expected, abs=1e-9)


def test_rma_street_width_and_building_height_enter_nlos():
    d3d = math.sqrt(1000.0**2 + 33.5**2)
    got = pl("rma", 1000.0, 3500.0, 35.0, 1.5, "nlos", street_width_m=10.0,
             building_height_m=15.0)
    los = _rma_pl1(d3d, h=15.0)
    assert got == pytest.approx(max(los, _rma_nlos_prime(d3d, w=10.0, h=15.0)), abs=1e-9)


# ------------------------------------------------------------------------------------------
# LOS probability (Table 7.4.2-1) and the probabilistic mode
# ------------------------------------------------------------------------------------------
def test_los_probability_values():
    # RMa d = 1010 m: exp(-(1010 - 10)/1000) = exp(-1) = 0.3679
    assert tr.tr38901_los_probability(0, 1010.0, 1.5) == pytest.approx(math.exp(-1.0))
    # UMi d = 36 m: 18/36 + exp(-1) * (1 - 18/36) = 0.5 + 0.18394 = 0.68394
    assert tr.tr38901_los_probability(2, 36.0, 1.5) == pytest.approx(0.5 + 0.5 * math.exp(-1))
    # UMa d = 63 m, hUT = 1.5 m: 18/63 + exp(-1) * 45/63 = 0.54848
    assert tr.tr38901_los_probability(1, 63.0, 1.5) == pytest.approx(
        18 / 63 + math.exp(-1) * 45 / 63)
    # UMa d = 100 m, hUT = 23 m: C' = 1, factor 1 + 1.25 * 1 * exp(-2/3)
    base = 18 / 100 + math.exp(-100 / 63) * (1 - 18 / 100)
    assert tr.tr38901_los_probability(1, 100.0, 23.0) == pytest.approx(
        base * (1 + 1.25 * math.exp(-100 / 150)))
    for sc in range(3):
        assert tr.tr38901_los_probability(sc, 5.0, 1.5) == 1.0


def test_probabilistic_is_linear_power_mixture():
    d2d = 300.0
    res = tr.tr38901_path_loss("uma", d2d, 3500.0, 25.0, 1.5)
    p = 18 / d2d + math.exp(-d2d / 63) * (1 - 18 / d2d)
    l_los = pl("uma", d2d, 3500.0, 25.0, 1.5, "los")
    l_nlos = pl("uma", d2d, 3500.0, 25.0, 1.5, "nlos")
    expected = -10 * math.log10(p * 10 ** (-l_los / 10) + (1 - p) * 10 ** (-l_nlos / 10))
    assert res.loss_db == pytest.approx(expected, abs=1e-9)
    assert res.los_probability == pytest.approx(p)
    assert l_los <= res.loss_db <= l_nlos


def test_shadow_fading_sigmas():
    def sf(sc, d, hbs, mode):
        return tr.tr38901_path_loss(sc, d, 3500.0, hbs, 1.5, los_mode=mode
                                    ).shadow_fading_sigma_db
    assert sf("rma", 1000.0, 35.0, "los") == 4.0
    assert sf("rma", 4000.0, 35.0, "los") == 6.0  # beyond d_BP = 3848 m
    assert sf("rma", 1000.0, 35.0, "nlos") == 8.0
    assert sf("uma", 1000.0, 25.0, "los") == 4.0
    assert sf("uma", 1000.0, 25.0, "nlos") == 6.0
    assert sf("umi", 1000.0, 10.0, "los") == 4.0
    assert sf("umi", 1000.0, 10.0, "nlos") == 7.82
    p = 18 / 100 + math.exp(-100 / 36) * (1 - 18 / 100)
    assert sf("umi", 100.0, 10.0, "probabilistic") == pytest.approx(
        math.sqrt(p * 16 + (1 - p) * 7.82**2))


# ------------------------------------------------------------------------------------------
# Validity
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scenario", "args", "mode", "pattern"),
    [
        ("rma", (6000.0, 3500.0, 35.0, 1.5), "nlos", r"38901-rma: distance_m=6000"),
        ("rma", (6000.0, 3500.0, 35.0, 1.5), "probabilistic", "distance_m=6000"),
        ("rma", (11_000.0, 3500.0, 35.0, 1.5), "los", "distance_m=11000"),
        ("rma", (9.0, 3500.0, 35.0, 1.5), "los", "distance_m=9"),
        ("rma", (1000.0, 31_000.0, 35.0, 1.5), "los", "freq_mhz=31000"),
        ("rma", (1000.0, 3500.0, 5.0, 1.5), "los", "tx_height_agl_m=5"),
        ("rma", (1000.0, 3500.0, 35.0, 11.0), "los", "rx_height_agl_m=11"),
        ("uma", (1000.0, 3500.0, 30.0, 1.5), "los", "38901-uma: tx_height_agl_m=30"),
        ("uma", (1000.0, 3500.0, 25.0, 1.0), "los", "rx_height_agl_m=1"),
        ("uma", (1000.0, 400.0, 25.0, 1.5), "los", "freq_mhz=400"),
        ("umi", (5001.0, 3500.0, 10.0, 1.5), "los", "38901-umi: distance_m=5001"),
        ("umi", (100.0, 3500.0, 10.0, 23.0), "los", "rx_height_agl_m=23"),
    ],
)
def test_out_of_range_raises_naming_parameter(scenario, args, mode, pattern):
    with pytest.raises(CovkitInputError, match=pattern):
        tr.tr38901_path_loss(scenario, *args, los_mode=mode)
    res = tr.tr38901_path_loss(scenario, *args, los_mode=mode, extrapolate=True)
    assert math.isfinite(res.loss_db)


def test_rma_los_allows_10km_and_bad_choices():
    assert math.isfinite(pl("rma", 9000.0, 3500.0, 35.0, 1.5, "los"))
    with pytest.raises(CovkitInputError, match="unknown los_mode 'sometimes'.*probabilistic"):
        tr.tr38901_path_loss("uma", 100.0, 3500.0, 25.0, 1.5, los_mode="sometimes")
    with pytest.raises(CovkitInputError, match="unknown scenario 'inh'.*rma, uma, umi"):
        tr.tr38901_path_loss("inh", 100.0, 3500.0, 25.0, 1.5)
    with pytest.raises(CovkitInputError, match="building_height_m=60"):
        tr.tr38901_path_loss("rma", 100.0, 3500.0, 35.0, 1.5, building_height_m=60.0)


# ------------------------------------------------------------------------------------------
# Kernels compiled and py_func
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scenario,hbs", [(0, 35.0), (1, 25.0), (2, 10.0)])
@pytest.mark.parametrize("mode", [0, 1, 2])
def test_kernel_compiled_equals_py_func(scenario, hbs, mode):
    for d in (15.0, 150.0, 1500.0, 4500.0):
        args = (scenario, d, 3500.0, hbs, 1.5, mode, 20.0, 5.0)
        assert tr.tr38901_loss_db(*args) == pytest.approx(tr.tr38901_loss_db.py_func(*args),
                                                          abs=1e-10)
        sf_args = (scenario, d, 3500.0, hbs, 1.5, mode)
        assert tr.tr38901_shadow_fading_db(*sf_args) == pytest.approx(
            tr.tr38901_shadow_fading_db.py_func(*sf_args))


def test_arrays_keep_shape():
    d = np.array([[50.0, 500.0], [1500.0, 3000.0]])
    res = tr.tr38901_path_loss("umi", d, 3500.0, 10.0, 1.5)
    assert res.loss_db.shape == res.los_probability.shape == (2, 2)
    assert res.loss_db[0, 1] == pytest.approx(pl("umi", 500.0, 3500.0, 10.0, 1.5,
                                                 "probabilistic"))


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------
SCEN = {"rma": (35.0, (1.0, 10.0), 30_000.0, 5000.0), "uma": (25.0, (1.5, 22.5), 100_000.0,
        5000.0), "umi": (10.0, (1.5, 22.5), 100_000.0, 5000.0)}


@st.composite
def _case(draw):
    sc = draw(st.sampled_from(sorted(SCEN)))
    hbs, (hlo, hhi), fmax, dmax = SCEN[sc]
    if sc == "rma":
        hbs = draw(st.floats(10.0, 150.0))
    d1 = draw(st.floats(10.0, dmax))
    d2 = draw(st.floats(10.0, dmax))
    f = draw(st.floats(500.0, fmax))
    hut = draw(st.floats(hlo, hhi))
    mode = draw(st.sampled_from(["los", "nlos", "probabilistic"]))
    return sc, min(d1, d2), max(d1, d2), f, hbs, hut, mode


@settings(max_examples=400, deadline=None)
@given(_case())
def test_loss_non_decreasing_with_distance_and_finite(case):
    sc, d1, d2, f, hbs, hut, mode = case
    a = pl(sc, d1, f, hbs, hut, mode)
    b = pl(sc, d2, f, hbs, hut, mode)
    assert math.isfinite(a) and math.isfinite(b)
    assert b >= a - 1e-9


@settings(max_examples=400, deadline=None)
@given(_case())
def test_nlos_at_least_los_and_probabilistic_between(case):
    sc, d1, _, f, hbs, hut, _ = case
    los = pl(sc, d1, f, hbs, hut, "los")
    nlos = pl(sc, d1, f, hbs, hut, "nlos")
    prob = pl(sc, d1, f, hbs, hut, "probabilistic")
    assert nlos >= los
    assert los - 1e-9 <= prob <= nlos + 1e-9


@settings(max_examples=300, deadline=None)
@given(_case())
def test_umi_never_below_free_space(case):
    # UMi PL1 = 32.4 + 21 log10(d3D) + 20 log10 fc exceeds free space (32.45 + 20 log10 d3D
    # + 20 log10 fc) for d3D >= 1.12 m; NLOS >= LOS. (UMa LOS falls below free space for
    # d3D < 168 m and RMa LOS for short paths, by design of the table: not asserted.)
    sc, d1, _, f, hbs, hut, mode = case
    if sc != "umi":
        return
    d3d = math.hypot(d1, hbs - hut)
    assert pl(sc, d1, f, hbs, hut, mode) >= fspl_loss_db(d3d, f) - 0.01
