"""The run folder: the names of the files a run writes, in one place.

The coverage and site-proposal steps write these files (:mod:`covkit.coverage`); the map and the
report read them back (:mod:`covkit.maps`, :mod:`covkit.report`). Both sides take the names from
here, so a file cannot be written under one name and looked for under another.
"""

from __future__ import annotations

RSRP_BEST = "rsrp_best.tif"
RSRP_SECOND = "rsrp_second.tif"
BEST_SERVER = "best_server.tif"
SINR = "sinr.tif"
COVERAGE_PROBABILITY = "coverage_probability.tif"
COVERED = "covered.tif"
THROUGHPUT_DL = "throughput_dl_mbps.tif"
BEST_SERVER_LEGEND = "best_server.csv"
KPI_TOWNSHIPS_CSV = "kpi_townships.csv"
KPI_TOWNSHIPS_GPKG = "kpi_townships.gpkg"
KPI_SUMMARY = "kpi_summary.json"

SITES_PROPOSED_CSV = "sites_proposed.csv"
SITES_PROPOSED_GPKG = "sites_proposed.gpkg"
KPI_AFTER = "kpi_after.json"
SITES_SUMMARY = "sites_summary.json"

MAP_HTML = "map.html"
MAP_LIB_DIR = "lib"
REPORT_HTML = "report.html"
REPORT_MD = "report.md"

COVERAGE_RASTERS = (RSRP_BEST, RSRP_SECOND, BEST_SERVER, SINR, COVERAGE_PROBABILITY, COVERED,
                    THROUGHPUT_DL)
"""Rasters of a coverage run (``throughput_dl_mbps.tif`` only with throughput on)."""
COVERAGE_TABLES = (BEST_SERVER_LEGEND, KPI_TOWNSHIPS_CSV, KPI_TOWNSHIPS_GPKG, KPI_SUMMARY)
"""Tables of a coverage run."""
SITES_FILES = (SITES_PROPOSED_CSV, SITES_PROPOSED_GPKG, KPI_AFTER, SITES_SUMMARY)
"""Files of a site-proposal run."""
