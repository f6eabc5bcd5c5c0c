"""Provenance of a coverage run and the files it writes.

:func:`provenance` is what a run records beside its figures (version, grid, stations, every
parameter, each input's path, size and sha256, run time); :func:`write_coverage` writes the run
folder's coverage files (names in :mod:`covkit.runfolder`) as one set
(:class:`covkit.outputs.RunCommit`: all or none, under the folder's lock).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pandas as pd

from covkit import runfolder as F
from covkit.data.bands import models_by_band
from covkit.outputs import RunCommit
from covkit.version import __version__


def file_info(path: Path | str | list | None) -> dict | list | None:
    """``{"path", "bytes", "sha256"}`` of an input file; ``{"path": label, "bytes": None,
    "sha256": None}`` for an in-memory input; a list of them for several files (DEMs); None
    when not given."""
    if path is None:
        return None
    if isinstance(path, list | tuple):
        return [file_info(p) for p in path]
    if isinstance(path, str) and path.startswith("<in-memory"):
        return {"path": path, "bytes": None, "sha256": None}
    path = Path(path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": h.hexdigest()}


def provenance(inputs, radio, layers, run_warnings: list[str], method: dict,
               run_seconds: float) -> dict:
    """What a run records beside its figures (the keys after the KPIs in kpi_summary.json)."""
    scenario = inputs.scenario
    grid = inputs.grid
    return {
        "covkit_version": __version__,
        "grid": {"crs": grid.crs, "resolution_m": grid.resolution_m, "width": grid.width,
                 "height": grid.height, "bounds": list(grid.bounds)},
        "stations": {"sectors": len(inputs.stations.table), "sites": inputs.stations.n_sites,
                     "site_frequency_groups": radio.n_groups, "operators": radio.operators,
                     "synthetic_sites": inputs.stations.synthetic_sites},
        "stations_synthetic": inputs.stations.synthetic_sites > 0,
        "models_by_band": models_by_band(scenario.propagation, inputs.stations.table),
        "cells_computed": int(radio.cells_computed),
        "pixel_evaluations": int(radio.pixel_evaluations),
        "required_median_rsrp_dbm": layers.required_median_dbm,
        "warnings": run_warnings,
        "method": method,
        "parameters": scenario.to_dict(),
        "input_files": {k: file_info(inputs.sources.get(k)) for k in
                        ("dem", "stations", "population", "townships", "fibre", "trails",
                         "candidates", "villages") if k != "villages" or
                        inputs.sources.get(k) is not None},
        "scenario_file": None if scenario.path is None else str(scenario.path),
        "run_seconds": round(run_seconds, 2),
    }


def best_server_legend(stations_table: pd.DataFrame) -> pd.DataFrame:
    """The value -> sector table of ``best_server.tif``."""
    st = stations_table
    out = pd.DataFrame({"value": np.arange(len(st)), "station_id": st["station_id"],
                        "site_id": st["site_id"], "operator": st["operator"],
                        "freq_mhz": st["freq_mhz"], "tech": st["tech"]})
    if "model" in st.columns:  # the path-loss model of each sector's band
        out["model"] = st["model"].to_numpy()
    return out


def covered_u8(covered: np.ndarray, computed: np.ndarray) -> np.ndarray:
    """``covered`` as uint8: 1 covered, 0 not, 255 where no sector was computed."""
    return np.where(computed, covered.astype(np.uint8), np.uint8(255))


RASTERS = (
    # attribute of the result, file, element type, nodata, what (the layer tag), unit
    ("rsrp_best_dbm", F.RSRP_BEST, "float32", np.nan, "best RSRP over all sectors", "dBm"),
    ("rsrp_second_dbm", F.RSRP_SECOND, "float32", np.nan, "second-best RSRP over all sectors",
     "dBm"),
    ("best_server", F.BEST_SERVER, "int32", -1,
     "best server: 0-based row of the stations table (best_server.csv)", ""),
    ("sinr_db", F.SINR, "float32", np.nan, "SINR of the best server", "dB"),
    ("coverage_probability", F.COVERAGE_PROBABILITY, "float32", np.nan,
     "P(best RSRP >= threshold) under log-normal shadowing", "0-1"),
    ("covered", F.COVERED, "uint8", 255, "1 = covered by at least one operator, 0 = not", ""),
    ("throughput_dl_mbps", F.THROUGHPUT_DL, "float32", np.nan,
     "best downlink throughput over operators (attenuated Shannon)", "Mbit/s"),
)
"""The coverage rasters of a run folder, in the order they are written: the result's attribute
(``covered`` as :func:`covered_u8`; ``throughput_dl_mbps`` only with throughput), file name,
element type, nodata, the ``layer`` tag and the ``unit`` tag."""


def raster_tags(scenario_name: str, what: str, unit: str) -> dict:
    """The tags of a coverage raster."""
    return {"scenario": scenario_name, "layer": what, "unit": unit, "producer": "covkit run"}


class StreamedRasters:
    """The ``rows`` sink of a fold (:func:`covkit.coverage.layers.compute_layers`) that writes
    each closed band's rows of the coverage rasters (:data:`RASTERS`) into a run's output set
    at once (:meth:`covkit.outputs.RunCommit.row_raster`), so that no float result raster is
    held for the whole grid; ``files`` maps each attribute to its
    :class:`~covkit.outputs.RowRaster` (made a COG by :func:`write_coverage`, read back by
    :class:`covkit.coverage.result.CoverageResult` on first access).
    """

    def __init__(self, out: RunCommit, grid, scenario_name: str, throughput: bool):
        self.files = {}
        for attr, name, dtype, nodata, what, unit in RASTERS:
            if attr == "throughput_dl_mbps" and not throughput:
                continue
            self.files[attr] = out.row_raster(name, grid, dtype, nodata,
                                              raster_tags(scenario_name, what, unit), attr)

    def put(self, r0: int, r1: int, rows: dict[str, np.ndarray]) -> None:
        for attr, raster in self.files.items():
            values = covered_u8(rows["covered"], np.isfinite(rows["rsrp_best_dbm"])) \
                if attr == "covered" else rows[attr]
            raster.write(r0, values)


COVERAGE_SET = F.COVERAGE_RASTERS + F.COVERAGE_TABLES + F.SITES_FILES
"""What a coverage write replaces: its own files and the site proposals made from an earlier
coverage (they would describe another run)."""


def write_coverage(out_dir: Path | str | RunCommit, result) -> tuple[list[Path], dict]:
    """Write a coverage result's files into ``out_dir`` as one set.

    ``out_dir`` is a folder (the files are committed there at once, :class:`RunCommit`) or the
    :class:`RunCommit` of a whole run to stage them into. Returns the files written and the
    summary as written (with its ``outputs`` list). A file of an earlier run that this one did
    not produce (e.g. the throughput raster with throughput off, or the site proposals of an
    earlier ``covkit sites``) is removed at the commit, so no stale file stays beside the new
    ones.
    """
    if isinstance(out_dir, RunCommit):
        return _stage_coverage(out_dir, result)
    with RunCommit(out_dir, replaces=COVERAGE_SET) as out:
        files, summary = _stage_coverage(out, result)
    return files, summary


def _stage_coverage(out: RunCommit, result) -> tuple[list[Path], dict]:
    grid = result.grid
    name = result.scenario.scenario.name
    townships = result.townships
    table = pd.DataFrame(townships.drop(columns=townships.geometry.name))
    first = len(out.files)
    t0 = time.perf_counter()
    streamed = getattr(result, "raster_files", None) or {}
    for attr, file, _dtype, nodata, what, unit in RASTERS:
        rows = streamed.get(attr)
        if rows is not None and rows.commit is out and not rows.done:
            rows.finish()  # written band by band into this set: made a COG now
            continue
        if attr == "covered":
            values = covered_u8(result.covered, np.isfinite(result.rsrp_best_dbm))
        else:
            values = getattr(result, attr)
            if values is None:  # no throughput
                continue
        out.cog(file, values, grid, nodata, raster_tags(name, what, unit), attr)
        del values
    codes = result.scenario.outputs.csv_codes
    out.csv(F.BEST_SERVER_LEGEND, best_server_legend(result.inputs.stations.table), codes)
    out.csv(F.KPI_TOWNSHIPS_CSV, table, codes)
    out.gpkg(F.KPI_TOWNSHIPS_GPKG, townships, layer="kpi_townships")
    out.geoparquet(F.KPI_TOWNSHIPS_PARQUET, townships)
    villages = getattr(result, "villages", None)
    if villages is not None:
        out.csv(F.KPI_VILLAGES_CSV, pd.DataFrame(villages.drop(columns=villages.geometry.name)))
        out.gpkg(F.KPI_VILLAGES_GPKG, villages, layer="kpi_villages")
        out.geoparquet(F.KPI_VILLAGES_PARQUET, villages)
    summary = dict(result.summary)
    if "timings_s" in summary:
        summary["timings_s"] = {**summary["timings_s"],
                                "write_outputs": round(time.perf_counter() - t0, 3)}
    summary["outputs"] = [p.name for p in out.files[first:]] + [F.KPI_SUMMARY]
    out.json(F.KPI_SUMMARY, summary)
    return out.files[first:], summary
