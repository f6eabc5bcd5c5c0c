"""Start-up of the command line: ``covkit --help``, one ``covkit pathloss`` link, and the first
``covkit demo`` on a fresh install (empty Numba cache) against a warm one.

Every figure is the wall time of a fresh ``python -m covkit ...`` process, as a user's shell
starts it (median of N runs; the demo runs once each). The Numba cache is a temporary folder
(``NUMBA_CACHE_DIR``): "cold" is its first use, "warm" the runs after it.

    python benchmarks/bench_startup.py                  # all, 5 runs of the short commands
    python benchmarks/bench_startup.py --no-demo        # --help and pathloss only (~1 min)
    python benchmarks/bench_startup.py --json out.json

Goals (issue 16): ``--help`` < 0.5 s, one pathloss link < 1.5 s, the cold demo within 1.5x
the warm demo.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROFILE = "distance_km,height_m\n" + "".join(f"{i * 0.1:.1f},{100 + 3 * i}\n" for i in range(51))


def _env(cache_dir: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTHONWARNINGS", None)
    return env


def _time(argv, env, cwd) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "covkit", *argv], env=env, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs of each short command")
    ap.add_argument("--no-demo", action="store_true", help="skip the cold and warm demo")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    args = ap.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory(prefix="covkit-startup-") as tmp:
        tmp = Path(tmp)
        cache = tmp / "numba-cache"
        cache.mkdir()
        env = _env(cache)
        prof = tmp / "profile.csv"
        prof.write_text(PROFILE)
        link = ["pathloss", "--profile", str(prof), "--freq-mhz", "3500", "--tx-height-m", "30",
                "--rx-height-m", "1.5"]
        cases = [
            ("covkit --help", ["--help"], 0.5),
            ("covkit --version", ["--version"], None),
            ("pathloss, P.1812 link", link, 1.5),
            ("pathloss, Hata link (900 MHz)",
             [*link[:1], "--model", "hata", *link[1:4], "900", *link[5:]], 1.5),
        ]
        for _, case_argv, _ in cases:  # fill the cache (the first P.1812 link compiles)
            _time(case_argv, env, tmp)
        for name, case_argv, goal in cases:
            times = [_time(case_argv, env, tmp) for _ in range(args.runs)]
            rows.append({"figure": name, "median_s": statistics.median(times),
                         "min_s": min(times), "runs": args.runs, "goal_s": goal})
        if not args.no_demo:
            demo_cache = tmp / "numba-cache-demo"
            demo_cache.mkdir()
            denv = _env(demo_cache)
            cold = _time(["-q", "demo", "--out", str(tmp / "demo-cold")], denv, tmp)
            warm = _time(["-q", "demo", "--out", str(tmp / "demo-warm")], denv, tmp)
            rows.append({"figure": "demo, cold (empty Numba cache)", "median_s": cold,
                         "min_s": cold, "runs": 1, "goal_s": None})
            rows.append({"figure": "demo, warm", "median_s": warm, "min_s": warm, "runs": 1,
                         "goal_s": None})
            rows.append({"figure": "demo cold / warm", "ratio": cold / warm, "goal": 1.5})

    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on every platform
        load = float("nan")
    print(f"covkit start-up ({os.cpu_count()} cores, load average {load:.2f}; "
          "fresh processes, wall time)")
    print(f"{'figure':34s} {'median':>9s} {'min':>9s} {'runs':>5s} {'goal':>8s}")
    for r in rows:
        if "ratio" in r:
            print(f"{r['figure']:34s} {r['ratio']:8.2f}x {'':>9s} {'':>5s} "
                  f"{r['goal']:7.1f}x")
            continue
        goal = "" if r["goal_s"] is None else f"< {r['goal_s']:g} s"
        print(f"{r['figure']:34s} {r['median_s']:8.2f}s {r['min_s']:8.2f}s {r['runs']:5d} "
              f"{goal:>8s}")
    if args.json:
        args.json.write_text(json.dumps({"load_average": load, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
