"""``covkit verify``, ``covkit calibrate`` and ``covkit scenario measurements``: measured
data."""

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
    OutOption,
    ScenarioArg,
    echo,
    print_summary,
    progress,
)
from covkit.errors import CovkitInputError

SUMMARY_SHOWN = ("n_points", "mean_error_db", "std_error_db", "rmse_db", "p5_error_db",
                 "p50_error_db", "p95_error_db", "reliability_share", "reliability_n",
                 "n_without_prediction", "n_dropped_off_grid")
"""The figures of verify_summary.json printed as a table."""


def verify_cmd(
    scenario: ScenarioArg,
    measurements: Annotated[Path, typer.Option(
        "--measurements", help="Test points: CSV, GeoParquet or GPKG with lon, lat (or point "
                               "geometry), timestamp, operator and any of rsrp_dbm, sinr_db, "
                               "dl_mbps, ul_mbps, technology, cell_id, pci.")],
    out: OutOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    allow_large: AllowLargeFlag = False,
    dask: DaskOption = None,
) -> None:
    """Predicted vs measured RSRP at every test point: runs coverage (with per-operator
    grids), then compares the exact point-to-point prediction and the raster cell with each
    measurement (error = predicted - measured), per operator, band, distance bin, terrain
    class and township, and the share of test points whose covered / not-covered status the
    map confirms (Wilson 95 % interval), and FCC-style challenge hexagons (H3 resolution 8)
    of the tests. Writes verify_summary.json, verify_points.csv, verify_errors.csv,
    verify_scatter.png, verify_points.geojson, verify_map.html, challenge_hexagons.parquet /
    .gpkg and challenge_summary.json to OUT (atomically)."""
    with covkit.api.dask_client(dask) if dask is not None else contextlib.nullcontext() \
            as client:
        v = covkit.api.verify(scenario, measurements, out_dir=out, progress=progress(),
                              allow_large=allow_large, client=client)
    shown = {k: v.summary[k] for k in SUMMARY_SHOWN}
    lo, hi = v.summary["reliability_ci95"]
    if as_json:
        typer.echo(json.dumps({**shown, "reliability_ci95": [lo, hi]}, indent=2, default=str))
        return
    text = {k: (f"{x:.4f}" if k.startswith("reliability") else f"{x:.2f}")
            if isinstance(x, float) else x for k, x in shown.items()}
    print_summary({**text, "reliability_ci95": f"{lo:.4f} - {hi:.4f}"}, False,
                  "verification (error = predicted - measured, dB)")
    echo(f"wrote {len(v.files)} files to {out}")


CALIBRATION_SHOWN = ("n_points", "distance_slope_db_per_decade", "sigma_db", "residual_std_db",
                     "cv_rmse_before_db", "cv_rmse_after_db", "cv_mean_error_before_db",
                     "cv_mean_error_after_db", "n_blocks", "folds", "block_km")
"""The figures of calibration_summary.json printed (beside the offsets per class)."""


def calibrate_cmd(
    scenario: ScenarioArg,
    measurements: Annotated[Path, typer.Option(
        "--measurements", help="Test points with rsrp_dbm: CSV, GeoParquet or GPKG (as for "
                               "'covkit verify').")],
    out: OutOption,
    block_km: Annotated[float, typer.Option(
        "--block-km", help="Side of the square cross-validation blocks [km].")] = 2.0,
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds.")] = 5,
    no_slope: Annotated[bool, typer.Option(
        "--no-slope", help="Fit the offsets per terrain class only, no distance slope.")] = False,
    min_points: Annotated[int, typer.Option(
        "--min-points", help="Fewest points a terrain class needs for its offset to be "
                             "fitted.")] = 50,
    noise_db: Annotated[float, typer.Option(
        "--noise-db", help="Known measurement noise [dB], taken out of the fitted sigma "
                           "(default 0: the sigma includes it).")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the blocks' assignment to folds.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    allow_large: AllowLargeFlag = False,
    dask: DaskOption = None,
) -> None:
    """Fit model corrections to measurements: an RSRP offset per terrain class (sea, flat,
    hilly, mountain), a distance slope (dB per decade of distance from the site) and the
    location-variability sigma, by least squares on measured - predicted (the exact point
    prediction, as 'covkit verify' runs it), with spatial-block cross-validation (RMSE before
    and after on held-out blocks). Writes calibration_summary.json, calibration_cv.csv and
    scenario_calibrated.toml (the scenario with [calibration] and
    propagation.shadow_sigma_db set, input paths absolute) to OUT (atomically)."""
    with covkit.api.dask_client(dask) if dask is not None else contextlib.nullcontext() \
            as client:
        cal = covkit.api.calibrate(scenario, measurements, out_dir=out, block_km=block_km,
                                   folds=folds, fit_slope=not no_slope,
                                   min_points_per_class=min_points, noise_db=noise_db,
                                   seed=seed, progress=progress(), allow_large=allow_large,
                                   client=client)
    s = cal.summary()
    shown = {k: s[k] for k in CALIBRATION_SHOWN}
    offsets = {f"offset_{c}_db": v for c, v in s["offsets_db"].items()
               if c in s["classes_fitted"]}
    if as_json:
        typer.echo(json.dumps({**shown, "offsets_db": s["offsets_db"],
                               "n_per_class": s["n_per_class"],
                               "scenario_keys": s["scenario_keys"], "notes": s["notes"]},
                              indent=2, default=str))
        return
    text = {k: f"{x:.2f}" if isinstance(x, float) else x for k, x in {**offsets,
                                                                     **shown}.items()}
    print_summary(text, False, "calibration (fit on measured - predicted, dB)")
    for note in s["notes"]:
        echo(f"note: {note}")
    echo(f"wrote calibration_summary.json, calibration_cv.csv and scenario_calibrated.toml to "
         f"{out}")


def scenario_measurements(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", help="Measurements file to write (.csv, "
                                                    ".parquet or .gpkg); the truth goes "
                                                    "beside it as NAME.truth.json.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    n_route: Annotated[int, typer.Option(help="Places along the routes (all routes).")] = 300,
    n_random: Annotated[int, typer.Option(help="Places at random on land.")] = 200,
    n_routes: Annotated[int, typer.Option(help="Random polylines standing in for roads.")] = 3,
    offset_db: Annotated[list[str] | None, typer.Option(
        "--offset-db", help="Known offset measured - predicted per terrain class, CLASS=DB "
                            "(classes sea, flat, hilly, mountain, or all); repeatable.")] = None,
    sigma_db: Annotated[float, typer.Option(help="Shadowing standard deviation [dB].")] = 0.0,
    decorrelation_m: Annotated[float, typer.Option(
        help="Gudmundson decorrelation distance of the shadowing [m].")] = 50.0,
    noise_db: Annotated[float, typer.Option(
        help="Measurement noise standard deviation [dB].")] = 0.0,
    gps_error_m: Annotated[float, typer.Option(
        help="GPS error standard deviation per axis [m].")] = 0.0,
    distance_slope_db: Annotated[float, typer.Option(
        "--distance-slope-db", help="Known distance trend of measured - predicted [dB per "
                                    "decade of distance from the serving site, 0 at 1 km]."
                                    )] = 0.0,
    operators: Annotated[str | None, typer.Option(
        help="Operators measured, comma-separated (default: all).")] = None,
    include_truth: Annotated[bool, typer.Option(
        "--include-truth", help="Also write the per-point truth columns.")] = False,
) -> None:
    """Synthetic measurements from a known truth: the scenario's exact point predictions plus
    known per-class offsets, spatially correlated log-normal shadowing (Gudmundson; AR(1)
    along the routes, Cholesky at the random places), Gaussian noise and GPS error, along
    random routes (there is no road layer) and at random places on land. The truth JSON
    (seed, offsets, sigma, ...) labels the data synthetic."""
    from_text = covkit.api.measurement_offsets(offset_db or [])
    ops = None if operators is None else [o.strip() for o in operators.split(",") if o.strip()]
    if n_route < 0 or n_random < 0:
        raise CovkitInputError("--n-route and --n-random must be >= 0", column="--n-route")
    made = covkit.api.synthetic_measurements(
        scenario, out=out, include_truth=include_truth, seed=seed, n_route=n_route,
        n_random=n_random, n_routes=n_routes, offsets_db=from_text, sigma_db=sigma_db,
        decorrelation_m=decorrelation_m, noise_db=noise_db, gps_error_m=gps_error_m,
        operators=ops, distance_slope_db_per_decade=distance_slope_db)
    t = made.truth
    echo(f"wrote {out} ({t['n_rows']} synthetic test points: "
         f"{', '.join(f'{k} {v}' for k, v in t['n_rows_by_class'].items() if v)}) and "
         f"{Path(out).with_name(Path(out).stem + '.truth.json')}")
