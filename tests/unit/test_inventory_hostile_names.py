"""Inventory variables named like Ansible's own (`omit`, `hostvars`, `playbook_dir`, a
play keyword) or with names Ansible calls invalid, vault-encrypted variable files, and
Ansible's warnings while wmx reads a site (wmx.site.inventory_names, inventory.py).

`omit: "{{ lookup('pipe', …) }}"` in group_vars/all.yml had passed every check (the
template check skipped Ansible's magic names) and ran on the deploying machine in any
task using `default(omit)`; a vault-encrypted host_vars file was an error naming
inventory.yml; Ansible's warnings reached stderr as blocks quoting the inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.one_host_inventory import write_inventory
from wmx.errors import InputError
from wmx.site.ansible_config import importing_ansible
from wmx.site.inventory import load_topology
from wmx.site.inventory_names import RESERVED_NAMES

SITE_VARS = "  vars:\n    site_note: plain\n"
PIPE = "\"{{ lookup('pipe', 'touch /tmp/wmx-probe') }}\""


def _inventory(tmp_path: Path, extra: str = "") -> Path:
    return write_inventory(tmp_path, extra, SITE_VARS)


def _refused(path: Path) -> str:
    with pytest.raises(InputError) as refused:
        load_topology(path)
    message = str(refused.value)
    assert "\n" not in message and "lookup" not in message, message
    return message


@pytest.mark.parametrize("name", ["omit", "ansible_facts", "playbook_dir", "hostvars", "name"])
def test_an_inventory_variable_named_like_ansibles_own_is_refused(
    tmp_path: Path, name: str
) -> None:
    path = _inventory(tmp_path, f"      {name}: {PIPE}\n")
    message = _refused(path)
    assert message.startswith(f"{path}:7: hs1.{name}: a name Ansible keeps"), message


@pytest.mark.parametrize("where", ["group_vars/all.yml", "host_vars/hs1.yml", "group_vars/all/x"])
def test_a_reserved_name_in_a_vars_file_is_refused_with_that_file(
    tmp_path: Path, where: str
) -> None:
    path = _inventory(tmp_path)
    file = tmp_path / where
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(f"note: plain\nomit: {PIPE}\n")
    assert _refused(path).startswith(f"{file}:2: ")


def test_a_reserved_name_in_a_groups_vars_is_refused(tmp_path: Path) -> None:
    path = _inventory(tmp_path)
    path.write_text(path.read_text().replace("    site_note: plain\n", "    groups: x\n"))
    assert _refused(path).startswith(f"{path}:3: all.groups: a name Ansible keeps")


@pytest.mark.parametrize(
    "name", ["\uff41nsible_host", "my-var", "1st", "'true'", "class", "'{{x}}'", "'a b'"]
)
def test_a_name_ansible_calls_invalid_is_refused(tmp_path: Path, name: str) -> None:
    path = _inventory(tmp_path, f"      {name}: 10.0.0.6\n")
    message = _refused(path)
    assert message.startswith(f"{path}:7: hs1."), message
    assert "not a variable name Ansible accepts" in message


def test_the_reserved_names_cover_what_ansible_reserves() -> None:
    with importing_ansible():
        from ansible.vars.reserved import get_reserved_names

    assert get_reserved_names() <= RESERVED_NAMES


VAULT_FILE = """$ANSIBLE_VAULT;1.1;AES256
61626364656667686970717273747576777879306162636465666768697071727374757677787930
"""


def test_a_vault_encrypted_vars_file_is_named(tmp_path: Path) -> None:
    path = _inventory(tmp_path)
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "hs1.yml").write_text(VAULT_FILE)
    message = _refused(path)
    assert message.startswith(f"{tmp_path / 'host_vars' / 'hs1.yml'}:1: a vault-encrypted file")
    assert "ansible-vault encrypt_string" in message


def test_ansibles_warnings_are_not_shown(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # A host named like its group: Ansible warns "Found both group and host with same
    # name", and goes on (so does wmx).
    path = _inventory(tmp_path)
    path.write_text(path.read_text().replace("hs1", "proxy"))
    topology = load_topology(path)
    assert [h.name for h in topology.hosts] == ["proxy"]
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
