"""``covkit demo``, ``covkit run``, ``covkit sites``: the pipeline commands."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

import covkit
from covkit.cli.common import (
    AllowLargeFlag,
    DaskOption,
    NoMapFlag,
    OutOption,
    ScenarioArg,
    SeedOption,
    echo,
    print_kpis,
    print_sites,
    print_summary,
    progress,
)


def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("demo-out"),
    seed: SeedOption = 2025,
    no_sites: Annotated[bool, typer.Option("--no-sites", help="Skip the site proposals.")
                        ] = False,
) -> None:
    """Generate the synthetic demo scenario into OUT/scenario and run the whole pipeline on it:
    coverage and KPIs, site proposals, map.html and report.html."""
    toml = covkit.write_demo(Path(out) / "scenario", seed=seed)
    echo(f"demo scenario: {toml}")
    inputs = covkit.load_inputs(toml)
    print_summary(covkit.api.summarize_inputs(inputs), False, "demo inputs")
    study = covkit.run_study(inputs, out, sites=not no_sites, progress=progress())
    print_kpis(study.coverage.summary)
    if study.sites is not None:
        print_sites(study.sites.summary)
    echo(f"wrote {study.map_html} and {study.report_html}")


def precompile() -> None:
    """Compile the kernels a first run needs into Numba's cache now (about 20-40 s once;
    `pip install -e .` already does it). Later runs load them from the cache; run this after
    a wheel install or with a new NUMBA_CACHE_DIR so that the first real run does not wait."""
    figures = covkit.api.precompile(progress=progress())
    typer.echo(f"{figures['compiled']} kernels compiled in {figures['seconds']:.1f} s "
               f"(cache: {figures['cache']})")


def run(
    scenario: ScenarioArg,
    out: OutOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    no_map: NoMapFlag = False,
    allow_large: AllowLargeFlag = False,
    dask: DaskOption = None,
) -> None:
    """Coverage layers and regulator KPIs: writes rsrp_best.tif, best_server.tif, sinr.tif,
    coverage_probability.tif, covered.tif (COG), kpi_townships.csv/.gpkg and kpi_summary.json
    to OUT (atomically: a failed run leaves no partial file), then map.html and report.html.
    A run whose estimated peak memory exceeds the available memory is refused first, with
    the figures (--allow-large runs it anyway)."""
    with covkit.api.dask_client(dask) if dask is not None else contextlib.nullcontext() \
            as client:
        study = covkit.run_study(scenario, out, map_and_report=not no_map,
                                 progress=progress(), allow_large=allow_large, client=client)
    figures = covkit.api.headline(study.coverage.summary)
    if as_json:
        typer.echo(json.dumps(figures, indent=2, default=str))
        return
    print_kpis(study.coverage.summary)
    echo(f"wrote {len(study.coverage.files)} files to {out}")
    if not no_map:
        echo(f"wrote {study.map_html} and {study.report_html}")


def sites(
    scenario: ScenarioArg,
    out: OutOption,
    budget: Annotated[int | None, typer.Option(
        help="Number of sites to propose (default: sites.budget_sites).")] = None,
    method: Annotated[str | None, typer.Option(
        help="greedy (lazy greedy) or exact (integer programme with HiGHS); default: "
             "sites.method.")] = None,
    no_map: NoMapFlag = False,
    allow_large: AllowLargeFlag = False,
    dask: DaskOption = None,
) -> None:
    """Propose sites for uncovered and remote areas: runs coverage (as 'covkit run'), then
    writes sites_proposed.csv/.gpkg, kpi_after.json (KPIs recomputed with the proposed sites
    built) and sites_summary.json to OUT."""
    with covkit.api.dask_client(dask) if dask is not None else contextlib.nullcontext() \
            as client:
        study = covkit.run_study(scenario, out, sites=True, budget_sites=budget, method=method,
                                 map_and_report=not no_map, progress=progress(),
                                 allow_large=allow_large, client=client)
    print_sites(study.sites.summary)
