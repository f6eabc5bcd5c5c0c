"""Radio and coverage layers: every sector folded into running grids, then SINR, coverage
probability, coverage per operator and for any operator, throughput and speed tiers.

:class:`SiteFold` is the one per-site step that coverage (:func:`compute_radio`) and site
proposals (:func:`covkit.coverage.sites.coverage_matrix`) share: the path loss of one site and
frequency from the engine (:func:`covkit.propagation.engine.site_loss_window`), then every
sector of it folded into best / second-best / server / per-operator / per-layer grids by
:func:`covkit.coverage.radio.reduce_site_window`. Memory is a fixed number of grids, never one
raster per sector or site.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from covkit.config import Scenario
from covkit.coverage import radio as R
from covkit.data.loaders import warn
from covkit.errors import CovkitInputError
from covkit.progress import progress_bar
from covkit.propagation.antenna import pack_patterns
from covkit.propagation.constants import EARTH_RADIUS_M
from covkit.propagation.engine import EngineSettings, site_loss_window
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
    """Running grids of a fold (float32 RSRP [dBm], -inf where nothing arrived yet).

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
                   np.zeros((n_layers, h, w), np.float32))


@dataclass
class RadioLayers(Accumulators):
    """The folded grids over all sites, with their labels.

    The grids of :class:`Accumulators` on the analysis grid, NaN (not -inf) where no sector
    reaches a cell; ``operators``: the order of axis 0 of ``op_best_dbm`` / ``op_server``;
    ``layers``: the (operator, frequency) of each layer of ``layer_mw``; ``sec_layer``: the layer
    of each stations row; ``n_groups``: site-frequency groups computed.
    """

    operators: list[str]
    layers: list[tuple[str, float]]
    sec_layer: np.ndarray
    n_groups: int


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
                    lat_deg: float):
        """Basic path loss [dB] of one site and frequency over its footprint
        (:class:`~covkit.propagation.engine.LossWindow`), with the model of the frequency's
        band."""
        return site_loss_window(self.dem_m, self.affine6, float(x_m), float(y_m),
                                float(tx_height_agl_m), self.rx_height_agl_m, float(freq_mhz),
                                self.radius_m, self.settings_for(freq_mhz),
                                site_lat_deg=float(lat_deg), coast_km=self.coast_km)

    def fold(self, win, x_m: float, y_m: float, tx_height_agl_m: float, freq_mhz: float,
             sectors: Sectors, acc: Accumulators, *, window_grids: bool = False) -> None:
        """Fold the sectors of one site and frequency into ``acc``.

        Parameters
        ----------
        win : LossWindow
            From :meth:`loss_window` for the same site and frequency.
        sectors : Sectors
            The sectors of that site on that frequency.
        acc : Accumulators
            Grids of the whole analysis grid, or (``window_grids=True``) of the window only.
        """
        x_m, y_m = float(x_m), float(y_m)
        tx_amsl_m = float(self.ground_m(x_m, y_m) + tx_height_agl_m)
        r0, c0 = int(win.row0), int(win.col0)
        dem_m, affine6 = self.dem_m, self.affine6
        if window_grids:
            # the window as a grid of its own
            nr, nc = win.loss_db.shape
            dem_m = np.ascontiguousarray(dem_m[r0:r0 + nr, c0:c0 + nc])
            affine6 = affine6.copy()
            affine6[0] += c0 * self.affine6[1]
            affine6[3] += r0 * self.affine6[5]
            r0 = c0 = 0
        R.fold_site_window(
            np.ascontiguousarray(win.loss_db), r0, c0, dem_m, affine6, x_m, y_m, tx_amsl_m,
            self.rx_height_agl_m, self.ae_m, float(freq_mhz), self.clutter_for(freq_mhz),
            self.building,
            sectors.rows, sectors.eirp_re_dbm, sectors.azimuth_deg, sectors.tilt_deg,
            sectors.beamwidth_deg, sectors.pattern_index(), sectors.operator, sectors.layer,
            self.patterns.bounds, self.patterns.angle_deg, self.patterns.loss_db,
            self.patterns.cap_db, acc.best_dbm, acc.second_dbm, acc.server, acc.op_best_dbm,
            acc.op_server, acc.layer_mw)


def compute_radio(inputs, progress: bool = False) -> RadioLayers:
    """Stream over sites and fold every sector into the running grids.

    Sectors of one site share one path-loss computation per distinct frequency.
    """
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
    acc = Accumulators.empty(inputs.grid.shape, len(operators), len(layers))
    fold = SiteFold(inputs)
    site_lat = st.groupby("site_index")["lat"].first()

    groups = list(st.groupby(["site_index", "freq_mhz"], sort=True).indices.items())
    with progress_bar(progress) as bar:
        task = bar.add_task(f"coverage: {stations.n_sites} sites ({len(groups)} site-frequency "
                            "groups)", total=len(groups))
        for (site, freq), rows in groups:
            rows = np.asarray(rows, dtype=np.int64)
            site = int(site)
            x, y = stations.site_x_m[site], stations.site_y_m[site]
            height = stations.site_height_m[site]
            try:
                win = fold.loss_window(x, y, height, freq, site_lat.loc[site])
            except CovkitInputError as exc:
                i = int(rows[0])
                raise CovkitInputError(
                    f"station {st['station_id'].iloc[i]!r} (model {fold.model_for(freq)}): "
                    f"{exc}", file=stations.source, column=exc.column,
                    row=stations.file_row(i)) from None
            fold.fold(win, x, y, height, freq, all_sectors.take(rows), acc)
            bar.advance(task)
    for a in (acc.best_dbm, acc.second_dbm, acc.op_best_dbm):
        a[np.isneginf(a)] = np.nan
    return RadioLayers(acc.best_dbm, acc.second_dbm, acc.server, acc.op_best_dbm,
                       acc.op_server, acc.layer_mw, operators, layers, sec_layer, len(groups))


# ----------------------------------------------------------------------------------------------
# coverage from radio layers


@dataclass
class CoverageLayers:
    sinr_db: np.ndarray
    coverage_probability: np.ndarray
    covered: np.ndarray
    covered_by_operator: dict[str, np.ndarray]
    throughput_dl_mbps: np.ndarray | None
    tier_covered: dict[str, np.ndarray]
    tier_covered_by_operator: dict[str, dict[str, np.ndarray]]
    required_median_dbm: float


def tier_name(dl_mbps: float, ul_mbps: float) -> str:
    """Key of a speed tier, e.g. ``7_1`` for 7/1 Mbit/s."""
    return f"{dl_mbps:g}_{ul_mbps:g}"


def coverage_from_radio(radio: RadioLayers, inputs) -> CoverageLayers:
    """SINR, coverage probability, covered (any operator and per operator), throughput.

    A pixel is covered by an operator when its best RSRP reaches the median the location
    probability requires (threshold + z sigma) and, when ``coverage.sinr_threshold_db`` is
    set, the SINR of that best server reaches it too. Covered by any operator = covered by at
    least one operator.
    """
    sc = inputs.scenario
    cov = sc.coverage
    p = sc.propagation
    st = inputs.stations.table
    noise_dbm = R.noise_per_re_dbm(st["scs_khz"].to_numpy(dtype=np.float64),
                                   cov.noise_figure_db)
    noise_mw = 10.0 ** (0.1 * noise_dbm)
    req = R.required_median_dbm(cov.rsrp_threshold_dbm, p.shadow_sigma_db,
                                p.location_probability)
    throughput = cov.throughput == "shannon"
    tech = st["tech"].astype(str).to_numpy()
    bw = st["bandwidth_mhz"].to_numpy(dtype=np.float64)
    max_eff = np.array([R.SHANNON_MAX_BPS_HZ[t] for t in tech])
    overhead = np.array([R.DL_OVERHEAD[t] for t in tech])

    def sinr_of(best, server):
        out = np.empty(best.shape, dtype=np.float32)
        return R.sinr_db_kernel(best, server, radio.sec_layer, radio.layer_mw, noise_mw,
                                float(cov.cell_load), out)

    def covered_of(best, sinr):
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(best) & (best >= req)
            if cov.sinr_threshold_db is not None:
                ok &= np.isfinite(sinr) & (sinr >= cov.sinr_threshold_db)
        return ok

    def thr_of(sinr, server):
        out = np.empty(sinr.shape, dtype=np.float32)
        return R.throughput_kernel(sinr, server, bw, max_eff, overhead, out)

    sinr_any = sinr_of(radio.best_dbm, radio.server)
    prob = R.coverage_probability(radio.best_dbm, cov.rsrp_threshold_dbm,
                                  p.shadow_sigma_db).astype(np.float32)
    covered_any = np.zeros(radio.best_dbm.shape, dtype=bool)
    by_op: dict[str, np.ndarray] = {}
    tiers = [tier_name(d, u) for d, u in R.SPEED_TIERS_MBPS]
    tier_any = {t: np.zeros(radio.best_dbm.shape, dtype=bool) for t in tiers} if throughput \
        else {}
    tier_op: dict[str, dict[str, np.ndarray]] = {}
    thr_best = None
    if throughput:
        thr_best = np.full(radio.best_dbm.shape, np.nan, dtype=np.float32)
    for o, op in enumerate(radio.operators):
        ob = radio.op_best_dbm[o]
        osrv = radio.op_server[o]
        s = sinr_of(ob, osrv)
        c = covered_of(ob, s)
        by_op[op] = c
        covered_any |= c
        if throughput:
            t = thr_of(s, osrv)
            tier_op[op] = {}
            for (dl, _ul), name in zip(R.SPEED_TIERS_MBPS, tiers, strict=True):
                with np.errstate(invalid="ignore"):
                    tc = c & (t >= dl)
                tier_op[op][name] = tc
                tier_any[name] |= tc
            thr_best = np.fmax(thr_best, t)
        del s
    return CoverageLayers(sinr_any, prob, covered_any, by_op, thr_best, tier_any, tier_op, req)
