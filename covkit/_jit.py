"""The one place for Numba jit settings.

No fastmath: NaN is used as nodata throughout and must propagate. ``cache=True`` keeps
compiled kernels between runs (in ``__pycache__``, or under ``NUMBA_CACHE_DIR`` when set).

Numba keys a cached kernel on the source of its own file only, yet a compiled kernel contains
the code of every kernel it calls: after an edit of ``propagation/p1812/loss.py`` alone (a
``git pull`` into an editable install), the engine in ``propagation/engine/sweep.py`` would keep
running the old P.1812 code from its cache. :class:`_PackageSourceLocator` therefore stamps
every covkit kernel with a hash of the whole package's sources, so any change to any covkit
file recompiles all of them - except the command-line layer (``covkit/cli/``): it holds no
kernel and nothing below it imports it (the layering of ``tests/test_structure.py``), so an
edit of a command's help text does not cost a user a recompile of every kernel.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numba.core.caching as _caching
import numba.core.config as _numba_config
import numba.core.event as _numba_event
from numba.core import types as _types

try:
    from numba.core.cpu import CPUTargetOptions
except ImportError:  # pragma: no cover - depends on the Numba version
    CPUTargetOptions = None

PACKAGE_DIR = Path(__file__).resolve().parent


STAMP_EXCLUDES = ("cli",)
"""Top-level subpackages left out of the source stamp: no kernel depends on them."""


def _stamped_files(package_dir):
    return [p for p in sorted(Path(package_dir).rglob("*.py"))
            if p.relative_to(package_dir).parts[0] not in STAMP_EXCLUDES]


@functools.lru_cache(maxsize=8)
def _sources_digest(package_dir, stat_key):
    """sha256 over the package's ``.py`` files (relative path and content)."""
    del stat_key  # part of the memo key only: a changed file re-hashes within a process
    h = hashlib.sha256()
    for path in _stamped_files(package_dir):
        h.update(str(path.relative_to(package_dir)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def package_source_stamp(package_dir=PACKAGE_DIR):
    """Stamp of a package's sources: changes whenever any of its ``.py`` files outside
    :data:`STAMP_EXCLUDES` changes."""
    package_dir = Path(package_dir)
    stat_key = tuple(
        (str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in _stamped_files(package_dir)
    )
    return _sources_digest(str(package_dir), stat_key)


_IN_TREE = getattr(_caching, "InTreeCacheLocator", None) or getattr(
    _caching, "_InTreeCacheLocator", None)
_CACHE_IMPL = getattr(_caching, "CacheImpl", None) or getattr(_caching, "_CacheImpl", None)

if _IN_TREE is not None and _CACHE_IMPL is not None:

    class _PackageSourceLocator(_IN_TREE):
        """Numba cache locator for covkit's kernels: freshness = the whole package's sources."""

        def __init__(self, py_func, py_file):
            super().__init__(py_func, py_file)
            if _numba_config.CACHE_DIR:
                self._cache_path = os.path.join(_numba_config.CACHE_DIR,
                                                self.get_suitable_cache_subpath(py_file))

        def get_source_stamp(self):
            return package_source_stamp()

        @classmethod
        def from_function(cls, py_func, py_file):
            try:
                inside = Path(py_file).resolve().is_relative_to(PACKAGE_DIR)
            except (OSError, ValueError):
                inside = False
            if not inside:
                return None
            return super().from_function(py_func, py_file)

    if _PackageSourceLocator not in _CACHE_IMPL._locator_classes:
        _CACHE_IMPL._locator_classes.insert(0, _PackageSourceLocator)

def cache_location() -> str:
    """Where the compiled kernels are cached: ``NUMBA_CACHE_DIR`` when set, else the
    ``__pycache__`` folders beside covkit's sources."""
    if _numba_config.CACHE_DIR:
        return str(_numba_config.CACHE_DIR)
    return str(PACKAGE_DIR / "**" / "__pycache__")


COMPILE_NOTICE_ENV = "COVKIT_COMPILE_NOTICE"
"""Set (to anything but ``""`` / ``"0"``) to print :data:`COMPILE_NOTICE` on stderr when a
covkit kernel is first compiled in a process (a cache miss). The command line sets it while
it shows progress: a first run after install compiles for some seconds (the demo: about 15 s
of CPU on this project's 2-core machine), and must not look hung."""

COMPILE_NOTICE = ("compiling the propagation and coverage kernels (first run after an install "
                  "or update only; later runs load them from the cache)...")

_NOTICE = {"shown": False, "compiled": 0}


def covkit_compilations() -> int:
    """covkit kernels compiled in this process so far (cache misses; a kernel called from
    another is counted too). 0 after a run means the whole run came from the cache."""
    return _NOTICE["compiled"]


class _CompileNotice(_numba_event.Listener):
    """Numba ``numba:compile`` listener: fires on a cache miss only (cache loads happen
    before the event), so a warm run prints nothing. Counts covkit's compilations
    (:func:`covkit_compilations`)."""

    def on_start(self, event):
        dispatcher = (event.data or {}).get("dispatcher")
        module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
        if not module.startswith("covkit."):
            return
        _NOTICE["compiled"] += 1
        if _NOTICE["shown"] or os.environ.get(COMPILE_NOTICE_ENV, "") in ("", "0"):
            return
        _NOTICE["shown"] = True
        try:
            sys.stderr.write(COMPILE_NOTICE + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # pragma: no cover - stderr closed
            pass

    def on_end(self, event):
        pass


_numba_event.register("numba:compile", _CompileNotice())


def _one_specialisation_per_type(dispatcher):
    """Make calls from other kernels compile ``dispatcher`` for plain types only.

    Numba compiles a callee once per *literal* value it is called with from compiled code
    (``f(x, 0)`` and ``f(x, n)`` are two compilations, ``Literal[int](0)`` and ``int64``; so
    are ``flag=True`` and ``flag=False``): a tenth of a first run's compile time went to such
    copies. Here the argument types are widened to their non-literal type before Numba picks
    or compiles an overload, so each kernel has one compilation per array/scalar type; LLVM
    still folds the constants where it inlines the call."""
    get_call_template = dispatcher.get_call_template

    def plain_call_template(args, kws):
        return get_call_template(tuple(_types.unliteral(a) for a in args),
                                 {k: _types.unliteral(v) for k, v in kws.items()})

    dispatcher.get_call_template = plain_call_template
    return dispatcher


def _decorator(**options):
    jit = numba.njit(**options)

    def decorate(func):
        return _one_specialisation_per_type(jit(func))

    return decorate


njit = _decorator(cache=True, nogil=True, error_model="numpy")
"""Decorator for scalar and array kernels: ``@njit``."""


def _nrt_option():
    """``{"_nrt": False}`` where the CPU target knows the option, else ``{}`` (the kernels then
    compile with reference counting, just slower)."""
    if CPUTargetOptions is None:  # pragma: no cover - depends on the Numba version
        return {}
    return {"_nrt": False} if hasattr(CPUTargetOptions, "_nrt") else {}


_NRT_OPTION = _nrt_option()


njit_noalloc = _decorator(cache=True, nogil=True, error_model="numpy", **_NRT_OPTION)
"""Decorator for hot kernels that allocate nothing (arrays in, scalars or arrays out): compiled
without Numba's reference counting (NRT). With it, every call that passes an array costs an
atomic increment and decrement of the array's reference count - in the radial engine that was
a tenth of the run time (bilinear DEM lookups, hull updates, the P.1812 stage-2 kernel). A
kernel under this decorator that tries to allocate fails to compile, so the rule is enforced."""

njit_parallel = _decorator(cache=True, nogil=True, error_model="numpy", parallel=True)
"""Decorator for kernels with ``prange`` loops (over radials or sites).

A ``prange`` loop body is compiled into a kernel of its own that carries a fresh copy of every
kernel it calls: for the engine (the P.1812 chain) that was half of a first run's compile time.
The heavy parallel loops therefore run serial ``@njit`` kernels on disjoint parts of the work
from threads instead (:func:`run_parallel`; the kernels release the GIL)."""

prange = numba.prange


def thread_count():
    """Threads for :func:`run_parallel`: Numba's setting (``NUMBA_NUM_THREADS``,
    ``numba.set_num_threads``), as for ``prange`` loops."""
    return max(1, int(numba.get_num_threads()))


def row_bands(n_rows, n_bands):
    """``(lo, hi)`` row ranges that split ``n_rows`` rows into ``n_bands`` nearly equal bands
    (at least 1, at most ``n_rows``; none when there are no rows), for kernels that
    :func:`run_parallel` runs on disjoint rows."""
    n_bands = max(1, min(int(n_rows), int(n_bands)))
    edges = [n_rows * b // n_bands for b in range(n_bands + 1)]
    return [(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True) if hi > lo]


_POOLS = {}
_POOLS_LOCK = threading.Lock()


def run_parallel(kernel, tasks, n_threads=None):
    """Call ``kernel(*args)`` for every ``args`` in ``tasks`` on ``n_threads`` threads (default
    :func:`thread_count`) and wait for all of them: the calling thread and ``n_threads - 1``
    pool threads take the next task until none is left; with one thread or one task, all run
    in the calling thread. The kernels must be ``nogil`` and write disjoint outputs: the result
    is then the same for every thread count. The first exception is raised."""
    n_threads = thread_count() if n_threads is None else max(1, int(n_threads))
    if n_threads == 1 or len(tasks) <= 1:
        for args in tasks:
            kernel(*args)
        return
    n_helpers = min(n_threads, len(tasks)) - 1
    with _POOLS_LOCK:
        pool = _POOLS.get(n_helpers)
        if pool is None:
            pool = _POOLS[n_helpers] = ThreadPoolExecutor(n_helpers,
                                                          thread_name_prefix="covkit-kernel")
    order = itertools.count()  # next() is atomic: each task is taken once
    failed = []

    def drain():
        for i in iter(order.__next__, None):
            if i >= len(tasks) or failed:
                return
            try:
                kernel(*tasks[i])
            except BaseException as exc:  # re-raised in the calling thread
                failed.append(exc)
                return

    helpers = [pool.submit(drain) for _ in range(n_helpers)]
    drain()
    for helper in helpers:
        helper.result()
    if failed:
        raise failed[0]
