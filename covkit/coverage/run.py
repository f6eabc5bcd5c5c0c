"""The coverage run: stations -> radio layers -> coverage layers -> KPIs (``covkit run``).

:func:`run_coverage` streams over sites (one path-loss computation per site and distinct
carrier frequency, folded into running grids: :mod:`covkit.coverage.layers`), derives SINR,
coverage probability, coverage per operator and for any operator, optional throughput and speed
tiers, and computes the regulator KPIs (:mod:`covkit.coverage.summary`) with their provenance
(:mod:`covkit.coverage.files`).
"""

from __future__ import annotations

import time
import warnings

import geopandas as gpd
import numpy as np

from covkit.coverage import kpi as K
from covkit.coverage.distributed import compute_layers_distributed
from covkit.coverage.files import StreamedRasters, provenance
from covkit.coverage.layers import compute_layers
from covkit.coverage.result import CoverageResult
from covkit.coverage.summary import METHOD, compute_kpis, village_table
from covkit.data.inputs import Inputs
from covkit.data.loaders import warn
from covkit.errors import CovkitInputError
from covkit.outputs import RunCommit


def run_coverage(inputs: Inputs, *, progress: bool = False,
                 started_s: float | None = None, client=None,
                 operator_grids: bool = False, out: RunCommit | None = None) -> CoverageResult:
    """Coverage layers and KPIs of loaded inputs.

    Parameters
    ----------
    inputs : Inputs
        From :func:`covkit.load_inputs`.
    progress : bool
        Show a progress bar over sites on stderr.
    started_s : float, optional
        ``time.perf_counter()`` when the run started (e.g. before loading the inputs), for
        ``run_seconds``; default: now.
    client : distributed.Client, optional
        Compute the path loss and the fold of the sites on this Dask cluster's workers
        (:mod:`covkit.coverage.distributed`); default: the threads of this process.
    operator_grids : bool
        Also keep the best RSRP and the coverage of each operator on the whole grid
        (``CoverageResult.rsrp_best_by_operator_dbm`` and ``covered_by_operator``: one
        float32 and one bool grid per operator more). Without it the KPIs are the same
        (summed band by band) and ``covered_by_operator`` is computed on first access.
    out : covkit.outputs.RunCommit, optional
        The output set of the run folder: the fold writes each closed band's rows of the
        coverage rasters into it as it goes (:class:`covkit.coverage.files.StreamedRasters`)
        instead of holding the rasters whole; :func:`covkit.coverage.files.write_coverage`
        into the same set then makes them COGs. The result reads them back on first access.

    Returns
    -------
    CoverageResult

    Raises
    ------
    CovkitInputError
        When townships overlap, or no grid cell lies within reach of any station.
    """
    t0 = time.perf_counter() if started_s is None else started_s
    scenario = inputs.scenario
    tw = inputs.townships
    K.check_inputs(inputs)
    run_warnings: list[str] = list(inputs.warnings)
    if tw.population_outside_townships > 0:
        msg = (f"{tw.population_outside_townships:,.1f} people lie outside every township "
               "(gaps between township polygons or grid beyond them); they count in the "
               "national totals and are reported as population_outside_townships")
        run_warnings.append(msg)
        warn(msg)

    t_layers = time.perf_counter()
    rows = None if out is None else StreamedRasters(
        out, inputs.grid, scenario.scenario.name, scenario.coverage.throughput == "shannon")
    if client is None:
        radio, layers = compute_layers(inputs, progress=progress, operator_grids=operator_grids,
                                       rows=rows)
    else:
        radio, layers = compute_layers_distributed(inputs, client, progress=progress,
                                                   operator_grids=operator_grids, rows=rows)
    t_kpis = time.perf_counter()
    if radio.cells_computed == 0:
        raise CovkitInputError(
            f"no grid cell lies within propagation.max_radius_km = "
            f"{scenario.propagation.max_radius_km:g} km of any station on known terrain",
            file=inputs.stations.source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        df, summary = compute_kpis(inputs, radio, layers)
        vdf = village_table(inputs, df, layers)
    t_end = time.perf_counter()
    summary = {**summary, **provenance(inputs, radio, layers, run_warnings, METHOD,
                                       t_end - t0)}
    summary["timings_s"] = {"inputs_and_checks": round(t_layers - t0, 3),
                            "path_loss_and_fold": round(t_kpis - t_layers, 3),
                            "kpis": round(t_end - t_kpis, 3)}
    townships = gpd.GeoDataFrame(df, geometry=np.asarray(tw.gdf.geometry.values),
                                 crs=inputs.grid.crs)
    villages = None if vdf is None else gpd.GeoDataFrame(
        vdf, geometry=np.asarray(inputs.villages.gdf.geometry.values), crs=inputs.grid.crs)
    rasters = {} if rows is not None else {
        "rsrp_best_dbm": radio.best_dbm, "rsrp_second_dbm": radio.second_dbm,
        "best_server": radio.server, "sinr_db": layers.sinr_db,
        "coverage_probability": layers.coverage_probability,
        "throughput_dl_mbps": layers.throughput_dl_mbps}
    return CoverageResult(scenario, inputs.grid, layers.covered, townships, summary,
                          rasters=rasters, raster_files={} if rows is None else rows.files,
                          inputs=inputs, villages=villages, rsrp_best_by_operator_dbm=None if
                          radio.op_best_dbm is None else dict(zip(radio.operators,
                                                                  radio.op_best_dbm,
                                                                  strict=True)),
                          operator_covered=layers.covered_by_operator if operator_grids
                          else None)
