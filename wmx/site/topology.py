"""Who runs what: inventory hosts, their groups, and the views templates see of them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

# Inventory group → components converged on its hosts. Every host gets `base`.
GROUP_COMPONENTS: dict[str, tuple[str, ...]] = {
    "database": ("postgresql",),
    "homeserver": ("synapse",),
    "proxy": ("nginx",),
}
# The order in which components converge on a host (the database before its users).
COMPONENT_ORDER: tuple[str, ...] = ("base", "postgresql", "synapse", "nginx")
DEFAULT_MEMORY_MB = 2048
SYNAPSE_PORT = 8008
POSTGRES_PORT = 5432
SSH_PORT = 22


@dataclass(frozen=True)
class HostView:
    name: str
    address: str
    groups: tuple[str, ...]
    memory_mb: int = DEFAULT_MEMORY_MB
    vars: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def components(self) -> tuple[str, ...]:
        wanted = {"base"}
        for group in self.groups:
            wanted.update(GROUP_COMPONENTS.get(group, ()))
        return tuple(c for c in COMPONENT_ORDER if c in wanted)


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


@dataclass(frozen=True)
class ProxyView:
    """Where the proxy forwards Matrix traffic: Synapse's loopback listener if local."""

    upstream: str


@dataclass(frozen=True)
class FirewallSource:
    """One address allowed to reach a restricted port, with its nftables family."""

    port: int
    address: str

    @property
    def family(self) -> str:
        """`ip6` for an IPv6 literal, else `ip` (a DNS name is resolved by nft at load)."""
        try:
            return "ip6" if ipaddress.ip_address(self.address).version == 6 else "ip"
        except ValueError:
            return "ip"


@dataclass(frozen=True)
class FirewallView:
    """What a host's nftables input chain accepts besides loopback, ICMP and replies."""

    tcp_ports: tuple[int, ...]  # open to anyone
    restricted: tuple[FirewallSource, ...]  # open to one address each


@dataclass(frozen=True)
class Topology:
    hosts: tuple[HostView, ...]

    def in_group(self, group: str) -> list[HostView]:
        return [h for h in self.hosts if group in h.groups]

    def the(self, group: str) -> HostView:
        members = self.in_group(group)
        if len(members) != 1:
            raise ValueError(f"expected exactly one host in group {group!r}, found {len(members)}")
        return members[0]

    def database_for(self, host: HostView) -> DatabaseView:
        db = self.the("database")
        if db.name == host.name:
            clients = tuple(h.address for h in self.in_group("homeserver") if h.name != host.name)
            return DatabaseView(host="/var/run/postgresql", local=True, clients=clients)
        return DatabaseView(host=db.address, local=False)

    def synapse_bind_for(self, host: HostView) -> list[str]:
        """Where Synapse's HTTP listener binds: loopback always (health checks, admin
        tunnel), plus the host's address when the proxy runs elsewhere."""
        if self.the("proxy").name == host.name:
            return ["127.0.0.1"]
        return ["127.0.0.1", host.address]

    def firewall_for(self, host: HostView, federation_port: int) -> FirewallView:
        ports = [SSH_PORT]
        if "proxy" in host.groups:
            ports += [80, 443]
            if federation_port == 8448:
                ports.append(8448)
        restricted: list[FirewallSource] = []
        # Remote homeservers reach PostgreSQL; a remote proxy reaches Synapse.
        if "database" in host.groups:
            restricted += [FirewallSource(POSTGRES_PORT, a) for a in self.database_for(host).clients]
        if "homeserver" in host.groups:
            restricted += [
                FirewallSource(SYNAPSE_PORT, p.address)
                for p in self.in_group("proxy")
                if p.name != host.name
            ]
        return FirewallView(tcp_ports=tuple(ports), restricted=tuple(restricted))

    def proxy_for(self, host: HostView) -> ProxyView:
        synapse = self.the("homeserver")
        address = "127.0.0.1" if synapse.name == host.name else synapse.address
        return ProxyView(upstream=f"{address}:{SYNAPSE_PORT}")
