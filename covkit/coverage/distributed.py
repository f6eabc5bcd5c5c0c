"""The fold over all sites on a Dask cluster the user already has (``covkit run --dask``).

The same plan as on one machine (:func:`covkit.coverage.layers.plan_fold`): the site-frequency
groups in their fixed north-to-south order. A task is a batch of consecutive groups; a worker
computes their path loss and folds their sectors into grids of its own for the rows the batch
reaches (:class:`~covkit.coverage.layers.Accumulators`: best / second best / server, per
operator, per-layer interference sums) and returns those. The client merges the batches in
their order as they arrive (:func:`covkit.coverage.radio.merge_fold`), closes the bands of rows
no later batch reaches into the coverage layers and drops them: at most ``in_flight`` batches'
grids are held, never the per-site windows. Best, second best, server and everything derived
from them are the same as on one machine bit for bit (the order of the folds is the same);
the interference sums are added per batch, so SINR agrees to a few units in the last place of
float32 (far below 1e-6 dB).

The terrain, grid and settings go to the workers once (``Client.scatter(broadcast=True)``), and
again should the cluster lose every copy of them with a dead worker (:func:`results_in_order`).
Each task runs the kernels on one thread (no Numba thread pool inside a worker: run workers
with as many threads as cores, or one thread each and as many workers). Numba's cache makes
the compiled kernels a one-off per worker machine: the first task of a worker with a cold
cache compiles for some seconds. A worker that dies is replaced by its nanny and Dask runs its
tasks again elsewhere: the result is the same.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np

from covkit.coverage.layers import (
    Accumulators,
    CoverageLayers,
    FoldPlan,
    RadioLayers,
    Sectors,
    SiteFold,
    plan_fold,
)
from covkit.errors import CovkitError, CovkitInputError
from covkit.progress import progress_bar

INSTALL_HINT = "pip install 'covkit[dask]' (dask.distributed)"
"""How to install what ``--dask`` needs."""

IN_FLIGHT_PER_THREAD = 2
"""Batches submitted per worker thread before the earliest one has been merged: keeps every
thread busy while bounding the batches' grids waiting on the client."""


@dataclass(frozen=True)
class BatchGroups:
    """A batch of consecutive site-frequency groups (a task): ``first``, the place of its
    first group in the order; per group its site, frequency, stations rows and window rows."""

    first: int
    sites: np.ndarray
    freq_mhz: np.ndarray
    rows: tuple[np.ndarray, ...]
    row0: np.ndarray
    n_rows: np.ndarray


@dataclass(frozen=True)
class WorkerContext:
    """What every task needs, sent to the workers once: the per-site step (terrain, grid,
    settings, antenna patterns), every sector and the sites' positions."""

    fold: SiteFold
    sectors: Sectors
    site_x_m: np.ndarray
    site_y_m: np.ndarray
    site_height_m: np.ndarray
    site_lat_deg: np.ndarray
    width: int
    n_operators: int
    n_layers: int


@dataclass
class BatchResult:
    """A batch's grids (rows ``row0`` on, the grid's full width) and its path-loss values
    computed; or the engine's error of one of its groups (``error_group``: index in the
    order, ``error``: message, ``error_column``)."""

    row0: int
    part: Accumulators | None
    pixel_evaluations: int
    error_group: int = -1
    error: str = ""
    error_column: str | None = None


def batch_contribution(ctx: WorkerContext, batch: BatchGroups) -> BatchResult:
    """A task: the path loss of a batch's groups, each folded in order into grids of the rows
    the batch reaches (on the calling thread)."""
    r_lo = int(batch.row0.min())
    r_hi = int((batch.row0 + batch.n_rows).max())
    acc = Accumulators.empty((r_hi - r_lo, ctx.width), ctx.n_operators, ctx.n_layers)
    evaluations = 0
    n = len(batch.sites)
    k = 0
    while k < n:
        site = int(batch.sites[k])
        end = k + 1  # the site's frequencies (adjacent) share one engine call
        while end < n and int(batch.sites[end]) == site:
            end += 1
        x, y = ctx.site_x_m[site], ctx.site_y_m[site]
        h = ctx.site_height_m[site]
        freqs = [float(f) for f in batch.freq_mhz[k:end]]
        try:
            wins = ctx.fold.loss_windows(x, y, h, freqs, ctx.site_lat_deg[site], n_threads=1)
        except CovkitInputError as exc:  # named on the client, where the stations table is
            t, exc = ctx.fold.failing_frequency(x, y, h, freqs, ctx.site_lat_deg[site]) \
                or (0, exc)
            return BatchResult(r_lo, None, 0, batch.first + k + t, str(exc), exc.column)
        for t, win in enumerate(wins, start=k):
            evaluations += int(np.isfinite(win.loss_db).sum())
            ctx.fold.fold(win, x, y, h, freqs[t - k], ctx.sectors.take(batch.rows[t]), acc,
                          acc_row0=r_lo, n_threads=1)
        k = end
    return BatchResult(r_lo, acc, evaluations)


def batches_of(plan: FoldPlan, batch_rows: int | None = None) -> list[BatchGroups]:
    """The groups cut into batches of consecutive groups whose windows start within
    ``batch_rows`` rows of each other (default: half a footprint window, at least 8 rows)."""
    groups = plan.groups
    window_rows = max([g.n_rows for g in groups], default=1)
    batch_rows = max(1, int(batch_rows) if batch_rows is not None else max(8, window_rows // 2))
    out, start = [], 0
    for i in range(1, len(groups) + 1):
        if i == len(groups) or groups[i].row0 - groups[start].row0 >= batch_rows:
            chunk = groups[start:i]
            out.append(BatchGroups(
                start, np.array([g.site for g in chunk], dtype=np.int64),
                np.array([g.freq_mhz for g in chunk]), tuple(g.rows for g in chunk),
                np.array([g.row0 for g in chunk], dtype=np.int64),
                np.array([g.n_rows for g in chunk], dtype=np.int64)))
            start = i
    return out


def worker_context(plan: FoldPlan) -> WorkerContext:
    st = plan.state.inputs.stations
    return WorkerContext(plan.fold, plan.sectors, np.asarray(st.site_x_m, dtype=np.float64),
                         np.asarray(st.site_y_m, dtype=np.float64),
                         np.asarray(st.site_height_m, dtype=np.float64), plan.site_lat_deg,
                         plan.state.width, plan.state.n_operators, plan.state.n_layers)


def import_distributed():
    """``dask.distributed``, or a :class:`CovkitError` saying how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise CovkitError(f"--dask needs dask.distributed, which is not installed: "
                          f"{INSTALL_HINT}") from exc
    return distributed


def connect(address: str, *, timeout_s: float = 10.0):
    """A ``distributed.Client`` for ``address``: a scheduler address (``tcp://host:8786``,
    ``host:8786``) or ``local:N``, a LocalCluster of N worker processes of one thread each,
    started here and closed with the client (``client.close()`` closes it). A scheduler that
    cannot be reached in ``timeout_s`` is a one-line :class:`CovkitError` naming it."""
    distributed = import_distributed()
    address = str(address).strip()
    if address.startswith("local:"):
        try:
            n = int(address.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise CovkitError(f"--dask {address}: local:N needs a number of workers >= 1")
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
        client._covkit_cluster = cluster  # closed in close()
        return client
    try:
        return distributed.Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise CovkitError(f"--dask {address}: cannot reach a Dask scheduler there "
                          f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") \
            from exc


def close(client) -> None:
    """Close a client from :func:`connect` (and its LocalCluster)."""
    cluster = getattr(client, "_covkit_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


CONTEXT_RESCATTERS = 3
"""Times :func:`results_in_order` sends its shared context again when the cluster has lost
every copy of it (a worker died holding the only one left) before it gives up."""


def results_in_order(client, func, args_list, *, context=None, in_flight: int | None = None,
                     name: str = "covkit"):
    """``func(*args)`` for every ``args`` of ``args_list`` on the workers of ``client``,
    yielding the results in the order of ``args_list`` as they become available: at most
    ``in_flight`` tasks (default :data:`IN_FLIGHT_PER_THREAD` per worker thread) are submitted
    ahead of the earliest result not yet yielded, so the results waiting on the client stay
    bounded. A task's exception is raised here; tasks still running when the caller stops are
    cancelled.

    ``context``: an object every task takes as its first argument, sent to the workers once
    (``Client.scatter(broadcast=True)``). Scattered data has no recipe: when the workers that
    held it die, Dask cannot compute it again and cancels the tasks that need it (Dask's
    memory manager may have dropped the other copies). The context is then scattered again
    and every task not yet yielded submitted again (at most :data:`CONTEXT_RESCATTERS`
    times); the results are the same."""
    distributed = import_distributed()
    if in_flight is None:
        in_flight = IN_FLIGHT_PER_THREAD * (sum(client.nthreads().values()) or 1)
    in_flight = max(1, int(in_flight))
    live: dict[str, object] = {}  # submitted, not yet taken
    index_of: dict[str, int] = {}
    waiting: dict[int, object] = {}
    n_submitted = n_yielded = 0
    token = ""
    ctx = None

    def send_context() -> None:
        nonlocal ctx, token
        token = uuid.uuid4().hex[:12]
        if context is not None:
            ctx = client.scatter(context, broadcast=True, hash=False)

    def submit() -> list:
        nonlocal n_submitted
        new = []
        while n_submitted < len(args_list) and n_submitted - n_yielded < in_flight:
            args = args_list[n_submitted] if context is None else \
                (ctx, *args_list[n_submitted])
            f = client.submit(func, *args, key=f"{name}-{token}-{n_submitted}", pure=False)
            live[f.key] = f
            index_of[f.key] = n_submitted
            new.append(f)
            n_submitted += 1
        return new

    if not args_list:
        return
    rescatters = 0
    try:
        send_context()
        while True:
            try:
                done = distributed.as_completed(submit())
                for f in done:
                    waiting[index_of[f.key]] = f.result()
                    live.pop(f.key, None)
                    f.release()
                    while n_yielded in waiting:
                        yield waiting.pop(n_yielded)
                        n_yielded += 1
                    done.update(submit())
                return
            except distributed.client.FutureCancelledError:
                lost = ctx is not None and ctx.status != "finished"
                if not lost or rescatters >= CONTEXT_RESCATTERS:
                    raise
                rescatters += 1
                for f in live.values():
                    f.cancel()
                live.clear()
                waiting.clear()
                n_submitted = n_yielded
                ctx.release()
                send_context()
    finally:
        for f in live.values():
            f.cancel()
        if ctx is not None:
            ctx.release()


def compute_layers_distributed(inputs, client, *, progress: bool = False,
                               operator_grids: bool = False, band_rows: int | None = None,
                               batch_rows: int | None = None, in_flight: int | None = None,
                               on_merged=None, rows=None) -> tuple[RadioLayers, CoverageLayers]:
    """:func:`covkit.coverage.layers.compute_layers` with the path loss and the fold of the
    sites on the workers of a ``distributed.Client``.

    ``batch_rows``: see :func:`batches_of`; ``in_flight``: batches submitted ahead of the
    earliest not yet merged (:func:`results_in_order`); ``on_merged(n_merged, n_batches)`` is
    called after each batch is merged; ``rows``: where the closed bands' rows of the result
    rasters go (see :func:`~covkit.coverage.layers.compute_layers`).
    """
    plan = plan_fold(inputs, operator_grids, band_rows, rows)
    state = plan.state
    batches = batches_of(plan, batch_rows)
    with progress_bar(progress) as bar:
        task = bar.add_task(f"coverage on Dask: {inputs.stations.n_sites} sites "
                            f"({len(plan.groups)} site-frequency groups, {len(batches)} "
                            "batches)", total=len(plan.groups))
        results = results_in_order(client, batch_contribution, [(b,) for b in batches],
                                   context=worker_context(plan), in_flight=in_flight,
                                   name="covkit-batch")
        try:
            for n_merged, (b, r) in enumerate(zip(batches, results, strict=False), start=1):
                if r.error_group >= 0:
                    raise plan.group_error(plan.groups[r.error_group],
                                           CovkitInputError(r.error, column=r.error_column))
                closable = state.merge_part(b.first + b.sites.size, r.row0, r.part,
                                            r.pixel_evaluations)
                for band in closable:
                    state.close(band, state.bands.pop(band, None))
                bar.advance(task, b.sites.size)
                if on_merged is not None:
                    on_merged(n_merged, len(batches))
        finally:
            results.close()  # cancels what is still running
    return plan.finish()


CANDIDATES_PER_TASK = 16
"""Candidate sites per task of :func:`candidate_cells_distributed`."""


def candidate_cells(fold: SiteFold, x_m, y_m, height_m, lat_deg, freq_mhz: float,
                    eirp_re_dbm: float, level_dbm: float) -> list[np.ndarray]:
    """A task: :meth:`SiteFold.cells_reaching` of a batch of candidate sites."""
    return [fold.cells_reaching(float(x_m[i]), float(y_m[i]), float(height_m[i]),
                                float(lat_deg[i]), freq_mhz, eirp_re_dbm, level_dbm,
                                n_threads=1) for i in range(len(x_m))]


def candidate_cells_distributed(client, fold: SiteFold, x_m, y_m, height_m, lat_deg,
                                freq_mhz: float, eirp_re_dbm: float, level_dbm: float, *,
                                per_task: int = CANDIDATES_PER_TASK, in_flight: int | None = None):
    """The cells each candidate site reaches (:meth:`SiteFold.cells_reaching`), computed on
    the workers of a ``distributed.Client`` in batches of ``per_task`` candidates; yields one
    array of flat grid indices per candidate, in the candidates' order."""
    n = len(x_m)
    per_task = max(1, int(per_task))
    if n == 0:
        return
    tasks = [(x_m[a:a + per_task], y_m[a:a + per_task], height_m[a:a + per_task],
              lat_deg[a:a + per_task], freq_mhz, eirp_re_dbm, level_dbm)
             for a in range(0, n, per_task)]
    for cells in results_in_order(client, candidate_cells, tasks, context=fold,
                                  in_flight=in_flight, name="covkit-candidates"):
        yield from cells
