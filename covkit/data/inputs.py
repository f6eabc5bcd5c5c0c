"""Every input of a scenario, read, validated and put on the analysis grid.

:func:`load_inputs` takes the scenario's files, or in-memory objects in their place
(GeoDataFrame / DataFrame for tables and polygons, ``xarray.DataArray`` with a CRS or an
``(array, transform, crs)`` tuple for rasters), and returns :class:`Inputs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from covkit.config import Scenario, load_scenario
from covkit.data import loaders
from covkit.data import terrain as T
from covkit.data import villages as V
from covkit.data.bands import sector_models
from covkit.data.fractions import population_weights
from covkit.data.grid import Grid
from covkit.data.remote import RemoteOptions
from covkit.errors import CovkitInputError

INPUT_NAMES = ("dem", "stations", "population", "townships", "fibre", "trails", "candidates")
"""The inputs of a scenario, in the order of the ``[inputs]`` section."""
REQUIRED_INPUTS = ("dem", "stations", "population", "townships")


@dataclass(frozen=True)
class Inputs:
    """Every input of a scenario, validated and on the analysis grid.

    Attributes
    ----------
    scenario : Scenario
    grid : Grid
        The analysis grid.
    dem_m : 2-D float32 array
        The propagation terrain [m AMSL] on the grid (NaN = no terrain): the DEMs mosaicked,
        sea (DEM below 0 m) at 0 m, optional flat fill and fractal detail
        (:mod:`covkit.data.terrain`).
    stations : covkit.data.loaders.Stations
        Its table has a ``model`` column: each sector's path-loss model
        (:func:`covkit.data.bands.sector_models`).
    population : 2-D float64 array
        People per grid cell.
    townships : covkit.data.loaders.Townships
    fibre, candidates : DataFrame or None
        Points with ``x_m, y_m, lon, lat``.
    trails : GeoDataFrame or None
        Lines in the working CRS with ``length_km``.
    report : dict
        Figures of the loading (population outside the grid, ...).
    coast_km : 2-D array or None
        Distance to the sea [km] on the grid, for P.1812's coastal-land zone (None for the
        other models).
    sources : dict
        Per input name: its path, or a label such as ``<in-memory stations DataFrame>``
        (None: not given).
    warnings : tuple of str
        The warnings issued while loading (also issued as UserWarning); a run writes them to
        ``kpi_summary.json``.
    terrain : covkit.data.terrain.Terrain or None
        The DEM heights as given, the sea / no-terrain / flat masks, the DEM's resolution and
        the terrain flags.
    villages : covkit.data.villages.Villages or None
        Village polygons and their people (village mode, ``inputs.villages``).
    """

    scenario: Scenario
    grid: Grid
    dem_m: np.ndarray
    stations: loaders.Stations
    population: np.ndarray
    townships: loaders.Townships
    fibre: pd.DataFrame | None
    trails: object | None
    candidates: pd.DataFrame | None
    report: dict = field(default_factory=dict)
    coast_km: np.ndarray | None = None
    sources: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    terrain: T.Terrain | None = None
    villages: V.Villages | None = None


def _as_scenario(scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return Scenario.from_dict(scenario)
    return load_scenario(scenario)


def _resolve(scenario: Scenario, given: dict) -> dict:
    """Per input name of ``given``: the object or path given, else the scenario's path (None
    if neither; an error for a required input)."""
    out = {}
    for name in given:
        src = given.get(name)
        out[name] = getattr(scenario.inputs, name) if src is None else src
        if out[name] is None and name in REQUIRED_INPUTS:
            raise CovkitInputError(
                f"no {name} input: set inputs.{name} in the scenario or pass {name}=... "
                "(a path or an in-memory object)", file=scenario.path, column=f"inputs.{name}")
    return out


def grid_dem_stations(scenario, *, dem=None, stations=None):
    """The scenario, its analysis grid, the propagation terrain on it and the validated
    stations (without township polygons, so no flat fill: see :func:`load_inputs`)."""
    scenario = _as_scenario(scenario)
    src = _resolve(scenario, {"dem": dem, "stations": stations})
    grid, mosaic = grid_and_dems(scenario, src["dem"])
    terrain = make_terrain(scenario, grid, mosaic, None)
    return scenario, grid, terrain.dem_m, terrain_stations(scenario, src["stations"], grid,
                                                           terrain)


def grid_and_dems(scenario: Scenario, dem) -> tuple[Grid, loaders.DemMosaic]:
    """The analysis grid (``scenario.bounds`` or the union of the DEMs' extents) and the DEMs
    mosaicked on it."""
    sc = scenario.scenario
    grid = loaders.grid_for(sc.crs, sc.resolution_m, dem, sc.bounds)
    return grid, loaders.load_dems(dem, grid)


def make_terrain(scenario: Scenario, grid: Grid, mosaic: loaders.DemMosaic,
                 land: np.ndarray | None) -> T.Terrain:
    """The propagation terrain with the scenario's ``propagation.no_terrain`` and
    ``dem_detail`` (:func:`covkit.data.terrain.make_terrain`)."""
    p = scenario.propagation
    return T.make_terrain(mosaic, grid, land, no_terrain=p.no_terrain,
                          dem_detail=p.dem_detail, seed=p.dem_detail_seed)


def terrain_stations(scenario: Scenario, stations, grid: Grid,
                     terrain: T.Terrain) -> loaders.Stations:
    """The stations validated on the terrain: outside every DEM dropped or refused
    (``inputs.stations_outside_dem``), on the sea listed."""
    st = loaders.load_stations(stations, grid, terrain.dem_m,
                               outside_dem=scenario.inputs.stations_outside_dem,
                               sea=terrain.sea)
    models = sector_models(st, scenario.propagation, scenario.path)  # what a run refuses
    return replace(st, table=st.table.assign(model=models))


@dataclass(frozen=True)
class Land:
    """The inputs of a scenario that do not depend on its stations: the grid, the terrain,
    the population and the townships (what a synthetic network is placed on)."""

    grid: Grid
    terrain: T.Terrain
    population: np.ndarray
    townships: loaders.Townships
    report: dict
    population_source: loaders.Population | None = None


def load_land(scenario: Scenario | str | Path | dict, *, dem=None, population=None,
              townships=None) -> Land:
    """The grid, DEM mosaic and terrain, population and townships of a scenario, as
    :func:`load_inputs` reads them (paths or in-memory objects in place of the scenario's
    inputs), without the stations."""
    scenario = _as_scenario(scenario)
    src = _resolve(scenario, {"dem": dem, "population": population, "townships": townships})
    grid, mosaic = grid_and_dems(scenario, src["dem"])
    weights = population_weights(mosaic.elevation_m, grid.resolution_m) \
        if scenario.coverage.population_spread == "dasymetric" else None
    population_read = loaders.read_population(src["population"], grid, weights=weights)
    pop, report = population_read.grid, population_read.report
    if pop.sum() <= 0:
        raise CovkitInputError("population on the analysis grid is zero: check that the "
                               "population file overlaps the grid and is in people per cell",
                               file=loaders.source_name(src["population"], "population"))
    tw = loaders.load_townships(src["townships"], grid, pop,
                                remote_density_ratio=scenario.coverage.remote_density_ratio,
                                columns=scenario.inputs.township_columns,
                                remote=RemoteOptions.from_scenario(scenario),
                                population_source=population_read,
                                names=scenario.outputs.names)
    terrain = make_terrain(scenario, grid, mosaic, tw.zone >= 0)
    return Land(grid, terrain, pop, tw, report, population_read)


def load_inputs(scenario: Scenario | str | Path | dict, *, dem=None, stations=None,
                population=None, townships=None, fibre=None, trails=None,
                candidates=None, villages=None) -> Inputs:
    """Read, validate and grid every input of a scenario.

    Parameters
    ----------
    scenario : Scenario, dict or path to a scenario TOML file
    dem : path, xarray.DataArray or (array, transform, crs), optional
        Terrain [m AMSL]; default: the scenario's ``inputs.dem``.
    stations : path, DataFrame or GeoDataFrame, optional
        One row per sector (see the README's input table).
    population : path, raster (as ``dem``) or GeoDataFrame of polygons, optional
        People per cell, or polygons with a ``population`` column.
    townships : path or GeoDataFrame, optional
        Township polygons with ``township_id, name, county`` (optional ``remote``).
    fibre, trails, candidates : path, DataFrame or GeoDataFrame, optional
        Optional inputs; default: the scenario's.
    villages : path or GeoDataFrame, optional
        Village polygons (village mode, :func:`covkit.data.villages.load_villages`); default:
        the scenario's ``inputs.villages``.

    Returns
    -------
    Inputs

    Raises
    ------
    CovkitInputError
        Naming the file (or in-memory input), column and row of the first problem.
    """
    scenario = _as_scenario(scenario)
    with loaders.collect_warnings() as issued:
        inputs = _load_inputs(scenario, dem=dem, stations=stations, population=population,
                              townships=townships, fibre=fibre, trails=trails,
                              candidates=candidates, villages=villages)
    return replace(inputs, warnings=tuple(issued))


def fibre_unusable_reason(fibre: pd.DataFrame | None, grid: Grid,
                          distance_m: float) -> str | None:
    """Why fibre KPIs cannot be computed from ``fibre`` (None when they can): no fibre input,
    no points, or no point within ``distance_m`` of the analysis grid."""
    if fibre is None:
        return "no fibre input (inputs.fibre is not set)"
    if len(fibre) == 0:
        return "the fibre input has no points"
    xmin, ymin, xmax, ymax = grid.bounds
    x = fibre["x_m"].to_numpy(dtype=np.float64)
    y = fibre["y_m"].to_numpy(dtype=np.float64)
    dx = np.maximum(np.maximum(xmin - x, x - xmax), 0.0)
    dy = np.maximum(np.maximum(ymin - y, y - ymax), 0.0)
    gap_m = np.hypot(dx, dy)
    if not (gap_m <= distance_m).any():
        return (f"none of the {len(fibre)} fibre points lies within coverage.fibre_distance_m "
                f"= {distance_m:g} m of the analysis grid (nearest {gap_m.min() / 1000.0:,.1f} "
                "km away)")
    return None


def _load_inputs(scenario: Scenario, *, dem, stations, population, townships, fibre, trails,
                 candidates, villages=None) -> Inputs:
    src = _resolve(scenario, {"dem": dem, "stations": stations, "population": population,
                              "townships": townships, "fibre": fibre, "trails": trails,
                              "candidates": candidates, "villages": villages})
    land = load_land(scenario, dem=src["dem"], population=src["population"],
                     townships=src["townships"])
    grid, pop, report, tw, terrain = (land.grid, land.population, land.report, land.townships,
                                      land.terrain)
    st = terrain_stations(scenario, src["stations"], grid, terrain)
    in_extent = shapely.intersects(np.asarray(tw.gdf.geometry.values), shapely.box(*grid.bounds))
    status, missing = T.township_status(tw.zone, pop, terrain, len(tw.table), in_extent,
                                         sums=tw.township_sums)
    tw = replace(tw, table=tw.table.assign(status=status, no_terrain_share=missing))
    report = dict(report)
    report["population_outside_townships"] = tw.population_outside_townships
    report.update(terrain.figures())
    report["stations_dropped_outside_dem_count"] = float(len(st.dropped_ids))
    report["stations_on_sea_count"] = float(len(st.on_sea_ids))
    report["townships_not_computed_count"] = float((~T.is_computed(status)).sum())
    fib = None if src["fibre"] is None else loaders.load_points(src["fibre"], grid, "fibre",
                                                                 "fibre_id")
    if fib is not None:
        reason = fibre_unusable_reason(fib, grid, scenario.coverage.fibre_distance_m)
        if reason is not None:
            loaders.warn(f"{loaders.source_name(src['fibre'], 'fibre')}: {reason}; the fibre "
                         "KPIs are not computed")
    trl = None if src["trails"] is None else loaders.load_trails(src["trails"], grid)
    cand = None if src["candidates"] is None else loaders.load_candidates(src["candidates"],
                                                                          grid)
    vil = None if src["villages"] is None else V.load_villages(
        src["villages"], grid, pop, tw, columns=scenario.inputs.village_columns,
        population_source=land.population_source, remote=RemoteOptions.from_scenario(scenario))
    if vil is not None:
        report["population_outside_villages"] = vil.population_outside_villages
    sources = {k: None if v is None else loaders.source_name(v, k) for k, v in src.items()}
    dems = loaders.dem_sources(src["dem"])
    if len(dems) > 1:
        sources["dem"] = [loaders.source_name(d, "dem") for d in dems]
    return Inputs(scenario, grid, terrain.dem_m, st, pop, tw, fib, trl, cand, report,
                  T.terrain_coast_km(terrain, grid.affine6, scenario.propagation.models()),
                  sources, terrain=terrain, villages=vil)


def summarize_inputs(inputs: Inputs) -> dict:
    """Headline figures of loaded inputs (for the CLI and logs)."""
    tw = inputs.townships.table
    st = inputs.stations.table
    g = inputs.grid
    return {
        "scenario": inputs.scenario.scenario.name,
        "grid": f"{g.width} x {g.height} cells of {g.resolution_m:g} m ({g.crs})",
        "elevation_max_m": float(np.nanmax(inputs.dem_m)),
        "population_total": float(inputs.population.sum()),
        "townships": int(len(tw)),
        "remote_townships": int(tw["remote"].sum()),
        "population_remote": float(tw.loc[tw["remote"], "population"].sum()),
        "sectors": int(len(st)),
        "sites": int(inputs.stations.n_sites),
        "operators": inputs.stations.operators,
        "fibre_points": 0 if inputs.fibre is None else int(len(inputs.fibre)),
        "trails_km": 0.0 if inputs.trails is None else float(inputs.trails["length_km"].sum()),
        **{k: float(v) for k, v in inputs.report.items()},
    }
