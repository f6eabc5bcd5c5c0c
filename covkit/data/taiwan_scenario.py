"""A covkit scenario folder from Taiwan's official files (``covkit scenario taiwan``).

:func:`write_taiwan_scenario` reads the boundaries and population tables
(:mod:`covkit.data.taiwan`), joins them on codes and writes, as one set (staged, then moved
into place; :class:`covkit.outputs.RunCommit`):

- ``townships.gpkg``: TOWNCODE as ``township_id``, display names, county name and code,
  registered population and households;
- ``villages.gpkg`` when village boundaries are given;
- ``population.gpkg``: the population polygons of the finest level given, each with its
  ``population`` and ``township_id`` (so the grid holds every township's registered count);
- ``sources.json`` and ``SOURCES.md``: the input files, their sha256 and the join report;
- ``scenario.toml`` referencing them (``inputs.villages`` = villages.gpkg when village
  boundaries are given: village mode), and the DEM and stations by absolute path.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from pathlib import Path

from pyproj import CRS

from covkit.config import scenario_from_dict
from covkit.data import taiwan
from covkit.data.loaders import repair_polygons
from covkit.data.synthetic import site_inputs, synthetic_stations
from covkit.errors import CovkitInputError
from covkit.outputs import RunCommit

TAIWAN_SCENARIO_FILES = ("townships.gpkg", "villages.gpkg", "population.gpkg", "sources.json",
                         "SOURCES.md", "scenario.toml")
"""The files :func:`write_taiwan_scenario` writes (a rerun replaces the whole set), and
``stations.csv`` with synthetic sites (only then: a stations table given by the user may lie in
the same folder)."""
DEFAULT_CRS = "EPSG:3826"
"""TWD97 / TM2 zone 121: Taiwan's metric working CRS."""
TAIWAN_AREA_KM2 = 36197.07
"""Taiwan's official land area [km2] (Ministry of the Interior statistics, the area behind the
one-fifth national density of the remote-township rule: 23,268,991 people / 36,197.07 km2 =
642.84 per km2 in March 2022)."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _existing(path, what: str) -> Path:
    p = Path(path).expanduser().resolve()
    if not p.is_file():
        raise CovkitInputError(f"{what} file does not exist", file=Path(path))
    return p


def grid_bounds(gdf, crs: str, resolution_m: float) -> tuple[float, float, float, float]:
    """Extent of polygons in ``crs``, one cell of margin, snapped out to the resolution."""
    xmin, ymin, xmax, ymax = gdf.to_crs(crs).total_bounds
    r = float(resolution_m)
    return (math.floor(xmin / r - 1.0) * r, math.floor(ymin / r - 1.0) * r,
            math.ceil(xmax / r + 1.0) * r, math.ceil(ymax / r + 1.0) * r)


def _toml(value) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(float(value))
    return str(value)


def scenario_toml_text(*, name: str, crs: str, resolution_m: float, bounds, dem, stations,
                       villages: bool, national_population: float,
                       national_area_km2: float) -> str:
    """Text of the scenario.toml of a Taiwan scenario folder."""
    dem_value = dem[0] if len(dem) == 1 else list(dem)
    lines = [
        "# covkit scenario built by `covkit scenario taiwan` from Taiwan's official files;",
        "# see SOURCES.md / sources.json for the input files, their sha256 and the join.",
        "[scenario]",
        f"name = {_toml(name)}",
        f"crs = {_toml(crs)}",
        f"resolution_m = {_toml(float(resolution_m))}",
        "# the townships' extent (all of them on the grid, also where no DEM reaches)",
        f"bounds = {_toml([float(b) for b in bounds])}",
        "",
        "[inputs]",
        f"dem = {_toml(dem_value)}",
        f"stations = {_toml(stations)}",
        "population = \"population.gpkg\"",
        "townships = \"townships.gpkg\"",
        "",
    ]
    if villages:
        lines[-1:-1] = ["# village mode: coverage per village (kpi_villages.csv); a village is "
                        "covered when", "# coverage.village_min_covered_share of its people "
                        "are (default 0.5)", "villages = \"villages.gpkg\""]
    lines += [
        "[propagation]",
        "# P.1812 (terrain) up to 6 GHz; TR 38.901 UMa for mmWave carriers (28 GHz)",
        "model = \"p1812\"",
        "[[propagation.bands]]",
        "min_mhz = 6000.0",
        "model = \"38901-uma\"",
        "# islands beyond every DEM given (e.g. Kinmen and Matsu beyond ETOPO1's 119-123 E) are",
        "# not computed; give their DEM as another --dem, or no_terrain = \"flat\" (flagged)",
        "",
        "[coverage]",
        "# the remote rule's national density: the registered population of the townships",
        "# written here and Taiwan's official land area (never the density of a loaded subset)",
        f"national_population = {_toml(float(national_population))}",
        f"national_area_km2 = {_toml(float(national_area_km2))}",
        "",
        "[outputs]",
        "# Excel keeps codes as text (=\"09007010\"); names in one spelling (臺)",
        "csv_codes = \"excel\"",
        "names = \"taiwan\"",
        "",
    ]
    return "\n".join(lines)


def _sources_md(files: list[dict], report: dict) -> str:
    out = ["# Sources of this scenario", "",
           "Built by `covkit scenario taiwan`; joined on codes (TOWNCODE / VILLCODE), never on "
           "names.", "", "| input | file | sha256 |", "|---|---|---|"]
    out += [f"| {f['input']} | `{f['path']}` | `{f['sha256']}` |" for f in files]
    out += ["", "## Join", ""]
    out.append(f"- townships: {report['townships']}; registered population on the grid: "
               f"{report['population_total']:,.0f} ({report['township_totals']})")
    tp = report.get("township_population")
    if tp:
        out.append(f"- township table: {tp['rows']} rows, {tp['matched_rows']} matched "
                   f"({tp['old_7_digit_codes']} old 7-digit codes normalised to TOWNCODE), "
                   f"total {tp['total']:,.0f}, vintage {tp['vintage']}")
    vp = report.get("village_population")
    if vp:
        line = f"- village table: {vp['rows']} rows, total {vp['total']:,.0f}, vintage " \
               f"{vp['vintage']}"
        if "matched_rows" in vp:
            f = vp["folded"]
            line += (f"; {vp['matched_rows']} rows matched a village polygon; {f['rows']} rows "
                     f"({f['people']:,.0f} people) have no polygon (merged / renumbered) and "
                     f"are folded into {f['townships']} townships")
        out.append(line)
    vt = report.get("vintages")
    if vt:
        out.append(f"- two vintages: township table {vt['township_table']} "
                   f"({vt['township_table_total']:,.0f}) vs village table "
                   f"{vt['village_table']} ({vt['village_table_total']:,.0f}); difference "
                   f"{vt['difference_township_minus_village']:+,.0f}: township totals follow "
                   "the township table, villages give the shares inside each township")
    pp = report["population_polygons"]
    levels = ", ".join(f"{k}: {v}" for k, v in pp["levels"].items())
    out.append(f"- population polygons: {pp['count']} ({levels})")
    return "\n".join(out) + "\n"


def write_taiwan_scenario(out_dir, *, townships, dem, stations=None, townships_layer=None,
                          villages=None, villages_layer=None, population=None,
                          village_population=None, resolution_m: float = 100.0,
                          crs: str = DEFAULT_CRS, name: str = "taiwan",
                          national_population: float | None = None,
                          national_area_km2: float | None = None,
                          synthetic_sites: int | None = None, operators: int = 3,
                          seed: int = 0) -> Path:
    """Build a scenario folder from Taiwan's official files; returns the scenario.toml path.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created if missing; the set is replaced as a whole).
    townships : path
        Township boundaries (TopoJSON / GeoJSON / Shapefile / GeoPackage with TOWNCODE).
    dem : path or list of paths
        DEM GeoTIFF(s), referenced by absolute path.
    stations : path, optional
        Stations table in covkit's schema; or ``synthetic_sites``.
    synthetic_sites, operators, seed : int, optional
        Without a stations table: place this many synthetic sites of ``operators`` operators
        on the scenario's grid, population and terrain
        (:func:`covkit.data.synthetic.synthetic_stations`, seeded), written as
        ``stations.csv`` with ``synthetic = true`` (flagged in every output of a run).
    townships_layer, villages_layer : str, optional
        Layer of a multi-layer file (default: the layer named ``towns`` / ``villages``).
    villages : path, optional
        Village boundaries (VILLCODE).
    population, village_population : path, optional
        Township population (JSON keyed by old 7-digit codes, or CSV with TOWNCODE) and
        village population (CSV with TOWNCODE-NNN codes); at least one.
    resolution_m : float
        Grid cell size [m].
    crs : str
        Metric working CRS (default EPSG:3826).
    national_population, national_area_km2 : float, optional
        The national figures of the remote rule's density (``coverage.national_population``
        and ``coverage.national_area_km2`` of the scenario); default: the registered
        population of the townships written (the whole country when the files are) and
        :data:`TAIWAN_AREA_KM2`. Give them when the files hold part of the country.
    """
    dems = [dem] if isinstance(dem, str | Path) else list(dem)
    if not dems:
        raise CovkitInputError("no DEM given: give at least one DEM GeoTIFF")
    dems = [_existing(d, "DEM") for d in dems]
    if (stations is None) == (synthetic_sites is None):
        raise CovkitInputError("no stations given: a Taiwan scenario needs a stations table "
                               "in covkit's schema (--stations) or synthetic sites "
                               "(--synthetic-sites N)" if stations is None else
                               "give either a stations table (--stations) or synthetic sites "
                               "(--synthetic-sites N), not both")
    if synthetic_sites is not None and int(synthetic_sites) < 1:
        raise CovkitInputError(f"synthetic sites {synthetic_sites}: give at least 1",
                               column="synthetic_sites")
    stations = _existing(stations, "stations") if stations is not None else None
    if population is None and village_population is None:
        raise CovkitInputError("no population given: give the township population "
                               "(--population), the village population "
                               "(--village-population) or both")
    work = CRS.from_user_input(crs)
    if work.is_geographic:
        raise CovkitInputError(f"crs {crs!r} is geographic; give a metric CRS such as "
                               "EPSG:3826", column="crs")
    if not (1.0 <= float(resolution_m) <= 10000.0):
        raise CovkitInputError(f"resolution {resolution_m:g} m is out of range [1, 10000]",
                               column="resolution_m")

    towns, towns_info = taiwan.read_boundaries(townships, "townships", layer=townships_layer)
    vil = vil_info = None
    if villages is not None:
        vil, vil_info = taiwan.read_boundaries(villages, "villages", layer=villages_layer)
    # boundary files hold a few self-intersecting rings (7 villages of villages-10t.json):
    # repaired once here, with a warning naming each, so runs start from valid polygons
    code = "TOWNCODE" if "TOWNCODE" in towns.columns else towns.columns[0]
    towns.geometry = repair_polygons(towns.geometry.values, towns[code].to_numpy(),
                                     Path(townships).name, "township")
    if vil is not None:
        code = "VILLCODE" if "VILLCODE" in vil.columns else vil.columns[0]
        vil.geometry = repair_polygons(vil.geometry.values, vil[code].to_numpy(),
                                       Path(villages).name, "village")
    tpop = taiwan.read_township_population(population) if population is not None else None
    vpop = taiwan.read_village_population(village_population) \
        if village_population is not None else None
    joined = taiwan.join_taiwan(towns, villages=vil, township_population=tpop,
                                village_population=vpop, area_crs=crs)
    bounds = grid_bounds(joined.townships, crs, resolution_m)

    files = [{"input": "townships", "path": str(Path(townships).resolve()),
              "layer": towns_info["layer"]}]
    if villages is not None:
        files.append({"input": "villages", "path": str(Path(villages).resolve()),
                      "layer": vil_info["layer"]})
    if population is not None:
        files.append({"input": "township population", "path": str(Path(population).resolve())})
    if village_population is not None:
        files.append({"input": "village population",
                      "path": str(Path(village_population).resolve())})
    files += [{"input": "dem", "path": str(d)} for d in dems]
    if stations is not None:
        files.append({"input": "stations", "path": str(stations)})
    for f in files:
        f["sha256"] = sha256_of(Path(f["path"]))
    sources = {"files": files, "join": joined.report,
               "notes": towns_info["notes"] + (vil_info["notes"] if vil_info else []),
               "scenario": {"crs": crs, "resolution_m": float(resolution_m),
                            "bounds": list(bounds)}}
    text = scenario_toml_text(name=name, crs=crs, resolution_m=resolution_m, bounds=bounds,
                              dem=[str(d) for d in dems],
                              stations=str(stations) if stations is not None else "stations.csv",
                              villages=vil is not None,
                              national_population=(float(joined.report["population_total"])
                                                   if national_population is None
                                                   else national_population),
                              national_area_km2=(TAIWAN_AREA_KM2 if national_area_km2 is None
                                                 else national_area_km2))
    network = None
    if synthetic_sites is not None:
        # placed on the scenario being written: its grid, terrain, population and townships
        scenario = scenario_from_dict(tomllib.loads(text), base_dir=Path(out_dir))
        grid, pop, dem_m, zone = site_inputs(scenario, population=joined.population,
                                             townships=joined.townships)
        network = synthetic_stations(grid, pop, dem_m, int(synthetic_sites), zone=zone,
                                     operators=operators, seed=seed)
        sources["synthetic_sites"] = {"sites": int(synthetic_sites), "operators": operators,
                                      "seed": seed, "sectors": len(network)}
    replaces = TAIWAN_SCENARIO_FILES + (("stations.csv",) if network is not None else ())
    with RunCommit(out_dir, replaces=replaces, tidy_new_folder=True) as out:
        if network is not None:
            out.csv("stations.csv", network)
        out.gpkg("townships.gpkg", joined.townships, "townships")
        if joined.villages is not None:
            out.gpkg("villages.gpkg", joined.villages, "villages")
        out.gpkg("population.gpkg", joined.population, "population")
        out.json("sources.json", sources)
        out.bytes("SOURCES.md", _sources_md(files, joined.report).encode("utf-8"))
        out.bytes("scenario.toml", text.encode("utf-8"))
    return Path(out_dir) / "scenario.toml"

