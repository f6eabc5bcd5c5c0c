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
) -> None:
    """Generate the synthetic demo scenario into OUT/scenario and run the whole pipeline on it."""
    from covkit.api import load_inputs, summarize_inputs
    from covkit.data.demo import write_demo

    toml = write_demo(Path(out) / "scenario", seed=seed)
    _echo(f"demo scenario: {toml}")
    summary = summarize_inputs(load_inputs(toml))
    _print_summary(summary, False, "demo inputs")


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
