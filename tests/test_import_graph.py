"""The import graph, read from the source (AST only, nothing imported or run).

Imports run one way (packages and engine rooms in the order below), and two rules of docs/ARCHITECTURE.md hold for every module of the package: no cycle between
modules (imports inside functions count: a lazy import hides a cycle, it does not remove it),
and nothing reaches into another module's private names — no ``from x import _name``, no
``x._name`` on an imported module, and a private module (``_kernels.py``) is imported only
by the modules of its own package.
"""
from __future__ import annotations

import ast
from configparser import ConfigParser
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _package_dirs() -> dict[str, Path]:
    cfg = ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    dirs = {}
    for line in cfg["options"]["package_dir"].strip().splitlines():
        name, _, path = (s.strip() for s in line.partition("="))
        dirs[name] = ROOT / path
    return dirs


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg, base in _package_dirs().items():
        for f in base.rglob("*.py"):
            rel = f.relative_to(base).with_suffix("").parts
            if rel[-1] == "__init__":
                rel = rel[:-1]
            mods[".".join((pkg, *rel))] = f
    return mods


MODULES = _modules()


def _absolute(module: str, level: int, name: str | None, is_package: bool) -> str:
    if not level:
        return name or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _imports(module: str, path: Path):
    """(target module, imported name or None, line) for every import of a project module."""
    tree = _tree(path)
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in MODULES:
                    yield a.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node.level, node.module, is_package)
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in MODULES:
                    yield sub, None, node.lineno
                elif target in MODULES:
                    yield target, a.name, node.lineno


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@cache
def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for mod, path in MODULES.items():
        for target, _, _ in _imports(mod, path):
            if target != mod:
                graph[mod].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_cycles_between_modules():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_private_names_across_modules():
    bad = []
    for mod, path in MODULES.items():
        imported_modules = {}
        for target, name, line in _imports(mod, path):
            if target == mod:
                continue
            if name is not None and _private(name):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name} from {target}")
            leaf = target.rsplit(".", 1)
            if _private(leaf[-1]) and mod.rsplit(".", 1)[0] != leaf[0] and mod != leaf[0]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports private module {target} from outside its package")
        tree = _tree(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _absolute(mod, node.level, node.module, path.name == "__init__.py")
                for a in node.names:
                    if f"{target}.{a.name}" in MODULES:
                        imported_modules[a.asname or a.name] = f"{target}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname and a.name in MODULES:
                        imported_modules[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in imported_modules and _private(node.attr)):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr} "
                           f"of {imported_modules[node.value.id]}")
    assert bad == []


def test_every_package_module_is_seen():
    assert "jukimatch.engine.model" in MODULES and "jukimatch.api.cli" in MODULES


#: Which rooms each room may import (docs/ARCHITECTURE.md draws the same). reconcile and
#: link never import each other; both write through files/; the shared modules at the
#: bottom import no room.
ENGINE_ROOMS = {
    "runtime": set(), "text": set(), "io": {"memory"}, "masking": set(), "outcomes": set(), "memory": set(),
    "model": {"runtime"},
    "normalize": {"runtime", "text"},
    "compare": {"runtime", "text"},
    "validate": {"runtime", "text", "io", "normalize"},
    "files": {"io"},
    "report": {"compare", "files", "masking", "model", "outcomes"},
    "reconcile": {"runtime", "memory", "text", "io", "masking", "outcomes", "model", "normalize", "compare",
                  "validate", "files", "report"},
    "link": {"runtime", "text", "io", "model", "normalize", "compare", "validate", "files", "report"},
}
PACKAGES = {
    "engine": set(),
    "datasets": {"engine"},
    "api": {"engine", "datasets"},
    "sim": {"engine", "datasets", "api"},
    "bench": {"engine", "datasets", "api", "sim"},
}


def test_imports_run_one_way():
    bad = []
    for mod, targets in _graph().items():
        parts = mod.split(".")
        for t in targets:
            tparts = t.split(".")
            if parts[1] != tparts[1]:
                if tparts[1] not in PACKAGES[parts[1]]:
                    bad.append(f"{mod} imports {t}")
            elif parts[1] == "engine" and len(parts) > 2 and len(tparts) > 2 and parts[2] != tparts[2]:
                if tparts[2] not in ENGINE_ROOMS[parts[2]]:
                    bad.append(f"{mod} imports {t}")
    assert bad == []


def test_every_engine_room_is_placed():
    rooms = {m.split(".")[2] for m in MODULES if m.startswith("jukimatch.engine.")}
    assert rooms <= set(ENGINE_ROOMS)
