"""What a site that loads may still hold that no server answers to: a host whose address
is `wmx init`'s placeholder (a documentation address), an SSH key file
(ansible_ssh_private_key_file) that is not on this machine. Warnings, not errors: the
site is valid, but `wmx deploy`, `wmx dns`'s records and every SSH command would go
nowhere. Each names the file, line, host and setting."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from wmx.site import Site
from wmx.site.inventory_lines import variable_line
from wmx.site.placeholder import is_placeholder, placeholder_advice
from wmx.site.topology import HostView
from wmx.ssh.unreachable import missing_key


def _where(inventory: Path, host: HostView, key: str, value: str) -> str:
    """`file:line` of the node that sets the host's `key` to `value` (the inventory,
    group_vars/ or host_vars/: wmx.site.inventory_lines), else the file."""

    def same(found: Any) -> bool:
        if not isinstance(found, str | int):
            return False
        text = str(found).strip()
        try:
            return ipaddress.ip_address(text) == ipaddress.ip_address(value)
        except ValueError:
            return text.lower() == value.lower() if key.endswith("host") else text == value

    return variable_line(inventory, host.name, host.groups, key, same)


def placeholder_warnings(site: Site) -> list[str]:
    """A line for each host whose address is a documentation address."""
    return [
        f"{_where(site.paths.inventory, h, 'ansible_host', h.address)}: {h.name}: "
        f"{placeholder_advice(h.name, h.address)}"
        for h in site.topology.hosts
        if is_placeholder(h.address)
    ]


def key_file_warnings(site: Site) -> list[str]:
    """A line for each host whose SSH key file is not on this machine."""
    warnings = []
    for host in site.topology.hosts:
        missing = missing_key(host)
        if missing:
            name, path = missing
            warnings.append(
                f"{_where(site.paths.inventory, host, name, path)}: {host.name}: {name} "
                f"{path}: no such file on this machine (ssh to {host.name} would fail)"
            )
    return warnings
