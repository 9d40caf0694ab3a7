"""synapse: the homeserver (the `homeserver` group), one venv per release."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wmx.components.component import Component, FirewallRules, FirewallSource, Service, SiteViews

if TYPE_CHECKING:
    from wmx.site.topology import HostView, Topology

SYNAPSE_PORT = 8008
# Synapse's metrics listener (monitoring): loopback, or the host's address, firewalled
# to the monitoring host, when Prometheus runs elsewhere.
SYNAPSE_METRICS_PORT = 9000
# Where the synapse role keeps Synapse: one venv per release and a `current` link that
# the systemd unit runs (templates/synapse/etc/systemd/system/matrix-synapse.service.j2).
SYNAPSE_VENVS_DIR = "/opt/synapse/venvs"
SYNAPSE_CURRENT_LINK = "/opt/synapse/current"


def synapse_bind_for(topology: Topology, host: HostView) -> list[str]:
    """Where Synapse's HTTP listener binds: loopback always (health checks, admin
    tunnel), plus the host's address when the proxy runs elsewhere."""
    if topology.the("proxy").name == host.name:
        return ["127.0.0.1"]
    return ["127.0.0.1", host.address]


class Synapse(Component):
    name = "synapse"
    settings_sections = ("synapse",)
    groups = ("homeserver",)
    services = (Service("synapse", "matrix-synapse.service", "synapse"),)

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        return {"synapse_bind": synapse_bind_for(views.site.topology, host)}

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        # A remote proxy reaches Synapse.
        if "homeserver" not in host.groups:
            return FirewallRules()
        proxies = views.site.topology.in_group("proxy")
        return FirewallRules(
            restricted=tuple(
                FirewallSource(SYNAPSE_PORT, p.address) for p in proxies if p.name != host.name
            )
        )

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        config = views.site.config
        return {
            "synapse_version": config.synapse.version,
            "synapse_server_name": config.server_name,
            "synapse_venv": f"{SYNAPSE_VENVS_DIR}/{config.synapse.version}",
            "synapse_current_link": SYNAPSE_CURRENT_LINK,
        }


COMPONENT = Synapse()
