"""Regulator KPIs from coverage grids: population, households, fibre, trails, by township.

Every per-township figure is a sum over the exact (cell, township) membership of the grid's
people (``Townships.township_sums``: per cell the share of its people in each township,
:class:`covkit.data.fractions.ZoneParts`); what belongs to no township is outside.
Population is conserved exactly: uncovered population is defined as population minus
covered population, per township and in total, and population outside every township is
reported, never dropped.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from covkit.coverage.layers import check_frequencies, station_carriers
from covkit.coverage.tally import township_computed
from covkit.errors import CovkitInputError

OVERLAP_TOLERANCE = 0.001
"""Two townships overlapping by more than this share of the smaller one's area are an error."""


def zone_sums(zone: np.ndarray, values: np.ndarray, n_zones: int) -> tuple[np.ndarray, float]:
    """Sum ``values`` per zone id (0..n_zones-1) and outside every zone (id -1).

    Returns
    -------
    per_zone : float64[n_zones]
    outside : float
    """
    zone = np.asarray(zone)
    values = np.asarray(values, dtype=np.float64)
    inside = zone >= 0
    per = np.bincount(zone[inside], weights=values[inside], minlength=n_zones)
    outside = float(values[~inside].sum())
    return per.astype(np.float64), outside


def pct(num, den):
    """100 num / den; NaN where den is 0 (arrays or scalars)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, 100.0 * num / np.where(den > 0, den, 1.0), np.nan)
    return out if out.ndim else float(out)


def check_township_overlaps(gdf, ids, file=None, tolerance: float = OVERLAP_TOLERANCE) -> None:
    """Refuse townships that overlap by more than ``tolerance`` of the smaller one's area.

    Raises
    ------
    CovkitInputError
        Naming both township ids and the overlap area.
    """
    geoms = np.asarray(gdf.geometry.values)
    if len(geoms) < 2:
        return
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if left.size == 0:
        return
    areas = shapely.area(geoms)
    inter = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(areas[left], areas[right])
    bad = inter > tolerance * smaller
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        i, j = int(left[k]), int(right[k])
        raise CovkitInputError(
            f"townships {str(ids[i])!r} and {str(ids[j])!r} overlap by {inter[k] / 1e6:.3f} km2 "
            f"({100.0 * inter[k] / smaller[k]:.2f}% of the smaller one; at most "
            f"{100.0 * tolerance:g}% is tolerated): every person must belong to one township",
            file=file, column="geometry")


def check_inputs(inputs) -> None:
    """Every refusal of a coverage run that needs no propagation: overlapping townships
    (:func:`check_township_overlaps`), bandwidth / subcarrier spacings the 3GPP tables do not
    define and frequencies outside the clutter / building-entry models' validity
    (:func:`covkit.coverage.layers.check_frequencies`). ``covkit run`` and ``covkit scenario
    check`` both call it, so a check passes exactly the inputs a run accepts.

    Raises
    ------
    CovkitInputError
        Naming the file, column and row of the first problem.
    """
    tw = inputs.townships
    check_township_overlaps(tw.gdf, tw.table["township_id"].to_numpy(), file=tw.source)
    station_carriers(inputs.stations)
    check_frequencies(inputs.stations, inputs.scenario)


def fibre_cells(grid, fibre_x_m, fibre_y_m, distance_m: float = 400.0,
                mask: np.ndarray | None = None) -> np.ndarray:
    """Cells whose centre lies within ``distance_m`` of a fibre drop point (bool grid).

    Uses a ``scipy.spatial.cKDTree`` on the drop points and queries the centres of the cells in
    ``mask`` (default: all cells); points outside the grid still count for the cells near them.
    """
    out = np.zeros(grid.shape, dtype=bool)
    fx = np.asarray(fibre_x_m, dtype=np.float64)
    fy = np.asarray(fibre_y_m, dtype=np.float64)
    ok = np.isfinite(fx) & np.isfinite(fy)
    if not ok.any():
        return out
    tree = cKDTree(np.column_stack([fx[ok], fy[ok]]))
    if mask is None:
        mask = np.ones(grid.shape, dtype=bool)
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return out
    xs, ys = grid.cell_centres()
    pts = np.column_stack([xs[cols], ys[rows]])
    # tiny slack so a centre at exactly the distance counts (float round-off)
    dist, _ = tree.query(pts, k=1, distance_upper_bound=distance_m * (1.0 + 1e-12) + 1e-9)
    near = np.isfinite(dist)
    out[rows[near], cols[near]] = True
    return out


def trail_km_per_cell(trails, grid, step_m: float | None = None) -> np.ndarray:
    """Trail length [km] in each grid cell.

    Each line is cut into pieces of at most ``step_m`` (default a quarter cell); a piece counts
    in the cell holding its midpoint. Pieces outside the grid are not counted.
    """
    out = np.zeros(grid.shape)
    if trails is None or len(trails) == 0:
        return out
    step = float(step_m or grid.resolution_m / 4.0)
    for line in shapely.get_parts(np.asarray(trails.geometry.values)):
        length = float(line.length)
        if length <= 0.0:
            continue
        n = max(1, math.ceil(length / step))
        pts = shapely.line_interpolate_point(line, (np.arange(n) + 0.5) * (length / n))
        r, c = grid.index_of(shapely.get_x(pts), shapely.get_y(pts))
        inside = (r >= 0) & (r < grid.height) & (c >= 0) & (c < grid.width)
        np.add.at(out, (r[inside], c[inside]), length / n / 1000.0)
    return out


def trail_km_covered(trails, grid, covered: np.ndarray,
                     step_m: float | None = None) -> tuple[float, float]:
    """Total and covered trail length [km] (:func:`trail_km_per_cell` pieces in covered cells;
    pieces outside the grid count in the total as uncovered)."""
    if trails is None or len(trails) == 0:
        return 0.0, 0.0
    total = float(shapely.length(np.asarray(trails.geometry.values)).sum()) / 1000.0
    per_cell = trail_km_per_cell(trails, grid, step_m)
    return total, float(per_cell[covered].sum())


def township_kpis(townships, population: np.ndarray, covered: np.ndarray,
                  covered_by_operator: dict[str, np.ndarray], households: np.ndarray,
                  households_fibre: np.ndarray, zone_min_covered_share: float | None = None,
                  tier_covered: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Per-township KPI table (the columns of ``kpi_townships.csv``).

    Parameters
    ----------
    townships : covkit.data.loaders.Townships
    population : float64 grid, people per cell
    covered : bool grid (any operator)
    covered_by_operator : operator -> bool grid
    households, households_fibre : float64[n_townships]
        Households and households within the fibre distance per township.
    zone_min_covered_share : float, optional
        Zone mode: a township counts as covered when this share of its population is covered.
    tier_covered : tier name -> bool grid, optional
        Speed-tier coverage (e.g. ``"7_1"``).
    """
    sums = townships.township_sums
    pop_t, _ = sums(population)
    cov_t, _ = sums(population * covered)
    by_op = {op: sums(population * cov)[0] for op, cov in covered_by_operator.items()}
    tiers = {name: sums(population * cov)[0] for name, cov in (tier_covered or {}).items()}
    return township_kpis_from_sums(townships, pop_t, cov_t, by_op, households,
                                   households_fibre, zone_min_covered_share, tiers)


def township_kpis_from_sums(townships, population: np.ndarray, covered: np.ndarray,
                            covered_by_operator: dict[str, np.ndarray], households: np.ndarray,
                            households_fibre: np.ndarray,
                            zone_min_covered_share: float | None = None,
                            tier_covered: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """The per-township KPI table of :func:`township_kpis` from per-township sums of people
    (float64[n_townships] each, row order of the townships table): all, covered by any
    operator, covered per operator, per speed tier; households as there."""
    tw = townships.table
    n = len(tw)
    pop_t = np.asarray(population, dtype=np.float64)
    cov_t = np.asarray(covered, dtype=np.float64)
    df = pd.DataFrame({
        "township_id": tw["township_id"].to_numpy(),
        "name": tw["name"].to_numpy(),
        "county": tw["county"].to_numpy(),
        "remote": tw["remote"].to_numpy(dtype=bool),
        "population": pop_t,
        "covered_population": cov_t,
        "uncovered_population": pop_t - cov_t,
        "coverage_pct": pct(cov_t, pop_t),
    })
    if "county_code" in tw.columns:  # optional: after county
        df.insert(3, "county_code", tw["county_code"].to_numpy())
    for col in ("name_source", "county_source"):  # file spelling of display-folded names
        if col in tw.columns:
            df.insert(df.columns.get_loc("remote"), col, tw[col].to_numpy())
    for op, c_o in covered_by_operator.items():
        df[f"covered_population_{op}"] = c_o
        df[f"coverage_pct_{op}"] = pct(c_o, pop_t)
    for name, c_t in (tier_covered or {}).items():
        df[f"coverage_pct_{name}"] = pct(c_t, pop_t)
    if zone_min_covered_share is not None:
        share = np.divide(cov_t, pop_t, out=np.zeros(n), where=pop_t > 0)
        df["zone_covered"] = (pop_t > 0) & (share >= zone_min_covered_share - 1e-12)
    df["households"] = np.asarray(households, dtype=np.float64)
    df["households_fibre_400m"] = np.asarray(households_fibre, dtype=np.float64)
    df["fibre_coverage_pct"] = pct(df["households_fibre_400m"], df["households"])
    if "status" in tw.columns:
        df["status"] = tw["status"].to_numpy(dtype=object)
        off = ~township_computed(df)
        if off.any():
            cols = [c for c in df.columns if c.startswith(("covered_population",
                                                           "coverage_pct"))]
            df.loc[off, cols + ["uncovered_population"]] = np.nan
            if "zone_covered" in df.columns:
                df.loc[off, "zone_covered"] = False
    # what made a township remote (covkit.data.remote.RULES; None when not remote)
    df["remote_rule"] = (tw["remote_rule"].to_numpy(dtype=object) if "remote_rule" in tw.columns
                         else np.where(df["remote"], "file", None).astype(object))
    return df


def households_per_township(townships, population: np.ndarray, near_fibre: np.ndarray,
                            household_size: float) -> tuple[np.ndarray, np.ndarray, float,
                                                            float, str]:
    """Households and households near fibre per township, and outside every township.

    Households are population / ``household_size`` per cell, unless the township file has a
    ``households`` column: then that number is used per township and the share near fibre is
    the share of the township's population near fibre.

    Returns
    -------
    households, households_fibre : float64[n]
    outside_households, outside_households_fibre : float
    source : str
        ``"population / household_size"`` or ``"townships file column households"``.
    """
    n = len(townships.table)
    pop_t, pop_out = townships.township_sums(population)
    near_t, near_out = townships.township_sums(population * near_fibre)
    gdf = townships.gdf
    hh_out = pop_out / household_size
    hh_out_f = near_out / household_size
    if gdf is not None and "households" in getattr(gdf, "columns", ()):
        given = pd.to_numeric(gdf["households"], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(given) | (given < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CovkitInputError(
                f"households {gdf['households'].iloc[i]!r} must be a number >= 0",
                file=townships.source, column="households", row=i + 1)
        share = np.divide(near_t, pop_t, out=np.zeros(n), where=pop_t > 0)
        return given, given * share, hh_out, hh_out_f, "townships file column households"
    return (pop_t / household_size, near_t / household_size, hh_out, hh_out_f,
            "population / household_size")


def village_kpis(villages, township_df: pd.DataFrame, population: np.ndarray,
                 covered: np.ndarray, min_covered_share: float) -> pd.DataFrame:
    """Per-village KPI table (the columns of ``kpi_villages.csv``).

    Parameters
    ----------
    villages : covkit.data.villages.Villages
    township_df : DataFrame
        The township KPI table (:func:`township_kpis`), row order of the townships: a village
        takes its township's ``status``; where the township is not computed the village's
        coverage is empty and it is not covered.
    population : float64 grid, people per cell
    covered : bool grid (any operator)
    min_covered_share : float
        A village is covered when covered population / population >= this share
        (``coverage.village_min_covered_share``); a village without people is not.
    """
    pop_v, _ = villages.village_sums(population)
    cov_v, _ = villages.village_sums(population * covered)
    return village_kpis_from_sums(villages, township_df, pop_v, cov_v, min_covered_share)


def village_kpis_from_sums(villages, township_df: pd.DataFrame, population: np.ndarray,
                           covered: np.ndarray, min_covered_share: float) -> pd.DataFrame:
    """The per-village KPI table of :func:`village_kpis` from per-village sums of people
    (float64[n_villages] each, row order of the villages table): all and covered by any
    operator."""
    vt = villages.table
    n = len(vt)
    pop_v = np.asarray(population, dtype=np.float64)
    cov_v = np.asarray(covered, dtype=np.float64)
    share = np.divide(cov_v, pop_v, out=np.zeros(n), where=pop_v > 0)
    df = pd.DataFrame({
        "village_id": vt["village_id"].to_numpy(),
        "name": vt["name"].to_numpy(),
        "township_id": vt["township_id"].to_numpy(),
        "township_name": vt["township_name"].to_numpy(),
        "county": vt["county"].to_numpy(),
        "population": pop_v,
        "covered_population": cov_v,
        "uncovered_population": pop_v - cov_v,
        "coverage_pct": pct(cov_v, pop_v),
        "covered": (pop_v > 0) & (share >= min_covered_share - 1e-12),
        "area_km2": vt["area_km2"].to_numpy(dtype=np.float64),
        "density_per_km2": vt["density_per_km2"].to_numpy(dtype=np.float64),
        "remote_village": vt["remote_village"].to_numpy(dtype=bool),
    })
    idx = np.asarray(villages.township_index, dtype=np.int64)
    if "status" in township_df.columns:
        df["status"] = township_df["status"].to_numpy(dtype=object)[idx]
        off = ~township_computed(df)
        if off.any():
            df.loc[off, ["covered_population", "uncovered_population", "coverage_pct"]] = \
                np.nan
            df.loc[off, "covered"] = False
    else:
        df["status"] = "computed"
    return df


def village_block(df: pd.DataFrame, villages, min_covered_share: float) -> dict:
    """The ``villages`` block of kpi_summary.json from the village table
    (:func:`village_kpis`)."""
    comp = township_computed(df)
    cov = df["covered"].to_numpy(dtype=bool)
    rem = df["remote_village"].to_numpy(dtype=bool)
    pop = df["population"].to_numpy(dtype=np.float64)
    pop_ok = float(pop[comp].sum())
    in_cov = float(pop[cov].sum())
    return {
        "count": int(len(df)),
        "computed": int(comp.sum()),
        "covered": int(cov.sum()),
        "min_covered_share": float(min_covered_share),
        "remote_villages": int(rem.sum()),
        "remote_villages_covered": int((rem & cov).sum()),
        "population": float(pop.sum()),
        "population_in_covered_villages": in_cov,
        "population_in_covered_villages_pct": pct(in_cov, pop_ok),
        "population_outside_villages": float(villages.population_outside_villages),
        "population_method": villages.parts.method,
        "remote_rule": dict(villages.rule),
        "method": (f"a village is covered when at least {min_covered_share:g} of its "
                   "population is covered (coverage.village_min_covered_share; NCC publishes "
                   "no figure); village people: " + villages.parts.method + "; remote: "
                   + villages.rule["method"] + "; villages of townships not computed (no "
                   "terrain) are not covered and have no coverage figures"),
    }
