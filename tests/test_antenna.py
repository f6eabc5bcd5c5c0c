"""Antenna gain: TR 38.901 Table 7.3-1 sector pattern, omni, MSI/Planet files."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers.scenario import RES, X0, Y0, station_rows, write_csv, write_small_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

import covkit
from covkit.coverage import radio as R
from covkit.errors import CovkitInputError
from covkit.propagation import antenna as an

# ------------------------------------------------------------------------------------------
# 3GPP sector pattern
# ------------------------------------------------------------------------------------------


def _tr38901_by_hand(phi, elev, tilt, phi3=65.0, theta3=65.0, am=30.0, slav=30.0, g=8.0):
    # TR 38.901 Table 7.3-1 with theta = 90 - elev (zenith), theta_tilt = 90 + tilt
    a_h = -min(12 * (phi / phi3) ** 2, am)
    theta, theta_tilt = 90.0 - elev, 90.0 + tilt
    a_v = -min(12 * ((theta - theta_tilt) / theta3) ** 2, slav)
    return g - min(-(a_h + a_v), am)


def test_sector_reference_points():
    ant = an.SectorAntenna(azimuth_deg=120.0, tilt_deg=6.0)
    # boresight, pixel 6 deg below horizon: G = Gmax = 8 dBi
    assert ant.gain_dbi(120.0, -6.0) == pytest.approx(8.0)
    # half the HPBW off boresight: 12 * (32.5/65)^2 = 3 dB down -> 5 dBi
    assert ant.gain_dbi(120.0 + 32.5, -6.0) == pytest.approx(5.0)
    assert ant.gain_dbi(120.0 - 32.5, -6.0) == pytest.approx(5.0)
    # back lobe: A_H = -min(12*(180/65)^2 = 92, 30) = -30 -> 8 - 30 = -22 dBi
    assert ant.gain_dbi(300.0, -6.0) == pytest.approx(-22.0)
    # on the horizon at boresight: theta - theta_tilt = 90 - 96 = -6: 12*(6/65)^2 = 0.1022 dB
    assert ant.gain_dbi(120.0, 0.0) == pytest.approx(8.0 - 12 * (6 / 65) ** 2)
    # wrap across north: antenna at 350 deg, pixel at 10 deg -> phi = 20 deg
    ant2 = an.SectorAntenna(azimuth_deg=350.0)
    assert ant2.gain_dbi(10.0, 0.0) == pytest.approx(8.0 - 12 * (20 / 65) ** 2)


@pytest.mark.parametrize(
    ("phi", "elev", "tilt"),
    [(0.0, 0.0, 0.0), (45.0, -10.0, 4.0), (-100.0, 20.0, 8.0), (170.0, -80.0, 2.0),
     (30.0, 60.0, 10.0)],
)
def test_sector_matches_table_7_3_1(phi, elev, tilt):
    ant = an.SectorAntenna(azimuth_deg=0.0, tilt_deg=tilt, hpbw_h_deg=65.0, hpbw_v_deg=10.0,
                           front_to_back_db=25.0, sla_v_db=20.0, max_gain_dbi=17.0)
    expected = _tr38901_by_hand(phi, elev, tilt, 65.0, 10.0, 25.0, 20.0, 17.0)
    assert ant.gain_dbi(phi % 360.0, elev) == pytest.approx(expected, abs=1e-12)
    args = (phi, elev, tilt, 65.0, 10.0, 25.0, 20.0, 17.0)
    assert an.sector_gain_dbi(*args) == pytest.approx(an.sector_gain_dbi.py_func(*args))


def test_relative_azimuth_equals_the_modulo_over_the_folds_range():
    # the fold passes an atan2 bearing in (-180, 180] and a sector azimuth in [0, 360): the
    # floor-based wrap must give Python's % result bit for bit there (one rounding each)
    rng = np.random.default_rng(7)
    bearing = np.concatenate([rng.uniform(-180.0, 180.0, 20000),
                              [180.0, -179.99999999999997, 0.0, -0.0, 1e-300, -1e-300]])
    azimuth = np.concatenate([rng.uniform(0.0, 360.0, 20000),
                              [0.0, 359.99999999999994, 180.0, 360.0 - 1e-13, 90.0, 0.0]])
    for b, a in zip(bearing, azimuth, strict=True):
        x = (float(b) - float(a)) % 360.0
        want = x - 360.0 if x > 180.0 else x
        got = an.relative_azimuth_deg(float(b), float(a))
        assert got == want, (b, a, got, want)


@given(st.floats(-1e9, 1e9, allow_nan=False), st.floats(-1e9, 1e9, allow_nan=False))
@settings(max_examples=300, deadline=None)
def test_relative_azimuth_in_range_for_any_angles(pixel, antenna):
    a = an.relative_azimuth_deg(pixel, antenna)
    assert -180.0 < a <= 180.0
    # the same direction as the plain difference, to rounding of the large arguments
    diff = math.remainder(pixel - antenna, 360.0)
    assert math.isclose(math.cos(math.radians(a)), math.cos(math.radians(diff)), abs_tol=1e-6)


def test_sector_array_shape_and_validation():
    ant = an.SectorAntenna()
    out = ant.gain_dbi(np.array([[0.0, 90.0], [180.0, 270.0]]), 0.0)
    assert out.shape == (2, 2)
    with pytest.raises(CovkitInputError, match="hpbw_h_deg=0"):
        an.SectorAntenna(hpbw_h_deg=0.0)
    with pytest.raises(CovkitInputError, match="tilt_deg=95"):
        an.SectorAntenna(tilt_deg=95.0)
    with pytest.raises(CovkitInputError, match="elevation_deg=91"):
        ant.gain_dbi(0.0, 91.0)


def test_omni():
    omni = an.omni_antenna(2.15)
    assert omni.gain_dbi(np.array([0.0, 77.0, 200.0]), np.array([0.0, -30.0, 45.0])) == (
        pytest.approx([2.15, 2.15, 2.15]))
    omni_v = an.omni_antenna(6.0, tilt_deg=2.0, hpbw_v_deg=20.0)
    # 12 * ((-(-2) ... ) : elevation -2 is on the beam -> 6 dBi; elevation +8: 12*(10/20)^2=3
    assert omni_v.gain_dbi(33.0, -2.0) == pytest.approx(6.0)
    assert omni_v.gain_dbi(250.0, 8.0) == pytest.approx(3.0)


@settings(max_examples=300, deadline=None)
@given(az=st.floats(-720.0, 720.0), el=st.floats(-90.0, 90.0), tilt=st.floats(-20.0, 20.0),
       h3=st.floats(5.0, 180.0), v3=st.floats(3.0, 90.0), am=st.floats(0.0, 40.0),
       g=st.floats(-5.0, 25.0))
def test_sector_bounds_and_symmetry(az, el, tilt, h3, v3, am, g):
    gain = an.sector_gain_dbi(az, el, tilt, h3, v3, am, 30.0, g)
    assert g - am - 1e-9 <= gain <= g + 1e-9
    assert gain == pytest.approx(an.sector_gain_dbi(-az, el, tilt, h3, v3, am, 30.0, g))
    assert gain == pytest.approx(an.sector_gain_dbi(az + 360.0, el, tilt, h3, v3, am, 30.0, g))


# ------------------------------------------------------------------------------------------
# MSI / Planet files
# ------------------------------------------------------------------------------------------
def _h_loss(k):
    a = min(k, 360 - k)
    return min(12 * (a / 65.0) ** 2, 25.0)


def _v_loss(k):
    # vertical cut with 4 deg electrical downtilt: minimum at 4 (below horizon)
    a = (k - 4) % 360
    a = min(a, 360 - a)
    return min(12 * (a / 7.0) ** 2, 20.0)


def _write_msi(path, gain="GAIN 15.85 dBd", h_rows=None, v_rows=None, extra=""):
    h_rows = h_rows if h_rows is not None else [f"{k} {_h_loss(k):.3f}" for k in range(360)]
    v_rows = v_rows if v_rows is not None else [f"{k}\t{_v_loss(k):.3f}" for k in range(360)]
    text = "\n".join(
        ["NAME TEST-ANT", "MAKE ACME", "FREQUENCY 1800", "H_WIDTH 65", "V_WIDTH 7",
         "FRONT_TO_BACK 25", gain, "TILT ELECTRICAL", "POLARIZATION +45", "COMMENT test",
         extra, f"HORIZONTAL {len(h_rows)}", *h_rows, f"VERTICAL {len(v_rows)}", *v_rows]
    )
    path.write_text(text + "\n")
    return path


def test_read_msi_fields(tmp_path):
    p = an.read_msi(_write_msi(tmp_path / "a.msi"))
    assert p.name == "TEST-ANT"
    assert p.freq_mhz == 1800.0
    assert p.max_gain_dbi == pytest.approx(15.85 + 2.15)  # dBd -> dBi
    assert p.tilt == "ELECTRICAL"
    assert p.horizontal_angle_deg.shape == (360,) and p.vertical_loss_db.shape == (360,)
    assert p.front_to_back_db == pytest.approx(25.0)
    p2 = an.read_msi(_write_msi(tmp_path / "b.msi", gain="GAIN 18 dBi"))
    assert p2.max_gain_dbi == 18.0
    p3 = an.read_msi(_write_msi(tmp_path / "c.msi", gain="GAIN 10"))
    assert p3.max_gain_dbi == pytest.approx(12.15)  # no unit: Planet default dBd


def test_tabulated_gain_combination_and_interpolation(tmp_path):
    pat = an.read_msi(_write_msi(tmp_path / "a.msi"))
    ant = an.TabulatedAntenna(pat, azimuth_deg=90.0)
    g = 18.0
    # boresight, 4 deg below horizon (electrical tilt): L_H = 0, L_V = 0
    assert ant.gain_dbi(90.0, -4.0) == pytest.approx(g)
    # 10.5 deg right of boresight, on the beam: linear interpolation of L_H(10), L_H(11)
    lh = 0.5 * (round(_h_loss(10), 3) + round(_h_loss(11), 3))
    assert ant.gain_dbi(100.5, -4.0) == pytest.approx(g - lh)
    # 20 deg left (pattern angle 340) and 2 deg below horizon (pattern angle 2): sum
    expected = g - (round(_h_loss(340), 3) + round(_v_loss(2), 3))
    assert ant.gain_dbi(70.0, -2.0) == pytest.approx(expected)
    # back and in a vertical null: capped at the horizontal front-to-back maximum (25 dB)
    assert ant.gain_dbi(270.0, 40.0) == pytest.approx(g - 25.0)
    # wrap-around interpolation between 359 and 0 deg (pattern angle 359.5)
    lh = 0.5 * (round(_h_loss(359), 3) + round(_h_loss(0), 3))
    assert ant.gain_dbi(89.5, -4.0) == pytest.approx(g - lh)
    # extra mechanical downtilt of 3 deg shifts the vertical cut: beam now at -7 deg
    tilted = an.TabulatedAntenna(pat, azimuth_deg=90.0, tilt_deg=3.0)
    assert tilted.gain_dbi(90.0, -7.0) == pytest.approx(g)
    # explicit cap
    capped = an.TabulatedAntenna(pat, azimuth_deg=90.0, max_loss_db=10.0)
    assert capped.gain_dbi(270.0, 40.0) == pytest.approx(g - 10.0)


def test_tabulated_kernel_py_func(tmp_path):
    pat = an.read_msi(_write_msi(tmp_path / "a.msi"))
    args = (37.3, -12.2, 1.0, pat.horizontal_angle_deg, pat.horizontal_loss_db,
            pat.vertical_angle_deg, pat.vertical_loss_db, 18.0, 25.0)
    assert an.tabulated_gain_dbi(*args) == pytest.approx(an.tabulated_gain_dbi.py_func(*args))


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(gain="GAIN abc dBi"), r"line 7: GAIN value is not a number"),
        (dict(gain="GAIN 12 dBq"), r"line 7: GAIN unit 'dBq'"),
        (dict(gain="COMMENT no gain"), r"no GAIN line"),
        (dict(h_rows=["0 0.0", "1 x"]), r"line 14: HORIZONTAL row is not numeric"),
        (dict(h_rows=["0 0.0", "400 1.0"]), r"line 14: HORIZONTAL angle 400 outside"),
        (dict(h_rows=["0 0.0", "5 1.0", "5 2.0"]), r"line 15: HORIZONTAL angle 5 deg repeated"),
        (dict(v_rows=["0 0.0"] * 1 + ["1 1"]), None),  # valid: 2 rows
    ],
)
def test_read_msi_errors_name_file_and_line(tmp_path, kwargs, pattern):
    path = _write_msi(tmp_path / "bad.msi", **kwargs)
    if pattern is None:
        an.read_msi(path)
        return
    with pytest.raises(CovkitInputError, match=pattern) as exc:
        an.read_msi(path)
    assert "bad.msi" in str(exc.value)


def test_read_msi_short_section_and_missing_vertical(tmp_path):
    path = tmp_path / "short.msi"
    path.write_text("NAME x\nGAIN 10 dBi\nHORIZONTAL 360\n0 0\n1 0.1\nVERTICAL 360\n0 0\n")
    with pytest.raises(CovkitInputError, match=r"short.msi.*line 6: expected 'angle loss_db'"):
        an.read_msi(path)
    path = tmp_path / "novert.msi"
    path.write_text("NAME x\nGAIN 10 dBi\nHORIZONTAL 2\n0 0\n180 20\n")
    with pytest.raises(CovkitInputError, match=r"novert.msi.*no VERTICAL section"):
        an.read_msi(path)
    path = tmp_path / "eof.msi"
    path.write_text("NAME x\nGAIN 10 dBi\nHORIZONTAL 3\n0 0\n180 20\n")
    with pytest.raises(CovkitInputError, match=r"line 3: HORIZONTAL declares 3 rows"):
        an.read_msi(path)
    with pytest.raises(CovkitInputError, match="cannot read antenna pattern"):
        an.read_msi(tmp_path / "missing.msi")


def test_read_msi_first_line_name_without_token_and_360_fold(tmp_path):
    path = tmp_path / "vendor.pln"
    rows = "\n".join(f"{k} {_h_loss(k % 360):.2f}" for k in range(0, 361, 10))
    path.write_text(f"742 215 X\nGAIN 17 dBi\nHORIZONTAL 37\n{rows}\nVERTICAL 2\n0 0\n180 20\n")
    pat = an.read_msi(path)
    assert pat.name == "742 215 X"
    assert pat.horizontal_angle_deg.size == 36  # 360 folded onto 0
    assert pat.horizontal_angle_deg[0] == 0.0 and math.isclose(pat.horizontal_loss_db[0], 0.0)


# ------------------------------------------------------------------------------------------
# MSI patterns in the coverage fold (stations column antenna_file)
# ------------------------------------------------------------------------------------------
def _tr_loss(k):
    # TR 38.901 Table 7.3-1 cut with 65 deg HPBW and 30 dB cap at pattern angle k (deg)
    a = k if k <= 180 else k - 360
    return min(12.0 * (a / 65.0) ** 2, 30.0)


def _tr_msi(path, null=None):
    """The parametric pattern of the coverage fold (65 deg both cuts, A_m = SLA_V = 30 dB) as
    an MSI file, every degree plus the two angles where the 30 dB cap starts (so that linear
    interpolation follows the kink); ``null=(lo, hi, db)`` sets the horizontal attenuation to
    ``db`` for pattern angles lo..hi."""
    kink = 65.0 * math.sqrt(30.0 / 12.0)  # 12 (a/65)^2 = 30 at a = 102.78 deg
    angles = sorted([*range(360), kink, 360.0 - kink])
    h = []
    for k in angles:
        v = _tr_loss(k)
        if null is not None and null[0] <= k <= null[1]:
            v = null[2]
        h.append(f"{k!r} {v!r}")
    v_rows = [f"{k!r} {_tr_loss(k)!r}" for k in angles]
    return _write_msi(path, gain="GAIN 17 dBi", h_rows=h, v_rows=v_rows)


def _scenario_with_antennas(folder, files, rows=None):
    """The small test scenario; ``files[i]`` is the antenna_file of stations row i."""

    toml = write_small_scenario(folder, model="fspl")
    rows = station_rows() if rows is None else rows
    for r, f in zip(rows, files, strict=False):
        r["antenna_file"] = f
    for r in rows:
        r.setdefault("antenna_file", "")
    write_csv(folder / "stations.csv", rows)
    return toml


@pytest.fixture(scope="module")
def parametric_run(tmp_path_factory):
    toml = _scenario_with_antennas(tmp_path_factory.mktemp("param"), [])
    return covkit.run(toml)


def test_msi_equal_to_tr38901_gives_the_parametric_rsrp(tmp_path, parametric_run):

    folder = tmp_path / "msi"
    folder.mkdir()
    (folder / "ant").mkdir()
    _tr_msi(folder / "ant" / "tr38901.msi")
    # the three sectors of site A (azimuth 0/120/240, tilt 4) get the file; T1 stays omni
    toml = _scenario_with_antennas(folder, ["ant/tr38901.msi"] * 3)
    res = covkit.run(toml)
    st = res.inputs.stations
    assert list(st.antenna_index()) == [0, 0, 0, -1]
    a, b = parametric_run.rsrp_best_dbm, res.rsrp_best_dbm
    assert np.array_equal(np.isnan(a), np.isnan(b))
    fin = np.isfinite(a)
    assert fin.sum() > 500
    assert np.max(np.abs(a[fin] - b[fin])) < 0.01
    np.testing.assert_array_equal(parametric_run.best_server, res.best_server)
    a2, b2 = parametric_run.rsrp_second_dbm, res.rsrp_second_dbm
    assert np.array_equal(np.isnan(a2), np.isnan(b2))
    assert np.nanmax(np.abs(a2 - b2)) < 0.01


def test_msi_null_lowers_rsrp_in_its_direction(tmp_path):
    rows = station_rows()[:1]  # one sector, azimuth 0 (north), tilt 4
    base = covkit.run(_scenario_with_antennas(tmp_path / "a", [""], [dict(rows[0])]))
    folder = tmp_path / "b"
    folder.mkdir()
    _tr_msi(folder / "null.msi", null=(20, 40, 28.0))  # a 28 dB null 20-40 deg clockwise
    res = covkit.run(_scenario_with_antennas(folder, ["null.msi"], [dict(rows[0])]))
    sx, sy = res.inputs.stations.site_x_m[0], res.inputs.stations.site_y_m[0]
    h, w = base.rsrp_best_dbm.shape
    yy, xx = np.mgrid[0:h, 0:w]
    dx = X0 + (xx + 0.5) * RES - sx
    dy = Y0 - (yy + 0.5) * RES - sy
    bearing = np.degrees(np.arctan2(dx, dy))
    dist = np.hypot(dx, dy)
    ok = np.isfinite(base.rsrp_best_dbm) & (dist > 300)
    in_null = ok & (bearing >= 23) & (bearing <= 37)
    mirror = ok & (bearing >= -37) & (bearing <= -23)
    assert in_null.sum() >= 5 and mirror.sum() >= 5
    drop = base.rsrp_best_dbm - res.rsrp_best_dbm
    # parametric loss there 12 (30/65)^2 = 2.6 dB or so; the null: 28 dB (capped at 30)
    assert np.all(drop[in_null] > 15.0)
    assert np.max(np.abs(drop[mirror])) < 0.01
    assert np.max(np.abs(drop[ok & (np.abs(bearing) < 15)])) < 0.01


@pytest.mark.parametrize(
    ("write", "name", "pattern"),
    [
        (lambda p: _write_msi(p, gain="COMMENT no gain"), "bad.msi",
         r"column 'antenna_file', row 2: antenna_file 'bad.msi': file .*bad.msi: no GAIN"),
        (lambda p: _write_msi(p, h_rows=["0 0.0", "1 x"]), "bad.msi",
         r"column 'antenna_file', row 2: .*bad.msi: line 14: HORIZONTAL row is not numeric"),
        (None, "missing.msi", r"column 'antenna_file', row 2: antenna_file 'missing.msi': "
         r".*does not exist"),
        (lambda p: p.write_text("x"), "bad.csv", r"column 'antenna_file', row 2: antenna_file "
         r"'bad.csv' is not an MSI / Planet pattern"),
    ],
)
def test_bad_msi_names_the_stations_row(tmp_path, write, name, pattern):
    folder = tmp_path / "s"
    folder.mkdir()
    if write is not None:
        write(folder / name)
    toml = _scenario_with_antennas(folder, ["", name])
    with pytest.raises(CovkitInputError, match=r"file .*stations\.csv, " + pattern):
        covkit.load_inputs(covkit.load_scenario(toml))


def test_reduce_with_a_pattern_compiled_equals_py_func(tmp_path):
    pats = an.pack_patterns([an.read_msi(_tr_msi(tmp_path / "a.msi", null=(80, 100, 25.0)))])
    shape = (3, 4)
    affine6 = np.array([0.0, 100.0, 0.0, 300.0, 0.0, -100.0])
    out = []
    for f in (R.reduce_site_window, R.reduce_site_window.py_func):
        h, w = shape
        g = (np.full(shape, -np.inf, np.float32), np.full(shape, -np.inf, np.float32),
             np.full(shape, -1, np.int32), np.full((1, h, w), -np.inf, np.float32),
             np.full((1, h, w), -1, np.int32), np.zeros((1, h, w), np.float32))
        f(np.full(shape, 100.0, np.float32), 0, 0, np.zeros(shape), affine6, 10.0, 150.0, 30.0,
          1.5, 8.5e6, 3500.0, False, 0, *R.NO_CALIBRATION, np.array([0, 1], np.int64),
          np.array([20.0, 20.0]),
          np.array([0.0, 180.0]), np.array([2.0, 2.0]), np.array([65.0, 65.0]),
          np.array([0, -1], np.int64), np.array([0, 0], np.int64), np.array([0, 0], np.int64),
          *pats, *g)
        out.append(g)
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)
    # pixel due east of the site (pattern angle ~90): in the null of sector 0
    assert out[0][0][1, 3] < 20.0 - 100.0 - 20.0


def test_site_proposals_keep_the_stations_patterns(tmp_path):
    # kpi_after recomputes coverage with the existing stations plus the proposed ones: the
    # existing sectors keep their MSI pattern there (OpA's coverage is the same before/after)
    folder = tmp_path / "s"
    folder.mkdir()
    _tr_msi(folder / "null.msi", null=(0, 359, 29.0))  # all but useless
    toml = _scenario_with_antennas(folder, ["null.msi"] * 3)
    res = covkit.run(toml)
    base = covkit.run(_scenario_with_antennas(tmp_path / "p", []))
    op_a = res.summary["operators"]["OpA"]["population_coverage_pct"]
    assert op_a < base.summary["operators"]["OpA"]["population_coverage_pct"] - 5.0
    prop = covkit.propose_sites(res, budget_sites=1)
    assert prop.kpi_after["operators"]["OpA"]["population_coverage_pct"] == pytest.approx(
        op_a, abs=1e-9)
