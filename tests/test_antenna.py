"""Antenna gain: TR 38.901 Table 7.3-1 sector pattern, omni, MSI/Planet files."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
