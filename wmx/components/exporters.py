"""exporters: the metrics endpoints of every host of a monitored site (node exporter, and
the database's and proxy's own); Synapse's metrics listener is the synapse role's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wmx.components.component import Component, FirewallRules, FirewallSource, Service, SiteViews
from wmx.components.synapse import SYNAPSE_METRICS_PORT
from wmx.site.grammars import host_port

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.topology import HostView, Topology

NODE_EXPORTER_PORT = 9100
POSTGRES_EXPORTER_PORT = 9187
NGINX_EXPORTER_PORT = 9113
NGINX_STATUS_PORT = 8079  # nginx's stub_status, on 127.0.0.1 only (read by its exporter)
# What the exporters' templates call these ports.
METRICS_PORTS: dict[str, int] = {
    "node": NODE_EXPORTER_PORT,
    "postgres": POSTGRES_EXPORTER_PORT,
    "nginx": NGINX_EXPORTER_PORT,
    "nginx_status": NGINX_STATUS_PORT,
    "synapse": SYNAPSE_METRICS_PORT,
}


@dataclass(frozen=True)
class ScrapeTarget:
    """One metrics endpoint Prometheus scrapes: which host, what, and where."""

    job: str  # the scrape job (node, postgres, nginx, synapse)
    host: str  # inventory name, the `instance` label
    address: str  # address:port as seen from the monitoring host


def metrics_bind_for(topology: Topology, host: HostView) -> str:
    """Where this host's metrics endpoints listen: loopback when Prometheus is local, else
    the host's internal address (firewalled to the monitoring host)."""
    monitor = topology.monitoring_host
    if monitor is None or monitor.name == host.name:
        return "127.0.0.1"
    return host.internal_address


def exporter_ports(topology: Topology, host: HostView) -> dict[str, int]:
    """Scrape job → port of each metrics endpoint on `host` (none if unmonitored)."""
    if topology.monitoring_host is None:
        return {}
    ports = {"node": NODE_EXPORTER_PORT}
    if "database" in host.groups:
        ports["postgres"] = POSTGRES_EXPORTER_PORT
    if "proxy" in host.groups:
        ports["nginx"] = NGINX_EXPORTER_PORT
    if "homeserver" in host.groups:
        ports["synapse"] = SYNAPSE_METRICS_PORT
    return ports


def scrape_targets(topology: Topology) -> list[ScrapeTarget]:
    """Every exporter and Synapse process of the site, by job then host."""
    targets = [
        ScrapeTarget(job, h.name, host_port(metrics_bind_for(topology, h), port))
        for h in topology.hosts
        for job, port in exporter_ports(topology, h).items()
    ]
    return sorted(targets, key=lambda t: (t.job, t.host))


class Exporters(Component):
    name = "exporters"
    services = (
        Service("node-exporter", "prometheus-node-exporter.service", "prometheus-node-exporter"),
        Service(
            "postgres-exporter",
            "prometheus-postgres-exporter.service",
            "prometheus-postgres-exporter",
            groups=("database",),
        ),
        Service(
            "nginx-exporter",
            "prometheus-nginx-exporter.service",
            "prometheus-nginx-exporter",
            groups=("proxy",),
        ),
    )

    def runs_on(self, site: Site, host: HostView) -> bool:
        # Every host of a site with a monitoring host.
        return site.topology.monitoring_host is not None

    def removed_from(self, site: Site, host: HostView) -> bool:
        return True

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        bind = metrics_bind_for(views.site.topology, host)
        return {
            "metrics_bind": bind,
            "ports": METRICS_PORTS,
            # Each exporter's --web.listen-address (an IPv6 address in brackets).
            "metrics_listen": {name: host_port(bind, port) for name, port in METRICS_PORTS.items()},
        }

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        # The monitoring host scrapes the exporters of the others.
        topology = views.site.topology
        monitor = topology.monitoring_host
        if monitor is None or monitor.name == host.name:
            return FirewallRules()
        ports = sorted(exporter_ports(topology, host).values())
        return FirewallRules(
            restricted=tuple(FirewallSource(p, monitor.internal_address) for p in ports)
        )

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        topology = views.site.topology
        endpoints = {
            job: host_port(metrics_bind_for(topology, host), port)
            for job, port in exporter_ports(topology, host).items()
            if job != "synapse"  # Synapse's own listener: the synapse role runs it
        }
        return {"exporters_jobs": sorted(endpoints), "exporters_endpoints": endpoints}


COMPONENT = Exporters()
