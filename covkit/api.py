"""covkit's public Python API; :mod:`covkit` re-exports its main names.

A study goes scenario -> inputs -> coverage -> site proposals -> files and maps:

>>> import covkit
>>> scenario = covkit.load_scenario("scenario.toml")          # doctest: +SKIP
>>> result = covkit.run(scenario)                             # doctest: +SKIP
>>> result.to_xarray().rsrp_best_dbm.rio.to_raster("rsrp.tif")  # doctest: +SKIP
>>> result.townships.explore(column="coverage_pct")           # doctest: +SKIP
>>> proposal = covkit.propose_sites(result, budget_sites=10)  # doctest: +SKIP

Inputs may be files named by the scenario or in-memory objects given to :func:`load_inputs`
(GeoDataFrame / DataFrame, ``xarray.DataArray`` or ``(array, transform, crs)``). The CLI is a
thin layer over this module.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from covkit import _jit, maps, report
from covkit import runfolder as F
from covkit.config import Scenario, load_scenario, schema_markdown
from covkit.coverage import budget as B
from covkit.coverage import calibration as CAL
from covkit.coverage import distributed as D
from covkit.coverage import kpi as K
from covkit.coverage import sites
from covkit.coverage import verify as VF
from covkit.coverage.fieldsim import SyntheticMeasurements, offsets_from_text
from covkit.coverage.fieldsim import synthetic_measurements as generate_measurements
from covkit.coverage.files import COVERAGE_SET
from covkit.coverage.layers import engine_settings
from covkit.coverage.result import CoverageResult
from covkit.coverage.run import run_coverage
from covkit.coverage.sites import SiteProposal, with_overrides
from covkit.coverage.summary import county_rows, headline, headline_methods, remote_rows
from covkit.data import loaders
from covkit.data import terrain as T
from covkit.data.demo import write_demo
from covkit.data.inputs import (
    Inputs,
    grid_dem_stations,
    load_inputs,
    summarize_inputs,
)
from covkit.data.measurements import read_measurements
from covkit.data.national import write_national_scenario
from covkit.data.synthetic import BANDS, DEFAULT_BANDS, site_inputs, synthetic_stations
from covkit.data.taiwan_scenario import write_taiwan_scenario
from covkit.errors import CovkitInputError
from covkit.links import path_loss
from covkit.outputs import RunCommit, write_csv
from covkit.propagation.engine import reference_loss_db

__all__ = [
    "Calibration",
    "CoverageResult",
    "Inputs",
    "Scenario",
    "SiteProposal",
    "Study",
    "SyntheticMeasurements",
    "Verification",
    "build_national_scenario",
    "build_taiwan_scenario",
    "calibrate",
    "check_budget",
    "check_inputs",
    "coverage_map",
    "county_rows",
    "dask_client",
    "headline",
    "headline_methods",
    "load_inputs",
    "load_measurements",
    "load_scenario",
    "measurement_offsets",
    "path_loss",
    "point_losses",
    "precompile",
    "propose_sites",
    "remote_rows",
    "run",
    "run_study",
    "schema_markdown",
    "summarize_inputs",
    "synthetic_measurements",
    "synthetic_stations",
    "synthetic_stations_for",
    "verify",
    "with_overrides",
    "write_demo",
    "write_map",
    "write_report",
]

write_map = maps.write_map
write_report = report.write_report

PRECOMPILE_RESOLUTION_M = 500.0
"""Grid of the demo run :func:`precompile` makes: the kernels' argument types do not depend on
the resolution, and at 500 m the run itself takes a fraction of the compile time."""


def precompile(*, progress: bool = False) -> dict:
    """Compile every kernel a first demo, ``covkit run`` / ``sites`` on a scenario like it and
    single ``covkit pathloss`` links use, into Numba's cache (or check that they are there).

    A first run after an install otherwise spends some seconds of CPU compiling (the demo:
    about 15-20 s on a 2-core laptop). ``pip install -e .`` runs this at install time (the
    build backend in ``build_backend/``); after a plain wheel install, or with
    ``NUMBA_CACHE_DIR`` set to a new folder, run ``covkit precompile`` once.

    It runs the demo scenario at :data:`PRECOMPILE_RESOLUTION_M` with site proposals (no map
    or report: they hold no kernel) in a temporary folder, synthetic measurements on it (the
    exact point predictions of ``verify`` and ``calibrate``), then one link of each path-loss
    model.

    Returns
    -------
    dict
        ``seconds`` (wall), ``compiled`` (covkit kernels compiled now; 0 when the cache held
        them all) and ``cache`` (``__pycache__`` beside the sources, or ``NUMBA_CACHE_DIR``).
    """
    t0 = time.perf_counter()
    n0 = _jit.covkit_compilations()
    with tempfile.TemporaryDirectory(prefix="covkit-precompile-") as tmp:
        scenario = load_scenario(write_demo(Path(tmp) / "scenario"))
        scenario = replace(scenario, scenario=replace(
            scenario.scenario, resolution_m=PRECOMPILE_RESOLUTION_M))
        inputs = load_inputs(scenario)
        run_study(inputs, Path(tmp) / "run", sites=True, map_and_report=False,
                  progress=progress)
        # exact point predictions (covkit scenario measurements, verify, pathloss --scenario)
        synthetic_measurements(inputs, n_route=20, n_random=20, n_routes=2)
    profile = {"distance_km": np.linspace(0.0, 5.0, 51),
               "height_m": 50.0 + 30.0 * np.sin(np.linspace(0.0, 6.0, 51))}
    path_loss(3500.0, 30.0, 1.5, model="p1812", profile=profile)
    for model, freq_mhz, tx_height_agl_m in (
            ("fspl", 3500.0, 30.0), ("hata", 900.0, 30.0), ("cost231", 1800.0, 30.0),
            ("38901-rma", 3500.0, 35.0), ("38901-uma", 3500.0, 25.0),
            ("38901-umi", 3500.0, 10.0)):
        path_loss(freq_mhz, tx_height_agl_m, 1.5, model=model, distance_m=1000.0)
    return {"seconds": round(time.perf_counter() - t0, 3),
            "compiled": _jit.covkit_compilations() - n0,
            "cache": _jit.cache_location()}


def _inputs_of(scenario_or_inputs) -> Inputs:
    if isinstance(scenario_or_inputs, Inputs):
        return scenario_or_inputs
    return load_inputs(scenario_or_inputs)


def _scenario_of(scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    return Scenario.from_dict(scenario) if isinstance(scenario, dict) else \
        load_scenario(scenario)


def check_budget(scenario_or_inputs, *, allow_large: bool = False,
                 operator_grids: bool = False, streamed: bool = False):
    """Estimate a coverage run's peak memory and time and refuse it when it cannot fit
    (:mod:`covkit.coverage.budget`): before its inputs are loaded when given a scenario (the
    grid from the bounds or the DEMs' headers, the stations table; no DEM data is read).
    ``operator_grids``: the run keeps its per-operator grids (as :func:`verify` does);
    ``streamed``: it writes its rasters band by band into an output folder.

    Returns
    -------
    (Scenario or Inputs, RunEstimate or None)
        The scenario (parsed, for loading) or the inputs given, and the estimate.

    Raises
    ------
    covkit.errors.RunTooLargeError
        Unless ``allow_large``: the estimated peak exceeds the available memory
        (``MemAvailable``); the message states the grid, groups, memory and time figures and
        the option that lets the run go ahead.
    """
    if isinstance(scenario_or_inputs, Inputs):
        subject = scenario_or_inputs
        estimate = B.estimate_inputs(subject, operator_grids=operator_grids, streamed=streamed)
        path = subject.scenario.path
    else:
        subject = _scenario_of(scenario_or_inputs)
        estimate = B.plan_run(subject, operator_grids=operator_grids, streamed=streamed)
        path = subject.path
    B.check_budget(estimate, B.available_memory_bytes(), allow_large,
                   held_bytes=B.resident_bytes(), file=path)
    return subject, estimate


@contextlib.contextmanager
def dask_client(address: str, *, timeout_s: float = 10.0):
    """A ``distributed.Client`` for :func:`run` ``(client=...)``, closed on leaving the
    ``with`` block: ``address`` is a running scheduler's (``tcp://host:8786``) or
    ``local:N`` (a LocalCluster of N worker processes of one thread each, started here and
    closed with the client). Needs ``pip install 'covkit[dask]'``; a scheduler that cannot be
    reached is a one-line :class:`covkit.errors.CovkitError` naming the address."""
    client = D.connect(address, timeout_s=timeout_s)
    try:
        yield client
    finally:
        D.close(client)


def build_national_scenario(out_dir: str | Path, *, seed: int = 0, resolution_m: float = 100.0,
                            radius_km: float = 10.0, sites: int = 15_000, operators: int = 3,
                            scale: float = 1.0) -> Path:
    """A synthetic, seeded, Taiwan-sized scenario folder without any input data; what ``covkit
    scenario national`` runs.

    About 36,000 km2 of land (an island in the open sea, EPSG:3826), mountains to about
    3,500 m over most of the interior, 23 million people, about 370 townships in about 20
    counties, ``sites`` synthetic sites of ``operators`` operators (three sectors each); P.1812
    on a ``resolution_m`` grid with ``max_radius_km = radius_km``. ``scale`` (0.001-1) shrinks
    land, people, townships and sites together. Writes ``dem.tif``, ``population.tif``,
    ``townships.gpkg``, ``stations.csv``, ``national.json`` and ``scenario.toml`` as one set;
    the same arguments give byte-identical files.

    Returns
    -------
    Path of the written ``scenario.toml``.

    See :func:`covkit.data.national.write_national_scenario`.
    """
    return write_national_scenario(out_dir, seed=seed, resolution_m=resolution_m,
                                   radius_km=radius_km, sites=sites, operators=operators,
                                   scale=scale)


def build_taiwan_scenario(out_dir: str | Path, *, townships: str | Path,
                          dem: str | Path | list, stations: str | Path | None = None,
                          townships_layer: str | None = None, villages: str | Path | None = None,
                          villages_layer: str | None = None,
                          population: str | Path | None = None,
                          village_population: str | Path | None = None,
                          resolution_m: float = 100.0, crs: str = "EPSG:3826",
                          national_population: float | None = None,
                          national_area_km2: float | None = None,
                          synthetic_sites: int | None = None, operators: int = 3,
                          seed: int = 0) -> Path:
    """A scenario folder from Taiwan's official files, joined on codes; what ``covkit
    scenario taiwan`` runs.

    Reads township (and village) boundaries (TopoJSON with a layer choice, GeoJSON,
    Shapefile), the township population (JSON keyed by old 7-digit codes, or CSV with
    TOWNCODE) and / or the village population (CSV with TOWNCODE-NNN codes), and writes
    ``townships.gpkg``, ``villages.gpkg`` (when given), ``population.gpkg`` (the finest level,
    each polygon with its ``township_id``), ``SOURCES.md`` / ``sources.json`` (files, sha256,
    join report) and ``scenario.toml`` (DEM and stations by absolute path; grid bounds = the
    townships' extent; the remote rule's national population and area: by default the
    registered population written and Taiwan's official 36,197.07 km2), as one set. Running
    the scenario gives every township (and village,
    when only villages carry population) its registered count exactly.

    Returns
    -------
    Path of the written ``scenario.toml``.

    Raises
    ------
    CovkitInputError
        A missing file, a layer that cannot be chosen, a malformed code, or a population row
        whose township code matches no polygon (naming the file, row and code).

    See :func:`covkit.data.taiwan_scenario.write_taiwan_scenario`.
    """
    return write_taiwan_scenario(out_dir, townships=townships, dem=dem, stations=stations,
                                 townships_layer=townships_layer, villages=villages,
                                 villages_layer=villages_layer, population=population,
                                 village_population=village_population,
                                 resolution_m=resolution_m, crs=crs,
                                 national_population=national_population,
                                 national_area_km2=national_area_km2,
                                 synthetic_sites=synthetic_sites, operators=operators,
                                 seed=seed)


def check_inputs(scenario: Scenario | str | Path | dict, **inputs) -> Inputs:
    """:func:`load_inputs` and every other refusal :func:`run` makes before propagating
    (:func:`covkit.coverage.kpi.check_inputs`): what ``covkit scenario check`` runs.

    Raises
    ------
    CovkitInputError
        Naming the file, column and row of the first problem.
    """
    loaded = load_inputs(scenario, **inputs)
    K.check_inputs(loaded)
    return loaded


def run(scenario_or_inputs: Scenario | Inputs | str | Path | dict, *,
        out_dir: str | Path | None = None, progress: bool = False,
        allow_large: bool = False, client=None, operator_grids: bool = False) -> CoverageResult:
    """Coverage layers and regulator KPIs of a scenario.

    Parameters
    ----------
    scenario_or_inputs : Scenario, Inputs, dict or path to a scenario TOML file
        A scenario (its input files are loaded) or inputs from :func:`load_inputs`.
    out_dir : path, optional
        Also write the run folder's coverage files there (:meth:`CoverageResult.write`): the
        rasters' rows as the fold goes, so they are not held in memory (the result reads them
        back from the folder on first access).
    progress : bool
        Show a progress bar over sites on stderr.
    allow_large : bool
        Go ahead even when the run's estimated peak memory exceeds the available memory
        (default: refuse it before loading the inputs, :func:`check_budget`).
    client : distributed.Client, optional
        Run the path loss and the fold of the sites on the workers of this Dask cluster
        (``pip install 'covkit[dask]'``; :func:`dask_client` connects to an address or starts
        a local cluster). The result is the one of a run on this machine.
    operator_grids : bool
        Keep the best RSRP and the coverage of each operator on the whole grid
        (``rsrp_best_by_operator_dbm``, ``covered_by_operator``: 5 bytes per cell and
        operator more). By default they are not held: the KPIs are summed band by band as the
        fold goes, and ``covered_by_operator`` is computed on first access.

    Returns
    -------
    CoverageResult
        Its ``summary["run_estimate"]`` holds the estimate the run was checked against
        (:meth:`covkit.coverage.budget.RunEstimate.to_dict`), beside ``run_seconds``.

    Raises
    ------
    covkit.errors.RunTooLargeError
        The run cannot fit in memory (and ``allow_large`` is False).
    """
    t0 = time.perf_counter()
    subject, estimate = check_budget(scenario_or_inputs, allow_large=allow_large,
                                     operator_grids=operator_grids,
                                     streamed=out_dir is not None)
    inputs = _inputs_of(subject)
    # with a folder, the rasters go into its output set band by band as the fold goes
    with contextlib.nullcontext() if out_dir is None else \
            RunCommit(out_dir, replaces=COVERAGE_SET) as commit:
        result = run_coverage(inputs, progress=progress, started_s=t0, client=client,
                              operator_grids=operator_grids, out=commit)
        if estimate is not None:  # beside run_seconds in kpi_summary.json
            result.summary["run_estimate"] = estimate.to_dict()
        if commit is not None:
            result.write(commit)
    return result


def propose_sites(coverage: CoverageResult | Scenario | Inputs | str | Path, *,
                  budget_sites: int | None = None, method: str | None = None,
                  out_dir: str | Path | None = None, progress: bool = False,
                  allow_large: bool = False, client=None) -> SiteProposal:
    """Sites that newly cover the most uncovered demand, proven with the real engine.

    Parameters
    ----------
    coverage : CoverageResult, or anything :func:`run` takes (coverage is computed first)
    budget_sites : int, optional
        Number of sites (default: the scenario's ``sites.budget_sites``).
    method : {"greedy", "exact"}, optional
        Default: the scenario's ``sites.method``.
    out_dir : path, optional
        Also write sites_proposed.csv / .gpkg, kpi_after.json, sites_summary.json there.
    progress : bool
        Show progress bars (and the exact solver's log) on stderr.
    allow_large : bool
        Run the coverage first even when it cannot fit in memory (see :func:`run`).
    client : distributed.Client, optional
        The coverage run, the candidates' coverage and the run with the proposed sites on a
        Dask cluster (see :func:`run`).

    Returns
    -------
    SiteProposal
    """
    if not isinstance(coverage, CoverageResult):
        scenario = coverage.scenario if isinstance(coverage, Inputs) else \
            coverage if isinstance(coverage, Scenario) else load_scenario(coverage)
        with_overrides(scenario, budget_sites, method)  # refuse bad overrides before running
        coverage = run(coverage if isinstance(coverage, Inputs) else scenario,
                       progress=progress, allow_large=allow_large, client=client)
    proposal = sites.propose_sites(coverage, budget_sites=budget_sites, method=method,
                                   progress=progress, client=client)
    if out_dir is not None:
        proposal.write(out_dir)
    return proposal


@dataclass
class Study:
    """What :func:`run_study` produced and wrote."""

    coverage: CoverageResult
    sites: SiteProposal | None
    out_dir: Path
    map_html: Path | None = None
    report_html: Path | None = None
    files: list[Path] = field(default_factory=list)


def run_study(scenario_or_inputs, out_dir: str | Path, *, sites: bool = False,
              budget_sites: int | None = None, method: str | None = None,
              map_and_report: bool = True, progress: bool = False,
              allow_large: bool = False, client=None) -> Study:
    """The whole pipeline into one folder: coverage and KPIs, optionally site proposals,
    then map.html and report.html.

    Parameters
    ----------
    scenario_or_inputs : Scenario, Inputs, dict or path
    out_dir : path
        The run folder.
    sites : bool
        Also propose sites (``budget_sites`` / ``method`` override the scenario).
    map_and_report : bool
        Write map.html (offline, with its lib/ folder) and report.html / report.md.
    progress : bool
        Progress bars on stderr.
    allow_large : bool
        Go ahead even when the coverage run cannot fit in memory: by default the run is
        refused (:class:`covkit.errors.RunTooLargeError`) before the lock, the output folder
        and the inputs are touched (:func:`check_budget`).
    client : distributed.Client, optional
        The coverage run's path loss and fold on a Dask cluster (:func:`run`).

    The run's files (coverage, sites, map.html + lib/, report + figures) are one output set
    (:class:`covkit.outputs.RunCommit`): the folder's lock is taken first (a second run into
    the same folder is refused with :class:`covkit.outputs.OutputFolderBusy`), everything is
    staged in a hidden folder inside ``out_dir`` and put in place at once at the end. Files of
    an earlier run that this one does not write (e.g. the site files of an earlier
    ``covkit sites`` when ``sites`` is False) are removed; on any failure the folder keeps its
    earlier complete set.
    """
    out = Path(out_dir)
    subject, _ = check_budget(scenario_or_inputs, allow_large=allow_large, streamed=True)
    with RunCommit(out, replaces=RUN_SET, replace_previous=True,
                   tidy_new_folder=True) as commit:  # the lock first
        t0 = time.perf_counter()
        inputs = _inputs_of(subject)
        if sites:  # refuse bad overrides before the coverage run
            with_overrides(inputs.scenario, budget_sites, method)
        t_inputs = time.perf_counter() - t0
        coverage = run_coverage(inputs, progress=progress, started_s=time.perf_counter(),
                                client=client, out=commit)  # the budget is checked above
        coverage.summary["run_estimate"] = B.estimate_inputs(inputs, streamed=True).to_dict()
        coverage.summary["timings_s"] = {"load_inputs": round(t_inputs, 3),
                                         **coverage.summary["timings_s"]}
        coverage.write(commit)
        study = Study(coverage, None, out, files=list(coverage.files))
        if sites:
            study.sites = propose_sites(coverage, budget_sites=budget_sites, method=method,
                                        progress=progress, client=client)
            study.sites.write(commit)
            study.files += study.sites.files
        if map_and_report:
            study.map_html = write_map(out, inputs.scenario.path, commit=commit)
            study.report_html, _ = write_report(out, commit=commit)
    return study


RUN_SET = (F.COVERAGE_RASTERS + F.COVERAGE_TABLES + F.SITES_FILES + (F.MAP_HTML, F.MAP_LIB_DIR)
           + F.REPORT_FILES)
"""The files a whole run replaces (with the ``outputs`` of the folder's previous
``kpi_summary.json``)."""


def coverage_map(result: CoverageResult, proposal: SiteProposal | None = None, **kwargs):
    """A ``folium.Map`` of a coverage result (and proposed sites), built in memory.

    Keyword arguments go to :func:`covkit.maps.build_map`.
    """
    return maps.coverage_map(result, proposal, **kwargs)


# ----------------------------------------------------------------------------------------------
# synthetic networks


def synthetic_stations_for(scenario: Scenario | str | Path | dict, n_sites: int, *,
                           out: str | Path | None = None, **kwargs):
    """A synthetic network for a scenario's grid, population, DEM and townships
    (:func:`synthetic_stations`; its stations input is not read, it need not exist yet).

    Parameters
    ----------
    scenario : Scenario, dict or path to a scenario TOML file
    n_sites : int
        Sites over all operators.
    out : path, optional
        Also write the table there as CSV (atomically), e.g. the scenario's
        ``inputs.stations``.
    **kwargs
        ``operators``, ``seed``, ``bands``, ``mmwave_share``, ... of
        :func:`synthetic_stations`.

    Returns
    -------
    pandas.DataFrame
        One row per sector in the stations schema, ``synthetic`` True.
    """
    if not isinstance(scenario, Scenario):
        scenario = Scenario.from_dict(scenario) if isinstance(scenario, dict) else \
            load_scenario(scenario)
    grid, population, dem_m, zone = site_inputs(scenario)
    table = synthetic_stations(grid, population, dem_m, n_sites, zone=zone, **kwargs)
    if out is not None:
        write_csv(out, table)
    return table


SYNTHETIC_BANDS = tuple(BANDS)
"""Band names :func:`synthetic_stations` knows (``DEFAULT_BANDS`` unless told)."""
SYNTHETIC_DEFAULT_BANDS = DEFAULT_BANDS


# ----------------------------------------------------------------------------------------------
# single links


def point_losses(scenario: Scenario | str | Path, station_id: str, points_path: str | Path,
                 ) -> list[dict]:
    """Exact (reference) path loss from one station of a scenario to each point of a CSV.

    Uses the scenario's DEM (on its analysis grid), model and receiver height; the profile is
    the exact one from the station to each point
    (:func:`covkit.propagation.engine.reference_loss_db`).
    """
    scenario, grid, dem, stations = grid_dem_stations(scenario)
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
    settings = engine_settings(scenario, st["freq_mhz"])  # the model of its band
    loss = reference_loss_db(dem, grid.affine6, st["x_m"], st["y_m"], x, y,
                             st["height_m"], scenario.propagation.receiver_height_m,
                             st["freq_mhz"], settings, site_lat_deg=st["lat"],
                             coast_km=T.coast_raster(dem, grid.affine6, settings.model))
    lon, lat = loaders.xy_to_lonlat(x, y, sc.crs)
    return [{"station_id": str(station_id), "point": i + 1, "x_m": float(x[i]),
             "y_m": float(y[i]), "lon": float(lon[i]), "lat": float(lat[i]),
             "distance_m": float(np.hypot(x[i] - st["x_m"], y[i] - st["y_m"])),
             "model": settings.model, "loss_db": float(loss[i])}
            for i in range(len(x))]


# ----------------------------------------------------------------------------------------------
# measured data


Verification = VF.Verification
measurement_offsets = offsets_from_text
"""``["flat=4", "all=-1"]`` -> per-class offsets [dB] (:func:`synthetic_measurements`)."""


def load_measurements(inputs: Inputs, measurements):
    """A measurements table read and validated against loaded inputs
    (:func:`covkit.data.measurements.read_measurements`: the grid, the stations' operators,
    the DEM): a GeoDataFrame of test points in the working CRS; ``attrs["warnings"]``: the
    warnings issued while reading (e.g. points dropped off the grid)."""
    with loaders.collect_warnings() as issued:
        table = read_measurements(measurements, inputs.grid, inputs.stations.operators,
                                  dem_m=inputs.dem_m)
    table.attrs["warnings"] = list(issued)
    return table


def verify(scenario_or_result, measurements, *, out_dir: str | Path | None = None,
           progress: bool = False, allow_large: bool = False,
           client=None) -> VF.Verification:
    """Predicted vs measured RSRP at every test point: exact point-to-point and the run's
    raster, error statistics per operator, band, distance bin, terrain class and township,
    and the ARCEP-style reliability of the map (:mod:`covkit.coverage.verify`).

    Parameters
    ----------
    scenario_or_result : CoverageResult, Scenario, Inputs, dict or path to a scenario TOML
        A coverage result, or anything :func:`run` takes (coverage is computed first, with the
        per-operator grids verification reads). A result without per-operator grids is run
        again on its inputs with them.
    measurements : path or DataFrame / GeoDataFrame
        Test points (CSV, GeoParquet, GPKG; :mod:`covkit.data.measurements`).
    out_dir : path, optional
        Also write verify_summary.json, verify_points.csv, verify_errors.csv,
        verify_scatter.png, verify_points.geojson, verify_map.html (the coverage map with the
        test points and challenge hexagons) and the challenge hexagons
        (challenge_hexagons.parquet / .gpkg, challenge_summary.json) there (one set,
        atomically).
    progress, allow_large : bool
        As for :func:`run`.
    client : distributed.Client, optional
        The coverage run on a Dask cluster (see :func:`run`).

    Returns
    -------
    Verification
        ``points`` (GeoDataFrame per test point), ``errors`` (statistics per group),
        ``summary`` (``n_points``, ``mean_error_db`` = predicted minus measured, ``rmse_db``,
        ``reliability_share`` and its ``reliability_ci95``, ...), ``write(dir)``.

    Raises
    ------
    CovkitInputError
        A bad measurements table (file, column and row named), or bad scenario inputs.
    """
    result, table = _measured_run(scenario_or_result, measurements, progress, allow_large,
                                  client=client)
    verification = VF.verify(result, table)
    if out_dir is not None:
        verification.write(out_dir, map_html=verify_map(verification, result).get_root().render())
    return verification


def _measured_run(scenario_or_result, measurements, progress: bool, allow_large: bool,
                  client=None):
    """A coverage result with per-operator grids and the measurements read against it (the
    file is checked before coverage is run)."""
    result = scenario_or_result
    if not isinstance(result, CoverageResult):
        t0 = time.perf_counter()
        subject, _ = check_budget(result, allow_large=allow_large, operator_grids=True)
        inputs = _inputs_of(subject)
        table = load_measurements(inputs, measurements)  # refuse a bad file before running
        result = run_coverage(inputs, progress=progress, started_s=t0, operator_grids=True,
                              client=client)
    else:
        table = load_measurements(result.inputs, measurements)
        if result.rsrp_best_by_operator_dbm is None:
            result = run_coverage(result.inputs, progress=progress, operator_grids=True,
                                  client=client)
    return result, table


Calibration = CAL.Calibration


def calibrate(scenario_or_result, measurements, *, out_dir: str | Path | None = None,
              block_km: float = CAL.DEFAULT_BLOCK_KM, folds: int = CAL.DEFAULT_FOLDS,
              fit_slope: bool = True, min_points_per_class: int = CAL.DEFAULT_MIN_POINTS,
              noise_db: float = 0.0, seed: int = 0, classes=None, progress: bool = False,
              allow_large: bool = False, client=None) -> CAL.Calibration:
    """Fit model corrections to measurements: an RSRP offset per terrain class, a distance
    slope and the location-variability sigma, by least squares on measured - predicted at
    the test points (the exact point prediction of :func:`verify`), with spatial-block
    cross-validation (:mod:`covkit.coverage.calibration`).

    Parameters
    ----------
    scenario_or_result : CoverageResult, Scenario, Inputs, dict or path to a scenario TOML
        As for :func:`verify` (coverage is run first, as ``covkit verify`` does).
    measurements : path or DataFrame / GeoDataFrame
        Test points with ``rsrp_dbm`` (:mod:`covkit.data.measurements`).
    out_dir : path, optional
        Also write calibration_summary.json, calibration_cv.csv and scenario_calibrated.toml
        there (one set, atomically; :meth:`Calibration.write`).
    block_km : float
        Side of the square cross-validation blocks [km] (> 0; default 2).
    folds : int
        Cross-validation folds (>= 2; default 5).
    fit_slope : bool
        Fit the distance slope too (default True).
    min_points_per_class : int
        Fewest points a terrain class needs for its offset to be fitted.
    noise_db : float
        Known measurement noise [dB], taken out of the fitted sigma (default 0: kept in).
    seed : int
        Seed of the blocks' assignment to folds.
    classes : iterable of str, optional
        Terrain classes to fit (default: sea, flat, hilly, mountain).
    progress, allow_large : bool
        As for :func:`run`.
    client : distributed.Client, optional
        The coverage run on a Dask cluster (see :func:`run`).

    Returns
    -------
    Calibration
        ``offsets_db``, ``slope_db_per_decade``, ``sigma_db`` and their standard errors,
        ``n_per_class``, ``cv`` (RMSE before / after per held-out fold and overall),
        ``to_scenario_keys()``, ``summary()``, ``write(dir)``.

    Raises
    ------
    CovkitInputError
        Bad options, a bad measurements table, too few points with a measured RSRP.
    """
    opts = {"min_points_per_class": min_points_per_class, "noise_db": noise_db,
            "block_km": block_km, "folds": folds,
            **({} if classes is None else {"classes": tuple(classes)})}
    CAL.check_options(**opts)
    result, table = _measured_run(scenario_or_result, measurements, progress, allow_large,
                                  client=client)
    points = VF.verify_points(result, table)
    fitted = CAL.fit_calibration(points, fit_slope=fit_slope, seed=seed,
                                 scenario=result.scenario, **opts)
    if out_dir is not None:
        fitted.write(out_dir)
    return fitted


def verify_map(verification: VF.Verification, result: CoverageResult):
    """The coverage map of a verified run with its test points (coloured by predicted minus
    measured) and, when there are any, the challenge hexagons (``verify_map.html`` of
    ``covkit verify``; offline, the web libraries inline)."""
    return maps.coverage_map(result, measurements=verification.points,
                             challenges=verification.hexagons)


def synthetic_measurements(scenario_or_inputs, *, out: str | Path | None = None,
                           include_truth: bool = False, **kwargs) -> SyntheticMeasurements:
    """Measurements generated from a known truth: the scenario's exact point predictions plus
    known per-terrain-class offsets, Gudmundson-correlated log-normal shadowing, measurement
    noise and GPS error, along random routes and at random places
    (:func:`covkit.coverage.fieldsim.synthetic_measurements`; no coverage run is needed).

    Parameters
    ----------
    scenario_or_inputs : Scenario, Inputs, dict or path
    out : path, optional
        Also write the measurements there (.csv, .parquet, .gpkg) and the truth beside it
        (``NAME.truth.json``: seed, offsets, sigma, decorrelation, noise, GPS error, routes).
    include_truth : bool
        Write the per-point truth columns into the file too.
    **kwargs
        ``seed``, ``n_route``, ``n_random``, ``n_routes``, ``offsets_db``, ``sigma_db``,
        ``decorrelation_m``, ``noise_db``, ``gps_error_m``, ``operators``.

    Returns
    -------
    SyntheticMeasurements
        ``table`` (GeoDataFrame with the truth columns) and ``truth`` (dict).
    """
    inputs = _inputs_of(scenario_or_inputs)
    made = generate_measurements(inputs, **kwargs)
    if out is not None:
        made.write(out, include_truth=include_truth)
    return made
