"""The components wmx deploys, in the order they converge on a host.

Each is one module here (its groups, when it is on, its template view, its role vars,
its services, its ports, its remove rule), plus `templates/<name>/` and
`playbooks/roles/<name>/`; tests/unit/test_components.py fails when the three disagree.
docs/components.md says how to add one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wmx.components import (
    backup,
    backup_repo,
    base,
    element,
    exporters,
    irc_bridge,
    monitoring,
    nginx,
    postgresql,
    redis,
    synapse,
    synapse_workers,
    turn,
)
from wmx.components.component import Component, Service, Step

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.topology import HostView

# The order in which components converge on a host: the database before its users, the
# proxy after what it serves, the backup repositories before the job that fills them.
COMPONENTS: tuple[Component, ...] = (
    base.COMPONENT,
    postgresql.COMPONENT,
    redis.COMPONENT,
    synapse.COMPONENT,
    synapse_workers.COMPONENT,
    irc_bridge.COMPONENT,
    element.COMPONENT,
    nginx.COMPONENT,
    turn.COMPONENT,
    exporters.COMPONENT,
    monitoring.COMPONENT,
    backup_repo.COMPONENT,
    backup.COMPONENT,
)
COMPONENT_NAMES: tuple[str, ...] = tuple(c.name for c in COMPONENTS)

__all__ = [
    "COMPONENTS",
    "COMPONENT_NAMES",
    "Component",
    "Service",
    "Step",
    "component",
    "components_of",
    "known_service_names",
    "services_of",
]


def component(name: str) -> Component:
    for item in COMPONENTS:
        if item.name == name:
            return item
    raise KeyError(name)


def step_rank(role: str, action: str) -> tuple[int, int, int, int]:
    """Where the step `action` of component `role` runs in the registry's order: at its
    component's place, or just before the component it names in `before`.

    Every host's steps sort by this one key, so an order of all hosts' steps that sorts
    by it too keeps each host's order and the dependencies between hosts: the backup
    job's SSH key exists before a repository host authorizes it, and the repositories
    are created only after that. Raises KeyError for a step no component has."""
    place = {name: index for index, name in enumerate(COMPONENT_NAMES)}
    owner = component(role)
    for steps in (owner.steps(), owner.remove_steps()):
        for sequence, step in enumerate(steps):
            if step.action == action:
                slot = place[step.before] if step.before else place[role]
                return (slot, 0 if step.before else 1, place[role], sequence)
    raise KeyError(f"{role}:{action}")


def components_of(site: Site, host: HostView) -> tuple[str, ...]:
    """The components converged on `host`, in order: its groups' and those wmx.yaml
    switches on (backups) or the site implies (exporters on a monitored site)."""
    return tuple(c.name for c in COMPONENTS if c.runs_on(site, host))


def services_of(site: Site, host: HostView) -> list[Service]:
    """Every unit `host` runs, in the order its components converge."""
    return [s for c in COMPONENTS if c.runs_on(site, host) for s in c.host_services(host)]


def known_service_names() -> list[str]:
    return sorted({s.name for c in COMPONENTS for s in c.services})
