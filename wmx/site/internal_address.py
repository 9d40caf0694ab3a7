"""Where the site's hosts reach one another: each host's internal address.

`ansible_host` is where SSH connects from the operator's machine: often a DNS name, a
public address, or a forward. What the site's hosts use of one another is another
thing: nftables admits a peer by its address, a listener binds one, pg_hba.conf and the
database's certificate name one, nginx, Synapse's workers and Prometheus connect to one.
nftables (1.0.6) refuses a rule whose name resolves to several IPv4 addresses or to none
and admits only the IPv4 address of a dual-stack name; a listener binds the one address
a name resolves to, or fails. So that address is `internal_address`, an IP address
(Kolla-Ansible's per-host network address is the same idea), and ansible_host stays
where SSH connects. Without it, ansible_host is used (today's behaviour): on a host
whose address other hosts use, that must then be an IP address (checked here, at load).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from wmx.errors import InputError
from wmx.site.inventory_lines import entry_line, variable_line
from wmx.site.topology import WORKER_GROUP, HostView, Topology

INTERNAL_ADDRESS = "internal_address"
# The groups whose hosts talk to one another when they are not all one host: the proxy
# to Synapse, Synapse's processes to PostgreSQL, Redis and each other, the proxy and the
# worker hosts to the IRC bridge (on the homeserver host).
_SYNAPSE_SIDE = ("homeserver", "database", "proxy", WORKER_GROUP)


def _unreachable(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why no other host reaches a host at `address` (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        mapped = address.ipv4_mapped
        return f"an IPv4 address written as IPv6 (nftables would not match it): write {mapped}"
    if address.is_loopback or address.is_unspecified or address.is_multicast:
        return "a loopback, unspecified or multicast address: no other host reaches a host there"
    if address.is_link_local:
        return "a link-local address: the site's hosts reach one another over a routed one"
    return None


def _kind(value: object) -> str:
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "a mapping"
    return repr(value)[:80]


def check_internal_address(path: Path, host: str, groups: set[str], value: object) -> str:
    """`host`'s internal_address, checked: one IP address (IPv4, or IPv6 without zone),
    not a network, a name or a list; returned normalised (as check_address does)."""
    try:
        address = ipaddress.ip_address(value) if isinstance(value, str) else None
    except ValueError:
        address = None
    if address is None or (isinstance(address, ipaddress.IPv6Address) and address.scope_id):
        shown = repr(value[:80]) if isinstance(value, str) else _kind(value)
        where = variable_line(path, host, groups, INTERNAL_ADDRESS)
        raise InputError(
            f"{where}: {host}.{INTERNAL_ADDRESS}: {shown} is not an IP address "
            "(such as 10.0.0.11 or fd00::11: no prefix, zone or host name): the address the "
            "site's other hosts reach this host at"
        )
    problem = _unreachable(address)
    if problem is not None:
        where = variable_line(path, host, groups, INTERNAL_ADDRESS)
        raise InputError(f"{where}: {host}.{INTERNAL_ADDRESS}: {value!r} is {problem}")
    return str(address)


def check_public_address(
    path: Path, host: str, groups: set[str], key: str, version: int, value: object
) -> None:
    """public_ipv4 / public_ipv6 (`wmx dns`, the preflight): the address the host's names
    point at when it is reached over another one; an address or a list of them."""
    for item in value if isinstance(value, list) else [] if value is None else [value]:
        try:
            address = ipaddress.ip_address(str(item)) if isinstance(item, str) else None
        except ValueError:
            address = None
        if address is None or address.version != version:
            raise InputError(
                f"{variable_line(path, host, groups, key)}: {host}.{key}: {str(item)[:80]!r} "
                f"is not an IPv{version} address"
            )
        if (
            address.is_loopback
            or address.is_unspecified
            or address.is_multicast
            or address.is_link_local
        ):
            raise InputError(
                f"{variable_line(path, host, groups, key)}: {host}.{key}: {item!r} is a loopback, "
                "unspecified, multicast or link-local address: DNS records for the host never "
                "point there"
            )


def reached_by_ip(topology: Topology) -> list[HostView]:
    """The hosts whose internal address another host of the site uses (a firewall
    source, a bind address, an upstream): every host when Prometheus scrapes hosts other
    than its own (each binds its exporters to its address, and admits the monitoring
    host's); else the hosts of Synapse's side when they are more than one host. A backup
    repository host is reached over SSH only (borg), where a name does."""
    if len(topology.hosts) < 2:
        return []
    if topology.monitoring_host is not None:
        return list(topology.hosts)
    side = {h.name for group in _SYNAPSE_SIDE for h in topology.in_group(group)}
    return [h for h in topology.hosts if h.name in side] if len(side) > 1 else []


def check_reached_by_ip(path: Path, topology: Topology) -> None:
    """Refuse a host that another host reaches by address when it has no IP address to
    be reached at: no internal_address, and ansible_host (or, without it, the inventory
    name) a DNS name, or an address no other host reaches."""
    for host in reached_by_ip(topology):
        if host.internal is not None:
            continue
        given = "ansible_host" in host.vars
        where = (
            variable_line(path, host.name, host.groups, "ansible_host")
            if given
            else entry_line(path, host.name, "hosts")
        )
        try:
            problem = _unreachable(ipaddress.ip_address(host.address))
        except ValueError:
            problem = "a host name"
        if problem is None:
            continue
        what = f"ansible_host {host.address!r}" if given else "the host's name (no ansible_host)"
        raise InputError(
            f"{where}: {host.name}.{INTERNAL_ADDRESS}: needed, as {what} is {problem}; "
            f"the site's other hosts reach {host.name} by IP address (nftables, listeners, "
            f"pg_hba.conf): set {host.name}'s {INTERNAL_ADDRESS} to the IP address they reach "
            "it at (a private network's, say; ansible_host stays where SSH connects)"
        )
