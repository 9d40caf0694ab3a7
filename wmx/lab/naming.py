"""The names the lab resolves: /etc/hosts blocks on the machine and in every host, the
DNS records pebble validates against, and the known_hosts file for SSH."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from wmx.lab import acme, addressing, hostdisk, hostsfile, ircd, meta, sshkeys
from wmx.lab.addressing import ACME_NAME, GATEWAY
from wmx.lab.errors import LabError
from wmx.lab.paths import LabPaths

# Names the lab may map in /etc/hosts: only the reserved .test TLD (RFC 2606), so a typo
# can never shadow a real domain on the machine.
_TEST_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+test")


def check_extra_name(raw_name: str) -> str:
    """``raw_name`` normalised, if the lab may map it (a name under .test, not its own)."""
    name = raw_name.strip().lower().rstrip(".")
    if not _TEST_NAME.fullmatch(name):
        raise LabError(f"{raw_name!r} is not a name under .test; the lab maps only those")
    if name == ACME_NAME or name.endswith(f".{addressing.LAB_DOMAIN}"):
        raise LabError(f"{raw_name!r} is reserved for the lab's own hosts")
    return name


def _address(name: str) -> str:
    return str(addressing.host_address(addressing.host_index(name)))


def publish(
    paths: LabPaths,
    machine_hosts_file: Path,
    hosts: Sequence[str],
    extra: Mapping[str, str],
    removed: Sequence[str] = (),
) -> None:
    """Map each host's name and the ``extra`` names (name -> host) everywhere they resolve."""
    machine = [ACME_NAME, ircd.IRC_NAME, meta.META_NAME]
    records: dict[str, str] = dict.fromkeys(machine, str(GATEWAY))
    with_short: dict[str, list[str]] = {str(GATEWAY): list(machine)}
    fqdn_only: dict[str, list[str]] = {str(GATEWAY): list(machine)}
    for name in hosts:
        address = _address(name)
        fqdn = addressing.host_fqdn(name)
        records[fqdn] = address
        with_short[address] = [fqdn, name]
        fqdn_only[address] = [fqdn]
    for name, host in sorted(extra.items()):
        address = _address(host)
        records[name] = address
        with_short.setdefault(address, []).append(name)
        fqdn_only.setdefault(address, []).append(name)
    hostsfile.update_hosts_file(machine_hosts_file, hostsfile.render_block(fqdn_only))
    host_block = hostsfile.render_block(with_short)
    for name in hosts:
        root = paths.host_root(name)
        if root.is_dir():
            hostdisk.write_hosts_block(root, host_block)
    if acme.challtestsrv_daemon(paths).running():
        acme.set_dns_records(records, removed=list(removed))


def write_known_hosts(paths: LabPaths, hosts: Sequence[str]) -> None:
    """known_hosts with each host's keys under its name, FQDN and address."""
    lines: list[str] = []
    for name in hosts:
        names = [name, addressing.host_fqdn(name), _address(name)]
        lines += sshkeys.known_hosts_lines(paths.host_root(name), names)
    paths.known_hosts.parent.mkdir(parents=True, exist_ok=True)
    paths.known_hosts.write_text("".join(f"{line}\n" for line in lines))
