"""What a coverage run returns: rasters, the township table and the KPI summary, in the
ecosystem's own types (:meth:`CoverageResult.to_xarray`, a GeoDataFrame of townships)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import rioxarray  # noqa: F401 - registers the .rio accessor used by to_xarray
import xarray as xr

from covkit.config import Scenario
from covkit.coverage.files import covered_u8, write_coverage
from covkit.coverage.layers import compute_layers
from covkit.data.grid import Grid
from covkit.outputs import RowRaster

_LAYERS = (
    # attribute, variable, long name, unit, nodata
    ("rsrp_best_dbm", "rsrp_best_dbm", "best RSRP over all sectors", "dBm", np.nan),
    ("rsrp_second_dbm", "rsrp_second_dbm", "second-best RSRP over all sectors", "dBm", np.nan),
    ("best_server", "best_server", "best server: 0-based row of the stations table", "", -1),
    ("sinr_db", "sinr_db", "SINR of the best server", "dB", np.nan),
    ("coverage_probability", "coverage_probability",
     "P(best RSRP >= threshold) under log-normal shadowing", "1", np.nan),
    ("throughput_dl_mbps", "throughput_dl_mbps",
     "best downlink throughput over operators (attenuated Shannon)", "Mbit/s", np.nan),
)


class _Raster:
    """A raster attribute of :class:`CoverageResult`: the array of ``rasters``, or read on
    first access from the file the run wrote its rows to band by band (``raster_files``), then
    held in ``rasters``."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        value = obj.rasters.get(self.name)
        if value is None and self.name in obj.raster_files:
            value = obj.rasters[self.name] = obj.raster_files[self.name].read()
        return value

    def __set__(self, obj, value):
        obj.rasters[self.name] = value


RASTER_ATTRIBUTES = tuple(layer[0] for layer in _LAYERS)
"""The raster attributes of :class:`CoverageResult` besides ``covered``."""


@dataclass
class CoverageResult:
    """Everything a coverage run produced.

    A run with an output folder (``covkit run``, ``covkit.run(..., out_dir=...)``) writes the
    rows of its rasters into the folder's files band by band as the fold goes and does not hold
    them: each raster attribute (``rsrp_best_dbm`` ... ``throughput_dl_mbps``) is then read
    from its file on first access (the staged file while the run's output set is still being
    written, the COG in the run folder once it is committed; a later run into the same folder
    replaces those files) and held from then on. A run without an output folder holds them
    from the start. ``covered`` is always held.

    Attributes
    ----------
    scenario : Scenario
    grid : Grid
        The analysis grid (working CRS, north-up).
    rsrp_best_dbm, rsrp_second_dbm : 2-D float32 arrays
        Best and second-best RSRP [dBm] (NaN: no sector within reach).
    best_server : 2-D int32 array
        Stations-table row of the best server (-1: none).
    sinr_db : 2-D float32 array
        SINR of the best server [dB].
    coverage_probability : 2-D float32 array
        P(best RSRP >= threshold) under log-normal shadowing [0-1].
    covered : 2-D bool array
        Covered by at least one operator.
    covered_by_operator : dict of str -> 2-D bool array
        Covered by each operator (a property). Held from the run when it was asked for
        per-operator grids (``covkit.run(..., operator_grids=True)``, as ``covkit verify``
        does); else computed on first access, by a second fold over all sites on this machine
        with per-operator grids (about as long as the run's own fold), and kept. The run's
        KPIs never need it: they are summed band by band as the fold goes.
    throughput_dl_mbps : 2-D float32 array or None
        Best downlink throughput [Mbit/s] (None with ``coverage.throughput = "none"``).
    townships : GeoDataFrame
        One row per township: every KPI column and the polygon (working CRS).
    summary : dict
        The KPI summary (``kpi_summary.json``).
    files : list of Path
        Files written by :meth:`write` (empty until then).
    inputs : covkit.data.inputs.Inputs
        The inputs the run used.
    villages : GeoDataFrame or None
        Village mode (``inputs.villages``): one row per village, the columns of
        ``kpi_villages.csv`` and the polygon (working CRS).
    rasters : dict of str -> 2-D array
        The raster attributes held (:data:`RASTER_ATTRIBUTES`; ``throughput_dl_mbps`` None
        without throughput).
    raster_files : dict of str -> covkit.outputs.RowRaster
        The files the run wrote its rasters to band by band (also ``covered``, as
        ``covered.tif``); empty for a run without an output folder.
    rsrp_best_by_operator_dbm : dict of str -> 2-D float32 array, or None
        Best RSRP [dBm] of each operator's sectors (NaN: none within reach); only when the run
        was asked for it (``run_coverage(..., operator_grids=True)``, as ``covkit verify``
        does), else None.
    operator_covered : dict of str -> 2-D bool array, or None
        What :attr:`covered_by_operator` returns once held: the run's own per-operator
        coverage (``operator_grids=True``) or the one computed on first access; None until
        then.
    """

    scenario: Scenario
    grid: Grid
    covered: np.ndarray
    townships: gpd.GeoDataFrame
    summary: dict
    rasters: dict[str, np.ndarray | None] = field(default_factory=dict, repr=False)
    raster_files: dict[str, RowRaster] = field(default_factory=dict, repr=False)
    files: list[Path] = field(default_factory=list)
    inputs: object = field(default=None, repr=False)
    villages: gpd.GeoDataFrame | None = None
    rsrp_best_by_operator_dbm: dict[str, np.ndarray] | None = field(default=None, repr=False)
    operator_covered: dict[str, np.ndarray] | None = field(default=None, repr=False)

    rsrp_best_dbm = _Raster()
    rsrp_second_dbm = _Raster()
    best_server = _Raster()
    sinr_db = _Raster()
    coverage_probability = _Raster()
    throughput_dl_mbps = _Raster()

    @property
    def covered_by_operator(self) -> dict[str, np.ndarray]:
        """Covered by each operator (bool grid per operator, in the stations' operator
        order): the run's own when it kept them, else computed now by a second fold with
        per-operator grids (:func:`covkit.coverage.layers.compute_layers`) and kept in
        :attr:`operator_covered`."""
        if self.operator_covered is None:
            if self.inputs is None:
                raise ValueError("covered_by_operator: this result holds no per-operator "
                                 "coverage and no inputs to compute it from; run with "
                                 "operator_grids=True")
            _, layers = compute_layers(self.inputs, operator_grids=True)
            self.operator_covered = layers.covered_by_operator
        return self.operator_covered

    def to_xarray(self, operators: bool | None = None) -> xr.Dataset:
        """The rasters as an ``xarray.Dataset`` on the analysis grid.

        Dimensions ``y`` (north to south) and ``x`` (cell centres [m] in the working CRS);
        the CRS and transform in a ``spatial_ref`` coordinate (the CF / rioxarray convention),
        so ``ds.rsrp_best_dbm.rio.to_raster("rsrp.tif")`` writes a GeoTIFF. Variables:
        ``rsrp_best_dbm``, ``rsrp_second_dbm``, ``best_server``, ``sinr_db``,
        ``coverage_probability``, ``throughput_dl_mbps`` (when computed), ``covered``
        (uint8: 1 covered, 0 not, 255 not computed) and ``covered_by_operator`` (the same per
        operator, dimension ``operator``): by default (``operators=None``) when the result
        holds it (a run with ``operator_grids=True``, or after :attr:`covered_by_operator` was
        read); ``operators=True`` computes it by a second fold when it is not held (see
        :attr:`covered_by_operator`), ``False`` leaves it out. Each has
        ``units``, ``long_name`` and its nodata value in ``_FillValue``; ``ds.attrs`` holds the
        scenario name and the headline KPIs.
        """
        g = self.grid
        xs, ys = g.cell_centres()
        coords = {"y": ("y", ys, {"units": "m", "axis": "Y"}),
                  "x": ("x", xs, {"units": "m", "axis": "X"})}
        ds = xr.Dataset(coords=coords)
        computed = np.isfinite(self.rsrp_best_dbm)
        for attr, var, long_name, unit, nodata in _LAYERS:
            arr = getattr(self, attr)
            if arr is None:
                continue
            ds[var] = (("y", "x"), arr, {"long_name": long_name, "units": unit})
            ds[var] = ds[var].rio.write_nodata(nodata, encoded=False)
        ds["covered"] = (("y", "x"), covered_u8(self.covered, computed),
                         {"long_name": "covered by at least one operator (1), not (0)",
                          "units": "1"})
        ds["covered"] = ds["covered"].rio.write_nodata(255, encoded=False)
        if operators is None:
            operators = self.operator_covered is not None
        ops = list(self.covered_by_operator) if operators else []
        if ops:
            stack = np.stack([covered_u8(self.covered_by_operator[o], computed) for o in ops])
            ds = ds.assign_coords(operator=("operator", ops))
            ds["covered_by_operator"] = (("operator", "y", "x"), stack,
                                         {"long_name": "covered by the operator (1), not (0)",
                                          "units": "1"})
            ds["covered_by_operator"] = ds["covered_by_operator"].rio.write_nodata(
                255, encoded=False)
        ds = ds.rio.write_crs(g.crs).rio.write_transform(g.transform)
        ds = ds.rio.set_spatial_dims(x_dim="x", y_dim="y")
        s = self.summary
        ds.attrs.update({
            "title": f"covkit coverage: {self.scenario.scenario.name}",
            "scenario": self.scenario.scenario.name,
            "population_coverage_pct": s.get("population_coverage_pct"),
            "non_remote_population_coverage_pct": s.get("non_remote_population_coverage_pct"),
            "required_median_rsrp_dbm": s.get("required_median_rsrp_dbm"),
            "covkit_version": s.get("covkit_version"),
        })
        ds.attrs = {k: v for k, v in ds.attrs.items() if v is not None}
        return ds

    def write(self, out_dir: Path | str) -> list[Path]:
        """Write the run folder's coverage files (COG rasters, best_server.csv,
        kpi_townships.csv / .gpkg, kpi_summary.json) into ``out_dir`` as one set; returns
        them. ``summary`` gains the ``outputs`` list."""
        self.files, self.summary = write_coverage(out_dir, self)
        return self.files
