"""Scenario file: the TOML study definition every command uses.

A scenario is a TOML file with the sections ``[scenario]``, ``[inputs]``, ``[propagation]``,
``[coverage]``, ``[sites]`` and ``[outputs]``. Input paths are relative to the TOML file. Every
key is checked: unknown keys, wrong types and out-of-range values raise
:class:`~covkit.errors.CovkitInputError` naming the file and the key (``section.key``). The
table of keys with units, defaults and ranges is :data:`SCHEMA`; the README is generated from
the same table (``covkit scenario keys``).
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pyproj import CRS
from pyproj.exceptions import CRSError

from covkit import parameters as P
from covkit.errors import CovkitInputError
from covkit.parameters import NUMBER, Param
from covkit.propagation.models import MODELS

TOWNSHIP_COLUMN_NAMES = ("township_id", "name", "county", "remote", "households",
                         "county_code")
VILLAGE_COLUMN_NAMES = ("village_id", "name", "township_id")
COLUMN_MAP_NAMES = {"township_columns": TOWNSHIP_COLUMN_NAMES,
                    "village_columns": VILLAGE_COLUMN_NAMES}
"""The covkit column names each column map of [inputs] may map to the file's."""


Key = Param
_NUM = NUMBER

SCHEMA: dict[str, tuple[Key, ...]] = {
    "scenario": (
        Key("name", str, "scenario", "", "Study name, written into every output."),
        Key("crs", str, None, "", "Metric working CRS, e.g. \"EPSG:3826\" (TWD97 / TM2 zone "
            "121). Geographic (degree) CRSs are refused.", required=True),
        Key("resolution_m", _NUM, 100.0, "m", "Analysis grid cell size.", 1.0, 10000.0),
        Key("bounds", list, None, "m", "Optional grid extent [xmin, ymin, xmax, ymax] in the "
            "working CRS; default: the union of the DEMs' extents."),
    ),
    "inputs": (
        Key("dem", (str, list), None, "", "Terrain GeoTIFF (any CRS rasterio reads, metres "
            "AMSL), or a list of them mosaicked in order: the first wins where they overlap, "
            "later ones fill its gaps (e.g. a separate DEM for outlying islands).",
            required=True),
        Key("stations", str, None, "", "Sectors table: CSV, GeoPackage or GeoParquet.",
            required=True),
        Key("population", str, None, "", "People per cell raster, or polygons with a "
            "`population` column.", required=True),
        Key("townships", str, None, "", "Township polygons (township_id, name, county, "
            "optional remote).", required=True),
        Key("fibre", str, None, "", "Optional fibre drop points (CSV lon/lat or vector)."),
        Key("trails", str, None, "", "Optional trails (lines)."),
        Key("candidates", str, None, "", "Optional candidate sites (candidate_id, lon, lat)."),
        Key("township_columns", dict, None, "", "Optional map from covkit's township column "
            "names to the file's, e.g. {township_id = \"TOWNCODE\", name = \"TOWNNAME\", "
            "county = \"COUNTYNAME\", county_code = \"COUNTYCODE\"}; county_code also finds a "
            "township's county seat (default: the first 5 digits of 8-digit township codes)."),
        Key("county_seats", str, None, "", "Optional county seats CSV (county_code, lon, lat) "
            "for the offshore-island arm of the remote rule; default: the 22 Taiwan county / "
            "city government seats shipped with covkit."),
        Key("remote_list", str, None, "", "Optional official list of remote townships (CSV/TXT "
            "with a column township_id or TOWNCODE): listed townships are remote, the others "
            "not; the rule is still evaluated and compared."),
        Key("villages", str, None, "", "Optional village polygons (village_id or VILLCODE, "
            "name, township_id or an 11-digit VILLCODE whose first 8 digits are the "
            "township code): village mode, kpi_villages.csv."),
        Key("village_columns", dict, None, "", "Optional map from covkit's village column "
            "names (village_id, name, township_id) to the file's, e.g. {village_id = "
            "\"VILLCODE\", name = \"VILLNAME\"}."),
        Key("stations_outside_dem", str, "drop", "", "Stations outside every DEM or on cells "
            "without terrain: dropped with a warning that counts them, or an error.",
            choices=("drop", "error")),
    ),
    "propagation": (
        P.MODEL,
        Key("bands", list, None, "MHz", "Optional model per frequency band: "
            "[[propagation.bands]] tables with `model` and a half-open range [min_mhz, "
            "max_mhz) (defaults 30 and 100000); sectors outside every band use "
            "propagation.model. Ranges must not overlap and must lie within the model's "
            "frequency validity (e.g. p1812 up to 6000 MHz)."),
        Key("max_radius_km", _NUM, 10.0, "km", "Computation radius around each site.",
            0.1, 200.0),
        Key("receiver_height_m", _NUM, 1.5, "m", "Receiver height above ground.", 0.5, 50.0),
        Key("location_probability", _NUM, 0.5, "", "Required probability that RSRP reaches "
            "the threshold for a pixel to count as covered.", 0.01, 0.99),
        Key("shadow_sigma_db", _NUM, 5.5, "dB", "Log-normal shadowing standard deviation.",
            0.0, 20.0),
        P.K_FACTOR,
        P.TIME_PCT,
        P.DN,
        P.N0,
        P.ENVIRONMENT,
        P.LOS_MODE,
        Key("clutter", str, "none", "", "Extra clutter loss at the receiver (P.2108 section "
            "3.2). Not used with 38901-* models, which include clutter.",
            choices=("none", "p2108")),
        Key("building_entry", str, "none", "", "Building-entry loss (P.2109) for indoor "
            "coverage.", choices=("none", "traditional", "thermally_efficient")),
        P.POLARIZATION,
        Key("no_terrain", str, "skip", "", "Cells without DEM data: skip = not computed "
            "(townships mostly on them get status \"not computed: no terrain\"); flat = land "
            "cells (inside a township polygon) without DEM data taken as 0 m flat terrain, "
            "flagged in every output.", choices=("skip", "flat")),
        Key("dem_detail", str, "none", "", "fractal = add seeded fractal detail below the "
            "DEM's post spacing (amplitude from the local relief, none on the sea), flagged "
            "as synthetic terrain in every output.", choices=("none", "fractal")),
        Key("dem_detail_seed", int, 0, "", "Seed of the fractal DEM detail.", 0, 2**31 - 1),
    ),
    "coverage": (
        Key("rsrp_threshold_dbm", _NUM, -110.0, "dBm", "RSRP a pixel needs to count as "
            "covered.", -160.0, -40.0),
        Key("cell_load", _NUM, 0.5, "", "Share of interfering resource elements in use.",
            0.0, 1.0),
        Key("sinr_threshold_db", _NUM, None, "dB", "Optional SINR a covered pixel also needs.",
            -20.0, 40.0),
        Key("noise_figure_db", _NUM, 7.0, "dB", "Receiver noise figure.", 0.0, 20.0),
        Key("remote_density_ratio", _NUM, 0.2, "", "Townships without a `remote` column are "
            "remote when their population density is below this share of the national average "
            "(Taiwan universal service: one fifth).", 0.0, 1.0),
        Key("national_density_per_km2", _NUM, None, "persons/km2", "National average "
            "population density the remote rule compares with (Taiwan, March 2022: 642.84); "
            "or give national_population and national_area_km2. Without either, the loaded "
            "townships stand in (with a warning).", 0.0, None, lo_open=True),
        Key("national_population", _NUM, None, "persons", "National population for the "
            "remote rule (with national_area_km2; Taiwan, March 2022: 23268991).", 0.0, None,
            lo_open=True),
        Key("national_area_km2", _NUM, None, "km2", "National land area for the remote rule "
            "(with national_population; Taiwan: 36197.07).", 0.0, None, lo_open=True),
        Key("offshore_min_km", _NUM, 7.5, "km", "Offshore-island townships at least this far "
            "from their county seat are remote (Taiwan universal service); 0 turns the "
            "offshore arm off.", 0.0, 1000.0),
        Key("offshore_distance", str, "shore", "", "Offshore arm: distance from the county "
            "seat to the township's nearest land (shore) or to its centroid.",
            choices=("shore", "centroid")),
        Key("household_size", _NUM, 2.6, "persons", "People per household, for household "
            "KPIs (households = population / household_size) unless the townships file has a "
            "`households` column.", 0.5, 20.0),
        Key("fibre_distance_m", _NUM, 400.0, "m", "A household counts as served by fibre when "
            "its cell centre is within this distance of a fibre drop point.", 1.0, 10000.0),
        Key("zone_min_covered_share", _NUM, None, "", "Optional zone mode: a township counts "
            "as covered when at least this share of its population is covered.", 0.0, 1.0,
            lo_open=True),
        Key("village_min_covered_share", _NUM, 0.5, "", "Village mode (inputs.villages): a "
            "village counts as covered when at least this share of its population is covered "
            "(NCC publishes no figure for its checks of remote-area base stations; one half "
            "is covkit's choice).", 0.0, 1.0, lo_open=True),
        Key("throughput", str, "shannon", "", "Downlink throughput and FCC-style speed tiers "
            "(7/1, 35/3 Mbps) from SINR by the attenuated Shannon bound, or none.",
            choices=("shannon", "none")),
        Key("population_spread", str, "area", "", "How population polygons are spread over "
            "cells: by exact area share, or dasymetric (area share times a cell weight: 0 on "
            "sea (DEM <= 0 m), less on high or steep terrain); each polygon's total is kept "
            "exactly either way. Not used for a population raster.",
            choices=("area", "dasymetric")),
    ),
    "sites": (
        Key("budget_sites", int, 20, "sites", "Number of sites to propose.", 1, 10000),
        Key("budget_cost", _NUM, None, "cost units", "Optional money budget.", 0.0, None,
            lo_open=True),
        Key("candidate_spacing_m", _NUM, 2000.0, "m", "Spacing of generated candidates.",
            100.0, 50000.0),
        Key("mast_height_m", _NUM, 30.0, "m", "Antenna height of proposed sites.", 1.0, 300.0),
        Key("site_cost", _NUM, 1.0, "cost units", "Cost of one proposed site.", 0.0, None,
            lo_open=True),
        Key("weight_population", _NUM, 1.0, "per person", "Objective weight of newly "
            "covered people.", 0.0, None),
        Key("weight_trail_km", _NUM, 0.0, "per km", "Objective weight of newly covered "
            "trail km.", 0.0, None),
        Key("weight_new_township", _NUM, 0.0, "per township", "Bonus for a remote "
            "township's first coverage.", 0.0, None),
        Key("freq_mhz", _NUM, 3500.0, "MHz", "Carrier frequency of proposed sites (one omni "
            "5G sector, 100 MHz, 30 kHz SCS).", 30.0, 100000.0),
        Key("eirp_dbm", _NUM, 60.0, "dBm", "EIRP of a proposed site's sector.", 0.0, 90.0),
        Key("backhaul_cost_per_km", _NUM, 0.0, "cost units per km", "Extra cost per km from "
            "a candidate to the nearest fibre point (needs inputs.fibre).", 0.0, None),
        Key("method", str, "greedy", "", "Optimiser: lazy greedy or the exact integer "
            "programme (HiGHS).", choices=("greedy", "exact")),
        Key("time_limit_s", _NUM, 60.0, "s", "Time limit of the exact optimiser.", 0.0, None,
            lo_open=True),
        Key("max_candidates", int, 3000, "candidates", "Most candidates evaluated (remote "
            "townships first, then by uncovered demand in reach).", 1, 1000000),
    ),
    "calibration": (
        Key("offset_sea_db", _NUM, 0.0, "dB", "Correction added to every predicted RSRP in "
            "sea cells (terrain classes: covkit.data.measurements.terrain_class_grid; fitted "
            "by covkit calibrate).", -40.0, 40.0),
        Key("offset_flat_db", _NUM, 0.0, "dB", "Correction added to every predicted RSRP in "
            "flat cells (DEM relief within 500 m under 30 m).", -40.0, 40.0),
        Key("offset_hilly_db", _NUM, 0.0, "dB", "Correction added to every predicted RSRP in "
            "hilly cells (relief 30-150 m).", -40.0, 40.0),
        Key("offset_mountain_db", _NUM, 0.0, "dB", "Correction added to every predicted RSRP "
            "in mountain cells (relief 150 m or more).", -40.0, 40.0),
        Key("distance_slope_db_per_decade", _NUM, 0.0, "dB per decade", "Correction added to "
            "every predicted RSRP: slope x log10(max(d, 10 m) / 1 km), d the distance from "
            "the sector's site.", -40.0, 40.0),
    ),
    "outputs": (
        Key("csv_codes", str, "plain", "", "How code cells (township_id, county_code, "
            "station_id, site_id, candidate_id, ...) are written in the CSVs: plain text, or "
            "\"excel\": as the formula text =\"09007010\", which Excel shows as text with its "
            "leading zeros (other readers see the =\"...\"; covkit's own readers strip it).",
            choices=("plain", "excel")),
        Key("names", str, "as_given", "", "Display spelling of township and county names: "
            "as the files give them, or \"taiwan\": 台 folded to 臺 (Taiwan's official "
            "spelling; the file's spelling is kept in name_source / county_source, codes "
            "unchanged).", choices=("as_given", "taiwan")),
    ),
}


@dataclass(frozen=True)
class ScenarioSection:
    """Study identity and analysis grid."""

    name: str
    crs: str
    resolution_m: float
    bounds: tuple[float, float, float, float] | None


@dataclass(frozen=True)
class InputsSection:
    """Absolute paths of the input files (resolved against the TOML file's folder; None where a
    scenario built with :meth:`Scenario.from_dict` leaves an input to
    :func:`covkit.load_inputs`)."""

    dem: Path | tuple[Path, ...] | None
    stations: Path | None
    population: Path | None
    townships: Path | None
    fibre: Path | None
    trails: Path | None
    candidates: Path | None
    township_columns: dict[str, str] | None = None
    stations_outside_dem: str = "drop"
    county_seats: Path | None = None
    remote_list: Path | None = None
    villages: Path | None = None
    village_columns: dict[str, str] | None = None


@dataclass(frozen=True)
class PropagationSection:
    model: str
    max_radius_km: float
    receiver_height_m: float
    location_probability: float
    shadow_sigma_db: float
    k_factor: float
    time_pct: float
    dn: float
    n0: float
    environment: str
    los_mode: str
    clutter: str
    building_entry: str
    polarization: str
    no_terrain: str = "skip"
    dem_detail: str = "none"
    dem_detail_seed: int = 0
    bands: tuple[dict, ...] = ()

    def model_for(self, freq_mhz: float) -> str:
        """The path-loss model of a carrier frequency [MHz]: the model of the band
        ``[min_mhz, max_mhz)`` holding it, else :attr:`model`."""
        f = float(freq_mhz)
        for band in self.bands:
            if band["min_mhz"] <= f < band["max_mhz"]:
                return band["model"]
        return self.model

    def models(self) -> tuple[str, ...]:
        """Every model the section names (the default first, then the bands'), once each."""
        return tuple(dict.fromkeys([self.model, *(b["model"] for b in self.bands)]))


BAND_FREQ_RANGE_MHZ = (30.0, 100000.0)
"""Defaults of a band's ``min_mhz`` / ``max_mhz``: the carrier frequencies a station may have."""
BAND_KEYS = ("min_mhz", "max_mhz", "model")


def _check_bands(bands, file: Any) -> tuple[dict, ...]:
    """Validate ``propagation.bands``: a list of tables ``{model, min_mhz?, max_mhz?}`` with
    non-empty, non-overlapping half-open ranges [min_mhz, max_mhz), each within its model's
    frequency validity (:data:`covkit.propagation.models.MODELS`). Returns them sorted by
    ``min_mhz`` with both bounds filled in. Errors name ``propagation.bands[i]`` (1-based)."""
    if bands is None:
        return ()
    lo_all, hi_all = BAND_FREQ_RANGE_MHZ
    out = []
    for i, band in enumerate(bands, start=1):
        key = f"propagation.bands[{i}]"
        if not isinstance(band, dict):
            raise CovkitInputError(f"{key} must be a table ([[propagation.bands]] with model, "
                                   f"min_mhz, max_mhz), got {band!r}", file=file, column=key)
        unknown = sorted(set(band) - set(BAND_KEYS))
        if unknown:
            raise CovkitInputError(f"unknown key {key}.{unknown[0]}; keys of a band are: "
                                   f"{', '.join(BAND_KEYS)}", file=file,
                                   column=f"{key}.{unknown[0]}")
        if "model" not in band:
            raise CovkitInputError(f"{key} has no model", file=file, column=f"{key}.model")
        model = P.MODEL.check(band["model"], key=f"{key}.model", file=file)
        rng = Param("", P.NUMBER, None, "MHz", "", lo_all, hi_all)
        lo = rng.check(band.get("min_mhz", lo_all), key=f"{key}.min_mhz", file=file)
        hi = rng.check(band.get("max_mhz", hi_all), key=f"{key}.max_mhz", file=file)
        if not lo < hi:
            raise CovkitInputError(f"{key} is empty: min_mhz = {lo:g} must be below max_mhz = "
                                   f"{hi:g} (the range is [min_mhz, max_mhz))", file=file,
                                   column=key)
        vlo, vhi = MODELS[model].validity["freq_mhz"]
        if lo < vlo or hi > vhi:
            raise CovkitInputError(
                f"{key}: model {model!r} is valid for {vlo:g}-{vhi:g} MHz "
                f"({MODELS[model].reference}), but the band is [{lo:g}, {hi:g}) MHz",
                file=file, column=key)
        out.append((i, {"min_mhz": lo, "max_mhz": hi, "model": model}))
    out.sort(key=lambda t: t[1]["min_mhz"])
    for (i, a), (j, b) in zip(out[:-1], out[1:], strict=True):
        if b["min_mhz"] < a["max_mhz"]:
            raise CovkitInputError(
                f"propagation.bands[{j}] [{b['min_mhz']:g}, {b['max_mhz']:g}) MHz overlaps "
                f"propagation.bands[{i}] [{a['min_mhz']:g}, {a['max_mhz']:g}) MHz",
                file=file, column=f"propagation.bands[{j}]")
    return tuple(b for _, b in out)


@dataclass(frozen=True)
class CoverageSection:
    rsrp_threshold_dbm: float
    cell_load: float
    sinr_threshold_db: float | None
    noise_figure_db: float
    remote_density_ratio: float
    household_size: float = 2.6
    fibre_distance_m: float = 400.0
    zone_min_covered_share: float | None = None
    throughput: str = "shannon"
    national_density_per_km2: float | None = None
    national_population: float | None = None
    national_area_km2: float | None = None
    offshore_min_km: float = 7.5
    offshore_distance: str = "shore"
    population_spread: str = "area"
    village_min_covered_share: float = 0.5


@dataclass(frozen=True)
class SitesSection:
    budget_sites: int
    budget_cost: float | None
    candidate_spacing_m: float
    mast_height_m: float
    site_cost: float
    weight_population: float
    weight_trail_km: float
    weight_new_township: float
    freq_mhz: float
    eirp_dbm: float
    backhaul_cost_per_km: float
    method: str
    time_limit_s: float
    max_candidates: int


@dataclass(frozen=True)
class CalibrationSection:
    """Corrections of the predicted RSRP fitted to field tests (``covkit calibrate``): an
    offset per terrain class of the cell and a distance slope; all zero = uncalibrated."""

    offset_sea_db: float = 0.0
    offset_flat_db: float = 0.0
    offset_hilly_db: float = 0.0
    offset_mountain_db: float = 0.0
    distance_slope_db_per_decade: float = 0.0

    def offsets_db(self, classes: tuple[str, ...]) -> tuple[float, ...]:
        """The offsets [dB] in the order of ``classes`` (class names)."""
        return tuple(float(getattr(self, f"offset_{c}_db")) for c in classes)

    @property
    def active(self) -> bool:
        """Whether any correction is non-zero."""
        return any(float(getattr(self, f.name)) != 0.0 for f in fields(self))


@dataclass(frozen=True)
class OutputsSection:
    """How the output files spell names and write codes."""

    csv_codes: str = "plain"
    names: str = "as_given"


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Build it with :func:`load_scenario` or :func:`scenario_from_dict`."""

    scenario: ScenarioSection
    inputs: InputsSection
    propagation: PropagationSection
    coverage: CoverageSection
    sites: SitesSection
    outputs: OutputsSection = field(default_factory=OutputsSection)
    calibration: CalibrationSection = field(default_factory=CalibrationSection)
    path: Path | None = field(default=None, compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], base_dir: Path | str = ".") -> Scenario:
        """A validated scenario from a mapping laid out like the TOML file.

        Input files may be left out: give them to :func:`covkit.load_inputs` as paths or
        in-memory objects. Relative paths are resolved against ``base_dir``.

        Examples
        --------
        >>> Scenario.from_dict({"scenario": {"crs": "EPSG:3826", "resolution_m": 200.0},
        ...                     "propagation": {"model": "hata"}}).propagation.model
        'hata'
        """
        return scenario_from_dict(data, base_dir=base_dir, require_inputs=False)

    def replace(self, **sections: dict[str, Any]) -> Scenario:
        """A copy with some keys changed, validated like the file:
        ``scenario.replace(propagation={"model": "hata"}, sites={"budget_sites": 5})``."""
        data = self.to_dict()
        for sec, values in sections.items():
            if sec not in data:
                raise CovkitInputError(f"unknown section [{sec}]; sections are: "
                                       f"{', '.join(data)}", column=sec)
            data[sec] = {**data[sec], **values}
        data["inputs"] = {k: v for k, v in data["inputs"].items() if v is not None}
        if data["scenario"].get("bounds") is None:
            data["scenario"].pop("bounds", None)
        for sec in ("coverage", "sites"):
            data[sec] = {k: v for k, v in data[sec].items() if v is not None}
        out = scenario_from_dict(data, require_inputs=False)
        return dataclasses.replace(out, path=self.path)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain dict of every parameter (paths as strings), for provenance in outputs."""
        out: dict[str, dict[str, Any]] = {}
        for sec in ("scenario", "inputs", "propagation", "coverage", "sites", "outputs",
                    "calibration"):
            obj = getattr(self, sec)
            out[sec] = {
                f.name: (str(v) if isinstance(v, Path) else (
                    [str(e) if isinstance(e, Path) else e for e in v] if isinstance(v, tuple)
                    else v))
                for f in fields(obj)
                for v in [getattr(obj, f.name)]
            }
        return out


_SECTION_CLASSES = {
    "scenario": ScenarioSection,
    "inputs": InputsSection,
    "propagation": PropagationSection,
    "coverage": CoverageSection,
    "sites": SitesSection,
    "outputs": OutputsSection,
    "calibration": CalibrationSection,
}


PATH_INPUTS = ("dem", "stations", "population", "townships", "fibre", "trails", "candidates",
               "county_seats", "remote_list", "villages")
"""The keys of [inputs] that name files (resolved against the scenario file's folder)."""


def _check_dem_paths(value: Any, qual: str, file: Any) -> str | list:
    """``inputs.dem``: one path, or a non-empty list of paths."""
    if isinstance(value, str | Path):
        return str(value)
    if isinstance(value, list | tuple) and value and all(
            isinstance(v, str | Path) and str(v) for v in value):
        return [str(v) for v in value]
    raise CovkitInputError(f"{qual} must be a path or a non-empty list of paths, got "
                           f"{type(value).__name__} {value!r}", file=file, column=qual)


def _check_value(key: Key, value: Any, where: str, file: Any) -> Any:
    qual = f"{where}.{key.name}"
    if where == "inputs" and key.name == "dem":
        return _check_dem_paths(value, qual, file)
    value = key.check(value, key=qual, file=file)
    if key.kind is dict:
        allowed = COLUMN_MAP_NAMES.get(key.name, TOWNSHIP_COLUMN_NAMES)
        for k, v in value.items():
            if k not in allowed or not isinstance(v, str) or not v:
                raise CovkitInputError(
                    f"{qual} maps {k!r} to {v!r}; keys must be among {', '.join(allowed)} and "
                    "values column names", file=file, column=qual)
    return value


def scenario_from_dict(data: dict[str, Any], base_dir: Path | str = ".",
                       file: Path | str | None = None, *,
                       require_inputs: bool = True) -> Scenario:
    """Validate a parsed scenario mapping and build a :class:`Scenario`.

    Parameters
    ----------
    data : dict
        The parsed TOML document.
    base_dir : path
        Folder that relative input paths are resolved against.
    file : path, optional
        The TOML file, named in error messages.
    require_inputs : bool
        Whether the required input files (``inputs.dem``, ``stations``, ``population``,
        ``townships``) must be named. False lets :func:`covkit.load_inputs` take them as
        paths or in-memory objects instead.
    """
    base = Path(base_dir)
    unknown_sections = sorted(set(data) - set(SCHEMA))
    if unknown_sections:
        raise CovkitInputError(
            f"unknown section [{unknown_sections[0]}]; sections are: {', '.join(SCHEMA)}",
            file=file, column=unknown_sections[0],
        )
    built = {}
    for sec, keys in SCHEMA.items():
        raw = data.get(sec, {})
        if not isinstance(raw, dict):
            raise CovkitInputError(f"[{sec}] must be a table", file=file, column=sec)
        known = {k.name for k in keys}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise CovkitInputError(
                f"unknown key {sec}.{unknown[0]}; keys of [{sec}] are: {', '.join(sorted(known))}",
                file=file, column=f"{sec}.{unknown[0]}",
            )
        values = {}
        for key in keys:
            if key.name not in raw:
                if key.required and (require_inputs or sec != "inputs"):
                    raise CovkitInputError(f"missing required key {sec}.{key.name}",
                                           file=file, column=f"{sec}.{key.name}")
                values[key.name] = key.default
                continue
            values[key.name] = _check_value(key, raw[key.name], sec, file)
        built[sec] = values

    sc = built["scenario"]
    sc["crs"] = _check_crs(sc["crs"], file)
    if sc["bounds"] is not None:
        b = sc["bounds"]
        if len(b) != 4 or not all(isinstance(v, _NUM) and not isinstance(v, bool) for v in b):
            raise CovkitInputError("scenario.bounds must be 4 numbers [xmin, ymin, xmax, ymax]",
                                   file=file, column="scenario.bounds")
        if not (b[0] < b[2] and b[1] < b[3]):
            raise CovkitInputError(f"scenario.bounds {b} needs xmin < xmax and ymin < ymax",
                                   file=file, column="scenario.bounds")
        sc["bounds"] = tuple(float(v) for v in b)
    cov = built["coverage"]
    check_national_keys(cov["national_density_per_km2"], cov["national_population"],
                        cov["national_area_km2"], file=file)
    built["propagation"]["bands"] = _check_bands(built["propagation"]["bands"], file)
    inp = built["inputs"]
    for k, v in inp.items():
        if v is not None and k in PATH_INPUTS:
            paths = [_resolve_path(e, base, file, k) for e in (v if isinstance(v, list) else [v])]
            inp[k] = tuple(paths) if isinstance(v, list) else paths[0]
    return Scenario(
        **{sec: _SECTION_CLASSES[sec](**vals) for sec, vals in built.items()},
        path=None if file is None else Path(file),
    )


def _resolve_path(v: str, base: Path, file: Any, key: str) -> Path:
    p = Path(v)
    try:
        return p if p.is_absolute() else (base / p).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError < 3.13)
        raise CovkitInputError(f"cannot resolve the path {str(v)!r}: {exc}", file=file,
                               column=f"inputs.{key}") from None
KEY_NATIONAL_DENSITY = "coverage.national_density_per_km2"
KEY_NATIONAL_POPULATION = "coverage.national_population"
KEY_NATIONAL_AREA = "coverage.national_area_km2"


def check_national_keys(density_per_km2: float | None, population: float | None,
                        area_km2: float | None, *, file: Any = None) -> None:
    """Refuse both forms of the remote rule's national figure at once (density, or population
    with area), one of the pair alone, and values that are not finite and > 0 (errors name
    the keys)."""
    for key, v in ((KEY_NATIONAL_DENSITY, density_per_km2), (KEY_NATIONAL_POPULATION, population),
                   (KEY_NATIONAL_AREA, area_km2)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, _NUM)
                              or not math.isfinite(v) or v <= 0):
            raise CovkitInputError(f"{key} = {v!r} must be a number > 0", file=file, column=key)
    if density_per_km2 is not None and (population is not None or area_km2 is not None):
        other = KEY_NATIONAL_POPULATION if population is not None else KEY_NATIONAL_AREA
        raise CovkitInputError(
            f"give the national density either as {KEY_NATIONAL_DENSITY} or as "
            f"{KEY_NATIONAL_POPULATION} with {KEY_NATIONAL_AREA}, not both "
            f"({KEY_NATIONAL_DENSITY} and {other} are set)", file=file,
            column=KEY_NATIONAL_DENSITY)
    if (population is None) != (area_km2 is None):
        given, missing = ((KEY_NATIONAL_POPULATION, KEY_NATIONAL_AREA) if area_km2 is None
                          else (KEY_NATIONAL_AREA, KEY_NATIONAL_POPULATION))
        raise CovkitInputError(f"{given} needs {missing} too (national density = population / "
                               "area)", file=file, column=missing)


def _check_crs(crs: str, file: Any) -> str:
    try:
        obj = CRS.from_user_input(crs)
    except CRSError as exc:
        raise CovkitInputError(f"scenario.crs {crs!r} is not a CRS pyproj knows ({exc})",
                               file=file, column="scenario.crs") from None
    if obj.is_geographic or not obj.axis_info or any(
        (a.unit_name or "").lower() not in ("metre", "meter") for a in obj.axis_info
    ):
        raise CovkitInputError(
            f"scenario.crs {crs!r} is not in metres; use a projected metric CRS "
            "(e.g. EPSG:3826 for Taiwan)",
            file=file, column="scenario.crs",
        )
    return crs


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario TOML file.

    Raises
    ------
    CovkitInputError
        When the file cannot be read or parsed, or a key is unknown, mistyped or out of range.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CovkitInputError(f"cannot read scenario file: {exc.strerror}", file=path) from None
    except UnicodeDecodeError as exc:
        line = text_line(exc.object, exc.start)
        raise CovkitInputError(
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line}); TOML files "
            "must be UTF-8: save the file as UTF-8", file=path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CovkitInputError(f"not valid TOML: {exc}", file=path) from None
    return scenario_from_dict(data, base_dir=path.resolve().parent, file=path)


def text_line(data: bytes, offset: int) -> int:
    """The 1-based line number of byte ``offset`` in ``data``."""
    return data.count(b"\n", 0, offset) + 1


def schema_markdown() -> str:
    """The table of every scenario key (unit, default, allowed range) in Markdown."""
    lines = ["| key | unit | default | allowed | meaning |", "|---|---|---|---|---|"]
    for sec, keys in SCHEMA.items():
        for k in keys:
            default = "required" if k.required else ("(none)" if k.default is None else
                                                     repr(k.default).replace("'", '"'))
            lines.append(f"| `{sec}.{k.name}` | {k.unit} | {default} | {k.range_text()} | "
                         f"{k.help} |")
    return "\n".join(lines)
