"""The streaming fold (covkit.coverage.layers.compute_layers): one site-frequency group per
thread, windows folded north to south in a fixed order, per-operator and per-layer grids held
for bands of rows only. Its results must not depend on the thread count or the band height."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers.scenario import retuned_last_band

import covkit
from covkit.coverage.layers import compute_layers


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory):
    toml = covkit.write_demo(tmp_path_factory.mktemp("fold") / "demo")
    return covkit.load_inputs(toml)


def _grids(radio, layers):
    out = {"best": radio.best_dbm, "second": radio.second_dbm, "server": radio.server,
           "sinr": layers.sinr_db, "probability": layers.coverage_probability,
           "covered": layers.covered}
    out.update({f"covered {op}": g for op, g in layers.covered_by_operator.items()})
    if layers.throughput_dl_mbps is not None:
        out["throughput"] = layers.throughput_dl_mbps
    for op, tiers in layers.tier_covered_by_operator.items():
        out.update({f"tier {op} {t}": g for t, g in tiers.items()})
    return out


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key], equal_nan=a[key].dtype.kind == "f"), key


def test_same_grids_for_every_thread_count(demo_inputs):
    radio1, layers1 = compute_layers(demo_inputs, n_threads=1)
    assert radio1.n_groups > 10 and radio1.pixel_evaluations > 0
    assert np.isfinite(radio1.best_dbm).sum() > 1000
    one = _grids(radio1, layers1)
    for n in (2, 3):
        _assert_same(one, _grids(*compute_layers(demo_inputs, n_threads=n)))


def test_bands_give_the_grids_of_one_whole_grid_band(demo_inputs):
    """Bands one footprint window high (the least) against one band as high as the grid,
    which holds every fold grid for the whole grid as before the streaming fold."""
    h = demo_inputs.grid.height
    radio_b, layers_b = compute_layers(demo_inputs, band_rows=1, operator_grids=True)
    radio_w, layers_w = compute_layers(demo_inputs, band_rows=h, operator_grids=True)
    # the demo's windows are shorter than its grid: several bands
    window_rows = 2 * demo_inputs.scenario.propagation.max_radius_km * 1000.0 / \
        demo_inputs.grid.resolution_m
    assert h > 1.5 * window_rows
    _assert_same(_grids(radio_b, layers_b), _grids(radio_w, layers_w))
    assert np.array_equal(radio_b.op_best_dbm, radio_w.op_best_dbm, equal_nan=True)


def test_per_operator_grids_only_when_asked(demo_inputs):
    radio, _ = compute_layers(demo_inputs)
    assert radio.op_best_dbm is None
    radio, _ = compute_layers(demo_inputs, operator_grids=True)
    assert radio.op_best_dbm.shape == (len(radio.operators), *demo_inputs.grid.shape)
    # the best over operators is the best RSRP
    best = np.nanmax(radio.op_best_dbm, axis=0)
    assert np.array_equal(best, radio.best_dbm, equal_nan=True)


def test_a_failing_site_names_its_station_row(demo_inputs):
    """An engine error in a worker thread reaches the caller with the station and its row."""
    st = demo_inputs.stations
    table = st.table.copy()
    table.loc[table.index[0], "freq_mhz"] = 6500.0  # above P.1812's 6 GHz
    bad = dataclasses.replace(demo_inputs, stations=dataclasses.replace(st, table=table))
    with pytest.raises(covkit.CovkitInputError) as err:
        compute_layers(bad, n_threads=2)
    assert repr(str(table["station_id"].iloc[0])) in str(err.value)


def test_a_failing_band_of_a_shared_sweep_names_its_own_station(demo_inputs):
    """A site's carriers share one engine call: when it fails, the error names the station of
    the carrier that fails alone (here the site's last), not the site's first station."""
    bad, station = retuned_last_band(demo_inputs, 6500.0)  # above P.1812's 6 GHz
    with pytest.raises(covkit.CovkitInputError, match="6500") as err:
        compute_layers(bad, n_threads=2)
    assert f"station {station!r}" in str(err.value)
