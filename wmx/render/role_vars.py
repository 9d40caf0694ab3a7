"""What the roles' tasks need beyond the rendered files: `build/<host>/.wmx/vars.json`.

Computed from the same model the templates see, so that tasks and files agree by
construction. Only non-secret values: vars.json is loaded with include_vars and may
show up in task output. Keys are namespaced by role (`base_…`, `synapse_…`, `nginx_…`);
`playbooks/roles/*/meta/argument_specs.yml` documents each one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wmx.backup.plan import backup_role_vars, host_components
from wmx.site.chat import (
    ELEMENT_CURRENT_LINK,
    ELEMENT_DOWNLOAD_DIR,
    ELEMENT_PREVIOUS_LINK,
    ELEMENT_RELEASES_DIR,
    element_view,
    firewall_turn_options,
    public_names,
    turn_view,
)
from wmx.site.irc import irc_bridge_view
from wmx.site.topology import HostView, Topology

if TYPE_CHECKING:
    from wmx.site import Site

# Where the synapse role keeps Synapse: one venv per release and a `current` link that
# the systemd unit runs (templates/synapse/etc/systemd/system/matrix-synapse.service.j2).
SYNAPSE_VENVS_DIR = "/opt/synapse/venvs"
SYNAPSE_CURRENT_LINK = "/opt/synapse/current"


def role_vars(site: Site, topology: Topology, host: HostView) -> dict[str, Any]:
    """The contents of vars.json for `host`."""
    config = site.config
    firewall = topology.firewall_for(
        host,
        config.homeserver.federation_port,
        tuple(config.monitoring.remote_scrape.allow),
        **firewall_turn_options(config, topology),
    )
    components = list(host_components(site, host))
    values: dict[str, Any] = {
        "wmx_components": components,
        "base_firewall_tcp_ports": list(firewall.tcp_ports),
    }
    if "synapse" in components:
        values.update(
            {
                "synapse_version": config.synapse.version,
                "synapse_server_name": config.server_name,
                "synapse_venv": f"{SYNAPSE_VENVS_DIR}/{config.synapse.version}",
                "synapse_current_link": SYNAPSE_CURRENT_LINK,
            }
        )
    bridge = irc_bridge_view(config, topology)
    if "irc_bridge" in components and bridge is not None:
        values.update(
            {
                "irc_bridge_version": bridge.settings.version,
                "irc_bridge_venv": bridge.venv,
                "irc_bridge_url": bridge.url,
                "irc_bridge_registration": bridge.registration_for_bridge,
                "irc_bridge_synapse_registration": bridge.registration_for_synapse,
            }
        )
    if "nginx" in components:
        values.update(
            {
                "nginx_tls_domains": public_names(config, topology),
                "acme_directory": config.acme.directory,
                "acme_email": config.acme.email,
            }
        )
    values.update(backup_role_vars(site, host, tuple(components)))
    values.update(_chat_role_vars(site, topology, components))
    if "exporters" in components:
        # Monitoring (issue 6): which exporters run here, where they listen.
        endpoints = {
            job: f"{topology.metrics_bind_for(host)}:{port}"
            for job, port in topology.exporter_ports(host).items()
            if job != "synapse"  # Synapse's own listener: the synapse role runs it
        }
        values["exporters_jobs"] = sorted(endpoints)
        values["exporters_endpoints"] = endpoints
    if "monitoring" in components:
        values["monitoring_remote_scrape"] = bool(config.monitoring.remote_scrape.allow)
    return values


def _chat_role_vars(site: Site, topology: Topology, components: list[str]) -> dict[str, Any]:
    """Element Web and coturn (issue 5): the release to install, and TURN's ports."""
    values: dict[str, Any] = {}
    element = element_view(site) if "element" in components else None
    if element is not None:
        release = element.release
        values.update(
            {
                "element_version": release.version,
                "element_release": release.name,
                "element_sha256": release.sha256,
                # Downloaded on the host, or copied from the operator's machine.
                "element_url": release.url or "",
                "element_archive": str(release.archive or ""),
                "element_releases_dir": ELEMENT_RELEASES_DIR,
                "element_current_link": ELEMENT_CURRENT_LINK,
                "element_previous_link": ELEMENT_PREVIOUS_LINK,
                "element_download_dir": ELEMENT_DOWNLOAD_DIR,
            }
        )
    turn = turn_view(site.config, topology) if "turn" in components else None
    if turn is not None:
        values.update({"turn_tls": turn.tls, "turn_cert_dir": turn.cert_dir})
    return values
