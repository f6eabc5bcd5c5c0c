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
