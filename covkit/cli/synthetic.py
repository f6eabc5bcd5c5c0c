"""``covkit scenario sites``: a synthetic network for a scenario without a station list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import covkit
from covkit.cli.common import ScenarioArg, echo
from covkit.errors import CovkitInputError

BANDS_HELP = ("Carriers, comma-separated: n78 (3.5 GHz, every site), b28 (700 MHz, rural "
              "sites), n257 (28 GHz, the densest sites), b3 (1800 MHz), n1 (2100 MHz), b7 "
              "(2600 MHz).")
"""Help of ``--bands``: the names of ``covkit.api.SYNTHETIC_BANDS``, written out so that the
CLI's ``--help`` does not import the API (tests/test_synthetic.py checks they agree)."""
DEFAULT_BANDS = "n78,b28"
"""Default of ``--bands``: ``covkit.api.SYNTHETIC_DEFAULT_BANDS``."""


def scenario_sites(
    scenario: ScenarioArg,
    n: Annotated[int, typer.Option("--n", help="Number of sites over all operators.")],
    out: Annotated[Path, typer.Option("--out", help="Stations CSV to write (e.g. the "
                                                    "scenario's inputs.stations).")],
    operators: Annotated[str, typer.Option(
        help="Operator names, comma-separated, or their number (named A, B, ...).")] = "3",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same network).")] = 0,
    bands: Annotated[str, typer.Option(help=BANDS_HELP)] = DEFAULT_BANDS,
    mmwave_share: Annotated[float, typer.Option(
        help="Share of each operator's urban sites, the densest, with 28 GHz (n257).")] = 0.1,
) -> None:
    """Place N synthetic sites (three sectors each) for M operators on a scenario's grid,
    population, DEM and townships, the way operators build: denser in towns, ridge tops in
    the mountains, a site in every township with people. Every row is flagged synthetic, and
    runs on it say so in kpi_summary.json, the report and the map."""
    names: int | list[str]
    names = int(operators) if operators.strip().isdigit() else \
        [o.strip() for o in operators.split(",")]
    band_list = [b.strip() for b in bands.split(",") if b.strip()]
    if n < 1:
        raise CovkitInputError(f"--n {n} must be at least 1", column="--n")
    table = covkit.api.synthetic_stations_for(scenario, n, out=out, operators=names, seed=seed,
                                              bands=band_list, mmwave_share=mmwave_share)
    by_op = table.groupby("operator")["site_id"].nunique()
    echo(f"wrote {out}: {table['site_id'].nunique()} synthetic sites, {len(table)} sectors "
         f"({', '.join(f'{o} {k}' for o, k in by_op.items())})")
