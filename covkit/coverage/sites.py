"""Site proposals for uncovered and remote areas (``covkit sites``).

1. **Candidates** (:func:`generate_candidates`): terrain high points (local maxima of the DEM in
   a window of ``sites.candidate_spacing_m``), points along trails every
   ``candidate_spacing_m``, and any user candidates file; on land inside a township, with
   uncovered demand within reach; remote townships first.
2. **Gain** (:func:`coverage_matrix`): every candidate goes through the same propagation engine
   and RSRP kernel as the existing stations (:func:`covkit.propagation.engine.site_loss_window`,
   :func:`covkit.coverage.radio.reduce_site_window`); the cells it would newly cover (median
   RSRP at least what the location probability requires) form a sparse candidates x demand
   matrix. Demand weights: people, trail km (``weight_trail_km``) and a bonus for each remote
   township's first coverage (``weight_new_township``).
3. **Choice**: :func:`covkit.coverage.siting.solve_max_coverage` (greedy or exact).
4. **Proof** (:func:`propose_sites`): the KPI summary is recomputed with the real engine as if
   the proposed sites were built (``kpi_after.json``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.ndimage import maximum_filter
from scipy.spatial import cKDTree

from covkit import runfolder as F
from covkit.config import Scenario
from covkit.coverage import radio as R
from covkit.coverage.distributed import candidate_cells_distributed, compute_layers_distributed
from covkit.coverage.kpi import trail_km_per_cell
from covkit.coverage.layers import (
    DropRows,
    SiteFold,
    compute_layers,
)
from covkit.coverage.result import CoverageResult
from covkit.coverage.siting import solve_max_coverage
from covkit.coverage.summary import compute_kpis
from covkit.data.loaders import xy_to_lonlat
from covkit.errors import CovkitInputError
from covkit.outputs import RunCommit
from covkit.progress import progress_bar
from covkit.propagation.models import MODELS

PROPOSED_OPERATOR = "proposed"
"""Operator name of proposed sites in ``kpi_after.json``."""

CANDIDATE_TECH = "5G"
CANDIDATE_BANDWIDTH_MHZ = 100.0
CANDIDATE_SCS_KHZ = 30.0


@dataclass
class SiteProposal:
    """What :func:`propose_sites` produced.

    Attributes
    ----------
    candidates : DataFrame
        Every candidate evaluated (see :func:`generate_candidates`).
    proposed : GeoDataFrame
        The proposed sites in pick order (points in the working CRS): ``rank, candidate_id,
        source, lon, lat, x_m, y_m, height_m, township_id, remote, new_population,
        cumulative_population, new_trail_km, cost, cost_per_new_person``.
    summary : dict
        Objective, method, bound, gap, before/after figures (``sites_summary.json``).
    kpi_before, kpi_after : dict
        The KPI summary before, and recomputed with the proposed sites built
        (``kpi_after.json``).
    files : list of Path
        Files written by :meth:`write` (empty until then).
    csv_codes : str
        How ``sites_proposed.csv`` writes its codes (scenario key ``outputs.csv_codes``).
    """

    candidates: pd.DataFrame
    proposed: gpd.GeoDataFrame
    summary: dict
    kpi_before: dict
    kpi_after: dict
    files: list[Path] = field(default_factory=list)
    csv_codes: str = "plain"

    def write(self, out_dir: Path | str | RunCommit) -> list[Path]:
        """Write sites_proposed.csv / .gpkg / .parquet, kpi_after.json and sites_summary.json into
        ``out_dir`` as one set (committed at once under the folder's lock, replacing the site
        files of an earlier proposal; or staged into the :class:`~covkit.outputs.RunCommit` of
        a whole run); returns them."""
        if isinstance(out_dir, RunCommit):
            self.files = self._stage(out_dir)
        else:
            with RunCommit(Path(out_dir), replaces=F.SITES_FILES) as out:
                self.files = self._stage(out)
        return self.files

    def _stage(self, out: RunCommit) -> list[Path]:
        table = pd.DataFrame(self.proposed.drop(columns=self.proposed.geometry.name))
        return [out.csv(F.SITES_PROPOSED_CSV, table, self.csv_codes),
                out.gpkg(F.SITES_PROPOSED_GPKG, self.proposed, layer="sites_proposed"),
                out.geoparquet(F.SITES_PROPOSED_PARQUET, self.proposed),
                out.json(F.KPI_AFTER, self.kpi_after),
                out.json(F.SITES_SUMMARY, self.summary)]


# ----------------------------------------------------------------------------------------------
# candidates


def _box_sum(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, half: int) -> np.ndarray:
    """Sum of ``values`` in the (2 half + 1)^2 box around each (row, col) (summed-area table)."""
    h, w = values.shape
    sat = np.zeros((h + 1, w + 1))
    sat[1:, 1:] = np.cumsum(np.cumsum(values, axis=0), axis=1)
    r0 = np.clip(rows - half, 0, h)
    r1 = np.clip(rows + half + 1, 0, h)
    c0 = np.clip(cols - half, 0, w)
    c1 = np.clip(cols + half + 1, 0, w)
    return sat[r1, c1] - sat[r0, c1] - sat[r1, c0] + sat[r0, c0]


def generate_candidates(inputs, demand: np.ndarray, scenario: Scenario) -> pd.DataFrame:
    """Candidate sites in reach of uncovered demand.

    Parameters
    ----------
    inputs : covkit.api.Inputs
    demand : 2-D float array
        Uncovered demand weight per cell (0 where covered or empty).
    scenario : Scenario

    Returns
    -------
    DataFrame with candidate_id, source (``high_point``, ``trail``, ``user``), x_m, y_m, lon,
    lat, height_m, cost (before backhaul), township_index (-1 outside), remote, demand_in_reach;
    remote townships first, then by demand in reach; at most ``sites.max_candidates``.
    """
    s = scenario.sites
    grid = inputs.grid
    dem = np.asarray(inputs.dem_m, dtype=np.float64)
    zone = inputs.townships.zone
    remote_tw = inputs.townships.table["remote"].to_numpy(dtype=bool)
    land = np.isfinite(dem) & (dem > 0.0) & (zone >= 0)
    xs, ys = grid.cell_centres()
    frames = []
    # terrain high points
    win = max(3, int(round(s.candidate_spacing_m / grid.resolution_m)) | 1)
    filled = np.where(np.isfinite(dem), dem, -np.inf)
    peaks = land & (filled >= maximum_filter(filled, size=win, mode="nearest"))
    r, c = np.nonzero(peaks)
    frames.append(pd.DataFrame({"source": "high_point", "x_m": xs[c], "y_m": ys[r],
                                "height_m": s.mast_height_m, "cost": s.site_cost}))
    # points along trails
    if inputs.trails is not None and len(inputs.trails):
        px, py = [], []
        for line in shapely.get_parts(np.asarray(inputs.trails.geometry.values)):
            n = max(1, int(line.length // s.candidate_spacing_m))
            pts = shapely.line_interpolate_point(line, (np.arange(n) + 0.5) * line.length / n)
            px.append(shapely.get_x(pts))
            py.append(shapely.get_y(pts))
        frames.append(pd.DataFrame({"source": "trail", "x_m": np.concatenate(px),
                                    "y_m": np.concatenate(py), "height_m": s.mast_height_m,
                                    "cost": s.site_cost}))
    # user candidates
    if inputs.candidates is not None and len(inputs.candidates):
        cand = inputs.candidates
        user = pd.DataFrame({"source": "user", "candidate_id": cand["candidate_id"].astype(str),
                             "x_m": cand["x_m"], "y_m": cand["y_m"],
                             "height_m": cand.get("height_m", s.mast_height_m),
                             "cost": cand.get("cost", s.site_cost)})
        user["height_m"] = user["height_m"].fillna(s.mast_height_m)
        user["cost"] = user["cost"].fillna(s.site_cost)
        frames.append(user)
    df = pd.concat(frames, ignore_index=True)
    rr, cc = grid.index_of(df["x_m"].to_numpy(), df["y_m"].to_numpy())
    inside = (rr >= 0) & (rr < grid.height) & (cc >= 0) & (cc < grid.width)
    rr = np.clip(rr, 0, grid.height - 1)
    cc = np.clip(cc, 0, grid.width - 1)
    keep = inside & land[rr, cc]
    reach = int(round(scenario.propagation.max_radius_km * 1000.0 / grid.resolution_m))
    df["demand_in_reach"] = _box_sum(demand, rr, cc, reach)
    keep &= df["demand_in_reach"].to_numpy() > 0
    df["township_index"] = np.where(inside, zone[rr, cc], -1)
    df = df[keep].copy()
    df["remote"] = remote_tw[df["township_index"].to_numpy()]
    df = df.sort_values(["remote", "demand_in_reach"], ascending=[False, False], kind="stable")
    df = df.head(s.max_candidates).reset_index(drop=True)
    given = df["candidate_id"] if "candidate_id" in df else pd.Series([None] * len(df))
    df["candidate_id"] = [g if isinstance(g, str) else f"C{i + 1:05d}"
                          for i, g in enumerate(given.tolist())]
    lon, lat = xy_to_lonlat(df["x_m"].to_numpy(), df["y_m"].to_numpy(), grid.crs)
    df["lon"] = lon
    df["lat"] = lat
    if inputs.fibre is not None and len(inputs.fibre) and s.backhaul_cost_per_km > 0:
        tree = cKDTree(np.column_stack([inputs.fibre["x_m"], inputs.fibre["y_m"]]))
        dist, _ = tree.query(np.column_stack([df["x_m"], df["y_m"]]))
        df["backhaul_km"] = dist / 1000.0
        df["cost"] = df["cost"] + s.backhaul_cost_per_km * df["backhaul_km"]
    cols = ["candidate_id", "source", "x_m", "y_m", "lon", "lat", "height_m", "cost",
            "township_index", "remote", "demand_in_reach"]
    return df[cols + [c for c in df.columns if c not in cols]]


# ----------------------------------------------------------------------------------------------
# gain of each candidate


def candidate_station_rows(candidates: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """One omni 5G sector per candidate, in the stations table's layout."""
    s = scenario.sites
    return pd.DataFrame({
        "station_id": "P-" + candidates["candidate_id"].astype(str),
        "site_id": "P-" + candidates["candidate_id"].astype(str),
        "operator": PROPOSED_OPERATOR, "lon": candidates["lon"], "lat": candidates["lat"],
        "x_m": candidates["x_m"], "y_m": candidates["y_m"],
        "height_m": candidates["height_m"].astype(float), "freq_mhz": float(s.freq_mhz),
        "eirp_dbm": float(s.eirp_dbm), "azimuth_deg": np.nan, "tilt_deg": 0.0,
        "beamwidth_deg": 360.0, "tech": CANDIDATE_TECH,
        "bandwidth_mhz": CANDIDATE_BANDWIDTH_MHZ, "scs_khz": CANDIDATE_SCS_KHZ,
        "antenna_file": "",
    })


def coverage_matrix(inputs, candidates: pd.DataFrame, covered_before: np.ndarray,
                    required_median_dbm: float, trail_km: np.ndarray, progress: bool = False,
                    client=None):
    """Sparse candidates x demand-cells matrix of the cells each candidate would newly cover.

    Every candidate goes through the same per-site fold as the existing stations
    (:class:`covkit.coverage.layers.SiteFold`), on grids of its own window. Demand cells are
    the cells not covered before that hold people or trail. With a ``distributed.Client``
    the candidates go to its workers in batches
    (:func:`covkit.coverage.distributed.candidate_cells_distributed`). Returns
    ``(csr, demand_flat_index)``.
    """
    sc = inputs.scenario
    grid = inputs.grid
    demand_mask = ~covered_before & ((inputs.population > 0) | (trail_km > 0))
    demand_flat = np.flatnonzero(demand_mask)
    demand_id = np.full(grid.height * grid.width, -1, np.int64)
    demand_id[demand_flat] = np.arange(demand_flat.size)
    fold = SiteFold(inputs)
    rows = candidate_station_rows(candidates, sc)
    nrb = R.n_rb(CANDIDATE_TECH, CANDIDATE_BANDWIDTH_MHZ, CANDIDATE_SCS_KHZ)
    eirp_re = R.eirp_per_re_dbm(float(sc.sites.eirp_dbm), nrb)
    freq_mhz = float(sc.sites.freq_mhz)
    xs, ys = rows["x_m"].to_numpy(dtype=np.float64), rows["y_m"].to_numpy(dtype=np.float64)
    hs, lats = rows["height_m"].to_numpy(dtype=np.float64), rows["lat"].to_numpy(dtype=np.float64)
    indptr = [0]
    indices: list[np.ndarray] = []
    with progress_bar(progress) as bar:
        task = bar.add_task(f"sites: {len(candidates)} candidates"
                            + (" on Dask" if client is not None else ""), total=len(candidates))
        if client is None:
            cells = (fold.cells_reaching(xs[i], ys[i], hs[i], lats[i], freq_mhz, eirp_re,
                                         required_median_dbm) for i in range(len(candidates)))
        else:
            cells = candidate_cells_distributed(client, fold, xs, ys, hs, lats, freq_mhz,
                                                eirp_re, required_median_dbm)
        for flat in cells:
            ids = demand_id[flat]
            ids = np.sort(ids[ids >= 0])
            indices.append(ids)
            indptr.append(indptr[-1] + ids.size)
            bar.advance(task)
    data = np.ones(indptr[-1], dtype=np.float64)
    csr = sp.csr_matrix((data, np.concatenate(indices) if indices else np.zeros(0, np.int64),
                         np.asarray(indptr)), shape=(len(candidates), demand_flat.size))
    return csr, demand_flat


# ----------------------------------------------------------------------------------------------
# orchestration


def _with_proposed_stations(inputs, candidates: pd.DataFrame, scenario: Scenario):
    """Inputs whose stations table also holds the proposed sites (one omni sector each)."""
    old = inputs.stations
    new_rows = candidate_station_rows(candidates, scenario)
    new_rows["site_index"] = np.arange(len(new_rows)) + old.n_sites
    if "model" in old.table.columns:  # the path-loss model of the proposed carrier's band
        new_rows["model"] = [scenario.propagation.model_for(f) for f in new_rows["freq_mhz"]]
    if "synthetic" in old.table.columns:  # a proposed site is not a generated network site
        new_rows["synthetic"] = False
    table = pd.concat([old.table, new_rows[old.table.columns]], ignore_index=True)
    stations = replace(old, table=table,
                       site_ids=np.concatenate([old.site_ids, new_rows["site_id"].to_numpy()]),
                       site_x_m=np.concatenate([old.site_x_m, new_rows["x_m"].to_numpy()]),
                       site_y_m=np.concatenate([old.site_y_m, new_rows["y_m"].to_numpy()]),
                       site_height_m=np.concatenate([old.site_height_m,
                                                     new_rows["height_m"].to_numpy()]))
    return replace(inputs, stations=stations)


def with_overrides(scenario: Scenario, budget_sites: int | None = None,
                   method: str | None = None) -> Scenario:
    """The scenario with ``sites.budget_sites`` / ``sites.method`` replaced (validated).

    Also refuses, before any coverage is computed, a ``sites.freq_mhz`` outside the
    frequency range of its model (``propagation.bands`` / ``propagation.model``)."""
    s = scenario.sites
    model = scenario.propagation.model_for(s.freq_mhz)
    lo, hi = MODELS[model].validity["freq_mhz"]
    if not lo <= s.freq_mhz <= hi:
        raise CovkitInputError(
            f"sites.freq_mhz = {s.freq_mhz:g} MHz is outside {lo:g}-{hi:g} MHz, the frequency "
            f"range of model {model!r}: add a [[propagation.bands]] entry with a model valid "
            "there", file=scenario.path, column="sites.freq_mhz")
    if budget_sites is not None:
        if int(budget_sites) < 1:
            raise CovkitInputError(f"--budget {budget_sites} must be at least 1",
                                   column="sites.budget_sites")
        s = replace(s, budget_sites=int(budget_sites))
    if method is not None:
        if method not in ("greedy", "exact"):
            raise CovkitInputError(f"method {method!r} must be greedy or exact",
                                   column="sites.method")
        s = replace(s, method=method)
    return replace(scenario, sites=s)


def propose_sites(before: CoverageResult, *, budget_sites: int | None = None,
                  method: str | None = None, progress: bool = False,
                  client=None) -> SiteProposal:
    """Propose sites that newly cover the most demand, and prove it with the real engine.

    Parameters
    ----------
    before : CoverageResult
        The coverage run of the existing stations (:func:`covkit.run`); its inputs and
        scenario (``[sites]`` section) are used.
    budget_sites : int, optional
        Overrides ``sites.budget_sites``.
    method : {"greedy", "exact"}, optional
        Overrides ``sites.method``.
    progress : bool
        Show progress bars on stderr (and the HiGHS log of the exact method).
    client : distributed.Client, optional
        Compute the candidates' coverage and the run with the proposed sites on this Dask
        cluster (:mod:`covkit.coverage.distributed`).

    Returns
    -------
    SiteProposal
    """
    t0 = time.perf_counter()
    scenario = with_overrides(before.scenario, budget_sites, method)
    inputs = replace(before.inputs, scenario=scenario)
    s = scenario.sites
    covered = np.asarray(before.covered, dtype=bool)
    pop = np.asarray(inputs.population, dtype=np.float64)
    trail_all = trail_km_per_cell(inputs.trails, inputs.grid)
    demand = np.where(covered, 0.0, s.weight_population * pop + s.weight_trail_km * trail_all)
    candidates = generate_candidates(inputs, demand, scenario)
    req = before.summary["required_median_rsrp_dbm"]
    csr, demand_flat = coverage_matrix(inputs, candidates, covered, req, trail_all, progress,
                                       client=client)
    pop_d = pop.ravel()[demand_flat]
    trail_d = trail_all.ravel()[demand_flat]
    weights = s.weight_population * pop_d + s.weight_trail_km * trail_d
    # bonus demand: one item per remote township without coverage, covered by a candidate
    # that newly covers people in it
    tw = inputs.townships
    zone_d = tw.zone.ravel()[demand_flat]
    remote = tw.table["remote"].to_numpy(dtype=bool)
    uncovered_tw = remote & (before.townships["covered_population"].to_numpy() <= 0)
    bonus_tw = np.flatnonzero(uncovered_tw) if s.weight_new_township > 0 else np.zeros(0, int)
    if bonus_tw.size:
        col_of = {t: j for j, t in enumerate(bonus_tw)}
        coo = csr.tocoo()
        hit = (pop_d[coo.col] > 0) & np.isin(zone_d[coo.col], bonus_tw)
        pairs = np.unique(np.column_stack([coo.row[hit],
                                           [col_of[t] for t in zone_d[coo.col[hit]]]]), axis=0) \
            if hit.any() else np.zeros((0, 2), int)
        extra = sp.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                              shape=(csr.shape[0], bonus_tw.size))
        matrix = sp.hstack([csr, extra], format="csr")
        weights = np.concatenate([weights, np.full(bonus_tw.size, s.weight_new_township)])
    else:
        matrix = csr
    if len(candidates) == 0 or matrix.nnz == 0:
        selected = np.zeros(0, np.int64)
        sol = None
    else:
        costs = candidates["cost"].to_numpy(dtype=np.float64)
        sol = solve_max_coverage(matrix, weights, budget_sites=s.budget_sites,
                                 costs=costs if s.budget_cost is not None else None,
                                 budget_cost=s.budget_cost, method=s.method,
                                 time_limit_s=s.time_limit_s, solver_banner=progress)
        selected = sol.selected
    # replay the picks for people, trail km and cost per pick
    done = np.zeros(csr.shape[1], bool)
    rows = []
    cum = 0.0
    for rank, i in enumerate(selected, start=1):
        cells = csr.indices[csr.indptr[i]:csr.indptr[i + 1]]
        new = cells[~done[cells]]
        done[new] = True
        new_pop = float(pop_d[new].sum())
        cum += new_pop
        c = candidates.iloc[int(i)]
        ti = int(c["township_index"])
        rows.append({"rank": rank, "candidate_id": c["candidate_id"], "source": c["source"],
                     "lon": float(c["lon"]), "lat": float(c["lat"]), "x_m": float(c["x_m"]),
                     "y_m": float(c["y_m"]), "height_m": float(c["height_m"]),
                     "township_id": tw.table["township_id"].iloc[ti] if ti >= 0 else None,
                     "remote": bool(c["remote"]), "new_population": new_pop,
                     "cumulative_population": cum, "new_trail_km": float(trail_d[new].sum()),
                     "cost": float(c["cost"]),
                     "cost_per_new_person": float(c["cost"]) / new_pop if new_pop > 0
                     else None})
    proposed = pd.DataFrame(rows, columns=[
        "rank", "candidate_id", "source", "lon", "lat", "x_m", "y_m", "height_m", "township_id",
        "remote", "new_population", "cumulative_population", "new_trail_km", "cost",
        "cost_per_new_person"])
    # KPIs as if the proposed sites were built: the real engine over all stations
    after_inputs = _with_proposed_stations(inputs, candidates.iloc[selected], scenario)
    if client is None:  # the KPIs only: no result raster held
        radio, layers = compute_layers(after_inputs, progress=progress, rows=DropRows())
    else:
        radio, layers = compute_layers_distributed(after_inputs, client, progress=progress,
                                                   rows=DropRows())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, kpi_after = compute_kpis(after_inputs, radio, layers)
    kpi_after["proposed_sites"] = int(len(proposed))
    kpi_after["method"] = "coverage recomputed with the proposed sites added as operator " \
        f"'{PROPOSED_OPERATOR}' (one omni {CANDIDATE_TECH} sector each, {s.freq_mhz:g} MHz, " \
        f"EIRP {s.eirp_dbm:g} dBm, mast {s.mast_height_m:g} m unless the candidate file says)"
    kpi_before = {k: v for k, v in before.summary.items() if not isinstance(v, dict | list)}
    summary = {
        "method": s.method,
        "objective": None if sol is None else sol.objective,
        "bound": None if sol is None else sol.bound,
        "gap": None if sol is None else sol.gap,
        "greedy_objective": None if sol is None else sol.greedy_objective,
        "greedy_share_of_optimum": None if sol is None else sol.greedy_share_of_optimum,
        "status": "no candidate adds coverage" if sol is None else sol.status,
        "solver_seconds": None if sol is None else sol.run_time_s,
        "budget_sites": s.budget_sites,
        "budget_cost": s.budget_cost,
        "sites_proposed": int(len(proposed)),
        "total_cost": float(proposed["cost"].sum()),
        "new_population": float(proposed["new_population"].sum()),
        "new_trail_km": float(proposed["new_trail_km"].sum()),
        "candidates": int(len(candidates)),
        "candidates_by_source": candidates["source"].value_counts().to_dict(),
        "demand_cells": int(csr.shape[1]),
        "bonus_townships": int(bonus_tw.size),
        "matrix_nonzeros": int(matrix.nnz),
        "population_coverage_pct_before": before.summary["population_coverage_pct"],
        "population_coverage_pct_after": kpi_after["population_coverage_pct"],
        "remote_population_coverage_pct_before":
            before.summary["remote_population_coverage_pct"],
        "remote_population_coverage_pct_after": kpi_after["remote_population_coverage_pct"],
        "parameters": scenario.to_dict()["sites"],
        "run_seconds": round(time.perf_counter() - t0, 2),
    }
    proposed = gpd.GeoDataFrame(proposed, geometry=gpd.points_from_xy(proposed["x_m"],
                                                                      proposed["y_m"]),
                                crs=inputs.grid.crs)
    return SiteProposal(candidates, proposed, summary, kpi_before, kpi_after,
                        csv_codes=scenario.outputs.csv_codes)
