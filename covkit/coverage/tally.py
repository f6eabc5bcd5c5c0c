"""The population sums of a coverage run's KPIs, added band by band as the fold closes its bands
of rows (:class:`CoverageSums`), so that no whole-grid coverage grid per operator or speed tier
is needed to compute them.

Every sum goes in one fixed order that does not depend on how the rows are cut into bands:

- national figures: each row's cells by pairwise summation (``np.sum`` along the row), then
  the rows' sums by pairwise summation;
- per zone (township, village) through the exact (cell, zone, share) membership of the grid's
  people (:class:`covkit.data.fractions.ZoneParts`): each (zone, row) run of pairs by
  pairwise summation, then each zone's row sums in row order by pairwise summation
  (:func:`covkit.data.fractions.group_sums`).

So the sums of bands one row high, seven rows high or as high as the grid are the same bit for
bit, and the same as :meth:`CoverageSums.from_grids` gives from whole-grid coverage grids. They
differ from one pairwise sum over each zone's pairs or over the whole grid (the summation
before the sums went band by band) by rounding only (a few ulp; 1e-15 relative on the demo).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from covkit.data.fractions import ZoneParts, group_sums, zone_parts_from_raster

COVERED = ("covered",)
"""Key of the sums of people covered by any operator."""

POPULATION = ("population",)
"""Key of the per-zone sums of people (no coverage condition)."""


def covered_key(operator: str) -> tuple[str, str]:
    """Key of the sums of people an operator covers."""
    return ("covered", operator)


def tier_key(tier: str, operator: str | None = None) -> tuple[str, ...]:
    """Key of the sums of people in a speed tier (``tier_name``), of any operator or of one."""
    return ("tier", tier) if operator is None else ("tier", tier, operator)


def township_computed(df: pd.DataFrame) -> np.ndarray:
    """Whether each township row's coverage was computed (its ``status`` starts with
    "computed"; every row when there is no ``status`` column)."""
    if "status" not in df.columns:
        return np.ones(len(df), dtype=bool)
    return df["status"].astype(str).str.startswith("computed").to_numpy()


def excluded_cells(townships, no_terrain: np.ndarray | None,
                   rows: slice | None = None) -> np.ndarray:
    """Cells left out of the national coverage figures (bool grid): the cells of townships not
    computed and, outside every township, the cells without terrain; of the rows ``rows``
    only when given (default: the whole grid)."""
    rows = slice(None) if rows is None else rows
    zone = townships.zone[rows]
    tw = townships.table
    out = np.zeros(zone.shape, dtype=bool)
    if "status" in tw.columns:
        off = np.flatnonzero(~township_computed(tw))
        if off.size:
            out |= np.isin(zone, off)
    if no_terrain is not None:
        out |= (zone < 0) & no_terrain[rows]
    return out


class ZoneRowSums:
    """Per-zone sums of per-cell quantities proportional to people, band by band.

    The pairs of ``parts`` (ordered by zone, then cell, as :func:`~covkit.data.fractions.
    sorted_parts` makes them) fall into runs of one zone and one grid row; a band of rows adds
    the pairwise sum of each of its runs (:meth:`band`) and :meth:`totals` sums each zone's
    runs in row order. Only the runs' bounds are held besides ``parts`` (a few per zone and
    row), never a copy of the pairs.

    Parameters
    ----------
    parts : ZoneParts
    n_zones : int
    shape : (rows, cols) of the grid
    """

    def __init__(self, parts: ZoneParts, n_zones: int, shape: tuple[int, int]):
        h, w = int(shape[0]), int(shape[1])
        self.n_zones = int(n_zones)
        self.width = w
        cell = np.asarray(parts.cell, dtype=np.int64)
        zone = np.asarray(parts.zone, dtype=np.int64)
        share = np.asarray(parts.share, dtype=np.float64)
        if cell.size > 1 and np.any((zone[1:] < zone[:-1]) |
                                    ((zone[1:] == zone[:-1]) & (cell[1:] < cell[:-1]))):
            order = np.lexsort((cell, zone))  # pragma: no cover - parts are made sorted
            cell, zone, share = cell[order], zone[order], share[order]
        self.cell, self.share = cell, share
        row = cell // w
        if cell.size:
            brk = np.flatnonzero((zone[1:] != zone[:-1]) | (row[1:] != row[:-1])) + 1
            start = np.concatenate(([0], brk))
        else:
            start = np.zeros(0, np.int64)
        self.run_start = start
        self.run_len = np.diff(np.append(start, cell.size))
        self.run_zone = zone[start]
        run_row = row[start]
        # the runs of each row, in run order (zone order) within the row
        self.by_row = np.argsort(run_row, kind="stable")
        self.row_runs = np.searchsorted(run_row[self.by_row], np.arange(h + 1))

    @property
    def n_runs(self) -> int:
        return int(self.run_start.size)

    def band_pairs(self, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                     np.ndarray]:
        """The runs of rows ``r0:r1`` (run indices), the pairs of those runs (indices into
        ``parts``, run after run), each run's first position among them, and the pairs' cells
        as flat indices into the band."""
        runs = self.by_row[self.row_runs[r0]:self.row_runs[r1]]
        lengths = self.run_len[runs]
        first = np.cumsum(lengths) - lengths
        idx = np.repeat(self.run_start[runs] - first, lengths) + np.arange(int(lengths.sum()))
        return runs, idx, first, self.cell[idx] - r0 * self.width

    def band(self, runs: np.ndarray, first: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Each run's sum of ``values`` (one value per pair of :meth:`band_pairs`, run
        after run; ``first``: each run's first position among them)."""
        if runs.size == 0:
            return np.zeros(0)
        return np.add.reduceat(values, first)

    def totals(self, run_sums: np.ndarray) -> np.ndarray:
        """Per zone (0..n_zones-1) the sum of its runs' sums in row order."""
        return group_sums(self.run_zone, run_sums, self.n_zones)


class CoverageSums:
    """The people sums every coverage KPI needs, filled band by band (:meth:`add_band`).

    Held: per key (:data:`COVERED`, :func:`covered_key`, :func:`tier_key`) and grid row the
    people in the row's covered cells that count in the national figures (cells not left out,
    :func:`excluded_cells`); per township run (:class:`ZoneRowSums`) the people covered (any
    operator, each operator, each speed tier of any operator) and the people; per village run
    the people covered by any operator and the people. About (rows + township runs x keys) x
    8 bytes: nothing of the grid's size.

    Parameters
    ----------
    inputs : covkit.data.inputs.Inputs
    operators : list of str
    tiers : list of str
        The speed tiers (``tier_name``; empty without throughput).
    """

    def __init__(self, inputs, operators: list[str], tiers: list[str]):
        grid = inputs.grid
        self.shape = (int(grid.height), int(grid.width))
        h = self.shape[0]
        self.population = np.asarray(inputs.population, dtype=np.float64)
        self.townships = inputs.townships
        terrain = getattr(inputs, "terrain", None)
        self.no_terrain = None if terrain is None else terrain.no_terrain
        self.operators = list(operators)
        self.tiers = list(tiers)
        self.national_keys = [COVERED, *(covered_key(o) for o in operators),
                              *(tier_key(t) for t in tiers),
                              *(tier_key(t, o) for o in operators for t in tiers)]
        self.township_keys = [POPULATION, COVERED, *(covered_key(o) for o in operators),
                              *(tier_key(t) for t in tiers)]
        tw = inputs.townships
        parts = tw.parts if tw.parts is not None else zone_parts_from_raster(tw.zone)
        self.tw_runs = ZoneRowSums(parts, len(tw.table), self.shape)
        villages = getattr(inputs, "villages", None)
        self.v_runs = None if villages is None else ZoneRowSums(villages.parts,
                                                                len(villages.table),
                                                                self.shape)
        self.village_keys = [POPULATION, COVERED]
        self.rows = {k: np.zeros(h) for k in self.national_keys}
        self.tw = {k: np.zeros(self.tw_runs.n_runs) for k in self.township_keys}
        self.vil = {} if self.v_runs is None else {k: np.zeros(self.v_runs.n_runs)
                                                   for k in self.village_keys}
        self.rows_added = np.zeros(h, dtype=bool)

    @classmethod
    def from_grids(cls, inputs, covered: np.ndarray, covered_by_operator: dict[str, np.ndarray],
                   tier_covered: dict[str, np.ndarray] | None = None,
                   tier_covered_by_operator: dict[str, dict[str, np.ndarray]] | None = None
                   ) -> CoverageSums:
        """The sums of whole-grid coverage grids (one band as high as the grid): the same, bit
        for bit, as those of the fold's bands."""
        tier_covered = tier_covered or {}
        out = cls(inputs, list(covered_by_operator), list(tier_covered))
        masks = {COVERED: covered}
        masks.update({covered_key(o): g for o, g in covered_by_operator.items()})
        masks.update({tier_key(t): g for t, g in tier_covered.items()})
        for o, tiers in (tier_covered_by_operator or {}).items():
            masks.update({tier_key(t, o): g for t, g in tiers.items()})
        out.add_band(0, out.shape[0], masks)
        return out

    def add_band(self, r0: int, r1: int, masks: dict[tuple, np.ndarray]) -> None:
        """Add rows ``r0:r1``: ``masks`` holds per key the band's bool grid (rows ``r0:r1``,
        the grid's width) of covered cells."""
        if self.rows_added[r0:r1].any():  # pragma: no cover - a bug, not an input error
            raise RuntimeError(f"rows {r0}-{r1} added twice")
        rows = slice(r0, r1)
        pop = self.population[rows]
        keep = ~excluded_cells(self.townships, self.no_terrain, rows)
        pop_kept = np.where(keep, pop, 0.0)
        for key in self.national_keys:
            self.rows[key][rows] = np.sum(pop_kept * masks[key], axis=1)
        for runs, store, keys in ((self.tw_runs, self.tw, self.township_keys),
                                  (self.v_runs, self.vil, self.village_keys)):
            if runs is None:
                continue
            run_ids, idx, first, cells = runs.band_pairs(r0, r1)
            if run_ids.size == 0:
                continue
            people = runs.share[idx] * pop.ravel()[cells]
            for key in keys:
                vals = people if key == POPULATION else \
                    np.where(masks[key].ravel()[cells], people, 0.0)
                store[key][run_ids] = runs.band(run_ids, first, vals)
        self.rows_added[rows] = True

    def _complete(self) -> None:
        if not self.rows_added.all():  # pragma: no cover - a bug, not an input error
            raise RuntimeError(f"{int((~self.rows_added).sum())} rows of the grid were never "
                               "added to the coverage sums")

    def kept(self, key: tuple) -> float:
        """People of the cells of ``key`` that count in the national figures."""
        self._complete()
        return float(np.sum(self.rows[key]))

    def township(self, key: tuple) -> np.ndarray:
        """Per township (row order of the table) the people of ``key``'s cells (or all, with
        :data:`POPULATION`), through the cells' exact township shares."""
        self._complete()
        return self.tw_runs.totals(self.tw[key])

    def village(self, key: tuple) -> np.ndarray:
        """Per village the people of ``key``'s cells (:data:`COVERED` or
        :data:`POPULATION`)."""
        self._complete()
        if self.v_runs is None:
            raise ValueError("the run has no villages")
        return self.v_runs.totals(self.vil[key])
