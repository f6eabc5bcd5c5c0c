"""Atomic output writers (Cloud-Optimized GeoTIFF, CSV, JSON, GeoPackage, GeoParquet) and the
output set of a run, committed whole.

Every single-file writer writes to a temporary file in the destination folder and renames it
into place with :func:`os.replace` (atomic on POSIX and Windows within one file system), so a
reader never sees a half-written file under the final name.

:class:`RunCommit` extends this to the whole set of files of one run (coverage files, site
files, ``map.html`` + ``lib/``, the report and its figures):

1. under a lock file (``OUT/.covkit.lock``; a second run into the same folder is refused with
   :class:`OutputFolderBusy`, a lock left by a dead process is taken over with a warning),
   leftovers of an interrupted run are repaired first (:func:`repair_folder`);
2. every file is written into a private staging folder ``OUT/.covkit-stage-<id>/``;
3. on success a journal (``OUT/.covkit-journal.json``) is written, the earlier set (the names
   the commit replaces and, for a whole run, the ``outputs`` list of the previous
   ``kpi_summary.json``) is moved into ``OUT/.covkit-old-<id>/``, the staged files are renamed
   in, the journal is removed (the commit point) and the old set deleted. Any failure before
   the commit point moves the earlier set back; a crash there is rolled back by the next run
   (or ``covkit map`` / ``covkit report``) from the journal.

So the folder holds either the earlier complete set or the new one, never a mix; a file of an
earlier run that the new run does not write is removed, not left beside the new ones.
Out-of-space while writing is reported as such (:class:`OutputError`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import json
import math
import os
import re
import shutil
import socket
import uuid
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import rasterio.windows
from rasterio.io import MemoryFile
from rasterio.shutil import copy as rio_copy

from covkit import runfolder as F
from covkit.errors import CovkitError

try:  # POSIX: an advisory lock that the kernel drops when its process dies
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def _tmp_name(final: Path) -> Path:
    return final.with_name(f".{final.stem}.{uuid.uuid4().hex[:12]}.tmp{final.suffix}")


def _remove(path: Path) -> None:
    for p in (path, Path(str(path) + ".aux.xml")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


@contextmanager
def atomic_path(final: Path | str):
    """Yield a temporary path beside ``final``; rename it to ``final`` on success, delete it
    on error."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(final)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        _remove(tmp)
        raise


# ----------------------------------------------------------------------------------------------
# writers to a given path (the caller takes care of atomicity, or uses the write_* wrappers)


def _cog_blocksize(shape: tuple[int, int]) -> int:
    """Tile size: 512 for large rasters, smaller (multiple of 16) for small ones so that small
    rasters still get at least one overview level."""
    m = min(shape)
    for b in (512, 256, 128, 64, 32, 16):
        if m > b:
            return b
    return 16


def _raster_profile(shape, dtype, grid, nodata) -> dict:
    return {"driver": "GTiff", "height": int(shape[0]), "width": int(shape[1]), "count": 1,
            "dtype": np.dtype(dtype).name, "crs": grid.crs, "transform": grid.transform,
            "nodata": nodata}


def _label(ds, tags: dict | None, description: str | None) -> None:
    if tags:
        ds.update_tags(**{k: str(v) for k, v in tags.items()})
    if description:
        ds.set_band_description(1, description)


COG_CACHE_MB = 64
"""GDAL's block cache while a COG is made [MB]: the source's and the COG's blocks beyond it are
read again or written out rather than held (by default GDAL may cache 5 % of the machine's
memory: a national raster's blocks whole, 1.2 x the raster more; measured the same speed)."""


def _copy_cog(src, path: Path) -> None:
    """An open raster as a COG at ``path`` (DEFLATE, overviews, tiles of
    :func:`_cog_blocksize`; nearest resampling for integer rasters, average for floats)."""
    block = _cog_blocksize(src.shape)
    resampling = "NEAREST" if np.dtype(src.dtypes[0]).kind in "iub" else "AVERAGE"
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS", GDAL_CACHEMAX=COG_CACHE_MB):
        rio_copy(src, str(path), driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=block,
                 OVERVIEWS="IGNORE_EXISTING", RESAMPLING=resampling,
                 OVERVIEW_RESAMPLING=resampling, PREDICTOR="YES", BIGTIFF="IF_SAFER")


def _write_cog_to(path: Path, array, grid=None, nodata=None, tags: dict | None = None,
                  description: str | None = None) -> None:
    """Write a COG at ``path``: of a whole array (on ``grid``, with ``nodata``, tags and band
    description), or of the rows a :class:`RowRaster` has written (its own georeferencing,
    tags and description)."""
    if isinstance(array, RowRaster):
        with rasterio.open(array.rows_path) as src:
            _copy_cog(src, path)
        return
    arr = np.asarray(array)
    with MemoryFile() as mem:
        with mem.open(**_raster_profile(arr.shape, arr.dtype, grid, nodata)) as ds:
            ds.write(arr, 1)
            _label(ds, tags, description)
        with mem.open() as src:
            _copy_cog(src, path)


def _csv_float_text(values: np.ndarray) -> np.ndarray:
    """Floats as CSV text: the shortest decimal that reads back as the same value in the
    column's own precision (float64 or float32), never in exponent notation (``2738100.5``,
    not ``2.7381e+06``); whole numbers without a decimal point (``27971``, as before); NaN is
    empty."""
    text = np.empty(values.shape, dtype=object)
    for i, v in enumerate(values):
        text[i] = "" if v != v else np.format_float_positional(v, unique=True, trim="-")
    return text


CSV_ENCODING = "utf-8-sig"
"""Every CSV covkit writes is UTF-8 with a byte-order mark: Excel then reads it as UTF-8 (Chinese
names intact; without the mark it guesses the system code page, e.g. Big5 or cp1252).
pandas, GDAL/geopandas and Python's ``csv`` with ``encoding="utf-8-sig"`` skip the mark."""
CSV_CODES = ("plain", "excel")
"""How code cells are written (scenario key ``outputs.csv_codes``): ``"plain"`` text, or
``"excel"``: ``="09007010"``, a formula whose value is the text, so Excel keeps the leading zero
(it turns a plain ``09007010`` into the number 9007010). Other readers see the ``="..."``;
:func:`covkit.runfolder.read_csv_table` strips it."""
EXCEL_TEXT_MAX = 255
"""Longest text an Excel formula's string literal holds; longer codes stay plain."""
is_code_column = F.is_code_column


def excel_text(value: str) -> str:
    """A code as Excel formula text: ``09007010`` -> ``="09007010"`` (quotes doubled inside);
    as it is when longer than :data:`EXCEL_TEXT_MAX` or empty."""
    if not value or len(value) > EXCEL_TEXT_MAX:
        return value
    return '="' + value.replace('"', '""') + '"'


def _excel_codes(col) -> np.ndarray:
    values = col.to_numpy(dtype=object)
    return np.array([excel_text(v) if isinstance(v, str) else v for v in values], dtype=object)


def _write_csv_to(path: Path, df, codes: str = "plain") -> None:
    """Write ``df`` without its index, UTF-8 with a byte-order mark (:data:`CSV_ENCODING`).
    Float columns keep full precision (coordinates, identifiers and KPIs read back exactly as
    the GeoPackage and JSON hold them). ``codes="excel"``: text cells of code columns
    (:func:`covkit.runfolder.is_code_column`) as ``="..."`` (:data:`CSV_CODES`)."""
    if codes not in CSV_CODES:
        raise ValueError(f"csv codes {codes!r}: choose from {', '.join(CSV_CODES)}")
    out = df.copy()
    for i, dtype in enumerate(out.dtypes):
        if isinstance(dtype, np.dtype) and dtype.kind == "f":
            out.isetitem(i, _csv_float_text(out.iloc[:, i].to_numpy()))
        elif codes == "excel" and is_code_column(out.columns[i]) and (
                pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
            out.isetitem(i, _excel_codes(out.iloc[:, i]))
    out.to_csv(path, index=False, lineterminator="\n", encoding=CSV_ENCODING)


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return _clean_float(float(o))
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean_float(v: float):
    return None if not math.isfinite(v) else v


def _clean(obj):
    """NaN/inf -> null (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return _clean_float(float(obj))
    return obj


def _write_json_to(path: Path, obj) -> None:
    text = json.dumps(_clean(obj), indent=2, default=_json_default, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _write_gpkg_to(path: Path, gdf, layer: str) -> None:
    gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")


def _write_geoparquet_to(path: Path, gdf) -> None:
    gdf.to_parquet(path, index=False, compression="zstd")


# ----------------------------------------------------------------------------------------------
# atomic single-file writers


def write_cog(path, array, grid, nodata, tags=None, description=None) -> Path:
    """Write a single-band Cloud-Optimized GeoTIFF (DEFLATE, tiled, overviews) atomically.

    Parameters
    ----------
    path : path
        Destination ``.tif``.
    array : 2-D array on ``grid`` (its dtype is kept)
    grid : covkit.data.grid.Grid
    nodata : number
        Nodata value (NaN allowed for floats).
    tags : dict, optional
        GeoTIFF metadata tags.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        _write_cog_to(tmp, array, grid, nodata, tags, description)
    return path


def write_csv(path, df, codes: str = "plain") -> Path:
    """Write a DataFrame as CSV (no index, UTF-8 with a byte-order mark) atomically;
    ``codes``: see :data:`CSV_CODES`."""
    path = Path(path)
    with atomic_path(path) as tmp:
        _write_csv_to(tmp, df, codes)
    return path


def write_json(path, obj) -> Path:
    """Write strict JSON (NaN -> null) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        _write_json_to(tmp, obj)
    return path


def write_gpkg(path, gdf, layer: str) -> Path:
    """Write a GeoDataFrame to a GeoPackage atomically (replacing any existing file)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        _write_gpkg_to(tmp, gdf, layer)
    return path


# ----------------------------------------------------------------------------------------------
# the output set of a run, committed whole

LOCK_NAME = ".covkit.lock"
"""Lock file of a run folder (holds the pid of the run writing into it)."""
JOURNAL_NAME = ".covkit-journal.json"
"""Journal of a commit in progress: what was moved aside and what is being moved in."""
STAGE_PREFIX = ".covkit-stage-"
OLD_PREFIX = ".covkit-old-"
_TMP_RE = re.compile(r"^\..*\.[0-9a-f]{12}\.tmp(\.[^/]*)?$")


class OutputError(CovkitError):
    """Writing a run's outputs failed (disk full, I/O error, folder in use); the folder keeps
    its earlier complete output set."""


class OutputFolderBusy(OutputError):
    """Another covkit run holds the lock of the output folder.

    Attributes
    ----------
    folder : str
        The output folder.
    pid : int or None
        Process id of the run holding the lock (None when it could not be read).
    """

    def __init__(self, folder: Path, pid: int | None, lock: Path):
        self.folder = str(folder)
        self.pid = pid
        who = f"pid {pid}" if pid is not None else "pid unknown"
        super().__init__(
            f"output folder {folder} is in use by another covkit run ({who}, lock file "
            f"{lock}); wait for it to finish or choose another output folder")


def _out_of_space(exc: BaseException, where: Path) -> bool:
    """True when ``exc`` (or an error it was raised from) is ENOSPC, or GDAL's message for it,
    or the disk of ``where`` is (nearly) full after the failure."""
    seen = 0
    e: BaseException | None = exc
    while e is not None and seen < 10:
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
            return True
        if "no space left on device" in str(e).lower():
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    try:
        return shutil.disk_usage(where).free < (1 << 20)
    except OSError:
        return False


def _remove_any(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_json_durably(path: Path, obj) -> None:
    tmp = _tmp_name(path)
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(obj, indent=1) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def previous_outputs(out_dir: Path | str) -> list[str]:
    """The files of the folder's committed coverage set (the ``outputs`` list of its
    ``kpi_summary.json``; ``[]`` without)."""
    try:
        data = json.loads((Path(out_dir) / F.KPI_SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = data.get("outputs") if isinstance(data, dict) else None
    return [n for n in names if _plain_name(n)] if isinstance(names, list) else []


def _plain_name(name) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and \
        "\\" not in name


# --- lock ---------------------------------------------------------------------------------

_HELD: dict[str, list] = {}
"""Locks this process holds: resolved folder -> [lock, depth] (a nested commit into the same
folder reuses the lock)."""


def _read_pid(path: Path) -> int | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class _FolderLock:
    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / LOCK_NAME
        self.fd: int | None = None

    def _stamp(self) -> bytes:
        return json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "since": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
                          ).encode()

    def acquire(self) -> None:
        if fcntl is None:  # pragma: no cover - Windows: exclusive create + pid check
            self._acquire_excl()
            return
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise OutputFolderBusy(self.folder, _read_pid(self.path),
                                           self.path) from None
                raise
            try:  # the previous holder may have removed the file between open and flock
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        previous = os.read(fd, 4096)
        if previous.strip():
            try:
                pid = int(json.loads(previous)["pid"])
            except (ValueError, KeyError, TypeError):
                pid = None
            warnings.warn(f"took over the stale lock {self.path} of covkit run "
                          f"{'pid ' + str(pid) if pid is not None else '(pid unknown)'}, "
                          "which is no longer running", stacklevel=4)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, self._stamp())
        self.fd = fd

    def _acquire_excl(self) -> None:  # pragma: no cover - Windows
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                pid = _read_pid(self.path)
                if pid is None or _pid_alive(pid):
                    raise OutputFolderBusy(self.folder, pid, self.path) from None
                warnings.warn(f"took over the stale lock {self.path} of covkit run pid {pid}, "
                              "which is no longer running", stacklevel=4)
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                continue
            os.write(fd, self._stamp())
            self.fd = fd
            return
        raise OutputFolderBusy(self.folder, _read_pid(self.path), self.path)

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self.fd)
        self.fd = None


@contextmanager
def folder_lock(out_dir: Path | str, *, repair: bool = True,
                tidy_new_folder: bool = False) -> Iterator[Path]:
    """Hold the lock of a run folder (created if missing) and repair what an interrupted run
    left there (:func:`repair_folder`, unless ``repair`` is False); re-entrant within one
    process. ``tidy_new_folder``: remove the folder again when this call created it and it is
    empty at the end (a run refused for bad input leaves nothing behind).

    Raises
    ------
    OutputFolderBusy
        When another process holds the lock.
    """
    folder = Path(out_dir)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    key = str(folder.resolve())
    held = _HELD.get(key)
    if held is not None:
        held[1] += 1
        try:
            yield folder
        finally:
            held[1] -= 1
        return
    lock = _FolderLock(folder)
    lock.acquire()
    _HELD[key] = [lock, 1]
    try:
        if repair:
            repair_folder(folder, _locked=True)
        yield folder
    finally:
        del _HELD[key]
        lock.release()
        if created and tidy_new_folder:
            with contextlib.suppress(OSError):
                folder.rmdir()


def _rollback(out: Path, journal: dict) -> None:
    stage = out / str(journal["stage"])
    old_dir = out / str(journal["old_dir"])
    for name in journal["new"]:  # staged names no longer in the stage were moved in: undo
        if _plain_name(name) and not os.path.lexists(stage / name) and \
                os.path.lexists(out / name):
            _remove_any(out / name)
    for name in journal["old"]:
        if _plain_name(name) and os.path.lexists(old_dir / name):
            os.replace(old_dir / name, out / name)
    _fsync_dir(out)
    (out / JOURNAL_NAME).unlink()
    _remove_any(stage)
    _remove_any(old_dir)


def repair_folder(out_dir: Path | str, *, _locked: bool = False) -> list[str]:
    """Put a run folder back in order after an interrupted run: roll an unfinished commit back
    from its journal (the earlier complete set returns), delete staging folders, moved-aside
    sets and temporary files. Returns what was done (empty when nothing was needed).

    Takes the folder's lock unless called under it.
    """
    folder = Path(out_dir)
    if not _locked:
        with folder_lock(folder, repair=False):
            return repair_folder(folder, _locked=True)
    done: list[str] = []
    jpath = folder / JOURNAL_NAME
    if jpath.exists():
        try:
            journal = json.loads(jpath.read_text(encoding="utf-8"))
            journal["stage"], journal["old_dir"], journal["new"], journal["old"]  # noqa: B018
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise OutputError(f"cannot read the journal {jpath} of an interrupted run ({exc}); "
                              "move the folder aside and run again") from None
        _rollback(folder, journal)
        done.append("rolled back an interrupted commit (the earlier outputs are back)")
        warnings.warn(f"{folder}: an earlier run was interrupted while putting its outputs in "
                      "place; its changes were rolled back", stacklevel=3)
    dirs = [folder] + [folder / n for n in (F.MAP_LIB_DIR,) if (folder / n).is_dir()]
    for entry in list(folder.iterdir()):
        name = entry.name
        if name.startswith((STAGE_PREFIX, OLD_PREFIX)) or _TMP_RE.match(name):
            _remove_any(entry)
            done.append(f"removed {name}")
    for d in dirs[1:]:
        for root, _, names in os.walk(d):
            for name in names:
                if _TMP_RE.match(name):
                    _remove_any(Path(root) / name)
                    done.append(f"removed {Path(root, name).relative_to(folder)}")
    return done


# --- the commit ---------------------------------------------------------------------------


class RowRaster:
    """A raster of a run's output set written band of rows by band of rows as they are
    computed, so the whole raster is never held in memory.

    The rows go into an uncompressed, striped GeoTIFF hidden in the stage (opened for each
    band, so GDAL keeps no block of it cached between bands); :meth:`finish` makes the COG
    ``name`` of it (the same COG as :meth:`RunCommit.cog` of the whole array) and removes the
    striped file. :meth:`read` reads the whole raster back from wherever it is: the striped
    file, the staged COG or, once the set is committed, the COG in the run folder.

    Parameters
    ----------
    commit : RunCommit
    name : str
        File name of the COG in the run folder.
    grid : covkit.data.grid.Grid
    dtype, nodata
        Element type and nodata value.
    tags, description
        Dataset tags and band description, as for :meth:`RunCommit.cog`.
    """

    def __init__(self, commit: RunCommit, name: str, grid, dtype, nodata, tags=None,
                 description=None):
        if not _plain_name(name):
            raise ValueError(f"not a plain file name: {name!r}")
        self.commit = commit
        self.name = name
        self.shape = (int(grid.height), int(grid.width))
        self.dtype = np.dtype(dtype)
        self.rows_path = commit.stage / f".rows.{name}"
        self.done = False
        profile = _raster_profile(self.shape, self.dtype, grid, nodata)
        with commit.writing(name), rasterio.open(self.rows_path, "w", **profile,
                                                 tiled=False, SPARSE_OK="TRUE",
                                                 BIGTIFF="IF_SAFER") as ds:
            _label(ds, tags, description)

    def write(self, row0: int, values: np.ndarray) -> None:
        """Rows ``row0 : row0 + len(values)`` (the raster's full width)."""
        values = np.asarray(values, dtype=self.dtype)
        window = rasterio.windows.Window(0, int(row0), self.shape[1], values.shape[0])
        with self.commit.writing(self.name), rasterio.open(self.rows_path, "r+") as ds:
            ds.write(values, 1, window=window)

    def finish(self) -> Path:
        """Make the COG of the rows written (its place in the set comes now); returns its
        final path in the run folder."""
        with self.commit.writing(self.name):
            _write_cog_to(self.commit.path(self.name), self)
            _remove(self.rows_path)
            self._identity = _file_identity(self.commit.path(self.name))
        self.done = True
        return self.commit.out_dir / self.name

    @property
    def path(self) -> Path:
        """Where the raster is now."""
        if not self.done:
            return self.rows_path
        if self.commit.committed:
            return self.commit.out_dir / self.name
        return self.commit.stage / self.name

    def read(self) -> np.ndarray:
        """The whole raster (from :attr:`path`).

        Raises
        ------
        OutputError
            When the COG is no longer this run's: the set was rolled back, or the file was
            removed or replaced since (e.g. by a later run into the same folder).
        """
        path = self.path
        if self.done and _file_identity(path) != self._identity:
            raise OutputError(
                f"{path} is no longer the raster this run wrote (removed, or replaced by a "
                "later run into the same folder); read the rasters before another run "
                "writes there, or run without an output folder to hold them in memory")
        with rasterio.open(path) as src:
            return src.read(1)


def _file_identity(path: Path):
    """(inode, size, modification time) of a file, None when there is none: a rename keeps
    it, a rewrite or a replacement changes it."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class RunCommit:
    """The output set of one run: staged in a private folder, made visible at once.

    Use as a context manager::

        with RunCommit(out_dir, replaces=runfolder.COVERAGE_RASTERS) as out:
            out.cog("rsrp_best.tif", arr, grid, nodata=np.nan)
            out.csv("kpi_townships.csv", df)
        # the staged files are in place here, and replaced names not written this time gone;
        # on an exception the folder is as it was

    Parameters
    ----------
    out_dir : path
        The run folder (created if missing).
    replaces : iterable of str
        Names (files or folders directly in ``out_dir``) that belong to this kind of set: those
        not written this time are removed at the commit, so no stale file of an earlier run
        stays beside the new ones.
    tidy_new_folder : bool
        Remove ``out_dir`` again when this run created it and it is empty at the end.
    replace_previous : bool
        Also remove every file of the previous committed coverage set (the ``outputs`` list of
        its ``kpi_summary.json``) that this one does not write: the commit of a whole run.

    Raises
    ------
    OutputFolderBusy
        On entry, when another run holds the folder's lock.
    OutputError
        When the disk is full while writing (the message names the file and the folder), or the
        staged files cannot be put in place (the earlier set is kept).
    """

    def __init__(self, out_dir: Path | str, *, replaces: Iterable[str] = (),
                 replace_previous: bool = False, tidy_new_folder: bool = False):
        self.out_dir = Path(out_dir)
        self.tidy_new_folder = tidy_new_folder
        self.replaces = [n for n in replaces if _plain_name(n)]
        self.replace_previous = replace_previous
        self.id = uuid.uuid4().hex[:12]
        self.stage = self.out_dir / f"{STAGE_PREFIX}{self.id}"
        self.committed = False
        self._names: list[str] = []
        self._lock = None

    def __enter__(self) -> RunCommit:
        self._lock = folder_lock(self.out_dir, tidy_new_folder=self.tidy_new_folder)
        self._lock.__enter__()
        try:
            with self.writing(self.stage.name):
                self.stage.mkdir()
        except BaseException as exc:
            self._lock.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    # --- writing into the stage

    def path(self, name: str) -> Path:
        """Where to write ``name`` (a file or folder directly in ``out_dir``) in the stage; the
        name becomes part of the set."""
        if not _plain_name(name):
            raise ValueError(f"not a plain file name: {name!r}")
        if name not in self._names:
            self._names.append(name)
        return self.stage / name

    @contextmanager
    def writing(self, name: str):
        """Report out-of-space while writing ``name`` as :class:`OutputError`."""
        try:
            yield
        except OutputError:
            raise
        except Exception as exc:
            if _out_of_space(exc, self.out_dir):
                raise OutputError(
                    f"no space left on device while writing {name} into {self.out_dir}; the "
                    "earlier outputs there are kept") from exc
            raise

    def cog(self, name, array, grid, nodata, tags=None, description=None) -> Path:
        with self.writing(name):
            _write_cog_to(self.path(name), array, grid, nodata, tags, description)
        return self.out_dir / name

    def row_raster(self, name, grid, dtype, nodata, tags=None, description=None) -> RowRaster:
        """A raster of the set written band of rows by band of rows (:class:`RowRaster`);
        it joins the set when :meth:`RowRaster.finish` makes it a COG."""
        return RowRaster(self, name, grid, dtype, nodata, tags, description)

    def csv(self, name, df, codes: str = "plain") -> Path:
        with self.writing(name):
            _write_csv_to(self.path(name), df, codes)
        return self.out_dir / name

    def json(self, name, obj) -> Path:
        with self.writing(name):
            _write_json_to(self.path(name), obj)
        return self.out_dir / name

    def gpkg(self, name, gdf, layer: str) -> Path:
        with self.writing(name):
            _write_gpkg_to(self.path(name), gdf, layer)
        return self.out_dir / name

    def bytes(self, name, data: bytes) -> Path:
        with self.writing(name):
            self.path(name).write_bytes(data)
        return self.out_dir / name

    def geoparquet(self, name, gdf) -> Path:
        with self.writing(name):
            _write_geoparquet_to(self.path(name), gdf)
        return self.out_dir / name

    @property
    def files(self) -> list[Path]:
        """The files of the set, under their final names in ``out_dir``."""
        return [self.out_dir / n for n in self._names]

    # --- committing

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._commit()
        finally:
            if not (self.out_dir / JOURNAL_NAME).exists():
                _remove_any(self.stage)
            self._lock.__exit__(None, None, None)

    def _commit(self) -> None:
        out = self.out_dir
        replaced = set(self.replaces)
        if self.replace_previous:
            replaced |= set(previous_outputs(out))
        new = list(self._names)
        old = [n for n in sorted(replaced | set(new)) if os.path.lexists(out / n)]
        old += [n + ".aux.xml" for n in list(old) if os.path.lexists(out / (n + ".aux.xml"))
                and n + ".aux.xml" not in old]
        old_dir = out / f"{OLD_PREFIX}{self.id}"
        journal = {"stage": self.stage.name, "old_dir": old_dir.name, "new": new, "old": old}
        try:
            _write_json_durably(out / JOURNAL_NAME, journal)
            old_dir.mkdir()
            for name in old:
                os.replace(out / name, old_dir / name)
            for name in new:
                os.replace(self.stage / name, out / name)
            _fsync_dir(out)
            (out / JOURNAL_NAME).unlink()  # the commit point
        except BaseException as exc:
            with contextlib.suppress(Exception):  # else the next run rolls back from the journal
                _rollback(out, journal)
            if not isinstance(exc, Exception):
                raise
            if _out_of_space(exc, out):
                raise OutputError(f"no space left on device while putting the new outputs in "
                                  f"place in {out}; the earlier outputs there are kept") from exc
            raise OutputError(f"could not put the new outputs in place in {out} ({exc}); the "
                              "earlier outputs there are kept") from exc
        self.committed = True
        _remove_any(old_dir)


StagedOutputs = RunCommit
"""The earlier name of :class:`RunCommit` (a set of files committed together)."""
