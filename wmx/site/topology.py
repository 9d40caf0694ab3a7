"""Who runs what: inventory hosts, their groups, and the views templates see of them."""

from __future__ import annotations

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
    port: int = 5432
    name: str = "synapse"
    user: str = "synapse"


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
            return DatabaseView(host="/var/run/postgresql", local=True)
        return DatabaseView(host=db.address, local=False)

    def proxy_for(self, host: HostView) -> ProxyView:
        synapse = self.the("homeserver")
        address = "127.0.0.1" if synapse.name == host.name else synapse.address
        return ProxyView(upstream=f"{address}:{SYNAPSE_PORT}")
