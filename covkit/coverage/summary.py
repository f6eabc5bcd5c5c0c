"""The KPI summary of a coverage run: per-township table and the national figures regulators
report (population coverage, remote vs non-remote, per operator, speed tiers, zone mode,
households within reach of fibre, trail km, per county), with one-line definitions
(:data:`METHOD`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from covkit.coverage import kpi as K
from covkit.coverage.layers import CoverageLayers, RadioLayers
from covkit.coverage.tally import (
    COVERED,
    POPULATION,
    CoverageSums,
    covered_key,
    excluded_cells,
    tier_key,
)
from covkit.data.inputs import fibre_unusable_reason


def _f(x) -> float:
    return float(x)


METHOD = {
    "rsrp": "RSRP = EIRP - 10 log10(12 N_RB) - path loss + antenna pattern (TR 38.901 Table "
            "7.3-1, relative to boresight, elevation atan((h_rx - h_tx)/d - d/(2 k a))) - "
            "P.2108 clutter (median, if configured) - P.2109 building entry loss (median, if "
            "configured); N_RB from TS 38.101-1 Table 5.3.2-1 (FR2 from 24.25 GHz: TS "
            "38.101-2 Table 5.3.2-1) / TS 36.101 Table 5.6-1",
    "best_server": "sector with the highest RSRP (any operator, and per operator)",
    "sinr": "S / (cell_load * (sum of the other sectors of the same operator and frequency) + "
            "N), N = -174 dBm/Hz + 10 log10(scs) + noise figure, per resource element",
    "coverage_probability": "P(RSRP >= threshold) = Phi((median RSRP - threshold) / "
                            "shadow_sigma_db)",
    "covered": "median RSRP >= threshold + Phi^-1(location_probability) * shadow_sigma_db "
               "(and SINR >= sinr_threshold_db when set); any operator = at least one "
               "operator",
    "population_coverage": "sum of people in covered cells / people in all cells (cells of "
                           "the analysis grid; population polygons spread by exact area "
                           "share, or dasymetric, each polygon's total kept)",
    "township_population": "people of each cell split between townships: by the township "
                           "code the population polygons carry (township totals = their "
                           "counts exactly), else by exact area fraction of the townships "
                           "overlapping the cell",
    "remote": "townships flagged remote in the townships file, by an official list "
              "(inputs.remote_list), or by the rule: population density below "
              "coverage.remote_density_ratio x the national density "
              "(coverage.national_density_per_km2, or national_population / national_area_km2; "
              "else the loaded townships'), or an offshore-island township at least "
              "coverage.offshore_min_km from its county seat (coverage.offshore_distance: "
              "nearest shore or centroid); see remote_rule",
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
    "terrain": "DEMs mosaicked onto the grid in the order given (the first wins where they "
               "overlap); sea (DEM below 0 m) at 0 m for propagation, the sea mask kept for "
               "P.1812's coast distance; cells without DEM data have no terrain and no "
               "coverage (or 0 m flat land inside township polygons with "
               "propagation.no_terrain = flat); a township with more than half of its "
               "population on cells without terrain is not computed and left out of the "
               "coverage percentages",
}


FIBRE_KEYS = ("households_fibre_400m", "fibre_household_coverage_pct",
              "non_remote_households_fibre_400m", "fibre_household_coverage_non_remote_pct")
"""The summary's fibre KPIs: null, with the reason under ``not_computed``, when the fibre
input is missing, empty or out of reach of the grid (kpi_townships.csv leaves its
``households_fibre_400m`` and ``fibre_coverage_pct`` empty then)."""


def coverage_sums(inputs, layers: CoverageLayers) -> CoverageSums:
    """The people sums of the layers' KPIs: those the fold added band by band
    (``layers.sums``), else (layers made without them) those of the whole-grid coverage grids
    per operator and tier, which the layers must then hold."""
    if layers.sums is not None:
        return layers.sums
    return CoverageSums.from_grids(inputs, layers.covered, layers.covered_by_operator,
                                   layers.tier_covered, layers.tier_covered_by_operator)


def compute_kpis(inputs, radio: RadioLayers, layers: CoverageLayers) -> tuple[pd.DataFrame,
                                                                               dict]:
    """Per-township table and the summary dict (without run-time provenance).

    Every coverage figure comes from the people sums the fold added band by band
    (:class:`~covkit.coverage.tally.CoverageSums`); no per-operator or per-tier grid is
    needed. The whole-grid ``layers.covered`` serves the trails only.
    """
    sums = coverage_sums(inputs, layers)
    sc = inputs.scenario
    cov = sc.coverage
    grid = inputs.grid
    pop = np.asarray(inputs.population, dtype=np.float64)
    tw = inputs.townships
    remote = tw.table["remote"].to_numpy(dtype=bool)

    not_computed: dict[str, str] = {}
    fibre_reason = fibre_unusable_reason(inputs.fibre, grid, cov.fibre_distance_m)
    if fibre_reason is None:
        near = K.fibre_cells(grid, inputs.fibre["x_m"].to_numpy(),
                             inputs.fibre["y_m"].to_numpy(), cov.fibre_distance_m,
                             mask=pop > 0)
    else:
        near = np.zeros(grid.shape, dtype=bool)
    hh, hh_f, hh_out, hh_out_f, hh_source = K.households_per_township(
        tw, pop, near, cov.household_size)
    df = K.township_kpis_from_sums(
        tw, sums.township(POPULATION), sums.township(COVERED),
        {op: sums.township(covered_key(op)) for op in radio.operators}, hh, hh_f,
        cov.zone_min_covered_share, {t: sums.township(tier_key(t)) for t in sums.tiers} or None)
    if fibre_reason is not None:
        df["households_fibre_400m"] = np.nan
        df["fibre_coverage_pct"] = np.nan

    terrain = getattr(inputs, "terrain", None)
    # townships not computed (no terrain) and cells without terrain outside every township
    # are left out of the coverage percentages (where() keeps the sums' order otherwise)
    excluded = excluded_cells(tw, None if terrain is None else terrain.no_terrain)
    comp = K.township_computed(df)
    total = _f(pop.sum())
    not_computed_pop = _f(np.where(excluded, pop, 0.0).sum())
    del excluded
    base = total - not_computed_pop
    kept = sums.kept  # people of a key's cells that count in the coverage figures

    covered = kept(COVERED)
    outside = _f(tw.population_outside_townships)
    nr = ~remote

    def block(mask_rows, cov_col="covered_population"):
        p_ = _f(df.loc[mask_rows & comp, "population"].sum())
        c_ = _f(df.loc[mask_rows & comp, cov_col].sum())
        return p_, c_

    nr_pop, nr_cov = block(nr)
    r_pop, r_cov = block(remote)
    summary: dict = {
        "scenario": sc.scenario.name,
        "population_total": total,
        "population_covered": covered,
        "population_uncovered": total - not_computed_pop - covered,
        "population_not_computed": not_computed_pop,
        "population_coverage_pct": K.pct(covered, base),
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
        "remote_rule": dict(getattr(tw, "remote_rule", None) or {}),
    }
    summary.update(terrain_figures(inputs, df, not_computed_pop, not_computed))
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
    if fibre_reason is not None:
        for key in FIBRE_KEYS:
            summary[key] = None
            not_computed[key] = fibre_reason
    # trails
    if inputs.trails is not None:
        t_km, t_cov = K.trail_km_covered(inputs.trails, grid, layers.covered)
        summary.update({"trail_km_total": t_km, "trail_km_covered": t_cov,
                        "trail_coverage_pct": K.pct(t_cov, t_km)})
    else:
        summary.update({"trail_km_total": None, "trail_km_covered": None,
                        "trail_coverage_pct": None})
        not_computed.update(dict.fromkeys(("trail_km_total", "trail_km_covered",
                                           "trail_coverage_pct"),
                                          "no trails input (inputs.trails is not set)"))
    # per operator
    st = inputs.stations.table
    ops = {}
    for op in radio.operators:
        c_col = f"covered_population_{op}"
        c_all = kept(covered_key(op))
        _, c_nr = block(nr, c_col)
        _, c_r = block(remote, c_col)
        rows = st["operator"] == op
        entry = {
            "sectors": int(rows.sum()),
            "sites": int(st.loc[rows, "site_index"].nunique()),
            "population_covered": c_all,
            "population_coverage_pct": K.pct(c_all, base),
            "non_remote_population_coverage_pct": K.pct(c_nr, nr_pop),
            "remote_population_coverage_pct": K.pct(c_r, r_pop),
            "remote_townships_with_coverage": int((remote & (df[c_col] > 0).to_numpy()).sum()),
        }
        for name in sums.tiers:
            entry[f"population_{name}_pct"] = K.pct(kept(tier_key(name, op)), base)
        ops[op] = entry
    summary["operators"] = ops
    # speed tiers (any operator)
    if sums.tiers:
        tiers = {}
        for name in sums.tiers:
            c_t = np.where(comp, sums.township(tier_key(name)), 0.0)
            tiers[name] = {
                "population_pct": K.pct(kept(tier_key(name)), base),
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
            "population_in_covered_zones_pct": K.pct(zp, base),
            "non_remote_population_in_covered_zones_pct": K.pct(
                df.loc[zc & nr, "population"].sum(), nr_pop),
        }
    else:
        summary["zone_mode"] = None
    vdf = village_table(inputs, df, layers)
    summary["villages"] = None if vdf is None else K.village_block(
        vdf, inputs.villages, cov.village_min_covered_share)
    # counties
    counties = {}
    groups = dict(list(df.groupby("county", sort=True)))
    for county in county_order(df):
        g = groups[county]
        ok = K.township_computed(g)
        p_, c_ = _f(g["population"].sum()), _f(g["covered_population"].sum())
        p_ok = _f(g.loc[ok, "population"].sum())
        entry = {"population": p_, "covered_population": c_, "coverage_pct": K.pct(c_, p_ok)}
        if "county_code" in g.columns:
            entry = {"county_code": _first_code(g["county_code"]), **entry}
        if not ok.all():
            entry["population_not_computed"] = p_ - p_ok
        rem = g["remote"].to_numpy(dtype=bool) & ok
        for name, rows in (("non_remote", ~rem & ok), ("remote", rem)):
            pp = _f(g.loc[rows, "population"].sum())
            cc = _f(g.loc[rows, "covered_population"].sum())
            entry.update({f"{name}_population": pp, f"{name}_covered_population": cc,
                          f"{name}_coverage_pct": K.pct(cc, pp)})
        counties[str(county)] = entry
    summary["counties"] = counties
    summary["not_computed"] = not_computed
    return df, summary


def village_table(inputs, township_df: pd.DataFrame,
                  layers: CoverageLayers) -> pd.DataFrame | None:
    """The per-village KPI table (``kpi_villages.csv``, :func:`covkit.coverage.kpi.village_kpis`)
    of a run with villages (``inputs.villages``); None without."""
    villages = getattr(inputs, "villages", None)
    if villages is None:
        return None
    sums = coverage_sums(inputs, layers)
    return K.village_kpis_from_sums(villages, township_df, sums.village(POPULATION),
                                    sums.village(COVERED),
                                    inputs.scenario.coverage.village_min_covered_share)


def terrain_figures(inputs, df: pd.DataFrame, not_computed_pop: float,
                    not_computed: dict) -> dict:
    """The summary's terrain figures: DEM resolution, sea / no-terrain / flat cells, terrain
    flags, stations dropped outside every DEM and standing on the sea, and the townships not
    computed (their population is left out of the coverage percentages; the reason goes to
    ``not_computed``)."""
    terrain = getattr(inputs, "terrain", None)
    st = inputs.stations
    out: dict = {}
    if terrain is not None:
        out.update({k: (int(v) if k.endswith("_cells") else v)
                    for k, v in terrain.figures().items()})
        out["terrain_flags"] = list(terrain.flags)
    out["stations_dropped_outside_dem"] = list(getattr(st, "dropped_ids", ()))
    out["stations_on_sea"] = list(getattr(st, "on_sea_ids", ()))
    off = ~K.township_computed(df)
    out["townships_not_computed"] = df.loc[off, "township_id"].astype(str).tolist()
    if off.any() or not_computed_pop > 0:
        statuses = sorted(set(df.loc[off, "status"].astype(str))) if off.any() else []
        not_computed["townships_not_computed"] = (
            f"{int(off.sum())} township(s) not computed (statuses: "
            f"{'; '.join(statuses) or 'none'}; a township is not computed when more than half "
            "of its population lies on cells without terrain or when it has no grid cell): "
            "their people and those on cells without terrain outside every township, "
            f"{not_computed_pop:,.0f} in all (population_not_computed), are left out of the "
            "coverage percentages; the townships' coverage figures are empty")
    return out
def _code_key(code: str) -> tuple:
    """Sort key of a code: digit codes by value (``"09007"`` < ``"10002"``), then others as
    text."""
    return (0, int(code), code) if code.isdigit() else (1, 0, code)


def _first_code(codes: pd.Series) -> str:
    """The lowest non-empty code of a column (``""`` when none)."""
    text = [str(c) for c in codes if isinstance(c, str) and c.strip()]
    return min(text, key=_code_key) if text else ""


def county_order(df: pd.DataFrame) -> list:
    """The counties of a township table in code order.

    By the ``county_code`` column when there is one; else, when every ``township_id`` is a
    code of digits (Taiwan's TOWNCODE: the first 5 digits are the county code), by the lowest
    township code of each county; else (names only, e.g. the demo's ``D0101``) by name.
    Counties without a code come last, by name.
    """
    names = sorted(df["county"].unique(), key=str)
    col = None
    if "county_code" in df.columns:
        col = "county_code"
    elif "township_id" in df.columns and len(df) and all(
            isinstance(t, str) and t.isdigit() for t in df["township_id"]):
        col = "township_id"
    if col is None:
        return names
    codes = {c: _first_code(g[col]) for c, g in df.groupby("county", sort=True)}
    return sorted(names, key=lambda c: (codes[c] == "", _code_key(codes[c]) if codes[c]
                                        else (2, 0, ""), str(c)))


def headline(summary: dict) -> dict:
    """The figures printed in the summary table (stdout)."""
    keys = ("population_total", "population_coverage_pct", "non_remote_population_coverage_pct",
            "remote_population_coverage_pct", "remote_townships",
            "remote_townships_with_coverage", "fibre_household_coverage_non_remote_pct",
            "trail_coverage_pct", "population_outside_townships")
    out = {k: summary.get(k) for k in keys if summary.get(k) is not None}
    if summary.get("population_not_computed"):
        out["population_not_computed"] = summary["population_not_computed"]
    for op, e in summary.get("operators", {}).items():
        out[f"population_coverage_pct {op}"] = e["population_coverage_pct"]
    for name, t in (summary.get("speed_tiers") or {}).items():
        out[f"population_pct tier {name.replace('_', '/')} Mbps"] = t["population_pct"]
    if summary.get("zone_mode"):
        out["zones_covered"] = summary["zone_mode"]["zones_covered"]
    if summary.get("villages"):
        out["villages_covered"] = summary["villages"]["covered"]
        out["remote_villages"] = summary["villages"]["remote_villages"]
    if "run_seconds" in summary:
        out["run_seconds"] = summary["run_seconds"]
    return out


def _remote_rule_line(summary: dict) -> str:
    rr = summary.get("remote_rule") or {}
    return rr.get("method") or METHOD["remote"]


def headline_methods(summary: dict) -> dict:
    """How each headline figure (:func:`headline`) is computed, in a line: the text printed
    beside it."""
    params = summary.get("parameters") or {}
    cov = params.get("coverage") or {}
    prop = params.get("propagation") or {}
    covered = (f"people in cells whose median RSRP >= {cov.get('rsrp_threshold_dbm', -110):g} dBm "
               f"at {100 * prop.get('location_probability', 0.5):g} % of locations "
               f"({prop.get('model', '?')}, shadowing {prop.get('shadow_sigma_db', 0):g} dB)")
    out = {
        "population_total": "people on the grid (a township's people are its polygons' counts "
                            "when they carry its code, else split by exact area)",
        "population_coverage_pct": f"100 x {covered} / all people computed",
        "non_remote_population_coverage_pct": "the same over non-remote townships",
        "remote_population_coverage_pct": "the same over remote townships",
        "remote_townships": "by density, offshore arm or official list (table below)",
        "remote_townships_with_coverage": "remote townships with at least one covered person",
        "fibre_household_coverage_non_remote_pct": f"households within "
                                                   f"{cov.get('fibre_distance_m', 400):g} m of a "
                                                   "fibre drop point, non-remote townships",
        "trail_coverage_pct": "trail length in covered cells",
        "population_outside_townships": "people on the grid outside every township polygon",
        "population_not_computed": "people of townships without terrain (left out of the "
                                   "percentages)",
        "zones_covered": METHOD["zone_mode"],
        "run_seconds": "wall time of the run",
    }
    for op in summary.get("operators", {}):
        out[f"population_coverage_pct {op}"] = f"as population_coverage_pct, {op}'s sectors only"
    for name in summary.get("speed_tiers") or {}:
        tier = name.replace("_", "/")
        out[f"population_pct tier {tier} Mbps"] = (f"covered and downlink rate >= {tier} Mbps "
                                                   "(attenuated Shannon, TR 36.942 A.2)")
    return out


def remote_rows(summary: dict) -> list[tuple[str, str, str]]:
    """The remote-township rule as printed rows (rule, townships, which): density, each
    offshore addition, list overrides, total."""
    rr = summary.get("remote_rule") or {}
    counts = rr.get("counts") or {}
    if not rr:
        return []
    rows = []
    thr = rr.get("threshold_density_per_km2")
    if thr is not None:
        nd = rr.get("national_density_per_km2")
        rows.append(("density", str(counts.get("density", 0) + counts.get("density+offshore", 0)),
                     f"< {rr.get('density_ratio', 0.2):g} x {nd:,.2f} = {thr:,.2f} people/km2 "
                     f"(national density: {rr.get('national_density_source', '?')})"))
    if rr.get("offshore_applied"):
        adds = rr.get("offshore_additions") or []
        names = ", ".join(f"{a['township_id']} {a['name']} ({a.get('seat_km', float('nan')):.1f}"
                          " km)" for a in adds)
        rows.append(("offshore additions", str(len(adds)),
                     f"island townships >= {rr.get('offshore_min_km'):g} km from their county "
                     f"seat ({rr.get('offshore_distance')}), not remote by density"
                     + (f": {names}" if names else "")))
    elif rr.get("offshore_not_applied_reason"):
        rows.append(("offshore arm", "not applied", str(rr["offshore_not_applied_reason"])))
    listing = rr.get("list")
    if listing:
        rows.append(("official list", str(listing.get("listed")),
                     f"{listing.get('file')} decides; rule only "
                     f"{len(listing.get('rule_only') or [])}, list only "
                     f"{len(listing.get('list_only') or [])}"))
    rows.append(("remote townships", str(rr.get("remote_townships", summary.get(
        "remote_townships"))), "in all" + (" (the official list decides)" if listing else "")))
    return rows


def county_rows(summary: dict) -> list[tuple]:
    """Per county (in the summary's order: by code where there are codes): code, county,
    non-remote population and coverage %, remote population and coverage % (of the townships
    computed), and the population not computed (townships without terrain; 0 when none)."""
    rows = []
    for county, e in (summary.get("counties") or {}).items():
        rows.append((e.get("county_code", ""), county, e.get("non_remote_population"),
                     e.get("non_remote_coverage_pct"), e.get("remote_population"),
                     e.get("remote_coverage_pct"), e.get("population_not_computed", 0.0)))
    return rows
