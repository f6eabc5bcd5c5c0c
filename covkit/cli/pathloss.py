"""``covkit pathloss``: path loss of single links."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

import covkit
from covkit import parameters as P
from covkit.cli.common import STATE, JsonFlag
from covkit.errors import CovkitInputError

TERMS_SHOWN = ("Lbfs", "Lb0p", "Lbulla50", "Lbulls50", "Ldsph50", "Ld50", "Lbd", "Lbs", "Lba",
               "Lb", "Ep")
"""The P.1812 terms printed under the loss."""


def _opt(param: P.Param, *names: str):
    """A typer option whose help (unit, range) comes from the parameter's data."""
    return typer.Option(*names, help=param.help_text())


def pathloss(
    model: Annotated[str, _opt(P.MODEL, "--model")] = P.MODEL.default,
    profile: Annotated[Path | None, typer.Option(
        help="Profile CSV: distance_km,height_m[,clutter_height_m,zone] (zone 1 sea, "
             "3 coastal land, 4 inland).")] = None,
    freq_mhz: Annotated[float | None, typer.Option(help="Frequency [MHz].")] = None,
    tx_height_agl_m: Annotated[float | None, typer.Option(
        "--tx-height-agl-m", "--tx-height-m",
        help="Transmitter antenna height above ground [m].")] = None,
    rx_height_agl_m: Annotated[float | None, typer.Option(
        "--rx-height-agl-m", "--rx-height-m",
        help="Receiver antenna height above ground [m].")] = None,
    time_pct: Annotated[float, _opt(P.TIME_PCT, "--time-pct")] = P.TIME_PCT.default,
    location_pct: Annotated[float, _opt(P.LOCATION_PCT, "--location-pct")
                            ] = P.LOCATION_PCT.default,
    polarization: Annotated[str, _opt(P.POLARIZATION, "--polarization")
                            ] = P.POLARIZATION.default,
    dn: Annotated[float, _opt(P.DN, "--dn")] = P.DN.default,
    n0: Annotated[float, _opt(P.N0, "--n0")] = P.N0.default,
    tx_lat_deg: Annotated[float | None, typer.Option(help="Transmitter latitude [deg].")] = None,
    tx_lon_deg: Annotated[float | None, typer.Option(help="Transmitter longitude [deg].")] = None,
    rx_lat_deg: Annotated[float | None, typer.Option(help="Receiver latitude [deg].")] = None,
    rx_lon_deg: Annotated[float | None, typer.Option(help="Receiver longitude [deg].")] = None,
    dct_km: Annotated[float, _opt(P.DCT_KM, "--dct-km")] = P.DCT_KM.default,
    dcr_km: Annotated[float, _opt(P.DCR_KM, "--dcr-km")] = P.DCR_KM.default,
    environment: Annotated[str, _opt(P.ENVIRONMENT, "--environment")] = P.ENVIRONMENT.default,
    los_mode: Annotated[str, _opt(P.LOS_MODE, "--los-mode")] = P.LOS_MODE.default,
    scenario: Annotated[Path | None, typer.Option(
        help="Scenario TOML: loss from --station-id to each of --points.")] = None,
    station_id: Annotated[str | None, typer.Option(help="Station id (with --scenario).")] = None,
    points: Annotated[Path | None, typer.Option(
        help="Points CSV: x,y (scenario CRS, m) or lon,lat (deg) (with --scenario).")] = None,
    extrapolate: Annotated[bool, typer.Option(
        "--extrapolate", help="Distance models (fspl, hata, cost231, 38901-*): evaluate the "
                              "formula outside its validity ranges instead of stopping.")
                           ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Path loss of single links: along a terrain profile (P.1812 with every intermediate
    term), or from a scenario's station to points on its DEM (the exact reference profile)."""
    if scenario is not None:
        if station_id is None or points is None:
            raise CovkitInputError("--scenario needs --station-id and --points")
        for row in covkit.api.point_losses(scenario, station_id, points):
            if as_json:
                typer.echo(json.dumps(row))
            else:
                typer.echo(f"point {row['point']}: {row['distance_m']:.1f} m  "
                           f"{row['loss_db']:.2f} dB ({row['model']})")
        return
    if profile is None:
        raise CovkitInputError("give --profile (with --freq-mhz, --tx-height-agl-m, "
                               "--rx-height-agl-m) or --scenario with --station-id and --points")
    missing = [n for n, v in (("--freq-mhz", freq_mhz), ("--tx-height-agl-m", tx_height_agl_m),
                              ("--rx-height-agl-m", rx_height_agl_m)) if v is None]
    if missing:
        raise CovkitInputError(f"--profile needs {', '.join(missing)}")
    try:
        result = covkit.path_loss(
            freq_mhz, tx_height_agl_m, rx_height_agl_m, model=model, profile=profile,
            environment=environment, los_mode=los_mode, time_pct=time_pct,
            location_pct=location_pct, polarization=polarization, dn=dn, n0=n0, dct_km=dct_km,
            dcr_km=dcr_km, tx_lat_deg=tx_lat_deg, tx_lon_deg=tx_lon_deg,
            rx_lat_deg=rx_lat_deg, rx_lon_deg=rx_lon_deg, extrapolate=extrapolate)
    except CovkitInputError as exc:
        # the API's advice names its Python argument; a CLI user has the flag
        text = str(exc)
        if "extrapolate=True" not in text:
            raise
        raise CovkitInputError(text.replace("extrapolate=True", "--extrapolate")) from exc
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"loss_db = {result['loss_db']:.2f}")
    if not STATE["quiet"]:
        for k in TERMS_SHOWN:
            if k in result:
                typer.echo(f"  {k:9s} {result[k]:10.3f}")
