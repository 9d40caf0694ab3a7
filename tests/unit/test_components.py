"""A component is its module in wmx/components/, its templates/<name>/ and its
playbooks/roles/<name>/ (docs/components.md): these tests fail when the registry, the
modules, the templates and the roles disagree, and pin the role steps site.yml runs."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import wmx.components
from wmx.components import COMPONENT_NAMES, COMPONENTS, components_of
from wmx.components.component import CONVERGE, Component
from wmx.render.plan import role_steps
from wmx.resources import data_dir
from wmx.site import Site, SitePaths
from wmx.site.model import SiteConfig
from wmx.site.topology import GROUPS, HostView, Topology

MODULES_DIR = Path(wmx.components.__file__).parent
# Modules of wmx/components/ that are not components: the interface, and the endpoint
# lists of Synapse's workers (synapse_workers's data).
SUPPORT_MODULES = {"__init__", "component", "worker_routes"}
# Roles that are not components: task files every component's role includes, and
# site.yml's removal of venvs another Python made.
SHARED_ROLES = {"rendered_files", "packages_wait", "paths", "units", "release_venvs"}


def _dirs(path: Path) -> set[str]:
    return {p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}


def test_every_component_module_is_in_the_registry_once() -> None:
    modules = {p.stem for p in MODULES_DIR.glob("*.py")} - SUPPORT_MODULES
    assert sorted(COMPONENT_NAMES) == sorted(modules)
    assert len(set(COMPONENT_NAMES)) == len(COMPONENT_NAMES)


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_module_templates_and_role_agree(component: Component) -> None:
    module = importlib.import_module(f"wmx.components.{component.name}")
    assert module.COMPONENT is component, "COMPONENT of the module is the registry's"
    templates = data_dir("templates") / component.name
    assert templates.is_dir() == component.renders_files, (
        f"templates/{component.name}/ must exist exactly when renders_files is true"
    )
    role = data_dir("playbooks") / "roles" / component.name
    assert (role / "tasks").is_dir(), f"playbooks/roles/{component.name}/tasks is missing"
    # Removal is part of a component when it has a remove rule of its own.
    removable = type(component).removed_from is not Component.removed_from
    for step in (*component.steps(), *(component.remove_steps() if removable else ())):
        assert step.role == component.name
        task_file = "converge" if step.action == CONVERGE else step.action
        assert (role / "tasks" / f"{task_file}.yml").is_file(), (
            f"{component.name} has a step {step.action!r}: playbooks/roles/"
            f"{component.name}/tasks/{task_file}.yml is missing"
        )
        assert step.before is None or step.before in COMPONENT_NAMES
    # A deploy that finds a component unchanged runs its verify.yml instead of converge
    # (wmx.ops.deploy_plan), or nothing where the role has none: a verify.yml is there
    # to prove something, never a placeholder.
    verify = role / "tasks" / "verify.yml"
    if verify.is_file():
        assert "ansible.builtin.meta: noop" not in verify.read_text(), verify
    # A unit given as a glob is not among those checked up front: its verify.yml checks it.
    if any("*" in service.unit for service in component.services):
        assert verify.is_file(), f"{component.name}: a glob unit and no tasks/verify.yml"


def test_every_template_and_role_directory_is_a_component() -> None:
    assert _dirs(data_dir("templates")) <= set(COMPONENT_NAMES)
    assert _dirs(data_dir("playbooks") / "roles") - SHARED_ROLES == set(COMPONENT_NAMES)


# Sections of wmx.yaml about the whole site rather than one component.
# login: logging in with a wiki account: Synapse's OIDC provider, the web client's button
# and `wmx room link` (wmx/site/settings/login.py, read by wmx.components.synapse).
SITE_SECTIONS = {"schema_version", "server_name", "homeserver", "web_client", "contacts", "login"}


def test_every_settings_section_belongs_to_one_component_and_its_module() -> None:
    owners = [(s, c.name) for c in COMPONENTS for s in c.settings_sections]
    assert sorted(s for s, _ in owners) == sorted(set(SiteConfig.model_fields) - SITE_SECTIONS)
    for section, name in owners:
        model = SiteConfig.model_fields[section].annotation
        assert isinstance(model, type)
        assert model.__module__ == f"wmx.site.settings.{name}", (
            f"wmx.yaml's {section}: is {name}'s: model it in wmx/site/settings/{name}.py"
        )


def test_every_group_switches_a_component_on() -> None:
    claimed = {g for c in COMPONENTS for g in c.groups}
    assert claimed == set(GROUPS)


def test_services_have_unique_names() -> None:
    names = [s.name for c in COMPONENTS for s in c.services]
    assert len(names) == len(set(names))


# --- wmx_roles: exactly the order and remove rules site.yml had --------------------------


def _legacy_steps(components: set[str]) -> list[tuple[str, str]]:
    """The steps playbooks/site.yml ran before it walked wmx_roles, from its `when`s."""
    steps: list[tuple[str, str]] = []
    for role in ("base", "postgresql"):
        if role in components:
            steps.append((role, "converge"))
    # Since then: Synapse's workers and their Redis (off here) go from a homeserver host.
    if "synapse" in components:
        steps.append(("redis", "remove"))
    for role in ("irc_bridge", "synapse"):
        if role in components:
            steps.append((role, "converge"))
    if "synapse" in components:
        steps.append(("synapse_workers", "remove"))
    if "irc_bridge" in components:
        steps.append(("irc_bridge", "start"))
    elif "synapse" in components:
        steps.append(("irc_bridge", "remove"))
    for role in ("element", "nginx", "turn", "exporters", "monitoring"):
        if role in components:
            steps.append((role, "converge"))
        elif role != "nginx":
            steps.append((role, "remove"))
    if "backup" in components:
        steps.append(("backup", "converge"))
    if "backup_repo" in components:
        steps.append(("backup_repo", "converge"))
    if "backup" in components:
        steps.append(("backup", "repositories"))
    elif "synapse" in components:
        steps.append(("backup", "remove"))
    return steps


CONFIG = {
    "server_name": "example.test",
    "homeserver": {"host": "matrix.example.test"},
    "web_client": {"host": "element.example-web.test"},
    "contacts": {"admin_email": "admin@example.test"},
    "acme": {"email": "acme@example.test"},
}
LAYOUTS: dict[str, tuple[HostView, ...]] = {
    "one host, core only": (HostView("hs1", "10.0.0.1", ("database", "homeserver", "proxy")),),
    "one host, everything": (
        HostView(
            "hs1",
            "10.0.0.1",
            ("database", "homeserver", "proxy", "monitoring", "irc_bridge", "turn"),
        ),
        HostView("vault", "10.0.0.2", ("backup",)),
    ),
    "split": (
        HostView("db1", "10.0.0.11", ("database",)),
        HostView("hs1", "10.0.0.12", ("homeserver", "irc_bridge")),
        HostView("proxy1", "10.0.0.13", ("proxy", "turn")),
        HostView("mon1", "10.0.0.14", ("monitoring",)),
        HostView("vault", "10.0.0.15", ("backup",)),
    ),
}


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
@pytest.mark.parametrize("backups", [True, False], ids=["backups", "no-backups"])
def test_role_steps_are_site_yml_s(tmp_path: Path, layout: str, backups: bool) -> None:
    config = SiteConfig.model_validate({**CONFIG, "backup": {"enabled": backups}})
    site = Site(SitePaths(tmp_path), config, Topology(LAYOUTS[layout]))
    for host in site.topology.hosts:
        steps = [(s.role, s.action) for s in role_steps(site, host)]
        assert steps == _legacy_steps(set(components_of(site, host))), host.name
