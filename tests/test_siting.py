"""Tests of covkit.coverage.siting (budgeted maximum coverage: lazy greedy and exact MIP).

Reference values: the optimum of tiny instances by brute-force enumeration of all feasible
subsets; greedy against a plain (non-lazy) greedy written here; guarantees 1 - 1/e
(Nemhauser, Wolsey, Fisher 1978) and (1 - 1/e) / 2 (Khuller, Moss, Naor 1999).
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from covkit.coverage import siting
from covkit.coverage.siting import SitingResult, covered_weight, solve_max_coverage
from covkit.errors import CovkitInputError

ONE_MINUS_INV_E = 1.0 - math.exp(-1.0)


# ----------------------------------------------------------------------------------------------
# references
# ----------------------------------------------------------------------------------------------


def dense(coverage):
    return np.asarray(sp.csr_matrix(coverage).toarray() != 0)


def union_weight(a, w, rows):
    if len(rows) == 0:
        return 0.0
    return float(w[a[list(rows)].any(axis=0)].sum())


def brute_force(coverage, w, p=None, costs=None, budget=None):
    """Optimum by enumeration of every subset within both budgets."""
    a = dense(coverage)
    n = a.shape[0]
    best, best_set = 0.0, ()
    max_size = n if p is None else min(p, n)
    for k in range(1, max_size + 1):
        for subset in itertools.combinations(range(n), k):
            if budget is not None and costs[list(subset)].sum() > budget + 1e-12:
                continue
            val = union_weight(a, w, subset)
            if val > best:
                best, best_set = val, subset
    return best, best_set


def plain_greedy(coverage, w, p=None, costs=None, budget=None):
    """Non-lazy greedy: all gains every step; ratio gain/cost when a money budget is given.

    Ties: lowest index. Stops when nothing affordable adds weight. With a money budget the
    better of this and the best single affordable site (Khuller-Moss-Naor).
    """
    a = dense(coverage)
    n = a.shape[0]
    covered = np.zeros(a.shape[1], bool)
    picks = []
    remaining = budget
    max_picks = n if p is None else p
    while len(picks) < max_picks:
        best_key, best_i = 0.0, -1
        for i in range(n):
            if i in picks or (budget is not None and costs[i] > remaining):
                continue
            gain = 0.0
            for j in np.flatnonzero(a[i]):  # same summation order as the CSR kernel
                if not covered[j]:
                    gain += w[j]
            key = gain / costs[i] if budget is not None else gain
            if key > best_key:
                best_key, best_i = key, i
        if best_i < 0:
            break
        picks.append(best_i)
        covered |= a[best_i]
        if budget is not None:
            remaining -= costs[best_i]
    value = union_weight(a, w, picks)
    if budget is not None:
        singles = [(union_weight(a, w, [i]), -i) for i in range(n) if costs[i] <= budget]
        if singles:
            single_val, neg_i = max(singles)
            if single_val > value:
                return [-neg_i], single_val
    return picks, value


def random_instance(seed, n=9, m=11, density=0.3):
    rng = np.random.default_rng(seed)
    a = rng.random((n, m)) < density
    w = rng.integers(0, 10, m).astype(float)
    costs = rng.integers(1, 6, n).astype(float)
    return sp.csr_matrix(a.astype(np.int8)), w, costs


# ----------------------------------------------------------------------------------------------
# optimum, guarantees, bounds
# ----------------------------------------------------------------------------------------------

SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_site_budget_exact_equals_enumeration_and_greedy_equals_plain(seed):
    cov, w, _ = random_instance(seed)
    p = 1 + seed % 4
    opt, _ = brute_force(cov, w, p=p)
    ex = solve_max_coverage(cov, w, budget_sites=p, method="exact")
    gr = solve_max_coverage(cov, w, budget_sites=p, method="greedy")
    assert ex.objective == opt
    assert ex.status == "optimal"
    assert ex.bound >= opt - 1e-9 and gr.bound >= opt - 1e-9  # bounds are proven
    assert 0.0 <= ex.gap <= 1e-6 and 0.0 <= gr.gap <= 1.0
    ref_picks, ref_val = plain_greedy(cov, w, p=p)
    assert gr.selected.tolist() == ref_picks
    assert gr.objective == ref_val == ex.greedy_objective
    assert gr.objective >= ONE_MINUS_INV_E * opt - 1e-9
    assert gr.greedy_share_of_optimum <= gr.objective / opt + 1e-12 if opt > 0 else True
    for res in (ex, gr):
        assert len(res.selected) <= p
        assert res.objective == union_weight(dense(cov), w, res.selected)
        assert res.objective <= res.bound
        assert np.isclose(res.marginal_gains.sum(), res.objective)


@pytest.mark.parametrize("seed", SEEDS)
def test_money_budget_exact_equals_enumeration_and_greedy_equals_kmn(seed):
    cov, w, costs = random_instance(100 + seed)
    budget = float(3 + seed % 6)
    opt, _ = brute_force(cov, w, costs=costs, budget=budget)
    ex = solve_max_coverage(cov, w, costs=costs, budget_cost=budget, method="exact")
    gr = solve_max_coverage(cov, w, costs=costs, budget_cost=budget, method="greedy")
    assert ex.objective == opt
    assert ex.bound >= opt - 1e-9 and gr.bound >= opt - 1e-9
    ref_picks, ref_val = plain_greedy(cov, w, costs=costs, budget=budget)
    assert gr.selected.tolist() == ref_picks
    assert gr.objective == ref_val
    assert gr.objective >= 0.5 * ONE_MINUS_INV_E * opt - 1e-9
    for res in (ex, gr):
        assert costs[res.selected].sum() <= budget + 1e-9
        assert res.total_cost == pytest.approx(costs[res.selected].sum())


@pytest.mark.parametrize("seed", range(20))
def test_both_budgets_exact_equals_enumeration(seed):
    cov, w, costs = random_instance(200 + seed, n=10, m=12, density=0.35)
    p, budget = 2 + seed % 3, float(4 + seed % 5)
    opt, _ = brute_force(cov, w, p=p, costs=costs, budget=budget)
    ex = solve_max_coverage(cov, w, p, costs, budget, method="exact")
    gr = solve_max_coverage(cov, w, p, costs, budget, method="greedy")
    assert ex.objective == opt
    ref_picks, _ = plain_greedy(cov, w, p=p, costs=costs, budget=budget)
    assert gr.selected.tolist() == ref_picks
    for res in (ex, gr):
        assert len(res.selected) <= p
        assert costs[res.selected].sum() <= budget + 1e-9
        assert res.bound >= opt - 1e-9


def test_mip_path_beats_greedy_on_the_classic_trap():
    # greedy takes A (4 cells) then one of B/C (+1) = 5; B + C cover all 6 cells
    a = np.array(
        [
            [1, 1, 1, 1, 0, 0],  # A
            [1, 1, 0, 0, 1, 0],  # B
            [0, 0, 1, 1, 0, 1],  # C
        ]
    )
    cov, w = sp.csr_matrix(a), np.ones(6)
    gr = solve_max_coverage(cov, w, budget_sites=2)
    assert gr.selected.tolist() == [0, 1] and gr.objective == 5.0
    assert gr.status == "heuristic"
    assert gr.bound == 6.0  # f({A}) + top-2 gains (1 + 1) = 6: the path bound is tight here
    assert gr.greedy_share_of_optimum == pytest.approx(5 / 6)
    ex = solve_max_coverage(cov, w, budget_sites=2, method="exact")
    assert sorted(ex.selected.tolist()) == [1, 2]
    assert ex.objective == 6.0 and ex.bound == pytest.approx(6.0) and ex.status == "optimal"
    assert ex.greedy_objective == 5.0
    assert ex.greedy_share_of_optimum == pytest.approx(5 / 6)
    assert ex.reduced_shape == (3, 4)  # cells 0+1 (A, B) and 2+3 (A, C) merge


# ----------------------------------------------------------------------------------------------
# semantics: overlaps, budgets, order, ties, KMN
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["greedy", "exact"])
def test_overlaps_counted_once(method):
    a = np.array([[1, 1, 1, 0], [0, 1, 1, 1]])
    w = np.array([10.0, 20.0, 30.0, 40.0])
    res = solve_max_coverage(sp.csr_matrix(a), w, budget_sites=2, method=method)
    assert res.objective == 100.0  # not 60 + 90
    assert res.selected.tolist() == [1, 0]
    assert res.marginal_gains.tolist() == [90.0, 10.0]
    assert covered_weight(sp.csr_matrix(a), w, [0, 1]) == 100.0


@pytest.mark.parametrize("method", ["greedy", "exact"])
def test_ties_broken_by_lowest_index_and_order_is_deterministic(method):
    # four identical disjoint pairs of cells: every pick ties; order must be by index
    a = np.kron(np.eye(4), np.ones((1, 2)))
    a = np.vstack([a, a])  # candidates 4..7 duplicate 0..3
    w = np.ones(8)
    res = solve_max_coverage(sp.csr_matrix(a), w, budget_sites=3, method=method)
    assert res.selected.tolist() == [0, 1, 2]
    again = solve_max_coverage(sp.csr_matrix(a), w, budget_sites=3, method=method)
    assert again.selected.tolist() == res.selected.tolist()


def test_zero_gain_sites_are_not_listed():
    a = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 0]])
    for method in ("greedy", "exact"):
        res = solve_max_coverage(sp.csr_matrix(a), np.array([2.0, 5.0, 0.0]), 3, method=method)
        assert res.selected.tolist() == [0]
        assert res.objective == 2.0 and res.status == "optimal" and res.gap == 0.0


def test_cost_effectiveness_vs_best_single_site():
    # ratio greedy takes the cheap small site and can then afford nothing else
    a = np.array([[1, 0], [0, 1]])
    w = np.array([1.0, 100.0])
    costs = np.array([0.01, 10.0])
    res = solve_max_coverage(sp.csr_matrix(a), w, costs=costs, budget_cost=10.0)
    assert res.selected.tolist() == [1]
    assert res.objective == 100.0
    # with enough money the ratio greedy is kept (cheap site first)
    res2 = solve_max_coverage(sp.csr_matrix(a), w, costs=costs, budget_cost=10.01)
    assert res2.selected.tolist() == [0, 1] and res2.objective == 101.0


def test_costs_without_money_budget_rank_by_gain():
    a = np.array([[1, 0], [0, 1]])
    res = solve_max_coverage(
        sp.csr_matrix(a), np.array([1.0, 100.0]), budget_sites=1, costs=np.array([0.01, 10.0])
    )
    assert res.selected.tolist() == [1]
    assert res.total_cost == 10.0


def test_unaffordable_candidates_never_selected():
    a = np.eye(3)
    w = np.array([5.0, 50.0, 500.0])
    costs = np.array([1.0, 2.0, 100.0])
    for method in ("greedy", "exact"):
        res = solve_max_coverage(sp.csr_matrix(a), w, costs=costs, budget_cost=3.0, method=method)
        assert sorted(res.selected.tolist()) == [0, 1]
        assert res.bound <= 555.0  # candidate 2 can never be afforded: not in the bound


def test_input_formats_canonicalised():
    # unsorted indices, a duplicate entry and an explicit zero (which does not cover)
    indptr = np.array([0, 3, 4])
    indices = np.array([2, 0, 2, 1])
    data = np.array([1, 1, 1, 0])
    cov = sp.csr_matrix((data, indices, indptr), shape=(2, 3))
    w = np.array([1.0, 10.0, 100.0])
    res = solve_max_coverage(cov, w, budget_sites=2)
    assert res.objective == 101.0 and res.selected.tolist() == [0]
    res = solve_max_coverage(sp.coo_matrix(np.eye(3)), w, budget_sites=1, method="exact")
    assert res.selected.tolist() == [2]
    res = solve_max_coverage(sp.csr_array(np.eye(3, dtype=bool)), w, budget_sites=1)
    assert res.selected.tolist() == [2]


def test_empty_and_zero_weight_instances():
    res = solve_max_coverage(sp.csr_matrix((0, 4)), np.ones(4), budget_sites=2, method="exact")
    assert res.selected.size == 0 and res.objective == 0.0 and res.bound == 0.0
    res = solve_max_coverage(sp.csr_matrix(np.eye(3)), np.zeros(3), budget_sites=2)
    assert res.selected.size == 0 and res.greedy_share_of_optimum == 1.0


def test_result_is_frozen_dataclass():
    res = solve_max_coverage(sp.csr_matrix(np.eye(2)), np.ones(2), budget_sites=1)
    assert isinstance(res, SitingResult)
    assert res.selected.dtype == np.int64
    with pytest.raises(AttributeError):
        res.objective = 3.0


def test_exact_with_time_limit_on_a_larger_instance():
    rng = np.random.default_rng(7)
    a = sp.random(300, 80, density=0.08, random_state=rng, format="csr")
    w = rng.lognormal(3.0, 1.0, 80)
    gr = solve_max_coverage(a, w, budget_sites=6)
    ex = solve_max_coverage(a, w, budget_sites=6, method="exact", time_limit_s=5.0)
    assert ex.status in ("optimal", "time_limit")
    assert ex.objective >= gr.objective
    assert ex.bound <= gr.bound + 1e-9
    assert ex.objective <= ex.bound
    assert ex.reduced_shape[0] <= 300 and ex.reduced_shape[1] <= 80
    assert ex.greedy_share_of_optimum == pytest.approx(gr.objective / ex.bound)


@pytest.mark.parametrize("banner", [True, False])
def test_exact_keeps_stdout_clean_of_the_highs_banner(banner):
    """The HiGHS banner goes to stderr (covkit --json keeps stdout clean), or nowhere with
    ``solver_banner=False`` (covkit --quiet)."""
    code = (
        "import numpy as np, scipy.sparse as sp\n"
        "from covkit.coverage.siting import solve_max_coverage\n"
        "a = sp.csr_matrix(np.array([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0],\n"
        "                            [0, 0, 1, 1, 0, 1]]))\n"
        f"r = solve_max_coverage(a, np.ones(6), budget_sites=2, method='exact',\n"
        f"                       solver_banner={banner})\n"
        "print(r.objective)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        timeout=30 * 60,  # catches a hang only: a busy machine must not fail the test
    )
    assert out.stdout == "6.0\n"
    assert ("HiGHS" in out.stderr) is banner


# ----------------------------------------------------------------------------------------------
# reductions and kernels
# ----------------------------------------------------------------------------------------------


def test_reduce_merges_cells_and_drops_dominated_candidates():
    a = np.array(
        [
            [1, 1, 0, 0, 1],  # 0
            [1, 1, 1, 0, 1],  # 1 dominates 0
            [0, 0, 1, 1, 0],  # 2
            [0, 0, 1, 1, 0],  # 3 duplicate of 2 (higher index: dominated)
            [0, 0, 0, 0, 0],  # 4 covers nothing
        ]
    )
    w = np.array([1.0, 2.0, 3.0, 4.0, 0.0])  # cell 4 has no weight
    merged, w_red, c_red, cand_idx, dominator = siting._reduce(sp.csr_matrix(a), w, None, None)
    assert cand_idx.tolist() == [1, 2]
    assert dominator[0] == 1 and dominator[3] == 2 and dominator[1] == -1
    # cells 0, 1 (both covered by {1} only) merge; 2 ({1, 2}) and 3 ({2}) stay; 4 dropped
    assert merged.shape == (2, 3)
    assert w_red.tolist() == [3.0, 3.0, 4.0]
    # a cheaper subset is not dominated when costs matter
    costs = np.array([1.0, 5.0, 1.0, 1.0, 1.0])
    _, _, _, cand_idx, _ = siting._reduce(sp.csr_matrix(a), w, costs, 10.0)
    assert cand_idx.tolist() == [0, 1, 2]
    # warm-start mapping replaces dropped candidates by their dominators
    keep_pos = np.full(5, -1)
    keep_pos[[1, 2]] = [0, 1]
    dom = np.array([1, -1, -1, 2, -1])
    assert siting._map_to_kept([0, 3], keep_pos, dom).tolist() == [0, 1]


def test_group_equal_columns_handles_hash_collisions():
    csc = sp.csc_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 1, 0]]))
    csc.sort_indices()
    fake_hashes = np.zeros(4, np.uint64)  # everything collides
    order = np.argsort(fake_hashes, kind="stable")
    for fn in (siting._group_equal_columns, siting._group_equal_columns.py_func):
        labels = fn(csc.indptr, csc.indices, order, fake_hashes)
        assert labels.tolist() == [0, 1, 0, 2]
    with np.errstate(over="ignore"):
        h_py = siting._column_hashes.py_func(csc.indptr, csc.indices)
    h_nb = siting._column_hashes(csc.indptr, csc.indices)
    assert h_py.tolist() == h_nb.tolist()
    assert h_nb[0] == h_nb[2] and h_nb[0] != h_nb[1]


@pytest.mark.parametrize("use_cost", [False, True])
def test_greedy_kernel_compiled_equals_py_func(use_cost):
    cov, w, costs = random_instance(5, n=12, m=15)
    cov.sort_indices()
    args = (cov.indptr, cov.indices, w, costs, 3, 6.0 if use_cost else np.inf, use_cost)
    out_nb = siting._lazy_greedy_kernel(*args)
    out_py = siting._lazy_greedy_kernel.py_func(*args)
    assert out_nb[0].tolist() == out_py[0].tolist()
    np.testing.assert_array_equal(out_nb[1], out_py[1])
    np.testing.assert_array_equal(out_nb[2], out_py[2])
    assert out_nb[3] == out_py[3]


def test_swap_local_search_escapes_the_greedy_trap():
    a = sp.csr_matrix(np.array([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]]))
    w = np.ones(6)
    for fn in (siting._swap_local_search, siting._swap_local_search.py_func):
        out = fn(a.indptr, a.indices, w, np.ones(3), np.array([0, 1]), 2, np.inf, 50)
        assert out.tolist() == [1, 2]
        # add moves fill free slots; the money budget forbids the swap A -> C here
        out = fn(a.indptr, a.indices, w, np.array([1.0, 1.0, 5.0]), np.array([0]), 2, 2.0, 50)
        assert out.tolist() == [0, 1]


def test_small_kernels_py_func():
    vals = np.array([3.0, 1.0, 4.0, 1.0, 5.0])
    elig = np.array([True, True, True, True, False])
    for fn in (siting._top_sum, siting._top_sum.py_func):
        assert fn(vals, elig, 2) == 7.0
        assert fn(vals, elig, 10) == 9.0
    costs = np.array([1.0, 1.0, 2.0, 1.0, 1.0])
    for fn in (siting._fractional_knapsack, siting._fractional_knapsack.py_func):
        # ratios 3, 1, 2, 1: take 0 (3) then half of 2 (2) at capacity 2
        assert fn(vals, costs, elig, 2.0) == pytest.approx(5.0)
    csr = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]]))
    w = np.array([1.0, 2.0, 4.0])
    for fn in (siting._covered_weight, siting._covered_weight.py_func):
        assert fn(csr.indptr, csr.indices, w, np.array([0, 1])) == 7.0
    r = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]]))
    c = r.tocsc()
    c.sort_indices()
    for fn in (siting._dominated_candidates, siting._dominated_candidates.py_func):
        dom = fn(r.indptr, r.indices, c.indptr, c.indices, np.ones(3))
        assert dom.tolist() == [1, -1, 1]


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------


def _ok():
    return sp.csr_matrix(np.eye(3)), np.ones(3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"coverage": np.eye(3)}, "coverage must be a scipy.sparse"),
        ({"weights": np.ones(4)}, "weights must be a 1-D array"),
        ({"weights": np.ones((3, 1))}, "weights must be a 1-D array"),
        ({"weights": np.array([1.0, -1.0, 1.0])}, r"weights must be >= 0; weights\[1\]"),
        ({"weights": np.array([1.0, np.nan, 1.0])}, "weights must be finite"),
        ({"budget_sites": None}, "at least one budget"),
        ({"budget_sites": 0}, "budget_sites must be >= 1"),
        ({"budget_sites": 2.5}, "budget_sites must be an integer"),
        ({"budget_sites": True}, "budget_sites must be an integer"),
        ({"costs": np.ones(2)}, "costs must be a 1-D array with one value per candidate"),
        ({"costs": np.array([1.0, 0.0, 1.0])}, r"costs must be finite and > 0; costs\[1\]"),
        ({"budget_cost": 5.0}, "budget_cost needs costs"),
        ({"costs": np.ones(3), "budget_cost": -1.0}, "budget_cost must be finite and > 0"),
        ({"costs": np.ones(3), "budget_cost": "x"}, "budget_cost must be a number"),
        ({"method": "ilp"}, "method must be one of greedy, exact"),
        ({"time_limit_s": 0.0}, "time_limit_s must be > 0"),
    ],
)
def test_validation_errors(kwargs, match):
    cov, w = _ok()
    args = {"coverage": cov, "weights": w, "budget_sites": 1}
    args.update(kwargs)
    with pytest.raises(CovkitInputError, match=match):
        solve_max_coverage(**args)


def test_validation_error_is_a_value_error():
    cov, w = _ok()
    with pytest.raises(ValueError, match="method"):
        solve_max_coverage(cov, w, budget_sites=1, method="magic")
    with pytest.raises(CovkitInputError, match="selected holds indices outside"):
        covered_weight(cov, w, [5])
