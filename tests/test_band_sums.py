"""KPI sums band by band (covkit.coverage.tally): as the fold closes each band of rows it adds
that band's people sums (covered by any operator and by each, speed tiers of any operator and
of each, per township through the cells' exact township shares, per village, the national
figures without the cells left out), so the KPIs need no whole-grid per-operator or per-tier
grid, and none is allocated unless asked (``operator_grids=True``).

References: the KPIs of whole-grid grids (a run with ``operator_grids=True``), summed in the
same fixed order (bit for bit), and summed the way the KPIs were summed before they went band
by band (one pairwise sum per township over its pairs, one over the whole grid: within 1e-12
relative).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from helpers.scenario import coarse_demo_inputs
from helpers.taiwan import village_scenario

import covkit
from covkit.coverage import kpi as K
from covkit.coverage import tally as T
from covkit.coverage.layers import compute_layers, plan_fold
from covkit.coverage.summary import compute_kpis, village_table
from covkit.data.fractions import ZoneParts, group_sums, sorted_parts

RESOLUTION_M = 200.0
SUMMATION_RTOL = 1e-12


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory):
    return coarse_demo_inputs(tmp_path_factory.mktemp("band_sums"), RESOLUTION_M)


@pytest.fixture(scope="module")
def whole(demo_inputs):
    """The fold with every per-operator and per-tier grid on the whole grid."""
    return compute_layers(demo_inputs, operator_grids=True)


def _assert_same_kpis(a, b):
    (df_a, s_a), (df_b, s_b) = a, b
    pd.testing.assert_frame_equal(df_a, df_b, check_exact=True)
    assert _same(s_a, s_b)


def _same(a, b) -> bool:
    """Equal, NaN equal to NaN, recursively."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        return all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    assert a == b, (a, b)
    return True


def _old_sums(inputs, layers):
    """The KPI sums as they were made before they went band by band, from whole-grid grids:
    one pairwise sum over each township's pairs, one over the whole grid."""
    pop = np.asarray(inputs.population, np.float64)
    tw = inputs.townships
    terrain = inputs.terrain
    keep = ~T.excluded_cells(tw, None if terrain is None else terrain.no_terrain)
    pop_kept = np.where(keep, pop, 0.0)
    masks = {T.COVERED: layers.covered}
    masks.update({T.covered_key(o): g for o, g in layers.covered_by_operator.items()})
    masks.update({T.tier_key(t): g for t, g in layers.tier_covered.items()})
    for o, tiers in layers.tier_covered_by_operator.items():
        masks.update({T.tier_key(t, o): g for t, g in tiers.items()})
    national = {k: float((pop_kept * m).sum()) for k, m in masks.items()}
    township = {k: tw.township_sums(pop * m)[0] for k, m in masks.items()
                if len(k) <= 2}
    township[T.POPULATION] = tw.township_sums(pop)[0]
    return national, township


def test_band_sums_equal_whole_grid_sums_for_every_band_height(demo_inputs, whole):
    radio_w, layers_w = whole
    ops = radio_w.operators
    assert len(ops) == 3 and layers_w.tier_covered  # the demo: 3 operators, speed tiers
    ref = T.CoverageSums.from_grids(demo_inputs, layers_w.covered, layers_w.covered_by_operator,
                                    layers_w.tier_covered, layers_w.tier_covered_by_operator)
    national, township = _old_sums(demo_inputs, layers_w)
    assert set(national) == set(ref.national_keys)
    assert national[T.COVERED] > 0 and all(national[T.covered_key(o)] > 0 for o in ops)
    # the fixed order against the sums as they were: rounding only
    for key, value in national.items():
        assert ref.kept(key) == pytest.approx(value, rel=SUMMATION_RTOL, abs=0), key
    for key, values in township.items():
        np.testing.assert_allclose(ref.township(key), values, rtol=SUMMATION_RTOL, atol=0,
                                   err_msg=str(key))
    h = demo_inputs.grid.height
    for band_rows in (1, 7, None):
        radio, layers = compute_layers(demo_inputs, band_rows=band_rows)
        state_rows = plan_fold(demo_inputs, band_rows=band_rows).state.band_rows
        assert state_rows < h  # several bands
        sums = layers.sums
        for key in ref.national_keys:
            np.testing.assert_array_equal(sums.rows[key], ref.rows[key], err_msg=str(key))
            assert sums.kept(key) == ref.kept(key)
        for key in ref.township_keys:
            np.testing.assert_array_equal(sums.township(key), ref.township(key),
                                          err_msg=str(key))
        # the KPI table and summary of band sums = those of the whole-grid grids
        whole_kpis = compute_kpis(demo_inputs, radio_w, dataclasses.replace(layers_w,
                                                                            sums=None))
        _assert_same_kpis(compute_kpis(demo_inputs, radio, layers), whole_kpis)


def test_kpis_from_band_sums_match_the_whole_grid_formulas(demo_inputs, whole):
    """The township table of the run against kpi.township_kpis on whole-grid grids (its
    summation as before), and the summary's figures against the whole-grid sums."""
    radio_w, layers_w = whole
    pop = np.asarray(demo_inputs.population, np.float64)
    df, summary = compute_kpis(demo_inputs, *compute_layers(demo_inputs))
    old = K.township_kpis(demo_inputs.townships, pop, layers_w.covered,
                          layers_w.covered_by_operator, df["households"].to_numpy(),
                          df["households_fibre_400m"].to_numpy(), None, layers_w.tier_covered)
    assert list(old.columns) == list(df.columns)
    for col in old.columns:
        if old[col].dtype.kind == "f":
            np.testing.assert_allclose(df[col], old[col], rtol=SUMMATION_RTOL, atol=1e-9,
                                       err_msg=col)
        else:
            assert df[col].equals(old[col]), col
    national, _ = _old_sums(demo_inputs, layers_w)
    base = summary["population_total"] - summary["population_not_computed"]
    assert summary["population_covered"] == pytest.approx(national[T.COVERED],
                                                          rel=SUMMATION_RTOL)
    for op, e in summary["operators"].items():
        assert e["population_covered"] == pytest.approx(national[T.covered_key(op)],
                                                        rel=SUMMATION_RTOL)
        for tier in layers_w.tier_covered:
            want = 100.0 * national[T.tier_key(tier, op)] / base
            assert e[f"population_{tier}_pct"] == pytest.approx(want, rel=SUMMATION_RTOL)
    for tier, e in summary["speed_tiers"].items():
        assert e["population_pct"] == pytest.approx(100.0 * national[T.tier_key(tier)] / base,
                                                    rel=SUMMATION_RTOL)
    # a township wholly covered has covered = population exactly (the same order of sums)
    full = (df["covered_population"] > 0) & (df["coverage_pct"] >= 100.0 - 1e-9)
    assert (df.loc[full, "covered_population"] == df.loc[full, "population"]).all()
    assert (df["covered_population"] <= df["population"]).all()


def test_no_per_operator_grid_unless_asked(demo_inputs, whole):
    plan = plan_fold(demo_inputs)
    band = plan.state.coverage
    for name in ("by_op", "tier_any", "tier_op"):
        assert not hasattr(band, name), name
    assert plan.state.op_best_dbm is None
    radio, layers = compute_layers(demo_inputs)
    assert layers.covered_by_operator == {} and layers.tier_covered == {}
    assert layers.tier_covered_by_operator == {} and radio.op_best_dbm is None
    assert layers.sums is not None
    # asked: every grid on the whole grid, the same coverage
    radio_w, layers_w = whole
    shape = demo_inputs.grid.shape
    assert set(layers_w.covered_by_operator) == set(radio_w.operators)
    assert all(g.shape == shape and g.dtype == bool
               for g in layers_w.covered_by_operator.values())
    np.testing.assert_array_equal(layers.covered, layers_w.covered)
    np.testing.assert_array_equal(np.logical_or.reduce(list(
        layers_w.covered_by_operator.values())), layers.covered)


def test_result_computes_per_operator_coverage_on_first_access(demo_inputs, whole):
    _, layers_w = whole
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = covkit.run(demo_inputs)
        kept = covkit.run(demo_inputs, operator_grids=True)
    assert res.operator_covered is None and res.rsrp_best_by_operator_dbm is None
    assert kept.operator_covered is not None and kept.rsrp_best_by_operator_dbm is not None
    assert res.summary["operators"] == kept.summary["operators"]
    pd.testing.assert_frame_equal(pd.DataFrame(res.townships.drop(columns="geometry")),
                                  pd.DataFrame(kept.townships.drop(columns="geometry")))
    got = res.covered_by_operator  # computed now, then held
    assert res.operator_covered is got
    assert list(got) == list(layers_w.covered_by_operator)
    for op, grid in layers_w.covered_by_operator.items():
        np.testing.assert_array_equal(got[op], grid, err_msg=op)
        np.testing.assert_array_equal(kept.covered_by_operator[op], grid, err_msg=op)
    assert "covered_by_operator" not in res.to_xarray(operators=False)


def test_sums_do_not_depend_on_the_thread_count(demo_inputs):
    one = compute_layers(demo_inputs, n_threads=1)[1].sums
    two = compute_layers(demo_inputs, n_threads=2)[1].sums
    for key in one.national_keys:
        np.testing.assert_array_equal(one.rows[key], two.rows[key], err_msg=str(key))
    for key in one.township_keys:
        np.testing.assert_array_equal(one.tw[key], two.tw[key], err_msg=str(key))


def test_zone_row_sums_of_any_bands_are_the_whole_grid_sum():
    """Random (cell, zone, share) pairs on a small grid, cells split between zones: the runs'
    sums of bands of 1, 3 and 11 rows, and of the whole grid, give the same per-zone totals
    bit for bit, within rounding of one pairwise sum per zone."""
    rng = np.random.default_rng(7)
    h, w, n_zones = 23, 17, 5
    cells = np.arange(h * w)
    cell = np.concatenate([cells, rng.choice(cells, 150, replace=False)])
    zone = rng.integers(0, n_zones, cell.size)
    share = rng.uniform(0.1, 0.6, cell.size)
    parts = sorted_parts(cell, zone, share, "test")
    runs = T.ZoneRowSums(parts, n_zones, (h, w))
    values = rng.uniform(0, 100, (h, w)) * (rng.uniform(size=(h, w)) > 0.3)

    def by_bands(band_rows):
        out = np.zeros(runs.n_runs)
        for r0 in range(0, h, band_rows):
            r1 = min(r0 + band_rows, h)
            ids, idx, first, flat = runs.band_pairs(r0, r1)
            out[ids] = runs.band(ids, first, parts.share[idx] * values[r0:r1].ravel()[flat])
        return runs.totals(out)

    total = by_bands(h)
    for band_rows in (1, 3, 11):
        np.testing.assert_array_equal(by_bands(band_rows), total)
    want = group_sums(parts.zone, parts.share * values.ravel()[parts.cell], n_zones)
    np.testing.assert_allclose(total, want, rtol=SUMMATION_RTOL, atol=0)
    assert (total > 0).all()
    # an unsorted table of the same pairs gives the same runs
    perm = rng.permutation(parts.cell.size)
    shuffled = ZoneParts(parts.cell[perm], parts.zone[perm], parts.share[perm], "test")
    again = T.ZoneRowSums(shuffled, n_zones, (h, w))
    np.testing.assert_array_equal(again.run_start, runs.run_start)


def test_village_sums_band_by_band(shared_dir, tmp_path):
    """Village mode on the shared Taiwan villages (2000 m, 38901-rma): the village table of
    band sums of bands 1 and 7 rows high and the default equals that of whole-grid grids,
    and is within rounding of kpi.village_kpis on the whole-grid coverage."""
    base = shared_dir / "data" / "taiwan"
    with pytest.warns(UserWarning, match="folded into their township"):
        toml = village_scenario(base, tmp_path, 2000.0)
    sc = covkit.load_scenario(toml).replace(propagation={"model": "38901-rma"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        inputs = covkit.load_inputs(sc)
    assert inputs.villages is not None and len(inputs.villages.table) > 7000
    radio_w, layers_w = compute_layers(inputs, operator_grids=True)
    df_w, _ = compute_kpis(inputs, radio_w, dataclasses.replace(layers_w, sums=None))
    v_w = village_table(inputs, df_w, dataclasses.replace(layers_w, sums=None))
    assert v_w["covered"].sum() > 100 and (~v_w["covered"]).sum() > 10
    for band_rows in (1, 7, None):
        radio, layers = compute_layers(inputs, band_rows=band_rows)
        df, _ = compute_kpis(inputs, radio, layers)
        pd.testing.assert_frame_equal(df, df_w, check_exact=True)
        pd.testing.assert_frame_equal(village_table(inputs, df, layers), v_w, check_exact=True)
    old = K.village_kpis(inputs.villages, df_w, np.asarray(inputs.population, np.float64),
                         layers_w.covered, sc.coverage.village_min_covered_share)
    for col in ("population", "covered_population", "coverage_pct"):
        np.testing.assert_allclose(v_w[col], old[col], rtol=SUMMATION_RTOL, atol=1e-9,
                                   err_msg=col)
    assert v_w["covered"].equals(old["covered"])
