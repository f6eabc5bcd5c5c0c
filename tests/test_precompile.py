"""Kernels compiled at install time: ``covkit precompile`` and the build backend that runs it
for ``pip install -e .`` (build_backend/covkit_build.py)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from covkit import _jit

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def backend():
    spec = importlib.util.spec_from_file_location(
        "covkit_build", ROOT / "build_backend" / "covkit_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_pyproject_names_the_backend(backend):
    with open(ROOT / "pyproject.toml", "rb") as f:
        build = tomllib.load(f)["build-system"]
    assert build["build-backend"] == "covkit_build"
    assert build["backend-path"] == ["build_backend"]
    for hook in ("build_editable", "build_wheel", "build_sdist", "get_requires_for_build_editable",
                 "prepare_metadata_for_build_editable"):
        assert callable(getattr(backend, hook)), hook


def test_build_environment_gets_the_runtime_dependencies(backend):
    """The editable build's extra requirements are exactly the project's dependencies (one
    list, read from pyproject.toml), so the build environment can import covkit."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    assert backend.runtime_requirements() == deps
    assert any(d.startswith("numba") for d in deps)


@pytest.mark.parametrize(("value", "wanted"), [(None, True), ("1", True), ("0", False),
                                               ("no", False), ("False", False)])
def test_precompile_can_be_switched_off(backend, monkeypatch, value, wanted):
    if value is None:
        monkeypatch.delenv(backend.SKIP_ENV, raising=False)
    else:
        monkeypatch.setenv(backend.SKIP_ENV, value)
    assert backend.precompile_wanted() is wanted


def test_a_failed_precompile_does_not_fail_the_install(backend, capsys):
    """A compile that cannot finish (here: a timeout) is reported on stderr and returns False;
    build_editable goes on with the wheel."""
    assert backend.precompile(ROOT, timeout_s=0.01) is False
    err = capsys.readouterr().err
    assert "kernels not compiled at install" in err and "first run will compile" in err


@pytest.mark.slow
def test_after_precompile_the_first_demo_compiles_nothing(backend, tmp_path, monkeypatch,
                                                          capsys):
    """The backend's precompile step (``python -m covkit -q precompile``) on an empty cache,
    then a demo with the compile notice on: the demo finds every kernel in the cache."""
    cache = tmp_path / "numba-cache"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    monkeypatch.delenv(_jit.COMPILE_NOTICE_ENV, raising=False)
    assert backend.precompile(ROOT, timeout_s=1200) is True
    err = capsys.readouterr().err
    assert "kernels compiled in" in err
    assert any(cache.rglob("*.nbi"))
    demo = subprocess.run([sys.executable, "-m", "covkit", "demo", "--out", str(tmp_path / "d")],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=1200, check=False)
    assert demo.returncode == 0, demo.stderr
    assert "population_coverage_pct" in demo.stdout
    assert _jit.COMPILE_NOTICE not in demo.stderr
