"""``covkit scenario demo | check | keys | taiwan | national``: scenario files."""

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


def scenario_taiwan(
    townships: Annotated[Path, typer.Option("--townships", help="Township boundaries: "
                                            "TopoJSON, GeoJSON, Shapefile (TOWNCODE).")],
    dem: Annotated[list[Path], typer.Option("--dem", metavar="<path>",
                                            help="DEM GeoTIFF (repeat for several).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the scenario into.")],
    townships_layer: Annotated[str | None, typer.Option(
        "--townships-layer", help="Layer of a multi-layer townships file (default: towns).")]
    = None,
    villages: Annotated[Path | None, typer.Option(
        "--villages", help="Village boundaries (VILLCODE): the scenario gets "
        "inputs.villages (village mode, kpi_villages.csv).")] = None,
    villages_layer: Annotated[str | None, typer.Option(
        "--villages-layer", help="Layer of a multi-layer villages file (default: villages).")]
    = None,
    population: Annotated[Path | None, typer.Option(
        "--population", help="Township population: JSON keyed by old 7-digit codes, or CSV "
        "with TOWNCODE.")] = None,
    village_population: Annotated[Path | None, typer.Option(
        "--village-population", help="Village population CSV (TOWNCODE-NNN codes).")] = None,
    stations: Annotated[Path | None, typer.Option(
        "--stations", help="Stations table in covkit's schema (or --synthetic-sites).")] = None,
    synthetic_sites: Annotated[int | None, typer.Option(
        "--synthetic-sites", help="Without a stations table: place N synthetic sites by "
        "population and terrain (written as stations.csv, flagged synthetic).")] = None,
    operators: Annotated[int, typer.Option(
        "--operators", help="Operators of the synthetic sites.")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic sites.")] = 0,
    resolution_m: Annotated[float, typer.Option("--resolution-m", help="Grid cell size [m].")]
    = 100.0,
    crs: Annotated[str, typer.Option("--crs", help="Metric working CRS.")] = "EPSG:3826",
    national_population: Annotated[float | None, typer.Option(
        "--national-population", help="National population for the remote rule's density "
        "(default: the registered population of the townships given).")] = None,
    national_area_km2: Annotated[float | None, typer.Option(
        "--national-area-km2", help="National land area for the remote rule's density [km2] "
        "(default: Taiwan's official 36,197.07 km2).")] = None,
) -> None:
    """Build a scenario from Taiwan's official boundary and population files, joined on codes
    (townships.gpkg, villages.gpkg, population.gpkg, SOURCES.md, sources.json,
    scenario.toml)."""
    path = covkit.api.build_taiwan_scenario(
        out, townships=townships, dem=dem, stations=stations, townships_layer=townships_layer,
        villages=villages, villages_layer=villages_layer, population=population,
        village_population=village_population, resolution_m=resolution_m, crs=crs,
        national_population=national_population, national_area_km2=national_area_km2,
        synthetic_sites=synthetic_sites, operators=operators, seed=seed)
    echo(f"wrote Taiwan scenario {path} (join report: {path.parent / 'SOURCES.md'})")


def scenario_national(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the scenario into.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the island and its sites.")] = 0,
    resolution_m: Annotated[float, typer.Option(
        "--resolution-m", help="Grid cell size [m] of the terrain, people and scenario.")]
    = 100.0,
    radius_km: Annotated[float, typer.Option(
        "--radius-km", help="Computation radius around each site [km] "
        "(propagation.max_radius_km).")] = 10.0,
    sites: Annotated[int, typer.Option(
        "--sites", help="Synthetic sites at full size (three sectors each).")] = 15_000,
    operators: Annotated[int, typer.Option("--operators", help="Operators of the sites.")]
    = 3,
    scale: Annotated[float, typer.Option(
        "--scale", help="Share of the full size (0.001-1): land, people, townships and sites "
        "shrink together, e.g. 0.05 for a quick check.")] = 1.0,
) -> None:
    """Write a synthetic, seeded, Taiwan-sized scenario without any input data: an island of
    about 36,000 km2 in the open sea, mountains to about 3,500 m, 23 million people, about 370
    townships, 15,000 synthetic sites of 3 operators; P.1812 at 100 m, R = 10 km (dem.tif,
    population.tif, townships.gpkg, stations.csv, national.json, scenario.toml)."""
    path = covkit.api.build_national_scenario(out, seed=seed, resolution_m=resolution_m,
                                              radius_km=radius_km, sites=sites,
                                              operators=operators, scale=scale)
    echo(f"wrote national scenario {path} (figures: {path.parent / 'national.json'})")


def scenario_keys() -> None:
    """Print every scenario key with unit, default and allowed range (Markdown)."""
    typer.echo(covkit.api.schema_markdown())
