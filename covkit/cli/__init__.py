"""Command-line interface: a thin layer over the public API (:mod:`covkit`, :mod:`covkit.api`).

One module per group of commands (:mod:`~covkit.cli.study`, :mod:`~covkit.cli.scenario`,
:mod:`~covkit.cli.views`, :mod:`~covkit.cli.pathloss`); the global flags, printing and the
options they share are in :mod:`~covkit.cli.common`. Bad input ends with a one-line
``error: ...`` on stderr and exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer

from covkit.cli import pathloss, scenario, study, views
from covkit.cli.common import STATE
from covkit.errors import CovkitError
from covkit.version import __version__

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


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or tables.")] = False,
) -> None:
    STATE["debug"] = debug
    STATE["quiet"] = quiet


@app.command()
def version() -> None:
    """Print the covkit version."""
    typer.echo(f"covkit {__version__}")


app.command()(study.demo)
app.command()(study.run)
app.command()(study.sites)
app.command("map")(views.map_cmd)
app.command("report")(views.report_cmd)
app.command()(pathloss.pathloss)
scenario_app.command("demo")(scenario.scenario_demo)
scenario_app.command("check")(scenario.scenario_check)
scenario_app.command("keys")(scenario.scenario_keys)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        app(args=argv, standalone_mode=False)
    except CovkitError as exc:
        if STATE["debug"]:
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
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if STATE["debug"]:
            raise
        typer.echo(f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                   err=True)
        sys.exit(1)
