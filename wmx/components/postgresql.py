"""postgresql: the database (the `database` group), its tuning and who may connect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wmx.components.component import (
    Component,
    FirewallRules,
    FirewallSource,
    Service,
    SiteViews,
    single_address_network,
)

if TYPE_CHECKING:
    from wmx.site.topology import HostView, Topology

POSTGRES_PORT = 5432


@dataclass(frozen=True)
class DatabaseView:
    """How Synapse reaches PostgreSQL: the unix socket when both share a host."""

    host: str
    local: bool
    port: int = POSTGRES_PORT
    name: str = "synapse"
    user: str = "synapse"
    # On the database host: the addresses of homeservers on other hosts, which connect
    # over TCP with a password (pg_hba.conf, listen_addresses, firewall). Else empty.
    clients: tuple[str, ...] = ()

    @property
    def client_networks(self) -> list[str]:
        """`clients` as pg_hba.conf addresses: a /32 or /128 network, or a host name."""
        return [single_address_network(c) for c in self.clients]


@dataclass(frozen=True)
class PostgresTuning:
    shared_buffers_mb: int
    effective_cache_size_mb: int
    work_mem_mb: int
    maintenance_work_mem_mb: int
    max_connections: int

    @classmethod
    def for_memory(cls, memory_mb: int, max_connections: int) -> PostgresTuning:
        # The usual starting points: a quarter of RAM for shared buffers, three quarters
        # as the planner's cache estimate; work_mem bounded so that many connections
        # sorting at once cannot exhaust memory.
        return cls(
            shared_buffers_mb=max(128, memory_mb // 4),
            effective_cache_size_mb=max(256, memory_mb * 3 // 4),
            work_mem_mb=max(4, min(64, memory_mb // (max_connections * 4) or 4)),
            maintenance_work_mem_mb=max(64, min(2048, memory_mb // 16)),
            max_connections=max_connections,
        )


def database_for(topology: Topology, host: HostView) -> DatabaseView:
    db = topology.the("database")
    if db.name == host.name:
        clients = tuple(h.address for h in topology.in_group("homeserver") if h.name != host.name)
        return DatabaseView(host="/var/run/postgresql", local=True, clients=clients)
    return DatabaseView(host=db.address, local=False)


class Postgresql(Component):
    name = "postgresql"
    settings_sections = ("postgresql",)
    groups = ("database",)
    services = (Service("postgresql", "postgresql@*-main.service", "postgresql"),)

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        site = views.site
        return {
            "db": database_for(site.topology, host),
            "pg": PostgresTuning.for_memory(host.memory_mb, site.config.postgresql.max_connections),
        }

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        # Remote homeservers reach PostgreSQL.
        if "database" not in host.groups:
            return FirewallRules()
        clients = database_for(views.site.topology, host).clients
        return FirewallRules(restricted=tuple(FirewallSource(POSTGRES_PORT, a) for a in clients))


COMPONENT = Postgresql()
