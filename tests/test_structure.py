"""The package's structure: imports go one way, private names stay in their module, imports
inside functions only for optional heavy packages, and the front door lists what it offers.

The import graph is read from the source with :mod:`ast` (nothing is executed), every import
statement counted wherever it stands, except under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "covkit"
TESTS = ROOT / "tests"

LAZY_OK = {"folium", "branca", "matplotlib", "dask", "distributed", "IPython", "highspy",
           "pycraf", "itmlogic", "spopt", "fontTools"}
"""Third-party packages that may be imported inside a function: heavy or optional ones that
only some commands need (maps, figures, the exact optimiser, distributed runs, the font subset
of a report with CJK names: fontTools.subset takes 0.45 s to import)."""


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _resolve_relative(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


class _Imports(ast.NodeVisitor):
    """Every import of a module: (target, names, line, inside a function)."""

    def __init__(self, module: str, is_package: bool):
        self.module = module
        self.is_package = is_package
        self.depth = 0
        self.found: list[tuple[str, list[str], int, bool]] = []

    def visit_FunctionDef(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node):
        if _is_type_checking(node):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node):
        for alias in node.names:
            self.found.append((alias.name, [], node.lineno, self.depth > 0))

    def visit_ImportFrom(self, node):
        target = _resolve_relative(self.module, node, self.is_package)
        self.found.append((target, [a.name for a in node.names], node.lineno, self.depth > 0))


def imports_of(path: Path, module: str):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    v = _Imports(module, path.name == "__init__.py")
    v.visit(tree)
    return tree, v.found


def import_graph() -> dict[str, set[str]]:
    mods = package_modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        _, found = imports_of(path, mod)
        for target, names, _line, _inner in found:
            if not (target == "covkit" or target.startswith("covkit.")):
                continue
            hits = [f"{target}.{n}" for n in names if f"{target}.{n}" in mods]
            if hits:
                graph[mod].update(hits)
                if len(hits) < len(names):
                    graph[mod].add(target)
            elif target in mods:
                graph[mod].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_cycle_finder_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert len(graph) > 30
    assert "covkit.coverage.run" in graph["covkit.api"]
    assert cycles(graph) == []


def test_imports_go_down_the_layers():
    """propagation kernels <- data <- coverage <- api <- cli: no arrow points up."""
    layer = {"covkit.propagation": 1, "covkit.data": 2, "covkit.coverage": 3,
             "covkit.api": 4, "covkit.cli": 5}

    def level(mod):
        for prefix, n in layer.items():
            if mod == prefix or mod.startswith(prefix + "."):
                return n
        return None

    up = [(a, b) for a, targets in import_graph().items() for b in targets
          if level(a) is not None and level(b) is not None and level(b) > level(a)]
    assert up == []


def test_no_private_name_imported_from_another_module():
    mods = package_modules()
    bad = []
    for mod, path in mods.items():
        tree, found = imports_of(path, mod)
        for target, names, line, _ in found:
            if target.startswith("covkit"):
                bad += [f"{mod}:{line} imports {target}.{n}" for n in names
                        if n.startswith("_") and not n.startswith("__")
                        and f"{target}.{n}" not in mods]
        # module aliases (import covkit.x as X / from covkit.y import x as X): no X._private
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases |= {a.asname for a in node.names
                            if a.asname and a.name.startswith("covkit")}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("covkit"):
                aliases |= {a.asname or a.name for a in node.names
                            if f"{node.module}.{a.name}" in mods}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                bad.append(f"{mod}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert bad == []


def test_imports_inside_functions_only_for_optional_heavy_packages():
    bad = []
    for mod, path in package_modules().items():
        _, found = imports_of(path, mod)
        for target, _names, line, inner in found:
            if inner and target.split(".")[0] not in LAZY_OK:
                bad.append(f"{mod}:{line} imports {target} inside a function")
    assert bad == []


def test_test_modules_do_not_import_each_other():
    test_modules = {p.stem for p in TESTS.glob("test_*.py")}
    bad = []
    for path in sorted(TESTS.rglob("*.py")):
        _, found = imports_of(path, module_name(path, TESTS))
        bad += [f"{path.name}:{line} imports {t}" for t, names, line, _ in found
                if t.split(".")[-1] in test_modules
                or any(n in test_modules for n in names)]
    assert bad == []


def test_front_door_lists_what_it_offers():
    import covkit

    assert 10 <= len(covkit.__all__) <= 20
    for name in covkit.__all__:
        assert getattr(covkit, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = covkit.nope
    for name in ("load_scenario", "Scenario", "load_inputs", "run", "CoverageResult",
                 "propose_sites", "SiteProposal", "path_loss", "coverage_map", "CovkitError",
                 "CovkitInputError"):
        assert name in covkit.__all__


def test_cli_uses_only_the_public_surface():
    """The CLI imports covkit's front door, its API module, the parameter data and the error
    classes, never a step module."""
    allowed = {"covkit", "covkit.api", "covkit.parameters", "covkit.errors", "covkit.version"}
    bad = []
    for mod, path in package_modules().items():
        if not mod.startswith("covkit.cli"):
            continue
        for target, _n, line, _ in imports_of(path, mod)[1]:
            if target.startswith("covkit") and not target.startswith("covkit.cli") \
                    and target not in allowed:
                bad.append(f"{mod}:{line} imports {target}")
    assert bad == []


def test_single_links_load_no_geospatial_stack():
    """``covkit.path_loss`` (and so ``covkit pathloss``) imports the kernels and NumPy, not
    pandas, geopandas, rasterio or xarray: a one-link command starts fast."""
    import subprocess

    code = ("import sys, covkit; covkit.path_loss; "
            "print(sorted(m for m in ('pandas', 'geopandas', 'rasterio', 'xarray', 'folium') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, timeout=1800)
    assert out.stdout.strip() == "[]"
