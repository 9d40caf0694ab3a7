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
from wmx.site.pki import database_clients

if TYPE_CHECKING:
    from wmx.site import Site
    from wmx.site.pki import DatabaseTls
    from wmx.site.topology import HostView, Topology

POSTGRES_PORT = 5432
# Where a host that connects to PostgreSQL on another host keeps the site's database CA
# (templates/synapse/etc/matrix-synapse/database-ca.crt.j2), and where PostgreSQL keeps
# its certificate and key (templates/postgresql/etc/wmx/postgresql/server.*.j2).
DATABASE_CA_FILE = "/etc/matrix-synapse/database-ca.crt"
SERVER_CERT_FILE = "/etc/wmx/postgresql/server.crt"
SERVER_KEY_FILE = "/etc/wmx/postgresql/server.key"


@dataclass(frozen=True)
class DatabaseView:
    """How Synapse reaches PostgreSQL: the unix socket when both share a host, else TCP
    with TLS that it verifies against the site's database CA (docs/database.md)."""

    host: str
    local: bool
    port: int = POSTGRES_PORT
    name: str = "synapse"
    user: str = "synapse"
    # On the database host: the addresses of Synapse's hosts (main process, workers)
    # elsewhere, which connect over TCP with TLS and a password (pg_hba.conf hostssl,
    # listen_addresses, firewall). Else empty.
    clients: tuple[str, ...] = ()

    @property
    def client_networks(self) -> list[str]:
        """`clients` as pg_hba.conf addresses: a /32 or /128 network, or a host name."""
        return [single_address_network(c) for c in self.clients]

    @property
    def ssl_args(self) -> dict[str, str]:
        """libpq's TLS settings of a client on another host (none through the socket):
        verify-full checks the CA's signature and that the name connected to is in the
        certificate."""
        if self.local:
            return {}
        return {"sslmode": "verify-full", "sslrootcert": DATABASE_CA_FILE}


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
        clients = tuple(database_clients(topology))
        return DatabaseView(host="/var/run/postgresql", local=True, clients=clients)
    return DatabaseView(host=db.internal_address, local=False)


def database_tls_for(site: Site, host: HostView) -> DatabaseTls | None:
    """The database CA and certificate when `host` serves or reaches PostgreSQL over TCP
    (the templates install the parts each side needs); None on other hosts."""
    db = database_for(site.topology, host)
    talks_tcp = (
        bool(db.clients) if db.local else bool({"homeserver", "synapse_workers"} & set(host.groups))
    )
    return site.database_tls if talks_tcp else None


class Postgresql(Component):
    name = "postgresql"
    settings_sections = ("postgresql",)
    groups = ("database",)
    services = (Service("postgresql", "postgresql@*-main.service", "postgresql"),)

    def context(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        site = views.site
        return {
            "db": database_for(site.topology, host),
            # pki/'s CA (client hosts), certificate and key (the database host).
            "database_tls": database_tls_for(site, host),
            "database_files": {
                "ca": DATABASE_CA_FILE,
                "cert": SERVER_CERT_FILE,
                "key": SERVER_KEY_FILE,
            },
            "pg": PostgresTuning.for_memory(host.memory_mb, site.config.postgresql.max_connections),
        }

    def firewall(self, views: SiteViews, host: HostView) -> FirewallRules:
        # Synapse's processes on other hosts reach PostgreSQL.
        if "database" not in host.groups:
            return FirewallRules()
        clients = database_for(views.site.topology, host).clients
        return FirewallRules(restricted=tuple(FirewallSource(POSTGRES_PORT, a) for a in clients))


COMPONENT = Postgresql()
