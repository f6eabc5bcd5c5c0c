"""Start-up of the command line: ``covkit --help``, one ``covkit pathloss`` link, and the first
``covkit demo`` on a fresh install against a warm one.

Every figure is the wall time of a fresh ``python -m covkit ...`` process, as a user's shell
starts it (median of N runs), with its CPU time (user + system, all threads) beside it. The
Numba cache is a temporary folder (``NUMBA_CACHE_DIR``): "cold" is its first use, "warm" the
runs after it. Each demo round is a cold demo into a new empty cache then a warm one on that
cache; the ratio row is the median of the rounds' cold / warm ratios. The machine may be
shared: the load average is printed, and the CPU times are less sensitive to it than the wall
times.

    python benchmarks/bench_startup.py                  # all, 5 runs of the short commands
    python benchmarks/bench_startup.py --demo-runs 3    # three cold / warm demo rounds
    python benchmarks/bench_startup.py --no-demo        # --help and pathloss only (~1 min)
    python benchmarks/bench_startup.py --json out.json
    python benchmarks/bench_startup.py --no-demo --runs 1 --fresh-install   # ~5 min, PyPI

``--fresh-install`` measures what a new user sees: a ``git clone`` of this checkout's HEAD
into a temporary folder, a new virtual environment, the README's ``pip install -e .`` (timed;
it compiles the kernels into the clone, see ``build_backend/covkit_build.py``), then the first
``covkit -q demo`` and a second one; and the same install with ``COVKIT_PRECOMPILE=0`` (no
compile at install) for comparison. It needs PyPI or pip's cache of the dependencies.

Goals (issue 16): ``--help`` < 0.5 s, one pathloss link < 1.5 s, the first demo on a fresh
install within 1.5x the warm demo.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
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


def _run(argv, env, cwd, command=(sys.executable, "-m", "covkit")) -> tuple[float, float]:
    """Wall and CPU time [s] (user + system of the child, all its threads) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([*command, *argv], env=env, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _time(argv, env, cwd) -> float:
    return _run(argv, env, cwd)[0]


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on every platform
        return float("nan")


def fresh_install(tmp: Path, precompile: bool) -> dict:
    """Clone HEAD, new venv, ``pip install -e .``, then two demos: their wall and CPU times."""
    src = tmp / ("clone" if precompile else "clone-no-precompile")
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(src)], check=True)
    venv = src / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH", "PYTHONWARNINGS", "VIRTUAL_ENV")}
    env["COVKIT_PRECOMPILE"] = "1" if precompile else "0"
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    install = _run(["install", "-q", "-e", "."], env, src, command=(str(venv / "bin" / "pip"),))
    covkit = (str(venv / "bin" / "covkit"),)
    first = _run(["-q", "demo", "--out", str(src / "demo-1")], env, src, command=covkit)
    second = _run(["-q", "demo", "--out", str(src / "demo-2")], env, src, command=covkit)
    shutil.rmtree(src, ignore_errors=True)
    return {"precompile": precompile, "install_s": install[0], "install_cpu_s": install[1],
            "first_demo_s": first[0], "first_demo_cpu_s": first[1], "second_demo_s": second[0],
            "second_demo_cpu_s": second[1], "ratio": first[0] / second[0]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs of each short command")
    ap.add_argument("--no-demo", action="store_true", help="skip the cold and warm demo")
    ap.add_argument("--demo-runs", type=int, default=1,
                    help="cold / warm demo rounds (each cold run on a new empty cache)")
    ap.add_argument("--fresh-install", action="store_true",
                    help="also time a fresh clone's pip install -e . and its first and second "
                         "demo, with and without the compile at install (needs PyPI or pip's "
                         "cache)")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    args = ap.parse_args(argv)

    rows = []
    demo_rounds = []
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
            rounds = []
            for i in range(max(1, args.demo_runs)):
                demo_cache = tmp / f"numba-cache-demo-{i}"
                demo_cache.mkdir()
                denv = _env(demo_cache)
                load0 = _load()
                cold = _run(["-q", "demo", "--out", str(tmp / f"demo-cold-{i}")], denv, tmp)
                warm = _run(["-q", "demo", "--out", str(tmp / f"demo-warm-{i}")], denv, tmp)
                rounds.append({"cold_s": cold[0], "cold_cpu_s": cold[1], "warm_s": warm[0],
                               "warm_cpu_s": warm[1], "ratio": cold[0] / warm[0],
                               "load_before": load0, "load_after": _load()})
            n = len(rounds)
            for key, name in (("cold", "demo, empty Numba cache"), ("warm", "demo, warm")):
                walls = [r[f"{key}_s"] for r in rounds]
                rows.append({"figure": name, "median_s": statistics.median(walls),
                             "min_s": min(walls), "runs": n, "goal_s": None,
                             "cpu_s": statistics.median(r[f"{key}_cpu_s"] for r in rounds)})
            rows.append({"figure": "demo empty cache / warm", "ratio": statistics.median(
                r["ratio"] for r in rounds), "goal": None, "runs": n,
                "cpu_ratio": statistics.median(r["cold_cpu_s"] / r["warm_cpu_s"]
                                               for r in rounds)})
            demo_rounds = rounds
        installs = [fresh_install(tmp, p) for p in (True, False)] if args.fresh_install else []

    load = _load()
    print(f"covkit start-up ({os.cpu_count()} cores, load average {load:.2f}; "
          "fresh processes, wall time; cpu = user + system of the process)")
    print(f"{'figure':34s} {'median':>9s} {'min':>9s} {'runs':>5s} {'goal':>8s} {'cpu':>8s}")
    for r in rows:
        if "ratio" in r:
            goal = "" if r["goal"] is None else f"{r['goal']:.1f}x"
            print(f"{r['figure']:34s} {r['ratio']:8.2f}x {'':>9s} {r['runs']:5d} "
                  f"{goal:>8s} {r['cpu_ratio']:7.2f}x")
            continue
        goal = "" if r["goal_s"] is None else f"< {r['goal_s']:g} s"
        cpu = f"{r['cpu_s']:7.2f}s" if "cpu_s" in r else ""
        print(f"{r['figure']:34s} {r['median_s']:8.2f}s {r['min_s']:8.2f}s {r['runs']:5d} "
              f"{goal:>8s} {cpu:>8s}")
    for i, r in enumerate(demo_rounds):
        print(f"  demo round {i + 1}: cold {r['cold_s']:.1f} s (cpu {r['cold_cpu_s']:.1f} s), "
              f"warm {r['warm_s']:.1f} s (cpu {r['warm_cpu_s']:.1f} s), ratio {r['ratio']:.2f}, "
              f"load {r['load_before']:.1f} -> {r['load_after']:.1f}")
    for r in installs:
        how = "compiling at install" if r["precompile"] else "COVKIT_PRECOMPILE=0"
        print(f"fresh install ({how}): pip install -e . {r['install_s']:.1f} s "
              f"(cpu {r['install_cpu_s']:.1f} s); first demo {r['first_demo_s']:.1f} s "
              f"(cpu {r['first_demo_cpu_s']:.1f} s), second {r['second_demo_s']:.1f} s "
              f"(cpu {r['second_demo_cpu_s']:.1f} s): {r['ratio']:.2f}x"
              + (" (goal 1.5x)" if r["precompile"] else ""))
    if args.json:
        args.json.write_text(json.dumps({"load_average": load, "rows": rows,
                                         "demo_rounds": demo_rounds,
                                         "fresh_installs": installs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
