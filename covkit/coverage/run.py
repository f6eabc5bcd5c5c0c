"""The coverage run: stations -> radio layers -> KPIs -> output files (``covkit run``).

:func:`run_scenario` loads a scenario's inputs, streams over sites (one path-loss computation per
site and distinct carrier frequency, folded into running grids by
:func:`covkit.coverage.radio.reduce_site_window`), derives SINR, coverage probability, coverage
per operator and for any operator, optional throughput and speed tiers, computes the regulator
KPIs (:mod:`covkit.coverage.kpi`) and writes every output atomically
(:class:`covkit.outputs.StagedOutputs`).
"""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from covkit.config import Scenario, load_scenario
from covkit.coverage import kpi as K
from covkit.coverage import radio as R
from covkit.errors import CovkitInputError
from covkit.propagation.constants import EARTH_RADIUS_M

OUTPUT_RASTERS = ("rsrp_best.tif", "rsrp_second.tif", "best_server.tif", "sinr.tif",
                  "coverage_probability.tif", "covered.tif", "throughput_dl_mbps.tif")
OUTPUT_TABLES = ("best_server.csv", "kpi_townships.csv", "kpi_townships.gpkg",
                 "kpi_summary.json")


@dataclass
class RadioLayers:
    """Running-reduction results over all sites (grids on the analysis grid).

    ``best_dbm``/``second_dbm``: best and second-best RSRP [dBm] (NaN = no sector reaches the
    cell); ``server``: best server (stations table row, -1 = none); ``op_best_dbm``/``op_server``:
    per operator (axis 0 in the order of ``operators``); ``layer_mw``: summed received power per
    resource element [mW] per (operator, frequency) layer (``layers``); ``sec_layer``: layer of
    each station row.
    """

    best_dbm: np.ndarray
    second_dbm: np.ndarray
    server: np.ndarray
    op_best_dbm: np.ndarray
    op_server: np.ndarray
    layer_mw: np.ndarray
    operators: list[str]
    layers: list[tuple[str, float]]
    sec_layer: np.ndarray
    n_groups: int


@dataclass
class CoverageResult:
    """Everything a coverage run produced."""

    scenario: Scenario
    grid: object
    rsrp_best_dbm: np.ndarray
    rsrp_second_dbm: np.ndarray
    best_server: np.ndarray
    sinr_db: np.ndarray
    coverage_probability: np.ndarray
    covered: np.ndarray
    covered_by_operator: dict[str, np.ndarray]
    throughput_dl_mbps: np.ndarray | None
    townships: pd.DataFrame
    summary: dict
    files: list[Path] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# validation helpers


def engine_settings(scenario: Scenario):
    """:class:`~covkit.propagation.engine.EngineSettings` from the scenario's [propagation]
    section (median location: the coverage layer applies shadowing itself)."""
    from covkit.propagation.engine import EngineSettings

    p = scenario.propagation
    return EngineSettings(model=p.model, time_pct=p.time_pct, location_pct=50.0,
                          sigma_l_db=0.0, polarization=p.polarization, dn=p.dn, n0=p.n0,
                          environment=p.environment, los_mode=p.los_mode)


def coast_raster(dem_m, affine6, model):
    """Distance to the sea [km] on the analysis grid for P.1812's coastal-land zone
    (:func:`~covkit.propagation.terrain.coast_distance_km`); None for the other models."""
    if model != "p1812":
        return None
    from covkit.propagation.terrain import coast_distance_km

    return coast_distance_km(dem_m, affine6[1])


def uses_clutter(scenario: Scenario) -> bool:
    """P.2108 clutter applies when configured and the model is not a TR 38.901 one."""
    p = scenario.propagation
    return p.clutter == "p2108" and not p.model.startswith("38901")


def station_carriers(stations) -> pd.DataFrame:
    """Per station row: N_RB, EIRP per resource element [dBm] and subcarrier spacing.

    Raises
    ------
    CovkitInputError
        Naming the stations file, the row and the station for a bandwidth / subcarrier
        spacing the 3GPP tables do not define.
    """
    st = stations.table
    nrb = np.zeros(len(st), dtype=np.int64)
    for i, (sid, tech, bw, scs) in enumerate(zip(st["station_id"], st["tech"],
                                                 st["bandwidth_mhz"], st["scs_khz"],
                                                 strict=True)):
        try:
            nrb[i] = R.n_rb(str(tech), float(bw), float(scs))
        except CovkitInputError as exc:
            msg = str(exc).split(": ", 1)[-1]
            raise CovkitInputError(f"station {sid!r}: {msg}", file=stations.source,
                                   column=exc.column, row=i + 1) from None
    eirp_re = st["eirp_dbm"].to_numpy(dtype=np.float64) - 10.0 * np.log10(12.0 * nrb)
    return pd.DataFrame({"n_rb": nrb, "eirp_re_dbm": eirp_re})


def _check_frequencies(stations, scenario: Scenario) -> None:
    freq = stations.table["freq_mhz"].to_numpy()
    checks = []
    if uses_clutter(scenario):
        checks.append(("propagation.clutter = \"p2108\"", R.CLUTTER_FREQ_RANGE_MHZ))
    if scenario.propagation.building_entry != "none":
        checks.append(("propagation.building_entry (P.2109)", R.BEL_FREQ_RANGE_MHZ))
    for what, (lo, hi) in checks:
        bad = (freq < lo) | (freq > hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CovkitInputError(
                f"station {stations.table['station_id'].iloc[i]!r}: {freq[i]:g} MHz is outside "
                f"{lo:g}-{hi:g} MHz, the validity of {what}", file=stations.source,
                column="freq_mhz", row=i + 1)


def _warn_outside_validity(stations, scenario: Scenario) -> None:
    """Warn (documented, not an error) when antenna heights lie outside the distance model's
    validity: coverage maps extrapolate such models, floored at free space."""
    from covkit.data.loaders import warn
    from covkit.propagation.models import model_info

    info = model_info(scenario.propagation.model)
    if info.needs_terrain:
        return
    checks = (("tx_height_agl_m", stations.table["height_m"].to_numpy()),
              ("rx_height_agl_m", np.array([scenario.propagation.receiver_height_m])))
    for key, values in checks:
        lo, hi = info.validity[key]
        bad = (values < lo) | (values > hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = (f"{int(bad.sum())} station(s), first {stations.table['station_id'].iloc[i]!r}"
                    f" at {values[i]:g} m" if key == "tx_height_agl_m" else
                    f"propagation.receiver_height_m = {values[i]:g} m")
            warn(f"{what}: outside the {info.name} validity {lo:g}-{hi:g} m for {key}; the "
                 "model is extrapolated (never below free space)")


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), disable=not enabled, transient=False)


# ----------------------------------------------------------------------------------------------
# radio layers


def compute_radio(inputs, progress: bool = True) -> RadioLayers:
    """Stream over sites and fold every sector into the running grids.

    Sectors of one site share one path-loss computation per distinct frequency.
    """
    from covkit.propagation.engine import site_loss_window

    sc = inputs.scenario
    p = sc.propagation
    grid = inputs.grid
    st = inputs.stations.table
    stations = inputs.stations
    settings = engine_settings(sc)
    carriers = station_carriers(stations)
    _check_frequencies(stations, sc)
    _warn_outside_validity(stations, sc)

    operators = stations.operators
    op_index = {o: i for i, o in enumerate(operators)}
    sec_op = st["operator"].map(op_index).to_numpy(dtype=np.int64)
    layer_keys = list(zip(st["operator"], st["freq_mhz"].astype(float), strict=True))
    layers = sorted(set(layer_keys))
    layer_index = {k: i for i, k in enumerate(layers)}
    sec_layer = np.array([layer_index[k] for k in layer_keys], dtype=np.int64)

    h, w = grid.shape
    n_op = len(operators)
    best = np.full((h, w), -np.inf, dtype=np.float32)
    second = np.full((h, w), -np.inf, dtype=np.float32)
    server = np.full((h, w), -1, dtype=np.int32)
    op_best = np.full((n_op, h, w), -np.inf, dtype=np.float32)
    op_server = np.full((n_op, h, w), -1, dtype=np.int32)
    layer_mw = np.zeros((len(layers), h, w), dtype=np.float32)

    dem = np.ascontiguousarray(inputs.dem_m, dtype=np.float64)
    affine6 = grid.affine6
    srow, scol = grid.index_of(stations.site_x_m, stations.site_y_m)
    srow = np.clip(srow, 0, h - 1)
    scol = np.clip(scol, 0, w - 1)
    site_ground = dem[srow, scol]
    site_lat = st.groupby("site_index")["lat"].first()
    ae_m = p.k_factor * EARTH_RADIUS_M
    radius_m = p.max_radius_km * 1000.0
    clutter_on = uses_clutter(sc)
    building = R.BUILDING_CODES[p.building_entry]
    eirp_re = carriers["eirp_re_dbm"].to_numpy()
    az = st["azimuth_deg"].to_numpy(dtype=np.float64)
    tilt = st["tilt_deg"].to_numpy(dtype=np.float64)
    beam = st["beamwidth_deg"].to_numpy(dtype=np.float64)

    groups = list(st.groupby(["site_index", "freq_mhz"], sort=True).indices.items())
    with _progress(progress) as bar:
        task = bar.add_task(f"coverage: {stations.n_sites} sites ({len(groups)} site-frequency "
                            "groups)", total=len(groups))
        for (site, freq), rows in groups:
            rows = np.asarray(rows, dtype=np.int64)
            site = int(site)
            try:
                win = site_loss_window(dem, affine6, float(stations.site_x_m[site]),
                                       float(stations.site_y_m[site]),
                                       float(stations.site_height_m[site]),
                                       float(p.receiver_height_m), float(freq), radius_m,
                                       settings, site_lat_deg=float(site_lat.loc[site]),
                                       coast_km=inputs.coast_km)
            except CovkitInputError as exc:
                i = int(rows[0])
                raise CovkitInputError(
                    f"station {st['station_id'].iloc[i]!r} (model {p.model}): {exc}",
                    file=stations.source, column=exc.column, row=i + 1) from None
            R.reduce_site_window(
                np.ascontiguousarray(win.loss_db), int(win.row0), int(win.col0), dem, affine6,
                float(stations.site_x_m[site]), float(stations.site_y_m[site]),
                float(site_ground[site] + stations.site_height_m[site]),
                float(p.receiver_height_m), ae_m, float(freq), clutter_on, building,
                rows, eirp_re[rows], az[rows], tilt[rows], beam[rows], sec_op[rows],
                sec_layer[rows], best, second, server, op_best, op_server, layer_mw)
            bar.advance(task)
    for a in (best, second, op_best):
        a[np.isneginf(a)] = np.nan
    return RadioLayers(best, second, server, op_best, op_server, layer_mw, operators, layers,
                       sec_layer, len(groups))


# ----------------------------------------------------------------------------------------------
# coverage from radio layers


@dataclass
class CoverageLayers:
    sinr_db: np.ndarray
    coverage_probability: np.ndarray
    covered: np.ndarray
    covered_by_operator: dict[str, np.ndarray]
    throughput_dl_mbps: np.ndarray | None
    tier_covered: dict[str, np.ndarray]
    tier_covered_by_operator: dict[str, dict[str, np.ndarray]]
    required_median_dbm: float


def _tier_name(dl, ul) -> str:
    return f"{dl:g}_{ul:g}"


def coverage_from_radio(radio: RadioLayers, inputs) -> CoverageLayers:
    """SINR, coverage probability, covered (any operator and per operator), throughput.

    A pixel is covered by an operator when its best RSRP reaches the median the location
    probability requires (threshold + z sigma) and, when ``coverage.sinr_threshold_db`` is
    set, the SINR of that best server reaches it too. Covered by any operator = covered by at
    least one operator.
    """
    sc = inputs.scenario
    cov = sc.coverage
    p = sc.propagation
    st = inputs.stations.table
    noise_dbm = R.noise_per_re_dbm(st["scs_khz"].to_numpy(dtype=np.float64),
                                   cov.noise_figure_db)
    noise_mw = 10.0 ** (0.1 * noise_dbm)
    req = R.required_median_dbm(cov.rsrp_threshold_dbm, p.shadow_sigma_db,
                                p.location_probability)
    throughput = cov.throughput == "shannon"
    tech = st["tech"].astype(str).to_numpy()
    bw = st["bandwidth_mhz"].to_numpy(dtype=np.float64)
    max_eff = np.array([R.SHANNON_MAX_BPS_HZ[t] for t in tech])
    overhead = np.array([R.DL_OVERHEAD[t] for t in tech])

    def sinr_of(best, server):
        out = np.empty(best.shape, dtype=np.float32)
        return R.sinr_db_kernel(best, server, radio.sec_layer, radio.layer_mw, noise_mw,
                                float(cov.cell_load), out)

    def covered_of(best, sinr):
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(best) & (best >= req)
            if cov.sinr_threshold_db is not None:
                ok &= np.isfinite(sinr) & (sinr >= cov.sinr_threshold_db)
        return ok

    def thr_of(sinr, server):
        out = np.empty(sinr.shape, dtype=np.float32)
        return R.throughput_kernel(sinr, server, bw, max_eff, overhead, out)

    sinr_any = sinr_of(radio.best_dbm, radio.server)
    prob = R.coverage_probability(radio.best_dbm, cov.rsrp_threshold_dbm,
                                  p.shadow_sigma_db).astype(np.float32)
    covered_any = np.zeros(radio.best_dbm.shape, dtype=bool)
    by_op: dict[str, np.ndarray] = {}
    tiers = [_tier_name(d, u) for d, u in R.SPEED_TIERS_MBPS]
    tier_any = {t: np.zeros(radio.best_dbm.shape, dtype=bool) for t in tiers} if throughput \
        else {}
    tier_op: dict[str, dict[str, np.ndarray]] = {}
    thr_best = None
    if throughput:
        thr_best = np.full(radio.best_dbm.shape, np.nan, dtype=np.float32)
    for o, op in enumerate(radio.operators):
        ob = radio.op_best_dbm[o]
        osrv = radio.op_server[o]
        s = sinr_of(ob, osrv)
        c = covered_of(ob, s)
        by_op[op] = c
        covered_any |= c
        if throughput:
            t = thr_of(s, osrv)
            tier_op[op] = {}
            for (dl, _ul), name in zip(R.SPEED_TIERS_MBPS, tiers, strict=True):
                with np.errstate(invalid="ignore"):
                    tc = c & (t >= dl)
                tier_op[op][name] = tc
                tier_any[name] |= tc
            thr_best = np.fmax(thr_best, t)
        del s
    return CoverageLayers(sinr_any, prob, covered_any, by_op, thr_best, tier_any, tier_op, req)


# ----------------------------------------------------------------------------------------------
# KPIs and summary


def _file_info(path: Path | None) -> dict | None:
    if path is None:
        return None
    path = Path(path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": h.hexdigest()}


def _f(x) -> float:
    return float(x)


METHOD = {
    "rsrp": "RSRP = EIRP - 10 log10(12 N_RB) - path loss + antenna pattern (TR 38.901 Table "
            "7.3-1, relative to boresight, elevation atan((h_rx - h_tx)/d - d/(2 k a))) - "
            "P.2108 clutter (median, if configured) - P.2109 building entry loss (median, if "
            "configured); N_RB from TS 38.101-1 Table 5.3.2-1 / TS 36.101 Table 5.6-1",
    "best_server": "sector with the highest RSRP (any operator, and per operator)",
    "sinr": "S / (cell_load * (sum of the other sectors of the same operator and frequency) + "
            "N), N = -174 dBm/Hz + 10 log10(scs) + noise figure, per resource element",
    "coverage_probability": "P(RSRP >= threshold) = Phi((median RSRP - threshold) / "
                            "shadow_sigma_db)",
    "covered": "median RSRP >= threshold + Phi^-1(location_probability) * shadow_sigma_db "
               "(and SINR >= sinr_threshold_db when set); any operator = at least one "
               "operator",
    "population_coverage": "sum of people in covered cells / people in all cells (cells of "
                           "the analysis grid, population raster spread exactly)",
    "remote": "townships flagged remote in the townships file or by the density rule "
              "(coverage.remote_density_ratio x national average density)",
    "households": "population / coverage.household_size per cell, or the townships file's "
                  "households column",
    "fibre": "households in cells whose centre lies within coverage.fibre_distance_m of a "
             "fibre drop point",
    "trails": "trail length whose sample points (quarter-cell spacing) fall in covered cells",
    "throughput": "attenuated Shannon (TR 36.942 A.2): 0.6 log2(1+SINR), 0 below -10 dB, "
                  "max 4.4 (LTE) / 7.4063 (NR) bit/s/Hz, x bandwidth x (1 - overhead 0.25 "
                  "LTE / 0.14 NR); tiers 7/1 and 35/3 Mbps on downlink only (uplink not "
                  "modelled); a tier pixel must also be covered",
    "zone_mode": "a township counts as covered when covered population / population >= "
                 "coverage.zone_min_covered_share",
}


def compute_kpis(inputs, radio: RadioLayers, layers: CoverageLayers) -> tuple[pd.DataFrame,
                                                                               dict]:
    """Per-township table and the summary dict (without run-time provenance)."""
    sc = inputs.scenario
    cov = sc.coverage
    grid = inputs.grid
    pop = np.asarray(inputs.population, dtype=np.float64)
    tw = inputs.townships
    remote = tw.table["remote"].to_numpy(dtype=bool)

    if inputs.fibre is not None and len(inputs.fibre):
        near = K.fibre_cells(grid, inputs.fibre["x_m"].to_numpy(),
                             inputs.fibre["y_m"].to_numpy(), cov.fibre_distance_m,
                             mask=pop > 0)
    else:
        near = np.zeros(grid.shape, dtype=bool)
    hh, hh_f, hh_out, hh_out_f, hh_source = K.households_per_township(
        tw, pop, near, cov.household_size)
    df = K.township_kpis(tw, pop, layers.covered, layers.covered_by_operator, hh, hh_f,
                         cov.zone_min_covered_share, layers.tier_covered or None)

    total = _f(pop.sum())
    covered = _f((pop * layers.covered).sum())
    outside = _f(tw.population_outside_townships)
    nr = ~remote

    def block(mask_rows, cov_col="covered_population"):
        p_ = _f(df.loc[mask_rows, "population"].sum())
        c_ = _f(df.loc[mask_rows, cov_col].sum())
        return p_, c_

    nr_pop, nr_cov = block(nr)
    r_pop, r_cov = block(remote)
    summary: dict = {
        "scenario": sc.scenario.name,
        "population_total": total,
        "population_covered": covered,
        "population_uncovered": total - covered,
        "population_coverage_pct": K.pct(covered, total),
        "population_in_townships": _f(df["population"].sum()),
        "population_outside_townships": outside,
        "population_outside_townships_covered": covered - _f(df["covered_population"].sum()),
        "non_remote_population": nr_pop,
        "non_remote_population_covered": nr_cov,
        "non_remote_population_coverage_pct": K.pct(nr_cov, nr_pop),
        "remote_population": r_pop,
        "remote_population_covered": r_cov,
        "remote_population_coverage_pct": K.pct(r_cov, r_pop),
        "townships": len(df),
        "remote_townships": int(remote.sum()),
        "remote_townships_with_coverage": int((remote & (df["covered_population"] > 0)
                                               .to_numpy()).sum()),
    }
    # households and fibre
    hh_total = _f(hh.sum()) + hh_out
    hh_f_total = _f(hh_f.sum()) + hh_out_f
    summary.update({
        "households_total": hh_total,
        "households_fibre_400m": hh_f_total,
        "fibre_household_coverage_pct": K.pct(hh_f_total, hh_total),
        "non_remote_households": _f(hh[nr].sum()),
        "non_remote_households_fibre_400m": _f(hh_f[nr].sum()),
        "fibre_household_coverage_non_remote_pct": K.pct(hh_f[nr].sum(), hh[nr].sum()),
        "households_source": hh_source,
        "fibre_distance_m": cov.fibre_distance_m,
    })
    # trails
    if inputs.trails is not None:
        t_km, t_cov = K.trail_km_covered(inputs.trails, grid, layers.covered)
        summary.update({"trail_km_total": t_km, "trail_km_covered": t_cov,
                        "trail_coverage_pct": K.pct(t_cov, t_km)})
    else:
        summary.update({"trail_km_total": None, "trail_km_covered": None,
                        "trail_coverage_pct": None})
    # per operator
    st = inputs.stations.table
    ops = {}
    for op in radio.operators:
        c_col = f"covered_population_{op}"
        c_all = _f((pop * layers.covered_by_operator[op]).sum())
        _, c_nr = block(nr, c_col)
        _, c_r = block(remote, c_col)
        rows = st["operator"] == op
        entry = {
            "sectors": int(rows.sum()),
            "sites": int(st.loc[rows, "site_index"].nunique()),
            "population_covered": c_all,
            "population_coverage_pct": K.pct(c_all, total),
            "non_remote_population_coverage_pct": K.pct(c_nr, nr_pop),
            "remote_population_coverage_pct": K.pct(c_r, r_pop),
            "remote_townships_with_coverage": int((remote & (df[c_col] > 0).to_numpy()).sum()),
        }
        for name, grids in layers.tier_covered_by_operator.get(op, {}).items():
            entry[f"population_{name}_pct"] = K.pct((pop * grids).sum(), total)
        ops[op] = entry
    summary["operators"] = ops
    # speed tiers (any operator)
    if layers.tier_covered:
        tiers = {}
        zone = tw.zone
        for name, grids in layers.tier_covered.items():
            c_t, _ = K.zone_sums(zone, pop * grids, len(df))
            tiers[name] = {
                "population_pct": K.pct((pop * grids).sum(), total),
                "non_remote_population_pct": K.pct(c_t[nr].sum(), nr_pop),
                "remote_population_pct": K.pct(c_t[remote].sum(), r_pop),
            }
        summary["speed_tiers"] = tiers
    else:
        summary["speed_tiers"] = None
    # zone mode
    if cov.zone_min_covered_share is not None:
        zc = df["zone_covered"].to_numpy(dtype=bool)
        zp = _f(df.loc[zc, "population"].sum())
        summary["zone_mode"] = {
            "min_covered_share": cov.zone_min_covered_share,
            "zones": len(df),
            "zones_covered": int(zc.sum()),
            "non_remote_zones_covered": int((zc & nr).sum()),
            "remote_zones_covered": int((zc & remote).sum()),
            "population_in_covered_zones": zp,
            "population_in_covered_zones_pct": K.pct(zp, total),
            "non_remote_population_in_covered_zones_pct": K.pct(
                df.loc[zc & nr, "population"].sum(), nr_pop),
        }
    else:
        summary["zone_mode"] = None
    # counties
    counties = {}
    for county, g in df.groupby("county", sort=True):
        p_, c_ = _f(g["population"].sum()), _f(g["covered_population"].sum())
        counties[str(county)] = {"population": p_, "covered_population": c_,
                                 "coverage_pct": K.pct(c_, p_)}
    summary["counties"] = counties
    return df, summary


def headline(summary: dict) -> dict:
    """The figures printed in the summary table (stdout)."""
    keys = ("population_total", "population_coverage_pct", "non_remote_population_coverage_pct",
            "remote_population_coverage_pct", "remote_townships",
            "remote_townships_with_coverage", "fibre_household_coverage_non_remote_pct",
            "trail_coverage_pct", "population_outside_townships")
    out = {k: summary.get(k) for k in keys if summary.get(k) is not None}
    for op, e in summary.get("operators", {}).items():
        out[f"population_coverage_pct {op}"] = e["population_coverage_pct"]
    for name, t in (summary.get("speed_tiers") or {}).items():
        out[f"population_pct tier {name.replace('_', '/')} Mbps"] = t["population_pct"]
    if summary.get("zone_mode"):
        out["zones_covered"] = summary["zone_mode"]["zones_covered"]
    if "run_seconds" in summary:
        out["run_seconds"] = summary["run_seconds"]
    return out


# ----------------------------------------------------------------------------------------------
# orchestration


def _write_outputs(out_dir: Path, result: CoverageResult, inputs, radio: RadioLayers,
                   layers: CoverageLayers) -> list[Path]:
    import geopandas as gpd

    from covkit.outputs import StagedOutputs

    grid = inputs.grid
    name = inputs.scenario.scenario.name
    computed = np.isfinite(radio.best_dbm)
    covered_u8 = np.where(computed, layers.covered.astype(np.uint8), np.uint8(255))
    st = inputs.stations.table
    legend = pd.DataFrame({"value": np.arange(len(st)), "station_id": st["station_id"],
                           "site_id": st["site_id"], "operator": st["operator"],
                           "freq_mhz": st["freq_mhz"], "tech": st["tech"]})
    gdf = gpd.GeoDataFrame(result.townships.copy(),
                           geometry=np.asarray(inputs.townships.gdf.geometry.values),
                           crs=grid.crs)

    def tags(what, unit):
        return {"scenario": name, "layer": what, "unit": unit, "producer": "covkit run"}

    with StagedOutputs(out_dir) as out:
        out.cog("rsrp_best.tif", radio.best_dbm, grid, np.nan,
                tags("best RSRP over all sectors", "dBm"), "rsrp_best_dbm")
        out.cog("rsrp_second.tif", radio.second_dbm, grid, np.nan,
                tags("second-best RSRP over all sectors", "dBm"), "rsrp_second_dbm")
        out.cog("best_server.tif", radio.server, grid, -1,
                tags("best server: 0-based row of the stations table (best_server.csv)", ""),
                "best_server")
        out.cog("sinr.tif", layers.sinr_db, grid, np.nan,
                tags("SINR of the best server", "dB"), "sinr_db")
        out.cog("coverage_probability.tif", layers.coverage_probability, grid, np.nan,
                tags("P(best RSRP >= threshold) under log-normal shadowing", "0-1"),
                "coverage_probability")
        out.cog("covered.tif", covered_u8, grid, 255,
                tags("1 = covered by at least one operator, 0 = not", ""), "covered")
        if layers.throughput_dl_mbps is not None:
            out.cog("throughput_dl_mbps.tif", layers.throughput_dl_mbps, grid, np.nan,
                    tags("best downlink throughput over operators (attenuated Shannon)",
                         "Mbit/s"), "throughput_dl_mbps")
        out.csv("best_server.csv", legend)
        out.csv("kpi_townships.csv", result.townships)
        out.gpkg("kpi_townships.gpkg", gdf, layer="kpi_townships")
        summary = dict(result.summary)
        summary["outputs"] = [p.name for p in out.files] + ["kpi_summary.json"]
        out.json("kpi_summary.json", summary)
        files = out.files
    # a known output this run did not produce (e.g. throughput switched off) would be stale
    written = {p.name for p in files}
    for stale in OUTPUT_RASTERS + OUTPUT_TABLES:
        if stale not in written:
            (out_dir / stale).unlink(missing_ok=True)
    result.summary = summary
    return files


def run_scenario(scenario_or_path, out_dir: Path | str | None = None, progress: bool = True,
                 inputs=None) -> CoverageResult:
    """Run coverage and KPIs for a scenario; write the outputs when ``out_dir`` is given.

    Parameters
    ----------
    scenario_or_path : Scenario or path to a scenario TOML file
    out_dir : path, optional
        Output folder (created). Files are written atomically: all or none.
    progress : bool
        Show a progress bar over sites on stderr.
    inputs : covkit.api.Inputs, optional
        Already loaded inputs of the same scenario.

    Returns
    -------
    CoverageResult
    """
    from covkit import __version__
    from covkit.api import load_inputs
    from covkit.data.loaders import warn

    t0 = time.perf_counter()
    scenario = scenario_or_path if isinstance(scenario_or_path, Scenario) else \
        load_scenario(scenario_or_path)
    if inputs is None:
        inputs = load_inputs(scenario)
    tw = inputs.townships
    K.check_township_overlaps(tw.gdf, tw.table["township_id"].to_numpy(), file=tw.source)
    run_warnings: list[str] = []
    if tw.population_outside_townships > 0:
        msg = (f"{tw.population_outside_townships:,.1f} people lie outside every township "
               "(gaps between township polygons or grid beyond them); they count in the "
               "national totals and are reported as population_outside_townships")
        run_warnings.append(msg)
        warn(msg)

    radio = compute_radio(inputs, progress=progress)
    if not np.isfinite(radio.best_dbm).any():
        raise CovkitInputError(
            f"no grid cell lies within propagation.max_radius_km = "
            f"{scenario.propagation.max_radius_km:g} km of any station on known terrain",
            file=inputs.stations.source)
    layers = coverage_from_radio(radio, inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        df, summary = compute_kpis(inputs, radio, layers)

    inp = scenario.inputs
    summary = {
        **summary,
        "covkit_version": __version__,
        "grid": {"crs": inputs.grid.crs, "resolution_m": inputs.grid.resolution_m,
                 "width": inputs.grid.width, "height": inputs.grid.height,
                 "bounds": list(inputs.grid.bounds)},
        "stations": {"sectors": len(inputs.stations.table), "sites": inputs.stations.n_sites,
                     "site_frequency_groups": radio.n_groups,
                     "operators": radio.operators},
        "cells_computed": int(np.isfinite(radio.best_dbm).sum()),
        "required_median_rsrp_dbm": layers.required_median_dbm,
        "warnings": run_warnings,
        "method": METHOD,
        "parameters": scenario.to_dict(),
        "input_files": {k: _file_info(getattr(inp, k)) for k in
                        ("dem", "stations", "population", "townships", "fibre", "trails",
                         "candidates")},
        "scenario_file": None if scenario.path is None else str(scenario.path),
        "run_seconds": round(time.perf_counter() - t0, 2),
    }
    result = CoverageResult(scenario, inputs.grid, radio.best_dbm, radio.second_dbm,
                            radio.server, layers.sinr_db, layers.coverage_probability,
                            layers.covered, layers.covered_by_operator,
                            layers.throughput_dl_mbps, df, summary)
    if out_dir is not None:
        result.files = _write_outputs(Path(out_dir), result, inputs, radio, layers)
    return result
