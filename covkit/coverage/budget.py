"""Memory and time of a coverage run, estimated before it starts, and the refusal of a run that
cannot fit.

:func:`plan_run` reads only what the estimate needs: the analysis grid (``scenario.bounds`` or
the DEMs' extents from their headers, no DEM data) and the stations table (no terrain check).
:func:`estimate_run` turns the grid, the stations (:class:`StationsSummary`) and the scenario
into a :class:`RunEstimate`: peak memory as named terms (:data:`MEMORY_TERMS`, bytes per grid
cell, per footprint window cell or per cell of the fold's open bands) and time as named terms
(path loss = pixel evaluations / rate, the rate per model and thread from
:data:`PATH_LOSS_PX_PER_S`, with the sector fold; loading and KPIs per cell).
:func:`check_budget` raises :class:`~covkit.errors.RunTooLargeError` with the figures when the
estimated peak exceeds the memory the process can reach, unless told to go ahead
(``allow_large``, ``covkit run --allow-large``).

The constants were measured on the demo island and the Taiwan scenario with
``benchmarks/bench_budget.py`` (which prints measured against estimated figures); see
``benchmarks/README.md``.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

try:
    import resource
except ImportError:  # pragma: no cover - not POSIX
    resource = None

from covkit._jit import thread_count
from covkit.config import Scenario
from covkit.coverage.layers import BAND_ROWS_MIN
from covkit.data import loaders
from covkit.data.grid import Grid
from covkit.errors import RunTooLargeError

GB = 1e9
"""Bytes in a gigabyte as the messages state them (decimal)."""

ALLOW_OPTION = "--allow-large (Python: allow_large=True)"
"""How to make a refused run go ahead anyway, as the refusal names it."""

PHASES = ("load", "radio", "kpis")
PHASE_NAMES = {"load": "loading", "radio": "site fold", "kpis": "KPI"}
"""Stages of a run whose memory is estimated: reading the inputs onto the grid; folding the
sites into the running grids; coverage layers and KPIs (the radio grids still held)."""


@dataclass(frozen=True)
class MemoryTerm:
    """One named term of the memory model.

    Attributes
    ----------
    name : str
        What is held, with its element type.
    bytes_per_cell : float
        Bytes per cell of ``extent`` (per unit of ``per``).
    per : str
        Multiplier: ``""`` (one), ``"operator"``, ``"layer"`` ((operator, frequency) layers),
        ``"tier"`` (speed tiers, with ``coverage.throughput = "shannon"``), ``"tier_operator"``,
        ``"p1812"`` (1 when a P.1812 model is used, else 0), ``"thread"`` (the threads);
        ``"kept_operator"`` / ``"kept_tier"``: the operators / the speed tiers of any operator
        and of each when the run keeps its per-operator grids (``operator_grids=True``, as
        ``covkit verify`` does), else 0; ``"held"``: 1 when the run holds its result rasters
        (no output folder), 0 when it writes them band by band into one (``streamed``);
        ``"streamed"``: the reverse.
    extent : str
        ``"grid"``: every cell of the analysis grid; ``"band"``: the cells of the open bands of
        rows (:data:`OPEN_BANDS`, the whole grid width); ``"window"``: the cells of one site's
        footprint window.
    phases : tuple of str
        The :data:`PHASES` during which it is held.
    """

    name: str
    bytes_per_cell: float
    per: str = ""
    extent: str = "grid"
    phases: tuple[str, ...] = PHASES


_ALL = PHASES
_RUN = ("radio", "kpis")

MEMORY_TERMS: tuple[MemoryTerm, ...] = (
    # the inputs on the grid (covkit.data.inputs.Inputs), held throughout
    MemoryTerm("population per cell (float64)", 8.0),
    MemoryTerm("terrain: DEM heights as given and propagation DEM (float32 each)", 8.0),
    MemoryTerm("terrain masks: sea, no terrain, flat (bool each)", 3.0),
    MemoryTerm("township zone raster (int32)", 4.0),
    MemoryTerm("township parts: cell, zone, share (int64, int64, float64; one per cell at "
               "most)", 24.0),
    MemoryTerm("coast distance for P.1812 (float32)", 4.0, per="p1812"),
    # reading the inputs
    MemoryTerm("DEM reprojection and population spread (transient, measured)", 28.0,
               phases=("load",)),
    # the fold over sites (covkit.coverage.layers.compute_layers): whole-grid results (the
    # coverage per operator and speed tier is made band by band, its KPI sums added as each
    # band closes: covkit.coverage.tally)
    MemoryTerm("propagation DEM as float64 for the engine", 8.0, phases=("radio",)),
    MemoryTerm("best and second-best RSRP, best server (float32, float32, int32)", 12.0,
               per="held", phases=_RUN),
    MemoryTerm("SINR, coverage probability, throughput (float32 each)", 12.0, per="held",
               phases=_RUN),
    MemoryTerm("covered, any operator (bool)", 1.0, phases=_RUN),
    MemoryTerm("kept per-operator grids (operator_grids): best RSRP, covered (float32, bool)",
               5.0, per="kept_operator", phases=_RUN),
    MemoryTerm("kept speed tiers covered (operator_grids), any operator and per operator "
               "(bool)", 1.0, per="kept_tier", phases=_RUN),
    # ... and the fold grids of the open bands of rows
    MemoryTerm("open bands: best, second-best RSRP, server (float32, float32, int32)", 12.0,
               extent="band", phases=("radio",)),
    MemoryTerm("open bands, per operator: best RSRP and server (float32, int32)", 8.0,
               per="operator", extent="band", phases=("radio",)),
    MemoryTerm("open bands, per (operator, frequency) layer: interference sum (float64)", 8.0,
               per="layer", extent="band", phases=("radio",)),
    MemoryTerm("footprint windows per thread: engine tables (float64, int64) and the windows "
               "waiting to be folded (float32)", 68.0, per="thread", extent="window",
               phases=("radio",)),
    # KPIs (compute_kpis; the coverage sums were added in the fold)
    MemoryTerm("KPIs: people not computed, households near fibre (float64 temporaries, "
               "bool)", 17.0, phases=("kpis",)),
    MemoryTerm("other NumPy temporaries (measured remainder)", 8.0, phases=("kpis",)),
)
"""The memory model: bytes per cell of each thing a run holds, by stage. A term held for the
whole grid has ``extent="grid"``; one held per band of rows (the fold's per-operator and
per-layer grids, :func:`covkit.coverage.layers.compute_layers`) ``extent="band"``."""

BASE_BYTES = 0.56 * GB
"""Resident memory of the interpreter, NumPy / pandas / GeoPandas / rasterio and the compiled
kernels before any grid is allocated (measured: the intercept of peak RSS against cells;
2026-12-02, ``benchmarks/bench_budget.py --fit``: 0.52-0.62 GB on the demo, 0.56 GB on the
Taiwan scenario; 0.47 GB, its value before, left the demo's estimates at 0.82-0.90 of the
measured peaks and Taiwan's at 0.86-0.89)."""

OPEN_BANDS = 2
"""Bands of rows open at once in the fold (a window spans at most two): ``extent="band"`` terms
count this many bands of ``max(BAND_ROWS_MIN, window rows)`` rows (3 overestimated the demo's
measured peak by 4-12 %)."""

SPEED_TIERS = 2
"""Speed tiers of ``coverage.throughput = "shannon"`` (7/1 and 35/3 Mbit/s)."""

PATH_LOSS_PX_PER_S: dict[str, float] = {
    "p1812": 2.3e6,
    "fspl": 1.8e7,
    "38901-rma": 6.5e6,
    "38901-uma": 6.5e6,
    "38901-umi": 6.5e6,
    "hata": 6.5e6,
    "cost231": 6.5e6,
}
"""Path-loss pixel evaluations per CPU-second (one thread) by model, in the coverage loop
(``benchmarks/bench_budget.py``, 2026-12-01, the banded fold: p1812 2.35 M on the demo at 200-50 m
and 2.34 M on the Taiwan scenario at 400 and 250 m, the CPU time of ``compute_layers`` less the
fold at :data:`FOLD_PX_PER_S`, 1.73-1.75 M px per CPU-second with the fold; before the banded
fold, engine calls timed alone: p1812 2.14-2.24 M, fspl 18.2 M, 38901-uma 6.5 M on the demo;
hata and cost231 not measured, taken as 38901's)."""

THREAD_EFFICIENCY = 0.85
"""Share of a thread's rate each extra thread adds (the engine: 1.80x on 2 threads)."""

FOLD_PX_PER_S = 2.0e7
"""Sector-pixel folds (reduction into the running grids) per CPU-second and thread (measured
1.7-2.2e7)."""

LOAD_CELLS_PER_S = 1.2e6
"""Grid cells per CPU-second for reading the inputs onto the grid (DEM, population, townships;
measured 1.25-1.7e6 on the demo at 200-50 m, 0.96e6 at 20 m, 1.6e6 on the Taiwan scenario)."""

KPI_CELLS_PER_S = 9.5e5
"""Grid cells per CPU-second for the KPIs and the coverage files (one thread; measured 0.94e6 on
the demo, 1.1e6 on the Taiwan scenario; the coverage layers are made band by band in the
fold)."""

FIXED_S = 1.0
"""Seconds a run takes whatever its size (tables, files, start of the loop)."""


@dataclass(frozen=True)
class StationsSummary:
    """What the estimate needs of the stations: per site-frequency group its position [m],
    model and number of sectors; the numbers of operators and (operator, frequency) layers."""

    x_m: np.ndarray
    y_m: np.ndarray
    model: tuple[str, ...]
    sectors: np.ndarray
    n_operators: int
    n_layers: int

    @property
    def n_groups(self) -> int:
        return int(self.x_m.size)

    @property
    def n_sectors(self) -> int:
        return int(self.sectors.sum())

    @classmethod
    def from_stations(cls, stations: loaders.Stations, scenario: Scenario) -> StationsSummary:
        """From validated stations (:func:`covkit.data.loaders.load_stations`)."""
        st = stations.table
        groups = st.groupby(["site_index", "freq_mhz"], sort=True).size()
        site = groups.index.get_level_values(0).to_numpy(dtype=np.int64)
        freq = groups.index.get_level_values(1).to_numpy(dtype=np.float64)
        p = scenario.propagation
        layers = st[["operator", "freq_mhz"]].drop_duplicates()
        return cls(np.asarray(stations.site_x_m, dtype=np.float64)[site],
                   np.asarray(stations.site_y_m, dtype=np.float64)[site],
                   tuple(p.model_for(f) for f in freq), groups.to_numpy(dtype=np.int64),
                   len(stations.operators), len(layers))


@dataclass(frozen=True)
class RunEstimate:
    """Estimated peak memory and time of a coverage run.

    ``memory``: the named terms of the stage with the highest estimate [bytes] (the base
    first), summing to ``peak_bytes``; ``seconds`` and its named terms ``time`` [s].
    """

    shape: tuple[int, int]
    resolution_m: float
    n_groups: int
    n_sectors: int
    n_operators: int
    n_layers: int
    pixel_evaluations: float
    peak_bytes: float
    peak_phase: str
    memory: tuple[tuple[str, float], ...]
    seconds: float
    time: tuple[tuple[str, float], ...]
    threads: int
    phase_bytes: dict[str, float] = field(default_factory=dict)
    sector_pixel_evaluations: float = 0.0

    @property
    def cells(self) -> int:
        return int(self.shape[0]) * int(self.shape[1])

    def to_dict(self) -> dict:
        """Figures as plain numbers (for JSON)."""
        return {"rows": int(self.shape[0]), "cols": int(self.shape[1]), "cells": self.cells,
                "resolution_m": self.resolution_m, "groups": self.n_groups,
                "sectors": self.n_sectors, "operators": self.n_operators,
                "layers": self.n_layers, "pixel_evaluations": self.pixel_evaluations,
                "peak_bytes": self.peak_bytes, "peak_phase": self.peak_phase,
                "memory_bytes": dict(self.memory), "phase_bytes": dict(self.phase_bytes),
                "sector_pixel_evaluations": self.sector_pixel_evaluations,
                "seconds": self.seconds, "time_s": dict(self.time), "threads": self.threads}

    def memory_text(self, terms: int = 5) -> str:
        """``1.23 GB (base 0.40 GB, ...)``: the peak and its largest terms."""
        parts = sorted(self.memory[1:], key=lambda t: -t[1])
        shown = [f"{name} {gb_text(b)}" for name, b in parts[:terms]]
        rest = sum(b for _, b in parts[terms:])
        if rest > 0:
            shown.append(f"{len(parts) - terms} smaller terms {gb_text(rest)}")
        base = self.memory[0][1]
        return (f"{gb_text(self.peak_bytes)} at the {PHASE_NAMES[self.peak_phase]} stage (base "
                f"{gb_text(base)}; " + "; ".join(shown) + ")")

    def time_text(self) -> str:
        """``about 12 min (path loss 10 min for 1.2e9 pixel evaluations on 2 threads, ...)``."""
        parts = [f"{name} {duration_text(s)}" for name, s in self.time if s >= 0.05]
        return (f"about {duration_text(self.seconds)} on {self.threads} thread(s) ("
                + ", ".join(parts) + f"; {self.pixel_evaluations:.3g} path-loss pixel "
                "evaluations)")


def gb_text(n_bytes: float) -> str:
    """Bytes as ``1.23 GB`` (decimal)."""
    gb = n_bytes / GB
    return f"{gb:,.2f} GB" if gb < 100 else f"{gb:,.0f} GB"


def duration_text(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.4 h``, ``2.1 days``."""
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.1f} days"


def footprint_cells(grid: Grid, x_m: np.ndarray, y_m: np.ndarray, radius_m: float,
                    strips: int = 64) -> np.ndarray:
    """Per site, the grid cells within ``radius_m`` of it, clipped to the grid: the area of the
    circle inside the grid's extent (integrated over ``strips`` horizontal strips) over the cell
    area; about pi (R / pixel)^2 for a site far from the edges."""
    x = np.asarray(x_m, dtype=np.float64)[:, None]
    y = np.asarray(y_m, dtype=np.float64)[:, None]
    xmin, ymin, xmax, ymax = grid.bounds
    lo = np.maximum(ymin - y, -radius_m)
    hi = np.minimum(ymax - y, radius_m)
    height = np.maximum(hi - lo, 0.0)
    t = (np.arange(strips) + 0.5) / strips
    dy = lo + height * t[None, :]
    half = np.sqrt(np.maximum(radius_m ** 2 - dy ** 2, 0.0))
    width = np.maximum(np.minimum(x + half, xmax) - np.maximum(x - half, xmin), 0.0)
    area = width.sum(axis=1) * (height[:, 0] / strips)
    return area / grid.cell_area_m2


def window_shape(grid: Grid, radius_m: float) -> tuple[int, int]:
    """Rows and columns of a whole footprint window, clipped to the grid."""
    n = int(math.ceil(2.0 * radius_m / grid.resolution_m)) + 1
    return min(n, grid.height), min(n, grid.width)


def estimate_run(scenario: Scenario, grid: Grid, stations: StationsSummary, *,
                 threads: int | None = None, terms: tuple[MemoryTerm, ...] = MEMORY_TERMS,
                 base_bytes: float = BASE_BYTES, operator_grids: bool = False,
                 streamed: bool = False) -> RunEstimate:
    """Peak memory and time of a coverage run on ``grid`` with ``stations``.

    Parameters
    ----------
    scenario : Scenario
        Its propagation (radius, models) and coverage (throughput) settings are used.
    grid : Grid
        The analysis grid (only its shape and extent: no data).
    stations : StationsSummary
    threads : int, optional
        Threads of the path-loss engine (default: Numba's thread count).
    terms : tuple of MemoryTerm
        The memory model (default :data:`MEMORY_TERMS`).
    operator_grids : bool
        The run keeps its per-operator grids on the whole grid (``operator_grids=True``).
    streamed : bool
        The run writes its result rasters band by band into an output folder (``covkit run``,
        ``covkit.run(..., out_dir=...)``) instead of holding them.

    Returns
    -------
    RunEstimate
    """
    threads = thread_count() if threads is None else max(1, int(threads))
    radius_m = scenario.propagation.max_radius_km * 1000.0
    rows, cols = grid.shape
    cells = float(rows) * float(cols)
    win_r, win_c = window_shape(grid, radius_m)
    band_rows = min(rows, OPEN_BANDS * max(BAND_ROWS_MIN, win_r))
    extent_cells = {"grid": cells, "band": float(band_rows) * cols,
                    "window": float(win_r) * win_c}
    n_ops, n_layers = stations.n_operators, stations.n_layers
    tiers = SPEED_TIERS if scenario.coverage.throughput == "shannon" else 0
    models = set(stations.model) | set(scenario.propagation.models())
    kept = 1 if operator_grids else 0
    count = {"": 1, "operator": n_ops, "layer": n_layers, "tier": tiers,
             "tier_operator": tiers * n_ops, "p1812": int("p1812" in models),
             "thread": threads, "kept_operator": kept * n_ops,
             "kept_tier": kept * tiers * (1 + n_ops), "held": 0 if streamed else 1,
             "streamed": 1 if streamed else 0}
    phase_bytes: dict[str, float] = {}
    phase_terms: dict[str, list[tuple[str, float]]] = {}
    for phase in PHASES:
        held = [(t.name, t.bytes_per_cell * count[t.per] * extent_cells[t.extent])
                for t in terms if phase in t.phases]
        held = [(n, b) for n, b in held if b > 0]
        phase_terms[phase] = held
        phase_bytes[phase] = base_bytes + sum(b for _, b in held)
    peak_phase = max(PHASES, key=lambda ph: phase_bytes[ph])
    memory = (("base: interpreter, libraries, compiled kernels", base_bytes),
              *phase_terms[peak_phase])

    px = footprint_cells(grid, stations.x_m, stations.y_m, radius_m) \
        if stations.n_groups else np.zeros(0)
    model = np.array(stations.model, dtype=object)
    speed = 1.0 + THREAD_EFFICIENCY * (threads - 1)
    path_loss_cpu_s = sum(float(px[model == m].sum()) / PATH_LOSS_PX_PER_S.get(m, 1e6)
                          for m in set(stations.model))
    sector_px = float((px * stations.sectors).sum())
    time = (("reading the inputs", cells / LOAD_CELLS_PER_S),
            ("path loss and sector fold", (path_loss_cpu_s + sector_px / FOLD_PX_PER_S) / speed),
            ("KPIs and files", cells / KPI_CELLS_PER_S + FIXED_S))
    return RunEstimate((rows, cols), float(grid.resolution_m), stations.n_groups,
                       stations.n_sectors, n_ops, n_layers, float(px.sum()),
                       float(phase_bytes[peak_phase]), peak_phase, memory,
                       float(sum(s for _, s in time)), time, threads, phase_bytes, sector_px)


def plan_run(scenario: Scenario, *, dem=None, stations=None, threads: int | None = None,
             operator_grids: bool = False, streamed: bool = False) -> RunEstimate | None:
    """:func:`estimate_run` for a scenario before its inputs are loaded: the grid from
    ``scenario.bounds`` or the DEMs' extents (their headers only) and the stations table read
    and validated without terrain. ``dem`` / ``stations``: in-memory inputs or paths in place
    of the scenario's. None when the scenario names no DEM or stations (loading the inputs
    then says so)."""
    sc = scenario.scenario
    dem = scenario.inputs.dem if dem is None else dem
    stations = scenario.inputs.stations if stations is None else stations
    if dem is None and sc.bounds is None or stations is None:
        return None
    grid = loaders.grid_for(sc.crs, sc.resolution_m, dem, sc.bounds)
    with loaders.collect_warnings(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loading proper issues them
        st = loaders.load_stations(stations, grid, None,
                                   outside_dem=scenario.inputs.stations_outside_dem)
    return estimate_run(scenario, grid, StationsSummary.from_stations(st, scenario),
                        threads=threads, operator_grids=operator_grids, streamed=streamed)


def estimate_inputs(inputs, *, threads: int | None = None, operator_grids: bool = False,
                    streamed: bool = False) -> RunEstimate:
    """:func:`estimate_run` for loaded inputs (:class:`covkit.data.inputs.Inputs`)."""
    return estimate_run(inputs.scenario, inputs.grid,
                        StationsSummary.from_stations(inputs.stations, inputs.scenario),
                        threads=threads, operator_grids=operator_grids, streamed=streamed)


def available_memory_bytes() -> float | None:
    """Memory this process can still take [bytes]: ``MemAvailable`` of ``/proc/meminfo``
    (None where there is no such file)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        return None
    return None


def resident_bytes() -> float:
    """Resident memory of this process now [bytes] (0 where ``/proc/self/statm`` is
    missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return float(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0.0


def peak_rss_bytes() -> float:
    """Peak resident memory of this process so far [bytes]: ``VmHWM`` of ``/proc/self/status``
    (the high-water mark of this process's own memory), else ``getrusage``'s ``ru_maxrss``.
    On Linux ``ru_maxrss`` is never below the parent's resident memory at the fork, which
    exec carries over: a small run started from a large process reads as large."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) * 1024.0
    except (OSError, ValueError, IndexError):
        pass
    if resource is None:  # pragma: no cover - not POSIX
        return resident_bytes()
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024.0


def check_budget(estimate: RunEstimate | None, available_bytes: float | None,
                 allow: bool = False, *, held_bytes: float = 0.0, file=None) -> None:
    """Refuse a run whose estimated peak memory exceeds what the process can reach.

    Parameters
    ----------
    estimate : RunEstimate or None
        None: nothing to check.
    available_bytes : float or None
        Memory the process can still take (:func:`available_memory_bytes`); None: unknown,
        nothing is refused.
    allow : bool
        Go ahead anyway (``--allow-large``, ``allow_large=True``).
    held_bytes : float
        Memory the process already holds (:func:`resident_bytes`): the estimate's peak counts
        it, so the process can reach ``available_bytes + held_bytes``.
    file : path, optional
        The scenario file, named in the error.

    Raises
    ------
    RunTooLargeError
        Stating the grid (rows x cols, cells), the site-frequency groups, the estimated peak
        memory and its largest terms, the available memory, the estimated time and the option
        that lets the run go ahead.
    """
    if estimate is None or available_bytes is None or allow:
        return
    reach = float(available_bytes) + float(held_bytes)
    if estimate.peak_bytes <= reach:
        return
    e = estimate
    held = f" + {gb_text(held_bytes)} this process holds" if held_bytes > 0 else ""
    raise RunTooLargeError(
        f"this run cannot fit in memory: grid {e.shape[0]:,} x {e.shape[1]:,} = {e.cells:,} "
        f"cells of {e.resolution_m:g} m, {e.n_groups:,} site-frequency groups ({e.n_sectors:,} "
        f"sectors, {e.n_operators} operators, {e.n_layers} layers); estimated peak memory "
        f"{e.memory_text()}; available {gb_text(available_bytes)} (MemAvailable){held}; "
        f"estimated time {e.time_text()}. Use a coarser scenario.resolution_m, smaller "
        f"scenario.bounds or propagation.max_radius_km, or pass {ALLOW_OPTION} to go ahead "
        "anyway", file=file, column="scenario.resolution_m", estimate=estimate,
        available_bytes=available_bytes)
