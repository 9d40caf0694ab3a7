"""What the roles' tasks need beyond the rendered files: `build/<host>/.wmx/vars.json`.

Computed from the same plan the templates see (wmx.render.plan), so that tasks and files
agree by construction. Only non-secret values: vars.json is loaded with include_vars and
may show up in task output. Keys are namespaced by role (`base_…`, `synapse_…`,
`nginx_…`); `playbooks/roles/*/meta/argument_specs.yml` documents each one, and
docs/contracts.md the shape of `wmx_roles`.
"""

from __future__ import annotations

from typing import Any

from wmx.components.synapse import SYNAPSE_CURRENT_LINK, SYNAPSE_VENVS_DIR
from wmx.render.plan import host_role_vars, site_views
from wmx.site import Site
from wmx.site.topology import HostView, Topology

__all__ = ["SYNAPSE_CURRENT_LINK", "SYNAPSE_VENVS_DIR", "role_vars"]


def role_vars(site: Site, topology: Topology, host: HostView) -> dict[str, Any]:
    """The contents of vars.json for `host` (`topology` is the site's own)."""
    assert topology is site.topology
    return host_role_vars(site_views(site), host)
