"""Rules across wmx.yaml and the inventory, checked when a site is loaded.

The model (wmx.site.model) checks wmx.yaml on its own and the inventory reader checks
the groups; what needs both is said here, once, so that rendering never finds a site
it cannot render.
"""

from __future__ import annotations

from pathlib import Path

from wmx.errors import InputError
from wmx.site.inventory_lines import entry_line
from wmx.site.model import SiteConfig
from wmx.site.settings.workers import HOMESERVER_ONLY
from wmx.site.topology import WORKER_GROUP, Topology


def check_site(config: SiteConfig, topology: Topology, inventory: Path | None = None) -> None:
    _check_turn(config, topology)
    _check_backup(config, topology)
    _check_workers(config, topology, inventory)


def _check_workers(config: SiteConfig, topology: Topology, inventory: Path | None) -> None:
    """Hosts in `synapse_workers` that the plan could not use: refused, naming the
    inventory's line (docs/workers.md, "What runs where")."""
    hosts = topology.in_group(WORKER_GROUP)
    if not hosts:
        return
    where = entry_line(inventory, WORKER_GROUP, "children") if inventory else "inventory"
    prefix = f"{where}: group {WORKER_GROUP}"
    for host in hosts:
        if "homeserver" in host.groups:
            raise InputError(
                f"{prefix}: {host.name} runs the homeserver; its workers need no group "
                f"(leave {WORKER_GROUP} to other hosts)"
            )
    counts = config.synapse.workers.counts()
    movable = sum(n for kind, n in counts.items() if kind not in HOMESERVER_ONLY)
    if movable == 0:
        raise InputError(
            f"{prefix}: holds {', '.join(h.name for h in hosts)} but synapse.workers in "
            "wmx.yaml runs no worker that can leave the homeserver host (the media worker "
            "stays with the media store); set synapse.workers.preset or a count, or empty "
            "the group"
        )
    if movable < len(hosts):
        idle = ", ".join(h.name for h in hosts[movable:])
        raise InputError(
            f"{prefix}: {len(hosts)} hosts for {movable} workers (synapse.workers in "
            f"wmx.yaml): {idle} would run none; add workers or take hosts out of the group"
        )


def _check_turn(config: SiteConfig, topology: Topology) -> None:
    for host in topology.in_group("turn"):
        if config.turn.tls and "proxy" not in host.groups:
            raise InputError(
                f"turn.tls: coturn on {host.name} would need the site's certificate, which "
                "the proxy host keeps: put the proxy host in group 'turn', or set "
                "turn.tls: false (calls then use TURN over UDP and TCP on 3478 only)"
            )


def _check_backup(config: SiteConfig, topology: Topology) -> None:
    settings = config.backup
    if not settings.enabled:
        return
    for host in topology.in_group("homeserver"):
        remote = topology.in_group("backup")
        if not (remote or settings.repositories or settings.local_repository):
            raise InputError(
                "backup.enabled is true but the site has no repository: set "
                "backup.local_repository: true, add a host to the inventory's `backup` "
                "group, or list one in backup.repositories"
            )
        if any(repo_host.name == host.name for repo_host in remote):
            raise InputError(
                f"{host.name} is in the `backup` group and runs the homeserver: a remote "
                "repository must live on another host (backup.local_repository keeps one "
                "on this host)"
            )
