"""Command-line interface: a thin layer over the public API (:mod:`covkit`, :mod:`covkit.api`).

One module per group of commands (:mod:`~covkit.cli.study`, :mod:`~covkit.cli.scenario`,
:mod:`~covkit.cli.synthetic`, :mod:`~covkit.cli.views`, :mod:`~covkit.cli.pathloss`); the
global flags, printing and the options they share are in :mod:`~covkit.cli.common`. Bad
input ends with a one-line ``error: ...`` on stderr and exit code 2; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Annotated

import click
import typer

from covkit.cli import measured, pathloss, scenario, study, synthetic, views
from covkit.cli.common import STATE
from covkit.errors import CovkitError
from covkit.version import __version__

HELP_STYLE = {"rich_markup_mode": None}
"""Plain help (click's formatter), not Rich's: Rich markup takes the units of the help texts
("[m]", "[deg]") for style tags and drops them, and Rich's panels show a ``<bool>`` type for
flags; the plain formatter also spares ``--help`` the import of Rich's markdown machinery."""

COMPILE_NOTICE_ENV = "COVKIT_COMPILE_NOTICE"
"""The environment variable of ``covkit._jit.COMPILE_NOTICE_ENV`` (the CLI imports only the
public modules); set for the run of a command unless ``--quiet``."""

app = typer.Typer(
    name="covkit",
    help="5G and broadband coverage analysis: path loss, population coverage KPIs, site "
         "proposals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    **HELP_STYLE,
)
scenario_app = typer.Typer(help="Scenario files: write the demo, check inputs, list keys, "
                                "generate synthetic sites.",
                           no_args_is_help=True, **HELP_STYLE)
app.add_typer(scenario_app, name="scenario")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"covkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", help="Print the covkit version and exit.", is_eager=True,
        callback=_print_version)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or tables.")] = False,
) -> None:
    STATE["debug"] = debug
    STATE["quiet"] = quiet
    if not quiet:  # covkit._jit: a line on stderr when the kernels compile (first run)
        os.environ[COMPILE_NOTICE_ENV] = "1"


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
app.command("verify")(measured.verify_cmd)
app.command("calibrate")(measured.calibrate_cmd)
app.command()(study.precompile)
scenario_app.command("demo")(scenario.scenario_demo)
scenario_app.command("check")(scenario.scenario_check)
scenario_app.command("keys")(scenario.scenario_keys)
scenario_app.command("taiwan")(scenario.scenario_taiwan)
scenario_app.command("national")(scenario.scenario_national)
scenario_app.command("sites")(synthetic.scenario_sites)
scenario_app.command("measurements")(measured.scenario_measurements)


_CLICK_ERRORS = tuple({click.ClickException,
                       getattr(typer, "TyperException", click.ClickException)})
"""Click's errors: typer >= 0.22 raises those of its own copy of click (subclasses of
``typer.TyperException``), older typer those of click."""


def _click_error(exc) -> None:
    """Report a click error (bad option, missing argument, unknown command, bad value) as
    one line on stderr and exit with its code (2 for usage errors)."""
    code = getattr(exc, "exit_code", 1)
    if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as click does
        exc.show()
        sys.exit(code)
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and code == 2:
        message += f" (see '{ctx.command_path} --help')"
    typer.echo(f"error: {message}", err=True)
    sys.exit(code)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` of the CLI: one ``warning: ...`` line on stderr (no file name,
    line number or source line), and nothing with ``--quiet``."""
    del category, filename, lineno, file, line
    if STATE["quiet"]:
        return
    typer.echo(f"warning: {' '.join(str(message).split())}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    notice = os.environ.get(COMPILE_NOTICE_ENV)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            _main(argv)
    finally:
        if notice is None:
            os.environ.pop(COMPILE_NOTICE_ENV, None)
        else:
            os.environ[COMPILE_NOTICE_ENV] = notice


def _main(argv: list[str] | None) -> None:
    try:
        app(args=argv, prog_name="covkit", standalone_mode=False)
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
    except _CLICK_ERRORS as exc:
        _click_error(exc)
    except Exception as exc:
        if STATE["debug"]:
            raise
        typer.echo(f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                   err=True)
        sys.exit(1)
