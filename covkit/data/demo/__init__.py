"""Deterministic generator of the covkit demo scenario: a SYNTHETIC island.

The island is invented. It lies in the open South Pacific, centred near 125 deg W, 35 deg S,
where there is no land, so its files can never be mistaken for real data. Every file says so:
GeoTIFF tags ``SYNTHETIC``, a ``source`` column and layer metadata in the GeoPackages, and
comments in ``scenario.toml``.

What is generated (working CRS EPSG:32710, WGS 84 / UTM zone 10S, 100 m grid), and where;
each module's docstring gives the figures its file promises:

- ``dem.tif``: terrain [m AMSL] of an island of about 95 km x 56 km with a central mountain
  range to about 3,500 m, river valleys and coastal plains (:mod:`.terrain`).
- ``population.tif``: persons per 100 m cell, about 2 million people in cities, towns,
  villages and a thin rural background (:mod:`.settlements`).
- ``townships.gpkg``: about 30 townships that tile the land exactly (:mod:`.townships`).
- ``stations.csv``, ``fibre.csv``, ``trails.gpkg``: three operators' sectors, fibre drop
  points and mountain trails (:mod:`.network`).
- ``scenario.toml``: the scenario, paths relative to the TOML file (:mod:`.writer`).

:func:`generate_demo` (:mod:`.island`) builds all of it in memory as a :class:`DemoScenario`;
:func:`write_demo` (:mod:`.writer`) writes the files. The grid constants and the point/cell
helpers are in :mod:`.grid`.

Everything is a pure function of the seed (``numpy.random.default_rng(seed)``): the same
seed gives byte-identical arrays and identical CSV text.
"""

from __future__ import annotations

from covkit.data.demo.grid import (
    DEMO_CRS,
    DEMO_RESOLUTION_M,
    DEMO_SEED,
    DEMO_SHAPE,
    DEMO_TRANSFORM,
    SCENARIO_NAME,
    SYNTHETIC_NOTE,
)
from covkit.data.demo.island import DemoScenario, generate_demo
from covkit.data.demo.network import OPERATORS, STATION_COLUMNS
from covkit.data.demo.writer import scenario_toml_text, write_demo

__all__ = [
    "DEMO_SEED",
    "DEMO_CRS",
    "DEMO_RESOLUTION_M",
    "DEMO_SHAPE",
    "DEMO_TRANSFORM",
    "SYNTHETIC_NOTE",
    "SCENARIO_NAME",
    "OPERATORS",
    "STATION_COLUMNS",
    "DemoScenario",
    "generate_demo",
    "write_demo",
    "scenario_toml_text",
]
