"""A first deploy printed `warning: Database name has not been passed, used default
database to connect to.` (session 11's demo): community.postgresql's modules that warn
when no database is named (postgresql_query, postgresql_script: they call
get_conn_params with its warning on) name one in every task of the roles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WARN_WITHOUT_DATABASE = {
    "community.postgresql.postgresql_query",
    "community.postgresql.postgresql_script",
}


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("block", "rescue", "always"):
            yield from _tasks(node.get(key))


def test_every_postgresql_query_names_its_database() -> None:
    found, unnamed = 0, []
    for path in sorted((ROOT / "playbooks").rglob("tasks/*.yml")):
        for task in _tasks(yaml.safe_load(path.read_text())):
            for module in WARN_WITHOUT_DATABASE & set(task):
                found += 1
                arguments = task[module] or {}
                if not ({"login_db", "db", "database"} & set(arguments)):
                    unnamed.append(f"{path.relative_to(ROOT)}: {task.get('name')}")
    assert found >= 1
    assert not unnamed, "name the database (login_db):\n" + "\n".join(unnamed)
