"""covkit.report: report.html (self-contained) and report.md (+ PNG figures) of a run folder.

Fixtures are the small run folders of tests/helpers/run_folder.py (rasters in EPSG:3826, two
townships, summary and after-KPI JSON, proposed sites).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers.run_folder import HEIGHT, RES_M, WIDTH, rsrp_field, write_run_fixture

from covkit.errors import CovkitInputError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_report_files_tables_and_figures(tmp_path: Path):
    from covkit.report import FIG_BEFORE_AFTER, FIG_MAP, FIG_RSRP, FIG_TOWNSHIPS, write_report

    out = write_run_fixture(tmp_path / "out")
    html_path, md_path = write_report(out)
    assert html_path == out / "report.html" and md_path == out / "report.md"
    page = html_path.read_text(encoding="utf-8")
    md = md_path.read_text(encoding="utf-8")

    # self-contained HTML: four embedded PNGs, no external or relative references
    imgs = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert len(imgs) == 4
    for src in imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG_MAGIC
    assert not re.search(r"https?://", page)
    assert not re.search(r"""(?:src|href)=["'](?!data:)""", page)

    # Markdown: figures saved beside it and linked relatively
    for name in (FIG_TOWNSHIPS, FIG_RSRP, FIG_BEFORE_AFTER, FIG_MAP):
        assert f"]({name})" in md
        assert (out / name).read_bytes()[:8] == PNG_MAGIC

    for text in (page, md):
        assert "Coverage report: fixture island" in text
        assert "Population coverage, non-remote townships" in text and "97.9 %" in text
        assert "RSRP &gt;= -110.0 dBm" in text or "RSRP >= -110.0 dBm" in text
        assert "90 % location probability" in text and "100 m grid" in text and "p1812" in text
        assert "OpA" in text and "OpB" in text and "Nantou" in text
        assert "Before and after the proposed sites" in text
        assert "+26.3 pp" in text  # 95.8 - 69.45
        assert "C17" in text and "1,500" in text
        assert "High Ridge" in text and "Riverside" in text
        assert "Weighted by population" in text
        assert "propagation.model" in text
    # markdown tables are well formed: every table row has the header's column count
    for block in re.findall(r"(?:^\|.*\|\n)+", md, flags=re.M):
        lines = block.strip().splitlines()
        counts = {len(re.split(r"(?<!\\)\|", line)) for line in lines}
        assert len(counts) == 1, block
    assert not list(out.glob(".report*.tmp"))
    assert not list(out.glob(".report*.tmp*"))


def test_rsrp_distribution_population_weights_are_conserved(tmp_path: Path):
    """Population-weighted histogram: the weights add up to the population of the computed
    cells; the area histogram adds up to their area."""
    from covkit.report import rsrp_distribution

    out = write_run_fixture(tmp_path / "out")
    pop_path = out / "inputs" / "population.tif"
    dist = rsrp_distribution(out / "rsrp_best.tif", pop_path)
    rsrp = rsrp_field()
    pop = np.full((HEIGHT, WIDTH), 2.0)
    pop[:, :10] = 20.0
    expected = pop[np.isfinite(rsrp)].sum()
    assert dist.weighted_by == "population"
    assert dist.total == pytest.approx(expected)
    assert dist.weights.sum() == pytest.approx(expected)
    # -70 .. -119 dBm, 2 dB bins [-120, -118) .. [-70, -68): the top bin holds column 0 only
    assert dist.edges_dbm[-1] > -70.0 and dist.edges_dbm[0] <= -119.0
    assert dist.weights[-1] == pytest.approx(HEIGHT * 20.0)

    area = rsrp_distribution(out / "rsrp_best.tif", None)
    assert area.weighted_by == "area"
    assert area.total == pytest.approx(np.isfinite(rsrp).sum() * RES_M**2 / 1e6)


def test_population_on_another_grid_is_resampled_by_sum(tmp_path: Path):
    import rasterio
    from helpers.run_folder import CRS, X0, Y0
    from rasterio.transform import from_origin

    from covkit.report import rsrp_distribution

    out = write_run_fixture(tmp_path / "out")
    coarse = tmp_path / "pop_200m.tif"
    with rasterio.open(coarse, "w", driver="GTiff", width=WIDTH // 2, height=HEIGHT // 2,
                       count=1, dtype="float64", crs=CRS,
                       transform=from_origin(X0, Y0, 2 * RES_M, 2 * RES_M)) as d:
        d.write(np.full((HEIGHT // 2, WIDTH // 2), 8.0), 1)  # 2 persons per 100 m cell
    dist = rsrp_distribution(out / "rsrp_best.tif", coarse)
    n_ok = np.isfinite(rsrp_field()).sum()
    assert dist.total == pytest.approx(2.0 * n_ok, rel=1e-6)


def test_report_without_sites_population_or_summary_keys(tmp_path: Path):
    from covkit.report import write_report

    out = write_run_fixture(tmp_path / "out", with_sites=False, population=False)
    summary = json.loads((out / "kpi_summary.json").read_text())
    for k in ("parameters", "operators", "counties", "input_files"):
        summary.pop(k)
    (out / "kpi_summary.json").write_text(json.dumps(summary))
    html_path, md_path = write_report(out)
    md = md_path.read_text()
    assert "Before and after" not in md and "Proposed sites" not in md
    assert "method parameters not recorded" in md
    assert "Weighted by area" in md
    assert "report_before_after.png" not in md
    assert html_path.read_text().count("data:image/png;base64,") == 3  # + the coverage map


def test_report_from_township_table_only(tmp_path: Path):
    from covkit.report import write_report

    full = write_run_fixture(tmp_path / "full")
    out = tmp_path / "csv_only"
    out.mkdir()
    shutil.copy(full / "kpi_townships.csv", out)
    _, md_path = write_report(out)
    md = md_path.read_text()
    assert "Population coverage by township" in md and "Township indicators" in md
    assert "Best RSRP distribution" not in md


def test_report_bad_folder(tmp_path: Path):
    from covkit.report import write_report

    with pytest.raises(CovkitInputError, match="does not exist"):
        write_report(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CovkitInputError, match="no coverage outputs found"):
        write_report(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "kpi_summary.json").write_text("{not json")
    with pytest.raises(CovkitInputError, match="cannot read JSON"):
        write_report(tmp_path / "bad")


# ----------------------------------------------------------------------------------------------
# Numbers as a reader expects them, the figures, file modes


def _md_rows(md: str) -> dict[str, list[str]]:
    """Markdown table rows by their first cell: {first cell: other cells} (the last table
    wins; ``key + " #1"`` is the first table's row where a key is in two tables)."""
    rows: dict[str, list[str]] = {}
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            rows.setdefault(cells[0] + " #1", cells[1:])
            rows[cells[0]] = cells[1:]
    return rows


def test_counts_are_whole_numbers_and_changes_signed_only_when_not_zero(tmp_path: Path):
    import pandas as pd

    from covkit.report import write_report

    out = write_run_fixture(tmp_path / "out")
    summary = json.loads((out / "kpi_summary.json").read_text())
    summary.update(townships=2, population_outside_townships=0.0, population_covered=5000.0)
    summary["parameters"]["propagation"]["k_factor"] = 4.0 / 3.0
    summary["speed_tiers"] = {"7_1": {}, "35_3": {}}
    (out / "kpi_summary.json").write_text(json.dumps(summary))
    after = dict(summary, population_coverage_pct=95.8, remote_population_coverage_pct=91.7,
                 population_covered=6897.6, trail_coverage_pct=40.04)
    (out / "kpi_after.json").write_text(json.dumps(after))
    tw = pd.read_csv(out / "kpi_townships.csv", dtype={"township_id": str})
    tw["coverage_pct_7_1"] = [90.0, 10.0]
    tw.to_csv(out / "kpi_townships.csv", index=False)
    _, md_path = write_report(out)
    md = md_path.read_text()
    rows = _md_rows(md)

    assert rows["Townships"] == ["2"]
    assert rows["Remote townships"] == ["1"]
    assert rows["Population outside every township"] == ["0"]
    assert rows["Population"] == ["7,200"]
    assert rows["Covered population #1"] == ["5,000"]
    # before / after: counts as whole numbers, a change signed only when not zero
    assert rows["Covered population"] == ["5,000", "6,898", "+1,898"]
    assert rows["Remote townships with any coverage"] == ["1", "1", "0"]
    assert rows["Population coverage"] == ["69.5 %", "95.8 %", "+26.3 pp"]
    assert rows["Trail length covered"] == ["40.0 %", "40.0 %", "+0.04 pp"]
    assert not re.search(r"\+0\.0\b(?!\d)", md) and not re.search(r"\d\.0{4,}", md)
    # township table: people and households as whole numbers
    assert rows["T01"][3:5] == ["4,800", "4,700"]
    assert rows["T02"][6] == "923" and rows["T01"][6] == "1,846"
    assert "923.1" not in md
    assert "7/1 Mbps \\[%\\]" in md and "7_1 \\[%\\]" not in md
    # operators: sites and sectors; sites: ranks and people
    assert rows["OpA"][:2] == ["1", "2"]
    assert rows["1"][:3] == ["C17", "T02", "High Ridge"]  # the township's name beside its id
    assert rows["1"][5:7] == ["1,500", "1,500"]
    # parameters: no float noise
    assert rows["propagation.k\\_factor"] == ["1.33333333333"]


def test_fmt_count_and_fmt_change():
    from covkit.runfolder import fmt_change, fmt_count

    assert [fmt_count(v) for v in (2014683.0, 0.0, 0, 509.6, np.int64(8), None, np.nan)] == \
        ["2,014,683", "0", "0", "510", "8", "n/a", "n/a"]
    assert fmt_change(8, 8) == "0" and fmt_change(8.0, 10.0) == "+2"
    assert fmt_change(1985899.0, 2008373.0, "persons") == "+22,474"
    assert fmt_change(30.0, 20.0, "persons") == "-10"
    assert fmt_change(98.57, 99.7, "%") == "+1.1 pp"
    assert fmt_change(50.0, 50.0, "%") == "0.0 pp"
    assert fmt_change(50.0, 50.04, "%") == "+0.04 pp"  # never a non-zero change shown as 0
    assert fmt_change(50.0, 49.9996, "%") == "-0.0004 pp"
    assert fmt_change(1.0, 3.5, "km") == "+2.5 km"
    assert fmt_change(None, 1.0, "%") == "n/a"


def test_before_after_legend_covers_no_bar_or_label(tmp_path: Path):
    from matplotlib.patches import Rectangle

    from covkit.report import before_after_fig

    # high bars everywhere (as in the demo: 98.6 / 99.7 %), and a remote bar reaching the
    # lower right corner where the legend used to sit
    before = {"population_coverage_pct": 98.6, "non_remote_population_coverage_pct": 98.8,
              "remote_population_coverage_pct": 68.7}
    after = {"population_coverage_pct": 99.7, "non_remote_population_coverage_pct": 99.8,
             "remote_population_coverage_pct": 84.6}
    fig = before_after_fig(before, after)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend is not None
    lbox = legend.get_window_extent(renderer)
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 6
    for artist in [*bars, *ax.texts]:
        assert not lbox.overlaps(artist.get_window_extent(renderer)), artist
    assert not lbox.overlaps(ax.get_window_extent(renderer))  # outside the plot area
    # the value labels read as the tables do
    assert sorted(t.get_text() for t in ax.texts) == sorted(
        ["98.6", "98.8", "68.7", "99.7", "99.8", "84.6"])


def test_coverage_map_figure_in_report(tmp_path: Path):
    from matplotlib.collections import LineCollection

    from covkit.report import FIG_MAP, coverage_map_fig, write_report
    from covkit.runfolder import read_raster, read_townships

    out = write_run_fixture(tmp_path / "out")
    html_path, md_path = write_report(out)
    md = md_path.read_text()
    assert "## Coverage map" in md and f"]({FIG_MAP})" in md
    assert (out / FIG_MAP).read_bytes()[:8] == PNG_MAGIC
    page = html_path.read_text()
    assert "<h2>Coverage map</h2>" in page
    assert re.search(r'<img alt="Map of best RSRP[^"]*" src="data:image/png;base64,', page)

    rsrp, transform, crs = read_raster(out / "rsrp_best.tif")
    covered, _, _ = read_raster(out / "covered.tif")
    fig = coverage_map_fig(rsrp, transform, crs, covered=covered,
                           townships=read_townships(out), threshold_dbm=-110.0)
    assert len([a for a in fig.axes if a.images]) == 2  # RSRP and covered area
    ax_rsrp, ax_cov = (a for a in fig.axes if a.images)
    np.testing.assert_array_equal(np.ma.filled(ax_rsrp.images[0].get_array(), np.nan), rsrp)
    np.testing.assert_array_equal(np.ma.filled(ax_cov.images[0].get_array(), np.nan), covered)
    for ax in (ax_rsrp, ax_cov):
        lines = [c for c in ax.collections if isinstance(c, LineCollection)
                 and c.get_gid() == "townships"]
        assert len(lines) == 1 and len(lines[0].get_segments()) == 2  # two township outlines
        # in km of the raster's CRS: the outlines span the raster
        xs = np.concatenate([s[:, 0] for s in lines[0].get_segments()])
        assert xs.min() == pytest.approx(transform.c / 1000.0)
        assert xs.max() == pytest.approx((transform.c + WIDTH * RES_M) / 1000.0)
    # without covered.tif: the covered panel from the threshold
    fig = coverage_map_fig(rsrp, transform, crs, threshold_dbm=-100.0)
    cov = np.ma.filled(fig.axes[1].images[0].get_array(), np.nan)
    assert np.nansum(cov) == np.sum(rsrp >= -100.0)


def test_wide_tables_scroll_inside_the_page(tmp_path: Path):
    """The township table is wider than the page: each table sits in a box that scrolls
    sideways, so the page itself does not."""
    from covkit.report import write_report

    out = write_run_fixture(tmp_path / "out")
    page = write_report(out)[0].read_text()
    assert page.count("<table>") >= 5
    assert page.count('<div class="tbl"><table>') == page.count("<table>")
    assert re.search(r"div\.tbl \{[^}]*overflow-x: auto", page)


def test_rsrp_histogram_axis_has_thousands_separators(tmp_path: Path):
    from covkit.report import RsrpDistribution, rsrp_fig

    dist = RsrpDistribution(np.array([-120.0, -118.0, -116.0]), np.array([150_000.0, 220_000.0]),
                            "population", 370_000.0)
    fig = rsrp_fig(dist, -115.0, None)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "200,000" in labels and "0" in labels, labels


def test_report_shows_the_run_warnings(tmp_path: Path):
    from covkit.report import write_report

    out = write_run_fixture(tmp_path / "out")
    summary = json.loads((out / "kpi_summary.json").read_text())
    summary["warnings"] = ["population raster: 12 NaN cells counted as 0 persons"]
    (out / "kpi_summary.json").write_text(json.dumps(summary))
    html_path, md_path = write_report(out)
    assert "## Warnings (1)" in md_path.read_text()
    assert "| population raster: 12 NaN cells counted as 0 persons |" in md_path.read_text()
    assert "population raster: 12 NaN cells counted as 0 persons" in html_path.read_text()


def test_township_names_are_plain_text_in_figures(tmp_path: Path):
    """A township named like matplotlib mathtext is drawn as text (mathtext raised a
    ValueError on an unknown command and rendered $x^2$ as a formula)."""
    import pandas as pd

    from covkit.report import write_report

    out = write_run_fixture(tmp_path / "out")
    tw = pd.read_csv(out / "kpi_townships.csv", dtype={"township_id": str})
    tw["name"] = ["$\\notacommand{$", "$x^2$"]
    tw.to_csv(out / "kpi_townships.csv", index=False)
    _, md_path = write_report(out)
    assert "\\$\\\\notacommand\\{\\$" in md_path.read_text()


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_report_files_get_the_mode_the_umask_gives(tmp_path: Path, umask: int):
    import os
    import stat

    from covkit.report import write_report
    from covkit.runfolder import REPORT_FILES

    out = write_run_fixture(tmp_path / "out")
    old = os.umask(umask)
    try:
        write_report(out)
        write_report(out)  # and when replacing existing files
    finally:
        os.umask(old)
    written = [out / n for n in REPORT_FILES if (out / n).exists()]
    names = {p.name for p in written}
    assert {"report.html", "report.md"} <= names and len(names) >= 5  # + the figures
    for p in written:
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p.name
