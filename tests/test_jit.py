"""Numba cache freshness: covkit kernels are stamped with the whole package's sources."""

from __future__ import annotations

import os

import pytest

from covkit import _jit


def test_stamp_changes_with_any_source_file(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    first = _jit.package_source_stamp(pkg)
    assert _jit.package_source_stamp(pkg) == first
    (pkg / "sub" / "b.py").write_text("y = 3\n")
    os.utime(pkg / "sub" / "b.py", ns=(1, 1))  # content decides, not only the mtime
    second = _jit.package_source_stamp(pkg)
    assert second != first
    (pkg / "sub" / "c.py").write_text("")
    assert _jit.package_source_stamp(pkg) != second


def test_covkit_kernels_use_the_package_locator():
    if not hasattr(_jit, "_PackageSourceLocator"):
        pytest.skip("this Numba version has no cache locator registry")
    from covkit.propagation.engine import sweep_radials_p1812
    from covkit.propagation.p1812 import effective_earth_radius_km

    effective_earth_radius_km(45.0)
    for kernel in (effective_earth_radius_km, sweep_radials_p1812):
        locator = kernel._cache._impl.locator
        assert isinstance(locator, _jit._PackageSourceLocator)
        assert locator.get_source_stamp() == _jit.package_source_stamp()


def test_locator_ignores_functions_outside_the_package(tmp_path):
    if not hasattr(_jit, "_PackageSourceLocator"):
        pytest.skip("this Numba version has no cache locator registry")
    outside = tmp_path / "m.py"
    outside.write_text("def f():\n    return 1\n")
    ns = {}
    exec(compile(outside.read_text(), str(outside), "exec"), ns)
    assert _jit._PackageSourceLocator.from_function(ns["f"], str(outside)) is None


def test_hot_kernels_compile_without_reference_counting():
    """The engine's kernels are built without NRT (an atomic incref/decref per array argument
    cost a tenth of the engine's time); the option must still be understood by Numba."""
    from numba.core.cpu import CPUTargetOptions

    assert hasattr(CPUTargetOptions, "_nrt")
    assert _jit._NRT_OPTION == {"_nrt": False}
    from covkit.propagation.terrain import bilinear_at

    assert bilinear_at.targetoptions.get("_nrt") is False


def test_kernels_in_subpackages_load_from_the_cache_in_a_new_process():
    """Kernels of the p1812/ and engine/ subpackages are cached: a second process loads them
    and compiles nothing (NUMBA_DEBUG_CACHE reports every save and load)."""
    import subprocess
    import sys
    from pathlib import Path

    if not hasattr(_jit, "_PackageSourceLocator"):
        pytest.skip("this Numba version has no cache locator registry")
    code = ("from covkit.propagation.engine.reference import free_space_db\n"
            "from covkit.propagation.p1812.profile import effective_earth_radius_km\n"
            "print(effective_earth_radius_km(45.0), free_space_db(1000.0, 30.0, 1.5, 0.9))\n")
    root = Path(_jit.__file__).resolve().parents[1]
    env = {**os.environ, "NUMBA_DEBUG_CACHE": "1",
           "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, cwd=root, check=True) for _ in range(2)]
    assert runs[0].stdout.splitlines()[-1] == runs[1].stdout.splitlines()[-1]
    second = runs[1].stdout + runs[1].stderr
    assert "data loaded from" in second
    assert "profile.effective_earth_radius_km" in second
    assert "reference.free_space_db" in second
    assert "saved" not in second


def test_stamp_ignores_the_command_line_layer(tmp_path):
    """Editing a CLI help text must not recompile every kernel (no kernel depends on cli/)."""
    pkg = tmp_path / "pkg"
    (pkg / "cli").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "cli" / "b.py").write_text("y = 2\n")
    first = _jit.package_source_stamp(pkg)
    (pkg / "cli" / "b.py").write_text("y = 3\n")
    (pkg / "cli" / "c.py").write_text("")
    assert _jit.package_source_stamp(pkg) == first
    (pkg / "a.py").write_text("x = 2\n")
    assert _jit.package_source_stamp(pkg) != first


def test_calls_from_kernels_compile_once_per_type_not_per_literal():
    """A kernel that another kernel calls with constants (``f(x, 0)``, ``f(x, True)``) and
    with a variable is compiled for the plain types only: Numba alone would add a
    ``Literal[int](0)`` and a ``Literal[bool](True)`` compilation."""
    import numba

    def add(x, n):
        return x + n

    callee = _jit._one_specialisation_per_type(numba.njit(add))

    @numba.njit
    def caller(x, n):
        return callee(x, 0) + callee(x, n) + callee(x, True) + callee(x, False)

    assert caller(1.5, 2) == 1.5 + (1.5 + 2) + 2.5 + 1.5
    sigs = [str(s) for s in callee.signatures]
    assert not any("Literal" in s for s in sigs), sigs
    assert sorted(sigs) == ["(float64, bool)", "(float64, int64)"]
    for decorator in (_jit.njit, _jit.njit_noalloc, _jit.njit_parallel):  # all covkit kernels
        assert decorator.__qualname__.startswith("_decorator")
