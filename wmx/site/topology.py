"""Who runs what: inventory hosts and their groups.

The groups are the inventory's vocabulary; which component a group switches on, and
everything derived from where components run (addresses, binds, firewall rules), belongs
to the components (wmx/components/).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wmx.site.settings.workers import HOMESERVER_ONLY

# The inventory's groups: the first three hold exactly one host each, the optional ones
# at most one (their component is off without one), `synapse_workers` any number.
REQUIRED_GROUPS: tuple[str, ...] = ("database", "homeserver", "proxy")
OPTIONAL_GROUPS: frozenset[str] = frozenset(
    {"monitoring", "irc_bridge", "backup", "element", "turn"}
)
# Hosts that run Synapse's workers besides the homeserver host (synapse.workers,
# docs/workers.md); none: the workers run on the homeserver host.
WORKER_GROUP = "synapse_workers"
MANY_HOST_GROUPS: frozenset[str] = frozenset({WORKER_GROUP})
GROUPS: tuple[str, ...] = (
    *REQUIRED_GROUPS,
    "monitoring",
    "irc_bridge",
    # Hosts keeping borg repositories for the homeserver host (backups, issue 7).
    "backup",
    # The chat experience (issue 5): Element Web on the proxy host, coturn for calls.
    "element",
    "turn",
    WORKER_GROUP,
)
# The groups of a one-host site (`wmx init`, `wmx lab up`): every group but the backup
# repository's (another host) and the worker hosts' (the homeserver host runs workers
# without being in that group).
ONE_HOST_GROUPS: tuple[str, ...] = tuple(g for g in GROUPS if g not in ("backup", WORKER_GROUP))
DEFAULT_MEMORY_MB = 2048


def worker_host_index(kind: str, index: int, hosts: int) -> int | None:
    """Which of `hosts` worker hosts (0-based, in the topology's order) runs the
    `index`th (1-based) worker of `kind`; None: the homeserver host (no worker hosts, or
    a type that stays there). Round robin per type: `sync1` on the first host, `sync2`
    on the second (docs/workers.md). The one rule of placement: the worker plan places
    by it (wmx.components.synapse_workers) and the load check finds idle worker hosts by
    it (wmx.site.checks), so the two never disagree; changing it moves deployed workers."""
    if hosts == 0 or kind in HOMESERVER_ONLY:
        return None
    return (index - 1) % hosts


@dataclass(frozen=True)
class HostView:
    """One inventory host. `address` is where the operator's machine reaches it over SSH
    (ansible_host, else the inventory name): wmx's SSH, the DNS preflight, messages.
    `internal_address` is where the site's other hosts reach it (firewall sources, bind
    addresses, upstreams, PostgreSQL's host): wmx.site.internal_address."""

    name: str
    address: str
    groups: tuple[str, ...]
    memory_mb: int = DEFAULT_MEMORY_MB
    vars: dict[str, object] = field(default_factory=dict, compare=False)
    # The inventory's internal_address, checked and normalised; None: not given.
    internal: str | None = None

    @property
    def internal_address(self) -> str:
        """The address the site's other hosts reach this host at: internal_address, else
        `address` (an IP address wherever another host needs one: checked at load)."""
        return self.internal or self.address


@dataclass(frozen=True)
class Topology:
    hosts: tuple[HostView, ...]

    def in_group(self, group: str) -> list[HostView]:
        return [h for h in self.hosts if group in h.groups]

    def first_in(self, group: str) -> HostView | None:
        members = self.in_group(group)
        return members[0] if members else None

    def the(self, group: str) -> HostView:
        members = self.in_group(group)
        if len(members) != 1:
            raise ValueError(f"expected exactly one host in group {group!r}, found {len(members)}")
        return members[0]

    @property
    def monitoring_host(self) -> HostView | None:
        """The host running Prometheus and Alertmanager, if monitoring is on."""
        return self.first_in("monitoring")

    @property
    def bridge_host(self) -> HostView | None:
        """The host running the IRC bridge (the homeserver's), if the bridge is on."""
        return self.first_in("irc_bridge")
