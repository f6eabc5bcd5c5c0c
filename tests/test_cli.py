"""CLI: the documented commands, JSON output, one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest
from helpers.itu import parse_fryderyk, parse_log
from helpers.paths import DATA_DIR
from helpers.scenario import X0, Y0, write_small_scenario

from covkit.cli import main


def run(capsys, *argv):
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out = capsys.readouterr()
    return info.value.code or 0, out.out, out.err


def run_ok(capsys, *argv):
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version_and_help(capsys):
    code, out, _ = run_ok(capsys, "version")
    assert code == 0 and out.startswith("covkit ")
    for cmd in (["--help"], ["pathloss", "--help"], ["scenario", "--help"], ["demo", "--help"]):
        code, out, _ = run_ok(capsys, *cmd)
        assert code == 0 and "Usage" in out


def test_pathloss_profile_reproduces_itu_case(capsys, tmp_path):
    base = DATA_DIR / "itu-p1812"  # rburg:2, copied from ../shared (tests/data/SOURCE.md)
    header, prof, meas = parse_fryderyk(base / "validation_profiles" / "rburg.csv")
    row = meas[2]
    csv = tmp_path / "profile.csv"
    csv.write_text("distance_km,height_m,clutter_height_m,zone\n" + "".join(
        f"{d},{h},{r},{int(z)}\n" for d, h, _, r, z in prof))
    code, out, err = run_ok(
        capsys, "pathloss", "--profile", str(csv), "--freq-mhz", row[0],
        "--tx-height-m", row[1], "--rx-height-m", row[3], "--time-pct", row[14],
        "--polarization", "h" if row[4].strip() == "1" else "v",
        "--dn", header["Average annual values dN (N-units/km):"],
        "--n0", header["Average annual sea-level surface refractivity No (N-units):"],
        "--tx-lat-deg", header["Tx LAT:"], "--tx-lon-deg", header["Tx LON:"],
        "--rx-lat-deg", header["Rx LAT:"], "--rx-lon-deg", header["Rx LON:"], "--json")
    assert code == 0, err
    result = json.loads(out)
    log = parse_log(base / "validation_results" / "rburg_2_log.csv")
    assert result["loss_db"] == pytest.approx(log[("Lb", "Eq (69)")], abs=1e-6)
    for name in ("Lbfs", "Lb0p", "Lbs", "Lba", "Lb", "Ep"):
        assert name in result


def test_pathloss_text_and_other_model(capsys, tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text("distance_km,height_m\n" + "".join(f"{i * 0.1},{100 + i}\n"
                                                      for i in range(51)))
    code, out, _ = run_ok(capsys, "pathloss", "--profile", str(csv), "--freq-mhz", "3500",
                          "--tx-height-m", "30", "--rx-height-m", "1.5")
    assert code == 0 and out.startswith("loss_db = ") and "Ld50" in out
    code, out, _ = run_ok(capsys, "pathloss", "--model", "hata", "--profile", str(csv),
                          "--freq-mhz", "900", "--tx-height-m", "30", "--rx-height-m", "1.5",
                          "--json")
    assert code == 0
    # Hata urban, small/medium city, 900 MHz, hb = 30 m, hm = 1.5 m, d = 5 km:
    # 69.55 + 26.16 log f - 13.82 log hb - a(hm) + (44.9 - 6.55 log hb) log d
    import math

    a_hm = (1.1 * math.log10(900) - 0.7) * 1.5 - (1.56 * math.log10(900) - 0.8)
    hata = (69.55 + 26.16 * math.log10(900) - 13.82 * math.log10(30) - a_hm
            + (44.9 - 6.55 * math.log10(30)) * math.log10(5))
    assert json.loads(out)["loss_db"] == pytest.approx(hata, abs=1e-6)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--freq-mhz", "9000"], "freq_mhz=9000.0 is outside the valid range"),
        (["--tx-height-m", "-3"], "tx_height"),
        ([], None),
    ],
)
def test_pathloss_bad_input_one_line_exit_2(capsys, tmp_path, argv, match):
    csv = tmp_path / "p.csv"
    csv.write_text("distance_km,height_m\n0,10\n0.5,nan\n1.0,12\n")
    base = ["pathloss", "--profile", str(csv), "--freq-mhz", "3500", "--tx-height-m", "30",
            "--rx-height-m", "1.5"]
    if match is None:  # the NaN height itself
        code, out, err = run_ok(capsys, *base)
        assert code == 2
        assert "column 'height_m', row 2: height [m] is missing, NaN or infinite" in err
        return
    good = tmp_path / "g.csv"
    good.write_text("distance_km,height_m\n0,10\n0.5,11\n1.0,12\n")
    base[2] = str(good)
    for i in range(0, len(argv), 2):
        base[base.index(argv[i]) + 1] = argv[i + 1]
    code, out, err = run_ok(capsys, *base)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert match in err


def test_pathloss_scenario_points(capsys, tmp_path):
    toml = write_small_scenario(tmp_path / "s", model="p1812")
    pts = tmp_path / "pts.csv"
    pts.write_text(f"x,y\n{X0 + 2500},{Y0 - 1500}\n{X0 + 3900},{Y0 - 2900}\n")
    code, out, err = run_ok(capsys, "pathloss", "--scenario", str(toml), "--station-id", "S1",
                            "--points", str(pts), "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["point"] for r in rows] == [1, 2]
    assert rows[0]["distance_m"] == pytest.approx(1500.0)
    assert rows[1]["loss_db"] > rows[0]["loss_db"] > 90
    far = tmp_path / "far.csv"
    far.write_text(f"x,y\n{X0 + 9000},{Y0}\n")
    code, _, err = run_ok(capsys, "pathloss", "--scenario", str(toml), "--station-id", "S1",
                          "--points", str(far))
    assert code == 2 and "row 1: point (259000.0, 2650000.0) lies outside the DEM" in err


def test_scenario_check_and_keys(capsys, tmp_path):
    toml = write_small_scenario(tmp_path / "s")
    code, out, _ = run_ok(capsys, "scenario", "check", str(toml), "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["sectors"] == 4 and summary["townships"] == 2
    code, out, _ = run_ok(capsys, "scenario", "keys")
    assert "`propagation.model`" in out
    code, _, err = run_ok(capsys, "scenario", "check", str(tmp_path / "missing.toml"))
    assert code == 2 and "cannot read scenario file" in err


def test_version_flag(capsys):
    code, out, err = run_ok(capsys, "--version")
    assert code == 0 and err == ""
    code2, out2, _ = run_ok(capsys, "version")
    assert out == out2 and out.startswith("covkit ")


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["run", "--bogus"], "No such option: --bogus"),  # bad option
        (["run"], "Missing argument"),  # missing argument
        (["nosuch"], "No such command 'nosuch'"),  # unknown command
        (["pathloss", "--freq-mhz", "abc"], "Invalid value for '--freq-mhz'"),  # bad value
        (["sites", "s.toml", "--out", "o", "--budget", "1.5"], "Invalid value for '--budget'"),
        (["scenario", "nosuch"], "No such command 'nosuch'"),
    ],
)
def test_usage_errors_exit_2_one_line(capsys, argv, match):
    code, out, err = run_ok(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert match in err and "--help" in err


def _commands():
    """Every command path of the CLI (the root, groups and leaves) with its click command."""
    import typer.main

    from covkit.cli import app

    todo = [((), typer.main.get_command(app))]
    while todo:
        path, cmd = todo.pop()
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            todo.append(((*path, name), sub))


def test_help_keeps_units_and_shows_flags_as_flags(capsys):
    import re

    checked = 0
    for path, cmd in _commands():
        code, out, _ = run_ok(capsys, *path, "--help")
        assert code == 0 and "Usage" in out
        flat = " ".join(out.split())
        for param in cmd.params:
            help_text = " ".join((getattr(param, "help", None) or "").split())
            for unit in re.findall(r"\[[^\]]+\]", help_text):
                assert unit in flat, (path, param.name, unit)
                checked += 1
            if getattr(param, "is_flag", False):
                opt = max(param.opts, key=len)
                # a flag is shown bare: no type placeholder after it
                assert re.search(re.escape(opt) + r"(,|\s{2,}|$)", out, re.M), (path, opt)
        assert "<bool>" not in out and "BOOLEAN" not in out, path
    assert checked >= 15  # [MHz], [m], [deg], [%], [N-units], ... are all there


def test_pathloss_extrapolate_flag(capsys, tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text("distance_km,height_m\n0,10\n1,12\n2,15\n")
    base = ["pathloss", "--model", "hata", "--profile", str(csv), "--freq-mhz", "100",
            "--tx-height-m", "30", "--rx-height-m", "1.5", "--json"]
    code, out, err = run_ok(capsys, *base)
    assert code == 2 and err.count("\n") == 1
    assert "freq_mhz=100" in err and "pass --extrapolate" in err
    assert "extrapolate=True" not in err
    code, out, err = run_ok(capsys, *base, "--extrapolate")
    assert code == 0, err
    # Hata urban, 100 MHz (outside [150, 1500]), hb = 30 m, hm = 1.5 m, d = 2 km
    import math

    f = 100.0
    a_hm = (1.1 * math.log10(f) - 0.7) * 1.5 - (1.56 * math.log10(f) - 0.8)
    hata = (69.55 + 26.16 * math.log10(f) - 13.82 * math.log10(30) - a_hm
            + (44.9 - 6.55 * math.log10(30)) * math.log10(2))
    assert json.loads(out)["loss_db"] == pytest.approx(hata, abs=1e-6)


def _covkit(*argv, **kw):
    """``python -m covkit ARGV`` in a fresh process (as a user's shell runs it)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import covkit

    root = Path(covkit.__file__).resolve().parents[1]
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run([sys.executable, "-m", "covkit", *argv], capture_output=True,
                          text=True, env=env, cwd=kw.get("cwd", root))


def test_warnings_are_one_line_and_quiet_silences_them(tmp_path):
    import geopandas as gpd
    import pandas as pd
    from helpers.scenario import CRS
    from shapely.geometry import box

    toml = write_small_scenario(tmp_path / "s")
    towns = gpd.read_file(toml.parent / "townships.gpkg")
    far = gpd.GeoDataFrame({"township_id": ["T99"], "name": ["Far"], "county": ["C1"]},
                           geometry=[box(X0 + 50000, Y0 - 1000, X0 + 51000, Y0)], crs=CRS)
    gpd.GeoDataFrame(pd.concat([towns, far], ignore_index=True), crs=CRS).to_file(
        toml.parent / "townships.gpkg", layer="townships")
    loud = _covkit("scenario", "check", str(toml), "--json")
    assert loud.returncode == 0, loud.stderr
    assert json.loads(loud.stdout)["townships"] == 3
    lines = loud.stderr.splitlines()
    assert len(lines) == 1, loud.stderr
    assert lines[0].startswith("warning: ") and "have no cell on the analysis grid" in lines[0]
    assert "'T99'" in lines[0] and "UserWarning" not in loud.stderr
    quiet = _covkit("-q", "scenario", "check", str(toml), "--json")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert json.loads(quiet.stdout) == json.loads(loud.stdout)


def test_sites_exact_keeps_stdout_clean_of_the_highs_banner(tmp_path):
    """``covkit sites --method exact``: HiGHS's banner never reaches stdout; with --quiet it
    is not printed at all (with progress shown it goes to stderr beside the progress bars)."""
    from helpers.scenario import lonlat

    toml = write_small_scenario(tmp_path / "s", model="fspl")
    lon, lat = lonlat(X0 + 3500.0, Y0 - 2500.0)
    (tmp_path / "s" / "candidates.csv").write_text(
        f"candidate_id,lon,lat,height_m,cost\nU1,{lon},{lat},25,2.0\n")
    toml.write_text(
        toml.read_text().replace("max_radius_km = 3.0", "max_radius_km = 0.8")
        .replace('trails = "trails.gpkg"', 'trails = "trails.gpkg"\ncandidates = "candidates.csv"')
        + "\n[coverage]\nrsrp_threshold_dbm = -100.0\n"
          "\n[sites]\nbudget_sites = 3\ncandidate_spacing_m = 500.0\n")
    argv = ["sites", str(toml), "--method", "exact", "--budget", "2", "--no-map"]
    loud = _covkit(*argv, "--out", str(tmp_path / "o1"))
    assert loud.returncode == 0, loud.stderr
    assert "HiGHS" not in loud.stdout and "site proposals" in loud.stdout
    assert "exact" in loud.stdout
    assert "Running HiGHS" in loud.stderr  # the solver ran (the test is not vacuous)
    quiet = _covkit("-q", *argv, "--out", str(tmp_path / "o2"))
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "" and "HiGHS" not in quiet.stderr


def test_first_run_says_it_is_compiling_the_kernels(tmp_path):
    """With an empty Numba cache the first command says on stderr that it compiles (once);
    a warm run and --quiet say nothing."""
    import os

    from covkit import _jit

    csv = tmp_path / "p.csv"
    csv.write_text("distance_km,height_m\n0,10\n1,12\n2,15\n")
    link = ["pathloss", "--model", "fspl", "--profile", str(csv), "--freq-mhz", "3500",
            "--tx-height-m", "30", "--rx-height-m", "1.5"]
    cache = tmp_path / "cache"
    env = os.environ.copy()
    try:
        os.environ["NUMBA_CACHE_DIR"] = str(cache)
        os.environ.pop(_jit.COMPILE_NOTICE_ENV, None)
        cold = _covkit(*link)
        warm = _covkit(*link)
        os.environ["NUMBA_CACHE_DIR"] = str(tmp_path / "cache2")
        quiet = _covkit("-q", *link)
    finally:
        os.environ.clear()
        os.environ.update(env)
    assert cold.returncode == warm.returncode == quiet.returncode == 0, cold.stderr
    assert cold.stdout == warm.stdout == quiet.stdout and cold.stdout.startswith("loss_db = ")
    assert cold.stderr.splitlines() == [_jit.COMPILE_NOTICE]
    assert warm.stderr == "" and quiet.stderr == ""
    assert any(cache.rglob("*.nbi"))  # the cold run did fill that cache
