"""Smoke tests of the benchmark scripts: the smallest tier of each, as CI runs them.

Each script runs as a subprocess (as a user would run it) and must write its JSON figures.
Timings are not checked here (the machine may be shared); only that the run completes, in
time, with every documented key.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"

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


def _run(args, timeout_s):
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout_s)
    elapsed = time.perf_counter() - t
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n" \
                                 f"{proc.stderr[-3000:]}"
    return proc, elapsed


def test_bench_propagation_smoke(tmp_path):
    out = tmp_path / "propagation.json"
    proc, elapsed = _run([BENCHMARKS / "bench_propagation.py", "--tier", "smoke", "--json", out],
                         timeout_s=60)
    assert elapsed < 60.0
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
                               capture_output=True, text=True, timeout=60).stdout
    if "small" not in help_text or "--json" not in help_text:
        pytest.skip("bench_siting.py has no small tier with --json")
    out = tmp_path / "siting.json"
    args = [script, "--sizes", "small", "--json", out]
    if "--no-spopt" in help_text:
        args.append("--no-spopt")  # the optional competitor is not what the smoke test checks
    _run(args, timeout_s=120)
    data = json.loads(out.read_text())
    assert isinstance(data, dict) and data
    assert data.get("benchmark") == "siting"
