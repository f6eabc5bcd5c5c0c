"""Smoke tests of the benchmark scripts: the smallest tier of each, as CI runs them.

Each script runs as a subprocess (as a user would run it) and must write its JSON figures.
Nothing here depends on the machine's speed (it may be shared or busy): the tests check that
the run completes with every documented key and consistent figures, never how long it took.
The subprocess limit of 30 minutes only stops a run that hangs.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each runs a benchmark script end to end

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
HANG_TIMEOUT_S = 30 * 60  # catches a hung run only; no busy machine takes this long

PROPAGATION_KEYS = {
    "engine_px_per_s_per_core",
    "engine_px_per_s_2_threads",
    "reference_px_per_s_per_core",
    "ratio_engine_vs_reference",
    "median_abs_error_db",
    "p95_abs_error_db",
    "share_within_1db",
    "pycraf_px_per_s_per_core",
    "pycraf_skip_reason",
    "itmlogic_px_per_s_per_core",
    "itmlogic_skip_reason",
    "ratio_engine_vs_pycraf",
    "goals",
    "sites",
    "parameters",
    "machine",
}


def _run(args):
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=HANG_TIMEOUT_S)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n" \
                                 f"{proc.stderr[-3000:]}"
    return proc


def test_bench_propagation_smoke(tmp_path):
    out = tmp_path / "propagation.json"
    proc = _run([BENCHMARKS / "bench_propagation.py", "--tier", "smoke", "--json", out])
    data = json.loads(out.read_text())
    missing = PROPAGATION_KEYS - data.keys()
    assert not missing, f"missing JSON keys: {sorted(missing)}"
    assert data["benchmark"] == "propagation"
    for key in ("engine_px_per_s_per_core", "reference_px_per_s_per_core",
                "ratio_engine_vs_reference"):
        assert math.isfinite(data[key]) and data[key] > 0, key
    assert 0.0 <= data["median_abs_error_db"] <= data["p95_abs_error_db"]
    assert 0.0 <= data["share_within_1db"] <= 1.0
    # optional tools: a figure, or null with the reason printed
    for tool in ("pycraf", "itmlogic"):
        rate = data[f"{tool}_px_per_s_per_core"]
        if rate is None:
            assert data[f"{tool}_skip_reason"], tool
            assert data[f"{tool}_skip_reason"][:20] in proc.stdout
        else:
            assert rate > 0
    assert (data["ratio_engine_vs_pycraf"] is None) == (data["pycraf_px_per_s_per_core"] is None)
    assert data["parameters"]["tier"] == "smoke"
    assert data["parameters"]["radius_m"] == 3000.0
    assert len(data["sites"]) == 1
    assert data["machine"]["cpu_count"] >= 1
    assert data["machine"]["numba_num_threads_max"] >= 1
    assert set(data["goals"]) == {"engine_px_per_s_per_core_ge_2M", "ratio_vs_reference_ge_100",
                                  "ratio_vs_pycraf_ge_20"}
    for line in ("covkit engine, 1 thread", "covkit reference", "goals", "px/s/core"):
        assert line in proc.stdout


def test_bench_siting_smoke(tmp_path):
    script = BENCHMARKS / "bench_siting.py"
    if not script.exists():
        pytest.skip("benchmarks/bench_siting.py does not exist")
    help_text = subprocess.run([sys.executable, str(script), "--help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=HANG_TIMEOUT_S).stdout
    if "small" not in help_text or "--json" not in help_text:
        pytest.skip("bench_siting.py has no small tier with --json")
    out = tmp_path / "siting.json"
    args = [script, "--sizes", "small", "--json", out]
    if "--no-spopt" in help_text:
        args.append("--no-spopt")  # the optional competitor is not what the smoke test checks
    proc = _run(args)
    data = json.loads(out.read_text())
    assert isinstance(data, dict) and data
    assert data.get("benchmark") == "siting"
    # content, not time: the small tier's one instance, solved by both methods consistently
    assert data["sizes"] == "small"
    (row,) = data["rows"]
    assert (row["n_candidates"], row["n_demand"]) == (5_000, 200) and row["nnz"] > 0
    assert row["exact_status"] in ("optimal", "time_limit")
    assert row["greedy_objective"] > 0
    assert row["exact_objective"] >= row["greedy_objective"] * (1 - 1e-12)
    assert row["exact_objective"] <= row["exact_bound"] * (1 + 1e-12)
    assert 0.0 < row["greedy_share_of_optimum"] <= 1.0 + 1e-12
    for line in ("greedy obj", "exact obj", "status"):
        assert line in proc.stdout, line


NATIONAL_KEYS = {
    "national_wall_s", "national_cpu_s", "national_peak_rss_mb", "national_px_per_s",
    "national_pixel_evaluations", "national_map_s", "national_report_s", "national_timings_s",
    "taiwan_wall_s", "taiwan_peak_rss_mb", "taiwan_px_per_s",
    "national_50m_wall_s", "national_50m_peak_rss_mb", "national_50m_px_per_s",
    "national_r20_wall_s", "national_r20_peak_rss_mb", "national_r20_px_per_s",
    "ratio_50m_vs_100m_wall", "ratio_r20_vs_r10_wall", "goals", "runs", "parameters", "machine",
}


def test_bench_national_smoke(tmp_path):
    """A small national scenario (--scale 0.02), no scaling runs, no Taiwan: every documented
    key, the run's own figures consistent; the goals reported, whatever they say."""
    out = tmp_path / "national.json"
    work = tmp_path / "work"
    proc = _run([BENCHMARKS / "bench_national.py", "--only", "national", "--scale", "0.02",
                 "--skip-scaling", "--json", out, "--work", work])
    data = json.loads(out.read_text())
    missing = NATIONAL_KEYS - data.keys()
    assert not missing, f"missing JSON keys: {sorted(missing)}"
    assert data["benchmark"] == "national"
    assert set(data["runs"]) == {"national"}
    assert data["national_wall_s"] > 0 and data["national_cpu_s"] > 0
    assert 0 < data["national_peak_rss_mb"] < 100_000
    assert data["national_map_s"] > 0 and data["national_report_s"] > 0
    # not run: null, and the 50 m goal not measured
    for key in ("taiwan_wall_s", "national_50m_wall_s", "national_r20_wall_s",
                "ratio_50m_vs_100m_wall"):
        assert data[key] is None, key
    assert data["goals"]["national_50m_within_4_5x"] is None
    assert isinstance(data["goals"]["national_wall_le_180s"], bool)
    # pixel evaluations come from the run's kpi_summary.json when it writes them
    summary = json.loads((work / "national-run" / "kpi_summary.json").read_text())
    if "pixel_evaluations" in summary:
        assert data["national_pixel_evaluations"] == summary["pixel_evaluations"]
        assert data["national_px_per_s"] == pytest.approx(
            summary["pixel_evaluations"] / data["national_wall_s"])
    else:
        assert data["national_px_per_s"] is None and "n/a" in proc.stdout
    assert data["runs"]["national"]["population_coverage_pct"] == pytest.approx(
        summary["population_coverage_pct"])
    assert (work / "national-run" / "map.html").is_file()
    assert (work / "national-run" / "report.html").is_file()
    for line in ("run wall [s]", "peak RSS [MB]", "covkit map [s]", "goal (issue 13)",
                 "national run <= 180 s", "50 m within 4.5x"):
        assert line in proc.stdout, line


def test_bench_dask_smoke(tmp_path):
    """A small national scenario (--scale 0.02) on one process and on 1 and 2 local Dask
    workers: the runs' headline KPIs equal, every documented key, the goal reported."""
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    out = tmp_path / "dask.json"
    proc = _run([BENCHMARKS / "bench_dask.py", "--scale", "0.02", "--json", out, "--work",
                 tmp_path / "work", "--no-warmup"])
    data = json.loads(out.read_text())
    assert set(data["runs"]) == {"single", "dask_1", "dask_2"}
    assert data["same_kpis"] is True
    for key in ("single_wall_s", "dask_1_wall_s", "dask_2_wall_s"):
        assert data[key] > 0, key
    assert data["speedup"] == pytest.approx(data["dask_1_wall_s"] / data["dask_2_wall_s"])
    assert isinstance(data["overhead_goal_met"], bool)
    kpis = data["runs"]["single"]["kpis"]
    assert kpis["pixel_evaluations"] > 0 and kpis["cells_computed"] > 0
    assert "against single" in proc.stdout and "speed-up dask_1 -> dask_2" in proc.stdout
