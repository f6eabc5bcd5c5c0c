"""Benchmark of the coverage run (``covkit.run``) on the demo island.

Usage::

    python benchmarks/bench_coverage.py [--tiers small|all] [--json PATH] [--keep DIR]

Tiers (the demo island: 1000 x 620 cells of 100 m, 744 sectors on 235 sites):

- ``small``: the demo with ``fspl`` and a 5 km radius (smoke test, a few seconds);
- ``all`` adds the demo with ``fspl`` at 10 km and with ``p1812`` at 10 km (the demo as
  shipped).

For each run it prints wall time of the whole run (loading excluded; a warm-up run at a 1 km
radius the first time each model appears, so that JIT compilation or cache loading is outside
the timed region), the time of the
per-site reduction kernel, cells computed, site-frequency groups per second and the headline
population coverage.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import covkit  # noqa: E402
from covkit.coverage import radio as R  # noqa: E402  (the timed kernel)

TIERS = {
    "small": [("fspl", 5.0)],
    "all": [("fspl", 5.0), ("fspl", 10.0), ("p1812", 10.0)],
}


def _timed_reduce():
    acc = {"s": 0.0}
    orig = R.fold_site_window

    def wrapper(*args):
        t = time.perf_counter()
        orig(*args)
        acc["s"] += time.perf_counter() - t

    return wrapper, acc, orig


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiers", choices=sorted(TIERS), default="small")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    ap.add_argument("--keep", type=Path, help="folder for the demo files (default: temporary)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        base = covkit.load_scenario(covkit.write_demo(folder / "scenario"))
        rows = []
        warmed = set()
        for model, radius_km in TIERS[args.tiers]:
            sc = base.replace(propagation={"model": model, "max_radius_km": radius_km})
            inputs = covkit.load_inputs(sc)
            if model not in warmed:  # JIT warm-up of this model's kernels, untimed
                small = sc.replace(propagation={"max_radius_km": 1.0})
                covkit.run(covkit.load_inputs(small))
                warmed.add(model)
            wrapper, acc, orig = _timed_reduce()
            R.fold_site_window = wrapper
            try:
                t0 = time.perf_counter()
                res = covkit.run(inputs)
                wall = time.perf_counter() - t0
            finally:
                R.fold_site_window = orig
            groups = res.summary["stations"]["site_frequency_groups"]
            rows.append({
                "model": model, "radius_km": radius_km, "wall_s": round(wall, 3),
                "reduce_s": round(acc["s"], 3), "groups": groups,
                "groups_per_s": round(groups / wall, 2),
                "cells_computed": res.summary["cells_computed"],
                "population_coverage_pct": round(res.summary["population_coverage_pct"], 3),
            })

    cols = list(rows[0])
    print(" | ".join(cols))
    print(" | ".join("---" for _ in cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))
    if args.json:
        doc = {"benchmark": "coverage", "python": platform.python_version(),
               "machine": platform.machine(), "rows": rows}
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
