"""Radio layers: N_RB tables, per-RE EIRP, noise, coverage probability, reduction kernel, SINR,
throughput."""

from __future__ import annotations

import math

import numpy as np
import pytest

from covkit.coverage import radio as R
from covkit.errors import CovkitInputError
from covkit.propagation.antenna import pack_patterns, sector_gain_dbi


# ------------------------------------------------------------------------------------------
# N_RB: 3GPP TS 38.101-1 Table 5.3.2-1 (FR1) and TS 36.101 Table 5.6-1
@pytest.mark.parametrize("tech,bw,scs,expected", [
    ("5G", 100, 30, 273),   # TS 38.101-1 Table 5.3.2-1
    ("5G", 40, 30, 106),
    ("5G", 20, 30, 51),
    ("5G", 5, 30, 11),
    ("5G", 50, 15, 270),
    ("5G", 20, 15, 106),
    ("5G", 5, 15, 25),
    ("5G", 100, 60, 135),
    ("5G", 10, 60, 11),
    ("4G", 1.4, 15, 6),     # TS 36.101 Table 5.6-1
    ("4G", 3, 15, 15),
    ("4G", 5, 15, 25),
    ("4G", 10, 15, 50),
    ("4G", 15, 15, 75),
    ("4G", 20, 15, 100),
])
def test_n_rb_table_values(tech, bw, scs, expected):
    assert R.n_rb(tech, bw, scs) == expected


@pytest.mark.parametrize("tech,bw,scs,match", [
    ("5G", 100, 15, "not in TS 38.101-1"),
    ("5G", 5, 60, "not in TS 38.101-1"),
    ("5G", 100, 120, "15, 30, 60 kHz"),
    ("4G", 20, 30, "15 kHz"),
    ("4G", 7, 15, "TS 36.101"),
])
def test_n_rb_unsupported(tech, bw, scs, match):
    with pytest.raises(CovkitInputError, match=match):
        R.n_rb(tech, bw, scs)


def test_eirp_per_re_and_noise():
    # 60 dBm over 12 * 273 subcarriers: 60 - 10 log10(3276) = 24.847 dBm
    assert R.eirp_per_re_dbm(60.0, 273) == pytest.approx(60.0 - 35.1535, abs=1e-3)
    # -174 + 10 log10(30e3) + 7 = -122.229 dBm
    assert float(R.noise_per_re_dbm(30.0, 7.0)) == pytest.approx(-122.2288, abs=1e-3)
    assert float(R.noise_per_re_dbm(15.0, 0.0)) == pytest.approx(-174 + 41.7609, abs=1e-3)


# ------------------------------------------------------------------------------------------
def test_coverage_probability_formula():
    thr, sigma = -110.0, 5.5
    rsrp = np.array([thr, thr + 1.2815516 * sigma, thr - 1.2815516 * sigma, np.nan])
    p = R.coverage_probability(rsrp, thr, sigma)
    assert p[0] == pytest.approx(0.5)
    assert p[1] == pytest.approx(0.9, abs=1e-6)
    assert p[2] == pytest.approx(0.1, abs=1e-6)
    assert np.isnan(p[3])
    # sigma 0: step function
    np.testing.assert_array_equal(R.coverage_probability(np.array([-110.0, -110.01]), thr, 0.0),
                                  [1.0, 0.0])
    # covered <=> median >= thr + z sigma <=> P >= location probability
    req = R.required_median_dbm(thr, sigma, 0.9)
    assert req == pytest.approx(thr + 1.2815516 * sigma, abs=1e-6)
    assert R.required_median_dbm(thr, sigma, 0.5) == thr
    grid = np.linspace(-130, -90, 401)
    prob = R.coverage_probability(grid, thr, sigma)
    np.testing.assert_array_equal(grid >= req + 1e-9, prob >= 0.9 + 1e-12)


@pytest.mark.parametrize("compiled", [True, False])
def test_elevation_angle(compiled):
    f = R.elevation_angle_deg if compiled else R.elevation_angle_deg.py_func
    ae = 4.0 / 3.0 * 6371e3
    # 30 m above the receiver at 1 km: atan(-0.03 - 1000 / (2 ae))
    assert f(1000.0, 130.0, 100.0, ae) == pytest.approx(
        math.degrees(math.atan(-0.03 - 1000.0 / (2 * ae))), rel=1e-12)
    assert f(0.0, 100.0, 100.0, ae) == pytest.approx(0.0, abs=1e-3)  # 1 m minimum


NO_PATTERNS = tuple(pack_patterns([]))  # no tabulated antenna pattern


def _grids(shape, n_op, n_layers):
    h, w = shape
    return (np.full(shape, -np.inf, np.float32), np.full(shape, -np.inf, np.float32),
            np.full(shape, -1, np.int32), np.full((n_op, h, w), -np.inf, np.float32),
            np.full((n_op, h, w), -1, np.int32), np.zeros((n_layers, h, w), np.float32))


@pytest.mark.parametrize("compiled", [True, False])
def test_reduce_and_sinr_two_sectors(compiled):
    """Two omni sectors of one operator on one frequency plus one of another operator: best,
    second, server, per-operator best and a hand-computed SINR."""
    reduce_ = R.reduce_site_window if compiled else R.reduce_site_window.py_func
    sinr_k = R.sinr_db_kernel if compiled else R.sinr_db_kernel.py_func
    shape = (1, 3)
    affine6 = np.array([0.0, 100.0, 0.0, 100.0, 0.0, -100.0])
    dem = np.zeros(shape)
    ae = 4.0 / 3.0 * 6371e3
    best, second, server, op_best, op_server, layer_mw = _grids(shape, 2, 2)
    # pixel (0, 1) centre is (150, 50); sites 100 m east and west of it, antenna at the
    # receiver's height (elevation ~0: omni gain ~0 dB)
    eirp_re = np.array([20.0])
    nan = np.array([np.nan])

    def one(site_x, loss, idx, op, layer):
        reduce_(np.array([[np.nan, loss, np.nan]], np.float32), 0, 0, dem, affine6, site_x,
                50.0, 1.5, 1.5, ae, 3500.0, False, 0, *R.NO_CALIBRATION,
                np.array([idx], np.int64), eirp_re, nan,
                np.array([0.0]), np.array([65.0]), np.array([-1], np.int64),
                np.array([op], np.int64), np.array([layer], np.int64), *NO_PATTERNS, best,
                second, server, op_best, op_server, layer_mw)

    one(50.0, 100.0, 0, 0, 0)    # S0: -80 dBm
    one(250.0, 110.0, 1, 0, 0)   # S1: -90 dBm, same layer
    one(250.0, 105.0, 2, 1, 1)   # S2: -85 dBm, other operator
    gain = sector_gain_dbi(0.0, R.elevation_angle_deg(100.0, 1.5, 1.5, ae), 0.0, np.inf,
                           65.0, 30.0, 30.0, 0.0)
    assert abs(gain) < 1e-6
    assert best[0, 1] == pytest.approx(-80.0, abs=1e-4)
    assert second[0, 1] == pytest.approx(-85.0, abs=1e-4)
    assert server[0, 1] == 0
    assert op_best[0, 0, 1] == pytest.approx(-80.0, abs=1e-4)
    assert op_best[1, 0, 1] == pytest.approx(-85.0, abs=1e-4)
    assert op_server[1, 0, 1] == 2
    assert layer_mw[0, 0, 1] == pytest.approx(1e-8 + 1e-9, rel=1e-5)
    assert np.isneginf(best[0, 0]) and server[0, 0] == -1  # NaN loss: skipped
    noise_mw = 10 ** (0.1 * np.array([-122.2288] * 3))
    out = np.empty(shape, np.float32)
    bestn = np.where(np.isneginf(best), np.nan, best).astype(np.float32)
    sinr_k(bestn, server, np.array([0, 0, 1], np.int64), layer_mw, noise_mw, 0.5, out)
    # S / (0.5 * I + N) = 1e-8 / (0.5e-9 + 5.98e-13)
    expected = 10 * math.log10(1e-8 / (0.5e-9 + 10 ** (-12.22288)))
    assert out[0, 1] == pytest.approx(expected, abs=1e-3)
    assert np.isnan(out[0, 0])


@pytest.mark.parametrize("compiled", [True, False])
def test_reduce_sector_pattern_and_losses(compiled):
    """Boresight vs back lobe; clutter and building entry loss lower RSRP."""
    reduce_ = R.reduce_site_window if compiled else R.reduce_site_window.py_func
    shape = (1, 3)
    affine6 = np.array([0.0, 100.0, 0.0, 100.0, 0.0, -100.0])
    dem = np.zeros(shape)
    ae = 4.0 / 3.0 * 6371e3
    loss = np.array([[100.0, np.nan, 100.0]], np.float32)

    def run(clutter, bel):
        g = _grids(shape, 1, 1)
        reduce_(loss, 0, 0, dem, affine6, 150.0, 50.0, 1.5, 1.5, ae, 3500.0, clutter, bel,
                *R.NO_CALIBRATION,
                np.array([0], np.int64), np.array([20.0]), np.array([90.0]),  # faces east
                np.array([0.0]), np.array([65.0]), np.array([-1], np.int64),
                np.array([0], np.int64), np.array([0], np.int64), *NO_PATTERNS, *g)
        return g[0]

    base = run(False, 0)
    assert base[0, 2] == pytest.approx(-80.0, abs=1e-3)   # boresight
    assert base[0, 0] == pytest.approx(-110.0, abs=1e-3)  # back: A_m = 30 dB
    clut = run(True, 0)
    from covkit.propagation.clutter import building_entry_loss_db, terrestrial_clutter_loss_db
    assert clut[0, 2] == pytest.approx(-80.0 - terrestrial_clutter_loss_db(3500.0, 250.0, 0.5),
                                       abs=1e-3)
    bel = run(False, 1)
    assert bel[0, 2] == pytest.approx(-80.0 - building_entry_loss_db(3500.0, 0.5, 1, 0.0),
                                      abs=1e-2)


@pytest.mark.parametrize("compiled", [True, False])
def test_shannon_throughput(compiled):
    f = R.shannon_throughput_mbps if compiled else R.shannon_throughput_mbps.py_func
    assert f(-10.5, 100.0, 7.4063, 0.14) == 0.0
    assert f(10.0, 100.0, 7.4063, 0.14) == pytest.approx(0.6 * math.log2(11.0) * 86.0)
    assert f(60.0, 20.0, 4.4, 0.25) == pytest.approx(4.4 * 15.0)  # capped
    assert math.isnan(f(np.nan, 20.0, 4.4, 0.25))


def test_fold_in_bands_of_rows_equals_one_reduction():
    """fold_site_window runs reduce_site_window on bands of rows on threads: the grids are
    bit-for-bit those of one reduction over the whole window, for 1, 2 and 3 threads."""
    rng = np.random.default_rng(4)
    shape = (23, 17)
    affine6 = np.array([0.0, 100.0, 0.0, 2300.0, 0.0, -100.0])
    dem = rng.random(shape) * 40.0
    loss = (90.0 + rng.random((19, 13)) * 40.0).astype(np.float32)
    loss[rng.random(loss.shape) < 0.2] = np.nan
    sectors = (np.array([0, 1, 2], np.int64), np.array([18.0, 20.0, 15.0]),
               np.array([30.0, 150.0, np.nan]), np.array([4.0, 6.0, 2.0]),
               np.array([65.0, 65.0, 360.0]), np.array([-1, -1, -1], np.int64),
               np.array([0, 0, 1], np.int64), np.array([0, 0, 1], np.int64))
    ae = 4.0 / 3.0 * 6371e3

    def run(fold):
        grids = _grids(shape, 2, 2)
        fold(loss, 3, 2, dem, affine6, 900.0, 1200.0, 60.0, 1.5, ae, 3500.0, True, 1,
             *R.NO_CALIBRATION, *sectors, *NO_PATTERNS, *grids)
        return grids

    whole = run(R.reduce_site_window)
    assert np.isfinite(whole[0]).sum() == np.isfinite(loss).sum()
    for n_threads in (1, 2, 3):
        banded = run(lambda *a, t=n_threads: R.fold_site_window(*a, n_threads=t))
        for g_whole, g_banded in zip(whole, banded, strict=True):
            assert np.array_equal(g_whole, g_banded)
