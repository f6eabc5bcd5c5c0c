"""The whole country on one machine: ``covkit run`` on a national-size scenario and on Taiwan.

Usage::

    python benchmarks/bench_national.py [--json PATH] [--only national|taiwan]
        [--only-scaling 50m|r20]
        [--skip-scaling] [--scale S] [--work DIR] [--shared DIR] [--seed N] [--no-warmup]

Runs (each ``covkit run`` in its own subprocess, ``--no-map``; then ``covkit map`` and
``covkit report`` on its folder, each in its own subprocess):

- ``national``: ``covkit scenario national`` (synthetic, seeded, Taiwan-sized: 36,000 km2,
  23 million people, 370 townships, 15,000 sites / 45,000 sectors of 3 operators), P.1812,
  100 m, R = 10 km;
- ``taiwan``: ``covkit scenario taiwan`` from the shared Taiwan files (towns-10t.json,
  township_population_2022-03.json, etopo1_taiwan_1arcmin.tif) with 13,200 synthetic sites,
  100 m (P.1812 up to 6 GHz, R = 10 km as the builder writes it);
- the scaling of the national scenario, measured (not extrapolated): ``national_50m`` (the
  same folder, ``scenario.resolution_m = 50``: the same sites, terrain and people on a grid of
  4x the cells; the 100 m DEM is resampled) and ``national_r20`` (``propagation.max_radius_km
  = 20``); ``--skip-scaling`` leaves them out.

For each run: wall time, CPU time (user + system of that child, from ``os.wait4``), peak RSS
(its ``ru_maxrss``), CPU / wall (2.0 = both cores of this machine busy throughout), pixel
evaluations and evaluations per second (``pixel_evaluations`` and the stages of ``timings_s``
in the run's ``kpi_summary.json``, "n/a" when the run does not write them), the map and report
times, and the goals (issue 13): national run <= 180 s and <= 4096 MB peak RSS, both cores
busy, 50 m within 4.5x the 100 m time.

``--scale S`` (e.g. 0.02) builds the national scenario at that share of the full size and
gives Taiwan S x 13,200 synthetic sites, for a quick check of the script; the goals are only
meaningful at the full size. Before the timed runs a tiny national run (untimed) fills the
Numba cache, so compilation stays out of the figures (``--no-warmup`` skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_TAIWAN = ROOT.parent / "shared" / "data" / "taiwan"

GOAL_WALL_S = 180.0
GOAL_RSS_MB = 4096.0
GOAL_50M_RATIO = 4.5
GOAL_BUSY = 0.9  # CPU / wall at least this share of the cores = "both cores busy"
TAIWAN_SITES = 13_200
RUNS = ("national", "taiwan", "national_50m", "national_r20")
LABELS = {"national": "national 100 m R 10 km", "taiwan": "Taiwan 100 m R 10 km",
          "national_50m": "national 50 m", "national_r20": "national R 20 km"}


def _env() -> dict:
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTHONWARNINGS", None)
    return env


def measure(argv, log: Path) -> dict:
    """Run ``python -m covkit -q ARGV`` in a subprocess: its wall time [s], CPU time (user +
    system, all its threads) [s] and peak RSS [MB] (``os.wait4``: that child only); output
    to ``log``. Raises when it fails, with the log's tail."""
    cmd = [sys.executable, "-m", "covkit", "-q", *map(str, argv)]
    with open(log, "w", encoding="utf-8") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=_env(), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{tail}")
    # kilobytes on Linux; never below this script's own RSS at the spawn (Linux carries the
    # parent's across exec), which stays far under a national run's
    rss_kb = usage.ru_maxrss
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": rss_kb / 1024.0}


def variant(toml: Path, name: str, *, resolution_m: float | None = None,
            radius_km: float | None = None) -> Path:
    """A copy of a national scenario.toml beside it (the same input files) with another grid
    resolution or computation radius."""
    text = toml.read_text(encoding="utf-8")
    for key, value in (("resolution_m", resolution_m), ("max_radius_km", radius_km)):
        if value is None:
            continue
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {float(value)!r}", text, count=1)
        if n != 1:
            raise RuntimeError(f"{toml}: no '{key} = ' line to change")
    out = toml.with_name(name)
    out.write_text(text, encoding="utf-8")
    return out


def run_one(toml: Path, out: Path, logs: Path, name: str) -> dict:
    """``covkit run --no-map``, then ``covkit map`` and ``covkit report`` on its folder."""
    row = measure(["run", toml, "--out", out, "--no-map"], logs / f"{name}_run.log")
    summary = json.loads((out / "kpi_summary.json").read_text(encoding="utf-8"))
    m = measure(["map", out], logs / f"{name}_map.log")
    r = measure(["report", out], logs / f"{name}_report.log")
    evals = summary.get("pixel_evaluations")
    timings = summary.get("timings_s")
    row.update({
        "cpu_per_wall": row["cpu_s"] / row["wall_s"] if row["wall_s"] > 0 else None,
        "pixel_evaluations": evals,
        "px_per_s": evals / row["wall_s"] if isinstance(evals, int | float) else None,
        "px_per_cpu_s": evals / row["cpu_s"] if isinstance(evals, int | float)
        and row["cpu_s"] > 0 else None,
        "timings_s": timings if isinstance(timings, dict) else None,
        "map_s": m["wall_s"], "map_cpu_s": m["cpu_s"], "map_peak_rss_mb": m["peak_rss_mb"],
        "report_s": r["wall_s"], "report_cpu_s": r["cpu_s"],
        "report_peak_rss_mb": r["peak_rss_mb"],
        "population_coverage_pct": summary.get("population_coverage_pct"),
        "grid": summary.get("grid"),
        "sectors": (summary.get("stations") or {}).get("sectors"),
        "site_frequency_groups": (summary.get("stations") or {}).get("site_frequency_groups"),
    })
    return row


def _fmt(v, unit: str = "") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if abs(v) >= 1e6:
            return f"{v / 1e6:,.2f} M{unit}"
        return f"{v:,.2f}{unit}" if abs(v) < 100 else f"{v:,.1f}{unit}"
    if isinstance(v, int):
        return f"{v / 1e6:,.2f} M{unit}" if abs(v) >= 1e6 else f"{v:,}{unit}"
    return str(v)


def table(rows: dict[str, dict], cores: int) -> list[str]:
    """The side-by-side table of the runs (Markdown)."""
    names = [n for n in RUNS if n in rows]
    lines = ["| figure | " + " | ".join(LABELS[n] for n in names) + " |",
             "|---|" + "---|" * len(names)]

    def add(label, key, unit=""):
        lines.append(f"| {label} | " + " | ".join(_fmt(rows[n].get(key), unit)
                                                for n in names) + " |")

    add("build wall [s]", "build_s")
    add("run wall [s]", "wall_s")
    add("run CPU (user+sys) [s]", "cpu_s")
    add(f"CPU / wall (of {cores} cores)", "cpu_per_wall")
    add("both cores busy", "cores_busy")
    add("peak RSS [MB]", "peak_rss_mb")
    add("pixel evaluations", "pixel_evaluations")
    add("evaluations / s (wall)", "px_per_s")
    add("evaluations / CPU-s", "px_per_cpu_s")
    stages: list[str] = []
    for n in names:
        for st in rows[n].get("timings_s") or {}:
            if st not in stages:
                stages.append(st)
    if stages:
        for st in stages:
            cells = []
            for n in names:
                t = (rows[n].get("timings_s") or {}).get(st)
                if isinstance(t, int | float) and rows[n]["wall_s"] > 0:
                    cells.append(f"{t:,.1f} ({100.0 * t / rows[n]['wall_s']:.0f} %)")
                else:
                    cells.append(_fmt(t))
            lines.append(f"| stage {st} [s] (share of run) | " + " | ".join(cells) + " |")
    else:
        lines.append("| where the time goes (timings_s) | " + " | ".join("n/a" for _ in names)
                     + " |")
    add("covkit map [s]", "map_s")
    add("covkit report [s]", "report_s")
    add("map / report peak RSS [MB]", "map_report_peak_rss_mb")
    add("sectors", "sectors")
    add("site-frequency groups", "site_frequency_groups")
    add("population coverage [%]", "population_coverage_pct")
    return lines


def goals(rows: dict[str, dict], ratio_50m: float | None) -> dict[str, bool | None]:
    """Issue 13's goals: True (met), False (not met) or None (not measured)."""
    nat = rows.get("national")
    return {
        "national_wall_le_180s": None if nat is None else nat["wall_s"] <= GOAL_WALL_S,
        "national_peak_rss_le_4096mb": None if nat is None
        else nat["peak_rss_mb"] <= GOAL_RSS_MB,
        "national_both_cores_busy": None if nat is None else nat["cores_busy"],
        "national_50m_within_4_5x": None if ratio_50m is None else ratio_50m <= GOAL_50M_RATIO,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    ap.add_argument("--only", choices=("national", "taiwan"),
                    help="only this scenario (with --only taiwan no scaling runs)")
    ap.add_argument("--only-scaling", choices=("50m", "r20"),
                    help="of the scaling runs only this one (50 m or R = 20 km)")
    ap.add_argument("--skip-scaling", action="store_true",
                    help="leave out the 50 m and R = 20 km runs of the national scenario")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="share of the full size (national scenario; Taiwan's synthetic "
                         "sites), for a quick check")
    ap.add_argument("--seed", type=int, default=0, help="seed of the national scenario")
    ap.add_argument("--work", type=Path,
                    help="folder for the scenarios, runs and logs (default: temporary)")
    ap.add_argument("--shared", type=Path, default=SHARED_TAIWAN,
                    help="folder of the Taiwan files (default: ../shared/data/taiwan)")
    ap.add_argument("--no-warmup", action="store_true",
                    help="no untimed tiny run before the timed ones (Numba cache)")
    args = ap.parse_args(argv)
    do_national = args.only in (None, "national")
    do_taiwan = args.only in (None, "taiwan")
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory(prefix="covkit-national-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        logs = work / "logs"
        logs.mkdir(exist_ok=True)
        load_before = os.getloadavg()
        print(f"covkit national benchmark: {cores} cores, load average "
              f"{load_before[0]:.2f}, work folder {work}", flush=True)
        if not args.no_warmup:
            t0 = time.perf_counter()
            warm = work / "warmup"
            measure(["scenario", "national", "--out", warm, "--scale", 0.002, "--radius-km", 2],
                    logs / "warmup_build.log")
            measure(["run", warm / "scenario.toml", "--out", work / "warmup-run", "--no-map"],
                    logs / "warmup_run.log")
            print(f"warm-up (untimed): {time.perf_counter() - t0:.1f} s", flush=True)

        rows: dict[str, dict] = {}
        if do_national:
            b = measure(["scenario", "national", "--out", work / "national", "--seed", args.seed,
                         "--scale", args.scale], logs / "national_build.log")
            toml = work / "national" / "scenario.toml"
            print(f"built national scenario in {b['wall_s']:.1f} s", flush=True)
            plan = [("national", toml)]
            if not args.skip_scaling:
                if args.only_scaling in (None, "50m"):
                    plan.append(("national_50m", variant(toml, "scenario_50m.toml",
                                                         resolution_m=50.0)))
                if args.only_scaling in (None, "r20"):
                    plan.append(("national_r20", variant(toml, "scenario_r20.toml",
                                                         radius_km=20.0)))
            for name, path in plan:
                print(f"running {LABELS[name]} ...", flush=True)
                rows[name] = run_one(path, work / f"{name}-run", logs, name)
                rows[name]["build_s"] = b["wall_s"] if name == "national" else None
                print(f"  {rows[name]['wall_s']:.1f} s wall", flush=True)
        if do_taiwan:
            base = args.shared
            files = [base / f for f in ("towns-10t.json", "township_population_2022-03.json",
                                        "etopo1_taiwan_1arcmin.tif")]
            missing = [str(f) for f in files if not f.is_file()]
            if missing:
                print(f"Taiwan skipped: missing {', '.join(missing)}", flush=True)
            else:
                sites = max(3, round(TAIWAN_SITES * args.scale))
                b = measure(["scenario", "taiwan", "--townships", files[0], "--population",
                             files[1], "--dem", files[2], "--synthetic-sites", sites,
                             "--resolution-m", 100, "--out", work / "taiwan"],
                            logs / "taiwan_build.log")
                print(f"built Taiwan scenario ({sites} synthetic sites) in {b['wall_s']:.1f} s",
                      flush=True)
                print(f"running {LABELS['taiwan']} ...", flush=True)
                rows["taiwan"] = run_one(work / "taiwan" / "scenario.toml", work / "taiwan-run",
                                         logs, "taiwan")
                rows["taiwan"]["build_s"] = b["wall_s"]
                rows["taiwan"]["synthetic_sites"] = sites
        for row in rows.values():
            row["cores_busy"] = row["cpu_per_wall"] is not None and \
                row["cpu_per_wall"] >= GOAL_BUSY * cores
            row["map_report_peak_rss_mb"] = max(row["map_peak_rss_mb"],
                                                row["report_peak_rss_mb"])
        load_after = os.getloadavg()

    nat = rows.get("national")
    ratio_50m = rows["national_50m"]["wall_s"] / nat["wall_s"] \
        if nat and "national_50m" in rows else None
    ratio_r20 = rows["national_r20"]["wall_s"] / nat["wall_s"] \
        if nat and "national_r20" in rows else None
    met = goals(rows, ratio_50m)

    print()
    for line in table(rows, cores):
        print(line)
    print()
    print("| scaling | measured |")
    print("|---|---|")
    print(f"| 50 m / 100 m wall | {_fmt(ratio_50m, 'x')} |")
    print(f"| R 20 km / R 10 km wall | {_fmt(ratio_r20, 'x')} |")
    print()
    print("| goal (issue 13) | measured | met |")
    print("|---|---|---|")
    show = {True: "met", False: "not met", None: "not measured"}
    print(f"| national run <= {GOAL_WALL_S:.0f} s | {_fmt(nat and nat['wall_s'], ' s')} | "
          f"{show[met['national_wall_le_180s']]} |")
    print(f"| national peak RSS <= {GOAL_RSS_MB:.0f} MB | "
          f"{_fmt(nat and nat['peak_rss_mb'], ' MB')} | "
          f"{show[met['national_peak_rss_le_4096mb']]} |")
    print(f"| both cores busy (CPU / wall >= {GOAL_BUSY * cores:.1f}) | "
          f"{_fmt(nat and nat['cpu_per_wall'])} | {show[met['national_both_cores_busy']]} |")
    print(f"| 50 m within {GOAL_50M_RATIO}x the 100 m time | {_fmt(ratio_50m, 'x')} | "
          f"{show[met['national_50m_within_4_5x']]} |")
    if args.scale != 1.0:
        print(f"(--scale {args.scale:g}: a quick check; the goals are for the full size)")

    if args.json:
        doc: dict = {"benchmark": "national", "goals": met,
                     "ratio_50m_vs_100m_wall": ratio_50m, "ratio_r20_vs_r10_wall": ratio_r20,
                     "parameters": {"scale": args.scale, "seed": args.seed,
                                    "only": args.only, "skip_scaling": args.skip_scaling,
                                    "taiwan_synthetic_sites": (rows.get("taiwan") or {}).get(
                                        "synthetic_sites")},
                     "machine": {"cpu_count": cores, "python": platform.python_version(),
                                 "machine": platform.machine(),
                                 "load_average_before": load_before[0],
                                 "load_average_after": load_after[0]},
                     "runs": rows}
        for name in RUNS:
            row = rows.get(name, {})
            for key in ("wall_s", "cpu_s", "peak_rss_mb", "px_per_s", "px_per_cpu_s",
                        "pixel_evaluations", "cpu_per_wall", "map_s", "report_s", "build_s",
                        "timings_s"):
                doc[f"{name}_{key}"] = row.get(key)
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
