"""The site's Ansible inventory (YAML), read into hosts and groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wmx.errors import InputError
from wmx.site.topology import (
    DEFAULT_MEMORY_MB,
    GROUP_COMPONENTS,
    OPTIONAL_GROUPS,
    HostView,
    Topology,
)
from wmx.site.yamlfile import load_document

INVENTORY_FILE = "inventory.yml"


def _hosts_of(group: Any) -> dict[str, Any]:
    if not isinstance(group, dict):
        return {}
    hosts = group.get("hosts") or {}
    return dict(hosts) if isinstance(hosts, dict) else {}


def _walk(
    name: str, group: Any, groups: dict[str, set[str]], hostvars: dict[str, dict[str, Any]]
) -> None:
    for host, values in _hosts_of(group).items():
        groups.setdefault(host, set())
        if name != "all":
            groups[host].add(name)
        hostvars.setdefault(host, {}).update(dict(values or {}))
    children = group.get("children") if isinstance(group, dict) else None
    for child, body in (children or {}).items():
        _walk(child, body, groups, hostvars)
        for host in _hosts_of(body):
            if name != "all":
                groups[host].add(name)


def load_topology(path: Path) -> Topology:
    document = load_document(path)
    groups: dict[str, set[str]] = {}
    hostvars: dict[str, dict[str, Any]] = {}
    _walk("all", document.get("all", document), groups, hostvars)
    if not groups:
        raise InputError(f"{path}: no hosts; add one under all.hosts")
    hosts = []
    for name in sorted(groups):
        values = hostvars[name]
        memory = values.get("memory_mb", DEFAULT_MEMORY_MB)
        if not isinstance(memory, int) or memory < 512:
            raise InputError(f"{path}: {name}.memory_mb: must be a whole number of MiB ≥ 512")
        hosts.append(
            HostView(
                name=name,
                address=str(values.get("ansible_host", name)),
                groups=tuple(sorted(groups[name])),
                memory_mb=memory,
                vars=values,
            )
        )
    topology = Topology(hosts=tuple(hosts))
    _check_irc_bridge(path, topology)
    _check_element(path, topology)
    for group in GROUP_COMPONENTS:
        count = len(topology.in_group(group))
        # An optional component runs on one host, or on none (it is then switched off).
        allowed = (0, 1) if group in OPTIONAL_GROUPS else (1,)
        if count not in allowed:
            wanted = "at most one host" if group in OPTIONAL_GROUPS else "exactly one host"
            raise InputError(
                f"{path}: group {group!r} must hold {wanted} (it holds {count}); "
                f"groups name the components a host runs: {', '.join(GROUP_COMPONENTS)}"
            )
    return topology


def _check_irc_bridge(path: Path, topology: Topology) -> None:
    """The IRC bridge is an application service of Synapse, on Synapse's own host (they
    talk over loopback): said before the generic group counts, which would not say why."""
    bridges = topology.in_group("irc_bridge")
    if not bridges:
        return
    homeservers = topology.in_group("homeserver")
    if not homeservers:
        raise InputError(
            f"{path}: group 'irc_bridge' ({bridges[0].name}) needs a homeserver: the IRC "
            "bridge is an application service of Synapse; put a host in group 'homeserver', "
            "or remove group 'irc_bridge'"
        )
    if len(bridges) == 1 and len(homeservers) == 1 and bridges[0].name != homeservers[0].name:
        raise InputError(
            f"{path}: group 'irc_bridge' must hold the homeserver's host "
            f"({homeservers[0].name}), not {bridges[0].name}: the bridge and Synapse talk "
            "over loopback"
        )


def _check_element(path: Path, topology: Topology) -> None:
    """Element Web is served by the proxy's nginx, under the web client's own name."""
    clients = topology.in_group("element")
    proxies = topology.in_group("proxy")
    if len(clients) == 1 and len(proxies) == 1 and clients[0].name != proxies[0].name:
        raise InputError(
            f"{path}: group 'element' must hold the proxy host ({proxies[0].name}), not "
            f"{clients[0].name}: the proxy's nginx serves Element Web, with its certificate"
        )


def inventory_document(
    hosts: dict[str, dict[str, Any]], groups: dict[str, list[str]]
) -> dict[str, Any]:
    """Build an inventory mapping: host → vars, group → member names."""
    return {
        "all": {
            "hosts": hosts,
            "children": {g: {"hosts": {h: None for h in members}} for g, members in groups.items()},
        }
    }
