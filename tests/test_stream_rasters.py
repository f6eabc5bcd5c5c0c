"""Result rasters written band by band (covkit.coverage.files.StreamedRasters): a run with an
output folder writes each closed band's rows of its rasters into the folder's output set as
the fold goes, holds none of the float rasters for the whole grid, makes the same COGs as a
run that holds them (values, tags, band descriptions) and reads them back on first access.

Reference: the same run without an output folder (every raster held, written from arrays).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import rasterio
from helpers.scenario import coarse_demo_inputs

import covkit
from covkit import runfolder as F
from covkit.coverage.files import RASTERS, StreamedRasters, covered_u8
from covkit.coverage.layers import compute_layers, plan_fold
from covkit.outputs import OutputError, RowRaster, RunCommit

RESOLUTION_M = 200.0


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory):
    return coarse_demo_inputs(tmp_path_factory.mktemp("stream"), RESOLUTION_M)


@pytest.fixture(scope="module")
def held(demo_inputs):
    """The run without an output folder: every raster held."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return covkit.run(demo_inputs)


def _expected(result) -> dict[str, np.ndarray]:
    out = {attr: getattr(result, attr) for attr, *_ in RASTERS if attr != "covered"}
    out["covered"] = covered_u8(result.covered, np.isfinite(result.rsrp_best_dbm))
    return out


def _read(path):
    with rasterio.open(path) as src:
        return src.read(1), src.tags(), src.descriptions, src.nodata, src.dtypes[0]


def test_streamed_run_writes_the_same_cogs_and_reads_them_back(demo_inputs, held, tmp_path):
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = covkit.run(demo_inputs, out_dir=out)
    ref = tmp_path / "ref"
    held.write(ref)  # the same result written from whole arrays
    assert held.throughput_dl_mbps is not None
    want = _expected(held)
    # nothing held yet: the rasters are in the run folder
    assert res.rasters == {} and set(res.raster_files) == set(want)
    for raster in res.raster_files.values():
        assert isinstance(raster, RowRaster) and raster.done
        assert raster.path == out / raster.name and raster.path.is_file()
    assert not [p for p in out.rglob(".rows.*")]  # no striped file left
    for attr, name, dtype, *_ in RASTERS:
        got, tags, desc, got_nodata, got_dtype = _read(out / name)
        ref_values, ref_tags, ref_desc, ref_nodata, _ = _read(ref / name)
        assert got_dtype == dtype and desc == ref_desc == (attr,), attr
        assert tags == ref_tags and tags["layer"] and tags["producer"] == "covkit run", attr
        assert np.array_equal(got, want[attr], equal_nan=True), attr
        assert np.array_equal(got, ref_values, equal_nan=True), attr
        assert got_nodata == ref_nodata or (np.isnan(got_nodata) and np.isnan(ref_nodata))
        with rasterio.open(out / name) as src:
            assert src.overviews(1) and src.profile.get("tiled")  # a COG with overviews
    # read back on first access, then held
    for attr, grid in want.items():
        if attr == "covered":
            continue
        assert np.array_equal(getattr(res, attr), grid, equal_nan=True), attr
        assert res.rasters[attr] is getattr(res, attr)
    np.testing.assert_array_equal(res.covered, held.covered)
    # the same figures and the same files in the same order
    for key in ("population_covered", "population_coverage_pct", "operators", "speed_tiers",
                "cells_computed", "counties"):  # NaN as NaN
        assert json.dumps(res.summary[key]) == json.dumps(held.summary[key]), key
    assert res.summary["outputs"] == held.summary["outputs"] == \
        [p.name for p in res.files]
    ds = res.to_xarray(operators=False)
    assert np.array_equal(ds.rsrp_best_dbm.values, want["rsrp_best_dbm"], equal_nan=True)


@pytest.mark.parametrize("band_rows", [1, 7, None])
def test_streamed_fold_holds_no_result_raster(demo_inputs, held, tmp_path, band_rows):
    """Bands of 1 and 7 rows and the default: the fold hands each band's rows to the files
    and returns no whole-grid raster but ``covered``; the files hold the held run's values."""
    want = _expected(held)
    with RunCommit(tmp_path / "out") as out:
        sink = StreamedRasters(out, demo_inputs.grid, "s", throughput=True)
        radio, layers = compute_layers(demo_inputs, band_rows=band_rows, rows=sink)
        assert radio.best_dbm is None and radio.second_dbm is None and radio.server is None
        assert layers.sinr_db is None and layers.coverage_probability is None
        assert layers.throughput_dl_mbps is None
        assert radio.cells_computed == int(np.isfinite(want["rsrp_best_dbm"]).sum()) > 0
        np.testing.assert_array_equal(layers.covered, held.covered)
        for attr, raster in sink.files.items():  # the striped files, before any COG
            assert not raster.done and raster.path.name.startswith(".rows.")
            assert np.array_equal(raster.read(), want[attr], equal_nan=True), attr
        for raster in sink.files.values():
            raster.finish()
        assert sorted(p.name for p in out.files) == sorted(r.name for r in sink.files.values())
    for attr, raster in sink.files.items():
        assert raster.path == tmp_path / "out" / raster.name
        assert np.array_equal(raster.read(), want[attr], equal_nan=True), attr


def test_default_fold_holds_whole_grids(demo_inputs):
    state = plan_fold(demo_inputs).state
    assert set(state.rows.grids) == {"rsrp_best_dbm", "rsrp_second_dbm", "best_server",
                                     "sinr_db", "coverage_probability", "throughput_dl_mbps"}


def test_a_failed_streamed_run_leaves_the_earlier_files(demo_inputs, tmp_path, monkeypatch):
    """A fold failing after some bands were written: the run folder keeps its earlier complete
    set, no striped file or stage is left."""
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        covkit.run(demo_inputs, out_dir=out)
    before = {p.name: p.read_bytes() for p in out.iterdir()
              if p.is_file() and not p.name.startswith(".")}
    calls = []
    real = StreamedRasters.put

    def put_then_fail(self, r0, r1, rows):
        calls.append(r0)
        if len(calls) > 2:
            raise RuntimeError("fold failed (simulated)")
        real(self, r0, r1, rows)

    monkeypatch.setattr(StreamedRasters, "put", put_then_fail)
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match="simulated"):
        warnings.simplefilter("ignore", UserWarning)
        covkit.run(demo_inputs, out_dir=out)
    assert len(calls) == 3
    after = {p.name: p.read_bytes() for p in out.iterdir()
             if p.is_file() and not p.name.startswith(".")}
    assert after == before
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.is_dir()]
    assert F.RSRP_BEST in after


def test_a_raster_replaced_by_a_later_run_is_not_read_as_this_runs(demo_inputs, tmp_path):
    """The rasters of a streamed run are read from its folder on first access; once another
    run has replaced them there, reading says so instead of returning the other run's values,
    while the rasters already read stay held."""
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        first = covkit.run(demo_inputs, out_dir=out)
        best = first.rsrp_best_dbm  # read now: held from here on
        covkit.run(demo_inputs, out_dir=out)  # the same folder again
    assert first.rsrp_best_dbm is best
    with pytest.raises(OutputError, match="no longer the raster this run wrote"):
        _ = first.sinr_db
