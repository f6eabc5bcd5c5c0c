"""``covkit map``, ``covkit report``: pages of a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import covkit
from covkit.cli.common import RunDirArg, echo


def map_cmd(
    out_dir: RunDirArg,
    cdn: Annotated[bool, typer.Option(
        "--cdn", help="Load Leaflet etc. from CDNs and add OpenStreetMap tiles (needs internet "
                      "to view). Default: offline, with the libraries copied to OUT_DIR/lib.")
    ] = False,
    scenario: Annotated[Path | None, typer.Option(
        help="Scenario TOML (stations, trails); default: the files recorded in "
             "kpi_summary.json.")] = None,
) -> None:
    """Write OUT_DIR/map.html: best RSRP, township coverage, stations, proposed sites, trails."""
    echo(f"wrote {covkit.write_map(out_dir, scenario, cdn=cdn)}")


def report_cmd(out_dir: RunDirArg) -> None:
    """Write OUT_DIR/report.html (self-contained) and OUT_DIR/report.md (+ PNG figures)."""
    html, md = covkit.write_report(out_dir)
    echo(f"wrote {html} and {md}")
