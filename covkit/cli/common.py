"""What every command shares: the global flags, printing, and the common options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

STATE = {"debug": False, "quiet": False}
"""Global flags (``--debug``, ``--quiet``), set by the root callback."""

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario TOML file.")]
OutOption = Annotated[Path, typer.Option("--out", help="Output folder.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NoMapFlag = Annotated[bool, typer.Option("--no-map", help="Do not write map.html and "
                                                          "report.html.")]
SeedOption = Annotated[int, typer.Option(help="Random seed of the synthetic island.")]
RunDirArg = Annotated[Path, typer.Argument(help="Output folder of 'covkit run'.")]


def progress() -> bool:
    """Whether to show progress bars (not with ``--quiet``)."""
    return not STATE["quiet"]


def echo(text: str) -> None:
    """Print a line unless ``--quiet``."""
    if not STATE["quiet"]:
        typer.echo(text)


def print_summary(summary: dict, as_json: bool, title: str) -> None:
    """A figure/value table (rich), or JSON with ``as_json``; nothing with ``--quiet``."""
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    if STATE["quiet"]:
        return
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in summary.items():
        if isinstance(v, float):
            v = f"{v:,.1f}"
        elif isinstance(v, list):
            v = ", ".join(map(str, v))
        table.add_row(k, str(v))
    Console().print(table)


def print_sites(summary: dict) -> None:
    """The table of a site proposal's headline figures."""
    s = summary
    table = {
        "method": s["method"], "status": s["status"], "candidates": s["candidates"],
        "sites_proposed": s["sites_proposed"], "new_population": s["new_population"],
        "new_trail_km": s["new_trail_km"], "total_cost": s["total_cost"],
        "objective": s["objective"], "bound": s["bound"], "gap": s["gap"],
        "population_coverage_pct before": s["population_coverage_pct_before"],
        "population_coverage_pct after": s["population_coverage_pct_after"],
        "remote_population_coverage_pct before": s["remote_population_coverage_pct_before"],
        "remote_population_coverage_pct after": s["remote_population_coverage_pct_after"],
    }
    print_summary({k: v for k, v in table.items() if v is not None}, False, "site proposals")
