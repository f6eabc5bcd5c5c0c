"""One output set per run, committed whole (covkit.outputs.RunCommit).

A run stages every file in a hidden folder and puts the set in place at once under a lock: a
kill -9, an I/O error on any rename or a full disk leaves the earlier complete set (and the next
run cleans what was left); files of an earlier run that this one does not write are removed; a
second run into the same folder is refused while the first holds the lock.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers.scenario import X0, Y0, lonlat, write_small_scenario

import covkit
import covkit.maps
import covkit.outputs
from covkit.cli import main
from covkit.errors import CovkitError

ROOT = Path(__file__).resolve().parents[1]


def _scenario(folder: Path, threshold_dbm: float) -> Path:
    toml = write_small_scenario(folder, model="fspl")
    text = toml.read_text().replace("max_radius_km = 3.0", "max_radius_km = 0.8")
    lon, lat = lonlat(X0 + 3500.0, Y0 - 2500.0)
    (folder / "candidates.csv").write_text(
        f"candidate_id,lon,lat,height_m,cost\nU1,{lon},{lat},25,2.0\n")
    text = text.replace('trails = "trails.gpkg"',
                        'trails = "trails.gpkg"\ncandidates = "candidates.csv"')
    text += (f"\n[coverage]\nrsrp_threshold_dbm = {threshold_dbm}\n"
             "\n[sites]\nbudget_sites = 2\ncandidate_spacing_m = 500.0\n")
    toml.write_text(text)
    return toml


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    """Two scenarios on the same inputs with different figures (RSRP threshold)."""
    tmp = tmp_path_factory.mktemp("outset")
    return _scenario(tmp / "a", -100.0), _scenario(tmp / "b", -90.0)


@pytest.fixture(scope="module")
def set_a(scenarios, tmp_path_factory):
    """A complete `covkit sites` folder of scenario A (copied by each test that changes it)."""
    out = tmp_path_factory.mktemp("set_a") / "out"
    covkit.run_study(scenarios[0], out, sites=True)
    return out


def snapshot(out: Path) -> dict[str, str]:
    """sha256 of every file under ``out`` (relative path -> digest), hidden ones included."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


def hidden(out: Path) -> list[str]:
    """Hidden entries anywhere under ``out`` (staging folders, temp files, journal, lock)."""
    return sorted(str(p.relative_to(out)) for p in out.rglob(".*"))


def copy_of(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _subprocess(script: str, *args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], env=env,
                            cwd=str(ROOT), **kwargs)


def test_set_a_is_complete(set_a):
    names = {p.name for p in set_a.iterdir()}
    assert {"rsrp_best.tif", "kpi_summary.json", "kpi_after.json", "sites_proposed.csv",
            "map.html", "lib", "report.html", "report.md"} <= names
    assert hidden(set_a) == []


# ----------------------------------------------------------------------------------------------
# kill -9


KILL_AFTER_FIRST_WRITE = """
    import os, sys
    import covkit, covkit.outputs as O
    original = O._write_cog_to
    def write_then_die(*args, **kwargs):
        original(*args, **kwargs)
        os.kill(os.getpid(), 9)
    O._write_cog_to = write_then_die
    covkit.run_study(sys.argv[1], sys.argv[2], map_and_report=False)
"""

KILL_AT_RENAME = """
    import os, sys
    import covkit
    out, nth = os.path.abspath(sys.argv[2]), int(sys.argv[3])
    original, count = os.replace, [0]
    def replace_then_die(src, dst, *args, **kwargs):
        where = os.path.dirname(os.path.abspath(str(dst)))
        if where == out or os.path.basename(where).startswith(".covkit-old-"):
            count[0] += 1
            if count[0] == nth:
                original(src, dst, *args, **kwargs)
                os.kill(os.getpid(), 9)
        return original(src, dst, *args, **kwargs)
    os.replace = replace_then_die
    covkit.run_study(sys.argv[1], out)
"""


def test_kill9_while_writing_leaves_old_set_and_next_run_cleans(scenarios, set_a, tmp_path):
    out = copy_of(set_a, tmp_path / "out")
    before = snapshot(out)
    proc = _subprocess(KILL_AFTER_FIRST_WRITE, str(scenarios[1]), str(out))
    assert proc.wait(timeout=600) == -9
    assert hidden(out), "the killed run left nothing behind: the kill came too late"
    assert {k: v for k, v in snapshot(out).items() if not k.startswith(".")} == before
    covkit.run_study(scenarios[1], out)  # a normal run into the same folder
    assert hidden(out) == []
    summary = json.loads((out / "kpi_summary.json").read_text())
    assert summary["parameters"]["coverage"]["rsrp_threshold_dbm"] == -90.0


@pytest.mark.parametrize("nth", [3, 15, 30])
def test_kill9_while_renaming_is_rolled_back(scenarios, set_a, tmp_path, nth):
    out = copy_of(set_a, tmp_path / "out")
    before = snapshot(out)
    proc = _subprocess(KILL_AT_RENAME, str(scenarios[1]), str(out), str(nth))
    assert proc.wait(timeout=600) == -9
    assert (out / covkit.outputs.JOURNAL_NAME).is_file()
    with pytest.warns(UserWarning, match="interrupted"):
        done = covkit.outputs.repair_folder(out)
    assert done
    assert snapshot(out) == before
    assert hidden(out) == []


# ----------------------------------------------------------------------------------------------
# an I/O error on the n-th rename


@pytest.mark.parametrize("nth", [2, 5, 12, 30])
def test_eio_on_nth_rename_keeps_the_old_complete_set(scenarios, set_a, tmp_path, monkeypatch,
                                                     nth):
    out = copy_of(set_a, tmp_path / "out")
    before = snapshot(out)
    original, count = os.replace, [0]

    def failing_replace(src, dst, *args, **kwargs):  # renames into the folder or out of it
        where = Path(os.path.abspath(str(dst))).parent
        if where == out.resolve() or where.name.startswith(".covkit-old-"):
            count[0] += 1
            if count[0] == nth:
                raise OSError(errno.EIO, "Input/output error", str(dst))
        return original(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(CovkitError, match=r"could not put the new outputs in place in .*"
                                          r"the earlier outputs there are kept"):
        covkit.run_study(scenarios[1], out)
    monkeypatch.undo()
    assert count[0] >= nth
    assert snapshot(out) == before
    assert hidden(out) == []


# ----------------------------------------------------------------------------------------------
# files of an earlier run


def test_run_after_sites_drops_the_stale_after_figures(scenarios, set_a, tmp_path):
    out = copy_of(set_a, tmp_path / "out")
    assert "with proposed sites" in (out / "report.md").read_text()
    covkit.run_study(scenarios[1], out)
    for name in ("kpi_after.json", "sites_summary.json", "sites_proposed.csv",
                 "sites_proposed.gpkg", "report_before_after.png"):
        assert not (out / name).exists(), name
    for page in ("report.md", "report.html"):
        text = (out / page).read_text()
        assert "with proposed sites" not in text and "Before and after" not in text
    assert "Proposed sites" not in (out / "report.md").read_text()
    assert hidden(out) == []


def test_python_api_writes_are_each_committed_whole(scenarios, set_a, tmp_path):
    out = copy_of(set_a, tmp_path / "out")
    result = covkit.run(scenarios[1], out_dir=out)  # a new coverage: A's proposals are stale
    assert not (out / "kpi_after.json").exists() and not (out / "sites_proposed.csv").exists()
    assert {p.name for p in result.files} <= {p.name for p in out.iterdir()}
    proposal = covkit.propose_sites(result, out_dir=out)
    assert all(p.is_file() for p in proposal.files)
    assert (out / "kpi_after.json").is_file()
    assert hidden(out) == []


# ----------------------------------------------------------------------------------------------
# the lock


HOLD_LOCK = """
    import sys
    import covkit.outputs as O
    with O.folder_lock(sys.argv[1]):
        print("locked", flush=True)
        sys.stdin.read()
"""


def test_second_run_into_a_locked_folder_is_refused(scenarios, set_a, tmp_path, capsys):
    out = copy_of(set_a, tmp_path / "out")
    before = snapshot(out)
    proc = _subprocess(HOLD_LOCK, str(out), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                       text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(covkit.outputs.OutputFolderBusy,
                           match=rf"{out}.*in use by another covkit run \(pid {proc.pid}"):
            covkit.run_study(scenarios[1], out)
        with pytest.raises(covkit.outputs.OutputFolderBusy, match=rf"pid {proc.pid}"):
            covkit.write_map(out)
        with pytest.raises(SystemExit) as info:
            main(["run", str(scenarios[1]), "--out", str(out), "--no-map"])
        err = capsys.readouterr().err
        assert info.value.code == 2
        assert len(err.strip().splitlines()) == 1
        assert str(out) in err and f"pid {proc.pid}" in err
    finally:
        proc.stdin.close()
        proc.wait(timeout=120)
    assert {k: v for k, v in snapshot(out).items() if not k.startswith(".")} == before
    covkit.write_report(out)  # the lock is free again
    assert hidden(out) == []


def test_stale_lock_of_a_dead_process_is_taken_over(scenarios, set_a, tmp_path):
    out = copy_of(set_a, tmp_path / "out")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=60)
    (out / covkit.outputs.LOCK_NAME).write_text(json.dumps({"pid": dead.pid}))
    with pytest.warns(UserWarning, match=rf"stale lock .* pid {dead.pid}"):
        covkit.run_study(scenarios[1], out, map_and_report=False)
    assert hidden(out) == []


# ----------------------------------------------------------------------------------------------
# disk full


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_in_a_writer_is_reported_and_keeps_the_old_set(scenarios, set_a, tmp_path,
                                                                 monkeypatch):
    out = copy_of(set_a, tmp_path / "out")
    before = snapshot(out)
    monkeypatch.setattr(covkit.outputs, "_write_gpkg_to", _enospc)
    with pytest.raises(CovkitError, match=rf"no space left on device while writing "
                                          rf"kpi_townships.gpkg into {out}"):
        covkit.run_study(scenarios[1], out)
    assert snapshot(out) == before
    assert hidden(out) == []


def test_disk_full_while_copying_lib_never_half_copies_it(scenarios, set_a, tmp_path,
                                                          monkeypatch):
    out = copy_of(set_a, tmp_path / "out")
    before = snapshot(out)
    assert sum(k.startswith("lib/") for k in before) >= 3
    original, count = covkit.maps.shutil.copyfile, [0]

    def copy_until_full(src, dst, *args, **kwargs):
        count[0] += 1
        if count[0] > 2:
            Path(dst).write_bytes(Path(src).read_bytes()[:10])  # a partial file, then full
            _enospc()
        return original(src, dst, *args, **kwargs)

    monkeypatch.setattr(covkit.maps.shutil, "copyfile", copy_until_full)
    with pytest.raises(CovkitError, match=rf"no space left on device while writing lib/ "
                                          rf"into {out}"):
        covkit.run_study(scenarios[1], out)
    assert snapshot(out) == before
    with pytest.raises(CovkitError, match=r"no space left on device while writing lib/"):
        covkit.write_map(out)  # the map alone: map.html and lib/ are one set too
    assert snapshot(out) == before
    assert hidden(out) == []
