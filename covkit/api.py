"""The Python API that the CLI and notebooks call.

``load_inputs(scenario)`` reads every input of a scenario onto its analysis grid;
``run_scenario`` computes coverage and KPIs (:mod:`covkit.coverage.run`); ``propose_sites``
proposes new sites (:mod:`covkit.coverage.sites`); ``point_losses`` checks single links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from covkit.config import Scenario, load_scenario
from covkit.data import loaders
from covkit.data.grid import Grid
from covkit.errors import CovkitInputError


@dataclass(frozen=True)
class Inputs:
    """Every input of a scenario, validated and on the analysis grid."""

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
    """Distance to the sea [km] on the grid, for P.1812's coastal-land zone (None: no coastal
    land; :func:`covkit.coverage.run.coast_raster`)."""


def _grid_dem_stations(scenario):
    """The scenario, its analysis grid, the DEM on it and the validated stations."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    sc, inp = scenario.scenario, scenario.inputs
    grid = loaders.grid_for(sc.crs, sc.resolution_m, inp.dem, sc.bounds)
    dem = loaders.load_dem(inp.dem, grid)
    return scenario, grid, dem, loaders.load_stations(inp.stations, grid, dem)


def load_inputs(scenario: Scenario | str | Path) -> Inputs:
    """Read, validate and grid every input file named by a scenario.

    Parameters
    ----------
    scenario : Scenario or path to a scenario TOML file
    """
    from covkit.coverage.run import coast_raster

    scenario, grid, dem, stations = _grid_dem_stations(scenario)
    inp = scenario.inputs
    population, report = loaders.load_population(inp.population, grid)
    if population.sum() <= 0:
        raise CovkitInputError("population on the analysis grid is zero: check that the "
                               "population file overlaps the grid and is in people per cell",
                               file=inp.population)
    townships = loaders.load_townships(
        inp.townships, grid, population,
        remote_density_ratio=scenario.coverage.remote_density_ratio,
        columns=inp.township_columns)
    report = dict(report)
    report["population_outside_townships"] = townships.population_outside_townships
    fibre = loaders.load_points(inp.fibre, grid, "fibre", "fibre_id") if inp.fibre else None
    trails = loaders.load_trails(inp.trails, grid) if inp.trails else None
    candidates = loaders.load_candidates(inp.candidates, grid) if inp.candidates else None
    return Inputs(scenario, grid, dem, stations, population, townships, fibre, trails,
                  candidates, report,
                  coast_raster(dem, grid.affine6, scenario.propagation.model))


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


def point_losses(scenario: Scenario | str | Path, station_id: str, points_path: str | Path,
                 ) -> list[dict]:
    """Exact (reference) path loss from one station to each point of a points CSV.

    Uses the scenario's DEM (on its analysis grid), model and receiver height; the profile is
    the exact one from the station to each point (see
    :func:`covkit.propagation.engine.reference_loss_db`).
    """
    from covkit.coverage.run import coast_raster, engine_settings
    from covkit.propagation.engine import reference_loss_db

    scenario, grid, dem, stations = _grid_dem_stations(scenario)
    sc, inp = scenario.scenario, scenario.inputs
    table = stations.table
    match = table.index[table["station_id"] == str(station_id)]
    if len(match) == 0:
        raise CovkitInputError(f"station id {station_id!r} not found", file=inp.stations,
                               column="station_id")
    st = table.loc[match[0]]
    x, y = loaders.read_points_csv(Path(points_path), sc.crs)
    r, c = grid.index_of(x, y)
    inside = grid.contains(x, y)
    for i in range(len(x)):
        if not inside[i] or not np.isfinite(dem[min(max(r[i], 0), grid.height - 1),
                                                min(max(c[i], 0), grid.width - 1)]):
            raise CovkitInputError(f"point ({x[i]:.1f}, {y[i]:.1f}) lies outside the DEM",
                                   file=points_path, row=i + 1)
    settings = engine_settings(scenario)
    loss = reference_loss_db(dem, grid.affine6, st["x_m"], st["y_m"], x, y,
                             st["height_m"], scenario.propagation.receiver_height_m,
                             st["freq_mhz"], settings, site_lat_deg=st["lat"],
                             coast_km=coast_raster(dem, grid.affine6, settings.model))
    lon, lat = loaders.xy_to_lonlat(x, y, sc.crs)
    return [{"station_id": str(station_id), "point": i + 1, "x_m": float(x[i]),
             "y_m": float(y[i]), "lon": float(lon[i]), "lat": float(lat[i]),
             "distance_m": float(np.hypot(x[i] - st["x_m"], y[i] - st["y_m"])),
             "model": settings.model, "loss_db": float(loss[i])}
            for i in range(len(x))]


def run_scenario(scenario, out_dir=None, progress: bool = True, inputs: Inputs | None = None):
    """Coverage layers and KPIs of a scenario (see :func:`covkit.coverage.run.run_scenario`)."""
    from covkit.coverage.run import run_scenario as _run

    return _run(scenario, out_dir, progress=progress, inputs=inputs)


def propose_sites(scenario, out_dir=None, **kwargs):
    """Site proposals (see :func:`covkit.coverage.sites.propose_sites`)."""
    from covkit.coverage.sites import propose_sites as _propose

    return _propose(scenario, out_dir, **kwargs)
