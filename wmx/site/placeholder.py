"""Whether an inventory address is a documentation address (RFC 5737, RFC 3849), as
`wmx init`'s placeholder is: no real server has one, so a site that still holds it was
never pointed at a server. Here, low in the layers, so that the SSH library, `wmx dns`
and `wmx config validate` can all say so."""

from __future__ import annotations

import ipaddress

# `wmx init --host-address`'s default is one of these, so that a site nobody pointed at a
# server reaches none.
_DOCUMENTATION = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]


def is_placeholder(address: str) -> bool:
    """Whether `address` is a documentation address (no real server has one)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in _DOCUMENTATION)


def placeholder_advice(host: str, address: str) -> str:
    """What to do about a host whose address is a placeholder."""
    return (
        f"{address} is a documentation address (wmx init's placeholder): put {host}'s "
        "address in inventory.yml (ansible_host)"
    )
