"""Who runs what: inventory hosts, their groups, and the views templates see of them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

# Inventory group → components converged on its hosts. Every host gets `base`.
GROUP_COMPONENTS: dict[str, tuple[str, ...]] = {
    "database": ("postgresql",),
    "homeserver": ("synapse",),
    "proxy": ("nginx",),
    "monitoring": ("monitoring",),
    "irc_bridge": ("irc_bridge",),
    # Hosts keeping borg repositories for the homeserver host (backups, issue 7).
    "backup": ("backup_repo",),
    # The chat experience (issue 5): Element Web on the proxy host, coturn for calls.
    "element": ("element",),
    "turn": ("turn",),
}
# Groups that may hold no host (their component is then off) but never more than one.
OPTIONAL_GROUPS: frozenset[str] = frozenset(
    {"monitoring", "irc_bridge", "backup", "element", "turn"}
)
# The order in which components converge on a host (the database before its users).
COMPONENT_ORDER: tuple[str, ...] = (
    "base",
    "postgresql",
    "synapse",
    "irc_bridge",
    "element",
    "nginx",
    "turn",
    "exporters",
    "monitoring",
    # `backup` runs on the homeserver host when wmx.yaml says backup.enabled, not by
    # group (wmx.backup.plan.host_components); its repositories come first.
    "backup_repo",
    "backup",
)
DEFAULT_MEMORY_MB = 2048
SYNAPSE_PORT = 8008
POSTGRES_PORT = 5432
SSH_PORT = 22
# coturn (calls, issue 5): STUN/TURN on 3478 (UDP and TCP), TURN over TLS on 5349.
TURN_PORT = 3478
TURNS_PORT = 5349
# The IRC bridge (issue 4): Heisenbridge's appservice listener (Synapse pushes events to
# it; the proxy forwards its media links) and its identd, which IRC servers query.
HEISENBRIDGE_PORT = 9898
IDENTD_PORT = 113
# Metrics endpoints (monitoring, issue 6). Synapse's metrics listener and the exporters
# bind to loopback, or to the host's address (firewalled to the monitoring host) when
# Prometheus runs on another host.
SYNAPSE_METRICS_PORT = 9000
NODE_EXPORTER_PORT = 9100
POSTGRES_EXPORTER_PORT = 9187
NGINX_EXPORTER_PORT = 9113
NGINX_STATUS_PORT = 8079  # nginx's stub_status, on 127.0.0.1 only (read by its exporter)
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
BLACKBOX_PORT = 9115
# What the exporters' templates call these ports.
METRICS_PORTS: dict[str, int] = {
    "node": NODE_EXPORTER_PORT,
    "postgres": POSTGRES_EXPORTER_PORT,
    "nginx": NGINX_EXPORTER_PORT,
    "nginx_status": NGINX_STATUS_PORT,
    "synapse": SYNAPSE_METRICS_PORT,
}


@dataclass(frozen=True)
class HostView:
    name: str
    address: str
    groups: tuple[str, ...]
    memory_mb: int = DEFAULT_MEMORY_MB
    vars: dict[str, object] = field(default_factory=dict, compare=False)
    # Set by Topology: the site has a monitoring host, so this host runs exporters.
    monitored: bool = False

    @property
    def components(self) -> tuple[str, ...]:
        wanted = {"base"}
        for group in self.groups:
            wanted.update(GROUP_COMPONENTS.get(group, ()))
        if self.monitored:
            wanted.add("exporters")
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

    @property
    def client_networks(self) -> list[str]:
        """`clients` as pg_hba.conf addresses: a /32 or /128 network, or a host name."""
        return [_single_address_network(c) for c in self.clients]


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


def _single_address_network(address: str) -> str:
    try:
        return str(ipaddress.ip_network(address))  # 10.0.0.5 → 10.0.0.5/32
    except ValueError:
        return address


@dataclass(frozen=True)
class FirewallSource:
    """One address allowed to reach a restricted port, with its nftables family."""

    port: int
    address: str

    @property
    def family(self) -> str:
        """`ip6` for an IPv6 literal, else `ip` (a DNS name is resolved by nft at load)."""
        try:
            network = ipaddress.ip_network(self.address, strict=False)
            return "ip6" if network.version == 6 else "ip"
        except ValueError:
            return "ip"


@dataclass(frozen=True)
class FirewallView:
    """What a host's nftables input chain accepts besides loopback, ICMP and replies."""

    tcp_ports: tuple[int, ...]  # open to anyone
    restricted: tuple[FirewallSource, ...]  # open to one address each
    udp_ports: tuple[str, ...] = ()  # open to anyone: ports and ranges ("49152-65535")


@dataclass(frozen=True)
class ScrapeTarget:
    """One metrics endpoint Prometheus scrapes: which host, what, and where."""

    job: str  # the scrape job (node, postgres, nginx, synapse)
    host: str  # inventory name, the `instance` label
    address: str  # address:port as seen from the monitoring host


@dataclass(frozen=True)
class Topology:
    hosts: tuple[HostView, ...]

    def __post_init__(self) -> None:
        # Every host of a site with a monitoring host runs exporters (node exporter, and
        # the database's and proxy's own): derived here so that each HostView knows.
        monitored = any("monitoring" in h.groups for h in self.hosts)
        if any(h.monitored != monitored for h in self.hosts):
            hosts = tuple(replace(h, monitored=monitored) for h in self.hosts)
            object.__setattr__(self, "hosts", hosts)

    @property
    def monitoring_host(self) -> HostView | None:
        """The host running Prometheus and Alertmanager, if monitoring is on."""
        members = self.in_group("monitoring")
        return members[0] if members else None

    def metrics_bind_for(self, host: HostView) -> str:
        """Where this host's metrics endpoints listen: loopback when Prometheus is local."""
        monitor = self.monitoring_host
        if monitor is None or monitor.name == host.name:
            return "127.0.0.1"
        return host.address

    def exporter_ports(self, host: HostView) -> dict[str, int]:
        """Scrape job → port of each metrics endpoint on `host` (none if unmonitored)."""
        if not host.monitored:
            return {}
        ports = {"node": NODE_EXPORTER_PORT}
        if "database" in host.groups:
            ports["postgres"] = POSTGRES_EXPORTER_PORT
        if "proxy" in host.groups:
            ports["nginx"] = NGINX_EXPORTER_PORT
        if "homeserver" in host.groups:
            ports["synapse"] = SYNAPSE_METRICS_PORT
        return ports

    def scrape_targets(self) -> list[ScrapeTarget]:
        """Every exporter and Synapse process of the site, by job then host."""
        targets = [
            ScrapeTarget(job, h.name, f"{self.metrics_bind_for(h)}:{port}")
            for h in self.hosts
            for job, port in self.exporter_ports(h).items()
        ]
        return sorted(targets, key=lambda t: (t.job, t.host))

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

    def firewall_for(
        self,
        host: HostView,
        federation_port: int,
        remote_scrapers: tuple[str, ...] = (),
        *,
        turn_relay_ports: tuple[int, int] = (49152, 65535),
        turn_tls: bool = False,
    ) -> FirewallView:
        ports = [SSH_PORT]
        if "proxy" in host.groups:
            ports += [80, 443]
            if federation_port == 8448:
                ports.append(8448)
        if "irc_bridge" in host.groups:
            ports.append(IDENTD_PORT)
        udp: list[str] = []
        if "turn" in host.groups:
            # STUN/TURN, TURN over TLS, and the range coturn relays media through.
            ports += [TURN_PORT, *([TURNS_PORT] if turn_tls else [])]
            udp += [str(TURN_PORT), *([str(TURNS_PORT)] if turn_tls else [])]
            udp.append("{}-{}".format(*turn_relay_ports))
        restricted: list[FirewallSource] = []
        # Remote homeservers reach PostgreSQL; a remote proxy reaches Synapse.
        if "database" in host.groups:
            restricted += [
                FirewallSource(POSTGRES_PORT, a) for a in self.database_for(host).clients
            ]
        if "homeserver" in host.groups:
            restricted += [
                FirewallSource(SYNAPSE_PORT, p.address)
                for p in self.in_group("proxy")
                if p.name != host.name
            ]
        # A remote proxy reaches the IRC bridge for the media links it gives IRC users.
        if self.bridge_bind_for(host) not in (None, "127.0.0.1"):
            restricted += [
                FirewallSource(HEISENBRIDGE_PORT, p.address) for p in self.in_group("proxy")
            ]
        # The monitoring host scrapes the exporters of the others; remote Prometheus
        # servers (monitoring.remote_scrape.allow) reach this one's Prometheus.
        monitor = self.monitoring_host
        if monitor is not None and monitor.name != host.name:
            restricted += [
                FirewallSource(port, monitor.address)
                for port in sorted(self.exporter_ports(host).values())
            ]
        if monitor is not None and monitor.name == host.name:
            restricted += [FirewallSource(PROMETHEUS_PORT, a) for a in remote_scrapers]
        return FirewallView(
            tcp_ports=tuple(ports), restricted=tuple(restricted), udp_ports=tuple(udp)
        )

    @property
    def bridge_host(self) -> HostView | None:
        """The host running the IRC bridge (the homeserver's), if the bridge is on."""
        members = self.in_group("irc_bridge")
        return members[0] if members else None

    def bridge_bind_for(self, host: HostView) -> str | None:
        """Where Heisenbridge listens on `host`: loopback (Synapse is local), or the
        host's address when the proxy, which serves its media links, runs elsewhere."""
        if "irc_bridge" not in host.groups:
            return None
        if any(p.name == host.name for p in self.in_group("proxy")):
            return "127.0.0.1"
        return host.address

    def proxy_for(self, host: HostView) -> ProxyView:
        synapse = self.the("homeserver")
        address = "127.0.0.1" if synapse.name == host.name else synapse.address
        return ProxyView(upstream=f"{address}:{SYNAPSE_PORT}")
