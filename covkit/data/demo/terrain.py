"""Terrain of the demo island: land mask, spectral noise, rivers and elevation.

``dem.tif``: terrain [m AMSL], float32, an island of about 95 km x 56 km (about 3,700 km^2)
inside a 1000 x 620 cell grid with a sea margin of at least 2 km. A central mountain range
along the long (west-east) axis rises to about 3,500 m; river valleys cut across and along
it; foothills, flat coastal plains and spectral (fBm) noise make the terrain rugged enough
to exercise diffraction. Sea = 0 m, land >= 1 m, no nodata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from covkit.data.demo.grid import (
    DEMO_RESOLUTION_M,
    DEMO_SHAPE,
    X_WEST_M,
    XC_M,
    Y_NORTH_M,
    YC_M,
    cell_of,
    grid_xy_m,
    inside,
)

SEMI_A_M = 45_000.0  # island semi-axis west-east
SEMI_B_M = 26_000.0  # island semi-axis north-south
_MARGIN_CELLS = 20  # guaranteed sea margin [cells]


def fbm(rng: np.random.Generator, beta: float, k0: float,
        shape: tuple[int, int] = DEMO_SHAPE) -> np.ndarray:
    """Spectral (fractional Brownian) noise on the grid (or on an array of ``shape``), zero
    mean, unit std.

    Power spectrum ``P(k) ~ (k^2 + k0^2)^(-beta/2)`` [k in cycles/cell]; ``beta = 2H + 2``
    for a surface with Hurst exponent H. ``k0`` damps the largest scales.
    """
    white = rng.standard_normal(shape)
    spec = np.fft.rfft2(white)
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.rfftfreq(shape[1])[None, :]
    amp = (kx * kx + ky * ky + k0 * k0) ** (-beta / 4.0)
    amp[0, 0] = 0.0
    field = np.fft.irfft2(spec * amp, s=shape)
    field -= field.mean()
    field /= field.std()
    return field


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def land_mask(rng: np.random.Generator) -> np.ndarray:
    """Island mask: a noisy ellipse, one connected piece, no lakes, sea margin kept."""
    x, y = grid_xy_m()
    u = (x - XC_M) / SEMI_A_M
    v = (y - YC_M) / SEMI_B_M
    rho = np.sqrt(u * u + v * v)
    wobble = 0.07 * fbm(rng, beta=4.0, k0=0.004) + 0.03 * fbm(rng, beta=3.0, k0=0.01)
    land = rho < 1.0 + np.tanh(wobble / 0.12) * 0.12
    m = _MARGIN_CELLS
    land[:m, :] = False
    land[-m:, :] = False
    land[:, :m] = False
    land[:, -m:] = False
    labels, n = ndimage.label(land)
    if n > 1:
        sizes = ndimage.sum_labels(land, labels, index=np.arange(1, n + 1))
        land = labels == (int(np.argmax(sizes)) + 1)
    return ndimage.binary_fill_holes(land)


def ridge_y_m(x_m: np.ndarray | float, phase: float) -> np.ndarray | float:
    """Northing [m] of the main ridge crest at easting ``x_m`` (the range curves gently)."""
    s = (np.asarray(x_m) - XC_M) / SEMI_A_M
    return YC_M - 0.14 * SEMI_B_M + 3_500.0 * np.sin(1.7 * s + phase)


@dataclass(frozen=True)
class River:
    """A traced river: its course and the half-width of its valley."""

    xy_m: np.ndarray  # (n, 2) vertices [m], source first, mouth last
    width_m: float
    side: int  # +1 north of the ridge, -1 south


def trace_rivers(rng: np.random.Generator, land: np.ndarray, phase: float) -> list[River]:
    """Rivers from near the crest to the sea; some run along the range before turning."""
    rivers: list[River] = []
    step_m = 250.0
    for side in (+1, -1):
        n_side = 7 if side > 0 else 6
        xs = np.linspace(-0.72, 0.72, n_side) * SEMI_A_M + XC_M
        xs = xs + rng.uniform(-2_500.0, 2_500.0, n_side)
        for x0 in xs:
            y0 = float(ridge_y_m(x0, phase)) + side * rng.uniform(2_000.0, 3_500.0)
            # heading: angle from +x; perpendicular to the ridge = side * 90 deg
            perp = side * np.pi / 2.0
            along = rng.uniform(-1.0, 1.0)
            heading = perp + (np.sign(along) * rng.uniform(0.6, 1.2) if abs(along) > 0.5 else 0.0)
            pts = [(x0, y0)]
            wander = 0.0
            for _ in range(400):
                wander = 0.85 * wander + rng.normal(0.0, 0.12)
                heading = heading + 0.06 * (perp - heading) + 0.25 * wander
                x1 = pts[-1][0] + step_m * np.cos(heading)
                y1 = pts[-1][1] + step_m * np.sin(heading)
                r, c = cell_of(x1, y1)
                pts.append((x1, y1))
                if not inside(r, c) or not land[r, c]:
                    break
            rivers.append(River(np.asarray(pts), float(rng.uniform(1_600.0, 2_800.0)), side))
    return rivers


def _rasterise_rivers(rivers: list[River]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """River cells: mask, along-river distance from source [m], valley half-width [m]."""
    mask = np.zeros(DEMO_SHAPE, dtype=bool)
    along = np.zeros(DEMO_SHAPE, dtype=np.float64)
    width = np.zeros(DEMO_SHAPE, dtype=np.float64)
    for river in rivers:
        seg = np.diff(river.xy_m, axis=0)
        seglen = np.hypot(seg[:, 0], seg[:, 1])
        cum = np.concatenate([[0.0], np.cumsum(seglen)])
        s = np.arange(0.0, cum[-1], 50.0)
        xs = np.interp(s, cum, river.xy_m[:, 0])
        ys = np.interp(s, cum, river.xy_m[:, 1])
        cols = np.floor((xs - X_WEST_M) / DEMO_RESOLUTION_M).astype(int)
        rows = np.floor((Y_NORTH_M - ys) / DEMO_RESOLUTION_M).astype(int)
        ok = (rows >= 0) & (rows < DEMO_SHAPE[0]) & (cols >= 0) & (cols < DEMO_SHAPE[1])
        mask[rows[ok], cols[ok]] = True
        along[rows[ok], cols[ok]] = s[ok]
        width[rows[ok], cols[ok]] = river.width_m
    return mask, along, width


def elevation_m(
    rng: np.random.Generator, land: np.ndarray, rivers: list[River], phase: float
) -> np.ndarray:
    """Elevation [m AMSL], float64; sea 0, land >= 1."""
    x, y = grid_xy_m()
    s = (x - XC_M) / SEMI_A_M
    d_ridge = np.abs(y - ridge_y_m(x, phase))
    taper = np.exp(-((np.abs(s) / 0.74) ** 4))

    n_big = fbm(rng, beta=3.6, k0=0.006)  # broad massifs
    n_rug = fbm(rng, beta=3.4, k0=0.02)  # ruggedness at 1-5 km
    n_fine = fbm(rng, beta=2.8, k0=0.05)  # small-scale roughness
    n_plain = fbm(rng, beta=3.4, k0=0.01)

    core = np.exp(-((d_ridge / 8_000.0) ** 2))
    foothill = 0.38 * np.exp(-((d_ridge / 17_000.0) ** 2))
    mtn = taper * (core + foothill)
    # a few secondary summits along the crest
    for _ in range(5):
        xp = XC_M + rng.uniform(-0.6, 0.6) * SEMI_A_M
        yp = float(ridge_y_m(xp, phase)) + rng.uniform(-4_000.0, 4_000.0)
        sig = rng.uniform(3_000.0, 6_000.0)
        mtn = mtn + rng.uniform(0.15, 0.35) * np.exp(
            -((x - xp) ** 2 + (y - yp) ** 2) / (2 * sig**2)
        )
    mtn = mtn * (1.0 + 0.30 * n_big)
    ridged = 1.0 - np.abs(n_rug)  # sharp crests
    mtn = mtn + 0.14 * taper * core * (ridged - 0.5) + 0.03 * mtn * n_fine
    mtn = np.clip(mtn, 0.0, None)

    # valleys: wide U plus a narrow V incision, depth growing from the source downstream
    rmask, ralong, rwidth = _rasterise_rivers(rivers)
    dist_px, (ir, ic) = ndimage.distance_transform_edt(~rmask, return_indices=True)
    d_riv = dist_px * DEMO_RESOLUTION_M
    a_near = ralong[ir, ic]
    w_near = rwidth[ir, ic]
    grow = _smoothstep(a_near / 4_000.0)
    valley = grow * (
        0.62 * np.exp(-((d_riv / w_near) ** 2)) + 0.15 * np.exp(-((d_riv / 700.0) ** 2))
    )
    mtn = mtn * (1.0 - np.clip(valley, 0.0, 0.92))

    # coastal plains: the mountains fade out within a plain width that varies along the coast
    d_coast = ndimage.distance_transform_edt(land) * DEMO_RESOLUTION_M
    plain_w = 6_500.0 + 2_500.0 * fbm(rng, beta=4.0, k0=0.004)
    north_bonus = np.where(y > ridge_y_m(x, phase), 2_000.0, 0.0)  # wider plains to the north
    mtn = mtn * _smoothstep(d_coast / np.maximum(plain_w + north_bonus, 2_000.0))

    plains = 2.0 + 0.004 * np.minimum(d_coast, 15_000.0) + 12.0 * (1.0 + np.tanh(n_plain))
    plains = plains * (1.0 - 0.5 * np.clip(valley, 0.0, 1.0))

    peak_m = 3_500.0 + rng.uniform(-80.0, 80.0)
    mtn_max = float(mtn[land].max())
    elev = plains + mtn * ((peak_m - 40.0) / mtn_max)
    elev = np.where(land, np.maximum(elev, 1.0), 0.0)
    return elev


def river_points(rivers: list[River]) -> np.ndarray:
    """All river vertices [m] but each river's last (at sea), as one (n, 2) array."""
    return np.vstack([r.xy_m[:-1] for r in rivers])
