"""A host's internal address (inventory `internal_address`): where the site's other hosts
reach it, apart from ansible_host, where SSH connects (wmx.site.internal_address).

Before, ansible_host went into every other host's files as it was: a DNS name became an
nftables source (nftables 1.0.6 refuses a name with several IPv4 addresses or none, and
admits only the IPv4 address of a dual-stack one), a listener's bind address and a
pg_hba.conf entry. Now a site whose hosts reach one another by address is refused at
load unless each such host has an IP address to be reached at, and internal_address
gives one while ansible_host stays a name for SSH. A one-host site, and a backup host
reached by borg over SSH alone, keep their names as before.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_root, require_tool
from tests.unit.render_sites import BASE_CONFIG, files_by_dest, make_site, synapse_config
from wmx.components.synapse import own_networks
from wmx.doctor.run import internal_ports
from wmx.render.role_vars import role_vars
from wmx.site import Site, load_site
from wmx.site.internal_address import reached_by_ip
from wmx.site.topology import ONE_HOST_GROUPS, HostView, Topology
from wmx.ssh.connection import connection

from .test_hostile_files import new_site
from .test_hostile_inventory import _host_var, _refused

# --- the value ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("internal_address: 10.0.0.11/32", "'10.0.0.11/32' is not an IP address"),
        ("internal_address: db1.example.net", "'db1.example.net' is not an IP address"),
        ('internal_address: " 10.0.0.11"', "' 10.0.0.11' is not an IP address"),
        ('internal_address: "10.0.0.11\\n"', "'10.0.0.11\\n' is not an IP address"),
        ('internal_address: "fe80::1%eth0"', "'fe80::1%eth0' is not an IP address"),
        ("internal_address: [10.0.0.11]", "a list is not an IP address"),
        ('internal_address: ""', "'' is not an IP address"),
        ("internal_address: 127.0.0.1", "'127.0.0.1' is a loopback"),
        ("internal_address: 0.0.0.0", "'0.0.0.0' is a loopback, unspecified"),
        ('internal_address: "fe80::1"', "'fe80::1' is a link-local address"),
        ('internal_address: "::ffff:10.0.0.11"', "written as IPv6 (nftables would not match"),
        ('internal_address: "{{ x }}"', "a template"),
    ],
)
def test_a_wrong_internal_address_is_refused_with_its_line(
    tmp_path: Path, text: str, says: str
) -> None:
    site = new_site(tmp_path)
    line = _host_var(site, text)
    _refused(site, f"{site / 'inventory.yml'}:{line}: matrix.internal_address: ", says)


def test_an_internal_address_in_host_vars_is_refused_naming_that_file(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    (site / "host_vars").mkdir()
    (site / "host_vars" / "matrix.yml").write_text("memo: x\ninternal_address: 10.0.0.0/8\n")
    _refused(site, f"{site / 'host_vars' / 'matrix.yml'}:2: matrix.internal_address: ")


def test_an_ipv6_internal_address_is_used_normalised(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    _host_var(site, 'internal_address: "FD00:0::11"')
    (host,) = load_site(site).topology.hosts
    assert host.internal == host.internal_address == "fd00::11"
    assert host.address == "203.0.113.10"  # ansible_host: where SSH connects


# --- sites of several hosts, from the inventory --------------------------------------------

TWO_HOSTS = """\
all:
  hosts:
    db1:
      ansible_host: db1.example.net
      ansible_user: root
    hs1:
      ansible_host: hs1.example.net
      ansible_user: root
  children:
    database: {hosts: {db1: }}
    homeserver: {hosts: {hs1: }}
    proxy: {hosts: {hs1: }}
    element: {hosts: {hs1: }}
"""


def _two_hosts(tmp_path: Path, inventory: str = TWO_HOSTS) -> Path:
    site = new_site(tmp_path)
    (site / "inventory.yml").write_text(inventory)
    return site


def test_a_host_name_as_the_address_other_hosts_use_is_refused(tmp_path: Path) -> None:
    # Before: db1's nftables admitted `ip saddr hs1.example.net`, PostgreSQL listened on
    # db1.example.net and pg_hba.conf matched hs1 by reverse DNS.
    site = _two_hosts(tmp_path)
    message = _refused(
        site,
        f"{site / 'inventory.yml'}:4: db1.internal_address: needed, as ansible_host "
        "'db1.example.net' is a host name",
        "set db1's internal_address to the IP address they reach it at",
        "ansible_host stays where SSH connects",
    )
    assert message.startswith("error: ")


def test_a_host_without_ansible_host_is_refused_at_its_entry(tmp_path: Path) -> None:
    inventory = TWO_HOSTS.replace("      ansible_host: db1.example.net\n", "")
    site = _two_hosts(tmp_path, inventory)
    _refused(
        site,
        f"{site / 'inventory.yml'}:3: db1.internal_address: needed, as the host's name "
        "(no ansible_host) is a host name",
    )


def test_a_loopback_ansible_host_is_refused_on_a_site_of_several_hosts(tmp_path: Path) -> None:
    # Each host forwarded to 127.0.0.1:PORT (Vagrant's way): no host reaches another there.
    # (Without the port, loopback is this machine, refused for that: test_inventory_hostile_hosts.)
    inventory = TWO_HOSTS.replace("db1.example.net", "127.0.0.1\n      ansible_port: 2222").replace(
        "hs1.example.net", "127.0.0.1\n      ansible_port: 2200"
    )
    site = _two_hosts(tmp_path, inventory)
    _refused(site, ":4: db1.internal_address: needed, as ansible_host '127.0.0.1' is a loopback")


def _with_internal(inventory: str, **addresses: str) -> str:
    for host, address in addresses.items():
        anchor = f"      ansible_host: {host}.example.net\n"
        inventory = inventory.replace(anchor, f"{anchor}      internal_address: {address}\n")
    return inventory


def _rendered(site: Site) -> dict[str, dict[str, str]]:
    return {
        h.name: {
            d: f.content
            for d, f in files_by_dest(site, h.name).items()
            if isinstance(f.content, str)
        }
        for h in site.topology.hosts
    }


@pytest.mark.parametrize(("db", "hs"), [("10.0.0.11", "10.0.0.12"), ("fd00::11", "fd00::12")])
def test_the_internal_address_is_what_other_hosts_use(tmp_path: Path, db: str, hs: str) -> None:
    site_dir = _two_hosts(tmp_path, _with_internal(TWO_HOSTS, db1=f'"{db}"', hs1=f'"{hs}"'))
    site = load_site(site_dir)
    files = _rendered(site)
    family = "ip6" if ":" in db else "ip"
    nft = files["db1"]["/etc/nftables.conf"]
    assert f"\t\t{family} saddr {hs} tcp dport 5432 accept" in nft
    assert (
        f"listen_addresses = 'localhost, {db}'"
        in files["db1"]["/etc/wmx/postgresql/postgresql.conf"]
    )
    prefix = 128 if ":" in db else 32
    assert f" {hs}/{prefix} " in files["db1"]["/etc/wmx/postgresql/pg_hba.conf"]
    assert synapse_config(files_by_dest(site, "hs1"))["database"]["args"]["host"] == db
    assert site.database_tls is not None and site.database_tls.names == ("db1", db)
    # Synapse never fetches from the site's own hosts: their internal addresses too.
    assert f"{db}/{prefix}" in own_networks(site.topology)
    # wmx doctor probes the private ports where they listen.
    assert {address for _, address, _, _ in internal_ports(site)} == {db, hs}
    for host in files.values():
        for dest, text in host.items():
            assert "example.net" not in text, dest
    # SSH still goes to ansible_host.
    db1 = next(h for h in site.topology.hosts if h.name == "db1")
    assert connection(db1).address == "db1.example.net" and db1.address == "db1.example.net"
    _nft_accepts(tmp_path / "nftables.conf", nft)


def _nft_accepts(scratch: Path, text: str) -> None:
    require_tool("nft")
    require_root("nft -c needs CAP_NET_ADMIN")
    scratch.write_text(text)
    result = subprocess.run(
        ["nft", "-c", "-f", str(scratch)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


# --- who needs one: hosts reached by address -----------------------------------------------

CHAPTER_GROUPS = tuple(g for g in ONE_HOST_GROUPS if g != "monitoring")


def test_a_backup_host_alone_keeps_names(tmp_path: Path) -> None:
    """The chapter's one host and a backup host, no monitoring: borg reaches the backup
    host over SSH, where a name does; nothing else crosses hosts. Loads as before."""
    inventory = (
        """\
all:
  hosts:
    matrix: {ansible_host: matrix.example.org, ansible_user: root}
    store: {ansible_host: store.example.net, ansible_user: root}
  children:
"""
        + "".join(f"    {g}: {{hosts: {{matrix: }}}}\n" for g in CHAPTER_GROUPS)
        + ("    backup: {hosts: {store: }}\n")
    )
    site = load_site(_two_hosts(tmp_path, inventory))
    assert reached_by_ip(site.topology) == []
    matrix = next(h for h in site.topology.hosts if h.name == "matrix")
    repos = role_vars(site, site.topology, matrix)["backup_repository_hosts"]
    assert repos[0]["address"] == repos[0]["known_hosts_name"] == "store.example.net"
    # With monitoring on matrix, store's exporters listen for matrix: both need one.
    monitored = inventory + "    monitoring: {hosts: {matrix: }}\n"
    (tmp_path / "site" / "inventory.yml").write_text(monitored)
    _refused(tmp_path / "site", "matrix.internal_address: needed, as ansible_host 'matrix.ex")


def _site(tmp_path: Path, config: dict[str, Any], hosts: dict[str, tuple[str, ...]]) -> Site:
    """A site of `hosts` (name → groups) whose ansible_host is a name, with an internal
    address given to the hosts reached_by_ip names, and to them only."""
    names = [
        HostView(n, f"{n}.example.net", g, vars={"ansible_port": 2222} if n == "bk1" else {})
        for n, g in hosts.items()
    ]
    needing = {h.name for h in reached_by_ip(Topology(tuple(names)))}
    views = [
        HostView(
            h.name,
            h.address,
            h.groups,
            vars=h.vars,
            internal=f"10.0.0.{11 + i}" if h.name in needing else None,
        )
        for i, h in enumerate(names)
    ]
    return make_site(tmp_path, config, views)


LAYOUTS: dict[str, tuple[dict[str, Any], dict[str, tuple[str, ...]]]] = {
    "chapter+backup": (
        {**BASE_CONFIG, "backup": {"enabled": True}},
        {"matrix": CHAPTER_GROUPS, "store": ("backup",)},
    ),
    "chapter+monitored backup": (
        {**BASE_CONFIG, "backup": {"enabled": True}},
        {"matrix": ONE_HOST_GROUPS, "store": ("backup",)},
    ),
    "turn apart": (
        {**BASE_CONFIG, "turn": {"tls": False}},
        {"hs1": ("database", "homeserver", "proxy", "element"), "turn1": ("turn",)},
    ),
    "database apart": (
        {**BASE_CONFIG, "backup": {"enabled": True}},
        {"db1": ("database",), "hs1": ("homeserver", "irc_bridge", "proxy"), "bk1": ("backup",)},
    ),
    "workers apart": (
        {**BASE_CONFIG, "synapse": {"workers": {"preset": "small"}}},
        {"hs1": ("database", "homeserver", "irc_bridge", "proxy"), "wk1": ("synapse_workers",)},
    ),
    "sre": (
        {**BASE_CONFIG, "synapse": {"workers": {"preset": "small"}}, "backup": {"enabled": True}},
        {
            "db1": ("database",),
            "hs1": ("homeserver", "irc_bridge"),
            "proxy1": ("proxy", "element", "turn"),
            "wk1": ("synapse_workers",),
            "mon1": ("monitoring",),
            "bk1": ("backup",),
            "spare": (),
        },
    ),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_name_reaches_other_hosts_only_where_a_name_does(tmp_path: Path, layout: str) -> None:
    """reached_by_ip keeps pace with the components: a host it does not name keeps its
    name, which reaches no firewall and no other host's files but borg's repository; a
    host it names is named by its internal address alone (its own files included, but
    for coturn's allowed-peer-ip: its public address)."""
    site = _site(tmp_path, *LAYOUTS[layout])
    files = _rendered(site)
    for host in site.topology.hosts:
        for other in site.topology.hosts:
            texts = dict(files[other.name])
            values = role_vars(site, site.topology, other)
            for part, keep in (("vars", False), ("vars:backup", True)):
                chosen = {k: v for k, v in values.items() if k.startswith("backup_") == keep}
                texts[part] = json.dumps(chosen)
            for dest, text in texts.items():
                if dest == "/etc/nftables.conf":
                    assert not re.search(r"saddr [a-z]", text), (other.name, text)
                if host.address not in text:
                    continue
                if other.name == host.name:
                    assert dest == "/etc/turnserver.conf", (host.name, dest)
                    continue
                assert host.internal is None, (host.name, other.name, dest)
                assert "backup" in dest, (host.name, other.name, dest)
