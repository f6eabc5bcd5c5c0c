"""Runs on a Dask cluster (covkit.coverage.distributed, ``covkit run --dask``): the same
rasters and KPI tables as on one machine, also when a worker process is killed mid-run; a
scheduler that cannot be reached or a missing dask.distributed is a one-line error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.scenario import retuned_last_band

import covkit
from covkit.coverage import distributed as D
from covkit.coverage.files import StreamedRasters, covered_u8
from covkit.coverage.layers import compute_layers, plan_fold
from covkit.errors import CovkitError
from covkit.outputs import RunCommit

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                                        "(pip install 'covkit[dask]')")

ROOT = Path(__file__).resolve().parents[1]
RESOLUTION_M = 200.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    toml = covkit.write_demo(tmp_path_factory.mktemp("dask") / "scenario")
    scenario = covkit.load_scenario(toml).replace(scenario={"resolution_m": RESOLUTION_M})
    return toml, scenario, covkit.load_inputs(scenario)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def local_layers(demo):
    return compute_layers(demo[2], operator_grids=True)


def assert_same_layers(local, remote):
    (r1, c1), (r2, c2) = local, remote
    for name in ("best_dbm", "second_dbm", "server", "op_best_dbm"):
        np.testing.assert_array_equal(getattr(r1, name), getattr(r2, name), err_msg=name)
    assert r1.pixel_evaluations == r2.pixel_evaluations > 0
    assert r1.n_groups == r2.n_groups
    both = np.isfinite(c1.sinr_db)
    np.testing.assert_array_equal(both, np.isfinite(c2.sinr_db))
    assert np.max(np.abs(c1.sinr_db[both] - c2.sinr_db[both])) <= 1e-6
    np.testing.assert_array_equal(c1.covered, c2.covered)
    for op in c1.covered_by_operator:
        np.testing.assert_array_equal(c1.covered_by_operator[op], c2.covered_by_operator[op])
    np.testing.assert_allclose(c1.throughput_dl_mbps, c2.throughput_dl_mbps, rtol=0,
                               atol=1e-4, equal_nan=True)


@pytest.mark.parametrize("batch_rows", [1, 7, None])
def test_same_layers_as_one_machine(demo, client, local_layers, batch_rows):
    remote = D.compute_layers_distributed(demo[2], client, operator_grids=True,
                                          batch_rows=batch_rows)
    assert_same_layers(local_layers, remote)


def test_batches_cover_every_group_once_in_order(demo):
    plan = plan_fold(demo[2])
    batches = D.batches_of(plan, 3)
    assert len(batches) > 10
    firsts = [b.first for b in batches]
    sizes = [b.sites.size for b in batches]
    assert firsts == list(np.cumsum([0] + sizes[:-1]))
    assert sum(sizes) == len(plan.groups)
    for b in batches:
        assert b.row0.max() - b.row0.min() < 3
        for k, g in enumerate(plan.groups[b.first:b.first + b.sites.size]):
            assert (g.site, g.freq_mhz, g.row0) == (b.sites[k], b.freq_mhz[k], b.row0[k])


def test_run_with_a_client_gives_the_same_kpi_tables(demo, client):
    _, scenario, inputs = demo
    one = covkit.run(inputs)
    many = covkit.run(inputs, client=client)
    pd.testing.assert_frame_equal(pd.DataFrame(one.townships.drop(columns="geometry")),
                                  pd.DataFrame(many.townships.drop(columns="geometry")))
    keys = ("population_coverage_pct", "non_remote_population_coverage_pct",
            "population_covered", "cells_computed", "pixel_evaluations")
    assert {k: one.summary[k] for k in keys} == {k: many.summary[k] for k in keys}
    np.testing.assert_array_equal(one.rsrp_best_dbm, many.rsrp_best_dbm)


def test_a_worker_killed_mid_run_is_replaced_and_the_result_is_complete(demo, local_layers):
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    try:
        pids = c.run(os.getpid)
        assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
        killed = []

        def kill_one(n_merged, n_batches):
            if n_merged == 2 and not killed:
                pid = sorted(pids.values())[0]
                os.kill(pid, signal.SIGKILL)
                killed.append((pid, n_batches))

        remote = D.compute_layers_distributed(demo[2], c, operator_grids=True, batch_rows=1,
                                              in_flight=4, on_merged=kill_one)
        assert killed and killed[0][1] > 10  # killed with most batches still to come
        assert_same_layers(local_layers, remote)
        after = set(c.run(os.getpid).values())
        assert killed[0][0] not in after
    finally:
        c.close()
        cluster.close()


def test_a_failing_band_of_a_shared_sweep_names_its_own_station(demo, client):
    bad, station = retuned_last_band(demo[2], 6500.0)  # above P.1812's 6 GHz
    with pytest.raises(covkit.CovkitInputError, match="6500") as err:
        D.compute_layers_distributed(bad, client)
    assert f"station {station!r}" in str(err.value)


def test_unreachable_scheduler_is_one_line_naming_the_address():
    with pytest.raises(CovkitError) as info:
        D.connect("tcp://127.0.0.1:9", timeout_s=1.0)
    msg = str(info.value)
    assert "tcp://127.0.0.1:9" in msg and "cannot reach a Dask scheduler" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("address", ["local:0", "local:x"])
def test_bad_local_cluster_size(address):
    with pytest.raises(CovkitError, match="local:N needs a number of workers"):
        D.connect(address)


def test_without_distributed_the_message_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(CovkitError, match=r"pip install 'covkit\[dask\]'"):
        D.import_distributed()


def test_cli_dask_local_writes_the_same_summary(demo, tmp_path):
    toml = demo[0]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    outs = {}
    for label, extra in (("one", []), ("dask", ["--dask", "local:2"])):
        out = tmp_path / label
        proc = subprocess.run([sys.executable, "-m", "covkit", "-q", "run", str(toml), "--out",
                               str(out), "--no-map", "--json", *extra], cwd=tmp_path,
                              capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs[label] = json.loads((out / "kpi_summary.json").read_text(encoding="utf-8"))
        assert json.loads(proc.stdout)["population_coverage_pct"] == \
            outs[label]["population_coverage_pct"]
    for key in ("population_coverage_pct", "non_remote_population_coverage_pct",
                "population_covered", "cells_computed", "pixel_evaluations", "operators"):
        assert outs["one"][key] == outs["dask"][key], key


def test_cli_unreachable_scheduler_exits_2_with_one_line(demo, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "covkit", "run", str(demo[0]), "--out",
                           str(tmp_path / "o"), "--no-map", "--dask", "tcp://127.0.0.1:9"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "tcp://127.0.0.1:9" in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o" / "kpi_summary.json").exists()


def test_site_proposals_with_a_client_are_the_same(demo, client):
    _, scenario, inputs = demo
    before = covkit.run(inputs)
    one = covkit.propose_sites(before, budget_sites=3)
    many = covkit.propose_sites(before, budget_sites=3, client=client)
    assert len(one.proposed) == 3
    pd.testing.assert_frame_equal(pd.DataFrame(one.proposed.drop(columns="geometry")),
                                  pd.DataFrame(many.proposed.drop(columns="geometry")))
    for key in ("population_coverage_pct", "population_covered",
                "non_remote_population_coverage_pct"):
        assert one.kpi_after[key] == many.kpi_after[key], key


def test_verify_with_a_client_is_the_same(demo, client, tmp_path):
    _, scenario, inputs = demo
    field = covkit.api.synthetic_measurements(inputs, seed=2, n_route=80, n_random=40,
                                              offsets_db=2.0, noise_db=1.0)
    one = covkit.verify(inputs, field.table)
    many = covkit.verify(inputs, field.table, client=client)
    for key in ("n_points", "mean_error_db", "rmse_db", "reliability_share"):
        assert one.summary[key] == many.summary[key], key
    np.testing.assert_array_equal(one.points["rsrp_raster_dbm"].to_numpy(),
                                  many.points["rsrp_raster_dbm"].to_numpy())


def test_cli_calibrate_with_dask_fits_the_same(demo, tmp_path):
    toml, _, inputs = demo
    meas = tmp_path / "drive.csv"
    covkit.api.synthetic_measurements(inputs, out=meas, seed=3, n_route=300, n_random=300,
                                      offsets_db={"flat": 3.0, "hilly": -1.0}, sigma_db=3.0)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    fits = {}
    for label, extra in (("one", []), ("dask", ["--dask", "local:2"])):
        out = tmp_path / label
        proc = subprocess.run([sys.executable, "-m", "covkit", "-q", "calibrate", str(toml),
                               "--measurements", str(meas), "--out", str(out), "--json",
                               *extra], capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        fits[label] = json.loads((out / "calibration_summary.json").read_text())
    for key in ("offsets_db", "distance_slope_db_per_decade", "sigma_db", "n_per_class"):
        assert fits["one"][key] == fits["dask"][key], key


def test_kpi_sums_the_same_as_one_machine(demo, client, local_layers):
    """The KPI sums the Dask merge adds band by band, without per-operator grids: those of
    one machine, bit for bit."""
    radio, layers = D.compute_layers_distributed(demo[2], client, batch_rows=7)
    assert layers.covered_by_operator == {} and radio.op_best_dbm is None
    mine, theirs = local_layers[1].sums, layers.sums
    for key in mine.national_keys:
        np.testing.assert_array_equal(theirs.rows[key], mine.rows[key], err_msg=str(key))
    for key in mine.township_keys:
        np.testing.assert_array_equal(theirs.township(key), mine.township(key),
                                      err_msg=str(key))
    assert theirs.kept(("covered",)) > 0


def test_rasters_written_band_by_band_as_on_one_machine(demo, client, local_layers, tmp_path):
    """The Dask merge hands the closed bands' rows to the files of a run folder
    (covkit.coverage.files.StreamedRasters) as one machine does: the same values, no raster
    held."""
    radio_l, layers_l = local_layers
    want = {"rsrp_best_dbm": radio_l.best_dbm, "rsrp_second_dbm": radio_l.second_dbm,
            "best_server": radio_l.server,
            "covered": covered_u8(layers_l.covered, np.isfinite(radio_l.best_dbm))}
    with RunCommit(tmp_path / "out") as out:
        rows = StreamedRasters(out, demo[2].grid, "s", throughput=True)
        radio, layers = D.compute_layers_distributed(demo[2], client, batch_rows=7, rows=rows)
        assert radio.best_dbm is None and layers.sinr_db is None
        assert radio.cells_computed == int(np.isfinite(radio_l.best_dbm).sum())
        for attr, grid in want.items():
            np.testing.assert_array_equal(rows.files[attr].read(), grid, err_msg=attr)
        sinr = rows.files["sinr_db"].read()
        both = np.isfinite(layers_l.sinr_db)
        np.testing.assert_array_equal(np.isfinite(sinr), both)
        assert np.max(np.abs(sinr[both] - layers_l.sinr_db[both])) <= 1e-6
