"""What a host's deploy installs before it walks its plan: the Debian packages of every
component it converges, in one apt transaction per recommends policy, and the roles whose
release venvs are built while apt works (docs/contracts.md, "Packages").

Each role declares its packages in ``defaults/main.yml``:

- ``<role>_packages``: a list of Debian package names, or a mapping of job -> package
  name, of which ``<role>_jobs`` (vars.json) picks the host's (the exporters);
- ``<role>_install_recommends``: ``false`` when its own apt task installs without
  recommends (default ``true``).

A name that is a template (``{{ … }}``) is left to the role's own apt task, which every
role keeps (a role run alone installs what it needs itself). The play skips that task
for a role whose every package the host's transaction installed (``covered_roles``,
``wmx_packages_done``): it would only find them installed.

A role with ``tasks/venv.yml`` builds a venv from PyPI: site.yml includes that file after
the transaction of the venv roles' own packages and before the rest, so the build runs
(async) while apt installs the rest; the role's converge waits for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml


@cache
def role_defaults(playbooks: Path, role: str) -> dict[str, Any]:
    path = playbooks / "roles" / role / "defaults" / "main.yml"
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def role_packages(playbooks: Path, role: str, role_vars: Mapping[str, Any]) -> list[str]:
    """The Debian packages ``role`` installs on this host (its templated names left out)."""
    declared = role_defaults(playbooks, role).get(f"{role}_packages", [])
    if isinstance(declared, dict):
        jobs = role_vars.get(f"{role}_jobs", [])
        declared = [declared[job] for job in jobs if job in declared]
    if not isinstance(declared, list):
        return []
    return [name for name in declared if isinstance(name, str) and "{" not in name]


def covered_roles(playbooks: Path, roles: Iterable[str], role_vars: Mapping[str, Any]) -> list[str]:
    """The roles whose every package the host's transactions install (none of their names
    a template): site.yml skips their own apt task, which would only find them installed."""
    covered = []
    for role in roles:
        declared = role_defaults(playbooks, role).get(f"{role}_packages")
        if isinstance(declared, dict):
            jobs = role_vars.get(f"{role}_jobs", [])
            declared = [declared[job] for job in jobs if job in declared]
        if isinstance(declared, list) and all(
            isinstance(name, str) and "{" not in name for name in declared
        ):
            covered.append(role)
    return covered


def installs_recommends(playbooks: Path, role: str) -> bool:
    return role_defaults(playbooks, role).get(f"{role}_install_recommends", True) is not False


def builds_venv(playbooks: Path, role: str) -> bool:
    return (playbooks / "roles" / role / "tasks" / "venv.yml").is_file()


def host_transactions(
    playbooks: Path, roles: Iterable[str], role_vars: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The apt transactions before the walk, in order: ``{"names", "recommends", "venvs"}``.

    First the packages of the roles that build venvs (``venvs: true``: their builds start
    right after it), then the rest, each group split by recommends policy. A package two
    roles install goes in the first group that has it.
    """
    groups: dict[tuple[bool, bool], list[str]] = {}
    seen: set[str] = set()
    ordered = sorted(roles, key=lambda role: not builds_venv(playbooks, role))
    for role in ordered:
        key = (builds_venv(playbooks, role), installs_recommends(playbooks, role))
        for name in role_packages(playbooks, role, role_vars):
            if name not in seen:
                seen.add(name)
                groups.setdefault(key, []).append(name)
    return [
        {"names": groups[key], "recommends": key[1], "venvs": key[0]}
        for key in sorted(groups, key=lambda k: (not k[0], not k[1]))
    ]


def venv_roles(playbooks: Path, roles: Iterable[str]) -> list[str]:
    return [role for role in roles if builds_venv(playbooks, role)]
