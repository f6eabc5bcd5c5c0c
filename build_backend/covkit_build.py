"""covkit's build backend: setuptools, plus the kernels compiled at install time.

A first covkit run after an install would otherwise spend 20-40 s of CPU compiling its Numba
kernels and look hung. For an editable install (``pip install -e .``, the README's command)
this backend therefore runs ``covkit precompile`` once the editable wheel is built: the kernels
are compiled on the machine that will run them, into the Numba cache beside the sources
(``covkit/**/__pycache__``, or ``NUMBA_CACHE_DIR`` when set), which is where the installed
package looks for them. Numba keys the cache on its own version, the CPU and covkit's
sources (``covkit._jit``), so a cache that does not fit is recompiled, never misused.

To import covkit, the build environment needs covkit's run-time dependencies: the
``get_requires_for_build_editable`` hook adds the ``[project] dependencies`` of
``pyproject.toml`` (one list, read from there) to setuptools' own. pip resolves them as it
does for the installed package, so both get the same Numba.

The step never fails an install: if it cannot run, it says why on stderr and the first run
compiles instead. ``COVKIT_PRECOMPILE=0`` skips it (and the extra build requirements).
Regular wheels and sdists are built by setuptools alone: a wheel may be installed on another
CPU; after such an install ``covkit precompile`` does the same once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (  # noqa: F401 - the PEP 517 hooks setuptools provides
    build_sdist,
    build_wheel,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

ROOT = Path(__file__).resolve().parents[1]
SKIP_ENV = "COVKIT_PRECOMPILE"
TIMEOUT_S = 1800.0


def precompile_wanted() -> bool:
    """False when ``COVKIT_PRECOMPILE`` is ``0``, ``no`` or ``false``."""
    return os.environ.get(SKIP_ENV, "1").strip().lower() not in ("0", "no", "false")


def runtime_requirements(root: Path = ROOT) -> list[str]:
    """The ``[project] dependencies`` of ``root/pyproject.toml``."""
    with open(root / "pyproject.toml", "rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def get_requires_for_build_editable(config_settings=None):
    extra = runtime_requirements() if precompile_wanted() else []
    return list(_setuptools.get_requires_for_build_editable(config_settings)) + extra


def precompile(root: Path = ROOT, timeout_s: float = TIMEOUT_S) -> bool:
    """Run ``python -m covkit -q precompile`` on the sources in ``root`` with this
    interpreter and environment; True when it succeeded. Its output goes to stderr (pip shows
    it with ``-v``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root)] + [
        p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    log = sys.stderr
    log.write("covkit: compiling the kernels for this machine (once, 20-60 s)...\n")
    log.flush()
    t0 = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "covkit", "-q", "precompile"], cwd=root,
                              env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout_s,
                              check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.write(f"covkit: kernels not compiled at install ({exc}); the first run will "
                  "compile them\n")
        return False
    log.write(done.stdout)
    if done.returncode != 0:
        log.write(f"covkit: kernels not compiled at install (exit {done.returncode}); the "
                  "first run will compile them\n")
        return False
    log.write(f"covkit: kernels compiled in {time.perf_counter() - t0:.1f} s\n")
    return True


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    name = _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
    if precompile_wanted():
        precompile()
    return name
