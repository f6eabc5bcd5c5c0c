"""Village (村里) polygons for village mode: population coverage per village, as NCC checks
remote-area base stations.

:func:`load_villages` reads the village polygons (``inputs.villages``), validates them like
townships (unique codes, polygons, every village's township among the loaded townships) and
finds which village each cell's people belong to, with the same membership mechanism the
townships use (:class:`covkit.data.fractions.ZoneParts`):

- when the population polygons carry village codes (``village_id`` or ``VILLCODE``, as the
  ``population.gpkg`` of ``covkit scenario taiwan`` does), a village's people are the people of
  its own polygons: exactly its registered count (population polygons with no village code,
  such as people of merged villages folded into their township, belong to no village);
- otherwise (a population raster, polygons without village codes) each cell's people are
  split between the villages overlapping it by exact area fraction (exactextract), as for
  townships.

A village is remote by the 2024 universal-service rule when its population density is below
``coverage.remote_density_ratio`` (one fifth) of the national density the township rule used
(:func:`covkit.data.remote.remote_villages`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from covkit.data import loaders
from covkit.data import remote as remote_rule
from covkit.data.fractions import (
    ZoneParts,
    cell_fractions,
    zone_parts_from_fractions,
)
from covkit.data.grid import Grid
from covkit.errors import CovkitInputError

VILLCODE_DIGITS = 11
TOWNCODE_DIGITS = 8
"""Taiwan's codes: an 11-digit VILLCODE is the 8-digit TOWNCODE and 3 digits."""
VILLAGE_ID_COLUMNS = ("village_id", "VILLCODE")
"""Columns holding a village's code, in the order looked for."""
VILLAGE_NAME_COLUMNS = ("name", "VILLNAME")
PARTS_BY_VILLAGE_CODE = ("population polygons carry their village code: each village's people "
                         "are its polygons' people (its registered count exactly)")
PARTS_BY_VILLAGE_AREA = ("cell people split by exact area fraction of the village polygons "
                         "overlapping the cell (exactextract)")


@dataclass(frozen=True)
class Villages:
    """Village polygons, their people and the remote-village rule.

    Attributes
    ----------
    table : DataFrame
        village_id, name, township_id, township_name, county, area_km2 (polygon area in the
        working CRS), population (people on the grid belonging to the village),
        density_per_km2, remote_village.
    gdf : GeoDataFrame
        The polygons in the working CRS (row order of ``table``).
    parts : ZoneParts
        The exact membership of the grid's people in villages.
    township_index : int64 array
        Per village, its row in the townships table.
    source : path or label
    rule : dict
        The remote-village rule's basis: ratio, national density and its source, threshold.
    population_outside_villages : float
        People of the grid in no village.
    """

    table: pd.DataFrame
    gdf: object
    parts: ZoneParts
    township_index: np.ndarray
    source: Path | str
    rule: dict
    population_outside_villages: float

    def village_sums(self, values: np.ndarray) -> tuple[np.ndarray, float]:
        """A per-cell quantity proportional to the cell's people summed per village and
        outside every village."""
        return self.parts.sums(values, len(self.table))


def _village_codes(gdf, path) -> tuple[str, np.ndarray]:
    col = next((c for c in VILLAGE_ID_COLUMNS if c in gdf.columns), None)
    if col is None:
        raise CovkitInputError(
            "villages file has no village code column (village_id or VILLCODE; map another "
            f"with inputs.village_columns; found: {', '.join(map(str, gdf.columns))})",
            file=path, column="village_id")
    return col, loaders.unique_ids(gdf, col, path)


def _township_codes(gdf, codes: np.ndarray, code_col: str, path) -> np.ndarray:
    """Each village's township code: the ``township_id`` column, else (11-digit VILLCODEs)
    the first 8 digits of the village code."""
    if "township_id" in gdf.columns:
        raw = gdf["township_id"]
        empty = (raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
        if empty.any():
            raise CovkitInputError("township code is empty", file=path, column="township_id",
                                   row=int(np.flatnonzero(empty)[0]) + 1)
        return raw.astype(str).str.strip().to_numpy(dtype=object)
    digits = np.array([len(c) == VILLCODE_DIGITS and c.isdigit() for c in codes])
    if not digits.all():
        i = int(np.flatnonzero(~digits)[0])
        raise CovkitInputError(
            f"village code {codes[i]!r} is not an 11-digit VILLCODE and the file has no "
            "township_id column: give each village's township code (township_id, or map one "
            "with inputs.village_columns)", file=path, column=code_col, row=i + 1)
    return np.array([c[:TOWNCODE_DIGITS] for c in codes], dtype=object)


def village_parts(population: loaders.Population | None, codes: np.ndarray, geoms,
                  grid: Grid) -> ZoneParts:
    """The membership of the grid's people in villages: by the village code the population
    polygons carry (``village_id`` or ``VILLCODE``), else by exact area fraction."""
    n_cells = grid.height * grid.width
    parts = loaders.parts_by_code(population, codes, VILLAGE_ID_COLUMNS, grid, "village",
                                  warn_empty=False)
    if parts is not None:
        return ZoneParts(parts.cell, parts.zone, parts.share, PARTS_BY_VILLAGE_CODE)
    parts = zone_parts_from_fractions(cell_fractions(geoms, grid), n_cells)
    return ZoneParts(parts.cell, parts.zone, parts.share, PARTS_BY_VILLAGE_AREA)


def national_basis(townships: loaders.Townships,
                   options: remote_rule.RemoteOptions | None) -> dict:
    """The national density and ratio the remote-village rule uses: those of the township
    rule (``Townships.remote_rule``), else the scenario's national keys
    (:class:`~covkit.data.remote.RemoteOptions`), else the loaded townships'."""
    rule = townships.remote_rule or {}
    o = options or remote_rule.RemoteOptions()
    ratio = float(rule.get("density_ratio", o.density_ratio))
    if rule.get("national_density_per_km2"):
        density, source = float(rule["national_density_per_km2"]), \
            str(rule["national_density_source"])
    else:
        tw = townships.table
        nat = remote_rule.national_density(
            o.national_density_per_km2, o.national_population, o.national_area_km2,
            loaded_population=float(tw["population"].sum()),
            loaded_area_km2=float(tw["area_km2"].sum()))
        density, source = nat.density_per_km2, nat.source
    return {"density_ratio": ratio, "national_density_per_km2": density,
            "national_density_source": source, "threshold_density_per_km2": ratio * density}


def load_villages(path, grid: Grid, population: np.ndarray, townships: loaders.Townships, *,
                  columns: dict[str, str] | None = None,
                  population_source: loaders.Population | None = None,
                  remote: remote_rule.RemoteOptions | None = None) -> Villages:
    """Read village polygons, find their people and classify remote villages.

    Parameters
    ----------
    path : path or GeoDataFrame
        Village polygons with a code (``village_id`` or ``VILLCODE``), optional ``name`` (or
        ``VILLNAME``) and the township code (``township_id``, or the first 8 digits of an
        11-digit VILLCODE).
    grid : Grid
    population : float64 grid, people per cell
    townships : Townships
        Every village's township must be among them.
    columns : dict, optional
        covkit column name -> the file's (``inputs.village_columns``).
    population_source : Population, optional
        The population polygons, for the membership by code.
    remote : RemoteOptions, optional
        The national keys, when the township rule recorded no national density.

    Raises
    ------
    CovkitInputError
        Naming the file, column and row: no polygons, duplicate or empty codes, a village whose
        township is not among the townships.
    """
    gdf, path = loaders.read_polygon_table(path, "villages", columns, "inputs.village_columns")
    code_col, codes = _village_codes(gdf, path)
    town = _township_codes(gdf, codes, code_col, path)
    tindex = {str(k): i for i, k in enumerate(townships.table["township_id"].to_numpy())}
    tpos = np.array([tindex.get(str(t), -1) for t in town], dtype=np.int64)
    if (tpos < 0).any():
        i = int(np.flatnonzero(tpos < 0)[0])
        raise CovkitInputError(
            f"village {codes[i]!r} lies in township {town[i]!r}, which is not among the "
            f"townships ({townships.source}); {int((tpos < 0).sum())} village(s) in all",
            file=path, column="township_id" if "township_id" in gdf.columns else code_col,
            row=i + 1)
    loaders.check_polygons(gdf, path)
    name_col = next((c for c in VILLAGE_NAME_COLUMNS if c in gdf.columns), None)
    names = gdf[name_col].fillna("").astype(str).to_numpy(dtype=object) if name_col \
        else np.full(len(gdf), "", dtype=object)
    gdf = gdf.to_crs(grid.crs).reset_index(drop=True)
    gdf = gdf.set_geometry(loaders.repair_polygons(gdf.geometry.values, codes, path,
                                                    "village"))
    parts = village_parts(population_source, codes, gdf.geometry.values, grid)
    n = len(gdf)
    pop, outside = parts.sums(population, n)
    area_km2 = gdf.geometry.area.to_numpy() / 1e6
    density = np.divide(pop, area_km2, out=np.zeros(n), where=area_km2 > 0)
    basis = national_basis(townships, remote)
    remote_v = remote_rule.remote_villages(np.maximum(pop, 0.0), area_km2,
                                           basis["national_density_per_km2"],
                                           basis["density_ratio"])
    tw = townships.table
    table = pd.DataFrame({
        "village_id": codes, "name": names, "township_id": town,
        "township_name": tw["name"].to_numpy(dtype=object)[tpos],
        "county": tw["county"].to_numpy(dtype=object)[tpos],
        "area_km2": area_km2, "population": pop, "density_per_km2": density,
        "remote_village": remote_v,
    })
    rule = {**basis, "method": (
        f"village population density below {basis['density_ratio']:g} x national density "
        f"{basis['national_density_per_km2']:,.2f} /km2 ({basis['national_density_source']}) "
        f"= {basis['threshold_density_per_km2']:,.2f} /km2 (2024 universal-service rule)")}
    return Villages(table, gdf, parts, tpos, path, rule, max(outside, 0.0))
