"""Outputs for Taiwan users: a CJK font in the figures, names with one spelling (臺), counties in
code order, CSVs that Excel opens with Chinese intact and codes as text.

The township and county names come from the shared Taiwan files (tests skip without them);
the CSV and ordering tests make their own small tables.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _taiwan_townships(shared_dir: Path) -> pd.DataFrame:
    path = shared_dir / "data" / "taiwan" / "townships_population_2022-03.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return pd.read_csv(path, dtype=str, encoding="utf-8")


def _boundary_names(shared_dir: Path) -> list[str]:
    """County and township names as the boundary file spells them (台, not 臺)."""
    import geopandas as gpd

    path = shared_dir / "data" / "taiwan" / "taiwan_townships_2021.geojson"
    if not path.is_file():
        return []
    gdf = gpd.read_file(path)
    return [str(v) for c in ("COUNTYNAME", "TOWNNAME") for v in gdf[c]]


def _font_cmaps(families: list[str]) -> list[set[int]]:
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties
    from matplotlib.ft2font import FT2Font

    paths = [font_manager.fontManager.findfont(FontProperties(family=[f]),
                                               fallback_to_default=False) for f in families]
    return [set(FT2Font(p).get_charmap()) for p in paths]


# ------------------------------------------------------------------------------------------
# CJK font


def test_cjk_font_ships_with_the_dependencies():
    from covkit.fonts import CJK_FONT_FAMILY, cjk_font_path, figure_font_family

    path = cjk_font_path()
    assert path is not None and path.is_file(), "pip install covkit's dependencies"
    assert path.stat().st_size > 1_000_000
    fams = figure_font_family()
    assert fams[0] == "sans-serif" and fams[1] == CJK_FONT_FAMILY


def test_figure_draws_every_taiwan_township_and_county_name(shared_dir):
    """The township bar chart with the 368 official names: no missing-glyph warning, and the
    fonts of the figure cover every character of every name (also the boundary file's 台)."""
    from covkit.fonts import figure_font_family
    from covkit.report import township_figure

    tw = _taiwan_townships(shared_dir)
    n = len(tw)
    assert n == 368
    df = pd.DataFrame({"township_id": tw["TOWNCODE"], "name": tw["TOWNNAME"],
                       "county": tw["COUNTYNAME"],
                       "remote": tw["below_one_fifth_national_density"],
                       "coverage_pct": np.linspace(0.0, 100.0, n)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = township_figure(df)
    assert png[:8] == PNG_MAGIC
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []

    names = list(tw["TOWNNAME"]) + list(tw["COUNTYNAME"]) + _boundary_names(shared_dir)
    chars = sorted(set("".join(names)))
    assert "臺" in chars and "鄉" in chars and "鎮" in chars and "區" in chars
    cmaps = _font_cmaps(figure_font_family())
    uncovered = [c for c in chars if not any(ord(c) in m for m in cmaps)]
    assert uncovered == []


def test_without_the_cjk_fallback_the_names_would_be_boxes(shared_dir):
    """The check above can fail: matplotlib's default font alone warns for every CJK name."""
    from matplotlib import rc_context

    from covkit.report import township_figure

    tw = _taiwan_townships(shared_dir).head(5)
    df = pd.DataFrame({"township_id": tw["TOWNCODE"], "name": tw["TOWNNAME"],
                       "county": tw["COUNTYNAME"], "remote": False,
                       "coverage_pct": np.linspace(0.0, 100.0, len(tw))})
    with warnings.catch_warnings(record=True) as caught, \
            rc_context({"font.family": ["sans-serif"]}):
        warnings.simplefilter("always")
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure()
        FigureCanvasAgg(fig)
        fig.text(0.1, 0.5, " ".join(df["name"]))
        fig.canvas.draw()
    assert any("missing from font" in str(w.message) for w in caught)
    # covkit's figure function with the same names draws them
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        township_figure(df)
    assert not any("missing from font" in str(w.message) for w in caught)


# ------------------------------------------------------------------------------------------
# names with one spelling


def test_taiwan_spelling_folds_only_tai(shared_dir):
    """台 -> 臺 and nothing else: every other character of every boundary-file name is kept, and
    the folded names are the population files' spelling (joined on codes)."""
    import geopandas as gpd

    from covkit.data.names import display_name, display_names

    assert display_name("台北市", "taiwan") == "臺北市"
    assert display_name("台北市") == "台北市"  # as given by default
    assert display_name("檯台颱臺", "taiwan") == "檯臺颱臺"
    with pytest.raises(ValueError, match="choose from as_given, taiwan"):
        display_name("台", "simplified")
    boundary = gpd.read_file(shared_dir / "data" / "taiwan" / "taiwan_townships_2021.geojson")
    tw = _taiwan_townships(shared_dir).set_index("TOWNCODE")
    changed = {}
    for col in ("COUNTYNAME", "TOWNNAME"):
        given = boundary[col].astype(str).tolist()
        folded = display_names(given, "taiwan").tolist()
        for a, b in zip(given, folded, strict=True):
            assert len(a) == len(b)
            assert all(x == y or (x, y) == ("台", "臺") for x, y in zip(a, b, strict=True))
        changed[col] = sum(a != b for a, b in zip(given, folded, strict=True))
        assert folded == tw.loc[boundary["TOWNCODE"], col].tolist()
    # 台北市, 台中市, 台南市 and 台東縣: 12 + 29 + 37 + 16 townships
    assert changed == {"COUNTYNAME": 94, "TOWNNAME": 0}


# ------------------------------------------------------------------------------------------
# counties in code order


def test_counties_in_code_order():
    from covkit.coverage.summary import county_order

    df = pd.DataFrame({"township_id": ["63000010", "09007010", "10014010", "63000020"],
                       "county": ["臺北市", "連江縣", "臺東縣", "臺北市"]})
    by_name = sorted(set(df["county"]))
    assert by_name == ["臺北市", "臺東縣", "連江縣"]
    # township codes: their first digits are the county code
    assert county_order(df) == ["連江縣", "臺東縣", "臺北市"]
    # a county_code column wins
    coded = df.assign(county_code=["2", "3", "1", "2"])
    assert county_order(coded) == ["臺東縣", "臺北市", "連江縣"]
    # codes that are not all digits (the demo's D0101): by name, as before
    named = df.assign(township_id=["D0101", "D0201", "D0301", "D0102"])
    assert county_order(named) == by_name


# ------------------------------------------------------------------------------------------
# CSVs for Excel


def test_csv_has_a_bom_and_codes_survive_excel(tmp_path):
    import csv

    from covkit.outputs import write_csv
    from covkit.runfolder import read_csv_table

    df = pd.DataFrame({"township_id": ["09007010", "63000010"], "name": ["南竿鄉", "松山區"],
                       "county_code": ["09007", "63000"], "site_id": ['A"1', ""],
                       "population": [7000.0, 200000.0], "n": [1, 2]})
    plain = write_csv(tmp_path / "plain.csv", df)
    excel = write_csv(tmp_path / "excel.csv", df, codes="excel")
    for path in (plain, excel):
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
        assert "南竿鄉" in raw.decode("utf-8-sig")
    # plain: the codes as text (a reader that keeps text keeps the zero)
    back = pd.read_csv(plain, dtype=str)
    assert back.columns[0] == "township_id"  # pandas skips the mark
    assert back["township_id"].tolist() == ["09007010", "63000010"]
    # excel: each code cell holds the formula text ="...": Excel shows its value, the text
    with open(excel, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [r["township_id"] for r in rows] == ['="09007010"', '="63000010"']
    assert [r["county_code"] for r in rows] == ['="09007"', '="63000"']
    assert rows[0]["site_id"] == '="A""1"' and rows[1]["site_id"] == ""
    assert [r["name"] for r in rows] == ["南竿鄉", "松山區"]  # not codes: as they are
    assert [r["population"] for r in rows] == ["7000", "200000"]
    # covkit's own reader strips the formula text
    for path in (plain, excel):
        got = read_csv_table(path, dtype={"township_id": str})
        assert got["township_id"].tolist() == ["09007010", "63000010"]
        assert got["county_code"].astype(str).str.zfill(5).tolist() == ["09007", "63000"]
        assert got["name"].tolist() == ["南竿鄉", "松山區"]
    assert read_csv_table(excel)["site_id"].tolist()[0] == 'A"1'
    # only code columns are read back from formula text: a name that looks like one stays
    named = write_csv(tmp_path / "named.csv", df.assign(name=['="x"', "松山區"]), codes="excel")
    assert read_csv_table(named)["name"].tolist() == ['="x"', "松山區"]
    with pytest.raises(ValueError, match="choose from plain, excel"):
        write_csv(tmp_path / "x.csv", df, codes="xlsx")


# ------------------------------------------------------------------------------------------
# a whole run with Taiwan's codes and the boundary file's spelling

# (TOWNCODE, TOWNNAME, COUNTYNAME as the boundary file spells it, COUNTYCODE)
TOWNS = [("63000010", "松山區", "台北市", "63000"), ("10014010", "臺東市", "台東縣", "10014"),
         ("09007010", "南竿鄉", "連江縣", "09007"), ("63000020", "信義區", "台北市", "63000")]


def _taiwan_like_scenario(folder: Path) -> Path:
    import geopandas as gpd
    from helpers.scenario import CRS, RES, X0, Y0, H, W, write_small_scenario
    from shapely.geometry import box

    toml = write_small_scenario(folder, model="fspl", extra_toml="""
[outputs]
names = "taiwan"
csv_codes = "excel"
""")
    step = W * RES / len(TOWNS)
    geoms = [box(X0 + i * step, Y0 - H * RES, X0 + (i + 1) * step, Y0) for i in range(len(TOWNS))]
    gpd.GeoDataFrame({"TOWNCODE": [t[0] for t in TOWNS], "TOWNNAME": [t[1] for t in TOWNS],
                      "COUNTYNAME": [t[2] for t in TOWNS], "COUNTYCODE": [t[3] for t in TOWNS]},
                     geometry=geoms, crs=CRS).to_file(folder / "townships.gpkg",
                                                      layer="townships")
    text = toml.read_text(encoding="utf-8").replace(
        'townships = "townships.gpkg"\n',
        'townships = "townships.gpkg"\ntownship_columns = {township_id = "TOWNCODE", '
        'name = "TOWNNAME", county = "COUNTYNAME", county_code = "COUNTYCODE"}\n')
    toml.write_text(text, encoding="utf-8")
    return toml


@pytest.fixture(scope="module")
def taiwan_run(tmp_path_factory) -> Path:
    import covkit
    from covkit.api import run_study

    folder = tmp_path_factory.mktemp("tw")
    toml = _taiwan_like_scenario(folder / "scenario")
    run_study(covkit.load_scenario(toml), folder / "out")
    return folder / "out"


def test_run_outputs_show_one_spelling_codes_as_given_counties_by_code(taiwan_run):
    import csv
    import json

    import geopandas as gpd

    from covkit.runfolder import read_townships

    out = taiwan_run
    shown = {"台北市": "臺北市", "台東縣": "臺東縣", "連江縣": "連江縣"}
    codes = [t[0] for t in TOWNS]
    # kpi_townships.csv: BOM, codes as Excel formula text, display names folded
    raw = (out / "kpi_townships.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(out / "kpi_townships.csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [r["township_id"] for r in rows] == [f'="{c}"' for c in codes]
    assert [r["county_code"] for r in rows] == [f'="{t[3]}"' for t in TOWNS]
    assert [r["county"] for r in rows] == [shown[t[2]] for t in TOWNS]
    assert [r["county_source"] for r in rows] == [t[2] for t in TOWNS]
    assert [r["name"] for r in rows] == [t[1] for t in TOWNS]
    # covkit's reader gives the codes back
    table = read_townships(out, geometry=False)
    assert table["township_id"].tolist() == codes
    # GeoPackage: text codes as given, display names folded
    gpkg = gpd.read_file(out / "kpi_townships.gpkg")
    assert gpkg["township_id"].tolist() == codes
    assert gpkg["county"].tolist() == [shown[t[2]] for t in TOWNS]
    # best_server.csv: BOM too
    assert (out / "best_server.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    # kpi_summary.json: counties in code order (09007 < 10014 < 63000), with their code
    summary = json.loads((out / "kpi_summary.json").read_text(encoding="utf-8"))
    assert list(summary["counties"]) == ["連江縣", "臺東縣", "臺北市"]
    assert [e["county_code"] for e in summary["counties"].values()] == ["09007", "10014",
                                                                       "63000"]
    assert summary["parameters"]["outputs"] == {"csv_codes": "excel", "names": "taiwan"}
    # report: county table in code order, one spelling everywhere
    page = (out / "report.html").read_text(encoding="utf-8")
    pos = [page.index(f"<td class=\"l\">{c}</td>") for c in ("連江縣", "臺東縣", "臺北市")]
    assert pos == sorted(pos)
    assert "台" not in page and "臺北市" in page
    # the page embeds the CJK font for its text (subset to its CJK characters), fonts allowed
    # from data: URLs only
    import base64
    import io
    import re

    from fontTools.ttLib import TTFont

    from covkit.fonts import is_cjk

    assert "font-src data:" in page and "default-src 'none'" in page
    woff = re.search(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", page)
    assert woff is not None
    cmap = TTFont(io.BytesIO(base64.b64decode(woff.group(1)))).getBestCmap()
    cjk = {c for c in page if is_cjk(c)}
    assert {"臺", "連", "竿"} <= cjk and all(ord(c) in cmap for c in cjk)
    assert len(cmap) < 4 * len(cjk)  # a subset, not the whole font
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "台" not in md and "| 09007 | 連江縣 |" in md
    # map: the township layer's names as shown (JSON may escape them)
    mp = (out / "map.html").read_text(encoding="utf-8")
    assert "臺北市" in mp or "\\u81fa\\u5317\\u5e02" in mp
    assert "台北市" not in mp and "\\u53f0" not in mp
    # and embeds the CJK font for the names its tooltips, popups and panel show
    woff = re.search(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", mp)
    assert woff is not None and 'font-family: "covkit-cjk"' in mp
    cmap = TTFont(io.BytesIO(base64.b64decode(woff.group(1)))).getBestCmap()
    assert all(ord(c) in cmap for c in "".join(t[1] for t in TOWNS) + "臺北市臺東縣連江縣")


def test_report_without_cjk_text_embeds_no_font(tmp_path):
    from helpers.run_folder import write_run_fixture

    from covkit.report import CSP, write_report

    out = write_run_fixture(tmp_path / "out")
    html_path, _ = write_report(out)
    page = html_path.read_text(encoding="utf-8")
    assert "@font-face" not in page and f'content="{CSP}"' in page
