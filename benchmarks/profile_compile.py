"""Where a first run's compile time goes: a cold ``covkit -q demo`` in this process, every Numba
compilation timed by a ``numba:compile`` event listener.

Numba compiles a kernel's callees while it compiles the kernel (nested compile events); a
compilation's *self* time is its own time less that of the compilations nested in it, so the
self times add up to the whole. Times are CPU seconds of this process (``time.process_time``:
steadier than wall time on a shared machine). The Numba cache is a new temporary folder
(``NUMBA_CACHE_DIR``), as on a fresh install; a warm cache would show no compilation at all.

    python benchmarks/profile_compile.py               # top 25 kernels
    python benchmarks/profile_compile.py --top 60 --json compile.json

Columns: self and total (with nested compilations) CPU time, the number of compilations of the
kernel (one per distinct argument-type signature) and the kernel's nesting depth (0 = called
from Python).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=25, help="kernels to list")
    ap.add_argument("--json", type=Path, help="write every compilation as JSON")
    args = ap.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="covkit-compile-")
    os.environ["NUMBA_CACHE_DIR"] = str(Path(tmp.name) / "numba-cache")
    sys.path.insert(0, str(ROOT))
    import numba.core.event as numba_event  # after NUMBA_CACHE_DIR is set

    stack, records = [], []

    class Listener(numba_event.Listener):
        def on_start(self, event):
            stack.append([time.process_time(), 0.0])

        def on_end(self, event):
            t0, nested = stack.pop()
            total = time.process_time() - t0
            if stack:
                stack[-1][1] += total
            data = event.data or {}
            func = getattr(data.get("dispatcher"), "py_func", None)
            name = f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', '?')}"
            records.append({
                "kernel": name,
                "signature": str(data.get("args")), "self_s": total - nested, "total_s": total,
                "depth": len(stack)})

    numba_event.register("numba:compile", Listener())
    from covkit.cli import main as covkit_main

    load0 = os.getloadavg()[0]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        covkit_main(["-q", "demo", "--out", str(Path(tmp.name) / "demo")])
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    tmp.cleanup()

    by_kernel = collections.defaultdict(lambda: {"self_s": 0.0, "total_s": 0.0, "n": 0,
                                                  "depth": 99})
    for r in records:
        k = by_kernel[r["kernel"]]
        k["self_s"] += r["self_s"]
        k["n"] += 1
        k["depth"] = min(k["depth"], r["depth"])
        if r["depth"] == 0:
            k["total_s"] += r["total_s"]
    compile_s = sum(r["self_s"] for r in records)
    print(f"cold covkit -q demo: wall {wall:.1f} s, CPU {cpu:.1f} s, of which compiling "
          f"{compile_s:.1f} s in {len(records)} compilations of {len(by_kernel)} kernels "
          f"(load average {load0:.1f} -> {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores)")
    print(f"{'self':>7s} {'total':>7s} {'n':>3s} {'depth':>5s}  kernel")
    for name, k in sorted(by_kernel.items(), key=lambda kv: -kv[1]["self_s"])[:args.top]:
        total = f"{k['total_s']:6.2f}s" if k["total_s"] else ""
        print(f"{k['self_s']:6.2f}s {total:>7s} {k['n']:3d} {k['depth']:5d}  {name}")
    multi = {n: k["n"] for n, k in by_kernel.items() if k["n"] > 1}
    print(f"kernels compiled for more than one signature: {len(multi)}"
          + "".join(f"\n  {n}: {c}" for n, c in sorted(multi.items())))
    if args.json:
        args.json.write_text(json.dumps({"wall_s": wall, "cpu_s": cpu, "compile_s": compile_s,
                                         "load_average": load0, "compilations": records},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
