"""FCC-style challenges of a coverage map: test points aggregated into H3 hexagons.

A *negative test* is a test point where the map predicts coverage and the measurement does not
meet it. :func:`challenge_hexagons` counts the tests of each operator in each H3 resolution-8
hexagon (``h3.latlng_to_cell``) and flags (challenges) a hexagon when its negative tests meet
every rule of :class:`ChallengeRules`: enough of them, spread over enough resolution-9
hexagons, spread in time, and (with enough tests) a share of negative tests that the map's
claimed reliability makes unlikely by chance. DataFrame in, GeoDataFrame out; no file is read or
written here (:mod:`covkit.coverage.challenge_files` writes the result).

The rules follow the mobile challenge process of the FCC's Broadband Data Collection (BDC):
FCC WTB/OEA/OET, *Broadband Data Collection Mobile Technical Requirements Order*, DA 22-241,
WC Docket No. 19-195 (Federal Register 87 FR 21476, 11 April 2022, FR Doc. 2022-06826),
Appendix on the cognizable-challenge methodology, and the FCC BDC help centre ("Speed Test Data
for Bulk Mobile Challenges", help.bdc.fcc.gov article 10483378582811). In that process tests are
grouped by H3 resolution-8 hexagon, their resolution-9 children are the "point-hexagons", and a
hexagon becomes a cognizable challenge when

- *testing threshold*: it holds at least five negative tests; with 20 tests or more (negative
  and positive), the share of negative tests must also be statistically significant, at 95 %
  confidence, against a map assumed 90 % reliable (an exact one-sided binomial test here: the
  required share is 25 % of 20 tests, 16 % of 100 tests);
- *geographic threshold*: the negative tests lie in at least four of its seven resolution-9
  point-hexagons (the FCC lowers this where fewer point-hexagons are accessible by road; covkit
  has no road data for it and takes ``min_children`` as given);
- *temporal threshold*: at least two negative tests are at least four hours apart by time of
  day, whatever their dates;
- tests outside the provider's claimed coverage are invalid and left out (here: points where the
  map predicts no coverage are counted in ``n_excluded``, not in ``n_tests``).

A speed test is negative when its download or upload speed is below the speed tier the provider
claims for the area: 5/1 Mbps for 4G LTE, 7/1 Mbps or 35/3 Mbps for 5G-NR
(:data:`SPEED_TIERS_MBPS`). The FCC judges the download and upload parts of a test separately;
covkit calls a test negative when either falls short (a point fails to meet the claim), and
optionally when its RSRP is below ``min_rsrp_dbm``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from scipy.stats import binom

from covkit.errors import CovkitInputError

H3_RESOLUTION = 8
"""Resolution of the challenge hexagons (FCC BDC: resolution 8, about 0.74 km2)."""

SPEED_TIERS_MBPS: dict[str, tuple[float, float]] = {
    "4g_lte_5_1": (5.0, 1.0),
    "5g_nr_7_1": (7.0, 1.0),
    "5g_nr_35_3": (35.0, 3.0),
}
"""The FCC BDC mobile speed tiers: name -> (download, upload) [Mbit/s] a provider claims."""

TIME_SPANS = ("time_of_day", "elapsed")
"""How the spread in time of the negative tests is measured: ``time_of_day`` (FCC: the
largest distance between two tests' times of day, around the clock, dates ignored) or
``elapsed`` (the time between the first and the last test)."""

REASONS: dict[str, str] = {
    "no_tests_in_coverage": "no test inside the predicted coverage",
    "too_few_negative": "too few negative tests",
    "low_negative_share": "share of negative tests below the required share",
    "few_r9_children": "negative tests in too few resolution-9 hexagons",
    "short_time_span": "negative tests within too short a time span",
}
"""The codes of the ``reason`` column (a hexagon that is not flagged lists every rule it fails,
in this order, joined by ``;``) and their meaning."""

MEASURE_COLUMNS = ("dl_mbps", "ul_mbps", "rsrp_dbm")
"""Raw measures a test point may carry; each is compared with its threshold of
:class:`ChallengeRules` when the table has no ``measured_covered`` column."""

COLUMNS = ("h3_cell", "operator", "n_tests", "n_negative", "negative_share", "required_share",
           "n_children_r9", "span_hours", "n_excluded", "flagged", "reason")
"""Columns of :func:`challenge_hexagons` (then ``geometry``)."""


def _check_range(name: str, value, lo, hi, *, integer: bool = False,
                 optional: bool = False) -> None:
    if value is None and optional:
        return
    ok = isinstance(value, int | float | np.integer | np.floating) and \
        not isinstance(value, bool) and math.isfinite(float(value))
    if ok and integer:
        ok = float(value) == int(value)
    if not ok or not lo <= float(value) <= hi:
        kind = "an integer" if integer else "a number"
        raise CovkitInputError(f"challenge rule {name} = {value!r}: must be {kind} in "
                               f"[{lo}, {hi}]" + (" or None" if optional else ""),
                               column=name)


@dataclass(frozen=True)
class ChallengeRules:
    """When a hexagon's negative tests challenge the map (defaults: the FCC BDC mobile
    challenge process, see the module docstring).

    Parameters
    ----------
    resolution : int
        H3 resolution of the hexagons [0, 14]; the spread rule counts cells one finer.
        Default 8.
    min_negative_tests : int
        Negative tests a hexagon needs [1, 10^6]. Default 5.
    min_children : int
        Distinct resolution-``resolution + 1`` hexagons holding a negative test [1, 7].
        Default 4 (of 7).
    min_span_hours : float
        Spread in time of the negative tests [h], [0, 8760]: two of them at least this far
        apart. Default 4.
    time_span : str
        ``time_of_day`` (default, FCC: dates ignored, measured around the clock, so at most
        12 h) or ``elapsed`` (last minus first timestamp).
    share_min_tests : int
        From this many tests in a hexagon on, the share of negative tests must be significant
        [1, 10^6]. Default 20.
    coverage_reliability : float
        Probability that a test in the claimed coverage meets it if the map is right, the null
        hypothesis of the share test, in (0, 1). Default 0.90.
    confidence : float
        Confidence of the one-sided binomial share test, in (0, 1). Default 0.95.
    min_negative_share : float or None
        A fixed share of negative tests [0, 1] every hexagon needs instead of the binomial test
        (then applied whatever the number of tests). Default None.
    min_dl_mbps, min_ul_mbps : float or None
        Download / upload speed [Mbit/s] a test must reach, >= 0; None: not judged. Default
        7 / 1 (the 5G-NR 7/1 tier; see :meth:`for_speed_tier`).
    min_rsrp_dbm : float or None
        RSRP [dBm] a test must reach, [-200, 0]; None (default): not judged.

    Raises
    ------
    CovkitInputError
        On creation, when a value is out of range (the message names it and the range).
    """

    resolution: int = H3_RESOLUTION
    min_negative_tests: int = 5
    min_children: int = 4
    min_span_hours: float = 4.0
    time_span: str = "time_of_day"
    share_min_tests: int = 20
    coverage_reliability: float = 0.90
    confidence: float = 0.95
    min_negative_share: float | None = None
    min_dl_mbps: float | None = 7.0
    min_ul_mbps: float | None = 1.0
    min_rsrp_dbm: float | None = None

    def __post_init__(self):
        _check_range("resolution", self.resolution, 0, 14, integer=True)
        _check_range("min_negative_tests", self.min_negative_tests, 1, 1e6, integer=True)
        _check_range("min_children", self.min_children, 1, 7, integer=True)
        _check_range("min_span_hours", self.min_span_hours, 0.0, 8760.0)
        if self.time_span not in TIME_SPANS:
            raise CovkitInputError(f"challenge rule time_span = {self.time_span!r}: choose "
                                   f"from {', '.join(TIME_SPANS)}", column="time_span")
        _check_range("share_min_tests", self.share_min_tests, 1, 1e6, integer=True)
        for name in ("coverage_reliability", "confidence"):
            _check_range(name, getattr(self, name), 1e-9, 1.0 - 1e-9)
        _check_range("min_negative_share", self.min_negative_share, 0.0, 1.0, optional=True)
        _check_range("min_dl_mbps", self.min_dl_mbps, 0.0, 1e6, optional=True)
        _check_range("min_ul_mbps", self.min_ul_mbps, 0.0, 1e6, optional=True)
        _check_range("min_rsrp_dbm", self.min_rsrp_dbm, -200.0, 0.0, optional=True)

    @classmethod
    def for_speed_tier(cls, tier: str, **changes) -> ChallengeRules:
        """The rules with the speeds of an FCC tier (a key of :data:`SPEED_TIERS_MBPS`) and any
        other field changed."""
        if tier not in SPEED_TIERS_MBPS:
            raise CovkitInputError(f"unknown speed tier {tier!r}; choose from "
                                   f"{', '.join(SPEED_TIERS_MBPS)}")
        dl, ul = SPEED_TIERS_MBPS[tier]
        return cls(**{"min_dl_mbps": dl, "min_ul_mbps": ul, **changes})

    def replace(self, **changes) -> ChallengeRules:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def required_negative(self, n_tests) -> np.ndarray:
        """Negative tests the share rule asks of hexagons with ``n_tests`` tests (0 where the
        rule does not apply).

        With ``min_negative_share``: ``ceil(share * n)``. Otherwise, for ``n >=
        share_min_tests``: the least k with P(X >= k) <= 1 - confidence for X ~ Binomial(n, 1 -
        coverage_reliability), i.e. the one-sided exact binomial test of the map's reliability.
        """
        n = np.asarray(n_tests, dtype=np.int64)
        if self.min_negative_share is not None:
            return np.ceil(self.min_negative_share * n - 1e-9).astype(np.int64)
        k = binom.ppf(self.confidence, n, 1.0 - self.coverage_reliability) + 1.0
        return np.where(n >= self.share_min_tests, k, 0).astype(np.int64)

    def as_dict(self) -> dict:
        """The rules as plain values (for a summary file)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ----------------------------------------------------------------------------------------------
# per test point


def _column_error(points, column: str, mask: np.ndarray, what: str):
    row = int(np.flatnonzero(mask)[0]) + 1
    raise CovkitInputError(f"{what} ({int(mask.sum())} row(s))", column=column, row=row)


def _measured_covered(points: pd.DataFrame, rules: ChallengeRules) -> np.ndarray:
    if "measured_covered" in points.columns:
        return _bool_column(points, "measured_covered")
    limits = {"dl_mbps": rules.min_dl_mbps, "ul_mbps": rules.min_ul_mbps,
              "rsrp_dbm": rules.min_rsrp_dbm}
    used = [c for c in MEASURE_COLUMNS if c in points.columns and limits[c] is not None]
    if not used:
        raise CovkitInputError(
            "test points need a measured_covered column, or a measure with a threshold: "
            "dl_mbps (min_dl_mbps), ul_mbps (min_ul_mbps) or rsrp_dbm (min_rsrp_dbm)",
            column="measured_covered")
    judged = np.zeros(len(points), dtype=bool)
    fails = np.zeros(len(points), dtype=bool)
    for c in used:
        try:
            v = pd.to_numeric(points[c], errors="raise").to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            bad = pd.to_numeric(points[c], errors="coerce").isna().to_numpy() & \
                points[c].notna().to_numpy()
            _column_error(points, c, bad, "not a number")
        if np.isinf(v).any():
            _column_error(points, c, np.isinf(v), "infinite value")
        ok = np.isfinite(v)
        judged |= ok
        fails |= ok & (v < limits[c])
    if not judged.all():
        _column_error(points, used[0], ~judged,
                      f"no measure to judge the test by (every one of {', '.join(used)} is "
                      "empty)")
    return ~fails


def _bool_column(points: pd.DataFrame, column: str) -> np.ndarray:
    s = points[column]
    if s.isna().any():
        _column_error(points, column, s.isna().to_numpy(), "empty value")
    if s.dtype == bool:
        return s.to_numpy(dtype=bool)
    v = pd.to_numeric(s, errors="coerce")
    bad = ~v.isin([0, 1]).to_numpy()
    if bad.any():
        _column_error(points, column, bad, "not a boolean (true/false or 1/0)")
    return v.to_numpy() == 1


def _hours_of_day(ts: pd.Series) -> np.ndarray:
    """Local wall-clock time of day [h] (the timestamps' own time zone; naive ones as given)."""
    return (ts.dt.hour + ts.dt.minute / 60.0 + ts.dt.second / 3600.0
            + ts.dt.microsecond / 3.6e9).to_numpy(dtype=np.float64)


def classify_points(points: pd.DataFrame, *, rules: ChallengeRules = ChallengeRules()
                    ) -> pd.DataFrame:
    """The test points with their hexagons and verdicts.

    Parameters
    ----------
    points : pandas.DataFrame
        One row per test: ``lon``, ``lat`` [deg, WGS 84], ``timestamp`` (datetime64, naive =
        local time, or time-zone aware), ``operator``, ``predicted_covered`` (bool: the map
        predicts coverage at the point), and ``measured_covered`` (bool) or raw measures
        ``dl_mbps``, ``ul_mbps`` [Mbit/s], ``rsrp_dbm`` [dBm] (an empty value is not judged; a
        row needs at least one judged measure). ``measured_covered`` wins over raw measures.
    rules : ChallengeRules

    Returns
    -------
    pandas.DataFrame
        The input columns and ``h3_cell`` (resolution ``rules.resolution``), ``h3_cell_r9``
        (one finer: the point's own cell, which need not be a child of ``h3_cell`` near its
        edge, H3 children not nesting exactly), ``hour_of_day`` [h], ``measured_covered``,
        ``valid`` (inside the predicted coverage) and ``negative`` (valid and not measured
        covered); the same index.

    Raises
    ------
    CovkitInputError
        When a column is missing or a value is invalid (the message names column and 1-based
        row).
    """
    if not isinstance(points, pd.DataFrame):
        raise CovkitInputError("test points must be a pandas DataFrame")
    need = ("lon", "lat", "timestamp", "operator", "predicted_covered")
    missing = [c for c in need if c not in points.columns]
    if missing:
        raise CovkitInputError(f"test points lack the column(s) {', '.join(missing)}; they "
                               f"need {', '.join(need)}", column=missing[0])
    coords = {}
    for c, lim in (("lon", 180.0), ("lat", 90.0)):
        v = pd.to_numeric(points[c], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(v) | (np.abs(v) > lim)
        if bad.any():
            _column_error(points, c, bad, f"not a coordinate in [-{lim:g}, {lim:g}] deg")
        coords[c] = v
    ts = points["timestamp"]
    if not pd.api.types.is_datetime64_any_dtype(ts):
        raise CovkitInputError("timestamp must be datetime64 (e.g. pandas.to_datetime)",
                               column="timestamp")
    if ts.isna().any():
        _column_error(points, "timestamp", ts.isna().to_numpy(), "empty timestamp")
    op = points["operator"]
    empty = op.isna().to_numpy() | (op.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        _column_error(points, "operator", empty, "empty operator")
    predicted = _bool_column(points, "predicted_covered")
    measured = _measured_covered(points, rules)

    res = int(rules.resolution)
    lat, lon = coords["lat"].tolist(), coords["lon"].tolist()
    out = points.copy()
    out["operator"] = op.astype(str).to_numpy()
    out["h3_cell"] = [h3.latlng_to_cell(a, b, res) for a, b in zip(lat, lon, strict=True)]
    out["h3_cell_r9"] = [h3.latlng_to_cell(a, b, res + 1) for a, b in zip(lat, lon, strict=True)]
    out["hour_of_day"] = _hours_of_day(ts)
    out["measured_covered"] = measured
    out["valid"] = predicted
    out["negative"] = predicted & ~measured
    return out


# ----------------------------------------------------------------------------------------------
# per hexagon


def circular_span_hours(hours: np.ndarray) -> float:
    """The largest distance [h] between two times of day, measured around the clock (23:00 and
    01:00 are 2 h apart): at most 12 h; 0 for fewer than two values."""
    s = np.sort(np.mod(np.asarray(hours, dtype=np.float64), 24.0))
    n = len(s)
    if n < 2:
        return 0.0
    s2 = np.concatenate([s, s + 24.0])
    j = np.searchsorted(s2, s + 12.0)
    best = 0.0
    for cand in (j - 1, j):
        cand = np.clip(cand, np.arange(n), np.arange(n) + n - 1)
        d = np.abs(s2[cand] - s) % 24.0
        best = max(best, float(np.max(np.minimum(d, 24.0 - d))))
    return best


def _hex_polygons(cells) -> np.ndarray:
    polys = []
    for c in cells:
        ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(c)]
        polys.append(shapely.Polygon(ring))
    return np.asarray(polys, dtype=object)


def challenge_hexagons(points: pd.DataFrame, *, rules: ChallengeRules = ChallengeRules()
                       ) -> gpd.GeoDataFrame:
    """Test points aggregated per operator into H3 hexagons, each flagged or not by the rules.

    Parameters
    ----------
    points : pandas.DataFrame
        Test points (columns: see :func:`classify_points`).
    rules : ChallengeRules
        Thresholds (default: the FCC BDC mobile challenge process).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, one row per (hexagon, operator) with any test point, sorted by operator then
        ``h3_cell``; columns :data:`COLUMNS` and the hexagon polygon (``h3.cell_to_boundary``):

        - ``n_tests``: tests inside the predicted coverage (the valid ones), ``n_excluded``:
          points where the map predicts no coverage (left out);
        - ``n_negative``, ``negative_share`` (of ``n_tests``, 0-1; NaN without tests),
          ``required_share`` (the share the share rule asks, NaN where it does not apply);
        - ``n_children_r9``: distinct finer hexagons holding a negative test; ``span_hours``
          [h]: the spread in time of the negative tests (``rules.time_span``);
        - ``flagged`` (bool) and ``reason``: empty when flagged, else the failed rules' codes
          (:data:`REASONS`) joined by ``;``.

    Raises
    ------
    CovkitInputError
        When a column is missing or a value is invalid.
    """
    pts = classify_points(points, rules=rules)
    keys = ["operator", "h3_cell"]
    g = pts.groupby(keys, sort=True)
    table = pd.DataFrame({
        "n_tests": g["valid"].sum().astype(np.int64),
        "n_negative": g["negative"].sum().astype(np.int64),
        "n_excluded": (~pts["valid"]).groupby([pts[k] for k in keys], sort=True).sum()
        .astype(np.int64),
    })
    neg = pts[pts["negative"]]
    gn = neg.groupby(keys, sort=True)
    table["n_children_r9"] = gn["h3_cell_r9"].nunique().reindex(table.index, fill_value=0) \
        .astype(np.int64)
    if rules.time_span == "time_of_day":
        span = gn["hour_of_day"].agg(circular_span_hours)
    else:
        span = gn["timestamp"].agg(lambda t: (t.max() - t.min()) / pd.Timedelta(hours=1))
    table["span_hours"] = span.reindex(table.index, fill_value=0.0).astype(np.float64)
    table = table.reset_index()

    n = table["n_tests"].to_numpy()
    k = table["n_negative"].to_numpy()
    need_k = rules.required_negative(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["negative_share"] = np.where(n > 0, k / np.maximum(n, 1), np.nan)
        table["required_share"] = np.where((need_k > 0) & (n > 0), need_k / np.maximum(n, 1),
                                           np.nan)
    failed = {
        "no_tests_in_coverage": n == 0,
        "too_few_negative": (n > 0) & (k < rules.min_negative_tests),
        "low_negative_share": (n > 0) & (k < need_k),
        "few_r9_children": (n > 0) & (table["n_children_r9"].to_numpy() < rules.min_children),
        "short_time_span": (n > 0) & (table["span_hours"].to_numpy()
                                      < rules.min_span_hours - 1e-9),
    }
    reasons = [[] for _ in range(len(table))]
    for code, mask in failed.items():
        for i in np.flatnonzero(mask):
            reasons[i].append(code)
    table["reason"] = [";".join(r) for r in reasons]
    table["flagged"] = table["reason"] == ""
    table = table[list(COLUMNS)]
    return gpd.GeoDataFrame(table, geometry=_hex_polygons(table["h3_cell"]), crs="EPSG:4326")


def challenge_summary(hexagons: pd.DataFrame, rules: ChallengeRules | None = None) -> dict:
    """Counts per operator of a :func:`challenge_hexagons` table: hexagons, flagged hexagons,
    tests and negative tests (and the rules, when given), as plain values for JSON."""
    ops = {}
    for op, t in hexagons.groupby("operator", sort=True):
        ops[str(op)] = {"n_hexagons": int(len(t)), "n_flagged": int(t["flagged"].sum()),
                        "n_tests": int(t["n_tests"].sum()),
                        "n_negative": int(t["n_negative"].sum())}
    out = {"n_hexagons": int(len(hexagons)), "n_flagged": int(hexagons["flagged"].sum()),
           "operators": ops}
    if rules is not None:
        out["rules"] = rules.as_dict()
    return out
