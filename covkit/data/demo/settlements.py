"""Settlements and population of the demo island, and the synthetic place names.

``population.tif``: persons per 100 m cell, float32 (whole numbers), 0 at sea; about
2 million people in coastal cities (200-600 k), valley and coastal towns (10-50 k),
mountain villages (a few hundred) and a thin rural background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from covkit.data.demo.grid import (
    DEMO_RESOLUTION_M,
    DEMO_SHAPE,
    X_WEST_M,
    Y_NORTH_M,
    cell_of,
    elev_at,
)
from covkit.data.demo.terrain import River, fbm, river_points


@dataclass(frozen=True)
class Place:
    """A settlement: kind, centre [m], population [persons] and setting."""

    kind: str  # "city", "town", "village"
    x_m: float
    y_m: float
    pop: float
    setting: str = "coast"  # "coast", "valley" or "mountain"


def _pick_spaced(
    rng: np.random.Generator,
    cand_xy: np.ndarray,
    n: int,
    min_sep_m: float,
    taken: list[tuple[float, float]],
    weights: np.ndarray | None = None,
) -> list[tuple[float, float]]:
    """Greedy weighted-random choice of up to ``n`` points at least ``min_sep_m`` apart."""
    if len(cand_xy) == 0:
        return []
    if weights is None:
        key = rng.random(len(cand_xy))
    else:
        key = rng.exponential(size=len(cand_xy)) / np.maximum(weights, 1e-12)
    order = np.argsort(key, kind="stable")
    chosen: list[tuple[float, float]] = []
    others = np.asarray(taken, dtype=float).reshape(-1, 2)
    for i in order:
        p = cand_xy[i]
        allp = np.vstack([others, np.asarray(chosen, dtype=float).reshape(-1, 2)])
        if len(allp) == 0 or np.min(np.hypot(*(allp - p).T)) >= min_sep_m:
            chosen.append((float(p[0]), float(p[1])))
            if len(chosen) == n:
                break
    return chosen


def places(
    rng: np.random.Generator, elev: np.ndarray, land: np.ndarray, rivers: list[River]
) -> list[Place]:
    """Cities at river mouths on the plains, towns in valleys and on the coast, villages."""
    d_coast = ndimage.distance_transform_edt(land) * DEMO_RESOLUTION_M
    places: list[Place] = []

    # cities: near river mouths, 1.5-3 km inland, low
    mouths = []
    for r in rivers:
        seg = r.xy_m
        back = seg[max(len(seg) - 12, 0)]  # ~3 km upstream of the mouth
        mouths.append(back)
    mouths = np.asarray(mouths)
    ok = elev_at(elev, mouths) < 120.0
    city_xy = _pick_spaced(rng, mouths[ok], 4, 20_000.0, [])
    city_pops = [
        rng.uniform(470e3, 580e3),
        rng.uniform(320e3, 400e3),
        rng.uniform(230e3, 290e3),
        rng.uniform(200e3, 230e3),
    ]
    for (cx, cy), p in zip(city_xy, city_pops, strict=False):
        places.append(Place("city", cx, cy, p))

    # towns: half along valleys (low reaches), half on the coastal plain
    taken = [(p.x_m, p.y_m) for p in places]
    rp = river_points(rivers)
    e_rp = elev_at(elev, rp)
    valley_cand = rp[(e_rp > 20.0) & (e_rp < 450.0)]
    towns = _pick_spaced(rng, valley_cand, 9, 7_500.0, taken)
    n_valley = len(towns)
    taken += towns
    rows, cols = np.nonzero(land & (d_coast > 800.0) & (d_coast < 4_000.0) & (elev < 120.0))
    sub = rng.choice(len(rows), size=min(4000, len(rows)), replace=False)
    sub.sort()
    coast_cand = np.column_stack(
        [
            X_WEST_M + (cols[sub] + 0.5) * DEMO_RESOLUTION_M,
            Y_NORTH_M - (rows[sub] + 0.5) * DEMO_RESOLUTION_M,
        ]
    )
    towns += _pick_spaced(rng, coast_cand, 20 - len(towns), 8_000.0, taken)
    for i, (tx, ty) in enumerate(towns):
        setting = "valley" if i < n_valley else "coast"
        places.append(Place("town", tx, ty, rng.uniform(10e3, 50e3), setting))

    # villages: in mountain valleys and on mountain slopes
    taken = [(p.x_m, p.y_m) for p in places]
    mval = rp[(e_rp > 500.0) & (e_rp < 2_000.0)]
    vil = _pick_spaced(rng, mval, 28, 2_500.0, taken)
    rows, cols = np.nonzero(land & (elev > 700.0) & (elev < 2_300.0))
    sub = rng.choice(len(rows), size=min(3000, len(rows)), replace=False)
    sub.sort()
    slope_cand = np.column_stack(
        [
            X_WEST_M + (cols[sub] + 0.5) * DEMO_RESOLUTION_M,
            Y_NORTH_M - (rows[sub] + 0.5) * DEMO_RESOLUTION_M,
        ]
    )
    vil += _pick_spaced(rng, slope_cand, 18, 3_000.0, taken + vil)
    for vx, vy in vil:
        places.append(Place("village", vx, vy, rng.uniform(120.0, 900.0), "mountain"))
    return places


def _blob(
    out: np.ndarray,
    weight: np.ndarray,
    x_m: float,
    y_m: float,
    sigma_m: float,
    persons: float,
) -> None:
    """Add a Gaussian blob of ``persons`` people, shaped by ``weight``, in a local window."""
    r, c = cell_of(x_m, y_m)
    h = int(np.ceil(4.0 * sigma_m / DEMO_RESOLUTION_M)) + 1
    r0, r1 = max(r - h, 0), min(r + h + 1, DEMO_SHAPE[0])
    c0, c1 = max(c - h, 0), min(c + h + 1, DEMO_SHAPE[1])
    xs = X_WEST_M + (np.arange(c0, c1) + 0.5) * DEMO_RESOLUTION_M
    ys = Y_NORTH_M - (np.arange(r0, r1) + 0.5) * DEMO_RESOLUTION_M
    g = np.exp(-((xs[None, :] - x_m) ** 2 + (ys[:, None] - y_m) ** 2) / (2.0 * sigma_m**2))
    g = g * weight[r0:r1, c0:c1]
    tot = g.sum()
    if tot > 0:
        out[r0:r1, c0:c1] += g * (persons / tot)


def population(
    rng: np.random.Generator, elev: np.ndarray, land: np.ndarray, places: list[Place]
) -> tuple[np.ndarray, int]:
    """Persons per cell (float32 whole numbers, exact integer total) and the total."""
    # settlement spreads onto flat low land, hardly up the slopes
    lowland = land * np.exp(-np.maximum(elev - 40.0, 0.0) / 220.0)
    upland = land * np.exp(-np.maximum(elev - 300.0, 0.0) / 900.0)
    dens = np.zeros(DEMO_SHAPE, dtype=np.float64)
    for p in places:
        if p.kind == "city":
            for frac, sig in ((0.5, 1_300.0), (0.33, 2_700.0), (0.17, 5_000.0)):
                _blob(dens, lowland, p.x_m, p.y_m, sig, frac * p.pop)
        elif p.kind == "town":
            sig = 500.0 + 900.0 * np.sqrt(p.pop / 50e3)
            _blob(dens, lowland, p.x_m, p.y_m, sig, 0.7 * p.pop)
            _blob(dens, lowland, p.x_m, p.y_m, 2.5 * sig, 0.3 * p.pop)
        else:
            _blob(dens, upland, p.x_m, p.y_m, 250.0, p.pop)
    rural = land * np.exp(-elev / 180.0) * (1.0 + 0.5 * fbm(rng, beta=3.0, k0=0.02).clip(-1, 1))
    dens += rural * (70e3 / rural.sum())

    target = int(round(rng.uniform(1.96e6, 2.04e6)))
    dens *= target / dens.sum()
    # whole persons, exact total: largest-remainder rounding (ties broken by cell order)
    flat = dens.ravel()
    base = np.floor(flat)
    rem = flat - base
    short = target - int(base.sum())
    if short > 0:
        idx = np.argsort(-rem, kind="stable")[:short]
        base[idx] += 1.0
    pop = base.reshape(DEMO_SHAPE)
    pop[~land] = 0.0
    return pop.astype(np.float32), int(pop.sum())


_SYLL_A = [
    "ka",
    "lo",
    "mi",
    "ra",
    "te",
    "vo",
    "na",
    "si",
    "pu",
    "ela",
    "or",
    "ta",
    "ve",
    "mo",
    "ri",
    "sa",
    "ne",
    "ku",
    "al",
    "du",
    "fe",
    "ga",
    "hi",
    "jo",
    "ba",
    "zi",
    "we",
    "ya",
]
_SYLL_B = ["n", "r", "l", "s", "th", "nd", "rk", "m", "v", "sh", "t", ""]


def place_names(rng: np.random.Generator, n: int, suffixes: list[str]) -> list[str]:
    """Unique synthetic ASCII place names."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        k = int(rng.integers(2, 4))
        word = "".join(_SYLL_A[int(rng.integers(len(_SYLL_A)))] for _ in range(k))
        word += _SYLL_B[int(rng.integers(len(_SYLL_B)))]
        word = word.capitalize()
        if word in seen or len(word) < 4:
            continue
        seen.add(word)
        suf = suffixes[int(rng.integers(len(suffixes)))] if suffixes else ""
        out.append(f"{word}{suf}")
    return out
