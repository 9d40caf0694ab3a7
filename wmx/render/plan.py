"""One plan per host, computed once: the components it runs, the ordered role steps
(`wmx_roles`), what its templates see, its rendered files and its vars.json.

Every component is asked the same questions in the registry's order
(wmx.components.COMPONENTS); nothing here knows a component by name. The plan is pure:
the site was checked when it was loaded (wmx.site), and derived values (the Element
release, password hashes) are computed before any template is rendered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment

from wmx import debian
from wmx.components import COMPONENTS, step_rank
from wmx.components.component import SiteViews, Step
from wmx.render.engine import RenderedFile, jinja_environment, render_component
from wmx.resources import data_dir
from wmx.site import Site
from wmx.site.topology import HostView


@dataclass(frozen=True)
class HostPlan:
    host: HostView
    components: tuple[str, ...]  # converged here, in order
    roles: tuple[Step, ...]  # vars.json's wmx_roles
    role_vars: dict[str, Any]  # the whole of vars.json (never a secret)
    files: tuple[RenderedFile, ...]

    @property
    def manifest(self) -> list[dict[str, Any]]:
        """manifest.json: every rendered file, where it lands, its mode and checksum."""
        return [f.manifest_entry() for f in self.files]

    @property
    def vars_json(self) -> str:
        """vars.json as written to build/<host>/.wmx/ (sorted keys: diffs stay small)."""
        return vars_text(self.role_vars)


def vars_text(values: dict[str, Any]) -> str:
    return json.dumps(values, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class SitePlan:
    site: Site
    hosts: dict[str, HostPlan]  # by host name, in the inventory's order


def site_views(site: Site) -> SiteViews:
    """Each component's site-wide view, computed once."""
    views = SiteViews(site=site, components=COMPONENTS)
    for component in COMPONENTS:
        views.views[component.name] = component.view(site)
    return views


def role_steps(site: Site, host: HostView) -> tuple[Step, ...]:
    """`wmx_roles`: the steps of the components `host` runs, and the removal of those it
    must not run. A step runs at its component's place in the registry's order, or just
    before the component it names in `before`."""
    chosen: list[Step] = []
    for component in COMPONENTS:
        if component.runs_on(site, host):
            chosen.extend(component.steps())
        elif component.removed_from(site, host):
            chosen.extend(component.remove_steps())
    return tuple(sorted(chosen, key=lambda step: step_rank(step.role, step.action)))


def host_role_vars(views: SiteViews, host: HostView) -> dict[str, Any]:
    """vars.json of `host`: what runs here, the steps, and each component's role vars."""
    site = views.site
    running = [c for c in COMPONENTS if c.runs_on(site, host)]
    values: dict[str, Any] = {
        "wmx_components": [c.name for c in running],
        "wmx_roles": [step.as_json() for step in role_steps(site, host)],
        # What differs between the Debian releases wmx supports (site.yml picks the host's).
        "wmx_debian_releases": debian.role_vars(),
    }
    for component in running:
        values.update(component.role_vars(views, host))
    return values


def template_context(views: SiteViews, host: HostView) -> dict[str, Any]:
    """What every template rendered for `host` sees: every component's entries."""
    context: dict[str, Any] = {}
    for component in COMPONENTS:
        context.update(component.context(views, host))
    return context


def plan_host(
    views: SiteViews, host: HostView, templates: Path | None = None, env: Environment | None = None
) -> HostPlan:
    """`env`: the Jinja environment of `templates`, shared by the hosts of one site (each
    template is then loaded once)."""
    root = templates or data_dir("templates")
    env = env or jinja_environment(root)
    site = views.site
    running = tuple(c for c in COMPONENTS if c.runs_on(site, host))
    context = template_context(views, host)
    files = [
        rendered
        for component in running
        for rendered in render_component(env, root, component.name, host, context)
    ]
    return HostPlan(
        host=host,
        components=tuple(c.name for c in running),
        roles=role_steps(site, host),
        role_vars=host_role_vars(views, host),
        files=tuple(files),
    )


def plan_site(site: Site, templates: Path | None = None) -> SitePlan:
    views = site_views(site)
    env = jinja_environment(templates or data_dir("templates"))
    return SitePlan(
        site=site,
        hosts={h.name: plan_host(views, h, templates, env) for h in site.topology.hosts},
    )


def render_host(site: Site, host: HostView, templates: Path | None = None) -> list[RenderedFile]:
    """Every file `host` receives."""
    return list(plan_host(site_views(site), host, templates).files)


def render_site(site: Site, templates: Path | None = None) -> dict[str, list[RenderedFile]]:
    """host name → every file it receives, in a stable order."""
    return {name: list(p.files) for name, p in plan_site(site, templates).hosts.items()}
