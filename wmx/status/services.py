"""Which systemd units each component runs, and the names `wmx logs` accepts for them."""

from __future__ import annotations

from dataclasses import dataclass

from wmx.backup.plan import host_components
from wmx.site import Site
from wmx.site.topology import HostView


@dataclass(frozen=True)
class Service:
    """A systemd unit of a component; `unit` may be a glob (postgresql@*-main)."""

    name: str  # what operators call it: `wmx logs synapse`
    unit: str
    # How the host tells its version: a Debian package, `postgresql` (the cluster's
    # major version's package), `synapse` (the venv the current link points at), or "".
    version_from: str = ""
    groups: tuple[str, ...] = ()  # only on hosts in one of these groups (exporters)


# Components other issues add (the IRC bridge, backups, …) add their units here.
COMPONENT_SERVICES: dict[str, tuple[Service, ...]] = {
    "base": (Service("firewall", "nftables.service", "nftables"),),
    "postgresql": (Service("postgresql", "postgresql@*-main.service", "postgresql"),),
    "synapse": (Service("synapse", "matrix-synapse.service", "synapse"),),
    "nginx": (
        Service("nginx", "nginx.service", "nginx"),
        Service("certbot", "certbot.timer", "certbot"),
    ),
    "exporters": (
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
    ),
    "irc_bridge": (Service("heisenbridge", "heisenbridge.service"),),
    # The timer is what runs: the job's own unit is idle between backups.
    "backup": (Service("backup", "wmx-backup.timer", "borgbackup"),),
    # Calls (issue 5); Element Web has no service of its own (nginx serves it).
    "turn": (Service("coturn", "coturn.service", "coturn"),),
    "monitoring": (
        Service("prometheus", "prometheus.service", "prometheus"),
        Service("alertmanager", "prometheus-alertmanager.service", "prometheus-alertmanager"),
        Service(
            "blackbox-exporter",
            "prometheus-blackbox-exporter.service",
            "prometheus-blackbox-exporter",
        ),
    ),
}


def services_of(site: Site, host: HostView) -> list[Service]:
    """Every unit `host` runs, in the order its components converge (including those
    wmx.yaml switches on, such as backups)."""
    found: list[Service] = []
    for component in host_components(site, host):
        for service in COMPONENT_SERVICES.get(component, ()):
            if not service.groups or set(service.groups) & set(host.groups):
                found.append(service)
    return found


def known_service_names() -> list[str]:
    return sorted({s.name for group in COMPONENT_SERVICES.values() for s in group})
