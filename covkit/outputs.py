"""Atomic output writers: Cloud-Optimized GeoTIFF, CSV, JSON, GeoPackage, GeoParquet.

Every writer writes to a temporary file in the destination folder and renames it into place
with :func:`os.replace` (atomic on POSIX and Windows within one file system), so a reader never
sees a half-written file under the final name. :class:`StagedOutputs` extends this to a set of
files: everything is written to temporary names first and renamed only when all writes
succeeded, so a failed run leaves no partial file under the output names.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import rasterio
from rasterio.io import MemoryFile
from rasterio.shutil import copy as rio_copy


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


def _write_cog_to(path: Path, array: np.ndarray, grid, nodata, tags: dict | None = None,
                  description: str | None = None) -> None:
    arr = np.asarray(array)
    profile = {"driver": "GTiff", "height": arr.shape[0], "width": arr.shape[1], "count": 1,
               "dtype": arr.dtype.name, "crs": grid.crs, "transform": grid.transform,
               "nodata": nodata}
    block = _cog_blocksize(arr.shape)
    resampling = "NEAREST" if arr.dtype.kind in "iub" else "AVERAGE"
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"), MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(arr, 1)
            if tags:
                ds.update_tags(**{k: str(v) for k, v in tags.items()})
            if description:
                ds.set_band_description(1, description)
        with mem.open() as src:
            rio_copy(src, str(path), driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=block,
                     OVERVIEWS="IGNORE_EXISTING", RESAMPLING=resampling,
                     OVERVIEW_RESAMPLING=resampling, PREDICTOR="YES",
                     BIGTIFF="IF_SAFER")


def _csv_float_text(values: np.ndarray) -> np.ndarray:
    """Floats as CSV text: the shortest decimal that reads back as the same value in the
    column's own precision (float64 or float32), never in exponent notation (``2738100.5``,
    not ``2.7381e+06``); whole numbers without a decimal point (``27971``, as before); NaN is
    empty."""
    text = np.empty(values.shape, dtype=object)
    for i, v in enumerate(values):
        text[i] = "" if v != v else np.format_float_positional(v, unique=True, trim="-")
    return text


def _write_csv_to(path: Path, df) -> None:
    """Write ``df`` without its index. Float columns keep full precision (coordinates,
    identifiers and KPIs read back exactly as the GeoPackage and JSON hold them)."""
    out = df.copy()
    for i, dtype in enumerate(out.dtypes):
        if isinstance(dtype, np.dtype) and dtype.kind == "f":
            out.isetitem(i, _csv_float_text(out.iloc[:, i].to_numpy()))
    out.to_csv(path, index=False, lineterminator="\n")


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


def write_csv(path, df) -> Path:
    """Write a DataFrame as CSV (no index) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        _write_csv_to(tmp, df)
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
# a set of files committed together


class StagedOutputs:
    """Write several output files to temporary names, then rename them all at once.

    Use as a context manager::

        with StagedOutputs(out_dir) as out:
            out.cog("rsrp_best.tif", arr, grid, nodata=np.nan)
            out.csv("kpi_townships.csv", df)
        # all files renamed into place here; on an exception none is

    Renames happen only after every write succeeded; on error every temporary file is deleted.
    """

    def __init__(self, out_dir: Path | str):
        self.out_dir = Path(out_dir)
        self._staged: list[tuple[Path, Path]] = []

    def __enter__(self) -> StagedOutputs:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return self

    def _tmp(self, name: str) -> tuple[Path, Path]:
        final = self.out_dir / name
        tmp = _tmp_name(final)
        self._staged.append((tmp, final))
        return tmp, final

    def cog(self, name, array, grid, nodata, tags=None, description=None) -> Path:
        tmp, final = self._tmp(name)
        _write_cog_to(tmp, array, grid, nodata, tags, description)
        return final

    def csv(self, name, df) -> Path:
        tmp, final = self._tmp(name)
        _write_csv_to(tmp, df)
        return final

    def json(self, name, obj) -> Path:
        tmp, final = self._tmp(name)
        _write_json_to(tmp, obj)
        return final

    def gpkg(self, name, gdf, layer: str) -> Path:
        tmp, final = self._tmp(name)
        _write_gpkg_to(tmp, gdf, layer)
        return final

    def geoparquet(self, name, gdf) -> Path:
        tmp, final = self._tmp(name)
        _write_geoparquet_to(tmp, gdf)
        return final

    @property
    def files(self) -> list[Path]:
        return [final for _, final in self._staged]

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                for tmp, final in self._staged:
                    os.replace(tmp, final)
            except BaseException:
                self._cleanup()
                raise
        else:
            self._cleanup()

    def _cleanup(self) -> None:
        for tmp, _ in self._staged:
            _remove(tmp)
