"""Rules across wmx.yaml and the inventory, checked when a site is loaded.

The model (wmx.site.model) checks wmx.yaml on its own and the inventory reader checks
the groups; what needs both is said here, once, so that rendering never finds a site
it cannot render. Each error names the line to change: the host's entry in the group a
rule is about (wmx.site.inventory_lines.member_line), or the wmx.yaml key.
"""

from __future__ import annotations

from pathlib import Path

from wmx.errors import InputError
from wmx.site.inventory_lines import entry_line, member_line
from wmx.site.model import SiteConfig
from wmx.site.settings.workers import MAX_PER_TYPE
from wmx.site.topology import WORKER_GROUP, Topology, worker_host_index
from wmx.site.yamlfile import line_of, load_document

# wmx.yaml, beside the inventory in the site directory (wmx.site.SitePaths).
_CONFIG_FILE = "wmx.yaml"


def check_site(config: SiteConfig, topology: Topology, inventory: Path | None = None) -> None:
    _check_turn(config, topology, inventory)
    _check_backup(config, topology, inventory)
    _check_workers(config, topology, inventory)


def _member(inventory: Path | None, group: str, host: str) -> str:
    return member_line(inventory, group, host) if inventory else "inventory"


def _setting(inventory: Path | None, *key: str) -> str:
    """`wmx.yaml:line` of `key` (of its section when the key is not written)."""
    if inventory is None:
        return _CONFIG_FILE
    config = inventory.with_name(_CONFIG_FILE)
    try:
        line = line_of(load_document(config), key)
    except InputError:
        line = None
    return f"{config}:{line}" if line else str(config)


def _check_workers(config: SiteConfig, topology: Topology, inventory: Path | None) -> None:
    """Hosts in `synapse_workers` that the plan could not use: refused, naming the
    inventory's line (docs/workers.md, "What runs where")."""
    hosts = topology.in_group(WORKER_GROUP)
    if not hosts:
        return
    for host in hosts:
        if "homeserver" in host.groups:
            raise InputError(
                f"{_member(inventory, WORKER_GROUP, host.name)}: group {WORKER_GROUP}: "
                f"{host.name} runs the homeserver; its workers need no group (leave "
                f"{WORKER_GROUP} to other hosts)"
            )
    # Where the plan puts each worker, by the plan's own rule: a host none lands on would
    # still get Synapse's release, its secrets and a way into PostgreSQL, for nothing.
    placed = {
        worker_host_index(kind, index, len(hosts))
        for kind, count in config.synapse.workers.counts().items()
        for index in range(1, count + 1)
    }
    if not placed - {None}:
        where = entry_line(inventory, WORKER_GROUP, "children") if inventory else "inventory"
        raise InputError(
            f"{where}: group {WORKER_GROUP}: holds {', '.join(h.name for h in hosts)} but "
            "synapse.workers in wmx.yaml runs no worker that can leave the homeserver host "
            "(the media worker stays with the media store); set synapse.workers.preset or a "
            "count, or empty the group"
        )
    idle = [h.name for at, h in enumerate(hosts) if at not in placed]
    if idle:
        them = "it" if len(idle) == 1 else "them"
        remedy = (
            f"raise a count in wmx.yaml (synapse.workers.sync: {len(hosts)}) or take {them} "
            "out of the group"
            if len(hosts) <= MAX_PER_TYPE
            else f"take {them} out of the group (a type runs at most {MAX_PER_TYPE})"
        )
        raise InputError(
            f"{_member(inventory, WORKER_GROUP, idle[0])}: group {WORKER_GROUP}: "
            f"{', '.join(idle)} would run no worker: each type's workers go round robin over "
            "the group's hosts (its first on the first host, its second on the second, …) "
            f"and no type in synapse.workers (wmx.yaml) has enough to reach {them}; {remedy}"
        )


def _check_turn(config: SiteConfig, topology: Topology, inventory: Path | None) -> None:
    for host in topology.in_group("turn"):
        if config.turn.tls and "proxy" not in host.groups:
            raise InputError(
                f"{_member(inventory, 'turn', host.name)}: group turn: coturn on {host.name} "
                "would need the site's certificate for turn.tls (true in wmx.yaml), which the "
                "proxy host keeps: put the proxy host in group 'turn', or set turn.tls: false "
                "in wmx.yaml (calls then use TURN over UDP and TCP on 3478 only)"
            )


def _check_backup(config: SiteConfig, topology: Topology, inventory: Path | None) -> None:
    settings = config.backup
    if not settings.enabled:
        return
    for host in topology.in_group("homeserver"):
        remote = topology.in_group("backup")
        if not (remote or settings.repositories or settings.local_repository):
            raise InputError(
                f"{_setting(inventory, 'backup', 'local_repository')}: backup.enabled is true "
                "but the site has no repository: set backup.local_repository: true, add a "
                "host to the inventory's `backup` group, or list one in backup.repositories"
            )
        if any(repo_host.name == host.name for repo_host in remote):
            raise InputError(
                f"{_member(inventory, 'backup', host.name)}: group backup: {host.name} is in "
                "the `backup` group and runs the homeserver: a remote repository must live on "
                "another host (backup.local_repository keeps one on this host)"
            )
