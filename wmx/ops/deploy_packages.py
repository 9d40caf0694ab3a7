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

The packages of the roles after the last venv role (``later_waves``: nginx, TURN,
monitoring, backups… on the one-host stack) go in the *later* transactions: apt installs
them in the background, one after the other, while the walk runs the steps that need
none of their packages (the firewall, PostgreSQL, the IRC bridge, Synapse, the web
client).
Before the first step that needs a package of one (``wait_roles``,
``deploy_plan.packages_wait_slots``) the walk waits for it, installs those due by then
and starts the next in the background (the role packages_wait). A host without a venv
role installs everything before its walk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
    playbooks: Path,
    roles: Iterable[str],
    role_vars: Mapping[str, Any],
    later: Sequence[Iterable[str]] = (),
) -> list[dict[str, Any]]:
    """The host's apt transactions, in order: ``{"names", "recommends", "venvs", "later"}``.

    First the packages of the roles that build venvs (``venvs: true``: their builds start
    right after it), then those of the other roles not in ``later``, then those of each
    wave of roles in ``later`` (``later: true``: installed one after the other while the
    walk runs), each group split by recommends policy. A package two roles install goes
    in the first group that has it.
    """
    wave_of = {role: index for index, wave in enumerate(later) for role in wave}

    def key(role: str) -> tuple[bool, int, bool]:
        venvs = builds_venv(playbooks, role)
        wave = -1 if venvs else wave_of.get(role, -1)
        return (not venvs, wave, not installs_recommends(playbooks, role))

    groups: dict[tuple[bool, int, bool], list[str]] = {}
    seen: set[str] = set()
    for role in sorted(roles, key=lambda role: key(role)[:2]):
        for name in role_packages(playbooks, role, role_vars):
            if name not in seen:
                seen.add(name)
                groups.setdefault(key(role), []).append(name)
    return [
        {"names": groups[k], "recommends": not k[2], "venvs": not k[0], "later": k[1] >= 0}
        for k in sorted(groups)
    ]


def later_waves(playbooks: Path, converging: Sequence[str]) -> list[list[str]]:
    """Of the roles a host converges (in its plan's order), those whose packages apt may
    install while the walk runs, in waves (one after the other): the roles after the
    last venv role (nginx, TURN, monitoring, backups). The venv roles and the roles
    before them (the firewall, PostgreSQL) get theirs before the walk: their steps come
    first, and apt would not be done before them (measured: PostgreSQL's packages in the
    background made the walk wait at its step longer than the firewall's step took).
    None on a host without a venv role: all before the walk."""
    venvs = [index for index, role in enumerate(converging) if builds_venv(playbooks, role)]
    after = list(converging[venvs[-1] + 1 :]) if venvs else []
    return [after] if after else []


def wait_roles(
    playbooks: Path,
    transactions: Sequence[Mapping[str, Any]],
    converging: Iterable[str],
    role_vars: Mapping[str, Any],
) -> dict[str, list[str] | None]:
    """The roles whose steps must wait for later transactions, with the later packages
    each needs: those of its own, or ``None`` (all of them) for a converging role whose
    own apt task runs (a templated package name: site.yml's transactions did not cover
    it), which must not run apt beside them. Empty when there is no later transaction."""
    later = {name for t in transactions if t.get("later") for name in t["names"]}
    if not later:
        return {}
    covered = set(covered_roles(playbooks, converging, role_vars))
    waits: dict[str, list[str] | None] = {}
    for role in converging:
        if role not in covered and role_defaults(playbooks, role).get(f"{role}_packages"):
            waits[role] = None
        elif wanted := [n for n in role_packages(playbooks, role, role_vars) if n in later]:
            waits[role] = wanted
    return waits


def venv_roles(playbooks: Path, roles: Iterable[str]) -> list[str]:
    return [role for role in roles if builds_venv(playbooks, role)]
