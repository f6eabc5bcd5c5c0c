"""Remote townships and villages by Taiwan's telecom universal-service definition (偏遠地區).

A township is remote when

1. its population density is below ``ratio`` (one fifth) of the **national** average density,
   taken from the official national totals (``coverage.national_density_per_km2``, or
   ``coverage.national_population`` / ``coverage.national_area_km2``: March 2022, 23,268,991
   people on 36,197.07 km2 = 642.84 /km2, threshold 128.57 /km2), never from a loaded subset
   unless no national figure is given: then the loaded townships stand in, with a warning
   giving the figure when the townships carry county codes (Taiwan's 8-digit TOWNCODEs or a
   ``county_code`` column), i.e. when they can be a part of a country; townships without
   (the demo island, another country's zones) are taken as the whole country, and the basis is
   recorded in the summary either way; or
2. it is an **offshore-island township** at least ``offshore_min_km`` (7.5 km) from the seat of
   its county / city government (the 22 seats ship as :data:`SEATS_FILE`), measured to the
   township's nearest land (``"shore"``) or to its centroid (``"centroid"``). The arm needs
   each township's county code; without codes it is not applied (the summary says why; a
   warning too when ``inputs.county_seats`` was given).

An official list (``inputs.remote_list``) overrides both arms; the rule is still evaluated and
compared with it. The functions here are pure (arrays and GeoSeries in a metric CRS in, arrays
and dicts out); the only files they read are the seats and list tables. Warnings come back as
text for the loader to issue (:func:`covkit.data.loaders.warn`).

Offshore islands are found geometrically (:func:`offshore_islands`): the townships' polygons
are merged with a gap tolerance of :data:`ISLAND_GAP_M` (100 m: parts closer than that count
as one landmass); the largest landmass by area is the main one, and a township none of whose
land touches it is an offshore-island township. On the 2021 boundaries this gives exactly the
19 townships of 澎湖縣, 金門縣, 連江縣, 琉球鄉, 綠島鄉 and 蘭嶼鄉 for any tolerance from 0.5 m to
3 km.
A study of offshore islands only (e.g. 金門縣 alone) has no main island loaded: its largest
island is taken as the main landmass, with a warning when it is smaller than
:data:`MAIN_LANDMASS_WARN_KM2`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from covkit.config import KEY_NATIONAL_AREA as KEY_AREA
from covkit.config import KEY_NATIONAL_DENSITY as KEY_DENSITY
from covkit.config import KEY_NATIONAL_POPULATION as KEY_POPULATION
from covkit.config import check_national_keys
from covkit.errors import CovkitInputError

SEATS_FILE = Path(__file__).with_name("taiwan_county_seats.csv")
"""The 22 Taiwan county / city government seats (source note: taiwan_county_seats.md)."""

DENSITY_RATIO = 0.2
"""Taiwan's universal-service rule: remote below one fifth of the national density."""

OFFSHORE_MIN_KM = 7.5
"""Offshore-island townships at least this far from their county seat are remote [km]."""

OFFSHORE_MEASURES = ("shore", "centroid")
"""Distance from the county seat to the township's nearest land, or to its centroid."""

ISLAND_GAP_M = 100.0
"""Polygons closer than this [m] belong to one landmass (simplified boundaries leave slivers)."""

MAIN_LANDMASS_WARN_KM2 = 1000.0
"""A main landmass smaller than this [km2] is probably an offshore island studied alone."""

RULES = ("density", "offshore", "density+offshore", "list", "file")
"""Values of ``remote_rule`` for remote townships (None when not remote: an empty cell in
kpi_townships.csv, null in the GeoPackage / GeoParquet)."""

SOURCE_LOADED = "loaded townships"

TAIWAN_TOWNCODE = re.compile(r"\d{8}")


# ----------------------------------------------------------------------------------------------
# national density and the density arm


@dataclass(frozen=True)
class NationalDensity:
    """The national average density the rule compares with.

    ``source``: ``"coverage.national_density_per_km2"``, ``"coverage.national_population /
    coverage.national_area_km2"`` or ``"loaded townships"``; ``population`` and ``area_km2``
    are None when only the density was given.
    """

    density_per_km2: float
    source: str
    population: float | None = None
    area_km2: float | None = None


def national_density(density_per_km2: float | None = None, population: float | None = None,
                     area_km2: float | None = None, *, loaded_population: float = 0.0,
                     loaded_area_km2: float = 0.0) -> NationalDensity:
    """The national average population density [persons/km2].

    From ``density_per_km2``, or ``population / area_km2`` (official totals); only when neither
    is given from the loaded townships (``loaded_population / loaded_area_km2``), which a
    subset of the country gets wrong (the caller warns).

    Raises
    ------
    CovkitInputError
        Both forms given, one of the pair alone, a value <= 0
        (:func:`covkit.config.check_national_keys`).
    """
    check_national_keys(density_per_km2, population, area_km2)
    if density_per_km2 is not None:
        return NationalDensity(float(density_per_km2), KEY_DENSITY)
    if population is not None:
        return NationalDensity(float(population) / float(area_km2),
                               f"{KEY_POPULATION} / {KEY_AREA}", float(population),
                               float(area_km2))
    d = loaded_population / loaded_area_km2 if loaded_area_km2 > 0 else 0.0
    return NationalDensity(float(d), SOURCE_LOADED, float(loaded_population),
                           float(loaded_area_km2))


def below_density(population, area_km2, national_density_per_km2: float,
                  ratio: float = DENSITY_RATIO) -> np.ndarray:
    """Whether each zone's density ``population / area_km2`` is below ``ratio`` times the
    national density (strictly below; zones without area are not). Shapes broadcast."""
    pop = np.asarray(population, dtype=np.float64)
    area = np.asarray(area_km2, dtype=np.float64)
    density = np.divide(pop, area, out=np.full(np.broadcast(pop, area).shape, np.inf),
                        where=area > 0)
    return density < ratio * float(national_density_per_km2)


def remote_villages(population, area_km2, national_density: float,
                    ratio: float = DENSITY_RATIO) -> np.ndarray:
    """Remote villages (村里) by the 2024 universal-service rule: village population density
    below ``ratio`` (one fifth) of the national density.

    Parameters
    ----------
    population : array [persons]
        Registered population per village (>= 0, finite).
    area_km2 : array [km2]
        Village land area (> 0; a village without area is not remote).
    national_density : float [persons/km2]
        The official national average (e.g. 642.84 for March 2022), not the loaded subset's.
    ratio : float
        Share of the national density, in (0, 1]; Taiwan uses 0.2.

    Returns
    -------
    bool array, True where remote.
    """
    pop = np.asarray(population, dtype=np.float64)
    area = np.asarray(area_km2, dtype=np.float64)
    if pop.shape != area.shape:
        raise CovkitInputError(f"population has {pop.size} values but area_km2 {area.size}")
    if not np.isfinite(pop).all() or (pop < 0).any():
        raise CovkitInputError("village population must be finite and >= 0")
    if not np.isfinite(area).all() or (area < 0).any():
        raise CovkitInputError("village area_km2 must be finite and >= 0")
    if not (np.isfinite(national_density) and national_density > 0):
        raise CovkitInputError(f"national_density = {national_density!r} must be > 0")
    if not (0.0 < ratio <= 1.0):
        raise CovkitInputError(f"ratio = {ratio!r} must lie in (0, 1]")
    return below_density(pop, area, national_density, ratio)


# ----------------------------------------------------------------------------------------------
# the offshore arm


def county_codes(township_ids, county_code=None) -> np.ndarray | None:
    """County code per township: the ``county_code`` column when given (numbers of up to 5
    digits get their leading zeros back), else the first 5 digits of Taiwan's 8-digit township
    codes (TOWNCODE) when every id is one; None when neither is available."""
    if county_code is not None:
        s = pd.Series(county_code).astype(str).str.strip()
        s = s.str.replace(r"\.0$", "", regex=True)
        s = s.where(~s.str.fullmatch(r"\d{1,4}"), s.str.zfill(5))
        return s.to_numpy(dtype=object)
    ids = pd.Series(township_ids).astype(str).str.strip()
    if len(ids) and ids.str.fullmatch(TAIWAN_TOWNCODE).all():
        return ids.str[:5].to_numpy(dtype=object)
    return None


def offshore_islands(geoms, gap_m: float = ISLAND_GAP_M) -> tuple[np.ndarray, float]:
    """Townships none of whose land touches the main landmass, and that landmass's area.

    Parameters
    ----------
    geoms : GeoSeries or array of (multi)polygons in a metric CRS [m]
    gap_m : float
        Parts closer than this count as one landmass.

    Returns
    -------
    island : bool array
    main_area_km2 : float
        Area of the largest landmass (the townships merged, grown by ``gap_m / 2``).
    """
    g = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    if g.size == 0:
        return np.zeros(0, dtype=bool), 0.0
    merged = shapely.union_all(shapely.buffer(g, gap_m / 2.0))
    parts = shapely.get_parts(merged)
    areas = shapely.area(parts)
    main = parts[int(np.argmax(areas))]
    island = ~shapely.intersects(g, main)
    return island, float(areas.max()) / 1e6


def read_county_seats(path=None) -> pd.DataFrame:
    """County seats: ``county_code, lon, lat`` (optional ``county_name``, ``seat``); default the
    22 Taiwan county / city government seats (:data:`SEATS_FILE`). A DataFrame is taken as is.
    """
    file = SEATS_FILE if path is None else path
    if isinstance(file, pd.DataFrame):
        df, file = file.copy(), "<in-memory county seats DataFrame>"
    else:
        try:
            df = pd.read_csv(file, dtype={"county_code": str}, skipinitialspace=True,
                             encoding="utf-8-sig")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise CovkitInputError(f"cannot read the county seats file: {exc}",
                                   file=file) from None
    for col in ("county_code", "lon", "lat"):
        if col not in df.columns:
            raise CovkitInputError(f"county seats need column '{col}' (columns county_code, "
                                   f"lon, lat; found: {', '.join(map(str, df.columns))})",
                                   file=file, column=col)
    codes = county_codes(None, df["county_code"])
    df["county_code"] = codes
    for col, lo, hi in (("lon", -180.0, 180.0), ("lat", -90.0, 90.0)):
        v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(v) | (v < lo) | (v > hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CovkitInputError(f"{df[col].tolist()[i]!r} is not a {col} in [{lo:g}, {hi:g}] "
                                   "degrees", file=file, column=col, row=i + 1)
        df[col] = v
    dup = pd.Series(codes).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise CovkitInputError(f"county {codes[i]!r} has two seats", file=file,
                               column="county_code", row=i + 1)
    return df


def seat_distances_km(geoms, codes, seats: pd.DataFrame, crs, measure: str = "shore",
                      rows=None) -> np.ndarray:
    """Distance [km] from each township's county seat to its nearest land (``"shore"``) or its
    centroid (``"centroid"``), in the metric ``crs`` of ``geoms``; NaN where the county has no
    seat or the township is not in ``rows`` (a bool mask; default all)."""
    if measure not in OFFSHORE_MEASURES:
        raise CovkitInputError(f"coverage.offshore_distance = {measure!r} is not one of: "
                               f"{', '.join(OFFSHORE_MEASURES)}",
                               column="coverage.offshore_distance")
    g = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    n = g.size
    out = np.full(n, np.nan)
    rows = np.ones(n, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    sx, sy = tr.transform(seats["lon"].to_numpy(), seats["lat"].to_numpy())
    where = {c: shapely.Point(x, y) for c, x, y in zip(seats["county_code"], sx, sy,
                                                        strict=True)}
    for i in np.flatnonzero(rows):
        seat = where.get(codes[i])
        if seat is None:
            continue
        target = g[i] if measure == "shore" else shapely.centroid(g[i])
        out[i] = shapely.distance(seat, target) / 1000.0
    return out


# ----------------------------------------------------------------------------------------------
# the official list


def read_remote_list(path, township_ids) -> np.ndarray:
    """Which townships an official list names: a CSV/TXT with a column ``township_id`` or
    ``TOWNCODE`` (codes as text; other columns such as names are ignored).

    Raises
    ------
    CovkitInputError
        No such column, no rows, or a code that matches no township (naming file and row).
    """
    if isinstance(path, pd.DataFrame):
        df, file = path.astype(str), "<in-memory remote list DataFrame>"
    else:
        file = path
        try:
            df = pd.read_csv(path, dtype=str, skipinitialspace=True, encoding="utf-8-sig",
                             keep_default_na=False)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise CovkitInputError(f"cannot read the remote list: {exc}", file=file) from None
    col = next((c for c in ("township_id", "TOWNCODE") if c in df.columns), None)
    if col is None:
        raise CovkitInputError("the remote list needs a column township_id or TOWNCODE (found: "
                               f"{', '.join(map(str, df.columns))})", file=file,
                               column="township_id")
    if len(df) == 0:
        raise CovkitInputError("the remote list has no rows", file=file, column=col)
    ids = pd.Series(township_ids).astype(str).str.strip()
    index = {c: i for i, c in enumerate(ids)}
    listed = np.zeros(len(ids), dtype=bool)
    for row, code in enumerate(df[col].str.strip().tolist(), start=1):
        if code not in index:
            raise CovkitInputError(f"code {code!r} matches no township of the townships input",
                                   file=file, column=col, row=row)
        listed[index[code]] = True
    return listed


# ----------------------------------------------------------------------------------------------
# the whole rule


@dataclass(frozen=True)
class RemoteOptions:
    """Settings of the remote rule (the scenario's ``coverage.*`` / ``inputs.*`` keys)."""

    density_ratio: float = DENSITY_RATIO
    national_density_per_km2: float | None = None
    national_population: float | None = None
    national_area_km2: float | None = None
    offshore_min_km: float = OFFSHORE_MIN_KM
    offshore_distance: str = "shore"
    county_seats: object = None
    remote_list: object = None

    @classmethod
    def from_scenario(cls, scenario) -> RemoteOptions:
        """The options of a :class:`covkit.config.Scenario`."""
        c, i = scenario.coverage, scenario.inputs
        return cls(c.remote_density_ratio, c.national_density_per_km2, c.national_population,
                   c.national_area_km2, c.offshore_min_km, c.offshore_distance,
                   i.county_seats, i.remote_list)


@dataclass(frozen=True)
class RemoteResult:
    """Per township: ``remote``, ``remote_rule`` (see :data:`RULES`), ``density_remote``,
    ``offshore_island``, ``offshore_seat_km`` (NaN off the islands) and ``county_code``;
    ``summary``: the ``remote_rule`` block of kpi_summary.json; ``warnings``: messages for
    the loader to issue."""

    remote: np.ndarray
    remote_rule: np.ndarray
    columns: dict
    summary: dict
    warnings: tuple[str, ...]


def _rule_names(density: np.ndarray, offshore: np.ndarray) -> np.ndarray:
    out = np.full(density.size, None, dtype=object)
    out[density & ~offshore] = "density"
    out[offshore & ~density] = "offshore"
    out[density & offshore] = "density+offshore"
    return out


def _listing(ids, names, rows, extra=None) -> list[dict]:
    out = []
    for i in np.flatnonzero(rows):
        e = {"township_id": str(ids[i]), "name": str(names[i])}
        if extra is not None:
            e["seat_km"] = round(float(extra[i]), 2)
        out.append(e)
    return out


def _first(ids, names, rows, k: int = 5) -> str:
    idx = np.flatnonzero(rows)
    text = ", ".join(f"{ids[i]} {names[i]}" for i in idx[:k])
    return text + (f", ... ({idx.size - k} more)" if idx.size > k else "")


def classify(geoms, township_ids, names, population, area_km2, *, on_grid=None,
             county_code=None, crs=None, options: RemoteOptions | None = None) -> RemoteResult:
    """Remote townships by density and offshore arms, or by an official list.

    Parameters
    ----------
    geoms : GeoSeries of the township polygons in the metric working ``crs``
    township_ids, names : arrays
    population : float array [persons], people in each township
    area_km2 : float array [km2], polygon areas
    on_grid : bool array, optional
        Townships whose population is known (on the analysis grid); the others are not
        classified by density. Default: all.
    county_code : array, optional
        County code per township (default: from 8-digit township codes, :func:`county_codes`).
    crs : the metric CRS of ``geoms`` (needed by the offshore arm)
    options : RemoteOptions
    """
    o = options or RemoteOptions()
    ids = np.asarray(township_ids, dtype=object)
    names = np.asarray(names, dtype=object)
    n = ids.size
    pop = np.asarray(population, dtype=np.float64)
    area = np.asarray(area_km2, dtype=np.float64)
    on_grid = np.ones(n, dtype=bool) if on_grid is None else np.asarray(on_grid, dtype=bool)
    messages: list[str] = []

    # density arm
    nat = national_density(o.national_density_per_km2, o.national_population,
                           o.national_area_km2, loaded_population=float(pop[on_grid].sum()),
                           loaded_area_km2=float(area[on_grid].sum()))
    threshold = o.density_ratio * nat.density_per_km2
    codes = county_codes(ids, county_code)
    if nat.source == SOURCE_LOADED and codes is not None:
        messages.append(
            f"the remote density rule compares with the national density of the loaded "
            f"townships, {nat.density_per_km2:,.2f} persons/km2 (threshold {threshold:,.2f}); a "
            f"subset of the country gets it wrong: set {KEY_DENSITY}, or {KEY_POPULATION} and "
            f"{KEY_AREA} (Taiwan, March 2022: 23268991 and 36197.07 -> 642.84 /km2)")
    density = below_density(pop, area, nat.density_per_km2, o.density_ratio) & on_grid

    # offshore arm
    island = np.zeros(n, dtype=bool)
    seat_km = np.full(n, np.nan)
    offshore = np.zeros(n, dtype=bool)
    main_km2 = None
    not_applied = None
    seats_name = "package data taiwan_county_seats.csv" if o.county_seats is None else str(
        o.county_seats if not isinstance(o.county_seats, pd.DataFrame)
        else "<in-memory county seats DataFrame>")
    if o.offshore_distance not in OFFSHORE_MEASURES:
        raise CovkitInputError(f"coverage.offshore_distance = {o.offshore_distance!r} is not "
                               f"one of: {', '.join(OFFSHORE_MEASURES)}",
                               column="coverage.offshore_distance")
    if not o.offshore_min_km:
        not_applied = "coverage.offshore_min_km = 0 (offshore arm off)"
    elif crs is None:
        not_applied = "no metric CRS given for the township polygons"
    else:
        island, main_km2 = offshore_islands(geoms)
        if island.any() and codes is None:
            not_applied = ("the townships have no county code (map a county_code column with "
                           "inputs.township_columns, or use Taiwan's 8-digit township codes)")
            if o.county_seats is not None:
                messages.append(f"{int(island.sum())} township(s) lie on islands apart from "
                                f"the main landmass ({_first(ids, names, island)}) but "
                                f"{not_applied}: the offshore-island arm of the remote rule is "
                                "not applied")
        elif island.any():
            seats = read_county_seats(o.county_seats)
            seat_km = seat_distances_km(geoms, codes, seats, crs, o.offshore_distance,
                                        rows=island)
            no_seat = island & ~np.isfinite(seat_km)
            if no_seat.any():
                missing = sorted({str(codes[i]) for i in np.flatnonzero(no_seat)})
                messages.append(f"{seats_name} has no seat for county code(s) "
                                f"{', '.join(missing)}: the offshore-island townships "
                                f"{_first(ids, names, no_seat)} are not classified by the "
                                "offshore arm")
            offshore = island & (np.nan_to_num(seat_km, nan=-1.0) >= o.offshore_min_km)
        if island.any() and codes is not None and main_km2 < MAIN_LANDMASS_WARN_KM2:
            messages.append(f"the largest landmass of the loaded townships is only "
                            f"{main_km2:,.1f} km2 and counts as the main one: if it is itself "
                            "an offshore island, load the whole country or give "
                            "inputs.remote_list")
    by_rule = density | offshore
    rule = _rule_names(density, offshore)
    counts = {r: int((rule == r).sum()) for r in ("density", "offshore", "density+offshore")}

    # the official list
    listing = None
    remote = by_rule
    source = "density rule"
    if o.remote_list is not None:
        listed = read_remote_list(o.remote_list, ids)
        list_name = (str(o.remote_list) if not isinstance(o.remote_list, pd.DataFrame)
                     else "<in-memory remote list DataFrame>")
        rule_only, list_only = by_rule & ~listed, listed & ~by_rule
        listing = {"file": list_name, "listed": int(listed.sum()),
                   "rule": int(by_rule.sum()), "both": int((listed & by_rule).sum()),
                   "rule_only": _listing(ids, names, rule_only),
                   "list_only": _listing(ids, names, list_only)}
        text = (f"remote list {list_name} names {int(listed.sum())} township(s), the rule "
                f"{int(by_rule.sum())}: {int((listed & by_rule).sum())} in both")
        if rule_only.any():
            text += f"; rule only {int(rule_only.sum())} ({_first(ids, names, rule_only)})"
        if list_only.any():
            text += f"; list only {int(list_only.sum())} ({_first(ids, names, list_only)})"
        messages.append(text + "; the list decides")
        remote = listed
        rule = np.where(listed, "list", None).astype(object)
        source = "list"
    counts["list"] = int((rule == "list").sum())
    counts["file"] = 0

    method = (f"population density below {o.density_ratio:g} x national density "
              f"{nat.density_per_km2:,.2f} /km2 ({nat.source}) = {threshold:,.2f} /km2")
    if not_applied is None:
        method += (f", or offshore-island township >= {o.offshore_min_km:g} km from its county "
                   f"seat ({o.offshore_distance})")
    if listing is not None:
        method = f"official list {listing['file']} (rule for comparison: {method})"
    summary = {
        "method": method,
        "source": source,
        "density_ratio": o.density_ratio,
        "national_density_per_km2": nat.density_per_km2,
        "national_density_source": nat.source,
        "national_population": nat.population,
        "national_area_km2": nat.area_km2,
        "threshold_density_per_km2": threshold,
        "offshore_min_km": o.offshore_min_km,
        "offshore_distance": o.offshore_distance,
        "offshore_applied": not_applied is None,
        "offshore_not_applied_reason": not_applied,
        "county_seats": seats_name,
        "island_gap_m": ISLAND_GAP_M,
        "main_landmass_km2": main_km2,
        "offshore_island_townships": int(island.sum()),
        "counts": counts,
        "remote_townships": int(remote.sum()),
        "rule_remote_townships": int(by_rule.sum()),
        "offshore_additions": _listing(ids, names, offshore & ~density, seat_km),
        "list": listing,
    }
    columns = ({"county_code": codes} if codes is not None else {}) | {
        "density_remote": density, "offshore_island": island, "offshore_seat_km": seat_km}
    return RemoteResult(remote.astype(bool), rule, columns, summary, tuple(messages))


def from_file_column(remote, *, file=None) -> RemoteResult:
    """The result when the townships file carries its own ``remote`` column."""
    remote = np.asarray(remote, dtype=bool)
    rule = np.where(remote, "file", None).astype(object)
    summary = {"method": f"column remote of the townships file {file}", "source": "file",
               "counts": {"density": 0, "offshore": 0, "density+offshore": 0, "list": 0,
                          "file": int(remote.sum())},
               "remote_townships": int(remote.sum())}
    return RemoteResult(remote, rule, {}, summary, ())
