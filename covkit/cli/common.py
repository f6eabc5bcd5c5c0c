"""What every command shares: the global flags, printing, and the common options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import covkit

STATE = {"debug": False, "quiet": False}
"""Global flags (``--debug``, ``--quiet``), set by the root callback."""

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario TOML file.")]
OutOption = Annotated[Path, typer.Option("--out", help="Output folder.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NoMapFlag = Annotated[bool, typer.Option("--no-map", help="Do not write map.html and "
                                                          "report.html.")]
AllowLargeFlag = Annotated[bool, typer.Option(
    "--allow-large", help="Go ahead even when the run's estimated peak memory exceeds the "
                          "available memory (by default such a run is refused before it "
                          "reads the DEM, with the estimate).")]
DaskOption = Annotated[str | None, typer.Option(
    "--dask", metavar="ADDRESS",
    help="Run the path loss and the fold of the sites on a Dask cluster: the address of a "
         "running scheduler (tcp://host:8786), or local:N for a local cluster of N worker "
         "processes. Needs pip install 'covkit[dask]'.")]
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


def _fmt(v, pct: bool = False) -> str:
    """A figure as printed: percentages with 2 decimals, whole numbers with thousands
    separators, NaN (not computed) as n/a."""
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:
            return "n/a"
        if pct:
            return f"{v:.2f}"
        return f"{v:,.0f}" if v == int(v) or abs(v) >= 1000 else f"{v:,.2f}"
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return str(v)


def print_kpis(summary: dict) -> None:
    """The coverage KPIs with the method beside each figure, the remote-township rule (how
    many townships each arm makes remote, the offshore additions by name) and the non-remote /
    remote coverage per county; nothing with ``--quiet``."""
    if STATE["quiet"]:
        return
    figures = covkit.api.headline(summary)
    methods = covkit.api.headline_methods(summary)
    console = Console()
    table = Table(title="coverage KPIs")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("method", overflow="fold")
    for k, v in figures.items():
        table.add_row(k, _fmt(v, pct="_pct" in k), methods.get(k, ""))
    console.print(table)
    remote = covkit.api.remote_rows(summary)
    if remote:
        t = Table(title="remote townships")
        for col in ("rule", "townships", "which / how"):
            t.add_column(col, overflow="fold")
        for row in remote:
            t.add_row(*row)
        console.print(t)
    counties = covkit.api.county_rows(summary)
    if len(counties) > 1:
        codes = any(c[0] for c in counties)
        missing = any(c[6] for c in counties)
        t = Table(title="coverage by county (non-remote / remote townships)")
        cols = ((("code", "left"),) if codes else ()) + (
            ("county", "left"), ("non-remote people", "right"), ("non-remote %", "right"),
            ("remote people", "right"), ("remote %", "right")) + (
            (("not computed people", "right"),) if missing else ())
        for col, just in cols:
            t.add_column(col, justify=just)
        for code, county, nrp, nrc, rp, rc, nc in counties:
            row = [str(county), _fmt(nrp), _fmt(nrc, pct=True), _fmt(rp) if rp else "",
                   _fmt(rc, pct=True) if rp else ""]
            t.add_row(*([str(code)] if codes else []) + row + ([_fmt(nc)] if missing else []))
        console.print(t)


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
