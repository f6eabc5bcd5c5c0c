"""Radio and coverage layers: every sector folded into running grids, then SINR, coverage
probability, coverage per operator and for any operator, throughput and speed tiers.

:class:`SiteFold` is the one per-site step that coverage (:func:`compute_layers`) and site
proposals (:func:`covkit.coverage.sites.coverage_matrix`) share: the path loss of one site and
frequency from the engine (:func:`covkit.propagation.engine.site_loss_windows`, which takes a
site's frequencies in one call), then every sector of it folded into best / second-best /
server / per-operator / per-layer grids by
:func:`covkit.coverage.radio.reduce_site_window`. Memory is a fixed number of grids, never one
raster per sector or site; the per-operator and per-layer grids of the fold are held for a band
of rows at a time (a few footprint windows high), so they do not grow with the country.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from covkit._jit import thread_count
from covkit.config import Scenario
from covkit.coverage import radio as R
from covkit.coverage.tally import COVERED, CoverageSums, covered_key, tier_key
from covkit.data.loaders import warn
from covkit.data.measurements import CLASS_NAMES, terrain_class_grid
from covkit.errors import CovkitInputError
from covkit.progress import progress_bar
from covkit.propagation.antenna import pack_patterns
from covkit.propagation.constants import EARTH_RADIUS_M
from covkit.propagation.engine import (
    EngineSettings,
    LossWindow,
    footprint_window,
    site_loss_windows,
)
from covkit.propagation.models import model_info

# ----------------------------------------------------------------------------------------------
# settings and checks


def engine_settings(scenario: Scenario, freq_mhz: float | None = None):
    """:class:`~covkit.propagation.engine.EngineSettings` from the scenario's [propagation]
    section (median location: the coverage layer applies shadowing itself), with the model of
    ``freq_mhz`` [MHz] (its ``propagation.bands`` entry; default: ``propagation.model``)."""
    p = scenario.propagation
    model = p.model if freq_mhz is None else p.model_for(freq_mhz)
    return EngineSettings(model=model, time_pct=p.time_pct, location_pct=50.0,
                          sigma_l_db=0.0, polarization=p.polarization, dn=p.dn, n0=p.n0,
                          environment=p.environment, los_mode=p.los_mode)


def uses_clutter(scenario: Scenario, model: str | None = None) -> bool:
    """P.2108 clutter applies when configured and the model (default: ``propagation.model``)
    is not a TR 38.901 one."""
    p = scenario.propagation
    return p.clutter == "p2108" and not (model or p.model).startswith("38901")


def station_carriers(stations) -> pd.DataFrame:
    """Per station row: N_RB, EIRP per resource element [dBm] and subcarrier spacing.

    Raises
    ------
    CovkitInputError
        Naming the stations file, the row and the station for a bandwidth / subcarrier
        spacing the 3GPP tables do not define.
    """
    st = stations.table
    nrb = np.zeros(len(st), dtype=np.int64)
    for i, (sid, tech, bw, scs, f) in enumerate(zip(st["station_id"], st["tech"],
                                                    st["bandwidth_mhz"], st["scs_khz"],
                                                    st["freq_mhz"], strict=True)):
        try:
            nrb[i] = R.n_rb(str(tech), float(bw), float(scs), float(f))
        except CovkitInputError as exc:
            msg = str(exc).split(": ", 1)[-1]
            raise CovkitInputError(f"station {sid!r}: {msg}", file=stations.source,
                                   column=exc.column, row=stations.file_row(i)) from None
    eirp_re = st["eirp_dbm"].to_numpy(dtype=np.float64) - 10.0 * np.log10(12.0 * nrb)
    return pd.DataFrame({"n_rb": nrb, "eirp_re_dbm": eirp_re})


def check_frequencies(stations, scenario: Scenario) -> None:
    freq = stations.table["freq_mhz"].to_numpy()
    p = scenario.propagation
    clutter = np.array([uses_clutter(scenario, p.model_for(f)) for f in freq], dtype=bool)
    checks = []
    if clutter.any():
        checks.append(("propagation.clutter = \"p2108\"", R.CLUTTER_FREQ_RANGE_MHZ, clutter))
    if scenario.propagation.building_entry != "none":
        checks.append(("propagation.building_entry (P.2109)", R.BEL_FREQ_RANGE_MHZ, True))
    for what, (lo, hi), rows in checks:
        bad = ((freq < lo) | (freq > hi)) & rows
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CovkitInputError(
                f"station {stations.table['station_id'].iloc[i]!r}: {freq[i]:g} MHz is outside "
                f"{lo:g}-{hi:g} MHz, the validity of {what}", file=stations.source,
                column="freq_mhz", row=stations.file_row(i))


def warn_outside_validity(stations, scenario: Scenario) -> None:
    """Warn (documented, not an error) when antenna heights lie outside the distance model's
    validity: coverage maps extrapolate such models, floored at free space. Each sector is
    checked against the model of its band (``propagation.bands``)."""
    p = scenario.propagation
    freq = stations.table["freq_mhz"].to_numpy(dtype=np.float64)
    models = np.array([p.model_for(f) for f in freq], dtype=object)
    for name in dict.fromkeys(models.tolist()):
        _warn_model_validity(stations, scenario, model_info(name), models == name)


def _warn_model_validity(stations, scenario: Scenario, info, rows: np.ndarray) -> None:
    if info.needs_terrain:
        return
    checks = (("tx_height_agl_m", stations.table["height_m"].to_numpy()),
              ("rx_height_agl_m", np.array([scenario.propagation.receiver_height_m])))
    for key, values in checks:
        lo, hi = info.validity[key]
        bad = (values < lo) | (values > hi)
        if key == "tx_height_agl_m":
            bad &= rows
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = (f"{int(bad.sum())} station(s), first {stations.table['station_id'].iloc[i]!r}"
                    f" at {values[i]:g} m" if key == "tx_height_agl_m" else
                    f"propagation.receiver_height_m = {values[i]:g} m")
            warn(f"{what}: outside the {info.name} validity {lo:g}-{hi:g} m for {key}; the "
                 "model is extrapolated (never below free space)")


@dataclass
class Accumulators:
    """Running grids of a fold (float32 RSRP [dBm], -inf where nothing arrived yet; float64
    power sums).

    ``best_dbm`` / ``second_dbm`` / ``server``: best and second-best RSRP and the best server
    (stations row, -1 = none); ``op_best_dbm`` / ``op_server``: the same per operator (axis 0);
    ``layer_mw``: summed received power per resource element [mW] per (operator, frequency)
    layer (axis 0).
    """

    best_dbm: np.ndarray
    second_dbm: np.ndarray
    server: np.ndarray
    op_best_dbm: np.ndarray
    op_server: np.ndarray
    layer_mw: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, int], n_operators: int, n_layers: int) -> Accumulators:
        """Grids of ``shape`` with nothing folded in yet."""
        h, w = shape
        return cls(np.full((h, w), -np.inf, np.float32), np.full((h, w), -np.inf, np.float32),
                   np.full((h, w), -1, np.int32),
                   np.full((n_operators, h, w), -np.inf, np.float32),
                   np.full((n_operators, h, w), -1, np.int32),
                   np.zeros((n_layers, h, w), np.float64))


@dataclass
class RadioLayers:
    """The folded grids over all sites, with their labels.

    ``best_dbm`` / ``second_dbm`` / ``server``: best and second-best RSRP [dBm] and the best
    server (stations row, -1 = none) on the analysis grid, NaN where no sector reaches a cell;
    ``operators``: the operators in the order of the per-operator layers; ``layers``: the
    (operator, frequency) of each summed-power layer; ``sec_layer``: the layer of each stations
    row; ``n_groups``: site-frequency groups computed; ``pixel_evaluations``: path-loss values
    computed (cells within the footprint radius, summed over groups); ``op_best_dbm``: best
    RSRP per operator (axis 0 in the order of ``operators``), only when asked for
    (``compute_layers(..., operator_grids=True)``), else None; ``cells_computed``: cells some
    sector reaches (finite best RSRP).

    The per-operator and per-layer grids of the fold (:class:`Accumulators`) are held for a
    band of rows at a time only (:func:`compute_layers`). ``best_dbm``, ``second_dbm`` and
    ``server`` are None when the fold wrote their rows elsewhere as the bands closed (a
    ``rows`` sink other than :class:`GridRows`).
    """

    best_dbm: np.ndarray | None
    second_dbm: np.ndarray | None
    server: np.ndarray | None
    operators: list[str]
    layers: list[tuple[str, float]]
    sec_layer: np.ndarray
    n_groups: int
    pixel_evaluations: int = 0
    op_best_dbm: np.ndarray | None = None
    cells_computed: int = 0


@dataclass(frozen=True)
class Sectors:
    """Per-sector arrays of the sectors folded in one call (stations rows ``rows``).

    ``pattern``: per sector the index of its tabulated antenna pattern in the fold's
    patterns (the stations' ``antenna_patterns``), -1 = the TR 38.901 parametric pattern;
    None = parametric for all.
    """

    rows: np.ndarray
    eirp_re_dbm: np.ndarray
    azimuth_deg: np.ndarray
    tilt_deg: np.ndarray
    beamwidth_deg: np.ndarray
    operator: np.ndarray
    layer: np.ndarray
    pattern: np.ndarray | None = None

    def take(self, rows: np.ndarray) -> Sectors:
        """The sectors of the given stations rows."""
        return Sectors(rows, self.eirp_re_dbm[rows], self.azimuth_deg[rows], self.tilt_deg[rows],
                       self.beamwidth_deg[rows], self.operator[rows], self.layer[rows],
                       None if self.pattern is None else self.pattern[rows])

    def pattern_index(self) -> np.ndarray:
        """``pattern`` as int64 with -1 for parametric sectors."""
        if self.pattern is None:
            return np.full(self.rows.size, -1, dtype=np.int64)
        return np.ascontiguousarray(self.pattern, dtype=np.int64)


class SiteFold:
    """Path loss of one site and frequency, folded into running grids: the one per-site step
    of coverage and of site proposals.

    Parameters
    ----------
    inputs : covkit.data.inputs.Inputs
        DEM, grid, coast distance and the scenario's [propagation] settings.
    """

    def __init__(self, inputs):
        sc = inputs.scenario
        p = sc.propagation
        self.grid = inputs.grid
        self.dem_m = np.ascontiguousarray(inputs.dem_m, dtype=np.float64)
        self.affine6 = inputs.grid.affine6
        self.coast_km = inputs.coast_km
        self.scenario = sc
        self._settings_by_model = {}
        self.rx_height_agl_m = float(p.receiver_height_m)
        self.radius_m = p.max_radius_km * 1000.0
        self.ae_m = p.k_factor * EARTH_RADIUS_M
        self.building = R.BUILDING_CODES[p.building_entry]
        self.patterns = pack_patterns(list(inputs.stations.antenna_patterns.values()))
        cal = sc.calibration
        if cal.active:  # the terrain class of every cell, as verification classes points
            sea = inputs.terrain.sea if getattr(inputs, "terrain", None) is not None else None
            self.cal_class, _ = terrain_class_grid(inputs.dem_m, inputs.grid, sea)
            self.cal_offset_db = np.asarray(cal.offsets_db(CLASS_NAMES), dtype=np.float64)
        else:
            self.cal_class, self.cal_offset_db, _ = R.NO_CALIBRATION
        self.cal_slope_db = float(cal.distance_slope_db_per_decade)

    @property
    def calibrated(self) -> bool:
        """Whether the scenario's [calibration] corrects the RSRP."""
        return self.cal_offset_db.size > 0

    def cal_class_at(self, x_m: float, y_m: float) -> np.ndarray:
        """The calibration class of the cell holding (x, y) as a one-cell grid (for a
        one-cell window of the fold)."""
        if not self.calibrated:
            return self.cal_class
        r, c = self.grid.index_of(x_m, y_m)
        r = min(max(int(r), 0), self.grid.height - 1)
        c = min(max(int(c), 0), self.grid.width - 1)
        return self.cal_class[r:r + 1, c:c + 1].copy()

    def ground_m(self, x_m: float, y_m: float) -> float:
        """Terrain height [m AMSL] of the cell holding (x, y) (clamped to the grid)."""
        r, c = self.grid.index_of(x_m, y_m)
        r = min(max(int(r), 0), self.grid.height - 1)
        c = min(max(int(c), 0), self.grid.width - 1)
        return float(self.dem_m[r, c])

    def model_for(self, freq_mhz: float) -> str:
        """The path-loss model of a carrier [MHz] (``propagation.bands``, else ``model``)."""
        return self.scenario.propagation.model_for(freq_mhz)

    def settings_for(self, freq_mhz: float) -> EngineSettings:
        """Engine settings with the model of the carrier's band."""
        model = self.model_for(freq_mhz)
        if model not in self._settings_by_model:
            self._settings_by_model[model] = engine_settings(self.scenario, freq_mhz)
        return self._settings_by_model[model]

    def clutter_for(self, freq_mhz: float) -> bool:
        """Whether P.2108 clutter applies to the carrier (not with its TR 38.901 model)."""
        return uses_clutter(self.scenario, self.model_for(freq_mhz))

    def loss_window(self, x_m: float, y_m: float, tx_height_agl_m: float, freq_mhz: float,
                    lat_deg: float, n_threads: int | None = None):
        """Basic path loss [dB] of one site and frequency over its footprint
        (:class:`~covkit.propagation.engine.LossWindow`), with the model of the frequency's
        band, on ``n_threads`` threads (default: Numba's thread count)."""
        return self.loss_windows(x_m, y_m, tx_height_agl_m, [freq_mhz], lat_deg,
                                 n_threads=n_threads)[0]

    def loss_windows(self, x_m: float, y_m: float, tx_height_agl_m: float, freqs_mhz,
                     lat_deg: float, n_threads: int | None = None) -> list:
        """:meth:`loss_window` for several frequencies of one site, in their order: the
        frequencies of one model share one engine call (P.1812 finds the terrain terms once
        for all of them, :func:`~covkit.propagation.engine.site_loss_windows`)."""
        freqs = [float(f) for f in freqs_mhz]
        by_model: dict[str, list[int]] = {}
        for i, f in enumerate(freqs):
            by_model.setdefault(self.model_for(f), []).append(i)
        out = [None] * len(freqs)
        for idx in by_model.values():
            wins = site_loss_windows(self.dem_m, self.affine6, float(x_m), float(y_m),
                                     float(tx_height_agl_m), self.rx_height_agl_m,
                                     [freqs[i] for i in idx], self.radius_m,
                                     self.settings_for(freqs[idx[0]]),
                                     site_lat_deg=float(lat_deg), coast_km=self.coast_km,
                                     n_threads=n_threads)
            for i, w in zip(idx, wins, strict=True):
                out[i] = w
        return out

    def failing_frequency(self, x_m: float, y_m: float, tx_height_agl_m: float, freqs_mhz,
                          lat_deg: float) -> tuple[int, CovkitInputError] | None:
        """After a :meth:`loss_windows` call for several frequencies failed: the index of the
        first frequency that fails alone and its own error (the group an error message must
        name), or None (one frequency, or none fails alone)."""
        if len(freqs_mhz) < 2:
            return None
        for i, f in enumerate(freqs_mhz):
            try:
                self.loss_window(x_m, y_m, tx_height_agl_m, f, lat_deg, n_threads=1)
            except CovkitInputError as exc:
                return i, exc
        return None

    def cells_reaching(self, x_m: float, y_m: float, tx_height_agl_m: float, lat_deg: float,
                       freq_mhz: float, eirp_re_dbm: float, level_dbm: float,
                       n_threads: int | None = None) -> np.ndarray:
        """Flat grid indices (sorted) of the cells where one omnidirectional sector at
        (x, y) would reach ``level_dbm`` (RSRP [dBm], the same fold as every station's): a
        candidate site of the site proposals."""
        win = self.loss_window(x_m, y_m, tx_height_agl_m, freq_mhz, lat_deg, n_threads=n_threads)
        acc = Accumulators.empty(win.loss_db.shape, 1, 1)
        sector = Sectors(np.array([0], np.int64), np.array([float(eirp_re_dbm)]),
                         np.array([np.nan]), np.array([0.0]), np.array([360.0]),
                         np.array([0], np.int64), np.array([0], np.int64))
        self.fold(win, x_m, y_m, tx_height_agl_m, freq_mhz, sector, acc, window_grids=True,
                  n_threads=n_threads)
        with np.errstate(invalid="ignore"):
            rr, cc = np.nonzero(acc.best_dbm >= level_dbm)
        return np.sort((rr + int(win.row0)) * self.grid.width + (cc + int(win.col0)))

    def fold(self, win, x_m: float, y_m: float, tx_height_agl_m: float, freq_mhz: float,
             sectors: Sectors, acc: Accumulators, *, window_grids: bool = False,
             acc_row0: int | None = None, n_threads: int | None = None) -> None:
        """Fold the sectors of one site and frequency into ``acc``.

        Parameters
        ----------
        win : LossWindow
            From :meth:`loss_window` for the same site and frequency (or rows of it).
        sectors : Sectors
            The sectors of that site on that frequency.
        acc : Accumulators
            Grids of the whole analysis grid, of the rows from ``acc_row0`` on (a band of the
            grid's full width, which must hold the window's rows), or (``window_grids=True``)
            of the window only.
        n_threads : int, optional
            Threads for the fold (default: Numba's thread count).
        """
        x_m, y_m = float(x_m), float(y_m)
        tx_amsl_m = float(self.ground_m(x_m, y_m) + tx_height_agl_m)
        r0, c0 = int(win.row0), int(win.col0)
        dem_m, affine6 = self.dem_m, self.affine6
        cal_class = self.cal_class
        if acc_row0 is not None and not window_grids:
            # a band of rows as a grid of its own
            n_band = acc.best_dbm.shape[0]
            dem_m = dem_m[acc_row0:acc_row0 + n_band]
            if self.calibrated:
                cal_class = cal_class[acc_row0:acc_row0 + n_band]
            affine6 = affine6.copy()
            affine6[3] += acc_row0 * self.affine6[5]
            r0 -= acc_row0
        if window_grids:
            # the window as a grid of its own
            nr, nc = win.loss_db.shape
            dem_m = np.ascontiguousarray(dem_m[r0:r0 + nr, c0:c0 + nc])
            if self.calibrated:
                cal_class = np.ascontiguousarray(cal_class[r0:r0 + nr, c0:c0 + nc])
            affine6 = affine6.copy()
            affine6[0] += c0 * self.affine6[1]
            affine6[3] += r0 * self.affine6[5]
            r0 = c0 = 0
        R.fold_site_window(
            np.ascontiguousarray(win.loss_db), r0, c0, dem_m, affine6, x_m, y_m, tx_amsl_m,
            self.rx_height_agl_m, self.ae_m, float(freq_mhz), self.clutter_for(freq_mhz),
            self.building, cal_class, self.cal_offset_db, self.cal_slope_db,
            sectors.rows, sectors.eirp_re_dbm, sectors.azimuth_deg, sectors.tilt_deg,
            sectors.beamwidth_deg, sectors.pattern_index(), sectors.operator, sectors.layer,
            self.patterns.bounds, self.patterns.angle_deg, self.patterns.loss_db,
            self.patterns.cap_db, acc.best_dbm, acc.second_dbm, acc.server, acc.op_best_dbm,
            acc.op_server, acc.layer_mw, n_threads=n_threads)


BAND_ROWS_MIN = 128
"""Least height [rows] of a band of the fold (:func:`compute_layers`); a band is at least one
footprint window high, so a window spans at most two bands."""

AHEAD_PER_THREAD = 4
"""Loss windows a thread may compute ahead of the fold (:func:`compute_layers`), which takes
them in a fixed order: bounds the windows held while an earlier one is still computing."""


@dataclass(frozen=True)
class _Group:
    """One site-frequency group of the fold: its stations rows and footprint window rows."""

    site: int
    freq_mhz: float
    rows: np.ndarray
    row0: int
    n_rows: int


class _Fold:
    """The state of :func:`compute_layers`: the groups in north-to-south order, the open bands
    and the whole-grid results, behind one lock."""

    def __init__(self, inputs, fold: SiteFold, sectors: Sectors, groups: list[_Group],
                 n_operators: int, n_layers: int, band_rows: int, coverage: _BandCoverage,
                 operator_grids: bool = False, rows=None):
        self.inputs = inputs
        self.fold = fold
        self.sectors = sectors
        self.groups = groups
        self.n_operators = n_operators
        self.n_layers = n_layers
        self.band_rows = band_rows
        self.coverage = coverage
        h, w = inputs.grid.shape
        self.width = w
        self.height = h
        self.rows = GridRows((h, w), coverage.throughput) if rows is None else rows
        self.cells_computed = 0
        self.op_best_dbm = np.full((n_operators, h, w), np.nan, np.float32) \
            if operator_grids else None
        self.bands: dict[int, Accumulators] = {}
        self.next_band = 0  # bands before it are closed
        self.lock = threading.Lock()  # the counters and the computed windows
        self.ready = threading.Condition(self.lock)
        self.fold_lock = threading.Lock()  # the bands and the whole-grid results
        self.taken = 0  # groups handed to a thread
        self.folded = 0  # groups folded (in order)
        self.windows: dict[int, object] = {}  # computed, waiting for their turn
        self.failed: list[BaseException] = []
        self.pixel_evaluations = 0

    def fail(self, exc: BaseException) -> None:
        """Record a thread's error (the first one is raised) and stop the other threads."""
        with self.lock:
            self.failed.append(exc)
            self.ready.notify_all()

    def bands_of(self, row0: int, n_rows: int):
        """``(band, first row, end row)`` of each band that rows ``row0 : row0 + n_rows``
        reach, with the rows of that band among them (grid rows)."""
        b = row0 // self.band_rows
        while b * self.band_rows < row0 + n_rows:
            yield (b, max(row0, b * self.band_rows),
                   min(row0 + n_rows, (b + 1) * self.band_rows))
            b += 1

    def band(self, b: int) -> Accumulators:
        acc = self.bands.get(b)
        if acc is None:
            r0 = b * self.band_rows
            r1 = min(r0 + self.band_rows, self.height)
            acc = self.bands[b] = Accumulators.empty((r1 - r0, self.width), self.n_operators,
                                                     self.n_layers)
        return acc

    def fold_group(self, g: _Group, win) -> None:
        """Fold one group's window into the bands its rows fall in (in the calling thread)."""
        st = self.inputs.stations
        x, y = st.site_x_m[g.site], st.site_y_m[g.site]
        height = st.site_height_m[g.site]
        sectors = self.sectors.take(g.rows)
        r0 = int(win.row0)
        nr = win.loss_db.shape[0]
        self.pixel_evaluations += int(np.isfinite(win.loss_db).sum())
        for b, lo, hi in self.bands_of(r0, nr):
            part = LossWindow(win.loss_db[lo - r0:hi - r0], lo, int(win.col0))
            self.fold.fold(part, x, y, height, g.freq_mhz, sectors, self.band(b),
                           acc_row0=b * self.band_rows, n_threads=1)

    def merge_part(self, n_folded: int, row0: int, part: Accumulators,
                   pixel_evaluations: int) -> list[int]:
        """Merge the grids of the next groups, folded on their own (rows ``row0`` on of the
        full width: :func:`covkit.coverage.radio.merge_fold`), into the bands they reach; the
        groups up to ``n_folded`` are then folded. Returns the bands that can be closed (the
        caller closes them with :meth:`close`)."""
        for b, lo, hi in self.bands_of(row0, part.best_dbm.shape[0]):
            acc = self.band(b)
            a, z = lo - b * self.band_rows, hi - b * self.band_rows
            pa, pz = lo - row0, hi - row0
            R.merge_fold(acc.best_dbm[a:z], acc.second_dbm[a:z], acc.server[a:z],
                         acc.op_best_dbm[:, a:z], acc.op_server[:, a:z], acc.layer_mw[:, a:z],
                         part.best_dbm[pa:pz], part.second_dbm[pa:pz], part.server[pa:pz],
                         part.op_best_dbm[:, pa:pz], part.op_server[:, pa:pz],
                         part.layer_mw[:, pa:pz])
        self.pixel_evaluations += int(pixel_evaluations)
        self.folded = n_folded
        return self.closable()

    def closable(self) -> list[int]:
        """Bands no group still to fold reaches (groups go north to south by window row)."""
        low = self.groups[self.folded].row0 if self.folded < len(self.groups) else self.height
        out = []
        while (self.next_band * self.band_rows < self.height
               and min((self.next_band + 1) * self.band_rows, self.height) <= low):
            out.append(self.next_band)
            self.next_band += 1
        return out

    def fold_ready(self, on_folded) -> None:
        """Fold, in order, every computed window whose turn has come, and close the bands that
        are then complete; one thread at a time does this (the others go on computing)."""
        while self.fold_lock.acquire(blocking=False):
            try:
                while True:
                    with self.lock:
                        k = self.folded
                        if k not in self.windows or self.failed:
                            break
                        win = self.windows.pop(k)
                    self.fold_group(self.groups[k], win)
                    with self.lock:
                        self.folded += 1
                        done = self.closable()
                        self.ready.notify_all()
                    on_folded()
                    for b in done:
                        self.close(b, self.bands.pop(b, None))
            finally:
                self.fold_lock.release()
            with self.lock:  # a window handed in while this thread was finishing
                if self.folded not in self.windows or self.failed:
                    return

    def close(self, b: int, acc: Accumulators | None) -> None:
        """Band ``b``'s results: its rows of every result raster to the fold's ``rows``
        sink, its people sums to the KPI sums; its fold grids are dropped."""
        r0 = b * self.band_rows
        r1 = min(r0 + self.band_rows, self.height)
        if acc is None:  # no group reached it
            acc = Accumulators.empty((r1 - r0, self.width), self.n_operators, self.n_layers)
        for a in (acc.best_dbm, acc.second_dbm, acc.op_best_dbm):
            a[np.isneginf(a)] = np.nan
        if self.op_best_dbm is not None:
            self.op_best_dbm[:, r0:r1] = acc.op_best_dbm
        rows = {"rsrp_best_dbm": acc.best_dbm, "rsrp_second_dbm": acc.second_dbm,
                "best_server": acc.server}
        rows.update(self.coverage.add_band(r0, r1, acc))
        self.cells_computed += int(np.isfinite(acc.best_dbm).sum())
        self.rows.put(r0, r1, rows)


def _site_frequency_groups(inputs, fold: SiteFold) -> list[_Group]:
    """The site-frequency groups, north to south by the first row of their window (then by
    site and frequency)."""
    stations = inputs.stations
    st = stations.table
    out = []
    for (site, freq), rows in st.groupby(["site_index", "freq_mhz"], sort=True).indices.items():
        site = int(site)
        r0, _c0, nr, _nc = footprint_window(fold.affine6, fold.dem_m.shape,
                                            stations.site_x_m[site], stations.site_y_m[site],
                                            fold.radius_m)
        out.append(_Group(site, float(freq), np.asarray(rows, dtype=np.int64), int(r0),
                          int(nr)))
    out.sort(key=lambda g: (g.row0, g.site, g.freq_mhz))
    return out


@dataclass
class FoldPlan:
    """What a fold over all sites starts from (:func:`plan_fold`): the per-site step, every
    sector, the site-frequency groups in their fixed north-to-south order and the fold's state
    (:class:`_Fold`), which takes the groups' results in that order."""

    fold: SiteFold
    sectors: Sectors
    groups: list[_Group]
    site_lat_deg: np.ndarray
    state: _Fold
    operators: list[str]
    layers: list[tuple[str, float]]
    sec_layer: np.ndarray

    def group_error(self, g: _Group, exc: CovkitInputError) -> CovkitInputError:
        """The engine's error of a group, naming its first station and the model."""
        stations = self.state.inputs.stations
        r = int(g.rows[0])
        return CovkitInputError(
            f"station {stations.table['station_id'].iloc[r]!r} (model "
            f"{self.fold.model_for(g.freq_mhz)}): {exc}", file=stations.source,
            column=exc.column, row=stations.file_row(r))

    def loss_window(self, g: _Group):
        """Path loss of one group on the calling thread."""
        return self.loss_windows([g])[0]

    def loss_windows(self, groups: list[_Group]) -> list:
        """Path loss of groups of one site (its frequencies) on the calling thread, in one
        engine call per model (:meth:`SiteFold.loss_windows`)."""
        st = self.state.inputs.stations
        site = groups[0].site
        return self.fold.loss_windows(st.site_x_m[site], st.site_y_m[site],
                                      st.site_height_m[site], [g.freq_mhz for g in groups],
                                      self.site_lat_deg[site], n_threads=1)

    def failing_group(self, groups: list[_Group], exc: CovkitInputError,
                      ) -> tuple[_Group, CovkitInputError]:
        """Of groups of one site whose shared engine call failed with ``exc``, the first that
        fails alone and its error (:meth:`SiteFold.failing_frequency`), else the first group
        and ``exc``."""
        st = self.state.inputs.stations
        site = groups[0].site
        k, exc = self.fold.failing_frequency(
            st.site_x_m[site], st.site_y_m[site], st.site_height_m[site],
            [g.freq_mhz for g in groups], self.site_lat_deg[site]) or (0, exc)
        return groups[k], exc

    def site_run(self, i: int) -> int:
        """The end of the run of groups from ``i`` on that belong to group ``i``'s site
        (its frequencies: adjacent in the fixed order, which sorts by site within a row)."""
        j = i + 1
        while j < len(self.groups) and self.groups[j].site == self.groups[i].site:
            j += 1
        return j

    def finish(self) -> tuple[RadioLayers, CoverageLayers]:
        """The layers once every group is folded in."""
        state = self.state
        if state.failed:
            raise state.failed[0]
        if state.folded != len(self.groups):  # pragma: no cover - a bug, not an input error
            raise RuntimeError(f"{state.folded} of {len(self.groups)} groups folded")
        for b in state.closable():  # no group at all, or none in the last bands
            state.close(b, state.bands.pop(b, None))
        grids = getattr(state.rows, "grids", {})
        radio = RadioLayers(grids.get("rsrp_best_dbm"), grids.get("rsrp_second_dbm"),
                            grids.get("best_server"), self.operators, self.layers,
                            self.sec_layer, len(self.groups), state.pixel_evaluations,
                            state.op_best_dbm, state.cells_computed)
        return radio, state.coverage.layers(grids)


def plan_fold(inputs, operator_grids: bool = False, band_rows: int | None = None,
              rows=None) -> FoldPlan:
    """Check the stations against the scenario and set up a fold over all sites
    (:func:`compute_layers`; :mod:`covkit.coverage.distributed` runs the same plan on a Dask
    cluster). ``rows``: where the result rasters' rows go as the bands close (default: whole
    grids, :class:`GridRows`)."""
    sc = inputs.scenario
    st = inputs.stations.table
    stations = inputs.stations
    carriers = station_carriers(stations)
    check_frequencies(stations, sc)
    warn_outside_validity(stations, sc)

    operators = stations.operators
    op_index = {o: i for i, o in enumerate(operators)}
    layer_keys = list(zip(st["operator"], st["freq_mhz"].astype(float), strict=True))
    layers = sorted(set(layer_keys))
    layer_index = {k: i for i, k in enumerate(layers)}
    sec_layer = np.array([layer_index[k] for k in layer_keys], dtype=np.int64)
    all_sectors = Sectors(np.arange(len(st), dtype=np.int64),
                          carriers["eirp_re_dbm"].to_numpy(),
                          st["azimuth_deg"].to_numpy(dtype=np.float64),
                          st["tilt_deg"].to_numpy(dtype=np.float64),
                          st["beamwidth_deg"].to_numpy(dtype=np.float64),
                          st["operator"].map(op_index).to_numpy(dtype=np.int64), sec_layer,
                          stations.antenna_index())
    fold = SiteFold(inputs)
    site_lat = st.groupby("site_index")["lat"].first()
    lat = np.full(stations.n_sites, np.nan)
    lat[site_lat.index.to_numpy(dtype=np.int64)] = site_lat.to_numpy(dtype=np.float64)
    groups = _site_frequency_groups(inputs, fold)
    window_rows = max([g.n_rows for g in groups], default=0)
    band_rows = max(window_rows, 1, BAND_ROWS_MIN if band_rows is None else int(band_rows))
    coverage = _BandCoverage(inputs, operators, sec_layer, operator_grids)
    state = _Fold(inputs, fold, all_sectors, groups, len(operators), len(layers), band_rows,
                  coverage, operator_grids, rows)
    return FoldPlan(fold, all_sectors, groups, lat, state, operators, layers, sec_layer)


def compute_layers(inputs, progress: bool = False, n_threads: int | None = None,
                   operator_grids: bool = False, band_rows: int | None = None,
                   rows=None) -> tuple[RadioLayers, CoverageLayers]:
    """Stream over sites, fold every sector into running grids and derive the coverage layers.

    Sectors of one site share one path-loss computation per distinct frequency. The groups go
    north to south on ``n_threads`` threads (default: Numba's thread count), one whole group
    per thread at a time; the windows are folded in that fixed order, so the result is the same
    for every thread count. The per-operator and per-layer grids of the fold are held for bands
    of rows only: a band is turned into its rows of the coverage layers
    (:class:`CoverageLayers`) and dropped as soon as no group still to fold reaches it.
    Each band also adds its people sums of every KPI (``CoverageLayers.sums``), so no
    per-operator or per-tier coverage grid is held for the whole grid by default.
    ``operator_grids=True`` also keeps the best RSRP per operator on the whole grid
    (``RadioLayers.op_best_dbm``) and the coverage per operator and speed tier
    (``CoverageLayers.covered_by_operator``, ``tier_covered``, ``tier_covered_by_operator``).
    ``band_rows``: the height of a band (default and least:
    :data:`BAND_ROWS_MIN` or one footprint window, whichever is more); the results do not
    depend on it. ``rows``: where each closed band's rows of the result rasters go (an object
    with ``put(r0, r1, rows)``, ``rows`` a dict of :data:`RESULT_ROWS` and ``covered`` rows,
    e.g. :class:`covkit.coverage.files.StreamedRasters`, which writes them to files); default
    :class:`GridRows`, whole grids in :class:`RadioLayers` and :class:`CoverageLayers`.
    """
    n_threads = thread_count() if n_threads is None else max(1, int(n_threads))
    plan = plan_fold(inputs, operator_grids, band_rows, rows)
    state, groups = plan.state, plan.groups
    stations = inputs.stations
    ahead = AHEAD_PER_THREAD * n_threads

    with progress_bar(progress) as bar:
        task = bar.add_task(f"coverage: {stations.n_sites} sites ({len(groups)} site-frequency "
                            "groups)", total=len(groups))

        def work():
            while True:
                with state.lock:
                    while (not state.failed and state.taken < len(groups)
                           and state.taken - state.folded >= ahead):
                        state.ready.wait()
                    if state.failed or state.taken >= len(groups):
                        return
                    i = state.taken
                    j = plan.site_run(i)  # a site's frequencies share one engine call
                    state.taken = j
                try:
                    wins = plan.loss_windows(groups[i:j])
                except CovkitInputError as exc:
                    state.fail(plan.group_error(*plan.failing_group(groups[i:j], exc)))
                    return
                except BaseException as exc:
                    state.fail(exc)
                    return
                with state.lock:
                    for k, win in enumerate(wins):
                        state.windows[i + k] = win
                try:
                    state.fold_ready(lambda: bar.advance(task))
                except BaseException as exc:
                    state.fail(exc)
                    return

        threads = [threading.Thread(target=work, name=f"covkit-fold-{t}", daemon=True)
                   for t in range(min(n_threads, len(groups)) - 1)]
        for t in threads:
            t.start()
        work()
        for t in threads:
            t.join()
    return plan.finish()


# ----------------------------------------------------------------------------------------------
# coverage from radio layers


RESULT_ROWS = ("rsrp_best_dbm", "rsrp_second_dbm", "best_server", "sinr_db",
               "coverage_probability", "throughput_dl_mbps")
"""The result rasters whose rows a fold hands to its ``rows`` sink band by band (the last only
with throughput), with the band's ``covered`` rows (:func:`compute_layers`)."""


class GridRows:
    """The result rasters held on the whole grid, each closed band's rows put into them: the
    default ``rows`` sink of :func:`compute_layers` (``grids``: :data:`RESULT_ROWS` -> array;
    float32 with NaN, ``best_server`` int32 with -1, where no sector reaches)."""

    def __init__(self, shape: tuple[int, int], throughput: bool):
        names = RESULT_ROWS if throughput else RESULT_ROWS[:-1]
        self.grids = {n: np.full(shape, -1, np.int32) if n == "best_server"
                      else np.full(shape, np.nan, np.float32) for n in names}

    def put(self, r0: int, r1: int, rows: dict[str, np.ndarray]) -> None:
        for name, grid in self.grids.items():
            grid[r0:r1] = rows[name]


class DropRows:
    """A ``rows`` sink of :func:`compute_layers` that keeps no result raster: for a fold whose
    KPIs (``CoverageLayers.sums``) and ``covered`` are all that is wanted."""

    def put(self, r0: int, r1: int, rows: dict[str, np.ndarray]) -> None:
        pass


@dataclass
class CoverageLayers:
    """The coverage layers on the whole grid and the people sums of the KPIs.

    ``sinr_db``, ``coverage_probability`` (float32), ``covered`` (bool, any operator) and
    ``throughput_dl_mbps`` (float32, best over operators; None without throughput) on the whole
    grid (the float ones None when the fold wrote their rows elsewhere, see
    :func:`compute_layers`); ``sums``: the people sums of every KPI
    (:class:`~covkit.coverage.tally.CoverageSums`, added band by band).
    ``covered_by_operator`` (operator -> bool grid), ``tier_covered`` (tier -> bool grid, any
    operator) and ``tier_covered_by_operator`` (operator -> tier -> bool grid) only when the
    fold was asked for per-operator grids (``compute_layers(..., operator_grids=True)``); else
    empty: the KPIs need only ``sums``.
    """

    sinr_db: np.ndarray | None
    coverage_probability: np.ndarray | None
    covered: np.ndarray
    covered_by_operator: dict[str, np.ndarray]
    throughput_dl_mbps: np.ndarray | None
    tier_covered: dict[str, np.ndarray]
    tier_covered_by_operator: dict[str, dict[str, np.ndarray]]
    required_median_dbm: float
    sums: CoverageSums | None = None


def tier_name(dl_mbps: float, ul_mbps: float) -> str:
    """Key of a speed tier, e.g. ``7_1`` for 7/1 Mbit/s."""
    return f"{dl_mbps:g}_{ul_mbps:g}"


class _BandCoverage:
    """SINR, coverage probability, covered (any operator), throughput on the whole grid, filled
    band by band from the fold's grids of that band, and each band's people sums of the KPIs
    (:class:`~covkit.coverage.tally.CoverageSums`: covered by any operator and by each,
    speed tiers of any operator and of each).

    A pixel is covered by an operator when its best RSRP reaches the median the location
    probability requires (threshold + z sigma) and, when ``coverage.sinr_threshold_db`` is
    set, the SINR of that best server reaches it too. Covered by any operator = covered by at
    least one operator. The per-operator and per-tier coverage is held for the band only,
    unless ``operator_grids`` (then also on the whole grid, as :class:`CoverageLayers` says).
    """

    def __init__(self, inputs, operators: list[str], sec_layer: np.ndarray,
                 operator_grids: bool = False):
        sc = inputs.scenario
        cov = self.cov = sc.coverage
        p = sc.propagation
        st = inputs.stations.table
        self.operators = operators
        self.sec_layer = sec_layer
        noise_dbm = R.noise_per_re_dbm(st["scs_khz"].to_numpy(dtype=np.float64),
                                       cov.noise_figure_db)
        self.noise_mw = 10.0 ** (0.1 * noise_dbm)
        self.req = R.required_median_dbm(cov.rsrp_threshold_dbm, p.shadow_sigma_db,
                                         p.location_probability)
        self.sigma_db = p.shadow_sigma_db
        self.throughput = cov.throughput == "shannon"
        tech = st["tech"].astype(str).to_numpy()
        self.bw = st["bandwidth_mhz"].to_numpy(dtype=np.float64)
        self.max_eff = np.array([R.SHANNON_MAX_BPS_HZ[t] for t in tech])
        self.overhead = np.array([R.DL_OVERHEAD[t] for t in tech])
        self.tiers = [tier_name(d, u) for d, u in R.SPEED_TIERS_MBPS] if self.throughput \
            else []
        shape = inputs.grid.shape
        self.covered = np.zeros(shape, dtype=bool)
        self.sums = CoverageSums(inputs, operators, self.tiers)
        self.operator_grids = bool(operator_grids)
        if self.operator_grids:
            self.by_op = {op: np.zeros(shape, dtype=bool) for op in operators}
            self.tier_any = {t: np.zeros(shape, dtype=bool) for t in self.tiers}
            self.tier_op = {op: {t: np.zeros(shape, dtype=bool) for t in self.tiers}
                            for op in operators} if self.throughput else {}

    def _sinr(self, best, server, layer_mw):
        out = np.empty(best.shape, dtype=np.float32)
        return R.sinr_db_kernel(best, server, self.sec_layer, layer_mw, self.noise_mw,
                                float(self.cov.cell_load), out)

    def _covered(self, best, sinr):
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(best) & (best >= self.req)
            if self.cov.sinr_threshold_db is not None:
                ok &= np.isfinite(sinr) & (sinr >= self.cov.sinr_threshold_db)
        return ok

    def add_band(self, r0: int, r1: int, acc: Accumulators) -> dict[str, np.ndarray]:
        """Rows ``r0:r1`` of every coverage layer from the fold grids of that band (NaN,
        not -inf, where nothing arrived), and the band's people sums. Returns the band's
        rows of ``sinr_db``, ``coverage_probability``, ``covered`` and (with throughput)
        ``throughput_dl_mbps``; ``covered`` also goes into the whole-grid ``covered``."""
        rows = slice(r0, r1)
        shape = acc.best_dbm.shape
        out = {"sinr_db": self._sinr(acc.best_dbm, acc.server, acc.layer_mw),
               "coverage_probability": R.coverage_probability(
                   acc.best_dbm, self.cov.rsrp_threshold_dbm, self.sigma_db)}
        covered = np.zeros(shape, dtype=bool)
        masks = {COVERED: covered}
        tier_any = {name: np.zeros(shape, dtype=bool) for name in self.tiers}
        masks.update({tier_key(name): g for name, g in tier_any.items()})
        thr = np.full(shape, np.nan, np.float32) if self.throughput else None
        for o, op in enumerate(self.operators):
            ob = acc.op_best_dbm[o]
            osrv = acc.op_server[o]
            s = self._sinr(ob, osrv, acc.layer_mw)
            c = self._covered(ob, s)
            masks[covered_key(op)] = c
            covered |= c
            if self.throughput:
                t = np.empty(s.shape, dtype=np.float32)
                R.throughput_kernel(s, osrv, self.bw, self.max_eff, self.overhead, t)
                for (dl, _ul), name in zip(R.SPEED_TIERS_MBPS, self.tiers, strict=True):
                    with np.errstate(invalid="ignore"):
                        tc = c & (t >= dl)
                    masks[tier_key(name, op)] = tc
                    tier_any[name] |= tc
                thr = np.fmax(thr, t)
        self.covered[rows] = covered
        out["covered"] = covered
        if self.throughput:
            out["throughput_dl_mbps"] = thr
        if self.operator_grids:
            for op in self.operators:
                self.by_op[op][rows] = masks[covered_key(op)]
                for name in self.tiers:
                    self.tier_op[op][name][rows] = masks[tier_key(name, op)]
            for name in self.tiers:
                self.tier_any[name][rows] = tier_any[name]
        self.sums.add_band(r0, r1, masks)
        return out

    def layers(self, grids: dict[str, np.ndarray]) -> CoverageLayers:
        """The coverage layers, with the whole-grid rasters of ``grids`` (:class:`GridRows`;
        None for those written elsewhere)."""
        if self.operator_grids:
            kept = (self.by_op, self.tier_any, self.tier_op)
        else:
            kept = ({}, {}, {})
        return CoverageLayers(grids.get("sinr_db"), grids.get("coverage_probability"),
                              self.covered, kept[0], grids.get("throughput_dl_mbps"), kept[1],
                              kept[2], self.req, self.sums)
