"""``covkit scenario demo | check | keys``: scenario files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import covkit
from covkit.cli.common import JsonFlag, ScenarioArg, SeedOption, echo, print_summary


def scenario_demo(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the demo files into.")],
    seed: SeedOption = 2025,
) -> None:
    """Write the synthetic demo island (dem.tif, stations.csv, population.tif, townships.gpkg,
    fibre.csv, trails.gpkg, scenario.toml) as ordinary files."""
    echo(f"wrote demo scenario {covkit.write_demo(out, seed=seed)}")


def scenario_check(scenario: ScenarioArg, as_json: JsonFlag = False) -> None:
    """Load and validate every input of a scenario (every check `covkit run` makes before
    computing coverage) and print headline figures."""
    summary = covkit.api.summarize_inputs(covkit.api.check_inputs(scenario))
    print_summary(summary, as_json, "inputs")


def scenario_keys() -> None:
    """Print every scenario key with unit, default and allowed range (Markdown)."""
    typer.echo(covkit.api.schema_markdown())
