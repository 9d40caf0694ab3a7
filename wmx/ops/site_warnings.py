"""What a site that loads may still hold that no server answers to: a host whose address
is `wmx init`'s placeholder (a documentation address), an SSH key file
(ansible_ssh_private_key_file) that is not on this machine. Warnings, not errors: the
site is valid, but `wmx deploy`, `wmx dns`'s records and every SSH command would go
nowhere. Each names the file, line, host and setting."""

from __future__ import annotations

import re
from pathlib import Path

from wmx.errors import InputError
from wmx.site import Site
from wmx.site.placeholder import is_placeholder, placeholder_advice
from wmx.site.yamlfile import read_text
from wmx.ssh.unreachable import missing_key


def _where(inventory: Path, host: str, key: str, value: str) -> str:
    """`file:line` of the line setting `key` to `value` (the first after the host's name,
    else any), else the file."""
    try:
        lines = read_text(inventory).splitlines()
    except InputError:
        return str(inventory)
    setting = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*:.*{re.escape(value)}")
    name = re.compile(rf"^\s*[\"']?{re.escape(host)}[\"']?\s*:")
    start = next((n for n, line in enumerate(lines) if name.match(line)), 0)
    for number in [*range(start, len(lines)), *range(start)]:
        if setting.match(lines[number]):
            return f"{inventory}:{number + 1}"
    return str(inventory)


def placeholder_warnings(site: Site) -> list[str]:
    """A line for each host whose address is a documentation address."""
    return [
        f"{_where(site.paths.inventory, h.name, 'ansible_host', h.address)}: {h.name}: "
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
                f"{_where(site.paths.inventory, host.name, name, path)}: {host.name}: {name} "
                f"{path}: no such file on this machine (ssh to {host.name} would fail)"
            )
    return warnings
