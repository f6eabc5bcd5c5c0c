"""DEM hygiene: the propagation terrain made from the DEMs on the analysis grid.

From the mosaicked DEM heights (:func:`covkit.data.loaders.load_dems`, sea-floor depths
negative, NaN where no DEM has data) :func:`make_terrain` derives

- **sea**: cells whose DEM height is below 0 m. Propagation uses 0 m there (the sea surface,
  not the sea floor of a bathymetric DEM such as ETOPO1 or GEBCO); the sea / land mask is kept
  for the coast distance of P.1812 (:func:`coast_raster`) and counted in the summary;
- **no terrain**: cells without DEM data (outside every DEM, or nodata voids). Nothing is
  computed there (``propagation.no_terrain = "skip"``), or, with ``"flat"``, the cells that lie
  inside a township polygon are land taken as 0 m flat terrain (islands without a DEM). Land
  comes from the township polygons because the DEM cannot say where land is where it has no
  data; cells outside every township stay without terrain;
- optional **fractal detail** (``propagation.dem_detail = "fractal"``): seeded, self-affine
  detail below the DEM's post spacing, scaled to the local relief, none on the sea
  (:func:`fractal_detail_m`).

:func:`township_status` then marks the townships whose people lie mostly on cells without
terrain as ``"not computed: no terrain"``: their coverage is not claimed and they are left out
of the national coverage percentages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy.ndimage import uniform_filter

from covkit.data import loaders
from covkit.data.grid import Grid
from covkit.propagation.terrain import coast_distance_km

NO_TERRAIN_MODES = ("skip", "flat")
DEM_DETAIL_MODES = ("none", "fractal")

FLAG_FLAT = "flat terrain (no DEM)"
"""Terrain flag of a run where ``propagation.no_terrain = "flat"`` filled cells."""
FLAG_SYNTHETIC = "synthetic terrain (fractal DEM detail)"
"""Terrain flag of a run with ``propagation.dem_detail = "fractal"``."""

STATUS_COMPUTED = "computed"
STATUS_FLAT = "computed: flat terrain (no DEM)"
STATUS_SYNTHETIC = "computed: synthetic terrain (fractal DEM detail)"
STATUS_NO_TERRAIN = "not computed: no terrain"
STATUS_OUTSIDE = "not computed: outside the grid"
STATUS_NO_CELL = "not computed: no grid cell"
"""A township inside the grid's extent too small to hold a cell centre."""
NOT_COMPUTED_SHARE = 0.5
"""A township is not computed when more than this share of its population (of its grid cells
when it has no population on the grid) lies on cells without terrain; a township computed on
flat fill gets :data:`STATUS_FLAT` when more than this share lies on flat-filled cells."""

FRACTAL_HURST = 0.8
"""Hurst exponent of the fractal detail (power spectrum ~ k^-(2H+2)), typical of mountain
terrain."""
FRACTAL_RELIEF_SHARE = 0.3
"""RMS of the fractal detail as a share of the local relief (the standard deviation of the DEM
over a window of two DEM posts)."""


@dataclass(frozen=True)
class Terrain:
    """The terrain of a scenario on the analysis grid.

    Attributes
    ----------
    elevation_m : 2-D float32
        The DEMs' heights [m AMSL] as given (sea floor negative; NaN = no DEM data).
    dem_m : 2-D float32
        The propagation terrain [m AMSL]: sea at 0 m, flat fill and fractal detail applied;
        NaN = no terrain.
    sea : 2-D bool
        DEM height below 0 m.
    no_terrain : 2-D bool
        No terrain (NaN in ``dem_m``).
    flat : 2-D bool
        Land cells without DEM data filled with 0 m (``no_terrain = "flat"``).
    dem_resolution_m : float
        Post spacing of the coarsest DEM [m].
    flags : tuple of str
        :data:`FLAG_FLAT` and / or :data:`FLAG_SYNTHETIC` when they apply.
    """

    elevation_m: np.ndarray
    dem_m: np.ndarray
    sea: np.ndarray
    no_terrain: np.ndarray
    flat: np.ndarray
    dem_resolution_m: float
    flags: tuple[str, ...] = ()

    def figures(self) -> dict[str, float]:
        """The loading figures (``Inputs.report``, ``covkit scenario check``)."""
        return {"dem_resolution_m": float(self.dem_resolution_m),
                "sea_cells": float(self.sea.sum()),
                "no_terrain_cells": float(self.no_terrain.sum()),
                "flat_terrain_cells": float(self.flat.sum())}


def make_terrain(mosaic: loaders.DemMosaic, grid: Grid, land: np.ndarray | None, *,
                 no_terrain: str = "skip", dem_detail: str = "none",
                 seed: int = 0) -> Terrain:
    """The propagation terrain from the DEM heights (see the module docstring).

    Parameters
    ----------
    mosaic : covkit.data.loaders.DemMosaic
    grid : Grid
    land : 2-D bool or None
        Cells inside a township polygon: the land of the flat fallback (None: no fill).
    no_terrain : "skip" or "flat"
    dem_detail : "none" or "fractal"
    seed : int
        Seed of the fractal detail.
    """
    elev = np.asarray(mosaic.elevation_m, dtype=np.float32)
    known = np.isfinite(elev)
    with np.errstate(invalid="ignore"):
        sea = known & (elev < 0.0)
    dem = np.where(sea, np.float32(0.0), elev).astype(np.float32)
    flat = np.zeros(grid.shape, dtype=bool)
    flags: list[str] = []
    if no_terrain == "flat" and land is not None:
        flat = ~known & np.asarray(land, dtype=bool)
        if flat.any():
            dem[flat] = 0.0
            flags.append(FLAG_FLAT)
            loaders.warn(f"propagation.no_terrain = \"flat\": {int(flat.sum()):,} land cells "
                         "(inside township polygons) without DEM data are taken as 0 m flat "
                         "terrain")
    if dem_detail == "fractal":
        with np.errstate(invalid="ignore"):
            on_land = known & (elev > 0.0)
        detail = fractal_detail_m(np.where(known, dem, 0.0), on_land, mosaic.resolution_m,
                                  grid.resolution_m, seed)
        if np.any(detail != 0.0):
            # land stays land: a point pushed to or below 0 m would become sea for P.1812
            raised = np.maximum(dem + detail, np.minimum(dem, 1.0))
            dem = np.where(on_land, raised, dem).astype(np.float32)
            flags.append(FLAG_SYNTHETIC)
        else:
            loaders.warn(f"propagation.dem_detail = \"fractal\" adds nothing: the DEM "
                         f"({loaders.length_text(mosaic.resolution_m)}) is not coarser than "
                         f"the {grid.resolution_m:g} m grid")
    return Terrain(elev, dem, sea, ~np.isfinite(dem), flat, mosaic.resolution_m, tuple(flags))


def fractal_detail_m(dem_m: np.ndarray, land: np.ndarray, post_spacing_m: float,
                     resolution_m: float, seed: int) -> np.ndarray:
    """Seeded fractal terrain detail [m] below a coarse DEM's post spacing (float32).

    Spectral synthesis: white Gaussian noise from ``numpy.random.default_rng(seed)``, filtered
    to a power spectrum ~ k^-(2H+2) (H = :data:`FRACTAL_HURST`) at wavelengths below the post
    spacing only (a smooth high-pass at the post scale, so the DEM's own values at that scale
    are kept), normalised to unit RMS and scaled per cell to :data:`FRACTAL_RELIEF_SHARE` times
    the local relief (standard deviation of ``dem_m`` over a window of two posts). Zero off
    ``land`` and when the posts are not coarser than the grid cells (nothing to add).
    """
    ratio = float(post_spacing_m) / float(resolution_m)
    shape = dem_m.shape
    if not np.isfinite(ratio) or ratio <= 1.5 or min(shape) < 4:
        return np.zeros(shape, dtype=np.float32)
    rng = np.random.default_rng(int(seed))
    noise = rng.standard_normal(shape, dtype=np.float32)
    spec = scipy.fft.rfft2(noise)
    ky = scipy.fft.fftfreq(shape[0])[:, None].astype(np.float32)  # cycles per cell
    kx = scipy.fft.rfftfreq(shape[1])[None, :].astype(np.float32)
    k = np.hypot(kx, ky)
    k_post = np.float32(1.0 / ratio)  # the DEM posts' wavenumber [cycles per cell]
    with np.errstate(divide="ignore"):
        amp = np.where(k > 0, k, np.float32(1.0)) ** np.float32(-(FRACTAL_HURST + 1.0))
    highpass = 1.0 - np.exp(-((k / (1.5 * k_post)) ** 8))
    spec *= (amp * highpass).astype(np.float32)
    del amp, highpass, k
    field = scipy.fft.irfft2(spec, s=shape).astype(np.float32)
    del spec
    rms = float(np.sqrt(np.mean(field.astype(np.float64) ** 2)))
    if rms <= 0.0:
        return np.zeros(shape, dtype=np.float32)
    field /= np.float32(rms)
    size = max(3, int(round(2.0 * ratio)))
    z = dem_m.astype(np.float32)
    mean = uniform_filter(z, size=size, mode="nearest")
    var = uniform_filter(z * z, size=size, mode="nearest") - mean * mean
    relief = np.sqrt(np.maximum(var, 0.0))
    return np.where(land, FRACTAL_RELIEF_SHARE * relief * field, 0.0).astype(np.float32)


def coast_raster(height_m, affine6, model):
    """Distance to the sea [km] on the analysis grid for P.1812's coastal-land zone
    (:func:`~covkit.propagation.terrain.coast_distance_km`: sea = finite height at or below
    0 m, as the kernels' sea zone; NaN, e.g. flat-filled land without a DEM, is not sea), or
    None when no model is P.1812. ``model``: a model name or the models of a scenario's
    bands."""
    if "p1812" not in ((model,) if isinstance(model, str) else tuple(model)):
        return None
    return coast_distance_km(height_m, affine6[1])


def terrain_coast_km(terrain: Terrain, affine6, model):
    """:func:`coast_raster` from the DEM heights as the files give them (sea-floor depths
    negative, NaN where no DEM has data, so flat-filled land is land)."""
    return coast_raster(terrain.elevation_m, affine6, model)


def township_status(zone: np.ndarray, population: np.ndarray, terrain: Terrain,
                    n: int, in_extent: np.ndarray | None = None,
                    sums=None) -> tuple[np.ndarray, np.ndarray]:
    """Per township its status and the share of its population (of its cells when it has no
    population on the grid) on cells without terrain.

    Statuses: :data:`STATUS_OUTSIDE` (no cell on the grid, polygon outside the grid's extent),
    :data:`STATUS_NO_CELL` (no cell, polygon within the extent: smaller than a cell; needs
    ``in_extent``, a bool per township), :data:`STATUS_NO_TERRAIN` (more
    than :data:`NOT_COMPUTED_SHARE` without terrain), :data:`STATUS_FLAT` (more than that share
    on flat fill), :data:`STATUS_SYNTHETIC` (fractal detail on), else :data:`STATUS_COMPUTED`.
    """
    valid = zone >= 0
    z = zone[valid]
    pop = np.asarray(population, dtype=np.float64)[valid]

    full = np.asarray(population, dtype=np.float64)
    people = sums(full)[0] if sums is not None else np.bincount(z, weights=pop, minlength=n)

    def share(mask: np.ndarray) -> np.ndarray:
        m = mask[valid]
        cells = np.bincount(z, minlength=n).astype(np.float64)
        on = (sums(np.where(mask, full, 0.0))[0] if sums is not None
              else np.bincount(z[m], weights=pop[m], minlength=n))
        by_pop = np.divide(on, people, out=np.zeros(n), where=people > 0)
        by_cell = np.divide(np.bincount(z[m], minlength=n), cells, out=np.zeros(n),
                            where=cells > 0)
        return np.where(people > 0, by_pop, by_cell)

    on_grid = (np.bincount(z, minlength=n) > 0) | (people > 0)
    missing = share(terrain.no_terrain)
    flat = share(terrain.flat)
    status = np.full(n, STATUS_SYNTHETIC if FLAG_SYNTHETIC in terrain.flags else
                     STATUS_COMPUTED, dtype=object)
    status[flat > NOT_COMPUTED_SHARE] = STATUS_FLAT
    status[missing > NOT_COMPUTED_SHARE] = STATUS_NO_TERRAIN
    status[~on_grid] = STATUS_OUTSIDE
    if in_extent is not None:
        status[~on_grid & np.asarray(in_extent, dtype=bool)] = STATUS_NO_CELL
    return status, np.where(on_grid, missing, 1.0)


def is_computed(status) -> np.ndarray:
    """Whether township statuses are computed ones (bool array)."""
    return np.array([str(s).startswith("computed") for s in np.atleast_1d(status)], dtype=bool)
