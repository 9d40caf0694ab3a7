"""base: every host's packages and firewall. The firewall gathers every component's ports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wmx.components.component import (
    Component,
    FirewallRules,
    FirewallSource,
    FirewallView,
    Service,
    SiteViews,
)

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.topology import HostView

SSH_PORT = 22


def firewall_for(views: SiteViews, host: HostView) -> FirewallView:
    """What `host`'s nftables input chain opens: every component's rules, TCP ports in
    ascending order, the restricted ones in the order of the components."""
    rules = [c.firewall(views, host) for c in views.components]
    tcp = sorted({port for r in rules for port in r.tcp_ports})
    udp = [port for r in rules for port in r.udp_ports]
    restricted: list[FirewallSource] = [s for r in rules for s in r.restricted]
    return FirewallView(tcp_ports=tuple(tcp), restricted=tuple(restricted), udp_ports=tuple(udp))


class Base(Component):
    name = "base"
    services = (Service("firewall", "nftables.service", "nftables"),)

    def runs_on(self, site: Site, host: HostView) -> bool:
        return True

    def host_view(self, views: SiteViews, host: HostView) -> FirewallView:
        return firewall_for(views, host)

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        return {
            "site": views.site.config,
            "secrets": views.site.secrets,
            "host": host,
            "firewall": views.of_host(self, host),
        }

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        return FirewallRules(tcp_ports=(SSH_PORT,))

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        return {"base_firewall_tcp_ports": list(views.of_host(self, host).tcp_ports)}


COMPONENT = Base()
