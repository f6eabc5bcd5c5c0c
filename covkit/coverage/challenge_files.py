"""Files of the FCC-style challenge hexagons (:mod:`covkit.coverage.challenge`): GeoParquet,
GeoPackage and a JSON summary, written through :class:`covkit.outputs.RunCommit` (staged and
made visible together, or not at all)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from covkit.coverage.challenge import COLUMNS, ChallengeRules, challenge_summary
from covkit.errors import CovkitInputError
from covkit.outputs import RunCommit

CHALLENGE_PARQUET = "challenge_hexagons.parquet"
CHALLENGE_GPKG = "challenge_hexagons.gpkg"
CHALLENGE_LAYER = "challenge_hexagons"
CHALLENGE_SUMMARY_JSON = "challenge_summary.json"
CHALLENGE_FILES = (CHALLENGE_PARQUET, CHALLENGE_GPKG, CHALLENGE_SUMMARY_JSON)
"""The names :func:`write_challenge_hexagons` writes (and replaces) in a folder."""


def write_challenge_hexagons(hexagons: gpd.GeoDataFrame, out_dir: Path | str, *,
                             rules: ChallengeRules | None = None,
                             commit: RunCommit | None = None) -> list[Path]:
    """Write the hexagons of :func:`~covkit.coverage.challenge.challenge_hexagons` as
    ``challenge_hexagons.parquet`` (GeoParquet), ``challenge_hexagons.gpkg`` (layer
    ``challenge_hexagons``) and ``challenge_summary.json`` (counts per operator, the rules).

    Parameters
    ----------
    hexagons : geopandas.GeoDataFrame
        The hexagon table (EPSG:4326).
    out_dir : path
        Output folder (created if missing).
    rules : ChallengeRules, optional
        Recorded in the summary.
    commit : covkit.outputs.RunCommit, optional
        The output set of a larger run being staged: the files join it. Default: the three
        files are committed together on their own, under the folder's lock.

    Returns
    -------
    list of pathlib.Path
        The files under their final names.

    Raises
    ------
    CovkitInputError
        When the table lacks a column of :data:`~covkit.coverage.challenge.COLUMNS` or a CRS.
    """
    missing = [c for c in COLUMNS if c not in hexagons.columns]
    if missing or not isinstance(hexagons, gpd.GeoDataFrame):
        raise CovkitInputError("not a challenge hexagon table (challenge_hexagons); missing "
                               f"{', '.join(missing) or 'geometry'}")
    if hexagons.crs is None:
        raise CovkitInputError("challenge hexagons have no CRS")

    def write(out: RunCommit) -> list[Path]:
        return [out.geoparquet(CHALLENGE_PARQUET, hexagons),
                out.gpkg(CHALLENGE_GPKG, hexagons, layer=CHALLENGE_LAYER),
                out.json(CHALLENGE_SUMMARY_JSON, challenge_summary(hexagons, rules))]

    if commit is not None:
        return write(commit)
    with RunCommit(out_dir, replaces=CHALLENGE_FILES) as own:
        return write(own)
