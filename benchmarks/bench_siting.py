"""Benchmark of the site-selection optimiser: covkit greedy, covkit exact, PySAL spopt MCLP.

Usage::

    python benchmarks/bench_siting.py [--sizes small|all] [--json PATH] [--p 20] [--seed 0]
                                      [--spopt-solver highs|cbc] [--no-spopt]

Instances (seeded, identical for every method): demand cells at random points of a unit
square, candidates at random points; every candidate covers the demand cells inside a disc of
random radius around it (about 10 cells on average, so the matrix is as sparse as a real
coverage matrix of new coverage); demand weights are lognormal (population per cell).
Tiers: small 5,000 x 200; all adds 20,000 x 500 and 50,000 x 1,000 (candidates x demand).

spopt's ``MCLP.from_cost_matrix`` is timed on model build + solve (``results=False``), given a
0/1 "distance" matrix (0 = covers) and ``service_radius=0.5``; its solver is HiGHS through pulp
when pulp has it (the same solver as covkit, so the comparison isolates the model), else pulp's
bundled CBC. spopt is optional: when it is not installed the benchmark says so and skips it.

Goals (issue 5, at 20,000 x 500, p = 20): greedy < 50 ms; exact reaches spopt's optimum at
least 10x faster than spopt's total (model build + solve).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from covkit.coverage.siting import covered_weight, solve_max_coverage  # noqa: E402

TIERS = {
    "small": [(5_000, 200)],
    "all": [(5_000, 200), (20_000, 500), (50_000, 1_000)],
}
MEAN_CELLS_PER_CANDIDATE = 10.0
GREEDY_GOAL_S = 0.050
SPEEDUP_GOAL = 10.0


def make_instance(n_candidates: int, n_demand: int, seed: int = 0):
    """Seeded random instance: coverage CSR (candidates x demand) and lognormal weights.

    Each candidate covers the demand cells within a disc around it; the disc radius is drawn
    so that a candidate covers ``MEAN_CELLS_PER_CANDIDATE`` cells on average (uniform in
    [0.5, 1.5] x the mean radius, so discs differ and many candidates are nested).
    """
    rng = np.random.default_rng(seed)
    demand_xy = rng.random((n_demand, 2))
    cand_xy = rng.random((n_candidates, 2))
    r_mean = math.sqrt(MEAN_CELLS_PER_CANDIDATE / (math.pi * n_demand))
    radius = r_mean * rng.uniform(0.5, 1.5, n_candidates)
    tree = cKDTree(demand_xy)
    lists = tree.query_ball_point(cand_xy, radius)
    lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=n_candidates)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.fromiter((j for x in lists for j in sorted(x)), dtype=np.int64, count=indptr[-1])
    coverage = sp.csr_matrix(
        (np.ones(indices.size, np.int8), indices, indptr), shape=(n_candidates, n_demand)
    )
    weights = rng.lognormal(mean=4.0, sigma=1.2, size=n_demand)
    return coverage, weights


def time_greedy(coverage, weights, p: int, repeats: int = 7):
    """Best-of wall time of covkit greedy (kernel compiled beforehand)."""
    best = math.inf
    result = None
    for _ in range(repeats):
        t = time.perf_counter()
        result = solve_max_coverage(coverage, weights, budget_sites=p, method="greedy")
        best = min(best, time.perf_counter() - t)
    return result, best


def time_exact(coverage, weights, p: int, time_limit_s: float):
    t = time.perf_counter()
    result = solve_max_coverage(
        coverage, weights, budget_sites=p, method="exact", time_limit_s=time_limit_s
    )
    return result, time.perf_counter() - t


def spopt_available():
    try:
        import pulp  # noqa: F401
        from spopt.locate import MCLP  # noqa: F401
    except ImportError as exc:
        return False, str(exc)
    return True, ""


def run_spopt(coverage, weights, p: int, solver_name: str, time_limit_s: float):
    """spopt MCLP: model build + solve; returns (selected, objective, build_s, solve_s, solver)."""
    import pulp
    from spopt.locate import MCLP

    # spopt wants a dense clients x facilities cost matrix: 0 where covered, 1 elsewhere
    cost_matrix = np.ones((coverage.shape[1], coverage.shape[0]), dtype=np.float64)
    coo = coverage.tocoo()
    cost_matrix[coo.col, coo.row] = 0.0
    available = pulp.listSolvers(onlyAvailable=True)
    if solver_name == "highs" and "HiGHS" in available:
        solver = pulp.HiGHS(msg=False, timeLimit=time_limit_s)
        used = "HiGHS (pulp)"
    else:
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s)
        used = "CBC (pulp)"
    t = time.perf_counter()
    model = MCLP.from_cost_matrix(cost_matrix, weights, service_radius=0.5, p_facilities=p)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    model.solve(solver, results=False)
    solve_s = time.perf_counter() - t
    selected = np.array(
        [i for i, v in enumerate(model.fac_vars) if v.value() is not None and v.value() > 0.5],
        dtype=np.int64,
    )
    objective = covered_weight(coverage, weights, selected)
    status = pulp.LpStatus[model.problem.status]
    return selected, objective, build_s, solve_s, used, status


def fmt_s(x):
    if x is None:
        return "-"
    return f"{x * 1e3:.1f} ms" if x < 1 else f"{x:.2f} s"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", choices=sorted(TIERS), default="small")
    parser.add_argument("--json", type=Path, default=None, help="write the figures as JSON here")
    parser.add_argument("--p", type=int, default=20, help="site budget (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit-s", type=float, default=600.0, help="per exact solve")
    parser.add_argument("--spopt-solver", choices=["highs", "cbc"], default="highs")
    parser.add_argument("--no-spopt", action="store_true", help="skip spopt even if installed")
    args = parser.parse_args(argv)

    have_spopt, why = spopt_available()
    if args.no_spopt:
        have_spopt, why = False, "--no-spopt given"
    if not have_spopt:
        print(f"spopt skipped: {why} (pip install spopt to compare; it is not a covkit dependency)")

    # warm-up: compile the kernels outside the timed region
    cov0, w0 = make_instance(200, 50, seed=123)
    solve_max_coverage(cov0, w0, budget_sites=5, method="greedy")
    solve_max_coverage(cov0, w0, budget_sites=5, method="exact")

    rows = []
    for n_cand, n_dem in TIERS[args.sizes]:
        t = time.perf_counter()
        coverage, weights = make_instance(n_cand, n_dem, seed=args.seed)
        gen_s = time.perf_counter() - t
        g, g_s = time_greedy(coverage, weights, args.p)
        e, e_s = time_exact(coverage, weights, args.p, args.time_limit_s)
        row = {
            "n_candidates": n_cand,
            "n_demand": n_dem,
            "nnz": int(coverage.nnz),
            "p": args.p,
            "generate_s": gen_s,
            "greedy_objective": g.objective,
            "greedy_s": g_s,
            "greedy_bound": g.bound,
            "greedy_gap": g.gap,
            "exact_objective": e.objective,
            "exact_s": e_s,
            "exact_bound": e.bound,
            "exact_gap": e.gap,
            "exact_status": e.status,
            "exact_reduced_shape": list(e.reduced_shape) if e.reduced_shape else None,
            "greedy_share_of_optimum": e.greedy_share_of_optimum,
            "spopt_objective": None,
            "spopt_build_s": None,
            "spopt_solve_s": None,
            "spopt_total_s": None,
            "spopt_solver": None,
            "spopt_status": None,
        }
        if have_spopt:
            sel, obj, b_s, s_s, used, status = run_spopt(
                coverage, weights, args.p, args.spopt_solver, args.time_limit_s
            )
            row.update(
                spopt_objective=obj,
                spopt_build_s=b_s,
                spopt_solve_s=s_s,
                spopt_total_s=b_s + s_s,
                spopt_solver=used,
                spopt_status=status,
            )
        best_bound = min(g.bound, e.bound)
        row["best_bound"] = best_bound
        for key in ("greedy", "exact", "spopt"):
            obj = row[f"{key}_objective"]
            row[f"{key}_ratio_to_bound"] = None if obj is None else obj / best_bound
        row["exact_speedup_vs_spopt"] = (
            row["spopt_total_s"] / e_s if row["spopt_total_s"] is not None else None
        )
        row["exact_reaches_spopt"] = (
            e.objective >= row["spopt_objective"] * (1 - 1e-9)
            if row["spopt_objective"] is not None
            else None
        )
        rows.append(row)

    header = (
        f"{'candidates x demand':>20} {'nnz':>8} | {'greedy obj':>12} {'time':>9} {'/bound':>7} | "
        f"{'exact obj':>12} {'time':>9} {'/bound':>7} {'status':>10} | "
        f"{'spopt obj':>12} {'time':>9} {'/bound':>7} | {'speed-up':>8}"
    )
    print(f"p = {args.p}, seed = {args.seed}; /bound = objective / best proven bound")
    print(header)
    print("-" * len(header))
    for r in rows:
        sp_obj = "-" if r["spopt_objective"] is None else f"{r['spopt_objective']:12.1f}"
        sp_ratio = "-" if r["spopt_ratio_to_bound"] is None else f"{r['spopt_ratio_to_bound']:.5f}"
        speed = (
            "-" if r["exact_speedup_vs_spopt"] is None else f"{r['exact_speedup_vs_spopt']:.1f}x"
        )
        print(
            f"{r['n_candidates']:>9,} x {r['n_demand']:>8,} {r['nnz']:>8,} | "
            f"{r['greedy_objective']:12.1f} {fmt_s(r['greedy_s']):>9} "
            f"{r['greedy_ratio_to_bound']:7.5f} | "
            f"{r['exact_objective']:12.1f} {fmt_s(r['exact_s']):>9} "
            f"{r['exact_ratio_to_bound']:7.5f} {r['exact_status']:>10} | "
            f"{sp_obj:>12} {fmt_s(r['spopt_total_s']):>9} {sp_ratio:>7} | {speed:>8}"
        )
    for r in rows:
        if r["spopt_total_s"] is not None:
            print(
                f"  {r['n_candidates']:,} x {r['n_demand']:,}: spopt {r['spopt_solver']} "
                f"build {fmt_s(r['spopt_build_s'])} + solve {fmt_s(r['spopt_solve_s'])} "
                f"({r['spopt_status']}); covkit exact reduced model "
                f"{r['exact_reduced_shape'][0]:,} x {r['exact_reduced_shape'][1]:,}; "
                f"greedy certified share {r['greedy_share_of_optimum']:.4f}"
            )
    goals = {}
    for r in rows:
        if (r["n_candidates"], r["n_demand"]) == (20_000, 500):
            goals["greedy_under_50ms"] = r["greedy_s"] < GREEDY_GOAL_S
            if r["exact_speedup_vs_spopt"] is not None:
                goals["exact_10x_spopt"] = bool(
                    r["exact_reaches_spopt"] and r["exact_speedup_vs_spopt"] >= SPEEDUP_GOAL
                )
    if goals:
        print("goals at 20,000 x 500:", ", ".join(f"{k}={v}" for k, v in goals.items()))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "siting",
            "sizes": args.sizes,
            "p": args.p,
            "seed": args.seed,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "spopt": have_spopt,
            "spopt_skip_reason": None if have_spopt else why,
            "goals": goals,
            "rows": rows,
        }
        args.json.write_text(json.dumps(payload, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
