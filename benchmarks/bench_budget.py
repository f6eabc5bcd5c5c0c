"""Measured against estimated memory and time of coverage runs (``covkit.coverage.budget``).

Usage::

    python benchmarks/bench_budget.py [--resolutions 200,100,70,50] [--model p1812]
                                      [--radius-km 10] [--scenario S.toml] [--fit]
                                      [--json PATH]

Each run is the demo island at one resolution in a fresh Python process (so its peak RSS is
its own): the estimate of :func:`covkit.coverage.budget.plan_run` first, then
``covkit.load_inputs``, ``covkit.run`` and ``CoverageResult.write``, timed by stage (the path
loss and sector fold of ``compute_layers``, wall and CPU time of the whole process), with the
peak RSS (``VmHWM``, :func:`covkit.coverage.budget.peak_rss_bytes`) after each stage. A first
process at 1000 m compiles the kernels into
Numba's cache (compiling takes memory of its own, which the estimate does not count), and each
process warms up at 1000 m outside the timed region. The table gives per resolution the cells, the
measured and estimated peak and their ratio, the measured and estimated time of each stage.
``--fit`` also prints the least-squares slope and intercept of peak RSS against cells (the
``BASE_BYTES`` and bytes-per-cell of the memory model) and the measured rates.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, tempfile, time
import covkit
from covkit.coverage import budget as B
from covkit.coverage import run as R

def rss():
    return B.peak_rss_bytes()

toml, res, model, radius, warm = sys.argv[1], float(sys.argv[2]), sys.argv[3], \
    float(sys.argv[4]), sys.argv[5] == "1"
sc = covkit.load_scenario(toml).replace(scenario={"resolution_m": res},
                                        propagation={"model": model,
                                                     "max_radius_km": radius})
if warm:
    covkit.run(covkit.load_inputs(sc.replace(scenario={"resolution_m": 1000.0})))
out = {"rss_start": rss()}
t = time.perf_counter()
est = B.plan_run(sc)
out["plan_s"] = time.perf_counter() - t
out["estimate"] = est.to_dict()
acc = {"layers": 0.0, "layers_cpu": 0.0}
cpu = time.process_time  # the whole process: every thread
orig = R.compute_layers
def compute_layers(*a, **k):
    t, c = time.perf_counter(), cpu(); r = orig(*a, **k)
    acc["layers"] += time.perf_counter() - t; acc["layers_cpu"] += cpu() - c; return r
R.compute_layers = compute_layers
t0, c0 = time.perf_counter(), cpu()
inputs = covkit.load_inputs(sc)
out["load_s"], out["load_cpu_s"] = time.perf_counter() - t0, cpu() - c0
out["rss_load"] = rss()
t, c = time.perf_counter(), cpu()
result = covkit.run(inputs)
out["run_s"], out["run_cpu_s"] = time.perf_counter() - t, cpu() - c
out["rss_run"] = rss()
with tempfile.TemporaryDirectory() as tmp:
    t, c = time.perf_counter(), cpu()
    result.write(tmp)
    out["write_s"], out["write_cpu_s"] = time.perf_counter() - t, cpu() - c
out["rss_peak"] = rss()
out.update({f"{k}_s": v for k, v in acc.items()})
out["groups"] = result.summary["stations"]["site_frequency_groups"]
print(json.dumps(out))
"""


def measure(toml: Path, res: float, model: str, radius_km: float, warm: bool) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(toml), str(res), model,
                           str(radius_km), "1" if warm else "0"], capture_output=True,
                          text=True, cwd=ROOT, env=_env(), check=False)
    if proc.returncode != 0:
        raise SystemExit(f"run at {res:g} m failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _env():
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"]
                                     if env.get("PYTHONPATH") else "")
    return env


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resolutions", default="200,100,70,50",
                    help="comma-separated grid resolutions [m] of the demo island")
    ap.add_argument("--scenario", type=Path,
                    help="a scenario TOML to run instead of the demo island")
    ap.add_argument("--model", default=None,
                    help="propagation.model (default: the scenario's; the demo's is p1812)")
    ap.add_argument("--radius-km", type=float, default=10.0)
    ap.add_argument("--fit", action="store_true", help="print the fitted model constants")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import covkit

    resolutions = [float(r) for r in args.resolutions.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        toml = args.scenario or covkit.write_demo(Path(tmp) / "scenario")
        model = args.model or covkit.load_scenario(toml).propagation.model
        # compile the kernels into Numba's cache in a process of its own first: compiling takes
        # memory (LLVM) no estimate counts, and would set the first run's peak RSS
        measure(toml, 1000.0, model, args.radius_km, warm=False)
        for res in resolutions:
            m = measure(toml, res, model, args.radius_km, warm=True)
            e = m["estimate"]
            rows.append({"resolution_m": res, "cells": e["cells"], "groups": m["groups"],
                         "pixel_evaluations": e["pixel_evaluations"],
                         "sector_pixel_evaluations": e["sector_pixel_evaluations"],
                         "peak_rss_mb": m["rss_peak"] / 1e6,
                         "estimated_peak_mb": e["peak_bytes"] / 1e6,
                         "peak_ratio": e["peak_bytes"] / m["rss_peak"],
                         "rss_after_load_mb": m["rss_load"] / 1e6,
                         "load_s": m["load_s"], "layers_s": m["layers_s"],
                         "kpi_s": m["run_s"] - m["layers_s"] + m["write_s"],
                         "wall_s": m["load_s"] + m["run_s"] + m["write_s"],
                         "load_cpu_s": m["load_cpu_s"], "layers_cpu_s": m["layers_cpu_s"],
                         "kpi_cpu_s": m["run_cpu_s"] - m["layers_cpu_s"] + m["write_cpu_s"],
                         "cpu_s": m["load_cpu_s"] + m["run_cpu_s"] + m["write_cpu_s"],
                         "estimated_s": e["seconds"],
                         "estimated_time_s": e["time_s"], "plan_s": m["plan_s"],
                         "time_ratio": e["seconds"] / (m["load_s"] + m["run_s"]
                                                       + m["write_s"])})
    head = ("res m", "cells", "peak MB", "est MB", "est/meas", "wall s", "cpu s", "est s",
            "est/wall", "layers s", "est", "load s", "est", "kpi s", "est")
    print(" | ".join(head))
    for r in rows:
        t = r["estimated_time_s"]
        print(" | ".join([f"{r['resolution_m']:g}", f"{r['cells']:,}",
                          f"{r['peak_rss_mb']:,.0f}", f"{r['estimated_peak_mb']:,.0f}",
                          f"{r['peak_ratio']:.2f}", f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}",
                          f"{r['estimated_s']:.1f}", f"{r['time_ratio']:.2f}",
                          f"{r['layers_s']:.1f}", f"{t['path loss and sector fold']:.1f}",
                          f"{r['load_s']:.1f}", f"{t['reading the inputs']:.1f}",
                          f"{r['kpi_s']:.1f}", f"{t['KPIs and files']:.1f}"]))
    if args.fit and len(rows) >= 2:
        from covkit.coverage import budget as B

        cells = np.array([r["cells"] for r in rows], dtype=float)
        peak = np.array([r["peak_rss_mb"] * 1e6 for r in rows])
        slope, intercept = np.polyfit(cells, peak, 1)
        px = np.array([r["pixel_evaluations"] for r in rows])
        spx = np.array([r["sector_pixel_evaluations"] for r in rows])
        layers = np.array([r["layers_cpu_s"] for r in rows])
        kpi = np.array([r["kpi_cpu_s"] for r in rows])
        load = np.array([r["load_cpu_s"] for r in rows])
        pl_cpu = layers.sum() - spx.sum() / B.FOLD_PX_PER_S
        print(f"peak RSS = {intercept / 1e6:,.0f} MB + {slope:.1f} B/cell; path loss "
              f"{px.sum() / pl_cpu:.3g} px per CPU-s (the layers' CPU time less the fold at "
              f"{B.FOLD_PX_PER_S:.3g} sector-px per CPU-s); layers {px.sum() / layers.sum():.3g}"
              f" px per CPU-s in all; load {cells.sum() / load.sum():.3g} cells per CPU-s; "
              f"kpis + files {cells.sum() / kpi.sum():.3g} cells per CPU-s")
    if args.json:
        args.json.write_text(json.dumps({"scenario": str(args.scenario or "demo"),
                                         "model": model, "radius_km": args.radius_km,
                                         "runs": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
