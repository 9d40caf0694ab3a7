"""The lab network: a bridge on the machine, one network namespace per host, NAT out.

    machine (root netns)                         host labN (netns wmx-labN)
    wmxlab0 10.213.0.1/24 ── wmxv-labN ═══ veth ═══ eth0 10.213.0.(10+N)/24, via .1

The bridge address is also where the machine-side lab services listen (pebble, its DNS),
so hosts reach them without leaving the lab. Outbound traffic is masqueraded by an
nftables table of our own; the machine's other tables are never touched.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from wmx.lab import addressing, commands
from wmx.lab.addressing import BRIDGE, BRIDGE_MAC, GATEWAY, NFT_TABLE, SUBNET

log = logging.getLogger(__name__)

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
NETNS_DIR = Path("/run/netns")
HOST_INTERFACE = "eth0"

# `table …; delete table …; table … {…}` in one transaction replaces the table atomically
# whether or not it exists, so re-running `up` never duplicates rules.
NFT_RULESET = f"""\
table inet {NFT_TABLE}
delete table inet {NFT_TABLE}
table inet {NFT_TABLE} {{
    chain forward {{
        type filter hook forward priority filter; policy accept;
        iifname "{BRIDGE}" accept
        oifname "{BRIDGE}" ct state established,related accept
    }}
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr {SUBNET} oifname != "{BRIDGE}" masquerade
    }}
}}
"""


def link_names() -> set[str]:
    out = commands.run(["ip", "-json", "link", "show"]).stdout
    return {str(link["ifname"]) for link in json.loads(out or "[]")}


def ensure_bridge() -> bool:
    """Create or repair the bridge; True if its MAC address changed (see flush_neighbours)."""
    if BRIDGE not in link_names():
        commands.run(["ip", "link", "add", BRIDGE, "address", BRIDGE_MAC, "type", "bridge"])
    changed = _mac(BRIDGE) != BRIDGE_MAC
    if changed:
        commands.run(["ip", "link", "set", BRIDGE, "address", BRIDGE_MAC])
    commands.run(["ip", "addr", "replace", f"{GATEWAY}/{SUBNET.prefixlen}", "dev", BRIDGE])
    commands.run(["ip", "link", "set", BRIDGE, "up"])
    return changed


def flush_neighbours() -> None:
    """Forget learnt MAC addresses on the lab network, on the machine and in every host.

    Needed after a MAC changed (a host recreated by an older wmx, the bridge recreated):
    neighbours would otherwise keep sending to the old address until their ARP entry goes
    stale, stalling connections for up to a minute. Entries are re-learnt in milliseconds.
    """
    commands.run(["ip", "neigh", "flush", "dev", BRIDGE], check=False)
    for netns in lab_netns_names():
        if netns_is_live(netns):
            commands.run(["ip", "-n", netns, "neigh", "flush", "dev", HOST_INTERFACE], check=False)


def _mac(device: str, netns: str | None = None) -> str | None:
    argv = ["ip", *(["-n", netns] if netns else []), "-json", "link", "show", "dev", device]
    result = commands.run(argv, check=False)
    if result.returncode != 0:
        return None
    links = json.loads(result.stdout or "[]")
    return str(links[0].get("address")) if links else None


def ensure_nat() -> None:
    commands.run(["nft", "-f", "-"], input_text=NFT_RULESET)


def nat_present() -> bool:
    return commands.run(["nft", "list", "table", "inet", NFT_TABLE], check=False).returncode == 0


def enable_ip_forward() -> str:
    """Turn on IPv4 forwarding; return the value it had, for `down` to restore."""
    before = IP_FORWARD.read_text(encoding="ascii").strip()
    if before != "1":
        IP_FORWARD.write_text("1\n", encoding="ascii")
    return before


def restore_ip_forward(value: str) -> None:
    if value in ("0", "1"):
        IP_FORWARD.write_text(f"{value}\n", encoding="ascii")


def netns_is_live(name: str) -> bool:
    """A named netns exists when its file under /run/netns is a namespace (nsfs) mount.

    After a reboot of the machine (when /run is not a tmpfs) or a crash, the file can
    remain without the mount; `ip netns add` then fails, so it must be deleted first.
    Comparing devices with our own netns handle tells the two apart, and unlike reading
    mountinfo it is not fooled by a mount hidden under another one.
    """
    try:
        return os.stat(NETNS_DIR / name).st_dev == os.stat("/proc/self/ns/net").st_dev
    except OSError:
        return False


def ensure_host_link(host: str) -> bool:
    """Namespace, veth pair and addresses for ``host``; repairs whatever is missing.

    True if the host's MAC address changed (see flush_neighbours).
    """
    index = addressing.host_index(host)
    netns = addressing.netns_name(host)
    veth = addressing.veth_name(host)
    if not netns_is_live(netns):
        commands.run(["ip", "netns", "delete", netns], check=False)
        commands.run(["ip", "netns", "add", netns])
    peer_ok = (
        commands.run(["ip", "-n", netns, "link", "show", HOST_INTERFACE], check=False).returncode
        == 0
    )
    if veth in link_names() and not peer_ok:
        # A veth whose other end is no longer in this namespace (left by a killed run).
        commands.run(["ip", "link", "delete", veth], check=False)
    if veth not in link_names():
        commands.run(["ip", "-n", netns, "link", "delete", HOST_INTERFACE], check=False)
        commands.run(
            [
                "ip", "link", "add", veth, "type", "veth",
                "peer", "name", HOST_INTERFACE, "netns", netns,
            ]
        )  # fmt: skip
    commands.run(["ip", "link", "set", veth, "master", BRIDGE, "up"])
    address = f"{addressing.host_address(index)}/{SUBNET.prefixlen}"
    mac = addressing.host_mac(index)
    mac_changed = _mac(HOST_INTERFACE, netns) != mac
    if mac_changed:
        commands.run(["ip", "-n", netns, "link", "set", HOST_INTERFACE, "address", mac])
    commands.run(["ip", "-n", netns, "link", "set", "lo", "up"])
    commands.run(["ip", "-n", netns, "addr", "replace", address, "dev", HOST_INTERFACE])
    commands.run(["ip", "-n", netns, "link", "set", HOST_INTERFACE, "up"])
    commands.run(["ip", "-n", netns, "route", "replace", "default", "via", str(GATEWAY)])
    return mac_changed


def lab_netns_names() -> list[str]:
    """Every netns that looks like a lab host's, live or a stale file."""
    # Both live namespaces and stale files show up in the directory.
    names = {p.name for p in NETNS_DIR.iterdir()} if NETNS_DIR.is_dir() else set()
    prefix = addressing.NETNS_PREFIX
    return sorted(
        n for n in names if n.startswith(prefix) and addressing.is_host_name(n[len(prefix) :])
    )


def remove_host_link(host: str) -> None:
    veth = addressing.veth_name(host)
    if veth in link_names():
        commands.run(["ip", "link", "delete", veth], check=False)
    commands.run(["ip", "netns", "delete", addressing.netns_name(host)], check=False)


def remove_all() -> None:
    """Remove every lab link, namespace, the bridge and the nft table (whatever exists)."""
    for link in sorted(link_names()):
        if link.startswith(addressing.VETH_PREFIX):
            commands.run(["ip", "link", "delete", link], check=False)
    for netns in lab_netns_names():
        commands.run(["ip", "netns", "delete", netns], check=False)
    if BRIDGE in link_names():
        commands.run(["ip", "link", "delete", BRIDGE], check=False)
    if nat_present():
        commands.run(["nft", "delete", "table", "inet", NFT_TABLE], check=False)


def upstream_nameservers(resolv_conf: Path = Path("/etc/resolv.conf")) -> list[str]:
    """The machine's nameservers that a host can reach through NAT.

    Loopback resolvers (systemd-resolved's stub, dnsmasq on 127.0.0.1) are not reachable
    from a host's namespace; systemd-resolved keeps the real upstreams in another file.
    """
    candidates = [resolv_conf, Path("/run/systemd/resolve/resolv.conf")]
    for path in candidates:
        servers = [s for s in _nameservers_in(path) if not _is_loopback(s)]
        if servers:
            return servers
    return []


def _nameservers_in(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    servers = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            servers.append(fields[1])
    return servers


def _is_loopback(address: str) -> bool:
    return address.startswith("127.") or address == "::1"
