"""The demo grid and the labels every demo file carries.

Working CRS EPSG:32710 (WGS 84 / UTM zone 10S), 100 m cells, 620 x 1000 cells (62 km x
100 km) centred near 125 deg W, 35 deg S in the open South Pacific, where there is no land.
The helpers convert between points [m] and cells of this one fixed grid; the other demo
modules use them (this is not the general :mod:`covkit.data.grid`).
"""

from __future__ import annotations

import numpy as np
from affine import Affine

DEMO_SEED = 2025
"""Default seed of the demo island."""

DEMO_CRS = "EPSG:32710"
"""Working CRS: WGS 84 / UTM zone 10S."""

DEMO_RESOLUTION_M = 100.0
"""Grid cell size [m]."""

DEMO_SHAPE = (620, 1000)
"""Grid shape (rows, cols): 62 km x 100 km including a sea margin."""

# Grid centred on (125 W, 35 S) = (317 484 m E, 6 125 129 m N) in EPSG:32710, rounded to 1 km.
X_WEST_M = 267_000.0
Y_NORTH_M = 6_156_000.0
DEMO_TRANSFORM = Affine(DEMO_RESOLUTION_M, 0.0, X_WEST_M, 0.0, -DEMO_RESOLUTION_M, Y_NORTH_M)
"""Affine transform of the demo grid (upper-left corner on whole 100 m)."""

SYNTHETIC_NOTE = "covkit demo island, not real terrain"
"""Value of the ``SYNTHETIC`` tag and the ``source`` column of every demo file."""

SCENARIO_NAME = "covkit-demo-synthetic-island"
"""``[scenario] name`` of the demo ``scenario.toml``."""

XC_M = X_WEST_M + DEMO_SHAPE[1] * DEMO_RESOLUTION_M / 2.0
"""Easting of the grid centre [m] (the island is centred on it)."""

YC_M = Y_NORTH_M - DEMO_SHAPE[0] * DEMO_RESOLUTION_M / 2.0
"""Northing of the grid centre [m]."""


def grid_xy_m() -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre coordinates [m] in EPSG:32710, as (1, ncol) and (nrow, 1) arrays."""
    nrow, ncol = DEMO_SHAPE
    x = X_WEST_M + (np.arange(ncol) + 0.5) * DEMO_RESOLUTION_M
    y = Y_NORTH_M - (np.arange(nrow) + 0.5) * DEMO_RESOLUTION_M
    return x[None, :], y[:, None]


def cell_of(x_m: float, y_m: float) -> tuple[int, int]:
    """(row, col) of the cell containing a point [m]."""
    col = int(np.floor((x_m - X_WEST_M) / DEMO_RESOLUTION_M))
    row = int(np.floor((Y_NORTH_M - y_m) / DEMO_RESOLUTION_M))
    return row, col


def cell_centre(row: int, col: int) -> tuple[float, float]:
    """(x, y) [m] of the centre of cell (row, col)."""
    return (
        X_WEST_M + (col + 0.5) * DEMO_RESOLUTION_M,
        Y_NORTH_M - (row + 0.5) * DEMO_RESOLUTION_M,
    )


def inside(row: int, col: int) -> bool:
    """True if (row, col) is a cell of the grid."""
    return 0 <= row < DEMO_SHAPE[0] and 0 <= col < DEMO_SHAPE[1]


def elev_at(elev: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Values of a grid raster at points ``xy`` (n, 2) [m], clamped to the grid edge."""
    cols = np.clip(np.floor((xy[:, 0] - X_WEST_M) / DEMO_RESOLUTION_M).astype(int), 0, None)
    rows = np.clip(np.floor((Y_NORTH_M - xy[:, 1]) / DEMO_RESOLUTION_M).astype(int), 0, None)
    cols = np.minimum(cols, DEMO_SHAPE[1] - 1)
    rows = np.minimum(rows, DEMO_SHAPE[0] - 1)
    return elev[rows, cols]
