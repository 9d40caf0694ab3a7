"""House rules that a reviewer would otherwise have to remember (issue 11): small modules,
and a command line that only parses arguments and presents results."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "wmx"
MAX_LINES = 500
# What a workflow needs and a command line does not: processes, sockets, HTTP, databases,
# Ansible, waiting. A command that needs one calls wmx/ops or a library that owns it.
WORKFLOW_MODULES = {
    "subprocess", "socket", "httpx", "psycopg2", "ansible", "ansible_runner",
    "asyncio", "threading", "shutil",
}  # fmt: skip


def python_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_python_file_is_over_500_lines() -> None:
    roots = (PACKAGE, ROOT / "tests", ROOT / "bench", ROOT / "playbooks")
    long = {
        str(p.relative_to(ROOT)): n
        for p in python_files(*roots)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def imported_roots(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_the_command_line_imports_no_workflow_machinery() -> None:
    found = {
        str(p.relative_to(ROOT)): sorted(used)
        for p in python_files(PACKAGE / "cli")
        if (used := imported_roots(ast.parse(p.read_text(encoding="utf-8"))) & WORKFLOW_MODULES)
    }
    assert not found, f"move this work to wmx/ops or the library that owns it: {found}"


def test_the_command_line_rule_sees_a_workflow() -> None:
    """The rule above is not vacuous: a command that runs a process is caught."""
    tree = ast.parse("def cmd() -> None:\n    import subprocess\n    subprocess.run(['x'])\n")
    assert imported_roots(tree) & WORKFLOW_MODULES == {"subprocess"}
