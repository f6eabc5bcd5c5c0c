"""Taiwan's official boundary and population files, read and joined on codes.

Boundaries (MOI / NLSC 鄉鎮市區界 and 村里界): TopoJSON (with a layer choice: never the first
layer silently), GeoJSON, Shapefile or GeoPackage, with ``TOWNCODE`` (8 digits: 5-digit county
code + 3) and, for villages, ``VILLCODE`` (11 digits: TOWNCODE + 3). Population (內政部戶政司
household registration): the township JSON keyed by the old 7-digit town code, a CSV with
``TOWNCODE``, and the village CSV with hyphenated ``TOWNCODE-NNN`` codes. Codes are read as
strings (leading zeros kept) and normalised to TOWNCODE / VILLCODE; names are joined on
nothing (the boundary files spell 台, the population files 臺): a display column spells 臺.

:func:`join_taiwan` makes the townships (with registered population and households), the
villages and the population polygons of the finest level given (each carrying its
``township_id``, so every township's people on the grid are its registered count exactly) and
a join report (matched rows, folded villages, vintages and totals).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from covkit.data import names
from covkit.data.loaders import check_unique, warn
from covkit.errors import CovkitInputError

TOWNCODE_DIGITS = 8
VILLCODE_DIGITS = 11
OLD_TOWN_CODE_DIGITS = 7
LAYER_NAMES = {"townships": ("towns", "townships", "town"),
               "villages": ("villages", "village", "vills")}
"""TopoJSON / multi-layer file layer names accepted per kind, in order of preference."""
TOPOJSON_SUFFIXES = (".json", ".topojson")
BOUNDARY_SUFFIXES = (".json", ".topojson", ".geojson", ".shp", ".gpkg", ".fgb", ".zip")
POPULATION_COLUMNS = ("population", "人口數", "人口")
HOUSEHOLD_COLUMNS = ("households", "戶數")
TOWNCODE_COLUMNS = ("TOWNCODE", "township_id")
VILLCODE_COLUMNS = ("村里代碼", "VILLCODE", "village_id")
VINTAGE_COLUMNS = ("年月", "vintage")


def display_name(text) -> str:
    """A name in one spelling: 臺 for 台 (台北市 -> 臺北市); codes are never changed
    (:func:`covkit.data.names.display_name` with ``"taiwan"``)."""
    return names.display_name(str(text), "taiwan")


def _digits(code, width: int) -> bool:
    return len(code) == width and code.isdigit()


def boundary_layers(path: Path) -> list[str]:
    """The layers of a vector file (one name for single-layer formats)."""
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear error
        raise CovkitInputError(f"cannot read boundary file: {exc}", file=path) from None


def choose_layer(path: Path, kind: str, layer: str | None = None) -> str | None:
    """The layer of ``path`` to read as ``kind`` ("townships" or "villages").

    A named ``layer`` must exist. Otherwise a file with one layer gives that one, and a file
    with several gives the layer named after the kind (``towns`` / ``villages``): with none
    of those names it is an error listing the layers (never the first one silently).
    """
    layers = boundary_layers(path)
    if layer is not None:
        if layer not in layers:
            raise CovkitInputError(f"{kind} layer {layer!r} is not in the file (layers: "
                                   f"{', '.join(layers)})", file=path)
        return layer
    if len(layers) <= 1:
        return layers[0] if layers else None
    for name in LAYER_NAMES[kind]:
        if name in layers:
            return name
    raise CovkitInputError(
        f"the file has several layers ({', '.join(layers)}) and none is named for {kind} "
        f"({' / '.join(LAYER_NAMES[kind])}): choose one with the {kind} layer option",
        file=path)


def _code_column(df, names, path, what: str) -> str:
    col = next((c for c in names if c in df.columns), None)
    if col is None:
        raise CovkitInputError(f"{what} has no code column (one of: {', '.join(names)}; found: "
                               f"{', '.join(map(str, df.columns))})", file=path,
                               column=names[0])
    return col


def _codes_as_text(series: pd.Series, width: int, path, col: str, notes: list) -> pd.Series:
    """Codes as strings; numbers (a reader that lost the leading zero) are zero-padded."""
    if pd.api.types.is_numeric_dtype(series):
        notes.append(f"{path}: column {col} was read as numbers; codes zero-padded to {width} "
                     "digits")
        return series.map(lambda v: "" if pd.isna(v) else str(int(v)).zfill(width))
    return series.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                      else str(v).strip())


def read_boundaries(path, kind: str, *, layer: str | None = None) -> tuple[gpd.GeoDataFrame,
                                                                          dict]:
    """Township (``kind="townships"``) or village (``"villages"``) polygons as published.

    Returns the polygons with ``TOWNCODE`` (and ``VILLCODE`` for villages; TOWNCODE derived
    from its first 8 digits when the file has none) as strings, in their own CRS (a file
    without one is taken as EPSG:4326, with a note), and a dict ``{file, layer, features,
    notes}``.

    Raises
    ------
    CovkitInputError
        Missing file or code column, a malformed or duplicate code, a layer that cannot be
        chosen, or coordinates that are not degrees when the file has no CRS.
    """
    if kind not in LAYER_NAMES:
        raise ValueError(f"kind must be 'townships' or 'villages', got {kind!r}")
    path = Path(path)
    if not path.is_file():
        raise CovkitInputError(f"{kind} boundary file does not exist", file=path)
    notes: list[str] = []
    chosen = choose_layer(path, kind, layer)
    try:
        gdf = gpd.read_file(path, layer=chosen) if chosen is not None else gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001
        raise CovkitInputError(f"cannot read {kind} boundary file: {exc}", file=path) from None
    if len(gdf) == 0:
        raise CovkitInputError(f"{kind} boundary file has no features", file=path)
    if gdf.crs is None:
        xmin, ymin, xmax, ymax = gdf.total_bounds
        if not (-180.0 <= xmin <= xmax <= 360.0 and -90.0 <= ymin <= ymax <= 90.0):
            raise CovkitInputError(f"{kind} boundary file has no CRS and its coordinates are "
                                   "not degrees; add a CRS (e.g. a .prj)", file=path)
        gdf = gdf.set_crs("EPSG:4326")
        notes.append(f"{path}: no CRS in the file; taken as EPSG:4326 (lon/lat; TWD97 "
                     "geographic is the same at this precision)")
    where = f"{path}" + (f" layer {chosen}" if chosen else "")
    if kind == "villages":
        vcol = _code_column(gdf, ("VILLCODE", "village_id"), where, "village boundary file")
        gdf["VILLCODE"] = _codes_as_text(gdf[vcol], VILLCODE_DIGITS, path, vcol, notes)
        _check_codes(gdf["VILLCODE"], VILLCODE_DIGITS, path, "VILLCODE")
        if "TOWNCODE" in gdf.columns:
            gdf["TOWNCODE"] = _codes_as_text(gdf["TOWNCODE"], TOWNCODE_DIGITS, path,
                                             "TOWNCODE", notes)
        else:
            gdf["TOWNCODE"] = gdf["VILLCODE"].str[:TOWNCODE_DIGITS]
        bad = gdf["VILLCODE"].str[:TOWNCODE_DIGITS] != gdf["TOWNCODE"]
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise CovkitInputError(f"VILLCODE {gdf['VILLCODE'].iloc[i]!r} does not start with "
                                   f"its TOWNCODE {gdf['TOWNCODE'].iloc[i]!r}", file=path,
                                   column="VILLCODE", row=i + 1)
        check_unique(gdf["VILLCODE"], path, "VILLCODE")
    else:
        tcol = _code_column(gdf, TOWNCODE_COLUMNS, where, "township boundary file")
        gdf["TOWNCODE"] = _codes_as_text(gdf[tcol], TOWNCODE_DIGITS, path, tcol, notes)
        _check_codes(gdf["TOWNCODE"], TOWNCODE_DIGITS, path, "TOWNCODE")
        if gdf["TOWNCODE"].duplicated().any() and "VILLCODE" in gdf.columns:
            raise CovkitInputError(
                f"{where} holds villages (VILLCODE; TOWNCODE repeats), not townships: give "
                "the township layer (e.g. --townships-layer towns) or a township file",
                file=path, column="TOWNCODE")
        check_unique(gdf["TOWNCODE"], path, "TOWNCODE")
    for n in notes:
        warn(n)
    return gdf.reset_index(drop=True), {"file": str(path), "layer": chosen,
                                        "features": int(len(gdf)), "notes": notes}


def _check_codes(codes: pd.Series, width: int, path, col: str) -> None:
    bad = ~codes.map(lambda c: _digits(c, width))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CovkitInputError(f"{col} {codes.iloc[i]!r} is not a {width}-digit code",
                               file=path, column=col, row=i + 1)


def _read_text_csv(path: Path, what: str) -> pd.DataFrame:
    """A population CSV with every cell as text (codes keep their leading zeros), UTF-8 with
    or without a byte-order mark."""
    try:
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig", skipinitialspace=True)
    except Exception as exc:  # noqa: BLE001
        raise CovkitInputError(f"cannot read {what}: {exc}", file=path) from None


def _count_column(df: pd.DataFrame, names, path, what: str, required: bool) -> np.ndarray:
    col = next((c for c in names if c in df.columns), None)
    if col is None:
        if required:
            raise CovkitInputError(f"{what} table has no column {' / '.join(names)} (found: "
                                   f"{', '.join(map(str, df.columns))})", file=path,
                                   column=names[0])
        return np.full(len(df), np.nan)
    raw = df[col].astype(str).str.replace(",", "", regex=False).str.strip()
    vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(vals) | (vals < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CovkitInputError(f"{df[col].iloc[i]!r} is not a count >= 0", file=path,
                               column=col, row=i + 1)
    return vals


def _vintage(df: pd.DataFrame | None, path: Path) -> str | None:
    if df is not None:
        for c in VINTAGE_COLUMNS:
            if c in df.columns:
                vals = sorted(set(df[c].astype(str).str.strip()))
                return ", ".join(vals)
    m = re.search(r"(\d{4})[-_]?(\d{2})", path.stem)
    return f"{m.group(1)}-{m.group(2)}" if m else None


def normalise_town_code(code: str) -> str | None:
    """TOWNCODE of a township code: 8 digits as given, the old 7-digit code (5-digit county +
    2-digit town) as ``code + "0"`` (``6500001`` -> ``65000010``); None if neither."""
    code = str(code).strip()
    if _digits(code, TOWNCODE_DIGITS):
        return code
    if _digits(code, OLD_TOWN_CODE_DIGITS):
        return code[:5] + code[5:] + "0"
    return None


def read_township_population(path) -> tuple[pd.DataFrame, dict]:
    """Township population table: the JSON keyed by old 7-digit (or 8-digit) codes with
    ``population`` / ``households`` values, or a CSV with ``TOWNCODE`` (or ``township_id``),
    ``population`` (人口數) and optional ``households`` (戶數).

    Returns a DataFrame ``TOWNCODE, code_given, population, households, row`` (1-based data
    row, the JSON's entry number) and ``{file, rows, total, households, vintage}``.
    """
    path = Path(path)
    if not path.is_file():
        raise CovkitInputError("township population file does not exist", file=path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CovkitInputError(f"cannot read township population JSON: {exc}",
                                   file=path) from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise CovkitInputError("township population JSON must be an object of code -> "
                                   "{population, households, ...}", file=path)
        df = pd.DataFrame([{"code": k, **v} for k, v in data.items()])
        code_col = "code"
    else:
        df = _read_text_csv(path, "township population table")
        code_col = _code_column(df, TOWNCODE_COLUMNS, path, "township population table")
    given = df[code_col].astype(str).str.strip()
    codes = given.map(normalise_town_code)
    bad = codes.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CovkitInputError(f"township code {given.iloc[i]!r} is neither an 8-digit "
                               "TOWNCODE nor an old 7-digit town code", file=path,
                               column=code_col, row=i + 1)
    check_unique(codes, path, code_col)
    pop = _count_column(df, POPULATION_COLUMNS, path, "township population", True)
    hh = _count_column(df, HOUSEHOLD_COLUMNS, path, "township population", False)
    out = pd.DataFrame({"TOWNCODE": codes.to_numpy(dtype=object),
                        "code_given": given.to_numpy(dtype=object), "population": pop,
                        "households": hh, "row": np.arange(1, len(df) + 1)})
    return out, {"file": str(path), "rows": int(len(out)), "total": float(pop.sum()),
                 "households": float(np.nansum(hh)), "vintage": _vintage(df, path),
                 "code_column": code_col,
                 "old_7_digit_codes": int((given.str.len() == OLD_TOWN_CODE_DIGITS).sum())}


def read_village_population(path) -> tuple[pd.DataFrame, dict]:
    """Village (村里) population CSV: codes ``TOWNCODE-NNN`` (村里代碼) or 11-digit VILLCODE,
    人口 / ``population``, optional 戶數 / ``households``.

    Returns a DataFrame ``VILLCODE, TOWNCODE, population, households, row`` and ``{file,
    rows, total, households, vintage}``.
    """
    path = Path(path)
    if not path.is_file():
        raise CovkitInputError("village population file does not exist", file=path)
    df = _read_text_csv(path, "village population table")
    col = _code_column(df, VILLCODE_COLUMNS, path, "village population table")
    given = df[col].astype(str).str.strip()
    codes = given.str.replace("-", "", regex=False)
    bad = ~codes.map(lambda c: _digits(c, VILLCODE_DIGITS))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CovkitInputError(f"village code {given.iloc[i]!r} is not TOWNCODE-NNN or an "
                               "11-digit VILLCODE", file=path, column=col, row=i + 1)
    check_unique(codes, path, col)
    pop = _count_column(df, POPULATION_COLUMNS, path, "village population", True)
    hh = _count_column(df, HOUSEHOLD_COLUMNS, path, "village population", False)
    out = pd.DataFrame({"VILLCODE": codes.to_numpy(dtype=object),
                        "TOWNCODE": codes.str[:TOWNCODE_DIGITS].to_numpy(dtype=object),
                        "population": pop, "households": hh,
                        "row": np.arange(1, len(df) + 1)})
    return out, {"file": str(path), "rows": int(len(out)), "total": float(pop.sum()),
                 "households": float(np.nansum(hh)), "vintage": _vintage(df, path),
                 "code_column": col}


@dataclass
class TaiwanJoin:
    """Townships, villages and population polygons joined on codes, and the join report.

    ``townships``: township_id (TOWNCODE), name, county (display spelling 臺), county_code,
    TOWNNAME / COUNTYNAME as given, TOWNENG, COUNTYENG, population and households
    (registered), geometry. ``villages``: village_id (VILLCODE), township_id, name,
    population, households (None without village boundaries). ``population``: polygons of the
    finest level with people: ``population_id, level (township / village / folded),
    township_id, village_id, population, households``.
    """

    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame | None
    population: gpd.GeoDataFrame
    report: dict = field(default_factory=dict)


def _first(gdf, names, default=""):
    col = next((c for c in names if c in gdf.columns), None)
    return gdf[col].astype(str).to_numpy(dtype=object) if col else np.full(len(gdf), default,
                                                                          dtype=object)


def _unmatched_error(table: pd.DataFrame, mask: np.ndarray, info: dict, what: str) -> None:
    if mask.any():
        i = int(np.flatnonzero(mask)[0])
        raise CovkitInputError(
            f"{int(mask.sum())} {what} row(s) have a township code that matches no township "
            f"polygon (first: TOWNCODE {table['TOWNCODE'].iloc[i]!r}): boundaries and "
            "population must cover the same townships", file=info["file"],
            column=info["code_column"], row=int(table["row"].iloc[i]))


def join_taiwan(towns: gpd.GeoDataFrame, *, villages: gpd.GeoDataFrame | None = None,
                township_population: tuple[pd.DataFrame, dict] | None = None,
                village_population: tuple[pd.DataFrame, dict] | None = None,
                area_crs: str = "EPSG:3826") -> TaiwanJoin:
    """Join boundaries and population tables on codes (never names).

    - Every population row's township code must match a township polygon (an error naming the
      file, row and code: a table from other boundaries would silently lose people).
    - Township totals: the township table when given (townships without a row get 0 and a
      warning); else the sums of their village rows.
    - Villages: a village row whose VILLCODE has no polygon (merged / renumbered) is folded
      into its township: its people go to the township's villages with no population row (by
      area) if it has any, else over the township's whole area; counted in the report.
    - With both tables (different vintages), village rows give the shares inside each
      township and the township table the totals; the report gives both totals.

    Parameters
    ----------
    towns, villages : GeoDataFrames from :func:`read_boundaries`
    township_population, village_population : results of :func:`read_township_population`
        / :func:`read_village_population`
    area_crs : str
        Metric CRS for polygon areas (spreading folded villages).
    """
    if township_population is None and village_population is None:
        raise CovkitInputError("no population table: give the township population, the "
                               "village population or both")
    report: dict = {}
    tcode = towns["TOWNCODE"].to_numpy(dtype=object)
    tindex = pd.Index(tcode)
    tw = gpd.GeoDataFrame({
        "township_id": tcode,
        "name": [display_name(s) for s in _first(towns, ("TOWNNAME",), "")],
        "county": [display_name(s) for s in _first(towns, ("COUNTYNAME",), "")],
        "county_code": _first(towns, ("COUNTYCODE",), ""),
        "TOWNNAME": _first(towns, ("TOWNNAME",), ""),
        "COUNTYNAME": _first(towns, ("COUNTYNAME",), ""),
        "TOWNENG": _first(towns, ("TOWNENG",), ""),
        "COUNTYENG": _first(towns, ("COUNTYENG",), ""),
    }, geometry=towns.geometry.values, crs=towns.crs)
    if (tw["county_code"] == "").all():
        tw["county_code"] = [c[:5] for c in tcode]
    n_t = len(tw)

    t_pop = t_hh = None
    households_known = True
    if township_population is not None:
        table, info = township_population
        pos = tindex.get_indexer(table["TOWNCODE"])
        _unmatched_error(table, pos < 0, info, "township population")
        t_pop = np.zeros(n_t)
        t_hh = np.zeros(n_t)
        t_pop[pos] = table["population"].to_numpy()
        t_hh[pos] = np.nan_to_num(table["households"].to_numpy())
        households_known = not table["households"].isna().any()
        missing = np.setdiff1d(np.arange(n_t), pos)
        if missing.size:
            warn(f"{info['file']}: {missing.size} township polygon(s) have no population row "
                 f"(first: {tcode[missing[0]]!r}); their registered population is 0")
        report["township_population"] = {**info, "matched_rows": int((pos >= 0).sum()),
                                         "townships_without_row": [str(tcode[i])
                                                                   for i in missing]}

    vil = None
    level_rows = []  # (population_id, level, township index, village_id, pop, hh, geometry)
    if village_population is not None:
        vtab, vinfo = village_population
        vpos_t = tindex.get_indexer(vtab["TOWNCODE"])
        _unmatched_error(vtab, vpos_t < 0, vinfo, "village population")
        v_pop_t = np.bincount(vpos_t, weights=vtab["population"].to_numpy(), minlength=n_t)
        v_hh_t = np.bincount(vpos_t, weights=np.nan_to_num(vtab["households"].to_numpy()),
                             minlength=n_t)
        vrep = {**vinfo}
        if villages is not None:
            vil, level_rows, fold = _village_level(villages, tw, tindex, vtab, vinfo, area_crs)
            vrep.update(fold)
        else:
            vrep["note"] = ("no village boundaries: village rows are summed per township and "
                            "spread over the township's area")
        report["village_population"] = vrep
        if t_pop is None:
            t_pop, t_hh = v_pop_t, v_hh_t
            households_known = not vtab["households"].isna().any()
            report["township_totals"] = "sums of the village rows (folded rows included)"
        else:
            report["township_totals"] = ("township table; the village rows give the shares "
                                         "inside each township")
            report["vintages"] = {
                "township_table": report["township_population"]["vintage"],
                "township_table_total": float(t_pop.sum()),
                "village_table": vinfo["vintage"], "village_table_total": vinfo["total"],
                "difference_township_minus_village": float(t_pop.sum() - vinfo["total"])}
        if villages is not None:
            level_rows = _scale_to_townships(level_rows, t_pop, t_hh, v_pop_t, v_hh_t,
                                             tw, report)
    else:
        report["township_totals"] = "township table"
    tw["population"] = t_pop
    tw["households"] = t_hh
    if not households_known:  # household KPIs then use coverage.household_size
        tw = tw.drop(columns="households")
        report["households"] = ("not in every row of the table that gives the township "
                                "totals: townships.gpkg has no households column")

    if not level_rows:
        pop_gdf = gpd.GeoDataFrame({
            "population_id": tcode, "level": "township", "township_id": tcode,
            "village_id": "", "population": t_pop, "households": t_hh,
        }, geometry=tw.geometry.values, crs=tw.crs)
    else:
        pop_gdf = gpd.GeoDataFrame({
            "population_id": [r[0] for r in level_rows], "level": [r[1] for r in level_rows],
            "township_id": [tcode[r[2]] for r in level_rows],
            "village_id": [r[3] for r in level_rows],
            "population": np.array([r[4] for r in level_rows], dtype=np.float64),
            "households": np.array([r[5] for r in level_rows], dtype=np.float64),
        }, geometry=[r[6] for r in level_rows], crs=tw.crs)
    pop_gdf = pop_gdf[pop_gdf["population"] > 0].reset_index(drop=True)
    report["townships"] = int(n_t)
    report["population_total"] = float(t_pop.sum())
    report["population_polygons"] = {"count": int(len(pop_gdf)),
                                     "levels": pop_gdf["level"].value_counts().to_dict()}
    if vil is None and villages is not None:
        vil = _village_frame(villages, tw, tindex)
    return TaiwanJoin(tw, vil, pop_gdf, report)


def _village_frame(villages, tw, tindex) -> gpd.GeoDataFrame:
    """Village polygons with village_id, township_id and names, in the townships' CRS."""
    vpos = tindex.get_indexer(villages["TOWNCODE"])
    if (vpos < 0).any():
        i = int(np.flatnonzero(vpos < 0)[0])
        raise CovkitInputError(f"village {villages['VILLCODE'].iloc[i]!r} lies in township "
                               f"{villages['TOWNCODE'].iloc[i]!r}, which is not among the "
                               "township polygons", column="TOWNCODE", row=i + 1)
    vil = gpd.GeoDataFrame({
        "village_id": villages["VILLCODE"].to_numpy(dtype=object),
        "township_id": villages["TOWNCODE"].to_numpy(dtype=object),
        "name": [display_name(s) for s in _first(villages, ("VILLNAME",), "")],
        "VILLNAME": _first(villages, ("VILLNAME",), ""),
        "VILLENG": _first(villages, ("VILLENG",), ""),
    }, geometry=villages.geometry.to_crs(tw.crs).values, crs=tw.crs)
    return vil


def _village_level(villages, tw, tindex, vtab, vinfo, area_crs):
    """Village polygons with their registered counts, and the folded rows."""
    vil = _village_frame(villages, tw, tindex)
    vpos = tindex.get_indexer(vil["township_id"])
    by_code = pd.Series(np.arange(len(vil)), index=vil["village_id"])
    rowpos = by_code.reindex(vtab["VILLCODE"]).to_numpy()
    matched = ~np.isnan(rowpos)
    v_pop = np.zeros(len(vil))
    v_hh = np.zeros(len(vil))
    has_row = np.zeros(len(vil), bool)
    idx = rowpos[matched].astype(np.int64)
    v_pop[idx] = vtab["population"].to_numpy()[matched]
    v_hh[idx] = np.nan_to_num(vtab["households"].to_numpy()[matched])
    has_row[idx] = True
    area = vil.geometry.to_crs(area_crs).area.to_numpy()
    folded = vtab[~matched]
    f_t = tindex.get_indexer(folded["TOWNCODE"])
    rows = []
    into_villages, into_area = [], []
    n_t = len(tw)
    f_pop = np.bincount(f_t, weights=folded["population"].to_numpy(), minlength=n_t)
    f_hh = np.bincount(f_t, weights=np.nan_to_num(folded["households"].to_numpy()),
                       minlength=n_t)
    for t in np.flatnonzero(f_pop > 0):
        empty = np.flatnonzero((vpos == t) & ~has_row)
        if empty.size and area[empty].sum() > 0:
            share = area[empty] / area[empty].sum()
            v_pop[empty] += f_pop[t] * share
            v_hh[empty] += f_hh[t] * share
            into_villages.append(str(tw["township_id"].iloc[t]))
        else:
            rows.append((f"{tw['township_id'].iloc[t]}-folded", "folded", int(t), "",
                         float(f_pop[t]), float(f_hh[t]), tw.geometry.iloc[t]))
            into_area.append(str(tw["township_id"].iloc[t]))
    vil["population"] = v_pop
    vil["households"] = v_hh
    vil["has_population_row"] = has_row
    for i in range(len(vil)):
        rows.append((vil["village_id"].iloc[i], "village", int(vpos[i]),
                     vil["village_id"].iloc[i], float(v_pop[i]), float(v_hh[i]),
                     vil.geometry.iloc[i]))
    fold = {
        "matched_rows": int(matched.sum()),
        "villages": int(len(vil)),
        "villages_without_population_row": int((~has_row).sum()),
        "folded": {
            "rows": int((~matched).sum()),
            "people": float(folded["population"].sum()),
            "households": float(np.nansum(folded["households"].to_numpy())),
            "codes": folded["VILLCODE"].astype(str).tolist(),
            "townships": int((f_pop > 0).sum()),
            "spread_over_villages_without_row": into_villages,
            "spread_over_township_area": into_area,
        },
    }
    if (~matched).any():
        warn(f"{vinfo['file']}: {int((~matched).sum())} village row(s) "
             f"({folded['population'].sum():,.0f} people) have a VILLCODE with no village "
             f"polygon (merged or renumbered; first: {folded['VILLCODE'].iloc[0]!r}); they are "
             "folded into their township")
    return vil, rows, fold


def _scale_to_townships(rows, t_pop, t_hh, v_pop_t, v_hh_t, tw, report):
    """Village-level rows scaled so that each township's rows sum to its total; a township
    with people but no village people gets one row of its whole area."""
    k_pop = np.divide(t_pop, v_pop_t, out=np.ones_like(t_pop), where=v_pop_t > 0)
    k_hh = np.divide(t_hh, v_hh_t, out=np.ones_like(t_hh), where=v_hh_t > 0)
    out = [(pid, lvl, t, vid, p * k_pop[t], h * k_hh[t], g)
           for pid, lvl, t, vid, p, h, g in rows]
    whole = np.flatnonzero((v_pop_t <= 0) & (t_pop > 0))
    for t in whole:
        out.append((str(tw["township_id"].iloc[t]), "township", int(t), "", float(t_pop[t]),
                    float(t_hh[t]), tw.geometry.iloc[t]))
    if whole.size:
        report["townships_without_village_people"] = [str(tw["township_id"].iloc[t])
                                                      for t in whole]
    return out
