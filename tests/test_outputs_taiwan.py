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
