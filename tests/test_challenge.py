"""covkit.coverage.challenge: FCC-style challenges aggregated into H3 resolution-8 hexagons.

Test points are planted at the centres of chosen resolution-9 children of a resolution-8
hexagon near Nantou, Taiwan (real h3 places them; the helper checks that each lands in the
hexagon and child it was meant for). The thresholds are the FCC BDC defaults of
:class:`ChallengeRules`: 5 negative tests, in 4 of the 7 resolution-9 children, two of them at
least 4 h apart by time of day; with 20 tests or more, a negative share significant at 95 %
against a 90 % reliable map.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from covkit.coverage.challenge import (
    COLUMNS,
    REASONS,
    ChallengeRules,
    challenge_hexagons,
    circular_span_hours,
    classify_points,
)
from covkit.errors import CovkitInputError

CELL = h3.latlng_to_cell(23.97, 120.97, 8)
"""A resolution-8 hexagon in Nantou County."""
OTHER = sorted(h3.grid_ring(CELL, 2))[0]
"""Another hexagon, two rings away."""


def plant(cell: str = CELL, n: int = 6, *, children: int = 5, negative: bool = True,
          start: str = "2026-05-04 08:00", step_h: float = 1.0, operator: str = "OpA",
          step_days: int = 0) -> pd.DataFrame:
    """``n`` tests in ``cell`` at the centres of its first ``children`` resolution-9 children
    (round robin), the k-th at ``start + k * step_h`` hours (+ ``k * step_days`` days), all
    predicted covered; measured covered unless ``negative``."""
    kids = sorted(h3.cell_to_children(cell, 9))
    # the centre child first: it is the one that always nests in its parent
    kids = [h3.cell_to_center_child(cell, 9)] + [k for k in kids
                                                 if k != h3.cell_to_center_child(cell, 9)]
    rows = []
    for k in range(n):
        child = kids[k % children]
        lat, lon = h3.cell_to_latlng(child)
        assert h3.latlng_to_cell(lat, lon, 8) == cell and h3.latlng_to_cell(lat, lon, 9) == child
        rows.append({"lon": lon, "lat": lat,
                     "timestamp": pd.Timestamp(start) + pd.Timedelta(hours=k * step_h,
                                                                     days=k * step_days),
                     "operator": operator, "predicted_covered": True,
                     "measured_covered": not negative})
    return pd.DataFrame(rows)


def row_of(hexes: pd.DataFrame, cell: str = CELL, operator: str = "OpA") -> pd.Series:
    sel = hexes[(hexes["h3_cell"] == cell) & (hexes["operator"] == operator)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


# ----------------------------------------------------------------------------------------------
# the verdict


def test_planted_negative_hexagon_is_flagged_and_clean_one_is_not():
    pts = pd.concat([plant(CELL, 6), plant(OTHER, 6, negative=False)], ignore_index=True)
    hexes = challenge_hexagons(pts)
    assert list(hexes.columns) == [*COLUMNS, "geometry"]
    assert hexes.crs.equals("EPSG:4326")
    bad = row_of(hexes, CELL)
    assert bool(bad["flagged"]) and bad["reason"] == ""
    assert (bad["n_tests"], bad["n_negative"], bad["n_children_r9"]) == (6, 6, 5)
    assert bad["negative_share"] == 1.0 and bad["span_hours"] == pytest.approx(5.0)
    assert math.isnan(bad["required_share"])  # fewer than 20 tests: no share test
    good = row_of(hexes, OTHER)
    assert not bool(good["flagged"])
    assert good["reason"] == "too_few_negative;few_r9_children;short_time_span"
    assert (good["n_tests"], good["n_negative"], good["negative_share"]) == (6, 0, 0.0)


@pytest.mark.parametrize("case, reason", [
    ("four_negative", "too_few_negative"),
    ("one_child", "few_r9_children"),
    ("three_children", "few_r9_children"),
    ("within_three_hours", "short_time_span"),
    ("same_hour_each_day", "short_time_span"),
])
def test_each_rule_failing_alone_unflags_with_its_reason(case, reason):
    pts = {
        "four_negative": plant(n=4, children=4, step_h=2.0),
        "one_child": plant(n=6, children=1),
        "three_children": plant(n=9, children=3),
        "within_three_hours": plant(n=6, step_h=0.6),  # 08:00 .. 11:00
        "same_hour_each_day": plant(n=6, step_h=0.0, step_days=1),  # dates do not count
    }[case]
    hexes = challenge_hexagons(pts)
    r = row_of(hexes)
    assert not bool(r["flagged"]) and r["reason"] == reason
    assert reason in REASONS
    # the same points with that one rule relaxed are flagged
    relaxed = {"too_few_negative": {"min_negative_tests": 4},
               "few_r9_children": {"min_children": 1},
               "short_time_span": {"min_span_hours": 0.0}}[reason]
    assert bool(row_of(challenge_hexagons(pts, rules=ChallengeRules(**relaxed)))["flagged"])


def test_elapsed_time_span_counts_the_dates():
    pts = plant(n=6, step_h=0.0, step_days=1)  # 08:00 on six days
    assert row_of(challenge_hexagons(pts))["span_hours"] == 0.0
    r = row_of(challenge_hexagons(pts, rules=ChallengeRules(time_span="elapsed")))
    assert r["span_hours"] == pytest.approx(5 * 24.0) and bool(r["flagged"])


def test_time_of_day_is_the_local_time_of_aware_timestamps():
    """Tests at 00:00-05:00 UTC are at 08:00-13:00 in Taipei (UTC+8): 5 h apart by time of
    day either way, and the hour of day is Taipei's."""
    pts = plant(n=6, start="2026-05-04 00:00")
    pts["timestamp"] = pts["timestamp"].dt.tz_localize("UTC").dt.tz_convert("Asia/Taipei")
    cls = classify_points(pts)
    assert list(cls["hour_of_day"]) == [8.0, 9.0, 10.0, 11.0, 12.0, 13.0]
    assert row_of(challenge_hexagons(pts))["span_hours"] == pytest.approx(5.0)


def test_share_of_negative_tests_with_20_tests_or_more():
    """25 tests: the exact binomial test at 95 % against a 90 % reliable map asks 6 negative
    tests (P(X >= 6) = 0.033 <= 0.05 < P(X >= 5) = 0.098 for X ~ Bin(25, 0.1)); 5 negative
    tests meet every other rule and still fail it."""
    five = pd.concat([plant(n=5), plant(n=20, negative=False)], ignore_index=True)
    r = row_of(challenge_hexagons(five))
    assert not bool(r["flagged"]) and r["reason"] == "low_negative_share"
    assert r["n_tests"] == 25 and r["required_share"] == pytest.approx(6 / 25)
    six = pd.concat([plant(n=6), plant(n=19, negative=False)], ignore_index=True)
    assert bool(row_of(challenge_hexagons(six))["flagged"])
    # a fixed share instead of the binomial test
    rules = ChallengeRules(min_negative_share=0.5)
    r = row_of(challenge_hexagons(six, rules=rules))
    assert r["reason"] == "low_negative_share" and r["required_share"] == pytest.approx(0.52)


def _binomial_need(n: int, p: float = 0.1, alpha: float = 0.05) -> int:
    """Least k with P(X >= k) <= alpha, X ~ Binomial(n, p), summed term by term."""
    tail = 1.0
    for k in range(n + 1):
        if tail <= alpha + 1e-12:
            return k
        tail -= math.comb(n, k) * p**k * (1 - p) ** (n - k)
    return n + 1


def test_required_negative_tests_are_the_exact_binomial_critical_values():
    rules = ChallengeRules()
    n = np.array([1, 5, 19, 20, 21, 25, 50, 100, 400])
    need = rules.required_negative(n)
    assert list(need[:3]) == [0, 0, 0]  # below 20 tests: no share test
    assert list(need[3:]) == [_binomial_need(int(v)) for v in n[3:]]
    assert need[3] == 5 and need[7] == 16  # 25 % of 20 tests, 16 % of 100 tests


def test_two_operators_are_aggregated_separately():
    pts = pd.concat([plant(n=6, operator="OpB", negative=False), plant(n=6, operator="OpA")],
                    ignore_index=True)
    hexes = challenge_hexagons(pts)
    assert list(hexes["operator"]) == ["OpA", "OpB"] and list(hexes["h3_cell"]) == [CELL] * 2
    assert bool(row_of(hexes, operator="OpA")["flagged"])
    b = row_of(hexes, operator="OpB")
    assert not bool(b["flagged"]) and (b["n_tests"], b["n_negative"]) == (6, 0)


def test_points_outside_the_predicted_coverage_are_left_out():
    """A test where the map claims no coverage cannot challenge it (FCC: tests outside the
    claimed coverage are invalid): counted in n_excluded, never negative."""
    pts = plant(n=8)
    pts.loc[:2, "predicted_covered"] = False  # 3 of 8 out: 5 negative tests stay
    r = row_of(challenge_hexagons(pts))
    assert (r["n_tests"], r["n_negative"], r["n_excluded"]) == (5, 5, 3)
    only_out = plant(OTHER, 6).assign(predicted_covered=False)
    r = row_of(challenge_hexagons(only_out), OTHER)
    assert r["reason"] == "no_tests_in_coverage" and r["n_tests"] == 0
    assert math.isnan(r["negative_share"])


def test_hexagon_geometry_contains_its_points():
    rng = np.random.default_rng(7)
    n = 600
    pts = pd.DataFrame({
        "lon": 120.95 + 0.06 * rng.random(n), "lat": 23.95 + 0.05 * rng.random(n),
        "timestamp": pd.Timestamp("2026-05-04 06:00") + pd.to_timedelta(
            rng.integers(0, 16 * 3600, n), unit="s"),
        "operator": rng.choice(["OpA", "OpB"], n), "predicted_covered": rng.random(n) < 0.9,
        "measured_covered": rng.random(n) < 0.6})
    hexes = challenge_hexagons(pts)
    assert len(hexes) > 20
    assert hexes[["n_tests", "n_excluded"]].to_numpy().sum() == n
    cls = classify_points(pts)
    poly = dict(zip(zip(hexes["operator"], hexes["h3_cell"], strict=True), hexes.geometry,
                    strict=True))
    geoms = np.array([poly[(o, c)] for o, c in zip(cls["operator"], cls["h3_cell"],
                                                    strict=True)])
    inside = shapely.covers(geoms, shapely.points(pts["lon"], pts["lat"]))
    assert inside.all(), np.flatnonzero(~inside)[:5]
    areas = hexes.to_crs("EPSG:3826").area / 1e6
    assert areas.between(0.6, 0.9).all()  # resolution 8: about 0.74 km2
    # stable and sorted: shuffled input, the same table
    shuffled = challenge_hexagons(pts.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(pd.DataFrame(shuffled), pd.DataFrame(hexes))
    assert list(hexes.index) == list(range(len(hexes)))
    keys = list(zip(hexes["operator"], hexes["h3_cell"], strict=True))
    assert keys == sorted(keys)


def test_circular_time_of_day_span():
    assert circular_span_hours([23.0, 1.0]) == pytest.approx(2.0)
    assert circular_span_hours([6.0, 22.0]) == pytest.approx(8.0)
    assert circular_span_hours([8.0, 12.5, 9.0]) == pytest.approx(4.5)
    assert circular_span_hours([0.0, 12.0]) == pytest.approx(12.0)
    assert circular_span_hours([7.0]) == 0.0
    rng = np.random.default_rng(1)
    for _ in range(20):  # against the pairwise definition
        h = rng.random(rng.integers(2, 12)) * 24.0
        d = np.abs(h[:, None] - h[None, :])
        assert circular_span_hours(h) == pytest.approx(np.minimum(d, 24.0 - d).max())


# ----------------------------------------------------------------------------------------------
# raw measures and bad input


def test_raw_measures_against_the_speed_tier():
    pts = plant(n=4).drop(columns="measured_covered")
    pts["dl_mbps"] = [8.0, 6.0, 40.0, np.nan]
    pts["ul_mbps"] = [0.5, 2.0, 4.0, 2.0]
    pts["rsrp_dbm"] = [-90.0, -90.0, -115.0, -100.0]
    cls = classify_points(pts)  # 5G-NR 7/1: ul 0.5 fails, dl 6 fails, NaN not judged
    assert list(cls["negative"]) == [True, True, False, False]
    cls = classify_points(pts, rules=ChallengeRules.for_speed_tier("5g_nr_35_3"))
    assert list(cls["negative"]) == [True, True, False, True]  # dl 8 < 35; ul 2 < 3
    cls = classify_points(pts, rules=ChallengeRules(min_rsrp_dbm=-110.0))
    assert list(cls["negative"]) == [True, True, True, False]  # -115 dBm < -110 dBm
    rsrp_only = ChallengeRules(min_dl_mbps=None, min_ul_mbps=None, min_rsrp_dbm=-110.0)
    assert list(classify_points(pts, rules=rsrp_only)["negative"]) == [False, False, True,
                                                                        False]
    # measured_covered wins over raw measures
    assert not classify_points(pts.assign(measured_covered=True))["negative"].any()
    with pytest.raises(CovkitInputError, match="unknown speed tier 'x'"):
        ChallengeRules.for_speed_tier("x")


def test_bad_points_and_rules_name_the_column_row_and_range():
    pts = plant(n=3)
    with pytest.raises(CovkitInputError, match="column 'operator'.*lack the column"):
        challenge_hexagons(pts.drop(columns="operator"))
    with pytest.raises(CovkitInputError, match=r"column 'lat', row 2: not a coordinate"):
        challenge_hexagons(pts.assign(lat=[23.9, 95.0, 23.9]))
    with pytest.raises(CovkitInputError, match="column 'timestamp'.*datetime64"):
        challenge_hexagons(pts.assign(timestamp=pts["timestamp"].astype(str)))
    with pytest.raises(CovkitInputError, match=r"column 'predicted_covered', row 3: not a "
                                               "boolean"):
        challenge_hexagons(pts.assign(predicted_covered=[1, 0, 5]))
    with pytest.raises(CovkitInputError, match=r"column 'operator', row 1: empty operator"):
        challenge_hexagons(pts.assign(operator=["", "a", "b"]))
    raw = pts.drop(columns="measured_covered")
    with pytest.raises(CovkitInputError, match="need a measured_covered column"):
        challenge_hexagons(raw)
    with pytest.raises(CovkitInputError, match=r"column 'dl_mbps', row 2: no measure"):
        challenge_hexagons(raw.assign(dl_mbps=[1.0, np.nan, 2.0]))
    with pytest.raises(CovkitInputError, match=r"column 'dl_mbps', row 3: not a number"):
        challenge_hexagons(raw.assign(dl_mbps=["1", "2", "fast"]))
    with pytest.raises(CovkitInputError, match=r"min_children = 9: must be an integer in "
                                               r"\[1, 7\]"):
        ChallengeRules(min_children=9)
    with pytest.raises(CovkitInputError, match="time_span = 'days': choose from time_of_day, "
                                               "elapsed"):
        ChallengeRules(time_span="days")
    with pytest.raises(CovkitInputError, match=r"confidence = 1.0: must be a number"):
        ChallengeRules().replace(confidence=1.0)


# ----------------------------------------------------------------------------------------------
# files


def test_files_written_atomically_and_read_back(tmp_path: Path):
    from covkit.coverage.challenge_files import (
        CHALLENGE_GPKG,
        CHALLENGE_LAYER,
        CHALLENGE_PARQUET,
        CHALLENGE_SUMMARY_JSON,
        write_challenge_hexagons,
    )
    from covkit.outputs import RunCommit

    pts = pd.concat([plant(CELL, 6), plant(OTHER, 6, negative=False),
                     plant(n=6, operator="臺灣之星")], ignore_index=True)
    rules = ChallengeRules()
    hexes = challenge_hexagons(pts, rules=rules)
    out = tmp_path / "challenge"
    files = write_challenge_hexagons(hexes, out, rules=rules)
    assert [f.name for f in files] == [CHALLENGE_PARQUET, CHALLENGE_GPKG, CHALLENGE_SUMMARY_JSON]
    assert sorted(p.name for p in out.iterdir()) == sorted(f.name for f in files)
    for back in (gpd.read_parquet(out / CHALLENGE_PARQUET),
                 gpd.read_file(out / CHALLENGE_GPKG, layer=CHALLENGE_LAYER)):
        assert back.crs.equals("EPSG:4326")
        assert list(back.columns) == list(hexes.columns)
        pd.testing.assert_frame_equal(pd.DataFrame(back.drop(columns="geometry")),
                                      pd.DataFrame(hexes.drop(columns="geometry")),
                                      check_dtype=False)
        assert back["flagged"].dtype == bool
        assert shapely.equals_exact(back.geometry.values, hexes.geometry.values,
                                    tolerance=1e-9).all()
    summary = json.loads((out / CHALLENGE_SUMMARY_JSON).read_text(encoding="utf-8"))
    assert summary["n_hexagons"] == 3 and summary["n_flagged"] == 2
    assert summary["operators"]["OpA"] == {"n_hexagons": 2, "n_flagged": 1, "n_tests": 12,
                                           "n_negative": 6}
    assert summary["rules"]["min_negative_tests"] == 5
    # rewritten: replaced whole, no temporary or staging file left
    write_challenge_hexagons(hexes.iloc[:1], out)
    assert len(gpd.read_parquet(out / CHALLENGE_PARQUET)) == 1
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    # as part of a larger output set
    with RunCommit(tmp_path / "run") as commit:
        write_challenge_hexagons(hexes, tmp_path / "run", commit=commit)
        assert not (tmp_path / "run" / CHALLENGE_PARQUET).exists()  # staged only
    assert len(gpd.read_file(tmp_path / "run" / CHALLENGE_GPKG)) == 3
    with pytest.raises(CovkitInputError, match="missing flagged"):
        write_challenge_hexagons(hexes.drop(columns="flagged"), out)


# ----------------------------------------------------------------------------------------------
# the map layer

HOSTILE = ("Op<img src=x onerror=__covkitPwned('html')>`${__covkitPwned('tl')}`"
           "'-__covkitPwned('sq')-'\"-__covkitPwned('dq')-\""
           "</script><script>__covkitPwned('script')</script>")


def _map_hexagons() -> gpd.GeoDataFrame:
    pts = pd.concat([plant(CELL, 6, operator=HOSTILE), plant(OTHER, 6, negative=False),
                     plant(n=4, operator="OpA")], ignore_index=True)
    return challenge_hexagons(pts)


def test_map_layer_carries_the_hexagons_offline(tmp_path: Path):
    import folium

    from covkit.maps import CHALLENGE_COLORS, add_challenge_layer, challenge_map

    hexes = _map_hexagons()
    page = tmp_path / "challenge.html"
    challenge_map(hexes).save(page)
    text = page.read_text(encoding="utf-8")
    for cell in (CELL, OTHER):
        assert text.count(f'"h3_cell": "{cell}"') == (2 if cell == CELL else 1)
    assert text.count('"_flagged": true') == 1 and text.count('"_flagged": false') == 2
    assert CHALLENGE_COLORS[True] in text and CHALLENGE_COLORS[False] in text
    assert "not challenged: too few negative tests" in text
    assert "Challenge hexagons (red: challenged)" in text
    # the libraries are inline: every src / href a data: URL, no tiles
    links = re.findall(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']([^"']+)""", text)
    assert all(u.startswith("data:") for u in links), [u[:60] for u in links]
    assert 'version="1.9' in text  # Leaflet itself, in the page
    assert "tile.openstreetmap" not in text and "{z}" not in text
    # the hostile operator reaches the page only as escaped text
    assert "<img src=x" not in text and "__covkitPwned('script')</script>" not in text
    # the layer goes onto any folium map
    fmap = folium.Map(tiles=None)
    layer = add_challenge_layer(fmap, hexes.to_crs("EPSG:3826"), show=False)
    assert isinstance(layer, folium.GeoJson) and layer.show is False
    assert add_challenge_layer(fmap, hexes.iloc[:0]) is None
    with pytest.raises(CovkitInputError, match="cannot be combined"):
        challenge_map(hexes, cdn=True, inline_assets=True)


@pytest.mark.slow
def test_map_layer_renders_offline_in_headless_chromium(tmp_path: Path):
    from helpers import browser_check as bc

    from covkit.maps import challenge_map

    if not bc.chromium_available():
        pytest.skip(f"{bc.CHROMIUM} not found: install Debian's chromium package")
    hexes = _map_hexagons()
    page = tmp_path / "alone" / "challenge.html"
    page.parent.mkdir()
    challenge_map(hexes).save(page)
    report = bc.inspect_page(
        page, open_layers=True,
        init_js="window.__pwned = []; window.__covkitPwned = function (t) "
                "{ window.__pwned.push(String(t)); };",
        evaluate="{pwned: window.__pwned, "
                 "paths: document.querySelectorAll('path.covkit-challenge').length}")
    assert report["leaflet"] and report["map_containers"] == 1
    assert report["js_errors"] == [], report["js_errors"]
    assert report["failed_loads"] == [] and bc.external_urls(report) == []
    fetched = [u for u in report["resources"] if not u.endswith("/favicon.ico")]
    assert fetched == [], fetched
    ev = report["evaluated"]
    assert ev["pwned"] == [] and ev["paths"] == len(hexes) == 3
    shown = "\n".join(report["opened"]["texts"])
    assert HOSTILE in shown and "not challenged: too few negative tests" in shown


def test_readme_challenge_example_runs(tmp_path: Path, monkeypatch):
    readme = Path(__file__).resolve().parents[1] / "README.md"
    m = re.search(r"<!-- challenge-example:start -->\n```python\n(.*?)```\n"
                  r"<!-- challenge-example:end -->", readme.read_text(encoding="utf-8"), re.S)
    assert m, "README challenge example not found"
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(m.group(1), "README.md challenge example", "exec"), ns)  # noqa: S102
    hexes = ns["hexagons"]
    assert len(hexes) == 1 and bool(hexes["flagged"].iloc[0])
    assert hexes["n_children_r9"].iloc[0] >= 4
    assert (tmp_path / "challenge-out" / "challenge_hexagons.gpkg").is_file()
    assert (tmp_path / "challenge-out" / "challenge_map.html").is_file()
