"""Names and addresses of lab hosts, and the names of the kernel objects behind them.

Everything here is derived from a host's index (``lab3`` has index 3), so that any run of
wmx, including one that finds the leftovers of a killed run, computes the same names for
the same host without trusting a state file.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

BRIDGE = "wmxlab0"
SUBNET = ipaddress.IPv4Network("10.213.0.0/24")
GATEWAY = ipaddress.IPv4Address("10.213.0.1")
# Host N gets .(10+N); .2-.10 stay free for lab services on the machine side.
FIRST_HOST_OFFSET = 10
MAX_HOSTS = 200
LAB_DOMAIN = "lab.test"
ACME_NAME = f"acme.{LAB_DOMAIN}"
NFT_TABLE = "wmx_lab"
NETNS_PREFIX = "wmx-"
VETH_PREFIX = "wmxv-"

_HOST_NAME = re.compile(r"lab([1-9][0-9]*)")


def host_name(index: int) -> str:
    """``lab<index>``; indexes start at 1."""
    _check_index(index)
    return f"lab{index}"


def host_index(name: str) -> int:
    """The index of ``lab<N>``; raises ValueError for any other name."""
    match = _HOST_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"{name!r} is not a lab host name (lab1, lab2, ...)")
    index = int(match.group(1))
    _check_index(index)
    return index


def is_host_name(name: str) -> bool:
    try:
        host_index(name)
    except ValueError:
        return False
    return True


def host_address(index: int) -> ipaddress.IPv4Address:
    _check_index(index)
    return SUBNET.network_address + FIRST_HOST_OFFSET + index


def host_mac(index: int) -> str:
    """A fixed, locally administered MAC per host (02:77:6d:78 spells "wmx").

    A host recreated with the same address must keep its MAC, or every neighbour (the
    machine, other hosts) keeps sending to the old one until its ARP entry goes stale,
    which stalls connections for half a minute.
    """
    _check_index(index)
    return f"02:77:6d:78:00:{index:02x}"


# The bridge's own MAC, fixed for the same reason: by default a bridge takes the lowest
# MAC among its ports and changes it when ports come and go.
BRIDGE_MAC = "02:77:6d:78:ff:01"


def host_fqdn(name: str) -> str:
    return f"{name}.{LAB_DOMAIN}"


def netns_name(name: str) -> str:
    return f"{NETNS_PREFIX}{name}"


def veth_name(name: str) -> str:
    """Machine-side end of the host's veth pair (the host side is called eth0)."""
    veth = f"{VETH_PREFIX}{name}"
    # Linux interface names are at most 15 bytes (IFNAMSIZ - 1).
    if len(veth) > 15:
        raise ValueError(f"interface name {veth!r} is too long")
    return veth


def _check_index(index: int) -> None:
    if not 1 <= index <= MAX_HOSTS:
        raise ValueError(f"lab host index must be between 1 and {MAX_HOSTS}, not {index}")


@dataclass(frozen=True)
class LabHost:
    """A lab host as callers see it: what to connect to, and whether it is up."""

    name: str
    address: str
    running: bool

    @property
    def index(self) -> int:
        return host_index(self.name)

    @property
    def fqdn(self) -> str:
        return host_fqdn(self.name)

    @classmethod
    def from_index(cls, index: int, *, running: bool) -> LabHost:
        return cls(name=host_name(index), address=str(host_address(index)), running=running)
