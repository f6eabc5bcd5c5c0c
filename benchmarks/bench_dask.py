"""The national scenario on a local Dask cluster against the single-process run.

Usage::

    python benchmarks/bench_dask.py [--json PATH] [--scale S] [--workers 1,2] [--work DIR]
        [--seed N] [--no-warmup]

Builds ``covkit scenario national`` (P.1812, 100 m, R = 10 km; ``--scale`` for a share of the
full size), then runs, each ``covkit -q run --no-map`` in its own subprocess and one after the
other:

- ``single``: one process on every core of the machine (the Numba threads of the fold);
- ``dask_N`` for each N of ``--workers``: ``--dask local:N``, a LocalCluster of N worker
  processes of one thread each, started by the run (its start-up is in the figure).

Printed side by side: wall time, CPU time of the run (user + system, from ``os.wait4``:
the run's process and the LocalCluster's worker processes it started), the run's own
path-loss-and-fold stage
(``timings_s`` of ``kpi_summary.json``), the speed-up from the fewest to the most workers and
the overhead of the Dask run at the machine's core count against the single-process run (goal,
issue 14: at most 15 % slower). The headline KPIs of every run must be equal (checked). A tiny
untimed run first fills the Numba cache (``--no-warmup`` skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from bench_national import measure  # the script's own folder is on sys.path

ROOT = Path(__file__).resolve().parents[1]
GOAL_OVERHEAD = 0.15
SAME = ("population_coverage_pct", "non_remote_population_coverage_pct", "population_covered",
        "cells_computed", "pixel_evaluations")


def covkit(argv, log: Path) -> dict:
    """``python -m covkit -q ARGV`` in a subprocess (:func:`bench_national.measure`): wall
    [s] and the CPU time [s] of it and of the child processes it waited for (a LocalCluster's
    workers)."""
    row = measure(argv, log)
    return {"wall_s": row["wall_s"], "cpu_s": row["cpu_s"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    ap.add_argument("--scale", type=float, default=1.0, help="share of the national scenario")
    ap.add_argument("--workers", default="1,2", help="local worker counts, comma separated")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, help="folder for scenario, runs and logs")
    ap.add_argument("--no-warmup", action="store_true")
    args = ap.parse_args(argv)
    workers = sorted({int(w) for w in args.workers.split(",") if w.strip()})
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory(prefix="covkit-dask-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        logs = work / "logs"
        logs.mkdir(exist_ok=True)
        print(f"covkit Dask benchmark: {cores} cores, load average "
              f"{os.getloadavg()[0]:.2f}, national scenario at scale {args.scale:g}", flush=True)
        if not args.no_warmup:
            warm = work / "warmup"
            covkit(["scenario", "national", "--out", warm, "--scale", 0.002, "--radius-km", 2],
                   logs / "warmup_build.log")
            covkit(["run", warm / "scenario.toml", "--out", work / "warmup-run", "--no-map",
                    "--dask", "local:1"], logs / "warmup_run.log")
        covkit(["scenario", "national", "--out", work / "national", "--seed", args.seed,
                "--scale", args.scale], logs / "build.log")
        toml = work / "national" / "scenario.toml"
        plan = [("single", [])] + [(f"dask_{n}", ["--dask", f"local:{n}"]) for n in workers]
        rows = {}
        for name, extra in plan:
            out = work / name
            row = covkit(["run", toml, "--out", out, "--no-map", *extra], logs / f"{name}.log")
            summary = json.loads((out / "kpi_summary.json").read_text(encoding="utf-8"))
            row["path_loss_and_fold_s"] = summary.get("timings_s", {}).get("path_loss_and_fold")
            row["kpis"] = {k: summary.get(k) for k in SAME}
            rows[name] = row
            print(f"  {name:>8}: {row['wall_s']:7.1f} s wall, fold {row['path_loss_and_fold_s']}"
                  f" s, CPU {row['cpu_s']:.1f} s", flush=True)

    same = all(r["kpis"] == rows["single"]["kpis"] for r in rows.values())
    few, many = f"dask_{workers[0]}", f"dask_{workers[-1]}"
    speedup = rows[few]["wall_s"] / rows[many]["wall_s"]
    at_cores = f"dask_{cores}" if f"dask_{cores}" in rows else many
    overhead = rows[at_cores]["wall_s"] / rows["single"]["wall_s"] - 1.0
    print()
    print(f"{'run':>10} {'wall s':>8} {'fold s':>8} {'CPU s':>13}")
    for name, r in rows.items():
        print(f"{name:>10} {r['wall_s']:8.1f} {r['path_loss_and_fold_s'] or 0:8.1f} "
              f"{r['cpu_s']:13.1f}")
    print(f"speed-up {few} -> {many}: {speedup:.2f}x")
    verdict = "met" if overhead <= GOAL_OVERHEAD else "NOT met"
    print(f"{at_cores} against single ({cores} cores): {overhead * 100:+.1f} % "
          f"(goal <= +{GOAL_OVERHEAD * 100:.0f} %: {verdict})")
    print(f"same headline KPIs in every run: {same}")
    if args.json:
        data = {"cores": cores, "scale": args.scale, "runs": rows,
                "single_wall_s": rows["single"]["wall_s"],
                **{f"{n}_wall_s": rows[n]["wall_s"] for n in rows if n != "single"},
                "speedup": speedup, "overhead_vs_single": overhead,
                "overhead_goal_met": overhead <= GOAL_OVERHEAD, "same_kpis": same}
        args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
