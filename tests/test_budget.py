"""Memory and time estimated before a run (covkit.coverage.budget): a run that cannot fit is
refused with its figures before any DEM or population is put on the grid, the CLI says so and
names the option, the option lets a run go ahead, and the estimate is plausible (terms add up,
footprints are pi (R / pixel)^2 clipped to the grid, more cells or layers cost more) and
within a stated factor of a measured demo run's peak RSS."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers.scenario import write_small_scenario

import covkit
from covkit.cli import main
from covkit.coverage import budget as B
from covkit.data import loaders
from covkit.data.grid import Grid
from covkit.errors import CovkitInputError, RunTooLargeError

ROOT = Path(__file__).resolve().parents[1]

PL = "path loss and sector fold"
MEASURED_FACTOR = 1.5
"""The estimate of a demo run's peak memory lies within this factor of its measured peak RSS
(benchmarks/bench_budget.py: 0.83-1.05 on the demo at 200-35 m)."""


@pytest.fixture(scope="module")
def demo_toml(tmp_path_factory) -> Path:
    return covkit.write_demo(tmp_path_factory.mktemp("budget") / "scenario")


@pytest.fixture()
def no_heavy_loading(monkeypatch):
    """Putting the DEM, population or townships on the grid fails the test (a guard: the
    refusal must come before any of it)."""
    calls = []

    def guard(name):
        def fail(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} was called before the budget check")
        return fail

    for name in ("load_dems", "read_population", "load_townships"):
        monkeypatch.setattr(loaders, name, guard(name))
    return calls


def demo_at(toml: Path, resolution_m: float) -> Path:
    text = toml.read_text(encoding="utf-8").replace("resolution_m = 100.0",
                                                    f"resolution_m = {resolution_m}")
    out = toml.with_name(f"scenario_{resolution_m:g}m.toml")
    out.write_text(text, encoding="utf-8")
    return out


def test_the_demo_at_1_m_is_refused_with_its_figures_before_loading(demo_toml,
                                                                     no_heavy_loading):
    toml = demo_at(demo_toml, 1.0)
    with pytest.raises(RunTooLargeError) as info:
        covkit.run(toml)
    msg = str(info.value)
    assert no_heavy_loading == []
    # the grid (rows x cols, cells), the groups, memory with its terms, available, time, option
    assert "grid 62,000 x 100,000 = 6,200,000,000 cells of 1 m" in msg
    assert "256 site-frequency groups (744 sectors, 3 operators, 6 layers)" in msg
    assert "estimated peak memory" in msg and "per operator: best RSRP and server" in msg
    assert "MemAvailable" in msg
    assert "estimated time about" in msg and "path loss" in msg
    assert "--allow-large" in msg and "allow_large=True" in msg
    e = info.value.estimate
    assert e.cells == 62_000 * 100_000
    assert e.peak_bytes > 500 * B.GB  # about 1 TB: no machine here has it
    assert f"{B.gb_text(e.peak_bytes)}" in msg
    assert isinstance(info.value, CovkitInputError) and info.value.file == str(toml)


def test_a_national_size_grid_is_refused_from_its_bounds(tmp_path, no_heavy_loading):
    """Bounds of Taiwan's size (400 km x 400 km) at 2 m: refused from the scenario alone."""
    toml = write_small_scenario(tmp_path / "s")
    text = toml.read_text(encoding="utf-8").replace(
        "resolution_m = 100.0", "resolution_m = 2.0\nbounds = [50000.0, 2400000.0, 450000.0, "
        "2800000.0]")
    toml.write_text(text, encoding="utf-8")
    with pytest.raises(RunTooLargeError, match=r"grid 200,000 x 200,000 = 40,000,000,000 "
                                               r"cells of 2 m, 2 site-frequency groups"):
        covkit.run_study(toml, tmp_path / "out")
    assert no_heavy_loading == []
    assert not (tmp_path / "out").exists()  # refused before the output folder is touched


def test_cli_prints_the_refusal_and_names_the_option(demo_toml, tmp_path, capsys,
                                                     no_heavy_loading):
    toml = demo_at(demo_toml, 1.0)
    for command in ("run", "sites"):
        with pytest.raises(SystemExit) as info:
            main([command, str(toml), "--out", str(tmp_path / command)])
        err = capsys.readouterr().err
        assert info.value.code == 2
        assert err.startswith("error: ") and err.count("\n") == 1
        assert "cannot fit in memory" in err and "6,200,000,000 cells" in err
        assert "--allow-large" in err
        assert not (tmp_path / command).exists()
    assert no_heavy_loading == []


@pytest.fixture()
def little_memory(monkeypatch):
    """A machine with 1 MB available and nothing held: even the small scenario is refused."""
    monkeypatch.setattr(B, "available_memory_bytes", lambda: 1e6)
    monkeypatch.setattr(B, "resident_bytes", lambda: 0.0)


def test_allow_large_goes_ahead(tmp_path, capsys, little_memory):
    toml = write_small_scenario(tmp_path / "s")
    with pytest.raises(SystemExit) as info:
        main(["-q", "run", str(toml), "--out", str(tmp_path / "refused"), "--no-map"])
    assert info.value.code == 2
    assert "available 0.00 GB (MemAvailable)" in capsys.readouterr().err
    with pytest.raises(RunTooLargeError):
        covkit.run(toml)
    # with the option the same run goes ahead
    main(["-q", "run", str(toml), "--out", str(tmp_path / "out"), "--no-map", "--allow-large"])
    summary = json.loads((tmp_path / "out" / "kpi_summary.json").read_text(encoding="utf-8"))
    assert summary["population_total"] == pytest.approx(30 * 40 * 10.0)
    result = covkit.run(toml, allow_large=True)
    assert np.isfinite(result.rsrp_best_dbm).any()
    # the estimate the run was checked against is recorded beside its run time
    recorded = summary["run_estimate"]
    assert recorded["cells"] == 30 * 40 and recorded["groups"] == 2
    assert recorded["peak_bytes"] == pytest.approx(sum(recorded["memory_bytes"].values()))
    assert result.summary["run_estimate"]["seconds"] > 0


def test_estimate_of_the_small_scenario_adds_up(tmp_path):
    toml = write_small_scenario(tmp_path / "s")
    sc = covkit.load_scenario(toml)
    e = B.plan_run(sc)
    assert e.shape == (30, 40) and e.n_groups == 2 and e.n_sectors == 4
    assert e.n_operators == 2 and e.n_layers == 2
    assert e.peak_bytes == pytest.approx(sum(b for _, b in e.memory))
    assert e.peak_bytes == pytest.approx(max(e.phase_bytes.values()))
    assert e.seconds == pytest.approx(sum(s for _, s in e.time))
    # the loaded inputs give the same estimate
    inputs = covkit.load_inputs(sc)
    assert B.estimate_inputs(inputs).peak_bytes == pytest.approx(e.peak_bytes)
    # pixel evaluations: the cell centres within 3 km of each site, counted one by one
    grid = inputs.grid
    xs, ys = grid.cell_centres()
    xc, yc = np.meshgrid(xs, ys)
    st = inputs.stations
    counted = sum(int((np.hypot(xc - x, yc - y) <= 3000.0).sum())
                  for x, y in zip(st.site_x_m, st.site_y_m, strict=True))
    assert e.pixel_evaluations == pytest.approx(counted, rel=0.02)


def test_footprint_is_pi_r_squared_clipped_to_the_grid():
    grid = Grid.from_bounds("EPSG:3826", (0.0, 0.0, 100_000.0, 100_000.0), 100.0)
    cells = B.footprint_cells(grid, np.array([50_000.0, 0.0, 5_000.0]),
                              np.array([50_000.0, 0.0, 50_000.0]), 10_000.0)
    full = math.pi * 100.0 ** 2
    assert cells[0] == pytest.approx(full, rel=1e-3)
    assert cells[1] == pytest.approx(full / 4, rel=1e-3)  # at a corner: a quarter
    # 5 km from an edge: the circle less the segment beyond it (area formula of a segment)
    seg = 10_000.0 ** 2 * math.acos(0.5) - 5_000.0 * math.sqrt(10_000.0 ** 2 - 5_000.0 ** 2)
    assert cells[2] == pytest.approx(full - seg / 100.0 ** 2, rel=2e-3)


def test_more_cells_layers_and_threads_move_the_estimate_the_right_way(demo_toml):
    sc = covkit.load_scenario(demo_toml)
    coarse = B.plan_run(sc.replace(scenario={"resolution_m": 200.0}))
    fine = B.plan_run(sc.replace(scenario={"resolution_m": 50.0}))
    assert fine.cells == 16 * coarse.cells
    assert fine.peak_bytes > coarse.peak_bytes and fine.seconds > coarse.seconds
    assert fine.pixel_evaluations == pytest.approx(16 * coarse.pixel_evaluations, rel=0.02)
    grid = Grid.from_bounds(sc.scenario.crs, (0.0, 0.0, 50_000.0, 50_000.0), 100.0)
    x = np.full(10, 25_000.0)
    one = B.StationsSummary(x, x, ("p1812",) * 10, np.full(10, 3), 1, 1)
    many = replace(one, n_operators=3, n_layers=9)
    assert B.estimate_run(sc, grid, many).peak_bytes > B.estimate_run(sc, grid, one).peak_bytes
    t1 = B.estimate_run(sc, grid, one, threads=1)
    t2 = B.estimate_run(sc, grid, one, threads=2)
    assert dict(t2.time)[PL] < dict(t1.time)[PL]
    fspl = replace(one, model=("fspl",) * 10)
    assert dict(B.estimate_run(sc, grid, fspl).time)[PL] < \
        dict(B.estimate_run(sc, grid, one).time)[PL]
    # the fold's per-layer grids held per band of rows cost the open bands, not the grid
    per_layer = [t for t in B.MEMORY_TERMS if t.per == "layer"]
    assert [t.extent for t in per_layer] == ["band"]
    whole_grid = tuple(replace(t, extent="grid") if t.per == "layer" else t
                       for t in B.MEMORY_TERMS)
    big = Grid.from_bounds(sc.scenario.crs, (0.0, 0.0, 400_000.0, 400_000.0), 100.0)
    whole = B.estimate_run(sc, big, many, terms=whole_grid)
    band = B.estimate_run(sc, big, many)
    rows = B.OPEN_BANDS * max(B.BAND_ROWS_MIN, int(math.ceil(2 * 10_000.0 / 100.0)) + 1)
    saved = per_layer[0].bytes_per_cell * 9 * (4000 - rows) * 4000
    assert whole.phase_bytes["radio"] - band.phase_bytes["radio"] == pytest.approx(saved)
    assert whole.peak_phase == "radio" and band.peak_bytes < whole.peak_bytes


def test_check_budget_refuses_only_what_cannot_fit(demo_toml):
    e = B.plan_run(covkit.load_scenario(demo_toml))
    B.check_budget(e, e.peak_bytes, allow=False)  # fits exactly
    B.check_budget(e, e.peak_bytes / 2, allow=False, held_bytes=e.peak_bytes / 2)
    B.check_budget(e, None, allow=False)  # unknown memory: nothing refused
    B.check_budget(e, 1.0, allow=True)  # told to go ahead
    with pytest.raises(RunTooLargeError, match=r"620 x 1,000 = 620,000 cells of 100 m.*"
                                               r"available 0\.10 GB \(MemAvailable\)"):
        B.check_budget(e, 0.1 * B.GB, allow=False)
    assert B.available_memory_bytes() is None or B.available_memory_bytes() > 0


@pytest.mark.slow
def test_estimate_is_within_a_factor_of_the_measured_peak(demo_toml, tmp_path):
    """The demo at 100 m in a process of its own, the kernels compiled beforehand: its peak
    RSS (resource.getrusage) against the estimate made before loading."""
    # the peak is VmHWM of /proc/self/status, the high-water mark of this process's own
    # memory: getrusage's ru_maxrss is never below the RSS of the parent at the fork (Linux
    # carries the larger of the two across exec), and the parent here is the test session
    # (963 MB by this test in a full run, against a child's 500 MB)
    code = ("import json, sys, covkit\n"
            "from covkit.coverage import budget as B\n"
            "sc = covkit.load_scenario(sys.argv[1])\n"
            "e = B.plan_run(sc)\n"
            "covkit.run(sc)\n"
            "print(json.dumps({'estimate': e.peak_bytes, 'peak': B.peak_rss_bytes()}))\n")
    # a Numba cache of this test's own, which nothing else in the test session touches
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    # a first process of the same run compiles every kernel it needs into that cache:
    # compiling takes memory of its own (LLVM), which no estimate of the run counts (with a
    # warm-up on a 1 km grid instead, one full-suite run measured 965 MB against 559 MB)
    subprocess.run([sys.executable, "-c", code, str(demo_toml)], capture_output=True,
                   text=True, cwd=ROOT, check=True, env=env)
    proc = subprocess.run([sys.executable, "-c", code, str(demo_toml)], capture_output=True,
                          text=True, cwd=ROOT, check=True, env=env)
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    ratio = got["estimate"] / got["peak"]
    assert 1 / MEASURED_FACTOR <= ratio <= MEASURED_FACTOR, got


@pytest.mark.slow
def test_bench_budget_smoke(tmp_path):
    """The benchmark's smallest tier: the demo at 1000 and 500 m, figures in its JSON."""
    out = tmp_path / "budget.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_budget.py"),
                           "--resolutions", "1000,500", "--fit", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=30 * 60, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "peak RSS = " in proc.stdout and "px per CPU-s" in proc.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["model"] == "p1812" and len(data["runs"]) == 2
    coarse, fine = data["runs"]
    assert fine["cells"] == 4 * coarse["cells"] == 4 * 62 * 100
    for run in data["runs"]:
        assert run["peak_rss_mb"] > 0 and run["estimated_peak_mb"] > 0
        assert run["peak_ratio"] == pytest.approx(run["estimated_peak_mb"] / run["peak_rss_mb"])
        assert run["groups"] == 256 and run["layers_cpu_s"] > 0 and run["wall_s"] > 0
