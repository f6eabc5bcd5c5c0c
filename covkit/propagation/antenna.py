"""Base-station antenna gain: 3GPP TR 38.901 sector pattern, omni, and MSI/Planet files.

Angles
------
- ``azimuth_deg``: bearing clockwise from north [deg]. The gain kernels take the azimuth of the
  pixel *relative* to the antenna boresight, ``relative_azimuth_deg = pixel - antenna`` wrapped
  to (-180, 180] (:func:`relative_azimuth_deg`).
- ``elevation_deg``: elevation angle of the pixel seen from the antenna [deg], positive up,
  0 = horizontal, -90 = nadir.
- ``tilt_deg``: downtilt [deg], positive = beam below the horizon.

TR 38.901 Table 7.3-1 measures the vertical angle theta from the zenith (theta = 90 deg on the
horizon) with the beam at ``theta_tilt``. With ``theta = 90 - elevation`` and
``theta_tilt = 90 + tilt`` (downtilt positive), ``theta - theta_tilt = -(elevation + tilt)``,
which is what the kernel uses. Tilt is applied as a shift of the vertical cut (the usual
planning-tool approximation, exact in the boresight vertical plane).

Kernels (one per pattern family, arrays in / gain out):
:func:`sector_gain_dbi` (+ ``_array``) and :func:`tabulated_gain_dbi` (+ ``_array``). The omni
antenna is the sector kernel with an infinite horizontal beamwidth.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from covkit._jit import njit
from covkit.errors import CovkitInputError
from covkit.propagation.arrays import as_float_array, finish
from covkit.propagation.constants import DBD_TO_DBI


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------
@njit
def relative_azimuth_deg(pixel_azimuth_deg, antenna_azimuth_deg):
    """Pixel azimuth relative to the boresight, wrapped to (-180, 180] [deg].

    ``x - 360 floor(x / 360)`` instead of ``x % 360`` (a call of ``fmod`` per sector and
    pixel in the fold): for the fold's differences of an azimuth in (-180, 180] and one in
    [0, 360) both round once to the same value."""
    x = pixel_azimuth_deg - antenna_azimuth_deg
    a = x - 360.0 * math.floor(x / 360.0)
    if a >= 360.0:  # x / 360 rounded up to an integer
        a -= 360.0
    elif a < 0.0:
        a += 360.0
    if a > 180.0:
        a -= 360.0
    return a


@njit
def sector_gain_dbi(rel_azimuth_deg, elevation_deg, tilt_deg, hpbw_h_deg, hpbw_v_deg,
                    front_to_back_db, sla_v_db, max_gain_dbi):
    """3GPP TR 38.901 Table 7.3-1 sector element gain [dBi].

    ``A_H = -min(12 (phi/phi_3dB)^2, A_m)``,
    ``A_V = -min(12 ((theta - theta_tilt)/theta_3dB)^2, SLA_V)``,
    ``A = -min(-(A_H + A_V), A_m)``, ``G = G_max + A``, with
    ``theta - theta_tilt = -(elevation + tilt)`` (see module docstring).

    Parameters
    ----------
    rel_azimuth_deg : float
        Azimuth relative to boresight phi [deg] (any value; wrapped to (-180, 180]).
    elevation_deg : float
        Elevation angle, positive up [deg], -90 to 90.
    tilt_deg : float
        Downtilt (electrical + mechanical) [deg], positive down.
    hpbw_h_deg, hpbw_v_deg : float
        Half-power beamwidths phi_3dB, theta_3dB [deg] (TR 38.901: 65, 65). ``inf`` makes
        the corresponding cut flat (omni).
    front_to_back_db : float
        A_m [dB] (TR 38.901: 30).
    sla_v_db : float
        SLA_V [dB] (TR 38.901: 30).
    max_gain_dbi : float
        G_max [dBi] (TR 38.901 element: 8 dBi).

    Returns
    -------
    float
        Gain [dBi].
    """
    phi = relative_azimuth_deg(rel_azimuth_deg, 0.0)
    a_h = -min(12.0 * (phi / hpbw_h_deg) ** 2, front_to_back_db)
    dv = -(elevation_deg + tilt_deg)
    a_v = -min(12.0 * (dv / hpbw_v_deg) ** 2, sla_v_db)
    return max_gain_dbi - min(-(a_h + a_v), front_to_back_db)


@njit
def sector_gain_dbi_array(rel_azimuth_deg, elevation_deg, tilt_deg, hpbw_h_deg, hpbw_v_deg,
                          front_to_back_db, sla_v_db, max_gain_dbi, out):
    """Element-wise :func:`sector_gain_dbi` over 1-D angle arrays (scalar parameters)."""
    for i in range(out.size):
        out[i] = sector_gain_dbi(rel_azimuth_deg[i], elevation_deg[i], tilt_deg, hpbw_h_deg,
                                 hpbw_v_deg, front_to_back_db, sla_v_db, max_gain_dbi)
    return out


@njit
def _interp_periodic(angle_deg, angles_deg, values):
    """Linear interpolation on a 360-deg periodic table (angles sorted in [0, 360))."""
    a = angle_deg % 360.0
    n = angles_deg.size
    j = np.searchsorted(angles_deg, a, side="right")  # angles[j-1] <= a < angles[j]
    if j == 0:
        a0 = angles_deg[n - 1] - 360.0
        v0 = values[n - 1]
        a1 = angles_deg[0]
        v1 = values[0]
    elif j == n:
        a0 = angles_deg[n - 1]
        v0 = values[n - 1]
        a1 = angles_deg[0] + 360.0
        v1 = values[0]
    else:
        a0 = angles_deg[j - 1]
        v0 = values[j - 1]
        a1 = angles_deg[j]
        v1 = values[j]
    if a1 == a0:
        return v0
    return v0 + (v1 - v0) * (a - a0) / (a1 - a0)


@njit
def tabulated_gain_dbi(rel_azimuth_deg, elevation_deg, tilt_deg, h_angle_deg, h_loss_db,
                       v_angle_deg, v_loss_db, max_gain_dbi, max_loss_db):
    """Gain from horizontal and vertical pattern cuts (MSI/Planet convention) [dBi].

    ``G = G_max - min(L_H(phi) + L_V(psi), L_max)`` with ``phi = rel_azimuth mod 360``
    (clockwise) and ``psi = (-(elevation + tilt)) mod 360`` (vertical-cut angle, 0 on the
    horizon, increasing downwards, 90 = nadir); L_H and L_V are interpolated linearly in angle
    (periodic).

    Parameters
    ----------
    rel_azimuth_deg, elevation_deg : float
        Pixel direction: relative azimuth (clockwise) and elevation (positive up) [deg].
    tilt_deg : float
        Extra (mechanical) downtilt added to the pattern's own tilt [deg], positive down.
    h_angle_deg, h_loss_db, v_angle_deg, v_loss_db : numpy.ndarray
        Cuts: angles sorted ascending in [0, 360) [deg], attenuations >= 0 [dB].
    max_gain_dbi : float
        Boresight gain [dBi].
    max_loss_db : float
        Cap on the summed attenuation [dB] (by default the horizontal front-to-back maximum).
    """
    l_h = _interp_periodic(rel_azimuth_deg, h_angle_deg, h_loss_db)
    l_v = _interp_periodic(-(elevation_deg + tilt_deg), v_angle_deg, v_loss_db)
    return max_gain_dbi - min(l_h + l_v, max_loss_db)


@njit
def tabulated_gain_dbi_array(rel_azimuth_deg, elevation_deg, tilt_deg, h_angle_deg, h_loss_db,
                             v_angle_deg, v_loss_db, max_gain_dbi, max_loss_db, out):
    """Element-wise :func:`tabulated_gain_dbi` over 1-D angle arrays."""
    for i in range(out.size):
        out[i] = tabulated_gain_dbi(rel_azimuth_deg[i], elevation_deg[i], tilt_deg,
                                    h_angle_deg, h_loss_db, v_angle_deg, v_loss_db,
                                    max_gain_dbi, max_loss_db)
    return out


# --------------------------------------------------------------------------------------------
# Python layer
# --------------------------------------------------------------------------------------------
def _angles(pixel_azimuth_deg, elevation_deg, antenna_azimuth_deg):
    az = as_float_array("azimuth_deg", pixel_azimuth_deg)
    el = as_float_array("elevation_deg", elevation_deg)
    if np.any(np.abs(el) > 90.0):
        bad = float(el[np.abs(el) > 90.0].flat[0])
        raise CovkitInputError(f"elevation_deg={bad:g} outside [-90, 90]", column="elevation_deg")
    az, el = np.broadcast_arrays(az, el)
    shape = az.shape
    rel = np.ascontiguousarray((az - antenna_azimuth_deg), dtype=np.float64).ravel()
    return shape, rel, np.ascontiguousarray(el, dtype=np.float64).ravel()


def _check(cond: bool, key: str, value, allowed: str) -> None:
    if not cond:
        raise CovkitInputError(f"{key}={value!r} is invalid; allowed: {allowed}", column=key)


@dataclass(frozen=True)
class SectorAntenna:
    """TR 38.901 Table 7.3-1 sector antenna, oriented.

    Parameters
    ----------
    azimuth_deg : float
        Boresight bearing, clockwise from north [deg].
    tilt_deg : float
        Downtilt (electrical + mechanical) [deg], positive down, -90 to 90.
    hpbw_h_deg, hpbw_v_deg : float
        Half-power beamwidths [deg], > 0 (``inf`` allowed: flat cut). Default 65, 65.
    front_to_back_db : float
        A_m [dB], >= 0. Default 30.
    sla_v_db : float
        Vertical side-lobe attenuation SLA_V [dB], >= 0. Default 30.
    max_gain_dbi : float
        G_max [dBi]. Default 8.
    """

    azimuth_deg: float = 0.0
    tilt_deg: float = 0.0
    hpbw_h_deg: float = 65.0
    hpbw_v_deg: float = 65.0
    front_to_back_db: float = 30.0
    sla_v_db: float = 30.0
    max_gain_dbi: float = 8.0

    def __post_init__(self):
        for key in ("azimuth_deg", "tilt_deg", "front_to_back_db", "sla_v_db", "max_gain_dbi"):
            v = getattr(self, key)
            _check(isinstance(v, int | float) and math.isfinite(v), key, v, "a finite number")
        _check(-90.0 <= self.tilt_deg <= 90.0, "tilt_deg", self.tilt_deg, "-90 to 90 deg")
        for key in ("hpbw_h_deg", "hpbw_v_deg"):
            v = getattr(self, key)
            _check(isinstance(v, int | float) and v > 0.0, key, v, "> 0 deg (inf allowed)")
        for key in ("front_to_back_db", "sla_v_db"):
            _check(getattr(self, key) >= 0.0, key, getattr(self, key), ">= 0 dB")

    def gain_dbi(self, pixel_azimuth_deg, elevation_deg):
        """Gain towards pixels [dBi].

        Parameters
        ----------
        pixel_azimuth_deg : float or array_like
            Bearing of the pixel from the antenna, clockwise from north [deg].
        elevation_deg : float or array_like
            Elevation angle of the pixel from the antenna, positive up [deg], -90 to 90.
        """
        shape, rel, el = _angles(pixel_azimuth_deg, elevation_deg, self.azimuth_deg)
        out = sector_gain_dbi_array(rel, el, float(self.tilt_deg), float(self.hpbw_h_deg),
                                    float(self.hpbw_v_deg), float(self.front_to_back_db),
                                    float(self.sla_v_db), float(self.max_gain_dbi),
                                    np.empty(rel.size))
        return finish(shape, out)


def omni_antenna(max_gain_dbi: float = 0.0, *, tilt_deg: float = 0.0,
                 hpbw_v_deg: float = math.inf, sla_v_db: float = 30.0) -> SectorAntenna:
    """Omnidirectional antenna: the sector kernel with ``hpbw_h_deg = inf``.

    Parameters
    ----------
    max_gain_dbi : float
        Gain [dBi] (default 0: isotropic).
    tilt_deg : float
        Downtilt of the vertical cut [deg].
    hpbw_v_deg : float
        Vertical half-power beamwidth [deg]; ``inf`` (default) = no vertical pattern.
    sla_v_db : float
        Vertical side-lobe attenuation [dB].
    """
    return SectorAntenna(azimuth_deg=0.0, tilt_deg=tilt_deg, hpbw_h_deg=math.inf,
                         hpbw_v_deg=hpbw_v_deg, front_to_back_db=max(30.0, sla_v_db),
                         sla_v_db=sla_v_db, max_gain_dbi=max_gain_dbi)


@dataclass(frozen=True, eq=False)
class MsiPattern:
    """Contents of an MSI / Planet antenna pattern file.

    Attributes
    ----------
    name : str
        NAME (or the first line when the NAME token is missing).
    freq_mhz : float or None
        FREQUENCY [MHz] if it parses as a number.
    max_gain_dbi : float
        GAIN converted to dBi (``dBd`` or no unit: +2.15 dB; Planet's default unit is dBd).
    tilt : str
        TILT value as written (e.g. ``ELECTRICAL``, ``MECHANICAL`` or a number).
    horizontal_angle_deg, horizontal_loss_db : numpy.ndarray
        Horizontal cut: angle clockwise from boresight, sorted in [0, 360) [deg]; attenuation
        >= 0 [dB].
    vertical_angle_deg, vertical_loss_db : numpy.ndarray
        Vertical cut: angle from the horizon, increasing downwards (90 = nadir, 270 = zenith),
        sorted in [0, 360) [deg]; attenuation >= 0 [dB].
    path : str
        The file read.
    """

    name: str
    freq_mhz: float | None
    max_gain_dbi: float
    tilt: str
    horizontal_angle_deg: np.ndarray = field(repr=False)
    horizontal_loss_db: np.ndarray = field(repr=False)
    vertical_angle_deg: np.ndarray = field(repr=False)
    vertical_loss_db: np.ndarray = field(repr=False)
    path: str = ""

    @property
    def front_to_back_db(self) -> float:
        """Largest attenuation of the horizontal cut [dB] (the default summed-loss cap)."""
        return float(np.max(self.horizontal_loss_db))


@dataclass(frozen=True, eq=False)
class TabulatedAntenna:
    """An MSI/Planet pattern mounted at a bearing with an extra mechanical downtilt.

    Gain combination: ``G = G_max - min(L_H + L_V, max_loss_db)``, the sum of the horizontal
    and vertical attenuations, capped by default at the horizontal cut's largest attenuation
    (its front-to-back ratio). Mechanical tilt shifts the vertical cut.

    Parameters
    ----------
    pattern : MsiPattern
        The file's cuts and gain.
    azimuth_deg : float
        Boresight bearing, clockwise from north [deg].
    tilt_deg : float
        Additional mechanical downtilt [deg], positive down (the electrical tilt is in the
        vertical cut already).
    max_loss_db : float, optional
        Cap on the summed attenuation [dB]; default ``pattern.front_to_back_db``.
    """

    pattern: MsiPattern
    azimuth_deg: float = 0.0
    tilt_deg: float = 0.0
    max_loss_db: float | None = None

    def __post_init__(self):
        _check(math.isfinite(self.azimuth_deg), "azimuth_deg", self.azimuth_deg, "finite")
        _check(-90.0 <= self.tilt_deg <= 90.0, "tilt_deg", self.tilt_deg, "-90 to 90 deg")
        if self.max_loss_db is not None:
            _check(self.max_loss_db >= 0.0, "max_loss_db", self.max_loss_db, ">= 0 dB")

    def gain_dbi(self, pixel_azimuth_deg, elevation_deg):
        """Gain towards pixels [dBi] (arguments as in :meth:`SectorAntenna.gain_dbi`)."""
        p = self.pattern
        cap = p.front_to_back_db if self.max_loss_db is None else float(self.max_loss_db)
        shape, rel, el = _angles(pixel_azimuth_deg, elevation_deg, self.azimuth_deg)
        out = tabulated_gain_dbi_array(rel, el, float(self.tilt_deg), p.horizontal_angle_deg,
                                       p.horizontal_loss_db, p.vertical_angle_deg,
                                       p.vertical_loss_db, float(p.max_gain_dbi), cap,
                                       np.empty(rel.size))
        return finish(shape, out)


class PackedPatterns(NamedTuple):
    """Several patterns' cuts in flat arrays, as the coverage kernel takes them.

    Pattern ``p`` has its horizontal cut in ``angle_deg[b[p, 0]:b[p, 1]]`` /
    ``loss_db[b[p, 0]:b[p, 1]]`` and its vertical cut in ``[b[p, 2]:b[p, 3]]`` with
    ``b = bounds``; ``cap_db[p]`` is its summed-attenuation cap (the horizontal cut's largest
    attenuation, as :class:`TabulatedAntenna` by default).
    """

    bounds: np.ndarray
    """int64 (n_patterns, 4): start and end of the horizontal, then of the vertical cut."""
    angle_deg: np.ndarray
    """float64: every cut's angles [deg], sorted within each cut."""
    loss_db: np.ndarray
    """float64: the attenuations [dB] matching ``angle_deg``."""
    cap_db: np.ndarray
    """float64 (n_patterns,): cap on L_H + L_V [dB]."""


def pack_patterns(patterns) -> PackedPatterns:
    """Pack a sequence of :class:`MsiPattern` into :class:`PackedPatterns` (empty is fine)."""
    bounds = np.zeros((len(patterns), 4), dtype=np.int64)
    angles: list[np.ndarray] = []
    losses: list[np.ndarray] = []
    at = 0
    for i, pat in enumerate(patterns):
        for j, (a, v) in enumerate(((pat.horizontal_angle_deg, pat.horizontal_loss_db),
                                    (pat.vertical_angle_deg, pat.vertical_loss_db))):
            bounds[i, 2 * j] = at
            at += a.size
            bounds[i, 2 * j + 1] = at
            angles.append(np.asarray(a, dtype=np.float64))
            losses.append(np.asarray(v, dtype=np.float64))
    caps = np.array([p.front_to_back_db for p in patterns], dtype=np.float64)
    if not angles:
        return PackedPatterns(bounds, np.zeros(0), np.zeros(0), caps)
    return PackedPatterns(bounds, np.ascontiguousarray(np.concatenate(angles)),
                          np.ascontiguousarray(np.concatenate(losses)), caps)


_KEYWORDS = {"NAME", "MAKE", "FREQUENCY", "H_WIDTH", "V_WIDTH", "FRONT_TO_BACK", "GAIN", "TILT",
             "POLARIZATION", "COMMENT", "HORIZONTAL", "VERTICAL", "ELECTRICAL_TILT"}
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _read_cut(lines, start, count, path, label):
    """Parse ``count`` "angle loss" rows after line index ``start``; return arrays, next idx."""
    angles, losses, lines_no = [], [], []
    i = start
    while len(angles) < count:
        if i >= len(lines):
            raise CovkitInputError(
                f"line {start}: {label} declares {count} rows but the file ends after "
                f"{len(angles)}", file=path)
        text = lines[i].strip()
        i += 1
        if not text:
            continue
        parts = text.replace(",", " ").split()
        if parts[0].upper() in _KEYWORDS or len(parts) < 2:
            raise CovkitInputError(
                f"line {i}: expected 'angle loss_db' row {len(angles) + 1} of {count} in the "
                f"{label} section, got {text!r}", file=path)
        try:
            a, v = float(parts[0]), float(parts[1])
        except ValueError as exc:
            raise CovkitInputError(
                f"line {i}: {label} row is not numeric: {text!r}", file=path) from exc
        if not (math.isfinite(a) and math.isfinite(v)):
            raise CovkitInputError(f"line {i}: {label} row is not finite: {text!r}", file=path)
        if a < 0.0 or a > 360.0:
            raise CovkitInputError(
                f"line {i}: {label} angle {a:g} outside [0, 360] deg", file=path)
        angles.append(a % 360.0)
        losses.append(abs(v))
        lines_no.append(i)
    order = np.argsort(angles, kind="stable")
    ang = np.asarray(angles)[order]
    los = np.asarray(losses)[order]
    dup = np.nonzero(np.diff(ang) == 0.0)[0]
    if dup.size:
        # 0 and 360 both present is common and harmless if equal; otherwise an error
        k = dup[0]
        j1, j2 = order[k], order[k + 1]
        if not (ang[k] == 0.0 and los[k] == los[k + 1]):
            raise CovkitInputError(
                f"line {lines_no[max(j1, j2)]}: {label} angle {ang[k]:g} deg repeated",
                file=path)
        keep = np.ones(ang.size, dtype=bool)
        keep[k + 1] = False
        ang, los = ang[keep], los[keep]
        if np.any(np.diff(ang) == 0.0):
            raise CovkitInputError(f"{label} section has repeated angles", file=path)
    return np.ascontiguousarray(ang), np.ascontiguousarray(los), i


def read_msi(path) -> MsiPattern:
    """Read an MSI / Planet antenna pattern file (``.msi``, ``.pln``, ``.txt``).

    Format: header lines ``KEYWORD value`` (NAME, MAKE, FREQUENCY [MHz], H_WIDTH, V_WIDTH,
    FRONT_TO_BACK, GAIN <value> [dBi|dBd], TILT, POLARIZATION, COMMENT; unknown keywords are
    ignored), then ``HORIZONTAL n`` followed by n rows ``angle loss_db`` and ``VERTICAL n``
    followed by n rows. Loss values are attenuations relative to the maximum (a leading minus
    sign, which some vendors write, is ignored). The gain unit defaults to dBd when absent
    (Planet convention). Angles: horizontal clockwise from boresight; vertical from the horizon,
    positive downwards. An angle of 360 is folded onto 0.

    Parameters
    ----------
    path : str or os.PathLike
        File to read.

    Returns
    -------
    MsiPattern

    Raises
    ------
    CovkitInputError
        Missing file, GAIN, HORIZONTAL or VERTICAL section; malformed value; short section;
        repeated angle. The message names the file and the line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CovkitInputError(f"cannot read antenna pattern: {exc}", file=path) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = text.splitlines()
    name, freq, gain, tilt = None, None, None, ""
    cuts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    i = 0
    first = True
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line:
            continue
        parts = line.split(None, 1)
        key = parts[0].upper()
        value = parts[1].strip() if len(parts) > 1 else ""
        if first and key not in _KEYWORDS:
            name = line  # NAME token omitted: the first line is the name (may be numeric)
            first = False
            continue
        first = False
        if key == "NAME":
            name = value
        elif key == "FREQUENCY":
            m = _NUMBER.search(value)
            freq = float(m.group()) if m else None
        elif key == "GAIN":
            tokens = value.split()
            try:
                g = float(tokens[0])
            except (IndexError, ValueError) as exc:
                raise CovkitInputError(f"line {i}: GAIN value is not a number: {line!r}",
                                       file=path) from exc
            unit = tokens[1].lower() if len(tokens) > 1 else "dbd"
            if unit == "dbi":
                gain = g
            elif unit == "dbd":
                gain = g + DBD_TO_DBI
            else:
                raise CovkitInputError(
                    f"line {i}: GAIN unit {tokens[1]!r} is not dBi or dBd", file=path)
        elif key == "TILT":
            tilt = value
        elif key in ("HORIZONTAL", "VERTICAL"):
            try:
                count = int(float(value.split()[0]))
            except (IndexError, ValueError) as exc:
                raise CovkitInputError(
                    f"line {i}: {key} needs the number of rows, got {line!r}", file=path
                ) from exc
            if count < 2:
                raise CovkitInputError(f"line {i}: {key} needs at least 2 rows", file=path)
            if key in cuts:
                raise CovkitInputError(f"line {i}: second {key} section", file=path)
            ang, loss, i = _read_cut(lines, i, count, path, key)
            cuts[key] = (ang, loss)
        elif key not in _KEYWORDS and _NUMBER.fullmatch(parts[0]) is not None:
            raise CovkitInputError(
                f"line {i}: data row {line!r} outside a HORIZONTAL/VERTICAL section", file=path)
    if gain is None:
        raise CovkitInputError("no GAIN line (GAIN <value> dBi|dBd)", file=path)
    for key in ("HORIZONTAL", "VERTICAL"):
        if key not in cuts:
            raise CovkitInputError(f"no {key} section ({key} 360 then 360 rows)", file=path)
    return MsiPattern(
        name=name or path.stem, freq_mhz=freq, max_gain_dbi=float(gain), tilt=tilt,
        horizontal_angle_deg=cuts["HORIZONTAL"][0], horizontal_loss_db=cuts["HORIZONTAL"][1],
        vertical_angle_deg=cuts["VERTICAL"][0], vertical_loss_db=cuts["VERTICAL"][1],
        path=str(path),
    )
