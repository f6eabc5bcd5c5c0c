"""The analysis grid: a north-up raster in the metric working CRS.

Only this module and the loaders know about CRSs; kernels receive the grid as a 6-float affine
``(x0_m, dx_m, 0, y0_m, 0, -dy_m)`` (GDAL order: top-left corner, pixel size) plus its shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from affine import Affine

from covkit.errors import CovkitInputError


@dataclass(frozen=True)
class Grid:
    """A north-up analysis grid.

    Attributes
    ----------
    crs : str
        Metric working CRS (anything pyproj accepts).
    x0_m, y0_m : float
        Top-left corner of the top-left cell [m].
    resolution_m : float
        Cell size [m] (square cells).
    width, height : int
        Number of columns and rows.
    """

    crs: str
    x0_m: float
    y0_m: float
    resolution_m: float
    width: int
    height: int

    @classmethod
    def from_bounds(cls, crs: str, bounds: tuple[float, float, float, float],
                    resolution_m: float) -> Grid:
        """Grid covering ``bounds`` (xmin, ymin, xmax, ymax) [m], snapped outward to whole cells
        of ``resolution_m`` counted from the CRS origin (so grids of one resolution align).

        Raises
        ------
        CovkitInputError
            When a bound or the resolution is not finite.
        """
        xmin, ymin, xmax, ymax = bounds
        r = float(resolution_m)
        if not (all(math.isfinite(float(v)) for v in bounds) and math.isfinite(r) and r > 0):
            raise CovkitInputError(f"grid bounds {tuple(float(v) for v in bounds)} and "
                                   f"resolution {r:g} m must be finite (resolution > 0)",
                                   column="scenario.bounds")
        x0 = math.floor(xmin / r + 1e-9) * r
        y1 = math.ceil(ymax / r - 1e-9) * r
        x1 = math.ceil(xmax / r - 1e-9) * r
        y0 = math.floor(ymin / r + 1e-9) * r
        return cls(crs, x0, y1, r, max(1, round((x1 - x0) / r)), max(1, round((y1 - y0) / r)))

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def transform(self) -> Affine:
        return Affine(self.resolution_m, 0.0, self.x0_m, 0.0, -self.resolution_m, self.y0_m)

    @property
    def affine6(self) -> np.ndarray:
        """GDAL-order geotransform as float64 array, for kernels."""
        return np.array([self.x0_m, self.resolution_m, 0.0, self.y0_m, 0.0, -self.resolution_m])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.x0_m, self.y0_m - self.height * self.resolution_m,
                self.x0_m + self.width * self.resolution_m, self.y0_m)

    @property
    def cell_area_m2(self) -> float:
        return self.resolution_m * self.resolution_m

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """1-D arrays of cell-centre x [m] (columns) and y [m] (rows, north to south)."""
        r = self.resolution_m
        xs = self.x0_m + (np.arange(self.width) + 0.5) * r
        ys = self.y0_m - (np.arange(self.height) + 0.5) * r
        return xs, ys

    def contains(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """True where points lie inside the grid extent."""
        xmin, ymin, xmax, ymax = self.bounds
        x_m = np.asarray(x_m)
        y_m = np.asarray(y_m)
        return (x_m >= xmin) & (x_m <= xmax) & (y_m >= ymin) & (y_m <= ymax)

    def index_of(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the cells holding the points (may be out of range)."""
        col = np.floor((np.asarray(x_m) - self.x0_m) / self.resolution_m).astype(np.int64)
        row = np.floor((self.y0_m - np.asarray(y_m)) / self.resolution_m).astype(np.int64)
        return row, col
