"""Site selection: the budgeted maximum-coverage problem over a sparse coverage matrix.

The scenario layer builds a candidates x demand-cells coverage matrix (CSR, nonzero = candidate
``i`` would newly cover cell ``j``) and demand weights (population, trail km, bonuses) and calls
:func:`solve_max_coverage`. Overlaps count once: the objective is the total weight of the union
of the cells covered by the selected candidates,

    f(S) = sum_j w_j [exists i in S: a_ij != 0],

a monotone submodular set function. Two methods:

``"greedy"``
    Lazy greedy (CELF, Minoux 1978 / Leskovec et al. 2007) over the CSR arrays in one Numba kernel.
    With a site budget ``p`` it picks the largest marginal gain ``p`` times, which is within
    ``1 - 1/e`` of the optimum (Nemhauser, Wolsey and Fisher 1978). With costs and a money budget
    it picks the largest gain per unit cost among affordable candidates and returns the better of
    that and the best single affordable site, which is within ``(1 - 1/e) / 2`` of the optimum
    (Khuller, Moss and Naor 1999). Deterministic: ties go to the lowest candidate index.
``"exact"``
    The maximal covering location problem (Church and ReVelle 1974) as an integer programme,

        max sum_j w_j y_j  s.t.  y_j <= sum_{i covers j} x_i,  sum_i x_i <= p,
        sum_i c_i x_i <= B,  x_i in {0, 1},  0 <= y_j <= 1,

    solved with HiGHS after exact reductions (cells of zero weight or covered by no candidate
    dropped; cells with identical covering sets merged, their weights summed; unaffordable and
    dominated candidates dropped), warm-started from the greedy solution improved by an
    add/swap local search, with a time limit. The returned selection is the best of the MIP
    incumbent, the warm start and greedy, re-evaluated on the input matrix.

Both methods report a proven upper bound on the optimum. For greedy it is data dependent
(the online bound of Leskovec et al. 2007): for every set ``S_k`` on the greedy path,

    OPT <= f(S_k) + max_{|T| <= p, c(T) <= B} sum_{i in T} delta_i(S_k),

where ``delta_i(S_k)`` is the marginal gain of candidate ``i`` (bounded from above by the lazy
heap's stale gains, which submodularity allows). The inner maximum is bounded by the sum of the
``p`` largest gains (site budget) and by the fractional knapsack (money budget). For a site budget
alone ``f(greedy) / (1 - 1/e)`` is also a bound. For exact, the bound is HiGHS' MIP dual bound
(and never worse than the greedy bound). ``greedy_share_of_optimum`` is the greedy objective
divided by the best proven bound: a certified lower bound on greedy's share of the optimum.

References
----------
- Nemhauser, Wolsey, Fisher (1978), Math. Programming 14, 265-294.
- Khuller, Moss, Naor (1999), Information Processing Letters 70(1), 39-45.
- Leskovec, Krause, Guestrin, Faloutsos, VanBriesen, Glance (2007), KDD, "Cost-effective
  outbreak detection in networks".
- Church, ReVelle (1974), Papers of the Regional Science Association 32, 101-118.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp

from covkit._jit import njit
from covkit.errors import CovkitInputError

METHODS = ("greedy", "exact")
"""Valid values of ``method``."""

MIP_REL_GAP = 1e-6
"""Relative optimality gap at which HiGHS stops (its default is 1e-4)."""

HIGHS_OPTIONS = {
    "output_flag": False,
    "mip_rel_gap": MIP_REL_GAP,
    # the warm start (greedy + local search) is already good: HiGHS' primal heuristics and
    # restarts cost more than they find here (measured on the benchmark instances at
    # 20,000 x 500, p = 20: 40 % less time over four seeds, same optima)
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_allow_restart": False,
}
"""HiGHS options of the exact method (options a HiGHS version lacks are skipped)."""

LOCAL_SEARCH_MAX_MOVES = 200
"""Cap on improving moves of the warm-start local search (each costs one pass over the CSR)."""

_ONE_MINUS_INV_E = 1.0 - math.exp(-1.0)


@dataclass(frozen=True)
class SitingResult:
    """Outcome of :func:`solve_max_coverage`.

    Attributes
    ----------
    selected : numpy.ndarray of int64
        Selected candidate indices (rows of ``coverage``) in pick order: each site adds the
        largest marginal weight given the sites before it (for ``"exact"`` the optimal set is
        ordered that way afterwards). Sites that would add nothing are never listed.
    marginal_gains : numpy.ndarray of float64
        Weight newly covered by each selected site given the ones before it (same order);
        ``marginal_gains.sum() == objective`` up to rounding.
    objective : float
        Covered weight of the selection, overlaps counted once, evaluated on the input matrix.
    method : str
        ``"greedy"`` or ``"exact"``.
    bound : float
        Proven upper bound on the optimal objective (``>= objective``).
    gap : float
        Relative gap ``(bound - objective) / bound`` (0 when ``bound == 0``), in [0, 1].
    greedy_objective : float
        Objective of the greedy solution (equal to ``objective`` for ``"greedy"``).
    greedy_share_of_optimum : float
        ``greedy_objective / bound``: certified lower bound on greedy's share of the optimum
        (1.0 when ``bound == 0``).
    total_cost : float
        Sum of the selected candidates' costs (number of sites when no costs are given).
    run_time_s : float
        Wall-clock time of the call [s].
    status : str
        ``"optimal"`` (exact, proven to the HiGHS gap tolerance, or trivially),
        ``"time_limit"`` (exact, stopped by ``time_limit_s``; ``gap`` says how far),
        ``"heuristic"`` (greedy; ``gap`` is its certified distance to the optimum), or the HiGHS
        model status in lower case for anything else.
    reduced_shape : tuple of int or None
        Candidates x demand cells of the integer programme after the reductions (exact only).
    """

    selected: np.ndarray
    marginal_gains: np.ndarray
    objective: float
    method: str
    bound: float
    gap: float
    greedy_objective: float
    greedy_share_of_optimum: float
    total_cost: float
    run_time_s: float
    status: str
    reduced_shape: tuple[int, int] | None = None


# ----------------------------------------------------------------------------------------------
# Numba kernels
# ----------------------------------------------------------------------------------------------


@njit
def _row_gain(indptr, indices, weights, covered, i):
    """Weight of the cells of row ``i`` not yet covered (sum in CSR order)."""
    g = 0.0
    for k in range(indptr[i], indptr[i + 1]):
        j = indices[k]
        if not covered[j]:
            g += weights[j]
    return g


@njit
def _better(key_a, idx_a, key_b, idx_b):
    """Heap order: larger key first, then lower candidate index."""
    return key_a > key_b or (key_a == key_b and idx_a < idx_b)


@njit
def _sift_down(keys, idxs, stamps, size, pos):
    """Restore the max-heap property below ``pos``."""
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        best = left
        right = left + 1
        if right < size and _better(keys[right], idxs[right], keys[left], idxs[left]):
            best = right
        if _better(keys[best], idxs[best], keys[pos], idxs[pos]):
            keys[pos], keys[best] = keys[best], keys[pos]
            idxs[pos], idxs[best] = idxs[best], idxs[pos]
            stamps[pos], stamps[best] = stamps[best], stamps[pos]
            pos = best
        else:
            return


@njit
def _top_sum(values, eligible, p):
    """Sum of the ``p`` largest ``values[i]`` with ``eligible[i]`` (values >= 0)."""
    n = values.shape[0]
    if p <= 0:
        return 0.0
    heap = np.empty(p, np.float64)  # min-heap of the current top p
    size = 0
    for i in range(n):
        if not eligible[i]:
            continue
        v = values[i]
        if v <= 0.0:
            continue
        if size < p:
            # sift up
            pos = size
            heap[pos] = v
            size += 1
            while pos > 0:
                parent = (pos - 1) // 2
                if heap[parent] > heap[pos]:
                    heap[parent], heap[pos] = heap[pos], heap[parent]
                    pos = parent
                else:
                    break
        elif v > heap[0]:
            heap[0] = v
            pos = 0
            while True:
                left = 2 * pos + 1
                if left >= size:
                    break
                small = left
                if left + 1 < size and heap[left + 1] < heap[left]:
                    small = left + 1
                if heap[small] < heap[pos]:
                    heap[small], heap[pos] = heap[pos], heap[small]
                    pos = small
                else:
                    break
    total = 0.0
    for k in range(size):
        total += heap[k]
    return total


@njit
def _fractional_knapsack(values, costs, eligible, capacity):
    """LP relaxation of ``max sum v_i t_i, sum c_i t_i <= capacity, 0 <= t_i <= 1``.

    Dantzig (1957): take items by decreasing ``v_i / c_i`` and a fraction of the last one.
    """
    n = values.shape[0]
    ratio = np.empty(n, np.float64)
    for i in range(n):
        if eligible[i] and values[i] > 0.0:
            ratio[i] = -values[i] / costs[i]
        else:
            ratio[i] = 0.0
    order = np.argsort(ratio)
    total = 0.0
    room = capacity
    for t in range(n):
        i = order[t]
        if ratio[i] >= 0.0:
            break
        if costs[i] <= room:
            total += values[i]
            room -= costs[i]
        else:
            total += values[i] * (room / costs[i])
            break
    return total


@njit
def _path_bound(f_now, ub, selected, costs, budget_sites, budget_cost, use_cost, knapsack):
    """Data-dependent bound ``f(S) + max over feasible T of sum ub_i`` (module docstring)."""
    n = ub.shape[0]
    eligible = np.empty(n, np.bool_)
    for i in range(n):
        eligible[i] = (not selected[i]) and ((not use_cost) or costs[i] <= budget_cost)
    bound = np.inf
    if budget_sites < n:
        bound = f_now + _top_sum(ub, eligible, budget_sites)
    if use_cost and knapsack:
        bound = min(bound, f_now + _fractional_knapsack(ub, costs, eligible, budget_cost))
    if not np.isfinite(bound):
        total = 0.0
        for i in range(n):
            if eligible[i]:
                total += ub[i]
        bound = f_now + total
    return bound


@njit
def _lazy_greedy_kernel(indptr, indices, weights, costs, budget_sites, budget_cost, use_cost):
    """Lazy (CELF) greedy for budgeted maximum coverage over CSR arrays.

    Parameters
    ----------
    indptr, indices : numpy.ndarray of int
        CSR structure of the candidates x demand coverage matrix (canonical: sorted, no
        duplicates, no explicit zeros).
    weights : numpy.ndarray of float64
        Demand weights, >= 0.
    costs : numpy.ndarray of float64
        Candidate costs, > 0 (ignored unless ``use_cost``).
    budget_sites : int
        Maximum number of sites (>= 1; pass the number of candidates for "no limit").
    budget_cost : float
        Money budget (ignored unless ``use_cost``).
    use_cost : bool
        Rank by gain per unit cost and respect ``budget_cost``; else rank by gain.

    Returns
    -------
    picks : numpy.ndarray of int64
        Selected candidates in pick order (ties: lowest index).
    gains : numpy.ndarray of float64
        Marginal gain of each pick.
    first_gains : numpy.ndarray of float64
        Gain of every candidate alone (``f({i})``).
    bound : float
        Proven upper bound on the optimum (module docstring).
    """
    n = indptr.shape[0] - 1
    m = weights.shape[0]
    covered = np.zeros(m, np.bool_)
    selected = np.zeros(n, np.bool_)
    ub = np.empty(n, np.float64)  # latest evaluated marginal gain: an upper bound (submodular)
    keys = np.empty(n, np.float64)
    idxs = np.empty(n, np.int64)
    stamps = np.empty(n, np.int64)
    size = 0
    for i in range(n):
        g = _row_gain(indptr, indices, weights, covered, i)
        ub[i] = g
        if g > 0.0 and ((not use_cost) or costs[i] <= budget_cost):
            keys[size] = g / costs[i] if use_cost else g
            idxs[size] = i
            stamps[size] = 0
            size += 1
    first_gains = ub.copy()
    for pos in range((size - 2) // 2, -1, -1):
        _sift_down(keys, idxs, stamps, size, pos)

    max_picks = min(budget_sites, n)
    picks = np.empty(max_picks, np.int64)
    gains = np.empty(max_picks, np.float64)
    count = 0
    f_now = 0.0
    remaining = budget_cost
    bound = _path_bound(f_now, ub, selected, costs, budget_sites, budget_cost, use_cost, True)
    next_knapsack = 1
    while size > 0 and count < max_picks:
        i = idxs[0]
        if use_cost and costs[i] > remaining:
            # unaffordable now and for ever (the remaining budget only shrinks)
            size -= 1
            keys[0] = keys[size]
            idxs[0] = idxs[size]
            stamps[0] = stamps[size]
            _sift_down(keys, idxs, stamps, size, 0)
            continue
        if stamps[0] == count:
            # fresh: its exact gain beats every other upper bound (or ties at a higher index)
            g = ub[i]
            if g <= 0.0:
                break
            for k in range(indptr[i], indptr[i + 1]):
                covered[indices[k]] = True
            selected[i] = True
            ub[i] = 0.0
            picks[count] = i
            gains[count] = g
            count += 1
            f_now += g
            remaining -= costs[i]
            size -= 1
            keys[0] = keys[size]
            idxs[0] = idxs[size]
            stamps[0] = stamps[size]
            _sift_down(keys, idxs, stamps, size, 0)
            knap = count == next_knapsack
            if knap:
                next_knapsack *= 2
            bound = min(
                bound,
                _path_bound(f_now, ub, selected, costs, budget_sites, budget_cost, use_cost, knap),
            )
        else:
            g = _row_gain(indptr, indices, weights, covered, i)
            ub[i] = g
            keys[0] = g / costs[i] if use_cost else g
            stamps[0] = count
            _sift_down(keys, idxs, stamps, size, 0)

    # exact marginal gains at the final set: the tightest step of the path bound
    for i in range(n):
        if not selected[i]:
            ub[i] = _row_gain(indptr, indices, weights, covered, i)
    bound = min(
        bound, _path_bound(f_now, ub, selected, costs, budget_sites, budget_cost, use_cost, True)
    )
    return picks[:count], gains[:count], first_gains, bound


@njit
def _covered_weight(indptr, indices, weights, rows):
    """Weight of the union of the cells covered by ``rows`` (overlaps once)."""
    covered = np.zeros(weights.shape[0], np.bool_)
    total = 0.0
    for t in range(rows.shape[0]):
        i = rows[t]
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            if not covered[j]:
                covered[j] = True
                total += weights[j]
    return total


@njit
def _column_hashes(indptr, indices):
    """64-bit hash of each CSC column's (sorted) row set; equal sets give equal hashes."""
    n_col = indptr.shape[0] - 1
    out = np.empty(n_col, np.uint64)
    mult = np.uint64(0x100000001B3)
    for j in range(n_col):
        h = np.uint64(0xCBF29CE484222325) ^ np.uint64(indptr[j + 1] - indptr[j])
        for k in range(indptr[j], indptr[j + 1]):
            h = (h ^ np.uint64(indices[k] + 1)) * mult
            h ^= h >> np.uint64(29)
        out[j] = h
    return out


@njit
def _same_set(indptr, indices, a, b):
    """Whether sorted CSC/CSR slices ``a`` and ``b`` hold the same indices."""
    la = indptr[a + 1] - indptr[a]
    if la != indptr[b + 1] - indptr[b]:
        return False
    for t in range(la):
        if indices[indptr[a] + t] != indices[indptr[b] + t]:
            return False
    return True


@njit
def _group_equal_columns(indptr, indices, order, hashes):
    """Label columns so that equal (sorted) row sets share a label.

    ``order`` is a *stable* argsort of ``hashes``, so within a run of equal hashes the columns
    come in increasing index order. Labels are dense, 0-based, numbered by first column.
    """
    n_col = order.shape[0]
    rep = np.empty(n_col, np.int64)  # lowest column with the same set
    start = 0
    while start < n_col:
        end = start + 1
        while end < n_col and hashes[order[end]] == hashes[order[start]]:
            end += 1
        # a run is almost always one set; hash collisions are told apart by comparison
        for t in range(start, end):
            j = order[t]
            rep[j] = j
            for s in range(start, t):
                r = order[s]
                if rep[r] == r and _same_set(indptr, indices, j, r):
                    rep[j] = r
                    break
        start = end
    labels = np.empty(n_col, np.int64)
    dense = np.full(n_col, -1, np.int64)
    n_lab = 0
    for j in range(n_col):
        r = rep[j]
        if dense[r] < 0:
            dense[r] = n_lab
            n_lab += 1
        labels[j] = dense[r]
    return labels


@njit
def _subset_sorted(indices_a, sa, ea, indices_b, sb, eb):
    """Whether the sorted slice a is a subset of the sorted slice b."""
    if ea - sa > eb - sb:
        return False
    kb = sb
    for ka in range(sa, ea):
        v = indices_a[ka]
        while kb < eb and indices_b[kb] < v:
            kb += 1
        if kb == eb or indices_b[kb] != v:
            return False
        kb += 1
    return True


@njit
def _dominated_candidates(r_indptr, r_indices, c_indptr, c_indices, costs):
    """Candidates dominated by another one (returns the dominator, or -1).

    ``k`` dominates ``i`` when ``cover(i)`` is a subset of ``cover(k)``, ``c_k <= c_i``, and
    the pair is not a tie (``cover(k)`` larger, or ``c_k < c_i``, or ``k < i``): a strict order,
    so every dominated candidate has an undominated dominator and swapping it in never lowers
    the coverage nor raises the cost or the site count. ``r_*`` is CSR (candidates -> cells),
    ``c_*`` is CSC (cells -> candidates), both sorted.
    """
    n = r_indptr.shape[0] - 1
    dominator = np.full(n, -1, np.int64)
    for i in range(n):
        si = r_indptr[i]
        ei = r_indptr[i + 1]
        if ei == si:
            continue
        # the cell of cover(i) with the fewest coverers: every dominator covers it
        best_j = r_indices[si]
        best_len = c_indptr[best_j + 1] - c_indptr[best_j]
        for k in range(si + 1, ei):
            j = r_indices[k]
            length = c_indptr[j + 1] - c_indptr[j]
            if length < best_len:
                best_len = length
                best_j = j
        len_i = ei - si
        for t in range(c_indptr[best_j], c_indptr[best_j + 1]):
            k = c_indices[t]
            if k == i or costs[k] > costs[i]:
                continue
            len_k = r_indptr[k + 1] - r_indptr[k]
            if len_k < len_i:
                continue
            if len_k == len_i and costs[k] == costs[i] and k > i:
                continue
            if _subset_sorted(r_indices, si, ei, r_indices, r_indptr[k], r_indptr[k + 1]):
                dominator[i] = k
                break
    return dominator


@njit
def _swap_local_search(indptr, indices, weights, costs, start, max_sites, budget_cost, max_moves):
    """Best-improvement local search (add one site, or swap one selected for one unselected).

    Every move keeps ``len(S) <= max_sites`` and ``sum c_S <= budget_cost`` and raises the
    covered weight strictly; ties go to the lowest (removed, added) pair. Used to improve the
    warm start of the MIP (Resende 1998 style 1-swap neighbourhood). One pass over the CSR
    evaluates all moves: ``delta(s -> i) = g0_i + e_i[s] - loss_s``, where ``g0_i`` is the
    weight of uncovered cells of ``i``, ``e_i[s]`` that of cells of ``i`` covered by ``s``
    only, and ``loss_s`` that of cells covered by ``s`` only.

    Returns
    -------
    numpy.ndarray of int64
        The improved selection (sorted).
    """
    n = indptr.shape[0] - 1
    m = weights.shape[0]
    sel = np.zeros(n, np.bool_)
    pos = np.full(n, -1, np.int64)  # position of a selected candidate in `members`
    members = np.empty(max(max_sites, start.shape[0]) + 1, np.int64)
    k = 0
    spent = 0.0
    for t in range(start.shape[0]):
        i = start[t]
        if not sel[i]:
            sel[i] = True
            pos[i] = k
            members[k] = i
            k += 1
            spent += costs[i]
    cnt = np.zeros(m, np.int64)
    owner = np.full(m, -1, np.int64)  # position of the sole coverer when cnt == 1
    extra = np.zeros(members.shape[0], np.float64)
    loss = np.zeros(members.shape[0], np.float64)
    total_w = 0.0
    for j in range(m):
        total_w += weights[j]
    tol = 1e-12 * total_w
    for _ in range(max_moves):
        cnt[:] = 0
        for t in range(k):
            i = members[t]
            for q in range(indptr[i], indptr[i + 1]):
                cnt[indices[q]] += 1
        for t in range(k):
            loss[t] = 0.0
            i = members[t]
            for q in range(indptr[i], indptr[i + 1]):
                j = indices[q]
                if cnt[j] == 1:
                    owner[j] = t
                    loss[t] += weights[j]
        best_val = tol
        best_out = -1  # position removed (-1: add move)
        best_in = -1
        for i in range(n):
            if sel[i]:
                continue
            g0 = 0.0
            for t in range(k):
                extra[t] = 0.0
            for q in range(indptr[i], indptr[i + 1]):
                j = indices[q]
                if cnt[j] == 0:
                    g0 += weights[j]
                elif cnt[j] == 1:
                    extra[owner[j]] += weights[j]
            if k < max_sites and spent + costs[i] <= budget_cost and g0 > best_val:
                best_val, best_out, best_in = g0, -1, i
            for t in range(k):
                if spent - costs[members[t]] + costs[i] > budget_cost:
                    continue
                val = g0 + extra[t] - loss[t]
                if val > best_val:
                    best_val, best_out, best_in = val, t, i
        if best_in < 0:
            break
        sel[best_in] = True
        spent += costs[best_in]
        if best_out < 0:
            pos[best_in] = k
            members[k] = best_in
            k += 1
        else:
            gone = members[best_out]
            sel[gone] = False
            pos[gone] = -1
            spent -= costs[gone]
            members[best_out] = best_in
            pos[best_in] = best_out
    return np.sort(members[:k])


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------


def _canonical_csr(coverage) -> sp.csr_matrix:
    """CSR with sorted indices, no duplicates and no explicit zeros (copy only if needed)."""
    if not sp.issparse(coverage):
        raise CovkitInputError(
            f"coverage must be a scipy.sparse matrix (candidates x demand cells), "
            f"got {type(coverage).__name__}"
        )
    if coverage.ndim != 2:
        raise CovkitInputError(f"coverage must be 2-D, got shape {coverage.shape}")
    csr = sp.csr_matrix(coverage)  # no copy when already csr_matrix
    if not csr.has_canonical_format or (csr.nnz and np.count_nonzero(csr.data) != csr.nnz):
        csr = csr.copy()
        csr.sum_duplicates()
        csr.eliminate_zeros()
    if csr.nnz and np.count_nonzero(csr.data) != csr.nnz:  # duplicates summing to zero
        csr = csr.copy()
        csr.eliminate_zeros()
    return csr


def _validate(coverage, weights, budget_sites, costs, budget_cost, method, time_limit_s):
    if not isinstance(method, str) or method not in METHODS:
        raise CovkitInputError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    csr = _canonical_csr(coverage)
    n, m = csr.shape
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != m:
        raise CovkitInputError(
            f"weights must be a 1-D array with one value per demand cell (coverage has {m} "
            f"columns); got shape {w.shape}"
        )
    if not np.all(np.isfinite(w)):
        raise CovkitInputError("weights must be finite (no NaN or inf)")
    if np.any(w < 0):
        j = int(np.flatnonzero(w < 0)[0])
        raise CovkitInputError(f"weights must be >= 0; weights[{j}] = {w[j]}")
    if budget_sites is None and budget_cost is None:
        raise CovkitInputError("give at least one budget: budget_sites and/or budget_cost")
    if budget_sites is not None:
        if isinstance(budget_sites, bool) or not isinstance(budget_sites, Integral):
            raise CovkitInputError(f"budget_sites must be an integer >= 1; got {budget_sites!r}")
        if budget_sites < 1:
            raise CovkitInputError(f"budget_sites must be >= 1; got {budget_sites}")
        budget_sites = int(budget_sites)
    c = None
    if costs is not None:
        c = np.asarray(costs, dtype=np.float64)
        if c.ndim != 1 or c.shape[0] != n:
            raise CovkitInputError(
                f"costs must be a 1-D array with one value per candidate (coverage has {n} "
                f"rows); got shape {c.shape}"
            )
        if not np.all(np.isfinite(c)) or np.any(c <= 0):
            bad = np.flatnonzero(~(np.isfinite(c) & (c > 0)))
            raise CovkitInputError(f"costs must be finite and > 0; costs[{bad[0]}] = {c[bad[0]]}")
    if budget_cost is not None:
        if isinstance(budget_cost, bool) or not isinstance(budget_cost, Real):
            raise CovkitInputError(f"budget_cost must be a number > 0; got {budget_cost!r}")
        budget_cost = float(budget_cost)
        if not (math.isfinite(budget_cost) and budget_cost > 0):
            raise CovkitInputError(f"budget_cost must be finite and > 0; got {budget_cost}")
        if c is None:
            raise CovkitInputError("budget_cost needs costs (one per candidate)")
    if time_limit_s is not None:
        if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, Real):
            raise CovkitInputError(f"time_limit_s must be a number > 0; got {time_limit_s!r}")
        time_limit_s = float(time_limit_s)
        if not (time_limit_s > 0 and not math.isnan(time_limit_s)):
            raise CovkitInputError(f"time_limit_s must be > 0; got {time_limit_s}")
    return csr, w, budget_sites, c, budget_cost, time_limit_s


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------


def covered_weight(coverage, weights, selected) -> float:
    """Total weight of the demand cells covered by ``selected`` (overlaps counted once).

    Parameters
    ----------
    coverage : scipy.sparse matrix, shape (n_candidates, n_demand)
        Nonzero = candidate covers the cell.
    weights : array_like of float, shape (n_demand,)
        Demand weights.
    selected : array_like of int
        Candidate indices.

    Returns
    -------
    float
        ``sum_j w_j [exists i in selected: a_ij != 0]``.
    """
    csr = _canonical_csr(coverage)
    w = np.asarray(weights, dtype=np.float64)
    rows = np.asarray(selected, dtype=np.int64).ravel()
    if rows.size and (rows.min() < 0 or rows.max() >= csr.shape[0]):
        raise CovkitInputError(f"selected holds indices outside 0..{csr.shape[0] - 1}")
    return float(_covered_weight(csr.indptr, csr.indices, w, rows))


def solve_max_coverage(
    coverage,
    weights,
    budget_sites: int | None = None,
    costs=None,
    budget_cost: float | None = None,
    method: str = "greedy",
    time_limit_s: float | None = None,
    solver_banner: bool = True,
) -> SitingResult:
    """Choose sites that maximise the covered demand weight under a site and/or money budget.

    Parameters
    ----------
    coverage : scipy.sparse matrix, shape (n_candidates, n_demand)
        Candidates x demand cells; a nonzero entry means the candidate covers the cell (any
        sparse format; converted to canonical CSR).
    weights : array_like of float, shape (n_demand,)
        Demand weights (e.g. population [persons]), finite, >= 0.
    budget_sites : int, optional
        Maximum number of sites ``p`` (>= 1).
    costs : array_like of float, shape (n_candidates,), optional
        Cost of each candidate, finite, > 0 (any currency unit; same as ``budget_cost``).
    budget_cost : float, optional
        Money budget ``B`` (> 0); needs ``costs``. At least one of ``budget_sites`` and
        ``budget_cost`` is required; both together are respected together.
    method : {"greedy", "exact"}
        Lazy greedy (fast, certified share of the optimum) or the integer programme with HiGHS.
    time_limit_s : float, optional
        Wall-clock limit for ``"exact"`` [s] (> 0); on expiry the best solution found and the
        proven bound are returned with ``status="time_limit"``. Greedy ignores it.
    solver_banner : bool
        Let HiGHS print its one-per-process version banner (to stderr); ``covkit --quiet``
        turns it off.

    Returns
    -------
    SitingResult
        Selection in pick order, objective, proven bound, gap, greedy's certified share.

    Raises
    ------
    CovkitInputError
        Bad shapes, negative or non-finite weights/costs, non-positive budgets, no budget,
        ``budget_cost`` without ``costs``, unknown ``method``.

    Notes
    -----
    Greedy guarantee: ``1 - 1/e`` of the optimum with ``budget_sites`` alone (Nemhauser et al.
    1978), ``(1 - 1/e) / 2`` with a money budget (Khuller et al. 1999). The ``bound`` is proven
    in both methods (module docstring).
    """
    t0 = time.perf_counter()
    csr, w, budget_sites, c, budget_cost, time_limit_s = _validate(
        coverage, weights, budget_sites, costs, budget_cost, method, time_limit_s
    )
    greedy_sel, greedy_gains, greedy_obj, greedy_bound = _greedy(
        csr, w, budget_sites, c, budget_cost
    )
    if method == "greedy":
        selected, gains, objective = greedy_sel, greedy_gains, greedy_obj
        bound = greedy_bound
        status = "heuristic"
        reduced_shape = None
        if objective >= bound:
            status = "optimal"
    else:
        selected, gains, objective, bound, status, reduced_shape = _exact(
            csr,
            w,
            budget_sites,
            c,
            budget_cost,
            greedy_sel,
            greedy_obj,
            greedy_bound,
            time_limit_s,
            t0,
            solver_banner,
        )
    bound = max(bound, objective)
    gap = (bound - objective) / bound if bound > 0 else 0.0
    share = greedy_obj / bound if bound > 0 else 1.0
    total_cost = float(c[selected].sum()) if c is not None else float(len(selected))
    return SitingResult(
        selected=np.asarray(selected, dtype=np.int64),
        marginal_gains=np.asarray(gains, dtype=np.float64),
        objective=float(objective),
        method=method,
        bound=float(bound),
        gap=float(gap),
        greedy_objective=float(greedy_obj),
        greedy_share_of_optimum=float(min(share, 1.0)),
        total_cost=total_cost,
        run_time_s=time.perf_counter() - t0,
        status=status,
        reduced_shape=reduced_shape,
    )


def _greedy(csr, w, budget_sites, c, budget_cost):
    """Lazy greedy (plus the best single site with a money budget); returns sel, gains, f, bound."""
    n = csr.shape[0]
    use_cost = budget_cost is not None
    costs = c if use_cost else np.ones(n, np.float64)
    p = n if budget_sites is None else min(budget_sites, n)
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64), 0.0, 0.0
    picks, gains, first_gains, bound = _lazy_greedy_kernel(
        csr.indptr, csr.indices, w, costs, p, budget_cost if use_cost else np.inf, use_cost
    )
    objective = float(_covered_weight(csr.indptr, csr.indices, w, picks))
    coverable = float(w[np.unique(csr.indices)].sum()) if csr.nnz else 0.0
    bound = min(float(bound), coverable)
    if not use_cost:
        bound = min(bound, objective / _ONE_MINUS_INV_E)
    else:
        # Khuller-Moss-Naor: the better of cost-effectiveness greedy and the best single site
        affordable = np.flatnonzero(costs <= budget_cost)
        if affordable.size:
            best = int(affordable[np.argmax(first_gains[affordable])])
            if first_gains[best] > objective:
                picks = np.array([best], np.int64)
                gains = np.array([first_gains[best]], np.float64)
                objective = float(first_gains[best])
    return picks, gains, objective, max(bound, objective)


def _pick_order(csr, w, rows):
    """Order ``rows`` greedily by marginal gain (ties: lowest index); drop zero-gain rows."""
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    if rows.size == 0:
        return rows, np.empty(0, np.float64)
    sub = csr[rows]
    picks, gains, _, _ = _lazy_greedy_kernel(
        sub.indptr, sub.indices, w, np.ones(rows.size), rows.size, np.inf, False
    )
    return rows[picks], gains


def _merge_cells(csr, w, cand_idx, cell_idx):
    """Sub-matrix ``csr[cand_idx][:, cell_idx]`` with identical columns merged (weights summed).

    Returns the merged CSR (candidates x groups, sorted) and the group weights.
    """
    a = csr[cand_idx][:, cell_idx].tocsc()
    a.sort_indices()
    hashes = _column_hashes(a.indptr, a.indices)
    labels = _group_equal_columns(a.indptr, a.indices, np.argsort(hashes, kind="stable"), hashes)
    n_groups = int(labels.max()) + 1 if labels.size else 0
    w_groups = np.bincount(labels, weights=w[cell_idx], minlength=n_groups)
    first_col = np.full(n_groups, -1, np.int64)
    first_col[labels[::-1]] = np.arange(labels.size)[::-1]
    merged = a[:, first_col].tocsr()
    merged.sort_indices()
    return merged, w_groups


def _reduce(csr, w, c, budget_cost):
    """Exact reductions of the MCLP (module docstring).

    Returns the reduced CSR (kept candidates x merged cells), the merged weights, the kept
    candidates' costs, the kept candidates' original indices, and for every original candidate
    its dominator (-1 if none). One round of dominance suffices: merging cells with identical
    covering sets and dropping candidates create no new subset relation.
    """
    n, m = csr.shape
    cand_costs = c if budget_cost is not None else np.ones(n, np.float64)
    keep_cand = np.ones(n, bool)
    if budget_cost is not None:
        keep_cand &= cand_costs <= budget_cost  # never affordable
    cand_idx = np.flatnonzero(keep_cand)
    n_cov = np.bincount(csr[cand_idx].indices, minlength=m)
    cell_idx = np.flatnonzero((n_cov > 0) & (w > 0))
    merged, _ = _merge_cells(csr, w, cand_idx, cell_idx)
    csc = merged.tocsc()
    csc.sort_indices()
    dom = _dominated_candidates(
        merged.indptr, merged.indices, csc.indptr, csc.indices, cand_costs[cand_idx]
    )
    dominator = np.full(n, -1, np.int64)
    is_dom = dom >= 0
    dominator[cand_idx[is_dom]] = cand_idx[dom[is_dom]]
    drop = is_dom | (np.diff(merged.indptr) == 0)
    cand_idx = cand_idx[~drop]
    merged, w_groups = _merge_cells(csr, w, cand_idx, cell_idx)
    return merged, w_groups, cand_costs[cand_idx], cand_idx, dominator


def _map_to_kept(rows, keep_pos, dominator):
    """Replace dropped candidates by their (kept) dominators; positions in the reduced model."""
    out = set()
    for r in rows:
        r = int(r)
        seen = 0
        while keep_pos[r] < 0 and dominator[r] >= 0 and seen < dominator.size:
            r = int(dominator[r])
            seen += 1
        if keep_pos[r] >= 0:
            out.add(int(keep_pos[r]))
    return np.array(sorted(out), dtype=np.int64)


_HIGHS_BANNER_SHOWN = False


def _new_highs(banner=True):
    """A ``highspy.Highs`` instance whose one-per-process banner goes to stderr (or nowhere
    with ``banner`` False), not stdout.

    HiGHS prints its version banner from C++ on the first construction, before any option can
    be set; callers such as ``covkit ... --json`` need stdout clean, so fd 1 points at fd 2 (or
    the null device) for that first construction only.
    """
    global _HIGHS_BANNER_SHOWN
    import highspy

    if _HIGHS_BANNER_SHOWN:
        return highspy.Highs()
    _HIGHS_BANNER_SHOWN = True
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        return highspy.Highs()
    try:
        if banner:
            os.dup2(2, 1)
        else:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.close(null)
        return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _exact(
    csr, w, budget_sites, c, budget_cost, greedy_sel, greedy_obj, greedy_bound, time_limit_s, t0,
    banner=True,
):
    """Solve the MCLP with HiGHS; returns sel, gains, objective, bound, status, reduced shape."""
    import highspy

    n = csr.shape[0]
    merged, w_red, c_red, cand_idx, dominator = _reduce(csr, w, c, budget_cost)
    n_red, m_red = merged.shape
    greedy_gains = None
    if m_red == 0 or greedy_obj >= greedy_bound:
        # nothing to cover, or greedy already proven optimal
        sel, gains = _pick_order(csr, w, greedy_sel)
        greedy_gains = gains
        return sel, greedy_gains, greedy_obj, greedy_obj, "optimal", (n_red, m_red)

    # columns: x_0..x_{n_red-1} (binary), y_0..y_{m_red-1} (continuous in [0, 1])
    # rows: y_j - sum_{i covers j} x_i <= 0 (m_red), sum x <= p, sum c x <= B
    blocks_x = [-merged.T.tocsr()]
    row_upper = [np.zeros(m_red)]
    if budget_sites is not None and budget_sites < n_red:
        blocks_x.append(sp.csr_matrix(np.ones((1, n_red))))
        row_upper.append(np.array([float(budget_sites)]))
    if budget_cost is not None:
        blocks_x.append(sp.csr_matrix(c_red.reshape(1, -1)))
        row_upper.append(np.array([budget_cost]))
    a_x = sp.vstack(blocks_x, format="csr")
    n_rows = a_x.shape[0]
    a_y = sp.vstack(
        [sp.identity(m_red, format="csr"), sp.csr_matrix((n_rows - m_red, m_red))], format="csr"
    )
    a_full = sp.hstack([a_x, a_y], format="csc")
    a_full.sort_indices()
    n_cols = n_red + m_red

    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = np.concatenate([np.zeros(n_red), w_red])
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = np.ones(n_cols)
    lp.row_lower_ = np.full(n_rows, -highspy.kHighsInf)
    lp.row_upper_ = np.concatenate(row_upper)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a_full.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a_full.indices.astype(np.int32)
    lp.a_matrix_.value_ = a_full.data.astype(np.float64)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_red + [
        highspy.HighsVarType.kContinuous
    ] * m_red

    h = _new_highs(banner)
    for name, value in HIGHS_OPTIONS.items():
        h.setOptionValue(name, value)  # returns kError (no exception) if unknown: skipped
    if time_limit_s is not None:
        h.setOptionValue("time_limit", max(1e-3, time_limit_s - (time.perf_counter() - t0)))
    h.passModel(lp)

    # warm start: greedy with dropped candidates replaced by their dominators, then improved
    # by add/swap local search on the reduced model
    keep_pos = np.full(n, -1, np.int64)
    keep_pos[cand_idx] = np.arange(n_red)
    start = _map_to_kept(greedy_sel, keep_pos, dominator)
    start = _swap_local_search(
        merged.indptr,
        merged.indices,
        w_red,
        c_red,
        start,
        n_red if budget_sites is None else budget_sites,
        np.inf if budget_cost is None else budget_cost,
        LOCAL_SEARCH_MAX_MOVES,
    )
    start_obj = float(_covered_weight(merged.indptr, merged.indices, w_red, start))
    if start_obj >= greedy_bound:
        # the local search reached the greedy path bound: proven optimal without the MIP
        sel, gains = _pick_order(csr, w, cand_idx[start])
        objective = float(_covered_weight(csr.indptr, csr.indices, w, sel))
        return sel, gains, objective, greedy_bound, "optimal", (n_red, m_red)
    x0 = np.zeros(n_red)
    x0[start] = 1.0
    y0 = np.zeros(m_red)
    if start.size:
        y0 = np.minimum(1.0, np.asarray(merged[start].sum(axis=0)).ravel())
    sol = highspy.HighsSolution()
    sol.col_value = np.concatenate([x0, y0]).tolist()
    sol.value_valid = True
    h.setSolution(sol)

    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    bound = float(info.mip_dual_bound)
    if not math.isfinite(bound):
        bound = greedy_bound
    bound = min(bound, greedy_bound)
    status_map = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kTimeLimit: "time_limit",
    }
    status = status_map.get(model_status, h.modelStatusToString(model_status).lower())

    # the best of the MIP incumbent, the warm start and greedy, evaluated on the input matrix
    options = [greedy_sel, cand_idx[start]]
    if info.primal_solution_status == highspy.kSolutionStatusFeasible:
        x = np.asarray(h.getSolution().col_value[:n_red])
        options.insert(0, cand_idx[np.flatnonzero(x > 0.5)])
    values = [float(_covered_weight(csr.indptr, csr.indices, w, rows)) for rows in options]
    best = int(np.argmax(values))  # first of equals: MIP, then warm start, then greedy
    sel, gains = _pick_order(csr, w, options[best])
    return sel, gains, values[best], bound, status, (n_red, m_red)
