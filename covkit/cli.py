"""Command-line interface: a thin layer over :mod:`covkit.api`.

Bad input ends with a one-line ``error: ...`` on stderr and exit code 2; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from covkit import __version__
from covkit.errors import CovkitError

app = typer.Typer(
    name="covkit",
    help="5G and broadband coverage analysis: path loss, population coverage KPIs, site "
         "proposals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
scenario_app = typer.Typer(help="Scenario files: write the demo, check inputs, list keys.",
                           no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")

_STATE = {"debug": False, "quiet": False}


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or tables.")] = False,
) -> None:
    _STATE["debug"] = debug
    _STATE["quiet"] = quiet


def _echo(text: str) -> None:
    if not _STATE["quiet"]:
        typer.echo(text)


@app.command()
def version() -> None:
    """Print the covkit version."""
    typer.echo(f"covkit {__version__}")


@scenario_app.command("demo")
def scenario_demo(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the demo files into.")],
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic island.")] = 2025,
) -> None:
    """Write the synthetic demo island (dem.tif, stations.csv, population.tif, townships.gpkg,
    fibre.csv, trails.gpkg, scenario.toml) as ordinary files."""
    from covkit.data.demo import write_demo

    toml = write_demo(out, seed=seed)
    _echo(f"wrote demo scenario {toml}")


@scenario_app.command("check")
def scenario_check(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Load and validate every input of a scenario and print headline figures."""
    from covkit.api import load_inputs, summarize_inputs

    summary = summarize_inputs(load_inputs(scenario))
    _print_summary(summary, as_json, "inputs")


@scenario_app.command("keys")
def scenario_keys() -> None:
    """Print every scenario key with unit, default and allowed range (Markdown)."""
    from covkit.config import schema_markdown

    typer.echo(schema_markdown())


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("demo-out"),
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic island.")] = 2025,
    no_sites: Annotated[bool, typer.Option("--no-sites", help="Skip the site proposals.")
                        ] = False,
) -> None:
    """Generate the synthetic demo scenario into OUT/scenario and run the whole pipeline on it:
    coverage and KPIs, site proposals, map.html and report.html."""
    from covkit.api import load_inputs, summarize_inputs
    from covkit.coverage.run import headline, run_scenario
    from covkit.data.demo import write_demo

    toml = write_demo(Path(out) / "scenario", seed=seed)
    _echo(f"demo scenario: {toml}")
    inputs = load_inputs(toml)
    _print_summary(summarize_inputs(inputs), False, "demo inputs")
    result = run_scenario(toml, out_dir=out, progress=not _STATE["quiet"], inputs=inputs)
    _print_summary(headline(result.summary), False, "coverage KPIs")
    if not no_sites:
        _propose(toml, out, None, None, result, inputs)
    _map_and_report(out, toml)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    no_map: Annotated[bool, typer.Option("--no-map", help="Do not write map.html and "
                                                          "report.html.")] = False,
) -> None:
    """Coverage layers and regulator KPIs: writes rsrp_best.tif, best_server.tif, sinr.tif,
    coverage_probability.tif, covered.tif (COG), kpi_townships.csv/.gpkg and kpi_summary.json
    to OUT (atomically: a failed run leaves no partial file), then map.html and report.html."""
    from covkit.coverage.run import headline, run_scenario

    result = run_scenario(scenario, out_dir=out, progress=not _STATE["quiet"])
    if as_json:
        typer.echo(json.dumps(headline(result.summary), indent=2, default=str))
    else:
        _print_summary(headline(result.summary), False, "coverage KPIs")
        _echo(f"wrote {len(result.files)} files to {out}")
    if not no_map:
        _map_and_report(out, scenario, announce=not as_json)


@app.command()
def sites(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    budget: Annotated[int | None, typer.Option(
        help="Number of sites to propose (default: sites.budget_sites).")] = None,
    method: Annotated[str | None, typer.Option(
        help="greedy (lazy greedy) or exact (integer programme with HiGHS); default: "
             "sites.method.")] = None,
    no_map: Annotated[bool, typer.Option("--no-map", help="Do not write map.html and "
                                                          "report.html.")] = False,
) -> None:
    """Propose sites for uncovered and remote areas: runs coverage (as 'covkit run'), then
    writes sites_proposed.csv/.gpkg, kpi_after.json (KPIs recomputed with the proposed sites
    built) and sites_summary.json to OUT."""
    from covkit.config import load_scenario
    from covkit.coverage.run import run_scenario
    from covkit.coverage.sites import with_overrides

    study = with_overrides(load_scenario(scenario), budget, method)  # fail fast on bad options
    before = run_scenario(study, out_dir=out, progress=not _STATE["quiet"])
    _propose(study, out, None, None, before)
    if not no_map:
        _map_and_report(out, scenario)


def _propose(scenario, out, budget, method, before, inputs=None) -> None:
    from covkit.coverage.sites import propose_sites

    res = propose_sites(scenario, out, budget_sites=budget, method=method,
                        progress=not _STATE["quiet"], before=before, inputs=inputs)
    s = res.summary
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
    _print_summary({k: v for k, v in table.items() if v is not None}, False, "site proposals")


def _map_and_report(out, scenario, announce: bool = True) -> None:
    from covkit.maps import write_map
    from covkit.report import write_report

    html = write_map(out, scenario)
    rep, _ = write_report(out)
    if announce:
        _echo(f"wrote {html} and {rep}")


@app.command("map")
def map_cmd(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of 'covkit run'.")],
    cdn: Annotated[bool, typer.Option(
        "--cdn", help="Load Leaflet etc. from CDNs and add OpenStreetMap tiles (needs internet "
                      "to view). Default: offline, with the libraries copied to OUT_DIR/lib.")
    ] = False,
    scenario: Annotated[Path | None, typer.Option(
        help="Scenario TOML (stations, trails); default: the files recorded in "
             "kpi_summary.json.")] = None,
) -> None:
    """Write OUT_DIR/map.html: best RSRP, township coverage, stations, proposed sites, trails."""
    from covkit.maps import write_map

    _echo(f"wrote {write_map(out_dir, scenario, cdn=cdn)}")


@app.command("report")
def report_cmd(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of 'covkit run'.")],
) -> None:
    """Write OUT_DIR/report.html (self-contained) and OUT_DIR/report.md (+ PNG figures)."""
    from covkit.report import write_report

    html, md = write_report(out_dir)
    _echo(f"wrote {html} and {md}")


@app.command()
def pathloss(
    model: Annotated[str, typer.Option(help="Model for --profile: p1812, fspl, hata, cost231, "
                                            "38901-rma, 38901-uma, 38901-umi.")] = "p1812",
    profile: Annotated[Path | None, typer.Option(
        help="Profile CSV: distance_km,height_m[,clutter_height_m,zone] (zone 1 sea, "
             "3 coastal land, 4 inland).")] = None,
    freq_mhz: Annotated[float | None, typer.Option(help="Frequency [MHz].")] = None,
    tx_height_m: Annotated[float | None, typer.Option(
        help="Transmitter antenna height above ground [m].")] = None,
    rx_height_m: Annotated[float | None, typer.Option(
        help="Receiver antenna height above ground [m].")] = None,
    time_pct: Annotated[float, typer.Option(help="Time percentage [%], 1-50.")] = 50.0,
    location_pct: Annotated[float, typer.Option(help="Location percentage [%], 1-99.")] = 50.0,
    polarization: Annotated[str, typer.Option(help="h or v.")] = "h",
    dn: Annotated[float, typer.Option(help="Refractivity lapse rate DN [N-units/km].")] = 45.0,
    n0: Annotated[float, typer.Option(help="Sea-level surface refractivity N0 [N-units].")] = 325.0,
    tx_lat_deg: Annotated[float | None, typer.Option(help="Transmitter latitude [deg].")] = None,
    tx_lon_deg: Annotated[float | None, typer.Option(help="Transmitter longitude [deg].")] = None,
    rx_lat_deg: Annotated[float | None, typer.Option(help="Receiver latitude [deg].")] = None,
    rx_lon_deg: Annotated[float | None, typer.Option(help="Receiver longitude [deg].")] = None,
    dct_km: Annotated[float, typer.Option(help="Transmitter distance to the coast [km].")] = 500.0,
    dcr_km: Annotated[float, typer.Option(help="Receiver distance to the coast [km].")] = 500.0,
    environment: Annotated[str, typer.Option(help="Hata/COST-231 environment.")] = "urban",
    scenario: Annotated[Path | None, typer.Option(
        help="Scenario TOML: loss from --station-id to each of --points.")] = None,
    station_id: Annotated[str | None, typer.Option(help="Station id (with --scenario).")] = None,
    points: Annotated[Path | None, typer.Option(
        help="Points CSV: x,y (scenario CRS, m) or lon,lat (deg) (with --scenario).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Path loss of single links: along a terrain profile (P.1812 with every intermediate
    term), or from a scenario's station to points on its DEM (the exact reference profile)."""
    from covkit.errors import CovkitInputError

    if scenario is not None:
        if station_id is None or points is None:
            raise CovkitInputError("--scenario needs --station-id and --points")
        from covkit.api import point_losses

        rows = point_losses(scenario, station_id, points)
        for row in rows:
            if as_json:
                typer.echo(json.dumps(row))
            else:
                typer.echo(f"point {row['point']}: {row['distance_m']:.1f} m  "
                           f"{row['loss_db']:.2f} dB ({row['model']})")
        return
    if profile is None:
        raise CovkitInputError("give --profile (with --freq-mhz, --tx-height-m, --rx-height-m) "
                               "or --scenario with --station-id and --points")
    missing = [n for n, v in (("--freq-mhz", freq_mhz), ("--tx-height-m", tx_height_m),
                              ("--rx-height-m", rx_height_m)) if v is None]
    if missing:
        raise CovkitInputError(f"--profile needs {', '.join(missing)}")
    from covkit.data.loaders import read_profile_csv

    prof = read_profile_csv(profile)
    if model == "p1812":
        from covkit.propagation.p1812 import p1812_point_to_point

        result = p1812_point_to_point(
            prof["distance_km"], prof["height_m"], freq_mhz, tx_height_m, rx_height_m,
            clutter_height_m=prof["clutter_height_m"], zone=prof["zone"], time_pct=time_pct,
            location_pct=location_pct, polarization=polarization, dn=dn, n0=n0,
            tx_lat_deg=tx_lat_deg, tx_lon_deg=tx_lon_deg, rx_lat_deg=rx_lat_deg,
            rx_lon_deg=rx_lon_deg, dct_km=dct_km, dcr_km=dcr_km)
    else:
        from covkit.propagation.models import path_loss_db

        d_m = float(prof["distance_km"][-1]) * 1000.0
        loss = path_loss_db(model, d_m, freq_mhz, tx_height_m, rx_height_m,
                            environment=environment)
        result = {"model": model, "distance_m": d_m, "loss_db": float(loss)}
    result = {k: (v.item() if hasattr(v, "item") else v) for k, v in result.items()}
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"loss_db = {result['loss_db']:.2f}")
    if not _STATE["quiet"]:
        for k in ("Lbfs", "Lb0p", "Lbulla50", "Lbulls50", "Ldsph50", "Ld50", "Lbd", "Lbs", "Lba",
                  "Lb", "Ep"):
            if k in result:
                typer.echo(f"  {k:9s} {result[k]:10.3f}")


def _print_summary(summary: dict, as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    if _STATE["quiet"]:
        return
    from rich.console import Console
    from rich.table import Table

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


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        app(args=argv, standalone_mode=False)
    except CovkitError as exc:
        if _STATE["debug"]:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if _STATE["debug"]:
            raise
        typer.echo(f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                   err=True)
        sys.exit(1)
