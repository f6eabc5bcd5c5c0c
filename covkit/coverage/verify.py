"""Verification of a coverage prediction against measured test points (``covkit verify``).

For every test point the predicted RSRP of the point's operator is taken two ways:

* ``point``: the exact point-to-point prediction, the best server of that operator at the
  point's own coordinates (:func:`covkit.coverage.points.point_rsrp`: the engine's reference
  path and the coverage fold's RSRP kernel);
* ``raster``: the run's per-operator best-RSRP raster at the grid cell holding the point.

The error is **predicted minus measured** [dB] (positive: the map is optimistic). Error
statistics (n, mean, standard deviation, RMSE, 5 / 50 / 95 % percentiles) are given overall and
per operator, band (carrier frequency of the point's best server), distance bin (to that
server's site, :data:`DISTANCE_BINS_KM`), terrain class (local DEM relief,
:func:`covkit.data.measurements.terrain_class`; P.2108 clutter has no land-cover classes, so
the relief rule applies with clutter on too) and township (the zone raster at the point's
cell). Points the operator does not reach (no prediction) or without a measured RSRP count in
the summary but not in the error statistics.

Reliability (ARCEP style): the share of test points whose covered / not-covered status the map
confirms, with a Wilson score 95 % interval (:func:`wilson_interval`). The map calls a point
covered when the operator's raster RSRP at its cell reaches the required median RSRP
(``coverage.rsrp_threshold_dbm`` plus the shadowing margin of
``propagation.location_probability``); with ``coverage.sinr_threshold_db`` set and measured
SINR in the file, the map's status is the run's own per-operator covered layer (RSRP and
SINR) and a test is covered when it meets both thresholds. A test point is covered when its
measured RSRP reaches ``coverage.rsrp_threshold_dbm``. Points with no prediction are
not covered on the map. ``reliability_share_point`` is the same with the exact point
prediction in place of the raster.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from covkit.coverage.challenge import ChallengeRules, challenge_hexagons, challenge_summary
from covkit.coverage.challenge_files import CHALLENGE_FILES, write_challenge_hexagons
from covkit.coverage.points import point_rsrp
from covkit.coverage.radio import required_median_dbm
from covkit.data.measurements import terrain_class
from covkit.outputs import RunCommit

VERIFY_SUMMARY = "verify_summary.json"
VERIFY_POINTS_CSV = "verify_points.csv"
VERIFY_ERRORS_CSV = "verify_errors.csv"
VERIFY_PLOT = "verify_scatter.png"
VERIFY_GEOJSON = "verify_points.geojson"
VERIFY_MAP = "verify_map.html"
VERIFY_FILES = (VERIFY_SUMMARY, VERIFY_POINTS_CSV, VERIFY_ERRORS_CSV, VERIFY_PLOT,
                VERIFY_GEOJSON, VERIFY_MAP) + CHALLENGE_FILES
"""The files :meth:`Verification.write` puts in a folder (one set, written atomically)."""

DISTANCE_BINS_KM = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, math.inf)
"""Edges [km] of the distance bins (left-closed: [0, 0.5), [0.5, 1), ...)."""

GROUPS = ("operator", "band_mhz", "distance_bin", "terrain_class", "township_id")
"""The columns the error statistics are grouped by (beside ``all``)."""

METHODS = {"point": "error_point_db", "raster": "error_raster_db"}

Z95 = 1.959963984540054
"""Standard normal quantile of 97.5 % (two-sided 95 % interval)."""


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial share ``k / n`` (Wilson 1927)::

        centre = (p + z^2 / 2n) / (1 + z^2 / n)
        half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)

    The bounds are exactly 0 for ``k = 0`` and 1 for ``k = n``; (NaN, NaN) for ``n = 0``."""
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z / d * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    return (0.0 if k == 0 else max(0.0, centre - half),
            1.0 if k == n else min(1.0, centre + half))


def error_stats(err) -> dict:
    """n, mean, standard deviation (ddof 1), RMSE and the 5 / 50 / 95 % percentiles [dB] of
    the finite errors."""
    e = np.asarray(err, dtype=np.float64)
    e = e[np.isfinite(e)]
    n = int(e.size)
    if n == 0:
        return {"n": 0, "mean_error_db": math.nan, "std_error_db": math.nan,
                "rmse_db": math.nan, "p5_error_db": math.nan, "p50_error_db": math.nan,
                "p95_error_db": math.nan}
    p5, p50, p95 = np.percentile(e, [5.0, 50.0, 95.0])
    return {"n": n, "mean_error_db": float(e.mean()),
            "std_error_db": float(e.std(ddof=1)) if n > 1 else math.nan,
            "rmse_db": float(np.sqrt(np.mean(e * e))), "p5_error_db": float(p5),
            "p50_error_db": float(p50), "p95_error_db": float(p95)}


def distance_bin(distance_m) -> np.ndarray:
    """Label of the distance bin of each distance [m] (:data:`DISTANCE_BINS_KM`), None for
    NaN."""
    km = np.asarray(distance_m, dtype=np.float64) / 1000.0
    edges = np.asarray(DISTANCE_BINS_KM)
    idx = np.searchsorted(edges, km, side="right") - 1
    labels = [f"{a:g}-{b:g} km" if math.isfinite(b) else f">= {a:g} km"
              for a, b in zip(edges[:-1], edges[1:], strict=True)]
    out = np.empty(km.size, dtype=object)
    for i, (k, j) in enumerate(zip(km, idx, strict=True)):
        out[i] = labels[min(max(int(j), 0), len(labels) - 1)] if np.isfinite(k) else None
    return out


def verify_points(result, measurements: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The per-point table of a verification: measured vs predicted at every test point.

    Parameters
    ----------
    result : CoverageResult
        A run with per-operator grids (``rsrp_best_by_operator_dbm``).
    measurements : GeoDataFrame
        From :func:`covkit.data.measurements.read_measurements`.

    Returns
    -------
    GeoDataFrame (working CRS), one row per test point
        The measurement columns, then ``township_id``, ``township``, ``terrain_class``,
        ``relief_m``, ``ground_m``, the best server of the exact prediction (``station_id``,
        ``site_id``, ``band_mhz``, ``model``, ``tech``, ``loss_db``, ``distance_m``,
        ``distance_bin``), ``rsrp_point_dbm``, ``rsrp_raster_dbm``, ``error_point_db``,
        ``error_raster_db`` (predicted minus measured), ``covered_map``, ``covered_point``,
        ``covered_measured`` (None without a measured RSRP), ``confirmed_map``,
        ``confirmed_point``: the columns calibration refits from.
    """
    inputs = result.inputs
    grid = inputs.grid
    m = measurements.reset_index(drop=True)
    x = m["x_m"].to_numpy(dtype=np.float64)
    y = m["y_m"].to_numpy(dtype=np.float64)
    r = m["row"].to_numpy(dtype=np.int64)
    c = m["col"].to_numpy(dtype=np.int64)
    pred = point_rsrp(inputs, x, y, m["operator"].to_numpy(dtype=object))
    out = pd.DataFrame(m.drop(columns=m.geometry.name))
    tw = inputs.townships
    zone = tw.zone[r, c]
    ids = tw.table["township_id"].astype(str).to_numpy()
    names = tw.table["name"].astype(str).to_numpy()
    out["township_id"] = np.where(zone >= 0, ids[np.maximum(zone, 0)], None)
    out["township"] = np.where(zone >= 0, names[np.maximum(zone, 0)], None)
    sea = inputs.terrain.sea if inputs.terrain is not None else None
    cls, rel = terrain_class(inputs.dem_m, grid, x, y, sea=sea)
    out["terrain_class"], out["relief_m"] = cls, rel
    out["ground_m"] = pred["ground_m"].to_numpy()
    for col in ("station_id", "site_id"):
        out[col] = pred[col].to_numpy()
    out["band_mhz"] = pred["freq_mhz"].to_numpy()
    for col in ("model", "tech", "loss_db", "distance_m"):
        out[col] = pred[col].to_numpy()
    out["distance_bin"] = distance_bin(out["distance_m"])
    grids = result.rsrp_best_by_operator_dbm
    raster = np.full(len(m), np.nan)
    by_op_cov = np.zeros(len(m), dtype=bool)
    ops = m["operator"].to_numpy(dtype=object)
    for op in pd.unique(ops):
        sel = ops == op
        raster[sel] = grids[op][r[sel], c[sel]]
        by_op_cov[sel] = result.covered_by_operator[op][r[sel], c[sel]]
    out["rsrp_point_dbm"] = pred["rsrp_point_dbm"].to_numpy()
    out["rsrp_raster_dbm"] = raster
    measured = out["rsrp_dbm"].to_numpy(dtype=np.float64) if "rsrp_dbm" in out.columns \
        else np.full(len(m), np.nan)
    out["error_point_db"] = out["rsrp_point_dbm"] - measured
    out["error_raster_db"] = raster - measured
    sc = result.scenario
    req = required_median_dbm(sc.coverage.rsrp_threshold_dbm, sc.propagation.shadow_sigma_db,
                              sc.propagation.location_probability)
    thr = sc.coverage.rsrp_threshold_dbm
    sinr_thr = sc.coverage.sinr_threshold_db
    use_sinr = sinr_thr is not None and "sinr_db" in out.columns and \
        bool(np.isfinite(out["sinr_db"].to_numpy(dtype=np.float64)).any())
    with np.errstate(invalid="ignore"):
        covered_map = by_op_cov if use_sinr else np.isfinite(raster) & (raster >= np.float32(req))
        point = out["rsrp_point_dbm"].to_numpy()
        covered_point = np.isfinite(point) & (point >= req)
        meas_cov = measured >= thr
        if use_sinr:
            meas_cov &= out["sinr_db"].to_numpy(dtype=np.float64) >= sinr_thr
    has = np.isfinite(measured)
    out["covered_map"] = covered_map
    out["covered_point"] = covered_point
    out["covered_measured"] = pd.array(np.where(has, meas_cov, False), dtype="boolean")
    out.loc[~has, "covered_measured"] = pd.NA
    out["confirmed_map"] = pd.array(covered_map == meas_cov, dtype="boolean")
    out.loc[~has, "confirmed_map"] = pd.NA
    out["confirmed_point"] = pd.array(covered_point == meas_cov, dtype="boolean")
    out.loc[~has, "confirmed_point"] = pd.NA
    out.attrs.update(measurements.attrs)
    out.attrs["reliability_rule"] = (
        f"map covered: the operator's covered layer (RSRP >= {req:g} dBm and SINR >= "
        f"{sinr_thr:g} dB); test covered: RSRP >= {thr:g} dBm and SINR >= {sinr_thr:g} dB"
        if use_sinr else
        f"map covered: the operator's best RSRP raster >= {req:g} dBm (coverage."
        f"rsrp_threshold_dbm {thr:g} dBm + the margin of propagation.location_probability "
        f"{sc.propagation.location_probability:g}); test covered: measured RSRP >= {thr:g} dBm")
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(x, y), crs=grid.crs)


def error_table(points: pd.DataFrame) -> pd.DataFrame:
    """Error statistics per method (``point``, ``raster``) overall (``group_by`` = ``all``)
    and per :data:`GROUPS` value: columns ``method``, ``group_by``, ``group``, and those of
    :func:`error_stats`."""
    rows = []
    for method, col in METHODS.items():
        rows.append({"method": method, "group_by": "all", "group": "all",
                     **error_stats(points[col])})
        for by in GROUPS:
            keys = points[by]
            for key in sorted(pd.unique(keys[keys.notna()]), key=str):
                sel = (keys == key).to_numpy()
                rows.append({"method": method, "group_by": by,
                             "group": f"{key:g}" if isinstance(key, float) else str(key),
                             **error_stats(points.loc[sel, col])})
    return pd.DataFrame(rows)


def _share(flags) -> dict:
    f = pd.array(flags, dtype="boolean")
    f = f[~f.isna()]
    n = int(len(f))
    k = int(f.sum()) if n else 0
    lo, hi = wilson_interval(k, n)
    return {"n": n, "confirmed": k, "share": k / n if n else math.nan, "ci95": [lo, hi]}


def summarize(points: pd.DataFrame, errors: pd.DataFrame, scenario_name: str) -> dict:
    """The ``verify_summary.json`` of a per-point table and its error table."""
    meas = points["rsrp_dbm"] if "rsrp_dbm" in points.columns else pd.Series(
        np.nan, index=points.index)
    has_meas = np.isfinite(meas.to_numpy(dtype=np.float64))
    has_pred = np.isfinite(points["rsrp_point_dbm"].to_numpy(dtype=np.float64))
    overall = error_stats(points["error_point_db"])
    raster = error_stats(points["error_raster_db"])
    rel = _share(points["confirmed_map"])
    rel_point = _share(points["confirmed_point"])
    map_cov = points["covered_map"].to_numpy(dtype=bool)
    rel_cov = _share(points.loc[map_cov, "confirmed_map"])
    rel_not = _share(points.loc[~map_cov, "confirmed_map"])
    return {
        "scenario": scenario_name,
        "measurements": points.attrs.get("source"),
        "sign_convention": "error = predicted - measured [dB]",
        "n_read": points.attrs.get("n_read", len(points)),
        "n_dropped_off_grid": points.attrs.get("n_dropped", 0),
        "n_test_points": int(len(points)),
        "n_points": overall["n"],
        "n_without_measured_rsrp": int((~has_meas).sum()),
        "n_without_prediction": int((has_meas & ~has_pred).sum()),
        "mean_error_db": overall["mean_error_db"],
        "std_error_db": overall["std_error_db"],
        "rmse_db": overall["rmse_db"],
        "p5_error_db": overall["p5_error_db"],
        "p50_error_db": overall["p50_error_db"],
        "p95_error_db": overall["p95_error_db"],
        "raster": raster,
        "reliability_share": rel["share"],
        "reliability_ci95": rel["ci95"],
        "reliability_n": rel["n"],
        "reliability_confirmed": rel["confirmed"],
        "reliability_map_covered_share": rel_cov["share"],
        "reliability_map_covered_n": rel_cov["n"],
        "reliability_map_not_covered_share": rel_not["share"],
        "reliability_map_not_covered_n": rel_not["n"],
        "reliability_share_point": rel_point["share"],
        "reliability_ci95_point": rel_point["ci95"],
        "reliability_rule": points.attrs.get("reliability_rule"),
        "warnings": list(points.attrs.get("warnings", [])),
        "distance_bins_km": [b if math.isfinite(b) else None for b in DISTANCE_BINS_KM],
        "groups": errors.to_dict(orient="records"),
    }


@dataclass
class Verification:
    """A coverage prediction verified against measurements.

    Attributes
    ----------
    points : GeoDataFrame
        Per test point (:func:`verify_points`), working CRS.
    errors : DataFrame
        Error statistics per method and group (:func:`error_table`).
    summary : dict
        The ``verify_summary.json`` figures (:func:`summarize`).
    files : list of Path
        Files written by :meth:`write`.
    hexagons : GeoDataFrame or None
        FCC-style challenge hexagons of the test points (:func:`challenges`), None when no
        point carries a measure a challenge can be judged by.
    rules : ChallengeRules or None
        The rules the hexagons were judged by.
    """

    points: gpd.GeoDataFrame
    errors: pd.DataFrame
    summary: dict
    files: list[Path] = field(default_factory=list)
    hexagons: gpd.GeoDataFrame | None = None
    rules: ChallengeRules | None = None

    @property
    def n_points(self) -> int:
        return int(self.summary["n_points"])

    def to_geojson(self) -> str:
        """The points in WGS 84 with measured, predicted and error (a map layer)."""
        cols = [c for c in ("point_id", "operator", "timestamp", "rsrp_dbm", "rsrp_point_dbm",
                            "rsrp_raster_dbm", "error_point_db", "error_raster_db",
                            "station_id", "band_mhz", "distance_m", "terrain_class",
                            "township_id", "covered_map", "covered_measured",
                            "confirmed_map") if c in self.points.columns]
        gdf = self.points[cols + [self.points.geometry.name]].to_crs("EPSG:4326")
        gdf = gdf.astype({"timestamp": str}) if "timestamp" in cols else gdf
        for c in ("covered_measured", "confirmed_map"):
            if c in gdf.columns:
                gdf[c] = gdf[c].astype(object).where(gdf[c].notna(), None)
        return gdf.to_json(na="null", drop_id=True)

    def plot_png(self) -> bytes:
        """Predicted vs measured RSRP (exact point and raster), with the 1:1 line (PNG)."""
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        p = self.points
        fig = Figure(figsize=(6.0, 6.0), dpi=100)
        ax = fig.add_subplot(1, 1, 1)
        meas = p["rsrp_dbm"].to_numpy(dtype=np.float64) if "rsrp_dbm" in p.columns else \
            np.full(len(p), np.nan)
        for col, label, marker in (("rsrp_raster_dbm", "raster cell", "x"),
                                   ("rsrp_point_dbm", "exact point", "o")):
            v = p[col].to_numpy(dtype=np.float64)
            ok = np.isfinite(v) & np.isfinite(meas)
            ax.scatter(meas[ok], v[ok], s=8, marker=marker, alpha=0.5, label=label)
        both = np.concatenate([meas, p["rsrp_point_dbm"].to_numpy(dtype=np.float64)])
        both = both[np.isfinite(both)]
        if both.size:
            lo, hi = float(both.min()) - 5.0, float(both.max()) + 5.0
            ax.plot([lo, hi], [lo, hi], color="black", lw=1.0, label="predicted = measured")
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
        s = self.summary
        ax.set_xlabel("measured RSRP [dBm]")
        ax.set_ylabel("predicted RSRP [dBm]")
        ax.set_title(f"{s['scenario']}: n = {s['n_points']}, mean error "
                     f"{s['mean_error_db']:.2f} dB, RMSE {s['rmse_db']:.2f} dB", fontsize=9)
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(True, alpha=0.3)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()

    def write(self, out_dir: Path | str | RunCommit, *, map_html: str | None = None
              ) -> list[Path]:
        """Write :data:`VERIFY_FILES` into ``out_dir`` as one set (or stage them into a
        :class:`~covkit.outputs.RunCommit`): the tables, the plot, the points' GeoJSON, the
        challenge hexagons (when there are any) and ``map_html`` as ``verify_map.html`` (when
        given: :func:`covkit.api.verify` makes it); returns them."""
        if isinstance(out_dir, RunCommit):
            return self._stage(out_dir, map_html)
        with RunCommit(out_dir, replaces=VERIFY_FILES) as out:
            files = self._stage(out, map_html)
        return files

    def _stage(self, out: RunCommit, map_html: str | None = None) -> list[Path]:
        table = pd.DataFrame(self.points.drop(columns=self.points.geometry.name))
        table["timestamp"] = table["timestamp"].astype(str)
        files = [out.csv(VERIFY_POINTS_CSV, table), out.csv(VERIFY_ERRORS_CSV, self.errors),
                 out.bytes(VERIFY_PLOT, self.plot_png()),
                 out.bytes(VERIFY_GEOJSON, self.to_geojson().encode("utf-8"))]
        if self.hexagons is not None:
            files += write_challenge_hexagons(self.hexagons, out.stage, rules=self.rules,
                                              commit=out)
        if map_html is not None:
            files.append(out.bytes(VERIFY_MAP, map_html.encode("utf-8")))
        summary = {**self.summary, "outputs": [f.name for f in files] + [VERIFY_SUMMARY]}
        files.append(out.json(VERIFY_SUMMARY, summary))
        self.summary = summary
        self.files = files
        return files


def challenge_rules(scenario) -> ChallengeRules:
    """The challenge rules of a verification: the FCC defaults
    (:class:`~covkit.coverage.challenge.ChallengeRules`: the 5G-NR 7/1 Mbit/s tier for speed
    tests), with a test's RSRP judged against the scenario's ``coverage.rsrp_threshold_dbm``
    (the level a test counts as covered at in the reliability share)."""
    return ChallengeRules(min_rsrp_dbm=float(scenario.coverage.rsrp_threshold_dbm))


def challenges(points: pd.DataFrame, rules: ChallengeRules):
    """FCC-style challenge hexagons of verified test points: a test is negative when the map
    covers its place (``covered_map``) and its measured RSRP, download or upload speed falls
    short of ``rules`` (:func:`covkit.coverage.challenge.challenge_hexagons`). Points without
    any such measure are left out; None when no point has one."""
    cols = [c for c in ("dl_mbps", "ul_mbps", "rsrp_dbm") if c in points.columns
            and {"dl_mbps": rules.min_dl_mbps, "ul_mbps": rules.min_ul_mbps,
                 "rsrp_dbm": rules.min_rsrp_dbm}[c] is not None]
    if not cols:
        return None
    has = np.zeros(len(points), dtype=bool)
    for c in cols:
        has |= np.isfinite(pd.to_numeric(points[c], errors="coerce").to_numpy(dtype=float))
    if not has.any():
        return None
    p = points.loc[has]
    table = pd.DataFrame({"lon": p["lon"].to_numpy(dtype=float),
                          "lat": p["lat"].to_numpy(dtype=float),
                          "timestamp": p["timestamp"].to_numpy(),
                          "operator": p["operator"].astype(str).to_numpy(),
                          "predicted_covered": p["covered_map"].to_numpy(dtype=bool)})
    for c in cols:
        table[c] = pd.to_numeric(p[c], errors="coerce").to_numpy(dtype=float)
    return challenge_hexagons(table, rules=rules)


def verify(result, measurements: gpd.GeoDataFrame) -> Verification:
    """Verify a coverage result (with per-operator grids) against read measurements, with the
    FCC-style challenge hexagons of its test points."""
    points = verify_points(result, measurements)
    errors = error_table(points)
    summary = summarize(points, errors, result.scenario.scenario.name)
    rules = challenge_rules(result.scenario)
    hexagons = challenges(points, rules)
    summary["challenges"] = None if hexagons is None else challenge_summary(hexagons, rules)
    return Verification(points, errors, summary, hexagons=hexagons, rules=rules)
