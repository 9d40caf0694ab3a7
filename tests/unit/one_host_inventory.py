"""The one-host inventory the tests of connection variables and variable names load,
with the lines a test adds under its host (`extra`, indented six spaces); and the count
of the inventory reads that go through Ansible (not from wmx's cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wmx.site import inventory
from wmx.site.inventory import load_topology

INVENTORY = """\
all:
{site_vars}  hosts:
    hs1:
      ansible_host: 10.0.0.5
{extra}  children:
    database: {{hosts: {{hs1: }}}}
    homeserver: {{hosts: {{hs1: }}}}
    proxy: {{hosts: {{hs1: }}}}
"""


def write_inventory(tmp_path: Path, extra: str = "", site_vars: str = "") -> Path:
    """`site_vars`: lines of `all.vars` (indented two spaces, `vars:` included)."""
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY.format(extra=extra, site_vars=site_vars))
    return path


def load_with(tmp_path: Path, key: str, value: str) -> None:
    """Load the inventory with `key: value` set on its host."""
    load_topology(write_inventory(tmp_path, f"      {key}: {value}\n"))


def count_ansible_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The inventories read through Ansible from now on (a cached read is not one)."""
    reads: list[Path] = []
    real = inventory._read_with_ansible

    def counted(path: Path) -> Any:
        reads.append(path)
        # As in a new process: Ansible keeps the group_vars/host_vars files it found (and
        # the directories it did not) in globals of its vars plugin; a test would
        # otherwise not see a new one.
        from ansible.plugins.vars import host_group_vars

        for found in (host_group_vars.FOUND, host_group_vars.NAK):
            found.clear()
        return real(path)

    monkeypatch.setattr(inventory, "_read_with_ansible", counted)
    return reads
