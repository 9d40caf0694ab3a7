"""Imports run one way (docs/design.md, "Layers"): every `import` and `from … import` of
wmx/, read with ast (lazy and TYPE_CHECKING imports included), against the rank of each
package. Lower layers never import higher ones, and no two packages import each other,
however indirectly."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import wmx

PACKAGE_ROOT = Path(wmx.__file__).parent

# Higher imports lower. The libraries below ops share a rank: they may use one another
# (status and backup reach hosts through ssh) as long as no loop forms.
LIBRARY = 3
RANKS: dict[str, int] = {
    "entry": 7,  # the `wmx` command's entry point (wmx/entry.py): catches Ctrl-C, runs cli
    "cli": 6,
    "ops": 5,
    "render": 4,
    "run": LIBRARY,
    "admin": LIBRARY,
    "lab": LIBRARY,
    "ssh": LIBRARY,
    "irc": LIBRARY,
    "status": LIBRARY,
    "backup": LIBRARY,
    "grafana": LIBRARY,
    "present": LIBRARY,  # how the commands show results (tables, JSON, YAML)
    "present_pages": LIBRARY,  # listings printed page by page as they arrive
    "present_usage": LIBRARY,  # a command line click cannot parse, as one error line
    "doctor": LIBRARY,
    "bench": LIBRARY,
    "components": 2,
    "site": 1,
    "errors": 0,
    "resources": 0,
    "debian": 1,  # the table of Debian releases (wmx/debian.py); raises InputError
    "agent": 0,
    "wmx": 0,  # the package itself (its version)
}
# Edges other helpers' code still has, each with its owner; empty when the tree is clean.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "wmx"


def _imports() -> Iterator[tuple[Path, str, str]]:
    """(file, its package, the wmx module it imports) for every import in wmx/."""
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
        own = _package(".".join(parts))
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name == "wmx" or name.startswith("wmx."):
                    yield path, own, name


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for _, own, name in _imports():
        target = _package(name)
        if target != own:
            graph.setdefault(own, set()).add(target)
    return graph


def test_every_package_has_a_rank() -> None:
    packages = {
        p.name if p.is_dir() else p.stem
        for p in PACKAGE_ROOT.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.stem != "__init__")
    } | {"wmx"}
    assert packages - RANKS.keys() == set(), "give the new package a rank in RANKS"


def test_no_import_runs_upward() -> None:
    upward = sorted(
        f"{path.relative_to(PACKAGE_ROOT.parent)}: {own} imports {name}"
        for path, own, name in _imports()
        if (target := _package(name)) != own
        and {own, target} <= RANKS.keys()  # an unranked package fails the test above
        and (own, target) not in KNOWN_UPWARD
        and RANKS[own] <= RANKS[target]
        and not (RANKS[own] == RANKS[target] == LIBRARY)
    )
    assert upward == []


def test_the_agent_imports_nothing_of_wmx() -> None:
    """wmx/agent is copied verbatim to hosts, where wmx is not installed."""
    found = [f"{path}: {name}" for path, own, name in _imports() if own == "agent"]
    assert found == []


def test_packages_import_each_other_in_no_loop() -> None:
    graph = _graph()
    loops: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in trail:
                loop = [*trail[trail.index(nxt) :], nxt]
                if (loop[0], loop[1]) not in KNOWN_UPWARD and loop not in loops:
                    loops.append(loop)
            elif len(trail) < len(RANKS):
                visit(nxt, [*trail, nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert loops == []


def test_the_rule_is_enforced_on_a_known_bad_edge() -> None:
    """The checks above see lazy imports inside functions too (a guard for the test)."""
    tree = ast.parse("def f():\n    from wmx.cli import app\n")
    found = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert found == ["wmx.cli"] and RANKS["site"] < RANKS[_package("wmx.cli")]


def _module_graph() -> dict[str, set[str]]:
    """Module → wmx modules it imports (`from wmx.ops import upgrade` counts as
    wmx.ops.upgrade). An import of one's own package (its __init__, which re-exports its
    modules) is no edge: a package and its modules are one unit here."""
    modules = {
        ".".join(p.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts).removesuffix(".__init__")
        for p in PACKAGE_ROOT.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        own = ".".join(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
        own = own.removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name in modules and name != own and not own.startswith(name + "."):
                    graph.setdefault(own, set()).add(name)
    return graph


def test_modules_import_each_other_in_no_loop() -> None:
    """Within a package too, imports run one way: two modules that need each other's
    parts need a third, lower module (as wmx/ops/upgrade_host.py is for the upgrade)."""
    graph = _module_graph()
    loops = set()
    for start in sorted(graph):
        stack: list[tuple[str, tuple[str, ...]]] = [(start, (start,))]
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    loops.add(" -> ".join((*trail, start)))
                elif nxt not in trail and nxt > start:  # each loop once, from its least module
                    stack.append((nxt, (*trail, nxt)))
    assert sorted(loops) == []
