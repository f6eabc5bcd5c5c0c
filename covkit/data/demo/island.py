"""The whole demo island in memory: :class:`DemoScenario` and :func:`generate_demo`.

:func:`generate_demo` calls the theme modules in a fixed order on one
``numpy.random.default_rng(seed)``; that order is part of the output (changing it changes
every island), so the same seed gives byte-identical arrays and identical tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine

from covkit.data.demo import network, settlements, terrain, townships
from covkit.data.demo.grid import DEMO_CRS, DEMO_SEED, DEMO_TRANSFORM


@dataclass(frozen=True)
class DemoScenario:
    """The generated demo island, in memory (what :func:`write_demo` writes).

    Attributes
    ----------
    seed : int
        Seed the island was generated from.
    dem_m : numpy.ndarray
        Terrain elevation [m AMSL], float32, shape :data:`DEMO_SHAPE`; sea = 0, land >= 1.
        Read-only.
    population : numpy.ndarray
        Persons per 100 m cell, float32 whole numbers, 0 at sea. Read-only.
    land_mask : numpy.ndarray
        bool, True on land (``dem_m > 0``). Read-only.
    transform : affine.Affine
        Grid transform (:data:`DEMO_TRANSFORM`).
    crs : str
        ``"EPSG:32710"``.
    townships : geopandas.GeoDataFrame
        ``township_id``, ``name``, ``county``, ``source``, polygon geometry (EPSG:32710).
    stations : pandas.DataFrame
        One row per sector, exactly the columns of ``stations.csv``.
    fibre : pandas.DataFrame
        ``fibre_id``, ``lon``, ``lat`` (WGS84 [deg]).
    trails : geopandas.GeoDataFrame
        ``trail_id``, ``name``, ``source``, LineString geometry (EPSG:32710).
    """

    seed: int
    dem_m: np.ndarray
    population: np.ndarray
    land_mask: np.ndarray
    transform: Affine
    crs: str
    townships: gpd.GeoDataFrame
    stations: pd.DataFrame
    fibre: pd.DataFrame
    trails: gpd.GeoDataFrame

    @property
    def pop_total_persons(self) -> float:
        """Total population [persons] (float64 sum of the raster)."""
        return float(self.population.sum(dtype=np.float64))


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def generate_demo(seed: int = DEMO_SEED) -> DemoScenario:
    """Generate the synthetic demo island in memory.

    Parameters
    ----------
    seed : int, optional
        Seed of ``numpy.random.default_rng`` (default :data:`DEMO_SEED` = 2025). The same
        seed gives byte-identical arrays and identical tables.

    Returns
    -------
    DemoScenario
        DEM [m AMSL], population [persons/cell], townships, stations (one row per sector),
        fibre points and trails, on the grid :data:`DEMO_TRANSFORM` (EPSG:32710, 100 m).

    Notes
    -----
    The island is SYNTHETIC ("covkit demo island, not real terrain"), placed in the open
    South Pacific near 125 deg W, 35 deg S where there is no land. Takes a few seconds.
    """
    rng = np.random.default_rng(seed)
    # the order of these calls is the order of the draws from rng: keep it
    land = terrain.land_mask(rng)
    phase = float(rng.uniform(-0.6, 0.6))
    rivers = terrain.trace_rivers(rng, land, phase)
    elev = terrain.elevation_m(rng, land, rivers, phase)
    places = settlements.places(rng, elev, land, rivers)
    pop, _ = settlements.population(rng, elev, land, places)
    zones = townships.townships(rng, land, places, phase)
    sites = network.sites(rng, elev, land, pop, rivers, places)
    stations = network.stations(rng, sites)
    fibre = network.fibre(rng, pop)
    trails = network.trails(rng, elev, places)
    return DemoScenario(
        seed=int(seed),
        dem_m=_readonly(elev.astype(np.float32)),
        population=_readonly(pop),
        land_mask=_readonly(land),
        transform=DEMO_TRANSFORM,
        crs=DEMO_CRS,
        townships=zones,
        stations=stations,
        fibre=fibre,
        trails=trails,
    )
